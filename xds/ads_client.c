#include "xds/ads_client.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/config.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "xds/ads.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 30000
#define SOTW_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define DELTA_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

enum { TAG_INIT = 1, TAG_RECV, TAG_SEND, TAG_STATUS };

typedef struct out_msg {
    struct out_msg *next;
    grpc_byte_buffer *bb;
} out_msg_t;

static struct {
    const dp_bootstrap_t *boot;
    bool delta;
    char *target;
    pthread_t thread;
    atomic_bool stop;
    grpc_completion_queue *cq;
    grpc_channel *channel;
    grpc_call *call; /* current stream, or NULL */
    dp_ads_t *ads;
    /* per stream */
    int outstanding; /* batches in flight */
    bool send_busy, stream_open;
    out_msg_t *out_head, *out_tail;
    grpc_byte_buffer *recv_bb;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code status;
    grpc_slice status_details;
    unsigned stream_no;
    /* recorder */
    FILE *record;
    uint64_t record_t0;
    /* SIGHUP hand-off from the main thread */
    pthread_mutex_t mu;
    dp_snapshot_t *pending_static;
    size_t max_recv;
} C = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* --- recorder (--xds-record) ---------------------------------------------- */

static void record(const char *dir, const ProtobufCMessageDescriptor *d, const uint8_t *p, size_t n)
{
    if (C.record == NULL)
        return;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, n, p);
    char *json = m ? dp_pbjson_print(m, dp_typereg_lookup, 0) : NULL;
    fprintf(C.record, "{\"t\": %llu, \"stream\": %u, \"dir\": \"%s\", \"type\": \"%s\", \"msg\": %s}\n",
            (unsigned long long)(dp_now_ms() - C.record_t0), C.stream_no, dir, d->name, json ? json : "null");
    fflush(C.record);
    free(json);
    if (m)
        protobuf_c_message_free_unpacked(m, NULL);
}

/* --- sending ---------------------------------------------------------------- */

static void start_send(void)
{
    if (C.send_busy || C.out_head == NULL || !C.stream_open)
        return;
    out_msg_t *o = C.out_head;
    grpc_op op = {0};
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = o->bb;
    if (grpc_call_start_batch(C.call, &op, 1, (void *)(intptr_t)TAG_SEND, NULL) == GRPC_CALL_OK) {
        C.send_busy = true;
        C.outstanding++;
    }
}

static void env_send(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    if (!C.stream_open)
        return;
    record("send",
           C.delta ? &envoy__service__discovery__v3__delta_discovery_request__descriptor
                   : &envoy__service__discovery__v3__discovery_request__descriptor,
           msg, len);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)msg, len);
    out_msg_t *o = dp_xcalloc(1, sizeof(*o));
    o->bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    if (C.out_tail)
        C.out_tail->next = o;
    else
        C.out_head = o;
    C.out_tail = o;
    start_send();
}

static void drop_out_queue(void)
{
    while (C.out_head) {
        out_msg_t *o = C.out_head;
        C.out_head = o->next;
        grpc_byte_buffer_destroy(o->bb);
        free(o);
    }
    C.out_tail = NULL;
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

/* --- the stream --------------------------------------------------------------- */

static void start_recv(void)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &C.recv_bb;
    if (grpc_call_start_batch(C.call, &op, 1, (void *)(intptr_t)TAG_RECV, NULL) == GRPC_CALL_OK)
        C.outstanding++;
}

