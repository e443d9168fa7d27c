/* The CSDS server (grpc core C API) on --csds-address, on its own thread
 * and completion queue. Both methods of ClientStatusDiscoveryService:
 * FetchClientStatus answers one request; StreamClientStatus answers each
 * request of the stream in turn (read, answer, read again) until the
 * client half-closes. Any other method gets UNIMPLEMENTED, a request we
 * cannot take INVALID_ARGUMENT naming the problem.
 *
 * The answer is built on this thread: the ADS state is copied under the
 * ADS client's lock (dp_ads_client_status, xds/csds.h); without ADS the
 * snapshot in force (or the bootstrap's) gives the static resources.
 *
 * Each call is a small state machine whose tags are its own fields:
 *   NEW --> [SEND_INITIAL_METADATA + RECV_MESSAGE] + [RECV_CLOSE_ON_SERVER]
 *   RECV(msg) --fetch--> [SEND_MESSAGE + SEND_STATUS]
 *             --stream-> [SEND_MESSAGE] --SEND--> [RECV_MESSAGE] ...
 *   RECV(end of stream) --> [SEND_STATUS OK]
 * and is freed when none of its batches is outstanding. */
#include "xds/csds_server.h"

#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
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
#include "dataplane/server/config.h"
#include "xds/csds.h"
#include "xds/lrs.h"

#define SERVICE "/envoy.service.status.v3.ClientStatusDiscoveryService/"
#define FETCH_METHOD SERVICE "FetchClientStatus"
#define STREAM_METHOD SERVICE "StreamClientStatus"

typedef enum { K_NEW, K_RECV, K_SEND, K_STATUS, K_CLOSE, K_SHUTDOWN } tag_kind_t;

struct csds_call;
typedef struct csds_tag {
    tag_kind_t kind;
    struct csds_call *call;
} csds_tag_t;

typedef struct csds_call {
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
    bool streaming;
    int outstanding;
    bool status_sent;
    int cancelled;
    grpc_byte_buffer *recv_bb;
    grpc_byte_buffer *send_bb;
    grpc_slice status_msg;
    csds_tag_t t_new, t_recv, t_send, t_status, t_close;
} csds_call_t;

static struct {
    const dp_bootstrap_t *boot;
    uint8_t *node;
    size_t node_len;
    grpc_server *server;
    grpc_completion_queue *cq;
    pthread_t thread;
    bool started;
    csds_tag_t t_shutdown;
    bool shutting;
    size_t n_calls; /* alive, the one waiting for a new call included */
} S;

/* ---- the answer ------------------------------------------------------------ */

static uint8_t *answer(bool exclude, size_t *len)
{
    dp_csds_status_t st = {0};
    if (dp_ads_client_status(!exclude, &st) != 0) {
        /* no ADS: the static resources of the configuration in force */
        dp_snapshot_t *snap = dp_config_current();
        dp_csds_status_add_meta(&st, snap ? snap : S.boot->snap, !exclude, false);
        dp_snapshot_unref(snap);
    }
    uint8_t *buf = dp_csds_encode_response(S.node, S.node_len, &st, len);
    dp_csds_status_free(&st);
    return buf;
}

/* ---- calls ------------------------------------------------------------------- */

static void request_new_call(void);

static csds_call_t *call_new(void)
{
    csds_call_t *c = dp_xcalloc(1, sizeof(*c));
    S.n_calls++;
    grpc_call_details_init(&c->details);
    grpc_metadata_array_init(&c->md);
    c->status_msg = grpc_empty_slice();
    csds_tag_t *tags[] = {&c->t_new, &c->t_recv, &c->t_send, &c->t_status, &c->t_close};
    tag_kind_t kinds[] = {K_NEW, K_RECV, K_SEND, K_STATUS, K_CLOSE};
    for (size_t i = 0; i < DP_ARRAY_SIZE(tags); i++) {
        tags[i]->kind = kinds[i];
        tags[i]->call = c;
    }
    return c;
}

static void call_free(csds_call_t *c)
{
    if (c->call)
        grpc_call_unref(c->call);
    grpc_call_details_destroy(&c->details);
    grpc_metadata_array_destroy(&c->md);
    if (c->recv_bb)
        grpc_byte_buffer_destroy(c->recv_bb);
    if (c->send_bb)
        grpc_byte_buffer_destroy(c->send_bb);
    grpc_slice_unref(c->status_msg);
    free(c);
    S.n_calls--;
}

