/* Credential cache (see credcache.h): sharded, fixed-size, CLOCK eviction.
 *
 * Each shard owns `cap` slots and a chained hash index over them (bucket
 * heads plus a `next` link per slot). Slots never move: a free list holds
 * the unused ones (all of them at first, and those a purge empties); when
 * it is empty the CLOCK hand picks a victim. Keys are uniformly random
 * (keyed SHA-256), so their first bytes choose the shard and the bucket. */
#include "filters/auth/credcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "filters/auth/sha256.h"

#define NIL (-1)
#define MAX_SHARDS 16

typedef struct entry {
    uint8_t key[DP_CREDCACHE_KEY_LEN];
    uint64_t table_id;
    int32_t next; /* bucket chain, or free list */
    bool used;
    bool ref; /* CLOCK's second-chance bit */
} entry_t;

typedef struct shard {
    pthread_mutex_t mu;
    entry_t *e;
    int32_t *buckets;
    uint32_t cap, n, mask, hand;
    int32_t free_head;
} __attribute__((aligned(64))) shard_t; /* one cache line apart: no false sharing */

struct dp_credcache {
    unsigned n_shards;
    shard_t *shards;
};

/* --- keys -------------------------------------------------------------------- */

static uint8_t process_key[32];
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static _Atomic uint64_t next_table_id = 1;

static void key_init(void)
{
    if (RAND_bytes(process_key, sizeof(process_key)) != 1 &&
        getrandom(process_key, sizeof(process_key), 0) != (ssize_t)sizeof(process_key)) {
        /* a guessable key would make cache slots predictable: refuse to run */
        fprintf(stderr, "credcache: no randomness for the cache key\n");
        abort();
    }
}

