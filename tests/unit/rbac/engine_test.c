/* The RBAC policy engine (filters/rbac/engine.h) on hand-made request
 * views: every permission and principal kind, and/or/not nesting,
 * ALLOW/DENY/LOG, policy order, IPv4/IPv6 CIDR edges, remote_ip vs
 * direct_remote_ip, metadata value matchers, and config errors with
 * their field paths. Configs are written in YAML and decoded with our
 * proto3 JSON decoder. */
#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/http/headers.h"
#include "envoy/config/rbac/v3/rbac.pb-c.h"
#include "filters/rbac/engine.h"
#include "xds/pbjson.h"
#include "xds/translate_util.h"
#include "addr_util.h"
#include "test.h"

static char errbuf[1024];

static Envoy__Config__Rbac__V3__RBAC *decode(const char *yaml)
{
    ProtobufCMessage *m = NULL;
    char e[512];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), &envoy__config__rbac__v3__rbac__descriptor, NULL, &m,
                              "t.yaml", e, sizeof(e)) != 0) {
        fprintf(stderr, "bad test YAML: %s\n", e);
        abort();
    }
    return (Envoy__Config__Rbac__V3__RBAC *)m;
}

/* Builds an engine at path "rules" (as the filter does); NULL on error,
 * with the message in errbuf. */
static dp_rbac_engine_t *build(const char *yaml)
{
    Envoy__Config__Rbac__V3__RBAC *m = decode(yaml);
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, sizeof(errbuf));
    errbuf[0] = '\0';
    size_t saved = dp_xlate__push(&x, "rules");
    dp_rbac_engine_t *e = NULL;
    int rc = dp_rbac_engine_create(&x, m, &e);
    dp_xlate__pop(&x, saved);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    if (rc != 0)
        return NULL;
    return e;
}

static const char *build_err(const char *yaml)
{
    dp_rbac_engine_t *e = build(yaml);
    if (e != NULL) {
        dp_rbac_engine_free(e);
        return "(no error)";
    }
    return errbuf;
}

/* ---- request views ---------------------------------------------------------- */

typedef struct req {
    dp_rbac_request_t r;
    dp_headers_t h;
    struct sockaddr_storage peer, local;
    json_t *md;
} req_t;

/* GET path, peer 10.0.0.1:5555 -> local 10.0.0.2:8080, remote_addr = peer */
static void req_init(req_t *q, const char *path)
{
    memset(q, 0, sizeof(*q));
    q->r.method = DP_SLICE_LIT("GET");
    q->r.path = dp_slice_cstr(path);
    q->r.authority = DP_SLICE_LIT("example.com");
    q->r.scheme = DP_SLICE_LIT("http");
    q->r.headers = &q->h;
    set_sa(&q->peer, "10.0.0.1", 5555);
    set_sa(&q->local, "10.0.0.2", 8080);
    q->r.peer = (struct sockaddr *)&q->peer;
    q->r.local = (struct sockaddr *)&q->local;
    q->r.remote_addr = "10.0.0.1";
}

static void req_hdr(req_t *q, const char *name, const char *value)
{
    dp_headers_add(&q->h, dp_slice_cstr(name), dp_slice_cstr(value));
}

static void req_md(req_t *q, const char *json)
{
    json_error_t je;
    if (q->md)
        json_decref(q->md);
    q->md = json_loads(json, 0, &je);
    if (q->md == NULL) {
        fprintf(stderr, "bad test JSON: %s\n", je.text);
        abort();
    }
    q->r.metadata = q->md;
}

static void req_free(req_t *q)
{
    dp_headers_free(&q->h);
    if (q->md)
        json_decref(q->md);
}

static dp_rbac_result_t eval(const dp_rbac_engine_t *e, const req_t *q)
{
    dp_rbac_result_t res;
    memset(&res, 0x5a, sizeof(res));
    dp_rbac_engine_eval(e, &q->r, &res);
    return res;
}

