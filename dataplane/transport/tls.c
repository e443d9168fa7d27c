/* TLS connections: the handshake (server with filter chain selection on
 * the ClientHello, client with SNI and verification) and the
 * dp_transport_tls ops a socket runs on afterwards. Contexts: tls_ctx.c.
 *
 * The handshake drives the fd with its own watcher while the socket's
 * watchers rest (dp_sock__transport_busy); afterwards sock.c drives
 * SSL_read/SSL_write through the ops, told by s->read_wants_write /
 * write_wants_read / transport_buffered what OpenSSL waits for.
 *
 *   accept: ClientHello -> client_hello cb -> select() -> SSL_set_SSL_CTX
 *           -> ALPN (tls_ctx.c) -> ... Finished -> on_done, s->tops = tls */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/transport/tls_int.h"

static tls_conn_t *conn_of(const dp_sock_t *s)
{
    return s && s->tops == &dp_transport_tls ? s->tctx : NULL;
}

/* OpenSSL's reason for the last error (for debug logs), and an empty queue. */
static const char *last_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    return r ? r : "connection closed";
}

/* ---- the server's ClientHello: filter chain selection ---- */

/* The host_name of a server_name extension (RFC 6066 3), lowercased into
 * out. Returns its length, 0 if there is none, -1 if malformed. */
static int parse_sni(const unsigned char *p, size_t len, char *out, size_t outlen)
{
    if (len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2)
        return -1;
    p += 2;
    len -= 2;
    while (len >= 3) {
        unsigned type = p[0];
        size_t n = (size_t)((p[1] << 8) | p[2]);
        if (n > len - 3)
            return -1;
        if (type == TLSEXT_NAMETYPE_host_name) {
            if (n == 0 || n >= outlen)
                return -1;
            for (size_t i = 0; i < n; i++) {
                if (p[3 + i] == 0)
                    return -1;
                out[i] = (char)tolower(p[3 + i]);
            }
            out[n] = 0;
            return (int)n;
        }
        p += 3 + n;
        len -= 3 + n;
    }
    return len == 0 ? 0 : -1;
}

/* What SSL_set_SSL_CTX() leaves from the initial context and a handshake
 * must take from the chosen one (HAProxy copies the same). Sessions stay
 * with the initial context (OpenSSL's session_ctx): its cache, cache mode
 * and timeout apply to every chain of the listener; the ticket callback
 * serves the chosen context's keys, and the session id context, which
 * SSL_set_SSL_CTX does switch, keeps sessions of one context from
 * resuming on another. */
static int switch_ctx(SSL *ssl, dp_tls_ctx_t *to)
{
    dp_tls_ctx_t *from = dp_tls__ctx_of(SSL_get_SSL_CTX(ssl));
    SSL_CTX *c = to->ssl;
    if (SSL_set_SSL_CTX(ssl, c) != c)
        return -1;
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(c), SSL_CTX_get_verify_callback(c));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(c));
    uint64_t want = SSL_CTX_get_options(c);
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~want);
    SSL_set_options(ssl, want);
    SSL_set_security_level(ssl, SSL_CTX_get_security_level(c));
    if (SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(c)) != 1 ||
        SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(c)) != 1)
        return -1;
    /* parsing cipher lists costs: only when they differ (rarely) */
    if ((from == NULL || strcmp(from->ciphers, to->ciphers) != 0) &&
        SSL_set_cipher_list(ssl, to->ciphers) != 1)
        return -1;
    if ((from == NULL || strcmp(from->ciphersuites, to->ciphersuites) != 0) &&
        SSL_set_ciphersuites(ssl, to->ciphersuites) != 1)
        return -1;
    if ((from == NULL || strcmp(from->groups, to->groups) != 0) && SSL_set1_groups_list(ssl, to->groups) != 1)
        return -1;
    return 0;
}

