/* HDS messages, sans-I/O (envoy.service.health.v3): the first request, a
 * HealthCheckSpecifier turned into the set of endpoints the health
 * service checks (dataplane/upstream/health.h), and the
 * EndpointHealthResponse reporting them. xds/hds_client.c carries them
 * over gRPC. */
#ifndef DP_XDS_HDS_H
#define DP_XDS_HDS_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/upstream/health.h"
#include "xds/bootstrap.h"

/* HealthCheckRequestOrEndpointHealthResponse{health_check_request{node,
 * capability{health_check_protocols: [HTTP, TCP]}}}: malloc'd bytes. */
uint8_t *dp_hds_request(const dp_bootstrap_t *boot, size_t *len);

/* A HealthCheckSpecifier's bytes -> a new set (refcount 1), or NULL with
 * errbuf when the message does not decode. A cluster whose health check
 * cannot be used (unsupported, invalid) is kept without one: its endpoints
 * are reported UNHEALTHY, and errbuf says why (the set is still
 * returned). An endpoint that is not an IP socket address is left out. */
dp_hds_set_t *dp_hds_specifier(const uint8_t *p, size_t n, char *errbuf, size_t errlen);

/* HealthCheckRequestOrEndpointHealthResponse{endpoint_health_response}
 * with every endpoint of s, per cluster and locality, HEALTHY or
 * UNHEALTHY: malloc'd bytes. */
uint8_t *dp_hds_report(const dp_hds_set_t *s, size_t *len);

#endif
