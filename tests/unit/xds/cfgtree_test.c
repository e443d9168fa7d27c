/* xds/cfgtree: YAML and JSON text -> node tree with positions. */
#include "xds/cfgtree.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "test.h"

static char err[512];

static dp_cfgnode_t *parse(const char *text)
{
    dp_cfgnode_t *root = NULL;
    int rc = dp_cfgtree_parse(text, strlen(text), "t.yaml", &root, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "unexpected parse error: %s\n", err);
    return root;
}

/* Parses text expecting failure; returns the rc. */
static int parse_fail(const char *text)
{
    dp_cfgnode_t *root = (dp_cfgnode_t *)1;
    int rc = dp_cfgtree_parse(text, strlen(text), "t.yaml", &root, err, sizeof(err));
    CHECK(root == NULL);
    dp_cfgtree_free(rc == 0 ? root : NULL);
    return rc;
}

#define CHECK_ERR(text, substr)                                                                              \
    do {                                                                                                     \
        CHECK_INT(parse_fail(text), DP_EINVAL);                                                              \
        if (strstr(err, (substr)) == NULL) {                                                                 \
            fprintf(stderr, "error \"%s\" lacks \"%s\"\n", err, (substr));                                   \
            CHECK(0);                                                                                        \
        } else {                                                                                             \
            CHECK(1);                                                                                        \
        }                                                                                                    \
    } while (0)

static void test_yaml_basic(void)
{
    dp_cfgnode_t *r = parse("admin:\n"
                            "  port: 9901\n"
                            "  name: 'quoted'\n"
                            "list:\n"
                            "  - a\n"
                            "  - {x: 1}\n"
                            "  - [1, 2]\n"
                            "text: |\n"
                            "  line1\n"
                            "  line2\n"
                            "tagged: !!str 5\n"
                            "nothing:\n");
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_INT(r->kind, DP_CFG_MAP);
    CHECK_INT(r->n, 5);
    CHECK_STR(r->pairs[0].key->str, "admin");
    CHECK_INT(r->pairs[0].key->line, 1);
    CHECK_INT(r->pairs[0].key->col, 1);
    const dp_cfgnode_t *admin = dp_cfgtree_get(r, "admin");
    CHECK(admin && admin->kind == DP_CFG_MAP);
    const dp_cfgnode_t *port = dp_cfgtree_get(admin, "port");
    CHECK(port && port->kind == DP_CFG_SCALAR && port->style == DP_CFG_PLAIN);
    CHECK_MEM(port->str, port->len, "9901");
    CHECK_INT(port->line, 2);
    CHECK_INT(port->col, 9);
    const dp_cfgnode_t *name = dp_cfgtree_get(admin, "name");
    CHECK_STR(name->str, "quoted");
    CHECK_INT(name->style, DP_CFG_QUOTED);
    const dp_cfgnode_t *list = dp_cfgtree_get(r, "list");
    CHECK_INT(list->kind, DP_CFG_SEQ);
    CHECK_INT(list->n, 3);
    CHECK_STR(list->items[0]->str, "a");
    CHECK_INT(list->items[0]->line, 5);
    CHECK_INT(list->items[1]->kind, DP_CFG_MAP);
    CHECK_STR(dp_cfgtree_get(list->items[1], "x")->str, "1");
    CHECK_INT(list->items[2]->kind, DP_CFG_SEQ);
    CHECK_STR(list->items[2]->items[1]->str, "2");
    CHECK_INT(list->items[2]->items[1]->line, 7);
    CHECK_INT(list->items[2]->items[1]->col, 9);
    const dp_cfgnode_t *text = dp_cfgtree_get(r, "text");
    CHECK_STR(text->str, "line1\nline2\n");
    CHECK_INT(text->style, DP_CFG_BLOCK);
    const dp_cfgnode_t *tagged = dp_cfgtree_get(r, "tagged");
    CHECK_STR(tagged->tag, "tag:yaml.org,2002:str");
    CHECK(!dp_cfgtree_is_null(tagged));
    const dp_cfgnode_t *nothing = dp_cfgtree_get(r, "nothing");
    CHECK(nothing && dp_cfgtree_is_null(nothing));
    CHECK_STR(dp_cfgtree_kind_name(nothing), "null");
    CHECK_STR(dp_cfgtree_kind_name(list), "sequence");
    CHECK(dp_cfgtree_get(r, "missing") == NULL);
    CHECK(dp_cfgtree_get(port, "x") == NULL);
    dp_cfgtree_free(r);
}

