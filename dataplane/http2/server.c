/* HTTP/2 downstream connection on nghttp2, sans-I/O: bytes from sock->in
 * go to nghttp2_session_mem_recv, frames from nghttp2_session_mem_send go
 * to sock->out, whatever the transport under the dp_sock_t (raw or TLS).
 * Streams are server_stream.c's, the defences flood.c's; this file holds
 * the session (SETTINGS, options, callbacks), the pump that runs it, the
 * connection's timers, drain and close.
 *
 * Life cycle (as the HTTP/1 codec): attach -> open (streams come and go;
 * idle_timeout runs while there are none) -> GOAWAY (drain, idle timeout,
 * request_headers_timeout, a protocol error or a defence) -> closing
 * (session freed, output flushed, half-close, then close on the client's
 * EOF or after a delay) -> closed. */
#include "dataplane/http2/server.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/http2/server_int.h"

#define DELAYED_CLOSE_MS 1000 /* Envoy's delayed_close_timeout default */
#define PUMP_ROUNDS 64        /* then let the loop breathe and come back */

static void on_read(dp_sock_t *sock, int err);
static void start_closing(dp_h2_conn_t *c);
static void conn_close(dp_h2_conn_t *c);

uint64_t dp_h2__now_ms(const dp_h2_conn_t *c)
{
    return (uint64_t)(ev_now(c->w->loop.ev) * 1000.0);
}

/* --- the pump ------------------------------------------------------------------- */

void dp_h2__kick(dp_h2_conn_t *c)
{
    if (c->state != H2C_OPEN)
        return;
    if (!ev_is_active(&c->kick_prepare))
        ev_prepare_start(c->w->loop.ev, &c->kick_prepare);
    if (!ev_is_active(&c->kick_idle))
        ev_idle_start(c->w->loop.ev, &c->kick_idle);
}

static void kick_stop(dp_h2_conn_t *c)
{
    ev_prepare_stop(c->w->loop.ev, &c->kick_prepare);
    ev_idle_stop(c->w->loop.ev, &c->kick_idle);
}

void dp_h2__work(dp_h2_conn_t *c, dp_h2_stream_t *h)
{
    if (h->on_work || c->state != H2C_OPEN)
        return;
    h->on_work = 1;
    h->work_next = NULL;
    if (c->work_tail)
        c->work_tail->work_next = h;
    else
        c->work = h;
    c->work_tail = h;
}

/* nghttp2 can no longer be used (a fatal error, or a defence fired): a
 * GOAWAY of our own after the complete frames already queued, then close. */
static void conn_fatal(dp_h2_conn_t *c, int rv)
{
    uint32_t code = c->fatal_code;
    if (code == 0)
        code = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                   ? NGHTTP2_ENHANCE_YOUR_CALM
                   : NGHTTP2_PROTOCOL_ERROR;
    DP_DEBUG("h2: connection closed (error %u): %s", code,
             c->fatal_why ? c->fatal_why : nghttp2_strerror(rv));
    dp_stat_inc(c->stats->cx_protocol_error);
    uint8_t goaway[17];
    dp_h2__goaway_frame(goaway, nghttp2_session_get_last_proc_stream_id(c->session), code);
    dp_buf_append(&c->sock->out, goaway, sizeof(goaway));
    dp_sock_queued(c->sock);
    start_closing(c);
}

/* Serializes everything nghttp2 has to send into the socket's queue.
 * Returns 0, or -1 after the connection was failed. */
static int session_send(dp_h2_conn_t *c)
{
    bool queued = false;
    for (;;) {
        const uint8_t *p;
        ssize_t n = nghttp2_session_mem_send(c->session, &p);
        if (n < 0) {
            if (queued)
                dp_sock_queued(c->sock);
            conn_fatal(c, (int)n);
            return -1;
        }
        if (n == 0)
            break;
        dp_buf_append(&c->sock->out, p, (size_t)n);
        dp_h2_flood__queued(&c->flood, (size_t)n);
        queued = true;
    }
    if (queued)
        dp_sock_queued(c->sock);
    return 0;
}

static void update_idle(dp_h2_conn_t *c);

