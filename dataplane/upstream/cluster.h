/* The mutable side of a cluster: stats and circuit-breaker counters, shared
 * by all workers and by every snapshot that has a cluster of that name, so
 * counts survive config swaps (as Envoy's stats do). Never freed. */
#ifndef DP_UPSTREAM_CLUSTER_H
#define DP_UPSTREAM_CLUSTER_H

#include <stdatomic.h>

#include "dataplane/admin/stats.h"
#include "dataplane/upstream/cluster-t.h"

typedef struct dp_cluster_rt {
    char *name;
    dp_stat_group_t *stats; /* cluster.<name>.*; the pointers below point into it */
    _Atomic uint32_t cx_active, rq_active, rq_pending;
    _Atomic uint64_t rr; /* round-robin cursor */
    dp_stat_t *cx_total, *cx_active_g, *cx_connect_fail, *cx_connect_timeout, *cx_destroy;
    dp_stat_t *cx_overflow, *rq_pending_overflow, *rq_pending_active_g;
    dp_stat_t *rq_total, *rq_active_g, *rq_timeout, *rq_completed, *rq_xx[6]; /* rq_xx[2] = upstream_rq_2xx */
    dp_stat_t *rq_retry, *cx_protocol_error;
    dp_stat_t *membership_total, *membership_healthy;
    /* Runtime health (dataplane/upstream/health.h), written by the health
     * thread only: the view of the config it last saw (QSBR-protected),
     * how many of its endpoints are excluded by health flags, and the
     * health_check.* / outlier_detection.* stats (NULL until configured). */
    struct dp_health_view *_Atomic hview;
    _Atomic uint32_t n_excluded;
    dp_stat_group_t *hc_stats, *od_stats;
} dp_cluster_rt_t;

/* Returns the runtime for that cluster name, creating it once. */
dp_cluster_rt_t *dp_cluster_rt_get(const char *name);

/* Load balancing: picks a healthy endpoint with the cluster's policy, or
 * NULL when there is none. Per worker (w gives randomness and per-worker
 * active-request counts). */
struct dp_worker;
const dp_endpoint_t *dp_lb_pick(const dp_cluster_cfg_t *c, struct dp_worker *w);

#endif