static void test_null_forms(void)
{
    dp_cfgnode_t *r = parse("a: null\nb: ~\nc:\nd: 'null'\ne: NULL\nf: nul\ng: !!null null\n");
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "a")));
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "b")));
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "c")));
    CHECK(!dp_cfgtree_is_null(dp_cfgtree_get(r, "d")));
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "e")));
    CHECK(!dp_cfgtree_is_null(dp_cfgtree_get(r, "f")));
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "g")));
    dp_cfgtree_free(r);

    /* Empty input and comment-only input: one null scalar. */
    r = parse("");
    CHECK(r && dp_cfgtree_is_null(r) && r->line == 1);
    dp_cfgtree_free(r);
    r = parse("# just a comment\n");
    CHECK(r && dp_cfgtree_is_null(r));
    dp_cfgtree_free(r);
}

static void test_json(void)
{
    const char *json = "{\n"
                       "  \"name\": \"caf\\u00e9 \\\"q\\\" \\\\ \\/ \\n\\t\",\n"
                       "  \"num\": -12.5e3,\n"
                       "  \"int\": 42,\n"
                       "  \"yes\": true, \"no\": false, \"nil\": null,\n"
                       "  \"nested\": {\"arr\": [1, \"two\", {\"three\": [3]}, [], {}]},\n"
                       "\t\"tab\": 1\n"
                       "}\n";
    dp_cfgnode_t *r = parse(json);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_INT(r->kind, DP_CFG_MAP);
    CHECK_INT(r->n, 8);
    const dp_cfgnode_t *name = dp_cfgtree_get(r, "name");
    CHECK_STR(name->str, "caf\xc3\xa9 \"q\" \\ / \n\t");
    CHECK_INT(name->style, DP_CFG_QUOTED);
    CHECK_INT(name->line, 2);
    CHECK_INT(name->col, 11);
    CHECK_STR(r->pairs[0].key->str, "name");
    CHECK_INT(r->pairs[0].key->style, DP_CFG_QUOTED);
    const dp_cfgnode_t *num = dp_cfgtree_get(r, "num");
    CHECK_STR(num->str, "-12.5e3");
    CHECK_INT(num->style, DP_CFG_PLAIN);
    CHECK_STR(dp_cfgtree_get(r, "int")->str, "42");
    CHECK_STR(dp_cfgtree_get(r, "yes")->str, "true");
    CHECK_STR(dp_cfgtree_get(r, "no")->str, "false");
    CHECK(dp_cfgtree_is_null(dp_cfgtree_get(r, "nil")));
    const dp_cfgnode_t *arr = dp_cfgtree_get(dp_cfgtree_get(r, "nested"), "arr");
    CHECK(arr && arr->kind == DP_CFG_SEQ && arr->n == 5);
    CHECK_STR(arr->items[1]->str, "two");
    CHECK_INT(arr->items[2]->kind, DP_CFG_MAP);
    CHECK_STR(dp_cfgtree_get(arr->items[2], "three")->items[0]->str, "3");
    CHECK_INT(arr->items[3]->kind, DP_CFG_SEQ);
    CHECK_INT(arr->items[3]->n, 0);
    CHECK_INT(arr->items[4]->kind, DP_CFG_MAP);
    CHECK_INT(arr->items[4]->n, 0);
    CHECK_INT(arr->line, 6);
    CHECK_STR(dp_cfgtree_get(r, "tab")->str, "1");
    dp_cfgtree_free(r);

    /* Compact JSON with no spaces after ':' (YAML 1.2 adjacent values). */
    r = parse("{\"a\":{\"b\":[1,2,3]},\"c\":\"d\"}");
    CHECK(r && r->n == 2);
    if (r) {
        CHECK_INT(dp_cfgtree_get(dp_cfgtree_get(r, "a"), "b")->n, 3);
        CHECK_STR(dp_cfgtree_get(r, "c")->str, "d");
        CHECK_INT(dp_cfgtree_get(r, "c")->col, 24);
    }
    dp_cfgtree_free(r);

    /* A NUL escape keeps the scalar length. */
    r = parse("{\"a\": \"x\\u0000y\"}");
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(dp_cfgtree_get(r, "a")->len, 3);
        CHECK(memcmp(dp_cfgtree_get(r, "a")->str, "x\0y", 3) == 0);
    }
    dp_cfgtree_free(r);

    /* Top-level scalar and array. */
    r = parse("[1, {\"a\": null}]");
    CHECK(r && r->kind == DP_CFG_SEQ && r->n == 2);
    dp_cfgtree_free(r);
    r = parse("\"just a string\"");
    CHECK(r && r->kind == DP_CFG_SCALAR);
    if (r)
        CHECK_STR(r->str, "just a string");
    dp_cfgtree_free(r);

    /* Documented caveats: libyaml rejects UTF-16 surrogate escapes, and
     * accepts a trailing comma. */
    CHECK_ERR("{\"s\": \"\\ud83d\\ude00\"}", "t.yaml:1:");
    r = parse("{\"s\": \"\\U0001F600\"}");
    CHECK(r && strcmp(dp_cfgtree_get(r, "s")->str, "\xf0\x9f\x98\x80") == 0);
    dp_cfgtree_free(r);
    r = parse("[1, 2,]");
    CHECK(r && r->n == 2);
    dp_cfgtree_free(r);
}

