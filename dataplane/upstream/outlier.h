/* Passive health: Envoy's Cluster.outlier_detection, consecutive 5xx and
 * consecutive gateway failure ejection.
 *
 * Every upstream attempt's outcome reaches dp_outlier_note() on the
 * worker that made it (outcome.h). As Envoy without
 * split_external_local_origin_errors, a connect failure or a reset counts
 * as a 503 and a timeout as a 504; a cancelled request counts as nothing.
 * A 5xx increments the endpoint's consecutive 5xx counter (anything else
 * resets it), a 502/503/504 its consecutive gateway failure counter
 * (anything else resets it). When a counter reaches its threshold the
 * worker flags a detection and kicks the health thread, which decides
 * (dp_outlier_on_detect): the ejection is enforced with probability
 * enforcing_* %, and only while (ejected + 1) * 100 / hosts <=
 * max_ejection_percent, or when always_eject_one_host and none is ejected
 * (recent Envoy: without always_eject_one_host, the default 10 % of a
 * cluster of fewer than 10 hosts ejects nobody; stat ejections_overflow).
 *
 * An ejected endpoint is skipped by the load balancer for
 * base_ejection_time * (times ejected), at most max(max_ejection_time,
 * base_ejection_time); the sweep every `interval` returns it, and lowers
 * the multiplier by one per sweep once it has stayed in for a
 * base_ejection_time. A successful active health check unejects at once
 * (successful_active_health_check_uneject_host, default true).
 * Success-rate and failure-percentage detection are not implemented (their
 * fields are refused). Stats: cluster.NAME.outlier_detection.ejections_*. */
#ifndef DP_UPSTREAM_OUTLIER_H
#define DP_UPSTREAM_OUTLIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/admin/stats.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outcome.h"

typedef struct dp_outlier_cfg {
    uint32_t consecutive_5xx;             /* default 5; 0 off */
    uint32_t consecutive_gateway_failure; /* default 5; 0 off */
    uint32_t enforcing_consecutive_5xx;   /* % default 100 */
    uint32_t enforcing_consecutive_gateway_failure; /* % default 0 */
    uint64_t interval_ms;           /* default 10 s */
    uint64_t base_ejection_time_ms; /* default 30 s */
    uint64_t max_ejection_time_ms;  /* default 300 s */
    uint32_t max_ejection_percent;  /* default 10 */
    bool always_eject_one_host;     /* default false */
    bool hc_uneject;                /* successful_active_health_check_uneject_host, default true */
} dp_outlier_cfg_t;

void dp_outlier_cfg_free(dp_outlier_cfg_t *c); /* NULL is fine */
void dp_outlier_cfg_defaults(dp_outlier_cfg_t *c);

/* Worker side: one upstream attempt's outcome (status: the response
 * status for DP_UPOUT_RESPONSE). Lock-free. */
void dp_outlier_note(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status);
/* The same on an entry directly (tests, and the note above); returns the
 * detections it raised (DP_OD_DETECT_* bits, also or-ed into e->detected). */
uint32_t dp_outlier_count(const dp_outlier_cfg_t *c, dp_ep_health_t *e, dp_upout_t out, int status);

enum { DP_OD_DETECT_5XX = 1u << 0, DP_OD_DETECT_GATEWAY = 1u << 1 };

/* cluster.NAME.outlier_detection.* members, in this order. */
enum {
    DP_OD_S_ACTIVE,   /* gauge ejections_active */
    DP_OD_S_OVERFLOW, /* ejections_overflow */
    DP_OD_S_ENFORCED_TOTAL,
    DP_OD_S_DETECTED_5XX,
    DP_OD_S_ENFORCED_5XX,
    DP_OD_S_DETECTED_GW,
    DP_OD_S_ENFORCED_GW,
    DP_OD_S__COUNT
};
/* The stats group of a cluster (created once per name). */
dp_stat_group_t *dp_outlier_stats_group(const char *cluster);

/* Health thread side, sans-I/O (now_ms: monotonic, rnd: a random number).
 * on_detect: acts on the detections `bits` of e in a cluster of n_hosts
 * endpoints of which n_ejected are ejected; returns true if it ejected e
 * (flag DP_HF_FAILED_OUTLIER_CHECK set). s: the stats group members, or
 * NULL. Resets e's counters either way. */
bool dp_outlier_on_detect(const dp_outlier_cfg_t *c, dp_ep_health_t *e, uint32_t bits, size_t n_hosts,
                          size_t n_ejected, uint64_t now_ms, uint64_t rnd, dp_stat_t *s);
/* The sweep for one entry: returns true if it unejected e. */
bool dp_outlier_sweep(const dp_outlier_cfg_t *c, dp_ep_health_t *e, uint64_t now_ms);
/* Returns an ejected e to service now (and resets its counters). */
void dp_outlier_uneject(dp_ep_health_t *e, uint64_t now_ms);
/* How long e's current ejection lasts. */
uint64_t dp_outlier_ejection_ms(const dp_outlier_cfg_t *c, const dp_ep_health_t *e);

#endif
