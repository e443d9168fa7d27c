/* Per cluster / locality / priority request counters (load_stats.h).
 *
 *   g_table --> [ slot | slot | NULL | slot ... ]   open addressing, atomic
 *                  |                                 slots, never removed
 *                  v
 *               ls_entry_t { key, atomics } --next--> same cluster's others
 *                                                  (list head in g_clusters,
 *                                                   sorted by name, mutex)
 *
 * Readers (workers) load g_table and probe without a lock. A writer (the
 * first sight of a key) takes the mutex, re-probes, fills a slot with a
 * release store; when the table is half full it builds a twice larger one
 * and publishes it. The old table stays allocated (a worker may still be
 * probing it): the sizes double, so what is kept is less than the table in
 * use. A worker probing an old table that misses a key just inserted in a
 * newer one falls to the locked path, which looks in the newest. */
#include "dataplane/upstream/load_stats.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

typedef struct ls_entry {
    uint64_t hash;
    char *cluster, *region, *zone, *sub_zone;
    uint32_t priority;
    _Atomic uint64_t success, error, issued;
    _Atomic int64_t active;
    struct ls_entry *next; /* same cluster, under g_mu */
} ls_entry_t;

typedef struct ls_table {
    size_t cap; /* a power of two */
    struct ls_table *older;
    _Atomic(ls_entry_t *) slot[];
} ls_table_t;

typedef struct ls_cluster {
    char *name;
    ls_entry_t *head;
} ls_cluster_t;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic(ls_table_t *) g_table;
static size_t g_n; /* entries, under g_mu */
static ls_cluster_t *g_clusters; /* sorted by name, under g_mu */
static size_t g_n_clusters, g_cap_clusters;

typedef struct ls_key {
    const char *cluster, *region, *zone, *sub_zone;
    uint32_t priority;
} ls_key_t;

static uint64_t mix_str(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* separator: ("ab","c") != ("a","bc") */
}

static uint64_t key_hash(const ls_key_t *k)
{
    uint64_t h = 1469598103934665603ull;
    h = mix_str(h, k->cluster);
    h = mix_str(h, k->region);
    h = mix_str(h, k->zone);
    h = mix_str(h, k->sub_zone);
    return (h ^ k->priority) * 1099511628211ull;
}

static bool key_eq(const ls_entry_t *e, uint64_t h, const ls_key_t *k)
{
    return e->hash == h && e->priority == k->priority && strcmp(e->cluster, k->cluster) == 0 &&
           strcmp(e->region, k->region) == 0 && strcmp(e->zone, k->zone) == 0 &&
           strcmp(e->sub_zone, k->sub_zone) == 0;
}

static ls_entry_t *probe(ls_table_t *t, uint64_t h, const ls_key_t *k)
{
    if (t == NULL)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        ls_entry_t *e = atomic_load_explicit(&t->slot[i], memory_order_acquire);
        if (e == NULL)
            return NULL;
        if (key_eq(e, h, k))
            return e;
    }
}

static void place(ls_table_t *t, ls_entry_t *e)
{
    size_t mask = t->cap - 1;
    size_t i = e->hash & mask;
    while (atomic_load_explicit(&t->slot[i], memory_order_relaxed))
        i = (i + 1) & mask;
    atomic_store_explicit(&t->slot[i], e, memory_order_release);
}

static ls_table_t *table_new(size_t cap)
{
    ls_table_t *t = dp_xcalloc(1, sizeof(*t) + cap * sizeof(t->slot[0]));
    t->cap = cap;
    for (size_t i = 0; i < cap; i++)
        atomic_init(&t->slot[i], NULL);
    return t;
}

/* Under g_mu. */
static ls_cluster_t *cluster_find(const char *name, bool create)
{
    size_t lo = 0, hi = g_n_clusters;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(g_clusters[mid].name, name);
        if (c == 0)
            return &g_clusters[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!create)
        return NULL;
    if (g_n_clusters == g_cap_clusters) {
        g_cap_clusters = g_cap_clusters ? g_cap_clusters * 2 : 16;
        g_clusters = dp_xrealloc(g_clusters, g_cap_clusters * sizeof(*g_clusters));
    }
    memmove(&g_clusters[lo + 1], &g_clusters[lo], (g_n_clusters - lo) * sizeof(*g_clusters));
    g_n_clusters++;
    g_clusters[lo].name = dp_xstrdup(name);
    g_clusters[lo].head = NULL;
    return &g_clusters[lo];
}

static ls_entry_t *insert_slow(uint64_t h, const ls_key_t *k)
{
    pthread_mutex_lock(&g_mu);
    ls_table_t *t = atomic_load_explicit(&g_table, memory_order_relaxed);
    ls_entry_t *e = probe(t, h, k);
    if (e == NULL) {
        if (t == NULL || (g_n + 1) * 2 > t->cap) {
            ls_table_t *nt = table_new(t ? t->cap * 2 : 256);
            nt->older = t;
            for (size_t i = 0; t && i < t->cap; i++) {
                ls_entry_t *o = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
                if (o)
                    place(nt, o);
            }
            atomic_store_explicit(&g_table, nt, memory_order_release);
            t = nt;
        }
        e = dp_xcalloc(1, sizeof(*e));
        e->hash = h;
        e->cluster = dp_xstrdup(k->cluster);
        e->region = dp_xstrdup(k->region);
        e->zone = dp_xstrdup(k->zone);
        e->sub_zone = dp_xstrdup(k->sub_zone);
        e->priority = k->priority;
        atomic_init(&e->success, 0);
        atomic_init(&e->error, 0);
        atomic_init(&e->issued, 0);
        atomic_init(&e->active, 0);
        ls_cluster_t *cl = cluster_find(k->cluster, true);
        e->next = cl->head;
        cl->head = e;
        place(t, e);
        g_n++;
    }
    pthread_mutex_unlock(&g_mu);
    return e;
}

