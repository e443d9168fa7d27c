/* CSDS (envoy.service.status.v3.ClientStatusDiscoveryService), sans-I/O:
 * what the data plane holds of each xDS resource, and its encoding as a
 * ClientStatusResponse. The gRPC server is xds/csds_server.c.
 *
 * One GenericXdsConfig per resource, with Envoy's config_dump meanings of
 * envoy.admin.v3.ClientResourceStatus:
 *  - static resources (the bootstrap's): ACKED, is_static_resource;
 *  - a resource received and accepted: ACKED, its version_info (SotW: the
 *    response's; Delta: the resource's), the resource as an Any,
 *    last_updated; an accepted version still warming (waiting for its RDS,
 *    EDS or SDS) is the one reported: it is what was ACKed;
 *  - a resource whose latest update was rejected: NACKED, error_state with
 *    the exact text the NACK's error_detail carried for it, the rejected
 *    version_info, last_update_attempt and (with contents) the rejected
 *    resource as failed_configuration; version_info / xds_config stay the
 *    last accepted version, still in force (none if it never had one);
 *  - a name subscribed (RDS, EDS, SDS: what listeners and clusters refer
 *    to) that the server has not sent: REQUESTED.
 * DOES_NOT_EXIST is not reported: the data plane does not track a
 * subscribed name the server removed apart from one never sent (both show
 * as REQUESTED). Secrets are shown with their key material redacted, as in
 * admin /config_dump. config_status is left unset (it is the management
 * server's view). */
#ifndef DP_XDS_CSDS_H
#define DP_XDS_CSDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xds/ads.h"
#include "xds/snapshot.h"

typedef struct dp_csds_item {
    const char *type_url; /* static string */
    char *name;
    char *version;        /* "" when none */
    uint8_t *raw;         /* the resource, NULL: none or not asked for */
    size_t raw_len;
    uint64_t last_updated_ms; /* wall clock, 0: unset */
    int client_status;        /* ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__* */
    bool is_static;
    char *error_details; /* NACKED: the NACK's text for this resource, else NULL */
    char *error_version;
    uint64_t error_ms;
    uint8_t *bad; /* NACKED: the rejected resource, NULL: none or not asked for */
    size_t bad_len;
} dp_csds_item_t;

typedef struct dp_csds_status {
    dp_csds_item_t *v;
    size_t n, cap;
} dp_csds_status_t;

/* Appends an item (zeroed; the caller fills it; strings are owned). */
dp_csds_item_t *dp_csds_status_push(dp_csds_status_t *st);
void dp_csds_status_free(dp_csds_status_t *st);
/* The type URL of a resource type. */
const char *dp_csds_type_url(dp_res_type_t type);
/* Appends one item per dp_res_meta_t of a snapshot (the static ones, or
 * all when there is no ADS). contents: copy the resources' bytes. */
void dp_csds_status_add_meta(dp_csds_status_t *st, const dp_snapshot_t *snap, bool contents, bool only_static);

/* Implemented by xds/ads_status.c: the status of every resource the ADS
 * state holds or asks for (static ones included). The caller serializes
 * it with the ADS thread (dp_ads_client_status does). */
void dp_ads_status_collect(const dp_ads_t *a, bool contents, dp_csds_status_t *out);
/* Implemented by xds/ads_client.c: dp_ads_status_collect on the running
 * ADS client, under the lock its thread holds while it changes the state
 * (never for long: the copy is made and the lock released). Returns 0, or
 * DP_EAGAIN when no ADS client runs. Any thread. */
int dp_ads_client_status(bool contents, dp_csds_status_t *out);

/* Decodes a ClientStatusRequest. node_matchers (not modelled) is refused
 * by name. Returns 0 with *exclude (exclude_resource_contents), or
 * DP_EINVAL with errbuf. */
int dp_csds_decode_request(const uint8_t *msg, size_t len, bool *exclude, char *errbuf, size_t errlen);
/* Encodes the ClientStatusResponse: one ClientConfig with the Node (an
 * encoded envoy.config.core.v3.Node) and the items in order. *len gets
 * the size; the buffer is malloc'd. */
uint8_t *dp_csds_encode_response(const uint8_t *node, size_t node_len, const dp_csds_status_t *st, size_t *len);

#endif
