/* The HTTP/2 upstream client (dataplane/http2/client.c) against an
 * in-process nghttp2 server session over a socketpair: requests and
 * responses with bodies and trailers both ways, multiplexing, RST_STREAM,
 * GOAWAY, SETTINGS, flow control and backpressure, connection loss. */
#include <sys/socket.h>

#include "dataplane/core/loop.h"
#include "dataplane/http/stream.h"
#include "dataplane/http2/client.h"
#include "dataplane/transport/sock.h"
#include "http2/h2_test_server.h"
#include "ev_run.h"
#include "test.h"

/* --- a recording "router" ---------------------------------------------- */

typedef struct rec {
    dp_upstream_stream_t *st;
    int status;
    char headers[1024], trailers[512];
    int64_t content_length;
    dp_buf_t body;
    bool head, ended, errored, got_bytes;
    dp_upstream_reset_t reason;
    int drains;
    bool pause_on_body; /* pause after the first body bytes */
    int n_body_calls;
} rec_t;

static void lines(char *dst, size_t cap, const dp_headers_t *h)
{
    size_t l = strlen(dst);
    for (size_t i = 0; i < h->n; i++) {
        int w = snprintf(dst + l, cap - l, "%.*s: %.*s\n", (int)h->v[i].name.len, h->v[i].name.base,
                         (int)h->v[i].value.len, h->v[i].value.base);
        if (w < 0 || (size_t)w >= cap - l)
            return;
        l += (size_t)w;
    }
}

static void r_head(void *ctx, int status, dp_headers_t *h, int64_t cl, bool end)
{
    rec_t *r = ctx;
    r->head = true;
    r->status = status;
    r->content_length = cl;
    lines(r->headers, sizeof(r->headers), h);
    if (end)
        r->ended = true;
}

static void r_body(void *ctx, const char *data, size_t len, bool end)
{
    rec_t *r = ctx;
    r->n_body_calls++;
    dp_buf_append(&r->body, data, len);
    if (end)
        r->ended = true;
    if (r->pause_on_body && len > 0) {
        r->pause_on_body = false;
        dp_upstream_read(r->st, false);
    }
}

static void r_trailers(void *ctx, dp_headers_t *h)
{
    rec_t *r = ctx;
    lines(r->trailers, sizeof(r->trailers), h);
    r->ended = true;
}

static void r_error(void *ctx, dp_upstream_reset_t reason, bool got_bytes, const char *detail)
{
    (void)detail;
    rec_t *r = ctx;
    r->errored = true;
    r->reason = reason;
    r->got_bytes = got_bytes;
}

static void r_drain(void *ctx)
{
    ((rec_t *)ctx)->drains++;
}

static const dp_upstream_cbs_t rec_cbs = {r_head, r_body, r_trailers, r_error, r_drain};

/* --- harness ---------------------------------------------------------------- */

static struct ev_loop *ev;
static dp_loop_t loop;
static int events[3];

static void on_event(dp_upconn_t *c, dp_upconn_event_t e)
{
    (void)c;
    events[e]++;
}

/* Runs the loop until *flag or 5 s. */
static bool run_until(const bool *flag)
{
    EV_RUN_UNTIL(ev, *flag, 5000);
    return *flag;
}

typedef struct fixture {
    srv_t srv;
    dp_upconn_t *c;
} fixture_t;

static void fx_open(fixture_t *f, uint32_t srv_max_streams, bool manual_consume, const dp_h2_client_opts_t *o)
{
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    srv_init(&f->srv, ev, fds[1], srv_max_streams, manual_consume);
    dp_sock_t *sock = dp_sock_new(&loop, fds[0], &dp_transport_raw);
    dp_h2_client_opts_t def = {.window_limit = 0};
    dp_h2_options_default(&def.h2);
    f->c = dp_h2_client_attach(sock, o ? o : &def);
    f->c->on_event = on_event;
    memset(events, 0, sizeof(events));
}

static void fx_close(fixture_t *f)
{
    if (!f->c->closed)
        f->c->ops->close(f->c);
    srv_free(&f->srv);
    ev_run_ms(ev, 20);
}

