/* The hand-over of server connections to our TLS 1.3 record layer
 * (tls_offload.c, tls_record.c), against OpenSSL's own client: the server
 * is an echo on a dp_loop, the client a plain SSL object on the other
 * end of a socketpair, pumped in turn with the loop. OpenSSL checks every
 * record we seal, every KeyUpdate we make and every alert we send. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/loop.h"
#include "dataplane/transport/sock.h"
#include "dataplane/transport/tls.h"
#include "dataplane/transport/tls_int.h"
#include "dataplane/transport/tls_record.h"
#include "tests/unit/test.h"
#include "tests/unit/transport/testdata.h"

static dp_loop_t L;
static dp_tls_ctx_t *S;

/* ---- the server: an echo ---- */

typedef struct srv {
    dp_sock_t *s;
    int done, err; /* handshake finished, read end or error seen */
    size_t echoed;
    int sink; /* take the bytes without echoing them */
} srv_t;

static srv_t V;

static void srv_read(dp_sock_t *s, int err)
{
    if (err) {
        V.err = err;         /* DP_ECLOSED: the end, orderly or not */
        dp_sock_shutdown(s); /* our close_notify, if the connection still stands */
        dp_sock_read_stop(s);
        return;
    }
    struct iovec iov = {dp_buf_data(&s->in), s->in.len};
    if (!V.sink)
        dp_sock_write(s, &iov, 1);
    V.echoed += s->in.len;
    dp_buf_consume(&s->in, s->in.len);
}

static void srv_done(dp_sock_t *s, int err, void *chosen)
{
    (void)chosen;
    V.done = err ? -1 : 1;
    if (err == 0)
        dp_sock_read_start(s, srv_read);
}

/* ---- the client: OpenSSL, pumped with the loop ---- */

typedef struct cli {
    SSL_CTX *ctx;
    SSL *ssl;
    int fd;
} cli_t;

static void pump(void)
{
    ev_run(L.ev, EVRUN_NOWAIT);
}

/* Runs op until it succeeds (1) or fails for good (-1). */
#define PUMP(cl, expr)                                                                                       \
    ({                                                                                                       \
        int r_ = -1;                                                                                         \
        for (int i_ = 0; i_ < 200000; i_++) {                                                                \
            ERR_clear_error();                                                                               \
            int v_ = (expr);                                                                                 \
            if (v_ > 0) {                                                                                    \
                r_ = 1;                                                                                      \
                break;                                                                                       \
            }                                                                                                \
            int e_ = SSL_get_error((cl)->ssl, v_);                                                           \
            if (e_ != SSL_ERROR_WANT_READ && e_ != SSL_ERROR_WANT_WRITE)                                     \
                break;                                                                                       \
            pump();                                                                                          \
            if (i_ > 100)                                                                                    \
                usleep(50);                                                                                  \
        }                                                                                                    \
        r_;                                                                                                  \
    })

/* How the client is made: all zero is TLS 1.3 with OpenSSL's defaults. */
typedef struct cli_opts {
    const char *suites;
    int padding;          /* block padding of the client's records */
    int version;          /* the only version offered; 0: TLS 1.3 */
    int mfl;              /* a max_fragment_length to ask for (TLSEXT_max_fragment_length_*) */
    SSL_SESSION *session; /* to resume */
} cli_opts_t;

static int cli_open_with(cli_t *c, cli_opts_t o)
{
    int version = o.version ? o.version : TLS1_3_VERSION;
    memset(&V, 0, sizeof(V));
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
        return -1;
    V.s = dp_sock_new(&L, sv[0], &dp_transport_raw);
    if (dp_tls_accept(V.s, S, NULL, NULL, srv_done) != 0)
        return -1;
    c->fd = sv[1];
    c->ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(c->ctx, version);
    SSL_CTX_set_max_proto_version(c->ctx, version);
    if (o.suites)
        SSL_CTX_set_ciphersuites(c->ctx, o.suites);
    c->ssl = SSL_new(c->ctx);
    SSL_set_fd(c->ssl, c->fd);
    SSL_set_tlsext_host_name(c->ssl, "a.example.com");
    if (o.padding)
        SSL_set_block_padding(c->ssl, (size_t)o.padding);
    if (o.mfl)
        SSL_set_tlsext_max_fragment_length(c->ssl, (uint8_t)o.mfl);
    if (o.session)
        SSL_set_session(c->ssl, o.session);
    SSL_set_connect_state(c->ssl);
    if (PUMP(c, SSL_do_handshake(c->ssl)) != 1)
        return -1;
    for (int i = 0; i < 1000 && V.done == 0; i++)
        pump();
    return V.done == 1 ? 0 : -1;
}

