/* The upstream codec abstraction: one request/response exchange (a
 * "stream") on a pooled upstream connection, whatever the protocol. The
 * router and the pool only see this; the HTTP/1.1 client
 * (dataplane/http1/client.c: one stream per connection at a time, the
 * framing, WebSocket tunnels) and the HTTP/2 client (dataplane/http2/
 * client.c: many streams per connection on nghttp2) implement it.
 *
 *   router --ops->bind/send_head/send_body/send_trailers/read/detach--> codec
 *   codec  --cbs->on_head/on_body/on_trailers/on_error/on_drain------> router
 *   codec  --conn->on_event(CLOSED/GOAWAY/CAPACITY)------------------> pool
 *
 * Life of a stream: bind() (on a connection where the pool reserved a
 * slot), send_head(), then any number of send_body() and at most one
 * send_trailers() or send_body(end_stream); meanwhile the callbacks report
 * the response. A response ends with on_head(end_stream), on_body(end_stream),
 * on_trailers() or on_error(); no callback follows. The caller always ends
 * the stream with detach() (also after on_error), which cancels it when it
 * is unfinished (HTTP/1.1: the connection cannot be reused; HTTP/2:
 * RST_STREAM CANCEL) and then gives the slot back with dp_pool_release().
 *
 * Callbacks may call any op of their own stream, including detach; the
 * codecs never deliver a callback from inside another one of the same
 * connection's I/O parser, so a callback may also start another stream on
 * the same connection. */
#ifndef DP_UPSTREAM_UPCONN_H
#define DP_UPSTREAM_UPCONN_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/core/common.h"
#include "dataplane/http/headers.h"
#include "dataplane/transport/sock.h"
#include "dataplane/upstream/cluster-t.h"

typedef struct dp_upconn dp_upconn_t;
typedef struct dp_upstream_stream dp_upstream_stream_t;

/* The request head, protocol-neutral (the codec adds framing). */
typedef struct dp_upstream_head {
    dp_slice_t method, authority, path;
    /* Regular headers, lowercase names, no Host, no hop-by-hop or framing
     * headers (the HCM stripped them; the codecs skip any left). Borrowed
     * for the duration of send_head only. */
    const dp_headers_t *headers;
    /* Request body length: > 0 known, -1 unknown (HTTP/1.1 chunked), 0 none. */
    int64_t content_length;
    /* No body or trailers follow: the request is complete with its head. */
    bool end_stream;
    /* An upgrade (lowercase token, e.g. "websocket"), HTTP/1.1 only: the
     * head carries "connection: upgrade" and "upgrade: <token>"; a 101
     * turns the connection into a raw byte tunnel (both bodies are the
     * tunnel's bytes, the end of each a half-close) that is never reused.
     * Empty: a plain request. */
    dp_slice_t upgrade;
} dp_upstream_head_t;

/* Why a stream failed. */
typedef enum {
    DP_UPSTREAM_RESET_CONNECTION = 0, /* the connection closed or failed under it */
    DP_UPSTREAM_RESET_REMOTE,         /* the server reset the stream (RST_STREAM) */
    DP_UPSTREAM_RESET_REFUSED,        /* not processed by the server (REFUSED_STREAM, or above a
                                         GOAWAY's last_stream_id): safe to retry */
    DP_UPSTREAM_RESET_PROTOCOL,       /* the response broke the protocol */
} dp_upstream_reset_t;

/* Envoy's reset reason text for a local reply ("remote reset", ...). */
const char *dp_upstream_reset_str(dp_upstream_reset_t r);

typedef struct dp_upstream_cbs {
    /* The response head. status is final (interim 1xx are dropped; 101
     * only answers an upgrade). Headers are regular headers (no pseudo,
     * no framing headers), valid only during the call. content_length -1
     * unknown. end_stream: the response is complete. */
    void (*on_head)(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream);
    /* Response body; data valid only during the call. */
    void (*on_body)(void *ctx, const char *data, size_t len, bool end_stream);
    /* Response trailers: the response is complete. */
    void (*on_trailers)(void *ctx, dp_headers_t *h);
    /* The stream failed. got_bytes: part of the response had arrived. */
    void (*on_error)(void *ctx, dp_upstream_reset_t reason, bool got_bytes, const char *detail);
    /* Request bytes queued by the codec fell to DP_STREAM_LOW_WATERMARK or
     * below after they had reached DP_STREAM_HIGH_WATERMARK (optional). */
    void (*on_drain)(void *ctx);
} dp_upstream_cbs_t;

/* A stream handle: the codec's object starts with this. */
struct dp_upstream_stream {
    dp_upconn_t *conn;
};

