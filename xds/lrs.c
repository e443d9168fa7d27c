/* LRS protocol state (lrs.h). */
#include "xds/lrs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/upstream/load_stats.h"
#include "envoy/service/load_stats/v3/lrs.pb-c.h"
#include "xds/unknown.h"

typedef Envoy__Config__Core__V3__Node pb_node_t;
typedef Envoy__Config__Endpoint__V3__ClusterStats pb_cstats_t;
typedef Envoy__Config__Endpoint__V3__UpstreamLocalityStats pb_lstats_t;

/* A cluster being reported: since when its current period runs. */
typedef struct lrs_tracked {
    char *name;
    uint64_t start_us;
} lrs_tracked_t;

struct dp_lrs {
    uint8_t *node; /* encoded Node */
    size_t node_len;
    /* the schedule of the latest response */
    bool scheduled;
    bool send_all;
    char **names; /* its clusters, sorted */
    size_t n_names;
    uint64_t interval_us;
    uint64_t next_us;
    lrs_tracked_t *tracked; /* sorted by name */
    size_t n_tracked;
};

/* The features of ADS's Node (xds/ads.c) plus LRS's own. */
static const char *const lrs_features[] = {
    "envoy.lb.does_not_support_overprovisioning",
    "xds.config.resource-ttl",
    "envoy.lrs.supports_send_all_clusters",
};

uint8_t *dp_lrs_node_encode(const dp_bootstrap_t *boot, const char *const *features, size_t n_features,
                            size_t *len)
{
    pb_node_t n;

    dp_bootstrap_node(boot, features, n_features, &n);
    *len = protobuf_c_message_get_packed_size(&n.base);
    uint8_t *buf = dp_xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(&n.base, buf);
    return buf;
}

dp_lrs_t *dp_lrs_new(const dp_bootstrap_t *boot)
{
    dp_lrs_t *l = dp_xcalloc(1, sizeof(*l));
    l->node = dp_lrs_node_encode(boot, lrs_features, DP_ARRAY_SIZE(lrs_features), &l->node_len);
    l->next_us = UINT64_MAX;
    return l;
}

static void names_free(dp_lrs_t *l)
{
    for (size_t i = 0; i < l->n_names; i++)
        free(l->names[i]);
    free(l->names);
    l->names = NULL;
    l->n_names = 0;
}

void dp_lrs_free(dp_lrs_t *l)
{
    if (l == NULL)
        return;
    names_free(l);
    for (size_t i = 0; i < l->n_tracked; i++)
        free(l->tracked[i].name);
    free(l->tracked);
    free(l->node);
    free(l);
}

