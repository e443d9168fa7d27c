#include "filters/router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/hcm.h"
#include "dataplane/http/route.h"
#include "dataplane/http/stream.h"
#include "dataplane/server/worker.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/pool.h"
#include "envoy/extensions/filters/http/router/v3/router.pb-c.h"

typedef enum {
    UP_WAIT_CONN, /* queued in the pool */
    UP_STREAMING, /* bound to a connection */
} up_state_t;

struct dp_upstream_req {
    dp_stream_t *s;
    const dp_cluster_cfg_t *cluster; /* borrowed: the stream holds the snapshot */
    const dp_endpoint_t *ep;
    const dp_weighted_cluster_t *wc;
    dp_pool_t *pool;
    dp_pool_waiter_t waiter;
    dp_h1_client_t *conn;
    up_state_t state;
    ev_timer timer;
    bool timer_on;
    bool req_chunked, req_end_sent, resp_head_seen, resp_paused;
    bool reused;
    int attempts;
    dp_slice_t path, authority;
};

typedef struct dp_upstream_req up_t;

static void start_attempt(up_t *up);
static void fail_local(up_t *up, int status, uint32_t flag, const char *msg);

/* --- helpers ------------------------------------------------------------- */

static dp_loop_t *loop_of(up_t *up)
{
    return &up->s->worker->loop;
}

static void timer_stop(up_t *up)
{
    if (up->timer_on) {
        ev_timer_stop(loop_of(up)->ev, &up->timer);
        up->timer_on = false;
    }
}

/* Releases the connection and the upstream state. The stream no longer
 * points at us afterwards. reusable: the connection is clean for reuse. */
static void release(up_t *up, bool reusable)
{
    timer_stop(up);
    if (up->state == UP_WAIT_CONN) {
        dp_pool_cancel(&up->waiter);
        dp_pool_done(up->pool, NULL, false);
    } else {
        bool clean = dp_h1_client_detach(up->conn) && reusable;
        dp_pool_done(up->pool, up->conn, clean);
    }
    up->conn = NULL;
    if (up->s->up == up)
        up->s->up = NULL;
    dp_loop_defer_free(loop_of(up), up);
}

static void fail_local(up_t *up, int status, uint32_t flag, const char *msg)
{
    dp_stream_t *s = up->s;
    s->response_flags |= flag;
    release(up, false);
    if (s->head_sent) {
        s->ops->reset(s);
        return;
    }
    dp_stream_local_reply(s, status, msg, NULL);
}

/* --- request to the upstream ------------------------------------------------ */

static void write_head(up_t *up)
{
    dp_stream_t *s = up->s;
    dp_buf_t *out = &up->conn->sock->out;
    dp_buf_append(out, s->method.base, s->method.len);
    dp_buf_append(out, " ", 1);
    dp_buf_append(out, up->path.base, up->path.len);
    dp_buf_append(out, " HTTP/1.1\r\nhost: ", 17);
    dp_buf_append(out, up->authority.base, up->authority.len);
    dp_buf_append(out, "\r\n", 2);
    for (size_t i = 0; i < s->req_headers.n; i++) {
        const dp_header_t *h = &s->req_headers.v[i];
        dp_buf_append(out, h->name.base, h->name.len);
        dp_buf_append(out, ": ", 2);
        dp_buf_append(out, h->value.base, h->value.len);
        dp_buf_append(out, "\r\n", 2);
    }
    if (s->req_content_length > 0) {
        char cl[48];
        memcpy(cl, "content-length: ", 16);
        size_t n = 16 + dp_u64toa((uint64_t)s->req_content_length, cl + 16);
        cl[n++] = '\r';
        cl[n++] = '\n';
        dp_buf_append(out, cl, n);
    } else if (s->req_content_length < 0) {
        up->req_chunked = true;
        dp_buf_append(out, "transfer-encoding: chunked\r\n", 28);
    }
    dp_buf_append(out, "\r\n", 2);
    dp_sock_queued(up->conn->sock);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    up_t *up = t->data;
    up->timer_on = false;
    dp_stat_inc(up->cluster->rt->rq_timeout);
    fail_local(up, 504, DP_RF_UT, "upstream request timeout");
}

static void request_complete(up_t *up)
{
    if (up->req_chunked) {
        struct iovec iov = {"0\r\n\r\n", 5};
        dp_h1_client_write(up->conn, &iov, 1);
    }
    up->req_end_sent = true;
    dp_h1_client_request_done(up->conn);
    /* Envoy's route timeout runs from the end of the request to the end of the response */
    const dp_route_t *r = up->s->route;
    if (r->timeout_ms > 0 && !up->timer_on) {
        ev_timer_init(&up->timer, on_timeout, (double)r->timeout_ms / 1000.0, 0);
        up->timer.data = up;
        ev_timer_start(loop_of(up)->ev, &up->timer);
        up->timer_on = true;
    }
}

