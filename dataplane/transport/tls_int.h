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
#include "dataplane/transport/tls_record.h"

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
    /* what /certs shows (tls_certs.c): the leaf of each configured
     * certificate, the trusted CAs; references held, read-only */
    STACK_OF(X509) *leaves, *cas;
};

/* A TLS connection. OpenSSL runs the handshake; a server connection on
 * TLS 1.3 is then handed over to our record layer (tls_offload.c) at its
 * first idle moment and the SSL object is freed: from then on ssl is
 * NULL and rec holds the record state. */
typedef struct tls_conn {
    SSL *ssl;
    dp_sock_t *sock;
    ev_io hio; /* drives the handshake */
    dp_tls_select_cb select;
    void *arg;
    void *chosen;
    dp_tls_done_cb on_done;
    char *sni;          /* server: what the client sent, lowercase; client: what we sent */
    char *subject;      /* peer certificate subject, computed when asked (or at the hand-over) */
    const char *alpn;   /* negotiated: one of the context's alpn_names, or "" */
    const char *cipher; /* negotiated (OpenSSL's static name), or "" */
    /* Before the hand-over: the traffic secrets the keylog callback gave
     * (rd/wr.secret, hash_len) and the records counted under them since
     * each side's Finished (rd/wr.seq). After: the record layer. */
    dp_tls_rec_t *rec;
    dp_tls_ctx_t *ctx; /* after the hand-over: keeps alpn's strings alive */
    /* after the hand-over: received bytes not yet opened (a partial
     * record), opened bytes the reader had no room for, sealed bytes the
     * fd did not take and how much of the caller's plaintext they carry */
    uint8_t *stash, *plain, *wpend;
    uint32_t stash_len, plain_off, plain_len, wpend_off, wpend_len, wpend_plain;
    unsigned handshaking : 1;
    unsigned selected : 1; /* the select callback ran (a HelloRetryRequest brings a second ClientHello) */
    unsigned failed : 1;   /* fatal TLS error: the session must not be resumed */
    unsigned rd_eof : 1;   /* reads ended: they keep returning the same */
    unsigned rd_err : 1;
    unsigned server : 1;
    /* hand-over bookkeeping: which secrets came, which side's Finished
     * went by, something we do not follow happened (no hand-over), a
     * write OpenSSL still holds */
    unsigned rd_secret : 1, wr_secret : 1, rd_app : 1, wr_app : 1, no_handover : 1, wr_blocked : 1;
    unsigned resumed : 1;   /* after the hand-over: SSL_session_reused() */
    unsigned need_ku : 1;   /* the peer asked for a KeyUpdate: ours goes before our next record */
    unsigned peer_cert : 1; /* the peer presented a certificate */
} tls_conn_t;

/* Hand-over to tls_offload.c's record layer (on by default; tests turn
 * it off to exercise OpenSSL's own record layer). */
extern bool dp_tls__handover_enabled;

/* Callbacks every server context installs (tls_ctx.c): the traffic
 * secrets and the record/handshake trace that the hand-over needs. */
void dp_tls__keylog(const SSL *ssl, const char *line);
void dp_tls__msg(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
                 void *arg);

/* Moves a server connection from OpenSSL to the record layer if it is
 * TLS 1.3 with a suite we do, idle (nothing buffered, no write pending)
 * and nothing happened that we did not follow. Returns whether it did. */
bool dp_tls__handover(dp_sock_t *s, tls_conn_t *t);

/* The transport ops after the hand-over (same contracts as tls.c's). */
ssize_t dp_tls__rec_read(dp_sock_t *s, tls_conn_t *t, void *buf, size_t len);
ssize_t dp_tls__rec_writev(dp_sock_t *s, tls_conn_t *t, const struct iovec *iov, int iovcnt);
void dp_tls__rec_shutdown(dp_sock_t *s, tls_conn_t *t);
/* Frees the record state (before the hand-over too). */
void dp_tls__rec_dispose(tls_conn_t *t);

/* The wrapper of an SSL_CTX made by dp_tls_ctx_new(), or NULL. */
dp_tls_ctx_t *dp_tls__ctx_of(const SSL_CTX *ssl);

/* Client: offers the cached session of c for sni (NULL: none) on ssl. */
void dp_tls__session_offer(dp_tls_ctx_t *c, SSL *ssl, const char *sni);

/* SSL_CTX client hello callback of every server context (tls.c): runs the
 * connection's select callback and switches to the chosen context. */
int dp_tls__client_hello(SSL *ssl, int *al, void *arg);

#endif
