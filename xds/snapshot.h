/* Immutable, refcounted configuration snapshots (STYLE.md 5).
 *
 * A snapshot holds references to immutable listener, route and cluster
 * configs; consecutive snapshots share the objects that did not change, so
 * applying a change costs work proportional to the change. A request holds a
 * reference to the snapshot it started with. Snapshots reach the workers
 * through dp_worker_publish() (dataplane/core/worker.h). */
#ifndef DP_XDS_SNAPSHOT_H
#define DP_XDS_SNAPSHOT_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http/hcm-t.h"
#include "dataplane/upstream/cluster-t.h"

typedef enum {
    DP_RES_LISTENER,
    DP_RES_ROUTE,
    DP_RES_CLUSTER,
    DP_RES_ENDPOINT,
    /* SDS secrets (envoy.extensions.transport_sockets.tls.v3.Secret): only
     * their meta is in a snapshot; listeners and clusters hold the TLS
     * contexts built from them. */
    DP_RES_SECRET,
    /* The container catalogue (dataplane.containers.v1): held by the
     * catalogue itself (filters/containers/catalogue.h), never in a
     * snapshot, so that a one-container change costs O(1). */
    DP_RES_CONTAINER,
    DP_RES_PROJECT,
    DP_RES__COUNT
} dp_res_type_t;

/* What admin /config_dump needs to know of each resource: its encoded
 * proto, where it came from and its status. Owned by the snapshot. */
typedef enum {
    DP_RES_ACKED = 0,   /* in force (static resources too) */
    DP_RES_NACKED = 1,  /* the last update of it was rejected: error_* say why;
                           raw/version are the last good one, if any (raw.len 0: none) */
    DP_RES_WARMING = 2, /* accepted, waiting for its RDS/EDS before taking traffic */
} dp_res_status_t;

typedef struct dp_res_meta {
    dp_res_type_t type;
    char *name;
    char *version;          /* NULL for static resources */
    uint64_t last_updated_ms; /* wall clock */
    bool is_static;
    ProtobufCBinaryData raw; /* the resource's encoded message */
    dp_res_status_t status;
    char *error_details;     /* DP_RES_NACKED: the rejection reason */
    char *error_version;     /* DP_RES_NACKED: the version_info that was rejected */
    uint64_t error_ms;       /* DP_RES_NACKED: when */
} dp_res_meta_t;

typedef struct dp_snapshot {
    _Atomic int refcnt;
    uint64_t generation;
    dp_listener_cfg_t **listeners;
    size_t n_listeners;
    dp_cluster_cfg_t **clusters; /* sorted by name */
    size_t n_clusters;
    dp_route_config_t **routes;  /* RDS route configs, sorted by name */
    size_t n_routes;
    dp_res_meta_t *meta;
    size_t n_meta;
    /* The bootstrap, encoded (envoy.config.bootstrap.v3.Bootstrap). */
    ProtobufCBinaryData bootstrap;
} dp_snapshot_t;

dp_snapshot_t *dp_snapshot_new(void);
dp_snapshot_t *dp_snapshot_ref(dp_snapshot_t *s);
/* Drops a reference; the last one frees the snapshot and drops its
 * references to listeners, routes and clusters. NULL is a no-op. */
void dp_snapshot_unref(dp_snapshot_t *s);

/* Sorts clusters/routes by name so the lookups below can bsearch. Call once
 * after filling the arrays, before publishing. */
void dp_snapshot_seal(dp_snapshot_t *s);
const dp_cluster_cfg_t *dp_snapshot_find_cluster(const dp_snapshot_t *s, const char *name, size_t len);
dp_route_config_t *dp_snapshot_find_route(const dp_snapshot_t *s, const char *name);

/* Refcounting of the shared parts. unref frees at zero. */
dp_listener_cfg_t *dp_listener_cfg_ref(dp_listener_cfg_t *l);
/* Frees what a filter chain holds (not the struct itself). */
void dp_filter_chain_free(dp_filter_chain_t *fc);
void dp_listener_cfg_unref(dp_listener_cfg_t *l);
dp_cluster_cfg_t *dp_cluster_cfg_ref(dp_cluster_cfg_t *c);
void dp_cluster_cfg_unref(dp_cluster_cfg_t *c);
dp_route_config_t *dp_route_config_ref(dp_route_config_t *r);
void dp_route_config_unref(dp_route_config_t *r);

#endif
