/* dp_sock_t on the raw transport: one libev watcher serving both
 * directions (reads and blocked writes at once, callbacks fed from the
 * loop surviving a change of the watched events), write errors surfacing
 * through the read callback, connects, the compact addresses, and sockets
 * closed while queued for the end-of-iteration flush, the flush's order. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/loop.h"
#include "dataplane/transport/sock.h"
#include "tests/unit/test.h"
#include "transport/loop_util.h"

/* What one end saw. */
typedef struct side {
    dp_sock_t *s;
    char *rx;
    size_t rx_len, rx_cap;
    int reads, drains, closed, err;
    bool keep; /* on_read: stop reading and leave the input in the socket */
} side_t;

static void on_read(dp_sock_t *s, int err)
{
    side_t *sd = s->data;
    sd->reads++;
    if (sd->keep) {
        dp_sock_read_stop(s);
        return;
    }
    size_t n = s->in.len;
    if (n > 0 && sd->rx_len + n > sd->rx_cap) {
        sd->rx_cap = (sd->rx_len + n) * 2;
        sd->rx = dp_xrealloc(sd->rx, sd->rx_cap);
    }
    if (n > 0) {
        memcpy(sd->rx + sd->rx_len, dp_buf_data(&s->in), n);
        sd->rx_len += n;
        dp_buf_consume(&s->in, n);
    }
    if (err) {
        sd->closed = 1;
        sd->err = err;
        dp_sock_read_stop(s);
    }
}

static void on_drain(dp_sock_t *s, int err)
{
    (void)err;
    side_t *sd = s->data;
    sd->drains++;
}

static void pair(side_t *a, side_t *b)
{
    memset(a, 0, sizeof(*a));
    memset(b, 0, sizeof(*b));
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
        exit(2);
    a->s = dp_sock_new(&L, fds[0], &dp_transport_raw);
    b->s = dp_sock_new(&L, fds[1], &dp_transport_raw);
    a->s->data = a;
    b->s->data = b;
    a->s->on_drain = on_drain;
    b->s->on_drain = on_drain;
    /* a socketpair's family survives the short address union */
    CHECK_INT(a->s->peer.sa.sa_family, AF_UNIX);
}

static void side_free(side_t *sd)
{
    if (sd->s)
        dp_sock_close(sd->s);
    sd->s = NULL;
    free(sd->rx);
    sd->rx = NULL;
}

static char *pattern(size_t n, unsigned seed)
{
    char *p = dp_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (char)((i * 131 + seed) >> 3);
    return p;
}

static void send_buf(dp_sock_t *s, const char *p, size_t n)
{
    struct iovec iov = {(void *)p, n};
    dp_sock_write(s, &iov, 1);
}

/* Both directions at once, each larger than the kernel buffers: each
 * socket's watcher waits for writability and readability together. */
static void test_full_duplex(void)
{
    side_t a, b;
    pair(&a, &b);
    size_t n = 4u << 20;
    char *pa = pattern(n, 1), *pb = pattern(n, 7);
    dp_sock_read_start(a.s, on_read);
    dp_sock_read_start(b.s, on_read);
    send_buf(a.s, pa, n);
    send_buf(b.s, pb, n);
    CHECK(dp_sock_pending(a.s) > 0); /* the kernel took only part of it */
    uint64_t deadline = dp_now_ms() + 10000;
    while ((a.rx_len < n || b.rx_len < n) && dp_now_ms() < deadline)
        run_for(5);
    CHECK(a.rx_len == n && memcmp(a.rx, pb, n) == 0);
    CHECK(b.rx_len == n && memcmp(b.rx, pa, n) == 0);
    CHECK_INT(dp_sock_pending(a.s), 0);
    CHECK(a.drains >= 1 && b.drains >= 1);
    /* end of stream: EOF reaches the reader */
    dp_sock_shutdown(a.s);
    CHECK(run_until(&b.closed));
    CHECK_INT(b.err, DP_ECLOSED);
    side_free(&a);
    side_free(&b);
    free(pa);
    free(pb);
}

/* Input buffered while reading was stopped is delivered by a fed callback
 * after dp_sock_read_start, with nothing new on the fd. A write that
 * blocks right after changes the watched events (stop/start of the
 * watcher, which drops pending events): the fed read must survive it. */
