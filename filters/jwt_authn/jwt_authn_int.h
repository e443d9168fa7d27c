/* Internals of envoy.filters.http.jwt_authn, shared by its files:
 *
 *   config.c      JwtAuthentication / PerRouteConfig -> ja_config_t (immutable)
 *   extract.c     token locations, header sanitizing, claim headers, query edits
 *   verify.c      per request: the requirement tree, one authenticator per leaf
 *   jwks_fetch.c  remote JWKS through a cluster's connection pool
 *   filter.c      the factory, the rule / per-route choice, replies, stats
 *
 * The request life cycle (Envoy's Verifier / Authenticator design):
 *
 *   on_request_headers -> rule or per-route requirement -> verify tree
 *     leaf (provider / allow_missing[_or_failed]): extract tokens, check
 *       each (cache, parse, issuer, subject, time, lifetime, audiences,
 *       signature); a remote JWKS not cached on this worker is fetched
 *       while the request waits (DP_FILTER_STOP)
 *     requires_any / requires_all: combine children as Envoy does
 *   root done -> metadata, then continue or 401/403 (dp_stream_continue
 *     when it finished asynchronously).
 *
 * Per worker thread, each provider has a slot (remote JWKS + expiry, JWT
 * cache), touched only by that worker and freed with the config: a
 * request holds the snapshot, hence the config, while it uses a slot. */
#ifndef DP_FILTERS_JWT_AUTHN_INT_H
#define DP_FILTERS_JWT_AUTHN_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/admin/stats.h"
#include "dataplane/http/route-t.h"
#include "dataplane/http/stream.h"
#include "filters/filter.h"
#include "filters/auth/jwks.h"
#include "filters/auth/jwt.h"
#include "filters/auth/jwt_cache.h"

#define JA_MAX_WORKERS 256 /* --concurrency is at most 256 */
#define JA_METADATA_NS "envoy.filters.http.jwt_authn"
#define JA_DEFAULT_CACHE_MS (10 * 60 * 1000) /* RemoteJwks.cache_duration default */

/* Issuers that configured a token location (Envoy's JwtIssuerChecker). */
typedef struct ja_issuers {
    bool all; /* a provider without issuer: any */
    const char **v;
    size_t n;
} ja_issuers_t;

typedef enum { JA_LOC_HEADER, JA_LOC_PARAM, JA_LOC_COOKIE } ja_loc_kind_t;

typedef struct ja_loc {
    ja_loc_kind_t kind;
    char *name;   /* header (lowercase), query parameter or cookie name */
    char *prefix; /* JA_LOC_HEADER: value prefix, "" none */
    ja_issuers_t issuers;
} ja_loc_t;

/* Where a leaf looks for tokens, in Envoy's order: headers sorted by
 * name + prefix, then parameters, then cookies, each sorted by name. */
typedef struct ja_extractor {
    ja_loc_t *locs;
    size_t n;
    char **sanitize; /* forward_payload_header and claim_to_headers names, lowercase */
    size_t n_sanitize;
} ja_extractor_t;

typedef struct ja_claim_hdr {
    char *header; /* lowercase */
    char *claim;
} ja_claim_hdr_t;

typedef struct ja_hdr_cfg {
    char *name; /* lowercase */
    char *prefix;
} ja_hdr_cfg_t;

/* One provider's per-worker state. */
typedef struct ja_slot {
    dp_jwks_t *jwks;      /* fetched remote JWKS, or NULL */
    uint64_t expire_ms;   /* dp_now_ms() after which jwks is stale */
    dp_jwt_cache_t *cache; /* NULL until first use; only with jwt_cache_config */
} ja_slot_t;

