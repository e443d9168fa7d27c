/* JWKS / PEM key sets (jwks.h), with OpenSSL 3 key objects. */
#include "filters/auth/jwks.h"

#include <jansson.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "filters/auth/jwt.h"

struct dp_jwks {
    _Atomic int refcnt;
    dp_jwk_t *keys;
    size_t n, cap;
};

static void key_clear(dp_jwk_t *k)
{
    free(k->kid);
    free(k->alg);
    EVP_PKEY_free(k->pkey);
    if (k->secret) {
        OPENSSL_cleanse(k->secret, k->secret_len);
        free(k->secret);
    }
    memset(k, 0, sizeof(*k));
}

static dp_jwks_t *jwks_new(void)
{
    dp_jwks_t *j = calloc(1, sizeof(*j));
    if (j)
        atomic_init(&j->refcnt, 1);
    return j;
}

static void jwks_free(dp_jwks_t *j)
{
    for (size_t i = 0; i < j->n; i++)
        key_clear(&j->keys[i]);
    free(j->keys);
    free(j);
}

dp_jwks_t *dp_jwks_ref(dp_jwks_t *j)
{
    if (j)
        atomic_fetch_add_explicit(&j->refcnt, 1, memory_order_relaxed);
    return j;
}

void dp_jwks_unref(dp_jwks_t *j)
{
    if (j && atomic_fetch_sub_explicit(&j->refcnt, 1, memory_order_acq_rel) == 1)
        jwks_free(j);
}

size_t dp_jwks_count(const dp_jwks_t *j)
{
    return j ? j->n : 0;
}

const dp_jwk_t *dp_jwks_key(const dp_jwks_t *j, size_t i)
{
    return j && i < j->n ? &j->keys[i] : NULL;
}

/* Takes the key's contents (k is left zeroed). */
static int jwks_push(dp_jwks_t *j, dp_jwk_t *k)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 4;
        dp_jwk_t *v = realloc(j->keys, cap * sizeof(*v));
        if (v == NULL)
            return -1;
        j->keys = v;
        j->cap = cap;
    }
    j->keys[j->n++] = *k;
    memset(k, 0, sizeof(*k));
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

/* A base64url field, decoded into a malloc'd buffer (lenient: padding
 * allowed). NULL when it does not decode. */
static unsigned char *b64_field(const char *s, size_t *outlen)
{
    size_t len = strlen(s);
    unsigned char *buf = malloc(len * 3 / 4 + 1);
    if (buf == NULL)
        return NULL;
    long n = dp_jwt_b64url_decode(s, len, buf, false);
    if (n < 0) {
        free(buf);
        return NULL;
    }
    *outlen = (size_t)n;
    return buf;
}

/* A string member: 0 ok, 1 missing, 2 wrong type (jwt_verify_lib's
 * StructUtils::GetString codes). */
static int str_member(const json_t *o, const char *key, const char **out)
{
    const json_t *v = json_object_get(o, key);
    if (v == NULL)
        return 1;
    if (!json_is_string(v))
        return 2;
    *out = json_string_value(v);
    return 0;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    return pkey;
}

/* ---- one JWK ------------------------------------------------------------------- */

