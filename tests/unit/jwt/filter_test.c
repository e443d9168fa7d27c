/* envoy.filters.http.jwt_authn on fake streams: extraction, forwarding,
 * claim headers, metadata, failures and their replies, the token cache,
 * subjects / lifetime checks, CORS bypass, per-route configs.
 *
 * Tokens were made by PyJWT 2.6 (python3-jwt), not by this code:
 *   S = b"filter-test-secret-0123456789abcdef"
 *   base = {"iss":"https://issuer.example","aud":"api","sub":"alice","exp":4102444800}
 *   T_GOOD = jwt.encode(dict(base, scope="read write", ext={"role":"admin","n":42,"ok":True,
 *                       "neg":-3,"frac":1.5}, obj={"a":[1,2]}), S, algorithm="HS256", headers={"kid":"k1"})
 *   T_EXPIRED: exp=1000; T_NOEXP: no exp; T_OTHER_ISS: iss https://other.example;
 *   T_AUD2: aud "other"; T_SPIFFE: sub "spiffe://example.org/bob"; T_GOOD2: sub "carol"
 * The oct JWK's k is base64url(S) (python3 base64.urlsafe_b64encode). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/stats.h"
#include "dataplane/http/hcm-t.h"
#include "dataplane/http/stream.h"
#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb-c.h"
#include "filters/jwt_authn/jwt_authn.h"
#include "test.h"
#include "xds/pbjson.h"

static const char T_GOOD[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "IjoiYXBpIiwic3ViIjoiYWxpY2UiLCJleHAiOjQxMDI0NDQ4MDAsInNjb3BlIjoicmVhZCB3cml0ZSIsImV4dCI6eyJyb2xlIjoi"
    "YWRtaW4iLCJuIjo0Miwib2siOnRydWUsIm5lZyI6LTMsImZyYWMiOjEuNX0sIm9iaiI6eyJhIjpbMSwyXX19.SFu1TghQeLq6y38"
    "az8kVafr3BqEbBZrO-_BiAHJuSe4";
static const char T_EXPIRED[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "IjoiYXBpIiwic3ViIjoiYWxpY2UiLCJleHAiOjEwMDB9.O0PJMuBqLq7RDEAkiJ4AG5w_1Xdl-uu95-2L13OO6D4";
static const char T_NOEXP[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "IjoiYXBpIiwic3ViIjoiYWxpY2UifQ.dp5lOXF8eMrKGoRmcR-WRjanK9ptUMt_NwqoSgVrog0";
static const char T_OTHER_ISS[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL290aGVyLmV4YW1wbGUiLCJhdWQi"
    "OiJhcGkiLCJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.EFv72LuE4OULoPc_-Ch5YC0DxS0Ou8emT5va7ARxBMQ";
static const char T_AUD2[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "Ijoib3RoZXIiLCJzdWIiOiJhbGljZSIsImV4cCI6NDEwMjQ0NDgwMH0.xYtqVzQcAfnD64iZridh-9JmA5JTrFm74R1kmCxx2aM";
static const char T_SPIFFE[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "IjoiYXBpIiwic3ViIjoic3BpZmZlOi8vZXhhbXBsZS5vcmcvYm9iIiwiZXhwIjo0MTAyNDQ0ODAwfQ.EnbTZ3Eq4Q_0NisvbZXu3"
    "ptfwwI3X8wpKK1olG1sSls";
static const char T_GOOD2[] =
    "eyJhbGciOiJIUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVk"
    "IjoiYXBpIiwic3ViIjoiY2Fyb2wiLCJleHAiOjQxMDI0NDQ4MDB9.oKiK9aKOIdlt5Q6er8kVSNGv6JDqnyIM6CHrWOf3yPM";

#define NS "envoy.filters.http.jwt_authn"

/* ---- a fake codec ------------------------------------------------------------------ */

static int resp_status;
static char resp_head[4096];
static char resp_body[4096];

static void f_send_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t cl, bool end)
{
    (void)s;
    (void)cl;
    (void)end;
    resp_status = status;
    size_t n = 0;
    for (size_t i = 0; i < h->n; i++)
        n += (size_t)snprintf(resp_head + n, sizeof(resp_head) - n, "%.*s: %.*s\n", (int)h->v[i].name.len,
                              h->v[i].name.base, (int)h->v[i].value.len, h->v[i].value.base);
}