static void batch(csds_call_t *c, grpc_op *ops, size_t n, csds_tag_t *tag)
{
    if (grpc_call_start_batch(c->call, ops, n, tag, NULL) == GRPC_CALL_OK)
        c->outstanding++;
}

static void start_recv(csds_call_t *c)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &c->recv_bb;
    batch(c, &op, 1, &c->t_recv);
}

/* Ends the call with a status (and, for fetch, the answer before it). */
static void finish(csds_call_t *c, grpc_status_code code, const char *msg, grpc_byte_buffer *bb)
{
    grpc_op ops[2];
    size_t n = 0;
    memset(ops, 0, sizeof(ops));
    if (bb) {
        c->send_bb = bb;
        ops[n].op = GRPC_OP_SEND_MESSAGE;
        ops[n++].data.send_message.send_message = bb;
    }
    grpc_slice_unref(c->status_msg);
    c->status_msg = grpc_slice_from_copied_string(msg ? msg : "");
    ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[n].data.send_status_from_server.status = code;
    ops[n++].data.send_status_from_server.status_details = &c->status_msg;
    c->status_sent = true;
    batch(c, ops, n, &c->t_status);
}

static void on_new(csds_call_t *c)
{
    if (!S.shutting)
        request_new_call();
    char *method = grpc_slice_to_c_string(c->details.method);
    bool fetch = strcmp(method, FETCH_METHOD) == 0;
    c->streaming = strcmp(method, STREAM_METHOD) == 0;
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[0].data.recv_close_on_server.cancelled = &c->cancelled;
    batch(c, ops, 1, &c->t_close);
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    if (!fetch && !c->streaming) {
        char msg[300];
        snprintf(msg, sizeof(msg), "%.250s: not implemented", method);
        batch(c, ops, 1, &c->t_send); /* metadata only; its completion is a no-op */
        finish(c, GRPC_STATUS_UNIMPLEMENTED, msg, NULL);
    } else {
        ops[1].op = GRPC_OP_RECV_MESSAGE;
        ops[1].data.recv_message.recv_message = &c->recv_bb;
        batch(c, ops, 2, &c->t_recv);
    }
    gpr_free(method);
}

static void on_recv(csds_call_t *c, bool ok)
{
    if (!ok || c->status_sent)
        return;
    if (c->recv_bb == NULL) {
        /* the client half-closed: a stream ends well; a fetch without its request does not */
        if (c->streaming)
            finish(c, GRPC_STATUS_OK, NULL, NULL);
        else
            finish(c, GRPC_STATUS_INVALID_ARGUMENT, "FetchClientStatus: no ClientStatusRequest", NULL);
        return;
    }
    grpc_byte_buffer_reader r;
    grpc_slice s = grpc_empty_slice();
    if (grpc_byte_buffer_reader_init(&r, c->recv_bb)) {
        s = grpc_byte_buffer_reader_readall(&r);
        grpc_byte_buffer_reader_destroy(&r);
    }
    grpc_byte_buffer_destroy(c->recv_bb);
    c->recv_bb = NULL;
    bool exclude = false;
    char err[512];
    int rc = dp_csds_decode_request(GRPC_SLICE_START_PTR(s), GRPC_SLICE_LENGTH(s), &exclude, err, sizeof(err));
    grpc_slice_unref(s);
    if (rc != 0) {
        finish(c, GRPC_STATUS_INVALID_ARGUMENT, err, NULL);
        return;
    }
    size_t len;
    uint8_t *msg = answer(exclude, &len);
    grpc_slice out = grpc_slice_from_copied_buffer((const char *)msg, len);
    free(msg);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&out, 1);
    grpc_slice_unref(out);
    if (!c->streaming) {
        finish(c, GRPC_STATUS_OK, NULL, bb);
        return;
    }
    grpc_op op;
    memset(&op, 0, sizeof(op));
    c->send_bb = bb;
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    batch(c, &op, 1, &c->t_send);
}

static void on_send(csds_call_t *c, bool ok)
{
    if (c->send_bb) {
        grpc_byte_buffer_destroy(c->send_bb);
        c->send_bb = NULL;
    }
    if (ok && c->streaming && !c->status_sent)
        start_recv(c); /* the next request of the stream */
}

