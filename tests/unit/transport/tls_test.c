/* The TLS transport over real sockets on a real dp_loop: both ends are
 * dp_socks of this process (a socketpair, or loopback TCP for the
 * `openssl s_client` interop). */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/loop.h"
#include "dataplane/transport/sock.h"
#include "dataplane/transport/tls.h"
#include "tests/unit/test.h"
#include "transport/loop_util.h"
#include "tests/unit/transport/testdata.h"

/* ---- certificates and contexts ---- */

static dp_tls_ctx_t *build(const dp_tls_opts_t *o)
{
    char err[256] = "";
    dp_tls_ctx_t *c = dp_tls_ctx_new(o, err, sizeof(err));
    if (c == NULL) {
        fprintf(stderr, "context: %s\n", err);
        exit(2);
    }
    return c;
}

static const char *const alpn_h2_h1[] = {"h2", "http/1.1"};

/* server for a.example.com (ECDSA) or b.example.com (RSA) */
static dp_tls_ctx_t *server_ctx(char which, dp_tls_opts_t extra)
{
    dp_tls_cert_t c = which == 'a' ? cert(a_pem, a_key) : cert(b_pem, b_key);
    extra.server = true;
    extra.certs = &c;
    extra.n_certs = 1;
    return build(&extra);
}

static dp_tls_ctx_t *client_ctx(dp_tls_opts_t o)
{
    return build(&o);
}

/* ---- one end of a connection ---- */

typedef struct side {
    dp_sock_t *s;
    int done; /* 0 handshaking, 1 ok, -1 failed */
    int err;
    void *chosen;
    bool echo;  /* server: write back what arrives */
    bool pause; /* stop reading after each delivery */
    int reads;
    char *rx;
    size_t rx_len, rx_cap;
    int eof;
} side_t;

typedef struct conn {
    side_t srv, cli;
    int both; /* both handshakes ended */
} conn_t;

static void side_close(side_t *sd)
{
    if (sd->s) {
        dp_sock_close(sd->s);
        sd->s = NULL;
    }
}

static void on_data(dp_sock_t *s, int err)
{
    side_t *sd = s->data;
    if (err) {
        sd->eof = 1;
        dp_sock_read_stop(s);
        return;
    }
    sd->reads++;
    size_t n = s->in.len;
    if (sd->rx_len + n > sd->rx_cap) {
        sd->rx_cap = (sd->rx_len + n) * 2;
        sd->rx = realloc(sd->rx, sd->rx_cap);
    }
    memcpy(sd->rx + sd->rx_len, dp_buf_data(&s->in), n);
    sd->rx_len += n;
    if (sd->echo) {
        struct iovec iov = {dp_buf_data(&s->in), n};
        dp_sock_write(s, &iov, 1);
    }
    dp_buf_consume(&s->in, n);
    if (sd->pause)
        dp_sock_read_stop(s);
}

static conn_t *cur;

static void done_common(side_t *sd, dp_sock_t *s, int err, void *chosen)
{
    sd->done = err ? -1 : 1;
    sd->err = err;
    sd->chosen = chosen;
    if (err)
        side_close(sd); /* what an owner does: the peer then sees the end */
    else
        dp_sock_read_start(s, on_data);
    if (cur->srv.done && cur->cli.done)
        cur->both = 1;
}

static void on_srv_done(dp_sock_t *s, int err, void *chosen)
{
    done_common(&cur->srv, s, err, chosen);
}

static void on_cli_done(dp_sock_t *s, int err, void *chosen)
{
    CHECK(chosen == NULL);
    done_common(&cur->cli, s, err, chosen);
}

/* Handshakes over a socketpair; returns 1 if both ends succeeded. */
static int connect_pair(conn_t *c, dp_tls_ctx_t *sctx, dp_tls_select_cb sel, void *arg, dp_tls_ctx_t *cctx,
                        const char *sni)
{
    memset(c, 0, sizeof(*c));
    cur = c;
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        exit(2);
    c->srv.s = dp_sock_new(&L, fds[0], &dp_transport_raw);
    c->cli.s = dp_sock_new(&L, fds[1], &dp_transport_raw);
    c->srv.s->data = &c->srv;
    c->cli.s->data = &c->cli;
    c->srv.echo = true;
    CHECK_INT(dp_tls_accept(c->srv.s, sctx, sel, arg, on_srv_done), 0);
    CHECK_INT(dp_tls_connect(c->cli.s, cctx, sni, on_cli_done), 0);
    CHECK(c->srv.s->tops == &dp_transport_tls);
    CHECK(run_until(&c->both));
    return c->srv.done == 1 && c->cli.done == 1;
}

