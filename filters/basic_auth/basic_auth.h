/* envoy.filters.http.basic_auth: Envoy's filter, with Envoy's config (envoy.extensions.filters.http.basic_auth.v3.BasicAuth). */
#ifndef DP_FILTERS_BASIC_AUTH_H
#define DP_FILTERS_BASIC_AUTH_H

#include "filters/filter.h"

extern const dp_http_filter_factory_t dp_filter_basic_auth;

#endif
