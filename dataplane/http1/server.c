#include "dataplane/http1/server.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/hcm.h"
#include "dataplane/http/stream.h"
#include "dataplane/http1/parser.h"
#include "dataplane/server/worker.h"
#include "dataplane/transport/sock.h"

#define DELAYED_CLOSE_MS 1000 /* Envoy's delayed_close_timeout default */
/* Timeouts are kept in 32-bit wrapping milliseconds; longer ones are cut
 * to this (24 days, as good as infinite for an idle connection). */
#define MAX_TIMEOUT_MS 0x7fffffffu

typedef enum {
    H1S_HEAD,      /* waiting for a request head */
    H1S_BODY,      /* streaming the request body */
    H1S_WAIT_RESP, /* request complete, response in progress */
    H1S_CLOSING,   /* final response queued; half-close then close */
    H1S_TUNNEL,    /* upgraded (101): raw bytes both ways until both ends closed */
} h1s_state_t;

/* The deadline a connection waits for: which timeout list it is on. */
typedef enum {
    TO_NONE,
    TO_IDLE,   /* HCM idle_timeout: no request in progress */
    TO_STREAM, /* stream_idle_timeout: a request in progress */
    TO_CLOSE,  /* delayed close: the client's FIN after ours */
    TO_HEAD,   /* request_headers_timeout: from a head's first byte, not moved by reads */
} h1_timeout_t;

/* What only a request in progress needs, taken from a per-thread free
 * list at the request's head and returned at its end. */
typedef struct h1_req {
    dp_stream_t s; /* first: conn_of() and the free list see the stream */
    /* request body framing */
    dp_h1_body_kind_t body_kind;
    uint64_t body_left;
    dp_h1_chunked_t chunked;
} h1_req_t;

/* What an idle keep-alive connection holds (88 bytes: one 96-byte malloc
 * chunk, and no libev timer): everything else is derived (worker from
 * the socket's loop, stats from the configs, parser limits from the HCM)
 * or lives in the request. */
typedef struct h1_conn {
    dp_conn_link_t link;     /* first: the worker's list points here; link.listener: ref held */
    dp_sock_t *sock;
    const dp_hcm_cfg_t *hcm; /* the filter chain's, owned by the listener */
    h1_req_t *req;           /* the request in progress, else NULL */
    /* place on the thread's timeout list for its current deadline
     * (tlist); since: when the wait began (loop ms, wrapping) */
    struct h1_conn *tnext, *tprev;
    uint32_t since;
    uint32_t head_start;   /* loop ms of the first byte of the head in progress (head_timing) */
    uint32_t scanned;      /* bytes already scanned for the end of the head */
    unsigned tlist : 16;   /* index + 1 in the thread's tlists; 0: on none */
    unsigned timeout : 3;  /* h1_timeout_t */
    unsigned state : 3;    /* h1s_state_t */
    unsigned head_timing : 1; /* a head is in progress under request_headers_timeout */
    unsigned keep_alive : 1; /* the connection may serve another request */
    unsigned draining : 1;
    unsigned tunnel_in_done : 1; /* upgraded: the client half-closed */
    unsigned is_head : 1;        /* the request's method is HEAD */
    /* response framing */
    unsigned resp_chunked : 1, resp_until_close : 1, resp_no_body : 1;
} h1_conn_t;

static void on_read(dp_sock_t *sock, int err);
static void reply_error(struct h1_conn *c, int status, const char *reason, int minor);
static dp_h1_header_t *header_scratch(size_t n);

static void conn_close(h1_conn_t *c);
static void process(h1_conn_t *c, int err);

static dp_worker_t *worker_of(const h1_conn_t *c)
{
    return c->sock->loop->owner;
}

static dp_stream_t *st(const h1_conn_t *c)
{
    return &c->req->s;
}

static dp_hcm_stats_t *stats_of(const h1_conn_t *c)
{
    return dp_hcm_stats_of(c->hcm);
}

static dp_h1_limits_t limits_of(const dp_hcm_cfg_t *h)
{
    dp_h1_limits_t lim = {(size_t)h->max_request_headers_kb * 1024, h->max_headers_count};
    return lim;
}

/* --- timeouts ------------------------------------------------------------
 *
 * No timer per connection: each worker thread keeps one list per timeout
 * duration (idle_timeout, stream_idle_timeout, request_headers_timeout,
 * the delayed close), libev's "many identical timeouts" pattern. A
 * connection waiting for a deadline is on the list of that duration, in
 * deadline order since it joins at the tail when its wait (re)starts;
 * activity moves it back to the tail. Each list has one ev_timer, due no
 * later than its head: an early firing (the head moved on) re-arms it.
 * Every step is O(1), with no timer heap work per request. */