static void write_body(up_t *up, const char *data, size_t len)
{
    if (len == 0)
        return;
    if (up->req_chunked) {
        char hdr[24];
        size_t n = dp_u64tohex(len, hdr);
        hdr[n++] = '\r';
        hdr[n++] = '\n';
        struct iovec iov[3] = {{hdr, n}, {(void *)data, len}, {"\r\n", 2}};
        dp_h1_client_write(up->conn, iov, 3);
    } else {
        struct iovec iov = {(void *)data, len};
        dp_h1_client_write(up->conn, &iov, 1);
    }
}

void dp_router_on_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    up_t *up = s->up;
    write_body(up, data, len);
    if (end_stream)
        request_complete(up);
    else if (dp_h1_client_pending(up->conn) >= DP_STREAM_HIGH_WATERMARK && !s->body_paused)
        s->ops->read_body(s, false);
}

void dp_router_on_trailers(dp_stream_t *s)
{
    /* HTTP/1.1 upstreams get no request trailers (a chunked trailer section
     * is rarely understood); the request ends here. */
    request_complete(s->up);
}

bool dp_router_streaming(const dp_stream_t *s)
{
    return s->up && s->up->state == UP_STREAMING;
}

/* --- response from the upstream ------------------------------------------- */

static void on_resp_head(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    up->resp_head_seen = true;
    s->first_upstream_byte_ns = dp_now_ns();
    if (status >= 100 && status < 600)
        dp_stat_inc(up->cluster->rt->rq_xx[status / 100]);
    dp_headers_t *rh = &s->resp_headers;
    dp_headers_clear(rh);
    for (size_t i = 0; i < h->n; i++) {
        const dp_header_t *x = &h->v[i];
        /* hop-by-hop and framing headers are the codecs' business */
        if ((x->name.len == 10 && (memcmp(x->name.base, "connection", 10) == 0 ||
                                   memcmp(x->name.base, "keep-alive", 10) == 0)) ||
            (x->name.len == 17 && memcmp(x->name.base, "transfer-encoding", 17) == 0) ||
            (x->name.len == 14 && memcmp(x->name.base, "content-length", 14) == 0) ||
            (x->name.len == 16 && memcmp(x->name.base, "proxy-connection", 16) == 0) ||
            (x->name.len == 7 && memcmp(x->name.base, "upgrade", 7) == 0))
            continue;
        dp_headers_add(rh, x->name, x->value);
    }
    if (up->wc)
        dp_headers_apply_mutations(rh, &up->wc->resp);
    dp_headers_apply_mutations(rh, &s->route->resp);
    dp_headers_apply_mutations(rh, &s->vhost->resp);
    dp_headers_apply_mutations(rh, &s->route_config->resp);
    if (end_stream) {
        dp_stat_inc(up->cluster->rt->rq_completed);
        bool req_done = up->req_end_sent;
        s->up = NULL; /* sending the end may dispose of the stream */
        timer_stop(up);
        dp_stream_send_head(s, status, rh, content_length, true);
        release(up, req_done);
        return;
    }
    dp_stream_send_head(s, status, rh, content_length, false);
}

static void on_resp_body(void *ctx, const char *data, size_t len, bool end_stream)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    if (end_stream) {
        dp_stat_inc(up->cluster->rt->rq_completed);
        bool req_done = up->req_end_sent;
        s->up = NULL; /* the end may dispose of the stream */
        timer_stop(up);
        dp_stream_send_body(s, data, len, true);
        release(up, req_done);
        return;
    }
    dp_stream_send_body(s, data, len, false);
    if (s->ops->pending(s) >= DP_STREAM_HIGH_WATERMARK && !up->resp_paused) {
        up->resp_paused = true;
        dp_h1_client_read(up->conn, false);
    }
}

void dp_router_on_writable(dp_stream_t *s)
{
    up_t *up = s->up;
    if (up->resp_paused && up->state == UP_STREAMING && s->ops->pending(s) <= DP_STREAM_LOW_WATERMARK) {
        up->resp_paused = false;
        dp_h1_client_read(up->conn, true);
    }
}

static void on_conn_drain(void *ctx)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    if (s->body_paused && !s->req_done && dp_h1_client_pending(up->conn) <= DP_STREAM_LOW_WATERMARK)
        s->ops->read_body(s, true);
}

