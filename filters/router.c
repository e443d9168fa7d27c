#include "filters/router.h"

#include <arpa/inet.h>
#include <netinet/in.h>
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
#include "dataplane/upstream/outcome.h"
#include "dataplane/upstream/pool.h"
#include "dataplane/upstream/upconn.h"
#include "envoy/extensions/filters/http/router/v3/router.pb-c.h"

typedef enum {
    UP_WAIT_CONN, /* queued in the pool */
    UP_STREAMING, /* bound to a connection */
} up_state_t;

struct dp_upstream_req {
    dp_stream_t *s;
    dp_loop_t *loop;
    const dp_cluster_cfg_t *cluster; /* borrowed: the stream holds the snapshot */
    const dp_endpoint_t *ep;
    const dp_weighted_cluster_t *wc;
    dp_pool_t *pool;
    dp_pool_waiter_t waiter;
    dp_upconn_t *conn;        /* bound connection */
    dp_upstream_stream_t *st; /* our stream on it */
    up_state_t state;
    ev_timer timer;
    bool timer_on;
    bool req_end_sent, resp_head_seen, resp_paused;
    bool reused;
    bool upgrade;   /* the request asks for an upgrade (s->upgrade) */
    bool tunnel;    /* the upstream accepted it (101): raw bytes both ways */
    bool resp_done; /* tunnel: the upstream half-closed */
    bool issued;    /* dp_upstream_issued() told for this attempt, done not yet */
    dp_upout_t fail; /* what ends the attempt when no response head came */
    int status;      /* the response head's status, 0 none yet */
    int attempts;
    dp_slice_t path, authority;
};

typedef struct dp_upstream_req up_t;

static void start_attempt(up_t *up);

/* --- helpers ------------------------------------------------------------- */

static dp_loop_t *loop_of(up_t *up)
{
    return up->loop; /* not through s: the stream may be gone when we let go */
}

static void timer_stop(up_t *up)
{
    if (up->timer_on) {
        ev_timer_stop(loop_of(up)->ev, &up->timer);
        up->timer_on = false;
    }
}

/* Gives the stream and its slot back to the pool. reusable: the exchange
 * completed cleanly (an HTTP/1.1 connection may serve another request). */
/* Tells the outcome of the attempt, once. Before the stream can end: the
 * cluster and the endpoint belong to the stream's snapshot (and arena). */
static void attempt_done(up_t *up)
{
    if (!up->issued)
        return;
    up->issued = false;
    if (up->status)
        dp_upstream_done(up->cluster, up->ep, DP_UPOUT_RESPONSE, up->status);
    else
        dp_upstream_done(up->cluster, up->ep, up->fail, 0);
}

static void drop_conn(up_t *up, bool reusable)
{
    attempt_done(up);
    if (up->st) {
        bool clean = dp_upstream_detach(up->st) && reusable;
        up->st = NULL;
        dp_pool_release(up->pool, up->conn, clean);
    } else {
        dp_pool_release(up->pool, NULL, false);
    }
    up->conn = NULL;
}

/* Releases the connection and the upstream state. The stream no longer
 * points at us afterwards. */
static void release(up_t *up, bool reusable)
{
    timer_stop(up);
    if (up->state == UP_WAIT_CONN) {
        dp_pool_cancel(&up->waiter);
        dp_pool_release(up->pool, NULL, false);
    } else {
        drop_conn(up, reusable);
    }
    if (up->s && up->s->up == up)
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

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    up_t *up = t->data;
    up->timer_on = false;
    dp_stat_inc(up->cluster->rt->rq_timeout);
    up->fail = DP_UPOUT_TIMEOUT;
    fail_local(up, 504, DP_RF_UT, "upstream request timeout");
}

/* The whole request went upstream: Envoy's route timeout runs from here to
 * the end of the response (none for upgrades, whose tunnels live as long as
 * their ends want). */
static void request_sent(up_t *up)
{
    up->req_end_sent = true;
    const dp_route_t *r = up->s->route;
    if (r->timeout_ms > 0 && !up->timer_on && !up->upgrade) {
        ev_timer_init(&up->timer, on_timeout, (double)r->timeout_ms / 1000.0, 0);
        up->timer.data = up;
        ev_timer_start(loop_of(up)->ev, &up->timer);
        up->timer_on = true;
    }
}

