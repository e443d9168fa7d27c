#include "dataplane/http1/client.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http/stream.h"

#define MAX_RESP_HEADERS 100
#define RESP_HEAD_LIMIT (64 * 1024)

static void on_sock_read(dp_sock_t *sock, int err);

static void on_sock_drain(dp_sock_t *sock, int err)
{
    (void)err;
    dp_h1_client_t *c = sock->data;
    if (c->state == DP_H1C_ACTIVE && c->cbs && c->cbs->on_drain)
        c->cbs->on_drain(c->ctx);
}

dp_h1_client_t *dp_h1_client_attach(dp_sock_t *sock)
{
    dp_h1_client_t *c = dp_xcalloc(1, sizeof(*c));
    c->super.ops = &dp_h1_client_ops;
    c->super.sock = sock;
    c->super.proto = DP_UPSTREAM_HTTP1;
    c->stream.conn = &c->super;
    c->state = DP_H1C_IDLE;
    sock->data = c;
    sock->on_drain = on_sock_drain;
    sock->read_limit = RESP_HEAD_LIMIT;
    dp_sock_read_start(sock, on_sock_read);
    return c;
}

void dp_h1_client_bind(dp_h1_client_t *c, const dp_h1_client_cbs_t *cbs, void *ctx, bool is_head)
{
    c->state = DP_H1C_ACTIVE;
    c->cbs = cbs;
    c->ctx = ctx;
    c->head_done = false;
    c->request_was_head = is_head;
    c->resp_keep_alive = false;
    c->got_bytes = false;
    c->req_done = c->resp_done = false;
    c->req_chunked = c->upgrade_requested = c->tunnel = c->drain_wanted = false;
    c->body_left = 0;
    c->requests++;
    if (c->reads_paused) {
        c->reads_paused = false;
        dp_sock_read_start(c->super.sock, on_sock_read);
    }
}

void dp_h1_client_write(dp_h1_client_t *c, const struct iovec *iov, int n)
{
    dp_sock_write(c->super.sock, iov, n);
}

void dp_h1_client_request_done(dp_h1_client_t *c)
{
    c->req_done = true;
}

size_t dp_h1_client_pending(const dp_h1_client_t *c)
{
    return dp_sock_pending(c->super.sock);
}

void dp_h1_client_read(dp_h1_client_t *c, bool enable)
{
    if (c->state == DP_H1C_CLOSED)
        return;
    if (enable && c->reads_paused) {
        c->reads_paused = false;
        dp_sock_read_start(c->super.sock, on_sock_read);
    } else if (!enable && !c->reads_paused) {
        c->reads_paused = true;
        dp_sock_read_stop(c->super.sock);
    }
}

bool dp_h1_client_detach(dp_h1_client_t *c)
{
    /* bytes beyond the response were seen by the reader and cleared resp_keep_alive */
    bool reusable = c->state == DP_H1C_ACTIVE && c->req_done && c->resp_done && c->resp_keep_alive &&
                    !c->upgrade_requested && !c->super.sock->write_error;
    c->cbs = NULL;
    c->ctx = NULL;
    c->ucbs = NULL;
    c->uctx = NULL;
    if (c->state == DP_H1C_ACTIVE)
        c->state = DP_H1C_IDLE;
    if (reusable && c->reads_paused) {
        /* idle: watch for the server closing it */
        c->reads_paused = false;
        dp_sock_read_start(c->super.sock, on_sock_read);
    }
    return reusable;
}

void dp_h1_client_close(dp_h1_client_t *c)
{
    if (c->state == DP_H1C_CLOSED)
        return;
    c->state = DP_H1C_CLOSED;
    c->cbs = NULL;
    c->ucbs = NULL;
    dp_loop_t *loop = c->super.sock->loop;
    dp_sock_close(c->super.sock);
    c->super.closed = true;
    dp_upconn__event(&c->super, DP_UPCONN_EV_CLOSED);
    dp_loop_defer_free(loop, c);
}

static void fail(dp_h1_client_t *c, int err, const char *detail)
{
    const dp_h1_client_cbs_t *cbs = c->cbs;
    void *ctx = c->ctx;
    bool got = c->got_bytes;
    if (c->state != DP_H1C_ACTIVE || cbs == NULL) {
        /* nobody to tell: an idle connection the server closed or spoke on */
        dp_h1_client_close(c);
        return;
    }
    if (cbs->on_error)
        cbs->on_error(ctx, err, got, detail);
}