static void conn_close(conn_t *c)
{
    side_close(&c->srv);
    side_close(&c->cli);
    free(c->srv.rx);
    free(c->cli.rx);
    c->srv.rx = c->cli.rx = NULL;
    run_for(1); /* reap */
}

static void send_str(side_t *sd, const char *str)
{
    struct iovec iov = {(void *)str, strlen(str)};
    dp_sock_write(sd->s, &iov, 1);
}

/* Sends msg from the client and waits for its echo. */
static int ping(conn_t *c, const char *msg)
{
    size_t before = c->cli.rx_len, n = strlen(msg);
    send_str(&c->cli, msg);
    uint64_t deadline = dp_now_ms() + 5000;
    while (c->cli.rx_len < before + n && dp_now_ms() < deadline)
        run_for(2);
    return c->cli.rx_len == before + n && memcmp(c->cli.rx + before, msg, n) == 0;
}

/* ---- select callbacks ---- */

typedef struct sel {
    dp_tls_ctx_t *a, *b;
    bool refuse;
    bool force_a;
    int calls;
    char sni[256];
    bool had_sni;
    uint8_t alpn[256];
    size_t alpn_len;
} sel_t;

static dp_tls_ctx_t *select_by_sni(void *arg, const char *sni, const uint8_t *alpn, size_t alpn_len,
                                   void **chosen)
{
    sel_t *s = arg;
    s->calls++;
    s->had_sni = sni != NULL;
    snprintf(s->sni, sizeof(s->sni), "%s", sni ? sni : "");
    s->alpn_len = DP_MIN(alpn_len, sizeof(s->alpn));
    if (alpn)
        memcpy(s->alpn, alpn, s->alpn_len);
    if (s->refuse)
        return NULL;
    bool b = !s->force_a && sni && strcmp(sni, "b.example.com") == 0;
    *chosen = b ? (void *)"chain-b" : (void *)"chain-a";
    return b ? s->b : s->a;
}

/* ---- tests ---- */

static void test_echo_1mib(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    conn_t cn;
    CHECK(connect_pair(&cn, s, NULL, NULL, c, NULL));
    CHECK_STR(dp_tls_version(cn.srv.s), "TLSv1.3");
    CHECK_STR(dp_tls_version(cn.cli.s), "TLSv1.3");
    CHECK_STR(dp_tls_alpn(cn.srv.s), "");
    CHECK(dp_tls_sni(cn.srv.s) == NULL);
    CHECK(!dp_tls_resumed(cn.srv.s));
    CHECK(dp_tls_peer_subject(cn.srv.s) == NULL);
    CHECK_STR(dp_tls_peer_subject(cn.cli.s), "CN=a.example.com,O=dp test");

    size_t n = 1 << 20;
    char *big = malloc(n);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)(i * 7 + (i >> 11));
    /* in pieces of odd sizes and as iovecs, to mix direct writes,
     * coalescing and queued retries */
    size_t off = 0;
    while (off < n) {
        size_t k = DP_MIN(n - off, (size_t)(100000 + off % 777));
        struct iovec iov[3] = {
            {big + off, k / 3}, {big + off + k / 3, 5}, {big + off + k / 3 + 5, k - k / 3 - 5}};
        dp_sock_write(cn.cli.s, iov, 3);
        off += k;
    }
    uint64_t deadline = dp_now_ms() + 8000;
    while (cn.cli.rx_len < n && dp_now_ms() < deadline)
        run_for(5);
    CHECK_INT(cn.srv.rx_len, n);
    CHECK_INT(cn.cli.rx_len, n);
    CHECK(cn.cli.rx_len == n && memcmp(cn.cli.rx, big, n) == 0);
    CHECK(cn.srv.rx_len == n && memcmp(cn.srv.rx, big, n) == 0);
    free(big);
    conn_close(&cn);
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(c);
}

