/* One client bidirectional-streaming gRPC call (grpc core C API), kept
 * open on its own thread and completion queue: the transport shared by
 * the ADS, LRS and HDS clients, with no protocol knowledge. It creates the
 * channel from an ApiConfigSource (credentials: dp_grpc_source_creds),
 * opens the call (initial metadata, status, one receive at a time), sends
 * queued messages one at a time, reopens a broken stream after a jittered
 * exponential backoff (500 ms base, 30 s cap, reset after a stream that
 * got a response) and runs a timer for periodic work (reports on the
 * server's schedule, protocol timeouts), so the caller needs no thread.
 *
 * Every callback runs on the stream thread. */
#ifndef DP_XDS_GRPC_STREAM_H
#define DP_XDS_GRPC_STREAM_H

#include <grpc/grpc.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xds/bootstrap.h"

typedef struct dp_grpc_stream dp_grpc_stream_t;
struct Envoy__Config__Core__V3__ApiConfigSource;

typedef struct dp_grpc_stream_cbs {
    /* A new call is up: send the first message(s) (dp_grpc_stream_send). */
    void (*on_open)(void *ctx);
    /* One message from the server. May send. A negative return cancels the
     * call (the status, then a reconnect, follow). */
    int (*on_message)(void *ctx, const uint8_t *msg, size_t len);
    /* Optional: the monotonic time (dp_now_ms) on_timer is due next, or
     * UINT64_MAX. Asked before and after every wait (at most 100 ms, so
     * state another thread changes is seen that soon), open stream or not. */
    uint64_t (*next_timer_ms)(void *ctx);
    /* Optional: called after a wake-up when next_timer_ms is due. Also
     * between streams (backoff): check dp_grpc_stream_is_open before
     * sending. */
    void (*on_timer)(void *ctx);
    /* Optional: the call is over (every batch completed); status and
     * details are the server's (or grpc's). Not called on a call that
     * could not be created. */
    void (*on_close)(void *ctx, grpc_status_code status, const char *details);
} dp_grpc_stream_cbs_t;

typedef struct dp_grpc_stream_cfg {
    const char *name;   /* log prefix: "lrs" */
    const char *target; /* copied; dp_grpc_source_target */
    const char *method; /* "/package.Service/Method"; static storage */
    /* the credentials' source (its grpc_services[0]); only read in start */
    const struct Envoy__Config__Core__V3__ApiConfigSource *source;
    const grpc_arg *args; /* extra channel args (user agent "dataplane" is set), or NULL */
    size_t n_args;
    dp_grpc_stream_cbs_t cbs;
    void *ctx;
} dp_grpc_stream_cfg_t;

/* Creates the channel and starts the thread; *out is set before the thread
 * runs (callbacks may use it). 0, or a negative DP_E* with errbuf. */
int dp_grpc_stream_start(const dp_grpc_stream_cfg_t *cfg, dp_grpc_stream_t **out, char *errbuf, size_t errlen);
/* Cancels the call, joins the thread, frees everything. NULL: no-op. */
void dp_grpc_stream_stop(dp_grpc_stream_t *s);

/* Stream thread only. Queues a copy of msg behind the messages not yet
 * sent; dropped when no stream is open. */
void dp_grpc_stream_send(dp_grpc_stream_t *s, const uint8_t *msg, size_t len);
/* The same, but msg replaces the messages still waiting behind the one in
 * flight (only the newest report matters). */
void dp_grpc_stream_send_latest(dp_grpc_stream_t *s, const uint8_t *msg, size_t len);
/* Stream thread only: a call is open (messages can be sent). */
bool dp_grpc_stream_is_open(const dp_grpc_stream_t *s);
/* Stream thread only: the number of the current (or last) call, from 1. */
unsigned dp_grpc_stream_number(const dp_grpc_stream_t *s);

#endif