typedef struct h1_tlist {
    uint32_t ms; /* the duration of every wait on this list */
    h1_conn_t *head, *tail;
    struct ev_loop *ev;
    ev_timer timer;
} h1_tlist_t;

static _Thread_local h1_tlist_t **tlists;
static _Thread_local size_t n_tlists;
static _Thread_local uint16_t tlist_hint[TO_HEAD + 1]; /* the last list used per kind */

static void on_expire(h1_conn_t *c, h1_timeout_t kind);

/* The loop's cached time (updated once per iteration by libev): precise
 * enough for timeouts and free, unlike clock_gettime per event. */
static uint32_t loop_ms(struct ev_loop *ev)
{
    return (uint32_t)(uint64_t)(ev_now(ev) * 1000.0);
}

static uint32_t now_ms(const h1_conn_t *c)
{
    return loop_ms(c->sock->loop->ev);
}

static uint32_t clamp_ms(uint64_t ms)
{
    return ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : (uint32_t)ms;
}

/* ms spent since `since`; a clock stepped back counts as none. */
static uint32_t spent_ms(uint32_t now, uint32_t since)
{
    int32_t d = (int32_t)(now - since);
    return d > 0 ? (uint32_t)d : 0;
}

static uint32_t timeout_ms(const h1_conn_t *c, h1_timeout_t kind)
{
    switch (kind) {
    case TO_IDLE:
        return clamp_ms(c->hcm->idle_timeout_ms);
    case TO_STREAM:
        return clamp_ms(c->hcm->stream_idle_timeout_ms);
    case TO_CLOSE:
        return DELAYED_CLOSE_MS;
    case TO_HEAD:
        return clamp_ms(c->hcm->request_headers_timeout_ms);
    case TO_NONE:
        break;
    }
    return 0;
}

static void tlist_arm(h1_tlist_t *l, uint32_t after)
{
    ev_timer_stop(l->ev, &l->timer);
    ev_timer_set(&l->timer, after > 0 ? (double)after / 1000.0 : 1e-3, 0.);
    ev_timer_start(l->ev, &l->timer);
}

static void on_tlist_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    h1_tlist_t *l = t->data;
    uint32_t now = loop_ms(ev);
    h1_conn_t *c;
    /* on_expire may close the connection or move it to another list */
    while ((c = l->head) != NULL && spent_ms(now, c->since) >= l->ms) {
        l->head = c->tnext;
        if (l->head)
            l->head->tprev = NULL;
        else
            l->tail = NULL;
        c->tlist = 0;
        on_expire(c, (h1_timeout_t)c->timeout);
    }
    if (l->head)
        tlist_arm(l, l->ms - spent_ms(now, l->head->since));
}

/* The thread's list for waits of ms on loop ev: an existing one, an
 * unused one renamed, or a new one. */
static size_t tlist_index(struct ev_loop *ev, uint32_t ms)
{
    size_t spare = SIZE_MAX;
    for (size_t i = 0; i < n_tlists; i++) {
        h1_tlist_t *l = tlists[i];
        if (l->ms == ms && l->ev == ev)
            return i;
        if (l->head == NULL && spare == SIZE_MAX)
            spare = i;
    }
    if (spare != SIZE_MAX) {
        h1_tlist_t *l = tlists[spare];
        ev_timer_stop(l->ev, &l->timer);
        l->ms = ms;
        l->ev = ev;
        return spare;
    }
    if (n_tlists == UINT16_MAX) {
        /* as many distinct timeouts in use at once as the index holds */
        DP_ERROR("http1: %zu distinct timeouts in use", n_tlists);
        abort();
    }
    tlists = dp_xrealloc(tlists, (n_tlists + 1) * sizeof(*tlists));
    h1_tlist_t *l = dp_xcalloc(1, sizeof(*l));
    l->ms = ms;
    l->ev = ev;
    ev_init(&l->timer, on_tlist_timer);
    l->timer.data = l;
    tlists[n_tlists] = l;
    return n_tlists++;
}

static void tlist_remove(h1_conn_t *c)
{
    if (c->tlist == 0)
        return;
    h1_tlist_t *l = tlists[c->tlist - 1];
    if (c->tprev)
        c->tprev->tnext = c->tnext;
    else
        l->head = c->tnext;
    if (c->tnext)
        c->tnext->tprev = c->tprev;
    else
        l->tail = c->tprev;
    c->tnext = c->tprev = NULL;
    c->tlist = 0;
    /* the list's timer stays: firing early, it re-arms for the new head */
}

