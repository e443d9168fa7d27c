/* The resource store of the ADS state machine (ads_int.h): updates,
 * rejections and deletions of single resources, Envoy's warming, the
 * references that drive RDS/EDS subscriptions, and the snapshot that
 * env->commit activates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/core/v3/config_source.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "filters/containers/catalogue.h"
#include "xds/ads_int.h"
#include "xds/translate.h"

typedef Envoy__Config__Cluster__V3__Cluster pb_cluster_t;
typedef Envoy__Config__Listener__V3__Listener pb_listener_t;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager pb_hcm_t;

static char *sdup(const char *s)
{
    return dp_xstrdup(s ? s : "");
}

/* ---- store -------------------------------------------------------------- */

/* Index of the first entry >= name. */
static size_t lower_bound(const ads_store_t *s, const char *name)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(s->v[mid]->name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

ads_res_t *dp_ads__find(const ads_store_t *s, const char *name)
{
    size_t i = lower_bound(s, name);
    return i < s->n && strcmp(s->v[i]->name, name) == 0 ? s->v[i] : NULL;
}

ads_res_t *dp_ads__get(ads_store_t *s, dp_res_type_t type, const char *name)
{
    size_t i = lower_bound(s, name);
    if (i < s->n && strcmp(s->v[i]->name, name) == 0)
        return s->v[i];
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->v = dp_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof(*s->v));
    ads_res_t *r = dp_xcalloc(1, sizeof(*r));
    r->name = dp_xstrdup(name);
    r->type = type;
    s->v[i] = r;
    s->n++;
    return r;
}

static int cmp_cstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

void dp_ads__store_reserve(ads_store_t *s, dp_res_type_t type, const char *const *names, size_t n)
{
    const char **add = dp_xcalloc(n + 1, sizeof(*add));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (names[i] && dp_ads__find(s, names[i]) == NULL)
            add[k++] = names[i];
    if (k == 0) {
        free(add);
        return;
    }
    qsort(add, k, sizeof(*add), cmp_cstr);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(add[u - 1], add[i]) != 0)
            add[u++] = add[i];
    if (s->n + u > s->cap) {
        s->cap = s->n + u;
        s->v = dp_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    /* merge from the back */
    size_t i = s->n, j = u, o = s->n + u;
    while (j > 0) {
        if (i > 0 && strcmp(s->v[i - 1]->name, add[j - 1]) > 0) {
            s->v[--o] = s->v[--i];
        } else {
            ads_res_t *r = dp_xcalloc(1, sizeof(*r));
            r->name = dp_xstrdup(add[--j]);
            r->type = type;
            s->v[--o] = r;
        }
    }
    s->n += u;
    free(add);
}

void dp_ads__ver_free(ads_ver_t *v)
{
    if (v == NULL)
        return;
    if (v->cfg) {
        switch (v->type) {
        case DP_RES_LISTENER:
            dp_listener_cfg_unref(v->cfg);
            break;
        case DP_RES_ROUTE:
            dp_route_config_unref(v->cfg);
            break;
        case DP_RES_CLUSTER:
            dp_cluster_cfg_unref(v->cfg);
            break;
        default:
            break;
        }
    }
    if (v->msg)
        protobuf_c_message_free_unpacked(v->msg, NULL);
    free(v->raw);
    free(v->version);
    free(v->dep);
    free(v);
}

static void clear_err_fields(ads_res_t *r)
{
    free(r->err);
    free(r->err_version);
    free(r->bad);
    r->err = r->err_version = NULL;
    r->bad = NULL;
    r->bad_len = 0;
    r->has_bad = false;
    r->err_ms = 0;
}

static void res_free(ads_res_t *r)
{
    dp_ads__ver_free(r->act);
    dp_ads__ver_free(r->warm);
    clear_err_fields(r);
    free(r->name);
    free(r);
}

void dp_ads__store_free(ads_store_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        res_free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static void store_delete(ads_store_t *s, const char *name)
{
    size_t i = lower_bound(s, name);
    if (i >= s->n || strcmp(s->v[i]->name, name) != 0)
        return;
    res_free(s->v[i]);
    memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
    s->n--;
}

/* ---- names -------------------------------------------------------------- */

void dp_ads__names_free(ads_names_t *n)
{
    for (size_t i = 0; i < n->n; i++)
        free(n->v[i]);
    free(n->v);
    n->v = NULL;
    n->n = 0;
}

bool dp_ads__names_eq(const ads_names_t *x, const ads_names_t *y)
{
    if (x->n != y->n)
        return false;
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->v[i], y->v[i]) != 0)
            return false;
    return true;
}

