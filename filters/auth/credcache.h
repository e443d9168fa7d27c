/* Credential cache: remembers successful password verifications so that a
 * slow hash (bcrypt, yescrypt, sha-crypt: milliseconds each) is paid once
 * per (user table, user, password), not once per request.
 *
 * An entry is only a 32-byte keyed digest
 *     SHA-256(process key || table id || len(user) || user || password)
 * with a random per-process key: the cache holds no password, and its
 * contents say nothing without the key. Only successes are inserted; a
 * miss means "verify for real", never "denied", so a wrong password after a
 * right one still misses and fails.
 *
 * Bounded: a fixed number of slots split into shards (one mutex each, so
 * workers rarely meet), evicting with CLOCK (second chance: a hit sets a
 * bit the hand clears before it may evict). Entries carry their table's id
 * and dp_credcache_purge() drops a table's entries when the table is freed;
 * ids are never reused, so a stale entry could not match another table
 * anyway. All functions are thread-safe. */
#ifndef DP_FILTERS_AUTH_CREDCACHE_H
#define DP_FILTERS_AUTH_CREDCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/common.h"

#define DP_CREDCACHE_KEY_LEN 32
#define DP_CREDCACHE_DEFAULT_CAPACITY 4096

typedef struct dp_credcache dp_credcache_t;

/* A cache of at most `capacity` entries (>= 1; rounded down to a multiple
 * of the shard count when it is large). NULL on allocation failure. */
dp_credcache_t *dp_credcache_new(size_t capacity);
void dp_credcache_free(dp_credcache_t *c);

/* The process-wide cache (DP_CREDCACHE_DEFAULT_CAPACITY entries), created
 * on first use. Never NULL (aborts on OOM: server glue). */
dp_credcache_t *dp_credcache_default(void);

/* A fresh table identity: unique for the life of the process, never 0. */
uint64_t dp_credcache_table_id(void);

/* The keyed digest of (table_id, user, password) into key. Returns 0, or
 * DP_ERR if the digest failed (treat as a miss; do not insert). */
int dp_credcache_key(uint64_t table_id, dp_slice_t user, dp_slice_t password,
                     uint8_t key[DP_CREDCACHE_KEY_LEN]);

/* true if (table_id, key) is cached; a hit marks the entry recently used. */
bool dp_credcache_lookup(dp_credcache_t *c, uint64_t table_id, const uint8_t key[DP_CREDCACHE_KEY_LEN]);

/* Records a successful verification, evicting an older entry when full. */
void dp_credcache_insert(dp_credcache_t *c, uint64_t table_id, const uint8_t key[DP_CREDCACHE_KEY_LEN]);

/* Drops every entry of table_id; returns how many. O(capacity). */
size_t dp_credcache_purge(dp_credcache_t *c, uint64_t table_id);

/* Entries now / maximum. */
size_t dp_credcache_count(dp_credcache_t *c);
size_t dp_credcache_capacity(const dp_credcache_t *c);

#endif