static dp_jwt_status_t jwk_rsa(const json_t *o, dp_jwk_t *k)
{
    if (k->alg && strncmp(k->alg, "RS", 2) != 0 && strncmp(k->alg, "PS", 2) != 0)
        return DP_JWKS_RSA_KEY_BAD_ALG;
    const char *n_s, *e_s;
    int r = str_member(o, "n", &n_s);
    if (r)
        return r == 1 ? DP_JWKS_RSA_KEY_MISSING_N : DP_JWKS_RSA_KEY_BAD_N;
    r = str_member(o, "e", &e_s);
    if (r)
        return r == 1 ? DP_JWKS_RSA_KEY_MISSING_E : DP_JWKS_RSA_KEY_BAD_E;

    dp_jwt_status_t st = DP_JWKS_RSA_PARSE_ERROR;
    size_t nl = 0, el = 0;
    unsigned char *nb = b64_field(n_s, &nl), *eb = b64_field(e_s, &el);
    BIGNUM *n = NULL, *e = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    if (nb == NULL || eb == NULL || nl == 0 || el == 0)
        goto out;
    n = BN_bin2bn(nb, (int)nl, NULL);
    e = BN_bin2bn(eb, (int)el, NULL);
    if (n == NULL || e == NULL)
        goto out;
    /* as jwt_verify_lib: only the standard exponents; and a modulus that
     * can be a real key (odd, 512 to 16384 bits) */
    if (!BN_is_word(e, 3) && !BN_is_word(e, 65537))
        goto out;
    if (!BN_is_odd(n) || BN_num_bits(n) < 512 || BN_num_bits(n) > 16384)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
        goto out;
    k->pkey = pkey_fromdata("RSA", bld);
    if (k->pkey)
        st = DP_JWT_OK;
out:
    OSSL_PARAM_BLD_free(bld);
    BN_free(n);
    BN_free(e);
    free(nb);
    free(eb);
    return st;
}

/* Left-pads (or strips leading zeros of) a coordinate to `size` bytes. */
static int put_coord(unsigned char *dst, size_t size, const unsigned char *src, size_t len)
{
    while (len > size && *src == 0) {
        src++;
        len--;
    }
    if (len > size)
        return -1;
    memset(dst, 0, size - len);
    memcpy(dst + size - len, src, len);
    return 0;
}

static dp_jwt_status_t jwk_ec(const json_t *o, dp_jwk_t *k)
{
    if (k->alg && strncmp(k->alg, "ES", 2) != 0)
        return DP_JWKS_EC_KEY_BAD_ALG;
    const char *crv = "";
    if (str_member(o, "crv", &crv) == 2)
        return DP_JWKS_EC_KEY_BAD_CRV;
    const char *alg = k->alg ? k->alg : "";
    if (alg[0] && crv[0] &&
        !((strcmp(alg, "ES256") == 0 && strcmp(crv, "P-256") == 0) ||
          (strcmp(alg, "ES384") == 0 && strcmp(crv, "P-384") == 0) ||
          (strcmp(alg, "ES512") == 0 && strcmp(crv, "P-521") == 0)))
        return DP_JWKS_EC_KEY_ALG_NOT_COMPATIBLE_WITH_CRV;
    if (!alg[0] && !crv[0])
        crv = "P-256";
    const char *group;
    size_t size;
    if (strcmp(alg, "ES256") == 0 || strcmp(crv, "P-256") == 0) {
        group = "prime256v1", size = 32, k->ec_bits = 256;
    } else if (strcmp(alg, "ES384") == 0 || strcmp(crv, "P-384") == 0) {
        group = "secp384r1", size = 48, k->ec_bits = 384;
    } else if (strcmp(alg, "ES512") == 0 || strcmp(crv, "P-521") == 0) {
        group = "secp521r1", size = 66, k->ec_bits = 521;
    } else {
        return DP_JWKS_EC_KEY_ALG_OR_CRV_UNSUPPORTED;
    }
    const char *x_s, *y_s;
    int r = str_member(o, "x", &x_s);
    if (r)
        return r == 1 ? DP_JWKS_EC_KEY_MISSING_X : DP_JWKS_EC_KEY_BAD_X;
    r = str_member(o, "y", &y_s);
    if (r)
        return r == 1 ? DP_JWKS_EC_KEY_MISSING_Y : DP_JWKS_EC_KEY_BAD_Y;

    dp_jwt_status_t st = DP_JWKS_EC_X_OR_Y_BAD_BASE64;
    size_t xl = 0, yl = 0;
    unsigned char *xb = b64_field(x_s, &xl), *yb = b64_field(y_s, &yl);
    unsigned char pub[1 + 2 * 66];
    OSSL_PARAM_BLD *bld = NULL;
    EVP_PKEY_CTX *chk = NULL;
    if (xb == NULL || yb == NULL || xl == 0 || yl == 0)
        goto out;
    st = DP_JWKS_EC_PARSE_ERROR;
    pub[0] = 0x04; /* uncompressed point */
    if (put_coord(pub + 1, size, xb, xl) != 0 || put_coord(pub + 1 + size, size, yb, yl) != 0)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * size))
        goto out;
    k->pkey = pkey_fromdata("EC", bld);
    if (k->pkey == NULL)
        goto out;
    /* the point must be on the curve (invalid-curve attacks) */
    chk = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    if (chk == NULL || EVP_PKEY_public_check(chk) != 1) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        goto out;
    }
    st = DP_JWT_OK;
