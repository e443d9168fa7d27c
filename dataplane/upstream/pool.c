#include "dataplane/upstream/pool.h"

#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http2/client.h"
#include "dataplane/server/worker.h"
#include "dataplane/transport/tls.h"
#include "dataplane/upstream/proxy_protocol.h"
#include "xds/snapshot.h"

/* HTTP/2: streams a connection still connecting is counted on for (the
 * peer's SETTINGS are unknown until it is up; nghttp2 assumes 100). */
#define H2_CONNECTING_STREAMS 100u

enum { L_NONE, L_AVAIL, L_FULL };

/* A connection being established (TCP, then TLS). */
typedef struct pconnect {
    struct pconnect *prev, *next;
    dp_pool_t *p;
    dp_sock_t *sock;
    ev_timer timer;
    dp_tls_ctx_t *tls; /* ref held for the handshake */
} pconnect_t;

struct dp_pool {
    dp_pool_t *hnext;
    dp_worker_t *w;
    dp_cluster_rt_t *rt;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    dp_upstream_proto_t proto;
    dp_pool_src_t *src; /* one client's pool (original_src, PROXY header), NULL shared */
    dp_upconn_t *avail, *full; /* open connections that take streams: with a free slot / without */
    pconnect_t *connecting;
    uint32_t n_connecting, n_conns, n_active, n_waiting;
    dp_pool_waiter_t *wait_head, *wait_tail;
    /* settings, refreshed from the cluster on every lookup */
    uint64_t connect_timeout_ms, idle_timeout_ms;
    uint32_t max_pending, max_connections, max_rpc;
    dp_h2_client_opts_t h2;
    dp_tls_ctx_t *tls; /* ref held */
    bool tls_waiting;  /* TLS configured, its SDS secret not arrived: never connect in plaintext */
    char *sni;
    bool retired; /* its cluster or endpoint left the config */
    bool closing; /* the table is being freed: no new connection */
    dp_stat_t *cx_http1_total, *cx_http2_total, *cx_idle_timeout, *cx_max_requests;
};

struct dp_pool_table {
    dp_worker_t *w;
    dp_pool_t **buckets;
    size_t n_buckets, n;
};

const char *dp_upstream_reset_str(dp_upstream_reset_t r)
{
    switch (r) {
    case DP_UPSTREAM_RESET_REMOTE:
        return "remote reset";
    case DP_UPSTREAM_RESET_REFUSED:
        return "remote refused stream reset";
    case DP_UPSTREAM_RESET_PROTOCOL:
        return "protocol error";
    case DP_UPSTREAM_RESET_CONNECTION:
    default:
        return "connection termination";
    }
}

dp_upstream_proto_t dp_pool_proto_for(const dp_cluster_cfg_t *c, int downstream_http_version)
{
    if (c->proto == DP_UPSTREAM_DOWNSTREAM)
        return downstream_http_version == 20 ? DP_UPSTREAM_HTTP2 : DP_UPSTREAM_HTTP1;
    return c->proto == DP_UPSTREAM_HTTP2 ? DP_UPSTREAM_HTTP2 : DP_UPSTREAM_HTTP1;
}

