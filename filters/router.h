/* envoy.filters.http.router: the terminal filter. Picks the upstream for
 * the route, gets a pooled connection, streams the request body up and the
 * response back with backpressure both ways, and turns upstream failures
 * into Envoy's local replies (503 UF/UH/UO, 502 UC, 504 UT). */
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
/* Request trailers (s->req_trailers): the request is complete. */
void dp_router_on_trailers(struct dp_stream *s);
/* Downstream drained: resume reading the upstream response. */
void dp_router_on_writable(struct dp_stream *s);
/* The stream is going away: release the upstream (no callbacks after). */
void dp_router_detach(struct dp_stream *s);
/* True once the router writes request body upstream directly. */
bool dp_router_streaming(const struct dp_stream *s);

#endif