typedef struct ja_provider {
    char *name;
    char *issuer; /* "" any */
    char **audiences;
    size_t n_aud;
    bool has_subjects;
    dp_strmatch_t subjects;
    bool has_max_lifetime;      /* max_lifetime or require_expiration */
    uint64_t max_lifetime_ns;   /* UINT64_MAX: require_expiration only */
    /* JWKS */
    bool remote;
    dp_jwks_t *local;           /* local_jwks, or NULL when it did not parse */
    char *cluster, *uri, *uri_host, *uri_path;
    uint64_t timeout_ms;        /* 0: none */
    uint64_t cache_ms;
    /* extraction and forwarding */
    bool forward;
    ja_hdr_cfg_t *from_headers;
    size_t n_from_headers;
    char **from_params;
    size_t n_from_params;
    char **from_cookies;
    size_t n_from_cookies;
    char *forward_payload_header; /* lowercase, NULL none */
    bool pad_forward_payload_header;
    char *payload_in_metadata, *header_in_metadata, *failed_status_in_metadata; /* NULL none */
    char **space_delimited_claims;
    size_t n_space_delimited;
    uint32_t clock_skew_s;
    bool cache_enabled;
    uint32_t cache_size;
    ja_claim_hdr_t *claim_to_headers;
    size_t n_claim_to_headers;
    ja_slot_t *slots; /* JA_MAX_WORKERS */
} ja_provider_t;

typedef enum {
    JA_V_ALLOW_ALL,      /* requirement not set */
    JA_V_PROVIDER,       /* provider_name / provider_and_audiences */
    JA_V_ANY,            /* requires_any */
    JA_V_ALL,            /* requires_all */
    JA_V_ALLOW_FAILED,   /* allow_missing_or_failed */
    JA_V_ALLOW_MISSING,  /* allow_missing */
} ja_vkind_t;

typedef struct ja_verifier {
    ja_vkind_t kind;
    size_t id; /* index of its state in a request */
    struct ja_verifier *parent;
    const ja_provider_t *provider; /* JA_V_PROVIDER */
    bool has_audiences;            /* provider_and_audiences: these replace the provider's */
    char **audiences;
    size_t n_aud;
    ja_extractor_t ex;             /* JA_V_PROVIDER, JA_V_ALLOW_* */
    struct ja_verifier **kids;     /* JA_V_ANY, JA_V_ALL */
    size_t n_kids;
    bool any_allow_missing, any_allow_missing_or_failed; /* JA_V_ANY */
} ja_verifier_t;

/* One JwtRequirement, compiled. */
typedef struct ja_tree {
    ja_verifier_t *root;
    size_t n_nodes;
} ja_tree_t;

typedef struct ja_named_tree {
    char *name;
    ja_tree_t *tree;
} ja_named_tree_t;

typedef struct ja_stats {
    dp_stat_group_t *g;
    dp_stat_t *allowed, *denied, *cors_preflight_bypassed, *jwks_fetch_success, *jwks_fetch_failed,
        *jwt_cache_hit, *jwt_cache_miss;
} ja_stats_t;

typedef struct ja_config {
    ja_provider_t *providers; /* in config order */
    size_t n_providers;
    ja_named_tree_t *reqs;    /* requirement_map, sorted by name */
    size_t n_reqs;
    char *all_requirement_names; /* "a,b" for the per-route error */
    dp_vhost_t rules_vh;      /* the rules' matches as routes, for dp_route_match */
    ja_tree_t **rule_trees;   /* per rule: borrowed tree, NULL for no requirement */
    ja_tree_t **owned;        /* every tree the config owns */
    size_t n_owned;
    bool bypass_cors_preflight;
    bool strip_failure_response;
    _Atomic(ja_stats_t *) stats; /* http.<stat_prefix>.jwt_authn.*, on first request */
} ja_config_t;

typedef struct ja_route_config {
    bool disabled;
    char *requirement_name;
} ja_route_config_t;

/* ---- config.c ---- */
int ja_config_create(const ProtobufCMessage *msg, ja_config_t **out, char *errbuf, size_t errlen);
void ja_config_free(ja_config_t *c);
int ja_route_config_create(const ProtobufCMessage *msg, ja_route_config_t **out, char *errbuf, size_t errlen);
void ja_route_config_free(ja_route_config_t *rc);
/* requirement_map[name], or NULL. */
const ja_tree_t *ja_config_find_requirement(const ja_config_t *c, const char *name);
/* The provider's slot for the calling worker, or NULL (no worker id). */
ja_slot_t *ja_slot(const ja_provider_t *p, const dp_stream_t *s);