static void test_sni_select(void)
{
    sel_t sel = {.a = server_ctx('a', (dp_tls_opts_t){0}), .b = server_ctx('b', (dp_tls_opts_t){0})};
    dp_tls_ctx_t *c =
        client_ctx((dp_tls_opts_t){.ca_pem = ca_pem.p, .ca_len = ca_pem.n, .verify_name = "b.example.com"});
    conn_t cn;
    /* a mixed-case SNI reaches select lowercased */
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, c, "B.Example.COM"));
    CHECK_INT(sel.calls, 1);
    CHECK_STR(sel.sni, "b.example.com");
    CHECK_STR(dp_tls_sni(cn.srv.s), "b.example.com");
    CHECK_STR(cn.srv.chosen, "chain-b");
    CHECK_STR(dp_tls_peer_subject(cn.cli.s), "CN=b.example.com,O=dp test");
    CHECK(ping(&cn, "via b"));
    conn_close(&cn);

    dp_tls_ctx_t *ca =
        client_ctx((dp_tls_opts_t){.ca_pem = ca_pem.p, .ca_len = ca_pem.n, .verify_name = "a.example.com"});
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, ca, "a.example.com"));
    CHECK_STR(cn.srv.chosen, "chain-a");
    CHECK_STR(dp_tls_peer_subject(cn.cli.s), "CN=a.example.com,O=dp test");
    conn_close(&cn);

    /* no SNI */
    dp_tls_ctx_t *none = client_ctx((dp_tls_opts_t){0});
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, none, NULL));
    CHECK(!sel.had_sni);
    CHECK(dp_tls_sni(cn.srv.s) == NULL);
    CHECK_STR(cn.srv.chosen, "chain-a");
    conn_close(&cn);

    /* no filter chain: the handshake is refused on both ends */
    sel.refuse = true;
    CHECK(!connect_pair(&cn, sel.a, select_by_sni, &sel, c, "b.example.com"));
    CHECK_INT(cn.srv.done, -1);
    CHECK_INT(cn.cli.done, -1);
    CHECK(cn.srv.err < 0 && cn.cli.err < 0);
    conn_close(&cn);

    dp_tls_ctx_unref(sel.a);
    dp_tls_ctx_unref(sel.b);
    dp_tls_ctx_unref(c);
    dp_tls_ctx_unref(ca);
    dp_tls_ctx_unref(none);
}

static const char *alpn_after(dp_tls_ctx_t *s, sel_t *sel, const char *const *offer, size_t n)
{
    static char out[32];
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){.alpn = offer, .n_alpn = n});
    conn_t cn;
    snprintf(out, sizeof(out), "(failed)");
    if (connect_pair(&cn, s, sel ? select_by_sni : NULL, sel, c, "a.example.com")) {
        snprintf(out, sizeof(out), "%s", dp_tls_alpn(cn.srv.s));
        CHECK_STR(dp_tls_alpn(cn.cli.s), out);
    }
    conn_close(&cn);
    dp_tls_ctx_unref(c);
    return out;
}

static void test_alpn(void)
{
    sel_t sel = {.a = server_ctx('a', (dp_tls_opts_t){.alpn = alpn_h2_h1, .n_alpn = 2})};
    const char *const h1_h2[] = {"http/1.1", "h2"}, *const h1[] = {"http/1.1"}, *const spdy[] = {"spdy/3"};
    CHECK_STR(alpn_after(sel.a, &sel, h1_h2, 2), "h2"); /* ours first */
    /* select saw the offer in wire format */
    CHECK_INT(sel.alpn_len, 12);
    CHECK(memcmp(sel.alpn, "\x08http/1.1\x02h2", 12) == 0);
    CHECK_STR(alpn_after(sel.a, &sel, h1, 1), "http/1.1");
    CHECK_STR(alpn_after(sel.a, &sel, spdy, 1), ""); /* nothing in common: no ALPN, the connection goes on */
    CHECK_STR(alpn_after(sel.a, &sel, NULL, 0), "");
    CHECK_INT(sel.alpn_len, 0);
    /* a server without ALPN ignores the client's */
    dp_tls_ctx_t *plain = server_ctx('a', (dp_tls_opts_t){0});
    CHECK_STR(alpn_after(plain, NULL, h1_h2, 2), "");
    dp_tls_ctx_unref(plain);
    dp_tls_ctx_unref(sel.a);
}

static void test_versions(void)
{
    dp_tls_ctx_t *s12 = server_ctx('a', (dp_tls_opts_t){.params = {.max_version = DP_TLS_V12}});
    dp_tls_ctx_t *s13 = server_ctx('b', (dp_tls_opts_t){.params = {.min_version = DP_TLS_V13}});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    dp_tls_ctx_t *c12 = client_ctx((dp_tls_opts_t){.params = {.max_version = DP_TLS_V12}});
    conn_t cn;
    CHECK(connect_pair(&cn, s12, NULL, NULL, c, NULL));
    CHECK_STR(dp_tls_version(cn.srv.s), "TLSv1.2");
    CHECK(ping(&cn, "twelve"));
    conn_close(&cn);
    CHECK(connect_pair(&cn, s13, NULL, NULL, c, NULL));
    CHECK_STR(dp_tls_version(cn.cli.s), "TLSv1.3");
    CHECK(ping(&cn, "thirteen"));
    conn_close(&cn);
    /* no version in common */
    CHECK(!connect_pair(&cn, s13, NULL, NULL, c12, NULL));
    conn_close(&cn);
    /* a chain chosen by select brings its version range */
    sel_t sel = {.a = s13, .b = s12};
    CHECK(connect_pair(&cn, s13, select_by_sni, &sel, c, "b.example.com"));
    CHECK_STR(dp_tls_version(cn.srv.s), "TLSv1.2");
    conn_close(&cn);
    dp_tls_ctx_unref(s12);
    dp_tls_ctx_unref(s13);
    dp_tls_ctx_unref(c);
    dp_tls_ctx_unref(c12);
}

