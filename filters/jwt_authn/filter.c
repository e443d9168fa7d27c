/* envoy.filters.http.jwt_authn: Envoy's JWT authentication filter
 * (envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication), on the
 * engine of filters/auth. Choosing the requirement:
 *   - CORS preflight with bypass_cors_preflight: allowed;
 *   - a PerRouteConfig (typed_per_filter_config): disabled, or a
 *     requirement_map entry (an unknown name is a 403);
 *   - else the first rule whose RouteMatch matches; no rule: allowed.
 * Failures are a 401 (403 for disallowed audiences) with Envoy's status
 * message as our JSON local reply and Envoy's
 *   WWW-Authenticate: Bearer realm="<scheme>://<host><path>"[, error="invalid_token"]
 * or an empty body without it under strip_failure_response.
 * Stats: http.<stat_prefix>.jwt_authn.{allowed,denied,cors_preflight_bypassed,
 * jwks_fetch_success,jwks_fetch_failed,jwt_cache_hit,jwt_cache_miss}. */
#include "filters/jwt_authn/jwt_authn.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http/route.h"
#include "dataplane/http/stream.h"
#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb-c.h"
#include "filters/jwt_authn/jwt_authn_int.h"

#define MAX_URI_PATH 256 /* Envoy's MaximumUriLength for the realm */

/* ---- stats -------------------------------------------------------------------------- */

static const char *const stat_names[] = {
    "allowed", "denied", "cors_preflight_bypassed", "jwks_fetch_success", "jwks_fetch_failed",
    "jwt_cache_hit", "jwt_cache_miss",
};
static const dp_stat_kind_t stat_kinds[] = {
    DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER,
    DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER,
};

/* One stats block per stat prefix for the life of the process, so counts
 * survive config updates as Envoy's do. */
static pthread_mutex_t stats_mu = PTHREAD_MUTEX_INITIALIZER;
static ja_stats_t **stats_list;
static size_t n_stats;

static ja_stats_t *stats_for(const char *stat_prefix)
{
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "http.%s.jwt_authn", stat_prefix ? stat_prefix : "");
    pthread_mutex_lock(&stats_mu);
    ja_stats_t *st = NULL;
    for (size_t i = 0; i < n_stats && st == NULL; i++)
        if (strcmp(stats_list[i]->g->prefix, prefix) == 0)
            st = stats_list[i];
    if (st == NULL) {
        st = dp_xcalloc(1, sizeof(*st));
        st->g = dp_stats_group_new(prefix, stat_names, stat_kinds, DP_ARRAY_SIZE(stat_names));
        dp_stat_t *v = st->g->stats;
        st->allowed = &v[0];
        st->denied = &v[1];
        st->cors_preflight_bypassed = &v[2];
        st->jwks_fetch_success = &v[3];
        st->jwks_fetch_failed = &v[4];
        st->jwt_cache_hit = &v[5];
        st->jwt_cache_miss = &v[6];
        stats_list = dp_xrealloc(stats_list, (n_stats + 1) * sizeof(*stats_list));
        stats_list[n_stats++] = st;
    }
    pthread_mutex_unlock(&stats_mu);
    return st;
}

static ja_stats_t *stats_of(const ja_config_t *c, const dp_stream_t *s)
{
    ja_stats_t *st = atomic_load_explicit(&((ja_config_t *)c)->stats, memory_order_acquire);
    if (st == NULL && s->hcm) {
        st = stats_for(s->hcm->stat_prefix);
        atomic_store_explicit(&((ja_config_t *)c)->stats, st, memory_order_release);
    }
    return st;
}

static void count(dp_stat_t *s)
{
    if (s)
        dp_stat_inc(s);
}

/* ---- replies ---------------------------------------------------------------------------- */

/* Envoy's buildOriginalUri: scheme://host + path (query included), the
 * path cut at 256 bytes. */
static char *original_uri(dp_stream_t *s)
{
    size_t pl = DP_MIN(s->path.len, (size_t)MAX_URI_PATH);
    size_t n;
    return dp_arena_printf(&s->arena, &n, "%.*s://%.*s%.*s", (int)s->scheme.len, s->scheme.base ? s->scheme.base : "",
                           (int)s->authority.len, s->authority.base ? s->authority.base : "", (int)pl,
                           s->path.base ? s->path.base : "");
}

static void deny(ja_req_t *req, int code, const char *msg, bool challenge, bool invalid_token)
{
    dp_stream_t *s = req->s;
    count(req->stats ? req->stats->denied : NULL);
    if (req->cfg->strip_failure_response) {
        dp_stream_send_reply(s, code, NULL, 0, NULL, NULL);
        return;
    }
    if (!challenge) {
        dp_stream_local_reply(s, code, msg, NULL);
        return;
    }
    /* the realm's quotes and backslashes escaped, and no line break */
    const char *uri = req->original_uri ? req->original_uri : "";
    size_t ul = strlen(uri);
    char *v = dp_arena_alloc(&s->arena, 2 * ul + 64);
    size_t n = (size_t)sprintf(v, "Bearer realm=\"");
    for (size_t i = 0; i < ul; i++) {
        char c = uri[i];
        if (c == '\r' || c == '\n')
            continue;
        if (c == '"' || c == '\\')
            v[n++] = '\\';
        v[n++] = c;
    }
    n += (size_t)sprintf(v + n, "\"%s", invalid_token ? ", error=\"invalid_token\"" : "");
    dp_headers_t extra = {0};
    dp_headers_add(&extra, DP_SLICE_LIT("www-authenticate"), dp_slice(v, n));
    dp_stream_local_reply(s, code, msg, &extra);
    dp_headers_free(&extra);
}

