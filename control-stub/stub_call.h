/* The control stub's gRPC plumbing, shared by its services (ADS, LRS,
 * HDS) and its CSDS client: one completion queue, driven from one thread,
 * whose tags are all dp_stub_tag_t (a callback), so each service keeps its
 * stream state machine in its own file and the loop only calls tags.
 *
 * dp_stub_call_t is the server side of one bidirectional stream, embedded
 * as the first member of a service's stream (as h2o embeds `super`), with
 * a const ops table for what differs:
 *   - a RECV_CLOSE_ON_SERVER batch is started first: it completes when the
 *     call is over (client cancelled, or our status went out);
 *   - one RECV_MESSAGE at a time: each message is handed to ops->on_message
 *     and the next receive started; a half-close (or a failed receive)
 *     ends the call with OK;
 *   - one SEND_MESSAGE at a time (initial metadata with the first):
 *     dp_stub_call_send() refuses a second, and ops->on_sent() says when
 *     the slot is free again, so services coalesce rather than queue;
 *   - SEND_STATUS once (after the send in flight, if any);
 *   - ops->on_free() once the close has completed and no batch is pending;
 *     after the close no batch is started. */
#ifndef DP_STUB_CALL_H
#define DP_STUB_CALL_H

#include <grpc/grpc.h>
#include <stddef.h>
#include <stdint.h>

/* Every tag on the stub's completion queue. */
typedef struct dp_stub_tag dp_stub_tag_t;
struct dp_stub_tag {
    void (*fn)(dp_stub_tag_t *tag, int ok);
};

typedef struct dp_stub_call dp_stub_call_t;

typedef struct dp_stub_call_ops {
    /* One decoded-later message (borrowed bytes). */
    void (*on_message)(dp_stub_call_t *c, const uint8_t *buf, size_t len);
    /* The send slot is free again (the previous send completed). */
    void (*on_sent)(dp_stub_call_t *c);
    /* The call is over: free the stream that embeds `c` (after
     * dp_stub_call_release(c)). */
    void (*on_free)(dp_stub_call_t *c);
} dp_stub_call_ops_t;

enum { DP_STUB_OP_RECV, DP_STUB_OP_SEND, DP_STUB_OP_CLOSE, DP_STUB_OP_STATUS, DP_STUB_OP_N };

typedef struct dp_stub_call_op {
    dp_stub_tag_t tag;
    dp_stub_call_t *c;
} dp_stub_call_op_t;

struct dp_stub_call {
    const dp_stub_call_ops_t *ops;
    dp_stub_call_op_t op[DP_STUB_OP_N];
    grpc_call *call;
    grpc_byte_buffer *recv_bb, *send_bb;
    int cancelled; /* filled by RECV_CLOSE_ON_SERVER */
    int pending;   /* batches in flight */
    int closed;    /* the close completed: no more batches */
    int md_sent, send_busy, status_started, want_status;
    grpc_status_code status;
    const char *status_msg; /* static strings only */
    grpc_slice status_details;
    unsigned id;   /* for logs */
    char *peer;    /* gpr_malloc'd */
    int *live;     /* counter of live calls of the server (shutdown waits) */
};

/* Takes `call` (accepted by grpc_server_request_call) into `c` and starts
 * the close and the first receive. On failure the call is released and
 * ops->on_free() has been called (the stream is gone): returns -1. */
int dp_stub_call_start(dp_stub_call_t *c, const dp_stub_call_ops_t *ops, grpc_call *call, unsigned id,
                       int *live);

/* Sends buf (malloc'd, taken in every case) as the one message in flight.
 * Returns 1 when the send started, 0 when it could not (slot busy, call
 * closed or ending). */
int dp_stub_call_send(dp_stub_call_t *c, uint8_t *buf, size_t len);

/* Can a message be sent now? */
int dp_stub_call_can_send(const dp_stub_call_t *c);

/* Ends the call with `code` and `msg` (static), after the send in flight. */
void dp_stub_call_finish(dp_stub_call_t *c, grpc_status_code code, const char *msg);

/* Releases what `c` holds (for on_free, before freeing the stream). */
void dp_stub_call_release(dp_stub_call_t *c);

/* ISO 8601 UTC time with milliseconds ("2026-01-02T03:04:05.678Z"). */
void dp_stub_now_iso(char *buf, size_t len);

/* Monotonic milliseconds. */
int64_t dp_stub_now_ms(void);

#endif
