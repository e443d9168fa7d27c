/* JWT parsing, signature verification (OpenSSL 3), time / issuer /
 * audience checks, claims, base64url and the status messages. */
#include "filters/auth/jwt.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

/* ---- status messages ------------------------------------------------------ */

/* Envoy's getStatusString(), verbatim: these are the bodies of its 401s. */
static const char *const status_msgs[DP_JWT_STATUS__COUNT] = {
    [DP_JWT_OK] = "OK",
    [DP_JWT_MISSED] = "Jwt is missing",
    [DP_JWT_NOT_YET_VALID] = "Jwt not yet valid",
    [DP_JWT_EXPIRED] = "Jwt is expired",
    [DP_JWT_BAD_FORMAT] = "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections",
    [DP_JWT_HEADER_BAD_BASE64] = "Jwt header is an invalid Base64url encoded",
    [DP_JWT_HEADER_BAD_JSON] = "Jwt header is an invalid JSON",
    [DP_JWT_HEADER_BAD_ALG] = "Jwt header [alg] field is required and must be a string",
    [DP_JWT_HEADER_NOT_IMPLEMENTED_ALG] = "Jwt header [alg] is not supported",
    [DP_JWT_HEADER_BAD_KID] = "Jwt header [kid] field is not a string",
    [DP_JWT_PAYLOAD_BAD_BASE64] = "Jwt payload is an invalid Base64url encoded",
    [DP_JWT_PAYLOAD_BAD_JSON] = "Jwt payload is an invalid JSON",
    [DP_JWT_PAYLOAD_ISS_NOT_STRING] = "Jwt payload [iss] field is not a string",
    [DP_JWT_PAYLOAD_SUB_NOT_STRING] = "Jwt payload [sub] field is not a string",
    [DP_JWT_PAYLOAD_IAT_NOT_INTEGER] = "Jwt payload [iat] field is not an integer",
    [DP_JWT_PAYLOAD_IAT_OUT_OF_RANGE] = "Jwt payload [iat] field is not a positive 64 bit integer",
    [DP_JWT_PAYLOAD_NBF_NOT_INTEGER] = "Jwt payload [nbf] field is not an integer",
    [DP_JWT_PAYLOAD_NBF_OUT_OF_RANGE] = "Jwt payload [nbf] field is not a positive 64 bit integer",
    [DP_JWT_PAYLOAD_EXP_NOT_INTEGER] = "Jwt payload [exp] field is not an integer",
    [DP_JWT_PAYLOAD_EXP_OUT_OF_RANGE] = "Jwt payload [exp] field is not a positive 64 bit integer",
    [DP_JWT_PAYLOAD_JTI_NOT_STRING] = "Jwt payload [jti] field is not a string",
    [DP_JWT_PAYLOAD_AUD_NOT_STRING] = "Jwt payload [aud] field is not a string or string list",
    [DP_JWT_SIGNATURE_BAD_BASE64] = "Jwt signature is an invalid Base64url encoded",
    [DP_JWT_ED25519_SIGNATURE_WRONG_LENGTH] = "Jwt ED25519 signature is wrong length",
    [DP_JWT_UNKNOWN_ISSUER] = "Jwt issuer is not configured",
    [DP_JWT_AUDIENCE_NOT_ALLOWED] = "Audiences in Jwt are not allowed",
    [DP_JWT_VERIFICATION_FAIL] = "Jwt verification fails",
    [DP_JWT_MULTIPLE_TOKENS] = "Found multiple Jwt tokens",
    [DP_JWKS_PARSE_ERROR] = "Jwks is an invalid JSON",
    [DP_JWKS_NO_KEYS] = "Jwks does not have [keys] field",
    [DP_JWKS_BAD_KEYS] = "[keys] in Jwks is not an array",
    [DP_JWKS_NO_VALID_KEYS] = "Jwks doesn't have any valid public key",
    [DP_JWKS_KID_ALG_MISMATCH] = "Jwks doesn't have key to match kid or alg from Jwt",
    [DP_JWKS_RSA_PARSE_ERROR] = "Jwks RSA [n] or [e] field is missing or has a parse error",
    [DP_JWKS_EC_CREATE_KEY_FAIL] = "Jwks EC create key fail",
    [DP_JWKS_EC_X_OR_Y_BAD_BASE64] = "Jwks EC [x] or [y] field is an invalid Base64.",
    [DP_JWKS_EC_PARSE_ERROR] = "Jwks EC [x] and [y] fields have a parse error.",
    [DP_JWKS_OCT_BAD_BASE64] = "Jwks Oct key is an invalid Base64",
    [DP_JWKS_OKP_X_BAD_BASE64] = "Jwks OKP [x] field is an invalid Base64.",
    [DP_JWKS_OKP_X_WRONG_LENGTH] = "Jwks OKP [x] field is wrong length.",
    [DP_JWKS_FETCH_FAIL] = "Jwks remote fetch is failed",
    [DP_JWKS_MISSING_KTY] = "[kty] is missing in [keys]",
    [DP_JWKS_BAD_KTY] = "[kty] is bad in [keys]",
    [DP_JWKS_NOT_IMPLEMENTED_KTY] = "[kty] is not supported in [keys]",
    [DP_JWKS_RSA_KEY_BAD_ALG] = "[alg] is not started with [RS] or [PS] for an RSA key",
    [DP_JWKS_RSA_KEY_MISSING_N] = "[n] field is missing for a RSA key",
    [DP_JWKS_RSA_KEY_BAD_N] = "[n] field is not string for a RSA key",
    [DP_JWKS_RSA_KEY_MISSING_E] = "[e] field is missing for a RSA key",
    [DP_JWKS_RSA_KEY_BAD_E] = "[e] field is not string for a RSA key",
    [DP_JWKS_EC_KEY_BAD_ALG] = "[alg] is not started with [ES] for an EC key",
    [DP_JWKS_EC_KEY_BAD_CRV] = "[crv] field is not string for an EC key",
    [DP_JWKS_EC_KEY_ALG_OR_CRV_UNSUPPORTED] = "[crv] or [alg] field is not supported for an EC key",
    [DP_JWKS_EC_KEY_ALG_NOT_COMPATIBLE_WITH_CRV] = "[crv] field specified is not compatible with [alg] for an EC key",
    [DP_JWKS_EC_KEY_MISSING_X] = "[x] field is missing for an EC key",
    [DP_JWKS_EC_KEY_BAD_X] = "[x] field is not string for an EC key",
    [DP_JWKS_EC_KEY_MISSING_Y] = "[y] field is missing for an EC key",
    [DP_JWKS_EC_KEY_BAD_Y] = "[y] field is not string for an EC key",
    [DP_JWKS_HMAC_KEY_BAD_ALG] = "[alg] does not start with [HS] for an HMAC key",
    [DP_JWKS_HMAC_KEY_MISSING_K] = "[k] field is missing for an HMAC key",
    [DP_JWKS_HMAC_KEY_BAD_K] = "[k] field is not string for an HMAC key",
    [DP_JWKS_OKP_KEY_BAD_ALG] = "[alg] is not [EdDSA] for an OKP key",
    [DP_JWKS_OKP_KEY_MISSING_CRV] = "[crv] field is missing for an OKP key",
    [DP_JWKS_OKP_KEY_BAD_CRV] = "[crv] field is not string for an OKP key",
    [DP_JWKS_OKP_KEY_CRV_UNSUPPORTED] = "[crv] field is not supported for an OKP key",
    [DP_JWKS_OKP_KEY_MISSING_X] = "[x] field is missing for an OKP key",
    [DP_JWKS_OKP_KEY_BAD_X] = "[x] field is not string for an OKP key",
    [DP_JWKS_X509_BIO_WRITE_ERROR] = "X509 parse pubkey internal fails: memory allocation",
    [DP_JWKS_X509_PARSE_ERROR] = "X509 parse pubkey fails",
    [DP_JWKS_X509_GET_PUBKEY_ERROR] = "X509 parse pubkey internal fails: get pubkey",
    [DP_JWKS_PEM_NOT_IMPLEMENTED_KTY] = "PEM Key type is not supported",
    [DP_JWKS_PEM_BAD_BASE64] = "PEM pubkey parse fails",
    [DP_JWKS_PEM_GET_RAW_ED25519_ERROR] = "PEM failed to get raw ED25519 key",
    [DP_JWKS_BIO_ALLOC_ERROR] = "Failed to create BIO due to memory allocation failure",
};