static void test_feed_survives_restart(void)
{
    side_t a, b;
    pair(&a, &b);
    b.keep = true;
    dp_sock_read_start(b.s, on_read);
    send_buf(a.s, "hello", 5);
    CHECK(run_until(&b.reads));
    CHECK_INT(b.s->in.len, 5);
    CHECK(!b.s->reading);
    run_for(20);
    CHECK_INT(b.reads, 1); /* stopped: not called again */

    b.keep = false;
    dp_sock_read_start(b.s, on_read); /* feeds: the fd has nothing to say */
    size_t n = 4u << 20;
    char *p = pattern(n, 3);
    send_buf(b.s, p, n); /* a does not read: the queue blocks */
    dp_sock_flush(b.s);  /* EAGAIN now: the write side joins the watcher */
    CHECK(dp_sock_pending(b.s) > 0);
    int got_hello = 0;
    uint64_t deadline = dp_now_ms() + 2000;
    while (!got_hello && dp_now_ms() < deadline) {
        run_for(5);
        got_hello = b.rx_len == 5;
    }
    CHECK(got_hello);
    CHECK(b.rx_len == 5 && memcmp(b.rx, "hello", 5) == 0);
    /* and the blocked write completes once a reads */
    dp_sock_read_start(a.s, on_read);
    deadline = dp_now_ms() + 10000;
    while (a.rx_len < n && dp_now_ms() < deadline)
        run_for(5);
    CHECK(a.rx_len == n && memcmp(a.rx, p, n) == 0);
    CHECK(b.drains >= 1);
    side_free(&a);
    side_free(&b);
    free(p);
}

/* A write to a closed peer fails; the failure reaches the owner through
 * its read callback, from the loop. */
static void test_write_error(void)
{
    side_t a, b;
    pair(&a, &b);
    dp_sock_read_start(b.s, on_read);
    dp_sock_close(a.s);
    a.s = NULL;
    run_for(5);
    b.closed = 0;
    size_t n = 64 * 1024;
    char *p = pattern(n, 5);
    send_buf(b.s, p, n);
    CHECK(run_until(&b.closed));
    CHECK_INT(b.err, DP_ECLOSED);
    side_free(&a);
    side_free(&b);
    free(p);
}

static int connected, connect_err;

static void on_connect(dp_sock_t *s, int err)
{
    (void)s;
    connected = 1;
    connect_err = err;
}

static void test_connect(void)
{
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sin);
    CHECK(bind(ls, (struct sockaddr *)&sin, sizeof(sin)) == 0);
    CHECK(listen(ls, 8) == 0);
    getsockname(ls, (struct sockaddr *)&sin, &sl);

    connected = 0;
    dp_sock_t *c = dp_sock_connect(&L, (struct sockaddr *)&sin, sizeof(sin), on_connect);
    CHECK(c != NULL);
    CHECK(run_until(&connected));
    CHECK_INT(connect_err, 0);
    CHECK_INT(c->peer.sa.sa_family, AF_INET);
    CHECK_INT(c->peer.in.sin_port, sin.sin_port);
    CHECK_INT(c->local.sa.sa_family, AF_INET);
    CHECK(c->local.in.sin_port != 0);

    /* the accepted end: both addresses filled, mirrored */
    int fd = accept(ls, NULL, NULL);
    dp_sock_t *srv = dp_sock_new(&L, fd, &dp_transport_raw);
    CHECK_INT(srv->peer.in.sin_port, c->local.in.sin_port);
    CHECK_INT(srv->local.in.sin_port, sin.sin_port);
    CHECK_INT(srv->peer.in.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    dp_sock_close(srv);
    dp_sock_close(c);

    /* refused: reported once, from the loop */
    close(ls);
    connected = 0;
    c = dp_sock_connect(&L, (struct sockaddr *)&sin, sizeof(sin), on_connect);
    CHECK(c != NULL);
    CHECK_INT(connected, 0);
    CHECK(run_until(&connected));
    CHECK_INT(connect_err, DP_ECLOSED);
    dp_sock_close(c);
    run_for(1);
}

/* IPv6 addresses fit the 28-byte union whole. */
static void test_ipv6_addresses(void)
{
    int ls = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    if (ls < 0 || bind(ls, (struct sockaddr *)&s6, sizeof(s6)) != 0) {
        printf("# no IPv6 loopback: skipped\n");
        if (ls >= 0)
            close(ls);
        return;
    }
    socklen_t sl = sizeof(s6);
    listen(ls, 8);
    getsockname(ls, (struct sockaddr *)&s6, &sl);
    connected = 0;
    dp_sock_t *c = dp_sock_connect(&L, (struct sockaddr *)&s6, sizeof(s6), on_connect);
    CHECK(run_until(&connected));
    CHECK_INT(connect_err, 0);
    int fd = accept(ls, NULL, NULL);
    dp_sock_t *srv = dp_sock_new(&L, fd, &dp_transport_raw);
    CHECK_INT(srv->peer.sa.sa_family, AF_INET6);
    CHECK(memcmp(&srv->peer.in6.sin6_addr, &in6addr_loopback, 16) == 0);
    CHECK_INT(srv->peer.in6.sin6_port, c->local.in6.sin6_port);
    char ip[64];
    uint16_t port = 0;
    CHECK(dp_sockaddr_split(&srv->local.sa, ip, sizeof(ip), &port));
    CHECK_STR(ip, "::1");
    CHECK_INT(port, ntohs(s6.sin6_port));
    dp_sock_close(srv);
    dp_sock_close(c);
    close(ls);
    run_for(1);
}

