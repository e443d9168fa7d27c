/* LRU cache of verified tokens (jwt_cache.h): a chained hash table over a
 * fixed array of entries linked in recency order. */
#include "filters/auth/jwt_cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

typedef struct entry {
    dp_jwt_t *jwt; /* NULL: free */
    uint64_t hash;
    uint32_t next_in_bucket; /* index + 1, 0 ends */
    uint32_t prev, next;     /* LRU list, index + 1, 0 ends */
} entry_t;

struct dp_jwt_cache {
    entry_t *e;
    size_t cap, n;
    uint32_t *buckets; /* entry index + 1, 0 empty */
    size_t nbuckets;   /* power of two */
    uint32_t mru, lru; /* index + 1 */
    uint32_t free_head; /* free entries chained through next_in_bucket */
    uint64_t seed[2];
};

/* A keyed multiply-xorshift hash: cheap on ~1 KB tokens, and its key keeps
 * chosen tokens from piling up in one bucket. */
static uint64_t mix(uint64_t x)
{
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    x *= 0xd6e8feb86659fd93ull;
    x ^= x >> 32;
    return x;
}

static uint64_t hash_token(const dp_jwt_cache_t *c, const char *p, size_t len)
{
    uint64_t h = c->seed[0] ^ (len * 0x9e3779b97f4a7c15ull);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = mix(h ^ w ^ c->seed[1]) + w;
    }
    uint64_t w = 0;
    memcpy(&w, p + i, len - i);
    return mix(h ^ w ^ c->seed[1]);
}

dp_jwt_cache_t *dp_jwt_cache_new(size_t capacity)
{
    if (capacity == 0)
        capacity = DP_JWT_CACHE_DEFAULT_SIZE;
    if (capacity > (1u << 24))
        capacity = 1u << 24;
    dp_jwt_cache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->cap = capacity;
    c->nbuckets = 16;
    while (c->nbuckets < capacity * 2)
        c->nbuckets *= 2;
    c->e = calloc(capacity, sizeof(*c->e));
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->e == NULL || c->buckets == NULL) {
        dp_jwt_cache_free(c);
        return NULL;
    }
    for (size_t i = 0; i < capacity; i++)
        c->e[i].next_in_bucket = i + 1 < capacity ? (uint32_t)(i + 2) : 0;
    c->free_head = 1;
    if (getrandom(c->seed, sizeof(c->seed), GRND_NONBLOCK) != (ssize_t)sizeof(c->seed)) {
        c->seed[0] = (uint64_t)(uintptr_t)c ^ 0x243f6a8885a308d3ull;
        c->seed[1] = (uint64_t)(uintptr_t)c->e ^ 0x13198a2e03707344ull;
    }
    return c;
}

void dp_jwt_cache_free(dp_jwt_cache_t *c)
{
    if (c == NULL)
        return;
    if (c->e)
        for (size_t i = 0; i < c->cap; i++)
            dp_jwt_free(c->e[i].jwt);
    free(c->e);
    free(c->buckets);
    free(c);
}

size_t dp_jwt_cache_size(const dp_jwt_cache_t *c)
{
    return c ? c->n : 0;
}

/* --- LRU list --- */

static void lru_unlink(dp_jwt_cache_t *c, uint32_t id)
{
    entry_t *x = &c->e[id - 1];
    if (x->prev)
        c->e[x->prev - 1].next = x->next;
    else
        c->mru = x->next;
    if (x->next)
        c->e[x->next - 1].prev = x->prev;
    else
        c->lru = x->prev;
    x->prev = x->next = 0;
}

static void lru_push_front(dp_jwt_cache_t *c, uint32_t id)
{
    entry_t *x = &c->e[id - 1];
    x->prev = 0;
    x->next = c->mru;
    if (c->mru)
        c->e[c->mru - 1].prev = id;
    c->mru = id;
    if (c->lru == 0)
        c->lru = id;
}

/* --- table --- */

static uint32_t *bucket_of(dp_jwt_cache_t *c, uint64_t h)
{
    return &c->buckets[h & (c->nbuckets - 1)];
}

/* Removes entry id from the table and the LRU list and frees its token. */
static void remove_entry(dp_jwt_cache_t *c, uint32_t id)
{
    entry_t *x = &c->e[id - 1];
    uint32_t *pp = bucket_of(c, x->hash);
    while (*pp != id)
        pp = &c->e[*pp - 1].next_in_bucket;
    *pp = x->next_in_bucket;
    lru_unlink(c, id);
    dp_jwt_free(x->jwt);
    x->jwt = NULL;
    x->next_in_bucket = c->free_head;
    c->free_head = id;
    c->n--;
}

static uint32_t find(dp_jwt_cache_t *c, const char *tok, size_t len, uint64_t h)
{
    for (uint32_t id = *bucket_of(c, h); id; id = c->e[id - 1].next_in_bucket) {
        const entry_t *x = &c->e[id - 1];
        if (x->hash == h && x->jwt->token_len == len && memcmp(x->jwt->token, tok, len) == 0)
            return id;
    }
    return 0;
}

const dp_jwt_t *dp_jwt_cache_lookup(dp_jwt_cache_t *c, const char *tok, size_t len, uint64_t now_s)
{
    if (c == NULL || len > DP_JWT_CACHE_MAX_TOKEN || c->n == 0)
        return NULL;
    uint64_t h = hash_token(c, tok, len);
    uint32_t id = find(c, tok, len, h);
    if (id == 0)
        return NULL;
    const dp_jwt_t *jwt = c->e[id - 1].jwt;
    if (dp_jwt_check_time(jwt, now_s, DP_JWT_DEFAULT_SKEW_S) == DP_JWT_EXPIRED) {
        remove_entry(c, id);
        return NULL;
    }
    if (c->mru != id) {
        lru_unlink(c, id);
        lru_push_front(c, id);
    }
    return jwt;
}

bool dp_jwt_cache_insert(dp_jwt_cache_t *c, dp_jwt_t *jwt)
{
    if (c == NULL || jwt == NULL || jwt->token_len > DP_JWT_CACHE_MAX_TOKEN)
        return false;
    uint64_t h = hash_token(c, jwt->token, jwt->token_len);
    uint32_t id = find(c, jwt->token, jwt->token_len, h);
    if (id)
        remove_entry(c, id);
    if (c->free_head == 0)
        remove_entry(c, c->lru);
    id = c->free_head;
    entry_t *x = &c->e[id - 1];
    c->free_head = x->next_in_bucket;
    x->jwt = jwt;
    x->hash = h;
    uint32_t *b = bucket_of(c, h);
    x->next_in_bucket = *b;
    *b = id;
    lru_push_front(c, id);
    c->n++;
    return true;
}
