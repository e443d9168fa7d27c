/* Internal, immutable form of envoy.config.cluster.v3.Cluster (with its
 * ClusterLoadAssignment), built by xds/translate_cluster.c. The mutable
 * side of a cluster (stats, circuit-breaker counters) lives in
 * dp_cluster_rt_t, looked up by name, so it survives config swaps. */
#ifndef DP_UPSTREAM_CLUSTER_T_H
#define DP_UPSTREAM_CLUSTER_T_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/http/hcm-t.h" /* dp_h2_options_t */

typedef enum {
    DP_LB_ROUND_ROBIN = 0, /* Envoy's enum values */
    DP_LB_LEAST_REQUEST = 1,
    DP_LB_RANDOM = 3,
    DP_LB_CLUSTER_PROVIDED = 6, /* ORIGINAL_DST clusters */
} dp_lb_policy_t;

typedef enum {
    DP_CLUSTER_STATIC = 0,
    DP_CLUSTER_EDS = 3,
    DP_CLUSTER_ORIGINAL_DST = 4, /* the address a filter chose (dp_stream_t.original_dst) */
} dp_cluster_type_t;

typedef struct dp_endpoint {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    uint32_t weight;      /* load_balancing_weight, default 1 */
    bool healthy;         /* health_status UNKNOWN/HEALTHY -> true */
    char addr_str[64];    /* "10.0.0.1:8080" for admin/stats only, never in responses */
    uint32_t priority;
    uint32_t locality;    /* index into dp_cluster_cfg_t.localities */
    /* load_stats.c's counters for this endpoint's (cluster, locality,
     * priority), found on first use: a cache, not configuration (entries
     * live as long as the process, an endpoint in one cluster only) */
    _Atomic(struct ls_entry *) load_entry;
} dp_endpoint_t;

/* envoy.config.core.v3.Locality of a LocalityLbEndpoints entry (load
 * reports are per cluster and locality). Empty strings when unset. */
typedef struct dp_locality {
    char *region, *zone, *sub_zone;
} dp_locality_t;

struct dp_cluster_rt; /* dataplane/upstream/cluster.h */
struct dp_hc_cfg;     /* dataplane/upstream/health.h: Cluster.health_checks */
struct dp_outlier_cfg; /* dataplane/upstream/outlier.h: Cluster.outlier_detection */
struct dp_tls_ctx;    /* dataplane/transport/tls.h */

/* The upstream HTTP protocol (typed_extension_protocol_options
 * envoy.extensions.upstreams.http.v3.HttpProtocolOptions). */
typedef enum {
    DP_UPSTREAM_HTTP1 = 0, /* default, as Envoy */
    DP_UPSTREAM_HTTP2 = 1, /* explicit_http_config.http2_protocol_options */
    DP_UPSTREAM_DOWNSTREAM = 2, /* use_downstream_protocol_config: the downstream request's */
} dp_upstream_proto_t;

typedef struct dp_cluster_cfg {
    _Atomic int refcnt;
    char *name;
    dp_cluster_type_t type;
    dp_lb_policy_t lb_policy;
    uint64_t connect_timeout_ms; /* default 5000 */
    uint32_t per_connection_buffer_limit_bytes; /* default 1 MiB */
    /* circuit_breakers, default priority thresholds (Envoy defaults 1024/1024/1024/3) */
    uint32_t max_connections;
    uint32_t max_pending_requests;
    uint32_t max_requests;
    uint32_t max_retries;
    /* least_request_lb_config.choice_count, default 2 */
    uint32_t choice_count;
    dp_endpoint_t *endpoints;
    size_t n_endpoints;
    char *eds_service_name; /* EDS: the ClusterLoadAssignment name, else NULL */
    dp_locality_t *localities; /* one per LocalityLbEndpoints (at least one when there are endpoints) */
    size_t n_localities;
    struct dp_hc_cfg *hc;           /* active health checks, NULL none */
    struct dp_outlier_cfg *outlier; /* passive health (outlier detection), NULL none */

    /* upstream protocol and its options */
    dp_upstream_proto_t proto;
    dp_h2_options_t h2;              /* HTTP/2 options (defaults unless set) */
    uint64_t idle_timeout_ms;        /* common_http_protocol_options.idle_timeout [1 h]; 0 off */
    uint32_t max_requests_per_connection; /* 0: unlimited */

    /* transport_socket envoy.transport_sockets.tls (UpstreamTlsContext):
     * NULL plaintext. sni: UpstreamTlsContext.sni, or NULL. ALPN offered is
     * part of the context (h2 and/or http/1.1 as the protocol asks). */
    struct dp_tls_ctx *tls;
    char *tls_sni;
    /* transport_socket envoy.transport_sockets.upstream_proxy_protocol
     * (wrapping the one above): 0 none, else the PROXY protocol version
     * each connection starts with, naming the downstream's addresses */
    uint8_t proxy_protocol;
    char **sds_names; /* SDS secrets the context was built from */
    size_t n_sds_names;
    struct dp_cluster_rt *rt;  /* runtime state shared across snapshots */
} dp_cluster_cfg_t;

#endif