out:
    EVP_PKEY_CTX_free(chk);
    OSSL_PARAM_BLD_free(bld);
    free(xb);
    free(yb);
    return st;
}

static dp_jwt_status_t jwk_oct(const json_t *o, dp_jwk_t *k)
{
    if (k->alg && strcmp(k->alg, "HS256") != 0 && strcmp(k->alg, "HS384") != 0 && strcmp(k->alg, "HS512") != 0)
        return DP_JWKS_HMAC_KEY_BAD_ALG;
    const char *k_s;
    int r = str_member(o, "k", &k_s);
    if (r)
        return r == 1 ? DP_JWKS_HMAC_KEY_MISSING_K : DP_JWKS_HMAC_KEY_BAD_K;
    size_t len = 0;
    unsigned char *sec = b64_field(k_s, &len);
    if (sec == NULL || len == 0) {
        free(sec);
        return DP_JWKS_OCT_BAD_BASE64;
    }
    k->secret = sec;
    k->secret_len = len;
    return DP_JWT_OK;
}

static dp_jwt_status_t jwk_okp(const json_t *o, dp_jwk_t *k)
{
    if (k->alg && strcmp(k->alg, "EdDSA") != 0)
        return DP_JWKS_OKP_KEY_BAD_ALG;
    const char *crv, *x_s;
    int r = str_member(o, "crv", &crv);
    if (r)
        return r == 1 ? DP_JWKS_OKP_KEY_MISSING_CRV : DP_JWKS_OKP_KEY_BAD_CRV;
    if (strcmp(crv, "Ed25519") != 0)
        return DP_JWKS_OKP_KEY_CRV_UNSUPPORTED;
    r = str_member(o, "x", &x_s);
    if (r)
        return r == 1 ? DP_JWKS_OKP_KEY_MISSING_X : DP_JWKS_OKP_KEY_BAD_X;
    size_t len = 0;
    unsigned char *x = b64_field(x_s, &len);
    if (x == NULL)
        return DP_JWKS_OKP_X_BAD_BASE64;
    if (len != 32) {
        free(x);
        return DP_JWKS_OKP_X_WRONG_LENGTH;
    }
    k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, len);
    free(x);
    return k->pkey ? DP_JWT_OK : DP_JWKS_OKP_X_WRONG_LENGTH;
}

static dp_jwt_status_t parse_jwk(const json_t *o, dp_jwk_t *k)
{
    const char *kty, *s;
    int r = str_member(o, "kty", &kty);
    if (r)
        return r == 1 ? DP_JWKS_MISSING_KTY : DP_JWKS_BAD_KTY;
    /* optional; a non-string kid or alg counts as absent, as in jwt_verify_lib */
    if (str_member(o, "kid", &s) == 0 && (k->kid = strdup(s)) == NULL)
        return DP_JWKS_BIO_ALLOC_ERROR;
    if (str_member(o, "alg", &s) == 0 && s[0] && (k->alg = strdup(s)) == NULL)
        return DP_JWKS_BIO_ALLOC_ERROR;
    r = str_member(o, "use", &s);
    k->use_sig = r == 1 || (r == 0 && strcmp(s, "sig") == 0);
    if (strcmp(kty, "RSA") == 0) {
        k->kty = DP_JWK_RSA;
        return jwk_rsa(o, k);
    }
    if (strcmp(kty, "EC") == 0) {
        k->kty = DP_JWK_EC;
        return jwk_ec(o, k);
    }
    if (strcmp(kty, "oct") == 0) {
        k->kty = DP_JWK_OCT;
        return jwk_oct(o, k);
    }
    if (strcmp(kty, "OKP") == 0) {
        k->kty = DP_JWK_OKP;
        return jwk_okp(o, k);
    }
    return DP_JWKS_NOT_IMPLEMENTED_KTY;
}

