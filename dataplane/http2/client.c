/* HTTP/2 upstream client on nghttp2 (see client.h).
 *
 * Re-entrancy: nghttp2's callbacks only record what arrived in the stream
 * objects (headers copied into the stream's arena, DATA appended to its
 * receive buffer, flags); the router is told afterwards, by process(),
 * outside any nghttp2 call. Router-initiated ops (send_*, read, detach)
 * never call the router back: what they make deliverable is delivered from
 * the next I/O event or from a zero-delay "kick" timer. A stream lives
 * until the router detached it and nghttp2 closed it; the connection lives
 * until it is closed and has no stream left. */
#include "dataplane/http2/client.h"

#include <nghttp2/nghttp2.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http/stream.h"

#define OUT_HIGH (256 * 1024)        /* frames queued on the socket before nghttp2 holds the rest */
#define READ_LIMIT (64 * 1024)       /* socket bytes per read */
#define MAX_HEADER_BYTES (96 * 1024) /* one response header block, names and values */
#define MIN_WINDOW 65535u

typedef struct h2c_conn h2c_conn_t;
typedef struct h2c_stream h2c_stream_t;

enum { BLOCK_NONE, BLOCK_HEAD, BLOCK_TRAILERS, BLOCK_INTERIM };

struct h2c_stream {
    dp_upstream_stream_t super;
    h2c_conn_t *c;
    h2c_stream_t *prev, *next;
    int32_t id; /* 0 until submitted */
    const dp_upstream_cbs_t *cbs;
    void *ctx;
    dp_arena_t arena; /* received header bytes, request trailers */

    /* response */
    int block;
    size_t block_bytes;
    int status;
    int64_t content_length;
    dp_headers_t head, trailers;
    dp_buf_t rx; /* DATA not yet delivered (and not yet consumed for flow control) */
    bool head_ready, head_done, trailers_ready, rx_end, finished, got_bytes, paused;
    bool closed, refused, local_reset, detached;
    uint32_t close_code;

    /* request */
    dp_buf_t tx; /* body the peer's window has not taken yet */
    dp_headers_t req_trailers;
    bool submitted, tx_end, tx_trailers, tx_deferred, tx_done, drain_wanted, drain_ready;
};

struct h2c_conn {
    dp_upconn_t super;
    nghttp2_session *ng; /* NULL once closed */
    dp_loop_t *loop;
    dp_h2_client_opts_t opts;
    h2c_stream_t *streams, *streams_tail;
    int depth;   /* nested entry points; freeing waits for 0 */
    bool again;  /* something to deliver or write: process() loops */
    bool events; /* nghttp2 callbacks recorded news for a stream */
    bool dead, goaway, goaway_told, settings_changed;
    dp_upstream_reset_t dead_reason;
    const char *dead_detail;
    ev_timer kick;
};

static void process(h2c_conn_t *c);
static void flush(h2c_conn_t *c);
static void conn_fail(h2c_conn_t *c, dp_upstream_reset_t reason, const char *detail, bool goaway);

/* --- helpers -------------------------------------------------------------- */

uint32_t dp_h2_client_stream_window(const dp_h2_client_opts_t *o)
{
    uint32_t w = o->h2.initial_stream_window_size ? o->h2.initial_stream_window_size : MIN_WINDOW;
    if (o->window_limit > 0 && w > o->window_limit)
        w = o->window_limit;
    return w < MIN_WINDOW ? MIN_WINDOW : w;
}

static uint32_t conn_window(const dp_h2_client_opts_t *o)
{
    uint64_t w = o->h2.initial_connection_window_size ? o->h2.initial_connection_window_size : MIN_WINDOW;
    uint64_t cap = (uint64_t)dp_h2_client_stream_window(o) * 16;
    if (w > cap)
        w = cap;
    if (w > 0x7fffffffu)
        w = 0x7fffffffu;
    return w < MIN_WINDOW ? MIN_WINDOW : (uint32_t)w;
}

