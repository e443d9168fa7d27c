/* HTTP/2 upstream connection (client side codec) on nghttp2: many streams
 * on one connection, implementing the upstream codec abstraction
 * (dataplane/upstream/upconn.h).
 *
 * Buffers are bounded: request body waits in a per-stream queue that the
 * peer's flow-control window drains (pending() tells the router when to
 * pause the downstream); response DATA is handed to the router as it
 * arrives, and while the router has paused a stream it is kept and its
 * flow-control window is not returned (WINDOW_UPDATE only for bytes
 * delivered), so a paused stream holds at most one stream window.
 *
 * GOAWAY: the connection takes no new stream (on_event GOAWAY); streams up
 * to last_stream_id finish; the others fail with
 * DP_UPSTREAM_RESET_REFUSED (safe to retry). RST_STREAM fails a stream
 * with DP_UPSTREAM_RESET_REMOTE (REFUSED_STREAM: _REFUSED). */
#ifndef DP_HTTP2_CLIENT_H
#define DP_HTTP2_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/transport/sock.h"
#include "dataplane/upstream/upconn.h"

typedef struct dp_h2_client_opts {
    dp_h2_options_t h2; /* the cluster's http2_protocol_options */
    /* Bound on the flow-control windows we advertise (per stream; the
     * connection window is 16 times that): the cluster's
     * per_connection_buffer_limit_bytes. 0: h2's values alone. */
    uint32_t window_limit;
    bool tls; /* :scheme https */
} dp_h2_client_opts_t;

/* Starts an HTTP/2 client session (connection preface and SETTINGS) on a
 * connected socket (after TLS, if any) and takes ownership of it. */
dp_upconn_t *dp_h2_client_attach(dp_sock_t *sock, const dp_h2_client_opts_t *o);

/* The stream window the session advertises for these options. */
uint32_t dp_h2_client_stream_window(const dp_h2_client_opts_t *o);

extern const dp_upconn_ops_t dp_h2_client_ops;

#endif