typedef struct dp_upconn_ops {
    const char *name; /* ALPN name: "http/1.1", "h2" */
    /* Starts a stream on a connection the pool reserved a slot on. Never
     * NULL. The stream reports to cbs/ctx until detached. */
    dp_upstream_stream_t *(*bind)(dp_upconn_t *c, const dp_upstream_cbs_t *cbs, void *ctx);
    void (*send_head)(dp_upstream_stream_t *st, const dp_upstream_head_t *h);
    /* Request body (copied). end_stream ends the request (tunnel: half-close). */
    void (*send_body)(dp_upstream_stream_t *st, const char *data, size_t len, bool end_stream);
    /* Ends the request with trailers (copied). HTTP/1.1 cannot carry them:
     * the body ends and the trailers are dropped. */
    void (*send_trailers)(dp_upstream_stream_t *st, const dp_headers_t *h);
    /* Request bytes accepted but not yet handed to the kernel / the peer's
     * flow-control window. */
    size_t (*pending)(const dp_upstream_stream_t *st);
    /* Pauses (false) / resumes (true) response delivery: downstream
     * backpressure. HTTP/2 then stops returning flow-control window. */
    void (*read)(dp_upstream_stream_t *st, bool enable);
    /* No more callbacks; cancels an unfinished stream. Returns true when
     * the connection is clean for another stream (HTTP/1.1: both messages
     * complete, keep-alive; HTTP/2: always, unless the connection failed). */
    bool (*detach)(dp_upstream_stream_t *st);
    /* Streams the connection may carry at once right now (HTTP/1.1: 1;
     * HTTP/2: the server's SETTINGS_MAX_CONCURRENT_STREAMS capped by
     * http2_protocol_options.max_concurrent_streams; 0 after GOAWAY). */
    uint32_t (*max_streams)(const dp_upconn_t *c);
    /* Closes the connection now (HTTP/2: GOAWAY first); attached streams
     * get on_error. Fires on_event(CLOSED). */
    void (*close)(dp_upconn_t *c);
} dp_upconn_ops_t;

typedef enum {
    DP_UPCONN_EV_CLOSED,   /* the connection is closed (fired once, also for ops->close); its memory
                              lives until the current callbacks unwind */
    DP_UPCONN_EV_GOAWAY,   /* the server will take no new streams; in-flight ones go on */
    DP_UPCONN_EV_CAPACITY, /* max_streams may have grown (HTTP/2 SETTINGS) */
} dp_upconn_event_t;

/* A live upstream connection. The codec owns the socket; the owner (the
 * pool) fills the fields after `owner` and is told of connection-level
 * events through on_event. */
struct dp_upconn {
    const dp_upconn_ops_t *ops;
    dp_sock_t *sock;
    dp_upstream_proto_t proto; /* DP_UPSTREAM_HTTP1 or DP_UPSTREAM_HTTP2 */
    bool closed;               /* set by the codec before on_event(CLOSED) */
    void (*on_event)(dp_upconn_t *c, dp_upconn_event_t ev);
    void *owner;
    /* the pool's bookkeeping */
    struct dp_pool *pool;
    dp_upconn_t *pool_prev, *pool_next;
    int pool_list;       /* which of the pool's lists holds it (pool.c) */
    uint32_t n_streams;  /* slots reserved now */
    uint32_t n_assigned; /* streams started over its life (max_requests_per_connection) */
    bool draining;       /* takes no new stream; closes after the last one */
    ev_timer idle_timer;
};

/* Shorthands for the router. */
static inline void dp_upstream_send_head(dp_upstream_stream_t *st, const dp_upstream_head_t *h)
{
    st->conn->ops->send_head(st, h);
}
static inline void dp_upstream_send_body(dp_upstream_stream_t *st, const char *data, size_t len, bool end)
{
    st->conn->ops->send_body(st, data, len, end);
}
static inline void dp_upstream_send_trailers(dp_upstream_stream_t *st, const dp_headers_t *h)
{
    st->conn->ops->send_trailers(st, h);
}
static inline size_t dp_upstream_pending(const dp_upstream_stream_t *st)
{
    return st->conn->ops->pending(st);
}
static inline void dp_upstream_read(dp_upstream_stream_t *st, bool enable)
{
    st->conn->ops->read(st, enable);
}
static inline bool dp_upstream_detach(dp_upstream_stream_t *st)
{
    return st->conn->ops->detach(st);
}

/* For codecs: reports a connection-level event to the owner, if any. */
static inline void dp_upconn__event(dp_upconn_t *c, dp_upconn_event_t ev)
{
    if (c->on_event)
        c->on_event(c, ev);
}

#endif