/* ---- PEM and X.509 --------------------------------------------------------------- */

/* An EVP_PKEY of a supported type into k (taking it). */
static dp_jwt_status_t key_from_pkey(EVP_PKEY *pkey, dp_jwk_t *k)
{
    switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
        k->kty = DP_JWK_RSA;
        break;
    case EVP_PKEY_EC:
        k->kty = DP_JWK_EC;
        k->ec_bits = EVP_PKEY_get_bits(pkey);
        if (k->ec_bits != 256 && k->ec_bits != 384 && k->ec_bits != 521) {
            EVP_PKEY_free(pkey);
            return DP_JWKS_PEM_NOT_IMPLEMENTED_KTY;
        }
        break;
    case EVP_PKEY_ED25519:
        k->kty = DP_JWK_OKP;
        break;
    default:
        EVP_PKEY_free(pkey);
        return DP_JWKS_PEM_NOT_IMPLEMENTED_KTY;
    }
    k->pkey = pkey;
    k->use_sig = true;
    return DP_JWT_OK;
}

static dp_jwt_status_t parse_pem(const char *data, size_t len, dp_jwks_t *j)
{
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return DP_JWKS_BIO_ALLOC_ERROR;
    EVP_PKEY *pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    if (pkey == NULL)
        return DP_JWKS_PEM_BAD_BASE64;
    dp_jwk_t k = {0};
    dp_jwt_status_t st = key_from_pkey(pkey, &k);
    if (st == DP_JWT_OK && jwks_push(j, &k) != 0)
        st = DP_JWKS_BIO_ALLOC_ERROR;
    key_clear(&k);
    return st;
}

static const char x509_prefix[] = "-----BEGIN CERTIFICATE-----\n";
static const char x509_suffix[] = "\n-----END CERTIFICATE-----\n";

static bool is_x509_map(const json_t *o)
{
    if (json_object_size(o) == 0)
        return false;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (key[0] == '\0' || !json_is_string(v))
            return false;
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n < sizeof(x509_prefix) - 1 + sizeof(x509_suffix) - 1 ||
            memcmp(s, x509_prefix, sizeof(x509_prefix) - 1) != 0 ||
            memcmp(s + n - (sizeof(x509_suffix) - 1), x509_suffix, sizeof(x509_suffix) - 1) != 0)
            return false;
    }
    return true;
}

static dp_jwt_status_t parse_x509_map(const json_t *o, dp_jwks_t *j)
{
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        BIO *bio = BIO_new_mem_buf(json_string_value(v), (int)json_string_length(v));
        if (bio == NULL)
            return DP_JWKS_X509_BIO_WRITE_ERROR;
        X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
        BIO_free(bio);
        if (x == NULL)
            return DP_JWKS_X509_PARSE_ERROR;
        EVP_PKEY *pkey = X509_get_pubkey(x);
        X509_free(x);
        if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
            EVP_PKEY_free(pkey);
            return DP_JWKS_X509_GET_PUBKEY_ERROR;
        }
        dp_jwk_t k = {.kty = DP_JWK_RSA, .pkey = pkey, .use_sig = true, .kid = strdup(key)};
        if (k.kid == NULL || jwks_push(j, &k) != 0) {
            key_clear(&k);
            return DP_JWKS_BIO_ALLOC_ERROR;
        }
    }
    return DP_JWT_OK;
}