static void tlist_append(h1_conn_t *c, size_t idx, uint32_t now)
{
    h1_tlist_t *l = tlists[idx];
    c->tlist = (unsigned)(idx + 1);
    c->since = now;
    c->tnext = NULL;
    c->tprev = l->tail;
    if (l->tail)
        l->tail->tnext = c;
    else
        l->head = c;
    l->tail = c;
    /* an active timer is due no later than an earlier entry's deadline */
    if (!ev_is_active(&l->timer))
        tlist_arm(l, l->ms);
}

/* Starts waiting for `kind` from now (or stops waiting if its timeout is
 * off). */
static void set_timeout(h1_conn_t *c, h1_timeout_t kind)
{
    uint32_t ms = timeout_ms(c, kind);
    struct ev_loop *ev = c->sock->loop->ev;
    size_t idx = tlist_hint[kind];
    if (ms && (idx >= n_tlists || tlists[idx]->ms != ms || tlists[idx]->ev != ev)) {
        idx = tlist_index(ev, ms);
        tlist_hint[kind] = (uint16_t)idx;
    }
    tlist_remove(c);
    c->timeout = kind;
    if (ms)
        tlist_append(c, idx, loop_ms(ev));
}

static void arm_idle(h1_conn_t *c)
{
    set_timeout(c, TO_IDLE);
}

/* Activity: a deadline counted from the last activity starts again. */
static void touch(h1_conn_t *c)
{
    if (c->tlist == 0 || c->timeout == TO_HEAD)
        return;
    uint32_t now = now_ms(c);
    if (c->since == now)
        return;
    h1_tlist_t *l = tlists[c->tlist - 1];
    if (l->tail == c) {
        c->since = now;
        return;
    }
    size_t idx = c->tlist - 1;
    tlist_remove(c);
    tlist_append(c, idx, now);
}

/* Envoy's request_headers_timeout: a fixed deadline from the first byte
 * of a head; dripping bytes does not move it. */
static bool head_expired(h1_conn_t *c, uint32_t now)
{
    return c->head_timing && c->state == H1S_HEAD && c->req == NULL &&
           spent_ms(now, c->head_start) >= clamp_ms(c->hcm->request_headers_timeout_ms);
}

static void head_timeout(h1_conn_t *c)
{
    dp_stat_inc(stats_of(c)->rq_header_timeout);
    reply_error(c, 408, "request headers timeout", 1);
}

static void on_expire(h1_conn_t *c, h1_timeout_t kind)
{
    switch (kind) {
    case TO_HEAD:
        if (head_expired(c, now_ms(c)))
            head_timeout(c);
        break;
    case TO_STREAM:
        if (c->req) {
            /* stream_idle_timeout: Envoy answers 408 if nothing was sent yet */
            dp_stat_inc(stats_of(c)->rq_idle_timeout);
            st(c)->response_flags |= DP_RF_SI;
            if (!st(c)->head_sent) {
                c->keep_alive = false;
                dp_stream_local_reply(st(c), 408, "stream timeout", NULL);
            } else {
                dp_stream_on_abort(st(c));
                conn_close(c);
            }
            break;
        }
        conn_close(c);
        return;
    case TO_IDLE: /* idle keep-alive connection, or a head stalled */
        if (head_expired(c, now_ms(c))) {
            head_timeout(c);
            break;
        }
        conn_close(c);
        return;
    case TO_CLOSE: /* the client did not close after our FIN */
    case TO_NONE:
        conn_close(c);
        return;
    }
    /* a reply normally moved the connection to its next deadline */
    if (c->sock && c->tlist == 0)
        set_timeout(c, c->state == H1S_CLOSING ? TO_CLOSE : c->req ? TO_STREAM : TO_IDLE);
}

/* After a read: a head in progress (its first bytes arrived, not its
 * end; a whole head read at once, the usual, never gets here) has two
 * deadlines, the idle one moved by every byte and the fixed
 * request_headers_timeout. When the latter is the shorter it always comes
 * first: the connection waits on its list instead. Otherwise (a longer
 * request_headers_timeout than idle_timeout) it stays on the idle list and
 * the head deadline is checked on each read and at the idle deadline, so
 * a dripped head gets its 408 at most one read late. */
