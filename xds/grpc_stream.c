/* The shared gRPC stream transport (xds/grpc_stream.h). One thread waits on
 * the completion queue with a 100 ms cap, so a stop request and the
 * caller's timer are noticed without a second thread; tags are the
 * four kinds of batch, of which at most one of each is in flight. */
#include "xds/grpc_stream.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "xds/ads_client.h"

#define BACKOFF_BASE_MS 500
#define BACKOFF_MAX_MS 30000
#define POLL_MS 100 /* how soon stop (and the callers' own state) is noticed */

enum { TAG_INIT = 1, TAG_RECV, TAG_SEND, TAG_STATUS };

typedef struct out_msg {
    struct out_msg *next;
    grpc_byte_buffer *bb;
} out_msg_t;

struct dp_grpc_stream {
    char *name, *target;
    const char *method;
    dp_grpc_stream_cbs_t cbs;
    void *ctx;
    pthread_t thread;
    atomic_bool stop;
    grpc_completion_queue *cq;
    grpc_channel *channel;
    /* per call */
    grpc_call *call;
    int outstanding; /* batches in flight */
    bool send_busy, open;
    out_msg_t *out_head, *out_tail; /* the head is in flight when send_busy */
    grpc_byte_buffer *recv_bb;
    grpc_metadata_array md_initial, md_trailing;
    grpc_status_code status;
    grpc_slice status_details;
    unsigned stream_no;
};

/* --- sending --------------------------------------------------------------- */

static void start_send(dp_grpc_stream_t *s)
{
    if (s->send_busy || s->out_head == NULL || !s->open)
        return;
    grpc_op op = {0};
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = s->out_head->bb;
    if (grpc_call_start_batch(s->call, &op, 1, (void *)(intptr_t)TAG_SEND, NULL) == GRPC_CALL_OK) {
        s->send_busy = true;
        s->outstanding++;
    }
}

static void free_out(out_msg_t *o)
{
    while (o) {
        out_msg_t *next = o->next;
        grpc_byte_buffer_destroy(o->bb);
        free(o);
        o = next;
    }
}

void dp_grpc_stream_send(dp_grpc_stream_t *s, const uint8_t *msg, size_t len)
{
    if (!s->open)
        return;
    grpc_slice sl = grpc_slice_from_copied_buffer((const char *)msg, len);
    out_msg_t *o = dp_xcalloc(1, sizeof(*o));
    o->bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    if (s->out_tail)
        s->out_tail->next = o;
    else
        s->out_head = o;
    s->out_tail = o;
    start_send(s);
}

void dp_grpc_stream_send_latest(dp_grpc_stream_t *s, const uint8_t *msg, size_t len)
{
    if (s->send_busy && s->out_head) {
        free_out(s->out_head->next);
        s->out_head->next = NULL;
        s->out_tail = s->out_head;
    }
    dp_grpc_stream_send(s, msg, len);
}

bool dp_grpc_stream_is_open(const dp_grpc_stream_t *s)
{
    return s->open;
}

unsigned dp_grpc_stream_number(const dp_grpc_stream_t *s)
{
    return s->stream_no;
}

/* --- the call ---------------------------------------------------------------- */

static void start_recv(dp_grpc_stream_t *s)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->recv_bb;
    if (grpc_call_start_batch(s->call, &op, 1, (void *)(intptr_t)TAG_RECV, NULL) == GRPC_CALL_OK)
        s->outstanding++;
}

