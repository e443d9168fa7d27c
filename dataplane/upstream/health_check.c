/* One endpoint's active health checker on a loop: a timer per check, a
 * non-blocking connection (dp_sock) reused between checks when the
 * response allows it, the HTTP/1 response parser for HTTP checks and an
 * in-order payload match for TCP ones. The verdicts go through the state
 * machine of health.c; the owner hears each result through dp_hc_env_t.
 *
 *   idle --interval--> connecting --connected--> waiting (request sent)
 *     ^                    |                        | response / payload
 *     |                    +--- failure ---+        | or timeout / reset
 *     +------------------ finish(result) <--+-------+
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http1/parser.h"
#include "dataplane/transport/sock.h"
#include "dataplane/upstream/health.h"

#define MAX_TCP_RESPONSE (64 * 1024)

struct dp_hc_checker {
    dp_loop_t *loop;
    const dp_hc_cfg_t *cfg;
    char *host;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    dp_hc_state_t st;
    const dp_hc_env_t *env;
    void *ctx;
    ev_timer interval, timeout;
    dp_sock_t *sock;
    char *req; /* the HTTP request bytes */
    size_t req_len;
    uint64_t rnd;
    bool busy;      /* a check is in flight */
    bool connected; /* sock is connected (else connecting) */
    /* HTTP response being read */
    bool head_done;
    size_t last_len;
    int status;
    bool keep_alive;
    dp_h1_body_kind_t body;
    uint64_t remaining;
    dp_h1_chunked_t chunked;
};

static uint64_t next_rand(dp_hc_checker_t *k)
{
    uint64_t x = k->rnd;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return k->rnd = x;
}

static void build_request(dp_hc_checker_t *k)
{
    free(k->req);
    k->req = NULL;
    k->req_len = 0;
    if (k->cfg->kind != DP_HC_HTTP)
        return;
    const char *path = k->cfg->path ? k->cfg->path : "/";
    const char *extra = k->cfg->extra_headers ? k->cfg->extra_headers : "";
    size_t n = strlen(path) + strlen(k->host) + strlen(extra) + 64;
    k->req = dp_xmalloc(n);
    int w = snprintf(k->req, n, "GET %s HTTP/1.1\r\nhost: %s\r\nuser-agent: Envoy/HC\r\n%s\r\n", path, k->host, extra);
    k->req_len = (size_t)w;
}

static void close_sock(dp_hc_checker_t *k)
{
    if (k->sock) {
        dp_sock_close(k->sock);
        k->sock = NULL;
    }
    k->connected = false;
}

static void schedule(dp_hc_checker_t *k, uint64_t ms)
{
    ev_timer_stop(k->loop->ev, &k->interval);
    ev_timer_set(&k->interval, (double)ms / 1000.0, 0);
    ev_timer_start(k->loop->ev, &k->interval);
}

/* The check is over: verdict, next check, then the owner hears it (last:
 * it may look at anything, but never frees the checker from there). */
static void finish(dp_hc_checker_t *k, dp_hc_result_t r, bool reusable)
{
    ev_timer_stop(k->loop->ev, &k->timeout);
    k->busy = false;
    if (!reusable || !k->cfg->reuse_connection)
        close_sock(k);
    dp_hc_transition_t t = dp_hc_state_apply(&k->st, k->cfg, r);
    bool traffic = k->env->had_traffic ? k->env->had_traffic(k->ctx) : true;
    schedule(k, dp_hc_next_interval_ms(k->cfg, traffic, r == DP_HC_SUCCESS, t, next_rand(k)));
    if (k->env->on_result)
        k->env->on_result(k->ctx, r, t, &k->st);
}

/* ---- HTTP ---------------------------------------------------------------------------- */