/* Two connections with the same client context; returns whether the
 * second was resumed (checked on both ends). */
static int resumes(dp_tls_ctx_t *s1, dp_tls_ctx_t *s2, dp_tls_ctx_t *c, sel_t *sel, const char *sni)
{
    conn_t cn;
    if (!connect_pair(&cn, s1, sel ? select_by_sni : NULL, sel, c, sni))
        return -1;
    CHECK(!dp_tls_resumed(cn.srv.s));
    CHECK(ping(&cn, "first")); /* TLS 1.3 tickets arrive after the handshake */
    conn_close(&cn);
    if (!connect_pair(&cn, s2, sel ? select_by_sni : NULL, sel, c, sni))
        return -1;
    int r = dp_tls_resumed(cn.srv.s);
    CHECK_INT(dp_tls_resumed(cn.cli.s), r);
    CHECK(ping(&cn, "second"));
    conn_close(&cn);
    return r;
}

static void test_resumption(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *s12 = server_ctx('a', (dp_tls_opts_t){.params = {.max_version = DP_TLS_V12}});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    CHECK_INT(resumes(s, s, c, NULL, NULL), 1);     /* TLS 1.3 tickets */
    CHECK_INT(resumes(s12, s12, c, NULL, NULL), 1); /* TLS 1.2 tickets */

    /* random per-context keys: another context cannot read the ticket */
    dp_tls_ctx_t *s_other = server_ctx('a', (dp_tls_opts_t){0});
    CHECK_INT(resumes(s, s_other, c, NULL, NULL), 0);
    dp_tls_ctx_unref(s_other);

    /* Envoy's session_ticket_keys: contexts sharing them share tickets;
     * after a rotation the old key still decrypts */
    uint8_t keys[160];
    for (size_t i = 0; i < sizeof(keys); i++)
        keys[i] = (uint8_t)(i * 13 + 1);
    dp_tls_ctx_t *k1 = server_ctx('a', (dp_tls_opts_t){.ticket_keys = keys, .n_ticket_keys = 1});
    dp_tls_ctx_t *k1b = server_ctx('a', (dp_tls_opts_t){.ticket_keys = keys, .n_ticket_keys = 1});
    CHECK_INT(resumes(k1, k1b, c, NULL, NULL), 1);
    /* rotation: [new | old], old being the key k1 encrypts with */
    uint8_t rotated[160];
    for (size_t i = 0; i < 80; i++)
        rotated[i] = (uint8_t)(0xa5 ^ i);
    memcpy(rotated + 80, keys, 80);
    dp_tls_ctx_t *rot = server_ctx('a', (dp_tls_opts_t){.ticket_keys = rotated, .n_ticket_keys = 2});
    CHECK_INT(resumes(k1, rot, c, NULL, NULL), 1);
    /* only the new key: the old ticket is not accepted */
    dp_tls_ctx_t *newonly = server_ctx('a', (dp_tls_opts_t){.ticket_keys = rotated, .n_ticket_keys = 1});
    CHECK_INT(resumes(k1, newonly, c, NULL, NULL), 0);
    dp_tls_ctx_unref(newonly);
    dp_tls_ctx_unref(rot);
    dp_tls_ctx_unref(k1);
    dp_tls_ctx_unref(k1b);

    /* stateful cache only (no tickets), and nothing at all */
    dp_tls_ctx_t *cache = server_ctx('a', (dp_tls_opts_t){.disable_stateless_session_resumption = true});
    CHECK_INT(resumes(cache, cache, c, NULL, NULL), 1);
    dp_tls_ctx_t *cache12 = server_ctx('a', (dp_tls_opts_t){.disable_stateless_session_resumption = true,
                                                            .params = {.max_version = DP_TLS_V12}});
    CHECK_INT(resumes(cache12, cache12, c, NULL, NULL), 1);
    dp_tls_ctx_t *nothing = server_ctx('a', (dp_tls_opts_t){.disable_stateless_session_resumption = true,
                                                            .disable_stateful_session_resumption = true});
    CHECK_INT(resumes(nothing, nothing, c, NULL, NULL), 0);
    dp_tls_ctx_unref(cache);
    dp_tls_ctx_unref(cache12);
    dp_tls_ctx_unref(nothing);

    /* through a context chosen by select (OpenSSL keeps the initial one
     * for sessions), and not from one chain into another */
    sel_t sel = {.a = server_ctx('a', (dp_tls_opts_t){0}), .b = server_ctx('b', (dp_tls_opts_t){0})};
    CHECK_INT(resumes(sel.a, sel.a, c, &sel, "b.example.com"), 1);
    dp_tls_ctx_t *b12 = server_ctx('b', (dp_tls_opts_t){.params = {.max_version = DP_TLS_V12}});
    dp_tls_ctx_t *b_cache = server_ctx('b', (dp_tls_opts_t){.disable_stateless_session_resumption = true});
    sel_t sel12 = {.a = sel.a, .b = b12};
    CHECK_INT(resumes(sel.a, sel.a, c, &sel12, "b.example.com"), 1);
    sel_t selc = {.a = sel.a, .b = b_cache};
    CHECK_INT(resumes(sel.a, sel.a, c, &selc, "b.example.com"), 1);
    conn_t cn;
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, c, "b.example.com"));
    CHECK(ping(&cn, "b"));
    conn_close(&cn);
    sel.force_a = true; /* same SNI, now another chain: a full handshake */
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, c, "b.example.com"));
    CHECK(!dp_tls_resumed(cn.srv.s));
    CHECK_STR(dp_tls_peer_subject(cn.cli.s), "CN=a.example.com,O=dp test");
    conn_close(&cn);
    dp_tls_ctx_unref(b12);
    dp_tls_ctx_unref(b_cache);
    dp_tls_ctx_unref(sel.a);
    dp_tls_ctx_unref(sel.b);
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(s12);
    dp_tls_ctx_unref(c);
}

