/* Outlier detection: counting on the workers, deciding on the health
 * thread (outlier.h). */
#include "dataplane/upstream/outlier.h"

#include <stdio.h>
#include <stdlib.h>

#include "dataplane/core/common.h"
#include "dataplane/upstream/cluster.h"

void dp_outlier_cfg_free(dp_outlier_cfg_t *c)
{
    free(c);
}

void dp_outlier_cfg_defaults(dp_outlier_cfg_t *c)
{
    c->consecutive_5xx = 5;
    c->consecutive_gateway_failure = 5;
    c->enforcing_consecutive_5xx = 100;
    c->enforcing_consecutive_gateway_failure = 0;
    c->interval_ms = 10000;
    c->base_ejection_time_ms = 30000;
    c->max_ejection_time_ms = 300000;
    c->max_ejection_percent = 10;
    c->always_eject_one_host = false;
    c->hc_uneject = true;
}

/* A counter that only the first crossing of the threshold reports; a
 * reset writes only when needed (workers share these cache lines). */
static bool bump(_Atomic uint32_t *ctr, uint32_t threshold)
{
    uint32_t n = atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed) + 1;
    return threshold > 0 && n == threshold;
}

static void reset(_Atomic uint32_t *ctr)
{
    if (atomic_load_explicit(ctr, memory_order_relaxed) != 0)
        atomic_store_explicit(ctr, 0, memory_order_relaxed);
}

uint32_t dp_outlier_count(const dp_outlier_cfg_t *c, dp_ep_health_t *e, dp_upout_t out, int status)
{
    int code;
    switch (out) {
    case DP_UPOUT_RESPONSE:
        code = status;
        break;
    case DP_UPOUT_CONNECT_FAIL:
    case DP_UPOUT_RESET:
        code = 503; /* Envoy: LocalOriginConnectFailed */
        break;
    case DP_UPOUT_TIMEOUT:
        code = 504; /* Envoy: LocalOriginTimeout */
        break;
    default:
        return 0;
    }
    uint32_t bits = 0;
    if (code >= 500 && code < 600) {
        if (bump(&e->c5xx, c->consecutive_5xx))
            bits |= DP_OD_DETECT_5XX;
    } else {
        reset(&e->c5xx);
    }
    if (code == 502 || code == 503 || code == 504) {
        if (bump(&e->cgw, c->consecutive_gateway_failure))
            bits |= DP_OD_DETECT_GATEWAY;
    } else {
        reset(&e->cgw);
    }
    if (bits)
        atomic_fetch_or(&e->detected, bits);
    return bits;
}

void dp_outlier_note(const dp_cluster_cfg_t *c, const dp_endpoint_t *ep, dp_upout_t out, int status)
{
    if (c == NULL || c->outlier == NULL || ep == NULL)
        return;
    dp_ep_health_t *e = dp_health_entry(c, ep);
    if (e == NULL)
        return;
    if (dp_outlier_count(c->outlier, e, out, status))
        dp_health_kick();
}

static const char *const od_suffixes[DP_OD_S__COUNT] = {
    "ejections_active",
    "ejections_overflow",
    "ejections_enforced_total",
    "ejections_detected_consecutive_5xx",
    "ejections_enforced_consecutive_5xx",
    "ejections_detected_consecutive_gateway_failure",
    "ejections_enforced_consecutive_gateway_failure",
};
static const dp_stat_kind_t od_kinds[DP_OD_S__COUNT] = {DP_STAT_GAUGE,   DP_STAT_COUNTER, DP_STAT_COUNTER,
                                                        DP_STAT_COUNTER, DP_STAT_COUNTER, DP_STAT_COUNTER,
                                                        DP_STAT_COUNTER};

dp_stat_group_t *dp_outlier_stats_group(const char *cluster)
{
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "cluster.%s.outlier_detection", cluster);
    return dp_stats_group_new(prefix, od_suffixes, od_kinds, DP_OD_S__COUNT);
}

