/* Internals of the ADS state machine (xds/ads.h), shared by
 *   ads.c           life cycle, stream start/close, timers, requests out
 *   ads_response.c  responses in: decoding, per-resource checks, (N)ACK text
 *   ads_resources.c the resource store: apply/reject/remove, warming,
 *                   references and garbage collection
 *   ads_secrets.c   SDS: the secrets translations see, rotation
 *   ads_snapshot.c  snapshot + commit (bind failures)
 *
 * The picture, per resource type (listener, route, cluster, endpoint,
 * secret):
 *
 *   response --decode--> items --apply--> ads_res_t { act, warm, err }
 *                                              |
 *   a secret: every listener and cluster using it is translated again
 *             with it (all or none: a failure NACKs the secret)
 *                                              |
 *   settle: warming versions whose dependencies (RDS, EDS, SDS) all
 *           arrived become act; clusters whose CLA changed are
 *           re-translated
 *                                              |
 *   gc: RDS/EDS/SDS resources nothing refers to are dropped (and
 *       unsubscribed)
 *                                              |
 *   build: static base + every act --> dp_snapshot_t --> env->commit
 *
 * A resource's `act` is what the running snapshot holds; `warm` an accepted
 * newer version waiting for its dependency; `err` the reason its latest
 * update was rejected (act, if any, stays in force). */
#ifndef DP_XDS_ADS_INT_H
#define DP_XDS_ADS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/core/v3/config_source.pb-c.h"
#include "xds/ads.h"
#include "xds/translate.h"

#define ADS_NTYPES DP_RES__COUNT
#define ADS_DEFAULT_FETCH_TIMEOUT_MS 15000
/* google.rpc.Code INVALID_ARGUMENT, what Envoy puts in a NACK. */
#define ADS_NACK_CODE 3
/* error_detail.message bound: a NACK must stay a small message. */
#define ADS_NACK_MAX 4096
#define ADS_TYPE_RESOURCE "type.googleapis.com/envoy.service.discovery.v3.Resource"

/* Something a listener or cluster version waits for: an RDS route config,
 * an EDS ClusterLoadAssignment or an SDS secret. */
typedef struct ads_dep {
    dp_res_type_t type; /* DP_RES_ROUTE, DP_RES_ENDPOINT or DP_RES_SECRET */
    char *name;
} ads_dep_t;

/* One accepted version of a resource. Immutable once built, except that
 * a cluster's cfg is replaced when its ClusterLoadAssignment changes, and
 * a listener's or cluster's when a secret it uses changes. */
typedef struct ads_ver {
    dp_res_type_t type;
    uint8_t *raw; /* the encoded resource (meta raw, change detection); NULL for
                     catalogue types, which keep only its digest (100k copies) */
    size_t len;
    uint64_t digest; /* catalogue types: hash of the encoded resource */
    char *version;           /* SotW: the response's version_info; Delta: Resource.version */
    uint64_t updated_ms;     /* wall clock */
    /* decoded Cluster (re-translated with its CLA or secrets), Listener
     * using SDS secrets (re-translated when they change), CLA or Secret;
     * else NULL */
    ProtobufCMessage *msg;
    void *cfg; /* dp_listener_cfg_t / dp_route_config_t / dp_cluster_cfg_t; else NULL */
    ads_dep_t *deps; /* listener: its chains' RDS names and SDS secrets; cluster: its
                        EDS service name and SDS secrets (unique) */
    size_t n_deps;
    uint64_t dep_timeout_ms; /* the longest initial_fetch_timeout of the deps' config
                                sources; 0: one of them waits without a limit */
} ads_ver_t;

/* The latest update of a resource was rejected: why, when, which version;
 * and its bytes, so that a server repeating it costs no translation. */
typedef struct ads_rej {
    char *err;
    char *version;
    uint64_t ms; /* wall clock */
    /* error_detail.message of the NACK that carried the rejection (CSDS
     * error_state.details); NULL when no NACK was sent for it (a listener
     * failing to bind outside an LDS response). */
    char *nack;
    uint8_t *bad;
    size_t bad_len;
} ads_rej_t;

