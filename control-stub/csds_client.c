/* CSDS client of the control stub: see csds_client.h.
 *
 * Each poll is one unary call, started as a single batch (send the empty
 * ClientStatusRequest, half-close, receive the response and the status)
 * whose one completion ends it. A target removed by a fleet edit while its
 * poll is in flight detaches the poll, which frees itself on completion. */
#include "control-stub/csds_client.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/stub_call.h"
#include "control-stub/stub_pb.h"
#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"

#define CSDS_RESP_TYPE "envoy.service.status.v3.ClientStatusResponse"
#define DEADLINE_MS 900 /* an answer later than the next poll is useless */

typedef struct target target_t;

typedef struct poll {
    dp_stub_tag_t tag; /* first: the loop's callback */
    dp_stubcsds_t *cs;
    target_t *t; /* NULL: its target is gone */
    grpc_call *call;
    grpc_byte_buffer *send_bb, *recv_bb;
    grpc_metadata_array md_init, md_trail;
    grpc_status_code status;
    grpc_slice details;
} poll_t;

struct target {
    char *node, *addr;
    int from_arg; /* --csds: survives fleet edits */
    grpc_channel *ch;
    poll_t *inflight;
    int64_t next_ms; /* next poll due (monotonic) */
    json_t *result;  /* array of resources, or a string (the failure); NULL none yet */
    char at[32];     /* time of result */
};

struct dp_stubcsds {
    grpc_completion_queue *cq;
    int *live;
    target_t **t;
    size_t n;
};

dp_stubcsds_t *dp_stubcsds_create(grpc_completion_queue *cq, int *live)
{
    dp_stubcsds_t *c = dp_stub_xcalloc(1, sizeof *c);
    c->cq = cq;
    c->live = live;
    return c;
}

static target_t *csds_find(const dp_stubcsds_t *c, const char *node)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->t[i]->node, node) == 0)
            return c->t[i];
    return NULL;
}

static void csds_target_free(target_t *t)
{
    if (t->inflight != NULL) {
        t->inflight->t = NULL; /* it frees itself when it completes */
        grpc_call_cancel(t->inflight->call, NULL);
    }
    if (t->ch != NULL)
        grpc_channel_destroy(t->ch);
    json_decref(t->result);
    free(t->node);
    free(t->addr);
    free(t);
}

static void csds_target_add(dp_stubcsds_t *c, const char *node, const char *addr, int from_arg)
{
    target_t *t = dp_stub_xcalloc(1, sizeof *t);
    t->node = dp_stub_xstrdup(node);
    t->addr = dp_stub_xstrdup(addr);
    t->from_arg = from_arg;
    c->t = dp_stub_xrealloc(c->t, (c->n + 1) * sizeof *c->t);
    c->t[c->n++] = t;
    dp_stub_log("node %s: polling CSDS at %s", node, addr);
}

int dp_stubcsds_add_arg(dp_stubcsds_t *c, const char *spec)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || strchr(eq + 1, ':') == NULL)
        return DP_EINVAL;
    char *node = dp_stub_xstrdup(spec);
    node[eq - spec] = '\0';
    target_t *t = csds_find(c, node);
    if (t != NULL) {
        /* the last --csds for a node wins */
        for (size_t i = 0; i < c->n; i++)
            if (c->t[i] == t)
                c->t[i] = c->t[--c->n];
        csds_target_free(t);
    }
    csds_target_add(c, node, eq + 1, 1);
    free(node);
    return 0;
}

void dp_stubcsds_set_fleet(dp_stubcsds_t *c, const dp_fleet_t *f)
{
    /* drop fleet targets the fleet no longer names (or names elsewhere) */
    for (size_t i = 0; i < c->n;) {
        target_t *t = c->t[i];
        long k = t->from_arg ? -1 : dp_fleet_find_node(f, t->node);
        if (!t->from_arg && (k < 0 || f->nodes[k].csds == NULL || strcmp(f->nodes[k].csds, t->addr) != 0)) {
            c->t[i] = c->t[--c->n];
            csds_target_free(t);
            continue;
        }
        i++;
    }
    for (size_t k = 0; k < f->nnodes; k++)
        if (f->nodes[k].csds != NULL && csds_find(c, f->nodes[k].name) == NULL)
            csds_target_add(c, f->nodes[k].name, f->nodes[k].csds, 0);
}

static void csds_set_result(target_t *t, json_t *r)
{
    /* log transitions only: a poll a second would flood the log */
    if (json_is_string(r) && !(json_is_string(t->result) && json_equal(r, t->result)))
        dp_stub_log("node %s: CSDS poll of %s failed: %s", t->node, t->addr, json_string_value(r));
    else if (json_is_array(r) && !json_is_array(t->result))
        dp_stub_log("node %s: CSDS of %s answers (%zu resources)", t->node, t->addr, json_array_size(r));
    json_decref(t->result);
    t->result = r;
    dp_stub_now_iso(t->at, sizeof t->at);
}

static json_t *csds_resources_json(const json_t *resp)
{
    json_t *out = json_array();
    size_t i, k;
    json_t *cfg, *g;
    json_array_foreach(json_object_get(resp, "config"), i, cfg) {
        json_array_foreach(json_object_get(cfg, "generic_xds_configs"), k, g) {
            const json_t *es = json_object_get(g, "error_state");
            const char *cs = json_string_value(json_object_get(g, "client_status"));
            json_t *r = json_pack("{s:O?,s:O?,s:O?,s:s}", "type_url", json_object_get(g, "type_url"), "name",
                                  json_object_get(g, "name"), "version", json_object_get(g, "version_info"),
                                  "client_status", cs ? cs : "UNKNOWN"); /* proto3 omits the default */
            json_object_set(r, "error", es && json_object_get(es, "details") ? json_object_get(es, "details")
                                                                             : json_null());
            json_object_set(r, "error_version", es && json_object_get(es, "version_info")
                                                    ? json_object_get(es, "version_info")
                                                    : json_null());
            json_array_append_new(out, r);
        }
    }
    return out;
}

