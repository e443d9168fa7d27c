/* JwtAuthentication and PerRouteConfig into the immutable ja_config_t,
 * with Envoy's validation (its PGV rules and FilterConfigImpl checks).
 * Errors name the field relative to typed_config:
 *   providers["p"].remote_jwks.http_uri.uri: ... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/worker.h"
#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb-c.h"
#include "filters/jwt_authn/jwt_authn_int.h"
#include "xds/translate_util.h"

typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__JwtAuthentication pb_auth_t;
typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__JwtProvider pb_provider_t;
typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__RemoteJwks pb_remote_t;
typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__JwtRequirement pb_req_t;
typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__RequirementRule pb_rule_t;
typedef Envoy__Extensions__Filters__Http__JwtAuthn__V3__PerRouteConfig pb_per_route_t;
typedef Envoy__Config__Route__V3__RouteMatch pb_match_t;

#define REQ(x) ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__JWT_REQUIREMENT__REQUIRES_TYPE_##x
#define MAX_REQUIREMENT_DEPTH 32
#define MAX_LOCAL_JWKS (1024 * 1024)

static char *str_or_null(const char *s)
{
    return s && s[0] ? dp_xstrdup(s) : NULL;
}

static char **dup_strv(char *const *v, size_t n)
{
    char **o = dp_xcalloc(n ? n : 1, sizeof(*o));
    for (size_t i = 0; i < n; i++)
        o[i] = dp_xstrdup(v[i] ? v[i] : "");
    return o;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* RFC 9110 field-value characters: no NUL, CR or LF (Envoy's
 * HTTP_HEADER_VALUE rule with strict: false). */
static bool header_value_ok(const char *s)
{
    return strpbrk(s, "\r\n") == NULL;
}

/* ---- providers -------------------------------------------------------------- */

/* Envoy's extractHostPathFromUri after Url::initialize: http(s)://host[:port][/path]. */
static int parse_uri(dp_xlate_t *x, const char *provider, const char *uri, ja_provider_t *p)
{
    const char *rest = NULL;
    if (strncasecmp(uri, "http://", 7) == 0)
        rest = uri + 7;
    else if (strncasecmp(uri, "https://", 8) == 0)
        rest = uri + 8;
    size_t hl = rest ? strcspn(rest, "/?#") : 0;
    if (rest == NULL || hl == 0 || strpbrk(uri, " \t\r\n") != NULL)
        return dp_xlate__fail_at(x, "uri", "Provider '%s' has an invalid URI: '%s'", provider, uri);
    p->uri = dp_xstrdup(uri);
    p->uri_host = dp_xstrndup(rest, hl);
    const char *path = rest + hl;
    size_t pl = strcspn(path, "#");
    if (pl == 0)
        p->uri_path = dp_xstrdup("/");
    else if (path[0] == '?')
        p->uri_path = dp_xstrndup(path - 1, pl + 1), p->uri_path[0] = '/';
    else
        p->uri_path = dp_xstrndup(path, pl);
    return 0;
}

