/* Header list operations and Envoy's header mutation semantics. */
#include "dataplane/http/headers.h"

#include <stdio.h>
#include <string.h>

#include "test.h"

#define S(lit) DP_SLICE_LIT(lit)

/* Renders the list as "name=value;name=value" for compact assertions. */
static const char *dump(const dp_headers_t *h)
{
    static char buf[1024];
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < h->n && o < sizeof(buf); i++) {
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%.*s=%.*s", i ? ";" : "", (int)h->v[i].name.len,
                              h->v[i].name.base, (int)h->v[i].value.len, h->v[i].value.base);
    }
    return buf;
}

static void base_headers(dp_headers_t *h)
{
    dp_headers_clear(h);
    dp_headers_add(h, S("a"), S("1"));
    dp_headers_add(h, S("b"), S("1"));
    dp_headers_add(h, S("b"), S("2"));
}

static void test_list_ops(void)
{
    dp_headers_t h = {0};
    CHECK_INT(dp_headers_find(&h, "x", 1, 0), -1);
    CHECK(dp_headers_get(&h, "x", 1) == NULL);

    /* Grow past the initial capacity; names not NUL-terminated. */
    const char names[] = "hostxyz";
    for (int i = 0; i < 40; i++)
        dp_headers_add(&h, dp_slice(names + (i % 2 ? 4 : 0), i % 2 ? 3 : 4), S("v"));
    CHECK_INT(h.n, 40);
    CHECK(h.cap >= 40);
    CHECK_INT(dp_headers_count(&h, "host", 4), 20);
    CHECK_INT(dp_headers_count(&h, "xyz", 3), 20);
    CHECK_INT(dp_headers_count(&h, "hos", 3), 0);
    CHECK_INT(dp_headers_find(&h, "xyz", 3, 0), 1);
    CHECK_INT(dp_headers_find(&h, "xyz", 3, 2), 3);
    CHECK_INT(dp_headers_find(&h, "xyz", 3, 40), -1);
    CHECK_INT(dp_headers_remove(&h, "host", 4), 20);
    CHECK_INT(h.n, 20);
    CHECK_INT(dp_headers_find(&h, "host", 4, 0), -1);
    dp_headers_free(&h);
    CHECK(h.v == NULL && h.n == 0 && h.cap == 0);

    dp_headers_add(&h, S("a"), S("1"));
    dp_headers_add(&h, S("b"), S("1"));
    dp_headers_add(&h, S("a"), S("2"));
    dp_headers_add(&h, S("c"), S("1"));
    dp_headers_add(&h, S("a"), S("3"));
    const dp_slice_t *v = dp_headers_get(&h, "a", 1);
    CHECK(v != NULL);
    if (v)
        CHECK_MEM(v->base, v->len, "1");
    /* set: first occurrence in place, later ones removed, order kept */
    dp_headers_set(&h, S("a"), S("9"));
    CHECK_STR(dump(&h), "a=9;b=1;c=1");
    dp_headers_set(&h, S("d"), S("4"));
    CHECK_STR(dump(&h), "a=9;b=1;c=1;d=4");
    CHECK_INT(dp_headers_remove(&h, "b", 1), 1);
    CHECK_INT(dp_headers_remove(&h, "b", 1), 0);
    CHECK_STR(dump(&h), "a=9;c=1;d=4");
    dp_headers_free(&h);
}

typedef struct mut_case {
    const char *what;
    dp_hdr_add_t add[3];
    size_t n_add;
    char *remove[2];
    size_t n_remove;
    const char *want; /* after applying to base_headers() */
} mut_case_t;

#define ADD(n, v, act) {(char *)(n), (char *)(v), (act), false}
#define ADDK(n, v, act) {(char *)(n), (char *)(v), (act), true}

