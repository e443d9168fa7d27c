/* The ADS client: the protocol state of xds/ads.h on one
 * StreamAggregatedResources (or DeltaAggregatedResources) call of
 * xds/grpc_stream.h, plus the --xds-record recorder, the SIGHUP hand-off of
 * a new static base and the lock CSDS reads the state under. */
#include "xds/ads_client.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/config.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "xds/ads.h"
#include "xds/csds.h"
#include "xds/grpc_stream.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

#define SOTW_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define DELTA_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

static struct {
    const dp_bootstrap_t *boot;
    bool delta;
    dp_grpc_stream_t *stream; /* NULL: not running */
    dp_ads_t *ads;
    /* recorder */
    FILE *record;
    uint64_t record_t0;
    /* SIGHUP hand-off from the main thread */
    pthread_mutex_t mu;
    dp_snapshot_t *pending_static;
    size_t max_recv;
    bool trim_due; /* a large response was processed: malloc_trim */
    /* Held by the client thread while it changes the ADS state, and by
     * CSDS (dp_ads_client_status) while it copies it. */
    pthread_mutex_t state_mu;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER, .state_mu = PTHREAD_MUTEX_INITIALIZER};

/* --- recorder (--xds-record) ---------------------------------------------- */

static void record(const char *dir, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    if (C.record == NULL)
        return;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, p);
    char *json = m ? dp_pbjson_print(m, dp_typereg_lookup, 0) : NULL;
    fprintf(C.record, "{\"t\": %llu, \"stream\": %u, \"dir\": \"%s\", \"type\": \"%s\", \"msg\": %s}\n",
            (unsigned long long)(dp_now_ms() - C.record_t0), dp_grpc_stream_number(C.stream), dir, d->name,
            json ? json : "null");
    fflush(C.record);
    free(json);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* --- the ADS state's environment ------------------------------------------- */

static void env_send(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    if (C.stream == NULL || !dp_grpc_stream_is_open(C.stream))
        return;
    record("send",
           C.delta ? &envoy__service__discovery__v3__delta_discovery_request__descriptor
                   : &envoy__service__discovery__v3__discovery_request__descriptor,
           msg, len);
    dp_grpc_stream_send(C.stream, msg, len);
}

static int env_commit(void *ctx, dp_snapshot_t *snap, const char **failed, char *errbuf, size_t errlen)
{
    (void)ctx;
    return dp_config_commit(snap, failed, errbuf, errlen);
}

static uint64_t env_now(void *ctx)
{
    (void)ctx;
    return dp_now_ms();
}

static const dp_ads_env_t env = {.send = env_send, .commit = env_commit, .now_ms = env_now};

/* --- stream callbacks (the stream thread) ------------------------------------ */

static void on_open(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&C.state_mu);
    dp_ads_stream_start(C.ads);
    pthread_mutex_unlock(&C.state_mu);
}

static int on_message(void *ctx, const uint8_t *p, size_t n)
{
    (void)ctx;
    record("recv",
           C.delta ? &envoy__service__discovery__v3__delta_discovery_response__descriptor
                   : &envoy__service__discovery__v3__discovery_response__descriptor,
           p, n);
    uint64_t t0 = dp_now_ns();
    pthread_mutex_lock(&C.state_mu);
    int rc = dp_ads_on_response(C.ads, p, n);
    pthread_mutex_unlock(&C.state_mu);
    /* the data plane's own cost of a response: decode, validate, translate, commit */
    DP_INFO("ads: response of %zu bytes processed in %.1f ms", n, (double)(dp_now_ns() - t0) / 1e6);
    if (rc != 0)
        DP_WARN("ads: undecodable response from the management server; restarting the stream");
    /* Decoding a large response (100k catalogue resources: tens of MB
     * of small allocations) leaves the heap fragmented; the free pages are
     * handed back (on_timer, due at once) once the stream has released
     * the received bytes, so the resident size is what the configuration
     * holds. */
    if (n >= (1u << 20))
        C.trim_due = true;
    return rc != 0 ? DP_EINVAL : 0;
}

static void on_close(void *ctx, grpc_status_code status, const char *details)
{
    (void)ctx;
    (void)status;
    (void)details;
    pthread_mutex_lock(&C.state_mu);
    dp_ads_stream_closed(C.ads);
    pthread_mutex_unlock(&C.state_mu);
}

/* The protocol's next deadline; now while a SIGHUP static base waits (it is
 * noticed within the stream's 100 ms poll) or a trim is due. */
static uint64_t next_timer_ms(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&C.mu);
    bool pending = C.pending_static != NULL;
    pthread_mutex_unlock(&C.mu);
    return pending || C.trim_due ? 0 : dp_ads_next_deadline(C.ads);
}

