/* Upstream health: active health checks (Envoy's Cluster.health_checks)
 * and the runtime health of each endpoint, which the load balancer and
 * admin /clusters read together with the EDS health_status.
 *
 * Where things run:
 *  - the checks, on one health thread with its own libev loop (started the
 *    first time a cluster with health checks or outlier detection is
 *    translated, or by HDS). It follows config swaps by polling
 *    dp_config_current(), so endpoints appear and disappear with EDS; a
 *    removed endpoint's checker stops at the next poll (200 ms);
 *  - the health of an endpoint lives in a dp_ep_health_t, found by cluster
 *    name and endpoint address, so it survives snapshot swaps. The health
 *    thread is its only writer of flags; workers update the outlier
 *    counters (outlier.h) with atomics and read the flags lock-free
 *    (QSBR: entries and views are retired, never freed under a reader).
 *
 * Envoy's semantics kept (health_check.proto, arch overview "Health
 * checking"):
 *  - with active health checking, an endpoint starts as failed and pending
 *    (/failed_active_hc/pending_active_hc) and is not used until its first
 *    check passes; the first result decides at once, later transitions need
 *    healthy_threshold successes / unhealthy_threshold network failures;
 *  - an HTTP status outside expected_statuses (default [200, 201)) fails
 *    the endpoint at once, whatever the thresholds; a connect failure, a
 *    reset or a timeout is a network failure, counted against
 *    unhealthy_threshold;
 *  - intervals: no_traffic_interval (default 60 s) until the cluster has
 *    made an upstream connection (cluster.NAME.upstream_cx_total > 0), then
 *    interval / unhealthy_interval, with the *_edge_interval while a
 *    transition is pending; jitter as Envoy (interval_jitter,
 *    interval_jitter_percent, initial_jitter for the first check);
 *  - HTTP/1.1 checks send "GET path" with host = http_health_check.host or
 *    the cluster name, and "user-agent: Envoy/HC"; connections are reused
 *    (reuse_connection, default true) when the response allows it.
 * Deviations, written down: at most one health check per cluster; checks
 * are plaintext (a cluster with a TLS transport socket cannot have them);
 * an endpoint removed by EDS is dropped at once (Envoy's
 * ignore_health_on_host_removal: true behaviour), Envoy would keep routing
 * to it while it passes its checks. */
#ifndef DP_UPSTREAM_HEALTH_H
#define DP_UPSTREAM_HEALTH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/core/loop.h"
#include "dataplane/upstream/cluster-t.h"

/* ---- configuration (immutable, owned by the dp_cluster_cfg_t) ------------------------- */

typedef enum { DP_HC_HTTP = 0, DP_HC_TCP = 1 } dp_hc_kind_t;

typedef struct dp_hc_bytes {
    uint8_t *data;
    size_t len;
} dp_hc_bytes_t;

typedef struct dp_hc_range {
    int64_t start, end; /* [start, end) */
} dp_hc_range_t;

typedef struct dp_hc_cfg {
    dp_hc_kind_t kind;
    uint64_t timeout_ms, interval_ms;
    uint64_t initial_jitter_ms, interval_jitter_ms;
    uint32_t interval_jitter_percent;
    uint32_t unhealthy_threshold, healthy_threshold;
    bool reuse_connection; /* default true */
    uint64_t no_traffic_interval_ms;         /* default 60 s */
    uint64_t no_traffic_healthy_interval_ms; /* default no_traffic_interval */
    uint64_t unhealthy_interval_ms;          /* default interval */
    uint64_t unhealthy_edge_interval_ms;     /* default unhealthy_interval */
    uint64_t healthy_edge_interval_ms;       /* default interval */
    /* HTTP */
    char *host;          /* NULL: the cluster's name */
    char *path;
    char *extra_headers; /* request_headers_to_add as "name: value\r\n" lines, or NULL */
    dp_hc_range_t *expected; /* none: [200, 201) */
    size_t n_expected;
    /* TCP: send, then every receive block in order (not necessarily
     * contiguous); no receive blocks: a connect is a success */
    dp_hc_bytes_t send;
    dp_hc_bytes_t *receive;
    size_t n_receive;
} dp_hc_cfg_t;

