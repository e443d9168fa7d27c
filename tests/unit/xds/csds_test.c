/* CSDS: the status of each resource as the ADS state holds it (xds/csds.h,
 * xds/ads_status.c) — ACKED with its version and bytes, NACKED with the
 * exact NACK text, the rejected version and the last good one still in
 * force, REQUESTED names, static resources — its ClientStatusResponse
 * encoding, and the gRPC server (xds/csds_server.c) in-process, called
 * with the grpc core client API: Fetch, Stream (two requests on one
 * stream), a refused node_matchers, an unknown method.
 *
 * Client mode, for tests/e2e/csds.sh:
 *   xds_csds_test --fetch HOST:PORT [--exclude]
 * calls FetchClientStatus and prints the response as JSON (exit 1 on a
 * gRPC error). */
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/slice.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "envoy/admin/v3/config_dump_shared.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "envoy/service/status/v3/csds.pb-c.h"
#include "test.h"
#include "xds/ads.h"
#include "xds/bootstrap.h"
#include "xds/csds.h"
#include "xds/csds_server.h"
#include "xds/pbjson.h"
#include "xds/translate.h"
#include "yaml_util.h"
#include "xds/typereg.h"

typedef Envoy__Service__Status__V3__ClientStatusResponse resp_t;
typedef Envoy__Service__Status__V3__ClientConfig__GenericXdsConfig gxc_t;

/* ---- a fake ADS transport ------------------------------------------------------- */

static struct {
    char *last_nack; /* error_detail.message of the last request that had one */
    size_t n_sent;
} F;

static void fake_send(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    Envoy__Service__Discovery__V3__DiscoveryRequest *r =
        envoy__service__discovery__v3__discovery_request__unpack(NULL, len, msg);
    F.n_sent++;
    if (r && r->error_detail) {
        free(F.last_nack);
        F.last_nack = strdup(r->error_detail->message);
    }
    if (r)
        envoy__service__discovery__v3__discovery_request__free_unpacked(r, NULL);
}

static int fake_commit(void *ctx, dp_snapshot_t *snap, const char **failed, char *errbuf, size_t errlen)
{
    (void)ctx, (void)snap, (void)failed, (void)errbuf, (void)errlen;
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return 1000000;
}

static const dp_ads_env_t ENV = {NULL, fake_send, fake_commit, fake_now};

static const char BOOT[] =
    "node: {id: csds-node, cluster: edge}\n"
    "dynamic_resources:\n"
    "  ads_config: {api_type: GRPC, transport_api_version: V3,\n"
    "               grpc_services: [{envoy_grpc: {cluster_name: xds}}]}\n"
    "  cds_config: {ads: {}, resource_api_version: V3}\n"
    "static_resources:\n"
    "  clusters:\n"
    "  - name: xds\n"
    "    type: STATIC\n"
    "    load_assignment: {cluster_name: xds, endpoints: [{lb_endpoints: [{endpoint: {address:\n"
    "      {socket_address: {address: 127.0.0.1, port_value: 18000}}}}]}]}\n";

static uint8_t *yaml_bytes(const char *type_url, const char *yaml, size_t *len)
{
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    char e[1024];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), dp_typereg_lookup(type_url), &o, &m, "test", e, sizeof(e)) != 0) {
        fprintf(stderr, "test YAML does not decode: %s\n%s\n", e, yaml);
        abort();
    }
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    return buf;
}

/* A SotW CDS response of YAML clusters. */
static void cds(dp_ads_t *a, const char *version, const char *nonce, const char *const *yamls, size_t n)
{
    Google__Protobuf__Any anys[8], *ap[8];
    for (size_t i = 0; i < n; i++) {
        google__protobuf__any__init(&anys[i]);
        anys[i].type_url = (char *)DP_TYPE_CLUSTER;
        anys[i].value.data = yaml_bytes(DP_TYPE_CLUSTER, yamls[i], &anys[i].value.len);
        ap[i] = &anys[i];
    }
    Envoy__Service__Discovery__V3__DiscoveryResponse r = ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_RESPONSE__INIT;
    r.version_info = (char *)version;
    r.type_url = (char *)DP_TYPE_CLUSTER;
    r.nonce = (char *)nonce;
    r.resources = ap;
    r.n_resources = n;
    size_t len = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(&r.base, buf);
    CHECK_INT(dp_ads_on_response(a, buf, len), 0);
    free(buf);
    for (size_t i = 0; i < n; i++)
        free(anys[i].value.data);
}

