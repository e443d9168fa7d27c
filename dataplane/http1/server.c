#include "dataplane/http1/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/hcm.h"
#include "dataplane/http/stream.h"
#include "dataplane/http1/parser.h"
#include "dataplane/server/worker.h"
#include "dataplane/transport/sock.h"

#define DELAYED_CLOSE_MS 1000 /* Envoy's delayed_close_timeout default */

typedef enum {
    H1S_HEAD,      /* waiting for a request head */
    H1S_BODY,      /* streaming the request body */
    H1S_WAIT_RESP, /* request complete, response in progress */
    H1S_CLOSING,   /* final response queued; half-close then close */
    H1S_TUNNEL,    /* upgraded (101): raw bytes both ways until both ends closed */
} h1s_state_t;

typedef struct h1_conn {
    dp_conn_link_t link; /* first: the worker's list points here */
    dp_sock_t *sock;
    dp_worker_t *w;
    dp_listener_cfg_t *listener; /* ref held */
    const dp_hcm_cfg_t *hcm;     /* the filter chain's, owned by listener */
    dp_hcm_stats_t *stats;
    dp_listener_stats_t *lstats;
    h1s_state_t state;
    dp_stream_t stream;
    bool stream_active;
    /* request body framing */
    dp_h1_body_kind_t body_kind;
    uint64_t body_left;
    dp_h1_chunked_t chunked;
    /* response framing */
    bool resp_chunked, resp_until_close, resp_no_body, resp_done;
    bool keep_alive;   /* the connection may serve another request */
    bool tunnel_in_done; /* upgraded: the client half-closed */
    bool draining;
    bool is_head;
    size_t scanned; /* bytes already scanned for the end of the head */
    ev_timer timer;
    ev_timer head_timer; /* request_headers_timeout: from a head's first byte, not moved by reads */
    uint64_t last_activity_ms;
    uint64_t timeout_ms; /* current timer's idle limit (0: none) */
    dp_h1_limits_t lim;
} h1_conn_t;

static void on_read(dp_sock_t *sock, int err);
static void reply_error(struct h1_conn *c, int status, const char *reason, int minor);
static dp_h1_header_t *header_scratch(size_t n);

/* The loop's cached time (updated once per iteration by libev): precise
 * enough for idle timeouts and free, unlike clock_gettime per event. */
static uint64_t loop_ms(const h1_conn_t *c);
static void conn_close(h1_conn_t *c);
static void process(h1_conn_t *c, int err);

/* --- timers ------------------------------------------------------------ */

static uint64_t loop_ms(const h1_conn_t *c)
{
    return (uint64_t)(ev_now(c->w->loop.ev) * 1000.0);
}

static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    h1_conn_t *c = t->data;
    uint64_t now = loop_ms(c);
    if (c->timeout_ms == 0)
        return;
    uint64_t idle = now - c->last_activity_ms;
    if (idle < c->timeout_ms) {
        t->repeat = (double)(c->timeout_ms - idle) / 1000.0;
        ev_timer_again(ev, t);
        return;
    }
    if (c->state == H1S_CLOSING) {
        conn_close(c);
        return;
    }
    if (c->stream_active) {
        /* stream_idle_timeout: Envoy answers 408 if nothing was sent yet */
        dp_stat_inc(c->stats->rq_idle_timeout);
        c->stream.response_flags |= DP_RF_SI;
        if (!c->stream.head_sent) {
            c->keep_alive = false;
            dp_stream_local_reply(&c->stream, 408, "stream timeout", NULL);
        } else {
            dp_stream_on_abort(&c->stream);
            conn_close(c);
        }
        return;
    }
    conn_close(c); /* idle keep-alive connection, or headers too slow */
}

static void set_timeout(h1_conn_t *c, uint64_t ms)
{
    c->timeout_ms = ms;
    c->last_activity_ms = loop_ms(c);
    if (ms == 0) {
        ev_timer_stop(c->w->loop.ev, &c->timer);
        return;
    }
    c->timer.repeat = (double)ms / 1000.0;
    ev_timer_again(c->w->loop.ev, &c->timer);
}

static void arm_idle(h1_conn_t *c)
{
    set_timeout(c, c->hcm->idle_timeout_ms);
}

/* Envoy's request_headers_timeout: a fixed deadline from the first byte of
 * a request head; dripping bytes does not move it (slowloris). */
