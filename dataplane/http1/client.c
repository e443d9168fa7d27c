#include "dataplane/http1/client.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

#define MAX_RESP_HEADERS 100
#define RESP_HEAD_LIMIT (64 * 1024)

static void on_sock_read(dp_sock_t *sock, int err);

static void on_sock_connect(dp_sock_t *sock, int err)
{
    dp_h1_client_t *c = sock->data;
    if (err != 0) {
        c->cbs->on_connect(c->ctx, err);
        return;
    }
    c->state = DP_H1C_IDLE;
    dp_sock_read_start(sock, on_sock_read);
    c->cbs->on_connect(c->ctx, 0);
}

static void on_sock_drain(dp_sock_t *sock, int err)
{
    (void)err;
    dp_h1_client_t *c = sock->data;
    if (c->state == DP_H1C_ACTIVE && c->cbs->on_drain)
        c->cbs->on_drain(c->ctx);
}

dp_h1_client_t *dp_h1_client_connect(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len,
                                     const dp_h1_client_cbs_t *cbs, void *ctx)
{
    dp_sock_t *sock = dp_sock_connect(loop, addr, len, on_sock_connect);
    if (sock == NULL)
        return NULL;
    dp_h1_client_t *c = dp_xcalloc(1, sizeof(*c));
    c->sock = sock;
    c->state = DP_H1C_CONNECTING;
    c->cbs = cbs;
    c->ctx = ctx;
    sock->data = c;
    sock->on_drain = on_sock_drain;
    sock->read_limit = RESP_HEAD_LIMIT;
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
    c->body_left = 0;
    c->requests++;
    if (c->reads_paused) {
        c->reads_paused = false;
        dp_sock_read_start(c->sock, on_sock_read);
    }
}

void dp_h1_client_set_idle(dp_h1_client_t *c, const dp_h1_client_cbs_t *cbs, void *ctx)
{
    c->state = DP_H1C_IDLE;
    c->cbs = cbs;
    c->ctx = ctx;
    if (c->reads_paused) {
        c->reads_paused = false;
        dp_sock_read_start(c->sock, on_sock_read);
    }
}

void dp_h1_client_write(dp_h1_client_t *c, const struct iovec *iov, int n)
{
    dp_sock_write(c->sock, iov, n);
}

void dp_h1_client_request_done(dp_h1_client_t *c)
{
    c->req_done = true;
}

size_t dp_h1_client_pending(const dp_h1_client_t *c)
{
    return dp_sock_pending(c->sock);
}

void dp_h1_client_read(dp_h1_client_t *c, bool enable)
{
    if (c->state == DP_H1C_CLOSED)
        return;
    if (enable && c->reads_paused) {
        c->reads_paused = false;
        dp_sock_read_start(c->sock, on_sock_read);
    } else if (!enable && !c->reads_paused) {
        c->reads_paused = true;
        dp_sock_read_stop(c->sock);
    }
}

bool dp_h1_client_detach(dp_h1_client_t *c)
{
    /* bytes beyond the response were seen by the reader and cleared resp_keep_alive */
    bool reusable = c->state == DP_H1C_ACTIVE && c->req_done && c->resp_done && c->resp_keep_alive &&
                    !c->sock->write_error;
    c->cbs = NULL;
    c->ctx = NULL;
    return reusable;
}

void dp_h1_client_close(dp_h1_client_t *c)
{
    if (c->state == DP_H1C_CLOSED)
        return;
    c->state = DP_H1C_CLOSED;
    ev_timer_stop(c->sock->loop->ev, &c->timer);
    dp_loop_t *loop = c->sock->loop;
    dp_sock_close(c->sock);
    dp_loop_defer_free(loop, c);
}

static void fail(dp_h1_client_t *c, int err, const char *detail)
{
    const dp_h1_client_cbs_t *cbs = c->cbs;
    void *ctx = c->ctx;
    bool got = c->got_bytes;
    if (cbs && cbs->on_error)
        cbs->on_error(ctx, err, got, detail);
}

/* Delivers body bytes from the input buffer per the response framing.
 * Returns false when the client changed state under us (stop touching it). */
static bool deliver_body(dp_h1_client_t *c, int err)
{
    dp_sock_t *sock = c->sock;
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
        case DP_H1_BODY_UNTIL_CLOSE:
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
    if (c->state == DP_H1C_IDLE || c->state == DP_H1C_CONNECTING) {
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
        if (resp.body == DP_H1_BODY_LENGTH) {
            c->body_left = resp.content_length;
            cl = (int64_t)resp.content_length;
            end = resp.content_length == 0;
        } else if (resp.body == DP_H1_BODY_NONE) {
            cl = 0;
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