static void f_send_body(dp_stream_t *s, const char *data, size_t len, bool end)
{
    (void)s;
    (void)end;
    snprintf(resp_body, sizeof(resp_body), "%.*s", (int)len, data);
}

static size_t f_pending(dp_stream_t *s)
{
    (void)s;
    return 0;
}

static void f_read_body(dp_stream_t *s, bool enable)
{
    (void)s;
    (void)enable;
}

static void f_reset(dp_stream_t *s)
{
    (void)s;
}

static const dp_stream_ops_t ops = {
    .send_head = f_send_head, .send_body = f_send_body, .pending = f_pending, .read_body = f_read_body, .reset = f_reset};

typedef struct fake {
    dp_stream_t s;
    dp_hcm_cfg_t hcm;
    dp_http_filter_cfg_t fc;
    dp_route_t route;
    dp_filter_override_t ov;
    void *state;
    dp_filter_status_t st;
} fake_t;

/* Runs the filter on METHOD PATH with header pairs (NULL-terminated);
 * route_cfg: a PerRouteConfig for the route, or NULL. */
static void run(fake_t *f, void *cfg, void *route_cfg, const char *method, const char *path, const char *const *hdrs)
{
    memset(f, 0, sizeof(*f));
    resp_status = 0;
    resp_head[0] = resp_body[0] = '\0';
    f->fc = (dp_http_filter_cfg_t){.name = "jwt", .factory = &dp_filter_jwt_authn, .config = cfg};
    f->hcm.filters = &f->fc;
    f->hcm.n_filters = 1;
    f->hcm.stat_prefix = "unit";
    dp_stream_t *s = &f->s;
    s->ops = &ops;
    s->hcm = &f->hcm;
    s->method = dp_slice_cstr(method);
    s->path = dp_slice_cstr(path);
    s->authority = DP_SLICE_LIT("app.test");
    s->scheme = DP_SLICE_LIT("http");
    for (size_t i = 0; hdrs && hdrs[i]; i += 2)
        dp_headers_add(&s->req_headers, dp_slice_cstr(hdrs[i]), dp_slice_cstr(hdrs[i + 1]));
    if (route_cfg) {
        f->ov = (dp_filter_override_t){.name = "jwt", .factory = &dp_filter_jwt_authn, .config = route_cfg};
        f->route.per_filter.v = &f->ov;
        f->route.per_filter.n = 1;
        s->route = &f->route;
    }
    f->state = calloc(1, dp_filter_jwt_authn.state_size);
    f->st = dp_filter_jwt_authn.on_request_headers(s, cfg, f->state);
}

static void done(fake_t *f)
{
    dp_filter_jwt_authn.on_destroy(&f->s, f->fc.config, f->state);
    free(f->state);
    dp_headers_free(&f->s.req_headers);
    dp_headers_free(&f->s.resp_headers);
    json_decref(f->s.metadata);
    dp_arena_free(&f->s.arena);
}

static const char *hdr(fake_t *f, const char *name)
{
    static char buf[2048];
    const dp_slice_t *v = dp_headers_get(&f->s.req_headers, name, strlen(name));
    if (v == NULL)
        return NULL;
    snprintf(buf, sizeof(buf), "%.*s", (int)v->len, v->base);
    return buf;
}

static const json_t *md(fake_t *f, const char *key)
{
    const json_t *ns = dp_stream_metadata_get(&f->s, NS);
    return ns ? json_object_get(ns, key) : NULL;
}

static uint64_t stat_value;
static const char *stat_wanted;

static void stat_cb(const dp_stat_t *s, void *arg)
{
    (void)arg;
    if (strcmp(s->name, stat_wanted) == 0)
        stat_value = (uint64_t)dp_stat_get(s);
}

static uint64_t stat(const char *name)
{
    stat_wanted = name;
    stat_value = 0;
    dp_stats_foreach(stat_cb, NULL);
    return stat_value;
}