static void head_timer_check(h1_conn_t *c)
{
    uint32_t rht = clamp_ms(c->hcm->request_headers_timeout_ms);
    if (rht == 0 || c->state != H1S_HEAD || c->req != NULL || c->sock->in.len == 0) {
        c->head_timing = 0;
        return;
    }
    uint32_t now = now_ms(c);
    if (!c->head_timing) {
        c->head_timing = 1;
        c->head_start = now;
        uint32_t idle = timeout_ms(c, TO_IDLE);
        if (idle == 0 || rht <= idle)
            set_timeout(c, TO_HEAD);
        return;
    }
    if (c->timeout != TO_HEAD && head_expired(c, now))
        head_timeout(c);
}

/* --- response side (dp_stream_ops_t) ------------------------------------ */

static h1_conn_t *conn_of(dp_stream_t *s)
{
    return s->codec;
}

static void put(dp_buf_t *b, const char *p, size_t n)
{
    dp_buf_append(b, p, n);
}

static void put_lit(dp_buf_t *b, const char *s)
{
    dp_buf_append(b, s, strlen(s));
}

static void response_complete(h1_conn_t *c);

static void h1_send_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    h1_conn_t *c = conn_of(s);
    dp_buf_t *out = &c->sock->out;
    char line[64];
    if (c->state == H1S_BODY || c->draining)
        c->keep_alive = false; /* body not read to the end, or draining: no next request */
    c->resp_no_body = c->is_head || status == 204 || status == 304 || (status >= 100 && status < 200);
    c->resp_chunked = c->resp_until_close = false;
    /* "HTTP/1.1 200 OK\r\n" without printf: this runs for every response */
    const char *reason = dp_http_reason(status);
    size_t rl = strlen(reason), n = 0;
    memcpy(line, s->http_version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
    n = 9 + dp_u64toa((uint64_t)status, line + 9);
    line[n++] = ' ';
    put(out, line, n);
    put(out, reason, rl);
    put(out, "\r\n", 2);
    for (size_t i = 0; i < h->n; i++) {
        put(out, h->v[i].name.base, h->v[i].name.len);
        put(out, ": ", 2);
        put(out, h->v[i].value.base, h->v[i].value.len);
        put(out, "\r\n", 2);
    }
    if (status == 101 && s->upgrade.len > 0 && c->state == H1S_WAIT_RESP) {
        /* the upgrade succeeded: the router passes the upstream's 101
         * without its hop-by-hop headers, the codec restores them */
        put_lit(out, "connection: upgrade\r\nupgrade: ");
        put(out, s->upgrade.base, s->upgrade.len);
        put(out, "\r\n\r\n", 4);
        dp_sock_queued(c->sock);
        c->state = H1S_TUNNEL;
        c->resp_no_body = false;
        c->keep_alive = false;
        s->upgraded = true;
        dp_stat_inc(stats_of(c)->cx_upgrades_total);
        dp_stat_inc(stats_of(c)->cx_upgrades_active);
        touch(c);
        /* bytes the client sent after its head are the tunnel's */
        dp_sock_read_start(c->sock, on_read);
        return;
    }
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        /* no framing headers */
    } else if (content_length >= 0) {
        memcpy(line, "content-length: ", 16);
        n = 16 + dp_u64toa((uint64_t)content_length, line + 16);
        line[n++] = '\r';
        line[n++] = '\n';
        put(out, line, n);
    } else if (end_stream) {
        put_lit(out, "content-length: 0\r\n");
    } else if (s->http_version >= 11) {
        if (!c->resp_no_body)
            c->resp_chunked = true;
        put_lit(out, "transfer-encoding: chunked\r\n");
    } else {
        c->resp_until_close = true;
        c->keep_alive = false;
    }
    if (!c->keep_alive)
        put_lit(out, "connection: close\r\n");
    else if (s->http_version == 10)
        put_lit(out, "connection: keep-alive\r\n");
    put(out, "\r\n", 2);
    dp_sock_queued(c->sock);
    touch(c);
    if (end_stream)
        response_complete(c);
}

static void h1_send_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    h1_conn_t *c = conn_of(s);
    if (!c->resp_no_body && len > 0) {
        if (c->resp_chunked && c->state != H1S_TUNNEL) {
            char hdr[24];
            size_t n = dp_u64tohex(len, hdr);
            hdr[n++] = '\r';
            hdr[n++] = '\n';
            struct iovec iov[3] = {{hdr, n}, {(void *)data, len}, {"\r\n", 2}};
            dp_sock_write(c->sock, iov, 3);
        } else {
            struct iovec iov = {(void *)data, len};
            dp_sock_write(c->sock, &iov, 1);
        }
    }
    touch(c);
    if (end_stream) {
        if (c->resp_chunked && !c->resp_no_body) {
            struct iovec iov = {"0\r\n\r\n", 5};
            dp_sock_write(c->sock, &iov, 1);
        }
        response_complete(c);
    }
}

