/* TLS contexts: what builds, and the errors that name what does not. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/transport/tls.h"
#include "tests/unit/test.h"
#include "tests/unit/transport/testdata.h"

/* builds, expects failure with an error containing frag */
static void expect_err(const dp_tls_opts_t *o, const char *frag)
{
    char err[256];
    dp_tls_ctx_t *c = dp_tls_ctx_new(o, err, sizeof(err));
    CHECK(c == NULL);
    int ok = strstr(err, frag) != NULL;
    if (!ok)
        fprintf(stderr, "  error: %s\n  wanted: %s\n", err, frag);
    CHECK(ok);
    dp_tls_ctx_unref(c);
}

static void test_server_ok(void)
{
    char err[256] = "";
    dp_tls_cert_t certs[2] = {cert(a_pem, a_key), cert(b_pem, b_key)};
    const char *alpn[] = {"h2", "http/1.1"};
    dp_tls_opts_t o = {.server = true, .certs = certs, .n_certs = 1, .alpn = alpn, .n_alpn = 2};
    dp_tls_ctx_t *c = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        fprintf(stderr, "  %s\n", err);
    CHECK(dp_tls_ctx_ref(c) == c);
    dp_tls_ctx_unref(c);
    dp_tls_ctx_unref(c);
    dp_tls_ctx_unref(NULL);

    /* RSA and ECDSA side by side */
    dp_tls_cert_t both[2] = {cert(a_pem, a_key), cert(arsa_pem, arsa_key)};
    o.certs = both;
    o.n_certs = 2;
    c = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        fprintf(stderr, "  %s\n", err);
    dp_tls_ctx_unref(c);

    /* two of the same key type */
    dp_tls_cert_t twice[2] = {cert(b_pem, b_key), cert(arsa_pem, arsa_key)};
    o.certs = twice;
    expect_err(&o, "second RSA certificate");

    /* explicit parameters, ticket keys, client certificates */
    uint8_t keys[160];
    for (size_t i = 0; i < sizeof(keys); i++)
        keys[i] = (uint8_t)i;
    o = (dp_tls_opts_t){.server = true,
                        .certs = certs,
                        .n_certs = 1,
                        .params = {.min_version = DP_TLS_V12,
                                   .max_version = DP_TLS_V12,
                                   .cipher_suites =
                                       "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]:"
                                       "ECDHE-RSA-AES128-GCM-SHA256",
                                   .ecdh_curves = "P-256:P-384"},
                        .ca_pem = ca_pem.p,
                        .ca_len = ca_pem.n,
                        .require_client_certificate = true,
                        .ticket_keys = keys,
                        .n_ticket_keys = 2,
                        .session_timeout_s = 60};
    c = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        fprintf(stderr, "  %s\n", err);
    dp_tls_ctx_unref(c);
}

static void test_client_ok(void)
{
    char err[256] = "";
    const char *alpn[] = {"h2"};
    dp_tls_opts_t o = {.alpn = alpn, .n_alpn = 1};
    dp_tls_ctx_t *c = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(c != NULL);
    dp_tls_ctx_unref(c);
    dp_tls_cert_t cc = cert(a_pem, a_key);
    o = (dp_tls_opts_t){
        .certs = &cc, .n_certs = 1, .ca_pem = ca_pem.p, .ca_len = ca_pem.n, .verify_name = "a.example.com"};
    c = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(c != NULL);
    if (!c)
        fprintf(stderr, "  %s\n", err);
    dp_tls_ctx_unref(c);
}

static void test_errors(void)
{
    dp_tls_cert_t good = cert(a_pem, a_key);
    dp_tls_opts_t o = {.server = true, .certs = &good, .n_certs = 1};

    expect_err(&(dp_tls_opts_t){.server = true}, "at least one certificate");

    dp_tls_cert_t c = good;
    c.chain_pem = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    c.chain_len = strlen(c.chain_pem);
    o.certs = &c;
    expect_err(&o, "certificate 0: certificate_chain is not valid PEM");
    c.chain_pem = "hello";
    c.chain_len = 5;
    expect_err(&o, "certificate_chain is not valid PEM");

    c = good;
    c.key_pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    c.key_len = strlen(c.key_pem);
    expect_err(&o, "certificate 0: private_key is not valid PEM");
    c.key_pem = NULL;
    c.key_len = 0;
    expect_err(&o, "private_key is missing");

    c = cert(a_pem, b_key); /* ECDSA certificate, RSA key */
    expect_err(&o, "private key does not match the certificate");

    o.certs = &good;
    o.params.cipher_suites = "ECDHE-RSA-AES128-GCM-SHA256:NOT-A-CIPHER";
    expect_err(&o, "unknown cipher suite \"NOT-A-CIPHER\"");
    o.params.cipher_suites = "TLS_NOPE";
    expect_err(&o, "unknown cipher suite \"TLS_NOPE\"");
    o.params.cipher_suites = NULL;
    o.params.ecdh_curves = "X25519:P-999";
    expect_err(&o, "unknown ecdh curve \"P-999\"");
    o.params.ecdh_curves = NULL;
    o.params.min_version = DP_TLS_V13;
    o.params.max_version = DP_TLS_V12;
    expect_err(&o, "tls_minimum_protocol_version TLSv1_3 is above tls_maximum_protocol_version TLSv1_2");
    o.params.min_version = 9;
    expect_err(&o, "unknown TLS version 9");
    o.params.min_version = 0;
    o.params.max_version = 0;

    o.require_client_certificate = true;
    expect_err(&o, "require_client_certificate needs validation_context.trusted_ca");
    o.require_client_certificate = false;
    o.ca_pem = "garbage";
    o.ca_len = 7;
    expect_err(&o, "trusted_ca is not valid PEM");
    o.ca_pem = NULL;
    o.ca_len = 0;

    const char *alpn[] = {""};
    o.alpn = alpn;
    o.n_alpn = 1;
    expect_err(&o, "alpn_protocols: entry 0");
    o.alpn = NULL;
    o.n_alpn = 0;

    dp_tls_opts_t cl = {.verify_name = "x.example.com"};
    expect_err(&cl, "needs validation_context.trusted_ca");
    dp_tls_cert_t two[2] = {good, good};
    cl = (dp_tls_opts_t){.certs = two, .n_certs = 2};
    expect_err(&cl, "at most one certificate");
}

int main(void)
{
    td_load_all();
    test_server_ok();
    test_client_ok();
    test_errors();
    td_free_all();
    TEST_DONE();
}
