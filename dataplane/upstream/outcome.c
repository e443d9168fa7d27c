/* Fans an upstream outcome out to its listeners (see outcome.h). */
#include "dataplane/upstream/outcome.h"

#include "dataplane/upstream/load_stats.h"
#include "dataplane/upstream/outlier.h"

void dp_upstream_issued(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep)
{
    dp_load_stats_issued(c, ep);
}

void dp_upstream_done(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status)
{
    dp_load_stats_done(c, ep, out, status);
    dp_outlier_note(c, ep, out, status);
}
