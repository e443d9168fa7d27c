/* One object per HTTP/2 stream: the request it fills from the header
 * block and DATA frames, and the dp_stream_ops its response goes through
 * (HEADERS, DATA from a per-stream buffer via an nghttp2 data provider,
 * trailers, RST_STREAM).
 *
 * Request body flow control: a DATA chunk goes straight to the stream when
 * it can take it (dp_stream_on_body copies or forwards it), and only then
 * is it "consumed" (nghttp2_session_consume), which is what lets nghttp2
 * send WINDOW_UPDATE. A paused stream holds its chunks in h->in unconsumed;
 * the connection stops reading its socket while the sum of those exceeds
 * the listener's per_connection_buffer_limit_bytes (server.c).
 *
 * Response flow control: send_body appends to h->out (pending()); the data
 * provider frames it while the peer's windows allow and the socket's queue
 * is short, and tells the stream it may send more once pending() falls
 * under DP_STREAM_LOW_WATERMARK. */
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http2/server_int.h"

#define FREE_LIST_MAX 8

static void on_stream_timer(struct ev_loop *ev, ev_timer *t, int revents);

/* --- life cycle ---------------------------------------------------------------- */

dp_h2_stream_t *dp_h2__stream_new(dp_h2_conn_t *c, int32_t id)
{
    dp_h2_stream_t *h = c->free_list;
    if (h) {
        c->free_list = h->work_next;
        c->n_free--;
        memset(h, 0, sizeof(*h));
    } else {
        h = dp_xcalloc(1, sizeof(*h));
    }
    h->c = c;
    h->id = id;
    dp_stream_t *s = &h->s;
    dp_stream_init(s, &dp_h2__stream_ops, h, c->w, c->listener, c->hcm);
    s->http_version = 20;
    s->tls = c->sock->tops != &dp_transport_raw;
    s->peer = (const struct sockaddr *)&c->sock->peer;
    s->local = (const struct sockaddr *)&c->sock->local;
    h->next = c->streams;
    if (c->streams)
        c->streams->prev = h;
    c->streams = h;
    c->n_streams++;
    h->last_activity_ms = dp_h2__now_ms(c);
    ev_init(&h->timer, on_stream_timer);
    h->timer.data = h;
    uint64_t ms = c->hcm->stream_idle_timeout_ms;
    if (ms > 0) {
        ev_timer_set(&h->timer, (double)ms / 1000.0, 0);
        ev_timer_start(c->w->loop.ev, &h->timer);
    }
    return h;
}

void dp_h2__stream_finish(dp_h2_stream_t *h)
{
    dp_h2_conn_t *c = h->c;
    dp_stream_t *s = &h->s;
    if (!s->resp_done && !h->reset_sent)
        dp_stream_on_abort(s); /* the client reset it or the connection went away */
    ev_timer_stop(c->w->loop.ev, &h->timer);
    if (h->in.len > 0) {
        /* held DATA nobody will take: give the connection window back */
        if (c->session)
            nghttp2_session_consume_connection(c->session, h->in.len);
        c->in_buffered -= h->in.len;
        dp_buf_free(&h->in);
    }
    dp_buf_free(&h->out);
    if (c->session && !h->closed)
        nghttp2_session_set_stream_user_data(c->session, h->id, NULL);
    if (h->prev)
        h->prev->next = h->next;
    else
        c->streams = h->next;
    if (h->next)
        h->next->prev = h->prev;
    c->n_streams--;
    dp_stream_dispose(s);
    if (c->n_free < FREE_LIST_MAX) {
        h->work_next = c->free_list;
        c->free_list = h;
        c->n_free++;
    } else {
        free(h);
    }
}

void dp_h2__stream_free_all(dp_h2_conn_t *c)
{
    while (c->free_list) {
        dp_h2_stream_t *h = c->free_list;
        c->free_list = h->work_next;
        free(h);
    }
    c->n_free = 0;
}

