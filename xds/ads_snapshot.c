/* Snapshots of the ADS state (ads_int.h): the static base plus every
 * resource in force, with the meta admin needs, handed to env->commit; a
 * listener of the update that cannot be bound is rejected and the commit
 * retried without it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "xds/ads_int.h"
#include "xds/translate_tls.h"

static char *sdup(const char *s)
{
    return dp_xstrdup(s ? s : "");
}

/* ---- snapshot ------------------------------------------------------------------------ */

static dp_res_meta_t *meta_push(dp_snapshot_t *s, size_t *cap)
{
    if (s->n_meta == *cap) {
        *cap = *cap ? *cap * 2 : 32;
        s->meta = dp_xrealloc(s->meta, *cap * sizeof(*s->meta));
    }
    dp_res_meta_t *m = &s->meta[s->n_meta++];
    memset(m, 0, sizeof(*m));
    return m;
}

/* A secret's meta holds its encoding with the key material redacted:
 * nothing reads the keys back from a snapshot, and a dump cannot leak them. */
static void raw_copy_of(dp_res_type_t type, ProtobufCBinaryData *dst, const uint8_t *data, size_t len)
{
    if (type == DP_RES_SECRET && len > 0) {
        dp_xds_redact_raw(dp_resource_descriptor(DP_RES_SECRET), data, len, &dst->data, &dst->len);
        return;
    }
    dst->len = len;
    dst->data = NULL;
    if (len) {
        dst->data = dp_xmalloc(len);
        memcpy(dst->data, data, len);
    }
}

static void raw_copy(ProtobufCBinaryData *dst, const uint8_t *data, size_t len)
{
    dst->len = len;
    dst->data = NULL;
    if (len) {
        dst->data = dp_xmalloc(len);
        memcpy(dst->data, data, len);
    }
}

static void meta_dynamic(dp_snapshot_t *s, size_t *cap, const ads_res_t *r)
{
    dp_res_meta_t *m;

    if (r->rej || r->act) {
        m = meta_push(s, cap);
        m->type = r->type;
        m->name = dp_xstrdup(r->name);
        if (r->act) {
            m->version = sdup(r->act->version);
            m->last_updated_ms = r->act->updated_ms;
            raw_copy_of(r->type, &m->raw, r->act->raw, r->act->len);
        } else {
            m->last_updated_ms = r->rej->ms;
        }
        m->status = DP_RES_ACKED;
        if (r->rej) {
            m->status = DP_RES_NACKED;
            m->error_details = dp_xstrdup(r->rej->err);
            m->error_version = sdup(r->rej->version);
            m->error_ms = r->rej->ms;
        }
    }
    if (r->warm) {
        m = meta_push(s, cap);
        m->type = r->type;
        m->name = dp_xstrdup(r->name);
        m->version = sdup(r->warm->version);
        m->last_updated_ms = r->warm->updated_ms;
        raw_copy(&m->raw, r->warm->raw, r->warm->len);
        m->status = DP_RES_WARMING;
    }
}

