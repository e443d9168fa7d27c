/* The control stub's gRPC server: see stub_server.h.
 *
 * One call is always waiting in grpc_server_request_call (the acceptor);
 * when it completes, another is requested at once and the call is handed
 * to the service of its method, which embeds the shared plumbing
 * (stub_call.h) in its stream. Shutdown: cancel every call and poll, then
 * drain the queue until the server's shutdown tag has come, no call is
 * live and the acceptor is back. */
#include "control-stub/stub_server.h"

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/ads_server.h"
#include "control-stub/csds_client.h"
#include "control-stub/hds_server.h"
#include "control-stub/lrs_server.h"
#include "control-stub/stub_call.h"
#include "control-stub/stub_pb.h"
#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"

#define SOTW_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources"
#define DELTA_METHOD "/envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources"

typedef struct acceptor {
    dp_stub_tag_t tag; /* first: the loop's callback */
    dp_stubsrv_t *srv;
    grpc_call *call;
    grpc_call_details details;
    grpc_metadata_array md;
} acceptor_t;

struct dp_stubsrv {
    grpc_server *server;
    grpc_completion_queue *cq;
    acceptor_t *accepting; /* waiting in grpc_server_request_call */
    int shutting_down;
    int live; /* calls and polls on the queue */
    unsigned next_id;
    dp_stubads_t *ads;
    dp_stublrs_t *lrs;
    dp_stubhds_t *hds;
    dp_stubcsds_t *csds;
    dp_fleet_t *fleet;         /* served (owned), NULL when none or replaying */
    dp_stub_index_t containers; /* container id -> index into fleet */
};

/* ---- a method nobody serves ---- */

static void unimpl_message(dp_stub_call_t *c, const uint8_t *buf, size_t len)
{
    (void)c, (void)buf, (void)len;
}

static void unimpl_sent(dp_stub_call_t *c)
{
    (void)c;
}

static void unimpl_free(dp_stub_call_t *c)
{
    dp_stub_call_release(c);
    free(c);
}

static const dp_stub_call_ops_t unimpl_ops = {unimpl_message, unimpl_sent, unimpl_free};

/* ---- accepting ---- */

static void on_accept(dp_stub_tag_t *tag, int ok);

static void request_call(dp_stubsrv_t *srv)
{
    acceptor_t *a = dp_stub_xcalloc(1, sizeof *a);
    a->tag.fn = on_accept;
    a->srv = srv;
    grpc_call_details_init(&a->details);
    grpc_metadata_array_init(&a->md);
    if (grpc_server_request_call(srv->server, &a->call, &a->details, &a->md, srv->cq, srv->cq, &a->tag) !=
        GRPC_CALL_OK) {
        dp_stub_log("grpc_server_request_call failed: no more streams will be accepted");
        grpc_call_details_destroy(&a->details);
        grpc_metadata_array_destroy(&a->md);
        free(a);
        return;
    }
    srv->accepting = a;
}

static void on_accept(dp_stub_tag_t *tag, int ok)
{
    acceptor_t *a = (acceptor_t *)tag;
    dp_stubsrv_t *srv = a->srv;
    if (srv->accepting == a)
        srv->accepting = NULL;
    if (ok && !srv->shutting_down)
        request_call(srv);
    if (ok) {
        unsigned id = ++srv->next_id;
        char *method = grpc_slice_to_c_string(a->details.method);
        if (strcmp(method, SOTW_METHOD) == 0 || strcmp(method, DELTA_METHOD) == 0) {
            dp_stubads_accept(srv->ads, a->call, strcmp(method, DELTA_METHOD) == 0, id, &srv->live);
        } else if (strcmp(method, DP_STUBLRS_METHOD) == 0) {
            dp_stublrs_accept(srv->lrs, a->call, id, &srv->live);
        } else if (strcmp(method, DP_STUBHDS_METHOD) == 0) {
            dp_stubhds_accept(srv->hds, a->call, id, &srv->live);
        } else {
            dp_stub_call_t *c = dp_stub_xcalloc(1, sizeof *c);
            if (dp_stub_call_start(c, &unimpl_ops, a->call, id, &srv->live) == 0) {
                dp_stub_log("stream %u from %s: method %s not implemented", id, c->peer, method);
                dp_stub_call_finish(c, GRPC_STATUS_UNIMPLEMENTED, "only the ADS, LRS and HDS methods are served");
            }
        }
        gpr_free(method);
    }
    /* !ok: the server is shutting down and no call came */
    grpc_call_details_destroy(&a->details);
    grpc_metadata_array_destroy(&a->md);
    free(a);
}

/* ---- public ---- */

int dp_stubsrv_create(const char *listen, unsigned lrs_interval_ms, dp_stubsrv_t **out, int *port, char *errbuf,
                      size_t errlen)
{
    grpc_init();
    dp_stubsrv_t *srv = dp_stub_xcalloc(1, sizeof *srv);
    srv->cq = grpc_completion_queue_create_for_next(NULL);
    srv->ads = dp_stubads_create();
    srv->lrs = dp_stublrs_create(lrs_interval_ms);
    srv->hds = dp_stubhds_create();
    srv->csds = dp_stubcsds_create(srv->cq, &srv->live);
    /* A data plane holding 100k containers resubscribes with 100k
     * initial_resource_versions (~5 MB): above grpc's 4 MiB default. */
    grpc_arg args[] = {
        {.type = GRPC_ARG_INTEGER, .key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, .value.integer = 64 << 20},
    };
    grpc_channel_args chargs = {.num_args = 1, .args = args};
    srv->server = grpc_server_create(&chargs, NULL);
    grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
    grpc_server_credentials *cr = grpc_insecure_server_credentials_create();
    int p = grpc_server_add_http2_port(srv->server, listen, cr);
    grpc_server_credentials_release(cr);
    grpc_server_start(srv->server);
    if (p == 0) {
        snprintf(errbuf, errlen, "cannot listen on %s", listen);
        dp_stubsrv_destroy(srv);
        return DP_ERR;
    }
    request_call(srv);
    *port = p;
    *out = srv;
    return 0;
}

