/* Container URL host forms (filters/containers/hostname.c): a table of hosts
 * against four patterns, then the boundaries that need built strings
 * (63/64-char labels, 253/254-char hosts), dp_host_normalise() and
 * dp_hostpat_init(). */
#include <stdint.h>
#include <string.h>

#include "filters/containers/hostname.h"
#include "test.h"

/* 24 hex digits each; U* are the same in uppercase */
#define P "0123456789abcdef01234567"
#define C "89abcdef0123456789abcdef"
#define UP "0123456789ABCDEF01234567"
#define UC "89ABCDEF0123456789ABCDEF"
#define P23 "0123456789abcdef0123456"
#define P25 "0123456789abcdef012345678"
#define C23 "89abcdef0123456789abcde"
#define C25 "89abcdef0123456789abcdef0"
#define BASE "containers.example.test"
#define NODE "node-us"

#define MSG_INST "instance is not 1..65535 without leading zeros"
#define MSG_HTTP "port of the http-<port> service is not 1..65535 without leading zeros"
#define MSG_PORT "port is not 1..65535 without leading zeros"
#define MSG_ID "container id is not 24 hex digits"
#define MSG_CHAR "bad character in host"
#define MSG_EMPTY "empty label"
#define MSG_DASH "label starts or ends with '-'"
#define MSG_LONG_LABEL "label longer than 63 characters"
#define MSG_LONG_HOST "host longer than 253 characters"
#define MSG_NONODE "container host without the node label"
#define MSG_UNDER_NODE "port form under a node label"
#define MSG_LABELS "too many labels under the base domain"
#define MSG_POD "expected localhost-<port>-pod-<slug>"
#define MSG_MACHINE "expected <port>__<machine>"

/* Patterns:
 * 0: BASE, node NODE, defaults (container form only, with the node label)
 * 1: example.test + BASE + other.test, no node name, every form, container
 *    also without the node label
 * 2: BASE, node NODE, container form off
 * 3: BASE and NODE written in another case with a trailing dot, port forms on */
static dp_hostpat_t pats[4];

static void init_pats(void)
{
    static const char *const b0[] = {BASE};
    static const char *const b1[] = {"example.test", BASE, "other.test"};
    static const char *const b3[] = {"Containers.Example.TEST."};
    const dp_hostpat_config_t cfg[4] = {
        {b0, 1, NODE, 0},
        {b1, 3, NULL,
         DP_HOSTPAT_PORT_POD | DP_HOSTPAT_PORT_MACHINE | DP_HOSTPAT_CONTAINER_NO_NODE},
        {b0, 1, NODE, DP_HOSTPAT_NO_CONTAINER},
        {b3, 1, "Node-US", DP_HOSTPAT_PORT_POD | DP_HOSTPAT_PORT_MACHINE},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(pats); i++) {
        const char *err = NULL;
        CHECK_INT(dp_hostpat_init(&pats[i], &cfg[i], &err), 0);
        CHECK(err == NULL);
    }
}

/* One host and everything expected of it. a, b, c by form: CONTAINER
 * project, container, service; NAME name; PORT_POD slug; PORT_MACHINE
 * machine; NOT_OURS and MALFORMED: the reason (NULL: none). NULL slices must
 * be empty. form 0 means "same as kind". */
typedef struct row {
    int pat;
    const char *in;
    dp_host_kind_t kind, form;
    const char *host, *base, *node;
    const char *a, *b, *c;
    unsigned inst, port;
} row_t;

#define CONT(pat, in, host, base, node, svc, inst, port) \
    {pat, in, DP_HOST_CONTAINER, 0, host, base, node, P, C, svc, inst, port}
#define BAD(pat, in, host, base, why) {pat, in, DP_HOST_MALFORMED, 0, host, base, NULL, why, NULL, NULL, 0, 0}
#define NOTOURS(pat, in, host, why) {pat, in, DP_HOST_NOT_OURS, 0, host, NULL, NULL, why, NULL, NULL, 0, 0}
#define NAMED(pat, in, host, base, node, name) \
    {pat, in, DP_HOST_NAME, 0, host, base, node, name, NULL, NULL, 0, 0}

#define H(label) label "." NODE "." BASE /* a first label under our node */

