/* The ADS state machine (xds/ads.h): life cycle, the stream, timers and
 * the requests it sends. Responses: ads_response.c; the resources and
 * snapshots: ads_resources.c; the shared picture: ads_int.h. */
#include "xds/ads.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/core/v3/config_source.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/rpc/status.pb-c.h"
#include "filters/containers/catalogue.h"
#include "filters/containers/containers.h"
#include "xds/ads_int.h"
#include "xds/translate.h"

typedef Envoy__Config__Core__V3__Node pb_node_t;

/* What the Node tells the server we support: we do TTLs, and we ignore
 * ClusterLoadAssignment.policy.overprovisioning_factor. */
static const char *const client_features[] = {
    "envoy.lb.does_not_support_overprovisioning",
    "xds.config.resource-ttl",
};

uint64_t dp_ads__now(const dp_ads_t *a)
{
    return a->env.now_ms(a->env.ctx);
}

ads_type_t *dp_ads__type_by_url(dp_ads_t *a, const char *url)
{
    for (int i = 0; i < ADS_NTYPES; i++)
        if (strcmp(a->t[i].url, url) == 0)
            return &a->t[i];
    return NULL;
}

/* ---- requests ------------------------------------------------------------------ */

static Google__Rpc__Status *error_status(Google__Rpc__Status *st, const char *error)
{
    if (error == NULL)
        return NULL;
    google__rpc__status__init(st);
    st->code = ADS_NACK_CODE;
    st->message = (char *)error;
    return st;
}

static pb_node_t *node_once(dp_ads_t *a)
{
    if (a->node_sent)
        return NULL;
    a->node_sent = true;
    return a->node;
}

static void send_packed(dp_ads_t *a, const ProtobufCMessage *m)
{
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = dp_xmalloc(len ? len : 1);
    protobuf_c_message_pack(m, buf);
    a->env.send(a->env.ctx, buf, len);
    free(buf);
}

void dp_ads__send_sotw(dp_ads_t *a, const char *type_url, const char *version, const char *nonce,
                       const ads_names_t *names, const char *error)
{
    Envoy__Service__Discovery__V3__DiscoveryRequest req =
        ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_REQUEST__INIT;
    Google__Rpc__Status st;

    if (!a->stream_up)
        return;
    req.version_info = (char *)(version ? version : "");
    req.node = node_once(a);
    if (names) {
        req.resource_names = names->v;
        req.n_resource_names = names->n;
    }
    req.type_url = (char *)type_url;
    req.response_nonce = (char *)(nonce ? nonce : "");
    req.error_detail = error_status(&st, error);
    send_packed(a, &req.base);
}

void dp_ads__send_delta(dp_ads_t *a, const char *type_url, char **sub, size_t n_sub, char **unsub,
                        size_t n_unsub, const ads_type_t *irv, const char *nonce, const char *error)
{
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest req =
        ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_REQUEST__INIT;
    Envoy__Service__Discovery__V3__DeltaDiscoveryRequest__InitialResourceVersionsEntry *ents = NULL,
                                                                                       **pents = NULL;
    Google__Rpc__Status st;

    if (!a->stream_up)
        return;
    req.node = node_once(a);
    req.type_url = (char *)type_url;
    req.resource_names_subscribe = sub;
    req.n_resource_names_subscribe = n_sub;
    req.resource_names_unsubscribe = unsub;
    req.n_resource_names_unsubscribe = n_unsub;
    if (irv != NULL && irv->store.n) {
        /* What we hold, so the server sends only what changed. The latest
         * accepted version counts (a warming one is held too). */
        ents = dp_xcalloc(irv->store.n, sizeof(*ents));
        pents = dp_xcalloc(irv->store.n, sizeof(*pents));
        for (size_t i = 0; i < irv->store.n; i++) {
            const ads_res_t *r = irv->store.v[i];
            const ads_ver_t *v = r->warm ? r->warm : r->act;
            if (v == NULL)
                continue;
            envoy__service__discovery__v3__delta_discovery_request__initial_resource_versions_entry__init(
                &ents[req.n_initial_resource_versions]);
            ents[req.n_initial_resource_versions].key = r->name;
            ents[req.n_initial_resource_versions].value = v->version ? v->version : (char *)"";
            pents[req.n_initial_resource_versions] = &ents[req.n_initial_resource_versions];
            req.n_initial_resource_versions++;
        }
        req.initial_resource_versions = pents;
    }
    req.response_nonce = (char *)(nonce ? nonce : "");
    req.error_detail = error_status(&st, error);
    send_packed(a, &req.base);
    free(ents);
    free(pents);
}