#define GOOD_C1                                                                                              \
    "name: c1\ntype: STATIC\nload_assignment: {cluster_name: c1, endpoints: [{lb_endpoints: "                \
    "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}}]}]}"
#define BAD_C1 "name: c1\ntype: STATIC\nlb_policy: MAGLEV"
#define EDS_C2 "name: c2\ntype: EDS\neds_cluster_config: {service_name: c2-eds, eds_config: {ads: {}}}"

static const dp_csds_item_t *item(const dp_csds_status_t *st, const char *url, const char *name)
{
    for (size_t i = 0; i < st->n; i++)
        if (strcmp(st->v[i].type_url, url) == 0 && strcmp(st->v[i].name, name) == 0)
            return &st->v[i];
    return NULL;
}

static const gxc_t *gxc(const resp_t *r, const char *url, const char *name)
{
    if (r == NULL || r->n_config != 1)
        return NULL;
    for (size_t i = 0; i < r->config[0]->n_generic_xds_configs; i++) {
        const gxc_t *g = r->config[0]->generic_xds_configs[i];
        if (strcmp(g->type_url, url) == 0 && strcmp(g->name, name) == 0)
            return g;
    }
    return NULL;
}

static void test_status(dp_bootstrap_t *b)
{
    dp_ads_t *a = dp_ads_new(b, false, &ENV);
    dp_ads_stream_start(a);
    const char *v1[] = {GOOD_C1, EDS_C2};
    cds(a, "v1", "n1", v1, 2);
    CHECK(F.last_nack == NULL);
    const char *v2[] = {BAD_C1, EDS_C2};
    cds(a, "v2", "n2", v2, 2);
    CHECK(F.last_nack != NULL);
    CHECK_HAS(F.last_nack, "c1: ");

    dp_csds_status_t st = {0};
    dp_ads_status_collect(a, true, &st);
    const dp_csds_item_t *s = item(&st, DP_TYPE_CLUSTER, "xds");
    CHECK(s && s->is_static && s->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED);
    const dp_csds_item_t *c1 = item(&st, DP_TYPE_CLUSTER, "c1");
    CHECK(c1 != NULL);
    if (c1) {
        CHECK_INT(c1->client_status, ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__NACKED);
        CHECK(!c1->is_static);
        CHECK_STR(c1->version, "v1"); /* the last good one, still in force */
        CHECK(c1->raw != NULL && c1->raw_len > 0);
        CHECK_STR(c1->error_details, F.last_nack); /* exactly what the NACK said */
        CHECK_STR(c1->error_version, "v2");
        CHECK(c1->error_ms > 0);
        CHECK(c1->bad != NULL && c1->bad_len > 0);
    }
    const dp_csds_item_t *c2 = item(&st, DP_TYPE_CLUSTER, "c2");
    CHECK(c2 && c2->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED);
    /* SotW: a resource's version is the response's that last changed it (as
     * Envoy's config_dump): c2 did not change in v2 */
    CHECK(c2 && strcmp(c2->version, "v1") == 0 && c2->error_details == NULL);
    const dp_csds_item_t *eds = item(&st, DP_TYPE_ENDPOINT, "c2-eds");
    CHECK(eds && eds->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__REQUESTED);
    CHECK(eds && eds->raw == NULL && eds->version[0] == '\0');

    /* the encoding, decoded with the real message types */
    static const char *const feats[] = {"f1"};
    (void)feats;
    Envoy__Config__Core__V3__Node node = ENVOY__CONFIG__CORE__V3__NODE__INIT;
    node.id = (char *)"csds-node";
    uint8_t nb[64];
    size_t nlen = protobuf_c_message_pack(&node.base, nb);
    size_t len;
    uint8_t *enc = dp_csds_encode_response(nb, nlen, &st, &len);
    resp_t *r = envoy__service__status__v3__client_status_response__unpack(NULL, len, enc);
    free(enc);
    CHECK(r && r->n_config == 1);
    CHECK(r && r->n_config == 1 && r->config[0]->node && strcmp(r->config[0]->node->id, "csds-node") == 0);
    const gxc_t *g = gxc(r, DP_TYPE_CLUSTER, "c1");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->client_status, ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__NACKED);
        CHECK_STR(g->version_info, "v1");
        CHECK(g->xds_config && strcmp(g->xds_config->type_url, DP_TYPE_CLUSTER) == 0);
        CHECK(g->last_updated && g->last_updated->seconds > 1600000000);
        CHECK(g->error_state != NULL);
        if (g->error_state) {
            CHECK_STR(g->error_state->details, F.last_nack);
            CHECK_STR(g->error_state->version_info, "v2");
            CHECK(g->error_state->last_update_attempt != NULL);
            CHECK(g->error_state->failed_configuration != NULL);
        }
        CHECK(!g->is_static_resource);
    }
    g = gxc(r, DP_TYPE_CLUSTER, "xds");
    CHECK(g && g->is_static_resource && g->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED);
    g = gxc(r, DP_TYPE_ENDPOINT, "c2-eds");
    CHECK(g && g->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__REQUESTED && g->xds_config == NULL);
    if (r)
        envoy__service__status__v3__client_status_response__free_unpacked(r, NULL);
    dp_csds_status_free(&st);

    /* without contents: no bytes */
    dp_ads_status_collect(a, false, &st);
    c1 = item(&st, DP_TYPE_CLUSTER, "c1");
    CHECK(c1 && c1->raw == NULL && c1->bad == NULL && c1->error_details != NULL);
    dp_csds_status_free(&st);

    /* a good update clears the NACK (the same bytes as v1: still v1's) */
    const char *v3[] = {GOOD_C1, EDS_C2};
    cds(a, "v3", "n3", v3, 2);
    dp_ads_status_collect(a, false, &st);
    c1 = item(&st, DP_TYPE_CLUSTER, "c1");
    CHECK(c1 && c1->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED);
    CHECK(c1 && strcmp(c1->version, "v1") == 0 && c1->error_details == NULL);
    dp_csds_status_free(&st);
    dp_ads_free(a);
}

