/* Chained hash table whose nodes are immutable once published: the writer
 * replaces a node rather than changing it, links with release stores, and
 * retires what it unlinked through QSBR. Readers use acquire loads only.
 * Growing builds a new table with new nodes (values move over without
 * release) and retires the old table and its nodes as a whole. */
#include "dataplane/core/rcumap.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/qsbr.h"

typedef struct node {
    struct node *_Atomic next;
    uint64_t hash;
    void *value;
    uint32_t len;
    char key[];
} node_t;

typedef struct table {
    size_t mask;
    node_t *_Atomic b[];
} table_t;

struct dp_rcumap {
    table_t *_Atomic t;
    size_t n;
    size_t bytes;
    void (*release)(void *value);
};

/* FNV-1a then a final mix: keys are ids and host names, short. */
static uint64_t hash_key(const char *k, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)k[i]) * 1099511628211ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static table_t *table_new(size_t n_buckets)
{
    table_t *t = dp_xcalloc(1, sizeof(*t) + n_buckets * sizeof(t->b[0]));
    t->mask = n_buckets - 1;
    return t;
}

static node_t *node_new(dp_rcumap_t *m, const char *key, size_t len, uint64_t h, void *value)
{
    node_t *n = dp_xmalloc(sizeof(*n) + len + 1);
    atomic_init(&n->next, NULL);
    n->hash = h;
    n->value = value;
    n->len = (uint32_t)len;
    memcpy(n->key, key, len);
    n->key[len] = '\0';
    m->bytes += sizeof(*n) + len + 1;
    return n;
}

dp_rcumap_t *dp_rcumap_new(void (*release)(void *value))
{
    dp_rcumap_t *m = dp_xcalloc(1, sizeof(*m));
    m->release = release;
    atomic_init(&m->t, table_new(16));
    m->bytes = sizeof(table_t) + 16 * sizeof(node_t *);
    return m;
}

void dp_rcumap_free(dp_rcumap_t *m)
{
    if (m == NULL)
        return;
    table_t *t = atomic_load(&m->t);
    for (size_t i = 0; i <= t->mask; i++) {
        node_t *n = atomic_load(&t->b[i]);
        while (n) {
            node_t *next = atomic_load(&n->next);
            if (m->release)
                m->release(n->value);
            free(n);
            n = next;
        }
    }
    free(t);
    free(m);
}

void *dp_rcumap_get(const dp_rcumap_t *m, const char *key, size_t len)
{
    uint64_t h = hash_key(key, len);
    table_t *t = atomic_load_explicit(&((dp_rcumap_t *)m)->t, memory_order_acquire);
    for (node_t *n = atomic_load_explicit(&t->b[h & t->mask], memory_order_acquire); n;
         n = atomic_load_explicit(&n->next, memory_order_acquire))
        if (n->hash == h && n->len == len && memcmp(n->key, key, len) == 0)
            return n->value;
    return NULL;
}

/* --- retirement ----------------------------------------------------------- */

typedef struct dead_node {
    node_t *n;
    void (*release)(void *);
} dead_node_t;

static void free_dead_node(void *p)
{
    dead_node_t *d = p;
    if (d->release)
        d->release(d->n->value);
    free(d->n);
    free(d);
}

static void retire_node(dp_rcumap_t *m, node_t *n)
{
    dead_node_t *d = dp_xmalloc(sizeof(*d));
    d->n = n;
    d->release = m->release;
    m->bytes -= sizeof(*n) + n->len + 1;
    dp_qsbr_retire(free_dead_node, d);
}

/* An old table and its nodes, whose values live on in the new table. */
static void free_old_table(void *p)
{
    table_t *t = p;
    for (size_t i = 0; i <= t->mask; i++) {
        node_t *n = atomic_load(&t->b[i]);
        while (n) {
            node_t *next = atomic_load(&n->next);
            free(n);
            n = next;
        }
    }
    free(t);
}

static void grow(dp_rcumap_t *m)
{
    table_t *old = atomic_load(&m->t);
    size_t nb = (old->mask + 1) * 2;
    table_t *t = table_new(nb);
    size_t bytes = sizeof(table_t) + nb * sizeof(node_t *);
    for (size_t i = 0; i <= old->mask; i++) {
        for (node_t *n = atomic_load(&old->b[i]); n; n = atomic_load(&n->next)) {
            node_t *c = dp_xmalloc(sizeof(*c) + n->len + 1);
            memcpy(c, n, sizeof(*c) + n->len + 1);
            atomic_init(&c->next, atomic_load(&t->b[n->hash & t->mask]));
            atomic_init(&t->b[n->hash & t->mask], c);
            bytes += sizeof(*c) + n->len + 1;
        }
    }
    atomic_store_explicit(&m->t, t, memory_order_release);
    m->bytes = bytes;
    dp_qsbr_retire(free_old_table, old);
}

void dp_rcumap_put(dp_rcumap_t *m, const char *key, size_t len, void *value)
{
    uint64_t h = hash_key(key, len);
    table_t *t = atomic_load(&m->t);
    node_t *_Atomic *link = &t->b[h & t->mask];
    node_t *n = node_new(m, key, len, h, value);

    for (node_t *c = atomic_load(link); c; link = &c->next, c = atomic_load(link)) {
        if (c->hash == h && c->len == len && memcmp(c->key, key, len) == 0) {
            atomic_init(&n->next, atomic_load(&c->next));
            atomic_store_explicit(link, n, memory_order_release);
            retire_node(m, c);
            return;
        }
    }
    link = &t->b[h & t->mask];
    atomic_init(&n->next, atomic_load(link));
    atomic_store_explicit(link, n, memory_order_release);
    if (++m->n > 2 * (t->mask + 1))
        grow(m);
}

int dp_rcumap_del(dp_rcumap_t *m, const char *key, size_t len)
{
    uint64_t h = hash_key(key, len);
    table_t *t = atomic_load(&m->t);
    node_t *_Atomic *link = &t->b[h & t->mask];
    for (node_t *c = atomic_load(link); c; link = &c->next, c = atomic_load(link)) {
        if (c->hash == h && c->len == len && memcmp(c->key, key, len) == 0) {
            atomic_store_explicit(link, atomic_load(&c->next), memory_order_release);
            retire_node(m, c);
            m->n--;
            return 1;
        }
    }
    return 0;
}

size_t dp_rcumap_count(const dp_rcumap_t *m)
{
    return m->n;
}

size_t dp_rcumap_bytes(const dp_rcumap_t *m)
{
    return m->bytes;
}

void dp_rcumap_foreach(const dp_rcumap_t *m, void (*fn)(void *arg, const char *key, void *value), void *arg)
{
    table_t *t = atomic_load(&((dp_rcumap_t *)m)->t);
    for (size_t i = 0; i <= t->mask; i++)
        for (node_t *n = atomic_load(&t->b[i]); n; n = atomic_load(&n->next))
            fn(arg, n->key, n->value);
}
