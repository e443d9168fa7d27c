/* The control stub's health discovery service
 * (envoy.service.health.v3.HealthDiscoveryService/StreamHealthCheck), on
 * the stub's shared completion queue (stub_call.h).
 *
 * A stream belongs to the node id of its HealthCheckRequest. The stub
 * answers with a HealthCheckSpecifier asking that node's data plane to
 * check its own containers' services: one ClusterHealthCheck per service
 * of each running container whose health_check type is not `none`, named
 * "<service>.<container id>" (e.g. "http-8080.64a1f0c2e4b5d6a7b8c9d0f1":
 * stable, and a valid Host, which Envoy's HTTP check sends by default),
 * with one endpoint per container address at the service's internal port
 * and one HealthCheck (tcp_health_check, or http_health_check {path,
 * host}; interval, timeout, thresholds from the fleet; no_traffic_interval
 * = interval, because Envoy would otherwise check a cluster without traffic
 * -- all of these -- every 60 s). The specifier's `interval` is the
 * fleet's defaults.health_check.report_interval: how often the data plane
 * reports. A node's specifier is re-sent when a fleet change changes it;
 * a node the fleet does not name is sent nothing (as ADS).
 *
 * Every EndpointHealthResponse replaces the node's view of its endpoints;
 * an endpoint reported in another state than HEALTHY (an absent
 * health_status is UNKNOWN) is listed with the time it left HEALTHY. */
#ifndef DP_STUB_HDS_SERVER_H
#define DP_STUB_HDS_SERVER_H

#include <grpc/grpc.h>
#include <jansson.h>
#include <stddef.h>

#include "control-stub/fleet.h"

#define DP_STUBHDS_METHOD "/envoy.service.health.v3.HealthDiscoveryService/StreamHealthCheck"

typedef struct dp_stubhds dp_stubhds_t;

dp_stubhds_t *dp_stubhds_create(void);

/* Serves `call` (accepted for StreamHealthCheck); `live` counts the
 * server's live calls. */
void dp_stubhds_accept(dp_stubhds_t *h, grpc_call *call, unsigned id, int *live);

/* The HealthCheckSpecifier of node `node` (index into f->nodes) as proto3
 * JSON (a new object). */
json_t *dp_stubhds_spec_json(const dp_fleet_t *f, size_t node);

/* Makes `f` the fleet (kept: valid until the next call or destroy) and
 * sends the specifiers that changed. A node's specifier is built only
 * when a stream of that node needs it (now, or when one connects), so
 * nodes without HDS cost nothing. A specifier that does not encode (the
 * data plane's protos lack a field) is logged and that node is sent
 * nothing. */
void dp_stubhds_set_fleet(dp_stubhds_t *h, const dp_fleet_t *f);

/* Takes one EndpointHealthResponse (proto3 JSON) from `node` as its
 * current view. A stream calls it for every report; exposed for tests. */
void dp_stubhds_note_response(dp_stubhds_t *h, const char *node, const json_t *resp);

/* GET /status, HDS part: for each node with an HDS stream or a report,
 * "unhealthy": [{"cluster", "address" ("IP:PORT"), "status", "since"}] and
 * "health": {"streams", "reports", "last_report", "clusters" (asked),
 * "endpoints" (reported), "healthy"}. */
void dp_stubhds_status(dp_stubhds_t *h, json_t *nodes);

/* Frees the state; every stream must be gone (the server shut down). */
void dp_stubhds_destroy(dp_stubhds_t *h);

#endif
