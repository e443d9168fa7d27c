/* The admin listener: a deliberately small HTTP/1.1 server on the main
 * thread's loop. Requests are parsed with the same strict parser as the
 * data plane (dp_h1_parse_request), heads are bounded to 8 KiB, bodies are
 * read and discarded, responses are produced synchronously (so pipelined
 * requests are answered in order) with Content-Length, and connections
 * are kept alive unless the client asks otherwise. Also the process-wide
 * admin state and the public dp_admin_* API. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/admin/admin_int.h"
#include "dataplane/admin/stats.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/access_log.h"
#include "dataplane/http/hcm.h"
#include "dataplane/http/stream.h"
#include "dataplane/http1/parser.h"
#include "dataplane/server/listener.h"
#include "dataplane/transport/sock.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"

#define ADMIN_MAX_HEAD 8192
#define ADMIN_MAX_HEADERS 64
#define ADMIN_OUT_HIGH (1024 * 1024) /* stop reading while this much output waits */

typedef struct admin_conn {
    dp_sock_t *sock;
    struct admin_conn *prev, *next;
    uint64_t skip; /* request body bytes still to discard */
    bool chunked;  /* discarding a chunked body */
    dp_h1_chunked_t ch;
    bool closing; /* last response queued: close once written */
    bool paused;  /* reading stopped for backpressure */
} admin_conn_t;

static dp_admin_state_t st;

static struct {
    bool started;
    dp_loop_t *loop;
    int fd;
    ev_io accept_w;
    admin_conn_t *conns;
    dp_access_log_t **logs; /* bootstrap admin.access_log, built from the message */
    size_t n_logs;
} srv = {.fd = -1};

dp_admin_state_t *dp_admin__state(void)
{
    return &st;
}

static char *dup_or_null(const char *s)
{
    return s ? dp_xstrdup(s) : NULL;
}

static void free_info(void)
{
    free(st.version);
    free(st.node_id);
    free(st.node_cluster);
    free(st.command_line);
    free(st.config_path);
    free(st.service_node);
    free(st.service_cluster);
    st.version = st.node_id = st.node_cluster = st.command_line = st.config_path = NULL;
    st.service_node = st.service_cluster = NULL;
}

void dp_admin__configure(const dp_admin_info_t *info, const char *config_path)
{
    free_info();
    st.version = dup_or_null(info->version);
    st.node_id = dup_or_null(info->node_id);
    st.node_cluster = dup_or_null(info->node_cluster);
    st.command_line = dup_or_null(info->command_line);
    st.service_node = dup_or_null(info->service_node);
    st.service_cluster = dup_or_null(info->service_cluster);
    st.config_path = dup_or_null(config_path);
    st.concurrency = info->concurrency;
    st.drain_time_s = info->drain_time_s;
    st.drain_strategy = info->drain_strategy;
    st.quit = info->quit;
    st.start_wall_ms = info->start_wall_ms ? info->start_wall_ms : dp_wall_ms();
}

void dp_admin_set_snapshot(dp_snapshot_t *snap)
{
    dp_snapshot_t *old = st.snap;
    if (snap)
        dp_snapshot_ref(snap);
    bool same_bootstrap = old && snap && old->bootstrap.len == snap->bootstrap.len &&
                          (snap->bootstrap.len == 0 ||
                           memcmp(old->bootstrap.data, snap->bootstrap.data, snap->bootstrap.len) == 0);
    if (!same_bootstrap)
        st.bootstrap_updated_ms = dp_wall_ms();
    st.snap = snap;
    dp_snapshot_unref(old);
}

void dp_admin_set_state(const char *state)
{
    snprintf(st.state, sizeof(st.state), "%s", state ? state : "");
}

/* --- connections -------------------------------------------------------------- */

static void conn_close(admin_conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    dp_sock_close(c->sock);
    free(c);
}

/* Logs one admin request to the bootstrap's admin.access_log, through a
 * stream filled with what the admin knows. */
static void log_request(admin_conn_t *c, const dp_h1_request_t *req, const dp_admin_resp_t *r,
                        size_t body_len, uint64_t start_ns)
{
    dp_stream_t s;
    memset(&s, 0, sizeof(s));
    s.method = dp_slice(req->method, req->method_len);
    s.path = dp_slice(req->target, req->target_len);
    if (req->host)
        s.authority = dp_slice(req->host, req->host_len);
    s.scheme = DP_SLICE_LIT("http");
    s.http_version = req->minor_version ? 11 : 10;
    for (size_t i = 0; i < req->num_headers; i++) {
        dp_h1_header_t *h = &req->headers[i];
        /* lowercase in place: the bytes are ours until consumed */
        for (size_t k = 0; k < h->name_len; k++)
            ((char *)h->name)[k] =
                (char)(h->name[k] >= 'A' && h->name[k] <= 'Z' ? h->name[k] + 32 : h->name[k]);
        if (h->name_len == 4 && memcmp(h->name, "host", 4) == 0)
            continue;
        dp_headers_add(&s.req_headers, dp_slice(h->name, h->name_len), dp_slice(h->value, h->value_len));
    }
    s.peer = (const struct sockaddr *)&c->sock->peer;
    s.local = (const struct sockaddr *)&c->sock->local;
    s.status = r->status;
    s.bytes_received = req->body == DP_H1_BODY_LENGTH ? req->content_length : 0;
    s.bytes_sent = body_len;
    s.start_ns = start_ns;
    s.head_sent = s.resp_done = s.req_done = true;
    for (size_t i = 0; i < srv.n_logs; i++)
        dp_access_log_emit(srv.logs[i], &s);
    dp_headers_free(&s.req_headers);
}

