/* TLS 1.3 record protection after the handshake (see tls_record.h). */
#include "dataplane/transport/tls_record.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

uint64_t dp_tls_rec_rekey_after = (uint64_t)1 << 23;

enum { S_AES128GCM, S_AES256GCM, S_CHACHA, N_SUITES };

static const struct suite {
    uint16_t id;
    const char *cipher; /* OpenSSL's name */
    uint8_t key_len, hash_len;
} suites[N_SUITES] = {
    [S_AES128GCM] = {0x1301, "AES-128-GCM", 16, 32},
    [S_AES256GCM] = {0x1302, "AES-256-GCM", 32, 48},
    [S_CHACHA] = {0x1303, "ChaCha20-Poly1305", 32, 32},
};

static int suite_index(uint16_t id)
{
    for (int i = 0; i < N_SUITES; i++)
        if (suites[i].id == id)
            return i;
    return -1;
}

bool dp_tls_rec_suite_supported(uint16_t suite)
{
    return suite_index(suite) >= 0;
}

/* ---- the ciphers: fetched once, one context per thread, suite and
 * direction, re-keyed only when another key comes ---- */

static EVP_CIPHER *ciphers[N_SUITES];
static EVP_MD *sha256, *sha384;
static pthread_once_t fetch_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;

typedef struct thread_ctx {
    EVP_CIPHER_CTX *c[N_SUITES][2];
    EVP_MD_CTX *md;               /* the key schedule's HMAC */
    uint8_t key[N_SUITES][2][32]; /* the key each context holds */
    bool keyed[N_SUITES][2];
} thread_ctx_t;

static _Thread_local thread_ctx_t *tctx;

static void thread_ctx_free(void *arg)
{
    thread_ctx_t *t = arg;
    for (int i = 0; i < N_SUITES; i++)
        for (int e = 0; e < 2; e++)
            EVP_CIPHER_CTX_free(t->c[i][e]);
    EVP_MD_CTX_free(t->md);
    OPENSSL_cleanse(t->key, sizeof(t->key));
    free(t);
    tctx = NULL;
}

static void fetch(void)
{
    for (int i = 0; i < N_SUITES; i++)
        ciphers[i] = EVP_CIPHER_fetch(NULL, suites[i].cipher, NULL);
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
    (void)pthread_key_create(&exit_key, thread_ctx_free);
}

static thread_ctx_t *thread_ctx(void)
{
    pthread_once(&fetch_once, fetch);
    if (tctx == NULL) {
        tctx = dp_xcalloc(1, sizeof(*tctx));
        (void)pthread_setspecific(exit_key, tctx);
    }
    return tctx;
}

/* The calling thread's context for (suite, enc), set up with key and
 * nonce. NULL if OpenSSL fails. */
static EVP_CIPHER_CTX *cipher_ctx(int suite, int enc, const uint8_t *key, size_t key_len,
                                  const uint8_t *nonce)
{
    thread_ctx();
    if (ciphers[suite] == NULL)
        return NULL;
    EVP_CIPHER_CTX **c = &tctx->c[suite][enc];
    if (*c == NULL) {
        *c = EVP_CIPHER_CTX_new();
        if (*c == NULL || EVP_CipherInit_ex2(*c, ciphers[suite], NULL, NULL, enc, NULL) != 1)
            return NULL;
        tctx->keyed[suite][enc] = false;
    }
    bool same = tctx->keyed[suite][enc] && CRYPTO_memcmp(tctx->key[suite][enc], key, key_len) == 0;
    if (EVP_CipherInit_ex2(*c, NULL, same ? NULL : key, nonce, enc, NULL) != 1) {
        tctx->keyed[suite][enc] = false;
        return NULL;
    }
    if (!same) {
        memcpy(tctx->key[suite][enc], key, key_len);
        tctx->keyed[suite][enc] = true;
    }
    return *c;
}

/* per-record nonce (RFC 8446 5.3): the IV xor the 64-bit sequence number,
 * left-padded */
static void nonce_of(const dp_tls_rec_dir_t *d, uint8_t nonce[12])
{
    memcpy(nonce, d->iv, 12);
    for (int i = 0; i < 8; i++)
        nonce[11 - i] ^= (uint8_t)(d->seq >> (8 * i));
}

/* ---- key schedule ---- */

/* HMAC (RFC 2104) over prefetched digests: OpenSSL's HMAC() fetches the
 * MAC and the digest by name on every call (~1 us each, 4 per hand-over). */