static void test_verify(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    struct {
        pem_t ca;
        const char *name;
        int ok;
    } cases[] = {
        {ca_pem, "a.example.com", 1}, {ca_pem, "localhost", 1},       {ca_pem, NULL, 1},
        {ca_pem, "b.example.com", 0}, {other_ca, "a.example.com", 0}, {other_ca, NULL, 0},
    };
    for (size_t i = 0; i < DP_ARRAY_SIZE(cases); i++) {
        dp_tls_ctx_t *c = client_ctx(
            (dp_tls_opts_t){.ca_pem = cases[i].ca.p, .ca_len = cases[i].ca.n, .verify_name = cases[i].name});
        conn_t cn;
        int ok = connect_pair(&cn, s, NULL, NULL, c, "a.example.com");
        if (ok != cases[i].ok)
            fprintf(stderr, "verify case %zu: %d\n", i, ok);
        CHECK_INT(ok, cases[i].ok);
        if (!cases[i].ok)
            CHECK_INT(cn.cli.done, -1);
        conn_close(&cn);
        dp_tls_ctx_unref(c);
    }
    dp_tls_ctx_unref(s);
}

static void test_client_cert(void)
{
    dp_tls_ctx_t *req = server_ctx(
        'a', (dp_tls_opts_t){.ca_pem = ca_pem.p, .ca_len = ca_pem.n, .require_client_certificate = true});
    dp_tls_ctx_t *opt = server_ctx('a', (dp_tls_opts_t){.ca_pem = ca_pem.p, .ca_len = ca_pem.n});
    dp_tls_cert_t cc = cert(client_pem, client_key);
    dp_tls_ctx_t *with = client_ctx((dp_tls_opts_t){.certs = &cc, .n_certs = 1});
    dp_tls_ctx_t *without = client_ctx((dp_tls_opts_t){0});
    dp_tls_cert_t wrong = cert(b_pem, b_key); /* a server certificate: fine chain, wrong purpose */
    dp_tls_ctx_t *notclient = client_ctx((dp_tls_opts_t){.certs = &wrong, .n_certs = 1});
    conn_t cn;
    CHECK(connect_pair(&cn, req, NULL, NULL, with, NULL));
    CHECK_STR(dp_tls_peer_subject(cn.srv.s), "CN=client.example.com,O=dp test");
    CHECK(ping(&cn, "mtls"));
    /* handed over to our record layer, the subject is still known */
    CHECK(dp_tls_handed_over(cn.srv.s));
    CHECK(dp_tls_peer_cert(cn.srv.s) && dp_tls_peer_cert(cn.cli.s)); /* the client saw the server's */
    CHECK_STR(dp_tls_peer_subject(cn.srv.s), "CN=client.example.com,O=dp test");
    conn_close(&cn);
    /* TLS 1.3: the client finishes before the server checks; the server
     * refuses, and the client sees the alert on its first read */
    connect_pair(&cn, req, NULL, NULL, without, NULL);
    CHECK_INT(cn.srv.done, -1);
    if (cn.cli.s) {
        run_for(50);
        CHECK(cn.cli.eof);
    }
    conn_close(&cn);
    CHECK(connect_pair(&cn, opt, NULL, NULL, without, NULL)); /* optional: fine without */
    CHECK(dp_tls_peer_subject(cn.srv.s) == NULL);
    conn_close(&cn);
    /* the chosen chain's client validation applies, not the initial one's */
    sel_t sel = {.a = server_ctx('a', (dp_tls_opts_t){0}), .b = req};
    connect_pair(&cn, sel.a, select_by_sni, &sel, without, "b.example.com");
    CHECK_INT(cn.srv.done, -1);
    conn_close(&cn);
    CHECK(connect_pair(&cn, sel.a, select_by_sni, &sel, with, "b.example.com"));
    CHECK_STR(dp_tls_peer_subject(cn.srv.s), "CN=client.example.com,O=dp test");
    conn_close(&cn);
    /* a certificate for servers only (extendedKeyUsage serverAuth) */
    connect_pair(&cn, req, NULL, NULL, notclient, NULL);
    CHECK_INT(cn.srv.done, -1);
    conn_close(&cn);
    dp_tls_ctx_unref(sel.a);
    dp_tls_ctx_unref(req);
    dp_tls_ctx_unref(opt);
    dp_tls_ctx_unref(with);
    dp_tls_ctx_unref(without);
    dp_tls_ctx_unref(notclient);
}