static int cli_open(cli_t *c, const char *suites, int padding)
{
    return cli_open_with(c, (cli_opts_t){.suites = suites, .padding = padding});
}

static void cli_close(cli_t *c)
{
    /* keep the session resumable (OpenSSL drops it on an unclean end) */
    SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(c->ssl);
    SSL_CTX_free(c->ctx);
    close(c->fd);
    if (V.s)
        dp_sock_close(V.s);
    V.s = NULL;
    pump();
}

static int cli_write(cli_t *c, const void *p, size_t n)
{
    size_t w = 0;
    return PUMP(c, SSL_write_ex(c->ssl, p, n, &w));
}

/* Reads exactly n bytes. */
static int cli_read(cli_t *c, void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t k = 0;
        if (PUMP(c, SSL_read_ex(c->ssl, (char *)p + got, n - got, &k)) != 1)
            return -1;
        got += k;
    }
    return 0;
}

/* One exchange: msg out, the same back. */
static int echo(cli_t *c, const char *msg)
{
    size_t n = strlen(msg);
    char back[256] = "";
    if (n >= sizeof(back) || cli_write(c, msg, n) != 1 || cli_read(c, back, n) != 0)
        return -1;
    return memcmp(back, msg, n) == 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_suites(void)
{
    static const char *suites[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                   "TLS_CHACHA20_POLY1305_SHA256"};
    for (size_t i = 0; i < 3; i++) {
        cli_t c;
        CHECK(cli_open(&c, suites[i], 0) == 0);
        CHECK(echo(&c, "hello") == 0);
        CHECK(dp_tls_handed_over(V.s));
        CHECK_STR(dp_tls_version(V.s), "TLSv1.3");
        CHECK_STR(dp_tls_cipher(V.s), suites[i]);
        CHECK(!dp_tls_peer_cert(V.s));
        CHECK(echo(&c, "and again, on our record layer") == 0);
        CHECK(echo(&c, "third") == 0);
        cli_close(&c);
    }
    /* TLS 1.2 stays on OpenSSL, and works */
    cli_t c;
    CHECK(cli_open_with(&c, (cli_opts_t){.version = TLS1_2_VERSION}) == 0);
    CHECK(echo(&c, "hello") == 0);
    CHECK(echo(&c, "again") == 0);
    CHECK(!dp_tls_handed_over(V.s));
    cli_close(&c);

    /* a negotiated max_fragment_length too (our records would be longer) */
    CHECK(cli_open_with(&c, (cli_opts_t){.mfl = TLSEXT_max_fragment_length_512}) == 0);
    static char big[2000], back[2000];
    memset(big, 'm', sizeof(big));
    CHECK(cli_write(&c, big, sizeof(big)) == 1 && cli_read(&c, back, sizeof(back)) == 0);
    CHECK(memcmp(big, back, sizeof(big)) == 0);
    CHECK(!dp_tls_handed_over(V.s));
    cli_close(&c);
}

/* Large transfers both ways: 16 KiB records opened in place (more than
 * the reader's room), partial writes while the client does not read,
 * several records per send. */
static void test_bulk(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "warm") == 0);
    CHECK(dp_tls_handed_over(V.s));
    size_t n = 4u << 20;
    unsigned char *out = malloc(n), *in = malloc(n);
    RAND_bytes(out, (int)n);
    size_t sent = 0, got = 0;
    /* write and read interleaved: the echo's writes block while the client
     * writes, and resume */
    while (got < n) {
        if (sent < n) {
            size_t w = 0;
            ERR_clear_error();
            if (SSL_write_ex(c.ssl, out + sent, DP_MIN(n - sent, (size_t)100000), &w) == 1)
                sent += w;
        }
        size_t k = 0;
        ERR_clear_error();
        if (SSL_read_ex(c.ssl, in + got, n - got, &k) == 1)
            got += k;
        else if (SSL_get_error(c.ssl, 0) != SSL_ERROR_WANT_READ)
            break;
        pump();
    }
    CHECK(got == n && memcmp(in, out, n) == 0);
    CHECK(V.err == 0);
    /* several iovecs in one write, records across their borders (and an
     * empty one): what the client reads is their concatenation */
    struct iovec parts[4] = {{out, 20000}, {out + 20000, 0}, {out + 20000, 1}, {out + 20001, 50000}};
    dp_sock_write(V.s, parts, 4);
    CHECK(cli_read(&c, in, 70001) == 0 && memcmp(in, out, 70001) == 0);
    free(out);
    free(in);
    cli_close(&c);
}