/* ALLOW engine with one policy "p": the permission YAML (one list item)
 * and principal YAML. */
static dp_rbac_engine_t *allow1(const char *perm, const char *id)
{
    char y[4096];
    snprintf(y, sizeof(y), "action: ALLOW\npolicies:\n  p:\n    permissions: [%s]\n    principals: [%s]\n",
             perm, id);
    dp_rbac_engine_t *e = build(y);
    if (e == NULL) {
        fprintf(stderr, "config refused: %s\n%s", errbuf, y);
        abort();
    }
    return e;
}

/* Does the permission match q (with any principal)? */
static bool perm_matches(const char *perm, const req_t *q)
{
    dp_rbac_engine_t *e = allow1(perm, "{any: true}");
    dp_rbac_result_t r = eval(e, q);
    dp_rbac_engine_free(e);
    return r.allowed;
}

static bool id_matches(const char *id, const req_t *q)
{
    dp_rbac_engine_t *e = allow1("{any: true}", id);
    dp_rbac_result_t r = eval(e, q);
    dp_rbac_engine_free(e);
    return r.allowed;
}

/* ---- tests -------------------------------------------------------------------- */

static void test_actions(void)
{
    req_t q;
    req_init(&q, "/admin");
    const char *pol =
        "policies:\n"
        "  admin: {permissions: [{url_path: {path: {prefix: /admin}}}], principals: [{any: true}]}\n";
    char y[512];

    snprintf(y, sizeof(y), "action: ALLOW\n%s", pol);
    dp_rbac_engine_t *e = build(y);
    CHECK(e != NULL);
    CHECK_INT(dp_rbac_engine_action(e), DP_RBAC_ALLOW);
    dp_rbac_result_t r = eval(e, &q);
    CHECK(r.allowed && r.matched);
    CHECK_STR(r.policy, "admin");
    q.r.path = DP_SLICE_LIT("/public");
    r = eval(e, &q);
    CHECK(!r.allowed && !r.matched);
    CHECK(r.policy == NULL);
    dp_rbac_engine_free(e);

    snprintf(y, sizeof(y), "action: DENY\n%s", pol);
    e = build(y);
    CHECK_INT(dp_rbac_engine_action(e), DP_RBAC_DENY);
    r = eval(e, &q);
    CHECK(r.allowed && !r.matched);
    q.r.path = DP_SLICE_LIT("/admin/x");
    r = eval(e, &q);
    CHECK(!r.allowed && r.matched);
    CHECK_STR(r.policy, "admin");
    dp_rbac_engine_free(e);

    /* LOG: always allowed, matched is the access_log_hint */
    snprintf(y, sizeof(y), "action: LOG\n%s", pol);
    e = build(y);
    CHECK_INT(dp_rbac_engine_action(e), DP_RBAC_LOG);
    r = eval(e, &q);
    CHECK(r.allowed && r.matched);
    CHECK_STR(r.policy, "admin");
    q.r.path = DP_SLICE_LIT("/other");
    r = eval(e, &q);
    CHECK(r.allowed && !r.matched);
    dp_rbac_engine_free(e);

    /* no policies: ALLOW denies everything, DENY allows everything */
    e = build("action: ALLOW\n");
    CHECK_INT(dp_rbac_engine_policy_count(e), 0);
    CHECK(!eval(e, &q).allowed);
    dp_rbac_engine_free(e);
    e = build("{}");
    CHECK(!eval(e, &q).allowed); /* action defaults to ALLOW */
    dp_rbac_engine_free(e);
    e = build("action: DENY\npolicies: {}\n");
    CHECK(eval(e, &q).allowed);
    dp_rbac_engine_free(e);
    req_free(&q);
}

