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

/* One allocation with the name after the record (100k catalogue
 * resources: a malloc chunk each saved). */
static ads_res_t *res_new(dp_res_type_t type, const char *name)
{
    size_t len = strlen(name);
    ads_res_t *r = dp_xcalloc(1, sizeof(*r) + len + 1);
    r->name = (char *)(r + 1);
    memcpy(r->name, name, len + 1);
    r->type = type;
    return r;
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
    s->v[i] = res_new(type, name);
    s->n++;
    return s->v[i];
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
            s->v[--o] = res_new(type, add[--j]);
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
    if (v->version != (char *)(v + 1))
        free(v->version); /* else allocated with v (dp_ads__apply) */
    for (size_t i = 0; i < v->n_deps; i++)
        free(v->deps[i].name);
    free(v->deps);
    free(v);
}

static void clear_err_fields(ads_res_t *r)
{
    if (r->rej == NULL)
        return;
    free(r->rej->err);
    free(r->rej->version);
    free(r->rej->nack);
    free(r->rej->bad);
    free(r->rej);
    r->rej = NULL;
}

static void res_free(ads_res_t *r)
{
    dp_ads__ver_free(r->act);
    dp_ads__ver_free(r->warm);
    clear_err_fields(r);
    free(r); /* the name with it */
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

static void refs_push_deps(ads_refs_t *r, size_t *cap, const ads_dep_t *d, size_t n, dp_res_type_t type,
                           const ProtobufCMessage *cluster)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].type == type)
            refs_push(r, cap, d[i].name, cluster);
}

/* Everything that refers to RDS (listeners), EDS (clusters) or SDS (both)
 * names: static ones, and dynamic ones active or warming. Names are
 * borrowed. */
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
    }
    if (type == DP_RES_ROUTE || type == DP_RES_SECRET) {
        const ads_store_t *s = &a->t[DP_RES_LISTENER].store;
        for (size_t i = 0; i < s->n; i++) {
            if (s->v[i]->act)
                refs_push_deps(out, &cap, s->v[i]->act->deps, s->v[i]->act->n_deps, type, NULL);
            if (s->v[i]->warm)
                refs_push_deps(out, &cap, s->v[i]->warm->deps, s->v[i]->warm->n_deps, type, NULL);
        }
    }
    if (type == DP_RES_ENDPOINT || type == DP_RES_SECRET) {
        const ads_store_t *s = &a->t[DP_RES_CLUSTER].store;
        for (size_t i = 0; i < s->n; i++) {
            const ads_ver_t *v = s->v[i]->act;
            if (v)
                refs_push_deps(out, &cap, v->deps, v->n_deps, type, v->msg);
            v = s->v[i]->warm;
            if (v)
                refs_push_deps(out, &cap, v->deps, v->n_deps, type, v->msg);
        }
    }
    if (type == DP_RES_ENDPOINT || type == DP_RES_SECRET)
        for (size_t i = 0; i < a->n_statics; i++)
            refs_push_deps(out, &cap, a->statics[i].deps, a->statics[i].n_deps, type,
                           a->statics[i].type == DP_RES_CLUSTER ? a->statics[i].msg : NULL);
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

uint64_t dp_ads__cs_timeout(const Envoy__Config__Core__V3__ConfigSource *cs)
{
    uint64_t ms;
    if (cs == NULL || cs->initial_fetch_timeout == NULL)
        return ADS_DEFAULT_FETCH_TIMEOUT_MS;
    return dp_ads__duration_ms(&cs->initial_fetch_timeout->base, &ms) ? ms : ADS_DEFAULT_FETCH_TIMEOUT_MS;
}

/* The EDS service name of a Cluster message, NULL if not EDS (what the
 * translator computes; needed before translating to find the CLA). */
const char *dp_ads__cluster_eds_name(const ProtobufCMessage *m)
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

const char *dp_ads__ver_dep(const ads_ver_t *v, dp_res_type_t type)
{
    for (size_t i = 0; v && i < v->n_deps; i++)
        if (v->deps[i].type == type)
            return v->deps[i].name;
    return NULL;
}