static dp_snapshot_t *build(dp_ads_t *a)
{
    const dp_snapshot_t *b = a->base;
    const ads_store_t *ls = &a->t[DP_RES_LISTENER].store, *rs = &a->t[DP_RES_ROUTE].store;
    const ads_store_t *cs = &a->t[DP_RES_CLUSTER].store;
    dp_snapshot_t *s = dp_snapshot_new();
    size_t cap = 0;

    s->generation = ++a->generation;
    s->listeners = dp_xcalloc(b->n_listeners + ls->n + 1, sizeof(*s->listeners));
    for (size_t i = 0; i < b->n_listeners; i++) {
        dp_listener_cfg_t *l = b->listeners[i];
        for (size_t k = 0; k < a->n_statics; k++)
            if (a->statics[k].type == DP_RES_LISTENER && a->statics[k].cfg && strcmp(a->statics[k].name, l->name) == 0)
                l = a->statics[k].cfg; /* with the SDS secrets held */
        s->listeners[s->n_listeners++] = dp_listener_cfg_ref(l);
    }
    for (size_t i = 0; i < ls->n; i++)
        if (ls->v[i]->act && !dp_ads__static_listener(a, ls->v[i]->name))
            s->listeners[s->n_listeners++] = dp_listener_cfg_ref(ls->v[i]->act->cfg);

    s->clusters = dp_xcalloc(b->n_clusters + cs->n + 1, sizeof(*s->clusters));
    for (size_t i = 0; i < b->n_clusters; i++) {
        dp_cluster_cfg_t *c = b->clusters[i];
        for (size_t k = 0; k < a->n_statics; k++)
            if (a->statics[k].type == DP_RES_CLUSTER && a->statics[k].cfg && strcmp(a->statics[k].name, c->name) == 0)
                c = a->statics[k].cfg; /* with the CLA and SDS secrets held */
        s->clusters[s->n_clusters++] = dp_cluster_cfg_ref(c);
    }
    for (size_t i = 0; i < cs->n; i++)
        if (cs->v[i]->act && !dp_ads__static_cluster(a, cs->v[i]->name))
            s->clusters[s->n_clusters++] = dp_cluster_cfg_ref(cs->v[i]->act->cfg);

    s->routes = dp_xcalloc(b->n_routes + rs->n + 1, sizeof(*s->routes));
    for (size_t i = 0; i < b->n_routes; i++)
        s->routes[s->n_routes++] = dp_route_config_ref(b->routes[i]);
    for (size_t i = 0; i < rs->n; i++)
        if (rs->v[i]->act)
            s->routes[s->n_routes++] = dp_route_config_ref(rs->v[i]->act->cfg);

    for (size_t i = 0; i < b->n_meta; i++) {
        const dp_res_meta_t *o = &b->meta[i];
        dp_res_meta_t *m = meta_push(s, &cap);
        m->type = o->type;
        m->name = o->name ? dp_xstrdup(o->name) : NULL;
        m->version = o->version ? dp_xstrdup(o->version) : NULL;
        m->last_updated_ms = o->last_updated_ms;
        m->is_static = o->is_static;
        raw_copy(&m->raw, o->raw.data, o->raw.len);
        m->status = o->status;
        m->error_details = o->error_details ? dp_xstrdup(o->error_details) : NULL;
        m->error_version = o->error_version ? dp_xstrdup(o->error_version) : NULL;
        m->error_ms = o->error_ms;
    }
    /* Types in the order config_dump lists them. */
    static const dp_res_type_t order[] = {DP_RES_CLUSTER, DP_RES_ENDPOINT, DP_RES_LISTENER, DP_RES_ROUTE,
                                          DP_RES_SECRET};
    for (size_t k = 0; k < DP_ARRAY_SIZE(order); k++) {
        const ads_store_t *st = &a->t[order[k]].store;
        for (size_t i = 0; i < st->n; i++)
            meta_dynamic(s, &cap, st->v[i]);
    }
    raw_copy(&s->bootstrap, b->bootstrap.data, b->bootstrap.len);
    dp_snapshot_seal(s);
    return s;
}

/* A listener of this update could not be bound: back to the version it
 * replaced (or none), and the update is rejected with the bind error. */
static void reject_bound(dp_ads_t *a, ads_undo_t *u, const char *err)
{
    ads_res_t *r = u->res;
    ads_ver_t *bad = r->act;
    char msg[768];

    r->act = u->old;
    u->old = NULL;
    dp_ads__undo_drop(a, u);
    snprintf(msg, sizeof(msg), "address: cannot bind: %s", err[0] ? err : "failed");
    if (a->in_response && a->cur_type == DP_RES_LISTENER) {
        dp_ads__reject(a, DP_RES_LISTENER, r->name, bad->raw, bad->len, bad->version, msg);
    } else {
        /* Not tied to an LDS response (a warming listener promoted by its
         * route config or the timeout): admin shows it, no NACK. */
        dp_ads__set_err(a, r, bad->raw, bad->len, bad->version, msg);
        DP_WARN("xds: listener '%s' rejected: %s", r->name, msg);
    }
    dp_ads__ver_free(bad);
    dp_ads__refs_invalidate(a);
}

int dp_ads__commit(dp_ads_t *a)
{
    int rc = 0;

    while (a->dirty) {
        dp_snapshot_t *snap = build(a);
        const char *failed = NULL;
        char err[512] = "";
        char name[256] = "";

        a->dirty = false;
        rc = a->env.commit(a->env.ctx, snap, &failed, err, sizeof(err));
        if (rc == 0) {
            a->commit_err[0] = '\0';
            dp_snapshot_unref(snap);
            break;
        }
        if (failed)
            snprintf(name, sizeof(name), "%s", failed);
        dp_snapshot_unref(snap);
        ads_res_t *r = name[0] ? dp_ads__find(&a->t[DP_RES_LISTENER].store, name) : NULL;
        ads_undo_t *u = r ? dp_ads__undo_find(a, r) : NULL;
        if (u == NULL) {
            /* Nothing of this update to blame: the state stays as
             * accepted and the next change retries. */
            snprintf(a->commit_err, sizeof(a->commit_err), "commit failed%s%.200s: %.250s",
                     name[0] ? " at listener " : "", name, err);
            DP_ERROR("xds: %s", a->commit_err);
            break;
        }
        reject_bound(a, u, err);
        a->dirty = true;
    }
    while (a->n_undo)
        dp_ads__undo_drop(a, &a->undo[a->n_undo - 1]);
    return rc;
}
