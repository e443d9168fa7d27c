/* Load reports: the counters (dataplane/upstream/load_stats.h) with
 * Envoy's success / error / issued / in progress rules, under concurrent
 * workers, and the LRS protocol state (xds/lrs.h): the Node, the schedule
 * of a response, deltas, intervals, send_all_clusters, clusters that
 * appear, stay or go. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/upstream/load_stats.h"
#include "envoy/service/load_stats/v3/lrs.pb-c.h"
#include "test.h"
#include "xds/bootstrap.h"
#include "xds/lrs.h"

typedef Envoy__Service__LoadStats__V3__LoadStatsRequest req_t;
typedef Envoy__Config__Endpoint__V3__ClusterStats cstats_t;
typedef Envoy__Config__Endpoint__V3__UpstreamLocalityStats lstats_t;

/* A cluster "name" with two localities (eu/a and us/"" priority 1) and
 * one endpoint in each, plus an endpoint without a locality index. */
typedef struct fake_cluster {
    dp_cluster_cfg_t c;
    dp_locality_t loc[2];
    dp_endpoint_t ep[3];
} fake_cluster_t;

static void fake_init(fake_cluster_t *f, const char *name)
{
    memset(f, 0, sizeof(*f));
    f->c.name = (char *)name;
    f->loc[0] = (dp_locality_t){(char *)"eu", (char *)"a", (char *)""};
    f->loc[1] = (dp_locality_t){(char *)"us", (char *)"", (char *)""};
    f->c.localities = f->loc;
    f->c.n_localities = 2;
    f->ep[0].locality = 0;
    f->ep[1].locality = 1;
    f->ep[1].priority = 1;
    f->ep[2].locality = 7; /* out of range: the empty locality */
    f->c.endpoints = f->ep;
    f->c.n_endpoints = 3;
}

static const dp_load_stats_row_t *row(dp_load_stats_row_t *v, size_t n, const char *region)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].region, region) == 0)
            return &v[i];
    return NULL;
}

static void test_counting(void)
{
    fake_cluster_t f;
    fake_init(&f, "count");
    dp_cluster_cfg_t *c = &f.c;

    /* eu/a: 200, 404, 503, reset, timeout, cancelled, one in flight */
    for (int i = 0; i < 7; i++)
        dp_load_stats_issued(c, &f.ep[0]);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESPONSE, 200);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESPONSE, 404);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESPONSE, 503);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESET, 0);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_TIMEOUT, 0);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_CANCELLED, 0);
    /* us: two connect failures (never issued) */
    dp_load_stats_done(c, &f.ep[1], DP_UPOUT_CONNECT_FAIL, 0);
    dp_load_stats_done(c, &f.ep[1], DP_UPOUT_CONNECT_FAIL, 0);
    /* no locality: one 101 (an upgrade is a success) */
    dp_load_stats_issued(c, &f.ep[2]);
    dp_load_stats_done(c, &f.ep[2], DP_UPOUT_RESPONSE, 101);

    dp_load_stats_row_t *v = NULL;
    size_t n = dp_load_stats_latch("count", &v);
    CHECK_INT(n, 3);
    /* sorted by priority, region: "" (p0), eu (p0), us (p1) */
    CHECK_STR(v[0].region, "");
    CHECK_STR(v[1].region, "eu");
    CHECK_STR(v[2].region, "us");
    const dp_load_stats_row_t *eu = row(v, n, "eu"), *us = row(v, n, "us"), *none = row(v, n, "");
    CHECK_STR(eu->zone, "a");
    CHECK_INT(eu->priority, 0);
    CHECK_INT(eu->issued, 7);
    CHECK_INT(eu->success, 2);
    CHECK_INT(eu->error, 3);
    CHECK_INT(eu->in_progress, 1);
    CHECK_INT(us->priority, 1);
    CHECK_INT(us->issued, 0);
    CHECK_INT(us->error, 2);
    CHECK_INT(us->in_progress, 0);
    CHECK_INT(none->success, 1);
    CHECK_INT(none->issued, 1);
    free(v);

    /* deltas: the next latch has nothing but the request still in flight */
    n = dp_load_stats_latch("count", &v);
    CHECK_INT(n, 3);
    eu = row(v, n, "eu");
    CHECK_INT(eu->issued + eu->success + eu->error, 0);
    CHECK_INT(eu->in_progress, 1);
    free(v);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESPONSE, 500);
    n = dp_load_stats_latch("count", &v);
    eu = row(v, n, "eu");
    CHECK_INT(eu->error, 1);
    CHECK_INT(eu->in_progress, 0);
    free(v);

    /* a swapped config (new cfg and endpoint copies, same names) counts
     * into the same entries */
    fake_cluster_t g;
    fake_init(&g, "count");
    dp_load_stats_issued(&g.c, &g.ep[0]);
    dp_load_stats_done(&g.c, &g.ep[0], DP_UPOUT_RESPONSE, 204);
    n = dp_load_stats_latch("count", &v);
    CHECK_INT(n, 3);
    CHECK_INT(row(v, n, "eu")->success, 1);
    free(v);

    /* reset drops the counts but not in progress */
    dp_load_stats_issued(c, &f.ep[0]);
    dp_load_stats_issued(c, &f.ep[0]);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_RESPONSE, 200);
    dp_load_stats_reset("count");
    n = dp_load_stats_latch("count", &v);
    eu = row(v, n, "eu");
    CHECK_INT(eu->success + eu->issued, 0);
    CHECK_INT(eu->in_progress, 1);
    free(v);
    dp_load_stats_done(c, &f.ep[0], DP_UPOUT_CANCELLED, 0);

    CHECK_INT(dp_load_stats_latch("never-seen", &v), 0);
    CHECK(v == NULL);
}

