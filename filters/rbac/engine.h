/* Envoy's RBAC policy engine (envoy.config.rbac.v3.RBAC) on a neutral
 * request view, so it can run (and be tested) without a socket or a
 * stream. The HTTP filter (filters/rbac/filter.c) fills the view from a
 * dp_stream_t.
 *
 * Semantics, as Envoy's RoleBasedAccessControlEngineImpl:
 *  - policies are tried in lexicographic (byte) order of their names; a
 *    policy matches when any of its permissions AND any of its principals
 *    match; the first matching policy is the effective policy;
 *  - ALLOW: allowed iff some policy matches (no policies: all denied);
 *    DENY: allowed iff none matches; LOG: always allowed, `matched` is
 *    the value Envoy puts in envoy.common access_log_hint (the caller
 *    sets it, in enforcing mode only).
 * Rules: any; header (HeaderMatcher, as route matching: ":path" includes
 * the query, repeated headers joined with ","); url_path (StringMatcher on
 * :path up to the first '?' or '#'; no :path never matches); destination_ip
 * and destination_port / destination_port_range [start, end) on the local
 * address; metadata (MetadataMatcher on the dynamic metadata); and_rules /
 * or_rules / not_rule. Principals: any; direct_remote_ip and source_ip (the
 * connection's peer; Envoy's source_ip is the connection's remote address,
 * which is the peer here: no PROXY protocol); remote_ip (Envoy's derived
 * downstream remote address: XFF with use_remote_address /
 * xff_num_trusted_hops, computed by the HCM); header; url_path; metadata;
 * and_ids / or_ids / not_id. CIDR semantics: filters/auth/cidr.h. An
 * address that is unknown (NULL, unparsable) matches no CIDR or port rule.
 *
 * The engine is immutable once created: evaluate it from any thread. */
#ifndef DP_FILTERS_RBAC_ENGINE_H
#define DP_FILTERS_RBAC_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

#include "dataplane/core/common.h"
#include "dataplane/http/headers.h"
#include "envoy/config/rbac/v3/rbac.pb-c.h"
#include "xds/translate_util.h"

struct json_t; /* jansson */

/* What the engine looks at. Everything is borrowed for the call. */
typedef struct dp_rbac_request {
    /* pseudo headers; base == NULL when absent; path includes the query */
    dp_slice_t method, path, authority, scheme;
    const dp_headers_t *headers;   /* regular headers, lowercase names; may be NULL */
    const struct sockaddr *peer;   /* direct downstream peer; may be NULL */
    const struct sockaddr *local;  /* local (destination) address; may be NULL */
    const char *remote_addr;       /* downstream remote address, no port; NULL or "" unknown */
    const struct json_t *metadata; /* dynamic metadata {"namespace": {...}}; may be NULL */
} dp_rbac_request_t;

/* envoy.config.rbac.v3.RBAC.Action values */
typedef enum {
    DP_RBAC_ALLOW = 0,
    DP_RBAC_DENY = 1,
    DP_RBAC_LOG = 2,
} dp_rbac_action_t;

typedef struct dp_rbac_result {
    bool allowed;
    bool matched;       /* some policy matched */
    const char *policy; /* the effective policy's name (owned by the engine), NULL when none matched */
} dp_rbac_result_t;

typedef struct dp_rbac_engine dp_rbac_engine_t;

/* Builds an engine from `rbac` (the message at x's current path: errors
 * name fields below it, e.g. "rules.policies[\"p\"].permissions[0].header.name:
 * required"). Returns 0 with *out set, or DP_EINVAL (message in x's
 * errbuf). Aborts on OOM (configuration glue, STYLE.md 6). */
int dp_rbac_engine_create(dp_xlate_t *x, const Envoy__Config__Rbac__V3__RBAC *rbac, dp_rbac_engine_t **out);

/* NULL is fine. */
void dp_rbac_engine_free(dp_rbac_engine_t *e);

dp_rbac_action_t dp_rbac_engine_action(const dp_rbac_engine_t *e);
/* Number of distinct policies. */
size_t dp_rbac_engine_policy_count(const dp_rbac_engine_t *e);

/* Evaluates the request. No allocation. */
void dp_rbac_engine_eval(const dp_rbac_engine_t *e, const dp_rbac_request_t *r, dp_rbac_result_t *res);

#endif
