/* The control stub's ADS server (SotW) on the grpc core server API.
 *
 * One completion queue, driven by dp_stubsrv_poll() from a single thread:
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
 * (logged) until the fleet names it. Delta (DeltaAggregatedResources) is
 * answered UNIMPLEMENTED for now. */
#ifndef DP_STUB_ADS_SERVER_H
#define DP_STUB_ADS_SERVER_H

#include <stddef.h>

#include "control-stub/fleet.h"

typedef struct dp_stubsrv dp_stubsrv_t;

/* Binds `listen` ("HOST:PORT", port 0 picks one) and starts serving
 * nothing (no fleet yet). *port receives the bound port. Returns 0 or
 * DP_ERR (errbuf says why: bind failure). */
int dp_stubsrv_create(const char *listen, dp_stubsrv_t **out, int *port, char *errbuf, size_t errlen);

/* Makes `f` the served fleet (translated here; `f` is not retained) and
 * pushes what changed to every stream. On failure (translation error)
 * the previous fleet stays. Returns 0 or DP_EINVAL (errbuf). */
int dp_stubsrv_set_fleet(dp_stubsrv_t *s, const dp_fleet_t *f, char *errbuf, size_t errlen);

/* Handles completion events for up to timeout_ms. */
void dp_stubsrv_poll(dp_stubsrv_t *s, int timeout_ms);

/* Cancels every stream, shuts the server down and frees everything. */
void dp_stubsrv_destroy(dp_stubsrv_t *s);

#endif
