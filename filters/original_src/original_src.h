/* envoy.filters.http.original_src: the upstream connection of this
 * request comes from the client's address as the connection manager
 * derived it (use_remote_address / xff_num_trusted_hops: the trusted
 * X-Forwarded-For hop), with an optional SO_MARK. The router does the
 * binding (dataplane/transparent/transparent.h). */
#ifndef DP_FILTERS_ORIGINAL_SRC_H
#define DP_FILTERS_ORIGINAL_SRC_H

#include "filters/filter.h"

extern const dp_http_filter_factory_t dp_filter_original_src;

#endif