static dp_upstream_stream_t *start(fixture_t *f, rec_t *r, const char *method, const char *path,
                                   const dp_headers_t *h, int64_t cl, bool end)
{
    memset(r, 0, sizeof(*r));
    r->st = f->c->ops->bind(f->c, &rec_cbs, r);
    dp_upstream_head_t head = {
        .method = dp_slice_cstr(method),
        .authority = DP_SLICE_LIT("example.com"),
        .path = dp_slice_cstr(path),
        .headers = h,
        .content_length = cl,
        .end_stream = end,
    };
    dp_upstream_send_head(r->st, &head);
    return r->st;
}

static void rec_free(rec_t *r)
{
    dp_buf_free(&r->body);
}

/* --- tests -------------------------------------------------------------------- */

static void test_get_with_trailers(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    dp_headers_t h = {0};
    dp_headers_add(&h, DP_SLICE_LIT("x-req"), DP_SLICE_LIT("a"));
    dp_headers_add(&h, DP_SLICE_LIT("connection"), DP_SLICE_LIT("keep-alive")); /* never sent on h2 */
    dp_headers_add(&h, DP_SLICE_LIT("te"), DP_SLICE_LIT("trailers"));
    rec_t r;
    start(&f, &r, "GET", "/hello", &h, 0, true);
    dp_headers_free(&h);
    CHECK(run_until(&r.ended));
    CHECK_INT(r.status, 200);
    CHECK(strstr(r.headers, "x-test: 1\n") != NULL);
    CHECK_MEM(dp_buf_data(&r.body), r.body.len, "hello world");
    CHECK_STR(r.trailers, "grpc-status: 0\ngrpc-message: ok\n");
    CHECK(!r.errored);
    srv_stream_t *ss = f.srv.streams;
    CHECK(ss != NULL);
    if (ss) {
        CHECK_STR(ss->method, "GET");
        CHECK_STR(ss->scheme, "http");
        CHECK_STR(ss->authority, "example.com");
        CHECK_STR(ss->headers, "x-req: a\nte: trailers\n");
    }
    CHECK(dp_upstream_detach(r.st)); /* connection still fine */
    /* no limit announced: the cluster's default cap (Envoy's 2^31 - 1) */
    CHECK_INT(f.c->ops->max_streams(f.c), 2147483647);
    CHECK_INT(events[DP_UPCONN_EV_CAPACITY], 1); /* the server's SETTINGS */
    rec_free(&r);
    fx_close(&f);
    CHECK_INT(events[DP_UPCONN_EV_CLOSED], 1);
}

static void test_post_body_and_trailers(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t r;
    start(&f, &r, "POST", "/echo", NULL, -1, false);
    dp_upstream_send_body(r.st, "abc", 3, false);
    ev_run_ms(ev, 20);
    dp_upstream_send_body(r.st, "def", 3, false);
    dp_headers_t t = {0};
    dp_headers_add(&t, DP_SLICE_LIT("x-trailer"), DP_SLICE_LIT("t1"));
    dp_upstream_send_trailers(r.st, &t);
    dp_headers_free(&t);
    CHECK(run_until(&r.ended));
    CHECK_INT(r.status, 200);
    CHECK_MEM(dp_buf_data(&r.body), r.body.len, "abcdef");
    CHECK(strstr(r.headers, "x-seen-trailer: t1\n") != NULL);
    srv_stream_t *ss = f.srv.streams;
    if (ss) {
        CHECK_STR(ss->trailers, "x-trailer: t1\n");
        CHECK_MEM(dp_buf_data(&ss->body), ss->body.len, "abcdef");
    }
    dp_upstream_detach(r.st);
    rec_free(&r);

    /* a known length goes as content-length */
    start(&f, &r, "PUT", "/echo", NULL, 5, false);
    dp_upstream_send_body(r.st, "12345", 5, true);
    CHECK(run_until(&r.ended));
    CHECK_MEM(dp_buf_data(&r.body), r.body.len, "12345");
    CHECK(f.srv.streams && strstr(f.srv.streams->headers, "content-length: 5\n") != NULL);
    dp_upstream_detach(r.st);
    rec_free(&r);
    fx_close(&f);
}