static uint64_t key_hash(const dp_cluster_rt_t *rt, const struct sockaddr_storage *a, socklen_t len,
                         dp_upstream_proto_t proto, const dp_pool_src_t *src)
{
    uint64_t h = ((uint64_t)(uintptr_t)rt + (uint64_t)proto) * 0x9E3779B97F4A7C15ull;
    const unsigned char *p = (const unsigned char *)a;
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    p = (const unsigned char *)src;
    for (size_t i = 0; src && i < sizeof(*src); i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static bool same_src(const dp_pool_src_t *a, const dp_pool_src_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return memcmp(a, b, sizeof(*a)) == 0;
}

dp_pool_table_t *dp_pool_table_new(dp_worker_t *w)
{
    dp_pool_table_t *t = dp_xcalloc(1, sizeof(*t));
    t->w = w;
    t->n_buckets = 64;
    t->buckets = dp_xcalloc(t->n_buckets, sizeof(*t->buckets));
    return t;
}

static void connect_abort(pconnect_t *pc);

/* Closes what the pool holds itself: connects in flight and connections
 * without a stream. */
static void close_idle(dp_pool_t *p)
{
    while (p->connecting)
        connect_abort(p->connecting);
    for (int round = 0; round < 2; round++) {
        dp_upconn_t *next;
        for (dp_upconn_t *c = round == 0 ? p->avail : p->full; c; c = next) {
            next = c->pool_next;
            if (c->n_streams == 0)
                c->ops->close(c); /* unlinks it (on_event CLOSED) */
        }
    }
}

static void pool_free(dp_pool_t *p)
{
    dp_tls_ctx_unref(p->tls);
    free(p->sni);
    free(p->src);
    free(p);
}

void dp_pool_table_free(dp_pool_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_buckets; i++) {
        dp_pool_t *p = t->buckets[i];
        while (p) {
            dp_pool_t *n = p->hnext;
            p->closing = true;
            close_idle(p);
            /* connections still carrying a stream belong to their requests;
             * they must not report to a freed pool */
            for (int round = 0; round < 2; round++)
                for (dp_upconn_t *c = round == 0 ? p->avail : p->full; c; c = c->pool_next)
                    c->on_event = NULL;
            pool_free(p);
            p = n;
        }
    }
    free(t->buckets);
    free(t);
}

static void settings_from(dp_pool_t *p, const dp_cluster_cfg_t *c)
{
    p->connect_timeout_ms = c->connect_timeout_ms;
    p->idle_timeout_ms = c->idle_timeout_ms;
    p->max_pending = c->max_pending_requests;
    p->max_connections = c->max_connections;
    p->max_rpc = c->max_requests_per_connection;
    p->h2.h2 = c->h2;
    p->h2.window_limit = c->per_connection_buffer_limit_bytes;
    p->h2.tls = c->tls != NULL;
    p->tls_waiting = c->tls == NULL && c->n_sds_names > 0;
    if (p->tls != c->tls) {
        dp_tls_ctx_unref(p->tls);
        p->tls = c->tls ? dp_tls_ctx_ref(c->tls) : NULL;
    }
    if ((p->sni == NULL) != (c->tls_sni == NULL) || (p->sni && strcmp(p->sni, c->tls_sni) != 0)) {
        free(p->sni);
        p->sni = c->tls_sni ? dp_xstrdup(c->tls_sni) : NULL;
    }
}

static dp_pool_t *lookup(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e,
                         dp_upstream_proto_t proto, const dp_pool_src_t *src, bool create)
{
    dp_pool_table_t *t = w->pools;
    uint64_t h = key_hash(c->rt, &e->addr, e->addrlen, proto, src);
    dp_pool_t **b = &t->buckets[h & (t->n_buckets - 1)];
    for (dp_pool_t *p = *b; p; p = p->hnext)
        if (p->rt == c->rt && p->proto == proto && p->addrlen == e->addrlen &&
            memcmp(&p->addr, &e->addr, e->addrlen) == 0 && same_src(p->src, src)) {
            if (create)
                settings_from(p, c); /* follow config updates */
            return p;
        }
    if (!create)
        return NULL;
    if (t->n + 1 > t->n_buckets) {
        size_t nb = t->n_buckets * 2;
        dp_pool_t **nbk = dp_xcalloc(nb, sizeof(*nbk));
        for (size_t i = 0; i < t->n_buckets; i++) {
            dp_pool_t *p = t->buckets[i];
            while (p) {
                dp_pool_t *n = p->hnext;
                uint64_t hh = key_hash(p->rt, &p->addr, p->addrlen, p->proto, p->src);
                p->hnext = nbk[hh & (nb - 1)];
                nbk[hh & (nb - 1)] = p;
                p = n;
            }
        }
        free(t->buckets);
        t->buckets = nbk;
        t->n_buckets = nb;
        b = &t->buckets[h & (t->n_buckets - 1)];
    }
    dp_pool_t *p = dp_xcalloc(1, sizeof(*p));
    p->w = w;
    p->rt = c->rt;
    memcpy(&p->addr, &e->addr, e->addrlen);
    p->addrlen = e->addrlen;
    p->proto = proto;
    if (src) {
        p->src = dp_xmalloc(sizeof(*p->src));
        memcpy(p->src, src, sizeof(*src));
    }
    settings_from(p, c);
    p->cx_http1_total = dp_stats_counterf("cluster.%s.upstream_cx_http1_total", c->rt->name);
    p->cx_http2_total = dp_stats_counterf("cluster.%s.upstream_cx_http2_total", c->rt->name);
    p->cx_idle_timeout = dp_stats_counterf("cluster.%s.upstream_cx_idle_timeout", c->rt->name);
    p->cx_max_requests = dp_stats_counterf("cluster.%s.upstream_cx_max_requests", c->rt->name);
    p->hnext = *b;
    *b = p;
    t->n++;
    return p;
}

dp_pool_t *dp_pool_for_src(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e,
                           dp_upstream_proto_t proto, const dp_pool_src_t *src)
{
    dp_pool_t *p = lookup(w, c, e, proto == DP_UPSTREAM_HTTP2 ? DP_UPSTREAM_HTTP2 : DP_UPSTREAM_HTTP1, src, true);
    p->retired = false; /* back in the config */
    return p;
}

dp_pool_t *dp_pool_for(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e,
                       dp_upstream_proto_t proto)
{
    return dp_pool_for_src(w, c, e, proto, NULL);
}

dp_pool_t *dp_pool_get(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e)
{
    return dp_pool_for(w, c, e, DP_UPSTREAM_HTTP1);
}

static bool in_config(const dp_pool_t *p, const dp_snapshot_t *snap)
{
    const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(snap, p->rt->name, strlen(p->rt->name));
    if (c == NULL)
        return false;
    /* ORIGINAL_DST: any address a filter picks belongs to the cluster */
    if (c->type == DP_CLUSTER_ORIGINAL_DST)
        return true;
    for (size_t i = 0; i < c->n_endpoints; i++)
        if (c->endpoints[i].addrlen == p->addrlen && memcmp(&c->endpoints[i].addr, &p->addr, p->addrlen) == 0)
            return true;
    return false;
}

static bool pool_empty(const dp_pool_t *p)
{
    return p->n_conns == 0 && p->n_active == 0 && p->n_connecting == 0 && p->wait_head == NULL;
}

/* A one-client pool whose last connection closed: out of the table now,
 * freed after this loop iteration (the closing connection's stack may
 * still read it). No request holds it: none is active. */
static void pool_forget(dp_pool_t *p)
{
    dp_pool_table_t *t = p->w->pools;
    uint64_t h = key_hash(p->rt, &p->addr, p->addrlen, p->proto, p->src);
    for (dp_pool_t **pp = &t->buckets[h & (t->n_buckets - 1)]; *pp; pp = &(*pp)->hnext)
        if (*pp == p) {
            *pp = p->hnext;
            t->n--;
            break;
        }
    dp_tls_ctx_unref(p->tls);
    p->tls = NULL;
    free(p->sni);
    p->sni = NULL;
    free(p->src);
    p->src = NULL;
    dp_loop_defer_free(&p->w->loop, p);
}

void dp_pool_table_prune(dp_pool_table_t *t, const dp_snapshot_t *snap)
{
    for (size_t i = 0; i < t->n_buckets; i++) {
        dp_pool_t **pp = &t->buckets[i];
        while (*pp) {
            dp_pool_t *p = *pp;
            if (snap == NULL || in_config(p, snap)) {
                pp = &p->hnext;
                continue;
            }
            /* drain: idle connections close now, busy ones when their last stream ends */
            p->retired = true;
            if (p->wait_head == NULL)
                close_idle(p);
            if (pool_empty(p)) {
                *pp = p->hnext;
                t->n--;
                pool_free(p);
                continue;
            }
            pp = &p->hnext;
        }
    }
}

uint32_t dp_pool_active(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e)
{
    dp_pool_t *a = lookup(w, c, e, DP_UPSTREAM_HTTP1, NULL, false), *b = lookup(w, c, e, DP_UPSTREAM_HTTP2, NULL, false);
    return (a ? a->n_active : 0) + (b ? b->n_active : 0);
}

uint32_t dp_pool_connections(const dp_pool_t *p)
{
    return p->n_conns + p->n_connecting;
}

/* --- connection accounting and lists ------------------------------------------ */

static void cx_opened(dp_pool_t *p)
{
    atomic_fetch_add(&p->rt->cx_active, 1);
    dp_stat_inc(p->rt->cx_total);
    dp_stat_inc(p->rt->cx_active_g);
}

static void cx_closed(dp_pool_t *p)
{
    atomic_fetch_sub(&p->rt->cx_active, 1);
    dp_stat_dec(p->rt->cx_active_g);
    dp_stat_inc(p->rt->cx_destroy);
}

static void list_del(dp_pool_t *p, dp_upconn_t *c)
{
    if (c->pool_list == L_NONE)
        return;
    dp_upconn_t **head = c->pool_list == L_AVAIL ? &p->avail : &p->full;
    if (c->pool_prev)
        c->pool_prev->pool_next = c->pool_next;
    else
        *head = c->pool_next;
    if (c->pool_next)
        c->pool_next->pool_prev = c->pool_prev;
    c->pool_prev = c->pool_next = NULL;
    c->pool_list = L_NONE;
}

static void list_add(dp_pool_t *p, dp_upconn_t *c, int which)
{
    /* at the front: the most recently used connection is reused first
     * (warm, and the others can reach their idle timeout) */
    dp_upconn_t **head = which == L_AVAIL ? &p->avail : &p->full;
    c->pool_prev = NULL;
    c->pool_next = *head;
    if (*head)
        (*head)->pool_prev = c;
    *head = c;
    c->pool_list = which;
}

static bool has_slot(const dp_pool_t *p, const dp_upconn_t *c)
{
    return !c->closed && !c->draining && c->n_streams < c->ops->max_streams(c) &&
           (p->max_rpc == 0 || c->n_assigned < p->max_rpc);
}

/* Puts the connection in the list its state calls for. */
static void relist(dp_pool_t *p, dp_upconn_t *c)
{
    int want = c->closed || c->draining ? L_NONE : has_slot(p, c) ? L_AVAIL : L_FULL;
    if (c->pool_list == want)
        return;
    list_del(p, c);
    if (want != L_NONE)
        list_add(p, c, want);
}

static void idle_timer_stop(dp_pool_t *p, dp_upconn_t *c)
{
    ev_timer_stop(p->w->loop.ev, &c->idle_timer);
}

/* Takes one stream slot of c for a request. */
static void reserve(dp_pool_t *p, dp_upconn_t *c)
{
    c->n_streams++;
    c->n_assigned++;
    idle_timer_stop(p, c);
    if (p->max_rpc > 0 && c->n_assigned >= p->max_rpc) {
        /* max_requests_per_connection: no new stream; closes after the last */
        c->draining = true;
        dp_stat_inc(p->cx_max_requests);
    }
    relist(p, c);
}

/* A connection without streams: closes if it may take none, else waits
 * (up to idle_timeout) for the next request. */
static void idle_check(dp_pool_t *p, dp_upconn_t *c)
{
    if (c->closed || c->n_streams > 0)
        return;
    if (c->draining || p->retired || p->closing) {
        c->ops->close(c);
        return;
    }
    if (p->idle_timeout_ms > 0 && !ev_is_active(&c->idle_timer)) {
        ev_timer_set(&c->idle_timer, (double)p->idle_timeout_ms / 1000.0, 0);
        ev_timer_start(p->w->loop.ev, &c->idle_timer);
    }
}

static void on_idle_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_upconn_t *c = t->data;
    dp_pool_t *p = c->pool;
    if (c->closed || c->n_streams > 0)
        return;
    dp_stat_inc(p->cx_idle_timeout);
    c->ops->close(c);
}

