/* Growable byte buffers for socket I/O.
 *
 * An all-zero dp_buf_t is a valid empty buffer. Data lives at
 * base + off, len bytes. Buffers of the standard size come from a per-thread
 * free list and go back to it when a buffer becomes empty, so an idle
 * connection holds no buffer memory at all. */
#ifndef DP_CORE_BUF_H
#define DP_CORE_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define DP_BUF_CHUNK (16 * 1024)

/* 32-bit offsets: 24 bytes rather than 32 in every socket (twice) and
 * stream. A buffer never holds 4 GiB (backpressure keeps them to a few
 * chunks); growing one that far aborts as out of memory. */
typedef struct dp_buf {
    char *base;
    uint32_t off; /* start of data */
    uint32_t len; /* bytes of data */
    uint32_t cap; /* allocated bytes at base */
} dp_buf_t;

static inline char *dp_buf_data(const dp_buf_t *b)
{
    return b->base + b->off;
}

/* Returns a pointer to at least `min` writable bytes after the data
 * (compacting or growing as needed; aborts on OOM). *avail gets the number
 * of writable bytes. */
char *dp_buf_reserve(dp_buf_t *b, size_t min, size_t *avail);
/* Marks n bytes after the data as written. */
void dp_buf_commit(dp_buf_t *b, size_t n);
/* Appends n bytes (a copy). Inline for the common case of room in the
 * buffer: serializers append many short pieces. */
void dp_buf__append_slow(dp_buf_t *b, const void *p, size_t n);
static inline void dp_buf_append(dp_buf_t *b, const void *p, size_t n)
{
    if (n - 1 < (size_t)(b->cap - b->off - b->len)) { /* 0 < n <= room */
        memcpy(b->base + b->off + b->len, p, n);
        b->len += (uint32_t)n;
        return;
    }
    dp_buf__append_slow(b, p, n);
}
/* Drops n bytes from the front; releases the memory when empty. */
void dp_buf_consume(dp_buf_t *b, size_t n);
void dp_buf_free(dp_buf_t *b);
/* Frees the calling thread's cache of standard buffers (at thread exit). */
void dp_buf_cache_release(void);

#endif
