/* Envoy resources (decoded protobuf-c messages) -> internal immutable
 * configs. The same functions serve the bootstrap's static_resources and
 * xDS responses (STYLE.md 5: one config path).
 *
 * Error convention: on failure a function returns a negative DP_E* and
 * writes "<field path from the resource root>: <reason>" into errbuf, e.g.
 *   "filter_chains[0].filters[0].typed_config.http_filters[1].name: unknown HTTP filter 'envoy.filters.http.foo'"
 * using the proto field names (snake_case) and [i] for repeated fields, so
 * the bootstrap loader can map it to a file line and xDS can put it in a
 * NACK. Everything a message sets that we do not implement is an error
 * naming it (unknown fields, unsupported enum values, unsupported
 * typed_config types unless the Envoy rules let it be optional). */
#ifndef DP_XDS_TRANSLATE_H
#define DP_XDS_TRANSLATE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/upstream/cluster-t.h"
#include "xds/snapshot.h"

/* Type URLs of the resource types. */
#define DP_TYPE_LISTENER "type.googleapis.com/envoy.config.listener.v3.Listener"
#define DP_TYPE_ROUTE "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
#define DP_TYPE_CLUSTER "type.googleapis.com/envoy.config.cluster.v3.Cluster"
#define DP_TYPE_ENDPOINT "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
#define DP_TYPE_SECRET "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
#define DP_TYPE_CONTAINER "type.googleapis.com/dataplane.containers.v1.Container"
#define DP_TYPE_PROJECT "type.googleapis.com/dataplane.containers.v1.Project"
/* Catalogue types live outside snapshots (DP_RES_CONTAINER, DP_RES_PROJECT). */
#define DP_RES_IN_SNAPSHOT(t) ((t) <= DP_RES_SECRET)

/* Unpacks an encoded resource of `type` and rejects unknown fields
 * anywhere in it (xds/unknown.h). *out is freed with
 * protobuf_c_message_free_unpacked(*out, NULL). */
int dp_resource_decode(dp_res_type_t type, const uint8_t *data, size_t len, ProtobufCMessage **out, char *errbuf,
                       size_t errlen);
/* The same with the allocator `alloc` (NULL: the default), which then
 * frees *out. */
int dp_resource_decode_with(dp_res_type_t type, ProtobufCAllocator *alloc, const uint8_t *data, size_t len,
                            ProtobufCMessage **out, char *errbuf, size_t errlen);
/* The resource's name (Listener.name, RouteConfiguration.name,
 * Cluster.name, ClusterLoadAssignment.cluster_name, Secret.name). */
const char *dp_resource_name(dp_res_type_t type, const ProtobufCMessage *m);
/* The message type of a resource type, or NULL for an unknown one. */
const ProtobufCMessageDescriptor *dp_resource_descriptor(dp_res_type_t type);

/* Where the SdsSecretConfigs of TLS transport sockets find their secrets
 * (envoy.extensions.transport_sockets.tls.v3.Secret, decoded).
 *
 * find() is called once per SdsSecretConfig with its name and sds_config:
 * NULL sds_config asks for a static secret (the bootstrap's
 * static_resources.secrets, as Envoy), otherwise for the SDS secret of
 * that name (the translator accepts `ads: {}` only). It returns the
 * secret, or NULL when it is not held. The result must stay valid for the
 * translation. A missing static secret is an error; a missing SDS secret
 * is not: the chain or cluster is built without a TLS context, its
 * sds_names name what it waits for, and the caller keeps it warming
 * (xds/ads_resources.c) and translates it again when the secret arrives.
 * A filter chain or cluster with sds_names but no tls is therefore not
 * ready: it must not carry traffic in plaintext (it took that state only
 * through the warming timeout, as Envoy's listener takes traffic without
 * its secret and resets the connections). */
struct Envoy__Config__Core__V3__ConfigSource;
typedef struct dp_secret_source {
    const ProtobufCMessage *(*find)(void *ctx, const char *name,
                                    const struct Envoy__Config__Core__V3__ConfigSource *sds_config);
    void *ctx;
} dp_secret_source_t;

/* envoy.config.listener.v3.Listener (its filter chains, each with its HCM
 * and HTTP filters and its transport socket). `secrets` may be NULL (no
 * secret is held). */
int dp_translate_listener_ex(const ProtobufCMessage *listener, const dp_secret_source_t *secrets,
                             dp_listener_cfg_t **out, char *errbuf, size_t errlen);
/* dp_translate_listener_ex() without secrets. */
int dp_translate_listener(const ProtobufCMessage *listener, dp_listener_cfg_t **out, char *errbuf, size_t errlen);
/* envoy.config.route.v3.RouteConfiguration; builds the domain index. */
int dp_translate_route_config(const ProtobufCMessage *rc, dp_route_config_t **out, char *errbuf, size_t errlen);
/* envoy.config.cluster.v3.Cluster. For EDS clusters `cla` is the
 * ClusterLoadAssignment received for it (NULL: no endpoints yet).
 * `secrets` as for listeners (may be NULL). */
int dp_translate_cluster_ex(const ProtobufCMessage *cluster, const ProtobufCMessage *cla,
                            const dp_secret_source_t *secrets, dp_cluster_cfg_t **out, char *errbuf, size_t errlen);
/* dp_translate_cluster_ex() without secrets. */
int dp_translate_cluster(const ProtobufCMessage *cluster, const ProtobufCMessage *cla, dp_cluster_cfg_t **out,
                         char *errbuf, size_t errlen);
/* envoy.extensions.transport_sockets.tls.v3.Secret: checks it on its own
 * (a name; exactly one of tls_certificate, validation_context or
 * session_ticket_keys; PEM that parses, a key that matches its
 * certificate, 80-byte ticket keys), with errors relative to the Secret.
 * The listeners and clusters using it are checked when they are
 * translated with it. */
int dp_translate_secret(const ProtobufCMessage *secret, char *errbuf, size_t errlen);

#endif