void dp_h2__stream_reset(dp_h2_stream_t *h, uint32_t code)
{
    dp_h2_conn_t *c = h->c;
    if (h->reset_sent || h->closed || c->session == NULL)
        return;
    h->reset_sent = 1;
    nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, h->id, code);
    dp_h2__kick(c);
}

/* stream_idle_timeout: as h1, 408 if nothing was answered yet, else a
 * reset. Checked lazily against the last activity (no timer restart per
 * frame). */
static void on_stream_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    dp_h2_stream_t *h = t->data;
    dp_h2_conn_t *c = h->c;
    uint64_t ms = c->hcm->stream_idle_timeout_ms, now = dp_h2__now_ms(c);
    if (h->closed || h->reset_sent || ms == 0)
        return;
    uint64_t idle = now - h->last_activity_ms;
    if (idle < ms) {
        ev_timer_set(t, (double)(ms - idle) / 1000.0, 0);
        ev_timer_start(ev, t);
        return;
    }
    dp_stream_t *s = &h->s;
    dp_stat_inc(c->stats->rq_idle_timeout);
    s->response_flags |= DP_RF_SI;
    if (h->headers_done && !s->head_sent)
        dp_stream_local_reply(s, 408, "stream timeout", NULL);
    else
        dp_h2__stream_reset(h, NGHTTP2_INTERNAL_ERROR);
    dp_h2__kick(c);
}

/* --- request --------------------------------------------------------------------- */

static bool slice_is(const uint8_t *p, size_t n, const char *lit, size_t litlen)
{
    return n == litlen && memcmp(p, lit, n) == 0;
}

int dp_h2__stream_header(dp_h2_stream_t *h, const uint8_t *name, size_t nlen, const uint8_t *value,
                         size_t vlen)
{
    dp_h2_conn_t *c = h->c;
    dp_stream_t *s = &h->s;
    if (h->reset_sent)
        return 0;
    bool cookie = slice_is(name, nlen, "cookie", 6);
    h->hdr_bytes += nlen + vlen;
    /* crumbs of one cookie header count once: they are joined below */
    if (!cookie ||
        dp_headers_find(h->in_trailer_block ? &s->req_trailers : &s->req_headers, "cookie", 6, 0) < 0)
        h->hdr_count++;
    if (h->hdr_bytes > c->max_header_bytes)
        h->too_large = 1;
    if (h->hdr_count > c->hcm->max_headers_count)
        h->too_many = 1;
    if (h->too_large || h->too_many) {
        /* the request head is answered 431 once complete; trailers cannot be */
        return h->in_trailer_block ? NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE : 0;
    }
    dp_slice_t v = dp_slice(dp_arena_strndup(&s->arena, (const char *)value, vlen), vlen);
    if (nlen > 0 && name[0] == ':' && !h->in_trailer_block) {
        /* nghttp2 checked them: known, once each, before regular fields */
        if (slice_is(name, nlen, ":method", 7))
            s->method = v;
        else if (slice_is(name, nlen, ":scheme", 7))
            s->scheme = v;
        else if (slice_is(name, nlen, ":authority", 10))
            s->authority = v;
        else if (slice_is(name, nlen, ":path", 5))
            s->path = v;
        else if (slice_is(name, nlen, ":protocol", 9))
            h->protocol = v;
        return 0;
    }
    dp_slice_t n = dp_slice(dp_arena_strndup(&s->arena, (const char *)name, nlen), nlen);
    dp_headers_add(h->in_trailer_block ? &s->req_trailers : &s->req_headers, n, v);
    return 0;
}