static char bearer[2048];
static const char *auth(const char *tok)
{
    snprintf(bearer, sizeof(bearer), "Bearer %s", tok);
    return bearer;
}

static void *make(const char *yaml, const ProtobufCMessageDescriptor *d, bool route)
{
    char err[512];
    ProtobufCMessage *m = NULL;
    void *cfg = NULL;
    if (dp_pbjson_decode_text(yaml, strlen(yaml), d, NULL, &m, "t", err, sizeof(err)) != 0) {
        fprintf(stderr, "decode: %s\n", err);
        return NULL;
    }
    int rc = route ? dp_filter_jwt_authn.create_route_config(m, &cfg, err, sizeof(err))
                   : dp_filter_jwt_authn.create_config(m, &cfg, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "config: %s\n", err);
    protobuf_c_message_free_unpacked(m, NULL);
    return cfg;
}

#define JWKS "'{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"ZmlsdGVyLXRlc3Qtc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY\"}]}'"

static const char config_yaml[] =
    "providers:\n"
    "  p:\n"
    "    issuer: https://issuer.example\n"
    "    audiences: [api]\n"
    "    local_jwks: { inline_string: " JWKS " }\n"
    "    forward_payload_header: x-payload\n"
    "    pad_forward_payload_header: true\n"
    "    claim_to_headers:\n"
    "    - { header_name: x-sub, claim_name: sub }\n"
    "    - { header_name: x-role, claim_name: ext.role }\n"
    "    - { header_name: x-n, claim_name: ext.n }\n"
    "    - { header_name: x-ok, claim_name: ext.ok }\n"
    "    - { header_name: x-neg, claim_name: ext.neg }\n"
    "    - { header_name: x-frac, claim_name: ext.frac }\n"
    "    - { header_name: x-obj, claim_name: obj }\n"
    "    - { header_name: x-missing, claim_name: nope }\n"
    "    payload_in_metadata: payload\n"
    "    header_in_metadata: header\n"
    "    failed_status_in_metadata: failure\n"
    "    normalize_payload_in_metadata: { space_delimited_claims: [scope] }\n"
    "    jwt_cache_config: {}\n"
    "  spiffe:\n"
    "    issuer: https://issuer.example\n"
    "    subjects: { prefix: 'spiffe://example.org/' }\n"
    "    from_headers: [{ name: x-spiffe }]\n"
    "    local_jwks: { inline_string: " JWKS " }\n"
    "  life:\n"
    "    max_lifetime: 3600s\n"
    "    from_headers: [{ name: x-life }]\n"
    "    local_jwks: { inline_string: " JWKS " }\n"
    "  reqexp:\n"
    "    require_expiration: true\n"
    "    from_headers: [{ name: x-reqexp }]\n"
    "    local_jwks: { inline_string: " JWKS " }\n"
    "  ck:\n"
    "    from_cookies: [session]\n"
    "    from_params: [tok]\n"
    "    local_jwks: { inline_string: " JWKS " }\n"
    "  broken:\n"
    "    from_headers: [{ name: x-broken }]\n"
    "    local_jwks: { inline_string: 'not a jwks' }\n"
    "rules:\n"
    "- { match: { prefix: /spiffe }, requires: { provider_name: spiffe } }\n"
    "- { match: { prefix: /life }, requires: { provider_name: life } }\n"
    "- { match: { prefix: /reqexp }, requires: { provider_name: reqexp } }\n"
    "- { match: { prefix: /ck }, requires: { provider_name: ck } }\n"
    "- { match: { prefix: /broken }, requires: { provider_name: broken } }\n"
    "- { match: { prefix: /failok }, requires: { allow_missing_or_failed: {} } }\n"
    "- { match: { prefix: / }, requires: { provider_name: p } }\n"
    "requirement_map: { r1: { provider_name: p } }\n"
    "bypass_cors_preflight: true\n";

static const ProtobufCMessageDescriptor *const auth_d =
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__descriptor;