void dp_ads__names_copy(ads_names_t *dst, const ads_names_t *src)
{
    dp_ads__names_free(dst);
    dst->v = dp_xcalloc(src->n ? src->n : 1, sizeof(*dst->v));
    for (size_t i = 0; i < src->n; i++)
        dst->v[i] = dp_xstrdup(src->v[i]);
    dst->n = src->n;
}

/* ---- references ------------------------------------------------------------ */

static void refs_push(ads_refs_t *r, size_t *cap, const char *name, const ProtobufCMessage *cluster)
{
    if (name == NULL)
        return;
    if (r->n == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        r->v = dp_xrealloc(r->v, *cap * sizeof(*r->v));
    }
    r->v[r->n].name = name;
    r->v[r->n].cluster = cluster;
    r->n++;
}

static int cmp_ref(const void *x, const void *y)
{
    return strcmp(((const ads_ref_t *)x)->name, ((const ads_ref_t *)y)->name);
}

/* Everything that refers to RDS (listeners) or EDS (clusters) names:
 * static ones, and dynamic ones active or warming. Names are borrowed. */
static void collect_refs(const dp_ads_t *a, dp_res_type_t type, ads_refs_t *out)
{
    size_t cap = 0;

    out->v = NULL;
    out->n = 0;
    if (type == DP_RES_ROUTE) {
        for (size_t i = 0; i < a->base->n_listeners; i++) {
            const dp_listener_cfg_t *l = a->base->listeners[i];
            for (size_t c = 0; c < dp_listener_n_chains(l); c++) {
                const dp_hcm_cfg_t *h = dp_listener_chain(l, c)->hcm;
                refs_push(out, &cap, h ? h->rds_name : NULL, NULL);
            }
        }
        const ads_store_t *s = &a->t[DP_RES_LISTENER].store;
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i]->act)
                refs_push(out, &cap, s->v[i]->act->dep, NULL);
            if (s->v[i]->warm)
                refs_push(out, &cap, s->v[i]->warm->dep, NULL);
        }
    } else if (type == DP_RES_ENDPOINT) {
        for (size_t i = 0; i < a->n_seds; i++)
            refs_push(out, &cap, a->seds[i].dep, a->seds[i].msg);
        const ads_store_t *s = &a->t[DP_RES_CLUSTER].store;
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i]->act)
                refs_push(out, &cap, s->v[i]->act->dep, s->v[i]->act->msg);
            if (s->v[i]->warm)
                refs_push(out, &cap, s->v[i]->warm->dep, s->v[i]->warm->msg);
        }
    }
    if (out->n > 1)
        qsort(out->v, out->n, sizeof(*out->v), cmp_ref);
    /* unique */
    size_t k = 0;
    for (size_t i = 0; i < out->n; i++)
        if (k == 0 || strcmp(out->v[k - 1].name, out->v[i].name) != 0)
            out->v[k++] = out->v[i];
    out->n = k;
}

static const ads_ref_t *refs_find(const ads_refs_t *r, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->v[mid].name, name);
        if (c == 0)
            return &r->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void dp_ads__refs_invalidate(dp_ads_t *a)
{
    free(a->refs.v);
    a->refs.v = NULL;
    a->refs.n = 0;
    a->refs_valid = false;
}

bool dp_ads__referenced(dp_ads_t *a, dp_res_type_t type, const char *name, const ProtobufCMessage **cluster)
{
    if (!a->refs_valid || a->refs_type != type) {
        dp_ads__refs_invalidate(a);
        collect_refs(a, type, &a->refs);
        a->refs_valid = true;
        a->refs_type = type;
    }
    const ads_ref_t *r = refs_find(&a->refs, name);
    if (cluster)
        *cluster = r ? r->cluster : NULL;
    return r != NULL;
}