/* RFC 9113 8.2.3: cookie crumbs are joined with "; " for HTTP/1.1. */
static void join_cookies(dp_stream_t *s)
{
    size_t n = dp_headers_count(&s->req_headers, "cookie", 6);
    if (n < 2)
        return;
    size_t total = 2 * (n - 1);
    for (long i = dp_headers_find(&s->req_headers, "cookie", 6, 0); i >= 0;
         i = dp_headers_find(&s->req_headers, "cookie", 6, (size_t)i + 1))
        total += s->req_headers.v[i].value.len;
    char *v = dp_arena_alloc(&s->arena, total), *p = v;
    bool first = true;
    for (long i = dp_headers_find(&s->req_headers, "cookie", 6, 0); i >= 0;
         i = dp_headers_find(&s->req_headers, "cookie", 6, (size_t)i + 1)) {
        if (!first) {
            memcpy(p, "; ", 2);
            p += 2;
        }
        first = false;
        if (s->req_headers.v[i].value.len > 0)
            memcpy(p, s->req_headers.v[i].value.base, s->req_headers.v[i].value.len);
        p += s->req_headers.v[i].value.len;
    }
    dp_headers_remove(&s->req_headers, "cookie", 6);
    dp_headers_add(&s->req_headers, DP_SLICE_LIT("cookie"), dp_slice(v, total));
}

static int64_t parse_content_length(const dp_slice_t *v)
{
    if (v == NULL || v->len == 0 || v->len > 18)
        return -1;
    int64_t n = 0;
    for (size_t i = 0; i < v->len; i++) {
        if (v->base[i] < '0' || v->base[i] > '9')
            return -1;
        n = n * 10 + (v->base[i] - '0');
    }
    return n;
}

/* Answers a request the HCM never sees (431, plain CONNECT). */
static void local_answer(dp_h2_stream_t *h, int status, const char *msg)
{
    dp_stream_t *s = &h->s;
    s->response_flags |= DP_RF_DPE;
    dp_stream_count(s);
    dp_stream_local_reply(s, status, msg, NULL);
}

void dp_h2__stream_request(dp_h2_stream_t *h, bool end_stream)
{
    dp_h2_conn_t *c = h->c;
    dp_stream_t *s = &h->s;
    h->headers_done = 1;
    if (h->reset_sent)
        return;
    s->req_has_body = !end_stream;
    if (h->too_large || h->too_many) {
        /* Envoy resets such an HTTP/2 stream; a 431 tells the client why */
        local_answer(h, 431, h->too_large ? "request headers too large" : "too many request headers");
        return;
    }
    /* :authority, else Host (RFC 9113 8.3.1); nghttp2 refuses a request
     * with neither, the HCM would answer 400 */
    long host = dp_headers_find(&s->req_headers, "host", 4, 0);
    if (host >= 0) {
        if (s->authority.base == NULL)
            s->authority = s->req_headers.v[host].value;
        dp_headers_remove(&s->req_headers, "host", 4);
    }
    if (s->scheme.base == NULL)
        s->scheme = s->tls ? DP_SLICE_LIT("https") : DP_SLICE_LIT("http");
    join_cookies(s);
    int64_t cl = parse_content_length(dp_headers_get(&s->req_headers, "content-length", 14));
    s->req_content_length = cl >= 0 ? cl : s->req_has_body ? -1 : 0;
    dp_headers_remove(&s->req_headers, "content-length", 14);

    if (s->method.len == 7 && memcmp(s->method.base, "CONNECT", 7) == 0) {
        if (h->protocol.len == 0) {
            local_answer(h, 403, "CONNECT is not supported");
            return;
        }
        /* RFC 8441 extended CONNECT: an HTTP/1.1-style upgrade (GET +
         * upgrade token) as Envoy converts it; the DATA that follows the
         * 200 is the tunnel */
        char *p = dp_arena_strndup(&s->arena, h->protocol.base, h->protocol.len);
        for (size_t i = 0; i < h->protocol.len; i++)
            if ((unsigned char)(p[i] - 'A') < 26u)
                p[i] = (char)(p[i] + 32);
        s->upgrade = dp_slice(p, h->protocol.len);
        s->method = DP_SLICE_LIT("GET");
        s->req_has_body = false;
        s->req_content_length = 0;
    }

    const dp_slice_t *expect = dp_headers_get(&s->req_headers, "expect", 6);
    if (expect && expect->len == 12 && strncasecmp(expect->base, "100-continue", 12) == 0 &&
        s->req_has_body) {
        /* as Envoy without proxy_100_continue: answer it ourselves */
        s->expect_continue = true;
        nghttp2_nv nv = {(uint8_t *)":status", (uint8_t *)"100", 7, 3, NGHTTP2_NV_FLAG_NONE};
        nghttp2_submit_headers(c->session, NGHTTP2_FLAG_NONE, h->id, NULL, &nv, 1, NULL);
    }
    dp_stream_on_headers(s);
}

