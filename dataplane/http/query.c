/* Query strings of request paths (dataplane/http/query.h). */
#include "dataplane/http/query.h"

#include <string.h>

int dp_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes (and '+' -> ' ', as a query parameter) into out. */
static size_t url_decode(const char *in, size_t len, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < len && (hi = dp_hexval(in[i + 1])) >= 0 &&
            (lo = dp_hexval(in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[o++] = in[i] == '+' ? ' ' : in[i];
        }
    }
    return o;
}

/* The query of a path: after the first '?', up to a '#'. */
static bool query_of(dp_slice_t path, const char **q, size_t *qlen)
{
    const char *p = path.base ? memchr(path.base, '?', path.len) : NULL;
    if (p == NULL)
        return false;
    p++;
    size_t rest = path.len - (size_t)(p - path.base);
    const char *h = memchr(p, '#', rest);
    *q = p;
    *qlen = h ? (size_t)(h - p) : rest;
    return true;
}

/* Does the decoded key of pair [p, p+len) equal name? */
static bool pair_key_is(const char *p, size_t len, const char *name, char *scratch)
{
    const char *eq = memchr(p, '=', len);
    size_t kl = eq ? (size_t)(eq - p) : len;
    size_t dl = url_decode(p, kl, scratch);
    return dl == strlen(name) && memcmp(scratch, name, dl) == 0;
}

char *dp_query_param(dp_arena_t *a, dp_slice_t path, const char *name, size_t *len)
{
    const char *q;
    size_t ql;
    if (!query_of(path, &q, &ql))
        return NULL;
    char *scratch = dp_arena_alloc(a, ql + 1);
    for (size_t i = 0; i <= ql;) {
        const char *amp = memchr(q + i, '&', ql - i);
        size_t pl = amp ? (size_t)(amp - (q + i)) : ql - i;
        if (pl > 0 && pair_key_is(q + i, pl, name, scratch)) {
            const char *eq = memchr(q + i, '=', pl);
            const char *v = eq ? eq + 1 : q + i + pl;
            size_t vl = (size_t)(q + i + pl - v);
            char *out = dp_arena_alloc(a, vl + 1);
            *len = url_decode(v, vl, out);
            out[*len] = '\0';
            return out;
        }
        i += pl + 1;
    }
    return NULL;
}

bool dp_query_remove(dp_arena_t *a, dp_slice_t *path, const char *name)
{
    const char *q;
    size_t ql;
    if (!query_of(*path, &q, &ql))
        return false;
    /* rebuild the path without every pair of that name, other bytes as they were */
    size_t head = (size_t)(q - path->base); /* up to and including '?' */
    size_t tail = path->len - head - ql;    /* "#..." */
    char *np = dp_arena_alloc(a, path->len + 1);
    char *scratch = dp_arena_alloc(a, ql + 1);
    memcpy(np, path->base, head);
    size_t o = head;
    bool removed = false;
    for (size_t i = 0; i <= ql;) {
        const char *amp = memchr(q + i, '&', ql - i);
        size_t pl = amp ? (size_t)(amp - (q + i)) : ql - i;
        if (pl > 0 && pair_key_is(q + i, pl, name, scratch)) {
            removed = true;
        } else if (pl > 0) {
            if (o > head)
                np[o++] = '&';
            memcpy(np + o, q + i, pl);
            o += pl;
        }
        i += pl + 1;
    }
    if (!removed)
        return false;
    if (o == head)
        o--; /* nothing left: drop the '?' */
    memcpy(np + o, q + ql, tail);
    o += tail;
    np[o] = '\0';
    *path = dp_slice(np, o);
    return true;
}
