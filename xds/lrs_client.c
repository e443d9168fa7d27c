/* The LRS transport: one StreamLoadStats call (xds/grpc_stream.h: its own
 * thread and completion queue) to the bootstrap's
 * cluster_manager.load_stats_config, driving the protocol state of xds/lrs.h. Reports are
 * sent when due (the schedule of the server's latest response); a broken
 * stream is opened again after a jittered exponential backoff (500 ms
 * base, 30 s cap, reset after a response). Workers never wait on it: they
 * only bump the atomics of dataplane/upstream/load_stats.c. */
#include "xds/lrs_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/config.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "xds/ads_client.h"
#include "xds/grpc_stream.h"
#include "xds/lrs.h"

#define LRS_METHOD "/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats"

static struct {
    dp_grpc_stream_t *stream; /* NULL: not running */
    dp_lrs_t *lrs;
} L;

/* The clusters of the snapshot in force, sorted by name (as the snapshot
 * keeps them). The snapshot reference keeps the names alive. */
static dp_lrs_cluster_t *known_clusters(dp_snapshot_t **snap, size_t *n)
{
    *snap = dp_config_current();
    *n = 0;
    if (*snap == NULL)
        return NULL;
    dp_lrs_cluster_t *k = dp_xcalloc((*snap)->n_clusters + 1, sizeof(*k));
    for (size_t i = 0; i < (*snap)->n_clusters; i++) {
        const dp_cluster_cfg_t *c = (*snap)->clusters[i];
        if (*n > 0 && strcmp(k[*n - 1].name, c->name) == 0)
            continue;
        k[*n].name = c->name;
        k[*n].service_name = c->eds_service_name;
        (*n)++;
    }
    return k;
}

/* --- stream callbacks (the stream thread) ------------------------------- */

static void send_owned(uint8_t *msg, size_t len)
{
    dp_grpc_stream_send(L.stream, msg, len);
    free(msg);
}

static void on_open(void *ctx)
{
    (void)ctx;
    uint8_t *first;
    size_t len;
    dp_lrs_stream_start(L.lrs, &first, &len);
    send_owned(first, len);
}

static int on_message(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    dp_snapshot_t *snap;
    size_t nk;
    dp_lrs_cluster_t *k = known_clusters(&snap, &nk);
    char err[256];
    int rc = dp_lrs_on_response(L.lrs, p, n, k, nk, dp_now_ns() / 1000, err, sizeof(err));
    if (rc != 0)
        DP_WARN("lrs: %s; restarting the stream", err);
    free(k);
    dp_snapshot_unref(snap);
    return rc != 0 ? DP_EINVAL : 0;
}

/* The next report, in ms rounded up: the schedule is in microseconds. */
static uint64_t next_timer_ms(void *ctx)
{
    (void)ctx;
    uint64_t due = dp_lrs_next_report_us(L.lrs);
    if (!dp_grpc_stream_is_open(L.stream) || due == UINT64_MAX)
        return UINT64_MAX;
    return (due + 999) / 1000;
}

static void on_timer(void *ctx)
{
    (void)ctx;
    uint64_t now = dp_now_ns() / 1000;
    if (!dp_grpc_stream_is_open(L.stream) || now < dp_lrs_next_report_us(L.lrs))
        return;
    dp_snapshot_t *snap;
    size_t n, len;
    uint8_t *msg;
    dp_lrs_cluster_t *k = known_clusters(&snap, &n);
    dp_lrs_report(L.lrs, k, n, now, &msg, &len);
    free(k);
    dp_snapshot_unref(snap);
    send_owned(msg, len);
}

int dp_lrs_client_start(const dp_bootstrap_t *boot, char *errbuf, size_t errlen)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap *m = (const Envoy__Config__Bootstrap__V3__Bootstrap *)boot->msg;
    const Envoy__Config__Core__V3__ApiConfigSource *a =
        m && m->cluster_manager ? m->cluster_manager->load_stats_config : NULL;
    if (a == NULL) {
        snprintf(errbuf, errlen, "no cluster_manager.load_stats_config");
        return DP_EINVAL;
    }
    if (L.stream) {
        snprintf(errbuf, errlen, "cluster_manager.load_stats_config: the LRS client runs already");
        return DP_EINVAL;
    }
    char *target = dp_grpc_source_target(boot, a, "cluster_manager.load_stats_config", errbuf, errlen);
    if (target == NULL)
        return DP_EINVAL;
    L.lrs = dp_lrs_new(boot);
    dp_grpc_stream_cfg_t cfg = {
        .name = "lrs",
        .target = target,
        .method = LRS_METHOD,
        .source = a,
        .cbs = {.on_open = on_open, .on_message = on_message, .next_timer_ms = next_timer_ms, .on_timer = on_timer},
    };
    int rc = dp_grpc_stream_start(&cfg, &L.stream, errbuf, errlen);
    if (rc != 0) {
        dp_lrs_free(L.lrs);
        L.lrs = NULL;
    } else {
        DP_INFO("lrs: load reports to %s", target);
    }
    free(target);
    return rc;
}

void dp_lrs_client_stop(void)
{
    if (L.stream == NULL)
        return;
    dp_grpc_stream_stop(L.stream);
    L.stream = NULL;
    dp_lrs_free(L.lrs);
    L.lrs = NULL;
}