static size_t h1_pending(dp_stream_t *s)
{
    return dp_sock_pending(conn_of(s)->sock);
}

static void h1_read_body(dp_stream_t *s, bool enable)
{
    h1_conn_t *c = conn_of(s);
    s->body_paused = !enable;
    if (enable && (c->state == H1S_BODY || (c->state == H1S_TUNNEL && !c->tunnel_in_done)))
        dp_sock_read_start(c->sock, on_read);
}

static void h1_reset(dp_stream_t *s)
{
    h1_conn_t *c = conn_of(s);
    conn_close(c);
}

static void drain_conn(dp_conn_link_t *l, bool hard);

static void h1_drain(dp_stream_t *s)
{
    drain_conn(&conn_of(s)->link, false);
}

static const dp_stream_ops_t h1_ops = {
    .send_head = h1_send_head,
    .send_body = h1_send_body,
    .pending = h1_pending,
    .read_body = h1_read_body,
    .reset = h1_reset,
    .drain = h1_drain,
};

/* --- connection life cycle ---------------------------------------------- */

/* Requests come from a per-thread free list: the memory of a finished
 * request stays valid (callers up the stack may still look at its
 * stream) until the next request of this thread takes it, which only
 * process() does, from the loop. */
static _Thread_local h1_req_t *free_reqs[64];
static _Thread_local size_t n_free_reqs;

static dp_stream_t *stream_start(h1_conn_t *c)
{
    c->req = n_free_reqs ? free_reqs[--n_free_reqs] : dp_xmalloc(sizeof(h1_req_t));
    dp_stream_init(&c->req->s, &h1_ops, c, worker_of(c), c->link.listener, c->hcm);
    c->head_timing = 0; /* the head is complete (or refused) */
    return &c->req->s;
}

static void finish_stream(h1_conn_t *c)
{
    h1_req_t *r = c->req;
    if (r == NULL)
        return;
    dp_stream_dispose(&r->s);
    c->req = NULL;
    if (n_free_reqs < DP_ARRAY_SIZE(free_reqs))
        free_reqs[n_free_reqs++] = r;
    else
        dp_loop_defer_free(c->sock->loop, r);
}

static void conn_close(h1_conn_t *c)
{
    if (c->sock == NULL)
        return;
    if (c->req) {
        if (!st(c)->resp_done)
            dp_stream_on_abort(st(c));
        finish_stream(c);
    }
    dp_loop_t *loop = c->sock->loop;
    dp_worker_t *w = worker_of(c);
    tlist_remove(c);
    dp_sock_close(c->sock);
    c->sock = NULL;
    dp_worker_conn_remove(w, &c->link);
    dp_stat_dec(stats_of(c)->cx_active);
    dp_stat_inc(stats_of(c)->cx_destroy);
    dp_listener_stats_t *ls = dp_listener_stats_of(c->link.listener);
    dp_stat_dec(ls->cx_active);
    dp_stat_inc(ls->cx_destroy);
    /* the link's pointer is the reference taken at attach */
    dp_listener_cfg_unref((dp_listener_cfg_t *)c->link.listener);
    dp_loop_defer_free(loop, c);
}

static void on_drain(dp_sock_t *sock, int err)
{
    (void)err;
    h1_conn_t *c = sock->data;
    if (c->state == H1S_CLOSING) {
        dp_sock_shutdown(sock);
        return;
    }
    if (c->req && !st(c)->resp_done)
        dp_stream_on_writable(st(c));
}

static void start_closing(h1_conn_t *c)
{
    c->state = H1S_CLOSING;
    set_timeout(c, TO_CLOSE);
    if (dp_sock_pending(c->sock) == 0)
        dp_sock_shutdown(c->sock);
    /* keep reading (and discarding) so the kernel does not RST unread data */
    dp_sock_read_start(c->sock, on_read);
}

static void response_complete(h1_conn_t *c)
{
    if (c->state == H1S_TUNNEL) {
        /* the upstream closed its side: FIN to the client once written;
         * the connection ends when the client closes too (or at the
         * delayed-close timer, as any closing connection) */
        dp_stat_dec(stats_of(c)->cx_upgrades_active);
        finish_stream(c);
        start_closing(c);
        return;
    }
    if (c->state == H1S_BODY) {
        /* answered before the request body ended (e.g. 401 on an upload) */
        finish_stream(c);
        start_closing(c);
        return;
    }
    if (c->state != H1S_WAIT_RESP)
        return;
    finish_stream(c);
    if (!c->keep_alive || c->draining) {
        start_closing(c);
        return;
    }
    c->state = H1S_HEAD;
    c->scanned = 0;
    arm_idle(c);
    /* a pipelined request may already be buffered: handle it from the loop */
    dp_sock_read_start(c->sock, on_read);
}

