/* The TLS transport (Envoy's envoy.transport_sockets.tls), on OpenSSL 3.
 *
 * Two halves:
 *  - contexts: immutable, refcounted TLS configurations built from the
 *    translated DownstreamTlsContext / UpstreamTlsContext (certificates as
 *    PEM bytes, never paths: the translator reads files and SDS secrets);
 *  - the transport: a dp_transport_ops_t that a dp_sock_t runs on, so the
 *    codecs above never know whether they speak TLS (STYLE.md 2).
 *
 * Server side: dp_tls_accept() starts the handshake on an accepted socket.
 * The listener picks its filter chain while the ClientHello is processed
 * (SNI, ALPN offered) through a select callback that returns the context
 * to continue with, so certificates of several chains sit on one port.
 * Client side: dp_tls_connect() on a connected socket (upstream TLS).
 *
 * Idle connections hold no TLS buffers (SSL_MODE_RELEASE_BUFFERS); server
 * connections on TLS 1.3 leave OpenSSL after the handshake (tls_offload.c). */
#ifndef DP_TRANSPORT_TLS_H
#define DP_TRANSPORT_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/transport/sock.h"

typedef struct dp_tls_ctx dp_tls_ctx_t;

/* A certificate chain with its private key, PEM. */
typedef struct dp_tls_cert {
    const char *chain_pem;
    size_t chain_len;
    const char *key_pem;
    size_t key_len;
    const char *password; /* private key password, or NULL */
} dp_tls_cert_t;

/* Envoy's TlsParameters. Versions as DP_TLS_V*; 0: Envoy's default
 * (server: 1.2 .. 1.3; client: 1.2 .. 1.3). */
enum { DP_TLS_AUTO = 0, DP_TLS_V10 = 1, DP_TLS_V11 = 2, DP_TLS_V12 = 3, DP_TLS_V13 = 4 };

typedef struct dp_tls_params {
    int min_version, max_version;
    const char *cipher_suites; /* OpenSSL cipher list (TLS <= 1.2), ':' separated; NULL: Envoy's default */
    const char *ecdh_curves;   /* ':' separated group names; NULL: Envoy's default (X25519:P-256) */
} dp_tls_params_t;

/* What a context is made of (CommonTlsContext + the side's extras). */
typedef struct dp_tls_opts {
    bool server;
    const dp_tls_cert_t *certs; /* server: at least one (RSA and ECDSA may sit side by side) */
    size_t n_certs;             /* client: 0 or 1 (client certificate) */
    dp_tls_params_t params;
    /* ALPN, in preference order. Server: the first of ours the client
     * offers wins; none in common: no ALPN (the connection goes on).
     * Client: what we offer. */
    const char *const *alpn;
    size_t n_alpn;
    /* validation_context: trusted CA bundle (PEM) or NULL. Server: client
     * certificates are checked against it (required if
     * require_client_certificate). Client: the upstream's certificate must
     * chain to it; with no CA the upstream is not verified (Envoy's rule). */
    const char *ca_pem;
    size_t ca_len;
    bool require_client_certificate;
    /* client: match_typed_subject_alt_names / SNI check: the upstream
     * certificate must be valid for this name (DNS SAN); NULL: no check. */
    const char *verify_name;
    /* server: session resumption. Tickets are on unless disabled; keys:
     * 80 bytes each (Envoy's session_ticket_keys format), first encrypts,
     * all decrypt; none: random per context. */
    bool disable_stateless_session_resumption;
    bool disable_stateful_session_resumption;
    const uint8_t *ticket_keys; /* n_ticket_keys * 80 bytes */
    size_t n_ticket_keys;
    uint32_t session_timeout_s; /* 0: default (300) */
} dp_tls_opts_t;

/* Builds a context. Returns NULL with errbuf saying what is wrong (bad PEM,
 * key does not match certificate, unknown cipher or curve, ...). */
dp_tls_ctx_t *dp_tls_ctx_new(const dp_tls_opts_t *o, char *errbuf, size_t errlen);
dp_tls_ctx_t *dp_tls_ctx_ref(dp_tls_ctx_t *c);
void dp_tls_ctx_unref(dp_tls_ctx_t *c); /* NULL is a no-op */

/* Called during the server handshake with the ClientHello's SNI (NULL if
 * none, lowercase) and offered ALPN protocols (wire format: length-prefixed
 * strings; NULL/0 if none). Returns the context to continue with (it must
 * stay alive for the handshake; the connection takes a reference), or NULL
 * to abort the handshake (no filter chain matches). *chosen is stored and
 * handed back to on_done. */
typedef dp_tls_ctx_t *(*dp_tls_select_cb)(void *arg, const char *sni, const uint8_t *alpn, size_t alpn_len,
                                          void **chosen);

/* Handshake finished: err 0 and the socket now runs on the TLS transport
 * (reads/writes are plaintext), or a negative DP_E* (the caller closes the
 * socket). `chosen` is what the select callback stored. */
typedef void (*dp_tls_done_cb)(dp_sock_t *s, int err, void *chosen);

/* Starts the server handshake on an accepted raw socket. `initial` is the
 * context used until the select callback (if any) picks one. The socket's
 * on_read is taken over until on_done. */
int dp_tls_accept(dp_sock_t *s, dp_tls_ctx_t *initial, dp_tls_select_cb select, void *arg,
                  dp_tls_done_cb on_done);
/* Starts the client handshake on a connected socket, with SNI `sni`
 * (NULL: none). */
int dp_tls_connect(dp_sock_t *s, dp_tls_ctx_t *ctx, const char *sni, dp_tls_done_cb on_done);

/* After the handshake: the negotiated ALPN protocol ("" if none), the SNI
 * the client sent (NULL if none), the protocol version ("TLSv1.3"), whether
 * the session was resumed. */
const char *dp_tls_alpn(const dp_sock_t *s);
const char *dp_tls_sni(const dp_sock_t *s);
const char *dp_tls_version(const dp_sock_t *s);
bool dp_tls_resumed(const dp_sock_t *s);
/* The peer certificate's subject (client certs), or NULL. */
const char *dp_tls_peer_subject(const dp_sock_t *s);
/* Whether the peer presented a certificate; the negotiated cipher's name
 * ("TLS_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"; "" before
 * the handshake). */
bool dp_tls_peer_cert(const dp_sock_t *s);
const char *dp_tls_cipher(const dp_sock_t *s);
/* Whether the connection runs on our TLS 1.3 record layer (server
 * connections are handed over from OpenSSL at their first idle moment,
 * freeing the SSL object; tls_offload.c). */
bool dp_tls_handed_over(const dp_sock_t *s);

/* A certificate of a context as /certs shows it (Envoy's admin.v3.
 * CertificateDetails; tls_certs.c). */
#define DP_TLS_MAX_SANS 16
typedef struct dp_tls_cert_info {
    bool ca;                       /* a trusted CA, else a configured certificate's leaf */
    char serial[96];               /* lowercase hex */
    int64_t not_before, not_after; /* Unix seconds */
    size_t n_sans;
    struct {
        const char *kind; /* "dns", "uri", "ip_address" */
        char value[256];
    } sans[DP_TLS_MAX_SANS];
} dp_tls_cert_info_t;

/* Calls fn for the leaf of each of c's certificates, then for each trusted
 * CA of its validation context; ci lives during the call. */
void dp_tls_ctx_certs(const dp_tls_ctx_t *c, void (*fn)(void *arg, const dp_tls_cert_info_t *ci), void *arg);

/* The transport ops of a TLS socket (s->tops after dp_tls_accept/connect). */
extern const dp_transport_ops_t dp_transport_tls;

#endif