static void on_conn_error(void *ctx, int err, bool got_bytes, const char *detail)
{
    (void)err;
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    DP_DEBUG("upstream error on cluster %s: %s", up->cluster->name, detail ? detail : "?");
    if (!up->resp_head_seen && !got_bytes && up->reused && !s->req_has_body && up->attempts < 2) {
        /* a kept-alive connection the server closed as we reused it: the
         * request never reached it, so a fresh connection is safe */
        dp_stat_inc(up->cluster->rt->rq_retry);
        dp_h1_client_detach(up->conn);
        dp_pool_done(up->pool, up->conn, false);
        up->conn = NULL;
        start_attempt(up);
        return;
    }
    if (up->resp_head_seen) {
        s->response_flags |= DP_RF_UC;
        release(up, false);
        s->ops->reset(s);
        return;
    }
    if (got_bytes)
        dp_stat_inc(up->cluster->rt->cx_protocol_error);
    fail_local(up, 502, got_bytes ? DP_RF_UPE : DP_RF_UC,
               "upstream connect error or disconnect/reset before headers. reset reason: connection termination");
}

static const dp_h1_client_cbs_t up_cbs = {
    .on_head = on_resp_head,
    .on_body = on_resp_body,
    .on_error = on_conn_error,
    .on_drain = on_conn_drain,
};

/* --- connecting ------------------------------------------------------------ */

static void bind_conn(up_t *up, dp_h1_client_t *c)
{
    dp_stream_t *s = up->s;
    up->conn = c;
    up->state = UP_STREAMING;
    up->reused = c->requests > 0;
    bool is_head = s->method.len == 4 && memcmp(s->method.base, "HEAD", 4) == 0;
    dp_h1_client_bind(c, &up_cbs, up, is_head);
    s->upstream_start_ns = dp_now_ns();
    write_head(up);
    /* body that arrived while we were connecting */
    if (s->body_buf.len > 0) {
        write_body(up, dp_buf_data(&s->body_buf), s->body_buf.len);
        dp_buf_free(&s->body_buf);
    }
    if (s->req_done || s->body_buf_end) {
        request_complete(up);
    } else if (s->body_paused) {
        s->ops->read_body(s, true);
    }
}

static void on_pool_ready(dp_pool_waiter_t *w, dp_h1_client_t *c, int err, const char *detail)
{
    up_t *up = (up_t *)((char *)w - offsetof(up_t, waiter));
    (void)detail;
    if (c == NULL) {
        /* keep the request counted until release() */
        up->state = UP_STREAMING;
        up->conn = NULL;
        up->s->response_flags |= DP_RF_UF;
        timer_stop(up);
        dp_stream_t *s = up->s;
        dp_pool_done(up->pool, NULL, false);
        s->up = NULL;
        dp_loop_defer_free(loop_of(up), up);
        dp_stream_local_reply(s, 503,
                              err == DP_ETIMEDOUT
                                  ? "upstream connect error or disconnect/reset before headers. reset reason: connection timeout"
                                  : "upstream connect error or disconnect/reset before headers. reset reason: connection failure",
                              NULL);
        return;
    }
    bind_conn(up, c);
}

static void start_attempt(up_t *up)
{
    up->attempts++;
    up->state = UP_WAIT_CONN;
    up->resp_head_seen = false;
    up->req_end_sent = false;
    up->waiter.ready = on_pool_ready;
    dp_h1_client_t *c = NULL;
    switch (dp_pool_acquire(up->pool, up->cluster, &up->waiter, &c)) {
    case DP_POOL_READY:
        bind_conn(up, c);
        return;
    case DP_POOL_WAIT:
        return;
    case DP_POOL_OVERFLOW: {
        dp_stream_t *s = up->s;
        s->response_flags |= DP_RF_UO;
        s->up = NULL;
        dp_loop_defer_free(loop_of(up), up);
        dp_stream_local_reply(s, 503, "upstream connect error or disconnect/reset before headers. reset reason: overflow",
                              NULL);
        return;
    }
    }
}

/* --- the filter ------------------------------------------------------------ */


/* ORIGINAL_DST: the endpoint is the address a filter put in the stream
 * (Envoy's original_dst filter state); it lives as long as the stream. */
static const dp_endpoint_t *original_dst_endpoint(dp_stream_t *s)
{
    if (s->original_dst_len == 0)
        return NULL;
    dp_endpoint_t *e = dp_arena_alloc(&s->arena, sizeof(*e));
    memset(e, 0, sizeof(*e));
    memcpy(&e->addr, &s->original_dst, s->original_dst_len);
    e->addrlen = s->original_dst_len;
    e->weight = 1;
    e->healthy = true;
    dp_sockaddr_str(&s->original_dst, e->addr_str, sizeof(e->addr_str));
    return e;
}

