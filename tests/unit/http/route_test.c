/* Virtual host selection, port stripping, route and header matching,
 * weighted clusters and redirect URLs (dataplane/http/route.c), checked
 * against Envoy's documented behaviour. Configs are built by hand. */
#include "dataplane/http/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/http/hcm-t.h"
#include "test.h"

#define S(lit) DP_SLICE_LIT(lit)
#define STRS(...) ((char *[]){__VA_ARGS__})
#define NSTRS(...) (sizeof((char *[]){__VA_ARGS__}) / sizeof(char *))
/* A vhost with a name and domains; no routes. */
#define VH(nm, ...) \
    ((dp_vhost_t){.name = (char *)(nm), .domains = STRS(__VA_ARGS__), .n_domains = NSTRS(__VA_ARGS__)})

static dp_route_config_t mkrc(dp_vhost_t *vh, size_t n)
{
    return (dp_route_config_t){.name = (char *)"rc", .vhosts = vh, .n_vhosts = n};
}

static const char *sel(const dp_route_config_t *rc, const char *host)
{
    const dp_vhost_t *vh = dp_route_select_vhost(rc, host, strlen(host));
    return vh ? vh->name : "(none)";
}

/* ---- virtual host selection ------------------------------------------ */

static void test_domain_precedence(void)
{
    dp_vhost_t vh[] = {
        VH("any", "*"),
        VH("suf_short", "*.example.com"),
        VH("suf_long", "*.foo.example.com"),
        VH("suf_dash", "*-bar.example.com"),
        VH("pre_short", "api.*"),
        VH("pre_long", "api.example.*", "pre-*"),
        VH("exact", "www.example.com", "WWW.Mixed.Com"),
    };
    dp_route_config_t rc = mkrc(vh, DP_ARRAY_SIZE(vh));
    char err[256];
    CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), 0);
    CHECK(rc.index != NULL);

    static const struct {
        const char *host, *want;
    } cases[] = {
        {"www.example.com", "exact"},          /* exact beats every wildcard */
        {"WWW.EXAMPLE.COM", "exact"},          /* case-insensitive */
        {"www.mixed.com", "exact"},            /* config domain lowercased */
        {"a.foo.example.com", "suf_long"},     /* longest suffix first */
        {"A.FOO.Example.Com", "suf_long"},
        {"foo.example.com", "suf_short"},      /* "*.foo.example.com" needs >= 1 char */
        {"x.example.com", "suf_short"},
        {"baz-bar.example.com", "suf_dash"},   /* Envoy's "*-bar.foo.com" example */
        {"-bar.example.com", "suf_short"},     /* '*' matched nothing */
        {"api.example.com", "suf_short"},      /* suffix beats prefix */
        {"api.example.org", "pre_long"},       /* longest prefix first */
        {"api.example.", "pre_short"},         /* "api.example.*" needs >= 1 char */
        {"api.other", "pre_short"},
        {"pre-x", "pre_long"},
        {"pre-", "any"},
        {"example.com", "any"},                /* ".example.com" needs a char before */
        {"www.example.com:80", "any"},         /* matched as given, port included */
        {"", "any"},
        {"api", "any"},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        const char *got = sel(&rc, cases[i].host);
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "host '%s'\n", cases[i].host);
        CHECK_STR(got, cases[i].want);
    }
    dp_route_config_free_index(&rc);
    CHECK(rc.index == NULL);
    CHECK(dp_route_select_vhost(&rc, "www.example.com", 15) == NULL); /* unindexed */
    dp_route_config_free_index(&rc);                                  /* twice is fine */

    /* Without "*": no match is NULL. */
    dp_vhost_t vh2[] = {VH("one", "one.com"), VH("w", "*.w.com")};
    dp_route_config_t rc2 = mkrc(vh2, 2);
    CHECK_INT(dp_route_config_index(&rc2, NULL, 0), 0);
    CHECK_STR(sel(&rc2, "one.com"), "one");
    CHECK_STR(sel(&rc2, "a.w.com"), "w");
    CHECK_STR(sel(&rc2, "w.com"), "(none)");
    CHECK_STR(sel(&rc2, "two.com"), "(none)");
    CHECK(dp_route_select_vhost(&rc2, NULL, 0) == NULL);
    /* Re-indexing replaces the index. */
    CHECK_INT(dp_route_config_index(&rc2, NULL, 0), 0);
    CHECK_STR(sel(&rc2, "one.com"), "one");
    dp_route_config_free_index(&rc2);
}