/* Ends the request: with the downstream's trailers when it sent any. */
static void request_end(up_t *up)
{
    dp_stream_t *s = up->s;
    if (s->req_trailers.n > 0)
        dp_upstream_send_trailers(up->st, &s->req_trailers);
    else
        dp_upstream_send_body(up->st, NULL, 0, true);
    request_sent(up);
}

static void pause_downstream_if_full(up_t *up)
{
    dp_stream_t *s = up->s;
    if (!s->body_paused && dp_upstream_pending(up->st) >= DP_STREAM_HIGH_WATERMARK)
        s->ops->read_body(s, false);
}

/* Tunnel: the downstream ended its side (half-close passed upstream); the
 * exchange is over once both sides ended. */
static void tunnel_req_end(up_t *up)
{
    dp_upstream_send_body(up->st, NULL, 0, true);
    up->req_end_sent = true;
    if (up->resp_done)
        release(up, false);
}

void dp_router_on_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    up_t *up = s->up;
    if (up->req_end_sent)
        return;
    if (up->tunnel) {
        if (len > 0)
            dp_upstream_send_body(up->st, data, len, false);
        if (end_stream) {
            tunnel_req_end(up);
            return;
        }
        pause_downstream_if_full(up);
        return;
    }
    if (len > 0 || end_stream)
        dp_upstream_send_body(up->st, data, len, end_stream);
    if (end_stream)
        request_sent(up);
    else
        pause_downstream_if_full(up);
}

void dp_router_on_trailers(dp_stream_t *s)
{
    up_t *up = s->up;
    if (up->req_end_sent)
        return;
    if (up->tunnel) {
        tunnel_req_end(up);
        return;
    }
    /* HTTP/2 upstreams get them; HTTP/1.1 ones see the end of the body */
    dp_upstream_send_trailers(up->st, &s->req_trailers);
    request_sent(up);
}

bool dp_router_streaming(const dp_stream_t *s)
{
    /* an upgrade's body is the tunnel's: held by the HCM until the 101 */
    return s->up && s->up->state == UP_STREAMING && (!s->up->upgrade || s->up->tunnel);
}

/* --- response from the upstream ------------------------------------------- */

/* The response is complete: the stream lets go of us before the caller
 * sends its end (which may dispose of the stream), and the caller releases
 * us after it (what it sends belongs to the upstream codec until then).
 * Returns whether the request had ended too. */
static bool response_done(up_t *up)
{
    dp_stream_t *s = up->s;
    dp_stat_inc(up->cluster->rt->rq_completed);
    bool req_done = up->req_end_sent;
    s->up = NULL;
    up->s = NULL;
    timer_stop(up);
    return req_done;
}

/* Passes on the body that waited for the tunnel (HTTP/2 extended CONNECT
 * clients may send before the 200). */
static void tunnel_flush_held(up_t *up)
{
    dp_stream_t *s = up->s;
    if (s->body_buf.len > 0) {
        dp_upstream_send_body(up->st, dp_buf_data(&s->body_buf), s->body_buf.len, false);
        dp_buf_free(&s->body_buf);
    }
    if (s->body_buf_end)
        tunnel_req_end(up);
    else if (s->body_paused)
        s->ops->read_body(s, true);
}