static void request_new_call(void)
{
    csds_call_t *c = call_new();
    if (grpc_server_request_call(S.server, &c->call, &c->details, &c->md, S.cq, S.cq, &c->t_new) != GRPC_CALL_OK)
        call_free(c);
}

static void *server_main(void *arg)
{
    (void)arg;
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(S.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
        if (ev.type == GRPC_QUEUE_SHUTDOWN)
            break;
        if (ev.type != GRPC_OP_COMPLETE)
            continue;
        csds_tag_t *t = ev.tag;
        if (t->kind == K_SHUTDOWN) {
            S.shutting = true;
            if (S.n_calls == 0)
                grpc_completion_queue_shutdown(S.cq); /* then QUEUE_SHUTDOWN */
            continue;
        }
        csds_call_t *c = t->call;
        bool ok = ev.success != 0;
        if (t->kind == K_NEW) {
            if (ok)
                on_new(c);
            if (!ok || c->outstanding == 0) /* failed: the server is shutting down */
                call_free(c);
            if (S.shutting && S.n_calls == 0)
                grpc_completion_queue_shutdown(S.cq);
            continue;
        }
        c->outstanding--;
        switch (t->kind) {
        case K_RECV:
            on_recv(c, ok);
            break;
        case K_SEND:
            on_send(c, ok);
            break;
        case K_STATUS:
            if (c->send_bb) {
                grpc_byte_buffer_destroy(c->send_bb);
                c->send_bb = NULL;
            }
            break;
        default:
            break;
        }
        if (c->outstanding == 0) {
            call_free(c);
            if (S.shutting && S.n_calls == 0)
                grpc_completion_queue_shutdown(S.cq);
        }
    }
    return NULL;
}

int dp_csds_server_start(const dp_bootstrap_t *boot, const char *addr, int *port, char *errbuf, size_t errlen)
{
    if (S.started) {
        snprintf(errbuf, errlen, "--csds-address: the CSDS server runs already");
        return DP_EINVAL;
    }
    grpc_init();
    S.boot = boot;
    S.cq = grpc_completion_queue_create_for_next(NULL);
    S.server = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(S.server, S.cq, NULL);
    grpc_server_credentials *creds = grpc_insecure_server_credentials_create();
    int p = grpc_server_add_http2_port(S.server, addr, creds);
    grpc_server_credentials_release(creds);
    if (p <= 0) {
        snprintf(errbuf, errlen, "--csds-address %s: cannot listen", addr);
        grpc_server_destroy(S.server);
        grpc_completion_queue_shutdown(S.cq);
        while (grpc_completion_queue_next(S.cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
            ;
        grpc_completion_queue_destroy(S.cq);
        S.server = NULL;
        S.cq = NULL;
        grpc_shutdown();
        return DP_EINVAL;
    }
    if (port)
        *port = p;
    /* ClientConfig.node: the Node the data plane presents to ADS */
    static const char *const features[] = {"envoy.lb.does_not_support_overprovisioning", "xds.config.resource-ttl"};
    S.node = dp_lrs_node_encode(boot, features, DP_ARRAY_SIZE(features), &S.node_len);
    grpc_server_start(S.server);
    request_new_call();
    S.t_shutdown.kind = K_SHUTDOWN;
    if (pthread_create(&S.thread, NULL, server_main, NULL) != 0) {
        snprintf(errbuf, errlen, "cannot start the CSDS thread");
        return DP_ERR; /* not reached in practice; the server stays allocated */
    }
    S.started = true;
    DP_INFO("csds: serving on %s (port %d)", addr, p);
    return 0;
}

void dp_csds_server_stop(void)
{
    if (!S.started)
        return;
    grpc_server_shutdown_and_notify(S.server, S.cq, &S.t_shutdown);
    grpc_server_cancel_all_calls(S.server);
    pthread_join(S.thread, NULL);
    grpc_server_destroy(S.server);
    grpc_completion_queue_destroy(S.cq);
    S.server = NULL;
    S.cq = NULL;
    free(S.node);
    S.node = NULL;
    S.started = false;
    S.shutting = false;
    grpc_shutdown();
}