/* conn: "close", "keep-alive" (an HTTP/1.0 client that asked for it) or
 * NULL. */
static void send_head(admin_conn_t *c, int status, const char *ctype, size_t len, const char *conn)
{
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\n"
                     "content-type: %s\r\n"
                     "cache-control: no-cache, max-age=0\r\n"
                     "x-content-type-options: nosniff\r\n"
                     "server: envoy\r\n"
                     "content-length: %zu\r\n"
                     "%s%s%s"
                     "\r\n",
                     status, dp_http_reason(status), ctype, len, conn ? "connection: " : "", conn ? conn : "",
                     conn ? "\r\n" : "");
    struct iovec iov = {head, (size_t)n};
    dp_sock_write(c->sock, &iov, 1);
}

static void send_error(admin_conn_t *c, int status, const char *msg)
{
    char body[256];
    int n = snprintf(body, sizeof(body), "%s\n", msg ? msg : dp_http_reason(status));
    send_head(c, status, DP_ADMIN_CT_TEXT, (size_t)n, "close");
    struct iovec iov = {body, (size_t)n};
    dp_sock_write(c->sock, &iov, 1);
    c->closing = true;
}

static void handle(admin_conn_t *c, const dp_h1_request_t *req)
{
    uint64_t start_ns = dp_now_ns();
    dp_admin_resp_t r;
    memset(&r, 0, sizeof(r));
    dp_admin__handle(req->method, req->method_len, req->target, req->target_len, &r);
    bool head_only = req->method_len == 4 && memcmp(req->method, "HEAD", 4) == 0;
    /* A client waiting for 100-continue gets the final response instead
     * and may or may not send the body: close rather than guess. */
    bool close = !req->keep_alive || (req->expect_continue && req->body != DP_H1_BODY_NONE);
    const char *conn = close ? "close" : req->minor_version == 0 ? "keep-alive" : NULL;
    size_t len = r.body.len;
    send_head(c, r.status, r.ctype ? r.ctype : DP_ADMIN_CT_TEXT, len, conn);
    if (!head_only && len > 0) {
        struct iovec iov = {dp_buf_data(&r.body), len};
        dp_sock_write(c->sock, &iov, 1);
    }
    if (srv.n_logs)
        log_request(c, req, &r, head_only ? 0 : len, start_ns);
    dp_buf_free(&r.body);
    if (close)
        c->closing = true;
}

/* Discards request body bytes. Returns false on a malformed chunked body
 * (the connection is then closed). */
static bool discard_body(admin_conn_t *c)
{
    dp_buf_t *in = &c->sock->in;
    if (c->skip > 0 && in->len > 0) {
        size_t n = (size_t)DP_MIN((uint64_t)in->len, c->skip);
        dp_buf_consume(in, n);
        c->skip -= n;
    }
    while (c->chunked && in->len > 0) {
        const char *data, *err;
        size_t dlen;
        int n = dp_h1_chunked_decode(&c->ch, dp_buf_data(in), in->len, &data, &dlen, &err);
        if (n < 0)
            return false;
        dp_buf_consume(in, (size_t)n);
        if (dp_h1_chunked_done(&c->ch))
            c->chunked = false;
        else if (n == 0 && dlen == 0)
            break;
    }
    return true;
}

static void on_read(dp_sock_t *s, int err);

static void on_drain(dp_sock_t *s, int err)
{
    (void)err;
    admin_conn_t *c = s->data;
    if (c->closing) {
        conn_close(c);
        return;
    }
    if (c->paused) {
        c->paused = false;
        dp_sock_read_start(c->sock, on_read);
    }
}

