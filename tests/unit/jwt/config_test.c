/* envoy.filters.http.jwt_authn config: what is refused, with the field path
 * (relative to typed_config) and Envoy's wording; what is accepted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb-c.h"
#include "filters/jwt_authn/jwt_authn.h"
#include "filters/jwt_authn/jwt_authn_int.h"
#include "test.h"
#include "xds/pbjson.h"

static char err[1024];

/* Decodes YAML as a JwtAuthentication and runs create_config. Returns its
 * result; err holds the message. */
static int create(const char *yaml, void **cfg)
{
    ProtobufCMessage *m = NULL;
    err[0] = '\0';
    *cfg = NULL;
    int rc = dp_pbjson_decode_text(yaml, strlen(yaml),
                                   &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__descriptor,
                                   NULL, &m, "test", err, sizeof(err));
    if (rc != 0) {
        fprintf(stderr, "decode: %s\n", err);
        return 99;
    }
    rc = dp_filter_jwt_authn.create_config(m, cfg, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* Expects a refusal whose message is exactly `want`. */
static void refused(const char *yaml, const char *want)
{
    void *cfg = NULL;
    int rc = create(yaml, &cfg);
    CHECK(rc < 0);
    CHECK(cfg == NULL);
    CHECK_STR(err, want);
}

static void accepted(const char *yaml)
{
    void *cfg = NULL;
    int rc = create(yaml, &cfg);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "unexpected error: %s\n", err);
    dp_filter_jwt_authn.destroy_config(cfg);
}

#define JWKS "'{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"c2VjcmV0\"}]}'"
#define LOCAL "local_jwks: { inline_string: " JWKS " }"

static void test_providers(void)
{
    refused("providers: { p: { issuer: x } }", "providers[\"p\"]: one of remote_jwks or local_jwks is required");
    refused("providers: { p: { remote_jwks: {} } }", "providers[\"p\"].remote_jwks.http_uri: required");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: 'ftp://x/y', cluster: c, timeout: 1s } } } }",
            "providers[\"p\"].remote_jwks.http_uri.uri: Provider 'p' has an invalid URI: 'ftp://x/y'");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: 'https:///jwks', cluster: c, timeout: 1s } } } }",
            "providers[\"p\"].remote_jwks.http_uri.uri: Provider 'p' has an invalid URI: 'https:///jwks'");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: '', cluster: c, timeout: 1s } } } }",
            "providers[\"p\"].remote_jwks.http_uri.uri: must not be empty");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: 'https://a/j', timeout: 1s } } } }",
            "providers[\"p\"].remote_jwks.http_uri.cluster: required");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: 'https://a/j', cluster: c } } } }",
            "providers[\"p\"].remote_jwks.http_uri.timeout: required");
    refused("providers: { p: { remote_jwks: { http_uri: { uri: 'https://a/j', cluster: c, timeout: 1s }, "
            "cache_duration: 0s } } }",
            "providers[\"p\"].remote_jwks.cache_duration: must be at least 1ms");
    refused("providers: { p: { " LOCAL ", from_headers: [{ name: ok }, { name: 'bad name' }] } }",
            "providers[\"p\"].from_headers[1].name: 'bad name' is not a valid header name");
    refused("providers: { p: { " LOCAL ", from_headers: [{ name: '' }] } }",
            "providers[\"p\"].from_headers[0].name: '' is not a valid header name");
    refused("providers: { p: { " LOCAL ", claim_to_headers: [{ header_name: x-a, claim_name: '' }] } }",
            "providers[\"p\"].claim_to_headers[0].claim_name: must not be empty");
    refused("providers: { p: { " LOCAL ", claim_to_headers: [{ header_name: 'x a', claim_name: sub }] } }",
            "providers[\"p\"].claim_to_headers[0].header_name: 'x a' is not a valid header name");
    refused("providers: { p: { " LOCAL ", forward_payload_header: 'x:y' } }",
            "providers[\"p\"].forward_payload_header: 'x:y' is not a valid header name");
    refused("providers: { p: { " LOCAL ", max_lifetime: -1s } }",
            "providers[\"p\"].max_lifetime: must be a non-negative duration");
    void *cfg = NULL;
    CHECK(create("providers: { p: { local_jwks: { filename: /nonexistent/jwks.json } } }", &cfg) < 0);
    CHECK(strncmp(err, "providers[\"p\"].local_jwks", 25) == 0);
    CHECK(strstr(err, "/nonexistent/jwks.json") != NULL);

    /* as Envoy, a local JWKS that does not parse is accepted (its requests fail) */
    accepted("providers: { p: { local_jwks: { inline_string: 'not a jwks' } } }");
    accepted("providers: { p: { " LOCAL " } }");
    accepted("providers:\n"
             "  p:\n"
             "    issuer: https://issuer.example\n"
             "    audiences: [api, web]\n"
             "    subjects: { prefix: 'spiffe://example.org/' }\n"
             "    require_expiration: true\n"
             "    max_lifetime: 86400s\n"
             "    remote_jwks:\n"
             "      http_uri: { uri: 'https://issuer.example/jwks?v=1', cluster: jwks, timeout: 1s }\n"
             "      cache_duration: 300s\n"
             "    forward: true\n"
             "    from_headers: [{ name: X-Jwt, value_prefix: 'Token ' }]\n"
             "    from_params: [jwt]\n"
             "    from_cookies: [session]\n"
             "    forward_payload_header: X-Payload\n"
             "    pad_forward_payload_header: true\n"
             "    payload_in_metadata: payload\n"
             "    normalize_payload_in_metadata: { space_delimited_claims: [scope] }\n"
             "    header_in_metadata: header\n"
             "    failed_status_in_metadata: failure\n"
             "    clock_skew_seconds: 30\n"
             "    jwt_cache_config: { jwt_cache_size: 5 }\n"
             "    claim_to_headers: [{ header_name: X-Sub, claim_name: sub }]\n");
    /* an absent typed_config is an empty JwtAuthentication: nothing required */
    cfg = NULL;
    CHECK_INT(dp_filter_jwt_authn.create_config(NULL, &cfg, err, sizeof(err)), 0);
    dp_filter_jwt_authn.destroy_config(cfg);
}

