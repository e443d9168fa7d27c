/* Envoy v3 bootstrap (-c FILE, YAML or JSON in the proto3 JSON mapping):
 * parsed with line numbers (xds/cfgtree.h), decoded through the protobuf-c
 * descriptors (xds/pbjson.h), then its static resources go through the
 * same translators as xDS resources (xds/translate.h). */
#ifndef DP_XDS_BOOTSTRAP_H
#define DP_XDS_BOOTSTRAP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/http/access_log.h"
#include "xds/snapshot.h"

typedef struct dp_bootstrap_opts {
    const char *service_node;    /* --service-node: overrides node.id */
    const char *service_cluster; /* --service-cluster: overrides node.cluster */
} dp_bootstrap_opts_t;

typedef struct dp_bootstrap {
    char *path;
    ProtobufCMessage *msg; /* envoy.config.bootstrap.v3.Bootstrap, decoded */
    char *node_id, *node_cluster;
    bool has_admin;
    struct sockaddr_storage admin_addr;
    socklen_t admin_addrlen;
    char admin_addr_str[64];
    dp_access_log_t **admin_access_logs;
    size_t n_admin_access_logs;
    bool has_ads; /* dynamic_resources.ads_config present (xDS issue) */
    bool has_lrs; /* cluster_manager.load_stats_config (xds/lrs_client.h) */
    bool has_hds; /* hds_config (xds/hds_client.h) */
    /* static_resources translated into a sealed snapshot (generation 0),
     * with dp_res_meta_t entries (is_static) for config_dump. */
    dp_snapshot_t *snap;
} dp_bootstrap_t;

/* Loads and validates the bootstrap. On failure returns a negative DP_E*
 * and errbuf reads "FILE:LINE:COL: FIELD.PATH: reason" (LINE:COL of the
 * offending YAML/JSON node, for semantic errors too). */
int dp_bootstrap_load(const char *path, const dp_bootstrap_opts_t *opts, dp_bootstrap_t **out, char *errbuf,
                      size_t errlen);
void dp_bootstrap_free(dp_bootstrap_t *b);

/* The Node every stream to a management server starts with (ADS, LRS,
 * HDS): the bootstrap's id and cluster (after --service-node /
 * --service-cluster), metadata and locality, our user agent, and the
 * given client features. *out borrows from b and features (b may be NULL:
 * empty id and cluster). */
struct Envoy__Config__Core__V3__Node;
void dp_bootstrap_node(const dp_bootstrap_t *b, const char *const *features, size_t n_features,
                       struct Envoy__Config__Core__V3__Node *out);

#endif
