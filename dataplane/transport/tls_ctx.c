/* TLS contexts: an immutable SSL_CTX built from a translated
 * Common/Downstream/UpstreamTlsContext, with Envoy's defaults.
 *
 * Every error names what is wrong (which certificate, which cipher), since
 * the message goes back to the control plane in a NACK. */
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/tls_int.h"

/* Envoy's defaults (BoringSSL's equal-preference brackets flattened: the
 * GCM suites stay first, OpenSSL has no brackets). */
static const char default_ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:"
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:AES128-GCM-SHA256:AES128-SHA:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA:AES256-GCM-SHA384:AES256-SHA";
/* BoringSSL's fixed TLS 1.3 order (not configurable in Envoy) */
static const char default_ciphersuites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
static const char default_groups[] = "X25519:P-256";
#define DEFAULT_SESSION_TIMEOUT 300

static int ctx_ex_index = -1;
static pthread_once_t ctx_ex_once = PTHREAD_ONCE_INIT;

static void ctx_free(dp_tls_ctx_t *c)
{
    if (c == NULL)
        return;
    free(c->alpn_wire);
    for (size_t i = 0; i < c->n_alpn; i++)
        free(c->alpn_names[i]);
    free(c->alpn_names);
    if (c->keys)
        OPENSSL_cleanse(c->keys, c->n_keys * DP_TLS_TICKET_KEY_LEN);
    free(c->keys);
    free(c->ciphers);
    free(c->ciphersuites);
    free(c->groups);
    SSL_SESSION_free(c->session);
    free(c->session_sni);
    sk_X509_pop_free(c->leaves, X509_free);
    sk_X509_pop_free(c->cas, X509_free);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void ctx_ex_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    ctx_free(ptr);
}

static void ctx_ex_init(void)
{
    ctx_ex_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, ctx_ex_free);
}

dp_tls_ctx_t *dp_tls__ctx_of(const SSL_CTX *ssl)
{
    if (ssl == NULL || ctx_ex_index < 0)
        return NULL;
    return SSL_CTX_get_ex_data(ssl, ctx_ex_index);
}

dp_tls_ctx_t *dp_tls_ctx_ref(dp_tls_ctx_t *c)
{
    if (c)
        SSL_CTX_up_ref(c->ssl);
    return c;
}

void dp_tls_ctx_unref(dp_tls_ctx_t *c)
{
    if (c)
        SSL_CTX_free(c->ssl); /* the last reference frees c too (ctx_ex_free) */
}

/* "what: OpenSSL's reason" into errbuf; empties OpenSSL's error queue. */
static void fail(char *errbuf, size_t errlen, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    unsigned long e = ERR_peek_last_error();
    const char *reason = e ? ERR_reason_error_string(e) : NULL;
    if (errbuf && errlen && reason)
        snprintf(errbuf, errlen, "%s: %s", what, reason);
    else if (errbuf && errlen)
        snprintf(errbuf, errlen, "%s", what);
    ERR_clear_error();
}

static int pem_password(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    const char *pw = u;
    if (pw == NULL)
        return 0;
    size_t n = strlen(pw);
    if (n > (size_t)size)
        return 0;
    memcpy(buf, pw, n);
    return (int)n;
}

static BIO *mem_bio(const char *p, size_t n)
{
    return n > 0 && n <= 0x7fffffff ? BIO_new_mem_buf(p, (int)n) : NULL;
}

/* Reads PEM certificates until the end of the input. Returns how many were
 * added to `out`, or -1 when something that is not a certificate (or a
 * broken one) is found. */
static int read_certs(const char *pem, size_t len, STACK_OF(X509) * out)
{
    BIO *b = mem_bio(pem, len);
    if (b == NULL)
        return -1;
    int n = 0;
    ERR_clear_error();
    for (;;) {
        X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (x == NULL)
            break;
        if (!sk_X509_push(out, x)) {
            X509_free(x);
            n = -1;
            goto out;
        }
        n++;
    }
    unsigned long e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE && n > 0)
        ERR_clear_error(); /* the normal end of the input */
    else
        n = -1;
out:
    BIO_free(b);
    return n;
}

static const char *key_type(const EVP_PKEY *k)
{
    switch (EVP_PKEY_get_base_id(k)) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_EC:
        return "ECDSA";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    default:
        return "other";
    }
}

