/* Health-check configuration and the per-endpoint state machine, with
 * Envoy's rules (health.h): the first result decides at once, later
 * transitions need the thresholds, an active failure (the endpoint said
 * no) is immediate. No I/O here: health_check.c runs the checks. */
#include "dataplane/upstream/health.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

void dp_hc_cfg_free(dp_hc_cfg_t *c)
{
    if (c == NULL)
        return;
    free(c->host);
    free(c->path);
    free(c->extra_headers);
    free(c->expected);
    free(c->send.data);
    for (size_t i = 0; i < c->n_receive; i++)
        free(c->receive[i].data);
    free(c->receive);
    free(c);
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool bytes_eq(const dp_hc_bytes_t *a, const dp_hc_bytes_t *b)
{
    return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

bool dp_hc_cfg_equal(const dp_hc_cfg_t *a, const dp_hc_cfg_t *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    if (a->kind != b->kind || a->timeout_ms != b->timeout_ms || a->interval_ms != b->interval_ms ||
        a->initial_jitter_ms != b->initial_jitter_ms || a->interval_jitter_ms != b->interval_jitter_ms ||
        a->interval_jitter_percent != b->interval_jitter_percent ||
        a->unhealthy_threshold != b->unhealthy_threshold || a->healthy_threshold != b->healthy_threshold ||
        a->reuse_connection != b->reuse_connection || a->no_traffic_interval_ms != b->no_traffic_interval_ms ||
        a->no_traffic_healthy_interval_ms != b->no_traffic_healthy_interval_ms ||
        a->unhealthy_interval_ms != b->unhealthy_interval_ms ||
        a->unhealthy_edge_interval_ms != b->unhealthy_edge_interval_ms ||
        a->healthy_edge_interval_ms != b->healthy_edge_interval_ms)
        return false;
    if (!str_eq(a->host, b->host) || !str_eq(a->path, b->path) || !str_eq(a->extra_headers, b->extra_headers))
        return false;
    if (a->n_expected != b->n_expected ||
        (a->n_expected && memcmp(a->expected, b->expected, a->n_expected * sizeof(*a->expected)) != 0))
        return false;
    if (!bytes_eq(&a->send, &b->send) || a->n_receive != b->n_receive)
        return false;
    for (size_t i = 0; i < a->n_receive; i++)
        if (!bytes_eq(&a->receive[i], &b->receive[i]))
            return false;
    return true;
}

bool dp_hc_status_expected(const dp_hc_cfg_t *c, int status)
{
    if (c->n_expected == 0)
        return status == 200;
    for (size_t i = 0; i < c->n_expected; i++)
        if (status >= c->expected[i].start && status < c->expected[i].end)
            return true;
    return false;
}

void dp_hc_state_init(dp_hc_state_t *st)
{
    memset(st, 0, sizeof(*st));
    st->failed = true;
    st->first_check = true;
}

dp_hc_transition_t dp_hc_state_apply(dp_hc_state_t *st, const dp_hc_cfg_t *c, dp_hc_result_t r)
{
    dp_hc_transition_t t = DP_HC_UNCHANGED;
    if (r == DP_HC_SUCCESS) {
        st->num_unhealthy = 0;
        if (st->failed) {
            /* startup is faster this way, as Envoy: the first result of a
             * new endpoint decides without waiting for the threshold */
            if (st->first_check || ++st->num_healthy >= c->healthy_threshold) {
                st->failed = false;
                st->num_healthy = 0;
                t = DP_HC_CHANGED;
            } else {
                t = DP_HC_PENDING;
            }
        }
    } else {
        st->num_healthy = 0;
        if (!st->failed) {
            if (r == DP_HC_FAIL_ACTIVE || ++st->num_unhealthy >= c->unhealthy_threshold) {
                st->failed = true;
                st->num_unhealthy = 0;
                t = DP_HC_CHANGED;
            } else {
                t = DP_HC_PENDING;
            }
        }
    }
    st->first_check = false;
    return t;
}

uint64_t dp_hc_next_interval_ms(const dp_hc_cfg_t *c, bool had_traffic, bool success, dp_hc_transition_t t,
                                uint64_t rnd)
{
    uint64_t base;
    if (!had_traffic)
        base = success && t != DP_HC_PENDING ? c->no_traffic_healthy_interval_ms : c->no_traffic_interval_ms;
    else if (!success)
        base = t == DP_HC_PENDING ? c->unhealthy_edge_interval_ms : c->unhealthy_interval_ms;
    else
        base = t == DP_HC_PENDING ? c->healthy_edge_interval_ms : c->interval_ms;
    uint64_t pct = (uint64_t)c->interval_jitter_percent * base / 100;
    uint64_t j = 0;
    if (pct > 0)
        j += rnd % pct;
    if (c->interval_jitter_ms > 0)
        j += (rnd >> 17) % c->interval_jitter_ms;
    return base + j;
}

const char *dp_health_flags_str(uint32_t flags, bool eds_healthy, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s%s%s%s", flags & DP_HF_FAILED_ACTIVE_HC ? "/failed_active_hc" : "",
             flags & DP_HF_FAILED_OUTLIER_CHECK ? "/failed_outlier_check" : "",
             eds_healthy ? "" : "/failed_eds_health", flags & DP_HF_PENDING_ACTIVE_HC ? "/pending_active_hc" : "");
    if (out[0] == '\0')
        snprintf(out, outlen, "healthy");
    return out;
}

/* ---- HDS sets ----------------------------------------------------------------------- */

dp_hds_set_t *dp_hds_set_new(void)
{
    dp_hds_set_t *s = dp_xcalloc(1, sizeof(*s));
    atomic_init(&s->refcnt, 1);
    return s;
}

dp_hds_set_t *dp_hds_set_ref(dp_hds_set_t *s)
{
    if (s)
        atomic_fetch_add(&s->refcnt, 1);
    return s;
}

void dp_hds_set_unref(dp_hds_set_t *s)
{
    if (s == NULL || atomic_fetch_sub(&s->refcnt, 1) != 1)
        return;
    for (size_t i = 0; i < s->n_clusters; i++) {
        dp_hds_cluster_t *c = &s->clusters[i];
        free(c->name);
        dp_hc_cfg_free(c->hc);
        for (size_t j = 0; j < c->n_localities; j++) {
            free(c->localities[j].region);
            free(c->localities[j].zone);
            free(c->localities[j].sub_zone);
        }
        free(c->localities);
        free(c->endpoints);
    }
    free(s->clusters);
    free(s);
}