static const row_t rows[] = {
    /* container form: services with dashes, instance and port boundaries */
    CONT(0, H(P "-" C "-terminal-1"), H(P "-" C "-terminal-1"), BASE, NODE, "terminal", 1, 0),
    CONT(0, H(P "-" C "-display-2"), H(P "-" C "-display-2"), BASE, NODE, "display", 2, 0),
    CONT(0, H(P "-" C "-sqlite-65535"), H(P "-" C "-sqlite-65535"), BASE, NODE, "sqlite", 65535, 0),
    CONT(0, H(P "-" C "-http-8080-3"), H(P "-" C "-http-8080-3"), BASE, NODE, "http-8080", 3, 8080),
    CONT(0, H(P "-" C "-http-1-1"), H(P "-" C "-http-1-1"), BASE, NODE, "http-1", 1, 1),
    CONT(0, H(P "-" C "-http-65535-1"), H(P "-" C "-http-65535-1"), BASE, NODE, "http-65535", 1, 65535),
    CONT(0, H(P "-" C "-http-abc-1"), H(P "-" C "-http-abc-1"), BASE, NODE, "http-abc", 1, 0),
    CONT(0, H(P "-" C "-https-443-1"), H(P "-" C "-https-443-1"), BASE, NODE, "https-443", 1, 0),
    CONT(0, H(P "-" C "-my-long-svc-7"), H(P "-" C "-my-long-svc-7"), BASE, NODE, "my-long-svc", 7, 0),
    CONT(0, H(P "-" C "-8080-1"), H(P "-" C "-8080-1"), BASE, NODE, "8080", 1, 0),
    /* the LAST '-' ends the service: "http-8080" without an instance is
     * service "http", instance 8080 */
    CONT(0, H(P "-" C "-http-8080"), H(P "-" C "-http-8080"), BASE, NODE, "http", 8080, 0),
    BAD(0, H(P "-" C "-terminal-0"), H(P "-" C "-terminal-0"), BASE, MSG_INST),
    BAD(0, H(P "-" C "-terminal-01"), H(P "-" C "-terminal-01"), BASE, MSG_INST),
    BAD(0, H(P "-" C "-sqlite-65536"), H(P "-" C "-sqlite-65536"), BASE, MSG_INST),
    BAD(0, H(P "-" C "-t-100000"), H(P "-" C "-t-100000"), BASE, MSG_INST),
    BAD(0, H(P "-" C "-terminal-1a"), H(P "-" C "-terminal-1a"), BASE, MSG_INST),
    BAD(0, H(P "-" C "-http-0-1"), H(P "-" C "-http-0-1"), BASE, MSG_HTTP),
    BAD(0, H(P "-" C "-http-08080-1"), H(P "-" C "-http-08080-1"), BASE, MSG_HTTP),
    BAD(0, H(P "-" C "-http-65536-1"), H(P "-" C "-http-65536-1"), BASE, MSG_HTTP),
    BAD(0, H(P "-" C "-1"), H(P "-" C "-1"), BASE, "missing service or instance"),
    BAD(0, H(P "-" C "--1"), H(P "-" C "--1"), BASE, "empty service"),
    BAD(0, H(P "-" C "--x-1"), H(P "-" C "--x-1"), BASE, "service starts or ends with '-'"),
    BAD(0, H(P "-" C "-x--1"), H(P "-" C "-x--1"), BASE, "service starts or ends with '-'"),
    BAD(0, H(P "-" C), H(P "-" C), BASE, "missing service or instance"),
    /* 23/25 hex: the container id is checked once the project announced the
     * form; a project that is not exactly 24 hex + '-' announces nothing */
    BAD(0, H(P "-" C23 "-terminal-1"), H(P "-" C23 "-terminal-1"), BASE, MSG_ID),
    BAD(0, H(P "-" C25 "-terminal-1"), H(P "-" C25 "-terminal-1"), BASE, MSG_ID),
    BAD(0, H(P "-89abcdef0123456789abcdeg-terminal-1"), H(P "-89abcdef0123456789abcdeg-terminal-1"),
        BASE, MSG_ID),
    BAD(0, H(P "-"), H(P "-"), BASE, MSG_DASH),
    NAMED(0, H(P23 "-" C "-terminal-1"), H(P23 "-" C "-terminal-1"), BASE, NODE,
          P23 "-" C "-terminal-1"),
    NAMED(0, H(P25 "-" C "-terminal-1"), H(P25 "-" C "-terminal-1"), BASE, NODE,
          P25 "-" C "-terminal-1"),
    NAMED(0, H(P), H(P), BASE, NODE, P),
    /* normalisation: case, port, trailing dot, empty port */
    CONT(0, UP "-" UC "-Terminal-1.NODE-US.Containers.Example.TEST", H(P "-" C "-terminal-1"), BASE,
         NODE, "terminal", 1, 0),
    CONT(0, H(P "-" C "-terminal-1") ":8443", H(P "-" C "-terminal-1"), BASE, NODE, "terminal", 1, 0),
    CONT(0, H(P "-" C "-terminal-1") ".", H(P "-" C "-terminal-1"), BASE, NODE, "terminal", 1, 0),
    CONT(0, H(P "-" C "-terminal-1") ".:443", H(P "-" C "-terminal-1"), BASE, NODE, "terminal", 1, 0),
    NAMED(0, "myapp." BASE ":", "myapp." BASE, BASE, NULL, "myapp"),
    NOTOURS(0, H(P "-" C "-terminal-1") "..", NULL, MSG_EMPTY),
    NOTOURS(0, "myapp." BASE ":80a", NULL, MSG_CHAR),
    NOTOURS(0, "myapp." BASE ":80:", NULL, MSG_CHAR),
    /* node label */
    BAD(0, P "-" C "-terminal-1." BASE, P "-" C "-terminal-1." BASE, BASE, MSG_NONODE),
    {0, P "-" C "-terminal-1.node-eu." BASE, DP_HOST_WRONG_NODE, DP_HOST_CONTAINER,
     P "-" C "-terminal-1.node-eu." BASE, BASE, "node-eu", P, C, "terminal", 1, 0},
    {0, "myapp.node-eu." BASE, DP_HOST_WRONG_NODE, DP_HOST_NAME, "myapp.node-eu." BASE, BASE,
     "node-eu", "myapp", NULL, NULL, 0, 0},
    /* a malformed first label is reported before the node */
    BAD(0, P "-" C "-terminal-0.node-eu." BASE, P "-" C "-terminal-0.node-eu." BASE, BASE, MSG_INST),
    NAMED(0, "myapp." BASE, "myapp." BASE, BASE, NULL, "myapp"),
    NAMED(0, "MyApp." NODE "." BASE, "myapp." NODE "." BASE, BASE, NODE, "myapp"),
    NAMED(0, "xn--bcher-kva." BASE, "xn--bcher-kva." BASE, BASE, NULL, "xn--bcher-kva"),
    BAD(0, "a.b." NODE "." BASE, "a.b." NODE "." BASE, BASE, MSG_LABELS),
    /* not under a base domain, the apex, IPv6, empty */
    NOTOURS(0, BASE, BASE, NULL),
    NOTOURS(0, "Containers.Example.Test.:80", BASE, NULL),
    NOTOURS(0, "www.example.org", "www.example.org", NULL),
    NOTOURS(0, "WWW.Example.ORG:8080", "www.example.org", NULL),
    NOTOURS(0, "evil" BASE, "evil" BASE, NULL),
    NOTOURS(0, "myapp.node-us.other.test", "myapp.node-us.other.test", NULL),
    NOTOURS(0, "my_app.example.org", NULL, MSG_CHAR),
    NOTOURS(0, "[::1]:8080", NULL, "IPv6 literal"),
    NOTOURS(0, "[2001:db8::1]", NULL, "IPv6 literal"),
    NOTOURS(0, "", NULL, "empty host"),
    NOTOURS(0, ":80", NULL, "empty host"),
    NOTOURS(0, ".", NULL, "empty host"),
    NOTOURS(0, "10.0.0.1:80", "10.0.0.1", NULL),
    /* broken labels under the base */
    BAD(0, "a.." BASE, "a.." BASE, BASE, MSG_EMPTY),
    BAD(0, "." BASE, "." BASE, BASE, MSG_EMPTY),
    BAD(0, ".." BASE, ".." BASE, BASE, MSG_EMPTY),
    BAD(0, "my_app." BASE, "my_app." BASE, BASE, MSG_CHAR),
    BAD(0, "my app." BASE, "my app." BASE, BASE, MSG_CHAR),
    BAD(0, "caf\xc3\xa9." BASE, "caf\xc3\xa9." BASE, BASE, MSG_CHAR),
    BAD(0, "-app." BASE, "-app." BASE, BASE, MSG_DASH),
    BAD(0, "app-." NODE "." BASE, "app-." NODE "." BASE, BASE, MSG_DASH),
    BAD(0, "app.-node." BASE, "app.-node." BASE, BASE, MSG_DASH),
    BAD(0, "8080__m." BASE, "8080__m." BASE, BASE, MSG_CHAR), /* form off: '_' is just bad */
    NAMED(0, "localhost-8080-pod-x." BASE, "localhost-8080-pod-x." BASE, BASE, NULL,
          "localhost-8080-pod-x"), /* form off: a name */
    /* several base domains: the longest wins; its apex is not a name under
     * the shorter one */
    NAMED(1, "myapp." BASE, "myapp." BASE, BASE, NULL, "myapp"),
    NAMED(1, "myapp.example.test", "myapp.example.test", "example.test", NULL, "myapp"),
    NAMED(1, "myapp.other.test", "myapp.other.test", "other.test", NULL, "myapp"),
    NAMED(1, "x.y." BASE, "x.y." BASE, BASE, "y", "x"), /* no node name: any node label */
    NOTOURS(1, BASE, BASE, NULL),
    NOTOURS(1, "example.test", "example.test", NULL),
    BAD(1, "a.b.c.example.test", "a.b.c.example.test", "example.test", MSG_LABELS),
    CONT(1, P "-" C "-terminal-1.example.test", P "-" C "-terminal-1.example.test", "example.test",
         NULL, "terminal", 1, 0),
    CONT(1, P "-" C "-display-2.node-eu." BASE, P "-" C "-display-2.node-eu." BASE, BASE, "node-eu",
         "display", 2, 0),
    BAD(1, P "-" C "-a_b-1.n.example.test", P "-" C "-a_b-1.n.example.test", "example.test", MSG_CHAR),
    /* port-pod form */
    {1, "localhost-8080-pod-my-pod.example.test", DP_HOST_PORT_POD, 0,
     "localhost-8080-pod-my-pod.example.test", "example.test", NULL, "my-pod", NULL, NULL, 0, 8080},
    {1, "LOCALHOST-1-POD-A." BASE, DP_HOST_PORT_POD, 0, "localhost-1-pod-a." BASE, BASE, NULL, "a",
     NULL, NULL, 0, 1},
    {1, "localhost-65535-pod-x.example.test", DP_HOST_PORT_POD, 0,
     "localhost-65535-pod-x.example.test", "example.test", NULL, "x", NULL, NULL, 0, 65535},
    BAD(1, "localhost-0-pod-x.example.test", "localhost-0-pod-x.example.test", "example.test", MSG_PORT),
    BAD(1, "localhost-08080-pod-x.example.test", "localhost-08080-pod-x.example.test", "example.test",
        MSG_PORT),
    BAD(1, "localhost-65536-pod-x.example.test", "localhost-65536-pod-x.example.test", "example.test",
        MSG_PORT),
    BAD(1, "localhost-8080-pad-x.example.test", "localhost-8080-pad-x.example.test", "example.test",
        MSG_POD),
    BAD(1, "localhost-8080x-pod-x.example.test", "localhost-8080x-pod-x.example.test", "example.test",
        MSG_POD),
    BAD(1, "localhost-8080-pod--x.example.test", "localhost-8080-pod--x.example.test", "example.test",
        "pod slug starts with '-'"),
    BAD(1, "localhost-8080-pod-x.n.example.test", "localhost-8080-pod-x.n.example.test", "example.test",
        MSG_UNDER_NODE),
    NAMED(1, "localhost-dev.example.test", "localhost-dev.example.test", "example.test", NULL,
          "localhost-dev"),
    /* port-machine form */
    {1, "8080__build-box.example.test", DP_HOST_PORT_MACHINE, 0, "8080__build-box.example.test",
     "example.test", NULL, "build-box", NULL, NULL, 0, 8080},
    {1, "1__Build-Box.EXAMPLE.test:443", DP_HOST_PORT_MACHINE, 0, "1__build-box.example.test",
     "example.test", NULL, "build-box", NULL, NULL, 0, 1},
    {1, "65535__m.example.test", DP_HOST_PORT_MACHINE, 0, "65535__m.example.test", "example.test",
     NULL, "m", NULL, NULL, 0, 65535},
    BAD(1, "0__m.example.test", "0__m.example.test", "example.test", MSG_PORT),
    BAD(1, "080__m.example.test", "080__m.example.test", "example.test", MSG_PORT),
    BAD(1, "65536__m.example.test", "65536__m.example.test", "example.test", MSG_PORT),
    BAD(1, "__m.example.test", "__m.example.test", "example.test", MSG_PORT),
    BAD(1, "abc__m.example.test", "abc__m.example.test", "example.test", MSG_PORT),
    BAD(1, "8080_m.example.test", "8080_m.example.test", "example.test", MSG_MACHINE),
    BAD(1, "8080___m.example.test", "8080___m.example.test", "example.test", MSG_MACHINE),
    BAD(1, "8080__.example.test", "8080__.example.test", "example.test", "empty machine name"),
    BAD(1, "8080__-m.example.test", "8080__-m.example.test", "example.test",
        "machine name starts with '-'"),
    BAD(1, "8080__m.n.example.test", "8080__m.n.example.test", "example.test", MSG_UNDER_NODE),
    BAD(1, "m.x_y.example.test", "m.x_y.example.test", "example.test", MSG_CHAR),
    /* container form off: the label is a name */
    NAMED(2, H(P "-" C "-terminal-1"), H(P "-" C "-terminal-1"), BASE, NODE, P "-" C "-terminal-1"),
    NAMED(2, H(P "-" C "-terminal-0"), H(P "-" C "-terminal-0"), BASE, NODE, P "-" C "-terminal-0"),
    /* a pattern written in another case */
    CONT(3, H(P "-" C "-terminal-9"), H(P "-" C "-terminal-9"), BASE, NODE, "terminal", 9, 0),
    NAMED(3, "myapp.NODE-us.containers.example.test", "myapp." NODE "." BASE, BASE, NODE, "myapp"),
    {3, "localhost-3000-pod-web." BASE, DP_HOST_PORT_POD, 0, "localhost-3000-pod-web." BASE, BASE,
     NULL, "web", NULL, NULL, 0, 3000},
};

