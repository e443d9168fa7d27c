#include "dataplane/upstream/pool.h"

#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/worker.h"
#include "xds/snapshot.h"

struct dp_pool {
    dp_pool_t *hnext;
    dp_worker_t *w;
    dp_cluster_rt_t *rt;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    dp_h1_client_t *idle;
    uint32_t n_active;     /* requests on this worker towards this endpoint */
    uint32_t n_connecting; /* connects in flight */
    dp_pool_waiter_t *wait_head, *wait_tail;
    uint64_t connect_timeout_ms;
    uint32_t max_pending, max_connections;
    bool retired; /* its cluster or endpoint left the config */
};

struct dp_pool_table {
    dp_worker_t *w;
    dp_pool_t **buckets;
    size_t n_buckets, n;
};

static uint64_t key_hash(const dp_cluster_rt_t *rt, const struct sockaddr_storage *a, socklen_t len)
{
    uint64_t h = (uint64_t)(uintptr_t)rt * 0x9E3779B97F4A7C15ull;
    const unsigned char *p = (const unsigned char *)a;
    for (socklen_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

dp_pool_table_t *dp_pool_table_new(dp_worker_t *w)
{
    dp_pool_table_t *t = dp_xcalloc(1, sizeof(*t));
    t->w = w;
    t->n_buckets = 64;
    t->buckets = dp_xcalloc(t->n_buckets, sizeof(*t->buckets));
    return t;
}

static void close_idle(dp_pool_t *p, dp_h1_client_t *c);

void dp_pool_table_free(dp_pool_table_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n_buckets; i++) {
        dp_pool_t *p = t->buckets[i];
        while (p) {
            dp_pool_t *n = p->hnext;
            while (p->idle)
                close_idle(p, p->idle);
            free(p);
            p = n;
        }
    }
    free(t->buckets);
    free(t);
}

static dp_pool_t *lookup(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e, bool create)
{
    dp_pool_table_t *t = w->pools;
    uint64_t h = key_hash(c->rt, &e->addr, e->addrlen);
    dp_pool_t **b = &t->buckets[h & (t->n_buckets - 1)];
    for (dp_pool_t *p = *b; p; p = p->hnext)
        if (p->rt == c->rt && p->addrlen == e->addrlen && memcmp(&p->addr, &e->addr, e->addrlen) == 0) {
            p->connect_timeout_ms = c->connect_timeout_ms; /* follow config updates */
            p->max_pending = c->max_pending_requests;
            p->max_connections = c->max_connections;
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
                uint64_t hh = key_hash(p->rt, &p->addr, p->addrlen);
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
    p->connect_timeout_ms = c->connect_timeout_ms;
    p->max_pending = c->max_pending_requests;
    p->max_connections = c->max_connections;
    p->hnext = *b;
    *b = p;
    t->n++;
    return p;
}

dp_pool_t *dp_pool_get(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e)
{
    dp_pool_t *p = lookup(w, c, e, true);
    p->retired = false; /* back in the config */
    return p;
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

static bool pool_idle_empty(const dp_pool_t *p)
{
    return p->idle == NULL && p->n_active == 0 && p->n_connecting == 0 && p->wait_head == NULL;
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
            /* drain: idle connections close now, busy ones when their request ends */
            p->retired = true;
            while (p->idle)
                close_idle(p, p->idle);
            if (pool_idle_empty(p)) {
                *pp = p->hnext;
                t->n--;
                free(p);
                continue;
            }
            pp = &p->hnext;
        }
    }
}

uint32_t dp_pool_active(dp_worker_t *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e)
{
    dp_pool_t *p = lookup(w, c, e, false);
    return p ? p->n_active : 0;
}

/* --- connection accounting --- */

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

static void idle_remove(dp_pool_t *p, dp_h1_client_t *c)
{
    for (dp_h1_client_t **pp = &p->idle; *pp; pp = &(*pp)->next_idle)
        if (*pp == c) {
            *pp = c->next_idle;
            c->next_idle = NULL;
            return;
        }
}

static void close_idle(dp_pool_t *p, dp_h1_client_t *c)
{
    idle_remove(p, c);
    dp_h1_client_close(c);
    cx_closed(p);
}

static void idle_on_error(void *ctx, int err, bool got_bytes, const char *detail)
{
    (void)err;
    (void)got_bytes;
    (void)detail;
    dp_h1_client_t *c = ctx;
    close_idle(c->pool, c);
}

static const dp_h1_client_cbs_t idle_cbs = {.on_error = idle_on_error};

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

/* A usable connection: to the oldest waiting request, else idle in the
 * pool (closed instead when the pool left the config). */
static void hand_off(dp_pool_t *p, dp_h1_client_t *c)
{
    dp_pool_waiter_t *w = wait_pop(p);
    if (w) {
        w->ready(w, c, 0, NULL);
        return;
    }
    if (p->retired) {
        dp_h1_client_close(c);
        cx_closed(p);
        return;
    }
    dp_h1_client_set_idle(c, &idle_cbs, c);
    c->next_idle = p->idle;
    p->idle = c;
}

/* --- connecting --- */

static void connect_start(dp_pool_t *p);

static void on_connect_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_h1_client_t *c = t->data;
    dp_pool_t *p = c->pool;
    p->n_connecting--;
    dp_stat_inc(p->rt->cx_connect_timeout);
    dp_stat_inc(p->rt->cx_connect_fail);
    dp_h1_client_close(c);
    cx_closed(p);
    dp_pool_waiter_t *w = wait_pop(p);
    if (w)
        w->ready(w, NULL, DP_ETIMEDOUT, "connection timeout");
}