/* Runs the session: delivers held request bodies, notifies writable
 * streams, disposes of closed ones, serializes output; until nothing is
 * left. Only from the codec's own callbacks (see server_int.h). */
static void pump(dp_h2_conn_t *c)
{
    if (c->pumping || c->state != H2C_OPEN)
        return;
    c->pumping = true;
    for (int round = 0; round < PUMP_ROUNDS && c->state == H2C_OPEN; round++) {
        while (c->work && c->state == H2C_OPEN) {
            dp_h2_stream_t *h = c->work;
            c->work = h->work_next;
            if (c->work == NULL)
                c->work_tail = NULL;
            h->on_work = 0;
            if (h->closed) {
                dp_h2__stream_finish(h);
                continue;
            }
            if (h->want_deliver)
                dp_h2__stream_deliver(h);
            if (h->want_writable && !h->closed) {
                h->want_writable = 0;
                dp_stream_on_writable(&h->s);
            }
        }
        if (c->state != H2C_OPEN)
            break;
        if (c->read_paused && c->in_buffered <= c->buffer_limit) {
            c->read_paused = false;
            dp_sock_read_start(c->sock, on_read);
        }
        if (session_send(c) != 0)
            break;
        if (c->work == NULL)
            break;
    }
    c->pumping = false;
    if (c->state != H2C_OPEN)
        return;
    if (c->work)
        dp_h2__kick(c);
    else
        kick_stop(c);
    if (!nghttp2_session_want_read(c->session) && !nghttp2_session_want_write(c->session)) {
        /* GOAWAY sent or received and every stream done */
        start_closing(c);
        return;
    }
    update_idle(c);
}

static void on_kick_prepare(struct ev_loop *ev, ev_prepare *w, int revents)
{
    (void)ev;
    (void)revents;
    pump(w->data);
}

static void on_kick_idle(struct ev_loop *ev, ev_idle *w, int revents)
{
    (void)ev;
    (void)revents;
    pump(w->data);
}

/* --- nghttp2 callbacks ------------------------------------------------------------ */

static dp_h2_stream_t *stream_of(nghttp2_session *session, int32_t id)
{
    return id > 0 ? nghttp2_session_get_stream_user_data(session, id) : NULL;
}

/* A defence fired inside a callback: mem_recv/mem_send return a fatal
 * error and conn_fatal() closes with this code. */
static int fail(dp_h2_conn_t *c, uint32_t code, const char *why)
{
    if (c->fatal_code == 0) {
        c->fatal_code = code;
        c->fatal_why = why;
    }
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

static int cb_begin_frame(nghttp2_session *session, const nghttp2_frame_hd *hd, void *user_data)
{
    (void)session;
    dp_h2_conn_t *c = user_data;
    /* nothing interleaves with a header block: another frame means it ended
     * (even one nghttp2 reset without on_frame_recv) */
    if (hd->type != NGHTTP2_CONTINUATION)
        ev_timer_stop(c->w->loop.ev, &c->head_timer);
    const char *why = NULL;
    uint32_t code = dp_h2_flood__begin_frame(&c->flood, hd, &why);
    return code ? fail(c, code, why) : 0;
}

/* request_headers_timeout runs while the header block of a stream we
 * track is in progress: from its HEADERS until the block is complete, the
 * stream is gone (reset mid-block) or another frame starts, as Envoy's
 * per-stream timer that ends with the stream. */
static void head_timer_start(dp_h2_conn_t *c, int32_t stream_id)
{
    uint64_t ms = c->hcm->request_headers_timeout_ms;
    c->head_stream = stream_id;
    if (ms == 0 || ev_is_active(&c->head_timer))
        return;
    ev_timer_set(&c->head_timer, (double)ms / 1000.0, 0);
    ev_timer_start(c->w->loop.ev, &c->head_timer);
}

static int cb_begin_headers(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    dp_h2_conn_t *c = user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        dp_h2_stream_t *h = dp_h2__stream_new(c, frame->hd.stream_id);
        nghttp2_session_set_stream_user_data(session, frame->hd.stream_id, h);
        dp_h2_flood__stream_opened(&c->flood);
        head_timer_start(c, frame->hd.stream_id);
    } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
        dp_h2_stream_t *h = stream_of(session, frame->hd.stream_id);
        if (h) {
            h->in_trailer_block = 1;
            h->hdr_bytes = 0;
            h->hdr_count = 0;
            head_timer_start(c, frame->hd.stream_id);
        }
    }
    return 0;
}

