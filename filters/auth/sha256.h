/* SHA-256 for the per-request auth checks (token digests, the credential
 * cache's keys): OpenSSL's, through a digest fetched once and a context
 * per thread. EVP_Digest() or a fresh EVP_MD_CTX per call look the
 * algorithm up and allocate each time, which costs more than hashing a
 * short credential. Thread-safe. */
#ifndef DP_FILTERS_AUTH_SHA256_H
#define DP_FILTERS_AUTH_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/common.h"

#define DP_SHA256_LEN 32

/* The digest of the concatenation of parts[0..n). false: OpenSSL failed. */
bool dp_sha256(const dp_slice_t *parts, size_t n, uint8_t out[DP_SHA256_LEN]);

#endif