/* --- waiters --- */

static void wait_push(dp_pool_t *p, dp_pool_waiter_t *w)
{
    w->pool = p;
    w->next = NULL;
    w->prev = p->wait_tail;
    if (p->wait_tail)
        p->wait_tail->next = w;
    else
        p->wait_head = w;
    p->wait_tail = w;
    p->n_waiting++;
    atomic_fetch_add(&p->rt->rq_pending, 1);
    dp_stat_inc(p->rt->rq_pending_active_g);
}

static void wait_unlink(dp_pool_waiter_t *w)
{
    dp_pool_t *p = w->pool;
    if (w->prev)
        w->prev->next = w->next;
    else
        p->wait_head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        p->wait_tail = w->prev;
    w->next = w->prev = NULL;
    w->pool = NULL;
    p->n_waiting--;
    atomic_fetch_sub(&p->rt->rq_pending, 1);
    dp_stat_dec(p->rt->rq_pending_active_g);
}

static dp_pool_waiter_t *wait_pop(dp_pool_t *p)
{
    dp_pool_waiter_t *w = p->wait_head;
    if (w)
        wait_unlink(w);
    return w;
}

void dp_pool_cancel(dp_pool_waiter_t *w)
{
    if (w->pool)
        wait_unlink(w);
}

static void waiter_call(dp_pool_waiter_t *w, dp_upconn_t *c, int err, const char *detail)
{
    if (w->on_conn) {
        w->on_conn(w, c, err, detail);
        return;
    }
    if (c && c->proto != DP_UPSTREAM_HTTP1) {
        /* the raw HTTP/1.1 interface cannot use an HTTP/2 connection (ALPN chose h2) */
        c->n_streams--;
        c->n_assigned--;
        relist(c->pool, c);
        w->ready(w, NULL, DP_ECLOSED, "protocol mismatch (ALPN negotiated h2)");
        return;
    }
    w->ready(w, (dp_h1_client_t *)c, err, detail);
}