static int cb_header(nghttp2_session *session, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *user_data)
{
    (void)flags;
    (void)user_data;
    if (frame->hd.type != NGHTTP2_HEADERS)
        return 0;
    dp_h2_stream_t *h = stream_of(session, frame->hd.stream_id);
    if (h == NULL)
        return 0;
    int rv = dp_h2__stream_header(h, name, namelen, value, valuelen);
    if (rv != 0)
        h->reset_sent = 1; /* nghttp2 resets it (INTERNAL_ERROR) */
    return rv;
}

static int cb_frame_recv(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    dp_h2_conn_t *c = user_data;
    dp_h2_stream_t *h = stream_of(session, frame->hd.stream_id);
    if (h)
        h->last_activity_ms = dp_h2__now_ms(c);
    switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
        ev_timer_stop(c->w->loop.ev, &c->head_timer);
        if (h == NULL)
            break;
        if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
            dp_h2__stream_request(h, frame->hd.flags & NGHTTP2_FLAG_END_STREAM);
        } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {
            h->in_trailer_block = 0;
            if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)
                dp_h2__stream_end(h, true);
        }
        break;
    case NGHTTP2_DATA:
        if (h && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            dp_h2__stream_end(h, false);
        break;
    case NGHTTP2_RST_STREAM: {
        if (h == NULL)
            break;
        dp_stat_inc(c->stats->rq_rx_reset);
        h->client_reset = 1;
        const char *why = NULL;
        uint32_t code = dp_h2_flood__client_reset(&c->flood, !h->s.resp_done, &why);
        if (code)
            return fail(c, code, why);
        break;
    }
    default:
        break;
    }
    return 0;
}

static int cb_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id, const uint8_t *data,
                         size_t len, void *user_data)
{
    (void)flags;
    (void)user_data;
    dp_h2_stream_t *h = stream_of(session, stream_id);
    if (h == NULL) {
        nghttp2_session_consume_connection(session, len);
        return 0;
    }
    dp_h2__stream_data(h, data, len);
    return 0;
}

static int cb_frame_send(nghttp2_session *session, const nghttp2_frame *frame, void *user_data)
{
    dp_h2_conn_t *c = user_data;
    const char *why = NULL;
    uint32_t code = dp_h2_flood__frame_sent(&c->flood, frame->hd.type, c->sock->out.len, &why);
    if (code)
        return fail(c, code, why);
    dp_h2_stream_t *h = stream_of(session, frame->hd.stream_id);
    if (h)
        h->last_activity_ms = dp_h2__now_ms(c);
    switch (frame->hd.type) {
    case NGHTTP2_RST_STREAM:
        if (frame->rst_stream.error_code != NGHTTP2_NO_ERROR) {
            dp_stat_inc(c->stats->rq_tx_reset);
            if (h && !h->reset_sent) /* nghttp2 found the request malformed */
                h->s.response_flags |= DP_RF_DPE;
        }
        if (h)
            h->reset_sent = 1;
        break;
    case NGHTTP2_GOAWAY:
        if (frame->goaway.error_code != NGHTTP2_NO_ERROR)
            dp_stat_inc(c->stats->cx_protocol_error);
        break;
    case NGHTTP2_DATA:
    case NGHTTP2_HEADERS:
        if (h && (frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
            dp_h2__stream_response_sent(h);
        break;
    default:
        break;
    }
    return 0;
}

static int cb_stream_close(nghttp2_session *session, int32_t stream_id, uint32_t error_code, void *user_data)
{
    (void)error_code;
    dp_h2_conn_t *c = user_data;
    if (stream_id == c->head_stream)
        ev_timer_stop(c->w->loop.ev, &c->head_timer);
    dp_h2_stream_t *h = stream_of(session, stream_id);
    if (h == NULL)
        return 0;
    h->closed = 1;
    dp_h2__work(c, h);
    return 0;
}

static int cb_error(nghttp2_session *session, int lib_error_code, const char *msg, size_t len,
                    void *user_data)
{
    (void)session;
    (void)lib_error_code;
    (void)user_data;
    DP_DEBUG("h2: %.*s", (int)len, msg);
    return 0;
}

static nghttp2_session_callbacks *callbacks;
static pthread_once_t callbacks_once = PTHREAD_ONCE_INIT;

static void callbacks_init(void)
{
    if (nghttp2_session_callbacks_new(&callbacks) != 0)
        abort();
    nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, cb_begin_frame);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, cb_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(callbacks, cb_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, cb_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, cb_data_chunk);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, cb_frame_send);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, cb_stream_close);
    nghttp2_session_callbacks_set_error_callback2(callbacks, cb_error);
}