static int in_buf(const dp_host_result_t *r, dp_slice_t s)
{
    return s.len == 0 || (s.base >= r->buf && s.base + s.len <= r->buf + DP_HOST_MAX);
}

static void check_slice(size_t row, const char *what, dp_slice_t s, const char *want)
{
    if (want == NULL) {
        if (s.len != 0)
            fprintf(stderr, "row %zu: %s should be empty, is \"%.*s\"\n", row, what, (int)s.len,
                    s.base);
        CHECK_INT(s.len, 0);
        return;
    }
    if (strlen(want) != s.len || memcmp(s.base, want, s.len) != 0)
        fprintf(stderr, "row %zu: %s\n", row, what);
    CHECK_MEM(s.base, s.len, want);
}

static void check_row(size_t i, const row_t *t, const dp_host_result_t *r)
{
    dp_host_kind_t form = t->form ? t->form : t->kind;
    const char *reason = NULL;
    if (r->kind != t->kind)
        fprintf(stderr, "row %zu (%s): kind %s, expected %s (reason %s)\n", i, t->in,
                dp_host_kind_name(r->kind), dp_host_kind_name(t->kind),
                r->reason ? r->reason : "-");
    CHECK_INT(r->kind, t->kind);
    CHECK_INT(r->form, form);
    check_slice(i, "host", r->host, t->host);
    if (r->host.len != 0)
        CHECK(r->host.base == r->buf && r->buf[r->host.len] == '\0');
    check_slice(i, "base", r->base, t->base);
    check_slice(i, "node", r->node, t->node);
    check_slice(i, "project", r->project, form == DP_HOST_CONTAINER ? t->a : NULL);
    check_slice(i, "container", r->container, form == DP_HOST_CONTAINER ? t->b : NULL);
    check_slice(i, "service", r->service, form == DP_HOST_CONTAINER ? t->c : NULL);
    check_slice(i, "name", r->name, form == DP_HOST_NAME ? t->a : NULL);
    check_slice(i, "slug", r->slug, form == DP_HOST_PORT_POD ? t->a : NULL);
    check_slice(i, "machine", r->machine, form == DP_HOST_PORT_MACHINE ? t->a : NULL);
    CHECK_INT(r->instance, t->inst);
    CHECK_INT(r->port, t->port);
    if (t->kind == DP_HOST_NOT_OURS || t->kind == DP_HOST_MALFORMED)
        reason = t->a;
    if (reason == NULL)
        CHECK(r->reason == NULL);
    else
        CHECK_STR(r->reason, reason);
    CHECK(in_buf(r, r->host) && in_buf(r, r->base) && in_buf(r, r->node) &&
          in_buf(r, r->project) && in_buf(r, r->container) && in_buf(r, r->service) &&
          in_buf(r, r->name) && in_buf(r, r->slug) && in_buf(r, r->machine));
}

