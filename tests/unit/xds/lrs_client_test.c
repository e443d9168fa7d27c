/* The LRS transport (xds/lrs_client.c) against an in-process LRS server
 * (grpc core): the first message carries the Node with
 * "envoy.lrs.supports_send_all_clusters" and no stats; after a
 * LoadStatsResponse, reports come at its interval; a new response replaces
 * the schedule; a stream the server ends is opened again (backoff) with the
 * Node first. No configuration is in force here, so reports carry no
 * cluster (the counting and report contents: lrs_test.c). */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "envoy/service/load_stats/v3/lrs.pb-c.h"
#include "test.h"
#include "xds/bootstrap.h"
#include "xds/lrs_client.h"
#include "yaml_util.h"

typedef Envoy__Service__LoadStats__V3__LoadStatsRequest req_t;

static grpc_server *srv;
static grpc_completion_queue *cq;

static grpc_event next(void *want, int secs)
{
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(
            cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(secs, GPR_TIMESPAN)), NULL);
        if (ev.type != GRPC_OP_COMPLETE || ev.tag == want)
            return ev;
        /* a completion of another batch (sends, close): not waited for */
    }
}

typedef struct srv_call {
    grpc_call *call;
    grpc_call_details det;
    grpc_metadata_array md;
    int cancelled;
} srv_call_t;

static bool accept_call(srv_call_t *c)
{
    memset(c, 0, sizeof(*c));
    grpc_call_details_init(&c->det);
    grpc_metadata_array_init(&c->md);
    grpc_server_request_call(srv, &c->call, &c->det, &c->md, cq, cq, (void *)100);
    grpc_event ev = next((void *)100, 10);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success)
        return false;
    char *m = grpc_slice_to_c_string(c->det.method);
    bool ok = strcmp(m, "/envoy.service.load_stats.v3.LoadReportingService/StreamLoadStats") == 0;
    free(m);
    grpc_op ops[2];
    memset(ops, 0, sizeof(ops));
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
    ops[1].data.recv_close_on_server.cancelled = &c->cancelled;
    grpc_call_start_batch(c->call, ops, 2, (void *)101, NULL);
    return ok;
}

/* One read at a time; a read that timed out stays pending and the next
 * recv_req waits for it (the buffer is global for that reason). */
static grpc_byte_buffer *g_bb;
static bool g_pending;

static req_t *recv_req(srv_call_t *c, int secs)
{
    if (!g_pending) {
        grpc_op op;
        memset(&op, 0, sizeof(op));
        op.op = GRPC_OP_RECV_MESSAGE;
        op.data.recv_message.recv_message = &g_bb;
        grpc_call_start_batch(c->call, &op, 1, (void *)102, NULL);
        g_pending = true;
    }
    grpc_event ev = next((void *)102, secs);
    if (ev.type != GRPC_OP_COMPLETE)
        return NULL; /* still pending */
    g_pending = false;
    if (g_bb == NULL)
        return NULL;
    grpc_byte_buffer_reader r;
    grpc_byte_buffer_reader_init(&r, g_bb);
    grpc_slice s = grpc_byte_buffer_reader_readall(&r);
    req_t *q = envoy__service__load_stats__v3__load_stats_request__unpack(NULL, GRPC_SLICE_LENGTH(s),
                                                                          GRPC_SLICE_START_PTR(s));
    grpc_slice_unref(s);
    grpc_byte_buffer_reader_destroy(&r);
    grpc_byte_buffer_destroy(g_bb);
    g_bb = NULL;
    return q;
}

static void send_resp(srv_call_t *c, bool all, int ms)
{
    Envoy__Service__LoadStats__V3__LoadStatsResponse r = ENVOY__SERVICE__LOAD_STATS__V3__LOAD_STATS_RESPONSE__INIT;
    Google__Protobuf__Duration d = GOOGLE__PROTOBUF__DURATION__INIT;
    d.seconds = ms / 1000;
    d.nanos = (ms % 1000) * 1000000;
    r.send_all_clusters = all;
    r.load_reporting_interval = &d;
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&r.base, buf);
    grpc_slice s = grpc_slice_from_copied_buffer((const char *)buf, n);
    grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&s, 1);
    grpc_slice_unref(s);
    grpc_op op;
    memset(&op, 0, sizeof(op));
    op.op = GRPC_OP_SEND_MESSAGE;
    op.data.send_message.send_message = bb;
    grpc_call_start_batch(c->call, &op, 1, (void *)103, NULL);
    next((void *)103, 5);
    grpc_byte_buffer_destroy(bb);
}

