/* Header line list and Envoy's header mutations (see headers.h). */
#include "dataplane/http/headers.h"

#include <stdlib.h>
#include <string.h>

static inline int name_is(const dp_header_t *e, const char *name, size_t len)
{
    return e->name.len == len && (len == 0 || memcmp(e->name.base, name, len) == 0);
}

long dp_headers_find(const dp_headers_t *h, const char *name, size_t len, size_t start)
{
    for (size_t i = start; i < h->n; i++) {
        if (name_is(&h->v[i], name, len))
            return (long)i;
    }
    return -1;
}

const dp_slice_t *dp_headers_get(const dp_headers_t *h, const char *name, size_t len)
{
    long i = dp_headers_find(h, name, len, 0);
    return i < 0 ? NULL : &h->v[i].value;
}

size_t dp_headers_count(const dp_headers_t *h, const char *name, size_t len)
{
    size_t c = 0;
    for (size_t i = 0; i < h->n; i++)
        c += name_is(&h->v[i], name, len);
    return c;
}

void dp_headers_add(dp_headers_t *h, dp_slice_t name, dp_slice_t value)
{
    if (h->n == h->cap) {
        /* Start at 16: a typical request fits without a second grow. */
        size_t cap = h->cap ? h->cap * 2 : 16;
        h->v = dp_xrealloc(h->v, cap * sizeof(*h->v));
        h->cap = cap;
    }
    h->v[h->n].name = name;
    h->v[h->n].value = value;
    h->n++;
}

/* Removes the entries named `name` at index >= from, compacting in place.
 * *base (may be NULL) is decremented for every removed entry below it so
 * it keeps marking the same boundary (see apply_mutations). */
static size_t remove_from(dp_headers_t *h, const char *name, size_t len, size_t from, size_t *base)
{
    size_t w = from, removed_below = 0, removed = 0;
    for (size_t r = from; r < h->n; r++) {
        if (name_is(&h->v[r], name, len)) {
            removed++;
            if (base && r < *base)
                removed_below++;
            continue;
        }
        if (w != r)
            h->v[w] = h->v[r];
        w++;
    }
    h->n = w;
    if (base)
        *base -= removed_below;
    return removed;
}

size_t dp_headers_remove(dp_headers_t *h, const char *name, size_t len)
{
    return remove_from(h, name, len, 0, NULL);
}

size_t dp_headers_remove_if(dp_headers_t *h, bool (*drop)(dp_slice_t name))
{
    size_t w = 0;
    for (size_t r = 0; r < h->n; r++) {
        if (drop(h->v[r].name))
            continue;
        if (w != r)
            h->v[w] = h->v[r];
        w++;
    }
    size_t removed = h->n - w;
    h->n = w;
    return removed;
}

bool dp_headers_hop_by_hop(dp_slice_t n)
{
    switch (n.len) {
    case 2:
        return memcmp(n.base, "te", 2) == 0;
    case 7:
        return memcmp(n.base, "upgrade", 7) == 0;
    case 10:
        return memcmp(n.base, "connection", 10) == 0 || memcmp(n.base, "keep-alive", 10) == 0;
    case 16:
        return memcmp(n.base, "proxy-connection", 16) == 0;
    case 17:
        return memcmp(n.base, "transfer-encoding", 17) == 0;
    default:
        return false;
    }
}

static void set_tracked(dp_headers_t *h, dp_slice_t name, dp_slice_t value, size_t *base)
{
    long i = dp_headers_find(h, name.base, name.len, 0);
    if (i < 0) {
        dp_headers_add(h, name, value);
        return;
    }
    /* In place rather than Envoy's remove-then-append for non-inline
     * headers: keeps HTTP/1 wire order stable, and no one may rely on the
     * position of a header among different names. */
    h->v[i].value = value;
    remove_from(h, name.base, name.len, (size_t)i + 1, base);
}

void dp_headers_set(dp_headers_t *h, dp_slice_t name, dp_slice_t value)
{
    set_tracked(h, name, value, NULL);
}

void dp_headers_free(dp_headers_t *h)
{
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}

static int exists_below(const dp_headers_t *h, dp_slice_t name, size_t base)
{
    for (size_t i = 0; i < base && i < h->n; i++) {
        if (name_is(&h->v[i], name.base, name.len))
            return 1;
    }
    return 0;
}

void dp_headers_apply_mutations(dp_headers_t *h, const dp_hdr_mutations_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_remove; i++)
        dp_headers_remove(h, m->remove[i], strlen(m->remove[i]));

    /* Envoy decides ADD_IF_ABSENT and OVERWRITE_IF_EXISTS against the
     * headers as they were before any addition of this level, then applies
     * overwrites before appends. Instead of queueing (an allocation), the
     * entries present before this level are kept below `base`: overwrites
     * of present names happen in place (below base), everything new is
     * appended above it, so "was present" == "is present below base". */
    size_t base = h->n;
    for (size_t i = 0; i < m->n_add; i++) {
        const dp_hdr_add_t *a = &m->add[i];
        dp_slice_t name = dp_slice_cstr(a->name), value = dp_slice_cstr(a->value ? a->value : "");
        if (value.len == 0 && !a->keep_empty_value)
            continue;
        if (a->action == DP_OVERWRITE_IF_EXISTS_OR_ADD ||
            (a->action == DP_OVERWRITE_IF_EXISTS && exists_below(h, name, base)))
            set_tracked(h, name, value, &base);
    }
    for (size_t i = 0; i < m->n_add; i++) {
        const dp_hdr_add_t *a = &m->add[i];
        dp_slice_t name = dp_slice_cstr(a->name), value = dp_slice_cstr(a->value ? a->value : "");
        if (value.len == 0 && !a->keep_empty_value)
            continue;
        if (a->action == DP_APPEND_IF_EXISTS_OR_ADD ||
            (a->action == DP_ADD_IF_ABSENT && !exists_below(h, name, base)))
            dp_headers_add(h, name, value);
    }
}
