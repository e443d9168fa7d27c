/* HTTP/1.1 upstream connection (client side codec): one request at a time
 * on a connected socket, the response parsed with the strict parser.
 *
 * It implements the upstream codec abstraction (dataplane/upstream/
 * upconn.h: the framing of the request head and body, chunked or
 * content-length, request trailers dropped, WebSocket-style upgrades that
 * turn the connection into a raw tunnel) and keeps a raw interface for
 * callers that frame their own request (the jwt_authn JWKS fetch):
 * dp_h1_client_bind() + dp_h1_client_write() + dp_h1_client_request_done().
 * Connection reuse is the pool's business (dataplane/upstream/pool.h). */
#ifndef DP_HTTP1_CLIENT_H
#define DP_HTTP1_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http/headers.h"
#include "dataplane/http1/parser.h"
#include "dataplane/transport/sock.h"
#include "dataplane/upstream/upconn.h"

typedef struct dp_h1_client dp_h1_client_t;

/* Callbacks of the raw interface. */
typedef struct dp_h1_client_cbs {
    void (*on_connect)(void *ctx, int err); /* unused, kept for source compatibility */
    /* Response head; the headers point into the input buffer and are valid
     * only during the call. content_length -1 when unknown. */
    void (*on_head)(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream);
    void (*on_body)(void *ctx, const char *data, size_t len, bool end_stream);
    /* The connection failed. got_bytes: some of the response had arrived.
     * err: DP_ERR for an invalid response, else the socket's error. The
     * caller then detaches and gives the connection back (not reusable). */
    void (*on_error)(void *ctx, int err, bool got_bytes, const char *detail);
    /* The request bytes queued on the socket drained. */
    void (*on_drain)(void *ctx);
} dp_h1_client_cbs_t;

typedef enum {
    DP_H1C_IDLE,
    DP_H1C_ACTIVE,
    DP_H1C_CLOSED,
} dp_h1c_state_t;

struct dp_h1_client {
    dp_upconn_t super; /* first: the pool sees a dp_upconn_t */
    dp_upstream_stream_t stream;
    dp_h1c_state_t state;
    const dp_h1_client_cbs_t *cbs;
    void *ctx;
    /* upconn interface: the bound stream's callbacks */
    const dp_upstream_cbs_t *ucbs;
    void *uctx;
    /* request framing */
    bool req_chunked;
    bool upgrade_requested; /* the head asked for an upgrade: never reused */
    bool tunnel;            /* 101 received: raw bytes both ways */
    bool drain_wanted;      /* pending() reached the high watermark */
    /* response parsing */
    bool head_done, request_was_head, resp_keep_alive, got_bytes;
    dp_h1_body_kind_t body_kind;
    uint64_t body_left;
    dp_h1_chunked_t chunked;
    bool req_done, resp_done;
    bool reads_paused;
    uint32_t requests; /* served on this connection */
};

/* Wraps a connected socket (after TLS, if any); takes ownership of it.
 * The connection starts idle: any byte or EOF from the server closes it
 * (on_event CLOSED). */
dp_h1_client_t *dp_h1_client_attach(dp_sock_t *sock);

/* --- raw interface --- */
/* Binds a request to an idle client. */
void dp_h1_client_bind(dp_h1_client_t *c, const dp_h1_client_cbs_t *cbs, void *ctx, bool is_head);
/* Queues request bytes (already framed by the caller). */
void dp_h1_client_write(dp_h1_client_t *c, const struct iovec *iov, int n);
/* The caller has written the whole request. */
void dp_h1_client_request_done(dp_h1_client_t *c);
size_t dp_h1_client_pending(const dp_h1_client_t *c);
/* Pauses / resumes reading the response (downstream backpressure). */
void dp_h1_client_read(dp_h1_client_t *c, bool enable);
/* Detaches the caller: no more callbacks. Returns true if the connection
 * can be reused (both directions complete, keep-alive, no upgrade). */
bool dp_h1_client_detach(dp_h1_client_t *c);
/* Closes the socket (on_event CLOSED); memory is freed after the current
 * callbacks unwind. */
void dp_h1_client_close(dp_h1_client_t *c);

extern const dp_upconn_ops_t dp_h1_client_ops;

#endif