/* The client fills the pipe while the server holds its echo: the server's
 * writes then block with records half sent, and must finish intact. */
static void test_blocked_writes(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "warm") == 0);
    size_t n = 2u << 20;
    unsigned char *out = malloc(n), *in = malloc(n);
    RAND_bytes(out, (int)n);
    CHECK(cli_write(&c, out, n) == 1);
    for (int i = 0; i < 1000 && V.echoed < n; i++)
        pump();
    CHECK_INT(V.echoed, n + 4); /* and "warm" */ /* all echoed into the socket's queue or ours */
    CHECK(dp_sock_pending(V.s) > 0);
    CHECK(cli_read(&c, in, n) == 0);
    CHECK(memcmp(in, out, n) == 0);
    CHECK(echo(&c, "after") == 0);
    free(out);
    free(in);
    cli_close(&c);
}

/* Records padded by the client (RFC 8446 5.4) and empty ones. */
static void test_padding(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 512) == 0);
    CHECK(echo(&c, "a") == 0);
    CHECK(dp_tls_handed_over(V.s));
    CHECK(echo(&c, "padded to 512 bytes") == 0);
    cli_close(&c);
}

/* A KeyUpdate from the client, asking for ours: both directions re-key
 * and the conversation goes on. */
static void test_key_update(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "before") == 0);
    CHECK(dp_tls_handed_over(V.s));
    for (int i = 0; i < 3; i++) {
        CHECK(SSL_key_update(c.ssl, SSL_KEY_UPDATE_REQUESTED) == 1);
        CHECK(echo(&c, "after a key update") == 0);
    }
    CHECK(SSL_key_update(c.ssl, SSL_KEY_UPDATE_NOT_REQUESTED) == 1);
    CHECK(echo(&c, "one-sided") == 0);
    CHECK(V.err == 0);
    cli_close(&c);
}

/* Our own KeyUpdates when a key has sealed enough records. */
static void test_rekey(void)
{
    uint64_t saved = dp_tls_rec_rekey_after;
    dp_tls_rec_rekey_after = 3;
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    char msg[32];
    int ok = 1;
    for (int i = 0; i < 20 && ok; i++) {
        snprintf(msg, sizeof(msg), "message %d", i);
        ok = echo(&c, msg) == 0;
    }
    CHECK(ok);
    CHECK(dp_tls_handed_over(V.s));
    CHECK(V.err == 0);
    cli_close(&c);
    dp_tls_rec_rekey_after = saved;
}

/* A record that does not authenticate: bad_record_mac to the client,
 * the connection ends. */
