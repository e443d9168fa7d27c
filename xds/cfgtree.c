/* YAML/JSON text -> dp_cfgnode_t tree, driven by libyaml's event parser.
 *
 * Containers under construction live on an explicit stack (no recursion
 * while parsing); a finished node is attached to the container on top of
 * the stack, or becomes the root. Nodes that end up outside the tree
 * (`!ignore`d entries, merge sources) are parked in a "graveyard" until
 * the end of the parse, because anchors may still point at them. */
#include "xds/cfgtree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "dataplane/core/common.h"

/* ---- allocation (shared with pbjson, see cfgtree.h) ---- */

static _Thread_local long fail_alloc_after = -1;

void dp_cfgtree__test_fail_alloc(long n)
{
    fail_alloc_after = n;
}

static int alloc_should_fail(void)
{
    if (fail_alloc_after < 0)
        return 0;
    if (fail_alloc_after == 0)
        return 1;
    fail_alloc_after--;
    return 0;
}

void *dp_cfgtree__malloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *dp_cfgtree__realloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

/* ---- nodes ---- */

static dp_cfgnode_t *node_new(dp_cfgkind_t kind, unsigned line, unsigned col)
{
    dp_cfgnode_t *n = dp_cfgtree__malloc(sizeof(*n));
    if (n == NULL)
        return NULL;
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->line = line;
    n->col = col;
    return n;
}

static char *mem_dup(const char *s, size_t len)
{
    char *d = dp_cfgtree__malloc(len + 1);
    if (d == NULL)
        return NULL;
    if (len)
        memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

void dp_cfgtree_free(dp_cfgnode_t *n)
{
    if (n == NULL)
        return;
    /* Depth is bounded by DP_CFGTREE_MAX_DEPTH, so recursion is safe. */
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == DP_CFG_MAP) {
            dp_cfgtree_free(n->pairs[i].key);
            dp_cfgtree_free(n->pairs[i].value);
        } else if (n->kind == DP_CFG_SEQ) {
            dp_cfgtree_free(n->items[i]);
        }
    }
    free(n->pairs);
    free(n->items);
    free(n->str);
    free(n->tag);
    free(n);
}

int dp_cfgtree_is_null(const dp_cfgnode_t *n)
{
    if (n == NULL || n->kind != DP_CFG_SCALAR || n->style != DP_CFG_PLAIN)
        return 0;
    if (n->tag != NULL && strcmp(n->tag, YAML_NULL_TAG) != 0)
        return 0;
    if (n->len != strlen(n->str))
        return 0;
    return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
           strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

const dp_cfgnode_t *dp_cfgtree_get(const dp_cfgnode_t *map, const char *key)
{
    if (map == NULL || map->kind != DP_CFG_MAP)
        return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i < map->n; i++) {
        const dp_cfgnode_t *k = map->pairs[i].key;
        if (k->len == klen && memcmp(k->str, key, klen) == 0)
            return map->pairs[i].value;
    }
    return NULL;
}

const char *dp_cfgtree_kind_name(const dp_cfgnode_t *n)
{
    if (n == NULL)
        return "nothing";
    switch (n->kind) {
    case DP_CFG_MAP:
        return "map";
    case DP_CFG_SEQ:
        return "sequence";
    default:
        return dp_cfgtree_is_null(n) ? "null" : "scalar";
    }
}

/* ---- parser state ---- */

enum { KEY_NORMAL, KEY_MERGE, KEY_IGNORE };

typedef struct frame {
    dp_cfgnode_t *node; /* container being built, not yet attached */
    size_t cap;         /* allocated pairs/items */
    dp_cfgnode_t *key;  /* map: key waiting for its value */
    int key_mode;
    dp_cfgnode_t **merges; /* map: `<<` values, applied at the map's end */
    size_t n_merges;
    size_t anchor; /* 1 + index in anchors[] of this node's anchor, 0: none */
} frame_t;

typedef struct anchor {
    char *name;
    dp_cfgnode_t *node;
    int open; /* container still being built: aliasing it would recurse */
} anchor_t;

typedef struct pstate {
    const char *fname;
    const char *text;
    size_t len;
    char *errbuf;
    size_t errlen;
    frame_t stack[DP_CFGTREE_MAX_DEPTH];
    int depth;
    anchor_t *anchors;
    size_t n_anchors;
    dp_cfgnode_t **grave;
    size_t n_grave;
    dp_cfgnode_t *root;
    size_t copied;
    int docs;
} pstate_t;

