/* The control stub's ADS service (SotW and Delta), on the stub's shared
 * completion queue (stub_server.h, stub_call.h), driven from one thread:
 * no locks, and nothing a client does can block the loop (sends are one at
 * a time per stream and coalesced per type, so a client that does not
 * read costs one pending message, not a growing queue).
 *
 * Streams are keyed by the node id of their first request. Per node and
 * type the server keeps a version counter, bumped when the node's set of
 * that type changes; per stream and type the subscription (names or
 * wildcard), the last nonce and version sent. Protocol (Envoy's xDS doc):
 * the first request of a type and a change of subscribed names are
 * answered; an ACK (nonce of the last response, no error_detail) or a
 * NACK (error_detail) is logged and not answered; a request carrying
 * another nonce is stale and ignored; a fleet change is pushed to every
 * stream whose view changed. A node id absent from the fleet gets nothing
 * (logged) until the fleet names it.
 *
 * Delta (DeltaAggregatedResources): per-resource versions (a digest of the
 * encoded resource), LDS/CDS/Project/Container wildcard (legacy empty
 * first subscribe, or "*"), RDS/EDS by subscribe/unsubscribe,
 * initial_resource_versions
 * honoured on a new stream (only what differs is sent), removed_resources
 * for a name the client holds that disappears. ACK/NACK as SotW.
 *
 * Replay (dp_stubads_set_replay): the fleet is not served; the k-th stream
 * accepted replays the k-th recorded stream, each recorded response sent
 * once the stream has received as many requests as precede it in the
 * recording. */
#ifndef DP_STUB_ADS_SERVER_H
#define DP_STUB_ADS_SERVER_H

#include <grpc/grpc.h>
#include <jansson.h>
#include <stddef.h>

#include "control-stub/fleet.h"
#include "control-stub/fleet_xlate.h"
#include "control-stub/replay.h"

typedef struct dp_stubads dp_stubads_t;

dp_stubads_t *dp_stubads_create(void);

/* Serves `call` (accepted for StreamAggregatedResources, or
 * DeltaAggregatedResources when `delta`); `live` counts the server's live
 * calls (stub_call.h). */
void dp_stubads_accept(dp_stubads_t *a, grpc_call *call, int delta, unsigned id, int *live);

/* Makes `f` the served fleet (translated here; `f` is not retained) and
 * pushes what changed to every stream. On failure (translation error)
 * the previous fleet stays. Returns 0 or DP_EINVAL (errbuf). */
int dp_stubads_set_fleet(dp_stubads_t *a, const dp_fleet_t *f, char *errbuf, size_t errlen);

/* Serves the recording `rp` (not owned; must outlive the server) instead
 * of any fleet. Call before any stream is accepted. */
void dp_stubads_set_replay(dp_stubads_t *a, const dp_replay_t *rp);

/* One resource of type t of node `node` changed (or appeared): puts *r
 * in the node's set (taking its contents) and sends it alone to the
 * node's Delta streams (SotW streams get their whole view again).
 * O(log N) for the set and O(1) per stream, whatever the fleet's size.
 * Returns 1 when it changed, 0 when the same bytes were there, DP_EINVAL
 * for a node not in the fleet (or when replaying). */
int dp_stubads_put(dp_stubads_t *a, const char *node, int t, dp_xres_t *r);

/* GET /status, ADS part: a new object {NAME: {"connected", "streams",
 * "in_fleet", "types": {"LDS": {"type_url", "version_sent",
 * "version_acked", "last_nack": {"version", "error", "time"}}, ...
 * "Project", "Container"}}}. Nodes are those of the fleet plus any that
 * connected. */
json_t *dp_stubads_status(const dp_stubads_t *a);

/* Frees the state; every stream must be gone (the server shut down). */
void dp_stubads_destroy(dp_stubads_t *a);

#endif