uint64_t dp_credcache_table_id(void)
{
    return atomic_fetch_add_explicit(&next_table_id, 1, memory_order_relaxed);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

int dp_credcache_key(uint64_t table_id, dp_slice_t user, dp_slice_t password,
                     uint8_t key[DP_CREDCACHE_KEY_LEN])
{
    pthread_once(&key_once, key_init);
    /* the user's length keeps ("ab","c") and ("a","bc") apart */
    uint8_t hdr[16];
    put_u64(hdr, table_id);
    put_u64(hdr + 8, (uint64_t)user.len);
    const dp_slice_t parts[] = {{(const char *)process_key, sizeof(process_key)},
                                {(const char *)hdr, sizeof(hdr)},
                                user,
                                password};
    return dp_sha256(parts, 4, key) ? 0 : DP_ERR;
}

static uint32_t key_word(const uint8_t *key, int at)
{
    return (uint32_t)key[at] | (uint32_t)key[at + 1] << 8 | (uint32_t)key[at + 2] << 16 |
           (uint32_t)key[at + 3] << 24;
}

/* --- shards ------------------------------------------------------------------ */

static int shard_init(shard_t *s, uint32_t cap)
{
    uint32_t nb = 2;
    while (nb < cap * 2)
        nb <<= 1;
    s->e = calloc(cap, sizeof(*s->e));
    s->buckets = malloc(nb * sizeof(*s->buckets));
    if (s->e == NULL || s->buckets == NULL) {
        free(s->e);
        free(s->buckets);
        s->e = NULL;
        s->buckets = NULL;
        return DP_ENOMEM;
    }
    for (uint32_t i = 0; i < nb; i++)
        s->buckets[i] = NIL;
    for (uint32_t i = 0; i < cap; i++)
        s->e[i].next = i + 1 < cap ? (int32_t)(i + 1) : NIL;
    s->free_head = 0;
    s->cap = cap;
    s->mask = nb - 1;
    pthread_mutex_init(&s->mu, NULL);
    return 0;
}

static shard_t *shard_of(dp_credcache_t *c, const uint8_t *key)
{
    return &c->shards[key_word(key, 0) % c->n_shards];
}

static int32_t *bucket_of(shard_t *s, const uint8_t *key)
{
    return &s->buckets[key_word(key, 4) & s->mask];
}

static int32_t find(shard_t *s, uint64_t table_id, const uint8_t *key)
{
    for (int32_t i = *bucket_of(s, key); i != NIL; i = s->e[i].next) {
        entry_t *e = &s->e[i];
        /* constant time, though the keys are keyed digests an attacker cannot aim at */
        if (e->table_id == table_id && CRYPTO_memcmp(e->key, key, DP_CREDCACHE_KEY_LEN) == 0)
            return i;
    }
    return NIL;
}

/* Unlinks slot i from its bucket chain and returns it to the free list. */
static void drop_slot(shard_t *s, int32_t i)
{
    entry_t *e = &s->e[i];
    int32_t *pp = bucket_of(s, e->key);
    while (*pp != i)
        pp = &s->e[*pp].next;
    *pp = e->next;
    OPENSSL_cleanse(e->key, sizeof(e->key));
    e->used = e->ref = false;
    e->table_id = 0;
    e->next = s->free_head;
    s->free_head = i;
    s->n--;
}

/* A free slot, evicting the first unreferenced one under the CLOCK hand
 * when there is none. */
static int32_t take_slot(shard_t *s)
{
    if (s->free_head == NIL) {
        for (;;) {
            entry_t *e = &s->e[s->hand];
            int32_t i = (int32_t)s->hand;
            s->hand = (s->hand + 1) % s->cap;
            if (e->ref) {
                e->ref = false;
                continue;
            }
            drop_slot(s, i);
            break;
        }
    }
    int32_t i = s->free_head;
    s->free_head = s->e[i].next;
    return i;
}

/* --- API ----------------------------------------------------------------------- */

dp_credcache_t *dp_credcache_new(size_t capacity)
{
    if (capacity == 0 || capacity > INT32_MAX)
        return NULL;
    dp_credcache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->n_shards = capacity >= (size_t)MAX_SHARDS * 4 ? MAX_SHARDS : 1;
    uint32_t per = (uint32_t)(capacity / c->n_shards);
    if (posix_memalign((void **)&c->shards, 64, c->n_shards * sizeof(shard_t)) != 0) {
        free(c);
        return NULL;
    }
    memset(c->shards, 0, c->n_shards * sizeof(shard_t));
    for (unsigned i = 0; i < c->n_shards; i++) {
        if (shard_init(&c->shards[i], per) < 0) {
            c->n_shards = i; /* free what was made */
            dp_credcache_free(c);
            return NULL;
        }
    }
    return c;
}

void dp_credcache_free(dp_credcache_t *c)
{
    if (c == NULL)
        return;
    for (unsigned i = 0; i < c->n_shards; i++) {
        shard_t *s = &c->shards[i];
        OPENSSL_cleanse(s->e, s->cap * sizeof(*s->e));
        free(s->e);
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(c->shards);
    free(c);
}

static dp_credcache_t *default_cache;
static pthread_once_t default_once = PTHREAD_ONCE_INIT;

static void default_init(void)
{
    default_cache = dp_credcache_new(DP_CREDCACHE_DEFAULT_CAPACITY);
    if (default_cache == NULL) {
        fprintf(stderr, "credcache: out of memory\n");
        abort();
    }
}

dp_credcache_t *dp_credcache_default(void)
{
    pthread_once(&default_once, default_init);
    return default_cache;
}

bool dp_credcache_lookup(dp_credcache_t *c, uint64_t table_id, const uint8_t key[DP_CREDCACHE_KEY_LEN])
{
    shard_t *s = shard_of(c, key);
    pthread_mutex_lock(&s->mu);
    int32_t i = find(s, table_id, key);
    if (i != NIL)
        s->e[i].ref = true;
    pthread_mutex_unlock(&s->mu);
    return i != NIL;
}

void dp_credcache_insert(dp_credcache_t *c, uint64_t table_id, const uint8_t key[DP_CREDCACHE_KEY_LEN])
{
    shard_t *s = shard_of(c, key);
    pthread_mutex_lock(&s->mu);
    int32_t i = find(s, table_id, key);
    if (i == NIL) {
        i = take_slot(s);
        entry_t *e = &s->e[i];
        memcpy(e->key, key, DP_CREDCACHE_KEY_LEN);
        e->table_id = table_id;
        e->used = true;
        /* a new entry gets no second chance until it is hit once: a burst
         * of one-off logins cannot push out the entries that are in use */
        e->ref = false;
        int32_t *b = bucket_of(s, key);
        e->next = *b;
        *b = i;
        s->n++;
    } else {
        s->e[i].ref = true;
    }
    pthread_mutex_unlock(&s->mu);
}

size_t dp_credcache_purge(dp_credcache_t *c, uint64_t table_id)
{
    size_t n = 0;
    for (unsigned k = 0; k < c->n_shards; k++) {
        shard_t *s = &c->shards[k];
        pthread_mutex_lock(&s->mu);
        for (uint32_t i = 0; i < s->cap; i++) {
            if (s->e[i].used && s->e[i].table_id == table_id) {
                drop_slot(s, (int32_t)i);
                n++;
            }
        }
        pthread_mutex_unlock(&s->mu);
    }
    return n;
}

size_t dp_credcache_count(dp_credcache_t *c)
{
    size_t n = 0;
    for (unsigned k = 0; k < c->n_shards; k++) {
        pthread_mutex_lock(&c->shards[k].mu);
        n += c->shards[k].n;
        pthread_mutex_unlock(&c->shards[k].mu);
    }
    return n;
}

size_t dp_credcache_capacity(const dp_credcache_t *c)
{
    return (size_t)c->n_shards * c->shards[0].cap;
}