const char *dp_jwt_status_str(dp_jwt_status_t st)
{
    if ((unsigned)st >= DP_JWT_STATUS__COUNT || status_msgs[st] == NULL)
        return "";
    return status_msgs[st];
}

/* ---- base64url -------------------------------------------------------------- */

static const char b64url_alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63, or 64 for any other byte */
static unsigned char b64url_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z')
        return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9')
        return (unsigned char)(c - '0' + 52);
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return 64;
}

long dp_jwt_b64url_decode(const char *in, size_t len, unsigned char *out, bool strict)
{
    if (!strict) {
        /* up to two '=' of padding, only where a complete quantum ends */
        size_t pad = 0;
        while (len > 0 && in[len - 1] == '=' && pad < 2) {
            len--;
            pad++;
        }
        if (pad && (len + pad) % 4 != 0)
            return -1;
    }
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char v = b64url_val((unsigned char)in[i]);
        if (v == 64)
            return -1;
        acc = (acc << 6) | v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    /* the bits left over must be zero: one encoding per byte string, so a
     * token cannot be altered without changing its signature input */
    if (strict && bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -1;
    return (long)o;
}

size_t dp_jwt_b64url_len(size_t len, bool pad)
{
    return pad ? (len + 2) / 3 * 4 : (len * 4 + 2) / 3;
}

size_t dp_jwt_b64url_encode(const unsigned char *in, size_t len, char *out, bool pad)
{
    size_t o = 0, i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64url_alpha[v >> 18];
        out[o++] = b64url_alpha[(v >> 12) & 63];
        out[o++] = b64url_alpha[(v >> 6) & 63];
        out[o++] = b64url_alpha[v & 63];
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)in[i] << 16;
        out[o++] = b64url_alpha[v >> 18];
        out[o++] = b64url_alpha[(v >> 12) & 63];
        if (pad) {
            out[o++] = '=';
            out[o++] = '=';
        }
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
        out[o++] = b64url_alpha[v >> 18];
        out[o++] = b64url_alpha[(v >> 12) & 63];
        out[o++] = b64url_alpha[(v >> 6) & 63];
        if (pad)
            out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

/* ---- parsing -------------------------------------------------------------------- */

static const struct {
    const char *name;
    dp_jwt_alg_t alg;
} algs[] = {
    {"RS256", DP_JWT_ALG_RS256}, {"RS384", DP_JWT_ALG_RS384}, {"RS512", DP_JWT_ALG_RS512},
    {"PS256", DP_JWT_ALG_PS256}, {"PS384", DP_JWT_ALG_PS384}, {"PS512", DP_JWT_ALG_PS512},
    {"ES256", DP_JWT_ALG_ES256}, {"ES384", DP_JWT_ALG_ES384}, {"ES512", DP_JWT_ALG_ES512},
    {"HS256", DP_JWT_ALG_HS256}, {"HS384", DP_JWT_ALG_HS384}, {"HS512", DP_JWT_ALG_HS512},
    {"EdDSA", DP_JWT_ALG_EDDSA},
};

/* Decodes one part and parses it as a JSON object. */
static json_t *decode_json_part(const char *p, size_t len, bool *bad_b64)
{
    *bad_b64 = false;
    unsigned char stackbuf[1024];
    unsigned char *buf = len <= sizeof(stackbuf) * 4 / 3 ? stackbuf : malloc(len * 3 / 4 + 1);
    if (buf == NULL)
        return NULL;
    json_t *j = NULL;
    long n = dp_jwt_b64url_decode(p, len, buf, true);
    if (n < 0) {
        *bad_b64 = true;
        goto out;
    }
    j = json_loadb((const char *)buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
    if (j != NULL && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
out:
    if (buf != stackbuf)
        free(buf);
    return j;
}

/* Envoy's StructUtils::GetUInt64: a number in [0, 2^64), truncated.
 * Returns 0 ok / absent, 1 wrong type, 2 out of range. */
static int get_u64(const json_t *obj, const char *key, uint64_t *out)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (json_is_integer(v)) {
        json_int_t i = json_integer_value(v);
        if (i < 0)
            return 2;
        *out = (uint64_t)i;
        return 0;
    }
    if (!json_is_real(v))
        return 1;
    double d = json_real_value(v);
    if (!(d >= 0) || d >= 18446744073709551615.0)
        return 2;
    *out = (uint64_t)d;
    return 0;
}

/* A string claim: ok (absent: ""), or -1 when present with another type. */
static int get_str(const json_t *obj, const char *key, const char **out)
{
    const json_t *v = json_object_get(obj, key);
    *out = "";
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    *out = json_string_value(v);
    return 0;
}

static dp_jwt_status_t parse_claims(dp_jwt_t *j)
{
    const json_t *p = j->payload;
    if (get_str(p, "iss", &j->iss) < 0)
        return DP_JWT_PAYLOAD_ISS_NOT_STRING;
    if (get_str(p, "sub", &j->sub) < 0)
        return DP_JWT_PAYLOAD_SUB_NOT_STRING;
    static const struct {
        const char *key;
        size_t off;
        dp_jwt_status_t not_int, range;
    } times[] = {
        {"iat", offsetof(dp_jwt_t, iat), DP_JWT_PAYLOAD_IAT_NOT_INTEGER, DP_JWT_PAYLOAD_IAT_OUT_OF_RANGE},
        {"nbf", offsetof(dp_jwt_t, nbf), DP_JWT_PAYLOAD_NBF_NOT_INTEGER, DP_JWT_PAYLOAD_NBF_OUT_OF_RANGE},
        {"exp", offsetof(dp_jwt_t, exp), DP_JWT_PAYLOAD_EXP_NOT_INTEGER, DP_JWT_PAYLOAD_EXP_OUT_OF_RANGE},
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        int r = get_u64(p, times[i].key, (uint64_t *)((char *)j + times[i].off));
        if (r == 1)
            return times[i].not_int;
        if (r == 2)
            return times[i].range;
    }
    if (get_str(p, "jti", &j->jti) < 0)
        return DP_JWT_PAYLOAD_JTI_NOT_STRING;
    const json_t *aud = json_object_get(p, "aud");
    if (aud == NULL)
        return DP_JWT_OK;
    if (json_is_string(aud)) {
        j->aud = malloc(sizeof(*j->aud));
        if (j->aud == NULL)
            return DP_JWT_PAYLOAD_BAD_JSON;
        j->aud[0] = json_string_value(aud);
        j->n_aud = 1;
        return DP_JWT_OK;
    }
    if (!json_is_array(aud))
        return DP_JWT_PAYLOAD_AUD_NOT_STRING;
    size_t n = json_array_size(aud);
    j->aud = calloc(n ? n : 1, sizeof(*j->aud));
    if (j->aud == NULL)
        return DP_JWT_PAYLOAD_BAD_JSON;
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(aud, i);
        if (!json_is_string(a))
            return DP_JWT_PAYLOAD_AUD_NOT_STRING;
        j->aud[i] = json_string_value(a);
    }
    j->n_aud = n;
    return DP_JWT_OK;
}

dp_jwt_status_t dp_jwt_parse(const char *tok, size_t len, dp_jwt_t **out)
{
    *out = NULL;
    /* three non-empty parts: two dots, neither at an end nor adjacent */
    const char *d1 = len ? memchr(tok, '.', len) : NULL;
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
    if (d1 == NULL || d2 == NULL || d1 == tok || d2 == d1 + 1 || d2 + 1 == tok + len ||
        memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok)) != NULL)
        return DP_JWT_BAD_FORMAT;

    dp_jwt_t *j = calloc(1, sizeof(*j));
    if (j == NULL)
        return DP_JWT_BAD_FORMAT;
    dp_jwt_status_t st;
    bool bad_b64;
    j->header = decode_json_part(tok, (size_t)(d1 - tok), &bad_b64);
    if (j->header == NULL) {
        st = bad_b64 ? DP_JWT_HEADER_BAD_BASE64 : DP_JWT_HEADER_BAD_JSON;
        goto fail;
    }
    const json_t *alg = json_object_get(j->header, "alg");
    if (!json_is_string(alg)) {
        st = DP_JWT_HEADER_BAD_ALG;
        goto fail;
    }
    st = DP_JWT_HEADER_NOT_IMPLEMENTED_ALG;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        if (strcmp(algs[i].name, json_string_value(alg)) == 0 && json_string_length(alg) == strlen(algs[i].name)) {
            j->alg = algs[i].alg;
            j->alg_name = algs[i].name;
            st = DP_JWT_OK;
            break;
        }
    }
    if (st != DP_JWT_OK)
        goto fail;
    const json_t *kid = json_object_get(j->header, "kid");
    if (kid != NULL && !json_is_string(kid)) {
        st = DP_JWT_HEADER_BAD_KID;
        goto fail;
    }
    j->kid = kid ? json_string_value(kid) : NULL;

    j->payload = decode_json_part(d1 + 1, (size_t)(d2 - d1 - 1), &bad_b64);
    if (j->payload == NULL) {
        st = bad_b64 ? DP_JWT_PAYLOAD_BAD_BASE64 : DP_JWT_PAYLOAD_BAD_JSON;
        goto fail;
    }
    st = parse_claims(j);
    if (st != DP_JWT_OK)
        goto fail;

    size_t sig_b64_len = len - (size_t)(d2 + 1 - tok);
    j->sig = malloc(sig_b64_len * 3 / 4 + 1);
    j->token = malloc(len + 1);
    if (j->sig == NULL || j->token == NULL) {
        st = DP_JWT_BAD_FORMAT;
        goto fail;
    }
    long n = dp_jwt_b64url_decode(d2 + 1, sig_b64_len, j->sig, true);
    if (n < 0) {
        st = DP_JWT_SIGNATURE_BAD_BASE64;
        goto fail;
    }
    j->sig_len = (size_t)n;
    memcpy(j->token, tok, len);
    j->token[len] = '\0';
    j->token_len = len;
    j->signed_len = (size_t)(d2 - tok);
    j->payload_b64 = j->token + (d1 + 1 - tok);
    j->payload_b64_len = (size_t)(d2 - d1 - 1);
    *out = j;
    return DP_JWT_OK;