static const mut_case_t mut_cases[] = {
    {"append adds another line", {ADD("a", "2", DP_APPEND_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=1;b=2;a=2"},
    {"append adds a new name", {ADD("c", "3", DP_APPEND_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=1;b=2;c=3"},
    {"add_if_absent, present", {ADD("a", "x", DP_ADD_IF_ABSENT)}, 1, {0}, 0, "a=1;b=1;b=2"},
    {"add_if_absent, absent", {ADD("c", "3", DP_ADD_IF_ABSENT)}, 1, {0}, 0, "a=1;b=1;b=2;c=3"},
    {"overwrite_or_add, repeated name", {ADD("b", "9", DP_OVERWRITE_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=9"},
    {"overwrite_or_add, absent", {ADD("d", "4", DP_OVERWRITE_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=1;b=2;d=4"},
    {"overwrite_if_exists, present", {ADD("a", "7", DP_OVERWRITE_IF_EXISTS)}, 1, {0}, 0, "a=7;b=1;b=2"},
    {"overwrite_if_exists, absent", {ADD("e", "5", DP_OVERWRITE_IF_EXISTS)}, 1, {0}, 0, "a=1;b=1;b=2"},
    {"empty value skipped", {ADD("f", "", DP_APPEND_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=1;b=2"},
    {"empty value skipped on overwrite", {ADD("a", "", DP_OVERWRITE_IF_EXISTS_OR_ADD)}, 1, {0}, 0,
     "a=1;b=1;b=2"},
    {"empty value kept", {ADDK("f", "", DP_APPEND_IF_EXISTS_OR_ADD)}, 1, {0}, 0, "a=1;b=1;b=2;f="},
    {"empty value kept on overwrite", {ADDK("a", "", DP_OVERWRITE_IF_EXISTS)}, 1, {0}, 0, "a=;b=1;b=2"},
    {"remove", {{0}}, 0, {"b"}, 1, "a=1"},
    {"remove then add_if_absent", {ADD("a", "new", DP_ADD_IF_ABSENT)}, 1, {"a"}, 1, "b=1;b=2;a=new"},
    {"remove then overwrite_if_exists", {ADD("a", "new", DP_OVERWRITE_IF_EXISTS)}, 1, {"a"}, 1, "b=1;b=2"},
    {"remove then append", {ADD("b", "3", DP_APPEND_IF_EXISTS_OR_ADD)}, 1, {"b", "a"}, 2, "b=3"},
    /* Decisions are taken before any addition of the level: */
    {"add_if_absent sees the state before overwrites",
     {ADD("g", "1", DP_OVERWRITE_IF_EXISTS_OR_ADD), ADD("g", "2", DP_ADD_IF_ABSENT)}, 2, {0}, 0,
     "a=1;b=1;b=2;g=1;g=2"},
    {"overwrite_if_exists sees the state before overwrites",
     {ADD("h", "1", DP_OVERWRITE_IF_EXISTS_OR_ADD), ADD("h", "2", DP_OVERWRITE_IF_EXISTS)}, 2, {0}, 0,
     "a=1;b=1;b=2;h=1"},
    {"two add_if_absent of an absent name both add",
     {ADD("k", "1", DP_ADD_IF_ABSENT), ADD("k", "2", DP_ADD_IF_ABSENT)}, 2, {0}, 0, "a=1;b=1;b=2;k=1;k=2"},
    /* Overwrites are applied before appends, whatever the config order. */
    {"overwrites before appends",
     {ADD("i", "a", DP_APPEND_IF_EXISTS_OR_ADD), ADD("i", "b", DP_OVERWRITE_IF_EXISTS_OR_ADD)}, 2, {0}, 0,
     "a=1;b=1;b=2;i=b;i=a"},
    {"last overwrite wins",
     {ADD("b", "x", DP_OVERWRITE_IF_EXISTS_OR_ADD), ADD("b", "y", DP_OVERWRITE_IF_EXISTS),
      ADD("a", "z", DP_ADD_IF_ABSENT)},
     3, {0}, 0, "a=1;b=y"},
};

static void test_mutations(void)
{
    dp_headers_t h = {0};
    for (size_t i = 0; i < DP_ARRAY_SIZE(mut_cases); i++) {
        const mut_case_t *c = &mut_cases[i];
        dp_hdr_mutations_t m = {(dp_hdr_add_t *)c->add, c->n_add, (char **)c->remove, c->n_remove};
        base_headers(&h);
        dp_headers_apply_mutations(&h, &m);
        const char *got = dump(&h);
        if (strcmp(got, c->want) != 0)
            fprintf(stderr, "case '%s'\n", c->what);
        CHECK_STR(got, c->want);
    }
    base_headers(&h);
    dp_headers_apply_mutations(&h, NULL);
    CHECK_STR(dump(&h), "a=1;b=1;b=2");

    /* Levels applied one after the other (route, then vhost, then route
     * config, as the router does): the outer level wins an overwrite. */
    dp_hdr_add_t inner_add[] = {ADD("x-level", "route", DP_OVERWRITE_IF_EXISTS_OR_ADD)};
    dp_hdr_add_t outer_add[] = {ADD("x-level", "vhost", DP_OVERWRITE_IF_EXISTS_OR_ADD)};
    dp_hdr_mutations_t inner = {inner_add, 1, NULL, 0}, outer = {outer_add, 1, NULL, 0};
    dp_headers_clear(&h);
    dp_headers_apply_mutations(&h, &inner);
    dp_headers_apply_mutations(&h, &outer);
    CHECK_STR(dump(&h), "x-level=vhost");
    dp_headers_free(&h);
}

static bool drop_b(dp_slice_t n)
{
    return n.len == 1 && n.base[0] == 'b';
}

/* The hop-by-hop set (RFC 9110 7.6.1), and removal by predicate. */
static void test_hop_by_hop(void)
{
    static const char *const hop[] = {"connection", "keep-alive", "proxy-connection", "transfer-encoding",
                                      "upgrade", "te"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        CHECK(dp_headers_hop_by_hop((dp_slice_t){(char *)hop[i], strlen(hop[i])}));
    static const char *const end_to_end[] = {"host", "content-length", "trailer", "expect", "t", "tex",
                                             "connectio", "keep-alive2", "x-upgrade", ""};
    for (size_t i = 0; i < sizeof(end_to_end) / sizeof(end_to_end[0]); i++)
        CHECK(!dp_headers_hop_by_hop((dp_slice_t){(char *)end_to_end[i], strlen(end_to_end[i])}));

    dp_headers_t h = {0};
    base_headers(&h);
    dp_headers_add(&h, S("c"), S("3"));
    dp_headers_add(&h, S("b"), S("4"));
    CHECK_INT(dp_headers_remove_if(&h, drop_b), 3);
    CHECK_STR(dump(&h), "a=1;c=3");
    CHECK_INT(dp_headers_remove_if(&h, drop_b), 0);
    dp_headers_free(&h);
}

int main(void)
{
    test_list_ops();
    test_mutations();
    test_hop_by_hop();
    TEST_DONE();
}