void dp_ads__ver_add_dep(ads_ver_t *v, dp_res_type_t type, const char *name, uint64_t timeout_ms)
{
    /* Envoy's init manager: the version warms until every target is
     * ready or timed out; one without a timeout waits for good */
    if (v->n_deps == 0)
        v->dep_timeout_ms = timeout_ms;
    else if (v->dep_timeout_ms != 0)
        v->dep_timeout_ms = timeout_ms == 0 ? 0 : DP_MAX(v->dep_timeout_ms, timeout_ms);
    for (size_t i = 0; i < v->n_deps; i++)
        if (v->deps[i].type == type && strcmp(v->deps[i].name, name) == 0)
            return;
    v->deps = dp_xrealloc(v->deps, (v->n_deps + 1) * sizeof(*v->deps));
    v->deps[v->n_deps].type = type;
    v->deps[v->n_deps].name = dp_xstrdup(name);
    v->n_deps++;
}

/* The RDS dependencies of a translated listener: each chain's
 * rds.route_config_name with its config source's initial_fetch_timeout. */
static void listener_rds_deps(const ProtobufCMessage *m, ads_ver_t *v)
{
    const pb_listener_t *l = (const pb_listener_t *)m;
    const ProtobufCMessageDescriptor *d =
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor;

    for (size_t c = 0; c <= l->n_filter_chains; c++) {
        const Envoy__Config__Listener__V3__FilterChain *fc =
            c < l->n_filter_chains ? l->filter_chains[c] : l->default_filter_chain;
        if (fc == NULL || fc->n_filters < 1)
            continue;
        const Envoy__Config__Listener__V3__Filter *f = fc->filters[0];
        if (f->config_type_case != ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG ||
            f->typed_config == NULL)
            continue;
        pb_hcm_t *h = (pb_hcm_t *)protobuf_c_message_unpack(d, NULL, f->typed_config->value.len,
                                                            f->typed_config->value.data);
        if (h == NULL)
            continue;
        if (h->route_specifier_case ==
                ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS &&
            h->rds != NULL && h->rds->route_config_name && h->rds->route_config_name[0])
            dp_ads__ver_add_dep(v, DP_RES_ROUTE, h->rds->route_config_name, dp_ads__cs_timeout(h->rds->config_source));
        protobuf_c_message_free_unpacked(&h->base, NULL);
    }
}

const ProtobufCMessage *dp_ads__held_cla(const dp_ads_t *a, const char *name)
{
    const ads_res_t *r = name ? dp_ads__find(&a->t[DP_RES_ENDPOINT].store, name) : NULL;
    return r && r->act ? r->act->msg : NULL;
}