static h2c_stream_t *find(h2c_conn_t *c, int32_t id)
{
    h2c_stream_t *st = c->ng ? nghttp2_session_get_stream_user_data(c->ng, id) : NULL;
    if (st)
        return st;
    /* a stream nghttp2 has not opened yet (HEADERS still queued) */
    for (st = c->streams; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

static void kick(h2c_conn_t *c)
{
    if (!ev_is_active(&c->kick)) {
        ev_timer_set(&c->kick, 0, 0);
        ev_timer_start(c->loop->ev, &c->kick);
    }
}

static void enter(h2c_conn_t *c)
{
    c->depth++;
}

static void stream_free(h2c_stream_t *st)
{
    h2c_conn_t *c = st->c;
    if (st->prev)
        st->prev->next = st->next;
    else
        c->streams = st->next;
    if (st->next)
        st->next->prev = st->prev;
    else
        c->streams_tail = st->prev;
    if (c->ng && st->id > 0 && !st->closed)
        nghttp2_session_set_stream_user_data(c->ng, st->id, NULL);
    dp_buf_free(&st->rx);
    dp_buf_free(&st->tx);
    dp_headers_free(&st->head);
    dp_headers_free(&st->trailers);
    dp_headers_free(&st->req_trailers);
    dp_arena_free(&st->arena);
    dp_loop_defer_free(c->loop, st);
}

/* Frees what the router let go of and nghttp2 is done with. Returns true
 * when it gave flow-control window back (a WINDOW_UPDATE to write). */
static bool sweep(h2c_conn_t *c)
{
    bool consumed = false;
    h2c_stream_t *next;
    for (h2c_stream_t *st = c->streams; st; st = next) {
        next = st->next;
        if (!st->detached)
            continue;
        if (st->rx.len > 0) {
            if (c->ng && st->id > 0) {
                nghttp2_session_consume(c->ng, st->id, st->rx.len);
                consumed = true;
            }
            dp_buf_free(&st->rx);
        }
        if (st->closed || !st->submitted || c->dead)
            stream_free(st);
    }
    return consumed;
}

static void leave(h2c_conn_t *c)
{
    if (--c->depth > 0)
        return;
    c->depth++; /* flush() may close the connection: free below, not under it */
    if (sweep(c)) {
        flush(c);
        if (c->events || c->again)
            kick(c);
    }
    c->depth--;
    if (c->dead && c->streams == NULL) {
        ev_timer_stop(c->loop->ev, &c->kick);
        dp_loop_defer_free(c->loop, c);
    }
}

/* End of a router-initiated op: write what it produced; deliveries it made
 * possible go through process() (already running further up the stack,
 * or from the kick timer). */
static void op_leave(h2c_conn_t *c)
{
    if (c->depth > 1) {
        c->again = true;
    } else {
        flush(c);
        if (c->events || c->again)
            kick(c);
    }
    leave(c);
}

/* --- output ---------------------------------------------------------------- */

static void flush(h2c_conn_t *c)
{
    if (c->dead)
        return;
    dp_sock_t *sock = c->super.sock;
    bool wrote = false;
    while (dp_sock_pending(sock) < OUT_HIGH && !sock->write_error) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(c->ng, &data);
        if (n < 0) {
            conn_fail(c, DP_UPSTREAM_RESET_PROTOCOL, nghttp2_strerror((int)n), false);
            return;
        }
        if (n == 0)
            break;
        dp_buf_append(&sock->out, data, (size_t)n);
        wrote = true;
    }
    if (wrote)
        dp_sock_queued(sock);
    if (!nghttp2_session_want_read(c->ng) && !nghttp2_session_want_write(c->ng))
        conn_fail(c, DP_UPSTREAM_RESET_CONNECTION, "connection termination", false); /* GOAWAY done */
}

/* --- delivery to the router ------------------------------------------------ */

static void fail_stream(h2c_stream_t *st)
{
    h2c_conn_t *c = st->c;
    dp_upstream_reset_t r;
    const char *detail;
    if (st->closed && st->refused) {
        r = DP_UPSTREAM_RESET_REFUSED;
        detail = "refused stream";
    } else if (st->closed && st->local_reset) {
        r = DP_UPSTREAM_RESET_PROTOCOL;
        detail = "invalid response";
    } else if (st->closed) {
        r = DP_UPSTREAM_RESET_REMOTE;
        detail = nghttp2_http2_strerror(st->close_code);
    } else {
        r = c->dead_reason;
        detail = c->dead_detail;
    }
    st->finished = true;
    st->cbs->on_error(st->ctx, r, st->got_bytes, detail);
}

static void deliver(h2c_stream_t *st)
{
    h2c_conn_t *c = st->c;
    if (st->cbs == NULL || st->finished)
        return;
    if (st->drain_ready) {
        st->drain_ready = false;
        if (st->cbs->on_drain)
            st->cbs->on_drain(st->ctx);
        if (st->cbs == NULL)
            return;
    }
    if (!st->rx_end && (st->closed || c->dead)) {
        fail_stream(st);
        return;
    }
    if (st->head_ready && !st->head_done) {
        st->head_done = true;
        bool end = st->rx_end && st->rx.len == 0 && !st->trailers_ready;
        if (end)
            st->finished = true;
        st->cbs->on_head(st->ctx, st->status, &st->head, st->content_length, end);
        if (end || st->cbs == NULL)
            return;
    }
    if (!st->head_done)
        return;
    while (st->rx.len > 0 && !st->paused && st->cbs) {
        size_t n = st->rx.len;
        bool end = st->rx_end && !st->trailers_ready;
        if (end)
            st->finished = true;
        /* rx only grows inside nghttp2_session_mem_recv, never under this call */
        st->cbs->on_body(st->ctx, dp_buf_data(&st->rx), n, end);
        dp_buf_consume(&st->rx, n);
        if (c->ng && st->id > 0)
            nghttp2_session_consume(c->ng, st->id, n);
        if (end)
            return;
    }
    if (st->cbs == NULL || st->paused)
        return;
    if (st->rx_end && st->rx.len == 0) {
        st->finished = true;
        if (st->trailers_ready)
            st->cbs->on_trailers(st->ctx, &st->trailers);
        else
            st->cbs->on_body(st->ctx, NULL, 0, true);
    }
}

static void notify_pool(h2c_conn_t *c)
{
    if (c->goaway && !c->goaway_told && !c->dead) {
        c->goaway_told = true;
        dp_upconn__event(&c->super, DP_UPCONN_EV_GOAWAY);
    }
    if (c->settings_changed && !c->dead) {
        c->settings_changed = false;
        dp_upconn__event(&c->super, DP_UPCONN_EV_CAPACITY);
    }
}

/* Delivers what is deliverable and writes what nghttp2 has, until neither
 * produces more (a callback may start or end streams). Runs at depth 1. */
static void process(h2c_conn_t *c)
{
    int rounds = 0;
    do {
        c->again = false;
        c->events = false;
        for (h2c_stream_t *st = c->streams; st; st = st->next)
            deliver(st);
        flush(c);
        notify_pool(c);
    } while ((c->again || c->events) && ++rounds < 64);
    if (c->again || c->events)
        kick(c); /* a stream that keeps producing must not starve the loop */
}

static void on_kick(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    h2c_conn_t *c = t->data;
    enter(c);
    process(c);
    leave(c);
}

/* --- nghttp2 callbacks: record only ---------------------------------------- */

static int cb_begin_headers(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    (void)ng;
    h2c_conn_t *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    h2c_stream_t *st = find(c, frame->hd.stream_id);
    if (st == NULL)
        return 0;
    st->got_bytes = true;
    st->block_bytes = 0;
    if (st->head_ready) {
        st->block = BLOCK_TRAILERS;
    } else {
        st->block = BLOCK_HEAD;
        dp_headers_clear(&st->head);
        st->content_length = -1;
    }
    return 0;
}

static int cb_header(nghttp2_session *ng, const nghttp2_frame *frame, const uint8_t *name, size_t namelen,
                     const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    (void)ng;
    (void)flags;
    h2c_conn_t *c = ud;
    h2c_stream_t *st = find(c, frame->hd.stream_id);
    if (st == NULL || st->block == BLOCK_NONE || st->block == BLOCK_INTERIM)
        return 0;
    st->block_bytes += namelen + valuelen + 32;
    if (st->block_bytes > MAX_HEADER_BYTES)
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    const char *n = (const char *)name, *v = (const char *)value;
    if (namelen > 0 && n[0] == ':') {
        if (st->block == BLOCK_HEAD && namelen == 7 && memcmp(n, ":status", 7) == 0) {
            int s = 0;
            for (size_t i = 0; i < valuelen && i < 3; i++)
                s = s * 10 + (v[i] - '0');
            st->status = s;
            if (s >= 100 && s < 200)
                st->block = BLOCK_INTERIM; /* 1xx: dropped, the final head follows */
        }
        return 0;
    }
    if (st->block == BLOCK_HEAD && namelen == 14 && memcmp(n, "content-length", 14) == 0) {
        int64_t cl = 0;
        for (size_t i = 0; i < valuelen && cl < ((int64_t)1 << 56); i++)
            cl = cl * 10 + (v[i] - '0'); /* nghttp2 checked the digits */
        st->content_length = cl;
        return 0;
    }
    dp_slice_t sn = dp_slice(dp_arena_strndup(&st->arena, n, namelen), namelen);
    dp_slice_t sv = dp_slice(dp_arena_strndup(&st->arena, v, valuelen), valuelen);
    dp_headers_add(st->block == BLOCK_HEAD ? &st->head : &st->trailers, sn, sv);
    return 0;
}

static int cb_frame_recv(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    (void)ng;
    h2c_conn_t *c = ud;
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA: {
        h2c_stream_t *st = find(c, frame->hd.stream_id);
        if (st == NULL)
            return 0;
        if (frame->hd.type == NGHTTP2_HEADERS) {
            if (st->block == BLOCK_HEAD)
                st->head_ready = true;
            else if (st->block == BLOCK_TRAILERS)
                st->trailers_ready = true;
            st->block = BLOCK_NONE;
        }
        if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
            st->rx_end = true;
        c->events = true;
        return 0;
    }
    case NGHTTP2_GOAWAY:
        c->goaway = true;
        c->events = true;
        return 0;
    case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
            c->settings_changed = true;
            c->events = true;
        }
        return 0;
    default:
        return 0;
    }
}