/* ---- extract.c ---- */
/* A token found in a request; tok is an arena copy. */
typedef struct ja_token {
    const ja_loc_t *loc;
    const char *tok;
    size_t len;
} ja_token_t;

/* Adds the locations of provider p to ex (merging issuers of equal
 * locations), its default ones when it names none; then call
 * ja_extractor_finish once. */
void ja_extractor_add(ja_extractor_t *ex, const ja_provider_t *p);
void ja_extractor_finish(ja_extractor_t *ex);
void ja_extractor_free(ja_extractor_t *ex);
/* Removes the headers the providers fill (forward_payload_header,
 * claim_to_headers) so a client cannot send them. */
void ja_sanitize(const ja_extractor_t *ex, dp_stream_t *s);
/* The tokens of the request, in location order, into an arena array.
 * Returns their count. */
size_t ja_extract(const ja_extractor_t *ex, dp_stream_t *s, ja_token_t **out);
bool ja_issuer_allowed(const ja_issuers_t *iss, const char *jwt_iss);
/* forward: false -> the token leaves the request: its header (every line
 * of that name) or query parameter; cookies stay, as in Envoy. */
void ja_remove_token(dp_stream_t *s, const ja_token_t *t);
/* forward_payload_header and claim_to_headers for a verified token. */
void ja_add_headers(dp_stream_t *s, const ja_provider_t *p, const dp_jwt_t *jwt);
/* The payload for payload_in_metadata, with space_delimited_claims split. */
json_t *ja_payload_metadata(const ja_provider_t *p, const dp_jwt_t *jwt);
/* A cookie's value (quotes stripped), in the arena; NULL when absent. */
char *ja_cookie(dp_arena_t *a, const dp_headers_t *h, const char *name, size_t *len);

/* ---- verify.c ---- */
typedef struct ja_auth ja_auth_t;
typedef struct ja_node_state {
    bool completed;
    size_t n_done;
    dp_jwt_status_t status;
} ja_node_state_t;

/* Per-request state (the filter's state_size; zero when never run). */
typedef struct ja_req {
    dp_stream_t *s;
    const ja_config_t *cfg;
    ja_stats_t *stats;
    const ja_tree_t *tree;
    ja_node_state_t *nodes;
    ja_auth_t *auths;
    json_t *extracted;  /* name -> header / payload / failed status */
    bool root_done;
    dp_jwt_status_t root_status;
    bool stopped;       /* returned DP_FILTER_STOP */
    bool finished;      /* replied or continued */
    char *original_uri; /* for WWW-Authenticate */
} ja_req_t;

/* Runs the tree; returns when it completed (req->root_done) or waits on a
 * JWKS fetch. When a fetch completes the root, verify.c calls
 * ja_finish(req) as its very last action. */
void ja_verify_start(ja_req_t *req);
/* Cancels pending fetches (stream going away, or root done). */
void ja_verify_cancel(ja_req_t *req);

/* ---- filter.c ---- */
/* Continues the stream or sends the failure reply for req->root_status;
 * the stream may be gone when it returns. */
void ja_finish(ja_req_t *req);

/* ---- jwks_fetch.c ---- */
typedef struct ja_fetch ja_fetch_t;
/* jwks: the parsed JWKS (the reference passes to the callee), or NULL on
 * any failure (no cluster, connect error, timeout, status != 200, empty
 * body, invalid JWKS). Called once, from the worker loop, never from
 * within ja_fetch_start. */
typedef void (*ja_fetch_done_fn)(void *ctx, dp_jwks_t *jwks);
/* Starts fetching p's remote JWKS through its cluster on s's worker.
 * NULL when it fails at once (cluster unknown, no healthy endpoint,
 * circuit breaker, no worker). */
ja_fetch_t *ja_fetch_start(dp_stream_t *s, const ja_provider_t *p, ja_fetch_done_fn fn, void *ctx);
/* Stops a pending fetch: no callback afterwards. */
void ja_fetch_cancel(ja_fetch_t *f);

#endif
