/* The ADS state as CSDS reports it (xds/csds.h): static resources from the
 * base snapshot's meta, every held resource from the stores, and the RDS /
 * EDS / SDS names asked for and not received. Read-only on the state; the
 * caller keeps the ADS thread out meanwhile (xds/ads_client.c). */
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "envoy/admin/v3/config_dump_shared.pb-c.h"
#include "xds/ads_int.h"
#include "xds/csds.h"
#include "xds/translate_tls.h"

/* A copy of a resource's bytes; a secret's with its keys redacted (as the
 * snapshot meta and /config_dump keep them). */
static void copy_raw(dp_res_type_t type, const uint8_t *data, size_t len, uint8_t **out, size_t *out_len)
{
    *out = NULL;
    *out_len = 0;
    if (data == NULL)
        return;
    if (type == DP_RES_SECRET && len > 0) {
        /* bytes that do not decode are not shown at all: they may hold keys */
        dp_xds_redact_raw(dp_resource_descriptor(DP_RES_SECRET), data, len, out, out_len);
        return;
    }
    *out = dp_xmalloc(len ? len : 1);
    if (len)
        memcpy(*out, data, len);
    *out_len = len;
}

static void add_held(dp_csds_status_t *st, const ads_res_t *r, bool contents)
{
    /* the latest accepted version: the warming one, if any, was ACKed */
    const ads_ver_t *v = r->warm ? r->warm : r->act;
    dp_csds_item_t *it = dp_csds_status_push(st);

    it->type_url = dp_csds_type_url(r->type);
    it->name = dp_xstrdup(r->name);
    it->version = dp_xstrdup(v && v->version ? v->version : "");
    if (v) {
        it->last_updated_ms = v->updated_ms;
        if (contents)
            copy_raw(r->type, v->raw, v->len, &it->raw, &it->raw_len);
    } else if (r->rej) {
        it->last_updated_ms = r->rej->ms;
    }
    it->client_status = ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__ACKED;
    if (r->rej) {
        it->client_status = ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__NACKED;
        it->error_details = dp_xstrdup(r->rej->nack ? r->rej->nack : r->rej->err);
        it->error_version = dp_xstrdup(r->rej->version ? r->rej->version : "");
        it->error_ms = r->rej->ms;
        if (contents)
            copy_raw(r->type, r->rej->bad, r->rej->bad_len, &it->bad, &it->bad_len);
    }
}

void dp_ads_status_collect(const dp_ads_t *a, bool contents, dp_csds_status_t *out)
{
    dp_csds_status_add_meta(out, a->base, contents, true);
    /* the order /config_dump lists them in, then the catalogue */
    static const dp_res_type_t order[] = {DP_RES_CLUSTER, DP_RES_ENDPOINT, DP_RES_LISTENER, DP_RES_ROUTE,
                                          DP_RES_SECRET,  DP_RES_CONTAINER, DP_RES_PROJECT};
    for (size_t k = 0; k < DP_ARRAY_SIZE(order); k++) {
        const ads_type_t *t = &a->t[order[k]];
        for (size_t i = 0; i < t->store.n; i++) {
            const ads_res_t *r = t->store.v[i];
            if (r->act || r->warm || r->rej)
                add_held(out, r, contents);
        }
        if (t->wildcard)
            continue;
        /* subscribed by name and not (yet) sent */
        ads_names_t need = {0};
        dp_ads__needed(a, t->type, &need);
        for (size_t i = 0; i < need.n; i++) {
            const ads_res_t *r = dp_ads__find(&t->store, need.v[i]);
            if (r && (r->act || r->warm || r->rej))
                continue;
            dp_csds_item_t *it = dp_csds_status_push(out);
            it->type_url = t->url;
            it->name = dp_xstrdup(need.v[i]);
            it->version = dp_xstrdup("");
            it->client_status = ENVOY__ADMIN__V3__CLIENT_RESOURCE_STATUS__REQUESTED;
        }
        dp_ads__names_free(&need);
    }
}
