/* envoy.config.route.v3.RouteConfiguration -> dp_route_config_t
 * (route-t.h), with Envoy's defaults and validation rules (the PGV rules
 * of route_components.proto plus what config_impl.cc checks). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/core/common.h"
#include "dataplane/http/route.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "xds/translate.h"
#include "filters/filter.h"
#include "xds/translate_util.h"

typedef Envoy__Config__Route__V3__RouteConfiguration pb_route_config_t;
typedef Envoy__Config__Route__V3__VirtualHost pb_vhost_t;
typedef Envoy__Config__Route__V3__Route pb_route_t;
typedef Envoy__Config__Route__V3__RouteMatch pb_match_t;
typedef Envoy__Config__Route__V3__HeaderMatcher pb_hdrmatch_t;
typedef Envoy__Config__Route__V3__RouteAction pb_action_t;
typedef Envoy__Config__Route__V3__WeightedCluster pb_weighted_t;
typedef Envoy__Config__Route__V3__RedirectAction pb_redirect_t;
typedef Envoy__Config__Route__V3__DirectResponseAction pb_direct_t;
typedef Envoy__Type__Matcher__V3__StringMatcher pb_strmatch_t;

/* Envoy's defaults: RouteAction.timeout 15 s; RouteConfiguration
 * .max_direct_response_body_size_bytes 4096 (not in our proto, so always
 * the default). */
#define DEFAULT_ROUTE_TIMEOUT_MS 15000
#define MAX_DIRECT_BODY_BYTES 4096

/* Envoy's HTTP_HEADER_VALUE rule (non-strict): no NUL, CR or LF. NUL
 * cannot occur in a protobuf-c string. */