/* Every dependency of v arrived. */
static bool deps_held(const dp_ads_t *a, const ads_ver_t *v)
{
    for (size_t i = 0; i < v->n_deps; i++) {
        const ads_res_t *r = dp_ads__find(&a->t[v->deps[i].type].store, v->deps[i].name);
        if (r == NULL || r->act == NULL)
            return false;
    }
    return true;
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

/* Re-translates a cluster with the CLA held now; keeps the old config
 * when that fails (the CLA was validated against a cluster already). */
static bool retranslate_cluster(dp_ads_t *a, const ProtobufCMessage *cluster, dp_cluster_cfg_t **cfg)
{
    char err[1024] = "";
    void *c = NULL;

    if (dp_ads__retranslate(a, DP_RES_CLUSTER, cluster, &c, err, sizeof(err)) != 0) {
        snprintf(a->commit_err, sizeof(a->commit_err), "cluster re-translation failed: %.400s", err);
        return false;
    }
    dp_cluster_cfg_unref(*cfg);
    *cfg = c;
    a->dirty = true;
    return true;
}

static void retranslate_ver(dp_ads_t *a, ads_ver_t *v)
{
    dp_cluster_cfg_t *c = v->cfg;
    if (retranslate_cluster(a, v->msg, &c))
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
    r->rej = dp_xcalloc(1, sizeof(*r->rej));
    r->rej->err = dp_xstrdup(err ? err : "rejected");
    r->rej->version = sdup(version);
    r->rej->ms = dp_wall_ms();
    r->rej->bad = dp_xmalloc(len ? len : 1);
    if (len)
        memcpy(r->rej->bad, data, len);
    r->rej->bad_len = len;
    a->dirty = true;
}

static void clear_err(dp_ads_t *a, ads_res_t *r)
{
    if (r->rej == NULL)
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
    /* An RDS/EDS/SDS resource no one asked for is not kept, even as an error. */
    if ((type == DP_RES_ROUTE || type == DP_RES_ENDPOINT || type == DP_RES_SECRET) &&
        !dp_ads__referenced(a, type, name, NULL))
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

/* A decoded resource given to dp_ads__apply and not kept: catalogue
 * resources live in the response's arena (ads_response.c, xds/pb_arena.h),
 * released with it; the others are the heap's. */
static void msg_drop(dp_res_type_t type, ProtobufCMessage *msg)
{
    if (DP_RES_IN_SNAPSHOT(type))
        protobuf_c_message_free_unpacked(msg, NULL);
}

/* Translates msg into v (taking msg). `ref` is a Cluster referring to a CLA
 * (validation). Returns 0 or negative with err. */
static int translate(dp_ads_t *a, dp_res_type_t type, const char *name, const char *version,
                     ProtobufCMessage *msg, const ProtobufCMessage *ref, ads_ver_t *v, char *err, size_t errlen)
{
    ads_secret_ctx_t sc;
    dp_secret_source_t src;
    int rc = DP_EINVAL;

    switch (type) {
    case DP_RES_LISTENER: {
        dp_listener_cfg_t *l = NULL;
        dp_ads__secret_source(a, v, &sc, &src);
        rc = dp_translate_listener_ex(msg, &src, &l, err, errlen);
        if (rc == 0) {
            v->cfg = l;
            /* warming waits for every chain's route config and every
             * SDS secret (recorded by the source) */
            listener_rds_deps(msg, v);
            if (dp_ads__ver_dep(v, DP_RES_SECRET) != NULL) {
                v->msg = msg; /* translated again when a secret changes */
                msg = NULL;
            }
        }
        if (msg)
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
        const char *eds = dp_ads__cluster_eds_name(msg);
        dp_ads__secret_source(a, v, &sc, &src);
        rc = dp_translate_cluster_ex(msg, dp_ads__held_cla(a, eds), &src, &c, err, errlen);
        if (rc == 0) {
            v->cfg = c;
            if (c->type == DP_CLUSTER_EDS && c->eds_service_name) {
                const pb_cluster_t *pc = (const pb_cluster_t *)msg;
                dp_ads__ver_add_dep(v, DP_RES_ENDPOINT, c->eds_service_name,
                                    dp_ads__cs_timeout(pc->eds_cluster_config ? pc->eds_cluster_config->eds_config
                                                                             : NULL));
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
            dp_ads__secret_source(a, NULL, &sc, &src);
            rc = dp_translate_cluster_ex(ref, msg, &src, &c, err, errlen);
        }
        dp_cluster_cfg_unref(c);
        if (rc == 0)
            v->msg = msg;
        else
            protobuf_c_message_free_unpacked(msg, NULL);
        break;
    }
    case DP_RES_SECRET:
        /* on its own here; with the listeners and clusters using it in
         * dp_ads__secret_activate() */
        rc = dp_translate_secret(msg, err, errlen);
        if (rc == 0)
            v->msg = msg;
        else
            protobuf_c_message_free_unpacked(msg, NULL);
        break;
    case DP_RES_CONTAINER:
        /* Applied to the catalogue at once: readers see it now. (msg is
         * in the response's arena: msg_drop) */
        rc = dp_catalogue_put_container(name, msg, version, err, errlen);
        break;
    case DP_RES_PROJECT:
        rc = dp_catalogue_put_project(name, msg, err, errlen);
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

    if ((type == DP_RES_ROUTE || type == DP_RES_ENDPOINT || type == DP_RES_SECRET) &&
        !dp_ads__referenced(a, type, name, &ref)) {
        /* Not subscribed (any more): Envoy ignores such resources. */
        msg_drop(type, msg);
        return true;
    }
    if ((type == DP_RES_LISTENER && dp_ads__static_listener(a, name)) ||
        (type == DP_RES_CLUSTER && dp_ads__static_cluster(a, name))) {
        snprintf(err, sizeof(err), "name: '%s' is already a static %s (static_resources)", name,
                 type == DP_RES_LISTENER ? "listener" : "cluster");
        msg_drop(type, msg);
        dp_ads__reject(a, type, name, data, len, version, err);
        return false;
    }
    r = dp_ads__get(&a->t[type].store, type, name);

    /* Unchanged bytes: no translation (cost proportional to the change). */
    if (same_bytes(r->act, data, len) || same_bytes(r->warm, data, len)) {
        msg_drop(type, msg);
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
    if (r->rej && r->rej->bad_len == len && (len == 0 || memcmp(r->rej->bad, data, len) == 0)) {
        char *e = dp_xstrdup(r->rej->err);
        msg_drop(type, msg);
        dp_ads__nack_add(a, name, e);
        if (strcmp(r->rej->version ? r->rej->version : "", version ? version : "") != 0) {
            free(r->rej->version);
            r->rej->version = sdup(version);
            a->dirty = true;
        }
        free(e);
        return false;
    }

    /* the version string in the same allocation */
    size_t vlen = version ? strlen(version) : 0;
    v = dp_xcalloc(1, sizeof(*v) + vlen + 1);
    v->type = type;
    v->version = (char *)(v + 1);
    if (vlen)
        memcpy(v->version, version, vlen);
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
    v->updated_ms = dp_wall_ms();

    switch (type) {
    case DP_RES_LISTENER:
    case DP_RES_CLUSTER:
        if (v->n_deps && !deps_held(a, v)) {
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
    case DP_RES_SECRET:
        if (!dp_ads__secret_activate(a, r, v, err, sizeof(err))) {
            dp_ads__ver_free(v);
            dp_ads__reject(a, type, name, data, len, version, err);
            return false;
        }
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
        const char *dep = dp_ads__ver_dep(v, DP_RES_ENDPOINT);
        if (dep && strcmp(dep, name) == 0)
            retranslate_ver(a, v);
    }
    for (size_t i = 0; i < a->n_statics; i++) {
        ads_static_t *st = &a->statics[i];
        const char *dep = NULL;
        for (size_t k = 0; k < st->n_deps && dep == NULL; k++)
            if (st->deps[k].type == DP_RES_ENDPOINT)
                dep = st->deps[k].name;
        if (st->cfg && dep && strcmp(dep, name) == 0) {
            dp_cluster_cfg_t *c = st->cfg;
            if (retranslate_cluster(a, st->msg, &c)) /* without endpoints, with its secrets */
                st->cfg = c;
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
    if ((r->act || r->warm || r->rej) && DP_RES_IN_SNAPSHOT(type))
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
        if (r->act || r->rej)
            a->dirty = true;
        res_free(r);
    }
    s->n = k;
    free(refs.v);
}

static const char *static_dep(const ads_static_t *st, dp_res_type_t type)
{
    for (size_t k = 0; k < st->n_deps; k++)
        if (st->deps[k].type == type)
            return st->deps[k].name;
    return NULL;
}

void dp_ads__settle(dp_ads_t *a)
{
    ads_store_t *ls = &a->t[DP_RES_LISTENER].store;
    ads_store_t *cs = &a->t[DP_RES_CLUSTER].store;
    ads_store_t *es = &a->t[DP_RES_ENDPOINT].store;

    /* Warming listeners whose route configs and secrets are all held (a
     * secret's arrival translated them again already). */
    for (size_t i = 0; i < ls->n; i++) {
        ads_res_t *r = ls->v[i];
        if (r->warm && r->warm->n_deps && deps_held(a, r->warm))
            activate_listener(a, r, r->warm);
    }
    /* Warming clusters whose CLA and secrets are now held; clusters in
     * force whose CLA changed. */
    for (size_t i = 0; i < cs->n; i++) {
        ads_res_t *r = cs->v[i];
        if (r->warm && r->warm->n_deps && deps_held(a, r->warm)) {
            if (dp_ads__ver_dep(r->warm, DP_RES_ENDPOINT) != NULL)
                retranslate_ver(a, r->warm); /* with the CLA it waited for */
            activate_cluster(a, r, r->warm);
            continue;
        }
        const char *dep = dp_ads__ver_dep(r->act, DP_RES_ENDPOINT);
        if (dep) {
            ads_res_t *e = dp_ads__find(es, dep);
            if (e && e->changed)
                retranslate_ver(a, r->act);
        }
    }
    for (size_t i = 0; i < a->n_statics; i++) {
        ads_static_t *st = &a->statics[i];
        const char *dep = static_dep(st, DP_RES_ENDPOINT);
        ads_res_t *e = dep ? dp_ads__find(es, dep) : NULL;
        if (e && e->changed && e->act) {
            dp_cluster_cfg_t *c = st->cfg;
            if (retranslate_cluster(a, st->msg, &c))
                st->cfg = c;
        }
    }
    for (size_t i = 0; i < es->n; i++)
        es->v[i]->changed = false;
    dp_ads__refs_invalidate(a);
    gc(a, DP_RES_ROUTE);
    gc(a, DP_RES_ENDPOINT);
    gc(a, DP_RES_SECRET);
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
            if (t == DP_RES_LISTENER) {
                activate_listener(a, r, r->warm);
            } else {
                /* its CLA may have come while a secret kept it warming */
                if (dp_ads__ver_dep(r->warm, DP_RES_ENDPOINT) != NULL)
                    retranslate_ver(a, r->warm);
                activate_cluster(a, r, r->warm);
            }
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
    for (size_t i = 0; i < a->n_statics; i++) {
        ads_static_t *st = &a->statics[i];
        free(st->name);
        for (size_t k = 0; k < st->n_deps; k++)
            free(st->deps[k].name);
        free(st->deps);
        if (st->msg)
            protobuf_c_message_free_unpacked(st->msg, NULL);
        dp_ads__cfg_unref(st->type, st->cfg);
    }
    free(a->statics);
    a->statics = NULL;
    a->n_statics = 0;
    if (a->boot)
        protobuf_c_message_free_unpacked(a->boot, NULL);
    a->boot = NULL;
}

static void static_add_dep(ads_static_t *st, dp_res_type_t type, const char *name)
{
    st->deps = dp_xrealloc(st->deps, (st->n_deps + 1) * sizeof(*st->deps));
    st->deps[st->n_deps].type = type;
    st->deps[st->n_deps].name = dp_xstrdup(name);
    st->n_deps++;
}

static const dp_listener_cfg_t *base_listener(const dp_snapshot_t *b, const char *name)
{
    for (size_t i = 0; i < b->n_listeners; i++)
        if (strcmp(b->listeners[i]->name, name) == 0)
            return b->listeners[i];
    return NULL;
}

/* A static listener or cluster that waits for EDS or SDS: kept decoded,
 * with what it waits for, and translated now if some of it is held. */
static void load_static_one(dp_ads_t *a, const dp_res_meta_t *m)
{
    const dp_snapshot_t *b = a->base;
    ProtobufCMessage *msg = NULL;
    ads_static_t st;
    char err[1024];

    memset(&st, 0, sizeof(st));
    st.type = m->type;
    if (m->type == DP_RES_LISTENER) {
        const dp_listener_cfg_t *l = base_listener(b, m->name);
        for (size_t c = 0; l && c < dp_listener_n_chains(l); c++) {
            const dp_filter_chain_t *fc = dp_listener_chain(l, c);
            for (size_t k = 0; k < fc->n_sds_names; k++)
                static_add_dep(&st, DP_RES_SECRET, fc->sds_names[k]);
        }
    } else {
        const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(b, m->name, strlen(m->name));
        if (c && c->type == DP_CLUSTER_EDS && c->eds_service_name)
            static_add_dep(&st, DP_RES_ENDPOINT, c->eds_service_name);
        for (size_t k = 0; c && k < c->n_sds_names; k++)
            static_add_dep(&st, DP_RES_SECRET, c->sds_names[k]);
    }
    if (st.n_deps == 0 || m->raw.len == 0 ||
        dp_resource_decode(m->type, m->raw.data, m->raw.len, &msg, err, sizeof(err)) != 0) {
        for (size_t k = 0; k < st.n_deps; k++)
            free(st.deps[k].name);
        free(st.deps);
        return;
    }
    st.name = dp_xstrdup(m->name);
    st.msg = msg;
    bool some_held = false;
    for (size_t k = 0; k < st.n_deps; k++) {
        const ads_res_t *r = dp_ads__find(&a->t[st.deps[k].type].store, st.deps[k].name);
        some_held |= r != NULL && r->act != NULL;
    }
    if (some_held && dp_ads__retranslate(a, st.type, st.msg, &st.cfg, err, sizeof(err)) != 0) {
        st.cfg = NULL;
        DP_WARN("xds: static %s '%s' cannot take what ADS holds: %s", m->type == DP_RES_LISTENER ? "listener" : "cluster",
                m->name, err);
    }
    a->statics = dp_xrealloc(a->statics, (a->n_statics + 1) * sizeof(*a->statics));
    a->statics[a->n_statics++] = st;
}

void dp_ads__load_static(dp_ads_t *a)
{
    const dp_snapshot_t *b = a->base;

    dp_ads__static_free(a);
    dp_ads__load_static_secrets(a);
    for (size_t i = 0; i < b->n_meta; i++)
        if ((b->meta[i].type == DP_RES_CLUSTER || b->meta[i].type == DP_RES_LISTENER) && b->meta[i].is_static)
            load_static_one(a, &b->meta[i]);
    dp_ads__refs_invalidate(a);
}
