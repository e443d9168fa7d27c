/* The xDS protocol state of one ADS client, sans-I/O (STYLE.md: bytes in,
 * bytes and events out). The transport (xds/ads_client.c, grpc) feeds it
 * the stream's life cycle and the encoded responses; it answers with
 * encoded requests through env->send and activates configurations through
 * env->commit. All calls happen on one thread.
 *
 * Semantics: Envoy's xDS protocol document and gRFCs A27/A57 —
 *  - first request of every stream carries the full Node; LDS and CDS are
 *    wildcard, RDS, EDS and SDS by name (one EDS request naming all
 *    clusters; SDS: the secrets listeners and clusters refer to with
 *    sds_config ads);
 *  - ACK = version_info and nonce of the response; NACK = the last accepted
 *    version, the nonce, error_detail (code 3 INVALID_ARGUMENT, message naming
 *    each rejected resource and field); always the latest nonce per type;
 *  - valid resources of a response are applied even when others in it are
 *    rejected (as Envoy and gRPC do); a rejected resource keeps its last good
 *    version; duplicate names in one response reject the response;
 *  - SotW: an LDS/CDS resource missing from a response is deleted;
 *    RDS/EDS/SDS resources are dropped when no listener/cluster refers to
 *    them;
 *  - warming: a new or changed EDS cluster waits for its endpoints, a
 *    listener for the RDS route configs of its chains, both for their SDS
 *    secrets, up to initial_fetch_timeout (15 s default, from the config
 *    sources), then takes traffic without them;
 *  - a secret's new version re-translates the listeners and clusters using
 *    it (certificate rotation); one that any of them cannot take is
 *    NACKed and the last good one stays (docs/tls.md);
 *  - Delta: resource_names_subscribe/unsubscribe, initial_resource_versions
 *    on a new stream, removed_resources, per-resource versions;
 *  - resource TTL and heartbeats (Resource wrapper, SotW and Delta);
 *  - on a new stream after a break: resubscribe with the last accepted
 *    versions and never reuse an old nonce. */
#ifndef DP_XDS_ADS_H
#define DP_XDS_ADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xds/bootstrap.h"
#include "xds/snapshot.h"

typedef struct dp_ads dp_ads_t;

typedef struct dp_ads_env {
    void *ctx;
    /* Sends one encoded envoy.service.discovery.v3.DiscoveryRequest (SotW)
     * or DeltaDiscoveryRequest (Delta) on the current stream. */
    void (*send)(void *ctx, const uint8_t *msg, size_t len);
    /* Activates a snapshot (dp_config_commit). On a listener bind failure
     * returns negative with *failed_listener set; the state machine then
     * rejects that listener (NACK naming it) and commits again without it. */
    int (*commit)(void *ctx, dp_snapshot_t *snap, const char **failed_listener, char *errbuf, size_t errlen);
    /* Monotonic milliseconds (tests pass a fake clock). */
    uint64_t (*now_ms)(void *ctx);
} dp_ads_env_t;

/* boot: the bootstrap (node, static resources: the base of every snapshot;
 * the state keeps a reference to boot->snap and copies what it needs).
 * delta: api_type DELTA_GRPC. */
dp_ads_t *dp_ads_new(const dp_bootstrap_t *boot, bool delta, const dp_ads_env_t *env);
void dp_ads_free(dp_ads_t *a);

/* A stream is up: sends the subscriptions (Node on the first request). */
void dp_ads_stream_start(dp_ads_t *a);
/* The stream broke: resources stay (the data plane keeps serving); nonces
 * are forgotten. */
void dp_ads_stream_closed(dp_ads_t *a);
/* One encoded response from the server. Returns 0 when it was processed
 * (ACKed or NACKed), negative when the bytes are not a response at all (the
 * transport should then reset the stream). */
int dp_ads_on_response(dp_ads_t *a, const uint8_t *msg, size_t len);
/* Timers (initial fetch timeouts, TTL expiry): call at or after
 * dp_ads_next_deadline(). */
void dp_ads_on_tick(dp_ads_t *a);
/* Monotonic ms of the next timer, or UINT64_MAX. */
uint64_t dp_ads_next_deadline(const dp_ads_t *a);
/* A new static base (SIGHUP re-read the bootstrap): commits static + the
 * current dynamic resources. Returns 0 or negative with errbuf. */
int dp_ads_set_static(dp_ads_t *a, dp_snapshot_t *static_snap, char *errbuf, size_t errlen);

/* Accessors (admin, readiness, tests). */
/* SotW: the last accepted version_info of a type ("" before any). */
const char *dp_ads_version(const dp_ads_t *a, dp_res_type_t type);
/* Envoy's initialization: LDS and CDS (those configured) answered or hit
 * their initial_fetch_timeout, and no listener or cluster is warming. */
bool dp_ads_initialized(const dp_ads_t *a);
/* Why the last commit failed without a listener of the update to blame
 * ("" when it succeeded). */
const char *dp_ads_commit_error(const dp_ads_t *a);

#endif