static void on_resp_head(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    up->resp_head_seen = true;
    up->status = status;
    s->first_upstream_byte_ns = dp_now_ns();
    if (status >= 100 && status < 600)
        dp_stat_inc(up->cluster->rt->rq_xx[status / 100]);
    dp_headers_t *rh = &s->resp_headers;
    dp_headers_clear(rh);
    for (size_t i = 0; i < h->n; i++) {
        const dp_header_t *x = &h->v[i];
        /* hop-by-hop and framing headers are the codecs' business (a 101's
         * upgrade headers too: the downstream codec restores them) */
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
    if (status == 101 && up->upgrade) {
        up->tunnel = true;
        s->upgraded = true;
        dp_stream_send_head(s, 101, rh, -1, false);
        if (s->up == up)
            tunnel_flush_held(up);
        return;
    }
    if (end_stream) {
        bool req_done = response_done(up);
        attempt_done(up); /* the stream (and its snapshot) may end with the head */
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
    if (end_stream && up->tunnel && !up->req_end_sent) {
        /* the upstream half-closed the tunnel: so does the downstream; the
         * other direction lives on until the client ends it too */
        up->resp_done = true;
        dp_stream_send_body(s, data, len, true);
        return;
    }
    if (end_stream) {
        bool req_done = response_done(up);
        attempt_done(up);
        dp_stream_send_body(s, data, len, true);
        release(up, req_done);
        return;
    }
    dp_stream_send_body(s, data, len, false);
    if (s->up == up && s->ops->pending(s) >= DP_STREAM_HIGH_WATERMARK && !up->resp_paused) {
        up->resp_paused = true;
        dp_upstream_read(up->st, false);
    }
}

static void on_resp_trailers(void *ctx, dp_headers_t *h)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    bool req_done = response_done(up);
    attempt_done(up);
    dp_stream_send_trailers(s, h);
    release(up, req_done);
}

void dp_router_on_writable(dp_stream_t *s)
{
    up_t *up = s->up;
    if (up->resp_paused && up->st && s->ops->pending(s) <= DP_STREAM_LOW_WATERMARK) {
        up->resp_paused = false;
        dp_upstream_read(up->st, true);
    }
}

static void on_conn_drain(void *ctx)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    bool more = up->tunnel ? !up->req_end_sent : !s->req_done;
    if (s->body_paused && more && dp_upstream_pending(up->st) <= DP_STREAM_LOW_WATERMARK)
        s->ops->read_body(s, true);
}

static void on_conn_error(void *ctx, dp_upstream_reset_t reason, bool got_bytes, const char *detail)
{
    up_t *up = ctx;
    dp_stream_t *s = up->s;
    DP_DEBUG("upstream error on cluster %s: %s", up->cluster->name, detail ? detail : "?");
    up->fail = DP_UPOUT_RESET;
    /* a request the server never processed can go again on another
     * stream: a kept-alive HTTP/1.1 connection the server closed as we
     * reused it, or an HTTP/2 stream refused (REFUSED_STREAM, GOAWAY) */
    bool unseen = (reason == DP_UPSTREAM_RESET_REFUSED) ||
                  (reason == DP_UPSTREAM_RESET_CONNECTION && !got_bytes && up->reused &&
                   up->conn->proto == DP_UPSTREAM_HTTP1);
    if (unseen && !up->resp_head_seen && !s->req_has_body && !up->upgrade && up->attempts < 2) {
        dp_stat_inc(up->cluster->rt->rq_retry);
        drop_conn(up, false);
        start_attempt(up);
        return;
    }
    if (up->resp_head_seen) {
        s->response_flags |= reason == DP_UPSTREAM_RESET_REMOTE ? DP_RF_UR : DP_RF_UC;
        release(up, false);
        s->ops->reset(s);
        return;
    }
    if (reason == DP_UPSTREAM_RESET_REMOTE || reason == DP_UPSTREAM_RESET_REFUSED) {
        fail_local(up, 503, DP_RF_UR,
                   reason == DP_UPSTREAM_RESET_REMOTE
                       ? "upstream connect error or disconnect/reset before headers. reset reason: remote reset"
                       : "upstream connect error or disconnect/reset before headers. reset reason: remote refused "
                         "stream reset");
        return;
    }
    bool proto_err = got_bytes || reason == DP_UPSTREAM_RESET_PROTOCOL;
    if (proto_err)
        dp_stat_inc(up->cluster->rt->cx_protocol_error);
    fail_local(up, 502, proto_err ? DP_RF_UPE : DP_RF_UC,
               proto_err ? "upstream connect error or disconnect/reset before headers. reset reason: protocol error"
                         : "upstream connect error or disconnect/reset before headers. reset reason: connection "
                           "termination");
}

static const dp_upstream_cbs_t up_cbs = {
    .on_head = on_resp_head,
    .on_body = on_resp_body,
    .on_trailers = on_resp_trailers,
    .on_error = on_conn_error,
    .on_drain = on_conn_drain,
};

/* --- connecting ------------------------------------------------------------ */

