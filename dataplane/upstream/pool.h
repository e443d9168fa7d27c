/* Per-worker upstream connection pools, one per (cluster, endpoint,
 * protocol), over the upstream codec abstraction (upconn.h):
 *  - HTTP/1.1: one stream per connection, keep-alive reuse of idle ones;
 *  - HTTP/2: streams multiplexed on a connection up to its max_streams
 *    (the server's SETTINGS_MAX_CONCURRENT_STREAMS capped by
 *    http2_protocol_options.max_concurrent_streams), more connections when
 *    all are full; GOAWAY retires a connection.
 * Envoy's circuit breakers: max_requests counts streams (requests), max_connections
 * connections, max_pending_requests the queue of requests waiting for a
 * connection. Connections open with the cluster's transport (TLS when
 * cfg->tls: the handshake is part of the connect, under connect_timeout;
 * the ALPN result, if any, picks the codec), close after
 * common_http_protocol_options.idle_timeout without a stream and after
 * max_requests_per_connection streams. */
#ifndef DP_UPSTREAM_POOL_H
#define DP_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http1/client.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/upconn.h"

struct dp_worker;
typedef struct dp_pool_table dp_pool_table_t;
typedef struct dp_pool dp_pool_t;

/* A request waiting for a connection. The pool calls back with a
 * connection on which it reserved a stream slot (bind a stream on it now),
 * or with NULL and an error (DP_ETIMEDOUT: connect timeout; DP_ECLOSED:
 * connect / TLS failure) and a detail. */
typedef struct dp_pool_waiter {
    struct dp_pool_waiter *next, *prev;
    dp_pool_t *pool;
    void (*on_conn)(struct dp_pool_waiter *w, dp_upconn_t *c, int err, const char *detail);
    /* The HTTP/1.1-only form of dp_pool_acquire() users, called when
     * on_conn is NULL. */
    void (*ready)(struct dp_pool_waiter *w, dp_h1_client_t *c, int err, const char *detail);
} dp_pool_waiter_t;

dp_pool_table_t *dp_pool_table_new(struct dp_worker *w);
void dp_pool_table_free(dp_pool_table_t *t);

/* The protocol a request uses towards cluster c: its explicit protocol, or
 * the downstream's (use_downstream_protocol_config) given the downstream
 * request's http_version (20: HTTP/2). Never DP_UPSTREAM_DOWNSTREAM. */
dp_upstream_proto_t dp_pool_proto_for(const dp_cluster_cfg_t *c, int downstream_http_version);

/* The pool of endpoint e of cluster c for protocol proto (HTTP1 or HTTP2),
 * created on first use; its settings follow c. */
dp_pool_t *dp_pool_for(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e,
                       dp_upstream_proto_t proto);

/* Upstream connections that speak for one client: bound to its address
 * (original_src, transparent) and/or opened with a PROXY protocol header
 * naming it. Such connections are never shared with another client: each
 * source gets its own pool (as Envoy hashes these options into the pool
 * key), freed when its last connection closes. Build it zeroed. */
typedef struct dp_pool_src {
    struct sockaddr_storage bind; /* the client's address (port 0 unless bind_port) */
    socklen_t bindlen;            /* 0: no bind */
    uint32_t mark;                /* SO_MARK, 0 none */
    uint8_t pp_version;           /* 0: no PROXY header; 1 or 2 */
    struct sockaddr_storage pp_src, pp_dst; /* the downstream connection's peer and local addresses */
} dp_pool_src_t;

/* dp_pool_for() for one source; src NULL is dp_pool_for(). */
dp_pool_t *dp_pool_for_src(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e,
                           dp_upstream_proto_t proto, const dp_pool_src_t *src);
/* After a config swap: pools whose cluster or endpoint is gone from snap
 * close their idle connections; busy ones close when their last stream
 * ends. Pools left with nothing are freed. */
struct dp_snapshot;
void dp_pool_table_prune(dp_pool_table_t *t, const struct dp_snapshot *snap);
/* Requests active on this worker towards that endpoint (least-request LB). */
uint32_t dp_pool_active(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e);

typedef enum {
    DP_POOL_READY,    /* *out has a slot reserved for this request: bind now */
    DP_POOL_WAIT,     /* waiter queued; its callback comes later */
    DP_POOL_OVERFLOW, /* circuit breaker: 503 UO */
} dp_pool_result_t;

/* Gets a stream slot for one request: on a connection with room, else a
 * place in the queue (starting connections within max_connections, while
 * max_pending allows). The request counts as active (max_requests) until
 * dp_pool_release(), whatever the result but OVERFLOW. */
dp_pool_result_t dp_pool_claim(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                               dp_upconn_t **out);
/* Leaves the wait queue (request gone); dp_pool_release(p, NULL, ...) follows. */
void dp_pool_cancel(dp_pool_waiter_t *w);
/* The request is over (after detaching its stream). c: its connection, or
 * NULL if it never got one. HTTP/1.1: the connection goes back idle if
 * reusable, else closes. HTTP/2: the slot is free again (reusable is
 * ignored: a failed stream does not spoil the connection). */
void dp_pool_release(dp_pool_t *p, dp_upconn_t *c, bool reusable);

/* Connections of the pool, open and connecting (tests, admin). */
uint32_t dp_pool_connections(const dp_pool_t *p);

/* --- HTTP/1.1-only interface (the jwt_authn JWKS fetch) --- */
/* The HTTP/1.1 pool. */
dp_pool_t *dp_pool_get(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e);
/* dp_pool_claim() for the raw HTTP/1.1 client; the waiter's `ready` is called. */
dp_pool_result_t dp_pool_acquire(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                                 dp_h1_client_t **out);
/* dp_pool_release() */
void dp_pool_done(dp_pool_t *p, dp_h1_client_t *c, bool reusable);

#endif
