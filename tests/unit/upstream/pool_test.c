/* Upstream pools (dataplane/upstream/pool.c) over real loopback TCP
 * connections to in-process servers (HTTP/2 on nghttp2, a minimal
 * HTTP/1.1 one): HTTP/2 multiplexing and its stream cap, HTTP/1.1
 * keep-alive, circuit breakers (max_requests, max_pending,
 * max_connections), idle timeout, max_requests_per_connection, GOAWAY,
 * connect failures. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dataplane/core/loop.h"
#include "dataplane/server/worker.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/pool.h"
#include "http2/h2_test_server.h"
#include "ev_run.h"
#include "test.h"

static struct ev_loop *ev;
static dp_worker_t worker;

/* --- servers -------------------------------------------------------------- */

#define MAX_SRV 16

typedef struct listener {
    int fd;
    ev_io io;
    bool h2;
    uint32_t max_streams; /* h2 SETTINGS_MAX_CONCURRENT_STREAMS, 0 none */
    int accepted;
    srv_t *h2s[MAX_SRV];
    /* h1 */
    int h1fd[MAX_SRV];
    ev_io h1io[MAX_SRV];
    int h1_requests;
    struct sockaddr_in addr;
} listener_t;

static void h1_on_read(struct ev_loop *l, ev_io *w, int revents)
{
    (void)revents;
    listener_t *ls = w->data;
    char buf[8192];
    ssize_t n = read(w->fd, buf, sizeof(buf));
    if (n <= 0) {
        ev_io_stop(l, w);
        close(w->fd);
        return;
    }
    /* one response per request head (the tests send no bodies) */
    for (ssize_t i = 0; i + 3 < n; i++)
        if (memcmp(buf + i, "\r\n\r\n", 4) == 0) {
            ls->h1_requests++;
            static const char resp[] = "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
            if (write(w->fd, resp, sizeof(resp) - 1) < 0)
                break;
        }
}

static void on_accept(struct ev_loop *l, ev_io *w, int revents)
{
    (void)revents;
    listener_t *ls = w->data;
    int fd = accept(ls->fd, NULL, NULL);
    if (fd < 0)
        return;
    if (ls->accepted >= MAX_SRV) {
        close(fd);
        return;
    }
    int i = ls->accepted++;
    if (ls->h2) {
        ls->h2s[i] = calloc(1, sizeof(srv_t));
        srv_init(ls->h2s[i], l, fd, ls->max_streams, false);
    } else {
        ls->h1fd[i] = fd;
        ev_io_init(&ls->h1io[i], h1_on_read, fd, EV_READ);
        ls->h1io[i].data = ls;
        ev_io_start(l, &ls->h1io[i]);
    }
}

static void listener_open(listener_t *ls, bool h2, uint32_t max_streams)
{
    memset(ls, 0, sizeof(*ls));
    ls->h2 = h2;
    ls->max_streams = max_streams;
    ls->fd = socket(AF_INET, SOCK_STREAM, 0);
    ls->addr.sin_family = AF_INET;
    ls->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(ls->fd, (struct sockaddr *)&ls->addr, sizeof(ls->addr));
    socklen_t l = sizeof(ls->addr);
    getsockname(ls->fd, (struct sockaddr *)&ls->addr, &l);
    listen(ls->fd, 64);
    ev_io_init(&ls->io, on_accept, ls->fd, EV_READ);
    ls->io.data = ls;
    ev_io_start(ev, &ls->io);
}

static void listener_close(listener_t *ls)
{
    ev_io_stop(ev, &ls->io);
    close(ls->fd);
    for (int i = 0; i < ls->accepted; i++) {
        if (ls->h2) {
            srv_free(ls->h2s[i]);
            free(ls->h2s[i]);
        } else {
            ev_io_stop(ev, &ls->h1io[i]);
            close(ls->h1fd[i]);
        }
    }
}

/* --- loop ----------------------------------------------------------------- */

/* --- requests ------------------------------------------------------------------ */

typedef struct req {
    dp_pool_waiter_t waiter;
    dp_pool_t *pool;
    dp_upconn_t *conn;
    dp_upstream_stream_t *st;
    const char *path;
    int status, err;
    bool done, failed, released;
    bool release_when_done;
} req_t;

static void q_head(void *ctx, int status, dp_headers_t *h, int64_t cl, bool end)
{
    (void)h;
    (void)cl;
    req_t *q = ctx;
    q->status = status;
    if (end)
        q->done = true;
}

static void q_release(req_t *q)
{
    if (q->released)
        return;
    q->released = true;
    bool clean = q->st ? dp_upstream_detach(q->st) : false;
    dp_pool_release(q->pool, q->st ? q->conn : NULL, clean);
}