/* the effective policy is the first match in name order */
static void test_policy_order(void)
{
    req_t q;
    req_init(&q, "/");
    dp_rbac_engine_t *e =
        build("action: DENY\n"
              "policies:\n"
              "  zeta: {permissions: [{any: true}], principals: [{any: true}]}\n"
              "  Beta: {permissions: [{any: true}], principals: [{any: true}]}\n"
              "  alpha: {permissions: [{any: true}], principals: [{any: true}]}\n"
              "  never: {permissions: [{not_rule: {any: true}}], principals: [{any: true}]}\n");
    CHECK_INT(dp_rbac_engine_policy_count(e), 4);
    dp_rbac_result_t r = eval(e, &q);
    CHECK_STR(r.policy, "Beta"); /* byte order: uppercase first */
    dp_rbac_engine_free(e);

    /* a map key repeated on the wire keeps its last value, as protobuf */
    Envoy__Config__Rbac__V3__RBAC *m =
        decode("action: ALLOW\n"
               "policies:\n"
               "  a: {permissions: [{any: true}], principals: [{any: true}]}\n"
               "  b: {permissions: [{not_rule: {any: true}}], principals: [{any: true}]}\n");
    CHECK_INT(m->n_policies, 2);
    for (size_t i = 0; i < m->n_policies; i++)
        if (strcmp(m->policies[i]->key, "b") == 0)
            m->policies[i]->key[0] = 'a';
    /* whichever order the decoder kept, the entry that comes last wins */
    bool last_is_never = m->policies[1]->value->permissions[0]->rule_case ==
                         ENVOY__CONFIG__RBAC__V3__PERMISSION__RULE_NOT_RULE;
    dp_xlate_t x;
    dp_xlate__init(&x, errbuf, sizeof(errbuf));
    CHECK_INT(dp_rbac_engine_create(&x, m, &e), 0);
    CHECK_INT(dp_rbac_engine_policy_count(e), 1);
    CHECK(eval(e, &q).allowed == !last_is_never);
    dp_rbac_engine_free(e);
    protobuf_c_message_free_unpacked(&m->base, NULL);
    req_free(&q);
}

