/* The control stub's CSDS client: polls each data plane that has a CSDS
 * address (the fleet node's `csds:`, or --csds NODE=ADDR) with
 * envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus
 * about every second, on the stub's completion queue (never blocking the
 * loop: one unary call in flight per node, with a deadline), and keeps the
 * latest answer per node: each resource's type, name, version,
 * client_status and error_state, or why the poll failed. */
#ifndef DP_STUB_CSDS_CLIENT_H
#define DP_STUB_CSDS_CLIENT_H

#include <grpc/grpc.h>
#include <jansson.h>

#include "control-stub/fleet.h"

#define DP_STUBCSDS_METHOD "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus"
#define DP_STUBCSDS_PERIOD_MS 1000

typedef struct dp_stubcsds dp_stubcsds_t;

/* Calls go on `cq`, their tags are dp_stub_tag_t; `live` counts calls in
 * flight (the server's shutdown waits for them). */
dp_stubcsds_t *dp_stubcsds_create(grpc_completion_queue *cq, int *live);

/* A target from the command line: kept whatever the fleet says. Returns
 * 0, or DP_EINVAL when `spec` is not NODE=HOST:PORT. */
int dp_stubcsds_add_arg(dp_stubcsds_t *c, const char *spec);

/* The fleet's targets (node `csds:`), replacing the previous fleet's. */
void dp_stubcsds_set_fleet(dp_stubcsds_t *c, const dp_fleet_t *f);

/* Starts the polls that are due. Call from the loop, often. */
void dp_stubcsds_tick(dp_stubcsds_t *c);

/* Takes one ClientStatusResponse (proto3 JSON) as the node's latest
 * answer; exposed for tests. */
void dp_stubcsds_note_response(dp_stubcsds_t *c, const char *node, const json_t *resp);

/* GET /status, CSDS part: "csds" of every target node: [{"type_url",
 * "name", "version", "client_status", "error" (error_state.details or
 * null), "error_version" (error_state.version_info, the rejected one)}],
 * null before the first answer, or a string saying why the last poll
 * failed; "csds_address" and "csds_time" (of the last answer). */
void dp_stubcsds_status(const dp_stubcsds_t *c, json_t *nodes);

/* Cancels the polls in flight (they complete on the queue). */
void dp_stubcsds_cancel(dp_stubcsds_t *c);

/* Frees everything; no poll may be in flight. */
void dp_stubcsds_destroy(dp_stubcsds_t *c);

#endif