static void test_tampered(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "fine") == 0);
    CHECK(dp_tls_handed_over(V.s));
    unsigned char rec[5 + 40] = {23, 3, 3, 0, 40};
    RAND_bytes(rec + 5, 40);
    CHECK(write(c.fd, rec, sizeof(rec)) == (ssize_t)sizeof(rec));
    for (int i = 0; i < 100 && V.err == 0; i++)
        pump();
    CHECK(V.err != 0);
    char b[8];
    size_t k;
    ERR_clear_error();
    CHECK(SSL_read_ex(c.ssl, b, sizeof(b), &k) != 1);
    CHECK_INT(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
    cli_close(&c);

    /* a record header that is not one: unexpected_message */
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "fine") == 0);
    unsigned char plain_alert[7] = {21, 3, 3, 0, 2, 2, 40};
    CHECK(write(c.fd, plain_alert, sizeof(plain_alert)) == (ssize_t)sizeof(plain_alert));
    for (int i = 0; i < 100 && V.err == 0; i++)
        pump();
    CHECK(V.err != 0);
    ERR_clear_error();
    CHECK(SSL_read_ex(c.ssl, b, sizeof(b), &k) != 1);
    CHECK_INT(ERR_GET_REASON(ERR_peek_last_error()), SSL_R_SSLV3_ALERT_UNEXPECTED_MESSAGE);
    cli_close(&c);
}

/* close_notify both ways. */
static void test_close_notify(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "bye") == 0);
    CHECK(dp_tls_handed_over(V.s));
    CHECK(SSL_shutdown(c.ssl) == 0); /* sent, the peer's not yet read */
    for (int i = 0; i < 100 && !V.err; i++)
        pump();
    CHECK_INT(V.err, DP_ECLOSED);
    char b[8];
    size_t k;
    int r = PUMP(&c, SSL_read_ex(c.ssl, b, sizeof(b), &k));
    CHECK(r == -1 && SSL_get_error(c.ssl, 0) == SSL_ERROR_ZERO_RETURN);
    cli_close(&c);

    /* records and then the TCP end without close_notify: the records
     * first, then the end (SSL_OP_IGNORE_UNEXPECTED_EOF) */
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "hi") == 0);
    V.sink = 1;
    static char big[100000];
    memset(big, 'x', sizeof(big));
    CHECK(cli_write(&c, big, sizeof(big)) == 1);
    CHECK(shutdown(c.fd, SHUT_WR) == 0);
    for (int i = 0; i < 1000 && !V.err; i++)
        pump();
    CHECK_INT(V.err, DP_ECLOSED);
    CHECK_INT(V.echoed, 2 + sizeof(big));
    cli_close(&c);
}

/* Resumption works on handed-over connections: the tickets OpenSSL sent
 * were counted in our write sequence. */
static void test_resumption(void)
{
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "first") == 0);
    CHECK(dp_tls_handed_over(V.s));
    SSL_SESSION *sess = SSL_get1_session(c.ssl);
    CHECK(sess != NULL && SSL_SESSION_is_resumable(sess));
    cli_close(&c);

    CHECK(cli_open_with(&c, (cli_opts_t){.session = sess}) == 0);
    CHECK(SSL_session_reused(c.ssl) == 1);
    CHECK(echo(&c, "resumed") == 0);
    CHECK(dp_tls_handed_over(V.s) && dp_tls_resumed(V.s));
    SSL_SESSION_free(sess);
    cli_close(&c);
}

/* Off, everything stays on OpenSSL (and works). */
static void test_handover_off(void)
{
    dp_tls__handover_enabled = false;
    cli_t c;
    CHECK(cli_open(&c, NULL, 0) == 0);
    CHECK(echo(&c, "one") == 0);
    CHECK(echo(&c, "two") == 0);
    CHECK(!dp_tls_handed_over(V.s));
    cli_close(&c);
    dp_tls__handover_enabled = true;
}

/* The record layer alone: framing limits, a seal opened by the other
 * side, a flipped bit. */