/* --- timers --------------------------------------------------------------------- */

static void set_timeout(dp_h2_conn_t *c, uint64_t ms)
{
    c->timeout_ms = ms;
    c->last_activity_ms = dp_h2__now_ms(c);
    if (ms == 0) {
        ev_timer_stop(c->w->loop.ev, &c->timer);
        return;
    }
    c->timer.repeat = (double)ms / 1000.0;
    ev_timer_again(c->w->loop.ev, &c->timer);
}

/* idle_timeout counts from the moment the last stream went away. */
static void update_idle(dp_h2_conn_t *c)
{
    if (c->n_streams > 0) {
        if (c->timeout_ms)
            set_timeout(c, 0);
    } else if (c->timeout_ms == 0) {
        set_timeout(c, c->hcm->idle_timeout_ms);
    }
}

static void on_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)revents;
    dp_h2_conn_t *c = t->data;
    if (c->state == H2C_CLOSING) {
        conn_close(c);
        return;
    }
    if (c->timeout_ms == 0 || c->n_streams > 0)
        return;
    uint64_t idle = dp_h2__now_ms(c) - c->last_activity_ms;
    if (idle < c->timeout_ms) {
        t->repeat = (double)(c->timeout_ms - idle) / 1000.0;
        ev_timer_again(ev, t);
        return;
    }
    DP_DEBUG("h2: idle connection closed");
    c->timeout_ms = 0;
    nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
    pump(c);
}

/* request_headers_timeout: a header block in progress blocks the whole
 * connection (nothing may interleave with its CONTINUATION frames), so a
 * client that does not finish it loses the connection. */
static void on_head_timeout(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_h2_conn_t *c = t->data;
    if (c->state != H2C_OPEN)
        return;
    dp_stat_inc(c->stats->rq_header_timeout);
    DP_DEBUG("h2: request headers timeout");
    nghttp2_session_terminate_session(c->session, NGHTTP2_NO_ERROR);
    pump(c);
}

/* --- drain and close ------------------------------------------------------------- */

static void final_goaway(dp_h2_conn_t *c)
{
    if (c->goaway_final || c->state != H2C_OPEN)
        return;
    c->goaway_final = c->draining = true;
    nghttp2_submit_goaway(c->session, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(c->session),
                          NGHTTP2_NO_ERROR, NULL, 0);
}

/* The soft drain's grace period is over: no new streams after these. */
static void on_drain_timer(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev;
    (void)revents;
    dp_h2_conn_t *c = t->data;
    final_goaway(c);
    pump(c);
}

/* hard (shutdown): GOAWAY now, close once the streams are done. soft (the
 * listener changed): Envoy's graceful drain, a GOAWAY "shutdown notice"
 * (last stream id 2^31-1) so the client opens no more streams, then after
 * drain_timeout the real GOAWAY; requests already on their way are served. */
void dp_h2__drain(dp_h2_conn_t *c, bool hard)
{
    if (c->state != H2C_OPEN)
        return;
    if (hard || c->hcm->drain_timeout_ms == 0) {
        ev_timer_stop(c->w->loop.ev, &c->drain_timer);
        final_goaway(c);
    } else if (!c->draining) {
        c->draining = true;
        nghttp2_submit_shutdown_notice(c->session);
        ev_timer_set(&c->drain_timer, (double)c->hcm->drain_timeout_ms / 1000.0, 0);
        ev_timer_start(c->w->loop.ev, &c->drain_timer);
    }
}

