#include "dataplane/core/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* Per-thread cache of DP_BUF_CHUNK blocks: the I/O path allocates and
 * releases them constantly as connections go busy and idle. */
#define CACHE_MAX 64
static _Thread_local void *chunk_cache[CACHE_MAX];
static _Thread_local int chunk_cached;

static void *chunk_get(void)
{
    if (chunk_cached > 0)
        return chunk_cache[--chunk_cached];
    return dp_xmalloc(DP_BUF_CHUNK);
}

static void chunk_put(void *p)
{
    if (chunk_cached < CACHE_MAX)
        chunk_cache[chunk_cached++] = p;
    else
        free(p);
}

void dp_buf_cache_release(void)
{
    while (chunk_cached > 0)
        free(chunk_cache[--chunk_cached]);
}

/* Capacity past the 32-bit offsets: treated as running out of memory. */
static uint32_t cap_check(size_t cap)
{
    if (cap > UINT32_MAX) {
        fprintf(stderr, "fatal: a buffer would grow to %zu bytes\n", cap);
        abort();
    }
    return (uint32_t)cap;
}

static void release(dp_buf_t *b)
{
    if (b->base == NULL)
        return;
    if (b->cap == DP_BUF_CHUNK)
        chunk_put(b->base);
    else
        free(b->base);
    b->base = NULL;
    b->off = b->len = b->cap = 0;
}

char *dp_buf_reserve(dp_buf_t *b, size_t min, size_t *avail)
{
    if (b->base == NULL) {
        size_t cap = min <= DP_BUF_CHUNK ? DP_BUF_CHUNK : min;
        b->cap = cap_check(cap);
        b->base = cap == DP_BUF_CHUNK ? chunk_get() : dp_xmalloc(cap);
        b->off = b->len = 0;
    } else if ((size_t)(b->cap - b->off - b->len) < min) {
        if (b->off != 0) {
            memmove(b->base, b->base + b->off, b->len);
            b->off = 0;
        }
        if ((size_t)(b->cap - b->len) < min) {
            size_t cap = (size_t)b->cap * 2;
            while (cap - b->len < min)
                cap *= 2;
            char *nb = dp_xmalloc(cap_check(cap));
            memcpy(nb, b->base, b->len);
            if (b->cap == DP_BUF_CHUNK)
                chunk_put(b->base);
            else
                free(b->base);
            b->base = nb;
            b->cap = (uint32_t)cap;
        }
    }
    if (avail)
        *avail = b->cap - b->off - b->len;
    return b->base + b->off + b->len;
}

void dp_buf_commit(dp_buf_t *b, size_t n)
{
    b->len += (uint32_t)n; /* n <= what reserve offered: no overflow */
}

void dp_buf__append_slow(dp_buf_t *b, const void *p, size_t n)
{
    if (n == 0)
        return;
    char *dst = dp_buf_reserve(b, n, NULL);
    memcpy(dst, p, n);
    b->len += (uint32_t)n;
}

void dp_buf_consume(dp_buf_t *b, size_t n)
{
    if (n >= b->len) {
        release(b);
        return;
    }
    b->off += (uint32_t)n;
    b->len -= (uint32_t)n;
}

void dp_buf_free(dp_buf_t *b)
{
    release(b);
}
