/* The TLS tests' certificates and keys (testdata/, made by gen.sh),
 * read whole; tests run from the source root. Header-only, one test file
 * each. */
#ifndef DP_TESTS_UNIT_TRANSPORT_TESTDATA_H
#define DP_TESTS_UNIT_TRANSPORT_TESTDATA_H

#include <stdio.h>
#include <stdlib.h>

#include "dataplane/transport/tls.h"

#define TD "tests/unit/transport/testdata/"

typedef struct pem {
    char *p;
    size_t n;
} pem_t;

/* The file's bytes, NUL-terminated (the caller frees p); exits if missing. */
static inline pem_t td_load(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), TD "%s", name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        exit(2);
    }
    pem_t r = {malloc(65536), 0};
    r.n = fread(r.p, 1, 65535, f);
    r.p[r.n] = 0;
    fclose(f);
    return r;
}

/* The named set (gen.sh): a / b / a-rsa server pairs, the CA, another CA,
 * a client pair. td_load_all() reads them, td_free_all() frees them. */
static pem_t a_pem, a_key, b_pem, b_key, arsa_pem, arsa_key, ca_pem, other_ca, client_pem, client_key;

static inline void td_load_all(void)
{
    a_pem = td_load("a.pem");
    a_key = td_load("a.key");
    b_pem = td_load("b.pem");
    b_key = td_load("b.key");
    arsa_pem = td_load("a-rsa.pem");
    arsa_key = td_load("a-rsa.key");
    ca_pem = td_load("ca.pem");
    other_ca = td_load("other-ca.pem");
    client_pem = td_load("client.pem");
    client_key = td_load("client.key");
}

static inline void td_free_all(void)
{
    pem_t *all[] = {&a_pem,    &a_key,  &b_pem,    &b_key,      &arsa_pem,
                    &arsa_key, &ca_pem, &other_ca, &client_pem, &client_key};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        free(all[i]->p);
        *all[i] = (pem_t){0};
    }
}

/* A certificate entry of dp_tls_opts_t from a chain and its key. */
static inline dp_tls_cert_t cert(pem_t chain, pem_t key)
{
    return (dp_tls_cert_t){.chain_pem = chain.p, .chain_len = chain.n, .key_pem = key.p, .key_len = key.n};
}

#endif