static bool is_header_value(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

static int check_value_at(dp_xlate_t *x, const char *field, const char *s)
{
    if (!is_header_value(s))
        return dp_xlate__fail_at(x, field, "must not contain CR or LF");
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s && s[0] ? dp_xstrdup(s) : NULL;
}

/* ---- matchers ---------------------------------------------------------- */

int dp_xlate__strmatch(dp_xlate_t *x, const pb_strmatch_t *sm, dp_strmatch_t *o)
{
    const char *v;
    const char *field;

    switch (sm->match_pattern_case) {
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_EXACT:
        o->kind = DP_STRMATCH_EXACT;
        v = sm->exact;
        field = NULL;
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_PREFIX:
        o->kind = DP_STRMATCH_PREFIX;
        v = sm->prefix;
        field = "prefix";
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_SUFFIX:
        o->kind = DP_STRMATCH_SUFFIX;
        v = sm->suffix;
        field = "suffix";
        break;
    case ENVOY__TYPE__MATCHER__V3__STRING_MATCHER__MATCH_PATTERN_CONTAINS:
        o->kind = DP_STRMATCH_CONTAINS;
        v = sm->contains;
        field = "contains";
        break;
    default:
        return dp_xlate__fail(x, "one of exact, prefix, suffix or contains is required");
    }
    if (v == NULL)
        v = "";
    /* StringMatcher: prefix, suffix and contains have min_len 1. */
    if (field != NULL && v[0] == '\0')
        return dp_xlate__fail_at(x, field, "must not be empty");
    o->ignore_case = sm->ignore_case != 0;
    o->value = dp_xstrdup(v);
    o->value_len = strlen(v);
    return 0;
}

int dp_xlate__hdrmatch(dp_xlate_t *x, const pb_hdrmatch_t *h, dp_hdrmatch_t *o)
{
    const char *name = h->name ? h->name : "";
    const char *deprecated = NULL;
    const char *field = NULL;
    size_t saved;
    int rc;

    if (name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    if (!dp_xlate__is_token(name[0] == ':' ? name + 1 : name))
        return dp_xlate__fail_at(x, "name", "'%s' is not a valid header name", name);
    o->name = dp_xlate__lower_dup(name);
    o->invert = h->invert_match != 0;
    o->treat_missing_as_empty = h->treat_missing_header_as_empty != 0;
    o->kind = DP_HDRMATCH_STRING;

    switch (h->header_match_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER__NOT_SET:
        /* Envoy's HeaderUtility: no specifier means "must be present". */
        o->kind = DP_HDRMATCH_PRESENT;
        o->present = true;
        return 0;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PRESENT_MATCH:
        o->kind = DP_HDRMATCH_PRESENT;
        o->present = h->present_match != 0;
        return 0;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_EXACT_MATCH:
        o->str.kind = DP_STRMATCH_EXACT;
        deprecated = h->exact_match;
        break;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_PREFIX_MATCH:
        o->str.kind = DP_STRMATCH_PREFIX;
        deprecated = h->prefix_match;
        field = "prefix_match";
        break;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SUFFIX_MATCH:
        o->str.kind = DP_STRMATCH_SUFFIX;
        deprecated = h->suffix_match;
        field = "suffix_match";
        break;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_CONTAINS_MATCH:
        o->str.kind = DP_STRMATCH_CONTAINS;
        deprecated = h->contains_match;
        field = "contains_match";
        break;
    case ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_STRING_MATCH:
        saved = dp_xlate__push(x, "string_match");
        rc = dp_xlate__strmatch(x, h->string_match, &o->str);
        dp_xlate__pop(x, saved);
        return rc;
    default:
        return dp_xlate__fail(x, "unknown header match specifier %d", (int)h->header_match_specifier_case);
    }
    if (deprecated == NULL)
        deprecated = "";
    if (field != NULL && deprecated[0] == '\0')
        return dp_xlate__fail_at(x, field, "must not be empty");
    o->str.value = dp_xstrdup(deprecated);
    o->str.value_len = strlen(deprecated);
    return 0;
}

/* ---- actions ----------------------------------------------------------- */

static int xl_weighted(dp_xlate_t *x, const pb_weighted_t *w, dp_route_t *o)
{
    uint64_t sum = 0;

    if (w->n_clusters == 0)
        return dp_xlate__fail_at(x, "clusters", "at least one cluster is required");
    o->weighted = dp_xcalloc(w->n_clusters, sizeof(*o->weighted));
    o->n_weighted = w->n_clusters;
    for (size_t i = 0; i < w->n_clusters; i++) {
        const Envoy__Config__Route__V3__WeightedCluster__ClusterWeight *cw = w->clusters[i];
        dp_weighted_cluster_t *d = &o->weighted[i];
        size_t saved = dp_xlate__push_idx(x, "clusters", i);
        int rc = 0;

        if (cw->name == NULL || cw->name[0] == '\0')
            rc = dp_xlate__fail_at(x, "name", "required");
        if (rc == 0) {
            d->name = dp_xstrdup(cw->name);
            d->weight = dp_xlate__u32(cw->weight, 0);
            sum += d->weight;
            rc = dp_xlate__mutations(x, cw->request_headers_to_add, cw->n_request_headers_to_add,
                                     "request_headers_to_add", cw->request_headers_to_remove,
                                     cw->n_request_headers_to_remove, "request_headers_to_remove", &d->req);
        }
        if (rc == 0)
            rc =
                dp_xlate__mutations(x, cw->response_headers_to_add, cw->n_response_headers_to_add,
                                    "response_headers_to_add", cw->response_headers_to_remove,
                                    cw->n_response_headers_to_remove, "response_headers_to_remove", &d->resp);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    if (sum == 0)
        return dp_xlate__fail_at(x, "clusters", "the sum of the weights must be greater than 0");
    if (sum > UINT32_MAX)
        return dp_xlate__fail_at(x, "clusters", "the sum of the weights (%llu) exceeds %u",
                                 (unsigned long long)sum, UINT32_MAX);
    /* total_weight is deprecated; when set it must still agree with the
     * weights, as Envoy used to require, rather than be half-honoured. */
    if (w->total_weight != NULL && w->total_weight->value != sum)
        return dp_xlate__fail_at(x, "total_weight", "%u does not equal the sum of the cluster weights (%llu)",
                                 (unsigned)w->total_weight->value, (unsigned long long)sum);
    o->total_weight = (uint32_t)sum;
    return 0;
}

static int xl_route_action(dp_xlate_t *x, const pb_action_t *a, dp_route_t *o)
{
    size_t saved;
    int rc;

    o->action = DP_ROUTE_ACTION_CLUSTER;
    switch (a->cluster_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER:
        if (a->cluster == NULL || a->cluster[0] == '\0')
            return dp_xlate__fail_at(x, "cluster", "must not be empty");
        o->cluster = dp_xstrdup(a->cluster);
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_CLUSTER_HEADER:
        if (a->cluster_header == NULL || a->cluster_header[0] == '\0')
            return dp_xlate__fail_at(x, "cluster_header", "must not be empty");
        if (!dp_xlate__is_token(a->cluster_header))
            return dp_xlate__fail_at(x, "cluster_header", "'%s' is not a valid header name",
                                     a->cluster_header);
        o->cluster_header = dp_xlate__lower_dup(a->cluster_header);
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_SPECIFIER_WEIGHTED_CLUSTERS:
        saved = dp_xlate__push(x, "weighted_clusters");
        rc = xl_weighted(x, a->weighted_clusters, o);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        break;
    default:
        return dp_xlate__fail(x, "one of cluster, cluster_header or weighted_clusters is required");
    }
    switch ((int)a->cluster_not_found_response_code) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_NOT_FOUND_RESPONSE_CODE__SERVICE_UNAVAILABLE:
        o->cluster_not_found_code = 503;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_NOT_FOUND_RESPONSE_CODE__NOT_FOUND:
        o->cluster_not_found_code = 404;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__CLUSTER_NOT_FOUND_RESPONSE_CODE__INTERNAL_SERVER_ERROR:
        o->cluster_not_found_code = 500;
        break;
    default:
        return dp_xlate__fail_at(x, "cluster_not_found_response_code", "unknown value %d",
                                 (int)a->cluster_not_found_response_code);
    }
    if (a->prefix_rewrite && a->prefix_rewrite[0]) {
        if ((rc = check_value_at(x, "prefix_rewrite", a->prefix_rewrite)) != 0)
            return rc;
        o->prefix_rewrite = dp_xstrdup(a->prefix_rewrite);
    }
    if (a->host_rewrite_specifier_case ==
            ENVOY__CONFIG__ROUTE__V3__ROUTE_ACTION__HOST_REWRITE_SPECIFIER_HOST_REWRITE_LITERAL &&
        a->host_rewrite_literal && a->host_rewrite_literal[0]) {
        if ((rc = check_value_at(x, "host_rewrite_literal", a->host_rewrite_literal)) != 0)
            return rc;
        o->host_rewrite_literal = dp_xstrdup(a->host_rewrite_literal);
    }
    if ((rc = dp_xlate__duration_ms(x, "timeout", a->timeout, DEFAULT_ROUTE_TIMEOUT_MS, &o->timeout_ms)) != 0)
        return rc;
    if (a->idle_timeout != NULL) {
        if ((rc = dp_xlate__duration_ms(x, "idle_timeout", a->idle_timeout, 0, &o->idle_timeout_ms)) != 0)
            return rc;
        o->has_idle_timeout = true;
    }
    if (a->n_upgrade_configs > 0) {
        o->upgrades = dp_xcalloc(a->n_upgrade_configs, sizeof(*o->upgrades));
        for (size_t i = 0; i < a->n_upgrade_configs; i++) {
            const Envoy__Config__Route__V3__RouteAction__UpgradeConfig *u = a->upgrade_configs[i];
            size_t at = dp_xlate__push_idx(x, "upgrade_configs", i);
            rc = 0;
            if (u->upgrade_type == NULL || !dp_xlate__is_token(u->upgrade_type))
                rc = dp_xlate__fail_at(x, "upgrade_type", "must be a token (e.g. \"websocket\")");
            else if (strcasecmp(u->upgrade_type, "websocket") != 0)
                rc = dp_xlate__fail_at(x, "upgrade_type", "'%s' is not supported yet (only websocket)",
                                       u->upgrade_type);
            dp_xlate__pop(x, at);
            if (rc != 0)
                return rc;
            o->upgrades[o->n_upgrades].upgrade_type = dp_xlate__lower_dup(u->upgrade_type);
            o->upgrades[o->n_upgrades++].enabled = dp_xlate__bool(u->enabled, true);
        }
    }
    return 0;
}

static int xl_redirect(dp_xlate_t *x, const pb_redirect_t *r, dp_route_t *o)
{
    int rc;

    o->action = DP_ROUTE_ACTION_REDIRECT;
    switch (r->scheme_rewrite_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_HTTPS_REDIRECT:
        if (r->https_redirect)
            o->redirect_scheme = dp_xstrdup("https");
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__SCHEME_REWRITE_SPECIFIER_SCHEME_REDIRECT:
        if (r->scheme_redirect && r->scheme_redirect[0]) {
            if ((rc = check_value_at(x, "scheme_redirect", r->scheme_redirect)) != 0)
                return rc;
            /* Schemes are case-insensitive; lowercase keeps the default
             * port logic ("https" drops :443) simple. */
            o->redirect_scheme = dp_xlate__lower_dup(r->scheme_redirect);
        }
        break;
    default:
        break;
    }
    if (r->host_redirect && r->host_redirect[0]) {
        if ((rc = check_value_at(x, "host_redirect", r->host_redirect)) != 0)
            return rc;
        o->redirect_host = dp_xstrdup(r->host_redirect);
    }
    if (r->port_redirect > 65535)
        return dp_xlate__fail_at(x, "port_redirect", "%u is out of range (1..65535)",
                                 (unsigned)r->port_redirect);
    o->redirect_port = r->port_redirect;
    switch (r->path_rewrite_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PATH_REDIRECT:
        if ((rc = check_value_at(x, "path_redirect", r->path_redirect ? r->path_redirect : "")) != 0)
            return rc;
        o->redirect_path = dup_or_null(r->path_redirect);
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__PATH_REWRITE_SPECIFIER_PREFIX_REWRITE:
        if ((rc = check_value_at(x, "prefix_rewrite", r->prefix_rewrite ? r->prefix_rewrite : "")) != 0)
            return rc;
        /* An empty prefix_rewrite is meaningful: it strips the prefix. */
        o->redirect_prefix = dp_xstrdup(r->prefix_rewrite ? r->prefix_rewrite : "");
        break;
    default:
        break;
    }
    switch ((int)r->response_code) {
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__REDIRECT_RESPONSE_CODE__MOVED_PERMANENTLY:
        o->redirect_code = 301;
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__REDIRECT_RESPONSE_CODE__FOUND:
        o->redirect_code = 302;
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__REDIRECT_RESPONSE_CODE__SEE_OTHER:
        o->redirect_code = 303;
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__REDIRECT_RESPONSE_CODE__TEMPORARY_REDIRECT:
        o->redirect_code = 307;
        break;
    case ENVOY__CONFIG__ROUTE__V3__REDIRECT_ACTION__REDIRECT_RESPONSE_CODE__PERMANENT_REDIRECT:
        o->redirect_code = 308;
        break;
    default:
        return dp_xlate__fail_at(x, "response_code", "unknown value %d", (int)r->response_code);
    }
    o->strip_query = r->strip_query != 0;
    return 0;
}

static int xl_direct(dp_xlate_t *x, const pb_direct_t *d, dp_route_t *o)
{
    o->action = DP_ROUTE_ACTION_DIRECT;
    /* PGV: status in [200, 600). */
    if (d->status < 200 || d->status >= 600)
        return dp_xlate__fail_at(x, "status", "%u is out of range [200, 600)", (unsigned)d->status);
    o->direct_status = (int)d->status;
    if (d->body != NULL) {
        size_t saved = dp_xlate__push(x, "body");
        int rc =
            dp_xlate__datasource(x, d->body, MAX_DIRECT_BODY_BYTES, &o->direct_body, &o->direct_body_len);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- routes and virtual hosts -------------------------------------------- */

/* typed_per_filter_config: a map from HTTP filter name to the filter's
 * per-route config, or to an envoy.config.route.v3.FilterConfig wrapping
 * it (is_optional, disabled). Envoy finds the factory by the config's
 * type; an unknown type is refused unless the wrapper says optional. */
#define FILTER_CONFIG_TYPE "envoy.config.route.v3.FilterConfig"
typedef Envoy__Config__Route__V3__FilterConfig pb_filter_config_t;

static int xl_one_override(dp_xlate_t *x, const char *name, const Google__Protobuf__Any *any,
                           dp_filter_override_t *o, bool *keep)
{
    ProtobufCMessage *wrap = NULL, *msg = NULL;
    const Google__Protobuf__Any *inner = any;
    bool optional = false;
    char err[512] = "";
    int rc = 0;

    *keep = false;
    if (any == NULL || any->type_url == NULL || any->type_url[0] == '\0')
        return dp_xlate__fail(x, "a typed config (with @type) is required");
    if (strcmp(dp_xlate__type_name(any->type_url), FILTER_CONFIG_TYPE) == 0) {
        if ((rc = dp_xlate__unpack_any(x, any, &envoy__config__route__v3__filter_config__descriptor, &wrap)) != 0)
            return rc;
        const pb_filter_config_t *fc = (const pb_filter_config_t *)wrap;
        optional = fc->is_optional;
        o->disabled = fc->disabled;
        inner = fc->config;
        if (inner == NULL) {
            /* a bare {disabled: true|false} */
            o->name = dp_xstrdup(name);
            *keep = true;
            goto done;
        }
    }
    const dp_http_filter_factory_t *fac = dp_http_filter_lookup_route_type(inner->type_url ? inner->type_url : "");
    if (fac == NULL) {
        if (optional)
            goto done;
        const char *t = dp_xlate__type_name(inner->type_url);
        rc = dp_http_filter_lookup_type(inner->type_url ? inner->type_url : "")
                 ? dp_xlate__fail(x, "filter type '%s' takes no per-route config", t)
                 : dp_xlate__fail(x, "unsupported per-route filter config type '%s' (filter '%s')", t, name);
        goto done;
    }
    size_t saved = inner != any ? dp_xlate__push(x, "config") : 0;
    rc = dp_xlate__unpack_any(x, inner, fac->route_descriptor, &msg);
    if (rc == 0 && (rc = fac->create_route_config(msg, &o->config, err, sizeof(err))) != 0)
        rc = dp_xlate__fail_sub(x, rc, err);
    if (inner != any)
        dp_xlate__pop(x, saved);
    if (rc == 0) {
        o->name = dp_xstrdup(name);
        o->factory = fac;
        *keep = true;
    }
done:
    if (msg)
        protobuf_c_message_free_unpacked(msg, NULL);
    if (wrap)
        protobuf_c_message_free_unpacked(wrap, NULL);
    return rc;
}

/* The map decodes as an array of generated FooEntry messages, one type per
 * containing message; read key and value through the entry descriptor. */
static int xl_per_filter(dp_xlate_t *x, void *const *entries, size_t n, dp_filter_overrides_t *o)
{
    if (n == 0)
        return 0;
    const ProtobufCMessageDescriptor *d = ((const ProtobufCMessage *)entries[0])->descriptor;
    const ProtobufCFieldDescriptor *fk = protobuf_c_message_descriptor_get_field_by_name(d, "key");
    const ProtobufCFieldDescriptor *fv = protobuf_c_message_descriptor_get_field_by_name(d, "value");
    o->v = dp_xcalloc(n, sizeof(*o->v));
    for (size_t i = 0; i < n; i++) {
        bool keep;
        const char *key = *(const char *const *)((const char *)entries[i] + fk->offset);
        const Google__Protobuf__Any *val = *(Google__Protobuf__Any *const *)((const char *)entries[i] + fv->offset);
        key = key ? key : "";
        size_t saved = dp_xlate__push_key(x, "typed_per_filter_config", key);
        int rc = key[0] ? xl_one_override(x, key, val, &o->v[o->n], &keep)
                        : dp_xlate__fail(x, "the filter name (map key) is required");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        if (keep)
            o->n++;
    }
    return 0;
}

#define XL_PER_FILTER(x, m, out) xl_per_filter((x), (void *const *)(m)->typed_per_filter_config, \
                                               (m)->n_typed_per_filter_config, (out))

int dp_xlate__route_match(dp_xlate_t *x, const pb_match_t *m, dp_route_t *o)
{
    const char *p;

    switch (m->path_specifier_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PREFIX:
        o->path_kind = DP_PATHMATCH_PREFIX;
        p = m->prefix;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH:
        o->path_kind = DP_PATHMATCH_PATH;
        p = m->path;
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PATH_SEPARATED_PREFIX:
        o->path_kind = DP_PATHMATCH_SEPARATED_PREFIX;
        p = m->path_separated_prefix ? m->path_separated_prefix : "";
        /* PGV pattern ^[^?#]+[^?#/]$ */
        if (p[0] == '\0' || strpbrk(p, "?#") != NULL || p[strlen(p) - 1] == '/')
            return dp_xlate__fail_at(x, "path_separated_prefix",
                                     "'%s' must be non-empty, without '?' or '#', and not end with '/'", p);
        break;
    default:
        return dp_xlate__fail(x, "a path specifier (prefix, path or path_separated_prefix) is required");
    }
    if (p == NULL)
        p = "";
    o->path = dp_xstrdup(p);
    o->path_len = strlen(p);
    o->case_sensitive = dp_xlate__bool(m->case_sensitive, true);
    if (m->n_headers) {
        o->headers = dp_xcalloc(m->n_headers, sizeof(*o->headers));
        o->n_headers = m->n_headers;
        for (size_t i = 0; i < m->n_headers; i++) {
            size_t saved = dp_xlate__push_idx(x, "headers", i);
            int rc = dp_xlate__hdrmatch(x, m->headers[i], &o->headers[i]);
            dp_xlate__pop(x, saved);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

static int xl_route(dp_xlate_t *x, const pb_route_t *r, dp_route_t *o)
{
    size_t saved;
    int rc;

    o->name = dup_or_null(r->name);
    if (r->match == NULL)
        return dp_xlate__fail_at(x, "match", "required");
    saved = dp_xlate__push(x, "match");
    rc = dp_xlate__route_match(x, r->match, o);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;

    switch (r->action_case) {
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_ROUTE:
        saved = dp_xlate__push(x, "route");
        rc = xl_route_action(x, r->route, o);
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_REDIRECT:
        saved = dp_xlate__push(x, "redirect");
        rc = xl_redirect(x, r->redirect, o);
        break;
    case ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE:
        saved = dp_xlate__push(x, "direct_response");
        rc = xl_direct(x, r->direct_response, o);
        break;
    default:
        return dp_xlate__fail(x, "an action (route, redirect or direct_response) is required");
    }
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;
    if ((rc = XL_PER_FILTER(x, r, &o->per_filter)) != 0)
        return rc;
    if ((rc = dp_xlate__mutations(x, r->request_headers_to_add, r->n_request_headers_to_add,
                                  "request_headers_to_add", r->request_headers_to_remove,
                                  r->n_request_headers_to_remove, "request_headers_to_remove", &o->req)) != 0)
        return rc;
    return dp_xlate__mutations(x, r->response_headers_to_add, r->n_response_headers_to_add,
                               "response_headers_to_add", r->response_headers_to_remove,
                               r->n_response_headers_to_remove, "response_headers_to_remove", &o->resp);
}

static int xl_vhost(dp_xlate_t *x, const pb_vhost_t *v, dp_vhost_t *o)
{
    int rc;

    if (v->name == NULL || v->name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    o->name = dp_xstrdup(v->name);
    if (v->n_domains == 0)
        return dp_xlate__fail_at(x, "domains", "at least one domain is required");
    o->domains = dp_xcalloc(v->n_domains, sizeof(*o->domains));
    o->n_domains = v->n_domains;
    for (size_t i = 0; i < v->n_domains; i++) {
        const char *d = v->domains[i] ? v->domains[i] : "";
        if (!is_header_value(d)) {
            size_t saved = dp_xlate__push_idx(x, "domains", i);
            rc = dp_xlate__fail(x, "must not contain CR or LF");
            dp_xlate__pop(x, saved);
            return rc;
        }
        o->domains[i] = dp_xstrdup(d);
    }
    switch ((int)v->require_tls) {
    case ENVOY__CONFIG__ROUTE__V3__VIRTUAL_HOST__TLS_REQUIREMENT_TYPE__NONE:
        o->require_tls = DP_REQUIRE_TLS_NONE;
        break;
    case ENVOY__CONFIG__ROUTE__V3__VIRTUAL_HOST__TLS_REQUIREMENT_TYPE__EXTERNAL_ONLY:
        o->require_tls = DP_REQUIRE_TLS_EXTERNAL_ONLY;
        break;
    case ENVOY__CONFIG__ROUTE__V3__VIRTUAL_HOST__TLS_REQUIREMENT_TYPE__ALL:
        o->require_tls = DP_REQUIRE_TLS_ALL;
        break;
    default:
        return dp_xlate__fail_at(x, "require_tls", "unknown value %d", (int)v->require_tls);
    }
    if (v->n_routes) {
        o->routes = dp_xcalloc(v->n_routes, sizeof(*o->routes));
        o->n_routes = v->n_routes;
        for (size_t i = 0; i < v->n_routes; i++) {
            size_t saved = dp_xlate__push_idx(x, "routes", i);
            rc = xl_route(x, v->routes[i], &o->routes[i]);
            dp_xlate__pop(x, saved);
            if (rc != 0)
                return rc;
        }
    }
    if ((rc = XL_PER_FILTER(x, v, &o->per_filter)) != 0)
        return rc;
    if ((rc = dp_xlate__mutations(x, v->request_headers_to_add, v->n_request_headers_to_add,
                                  "request_headers_to_add", v->request_headers_to_remove,
                                  v->n_request_headers_to_remove, "request_headers_to_remove", &o->req)) != 0)
        return rc;
    return dp_xlate__mutations(x, v->response_headers_to_add, v->n_response_headers_to_add,
                               "response_headers_to_add", v->response_headers_to_remove,
                               v->n_response_headers_to_remove, "response_headers_to_remove", &o->resp);
}

/* dp_route_config_index() names the bad domain but not where it is; on
 * that (rare) error path, find it so the path can point at
 * virtual_hosts[i].domains[k], checking in the index's own order: shapes
 * and a second "*" first, then duplicates. */
static bool bad_domain_shape(const char *d)
{
    size_t n = strlen(d);
    if (n == 0)
        return true;
    if (n == 1 && d[0] == '*')
        return false;
    const char *body = d[0] == '*' ? d + 1 : d;
    size_t blen = n - (d[0] == '*' ? 1 : 0) - (d[0] != '*' && d[n - 1] == '*' ? 1 : 0);
    return memchr(body, '*', blen) != NULL;
}

static bool locate_bad_domain(const dp_route_config_t *rc, size_t *vi, size_t *di)
{
    bool any = false;
    for (size_t v = 0; v < rc->n_vhosts; v++) {
        for (size_t d = 0; d < rc->vhosts[v].n_domains; d++) {
            const char *dom = rc->vhosts[v].domains[d];
            if (bad_domain_shape(dom) || (strcmp(dom, "*") == 0 && any)) {
                *vi = v;
                *di = d;
                return true;
            }
            any = any || strcmp(dom, "*") == 0;
        }
    }
    for (size_t v = 0; v < rc->n_vhosts; v++) {
        for (size_t d = 0; d < rc->vhosts[v].n_domains; d++) {
            const char *dom = rc->vhosts[v].domains[d];
            if (strcmp(dom, "*") == 0)
                continue;
            for (size_t v2 = 0; v2 <= v; v2++) {
                size_t end = v2 == v ? d : rc->vhosts[v2].n_domains;
                for (size_t d2 = 0; d2 < end; d2++) {
                    if (strcasecmp(rc->vhosts[v2].domains[d2], dom) == 0) {
                        *vi = v;
                        *di = d;
                        return true;
                    }
                }
            }
        }
    }
    return false;
}

int dp_xlate__route_config(dp_xlate_t *x, const pb_route_config_t *m, dp_route_config_t **out)
{
    dp_route_config_t *rc = dp_xcalloc(1, sizeof(*rc));
    char ierr[512];
    int err;

    *out = NULL;
    atomic_init(&rc->refcnt, 1);
    rc->name = dp_xstrdup(m->name ? m->name : "");
    /* validate_clusters is accepted and ignored: in Envoy it only makes
     * RDS/static loading fail when a referenced cluster is unknown at
     * that moment; at request time an unknown cluster gets
     * cluster_not_found_response_code either way, which we implement. */
    if (m->n_virtual_hosts) {
        rc->vhosts = dp_xcalloc(m->n_virtual_hosts, sizeof(*rc->vhosts));
        rc->n_vhosts = m->n_virtual_hosts;
        for (size_t i = 0; i < m->n_virtual_hosts; i++) {
            size_t saved = dp_xlate__push_idx(x, "virtual_hosts", i);
            err = xl_vhost(x, m->virtual_hosts[i], &rc->vhosts[i]);
            dp_xlate__pop(x, saved);
            if (err != 0)
                goto fail;
        }
    }
    if ((err = dp_xlate__mutations(x, m->request_headers_to_add, m->n_request_headers_to_add,
                                   "request_headers_to_add", m->request_headers_to_remove,
                                   m->n_request_headers_to_remove, "request_headers_to_remove", &rc->req)) !=
        0)
        goto fail;
    if ((err = XL_PER_FILTER(x, m, &rc->per_filter)) != 0)
        goto fail;
    if ((err = dp_xlate__mutations(x, m->response_headers_to_add, m->n_response_headers_to_add,
                                   "response_headers_to_add", m->response_headers_to_remove,
                                   m->n_response_headers_to_remove, "response_headers_to_remove",
                                   &rc->resp)) != 0)
        goto fail;
    err = dp_route_config_index(rc, ierr, sizeof(ierr));
    if (err == DP_ENOMEM) {
        dp_xlate__fail(x, "out of memory building the domain index");
        goto fail;
    }
    if (err != 0) {
        size_t vi, di;
        size_t saved;
        if (locate_bad_domain(rc, &vi, &di)) {
            saved = dp_xlate__push_idx(x, "virtual_hosts", vi);
            dp_xlate__push_idx(x, "domains", di);
        } else {
            saved = dp_xlate__push(x, "virtual_hosts");
        }
        err = dp_xlate__fail(x, "%s", ierr);
        dp_xlate__pop(x, saved);
        goto fail;
    }
    *out = rc;
    return 0;

fail:
    dp_route_config_unref(rc);
    return err;
}

int dp_translate_route_config(const ProtobufCMessage *m, dp_route_config_t **out, char *errbuf, size_t errlen)
{
    dp_xlate_t x;

    dp_xlate__init(&x, errbuf, errlen);
    *out = NULL;
    if (m == NULL || m->descriptor != &envoy__config__route__v3__route_configuration__descriptor)
        return dp_xlate__fail(&x, "not an envoy.config.route.v3.RouteConfiguration");
    return dp_xlate__route_config(&x, (const pb_route_config_t *)m, out);
}