void dp_hc_cfg_free(dp_hc_cfg_t *c); /* NULL is fine */
/* Same checks (a config swap that changes nothing keeps the checkers). */
bool dp_hc_cfg_equal(const dp_hc_cfg_t *a, const dp_hc_cfg_t *b);
bool dp_hc_status_expected(const dp_hc_cfg_t *c, int status);

/* ---- the per-endpoint state machine (sans-I/O) -------------------------------------- */

typedef enum {
    DP_HC_SUCCESS,
    DP_HC_FAIL_ACTIVE,  /* the endpoint answered "no" (unexpected status, wrong payload): at once */
    DP_HC_FAIL_NETWORK, /* connect failure, reset, timeout: counted against unhealthy_threshold */
} dp_hc_result_t;

/* Envoy's HealthTransition. */
typedef enum { DP_HC_UNCHANGED, DP_HC_CHANGED, DP_HC_PENDING } dp_hc_transition_t;

typedef struct dp_hc_state {
    bool failed;      /* FAILED_ACTIVE_HC */
    bool first_check; /* no result yet (PENDING_ACTIVE_HC) */
    uint32_t num_healthy, num_unhealthy;
} dp_hc_state_t;

/* A new endpoint: failed and pending until its first check. */
void dp_hc_state_init(dp_hc_state_t *st);
/* Applies one check result. */
dp_hc_transition_t dp_hc_state_apply(dp_hc_state_t *st, const dp_hc_cfg_t *c, dp_hc_result_t r);
/* Milliseconds to the next check after a result (success: healthy side)
 * and its transition; rnd gives the jitter. */
uint64_t dp_hc_next_interval_ms(const dp_hc_cfg_t *c, bool had_traffic, bool success, dp_hc_transition_t t,
                                uint64_t rnd);

/* ---- one endpoint's checker on a loop (health_check.c) ------------------------------ */

typedef struct dp_hc_checker dp_hc_checker_t;
typedef struct dp_hc_env {
    /* after every check: the result, the transition and the new state */
    void (*on_result)(void *ctx, dp_hc_result_t r, dp_hc_transition_t t, const dp_hc_state_t *st);
    /* before every check (stats) */
    void (*on_attempt)(void *ctx);
    /* whether the cluster has had traffic (no_traffic_interval otherwise) */
    bool (*had_traffic)(void *ctx);
} dp_hc_env_t;

/* Starts checking addr with cfg (borrowed: it must outlive the checker or
 * be replaced with dp_hc_checker_set_cfg). host: the Host header (copied).
 * st: the state to start from (dp_hc_state_init for a new endpoint). The
 * first check runs after a random part of initial_jitter (at once
 * without). */
dp_hc_checker_t *dp_hc_checker_new(dp_loop_t *loop, const dp_hc_cfg_t *cfg, const char *host,
                                   const struct sockaddr *addr, socklen_t addrlen, const dp_hc_state_t *st,
                                   const dp_hc_env_t *env, void *ctx);
/* An equal config (dp_hc_cfg_equal) from a newer cluster config. */
void dp_hc_checker_set_cfg(dp_hc_checker_t *k, const dp_hc_cfg_t *cfg);
const dp_hc_state_t *dp_hc_checker_state(const dp_hc_checker_t *k);
/* Stops it (closing its connection) and frees it. NULL is fine. */
void dp_hc_checker_free(dp_hc_checker_t *k);

/* ---- runtime health of endpoints --------------------------------------------------- */

/* Envoy's Host::HealthFlag, those we set. */
enum {
    DP_HF_FAILED_ACTIVE_HC = 1u << 0,
    DP_HF_PENDING_ACTIVE_HC = 1u << 1,
    DP_HF_FAILED_OUTLIER_CHECK = 1u << 2,
};
#define DP_HF_EXCLUDE (DP_HF_FAILED_ACTIVE_HC | DP_HF_FAILED_OUTLIER_CHECK)

typedef struct dp_ep_health {
    _Atomic uint32_t flags; /* DP_HF_*, written by the health thread */
    /* passive health: consecutive error counters (workers), detections
     * for the health thread to act on (DP_OD_DETECT_* bits, outlier.h) */
    _Atomic uint32_t c5xx, cgw;
    _Atomic uint32_t detected;
    /* health thread only */
    uint32_t num_ejections;
    uint64_t ejected_ms, unejected_ms; /* monotonic; unejected_ms 0: never */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_str[64];
} dp_ep_health_t;