static int str_cmp(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static const dp_lrs_cluster_t *known_find(const dp_lrs_cluster_t *known, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(known[mid].name, name);
        if (c == 0)
            return &known[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static lrs_tracked_t *tracked_find(const dp_lrs_t *l, const char *name)
{
    size_t lo = 0, hi = l->n_tracked;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(l->tracked[mid].name, name);
        if (c == 0)
            return &l->tracked[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* Envoy's startLoadReportPeriod: the clusters of the schedule become the
 * tracked set; those already tracked keep their period start (and counts),
 * new ones start now with their counts dropped. */
static void start_period(dp_lrs_t *l, const dp_lrs_cluster_t *known, size_t n_known, uint64_t now_us)
{
    const char *const *want;
    size_t n_want;
    const char **tmp = NULL;

    if (l->send_all) {
        tmp = dp_xcalloc(n_known + 1, sizeof(*tmp));
        for (size_t i = 0; i < n_known; i++)
            tmp[i] = known[i].name;
        want = tmp;
        n_want = n_known;
    } else {
        want = (const char *const *)l->names;
        n_want = l->n_names;
    }
    lrs_tracked_t *nt = dp_xcalloc(n_want + 1, sizeof(*nt));
    size_t n = 0;
    for (size_t i = 0; i < n_want; i++) {
        if (n > 0 && strcmp(nt[n - 1].name, want[i]) == 0)
            continue; /* a name listed twice */
        lrs_tracked_t *old = tracked_find(l, want[i]);
        nt[n].name = dp_xstrdup(want[i]);
        if (old) {
            nt[n].start_us = old->start_us;
        } else {
            nt[n].start_us = now_us;
            if (known_find(known, n_known, want[i]))
                dp_load_stats_reset(want[i]);
        }
        n++;
    }
    for (size_t i = 0; i < l->n_tracked; i++)
        free(l->tracked[i].name);
    free(l->tracked);
    l->tracked = nt;
    l->n_tracked = n;
    free(tmp);
    l->next_us = now_us + l->interval_us;
}

static uint8_t *pack_request(const dp_lrs_t *l, pb_cstats_t **cs, size_t n_cs, size_t *len)
{
    Envoy__Service__LoadStats__V3__LoadStatsRequest req = ENVOY__SERVICE__LOAD_STATS__V3__LOAD_STATS_REQUEST__INIT;
    pb_node_t *node = envoy__config__core__v3__node__unpack(NULL, l->node_len, l->node);
    if (node == NULL)
        abort(); /* our own encoding: fails only without memory */
    req.node = node;
    req.cluster_stats = cs;
    req.n_cluster_stats = n_cs;
    *len = protobuf_c_message_get_packed_size(&req.base);
    uint8_t *buf = dp_xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(&req.base, buf);
    envoy__config__core__v3__node__free_unpacked(node, NULL);
    return buf;
}

void dp_lrs_stream_start(dp_lrs_t *l, uint8_t **out, size_t *len)
{
    l->scheduled = false;
    l->next_us = UINT64_MAX;
    *out = pack_request(l, NULL, 0, len);
}

int dp_lrs_on_response(dp_lrs_t *l, const uint8_t *msg, size_t len, const dp_lrs_cluster_t *known, size_t n_known,
                       uint64_t now_us, char *errbuf, size_t errlen)
{
    Envoy__Service__LoadStats__V3__LoadStatsResponse *r =
        envoy__service__load_stats__v3__load_stats_response__unpack(NULL, len, msg);
    if (r == NULL) {
        snprintf(errbuf, errlen, "LoadStatsResponse: cannot decode");
        return DP_EINVAL;
    }
    if (dp_pb_check_unknown(&r->base, errbuf, errlen) != 0) {
        envoy__service__load_stats__v3__load_stats_response__free_unpacked(r, NULL);
        return DP_EINVAL;
    }
    uint64_t ms = 0;
    if (r->load_reporting_interval) {
        const Google__Protobuf__Duration *d = r->load_reporting_interval;
        if (d->seconds < 0 || d->nanos < 0) {
            snprintf(errbuf, errlen, "LoadStatsResponse.load_reporting_interval: negative");
            envoy__service__load_stats__v3__load_stats_response__free_unpacked(r, NULL);
            return DP_EINVAL;
        }
        ms = (uint64_t)d->seconds * 1000 + (uint64_t)d->nanos / 1000000;
    }
    names_free(l);
    l->send_all = r->send_all_clusters;
    if (!l->send_all && r->n_clusters) {
        l->names = dp_xcalloc(r->n_clusters, sizeof(*l->names));
        for (size_t i = 0; i < r->n_clusters; i++)
            l->names[i] = dp_xstrdup(r->clusters[i]);
        l->n_names = r->n_clusters;
        qsort(l->names, l->n_names, sizeof(*l->names), str_cmp);
    }
    l->interval_us = DP_MAX(ms, (uint64_t)DP_LRS_MIN_INTERVAL_MS) * 1000;
    l->scheduled = true;
    envoy__service__load_stats__v3__load_stats_response__free_unpacked(r, NULL);
    start_period(l, known, n_known, now_us);
    return 0;
}

uint64_t dp_lrs_next_report_us(const dp_lrs_t *l)
{
    return l->scheduled ? l->next_us : UINT64_MAX;
}

static pb_cstats_t *cluster_stats(const dp_lrs_cluster_t *k, lrs_tracked_t *t, uint64_t now_us)
{
    pb_cstats_t *cs = dp_xcalloc(1, sizeof(*cs));
    envoy__config__endpoint__v3__cluster_stats__init(cs);
    cs->cluster_name = (char *)k->name;
    if (k->service_name && k->service_name[0])
        cs->cluster_service_name = (char *)k->service_name;
    dp_load_stats_row_t *rows = NULL;
    size_t n = dp_load_stats_latch(k->name, &rows);
    cs->upstream_locality_stats = dp_xcalloc(n + 1, sizeof(*cs->upstream_locality_stats));
    for (size_t i = 0; i < n; i++) {
        const dp_load_stats_row_t *r = &rows[i];
        if (r->success + r->error + r->issued + r->in_progress == 0)
            continue; /* Envoy leaves out a locality with nothing to say */
        pb_lstats_t *ls = dp_xcalloc(1, sizeof(*ls));
        envoy__config__endpoint__v3__upstream_locality_stats__init(ls);
        if (r->region[0] || r->zone[0] || r->sub_zone[0]) {
            Envoy__Config__Core__V3__Locality *loc = dp_xcalloc(1, sizeof(*loc));
            envoy__config__core__v3__locality__init(loc);
            loc->region = (char *)r->region;
            loc->zone = (char *)r->zone;
            loc->sub_zone = (char *)r->sub_zone;
            ls->locality = loc;
        }
        ls->total_successful_requests = r->success;
        ls->total_error_requests = r->error;
        ls->total_issued_requests = r->issued;
        ls->total_requests_in_progress = r->in_progress;
        ls->priority = r->priority;
        cs->upstream_locality_stats[cs->n_upstream_locality_stats++] = ls;
    }
    free(rows);
    uint64_t us = now_us > t->start_us ? now_us - t->start_us : 0;
    Google__Protobuf__Duration *d = dp_xcalloc(1, sizeof(*d));
    google__protobuf__duration__init(d);
    d->seconds = (int64_t)(us / 1000000);
    d->nanos = (int32_t)(us % 1000000) * 1000;
    cs->load_report_interval = d;
    t->start_us = now_us;
    return cs;
}

static void cluster_stats_free(pb_cstats_t *cs)
{
    for (size_t i = 0; i < cs->n_upstream_locality_stats; i++) {
        free(cs->upstream_locality_stats[i]->locality);
        free(cs->upstream_locality_stats[i]);
    }
    free(cs->upstream_locality_stats);
    free(cs->load_report_interval);
    free(cs);
}

void dp_lrs_report(dp_lrs_t *l, const dp_lrs_cluster_t *known, size_t n_known, uint64_t now_us, uint8_t **out,
                   size_t *len)
{
    pb_cstats_t **cs = dp_xcalloc(l->n_tracked + 1, sizeof(*cs));
    size_t n = 0;
    for (size_t i = 0; i < l->n_tracked; i++) {
        const dp_lrs_cluster_t *k = known_find(known, n_known, l->tracked[i].name);
        if (k == NULL)
            continue; /* asked for but not (or no longer) here: Envoy skips it */
        cs[n++] = cluster_stats(k, &l->tracked[i], now_us);
    }
    *out = pack_request(l, cs, n, len);
    for (size_t i = 0; i < n; i++)
        cluster_stats_free(cs[i]);
    free(cs);
    if (l->scheduled)
        start_period(l, known, n_known, now_us);
}