static void test_good(void *cfg)
{
    fake_t f;
    const char *h[] = {"authorization", auth(T_GOOD), "x-sub", "mallory", "x-payload", "forged", NULL};
    run(&f, cfg, NULL, "GET", "/a", h);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK(hdr(&f, "authorization") == NULL); /* forward: false */
    CHECK_STR(hdr(&f, "x-sub"), "alice");
    CHECK_INT(dp_headers_count(&f.s.req_headers, "x-sub", 5), 1);
    CHECK_STR(hdr(&f, "x-role"), "admin");
    CHECK_STR(hdr(&f, "x-n"), "42");
    CHECK_STR(hdr(&f, "x-ok"), "true");
    CHECK_STR(hdr(&f, "x-neg"), "-3.000000");
    CHECK_STR(hdr(&f, "x-frac"), "1.500000");
    CHECK_STR(hdr(&f, "x-obj"), "eyJhIjpbMSwyXX0="); /* base64 of {"a":[1,2]} */
    CHECK(hdr(&f, "x-missing") == NULL);
    const char *pl = strchr(T_GOOD, '.') + 1;
    size_t pn = (size_t)(strchr(pl, '.') - pl);
    const char *xp = hdr(&f, "x-payload");
    CHECK(xp && strncmp(xp, pl, pn) == 0 && strlen(xp) % 4 == 0 && strlen(xp) >= pn && strlen(xp) < pn + 3);
    CHECK_INT(dp_headers_count(&f.s.req_headers, "x-payload", 9), 1);
    const json_t *p = md(&f, "payload");
    CHECK(json_is_object(p));
    CHECK_STR(json_string_value(json_object_get(p, "sub")), "alice");
    const json_t *scope = json_object_get(p, "scope");
    CHECK(json_is_array(scope) && json_array_size(scope) == 2);
    CHECK_STR(json_string_value(json_array_get(scope, 1)), "write");
    CHECK_STR(json_string_value(json_object_get(md(&f, "header"), "alg")), "HS256");
    CHECK(md(&f, "failure") == NULL);
    done(&f);

    /* the prefix anywhere in the value; a query token removed from the path */
    char v[2048];
    snprintf(v, sizeof(v), "Other x, Bearer %s", T_GOOD);
    const char *h2[] = {"authorization", v, NULL};
    run(&f, cfg, NULL, "GET", "/a", h2);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);
    char path[2048];
    snprintf(path, sizeof(path), "/a?x=1&access_token=%s&y=2", T_GOOD);
    run(&f, cfg, NULL, "GET", path, NULL);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK_MEM(f.s.path.base, f.s.path.len, "/a?x=1&y=2");
    done(&f);
    snprintf(path, sizeof(path), "/a?access_token=%s", T_GOOD);
    run(&f, cfg, NULL, "GET", path, NULL);
    CHECK_MEM(f.s.path.base, f.s.path.len, "/a");
    done(&f);
}