/* Delivers body bytes from the input buffer per the response framing.
 * Returns false when the client changed state under us (stop touching it). */
static bool deliver_body(dp_h1_client_t *c, int err)
{
    dp_sock_t *sock = c->super.sock;
    void *ctx = c->ctx;
    while (c->state == DP_H1C_ACTIVE && c->ctx == ctx && !c->resp_done && !c->reads_paused) {
        const char *p = dp_buf_data(&sock->in);
        size_t len = sock->in.len;
        switch (c->body_kind) {
        case DP_H1_BODY_LENGTH: {
            if (len == 0)
                goto need_more;
            size_t n = (size_t)DP_MIN((uint64_t)len, c->body_left);
            c->body_left -= n;
            bool end = c->body_left == 0;
            if (end) {
                c->resp_done = true;
                if (len > n)
                    c->resp_keep_alive = false; /* bytes after the response: never reuse */
            }
            c->cbs->on_body(ctx, p, n, end);
            if (c->state != DP_H1C_CLOSED)
                dp_buf_consume(&sock->in, n);
            break;
        }
        case DP_H1_BODY_CHUNKED: {
            const char *data = NULL, *cerr = NULL;
            size_t dlen = 0;
            int n = dp_h1_chunked_decode(&c->chunked, p, len, &data, &dlen, &cerr);
            if (n < 0) {
                fail(c, DP_ERR, cerr ? cerr : "malformed chunked response");
                return false;
            }
            bool end = dp_h1_chunked_done(&c->chunked);
            if (end) {
                c->resp_done = true;
                if ((size_t)n < len)
                    c->resp_keep_alive = false;
            }
            if (dlen > 0 || end)
                c->cbs->on_body(ctx, data, dlen, end);
            if (c->state != DP_H1C_CLOSED)
                dp_buf_consume(&sock->in, (size_t)n);
            if (n == 0 && dlen == 0 && !end)
                goto need_more;
            break;
        }
        case DP_H1_BODY_UNTIL_CLOSE: /* also a tunnel's bytes */
            if (len > 0) {
                c->cbs->on_body(ctx, p, len, false);
                if (c->state != DP_H1C_CLOSED)
                    dp_buf_consume(&sock->in, len);
                break;
            }
            if (err) {
                c->resp_done = true;
                c->resp_keep_alive = false;
                c->cbs->on_body(ctx, NULL, 0, true);
                return false;
            }
            return true;
        default:
            c->resp_done = true;
            return true;
        }
    }
    return c->state == DP_H1C_ACTIVE && c->ctx == ctx;
need_more:
    if (err) {
        fail(c, err, "upstream closed in the middle of the response body");
        return false;
    }
    return true;
}