/* Pairs v[0]-v[1], v[2]-v[3], ...: the even side writes (drain callback
 * `drain`), the odd side reads. Then `tick` runs from a timer, inside one
 * loop turn (it sets *(int *)t->data), and the loop runs on for 20 ms. */
static void pairs_then_tick(side_t *v, size_t n, void (*drain)(dp_sock_t *, int),
                            void (*tick)(struct ev_loop *, ev_timer *, int))
{
    for (size_t i = 0; i < n; i += 2) {
        pair(&v[i], &v[i + 1]);
        v[i].s->on_drain = drain;
        dp_sock_read_start(v[i + 1].s, on_read);
    }
    int done = 0;
    ev_timer t;
    ev_timer_init(&t, tick, 0.001, 0);
    t.data = &done;
    ev_timer_start(L.ev, &t);
    CHECK(run_until(&done));
    run_for(20);
}

/* Sockets queued for the end-of-iteration flush and closed before it
 * (one by another's drain callback): the flush skips them, then they are
 * freed (AddressSanitizer checks the order). */
static side_t q[8];

static void close_next_on_drain(dp_sock_t *s, int err)
{
    (void)err;
    side_t *sd = s->data;
    sd->drains++;
    /* q[4] closes q[2], and so on: the one queued before it, which a turn's
     * flush (newest queued first) reaches after it */
    side_t *next = sd - 2;
    if (sd >= q + 2 && next->s) {
        dp_sock_close(next->s);
        next->s = NULL;
    }
}

static void on_tick_write(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev, (void)revents;
    int *done = t->data;
    for (size_t i = 0; i < DP_ARRAY_SIZE(q); i += 2)
        if (q[i].s)
            send_buf(q[i].s, "x", 1);
    if (q[6].s) { /* closed while queued, from a callback */
        dp_sock_close(q[6].s);
        q[6].s = NULL;
    }
    *done = 1;
}

static void test_closed_while_queued(void)
{
    pairs_then_tick(q, DP_ARRAY_SIZE(q), close_next_on_drain, on_tick_write);
    CHECK_INT(q[4].drains, 1);
    CHECK(q[2].s == NULL);     /* closed by q[4]'s drain */
    CHECK_INT(q[5].rx_len, 1); /* flushed before its drain closed q[2] */
    CHECK_INT(q[3].rx_len, 0); /* closed before the flush reached it */
    CHECK_INT(q[1].rx_len, 1);
    CHECK_INT(q[0].drains, 1);
    for (size_t i = 0; i < DP_ARRAY_SIZE(q); i++)
        side_free(&q[i]);
    run_for(1);
}

/* A turn's flush sends newest queued first (the callbacks ran in reverse
 * order of readiness), and a drain callback that queues another socket
 * gets it sent in the same flush. */
static side_t r[8];
static int drain_order[4], n_drained;

static void note_drain(dp_sock_t *s, int err)
{
    (void)err;
    side_t *sd = s->data;
    sd->drains++;
    drain_order[n_drained++] = (int)(sd - r) / 2;
    if (sd == &r[2]) /* queues r[6], not queued this turn */
        send_buf(r[6].s, "y", 1);
}

static void on_tick_three(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev, (void)revents;
    for (size_t i = 0; i < 6; i += 2)
        send_buf(r[i].s, "x", 1);
    *(int *)t->data = 1;
}

static void test_flush_order(void)
{
    pairs_then_tick(r, DP_ARRAY_SIZE(r), note_drain, on_tick_three);
    CHECK_INT(n_drained, 4);
    CHECK_INT(drain_order[0], 2); /* r[4]: queued last, sent first */
    CHECK_INT(drain_order[1], 1);
    CHECK_INT(drain_order[2], 0);
    CHECK_INT(drain_order[3], 3); /* r[6], queued by r[2]'s drain */
    for (size_t i = 1; i < DP_ARRAY_SIZE(r); i += 2)
        CHECK_INT(r[i].rx_len, 1);
    CHECK_MEM(r[7].rx, r[7].rx_len, "y");
    for (size_t i = 0; i < DP_ARRAY_SIZE(r); i++)
        side_free(&r[i]);
    run_for(1);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    dp_loop_init(&L, ev_loop_new(EVFLAG_AUTO), NULL);
    test_full_duplex();
    test_feed_survives_restart();
    test_write_error();
    test_connect();
    test_ipv6_addresses();
    test_closed_while_queued();
    test_flush_order();
    dp_loop_dispose(&L);
    ev_loop_destroy(L.ev);
    TEST_DONE();
}