static void on_timer(void *ctx)
{
    (void)ctx;
    if (C.trim_due) {
        C.trim_due = false;
        malloc_trim(0);
    }
    if (dp_now_ms() >= dp_ads_next_deadline(C.ads)) {
        pthread_mutex_lock(&C.state_mu);
        dp_ads_on_tick(C.ads);
        pthread_mutex_unlock(&C.state_mu);
    }
    pthread_mutex_lock(&C.mu);
    dp_snapshot_t *st = C.pending_static;
    C.pending_static = NULL;
    pthread_mutex_unlock(&C.mu);
    if (st) {
        char err[512];
        pthread_mutex_lock(&C.state_mu);
        int rc = dp_ads_set_static(C.ads, st, err, sizeof(err));
        pthread_mutex_unlock(&C.state_mu);
        if (rc != 0)
            DP_ERROR("reload rejected, keeping the running configuration: %s", err);
        else
            DP_INFO("reload applied (static resources, with the dynamic ones kept)");
        dp_snapshot_unref(st);
    }
}

/* --- set-up -------------------------------------------------------------------- */

static const Envoy__Config__Core__V3__ApiConfigSource *ads_config(const dp_bootstrap_t *b)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap *m = (const Envoy__Config__Bootstrap__V3__Bootstrap *)b->msg;
    if (m == NULL || m->dynamic_resources == NULL)
        return NULL;
    return m->dynamic_resources->ads_config;
}

char *dp_grpc_source_target(const dp_bootstrap_t *b, const Envoy__Config__Core__V3__ApiConfigSource *a,
                            const char *field, char *errbuf, size_t errlen)
{
    if (a == NULL || a->n_grpc_services == 0) {
        snprintf(errbuf, errlen, "%s: no grpc_services", field);
        return NULL;
    }
    const Envoy__Config__Core__V3__GrpcService *g = a->grpc_services[0];
    if (g->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_GOOGLE_GRPC)
        return dp_xstrdup(g->google_grpc->target_uri);
    if (g->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_ENVOY_GRPC) {
        const char *name = g->envoy_grpc->cluster_name;
        const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(b->snap, name, strlen(name));
        if (c == NULL || c->n_endpoints == 0) {
            snprintf(errbuf, errlen, "%s.grpc_services[0].envoy_grpc.cluster_name: static cluster '%s' with an endpoint required",
                     field, name);
            return NULL;
        }
        return dp_xstrdup(c->endpoints[0].addr_str);
    }
    snprintf(errbuf, errlen, "%s.grpc_services[0]: no target", field);
    return NULL;
}

char *dp_ads_client_target(const dp_bootstrap_t *b, char *errbuf, size_t errlen)
{
    return dp_grpc_source_target(b, ads_config(b), "dynamic_resources.ads_config", errbuf, errlen);
}

static char *read_datasource(const Envoy__Config__Core__V3__DataSource *d)
{
    if (d == NULL)
        return NULL;
    switch (d->specifier_case) {
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_STRING:
        return dp_xstrdup(d->inline_string);
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_INLINE_BYTES:
        return dp_xstrndup((const char *)d->inline_bytes.data, d->inline_bytes.len);
    case ENVOY__CONFIG__CORE__V3__DATA_SOURCE__SPECIFIER_FILENAME: {
        FILE *f = fopen(d->filename, "rb");
        if (f == NULL)
            return NULL;
        char *buf = NULL;
        size_t len = 0, cap = 0, n;
        char tmp[4096];
        while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0) {
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                buf = dp_xrealloc(buf, cap);
            }
            memcpy(buf + len, tmp, n);
            len += n;
        }
        fclose(f);
        if (buf)
            buf[len] = '\0';
        return buf;
    }
    default:
        return NULL;
    }
}

grpc_channel_credentials *dp_grpc_source_creds(const Envoy__Config__Core__V3__ApiConfigSource *a)
{
    const Envoy__Config__Core__V3__GrpcService *g = a->grpc_services[0];
    if (g->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_GOOGLE_GRPC &&
        g->google_grpc->channel_credentials &&
        g->google_grpc->channel_credentials->credential_specifier_case ==
            ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__GOOGLE_GRPC__CHANNEL_CREDENTIALS__CREDENTIAL_SPECIFIER_SSL_CREDENTIALS) {
        const Envoy__Config__Core__V3__GrpcService__GoogleGrpc__SslCredentials *s =
            g->google_grpc->channel_credentials->ssl_credentials;
        char *roots = read_datasource(s->root_certs);
        char *key = read_datasource(s->private_key), *cert = read_datasource(s->cert_chain);
        grpc_ssl_pem_key_cert_pair pair = {key, cert};
        grpc_channel_credentials *c = grpc_ssl_credentials_create(roots, key && cert ? &pair : NULL, NULL, NULL);
        free(roots);
        free(key);
        free(cert);
        return c;
    }
    return grpc_insecure_credentials_create();
}

