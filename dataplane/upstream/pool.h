/* Per-worker upstream connection pools, one per (cluster, endpoint):
 * keep-alive reuse of idle HTTP/1.1 connections, Envoy's circuit breakers
 * (max_connections, max_pending_requests, max_requests) and a queue of
 * requests waiting for a connection. */
#ifndef DP_UPSTREAM_POOL_H
#define DP_UPSTREAM_POOL_H

#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http1/client.h"
#include "dataplane/upstream/cluster.h"

struct dp_worker;
typedef struct dp_pool_table dp_pool_table_t;
typedef struct dp_pool dp_pool_t;

/* A request waiting for a connection. The pool calls ready() with a bound-
 * able client (idle or just connected) or with NULL and an error
 * (connect failure / timeout). */
typedef struct dp_pool_waiter {
    struct dp_pool_waiter *next, *prev;
    dp_pool_t *pool;
    void (*ready)(struct dp_pool_waiter *w, dp_h1_client_t *c, int err, const char *detail);
} dp_pool_waiter_t;

dp_pool_table_t *dp_pool_table_new(struct dp_worker *w);
void dp_pool_table_free(dp_pool_table_t *t);

dp_pool_t *dp_pool_get(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e);
/* After a config swap: pools whose cluster or endpoint is gone from snap
 * close their idle connections and are freed once no request uses them. */
struct dp_snapshot;
void dp_pool_table_prune(dp_pool_table_t *t, const struct dp_snapshot *snap);
/* Requests active on this worker towards that endpoint (least-request LB). */
uint32_t dp_pool_active(struct dp_worker *w, const dp_cluster_cfg_t *c, const dp_endpoint_t *e);

typedef enum {
    DP_POOL_READY,    /* *out is an idle client, bind it now */
    DP_POOL_WAIT,     /* waiter queued; ready() comes later */
    DP_POOL_OVERFLOW, /* circuit breaker: 503 UO */
} dp_pool_result_t;

/* Gets a connection for one request: an idle one, else a new one (within
 * max_connections), else a place in the queue (within max_pending). The
 * request counts as active (max_requests) until dp_pool_done(). */
dp_pool_result_t dp_pool_acquire(dp_pool_t *p, const dp_cluster_cfg_t *c, dp_pool_waiter_t *w,
                                 dp_h1_client_t **out);
/* Leaves the wait queue (request gone). */
void dp_pool_cancel(dp_pool_waiter_t *w);
/* The request is over: the client goes back idle if reusable, else closes.
 * c may be NULL (the request never got a connection). */
void dp_pool_done(dp_pool_t *p, dp_h1_client_t *c, bool reusable);

#endif