static void on_sock_read(dp_sock_t *sock, int err)
{
    dp_h1_client_t *c = sock->data;
    if (c->state == DP_H1C_IDLE) {
        /* a server speaking or closing on an idle connection: it's done for */
        fail(c, err ? err : DP_ECLOSED, "idle upstream connection closed");
        return;
    }
    if (c->state != DP_H1C_ACTIVE || c->cbs == NULL)
        return;
    if (sock->in.len > 0)
        c->got_bytes = true;
    void *ctx = c->ctx;
    while (!c->head_done) {
        if (sock->in.len == 0) {
            if (err)
                fail(c, err, "upstream connection closed before response headers");
            return;
        }
        dp_h1_response_t resp;
        dp_h1_header_t hv[MAX_RESP_HEADERS];
        dp_h1_limits_t lim = {RESP_HEAD_LIMIT - 1024, MAX_RESP_HEADERS};
        char *base = dp_buf_data(&sock->in);
        int r = dp_h1_parse_response(base, sock->in.len, &lim, c->request_was_head, &resp, hv);
        if (r == DP_EAGAIN) {
            if (err)
                fail(c, err, "upstream connection closed before response headers");
            return;
        }
        if (r < 0) {
            fail(c, DP_ERR, resp.error ? resp.error : "invalid upstream response");
            return;
        }
        if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
            dp_buf_consume(&sock->in, (size_t)r); /* interim response: we sent our own 100 */
            continue;
        }
        if (resp.status == 101 && !c->upgrade_requested) {
            fail(c, DP_ERR, "101 response to a request without upgrade");
            return;
        }
        /* header names are case-insensitive: lowercase them in place (we own the buffer) */
        dp_header_t hdrs[MAX_RESP_HEADERS];
        for (size_t i = 0; i < resp.num_headers; i++) {
            char *n = (char *)hv[i].name;
            for (size_t k = 0; k < hv[i].name_len; k++)
                if ((unsigned char)(n[k] - 'A') < 26u)
                    n[k] = (char)(n[k] + 32);
            hdrs[i].name = dp_slice(hv[i].name, hv[i].name_len);
            hdrs[i].value = dp_slice(hv[i].value, hv[i].value_len);
        }
        dp_headers_t h = {hdrs, resp.num_headers, 0};
        c->head_done = true;
        c->body_kind = resp.body;
        c->resp_keep_alive = resp.keep_alive;
        int64_t cl = -1;
        bool end = false;
        if (resp.status == 101) {
            /* the upgrade is accepted: from here on every byte is the
             * tunnel's, and the server's EOF ends it */
            c->tunnel = true;
            c->body_kind = DP_H1_BODY_UNTIL_CLOSE;
            c->resp_keep_alive = false;
        } else if (resp.body == DP_H1_BODY_LENGTH) {
            c->body_left = resp.content_length;
            cl = (int64_t)resp.content_length;
            end = resp.content_length == 0;
        } else if (resp.body == DP_H1_BODY_NONE) {
            cl = c->request_was_head && resp.content_length > 0 ? (int64_t)resp.content_length : 0;
            end = true;
        } else if (resp.body == DP_H1_BODY_CHUNKED) {
            dp_h1_chunked_init(&c->chunked);
        }
        if (end) {
            c->resp_done = true;
            if (sock->in.len > (size_t)r)
                c->resp_keep_alive = false;
        }
        c->cbs->on_head(ctx, resp.status, &h, cl, end);
        if (c->state == DP_H1C_CLOSED)
            return;
        dp_buf_consume(&sock->in, (size_t)r);
        if (c->state != DP_H1C_ACTIVE || c->ctx != ctx)
            return;
    }
    if (!c->resp_done && !deliver_body(c, err))
        return;
    if (c->state != DP_H1C_ACTIVE || c->ctx != ctx)
        return;
    if (err && !c->resp_done)
        fail(c, err, "upstream connection closed");
}

/* --- the upstream codec interface (upconn.h) ----------------------------- */

static dp_h1_client_t *of_stream(const dp_upstream_stream_t *st)
{
    return (dp_h1_client_t *)st->conn;
}

static void a_on_head(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    dp_h1_client_t *c = ctx;
    c->ucbs->on_head(c->uctx, status, h, content_length, end_stream);
}

static void a_on_body(void *ctx, const char *data, size_t len, bool end_stream)
{
    dp_h1_client_t *c = ctx;
    c->ucbs->on_body(c->uctx, data, len, end_stream);
}

static void a_on_error(void *ctx, int err, bool got_bytes, const char *detail)
{
    dp_h1_client_t *c = ctx;
    dp_upstream_reset_t r = err == DP_ERR ? DP_UPSTREAM_RESET_PROTOCOL : DP_UPSTREAM_RESET_CONNECTION;
    c->ucbs->on_error(c->uctx, r, got_bytes, detail);
}

static void a_on_drain(void *ctx)
{
    dp_h1_client_t *c = ctx;
    if (c->drain_wanted && dp_sock_pending(c->super.sock) <= DP_STREAM_LOW_WATERMARK) {
        c->drain_wanted = false;
        if (c->ucbs->on_drain)
            c->ucbs->on_drain(c->uctx);
    }
}

static const dp_h1_client_cbs_t adapter_cbs = {
    .on_head = a_on_head,
    .on_body = a_on_body,
    .on_error = a_on_error,
    .on_drain = a_on_drain,
};

static dp_upstream_stream_t *h1_bind(dp_upconn_t *uc, const dp_upstream_cbs_t *cbs, void *ctx)
{
    dp_h1_client_t *c = (dp_h1_client_t *)uc;
    dp_h1_client_bind(c, &adapter_cbs, c, false);
    c->ucbs = cbs;
    c->uctx = ctx;
    return &c->stream;
}

static void put(dp_buf_t *b, const char *p, size_t n)
{
    dp_buf_append(b, p, n);
}

/* Connection-specific headers never go upstream whatever the HCM left
 * (TE passes: the HCM leaves only "trailers"); content-length is ours to
 * write from the body's framing. */
static bool hop_by_hop(dp_slice_t n)
{
    if (n.len == 2 && memcmp(n.base, "te", 2) == 0)
        return false;
    return dp_headers_hop_by_hop(n) || (n.len == 14 && memcmp(n.base, "content-length", 14) == 0);
}