static void test_permissions(void)
{
    req_t q;
    req_init(&q, "/api/v1/items?id=7#frag");
    req_hdr(&q, "x-team", "blue");
    req_hdr(&q, "x-multi", "a");
    req_hdr(&q, "x-multi", "b");

    CHECK(perm_matches("{any: true}", &q));
    /* header */
    CHECK(perm_matches("{header: {name: x-team, string_match: {exact: blue}}}", &q));
    CHECK(!perm_matches("{header: {name: x-team, string_match: {exact: red}}}", &q));
    CHECK(perm_matches("{header: {name: X-Team, exact_match: blue}}", &q)); /* names are case-insensitive */
    CHECK(perm_matches("{header: {name: x-team, invert_match: true, string_match: {exact: red}}}", &q));
    CHECK(perm_matches("{header: {name: x-absent, present_match: false}}", &q));
    CHECK(!perm_matches("{header: {name: x-absent, present_match: true}}", &q));
    CHECK(!perm_matches("{header: {name: x-absent, string_match: {exact: ''}}}", &q));
    CHECK(perm_matches(
        "{header: {name: x-absent, treat_missing_header_as_empty: true, string_match: {exact: ''}}}", &q));
    CHECK(perm_matches("{header: {name: x-multi, string_match: {exact: 'a,b'}}}", &q));
    CHECK(perm_matches("{header: {name: ':method', string_match: {exact: GET}}}", &q));
    CHECK(!perm_matches("{header: {name: ':method', string_match: {exact: POST}}}", &q));
    CHECK(perm_matches("{header: {name: ':authority', string_match: {suffix: .com}}}", &q));
    /* :path includes the query, url_path does not */
    CHECK(perm_matches("{header: {name: ':path', string_match: {suffix: '?id=7#frag'}}}", &q));
    CHECK(perm_matches("{url_path: {path: {exact: /api/v1/items}}}", &q));
    CHECK(!perm_matches("{url_path: {path: {suffix: id=7}}}", &q));
    CHECK(perm_matches("{url_path: {path: {prefix: /API/, ignore_case: true}}}", &q));
    CHECK(!perm_matches("{url_path: {path: {prefix: /API/}}}", &q));
    q.r.path = DP_SLICE_LIT("/a#b?c");
    CHECK(perm_matches("{url_path: {path: {exact: /a}}}", &q));
    q.r.path = DP_SLICE_NULL; /* no :path: url_path never matches */
    CHECK(!perm_matches("{url_path: {path: {exact: ''}}}", &q));
    CHECK(perm_matches("{not_rule: {url_path: {path: {exact: ''}}}}", &q));
    q.r.path = DP_SLICE_LIT("/x");

    /* destination ip / port (local 10.0.0.2:8080) */
    CHECK(perm_matches("{destination_ip: {address_prefix: 10.0.0.0, prefix_len: 24}}", &q));
    CHECK(!perm_matches("{destination_ip: {address_prefix: 10.0.1.0, prefix_len: 24}}", &q));
    CHECK(perm_matches("{destination_ip: {address_prefix: 10.0.0.2, prefix_len: 32}}", &q));
    CHECK(!perm_matches("{destination_ip: {address_prefix: '::', prefix_len: 0}}", &q));
    CHECK(perm_matches("{destination_ip: {address_prefix: 192.168.9.9}}", &q)); /* prefix_len unset = /0 */
    CHECK(perm_matches("{destination_port: 8080}", &q));
    CHECK(!perm_matches("{destination_port: 8081}", &q));
    CHECK(perm_matches("{destination_port_range: {start: 8080, end: 8081}}", &q));
    CHECK(!perm_matches("{destination_port_range: {start: 8000, end: 8080}}", &q)); /* end excluded */
    CHECK(perm_matches("{destination_port_range: {start: 0, end: 65536}}", &q));
    set_sa(&q.local, "2001:db8::2", 443);
    CHECK(perm_matches("{destination_ip: {address_prefix: '2001:db8::', prefix_len: 64}}", &q));
    CHECK(!perm_matches("{destination_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}", &q));
    CHECK(perm_matches("{destination_port: 443}", &q));
    q.r.local = NULL; /* unknown: no ip / port rule matches */
    CHECK(!perm_matches("{destination_port_range: {start: 0, end: 65536}}", &q));
    CHECK(!perm_matches("{destination_ip: {address_prefix: '::'}}", &q));
    q.r.local = (struct sockaddr *)&q.local;

    /* and / or / not nesting */
    CHECK(perm_matches("{and_rules: {rules: [{header: {name: x-team}}, {destination_port: 443}]}}", &q));
    CHECK(!perm_matches("{and_rules: {rules: [{header: {name: x-team}}, {destination_port: 80}]}}", &q));
    CHECK(perm_matches("{or_rules: {rules: [{destination_port: 80}, {header: {name: x-team}}]}}", &q));
    CHECK(!perm_matches("{or_rules: {rules: [{destination_port: 80}, {destination_port: 81}]}}", &q));
    CHECK(!perm_matches("{not_rule: {any: true}}", &q));
    CHECK(perm_matches("{not_rule: {not_rule: {any: true}}}", &q));
    CHECK(perm_matches("{not_rule: {and_rules: {rules: [{any: true}, {destination_port: 1}]}}}", &q));
    CHECK(perm_matches("{or_rules: {rules: [{and_rules: {rules: [{destination_port: 443}, "
                       "{not_rule: {header: {name: x-team, exact_match: red}}}]}}]}}",
                       &q));
    req_free(&q);
}

