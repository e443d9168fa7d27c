/* Fleet -> Envoy resources, per node (the node's containers only):
 *   LDS  one Listener "ingress" on the node's listener address: HCM
 *        (stat_prefix ingress_http, strip_any_host_port, router filter),
 *        routes from RDS "containers" over ADS;
 *   RDS  RouteConfiguration "containers": one virtual host per service
 *        instance, domain <project>-<container>-<service>-<instance>.<node>
 *        .<base-domain> plus the alias domains <alias>.<node>.<base-domain>;
 *        running: route to cluster <container>-<service>; stopped: a 503
 *        direct response with a JSON body (no cluster, so no internal
 *        port ever reaches a client);
 *   CDS  one EDS cluster <container>-<service> per running service;
 *   EDS  its ClusterLoadAssignment: container address + internal port.
 * Resources are built as proto3 JSON and decoded through xds/pbjson.h, so
 * they are checked against the same schema the data plane uses. */
#ifndef DP_STUB_FLEET_XLATE_H
#define DP_STUB_FLEET_XLATE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "control-stub/fleet.h"

typedef enum dp_xtype {
    DP_XT_LDS = 0,
    DP_XT_CDS,
    DP_XT_RDS,
    DP_XT_EDS,
    DP_XT_COUNT,
} dp_xtype_t;

/* Type URLs, indexed by dp_xtype_t. */
extern const char *const dp_xlate_type_url[DP_XT_COUNT];

/* DP_XT_* of a type URL, or -1. */
int dp_xlate_type_of(const char *type_url);

typedef struct dp_xres {
    char *name;
    ProtobufCMessage *msg; /* decoded resource */
    uint8_t *bytes;        /* msg serialized (the Any value) */
    size_t len;
} dp_xres_t;

typedef struct dp_xset {
    dp_xres_t *items; /* sorted by name */
    size_t n;
    uint64_t digest; /* of names and bytes: equal digests, same set */
} dp_xset_t;

typedef struct dp_xnode {
    dp_xset_t t[DP_XT_COUNT];
} dp_xnode_t;

/* Translates the resources of node `node` (index into f->nodes) into
 * *out (zeroed first; release with dp_xnode_clear()). Returns 0, or
 * DP_EINVAL with errbuf set if a resource does not decode (a bug: the
 * parser validates everything the translation needs). */
int dp_fleet_translate(const dp_fleet_t *f, size_t node, dp_xnode_t *out, char *errbuf, size_t errlen);

void dp_xnode_clear(dp_xnode_t *x);

/* Digest of the resources of set `s` named in names[0..n) (all of them
 * when names == NULL), to tell whether a subscription's view changed. */
uint64_t dp_xset_digest(const dp_xset_t *s, char *const *names, size_t n);

/* Prints every node's resources (or only `node` when not NULL) as
 * {"nodes": {"NAME": [Any, ...]}} in proto3 JSON with "@type", to
 * `fp`. Returns 0, or DP_EINVAL with errbuf set (unknown node, translation
 * failure). */
int dp_fleet_dump(const dp_fleet_t *f, const char *node, void *fp, char *errbuf, size_t errlen);

#endif
