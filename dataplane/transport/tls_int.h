/* Internals shared by the two halves of the TLS transport: tls_ctx.c
 * (contexts) and tls.c (connections). Not for use outside transport/. */
#ifndef DP_TRANSPORT_TLS_INT_H
#define DP_TRANSPORT_TLS_INT_H

#include <openssl/ssl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/transport/tls.h"

#define DP_TLS_TICKET_KEY_LEN 80 /* Envoy: 16 name | 32 HMAC secret | 32 AES key */
#define DP_TLS_RECORD_MAX 16384  /* plaintext bytes per record */

/* The wrapper lives exactly as long as its SSL_CTX: it hangs off the
 * SSL_CTX's ex_data and is freed by the ex_data free hook, so the
 * SSL_CTX refcount (which every SSL also holds) is the only refcount and
 * a connection never outlives the configuration it needs. */
struct dp_tls_ctx {
    SSL_CTX *ssl;
    bool server;
    /* our ALPN list, wire format (length-prefixed), in preference order */
    uint8_t *alpn_wire;
    size_t alpn_wire_len;
    char **alpn_names; /* the same, NUL-terminated (what dp_tls_alpn() returns) */
    size_t n_alpn;
    /* session ticket keys, n_keys * DP_TLS_TICKET_KEY_LEN; the first encrypts */
    uint8_t *keys;
    size_t n_keys;
    /* what SSL_set_SSL_CTX() does not carry over to a connection that
     * switches to this context (HAProxy copies the same by hand) */
    char *ciphers;      /* TLS <= 1.2 cipher list */
    char *ciphersuites; /* TLS 1.3 */
    char *groups;
    /* client: the last session the upstream gave us, resumed by the next
     * connection with the same SNI (Envoy's max_session_keys = 1);
     * contexts are shared by the workers, hence the lock */
    pthread_mutex_t lock;
    SSL_SESSION *session;
    char *session_sni;
};

/* The wrapper of an SSL_CTX made by dp_tls_ctx_new(), or NULL. */
dp_tls_ctx_t *dp_tls__ctx_of(const SSL_CTX *ssl);

/* Client: offers the cached session of c for sni (NULL: none) on ssl. */
void dp_tls__session_offer(dp_tls_ctx_t *c, SSL *ssl, const char *sni);

/* SSL_CTX client hello callback of every server context (tls.c): runs the
 * connection's select callback and switches to the chosen context. */
int dp_tls__client_hello(SSL *ssl, int *al, void *arg);

#endif