static bool call_begin(dp_grpc_stream_t *s)
{
    s->call = grpc_channel_create_call(s->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq,
                                       grpc_slice_from_static_string(s->method), NULL,
                                       gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (s->call == NULL)
        return false;
    s->stream_no++;
    grpc_metadata_array_init(&s->md_initial);
    grpc_metadata_array_init(&s->md_trailing);
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[1].data.recv_initial_metadata.recv_initial_metadata = &s->md_initial;
    if (grpc_call_start_batch(s->call, ops, 2, (void *)(intptr_t)TAG_INIT, NULL) == GRPC_CALL_OK)
        s->outstanding++;
    grpc_op st = {0};
    st.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    st.data.recv_status_on_client.trailing_metadata = &s->md_trailing;
    st.data.recv_status_on_client.status = &s->status;
    st.data.recv_status_on_client.status_details = &s->status_details;
    if (grpc_call_start_batch(s->call, &st, 1, (void *)(intptr_t)TAG_STATUS, NULL) == GRPC_CALL_OK)
        s->outstanding++;
    start_recv(s);
    s->open = true;
    s->cbs.on_open(s->ctx);
    return true;
}

static void call_end(dp_grpc_stream_t *s)
{
    grpc_metadata_array_destroy(&s->md_initial);
    grpc_metadata_array_destroy(&s->md_trailing);
    grpc_slice_unref(s->status_details);
    s->status_details = grpc_empty_slice();
    grpc_call_unref(s->call);
    s->call = NULL;
    free_out(s->out_head);
    s->out_head = s->out_tail = NULL;
    s->send_busy = false;
}

static void handle_recv(dp_grpc_stream_t *s)
{
    grpc_byte_buffer_reader r;
    if (grpc_byte_buffer_reader_init(&r, s->recv_bb)) {
        grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
        if (s->cbs.on_message(s->ctx, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl)) < 0)
            grpc_call_cancel(s->call, NULL);
        grpc_slice_unref(sl);
        grpc_byte_buffer_reader_destroy(&r);
    }
    grpc_byte_buffer_destroy(s->recv_bb);
    s->recv_bb = NULL;
    if (s->open)
        start_recv(s);
}

static uint64_t timer_due(dp_grpc_stream_t *s)
{
    return s->cbs.next_timer_ms ? s->cbs.next_timer_ms(s->ctx) : UINT64_MAX;
}

/* Waits for the next completion up to deadline_ms (monotonic), the timer
 * and POLL_MS, then runs the timer if due. Returns the tag, 0 on timeout. */
static int next_event(dp_grpc_stream_t *s, uint64_t deadline_ms, bool *ok)
{
    uint64_t now = dp_now_ms();
    uint64_t d = DP_MIN(deadline_ms, now + POLL_MS);
    d = DP_MIN(d, timer_due(s));
    gpr_timespec ts = gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
                                   gpr_time_from_millis((int64_t)(d > now ? d - now : 0), GPR_TIMESPAN));
    grpc_event ev = grpc_completion_queue_next(s->cq, ts, NULL);
    if (s->cbs.on_timer && dp_now_ms() >= timer_due(s))
        s->cbs.on_timer(s->ctx);
    if (ev.type != GRPC_OP_COMPLETE)
        return 0;
    *ok = ev.success != 0;
    return (int)(intptr_t)ev.tag;
}

/* Runs one call until every batch completed. True if it got a message. */
static bool run_call(dp_grpc_stream_t *s)
{
    bool got_response = false;
    if (!call_begin(s))
        return false;
    DP_INFO("%s: stream %u to %s opened", s->name, s->stream_no, s->target);
    while (s->outstanding > 0) {
        if (atomic_load(&s->stop) && s->open) {
            grpc_call_cancel(s->call, NULL);
            s->open = false;
        }
        bool ok = false;
        switch (next_event(s, UINT64_MAX, &ok)) {
        case TAG_INIT:
            s->outstanding--;
            break;
        case TAG_RECV:
            s->outstanding--;
            if (ok && s->recv_bb) {
                got_response = true;
                handle_recv(s);
            } else {
                s->open = false; /* the server closed its side: the status follows */
            }
            break;
        case TAG_SEND: {
            s->outstanding--;
            s->send_busy = false;
            out_msg_t *o = s->out_head;
            if (o) {
                s->out_head = o->next;
                if (s->out_head == NULL)
                    s->out_tail = NULL;
                o->next = NULL;
                free_out(o);
            }
            if (ok)
                start_send(s);
            break;
        }
        case TAG_STATUS: {
            s->outstanding--;
            s->open = false;
            char *det = grpc_slice_to_c_string(s->status_details);
            if (!atomic_load(&s->stop))
                DP_WARN("%s: stream %u to %s closed: grpc status %d%s%s", s->name, s->stream_no, s->target,
                        (int)s->status, det[0] ? ": " : "", det);
            gpr_free(det);
            break;
        }
        default:
            break;
        }
    }
    if (s->cbs.on_close) {
        char *det = grpc_slice_to_c_string(s->status_details);
        s->cbs.on_close(s->ctx, s->status, det);
        gpr_free(det);
    }
    call_end(s);
    return got_response;
}

