/* The control stub's gRPC server: one port, one completion queue, driven
 * by dp_stubsrv_poll() from a single thread (no locks). It accepts every
 * call (grpc_server_request_call) and hands it by method to its service:
 *   ADS   StreamAggregatedResources, DeltaAggregatedResources (ads_server.h)
 *   LRS   LoadReportingService/StreamLoadStats (lrs_server.h)
 *   HDS   HealthDiscoveryService/StreamHealthCheck (hds_server.h)
 * any other method is answered UNIMPLEMENTED. The same queue carries the
 * CSDS polls of the data planes (csds_client.h). Every tag on the queue is
 * a dp_stub_tag_t (stub_call.h). */
#ifndef DP_STUB_SERVER_H
#define DP_STUB_SERVER_H

#include <stddef.h>

#include "control-stub/fleet.h"
#include "control-stub/replay.h"

typedef struct dp_stubsrv dp_stubsrv_t;

/* Binds `listen` ("HOST:PORT", port 0 picks one) and starts serving
 * nothing (no fleet yet); LRS asks data planes to report every
 * `lrs_interval_ms` (0: 1000). *port receives the bound port. Returns 0 or
 * DP_ERR (errbuf says why: bind failure). */
int dp_stubsrv_create(const char *listen, unsigned lrs_interval_ms, dp_stubsrv_t **out, int *port, char *errbuf,
                      size_t errlen);

/* Makes `f` the served fleet: ADS resources, HDS specifiers and CSDS
 * targets; pushes what changed. On success the server owns `f` (and frees
 * the previous one); on failure (translation error) the previous fleet
 * stays and `f` is still the caller's. Returns 0 or DP_EINVAL. */
int dp_stubsrv_set_fleet(dp_stubsrv_t *s, dp_fleet_t *f, char *errbuf, size_t errlen);

/* A container started or stopped (the platform's event, POST
 * /containers/ID/start|stop on the admin port): its Container resource
 * alone is translated again and pushed to its node's Delta streams, in
 * time independent of the fleet's size. The state lasts until the next
 * edit of the fleet file, which stays the source of truth. HDS keeps
 * checking the container's services (a stopped one reports unhealthy).
 * Returns 0, DP_ENOENT (no such container) or DP_EINVAL (errbuf: a
 * container without addresses cannot run). */
int dp_stubsrv_container_state(dp_stubsrv_t *s, const char *id, int running, char *errbuf, size_t errlen);

/* Serves the recording `rp` over ADS (not owned; must outlive the server)
 * instead of any fleet. Call before any stream is accepted. */
void dp_stubsrv_set_replay(dp_stubsrv_t *s, const dp_replay_t *rp);

/* Polls CSDS of a node given on the command line ("NODE=HOST:PORT"),
 * whatever the fleet says. Returns 0 or DP_EINVAL (malformed). */
int dp_stubsrv_add_csds(dp_stubsrv_t *s, const char *spec);

/* GET /status body: {"nodes": {NAME: {...}}}: the ADS part
 * (dp_stubads_status), and "load" (LRS), "unhealthy" and "health" (HDS),
 * "csds" (CSDS); "load", "unhealthy" and "csds" are null / [] / null for a
 * node that has none. Returns a malloc'd string (NULL on allocation
 * failure). */
char *dp_stubsrv_status_json(dp_stubsrv_t *s);

/* Handles completion events for up to timeout_ms, and starts the CSDS
 * polls that are due. */
void dp_stubsrv_poll(dp_stubsrv_t *s, int timeout_ms);

/* Cancels every stream and poll, shuts the server down, frees everything. */
void dp_stubsrv_destroy(dp_stubsrv_t *s);

#endif
