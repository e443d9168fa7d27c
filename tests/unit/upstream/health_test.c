/* Active health checks: the state machine (thresholds, first check,
 * immediate failures), interval selection, the translation of
 * Cluster.health_checks, a checker against a real in-process HTTP server
 * (success, unexpected status, refused connection, timeout), and the
 * service that feeds the load balancer's view. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outlier.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "test.h"
#include "xds/pbjson.h"
#include "xds/snapshot.h"
#include "xds/translate.h"
#include "xds/typereg.h"

static dp_hc_cfg_t base_cfg(void)
{
    dp_hc_cfg_t c;
    memset(&c, 0, sizeof(c));
    c.kind = DP_HC_HTTP;
    c.timeout_ms = 100;
    c.interval_ms = 1000;
    c.unhealthy_threshold = 3;
    c.healthy_threshold = 2;
    c.reuse_connection = true;
    c.no_traffic_interval_ms = 60000;
    c.no_traffic_healthy_interval_ms = 60000;
    c.unhealthy_interval_ms = 1000;
    c.unhealthy_edge_interval_ms = 1000;
    c.healthy_edge_interval_ms = 1000;
    return c;
}

static void test_state_machine(void)
{
    dp_hc_cfg_t c = base_cfg();
    dp_hc_state_t st;
    dp_hc_state_init(&st);
    CHECK(st.failed && st.first_check);
    /* the first success decides at once */
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_CHANGED);
    CHECK(!st.failed && !st.first_check);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_UNCHANGED);
    /* network failures: unhealthy only at the threshold (3) */
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_PENDING);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_PENDING);
    CHECK(!st.failed);
    /* a success in between starts the count over */
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_UNCHANGED);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_PENDING);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_PENDING);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_CHANGED);
    CHECK(st.failed);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_UNCHANGED);
    /* back: healthy_threshold (2) successes, not the first-check shortcut */
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_PENDING);
    CHECK(st.failed);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_CHANGED);
    CHECK(!st.failed);
    /* an active failure (the endpoint said no) ignores the threshold */
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_ACTIVE), DP_HC_CHANGED);
    CHECK(st.failed);

    /* a new endpoint whose first check fails stays failed, then needs the threshold */
    dp_hc_state_init(&st);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_FAIL_NETWORK), DP_HC_UNCHANGED);
    CHECK(st.failed && !st.first_check);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_PENDING);
    CHECK_INT(dp_hc_state_apply(&st, &c, DP_HC_SUCCESS), DP_HC_CHANGED);
}

static void test_intervals(void)
{
    dp_hc_cfg_t c = base_cfg();
    c.interval_ms = 1000;
    c.unhealthy_interval_ms = 2000;
    c.unhealthy_edge_interval_ms = 300;
    c.healthy_edge_interval_ms = 400;
    c.no_traffic_interval_ms = 60000;
    c.no_traffic_healthy_interval_ms = 90000;
    CHECK_INT(dp_hc_next_interval_ms(&c, false, false, DP_HC_UNCHANGED, 7), 60000);
    CHECK_INT(dp_hc_next_interval_ms(&c, false, true, DP_HC_UNCHANGED, 7), 90000);
    CHECK_INT(dp_hc_next_interval_ms(&c, false, true, DP_HC_PENDING, 7), 60000);
    CHECK_INT(dp_hc_next_interval_ms(&c, true, true, DP_HC_UNCHANGED, 7), 1000);
    CHECK_INT(dp_hc_next_interval_ms(&c, true, true, DP_HC_PENDING, 7), 400);
    CHECK_INT(dp_hc_next_interval_ms(&c, true, false, DP_HC_PENDING, 7), 300);
    CHECK_INT(dp_hc_next_interval_ms(&c, true, false, DP_HC_CHANGED, 7), 2000);
    c.interval_jitter_ms = 50;
    c.interval_jitter_percent = 10;
    for (uint64_t r = 1; r < 5000000; r = r * 7 + 3) {
        uint64_t v = dp_hc_next_interval_ms(&c, true, true, DP_HC_UNCHANGED, r);
        CHECK(v >= 1000 && v < 1000 + 100 + 50);
    }
    /* expected statuses: 200 only by default */
    CHECK(dp_hc_status_expected(&c, 200));
    CHECK(!dp_hc_status_expected(&c, 204));
    dp_hc_range_t r[2] = {{200, 300}, {404, 405}};
    c.expected = r;
    c.n_expected = 2;
    CHECK(dp_hc_status_expected(&c, 204));
    CHECK(dp_hc_status_expected(&c, 404));
    CHECK(!dp_hc_status_expected(&c, 300));
    CHECK(!dp_hc_status_expected(&c, 503));
}