static bool stream_begin(void)
{
    const char *method = C.delta ? DELTA_METHOD : SOTW_METHOD;
    C.call = grpc_channel_create_call(C.channel, NULL, GRPC_PROPAGATE_DEFAULTS, C.cq,
                                      grpc_slice_from_static_string(method), NULL,
                                      gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (C.call == NULL)
        return false;
    C.stream_no++;
    grpc_metadata_array_init(&C.md_initial);
    grpc_metadata_array_init(&C.md_trailing);
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &C.md_initial;
    if (grpc_call_start_batch(C.call, ops, 2, (void *)(intptr_t)TAG_INIT, NULL) == GRPC_CALL_OK)
        C.outstanding++;
    grpc_op st = {0};
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &C.md_trailing;
    st.data.recv_status_on_client.status = &C.status;
    st.data.recv_status_on_client.status_details = &C.status_details;
    if (grpc_call_start_batch(C.call, &st, 1, (void *)(intptr_t)TAG_STATUS, NULL) == GRPC_CALL_OK)
        C.outstanding++;
    start_recv();
    C.stream_open = true;
    dp_ads_stream_start(C.ads);
    return true;
}

static void stream_end(void)
{
    grpc_metadata_array_destroy(&C.md_initial);
    grpc_metadata_array_destroy(&C.md_trailing);
    grpc_slice_unref(C.status_details);
    C.status_details = grpc_empty_slice();
    grpc_call_unref(C.call);
    C.call = NULL;
    drop_out_queue();
    C.send_busy = false;
}

/* Waits for the next event up to `deadline_ms` (monotonic), handling timers
 * and the SIGHUP hand-off. Returns the event's tag, or 0 on timeout. */
static int next_event(uint64_t deadline_ms, bool *ok)
{
    uint64_t now = dp_now_ms();
    uint64_t d = DP_MIN(deadline_ms, dp_ads_next_deadline(C.ads));
    d = DP_MIN(d, now + 100); /* notice stop and SIGHUP promptly */
    gpr_timespec ts = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                   gpr_time_from_millis((int64_t)(d > now ? d - now : 0), GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(C.cq, ts, NULL);
    if (dp_now_ms() >= dp_ads_next_deadline(C.ads))
        dp_ads_on_tick(C.ads);
    pthread_mutex_lock(&C.mu);
    dp_snapshot_t *st = C.pending_static;
    C.pending_static = NULL;
    pthread_mutex_unlock(&C.mu);
    if (st) {
        char err[512];
        if (dp_ads_set_static(C.ads, st, err, sizeof(err)) != 0)
            DP_ERROR("reload rejected, keeping the running configuration: %s", err);
        else
            DP_INFO("reload applied (static resources, with the dynamic ones kept)");
        dp_snapshot_unref(st);
    }
    if (ev.type != GRPC_OP_COMPLETE)
        return 0;
    *ok = ev.success != 0;
    return (int)(intptr_t)ev.tag;
}

static void handle_recv(void)
{
    if (C.recv_bb == NULL) /* the server closed its side: the status follows */
        return;
    grpc_byte_buffer_reader r;
    if (grpc_byte_buffer_reader_init(&r, C.recv_bb)) {
        grpc_slice s = grpc_byte_buffer_reader_readall(&r);
        const uint8_t *p = GRPC_SLICE_START_PTR(s);
        size_t n = GRPC_SLICE_LENGTH(s);
        record("recv",
               C.delta ? &envoy__service__discovery__v3__delta_discovery_response__descriptor
                       : &envoy__service__discovery__v3__discovery_response__descriptor,
               p, n);
        uint64_t t0 = dp_now_ns();
        int rc = dp_ads_on_response(C.ads, p, n);
        /* the data plane's own cost of a response: decode, validate, translate, commit */
        DP_INFO("ads: response of %zu bytes processed in %.1f ms", n, (double)(dp_now_ns() - t0) / 1e6);
        if (rc != 0) {
            DP_WARN("ads: undecodable response from the management server; restarting the stream");
            grpc_call_cancel(C.call, NULL);
        }
        grpc_slice_unref(s);
        grpc_byte_buffer_reader_destroy(&r);
        /* Decoding a large response (100k catalogue resources: tens of MB
         * of small allocations) leaves the heap fragmented; hand the free
         * pages back so the resident size is what the configuration holds. */
        if (n >= (1u << 20))
            malloc_trim(0);
    }
    grpc_byte_buffer_destroy(C.recv_bb);
    C.recv_bb = NULL;
    if (C.stream_open)
        start_recv();
}

/* Runs one stream until it ends. Returns true if it got any response. */
static bool run_stream(void)
{
    bool got_response = false;
    if (!stream_begin())
        return false;
    DP_INFO("ads: stream %u to %s opened", C.stream_no, C.target);
    while (C.outstanding > 0) {
        if (atomic_load(&C.stop) && C.stream_open) {
            grpc_call_cancel(C.call, NULL);
            C.stream_open = false;
        }
        bool ok = false;
        int tag = next_event(UINT64_MAX, &ok);
        switch (tag) {
        case 0:
            continue;
        case TAG_INIT:
            C.outstanding--;
            continue;
        case TAG_RECV:
            C.outstanding--;
            if (ok && C.recv_bb) {
                got_response = true;
                handle_recv();
            } else if (C.recv_bb == NULL && C.stream_open) {
                C.stream_open = false; /* stream over; wait for the status */
            }
            continue;
        case TAG_SEND: {
            C.outstanding--;
            C.send_busy = false;
            out_msg_t *o = C.out_head;
            if (o) {
                C.out_head = o->next;
                if (C.out_head == NULL)
                    C.out_tail = NULL;
                grpc_byte_buffer_destroy(o->bb);
                free(o);
            }
            if (ok)
                start_send();
            continue;
        }
        case TAG_STATUS: {
            C.outstanding--;
            C.stream_open = false;
            char *det = grpc_slice_to_c_string(C.status_details);
            if (!atomic_load(&C.stop))
                DP_WARN("ads: stream %u to %s closed: grpc status %d%s%s", C.stream_no, C.target, (int)C.status,
                        det[0] ? ": " : "", det);
            gpr_free(det);
            continue;
        }
        default:
            continue;
        }
    }
    dp_ads_stream_closed(C.ads);
    stream_end();
    return got_response;
}

static void *client_main(void *arg)
{
    (void)arg;
    uint64_t backoff = BACKOFF_BASE_MS;
    uint64_t seed = dp_now_ns() | 1;
    while (!atomic_load(&C.stop)) {
        if (run_stream())
            backoff = BACKOFF_BASE_MS; /* reset after a response */
        if (atomic_load(&C.stop))
            break;
        /* jitter: a random wait in [backoff * 0.8, backoff * 1.2] */
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        uint64_t wait = backoff * 8 / 10 + seed % (backoff * 4 / 10 + 1);
        DP_INFO("ads: reconnecting in %llu ms", (unsigned long long)wait);
        uint64_t until = dp_now_ms() + wait;
        while (!atomic_load(&C.stop) && dp_now_ms() < until) {
            bool ok;
            next_event(until, &ok);
        }
        backoff = DP_MIN(backoff * 2, BACKOFF_MAX_MS);
    }
    return NULL;
}

/* --- set-up -------------------------------------------------------------------- */

static const Envoy__Config__Core__V3__ApiConfigSource *ads_config(const dp_bootstrap_t *b)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap *m = (const Envoy__Config__Bootstrap__V3__Bootstrap *)b->msg;
    if (m == NULL || m->dynamic_resources == NULL)
        return NULL;
    return m->dynamic_resources->ads_config;
}

char *dp_ads_client_target(const dp_bootstrap_t *b, char *errbuf, size_t errlen)
{
    const Envoy__Config__Core__V3__ApiConfigSource *a = ads_config(b);
    if (a == NULL || a->n_grpc_services == 0) {
        snprintf(errbuf, errlen, "dynamic_resources.ads_config: no grpc_services");
        return NULL;
    }
    const Envoy__Config__Core__V3__GrpcService *g = a->grpc_services[0];
    if (g->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_GOOGLE_GRPC)
        return dp_xstrdup(g->google_grpc->target_uri);
    if (g->target_specifier_case == ENVOY__CONFIG__CORE__V3__GRPC_SERVICE__TARGET_SPECIFIER_ENVOY_GRPC) {
        const char *name = g->envoy_grpc->cluster_name;
        const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(b->snap, name, strlen(name));
        if (c == NULL || c->n_endpoints == 0) {
            snprintf(errbuf, errlen,
                     "dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: static cluster '%s' "
                     "with an endpoint required",
                     name);
            return NULL;
        }
        return dp_xstrdup(c->endpoints[0].addr_str);
    }
    snprintf(errbuf, errlen, "dynamic_resources.ads_config.grpc_services[0]: no target");
    return NULL;
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

static grpc_channel_credentials *make_creds(const Envoy__Config__Core__V3__ApiConfigSource *a)
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

int dp_ads_client_start(const dp_bootstrap_t *boot, const dp_ads_client_opts_t *opts, char *errbuf, size_t errlen)
{
    const Envoy__Config__Core__V3__ApiConfigSource *a = ads_config(boot);
    if (a == NULL) {
        snprintf(errbuf, errlen, "no dynamic_resources.ads_config");
        return DP_EINVAL;
    }
    C.boot = boot;
    C.delta = a->api_type == ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__DELTA_GRPC;
    C.target = dp_ads_client_target(boot, errbuf, errlen);
    if (C.target == NULL)
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
            free(C.target);
            return DP_EINVAL;
        }
        C.record_t0 = dp_now_ms();
    }
    grpc_init();
    C.cq = grpc_completion_queue_create_for_next(NULL);
    grpc_arg args[5];
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
    args[4].type = GRPC_ARG_STRING;
    args[4].key = GRPC_ARG_PRIMARY_USER_AGENT_STRING;
    args[4].value.string = "dataplane";
    grpc_channel_args ca = {5, args};
    grpc_channel_credentials *creds = make_creds(a);
    C.channel = grpc_channel_create(C.target, creds, &ca);
    grpc_channel_credentials_release(creds);
    C.status_details = grpc_empty_slice();
    C.ads = dp_ads_new(boot, C.delta, &env);
    atomic_store(&C.stop, false);
    if (pthread_create(&C.thread, NULL, client_main, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot start the xDS thread");
        return DP_ERR;
    }
    DP_INFO("ads: %s to %s", C.delta ? "delta xDS" : "state-of-the-world xDS", C.target);
    return 0;
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
    if (C.cq == NULL)
        return;
    atomic_store(&C.stop, true);
    pthread_join(C.thread, NULL);
    dp_ads_free(C.ads);
    C.ads = NULL;
    grpc_channel_destroy(C.channel);
    grpc_completion_queue_shutdown(C.cq);
    while (grpc_completion_queue_next(C.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(C.cq);
    C.cq = NULL;
    grpc_shutdown();
    if (C.record)
        fclose(C.record);
    C.record = NULL;
    free(C.target);
    C.target = NULL;
    pthread_mutex_lock(&C.mu);
    dp_snapshot_unref(C.pending_static);
    C.pending_static = NULL;
    pthread_mutex_unlock(&C.mu);
}