fail:
    dp_jwt_free(j);
    return st;
}

void dp_jwt_free(dp_jwt_t *jwt)
{
    if (jwt == NULL)
        return;
    json_decref(jwt->header);
    json_decref(jwt->payload);
    free(jwt->aud);
    free(jwt->token);
    free(jwt->sig);
    free(jwt);
}

/* ---- checks ------------------------------------------------------------------- */

dp_jwt_status_t dp_jwt_check_time(const dp_jwt_t *jwt, uint64_t now_s, uint64_t clock_skew_s)
{
    /* written so that no sum can wrap: a huge skew or exp must not turn
     * into an early expiry */
    if (jwt->nbf > now_s && jwt->nbf - now_s > clock_skew_s)
        return DP_JWT_NOT_YET_VALID;
    if (jwt->exp != 0 && now_s > jwt->exp && now_s - jwt->exp > clock_skew_s)
        return DP_JWT_EXPIRED;
    return DP_JWT_OK;
}

/* Envoy's sanitizeAudience: without "http://" / "https://" and one
 * trailing '/'. */
static void sanitize_aud(const char *a, const char **p, size_t *len)
{
    size_t n = strlen(a);
    if (n == 0) {
        *p = a;
        *len = 0;
        return;
    }
    size_t beg = 0, end = n;
    if (strncmp(a, "http://", 7) == 0)
        beg = 7;
    else if (strncmp(a, "https://", 8) == 0)
        beg = 8;
    if (a[end - 1] == '/')
        end--;
    if (end < beg)
        end = beg;
    *p = a + beg;
    *len = end - beg;
}