static void test_failures(void *cfg)
{
    fake_t f;
    const char *h[] = {"authorization", auth(T_EXPIRED), "x-sub", "mallory", NULL};
    run(&f, cfg, NULL, "GET", "/a?b=1", h);
    CHECK_INT(f.st, DP_FILTER_REPLIED);
    CHECK_INT(resp_status, 401);
    CHECK(strstr(resp_head, "www-authenticate: Bearer realm=\"http://app.test/a?b=1\", error=\"invalid_token\"\n"));
    CHECK(strstr(resp_body, "\"error\": \"Jwt is expired\""));
    CHECK(hdr(&f, "x-sub") == NULL); /* sanitized even when denied */
    const json_t *fs = md(&f, "failure");
    CHECK_INT(json_integer_value(json_object_get(fs, "code")), 3);
    CHECK_STR(json_string_value(json_object_get(fs, "message")), "Jwt is expired");
    done(&f);

    run(&f, cfg, NULL, "GET", "/a", NULL);
    CHECK_INT(resp_status, 401);
    CHECK(strstr(resp_head, "www-authenticate: Bearer realm=\"http://app.test/a\"\n"));
    CHECK(strstr(resp_body, "Jwt is missing"));
    CHECK(md(&f, "failure") == NULL); /* several providers: no provider to name */
    done(&f);

    const struct {
        const char *tok;
        int status;
        const char *msg;
    } bad[] = {
        {T_AUD2, 403, "Audiences in Jwt are not allowed"},
        {T_OTHER_ISS, 401, "Jwt issuer is not configured"},
        {"a.b", 401, "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(bad); i++) {
        const char *hb[] = {"authorization", auth(bad[i].tok), NULL};
        run(&f, cfg, NULL, "GET", "/a", hb);
        CHECK_INT(f.st, DP_FILTER_REPLIED);
        CHECK_INT(resp_status, bad[i].status);
        CHECK(strstr(resp_body, bad[i].msg) != NULL);
        done(&f);
    }
    /* every token must verify: a good header and an expired query token */
    char path[2048];
    snprintf(path, sizeof(path), "/a?access_token=%s", T_EXPIRED);
    const char *h2[] = {"authorization", auth(T_GOOD), NULL};
    run(&f, cfg, NULL, "GET", path, h2);
    CHECK_INT(resp_status, 401);
    done(&f);
    /* a local JWKS that did not parse */
    const char *h3[] = {"x-broken", T_GOOD, NULL};
    run(&f, cfg, NULL, "GET", "/broken", h3);
    CHECK_INT(resp_status, 401);
    CHECK(strstr(resp_body, "Jwks doesn't have any valid public key"));
    done(&f);
}

static void test_checks(void *cfg)
{
    fake_t f;
    const struct {
        const char *path, *header, *tok;
        int status; /* 0: continues */
    } cases[] = {
        {"/spiffe", "x-spiffe", T_GOOD, 401},  /* sub alice is not spiffe://example.org/... */
        {"/spiffe", "x-spiffe", T_SPIFFE, 0},
        {"/life", "x-life", T_GOOD, 401},      /* exp in 2100: more than max_lifetime 3600s left */
        {"/life", "x-life", T_NOEXP, 401},
        {"/reqexp", "x-reqexp", T_NOEXP, 401}, /* require_expiration */
        {"/reqexp", "x-reqexp", T_GOOD, 0},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        const char *h[] = {cases[i].header, cases[i].tok, NULL};
        run(&f, cfg, NULL, "GET", cases[i].path, h);
        CHECK_INT(f.st, cases[i].status ? DP_FILTER_REPLIED : DP_FILTER_CONTINUE);
        CHECK_INT(resp_status, cases[i].status);
        if (cases[i].status)
            CHECK(strstr(resp_body, "Jwt verification fails"));
        done(&f);
    }
    /* cookies (quoted) and a custom query parameter */
    char cookie[2048], path[2048];
    snprintf(cookie, sizeof(cookie), "a=1; session=\"%s\"; b=2", T_GOOD);
    const char *hc[] = {"cookie", cookie, NULL};
    run(&f, cfg, NULL, "GET", "/ck", hc);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK(hdr(&f, "cookie") != NULL); /* cookies stay */
    done(&f);
    snprintf(path, sizeof(path), "/ck?tok=%s", T_GOOD);
    run(&f, cfg, NULL, "GET", path, NULL);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK_MEM(f.s.path.base, f.s.path.len, "/ck");
    done(&f);

    /* allow_missing_or_failed: a bad token passes, its status is recorded */
    const char *hf[] = {"authorization", auth(T_EXPIRED), NULL};
    run(&f, cfg, NULL, "GET", "/failok", hf);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK_INT(json_integer_value(json_object_get(md(&f, "failure"), "code")), 3);
    CHECK(hdr(&f, "authorization") != NULL);
    done(&f);
    run(&f, cfg, NULL, "GET", "/failok", NULL);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);

    /* CORS preflight bypass */
    const char *hp[] = {"origin", "https://web.example", "access-control-request-method", "POST", NULL};
    run(&f, cfg, NULL, "OPTIONS", "/a", hp);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);
    const char *hp2[] = {"access-control-request-method", "POST", NULL};
    run(&f, cfg, NULL, "OPTIONS", "/a", hp2);
    CHECK_INT(resp_status, 401);
    done(&f);
}