static void test_domain_errors(void)
{
    char err[256];
    {
        dp_vhost_t vh[] = {VH("vh1", "a.com", "b.com"), VH("vh2", "c.com", "A.com")};
        dp_route_config_t rc = mkrc(vh, 2);
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), DP_EINVAL);
        CHECK(rc.index == NULL);
        CHECK(strstr(err, "Only unique values for domains are permitted. Duplicate entry of domain A.com") != NULL);
        CHECK(strstr(err, "vh1") != NULL && strstr(err, "vh2") != NULL);
    }
    {
        dp_vhost_t vh[] = {VH("vh1", "*.a.com"), VH("vh2", "*.A.COM")};
        dp_route_config_t rc = mkrc(vh, 2);
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), DP_EINVAL);
        CHECK(strstr(err, "*.A.COM") != NULL);
    }
    {
        dp_vhost_t vh[] = {VH("vh1", "foo.*"), VH("vh2", "bar.*", "foo.*")};
        dp_route_config_t rc = mkrc(vh, 2);
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), DP_EINVAL);
        CHECK(strstr(err, "foo.*") != NULL && strstr(err, "vh1") != NULL && strstr(err, "vh2") != NULL);
    }
    {
        /* The same text as exact, suffix and prefix is three domains. */
        dp_vhost_t vh[] = {VH("e", "a.com"), VH("s", "*a.com"), VH("p", "a.com*")};
        dp_route_config_t rc = mkrc(vh, 3);
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), 0);
        CHECK_STR(sel(&rc, "a.com"), "e");
        CHECK_STR(sel(&rc, "xa.com"), "s");
        CHECK_STR(sel(&rc, "a.comx"), "p");
        dp_route_config_free_index(&rc);
    }
    {
        dp_vhost_t vh[] = {VH("d1", "*"), VH("d2", "x.com", "*")};
        dp_route_config_t rc = mkrc(vh, 2);
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), DP_EINVAL);
        CHECK(strstr(err, "Only a single wildcard domain is permitted") != NULL);
        CHECK(strstr(err, "d1") != NULL && strstr(err, "d2") != NULL);
    }
    static const char *bad[] = {"foo.*.com", "*foo*", "**", "*.*", "a*b", ""};
    for (size_t i = 0; i < DP_ARRAY_SIZE(bad); i++) {
        dp_vhost_t vh[] = {VH("ok", "ok.com"), VH("badvh", (char *)bad[i])};
        dp_route_config_t rc = mkrc(vh, 2);
        err[0] = '\0';
        CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), DP_EINVAL);
        CHECK(rc.index == NULL);
        CHECK(strstr(err, "badvh") != NULL);
        char quoted[64];
        snprintf(quoted, sizeof(quoted), "'%s'", bad[i]);
        if (strstr(err, quoted) == NULL)
            fprintf(stderr, "domain '%s': %s\n", bad[i], err);
        CHECK(strstr(err, quoted) != NULL);
    }
}

static void test_many_vhosts(void)
{
    enum { N = 10000 };
    dp_vhost_t *vh = calloc(N + 1, sizeof(*vh));
    char (*names)[32] = calloc(N + 1, sizeof(*names));
    char (*doms)[3][48] = calloc(N, sizeof(*doms));
    char **domp = calloc((size_t)N * 3 + 1, sizeof(char *));
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof(names[i]), "vh%d", i);
        snprintf(doms[i][0], sizeof(doms[i][0]), "svc-%d.example.com", i);
        /* wildcards of many different lengths */
        snprintf(doms[i][1], sizeof(doms[i][1]), "*.w%d.example.com", i);
        snprintf(doms[i][2], sizeof(doms[i][2]), "p%d.*", i);
        for (int k = 0; k < 3; k++)
            domp[i * 3 + k] = doms[i][k];
        vh[i] = (dp_vhost_t){.name = names[i], .domains = &domp[i * 3], .n_domains = 3};
    }
    snprintf(names[N], sizeof(names[N]), "default");
    domp[N * 3] = (char *)"*";
    vh[N] = (dp_vhost_t){.name = names[N], .domains = &domp[N * 3], .n_domains = 1};
    dp_route_config_t rc = mkrc(vh, N + 1);
    char err[256];
    CHECK_INT(dp_route_config_index(&rc, err, sizeof(err)), 0);
    CHECK_STR(sel(&rc, "svc-0.example.com"), "vh0");
    CHECK_STR(sel(&rc, "SVC-9999.example.com"), "vh9999");
    CHECK_STR(sel(&rc, "svc-5000.example.com"), "vh5000");
    CHECK_STR(sel(&rc, "a.b.w0.example.com"), "vh0");
    CHECK_STR(sel(&rc, "x.w9999.example.com"), "vh9999");
    CHECK_STR(sel(&rc, "p0.anything"), "vh0");
    CHECK_STR(sel(&rc, "p9999.x"), "vh9999");
    CHECK_STR(sel(&rc, "p99999.x"), "default");
    CHECK_STR(sel(&rc, "svc-10000.example.com"), "default");
    CHECK_STR(sel(&rc, "w0.example.com"), "default");

    /* Every vhost is reachable by its exact name. */
    int ok = 0;
    for (int i = 0; i < N; i++) {
        const dp_vhost_t *got = dp_route_select_vhost(&rc, doms[i][0], strlen(doms[i][0]));
        ok += got == &vh[i];
    }
    CHECK_INT(ok, N);
    dp_route_config_free_index(&rc);
    free(domp);
    free(doms);
    free(names);
    free(vh);
}