bool dp_jwt_audience_allowed(const dp_jwt_t *jwt, const char *const *allowed, size_t n_allowed)
{
    if (n_allowed == 0)
        return true;
    for (size_t i = 0; i < jwt->n_aud; i++) {
        const char *a;
        size_t al;
        sanitize_aud(jwt->aud[i], &a, &al);
        for (size_t k = 0; k < n_allowed; k++) {
            const char *b;
            size_t bl;
            sanitize_aud(allowed[k], &b, &bl);
            if (al == bl && memcmp(a, b, al) == 0)
                return true;
        }
    }
    return false;
}

bool dp_jwt_issuer_allowed(const dp_jwt_t *jwt, const char *issuer)
{
    return issuer == NULL || issuer[0] == '\0' || strcmp(jwt->iss, issuer) == 0;
}

/* Resolves path (len bytes) in obj: the longest dotted prefix that is a
 * key and from which the rest resolves. */
static const json_t *claim_at(const json_t *obj, const char *path, size_t len, int depth)
{
    if (!json_is_object(obj) || depth > 32)
        return NULL;
    for (size_t cut = len;; ) {
        /* candidate key: path[0, cut) where cut is len or a '.' */
        const json_t *v = json_object_getn(obj, path, cut);
        if (v != NULL) {
            if (cut == len)
                return v;
            const json_t *r = claim_at(v, path + cut + 1, len - cut - 1, depth + 1);
            if (r != NULL)
                return r;
        }
        while (cut > 0 && path[--cut] != '.')
            ;
        if (cut == 0)
            return NULL;
    }
}