static void h1_send_head(dp_upstream_stream_t *st, const dp_upstream_head_t *h)
{
    dp_h1_client_t *c = of_stream(st);
    dp_buf_t *out = &c->super.sock->out;
    c->request_was_head = h->method.len == 4 && memcmp(h->method.base, "HEAD", 4) == 0;
    put(out, h->method.base, h->method.len);
    put(out, " ", 1);
    put(out, h->path.base, h->path.len);
    put(out, " HTTP/1.1\r\nhost: ", 17);
    put(out, h->authority.base, h->authority.len);
    put(out, "\r\n", 2);
    for (size_t i = 0; h->headers && i < h->headers->n; i++) {
        const dp_header_t *x = &h->headers->v[i];
        if (hop_by_hop(x->name))
            continue;
        put(out, x->name.base, x->name.len);
        put(out, ": ", 2);
        put(out, x->value.base, x->value.len);
        put(out, "\r\n", 2);
    }
    if (h->upgrade.len > 0) {
        c->upgrade_requested = true;
        put(out, "connection: upgrade\r\nupgrade: ", 30);
        put(out, h->upgrade.base, h->upgrade.len);
        put(out, "\r\n", 2);
    } else if (h->content_length > 0) {
        char cl[48];
        memcpy(cl, "content-length: ", 16);
        size_t n = 16 + dp_u64toa((uint64_t)h->content_length, cl + 16);
        cl[n++] = '\r';
        cl[n++] = '\n';
        put(out, cl, n);
    } else if (h->content_length < 0 && !h->end_stream) {
        c->req_chunked = true;
        put(out, "transfer-encoding: chunked\r\n", 28);
    }
    put(out, "\r\n", 2);
    dp_sock_queued(c->super.sock);
    if (h->end_stream && h->upgrade.len == 0)
        c->req_done = true;
}

static void h1_send_body(dp_upstream_stream_t *st, const char *data, size_t len, bool end_stream)
{
    dp_h1_client_t *c = of_stream(st);
    if (c->state == DP_H1C_CLOSED || c->req_done)
        return;
    if (len > 0) {
        if (c->req_chunked) {
            char hdr[24];
            size_t n = dp_u64tohex(len, hdr);
            hdr[n++] = '\r';
            hdr[n++] = '\n';
            struct iovec iov[3] = {{hdr, n}, {(void *)data, len}, {"\r\n", 2}};
            dp_sock_write(c->super.sock, iov, 3);
        } else {
            struct iovec iov = {(void *)data, len};
            dp_sock_write(c->super.sock, &iov, 1);
        }
    }
    if (end_stream) {
        c->req_done = true;
        if (c->req_chunked) {
            struct iovec iov = {"0\r\n\r\n", 5};
            dp_sock_write(c->super.sock, &iov, 1);
        } else if (c->tunnel) {
            dp_sock_shutdown(c->super.sock); /* the client's half-close, passed on */
        }
    }
    if (dp_sock_pending(c->super.sock) >= DP_STREAM_HIGH_WATERMARK)
        c->drain_wanted = true;
}

static void h1_send_trailers(dp_upstream_stream_t *st, const dp_headers_t *h)
{
    (void)h; /* HTTP/1.1 upstreams get no trailers (a chunked trailer section is rarely understood) */
    h1_send_body(st, NULL, 0, true);
}

static size_t h1_pending(const dp_upstream_stream_t *st)
{
    return dp_h1_client_pending(of_stream(st));
}

static void h1_read(dp_upstream_stream_t *st, bool enable)
{
    dp_h1_client_read(of_stream(st), enable);
}

static bool h1_detach(dp_upstream_stream_t *st)
{
    return dp_h1_client_detach(of_stream(st));
}

static uint32_t h1_max_streams(const dp_upconn_t *uc)
{
    return uc->closed ? 0 : 1;
}

static void h1_close(dp_upconn_t *uc)
{
    dp_h1_client_close((dp_h1_client_t *)uc);
}

const dp_upconn_ops_t dp_h1_client_ops = {
    .name = "http/1.1",
    .bind = h1_bind,
    .send_head = h1_send_head,
    .send_body = h1_send_body,
    .send_trailers = h1_send_trailers,
    .pending = h1_pending,
    .read = h1_read,
    .detach = h1_detach,
    .max_streams = h1_max_streams,
    .close = h1_close,
};