static int xl_remote(dp_xlate_t *x, const char *name, const pb_remote_t *r, ja_provider_t *p)
{
    p->remote = true;
    if (r->http_uri == NULL)
        return dp_xlate__fail_at(x, "http_uri", "required");
    size_t saved = dp_xlate__push(x, "http_uri");
    int rc;
    const Envoy__Config__Core__V3__HttpUri *u = r->http_uri;
    if (u->uri == NULL || u->uri[0] == '\0') {
        rc = dp_xlate__fail_at(x, "uri", "must not be empty");
        goto out;
    }
    if ((rc = parse_uri(x, name, u->uri, p)) != 0)
        goto out;
    if (u->http_upstream_type_case != ENVOY__CONFIG__CORE__V3__HTTP_URI__HTTP_UPSTREAM_TYPE_CLUSTER || u->cluster == NULL ||
        u->cluster[0] == '\0') {
        rc = dp_xlate__fail_at(x, "cluster", "required");
        goto out;
    }
    p->cluster = dp_xstrdup(u->cluster);
    if (u->timeout == NULL) {
        rc = dp_xlate__fail_at(x, "timeout", "required");
        goto out;
    }
    if ((rc = dp_xlate__duration_ms(x, "timeout", u->timeout, 0, &p->timeout_ms)) != 0)
        goto out;
    dp_xlate__pop(x, saved);
    saved = 0;
    p->cache_ms = JA_DEFAULT_CACHE_MS;
    if (r->cache_duration) {
        const Google__Protobuf__Duration *d = r->cache_duration;
        if (d->seconds < 0 || d->nanos < 0 || (d->seconds == 0 && d->nanos < 1000000))
            return dp_xlate__fail_at(x, "cache_duration", "must be at least 1ms");
        if (d->seconds >= 9000000000LL)
            return dp_xlate__fail_at(x, "cache_duration", "must be less than 9000000000s");
        if ((rc = dp_xlate__duration_ms(x, "cache_duration", d, JA_DEFAULT_CACHE_MS, &p->cache_ms)) != 0)
            return rc;
    }
    return 0;
out:
    dp_xlate__pop(x, saved);
    return rc;
}

static int xl_local(dp_xlate_t *x, const Envoy__Config__Core__V3__DataSource *ds, ja_provider_t *p)
{
    size_t saved = dp_xlate__push(x, "local_jwks");
    char *data = NULL;
    size_t len = 0;
    int rc = dp_xlate__datasource(x, ds, MAX_LOCAL_JWKS, &data, &len);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;
    /* As Envoy: a local JWKS that does not parse is only a warning; its
     * requests then fail with "Jwks doesn't have any valid public key". */
    if (len > 0) {
        char err[256];
        p->local = dp_jwks_parse_ex(data, len, DP_JWKS_FMT_JSON, NULL, err, sizeof(err));
        if (p->local == NULL)
            DP_WARN("jwt_authn: invalid local_jwks for provider '%s' (issuer '%s'): %s", p->name, p->issuer, err);
    }
    free(data);
    return 0;
}