static void on_head_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    h1_conn_t *c = t->data;
    if (c->state != H1S_HEAD || c->stream_active || c->sock == NULL)
        return;
    dp_stat_inc(c->stats->rq_header_timeout);
    reply_error(c, 408, "request headers timeout", 1);
}

static void head_timer_check(h1_conn_t *c)
{
    uint64_t ms = c->hcm->request_headers_timeout_ms;
    if (ms == 0)
        return;
    bool in_head = c->state == H1S_HEAD && !c->stream_active && c->sock && c->sock->in.len > 0;
    if (in_head && !ev_is_active(&c->head_timer)) {
        ev_timer_set(&c->head_timer, (double)ms / 1000.0, 0);
        ev_timer_start(c->w->loop.ev, &c->head_timer);
    } else if (!in_head && ev_is_active(&c->head_timer)) {
        ev_timer_stop(c->w->loop.ev, &c->head_timer);
    }
}

/* --- response side (dp_stream_ops_t) ------------------------------------ */

static h1_conn_t *conn_of(dp_stream_t *s)
{
    return s->codec;
}

static void put(dp_buf_t *b, const char *p, size_t n)
{
    dp_buf_append(b, p, n);
}

static void put_lit(dp_buf_t *b, const char *s)
{
    dp_buf_append(b, s, strlen(s));
}

static void response_complete(h1_conn_t *c);

static void h1_send_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    h1_conn_t *c = conn_of(s);
    dp_buf_t *out = &c->sock->out;
    char line[64];
    if (c->state == H1S_BODY || c->draining)
        c->keep_alive = false; /* body not read to the end: can't find the next request */
    c->resp_no_body = c->is_head || status == 204 || status == 304 || (status >= 100 && status < 200);
    c->resp_chunked = c->resp_until_close = false;
    /* "HTTP/1.1 200 OK\r\n" without printf: this runs for every response */
    const char *reason = dp_http_reason(status);
    size_t rl = strlen(reason), n = 0;
    memcpy(line, s->http_version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
    n = 9 + dp_u64toa((uint64_t)status, line + 9);
    line[n++] = ' ';
    put(out, line, n);
    put(out, reason, rl);
    put(out, "\r\n", 2);
    for (size_t i = 0; i < h->n; i++) {
        put(out, h->v[i].name.base, h->v[i].name.len);
        put(out, ": ", 2);
        put(out, h->v[i].value.base, h->v[i].value.len);
        put(out, "\r\n", 2);
    }
    if (status == 101 && s->upgrade.len > 0 && c->state == H1S_WAIT_RESP) {
        /* the upgrade succeeded: the router passes the upstream's 101
         * without its hop-by-hop headers, the codec restores them */
        put_lit(out, "connection: upgrade\r\nupgrade: ");
        put(out, s->upgrade.base, s->upgrade.len);
        put(out, "\r\n\r\n", 4);
        dp_sock_queued(c->sock);
        c->state = H1S_TUNNEL;
        c->resp_no_body = false;
        c->keep_alive = false;
        s->upgraded = true;
        dp_stat_inc(c->stats->cx_upgrades_total);
        dp_stat_inc(c->stats->cx_upgrades_active);
        c->last_activity_ms = loop_ms(c);
        /* bytes the client sent after its head are the tunnel's */
        dp_sock_read_start(c->sock, on_read);
        return;
    }
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        /* no framing headers */
    } else if (content_length >= 0) {
        memcpy(line, "content-length: ", 16);
        n = 16 + dp_u64toa((uint64_t)content_length, line + 16);
        line[n++] = '\r';
        line[n++] = '\n';
        put(out, line, n);
    } else if (end_stream) {
        put_lit(out, "content-length: 0\r\n");
    } else if (s->http_version >= 11) {
        if (!c->resp_no_body)
            c->resp_chunked = true;
        put_lit(out, "transfer-encoding: chunked\r\n");
    } else {
        c->resp_until_close = true;
        c->keep_alive = false;
    }
    if (!c->keep_alive)
        put_lit(out, "connection: close\r\n");
    else if (s->http_version == 10)
        put_lit(out, "connection: keep-alive\r\n");
    put(out, "\r\n", 2);
    dp_sock_queued(c->sock);
    c->last_activity_ms = loop_ms(c);
    if (end_stream)
        response_complete(c);
}

