#include "dataplane/core/arena.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

struct dp_arena_chunk {
    dp_arena_chunk_t *next;
    size_t size;
    char data[];
};

#define ARENA_CHUNK 4000

/* Standard chunks freed by a thread are kept for its next requests (a 4 KB
 * block is past glibc's per-thread cache, and every request takes one):
 * at most SPARE_MAX per thread, so an idle worker holds 64 KB at most.
 * None under ASan, which is to see every use after free. */
#if defined(__SANITIZE_ADDRESS__)
#define SPARE_MAX 0
#else
#define SPARE_MAX 16
#endif
static __thread dp_arena_chunk_t *spare;
static __thread unsigned spare_n;

static dp_arena_chunk_t *chunk_new(size_t size)
{
    if (size == ARENA_CHUNK && spare) {
        dp_arena_chunk_t *c = spare;
        spare = c->next;
        spare_n--;
        return c;
    }
    dp_arena_chunk_t *c = dp_xmalloc(sizeof(*c) + size + 8);
    c->size = size;
    return c;
}

static void chunk_free(dp_arena_chunk_t *c)
{
#if SPARE_MAX > 0
    if (c->size == ARENA_CHUNK && spare_n < SPARE_MAX) {
        c->next = spare;
        spare = c;
        spare_n++;
        return;
    }
#endif
    free(c);
}

void *dp_arena_alloc(dp_arena_t *a, size_t n)
{
    n = (n + 7) & ~(size_t)7;
    if (n > a->left) {
        size_t size = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        dp_arena_chunk_t *c = chunk_new(size);
        c->next = a->head;
        a->head = c;
        /* align the start of data to 8 */
        uintptr_t p = ((uintptr_t)c->data + 7) & ~(uintptr_t)7;
        a->cur = (char *)p;
        a->left = size;
    }
    void *r = a->cur;
    a->cur += n;
    a->left -= n;
    return r;
}

char *dp_arena_strndup(dp_arena_t *a, const char *s, size_t n)
{
    char *p = dp_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *dp_arena_printf(dp_arena_t *a, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = dp_arena_alloc(a, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    if (len)
        *len = (size_t)n;
    return p;
}

void dp_arena_cache_release(void)
{
    while (spare) {
        dp_arena_chunk_t *c = spare;
        spare = c->next;
        free(c);
    }
    spare_n = 0;
}

void dp_arena_free(dp_arena_t *a)
{
    dp_arena_chunk_t *c = a->head;
    while (c) {
        dp_arena_chunk_t *n = c->next;
        chunk_free(c);
        c = n;
    }
    a->head = NULL;
    a->cur = NULL;
    a->left = 0;
}