/* A reference to x in *list (made on first use), for /certs. */
static int keep(STACK_OF(X509) * *list, X509 *x)
{
    if (*list == NULL && (*list = sk_X509_new_null()) == NULL)
        return -1;
    if (!sk_X509_push(*list, x))
        return -1;
    X509_up_ref(x);
    return 0;
}

/* One certificate chain and its key into the context: OpenSSL keeps one
 * per key type and picks by what the client supports. */
static int load_cert(dp_tls_ctx_t *c, const dp_tls_cert_t *cert, size_t i, const char **types, EVP_MD_CTX *sid,
                     char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = c->ssl;
    int rc = -1;
    EVP_PKEY *key = NULL;
    BIO *kb = NULL;
    STACK_OF(X509) *chain = sk_X509_new_null();
    if (chain == NULL) {
        fail(errbuf, errlen, "certificate %zu: out of memory", i);
        goto out;
    }
    if (cert->chain_pem == NULL || read_certs(cert->chain_pem, cert->chain_len, chain) <= 0) {
        fail(errbuf, errlen, "certificate %zu: certificate_chain is not valid PEM", i);
        goto out;
    }
    kb = mem_bio(cert->key_pem, cert->key_len);
    if (cert->key_pem == NULL || kb == NULL) {
        fail(errbuf, errlen, "certificate %zu: private_key is missing", i);
        goto out;
    }
    ERR_clear_error();
    key = PEM_read_bio_PrivateKey(kb, NULL, pem_password, (void *)cert->password);
    if (key == NULL) {
        fail(errbuf, errlen, "certificate %zu: private_key is not valid PEM%s", i,
             cert->password ? " or the password is wrong" : "");
        goto out;
    }
    X509 *leaf = sk_X509_value(chain, 0);
    if (!X509_check_private_key(leaf, key)) {
        fail(errbuf, errlen, "certificate %zu: private key does not match the certificate", i);
        goto out;
    }
    const char *t = key_type(key);
    for (size_t j = 0; j < i; j++) {
        if (strcmp(types[j], t) == 0) {
            snprintf(errbuf, errlen, "certificate %zu: a second %s certificate (one per key type)", i, t);
            goto out;
        }
    }
    types[i] = t;
    if (SSL_CTX_use_certificate(ctx, leaf) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1) {
        fail(errbuf, errlen, "certificate %zu: rejected", i);
        goto out;
    }
    for (int j = 1; j < sk_X509_num(chain); j++) {
        if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(chain, j)) != 1) {
            fail(errbuf, errlen, "certificate %zu: chain certificate %d rejected", i, j);
            goto out;
        }
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        fail(errbuf, errlen, "certificate %zu: private key does not match the certificate", i);
        goto out;
    }
    EVP_DigestUpdate(sid, cert->chain_pem, cert->chain_len);
    if (keep(&c->leaves, leaf) != 0) {
        fail(errbuf, errlen, "certificate %zu: out of memory", i);
        goto out;
    }
    rc = 0;
out:
    EVP_PKEY_free(key);
    BIO_free(kb);
    sk_X509_pop_free(chain, X509_free);
    return rc;
}

static int load_ca(dp_tls_ctx_t *c, const char *pem, size_t len, char *errbuf, size_t errlen)
{
    SSL_CTX *ctx = c->ssl;
    STACK_OF(X509) *certs = sk_X509_new_null();
    int rc = -1;
    if (certs == NULL || read_certs(pem, len, certs) <= 0) {
        fail(errbuf, errlen, "validation_context: trusted_ca is not valid PEM");
        goto out;
    }
    X509_STORE *store = SSL_CTX_get_cert_store(ctx);
    for (int i = 0; i < sk_X509_num(certs); i++) {
        if (X509_STORE_add_cert(store, sk_X509_value(certs, i)) != 1) {
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_REASON(e) == X509_R_CERT_ALREADY_IN_HASH_TABLE) {
                ERR_clear_error();
                continue;
            }
            fail(errbuf, errlen, "validation_context: trusted_ca certificate %d rejected", i);
            goto out;
        }
        if (keep(&c->cas, sk_X509_value(certs, i)) != 0) {
            fail(errbuf, errlen, "validation_context: out of memory");
            goto out;
        }
    }
    rc = 0;
