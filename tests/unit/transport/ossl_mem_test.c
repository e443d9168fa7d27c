/* The per-thread block cache for OpenSSL (dataplane/transport/ossl_mem.c):
 * blocks are reused per size class and bounded (small ones and record
 * buffers), realloc keeps the bytes,
 * a block freed on another thread is fine, a thread's cache is emptied at
 * its exit, and OpenSSL really allocates through it (a
 * digest context leaves blocks cached). */
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "dataplane/transport/ossl_mem.h"
#include "test.h"

#define M(n) dp_ossl_mem_malloc((n), __FILE__, __LINE__)
#define F(p) dp_ossl_mem_free((p), __FILE__, __LINE__)
#define R(p, n) dp_ossl_mem_realloc((p), (n), __FILE__, __LINE__)

static void test_reuse(void)
{
    dp_ossl_mem_trim();
    void *a = M(40);
    CHECK(a != NULL);
    memset(a, 0xab, 40);
    F(a);
    CHECK_INT(dp_ossl_mem_cached(), 1);
    void *b = M(33); /* same 48-byte class: the same block comes back */
    CHECK(b == a);
    CHECK_INT(dp_ossl_mem_cached(), 0);
    F(b);
    void *big = M(4 * DP_OSSL_MEM_BIG_MAX); /* above the classes: not cached */
    F(big);
    CHECK_INT(dp_ossl_mem_cached(), 1);
    void *z = M(0); /* a valid, freeable block */
    CHECK(z != NULL);
    F(z);
    F(NULL);
    dp_ossl_mem_trim();
    CHECK_INT(dp_ossl_mem_cached(), 0);
}

/* What the cache should hold after freeing v[0..n) (small blocks): per
 * 16-byte class of their usable sizes (malloc may hand out a chunk a
 * little larger than asked), at most the cap. */
static size_t expect_small(void **v, size_t n)
{
    size_t per[DP_OSSL_MEM_MAX / 16 + 2] = {0}, t = 0;
    for (size_t i = 0; i < n; i++)
        per[malloc_usable_size(v[i]) / 16]++;
    for (size_t k = 0; k < sizeof per / sizeof per[0]; k++)
        t += per[k] < DP_OSSL_MEM_PER_CLASS ? per[k] : DP_OSSL_MEM_PER_CLASS;
    return t;
}

static void test_bounded(void)
{
    enum { N = 3 * DP_OSSL_MEM_PER_CLASS };
    void *v[N];
    for (size_t i = 0; i < N; i++)
        v[i] = M(100);
    size_t want = expect_small(v, N);
    for (size_t i = 0; i < N; i++)
        F(v[i]);
    CHECK_INT(dp_ossl_mem_cached(), want);
    CHECK(want < N); /* bounded: most of one class went back to malloc */
    dp_ossl_mem_trim();
}

/* record buffers: ~17 KiB blocks come back, a few per class */
static void test_big(void)
{
    dp_ossl_mem_trim();
    void *a = M(17 * 1024 + 100);
    F(a);
    CHECK_INT(dp_ossl_mem_cached(), 1);
    void *b = M(16 * 1024 + 1); /* same 20 KiB class */
    CHECK(b == a);
    F(b);
    void *small = M(2000); /* a 4 KiB-class block, not the 20 KiB one */
    CHECK(small != a);
    F(small);
    CHECK_INT(dp_ossl_mem_cached(), 2);
    void *v[DP_OSSL_MEM_BIG_PER_CLASS + 4];
    for (size_t i = 0; i < DP_OSSL_MEM_BIG_PER_CLASS + 4; i++)
        v[i] = M(18000);
    for (size_t i = 0; i < DP_OSSL_MEM_BIG_PER_CLASS + 4; i++)
        F(v[i]);
    CHECK_INT(dp_ossl_mem_cached(), DP_OSSL_MEM_BIG_PER_CLASS + 1);
    dp_ossl_mem_trim();
}

static void test_realloc(void)
{
    unsigned char *p = R(NULL, 20);
    CHECK(p != NULL);
    for (int i = 0; i < 20; i++)
        p[i] = (unsigned char)i;
    p = R(p, 3000); /* grows past the cached sizes */
    int same = 1;
    for (int i = 0; i < 20; i++)
        same &= p[i] == (unsigned char)i;
    CHECK(same);
    p[2999] = 7;
    p = R(p, 10); /* shrinks into a small class: the bytes kept */
    same = 1;
    for (int i = 0; i < 10; i++)
        same &= p[i] == (unsigned char)i;
    CHECK(same);
    CHECK(R(p, 0) == NULL); /* frees */
    dp_ossl_mem_trim();
}

static void *alloc_many(void *arg)
{
    void **v = arg;
    for (int i = 0; i < 32; i++)
        v[i] = M(64);
    return NULL;
}

static void *free_and_exit(void *arg)
{
    void **v = arg;
    for (int i = 0; i < 32; i++)
        F(v[i]);
    /* cached here; the thread's exit must free them (LeakSanitizer and
     * valgrind would see them lost otherwise) */
    return (void *)(uintptr_t)dp_ossl_mem_cached();
}

static void test_threads(void)
{
    void *v[32];
    pthread_t t;
    pthread_create(&t, NULL, alloc_many, v);
    pthread_join(t, NULL);
    void *cached = NULL;
    pthread_create(&t, NULL, free_and_exit, v); /* freed on another thread */
    pthread_join(t, &cached);
    CHECK_INT((int)(uintptr_t)cached, 32);
    CHECK_INT(dp_ossl_mem_cached(), 0); /* nothing of theirs here */
}

static void test_openssl_uses_it(void)
{
    if (!dp_ossl_mem_install()) {
#if defined(__SANITIZE_ADDRESS__)
        printf("# ASan build: the cache is off by design\n");
#else
        CHECK(!"CRYPTO_set_mem_functions refused: OpenSSL allocated before the test");
#endif
        return;
    }
    dp_ossl_mem_trim();
    /* a digest context: OpenSSL mallocs and frees small blocks */
    for (int i = 0; i < 4; i++) {
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        CHECK(c != NULL);
        EVP_MD_CTX_free(c);
    }
    CHECK(dp_ossl_mem_cached() > 0);
    unsigned char buf[16];
    CHECK_INT(RAND_bytes(buf, sizeof buf), 1);
}

int main(void)
{
    /* first: nothing of OpenSSL may have allocated before */
    test_openssl_uses_it();
    test_reuse();
    test_bounded();
    test_big();
    test_realloc();
    test_threads();
    dp_ossl_mem_trim();
    TEST_DONE();
}
