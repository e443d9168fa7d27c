/* envoy.filters.http.router: the terminal filter. Picks the upstream for
 * the route, gets a stream on a pooled connection of the cluster's
 * protocol (HTTP/1.1, HTTP/2, or the downstream's; dataplane/upstream/
 * upconn.h), streams the request body (and trailers, which only HTTP/2
 * upstreams carry) up and the response (and its trailers) back with
 * backpressure both ways, and turns upstream failures into Envoy's local
 * replies (503 UF/UH/UO, 503 UR on a reset before headers, 502 UC/UPE,
 * 504 UT). A refused stream (HTTP/2 REFUSED_STREAM or above a GOAWAY's
 * last_stream_id) or a reused HTTP/1.1 connection closed under a request
 * is retried once when the request has no body.
 *
 * Upgrades (s->upgrade, allowed by the HCM) go to an HTTP/1.1 connection
 * as GET with Connection/Upgrade restored; a 101 sets s->upgraded and the
 * connection becomes a byte tunnel whose ends are half-closes; no route
 * timeout applies to them. */
#ifndef DP_FILTERS_ROUTER_H
#define DP_FILTERS_ROUTER_H

#include <stdbool.h>
#include <stddef.h>

#include "filters/filter.h"

struct dp_stream;

extern const dp_http_filter_factory_t dp_filter_router;

/* Called by the HCM while s->up is set. */
/* Request body: the router takes (copies or writes) all of it. */
void dp_router_on_body(struct dp_stream *s, const char *data, size_t len, bool end_stream);
/* Request trailers (s->req_trailers): the request is complete (HTTP/1.1
 * upstreams: the body ends, the trailers are dropped). */
void dp_router_on_trailers(struct dp_stream *s);
/* Downstream drained: resume reading the upstream response. */
void dp_router_on_writable(struct dp_stream *s);
/* The stream is going away: release the upstream (no callbacks after). */
void dp_router_detach(struct dp_stream *s);
/* True once the router writes request body upstream directly. */
bool dp_router_streaming(const struct dp_stream *s);

#endif