static void test_half_close(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    conn_t cn;
    CHECK(connect_pair(&cn, s, NULL, NULL, c, NULL));
    cn.srv.echo = false;
    send_str(&cn.cli, "request");
    dp_sock_shutdown(cn.cli.s);
    CHECK(run_until(&cn.srv.eof));
    CHECK_INT(cn.srv.rx_len, 7);
    /* the server still writes after the client's close_notify + FIN */
    send_str(&cn.srv, "response");
    dp_sock_shutdown(cn.srv.s);
    CHECK(run_until(&cn.cli.eof));
    CHECK(cn.cli.rx_len == 8 && memcmp(cn.cli.rx, "response", 8) == 0);
    conn_close(&cn);

    /* the other way round: the server half-closes first, the client goes
     * on sending */
    CHECK(connect_pair(&cn, s, NULL, NULL, c, NULL));
    cn.srv.echo = false;
    send_str(&cn.srv, "early");
    dp_sock_shutdown(cn.srv.s);
    CHECK(run_until(&cn.cli.eof));
    send_str(&cn.cli, "late data");
    uint64_t deadline = dp_now_ms() + 3000;
    while (cn.srv.rx_len < 9 && dp_now_ms() < deadline)
        run_for(2);
    CHECK(cn.srv.rx_len == 9 && memcmp(cn.srv.rx, "late data", 9) == 0);
    conn_close(&cn);
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(c);
}

/* Records read ahead by OpenSSL sit in its buffer, not in the kernel's:
 * a codec that paused must still get them when it reads again. */
static void test_buffered_delivery(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    conn_t cn;
    CHECK(connect_pair(&cn, s, NULL, NULL, c, NULL));
    cn.srv.echo = false;
    cn.srv.pause = true;
    cn.srv.s->read_limit = 16384; /* one record per delivery */
    size_t n = 16384 + 100;       /* two records, one write */
    char *data = malloc(n);
    memset(data, 'x', n);
    struct iovec iov = {data, n};
    dp_sock_write(cn.cli.s, &iov, 1);
    run_until(&cn.srv.reads);
    run_for(30);
    CHECK_INT(cn.srv.reads, 1);
    CHECK_INT(cn.srv.rx_len, 16384);
    dp_sock_read_start(cn.srv.s, on_data); /* the fd has nothing more to say */
    uint64_t deadline = dp_now_ms() + 2000;
    while (cn.srv.rx_len < n && dp_now_ms() < deadline)
        run_for(2);
    CHECK_INT(cn.srv.rx_len, n);
    free(data);
    conn_close(&cn);
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(c);
}

