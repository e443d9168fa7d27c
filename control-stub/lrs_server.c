/* Load reporting service of the control stub: see lrs_server.h. */
#include "control-stub/lrs_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/stub_call.h"
#include "control-stub/stub_pb.h"
#include "control-stub/stub_util.h"

#define LRS_REQ_TYPE "envoy.service.load_stats.v3.LoadStatsRequest"
#define LRS_RESP_TYPE "envoy.service.load_stats.v3.LoadStatsResponse"

typedef struct lrs_loc {
    char *region, *zone, *sub_zone;
    uint64_t issued, successful, error, in_progress;
} lrs_loc_t;

typedef struct lrs_cluster {
    char *key;     /* cluster_name, or cluster_name/cluster_service_name */
    char *service; /* cluster_service_name ("" none) */
    uint64_t dropped;
    int64_t last_interval_ms; /* load_report_interval of its last report, -1 none */
    lrs_loc_t *locs;
    size_t nlocs;
} lrs_cluster_t;

typedef struct lrs_node {
    char *name;
    unsigned streams; /* open LRS streams */
    unsigned long reports;
    char last_at[32]; /* "" none */
    json_t *last;     /* the last report's cluster_stats (array) */
    lrs_cluster_t *clusters;
    size_t nclusters;
} lrs_node_t;

typedef struct lrs_stream {
    dp_stub_call_t super; /* first: the plumbing's callbacks cast back */
    dp_stublrs_t *l;
    char *node; /* NULL until the first request */
} lrs_stream_t;

struct dp_stublrs {
    unsigned interval_ms;
    lrs_node_t *nodes;
    size_t nnodes;
};

static lrs_node_t *lrs_node_get(dp_stublrs_t *l, const char *name)
{
    for (size_t i = 0; i < l->nnodes; i++)
        if (strcmp(l->nodes[i].name, name) == 0)
            return &l->nodes[i];
    l->nodes = dp_stub_xrealloc(l->nodes, (l->nnodes + 1) * sizeof *l->nodes);
    lrs_node_t *n = &l->nodes[l->nnodes++];
    memset(n, 0, sizeof *n);
    n->name = dp_stub_xstrdup(name);
    return n;
}

static const char *lrs_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static lrs_cluster_t *lrs_cluster_get(lrs_node_t *n, const char *name, const char *service)
{
    size_t kl = strlen(name) + strlen(service) + 2;
    char *key = dp_stub_xmalloc(kl);
    snprintf(key, kl, service[0] ? "%s/%s" : "%s", name, service);
    for (size_t i = 0; i < n->nclusters; i++) {
        if (strcmp(n->clusters[i].key, key) == 0) {
            free(key);
            return &n->clusters[i];
        }
    }
    n->clusters = dp_stub_xrealloc(n->clusters, (n->nclusters + 1) * sizeof *n->clusters);
    lrs_cluster_t *c = &n->clusters[n->nclusters++];
    memset(c, 0, sizeof *c);
    c->key = key;
    c->service = dp_stub_xstrdup(service);
    c->last_interval_ms = -1;
    return c;
}

static lrs_loc_t *lrs_loc_get(lrs_cluster_t *c, const json_t *locality)
{
    const char *r = lrs_str(locality, "region"), *z = lrs_str(locality, "zone"), *sz = lrs_str(locality, "sub_zone");
    for (size_t i = 0; i < c->nlocs; i++)
        if (strcmp(c->locs[i].region, r) == 0 && strcmp(c->locs[i].zone, z) == 0 &&
            strcmp(c->locs[i].sub_zone, sz) == 0)
            return &c->locs[i];
    c->locs = dp_stub_xrealloc(c->locs, (c->nlocs + 1) * sizeof *c->locs);
    lrs_loc_t *x = &c->locs[c->nlocs++];
    memset(x, 0, sizeof *x);
    x->region = dp_stub_xstrdup(r);
    x->zone = dp_stub_xstrdup(z);
    x->sub_zone = dp_stub_xstrdup(sz);
    return x;
}

