/* Password engine: an htpasswd user table and its verification, shared by
 * envoy.filters.http.basic_auth and the container permission model (one
 * table per check).
 *
 * Text format (Envoy's readHtpasswd): lines split at '\n'; an empty line or
 * one starting with '#' is skipped; otherwise "name:hash" split at the first
 * ':', both non-empty, names unique (compared byte for byte). Nothing is
 * trimmed, as in Envoy ("user :x" is the user "user "). Unlike Envoy, a
 * name with a control character (CR, ...) or a line with a NUL is refused:
 * names are forwarded upstream in a header.
 *
 * Hash schemes:
 *   {SHA}<28 chars>         base64 SHA-1 (htpasswd -s), Envoy's only scheme;
 *                           compared as Envoy does: base64 of SHA-1(password)
 *   $2y$ $2b$ $2a$          bcrypt (htpasswd -B)          \
 *   $6$ / $5$               sha512- / sha256-crypt         > libxcrypt crypt_rn
 *   $y$                     yescrypt (mkpasswd -m yescrypt)/
 * Anything else is refused when the table is built, naming the line and
 * the user: plain text, apr1 ($apr1$, Apache's MD5, which libxcrypt does
 * not implement), md5-crypt ($1$), DES crypt, other crypt methods.
 *
 * Verification compares in constant time (CRYPTO_memcmp). A password with
 * a NUL byte never matches a crypt hash (crypt would stop at the NUL). An
 * unknown user costs what a wrong password costs: the password is hashed
 * against another user's hash and the answer is deny, so response times
 * do not tell which user names exist.
 * Successful crypt verifications are remembered in the process-wide
 * credential cache (credcache.h), so repeated requests do not pay the hash;
 * {SHA} is cheaper than the cache and is not cached.
 *
 * A table is immutable once built and may be used from any thread. */
#ifndef DP_FILTERS_AUTH_HTPASSWD_H
#define DP_FILTERS_AUTH_HTPASSWD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/common.h"
#include "dataplane/core/offload.h"

typedef struct dp_htpasswd dp_htpasswd_t;
typedef struct dp_htpasswd_req dp_htpasswd_req_t;

/* Results of a check. */
enum {
    DP_HTPASSWD_DENY = 0,
    DP_HTPASSWD_ALLOW = 1,
    DP_HTPASSWD_PENDING = 2, /* dp_htpasswd_check_async: the answer comes later */
};

/* Builds a table from htpasswd text (len bytes, need not be
 * NUL-terminated; an empty text gives an empty table, which denies
 * everyone). Returns 0, or DP_EINVAL with errbuf saying
 * "line N: ..." (and "user 'NAME': ..." where the user is known), or
 * DP_ENOMEM. */
int dp_htpasswd_parse(const char *text, size_t len, dp_htpasswd_t **out, char *errbuf, size_t errlen);

/* Frees the table and drops its entries from the credential cache. The
 * caller makes sure no dp_htpasswd_check_async on it is outstanding
 * (cancelled requests are fine). t may be NULL. */
void dp_htpasswd_free(dp_htpasswd_t *t);

/* Number of users; whether `user` is one (O(log n)). */
size_t dp_htpasswd_count(const dp_htpasswd_t *t);
bool dp_htpasswd_has_user(const dp_htpasswd_t *t, dp_slice_t user);

/* true if some user has a crypt hash, i.e. dp_htpasswd_check_async may
 * need an offload port. */
bool dp_htpasswd_needs_offload(const dp_htpasswd_t *t);

/* The table's identity in the credential cache (unique per table). */
uint64_t dp_htpasswd_id(const dp_htpasswd_t *t);

/* Synchronous check: DP_HTPASSWD_ALLOW or DP_HTPASSWD_DENY (also for an
 * unknown user). On a cache miss for a crypt scheme this runs the hash on
 * the calling thread (up to hundreds of ms for bcrypt): never call it on an
 * event loop for such tables; use dp_htpasswd_check_async there. */
int dp_htpasswd_check(const dp_htpasswd_t *t, dp_slice_t user, dp_slice_t password);

typedef void (*dp_htpasswd_done_fn)(void *arg, int result);

/* Asynchronous check, for event loops. Answers at once when it can
 * ({SHA}, cache hit, NUL in a password, unknown user of a {SHA}-only
 * table: no crypt hashing), else
 * hands the hash to the offload pool of `port` and returns PENDING.
 * Returns:
 *   DP_HTPASSWD_ALLOW / DP_HTPASSWD_DENY  answered now; done is not called;
 *   DP_HTPASSWD_PENDING  done(arg, ALLOW or DENY) will run on the port's
 *                        loop, unless *req is cancelled first;
 *   DP_EAGAIN            the offload queue is full (answer 503, do not wait);
 *   DP_EINVAL            a hash must run but port is NULL;
 *   DP_ENOMEM.
 * user and password are copied; the table must stay alive until done runs
 * or the request is cancelled. *req (PENDING only) is valid until done
 * starts or dp_htpasswd_cancel returns. */
int dp_htpasswd_check_async(const dp_htpasswd_t *t, dp_slice_t user, dp_slice_t password,
                            dp_offload_port_t *port, dp_htpasswd_done_fn done, void *arg,
                            dp_htpasswd_req_t **req);

/* Cancels a PENDING check: done will not be called (the hash may still
 * finish on the pool; its result is dropped). On the port's loop thread. */
void dp_htpasswd_cancel(dp_htpasswd_req_t *req);

/* An Authorization value as Envoy's basic_auth filter reads it: "Basic "
 * (case-sensitive, one space), then strict base64 (RFC 4648 alphabet,
 * optional '=' padding of at most two, zero unused bits: Envoy's
 * Base64::decodeWithoutPadding), decoded and split at the first ':'.
 * buf needs room for value.len bytes; user and password point into it. */
typedef enum {
    DP_BASIC_OK = 0,
    DP_BASIC_NOT_BASIC = 1,  /* "Expected 'Basic' authentication scheme." */
    DP_BASIC_BAD_FORMAT = 2, /* "Invalid basic credential format." (bad base64, no ':') */
} dp_basic_result_t;

dp_basic_result_t dp_htpasswd_parse_basic(dp_slice_t value, char *buf, dp_slice_t *user,
                                          dp_slice_t *password);

/* The strict base64 decoder above: returns the decoded length, or -1 if
 * `in` is not valid (empty input included). out needs len bytes. */
long dp_htpasswd_b64decode(const char *in, size_t len, char *out);

#endif