/* Names in x that are not in y (both sorted). */
static size_t names_minus(const ads_names_t *x, const ads_names_t *y, char **out)
{
    size_t i = 0, j = 0, k = 0;
    while (i < x->n) {
        int c = j < y->n ? strcmp(x->v[i], y->v[j]) : -1;
        if (c < 0)
            out[k++] = x->v[i++];
        else if (c == 0)
            i++, j++;
        else
            j++;
    }
    return k;
}

/* Does a listener in force (static or dynamic) run the container routing
 * filter? Its catalogue comes over ADS (the filter accepts no other
 * source). */
static bool hcm_wants_catalogue(const dp_listener_cfg_t *l)
{
    const dp_http_filter_factory_t *f = dp_http_filter_lookup(DP_CONTAINERS_FILTER_NAME);
    for (size_t c = 0; l && c < dp_listener_n_chains(l); c++) {
        const dp_hcm_cfg_t *h = dp_listener_chain(l, c)->hcm;
        for (size_t i = 0; h && i < h->n_filters; i++)
            if (h->filters[i].factory == f)
                return true;
    }
    return false;
}

static bool catalogue_wanted(const dp_ads_t *a)
{
    for (size_t i = 0; i < a->base->n_listeners; i++)
        if (hcm_wants_catalogue(a->base->listeners[i]))
            return true;
    const ads_store_t *s = &a->t[DP_RES_LISTENER].store;
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i]->act && hcm_wants_catalogue(s->v[i]->act->cfg))
            return true;
        if (s->v[i]->warm && hcm_wants_catalogue(s->v[i]->warm->cfg))
            return true;
    }
    return false;
}

/* Once wanted, the catalogue stays subscribed for the life of the process
 * (a listener change must not drop 100k containers to fetch them again). */
static void subscribe_catalogue(dp_ads_t *a)
{
    static const dp_res_type_t types[] = {DP_RES_PROJECT, DP_RES_CONTAINER};
    if (!a->t[DP_RES_CONTAINER].configured) {
        if (!catalogue_wanted(a))
            return;
        for (size_t k = 0; k < DP_ARRAY_SIZE(types); k++)
            a->t[types[k]].configured = true;
    }
    for (size_t k = 0; k < DP_ARRAY_SIZE(types); k++) {
        ads_type_t *t = &a->t[types[k]];
        if (t->on_stream)
            continue;
        if (a->delta)
            dp_ads__send_delta(a, t->url, NULL, 0, NULL, 0, t, NULL, NULL);
        else
            dp_ads__send_sotw(a, t->url, t->version, NULL, NULL, NULL);
        t->on_stream = true;
    }
}