static void test_records(void)
{
    CHECK(dp_tls_rec_complete((const uint8_t *)"\x17\x03\x03\x00", 4) == 0);
    CHECK(dp_tls_rec_complete((const uint8_t *)"\x17\x03\x03\x00\x11", 5) == 0);
    CHECK(dp_tls_rec_complete((const uint8_t *)"\x16\x03\x03\x00\x11", 5) == -DP_TLS_AD_UNEXPECTED_MESSAGE);
    CHECK(dp_tls_rec_complete((const uint8_t *)"\x17\x03\x03\x41\x01", 5) == -DP_TLS_AD_RECORD_OVERFLOW);
    CHECK(dp_tls_rec_complete((const uint8_t *)"\x17\x03\x03\x00\x10", 5) == -DP_TLS_AD_DECODE_ERROR);

    uint8_t a[32], b[32];
    RAND_bytes(a, 32);
    RAND_bytes(b, 32);
    dp_tls_rec_t x, y;
    CHECK(dp_tls_rec_init(&x, 0x1301, a, 0, b, 7, 32) == 0);
    CHECK(dp_tls_rec_init(&y, 0x1301, b, 7, a, 0, 32) == 0);
    CHECK(dp_tls_rec_init(&y, 0x1304, b, 7, a, 0, 32) == DP_EINVAL);
    CHECK(dp_tls_rec_init(&y, 0x1302, b, 7, a, 0, 32) == DP_EINVAL); /* SHA-384: 48-byte secrets */
    CHECK(dp_tls_rec_init(&y, 0x1301, b, 7, a, 0, 32) == 0);
    static uint8_t rec[DP_TLS_REC_MAX], out[DP_TLS_REC_MAX];
    struct iovec v[2] = {{(void *)"hello ", 6}, {(void *)"world", 5}};
    long n = dp_tls_rec_seal(&x, DP_TLS_CT_APPDATA, v, 2, 11, rec);
    CHECK_INT(n, 11 + DP_TLS_REC_OVERHEAD);
    CHECK(dp_tls_rec_complete(rec, (size_t)n) == n);
    uint8_t type = 0;
    CHECK_INT(dp_tls_rec_open(&y, rec, (size_t)n, out, &type), 11);
    CHECK(type == DP_TLS_CT_APPDATA && memcmp(out, "hello world", 11) == 0);
    /* replayed (the sequence moved on), and flipped */
    CHECK_INT(dp_tls_rec_open(&y, rec, (size_t)n, out, &type), -DP_TLS_AD_BAD_RECORD_MAC);
    y.rd.seq--;
    rec[9] ^= 1;
    CHECK_INT(dp_tls_rec_open(&y, rec, (size_t)n, out, &type), -DP_TLS_AD_BAD_RECORD_MAC);
    /* both sides update: still in step */
    CHECK(dp_tls_rec_update(&x, &x.wr) == 0 && dp_tls_rec_update(&y, &y.rd) == 0);
    n = dp_tls_rec_seal(&x, DP_TLS_CT_ALERT, v, 1, 6, rec);
    CHECK_INT(dp_tls_rec_open(&y, rec, (size_t)n, rec + DP_TLS_REC_HDR, &type), 6); /* in place */
    CHECK(type == DP_TLS_CT_ALERT && memcmp(rec + DP_TLS_REC_HDR, "hello ", 6) == 0);
    dp_tls_rec_clear(&x);
    dp_tls_rec_clear(&y);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    pem_t certp = td_load("a.pem"), keyp = td_load("a.key");
    dp_tls_cert_t a = cert(certp, keyp);
    dp_tls_opts_t o = {.server = true, .certs = &a, .n_certs = 1};
    char err[256];
    S = dp_tls_ctx_new(&o, err, sizeof(err));
    CHECK(S != NULL);
    if (S == NULL)
        TEST_DONE();
    dp_loop_init(&L, ev_loop_new(EVFLAG_AUTO), NULL);

    test_records();
    test_suites();
    test_bulk();
    test_blocked_writes();
    test_padding();
    test_key_update();
    test_rekey();
    test_tampered();
    test_close_notify();
    test_resumption();
    test_handover_off();

    dp_tls_ctx_unref(S);
    dp_loop_dispose(&L);
    ev_loop_destroy(L.ev);
    free(certp.p);
    free(keyp.p);
    TEST_DONE();
}