typedef struct ads_res {
    char *name;
    dp_res_type_t type;
    ads_ver_t *act;         /* in force, NULL: none */
    ads_ver_t *warm;        /* listeners and clusters: waiting for dep */
    uint64_t warm_deadline; /* monotonic ms; 0: waits without a limit */
    ads_rej_t *rej; /* the latest update was rejected; NULL: it was not (the
                       common case: 100k catalogue resources carry 8 bytes) */
    /* Resource TTL (Resource.ttl): expires as if deleted at ttl_deadline. */
    uint64_t ttl_ms;
    uint64_t ttl_deadline; /* monotonic ms; 0: none */
    bool seen;             /* scratch: named in the response being processed */
    bool changed;          /* scratch (CLAs): act changed in the response being processed */
} ads_res_t;

/* Resources of one type, sorted by name (bsearch). */
typedef struct ads_store {
    ads_res_t **v;
    size_t n, cap;
} ads_store_t;

/* A sorted set of names, owned. */
typedef struct ads_names {
    char **v;
    size_t n;
} ads_names_t;

typedef struct ads_type {
    dp_res_type_t type;
    const char *url;
    bool wildcard;    /* LDS, CDS */
    bool configured;  /* LDS/CDS: lds_config/cds_config in the bootstrap; RDS/EDS: always */
    char *version;    /* SotW: last accepted version_info ("" initially) */
    char *nonce;      /* latest nonce of the current stream, NULL: none */
    bool on_stream;   /* a request for this type went out on the current stream */
    ads_names_t sent; /* RDS/EDS: names subscribed on the current stream */
    /* Initial fetch (LDS/CDS, for dp_ads_initialized). */
    uint64_t fetch_timeout_ms;
    uint64_t fetch_deadline; /* 0: none */
    bool fetched;            /* a response came or the initial fetch timed out */
    ads_store_t store;
    /* Some resource of this type ever had a TTL: the timers must look at
     * the store (catalogue types without TTLs are never scanned, so that a
     * one-container response costs O(1), not O(containers)). */
    bool ever_ttl;
} ads_type_t;

/* A static (bootstrap) listener or cluster that gets part of itself over
 * ADS: an EDS cluster its endpoints, a listener or cluster its SDS
 * secrets. Translated again when they arrive or change. */
typedef struct ads_static {
    dp_res_type_t type; /* DP_RES_LISTENER or DP_RES_CLUSTER */
    char *name;
    ProtobufCMessage *msg;
    ads_dep_t *deps; /* EDS service name (clusters), SDS secrets */
    size_t n_deps;
    void *cfg; /* translated with what is held; NULL: the base's */
} ads_static_t;

/* What listeners (RDS), clusters (EDS) or both (SDS) refer to, sorted by
 * name; for EDS with one referring Cluster message (to validate a CLA). */
typedef struct ads_ref {
    const char *name;
    const ProtobufCMessage *cluster;
} ads_ref_t;

typedef struct ads_refs {
    ads_ref_t *v;
    size_t n;
} ads_refs_t;

/* A listener activated by the update being committed, with the version it
 * replaced: a bind failure puts the old one back. */
typedef struct ads_undo {
    ads_res_t *res;
    ads_ver_t *old;
} ads_undo_t;

struct dp_ads {
    dp_ads_env_t env;
    bool delta;
    dp_snapshot_t *base; /* static resources, a reference */
    ads_static_t *statics;
    size_t n_statics;
    /* base->bootstrap decoded: its static_resources.secrets are the
     * static secrets translations look up */
    ProtobufCMessage *boot;
    Envoy__Config__Core__V3__Node *node; /* unpacked from our own encoding */
    ads_type_t t[ADS_NTYPES];
    bool stream_up;
    bool node_sent;
    uint64_t generation;
    bool dirty; /* the snapshot in force is stale */
    uint64_t next_deadline;