static bool can_deliver(const dp_h2_stream_t *h)
{
    const dp_stream_t *s = &h->s;
    return h->headers_done && !h->reset_sent && !h->closed && !s->body_paused &&
           !(s->upgrade.len > 0 && !s->upgraded) && !h->end_delivered;
}

static void consume(dp_h2_stream_t *h, size_t n)
{
    dp_h2_conn_t *c = h->c;
    if (c->session == NULL || n == 0)
        return;
    nghttp2_session_consume_connection(c->session, n);
    if (!h->closed)
        nghttp2_session_consume_stream(c->session, h->id, n);
}

void dp_h2__stream_data(dp_h2_stream_t *h, const uint8_t *data, size_t len)
{
    dp_h2_conn_t *c = h->c;
    h->last_activity_ms = dp_h2__now_ms(c);
    if (h->reset_sent || h->too_large || h->too_many || h->end_delivered) {
        consume(h, len); /* nobody wants it */
        return;
    }
    if (h->in.len == 0 && can_deliver(h)) {
        dp_stream_on_body(&h->s, (const char *)data, len, false);
        consume(h, len);
        return;
    }
    dp_buf_append(&h->in, data, len);
    c->in_buffered += len;
}

void dp_h2__stream_end(dp_h2_stream_t *h, bool trailers)
{
    h->in_end = 1;
    h->in_trailers = trailers;
    dp_h2__stream_deliver(h);
}

void dp_h2__stream_deliver(dp_h2_stream_t *h)
{
    dp_h2_conn_t *c = h->c;
    dp_stream_t *s = &h->s;
    h->want_deliver = 0;
    if (h->in.len > 0 && can_deliver(h)) {
        /* all of it at once: the stream copies or forwards what it is given */
        size_t n = h->in.len;
        bool end = h->in_end && !h->in_trailers;
        if (end)
            h->end_delivered = 1;
        dp_stream_on_body(s, dp_buf_data(&h->in), n, end);
        consume(h, n);
        c->in_buffered -= n;
        dp_buf_consume(&h->in, n);
        if (end)
            return;
    }
    if (h->in.len == 0 && h->in_end && can_deliver(h)) {
        h->end_delivered = 1;
        if (h->in_trailers)
            dp_stream_on_trailers(s);
        else
            dp_stream_on_body(s, "", 0, true);
    }
}

/* --- response (dp_stream_ops_t) ----------------------------------------------------- */

static dp_h2_stream_t *h2s_of(dp_stream_t *s)
{
    return s->codec;
}

/* The name as HTTP/2 requires it: lowercase (copied only if needed). */
static const char *lower_name(dp_stream_t *s, dp_slice_t n)
{
    size_t i = 0;
    while (i < n.len && (unsigned char)(n.base[i] - 'A') >= 26u)
        i++;
    if (i == n.len)
        return n.base;
    char *p = dp_arena_strndup(&s->arena, n.base, n.len);
    for (; i < n.len; i++)
        if ((unsigned char)(p[i] - 'A') < 26u)
            p[i] = (char)(p[i] + 32);
    return p;
}

static nghttp2_nv nv_of(const char *n, size_t nl, const char *v, size_t vl)
{
    return (nghttp2_nv){(uint8_t *)n, (uint8_t *)v, nl, vl, NGHTTP2_NV_FLAG_NONE};
}

/* Regular fields of h as an nghttp2_nv array in the stream's arena after
 * `reserve` free slots; *n gets the count written after them. */
