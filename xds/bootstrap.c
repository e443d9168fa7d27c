/* The bootstrap loader (bootstrap.h).
 *
 *   file --cfgtree--> tree with positions --pbjson--> Bootstrap message
 *        |                                               |
 *        |   each static listener / cluster: pack -> dp_resource_decode
 *        |   -> dp_translate_* (the very path xDS resources take)
 *        |                                               |
 *        +---- "path: reason" errors are mapped back to a node of the
 *              tree, giving "FILE:LINE:COL: path: reason".
 */
#include "xds/bootstrap.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/version.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "xds/cfgtree.h"
#include "xds/pbjson.h"
#include "xds/translate.h"
#include "xds/translate_tls.h"
#include "xds/translate_util.h"
#include "xds/typereg.h"

typedef Envoy__Config__Bootstrap__V3__Bootstrap pb_bootstrap_t;
typedef Envoy__Extensions__TransportSockets__Tls__V3__Secret pb_secret_t;

/* static_resources.secrets, decoded, for the translators (dp_secret_source_t).
 * An SDS secret is not held at load time: `sds` records the first one
 * asked for, to refuse it without ADS. */
typedef struct boot_secrets {
    ProtobufCMessage **v;
    size_t n;
    char sds[256];
} boot_secrets_t;

typedef struct boot_ctx {
    const char *file;
    bool has_ads; /* dynamic_resources.ads_config is valid */
    const dp_cfgnode_t *root;
    char *errbuf;
    size_t errlen;
    dp_xlate_t x; /* builds "path: reason" messages */
    boot_secrets_t secrets;
} boot_ctx_t;

/* ---- mapping a field path to a node of the tree ------------------------- */

/* Does `key` (klen bytes) equal the proto field name `field` (flen bytes)
 * or its lowerCamelCase JSON name ("port_value" / "portValue"), which is
 * what protoc derives: drop each '_' and upper-case the letter after it. */