static void test_request(void)
{
    bool ex = false;
    char err[256];
    Envoy__Service__Status__V3__ClientStatusRequest q = ENVOY__SERVICE__STATUS__V3__CLIENT_STATUS_REQUEST__INIT;
    q.exclude_resource_contents = true;
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&q.base, buf);
    CHECK_INT(dp_csds_decode_request(buf, n, &ex, err, sizeof(err)), 0);
    CHECK(ex);
    /* node_matchers (1): one empty NodeMatcher */
    const uint8_t nm[] = {0x0a, 0x00};
    CHECK_INT(dp_csds_decode_request(nm, sizeof(nm), &ex, err, sizeof(err)), DP_EINVAL);
    CHECK_HAS(err, "envoy.service.status.v3.ClientStatusRequest");
    CHECK_HAS(err, "(field 1): not supported");
    const uint8_t junk[] = {0x12, 0x05};
    CHECK_INT(dp_csds_decode_request(junk, sizeof(junk), &ex, err, sizeof(err)), DP_EINVAL);
}

/* ---- gRPC client (grpc core) -------------------------------------------------------- */

typedef struct rpc {
    grpc_channel *ch;
    grpc_completion_queue *cq;
    grpc_call *call;
    grpc_metadata_array md_init, md_trail;
    grpc_status_code status;
    grpc_slice details;
} rpc_t;

static bool wait_tag(rpc_t *r, void *tag)
{
    grpc_event ev = grpc_completion_queue_pluck(r->cq, tag, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                                         gpr_time_from_seconds(5, GPR_TIMESPAN)),
                                                NULL);
    return ev.type == GRPC_OP_COMPLETE && ev.success;
}

static void rpc_open(rpc_t *r, const char *addr, const char *method)
{
    memset(r, 0, sizeof(*r));
    grpc_channel_credentials *cr = grpc_insecure_credentials_create();
    r->ch = grpc_channel_create(addr, cr, NULL);
    grpc_channel_credentials_release(cr);
    r->cq = grpc_completion_queue_create_for_pluck(NULL);
    r->call = grpc_channel_create_call(r->ch, NULL, GRPC_PROPAGATE_DEFAULTS, r->cq, grpc_slice_from_static_string(method),
                                       NULL, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                                          gpr_time_from_seconds(10, GPR_TIMESPAN)),
                                       NULL);
    grpc_metadata_array_init(&r->md_init);
    grpc_metadata_array_init(&r->md_trail);
    r->details = grpc_empty_slice();
    grpc_op op[2];
    memset(op, 0, sizeof(op));
    op[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    op[1].op = GRPC_OP_RECV_INITIAL_METADATA;
    op[1].data.recv_initial_metadata.recv_initial_metadata = &r->md_init;
    grpc_call_start_batch(r->call, op, 2, (void *)1, NULL);
    wait_tag(r, (void *)1);
}