static void on_connected(void *ctx, int err)
{
    dp_h1_client_t *c = ctx;
    dp_pool_t *p = c->pool;
    ev_timer_stop(p->w->loop.ev, &c->timer);
    p->n_connecting--;
    if (err != 0) {
        dp_stat_inc(p->rt->cx_connect_fail);
        dp_h1_client_close(c);
        cx_closed(p);
        dp_pool_waiter_t *w = wait_pop(p);
        if (w)
            w->ready(w, NULL, DP_ECLOSED, "connection failure");
        return;
    }
    hand_off(p, c);
}

static const dp_h1_client_cbs_t connect_cbs = {.on_connect = on_connected};

static void connect_start(dp_pool_t *p)
{
    dp_h1_client_t *c = dp_h1_client_connect(&p->w->loop, (const struct sockaddr *)&p->addr, p->addrlen,
                                             &connect_cbs, NULL);
    if (c == NULL) {
        dp_stat_inc(p->rt->cx_connect_fail);
        dp_pool_waiter_t *w = wait_pop(p);
        if (w)
            w->ready(w, NULL, DP_ECLOSED, "cannot create upstream socket");
        return;
    }
    c->ctx = c;
    c->pool = p;
    cx_opened(p);
    p->n_connecting++;
    if (p->connect_timeout_ms > 0) {
        ev_timer_init(&c->timer, on_connect_timeout, (double)p->connect_timeout_ms / 1000.0, 0);
        c->timer.data = c;
        ev_timer_start(p->w->loop.ev, &c->timer);
    }
}

dp_pool_result_t dp_pool_acquire(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                                 dp_h1_client_t **out)
{
    if (atomic_load(&p->rt->rq_active) >= c->max_requests) {
        dp_stat_inc(p->rt->rq_pending_overflow);
        return DP_POOL_OVERFLOW;
    }
    if (p->idle) {
        dp_h1_client_t *cl = p->idle;
        p->idle = cl->next_idle;
        cl->next_idle = NULL;
        *out = cl;
    } else {
        bool can_connect = atomic_load(&p->rt->cx_active) < c->max_connections;
        uint32_t waiting = 0;
        for (dp_pool_waiter_t *x = p->wait_head; x; x = x->next)
            waiting++;
        if (!can_connect && atomic_load(&p->rt->rq_pending) >= c->max_pending_requests) {
            dp_stat_inc(p->rt->cx_overflow);
            dp_stat_inc(p->rt->rq_pending_overflow);
            return DP_POOL_OVERFLOW;
        }
        wait_push(p, w);
        /* one connect per waiter not already covered by a connect in flight */
        if (can_connect && waiting >= p->n_connecting)
            connect_start(p);
        *out = NULL;
    }
    p->n_active++;
    atomic_fetch_add(&p->rt->rq_active, 1);
    dp_stat_inc(p->rt->rq_active_g);
    return *out ? DP_POOL_READY : DP_POOL_WAIT;
}

void dp_pool_done(dp_pool_t *p, dp_h1_client_t *c, bool reusable)
{
    p->n_active--;
    atomic_fetch_sub(&p->rt->rq_active, 1);
    dp_stat_dec(p->rt->rq_active_g);
    if (c == NULL)
        return;
    if (!reusable) {
        dp_h1_client_close(c);
        cx_closed(p);
        if (p->wait_head && atomic_load(&p->rt->cx_active) < p->max_connections)
            connect_start(p);
        return;
    }
    hand_off(p, c);
}
