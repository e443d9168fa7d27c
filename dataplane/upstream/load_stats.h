/* Per cluster, locality and priority upstream request counters: what LRS
 * reports (envoy.config.endpoint.v3.UpstreamLocalityStats, xds/lrs.h).
 *
 * Fed by dataplane/upstream/outcome.c on worker threads; read by the LRS
 * thread. The counters are keyed by the cluster's name and the locality's
 * region / zone / sub_zone strings plus the endpoint's priority, not by
 * config pointers, so they survive config swaps (as dp_cluster_rt_t does)
 * and two snapshots' copies of a cluster count together. Entries are
 * never freed (a key set that only grows, like Envoy's per-host stats for
 * the hosts it keeps).
 *
 * Cost: the hot path hashes the key and probes a lock-free table with
 * atomic loads, then bumps atomics; the mutex is taken only the first time
 * a key is seen and by the reader.
 *
 * Counting follows Envoy's per-host stats that its LoadStatsReporter sums
 * per locality (rq_total, rq_success, rq_error, rq_active), as Envoy's
 * connection pool and router update them:
 *  - issued (rq_total): the request was bound to a connection to the
 *    endpoint (dp_upstream_issued); in progress (rq_active) rises with it;
 *  - a response head with a status that is not 5xx: success, at the head,
 *    whatever happens to the body afterwards (Envoy's router counts it in
 *    onUpstreamHeaders); a 5xx head: error;
 *  - reset before the head, route timeout: error (Envoy charges a 503 /
 *    504 to the host: chargeUpstreamAbort);
 *  - connect failure: error, and neither issued nor in progress (Envoy's
 *    pool failure resets the upstream request with the host known, but the
 *    pool never attached a stream, so rq_total / rq_active never moved);
 *  - CANCELLED (the downstream went away first): neither success nor error,
 *    only in progress falls (Envoy's router resets the upstream request on
 *    destroy without charging a code to the host).
 * Not done: gRPC's deferred success (Envoy counts a gRPC response at its
 * grpc-status; the outcome hook gives the HTTP status only), per endpoint
 * stats (LoadStatsResponse.report_endpoint_granularity, which Envoy's
 * reporter ignores too) and ORCA load metrics. */
#ifndef DP_UPSTREAM_LOAD_STATS_H
#define DP_UPSTREAM_LOAD_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/upstream/outcome.h"

/* Hot path, any thread (see outcome.h for when they are called). ep is one
 * of c's endpoints (it caches the entry of its counters), or NULL. */
void dp_load_stats_issued(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep);
void dp_load_stats_done(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status);

/* One locality of a cluster. The strings live as long as the process. */
typedef struct dp_load_stats_row {
    const char *region, *zone, *sub_zone;
    uint32_t priority;
    uint64_t success, error, issued; /* since the previous latch of the cluster */
    uint64_t in_progress;            /* now (a gauge, never reset) */
} dp_load_stats_row_t;

/* Takes the counts of every locality of `cluster` since its previous
 * latch (or reset) and starts the next period. *rows receives a malloc'd
 * array (NULL when 0), sorted by priority, region, zone, sub_zone; the
 * caller frees it. Returns the number of rows. Any thread. */
size_t dp_load_stats_latch(const char *cluster, dp_load_stats_row_t **rows);
/* Drops the counts of `cluster` so far (a cluster whose reporting
 * starts: Envoy latches its hosts' counters then). In progress stays. */
void dp_load_stats_reset(const char *cluster);

#endif