/* Hands c's free slots to waiting requests, oldest first. */
static void serve(dp_pool_t *p, dp_upconn_t *c)
{
    while (p->wait_head && has_slot(p, c)) {
        dp_pool_waiter_t *w = wait_pop(p);
        reserve(p, c);
        waiter_call(w, c, 0, NULL);
    }
    idle_check(p, c);
}

/* --- connecting --- */

static bool connect_start(dp_pool_t *p);

/* Waiting requests a connect in flight will take care of. */
static uint32_t coverage(const dp_pool_t *p)
{
    if (p->proto != DP_UPSTREAM_HTTP2)
        return p->n_connecting;
    uint32_t per = p->h2.h2.max_concurrent_streams
                       ? DP_MIN(p->h2.h2.max_concurrent_streams, H2_CONNECTING_STREAMS)
                       : H2_CONNECTING_STREAMS;
    return p->n_connecting * per;
}

static void maybe_connect(dp_pool_t *p)
{
    while (!p->closing && p->n_waiting > coverage(p) && atomic_load(&p->rt->cx_active) < p->max_connections)
        if (!connect_start(p))
            return;
}

static void on_conn_event(dp_upconn_t *c, dp_upconn_event_t ev)
{
    dp_pool_t *p = c->pool;
    switch (ev) {
    case DP_UPCONN_EV_CLOSED:
        idle_timer_stop(p, c);
        list_del(p, c);
        p->n_conns--;
        cx_closed(p);
        c->on_event = NULL;
        maybe_connect(p);
        if (p->src && !p->closing && pool_empty(p)) /* closing: the table frees it */
            pool_forget(p);
        return;
    case DP_UPCONN_EV_GOAWAY:
        c->draining = true;
        relist(p, c);
        idle_check(p, c);
        maybe_connect(p);
        return;
    case DP_UPCONN_EV_CAPACITY:
        relist(p, c);
        serve(p, c);
        maybe_connect(p);
        return;
    }
}

