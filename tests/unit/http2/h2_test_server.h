/* An in-process HTTP/2 server on nghttp2 for the upstream client tests:
 * one server session on a socket (a socketpair end or an accepted TCP
 * connection), driven by the same libev loop as the code under test.
 *
 * Requests are answered by path once they are complete (END_STREAM):
 *   /hello   200, x-test: 1, body "hello world", trailers grpc-status: 0, grpc-message: ok
 *   /echo    200 with the request body (and x-seen-trailer: the request's x-trailer)
 *   /big     200 with big_len bytes of a pattern (pattern_byte(i))
 *   /slow    nothing until srv_respond(): 200 "late"
 *   /rst     RST_STREAM INTERNAL_ERROR as soon as the head arrives
 *   /grpc    200 content-type application/grpc, no body, trailers-only (END_STREAM on HEADERS)
 * Header-only helpers, included by one test file each. */
#ifndef DP_TEST_H2_SERVER_H
#define DP_TEST_H2_SERVER_H

#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/buf.h"

typedef struct srv_stream {
    struct srv_stream *next;
    int32_t id;
    char method[16], path[64], authority[64], scheme[16];
    char headers[2048]; /* "name: value\n" lines, regular headers */
    char trailers[512];
    bool in_trailers, ended, answered;
    dp_buf_t body;
    /* response body source */
    const char *resp;
    size_t resp_len, resp_off;
    bool big, resp_trailers;
} srv_stream_t;

typedef struct srv {
    struct ev_loop *ev;
    int fd;
    ev_io rio, wio;
    nghttp2_session *ng;
    dp_buf_t out;
    srv_stream_t *streams;
    int n_streams;
    bool manual_consume; /* no automatic WINDOW_UPDATE: the test consumes */
    bool closed;
    size_t data_sent; /* DATA payload bytes sent */
    size_t big_len;
    int32_t last_id;
} srv_t;

static inline unsigned char pattern_byte(size_t i)
{
    return (unsigned char)('a' + (i * 7 + i / 1000) % 26);
}

static srv_stream_t *srv_find(srv_t *s, int32_t id)
{
    for (srv_stream_t *st = s->streams; st; st = st->next)
        if (st->id == id)
            return st;
    return NULL;
}

static void srv_flush(srv_t *s)
{
    if (s->closed)
        return;
    for (;;) {
        const uint8_t *data;
        ssize_t n = nghttp2_session_mem_send(s->ng, &data);
        if (n <= 0)
            break;
        dp_buf_append(&s->out, data, (size_t)n);
    }
    while (s->out.len > 0) {
        ssize_t w = write(s->fd, dp_buf_data(&s->out), s->out.len);
        if (w < 0) {
            if (errno == EAGAIN) {
                ev_io_start(s->ev, &s->wio);
                return;
            }
            dp_buf_free(&s->out);
            return;
        }
        dp_buf_consume(&s->out, (size_t)w);
    }
    ev_io_stop(s->ev, &s->wio);
}

