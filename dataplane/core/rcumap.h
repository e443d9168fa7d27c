/* A string-keyed hash map with one writer thread and lock-free readers
 * (QSBR, dataplane/core/qsbr.h). Lookups cost one hash and a short chain
 * walk whatever the size; a put or delete costs O(1) (amortised: the table
 * doubles, and the old one is reclaimed after a grace period).
 *
 * Values are opaque; the map calls `release` on a value once no reader can
 * see it any more (after a grace period), so values are usually refcounted:
 * the map holds one reference, a reader that keeps a value past the current
 * loop iteration takes its own. */
#ifndef DP_CORE_RCUMAP_H
#define DP_CORE_RCUMAP_H

#include <stddef.h>

typedef struct dp_rcumap dp_rcumap_t;

dp_rcumap_t *dp_rcumap_new(void (*release)(void *value));
/* Writer side. Frees the map and releases every value immediately: only
 * when no reader can reach the map any more. */
void dp_rcumap_free(dp_rcumap_t *m);

/* Reader side (any thread online in QSBR, or the writer). NULL if absent. */
void *dp_rcumap_get(const dp_rcumap_t *m, const char *key, size_t len);

/* Writer side. put takes over the reference to value; a value it replaces
 * is released after a grace period. */
void dp_rcumap_put(dp_rcumap_t *m, const char *key, size_t len, void *value);
/* Returns whether the key was there (its value is released after a grace
 * period). */
int dp_rcumap_del(dp_rcumap_t *m, const char *key, size_t len);
size_t dp_rcumap_count(const dp_rcumap_t *m);
/* Writer side: calls fn for every entry (no changes meanwhile). */
void dp_rcumap_foreach(const dp_rcumap_t *m, void (*fn)(void *arg, const char *key, void *value), void *arg);
/* Bytes used by the index (tables and nodes, not the values). */
size_t dp_rcumap_bytes(const dp_rcumap_t *m);

#endif
