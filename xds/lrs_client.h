/* LRS client (envoy.service.load_stats.v3.LoadReportingService) to the
 * bootstrap's cluster_manager.load_stats_config. Being written. */
#ifndef DP_XDS_LRS_CLIENT_H
#define DP_XDS_LRS_CLIENT_H

#include <stddef.h>

#include "xds/bootstrap.h"

/* Starts the reporting thread (boot->has_lrs). 0, or a negative DP_E* with errbuf. */
int dp_lrs_client_start(const dp_bootstrap_t *boot, char *errbuf, size_t errlen);
void dp_lrs_client_stop(void);

#endif
