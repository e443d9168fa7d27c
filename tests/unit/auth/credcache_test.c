/* filters/auth/credcache: keyed digests that separate table, user and
 * password; hits and misses; the size bound under many inserts (one shard
 * and sixteen); CLOCK's second chance; purging a table's entries; threads
 * sharing the cache; and a hit costing well under 2 us. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "filters/auth/credcache.h"
#include "test.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif

static void key_of(uint64_t table, const char *user, const char *pw, uint8_t key[DP_CREDCACHE_KEY_LEN])
{
    int rc = dp_credcache_key(table, dp_slice_cstr(user), dp_slice_cstr(pw), key);
    CHECK_INT(rc, 0);
}

static void test_keys(void)
{
    uint8_t a[32], b[32];
    key_of(1, "alice", "pw", a);
    key_of(1, "alice", "pw", b);
    CHECK(memcmp(a, b, 32) == 0);
    key_of(2, "alice", "pw", b);
    CHECK(memcmp(a, b, 32) != 0); /* another table */
    key_of(1, "alice", "pW", b);
    CHECK(memcmp(a, b, 32) != 0); /* another password */
    key_of(1, "alicf", "pw", b);
    CHECK(memcmp(a, b, 32) != 0);
    /* the user's length is in the digest: ("ab","c") is not ("a","bc") */
    key_of(1, "ab", "c", a);
    key_of(1, "a", "bc", b);
    CHECK(memcmp(a, b, 32) != 0);
    key_of(1, "", "", a);
    key_of(1, "", "x", b);
    CHECK(memcmp(a, b, 32) != 0);

    uint64_t t1 = dp_credcache_table_id(), t2 = dp_credcache_table_id();
    CHECK(t1 != 0 && t2 != 0 && t1 != t2);
}

static void test_hit_miss(void)
{
    dp_credcache_t *c = dp_credcache_new(32);
    CHECK(c != NULL);
    CHECK_INT(dp_credcache_capacity(c), 32);
    uint8_t right[32], wrong[32];
    key_of(7, "bob", "right", right);
    key_of(7, "bob", "wrong", wrong);
    CHECK(!dp_credcache_lookup(c, 7, right));
    dp_credcache_insert(c, 7, right);
    CHECK(dp_credcache_lookup(c, 7, right));
    /* a wrong password after a right one is a miss, never a hit */
    CHECK(!dp_credcache_lookup(c, 7, wrong));
    /* the same digest under another table id does not match */
    CHECK(!dp_credcache_lookup(c, 8, right));
    dp_credcache_insert(c, 7, right); /* again: no second entry */
    CHECK_INT(dp_credcache_count(c), 1);
    dp_credcache_free(c);
    CHECK(dp_credcache_new(0) == NULL);
}

static void test_bound(size_t cap)
{
    dp_credcache_t *c = dp_credcache_new(cap);
    size_t capacity = dp_credcache_capacity(c);
    CHECK(capacity <= cap && capacity >= cap - 16);
    uint8_t k[32];
    char pw[32];
    for (int i = 0; i < 20000; i++) {
        snprintf(pw, sizeof(pw), "pw%d", i);
        key_of(3, "u", pw, k);
        dp_credcache_insert(c, 3, k);
        if (dp_credcache_count(c) > capacity) {
            CHECK(dp_credcache_count(c) <= capacity);
            break;
        }
    }
    CHECK_INT(dp_credcache_count(c), capacity);
    /* the last one inserted is there; the first ones were evicted */
    CHECK(dp_credcache_lookup(c, 3, k));
    key_of(3, "u", "pw0", k);
    CHECK(!dp_credcache_lookup(c, 3, k));
    dp_credcache_free(c);
}

/* CLOCK: with 8 slots full, a hit on A lets A survive the next eviction,
 * which takes the oldest unreferenced entry (B) instead. */