/* Sends one message (NULL: half-close), then reads one (NULL: none). */
static uint8_t *rpc_exchange(rpc_t *r, const uint8_t *msg, size_t len, size_t *out_len)
{
    grpc_op op[2];
    memset(op, 0, sizeof(op));
    grpc_byte_buffer *send = NULL, *recv = NULL;
    if (msg) {
        grpc_slice s = grpc_slice_from_copied_buffer((const char *)msg, len);
        send = grpc_raw_byte_buffer_create(&s, 1);
        grpc_slice_unref(s);
        op[0].op = GRPC_OP_SEND_MESSAGE;
        op[0].data.send_message.send_message = send;
    } else {
        op[0].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    }
    op[1].op = GRPC_OP_RECV_MESSAGE;
    op[1].data.recv_message.recv_message = &recv;
    grpc_call_start_batch(r->call, op, 2, (void *)2, NULL);
    wait_tag(r, (void *)2);
    if (send)
        grpc_byte_buffer_destroy(send);
    if (recv == NULL)
        return NULL;
    grpc_byte_buffer_reader rd;
    grpc_byte_buffer_reader_init(&rd, recv);
    grpc_slice s = grpc_byte_buffer_reader_readall(&rd);
    *out_len = GRPC_SLICE_LENGTH(s);
    uint8_t *out = malloc(*out_len + 1);
    memcpy(out, GRPC_SLICE_START_PTR(s), *out_len);
    grpc_slice_unref(s);
    grpc_byte_buffer_reader_destroy(&rd);
    grpc_byte_buffer_destroy(recv);
    return out;
}

/* Half-closes (if not yet) and reads the status. Returns it; details into
 * buf. */