static void end_call(srv_call_t *c)
{
    grpc_op op;
    memset(&op, 0, sizeof(op));
    grpc_slice msg = grpc_slice_from_static_string("test ends the stream");
    op.op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    op.data.send_status_from_server.status = GRPC_STATUS_UNAVAILABLE;
    op.data.send_status_from_server.status_details = &msg;
    grpc_call_start_batch(c->call, &op, 1, (void *)104, NULL);
    next((void *)104, 5);
    grpc_call_unref(c->call);
    grpc_call_details_destroy(&c->det);
    grpc_metadata_array_destroy(&c->md);
}

static bool has_feature(const req_t *q)
{
    for (size_t i = 0; q && q->node && i < q->node->n_client_features; i++)
        if (strcmp(q->node->client_features[i], "envoy.lrs.supports_send_all_clusters") == 0)
            return true;
    return false;
}

static dp_bootstrap_t *boot_load(int port)
{
    char yaml[1024];
    snprintf(yaml, sizeof(yaml),
             "node: {id: lrs-node, cluster: edge}\n"
             "cluster_manager:\n"
             "  load_stats_config:\n"
             "    api_type: GRPC\n"
             "    transport_api_version: V3\n"
             "    grpc_services: [{google_grpc: {target_uri: \"127.0.0.1:%d\", stat_prefix: lrs}}]\n",
             port);
    return boot_from_yaml(yaml);
}

int main(void)
{
    grpc_init();
    cq = grpc_completion_queue_create_for_next(NULL);
    srv = grpc_server_create(NULL, NULL);
    grpc_server_register_completion_queue(srv, cq, NULL);
    grpc_server_credentials *cr = grpc_insecure_server_credentials_create();
    int port = grpc_server_add_http2_port(srv, "127.0.0.1:0", cr);
    grpc_server_credentials_release(cr);
    grpc_server_start(srv);
    CHECK(port > 0);

    dp_bootstrap_t *b = boot_load(port);
    CHECK(b != NULL && b->has_lrs);
    char err[256];
    CHECK_INT(dp_lrs_client_start(b, err, sizeof(err)), 0);

    srv_call_t c;
    CHECK(accept_call(&c));
    req_t *q = recv_req(&c, 5);
    CHECK(q != NULL);
    CHECK(q && q->node && strcmp(q->node->id, "lrs-node") == 0);
    CHECK(has_feature(q));
    CHECK(q && q->n_cluster_stats == 0);
    if (q)
        envoy__service__load_stats__v3__load_stats_request__free_unpacked(q, NULL);

    /* no schedule yet: nothing comes */
    q = recv_req(&c, 1);
    CHECK(q == NULL);
    /* that read is still pending: the next message lands in it */
    uint64_t t0 = dp_now_ms();
    send_resp(&c, true, 300);
    q = recv_req(&c, 5); /* the pending read completes with the first report */
    CHECK(q != NULL);
    if (q)
        envoy__service__load_stats__v3__load_stats_request__free_unpacked(q, NULL);
    uint64_t t1 = dp_now_ms();
    CHECK(t1 - t0 >= 250 && t1 - t0 < 2000);
    q = recv_req(&c, 5);
    uint64_t t2 = dp_now_ms();
    CHECK(q != NULL && has_feature(q)); /* the Node every time, as Envoy */
    CHECK(t2 - t1 >= 250 && t2 - t1 < 2000);
    if (q)
        envoy__service__load_stats__v3__load_stats_request__free_unpacked(q, NULL);

    /* a new response replaces the schedule */
    send_resp(&c, false, 1200);
    t0 = dp_now_ms();
    q = recv_req(&c, 5);
    t1 = dp_now_ms();
    CHECK(q != NULL);
    CHECK(t1 - t0 >= 1000);
    if (q)
        envoy__service__load_stats__v3__load_stats_request__free_unpacked(q, NULL);

    /* the server ends the stream: the client comes back, Node first */
    end_call(&c);
    CHECK(accept_call(&c));
    q = recv_req(&c, 5);
    CHECK(q && q->node && strcmp(q->node->id, "lrs-node") == 0 && q->n_cluster_stats == 0);
    if (q)
        envoy__service__load_stats__v3__load_stats_request__free_unpacked(q, NULL);

    dp_lrs_client_stop();
    end_call(&c);
    grpc_server_shutdown_and_notify(srv, cq, (void *)999);
    grpc_server_cancel_all_calls(srv);
    next((void *)999, 5);
    grpc_server_destroy(srv);
    grpc_completion_queue_shutdown(cq);
    while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type != GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(cq);
    dp_bootstrap_free(b);
    grpc_shutdown();
    TEST_DONE();
}