static int cb_data_chunk(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                         void *ud)
{
    (void)flags;
    h2c_conn_t *c = ud;
    h2c_stream_t *st = find(c, id);
    if (st == NULL || st->detached || st->finished) {
        nghttp2_session_consume(ng, id, len); /* nobody wants it: give the window back */
        return 0;
    }
    st->got_bytes = true;
    dp_buf_append(&st->rx, data, len);
    c->events = true;
    return 0;
}

static int cb_stream_close(nghttp2_session *ng, int32_t id, uint32_t error_code, void *ud)
{
    (void)ng;
    h2c_conn_t *c = ud;
    h2c_stream_t *st = find(c, id);
    if (st == NULL)
        return 0;
    st->closed = true;
    st->close_code = error_code;
    if (error_code == NGHTTP2_REFUSED_STREAM)
        st->refused = true;
    c->events = true;
    return 0;
}

static int cb_frame_send(nghttp2_session *ng, const nghttp2_frame *frame, void *ud)
{
    (void)ng;
    h2c_conn_t *c = ud;
    if (frame->hd.type == NGHTTP2_RST_STREAM) {
        /* our reset (nghttp2 rejecting the response, or a cancel) */
        h2c_stream_t *st = find(c, frame->hd.stream_id);
        if (st && frame->rst_stream.error_code != NGHTTP2_CANCEL)
            st->local_reset = true;
    }
    return 0;
}