static void drain_conn(dp_conn_link_t *l, bool hard)
{
    h1_conn_t *c = (h1_conn_t *)l;
    c->draining = true;
    if (hard && c->state == H1S_HEAD && c->req == NULL && c->sock && c->sock->in.len == 0)
        start_closing(c);
}

/* Protocol error before a stream exists: JSON reply and close. */
static void reply_error(h1_conn_t *c, int status, const char *reason, int minor)
{
    dp_stat_inc(stats_of(c)->cx_protocol_error);
    stream_start(c);
    st(c)->http_version = minor == 0 ? 10 : 11;
    st(c)->response_flags |= DP_RF_DPE;
    c->keep_alive = false;
    c->state = H1S_WAIT_RESP;
    dp_stream_count(st(c));
    dp_stream_local_reply(st(c), status, reason, NULL);
}

/* Fills the stream from a parsed head. The head is copied into the
 * request arena so headers stay valid while the input buffer moves. */
static int start_stream(h1_conn_t *c, const dp_h1_request_t *req, const char *head, size_t head_len)
{
    dp_stream_t *s = stream_start(c);
    char *copy = dp_arena_alloc(&s->arena, head_len);
    memcpy(copy, head, head_len);
#define REBASE(p) (copy + ((p) - head))
    s->http_version = req->minor_version == 0 ? 10 : 11;
    s->method = dp_slice(REBASE(req->method), req->method_len);
    s->tls = c->sock->tops != &dp_transport_raw;
    s->scheme = s->tls ? DP_SLICE_LIT("https") : DP_SLICE_LIT("http");
    s->peer = (const struct sockaddr *)&c->sock->peer;
    s->local = (const struct sockaddr *)&c->sock->local;
    const char *target = REBASE(req->target);
    size_t tlen = req->target_len;
    dp_slice_t authority = DP_SLICE_NULL;
    if (req->target_form == DP_H1_TARGET_ABSOLUTE) {
        /* absolute-form: the target's authority wins over Host (RFC 9112 3.2.2) */
        const char *p = memchr(target, ':', tlen);
        size_t off = p ? (size_t)(p - target) + 3 : tlen;
        if (off > tlen || memcmp(target + off - 3, "://", 3) != 0)
            return 400;
        const char *a = target + off;
        size_t alen = 0;
        while (off + alen < tlen && a[alen] != '/' && a[alen] != '?')
            alen++;
        authority = dp_slice(a, alen);
        if (off + alen == tlen)
            s->path = DP_SLICE_LIT("/");
        else if (a[alen] == '?') {
            char *pp = dp_arena_printf(&s->arena, NULL, "/%.*s", (int)(tlen - off - alen), a + alen);
            s->path = dp_slice(pp, tlen - off - alen + 1);
        } else
            s->path = dp_slice(a + alen, tlen - off - alen);
    } else if (req->target_form == DP_H1_TARGET_ORIGIN) {
        s->path = dp_slice(target, tlen);
    } else if (req->target_form == DP_H1_TARGET_ASTERISK) {
        s->path = dp_slice(target, tlen);
    } else {
        return 400; /* CONNECT is not proxied (no upgrade_configs for it) */
    }
    if (authority.base == NULL && req->host)
        authority = dp_slice(REBASE(req->host), req->host_len);
    s->authority = authority;
    s->expect_continue = req->expect_continue;
    for (size_t i = 0; i < req->num_headers; i++) {
        char *name = REBASE(req->headers[i].name);
        size_t nl = req->headers[i].name_len;
        for (size_t k = 0; k < nl; k++)
            if ((unsigned char)(name[k] - 'A') < 26u)
                name[k] = (char)(name[k] + 32);
        if (nl == 4 && memcmp(name, "host", 4) == 0)
            continue; /* becomes :authority */
        dp_headers_add(&s->req_headers, dp_slice(name, nl),
                       dp_slice(REBASE(req->headers[i].value), req->headers[i].value_len));
    }
    if (req->upgrade && req->upgrade_value_len > 0) {
        /* the first protocol of the list; h2c is not an upgrade we do (Envoy
         * drops it too: the request goes on as HTTP/1.1) */
        const char *u = REBASE(req->upgrade_value);
        size_t ul = 0;
        while (ul < req->upgrade_value_len && u[ul] != ',' && u[ul] != ' ' && u[ul] != '\t')
            ul++;
        if (!(ul == 3 && strncasecmp(u, "h2c", 3) == 0) && ul > 0) {
            char *t = dp_arena_strndup(&s->arena, u, ul);
            for (size_t k = 0; k < ul; k++)
                if ((unsigned char)(t[k] - 'A') < 26u)
                    t[k] = (char)(t[k] + 32);
            s->upgrade = dp_slice(t, ul);
        }
    }
#undef REBASE
    s->req_has_body = req->body != DP_H1_BODY_NONE;
    s->req_content_length = req->body == DP_H1_BODY_LENGTH ? (int64_t)req->content_length
                            : req->body == DP_H1_BODY_CHUNKED ? -1
                                                              : 0;
    return 0;
}