void dp_stublrs_note_report(dp_stublrs_t *l, const char *node, const json_t *req)
{
    lrs_node_t *n = lrs_node_get(l, node);
    const json_t *stats = json_object_get(req, "cluster_stats");
    size_t i, k;
    json_t *cs, *ls;
    n->reports++;
    dp_stub_now_iso(n->last_at, sizeof n->last_at);
    json_decref(n->last);
    n->last = stats ? json_deep_copy(stats) : json_array();
    json_array_foreach(stats, i, cs) {
        lrs_cluster_t *c = lrs_cluster_get(n, lrs_str(cs, "cluster_name"), lrs_str(cs, "cluster_service_name"));
        c->dropped += dp_stub_json_u64(json_object_get(cs, "total_dropped_requests"));
        int64_t ms = dp_stub_json_ms(json_object_get(cs, "load_report_interval"));
        if (ms >= 0)
            c->last_interval_ms = ms;
        json_array_foreach(json_object_get(cs, "upstream_locality_stats"), k, ls) {
            lrs_loc_t *x = lrs_loc_get(c, json_object_get(ls, "locality"));
            x->issued += dp_stub_json_u64(json_object_get(ls, "total_issued_requests"));
            x->successful += dp_stub_json_u64(json_object_get(ls, "total_successful_requests"));
            x->error += dp_stub_json_u64(json_object_get(ls, "total_error_requests"));
            /* a gauge, not a delta */
            x->in_progress = dp_stub_json_u64(json_object_get(ls, "total_requests_in_progress"));
        }
    }
}

/* ---- streams ---- */

static void lrs_on_message(dp_stub_call_t *c, const uint8_t *buf, size_t len)
{
    lrs_stream_t *s = (lrs_stream_t *)c;
    char err[256];
    json_t *req = dp_stub_pb_decode(LRS_REQ_TYPE, buf, len, err, sizeof err);
    if (req == NULL) {
        dp_stub_log("LRS stream %u (node %s) from %s: %s: ending the stream", c->id, s->node ? s->node : "-",
                    c->peer, err);
        dp_stub_call_finish(c, GRPC_STATUS_INVALID_ARGUMENT, "cannot decode LoadStatsRequest");
        return;
    }
    if (s->node == NULL) {
        const char *id = json_string_value(json_object_get(json_object_get(req, "node"), "id"));
        s->node = dp_stub_xstrdup(id ? id : "");
        lrs_node_get(s->l, s->node)->streams++;
        dp_stub_log("LRS stream %u from %s: node '%s': asking for all clusters every %u ms", c->id, c->peer,
                    s->node, s->l->interval_ms);
        char d[32];
        json_t *resp = json_pack("{s:b,s:s}", "send_all_clusters", 1, "load_reporting_interval",
                                 dp_stub_ms_duration(s->l->interval_ms, d, sizeof d));
        uint8_t *out = NULL;
        size_t outlen = 0;
        if (dp_stub_pb_encode(LRS_RESP_TYPE, resp, &out, &outlen, err, sizeof err) != 0) {
            dp_stub_log("LRS stream %u: %s", c->id, err);
            dp_stub_call_finish(c, GRPC_STATUS_INTERNAL, "cannot encode LoadStatsResponse");
        } else {
            dp_stub_call_send(c, out, outlen); /* the first send: the slot is free */
        }
        json_decref(resp);
    }
    size_t nstats = json_array_size(json_object_get(req, "cluster_stats"));
    if (nstats > 0) {
        dp_stublrs_note_report(s->l, s->node, req);
        dp_stub_log("LRS node %s: report of %zu clusters", s->node, nstats);
    }
    json_decref(req);
}

static void lrs_on_sent(dp_stub_call_t *c)
{
    (void)c; /* one response per stream */
}