out:
    sk_X509_pop_free(certs, X509_free);
    return rc;
}

static int tls_version(int v)
{
    switch (v) {
    case DP_TLS_V10:
        return TLS1_VERSION;
    case DP_TLS_V11:
        return TLS1_1_VERSION;
    case DP_TLS_V12:
        return TLS1_2_VERSION;
    case DP_TLS_V13:
        return TLS1_3_VERSION;
    default:
        return -1;
    }
}

static const char *version_name(int v)
{
    static const char *const names[] = {"auto", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"};
    return v >= 0 && v < (int)DP_ARRAY_SIZE(names) ? names[v] : "unknown";
}

static int set_versions(SSL_CTX *ctx, const dp_tls_params_t *p, char *errbuf, size_t errlen)
{
    int lo = p->min_version == DP_TLS_AUTO ? DP_TLS_V12 : p->min_version;
    int hi = p->max_version == DP_TLS_AUTO ? DP_TLS_V13 : p->max_version;
    if (tls_version(lo) < 0 || tls_version(hi) < 0) {
        snprintf(errbuf, errlen, "tls_params: unknown TLS version %d", tls_version(lo) < 0 ? lo : hi);
        return -1;
    }
    if (lo > hi) {
        snprintf(errbuf, errlen,
                 "tls_params: tls_minimum_protocol_version %s is above tls_maximum_protocol_version %s",
                 version_name(lo), version_name(hi));
        return -1;
    }
    if (SSL_CTX_set_min_proto_version(ctx, tls_version(lo)) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, tls_version(hi)) != 1) {
        fail(errbuf, errlen, "tls_params: TLS versions %s..%s not supported", version_name(lo),
             version_name(hi));
        return -1;
    }
    /* OpenSSL 3 refuses TLS 1.0/1.1 at the default security level; Envoy
     * allows them when configured */
    if (lo < DP_TLS_V12)
        SSL_CTX_set_security_level(ctx, 0);
    return 0;
}

/* Envoy's cipher_suites: names joined with ':', possibly with BoringSSL's
 * "[A|B]" groups (flattened here). OpenSSL silently skips unknown names,
 * so each is tried alone first to name the bad one. TLS 1.3 names are
 * accepted and, as in Envoy, do not change the TLS 1.3 suites. */
static int set_ciphers(SSL_CTX *ctx, dp_tls_ctx_t *c, const char *list, char *errbuf, size_t errlen)
{
    size_t n = strlen(list);
    char *flat = dp_xmalloc(n + 1), *out = flat;
    for (const char *p = list; *p; p++) {
        if (*p == '[' || *p == ']')
            continue;
        *out++ = *p == '|' ? ':' : *p;
    }
    *out = 0;
    char *clean = dp_xmalloc(n + 1);
    clean[0] = 0;
    int rc = -1;
    char *save = NULL;
    char *scan = dp_xstrdup(flat);
    for (char *tok = strtok_r(scan, ":, ", &save); tok; tok = strtok_r(NULL, ":, ", &save)) {
        if (strncmp(tok, "TLS_", 4) == 0) {
            if (SSL_CTX_set_ciphersuites(ctx, tok) != 1) {
                fail(errbuf, errlen, "tls_params: unknown cipher suite \"%s\"", tok);
                goto out;
            }
            continue;
        }
        if (strchr("!-+@", tok[0]) == NULL && SSL_CTX_set_cipher_list(ctx, tok) != 1) {
            fail(errbuf, errlen, "tls_params: unknown cipher suite \"%s\"", tok);
            goto out;
        }
        if (clean[0])
            strcat(clean, ":");
        strcat(clean, tok);
    }
    if (clean[0] == 0 || SSL_CTX_set_cipher_list(ctx, clean) != 1) {
        fail(errbuf, errlen, "tls_params: no usable cipher suite in \"%s\"", list);
        goto out;
    }
    c->ciphers = clean;
    clean = NULL;
    rc = 0;
out:
    free(scan);
    free(flat);
    free(clean);
    return rc;
}