void dp_ads__needed(const dp_ads_t *a, dp_res_type_t type, ads_names_t *out)
{
    ads_refs_t r;
    collect_refs(a, type, &r);
    out->v = dp_xcalloc(r.n ? r.n : 1, sizeof(*out->v));
    out->n = r.n;
    for (size_t i = 0; i < r.n; i++)
        out->v[i] = dp_xstrdup(r.v[i].name);
    free(r.v);
}

/* ---- helpers on messages ------------------------------------------------------ */

static uint64_t cs_timeout(const Envoy__Config__Core__V3__ConfigSource *cs)
{
    uint64_t ms;
    if (cs == NULL || cs->initial_fetch_timeout == NULL)
        return ADS_DEFAULT_FETCH_TIMEOUT_MS;
    return dp_ads__duration_ms(&cs->initial_fetch_timeout->base, &ms) ? ms : ADS_DEFAULT_FETCH_TIMEOUT_MS;
}

/* The EDS service name of a Cluster message, NULL if not EDS (what the
 * translator computes; needed before translating to find the CLA). */
static const char *cluster_eds_name(const ProtobufCMessage *m)
{
    const pb_cluster_t *c = (const pb_cluster_t *)m;
    if (c->cluster_discovery_type_case != ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE ||
        c->type != ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS)
        return NULL;
    if (c->eds_cluster_config && c->eds_cluster_config->service_name &&
        c->eds_cluster_config->service_name[0])
        return c->eds_cluster_config->service_name;
    return c->name;
}

/* initial_fetch_timeout of the listener's Rds.config_source. The
 * translator accepted the listener, so its single filter chain holds the
 * HCM; anything odd falls back to the default. */
static uint64_t listener_rds_timeout(const ProtobufCMessage *m)
{
    const pb_listener_t *l = (const pb_listener_t *)m;
    const ProtobufCMessageDescriptor *d =
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor;
    uint64_t ms = ADS_DEFAULT_FETCH_TIMEOUT_MS;

    if (l->n_filter_chains < 1 || l->filter_chains[0]->n_filters < 1)
        return ms;
    const Envoy__Config__Listener__V3__Filter *f = l->filter_chains[0]->filters[0];
    if (f->config_type_case != ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG ||
        f->typed_config == NULL)
        return ms;
    pb_hcm_t *h = (pb_hcm_t *)protobuf_c_message_unpack(d, NULL, f->typed_config->value.len,
                                                        f->typed_config->value.data);
    if (h == NULL)
        return ms;
    if (h->route_specifier_case ==
            ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS &&
        h->rds != NULL)
        ms = cs_timeout(h->rds->config_source);
    protobuf_c_message_free_unpacked(&h->base, NULL);
    return ms;
}

static const ProtobufCMessage *held_cla(const dp_ads_t *a, const char *name)
{
    const ads_res_t *r = name ? dp_ads__find(&a->t[DP_RES_ENDPOINT].store, name) : NULL;
    return r && r->act ? r->act->msg : NULL;
}

static bool dep_held(const dp_ads_t *a, dp_res_type_t type, const char *dep)
{
    dp_res_type_t dt = type == DP_RES_LISTENER ? DP_RES_ROUTE : DP_RES_ENDPOINT;
    const ads_res_t *r = dp_ads__find(&a->t[dt].store, dep);
    return r != NULL && r->act != NULL;
}

bool dp_ads__static_listener(const dp_ads_t *a, const char *name)
{
    for (size_t i = 0; i < a->base->n_listeners; i++)
        if (strcmp(a->base->listeners[i]->name, name) == 0)
            return true;
    return false;
}

bool dp_ads__static_cluster(const dp_ads_t *a, const char *name)
{
    return dp_snapshot_find_cluster(a->base, name, strlen(name)) != NULL;
}

/* Re-translates a cluster version with a (new) CLA; keeps the old config
 * when that fails (the CLA was validated against a cluster already). */
static bool retranslate_cluster(dp_ads_t *a, const ProtobufCMessage *cluster, const ProtobufCMessage *cla,
                                dp_cluster_cfg_t **cfg)
{
    char err[1024] = "";
    dp_cluster_cfg_t *c = NULL;

    if (dp_translate_cluster(cluster, cla, &c, err, sizeof(err)) != 0) {
        snprintf(a->commit_err, sizeof(a->commit_err), "cluster re-translation failed: %.400s", err);
        return false;
    }
    dp_cluster_cfg_unref(*cfg);
    *cfg = c;
    a->dirty = true;
    return true;
}