static void test_strip_port(void)
{
    static const struct {
        const char *in;
        int mode;
        uint16_t lport;
        const char *want;
    } cases[] = {
        {"example.com:80", DP_STRIP_MATCHING_PORT, 80, "example.com"},
        {"example.com:8080", DP_STRIP_MATCHING_PORT, 80, "example.com:8080"},
        {"example.com:65616", DP_STRIP_MATCHING_PORT, 80, "example.com:65616"}, /* 80 + 65536 */
        {"example.com:8080", DP_STRIP_ANY_PORT, 80, "example.com"},
        {"example.com:80", DP_STRIP_PORT_NONE, 80, "example.com:80"},
        {"example.com", DP_STRIP_ANY_PORT, 0, "example.com"},
        {"example.com:", DP_STRIP_ANY_PORT, 0, "example.com:"},
        {"example.com:8a", DP_STRIP_ANY_PORT, 0, "example.com:8a"},
        {"example.com:99999999999", DP_STRIP_ANY_PORT, 0, "example.com:99999999999"},
        {"[::1]:8080", DP_STRIP_ANY_PORT, 0, "[::1]"},
        {"[::1]", DP_STRIP_ANY_PORT, 0, "[::1]"},
        {"[fe80::1]:443", DP_STRIP_MATCHING_PORT, 443, "[fe80::1]"},
        {"[fe80::1]:443", DP_STRIP_MATCHING_PORT, 80, "[fe80::1]:443"},
        {"[fe80::1]", DP_STRIP_MATCHING_PORT, 1, "[fe80::1]"},
        {"", DP_STRIP_ANY_PORT, 0, ""},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        size_t n = dp_host_strip_port(cases[i].in, strlen(cases[i].in), cases[i].mode, cases[i].lport);
        CHECK_MEM(cases[i].in, n, cases[i].want);
    }

    /* Stripping then selecting, as the HCM does. */
    dp_vhost_t vh[] = {VH("api", "api.example.com"), VH("any", "*")};
    dp_route_config_t rc = mkrc(vh, 2);
    CHECK_INT(dp_route_config_index(&rc, NULL, 0), 0);
    const char *host = "api.example.com:8080";
    CHECK_STR(sel(&rc, host), "any");
    size_t n = dp_host_strip_port(host, strlen(host), DP_STRIP_MATCHING_PORT, 8080);
    CHECK(dp_route_select_vhost(&rc, host, n) == &vh[0]);
    dp_route_config_free_index(&rc);
}

/* ---- route matching ---------------------------------------------------- */

static dp_route_t R(const char *name, dp_pathmatch_kind_t kind, const char *path, bool case_sensitive)
{
    return (dp_route_t){.name = (char *)name,
                        .path_kind = kind,
                        .path = (char *)path,
                        .path_len = strlen(path),
                        .case_sensitive = case_sensitive};
}

static dp_hdrmatch_t HS(const char *name, dp_strmatch_kind_t kind, const char *value)
{
    return (dp_hdrmatch_t){.name = (char *)name,
                           .kind = DP_HDRMATCH_STRING,
                           .str = {kind, false, (char *)value, strlen(value)}};
}

static dp_hdrmatch_t HP(const char *name, bool present)
{
    return (dp_hdrmatch_t){.name = (char *)name, .kind = DP_HDRMATCH_PRESENT, .present = present};
}

static dp_route_input_t IN(const char *path, const dp_headers_t *h)
{
    return (dp_route_input_t){.method = S("GET"),
                              .path = dp_slice_cstr(path),
                              .authority = S("example.com"),
                              .scheme = S("http"),
                              .headers = h};
}