static void lrs_stream_free(dp_stub_call_t *c)
{
    lrs_stream_t *s = (lrs_stream_t *)c;
    dp_stub_log("LRS stream %u (node %s): closed%s", c->id, s->node ? s->node : "-",
                c->cancelled ? " (cancelled)" : "");
    if (s->node != NULL)
        lrs_node_get(s->l, s->node)->streams--;
    dp_stub_call_release(c);
    free(s->node);
    free(s);
}

static const dp_stub_call_ops_t lrs_ops = {lrs_on_message, lrs_on_sent, lrs_stream_free};

void dp_stublrs_accept(dp_stublrs_t *l, grpc_call *call, unsigned id, int *live)
{
    lrs_stream_t *s = dp_stub_xcalloc(1, sizeof *s);
    s->l = l;
    dp_stub_call_start(&s->super, &lrs_ops, call, id, live);
}

/* ---- state ---- */

dp_stublrs_t *dp_stublrs_create(unsigned interval_ms)
{
    dp_stublrs_t *l = dp_stub_xcalloc(1, sizeof *l);
    l->interval_ms = interval_ms ? interval_ms : DP_STUBLRS_INTERVAL_MS;
    return l;
}

void dp_stublrs_status(const dp_stublrs_t *l, json_t *nodes)
{
    for (size_t i = 0; i < l->nnodes; i++) {
        const lrs_node_t *n = &l->nodes[i];
        json_t *clusters = json_object();
        for (size_t k = 0; k < n->nclusters; k++) {
            const lrs_cluster_t *c = &n->clusters[k];
            json_t *locs = json_array();
            uint64_t t[4] = {0, 0, 0, 0};
            for (size_t j = 0; j < c->nlocs; j++) {
                const lrs_loc_t *x = &c->locs[j];
                json_array_append_new(locs, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "region", x->region, "zone",
                                                      x->zone, "sub_zone", x->sub_zone, "issued",
                                                      (json_int_t)x->issued, "successful", (json_int_t)x->successful,
                                                      "error", (json_int_t)x->error, "in_progress",
                                                      (json_int_t)x->in_progress));
                t[0] += x->issued, t[1] += x->successful, t[2] += x->error, t[3] += x->in_progress;
            }
            json_t *co = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:o}", "service_name", c->service, "issued",
                                   (json_int_t)t[0], "successful", (json_int_t)t[1], "error", (json_int_t)t[2],
                                   "in_progress", (json_int_t)t[3], "dropped", (json_int_t)c->dropped, "localities",
                                   locs);
            json_object_set_new(co, "last_interval_ms",
                                c->last_interval_ms >= 0 ? json_integer(c->last_interval_ms) : json_null());
            json_object_set_new(clusters, c->key, co);
        }
        json_t *load = json_pack("{s:i,s:I,s:i,s:o,s:o}", "streams", (int)n->streams, "reports",
                                 (json_int_t)n->reports, "interval_ms", (int)l->interval_ms, "clusters", clusters,
                                 "last", n->last ? json_incref(n->last) : json_array());
        json_object_set_new(load, "last_report", n->last_at[0] ? json_string(n->last_at) : json_null());
        json_object_set_new(dp_stub_status_node(nodes, n->name), "load", load);
    }
}

void dp_stublrs_destroy(dp_stublrs_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nnodes; i++) {
        lrs_node_t *n = &l->nodes[i];
        for (size_t k = 0; k < n->nclusters; k++) {
            lrs_cluster_t *c = &n->clusters[k];
            for (size_t j = 0; j < c->nlocs; j++) {
                free(c->locs[j].region);
                free(c->locs[j].zone);
                free(c->locs[j].sub_zone);
            }
            free(c->locs);
            free(c->key);
            free(c->service);
        }
        free(n->clusters);
        json_decref(n->last);
        free(n->name);
    }
    free(l->nodes);
    free(l);
}