static int hmac(const dp_tls_rec_t *r, const uint8_t *key, const uint8_t *msg, size_t len, uint8_t *out)
{
    thread_ctx_t *t = thread_ctx();
    const EVP_MD *md = r->hash_len == 48 ? sha384 : sha256;
    size_t bs = r->hash_len == 48 ? 128 : 64; /* block size; the key (a secret) is shorter */
    if (md == NULL || (t->md == NULL && (t->md = EVP_MD_CTX_new()) == NULL))
        return DP_ERR;
    uint8_t pad[128], inner[EVP_MAX_MD_SIZE];
    memset(pad, 0x36, bs);
    for (size_t i = 0; i < r->hash_len; i++)
        pad[i] ^= key[i];
    int ok = EVP_DigestInit_ex2(t->md, md, NULL) == 1 && EVP_DigestUpdate(t->md, pad, bs) == 1 &&
             EVP_DigestUpdate(t->md, msg, len) == 1 && EVP_DigestFinal_ex(t->md, inner, NULL) == 1;
    for (size_t i = 0; i < bs; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    ok = ok && EVP_DigestInit_ex2(t->md, md, NULL) == 1 && EVP_DigestUpdate(t->md, pad, bs) == 1 &&
         EVP_DigestUpdate(t->md, inner, r->hash_len) == 1 && EVP_DigestFinal_ex(t->md, out, NULL) == 1;
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
    return ok ? 0 : DP_ERR;
}

/* HKDF-Expand-Label(secret, label, "", len) for len <= the hash's length
 * (RFC 8446 7.1): one HMAC block, T(1) = HMAC(secret, HkdfLabel | 0x01). */
static int expand_label(const dp_tls_rec_t *r, const uint8_t *secret, const char *label, uint8_t *out,
                        size_t len)
{
    uint8_t info[2 + 1 + 6 + 32 + 1 + 1];
    size_t ll = strlen(label), n = 0;
    info[n++] = (uint8_t)(len >> 8);
    info[n++] = (uint8_t)len;
    info[n++] = (uint8_t)(6 + ll);
    memcpy(info + n, "tls13 ", 6);
    n += 6;
    memcpy(info + n, label, ll);
    n += ll;
    info[n++] = 0; /* empty context */
    info[n++] = 1; /* the block counter */
    uint8_t t[EVP_MAX_MD_SIZE];
    if (hmac(r, secret, info, n, t) != 0)
        return DP_ERR;
    memcpy(out, t, len);
    OPENSSL_cleanse(t, sizeof(t));
    return 0;
}

static int derive(const dp_tls_rec_t *r, dp_tls_rec_dir_t *d)
{
    if (expand_label(r, d->secret, "key", d->key, r->key_len) != 0 ||
        expand_label(r, d->secret, "iv", d->iv, 12) != 0)
        return DP_ERR;
    d->seq = 0;
    return 0;
}

int dp_tls_rec_init(dp_tls_rec_t *r, uint16_t suite, const uint8_t *rd_secret, uint64_t rd_seq,
                    const uint8_t *wr_secret, uint64_t wr_seq, size_t secret_len)
{
    int i = suite_index(suite);
    if (i < 0 || secret_len != suites[i].hash_len)
        return DP_EINVAL;
    memset(r, 0, sizeof(*r));
    r->suite = (uint8_t)i;
    r->hash_len = suites[i].hash_len;
    r->key_len = suites[i].key_len;
    memcpy(r->rd.secret, rd_secret, secret_len);
    memcpy(r->wr.secret, wr_secret, secret_len);
    if (derive(r, &r->rd) != 0 || derive(r, &r->wr) != 0) {
        dp_tls_rec_clear(r);
        return DP_ERR;
    }
    r->rd.seq = rd_seq;
    r->wr.seq = wr_seq;
    return 0;
}

int dp_tls_rec_update(const dp_tls_rec_t *r, dp_tls_rec_dir_t *d)
{
    uint8_t next[48];
    if (expand_label(r, d->secret, "traffic upd", next, r->hash_len) != 0)
        return DP_ERR;
    memcpy(d->secret, next, r->hash_len);
    OPENSSL_cleanse(next, sizeof(next));
    return derive(r, d);
}

void dp_tls_rec_clear(dp_tls_rec_t *r)
{
    OPENSSL_cleanse(r, sizeof(*r));
}

/* ---- records ---- */

long dp_tls_rec_complete(const uint8_t *p, size_t n)
{
    if (n < DP_TLS_REC_HDR)
        return 0;
    /* legacy_record_version is ignored (RFC 8446 5.1) */
    if (p[0] != DP_TLS_CT_APPDATA)
        return -DP_TLS_AD_UNEXPECTED_MESSAGE;
    size_t len = ((size_t)p[3] << 8) | p[4];
    if (len > DP_TLS_REC_BODY_MAX)
        return -DP_TLS_AD_RECORD_OVERFLOW;
    if (len < DP_TLS_REC_TAG + 1)
        return -DP_TLS_AD_DECODE_ERROR;
    return n >= DP_TLS_REC_HDR + len ? (long)(DP_TLS_REC_HDR + len) : 0;
}

long dp_tls_rec_seal(dp_tls_rec_t *r, uint8_t type, const struct iovec *iov, int iovcnt, size_t total,
                     uint8_t *out)
{
    if (total > DP_TLS_REC_PLAIN_MAX)
        return -DP_TLS_AD_INTERNAL_ERROR;
    size_t body = total + 1 + DP_TLS_REC_TAG;
    out[0] = DP_TLS_CT_APPDATA;
    out[1] = 3;
    out[2] = 3;
    out[3] = (uint8_t)(body >> 8);
    out[4] = (uint8_t)body;
    uint8_t nonce[12];
    nonce_of(&r->wr, nonce);
    EVP_CIPHER_CTX *c = cipher_ctx(r->suite, 1, r->wr.key, r->key_len, nonce);
    int n;
    if (c == NULL || EVP_CipherUpdate(c, NULL, &n, out, DP_TLS_REC_HDR) != 1)
        return -DP_TLS_AD_INTERNAL_ERROR;
    uint8_t *p = out + DP_TLS_REC_HDR;
    size_t left = total;
    for (int i = 0; i < iovcnt && left > 0; i++) {
        size_t k = DP_MIN(iov[i].iov_len, left);
        if (k == 0)
            continue;
        if (EVP_CipherUpdate(c, p, &n, iov[i].iov_base, (int)k) != 1)
            return -DP_TLS_AD_INTERNAL_ERROR;
        p += n;
        left -= k;
    }
    if (EVP_CipherUpdate(c, p, &n, &type, 1) != 1)
        return -DP_TLS_AD_INTERNAL_ERROR;
    p += n;
    if (EVP_CipherFinal_ex(c, p, &n) != 1)
        return -DP_TLS_AD_INTERNAL_ERROR;
    p += n;
    if (p != out + DP_TLS_REC_HDR + total + 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, DP_TLS_REC_TAG, p) != 1)
        return -DP_TLS_AD_INTERNAL_ERROR;
    r->wr.seq++;
    return (long)(DP_TLS_REC_HDR + body);
}