static void connect_unlink(pconnect_t *pc)
{
    dp_pool_t *p = pc->p;
    ev_timer_stop(p->w->loop.ev, &pc->timer);
    if (pc->prev)
        pc->prev->next = pc->next;
    else
        p->connecting = pc->next;
    if (pc->next)
        pc->next->prev = pc->prev;
    p->n_connecting--;
    dp_tls_ctx_unref(pc->tls);
}

static void connect_abort(pconnect_t *pc)
{
    dp_pool_t *p = pc->p;
    connect_unlink(pc);
    dp_sock_close(pc->sock);
    cx_closed(p);
    free(pc);
}

static void connect_failed(pconnect_t *pc, int err, const char *detail)
{
    dp_pool_t *p = pc->p;
    dp_stat_inc(p->rt->cx_connect_fail);
    connect_abort(pc);
    /* HTTP/1.1: the request this connect was for; HTTP/2: those no other
     * connect in flight can take */
    do {
        dp_pool_waiter_t *w = wait_pop(p);
        if (w == NULL)
            break;
        waiter_call(w, NULL, err, detail);
    } while (p->proto == DP_UPSTREAM_HTTP2 && p->n_waiting > coverage(p));
    /* a one-client pool that never got a connection (the container is
     * down) must not stay behind */
    if (p->src && !p->closing && pool_empty(p))
        pool_forget(p);
}