void dp_ads__update_subscriptions(dp_ads_t *a)
{
    static const dp_res_type_t types[] = {DP_RES_ENDPOINT, DP_RES_ROUTE, DP_RES_SECRET};

    if (!a->stream_up)
        return;
    subscribe_catalogue(a);
    for (size_t k = 0; k < DP_ARRAY_SIZE(types); k++) {
        ads_type_t *t = &a->t[types[k]];
        ads_names_t need;
        dp_ads__needed(a, t->type, &need);
        if (!a->delta) {
            if ((t->on_stream || need.n > 0) && !(t->on_stream && dp_ads__names_eq(&need, &t->sent))) {
                /* SotW: the full set, with the current version and nonce. */
                dp_ads__send_sotw(a, t->url, t->version, t->nonce, &need, NULL);
                dp_ads__names_copy(&t->sent, &need);
                t->on_stream = true;
            }
        } else {
            char **sub = dp_xcalloc(need.n + 1, sizeof(*sub));
            char **unsub = dp_xcalloc(t->sent.n + 1, sizeof(*unsub));
            size_t ns = names_minus(&need, &t->sent, sub);
            size_t nu = names_minus(&t->sent, &need, unsub);
            if (ns || nu) {
                dp_ads__send_delta(a, t->url, sub, ns, unsub, nu, t->on_stream ? NULL : t, NULL, NULL);
                t->on_stream = true;
            }
            free(sub);
            free(unsub);
            dp_ads__names_copy(&t->sent, &need);
        }
        dp_ads__names_free(&need);
    }
}

/* ---- timers --------------------------------------------------------------------- */

static void dl_min(uint64_t *m, uint64_t d)
{
    if (d != 0 && d < *m)
        *m = d;
}

void dp_ads__recompute_deadline(dp_ads_t *a)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < ADS_NTYPES; i++) {
        const ads_type_t *t = &a->t[i];
        if (t->configured && !t->fetched)
            dl_min(&m, t->fetch_deadline);
        if (!DP_RES_IN_SNAPSHOT(t->type) && !t->ever_ttl)
            continue; /* nothing warms there, and nothing expires */
        for (size_t k = 0; k < t->store.n; k++) {
            const ads_res_t *r = t->store.v[k];
            if (r->warm)
                dl_min(&m, r->warm_deadline);
            dl_min(&m, r->ttl_deadline);
        }
    }
    a->next_deadline = m;
}

uint64_t dp_ads_next_deadline(const dp_ads_t *a)
{
    return a->next_deadline;
}

void dp_ads_on_tick(dp_ads_t *a)
{
    uint64_t now = dp_ads__now(a);

    for (int i = 0; i < ADS_NTYPES; i++) {
        ads_type_t *t = &a->t[i];
        if (t->configured && !t->fetched && t->fetch_deadline && t->fetch_deadline <= now) {
            t->fetched = true;
            DP_WARN("xds: no %s response within its initial_fetch_timeout", t->url);
        }
    }
    a->in_response = false;
    dp_ads__expire(a, now);
    dp_ads__settle(a);
    dp_ads__commit(a);
    dp_ads__update_subscriptions(a);
    dp_ads__recompute_deadline(a);
}

/* ---- life cycle ------------------------------------------------------------------ */

static uint64_t fetch_timeout(const Envoy__Config__Core__V3__ConfigSource *cs)
{
    uint64_t ms;
    if (cs == NULL || cs->initial_fetch_timeout == NULL)
        return ADS_DEFAULT_FETCH_TIMEOUT_MS;
    return dp_ads__duration_ms(&cs->initial_fetch_timeout->base, &ms) ? ms : ADS_DEFAULT_FETCH_TIMEOUT_MS;
}

/* The Node of the first request of every stream: the bootstrap's (id and
 * cluster after --service-node/--service-cluster), our user agent and
 * client features. Kept as our own unpacked copy: the bootstrap may go. */
static pb_node_t *make_node(const dp_bootstrap_t *boot)
{
    pb_node_t n;

    dp_bootstrap_node(boot, client_features, DP_ARRAY_SIZE(client_features), &n);

    size_t len = protobuf_c_message_get_packed_size(&n.base);
    uint8_t *buf = dp_xmalloc(len ? len : 1);
    protobuf_c_message_pack(&n.base, buf);
    pb_node_t *out = envoy__config__core__v3__node__unpack(NULL, len, buf);
    free(buf);
    if (out == NULL)
        abort(); /* our own encoding: cannot fail but for memory */
    return out;
}