static nghttp2_nv *headers_nv(dp_stream_t *s, const dp_headers_t *h, size_t reserve, bool drop_cl, size_t *n)
{
    nghttp2_nv *nva = dp_arena_alloc(&s->arena, (h->n + reserve + 1) * sizeof(*nva));
    size_t k = reserve;
    for (size_t i = 0; i < h->n; i++) {
        dp_slice_t name = h->v[i].name;
        /* RFC 9113 8.2.2: connection-specific fields never appear in
         * HTTP/2 (nghttp2 clients treat a response with one as malformed);
         * TE means nothing in a response */
        if (name.len == 0 || name.base[0] == ':' || dp_headers_hop_by_hop(name))
            continue;
        if (drop_cl && name.len == 14 && strncasecmp(name.base, "content-length", 14) == 0)
            continue;
        nva[k++] = nv_of(lower_name(s, name), name.len, h->v[i].value.base, h->v[i].value.len);
    }
    *n = k - reserve;
    return nva;
}

static ssize_t data_read(nghttp2_session *session, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *user_data)
{
    dp_h2_stream_t *h = src->ptr;
    dp_h2_conn_t *c = user_data;
    if (h->out.len == 0 && !h->out_end) {
        h->deferred = 1; /* send_body resumes it */
        return NGHTTP2_ERR_DEFERRED;
    }
    if (h->out.len > 0 && c->sock->out.len >= DP_H2_SOCK_OUT_CAP) {
        /* the socket is behind: keep DATA in the stream (where pending()
         * sees it and the router holds the upstream back) */
        h->deferred = h->sock_blocked = 1;
        c->sock_blocked = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    size_t n = DP_MIN(length, h->out.len);
    if (n > 0) {
        memcpy(buf, dp_buf_data(&h->out), n);
        dp_buf_consume(&h->out, n);
    }
    if (h->out.len == 0 && h->out_end) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (h->trailers) {
            *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            nghttp2_submit_trailer(session, id, h->trailers, h->n_trailers);
        }
    }
    if (h->out_high && h->out.len <= DP_STREAM_LOW_WATERMARK) {
        h->out_high = 0;
        h->want_writable = 1;
        dp_h2__work(c, h);
    }
    h->last_activity_ms = dp_h2__now_ms(c);
    return (ssize_t)n;
}

static void resume(dp_h2_stream_t *h)
{
    dp_h2_conn_t *c = h->c;
    if (h->deferred && c->session && !h->closed) {
        h->deferred = h->sock_blocked = 0;
        nghttp2_session_resume_data(c->session, h->id);
    }
    dp_h2__kick(c);
}

static void h2_send_head(dp_stream_t *s, int status, dp_headers_t *hd, int64_t content_length,
                         bool end_stream)
{
    dp_h2_stream_t *h = h2s_of(s);
    dp_h2_conn_t *c = h->c;
    if (h->reset_sent || h->closed || h->resp_submitted || c->session == NULL)
        return;
    bool upgrade_ok = s->upgrade.len > 0 && (status == 101 || status == 200);
    if (upgrade_ok) {
        /* RFC 8441: the extended CONNECT's 2xx; from now on DATA is the tunnel */
        status = 200;
        s->upgraded = true;
        content_length = -1;
        h->want_deliver = 1;
        dp_h2__work(c, h);
    }
    bool is_head = s->method.len == 4 && memcmp(s->method.base, "HEAD", 4) == 0;
    bool bodiless_status = status == 204 || status == 304 || (status >= 100 && status < 200);
    h->no_body = !upgrade_ok && (is_head || bodiless_status);
    size_t n;
    nghttp2_nv *nva = headers_nv(s, hd, 1, content_length >= 0, &n);
    char *st = dp_arena_alloc(&s->arena, 24);
    size_t sl = dp_u64toa((uint64_t)(status > 0 ? status : 500), st);
    nva[0] = nv_of(":status", 7, st, sl);
    n++;
    if (content_length >= 0 && !bodiless_status) {
        char *cl = dp_arena_alloc(&s->arena, 24);
        size_t cll = dp_u64toa((uint64_t)content_length, cl);
        nva[n++] = nv_of("content-length", 14, cl, cll);
    }
    h->resp_submitted = 1;
    nghttp2_data_provider prd = {.source.ptr = h, .read_callback = data_read};
    h->has_provider = !end_stream;
    int rv = nghttp2_submit_response(c->session, h->id, nva, n, end_stream ? NULL : &prd);
    if (rv != 0) {
        DP_DEBUG("h2: stream %d: response not submitted: %s", h->id, nghttp2_strerror(rv));
        h->has_provider = 0;
        dp_h2__stream_reset(h, NGHTTP2_INTERNAL_ERROR);
    }
    h->last_activity_ms = dp_h2__now_ms(c);
    dp_h2__kick(c);
}

