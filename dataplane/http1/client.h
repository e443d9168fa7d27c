/* HTTP/1.1 upstream connection (client side codec): writes one request at
 * a time, parses the response with the strict parser and reports it through
 * callbacks. Connection reuse is the pool's business (dataplane/upstream/
 * pool.h); this file only knows one socket and its framing. */
#ifndef DP_HTTP1_CLIENT_H
#define DP_HTTP1_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http/headers.h"
#include "dataplane/http1/parser.h"
#include "dataplane/transport/sock.h"

typedef struct dp_h1_client dp_h1_client_t;

typedef struct dp_h1_client_cbs {
    /* A new connection is up (err 0) or failed. */
    void (*on_connect)(void *ctx, int err);
    /* Response head; the headers point into the input buffer and are valid
     * only during the call. content_length -1 when unknown. */
    void (*on_head)(void *ctx, int status, dp_headers_t *h, int64_t content_length, bool end_stream);
    void (*on_body)(void *ctx, const char *data, size_t len, bool end_stream);
    /* The connection failed. got_bytes: some of the response had arrived.
     * The client is closed after this returns. */
    void (*on_error)(void *ctx, int err, bool got_bytes, const char *detail);
    /* The request bytes queued on the socket drained below the low watermark. */
    void (*on_drain)(void *ctx);
} dp_h1_client_cbs_t;

typedef enum {
    DP_H1C_CONNECTING,
    DP_H1C_IDLE,
    DP_H1C_ACTIVE,
    DP_H1C_CLOSED,
} dp_h1c_state_t;

struct dp_pool;

struct dp_h1_client {
    dp_sock_t *sock;
    struct dp_pool *pool;
    dp_h1_client_t *next_idle; /* pool's idle list */
    dp_h1c_state_t state;
    const dp_h1_client_cbs_t *cbs;
    void *ctx;
    /* response parsing */
    bool head_done, request_was_head, resp_keep_alive, got_bytes;
    dp_h1_body_kind_t body_kind;
    uint64_t body_left;
    dp_h1_chunked_t chunked;
    bool req_done, resp_done;
    bool reads_paused;
    uint32_t requests; /* served on this connection */
    ev_timer timer;    /* the pool's connect timeout */
};

/* Starts connecting; cbs/ctx receive on_connect. */
dp_h1_client_t *dp_h1_client_connect(dp_loop_t *loop, const struct sockaddr *addr, socklen_t len,
                                     const dp_h1_client_cbs_t *cbs, void *ctx);
/* Binds a request to an idle or freshly connected client. */
void dp_h1_client_bind(dp_h1_client_t *c, const dp_h1_client_cbs_t *cbs, void *ctx, bool is_head);
/* Queues request bytes (already framed by the caller). */
void dp_h1_client_write(dp_h1_client_t *c, const struct iovec *iov, int n);
/* The caller has written the whole request. */
void dp_h1_client_request_done(dp_h1_client_t *c);
size_t dp_h1_client_pending(const dp_h1_client_t *c);
/* Pauses / resumes reading the response (downstream backpressure). */
void dp_h1_client_read(dp_h1_client_t *c, bool enable);
/* Detaches the caller: no more callbacks. Returns true if the connection
 * can be reused (both directions complete, keep-alive). */
bool dp_h1_client_detach(dp_h1_client_t *c);
/* Idle in a pool: any byte or EOF from the server closes it (calls the
 * pool back through on_error). */
void dp_h1_client_set_idle(dp_h1_client_t *c, const dp_h1_client_cbs_t *cbs, void *ctx);
void dp_h1_client_close(dp_h1_client_t *c);

#endif