static void test_errors(void)
{
    CHECK_ERR("a: 1\nb: 2\na: 3\n", "t.yaml:3:1: duplicate key \"a\" (first at line 1)");
    CHECK_ERR("{\"a\": 1,\n \"a\": 2}", "t.yaml:2:2: duplicate key \"a\"");
    CHECK_ERR("x:\n  'k': 1\n  k: 2\n", "t.yaml:3:3: duplicate key \"k\"");
    CHECK_ERR("a: 1\n---\nb: 2\n", "t.yaml:2:1: multiple YAML documents are not supported");
    CHECK_ERR("a:\n  b: 1\n c: 2\n", "t.yaml:3:");
    CHECK_ERR("{\"a\": 1\n \"b\": 2}", "t.yaml:2:5: did not find expected ',' or '}'");
    CHECK_ERR("a: [1, 2\n", "t.yaml:2:1:");
    CHECK_ERR("a: \"unterminated\n", "t.yaml:2:1: found unexpected end of stream");
    CHECK_ERR("? [a, b]\n: c\n", "t.yaml:1:3: map keys must be scalars, got a sequence");
    CHECK_ERR("a: *nope\n", "t.yaml:1:4: unknown anchor *nope");
    CHECK_ERR("a: &x [1, *x]\n", "t.yaml:1:11: alias *x refers to a node that contains it");
    CHECK_ERR("a: \xff\n", "t.yaml:1:4: invalid leading UTF-8 octet");
    CHECK_ERR("<<: 5\n", "t.yaml:1:5: the value of a merge key (<<) must be a map");

    /* Nesting limit. */
    char deep[600];
    memset(deep, '[', 250);
    memset(deep + 250, ']', 250);
    deep[500] = '\0';
    CHECK_ERR(deep, "nesting deeper than 200 levels");

    /* Alias expansion ("billion laughs") is capped. */
    const char *laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                         "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                         "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                         "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                         "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                         "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    CHECK_ERR(laughs, "aliases expand to more than 200000 nodes");

    /* No filename: "<input>". */
    dp_cfgnode_t *root;
    CHECK_INT(dp_cfgtree_parse("a: [", 4, NULL, &root, err, sizeof(err)), DP_EINVAL);
    CHECK(strncmp(err, "<input>:", 8) == 0);
    /* errlen 0 is allowed. */
    CHECK_INT(dp_cfgtree_parse("a: [", 4, NULL, &root, NULL, 0), DP_EINVAL);
}

