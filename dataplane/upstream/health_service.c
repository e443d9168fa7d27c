/* The health service: one thread with its own loop that runs the active
 * health checkers of the configured clusters and of HDS, acts on outlier
 * detections and sweeps ejections, and publishes each cluster's health
 * view for the workers (health.h).
 *
 * Config swaps are followed by polling dp_config_current() (POLL_MS):
 * main.c has no hook for us, and a swap costs work proportional to the
 * clusters with health checks or outlier detection. Views and entries are
 * retired through QSBR (workers read them lock-free); `mu` serialises
 * publication against the readers that are not QSBR readers (admin). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/buf.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/core/qsbr.h"
#include "dataplane/server/config.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outlier.h"
#include "xds/snapshot.h"

#define POLL_MS 200

typedef struct hc_cluster hc_cluster_t;

typedef struct hc_ep {
    dp_ep_health_t *e;
    dp_hc_checker_t *chk;
    hc_cluster_t *cl;
} hc_ep_t;

struct hc_cluster {
    char *name;
    dp_cluster_cfg_t *cfg; /* a reference: the config last synced */
    dp_cluster_rt_t *rt;
    hc_ep_t **eps; /* distinct addresses, sorted */
    size_t n_eps;
    ev_timer od_timer;
    bool seen;
};

typedef struct hds_chk {
    dp_hc_checker_t *chk;
    dp_hds_endpoint_t *ep;
} hds_chk_t;

static struct {
    pthread_mutex_t mu; /* view publication (admin reads under it), the HDS hand-off */
    atomic_bool started;
    bool own_thread;
    pthread_t thread;
    dp_loop_t own_loop;
    dp_loop_t *loop;
    ev_async wake;
    struct ev_loop *_Atomic kick_ev; /* where kicks go, once the watcher runs */
    ev_timer poll;
    atomic_bool stopping;
    dp_snapshot_t *last; /* the snapshot last synced (a reference) */
    hc_cluster_t **clusters;
    size_t n_clusters;
    uint64_t rnd;
    /* HDS */
    dp_hds_set_t *hds_pending; /* under mu */
    bool hds_pending_set;      /* under mu */
    dp_hds_set_t *hds;
    hds_chk_t *hds_chks;
    size_t n_hds_chks;
} H = {.mu = PTHREAD_MUTEX_INITIALIZER};

static const dp_hc_env_t cluster_env;

static uint64_t rnd(void)
{
    uint64_t x = H.rnd ? H.rnd : (dp_now_ns() | 1);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return H.rnd = x;
}

static int addr_cmp(const struct sockaddr_storage *a, socklen_t al, const struct sockaddr_storage *b, socklen_t bl)
{
    if (al != bl)
        return al < bl ? -1 : 1;
    return memcmp(a, b, al);
}

/* ---- readers ------------------------------------------------------------------------ */