static void retranslate_ver(dp_ads_t *a, ads_ver_t *v, const ProtobufCMessage *cla)
{
    dp_cluster_cfg_t *c = v->cfg;
    if (retranslate_cluster(a, v->msg, cla, &c))
        v->cfg = c;
}

/* ---- undo (bind failures) --------------------------------------------------- */

ads_undo_t *dp_ads__undo_find(dp_ads_t *a, const ads_res_t *r)
{
    for (size_t i = 0; i < a->n_undo; i++)
        if (a->undo[i].res == r)
            return &a->undo[i];
    return NULL;
}

void dp_ads__undo_drop(dp_ads_t *a, ads_undo_t *u)
{
    dp_ads__ver_free(u->old);
    *u = a->undo[--a->n_undo];
}

/* ---- accept / reject ------------------------------------------------------------- */

void dp_ads__set_err(dp_ads_t *a, ads_res_t *r, const uint8_t *data, size_t len, const char *version,
                     const char *err)
{
    clear_err_fields(r);
    r->err = sdup(err);
    r->err_version = sdup(version);
    r->err_ms = dp_wall_ms();
    r->bad = dp_xmalloc(len ? len : 1);
    if (len)
        memcpy(r->bad, data, len);
    r->bad_len = len;
    r->has_bad = true;
    a->dirty = true;
}

static void clear_err(dp_ads_t *a, ads_res_t *r)
{
    if (r->err == NULL && !r->has_bad)
        return;
    clear_err_fields(r);
    a->dirty = true;
}

void dp_ads__reject(dp_ads_t *a, dp_res_type_t type, const char *name, const uint8_t *data, size_t len,
                    const char *version, const char *err)
{
    dp_ads__nack_add(a, name, err);
    if (name == NULL || name[0] == '\0' || (unsigned)type >= ADS_NTYPES)
        return;
    /* An RDS/EDS resource no one asked for is not kept, even as an error. */
    if ((type == DP_RES_ROUTE || type == DP_RES_ENDPOINT) && !dp_ads__referenced(a, type, name, NULL))
        return;
    dp_ads__set_err(a, dp_ads__get(&a->t[type].store, type, name), data, len, version, err);
}

static void set_ttl(dp_ads_t *a, ads_res_t *r, uint64_t ttl_ms)
{
    r->ttl_ms = ttl_ms;
    r->ttl_deadline = ttl_ms ? dp_ads__now(a) + ttl_ms : 0;
    if (ttl_ms)
        a->t[r->type].ever_ttl = true;
}

void dp_ads__heartbeat(dp_ads_t *a, dp_res_type_t type, const char *name, uint64_t ttl_ms)
{
    ads_res_t *r = (unsigned)type < ADS_NTYPES ? dp_ads__find(&a->t[type].store, name) : NULL;
    if (r == NULL || (r->act == NULL && r->warm == NULL))
        return;
    if (ttl_ms == 0)
        ttl_ms = r->ttl_ms;
    if (ttl_ms)
        set_ttl(a, r, ttl_ms);
}

/* Makes `v` the listener in force, unless its address is taken. Takes
 * ownership of v. */
static bool activate_listener(dp_ads_t *a, ads_res_t *r, ads_ver_t *v)
{
    const dp_listener_cfg_t *l = v->cfg;
    const char *other = NULL;

    for (size_t i = 0; i < a->base->n_listeners && other == NULL; i++)
        if (strcmp(a->base->listeners[i]->addr_str, l->addr_str) == 0)
            other = a->base->listeners[i]->name;
    const ads_store_t *s = &a->t[DP_RES_LISTENER].store;
    for (size_t i = 0; i < s->n && other == NULL; i++) {
        const ads_res_t *o = s->v[i];
        if (o != r && o->act && strcmp(((const dp_listener_cfg_t *)o->act->cfg)->addr_str, l->addr_str) == 0)
            other = o->name;
    }
    if (other != NULL) {
        char err[512];
        snprintf(err, sizeof(err), "address: listener '%s' has the same address %s as listener '%s'", r->name,
                 l->addr_str, other);
        if (r->warm == v) {
            r->warm = NULL;
            r->warm_deadline = 0;
        }
        dp_ads__reject(a, DP_RES_LISTENER, r->name, v->raw, v->len, v->version, err);
        dp_ads__ver_free(v);
        dp_ads__refs_invalidate(a);
        return false;
    }
    if (r->warm == v)
        r->warm = NULL;
    dp_ads__ver_free(r->warm);
    r->warm = NULL;
    r->warm_deadline = 0;
    if (dp_ads__undo_find(a, r) != NULL) {
        dp_ads__ver_free(r->act); /* activated earlier in this same update */
    } else {
        if (a->n_undo == a->cap_undo) {
            a->cap_undo = a->cap_undo ? a->cap_undo * 2 : 8;
            a->undo = dp_xrealloc(a->undo, a->cap_undo * sizeof(*a->undo));
        }
        a->undo[a->n_undo].res = r;
        a->undo[a->n_undo].old = r->act;
        a->n_undo++;
    }
    r->act = v;
    a->dirty = true;
    dp_ads__refs_invalidate(a);
    return true;
}