static void test_principals(void)
{
    req_t q;
    req_init(&q, "/x");
    req_hdr(&q, "x-user", "alice");
    /* behind a proxy: the peer is the proxy, remote_addr the client (XFF) */
    set_sa(&q.peer, "192.168.1.10", 4000);
    q.r.remote_addr = "203.0.113.7";

    CHECK(id_matches("{any: true}", &q));
    CHECK(id_matches("{direct_remote_ip: {address_prefix: 192.168.1.0, prefix_len: 24}}", &q));
    CHECK(!id_matches("{direct_remote_ip: {address_prefix: 203.0.113.0, prefix_len: 24}}", &q));
    CHECK(id_matches("{source_ip: {address_prefix: 192.168.1.0, prefix_len: 24}}", &q));
    CHECK(!id_matches("{source_ip: {address_prefix: 203.0.113.0, prefix_len: 24}}", &q));
    CHECK(id_matches("{remote_ip: {address_prefix: 203.0.113.0, prefix_len: 24}}", &q));
    CHECK(!id_matches("{remote_ip: {address_prefix: 192.168.1.0, prefix_len: 24}}", &q));
    CHECK(id_matches("{header: {name: x-user, exact_match: alice}}", &q));
    CHECK(!id_matches("{header: {name: x-user, exact_match: bob}}", &q));
    CHECK(id_matches("{url_path: {path: {exact: /x}}}", &q));
    CHECK(id_matches("{and_ids: {ids: [{header: {name: x-user}}, {remote_ip: {address_prefix: 203.0.113.7, "
                     "prefix_len: 32}}]}}",
                     &q));
    CHECK(!id_matches("{and_ids: {ids: [{header: {name: x-user}}, {remote_ip: {address_prefix: 203.0.113.8, "
                      "prefix_len: 32}}]}}",
                      &q));
    CHECK(id_matches("{or_ids: {ids: [{remote_ip: {address_prefix: 1.1.1.1, prefix_len: 32}}, "
                     "{direct_remote_ip: {address_prefix: 192.168.1.10, prefix_len: 32}}]}}",
                     &q));
    CHECK(!id_matches("{not_id: {any: true}}", &q));
    CHECK(id_matches("{not_id: {remote_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}}", &q));

    /* IPv6: remote /127 pair, ::1, /128 */
    q.r.remote_addr = "2001:db8::ff";
    set_sa(&q.peer, "::1", 4000);
    CHECK(id_matches("{remote_ip: {address_prefix: '2001:db8::fe', prefix_len: 127}}", &q));
    CHECK(!id_matches("{remote_ip: {address_prefix: '2001:db8::fc', prefix_len: 127}}", &q));
    CHECK(id_matches("{remote_ip: {address_prefix: '2001:db8::', prefix_len: 32}}", &q));
    CHECK(!id_matches("{remote_ip: {address_prefix: 0.0.0.0, prefix_len: 0}}", &q)); /* families never mix */
    CHECK(id_matches("{remote_ip: {address_prefix: '::', prefix_len: 0}}", &q));
    CHECK(id_matches("{direct_remote_ip: {address_prefix: '::1', prefix_len: 128}}", &q));
    CHECK(!id_matches("{direct_remote_ip: {address_prefix: '::2', prefix_len: 128}}", &q));
    CHECK(!id_matches("{direct_remote_ip: {address_prefix: 127.0.0.1, prefix_len: 32}}", &q));
    /* v4-mapped: a mapped peer socket address is IPv4, a mapped string IPv6 */
    set_sa(&q.peer, "::ffff:10.9.8.7", 4000);
    q.r.remote_addr = "::ffff:10.9.8.7";
    CHECK(id_matches("{direct_remote_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}", &q));
    CHECK(!id_matches("{remote_ip: {address_prefix: 10.0.0.0, prefix_len: 8}}", &q));
    CHECK(id_matches("{remote_ip: {address_prefix: '::ffff:0:0', prefix_len: 96}}", &q));
    /* unknown addresses match no CIDR (but their negation) */
    q.r.peer = NULL;
    q.r.remote_addr = "";
    CHECK(!id_matches("{direct_remote_ip: {address_prefix: '::'}}", &q));
    CHECK(!id_matches("{direct_remote_ip: {address_prefix: 0.0.0.0}}", &q));
    CHECK(!id_matches("{remote_ip: {address_prefix: 0.0.0.0}}", &q));
    CHECK(id_matches("{not_id: {remote_ip: {address_prefix: 0.0.0.0}}}", &q));
    q.r.remote_addr = NULL;
    CHECK(!id_matches("{remote_ip: {address_prefix: '::'}}", &q));
    q.r.remote_addr = "not-an-ip";
    CHECK(!id_matches("{remote_ip: {address_prefix: '::'}}", &q));

    /* permissions AND principals: both needed */
    dp_rbac_engine_t *e = allow1("{header: {name: x-user}}", "{header: {name: x-admin}}");
    CHECK(!eval(e, &q).allowed);
    req_hdr(&q, "x-admin", "1");
    CHECK(eval(e, &q).allowed);
    dp_rbac_engine_free(e);
    req_free(&q);
}