static void drain_conn(dp_conn_link_t *l, bool hard)
{
    dp_h2_conn_t *c = (dp_h2_conn_t *)l;
    dp_h2__drain(c, hard);
    if (c->state == H2C_OPEN)
        pump(c);
}

/* Every stream ends (the client is told by GOAWAY, or is gone) and the
 * session goes. */
static void drop_session(dp_h2_conn_t *c)
{
    while (c->streams)
        dp_h2__stream_finish(c->streams);
    c->work = c->work_tail = NULL;
    kick_stop(c);
    ev_timer_stop(c->w->loop.ev, &c->head_timer);
    ev_timer_stop(c->w->loop.ev, &c->drain_timer);
    if (c->session) {
        nghttp2_session_del(c->session);
        c->session = NULL;
    }
    dp_h2_flood__free(&c->flood);
    dp_h2__stream_free_all(c);
}

static void start_closing(dp_h2_conn_t *c)
{
    if (c->state != H2C_OPEN)
        return;
    c->state = H2C_CLOSING;
    drop_session(c);
    set_timeout(c, DELAYED_CLOSE_MS);
    dp_sock_shutdown(c->sock);
    /* keep reading (and discarding) so the kernel does not RST unread data */
    dp_sock_read_start(c->sock, on_read);
}

static void conn_close(dp_h2_conn_t *c)
{
    if (c->sock == NULL)
        return;
    c->state = H2C_CLOSING;
    drop_session(c);
    ev_timer_stop(c->w->loop.ev, &c->timer);
    dp_sock_close(c->sock);
    c->sock = NULL;
    dp_worker_conn_remove(c->w, &c->link);
    dp_stat_dec(c->stats->cx_active);
    dp_stat_inc(c->stats->cx_destroy);
    dp_stat_dec(c->lstats->cx_active);
    dp_stat_inc(c->lstats->cx_destroy);
    dp_listener_cfg_unref(c->listener);
    dp_loop_defer_free(&c->w->loop, c);
}

/* --- socket events ---------------------------------------------------------------- */

static void on_read(dp_sock_t *sock, int err)
{
    dp_h2_conn_t *c = sock->data;
    if (c->state == H2C_CLOSING) {
        dp_buf_consume(&sock->in, sock->in.len);
        if (err)
            conn_close(c);
        return;
    }
    if (sock->in.len > 0) {
        ssize_t rv =
            nghttp2_session_mem_recv(c->session, (const uint8_t *)dp_buf_data(&sock->in), sock->in.len);
        dp_buf_consume(&sock->in, sock->in.len);
        if (rv < 0) {
            conn_fatal(c, (int)rv);
            if (err)
                conn_close(c);
            return;
        }
    }
    if (err) {
        /* HTTP/2 has no half-close: the client is gone, its streams too */
        conn_close(c);
        return;
    }
    if (c->in_buffered > c->buffer_limit && !c->read_paused) {
        c->read_paused = true;
        dp_sock_read_stop(sock);
    }
    pump(c);
}

static void on_drain(dp_sock_t *sock, int err)
{
    (void)err;
    dp_h2_conn_t *c = sock->data;
    if (c->state != H2C_OPEN)
        return;
    dp_h2_flood__written(&c->flood, sock->out.len);
    if (c->sock_blocked) {
        c->sock_blocked = false;
        for (dp_h2_stream_t *h = c->streams; h; h = h->next) {
            if (!h->sock_blocked)
                continue;
            h->sock_blocked = 0;
            if (h->deferred && !h->closed) {
                h->deferred = 0;
                nghttp2_session_resume_data(c->session, h->id);
            }
        }
    }
    pump(c);
}

/* --- attach ------------------------------------------------------------------------ */

