/* envoy.filters.http.jwt_authn: Envoy's filter, with Envoy's config (envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication). */
#ifndef DP_FILTERS_JWT_AUTHN_H
#define DP_FILTERS_JWT_AUTHN_H

#include "filters/filter.h"

extern const dp_http_filter_factory_t dp_filter_jwt_authn;

#endif