static int perr(pstate_t *ps, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int perr(pstate_t *ps, unsigned line, unsigned col, const char *fmt, ...)
{
    if (ps->errlen == 0)
        return DP_EINVAL;
    int k = snprintf(ps->errbuf, ps->errlen, "%s:%u:%u: ", ps->fname, line, col);
    if (k >= 0 && (size_t)k < ps->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ps->errbuf + k, ps->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return DP_EINVAL;
}

static int poom(pstate_t *ps)
{
    if (ps->errlen)
        snprintf(ps->errbuf, ps->errlen, "%s: out of memory", ps->fname);
    return DP_ENOMEM;
}

/* Grows *arr (elements of `sz` bytes) so that index `n` fits. */
static int grow(void *arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = dp_cfgtree__realloc(*(void **)arr, ncap * sz);
    if (p == NULL)
        return DP_ENOMEM;
    *(void **)arr = p;
    *cap = ncap;
    return 0;
}

static int bury(pstate_t *ps, dp_cfgnode_t *n)
{
    /* The graveyard grows one by one: it is rare and small. */
    dp_cfgnode_t **g = dp_cfgtree__realloc(ps->grave, (ps->n_grave + 1) * sizeof(*g));
    if (g == NULL) {
        dp_cfgtree_free(n);
        return poom(ps);
    }
    ps->grave = g;
    g[ps->n_grave++] = n;
    return 0;
}

/* Deep copy of `src` to be placed at nesting `depth`. */
static int copy_node(pstate_t *ps, const dp_cfgnode_t *src, int depth, dp_cfgnode_t **out)
{
    *out = NULL;
    if (depth > DP_CFGTREE_MAX_DEPTH)
        return perr(ps, src->line, src->col, "nesting deeper than %d levels (through an alias)",
                    DP_CFGTREE_MAX_DEPTH);
    if (++ps->copied > DP_CFGTREE_MAX_COPIED)
        return perr(ps, src->line, src->col, "aliases expand to more than %d nodes", DP_CFGTREE_MAX_COPIED);
    dp_cfgnode_t *n = node_new(src->kind, src->line, src->col);
    if (n == NULL)
        return poom(ps);
    n->style = src->style;
    if ((src->tag && (n->tag = mem_dup(src->tag, strlen(src->tag))) == NULL) ||
        (src->str && (n->str = mem_dup(src->str, src->len)) == NULL))
        goto oom;
    n->len = src->len;
    if (src->kind == DP_CFG_MAP && src->n) {
        n->pairs = dp_cfgtree__malloc(src->n * sizeof(*n->pairs));
        if (n->pairs == NULL)
            goto oom;
        for (size_t i = 0; i < src->n; i++) {
            int rc = copy_node(ps, src->pairs[i].key, depth + 1, &n->pairs[i].key);
            if (rc == 0) {
                rc = copy_node(ps, src->pairs[i].value, depth + 1, &n->pairs[i].value);
                if (rc)
                    dp_cfgtree_free(n->pairs[i].key);
            }
            if (rc) {
                dp_cfgtree_free(n);
                return rc;
            }
            n->n++;
        }
    } else if (src->kind == DP_CFG_SEQ && src->n) {
        n->items = dp_cfgtree__malloc(src->n * sizeof(*n->items));
        if (n->items == NULL)
            goto oom;
        for (size_t i = 0; i < src->n; i++) {
            int rc = copy_node(ps, src->items[i], depth + 1, &n->items[i]);
            if (rc) {
                dp_cfgtree_free(n);
                return rc;
            }
            n->n++;
        }
    }
    *out = n;
    return 0;

oom:
    dp_cfgtree_free(n);
    return poom(ps);
}

static const dp_cfgpair_t *map_find(const dp_cfgnode_t *map, const dp_cfgnode_t *key)
{
    for (size_t i = 0; i < map->n; i++) {
        const dp_cfgnode_t *k = map->pairs[i].key;
        if (k->len == key->len && memcmp(k->str, key->str, key->len) == 0)
            return &map->pairs[i];
    }
    return NULL;
}

static int map_append(pstate_t *ps, frame_t *f, dp_cfgnode_t *key, dp_cfgnode_t *value)
{
    if (grow(&f->node->pairs, &f->cap, f->node->n, sizeof(dp_cfgpair_t))) {
        dp_cfgtree_free(key);
        dp_cfgtree_free(value);
        return poom(ps);
    }
    f->node->pairs[f->node->n].key = key;
    f->node->pairs[f->node->n].value = value;
    f->node->n++;
    return 0;
}

/* Attaches a finished node to the container on top of the stack (or makes
 * it the root). Takes ownership of `n` in every case. */
static int attach(pstate_t *ps, dp_cfgnode_t *n)
{
    if (ps->depth == 0) {
        ps->root = n;
        return 0;
    }
    frame_t *f = &ps->stack[ps->depth - 1];
    dp_cfgnode_t *c = f->node;
    if (c->kind == DP_CFG_SEQ) {
        if (grow(&c->items, &f->cap, c->n, sizeof(*c->items))) {
            dp_cfgtree_free(n);
            return poom(ps);
        }
        c->items[c->n++] = n;
        return 0;
    }
    if (f->key == NULL) {
        if (n->kind != DP_CFG_SCALAR) {
            int rc = perr(ps, n->line, n->col, "map keys must be scalars, got a %s", dp_cfgtree_kind_name(n));
            dp_cfgtree_free(n);
            return rc;
        }
        if (n->tag && strcmp(n->tag, "!ignore") == 0) {
            f->key_mode = KEY_IGNORE;
        } else if (n->style == DP_CFG_PLAIN && n->tag == NULL && n->len == 2 &&
                   memcmp(n->str, "<<", 2) == 0) {
            f->key_mode = KEY_MERGE;
        } else {
            const dp_cfgpair_t *dup = map_find(c, n);
            if (dup) {
                int rc = perr(ps, n->line, n->col, "duplicate key \"%.*s\" (first at line %u)",
                              (int)DP_MIN(n->len, 100), n->str, dup->key->line);
                dp_cfgtree_free(n);
                return rc;
            }
            f->key_mode = KEY_NORMAL;
        }
        f->key = n;
        return 0;
    }

    dp_cfgnode_t *key = f->key;
    f->key = NULL;
    if (f->key_mode == KEY_NORMAL)
        return map_append(ps, f, key, n);
    if (bury(ps, key)) {
        dp_cfgtree_free(n);
        return DP_ENOMEM;
    }
    if (f->key_mode == KEY_IGNORE)
        return bury(ps, n);

    /* Merge key: the value must be a map or a sequence of maps. */
    int ok = n->kind == DP_CFG_MAP;
    if (n->kind == DP_CFG_SEQ) {
        ok = 1;
        for (size_t i = 0; i < n->n; i++)
            ok &= n->items[i]->kind == DP_CFG_MAP;
    }
    if (!ok) {
        int rc =
            perr(ps, n->line, n->col, "the value of a merge key (<<) must be a map or a sequence of maps");
        dp_cfgtree_free(n);
        return rc;
    }
    dp_cfgnode_t **m = dp_cfgtree__realloc(f->merges, (f->n_merges + 1) * sizeof(*m));
    if (m == NULL) {
        dp_cfgtree_free(n);
        return poom(ps);
    }
    f->merges = m;
    m[f->n_merges++] = n;
    return 0;
}

/* At the end of a map: adds the keys of its merge sources it lacks. */
static int apply_merges(pstate_t *ps, frame_t *f)
{
    for (size_t i = 0; i < f->n_merges; i++) {
        dp_cfgnode_t *src = f->merges[i];
        size_t nmaps = src->kind == DP_CFG_MAP ? 1 : src->n;
        for (size_t j = 0; j < nmaps; j++) {
            const dp_cfgnode_t *mm = src->kind == DP_CFG_MAP ? src : src->items[j];
            for (size_t k = 0; k < mm->n; k++) {
                if (map_find(f->node, mm->pairs[k].key))
                    continue;
                dp_cfgnode_t *key, *value;
                int rc = copy_node(ps, mm->pairs[k].key, ps->depth, &key);
                if (rc)
                    return rc;
                rc = copy_node(ps, mm->pairs[k].value, ps->depth, &value);
                if (rc) {
                    dp_cfgtree_free(key);
                    return rc;
                }
                rc = map_append(ps, f, key, value);
                if (rc)
                    return rc;
            }
        }
    }
    /* Sources stay alive until the end: anchors may point into them. */
    for (; f->n_merges > 0; f->n_merges--) {
        if (bury(ps, f->merges[f->n_merges - 1])) {
            f->n_merges--;
            return DP_ENOMEM;
        }
    }
    return 0;
}

static int add_anchor(pstate_t *ps, const yaml_char_t *name, dp_cfgnode_t *n, int open, size_t *idx)
{
    anchor_t *a = dp_cfgtree__realloc(ps->anchors, (ps->n_anchors + 1) * sizeof(*a));
    if (a == NULL)
        return poom(ps);
    ps->anchors = a;
    a[ps->n_anchors].name = mem_dup((const char *)name, strlen((const char *)name));
    if (a[ps->n_anchors].name == NULL)
        return poom(ps);
    a[ps->n_anchors].node = n;
    a[ps->n_anchors].open = open;
    *idx = ++ps->n_anchors;
    return 0;
}

static int on_alias(pstate_t *ps, const yaml_event_t *ev, unsigned line, unsigned col)
{
    const char *name = (const char *)ev->data.alias.anchor;
    /* The latest definition wins: anchors may be redefined. */
    for (size_t i = ps->n_anchors; i-- > 0;) {
        if (strcmp(ps->anchors[i].name, name) != 0)
            continue;
        if (ps->anchors[i].open)
            return perr(ps, line, col, "alias *%s refers to a node that contains it", name);
        dp_cfgnode_t *copy;
        int rc = copy_node(ps, ps->anchors[i].node, ps->depth, &copy);
        if (rc)
            return rc;
        return attach(ps, copy);
    }
    return perr(ps, line, col, "unknown anchor *%s", name);
}

static int on_scalar(pstate_t *ps, const yaml_event_t *ev, unsigned line, unsigned col)
{
    dp_cfgnode_t *n = node_new(DP_CFG_SCALAR, line, col);
    if (n == NULL)
        return poom(ps);
    switch (ev->data.scalar.style) {
    case YAML_SINGLE_QUOTED_SCALAR_STYLE:
    case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
        n->style = DP_CFG_QUOTED;
        break;
    case YAML_LITERAL_SCALAR_STYLE:
    case YAML_FOLDED_SCALAR_STYLE:
        n->style = DP_CFG_BLOCK;
        break;
    default:
        n->style = DP_CFG_PLAIN;
    }
    n->len = ev->data.scalar.length;
    n->str = mem_dup((const char *)ev->data.scalar.value, n->len);
    const char *tag = (const char *)ev->data.scalar.tag;
    if (n->str == NULL || (tag && (n->tag = mem_dup(tag, strlen(tag))) == NULL)) {
        dp_cfgtree_free(n);
        return poom(ps);
    }
    if (ev->data.scalar.anchor) {
        size_t idx;
        if (add_anchor(ps, ev->data.scalar.anchor, n, 0, &idx)) {
            dp_cfgtree_free(n);
            return DP_ENOMEM;
        }
    }
    return attach(ps, n);
}

static int on_start(pstate_t *ps, dp_cfgkind_t kind, const yaml_char_t *anchor, const yaml_char_t *tag,
                    unsigned line, unsigned col)
{
    if (ps->depth >= DP_CFGTREE_MAX_DEPTH)
        return perr(ps, line, col, "nesting deeper than %d levels", DP_CFGTREE_MAX_DEPTH);
    dp_cfgnode_t *n = node_new(kind, line, col);
    if (n == NULL)
        return poom(ps);
    if (tag && (n->tag = mem_dup((const char *)tag, strlen((const char *)tag))) == NULL) {
        dp_cfgtree_free(n);
        return poom(ps);
    }
    frame_t *f = &ps->stack[ps->depth++];
    memset(f, 0, sizeof(*f));
    f->node = n; /* owned by the stack from here on */
    if (anchor && add_anchor(ps, anchor, n, 1, &f->anchor))
        return DP_ENOMEM;
    return 0;
}

static int on_end(pstate_t *ps, unsigned line, unsigned col)
{
    if (ps->depth == 0) /* libyaml pairs start/end events; be defensive */
        return perr(ps, line, col, "unbalanced end of a collection");
    frame_t *f = &ps->stack[ps->depth - 1];
    if (f->node->kind == DP_CFG_MAP) {
        int rc = apply_merges(ps, f);
        if (rc)
            return rc;
        free(f->merges);
        f->merges = NULL;
    }
    if (f->anchor)
        ps->anchors[f->anchor - 1].open = 0;
    dp_cfgnode_t *n = f->node;
    f->node = NULL;
    ps->depth--;
    return attach(ps, n);
}

static void pstate_clear(pstate_t *ps)
{
    for (int i = 0; i < ps->depth; i++) {
        frame_t *f = &ps->stack[i];
        dp_cfgtree_free(f->node);
        dp_cfgtree_free(f->key);
        for (size_t j = 0; j < f->n_merges; j++)
            dp_cfgtree_free(f->merges[j]);
        free(f->merges);
    }
    ps->depth = 0;
    for (size_t i = 0; i < ps->n_grave; i++)
        dp_cfgtree_free(ps->grave[i]);
    free(ps->grave);
    for (size_t i = 0; i < ps->n_anchors; i++)
        free(ps->anchors[i].name);
    free(ps->anchors);
}

static int yaml_failure(pstate_t *ps, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR)
        return poom(ps);
    const char *problem = p->problem ? p->problem : "invalid YAML";
    unsigned line = (unsigned)p->problem_mark.line + 1;
    unsigned col = (unsigned)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset only: count lines up to it. */
        line = 1;
        col = 1;
        for (size_t i = 0; i < p->problem_offset && i < ps->len; i++) {
            if (ps->text[i] == '\n') {
                line++;
                col = 1;
            } else if (((unsigned char)ps->text[i] & 0xc0) != 0x80) {
                col++;
            }
        }
        return perr(ps, line, col, "%s", problem);
    }
    if (p->context)
        return perr(ps, line, col, "%s (%s that started at %u:%u)", problem, p->context,
                    (unsigned)p->context_mark.line + 1, (unsigned)p->context_mark.column + 1);
    return perr(ps, line, col, "%s", problem);
}

