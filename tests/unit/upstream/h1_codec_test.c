/* The HTTP/1.1 client as an upstream codec (dataplane/http1/client.c via
 * upconn.h) over a socketpair whose other end the test reads and writes
 * raw: request framing (content-length, chunked, trailers dropped,
 * hop-by-hop headers skipped), response framing (HEAD, chunked with a
 * trailer section), upgrades (101 -> raw tunnel both ways, half-close,
 * EOF ends it; a non-101 answer is a normal response), errors, and an idle
 * connection the server closes. */
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/core/loop.h"
#include "dataplane/http1/client.h"
#include "dataplane/transport/sock.h"
#include "ev_run.h"
#include "test.h"

static struct ev_loop *ev;
static dp_loop_t loop;

/* --- recorder --- */

typedef struct rec {
    int status;
    int64_t cl;
    bool head, head_end, ended, errored, got_bytes;
    dp_upstream_reset_t reason;
    char body[4096];
    size_t body_len;
    char headers[1024];
} rec_t;

static void r_head(void *ctx, int status, dp_headers_t *h, int64_t cl, bool end)
{
    rec_t *r = ctx;
    r->head = true;
    r->status = status;
    r->cl = cl;
    r->head_end = end;
    for (size_t i = 0; i < h->n; i++) {
        size_t l = strlen(r->headers);
        snprintf(r->headers + l, sizeof(r->headers) - l, "%.*s: %.*s\n", (int)h->v[i].name.len,
                 h->v[i].name.base, (int)h->v[i].value.len, h->v[i].value.base);
    }
    if (end)
        r->ended = true;
}

static void r_body(void *ctx, const char *d, size_t n, bool end)
{
    rec_t *r = ctx;
    if (n > 0 && r->body_len + n < sizeof(r->body)) {
        memcpy(r->body + r->body_len, d, n);
        r->body_len += n;
    }
    if (end)
        r->ended = true;
}

static void r_trailers(void *ctx, dp_headers_t *h)
{
    (void)h;
    ((rec_t *)ctx)->ended = true;
}

static void r_error(void *ctx, dp_upstream_reset_t reason, bool got, const char *detail)
{
    (void)detail;
    rec_t *r = ctx;
    r->errored = true;
    r->reason = reason;
    r->got_bytes = got;
}

static const dp_upstream_cbs_t cbs = {r_head, r_body, r_trailers, r_error, NULL};

/* --- fixture: client on one end, raw fd on the other --- */

typedef struct fx {
    int peer;
    dp_upconn_t *c;
    dp_upstream_stream_t *st;
    rec_t r;
    int closed_events;
} fx_t;

static fx_t *cur;

static void on_event(dp_upconn_t *c, dp_upconn_event_t e)
{
    (void)c;
    if (e == DP_UPCONN_EV_CLOSED && cur)
        cur->closed_events++;
}