int dp_tls__client_hello(SSL *ssl, int *al, void *arg)
{
    (void)arg;
    tls_conn_t *t = SSL_get_app_data(ssl);
    if (t == NULL || t->selected)
        return SSL_CLIENT_HELLO_SUCCESS;
    t->selected = 1;
    const unsigned char *p;
    size_t len;
    char sni[256];
    int n = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) == 1) {
        n = parse_sni(p, len, sni, sizeof(sni));
        if (n < 0) {
            *al = SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        if (n > 0)
            t->sni = dp_xstrdup(sni);
    }
    const uint8_t *alpn = NULL;
    size_t alpn_len = 0;
    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_application_layer_protocol_negotiation, &p, &len) == 1) {
        if (len < 2 || (size_t)((p[0] << 8) | p[1]) != len - 2) {
            *al = SSL_AD_DECODE_ERROR;
            return SSL_CLIENT_HELLO_ERROR;
        }
        alpn = p + 2;
        alpn_len = len - 2;
    }
    if (t->select == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;
    dp_tls_ctx_t *c = t->select(t->arg, t->sni, alpn_len ? alpn : NULL, alpn_len, &t->chosen);
    if (c == NULL || !c->server) {
        *al = t->sni ? SSL_AD_UNRECOGNIZED_NAME : SSL_AD_HANDSHAKE_FAILURE;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (c->ssl != SSL_get_SSL_CTX(ssl) && switch_ctx(ssl, c) != 0) {
        *al = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* ---- handshake ---- */

static void hs_wait(tls_conn_t *t, int events)
{
    struct ev_loop *ev = t->sock->loop->ev;
    if (ev_is_active(&t->hio)) {
        if ((t->hio.events & (EV_READ | EV_WRITE)) == events)
            return;
        ev_io_stop(ev, &t->hio);
    }
    ev_io_modify(&t->hio, events); /* same fd: no re-add to epoll (sock.c's io_update) */
    ev_io_start(ev, &t->hio);
}

static const char *find_alpn(const dp_tls_ctx_t *c, const unsigned char *p, unsigned n)
{
    for (size_t i = 0; c && i < c->n_alpn; i++)
        if (strlen(c->alpn_names[i]) == n && memcmp(c->alpn_names[i], p, n) == 0)
            return c->alpn_names[i];
    return "";
}

static void hs_done(dp_sock_t *s, tls_conn_t *t, int err)
{
    ev_io_stop(s->loop->ev, &t->hio);
    t->handshaking = 0;
    if (err == 0) {
        const unsigned char *p = NULL;
        unsigned n = 0;
        SSL_get0_alpn_selected(t->ssl, &p, &n);
        t->alpn = n ? find_alpn(dp_tls__ctx_of(SSL_get_SSL_CTX(t->ssl)), p, n) : "";
        /* what the hand-over would otherwise take along with the SSL */
        const SSL_CIPHER *c = SSL_get_current_cipher(t->ssl);
        t->cipher = c ? SSL_CIPHER_get_name(c) : ""; /* Envoy's (BoringSSL's) names */
        t->peer_cert = SSL_get0_peer_certificate(t->ssl) != NULL;
        /* a client's first data may have come with its Finished */
        s->transport_buffered = SSL_has_pending(t->ssl) != 0;
        if (!s->transport_buffered)
            dp_tls__handover(s, t);
        dp_sock__transport_ready(s);
    } else {
        t->failed = 1;
    }
    t->on_done(s, err, t->chosen);
}

static void hs_step(dp_sock_t *s, tls_conn_t *t)
{
    ERR_clear_error();
    int r = SSL_do_handshake(t->ssl);
    if (r == 1) {
        hs_done(s, t, 0);
        return;
    }
    int e = SSL_get_error(t->ssl, r);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        hs_wait(t, EV_READ);
        return;
    case SSL_ERROR_WANT_WRITE:
        hs_wait(t, EV_WRITE);
        return;
    default:
        DP_DEBUG("TLS handshake failed: %s",
                 e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : last_reason());
        ERR_clear_error();
        hs_done(s, t, e == SSL_ERROR_SSL ? DP_ERR : DP_ECLOSED);
        return;
    }
}

static void on_hs_io(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    dp_sock_t *s = w->data;
    tls_conn_t *t = s->tctx;
    if (s->closed || t == NULL || !t->handshaking)
        return;
    hs_step(s, t);
}

static tls_conn_t *start(dp_sock_t *s, dp_tls_ctx_t *c, dp_tls_done_cb on_done)
{
    if (s == NULL || c == NULL || on_done == NULL || s->closed || s->tops != &dp_transport_raw)
        return NULL;
    SSL *ssl = SSL_new(c->ssl);
    if (ssl == NULL || SSL_set_fd(ssl, s->fd) != 1) {
        SSL_free(ssl);
        ERR_clear_error();
        return NULL;
    }
    tls_conn_t *t = dp_xcalloc(1, sizeof(*t));
    t->ssl = ssl;
    t->sock = s;
    t->on_done = on_done;
    t->alpn = "";
    t->cipher = "";
    t->handshaking = 1;
    SSL_set_app_data(ssl, t);
    /* the fd is already in epoll (the socket's own watcher, or the
     * listener's peek): its first start must not re-add it (hs_wait) */
    ev_init(&t->hio, on_hs_io);
    t->hio.fd = s->fd;
    t->hio.data = s;
    s->tops = &dp_transport_tls;
    s->tctx = t;
    dp_sock__transport_busy(s);
    return t;
}

int dp_tls_accept(dp_sock_t *s, dp_tls_ctx_t *initial, dp_tls_select_cb select, void *arg,
                  dp_tls_done_cb on_done)
{
    if (initial == NULL || !initial->server)
        return DP_EINVAL;
    tls_conn_t *t = start(s, initial, on_done);
    if (t == NULL)
        return DP_EINVAL;
    t->select = select;
    t->arg = arg;
    t->server = 1;
    SSL_set_accept_state(t->ssl);
    /* the ClientHello is (being) received: first step from the loop, never
     * from here, so on_done never runs inside dp_tls_accept() */
    hs_wait(t, EV_READ);
    return 0;
}

int dp_tls_connect(dp_sock_t *s, dp_tls_ctx_t *ctx, const char *sni, dp_tls_done_cb on_done)
{
    if (ctx == NULL || ctx->server || (sni && strlen(sni) > 255))
        return DP_EINVAL;
    tls_conn_t *t = start(s, ctx, on_done);
    if (t == NULL)
        return DP_EINVAL;
    SSL_set_connect_state(t->ssl);
    if (sni && *sni) {
        t->sni = dp_xstrdup(sni);
        SSL_set_tlsext_host_name(t->ssl, sni); /* cannot fail for 1..255 bytes */
    }
    dp_tls__session_offer(ctx, t->ssl, t->sni);
    hs_wait(t, EV_WRITE); /* the ClientHello goes out as soon as the fd takes it */
    return 0;
}

/* ---- transport ops ---- */

static ssize_t tls_read(dp_sock_t *s, void *buf, size_t len)
{
    tls_conn_t *t = s->tctx;
    if (t->failed || t->rd_err)
        return DP_ECLOSED;
    if (t->handshaking)
        return DP_EAGAIN;
    if (t->ssl == NULL)
        return dp_tls__rec_read(s, t, buf, len);
    if (t->rd_eof)
        return 0;
    s->read_wants_write = 0;
    size_t n = 0;
    ERR_clear_error();
    if (SSL_read_ex(t->ssl, buf, len, &n) == 1) {
        s->transport_buffered = SSL_has_pending(t->ssl) != 0;
        if (!s->transport_buffered) /* all received bytes consumed: an idle point */
            dp_tls__handover(s, t);
        return (ssize_t)n;
    }
    /* only a read that returned data may leave data behind; this also
     * stops sock.c from feeding reads over a partial record */
    s->transport_buffered = 0;
    int e = SSL_get_error(t->ssl, 0);
    switch (e) {
    case SSL_ERROR_WANT_READ:
        /* everything received was consumed: an idle point */
        dp_tls__handover(s, t);
        return DP_EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        s->read_wants_write = 1;
        return DP_EAGAIN;
    case SSL_ERROR_ZERO_RETURN: /* close_notify, or EOF (SSL_OP_IGNORE_UNEXPECTED_EOF) */
        t->rd_eof = 1;
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        t->rd_err = 1;
        return DP_ECLOSED;
    default:
        DP_DEBUG("TLS read failed: %s", last_reason());
        ERR_clear_error();
        t->failed = 1;
        return DP_ECLOSED;
    }
}

/* Plaintext out in records of up to 16 KiB, small iovecs coalesced (a
 * response head and a small body make one record, not two). A write that
 * would block must be retried with the same bytes in front and at least
 * as many of them (OpenSSL keeps the encrypted record): sock.c retries
 * from its queue, which only grows at the back, and the chunking below
 * depends on nothing else. */
static ssize_t tls_writev(dp_sock_t *s, const struct iovec *iov, int iovcnt)
{
    static _Thread_local char coalesce[DP_TLS_RECORD_MAX];
    tls_conn_t *t = s->tctx;
    if (t->failed)
        return DP_ECLOSED;
    if (t->handshaking)
        return DP_EAGAIN; /* kept queued until dp_sock__transport_ready() */
    if (t->ssl == NULL)
        return dp_tls__rec_writev(s, t, iov, iovcnt);
    s->write_wants_read = 0;
    size_t remaining = 0, done = 0, off = 0;
    for (int i = 0; i < iovcnt; i++)
        remaining += iov[i].iov_len;
    int i = 0;
    while (remaining > 0) {
        while (iov[i].iov_len == off) {
            i++;
            off = 0;
        }
        size_t chunk = DP_MIN(remaining, (size_t)DP_TLS_RECORD_MAX);
        const char *p = (const char *)iov[i].iov_base + off;
        if (iov[i].iov_len - off < chunk) {
            size_t got = 0, o = off;
            for (int j = i; got < chunk; j++, o = 0) {
                size_t k = DP_MIN(iov[j].iov_len - o, chunk - got);
                memcpy(coalesce + got, (const char *)iov[j].iov_base + o, k);
                got += k;
            }
            p = coalesce;
        }
        size_t w = 0;
        ERR_clear_error();
        if (SSL_write_ex(t->ssl, p, chunk, &w) != 1) {
            int e = SSL_get_error(t->ssl, 0);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
                t->wr_blocked = 1; /* OpenSSL holds the record: no hand-over until it went */
                s->write_wants_read = e == SSL_ERROR_WANT_READ;
                return done > 0 ? (ssize_t)done : DP_EAGAIN;
            }
            DP_DEBUG("TLS write failed: %s",
                     e == SSL_ERROR_SYSCALL && errno ? strerror(errno) : last_reason());
            ERR_clear_error();
            if (e == SSL_ERROR_SSL)
                t->failed = 1;
            return DP_ECLOSED;
        }
        t->wr_blocked = 0;
        done += w;
        remaining -= w;
        /* advance the cursor by w bytes */
        while (w > 0) {
            size_t k = DP_MIN(iov[i].iov_len - off, w);
            off += k;
            w -= k;
            if (off == iov[i].iov_len && w > 0) {
                i++;
                off = 0;
            }
        }
    }
    return (ssize_t)done;
}

static void tls_shutdown(dp_sock_t *s)
{
    tls_conn_t *t = s->tctx;
    if (t && t->ssl == NULL) {
        dp_tls__rec_shutdown(s, t);
    } else if (t && !t->failed && !t->handshaking) {
        /* close_notify, best effort: the socket's queue is empty here, so
         * the alert fits in the kernel's buffer */
        ERR_clear_error();
        SSL_shutdown(t->ssl);
        ERR_clear_error();
    }
    shutdown(s->fd, SHUT_WR);
}

static void tls_dispose(dp_sock_t *s)
{
    tls_conn_t *t = s->tctx;
    if (t == NULL)
        return;
    ev_io_stop(s->loop->ev, &t->hio);
    ev_clear_pending(s->loop->ev, &t->hio);
    /* OpenSSL drops a session from the cache when the connection ends
     * without close_notify; only a failed one deserves that */
    if (t->ssl) {
        if (!t->failed && !t->handshaking)
            SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
        SSL_free(t->ssl);
        ERR_clear_error();
    }
    dp_tls__rec_dispose(t);
    free(t->sni);
    free(t->subject);
    free(t);
    s->tctx = NULL;
}

const dp_transport_ops_t dp_transport_tls = {
    .name = "tls",
    .read = tls_read,
    .writev = tls_writev,
    .shutdown = tls_shutdown,
    .dispose = tls_dispose,
};

/* ---- what the handshake established ---- */

const char *dp_tls_alpn(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    return t ? t->alpn : "";
}

const char *dp_tls_sni(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    return t ? t->sni : NULL;
}

const char *dp_tls_version(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    if (t == NULL || t->handshaking)
        return "";
    return t->ssl ? SSL_get_version(t->ssl) : "TLSv1.3"; /* handed over: always 1.3 */
}

bool dp_tls_resumed(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    if (t == NULL || t->handshaking)
        return false;
    return t->ssl ? SSL_session_reused(t->ssl) == 1 : t->resumed;
}

bool dp_tls_peer_cert(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    return t && !t->handshaking && t->peer_cert;
}

const char *dp_tls_cipher(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    return t && !t->handshaking ? t->cipher : "";
}

bool dp_tls_handed_over(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    return t && !t->handshaking && t->ssl == NULL;
}

const char *dp_tls_peer_subject(const dp_sock_t *s)
{
    tls_conn_t *t = conn_of(s);
    if (t == NULL || t->handshaking)
        return NULL;
    if (t->subject || t->ssl == NULL) /* handed over: computed then */
        return t->subject;
    X509 *x = SSL_get0_peer_certificate(t->ssl);
    if (x == NULL)
        return NULL;
    /* RFC 2253, as Envoy's %DOWNSTREAM_PEER_SUBJECT% */
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    if (X509_NAME_print_ex(b, X509_get_subject_name(x), 0, XN_FLAG_RFC2253) >= 0) {
        char *p;
        long n = BIO_get_mem_data(b, &p);
        t->subject = dp_xstrndup(p, (size_t)n);
    }
    BIO_free(b);
    ERR_clear_error();
    return t->subject;
}
