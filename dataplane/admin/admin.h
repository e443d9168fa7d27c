/* The admin listener (bootstrap admin.address), served on the main
 * thread's loop: /ready, /server_info, /stats, /stats/prometheus,
 * /config_dump, /clusters, /listeners, POST /healthcheck/fail and
 * /healthcheck/ok, POST /drain_listeners and /quitquitquit, POST /logging,
 * /memory, POST /reset_counters, with Envoy's output formats. */
#ifndef DP_ADMIN_ADMIN_H
#define DP_ADMIN_ADMIN_H

#include <stdbool.h>
#include <sys/socket.h>

#include "dataplane/core/loop.h"
#include "dataplane/server/drain.h"
#include "xds/bootstrap.h"
#include "xds/snapshot.h"

typedef struct dp_admin_info {
    const char *version;       /* build version string */
    const char *node_id, *node_cluster;
    const char *command_line;  /* argv joined */
    int concurrency;
    uint64_t start_wall_ms;
    /* additions for /server_info command_line_options (NULL / 0: unset) */
    const char *service_node, *service_cluster; /* --service-node / --service-cluster as given */
    double drain_time_s;                        /* --drain-time-s (default 600) */
    dp_drain_strategy_t drain_strategy;         /* --drain-strategy */
    void (*quit)(void); /* POST /quitquitquit, once the answer is queued; NULL: 503 */
} dp_admin_info_t;

/* Binds the admin address and serves on `loop`. Strings in b and info are
 * copied (the bootstrap may be reloaded and freed while the admin runs);
 * bootstrap admin.access_log loggers are built from b->msg and log every
 * admin request. Returns 0, or a negative DP_E* with errbuf saying why
 * (bind failure with the address). */
int dp_admin_start(dp_loop_t *loop, const dp_bootstrap_t *b, const dp_admin_info_t *info, char *errbuf,
                   size_t errlen);
/* The configuration admin endpoints report; called on the main thread at
 * every swap (takes a reference, drops the previous one). */
void dp_admin_set_snapshot(dp_snapshot_t *snap);
/* Server state for /ready and /server_info: "LIVE", "DRAINING",
 * "PRE_INITIALIZING", "INITIALIZING". */
void dp_admin_set_state(const char *state);
/* Closes the admin connections and listener and drops the snapshot. */
void dp_admin_stop(void);

#endif