static bool md_id(const char *matcher, req_t *q)
{
    char id[1024];
    snprintf(id, sizeof(id), "{metadata: %s}", matcher);
    return id_matches(id, q);
}

static void test_metadata(void)
{
    req_t q;
    req_init(&q, "/");
    req_md(&q, "{\"envoy.filters.http.jwt_authn\": {\"payload\": {\"sub\": \"alice\", \"admin\": true, "
               "\"level\": 3, \"score\": 2.5, \"groups\": [\"dev\", \"ops\"], \"none\": null, "
               "\"nested\": {\"deep\": {\"k\": \"v\"}}}}, \"other\": {\"x\": 1}}");
#define JWT "filter: envoy.filters.http.jwt_authn, "
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {string_match: {exact: alice}}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {string_match: {exact: bob}}}", &q));
    CHECK(md_id("{" JWT
                "path: [{key: payload}, {key: sub}], invert: true, value: {string_match: {exact: bob}}}",
                &q));
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: admin}], value: {bool_match: true}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: admin}], value: {bool_match: false}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {bool_match: true}}", &q));
    /* numbers are doubles, integers too */
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: level}], value: {double_match: {exact: 3}}}", &q));
    CHECK(md_id("{" JWT
                "path: [{key: payload}, {key: level}], value: {double_match: {range: {start: 3, end: 4}}}}",
                &q));
    CHECK(!md_id("{" JWT
                 "path: [{key: payload}, {key: level}], value: {double_match: {range: {start: 1, end: 3}}}}",
                 &q)); /* [start, end) */
    CHECK(md_id("{" JWT
                "path: [{key: payload}, {key: score}], value: {double_match: {range: {start: 2.4, end: "
                "2.6}}}}",
                &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {double_match: {exact: 0}}}", &q));
    /* null, present */
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: none}], value: {null_match: {}}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {null_match: {}}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: missing}], value: {null_match: {}}}", &q));
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: none}], value: {present_match: true}}", &q));
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: nested}], value: {present_match: true}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: missing}], value: {present_match: true}}", &q));
    /* Envoy's present_match: false never matches (use invert for absence) */
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: missing}], value: {present_match: false}}", &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {present_match: false}}", &q));
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: missing}], invert: true, value: {present_match: true}}",
                &q));
    /* lists */
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: groups}], value: {list_match: {one_of: {string_match: "
                "{exact: ops}}}}}",
                &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: groups}], value: {list_match: {one_of: {string_match: "
                 "{exact: qa}}}}}",
                 &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}], value: {list_match: {one_of: {string_match: "
                 "{exact: alice}}}}}",
                 &q));
    /* or_match */
    CHECK(md_id("{" JWT
                "path: [{key: payload}, {key: sub}], value: {or_match: {value_matchers: [{bool_match: "
                "true}, {string_match: {prefix: ali}}]}}}",
                &q));
    CHECK(!md_id("{" JWT
                 "path: [{key: payload}, {key: sub}], value: {or_match: {value_matchers: [{bool_match: "
                 "true}, {null_match: {}}]}}}",
                 &q));
    /* nested paths; a path through a non-object is unset */
    CHECK(md_id("{" JWT "path: [{key: payload}, {key: nested}, {key: deep}, {key: k}], value: {string_match: "
                "{exact: v}}}",
                &q));
    CHECK(!md_id("{" JWT "path: [{key: payload}, {key: sub}, {key: x}], value: {present_match: true}}", &q));
    CHECK(!md_id("{filter: nope, path: [{key: payload}], value: {present_match: true}}", &q));
    CHECK(md_id("{filter: other, path: [{key: x}], value: {double_match: {exact: 1}}}", &q));
    /* as a permission too */
    CHECK(perm_matches("{metadata: {" JWT "path: [{key: payload}, {key: admin}], value: {bool_match: true}}}",
                       &q));
    /* no metadata at all */
    json_decref(q.md);
    q.md = NULL;
    q.r.metadata = NULL;
    CHECK(!md_id("{" JWT "path: [{key: payload}], value: {present_match: true}}", &q));
    CHECK(md_id("{" JWT "path: [{key: payload}], invert: true, value: {present_match: true}}", &q));
#undef JWT
    req_free(&q);
}

static void test_errors(void)
{
    const char *P = "action: ALLOW\npolicies:\n  p:\n";
    char y[2048];
#define ERR(perm, id, want)                                                                                  \
    do {                                                                                                     \
        snprintf(y, sizeof(y), "%s    permissions: [%s]\n    principals: [%s]\n", P, perm, id);              \
        CHECK_STR(build_err(y), want);                                                                       \
    } while (0)

    CHECK_STR(build_err("policies:\n  p: {principals: [{any: true}]}\n"),
              "rules.policies[\"p\"].permissions: at least one is required");
    CHECK_STR(build_err("policies:\n  p: {permissions: [{any: true}]}\n"),
              "rules.policies[\"p\"].principals: at least one is required");
    CHECK_STR(build_err("policies:\n  \"a b\": {permissions: [{any: true}]}\n"),
              "rules.policies[\"a b\"].principals: at least one is required");
    CHECK_STR(build_err("action: 7\n"), "rules.action: unknown value 7");
    ERR("{}", "{any: true}",
        "rules.policies[\"p\"].permissions[0]: one of and_rules, or_rules, any, header, url_path, "
        "destination_ip, "
        "destination_port, destination_port_range, metadata or not_rule is required");
    ERR("{any: true}", "{any: true}, {}",
        "rules.policies[\"p\"].principals[1]: one of and_ids, or_ids, any, source_ip, direct_remote_ip, "
        "remote_ip, "
        "header, url_path, metadata or not_id is required");
    ERR("{any: false}", "{any: true}", "rules.policies[\"p\"].permissions[0].any: must be true");
    ERR("{any: true}", "{any: false}", "rules.policies[\"p\"].principals[0].any: must be true");
    ERR("{header: {name: ''}}", "{any: true}", "rules.policies[\"p\"].permissions[0].header.name: required");
    ERR("{any: true}", "{not_id: {not_id: {header: {name: 'a b'}}}}",
        "rules.policies[\"p\"].principals[0].not_id.not_id.header.name: 'a b' is not a valid header name");
    ERR("{and_rules: {rules: []}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].and_rules.rules: at least one is required");
    ERR("{or_rules: {rules: [{any: true}, {destination_port: 70000}]}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].or_rules.rules[1].destination_port: must be at most 65535");
    ERR("{any: true}", "{or_ids: {}}",
        "rules.policies[\"p\"].principals[0].or_ids.ids: at least one is required");
    ERR("{any: true}", "{and_ids: {ids: [{any: true}, {remote_ip: {address_prefix: 10.0.0.300}}]}}",
        "rules.policies[\"p\"].principals[0].and_ids.ids[1].remote_ip.address_prefix: not an IP address");
    ERR("{any: true}", "{direct_remote_ip: {prefix_len: 8}}",
        "rules.policies[\"p\"].principals[0].direct_remote_ip.address_prefix: required");
    ERR("{any: true}", "{source_ip: {address_prefix: '::', prefix_len: 129}}",
        "rules.policies[\"p\"].principals[0].source_ip.prefix_len: must be at most 128");
    ERR("{destination_ip: {address_prefix: 10.0.0.0/8}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].destination_ip.address_prefix: not an IP address");
    ERR("{destination_port_range: {start: 10, end: 5}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].destination_port_range: range start 10 cannot be greater or "
        "equal "
        "than range end 5");
    ERR("{destination_port_range: {start: -1, end: 5}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].destination_port_range.start: range start -1 is out of bounds");
    ERR("{destination_port_range: {start: 1, end: 65537}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].destination_port_range.end: range end 65537 is out of bounds");
    ERR("{url_path: {}}", "{any: true}", "rules.policies[\"p\"].permissions[0].url_path.path: required");
    ERR("{url_path: {path: {prefix: ''}}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].url_path.path.prefix: must not be empty");
    ERR("{url_path: {path: {}}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].url_path.path: one of exact, prefix, suffix or contains is "
        "required");
    ERR("{any: true}", "{metadata: {path: [{key: a}], value: {present_match: true}}}",
        "rules.policies[\"p\"].principals[0].metadata.filter: required");
    ERR("{any: true}", "{metadata: {filter: f, value: {present_match: true}}}",
        "rules.policies[\"p\"].principals[0].metadata.path: at least one segment is required");
    ERR("{any: true}", "{metadata: {filter: f, path: [{key: a}, {key: ''}], value: {present_match: true}}}",
        "rules.policies[\"p\"].principals[0].metadata.path[1].key: required");
    ERR("{any: true}", "{metadata: {filter: f, path: [{key: a}]}}",
        "rules.policies[\"p\"].principals[0].metadata.value: required");
    ERR("{metadata: {filter: f, path: [{key: a}], value: {}}}", "{any: true}",
        "rules.policies[\"p\"].permissions[0].metadata.value: one of null_match, double_match, string_match, "
        "bool_match, present_match, list_match or or_match is required");
    ERR("{any: true}",
        "{metadata: {filter: f, path: [{key: a}], value: {or_match: {value_matchers: [{null_match: {}}]}}}}",
        "rules.policies[\"p\"].principals[0].metadata.value.or_match.value_matchers: at least 2 are "
        "required");
    ERR("{any: true}", "{metadata: {filter: f, path: [{key: a}], value: {list_match: {}}}}",
        "rules.policies[\"p\"].principals[0].metadata.value.list_match.one_of: required");
    ERR("{any: true}",
        "{metadata: {filter: f, path: [{key: a}], value: {list_match: {one_of: {string_match: {suffix: "
        "''}}}}}}",
        "rules.policies[\"p\"].principals[0].metadata.value.list_match.one_of.string_match.suffix: must not "
        "be "
        "empty");
    ERR("{any: true}", "{metadata: {filter: f, path: [{key: a}], value: {double_match: {}}}}",
        "rules.policies[\"p\"].principals[0].metadata.value.double_match: one of range or exact is required");
#undef ERR

    /* nesting is bounded */
    char deep[1536] = "";
    size_t dl = 0;
    for (int i = 0; i < 70; i++)
        dl += (size_t)snprintf(deep + dl, sizeof(deep) - dl, "{not_rule: ");
    snprintf(deep + dl, sizeof(deep) - dl, "{any: true}");
    dl = strlen(deep);
    for (int i = 0; i < 70; i++)
        deep[dl++] = '}';
    deep[dl] = '\0';
    snprintf(y, sizeof(y), "%s    permissions: [%s]\n    principals: [{any: true}]\n", P, deep);
    const char *e = build_err(y);
    CHECK(strstr(e, "nested deeper than 64 levels") != NULL);
}

int main(void)
{
    test_actions();
    test_policy_order();
    test_permissions();
    test_principals();
    test_metadata();
    test_errors();
    TEST_DONE();
}
