#include "dataplane/upstream/cluster.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* name -> runtime, open addressing; entries are never removed (stats live
 * for the life of the process, as Envoy's do for a cluster name). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dp_cluster_rt_t **table;
static size_t n_all, cap_all;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void grow(void)
{
    size_t ncap = cap_all ? cap_all * 2 : 64;
    dp_cluster_rt_t **nt = dp_xcalloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < cap_all; i++) {
        if (table[i] == NULL)
            continue;
        size_t j = name_hash(table[i]->name) & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap_all = ncap;
}

/* Envoy's cluster stat names, one group per cluster. */
enum {
    S_CX_TOTAL, S_CX_ACTIVE, S_CX_CONNECT_FAIL, S_CX_CONNECT_TIMEOUT, S_CX_DESTROY, S_CX_OVERFLOW,
    S_CX_PROTOCOL_ERROR, S_RQ_PENDING_OVERFLOW, S_RQ_PENDING_ACTIVE, S_RQ_TOTAL, S_RQ_ACTIVE, S_RQ_TIMEOUT,
    S_RQ_COMPLETED, S_RQ_RETRY, S_RQ_1XX, S_RQ_2XX, S_RQ_3XX, S_RQ_4XX, S_RQ_5XX, S_MEMBERSHIP_TOTAL,
    S_MEMBERSHIP_HEALTHY, S__COUNT
};
static const char *const suffixes[S__COUNT] = {
    "upstream_cx_total", "upstream_cx_active", "upstream_cx_connect_fail", "upstream_cx_connect_timeout",
    "upstream_cx_destroy", "upstream_cx_overflow", "upstream_cx_protocol_error", "upstream_rq_pending_overflow",
    "upstream_rq_pending_active", "upstream_rq_total", "upstream_rq_active", "upstream_rq_timeout",
    "upstream_rq_completed", "upstream_rq_retry", "upstream_rq_1xx", "upstream_rq_2xx", "upstream_rq_3xx",
    "upstream_rq_4xx", "upstream_rq_5xx", "membership_total", "membership_healthy",
};
#define C_ DP_STAT_COUNTER
#define G_ DP_STAT_GAUGE
static const dp_stat_kind_t kinds[S__COUNT] = {C_, G_, C_, C_, C_, C_, C_, C_, G_, C_, G_, C_, C_, C_,
                                               C_, C_, C_, C_, C_, G_, G_};
#undef C_
#undef G_

static dp_cluster_rt_t *create(const char *name)
{
    dp_cluster_rt_t *c = dp_xcalloc(1, sizeof(*c));
    c->name = dp_xstrdup(name);
    char prefix[512];
    snprintf(prefix, sizeof(prefix), "cluster.%s", name);
    c->stats = dp_stats_group_new(prefix, suffixes, kinds, S__COUNT);
    dp_stat_t *s = c->stats->stats;
    c->cx_total = &s[S_CX_TOTAL];
    c->cx_active_g = &s[S_CX_ACTIVE];
    c->cx_connect_fail = &s[S_CX_CONNECT_FAIL];
    c->cx_connect_timeout = &s[S_CX_CONNECT_TIMEOUT];
    c->cx_destroy = &s[S_CX_DESTROY];
    c->cx_overflow = &s[S_CX_OVERFLOW];
    c->cx_protocol_error = &s[S_CX_PROTOCOL_ERROR];
    c->rq_pending_overflow = &s[S_RQ_PENDING_OVERFLOW];
    c->rq_pending_active_g = &s[S_RQ_PENDING_ACTIVE];
    c->rq_total = &s[S_RQ_TOTAL];
    c->rq_active_g = &s[S_RQ_ACTIVE];
    c->rq_timeout = &s[S_RQ_TIMEOUT];
    c->rq_completed = &s[S_RQ_COMPLETED];
    c->rq_retry = &s[S_RQ_RETRY];
    for (int i = 1; i <= 5; i++)
        c->rq_xx[i] = &s[S_RQ_1XX + i - 1];
    c->membership_total = &s[S_MEMBERSHIP_TOTAL];
    c->membership_healthy = &s[S_MEMBERSHIP_HEALTHY];
    return c;
}

dp_cluster_rt_t *dp_cluster_rt_get(const char *name)
{
    pthread_mutex_lock(&lock);
    if ((n_all + 1) * 2 > cap_all)
        grow();
    size_t j = name_hash(name) & (cap_all - 1);
    while (table[j] && strcmp(table[j]->name, name) != 0)
        j = (j + 1) & (cap_all - 1);
    if (table[j] == NULL) {
        table[j] = create(name);
        n_all++;
    }
    dp_cluster_rt_t *c = table[j];
    pthread_mutex_unlock(&lock);
    return c;
}
