#include "dataplane/server/accept.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/admin/stats.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/hcm.h"
#include "dataplane/http1/server.h"
#include "dataplane/http2/server.h"
#include "dataplane/server/worker.h"
#include "dataplane/transport/sock.h"
#include "dataplane/transport/tls.h"

/* --- filter chain selection (sans-I/O) --------------------------------------- */

/* How well chain fc's server_names match sni: 0 no match, 1 chain has no
 * server_names (matches anything), 2 + suffix length for a wildcard,
 * SIZE_MAX for an exact name. */
static size_t sni_rank(const dp_filter_chain_t *fc, const char *sni)
{
    if (fc->n_server_names == 0)
        return 1;
    if (sni == NULL || sni[0] == '\0')
        return 0;
    size_t best = 0, sl = strlen(sni);
    for (size_t i = 0; i < fc->n_server_names; i++) {
        const char *n = fc->server_names[i];
        if (strcasecmp(n, sni) == 0)
            return SIZE_MAX;
        if (n[0] == '*' && n[1] == '.') {
            /* "*.example.com" matches any name ending in ".example.com"
             * (deeper ones too, as Envoy's suffix walk does); the longest
             * wildcard wins */
            size_t suf = strlen(n) - 1; /* ".example.com" */
            if (sl > suf && strcasecmp(sni + sl - suf, n + 1) == 0 && 2 + suf > best)
                best = 2 + suf;
        }
    }
    return best;
}

/* transport_protocol: 0 no match, 1 any, 2 exact. */
static int transport_rank(const dp_filter_chain_t *fc, bool tls)
{
    if (fc->transport_protocol == NULL)
        return 1;
    return strcmp(fc->transport_protocol, tls ? "tls" : "raw_buffer") == 0 ? 2 : 0;
}

static bool alpn_offered(const uint8_t *alpn, size_t len, const char *proto)
{
    size_t pl = strlen(proto);
    for (size_t i = 0; i < len;) {
        size_t l = alpn[i++];
        if (l > len - i)
            return false;
        if (l == pl && memcmp(alpn + i, proto, l) == 0)
            return true;
        i += l;
    }
    return false;
}

/* application_protocols: 0 no match, 1 any, 2 one of them offered. */
static int alpn_rank(const dp_filter_chain_t *fc, const uint8_t *alpn, size_t len)
{
    if (fc->n_application_protocols == 0)
        return 1;
    for (size_t i = 0; i < fc->n_application_protocols; i++)
        if (alpn && alpn_offered(alpn, len, fc->application_protocols[i]))
            return 2;
    return 0;
}

const dp_filter_chain_t *dp_filter_chain_select(const dp_listener_cfg_t *l, const char *sni, bool tls,
                                                const uint8_t *alpn, size_t alpn_len)
{
    /* Envoy narrows criterion by criterion: the most specific server name
     * first, then among those the most specific transport protocol, then
     * application protocols. Ranks are compared lexicographically. */
    const dp_filter_chain_t *best = NULL;
    size_t best_sni = 0;
    int best_tp = 0, best_alpn = 0;
    for (size_t i = 0; i < l->n_chains; i++) {
        const dp_filter_chain_t *fc = &l->chains[i];
        size_t rs = sni_rank(fc, sni);
        int rt = transport_rank(fc, tls), ra = alpn_rank(fc, alpn, alpn_len);
        if (rs == 0 || rt == 0 || ra == 0)
            continue;
        if (best == NULL || rs > best_sni ||
            (rs == best_sni && (rt > best_tp || (rt == best_tp && ra > best_alpn)))) {
            best = fc;
            best_sni = rs;
            best_tp = rt;
            best_alpn = ra;
        }
    }
    return best ? best : l->default_chain;
}

/* --- the connection until a codec owns it ------------------------------------------ */

static const uint8_t h2_preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
#define H2_PREFACE_LEN 24

typedef struct pending {
    dp_conn_link_t link; /* first: the worker's list points here */
    dp_worker_t *w;
    dp_listener_cfg_t *l; /* ref held */
    int fd;               /* until sock exists */
    dp_sockaddr_t peer;   /* from accept4 */
    dp_sock_t *sock;
    const dp_filter_chain_t *fc;
    ev_io peek;
    ev_timer timer;
} pending_t;

static void no_chain(const dp_listener_cfg_t *l)
{
    dp_stat_inc(dp_listener_stats_of(l)->no_filter_chain_match);
}

