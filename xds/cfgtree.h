/* Configuration text (YAML or JSON) as a small tree with positions.
 *
 * Both syntaxes go through libyaml (JSON is YAML flow syntax), so every
 * node, including those of a JSON document, knows its 1-based line and
 * column and errors read "bootstrap.yaml:12:5: <reason>". The tree keeps
 * scalars as text: typing is left to the schema-driven consumer
 * (xds/pbjson.h), so YAML's implicit typing (`no` as a boolean, `010` as
 * octal) never applies.
 *
 * What is accepted:
 *   - one document; a second one ("---") is an error; empty input is a
 *     single null scalar;
 *   - map keys must be scalars and must be unique within a map (compared
 *     byte-wise after unquoting, so `a` and "a" collide);
 *   - anchors and aliases ARE supported: an alias is expanded into a deep
 *     copy of the anchored node (positions are those of the anchored
 *     original); recursive aliases, unknown anchors and expansions of more
 *     than DP_CFGTREE_MAX_COPIED nodes in total ("billion laughs") are
 *     errors;
 *   - YAML merge keys (`<<: *base`, `<<: [*a, *b]`) are supported: keys of
 *     the merged maps are added unless the map already has them (earlier
 *     maps in a merge list win);
 *   - Envoy's `!ignore` tag on a key drops that key and its value (which
 *     may still define anchors used later), as Envoy's YAML loader does;
 *   - nesting deeper than DP_CFGTREE_MAX_DEPTH is an error.
 *
 * JSON caveats (libyaml is a YAML 1.1 parser): every JSON text that is
 * not affected by the points below parses to the same tree. UTF-16
 * surrogate-pair escapes ("\ud83d\ude00") are rejected by libyaml: write
 * the character as UTF-8 or as "\U0001F600". Object keys longer than 1024
 * characters are rejected (YAML's implicit-key limit). Trailing commas
 * ("[1,2,]") and YAML-only syntax are accepted, i.e. the parser is more
 * lenient than a strict JSON parser. "\u0000" yields a scalar containing
 * a NUL byte (scalars carry their length).
 *
 * Ownership: dp_cfgtree_parse() / dp_cfgtree_load_file() give the caller
 * one tree, freed with dp_cfgtree_free(root). Every node, string and array
 * in it belongs to the tree. */
#ifndef DP_XDS_CFGTREE_H
#define DP_XDS_CFGTREE_H

#include <stddef.h>

#define DP_CFGTREE_MAX_DEPTH 200     /* nested maps/sequences */
#define DP_CFGTREE_MAX_COPIED 200000 /* nodes created by alias expansion */

typedef enum dp_cfgkind {
    DP_CFG_SCALAR = 1,
    DP_CFG_MAP,
    DP_CFG_SEQ,
} dp_cfgkind_t;

/* How a scalar was written. The schema decides types, but a plain `null`
 * (or `~`, or nothing) means null while a quoted "null" is a string, and
 * google.protobuf.Value needs to tell "1" from 1. */
typedef enum dp_cfgstyle {
    DP_CFG_PLAIN = 0,
    DP_CFG_QUOTED, /* 'single' or "double" quoted */
    DP_CFG_BLOCK,  /* literal | or folded > */
} dp_cfgstyle_t;

typedef struct dp_cfgnode dp_cfgnode_t;

typedef struct dp_cfgpair {
    dp_cfgnode_t *key; /* always a scalar */
    dp_cfgnode_t *value;
} dp_cfgpair_t;

struct dp_cfgnode {
    dp_cfgkind_t kind;
    dp_cfgstyle_t style;  /* scalars */
    unsigned line, col;   /* 1-based position of the node's first character */
    char *tag;            /* explicit tag as libyaml resolved it
                           * ("tag:yaml.org,2002:str", "!foo"), or NULL */
    char *str;            /* scalar text, NUL-terminated, may hold NULs */
    size_t len;           /* scalar: bytes in str */
    size_t n;             /* map: pairs; seq: items */
    dp_cfgpair_t *pairs;  /* map, in document order */
    dp_cfgnode_t **items; /* seq */
};

/* Parses `len` bytes of YAML or JSON. `filename` only labels errors (NULL:
 * "<input>"). On success *root is a new tree (never NULL) owned by the
 * caller. On failure *root is NULL and errbuf (if errlen > 0) holds
 * "FILE:LINE:COL: reason".
 * Returns 0, DP_EINVAL (syntax or structure error) or DP_ENOMEM. */
int dp_cfgtree_parse(const char *text, size_t len, const char *filename, dp_cfgnode_t **root, char *errbuf,
                     size_t errlen);

/* Reads and parses a whole file; errors are labelled with `path`.
 * Returns 0, DP_ERR (cannot read the file; errbuf says why), DP_EINVAL or
 * DP_ENOMEM. */
int dp_cfgtree_load_file(const char *path, dp_cfgnode_t **root, char *errbuf, size_t errlen);

/* Frees a tree returned by the functions above; NULL is fine. */
void dp_cfgtree_free(dp_cfgnode_t *root);

/* True for a null scalar: plain (unquoted) "", "~", "null", "Null" or
 * "NULL" without a tag other than !!null. */
int dp_cfgtree_is_null(const dp_cfgnode_t *n);

/* The value for `key` in map `map`, or NULL (also when `map` is not a
 * map). The result is borrowed from the tree. */
const dp_cfgnode_t *dp_cfgtree_get(const dp_cfgnode_t *map, const char *key);

/* "map", "sequence", "null" or "scalar", for error messages. */
const char *dp_cfgtree_kind_name(const dp_cfgnode_t *n);

/* Internal, shared with xds/pbjson*.c: the allocator of this module and of
 * the pbjson decoder/printer (plain malloc, so results can be released
 * with free() and protobuf_c_message_free_unpacked(m, NULL)), with a test
 * hook that makes the n-th and every later allocation fail (n < 0: never),
 * so the DP_ENOMEM paths can be tested. Per thread. */
void *dp_cfgtree__malloc(size_t n);
void *dp_cfgtree__realloc(void *p, size_t n);
void dp_cfgtree__test_fail_alloc(long n);

#endif