static uint64_t max_ejection(const dp_outlier_cfg_t *c)
{
    return DP_MAX(c->max_ejection_time_ms, c->base_ejection_time_ms);
}

uint64_t dp_outlier_ejection_ms(const dp_outlier_cfg_t *c, const dp_ep_health_t *e)
{
    uint64_t n = e->num_ejections ? e->num_ejections : 1;
    return DP_MIN(c->base_ejection_time_ms * n, max_ejection(c));
}

static void stat_inc(dp_stat_t *s, int i)
{
    if (s)
        dp_stat_inc(&s[i]);
}

bool dp_outlier_on_detect(const dp_outlier_cfg_t *c, dp_ep_health_t *e, uint32_t bits, size_t n_hosts,
                          size_t n_ejected, uint64_t now_ms, uint64_t rnd, dp_stat_t *s)
{
    /* the counters start over, so a further run of errors is detected again */
    atomic_store(&e->c5xx, 0);
    atomic_store(&e->cgw, 0);
    if (atomic_load(&e->flags) & DP_HF_FAILED_OUTLIER_CHECK)
        return false; /* already out */
    bool enforce = false;
    if (bits & DP_OD_DETECT_5XX) {
        stat_inc(s, DP_OD_S_DETECTED_5XX);
        if (rnd % 100 < c->enforcing_consecutive_5xx)
            enforce = true;
    }
    if (bits & DP_OD_DETECT_GATEWAY) {
        stat_inc(s, DP_OD_S_DETECTED_GW);
        if ((rnd / 100) % 100 < c->enforcing_consecutive_gateway_failure)
            enforce = true;
    }
    if (n_hosts == 0)
        return false;
    bool room = (n_ejected + 1) * 100 <= (uint64_t)c->max_ejection_percent * n_hosts ||
                (c->always_eject_one_host && n_ejected == 0);
    if (!room) {
        stat_inc(s, DP_OD_S_OVERFLOW);
        return false;
    }
    if (!enforce)
        return false;
    /* the multiplier grows until the ejection reaches the cap */
    if (e->num_ejections == 0 || c->base_ejection_time_ms * e->num_ejections < max_ejection(c))
        e->num_ejections++;
    e->ejected_ms = now_ms;
    atomic_fetch_or(&e->flags, DP_HF_FAILED_OUTLIER_CHECK);
    stat_inc(s, DP_OD_S_ENFORCED_TOTAL);
    if ((bits & DP_OD_DETECT_5XX) && rnd % 100 < c->enforcing_consecutive_5xx)
        stat_inc(s, DP_OD_S_ENFORCED_5XX);
    else
        stat_inc(s, DP_OD_S_ENFORCED_GW);
    /* ejections_active is set by the caller, who counts the ejected */
    return true;
}

void dp_outlier_uneject(dp_ep_health_t *e, uint64_t now_ms)
{
    atomic_fetch_and(&e->flags, ~(uint32_t)DP_HF_FAILED_OUTLIER_CHECK);
    e->unejected_ms = now_ms ? now_ms : 1;
    atomic_store(&e->c5xx, 0);
    atomic_store(&e->cgw, 0);
}

bool dp_outlier_sweep(const dp_outlier_cfg_t *c, dp_ep_health_t *e, uint64_t now_ms)
{
    if (!(atomic_load(&e->flags) & DP_HF_FAILED_OUTLIER_CHECK)) {
        /* back for a base_ejection_time without a new ejection: the next
         * ejection is shorter by one step, one step per sweep */
        if (e->num_ejections > 0 && e->unejected_ms && now_ms - e->unejected_ms >= c->base_ejection_time_ms)
            e->num_ejections--;
        return false;
    }
    if (now_ms - e->ejected_ms < dp_outlier_ejection_ms(c, e))
        return false;
    dp_outlier_uneject(e, now_ms);
    return true;
}