/* ---- translation -------------------------------------------------------------------- */

static char err[1024];

static dp_cluster_cfg_t *cluster(const char *yaml)
{
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    err[0] = 0;
    if (dp_pbjson_decode_text(yaml, strlen(yaml), &envoy__config__cluster__v3__cluster__descriptor, &o, &m, "t", err,
                              sizeof(err)) != 0)
        return NULL;
    dp_cluster_cfg_t *c = NULL;
    dp_translate_cluster(m, NULL, &c, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    return c;
}

#define CL_HEAD                                                                                              \
    "name: web\nload_assignment:\n  cluster_name: web\n  endpoints:\n  - lb_endpoints:\n"                    \
    "    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }\n"

static void test_translate(void)
{
    dp_cluster_cfg_t *c = cluster("name: a\nhealth_checks:\n- timeout: 1s\n  interval: 0.25s\n"
                                  "  unhealthy_threshold: 2\n  healthy_threshold: 3\n"
                                  "  http_health_check: { path: /healthz, expected_statuses: [{start: 200, end: 300}],"
                                  " request_headers_to_add: [{header: {key: X-Probe, value: yes}}] }\n");
    CHECK(c != NULL);
    if (c == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    CHECK(c->hc != NULL);
    CHECK_INT(c->hc->kind, DP_HC_HTTP);
    CHECK_INT(c->hc->timeout_ms, 1000);
    CHECK_INT(c->hc->interval_ms, 250);
    CHECK_INT(c->hc->unhealthy_threshold, 2);
    CHECK_INT(c->hc->healthy_threshold, 3);
    CHECK_INT(c->hc->no_traffic_interval_ms, 60000); /* Envoy's default */
    CHECK_INT(c->hc->unhealthy_interval_ms, 250);
    CHECK_INT(c->hc->healthy_edge_interval_ms, 250);
    CHECK(c->hc->reuse_connection);
    CHECK_STR(c->hc->path, "/healthz");
    CHECK(c->hc->host == NULL);
    CHECK_STR(c->hc->extra_headers, "x-probe: yes\r\n");
    CHECK_INT(c->hc->n_expected, 1);
    CHECK(c->outlier == NULL);
    dp_cluster_cfg_unref(c);

    c = cluster("name: t\nhealth_checks:\n- timeout: 1s\n  interval: 1s\n  unhealthy_threshold: 1\n"
                "  healthy_threshold: 1\n  tcp_health_check: { send: { text: 50494e47 }, receive: [{ text: 504f4e47 }] }\n");
    CHECK(c && c->hc && c->hc->kind == DP_HC_TCP);
    if (c) {
        CHECK_MEM(c->hc->send.data, c->hc->send.len, "PING");
        CHECK_INT(c->hc->n_receive, 1);
        CHECK_MEM(c->hc->receive[0].data, c->hc->receive[0].len, "PONG");
        dp_cluster_cfg_unref(c);
    }

    /* errors, named by path */
    CHECK(cluster("name: a\nhealth_checks:\n- interval: 1s\n  unhealthy_threshold: 1\n  healthy_threshold: 1\n"
                  "  http_health_check: { path: / }\n") == NULL);
    CHECK(strstr(err, "health_checks[0].timeout: required") != NULL);
    CHECK(cluster("name: a\nhealth_checks:\n- timeout: 1s\n  interval: 1s\n  unhealthy_threshold: 1\n"
                  "  healthy_threshold: 1\n  http_health_check: { path: /, codec_client_type: HTTP2 }\n") == NULL);
    CHECK(strstr(err, "codec_client_type") != NULL);
    CHECK(cluster("name: a\nhealth_checks:\n- timeout: 1s\n  interval: 1s\n  unhealthy_threshold: 1\n"
                  "  healthy_threshold: 1\n  http_health_check: { path: /, expected_statuses: [{start: 200, end: 700}] }\n") == NULL);
    CHECK(strstr(err, "expected_statuses[0]") != NULL);
    CHECK(cluster("name: a\nhealth_checks:\n- timeout: 1s\n  interval: 1s\n  unhealthy_threshold: 1\n"
                  "  healthy_threshold: 1\n") == NULL);
    CHECK(strstr(err, "http_health_check or tcp_health_check") != NULL);

    /* outlier detection: Envoy's defaults, and limits */
    c = cluster("name: o\noutlier_detection: { consecutive_5xx: 3, base_ejection_time: 2s }\n");
    CHECK(c && c->outlier);
    if (c) {
        CHECK_INT(c->outlier->consecutive_5xx, 3);
        CHECK_INT(c->outlier->consecutive_gateway_failure, 5);
        CHECK_INT(c->outlier->enforcing_consecutive_5xx, 100);
        CHECK_INT(c->outlier->enforcing_consecutive_gateway_failure, 0);
        CHECK_INT(c->outlier->interval_ms, 10000);
        CHECK_INT(c->outlier->base_ejection_time_ms, 2000);
        CHECK_INT(c->outlier->max_ejection_time_ms, 300000);
        CHECK_INT(c->outlier->max_ejection_percent, 10);
        CHECK(c->outlier->hc_uneject);
        dp_cluster_cfg_unref(c);
    }
    CHECK(cluster("name: o\noutlier_detection: { max_ejection_percent: 101 }\n") == NULL);
    CHECK(strstr(err, "outlier_detection.max_ejection_percent") != NULL);
    CHECK(cluster("name: o\noutlier_detection: { split_external_local_origin_errors: true }\n") == NULL);
    /* a field we do not implement is refused by name */
    CHECK(cluster("name: o\noutlier_detection: { success_rate_minimum_hosts: 3 }\n") == NULL);
}

/* ---- a checker against a real server on the same loop ------------------------------------- */

static int srv_fd = -1;
static ev_io srv_io;
static const char *srv_reply; /* NULL: never answer */
static char srv_req[2048];
static int srv_conns;
static int client_fds[16];
static int n_client_fds;

static void on_client(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    char buf[2048];
    ssize_t n = read(w->fd, buf, sizeof(buf) - 1);
    if (n <= 0) {
        ev_io_stop(ev, w);
        close(w->fd);
        free(w);
        return;
    }
    buf[n] = 0;
    snprintf(srv_req, sizeof(srv_req), "%s", buf);
    if (srv_reply && write(w->fd, srv_reply, strlen(srv_reply)) < 0)
        perror("write");
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)revents;
    int fd = accept(w->fd, NULL, NULL);
    if (fd < 0)
        return;
    srv_conns++;
    if (n_client_fds < 16)
        client_fds[n_client_fds++] = fd;
    ev_io *c = malloc(sizeof(*c));
    ev_io_init(c, on_client, fd, EV_READ);
    ev_io_start(ev, c);
}

static int listen_any(struct sockaddr_in *sin)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(sin, 0, sizeof(*sin));
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)sin, sizeof(*sin));
    socklen_t l = sizeof(*sin);
    getsockname(fd, (struct sockaddr *)sin, &l);
    listen(fd, 16);
    return fd;
}

