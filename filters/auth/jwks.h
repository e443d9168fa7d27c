/* JSON Web Key Sets (RFC 7517) and PEM public keys, as immutable,
 * refcounted key sets for JWT verification (filters/auth/jwt.h).
 *
 * Accepted inputs, as Envoy's jwt_verify_lib reads them:
 *   - a JWKS: {"keys": [JWK, ...]} with JWKs of kty
 *       "RSA"  n, e (base64url; e must be 3 or 65537), alg RS* / PS* if set;
 *       "EC"   crv P-256 / P-384 / P-521 (P-256 when neither crv nor alg is
 *              set), x, y; alg ES256 / ES384 / ES512 if set, matching crv;
 *       "OKP"  crv Ed25519, x (32 bytes); alg EdDSA if set;
 *       "oct"  k (non-empty secret, for HS256 / HS384 / HS512); alg HS* if set.
 *     Keys that fail to parse are skipped; the set is valid when at least
 *     one key is (the status of the first failure is reported otherwise).
 *   - Google's X.509 map {"kid": "-----BEGIN CERTIFICATE-----\n...", ...}
 *     (RSA certificates; the map key becomes the kid);
 *   - a PEM public key ("-----BEGIN PUBLIC KEY-----", RSA, EC or Ed25519),
 *     as one key without kid or alg.
 * Base64url fields may carry '=' padding (some issuers add it).
 *
 * A key set is immutable once parsed: any number of threads may verify
 * against it at once. dp_jwks_ref / dp_jwks_unref are atomic. */
#ifndef DP_FILTERS_AUTH_JWKS_H
#define DP_FILTERS_AUTH_JWKS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#include "filters/auth/jwt_status.h"

typedef enum {
    DP_JWK_RSA,
    DP_JWK_EC,
    DP_JWK_OKP, /* Ed25519 */
    DP_JWK_OCT, /* HMAC secret */
} dp_jwk_kty_t;

/* One key (read-only). */
typedef struct dp_jwk {
    dp_jwk_kty_t kty;
    char *kid;        /* NULL: the JWK has none */
    char *alg;        /* NULL: the JWK has none */
    bool use_sig;     /* "use" absent or "sig": usable for signatures */
    int ec_bits;      /* DP_JWK_EC: 256, 384 or 521 */
    EVP_PKEY *pkey;   /* RSA, EC, OKP */
    unsigned char *secret; /* DP_JWK_OCT */
    size_t secret_len;
} dp_jwk_t;

typedef struct dp_jwks dp_jwks_t;

/* What dp_jwks_parse_ex accepts. */
enum {
    DP_JWKS_FMT_JSON = 1, /* a JWKS, or the X.509 map */
    DP_JWKS_FMT_PEM = 2,  /* a PEM public key */
    DP_JWKS_FMT_ANY = 3,
};

/* Parses data (len bytes, need not be NUL-terminated) as any accepted
 * format: a PEM when it starts (after blanks) with "-----BEGIN", else
 * JSON. Returns the key set with one reference, or NULL with a message in
 * errbuf (may be NULL) naming the problem. */
dp_jwks_t *dp_jwks_parse(const char *data, size_t len, char *errbuf, size_t errlen);

/* Same, restricted to the formats in `fmt` (DP_JWKS_FMT_*); *status (may
 * be NULL) receives DP_JWT_OK or the jwt_verify_lib status of the failure
 * (DP_JWKS_PARSE_ERROR, DP_JWKS_NO_KEYS, DP_JWKS_NO_VALID_KEYS, ...).
 * Envoy's filter reads local and fetched JWKS with DP_JWKS_FMT_JSON. */
dp_jwks_t *dp_jwks_parse_ex(const char *data, size_t len, unsigned fmt, dp_jwt_status_t *status, char *errbuf,
                            size_t errlen);

dp_jwks_t *dp_jwks_ref(dp_jwks_t *j);
/* Drops a reference; the last one frees the set. NULL is a no-op. */
void dp_jwks_unref(dp_jwks_t *j);

size_t dp_jwks_count(const dp_jwks_t *j);
/* Key i (< dp_jwks_count), borrowed from the set. */
const dp_jwk_t *dp_jwks_key(const dp_jwks_t *j, size_t i);

#endif