static dp_filter_status_t router_on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    (void)config;
    (void)state;
    const dp_route_t *r = s->route;
    if (r == NULL) {
        s->response_flags |= DP_RF_NR;
        dp_stream_local_reply(s, 404, "route not found", NULL);
        return DP_FILTER_REPLIED;
    }
    if (r->action == DP_ROUTE_ACTION_DIRECT) {
        dp_stream_send_reply(s, r->direct_status, r->direct_body, r->direct_body_len, "text/plain", NULL);
        return DP_FILTER_REPLIED;
    }
    if (r->action == DP_ROUTE_ACTION_REDIRECT) {
        char loc[4096];
        int n = dp_route_build_redirect(r, s->scheme, s->authority, s->path, loc, sizeof(loc));
        if (n < 0) {
            dp_stream_local_reply(s, 500, "redirect location too long", NULL);
            return DP_FILTER_REPLIED;
        }
        dp_headers_t extra = {0};
        char *l = dp_arena_strndup(&s->arena, loc, (size_t)n);
        dp_headers_add(&extra, DP_SLICE_LIT("location"), dp_slice(l, (size_t)n));
        dp_stream_send_reply(s, r->redirect_code, NULL, 0, NULL, &extra);
        dp_headers_free(&extra);
        return DP_FILTER_REPLIED;
    }

    /* which cluster */
    const dp_weighted_cluster_t *wc = NULL;
    dp_slice_t cname = DP_SLICE_NULL;
    if (r->cluster) {
        cname = dp_slice_cstr(r->cluster);
    } else if (r->cluster_header) {
        const dp_slice_t *v = dp_headers_get(&s->req_headers, r->cluster_header, strlen(r->cluster_header));
        if (v)
            cname = *v;
    } else if (r->n_weighted) {
        wc = dp_route_pick_weighted(r, dp_worker_random(s->worker));
        if (wc)
            cname = dp_slice_cstr(wc->name);
    }
    const dp_cluster_cfg_t *cl = cname.base && s->snap ? dp_snapshot_find_cluster(s->snap, cname.base, cname.len)
                                                       : NULL;
    if (cl == NULL) {
        s->response_flags |= DP_RF_NC;
        dp_stream_local_reply(s, r->cluster_not_found_code ? r->cluster_not_found_code : 503, "cluster not found",
                              NULL);
        return DP_FILTER_REPLIED;
    }
    s->cluster_name = cl->name;
    dp_stat_inc(cl->rt->rq_total);
    const dp_endpoint_t *ep = cl->type == DP_CLUSTER_ORIGINAL_DST ? original_dst_endpoint(s) : dp_lb_pick(cl, s->worker);
    if (ep == NULL) {
        s->response_flags |= DP_RF_UH;
        dp_stream_local_reply(s, 503, "no healthy upstream", NULL);
        return DP_FILTER_REPLIED;
    }
    s->upstream_host = ep->addr_str;

    /* request headers as the upstream sees them */
    if (wc)
        dp_headers_apply_mutations(&s->req_headers, &wc->req);
    dp_headers_apply_mutations(&s->req_headers, &r->req);
    dp_headers_apply_mutations(&s->req_headers, &s->vhost->req);
    dp_headers_apply_mutations(&s->req_headers, &s->route_config->req);

    up_t *up = dp_xcalloc(1, sizeof(*up));
    up->s = s;
    up->cluster = cl;
    up->ep = ep;
    up->wc = wc;
    up->path = s->path;
    up->authority = s->authority;
    if (r->prefix_rewrite && r->path_kind != DP_PATHMATCH_PATH) {
        size_t skip = DP_MIN(r->path_len, s->path.len);
        size_t nl;
        char *np = dp_arena_printf(&s->arena, &nl, "%s%.*s", r->prefix_rewrite, (int)(s->path.len - skip),
                                   s->path.base + skip);
        up->path = dp_slice(np, nl);
    } else if (r->prefix_rewrite) {
        up->path = dp_slice_cstr(r->prefix_rewrite);
    }
    if (r->host_rewrite_literal)
        up->authority = dp_slice_cstr(r->host_rewrite_literal);
    up->pool = dp_pool_get(s->worker, cl, ep);
    s->up = up;
    start_attempt(up);
    return s->replied ? DP_FILTER_REPLIED : DP_FILTER_STOP;
}

void dp_router_detach(dp_stream_t *s)
{
    up_t *up = s->up;
    if (up == NULL)
        return;
    release(up, false);
}

static int router_create_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    (void)msg;
    (void)errbuf;
    (void)errlen;
    *config = NULL;
    return 0;
}

static void router_destroy_config(void *config)
{
    (void)config;
}

const dp_http_filter_factory_t dp_filter_router = {
    .name = "envoy.filters.http.router",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
    .descriptor = &envoy__extensions__filters__http__router__v3__router__descriptor,
    .create_config = router_create_config,
    .destroy_config = router_destroy_config,
    .state_size = 0,
    .on_request_headers = router_on_request_headers,
};