static void deliver_body(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    while (c->state == H1S_BODY && c->req && !st(c)->body_paused) {
        const char *p = dp_buf_data(&sock->in);
        size_t len = sock->in.len;
        h1_req_t *r = c->req;
        if (r->body_kind == DP_H1_BODY_LENGTH) {
            if (len == 0)
                break;
            size_t n = (size_t)DP_MIN((uint64_t)len, r->body_left);
            r->body_left -= n;
            bool end = r->body_left == 0;
            if (end)
                c->state = H1S_WAIT_RESP;
            dp_stream_on_body(st(c), p, n, end);
            if (c->sock == NULL)
                return;
            dp_buf_consume(&sock->in, n);
        } else {
            const char *data = NULL, *cerr = NULL;
            size_t dlen = 0;
            int n = dp_h1_chunked_decode(&r->chunked, p, len, &data, &dlen, &cerr);
            if (n < 0) {
                c->keep_alive = false;
                st(c)->response_flags |= DP_RF_DPE;
                dp_stat_inc(stats_of(c)->cx_protocol_error);
                if (!st(c)->head_sent) {
                    dp_stream_local_reply(st(c), 400, cerr ? cerr : "malformed chunked body", NULL);
                } else {
                    conn_close(c);
                }
                return;
            }
            bool end = dp_h1_chunked_done(&r->chunked);
            if (end)
                c->state = H1S_WAIT_RESP;
            if (dlen > 0 || end)
                dp_stream_on_body(st(c), data, dlen, end);
            if (c->sock == NULL)
                return;
            dp_buf_consume(&sock->in, (size_t)n);
            if (n == 0 && dlen == 0 && !end)
                break;
        }
    }
    if (c->state == H1S_BODY && err) {
        /* client went away in the middle of its body */
        conn_close(c);
        return;
    }
    if (c->state == H1S_BODY && c->req && st(c)->body_paused)
        dp_sock_read_stop(sock);
}

/* Upgraded: every byte from the client is request body; its EOF is the
 * end of the request (a half-close passed upstream). */
static void tunnel_read(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    if (c->tunnel_in_done) {
        dp_buf_consume(&sock->in, sock->in.len);
        if (err && err != DP_ECLOSED)
            conn_close(c);
        return;
    }
    if (sock->in.len > 0 && c->req) {
        size_t n = sock->in.len;
        dp_stream_on_body(st(c), dp_buf_data(&sock->in), n, false);
        if (c->sock == NULL)
            return;
        dp_buf_consume(&sock->in, n);
        if (c->state != H1S_TUNNEL)
            return; /* the tunnel ended meanwhile: process() goes on */
    }
    if (err) {
        c->tunnel_in_done = true;
        if (err != DP_ECLOSED) {
            conn_close(c);
            return;
        }
        dp_stream_on_body(st(c), NULL, 0, true);
        if (c->sock)
            dp_sock_read_stop(c->sock);
        return;
    }
    if (c->req && st(c)->body_paused)
        dp_sock_read_stop(sock);
}