static void test_route_match(void)
{
    dp_hdrmatch_t env_prod = HS("x-env", DP_STRMATCH_EXACT, "prod");
    dp_route_t routes[] = {
        R("exact", DP_PATHMATCH_PATH, "/exact", true),
        R("sep", DP_PATHMATCH_SEPARATED_PREFIX, "/api", true),
        R("caseless", DP_PATHMATCH_PREFIX, "/CaseLess", false),
        R("static", DP_PATHMATCH_PREFIX, "/static/", true),
        R("prod", DP_PATHMATCH_PREFIX, "/", true),
        R("all", DP_PATHMATCH_PREFIX, "/", true),
    };
    routes[4].headers = &env_prod;
    routes[4].n_headers = 1;
    dp_vhost_t vh = {.name = (char *)"v", .routes = routes, .n_routes = DP_ARRAY_SIZE(routes)};

    dp_headers_t prod = {0};
    dp_headers_add(&prod, S("x-env"), S("prod"));

    static const struct {
        const char *path;
        bool prod;
        const char *want;
    } cases[] = {
        {"/exact", false, "exact"},
        {"/exact?x=1", false, "exact"},   /* query ignored */
        {"/exact#frag", false, "exact"},
        {"/exact/", false, "all"},
        {"/exactly", false, "all"},
        {"/EXACT", false, "all"},          /* case-sensitive by default */
        {"/api", false, "sep"},
        {"/api/v1", false, "sep"},
        {"/api?x=1", false, "sep"},
        {"/api/", false, "sep"},
        {"/apiv1", false, "all"},          /* not followed by '/' */
        {"/API", false, "all"},
        {"/caseless/x", false, "caseless"},
        {"/CASELESS", false, "caseless"},
        {"/caseles", false, "all"},
        {"/static/a.css?v=1", false, "static"},
        {"/static", false, "all"},
        {"/x?/static/", false, "all"},     /* the query is not the path */
        {"/static?/", false, "all"},
        {"/", true, "prod"},               /* header matcher */
        {"/other", true, "prod"},
        {"/exact", true, "exact"},         /* first match wins */
        {"", false, "(none)"},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        dp_route_input_t in = IN(cases[i].path, cases[i].prod ? &prod : NULL);
        const dp_route_t *r = dp_route_match(&vh, &in);
        const char *got = r ? r->name : "(none)";
        if (strcmp(got, cases[i].want) != 0)
            fprintf(stderr, "path '%s'\n", cases[i].path);
        CHECK_STR(got, cases[i].want);
    }
    dp_route_input_t nopath = IN("/", NULL);
    nopath.path = DP_SLICE_NULL;
    CHECK(dp_route_match(&vh, &nopath) == NULL);
    CHECK(dp_route_match(NULL, &nopath) == NULL);

    /* case_sensitive=false on exact path and separated prefix */
    dp_route_t ci[] = {R("p", DP_PATHMATCH_PATH, "/Foo", false), R("s", DP_PATHMATCH_SEPARATED_PREFIX, "/Bar", false)};
    dp_vhost_t vci = {.routes = ci, .n_routes = 2};
    dp_route_input_t in = IN("/FOO?q", NULL);
    CHECK(dp_route_match(&vci, &in) == &ci[0]);
    in = IN("/bar/x", NULL);
    CHECK(dp_route_match(&vci, &in) == &ci[1]);
    in = IN("/barx", NULL);
    CHECK(dp_route_match(&vci, &in) == NULL);
    in = IN("/foo/", NULL);
    CHECK(dp_route_match(&vci, &in) == NULL);

    /* All header matchers of a route must match. */
    dp_hdrmatch_t both[] = {HS("x-a", DP_STRMATCH_EXACT, "1"), HS("x-b", DP_STRMATCH_EXACT, "2")};
    dp_route_t hr[] = {R("both", DP_PATHMATCH_PREFIX, "/", true)};
    hr[0].headers = both;
    hr[0].n_headers = 2;
    dp_vhost_t vhr = {.routes = hr, .n_routes = 1};
    dp_headers_t h = {0};
    dp_headers_add(&h, S("x-a"), S("1"));
    in = IN("/", &h);
    CHECK(dp_route_match(&vhr, &in) == NULL);
    dp_headers_add(&h, S("x-b"), S("2"));
    CHECK(dp_route_match(&vhr, &in) == &hr[0]);
    dp_headers_free(&h);
    dp_headers_free(&prod);
}