static void bind_conn(up_t *up, dp_upconn_t *c)
{
    dp_stream_t *s = up->s;
    up->conn = c;
    up->state = UP_STREAMING;
    up->reused = c->n_assigned > 1;
    up->st = c->ops->bind(c, &up_cbs, up);
    up->issued = true;
    up->status = 0;
    up->fail = DP_UPOUT_CANCELLED;
    dp_upstream_issued(up->cluster, up->ep);
    s->upstream_start_ns = dp_now_ns();
    dp_upstream_head_t head = {
        .method = s->method,
        .authority = up->authority,
        .path = up->path,
        .headers = &s->req_headers,
        .content_length = s->req_content_length,
        .end_stream = !s->req_has_body,
    };
    if (up->upgrade) {
        /* the tunnel's bytes come after the 101, whatever the downstream framing */
        head.method = DP_SLICE_LIT("GET");
        head.upgrade = s->upgrade;
        head.content_length = 0;
        head.end_stream = false;
        dp_upstream_send_head(up->st, &head);
        return;
    }
    dp_upstream_send_head(up->st, &head);
    if (head.end_stream) {
        request_sent(up);
        return;
    }
    /* body that arrived while we were connecting */
    if (s->body_buf.len > 0) {
        dp_upstream_send_body(up->st, dp_buf_data(&s->body_buf), s->body_buf.len, false);
        dp_buf_free(&s->body_buf);
    }
    if (s->req_done || s->body_buf_end)
        request_end(up);
    else if (s->body_paused)
        s->ops->read_body(s, true);
}

