/* The envoy.filters.http.rbac factory (filters/rbac/filter.c) on a fake
 * stream: enforcement and the 403 reply, shadow rules that only report,
 * the dynamic metadata keys and stats Envoy uses (with their prefixes),
 * LOG's access_log_hint, per-route override / disable, per-rule stats,
 * and config errors with their paths. The end-to-end test drives the
 * same through the real binary. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/stats.h"
#include "dataplane/core/arena.h"
#include "dataplane/http/stream.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb-c.h"
#include "filters/rbac/rbac.h"
#include "xds/pbjson.h"
#include "test.h"

/* ---- fake codec ------------------------------------------------------------ */

static int sent_status;
static char sent_body[1024];
static size_t sent_len;

static void f_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t cl, bool end)
{
    (void)s, (void)h, (void)cl, (void)end;
    sent_status = status;
}
static void f_body(dp_stream_t *s, const char *d, size_t n, bool end)
{
    (void)s, (void)end;
    if (sent_len + n < sizeof(sent_body)) {
        memcpy(sent_body + sent_len, d, n);
        sent_len += n;
        sent_body[sent_len] = '\0';
    }
}
static size_t f_pending(dp_stream_t *s)
{
    (void)s;
    return 0;
}
static void f_read_body(dp_stream_t *s, bool en)
{
    (void)s, (void)en;
}
static void f_reset(dp_stream_t *s)
{
    (void)s;
}
static const dp_stream_ops_t fake_ops = {
    .send_head = f_head, .send_body = f_body, .pending = f_pending, .read_body = f_read_body, .reset = f_reset};

/* ---- configs ------------------------------------------------------------------- */

static char errbuf[1024];

static void *mkcfg(const ProtobufCMessageDescriptor *d, const char *yaml, bool route)
{
    ProtobufCMessage *m = NULL;
    char e[512];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), d, NULL, &m, "t.yaml", e, sizeof(e)) != 0) {
        fprintf(stderr, "bad test YAML: %s\n", e);
        abort();
    }
    void *cfg = NULL;
    errbuf[0] = '\0';
    int rc = route ? dp_filter_rbac.create_route_config(m, &cfg, errbuf, sizeof(errbuf))
                   : dp_filter_rbac.create_config(m, &cfg, errbuf, sizeof(errbuf));
    protobuf_c_message_free_unpacked(m, NULL);
    if (rc != 0)
        return NULL;
    return cfg;
}

static void *filter_cfg(const char *yaml)
{
    void *c = mkcfg(&envoy__extensions__filters__http__rbac__v3__rbac__descriptor, yaml, false);
    if (c == NULL) {
        fprintf(stderr, "refused: %s\n", errbuf);
        abort();
    }
    return c;
}

static void *route_cfg(const char *yaml)
{
    void *c = mkcfg(&envoy__extensions__filters__http__rbac__v3__rbacper_route__descriptor, yaml, true);
    if (c == NULL) {
        fprintf(stderr, "refused: %s\n", errbuf);
        abort();
    }
    return c;
}

/* ---- one request ------------------------------------------------------------------ */

typedef struct env {
    dp_hcm_cfg_t hcm;
    dp_http_filter_cfg_t f;
    dp_route_t route;
    dp_filter_override_t ov;
    dp_stream_t s;
    struct sockaddr_in peer, local;
} env_t;

/* A request GET path from 10.0.0.1 to 10.0.0.2:8080, through an HCM with
 * stat_prefix "rbt" whose only filter is "rbac" with config cfg, on a
 * route carrying route_cfg (NULL: none). */
static void env_init(env_t *e, void *cfg, void *rcfg, const char *path)
{
    memset(e, 0, sizeof(*e));
    e->hcm.stat_prefix = "rbt";
    e->f.name = "rbac";
    e->f.factory = &dp_filter_rbac;
    e->f.config = cfg;
    e->hcm.filters = &e->f;
    e->hcm.n_filters = 1;
    if (rcfg) {
        e->ov.name = "rbac";
        e->ov.factory = &dp_filter_rbac;
        e->ov.config = rcfg;
        e->route.per_filter.v = &e->ov;
        e->route.per_filter.n = 1;
    }
    e->s.route = &e->route;
    e->s.ops = &fake_ops;
    e->s.hcm = &e->hcm;
    e->s.method = DP_SLICE_LIT("GET");
    e->s.scheme = DP_SLICE_LIT("http");
    e->s.authority = DP_SLICE_LIT("example.com");
    e->s.path = dp_slice_cstr(path);
    e->peer.sin_family = AF_INET;
    inet_pton(AF_INET, "10.0.0.1", &e->peer.sin_addr);
    e->local.sin_family = AF_INET;
    e->local.sin_port = htons(8080);
    inet_pton(AF_INET, "10.0.0.2", &e->local.sin_addr);
    e->s.peer = (struct sockaddr *)&e->peer;
    e->s.local = (struct sockaddr *)&e->local;
    snprintf(e->s.remote_addr, sizeof(e->s.remote_addr), "10.0.0.1");
    sent_status = 0;
    sent_len = 0;
    sent_body[0] = '\0';
}