static void h1_send_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    h1_conn_t *c = conn_of(s);
    if (!c->resp_no_body && len > 0) {
        if (c->resp_chunked && c->state != H1S_TUNNEL) {
            char hdr[24];
            size_t n = dp_u64tohex(len, hdr);
            hdr[n++] = '\r';
            hdr[n++] = '\n';
            struct iovec iov[3] = {{hdr, n}, {(void *)data, len}, {"\r\n", 2}};
            dp_sock_write(c->sock, iov, 3);
        } else {
            struct iovec iov = {(void *)data, len};
            dp_sock_write(c->sock, &iov, 1);
        }
    }
    c->last_activity_ms = loop_ms(c);
    if (end_stream) {
        if (c->resp_chunked && !c->resp_no_body) {
            struct iovec iov = {"0\r\n\r\n", 5};
            dp_sock_write(c->sock, &iov, 1);
        }
        response_complete(c);
    }
}

static size_t h1_pending(dp_stream_t *s)
{
    return dp_sock_pending(conn_of(s)->sock);
}

static void h1_read_body(dp_stream_t *s, bool enable)
{
    h1_conn_t *c = conn_of(s);
    s->body_paused = !enable;
    if (enable && (c->state == H1S_BODY || (c->state == H1S_TUNNEL && !c->tunnel_in_done)))
        dp_sock_read_start(c->sock, on_read);
}

static void h1_reset(dp_stream_t *s)
{
    h1_conn_t *c = conn_of(s);
    conn_close(c);
}

static const dp_stream_ops_t h1_ops = {
    .send_head = h1_send_head,
    .send_body = h1_send_body,
    .pending = h1_pending,
    .read_body = h1_read_body,
    .reset = h1_reset,
};

/* --- connection life cycle ---------------------------------------------- */

static void finish_stream(h1_conn_t *c)
{
    if (!c->stream_active)
        return;
    c->stream_active = false;
    dp_stream_dispose(&c->stream);
}

static void conn_close(h1_conn_t *c)
{
    if (c->sock == NULL)
        return;
    if (c->stream_active) {
        if (!c->stream.resp_done)
            dp_stream_on_abort(&c->stream);
        finish_stream(c);
    }
    ev_timer_stop(c->w->loop.ev, &c->timer);
    ev_timer_stop(c->w->loop.ev, &c->head_timer);
    dp_sock_close(c->sock);
    c->sock = NULL;
    dp_worker_conn_remove(c->w, &c->link);
    dp_stat_dec(c->stats->cx_active);
    dp_stat_inc(c->stats->cx_destroy);
    dp_stat_dec(c->lstats->cx_active);
    dp_stat_inc(c->lstats->cx_destroy);
    dp_listener_cfg_unref(c->listener);
    dp_loop_defer_free(&c->w->loop, c);
}

static void on_drain(dp_sock_t *sock, int err)
{
    (void)err;
    h1_conn_t *c = sock->data;
    if (c->state == H1S_CLOSING) {
        dp_sock_shutdown(sock);
        return;
    }
    if (c->stream_active && !c->stream.resp_done)
        dp_stream_on_writable(&c->stream);
}

static void start_closing(h1_conn_t *c)
{
    c->state = H1S_CLOSING;
    set_timeout(c, DELAYED_CLOSE_MS);
    if (dp_sock_pending(c->sock) == 0)
        dp_sock_shutdown(c->sock);
    /* keep reading (and discarding) so the kernel does not RST unread data */
    dp_sock_read_start(c->sock, on_read);
}

static void response_complete(h1_conn_t *c)
{
    c->resp_done = true;
    if (c->state == H1S_TUNNEL) {
        /* the upstream closed its side: FIN to the client once written;
         * the connection ends when the client closes too (or at the
         * delayed-close timer, as any closing connection) */
        dp_stat_dec(c->stats->cx_upgrades_active);
        finish_stream(c);
        start_closing(c);
        return;
    }
    if (c->state == H1S_BODY) {
        /* answered before the request body ended (e.g. 401 on an upload) */
        finish_stream(c);
        start_closing(c);
        return;
    }
    if (c->state != H1S_WAIT_RESP)
        return;
    finish_stream(c);
    if (!c->keep_alive || c->draining) {
        start_closing(c);
        return;
    }
    c->state = H1S_HEAD;
    c->scanned = 0;
    arm_idle(c);
    /* a pipelined request may already be buffered: handle it from the loop */
    dp_sock_read_start(c->sock, on_read);
}

