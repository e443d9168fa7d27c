/* The hand-over of an established TLS 1.3 server connection from OpenSSL
 * to our record layer (tls_record.c), and the transport ops afterwards.
 *
 * Why: OpenSSL 3.0 keeps ~13 KB per connection after the handshake (the
 * SSL object, two cipher contexts, the session, ...), with no way to shed
 * it but freeing the SSL; kernel TLS would take the record layer, but the
 * kernels we run on lack the `tls` module. After the hand-over an idle
 * connection holds ~420 bytes of TLS state (docs/tls.md).
 *
 * What the record layer needs, OpenSSL tells through public callbacks:
 *  - the keylog callback gives both application traffic secrets
 *    (CLIENT_/SERVER_TRAFFIC_SECRET_0);
 *  - the message callback traces every record header and handshake
 *    message. A direction switches to its application keys right after
 *    its Finished message, and OpenSSL reports a record's header before
 *    the handshake message it carries, so the protected records counted
 *    after each side's Finished are that direction's sequence number.
 * The hand-over happens only at an idle point: OpenSSL holds no received
 * bytes (SSL_has_pending) and no unsent record, no KeyUpdate went by and
 * no close_notify. Anything else keeps the connection on OpenSSL.
 *
 *   handshake ... client Finished -> tickets -> [request, response]*
 *   -> SSL_read wants more: hand-over (SSL_free) -> records here */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/tls_int.h"

bool dp_tls__handover_enabled = true;

#define RAW_CAP (2 * DP_TLS_REC_MAX)
#define OUT_RECORDS 4
#define OUT_CAP (OUT_RECORDS * (DP_TLS_REC_PLAIN_MAX + DP_TLS_REC_OVERHEAD) + 64)
#define KU_LEN 5 /* a KeyUpdate message: type, 24-bit length 1, request_update */

/* ---- before the hand-over: what OpenSSL tells ---- */

