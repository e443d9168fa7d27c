/* Activating a configuration: the one place where a snapshot becomes the
 * running config. Callable from any thread (the main thread for the
 * bootstrap and SIGHUP, the xDS thread for ADS updates); serialized by a
 * mutex. It binds new listeners (reusing the sockets of unchanged ones),
 * hands the snapshot and listener set to the workers, and tells the admin
 * endpoint (on the main loop). */
#ifndef DP_SERVER_CONFIG_H
#define DP_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "dataplane/core/loop.h"
#include "xds/snapshot.h"

/* Call once on the main thread after dp_workers_start. */
void dp_config_init(dp_loop_t *main_loop);
/* Activates snap (a reference is taken). Returns 0, or a negative DP_E*
 * when a listener cannot be bound: *failed_listener names it (pointing into
 * snap) and errbuf says why; nothing changes then. */
int dp_config_commit(dp_snapshot_t *snap, const char **failed_listener, char *errbuf, size_t errlen);
/* POST /drain_listeners: the listeners (with inbound_only, those with
 * traffic_direction INBOUND) close their sockets and accept nothing more,
 * now and in every later configuration; their connections go on. */
void dp_config_stop_listeners(bool inbound_only);
/* The snapshot in force (a new reference), or NULL before the first. */
dp_snapshot_t *dp_config_current(void);
void dp_config_shutdown(void);

#endif