/* ---- sets --------------------------------------------------------------------------- */

static dp_jwt_status_t parse_json(const char *data, size_t len, dp_jwks_t *j, size_t *bad_key)
{
    json_t *root = json_loadb(data, len, 0, NULL);
    dp_jwt_status_t st;
    if (!json_is_object(root)) {
        st = DP_JWKS_PARSE_ERROR;
        goto out;
    }
    const json_t *keys = json_object_get(root, "keys");
    if (keys == NULL) {
        st = is_x509_map(root) ? parse_x509_map(root, j) : DP_JWKS_NO_KEYS;
        goto out;
    }
    if (!json_is_array(keys)) {
        st = DP_JWKS_BAD_KEYS;
        goto out;
    }
    /* Envoy keeps the keys that parse and reports the first failure only
     * when none does */
    dp_jwt_status_t first = DP_JWT_OK;
    for (size_t i = 0; i < json_array_size(keys); i++) {
        const json_t *o = json_array_get(keys, i);
        if (!json_is_object(o))
            continue;
        dp_jwk_t k = {0};
        dp_jwt_status_t ks = parse_jwk(o, &k);
        if (ks == DP_JWT_OK && jwks_push(j, &k) != 0)
            ks = DP_JWKS_BIO_ALLOC_ERROR;
        key_clear(&k);
        if (ks != DP_JWT_OK && first == DP_JWT_OK) {
            first = ks;
            *bad_key = i;
        }
    }
    st = j->n > 0 ? DP_JWT_OK : (first != DP_JWT_OK ? first : DP_JWKS_NO_VALID_KEYS);
out:
    json_decref(root);
    return st;
}

dp_jwks_t *dp_jwks_parse_ex(const char *data, size_t len, unsigned fmt, dp_jwt_status_t *status, char *errbuf,
                            size_t errlen)
{
    size_t skip = 0;
    while (skip < len && (data[skip] == ' ' || data[skip] == '\t' || data[skip] == '\r' || data[skip] == '\n'))
        skip++;
    bool pem = len - skip >= 10 && memcmp(data + skip, "-----BEGIN", 10) == 0;
    size_t bad_key = (size_t)-1;
    dp_jwt_status_t st;
    dp_jwks_t *j = jwks_new();
    if (j == NULL) {
        st = DP_JWKS_BIO_ALLOC_ERROR;
    } else if (len > 64u * 1024 * 1024) {
        /* far beyond any real key set; also keeps lengths within OpenSSL's int */
        st = pem ? DP_JWKS_PEM_BAD_BASE64 : DP_JWKS_PARSE_ERROR;
    } else if (pem && (fmt & DP_JWKS_FMT_PEM)) {
        st = parse_pem(data, len, j);
    } else if (!pem && (fmt & DP_JWKS_FMT_JSON)) {
        st = parse_json(data, len, j, &bad_key);
    } else {
        st = (fmt & DP_JWKS_FMT_JSON) ? DP_JWKS_PARSE_ERROR : DP_JWKS_PEM_BAD_BASE64;
    }
    if (st == DP_JWT_OK && j->n == 0)
        st = DP_JWKS_NO_VALID_KEYS;
    ERR_clear_error();
    if (status)
        *status = st;
    if (st == DP_JWT_OK)
        return j;
    if (errbuf && errlen) {
        if (bad_key != (size_t)-1)
            snprintf(errbuf, errlen, "keys[%zu]: %s", bad_key, dp_jwt_status_str(st));
        else
            snprintf(errbuf, errlen, "%s", dp_jwt_status_str(st));
    }
    if (j)
        jwks_free(j);
    return NULL;
}

dp_jwks_t *dp_jwks_parse(const char *data, size_t len, char *errbuf, size_t errlen)
{
    return dp_jwks_parse_ex(data, len, DP_JWKS_FMT_ANY, NULL, errbuf, errlen);
}
