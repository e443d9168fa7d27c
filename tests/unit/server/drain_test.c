/* The server drain state (dataplane/server/drain.h): which responses close
 * their connection after /healthcheck/fail and during the drain sequence,
 * by drain_type, traffic_direction and strategy; and the listener set's
 * stopped listeners (dp_lset_build), which keep their entry but no socket. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/server/drain.h"
#include "dataplane/server/listener.h"
#include "ev_run.h"
#include "test.h"
#include "xds/snapshot.h"

static dp_worker_t w = {.rand_state = 0x1234567ull};

/* How many of n responses on l close their connection. */
static int closes(const dp_listener_cfg_t *l, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += dp_drain_close(l, &w);
    return k;
}

static void test_hc_failed(void)
{
    dp_listener_cfg_t def = {0}, modify_only = {.drain_modify_only = true};
    dp_drain_reset();
    CHECK(!dp_drain_close(&def, &w));
    dp_drain_set_hc_failed(true);
    CHECK(dp_drain_hc_failed());
    CHECK(dp_drain_close(&def, &w));
    CHECK(!dp_drain_close(&modify_only, &w)); /* MODIFY_ONLY: not on /healthcheck/fail */
    CHECK(!dp_drain_draining());
    dp_drain_set_hc_failed(false);
    CHECK(!dp_drain_close(&def, &w));
}

static void test_immediate(struct ev_loop *ev)
{
    dp_listener_cfg_t in = {.inbound = true}, out = {0}, modify_only = {.drain_modify_only = true};
    dp_drain_reset();
    dp_drain_configure(30, DP_DRAIN_IMMEDIATE);
    CHECK(dp_drain_start(ev, false, true));
    CHECK(dp_drain_draining());
    CHECK(!dp_drain_start(ev, true, true)); /* one sequence at a time */
    CHECK_INT(closes(&in, 100), 100);
    CHECK_INT(closes(&out, 100), 100);
    CHECK_INT(closes(&modify_only, 100), 100); /* the drain sequence takes every listener */

    dp_drain_reset();
    CHECK(!dp_drain_draining());
    CHECK(dp_drain_start(ev, true, true)); /* inboundonly */
    CHECK_INT(closes(&in, 100), 100);
    CHECK_INT(closes(&out, 100), 0);
    dp_drain_reset();
}

/* gradual: the share of closing responses follows elapsed / drain time */
static void test_gradual(struct ev_loop *ev)
{
    dp_listener_cfg_t l = {0};
    dp_drain_reset();
    dp_drain_configure(0.4, DP_DRAIN_GRADUAL);
    uint64_t t0 = dp_now_ms();
    CHECK(dp_drain_start(ev, false, true));
    CHECK(closes(&l, 2000) < 2000 / 4); /* hardly any time gone */
    ev_run_ms(ev, 200);
    uint64_t el = dp_now_ms() - t0;
    int mid = closes(&l, 4000);
    double want = (double)el / 400.0;
    if (!(mid > (want - 0.12) * 4000 && mid < (want + 0.12) * 4000))
        fprintf(stderr, "  gradual: %d of 4000 closed at %llu ms\n", mid, (unsigned long long)el);
    CHECK(mid > (want - 0.12) * 4000 && mid < (want + 0.12) * 4000);
    ev_run_ms(ev, 250); /* past the drain time: every response */
    CHECK_INT(closes(&l, 100), 100);
    dp_drain_reset();
}

static dp_listener_cfg_t *listener(const char *name, uint16_t port, bool inbound)
{
    dp_listener_cfg_t *l = calloc(1, sizeof(*l));
    l->refcnt = 1;
    l->name = strdup(name);
    struct sockaddr_in *a = (struct sockaddr_in *)&l->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    l->addrlen = sizeof(*a);
    snprintf(l->addr_str, sizeof(l->addr_str), "127.0.0.1:%u", port);
    l->inbound = inbound;
    return l;
}

/* Whether something listens on 127.0.0.1:port. */
static bool listening(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    close(fd);
    return ok;
}

/* A free port: bound once, released. */
static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    bind(fd, (struct sockaddr *)&a, sizeof(a));
    getsockname(fd, (struct sockaddr *)&a, &len);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_lset_stop(void)
{
    uint16_t p_in = free_port(), p_out = free_port();
    dp_listener_cfg_t *ls[2] = {listener("in", p_in, true), listener("out", p_out, false)};
    char err[256];
    dp_lset_t *all = dp_lset_build(NULL, ls, 2, 2, DP_LSTOP_NONE, NULL, err, sizeof(err));
    CHECK(all != NULL);
    CHECK(all && all->n == 2 && all->v[0]->n_fds == 2 && all->v[1]->n_fds == 2);
    CHECK(listening(p_in) && listening(p_out));

    /* inbound stopped: its entry stays (same config), without sockets; the
     * other keeps its sockets */
    dp_lset_t *in_stopped = dp_lset_build(all, ls, 2, 2, DP_LSTOP_INBOUND, NULL, err, sizeof(err));
    CHECK(in_stopped && in_stopped->n == 2);
    CHECK(in_stopped && in_stopped->v[0]->cfg == ls[0] && in_stopped->v[0]->n_fds == 0);
    CHECK(in_stopped && in_stopped->v[1]->n_fds == 2);
    dp_lset_unref(all);
    CHECK(!listening(p_in));
    CHECK(listening(p_out));

    dp_lset_t *none = dp_lset_build(in_stopped, ls, 2, 2, DP_LSTOP_ALL, NULL, err, sizeof(err));
    CHECK(none && none->v[0]->n_fds == 0 && none->v[1]->n_fds == 0);
    dp_lset_unref(in_stopped);
    CHECK(!listening(p_out));
    dp_lset_unref(none);
    dp_listener_cfg_unref(ls[0]);
    dp_listener_cfg_unref(ls[1]);
}

int main(void)
{
    struct ev_loop *ev = ev_loop_new(EVFLAG_AUTO);
    test_hc_failed();
    test_immediate(ev);
    test_gradual(ev);
    test_lset_stop();
    ev_loop_destroy(ev);
    TEST_DONE();
}
