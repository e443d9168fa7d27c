/* A flat list of HTTP header lines, filled by the codecs and edited by
 * the HCM, filters and router.
 *
 * Ownership: the list owns only its array of dp_header_t (grown with
 * dp_xrealloc, so adding never fails: OOM aborts, STYLE.md 6). The bytes
 * of names and values are borrowed: the caller guarantees they outlive the
 * list (request arena, input buffer, or the immutable route config held by
 * the request's snapshot).
 *
 * Names are lowercase and compared byte for byte; they need not be
 * NUL-terminated. A header that appears several times is several entries,
 * in arrival order. An all-zero dp_headers_t is a valid empty list. */
#ifndef DP_HTTP_HEADERS_H
#define DP_HTTP_HEADERS_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/core/common.h"
#include "dataplane/http/route-t.h"

typedef struct dp_header {
    dp_slice_t name;
    dp_slice_t value;
} dp_header_t;

typedef struct dp_headers {
    dp_header_t *v;
    size_t n, cap;
} dp_headers_t;

/* Index of the first entry named `name` (len bytes, lowercase) at or after
 * index `start`, or -1 when there is none. */
long dp_headers_find(const dp_headers_t *h, const char *name, size_t len, size_t start);

/* Value of the first entry named `name`, or NULL when absent. The pointer
 * is valid until the list is next modified. */
const dp_slice_t *dp_headers_get(const dp_headers_t *h, const char *name, size_t len);

/* Number of entries named `name`. */
size_t dp_headers_count(const dp_headers_t *h, const char *name, size_t len);

/* Appends one header line (another line if the name already exists). */
void dp_headers_add(dp_headers_t *h, dp_slice_t name, dp_slice_t value);

/* Removes every entry named `name`, keeping the order of the others.
 * Returns how many were removed. */
size_t dp_headers_remove(dp_headers_t *h, const char *name, size_t len);

/* Overwrites: the first entry named `name` takes `value` in place and any
 * later ones are removed; appends when the name is absent. */
void dp_headers_set(dp_headers_t *h, dp_slice_t name, dp_slice_t value);

/* Removes every entry whose name `drop` says, keeping the order of the
 * others. Returns how many were removed. */
size_t dp_headers_remove_if(dp_headers_t *h, bool (*drop)(dp_slice_t name));

/* The connection-specific ("hop-by-hop") fields of RFC 9110 7.6.1 that
 * never cross a proxy and never appear in HTTP/2 (RFC 9113 8.2.2):
 * connection, keep-alive, proxy-connection, transfer-encoding, upgrade,
 * te. `name` is lowercase. TE: trailers is the one value that may cross
 * (gRPC); callers that let it through check for it. */
bool dp_headers_hop_by_hop(dp_slice_t name);

/* Empties the list, keeping its array for reuse. */
static inline void dp_headers_clear(dp_headers_t *h)
{
    h->n = 0;
}

/* Frees the array and leaves an empty list (all zero). */
void dp_headers_free(dp_headers_t *h);

/* Applies one level of request_headers_to_add / _to_remove (or the
 * response ones) as Envoy's HeaderParser::evaluateHeaders does:
 *   1. every name in m->remove is removed;
 *   2. each m->add entry whose value is non-empty (or keep_empty_value)
 *      is classified against the headers as they are after step 1:
 *        APPEND_IF_EXISTS_OR_ADD    -> add another line,
 *        ADD_IF_ABSENT              -> add only if the name was absent,
 *        OVERWRITE_IF_EXISTS_OR_ADD -> overwrite (dp_headers_set),
 *        OVERWRITE_IF_EXISTS        -> overwrite only if it was present;
 *   3. all overwrites are applied in order, then all adds in order.
 * The added names and values are borrowed from `m` (the route config must
 * outlive `h`). Values are literal. m may be NULL. No allocation beyond
 * growing h's array. */
void dp_headers_apply_mutations(dp_headers_t *h, const dp_hdr_mutations_t *m);

#endif