static ls_entry_t *entry_of(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    ls_entry_t *e = ep ? atomic_load_explicit(&ep->load_entry, memory_order_acquire) : NULL;
    if (e)
        return e;
    ls_key_t k = {c->name, "", "", "", ep ? ep->priority : 0};
    if (ep && ep->locality < c->n_localities && c->localities) {
        const dp_locality_t *l = &c->localities[ep->locality];
        k.region = l->region ? l->region : "";
        k.zone = l->zone ? l->zone : "";
        k.sub_zone = l->sub_zone ? l->sub_zone : "";
    }
    uint64_t h = key_hash(&k);
    e = probe(atomic_load_explicit(&g_table, memory_order_acquire), h, &k);
    if (e == NULL)
        e = insert_slow(h, &k);
    if (ep) /* the snapshot is shared and immutable; this field is a cache any thread may fill */
        atomic_store_explicit(&((dp_endpoint_t *)ep)->load_entry, e, memory_order_release);
    return e;
}

void dp_load_stats_issued(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    if (c == NULL || c->name == NULL)
        return;
    ls_entry_t *e = entry_of(c, ep);
    atomic_fetch_add_explicit(&e->issued, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&e->active, 1, memory_order_relaxed);
}

void dp_load_stats_done(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status)
{
    if (c == NULL || c->name == NULL)
        return;
    ls_entry_t *e = entry_of(c, ep);
    switch (out) {
    case DP_UPOUT_RESPONSE:
        if (status >= 500 && status <= 599)
            atomic_fetch_add_explicit(&e->error, 1, memory_order_relaxed);
        else
            atomic_fetch_add_explicit(&e->success, 1, memory_order_relaxed);
        break;
    case DP_UPOUT_CONNECT_FAIL:
        atomic_fetch_add_explicit(&e->error, 1, memory_order_relaxed);
        return; /* never issued: in progress did not rise */
    case DP_UPOUT_RESET:
    case DP_UPOUT_TIMEOUT:
        atomic_fetch_add_explicit(&e->error, 1, memory_order_relaxed);
        break;
    case DP_UPOUT_CANCELLED:
        break;
    }
    atomic_fetch_sub_explicit(&e->active, 1, memory_order_relaxed);
}

/* ---- the reader (LRS thread) ------------------------------------------- */

static int row_cmp(const void *x, const void *y)
{
    const dp_load_stats_row_t *a = x, *b = y;
    int c;
    if (a->priority != b->priority)
        return a->priority < b->priority ? -1 : 1;
    if ((c = strcmp(a->region, b->region)) != 0)
        return c;
    if ((c = strcmp(a->zone, b->zone)) != 0)
        return c;
    return strcmp(a->sub_zone, b->sub_zone);
}

size_t dp_load_stats_latch(const char *cluster, dp_load_stats_row_t **rows)
{
    size_t n = 0, cap = 0;
    dp_load_stats_row_t *v = NULL;

    pthread_mutex_lock(&g_mu);
    ls_cluster_t *cl = cluster_find(cluster, false);
    for (ls_entry_t *e = cl ? cl->head : NULL; e; e = e->next) {
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            v = dp_xrealloc(v, cap * sizeof(*v));
        }
        dp_load_stats_row_t *r = &v[n++];
        r->region = e->region;
        r->zone = e->zone;
        r->sub_zone = e->sub_zone;
        r->priority = e->priority;
        /* exchange: a count that lands meanwhile goes to the next period */
        r->success = atomic_exchange_explicit(&e->success, 0, memory_order_relaxed);
        r->error = atomic_exchange_explicit(&e->error, 0, memory_order_relaxed);
        r->issued = atomic_exchange_explicit(&e->issued, 0, memory_order_relaxed);
        int64_t act = atomic_load_explicit(&e->active, memory_order_relaxed);
        r->in_progress = act > 0 ? (uint64_t)act : 0;
    }
    pthread_mutex_unlock(&g_mu);
    if (n > 1)
        qsort(v, n, sizeof(*v), row_cmp);
    *rows = v;
    return n;
}

void dp_load_stats_reset(const char *cluster)
{
    pthread_mutex_lock(&g_mu);
    ls_cluster_t *cl = cluster_find(cluster, false);
    for (ls_entry_t *e = cl ? cl->head : NULL; e; e = e->next) {
        atomic_store_explicit(&e->success, 0, memory_order_relaxed);
        atomic_store_explicit(&e->error, 0, memory_order_relaxed);
        atomic_store_explicit(&e->issued, 0, memory_order_relaxed);
    }
    pthread_mutex_unlock(&g_mu);
}