/* After the stream (or its start) is over: the state CSDS reads and the
 * recorder. */
static void release_state(void)
{
    pthread_mutex_lock(&C.state_mu);
    dp_ads_free(C.ads);
    C.ads = NULL;
    pthread_mutex_unlock(&C.state_mu);
    if (C.record)
        fclose(C.record);
    C.record = NULL;
}

int dp_ads_client_start(const dp_bootstrap_t *boot, const dp_ads_client_opts_t *opts, char *errbuf, size_t errlen)
{
    const Envoy__Config__Core__V3__ApiConfigSource *a = ads_config(boot);
    if (a == NULL) {
        snprintf(errbuf, errlen, "no dynamic_resources.ads_config");
        return DP_EINVAL;
    }
    C.boot = boot;
    C.delta = a->api_type == ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__DELTA_GRPC;
    char *target = dp_ads_client_target(boot, errbuf, errlen);
    if (target == NULL)
        return DP_EINVAL;
    C.max_recv = opts && opts->max_recv_bytes ? opts->max_recv_bytes : 64u << 20;
    /* envoy_grpc.max_receive_message_length, as Envoy: 0 means unlimited */
    const Envoy__Config__Core__V3__GrpcService *gs = a->grpc_services[0];
    if (gs->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_ENVOY_GRPC &&
        gs->envoy_grpc->max_receive_message_length)
        C.max_recv = gs->envoy_grpc->max_receive_message_length->value ? gs->envoy_grpc->max_receive_message_length->value
                                                                        : (size_t)-1;
    if (opts && opts->record_path) {
        C.record = fopen(opts->record_path, "w");
        if (C.record == NULL) {
            snprintf(errbuf, errlen, "--xds-record %s: cannot open for writing", opts->record_path);
            free(target);
            return DP_EINVAL;
        }
        C.record_t0 = dp_now_ms();
    }
    grpc_arg args[4];
    memset(args, 0, sizeof(args));
    args[0].type = GRPC_ARG_INTEGER;
    args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
    args[0].value.integer = C.max_recv > INT_MAX ? -1 : (int)C.max_recv; /* -1: unlimited */
    /* keepalive that grpc-go servers accept: their default enforcement
     * minimum is 5 minutes, and no pings without an active stream */
    args[1].type = GRPC_ARG_INTEGER;
    args[1].key = GRPC_ARG_KEEPALIVE_TIME_MS;
    args[1].value.integer = 300000;
    args[2].type = GRPC_ARG_INTEGER;
    args[2].key = GRPC_ARG_KEEPALIVE_TIMEOUT_MS;
    args[2].value.integer = 20000;
    args[3].type = GRPC_ARG_INTEGER;
    args[3].key = GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS;
    args[3].value.integer = 0;
    dp_ads_t *ads = dp_ads_new(boot, C.delta, &env);
    pthread_mutex_lock(&C.state_mu);
    C.ads = ads;
    pthread_mutex_unlock(&C.state_mu);
    dp_grpc_stream_cfg_t cfg = {
        .name = "ads",
        .target = target,
        .method = C.delta ? DELTA_METHOD : SOTW_METHOD,
        .source = a,
        .args = args,
        .n_args = 4,
        .cbs = {.on_open = on_open,
                .on_message = on_message,
                .next_timer_ms = next_timer_ms,
                .on_timer = on_timer,
                .on_close = on_close},
    };
    int rc = dp_grpc_stream_start(&cfg, &C.stream, errbuf, errlen);
    if (rc != 0)
        release_state();
    else
        DP_INFO("ads: %s to %s", C.delta ? "delta xDS" : "state-of-the-world xDS", target);
    free(target);
    return rc;
}

void dp_ads_client_set_static(dp_snapshot_t *static_snap)
{
    pthread_mutex_lock(&C.mu);
    dp_snapshot_unref(C.pending_static);
    C.pending_static = dp_snapshot_ref(static_snap);
    pthread_mutex_unlock(&C.mu);
}

void dp_ads_client_stop(void)
{
    if (C.stream == NULL)
        return;
    dp_grpc_stream_stop(C.stream);
    C.stream = NULL;
    release_state();
    pthread_mutex_lock(&C.mu);
    dp_snapshot_unref(C.pending_static);
    C.pending_static = NULL;
    pthread_mutex_unlock(&C.mu);
}

int dp_ads_client_status(bool contents, dp_csds_status_t *out)
{
    int rc = DP_EAGAIN;
    pthread_mutex_lock(&C.state_mu);
    if (C.ads) {
        dp_ads_status_collect(C.ads, contents, out);
        rc = 0;
    }
    pthread_mutex_unlock(&C.state_mu);
    return rc;
}
