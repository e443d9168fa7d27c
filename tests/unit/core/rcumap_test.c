/* rcumap + QSBR: single-threaded semantics, then a writer churning keys
 * while reader threads look them up: every value a reader sees must be
 * alive (its magic intact) until the reader goes offline, and everything
 * is released in the end. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/qsbr.h"
#include "dataplane/core/rcumap.h"
#include "test.h"

#define MAGIC 0x5eedf00du

typedef struct val {
    unsigned magic;
    int id;
} val_t;

static _Atomic int live;

static val_t *val_new(int id)
{
    val_t *v = malloc(sizeof(*v));
    v->magic = MAGIC;
    v->id = id;
    atomic_fetch_add(&live, 1);
    return v;
}

static void val_release(void *p)
{
    val_t *v = p;
    v->magic = 0xdead;
    atomic_fetch_sub(&live, 1);
    free(v);
}

static void test_basic(void)
{
    dp_rcumap_t *m = dp_rcumap_new(val_release);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        dp_rcumap_put(m, key, strlen(key), val_new(i));
    }
    CHECK_INT(dp_rcumap_count(m), 1000);
    int found = 0;
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        val_t *v = dp_rcumap_get(m, key, strlen(key));
        found += v && v->id == i;
    }
    CHECK_INT(found, 1000);
    CHECK(dp_rcumap_get(m, "k1000", 5) == NULL);
    CHECK(dp_rcumap_get(m, "k1", 1) == NULL); /* prefix of a key is not the key */
    dp_rcumap_put(m, "k7", 2, val_new(-7));
    CHECK_INT(((val_t *)dp_rcumap_get(m, "k7", 2))->id, -7);
    CHECK_INT(dp_rcumap_count(m), 1000);
    CHECK_INT(dp_rcumap_del(m, "k7", 2), 1);
    CHECK_INT(dp_rcumap_del(m, "k7", 2), 0);
    CHECK(dp_rcumap_get(m, "k7", 2) == NULL);
    CHECK_INT(dp_rcumap_count(m), 999);
    dp_qsbr_barrier();
    CHECK_INT(atomic_load(&live), 999);
    dp_rcumap_free(m);
    CHECK_INT(atomic_load(&live), 0);
}

static dp_rcumap_t *shared;
static _Atomic int stop;
static _Atomic long bad, hits;

static void *reader(void *arg)
{
    (void)arg;
    dp_qsbr_reader_t *r = dp_qsbr_reader_register();
    char key[32];
    unsigned seed = 1;
    while (!atomic_load(&stop)) {
        dp_qsbr_online(r);
        for (int i = 0; i < 200; i++) {
            seed = seed * 1103515245 + 12345;
            int k = (int)(seed >> 8) % 512;
            snprintf(key, sizeof(key), "c%d", k);
            val_t *v = dp_rcumap_get(shared, key, strlen(key));
            if (v) {
                atomic_fetch_add(&hits, 1);
                if (v->magic != MAGIC || v->id % 512 != k)
                    atomic_fetch_add(&bad, 1);
            }
        }
        dp_qsbr_offline(r);
    }
    return NULL;
}

static void test_concurrent(void)
{
    shared = dp_rcumap_new(val_release);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, reader, NULL);
    char key[32];
    for (int round = 0; round < 200000; round++) {
        int k = round % 512;
        snprintf(key, sizeof(key), "c%d", k);
        if (round % 3 == 2)
            dp_rcumap_del(shared, key, strlen(key));
        else
            dp_rcumap_put(shared, key, strlen(key), val_new(k + 512 * (round % 7)));
        if (round % 64 == 0)
            dp_qsbr_reclaim();
    }
    atomic_store(&stop, 1);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    dp_qsbr_barrier();
    CHECK_INT(atomic_load(&bad), 0);
    CHECK(atomic_load(&hits) > 0);
    CHECK_INT(atomic_load(&live), (long)dp_rcumap_count(shared));
    dp_rcumap_free(shared);
    CHECK_INT(atomic_load(&live), 0);
}

int main(void)
{
    test_basic();
    test_concurrent();
    TEST_DONE();
}
