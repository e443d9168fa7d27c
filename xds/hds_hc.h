/* Translation of envoy.config.core.v3.HealthCheck into dp_hc_cfg_t
 * (dataplane/upstream/health.h), shared by clusters (CDS, bootstrap:
 * Cluster.health_checks) and HDS (ClusterHealthCheck.health_checks). */
#ifndef DP_XDS_HDS_HC_H
#define DP_XDS_HDS_HC_H

#include "dataplane/upstream/health.h"
#include "envoy/config/core/v3/health_check.pb-c.h"
#include "xds/translate_util.h"

/* The HealthCheck message at the current path of x, with Envoy's defaults
 * and validation (timeout, interval and both thresholds required; HTTP/1
 * only; expected_statuses within [100, 600)). *out is the caller's
 * (dp_hc_cfg_free). Returns 0 or DP_EINVAL with the error in x's errbuf. */
int dp_xlate__health_check(dp_xlate_t *x, const Envoy__Config__Core__V3__HealthCheck *m, dp_hc_cfg_t **out);

#endif
