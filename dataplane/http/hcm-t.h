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

/* Http2ProtocolOptions (core/v3/protocol.proto), Envoy's defaults in
 * brackets. The codec stops reading a connection whose buffered request
 * data exceeds the listener's per_connection_buffer_limit_bytes, so memory
 * stays bounded whatever the windows. */
typedef struct dp_h2_options {
    uint32_t hpack_table_size;               /* [4096] */
    uint32_t max_concurrent_streams;         /* [2147483647] */
    uint32_t initial_stream_window_size;     /* [268435456] */
    uint32_t initial_connection_window_size; /* [268435456] */
    bool allow_connect;                      /* extended CONNECT, RFC 8441 [false] */
    uint32_t max_outbound_frames;            /* [10000] */
    uint32_t max_outbound_control_frames;    /* [1000] */
    uint32_t max_consecutive_inbound_frames_with_empty_payload; /* [1] */
    uint32_t max_inbound_priority_frames_per_stream;            /* [100] */
    uint32_t max_inbound_window_update_frames_per_data_frame_sent; /* [10] */
} dp_h2_options_t;

/* Fills o with Envoy's defaults. */
void dp_h2_options_default(dp_h2_options_t *o);

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

    dp_h2_options_t h2; /* http2_protocol_options */
    dp_upgrade_cfg_t *upgrades; /* upgrade_configs */
    size_t n_upgrades;

    /* http_protocol_options (Http1ProtocolOptions) */
    bool accept_http_10;
    char *default_host_for_http_10;

    struct dp_access_log **access_logs;
    size_t n_access_logs;

    /* http.<stat_prefix>.* stats, resolved on first use (dp_hcm_stats_of) */
    _Atomic(struct dp_hcm_stats *) stats;
} dp_hcm_cfg_t;

struct dp_tls_ctx; /* dataplane/transport/tls.h */

/* A listener filter chain: what it matches (FilterChainMatch: the fields we
 * implement; the translator refuses the others by name), its transport
 * socket and its HTTP connection manager. */
typedef struct dp_filter_chain {
    char *name;
    char **server_names; /* lowercase, "*.example.com" wildcards; n 0: any */
    size_t n_server_names;
    char *transport_protocol; /* "tls", "raw_buffer", NULL: any */
    char **application_protocols; /* ALPN offered by the client; n 0: any */
    size_t n_application_protocols;
    struct dp_tls_ctx *tls; /* DownstreamTlsContext; NULL: raw_buffer */
    char **sds_names;       /* SDS secrets the context was built from (re-translation on rotation) */
    size_t n_sds_names;
    dp_hcm_cfg_t *hcm;
} dp_filter_chain_t;

typedef struct dp_listener_cfg {
    _Atomic int refcnt;
    char *name;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_str[64];
    uint32_t per_connection_buffer_limit_bytes; /* default 1 MiB */
    dp_filter_chain_t *chains; /* filter_chains, in order */
    size_t n_chains;
    dp_filter_chain_t *default_chain; /* default_filter_chain, or NULL */
    bool any_tls;                     /* some chain terminates TLS (sniff the first byte) */
    uint64_t listener_filters_timeout_ms; /* [15 s]: TLS sniffing + handshake */
    bool drain_modify_only; /* drain_type MODIFY_ONLY: no drain on /healthcheck/fail */
    bool inbound;           /* traffic_direction INBOUND (/drain_listeners?inboundonly) */
    /* listener_filters envoy.filters.listener.original_src: upstream
     * connections for this listener's requests come from the client's
     * address (dataplane/transparent/transparent.h) */
    bool original_src;
    bool original_src_bind_port; /* the client's port too */
    uint32_t original_src_mark;  /* SO_MARK on the upstream socket, 0 none */
    /* original_src (listener or HTTP filter) configured but transparent
     * sockets unavailable here, and dataplane.filters.listener.
     * original_src_fallback says FORWARD_CLIENT_ADDRESS: no bind; the
     * client address goes in X-Forwarded-For / X-Real-IP (or a PROXY
     * header where the cluster sends one) */
    bool forward_client_address;
    struct dp_access_log **access_logs; /* listener-level access_log */
    size_t n_access_logs;
    /* listener.<address>.* stats, resolved on first use (dp_listener_stats_of) */
    _Atomic(struct dp_listener_stats *) stats;
} dp_listener_cfg_t;

/* The filter chains of a listener, default_filter_chain last. */
static inline size_t dp_listener_n_chains(const dp_listener_cfg_t *l)
{
    return l->n_chains + (l->default_chain != NULL);
}
static inline dp_filter_chain_t *dp_listener_chain(const dp_listener_cfg_t *l, size_t i)
{
    return i < l->n_chains ? &l->chains[i] : l->default_chain;
}

#endif