static void test_table(void)
{
    dp_host_result_t r;
    for (size_t i = 0; i < DP_ARRAY_SIZE(rows); i++) {
        const row_t *t = &rows[i];
        dp_host_kind_t k = dp_host_parse(&pats[t->pat], t->in, strlen(t->in), &r);
        CHECK_INT(k, r.kind);
        check_row(i, t, &r);
        /* the normalised host parses to the same result */
        if (r.host.len != 0) {
            char again[DP_HOST_BUFSZ];
            dp_host_result_t r2;
            memcpy(again, r.host.base, r.host.len);
            dp_host_parse(&pats[t->pat], again, r.host.len, &r2);
            check_row(i, t, &r2);
        }
    }
    printf("%zu table rows\n", DP_ARRAY_SIZE(rows));
}

/* a label of n characters: "a", then digits, ending in 'z' */
static size_t put_label(char *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = i == 0 ? 'a' : i == n - 1 ? 'z' : (char)('0' + i % 10);
    return n;
}

static void test_lengths(void)
{
    char h[600];
    dp_host_result_t r;
    size_t n;

    /* a 63-char label is a name, 64 is malformed */
    n = put_label(h, 63);
    memcpy(h + n, "." BASE, sizeof("." BASE));
    CHECK_INT(dp_host_parse(&pats[0], h, strlen(h), &r), DP_HOST_NAME);
    CHECK_INT(r.name.len, 63);
    n = put_label(h, 64);
    memcpy(h + n, "." BASE, sizeof("." BASE));
    CHECK_INT(dp_host_parse(&pats[0], h, strlen(h), &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LONG_LABEL);
    /* ... also as the node label */
    n = put_label(h, 64);
    memmove(h + 4, h, n);
    memcpy(h, "app.", 4);
    memcpy(h + 4 + n, "." BASE, sizeof("." BASE));
    CHECK_INT(dp_host_parse(&pats[1], h, strlen(h), &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LONG_LABEL);
    /* ... and not under a base: not a hostname, so no host to look up */
    n = put_label(h, 64);
    memcpy(h + n, ".example.org", sizeof(".example.org"));
    CHECK_INT(dp_host_parse(&pats[0], h, strlen(h), &r), DP_HOST_NOT_OURS);
    CHECK_INT(r.host.len, 0);
    CHECK_STR(r.reason, MSG_LONG_LABEL);

    /* the 63-char limit covers the whole <port>__<machine> label */
    memcpy(h, "8080__", 6);
    n = 6 + put_label(h + 6, 57);
    memcpy(h + n, ".example.test", sizeof(".example.test"));
    CHECK_INT(dp_host_parse(&pats[1], h, strlen(h), &r), DP_HOST_PORT_MACHINE);
    CHECK_INT(r.machine.len, 57);
    n = 6 + put_label(h + 6, 58);
    memcpy(h + n, ".example.test", sizeof(".example.test"));
    CHECK_INT(dp_host_parse(&pats[1], h, strlen(h), &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LONG_LABEL);

    /* not ours: 253 chars is a hostname, 254 is not; 254 with the trailing
     * dot is 253 */
    n = 0;
    for (int i = 0; i < 4; i++) {
        n += put_label(h + n, 62);
        h[n++] = '.';
    }
    n += put_label(h + n, 1); /* 4 * 63 + 1 = 253 */
    CHECK_INT(n, 253);
    CHECK_INT(dp_host_parse(&pats[0], h, n, &r), DP_HOST_NOT_OURS);
    CHECK_INT(r.host.len, 253);
    CHECK(r.reason == NULL);
    h[n] = '.';
    CHECK_INT(dp_host_parse(&pats[0], h, n + 1, &r), DP_HOST_NOT_OURS);
    CHECK_INT(r.host.len, 253);
    h[n] = 'b';
    CHECK_INT(dp_host_parse(&pats[0], h, n + 1, &r), DP_HOST_NOT_OURS);
    CHECK_INT(r.host.len, 0);
    CHECK_STR(r.reason, MSG_LONG_HOST);

    /* under a base: 254 is too long (decided on the raw input, in any case),
     * 253 is parsed (here: too many labels) */
    n = 0;
    for (int i = 0; i < 3; i++) {
        n += put_label(h + n, 63);
        h[n++] = '.';
    }
    n += put_label(h + n, 253 - n - sizeof("." BASE) + 1);
    memcpy(h + n, ".CONTAINERS.example.TEST", sizeof("." BASE));
    n += sizeof("." BASE) - 1;
    CHECK_INT(n, 253);
    CHECK_INT(dp_host_parse(&pats[0], h, n, &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LABELS);
    CHECK_INT(r.host.len, 253);
    memmove(h + 1, h, n);
    h[0] = 'q';
    CHECK_INT(dp_host_parse(&pats[0], h, n + 1, &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LONG_HOST);
    CHECK_INT(r.host.len, 0);
    CHECK_INT(r.base.len, 0);
    memcpy(h + n + 1, ":8080", 6);
    CHECK_INT(dp_host_parse(&pats[0], h, n + 6, &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_LONG_HOST);

    /* a 251-char base: "a.<base>" is 253 and a name, "ab.<base>" is 254 */
    {
        char base[260];
        const char *bases[1] = {base};
        dp_hostpat_config_t cfg = {bases, 1, NULL, 0};
        dp_hostpat_t pat;
        const char *err = NULL;
        size_t bn = 0;
        for (int i = 0; i < 3; i++) {
            bn += put_label(base + bn, 63);
            base[bn++] = '.';
        }
        bn += put_label(base + bn, 251 - bn);
        base[bn] = '\0';
        CHECK_INT(bn, 251);
        CHECK_INT(dp_hostpat_init(&pat, &cfg, &err), 0);
        n = (size_t)snprintf(h, sizeof(h), "a.%s", base);
        CHECK_INT(dp_host_parse(&pat, h, n, &r), DP_HOST_NAME);
        CHECK_INT(r.host.len, 253);
        CHECK_MEM(r.name.base, r.name.len, "a");
        n = (size_t)snprintf(h, sizeof(h), "ab.%s", base);
        CHECK_INT(dp_host_parse(&pat, h, n, &r), DP_HOST_MALFORMED);
        CHECK_STR(r.reason, MSG_LONG_HOST);
        /* 252 chars leave no room for a label */
        base[bn] = 'x';
        base[bn + 1] = '\0';
        CHECK_INT(dp_hostpat_init(&pat, &cfg, &err), DP_EINVAL);
    }
}

static void test_raw_bytes(void)
{
    dp_host_result_t r;
    static const char nul[] = "my\0app." BASE;
    static const char tail[] = "myapp." BASE "XYZ";
    /* a NUL inside is a bad character, not the end */
    CHECK_INT(dp_host_parse(&pats[0], nul, sizeof(nul) - 1, &r), DP_HOST_MALFORMED);
    CHECK_STR(r.reason, MSG_CHAR);
    /* only len bytes are read */
    CHECK_INT(dp_host_parse(&pats[0], tail, sizeof(tail) - 4, &r), DP_HOST_NAME);
    CHECK_MEM(r.name.base, r.name.len, "myapp");
    /* the result is reusable: nothing of a previous parse survives */
    dp_host_parse(&pats[0], H(P "-" C "-http-8080-1"), strlen(H(P "-" C "-http-8080-1")), &r);
    CHECK_INT(r.port, 8080);
    CHECK_INT(dp_host_parse(&pats[0], "a." BASE, strlen("a." BASE), &r), DP_HOST_NAME);
    CHECK_INT(r.port, 0);
    CHECK_INT(r.instance, 0);
    CHECK_INT(r.service.len, 0);
    CHECK_INT(r.project.len, 0);
}

static void test_normalise(void)
{
    char out[DP_HOST_BUFSZ], small[4], h[300];
    size_t n = 0;
    CHECK_INT(dp_host_normalise("WWW.Example.ORG:8080", 20, out, sizeof(out)), 15);
    CHECK_STR(out, "www.example.org");
    CHECK_INT(dp_host_normalise("Shop.Example.COM.", 17, out, sizeof(out)), 16);
    CHECK_STR(out, "shop.example.com");
    CHECK_INT(dp_host_normalise("a", 1, out, sizeof(out)), 1);
    CHECK_STR(out, "a");
    CHECK_INT(dp_host_normalise("", 0, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise(".", 1, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("[::1]:80", 8, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("a_b.com", 7, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("a..com", 6, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("-a.com", 6, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("a.com:x", 7, out, sizeof(out)), DP_EINVAL);
    CHECK_INT(dp_host_normalise("abcd.com", 8, small, sizeof(small)), DP_ERR);
    CHECK_INT(dp_host_normalise("abc", 3, small, sizeof(small)), 3);
    CHECK_STR(small, "abc");
    for (int i = 0; i < 4; i++) {
        n += put_label(h + n, 62);
        h[n++] = '.';
    }
    n += put_label(h + n, 1);
    CHECK_INT(dp_host_normalise(h, n, out, sizeof(out)), 253);
    h[n] = 'b';
    CHECK_INT(dp_host_normalise(h, n + 1, out, sizeof(out)), DP_EINVAL);
}

static void test_init(void)
{
    static const char *const one[] = {BASE};
    static const char *const nine[] = {"a.t", "b.t", "c.t", "d.t", "e.t", "f.t", "g.t", "h.t", "i.t"};
    static const char *const eight[] = {"a.t", "b.t", "c.t", "d.t", "e.t", "f.t", "g.t", "h.t"};
    static const char *const spaced[] = {"exa mple.test"};
    static const char *const ported[] = {"example.test:443"};
    static const char *const dup[] = {"example.test", "Example.TEST."};
    static const char *const nul[] = {NULL};
    static const char *const order[] = {"t", "example.t", "a.example.t"};
    dp_hostpat_t pat;
    const char *err;
    char node64[65];
    dp_hostpat_config_t cfg;

#define INIT_FAILS(bases_, nb_, node_, flags_, msg)                        \
    do {                                                                   \
        cfg = (dp_hostpat_config_t){bases_, nb_, node_, flags_};           \
        err = NULL;                                                        \
        CHECK_INT(dp_hostpat_init(&pat, &cfg, &err), DP_EINVAL);           \
        CHECK_STR(err, msg);                                               \
    } while (0)
    INIT_FAILS(NULL, 0, NULL, 0, "no base domain");
    INIT_FAILS(one, 0, NULL, 0, "no base domain");
    INIT_FAILS(nine, 9, NULL, 0, "too many base domains (at most 8)");
    INIT_FAILS(spaced, 1, NULL, 0, "base domain is not a valid hostname");
    INIT_FAILS(ported, 1, NULL, 0, "base domain is not a valid hostname");
    INIT_FAILS(nul, 1, NULL, 0, "base domain is not a valid hostname");
    INIT_FAILS(dup, 2, NULL, 0, "duplicate base domain");
    INIT_FAILS(one, 1, "node.us", 0, "node name is not one valid label");
    INIT_FAILS(one, 1, "-node", 0, "node name is not one valid label");
    INIT_FAILS(one, 1, "node_us", 0, "node name is not one valid label");
    INIT_FAILS(one, 1, NULL, 1u << 7, "unknown host pattern flag");
    memset(node64, 'n', 64);
    node64[64] = '\0';
    INIT_FAILS(one, 1, node64, 0, "node name is not one valid label");
    node64[63] = '\0';
    cfg = (dp_hostpat_config_t){one, 1, node64, 0};
    CHECK_INT(dp_hostpat_init(&pat, &cfg, NULL), 0);
    CHECK_INT(pat.node_len, 63);
    cfg = (dp_hostpat_config_t){eight, 8, "", 0};
    CHECK_INT(dp_hostpat_init(&pat, &cfg, NULL), 0);
    CHECK_INT(pat.nbases, 8);
    CHECK_INT(pat.node_len, 0);
    /* kept longest first whatever the order given */
    cfg = (dp_hostpat_config_t){order, 3, NULL, 0};
    CHECK_INT(dp_hostpat_init(&pat, &cfg, NULL), 0);
    CHECK_STR(pat.bases[0].name, "a.example.t");
    CHECK_STR(pat.bases[1].name, "example.t");
    CHECK_STR(pat.bases[2].name, "t");
    {
        dp_host_result_t r;
        CHECK_INT(dp_host_parse(&pat, "x.a.example.t", 13, &r), DP_HOST_NAME);
        CHECK_MEM(r.base.base, r.base.len, "a.example.t");
        CHECK_INT(dp_host_parse(&pat, "x.b.example.t", 13, &r), DP_HOST_NAME);
        CHECK_MEM(r.base.base, r.base.len, "example.t");
        CHECK_MEM(r.node.base, r.node.len, "b");
    }
#undef INIT_FAILS
}

static void test_names(void)
{
    CHECK_STR(dp_host_kind_name(DP_HOST_NOT_OURS), "not_ours");
    CHECK_STR(dp_host_kind_name(DP_HOST_CONTAINER), "container");
    CHECK_STR(dp_host_kind_name(DP_HOST_WRONG_NODE), "wrong_node");
    CHECK_STR(dp_host_kind_name(DP_HOST_MALFORMED), "malformed");
    CHECK_STR(dp_host_kind_name((dp_host_kind_t)99), "?");
}

int main(void)
{
    init_pats();
    test_table();
    test_lengths();
    test_raw_bytes();
    test_normalise();
    test_init();
    test_names();
    TEST_DONE();
}