static void connect_done(pconnect_t *pc)
{
    dp_pool_t *p = pc->p;
    dp_sock_t *sock = pc->sock;
    bool tls = pc->tls != NULL;
    connect_unlink(pc);
    free(pc);
    /* the ALPN result wins over the pool's protocol */
    dp_upstream_proto_t proto = p->proto;
    if (tls) {
        const char *alpn = dp_tls_alpn(sock);
        if (alpn && strcmp(alpn, "h2") == 0)
            proto = DP_UPSTREAM_HTTP2;
        else if (alpn && strcmp(alpn, "http/1.1") == 0)
            proto = DP_UPSTREAM_HTTP1;
    }
    dp_upconn_t *c;
    if (proto == DP_UPSTREAM_HTTP2) {
        c = dp_h2_client_attach(sock, &p->h2);
        dp_stat_inc(p->cx_http2_total);
    } else {
        c = &dp_h1_client_attach(sock)->super;
        dp_stat_inc(p->cx_http1_total);
    }
    c->pool = p;
    c->owner = p;
    c->on_event = on_conn_event;
    ev_init(&c->idle_timer, on_idle_timeout);
    c->idle_timer.data = c;
    p->n_conns++;
    relist(p, c);
    serve(p, c);
    maybe_connect(p);
}

static void on_connect_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    pconnect_t *pc = t->data;
    dp_stat_inc(pc->p->rt->cx_connect_timeout);
    connect_failed(pc, DP_ETIMEDOUT, "connection timeout");
}

static void on_tls_done(dp_sock_t *sock, int err, void *chosen)
{
    (void)chosen;
    pconnect_t *pc = sock->data;
    if (err != 0) {
        connect_failed(pc, DP_ECLOSED, "connection failure, transport failure reason: TLS error");
        return;
    }
    connect_done(pc);
}

static void on_tcp_connect(dp_sock_t *sock, int err)
{
    pconnect_t *pc = sock->data;
    if (err != 0) {
        connect_failed(pc, DP_ECLOSED, "connection failure");
        return;
    }
    if (pc->p->src && pc->p->src->pp_version) {
        /* the PROXY header goes first, before TLS or HTTP: on a socket
         * that just connected the whole of it fits the send buffer */
        uint8_t hdr[DP_PROXY_PROTOCOL_MAX];
        const dp_pool_src_t *src = pc->p->src;
        size_t n = dp_proxy_protocol_header(src->pp_version, (const struct sockaddr *)&src->pp_src,
                                            (const struct sockaddr *)&src->pp_dst, hdr);
        if (send(sock->fd, hdr, n, MSG_NOSIGNAL) != (ssize_t)n) {
            connect_failed(pc, DP_ECLOSED, "connection failure, cannot send the PROXY protocol header");
            return;
        }
    }
    if (pc->tls) {
        if (dp_tls_connect(sock, pc->tls, pc->p->sni, on_tls_done) != 0)
            connect_failed(pc, DP_ECLOSED, "connection failure, transport failure reason: TLS error");
        return;
    }
    connect_done(pc);
}

