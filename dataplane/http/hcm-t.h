/* Internal, immutable form of a listener and its
 * envoy.extensions.filters.network.http_connection_manager.v3
 * .HttpConnectionManager, built by xds/translate_listener.c. */
#ifndef DP_HTTP_HCM_T_H
#define DP_HTTP_HCM_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/http/route-t.h"
#include "filters/filter.h"

struct dp_access_log; /* dataplane/http/access_log.h */

typedef enum {
    DP_CODEC_AUTO = 0, /* Envoy's CodecType values */
    DP_CODEC_HTTP1 = 1,
    DP_CODEC_HTTP2 = 2,
} dp_codec_type_t;

typedef enum {
    DP_STRIP_PORT_NONE,
    DP_STRIP_MATCHING_PORT, /* strip_matching_host_port */
    DP_STRIP_ANY_PORT,      /* strip_any_host_port */
} dp_strip_port_t;

typedef enum {
    DP_SERVER_HDR_OVERWRITE = 0, /* ServerHeaderTransformation values */
    DP_SERVER_HDR_APPEND_IF_ABSENT = 1,
    DP_SERVER_HDR_PASS_THROUGH = 2,
} dp_server_hdr_t;

typedef struct dp_hcm_cfg {
    char *stat_prefix;
    dp_codec_type_t codec_type;
    dp_route_config_t *route_config; /* inline route_config (refcounted) */
    char *rds_name;                  /* rds.route_config_name, NULL if inline */
    dp_http_filter_cfg_t *filters;   /* in order; the last is the router */
    size_t n_filters;

    bool use_remote_address;
    uint32_t xff_num_trusted_hops;
    bool skip_xff_append;
    bool generate_request_id;   /* default true */
    bool preserve_external_request_id;
    char *server_name;          /* default "envoy" */
    dp_server_hdr_t server_header_transformation;
    dp_strip_port_t strip_port;

    uint32_t max_request_headers_kb;   /* default 60 */
    uint32_t max_headers_count;        /* common_http_protocol_options, default 100 */
    uint64_t idle_timeout_ms;          /* common_http_protocol_options.idle_timeout, default 1h; 0 off */
    uint64_t stream_idle_timeout_ms;   /* default 5 min; 0 off */
    uint64_t request_timeout_ms;       /* default 0 (off) */
    uint64_t request_headers_timeout_ms; /* default 0 (off) */
    uint64_t drain_timeout_ms;         /* default 5 s */

    /* http_protocol_options (Http1ProtocolOptions) */
    bool accept_http_10;
    char *default_host_for_http_10;

    struct dp_access_log **access_logs;
    size_t n_access_logs;

    /* http.<stat_prefix>.* stats, resolved on first use (dp_hcm_stats_of) */
    _Atomic(struct dp_hcm_stats *) stats;
} dp_hcm_cfg_t;

typedef struct dp_listener_cfg {
    _Atomic int refcnt;
    char *name;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_str[64];
    uint32_t per_connection_buffer_limit_bytes; /* default 1 MiB */
    /* One filter chain for now (filter_chain_match arrives with TLS/SNI). */
    dp_hcm_cfg_t *hcm;
    struct dp_access_log **access_logs; /* listener-level access_log */
    size_t n_access_logs;
    /* listener.<address>.* stats, resolved on first use (dp_listener_stats_of) */
    _Atomic(struct dp_listener_stats *) stats;
} dp_listener_cfg_t;

#endif