static void drain_conn(dp_conn_link_t *l, bool hard)
{
    h1_conn_t *c = (h1_conn_t *)l;
    c->draining = true;
    if (hard && c->state == H1S_HEAD && !c->stream_active && c->sock && c->sock->in.len == 0)
        start_closing(c);
}

/* Protocol error before a stream exists: JSON reply and close. */
static void reply_error(h1_conn_t *c, int status, const char *reason, int minor)
{
    dp_stat_inc(c->stats->cx_protocol_error);
    dp_stream_init(&c->stream, &h1_ops, c, c->w, c->listener, c->hcm);
    c->stream_active = true;
    c->stream.http_version = minor == 0 ? 10 : 11;
    c->stream.response_flags |= DP_RF_DPE;
    c->keep_alive = false;
    c->state = H1S_WAIT_RESP;
    dp_stream_count(&c->stream);
    dp_stream_local_reply(&c->stream, status, reason, NULL);
}

/* Fills the stream from a parsed head. The head is copied into the
 * request arena so headers stay valid while the input buffer moves. */
static int start_stream(h1_conn_t *c, const dp_h1_request_t *req, const char *head, size_t head_len)
{
    dp_stream_t *s = &c->stream;
    dp_stream_init(s, &h1_ops, c, c->w, c->listener, c->hcm);
    c->stream_active = true;
    char *copy = dp_arena_alloc(&s->arena, head_len);
    memcpy(copy, head, head_len);
#define REBASE(p) (copy + ((p) - head))
    s->http_version = req->minor_version == 0 ? 10 : 11;
    s->method = dp_slice(REBASE(req->method), req->method_len);
    s->tls = c->sock->tops != &dp_transport_raw;
    s->scheme = s->tls ? DP_SLICE_LIT("https") : DP_SLICE_LIT("http");
    s->peer = (const struct sockaddr *)&c->sock->peer;
    s->local = (const struct sockaddr *)&c->sock->local;
    const char *target = REBASE(req->target);
    size_t tlen = req->target_len;
    dp_slice_t authority = DP_SLICE_NULL;
    if (req->target_form == DP_H1_TARGET_ABSOLUTE) {
        /* absolute-form: the target's authority wins over Host (RFC 9112 3.2.2) */
        const char *p = memchr(target, ':', tlen);
        size_t off = p ? (size_t)(p - target) + 3 : tlen;
        if (off > tlen || memcmp(target + off - 3, "://", 3) != 0)
            return 400;
        const char *a = target + off;
        size_t alen = 0;
        while (off + alen < tlen && a[alen] != '/' && a[alen] != '?')
            alen++;
        authority = dp_slice(a, alen);
        if (off + alen == tlen)
            s->path = DP_SLICE_LIT("/");
        else if (a[alen] == '?') {
            char *pp = dp_arena_printf(&s->arena, NULL, "/%.*s", (int)(tlen - off - alen), a + alen);
            s->path = dp_slice(pp, tlen - off - alen + 1);
        } else
            s->path = dp_slice(a + alen, tlen - off - alen);
    } else if (req->target_form == DP_H1_TARGET_ORIGIN) {
        s->path = dp_slice(target, tlen);
    } else if (req->target_form == DP_H1_TARGET_ASTERISK) {
        s->path = dp_slice(target, tlen);
    } else {
        return 400; /* CONNECT is not proxied (no upgrade_configs for it) */
    }
    if (authority.base == NULL && req->host)
        authority = dp_slice(REBASE(req->host), req->host_len);
    s->authority = authority;
    s->expect_continue = req->expect_continue;
    for (size_t i = 0; i < req->num_headers; i++) {
        char *name = REBASE(req->headers[i].name);
        size_t nl = req->headers[i].name_len;
        for (size_t k = 0; k < nl; k++)
            if ((unsigned char)(name[k] - 'A') < 26u)
                name[k] = (char)(name[k] + 32);
        if (nl == 4 && memcmp(name, "host", 4) == 0)
            continue; /* becomes :authority */
        dp_headers_add(&s->req_headers, dp_slice(name, nl),
                       dp_slice(REBASE(req->headers[i].value), req->headers[i].value_len));
    }
    if (req->upgrade && req->upgrade_value_len > 0) {
        /* the first protocol of the list; h2c is not an upgrade we do (Envoy
         * drops it too: the request goes on as HTTP/1.1) */
        const char *u = REBASE(req->upgrade_value);
        size_t ul = 0;
        while (ul < req->upgrade_value_len && u[ul] != ',' && u[ul] != ' ' && u[ul] != '\t')
            ul++;
        if (!(ul == 3 && strncasecmp(u, "h2c", 3) == 0) && ul > 0) {
            char *t = dp_arena_strndup(&s->arena, u, ul);
            for (size_t k = 0; k < ul; k++)
                if ((unsigned char)(t[k] - 'A') < 26u)
                    t[k] = (char)(t[k] + 32);
            s->upgrade = dp_slice(t, ul);
        }
    }
#undef REBASE
    s->req_has_body = req->body != DP_H1_BODY_NONE;
    s->req_content_length = req->body == DP_H1_BODY_LENGTH ? (int64_t)req->content_length
                            : req->body == DP_H1_BODY_CHUNKED ? -1
                                                              : 0;
    return 0;
}