/* Returns false when no socket could be made (the oldest waiter failed). */
static bool connect_start(dp_pool_t *p)
{
    dp_sock_source_t so = {0};
    if (p->src && p->src->bindlen) {
        so.bind = (const struct sockaddr *)&p->src->bind;
        so.bindlen = p->src->bindlen;
        so.transparent = true;
        so.mark = p->src->mark;
    }
    dp_sock_t *sock = p->tls_waiting ? NULL
                                     : dp_sock_connect_from(&p->w->loop, (const struct sockaddr *)&p->addr,
                                                            p->addrlen, &so, on_tcp_connect);
    if (sock == NULL) {
        dp_stat_inc(p->rt->cx_connect_fail);
        dp_pool_waiter_t *w = wait_pop(p);
        if (w)
            waiter_call(w, NULL, DP_ECLOSED,
                        p->tls_waiting ? "TLS context not ready"
                        : so.bind      ? "cannot bind the client's address (original_src)"
                                       : "cannot create upstream socket");
        return false;
    }
    pconnect_t *pc = dp_xcalloc(1, sizeof(*pc));
    pc->p = p;
    pc->sock = sock;
    pc->tls = p->tls ? dp_tls_ctx_ref(p->tls) : NULL;
    sock->data = pc;
    pc->next = p->connecting;
    if (p->connecting)
        p->connecting->prev = pc;
    p->connecting = pc;
    p->n_connecting++;
    cx_opened(p);
    ev_init(&pc->timer, on_connect_timeout);
    pc->timer.data = pc;
    if (p->connect_timeout_ms > 0) {
        ev_timer_set(&pc->timer, (double)p->connect_timeout_ms / 1000.0, 0);
        ev_timer_start(p->w->loop.ev, &pc->timer);
    }
    return true;
}

/* --- requests --- */

dp_pool_result_t dp_pool_claim(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                               dp_upconn_t **out)
{
    *out = NULL;
    if (atomic_load(&p->rt->rq_active) >= c->max_requests) {
        dp_stat_inc(p->rt->rq_pending_overflow);
        return DP_POOL_OVERFLOW;
    }
    /* an HTTP/2 peer may have lowered its limit since the connection was listed */
    while (p->avail && !has_slot(p, p->avail))
        relist(p, p->avail);
    if (p->avail) {
        *out = p->avail;
        reserve(p, *out);
    } else {
        bool can_connect = atomic_load(&p->rt->cx_active) < c->max_connections;
        if (!can_connect && atomic_load(&p->rt->rq_pending) >= c->max_pending_requests) {
            dp_stat_inc(p->rt->cx_overflow);
            dp_stat_inc(p->rt->rq_pending_overflow);
            return DP_POOL_OVERFLOW;
        }
        wait_push(p, w);
    }
    p->n_active++;
    atomic_fetch_add(&p->rt->rq_active, 1);
    dp_stat_inc(p->rt->rq_active_g);
    if (*out == NULL)
        maybe_connect(p); /* may fail the waiter at once (no socket): it counts as active already */
    return *out ? DP_POOL_READY : DP_POOL_WAIT;
}

void dp_pool_release(dp_pool_t *p, dp_upconn_t *c, bool reusable)
{
    p->n_active--;
    atomic_fetch_sub(&p->rt->rq_active, 1);
    dp_stat_dec(p->rt->rq_active_g);
    if (c == NULL)
        return;
    c->n_streams--;
    if (c->closed)
        return; /* accounted when it closed */
    if (!reusable && c->proto == DP_UPSTREAM_HTTP1) {
        c->ops->close(c); /* a new connect for waiters follows from on_event */
        return;
    }
    relist(p, c);
    serve(p, c);
}

/* --- HTTP/1.1-only interface --- */

dp_pool_result_t dp_pool_acquire(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                                 dp_h1_client_t **out)
{
    dp_upconn_t *uc = NULL;
    w->on_conn = NULL;
    dp_pool_result_t r = dp_pool_claim(p, c, w, &uc);
    if (r == DP_POOL_READY && uc->proto != DP_UPSTREAM_HTTP1) {
        uc->n_streams--;
        uc->n_assigned--;
        relist(p, uc);
        dp_pool_release(p, NULL, false);
        return DP_POOL_OVERFLOW;
    }
    *out = (dp_h1_client_t *)uc;
    return r;
}

void dp_pool_done(dp_pool_t *p, dp_h1_client_t *c, bool reusable)
{
    dp_pool_release(p, c ? &c->super : NULL, reusable);
}