static void fx_open(fx_t *f)
{
    memset(f, 0, sizeof(*f));
    int fds[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    f->peer = fds[1];
    fcntl(f->peer, F_SETFL, fcntl(f->peer, F_GETFL) | O_NONBLOCK);
    f->c = &dp_h1_client_attach(dp_sock_new(&loop, fds[0], &dp_transport_raw))->super;
    f->c->on_event = on_event;
    cur = f;
}

static void fx_close(fx_t *f)
{
    if (f->closed_events == 0) /* else freed already */
        f->c->ops->close(f->c);
    if (f->peer >= 0)
        close(f->peer);
    ev_run_ms(ev, 10);
    cur = NULL;
}

/* What the client wrote so far (runs the loop a little first). */
static const char *peer_read(fx_t *f, bool *eof)
{
    static char buf[8192];
    ev_run_ms(ev, 20);
    size_t n = 0;
    if (eof)
        *eof = false;
    for (;;) {
        ssize_t k = read(f->peer, buf + n, sizeof(buf) - 1 - n);
        if (k > 0) {
            n += (size_t)k;
            continue;
        }
        if (k == 0 && eof)
            *eof = true;
        break;
    }
    buf[n] = '\0';
    return buf;
}

static void peer_write(fx_t *f, const char *s)
{
    if (write(f->peer, s, strlen(s)) < 0)
        perror("write");
    ev_run_ms(ev, 20);
}

static void start(fx_t *f, const char *method, const char *path, const dp_headers_t *h, int64_t cl, bool end,
                  const char *upgrade)
{
    memset(&f->r, 0, sizeof(f->r));
    f->st = f->c->ops->bind(f->c, &cbs, &f->r);
    dp_upstream_head_t head = {
        .method = dp_slice_cstr(method),
        .authority = DP_SLICE_LIT("up.test"),
        .path = dp_slice_cstr(path),
        .headers = h,
        .content_length = cl,
        .end_stream = end,
        .upgrade = upgrade ? dp_slice_cstr(upgrade) : DP_SLICE_NULL,
    };
    dp_upstream_send_head(f->st, &head);
}

/* --- tests --- */

static void test_get_keepalive(void)
{
    fx_t f;
    fx_open(&f);
    dp_headers_t h = {0};
    dp_headers_add(&h, DP_SLICE_LIT("x-a"), DP_SLICE_LIT("1"));
    dp_headers_add(&h, DP_SLICE_LIT("connection"), DP_SLICE_LIT("close")); /* skipped */
    start(&f, "GET", "/p?q=1", &h, 0, true, NULL);
    dp_headers_free(&h);
    CHECK_STR(peer_read(&f, NULL), "GET /p?q=1 HTTP/1.1\r\nhost: up.test\r\nx-a: 1\r\n\r\n");
    peer_write(&f, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-B: 2\r\n\r\nhello");
    CHECK(f.r.head && f.r.ended);
    CHECK_INT(f.r.status, 200);
    CHECK_INT(f.r.cl, 5);
    CHECK(strstr(f.r.headers, "x-b: 2\n") != NULL); /* names lowercased */
    CHECK_MEM(f.r.body, f.r.body_len, "hello");
    CHECK(dp_upstream_detach(f.st)); /* reusable */
    CHECK_INT(f.c->ops->max_streams(f.c), 1);
    /* the next request on the same connection */
    start(&f, "HEAD", "/h", NULL, 0, true, NULL);
    CHECK_STR(peer_read(&f, NULL), "HEAD /h HTTP/1.1\r\nhost: up.test\r\n\r\n");
    peer_write(&f, "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\n\r\n");
    CHECK(f.r.head_end); /* HEAD: no body whatever the length says */
    CHECK_INT(f.r.cl, 1234);
    CHECK(dp_upstream_detach(f.st));
    /* idle: the server closing it closes the connection */
    close(f.peer);
    f.peer = -1;
    ev_run_ms(ev, 20);
    CHECK_INT(f.closed_events, 1);
    fx_close(&f);
}

static void test_bodies(void)
{
    fx_t f;
    fx_open(&f);
    start(&f, "POST", "/up", NULL, -1, false, NULL);
    dp_upstream_send_body(f.st, "abc", 3, false);
    dp_headers_t t = {0};
    dp_headers_add(&t, DP_SLICE_LIT("x-trailer"), DP_SLICE_LIT("v"));
    dp_upstream_send_trailers(f.st, &t); /* HTTP/1.1: the body ends, trailers dropped */
    dp_headers_free(&t);
    CHECK_STR(
        peer_read(&f, NULL),
        "POST /up HTTP/1.1\r\nhost: up.test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
    peer_write(&f, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx-t: 1\r\n\r\n");
    CHECK(f.r.ended);
    CHECK_INT(f.r.cl, -1);
    CHECK_MEM(f.r.body, f.r.body_len, "hello");
    CHECK(dp_upstream_detach(f.st));

    start(&f, "PUT", "/up", NULL, 3, false, NULL);
    dp_upstream_send_body(f.st, "xyz", 3, true);
    CHECK_STR(peer_read(&f, NULL), "PUT /up HTTP/1.1\r\nhost: up.test\r\ncontent-length: 3\r\n\r\nxyz");
    peer_write(&f, "HTTP/1.1 204 No Content\r\n\r\n");
    CHECK(f.r.head_end);
    CHECK(dp_upstream_detach(f.st));

    /* a response that ends before the request did: no reuse */
    start(&f, "POST", "/up", NULL, 10, false, NULL);
    dp_upstream_send_body(f.st, "12345", 5, false);
    peer_read(&f, NULL);
    peer_write(&f, "HTTP/1.1 413 Too Large\r\ncontent-length: 0\r\n\r\n");
    CHECK(f.r.ended);
    CHECK(!dp_upstream_detach(f.st));
    fx_close(&f);
}

static void test_upgrade_tunnel(void)
{
    fx_t f;
    fx_open(&f);
    dp_headers_t h = {0};
    dp_headers_add(&h, DP_SLICE_LIT("sec-websocket-key"), DP_SLICE_LIT("k"));
    start(&f, "GET", "/ws", &h, 0, false, "websocket");
    dp_headers_free(&h);
    CHECK_STR(peer_read(&f, NULL), "GET /ws HTTP/1.1\r\nhost: up.test\r\nsec-websocket-key: k\r\n"
                                   "connection: upgrade\r\nupgrade: websocket\r\n\r\n");
    peer_write(&f,
               "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\nRAW1");
    CHECK(f.r.head);
    CHECK_INT(f.r.status, 101);
    CHECK(!f.r.head_end);
    CHECK_MEM(f.r.body, f.r.body_len, "RAW1");             /* bytes after the 101 are the tunnel's */
    dp_upstream_send_body(f.st, "0\r\n\r\nxyz", 8, false); /* raw, no chunk framing */
    bool eof;
    CHECK_STR(peer_read(&f, &eof), "0\r\n\r\nxyz");
    CHECK(!eof);
    dp_upstream_send_body(f.st, NULL, 0, true); /* half-close */
    peer_read(&f, &eof);
    CHECK(eof);
    peer_write(&f, "RAW2");
    CHECK(!f.r.ended);
    shutdown(f.peer, SHUT_WR); /* the server's EOF ends the tunnel's response */
    ev_run_ms(ev, 20);
    CHECK_MEM(f.r.body, f.r.body_len, "RAW1RAW2");
    CHECK(f.r.ended);
    CHECK(!f.r.errored);
    CHECK(!dp_upstream_detach(f.st)); /* a tunnel is never reused */
    fx_close(&f);

    /* an upgrade the server does not take: a normal response, no reuse */
    fx_open(&f);
    start(&f, "GET", "/ws", NULL, 0, false, "websocket");
    peer_read(&f, NULL);
    peer_write(&f, "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nno");
    CHECK_INT(f.r.status, 200);
    CHECK_MEM(f.r.body, f.r.body_len, "no");
    CHECK(f.r.ended);
    CHECK(!dp_upstream_detach(f.st));
    fx_close(&f);

    /* a 101 nobody asked for is a protocol error */
    fx_open(&f);
    start(&f, "GET", "/", NULL, 0, true, NULL);
    peer_read(&f, NULL);
    peer_write(&f, "HTTP/1.1 101 Switching Protocols\r\nupgrade: x\r\nconnection: upgrade\r\n\r\n");
    CHECK(f.r.errored);
    CHECK_INT(f.r.reason, DP_UPSTREAM_RESET_PROTOCOL);
    CHECK(!f.r.head);
    dp_upstream_detach(f.st);
    fx_close(&f);
}

static void test_errors(void)
{
    fx_t f;
    fx_open(&f);
    start(&f, "GET", "/", NULL, 0, true, NULL);
    peer_read(&f, NULL);
    close(f.peer);
    f.peer = -1;
    ev_run_ms(ev, 20);
    CHECK(f.r.errored);
    CHECK_INT(f.r.reason, DP_UPSTREAM_RESET_CONNECTION);
    CHECK(!f.r.got_bytes);
    CHECK(!dp_upstream_detach(f.st));
    fx_close(&f);

    fx_open(&f);
    start(&f, "GET", "/", NULL, 0, true, NULL);
    peer_read(&f, NULL);
    peer_write(&f, "HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\n12345");
    close(f.peer);
    f.peer = -1;
    ev_run_ms(ev, 20);
    CHECK(f.r.head);
    CHECK(f.r.errored); /* truncated body */
    CHECK(f.r.got_bytes);
    dp_upstream_detach(f.st);
    fx_close(&f);

    fx_open(&f);
    start(&f, "GET", "/", NULL, 0, true, NULL);
    peer_read(&f, NULL);
    peer_write(&f, "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ntransfer-encoding: chunked\r\n\r\n");
    CHECK(f.r.errored);
    CHECK_INT(f.r.reason, DP_UPSTREAM_RESET_PROTOCOL);
    dp_upstream_detach(f.st);
    fx_close(&f);
}

int main(void)
{
    ev = ev_loop_new(EVFLAG_AUTO);
    dp_loop_init(&loop, ev, NULL);
    test_get_keepalive();
    test_bodies();
    test_upgrade_tunnel();
    test_errors();
    dp_loop_dispose(&loop);
    ev_loop_destroy(ev);
    dp_buf_cache_release();
    TEST_DONE();
}