/* ---- many workers, many keys: the lock-free table grows under them ---- */

#define THREADS 4
#define PER_THREAD 20000
#define KEYS 700 /* past the first table sizes: grows while probed */

static fake_cluster_t mt[KEYS];
static char mt_names[KEYS][16];

static void *hammer(void *arg)
{
    size_t t = (size_t)arg;
    for (size_t i = 0; i < PER_THREAD; i++) {
        fake_cluster_t *f = &mt[(i + t * 131) % KEYS];
        dp_load_stats_issued(&f->c, &f->ep[0]);
        dp_load_stats_done(&f->c, &f->ep[0], (i % 3) ? DP_UPOUT_RESPONSE : DP_UPOUT_RESET, 200);
    }
    return NULL;
}

static void test_concurrent(void)
{
    for (size_t i = 0; i < KEYS; i++) {
        snprintf(mt_names[i], sizeof(mt_names[i]), "mt%zu", i);
        fake_init(&mt[i], mt_names[i]);
    }
    pthread_t th[THREADS];
    for (size_t t = 0; t < THREADS; t++)
        pthread_create(&th[t], NULL, hammer, (void *)t);
    for (size_t t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    uint64_t issued = 0, success = 0, error = 0, active = 0;
    size_t rows = 0;
    for (size_t i = 0; i < KEYS; i++) {
        dp_load_stats_row_t *v = NULL;
        size_t n = dp_load_stats_latch(mt_names[i], &v);
        rows += n;
        for (size_t k = 0; k < n; k++) {
            issued += v[k].issued;
            success += v[k].success;
            error += v[k].error;
            active += v[k].in_progress;
        }
        free(v);
    }
    CHECK_INT(rows, KEYS); /* one entry per key: no duplicates from racing inserts */
    CHECK_INT(issued, THREADS * PER_THREAD);
    CHECK_INT(success + error, THREADS * PER_THREAD);
    CHECK_INT(error, THREADS * ((PER_THREAD + 2) / 3));
    CHECK_INT(active, 0);
}

/* ---- the protocol ------------------------------------------------------- */

static req_t *decode(uint8_t *msg, size_t len)
{
    req_t *r = envoy__service__load_stats__v3__load_stats_request__unpack(NULL, len, msg);
    free(msg);
    CHECK(r != NULL);
    return r;
}

static const cstats_t *find_cs(const req_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_cluster_stats; i++)
        if (strcmp(r->cluster_stats[i]->cluster_name, name) == 0)
            return r->cluster_stats[i];
    return NULL;
}

