/* SDS in the ADS state machine (ads_int.h): the secrets that translations
 * see, and what a new version of a secret does.
 *
 * Secrets are resources like route configs: subscribed by name while a
 * listener or cluster (static or dynamic, in force or warming) refers to
 * one through an SdsSecretConfig with `sds_config: {ads: {}}`. Static
 * secrets (no sds_config) come from the bootstrap's
 * static_resources.secrets.
 *
 * Rotation: a secret's new version is first translated on its own, then
 * every listener and cluster using it is translated again with it; only
 * when all succeed are their configs swapped in (a new snapshot follows).
 * Connections already open keep the TLS context they started with (they
 * hold a reference to it), so certificates rotate without dropping any. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "xds/ads_int.h"
#include "xds/translate.h"

typedef Envoy__Config__Bootstrap__V3__Bootstrap pb_bootstrap_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__Secret pb_secret_t;

void dp_ads__load_static_secrets(dp_ads_t *a)
{
    if (a->boot)
        protobuf_c_message_free_unpacked(a->boot, NULL);
    /* the bootstrap was decoded and checked when it was loaded */
    a->boot = protobuf_c_message_unpack(&envoy__config__bootstrap__v3__bootstrap__descriptor, NULL,
                                        a->base->bootstrap.len, a->base->bootstrap.data);
}

static const ProtobufCMessage *static_secret(const dp_ads_t *a, const char *name)
{
    const pb_bootstrap_t *b = (const pb_bootstrap_t *)a->boot;
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr = b ? b->static_resources : NULL;
    for (size_t i = 0; sr && i < sr->n_secrets; i++)
        if (sr->secrets[i]->name && strcmp(sr->secrets[i]->name, name) == 0)
            return &sr->secrets[i]->base;
    return NULL;
}

static const ProtobufCMessage *find_secret(void *ctx, const char *name,
                                           const Envoy__Config__Core__V3__ConfigSource *sds_config)
{
    ads_secret_ctx_t *sc = ctx;
    if (sds_config == NULL)
        return static_secret(sc->a, name);
    if (sc->record)
        dp_ads__ver_add_dep(sc->record, DP_RES_SECRET, name, dp_ads__cs_timeout(sds_config));
    const ads_res_t *r = dp_ads__find(&sc->a->t[DP_RES_SECRET].store, name);
    return r && r->act ? r->act->msg : NULL;
}

void dp_ads__secret_source(dp_ads_t *a, ads_ver_t *record, ads_secret_ctx_t *sc, dp_secret_source_t *src)
{
    sc->a = a;
    sc->record = record;
    src->find = find_secret;
    src->ctx = sc;
}

void dp_ads__cfg_unref(dp_res_type_t type, void *cfg)
{
    if (type == DP_RES_LISTENER)
        dp_listener_cfg_unref(cfg);
    else if (type == DP_RES_CLUSTER)
        dp_cluster_cfg_unref(cfg);
}

int dp_ads__retranslate(dp_ads_t *a, dp_res_type_t type, const ProtobufCMessage *msg, void **cfg, char *err,
                        size_t errlen)
{
    ads_secret_ctx_t sc;
    dp_secret_source_t src;
    int rc;

    dp_ads__secret_source(a, NULL, &sc, &src);
    if (type == DP_RES_LISTENER) {
        dp_listener_cfg_t *l = NULL;
        rc = dp_translate_listener_ex(msg, &src, &l, err, errlen);
        *cfg = l;
    } else {
        dp_cluster_cfg_t *c = NULL;
        rc = dp_translate_cluster_ex(msg, dp_ads__held_cla(a, dp_ads__cluster_eds_name(msg)), &src, &c, err,
                                     errlen);
        *cfg = c;
    }
    return rc;
}

/* ---- rotation ------------------------------------------------------------------ */

/* A config translated with the new secret, waiting to replace *slot. */
typedef struct swap {
    void **slot;
    dp_res_type_t type;
    void *cfg;
} swap_t;

typedef struct swaps {
    swap_t *v;
    size_t n;
} swaps_t;

static bool uses(const ads_dep_t *d, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (d[i].type == DP_RES_SECRET && strcmp(d[i].name, name) == 0)
            return true;
    return false;
}

static bool try_one(dp_ads_t *a, swaps_t *sw, dp_res_type_t type, const char *what, const char *name,
                    const ProtobufCMessage *msg, void **slot, char *err, size_t errlen)
{
    char e[1024] = "";
    void *cfg = NULL;

    if (msg == NULL)
        return true; /* nothing to translate (cannot happen: versions with secrets keep it) */
    if (dp_ads__retranslate(a, type, msg, &cfg, e, sizeof(e)) != 0) {
        snprintf(err, errlen, "%s '%s': %s", what, name, e);
        return false;
    }
    sw->v = dp_xrealloc(sw->v, (sw->n + 1) * sizeof(*sw->v));
    sw->v[sw->n++] = (swap_t){slot, type, cfg};
    return true;
}

bool dp_ads__secret_activate(dp_ads_t *a, ads_res_t *r, ads_ver_t *v, char *err, size_t errlen)
{
    static const dp_res_type_t types[] = {DP_RES_LISTENER, DP_RES_CLUSTER};
    ads_ver_t *old = r->act;
    swaps_t sw = {NULL, 0};
    bool ok = true;

    r->act = v; /* what the translations below find */
    for (size_t t = 0; t < DP_ARRAY_SIZE(types) && ok; t++) {
        const ads_store_t *s = &a->t[types[t]].store;
        const char *what = types[t] == DP_RES_LISTENER ? "listener" : "cluster";
        for (size_t i = 0; i < s->n && ok; i++) {
            ads_ver_t *vers[2] = {s->v[i]->act, s->v[i]->warm};
            for (size_t k = 0; k < 2 && ok; k++)
                if (vers[k] && vers[k]->cfg && uses(vers[k]->deps, vers[k]->n_deps, r->name))
                    ok = try_one(a, &sw, types[t], what, s->v[i]->name, vers[k]->msg, &vers[k]->cfg, err,
                                 errlen);
        }
    }
    for (size_t i = 0; i < a->n_statics && ok; i++) {
        ads_static_t *st = &a->statics[i];
        if (uses(st->deps, st->n_deps, r->name))
            ok = try_one(a, &sw, st->type, st->type == DP_RES_LISTENER ? "static listener" : "static cluster",
                         st->name, st->msg, &st->cfg, err, errlen);
    }
    if (!ok) {
        /* the last good secret stays, and everything built from it */
        r->act = old;
        for (size_t i = 0; i < sw.n; i++)
            dp_ads__cfg_unref(sw.v[i].type, sw.v[i].cfg);
        free(sw.v);
        return false;
    }
    for (size_t i = 0; i < sw.n; i++) {
        dp_ads__cfg_unref(sw.v[i].type, *sw.v[i].slot);
        *sw.v[i].slot = sw.v[i].cfg;
    }
    free(sw.v);
    dp_ads__ver_free(old);
    a->dirty = true;
    dp_ads__refs_invalidate(a);
    return true;
}
