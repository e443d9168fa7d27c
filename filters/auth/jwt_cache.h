/* A bounded LRU cache of verified tokens, as Envoy's jwt_authn JwtCache:
 * a token seen again skips parsing and the signature check, not the time,
 * issuer and audience checks (the caller still makes those on the cached
 * dp_jwt_t). One cache per thread: nothing here locks.
 *
 * Entries are keyed by a keyed 64-bit hash of the token and compared on
 * the whole token, so a hash collision cannot impersonate a token. Tokens
 * longer than DP_JWT_CACHE_MAX_TOKEN are not cached (Envoy's 4 KiB). */
#ifndef DP_FILTERS_AUTH_JWT_CACHE_H
#define DP_FILTERS_AUTH_JWT_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/auth/jwt.h"

#define DP_JWT_CACHE_DEFAULT_SIZE 100
#define DP_JWT_CACHE_MAX_TOKEN 4096

typedef struct dp_jwt_cache dp_jwt_cache_t;

/* capacity 0 means DP_JWT_CACHE_DEFAULT_SIZE. NULL on OOM. */
dp_jwt_cache_t *dp_jwt_cache_new(size_t capacity);
/* Frees the cache and every token in it. NULL is a no-op. */
void dp_jwt_cache_free(dp_jwt_cache_t *c);

/* The cached token equal to tok (len bytes), made most recently used, or
 * NULL. A hit that has expired at now_s (exp + DP_JWT_DEFAULT_SKEW_S, as
 * Envoy) is dropped and reported as a miss. The pointer stays valid until
 * the next insert into or free of this cache. */
const dp_jwt_t *dp_jwt_cache_lookup(dp_jwt_cache_t *c, const char *tok, size_t len, uint64_t now_s);

/* Caches a verified token (the caller must have verified its signature).
 * Returns true when the cache took ownership of jwt (evicting the least
 * recently used entry when full; an existing entry for the same token is
 * replaced); false when it did not (token too long, OOM): the caller
 * still owns jwt. */
bool dp_jwt_cache_insert(dp_jwt_cache_t *c, dp_jwt_t *jwt);

/* Number of cached tokens. */
size_t dp_jwt_cache_size(const dp_jwt_cache_t *c);

#endif