static dp_filter_status_t run(env_t *e)
{
    return dp_filter_rbac.on_request_headers(&e->s, e->f.config, NULL);
}

static void env_free(env_t *e)
{
    if (e->s.metadata)
        json_decref(e->s.metadata);
    dp_headers_free(&e->s.req_headers);
    dp_headers_free(&e->s.resp_headers);
    dp_arena_free(&e->s.arena);
}

/* metadata[ns][key] as a string ("true"/"false" for booleans), or NULL */
static const char *md(const env_t *e, const char *ns, const char *key)
{
    const json_t *n = dp_stream_metadata_get(&e->s, ns);
    const json_t *v = n ? json_object_get(n, key) : NULL;
    if (v == NULL)
        return NULL;
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    return json_string_value(v);
}

static int64_t counter(const char *name)
{
    return dp_stat_get(dp_stats_counter(name));
}

#define NS "envoy.filters.http.rbac"

/* ALLOW for /public only; DENY for header x-bad */
static const char *ALLOW_PUBLIC = "rules:\n"
                                  "  action: ALLOW\n"
                                  "  policies:\n"
                                  "    public: {permissions: [{url_path: {path: {prefix: /public}}}], "
                                  "principals: [{any: true}]}\n";

static void test_enforce(void)
{
    void *cfg = filter_cfg(ALLOW_PUBLIC);
    env_t e;
    int64_t a0 = counter("http.rbt.rbac.allowed"), d0 = counter("http.rbt.rbac.denied");

    env_init(&e, cfg, NULL, "/public/x?y=1");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_INT(sent_status, 0);
    CHECK_STR(md(&e, NS, "enforced_engine_result"), "allowed");
    CHECK_STR(md(&e, NS, "enforced_effective_policy_id"), "public");
    CHECK(md(&e, NS, "shadow_engine_result") == NULL);
    CHECK(md(&e, "envoy.common", "access_log_hint") == NULL);
    CHECK_INT(counter("http.rbt.rbac.allowed"), a0 + 1);
    env_free(&e);

    env_init(&e, cfg, NULL, "/private");
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    CHECK_INT(sent_status, 403);
    CHECK_STR(sent_body, "{\"error\": \"RBAC: access denied\", \"status\": 403}\n");
    CHECK_STR(e.s.local_reply_detail, "rbac_access_denied_matched_policy[none]");
    CHECK_STR(md(&e, NS, "enforced_engine_result"), "denied");
    CHECK(md(&e, NS, "enforced_effective_policy_id") == NULL);
    CHECK_INT(counter("http.rbt.rbac.denied"), d0 + 1);
    CHECK_INT(counter("http.rbt.rbac.allowed"), a0 + 1);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);

    /* DENY with a policy name holding whitespace: the detail has '_' */
    cfg = filter_cfg(
        "rules:\n  action: DENY\n  policies:\n"
        "    \"bad actor\": {permissions: [{header: {name: x-bad}}], principals: [{any: true}]}\n");
    env_init(&e, cfg, NULL, "/");
    dp_headers_add(&e.s.req_headers, DP_SLICE_LIT("x-bad"), DP_SLICE_LIT("1"));
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    CHECK_INT(sent_status, 403);
    CHECK_STR(e.s.local_reply_detail, "rbac_access_denied_matched_policy[bad_actor]");
    CHECK_STR(md(&e, NS, "enforced_effective_policy_id"), "bad actor");
    env_free(&e);
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);

    /* no rules at all (or no typed_config): nothing happens */
    cfg = filter_cfg("rules_stat_prefix: x\n");
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK(e.s.metadata == NULL);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);
    void *nullcfg = NULL;
    CHECK_INT(dp_filter_rbac.create_config(NULL, &nullcfg, errbuf, sizeof(errbuf)), 0);
    env_init(&e, nullcfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK(e.s.metadata == NULL);
    env_free(&e);
    dp_filter_rbac.destroy_config(nullcfg);

    /* rules present with no policies: ALLOW denies everything */
    cfg = filter_cfg("rules: {}\n");
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    CHECK_INT(sent_status, 403);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);
}