void ja_finish(ja_req_t *req)
{
    dp_stream_t *s = req->s;
    req->finished = true;
    if (s->replied)
        return; /* answered meanwhile (e.g. a stream timeout) */
    dp_jwt_status_t st = req->root_status;
    if (st == DP_JWT_OK) {
        count(req->stats ? req->stats->allowed : NULL);
        if (req->stopped)
            dp_stream_continue(s);
        return;
    }
    deny(req, st == DP_JWT_AUDIENCE_NOT_ALLOWED ? 403 : 401, dp_jwt_status_str(st), true, st != DP_JWT_MISSED);
}

/* ---- the filter ------------------------------------------------------------------------- */

static bool is_cors_preflight(const dp_stream_t *s)
{
    const dp_slice_t *o = dp_headers_get(&s->req_headers, "origin", 6);
    const dp_slice_t *m = dp_headers_get(&s->req_headers, "access-control-request-method", 29);
    return dp_slice_eq(s->method, DP_SLICE_LIT("OPTIONS")) && o && o->len > 0 && m && m->len > 0;
}

static dp_filter_status_t on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    const ja_config_t *c = config;
    ja_req_t *req = state;
    memset(req, 0, sizeof(*req));
    req->s = s;
    req->cfg = c;
    req->stats = stats_of(c, s);

    if (c->bypass_cors_preflight && is_cors_preflight(s)) {
        count(req->stats ? req->stats->cors_preflight_bypassed : NULL);
        count(req->stats ? req->stats->allowed : NULL);
        return DP_FILTER_CONTINUE;
    }
    const ja_route_config_t *rc = dp_stream_route_config(s);
    if (rc) {
        if (rc->disabled) {
            count(req->stats ? req->stats->allowed : NULL);
            return DP_FILTER_CONTINUE;
        }
        req->tree = ja_config_find_requirement(c, rc->requirement_name);
        if (req->tree == NULL) {
            size_t n;
            char *msg = dp_arena_printf(&s->arena, &n,
                                        "Failed JWT authentication: Wrong requirement_name: %s. It should be one of [%s]",
                                        rc->requirement_name, c->all_requirement_names);
            req->finished = true;
            deny(req, 403, msg, false, false);
            return DP_FILTER_REPLIED;
        }
    } else if (c->rules_vh.n_routes) {
        dp_route_input_t in = {s->method, s->path, s->authority, s->scheme, &s->req_headers};
        const dp_route_t *r = dp_route_match(&c->rules_vh, &in);
        if (r)
            req->tree = c->rule_trees[r - c->rules_vh.routes];
    }
    if (req->tree == NULL) {
        count(req->stats ? req->stats->allowed : NULL);
        return DP_FILTER_CONTINUE;
    }
    req->original_uri = original_uri(s);
    ja_verify_start(req);
    if (!req->root_done) {
        req->stopped = true;
        return DP_FILTER_STOP;
    }
    ja_finish(req);
    return s->replied ? DP_FILTER_REPLIED : DP_FILTER_CONTINUE;
}

static void on_destroy(dp_stream_t *s, const void *config, void *state)
{
    (void)s;
    (void)config;
    ja_req_t *req = state;
    if (req == NULL || req->s == NULL)
        return; /* never ran */
    ja_verify_cancel(req);
    json_decref(req->extracted);
    req->extracted = NULL;
}

static int create_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    ja_config_t *c = NULL;
    int rc = ja_config_create(msg, &c, errbuf, errlen);
    *config = c;
    return rc;
}

static void destroy_config(void *config)
{
    ja_config_free(config);
}

static int create_route_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    ja_route_config_t *rc = NULL;
    int r = ja_route_config_create(msg, &rc, errbuf, errlen);
    *config = rc;
    return r;
}

static void destroy_route_config(void *config)
{
    ja_route_config_free(config);
}

const dp_http_filter_factory_t dp_filter_jwt_authn = {
    .name = "envoy.filters.http.jwt_authn",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
    .descriptor = &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__descriptor,
    .create_config = create_config,
    .destroy_config = destroy_config,
    .state_size = sizeof(ja_req_t),
    .on_request_headers = on_request_headers,
    .on_destroy = on_destroy,
    .route_type_url = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig",
    .route_descriptor = &envoy__extensions__filters__http__jwt_authn__v3__per_route_config__descriptor,
    .create_route_config = create_route_config,
    .destroy_route_config = destroy_route_config,
};