static int unhex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* "LABEL <client random, 64 hex> <secret, hex>" */
void dp_tls__keylog(const SSL *ssl, const char *line)
{
    tls_conn_t *t = SSL_get_app_data(ssl);
    if (t == NULL || !t->server || t->no_handover)
        return;
    static const char rd_label[] = "CLIENT_TRAFFIC_SECRET_0 ", wr_label[] = "SERVER_TRAFFIC_SECRET_0 ";
    bool rd = strncmp(line, rd_label, sizeof(rd_label) - 1) == 0;
    if (!rd && strncmp(line, wr_label, sizeof(wr_label) - 1) != 0)
        return;
    const char *p = strchr(line + sizeof(rd_label) - 1, ' ');
    size_t n = p ? strlen(++p) : 0;
    if (n != 64 && n != 96) {
        t->no_handover = 1;
        return;
    }
    if (t->rec == NULL)
        t->rec = dp_xcalloc(1, sizeof(*t->rec));
    uint8_t *out = rd ? t->rec->rd.secret : t->rec->wr.secret;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = unhex(p[2 * i]), lo = unhex(p[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            t->no_handover = 1;
            return;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    if (t->rec->hash_len != 0 && t->rec->hash_len != n / 2)
        t->no_handover = 1;
    t->rec->hash_len = (uint8_t)(n / 2);
    if (rd)
        t->rd_secret = 1;
    else
        t->wr_secret = 1;
}

void dp_tls__msg(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl, void *arg)
{
    (void)version, (void)arg;
    tls_conn_t *t = SSL_get_app_data(ssl);
    if (t == NULL || !t->server || t->no_handover || len == 0)
        return;
    const uint8_t *p = buf;
    if (content_type == SSL3_RT_HEADER) {
        /* a protected record (TLS 1.3 hides the real type inside) */
        if (len >= DP_TLS_REC_HDR && p[0] == DP_TLS_CT_APPDATA && t->rec) {
            if (write_p && t->wr_app)
                t->rec->wr.seq++;
            else if (!write_p && t->rd_app)
                t->rec->rd.seq++;
        }
    } else if (content_type == SSL3_RT_HANDSHAKE) {
        if (p[0] == SSL3_MT_FINISHED) {
            if (write_p)
                t->wr_app = 1;
            else
                t->rd_app = 1;
        } else if (p[0] == SSL3_MT_KEY_UPDATE) {
            t->no_handover = 1; /* keys we did not follow */
        }
    }
}

/* ---- the hand-over ---- */

static void rec_free(tls_conn_t *t)
{
    if (t->rec) {
        dp_tls_rec_clear(t->rec);
        free(t->rec);
        t->rec = NULL;
    }
}

bool dp_tls__handover(dp_sock_t *s, tls_conn_t *t)
{
    SSL *ssl = t->ssl;
    if (!dp_tls__handover_enabled || ssl == NULL || !t->server || t->handshaking || t->failed || t->rd_eof ||
        t->rd_err || t->wr_blocked || t->no_handover || t->rec == NULL || !t->rd_secret || !t->wr_secret ||
        !t->rd_app || !t->wr_app)
        return false;
    if (SSL_has_pending(ssl) || SSL_get_shutdown(ssl) != 0 ||
        SSL_get_key_update_type(ssl) != SSL_KEY_UPDATE_NONE)
        return false; /* not idle: later */
    const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
    uint16_t suite = c ? SSL_CIPHER_get_protocol_id(c) : 0;
    /* a negotiated max_fragment_length (RFC 6066 4) would bound our
     * records: rare enough to leave such a connection on OpenSSL */
    SSL_SESSION *sess = SSL_get_session(ssl);
    if (SSL_version(ssl) != TLS1_3_VERSION || !dp_tls_rec_suite_supported(suite) || sess == NULL ||
        SSL_SESSION_get_max_fragment_length(sess) != TLSEXT_max_fragment_length_DISABLED) {
        t->no_handover = 1; /* never: stays on OpenSSL */
        rec_free(t);
        return false;
    }
    dp_tls_rec_t pre = *t->rec;
    int r =
        dp_tls_rec_init(t->rec, suite, pre.rd.secret, pre.rd.seq, pre.wr.secret, pre.wr.seq, pre.hash_len);
    dp_tls_rec_clear(&pre);
    if (r != 0) {
        t->no_handover = 1;
        rec_free(t);
        ERR_clear_error();
        return false;
    }
    /* what the SSL object answered, kept */
    if (t->peer_cert)
        (void)dp_tls_peer_subject(s);
    t->resumed = SSL_session_reused(ssl) == 1;
    t->ctx = dp_tls_ctx_ref(dp_tls__ctx_of(SSL_get_SSL_CTX(ssl)));
    /* the session stays resumable, as on a clean close (tls.c's dispose) */
    SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(ssl);
    ERR_clear_error();
    t->ssl = NULL;
    /* our record layer never reads to write nor writes to read */
    s->read_wants_write = s->write_wants_read = 0;
    return true;
}

/* ---- writing ---- */

static _Thread_local uint8_t obuf[OUT_CAP];

/* Sends what an earlier write left. 0 when all went, DP_EAGAIN, DP_ECLOSED. */
static int send_pending(dp_sock_t *s, tls_conn_t *t)
{
    while (t->wpend_off < t->wpend_len) {
        ssize_t n = send(s->fd, t->wpend + t->wpend_off, t->wpend_len - t->wpend_off, MSG_NOSIGNAL);
        if (n > 0) {
            t->wpend_off += (uint32_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) ? DP_EAGAIN : DP_ECLOSED;
    }
    free(t->wpend);
    t->wpend = NULL;
    t->wpend_off = t->wpend_len = 0;
    return 0;
}

/* An alert record, best effort: nothing may be queued before it, and it
 * fits in the kernel's buffer or is lost. */
static void send_alert(dp_sock_t *s, tls_conn_t *t, uint8_t level, uint8_t desc)
{
    uint8_t a[2] = {level, desc};
    struct iovec v = {a, 2};
    long n = dp_tls_rec_seal(t->rec, DP_TLS_CT_ALERT, &v, 1, 2, obuf);
    if (n > 0)
        (void)send(s->fd, obuf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* A fatal alert, and the connection is done. */
static void fatal(dp_sock_t *s, tls_conn_t *t, int alert)
{
    if (!t->failed && t->wpend == NULL)
        send_alert(s, t, 2, (uint8_t)alert);
    t->failed = 1;
}

/* Seals a KeyUpdate (update_not_requested) into out and switches our
 * write keys. Returns its length or a negative alert. */
static long seal_key_update(tls_conn_t *t, uint8_t *out)
{
    uint8_t ku[KU_LEN] = {SSL3_MT_KEY_UPDATE, 0, 0, 1, 0};
    struct iovec v = {ku, KU_LEN};
    long n = dp_tls_rec_seal(t->rec, DP_TLS_CT_HANDSHAKE, &v, 1, KU_LEN, out);
    if (n > 0 && dp_tls_rec_update(t->rec, &t->rec->wr) != 0)
        return -DP_TLS_AD_INTERNAL_ERROR;
    t->need_ku = 0;
    return n;
}

/* The plaintext of iov from byte pos on, up to max bytes, as at most nv
 * iovecs in v. Returns the bytes taken. */
static size_t gather(const struct iovec *iov, int iovcnt, size_t pos, size_t max, struct iovec *v, int nv,
                     int *nused)
{
    size_t got = 0, off = pos;
    int k = 0;
    for (int i = 0; i < iovcnt && got < max && k < nv; i++) {
        if (off >= iov[i].iov_len) {
            off -= iov[i].iov_len;
            continue;
        }
        size_t n = DP_MIN(iov[i].iov_len - off, max - got);
        v[k].iov_base = (char *)iov[i].iov_base + off;
        v[k].iov_len = n;
        k++;
        got += n;
        off = 0;
    }
    *nused = k;
    return got;
}

/* Up to OUT_RECORDS records per send(): what a response of a few hundred
 * bytes or a 64 KiB burst both take in one system call. The contract is
 * OpenSSL's (tls.c's tls_writev): a write that would block is retried with
 * the same bytes in front; we keep the sealed bytes the fd did not take
 * and report their plaintext only once they went. */
ssize_t dp_tls__rec_writev(dp_sock_t *s, tls_conn_t *t, const struct iovec *iov, int iovcnt)
{
    if (t->failed)
        return DP_ECLOSED;
    size_t total = 0, done = 0;
    for (int i = 0; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (t->wpend) {
        int r = send_pending(s, t);
        if (r == DP_EAGAIN)
            return DP_EAGAIN;
        if (r < 0)
            return DP_ECLOSED;
        done = DP_MIN(t->wpend_plain, total); /* the caller offers the same bytes again */
        t->wpend_plain = 0;
    }
    while (done < total) {
        size_t olen = 0, batch = 0;
        uint32_t ends[OUT_RECORDS + 1],
            plain[OUT_RECORDS + 1]; /* per record: end in obuf, plaintext up to it */
        int nrec = 0;
        if (t->need_ku || t->rec->wr.seq >= dp_tls_rec_rekey_after) {
            long n = seal_key_update(t, obuf);
            if (n < 0) {
                fatal(s, t, (int)-n);
                return done > 0 ? (ssize_t)done : DP_ECLOSED;
            }
            olen = (size_t)n;
            ends[nrec] = (uint32_t)olen;
            plain[nrec++] = 0;
        }
        while (nrec < OUT_RECORDS + 1 && done + batch < total &&
               olen + DP_TLS_REC_PLAIN_MAX + DP_TLS_REC_OVERHEAD <= OUT_CAP) {
            struct iovec v[16];
            int nv;
            size_t k = gather(iov, iovcnt, done + batch,
                              DP_MIN(total - done - batch, (size_t)DP_TLS_REC_PLAIN_MAX), v, 16, &nv);
            long n = dp_tls_rec_seal(t->rec, DP_TLS_CT_APPDATA, v, nv, k, obuf + olen);
            if (n < 0) {
                fatal(s, t, (int)-n);
                return done > 0 ? (ssize_t)done : DP_ECLOSED;
            }
            olen += (size_t)n;
            batch += k;
            ends[nrec] = (uint32_t)olen;
            plain[nrec++] = (uint32_t)batch;
        }
        size_t sent = 0;
        while (sent < olen) {
            ssize_t n = send(s->fd, obuf + sent, olen - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
                t->failed = 1; /* sealed records were lost: the stream cannot go on */
                return done > 0 ? (ssize_t)done : DP_ECLOSED;
            }
            break;
        }
        if (sent == olen) {
            done += batch;
            continue;
        }
        /* keep the rest; report the plaintext of the records that went whole */
        int whole = 0;
        while (whole < nrec && ends[whole] <= sent)
            whole++;
        size_t reported = whole > 0 ? plain[whole - 1] : 0;
        t->wpend_len = (uint32_t)(olen - sent);
        t->wpend = dp_xmalloc(t->wpend_len);
        memcpy(t->wpend, obuf + sent, t->wpend_len);
        t->wpend_off = 0;
        t->wpend_plain = (uint32_t)(batch - reported);
        done += reported;
        return done > 0 ? (ssize_t)done : DP_EAGAIN;
    }
    return (ssize_t)done;
}

void dp_tls__rec_shutdown(dp_sock_t *s, tls_conn_t *t)
{
    if (t->failed || (t->wpend && send_pending(s, t) != 0))
        return;
    send_alert(s, t, 1, DP_TLS_AD_CLOSE_NOTIFY);
}

/* ---- reading ---- */

static _Thread_local uint8_t raw[RAW_CAP];

/* Post-handshake messages from a client (RFC 8446 4.6): only KeyUpdate.
 * Returns 0 or a negative alert. */
static int post_handshake(tls_conn_t *t, const uint8_t *p, size_t n)
{
    /* whole messages only: a KeyUpdate is 5 bytes and must end its
     * record (5.1: handshake messages must not span a key change) */
    if (n != KU_LEN || p[0] != SSL3_MT_KEY_UPDATE)
        return -DP_TLS_AD_UNEXPECTED_MESSAGE;
    if (p[1] != 0 || p[2] != 0 || p[3] != 1 || p[4] > 1)
        return -(p[4] > 1 ? DP_TLS_AD_ILLEGAL_PARAMETER : DP_TLS_AD_DECODE_ERROR);
    if (dp_tls_rec_update(t->rec, &t->rec->rd) != 0)
        return -DP_TLS_AD_INTERNAL_ERROR;
    if (p[4] == 1)
        t->need_ku = 1;
    return 0;
}

static void stash_raw(tls_conn_t *t, const uint8_t *p, size_t n)
{
    free(t->stash);
    t->stash = NULL;
    t->stash_len = 0;
    if (n) {
        t->stash = dp_xmalloc(n);
        memcpy(t->stash, p, n);
        t->stash_len = (uint32_t)n;
    }
}

static bool buffered(const tls_conn_t *t)
{
    return t->plain_len > 0 || (t->stash_len > 0 && dp_tls_rec_complete(t->stash, t->stash_len) != 0);
}

static size_t take_plain(tls_conn_t *t, uint8_t *buf, size_t len)
{
    size_t k = DP_MIN(len, (size_t)t->plain_len);
    memcpy(buf, t->plain + t->plain_off, k);
    t->plain_off += (uint32_t)k;
    t->plain_len -= (uint32_t)k;
    if (t->plain_len == 0) {
        free(t->plain);
        t->plain = NULL;
        t->plain_off = 0;
    }
    return k;
}

ssize_t dp_tls__rec_read(dp_sock_t *s, tls_conn_t *t, void *vbuf, size_t len)
{
    uint8_t *buf = vbuf;
    if (t->plain_len > 0) {
        size_t k = take_plain(t, buf, len);
        s->transport_buffered = buffered(t) || t->rd_eof || t->rd_err || t->failed;
        return (ssize_t)k;
    }
    if (t->failed || t->rd_err)
        return DP_ECLOSED;
    if (t->rd_eof)
        return 0;
    size_t have = t->stash_len;
    if (have) {
        memcpy(raw, t->stash, have);
        stash_raw(t, NULL, 0);
    }
    bool eof = false;
    if (dp_tls_rec_complete(raw, have) == 0) {
        ssize_t n;
        do
            n = read(s->fd, raw + have, RAW_CAP - have);
        while (n < 0 && errno == EINTR);
        if (n > 0) {
            have += (size_t)n;
        } else if (n == 0) {
            eof = true;
        } else {
            stash_raw(t, raw, have);
            s->transport_buffered = 0;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return DP_EAGAIN;
            t->rd_err = 1;
            return DP_ECLOSED;
        }
    }
    size_t off = 0, out = 0;
    while (!t->rd_eof && !t->rd_err && !t->failed) {
        long rl = dp_tls_rec_complete(raw + off, have - off);
        if (rl < 0) {
            fatal(s, t, (int)-rl);
            break;
        }
        if (rl == 0)
            break;
        size_t cap = (size_t)rl - DP_TLS_REC_HDR - DP_TLS_REC_TAG; /* content, type and padding */
        uint8_t *dst = buf + out;
        bool in_place = false;
        if (out + cap > len) {
            if (out > 0)
                break; /* the next call */
            dst = raw + off + DP_TLS_REC_HDR;
            in_place = true;
        }
        uint8_t type = 0;
        long n = dp_tls_rec_open(t->rec, raw + off, (size_t)rl, dst, &type);
        off += (size_t)rl;
        if (n < 0) {
            fatal(s, t, (int)-n);
            break;
        }
        if (type == DP_TLS_CT_APPDATA) {
            if (n == 0)
                continue; /* an empty record is allowed (RFC 8446 5.1) */
            if (!in_place) {
                out += (size_t)n;
                continue;
            }
            size_t k = DP_MIN((size_t)n, len);
            memcpy(buf, dst, k);
            out = k;
            if ((size_t)n > k) {
                t->plain_len = (uint32_t)((size_t)n - k);
                t->plain = dp_xmalloc(t->plain_len);
                memcpy(t->plain, dst + k, t->plain_len);
            }
            break;
        } else if (type == DP_TLS_CT_HANDSHAKE) {
            int r = post_handshake(t, dst, (size_t)n);
            if (r < 0)
                fatal(s, t, -r);
        } else if (type == DP_TLS_CT_ALERT) {
            if (n != 2)
                fatal(s, t, DP_TLS_AD_DECODE_ERROR);
            else if (dst[1] == DP_TLS_AD_CLOSE_NOTIFY)
                t->rd_eof = 1;
            else if (dst[1] != DP_TLS_AD_USER_CANCELED) /* a close_notify follows it */
                t->rd_err = 1;                          /* the peer's fatal alert */
        } else {
            fatal(s, t, DP_TLS_AD_UNEXPECTED_MESSAGE);
        }
    }
    bool ended = t->rd_eof || t->rd_err || t->failed;
    stash_raw(t, raw + off, ended ? 0 : have - off);
    /* EOF without close_notify is an end too (SSL_OP_IGNORE_UNEXPECTED_EOF),
     * once the whole records before it are read (the fd says EOF again) */
    if (eof && !ended && !(t->stash_len > 0 && dp_tls_rec_complete(t->stash, t->stash_len) != 0))
        t->rd_eof = 1, ended = true;
    /* an end behind the data is what the fd may never announce */
    s->transport_buffered = buffered(t) || (out > 0 && ended);
    if (out > 0)
        return (ssize_t)out;
    if (t->rd_err || t->failed)
        return DP_ECLOSED;
    if (t->rd_eof)
        return 0;
    return DP_EAGAIN;
}

void dp_tls__rec_dispose(tls_conn_t *t)
{
    rec_free(t);
    free(t->stash);
    free(t->plain);
    free(t->wpend);
    t->stash = t->plain = t->wpend = NULL;
    dp_tls_ctx_unref(t->ctx);
    t->ctx = NULL;
}