static void fleet_drop(dp_stubsrv_t *srv)
{
    dp_stub_index_free(&srv->containers);
    memset(&srv->containers, 0, sizeof srv->containers);
    dp_fleet_free(srv->fleet);
    srv->fleet = NULL;
}

int dp_stubsrv_set_fleet(dp_stubsrv_t *srv, dp_fleet_t *f, char *errbuf, size_t errlen)
{
    int rc = dp_stubads_set_fleet(srv->ads, f, errbuf, errlen);
    if (rc != 0)
        return rc;
    dp_stubhds_set_fleet(srv->hds, f);
    dp_stubcsds_set_fleet(srv->csds, f);
    fleet_drop(srv);
    srv->fleet = f;
    for (size_t i = 0; i < f->ncontainers; i++)
        dp_stub_index_put(&srv->containers, f->containers[i].id, i);
    return 0;
}

int dp_stubsrv_container_state(dp_stubsrv_t *srv, const char *id, int running, char *errbuf, size_t errlen)
{
    size_t ci = srv->fleet ? dp_stub_index_get(&srv->containers, id) : (size_t)-1;
    if (ci == (size_t)-1) {
        snprintf(errbuf, errlen, "no container %s in the fleet", id);
        return DP_ENOENT;
    }
    dp_fleet_container_t *c = &srv->fleet->containers[ci];
    if (running && c->naddresses == 0) {
        snprintf(errbuf, errlen, "container %s has no addresses: it cannot run", id);
        return DP_EINVAL;
    }
    int was = c->running;
    c->running = running;
    dp_xres_t r;
    int rc = dp_fleet_translate_container(srv->fleet, ci, &r, errbuf, errlen);
    if (rc != 0) {
        c->running = was;
        return rc;
    }
    rc = dp_stubads_put(srv->ads, srv->fleet->nodes[c->node].name, DP_XT_CONTAINER, &r);
    return rc < 0 ? rc : 0;
}

void dp_stubsrv_set_replay(dp_stubsrv_t *srv, const dp_replay_t *rp)
{
    dp_stubads_set_replay(srv->ads, rp);
}

int dp_stubsrv_add_csds(dp_stubsrv_t *srv, const char *spec)
{
    return dp_stubcsds_add_arg(srv->csds, spec);
}

char *dp_stubsrv_status_json(dp_stubsrv_t *srv)
{
    json_t *nodes = dp_stubads_status(srv->ads);
    dp_stublrs_status(srv->lrs, nodes);
    dp_stubhds_status(srv->hds, nodes);
    dp_stubcsds_status(srv->csds, nodes);
    /* every node has every key, so a reader never tests for presence */
    const char *key;
    json_t *o;
    json_object_foreach(nodes, key, o) {
        if (json_object_get(o, "load") == NULL)
            json_object_set_new(o, "load", json_null());
        if (json_object_get(o, "unhealthy") == NULL)
            json_object_set_new(o, "unhealthy", json_array());
        if (json_object_get(o, "csds") == NULL)
            json_object_set_new(o, "csds", json_null());
    }
    json_t *root = json_pack("{s:o}", "nodes", nodes);
    char *out = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
    json_decref(root);
    return out;
}

void dp_stubsrv_poll(dp_stubsrv_t *srv, int timeout_ms)
{
    dp_stubcsds_tick(srv->csds);
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
    for (;;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, deadline, NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            return;
        ((dp_stub_tag_t *)ev.tag)->fn(ev.tag, ev.success);
        /* drain what is ready without waiting again */
        deadline = gpr_time_0(GPR_CLOCK_MONOTONIC);
    }
}

static void on_shutdown(dp_stub_tag_t *tag, int ok)
{
    (void)tag, (void)ok;
}

void dp_stubsrv_destroy(dp_stubsrv_t *srv)
{
    if (srv == NULL)
        return;
    dp_stub_tag_t shutdown_tag = {on_shutdown};
    srv->shutting_down = 1;
    grpc_server_shutdown_and_notify(srv->server, srv->cq, &shutdown_tag);
    grpc_server_cancel_all_calls(srv->server);
    dp_stubcsds_cancel(srv->csds);
    /* Every call's close completes once it is cancelled, the polls complete
     * cancelled, and the pending request_call completes with ok = 0. */
    for (int done = 0; !done || srv->live > 0 || srv->accepting != NULL;) {
        grpc_event ev = grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
        if (ev.type != GRPC_OP_COMPLETE)
            break;
        if (ev.tag == &shutdown_tag)
            done = 1;
        else
            ((dp_stub_tag_t *)ev.tag)->fn(ev.tag, ev.success);
    }
    grpc_server_destroy(srv->server);
    dp_stubcsds_destroy(srv->csds);
    grpc_completion_queue_shutdown(srv->cq);
    while (grpc_completion_queue_next(srv->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    grpc_completion_queue_destroy(srv->cq);
    dp_stubads_destroy(srv->ads);
    dp_stublrs_destroy(srv->lrs);
    dp_stubhds_destroy(srv->hds);
    fleet_drop(srv);
    free(srv);
    grpc_shutdown();
}
