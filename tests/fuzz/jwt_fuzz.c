/* Fuzzes the JWT / JWKS engine (filters/auth):
 *   input "JWKS:<text>"  -> dp_jwks_parse_ex(any format); when it parses,
 *                           a fixed RS256 token is verified against it;
 *   anything else        -> a token: dp_jwt_parse, then dp_jwt_verify against a
 *                           fixed JWKS (RSA, EC P-256/384/521, Ed25519, oct),
 *                           the time / audience / issuer checks, claim lookups
 *                           and a round trip through the token cache.
 * Invariants: a parse failure leaves no token; a token that parses has its
 * signed input ending at a '.', and the cache returns it for its own bytes.
 * The fixed keys and token were made with openssl + PyJWT (see
 * tests/unit/jwt/jwt_test.c for the commands). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "filters/auth/jwks.h"
#include "filters/auth/jwt.h"
#include "filters/auth/jwt_cache.h"
#include "tests/unit/jwt/jwt_keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


static dp_jwks_t *fixed_jwks(void)
{
    static dp_jwks_t *j;
    if (j == NULL)
        j = dp_jwks_parse(JWKS, strlen(JWKS), NULL, 0);
    return j;
}

static void fuzz_jwks(const char *p, size_t n)
{
    dp_jwt_status_t st = DP_JWT_OK;
    char err[128];
    dp_jwks_t *j = dp_jwks_parse_ex(p, n, DP_JWKS_FMT_ANY, &st, err, sizeof(err));
    if (j == NULL) {
        if (st == DP_JWT_OK)
            abort();
        return;
    }
    for (size_t i = 0; i < dp_jwks_count(j); i++)
        if (dp_jwks_key(j, i) == NULL)
            abort();
    dp_jwt_t *jwt = NULL;
    if (dp_jwt_parse(TOK_RS256, strlen(TOK_RS256), &jwt) == DP_JWT_OK) {
        (void)dp_jwt_verify(jwt, j);
        dp_jwt_free(jwt);
    }
    dp_jwks_unref(j);
}

static void fuzz_token(const char *p, size_t n)
{
    dp_jwt_t *jwt = NULL;
    dp_jwt_status_t st = dp_jwt_parse(p, n, &jwt);
    if (st != DP_JWT_OK) {
        if (jwt != NULL)
            abort();
        return;
    }
    if (jwt->token_len != n || jwt->signed_len >= n || jwt->token[jwt->signed_len] != '.')
        abort();
    (void)dp_jwt_verify(jwt, fixed_jwks());
    (void)dp_jwt_check_time(jwt, 1800000000u, 60);
    (void)dp_jwt_check_time(jwt, UINT64_MAX, UINT64_MAX);
    static const char *const auds[] = {"api", "https://one.example/", ""};
    (void)dp_jwt_audience_allowed(jwt, auds, 3);
    (void)dp_jwt_issuer_allowed(jwt, "https://issuer.example");
    (void)dp_jwt_claim(jwt, "a.b.c");
    (void)dp_jwt_claim(jwt, "sub");
    dp_jwt_cache_t *c = dp_jwt_cache_new(2);
    if (c) {
        bool cached = dp_jwt_cache_insert(c, jwt);
        if (cached) {
            const dp_jwt_t *hit = dp_jwt_cache_lookup(c, p, n, 0);
            if (hit != jwt)
                abort();
        } else {
            dp_jwt_free(jwt);
        }
        jwt = NULL;
        dp_jwt_cache_free(c);
    }
    dp_jwt_free(jwt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    if (size >= 5 && memcmp(p, "JWKS:", 5) == 0)
        fuzz_jwks(p + 5, size - 5);
    else
        fuzz_token(p, size);
    return 0;
}
