/* CSDS status items and their encoding (csds.h). */
#include "xds/csds.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "envoy/admin/v3/config_dump_shared.pb-c.h"
#include "envoy/service/status/v3/csds.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "xds/translate.h"
#include "xds/unknown.h"

typedef Envoy__Service__Status__V3__ClientConfig__GenericXdsConfig pb_gxc_t;

dp_csds_item_t *dp_csds_status_push(dp_csds_status_t *st)
{
    if (st->n == st->cap) {
        st->cap = st->cap ? st->cap * 2 : 32;
        st->v = dp_xrealloc(st->v, st->cap * sizeof(*st->v));
    }
    dp_csds_item_t *it = &st->v[st->n++];
    memset(it, 0, sizeof(*it));
    return it;
}

void dp_csds_status_free(dp_csds_status_t *st)
{
    for (size_t i = 0; i < st->n; i++) {
        dp_csds_item_t *it = &st->v[i];
        free(it->name);
        free(it->version);
        free(it->raw);
        free(it->error_details);
        free(it->error_version);
        free(it->bad);
    }
    free(st->v);
    memset(st, 0, sizeof(*st));
}

const char *dp_csds_type_url(dp_res_type_t type)
{
    switch (type) {
    case DP_RES_LISTENER:
        return DP_TYPE_LISTENER;
    case DP_RES_ROUTE:
        return DP_TYPE_ROUTE;
    case DP_RES_CLUSTER:
        return DP_TYPE_CLUSTER;
    case DP_RES_ENDPOINT:
        return DP_TYPE_ENDPOINT;
    case DP_RES_SECRET:
        return DP_TYPE_SECRET;
    case DP_RES_CONTAINER:
        return DP_TYPE_CONTAINER;
    case DP_RES_PROJECT:
        return DP_TYPE_PROJECT;
    default:
        return "";
    }
}

static char *dup_or_empty(const char *s)
{
    return dp_xstrdup(s ? s : "");
}

void dp_csds_status_add_meta(dp_csds_status_t *st, const dp_snapshot_t *snap, bool contents, bool only_static)
{
    for (size_t i = 0; snap && i < snap->n_meta; i++) {
        const dp_res_meta_t *m = &snap->meta[i];
        if (only_static && !m->is_static)
            continue;
        dp_csds_item_t *it = dp_csds_status_push(st);
        it->type_url = dp_csds_type_url(m->type);
        it->name = dup_or_empty(m->name);
        it->version = dup_or_empty(m->version);
        it->last_updated_ms = m->last_updated_ms;
        it->is_static = m->is_static;
        /* the meta's bytes are already redacted for secrets */
        if (contents && m->raw.len > 0) {
            it->raw = dp_xmalloc(m->raw.len);
            memcpy(it->raw, m->raw.data, m->raw.len);
            it->raw_len = m->raw.len;
        }
        it->client_status = m->status == DP_RES_NACKED ? ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__NACKED
                                                       : ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED;
        if (m->status == DP_RES_NACKED) {
            it->error_details = dup_or_empty(m->error_details);
            it->error_version = dup_or_empty(m->error_version);
            it->error_ms = m->error_ms;
        }
    }
}

int dp_csds_decode_request(const uint8_t *msg, size_t len, bool *exclude, char *errbuf, size_t errlen)
{
    Envoy__Service__Status__V3__ClientStatusRequest *r =
        envoy__service__status__v3__client_status_request__unpack(NULL, len, msg);
    if (r == NULL) {
        snprintf(errbuf, errlen, "envoy.service.status.v3.ClientStatusRequest: cannot decode");
        return DP_EINVAL;
    }
    int rc = dp_pb_check_unknown(&r->base, errbuf, errlen);
    if (rc == 0)
        *exclude = r->exclude_resource_contents;
    envoy__service__status__v3__client_status_request__free_unpacked(r, NULL);
    return rc == 0 ? 0 : DP_EINVAL;
}

static Google__Protobuf__Timestamp *timestamp(Google__Protobuf__Timestamp *ts, uint64_t ms)
{
    if (ms == 0)
        return NULL;
    google__protobuf__timestamp__init(ts);
    ts->seconds = (int64_t)(ms / 1000);
    ts->nanos = (int32_t)(ms % 1000) * 1000000;
    return ts;
}

/* The pieces of one GenericXdsConfig, allocated together so that packing
 * needs no per-field bookkeeping. */
typedef struct gxc_store {
    pb_gxc_t g;
    Google__Protobuf__Any any, bad_any;
    Google__Protobuf__Timestamp updated, attempt;
    Envoy__Admin__V3__UpdateFailureState fail;
} gxc_store_t;

uint8_t *dp_csds_encode_response(const uint8_t *node, size_t node_len, const dp_csds_status_t *st, size_t *len)
{
    Envoy__Service__Status__V3__ClientStatusResponse resp = ENVOY__SERVICE__STATUS__V3__CLIENT_STATUS_RESPONSE__INIT;
    Envoy__Service__Status__V3__ClientConfig cc = ENVOY__SERVICE__STATUS__V3__CLIENT_CONFIG__INIT;
    Envoy__Service__Status__V3__ClientConfig *ccs[1] = {&cc};
    gxc_store_t *gs = dp_xcalloc(st->n + 1, sizeof(*gs));
    pb_gxc_t **gv = dp_xcalloc(st->n + 1, sizeof(*gv));

    Envoy__Config__Core__V3__Node *n = node ? envoy__config__core__v3__node__unpack(NULL, node_len, node) : NULL;
    cc.node = n;
    for (size_t i = 0; i < st->n; i++) {
        const dp_csds_item_t *it = &st->v[i];
        gxc_store_t *s = &gs[i];
        envoy__service__status__v3__client_config__generic_xds_config__init(&s->g);
        s->g.type_url = (char *)it->type_url;
        s->g.name = it->name;
        s->g.version_info = it->version;
        if (it->raw) {
            google__protobuf__any__init(&s->any);
            s->any.type_url = (char *)it->type_url;
            s->any.value.data = it->raw;
            s->any.value.len = it->raw_len;
            s->g.xds_config = &s->any;
        }
        s->g.last_updated = timestamp(&s->updated, it->last_updated_ms);
        s->g.client_status = (Envoy__Admin__V3__ClientResourceStatus)it->client_status;
        s->g.is_static_resource = it->is_static;
        if (it->error_details) {
            envoy__admin__v3__update_failure_state__init(&s->fail);
            s->fail.details = it->error_details;
            s->fail.version_info = it->error_version ? it->error_version : (char *)"";
            s->fail.last_update_attempt = timestamp(&s->attempt, it->error_ms);
            if (it->bad) {
                google__protobuf__any__init(&s->bad_any);
                s->bad_any.type_url = (char *)it->type_url;
                s->bad_any.value.data = it->bad;
                s->bad_any.value.len = it->bad_len;
                s->fail.failed_configuration = &s->bad_any;
            }
            s->g.error_state = &s->fail;
        }
        gv[i] = &s->g;
    }
    cc.generic_xds_configs = gv;
    cc.n_generic_xds_configs = st->n;
    resp.config = ccs;
    resp.n_config = 1;
    *len = protobuf_c_message_get_packed_size(&resp.base);
    uint8_t *buf = dp_xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(&resp.base, buf);
    if (n)
        envoy__config__core__v3__node__free_unpacked(n, NULL);
    free(gv);
    free(gs);
    return buf;
}
