/* Small helpers of the control stub (a server tool: allocation failure
 * aborts with a message, as the style guide asks of server glue). */
#ifndef DP_STUB_UTIL_H
#define DP_STUB_UTIL_H

#include <stddef.h>

void *dp_stub_xmalloc(size_t n);
void *dp_stub_xcalloc(size_t n, size_t size);
void *dp_stub_xrealloc(void *p, size_t n);
char *dp_stub_xstrdup(const char *s);

/* A string -> index map (open addressing) for the fleet parser's
 * uniqueness checks and lookups, so that a fleet of N containers parses in
 * O(N) rather than O(N^2). Keys are borrowed: they must outlive the index. */
typedef struct dp_stub_index {
    const char **keys;
    size_t *vals;
    size_t cap, n;
} dp_stub_index_t;

/* Returns the value of key, or (size_t)-1. */
size_t dp_stub_index_get(const dp_stub_index_t *x, const char *key);
/* Adds key -> val (the key must not be present). */
void dp_stub_index_put(dp_stub_index_t *x, const char *key, size_t val);
/* Changes the value of a present key; removes a key (no-op if absent). */
void dp_stub_index_set(dp_stub_index_t *x, const char *key, size_t val);
void dp_stub_index_del(dp_stub_index_t *x, const char *key);
void dp_stub_index_free(dp_stub_index_t *x);

/* Whole file, NUL-terminated, malloc'd; NULL with errno set on failure. */
char *dp_stub_read_file(const char *path, size_t *len);

/* One log line on stderr: "2026-11-23T05:17:59.123Z control-stub: ...". */
__attribute__((format(printf, 1, 2))) void dp_stub_log(const char *fmt, ...);

#endif