dp_ads_t *dp_ads_new(const dp_bootstrap_t *boot, bool delta, const dp_ads_env_t *env)
{
    static const char *const urls[ADS_NTYPES] = {
        [DP_RES_LISTENER] = DP_TYPE_LISTENER,
        [DP_RES_ROUTE] = DP_TYPE_ROUTE,
        [DP_RES_CLUSTER] = DP_TYPE_CLUSTER,
        [DP_RES_ENDPOINT] = DP_TYPE_ENDPOINT,
        [DP_RES_SECRET] = DP_TYPE_SECRET,
        [DP_RES_CONTAINER] = DP_TYPE_CONTAINER,
        [DP_RES_PROJECT] = DP_TYPE_PROJECT,
    };
    const Envoy__Config__Bootstrap__V3__Bootstrap *bm =
        (const Envoy__Config__Bootstrap__V3__Bootstrap *)boot->msg;
    const Envoy__Config__Bootstrap__V3__Bootstrap__DynamicResources *dr = bm ? bm->dynamic_resources : NULL;
    dp_ads_t *a = dp_xcalloc(1, sizeof(*a));

    a->env = *env;
    a->delta = delta;
    a->base = boot->snap ? dp_snapshot_ref(boot->snap) : dp_snapshot_new();
    a->node = make_node(boot);
    uint64_t now = dp_ads__now(a);
    for (int i = 0; i < ADS_NTYPES; i++) {
        ads_type_t *t = &a->t[i];
        const Envoy__Config__Core__V3__ConfigSource *cs = NULL;
        t->type = (dp_res_type_t)i;
        t->url = urls[i];
        t->version = dp_xstrdup("");
        t->wildcard = i == DP_RES_LISTENER || i == DP_RES_CLUSTER || !DP_RES_IN_SNAPSHOT(i);
        if (i == DP_RES_LISTENER)
            cs = dr ? dr->lds_config : NULL;
        else if (i == DP_RES_CLUSTER)
            cs = dr ? dr->cds_config : NULL;
        /* The catalogue types are subscribed once a listener's container
         * routing filter asks for them (dp_ads__update_subscriptions). */
        t->configured = DP_RES_IN_SNAPSHOT(i) && (!t->wildcard || cs != NULL);
        if (t->wildcard && cs != NULL) {
            /* The initial fetch (dp_ads_initialized) counts from now, as
             * Envoy's does from its subscription's start. */
            t->fetch_timeout_ms = fetch_timeout(cs);
            t->fetch_deadline = t->fetch_timeout_ms ? now + t->fetch_timeout_ms : 0;
        }
    }
    dp_ads__load_static(a);
    dp_ads__recompute_deadline(a);
    return a;
}

void dp_ads_free(dp_ads_t *a)
{
    if (a == NULL)
        return;
    for (int i = 0; i < ADS_NTYPES; i++) {
        dp_ads__store_free(&a->t[i].store);
        dp_ads__names_free(&a->t[i].sent);
        free(a->t[i].version);
        free(a->t[i].nonce);
    }
    while (a->n_undo) {
        dp_ads__ver_free(a->undo[a->n_undo - 1].old);
        a->n_undo--;
    }
    free(a->undo);
    dp_ads__static_free(a);
    dp_ads__refs_invalidate(a);
    if (a->node)
        protobuf_c_message_free_unpacked(&a->node->base, NULL);
    dp_snapshot_unref(a->base);
    free(a->nack);
    for (size_t i = 0; i < a->n_rej; i++)
        free(a->rej[i]);
    free(a->rej);
    free(a);
}

static void forget_stream(dp_ads_t *a)
{
    for (int i = 0; i < ADS_NTYPES; i++) {
        free(a->t[i].nonce);
        a->t[i].nonce = NULL;
        a->t[i].on_stream = false;
        dp_ads__names_free(&a->t[i].sent);
    }
}