/* Output queued before the handshake ends goes out encrypted after it. */
static void test_write_during_handshake(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    conn_t cn;
    memset(&cn, 0, sizeof(cn));
    cur = &cn;
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
    cn.srv.s = dp_sock_new(&L, fds[0], &dp_transport_raw);
    cn.cli.s = dp_sock_new(&L, fds[1], &dp_transport_raw);
    cn.srv.s->data = &cn.srv;
    cn.cli.s->data = &cn.cli;
    CHECK_INT(dp_tls_accept(cn.srv.s, s, NULL, NULL, on_srv_done), 0);
    CHECK_INT(dp_tls_connect(cn.cli.s, c, NULL, on_cli_done), 0);
    char big[20000];
    memset(big, 'q', sizeof(big));
    struct iovec iov[2] = {{(void *)"hello ", 6}, {big, sizeof(big)}};
    dp_sock_write(cn.cli.s, iov, 2);
    CHECK(run_until(&cn.both));
    uint64_t deadline = dp_now_ms() + 2000;
    while (cn.srv.rx_len < 6 + sizeof(big) && dp_now_ms() < deadline)
        run_for(2);
    CHECK_INT(cn.srv.rx_len, 6 + sizeof(big));
    CHECK(cn.srv.rx_len > 6 && memcmp(cn.srv.rx, "hello qqq", 9) == 0);
    conn_close(&cn);
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(c);
}

/* RSA and ECDSA certificates in one context: OpenSSL picks by what the
 * client supports (TLS 1.2 clients restricted to one kind show it). */
static void test_rsa_and_ecdsa(void)
{
    dp_tls_cert_t both[2] = {cert(a_pem, a_key), cert(arsa_pem, arsa_key)};
    dp_tls_ctx_t *dual = build(&(dp_tls_opts_t){.server = true, .certs = both, .n_certs = 2});
    dp_tls_ctx_t *ecdsa_only = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *rsa_client = client_ctx(
        (dp_tls_opts_t){.params = {.max_version = DP_TLS_V12, .cipher_suites = "ECDHE-RSA-AES128-GCM-SHA256"},
                        .ca_pem = ca_pem.p,
                        .ca_len = ca_pem.n,
                        .verify_name = "a.example.com"});
    dp_tls_ctx_t *ecdsa_client = client_ctx((dp_tls_opts_t){
        .params = {.max_version = DP_TLS_V12, .cipher_suites = "ECDHE-ECDSA-AES128-GCM-SHA256"},
        .ca_pem = ca_pem.p,
        .ca_len = ca_pem.n,
        .verify_name = "a.example.com"});
    dp_tls_ctx_t *any = client_ctx((dp_tls_opts_t){.ca_pem = ca_pem.p, .ca_len = ca_pem.n});
    conn_t cn;
    CHECK(connect_pair(&cn, dual, NULL, NULL, rsa_client, "a.example.com"));
    conn_close(&cn);
    CHECK(connect_pair(&cn, dual, NULL, NULL, ecdsa_client, "a.example.com"));
    conn_close(&cn);
    CHECK(connect_pair(&cn, dual, NULL, NULL, any, "a.example.com"));
    CHECK_STR(dp_tls_version(cn.cli.s), "TLSv1.3");
    conn_close(&cn);
    CHECK(!connect_pair(&cn, ecdsa_only, NULL, NULL, rsa_client, "a.example.com")); /* the control */
    conn_close(&cn);
    dp_tls_ctx_unref(dual);
    dp_tls_ctx_unref(ecdsa_only);
    dp_tls_ctx_unref(rsa_client);
    dp_tls_ctx_unref(ecdsa_client);
    dp_tls_ctx_unref(any);
}

/* A half-close asked for during the handshake waits for its end (a FIN
 * now would kill it) and still sends the queued data first. */
static void test_shutdown_during_handshake(void)
{
    dp_tls_ctx_t *s = server_ctx('a', (dp_tls_opts_t){0});
    dp_tls_ctx_t *c = client_ctx((dp_tls_opts_t){0});
    for (int with_data = 0; with_data < 2; with_data++) {
        conn_t cn;
        memset(&cn, 0, sizeof(cn));
        cur = &cn;
        int fds[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds);
        cn.srv.s = dp_sock_new(&L, fds[0], &dp_transport_raw);
        cn.cli.s = dp_sock_new(&L, fds[1], &dp_transport_raw);
        cn.srv.s->data = &cn.srv;
        cn.cli.s->data = &cn.cli;
        CHECK_INT(dp_tls_accept(cn.srv.s, s, NULL, NULL, on_srv_done), 0);
        CHECK_INT(dp_tls_connect(cn.cli.s, c, NULL, on_cli_done), 0);
        if (with_data)
            send_str(&cn.cli, "last words");
        dp_sock_shutdown(cn.cli.s);
        CHECK(run_until(&cn.both));
        CHECK_INT(cn.srv.done, 1);
        CHECK_INT(cn.cli.done, 1);
        CHECK(run_until(&cn.srv.eof));
        CHECK_INT(cn.srv.rx_len, with_data ? 10 : 0);
        conn_close(&cn);
    }
    dp_tls_ctx_unref(s);
    dp_tls_ctx_unref(c);
}

/* ---- interop with the openssl command line ---- */