static void test_cache(void *cfg)
{
    fake_t f;
    const char *h[] = {"authorization", auth(T_GOOD2), NULL};
    uint64_t hit0 = stat("http.unit.jwt_authn.jwt_cache_hit"), miss0 = stat("http.unit.jwt_authn.jwt_cache_miss");
    run(&f, cfg, NULL, "GET", "/a", h);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);
    run(&f, cfg, NULL, "GET", "/a", h);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    CHECK_STR(hdr(&f, "x-sub"), "carol"); /* a hit still adds the claim headers */
    CHECK(md(&f, "payload") != NULL);
    done(&f);
    CHECK_INT(stat("http.unit.jwt_authn.jwt_cache_hit"), hit0 + 1);
    CHECK_INT(stat("http.unit.jwt_authn.jwt_cache_miss"), miss0 + 1);
    /* a cached token still fails the audience of provider_and_audiences-like checks: here, time */
    CHECK(stat("http.unit.jwt_authn.allowed") > 0);
    CHECK(stat("http.unit.jwt_authn.denied") > 0);
    CHECK(stat("http.unit.jwt_authn.cors_preflight_bypassed") > 0);
}

static void test_per_route(void *cfg)
{
    const ProtobufCMessageDescriptor *d = &envoy__extensions__filters__http__jwt_authn__v3__per_route_config__descriptor;
    void *off = make("{ disabled: true }", d, true), *r1 = make("{ requirement_name: r1 }", d, true),
         *nope = make("{ requirement_name: nope }", d, true);
    fake_t f;
    run(&f, cfg, off, "GET", "/a", NULL);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);
    run(&f, cfg, r1, "GET", "/spiffe", NULL); /* the per-route requirement replaces the rules */
    CHECK_INT(resp_status, 401);
    done(&f);
    const char *h[] = {"authorization", auth(T_GOOD), NULL};
    run(&f, cfg, r1, "GET", "/spiffe", h);
    CHECK_INT(f.st, DP_FILTER_CONTINUE);
    done(&f);
    run(&f, cfg, nope, "GET", "/a", h);
    CHECK_INT(f.st, DP_FILTER_REPLIED);
    CHECK_INT(resp_status, 403);
    CHECK(strstr(resp_body, "Failed JWT authentication: Wrong requirement_name: nope. It should be one of [r1]"));
    CHECK(strstr(resp_head, "www-authenticate") == NULL);
    done(&f);
    dp_filter_jwt_authn.destroy_route_config(off);
    dp_filter_jwt_authn.destroy_route_config(r1);
    dp_filter_jwt_authn.destroy_route_config(nope);
}

static void test_strip(void)
{
    void *cfg = make("strip_failure_response: true\n"
                     "providers: { p: { local_jwks: { inline_string: " JWKS " } } }\n"
                     "rules: [{ match: { prefix: / }, requires: { provider_name: p } }]\n",
                     auth_d, false);
    CHECK(cfg != NULL);
    fake_t f;
    const char *h[] = {"authorization", auth(T_EXPIRED), NULL};
    run(&f, cfg, NULL, "GET", "/a", h);
    CHECK_INT(resp_status, 401);
    CHECK_STR(resp_body, "");
    CHECK(strstr(resp_head, "www-authenticate") == NULL);
    done(&f);
    /* a single provider names the missing token's failure */
    dp_filter_jwt_authn.destroy_config(cfg);
    cfg = make("providers: { p: { failed_status_in_metadata: fs, local_jwks: { inline_string: " JWKS " } } }\n"
               "rules: [{ match: { prefix: / }, requires: { provider_name: p } }]\n",
               auth_d, false);
    run(&f, cfg, NULL, "GET", "/a", NULL);
    CHECK_INT(json_integer_value(json_object_get(md(&f, "fs"), "code")), 1);
    done(&f);
    dp_filter_jwt_authn.destroy_config(cfg);
}

int main(void)
{
    void *cfg = make(config_yaml, auth_d, false);
    CHECK(cfg != NULL);
    if (cfg == NULL)
        TEST_DONE();
    test_good(cfg);
    test_failures(cfg);
    test_checks(cfg);
    test_cache(cfg);
    test_per_route(cfg);
    test_strip();
    dp_filter_jwt_authn.destroy_config(cfg);
    TEST_DONE();
}