static int set_groups(SSL_CTX *ctx, dp_tls_ctx_t *c, const char *list, char *errbuf, size_t errlen)
{
    char *scan = dp_xstrdup(list), *save = NULL;
    int rc = -1;
    for (char *tok = strtok_r(scan, ":,", &save); tok; tok = strtok_r(NULL, ":,", &save)) {
        if (SSL_CTX_set1_groups_list(ctx, tok) != 1) {
            fail(errbuf, errlen, "tls_params: unknown ecdh curve \"%s\"", tok);
            goto out;
        }
    }
    if (SSL_CTX_set1_groups_list(ctx, list) != 1) {
        fail(errbuf, errlen, "tls_params: bad ecdh_curves \"%s\"", list);
        goto out;
    }
    c->groups = dp_xstrdup(list);
    rc = 0;
out:
    free(scan);
    return rc;
}

static int set_alpn(dp_tls_ctx_t *c, const dp_tls_opts_t *o, char *errbuf, size_t errlen)
{
    size_t total = 0;
    for (size_t i = 0; i < o->n_alpn; i++) {
        size_t l = o->alpn[i] ? strlen(o->alpn[i]) : 0;
        if (l == 0 || l > 255) {
            snprintf(errbuf, errlen, "alpn_protocols: entry %zu is empty or longer than 255 bytes", i);
            return -1;
        }
        total += 1 + l;
    }
    if (total == 0)
        return 0;
    c->alpn_wire = dp_xmalloc(total);
    c->alpn_names = dp_xcalloc(o->n_alpn, sizeof(char *));
    c->n_alpn = o->n_alpn;
    for (size_t i = 0; i < o->n_alpn; i++) {
        size_t l = strlen(o->alpn[i]);
        c->alpn_names[i] = dp_xstrdup(o->alpn[i]);
        c->alpn_wire[c->alpn_wire_len++] = (uint8_t)l;
        memcpy(c->alpn_wire + c->alpn_wire_len, o->alpn[i], l);
        c->alpn_wire_len += l;
    }
    return 0;
}

/* Server ALPN: the first of our protocols that the client offers (Envoy's
 * order); none in common: no ALPN and the handshake goes on. */
static int alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
                       unsigned int inlen, void *arg)
{
    (void)arg;
    dp_tls_ctx_t *c = dp_tls__ctx_of(SSL_get_SSL_CTX(ssl));
    if (c == NULL)
        return SSL_TLSEXT_ERR_NOACK;
    for (size_t i = 0; i < c->alpn_wire_len; i += 1 + c->alpn_wire[i]) {
        const uint8_t *ours = c->alpn_wire + i;
        for (unsigned j = 0; j < inlen; j += 1u + in[j]) {
            if (j + 1u + in[j] > inlen)
                break;
            if (in[j] == ours[0] && memcmp(in + j + 1, ours + 1, ours[0]) == 0) {
                *out = ours + 1;
                *outlen = ours[0];
                return SSL_TLSEXT_ERR_OK;
            }
        }
    }
    return SSL_TLSEXT_ERR_NOACK;
}

/* Session tickets with Envoy's key format: AES-256-CBC + HMAC-SHA256. The
 * keys are those of the context the connection switched to (the SSL's
 * current one), although OpenSSL calls the callback of the initial one. */
static int ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
                      EVP_MAC_CTX *hctx, int enc)
{
    dp_tls_ctx_t *c = dp_tls__ctx_of(SSL_get_SSL_CTX(ssl));
    if (c == NULL || c->n_keys == 0)
        return 0; /* no ticket / full handshake */
    const uint8_t *k = NULL;
    int ret = 1;
    if (enc) {
        k = c->keys;
        memcpy(name, k, 16);
        if (RAND_bytes(iv, 16) != 1)
            return -1;
    } else {
        for (size_t i = 0; i < c->n_keys && k == NULL; i++)
            if (memcmp(name, c->keys + i * DP_TLS_TICKET_KEY_LEN, 16) == 0)
                k = c->keys + i * DP_TLS_TICKET_KEY_LEN;
        if (k == NULL)
            return 0; /* unknown key: full handshake */
        if (k != c->keys)
            ret = 2; /* old key: accept and issue a ticket under the current one */
    }
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", (char *)"SHA256", 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(hctx, k + 16, 32, params) != 1)
        return -1;
    int ok = enc ? EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k + 48, iv)
                 : EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, k + 48, iv);
    return ok == 1 ? ret : -1;
}

