/* Process-wide stats store with Envoy's stat names.
 *
 * Counters and gauges are created once by name (mutex-protected) and live
 * for the life of the process, so hot paths keep the pointer and update it
 * with relaxed atomics. Names follow Envoy: "cluster.NAME.upstream_rq_total",
 * "http.STAT_PREFIX.downstream_rq_2xx", "listener.ADDR.downstream_cx_total",
 * "server.live", ... */
#ifndef DP_ADMIN_STATS_H
#define DP_ADMIN_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { DP_STAT_COUNTER, DP_STAT_GAUGE } dp_stat_kind_t;

typedef struct dp_stat {
    _Atomic uint64_t v; /* gauges are stored as two's complement int64 */
    dp_stat_kind_t kind;
    const char *name; /* owned by the store */
} dp_stat_t;

/* Returns the stat with that name, creating it at zero. Never NULL (aborts
 * on OOM). A name registered with both kinds keeps its first kind. */
dp_stat_t *dp_stats_counter(const char *name);
dp_stat_t *dp_stats_gauge(const char *name);
/* printf-style name */
dp_stat_t *dp_stats_counterf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
dp_stat_t *dp_stats_gaugef(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static inline void dp_stat_inc(dp_stat_t *s)
{
    atomic_fetch_add_explicit(&s->v, 1, memory_order_relaxed);
}
static inline void dp_stat_add(dp_stat_t *s, uint64_t n)
{
    atomic_fetch_add_explicit(&s->v, n, memory_order_relaxed);
}
static inline void dp_stat_dec(dp_stat_t *s)
{
    atomic_fetch_sub_explicit(&s->v, 1, memory_order_relaxed);
}
static inline void dp_stat_set(dp_stat_t *s, int64_t v)
{
    atomic_store_explicit(&s->v, (uint64_t)v, memory_order_relaxed);
}
static inline int64_t dp_stat_get(const dp_stat_t *s)
{
    return (int64_t)atomic_load_explicit(&((dp_stat_t *)s)->v, memory_order_relaxed);
}

/* A group of stats under one prefix, created at once: one allocation and
 * one registration for, e.g., all of a cluster's stats (10,000 clusters
 * would otherwise be 250,000 separately named stats). Members have no name
 * of their own; dp_stats_foreach reports them as "<prefix>.<suffix>".
 * Never freed. The suffix and kind arrays must be static. */
typedef struct dp_stat_group {
    char *prefix;
    const char *const *suffixes;
    const dp_stat_kind_t *kinds;
    size_t n;
    dp_stat_t stats[]; /* n members, in the order of suffixes */
} dp_stat_group_t;

dp_stat_group_t *dp_stats_group_new(const char *prefix, const char *const *suffixes, const dp_stat_kind_t *kinds,
                                    size_t n);

/* POST /reset_counters: every counter back to 0 (gauges keep their value). */
void dp_stats_reset_counters(void);

/* Calls fn for every stat, sorted by name (group members with their
 * composed names; the dp_stat_t given for them is a copy, read it there). */
void dp_stats_foreach(void (*fn)(const dp_stat_t *s, void *arg), void *arg);

#endif