static void q_body(void *ctx, const char *d, size_t n, bool end)
{
    (void)d;
    (void)n;
    req_t *q = ctx;
    if (end) {
        q->done = true;
        if (q->release_when_done)
            q_release(q);
    }
}

static void q_trailers(void *ctx, dp_headers_t *h)
{
    (void)h;
    req_t *q = ctx;
    q->done = true;
    if (q->release_when_done)
        q_release(q);
}

static void q_error(void *ctx, dp_upstream_reset_t r, bool got, const char *detail)
{
    (void)r;
    (void)got;
    (void)detail;
    ((req_t *)ctx)->failed = true;
}

static const dp_upstream_cbs_t q_cbs = {q_head, q_body, q_trailers, q_error, NULL};

static void q_bind(req_t *q, dp_upconn_t *c)
{
    q->conn = c;
    q->st = c->ops->bind(c, &q_cbs, q);
    dp_upstream_head_t head = {.method = DP_SLICE_LIT("GET"),
                               .authority = DP_SLICE_LIT("t"),
                               .path = dp_slice_cstr(q->path),
                               .end_stream = true};
    dp_upstream_send_head(q->st, &head);
}

static void q_on_conn(dp_pool_waiter_t *w, dp_upconn_t *c, int err, const char *detail)
{
    (void)detail;
    req_t *q = (req_t *)w;
    if (c == NULL) {
        q->failed = true;
        q->err = err;
        return;
    }
    q_bind(q, c);
}

static dp_pool_result_t q_start(req_t *q, dp_pool_t *p, const dp_cluster_cfg_t *cfg, const char *path)
{
    memset(q, 0, sizeof(*q));
    q->pool = p;
    q->path = path;
    q->waiter.on_conn = q_on_conn;
    dp_upconn_t *c = NULL;
    dp_pool_result_t r = dp_pool_claim(p, cfg, &q->waiter, &c);
    if (r == DP_POOL_READY)
        q_bind(q, c);
    return r;
}

static bool wait_all(req_t *q, int n)
{
    for (int k = 0; k < 1000; k++) {
        bool all = true;
        for (int i = 0; i < n; i++)
            all = all && (q[i].done || q[i].failed);
        if (all)
            return true;
        ev_run_ms(ev, 5);
    }
    return false;
}

/* --- clusters ----------------------------------------------------------------- */

static dp_endpoint_t ep_of(const listener_t *ls)
{
    dp_endpoint_t e = {0};
    memcpy(&e.addr, &ls->addr, sizeof(ls->addr));
    e.addrlen = sizeof(ls->addr);
    e.weight = 1;
    e.healthy = true;
    return e;
}

static void cluster_init(dp_cluster_cfg_t *c, const char *name, dp_upstream_proto_t proto)
{
    memset(c, 0, sizeof(*c));
    c->name = (char *)name;
    c->rt = dp_cluster_rt_get(name);
    c->connect_timeout_ms = 1000;
    c->per_connection_buffer_limit_bytes = 1024 * 1024;
    c->max_connections = c->max_pending_requests = c->max_requests = 1024;
    c->proto = proto;
    dp_h2_options_default(&c->h2);
}

static int64_t statv(dp_stat_t *s)
{
    return dp_stat_get(s);
}

static int64_t named(const char *cluster, const char *suffix)
{
    char n[256];
    snprintf(n, sizeof(n), "cluster.%s.%s", cluster, suffix);
    return dp_stat_get(dp_stats_counter(n));
}

/* --- tests --------------------------------------------------------------------- */

static void test_h2_multiplexing(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2mux", DP_UPSTREAM_HTTP2);
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, dp_pool_proto_for(&cfg, 11));
    req_t q[3];
    for (int i = 0; i < 3; i++)
        CHECK_INT(q_start(&q[i], p, &cfg, "/hello"), DP_POOL_WAIT);
    CHECK_INT(dp_pool_connections(p), 1); /* one connect serves all three */
    CHECK(wait_all(q, 3));
    for (int i = 0; i < 3; i++) {
        CHECK(q[i].done);
        CHECK_INT(q[i].status, 200);
        CHECK(q[i].conn == q[0].conn);
    }
    CHECK_INT(ls.accepted, 1);
    CHECK_INT(statv(cfg.rt->rq_active_g), 3);
    for (int i = 0; i < 3; i++)
        q_release(&q[i]);
    CHECK_INT(statv(cfg.rt->rq_active_g), 0);
    /* the idle connection carries the next one at once */
    req_t r;
    CHECK_INT(q_start(&r, p, &cfg, "/hello"), DP_POOL_READY);
    CHECK(wait_all(&r, 1));
    q_release(&r);
    CHECK_INT(statv(cfg.rt->cx_total), 1);
    CHECK_INT(named("h2mux", "upstream_cx_http2_total"), 1);
    CHECK_INT(ls.h2s[0]->n_streams, 4);
    listener_close(&ls);
    EV_RUN_UNTIL(ev, statv(cfg.rt->cx_active_g) == 0, 5000);
    CHECK_INT(statv(cfg.rt->cx_active_g), 0); /* the server went away: closed */
}

