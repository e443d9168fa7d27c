/* HDS client: one StreamHealthCheck stream (xds/grpc_stream.h: its own
 * thread and completion queue) to the bootstrap's hds_config. The first message is the
 * HealthCheckRequest (node, capability HTTP + TCP); each
 * HealthCheckSpecifier replaces the set of endpoints the health service
 * checks (dataplane/upstream/health.h, apart from the configured
 * clusters); every specifier `interval` an EndpointHealthResponse reports
 * them. A broken stream is reopened with jittered exponential backoff
 * (500 ms to 30 s, reset after a specifier); the checks go on meanwhile. */
#include "xds/hds_client.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "xds/ads_client.h"
#include "xds/grpc_stream.h"
#include "xds/hds.h"

#define METHOD "/envoy.service.health.v3.HealthDiscoveryService/StreamHealthCheck"

static struct {
    const dp_bootstrap_t *boot;
    dp_grpc_stream_t *stream; /* NULL: not running */
    dp_hds_set_t *set;        /* the last specifier's */
    uint64_t next_report_ms;
} C;

/* --- stream callbacks (the stream thread) ------------------------------- */

static void on_open(void *ctx)
{
    (void)ctx;
    size_t n;
    uint8_t *p = dp_hds_request(C.boot, &n);
    dp_grpc_stream_send(C.stream, p, n);
    free(p);
}

static int on_message(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    char err[512];
    dp_hds_set_t *set = dp_hds_specifier(p, n, err, sizeof(err));
    if (set == NULL) {
        DP_WARN("hds: %s; restarting the stream", err);
        return DP_EINVAL;
    }
    if (err[0])
        DP_WARN("hds: %s", err);
    DP_INFO("hds: checking %zu clusters, reporting every %llu ms", set->n_clusters,
            (unsigned long long)set->interval_ms);
    dp_health_set_hds(set);
    dp_hds_set_unref(C.set);
    C.set = set;
    C.next_report_ms = dp_now_ms() + set->interval_ms;
    return 0;
}

static uint64_t next_timer_ms(void *ctx)
{
    (void)ctx;
    return C.set && dp_grpc_stream_is_open(C.stream) ? C.next_report_ms : UINT64_MAX;
}

/* A report every interval; when one is still being sent, only the newest
 * waits behind it. */
static void on_timer(void *ctx)
{
    (void)ctx;
    if (C.set == NULL || !dp_grpc_stream_is_open(C.stream) || dp_now_ms() < C.next_report_ms)
        return;
    size_t n;
    uint8_t *p = dp_hds_report(C.set, &n);
    dp_grpc_stream_send_latest(C.stream, p, n);
    free(p);
    C.next_report_ms = dp_now_ms() + C.set->interval_ms;
}

int dp_hds_client_start(const dp_bootstrap_t *boot, char *errbuf, size_t errlen)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap *m = (const Envoy__Config__Bootstrap__V3__Bootstrap *)boot->msg;
    const Envoy__Config__Core__V3__ApiConfigSource *a = m ? m->hds_config : NULL;
    if (a == NULL) {
        snprintf(errbuf, errlen, "no hds_config");
        return DP_EINVAL;
    }
    char *target = dp_grpc_source_target(boot, a, "hds_config", errbuf, errlen);
    if (target == NULL)
        return DP_EINVAL;
    if (dp_health_start() != 0) {
        snprintf(errbuf, errlen, "hds_config: cannot start the health-check thread");
        free(target);
        return DP_ERR;
    }
    C.boot = boot;
    dp_grpc_stream_cfg_t cfg = {
        .name = "hds",
        .target = target,
        .method = METHOD,
        .source = a,
        .cbs = {.on_open = on_open, .on_message = on_message, .next_timer_ms = next_timer_ms, .on_timer = on_timer},
    };
    int rc = dp_grpc_stream_start(&cfg, &C.stream, errbuf, errlen);
    if (rc == 0)
        DP_INFO("hds: health discovery from %s", target);
    free(target);
    return rc;
}

void dp_hds_client_stop(void)
{
    if (C.stream == NULL)
        return;
    dp_grpc_stream_stop(C.stream);
    C.stream = NULL;
    dp_health_set_hds(NULL);
    dp_hds_set_unref(C.set);
    C.set = NULL;
}