static void test_shadow_and_prefixes(void)
{
    void *cfg = filter_cfg("shadow_rules:\n"
                           "  action: DENY\n"
                           "  policies:\n"
                           "    no-admin: {permissions: [{url_path: {path: {prefix: /admin}}}], "
                           "principals: [{any: true}]}\n"
                           "shadow_rules_stat_prefix: sh_\n"
                           "rules_stat_prefix: en\n"
                           "rules: {action: DENY}\n");
    env_t e;
    int64_t sd0 = counter("http.rbt.rbac.sh_.shadow_denied"),
            sa0 = counter("http.rbt.rbac.sh_.shadow_allowed");
    int64_t a0 = counter("http.rbt.rbac.en.allowed");

    /* the shadow engine denies, nothing is enforced: the request goes on */
    env_init(&e, cfg, NULL, "/admin/users");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_INT(sent_status, 0);
    CHECK_STR(md(&e, NS, "sh_shadow_engine_result"), "denied");
    CHECK_STR(md(&e, NS, "sh_shadow_effective_policy_id"), "no-admin");
    CHECK_STR(md(&e, NS, "enenforced_engine_result"), "allowed");
    CHECK_INT(counter("http.rbt.rbac.sh_.shadow_denied"), sd0 + 1);
    CHECK_INT(counter("http.rbt.rbac.en.allowed"), a0 + 1);
    env_free(&e);

    env_init(&e, cfg, NULL, "/home");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_STR(md(&e, NS, "sh_shadow_engine_result"), "allowed");
    CHECK(md(&e, NS, "sh_shadow_effective_policy_id") == NULL);
    CHECK_INT(counter("http.rbt.rbac.sh_.shadow_allowed"), sa0 + 1);
    env_free(&e);

    /* a route-level config replaces the engines; its non-empty prefixes
     * rename the metadata keys, the stats stay the filter's */
    void *rc = route_cfg("rbac:\n"
                         "  shadow_rules: {action: ALLOW}\n"
                         "  shadow_rules_stat_prefix: route_\n");
    env_init(&e, cfg, rc, "/admin");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_STR(md(&e, NS, "route_shadow_engine_result"), "denied");
    CHECK(md(&e, NS, "sh_shadow_engine_result") == NULL);
    CHECK(md(&e, NS, "enenforced_engine_result") == NULL); /* the route has no rules */
    CHECK_INT(counter("http.rbt.rbac.sh_.shadow_denied"), sd0 + 2);
    env_free(&e);
    dp_filter_rbac.destroy_route_config(rc);
    dp_filter_rbac.destroy_config(cfg);
}

static void test_log(void)
{
    void *cfg =
        filter_cfg("rules:\n  action: LOG\n  policies:\n"
                   "    audit: {permissions: [{header: {name: x-audit}}], principals: [{any: true}]}\n"
                   "shadow_rules:\n  action: LOG\n  policies:\n"
                   "    s: {permissions: [{any: true}], principals: [{any: true}]}\n");
    env_t e;
    env_init(&e, cfg, NULL, "/");
    dp_headers_add(&e.s.req_headers, DP_SLICE_LIT("x-audit"), DP_SLICE_LIT("1"));
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_STR(md(&e, "envoy.common", "access_log_hint"), "true");
    CHECK_STR(md(&e, NS, "enforced_engine_result"), "allowed");
    env_free(&e);
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_STR(md(&e, "envoy.common", "access_log_hint"), "false");
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);

    /* a shadow LOG engine never sets the hint */
    cfg = filter_cfg("shadow_rules:\n  action: LOG\n  policies:\n"
                     "    s: {permissions: [{any: true}], principals: [{any: true}]}\n");
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK(md(&e, "envoy.common", "access_log_hint") == NULL);
    CHECK_STR(md(&e, NS, "shadow_engine_result"), "allowed");
    CHECK_STR(md(&e, NS, "shadow_effective_policy_id"), "s");
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);
}