static void test_h2_stream_cap(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2cap", DP_UPSTREAM_HTTP2);
    cfg.h2.max_concurrent_streams = 1;
    cfg.max_connections = 2;
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, DP_UPSTREAM_HTTP2);
    req_t q[3];
    for (int i = 0; i < 3; i++)
        q_start(&q[i], p, &cfg, "/slow");
    EV_RUN_UNTIL(
        ev, ls.accepted == 2 && q[0].conn && q[1].conn && ls.h2s[0]->n_streams + ls.h2s[1]->n_streams == 2,
        5000);
    ev_run_ms(ev, 50);
    CHECK_INT(ls.accepted, 2); /* two connections of one stream each, the third request waits */
    CHECK(q[0].conn && q[1].conn && q[0].conn != q[1].conn);
    CHECK(q[2].conn == NULL);
    CHECK_INT(statv(cfg.rt->rq_pending_active_g), 1);
    srv_respond(ls.h2s[0], 1);
    srv_respond(ls.h2s[1], 1);
    CHECK(wait_all(q, 2));
    q_release(&q[0]); /* frees a slot: the waiter gets it */
    CHECK(q[2].conn == q[0].conn);
    CHECK_INT(statv(cfg.rt->rq_pending_active_g), 0);
    q_release(&q[1]);
    ev_run_ms(ev, 50);
    srv_respond(ls.h2s[0], 3); /* stream 3 is on one of them */
    srv_respond(ls.h2s[1], 3);
    CHECK(wait_all(&q[2], 1));
    CHECK(q[2].done);
    q_release(&q[2]);
    listener_close(&ls);
    ev_run_ms(ev, 50);
}

static void test_circuit_breakers(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2cb", DP_UPSTREAM_HTTP2);
    cfg.max_requests = 2;
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, DP_UPSTREAM_HTTP2);
    req_t q[3];
    CHECK_INT(q_start(&q[0], p, &cfg, "/hello"), DP_POOL_WAIT);
    CHECK_INT(q_start(&q[1], p, &cfg, "/hello"), DP_POOL_WAIT);
    CHECK_INT(q_start(&q[2], p, &cfg, "/hello"), DP_POOL_OVERFLOW); /* max_requests counts streams */
    CHECK_INT(statv(cfg.rt->rq_pending_overflow), 1);
    CHECK(wait_all(q, 2));
    q_release(&q[0]);
    q_release(&q[1]);

    /* max_pending: one connection allowed, one waiting request allowed */
    dp_cluster_cfg_t c2;
    cluster_init(&c2, "h2pend", DP_UPSTREAM_HTTP2);
    c2.max_connections = 1;
    c2.max_pending_requests = 1;
    dp_pool_t *p2 = dp_pool_for(&worker, &c2, &e, DP_UPSTREAM_HTTP2);
    CHECK_INT(q_start(&q[0], p2, &c2, "/hello"), DP_POOL_WAIT);
    CHECK_INT(q_start(&q[1], p2, &c2, "/hello"), DP_POOL_OVERFLOW);
    CHECK_INT(statv(c2.rt->cx_overflow), 1);
    CHECK(wait_all(q, 1));
    /* once connected, streams multiplex without waiting */
    CHECK_INT(q_start(&q[1], p2, &c2, "/hello"), DP_POOL_READY);
    CHECK(wait_all(&q[1], 1));
    q_release(&q[0]);
    q_release(&q[1]);
    listener_close(&ls);
    ev_run_ms(ev, 50);
}

static void test_idle_timeout(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2idle", DP_UPSTREAM_HTTP2);
    cfg.idle_timeout_ms = 300;
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, DP_UPSTREAM_HTTP2);
    req_t q;
    q_start(&q, p, &cfg, "/hello");
    CHECK(wait_all(&q, 1));
    q_release(&q);
    CHECK_INT(statv(cfg.rt->cx_active_g), 1);
    ev_run_ms(ev, 50);
    CHECK_INT(statv(cfg.rt->cx_active_g), 1); /* not yet */
    EV_RUN_UNTIL(ev, statv(cfg.rt->cx_active_g) == 0, 5000);
    CHECK_INT(statv(cfg.rt->cx_active_g), 0);
    CHECK_INT(named("h2idle", "upstream_cx_idle_timeout"), 1);
    CHECK_INT(dp_pool_connections(p), 0);
    listener_close(&ls);
    ev_run_ms(ev, 20);
}