const json_t *dp_jwt_claim(const dp_jwt_t *jwt, const char *name)
{
    if (jwt == NULL || name == NULL || name[0] == '\0')
        return NULL;
    return claim_at(jwt->payload, name, strlen(name), 0);
}

/* ---- signatures ---------------------------------------------------------------- */

static const EVP_MD *alg_md(dp_jwt_alg_t a)
{
    switch (a) {
    case DP_JWT_ALG_RS256: case DP_JWT_ALG_PS256: case DP_JWT_ALG_ES256: case DP_JWT_ALG_HS256:
        return EVP_sha256();
    case DP_JWT_ALG_RS384: case DP_JWT_ALG_PS384: case DP_JWT_ALG_ES384: case DP_JWT_ALG_HS384:
        return EVP_sha384();
    case DP_JWT_ALG_RS512: case DP_JWT_ALG_PS512: case DP_JWT_ALG_ES512: case DP_JWT_ALG_HS512:
        return EVP_sha512();
    case DP_JWT_ALG_EDDSA:
        return NULL;
    }
    return NULL;
}

/* The key type (and EC curve) an algorithm needs: this is where an HS
 * token is kept away from public keys, and an ES256 token from a P-384
 * key. */
static bool key_fits(const dp_jwk_t *k, dp_jwt_alg_t a)
{
    switch (a) {
    case DP_JWT_ALG_RS256: case DP_JWT_ALG_RS384: case DP_JWT_ALG_RS512:
    case DP_JWT_ALG_PS256: case DP_JWT_ALG_PS384: case DP_JWT_ALG_PS512:
        return k->kty == DP_JWK_RSA;
    case DP_JWT_ALG_ES256:
        return k->kty == DP_JWK_EC && k->ec_bits == 256;
    case DP_JWT_ALG_ES384:
        return k->kty == DP_JWK_EC && k->ec_bits == 384;
    case DP_JWT_ALG_ES512:
        return k->kty == DP_JWK_EC && k->ec_bits == 521;
    case DP_JWT_ALG_HS256: case DP_JWT_ALG_HS384: case DP_JWT_ALG_HS512:
        return k->kty == DP_JWK_OCT;
    case DP_JWT_ALG_EDDSA:
        return k->kty == DP_JWK_OKP;
    }
    return false;
}