static void test_uri_parts(void)
{
    void *cfg = NULL;
    CHECK_INT(create("providers: { p: { remote_jwks: { http_uri: { uri: 'HTTPS://Keys.example:8443?x=1#f', "
                     "cluster: c, timeout: 0.25s } } } }",
                     &cfg),
              0);
    const ja_config_t *c = cfg;
    if (c) {
        CHECK_STR(c->providers[0].uri_host, "Keys.example:8443");
        CHECK_STR(c->providers[0].uri_path, "/?x=1");
        CHECK_INT(c->providers[0].timeout_ms, 250);
        CHECK_INT(c->providers[0].cache_ms, 600000); /* 10 minutes by default */
        CHECK_INT(c->providers[0].clock_skew_s, 60);
        CHECK(c->providers[0].remote);
    }
    dp_filter_jwt_authn.destroy_config(cfg);
}

static void test_requirements(void)
{
    const char *p = "providers: { a: { issuer: ia, " LOCAL " }, b: { issuer: ib, " LOCAL " } }\n";
    char y[2048];
#define Y(...) (snprintf(y, sizeof(y), "%s%s", p, __VA_ARGS__), y)
    refused(Y("rules: [{ requires: { provider_name: a } }]"), "rules[0].match: required");
    refused(Y("rules: [{ match: {} }]"),
            "rules[0].match: a path specifier (prefix, path or path_separated_prefix) is required");
    refused(Y("rules: [{ match: { prefix: / } }, { match: { prefix: / }, requires: { provider_name: x } }]"),
            "rules[1].requires.provider_name: Required provider ['x'] is not configured.");
    refused(Y("rules: [{ match: { prefix: / }, requires: { requires_any: { requirements: [{ provider_name: a }, "
              "{ provider_and_audiences: { provider_name: z } }] } } }]"),
            "rules[0].requires.requires_any.requirements[1].provider_and_audiences.provider_name: "
            "Required provider ['z'] is not configured.");
    refused(Y("rules: [{ match: { prefix: / }, requires: { requires_all: { requirements: [{ provider_name: a }] } } }]"),
            "rules[0].requires.requires_all.requirements: needs at least 2 requirements, has 1");
    refused(Y("requirement_map: { r2: { provider_name: a }, r1: { provider_name: b } }\n"
              "rules: [{ match: { prefix: / }, requirement_name: nope }]"),
            "rules[0].requirement_name: Wrong requirement_name: nope. It should be one of [r1,r2]");
    refused(Y("requirement_map: { r1: { requires_any: { requirements: [{ allow_missing: {} }, { provider_name: q }] } } }"),
            "requirement_map[\"r1\"].requires_any.requirements[1].provider_name: "
            "Required provider ['q'] is not configured.");
    refused(Y("rules: [{ match: { prefix: /, headers: [{ name: x, string_match: {} }] } }]"),
            "rules[0].match.headers[0].string_match: one of exact, prefix, suffix or contains is required");
    accepted(Y("requirement_map: { r1: { provider_name: a } }\n"
               "bypass_cors_preflight: true\nstrip_failure_response: true\n"
               "rules:\n"
               "- match: { prefix: /health }\n"
               "- match: { path: /admin, case_sensitive: false }\n  requirement_name: r1\n"
               "- match: { path_separated_prefix: /api }\n"
               "  requires: { requires_all: { requirements: [{ provider_name: a },"
               " { requires_any: { requirements: [{ provider_name: b }, { allow_missing_or_failed: {} }] } }] } }\n"
               "- match: { prefix: / }\n  requires: { provider_and_audiences: { provider_name: a, audiences: [x] } }\n"));

    /* the trees: node ids cover every verifier; allow_* members of
     * requires_any are flags, and only-allow lists get one verifier */
    void *cfg = NULL;
    CHECK_INT(create(Y("rules:\n"
                       "- match: { prefix: /x }\n"
                       "  requires: { requires_any: { requirements: [{ provider_name: a }, { allow_missing: {} }] } }\n"
                       "- match: { prefix: /y }\n"
                       "  requires: { requires_any: { requirements: [{ allow_missing: {} }, { allow_missing_or_failed: {} }] } }\n"),
                     &cfg),
              0);
    const ja_config_t *c = cfg;
    if (c) {
        const ja_verifier_t *v = c->rule_trees[0]->root;
        CHECK_INT(v->kind, JA_V_ANY);
        CHECK_INT(v->n_kids, 1);
        CHECK(v->any_allow_missing);
        CHECK(!v->any_allow_missing_or_failed);
        CHECK_INT(c->rule_trees[0]->n_nodes, 2);
        v = c->rule_trees[1]->root;
        CHECK_INT(v->n_kids, 1);
        CHECK_INT(v->kids[0]->kind, JA_V_ALLOW_FAILED);
        /* allow_* extract from every provider's locations (defaults: header + param, merged) */
        CHECK_INT(v->kids[0]->ex.n, 2);
        CHECK_STR(v->kids[0]->ex.locs[0].name, "authorization");
        CHECK_INT(v->kids[0]->ex.locs[0].issuers.n, 2);
        CHECK_STR(v->kids[0]->ex.locs[1].name, "access_token");
    }
    dp_filter_jwt_authn.destroy_config(cfg);

    CHECK_INT(create(Y("requirement_map: { r: { requires_any: { requirements: [{ requires_any: { requirements: [{ requires_any: "
                       "{ requirements: [{ provider_name: a }, { provider_name: b }] } }, { provider_name: a }] } }, "
                       "{ provider_name: b }] } } }"),
                     &cfg),
              0);
    dp_filter_jwt_authn.destroy_config(cfg);
#undef Y
}

