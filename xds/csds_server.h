/* CSDS server (envoy.service.status.v3.ClientStatusDiscoveryService) on
 * the admin side: --csds-address HOST:PORT. Being written. */
#ifndef DP_XDS_CSDS_SERVER_H
#define DP_XDS_CSDS_SERVER_H

#include <stddef.h>

#include "xds/bootstrap.h"

/* Serves CSDS on addr ("127.0.0.1:9902"; port 0 picks one, written to
 * *port when port is not NULL). 0, or a negative DP_E* with errbuf. */
int dp_csds_server_start(const dp_bootstrap_t *boot, const char *addr, int *port, char *errbuf, size_t errlen);
void dp_csds_server_stop(void);

#endif
