/* What became of each upstream request, told once to everything that
 * learns from it: load reports (LRS, dataplane/upstream/load_stats.h) and
 * passive health (outlier detection, dataplane/upstream/outlier.h). The
 * router is the only caller; it runs on a worker thread, so whatever
 * listens must be thread-safe and cheap (atomics, no locks on the hot path).
 *
 * Per upstream attempt: dp_upstream_issued() when the request is bound to
 * a connection to the endpoint, then exactly one dp_upstream_done(). A
 * connection that could not be made gives dp_upstream_done(CONNECT_FAIL)
 * with no dp_upstream_issued() before it. */
#ifndef DP_UPSTREAM_OUTCOME_H
#define DP_UPSTREAM_OUTCOME_H

#include "dataplane/upstream/cluster-t.h"

typedef enum {
    DP_UPOUT_RESPONSE,     /* a response head arrived: status says which */
    DP_UPOUT_CONNECT_FAIL, /* no connection (refused, unreachable, connect timeout) */
    DP_UPOUT_RESET,        /* the connection or stream broke before the response head */
    DP_UPOUT_TIMEOUT,      /* the route timeout fired first */
    DP_UPOUT_CANCELLED,    /* the downstream went away first: not the endpoint's doing */
} dp_upout_t;

void dp_upstream_issued(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep);
/* status: the response status for DP_UPOUT_RESPONSE, else 0. */
void dp_upstream_done(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status);

#endif