static uint8_t *response(const char *const *clusters, size_t n, bool all, int64_t ms, size_t *len)
{
    Envoy__Service__LoadStats__V3__LoadStatsResponse r = ENVOY__SERVICE__LOAD_STATS__V3__LOAD_STATS_RESPONSE__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = ms / 1000;
    d.nanos = (int32_t)(ms % 1000) * 1000000;
    r.clusters = (char **)clusters;
    r.n_clusters = n;
    r.send_all_clusters = all;
    r.load_reporting_interval = &d;
    r.report_endpoint_granularity = true; /* accepted, ignored (as Envoy) */
    *len = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = malloc(*len + 1);
    protobuf_c_message_pack(&r.base, buf);
    return buf;
}

static uint64_t dur_us(const Google__Protobuf__Duration *d)
{
    return d ? (uint64_t)d->seconds * 1000000 + (uint64_t)d->nanos / 1000 : 0;
}

static void test_protocol(void)
{
    dp_bootstrap_t boot;
    memset(&boot, 0, sizeof(boot));
    boot.node_id = (char *)"node-7";
    boot.node_cluster = (char *)"edge";
    dp_lrs_t *l = dp_lrs_new(&boot);
    fake_cluster_t web, api;
    fake_init(&web, "p-web");
    fake_init(&api, "p-api");
    const dp_lrs_cluster_t known[] = {{"p-api", NULL}, {"p-web", "web-eds"}};
    char err[256];
    uint8_t *msg;
    size_t len;

    /* first message: Node with the send_all feature, no stats, no schedule */
    dp_lrs_stream_start(l, &msg, &len);
    req_t *r = decode(msg, len);
    CHECK_STR(r->node->id, "node-7");
    CHECK_STR(r->node->cluster, "edge");
    bool feat = false;
    for (size_t i = 0; i < r->node->n_client_features; i++)
        feat |= strcmp(r->node->client_features[i], "envoy.lrs.supports_send_all_clusters") == 0;
    CHECK(feat);
    CHECK_INT(r->n_cluster_stats, 0);
    envoy__service__load_stats__v3__load_stats_request__free_unpacked(r, NULL);
    CHECK(dp_lrs_next_report_us(l) == UINT64_MAX);

    /* traffic before the server asks is not billed to the first period */
    dp_load_stats_issued(&web.c, &web.ep[0]);
    dp_load_stats_done(&web.c, &web.ep[0], DP_UPOUT_RESPONSE, 200);

    const char *want[] = {"p-web", "p-gone"};
    uint8_t *resp = response(want, 2, false, 2000, &len);
    CHECK_INT(dp_lrs_on_response(l, resp, len, known, 2, 1000000, err, sizeof(err)), 0);
    free(resp);
    CHECK_INT(dp_lrs_next_report_us(l), 3000000);

    for (int i = 0; i < 3; i++)
        dp_load_stats_issued(&web.c, &web.ep[0]);
    dp_load_stats_done(&web.c, &web.ep[0], DP_UPOUT_RESPONSE, 200);
    dp_load_stats_done(&web.c, &web.ep[0], DP_UPOUT_RESPONSE, 502);
    dp_load_stats_issued(&api.c, &api.ep[0]); /* not asked for */
    dp_load_stats_done(&api.c, &api.ep[0], DP_UPOUT_RESPONSE, 200);

    dp_lrs_report(l, known, 2, 3000500, &msg, &len);
    r = decode(msg, len);
    CHECK_STR(r->node->id, "node-7"); /* Envoy sends the Node every time */
    CHECK_INT(r->n_cluster_stats, 1); /* p-gone does not exist, p-api not asked for */
    const cstats_t *cs = find_cs(r, "p-web");
    CHECK(cs != NULL);
    if (cs) {
        CHECK_STR(cs->cluster_service_name, "web-eds");
        CHECK_INT(dur_us(cs->load_report_interval), 2000500);
        CHECK_INT(cs->total_dropped_requests, 0);
        CHECK_INT(cs->n_upstream_locality_stats, 1);
        const lstats_t *ls = cs->upstream_locality_stats[0];
        CHECK_STR(ls->locality->region, "eu");
        CHECK_STR(ls->locality->zone, "a");
        CHECK_INT(ls->total_issued_requests, 3);
        CHECK_INT(ls->total_successful_requests, 1);
        CHECK_INT(ls->total_error_requests, 1);
        CHECK_INT(ls->total_requests_in_progress, 1);
        CHECK_INT(ls->priority, 0);
    }
    envoy__service__load_stats__v3__load_stats_request__free_unpacked(r, NULL);
    CHECK_INT(dp_lrs_next_report_us(l), 5000500);

    /* next period: only the in-flight request, as a gauge */
    dp_lrs_report(l, known, 2, 5000500, &msg, &len);
    r = decode(msg, len);
    cs = find_cs(r, "p-web");
    CHECK(cs && cs->n_upstream_locality_stats == 1);
    if (cs && cs->n_upstream_locality_stats == 1) {
        CHECK_INT(cs->upstream_locality_stats[0]->total_issued_requests, 0);
        CHECK_INT(cs->upstream_locality_stats[0]->total_requests_in_progress, 1);
        CHECK_INT(dur_us(cs->load_report_interval), 2000000);
    }
    envoy__service__load_stats__v3__load_stats_request__free_unpacked(r, NULL);
    dp_load_stats_done(&web.c, &web.ep[0], DP_UPOUT_RESPONSE, 200);

    /* a new response with send_all_clusters: p-web keeps its period and
     * its count; p-api starts now with its earlier traffic dropped */
    resp = response(NULL, 0, true, 1000, &len);
    CHECK_INT(dp_lrs_on_response(l, resp, len, known, 2, 6000500, err, sizeof(err)), 0);
    free(resp);
    CHECK_INT(dp_lrs_next_report_us(l), 7000500);
    dp_load_stats_issued(&api.c, &api.ep[1]);
    dp_lrs_report(l, known, 2, 7000500, &msg, &len);
    r = decode(msg, len);
    CHECK_INT(r->n_cluster_stats, 2);
    cs = find_cs(r, "p-web");
    CHECK(cs && dur_us(cs->load_report_interval) == 2000000);
    CHECK(cs && cs->n_upstream_locality_stats == 1 &&
          cs->upstream_locality_stats[0]->total_successful_requests == 1);
    cs = find_cs(r, "p-api");
    CHECK(cs && dur_us(cs->load_report_interval) == 1000000);
    CHECK(cs && cs->cluster_service_name[0] == '\0');
    CHECK(cs && cs->n_upstream_locality_stats == 1);
    if (cs && cs->n_upstream_locality_stats == 1) {
        const lstats_t *ls = cs->upstream_locality_stats[0];
        CHECK_STR(ls->locality->region, "us");
        CHECK_INT(ls->priority, 1);
        CHECK_INT(ls->total_issued_requests, 1);
        CHECK_INT(ls->total_successful_requests, 0);
    }
    envoy__service__load_stats__v3__load_stats_request__free_unpacked(r, NULL);
    dp_load_stats_done(&api.c, &api.ep[1], DP_UPOUT_CANCELLED, 0);

    /* a new stream forgets the schedule until the server speaks again */
    dp_lrs_stream_start(l, &msg, &len);
    free(msg);
    CHECK(dp_lrs_next_report_us(l) == UINT64_MAX);

    /* a zero interval is raised to the minimum; garbage is refused */
    resp = response(NULL, 0, true, 0, &len);
    CHECK_INT(dp_lrs_on_response(l, resp, len, known, 2, 10000000, err, sizeof(err)), 0);
    free(resp);
    CHECK_INT(dp_lrs_next_report_us(l), 10000000 + DP_LRS_MIN_INTERVAL_MS * 1000);
    const uint8_t junk[] = {0x0a, 0xff};
    CHECK(dp_lrs_on_response(l, junk, sizeof(junk), known, 2, 0, err, sizeof(err)) == DP_EINVAL);
    /* a field LoadStatsResponse does not have (99, varint) */
    const uint8_t unknown[] = {0x98, 0x06, 0x01};
    CHECK(dp_lrs_on_response(l, unknown, sizeof(unknown), known, 2, 0, err, sizeof(err)) == DP_EINVAL);
    CHECK(strstr(err, "field 99") != NULL);
    dp_lrs_free(l);
}

int main(void)
{
    test_counting();
    test_concurrent();
    test_protocol();
    TEST_DONE();
}