static int xl_provider(dp_xlate_t *x, const char *name, const pb_provider_t *m, ja_provider_t *p)
{
    int rc;
    p->name = dp_xstrdup(name);
    p->issuer = dp_xstrdup(m->issuer ? m->issuer : "");
    p->audiences = dup_strv(m->audiences, m->n_audiences);
    p->n_aud = m->n_audiences;
    p->slots = dp_xcalloc(JA_MAX_WORKERS, sizeof(*p->slots));
    if (m->subjects) {
        size_t saved = dp_xlate__push(x, "subjects");
        rc = dp_xlate__strmatch(x, m->subjects, &p->subjects);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        p->has_subjects = true;
    }
    if (m->require_expiration) {
        p->has_max_lifetime = true;
        p->max_lifetime_ns = UINT64_MAX;
    }
    if (m->max_lifetime) { /* takes precedence over require_expiration */
        const Google__Protobuf__Duration *d = m->max_lifetime;
        if (d->seconds < 0 || d->nanos < 0 || d->nanos > 999999999)
            return dp_xlate__fail_at(x, "max_lifetime", "must be a non-negative duration");
        p->has_max_lifetime = true;
        p->max_lifetime_ns = (uint64_t)d->seconds > (UINT64_MAX - 1) / 1000000000u
                                 ? UINT64_MAX - 1
                                 : (uint64_t)d->seconds * 1000000000u + (uint64_t)d->nanos;
    }
    switch (m->jwks_source_specifier_case) {
    case ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__JWT_PROVIDER__JWKS_SOURCE_SPECIFIER_REMOTE_JWKS: {
        size_t saved = dp_xlate__push(x, "remote_jwks");
        rc = xl_remote(x, name, m->remote_jwks, p);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        break;
    }
    case ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__JWT_PROVIDER__JWKS_SOURCE_SPECIFIER_LOCAL_JWKS:
        if ((rc = xl_local(x, m->local_jwks, p)) != 0)
            return rc;
        break;
    default:
        return dp_xlate__fail(x, "one of remote_jwks or local_jwks is required");
    }
    p->forward = m->forward;
    p->from_headers = dp_xcalloc(m->n_from_headers ? m->n_from_headers : 1, sizeof(*p->from_headers));
    for (size_t i = 0; i < m->n_from_headers; i++) {
        const Envoy__Extensions__Filters__Http__JwtAuthn__V3__JwtHeader *h = m->from_headers[i];
        size_t saved = dp_xlate__push_idx(x, "from_headers", i);
        const char *hn = h->name ? h->name : "", *pre = h->value_prefix ? h->value_prefix : "";
        rc = 0;
        if (!dp_xlate__is_token(hn))
            rc = dp_xlate__fail_at(x, "name", "'%s' is not a valid header name", hn);
        else if (!header_value_ok(pre))
            rc = dp_xlate__fail_at(x, "value_prefix", "must not contain CR or LF");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        p->from_headers[i].name = dp_xlate__lower_dup(hn);
        p->from_headers[i].prefix = dp_xstrdup(pre);
        p->n_from_headers++;
    }
    p->from_params = dup_strv(m->from_params, m->n_from_params);
    p->n_from_params = m->n_from_params;
    p->from_cookies = dup_strv(m->from_cookies, m->n_from_cookies);
    p->n_from_cookies = m->n_from_cookies;
    if (m->forward_payload_header && m->forward_payload_header[0]) {
        if (!dp_xlate__is_token(m->forward_payload_header))
            return dp_xlate__fail_at(x, "forward_payload_header", "'%s' is not a valid header name",
                                     m->forward_payload_header);
        p->forward_payload_header = dp_xlate__lower_dup(m->forward_payload_header);
    }
    p->pad_forward_payload_header = m->pad_forward_payload_header;
    p->payload_in_metadata = str_or_null(m->payload_in_metadata);
    p->header_in_metadata = str_or_null(m->header_in_metadata);
    p->failed_status_in_metadata = str_or_null(m->failed_status_in_metadata);
    if (m->normalize_payload_in_metadata) {
        p->space_delimited_claims = dup_strv(m->normalize_payload_in_metadata->space_delimited_claims,
                                             m->normalize_payload_in_metadata->n_space_delimited_claims);
        p->n_space_delimited = m->normalize_payload_in_metadata->n_space_delimited_claims;
    }
    p->clock_skew_s = m->clock_skew_seconds ? m->clock_skew_seconds : DP_JWT_DEFAULT_SKEW_S;
    if (m->jwt_cache_config) {
        p->cache_enabled = true;
        p->cache_size = m->jwt_cache_config->jwt_cache_size ? m->jwt_cache_config->jwt_cache_size
                                                            : DP_JWT_CACHE_DEFAULT_SIZE;
    }
    p->claim_to_headers = dp_xcalloc(m->n_claim_to_headers ? m->n_claim_to_headers : 1, sizeof(*p->claim_to_headers));
    for (size_t i = 0; i < m->n_claim_to_headers; i++) {
        const Envoy__Extensions__Filters__Http__JwtAuthn__V3__JwtClaimToHeader *c = m->claim_to_headers[i];
        size_t saved = dp_xlate__push_idx(x, "claim_to_headers", i);
        const char *hn = c->header_name ? c->header_name : "", *cn = c->claim_name ? c->claim_name : "";
        rc = 0;
        if (!dp_xlate__is_token(hn))
            rc = dp_xlate__fail_at(x, "header_name", "'%s' is not a valid header name", hn);
        else if (cn[0] == '\0')
            rc = dp_xlate__fail_at(x, "claim_name", "must not be empty");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        p->claim_to_headers[i].header = dp_xlate__lower_dup(hn);
        p->claim_to_headers[i].claim = dp_xstrdup(cn);
        p->n_claim_to_headers++;
    }
    return 0;
}