/* Consumes body bytes; true once the body is complete. */
static int http_body(dp_hc_checker_t *k, dp_sock_t *s)
{
    for (;;) {
        switch (k->body) {
        case DP_H1_BODY_NONE:
            return 1;
        case DP_H1_BODY_LENGTH: {
            size_t n = (size_t)DP_MIN((uint64_t)s->in.len, k->remaining);
            dp_buf_consume(&s->in, n);
            k->remaining -= n;
            return k->remaining == 0;
        }
        case DP_H1_BODY_UNTIL_CLOSE:
            dp_buf_consume(&s->in, s->in.len);
            return 0;
        case DP_H1_BODY_CHUNKED: {
            if (dp_h1_chunked_done(&k->chunked))
                return 1;
            const char *data, *err;
            size_t dlen;
            int n = dp_h1_chunked_decode(&k->chunked, dp_buf_data(&s->in), s->in.len, &data, &dlen, &err);
            if (n < 0)
                return -1;
            dp_buf_consume(&s->in, (size_t)n);
            if (dp_h1_chunked_done(&k->chunked))
                return 1;
            if (n == 0 && dlen == 0)
                return 0;
            continue;
        }
        }
        return -1;
    }
}

static void http_read(dp_hc_checker_t *k, dp_sock_t *s, int err)
{
    if (!k->head_done) {
        if (s->in.len > 0) {
            dp_h1_header_t hdrs[DP_H1_DEFAULT_MAX_HEADERS];
            dp_h1_response_t resp;
            int n = dp_h1_parse_response(dp_buf_data(&s->in), s->in.len, NULL, 0, &resp, hdrs);
            if (n == DP_ERR) {
                finish(k, DP_HC_FAIL_NETWORK, false);
                return;
            }
            if (n > 0) {
                dp_buf_consume(&s->in, (size_t)n);
                if (resp.status >= 100 && resp.status < 200 && resp.status != 101) {
                    http_read(k, s, err); /* interim: the final head follows */
                    return;
                }
                k->head_done = true;
                k->status = resp.status;
                k->keep_alive = resp.keep_alive;
                k->body = resp.body;
                k->remaining = resp.content_length;
                dp_h1_chunked_init(&k->chunked);
                if (resp.status == 101)
                    k->body = DP_H1_BODY_NONE, k->keep_alive = false;
            }
        }
        if (!k->head_done) {
            if (err)
                finish(k, DP_HC_FAIL_NETWORK, false);
            return;
        }
    }
    int done = http_body(k, s);
    if (done == 0 && err && k->body == DP_H1_BODY_UNTIL_CLOSE)
        done = 1; /* the close ends it */
    if (done < 0 || (done == 0 && err)) {
        finish(k, DP_HC_FAIL_NETWORK, false);
        return;
    }
    if (done == 0)
        return;
    bool reuse = !err && k->keep_alive && k->body != DP_H1_BODY_UNTIL_CLOSE && s->in.len == 0;
    finish(k, dp_hc_status_expected(k->cfg, k->status) ? DP_HC_SUCCESS : DP_HC_FAIL_ACTIVE, reuse);
}

/* ---- TCP ----------------------------------------------------------------------------- */

static bool memfind(const uint8_t *h, size_t hl, const dp_hc_bytes_t *n, size_t *pos)
{
    if (n->len == 0) {
        *pos = 0;
        return true;
    }
    for (size_t i = 0; i + n->len <= hl; i++) {
        if (h[i] == n->data[0] && memcmp(h + i, n->data, n->len) == 0) {
            *pos = i;
            return true;
        }
    }
    return false;
}

static void tcp_read(dp_hc_checker_t *k, dp_sock_t *s, int err)
{
    const uint8_t *p = (const uint8_t *)dp_buf_data(&s->in);
    size_t len = s->in.len, off = 0, i;
    for (i = 0; i < k->cfg->n_receive; i++) {
        size_t pos;
        if (!memfind(p + off, len - off, &k->cfg->receive[i], &pos))
            break;
        off += pos + k->cfg->receive[i].len;
    }
    if (i == k->cfg->n_receive) {
        dp_buf_consume(&s->in, s->in.len);
        finish(k, DP_HC_SUCCESS, !err);
        return;
    }
    if (err || len > MAX_TCP_RESPONSE)
        finish(k, err ? DP_HC_FAIL_NETWORK : DP_HC_FAIL_ACTIVE, false);
}

/* ---- socket and timers ------------------------------------------------------------------ */