static void test_per_route(void)
{
    void *cfg = filter_cfg(ALLOW_PUBLIC);
    env_t e;

    /* RBACPerRoute without rbac: the filter does nothing on the route */
    void *off = route_cfg("{}");
    env_init(&e, cfg, off, "/private");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK(e.s.metadata == NULL);
    env_free(&e);
    dp_filter_rbac.destroy_route_config(off);

    /* an override: only x-key: k1 gets in, whatever the path */
    void *ov =
        route_cfg("rbac:\n  rules:\n    policies:\n"
                  "      key: {permissions: [{any: true}], principals: [{header: {name: x-key, exact_match: "
                  "k1}}]}\n"
                  "  track_per_rule_stats: true\n");
    int64_t pa0 = counter("http.rbt.rbac.policy.key.allowed");
    env_init(&e, cfg, ov, "/public");
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    CHECK_INT(sent_status, 403);
    env_free(&e);
    env_init(&e, cfg, ov, "/private");
    dp_headers_add(&e.s.req_headers, DP_SLICE_LIT("x-key"), DP_SLICE_LIT("k1"));
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_STR(md(&e, NS, "enforced_effective_policy_id"), "key");
    CHECK_INT(counter("http.rbt.rbac.policy.key.allowed"), pa0 + 1);
    env_free(&e);
    dp_filter_rbac.destroy_route_config(ov);

    /* without the route config, per-rule stats follow the filter's (off) */
    int64_t pp0 = counter("http.rbt.rbac.policy.public.allowed");
    env_init(&e, cfg, NULL, "/public");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    CHECK_INT(counter("http.rbt.rbac.policy.public.allowed"), pp0);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);

    /* per-rule stats on the filter, under the rules prefix */
    cfg = filter_cfg("rules:\n  action: DENY\n  policies:\n"
                     "    blk: {permissions: [{any: true}], principals: [{any: true}]}\n"
                     "rules_stat_prefix: p1\ntrack_per_rule_stats: true\n");
    int64_t pd0 = counter("http.rbt.rbac.p1.policy.blk.denied");
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    CHECK_INT(counter("http.rbt.rbac.p1.policy.blk.denied"), pd0 + 1);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);
}

/* The filter reads the remote address the HCM derived, not the peer. */
static void test_remote_vs_direct(void)
{
    void *cfg =
        filter_cfg("rules:\n  policies:\n"
                   "    office: {permissions: [{any: true}], principals: [{remote_ip: {address_prefix: "
                   "198.51.100.0, prefix_len: 24}}]}\n");
    env_t e;
    env_init(&e, cfg, NULL, "/");
    CHECK_INT(run(&e), DP_FILTER_REPLIED);
    env_free(&e);
    env_init(&e, cfg, NULL, "/");
    snprintf(e.s.remote_addr, sizeof(e.s.remote_addr), "198.51.100.20");
    CHECK_INT(run(&e), DP_FILTER_CONTINUE);
    env_free(&e);
    dp_filter_rbac.destroy_config(cfg);
}

static void test_config_errors(void)
{
    const ProtobufCMessageDescriptor *F = &envoy__extensions__filters__http__rbac__v3__rbac__descriptor;
    const ProtobufCMessageDescriptor *R =
        &envoy__extensions__filters__http__rbac__v3__rbacper_route__descriptor;

    CHECK(mkcfg(F, "rules: {policies: {p: {permissions: [{any: true}]}}}", false) == NULL);
    CHECK_STR(errbuf, "rules.policies[\"p\"].principals: at least one is required");
    CHECK(
        mkcfg(
            F,
            "shadow_rules: {policies: {q: {permissions: [{header: {name: ''}}], principals: [{any: true}]}}}",
            false) == NULL);
    CHECK_STR(errbuf, "shadow_rules.policies[\"q\"].permissions[0].header.name: required");
    CHECK(mkcfg(R,
                "rbac: {rules: {policies: {p: {permissions: [{any: true}], principals: [{remote_ip: "
                "{address_prefix: nope}}]}}}}",
                true) == NULL);
    CHECK_STR(errbuf, "rbac.rules.policies[\"p\"].principals[0].remote_ip.address_prefix: not an IP address");
    CHECK(mkcfg(R, "rbac: {shadow_rules: {action: 9}}", true) == NULL);
    CHECK_STR(errbuf, "rbac.shadow_rules.action: unknown value 9");
}

int main(void)
{
    test_enforce();
    test_shadow_and_prefixes();
    test_log();
    test_per_route();
    test_remote_vs_direct();
    test_config_errors();
    TEST_DONE();
}