static void test_header_matchers(void)
{
    dp_headers_t h = {0};
    dp_headers_add(&h, S("x-a"), S("foo"));
    dp_headers_add(&h, S("x-multi"), S("a"));
    dp_headers_add(&h, S("x-other"), S("z"));
    dp_headers_add(&h, S("x-multi"), S("b,c"));
    dp_headers_add(&h, S("x-empty"), S(""));
    dp_headers_add(&h, S("x-e2"), S(""));
    dp_headers_add(&h, S("x-e2"), S(""));
    dp_route_input_t in = IN("/api?q=1", &h);
    in.authority = S("www.example.com");
    in.scheme = S("https");

    struct {
        const char *what;
        dp_hdrmatch_t m;
        bool invert, missing_empty, ignore_case;
        bool want;
    } cases[] = {
        {"present", HP("x-a", true), 0, 0, 0, true},
        {"present, missing", HP("x-missing", true), 0, 0, 0, false},
        {"absent wanted, missing", HP("x-missing", false), 0, 0, 0, true},
        {"absent wanted, present", HP("x-a", false), 0, 0, 0, false},
        {"present inverted", HP("x-a", true), 1, 0, 0, false},
        {"present inverted, missing", HP("x-missing", true), 1, 0, 0, true},
        {"present, missing, treat_missing_as_empty ignored", HP("x-missing", true), 0, 1, 0, false},
        {"present, empty value", HP("x-empty", true), 0, 0, 0, true},
        {"exact", HS("x-a", DP_STRMATCH_EXACT, "foo"), 0, 0, 0, true},
        {"exact, case differs", HS("x-a", DP_STRMATCH_EXACT, "FOO"), 0, 0, 0, false},
        {"exact, ignore_case", HS("x-a", DP_STRMATCH_EXACT, "FOO"), 0, 0, 1, true},
        {"exact, longer", HS("x-a", DP_STRMATCH_EXACT, "foox"), 0, 0, 0, false},
        {"prefix", HS("x-a", DP_STRMATCH_PREFIX, "fo"), 0, 0, 0, true},
        {"prefix no", HS("x-a", DP_STRMATCH_PREFIX, "oo"), 0, 0, 0, false},
        {"prefix ignore_case", HS("x-a", DP_STRMATCH_PREFIX, "FO"), 0, 0, 1, true},
        {"suffix", HS("x-a", DP_STRMATCH_SUFFIX, "oo"), 0, 0, 0, true},
        {"suffix no", HS("x-a", DP_STRMATCH_SUFFIX, "fo"), 0, 0, 0, false},
        {"suffix ignore_case", HS("x-a", DP_STRMATCH_SUFFIX, "OO"), 0, 0, 1, true},
        {"contains", HS("x-a", DP_STRMATCH_CONTAINS, "o"), 0, 0, 0, true},
        {"contains no", HS("x-a", DP_STRMATCH_CONTAINS, "x"), 0, 0, 0, false},
        {"contains ignore_case", HS("x-a", DP_STRMATCH_CONTAINS, "OO"), 0, 0, 1, true},
        {"contains case differs", HS("x-a", DP_STRMATCH_CONTAINS, "OO"), 0, 0, 0, false},
        {"inverted exact, other value", HS("x-a", DP_STRMATCH_EXACT, "bar"), 1, 0, 0, true},
        {"inverted exact, same value", HS("x-a", DP_STRMATCH_EXACT, "foo"), 1, 0, 0, false},
        {"exact on empty value", HS("x-empty", DP_STRMATCH_EXACT, ""), 0, 0, 0, true},
        /* missing header, value matchers */
        {"missing, exact \"\"", HS("x-missing", DP_STRMATCH_EXACT, ""), 0, 0, 0, false},
        {"missing, inverted", HS("x-missing", DP_STRMATCH_EXACT, "foo"), 1, 0, 0, false},
        {"missing as empty, exact \"\"", HS("x-missing", DP_STRMATCH_EXACT, ""), 0, 1, 0, true},
        {"missing as empty, prefix", HS("x-missing", DP_STRMATCH_PREFIX, "a"), 0, 1, 0, false},
        {"missing as empty, inverted", HS("x-missing", DP_STRMATCH_EXACT, "foo"), 1, 1, 0, true},
        {"missing as empty, contains \"\"", HS("x-missing", DP_STRMATCH_CONTAINS, ""), 0, 1, 0, true},
        /* repeated header: values joined with "," -> "a,b,c" */
        {"multi exact joined", HS("x-multi", DP_STRMATCH_EXACT, "a,b,c"), 0, 0, 0, true},
        {"multi exact first only", HS("x-multi", DP_STRMATCH_EXACT, "a"), 0, 0, 0, false},
        {"multi exact too long", HS("x-multi", DP_STRMATCH_EXACT, "a,b,c,"), 0, 0, 0, false},
        {"multi exact ignore_case", HS("x-multi", DP_STRMATCH_EXACT, "A,B,C"), 0, 0, 1, true},
        {"multi prefix", HS("x-multi", DP_STRMATCH_PREFIX, "a,b"), 0, 0, 0, true},
        {"multi prefix no", HS("x-multi", DP_STRMATCH_PREFIX, "a,c"), 0, 0, 0, false},
        {"multi suffix", HS("x-multi", DP_STRMATCH_SUFFIX, "a,b,c"), 0, 0, 0, true},
        {"multi suffix across", HS("x-multi", DP_STRMATCH_SUFFIX, ",b,c"), 0, 0, 0, true},
        {"multi suffix no", HS("x-multi", DP_STRMATCH_SUFFIX, "a,b"), 0, 0, 0, false},
        {"multi suffix longer", HS("x-multi", DP_STRMATCH_SUFFIX, "xa,b,c"), 0, 0, 0, false},
        {"multi contains across", HS("x-multi", DP_STRMATCH_CONTAINS, "a,b"), 0, 0, 0, true},
        {"multi contains tail", HS("x-multi", DP_STRMATCH_CONTAINS, "c"), 0, 0, 0, true},
        {"multi contains no", HS("x-multi", DP_STRMATCH_CONTAINS, "b,a"), 0, 0, 0, false},
        {"multi contains empty", HS("x-multi", DP_STRMATCH_CONTAINS, ""), 0, 0, 0, true},
        {"multi contains ignore_case", HS("x-multi", DP_STRMATCH_CONTAINS, "B,C"), 0, 0, 1, true},
        {"multi inverted", HS("x-multi", DP_STRMATCH_EXACT, "a,b,c"), 1, 0, 0, false},
        {"multi empties", HS("x-e2", DP_STRMATCH_EXACT, ","), 0, 0, 0, true},
        {"multi empties contains", HS("x-e2", DP_STRMATCH_CONTAINS, ",,"), 0, 0, 0, false},
        /* pseudo headers come from the input */
        {":method", HS(":method", DP_STRMATCH_EXACT, "GET"), 0, 0, 0, true},
        {":path has the query", HS(":path", DP_STRMATCH_SUFFIX, "?q=1"), 0, 0, 0, true},
        {":authority", HS(":authority", DP_STRMATCH_SUFFIX, ".example.com"), 0, 0, 0, true},
        {":scheme", HS(":scheme", DP_STRMATCH_EXACT, "https"), 0, 0, 0, true},
        {"pseudo not from list", HS(":authority", DP_STRMATCH_EXACT, "foo"), 0, 0, 0, false},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        dp_hdrmatch_t m = cases[i].m;
        m.invert = cases[i].invert;
        m.treat_missing_as_empty = cases[i].missing_empty;
        m.str.ignore_case = cases[i].ignore_case;
        bool got = dp_route_hdrmatch(&m, &in);
        if (got != cases[i].want)
            fprintf(stderr, "matcher case '%s'\n", cases[i].what);
        CHECK_INT(got, cases[i].want);
    }

    /* Missing pseudo header and no header list at all. */
    dp_route_input_t bare = {0};
    dp_hdrmatch_t m = HP(":authority", true);
    CHECK(!dp_route_hdrmatch(&m, &bare));
    m = HP("x-a", false);
    CHECK(dp_route_hdrmatch(&m, &bare));
    dp_headers_free(&h);
}