static bool same_sni(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

/* Client: keeps the newest session (TLS 1.3 tickets arrive after the
 * handshake, during a read). Returns 1: OpenSSL's reference is ours. */
static int session_new(SSL *ssl, SSL_SESSION *sess)
{
    dp_tls_ctx_t *c = dp_tls__ctx_of(SSL_get_SSL_CTX(ssl));
    if (c == NULL)
        return 0;
    const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    char *copy = sni ? dp_xstrdup(sni) : NULL;
    pthread_mutex_lock(&c->lock);
    SSL_SESSION *old = c->session;
    char *old_sni = c->session_sni;
    c->session = sess;
    c->session_sni = copy;
    pthread_mutex_unlock(&c->lock);
    SSL_SESSION_free(old);
    free(old_sni);
    return 1;
}

void dp_tls__session_offer(dp_tls_ctx_t *c, SSL *ssl, const char *sni)
{
    pthread_mutex_lock(&c->lock);
    if (c->session && same_sni(c->session_sni, sni) && SSL_SESSION_is_resumable(c->session))
        SSL_set_session(ssl, c->session); /* takes its own reference */
    pthread_mutex_unlock(&c->lock);
}

static int set_session(SSL_CTX *ctx, dp_tls_ctx_t *c, const dp_tls_opts_t *o, EVP_MD_CTX *sid, char *errbuf,
                       size_t errlen)
{
    if (o->n_ticket_keys > 0 && o->ticket_keys == NULL) {
        snprintf(errbuf, errlen, "session_ticket_keys: keys missing");
        return -1;
    }
    SSL_CTX_set_session_cache_mode(ctx, o->disable_stateful_session_resumption ? SSL_SESS_CACHE_OFF
                                                                               : SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_timeout(ctx, o->session_timeout_s ? (long)o->session_timeout_s : DEFAULT_SESSION_TIMEOUT);
    /* sessions resume only on a context with the same certificates and
     * client validation (a session of one filter chain must not resume on
     * another); a hash, so a rebuilt context keeps accepting them */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    if (EVP_DigestFinal_ex(sid, md, &mdlen) != 1 ||
        SSL_CTX_set_session_id_context(ctx, md, DP_MIN(mdlen, SSL_MAX_SID_CTX_LENGTH)) != 1) {
        fail(errbuf, errlen, "session id context");
        return -1;
    }
    /* on every server context, even one without tickets: OpenSSL asks the
     * initial context's callback, which serves the chosen context's keys */
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key);
    if (o->disable_stateless_session_resumption) {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        return 0;
    }
    c->n_keys = o->n_ticket_keys ? o->n_ticket_keys : 1;
    c->keys = dp_xmalloc(c->n_keys * DP_TLS_TICKET_KEY_LEN);
    if (o->n_ticket_keys)
        memcpy(c->keys, o->ticket_keys, c->n_keys * DP_TLS_TICKET_KEY_LEN);
    else if (RAND_bytes(c->keys, DP_TLS_TICKET_KEY_LEN) != 1) {
        fail(errbuf, errlen, "session ticket key: no randomness");
        return -1;
    }
    return 0;
}

dp_tls_ctx_t *dp_tls_ctx_new(const dp_tls_opts_t *o, char *errbuf, size_t errlen)
{
    char dummy[1];
    if (errbuf == NULL || errlen == 0)
        errbuf = dummy, errlen = sizeof(dummy);
    errbuf[0] = 0;
    pthread_once(&ctx_ex_once, ctx_ex_init);
    if (ctx_ex_index < 0) {
        snprintf(errbuf, errlen, "TLS: OpenSSL ex_data index unavailable");
        return NULL;
    }
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(o->server ? TLS_server_method() : TLS_client_method());
    EVP_MD_CTX *sid = EVP_MD_CTX_new();
    dp_tls_ctx_t *c = NULL;
    if (ctx == NULL || sid == NULL || EVP_DigestInit_ex(sid, EVP_sha256(), NULL) != 1) {
        fail(errbuf, errlen, "TLS context");
        goto fail_ctx;
    }
    c = dp_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->ssl = ctx;
    c->server = o->server;
    if (SSL_CTX_set_ex_data(ctx, ctx_ex_index, c) != 1) {
        ctx_free(c);
        fail(errbuf, errlen, "TLS context");
        goto fail_ctx;
    }
    /* from here c is freed with ctx */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
                                 SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
    /* idle connections hold no record buffers; sock.c may retry a write
     * from a moved buffer and takes partial writes */
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ENABLE_PARTIAL_WRITE |
                              SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_read_ahead(ctx, 1);

    if (o->server && o->n_certs == 0) {
        snprintf(errbuf, errlen, "tls_certificates: a server needs at least one certificate");
        goto fail_ctx;
    }
    if (!o->server && o->n_certs > 1) {
        snprintf(errbuf, errlen, "tls_certificates: a client takes at most one certificate");
        goto fail_ctx;
    }
    const char *types[8];
    if (o->n_certs > DP_ARRAY_SIZE(types)) {
        snprintf(errbuf, errlen, "tls_certificates: too many certificates (%zu)", o->n_certs);
        goto fail_ctx;
    }
    for (size_t i = 0; i < o->n_certs; i++)
        if (load_cert(c, &o->certs[i], i, types, sid, errbuf, errlen) != 0)
            goto fail_ctx;

    if (set_versions(ctx, &o->params, errbuf, errlen) != 0)
        goto fail_ctx;
    if (set_ciphers(ctx, c, o->params.cipher_suites ? o->params.cipher_suites : default_ciphers, errbuf,
                    errlen) != 0)
        goto fail_ctx;
    if (SSL_CTX_set_ciphersuites(ctx, default_ciphersuites) != 1) {
        fail(errbuf, errlen, "TLS 1.3 cipher suites");
        goto fail_ctx;
    }
    c->ciphersuites = dp_xstrdup(default_ciphersuites);
    if (set_groups(ctx, c, o->params.ecdh_curves ? o->params.ecdh_curves : default_groups, errbuf, errlen) !=
        0)
        goto fail_ctx;
    if (set_alpn(c, o, errbuf, errlen) != 0)
        goto fail_ctx;

    if (o->ca_pem) {
        if (load_ca(c, o->ca_pem, o->ca_len, errbuf, errlen) != 0)
            goto fail_ctx;
        EVP_DigestUpdate(sid, o->ca_pem, o->ca_len);
    }
    if (o->server) {
        if (o->require_client_certificate && o->ca_pem == NULL) {
            snprintf(errbuf, errlen, "require_client_certificate needs validation_context.trusted_ca");
            goto fail_ctx;
        }
        if (o->ca_pem)
            SSL_CTX_set_verify(
                ctx, SSL_VERIFY_PEER | (o->require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
                NULL);
        EVP_DigestUpdate(sid, o->require_client_certificate ? "R" : "r", 1);
        SSL_CTX_set_client_hello_cb(ctx, dp_tls__client_hello, NULL);
        SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
        /* what the hand-over to our record layer needs (tls_offload.c) */
        SSL_CTX_set_keylog_callback(ctx, dp_tls__keylog);
        SSL_CTX_set_msg_callback(ctx, dp_tls__msg);
        if (set_session(ctx, c, o, sid, errbuf, errlen) != 0)
            goto fail_ctx;
    } else {
        if (o->verify_name && o->ca_pem == NULL) {
            snprintf(errbuf, errlen, "subject alt name matching needs validation_context.trusted_ca");
            goto fail_ctx;
        }
        if (o->ca_pem)
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        if (o->verify_name) {
            X509_VERIFY_PARAM *vp = SSL_CTX_get0_param(ctx);
            X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            if (X509_VERIFY_PARAM_set1_host(vp, o->verify_name, 0) != 1) {
                fail(errbuf, errlen, "bad subject alt name \"%s\"", o->verify_name);
                goto fail_ctx;
            }
        }
        if (c->alpn_wire_len && SSL_CTX_set_alpn_protos(ctx, c->alpn_wire, (unsigned)c->alpn_wire_len) != 0) {
            fail(errbuf, errlen, "alpn_protocols");
            goto fail_ctx;
        }
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, session_new);
    }
    EVP_MD_CTX_free(sid);
    ERR_clear_error();
    return c;

fail_ctx:
    EVP_MD_CTX_free(sid);
    SSL_CTX_free(ctx); /* frees c */
    ERR_clear_error();
    return NULL;
}