static void on_read(dp_sock_t *s, int err)
{
    dp_hc_checker_t *k = s->data;
    if (!k->busy) {
        /* idle: the peer closed (or spoke out of turn), reconnect next time */
        close_sock(k);
        return;
    }
    if (k->cfg->kind == DP_HC_HTTP)
        http_read(k, s, err);
    else
        tcp_read(k, s, err);
}

static void send_check(dp_hc_checker_t *k)
{
    k->head_done = false;
    k->last_len = 0;
    if (k->sock->in.len)
        dp_buf_consume(&k->sock->in, k->sock->in.len);
    if (k->cfg->kind == DP_HC_HTTP) {
        struct iovec iov = {k->req, k->req_len};
        dp_sock_write(k->sock, &iov, 1);
        return;
    }
    if (k->cfg->send.len) {
        struct iovec iov = {k->cfg->send.data, k->cfg->send.len};
        dp_sock_write(k->sock, &iov, 1);
    }
    if (k->cfg->n_receive == 0) /* connect-only: the connection was the answer */
        finish(k, DP_HC_SUCCESS, false);
}

static void on_connect(dp_sock_t *s, int err)
{
    dp_hc_checker_t *k = s->data;
    if (err) {
        finish(k, DP_HC_FAIL_NETWORK, false);
        return;
    }
    k->connected = true;
    dp_sock_read_start(s, on_read);
    send_check(k);
}

static void on_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_hc_checker_t *k = t->data;
    if (!k->busy)
        return;
    finish(k, DP_HC_FAIL_NETWORK, false);
}

static void on_interval(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_hc_checker_t *k = t->data;
    if (k->busy)
        return;
    k->busy = true;
    if (k->env->on_attempt)
        k->env->on_attempt(k->ctx);
    ev_timer_set(&k->timeout, (double)k->cfg->timeout_ms / 1000.0, 0);
    ev_timer_start(k->loop->ev, &k->timeout);
    if (k->sock && k->connected && k->cfg->reuse_connection) {
        send_check(k);
        return;
    }
    close_sock(k);
    k->sock = dp_sock_connect(k->loop, (const struct sockaddr *)&k->addr, k->addrlen, on_connect);
    if (k->sock == NULL) {
        finish(k, DP_HC_FAIL_NETWORK, false);
        return;
    }
    k->sock->data = k;
}

dp_hc_checker_t *dp_hc_checker_new(dp_loop_t *loop, const dp_hc_cfg_t *cfg, const char *host,
                                   const struct sockaddr *addr, socklen_t addrlen, const dp_hc_state_t *st,
                                   const dp_hc_env_t *env, void *ctx)
{
    dp_hc_checker_t *k = dp_xcalloc(1, sizeof(*k));
    k->loop = loop;
    k->cfg = cfg;
    k->host = dp_xstrdup(host ? host : "");
    if (addrlen > sizeof(k->addr))
        addrlen = sizeof(k->addr);
    memcpy(&k->addr, addr, addrlen);
    k->addrlen = addrlen;
    k->st = *st;
    k->env = env;
    k->ctx = ctx;
    k->rnd = (dp_now_ns() ^ (uint64_t)(uintptr_t)k) | 1;
    build_request(k);
    ev_timer_init(&k->interval, on_interval, 0, 0);
    k->interval.data = k;
    ev_timer_init(&k->timeout, on_timeout, 0, 0);
    k->timeout.data = k;
    schedule(k, cfg->initial_jitter_ms ? next_rand(k) % cfg->initial_jitter_ms : 0);
    return k;
}

void dp_hc_checker_set_cfg(dp_hc_checker_t *k, const dp_hc_cfg_t *cfg)
{
    k->cfg = cfg;
    build_request(k);
}

const dp_hc_state_t *dp_hc_checker_state(const dp_hc_checker_t *k)
{
    return &k->st;
}

void dp_hc_checker_free(dp_hc_checker_t *k)
{
    if (k == NULL)
        return;
    ev_timer_stop(k->loop->ev, &k->interval);
    ev_timer_stop(k->loop->ev, &k->timeout);
    close_sock(k);
    free(k->req);
    free(k->host);
    /* a socket callback up the stack may still hold k */
    dp_loop_defer_free(k->loop, k);
}