static void deliver_body(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    while (c->state == H1S_BODY && !c->stream.body_paused) {
        const char *p = dp_buf_data(&sock->in);
        size_t len = sock->in.len;
        if (c->body_kind == DP_H1_BODY_LENGTH) {
            if (len == 0)
                break;
            size_t n = (size_t)DP_MIN((uint64_t)len, c->body_left);
            c->body_left -= n;
            bool end = c->body_left == 0;
            if (end)
                c->state = H1S_WAIT_RESP;
            dp_stream_on_body(&c->stream, p, n, end);
            if (c->sock == NULL)
                return;
            dp_buf_consume(&sock->in, n);
        } else {
            const char *data = NULL, *cerr = NULL;
            size_t dlen = 0;
            int n = dp_h1_chunked_decode(&c->chunked, p, len, &data, &dlen, &cerr);
            if (n < 0) {
                c->keep_alive = false;
                c->stream.response_flags |= DP_RF_DPE;
                dp_stat_inc(c->stats->cx_protocol_error);
                if (!c->stream.head_sent) {
                    dp_stream_local_reply(&c->stream, 400, cerr ? cerr : "malformed chunked body", NULL);
                } else {
                    conn_close(c);
                }
                return;
            }
            bool end = dp_h1_chunked_done(&c->chunked);
            if (end)
                c->state = H1S_WAIT_RESP;
            if (dlen > 0 || end)
                dp_stream_on_body(&c->stream, data, dlen, end);
            if (c->sock == NULL)
                return;
            dp_buf_consume(&sock->in, (size_t)n);
            if (n == 0 && dlen == 0 && !end)
                break;
        }
    }
    if (c->state == H1S_BODY && err) {
        /* client went away in the middle of its body */
        conn_close(c);
        return;
    }
    if (c->state == H1S_BODY && c->stream.body_paused)
        dp_sock_read_stop(sock);
}

/* Upgraded: every byte from the client is request body; its EOF is the
 * end of the request (a half-close passed upstream). */
static void tunnel_read(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    if (c->tunnel_in_done) {
        dp_buf_consume(&sock->in, sock->in.len);
        if (err && err != DP_ECLOSED)
            conn_close(c);
        return;
    }
    if (sock->in.len > 0 && c->stream_active) {
        size_t n = sock->in.len;
        dp_stream_on_body(&c->stream, dp_buf_data(&sock->in), n, false);
        if (c->sock == NULL)
            return;
        dp_buf_consume(&sock->in, n);
    }
    if (err) {
        c->tunnel_in_done = true;
        if (err != DP_ECLOSED) {
            conn_close(c);
            return;
        }
        dp_stream_on_body(&c->stream, NULL, 0, true);
        if (c->sock)
            dp_sock_read_stop(c->sock);
        return;
    }
    if (c->stream.body_paused)
        dp_sock_read_stop(sock);
}

