/* Listener filters and the transparent-upstream check of a listener
 * (xds/translate_listener_filters.c). Internal to xds/translate_listener.c. */
#ifndef DP_XDS_TRANSLATE_LISTENER_FILTERS_H
#define DP_XDS_TRANSLATE_LISTENER_FILTERS_H

#include "dataplane/http/hcm-t.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "xds/translate_util.h"

#define DP_HTTP_ORIGINAL_SRC_NAME "envoy.filters.http.original_src"

/* What the listener filters said, for the check after the chains. */
typedef struct dp_lf_state {
    int original_src_idx;  /* listener_filters index of original_src, -1 none */
    bool fallback_forward; /* original_src_fallback FORWARD_CLIENT_ADDRESS */
} dp_lf_state_t;

/* At the Listener's path: sets l->original_src*. */
int dp_xlate__listener_filters(dp_xlate_t *x, const Envoy__Config__Listener__V3__Listener *m, dp_listener_cfg_t *l,
                               dp_lf_state_t *st);
/* After the filter chains: a listener with original_src (listener filter,
 * or the HTTP filter in a chain) needs transparent sockets; where they
 * cannot be had it is refused, or marked forward_client_address when its
 * fallback says so. */
int dp_xlate__transparent_check(dp_xlate_t *x, dp_listener_cfg_t *l, const dp_lf_state_t *st);

#endif