static int results[3], attempts, transitions;
static dp_hc_state_t last_state;

static void t_result(void *ctx, dp_hc_result_t r, dp_hc_transition_t t, const dp_hc_state_t *st)
{
    (void)ctx;
    results[r]++;
    transitions += t == DP_HC_CHANGED;
    last_state = *st;
    ev_break(dp_loop_of(EV_DEFAULT)->ev, EVBREAK_ONE);
}

static void t_attempt(void *ctx)
{
    (void)ctx;
    attempts++;
}

static bool t_traffic(void *ctx)
{
    (void)ctx;
    return true;
}

static const dp_hc_env_t tenv = {.on_result = t_result, .on_attempt = t_attempt, .had_traffic = t_traffic};

static void on_guard(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)t;
    (void)revents;
    fprintf(stderr, "no result within 3 s\n");
    ev_break(ev, EVBREAK_ONE);
}

static void run_until_result(struct ev_loop *ev)
{
    ev_timer guard;
    ev_timer_init(&guard, on_guard, 3.0, 0);
    ev_timer_start(ev, &guard);
    ev_run(ev, 0);
    ev_timer_stop(ev, &guard);
}

static void test_checker(dp_loop_t *loop)
{
    struct sockaddr_in sin;
    srv_fd = listen_any(&sin);
    ev_io_init(&srv_io, on_accept, srv_fd, EV_READ);
    ev_io_start(loop->ev, &srv_io);

    dp_hc_cfg_t c = base_cfg();
    c.path = "/healthz";
    c.interval_ms = 20;
    c.unhealthy_interval_ms = c.unhealthy_edge_interval_ms = c.healthy_edge_interval_ms = 20;
    c.timeout_ms = 150;
    c.unhealthy_threshold = 2;
    srv_reply = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
    dp_hc_state_t st;
    dp_hc_state_init(&st);
    dp_hc_checker_t *k = dp_hc_checker_new(loop, &c, "web", (struct sockaddr *)&sin, sizeof(sin), &st, &tenv, NULL);
    run_until_result(loop->ev);
    CHECK_INT(results[DP_HC_SUCCESS], 1);
    CHECK_INT(attempts, 1);
    CHECK(!last_state.failed);
    CHECK(strstr(srv_req, "GET /healthz HTTP/1.1\r\n") == srv_req);
    CHECK(strstr(srv_req, "host: web\r\n") != NULL);
    CHECK(strstr(srv_req, "user-agent: Envoy/HC\r\n") != NULL);
    /* the next check reuses the connection */
    run_until_result(loop->ev);
    CHECK_INT(results[DP_HC_SUCCESS], 2);
    CHECK_INT(srv_conns, 1);

    /* an unexpected status fails at once */
    srv_reply = "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n";
    run_until_result(loop->ev);
    CHECK_INT(results[DP_HC_FAIL_ACTIVE], 1);
    CHECK(last_state.failed);

    /* no answer: the timeout is a network failure */
    srv_reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    run_until_result(loop->ev); /* healthy again needs 2 successes */
    run_until_result(loop->ev);
    CHECK(!last_state.failed);
    srv_reply = NULL;
    uint64_t t0 = dp_now_ms();
    run_until_result(loop->ev);
    CHECK_INT(results[DP_HC_FAIL_NETWORK], 1);
    CHECK(dp_now_ms() - t0 >= 140);
    CHECK(!last_state.failed); /* below unhealthy_threshold */
    dp_hc_checker_free(k);

    /* refused: a network failure */
    ev_io_stop(loop->ev, &srv_io);
    close(srv_fd);
    for (int i = 0; i < n_client_fds; i++)
        shutdown(client_fds[i], SHUT_RDWR);
    dp_hc_state_init(&st);
    st.failed = false;
    st.first_check = false;
    c.unhealthy_threshold = 1;
    k = dp_hc_checker_new(loop, &c, "web", (struct sockaddr *)&sin, sizeof(sin), &st, &tenv, NULL);
    run_until_result(loop->ev);
    CHECK_INT(results[DP_HC_FAIL_NETWORK], 2);
    CHECK(last_state.failed);
    CHECK_INT(transitions >= 1, 1);
    dp_hc_checker_free(k);
}