static void h2_send_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    dp_h2_stream_t *h = h2s_of(s);
    if (h->reset_sent || h->closed || !h->has_provider || h->out_end)
        return;
    if (len > 0 && !h->no_body) {
        dp_buf_append(&h->out, data, len);
        if (h->out.len > DP_STREAM_LOW_WATERMARK)
            h->out_high = 1;
    }
    if (end_stream)
        h->out_end = 1;
    h->last_activity_ms = dp_h2__now_ms(h->c);
    resume(h);
}

static size_t h2_pending(dp_stream_t *s)
{
    return h2s_of(s)->out.len;
}

static void h2_read_body(dp_stream_t *s, bool enable)
{
    dp_h2_stream_t *h = h2s_of(s);
    s->body_paused = !enable;
    if (enable && (h->in.len > 0 || (h->in_end && !h->end_delivered))) {
        /* delivered from the pump, not under the caller's feet */
        h->want_deliver = 1;
        dp_h2__work(h->c, h);
        dp_h2__kick(h->c);
    }
}

static void h2_reset(dp_stream_t *s)
{
    dp_h2__stream_reset(h2s_of(s), NGHTTP2_INTERNAL_ERROR);
}

static void h2_send_trailers(dp_stream_t *s, dp_headers_t *hd)
{
    dp_h2_stream_t *h = h2s_of(s);
    if (h->reset_sent || h->closed || !h->has_provider || h->out_end)
        return;
    size_t n;
    nghttp2_nv *nva = headers_nv(s, hd, 0, true, &n);
    /* submitted by the data provider after the last DATA: keep copies */
    for (size_t i = 0; i < n; i++) {
        nva[i].name = (uint8_t *)dp_arena_strndup(&s->arena, (const char *)nva[i].name, nva[i].namelen);
        nva[i].value = (uint8_t *)dp_arena_strndup(&s->arena, (const char *)nva[i].value, nva[i].valuelen);
    }
    if (n > 0) {
        h->trailers = nva;
        h->n_trailers = n;
    }
    h->out_end = 1;
    resume(h);
}

static void h2_drain(dp_stream_t *s)
{
    dp_h2_conn_t *c = h2s_of(s)->c;
    if (!c->draining)
        dp_h2__drain(c, false); /* the session pump sends the notice */
}

const dp_stream_ops_t dp_h2__stream_ops = {
    .send_head = h2_send_head,
    .send_body = h2_send_body,
    .pending = h2_pending,
    .read_body = h2_read_body,
    .reset = h2_reset,
    .send_trailers = h2_send_trailers,
    .drain = h2_drain,
};

void dp_h2__stream_response_sent(dp_h2_stream_t *h)
{
    dp_h2_conn_t *c = h->c;
    if (h->s.upgraded || h->reset_sent || h->closed || c->session == NULL)
        return;
    /* RFC 9113 8.1: the response is complete before the request; ask the
     * client to stop sending without error (a tunnel's END_STREAM is a
     * half-close instead) */
    if (!nghttp2_session_get_stream_remote_close(c->session, h->id)) {
        h->reset_sent = 1;
        nghttp2_submit_rst_stream(c->session, NGHTTP2_FLAG_NONE, h->id, NGHTTP2_NO_ERROR);
    }
}
