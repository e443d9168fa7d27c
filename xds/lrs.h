/* The LRS protocol state (envoy.service.load_stats.v3.LoadReportingService
 * StreamLoadStats), sans-I/O: LoadStatsResponses in, LoadStatsRequests
 * out, the counters from dataplane/upstream/load_stats.h. The transport is
 * xds/lrs_client.c. One thread.
 *
 * Semantics, as Envoy's LoadStatsReporter:
 *  - every request carries the Node (the ADS one plus the client feature
 *    "envoy.lrs.supports_send_all_clusters"); the first of a stream has no
 *    stats;
 *  - a response sets the schedule: the clusters to report (its `clusters`,
 *    or with send_all_clusters every cluster the data plane has) and the
 *    interval (load_reporting_interval); a new response replaces it;
 *  - a cluster that starts being reported has its counts dropped and its
 *    period starts then; one that stays reported keeps counting across
 *    responses (and across streams), so nothing is lost or counted twice;
 *  - each report has, per reported cluster that exists, the localities
 *    with any success / error / issued / in progress (deltas since the
 *    cluster's previous report, in progress a gauge),
 *    total_dropped_requests 0 (we drop nothing) and load_report_interval,
 *    the time since its previous report (or since it started being
 *    reported);
 *  - after a report the set is evaluated again (send_all_clusters picks up
 *    new clusters) and the next report is due one interval later.
 * report_endpoint_granularity is accepted and ignored, as Envoy does. */
#ifndef DP_XDS_LRS_H
#define DP_XDS_LRS_H

#include <stddef.h>
#include <stdint.h>

#include "xds/bootstrap.h"

/* Shortest interval honoured: a server asking for 0 would get a report
 * storm. */
#define DP_LRS_MIN_INTERVAL_MS 100

typedef struct dp_lrs dp_lrs_t;

/* A cluster the data plane has (from the snapshot in force). */
typedef struct dp_lrs_cluster {
    const char *name;
    const char *service_name; /* EDS service name, NULL: none */
} dp_lrs_cluster_t;

dp_lrs_t *dp_lrs_new(const dp_bootstrap_t *boot);
void dp_lrs_free(dp_lrs_t *l);

/* A new stream: forgets the schedule (the server sends it again); the
 * clusters reported so far keep their counts and periods. *out receives
 * the first request (malloc'd, caller frees). */
void dp_lrs_stream_start(dp_lrs_t *l, uint8_t **out, size_t *len);

/* One encoded LoadStatsResponse. known: the clusters the data plane has,
 * sorted by name. now_us: monotonic microseconds. Returns 0, or DP_EINVAL
 * with errbuf when it does not decode (or has a field we do not know). */
int dp_lrs_on_response(dp_lrs_t *l, const uint8_t *msg, size_t len, const dp_lrs_cluster_t *known, size_t n_known,
                       uint64_t now_us, char *errbuf, size_t errlen);

/* Monotonic microseconds the next report is due at, UINT64_MAX without a
 * schedule. */
uint64_t dp_lrs_next_report_us(const dp_lrs_t *l);

/* Builds the report due (latching the counters) and starts the next
 * period. *out: malloc'd LoadStatsRequest, caller frees. */
void dp_lrs_report(dp_lrs_t *l, const dp_lrs_cluster_t *known, size_t n_known, uint64_t now_us, uint8_t **out,
                   size_t *len);

/* The Node the data plane presents (id and cluster after
 * --service-node/--service-cluster, metadata, locality, user agent) with
 * the given client features, encoded (malloc'd, caller frees). Used by
 * LRS and by CSDS's ClientConfig.node. */
uint8_t *dp_lrs_node_encode(const dp_bootstrap_t *boot, const char *const *features, size_t n_features,
                            size_t *len);

#endif