/* RSA PKCS#1 v1.5, RSA-PSS, EdDSA, and ECDSA with a DER signature. */
static bool verify_pkey(EVP_PKEY *pkey, const EVP_MD *md, bool pss, const unsigned char *sig, size_t sig_len,
                        const unsigned char *data, size_t len)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    bool ok = false;
    if (ctx == NULL || EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pkey) != 1)
        goto out;
    /* RFC 7518 3.5: MGF1 with the same hash, salt as long as the hash */
    if (pss && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1 ||
                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
        goto out;
    ok = EVP_DigestVerify(ctx, sig, sig_len, data, len) == 1;
out:
    EVP_MD_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

/* JOSE's ECDSA signature is r||s, each the size of the curve order; OpenSSL
 * wants DER. A signature of any other length fails. */
static bool verify_es(const dp_jwk_t *k, const EVP_MD *md, const dp_jwt_t *jwt)
{
    size_t half = (size_t)(k->ec_bits + 7) / 8;
    if (jwt->sig_len != 2 * half)
        return false;
    bool ok = false;
    unsigned char *der = NULL;
    ECDSA_SIG *es = ECDSA_SIG_new();
    BIGNUM *r = BN_bin2bn(jwt->sig, (int)half, NULL);
    BIGNUM *s = BN_bin2bn(jwt->sig + half, (int)half, NULL);
    if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
        BN_free(r);
        BN_free(s);
        goto out;
    }
    int dlen = i2d_ECDSA_SIG(es, &der);
    if (dlen <= 0)
        goto out;
    ok = verify_pkey(k->pkey, md, false, der, (size_t)dlen, (const unsigned char *)jwt->token, jwt->signed_len);
out:
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return ok;
}