static void activate_cluster(dp_ads_t *a, ads_res_t *r, ads_ver_t *v)
{
    if (r->warm == v)
        r->warm = NULL;
    dp_ads__ver_free(r->warm);
    r->warm = NULL;
    r->warm_deadline = 0;
    dp_ads__ver_free(r->act);
    r->act = v;
    a->dirty = true;
    dp_ads__refs_invalidate(a);
}

/* Translates msg into v (taking msg). `ref` is a Cluster referring to a CLA
 * (validation). Returns 0 or negative with err. */
static int translate(dp_ads_t *a, dp_res_type_t type, const char *name, const char *version,
                     ProtobufCMessage *msg, const ProtobufCMessage *ref, ads_ver_t *v, char *err, size_t errlen)
{
    int rc = DP_EINVAL;

    switch (type) {
    case DP_RES_LISTENER: {
        dp_listener_cfg_t *l = NULL;
        rc = dp_translate_listener(msg, &l, err, errlen);
        if (rc == 0) {
            v->cfg = l;
            /* TODO(filter chains): one RDS dependency per listener; chains
             * with different route configs warm on the first one only. */
            const dp_hcm_cfg_t *h = l->n_chains ? l->chains[0].hcm : NULL;
            if (h && h->rds_name) {
                v->dep = dp_xstrdup(h->rds_name);
                v->dep_timeout_ms = listener_rds_timeout(msg);
            }
        }
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    case DP_RES_ROUTE: {
        dp_route_config_t *rc_ = NULL;
        rc = dp_translate_route_config(msg, &rc_, err, errlen);
        if (rc == 0)
            v->cfg = rc_;
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    case DP_RES_CLUSTER: {
        dp_cluster_cfg_t *c = NULL;
        const char *eds = cluster_eds_name(msg);
        rc = dp_translate_cluster(msg, held_cla(a, eds), &c, err, errlen);
        if (rc == 0) {
            v->cfg = c;
            if (c->type == DP_CLUSTER_EDS && c->eds_service_name) {
                const pb_cluster_t *pc = (const pb_cluster_t *)msg;
                v->dep = dp_xstrdup(c->eds_service_name);
                v->dep_timeout_ms =
                    cs_timeout(pc->eds_cluster_config ? pc->eds_cluster_config->eds_config : NULL);
            }
            v->msg = msg;
        } else {
            protobuf_c_message_free_unpacked(msg, NULL);
        }
        break;
    }
    case DP_RES_ENDPOINT: {
        /* A CLA is valid when a cluster referring to it translates with
         * it; the errors are relative to the CLA's root. */
        dp_cluster_cfg_t *c = NULL;
        if (ref == NULL) {
            snprintf(err, errlen, "no cluster refers to it");
            rc = DP_EINVAL;
        } else {
            rc = dp_translate_cluster(ref, msg, &c, err, errlen);
        }
        dp_cluster_cfg_unref(c);
        if (rc == 0)
            v->msg = msg;
        else
            protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    case DP_RES_CONTAINER:
        /* Applied to the catalogue at once: readers see it now. */
        rc = dp_catalogue_put_container(name, msg, version, err, errlen);
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    case DP_RES_PROJECT:
        rc = dp_catalogue_put_project(name, msg, err, errlen);
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    default:
        snprintf(err, errlen, "unknown resource type");
        protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    return rc;
}

/* 64-bit FNV-1a then a mix: change detection of catalogue resources (an
 * unchanged resource re-sent by a server is not re-applied). */
static uint64_t bytes_digest(const uint8_t *d, size_t len)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ d[i]) * 1099511628211ull;
    h ^= h >> 31;
    h *= 0x7fb5d329728ea185ull;
    return h ^ (h >> 27);
}

static bool same_bytes(const ads_ver_t *v, const uint8_t *data, size_t len)
{
    if (v == NULL || v->len != len)
        return false;
    if (v->raw == NULL)
        return v->digest == bytes_digest(data, len);
    return len == 0 || memcmp(v->raw, data, len) == 0;
}

bool dp_ads__apply(dp_ads_t *a, dp_res_type_t type, const char *name, const uint8_t *data, size_t len,
                   ProtobufCMessage *msg, const char *version, uint64_t ttl_ms)
{
    const ProtobufCMessage *ref = NULL;
    char err[1024] = "";
    ads_res_t *r;
    ads_ver_t *v;

    if ((type == DP_RES_ROUTE || type == DP_RES_ENDPOINT) && !dp_ads__referenced(a, type, name, &ref)) {
        /* Not subscribed (any more): Envoy ignores such resources. */
        protobuf_c_message_free_unpacked(msg, NULL);
        return true;
    }
    if ((type == DP_RES_LISTENER && dp_ads__static_listener(a, name)) ||
        (type == DP_RES_CLUSTER && dp_ads__static_cluster(a, name))) {
        snprintf(err, sizeof(err), "name: '%s' is already a static %s (static_resources)", name,
                 type == DP_RES_LISTENER ? "listener" : "cluster");
        protobuf_c_message_free_unpacked(msg, NULL);
        dp_ads__reject(a, type, name, data, len, version, err);
        return false;
    }
    r = dp_ads__get(&a->t[type].store, type, name);

    /* Unchanged bytes: no translation (cost proportional to the change). */
    if (same_bytes(r->act, data, len) || same_bytes(r->warm, data, len)) {
        protobuf_c_message_free_unpacked(msg, NULL);
        if (r->warm && same_bytes(r->act, data, len)) {
            /* The server went back to the version in force. */
            dp_ads__ver_free(r->warm);
            r->warm = NULL;
            r->warm_deadline = 0;
            a->dirty = true;
            dp_ads__refs_invalidate(a);
        }
        clear_err(a, r);
        set_ttl(a, r, ttl_ms);
        return true;
    }
    if (r->has_bad && r->bad_len == len && (len == 0 || memcmp(r->bad, data, len) == 0) && r->err) {
        char *e = dp_xstrdup(r->err);
        protobuf_c_message_free_unpacked(msg, NULL);
        dp_ads__nack_add(a, name, e);
        if (strcmp(r->err_version ? r->err_version : "", version ? version : "") != 0) {
            free(r->err_version);
            r->err_version = sdup(version);
            a->dirty = true;
        }
        free(e);
        return false;
    }

    v = dp_xcalloc(1, sizeof(*v));
    v->type = type;
    if (translate(a, type, name, version, msg, ref, v, err, sizeof(err)) != 0) {
        dp_ads__ver_free(v);
        dp_ads__reject(a, type, name, data, len, version, err);
        return false;
    }
    if (DP_RES_IN_SNAPSHOT(type)) {
        v->raw = dp_xmalloc(len ? len : 1);
        if (len)
            memcpy(v->raw, data, len);
    } else {
        v->digest = bytes_digest(data, len);
    }
    v->len = len;
    v->version = sdup(version);
    v->updated_ms = dp_wall_ms();

    switch (type) {
    case DP_RES_LISTENER:
    case DP_RES_CLUSTER:
        if (v->dep && !dep_held(a, type, v->dep)) {
            /* Envoy's warming: the previous version (if any) keeps
             * serving until the dependency arrives or the timeout. */
            dp_ads__ver_free(r->warm);
            r->warm = v;
            r->warm_deadline = v->dep_timeout_ms ? dp_ads__now(a) + v->dep_timeout_ms : 0;
            a->dirty = true;
            dp_ads__refs_invalidate(a);
        } else if (type == DP_RES_LISTENER) {
            if (!activate_listener(a, r, v))
                return false;
        } else {
            activate_cluster(a, r, v);
        }
        break;
    case DP_RES_ROUTE:
        dp_ads__ver_free(r->act);
        r->act = v;
        a->dirty = true;
        break;
    case DP_RES_ENDPOINT:
        dp_ads__ver_free(r->act);
        r->act = v;
        r->changed = true;
        a->dirty = true;
        break;
    default:
        /* catalogue types: already in the catalogue; no snapshot to rebuild */
        dp_ads__ver_free(r->act);
        r->act = v;
        break;
    }
    clear_err(a, r);
    set_ttl(a, r, ttl_ms);
    return true;
}

/* Clusters (dynamic and static) in force that use CLA `name` lose their
 * endpoints. */
static void cla_gone(dp_ads_t *a, const char *name)
{
    ads_store_t *s = &a->t[DP_RES_CLUSTER].store;
    for (size_t i = 0; i < s->n; i++) {
        ads_ver_t *v = s->v[i]->act;
        if (v && v->dep && strcmp(v->dep, name) == 0)
            retranslate_ver(a, v, NULL);
    }
    for (size_t i = 0; i < a->n_seds; i++) {
        if (a->seds[i].cfg && strcmp(a->seds[i].dep, name) == 0) {
            dp_cluster_cfg_unref(a->seds[i].cfg);
            a->seds[i].cfg = NULL; /* back to the base's, without endpoints */
            a->dirty = true;
        }
    }
}

void dp_ads__remove(dp_ads_t *a, dp_res_type_t type, const char *name)
{
    if ((unsigned)type >= ADS_NTYPES)
        return;
    ads_store_t *s = &a->t[type].store;
    ads_res_t *r = dp_ads__find(s, name);
    if (r == NULL)
        return;
    ads_undo_t *u = dp_ads__undo_find(a, r);
    if (u)
        dp_ads__undo_drop(a, u);
    bool had_act = r->act != NULL;
    if ((r->act || r->warm || r->err) && DP_RES_IN_SNAPSHOT(type))
        a->dirty = true;
    store_delete(s, name);
    if (type == DP_RES_CONTAINER)
        dp_catalogue_del_container(name);
    else if (type == DP_RES_PROJECT)
        dp_catalogue_del_project(name);
    if (type == DP_RES_ENDPOINT && had_act)
        cla_gone(a, name);
    if (type == DP_RES_LISTENER || type == DP_RES_CLUSTER)
        dp_ads__refs_invalidate(a);
}

/* ---- settle, gc, timers ---------------------------------------------------------- */

static void gc(dp_ads_t *a, dp_res_type_t type)
{
    ads_store_t *s = &a->t[type].store;
    ads_refs_t refs;
    size_t k = 0;

    collect_refs(a, type, &refs);
    for (size_t i = 0; i < s->n; i++) {
        ads_res_t *r = s->v[i];
        if (refs_find(&refs, r->name) != NULL) {
            s->v[k++] = r;
            continue;
        }
        if (r->act || r->err)
            a->dirty = true;
        res_free(r);
    }
    s->n = k;
    free(refs.v);
}

void dp_ads__settle(dp_ads_t *a)
{
    ads_store_t *ls = &a->t[DP_RES_LISTENER].store;
    ads_store_t *cs = &a->t[DP_RES_CLUSTER].store;
    ads_store_t *es = &a->t[DP_RES_ENDPOINT].store;

    /* Warming listeners whose route config is now held. */
    for (size_t i = 0; i < ls->n; i++) {
        ads_res_t *r = ls->v[i];
        if (r->warm && r->warm->dep && dep_held(a, DP_RES_LISTENER, r->warm->dep))
            activate_listener(a, r, r->warm);
    }
    /* Warming clusters whose CLA is now held; clusters in force whose CLA
     * changed. */
    for (size_t i = 0; i < cs->n; i++) {
        ads_res_t *r = cs->v[i];
        if (r->warm && r->warm->dep) {
            const ProtobufCMessage *cla = held_cla(a, r->warm->dep);
            if (cla != NULL) {
                retranslate_ver(a, r->warm, cla);
                activate_cluster(a, r, r->warm);
                continue; /* translated with the CLA just now */
            }
        }
        if (r->act && r->act->dep) {
            ads_res_t *e = dp_ads__find(es, r->act->dep);
            if (e && e->changed)
                retranslate_ver(a, r->act, e->act ? e->act->msg : NULL);
        }
    }
    for (size_t i = 0; i < a->n_seds; i++) {
        ads_res_t *e = dp_ads__find(es, a->seds[i].dep);
        if (e && e->changed && e->act) {
            dp_cluster_cfg_t *c = a->seds[i].cfg;
            if (retranslate_cluster(a, a->seds[i].msg, e->act->msg, &c))
                a->seds[i].cfg = c;
        }
    }
    for (size_t i = 0; i < es->n; i++)
        es->v[i]->changed = false;
    dp_ads__refs_invalidate(a);
    gc(a, DP_RES_ROUTE);
    gc(a, DP_RES_ENDPOINT);
}

void dp_ads__expire(dp_ads_t *a, uint64_t now)
{
    /* Initial fetch timeouts of warming versions: in force without their
     * RDS/EDS (a cluster with no endpoints, a listener with no routes). */
    for (int t = 0; t < ADS_NTYPES; t++) {
        ads_store_t *s = &a->t[t].store;
        for (size_t i = 0; i < s->n; i++) {
            ads_res_t *r = s->v[i];
            if (r->warm == NULL || r->warm_deadline == 0 || r->warm_deadline > now)
                continue;
            if (t == DP_RES_LISTENER)
                activate_listener(a, r, r->warm);
            else
                activate_cluster(a, r, r->warm);
        }
    }
    /* TTL: removal as if deleted. Collect first: removal edits stores. */
    for (int t = 0; t < ADS_NTYPES; t++) {
        ads_store_t *s = &a->t[t].store;
        ads_names_t gone = {NULL, 0};
        if (!DP_RES_IN_SNAPSHOT(t) && !a->t[t].ever_ttl)
            continue;
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i]->ttl_deadline && s->v[i]->ttl_deadline <= now) {
                gone.v = dp_xrealloc(gone.v, (gone.n + 1) * sizeof(*gone.v));
                gone.v[gone.n++] = dp_xstrdup(s->v[i]->name);
            }
        }
        for (size_t i = 0; i < gone.n; i++) {
            DP_INFO("xds: %s '%s' expired (TTL)", a->t[t].url, gone.v[i]);
            dp_ads__remove(a, (dp_res_type_t)t, gone.v[i]);
        }
        dp_ads__names_free(&gone);
    }
}