    /* The response being processed (or the tick): the NACK text and the
     * listeners to revert on a bind failure. */
    bool in_response;
    dp_res_type_t cur_type;
    char *nack;
    size_t nack_len, nack_cap;
    size_t n_rejected;
    ads_undo_t *undo;
    size_t n_undo, cap_undo;
    /* Names rejected in the response being processed: their `nack`
     * becomes the NACK text once it is complete (end of the response). */
    char **rej;
    size_t n_rej, cap_rej;
    char commit_err[512];
    /* References of refs_type, cached while a response of RDS/EDS is
     * applied (listeners and clusters do not change meanwhile). */
    ads_refs_t refs;
    bool refs_valid;
    dp_res_type_t refs_type;
};

/* ---- ads.c ------------------------------------------------------------- */

uint64_t dp_ads__now(const dp_ads_t *a);
/* SotW request for type t with the current state (names for RDS/EDS). */
void dp_ads__send_sotw(dp_ads_t *a, const char *type_url, const char *version, const char *nonce,
                       const ads_names_t *names, const char *error);
/* Delta request. irv: add initial_resource_versions of type t (or NULL). */
void dp_ads__send_delta(dp_ads_t *a, const char *type_url, char **sub, size_t n_sub, char **unsub,
                        size_t n_unsub, const ads_type_t *irv, const char *nonce, const char *error);
/* Brings the RDS/EDS/SDS subscriptions of the stream in line with what the
 * listeners and clusters refer to. */
void dp_ads__update_subscriptions(dp_ads_t *a);
void dp_ads__recompute_deadline(dp_ads_t *a);
ads_type_t *dp_ads__type_by_url(dp_ads_t *a, const char *url);

/* ---- ads_response.c ------------------------------------------------------ */

int dp_ads__on_sotw(dp_ads_t *a, const uint8_t *msg, size_t len);
int dp_ads__on_delta(dp_ads_t *a, const uint8_t *msg, size_t len);
/* Adds "label: reason" to the NACK being built. */
void dp_ads__nack_add(dp_ads_t *a, const char *label, const char *reason);
/* Milliseconds of a Duration; false when absent, negative or malformed. */
bool dp_ads__duration_ms(const ProtobufCMessage *duration, uint64_t *out);

/* ---- ads_resources.c ------------------------------------------------------ */

ads_res_t *dp_ads__find(const ads_store_t *s, const char *name);
ads_res_t *dp_ads__get(ads_store_t *s, dp_res_type_t type, const char *name);
void dp_ads__store_free(ads_store_t *s);
/* Inserts every name not yet in s at once (sort and merge): a response of
 * N new resources costs O(N log N + size), not O(N * size). */
void dp_ads__store_reserve(ads_store_t *s, dp_res_type_t type, const char *const *names, size_t n);

/* Update of one named resource with its encoded bytes (msg: decoded,
 * ownership taken; catalogue types: borrowed from the response's arena,
 * never kept). ttl_ms 0: no TTL. Returns true when accepted. */
bool dp_ads__apply(dp_ads_t *a, dp_res_type_t type, const char *name, const uint8_t *data, size_t len,
                   ProtobufCMessage *msg, const char *version, uint64_t ttl_ms);
/* Records the rejection of an update of `name` (meta NACKED, NACK text). */
void dp_ads__reject(dp_ads_t *a, dp_res_type_t type, const char *name, const uint8_t *data, size_t len,
                    const char *version, const char *err);
/* Heartbeat: refreshes the TTL of a held resource. */
void dp_ads__heartbeat(dp_ads_t *a, dp_res_type_t type, const char *name, uint64_t ttl_ms);
/* Deletes a resource (SotW absence, Delta removal, TTL expiry). */
void dp_ads__remove(dp_ads_t *a, dp_res_type_t type, const char *name);
/* Is `name` referred to by a listener (RDS) / cluster (EDS) / either (SDS)?
 * For EDS, *cluster receives one referring Cluster message (to validate a
 * CLA). */
