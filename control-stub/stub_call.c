/* Server-side stream plumbing of the control stub: see stub_call.h. */
#include "control-stub/stub_call.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/alloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control-stub/stub_util.h"

static void on_op(dp_stub_tag_t *tag, int ok);

static int start_batch(dp_stub_call_t *c, const grpc_op *ops, size_t n, int kind)
{
    if (c->closed)
        return -1;
    grpc_call_error e = grpc_call_start_batch(c->call, ops, n, &c->op[kind].tag, NULL);
    if (e != GRPC_CALL_OK) {
        dp_stub_log("stream %u: start_batch failed (%d): cancelling", c->id, (int)e);
        grpc_call_cancel(c->call, NULL);
        return -1;
    }
    c->pending++;
    return 0;
}

static void start_recv(dp_stub_call_t *c)
{
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    start_batch(c, &op, 1, DP_STUB_OP_RECV);
}

int dp_stub_call_start(dp_stub_call_t *c, const dp_stub_call_ops_t *ops, grpc_call *call, unsigned id,
                       int *live)
{
    c->ops = ops;
    c->call = call;
    c->id = id;
    c->live = live;
    (*live)++;
    c->peer = grpc_call_get_peer(call);
    for (int k = 0; k < DP_STUB_OP_N; k++)
        c->op[k] = (dp_stub_call_op_t){{on_op}, c};
    grpc_op op = {0};
    op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    op.data.recv_close_on_server.cancelled = &c->cancelled;
    if (start_batch(c, &op, 1, DP_STUB_OP_CLOSE) != 0) {
        c->closed = 1; /* nothing pending can complete it: free now */
        ops->on_free(c);
        return -1;
    }
    start_recv(c);
    return 0;
}

int dp_stub_call_can_send(const dp_stub_call_t *c)
{
    return !c->closed && !c->send_busy && !c->want_status && !c->status_started;
}

int dp_stub_call_send(dp_stub_call_t *c, uint8_t *buf, size_t len)
{
    if (!dp_stub_call_can_send(c)) {
        free(buf);
        return 0;
    }
    grpc_slice sl = grpc_slice_new(buf, len, free);
    c->send_bb = grpc_raw_byte_buffer_create(&sl, 1);
    grpc_slice_unref(sl);
    grpc_op ops[2];
    size_t k = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[k++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->md_sent = 1;
    }
    ops[k].op = GRPC_OP_SEND_MESSAGE;
    ops[k].data.send_message.send_message = c->send_bb;
    k++;
    if (start_batch(c, ops, k, DP_STUB_OP_SEND) != 0) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        return 0;
    }
    c->send_busy = 1;
    return 1;
}

void dp_stub_call_finish(dp_stub_call_t *c, grpc_status_code code, const char *msg)
{
    if (c->status_started || c->closed)
        return;
    if (!c->want_status) {
        c->want_status = 1;
        c->status = code;
        c->status_msg = msg;
    }
    if (c->send_busy)
        return;
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof ops);
    if (!c->md_sent) {
        ops[n++].op = GRPC_OP_SEND_INITIAL_METADATA;
        c->md_sent = 1;
    }
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = c->status;
    /* kept in the call: it must outlive the batch */
    c->status_details = grpc_slice_from_static_string(c->status_msg ? c->status_msg : "");
    ops[n].data.send_status_from_server.status_details = &c->status_details;
    n++;
    c->status_started = 1;
    start_batch(c, ops, n, DP_STUB_OP_STATUS);
}

void dp_stub_call_release(dp_stub_call_t *c)
{
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    if (c->call)
        grpc_call_unref(c->call);
    if (c->peer)
        gpr_free(c->peer);
    c->recv_bb = c->send_bb = NULL;
    c->call = NULL;
    c->peer = NULL;
    if (c->live) {
        (*c->live)--;
        c->live = NULL;
    }
}

static void on_recv(dp_stub_call_t *c, int ok)
{
    if (!ok || c->recv_bb == NULL) { /* half-close, or the call failed */
        if (c->recv_bb)
            grpc_byte_buffer_destroy(c->recv_bb);
        c->recv_bb = NULL;
        dp_stub_call_finish(c, GRPC_STATUS_OK, "");
        return;
    }
    grpc_byte_buffer_reader r;
    grpc_slice sl = grpc_empty_slice();
    int okread = grpc_byte_buffer_reader_init(&r, c->recv_bb);
    if (okread) {
        sl = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    grpc_byte_buffer_destroy(c->recv_bb);
    c->recv_bb = NULL;
    if (okread)
        c->ops->on_message(c, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl));
    else
        dp_stub_call_finish(c, GRPC_STATUS_INTERNAL, "cannot read the message");
    grpc_slice_unref(sl);
    start_recv(c);
}

static void on_op(dp_stub_tag_t *tag, int ok)
{
    dp_stub_call_op_t *op = (dp_stub_call_op_t *)tag;
    dp_stub_call_t *c = op->c;
    int kind = (int)(op - c->op);
    c->pending--;
    switch (kind) {
    case DP_STUB_OP_RECV:
        on_recv(c, ok);
        break;
    case DP_STUB_OP_SEND:
        c->send_busy = 0;
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
        if (!ok)
            grpc_call_cancel(c->call, NULL);
        else if (c->want_status)
            dp_stub_call_finish(c, c->status, c->status_msg);
        else
            c->ops->on_sent(c);
        break;
    case DP_STUB_OP_CLOSE:
        c->closed = 1;
        break;
    default: /* status sent */
        break;
    }
    if (c->closed && c->pending == 0)
        c->ops->on_free(c);
}

void dp_stub_now_iso(char *buf, size_t len)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

int64_t dp_stub_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
