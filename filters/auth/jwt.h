/* JSON Web Tokens (RFC 7519, JWS compact form): a strict parser and the
 * checks Envoy's jwt_authn filter makes, independent of any filter so the
 * container permission model can call the same engine.
 *
 * Typical use (one engine per check; nothing here is global):
 *
 *   dp_jwt_t *jwt;
 *   dp_jwt_status_t st = dp_jwt_parse(tok, len, &jwt);
 *   if (st == DP_JWT_OK) st = dp_jwt_check_time(jwt, now_s, DP_JWT_DEFAULT_SKEW_S);
 *   if (st == DP_JWT_OK && !dp_jwt_issuer_allowed(jwt, "https://issuer")) st = DP_JWT_UNKNOWN_ISSUER;
 *   if (st == DP_JWT_OK && !dp_jwt_audience_allowed(jwt, auds, n)) st = DP_JWT_AUDIENCE_NOT_ALLOWED;
 *   if (st == DP_JWT_OK) st = dp_jwt_verify(jwt, jwks);      // the signature
 *   ... read jwt->payload (jansson) ...
 *   dp_jwt_free(jwt);
 *
 * Statuses are dp_jwt_status_t (jwt_status.h): DP_JWT_OK (0) or the
 * reason, with Envoy's message from dp_jwt_status_str(). A repeated token
 * can skip the signature check through dp_jwt_cache_t (jwt_cache.h). */
#ifndef DP_FILTERS_AUTH_JWT_H
#define DP_FILTERS_AUTH_JWT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "filters/auth/jwks.h"
#include "filters/auth/jwt_status.h"

/* jwt_verify_lib's kClockSkewInSecond, Envoy's clock_skew_seconds default. */
#define DP_JWT_DEFAULT_SKEW_S 60

typedef enum {
    DP_JWT_ALG_RS256, DP_JWT_ALG_RS384, DP_JWT_ALG_RS512,
    DP_JWT_ALG_PS256, DP_JWT_ALG_PS384, DP_JWT_ALG_PS512,
    DP_JWT_ALG_ES256, DP_JWT_ALG_ES384, DP_JWT_ALG_ES512,
    DP_JWT_ALG_HS256, DP_JWT_ALG_HS384, DP_JWT_ALG_HS512,
    DP_JWT_ALG_EDDSA,
} dp_jwt_alg_t;

/* A parsed token. Every pointer is owned by the token (strings borrowed
 * from header/payload live as long as those objects); read-only. */
typedef struct dp_jwt {
    json_t *header;  /* JSON object */
    json_t *payload; /* JSON object */
    dp_jwt_alg_t alg;
    const char *alg_name; /* "RS256", ... */
    const char *kid;      /* NULL: no "kid" */
    const char *iss;      /* "" when absent (as Envoy) */
    const char *sub;      /* "" when absent */
    const char *jti;      /* "" when absent */
    const char **aud;     /* "aud" as a list (a string is a list of one) */
    size_t n_aud;
    uint64_t exp, nbf, iat; /* 0 when absent (as Envoy) */
    char *token;          /* a NUL-terminated copy of the whole token */
    size_t token_len;
    size_t signed_len;    /* token[0, signed_len) is the signing input "header.payload" */
    const char *payload_b64; /* the payload part, in token */
    size_t payload_b64_len;
    unsigned char *sig;   /* the decoded signature */
    size_t sig_len;
} dp_jwt_t;

/* Parses `tok` (len bytes) strictly: exactly three non-empty base64url
 * parts without padding separated by '.', a header that is a JSON object
 * with a string "alg" naming a supported algorithm (RS/PS/ES/HS 256/384/
 * 512, EdDSA; "none" and others are refused) and an optional string
 * "kid", a payload that is a JSON object whose registered claims have the
 * right types (iss/sub/jti strings, exp/nbf/iat non-negative numbers, aud
 * a string or list of strings). Duplicate JSON keys are refused.
 * Returns DP_JWT_OK with *out a new token (free with dp_jwt_free), or the
 * failure status with *out NULL. */
dp_jwt_status_t dp_jwt_parse(const char *tok, size_t len, dp_jwt_t **out);
void dp_jwt_free(dp_jwt_t *jwt);

/* Verifies the signature with jwks, as Envoy's verifyJwtWithoutTimeChecking
 * and stricter where RFC 7518 asks: a key is a candidate when
 *   - its "use" is absent or "sig";
 *   - the token has no kid, or the key has none, or they are equal;
 *   - its "alg", if any, equals the token's;
 *   - its type fits the algorithm: RS/PS with RSA, ESnnn with EC on the
 *     matching curve, EdDSA with Ed25519, HS with an oct secret (so an HS
 *     token never verifies against a public RSA/EC key).
 * ES signatures are JOSE's raw r||s of the curve's size (converted to DER
 * for OpenSSL); HMAC compares in constant time. Returns DP_JWT_OK when a
 * candidate verifies, DP_JWKS_KID_ALG_MISMATCH when no key passed the kid
 * and alg filter, DP_JWT_ED25519_SIGNATURE_WRONG_LENGTH, else
 * DP_JWT_VERIFICATION_FAIL. Thread-safe on a shared jwks. */
dp_jwt_status_t dp_jwt_verify(const dp_jwt_t *jwt, const dp_jwks_t *jwks);

/* exp / nbf against now (Unix seconds) with clock_skew_s of tolerance:
 * DP_JWT_NOT_YET_VALID if now + skew < nbf, DP_JWT_EXPIRED if exp is set
 * and now > exp + skew, else DP_JWT_OK. */
dp_jwt_status_t dp_jwt_check_time(const dp_jwt_t *jwt, uint64_t now_s, uint64_t clock_skew_s);

/* Envoy's CheckAudience: true when `allowed` is empty or one of the
 * token's audiences is in it, both sides compared without a leading
 * "http://" / "https://" and a trailing '/'. */
bool dp_jwt_audience_allowed(const dp_jwt_t *jwt, const char *const *allowed, size_t n_allowed);

/* true when issuer is NULL or "" (any issuer) or equals the token's iss. */
bool dp_jwt_issuer_allowed(const dp_jwt_t *jwt, const char *issuer);

/* A claim of the payload by name: a top-level key, or a path into nested
 * objects with '.' between keys. Keys may themselves contain dots (URL
 * claim names): at each level the longest dotted prefix that is a key and
 * from which the rest resolves wins. NULL if absent. Borrowed. */
const json_t *dp_jwt_claim(const dp_jwt_t *jwt, const char *name);

/* ---- base64url (RFC 4648 section 5) ------------------------------------- */

/* Decodes `in` into out (room for len * 3 / 4 bytes); returns the decoded
 * length or -1. strict: no '=' padding and zero trailing bits, as JWS
 * compact parts; otherwise '=' padding is accepted at the end. */
long dp_jwt_b64url_decode(const char *in, size_t len, unsigned char *out, bool strict);
/* Encodes len bytes into out (room for dp_jwt_b64url_len(len, pad) + 1);
 * NUL-terminates and returns the length. pad: standard base64 '=' padding
 * (still the url alphabet). */
size_t dp_jwt_b64url_encode(const unsigned char *in, size_t len, char *out, bool pad);
size_t dp_jwt_b64url_len(size_t len, bool pad);

#endif
