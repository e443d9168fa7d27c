/* Basic types shared by every layer: borrowed byte slices, error codes,
 * refcount helpers. */
#ifndef DP_CORE_COMMON_H
#define DP_CORE_COMMON_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* A borrowed run of bytes; the owner is whoever the API says. Not
 * NUL-terminated unless said so. */
typedef struct dp_slice {
    const char *base;
    size_t len;
} dp_slice_t;

#define DP_SLICE_LIT(s) ((dp_slice_t){(s), sizeof(s) - 1})
#define DP_SLICE_NULL ((dp_slice_t){NULL, 0})

static inline dp_slice_t dp_slice(const char *s, size_t len)
{
    return (dp_slice_t){s, len};
}

static inline dp_slice_t dp_slice_cstr(const char *s)
{
    return (dp_slice_t){s, s ? strlen(s) : 0};
}

static inline int dp_slice_eq(dp_slice_t a, dp_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.base, b.base, a.len) == 0);
}

/* ASCII case-insensitive equality (HTTP header names, hostnames). */
int dp_slice_eq_nocase(dp_slice_t a, dp_slice_t b);

/* Error codes: functions return 0 (or a count) on success, a negative
 * DP_E* on failure, and where they take `const char **err` point it at a
 * static or caller-owned message. */
enum {
    DP_OK = 0,
    DP_ERR = -1,       /* generic failure, see *err */
    DP_EAGAIN = -2,    /* need more input / would block */
    DP_ENOMEM = -3,
    DP_EINVAL = -4,    /* invalid argument or configuration */
    DP_ECLOSED = -5,   /* peer closed */
    DP_ETIMEDOUT = -6,
    DP_ENOENT = -7,    /* no such thing (a name looked up) */
};

#define DP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define DP_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DP_MAX(a, b) ((a) > (b) ? (a) : (b))
#define DP_UNUSED(x) ((void)(x))

/* Abort on allocation failure: server glue decides OOM once (STYLE.md 6).
 * Reusable decoders use plain malloc and return DP_ENOMEM instead. */
void *dp_xmalloc(size_t n);
void *dp_xcalloc(size_t n, size_t sz);
void *dp_xrealloc(void *p, size_t n);
char *dp_xstrdup(const char *s);
char *dp_xstrndup(const char *s, size_t n);

/* Decimal / lowercase hex digits of v into out (no NUL); returns the count.
 * out needs 20 bytes (decimal) or 16 (hex). For hot paths, where
 * snprintf costs more than the rest of the formatting. */
size_t dp_u64toa(uint64_t v, char *out);
size_t dp_u64tohex(uint64_t v, char *out);
/* The IP text (no brackets) and port of an AF_INET / AF_INET6 sockaddr;
 * false (ip "" and port 0) for NULL or another family. ip needs
 * INET6_ADDRSTRLEN (46) bytes. */
struct sockaddr;
bool dp_sockaddr_split(const struct sockaddr *sa, char *ip, size_t iplen, uint16_t *port);
/* "10.0.0.1:80" or "[2001:db8::1]:80" (logs, admin and access logs only:
 * never in a response); "-" for another family. */
struct sockaddr_storage;
void dp_sockaddr_str(const struct sockaddr_storage *ss, char *out, size_t outlen);

/* Monotonic clock in milliseconds / nanoseconds, and wall clock in ms. */
uint64_t dp_now_ms(void);
uint64_t dp_now_ns(void);
uint64_t dp_wall_ms(void);

#endif