static void test_multiplexing(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t r[3];
    const char *bodies[3] = {"one", "two!", "three"};
    for (int i = 0; i < 3; i++)
        start(&f, &r[i], "POST", "/echo", NULL, -1, false);
    /* bodies interleaved, ends in reverse order */
    for (int i = 2; i >= 0; i--)
        dp_upstream_send_body(r[i].st, bodies[i], strlen(bodies[i]), true);
    bool all = false;
    ev_now_update(ev);
    for (int k = 0; k < 500 && !all; k++) {
        ev_run_ms(ev, 5);
        all = r[0].ended && r[1].ended && r[2].ended;
    }
    CHECK(all);
    for (int i = 0; i < 3; i++) {
        CHECK_MEM(dp_buf_data(&r[i].body), r[i].body.len, bodies[i]);
        dp_upstream_detach(r[i].st);
        rec_free(&r[i]);
    }
    CHECK_INT(f.srv.n_streams, 3); /* three streams, one connection */
    CHECK_INT(f.srv.last_id, 5);
    fx_close(&f);
}

static void test_rst_before_headers(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t r;
    start(&f, &r, "GET", "/rst", NULL, 0, true);
    CHECK(run_until(&r.errored));
    CHECK_INT(r.reason, DP_UPSTREAM_RESET_REMOTE);
    CHECK(!r.head);
    CHECK(!r.got_bytes);
    CHECK(dp_upstream_detach(r.st)); /* the connection survives a stream reset */
    rec_free(&r);
    /* and carries the next request */
    start(&f, &r, "GET", "/hello", NULL, 0, true);
    CHECK(run_until(&r.ended));
    CHECK_INT(r.status, 200);
    dp_upstream_detach(r.st);
    rec_free(&r);
    /* trailers-only response (gRPC error): head with end_stream */
    start(&f, &r, "POST", "/grpc", NULL, 0, true);
    CHECK(run_until(&r.ended));
    CHECK(strstr(r.headers, "grpc-status: 12\n") != NULL);
    CHECK_INT(r.n_body_calls, 0);
    dp_upstream_detach(r.st);
    rec_free(&r);
    fx_close(&f);
}

static void test_flow_control(void)
{
    fixture_t f;
    dp_h2_client_opts_t o = {.window_limit = 128 * 1024};
    dp_h2_options_default(&o.h2);
    CHECK_INT(dp_h2_client_stream_window(&o), 128 * 1024);
    fx_open(&f, 0, false, &o);
    rec_t r;
    start(&f, &r, "GET", "/big", NULL, 0, true);
    r.pause_on_body = true;
    ev_run_ms(ev, 300);
    /* paused: the server could send one stream window at most */
    CHECK(r.head);
    CHECK(!r.ended);
    CHECK(f.srv.data_sent <= 128 * 1024);
    CHECK(f.srv.data_sent >= 64 * 1024);
    size_t held = r.body.len;
    ev_run_ms(ev, 100);
    CHECK_INT(r.body.len, held); /* nothing delivered while paused */
    dp_upstream_read(r.st, true);
    CHECK(run_until(&r.ended));
    CHECK_INT(r.body.len, f.srv.big_len);
    bool same = r.body.len == f.srv.big_len;
    for (size_t i = 0; same && i < r.body.len; i++)
        same = (unsigned char)dp_buf_data(&r.body)[i] == pattern_byte(i);
    CHECK(same);
    dp_upstream_detach(r.st);
    rec_free(&r);
    fx_close(&f);
}

static void test_request_backpressure(void)
{
    fixture_t f;
    fx_open(&f, 0, true, NULL); /* the server returns no window until told */
    rec_t r;
    start(&f, &r, "POST", "/echo", NULL, -1, false);
    size_t total = 1024 * 1024;
    char *chunk = malloc(total);
    memset(chunk, 'x', total);
    dp_upstream_send_body(r.st, chunk, total, false);
    CHECK(dp_upstream_pending(r.st) >= DP_STREAM_HIGH_WATERMARK);
    ev_run_ms(ev, 100);
    /* only the initial window (65535) left */
    CHECK(dp_upstream_pending(r.st) >= total - 65535);
    CHECK_INT(r.drains, 0);
    srv_stream_t *ss = f.srv.streams;
    CHECK(ss != NULL);
    for (int i = 0; i < 200 && ss && r.drains == 0; i++) {
        nghttp2_session_consume(f.srv.ng, ss->id, ss->body.len);
        dp_buf_consume(&ss->body, ss->body.len);
        srv_flush(&f.srv);
        ev_run_ms(ev, 5);
    }
    CHECK_INT(r.drains, 1);
    CHECK(dp_upstream_pending(r.st) <= DP_STREAM_LOW_WATERMARK);
    free(chunk);
    dp_upstream_detach(r.st); /* unfinished: RST_STREAM CANCEL */
    ev_run_ms(ev, 20);
    rec_free(&r);
    fx_close(&f);
}