/* ---- static base -------------------------------------------------------------------- */

void dp_ads__static_free(dp_ads_t *a)
{
    for (size_t i = 0; i < a->n_seds; i++) {
        free(a->seds[i].name);
        free(a->seds[i].dep);
        if (a->seds[i].msg)
            protobuf_c_message_free_unpacked(a->seds[i].msg, NULL);
        dp_cluster_cfg_unref(a->seds[i].cfg);
    }
    free(a->seds);
    a->seds = NULL;
    a->n_seds = 0;
}

void dp_ads__load_static(dp_ads_t *a)
{
    const dp_snapshot_t *b = a->base;

    dp_ads__static_free(a);
    for (size_t i = 0; i < b->n_meta; i++) {
        const dp_res_meta_t *m = &b->meta[i];
        ProtobufCMessage *msg = NULL;
        char err[256];
        if (m->type != DP_RES_CLUSTER || m->raw.len == 0 ||
            dp_resource_decode(DP_RES_CLUSTER, m->raw.data, m->raw.len, &msg, err, sizeof(err)) != 0)
            continue;
        const char *eds = cluster_eds_name(msg);
        if (eds == NULL) {
            protobuf_c_message_free_unpacked(msg, NULL);
            continue;
        }
        a->seds = dp_xrealloc(a->seds, (a->n_seds + 1) * sizeof(*a->seds));
        ads_static_eds_t *se = &a->seds[a->n_seds++];
        se->name = dp_xstrdup(m->name);
        se->dep = dp_xstrdup(eds);
        se->msg = msg;
        se->cfg = NULL;
        const ProtobufCMessage *cla = held_cla(a, eds);
        if (cla) {
            dp_cluster_cfg_t *c = NULL;
            if (retranslate_cluster(a, msg, cla, &c))
                se->cfg = c;
        }
    }
    dp_ads__refs_invalidate(a);
}