void dp_stubcsds_note_response(dp_stubcsds_t *c, const char *node, const json_t *resp)
{
    target_t *t = csds_find(c, node);
    if (t != NULL)
        csds_set_result(t, csds_resources_json(resp));
}

static void csds_poll_done(dp_stub_tag_t *tag, int ok)
{
    poll_t *p = (poll_t *)tag;
    target_t *t = p->t;
    if (t != NULL) {
        t->inflight = NULL;
        char err[512];
        if (!ok) {
            csds_set_result(t, json_string("the call failed"));
        } else if (p->status != GRPC_STATUS_OK || p->recv_bb == NULL) {
            char *d = grpc_slice_to_c_string(p->details);
            snprintf(err, sizeof err, "gRPC status %d%s%s", (int)p->status, d[0] ? ": " : "", d);
            gpr_free(d);
            csds_set_result(t, json_string(err));
        } else {
            grpc_byte_buffer_reader r;
            json_t *resp = NULL;
            if (grpc_byte_buffer_reader_init(&r, p->recv_bb)) {
                grpc_slice sl = grpc_byte_buffer_reader_readall(&r);
                grpc_byte_buffer_reader_destroy(&r);
                resp = dp_stub_pb_decode(CSDS_RESP_TYPE, GRPC_SLICE_START_PTR(sl), GRPC_SLICE_LENGTH(sl), err, sizeof err);
                grpc_slice_unref(sl);
            } else {
                snprintf(err, sizeof err, "cannot read the response");
            }
            csds_set_result(t, resp ? csds_resources_json(resp) : json_string(err));
            json_decref(resp);
        }
    }
    (*p->cs->live)--;
    grpc_byte_buffer_destroy(p->send_bb);
    if (p->recv_bb)
        grpc_byte_buffer_destroy(p->recv_bb);
    grpc_metadata_array_destroy(&p->md_init);
    grpc_metadata_array_destroy(&p->md_trail);
    grpc_slice_unref(p->details);
    grpc_call_unref(p->call);
    free(p);
}

static void csds_poll_start(dp_stubcsds_t *c, target_t *t)
{
    if (t->ch == NULL) {
        grpc_channel_credentials *cr = grpc_insecure_credentials_create();
        t->ch = grpc_channel_create(t->addr, cr, NULL);
        grpc_channel_credentials_release(cr);
    }
    poll_t *p = dp_stub_xcalloc(1, sizeof *p);
    p->tag.fn = csds_poll_done;
    p->cs = c;
    p->t = t;
    gpr_timespec deadline =
        gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(DEADLINE_MS, GPR_TIMESPAN));
    p->call = grpc_channel_create_call(t->ch, NULL, GRPC_PROPAGATE_DEFAULTS, c->cq,
                                       grpc_slice_from_static_string(DP_STUBCSDS_METHOD), NULL, deadline, NULL);
    /* an empty ClientStatusRequest (every field at its default) is zero bytes */
    grpc_slice empty = grpc_empty_slice();
    p->send_bb = grpc_raw_byte_buffer_create(&empty, 1);
    grpc_metadata_array_init(&p->md_init);
    grpc_metadata_array_init(&p->md_trail);
    p->details = grpc_empty_slice();
    grpc_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
    ops[1].op = GRPC_OP_SEND_MESSAGE;
    ops[1].data.send_message.send_message = p->send_bb;
    ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
    ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[3].data.recv_initial_metadata.recv_initial_metadata = &p->md_init;
    ops[4].op = GRPC_OP_RECV_MESSAGE;
    ops[4].data.recv_message.recv_message = &p->recv_bb;
    ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
    ops[5].data.recv_status_on_client.trailing_metadata = &p->md_trail;
    ops[5].data.recv_status_on_client.status = &p->status;
    ops[5].data.recv_status_on_client.status_details = &p->details;
    (*c->live)++;
    if (grpc_call_start_batch(p->call, ops, 6, &p->tag, NULL) != GRPC_CALL_OK) {
        p->t = NULL;
        csds_set_result(t, json_string("cannot start the call"));
        csds_poll_done(&p->tag, 0);
        return;
    }
    t->inflight = p;
}

void dp_stubcsds_tick(dp_stubcsds_t *c)
{
    int64_t now = dp_stub_now_ms();
    for (size_t i = 0; i < c->n; i++) {
        target_t *t = c->t[i];
        if (t->inflight != NULL || now < t->next_ms)
            continue;
        t->next_ms = now + DP_STUBCSDS_PERIOD_MS;
        csds_poll_start(c, t);
    }
}

void dp_stubcsds_status(const dp_stubcsds_t *c, json_t *nodes)
{
    for (size_t i = 0; i < c->n; i++) {
        const target_t *t = c->t[i];
        json_t *o = dp_stub_status_node(nodes, t->node);
        json_object_set(o, "csds", t->result ? t->result : json_null());
        json_object_set_new(o, "csds_address", json_string(t->addr));
        json_object_set_new(o, "csds_time", t->at[0] ? json_string(t->at) : json_null());
    }
}

void dp_stubcsds_cancel(dp_stubcsds_t *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->t[i]->inflight != NULL)
            grpc_call_cancel(c->t[i]->inflight->call, NULL);
}

void dp_stubcsds_destroy(dp_stubcsds_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        csds_target_free(c->t[i]);
    free(c->t);
    free(c);
}