static void test_h1_reuse_and_max_requests(void)
{
    listener_t ls;
    listener_open(&ls, false, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h1pool", DP_UPSTREAM_HTTP1);
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, dp_pool_proto_for(&cfg, 20));
    req_t q;
    for (int i = 0; i < 3; i++) {
        dp_pool_result_t r = q_start(&q, p, &cfg, "/");
        CHECK_INT(r, i == 0 ? DP_POOL_WAIT : DP_POOL_READY); /* keep-alive */
        CHECK(wait_all(&q, 1));
        CHECK_INT(q.status, 200);
        q_release(&q);
    }
    CHECK_INT(ls.accepted, 1);
    CHECK_INT(named("h1pool", "upstream_cx_http1_total"), 1);

    /* max_requests_per_connection 2: the third request needs a new connection */
    dp_cluster_cfg_t c2;
    cluster_init(&c2, "h1maxrq", DP_UPSTREAM_HTTP1);
    c2.max_requests_per_connection = 2;
    dp_pool_t *p2 = dp_pool_for(&worker, &c2, &e, DP_UPSTREAM_HTTP1);
    for (int i = 0; i < 3; i++) {
        q_start(&q, p2, &c2, "/");
        CHECK(wait_all(&q, 1));
        q_release(&q);
    }
    CHECK_INT(statv(c2.rt->cx_total), 2);
    CHECK_INT(named("h1maxrq", "upstream_cx_max_requests"), 1);
    ev_run_ms(ev, 20);
    listener_close(&ls);
    ev_run_ms(ev, 50);
}

static void test_goaway_new_connection(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2goaway", DP_UPSTREAM_HTTP2);
    dp_endpoint_t e = ep_of(&ls);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, DP_UPSTREAM_HTTP2);
    req_t q;
    q_start(&q, p, &cfg, "/hello");
    CHECK(wait_all(&q, 1));
    q_release(&q);
    nghttp2_submit_goaway(ls.h2s[0]->ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
    srv_flush(ls.h2s[0]);
    EV_RUN_UNTIL(ev, statv(cfg.rt->cx_active_g) == 0, 5000);
    CHECK_INT(statv(cfg.rt->cx_active_g), 0); /* idle and told to go: closed */
    CHECK_INT(q_start(&q, p, &cfg, "/hello"), DP_POOL_WAIT);
    CHECK(wait_all(&q, 1));
    CHECK(q.done);
    q_release(&q);
    CHECK_INT(ls.accepted, 2);
    listener_close(&ls);
    ev_run_ms(ev, 50);
}

static void test_connect_failure(void)
{
    listener_t ls;
    listener_open(&ls, true, 0);
    dp_endpoint_t e = ep_of(&ls);
    listener_close(&ls); /* nobody listens there any more */
    dp_cluster_cfg_t cfg;
    cluster_init(&cfg, "h2fail", DP_UPSTREAM_HTTP2);
    dp_pool_t *p = dp_pool_for(&worker, &cfg, &e, DP_UPSTREAM_HTTP2);
    req_t q[3];
    for (int i = 0; i < 3; i++)
        q_start(&q[i], p, &cfg, "/hello");
    CHECK(wait_all(q, 3));
    for (int i = 0; i < 3; i++) {
        CHECK(q[i].failed); /* one connect failed: every request it was to carry fails */
        CHECK_INT(q[i].err, DP_ECLOSED);
        dp_pool_release(p, NULL, false);
    }
    CHECK_INT(statv(cfg.rt->cx_connect_fail), 1);
    CHECK_INT(statv(cfg.rt->cx_active_g), 0);
    CHECK_INT(statv(cfg.rt->rq_active_g), 0);
}

int main(void)
{
    ev = ev_loop_new(EVFLAG_AUTO);
    dp_loop_init(&worker.loop, ev, &worker);
    worker.pools = dp_pool_table_new(&worker);
    test_h2_multiplexing();
    test_h2_stream_cap();
    test_circuit_breakers();
    test_idle_timeout();
    test_h1_reuse_and_max_requests();
    test_goaway_new_connection();
    test_connect_failure();
    dp_pool_table_free(worker.pools);
    dp_loop_dispose(&worker.loop);
    ev_loop_destroy(ev);
    dp_buf_cache_release();
    TEST_DONE();
}