bool dp_ads__referenced(dp_ads_t *a, dp_res_type_t type, const char *name, const ProtobufCMessage **cluster);
void dp_ads__refs_invalidate(dp_ads_t *a);
/* The sorted set of RDS, EDS or SDS names referred to. */
void dp_ads__needed(const dp_ads_t *a, dp_res_type_t type, ads_names_t *out);
void dp_ads__names_free(ads_names_t *n);
bool dp_ads__names_eq(const ads_names_t *x, const ads_names_t *y);
void dp_ads__names_copy(ads_names_t *dst, const ads_names_t *src);

/* Warming promotions and CLA-driven re-translations, then drop what no one
 * refers to. */
void dp_ads__settle(dp_ads_t *a);
/* Timers: warming and TTL deadlines at or before now. */
void dp_ads__expire(dp_ads_t *a, uint64_t now);
/* Loads the static secrets of a->base and its listeners and clusters that
 * depend on ADS (decoded from their meta). */
void dp_ads__load_static(dp_ads_t *a);
void dp_ads__static_free(dp_ads_t *a);
void dp_ads__ver_free(ads_ver_t *v);
bool dp_ads__static_listener(const dp_ads_t *a, const char *name);
bool dp_ads__static_cluster(const dp_ads_t *a, const char *name);
ads_undo_t *dp_ads__undo_find(dp_ads_t *a, const ads_res_t *r);
/* Frees u->old and removes u from the list. */
void dp_ads__undo_drop(dp_ads_t *a, ads_undo_t *u);
/* Marks r rejected (meta NACKED) without adding to the NACK text. */
void dp_ads__set_err(dp_ads_t *a, ads_res_t *r, const uint8_t *data, size_t len, const char *version,
                     const char *err);

/* The first dependency of v of `type`, or NULL. */
const char *dp_ads__ver_dep(const ads_ver_t *v, dp_res_type_t type);
/* Records a dependency (unique names; the timeouts combine). */
void dp_ads__ver_add_dep(ads_ver_t *v, dp_res_type_t type, const char *name, uint64_t timeout_ms);
/* initial_fetch_timeout of a ConfigSource (the default when unset). */
uint64_t dp_ads__cs_timeout(const Envoy__Config__Core__V3__ConfigSource *cs);
/* The held ClusterLoadAssignment `name`, or NULL. */
const ProtobufCMessage *dp_ads__held_cla(const dp_ads_t *a, const char *name);
/* A Cluster message's EDS service name, NULL if not EDS. */
const char *dp_ads__cluster_eds_name(const ProtobufCMessage *m);

/* ---- ads_secrets.c ------------------------------------------------------------ */

/* The secret source translations use: static secrets from the bootstrap,
 * SDS secrets from the store; with `record` the SDS ones are recorded as
 * dependencies of that version. `sc` is the storage the source points to. */
typedef struct ads_secret_ctx {
    dp_ads_t *a;
    ads_ver_t *record;
} ads_secret_ctx_t;
void dp_ads__secret_source(dp_ads_t *a, ads_ver_t *record, ads_secret_ctx_t *sc, dp_secret_source_t *src);
/* Translates a listener or cluster message again with what is held now
 * (CLA, secrets). Returns 0 with *cfg, or negative with err. */
int dp_ads__retranslate(dp_ads_t *a, dp_res_type_t type, const ProtobufCMessage *msg, void **cfg, char *err,
                        size_t errlen);
/* `v` becomes the secret `r` in force: everything using the secret is
 * translated again with it and swapped in, or, if one of them fails,
 * nothing changes and false comes back with err naming it. Takes v
 * only on success. */
bool dp_ads__secret_activate(dp_ads_t *a, ads_res_t *r, ads_ver_t *v, char *err, size_t errlen);
/* Decodes the static secrets of a->base's bootstrap into a->boot. */
void dp_ads__load_static_secrets(dp_ads_t *a);
/* Frees a config of `type` (listener or cluster). */
void dp_ads__cfg_unref(dp_res_type_t type, void *cfg);

/* ---- ads_snapshot.c -------------------------------------------------------- */

/* Builds and commits a snapshot if anything changed. Returns the commit's
 * result (0 when nothing to do). */
int dp_ads__commit(dp_ads_t *a);

#endif
