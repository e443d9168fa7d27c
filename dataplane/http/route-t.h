/* Internal, immutable form of envoy.config.route.v3.RouteConfiguration,
 * built by xds/translate_route.c and read on the hot path by
 * dataplane/http/route.c. All strings are NUL-terminated and owned by the
 * route config (freed with it). Header names are stored lowercase. */
#ifndef DP_HTTP_ROUTE_T_H
#define DP_HTTP_ROUTE_T_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

/* envoy.type.matcher.v3.StringMatcher (safe_regex is NACKed, not modelled) */
typedef enum {
    DP_STRMATCH_EXACT,
    DP_STRMATCH_PREFIX,
    DP_STRMATCH_SUFFIX,
    DP_STRMATCH_CONTAINS,
} dp_strmatch_kind_t;

typedef struct dp_strmatch {
    dp_strmatch_kind_t kind;
    bool ignore_case;
    char *value;
    size_t value_len;
} dp_strmatch_t;

/* envoy.config.route.v3.HeaderMatcher */
typedef enum {
    DP_HDRMATCH_PRESENT,  /* present_match: true/false in `present` */
    DP_HDRMATCH_STRING,   /* string_match and the deprecated exact/prefix/suffix/contains_match */
} dp_hdrmatch_kind_t;

typedef struct dp_hdrmatch {
    char *name; /* lowercase; ":authority", ":path", ":method", ":scheme" are pseudo headers */
    dp_hdrmatch_kind_t kind;
    bool present;
    dp_strmatch_t str;
    bool invert;
    bool treat_missing_as_empty;
} dp_hdrmatch_t;

/* envoy.config.core.v3.HeaderValueOption.HeaderAppendAction */
typedef enum {
    DP_APPEND_IF_EXISTS_OR_ADD = 0,
    DP_ADD_IF_ABSENT = 1,
    DP_OVERWRITE_IF_EXISTS_OR_ADD = 2,
    DP_OVERWRITE_IF_EXISTS = 3,
} dp_append_action_t;

typedef struct dp_hdr_add {
    char *name; /* lowercase */
    char *value;
    dp_append_action_t action;
    bool keep_empty_value;
} dp_hdr_add_t;

/* Headers to add and remove at one level (route config, vhost, route,
 * weighted cluster). Applied innermost first, as Envoy does by default
 * (most_specific_header_mutations_wins = false: outer levels win). */
typedef struct dp_hdr_mutations {
    dp_hdr_add_t *add;
    size_t n_add;
    char **remove; /* lowercase */
    size_t n_remove;
} dp_hdr_mutations_t;

struct dp_http_filter_factory; /* filters/filter.h */

/* One typed_per_filter_config entry: the per-route config of the HTTP
 * filter named `name` (the HttpFilter name in the HCM), or a FilterConfig
 * that only disables / enables it (config NULL). */
typedef struct dp_filter_override {
    char *name;
    const struct dp_http_filter_factory *factory; /* NULL iff config is NULL */
    void *config;
    bool disabled; /* FilterConfig.disabled */
} dp_filter_override_t;

typedef struct dp_filter_overrides {
    dp_filter_override_t *v;
    size_t n;
} dp_filter_overrides_t;

typedef struct dp_weighted_cluster {
    char *name;
    uint32_t weight;
    dp_hdr_mutations_t req, resp;
} dp_weighted_cluster_t;

typedef enum {
    DP_ROUTE_ACTION_CLUSTER,   /* route: cluster / cluster_header / weighted_clusters */
    DP_ROUTE_ACTION_REDIRECT,  /* redirect */
    DP_ROUTE_ACTION_DIRECT,    /* direct_response */
} dp_route_action_kind_t;

typedef enum {
    DP_PATHMATCH_PREFIX,
    DP_PATHMATCH_PATH,
    DP_PATHMATCH_SEPARATED_PREFIX, /* path_separated_prefix */
} dp_pathmatch_kind_t;

/* HttpConnectionManager.UpgradeConfig and RouteAction.UpgradeConfig
 * (upgrade filters are refused by the translator). */
typedef struct dp_upgrade_cfg {
    char *upgrade_type; /* lowercase: "websocket" */
    bool enabled;       /* [true] */
} dp_upgrade_cfg_t;

typedef struct dp_route {
    char *name;
    /* match */
    dp_pathmatch_kind_t path_kind;
    char *path;  /* prefix / exact path / separated prefix */
    size_t path_len;
    bool case_sensitive; /* RouteMatch.case_sensitive, default true */
    dp_hdrmatch_t *headers;
    size_t n_headers;

    dp_route_action_kind_t action;

    /* DP_ROUTE_ACTION_CLUSTER */
    char *cluster;        /* cluster, or NULL */
    char *cluster_header; /* cluster_header (lowercase), or NULL */
    dp_weighted_cluster_t *weighted;
    size_t n_weighted;
    uint32_t total_weight; /* sum of weights */
    int cluster_not_found_code; /* 503 (SERVICE_UNAVAILABLE), 404 or 500 */
    char *prefix_rewrite;       /* NULL: none */
    char *host_rewrite_literal; /* NULL: none */
    uint64_t timeout_ms;        /* default 15000; 0 disables */
    bool has_idle_timeout;
    uint64_t idle_timeout_ms;
    dp_upgrade_cfg_t *upgrades; /* RouteAction.upgrade_configs: override the HCM's per type */
    size_t n_upgrades;

    /* DP_ROUTE_ACTION_REDIRECT (envoy.config.route.v3.RedirectAction) */
    char *redirect_scheme; /* https_redirect -> "https"; NULL keeps */
    char *redirect_host;   /* NULL keeps */
    uint32_t redirect_port; /* 0 keeps */
    char *redirect_path;   /* path_redirect, or NULL */
    char *redirect_prefix; /* prefix_rewrite, or NULL */
    int redirect_code;     /* 301 default, 302, 303, 307, 308 */
    bool strip_query;

    /* DP_ROUTE_ACTION_DIRECT */
    int direct_status;
    char *direct_body; /* may be NULL */
    size_t direct_body_len;

    dp_hdr_mutations_t req, resp;
    dp_filter_overrides_t per_filter;
} dp_route_t;

typedef enum {
    DP_REQUIRE_TLS_NONE = 0,
    DP_REQUIRE_TLS_EXTERNAL_ONLY = 1,
    DP_REQUIRE_TLS_ALL = 2,
} dp_require_tls_t;

typedef struct dp_vhost {
    char *name;
    char **domains;
    size_t n_domains;
    dp_route_t *routes;
    size_t n_routes;
    dp_require_tls_t require_tls;
    dp_hdr_mutations_t req, resp;
    dp_filter_overrides_t per_filter;
} dp_vhost_t;

/* Domain index for O(1)-ish virtual host selection; built by
 * dp_route_config_index(), opaque to everyone else. */
typedef struct dp_domain_index dp_domain_index_t;

typedef struct dp_route_config {
    _Atomic int refcnt;
    char *name;
    dp_vhost_t *vhosts;
    size_t n_vhosts;
    dp_hdr_mutations_t req, resp;
    dp_filter_overrides_t per_filter;
    dp_domain_index_t *index;
} dp_route_config_t;

#endif