/* ---- weighted clusters ------------------------------------------------- */

static void test_weighted(void)
{
    dp_weighted_cluster_t wc[] = {
        {.name = (char *)"A", .weight = 10},
        {.name = (char *)"B", .weight = 0},
        {.name = (char *)"C", .weight = 20},
        {.name = (char *)"D", .weight = 70},
    };
    dp_route_t r = {.action = DP_ROUTE_ACTION_CLUSTER, .weighted = wc, .n_weighted = 4, .total_weight = 100};
    static const struct {
        uint64_t rnd;
        const char *want;
    } cases[] = {
        {0, "A"}, {9, "A"}, {10, "C"}, {29, "C"}, {30, "D"}, {99, "D"},
        {100, "A"}, {12345, "D"}, {UINT64_MAX, "C"}, /* 2^64-1 = ...615: 15 */
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        const dp_weighted_cluster_t *c = dp_route_pick_weighted(&r, cases[i].rnd);
        CHECK_STR(c ? c->name : "(none)", cases[i].want);
    }
    int count[4] = {0};
    for (uint64_t rnd = 0; rnd < 100000; rnd++) {
        const dp_weighted_cluster_t *c = dp_route_pick_weighted(&r, rnd * 7919);
        if (c)
            count[c - wc]++;
    }
    CHECK_INT(count[0], 10000);
    CHECK_INT(count[1], 0);
    CHECK_INT(count[2], 20000);
    CHECK_INT(count[3], 70000);

    r.total_weight = 0;
    CHECK(dp_route_pick_weighted(&r, 5) == NULL);
    r.total_weight = 200; /* inconsistent: falls past the last cluster */
    CHECK(dp_route_pick_weighted(&r, 150) == NULL);
    CHECK(dp_route_pick_weighted(&r, 50) == &wc[3]);
    r.n_weighted = 0;
    r.total_weight = 100;
    CHECK(dp_route_pick_weighted(&r, 5) == NULL);
}