long dp_tls_rec_open(dp_tls_rec_t *r, const uint8_t *rec, size_t rec_len, uint8_t *out, uint8_t *type)
{
    if (rec_len < DP_TLS_REC_HDR + DP_TLS_REC_TAG + 1)
        return -DP_TLS_AD_DECODE_ERROR;
    if (r->rd.seq == UINT64_MAX) /* the sequence must not wrap (RFC 8446 5.3) */
        return -DP_TLS_AD_UNEXPECTED_MESSAGE;
    size_t clen = rec_len - DP_TLS_REC_HDR - DP_TLS_REC_TAG;
    uint8_t nonce[12];
    nonce_of(&r->rd, nonce);
    EVP_CIPHER_CTX *c = cipher_ctx(r->suite, 0, r->rd.key, r->key_len, nonce);
    int n = 0, f = 0;
    if (c == NULL || EVP_CipherUpdate(c, NULL, &n, rec, DP_TLS_REC_HDR) != 1)
        return -DP_TLS_AD_INTERNAL_ERROR;
    if (EVP_CipherUpdate(c, out, &n, rec + DP_TLS_REC_HDR, (int)clen) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, DP_TLS_REC_TAG,
                            (void *)(rec + DP_TLS_REC_HDR + clen)) != 1 ||
        EVP_CipherFinal_ex(c, out + n, &f) != 1 || (size_t)(n + f) != clen) {
        OPENSSL_cleanse(out, clen); /* nothing unauthenticated stays behind */
        return -DP_TLS_AD_BAD_RECORD_MAC;
    }
    r->rd.seq++;
    /* TLSInnerPlaintext: content | type | zeros (RFC 8446 5.4), padding
     * included at most 2^14 + 1 bytes */
    if (clen > DP_TLS_REC_PLAIN_MAX + 1)
        return -DP_TLS_AD_RECORD_OVERFLOW;
    size_t i = clen;
    while (i > 0 && out[i - 1] == 0)
        i--;
    if (i == 0)
        return -DP_TLS_AD_UNEXPECTED_MESSAGE;
    *type = out[i - 1];
    return (long)(i - 1);
}