void dp_ads_stream_start(dp_ads_t *a)
{
    /* Envoy's order: clusters (and their endpoints) before listeners (and
     * their routes), so that listeners find their clusters. */
    static const dp_res_type_t order[] = {DP_RES_CLUSTER, DP_RES_ENDPOINT, DP_RES_LISTENER, DP_RES_ROUTE,
                                          DP_RES_SECRET,  DP_RES_PROJECT,  DP_RES_CONTAINER};

    forget_stream(a);
    a->stream_up = true;
    a->node_sent = false;
    for (size_t k = 0; k < DP_ARRAY_SIZE(order); k++) {
        ads_type_t *t = &a->t[order[k]];
        if (!t->configured)
            continue;
        if (t->wildcard) {
            if (a->delta)
                dp_ads__send_delta(a, t->url, NULL, 0, NULL, 0, t, NULL, NULL);
            else
                dp_ads__send_sotw(a, t->url, t->version, NULL, NULL, NULL);
            t->on_stream = true;
            continue;
        }
        ads_names_t need;
        dp_ads__needed(a, t->type, &need);
        if (need.n > 0) {
            if (a->delta)
                dp_ads__send_delta(a, t->url, need.v, need.n, NULL, 0, t, NULL, NULL);
            else
                dp_ads__send_sotw(a, t->url, t->version, NULL, &need, NULL);
            dp_ads__names_copy(&t->sent, &need);
            t->on_stream = true;
        }
        dp_ads__names_free(&need);
    }
    /* static listeners may run the container routing filter: nothing else
     * would trigger the catalogue's first subscription on this stream */
    subscribe_catalogue(a);
}

void dp_ads_stream_closed(dp_ads_t *a)
{
    a->stream_up = false;
    forget_stream(a);
}

int dp_ads_on_response(dp_ads_t *a, const uint8_t *msg, size_t len)
{
    int rc;
    if (msg == NULL && len != 0)
        return DP_EINVAL;
    rc = a->delta ? dp_ads__on_delta(a, msg, len) : dp_ads__on_sotw(a, msg, len);
    dp_ads__recompute_deadline(a);
    dp_catalogue_reclaim();
    return rc;
}

int dp_ads_set_static(dp_ads_t *a, dp_snapshot_t *static_snap, char *errbuf, size_t errlen)
{
    dp_snapshot_t *old = a->base;
    int rc;

    if (errbuf && errlen)
        errbuf[0] = '\0';
    a->base = dp_snapshot_ref(static_snap);
    dp_ads__load_static(a);
    a->in_response = false;
    a->dirty = true;
    rc = dp_ads__commit(a);
    if (rc != 0) {
        /* Nothing changed in the running config: back to the old base. */
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", a->commit_err);
        dp_snapshot_unref(a->base);
        a->base = old;
        dp_ads__load_static(a);
        a->dirty = false;
        return rc;
    }
    dp_snapshot_unref(old);
    /* New static listeners/clusters may refer to other RDS/EDS names. */
    dp_ads__settle(a);
    dp_ads__commit(a);
    dp_ads__update_subscriptions(a);
    dp_ads__recompute_deadline(a);
    return 0;
}

/* ---- accessors ------------------------------------------------------------------------- */

const char *dp_ads_version(const dp_ads_t *a, dp_res_type_t type)
{
    return (unsigned)type < ADS_NTYPES ? a->t[type].version : NULL;
}

bool dp_ads_initialized(const dp_ads_t *a)
{
    for (int i = 0; i < ADS_NTYPES; i++) {
        const ads_type_t *t = &a->t[i];
        if (t->wildcard && t->configured && !t->fetched)
            return false;
        for (size_t k = 0; k < t->store.n; k++)
            if (t->store.v[k]->warm)
                return false;
    }
    return true;
}

const char *dp_ads_commit_error(const dp_ads_t *a)
{
    return a->commit_err;
}