/* ---- redirects ----------------------------------------------------------- */

typedef struct redir_case {
    const char *what;
    dp_pathmatch_kind_t kind;
    const char *match; /* the route's prefix / path */
    const char *scheme_redirect, *host_redirect, *path_redirect, *prefix_rewrite;
    uint32_t port_redirect;
    bool strip_query;
    const char *scheme, *host, *path;
    const char *want;
} redir_case_t;

static const redir_case_t redir_cases[] = {
    {"nothing set keeps the URL", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 0, false, "http",
     "example.com:8080", "/a?b=1", "http://example.com:8080/a?b=1"},
    {"https_redirect", DP_PATHMATCH_PREFIX, "/", "https", NULL, NULL, NULL, 0, false, "http", "example.com",
     "/a?b=1", "https://example.com/a?b=1"},
    {"https_redirect drops :80", DP_PATHMATCH_PREFIX, "/", "https", NULL, NULL, NULL, 0, false, "http",
     "example.com:80", "/a", "https://example.com/a"},
    {"https_redirect keeps another port", DP_PATHMATCH_PREFIX, "/", "https", NULL, NULL, NULL, 0, false, "http",
     "example.com:8080", "/a", "https://example.com:8080/a"},
    {"same scheme keeps :443", DP_PATHMATCH_PREFIX, "/", "https", NULL, NULL, NULL, 0, false, "https",
     "example.com:443", "/a", "https://example.com:443/a"},
    {"to http drops :443", DP_PATHMATCH_PREFIX, "/", "http", NULL, NULL, NULL, 0, false, "https",
     "example.com:443", "/a", "http://example.com/a"},
    {"to http keeps :80 of https", DP_PATHMATCH_PREFIX, "/", "http", NULL, NULL, NULL, 0, false, "https",
     "example.com:80", "/a", "http://example.com:80/a"},
    {"https_redirect on IPv6 :80", DP_PATHMATCH_PREFIX, "/", "https", NULL, NULL, NULL, 0, false, "http",
     "[::1]:80", "/a", "https://[::1]/a"},
    {"port_redirect replaces the port", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 8443, false, "http",
     "example.com:8080", "/a", "http://example.com:8443/a"},
    {"port_redirect adds a port", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 8443, false, "http",
     "example.com", "/a", "http://example.com:8443/a"},
    {"port_redirect IPv6", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 8443, false, "http", "[::1]:8080",
     "/a", "http://[::1]:8443/a"},
    {"port_redirect IPv6 without port", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 8443, false, "http",
     "[::1]", "/a", "http://[::1]:8443/a"},
    {"host_redirect drops the request's port", DP_PATHMATCH_PREFIX, "/", NULL, "new.example.com", NULL, NULL, 0,
     false, "http", "old.example.com:8080", "/a", "http://new.example.com/a"},
    {"host_redirect + port_redirect", DP_PATHMATCH_PREFIX, "/", NULL, "new.example.com", NULL, NULL, 9000, false,
     "http", "old.example.com:8080", "/a", "http://new.example.com:9000/a"},
    /* envoy.config.route.v3.RedirectAction.path_redirect doc examples */
    {"doc old-path-1", DP_PATHMATCH_PATH, "/old-path-1", NULL, NULL, "/new-path-1", NULL, 0, false, "http", "h",
     "/old-path-1?bar=1", "http://h/new-path-1?bar=1"},
    {"doc old-path-2", DP_PATHMATCH_PATH, "/old-path-2", NULL, NULL, "/new-path-2", NULL, 0, true, "http", "h",
     "/old-path-2?bar=1", "http://h/new-path-2"},
    {"doc old-path-3", DP_PATHMATCH_PATH, "/old-path-3", NULL, NULL, "/new-path-3?foo=1", NULL, 0, true, "http",
     "h", "/old-path-3?bar=1", "http://h/new-path-3?foo=1"},
    {"path_redirect without query, none in request", DP_PATHMATCH_PREFIX, "/", NULL, NULL, "/n", NULL, 0, false,
     "http", "h", "/old", "http://h/n"},
    {"path_redirect gets a leading slash", DP_PATHMATCH_PREFIX, "/", NULL, NULL, "new", NULL, 0, false, "http",
     "h", "/old", "http://h/new"},
    /* RouteAction.prefix_rewrite doc example (same rule for redirects) */
    {"doc prefix /prefix/ -> /", DP_PATHMATCH_PREFIX, "/prefix/", NULL, NULL, NULL, "/", 0, false, "http", "h",
     "/prefix/etc", "http://h/etc"},
    {"doc prefix /prefix -> /", DP_PATHMATCH_PREFIX, "/prefix", NULL, NULL, NULL, "/", 0, false, "http", "h",
     "/prefix", "http://h/"},
    {"doc prefix /prefix -> / on /prefix/etc", DP_PATHMATCH_PREFIX, "/prefix", NULL, NULL, NULL, "/", 0, false,
     "http", "h", "/prefix/etc", "http://h//etc"},
    {"prefix_rewrite keeps the query", DP_PATHMATCH_PREFIX, "/old/", NULL, NULL, NULL, "/new/", 0, false, "http",
     "h", "/old/x?y=1", "http://h/new/x?y=1"},
    {"prefix_rewrite + strip_query", DP_PATHMATCH_PREFIX, "/old/", NULL, NULL, NULL, "/new/", 0, true, "http",
     "h", "/old/x?y=1", "http://h/new/x"},
    {"prefix_rewrite on an exact path", DP_PATHMATCH_PATH, "/old", NULL, NULL, NULL, "/new", 0, false, "http",
     "h", "/old?y=1", "http://h/new?y=1"},
    {"prefix_rewrite of a separated prefix", DP_PATHMATCH_SEPARATED_PREFIX, "/old", NULL, NULL, NULL, "/new", 0,
     false, "http", "h", "/old/x", "http://h/new/x"},
    {"prefix_rewrite to empty gets a slash", DP_PATHMATCH_PREFIX, "/old", NULL, NULL, NULL, "", 0, true, "http",
     "h", "/old?x", "http://h/"},
    {"strip_query alone", DP_PATHMATCH_PREFIX, "/", NULL, NULL, NULL, NULL, 0, true, "http", "h", "/a?b=1",
     "http://h/a"},
    {"everything", DP_PATHMATCH_PREFIX, "/", "https", "secure.example.com", "/login", NULL, 8443, true, "http",
     "example.com:80", "/account?next=1", "https://secure.example.com:8443/login"},
};