/* ---- the service: snapshot -> views -> usable ------------------------------------------- */

static void spin(struct ev_loop *ev, double secs)
{
    uint64_t until = dp_now_ms() + (uint64_t)(secs * 1000);
    while (dp_now_ms() < until)
        ev_run(ev, EVRUN_NOWAIT);
}

static void test_service(dp_loop_t *loop)
{
    struct sockaddr_in sin;
    srv_fd = listen_any(&sin);
    ev_io_init(&srv_io, on_accept, srv_fd, EV_READ);
    ev_io_start(loop->ev, &srv_io);
    srv_reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    int dead_port = 1; /* refused */

    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             CL_HEAD "    - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: %d } } }\n"
                     "health_checks:\n- timeout: 0.2s\n  interval: 0.05s\n  no_traffic_interval: 0.05s\n"
                     "  unhealthy_threshold: 1\n  healthy_threshold: 1\n  http_health_check: { path: / }\n",
             ntohs(sin.sin_port), dead_port);
    dp_cluster_cfg_t *c = cluster(yaml);
    CHECK(c != NULL);
    if (c == NULL) {
        fprintf(stderr, "  %s\n", err);
        return;
    }
    /* before the health thread saw them: pending, not usable */
    CHECK(!dp_health_usable(c, &c->endpoints[0]));
    CHECK(!dp_health_all_eds(c));
    CHECK_INT(dp_health_flags(c, &c->endpoints[0]), DP_HF_FAILED_ACTIVE_HC | DP_HF_PENDING_ACTIVE_HC);

    dp_snapshot_t *snap = dp_snapshot_new();
    snap->clusters = calloc(1, sizeof(*snap->clusters));
    snap->clusters[0] = c;
    snap->n_clusters = 1;
    dp_snapshot_seal(snap);
    dp_health_sync(snap);
    spin(loop->ev, 0.3);
    CHECK(dp_health_usable(c, &c->endpoints[0]));
    CHECK(!dp_health_usable(c, &c->endpoints[1]));
    CHECK_INT(dp_health_flags(c, &c->endpoints[0]), 0);
    CHECK_INT(dp_health_flags(c, &c->endpoints[1]), DP_HF_FAILED_ACTIVE_HC);
    char buf[128];
    CHECK_STR(dp_health_flags_str(DP_HF_FAILED_ACTIVE_HC | DP_HF_FAILED_OUTLIER_CHECK, false, buf, sizeof(buf)),
              "/failed_active_hc/failed_outlier_check/failed_eds_health");
    CHECK_STR(dp_health_flags_str(0, true, buf, sizeof(buf)), "healthy");
    CHECK_INT(dp_stat_get(c->rt->membership_healthy), 1);
    CHECK(dp_stat_get(&c->rt->hc_stats->stats[0]) >= 2); /* attempt */

    /* the server says 503: the endpoint goes */
    srv_reply = "HTTP/1.1 503 x\r\ncontent-length: 0\r\n\r\n";
    spin(loop->ev, 0.3);
    CHECK(!dp_health_usable(c, &c->endpoints[0]));
    CHECK_INT(dp_stat_get(c->rt->membership_healthy), 0);

    /* a new config of the same cluster: the state carries over */
    dp_cluster_cfg_t *c2 = cluster(yaml);
    dp_snapshot_t *snap2 = dp_snapshot_new();
    snap2->clusters = calloc(1, sizeof(*snap2->clusters));
    snap2->clusters[0] = c2;
    snap2->n_clusters = 1;
    dp_snapshot_seal(snap2);
    dp_health_sync(snap2);
    CHECK(!dp_health_usable(c2, &c2->endpoints[0]));
    srv_reply = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
    spin(loop->ev, 0.3);
    CHECK(dp_health_usable(c2, &c2->endpoints[0]));
    CHECK(dp_health_usable(c, &c->endpoints[0])); /* the old config finds it by address */
    dp_health_sync(NULL);
    dp_snapshot_unref(snap);
    dp_snapshot_unref(snap2);
    ev_io_stop(loop->ev, &srv_io);
    close(srv_fd);
}

int main(void)
{
    static dp_loop_t loop;
    dp_loop_init(&loop, EV_DEFAULT, NULL);
    /* the service on this loop: translating a health-checked cluster then
     * starts no thread */
    dp_health_attach(&loop);
    test_state_machine();
    test_intervals();
    test_translate();
    test_checker(&loop);
    test_service(&loop);
    dp_health_detach();
    dp_loop_dispose(&loop);
    TEST_DONE();
}