static void free_provider(ja_provider_t *p)
{
    free(p->name);
    free(p->issuer);
    free_strv(p->audiences, p->n_aud);
    free(p->subjects.value);
    dp_jwks_unref(p->local);
    free(p->cluster);
    free(p->uri);
    free(p->uri_host);
    free(p->uri_path);
    for (size_t i = 0; i < p->n_from_headers; i++) {
        free(p->from_headers[i].name);
        free(p->from_headers[i].prefix);
    }
    free(p->from_headers);
    free_strv(p->from_params, p->n_from_params);
    free_strv(p->from_cookies, p->n_from_cookies);
    free(p->forward_payload_header);
    free(p->payload_in_metadata);
    free(p->header_in_metadata);
    free(p->failed_status_in_metadata);
    free_strv(p->space_delimited_claims, p->n_space_delimited);
    for (size_t i = 0; i < p->n_claim_to_headers; i++) {
        free(p->claim_to_headers[i].header);
        free(p->claim_to_headers[i].claim);
    }
    free(p->claim_to_headers);
    if (p->slots) {
        /* every worker is done with this config: nothing else touches the slots */
        for (size_t i = 0; i < JA_MAX_WORKERS; i++) {
            dp_jwks_unref(p->slots[i].jwks);
            dp_jwt_cache_free(p->slots[i].cache);
        }
        free(p->slots);
    }
}

ja_slot_t *ja_slot(const ja_provider_t *p, const dp_stream_t *s)
{
    int id = s && s->worker ? s->worker->id : 0;
    if (id < 0 || id >= JA_MAX_WORKERS)
        return NULL;
    return &p->slots[id];
}

/* ---- requirements --------------------------------------------------------------- */

typedef struct build {
    dp_xlate_t *x;
    ja_config_t *c;
    size_t next_id;
} build_t;

static const ja_provider_t *find_provider(const ja_config_t *c, const char *name)
{
    for (size_t i = 0; i < c->n_providers; i++)
        if (strcmp(c->providers[i].name, name) == 0)
            return &c->providers[i];
    return NULL;
}

static void free_verifier(ja_verifier_t *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->n_kids; i++)
        free_verifier(v->kids[i]);
    free(v->kids);
    free_strv(v->audiences, v->n_aud);
    ja_extractor_free(&v->ex);
    free(v);
}

static ja_verifier_t *new_verifier(build_t *b, ja_vkind_t kind, ja_verifier_t *parent)
{
    ja_verifier_t *v = dp_xcalloc(1, sizeof(*v));
    v->kind = kind;
    v->parent = parent;
    v->id = b->next_id++;
    if (kind == JA_V_ALLOW_FAILED || kind == JA_V_ALLOW_MISSING) {
        for (size_t i = 0; i < b->c->n_providers; i++)
            ja_extractor_add(&v->ex, &b->c->providers[i]);
        ja_extractor_finish(&v->ex);
    }
    return v;
}

static int build_req(build_t *b, const pb_req_t *r, ja_verifier_t *parent, int depth, ja_verifier_t **out);

/* requires_any / requires_all */
static int build_group(build_t *b, ja_vkind_t kind, const char *field, pb_req_t *const *reqs, size_t n,
                       ja_verifier_t *v, int depth)
{
    dp_xlate_t *x = b->x;
    size_t saved = dp_xlate__push(x, field);
    int rc = 0;
    if (n < 2) {
        rc = dp_xlate__fail_at(x, "requirements", "needs at least 2 requirements, has %zu", n);
        goto out;
    }
    v->kids = dp_xcalloc(n, sizeof(*v->kids));
    for (size_t i = 0; i < n; i++) {
        const pb_req_t *k = reqs[i];
        /* Envoy's AnyVerifierImpl: allow_missing[_or_failed] members only
         * relax the result; they are no verifiers of their own */
        if (kind == JA_V_ANY && k->requires_type_case == REQ(ALLOW_MISSING_OR_FAILED)) {
            v->any_allow_missing_or_failed = true;
            continue;
        }
        if (kind == JA_V_ANY && k->requires_type_case == REQ(ALLOW_MISSING)) {
            v->any_allow_missing = true;
            continue;
        }
        size_t s2 = dp_xlate__push_idx(x, "requirements", i);
        rc = build_req(b, k, v, depth + 1, &v->kids[v->n_kids]);
        dp_xlate__pop(x, s2);
        if (rc != 0)
            goto out;
        v->n_kids++;
    }
    if (v->n_kids == 0) /* only allow_* members: one verifier of the most permissive kind */
        v->kids[v->n_kids++] =
            new_verifier(b, v->any_allow_missing_or_failed ? JA_V_ALLOW_FAILED : JA_V_ALLOW_MISSING, v);
out:
    dp_xlate__pop(x, saved);
    return rc;
}

