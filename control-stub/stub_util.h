/* Small helpers of the control stub (a server tool: allocation failure
 * aborts with a message, as the style guide asks of server glue). */
#ifndef DP_STUB_UTIL_H
#define DP_STUB_UTIL_H

#include <stddef.h>

void *dp_stub_xmalloc(size_t n);
void *dp_stub_xcalloc(size_t n, size_t size);
void *dp_stub_xrealloc(void *p, size_t n);
char *dp_stub_xstrdup(const char *s);

/* Whole file, NUL-terminated, malloc'd; NULL with errno set on failure. */
char *dp_stub_read_file(const char *path, size_t *len);

/* One log line on stderr: "2026-11-23T05:17:59.123Z control-stub: ...". */
__attribute__((format(printf, 1, 2))) void dp_stub_log(const char *fmt, ...);

#endif