static ssize_t srv_read_body(nghttp2_session *ng, int32_t id, uint8_t *buf, size_t length, uint32_t *flags,
                             nghttp2_data_source *src, void *ud)
{
    (void)ud;
    srv_stream_t *st = src->ptr;
    size_t left = st->resp_len - st->resp_off, n = length < left ? length : left;
    for (size_t i = 0; i < n; i++)
        buf[i] = st->big ? pattern_byte(st->resp_off + i) : (uint8_t)st->resp[st->resp_off + i];
    st->resp_off += n;
    if (st->resp_off == st->resp_len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        if (st->resp_trailers) {
            nghttp2_nv tr[] = {
                {(uint8_t *)"grpc-status", (uint8_t *)"0", 11, 1, 0},
                {(uint8_t *)"grpc-message", (uint8_t *)"ok", 12, 2, 0},
            };
            if (nghttp2_submit_trailer(ng, id, tr, 2) == 0)
                *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

static void srv_answer(srv_t *s, srv_stream_t *st, const char *body, size_t len, bool trailers)
{
    st->answered = true;
    st->resp = body;
    st->resp_len = len;
    st->resp_trailers = trailers;
    const char *seen = strstr(st->trailers, "x-trailer: ");
    char seenv[64] = "";
    if (seen) {
        size_t k = 0;
        for (seen += 11; seen[k] && seen[k] != '\n' && k < sizeof(seenv) - 1; k++)
            seenv[k] = seen[k];
        seenv[k] = '\0';
    }
    nghttp2_nv hdrs[] = {
        {(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
        {(uint8_t *)"x-test", (uint8_t *)"1", 6, 1, 0},
        {(uint8_t *)"x-seen-trailer", (uint8_t *)seenv, 14, strlen(seenv), 0},
    };
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = srv_read_body};
    nghttp2_submit_response(s->ng, st->id, hdrs, 3, &prd);
}

static void srv_respond(srv_t *s, int32_t id)
{
    srv_stream_t *st = srv_find(s, id);
    if (st && !st->answered) {
        srv_answer(s, st, "late", 4, false);
        srv_flush(s);
    }
}

static int srv_on_begin_headers(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    (void)ng;
    srv_t *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS)
        return 0;
    srv_stream_t *st = srv_find(s, f->hd.stream_id);
    if (st) {
        st->in_trailers = true;
        return 0;
    }
    st = calloc(1, sizeof(*st));
    st->id = f->hd.stream_id;
    st->next = s->streams;
    s->streams = st;
    s->n_streams++;
    s->last_id = st->id;
    return 0;
}

static void append_line(char *dst, size_t cap, const uint8_t *n, size_t nl, const uint8_t *v, size_t vl)
{
    size_t l = strlen(dst);
    if (l + nl + vl + 4 < cap) {
        memcpy(dst + l, n, nl);
        l += nl;
        memcpy(dst + l, ": ", 2);
        l += 2;
        memcpy(dst + l, v, vl);
        l += vl;
        dst[l++] = '\n';
        dst[l] = '\0';
    }
}

static void copy_to(char *dst, size_t cap, const uint8_t *v, size_t vl)
{
    size_t n = vl < cap - 1 ? vl : cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static int srv_on_header(nghttp2_session *ng, const nghttp2_frame *f, const uint8_t *n, size_t nl,
                         const uint8_t *v, size_t vl, uint8_t flags, void *ud)
{
    (void)ng;
    (void)flags;
    srv_stream_t *st = srv_find(ud, f->hd.stream_id);
    if (st == NULL)
        return 0;
    if (st->in_trailers) {
        append_line(st->trailers, sizeof(st->trailers), n, nl, v, vl);
        return 0;
    }
    if (nl == 7 && memcmp(n, ":method", 7) == 0)
        copy_to(st->method, sizeof(st->method), v, vl);
    else if (nl == 5 && memcmp(n, ":path", 5) == 0)
        copy_to(st->path, sizeof(st->path), v, vl);
    else if (nl == 10 && memcmp(n, ":authority", 10) == 0)
        copy_to(st->authority, sizeof(st->authority), v, vl);
    else if (nl == 7 && memcmp(n, ":scheme", 7) == 0)
        copy_to(st->scheme, sizeof(st->scheme), v, vl);
    else
        append_line(st->headers, sizeof(st->headers), n, nl, v, vl);
    return 0;
}

static int srv_on_data(nghttp2_session *ng, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                       void *ud)
{
    (void)ng;
    (void)flags;
    srv_stream_t *st = srv_find(ud, id);
    if (st)
        dp_buf_append(&st->body, data, len);
    return 0;
}

static int srv_on_frame_recv(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    srv_t *s = ud;
    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    srv_stream_t *st = srv_find(s, f->hd.stream_id);
    if (st == NULL)
        return 0;
    if (f->hd.type == NGHTTP2_HEADERS && strcmp(st->path, "/rst") == 0 && !st->answered) {
        st->answered = true;
        nghttp2_submit_rst_stream(ng, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) || st->answered)
        return 0;
    st->ended = true;
    if (strcmp(st->path, "/hello") == 0) {
        srv_answer(s, st, "hello world", 11, true);
    } else if (strcmp(st->path, "/echo") == 0) {
        srv_answer(s, st, dp_buf_data(&st->body), st->body.len, false);
    } else if (strcmp(st->path, "/big") == 0) {
        st->big = true;
        srv_answer(s, st, NULL, s->big_len, false);
    } else if (strcmp(st->path, "/grpc") == 0) {
        st->answered = true;
        nghttp2_nv h[] = {
            {(uint8_t *)":status", (uint8_t *)"200", 7, 3, 0},
            {(uint8_t *)"content-type", (uint8_t *)"application/grpc", 12, 16, 0},
            {(uint8_t *)"grpc-status", (uint8_t *)"12", 11, 2, 0},
        };
        nghttp2_submit_response(ng, st->id, h, 3, NULL);
    }
    return 0;
}

static int srv_on_frame_send(nghttp2_session *ng, const nghttp2_frame *f, void *ud)
{
    (void)ng;
    srv_t *s = ud;
    if (f->hd.type == NGHTTP2_DATA)
        s->data_sent += f->hd.length;
    return 0;
}

static void srv_on_read(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    srv_t *s = w->data;
    char buf[65536];
    for (;;) {
        ssize_t n = read(s->fd, buf, sizeof(buf));
        if (n > 0) {
            if (nghttp2_session_mem_recv(s->ng, (uint8_t *)buf, (size_t)n) < 0)
                break;
            continue;
        }
        if (n == 0) {
            ev_io_stop(s->ev, &s->rio);
            s->closed = true;
        }
        break;
    }
    srv_flush(s);
}

static void srv_on_write(struct ev_loop *ev, ev_io *w, int revents)
{
    (void)ev;
    (void)revents;
    srv_flush(w->data);
}

/* max_concurrent: SETTINGS_MAX_CONCURRENT_STREAMS to announce (0: none). */
static void srv_init(srv_t *s, struct ev_loop *ev, int fd, uint32_t max_concurrent, bool manual_consume)
{
    memset(s, 0, sizeof(*s));
    s->ev = ev;
    s->fd = fd;
    s->manual_consume = manual_consume;
    s->big_len = 2 * 1024 * 1024;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    nghttp2_session_callbacks *cb;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, srv_on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cb, srv_on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, srv_on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, srv_on_frame_recv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, srv_on_frame_send);
    nghttp2_option *opt;
    nghttp2_option_new(&opt);
    if (manual_consume)
        nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_session_server_new2(&s->ng, cb, s, opt);
    nghttp2_option_del(opt);
    nghttp2_session_callbacks_del(cb);
    nghttp2_settings_entry iv[1] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, max_concurrent}};
    nghttp2_submit_settings(s->ng, NGHTTP2_FLAG_NONE, iv, max_concurrent ? 1 : 0);
    ev_io_init(&s->rio, srv_on_read, fd, EV_READ);
    ev_io_init(&s->wio, srv_on_write, fd, EV_WRITE);
    s->rio.data = s->wio.data = s;
    ev_io_start(ev, &s->rio);
    srv_flush(s);
}

static void srv_close(srv_t *s)
{
    ev_io_stop(s->ev, &s->rio);
    ev_io_stop(s->ev, &s->wio);
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->closed = true;
}

static void srv_free(srv_t *s)
{
    if (s->fd >= 0)
        srv_close(s);
    nghttp2_session_del(s->ng);
    s->ng = NULL;
    while (s->streams) {
        srv_stream_t *n = s->streams->next;
        dp_buf_free(&s->streams->body);
        free(s->streams);
        s->streams = n;
    }
    dp_buf_free(&s->out);
}

#endif