static int build_req(build_t *b, const pb_req_t *r, ja_verifier_t *parent, int depth, ja_verifier_t **out)
{
    dp_xlate_t *x = b->x;
    *out = NULL;
    if (depth > MAX_REQUIREMENT_DEPTH)
        return dp_xlate__fail(x, "requirements nested deeper than %d levels", MAX_REQUIREMENT_DEPTH);
    int rc = 0;
    const char *pname = NULL, *field = NULL;
    ja_verifier_t *v;
    switch (r ? r->requires_type_case : REQ(_NOT_SET)) {
    case REQ(PROVIDER_NAME):
        pname = r->provider_name ? r->provider_name : "";
        field = "provider_name";
        v = new_verifier(b, JA_V_PROVIDER, parent);
        break;
    case REQ(PROVIDER_AND_AUDIENCES): {
        const Envoy__Extensions__Filters__Http__JwtAuthn__V3__ProviderWithAudiences *pa = r->provider_and_audiences;
        pname = pa->provider_name ? pa->provider_name : "";
        field = "provider_and_audiences.provider_name";
        v = new_verifier(b, JA_V_PROVIDER, parent);
        /* an empty list keeps the provider's audiences, as Envoy */
        if (pa->n_audiences) {
            v->has_audiences = true;
            v->audiences = dup_strv(pa->audiences, pa->n_audiences);
            v->n_aud = pa->n_audiences;
        }
        break;
    }
    case REQ(REQUIRES_ANY):
        v = new_verifier(b, JA_V_ANY, parent);
        rc = build_group(b, JA_V_ANY, "requires_any", r->requires_any->requirements, r->requires_any->n_requirements,
                         v, depth);
        break;
    case REQ(REQUIRES_ALL):
        v = new_verifier(b, JA_V_ALL, parent);
        rc = build_group(b, JA_V_ALL, "requires_all", r->requires_all->requirements, r->requires_all->n_requirements,
                         v, depth);
        break;
    case REQ(ALLOW_MISSING_OR_FAILED):
        v = new_verifier(b, JA_V_ALLOW_FAILED, parent);
        break;
    case REQ(ALLOW_MISSING):
        v = new_verifier(b, JA_V_ALLOW_MISSING, parent);
        break;
    default:
        v = new_verifier(b, JA_V_ALLOW_ALL, parent);
        break;
    }
    if (rc == 0 && pname) {
        v->provider = find_provider(b->c, pname);
        if (v->provider == NULL) {
            rc = dp_xlate__fail_at(x, field, "Required provider ['%s'] is not configured.", pname);
        } else {
            ja_extractor_add(&v->ex, v->provider);
            ja_extractor_finish(&v->ex);
        }
    }
    if (rc != 0) {
        free_verifier(v);
        return rc;
    }
    *out = v;
    return 0;
}

static int build_tree(build_t *b, const pb_req_t *r, ja_tree_t **out)
{
    b->next_id = 0;
    ja_tree_t *t = dp_xcalloc(1, sizeof(*t));
    int rc = build_req(b, r, NULL, 0, &t->root);
    if (rc != 0) {
        free(t);
        return rc;
    }
    t->n_nodes = b->next_id;
    ja_config_t *c = b->c;
    c->owned = dp_xrealloc(c->owned, (c->n_owned + 1) * sizeof(*c->owned));
    c->owned[c->n_owned++] = t;
    *out = t;
    return 0;
}

/* ---- rules ------------------------------------------------------------------------- */

static void free_match(dp_route_t *r)
{
    free(r->path);
    for (size_t i = 0; i < r->n_headers; i++) {
        free(r->headers[i].name);
        free(r->headers[i].str.value);
    }
    free(r->headers);
}