/* Envoy's listener.<address>.ssl.* of a finished handshake */
static void count_tls(const dp_listener_cfg_t *l, const dp_sock_t *sock, int err)
{
    dp_listener_stats_t *ls = dp_listener_stats_of(l);
    if (err != 0) {
        dp_stat_inc(ls->ssl_connection_error);
        return;
    }
    dp_stat_inc(ls->ssl_handshake);
    if (dp_tls_resumed(sock))
        dp_stat_inc(ls->ssl_session_reused);
    if (!dp_tls_peer_cert(sock))
        dp_stat_inc(ls->ssl_no_certificate);
    dp_stat_inc(dp_stats_counterf("listener.%s.ssl.versions.%s", ls->name, dp_tls_version(sock)));
    dp_stat_inc(dp_stats_counterf("listener.%s.ssl.ciphers.%s", ls->name, dp_tls_cipher(sock)));
}

static void pending_free(pending_t *p, bool close_conn)
{
    ev_io_stop(p->w->loop.ev, &p->peek);
    ev_timer_stop(p->w->loop.ev, &p->timer);
    dp_worker_conn_remove(p->w, &p->link);
    if (close_conn) {
        if (p->sock)
            dp_sock_close(p->sock);
        else if (p->fd >= 0)
            close(p->fd);
    }
    if (close_conn) {
        dp_listener_stats_t *ls = dp_listener_stats_of(p->l);
        dp_stat_dec(ls->cx_active);
        dp_stat_inc(ls->cx_destroy);
    }
    dp_listener_cfg_unref(p->l);
    dp_loop_defer_free(&p->w->loop, p);
}

static void attach(dp_worker_t *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc, dp_sock_t *sock,
                   bool h2)
{
    sock->on_read = NULL;
    sock->data = NULL;
    if (h2)
        dp_h2_server_attach(w, l, fc, sock);
    else
        dp_h1_server_attach(w, l, fc, sock);
}

/* Hands the connection to its codec; p is freed. */
static void pending_attach(pending_t *p, bool h2)
{
    dp_sock_t *sock = p->sock;
    p->sock = NULL;
    dp_listener_cfg_t *l = dp_listener_cfg_ref(p->l);
    const dp_filter_chain_t *fc = p->fc;
    dp_worker_t *w = p->w;
    pending_free(p, false);
    attach(w, l, fc, sock, h2);
    dp_listener_cfg_unref(l);
}

/* AUTO codec without ALPN: HTTP/2 if the connection preface comes. */
static void on_sniff(dp_sock_t *sock, int err)
{
    pending_t *p = sock->data;
    if (err != 0 && sock->in.len == 0) {
        pending_free(p, true);
        return;
    }
    size_t n = DP_MIN(sock->in.len, (size_t)H2_PREFACE_LEN);
    if (memcmp(dp_buf_data(&sock->in), h2_preface, n) != 0) {
        pending_attach(p, false);
        return;
    }
    if (n == H2_PREFACE_LEN) {
        pending_attach(p, true);
        return;
    }
    if (err != 0) /* EOF inside a preface */
        pending_free(p, true);
}

/* The codec for a chain, once the transport is ready. */
static void pick_codec(pending_t *p, const char *alpn)
{
    if (alpn && strcmp(alpn, "h2") == 0) {
        pending_attach(p, true);
        return;
    }
    if (alpn && (strcmp(alpn, "http/1.1") == 0 || strcmp(alpn, "http/1.0") == 0)) {
        pending_attach(p, false);
        return;
    }
    switch (p->fc->hcm->codec_type) {
    case DP_CODEC_HTTP1:
        pending_attach(p, false);
        return;
    case DP_CODEC_HTTP2:
        pending_attach(p, true);
        return;
    case DP_CODEC_AUTO:
        p->sock->data = p;
        dp_sock_read_start(p->sock, on_sniff);
        return;
    }
}

static dp_tls_ctx_t *on_select(void *arg, const char *sni, const uint8_t *alpn, size_t alpn_len,
                               void **chosen)
{
    pending_t *p = arg;
    const dp_filter_chain_t *fc = dp_filter_chain_select(p->l, sni, true, alpn, alpn_len);
    if (fc == NULL || fc->tls == NULL) {
        no_chain(p->l);
        return NULL;
    }
    *chosen = (void *)fc;
    return fc->tls;
}

static void on_tls_done(dp_sock_t *sock, int err, void *chosen)
{
    pending_t *p = sock->data;
    if (chosen != NULL) /* no chain: no_filter_chain_match only, as Envoy (no TLS there) */
        count_tls(p->l, sock, err);
    if (err != 0 || chosen == NULL) {
        DP_DEBUG("listener %s: TLS handshake failed", p->l->name);
        pending_free(p, true);
        return;
    }
    p->fc = chosen;
    pick_codec(p, dp_tls_alpn(sock));
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    pending_t *p = t->data;
    DP_DEBUG("listener %s: connection closed at listener_filters_timeout", p->l->name);
    pending_free(p, true);
}