typedef struct listener {
    int fd;
    ev_io io;
    dp_tls_ctx_t *ctx;
    sel_t *sel;
    conn_t *cn;
} listener_t;

static void on_srv_done_greet(dp_sock_t *s, int err, void *chosen)
{
    done_common(&cur->srv, s, err, chosen);
    if (!err) {
        send_str(&cur->srv, "hello from dp\n");
        dp_sock_shutdown(s);
    }
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev, (void)revents;
    listener_t *l = w->data;
    int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    l->cn->srv.s = dp_sock_new(&L, fd, &dp_transport_raw);
    l->cn->srv.s->data = &l->cn->srv;
    CHECK_INT(dp_tls_accept(l->cn->srv.s, l->ctx, select_by_sni, l->sel, on_srv_done_greet), 0);
}

typedef struct pipe_rd {
    ev_io io;
    char buf[16384];
    size_t len;
    int eof;
} pipe_rd_t;

static void on_pipe(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    pipe_rd_t *p = w->data;
    ssize_t n = read(w->fd, p->buf + p->len, sizeof(p->buf) - 1 - p->len);
    if (n > 0) {
        p->len += (size_t)n;
        p->buf[p->len] = 0;
        return;
    }
    if (n < 0 && errno == EAGAIN)
        return;
    p->eof = 1;
    ev_io_stop(ev, w);
}

static void test_openssl_s_client(void)
{
    if (system("openssl version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "openssl command not found: interop test skipped\n");
        return;
    }
    sel_t sel = {.a = server_ctx('a', (dp_tls_opts_t){.alpn = alpn_h2_h1, .n_alpn = 2}),
                 .b = server_ctx('b', (dp_tls_opts_t){.alpn = alpn_h2_h1, .n_alpn = 2})};
    conn_t cn;
    memset(&cn, 0, sizeof(cn));
    cn.cli.done = 1; /* the client is s_client */
    cur = &cn;
    listener_t l = {.ctx = sel.a, .sel = &sel, .cn = &cn};
    l.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    CHECK(bind(l.fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    CHECK(listen(l.fd, 8) == 0);
    getsockname(l.fd, (struct sockaddr *)&sa, &sl);
    ev_io_init(&l.io, on_accept, l.fd, EV_READ);
    l.io.data = &l;
    ev_io_start(L.ev, &l.io);

    int out[2];
    CHECK(pipe2(out, O_CLOEXEC) == 0);
    char port[16], connect_to[64];
    snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
    snprintf(connect_to, sizeof(connect_to), "127.0.0.1:%s", port);
    pid_t pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        dup2(devnull, 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execlp("openssl", "openssl", "s_client", "-connect", connect_to, "-servername", "b.example.com",
               "-alpn", "h2", "-CAfile", TD "ca.pem", "-verify_return_error", "-verify_hostname",
               "b.example.com", "-ign_eof", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    pipe_rd_t pr = {.len = 0};
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    ev_io_init(&pr.io, on_pipe, out[0], EV_READ);
    pr.io.data = &pr;
    ev_io_start(L.ev, &pr.io);
    run_until(&pr.eof);
    int status = 0;
    waitpid(pid, &status, 0);
    ev_io_stop(L.ev, &pr.io);
    close(out[0]);
    ev_io_stop(L.ev, &l.io);
    close(l.fd);

    CHECK_INT(cn.srv.done, 1);
    CHECK_STR(sel.sni, "b.example.com");
    CHECK(strstr(pr.buf, "ALPN protocol: h2") != NULL);
    CHECK(strstr(pr.buf, "CN = b.example.com") != NULL);
    CHECK(strstr(pr.buf, "Verify return code: 0 (ok)") != NULL);
    CHECK(strstr(pr.buf, "hello from dp") != NULL);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (test_failed_)
        fprintf(stderr, "s_client said:\n%s\n", pr.buf);
    if (cn.srv.s)
        CHECK_STR(dp_tls_alpn(cn.srv.s), "h2");
    conn_close(&cn);
    dp_tls_ctx_unref(sel.a);
    dp_tls_ctx_unref(sel.b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    td_load_all();
    dp_loop_init(&L, ev_loop_new(EVFLAG_AUTO), NULL);

    test_echo_1mib();
    test_sni_select();
    test_alpn();
    test_versions();
    test_resumption();
    test_verify();
    test_client_cert();
    test_half_close();
    test_buffered_delivery();
    test_write_during_handshake();
    test_shutdown_during_handshake();
    test_rsa_and_ecdsa();
    test_openssl_s_client();

    dp_loop_dispose(&L);
    ev_loop_destroy(L.ev);
    td_free_all();
    TEST_DONE();
}