static int cb_frame_not_send(nghttp2_session *ng, const nghttp2_frame *frame, int lib_error, void *ud)
{
    (void)ng;
    (void)lib_error;
    h2c_conn_t *c = ud;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    /* a request the server never saw (GOAWAY arrived, stream ids ran out) */
    h2c_stream_t *st = find(c, frame->hd.stream_id);
    if (st && !st->head_ready) {
        st->closed = true;
        st->refused = true;
        c->events = true;
    }
    return 0;
}

/* Request body, pulled by nghttp2 within the peer's flow-control window. */
static ssize_t data_read(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                         nghttp2_data_source *src, void *ud)
{
    h2c_conn_t *c = ud;
    h2c_stream_t *st = src->ptr;
    size_t n = DP_MIN(length, st->tx.len);
    if (n > 0) {
        memcpy(buf, dp_buf_data(&st->tx), n);
        dp_buf_consume(&st->tx, n);
    }
    if (st->tx.len == 0 && st->tx_end) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        st->tx_done = true;
        if (st->tx_trailers && st->req_trailers.n > 0) {
            nghttp2_nv *nv = dp_xcalloc(st->req_trailers.n, sizeof(*nv));
            for (size_t i = 0; i < st->req_trailers.n; i++) {
                const dp_header_t *h = &st->req_trailers.v[i];
                nv[i] = (nghttp2_nv){(uint8_t *)h->name.base, (uint8_t *)h->value.base, h->name.len,
                                     h->value.len, NGHTTP2_NV_FLAG_NONE};
            }
            if (nghttp2_submit_trailer(ng, id, nv, st->req_trailers.n) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
            free(nv);
        }
    } else if (n == 0) {
        st->tx_deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    if (st->drain_wanted && st->tx.len <= DP_STREAM_LOW_WATERMARK) {
        st->drain_wanted = false;
        st->drain_ready = true;
        c->events = true;
    }
    return (ssize_t)n;
}

/* --- socket events ---------------------------------------------------------- */

static void on_sock_read(dp_sock_t *sock, int err)
{
    h2c_conn_t *c = sock->data;
    if (c->dead)
        return;
    enter(c);
    if (sock->in.len > 0) {
        ssize_t n = nghttp2_session_mem_recv(c->ng, (const uint8_t *)dp_buf_data(&sock->in), sock->in.len);
        if (n < 0)
            conn_fail(c, DP_UPSTREAM_RESET_PROTOCOL, nghttp2_strerror((int)n), true);
        else
            dp_buf_consume(&sock->in, (size_t)n);
    }
    if (err && !c->dead)
        conn_fail(c, DP_UPSTREAM_RESET_CONNECTION, "connection termination", false);
    process(c);
    leave(c);
}

static void on_sock_drain(dp_sock_t *sock, int err)
{
    (void)err;
    h2c_conn_t *c = sock->data;
    if (c->dead)
        return;
    enter(c);
    process(c);
    leave(c);
}

/* The connection is over: streams still open fail with `reason` (from
 * process(), outside this call). goaway: tell the server first. */
static void conn_fail(h2c_conn_t *c, dp_upstream_reset_t reason, const char *detail, bool goaway)
{
    if (c->dead)
        return;
    DP_DEBUG("h2 upstream connection closed: %s", detail ? detail : "?");
    c->dead = true;
    c->dead_reason = reason;
    c->dead_detail = detail;
    dp_sock_t *sock = c->super.sock;
    if (goaway && !sock->write_error) {
        nghttp2_session_terminate_session(c->ng, NGHTTP2_NO_ERROR);
        const uint8_t *data;
        ssize_t n;
        while ((n = nghttp2_session_mem_send(c->ng, &data)) > 0 && sock->out.len < OUT_HIGH)
            dp_buf_append(&sock->out, data, (size_t)n);
        dp_sock_flush(sock);
    }
    nghttp2_session_del(c->ng);
    c->ng = NULL;
    dp_sock_close(sock);
    c->super.closed = true;
    c->events = true;
    if (c->streams)
        kick(c);
    dp_upconn__event(&c->super, DP_UPCONN_EV_CLOSED);
}

/* --- the upstream codec interface (upconn.h) -------------------------------- */

static h2c_stream_t *of(const dp_upstream_stream_t *st)
{
    return (h2c_stream_t *)st;
}

static dp_upstream_stream_t *h2_bind(dp_upconn_t *uc, const dp_upstream_cbs_t *cbs, void *ctx)
{
    h2c_conn_t *c = (h2c_conn_t *)uc;
    h2c_stream_t *st = dp_xcalloc(1, sizeof(*st));
    st->super.conn = uc;
    st->c = c;
    st->cbs = cbs;
    st->ctx = ctx;
    st->content_length = -1;
    st->prev = c->streams_tail;
    if (c->streams_tail)
        c->streams_tail->next = st;
    else
        c->streams = st;
    c->streams_tail = st;
    return &st->super;
}

/* What a request to an HTTP/2 upstream leaves out: the hop-by-hop fields
 * (TE: trailers crosses), host (:authority says it) and content-length
 * (the frames do). */
static bool connection_specific(dp_slice_t n, dp_slice_t v)
{
    if (n.len == 2 && memcmp(n.base, "te", 2) == 0)
        return !(v.len == 8 && memcmp(v.base, "trailers", 8) == 0);
    return dp_headers_hop_by_hop(n) || (n.len == 4 && memcmp(n.base, "host", 4) == 0) ||
           (n.len == 14 && memcmp(n.base, "content-length", 14) == 0);
}

static nghttp2_nv nv_of(dp_slice_t n, dp_slice_t v)
{
    return (nghttp2_nv){(uint8_t *)n.base, (uint8_t *)v.base, n.len, v.len, NGHTTP2_NV_FLAG_NONE};
}

static void h2_send_head(dp_upstream_stream_t *ust, const dp_upstream_head_t *h)
{
    h2c_stream_t *st = of(ust);
    h2c_conn_t *c = st->c;
    enter(c);
    if (c->dead) {
        c->events = true; /* the stream fails from process() */
        op_leave(c);
        return;
    }
    /* h->upgrade is not carried over HTTP/2 (the router sends upgrades over HTTP/1.1) */
    size_t nh = h->headers ? h->headers->n : 0, n = 0;
    nghttp2_nv *nv = dp_xcalloc(nh + 5, sizeof(*nv));
    nv[n++] = nv_of(DP_SLICE_LIT(":method"), h->method);
    nv[n++] = nv_of(DP_SLICE_LIT(":scheme"), c->opts.tls ? DP_SLICE_LIT("https") : DP_SLICE_LIT("http"));
    nv[n++] = nv_of(DP_SLICE_LIT(":authority"), h->authority);
    nv[n++] = nv_of(DP_SLICE_LIT(":path"), h->path);
    for (size_t i = 0; i < nh; i++) {
        const dp_header_t *x = &h->headers->v[i];
        if (!connection_specific(x->name, x->value) && x->name.len > 0 && x->name.base[0] != ':')
            nv[n++] = nv_of(x->name, x->value);
    }
    char clbuf[24];
    if (h->content_length > 0)
        nv[n++] = nv_of(DP_SLICE_LIT("content-length"),
                        dp_slice(clbuf, dp_u64toa((uint64_t)h->content_length, clbuf)));
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
    int32_t id = nghttp2_submit_request(c->ng, NULL, nv, n, h->end_stream ? NULL : &prd, st);
    free(nv);
    if (id < 0) {
        /* no stream id left, or the session is going away: never sent */
        st->closed = true;
        st->refused = true;
        c->events = true;
    } else {
        st->id = id;
        st->submitted = true;
        if (h->end_stream)
            st->tx_end = st->tx_done = true;
    }
    op_leave(c);
}

static void resume(h2c_stream_t *st)
{
    h2c_conn_t *c = st->c;
    if (st->tx_deferred && c->ng && st->submitted && !st->closed) {
        st->tx_deferred = false;
        nghttp2_session_resume_data(c->ng, st->id);
    }
}

static void h2_send_body(dp_upstream_stream_t *ust, const char *data, size_t len, bool end_stream)
{
    h2c_stream_t *st = of(ust);
    h2c_conn_t *c = st->c;
    if (st->tx_end)
        return;
    enter(c);
    if (len > 0)
        dp_buf_append(&st->tx, data, len);
    if (end_stream)
        st->tx_end = true;
    if (st->tx.len >= DP_STREAM_HIGH_WATERMARK)
        st->drain_wanted = true;
    resume(st);
    op_leave(c);
}

static void h2_send_trailers(dp_upstream_stream_t *ust, const dp_headers_t *h)
{
    h2c_stream_t *st = of(ust);
    h2c_conn_t *c = st->c;
    if (st->tx_end)
        return;
    enter(c);
    for (size_t i = 0; i < h->n; i++) {
        const dp_header_t *x = &h->v[i];
        if (x->name.len == 0 || x->name.base[0] == ':' || connection_specific(x->name, x->value))
            continue;
        dp_headers_add(&st->req_trailers,
                       dp_slice(dp_arena_strndup(&st->arena, x->name.base, x->name.len), x->name.len),
                       dp_slice(dp_arena_strndup(&st->arena, x->value.base, x->value.len), x->value.len));
    }
    st->tx_trailers = true;
    st->tx_end = true;
    resume(st);
    op_leave(c);
}

static size_t h2_pending(const dp_upstream_stream_t *ust)
{
    return of(ust)->tx.len;
}

static void h2_read(dp_upstream_stream_t *ust, bool enable)
{
    h2c_stream_t *st = of(ust);
    if (st->paused == !enable)
        return;
    st->paused = !enable;
    if (enable)
        kick(st->c); /* deliver what was held, from the loop */
}

static bool h2_detach(dp_upstream_stream_t *ust)
{
    h2c_stream_t *st = of(ust);
    h2c_conn_t *c = st->c;
    enter(c);
    st->cbs = NULL;
    st->ctx = NULL;
    st->detached = true;
    bool clean = !c->dead;
    if (!c->dead && st->submitted && !st->closed && (!st->finished || !st->tx_done))
        nghttp2_submit_rst_stream(c->ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
    op_leave(c);
    return clean;
}

static uint32_t h2_max_streams(const dp_upconn_t *uc)
{
    const h2c_conn_t *c = (const h2c_conn_t *)uc;
    if (c->dead || c->goaway)
        return 0;
    uint32_t r = nghttp2_session_get_remote_settings(c->ng, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
    uint32_t l = c->opts.h2.max_concurrent_streams ? c->opts.h2.max_concurrent_streams : r;
    return DP_MIN(r, l);
}

static void h2_close(dp_upconn_t *uc)
{
    h2c_conn_t *c = (h2c_conn_t *)uc;
    if (c->dead)
        return;
    enter(c);
    conn_fail(c, DP_UPSTREAM_RESET_CONNECTION, "connection closed locally", true);
    leave(c);
}

const dp_upconn_ops_t dp_h2_client_ops = {
    .name = "h2",
    .bind = h2_bind,
    .send_head = h2_send_head,
    .send_body = h2_send_body,
    .send_trailers = h2_send_trailers,
    .pending = h2_pending,
    .read = h2_read,
    .detach = h2_detach,
    .max_streams = h2_max_streams,
    .close = h2_close,
};

dp_upconn_t *dp_h2_client_attach(dp_sock_t *sock, const dp_h2_client_opts_t *o)
{
    nghttp2_session_callbacks *cbs;
    nghttp2_option *opt;
    if (nghttp2_session_callbacks_new(&cbs) != 0)
        abort(); /* OOM: server glue aborts (STYLE.md 6) */
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, cb_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, cb_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, cb_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, cb_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, cb_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, cb_frame_send);
    nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, cb_frame_not_send);
    if (nghttp2_option_new(&opt) != 0)
        abort();
    /* the window goes back only for bytes the router took: bounded buffers */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_outbound_ack(
        opt, o->h2.max_outbound_control_frames ? o->h2.max_outbound_control_frames : 1000);

    h2c_conn_t *c = dp_xcalloc(1, sizeof(*c));
    c->super.ops = &dp_h2_client_ops;
    c->super.sock = sock;
    c->super.proto = DP_UPSTREAM_HTTP2;
    c->loop = sock->loop;
    c->opts = *o;
    int rv = nghttp2_session_client_new2(&c->ng, cbs, c, opt);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_option_del(opt);
    if (rv != 0)
        abort();
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, dp_h2_client_stream_window(o)},
        {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, o->h2.hpack_table_size},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES},
    };
    nghttp2_submit_settings(c->ng, NGHTTP2_FLAG_NONE, iv, DP_ARRAY_SIZE(iv));
    nghttp2_session_set_local_window_size(c->ng, NGHTTP2_FLAG_NONE, 0, (int32_t)conn_window(o));
    ev_init(&c->kick, on_kick);
    c->kick.data = c;
    sock->data = c;
    sock->on_drain = on_sock_drain;
    sock->read_limit = READ_LIMIT;
    dp_sock_read_start(sock, on_sock_read);
    enter(c);
    flush(c); /* connection preface and SETTINGS */
    leave(c);
    return &c->super;
}
