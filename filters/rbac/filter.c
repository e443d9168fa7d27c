/* envoy.filters.http.rbac: Envoy's RBAC HTTP filter.
 *
 * Config (envoy.extensions.filters.http.rbac.v3.RBAC): `rules` enforced
 * (absent: nothing enforced), `shadow_rules` evaluated and reported only,
 * their stat prefixes, track_per_rule_stats. Per route
 * (RBACPerRoute.rbac): replaces both engines; an RBACPerRoute without
 * `rbac` turns the filter off on that route, as in Envoy.
 *
 * Per request, as Envoy's RoleBasedAccessControlFilter::decodeHeaders:
 *  1. the shadow engine, if any: counts shadow_allowed / shadow_denied and
 *     records <shadow_rules_stat_prefix>shadow_effective_policy_id (when a
 *     policy matched) and <shadow_rules_stat_prefix>shadow_engine_result
 *     ("allowed" / "denied");
 *  2. the enforced engine, if any: the same with enforced_effective_policy_id
 *     / enforced_engine_result under rules_stat_prefix, counts allowed /
 *     denied, and a denial is a 403 local reply "RBAC: access denied" with
 *     %RESPONSE_CODE_DETAILS% rbac_access_denied_matched_policy[<id>|none];
 *     a LOG action sets envoy.common access_log_hint;
 *  3. the keys go into the dynamic metadata namespace
 *     "envoy.filters.http.rbac". A route-level config's non-empty stat
 *     prefixes rename the keys (Envoy's route-local override).
 * Stats (Envoy's generateStats, with the HCM's prefix):
 *   http.<hcm stat_prefix>.rbac.[<rules_stat_prefix>.]allowed|denied
 *   http.<hcm stat_prefix>.rbac.[<shadow_rules_stat_prefix>.]shadow_allowed|shadow_denied
 *   ...rbac.[<prefix>.]policy.<policy>.allowed|denied|shadow_allowed|shadow_denied
 *     (track_per_rule_stats, the route's setting when it has a config). */
#include "filters/rbac/rbac.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/stats.h"
#include "dataplane/core/arena.h"
#include "dataplane/core/common.h"
#include "dataplane/http/stream.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb-c.h"
#include "filters/rbac/engine.h"
#include "xds/translate_util.h"

#define NS "envoy.filters.http.rbac"

/* The filter-level stats, resolved on the first request: the HCM's stat
 * prefix is not known when the config is built. */
typedef struct rbac_stats {
    const dp_hcm_cfg_t *hcm; /* resolved for this HCM */
    dp_stat_t *allowed, *denied, *shadow_allowed, *shadow_denied;
    char *policy_prefix, *shadow_policy_prefix; /* "...rbac.[<p>.]policy." */
} rbac_stats_t;

typedef struct rbac_cfg {
    dp_rbac_engine_t *engine; /* NULL: rules absent */
    dp_rbac_engine_t *shadow; /* NULL: shadow_rules absent */
    char *rules_stat_prefix;  /* never NULL */
    char *shadow_rules_stat_prefix;
    bool per_rule_stats;
    _Atomic(rbac_stats_t *) stats; /* filter-level config only */
} rbac_cfg_t;

static void stats_free(rbac_stats_t *st)
{
    if (st == NULL)
        return;
    free(st->policy_prefix);
    free(st->shadow_policy_prefix);
    free(st);
}

static void cfg_free(void *p)
{
    rbac_cfg_t *c = p;
    if (c == NULL)
        return;
    dp_rbac_engine_free(c->engine);
    dp_rbac_engine_free(c->shadow);
    free(c->rules_stat_prefix);
    free(c->shadow_rules_stat_prefix);
    stats_free(atomic_load(&c->stats));
    free(c);
}

