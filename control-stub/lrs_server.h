/* The control stub's load reporting service
 * (envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats), on
 * the stub's shared completion queue (stub_call.h).
 *
 * A stream belongs to the node id of its first LoadStatsRequest, which is
 * answered with one LoadStatsResponse {send_all_clusters: true,
 * load_reporting_interval: the stub's --lrs-interval-ms}; every request
 * (the first one too) may carry cluster_stats, which are deltas since the
 * previous report. Per node the stub keeps the last report and running
 * totals per cluster and locality: issued, successful and error summed,
 * in_progress the last value, dropped summed per cluster, so a test can
 * compare them with the requests it sent. Totals survive reconnections
 * (a node's new stream adds to them). */
#ifndef DP_STUB_LRS_SERVER_H
#define DP_STUB_LRS_SERVER_H

#include <grpc/grpc.h>
#include <jansson.h>

#define DP_STUBLRS_METHOD "/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats"
#define DP_STUBLRS_INTERVAL_MS 1000

typedef struct dp_stublrs dp_stublrs_t;

/* interval_ms: the load_reporting_interval asked of every data plane. */
dp_stublrs_t *dp_stublrs_create(unsigned interval_ms);

/* Serves `call` (accepted for StreamLoadStats); `live` counts the
 * server's live calls. */
void dp_stublrs_accept(dp_stublrs_t *l, grpc_call *call, unsigned id, int *live);

/* Adds one LoadStatsRequest (proto3 JSON, original field names) from
 * `node` to its totals and makes it the node's last report. A stream calls
 * it for every request; exposed for tests. */
void dp_stublrs_note_report(dp_stublrs_t *l, const char *node, const json_t *req);

/* GET /status, LRS part: sets "load" of each node that reported or has an
 * LRS stream in `nodes` (adding {"connected": false} for a node it lacks):
 * {"streams", "reports", "interval_ms", "last_report" (ISO time or null),
 * "clusters": {NAME: {"service_name", "issued", "successful", "error",
 * "in_progress", "dropped", "last_interval_ms", "localities": [{"region",
 * "zone", "sub_zone", "issued", "successful", "error", "in_progress"}]}},
 * "last": the last report's cluster_stats}. A cluster reported with a
 * cluster_service_name is keyed "NAME/SERVICE". */
void dp_stublrs_status(const dp_stublrs_t *l, json_t *nodes);

/* Frees the state; every stream must be gone (the server shut down). */
void dp_stublrs_destroy(dp_stublrs_t *l);

#endif