static int rpc_close(rpc_t *r, bool half_close, char *buf, size_t len)
{
    grpc_op op[2];
    size_t n = 0;
    memset(op, 0, sizeof(op));
    if (half_close)
        op[n++].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    op[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    op[n].data.recv_status_on_client.trailing_metadata = &r->md_trail;
    op[n].data.recv_status_on_client.status = &r->status;
    op[n++].data.recv_status_on_client.status_details = &r->details;
    grpc_call_start_batch(r->call, op, n, (void *)3, NULL);
    if (!wait_tag(r, (void *)3))
        r->status = GRPC_STATUS_DEADLINE_EXCEEDED;
    char *d = grpc_slice_to_c_string(r->details);
    snprintf(buf, len, "%s", d);
    gpr_free(d);
    int st = (int)r->status;
    grpc_call_unref(r->call);
    grpc_metadata_array_destroy(&r->md_init);
    grpc_metadata_array_destroy(&r->md_trail);
    grpc_slice_unref(r->details);
    grpc_channel_destroy(r->ch);
    grpc_completion_queue_shutdown(r->cq);
    while (grpc_completion_queue_pluck(r->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
           GRPC_QUEUE_SHUTDOWN)
        ;
    grpc_completion_queue_destroy(r->cq);
    return st;
}

#define FETCH "/envoy.service.status.v3.ClientStatusDiscoveryService/FetchClientStatus"
#define STREAM "/envoy.service.status.v3.ClientStatusDiscoveryService/StreamClientStatus"

/* FetchClientStatus: returns the decoded response (or NULL) and the status. */
static resp_t *fetch(const char *addr, bool exclude, int *status, char *det, size_t detlen)
{
    Envoy__Service__Status__V3__ClientStatusRequest q = ENVOY__SERVICE__STATUS__V3__CLIENT_STATUS_REQUEST__INIT;
    q.exclude_resource_contents = exclude;
    uint8_t buf[64];
    size_t n = protobuf_c_message_pack(&q.base, buf), len = 0;
    rpc_t r;
    rpc_open(&r, addr, FETCH);
    uint8_t *out = rpc_exchange(&r, buf, n, &len);
    *status = rpc_close(&r, true, det, detlen);
    resp_t *resp = out ? envoy__service__status__v3__client_status_response__unpack(NULL, len, out) : NULL;
    free(out);
    return resp;
}

static void test_server(dp_bootstrap_t *b)
{
    int port = 0;
    char err[512], addr[64], det[512];
    CHECK_INT(dp_csds_server_start(b, "127.0.0.1:0", &port, err, sizeof(err)), 0);
    CHECK(port > 0);
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
    int st = -1;

    /* no ADS client runs here: the bootstrap's static resources */
    resp_t *r = fetch(addr, false, &st, det, sizeof(det));
    CHECK_INT(st, GRPC_STATUS_OK);
    CHECK(r && r->n_config == 1 && r->config[0]->node && strcmp(r->config[0]->node->id, "csds-node") == 0);
    const gxc_t *g = gxc(r, DP_TYPE_CLUSTER, "xds");
    CHECK(g && g->is_static_resource && g->client_status == ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED);
    CHECK(g && g->xds_config && g->xds_config->value.len > 0);
    if (r)
        envoy__service__status__v3__client_status_response__free_unpacked(r, NULL);
    r = fetch(addr, true, &st, det, sizeof(det));
    g = gxc(r, DP_TYPE_CLUSTER, "xds");
    CHECK(g && g->xds_config == NULL);
    if (r)
        envoy__service__status__v3__client_status_response__free_unpacked(r, NULL);

    /* a stream: two requests, two answers, then OK on half-close */
    rpc_t s;
    rpc_open(&s, addr, STREAM);
    const uint8_t empty[1] = {0};
    size_t len = 0;
    uint8_t *o1 = rpc_exchange(&s, empty, 0, &len);
    CHECK(o1 != NULL && len > 0);
    uint8_t *o2 = rpc_exchange(&s, empty, 0, &len);
    CHECK(o2 != NULL && len > 0);
    uint8_t *o3 = rpc_exchange(&s, NULL, 0, &len); /* half-close: no more answers */
    CHECK(o3 == NULL);
    CHECK_INT(rpc_close(&s, false, det, sizeof(det)), GRPC_STATUS_OK);
    free(o1);
    free(o2);
    free(o3);

    /* node_matchers is refused by name */
    rpc_t m;
    rpc_open(&m, addr, FETCH);
    const uint8_t nm[] = {0x0a, 0x00};
    uint8_t *o = rpc_exchange(&m, nm, sizeof(nm), &len);
    CHECK(o == NULL);
    free(o);
    CHECK_INT(rpc_close(&m, true, det, sizeof(det)), GRPC_STATUS_INVALID_ARGUMENT);
    CHECK_HAS(det, "(field 1): not supported");

    /* another method of another service */
    rpc_t u;
    rpc_open(&u, addr, "/envoy.service.status.v3.ClientStatusDiscoveryService/Nope");
    o = rpc_exchange(&u, empty, 0, &len);
    free(o);
    CHECK_INT(rpc_close(&u, true, det, sizeof(det)), GRPC_STATUS_UNIMPLEMENTED);
    dp_csds_server_stop();
    /* and it can start again (the port is free) */
    CHECK_INT(dp_csds_server_start(b, addr, NULL, err, sizeof(err)), 0);
    dp_csds_server_stop();
}

static int client_mode(const char *addr, bool exclude)
{
    char det[512];
    int st = -1;
    grpc_init();
    resp_t *r = fetch(addr, exclude, &st, det, sizeof(det));
    if (st != GRPC_STATUS_OK || r == NULL) {
        fprintf(stderr, "FetchClientStatus %s: grpc status %d: %s\n", addr, st, det);
        return 1;
    }
    char *json = dp_pbjson_print(&r->base, dp_typereg_lookup, DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES);
    printf("%s\n", json ? json : "null");
    free(json);
    envoy__service__status__v3__client_status_response__free_unpacked(r, NULL);
    grpc_shutdown();
    return json ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "--fetch") == 0)
        return client_mode(argv[2], argc >= 4 && strcmp(argv[3], "--exclude") == 0);
    grpc_init();
    dp_bootstrap_t *b = boot_from_yaml(BOOT);
    CHECK(b != NULL);
    if (b) {
        test_status(b);
        test_request();
        test_server(b);
        dp_bootstrap_free(b);
    }
    free(F.last_nack);
    grpc_shutdown();
    TEST_DONE();
}