static int cmp_named(const void *a, const void *b)
{
    return strcmp(((const ja_named_tree_t *)a)->name, ((const ja_named_tree_t *)b)->name);
}

static const ja_tree_t *find_req(const ja_config_t *c, const char *name)
{
    ja_named_tree_t key = {.name = (char *)name};
    const ja_named_tree_t *f = bsearch(&key, c->reqs, c->n_reqs, sizeof(*c->reqs), cmp_named);
    return f ? f->tree : NULL;
}

static int xl_rules(build_t *b, const pb_auth_t *m)
{
    dp_xlate_t *x = b->x;
    ja_config_t *c = b->c;
    c->rules_vh.name = dp_xstrdup("jwt_authn rules");
    c->rules_vh.routes = dp_xcalloc(m->n_rules ? m->n_rules : 1, sizeof(dp_route_t));
    c->rule_trees = dp_xcalloc(m->n_rules ? m->n_rules : 1, sizeof(*c->rule_trees));
    for (size_t i = 0; i < m->n_rules; i++) {
        const pb_rule_t *r = m->rules[i];
        size_t saved = dp_xlate__push_idx(x, "rules", i);
        int rc = 0;
        dp_route_t *route = &c->rules_vh.routes[i];
        c->rules_vh.n_routes = i + 1;
        if (r->match == NULL) {
            rc = dp_xlate__fail_at(x, "match", "required");
        } else {
            size_t s2 = dp_xlate__push(x, "match");
            rc = dp_xlate__route_match(x, r->match, route);
            dp_xlate__pop(x, s2);
        }
        if (rc == 0 && r->requirement_type_case == ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__REQUIREMENT_RULE__REQUIREMENT_TYPE_REQUIRES) {
            size_t s2 = dp_xlate__push(x, "requires");
            rc = build_tree(b, r->requires, &c->rule_trees[i]);
            dp_xlate__pop(x, s2);
        } else if (rc == 0 && r->requirement_type_case ==
                                  ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__REQUIREMENT_RULE__REQUIREMENT_TYPE_REQUIREMENT_NAME) {
            const char *n = r->requirement_name ? r->requirement_name : "";
            c->rule_trees[i] = (ja_tree_t *)find_req(c, n);
            if (n[0] == '\0')
                rc = dp_xlate__fail_at(x, "requirement_name", "must not be empty");
            else if (c->rule_trees[i] == NULL)
                rc = dp_xlate__fail_at(x, "requirement_name", "Wrong requirement_name: %s. It should be one of [%s]", n,
                                       c->all_requirement_names);
        }
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- the config --------------------------------------------------------------------- */

void ja_config_free(ja_config_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_owned; i++) {
        free_verifier(c->owned[i]->root);
        free(c->owned[i]);
    }
    free(c->owned);
    for (size_t i = 0; i < c->n_reqs; i++)
        free(c->reqs[i].name);
    free(c->reqs);
    free(c->all_requirement_names);
    for (size_t i = 0; i < c->rules_vh.n_routes; i++)
        free_match(&c->rules_vh.routes[i]);
    free(c->rules_vh.routes);
    free(c->rules_vh.name);
    free(c->rule_trees);
    for (size_t i = 0; i < c->n_providers; i++)
        free_provider(&c->providers[i]);
    free(c->providers);
    free(c);
}

int ja_config_create(const ProtobufCMessage *msg, ja_config_t **out, char *errbuf, size_t errlen)
{
    static const pb_auth_t empty = ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__JWT_AUTHENTICATION__INIT;
    const pb_auth_t *m = msg ? (const pb_auth_t *)msg : &empty;
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    ja_config_t *c = dp_xcalloc(1, sizeof(*c));
    build_t b = {.x = &x, .c = c};
    int rc = 0;
    *out = NULL;

    c->providers = dp_xcalloc(m->n_providers ? m->n_providers : 1, sizeof(*c->providers));
    for (size_t i = 0; i < m->n_providers; i++) {
        const char *name = m->providers[i]->key ? m->providers[i]->key : "";
        /* a map: a later entry of the same key replaces an earlier one */
        bool later = false;
        for (size_t k = i + 1; k < m->n_providers && !later; k++)
            later = strcmp(m->providers[k]->key ? m->providers[k]->key : "", name) == 0;
        if (later)
            continue;
        static const pb_provider_t empty_p = ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__JWT_PROVIDER__INIT;
        const pb_provider_t *pm = m->providers[i]->value ? m->providers[i]->value : &empty_p;
        size_t saved = dp_xlate__push_key(&x, "providers", name);
        rc = xl_provider(&x, name, pm, &c->providers[c->n_providers++]);
        dp_xlate__pop(&x, saved);
        if (rc != 0)
            goto fail;
    }

    /* requirement_map first: rules may name its entries */
    c->reqs = dp_xcalloc(m->n_requirement_map ? m->n_requirement_map : 1, sizeof(*c->reqs));
    size_t names_len = 1;
    for (size_t i = 0; i < m->n_requirement_map; i++) {
        const char *name = m->requirement_map[i]->key ? m->requirement_map[i]->key : "";
        bool dup = false;
        for (size_t k = 0; k < c->n_reqs && !dup; k++)
            dup = strcmp(c->reqs[k].name, name) == 0;
        size_t saved = dp_xlate__push_key(&x, "requirement_map", name);
        ja_tree_t *t = NULL;
        rc = build_tree(&b, m->requirement_map[i]->value, &t);
        dp_xlate__pop(&x, saved);
        if (rc != 0)
            goto fail;
        if (dup) { /* the later entry wins */
            for (size_t k = 0; k < c->n_reqs; k++)
                if (strcmp(c->reqs[k].name, name) == 0)
                    c->reqs[k].tree = t;
            continue;
        }
        c->reqs[c->n_reqs].name = dp_xstrdup(name);
        c->reqs[c->n_reqs++].tree = t;
        names_len += strlen(name) + 1;
    }
    qsort(c->reqs, c->n_reqs, sizeof(*c->reqs), cmp_named);
    c->all_requirement_names = dp_xcalloc(1, names_len);
    for (size_t i = 0; i < c->n_reqs; i++) {
        if (i)
            strcat(c->all_requirement_names, ",");
        strcat(c->all_requirement_names, c->reqs[i].name);
    }

    if ((rc = xl_rules(&b, m)) != 0)
        goto fail;
    c->bypass_cors_preflight = m->bypass_cors_preflight;
    c->strip_failure_response = m->strip_failure_response;
    *out = c;
    return 0;
fail:
    ja_config_free(c);
    return rc;
}

/* ---- PerRouteConfig ------------------------------------------------------------------ */

int ja_route_config_create(const ProtobufCMessage *msg, ja_route_config_t **out, char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    *out = NULL;
    const pb_per_route_t *m = (const pb_per_route_t *)msg;
    switch (m ? m->requirement_specifier_case : 0) {
    case ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__PER_ROUTE_CONFIG__REQUIREMENT_SPECIFIER_DISABLED:
        if (!m->disabled)
            return dp_xlate__fail_at(&x, "disabled", "must be true");
        *out = dp_xcalloc(1, sizeof(**out));
        (*out)->disabled = true;
        return 0;
    case ENVOY__EXTENSIONS__FILTERS__HTTP__JWT_AUTHN__V3__PER_ROUTE_CONFIG__REQUIREMENT_SPECIFIER_REQUIREMENT_NAME:
        if (m->requirement_name == NULL || m->requirement_name[0] == '\0')
            return dp_xlate__fail_at(&x, "requirement_name", "must not be empty");
        *out = dp_xcalloc(1, sizeof(**out));
        (*out)->requirement_name = dp_xstrdup(m->requirement_name);
        return 0;
    default:
        return dp_xlate__fail(&x, "one of disabled or requirement_name is required");
    }
}

void ja_route_config_free(ja_route_config_t *rc)
{
    if (rc == NULL)
        return;
    free(rc->requirement_name);
    free(rc);
}

const ja_tree_t *ja_config_find_requirement(const ja_config_t *c, const char *name)
{
    return find_req(c, name);
}