/* What the health thread knows of a cluster, for the config it last saw:
 * the entry of each of that config's endpoints. Published in
 * dp_cluster_rt_t.hview; immutable once published. */
typedef struct dp_health_view {
    const dp_cluster_cfg_t *cfg; /* a reference */
    size_t n;                    /* cfg->n_endpoints */
    dp_ep_health_t **ep;         /* per endpoint of cfg */
    dp_ep_health_t **sorted;     /* distinct entries, by address (other configs of the cluster) */
    size_t n_sorted;
} dp_health_view_t;

/* The entry of one of c's endpoints, or NULL (no health state: the
 * cluster has neither health checks nor outlier detection, or the health
 * thread has not seen the endpoint yet). Lock-free: for worker threads
 * (QSBR readers: the pointer is valid until the end of the loop
 * iteration) and the health thread. */
dp_ep_health_t *dp_health_entry(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep);
/* Whether the load balancer may use ep: EDS healthy and no DP_HF_EXCLUDE
 * flag. An endpoint of a health-checked cluster the health thread has not
 * seen yet is not usable (pending its first check). Workers only. */
bool dp_health_usable(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep);
/* True when no endpoint of c can be excluded by runtime health, so the
 * load balancer can look at the EDS health only. Workers only. */
bool dp_health_all_eds(const dp_cluster_cfg_t *c);
/* The DP_HF_* flags of ep, from any thread (admin): takes the health
 * lock. A health-checked endpoint not seen yet reads as failed+pending. */
uint32_t dp_health_flags(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep);

/* Envoy's text for admin /clusters health_flags: "healthy", or the flags
 * as "/failed_active_hc/failed_outlier_check/failed_eds_health/
 * pending_active_hc" (Envoy's order). Returns out. */
const char *dp_health_flags_str(uint32_t flags, bool eds_healthy, char *out, size_t outlen);

/* ---- the health service ---------------------------------------------------------------- */

/* Starts the health thread once (later calls do nothing). The translator
 * calls it for a cluster with health checks or outlier detection, HDS when
 * it starts. Returns 0 or DP_ERR (thread creation failed). */
int dp_health_start(void);
/* Stops and joins the health thread (at exit; tests). */
void dp_health_stop(void);

/* For tests: runs the service on the caller's loop instead of a thread,
 * following snapshots only through dp_health_sync(). */
void dp_health_attach(dp_loop_t *loop);
void dp_health_detach(void);
struct dp_snapshot;
/* Reconciles the checked clusters and endpoints with snap (the health
 * thread does it on every new snapshot). Health-service loop only. */
void dp_health_sync(const struct dp_snapshot *snap);
/* Wakes the health thread to act on outlier detections (any thread). */
void dp_health_kick(void);

/* ---- HDS: endpoints checked for the management server ------------------------------ */

/* One cluster of a HealthCheckSpecifier. The HDS client builds the set;
 * the health service checks it separately from the configured clusters
 * (as Envoy's HDS clusters are) and writes each endpoint's health into
 * `healthy`, which the client reads for its reports. */
typedef struct dp_hds_endpoint {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char addr_str[64];
    uint32_t locality; /* index into the cluster's localities */
    _Atomic int healthy; /* 1 once a check passed, 0 failed or not yet checked */
} dp_hds_endpoint_t;

typedef struct dp_hds_cluster {
    char *name;
    dp_hc_cfg_t *hc; /* NULL: no check (reported unhealthy) */
    dp_locality_t *localities;
    size_t n_localities;
    dp_hds_endpoint_t *endpoints;
    size_t n_endpoints;
} dp_hds_cluster_t;

typedef struct dp_hds_set {
    _Atomic int refcnt;
    dp_hds_cluster_t *clusters;
    size_t n_clusters;
    uint64_t interval_ms; /* report interval */
} dp_hds_set_t;

dp_hds_set_t *dp_hds_set_new(void); /* refcnt 1 */
dp_hds_set_t *dp_hds_set_ref(dp_hds_set_t *s);
void dp_hds_set_unref(dp_hds_set_t *s); /* NULL is fine */
/* Replaces the checked HDS set (NULL: none). Takes its own reference.
 * Any thread. */
void dp_health_set_hds(dp_hds_set_t *s);

#endif