static void test_clock(void)
{
    dp_credcache_t *c = dp_credcache_new(8);
    uint8_t k[9][32];
    char pw[8];
    for (int i = 0; i < 9; i++) {
        snprintf(pw, sizeof(pw), "%c", 'A' + i);
        key_of(5, "u", pw, k[i]);
    }
    for (int i = 0; i < 8; i++)
        dp_credcache_insert(c, 5, k[i]);
    CHECK_INT(dp_credcache_count(c), 8);
    CHECK(dp_credcache_lookup(c, 5, k[0])); /* A referenced */
    dp_credcache_insert(c, 5, k[8]);        /* I: evicts one */
    CHECK_INT(dp_credcache_count(c), 8);
    CHECK(dp_credcache_lookup(c, 5, k[0]));  /* A kept */
    CHECK(!dp_credcache_lookup(c, 5, k[1])); /* B evicted */
    CHECK(dp_credcache_lookup(c, 5, k[8]));
    for (int i = 2; i < 8; i++)
        CHECK(dp_credcache_lookup(c, 5, k[i]));
    dp_credcache_free(c);
}

static void test_purge(void)
{
    dp_credcache_t *c = dp_credcache_new(1024);
    uint8_t k[32];
    char pw[16];
    for (int i = 0; i < 100; i++) {
        snprintf(pw, sizeof(pw), "p%d", i);
        key_of(10, "u", pw, k);
        dp_credcache_insert(c, 10, k);
        key_of(11, "u", pw, k);
        dp_credcache_insert(c, 11, k);
    }
    CHECK_INT(dp_credcache_count(c), 200);
    CHECK_INT(dp_credcache_purge(c, 10), 100);
    CHECK_INT(dp_credcache_count(c), 100);
    key_of(10, "u", "p5", k);
    CHECK(!dp_credcache_lookup(c, 10, k));
    key_of(11, "u", "p5", k);
    CHECK(dp_credcache_lookup(c, 11, k));
    CHECK_INT(dp_credcache_purge(c, 10), 0);
    /* freed slots are reused */
    for (int i = 0; i < 100; i++) {
        snprintf(pw, sizeof(pw), "q%d", i);
        key_of(12, "u", pw, k);
        dp_credcache_insert(c, 12, k);
        CHECK(dp_credcache_lookup(c, 12, k));
    }
    CHECK_INT(dp_credcache_count(c), 200);
    dp_credcache_free(c);
}

typedef struct {
    dp_credcache_t *c;
    int id;
    int hits;
} thr_t;

static void *thr_main(void *arg)
{
    thr_t *t = arg;
    uint8_t k[32];
    char pw[32];
    for (int i = 0; i < 3000; i++) {
        snprintf(pw, sizeof(pw), "t%d-%d", t->id, i % 100);
        dp_credcache_key(20, dp_slice_cstr("u"), dp_slice_cstr(pw), k);
        if (dp_credcache_lookup(t->c, 20, k))
            t->hits++;
        else
            dp_credcache_insert(t->c, 20, k);
        if (i % 500 == 0)
            dp_credcache_purge(t->c, 21);
    }
    return NULL;
}

static void test_threads(void)
{
    dp_credcache_t *c = dp_credcache_new(4096);
    pthread_t th[4];
    thr_t t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (thr_t){c, i, 0};
        pthread_create(&th[i], NULL, thr_main, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].hits, 2900); /* 100 distinct keys per thread, all fit */
    }
    CHECK_INT(dp_credcache_count(c), 400);
    dp_credcache_free(c);
}

/* A repeated verification costs a digest and a lookup: < 2 us. */
static void test_hit_cost(void)
{
    dp_credcache_t *c = dp_credcache_default();
    CHECK(c == dp_credcache_default());
    uint64_t table = dp_credcache_table_id();
    uint8_t k[32];
    key_of(table, "alice", "correct horse battery staple", k);
    dp_credcache_insert(c, table, k);
    const int n = 20000;
    int hits = 0;
    uint64_t t0 = dp_now_ns();
    for (int i = 0; i < n; i++) {
        dp_credcache_key(table, dp_slice_cstr("alice"), dp_slice_cstr("correct horse battery staple"), k);
        hits += dp_credcache_lookup(c, table, k);
    }
    double per_us = (double)(dp_now_ns() - t0) / n / 1000.0;
    CHECK_INT(hits, n);
    printf("credcache: key + hit = %.2f us (printed; bench/ holds the target)\n", per_us);
    CHECK_INT(dp_credcache_purge(c, table), 1);
}

int main(void)
{
    test_keys();
    test_hit_miss();
    test_bound(32);
    test_bound(4096); /* sixteen shards */
    test_bound(100);  /* rounded down to a multiple of the shards */
    test_clock();
    test_purge();
    test_threads();
    test_hit_cost();
    TEST_DONE();
}