static void test_goaway(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t a, b;
    start(&f, &a, "GET", "/slow", NULL, 0, true);
    start(&f, &b, "GET", "/slow", NULL, 0, true);
    for (int i = 0; i < 1000 && f.srv.n_streams < 2; i++)
        ev_run_ms(ev, 5);
    CHECK_INT(f.srv.n_streams, 2);
    nghttp2_submit_goaway(f.srv.ng, NGHTTP2_FLAG_NONE, 1, NGHTTP2_NO_ERROR, NULL, 0);
    srv_flush(&f.srv);
    CHECK(run_until(&b.errored));
    CHECK_INT(b.reason, DP_UPSTREAM_RESET_REFUSED); /* above last_stream_id: retryable */
    CHECK_INT(events[DP_UPCONN_EV_GOAWAY], 1);
    CHECK_INT(f.c->ops->max_streams(f.c), 0);
    CHECK(!a.ended && !a.errored);
    srv_respond(&f.srv, 1); /* the in-flight stream finishes */
    CHECK(run_until(&a.ended));
    CHECK_MEM(dp_buf_data(&a.body), a.body.len, "late");
    dp_upstream_detach(a.st);
    dp_upstream_detach(b.st);
    rec_free(&a);
    rec_free(&b);
    fx_close(&f);
}

static void test_settings_limits(void)
{
    fixture_t f;
    fx_open(&f, 2, false, NULL);
    for (int i = 0; i < 1000 && events[DP_UPCONN_EV_CAPACITY] == 0; i++)
        ev_run_ms(ev, 5);
    CHECK_INT(events[DP_UPCONN_EV_CAPACITY], 1);
    CHECK_INT(f.c->ops->max_streams(f.c), 2);
    fx_close(&f);

    dp_h2_client_opts_t o = {0};
    dp_h2_options_default(&o.h2);
    o.h2.max_concurrent_streams = 1; /* the cluster's own cap */
    fx_open(&f, 50, false, &o);
    for (int i = 0; i < 1000 && events[DP_UPCONN_EV_CAPACITY] == 0; i++)
        ev_run_ms(ev, 5);
    CHECK_INT(f.c->ops->max_streams(f.c), 1);
    fx_close(&f);
}

static void test_connection_loss(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t r, r2;
    start(&f, &r, "GET", "/slow", NULL, 0, true);
    start(&f, &r2, "GET", "/slow", NULL, 0, true);
    ev_run_ms(ev, 50);
    srv_close(&f.srv);
    CHECK(run_until(&r2.errored));
    CHECK(r.errored);
    CHECK_INT(r.reason, DP_UPSTREAM_RESET_CONNECTION);
    CHECK_INT(events[DP_UPCONN_EV_CLOSED], 1);
    CHECK(f.c->closed);
    CHECK(!dp_upstream_detach(r.st));
    CHECK(!dp_upstream_detach(r2.st));
    rec_free(&r);
    rec_free(&r2);
    srv_free(&f.srv);
    ev_run_ms(ev, 20);
}

static void test_cancel(void)
{
    fixture_t f;
    fx_open(&f, 0, false, NULL);
    rec_t r;
    start(&f, &r, "GET", "/slow", NULL, 0, true);
    ev_run_ms(ev, 50);
    dp_upstream_detach(r.st); /* router gone: RST_STREAM CANCEL */
    ev_run_ms(ev, 50);
    nghttp2_stream *s = nghttp2_session_find_stream(f.srv.ng, 1);
    CHECK(s == NULL || nghttp2_stream_get_state(s) == NGHTTP2_STREAM_STATE_CLOSED);
    rec_free(&r);
    /* the connection goes on */
    start(&f, &r, "GET", "/hello", NULL, 0, true);
    CHECK(run_until(&r.ended));
    dp_upstream_detach(r.st);
    rec_free(&r);
    fx_close(&f);
}

int main(void)
{
    ev = ev_loop_new(EVFLAG_AUTO);
    dp_loop_init(&loop, ev, NULL);
    test_get_with_trailers();
    test_post_body_and_trailers();
    test_multiplexing();
    test_rst_before_headers();
    test_flow_control();
    test_request_backpressure();
    test_goaway();
    test_settings_limits();
    test_connection_loss();
    test_cancel();
    dp_loop_dispose(&loop);
    ev_loop_destroy(ev);
    dp_buf_cache_release();
    TEST_DONE();
}