static void test_redirect(void)
{
    char out[256];
    for (size_t i = 0; i < DP_ARRAY_SIZE(redir_cases); i++) {
        const redir_case_t *c = &redir_cases[i];
        dp_route_t r = R("redir", c->kind, c->match, true);
        r.action = DP_ROUTE_ACTION_REDIRECT;
        r.redirect_scheme = (char *)c->scheme_redirect;
        r.redirect_host = (char *)c->host_redirect;
        r.redirect_path = (char *)c->path_redirect;
        r.redirect_prefix = (char *)c->prefix_rewrite;
        r.redirect_port = c->port_redirect;
        r.strip_query = c->strip_query;
        r.redirect_code = 301;
        int n = dp_route_build_redirect(&r, dp_slice_cstr(c->scheme), dp_slice_cstr(c->host),
                                        dp_slice_cstr(c->path), out, sizeof(out));
        if (n < 0 || strcmp(out, c->want) != 0)
            fprintf(stderr, "redirect case '%s'\n", c->what);
        CHECK_INT(n, (int)strlen(c->want));
        if (n >= 0)
            CHECK_STR(out, c->want);
    }

    /* Output bounds: exact fit (with NUL) works, one byte less fails. */
    dp_route_t r = R("redir", DP_PATHMATCH_PREFIX, "/", true);
    r.action = DP_ROUTE_ACTION_REDIRECT;
    r.redirect_scheme = (char *)"https";
    const char *want = "https://example.com/a";
    size_t wl = strlen(want);
    CHECK_INT(dp_route_build_redirect(&r, S("http"), S("example.com"), S("/a"), out, wl + 1), (int)wl);
    CHECK_STR(out, want);
    CHECK_INT(dp_route_build_redirect(&r, S("http"), S("example.com"), S("/a"), out, wl), -1);
    CHECK_INT(dp_route_build_redirect(&r, S("http"), S("example.com"), S("/a"), out, 0), -1);

    r.action = DP_ROUTE_ACTION_CLUSTER;
    CHECK_INT(dp_route_build_redirect(&r, S("http"), S("example.com"), S("/a"), out, sizeof(out)), -1);
}

int main(void)
{
    test_domain_precedence();
    test_domain_errors();
    test_many_vhosts();
    test_strip_port();
    test_route_match();
    test_header_matchers();
    test_weighted();
    test_redirect();
    TEST_DONE();
}
