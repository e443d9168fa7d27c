/* The server's drain state, as Envoy's drain manager: whether a response
 * should also close its connection (HTTP/1.1 "connection: close"; HTTP/2 a
 * GOAWAY shutdown notice, then the final GOAWAY after the HCM's
 * drain_timeout). Two causes:
 *  - POST /healthcheck/fail: every response on a listener whose drain_type
 *    is DEFAULT (not MODIFY_ONLY) closes its connection, until
 *    /healthcheck/ok;
 *  - the drain sequence, POST /drain_listeners?graceful: for --drain-time-s
 *    responses close their connection with a probability growing from 0
 *    to 1 over that time (--drain-strategy gradual, Envoy's default) or
 *    always (immediate) while the listeners keep accepting; then the
 *    listeners stop (dp_config_stop_listeners), unless skip_exit. With
 *    inboundonly, only listeners with traffic_direction INBOUND.
 * dp_stream_send_head asks dp_drain_close for every final response and
 * has the codec act (dp_stream_ops_t.drain). Listeners modified or removed
 * by LDS drain on their own (worker.c); SIGTERM is main.c's. */
#ifndef DP_SERVER_DRAIN_H
#define DP_SERVER_DRAIN_H

#include <ev.h>
#include <stdbool.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/server/worker.h"

typedef enum { DP_DRAIN_GRADUAL, DP_DRAIN_IMMEDIATE } dp_drain_strategy_t;

/* --drain-time-s and --drain-strategy; before the workers start. */
void dp_drain_configure(double drain_time_s, dp_drain_strategy_t strategy);

void dp_drain_set_hc_failed(bool failed);
bool dp_drain_hc_failed(void);

/* Starts the drain sequence, its end timed on `ev` (the main loop).
 * Returns false (and changes nothing) when one already runs. */
bool dp_drain_start(struct ev_loop *ev, bool inbound_only, bool skip_exit);
/* The drain sequence runs or has run (the server state reads DRAINING). */
bool dp_drain_draining(void);

/* Whether the response being sent on a connection of listener l should
 * close it (l NULL: a DEFAULT, not INBOUND listener). w: the calling
 * worker (its random numbers; without one a gradual drain closes). One
 * relaxed atomic load when nothing drains. */
bool dp_drain_close(const dp_listener_cfg_t *l, dp_worker_t *w);

/* Back to no drain (the timer stopped); for shutdown and tests. */
void dp_drain_reset(void);

#endif