/* A chain that terminates TLS never serves plaintext, also while its
 * context waits for an SDS secret (tls NULL, sds_names set). */
static bool is_tls_chain(const dp_filter_chain_t *fc)
{
    return fc->tls != NULL || fc->n_sds_names > 0;
}

static void start_plain(pending_t *p)
{
    p->fc = dp_filter_chain_select(p->l, NULL, false, NULL, 0);
    if (p->fc == NULL || is_tls_chain(p->fc)) {
        no_chain(p->l);
        pending_free(p, true);
        return;
    }
    p->sock = dp_sock_new_accepted(&p->w->loop, p->fd, &dp_transport_raw, &p->peer);
    p->fd = -1;
    pick_codec(p, NULL);
}

static dp_tls_ctx_t *initial_ctx(const dp_listener_cfg_t *l)
{
    for (size_t i = 0; i < dp_listener_n_chains(l); i++)
        if (dp_listener_chain(l, i)->tls)
            return dp_listener_chain(l, i)->tls;
    return NULL;
}

/* First bytes of a listener with TLS chains: a TLS record starts with the
 * handshake content type 22 (Envoy's tls_inspector looks at the same). */
static void on_peek(struct ev_loop *ev, ev_io *io, int revents)
{
    (void)ev;
    (void)revents;
    pending_t *p = io->data;
    unsigned char b;
    ssize_t n = recv(p->fd, &b, 1, MSG_PEEK);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    ev_io_stop(p->w->loop.ev, &p->peek);
    if (n <= 0) {
        pending_free(p, true);
        return;
    }
    if (b != 0x16) {
        start_plain(p);
        return;
    }
    p->sock = dp_sock_new_accepted(&p->w->loop, p->fd, &dp_transport_raw, &p->peer);
    p->fd = -1;
    p->sock->data = p;
    if (dp_tls_accept(p->sock, initial_ctx(p->l), on_select, p, on_tls_done) != 0)
        pending_free(p, true);
}

static void drain_pending(dp_conn_link_t *link, bool hard)
{
    if (hard)
        pending_free((pending_t *)link, true);
}

void dp_accept_conn(dp_worker_t *w, dp_listener_cfg_t *l, int fd, const dp_sockaddr_t *peer)
{
    /* listener stats count from accept (the codec that ends up owning the
     * connection counts its close) */
    dp_listener_stats_t *ls = dp_listener_stats_of(l);
    dp_stat_inc(ls->cx_total);
    dp_stat_inc(ls->cx_active);
    if (DP_LOG_ON(DP_LOG_DEBUG)) {
        char from[64];
        dp_sockaddr_str((const struct sockaddr_storage *)peer, from, sizeof(from)); /* reads in/in6 only */
        DP_DEBUG("listener %s: connection from %s", l->name, from);
    }
    if (!l->any_tls) {
        /* plaintext only: the common case goes straight to its codec */
        const dp_filter_chain_t *fc = dp_filter_chain_select(l, NULL, false, NULL, 0);
        if (fc == NULL || is_tls_chain(fc)) {
            no_chain(l);
            close(fd);
            dp_stat_dec(ls->cx_active);
            dp_stat_inc(ls->cx_destroy);
            return;
        }
        if (fc->hcm->codec_type != DP_CODEC_AUTO) {
            attach(w, l, fc, dp_sock_new_accepted(&w->loop, fd, &dp_transport_raw, peer),
                   fc->hcm->codec_type == DP_CODEC_HTTP2);
            return;
        }
    }
    pending_t *p = dp_xcalloc(1, sizeof(*p));
    p->w = w;
    p->l = dp_listener_cfg_ref(l);
    p->fd = fd;
    p->peer = *peer;
    p->link.drain = drain_pending;
    p->link.listener = l;
    dp_worker_conn_add(w, &p->link);
    ev_init(&p->timer, on_timeout);
    p->timer.data = p;
    if (l->listener_filters_timeout_ms > 0) {
        ev_timer_set(&p->timer, (double)l->listener_filters_timeout_ms / 1000.0, 0);
        ev_timer_start(w->loop.ev, &p->timer);
    }
    ev_io_init(&p->peek, on_peek, fd, EV_READ);
    p->peek.data = p;
    if (l->any_tls)
        ev_io_start(w->loop.ev, &p->peek);
    else
        start_plain(p);
}