static void *stream_main(void *arg)
{
    dp_grpc_stream_t *s = arg;
    uint64_t backoff = BACKOFF_BASE_MS;
    uint64_t seed = dp_now_ns() | 1;
    while (!atomic_load(&s->stop)) {
        if (run_call(s))
            backoff = BACKOFF_BASE_MS; /* reset after a response */
        if (atomic_load(&s->stop))
            break;
        /* jitter: a random wait in [backoff * 0.8, backoff * 1.2] */
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        uint64_t wait = backoff * 8 / 10 + seed % (backoff * 4 / 10 + 1);
        DP_INFO("%s: reconnecting in %llu ms", s->name, (unsigned long long)wait);
        uint64_t until = dp_now_ms() + wait;
        while (!atomic_load(&s->stop) && dp_now_ms() < until) {
            bool ok;
            next_event(s, until, &ok);
        }
        backoff = DP_MIN(backoff * 2, BACKOFF_MAX_MS);
    }
    return NULL;
}

/* --- life cycle ------------------------------------------------------------------ */

static void stream_free(dp_grpc_stream_t *s)
{
    grpc_channel_destroy(s->channel);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(s->cq);
    grpc_slice_unref(s->status_details);
    grpc_shutdown();
    free(s->name);
    free(s->target);
    free(s);
}

int dp_grpc_stream_start(const dp_grpc_stream_cfg_t *cfg, dp_grpc_stream_t **out, char *errbuf, size_t errlen)
{
    *out = NULL;
    if (cfg->source == NULL || cfg->source->n_grpc_services == 0 || cfg->cbs.on_open == NULL ||
        cfg->cbs.on_message == NULL) {
        snprintf(errbuf, errlen, "%s: no grpc_services or no callbacks", cfg->name);
        return DP_EINVAL;
    }
    dp_grpc_stream_t *s = dp_xcalloc(1, sizeof(*s));
    s->name = dp_xstrdup(cfg->name);
    s->target = dp_xstrdup(cfg->target);
    s->method = cfg->method;
    s->cbs = cfg->cbs;
    s->ctx = cfg->ctx;
    atomic_store(&s->stop, false);
    s->status_details = grpc_empty_slice();
    grpc_init();
    s->cq = grpc_completion_queue_create_for_next(NULL);
    grpc_arg *args = dp_xcalloc(cfg->n_args + 1, sizeof(*args));
    args[0].type = GRPC_ARG_STRING;
    args[0].key = GRPC_ARG_PRIMARY_USER_AGENT_STRING;
    args[0].value.string = "dataplane";
    if (cfg->n_args)
        memcpy(args + 1, cfg->args, cfg->n_args * sizeof(*args));
    grpc_channel_args ca = {cfg->n_args + 1, args};
    grpc_channel_credentials *creds = dp_grpc_source_creds(cfg->source);
    s->channel = grpc_channel_create(s->target, creds, &ca);
    grpc_channel_credentials_release(creds);
    free(args);
    /* *out before the thread: its callbacks may read the caller's copy */
    *out = s;
    if (pthread_create(&s->thread, NULL, stream_main, s) != 0) {
        snprintf(errbuf, errlen, "%s: cannot start the stream thread", cfg->name);
        *out = NULL;
        stream_free(s);
        return DP_ERR;
    }
    return 0;
}

void dp_grpc_stream_stop(dp_grpc_stream_t *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stop, true);
    pthread_join(s->thread, NULL);
    stream_free(s);
}