static void on_pool_conn(dp_pool_waiter_t *w, dp_upconn_t *c, int err, const char *detail)
{
    up_t *up = (up_t *)((char *)w - offsetof(up_t, waiter));
    (void)detail;
    if (c == NULL) {
        /* keep the request counted until release() */
        up->state = UP_STREAMING;
        up->conn = NULL;
        up->st = NULL;
        up->s->response_flags |= DP_RF_UF;
        timer_stop(up);
        dp_upstream_done(up->cluster, up->ep, DP_UPOUT_CONNECT_FAIL, 0);
        dp_stream_t *s = up->s;
        dp_pool_release(up->pool, NULL, false);
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
    up->waiter.on_conn = on_pool_conn;
    dp_upconn_t *c = NULL;
    switch (dp_pool_claim(up->pool, up->cluster, &up->waiter, &c)) {
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

/* --- where the upstream connection comes from ------------------------------ */

/* The client's address for original_src: the connection's peer (listener
 * filter) or the connection manager's trusted remote address (HTTP
 * filter). Port 0 unless the listener filter says bind_port. */
static bool client_addr(const dp_stream_t *s, struct sockaddr_storage *out, socklen_t *len)
{
    memset(out, 0, sizeof(*out));
    if (s->original_src == DP_ORIGSRC_REMOTE_ADDR) {
        struct sockaddr_in *a4 = (struct sockaddr_in *)out;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)out;
        if (inet_pton(AF_INET, s->remote_addr, &a4->sin_addr) == 1) {
            a4->sin_family = AF_INET;
            *len = sizeof(*a4);
            return true;
        }
        if (inet_pton(AF_INET6, s->remote_addr, &a6->sin6_addr) == 1) {
            a6->sin6_family = AF_INET6;
            *len = sizeof(*a6);
            return true;
        }
        return false;
    }
    if (s->peer == NULL || (s->peer->sa_family != AF_INET && s->peer->sa_family != AF_INET6))
        return false;
    *len = s->peer->sa_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
    memcpy(out, s->peer, *len);
    if (!s->listener->original_src_bind_port) {
        if (out->ss_family == AF_INET)
            ((struct sockaddr_in *)out)->sin_port = 0;
        else
            ((struct sockaddr_in6 *)out)->sin6_port = 0;
    }
    return true;
}

/* original_src where transparent sockets cannot be had and the listener's
 * fallback forwards the client address: X-Forwarded-For gets it appended
 * (unless the connection manager did so already with use_remote_address)
 * and X-Real-IP is set to it. */
static void forward_client_address(dp_stream_t *s)
{
    char peer[48];
    const char *addr = s->remote_addr;
    uint16_t port;

    if (s->original_src == DP_ORIGSRC_PEER && s->peer) {
        dp_sockaddr_split(s->peer, peer, sizeof(peer), &port);
        addr = peer;
    }
    if (!s->hcm->use_remote_address || s->original_src == DP_ORIGSRC_REMOTE_ADDR)
        dp_stream_xff_append(s, addr);
    /* headers outlive this frame: the value goes into the stream's arena */
    size_t al = strlen(addr);
    dp_headers_set(&s->req_headers, DP_SLICE_LIT("x-real-ip"), dp_slice(dp_arena_strndup(&s->arena, addr, al), al));
}

/* Fills *src for the request's upstream connection (original_src, PROXY
 * header); false: the request cannot go (reply sent). *use: src applies. */
static bool upstream_source(dp_stream_t *s, const dp_cluster_cfg_t *cl, const dp_endpoint_t *ep, dp_pool_src_t *src,
                            bool *use)
{
    memset(src, 0, sizeof(*src));
    *use = false;
    if (s->original_src == DP_ORIGSRC_NONE && s->listener->original_src)
        s->original_src = DP_ORIGSRC_PEER;
    if (s->original_src != DP_ORIGSRC_NONE) {
        if (s->listener->forward_client_address) {
            forward_client_address(s);
        } else if (!client_addr(s, &src->bind, &src->bindlen)) {
            s->response_flags |= DP_RF_UF;
            dp_stream_local_reply(s, 503, "upstream connect error or disconnect/reset before headers. reset reason: "
                                          "original_src: no client IP address", NULL);
            return false;
        } else if (src->bind.ss_family != ep->addr.ss_family) {
            /* a transparent socket speaks one family: an IPv4 client cannot
             * reach an IPv6-only container from its own address */
            s->response_flags |= DP_RF_UF;
            dp_stream_local_reply(s, 503,
                                  src->bind.ss_family == AF_INET
                                      ? "upstream connect error or disconnect/reset before headers. reset reason: "
                                        "original_src: the client is IPv4, the upstream IPv6"
                                      : "upstream connect error or disconnect/reset before headers. reset reason: "
                                        "original_src: the client is IPv6, the upstream IPv4",
                                  NULL);
            return false;
        } else {
            src->mark = s->original_src == DP_ORIGSRC_PEER ? s->listener->original_src_mark : s->original_src_mark;
            *use = true;
        }
    }
    if (cl->proxy_protocol && s->peer && s->local) {
        src->pp_version = cl->proxy_protocol;
        memcpy(&src->pp_src, s->peer, s->peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                      : sizeof(struct sockaddr_in));
        memcpy(&src->pp_dst, s->local, s->local->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                                        : sizeof(struct sockaddr_in));
        *use = true;
    }
    return true;
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
    if (cl->tls == NULL && cl->n_sds_names > 0) {
        /* its TLS context waits for an SDS secret (after the initial fetch
         * timeout): never fall back to plaintext */
        s->response_flags |= DP_RF_UF;
        dp_stream_local_reply(s, 503, "upstream connect error or disconnect/reset before headers. reset reason: "
                                      "TLS context not ready", NULL);
        return DP_FILTER_REPLIED;
    }

    dp_pool_src_t src;
    bool use_src;
    if (!upstream_source(s, cl, ep, &src, &use_src))
        return DP_FILTER_REPLIED;

    /* request headers as the upstream sees them */
    if (wc)
        dp_headers_apply_mutations(&s->req_headers, &wc->req);
    dp_headers_apply_mutations(&s->req_headers, &r->req);
    dp_headers_apply_mutations(&s->req_headers, &s->vhost->req);
    dp_headers_apply_mutations(&s->req_headers, &s->route_config->req);

    up_t *up = dp_xcalloc(1, sizeof(*up));
    up->s = s;
    up->loop = &s->worker->loop;
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
    /* upgrades go over HTTP/1.1 (no extended CONNECT towards upstreams) */
    up->upgrade = s->upgrade.len > 0;
    dp_upstream_proto_t proto = up->upgrade ? DP_UPSTREAM_HTTP1 : dp_pool_proto_for(cl, s->http_version);
    up->pool = dp_pool_for_src(s->worker, cl, ep, proto, use_src ? &src : NULL);
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