static void process(admin_conn_t *c)
{
    dp_buf_t *in = &c->sock->in;
    while (!c->closing) {
        if (!discard_body(c)) {
            conn_close(c);
            return;
        }
        if (c->skip > 0 || c->chunked || in->len == 0)
            break;
        dp_h1_request_t req;
        dp_h1_header_t hdrs[ADMIN_MAX_HEADERS];
        dp_h1_limits_t lim = {.max_header_bytes = ADMIN_MAX_HEAD, .max_headers = ADMIN_MAX_HEADERS};
        int n = dp_h1_parse_request(dp_buf_data(in), in->len, &lim, &req, hdrs);
        if (n == DP_EAGAIN)
            break;
        if (n < 0) {
            send_error(c, req.error_status ? req.error_status : 400, req.error);
            break;
        }
        handle(c, &req);
        dp_buf_consume(in, (size_t)n);
        if (req.body == DP_H1_BODY_LENGTH) {
            c->skip = req.content_length;
        } else if (req.body == DP_H1_BODY_CHUNKED) {
            dp_h1_chunked_init(&c->ch);
            c->chunked = true;
        }
        if (!c->closing && dp_sock_pending(c->sock) > ADMIN_OUT_HIGH) {
            c->paused = true;
            dp_sock_read_stop(c->sock);
            return;
        }
    }
    if (c->closing) {
        dp_sock_read_stop(c->sock);
        if (dp_sock_pending(c->sock) == 0)
            conn_close(c); /* everything already went to the kernel */
    }
}

static void on_read(dp_sock_t *s, int err)
{
    admin_conn_t *c = s->data;
    if (err != 0) {
        conn_close(c);
        return;
    }
    process(c);
}

static void on_accept(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)w;
    (void)revents;
    for (int i = 0; i < 16; i++) {
        int fd = accept4(srv.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                DP_WARN("admin: accept: %s", strerror(errno));
            return;
        }
        admin_conn_t *c = dp_xcalloc(1, sizeof(*c));
        c->sock = dp_sock_new(srv.loop, fd, &dp_transport_raw);
        c->sock->data = c;
        c->sock->on_drain = on_drain;
        c->next = srv.conns;
        if (srv.conns)
            srv.conns->prev = c;
        srv.conns = c;
        dp_sock_read_start(c->sock, on_read);
    }
}

/* --- life cycle ----------------------------------------------------------------- */

static void free_logs(void)
{
    for (size_t i = 0; i < srv.n_logs; i++)
        dp_access_log_free(srv.logs[i]);
    free(srv.logs);
    srv.logs = NULL;
    srv.n_logs = 0;
}

/* Builds our own loggers from the bootstrap message (the bootstrap's own
 * are freed with it at a reload, while the admin keeps serving). */
static int make_logs(const dp_bootstrap_t *b, char *errbuf, size_t errlen)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap *bm =
        (const Envoy__Config__Bootstrap__V3__Bootstrap *)b->msg;
    if (bm == NULL || bm->base.descriptor != &envoy__config__bootstrap__v3__bootstrap__descriptor ||
        bm->admin == NULL)
        return 0;
    for (size_t i = 0; i < bm->admin->n_access_log; i++) {
        dp_access_log_t *al;
        char err[512];
        if (dp_access_log_create(&bm->admin->access_log[i]->base, &al, err, sizeof(err)) != 0) {
            snprintf(errbuf, errlen, "admin.access_log[%zu]: %s", i, err);
            return DP_EINVAL;
        }
        srv.logs = dp_xrealloc(srv.logs, (srv.n_logs + 1) * sizeof(*srv.logs));
        srv.logs[srv.n_logs++] = al;
    }
    return 0;
}

int dp_admin_start(dp_loop_t *loop, const dp_bootstrap_t *b, const dp_admin_info_t *info, char *errbuf,
                   size_t errlen)
{
    if (srv.started) {
        snprintf(errbuf, errlen, "admin: already started");
        return DP_EINVAL;
    }
    if (!b->has_admin) {
        snprintf(errbuf, errlen, "admin: the bootstrap has no admin.address");
        return DP_EINVAL;
    }
    dp_admin__configure(info, b->path);
    int rc = make_logs(b, errbuf, errlen);
    if (rc != 0) {
        free_logs();
        return rc;
    }
    int fd = dp_listen_socket((const struct sockaddr *)&b->admin_addr, b->admin_addrlen, 0);
    if (fd < 0) {
        snprintf(errbuf, errlen, "admin: cannot bind %s: %s", b->admin_addr_str, strerror(errno));
        free_logs();
        return DP_ERR;
    }
    srv.fd = fd;
    srv.loop = loop;
    st.loop = loop;
    ev_io_init(&srv.accept_w, on_accept, fd, EV_READ);
    ev_io_start(loop->ev, &srv.accept_w);
    srv.started = true;
    dp_admin__refresh_stats(); /* Envoy's server.* gauges exist from the start */
    return 0;
}

int dp_admin__port(void)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (srv.fd < 0 || getsockname(srv.fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

void dp_admin_stop(void)
{
    if (srv.started) {
        while (srv.conns)
            conn_close(srv.conns);
        ev_io_stop(srv.loop->ev, &srv.accept_w);
        close(srv.fd);
        srv.fd = -1;
        srv.started = false;
    }
    free_logs();
    dp_snapshot_unref(st.snap);
    st.snap = NULL;
    st.loop = NULL;
    st.quit = NULL;
    free_info();
}
