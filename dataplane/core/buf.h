/* Growable byte buffers for socket I/O.
 *
 * An all-zero dp_buf_t is a valid empty buffer. Data lives at
 * base + off, len bytes. Buffers of the standard size come from a per-thread
 * free list and go back to it when a buffer becomes empty, so an idle
 * connection holds no buffer memory at all. */
#ifndef DP_CORE_BUF_H
#define DP_CORE_BUF_H

#include <stddef.h>

#define DP_BUF_CHUNK (16 * 1024)

typedef struct dp_buf {
    char *base;
    size_t off; /* start of data */
    size_t len; /* bytes of data */
    size_t cap; /* allocated bytes at base */
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
void dp_buf_append(dp_buf_t *b, const void *p, size_t n);
/* Drops n bytes from the front; releases the memory when empty. */
void dp_buf_consume(dp_buf_t *b, size_t n);
void dp_buf_free(dp_buf_t *b);
/* Frees the calling thread's cache of standard buffers (at thread exit). */
void dp_buf_cache_release(void);

#endif