static void process(h1_conn_t *c, int err)
{
    dp_sock_t *sock = c->sock;
    for (;;) {
        if (c->sock == NULL)
            return;
        switch (c->state) {
        case H1S_TUNNEL:
            tunnel_read(c, err);
            if (c->sock == NULL || c->state == H1S_TUNNEL)
                return;
            continue;
        case H1S_CLOSING:
            dp_buf_consume(&sock->in, sock->in.len);
            if (err)
                conn_close(c);
            return;
        case H1S_WAIT_RESP:
            /* pipelined bytes wait; a closed client aborts the stream */
            if (err) {
                conn_close(c);
                return;
            }
            if (sock->in.len >= sock->read_limit)
                dp_sock_read_stop(sock);
            return;
        case H1S_BODY:
            deliver_body(c, err);
            if (c->sock == NULL || c->state == H1S_BODY)
                return;
            continue;
        case H1S_HEAD: {
            if (sock->in.len == 0) {
                if (err)
                    conn_close(c);
                return;
            }
            const char *buf = dp_buf_data(&sock->in);
            dp_h1_limits_t lim = limits_of(c->hcm);
            if (dp_h1_head_complete(buf, sock->in.len, c->scanned) <= 0 && sock->in.len <= lim.max_header_bytes) {
                c->scanned = (uint32_t)sock->in.len;
                if (err)
                    conn_close(c);
                return;
            }
            dp_h1_request_t req;
            int r = dp_h1_parse_request(buf, sock->in.len, &lim, &req, header_scratch(lim.max_headers + 1));
            if (r == DP_EAGAIN) {
                c->scanned = (uint32_t)sock->in.len;
                if (err)
                    conn_close(c);
                return;
            }
            if (r < 0) {
                reply_error(c, req.error_status ? req.error_status : 400, req.error ? req.error : "bad request",
                            1);
                return;
            }
            c->scanned = 0;
            c->is_head = req.method_len == 4 && memcmp(req.method, "HEAD", 4) == 0;
            c->keep_alive = req.keep_alive && !c->draining;
            int bad = start_stream(c, &req, buf, (size_t)r);
            dp_buf_consume(&sock->in, (size_t)r);
            if (bad != 0) {
                st(c)->response_flags |= DP_RF_DPE;
                c->keep_alive = false;
                c->state = H1S_WAIT_RESP;
                dp_stream_local_reply(st(c), bad, "invalid request target", NULL);
                continue;
            }
            c->req->body_kind = req.body;
            c->req->body_left = req.content_length;
            if (req.body == DP_H1_BODY_CHUNKED)
                dp_h1_chunked_init(&c->req->chunked);
            c->state = req.body == DP_H1_BODY_NONE ? H1S_WAIT_RESP : H1S_BODY;
            set_timeout(c, TO_STREAM);
            if (req.expect_continue && req.body != DP_H1_BODY_NONE) {
                /* as Envoy without proxy_100_continue: answer it ourselves */
                struct iovec iov = {"HTTP/1.1 100 Continue\r\n\r\n", 25};
                dp_sock_write(sock, &iov, 1);
            }
            dp_stream_on_headers(st(c));
            continue;
        }
        }
    }
}

static void on_read(dp_sock_t *sock, int err)
{
    h1_conn_t *c = sock->data;
    process(c, err);
    if (c->sock == NULL)
        return;
    /* after process(): a request it started has just set its deadline */
    touch(c);
    head_timer_check(c);
}

/* Parser output is only needed until the head is copied into the request
 * arena (start_stream), so one array per worker thread serves every
 * connection: an idle connection holds none. */
static _Thread_local dp_h1_header_t *scratch;
static _Thread_local size_t scratch_cap;

void dp_h1_server_thread_exit(void)
{
    for (size_t i = 0; i < n_tlists; i++) {
        ev_timer_stop(tlists[i]->ev, &tlists[i]->timer);
        free(tlists[i]);
    }
    free(tlists);
    tlists = NULL;
    n_tlists = 0;
    memset(tlist_hint, 0, sizeof(tlist_hint));
    while (n_free_reqs)
        free(free_reqs[--n_free_reqs]);
    free(scratch);
    scratch = NULL;
    scratch_cap = 0;
}

static dp_h1_header_t *header_scratch(size_t n)
{
    if (n > scratch_cap) {
        scratch = dp_xrealloc(scratch, n * sizeof(*scratch));
        scratch_cap = n;
    }
    return scratch;
}

void dp_h1_server_attach(dp_worker_t *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc, dp_sock_t *sock)
{
    /* worker_of() finds w again through the socket's loop */
    assert(sock->loop == &w->loop && sock->loop->owner == w);
    h1_conn_t *c = dp_xcalloc(1, sizeof(*c));
    c->hcm = fc->hcm;
    c->sock = sock;
    c->sock->data = c;
    c->sock->on_drain = on_drain;
    /* room for a maximal head plus what arrives with it */
    c->sock->read_limit = (uint32_t)(limits_of(c->hcm).max_header_bytes + DP_BUF_CHUNK);
    c->keep_alive = true;
    c->link.drain = drain_conn;
    c->link.listener = dp_listener_cfg_ref(l);
    dp_worker_conn_add(w, &c->link);
    dp_hcm_stats_t *hs = stats_of(c);
    dp_stat_inc(hs->cx_total);
    dp_stat_inc(hs->cx_active);
    dp_stat_inc(hs->cx_http1_total);
    arm_idle(c);
    dp_sock_read_start(c->sock, on_read);
}