static void test_anchors_merge_ignore(void)
{
    dp_cfgnode_t *r = parse("base: &base\n"
                            "  timeout: 1s\n"
                            "  retries: 3\n"
                            "copy: *base\n"
                            "derived:\n"
                            "  <<: *base\n"
                            "  retries: 5\n"
                            "multi:\n"
                            "  <<: [{a: 1, b: 1}, {b: 2, c: 2}]\n"
                            "  c: 3\n"
                            "!ignore hidden: &h {secret: 1}\n"
                            "shown: *h\n"
                            "s: &s scalar\n"
                            "t: *s\n");
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK(dp_cfgtree_get(r, "hidden") == NULL);
    CHECK_INT(r->n, 7);
    const dp_cfgnode_t *copy = dp_cfgtree_get(r, "copy");
    CHECK(copy && copy->kind == DP_CFG_MAP && copy->n == 2);
    CHECK_STR(dp_cfgtree_get(copy, "timeout")->str, "1s");
    /* Copies keep the anchored node's positions. */
    CHECK_INT(dp_cfgtree_get(copy, "timeout")->line, 2);
    CHECK(copy != dp_cfgtree_get(r, "base"));
    const dp_cfgnode_t *derived = dp_cfgtree_get(r, "derived");
    CHECK_INT(derived->n, 2);
    CHECK_STR(dp_cfgtree_get(derived, "retries")->str, "5");
    CHECK_STR(dp_cfgtree_get(derived, "timeout")->str, "1s");
    CHECK(dp_cfgtree_get(derived, "<<") == NULL);
    const dp_cfgnode_t *multi = dp_cfgtree_get(r, "multi");
    CHECK_INT(multi->n, 3);
    CHECK_STR(dp_cfgtree_get(multi, "a")->str, "1");
    CHECK_STR(dp_cfgtree_get(multi, "b")->str, "1"); /* earlier map wins */
    CHECK_STR(dp_cfgtree_get(multi, "c")->str, "3"); /* explicit key wins */
    CHECK_STR(dp_cfgtree_get(dp_cfgtree_get(r, "shown"), "secret")->str, "1");
    CHECK_STR(dp_cfgtree_get(r, "t")->str, "scalar");
    dp_cfgtree_free(r);

    /* A merge does not count as a duplicate; a redefined anchor is the
     * latest one. */
    r = parse("a: &x {k: 1}\nb: &x {k: 2}\nc:\n  <<: *x\n  <<: {k: 3, j: 4}\n");
    CHECK(r != NULL);
    if (r) {
        const dp_cfgnode_t *c = dp_cfgtree_get(r, "c");
        CHECK_STR(dp_cfgtree_get(c, "k")->str, "2");
        CHECK_STR(dp_cfgtree_get(c, "j")->str, "4");
    }
    dp_cfgtree_free(r);
}

static void test_load_file(void)
{
    char path[] = "/tmp/cfgtree_testXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    const char *text = "a:\n  b: [1, 2]\n  c: d\n";
    CHECK_INT(write(fd, text, strlen(text)), (long long)strlen(text));
    close(fd);
    dp_cfgnode_t *r = NULL;
    CHECK_INT(dp_cfgtree_load_file(path, &r, err, sizeof(err)), 0);
    CHECK(r && dp_cfgtree_get(dp_cfgtree_get(r, "a"), "c") != NULL);
    dp_cfgtree_free(r);

    FILE *f = fopen(path, "w");
    fputs("a: 1\na: 2\n", f);
    fclose(f);
    CHECK_INT(dp_cfgtree_load_file(path, &r, err, sizeof(err)), DP_EINVAL);
    CHECK(strncmp(err, path, strlen(path)) == 0 && strstr(err, ":2:1: duplicate key"));
    unlink(path);

    CHECK_INT(dp_cfgtree_load_file("/nonexistent/x.yaml", &r, err, sizeof(err)), DP_ERR);
    CHECK(r == NULL);
    CHECK(strstr(err, "/nonexistent/x.yaml: No such file") != NULL);
}

/* Every allocation of ours failing in turn gives DP_ENOMEM and no leak
 * (run under ASAN/valgrind), until the parse succeeds. */
static void test_oom(void)
{
    const char *text = "base: &b {x: [1, 2, {y: z}]}\n"
                       "d:\n  <<: *b\n  w: 1\n"
                       "!ignore i: {q: 1}\n"
                       "l: [*b, *b]\n";
    int ok = 0, nomem = 0, other = 0;
    for (long n = 0; n < 1000 && !ok; n++) {
        dp_cfgnode_t *r = NULL;
        dp_cfgtree__test_fail_alloc(n);
        int rc = dp_cfgtree_parse(text, strlen(text), "t", &r, err, sizeof(err));
        dp_cfgtree__test_fail_alloc(-1);
        if (rc == 0) {
            ok = 1;
            CHECK_INT(dp_cfgtree_get(r, "l")->n, 2);
            dp_cfgtree_free(r);
        } else {
            nomem += rc == DP_ENOMEM;
            if (rc != DP_ENOMEM) {
                other++;
                fprintf(stderr, "n=%ld rc=%d %s\n", n, rc, err);
            }
            CHECK(r == NULL);
        }
    }
    CHECK(ok);
    CHECK(nomem > 20);
    CHECK_INT(other, 0);
}

int main(void)
{
    test_yaml_basic();
    test_null_forms();
    test_json();
    test_errors();
    test_anchors_merge_ignore();
    test_load_file();
    test_oom();
    TEST_DONE();
}