int dp_cfgtree_parse(const char *text, size_t len, const char *filename, dp_cfgnode_t **root, char *errbuf,
                     size_t errlen)
{
    /* The stack of frames is large: keep it off the caller's stack. */
    pstate_t *ps = dp_cfgtree__malloc(sizeof(*ps));
    *root = NULL;
    if (errlen)
        errbuf[0] = '\0';
    if (ps == NULL) {
        if (errlen)
            snprintf(errbuf, errlen, "%s: out of memory", filename ? filename : "<input>");
        return DP_ENOMEM;
    }
    memset(ps, 0, sizeof(*ps));
    ps->fname = filename ? filename : "<input>";
    ps->text = text;
    ps->len = len;
    ps->errbuf = errbuf;
    ps->errlen = errlen;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        free(ps);
        if (errlen)
            snprintf(errbuf, errlen, "%s: out of memory", filename ? filename : "<input>");
        return DP_ENOMEM;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    int rc = 0, done = 0;
    while (!done && rc == 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            rc = yaml_failure(ps, &parser);
            break;
        }
        unsigned line = (unsigned)ev.start_mark.line + 1;
        unsigned col = (unsigned)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_DOCUMENT_START_EVENT:
            if (++ps->docs > 1)
                rc = perr(ps, line, col, "multiple YAML documents are not supported");
            break;
        case YAML_SCALAR_EVENT:
            rc = on_scalar(ps, &ev, line, col);
            break;
        case YAML_ALIAS_EVENT:
            rc = on_alias(ps, &ev, line, col);
            break;
        case YAML_SEQUENCE_START_EVENT:
            rc = on_start(ps, DP_CFG_SEQ, ev.data.sequence_start.anchor, ev.data.sequence_start.tag, line,
                          col);
            break;
        case YAML_MAPPING_START_EVENT:
            rc = on_start(ps, DP_CFG_MAP, ev.data.mapping_start.anchor, ev.data.mapping_start.tag, line, col);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            rc = on_end(ps, line, col);
            break;
        case YAML_STREAM_END_EVENT:
            done = 1;
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);

    if (rc == 0 && ps->root == NULL) {
        /* No document at all: same as an empty one, a null. */
        ps->root = node_new(DP_CFG_SCALAR, 1, 1);
        if (ps->root == NULL || (ps->root->str = mem_dup("", 0)) == NULL)
            rc = poom(ps);
    }
    if (rc == 0) {
        *root = ps->root;
        ps->root = NULL;
    }
    dp_cfgtree_free(ps->root);
    pstate_clear(ps);
    free(ps);
    return rc;
}

int dp_cfgtree_load_file(const char *path, dp_cfgnode_t **root, char *errbuf, size_t errlen)
{
    *root = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (errlen)
            snprintf(errbuf, errlen, "%s: %s", path, strerror(errno));
        return DP_ERR;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nb = dp_cfgtree__realloc(buf, ncap);
            if (nb == NULL) {
                if (errlen)
                    snprintf(errbuf, errlen, "%s: out of memory", path);
                rc = DP_ENOMEM;
                goto out;
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        if (errlen)
            snprintf(errbuf, errlen, "%s: read error", path);
        rc = DP_ERR;
        goto out;
    }
    rc = dp_cfgtree_parse(buf, len, path, root, errbuf, errlen);
out:
    free(buf);
    fclose(f);
    return rc;
}