static bool verify_hs(const dp_jwk_t *k, const EVP_MD *md, const dp_jwt_t *jwt)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (HMAC(md, k->secret, (int)k->secret_len, (const unsigned char *)jwt->token, jwt->signed_len, mac,
             &mac_len) == NULL) {
        ERR_clear_error();
        return false;
    }
    bool ok = mac_len == jwt->sig_len && CRYPTO_memcmp(mac, jwt->sig, mac_len) == 0;
    OPENSSL_cleanse(mac, sizeof(mac));
    return ok;
}

dp_jwt_status_t dp_jwt_verify(const dp_jwt_t *jwt, const dp_jwks_t *jwks)
{
    bool kid_alg_matched = false;
    const EVP_MD *md = alg_md(jwt->alg);
    const unsigned char *data = (const unsigned char *)jwt->token;
    bool has_kid = jwt->kid && jwt->kid[0];
    for (size_t i = 0; i < dp_jwks_count(jwks); i++) {
        const dp_jwk_t *k = dp_jwks_key(jwks, i);
        if (!k->use_sig)
            continue;
        /* as jwt_verify_lib: a key without kid is a candidate for any token */
        if (has_kid && k->kid && k->kid[0] && strcmp(k->kid, jwt->kid) != 0)
            continue;
        if (k->alg && strcmp(k->alg, jwt->alg_name) != 0)
            continue;
        kid_alg_matched = true;
        if (!key_fits(k, jwt->alg))
            continue;
        switch (jwt->alg) {
        case DP_JWT_ALG_RS256: case DP_JWT_ALG_RS384: case DP_JWT_ALG_RS512:
            if (verify_pkey(k->pkey, md, false, jwt->sig, jwt->sig_len, data, jwt->signed_len))
                return DP_JWT_OK;
            break;
        case DP_JWT_ALG_PS256: case DP_JWT_ALG_PS384: case DP_JWT_ALG_PS512:
            if (verify_pkey(k->pkey, md, true, jwt->sig, jwt->sig_len, data, jwt->signed_len))
                return DP_JWT_OK;
            break;
        case DP_JWT_ALG_ES256: case DP_JWT_ALG_ES384: case DP_JWT_ALG_ES512:
            if (verify_es(k, md, jwt))
                return DP_JWT_OK;
            break;
        case DP_JWT_ALG_HS256: case DP_JWT_ALG_HS384: case DP_JWT_ALG_HS512:
            if (verify_hs(k, md, jwt))
                return DP_JWT_OK;
            break;
        case DP_JWT_ALG_EDDSA:
            /* a wrong length is the token's fault, not this key's */
            if (jwt->sig_len != 64)
                return DP_JWT_ED25519_SIGNATURE_WRONG_LENGTH;
            if (verify_pkey(k->pkey, NULL, false, jwt->sig, jwt->sig_len, data, jwt->signed_len))
                return DP_JWT_OK;
            break;
        }
    }
    return kid_alg_matched ? DP_JWT_VERIFICATION_FAIL : DP_JWKS_KID_ALG_MISMATCH;
}
