/* Virtual host and route selection on the immutable route model
 * (route-t.h), with Envoy's semantics. Everything here but
 * dp_route_config_index() runs per request: no allocation, and virtual
 * host selection costs O(host length + number of distinct wildcard
 * lengths), independent of the number of virtual hosts. */
#ifndef DP_HTTP_ROUTE_H
#define DP_HTTP_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/common.h"
#include "dataplane/http/headers.h"
#include "dataplane/http/route-t.h"

/* ---- virtual host selection ------------------------------------------ */

/* Builds rc->index from the vhosts' domains (replacing any previous
 * index). Off the hot path: call once when the config is built, before it
 * is published. Each domain is one of
 *   "*"                    the default vhost, at most once per config;
 *   "*.example.com", "*-bar.example.com"  suffix wildcard (leading '*');
 *   "foo.*", "foo-*"       prefix wildcard (trailing '*');
 *   anything else without '*'  an exact name.
 * Matching is ASCII case-insensitive. Returns 0, DP_EINVAL with a message
 * in errbuf naming the domain and vhost(s) (duplicate domain, second "*",
 * '*' elsewhere, empty domain), or DP_ENOMEM. On error rc->index is NULL. */
int dp_route_config_index(dp_route_config_t *rc, char *errbuf, size_t errlen);

/* Frees rc->index (NULL afterwards). Safe on an unindexed config. */
void dp_route_config_free_index(dp_route_config_t *rc);

/* The vhost for a Host / :authority value, as Envoy's RouteMatcher: exact
 * domain; else suffix wildcards, longest first; else prefix wildcards,
 * longest first; else "*"; else NULL. A wildcard stands for at least one
 * character ("*.foo.com" does not match "foo.com"). The host is matched
 * as given: strip the port first (dp_host_strip_port) if the HCM says so.
 * NULL when rc has no index. */
const dp_vhost_t *dp_route_select_vhost(const dp_route_config_t *rc, const char *host, size_t host_len);

/* HCM strip_matching_host_port / strip_any_host_port on a Host value.
 * mode is a dp_strip_port_t (hcm-t.h): DP_STRIP_PORT_NONE returns len;
 * DP_STRIP_MATCHING_PORT strips ":<port>" only when it equals
 * listener_port; DP_STRIP_ANY_PORT strips any numeric port. The port is
 * what follows the last ':' unless a ']' comes after it (an IPv6 literal
 * without port: "[::1]" is kept, "[::1]:80" -> "[::1]"). Returns the new
 * length (host itself is not modified). */
size_t dp_host_strip_port(const char *host, size_t len, int mode, uint16_t listener_port);

/* ---- route matching ---------------------------------------------------- */

/* What route matching looks at. Slices with base == NULL are absent (a
 * missing pseudo header). `headers` holds the regular request headers
 * (lowercase names, no pseudo headers), may be NULL. */
typedef struct dp_route_input {
    dp_slice_t method;    /* :method */
    dp_slice_t path;      /* :path, including the query */
    dp_slice_t authority; /* :authority (Host), after port stripping */
    dp_slice_t scheme;    /* :scheme */
    const dp_headers_t *headers;
} dp_route_input_t;

/* The first route of vh whose path matcher and header matchers all match,
 * or NULL. Path matching (prefix, exact path, path_separated_prefix) looks
 * at :path up to the first '?' or '#', case-insensitively when
 * case_sensitive is false. A request without :path matches no route. */
const dp_route_t *dp_route_match(const dp_vhost_t *vh, const dp_route_input_t *in);

/* One HeaderMatcher against the request (Envoy's HeaderUtility):
 * ":method", ":path", ":authority", ":scheme" come from `in`, other names
 * from in->headers, a repeated header being matched as its values joined
 * with ",". present_match: presence == m->present, then inverted if
 * m->invert; treat_missing_as_empty does not apply to it. String matchers
 * on a missing header fail (even inverted) unless treat_missing_as_empty,
 * in which case the value is "". */
bool dp_route_hdrmatch(const dp_hdrmatch_t *m, const dp_route_input_t *in);

/* A StringMatcher (exact / prefix / suffix / contains, ignore_case) on
 * one value. */
bool dp_route_strmatch(const dp_strmatch_t *m, const char *s, size_t len);

/* ---- actions ----------------------------------------------------------- */

/* Envoy's weighted cluster pick: random % total_weight, then the first
 * cluster whose cumulative weight range [begin, end) contains it, in
 * order. NULL when r has no weighted clusters, total_weight is 0, or the
 * weights sum to less than total_weight and the pick falls past them. */
const dp_weighted_cluster_t *dp_route_pick_weighted(const dp_route_t *r, uint64_t random);

/* The Location of a DP_ROUTE_ACTION_REDIRECT route for a request with the
 * given :scheme, Host (port included, as received) and :path (with query),
 * following Envoy's RedirectAction (see route.c for the rules). Writes it
 * NUL-terminated into out and returns its length, or -1 when it does not
 * fit in outlen bytes (NUL included) or r is not a redirect. */
int dp_route_build_redirect(const dp_route_t *r, dp_slice_t scheme, dp_slice_t host, dp_slice_t path,
                            char *out, size_t outlen);

#endif