static bool key_matches(const dp_cfgnode_t *k, const char *field, size_t flen)
{
    size_t i = 0, j = 0;
    bool upper = false;

    if (k->len == flen && memcmp(k->str, field, flen) == 0)
        return true;
    for (; i < flen; i++) {
        char ch = field[i];
        if (ch == '_') {
            upper = true;
            continue;
        }
        if (upper && ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        upper = false;
        if (j >= k->len || k->str[j] != ch)
            return false;
        j++;
    }
    return j == k->len;
}

/* The deepest node of the tree on `path` ("a.b[2].c[\"k\"]" in proto field
 * names), for its position: the key's position when the node is a map or
 * sequence reached through a key (the line that names the field), else
 * the node's own. Stops at the first step that does not exist. */
static void locate(const dp_cfgnode_t *root, const char *path, unsigned *line, unsigned *col)
{
    const dp_cfgnode_t *cur = root, *pos = root;
    const char *p = path;

    *line = root ? root->line : 1;
    *col = root ? root->col : 1;
    if (root == NULL)
        return;
    while (*p) {
        if (*p == '.') {
            p++;
            continue;
        }
        if (p[0] == '[' && p[1] == '"') {
            const char *end = strchr(p + 2, '"');
            if (end == NULL || end[1] != ']' || cur->kind != DP_CFG_MAP)
                break;
            size_t klen = (size_t)(end - (p + 2));
            const dp_cfgnode_t *next = NULL, *key = NULL;
            for (size_t i = 0; i < cur->n; i++) {
                const dp_cfgnode_t *k = cur->pairs[i].key;
                if (k->len == klen && memcmp(k->str, p + 2, klen) == 0) {
                    next = cur->pairs[i].value;
                    key = k;
                    break;
                }
            }
            if (next == NULL)
                break;
            cur = next;
            pos = next->kind == DP_CFG_SCALAR ? next : key;
            p = end + 2;
            continue;
        }
        if (*p == '[') {
            char *end;
            unsigned long idx = strtoul(p + 1, &end, 10);
            if (*end != ']' || cur->kind != DP_CFG_SEQ || idx >= cur->n)
                break;
            cur = cur->items[idx];
            pos = cur;
            p = end + 1;
            continue;
        }
        size_t flen = strcspn(p, ".[");
        if (flen == 0 || cur->kind != DP_CFG_MAP)
            break;
        const dp_cfgnode_t *next = NULL, *key = NULL;
        for (size_t i = 0; i < cur->n; i++) {
            if (key_matches(cur->pairs[i].key, p, flen)) {
                next = cur->pairs[i].value;
                key = cur->pairs[i].key;
                break;
            }
        }
        if (next == NULL)
            break;
        cur = next;
        pos = next->kind == DP_CFG_SCALAR ? next : key;
        p += flen;
    }
    *line = pos->line;
    *col = pos->col;
}

/* Turns the "path: reason" in ctx->errbuf into "FILE:LINE:COL: path:
 * reason". */
static int boot_locate(boot_ctx_t *c, int rc)
{
    char msg[1024];
    char path[DP_XLATE_PATH_MAX];
    unsigned line, col;

    if (c->errbuf == NULL || c->errlen == 0)
        return rc;
    snprintf(msg, sizeof(msg), "%s", c->errbuf);
    const char *colon = strstr(msg, ": ");
    size_t plen = colon ? (size_t)(colon - msg) : 0;
    if (plen >= sizeof(path))
        plen = 0;
    memcpy(path, msg, plen);
    path[plen] = '\0';
    locate(c->root, path, &line, &col);
    snprintf(c->errbuf, c->errlen, "%s:%u:%u: %s", c->file, line, col, msg);
    return rc;
}

/* "FILE:LINE:COL: PATH.field: reason" at the current path of c->x. */
static int boot_fail(boot_ctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int boot_fail(boot_ctx_t *c, const char *fmt, ...)
{
    char reason[768];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    dp_xlate__fail(&c->x, "%s", reason);
    return boot_locate(c, DP_EINVAL);
}

/* An error of a translator ("path: reason" relative to the resource) for
 * the resource at the current path. */
static int boot_fail_sub(boot_ctx_t *c, int rc, const char *err)
{
    dp_xlate__fail_sub(&c->x, rc, err);
    return boot_locate(c, rc < 0 ? rc : DP_EINVAL);
}

/* ---- node, admin, dynamic resources --------------------------------------- */

static void load_node(const pb_bootstrap_t *m, const dp_bootstrap_opts_t *opts, dp_bootstrap_t *b)
{
    const char *id = m->node && m->node->id ? m->node->id : "";
    const char *cluster = m->node && m->node->cluster ? m->node->cluster : "";

    /* --service-node / --service-cluster win over the file, as in Envoy. */
    if (opts && opts->service_node && opts->service_node[0])
        id = opts->service_node;
    if (opts && opts->service_cluster && opts->service_cluster[0])
        cluster = opts->service_cluster;
    b->node_id = dp_xstrdup(id);
    b->node_cluster = dp_xstrdup(cluster);
}

static int load_admin(boot_ctx_t *c, const pb_bootstrap_t *m, dp_bootstrap_t *b)
{
    const Envoy__Config__Bootstrap__V3__Admin *a = m->admin;
    size_t saved;
    int rc = 0;

    if (a == NULL)
        return 0;
    saved = dp_xlate__push(&c->x, "admin");
    /* Admin without an address runs no admin listener (Envoy's rule). */
    if (a->address != NULL) {
        size_t s2 = dp_xlate__push(&c->x, "address");
        rc = dp_xlate__address(&c->x, a->address, &b->admin_addr, &b->admin_addrlen, b->admin_addr_str,
                               sizeof(b->admin_addr_str), NULL);
        dp_xlate__pop(&c->x, s2);
        if (rc != 0) {
            rc = boot_locate(c, rc);
            goto out;
        }
        b->has_admin = true;
    }
    if (a->n_access_log) {
        b->admin_access_logs = dp_xcalloc(a->n_access_log, sizeof(*b->admin_access_logs));
        for (size_t i = 0; i < a->n_access_log; i++) {
            char err[512] = "";
            rc = dp_access_log_create(&a->access_log[i]->base, &b->admin_access_logs[b->n_admin_access_logs],
                                      err, sizeof(err));
            if (rc != 0) {
                size_t s2 = dp_xlate__push_idx(&c->x, "access_log", i);
                dp_xlate__fail_access_log(&c->x, rc, err);
                rc = boot_locate(c, rc);
                dp_xlate__pop(&c->x, s2);
                goto out;
            }
            b->n_admin_access_logs++;
        }
    }
out:
    dp_xlate__pop(&c->x, saved);
    return rc;
}

static bool has_static_cluster(const pb_bootstrap_t *m, const char *name)
{
    if (m->static_resources == NULL)
        return false;
    for (size_t i = 0; i < m->static_resources->n_clusters; i++) {
        const char *n = m->static_resources->clusters[i]->name;
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* lds_config / cds_config: only `ads: {}` with an ads_config for now. */
static int load_dyn_source(boot_ctx_t *c, const Envoy__Config__Core__V3__ConfigSource *cs, const char *field,
                           bool has_ads)
{
    size_t saved;
    int rc;

    if (cs == NULL)
        return 0;
    saved = dp_xlate__push(&c->x, field);
    rc = dp_xlate__config_source(&c->x, cs);
    if (rc != 0) {
        rc = boot_locate(c, rc);
    } else if (cs->config_source_specifier_case !=
               ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_ADS) {
        rc = boot_fail(c, "only ads: {} is supported yet (a separate api_config_source is not)");
    } else if (!has_ads) {
        rc = boot_fail(c, "ads: {} requires dynamic_resources.ads_config");
    }
    dp_xlate__pop(&c->x, saved);
    return rc;
}

static int load_dynamic(boot_ctx_t *c, const pb_bootstrap_t *m, dp_bootstrap_t *b)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap__DynamicResources *d = m->dynamic_resources;
    size_t saved;
    int rc = 0;

    if (d == NULL)
        return 0;
    saved = dp_xlate__push(&c->x, "dynamic_resources");
    if (d->ads_config != NULL) {
        const char *cluster = NULL;
        size_t s2 = dp_xlate__push(&c->x, "ads_config");
        rc = dp_xlate__api_config_source(&c->x, d->ads_config, &cluster);
        if (rc != 0) {
            rc = boot_locate(c, rc);
        } else if (cluster != NULL && !has_static_cluster(m, cluster)) {
            /* The xDS connection is made before any CDS cluster exists. */
            size_t s3 = dp_xlate__push(&c->x, "grpc_services[0].envoy_grpc.cluster_name");
            rc = boot_fail(c, "'%s' is not a static cluster (static_resources.clusters)", cluster);
            dp_xlate__pop(&c->x, s3);
        }
        dp_xlate__pop(&c->x, s2);
        b->has_ads = rc == 0;
        c->has_ads = b->has_ads;
    }
    if (rc == 0)
        rc = load_dyn_source(c, d->lds_config, "lds_config", d->ads_config != NULL);
    if (rc == 0)
        rc = load_dyn_source(c, d->cds_config, "cds_config", d->ads_config != NULL);
    dp_xlate__pop(&c->x, saved);
    return rc;
}

/* cluster_manager.load_stats_config (LRS) and hds_config (HDS): gRPC
 * streams to a static cluster or a google_grpc target, api_type GRPC (both
 * services are plain streams, there is no delta form). */
static int load_report_source(boot_ctx_t *c, const Envoy__Config__Core__V3__ApiConfigSource *a, const pb_bootstrap_t *m,
                              const char *field, bool *has)
{
    const char *cluster = NULL;
    size_t saved;
    int rc;

    if (a == NULL)
        return 0;
    saved = dp_xlate__push(&c->x, field);
    rc = dp_xlate__api_config_source(&c->x, a, &cluster);
    if (rc != 0) {
        rc = boot_locate(c, rc);
    } else if (a->api_type != ENVOY__CONFIG__CORE__V3__API_CONFIG_SOURCE__API_TYPE__GRPC) {
        size_t s2 = dp_xlate__push(&c->x, "api_type");
        rc = boot_fail(c, "must be GRPC");
        dp_xlate__pop(&c->x, s2);
    } else if (cluster != NULL && !has_static_cluster(m, cluster)) {
        size_t s2 = dp_xlate__push(&c->x, "grpc_services[0].envoy_grpc.cluster_name");
        rc = boot_fail(c, "'%s' is not a static cluster (static_resources.clusters)", cluster);
        dp_xlate__pop(&c->x, s2);
    }
    dp_xlate__pop(&c->x, saved);
    *has = rc == 0;
    return rc;
}

static int load_reporting(boot_ctx_t *c, const pb_bootstrap_t *m, dp_bootstrap_t *b)
{
    int rc = 0;

    if (m->cluster_manager != NULL) {
        size_t saved = dp_xlate__push(&c->x, "cluster_manager");
        rc = load_report_source(c, m->cluster_manager->load_stats_config, m, "load_stats_config", &b->has_lrs);
        dp_xlate__pop(&c->x, saved);
    }
    if (rc == 0)
        rc = load_report_source(c, m->hds_config, m, "hds_config", &b->has_hds);
    return rc;
}

/* ---- static resources ----------------------------------------------------- */

static void add_meta(dp_snapshot_t *s, dp_res_type_t type, const char *name, uint8_t *raw, size_t len)
{
    dp_res_meta_t *mt;

    s->meta = dp_xrealloc(s->meta, (s->n_meta + 1) * sizeof(*s->meta));
    mt = &s->meta[s->n_meta++];
    memset(mt, 0, sizeof(*mt));
    mt->type = type;
    mt->name = dp_xstrdup(name);
    mt->version = NULL;
    mt->last_updated_ms = dp_wall_ms();
    mt->is_static = true;
    mt->raw.data = raw;
    mt->raw.len = len;
}

/* Packs `m`, decodes it again as an xDS resource would be, and hands the
 * decoded message to the caller. *raw keeps the encoding (for meta). */
static int repack(boot_ctx_t *c, dp_res_type_t type, const ProtobufCMessage *m, ProtobufCMessage **out,
                  uint8_t **raw, size_t *rawlen)
{
    char err[512] = "";
    size_t len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = dp_xmalloc(len ? len : 1);
    int rc;

    protobuf_c_message_pack(m, buf);
    rc = dp_resource_decode(type, buf, len, out, err, sizeof(err));
    if (rc != 0) {
        free(buf);
        dp_xlate__fail_unknown(&c->x, m->descriptor, err);
        return boot_locate(c, rc);
    }
    *raw = buf;
    *rawlen = len;
    return 0;
}

/* A static resource subscribing over ADS needs an ADS stream: Envoy
 * refuses it otherwise ("ADS must be configured to support an ADS config
 * source"). The translators accept `ads: {}` anywhere, since over xDS the
 * stream exists by construction. */
static bool is_ads(const Envoy__Config__Core__V3__ConfigSource *cs)
{
    return cs != NULL && cs->config_source_specifier_case ==
                             ENVOY__CONFIG__CORE__V3__CONFIG_SOURCE__CONFIG_SOURCE_SPECIFIER_ADS;
}

#define NO_ADS                                                                                               \
    "ADS must be configured to support an ADS config source (dynamic_resources.ads_config is not set)"

static int check_listener_ads(boot_ctx_t *c, const Envoy__Config__Listener__V3__Listener *l)
{
    typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager hcm_t;
    const ProtobufCMessageDescriptor *d =
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor;
    int rc = 0;

    if (c->has_ads)
        return 0;
    for (size_t i = 0; i < l->n_filter_chains && rc == 0; i++) {
        const Envoy__Config__Listener__V3__FilterChain *fc = l->filter_chains[i];
        for (size_t k = 0; k < fc->n_filters && rc == 0; k++) {
            const Envoy__Config__Listener__V3__Filter *f = fc->filters[k];
            if (f->config_type_case != ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG ||
                f->typed_config == NULL ||
                strcmp(dp_xlate__type_name(f->typed_config->type_url), d->name) != 0)
                continue;
            hcm_t *h = (hcm_t *)protobuf_c_message_unpack(d, NULL, f->typed_config->value.len,
                                                          f->typed_config->value.data);
            if (h == NULL)
                continue;
            if (h->route_specifier_case ==
                    ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__ROUTE_SPECIFIER_RDS &&
                is_ads(h->rds->config_source)) {
                size_t saved = dp_xlate__push_idx(&c->x, "filter_chains", i);
                dp_xlate__push_idx(&c->x, "filters", k);
                dp_xlate__push(&c->x, "typed_config.rds.config_source");
                rc = boot_fail(c, NO_ADS);
                dp_xlate__pop(&c->x, saved);
            }
            protobuf_c_message_free_unpacked(&h->base, NULL);
        }
    }
    return rc;
}

static int check_cluster_ads(boot_ctx_t *c, const Envoy__Config__Cluster__V3__Cluster *cl)
{
    if (c->has_ads || cl->eds_cluster_config == NULL || !is_ads(cl->eds_cluster_config->eds_config))
        return 0;
    size_t saved = dp_xlate__push(&c->x, "eds_cluster_config.eds_config");
    int rc = boot_fail(c, NO_ADS);
    dp_xlate__pop(&c->x, saved);
    return rc;
}

/* ---- static secrets ---------------------------------------------------------- */

static const ProtobufCMessage *find_secret(void *ctx, const char *name,
                                           const Envoy__Config__Core__V3__ConfigSource *sds_config)
{
    boot_secrets_t *bs = ctx;
    if (sds_config != NULL) {
        /* SDS: arrives over ADS later (xds/ads_resources.c) */
        if (bs->sds[0] == '\0')
            snprintf(bs->sds, sizeof(bs->sds), "%s", name);
        return NULL;
    }
    for (size_t i = 0; i < bs->n; i++)
        if (strcmp(((const pb_secret_t *)bs->v[i])->name, name) == 0)
            return bs->v[i];
    return NULL;
}

static void secrets_free(boot_secrets_t *bs)
{
    for (size_t i = 0; i < bs->n; i++)
        protobuf_c_message_free_unpacked(bs->v[i], NULL);
    free(bs->v);
    memset(bs, 0, sizeof(*bs));
}

/* A static resource using an SDS secret needs the ADS stream that will
 * bring it (the rule check_listener_ads applies to RDS). Called right
 * after its translation at the resource's path. */
static int check_sds_ads(boot_ctx_t *c)
{
    int rc = 0;
    if (c->secrets.sds[0] != '\0' && !c->has_ads)
        rc = boot_fail(c, "SDS secret '%s' (sds_config: ads): " NO_ADS, c->secrets.sds);
    c->secrets.sds[0] = '\0';
    return rc;
}

static int load_secrets(boot_ctx_t *c, const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr,
                        dp_snapshot_t *s)
{
    if (sr->n_secrets == 0)
        return 0;
    c->secrets.v = dp_xcalloc(sr->n_secrets, sizeof(*c->secrets.v));
    for (size_t i = 0; i < sr->n_secrets; i++) {
        ProtobufCMessage *dec = NULL;
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        char err[1024] = "";
        size_t saved = dp_xlate__push_idx(&c->x, "secrets", i);
        int rc = repack(c, DP_RES_SECRET, &sr->secrets[i]->base, &dec, &raw, &rawlen);

        if (rc == 0 && (rc = dp_translate_secret(dec, err, sizeof(err))) != 0)
            rc = boot_fail_sub(c, rc, err);
        for (size_t k = 0; rc == 0 && k < c->secrets.n; k++) {
            const char *name = ((const pb_secret_t *)dec)->name;
            if (strcmp(((const pb_secret_t *)c->secrets.v[k])->name, name) == 0) {
                size_t s2 = dp_xlate__push(&c->x, "name");
                rc = boot_fail(c, "duplicate secret name '%s' (also static_resources.secrets[%zu])", name, k);
                dp_xlate__pop(&c->x, s2);
            }
        }
        dp_xlate__pop(&c->x, saved);
        if (rc != 0) {
            if (dec)
                protobuf_c_message_free_unpacked(dec, NULL);
            free(raw);
            return rc;
        }
        c->secrets.v[c->secrets.n++] = dec;
        /* Nothing reads a secret back from its meta (ADS takes static
         * secrets from the encoded bootstrap): keep it without its keys,
         * so that no dump can show them. */
        uint8_t *red = NULL;
        size_t redlen = 0;
        dp_xds_redact_raw(dec->descriptor, raw, rawlen, &red, &redlen);
        free(raw);
        add_meta(s, DP_RES_SECRET, ((const pb_secret_t *)dec)->name, red, redlen);
    }
    return 0;
}

static int load_listeners(boot_ctx_t *c, const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr,
                          dp_snapshot_t *s)
{
    if (sr->n_listeners == 0)
        return 0;
    s->listeners = dp_xcalloc(sr->n_listeners, sizeof(*s->listeners));
    for (size_t i = 0; i < sr->n_listeners; i++) {
        ProtobufCMessage *dec = NULL;
        dp_listener_cfg_t *l = NULL;
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        char err[1024] = "";
        size_t saved = dp_xlate__push_idx(&c->x, "listeners", i);
        int rc = repack(c, DP_RES_LISTENER, &sr->listeners[i]->base, &dec, &raw, &rawlen);

        if (rc == 0) {
            dp_secret_source_t src = {find_secret, &c->secrets};
            rc = dp_translate_listener_ex(dec, &src, &l, err, sizeof(err));
            protobuf_c_message_free_unpacked(dec, NULL);
            if (rc != 0)
                rc = boot_fail_sub(c, rc, err);
        }
        if (rc == 0)
            rc = check_sds_ads(c);
        if (rc == 0)
            rc = check_listener_ads(c, sr->listeners[i]);
        for (size_t k = 0; rc == 0 && k < s->n_listeners; k++) {
            const dp_listener_cfg_t *o = s->listeners[k];
            if (strcmp(o->name, l->name) == 0) {
                size_t s2 = dp_xlate__push(&c->x, "name");
                rc = boot_fail(c, "duplicate listener name '%s' (also static_resources.listeners[%zu])",
                               l->name, k);
                dp_xlate__pop(&c->x, s2);
            } else if (strcmp(o->addr_str, l->addr_str) == 0) {
                size_t s2 = dp_xlate__push(&c->x, "address");
                rc = boot_fail(c, "listener '%s' has the same address %s as listener '%s'", l->name,
                               l->addr_str, o->name);
                dp_xlate__pop(&c->x, s2);
            }
        }
        dp_xlate__pop(&c->x, saved);
        if (rc != 0) {
            dp_listener_cfg_unref(l);
            free(raw);
            return rc;
        }
        s->listeners[s->n_listeners++] = l;
        add_meta(s, DP_RES_LISTENER, l->name, raw, rawlen);
    }
    return 0;
}

static int load_clusters(boot_ctx_t *c, const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr,
                         dp_snapshot_t *s)
{
    if (sr->n_clusters == 0)
        return 0;
    s->clusters = dp_xcalloc(sr->n_clusters, sizeof(*s->clusters));
    for (size_t i = 0; i < sr->n_clusters; i++) {
        ProtobufCMessage *dec = NULL;
        dp_cluster_cfg_t *cl = NULL;
        uint8_t *raw = NULL;
        size_t rawlen = 0;
        char err[1024] = "";
        size_t saved = dp_xlate__push_idx(&c->x, "clusters", i);
        int rc = 0;

        /* Duplicates first: translating a cluster touches its stats. */
        const char *name = sr->clusters[i]->name ? sr->clusters[i]->name : "";
        for (size_t k = 0; k < i && name[0]; k++) {
            if (sr->clusters[k]->name && strcmp(sr->clusters[k]->name, name) == 0) {
                size_t s2 = dp_xlate__push(&c->x, "name");
                rc = boot_fail(c, "duplicate cluster name '%s' (also static_resources.clusters[%zu])", name,
                               k);
                dp_xlate__pop(&c->x, s2);
                break;
            }
        }
        if (rc == 0)
            rc = repack(c, DP_RES_CLUSTER, &sr->clusters[i]->base, &dec, &raw, &rawlen);
        if (rc == 0) {
            /* Static EDS clusters start without endpoints (cla NULL). */
            dp_secret_source_t src = {find_secret, &c->secrets};
            rc = dp_translate_cluster_ex(dec, NULL, &src, &cl, err, sizeof(err));
            protobuf_c_message_free_unpacked(dec, NULL);
            if (rc != 0)
                rc = boot_fail_sub(c, rc, err);
        }
        if (rc == 0)
            rc = check_sds_ads(c);
        if (rc == 0)
            rc = check_cluster_ads(c, sr->clusters[i]);
        dp_xlate__pop(&c->x, saved);
        if (rc != 0) {
            dp_cluster_cfg_unref(cl);
            free(raw);
            return rc;
        }
        s->clusters[s->n_clusters++] = cl;
        add_meta(s, DP_RES_CLUSTER, cl->name, raw, rawlen);
    }
    return 0;
}

static int load_static(boot_ctx_t *c, const pb_bootstrap_t *m, dp_snapshot_t *s)
{
    const Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources *sr = m->static_resources;
    size_t saved;
    int rc;

    if (sr == NULL)
        return 0;
    saved = dp_xlate__push(&c->x, "static_resources");
    /* Secrets, then clusters, as Envoy's server does; a listener's routes
     * may name clusters that do not exist: that is a 503/404 at request
     * time, not a load error (unless validate_clusters, see
     * translate_route.c). */
    rc = load_secrets(c, sr, s);
    if (rc == 0)
        rc = load_clusters(c, sr, s);
    if (rc == 0)
        rc = load_listeners(c, sr, s);
    dp_xlate__pop(&c->x, saved);
    return rc;
}

/* ---- entry points ------------------------------------------------------------- */

int dp_bootstrap_load(const char *path, const dp_bootstrap_opts_t *opts, dp_bootstrap_t **out, char *errbuf,
                      size_t errlen)
{
    dp_cfgnode_t *root = NULL;
    ProtobufCMessage *msg = NULL;
    dp_pbjson_opts_t popts = {.resolver = dp_typereg_lookup, .flags = 0};
    dp_bootstrap_t *b = NULL;
    boot_ctx_t c;
    int rc;

    *out = NULL;
    memset(&c, 0, sizeof(c));
    if (errbuf && errlen)
        errbuf[0] = '\0';
    rc = dp_cfgtree_load_file(path, &root, errbuf, errlen);
    if (rc != 0)
        return rc;
    rc = dp_pbjson_decode(root, &envoy__config__bootstrap__v3__bootstrap__descriptor, &popts, &msg, path,
                          errbuf, errlen);
    if (rc != 0)
        goto out;

    c.file = path;
    c.root = root;
    c.errbuf = errbuf;
    c.errlen = errlen;
    dp_xlate__init(&c.x, errbuf, errlen);

    b = dp_xcalloc(1, sizeof(*b));
    b->path = dp_xstrdup(path);
    b->msg = msg;
    b->snap = dp_snapshot_new();

    const pb_bootstrap_t *m = (const pb_bootstrap_t *)msg;
    load_node(m, opts, b);
    if ((rc = load_admin(&c, m, b)) != 0 || (rc = load_dynamic(&c, m, b)) != 0 ||
        (rc = load_reporting(&c, m, b)) != 0 ||
        (rc = load_static(&c, m, b->snap)) != 0)
        goto out;

    b->snap->generation = 0;
    b->snap->bootstrap.len = protobuf_c_message_get_packed_size(msg);
    b->snap->bootstrap.data = dp_xmalloc(b->snap->bootstrap.len ? b->snap->bootstrap.len : 1);
    protobuf_c_message_pack(msg, b->snap->bootstrap.data);
    /* dp_snapshot_seal() qsorts the arrays: qsort(NULL, 0) is undefined
     * behaviour (UBSan aborts), so empty arrays get a real block. */
    if (b->snap->clusters == NULL)
        b->snap->clusters = dp_xcalloc(1, sizeof(*b->snap->clusters));
    if (b->snap->routes == NULL)
        b->snap->routes = dp_xcalloc(1, sizeof(*b->snap->routes));
    dp_snapshot_seal(b->snap);
    *out = b;
    b = NULL;

out:
    secrets_free(&c.secrets);
    /* b owns msg once it exists; before that msg is NULL. */
    dp_bootstrap_free(b);
    dp_cfgtree_free(root);
    return rc;
}

void dp_bootstrap_free(dp_bootstrap_t *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n_admin_access_logs; i++)
        dp_access_log_free(b->admin_access_logs[i]);
    free(b->admin_access_logs);
    dp_snapshot_unref(b->snap);
    if (b->msg)
        protobuf_c_message_free_unpacked(b->msg, NULL);
    free(b->node_id);
    free(b->node_cluster);
    free(b->path);
    free(b);
}

void dp_bootstrap_node(const dp_bootstrap_t *b, const char *const *features, size_t n_features,
                       Envoy__Config__Core__V3__Node *out)
{
    const pb_bootstrap_t *bm = b ? (const pb_bootstrap_t *)b->msg : NULL;
    Envoy__Config__Core__V3__Node n = ENVOY__CONFIG__CORE__V3__NODE__INIT;

    n.id = b && b->node_id ? b->node_id : (char *)"";
    n.cluster = b && b->node_cluster ? b->node_cluster : (char *)"";
    if (bm && bm->node) {
        n.metadata = bm->node->metadata;
        n.locality = bm->node->locality;
    }
    n.user_agent_name = (char *)"dataplane";
    n.user_agent_version_type_case = ENVOY__CONFIG__CORE__V3__NODE__USER_AGENT_VERSION_TYPE_USER_AGENT_VERSION;
    n.user_agent_version = (char *)DP_VERSION;
    n.client_features = (char **)features;
    n.n_client_features = n_features;
    *out = n;
}
