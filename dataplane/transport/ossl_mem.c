/* Per-thread cache of small blocks for OpenSSL (see ossl_mem.h). */
#include "dataplane/transport/ossl_mem.h"

#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define GRAIN 16
#define NSMALL (DP_OSSL_MEM_MAX / GRAIN + 1) /* class k: usable size >= k * GRAIN */
/* record buffers (SSL_MODE_RELEASE_BUFFERS allocates and frees them per
 * read and write): classes of 4 KiB steps up to DP_OSSL_MEM_BIG_MAX */
#define BIG_GRAIN 4096
#define NBIG (DP_OSSL_MEM_BIG_MAX / BIG_GRAIN + 1)
#define NCLASS (NSMALL + NBIG)

typedef struct block {
    struct block *next;
} block_t;

typedef struct cache {
    block_t *head[NCLASS];
    uint16_t n[NCLASS];
    bool registered; /* the thread-exit destructor knows this cache */
} cache_t;

/* The class serving a request of n bytes and the size to allocate for it
 * (n <= DP_OSSL_MEM_BIG_MAX). */
static size_t class_for(size_t n, size_t *alloc)
{
    if (n <= DP_OSSL_MEM_MAX) {
        size_t k = (n + GRAIN - 1) / GRAIN;
        *alloc = k * GRAIN;
        return k;
    }
    size_t k = (n + BIG_GRAIN - 1) / BIG_GRAIN;
    *alloc = k * BIG_GRAIN;
    return NSMALL + k;
}

/* The class a block of usable size u belongs to (every request of that
 * class fits it), or NCLASS: not cached. */
static size_t class_of_block(size_t u)
{
    if (u < GRAIN)
        return NCLASS;
    if (u / GRAIN < NSMALL)
        return u / GRAIN;
    size_t k = u / BIG_GRAIN;
    return k >= 1 && k < NBIG ? NSMALL + k : NCLASS;
}

static unsigned cap_of(size_t k)
{
    return k < NSMALL ? DP_OSSL_MEM_PER_CLASS : DP_OSSL_MEM_BIG_PER_CLASS;
}

static _Thread_local cache_t tcache;
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void trim(cache_t *c)
{
    for (size_t k = 0; k < NCLASS; k++) {
        while (c->head[k] != NULL) {
            block_t *b = c->head[k];
            c->head[k] = b->next;
            free(b);
        }
        c->n[k] = 0;
    }
}

static void on_thread_exit(void *arg)
{
    trim(arg);
}

static void key_init(void)
{
    (void)pthread_key_create(&exit_key, on_thread_exit);
}

/* The destructor runs only for a non-NULL value: set on first caching. */
static void register_exit(cache_t *c)
{
    pthread_once(&key_once, key_init);
    c->registered = pthread_setspecific(exit_key, c) == 0;
}

void *dp_ossl_mem_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n == 0)
        n = 1;
    if (n > DP_OSSL_MEM_BIG_MAX)
        return malloc(n);
    size_t alloc;
    size_t k = class_for(n, &alloc);
    cache_t *c = &tcache;
    block_t *b = c->head[k];
    if (b != NULL) {
        c->head[k] = b->next;
        c->n[k]--;
        return b;
    }
    return malloc(alloc); /* usable >= alloc: back to class k (or above) when freed */
}

void dp_ossl_mem_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (p == NULL)
        return;
    size_t k = class_of_block(malloc_usable_size(p));
    cache_t *c = &tcache;
    if (k >= NCLASS || c->n[k] >= cap_of(k)) {
        free(p);
        return;
    }
    if (!c->registered) {
        register_exit(c);
        if (!c->registered) {
            free(p); /* no way to free at thread exit: do not cache */
            return;
        }
    }
    block_t *b = p;
    b->next = c->head[k];
    c->head[k] = b;
    c->n[k]++;
}

void *dp_ossl_mem_realloc(void *p, size_t n, const char *file, int line)
{
    if (p == NULL)
        return dp_ossl_mem_malloc(n, file, line);
    if (n == 0) { /* OpenSSL frees itself before; be C's realloc anyway */
        dp_ossl_mem_free(p, file, line);
        return NULL;
    }
    size_t have = malloc_usable_size(p);
    if (n <= have && (n > DP_OSSL_MEM_BIG_MAX || have - n < have / 4))
        return p; /* fits without wasting much */
    void *q = dp_ossl_mem_malloc(n, file, line);
    if (q == NULL)
        return NULL;
    memcpy(q, p, have < n ? have : n);
    dp_ossl_mem_free(p, file, line);
    return q;
}

void dp_ossl_mem_trim(void)
{
    trim(&tcache);
}

size_t dp_ossl_mem_cached(void)
{
    size_t t = 0;
    for (size_t k = 0; k < NCLASS; k++)
        t += tcache.n[k];
    return t;
}

bool dp_ossl_mem_install(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return false;
#else
    return CRYPTO_set_mem_functions(dp_ossl_mem_malloc, dp_ossl_mem_realloc, dp_ossl_mem_free) == 1;
#endif
}
