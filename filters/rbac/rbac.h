/* envoy.filters.http.rbac: Envoy's filter, with Envoy's config (envoy.extensions.filters.http.rbac.v3.RBAC). */
#ifndef DP_FILTERS_RBAC_H
#define DP_FILTERS_RBAC_H

#include "filters/filter.h"

extern const dp_http_filter_factory_t dp_filter_rbac;

#endif