/* Builds a config from an RBAC message (NULL: an empty one). */
static int build(dp_xlate_t *x, const Envoy__Extensions__Filters__Http__Rbac__V3__RBAC *m, rbac_cfg_t **out)
{
    int rc = 0;
    rbac_cfg_t *c = dp_xcalloc(1, sizeof(*c));
    c->rules_stat_prefix = dp_xstrdup(m && m->rules_stat_prefix ? m->rules_stat_prefix : "");
    c->shadow_rules_stat_prefix =
        dp_xstrdup(m && m->shadow_rules_stat_prefix ? m->shadow_rules_stat_prefix : "");
    if (m != NULL) {
        c->per_rule_stats = m->track_per_rule_stats != 0;
        if (m->rules != NULL) {
            size_t saved = dp_xlate__push(x, "rules");
            rc = dp_rbac_engine_create(x, m->rules, &c->engine);
            dp_xlate__pop(x, saved);
        }
        if (rc == 0 && m->shadow_rules != NULL) {
            size_t saved = dp_xlate__push(x, "shadow_rules");
            rc = dp_rbac_engine_create(x, m->shadow_rules, &c->shadow);
            dp_xlate__pop(x, saved);
        }
    }
    if (rc != 0) {
        cfg_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static int create_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    rbac_cfg_t *c = NULL;
    int rc = build(&x, (const Envoy__Extensions__Filters__Http__Rbac__V3__RBAC *)msg, &c);
    *config = c;
    return rc;
}

static int create_route_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    const Envoy__Extensions__Filters__Http__Rbac__V3__RBACPerRoute *pr =
        (const Envoy__Extensions__Filters__Http__Rbac__V3__RBACPerRoute *)msg;
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, errlen);
    rbac_cfg_t *c = NULL;
    /* no `rbac`: both engines NULL, the filter does nothing on the route */
    size_t saved = dp_xlate__push(&x, "rbac");
    int rc = build(&x, pr ? pr->rbac : NULL, &c);
    dp_xlate__pop(&x, saved);
    *config = c;
    return rc;
}

/* ---- stats ---------------------------------------------------------------- */

/* Envoy's statPrefixJoin */
static char *prefix_join(const char *prefix, const char *token)
{
    size_t pl = strlen(prefix);
    if (pl == 0)
        return dp_xstrdup(token);
    size_t tl = strlen(token);
    bool dot = prefix[pl - 1] != '.';
    char *s = dp_xmalloc(pl + dot + tl + 1);
    memcpy(s, prefix, pl);
    if (dot)
        s[pl] = '.';
    memcpy(s + pl + dot, token, tl + 1);
    return s;
}

static dp_stat_t *counter_join(const char *prefix, const char *name)
{
    char *full = prefix_join(prefix, name);
    dp_stat_t *st = dp_stats_counter(full);
    free(full);
    return st;
}

static rbac_stats_t *stats_resolve(const rbac_cfg_t *c, const dp_hcm_cfg_t *h)
{
    rbac_stats_t *st = dp_xcalloc(1, sizeof(*st));
    const char *sp = h && h->stat_prefix ? h->stat_prefix : "";
    size_t n = strlen(sp) + 16;
    char *base = dp_xmalloc(n);
    snprintf(base, n, "http.%s.rbac.", sp);
    char *rules = prefix_join(base, c->rules_stat_prefix);
    char *shadow = prefix_join(base, c->shadow_rules_stat_prefix);
    st->hcm = h;
    st->allowed = counter_join(rules, "allowed");
    st->denied = counter_join(rules, "denied");
    st->shadow_allowed = counter_join(shadow, "shadow_allowed");
    st->shadow_denied = counter_join(shadow, "shadow_denied");
    st->policy_prefix = prefix_join(rules, "policy.");
    st->shadow_policy_prefix = prefix_join(shadow, "policy.");
    free(base);
    free(rules);
    free(shadow);
    return st;
}

/* The filter config's stats for this stream's HCM. A filter config
 * belongs to one HCM, so the first resolution is cached for good; should a
 * config ever serve another HCM, its stats are resolved per request into
 * *tmp, which the caller frees (the counters themselves live forever). */
static const rbac_stats_t *stats_of(rbac_cfg_t *c, dp_stream_t *s, rbac_stats_t **tmp)
{
    rbac_stats_t *st = atomic_load_explicit(&c->stats, memory_order_acquire);
    if (st != NULL && st->hcm == s->hcm)
        return st;
    rbac_stats_t *fresh = stats_resolve(c, s->hcm);
    if (st == NULL) {
        rbac_stats_t *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(&c->stats, &expected, fresh, memory_order_acq_rel,
                                                    memory_order_acquire))
            return fresh;
        if (expected->hcm == s->hcm) {
            stats_free(fresh);
            return expected;
        }
    }
    *tmp = fresh;
    return fresh;
}

static void policy_counter(const char *prefix, const char *policy, const char *suffix)
{
    dp_stat_inc(dp_stats_counterf("%s%s.%s", prefix, policy, suffix));
}

/* ---- per request ---------------------------------------------------------- */

static void set_meta_str(dp_stream_t *s, const char *prefix, const char *key, const char *value)
{
    char *k = dp_arena_printf(&s->arena, NULL, "%s%s", prefix, key);
    dp_stream_metadata_set(s, NS, k, json_string(value));
}

