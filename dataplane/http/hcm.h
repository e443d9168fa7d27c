/* HTTP connection manager internals shared by the codecs and the router:
 * per-listener and per-HCM stats, the reason phrases, local replies. */
#ifndef DP_HTTP_HCM_H
#define DP_HTTP_HCM_H

#include "dataplane/admin/stats.h"
#include "dataplane/http/stream.h"

/* http.<stat_prefix>.* */
typedef struct dp_hcm_stats {
    dp_stat_t *cx_total, *cx_active, *cx_http1_total, *cx_http2_total, *cx_destroy, *cx_protocol_error;
    dp_stat_t *cx_upgrades_total, *cx_upgrades_active;
    dp_stat_t *rq_total, *rq_http1_total, *rq_http2_total, *rq_active, *rq_xx[6], *rq_completed;
    dp_stat_t *rq_ws_on_non_ws_route, *rq_rx_reset, *rq_tx_reset;
    dp_stat_t *rq_timeout, *rq_idle_timeout, *rq_header_timeout, *rs_too_large;
} dp_hcm_stats_t;

/* listener.<address>.* (Envoy's listener stats), with the TLS ones under
 * listener.<address>.ssl.* (versions.<v> and ciphers.<c> made on use) */
typedef struct dp_listener_stats {
    const char *name; /* <address>: "127.0.0.1_10000" */
    dp_stat_t *cx_total, *cx_active, *cx_destroy, *no_filter_chain_match;
    dp_stat_t *ssl_handshake, *ssl_connection_error, *ssl_session_reused, *ssl_no_certificate;
} dp_listener_stats_t;

/* The stats of a stat prefix / listener address, created on first use and
 * cached (stats live forever). */
dp_hcm_stats_t *dp_hcm_stats_get(const char *stat_prefix);
dp_listener_stats_t *dp_listener_stats_get(const char *addr_str);

/* The same, cached in the (immutable) config object: a benign race where
 * two threads store the same pointer. */
dp_hcm_stats_t *dp_hcm_stats_of(const dp_hcm_cfg_t *h);
dp_listener_stats_t *dp_listener_stats_of(const dp_listener_cfg_t *l);

const char *dp_http_reason(int status);
/* Appends addr to the request's X-Forwarded-For (its first line, as
 * Envoy), or adds the header; copies addr into the stream's arena. */
struct dp_stream;
void dp_stream_xff_append(struct dp_stream *s, const char *addr);
/* Envoy's Grpc::Utility::httpToGrpcStatus. */
int dp_grpc_status_of_http(int status);

/* Server-wide counters: http.<prefix> does not exist for protocol errors
 * that happen before a request has a listener... it always has one. */

#endif
