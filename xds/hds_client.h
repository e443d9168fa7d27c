/* HDS client (envoy.service.health.v3.HealthDiscoveryService) to the
 * bootstrap's hds_config. Being written. */
#ifndef DP_XDS_HDS_CLIENT_H
#define DP_XDS_HDS_CLIENT_H

#include <stddef.h>

#include "xds/bootstrap.h"

/* Starts the HDS thread (boot->has_hds). 0, or a negative DP_E* with errbuf. */
int dp_hds_client_start(const dp_bootstrap_t *boot, char *errbuf, size_t errlen);
void dp_hds_client_stop(void);

#endif
