/* Fleet -> resources, per node (the node's containers only):
 *   LDS  one Listener per listener address of the node ("ingress", or
 *        "ingress-1", "ingress-2", ... when it has several): HCM
 *        (stat_prefix ingress_http, strip_any_host_port,
 *        use_remote_address) with the http_filters
 *        [dataplane.filters.http.containers (ContainerRouting: the node's
 *        base domain and name, catalogue over ADS, the fleet's default
 *        ports, the URL form switches), envoy.filters.http.router] and
 *        routes from RDS "containers" over ADS;
 *   RDS  RouteConfiguration "containers": one virtual host "containers"
 *        for "*.<base-domain>" and every custom domain of the node's
 *        containers, prefix "/" to cluster "containers";
 *   CDS  Cluster "containers": ORIGINAL_DST, CLUSTER_PROVIDED (the
 *        routing filter chooses the address);
 *   EDS  nothing (still served, empty, to clients that ask);
 *   SDS  one Secret per certificate of the node ("<node>-cert-<i>",
 *        tls_certificate inline); a listener with tls: true gets one filter
 *        chain per certificate (filter_chain_match.server_names, a
 *        DownstreamTlsContext naming the secret over ADS, ALPN h2 and
 *        http/1.1) and the tls_inspector listener filter, as Envoy needs;
 *        every HCM accepts WebSocket upgrades (also over HTTP/2's
 *        extended CONNECT);
 *   Project    (dataplane.containers.v1) every project with a container on
 *        the node: id, alias, policy (the project's permissions);
 *   Container  one per container of the node: id, project, state,
 *        addresses, services and internal ports, aliases, machine,
 *        pod_slug, policy (the container's own permissions, if any). A
 *        stopped container is sent without addresses and services, so its
 *        internal ports never reach the data plane.
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
    DP_XT_SDS,     /* Secret: the node's certificates, named "<node>-cert-<i>" */
    DP_XT_PROJECT, /* before containers: a container's project is there first */
    DP_XT_CONTAINER,
    DP_XT_COUNT,
} dp_xtype_t;

/* Type URLs, indexed by dp_xtype_t. */
extern const char *const dp_xlate_type_url[DP_XT_COUNT];

/* Short names for logs and GET /status: LDS, CDS, RDS, EDS, SDS, Project,
 * Container. */
extern const char *const dp_xlate_type_short[DP_XT_COUNT];

/* DP_XT_* of a type URL, or -1. */
int dp_xlate_type_of(const char *type_url);

/* Is type t subscribed as a wildcard when a client names nothing (LDS,
 * CDS and the catalogue types)? */
int dp_xlate_type_wildcard(int t);

typedef struct dp_xres {
    char *name;
    ProtobufCMessage *msg; /* decoded resource */
    uint8_t *bytes;        /* msg serialized (the Any value) */
    size_t len;
    uint64_t hash; /* FNV-1a of bytes: the resource's Delta version */
} dp_xres_t;

typedef struct dp_xset {
    dp_xres_t *items; /* sorted by name */
    size_t n;
    /* of names and bytes, the sum of the items' dp_xres_digest() (so one
     * item's change updates it in O(1)): equal digests, same set */
    uint64_t digest;
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

/* The Container resource of container `ci` alone, byte for byte what
 * dp_fleet_translate() makes of it (for a one-container change without
 * translating the fleet). Returns 0 or DP_EINVAL (errbuf). */
int dp_fleet_translate_container(const dp_fleet_t *f, size_t ci, dp_xres_t *out, char *errbuf, size_t errlen);

void dp_xres_clear(dp_xres_t *r);

/* One item's share of its set's digest (name and bytes). */
uint64_t dp_xres_digest(const dp_xres_t *r);

/* Puts r in place of the item of the same name (or inserts it, in name
 * order), taking its contents (r is zeroed), and updates the digest.
 * Returns 1 when the set changed, 0 when the item was there with the same
 * bytes. */
int dp_xset_put(dp_xset_t *s, dp_xres_t *r);

/* Digest of the resources of set `s` named in names[0..n) (all of them
 * when names == NULL), to tell whether a subscription's view changed. */
uint64_t dp_xset_digest(const dp_xset_t *s, char *const *names, size_t n);

/* Prints every node's resources (or only `node` when not NULL) as
 * {"nodes": {"NAME": [Any, ...]}} in proto3 JSON with "@type", to
 * `fp`. Returns 0, or DP_EINVAL with errbuf set (unknown node, translation
 * failure). */
int dp_fleet_dump(const dp_fleet_t *f, const char *node, void *fp, char *errbuf, size_t errlen);

#endif