static void process(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    for (;;) {
        if (c->sock == NULL)
            return;
        switch (c->state) {
        case H1S_TUNNEL:
            tunnel_read(c, err);
            return;
        case H1S_CLOSING:
            dp_buf_consume(&sock->in, sock->in.len);
            if (err)
                conn_close(c);
            return;
        case H1S_WAIT_RESP:
            /* pipelined bytes wait; a closed client aborts the stream */
            if (err) {
                conn_close(c);
                return;
            }
            if (sock->in.len >= sock->read_limit)
                dp_sock_read_stop(sock);
            return;
        case H1S_BODY:
            deliver_body(c, err);
            if (c->sock == NULL || c->state == H1S_BODY)
                return;
            continue;
        case H1S_HEAD: {
            if (sock->in.len == 0) {
                if (err)
                    conn_close(c);
                return;
            }
            const char *buf = dp_buf_data(&sock->in);
            if (dp_h1_head_complete(buf, sock->in.len, c->scanned) <= 0 &&
                sock->in.len <= c->lim.max_header_bytes) {
                c->scanned = sock->in.len;
                if (err)
                    conn_close(c);
                return;
            }
            dp_h1_request_t req;
            int r = dp_h1_parse_request(buf, sock->in.len, &c->lim, &req, header_scratch(c->lim.max_headers + 1));
            if (r == DP_EAGAIN) {
                c->scanned = sock->in.len;
                if (err)
                    conn_close(c);
                return;
            }
            if (r < 0) {
                reply_error(c, req.error_status ? req.error_status : 400, req.error ? req.error : "bad request",
                            1);
                return;
            }
            c->scanned = 0;
            c->is_head = req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0;
            c->keep_alive = req.keep_alive && !c->draining;
            c->resp_done = false;
            int st = start_stream(c, &req, buf, (size_t)r);
            dp_buf_consume(&sock->in, (size_t)r);
            if (st != 0) {
                c->stream.response_flags |= DP_RF_DPE;
                c->keep_alive = false;
                c->state = H1S_WAIT_RESP;
                dp_stream_local_reply(&c->stream, st, "invalid request target", NULL);
                continue;
            }
            c->body_kind = req.body;
            c->body_left = req.content_length;
            if (req.body == DP_H1_BODY_CHUNKED)
                dp_h1_chunked_init(&c->chunked);
            c->state = req.body == DP_H1_BODY_NONE ? H1S_WAIT_RESP : H1S_BODY;
            const dp_hcm_cfg_t *h = c->hcm;
            set_timeout(c, h->stream_idle_timeout_ms);
            if (req.expect_continue && req.body != DP_H1_BODY_NONE) {
                /* as Envoy without proxy_100_continue: answer it ourselves */
                struct iovec iov = {"HTTP/1.1 100 Continue\r\n\r\n", 25};
                dp_sock_write(sock, &iov, 1);
            }
            dp_stream_on_headers(&c->stream);
            continue;
        }
        }
    }
}

static void on_read(dp_sock_t *sock, int err)
{
    h1_conn_t *c = sock->data;
    c->last_activity_ms = loop_ms(c);
    process(c, err);
    if (c->sock)
        head_timer_check(c);
}

/* Parser output is only needed until the head is copied into the request
 * arena (start_stream), so one array per worker thread serves every
 * connection: an idle connection holds none. */
static _Thread_local dp_h1_header_t *scratch;
static _Thread_local size_t scratch_cap;

void dp_h1_server_thread_exit(void)
{
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

static dp_h1_header_t *header_scratch(size_t n)
{
    if (n > scratch_cap) {
        scratch = dp_xrealloc(scratch, n * sizeof(*scratch));
        scratch_cap = n;
    }
    return scratch;
}

void dp_h1_server_attach(dp_worker_t *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc, dp_sock_t *sock)
{
    h1_conn_t *c = dp_xcalloc(1, sizeof(*c));
    c->w = w;
    c->listener = dp_listener_cfg_ref(l);
    c->hcm = fc->hcm;
    c->sock = sock;
    c->sock->data = c;
    c->sock->on_drain = on_drain;
    const dp_hcm_cfg_t *h = fc->hcm;
    c->lim.max_header_bytes = (size_t)h->max_request_headers_kb * 1024;
    c->lim.max_headers = h->max_headers_count;
    /* room for a maximal head plus what arrives with it */
    c->sock->read_limit = c->lim.max_header_bytes + DP_BUF_CHUNK;
    c->stats = dp_hcm_stats_of(h);
    c->lstats = dp_listener_stats_of(l);
    c->keep_alive = true;
    c->link.drain = drain_conn;
    c->link.listener = l;
    dp_worker_conn_add(w, &c->link);
    dp_stat_inc(c->stats->cx_total);
    dp_stat_inc(c->stats->cx_active);
    dp_stat_inc(c->stats->cx_http1_total);
    ev_init(&c->timer, on_timer);
    ev_init(&c->head_timer, on_head_timeout);
    c->head_timer.data = c;
    c->timer.data = c;
    arm_idle(c);
    dp_sock_read_start(c->sock, on_read);
}
