/* Worker threads: N threads, one libev loop each. Each worker accepts on its
 * own SO_REUSEPORT socket of every listener, and owns its connections and
 * upstream pools; nothing on the request path is shared between workers
 * but the immutable snapshot and atomic stats.
 *
 * The main thread publishes a (snapshot, listener set) pair with
 * dp_workers_publish(); each worker swaps it in from its own loop (ev_async)
 * so a worker's current snapshot is only ever touched by that worker. */
#ifndef DP_SERVER_WORKER_H
#define DP_SERVER_WORKER_H

#include <pthread.h>
#include <stdbool.h>

#include "dataplane/core/loop.h"
#include "dataplane/server/listener.h"
#include "xds/snapshot.h"

struct dp_pool_table;

typedef struct dp_worker_listener {
    dp_lsock_t *ls; /* ref held */
    ev_io io;
    struct dp_worker *w;
} dp_worker_listener_t;

typedef struct dp_worker {
    int id;
    pthread_t thread;
    dp_loop_t loop;
    ev_async wakeup;
    pthread_mutex_t mu;
    /* guarded by mu: the next configuration to swap in */
    dp_snapshot_t *next_snap;
    dp_lset_t *next_lset;
    bool stop_requested, drain_requested;

    /* worker-thread only */
    dp_snapshot_t *snap;
    dp_lset_t *lset;
    dp_worker_listener_t *listeners;
    size_t n_listeners;
    bool draining;
    size_t n_conns;     /* downstream connections alive */
    struct dp_conn_link *conns; /* list of downstream connections (for drain) */
    struct dp_pool_table *pools;
    uint64_t rand_state;
} dp_worker_t;

/* Intrusive list node each downstream connection embeds, so a draining
 * worker can tell idle connections to close. */
typedef struct dp_conn_link {
    struct dp_conn_link *prev, *next;
    /* hard (shutdown): close now if idle, else after the current response.
     * soft (its listener changed): close after the next response; an idle
     * connection is not cut, since a request may be on its way. */
    void (*drain)(struct dp_conn_link *l, bool hard);
    const dp_listener_cfg_t *listener; /* the config the connection runs on */
} dp_conn_link_t;

int dp_workers_start(int n);
int dp_workers_count(void);
dp_worker_t *dp_worker_get(int i);
/* Publishes a configuration; refs are taken, the caller keeps its own. */
void dp_workers_publish(dp_snapshot_t *snap, dp_lset_t *lset);
/* Stops accepting, closes idle connections and lets active ones finish. */
void dp_workers_drain(void);
/* Total downstream connections across workers (approximate while running). */
size_t dp_workers_conns(void);
/* Stops the loops and joins the threads. */
void dp_workers_stop(void);

/* The calling worker thread's worker, NULL on other threads. */
dp_worker_t *dp_worker_self(void);
uint64_t dp_worker_random(dp_worker_t *w);

void dp_worker_conn_add(dp_worker_t *w, dp_conn_link_t *l);
void dp_worker_conn_remove(dp_worker_t *w, dp_conn_link_t *l);

#endif
