/* Per-request bump allocator: everything a request builds (rewritten
 * headers, ids, formatted values) is freed at once with the request. */
#ifndef DP_CORE_ARENA_H
#define DP_CORE_ARENA_H

#include <stddef.h>

typedef struct dp_arena_chunk dp_arena_chunk_t;

typedef struct dp_arena {
    dp_arena_chunk_t *head;
    char *cur;
    size_t left;
} dp_arena_t; /* all-zero is a valid empty arena */

void *dp_arena_alloc(dp_arena_t *a, size_t n); /* 8-byte aligned, aborts on OOM */
char *dp_arena_strndup(dp_arena_t *a, const char *s, size_t n); /* NUL-terminated */
/* printf into the arena; returns the NUL-terminated string, *len its length */
char *dp_arena_printf(dp_arena_t *a, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void dp_arena_free(dp_arena_t *a);
/* Frees the calling thread's spare chunks (at thread exit). */
void dp_arena_cache_release(void);

#endif