static void test_route_config(void)
{
    const ProtobufCMessageDescriptor *d = &envoy__extensions__filters__http__jwt_authn__v3__per_route_config__descriptor;
    const char *cases[][2] = {
        {"{}", "one of disabled or requirement_name is required"},
        {"{ disabled: false }", "disabled: must be true"},
        {"{ requirement_name: '' }", "requirement_name: must not be empty"},
        {"{ disabled: true }", NULL},
        {"{ requirement_name: r1 }", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ProtobufCMessage *m = NULL;
        CHECK_INT(dp_pbjson_decode_text(cases[i][0], strlen(cases[i][0]), d, NULL, &m, "t", err, sizeof(err)), 0);
        void *rc = NULL;
        int r = dp_filter_jwt_authn.create_route_config(m, &rc, err, sizeof(err));
        if (cases[i][1]) {
            CHECK(r < 0);
            CHECK_STR(err, cases[i][1]);
        } else {
            CHECK_INT(r, 0);
            CHECK(rc != NULL);
        }
        dp_filter_jwt_authn.destroy_route_config(rc);
        protobuf_c_message_free_unpacked(m, NULL);
    }
    CHECK_STR(dp_filter_jwt_authn.route_type_url,
              "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.PerRouteConfig");
    CHECK(dp_http_filter_lookup("envoy.filters.http.jwt_authn") == &dp_filter_jwt_authn);
    CHECK(dp_http_filter_lookup_route_type(dp_filter_jwt_authn.route_type_url) == &dp_filter_jwt_authn);
}

int main(void)
{
    test_providers();
    test_uri_parts();
    test_requirements();
    test_route_config();
    TEST_DONE();
}