static dp_ep_health_t *view_find(const dp_health_view_t *v, const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    if (v->cfg == c) {
        size_t i = (size_t)(ep - c->endpoints);
        return ep >= c->endpoints && i < v->n ? v->ep[i] : NULL;
    }
    size_t lo = 0, hi = v->n_sorted;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        dp_ep_health_t *e = v->sorted[mid];
        int r = addr_cmp(&e->addr, e->addrlen, &ep->addr, ep->addrlen);
        if (r == 0)
            return e;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

dp_ep_health_t *dp_health_entry(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    if (c->rt == NULL || (c->hc == NULL && c->outlier == NULL))
        return NULL;
    const dp_health_view_t *v = atomic_load_explicit(&c->rt->hview, memory_order_acquire);
    return v ? view_find(v, c, ep) : NULL;
}

bool dp_health_all_eds(const dp_cluster_cfg_t *c)
{
    if (c->rt == NULL || (c->hc == NULL && c->outlier == NULL))
        return true;
    const dp_health_view_t *v = atomic_load_explicit(&c->rt->hview, memory_order_acquire);
    if (v == NULL)
        return c->hc == NULL;
    if (c->hc && v->cfg != c)
        return false; /* endpoints the health thread may not have seen: pending */
    return atomic_load_explicit(&c->rt->n_excluded, memory_order_relaxed) == 0;
}

bool dp_health_usable(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    if (!ep->healthy)
        return false;
    if (c->rt == NULL || (c->hc == NULL && c->outlier == NULL))
        return true;
    dp_ep_health_t *e = dp_health_entry(c, ep);
    if (e == NULL)
        return c->hc == NULL;
    return (atomic_load_explicit(&e->flags, memory_order_relaxed) & DP_HF_EXCLUDE) == 0;
}

uint32_t dp_health_flags(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    if (c->rt == NULL || (c->hc == NULL && c->outlier == NULL))
        return 0;
    pthread_mutex_lock(&H.mu);
    dp_ep_health_t *e = dp_health_entry(c, ep);
    uint32_t f = e ? atomic_load(&e->flags) : c->hc ? DP_HF_FAILED_ACTIVE_HC | DP_HF_PENDING_ACTIVE_HC : 0;
    pthread_mutex_unlock(&H.mu);
    return f;
}

/* cluster.NAME.health_check.* members */
enum { HC_ATTEMPT, HC_SUCCESS, HC_FAILURE, HC_NETWORK_FAILURE, HC_PASSIVE_FAILURE, HC_VERIFY_CLUSTER, HC_HEALTHY,
       HC_DEGRADED, HC__COUNT };
static const char *const hc_suffixes[HC__COUNT] = {"attempt",        "success",         "failure",
                                                   "network_failure", "passive_failure", "verify_cluster",
                                                   "healthy",        "degraded"};
static const dp_stat_kind_t hc_kinds[HC__COUNT] = {DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER,
                                                   DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER,
                                                   DP_STAT_GAUGE,   DP_STAT_GAUGE};

/* ---- views --------------------------------------------------------------------------- */

static void view_free(void *p)
{
    dp_health_view_t *v = p;
    dp_cluster_cfg_unref((dp_cluster_cfg_t *)v->cfg);
    free(v->ep);
    free(v->sorted);
    free(v);
}

static void publish(hc_cluster_t *cl, dp_health_view_t *v)
{
    pthread_mutex_lock(&H.mu);
    dp_health_view_t *old = atomic_exchange_explicit(&cl->rt->hview, v, memory_order_acq_rel);
    pthread_mutex_unlock(&H.mu);
    if (old)
        dp_qsbr_retire(view_free, old);
}

static hc_ep_t *find_ep(hc_cluster_t *cl, const struct sockaddr_storage *a, socklen_t al)
{
    size_t lo = 0, hi = cl->n_eps;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int r = addr_cmp(&cl->eps[mid]->e->addr, cl->eps[mid]->e->addrlen, a, al);
        if (r == 0)
            return cl->eps[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Counts, gauges and n_excluded after any change of flags in cl. */
static void recount(hc_cluster_t *cl)
{
    uint32_t excluded = 0, ejected = 0, hc_healthy = 0;
    for (size_t i = 0; i < cl->n_eps; i++) {
        uint32_t f = atomic_load(&cl->eps[i]->e->flags);
        excluded += (f & DP_HF_EXCLUDE) != 0;
        ejected += (f & DP_HF_FAILED_OUTLIER_CHECK) != 0;
        hc_healthy += !(f & DP_HF_FAILED_ACTIVE_HC);
    }
    atomic_store(&cl->rt->n_excluded, excluded);
    if (cl->rt->od_stats)
        dp_stat_set(&cl->rt->od_stats->stats[DP_OD_S_ACTIVE], cl->cfg->outlier ? ejected : 0);
    if (cl->rt->hc_stats)
        dp_stat_set(&cl->rt->hc_stats->stats[HC_HEALTHY], cl->cfg->hc ? hc_healthy : 0);
    /* membership_healthy, as Envoy's: EDS health and the flags together */
    const dp_health_view_t *v = atomic_load(&cl->rt->hview);
    if (v && v->cfg == cl->cfg) {
        int64_t healthy = 0;
        for (size_t i = 0; i < v->n; i++)
            healthy += cl->cfg->endpoints[i].healthy && !(atomic_load(&v->ep[i]->flags) & DP_HF_EXCLUDE);
        dp_stat_set(cl->rt->membership_healthy, healthy);
    }
}

/* ---- checker callbacks --------------------------------------------------------------- */

static void ep_attempt(void *ctx)
{
    hc_ep_t *x = ctx;
    dp_stat_inc(&x->cl->rt->hc_stats->stats[HC_ATTEMPT]);
}

static bool ep_had_traffic(void *ctx)
{
    hc_ep_t *x = ctx;
    return dp_stat_get(x->cl->rt->cx_total) > 0;
}

static void ep_result(void *ctx, dp_hc_result_t r, dp_hc_transition_t t, const dp_hc_state_t *st)
{
    hc_ep_t *x = ctx;
    hc_cluster_t *cl = x->cl;
    dp_stat_t *s = cl->rt->hc_stats->stats;
    if (r == DP_HC_SUCCESS) {
        dp_stat_inc(&s[HC_SUCCESS]);
    } else {
        dp_stat_inc(&s[HC_FAILURE]);
        if (r == DP_HC_FAIL_NETWORK)
            dp_stat_inc(&s[HC_NETWORK_FAILURE]);
    }
    uint32_t old = atomic_load(&x->e->flags);
    uint32_t f = old & ~(uint32_t)(DP_HF_FAILED_ACTIVE_HC | DP_HF_PENDING_ACTIVE_HC);
    if (st->failed)
        f |= DP_HF_FAILED_ACTIVE_HC;
    const dp_outlier_cfg_t *od = cl->cfg->outlier;
    if (r == DP_HC_SUCCESS && !st->failed && od && od->hc_uneject && (f & DP_HF_FAILED_OUTLIER_CHECK)) {
        dp_outlier_uneject(x->e, dp_now_ms());
        f &= ~(uint32_t)DP_HF_FAILED_OUTLIER_CHECK;
    }
    atomic_store(&x->e->flags, f);
    if (t == DP_HC_CHANGED)
        DP_INFO("health check: %s %s is now %s", cl->name, x->e->addr_str, st->failed ? "unhealthy" : "healthy");
    if (f != old)
        recount(cl);
}

static const dp_hc_env_t cluster_env = {
    .on_result = ep_result,
    .on_attempt = ep_attempt,
    .had_traffic = ep_had_traffic,
};

/* ---- outlier detection ----------------------------------------------------------------- */

static void od_detections(hc_cluster_t *cl)
{
    const dp_outlier_cfg_t *od = cl->cfg->outlier;
    bool changed = false;
    for (size_t i = 0; i < cl->n_eps; i++) {
        dp_ep_health_t *e = cl->eps[i]->e;
        uint32_t bits = atomic_exchange(&e->detected, 0);
        if (bits == 0 || od == NULL)
            continue;
        size_t ejected = 0;
        for (size_t j = 0; j < cl->n_eps; j++)
            ejected += (atomic_load(&cl->eps[j]->e->flags) & DP_HF_FAILED_OUTLIER_CHECK) != 0;
        if (dp_outlier_on_detect(od, e, bits, cl->n_eps, ejected, dp_now_ms(), rnd(), cl->rt->od_stats->stats)) {
            DP_INFO("outlier detection: %s %s ejected for %llu ms", cl->name, e->addr_str,
                    (unsigned long long)dp_outlier_ejection_ms(od, e));
            changed = true;
        }
    }
    if (changed)
        recount(cl);
}

static void on_od_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    hc_cluster_t *cl = t->data;
    const dp_outlier_cfg_t *od = cl->cfg->outlier;
    if (od == NULL)
        return;
    bool changed = false;
    uint64_t now = dp_now_ms();
    for (size_t i = 0; i < cl->n_eps; i++) {
        if (dp_outlier_sweep(od, cl->eps[i]->e, now)) {
            DP_INFO("outlier detection: %s %s back in service", cl->name, cl->eps[i]->e->addr_str);
            changed = true;
        }
    }
    if (changed)
        recount(cl);
}

/* ---- sync with a snapshot ------------------------------------------------------------------ */

static void ep_free(void *p)
{
    free(p);
}

static const char *host_of(const hc_cluster_t *cl)
{
    const dp_hc_cfg_t *hc = cl->cfg->hc;
    return hc && hc->host && hc->host[0] ? hc->host : cl->name;
}

static void start_checker(hc_cluster_t *cl, hc_ep_t *x, const dp_hc_state_t *st)
{
    x->chk = dp_hc_checker_new(H.loop, cl->cfg->hc, host_of(cl), (const struct sockaddr *)&x->e->addr,
                               x->e->addrlen, st, &cluster_env, x);
}

static int hc_ep_cmp(const void *a, const void *b)
{
    const dp_ep_health_t *x = (*(hc_ep_t *const *)a)->e, *y = (*(hc_ep_t *const *)b)->e;
    return addr_cmp(&x->addr, x->addrlen, &y->addr, y->addrlen);
}

/* Brings cl to config c (a reference the cluster takes over). */
static void reconcile(hc_cluster_t *cl, dp_cluster_cfg_t *c)
{
    dp_cluster_cfg_t *old = cl->cfg;
    const dp_hc_cfg_t *old_hc = old ? old->hc : NULL;
    bool hc_same = dp_hc_cfg_equal(old_hc, c->hc);
    cl->cfg = c;
    if (c->hc && cl->rt->hc_stats == NULL) {
        char prefix[512];
        snprintf(prefix, sizeof(prefix), "cluster.%s.health_check", cl->name);
        cl->rt->hc_stats = dp_stats_group_new(prefix, hc_suffixes, hc_kinds, HC__COUNT);
    }
    if (c->outlier && cl->rt->od_stats == NULL)
        cl->rt->od_stats = dp_outlier_stats_group(cl->name);

    /* the new endpoint list: kept entries, new ones */
    hc_ep_t **neps = dp_xcalloc(c->n_endpoints ? c->n_endpoints : 1, sizeof(*neps));
    size_t nn = 0;
    dp_health_view_t *v = dp_xcalloc(1, sizeof(*v));
    v->cfg = dp_cluster_cfg_ref(c);
    v->n = c->n_endpoints;
    v->ep = dp_xcalloc(v->n ? v->n : 1, sizeof(*v->ep));
    for (size_t i = 0; i < c->n_endpoints; i++) {
        const dp_endpoint_t *ep = &c->endpoints[i];
        hc_ep_t *x = NULL;
        for (size_t j = 0; j < nn && x == NULL; j++) /* duplicates within c */
            if (addr_cmp(&neps[j]->e->addr, neps[j]->e->addrlen, &ep->addr, ep->addrlen) == 0)
                x = neps[j];
        if (x == NULL) {
            x = find_ep(cl, &ep->addr, ep->addrlen);
            if (x) {
                x->cl = (hc_cluster_t *)1; /* mark as kept */
            } else {
                x = dp_xcalloc(1, sizeof(*x));
                x->e = dp_xcalloc(1, sizeof(*x->e));
                memcpy(&x->e->addr, &ep->addr, sizeof(ep->addr));
                x->e->addrlen = ep->addrlen;
                snprintf(x->e->addr_str, sizeof(x->e->addr_str), "%s", ep->addr_str);
            }
            neps[nn++] = x;
        }
        v->ep[i] = x->e;
    }
    /* what went away */
    for (size_t j = 0; j < cl->n_eps; j++) {
        hc_ep_t *x = cl->eps[j];
        if (x->cl == (hc_cluster_t *)1)
            continue;
        dp_hc_checker_free(x->chk);
        dp_qsbr_retire(ep_free, x->e); /* after the view that still has it */
        free(x);
    }
    free(cl->eps);
    cl->eps = neps;
    cl->n_eps = nn;
    qsort(cl->eps, nn, sizeof(*cl->eps), hc_ep_cmp);
    v->sorted = dp_xcalloc(nn ? nn : 1, sizeof(*v->sorted));
    v->n_sorted = nn;
    for (size_t j = 0; j < nn; j++)
        v->sorted[j] = cl->eps[j]->e;

    /* checkers and flags */
    for (size_t j = 0; j < nn; j++) {
        hc_ep_t *x = cl->eps[j];
        x->cl = cl;
        if (c->hc == NULL) {
            dp_hc_checker_free(x->chk);
            x->chk = NULL;
            atomic_fetch_and(&x->e->flags, ~(uint32_t)(DP_HF_FAILED_ACTIVE_HC | DP_HF_PENDING_ACTIVE_HC));
        } else if (x->chk == NULL) {
            dp_hc_state_t st;
            dp_hc_state_init(&st);
            atomic_fetch_or(&x->e->flags, DP_HF_FAILED_ACTIVE_HC | DP_HF_PENDING_ACTIVE_HC);
            start_checker(cl, x, &st);
        } else if (!hc_same) {
            dp_hc_state_t st = *dp_hc_checker_state(x->chk);
            dp_hc_checker_free(x->chk);
            start_checker(cl, x, &st);
        } else {
            dp_hc_checker_set_cfg(x->chk, c->hc);
        }
        if (c->outlier == NULL && (atomic_load(&x->e->flags) & DP_HF_FAILED_OUTLIER_CHECK))
            dp_outlier_uneject(x->e, dp_now_ms());
    }
    publish(cl, v);
    dp_cluster_cfg_unref(old);

    ev_timer_stop(H.loop->ev, &cl->od_timer);
    if (c->outlier) {
        double s = (double)c->outlier->interval_ms / 1000.0;
        ev_timer_set(&cl->od_timer, s, s);
        ev_timer_start(H.loop->ev, &cl->od_timer);
    }
    recount(cl);
}

static void cluster_free(hc_cluster_t *cl)
{
    ev_timer_stop(H.loop->ev, &cl->od_timer);
    publish(cl, NULL);
    atomic_store(&cl->rt->n_excluded, 0);
    for (size_t j = 0; j < cl->n_eps; j++) {
        dp_hc_checker_free(cl->eps[j]->chk);
        dp_qsbr_retire(ep_free, cl->eps[j]->e);
        free(cl->eps[j]);
    }
    if (cl->rt->hc_stats)
        dp_stat_set(&cl->rt->hc_stats->stats[HC_HEALTHY], 0);
    if (cl->rt->od_stats)
        dp_stat_set(&cl->rt->od_stats->stats[DP_OD_S_ACTIVE], 0);
    free(cl->eps);
    dp_cluster_cfg_unref(cl->cfg);
    free(cl->name);
    free(cl);
}

static hc_cluster_t *cluster_get(const char *name, dp_cluster_rt_t *rt)
{
    for (size_t i = 0; i < H.n_clusters; i++)
        if (strcmp(H.clusters[i]->name, name) == 0)
            return H.clusters[i];
    hc_cluster_t *cl = dp_xcalloc(1, sizeof(*cl));
    cl->name = dp_xstrdup(name);
    cl->rt = rt;
    ev_timer_init(&cl->od_timer, on_od_timer, 1, 1);
    cl->od_timer.data = cl;
    H.clusters = dp_xrealloc(H.clusters, (H.n_clusters + 1) * sizeof(*H.clusters));
    H.clusters[H.n_clusters++] = cl;
    return cl;
}

void dp_health_sync(const dp_snapshot_t *snap)
{
    for (size_t i = 0; i < H.n_clusters; i++)
        H.clusters[i]->seen = false;
    for (size_t i = 0; snap && i < snap->n_clusters; i++) {
        dp_cluster_cfg_t *c = snap->clusters[i];
        if ((c->hc == NULL && c->outlier == NULL) || c->type == DP_CLUSTER_ORIGINAL_DST || c->rt == NULL)
            continue;
        hc_cluster_t *cl = cluster_get(c->name, c->rt);
        cl->seen = true;
        if (cl->cfg != c)
            reconcile(cl, dp_cluster_cfg_ref(c));
    }
    size_t k = 0;
    for (size_t i = 0; i < H.n_clusters; i++) {
        if (H.clusters[i]->seen)
            H.clusters[k++] = H.clusters[i];
        else
            cluster_free(H.clusters[i]);
    }
    H.n_clusters = k;
    dp_qsbr_reclaim();
}

/* ---- HDS --------------------------------------------------------------------------------- */

static void hds_result(void *ctx, dp_hc_result_t r, dp_hc_transition_t t, const dp_hc_state_t *st)
{
    (void)r;
    (void)t;
    hds_chk_t *h = ctx;
    atomic_store(&h->ep->healthy, st->failed ? 0 : 1);
}

static const dp_hc_env_t hds_env = {.on_result = hds_result};

static void hds_apply(dp_hds_set_t *s)
{
    for (size_t i = 0; i < H.n_hds_chks; i++)
        dp_hc_checker_free(H.hds_chks[i].chk);
    free(H.hds_chks);
    H.hds_chks = NULL;
    H.n_hds_chks = 0;
    dp_hds_set_unref(H.hds);
    H.hds = s;
    if (s == NULL)
        return;
    size_t n = 0;
    for (size_t i = 0; i < s->n_clusters; i++)
        n += s->clusters[i].hc ? s->clusters[i].n_endpoints : 0;
    H.hds_chks = dp_xcalloc(n ? n : 1, sizeof(*H.hds_chks));
    for (size_t i = 0; i < s->n_clusters; i++) {
        dp_hds_cluster_t *c = &s->clusters[i];
        if (c->hc == NULL)
            continue;
        const char *host = c->hc->host && c->hc->host[0] ? c->hc->host : c->name;
        for (size_t j = 0; j < c->n_endpoints; j++) {
            hds_chk_t *h = &H.hds_chks[H.n_hds_chks++];
            dp_hc_state_t st;
            dp_hc_state_init(&st);
            h->ep = &c->endpoints[j];
            /* a set is never checked twice: dp_hc_cfg lives as long as it */
            h->chk = dp_hc_checker_new(H.loop, c->hc, host, (const struct sockaddr *)&c->endpoints[j].addr,
                                       c->endpoints[j].addrlen, &st, &hds_env, h);
        }
    }
}

void dp_health_set_hds(dp_hds_set_t *s)
{
    pthread_mutex_lock(&H.mu);
    dp_hds_set_unref(H.hds_pending);
    H.hds_pending = dp_hds_set_ref(s);
    H.hds_pending_set = true;
    pthread_mutex_unlock(&H.mu);
    dp_health_kick();
}

/* ---- the loop ---------------------------------------------------------------------------- */

static void on_wake(struct ev_loop *ev, ev_async *a, int revents)
{
    (void)a;
    (void)revents;
    if (atomic_load(&H.stopping)) {
        ev_break(ev, EVBREAK_ALL);
        return;
    }
    for (size_t i = 0; i < H.n_clusters; i++)
        od_detections(H.clusters[i]);
    pthread_mutex_lock(&H.mu);
    bool set = H.hds_pending_set;
    dp_hds_set_t *s = H.hds_pending;
    H.hds_pending = NULL;
    H.hds_pending_set = false;
    pthread_mutex_unlock(&H.mu);
    if (set)
        hds_apply(s);
}

static void on_poll(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)t;
    (void)revents;
    dp_snapshot_t *s = dp_config_current();
    if (s != H.last) {
        dp_health_sync(s);
        dp_snapshot_unref(H.last);
        H.last = s;
    } else {
        dp_snapshot_unref(s);
        dp_qsbr_reclaim();
    }
}

void dp_health_kick(void)
{
    struct ev_loop *ev = atomic_load_explicit(&H.kick_ev, memory_order_acquire);
    if (ev)
        ev_async_send(ev, &H.wake);
}

static void attach(dp_loop_t *loop)
{
    H.loop = loop;
    ev_async_init(&H.wake, on_wake);
    ev_async_start(loop->ev, &H.wake);
    atomic_store_explicit(&H.kick_ev, loop->ev, memory_order_release);
}

static void teardown(void)
{
    hds_apply(NULL);
    dp_health_sync(NULL);
    dp_snapshot_unref(H.last);
    H.last = NULL;
    free(H.clusters);
    H.clusters = NULL;
    atomic_store(&H.kick_ev, NULL);
    ev_async_stop(H.loop->ev, &H.wake);
    pthread_mutex_lock(&H.mu);
    dp_hds_set_unref(H.hds_pending);
    H.hds_pending = NULL;
    H.hds_pending_set = false;
    pthread_mutex_unlock(&H.mu);
}

static void *health_main(void *arg)
{
    (void)arg;
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    dp_loop_init(&H.own_loop, ev, NULL);
    attach(&H.own_loop);
    ev_timer_init(&H.poll, on_poll, 0, (double)POLL_MS / 1000.0);
    ev_timer_start(ev, &H.poll);
    ev_run(ev, 0);
    ev_timer_stop(ev, &H.poll);
    teardown();
    dp_loop_dispose(&H.own_loop);
    ev_loop_destroy(ev);
    dp_qsbr_reclaim();
    dp_buf_cache_release(); /* this thread's cached buffer chunks */
    dp_arena_cache_release();
    return NULL;
}

int dp_health_start(void)
{
    bool expect = false;
    if (!atomic_compare_exchange_strong(&H.started, &expect, true))
        return 0;
    atomic_store(&H.stopping, false);
    H.own_thread = true;
    if (pthread_create(&H.thread, NULL, health_main, NULL) != 0) {
        atomic_store(&H.started, false);
        H.own_thread = false;
        return DP_ERR;
    }
    return 0;
}

void dp_health_stop(void)
{
    if (!H.own_thread)
        return;
    atomic_store(&H.stopping, true);
    struct ev_loop *ev;
    while ((ev = atomic_load(&H.kick_ev)) == NULL) { /* the thread is not running yet */
        struct timespec ts = {0, 1000000};
        nanosleep(&ts, NULL);
    }
    ev_async_send(ev, &H.wake);
    pthread_join(H.thread, NULL);
    H.loop = NULL;
    H.own_thread = false;
    atomic_store(&H.started, false);
}

void dp_health_attach(dp_loop_t *loop)
{
    atomic_store(&H.started, true); /* no thread while attached */
    attach(loop);
}

void dp_health_detach(void)
{
    if (H.loop == NULL)
        return;
    teardown();
    H.loop = NULL;
    atomic_store(&H.started, false);
    dp_qsbr_barrier();
}