static dp_filter_status_t on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    (void)state;
    rbac_cfg_t *c = (rbac_cfg_t *)config;
    const rbac_cfg_t *rl = dp_stream_route_config(s);
    const dp_rbac_engine_t *engine = rl ? rl->engine : c->engine;
    const dp_rbac_engine_t *shadow = rl ? rl->shadow : c->shadow;
    if (engine == NULL && shadow == NULL)
        return DP_FILTER_CONTINUE;

    /* Envoy: a route-level prefix renames the metadata keys when set */
    const char *rules_prefix = rl && rl->rules_stat_prefix[0] ? rl->rules_stat_prefix : c->rules_stat_prefix;
    const char *shadow_prefix =
        rl && rl->shadow_rules_stat_prefix[0] ? rl->shadow_rules_stat_prefix : c->shadow_rules_stat_prefix;
    bool per_rule = rl ? rl->per_rule_stats : c->per_rule_stats;
    rbac_stats_t *tmp = NULL;
    const rbac_stats_t *st = stats_of(c, s, &tmp);

    dp_rbac_request_t r = {
        .method = s->method,
        .path = s->path,
        .authority = s->authority,
        .scheme = s->scheme,
        .headers = &s->req_headers,
        .peer = s->peer,
        .local = s->local,
        .remote_addr = s->remote_addr,
        .metadata = s->metadata,
    };
    dp_rbac_result_t sres = {0}, eres = {0};
    if (shadow != NULL) {
        dp_rbac_engine_eval(shadow, &r, &sres);
        dp_stat_inc(sres.allowed ? st->shadow_allowed : st->shadow_denied);
        if (per_rule && sres.policy)
            policy_counter(st->shadow_policy_prefix, sres.policy,
                           sres.allowed ? "shadow_allowed" : "shadow_denied");
    }
    if (engine != NULL) {
        dp_rbac_engine_eval(engine, &r, &eres);
        dp_stat_inc(eres.allowed ? st->allowed : st->denied);
        if (per_rule && eres.policy)
            policy_counter(st->policy_prefix, eres.policy, eres.allowed ? "allowed" : "denied");
    }

    /* the request view is done: metadata may now change */
    if (shadow != NULL) {
        if (sres.policy)
            set_meta_str(s, shadow_prefix, "shadow_effective_policy_id", sres.policy);
        set_meta_str(s, shadow_prefix, "shadow_engine_result", sres.allowed ? "allowed" : "denied");
    }
    if (engine != NULL) {
        if (eres.policy)
            set_meta_str(s, rules_prefix, "enforced_effective_policy_id", eres.policy);
        set_meta_str(s, rules_prefix, "enforced_engine_result", eres.allowed ? "allowed" : "denied");
        /* LOG: only the enforced engine sets the shared hint */
        if (dp_rbac_engine_action(engine) == DP_RBAC_LOG)
            dp_stream_metadata_set(s, "envoy.common", "access_log_hint", json_boolean(eres.matched));
    }
    stats_free(tmp);

    if (engine == NULL || eres.allowed)
        return DP_FILTER_CONTINUE;
    /* Envoy's responseDetail: whitespace in the policy name becomes '_' so
     * the access log keeps its field count */
    char *detail = dp_arena_printf(&s->arena, NULL, "rbac_access_denied_matched_policy[%s]",
                                   eres.policy ? eres.policy : "none");
    for (char *p = detail; *p; p++)
        if (isspace((unsigned char)*p))
            *p = '_';
    /* dp_stream_local_reply() with Envoy's body text, but keeping our
     * %RESPONSE_CODE_DETAILS% (local_reply would make it the body text).
     * The reply may complete and dispose of the stream: s is not touched
     * after it. */
    s->local_reply_detail = detail;
    static const char body[] = "{\"error\": \"RBAC: access denied\", \"status\": 403}\n";
    dp_stream_send_reply(s, 403, body, sizeof(body) - 1, "application/json", NULL);
    return DP_FILTER_REPLIED;
}

const dp_http_filter_factory_t dp_filter_rbac = {
    .name = "envoy.filters.http.rbac",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
    .descriptor = &envoy__extensions__filters__http__rbac__v3__rbac__descriptor,
    .create_config = create_config,
    .destroy_config = cfg_free,
    .on_request_headers = on_request_headers,
    .route_type_url = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute",
    .route_descriptor = &envoy__extensions__filters__http__rbac__v3__rbacper_route__descriptor,
    .create_route_config = create_route_config,
    .destroy_route_config = cfg_free,
};