static int session_new(dp_h2_conn_t *c)
{
    const dp_h2_options_t *o = &c->hcm->h2;
    pthread_once(&callbacks_once, callbacks_init);
    nghttp2_option *opt;
    if (nghttp2_option_new(&opt) != 0)
        return DP_ENOMEM;
    /* WINDOW_UPDATE only for what the streams took (nghttp2_session_consume) */
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_outbound_ack(opt, o->max_outbound_control_frames);
    /* the header block's size in bytes (flood.c) is the limit that
     * matters; nghttp2's count of CONTINUATION frames (8 by default) would
     * refuse a legitimate block a client cut into small frames */
    nghttp2_option_set_max_continuations(opt, c->flood.max_header_block / 1024 + 8);
    nghttp2_option_set_no_closed_streams(opt, 1);
    int rv = nghttp2_session_server_new2(&c->session, callbacks, c, opt);
    nghttp2_option_del(opt);
    if (rv != 0)
        return DP_ENOMEM;
    nghttp2_settings_entry iv[5];
    size_t n = 0;
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, o->hpack_table_size};
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o->max_concurrent_streams};
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o->initial_stream_window_size};
    iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)c->max_header_bytes};
    if (o->allow_connect)
        iv[n++] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_ENABLE_CONNECT_PROTOCOL, 1};
    rv = nghttp2_submit_settings(c->session, NGHTTP2_FLAG_NONE, iv, n);
    if (rv == 0 && o->initial_connection_window_size > NGHTTP2_INITIAL_CONNECTION_WINDOW_SIZE)
        rv = nghttp2_session_set_local_window_size(c->session, NGHTTP2_FLAG_NONE, 0,
                                                   (int32_t)o->initial_connection_window_size);
    return rv == 0 ? 0 : DP_EINVAL;
}

void dp_h2_server_attach(dp_worker_t *w, dp_listener_cfg_t *l, const dp_filter_chain_t *fc, dp_sock_t *sock)
{
    dp_h2_conn_t *c = dp_xcalloc(1, sizeof(*c));
    const dp_hcm_cfg_t *h = fc->hcm;
    c->w = w;
    c->listener = dp_listener_cfg_ref(l);
    c->hcm = h;
    c->sock = sock;
    sock->data = c;
    sock->on_drain = on_drain;
    sock->read_limit = DP_BUF_CHUNK;
    c->stats = dp_hcm_stats_of(h);
    c->lstats = dp_listener_stats_of(l);
    c->buffer_limit = l->per_connection_buffer_limit_bytes ? l->per_connection_buffer_limit_bytes : SIZE_MAX;
    c->max_header_bytes = (size_t)h->max_request_headers_kb * 1024;
    /* the wire size of a block that decodes within the limit: literal
     * fields, length prefixes, padding; twice the limit is generous */
    dp_h2_flood__init(&c->flood, &h->h2, 2 * c->max_header_bytes + 16 * (size_t)h->max_headers_count + 1024);
    c->link.drain = drain_conn;
    c->link.listener = l;
    dp_worker_conn_add(w, &c->link);
    dp_stat_inc(c->stats->cx_total);
    dp_stat_inc(c->stats->cx_active);
    dp_stat_inc(c->stats->cx_http2_total);
    ev_init(&c->timer, on_timer);
    c->timer.data = c;
    ev_init(&c->head_timer, on_head_timeout);
    c->head_timer.data = c;
    ev_init(&c->drain_timer, on_drain_timer);
    c->drain_timer.data = c;
    /* before the loop's own prepare watcher flushes the sockets */
    ev_prepare_init(&c->kick_prepare, on_kick_prepare);
    ev_set_priority(&c->kick_prepare, EV_MAXPRI);
    c->kick_prepare.data = c;
    ev_idle_init(&c->kick_idle, on_kick_idle);
    ev_set_priority(&c->kick_idle, EV_MAXPRI);
    c->kick_idle.data = c;
    if (session_new(c) != 0) {
        DP_ERROR("h2: cannot create a session");
        conn_close(c);
        return;
    }
    update_idle(c);
    dp_sock_read_start(sock, on_read); /* the preface may already be in sock->in */
    pump(c);                           /* our SETTINGS */
}
