/* Translation of a fleet node into Envoy resources (see fleet_xlate.h).
 * Each resource is written as proto3 JSON with jansson (which escapes
 * everything) and decoded with dp_pbjson_decode_text(), then serialized
 * once: the ADS server sends those bytes, --dump prints the message. */
#include "control-stub/fleet_xlate.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control-stub/stub_util.h"
#include "dataplane/core/common.h"
#include "google/protobuf/any.pb-c.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

const char *const dp_xlate_type_url[DP_XT_COUNT] = {
    "type.googleapis.com/envoy.config.listener.v3.Listener",
    "type.googleapis.com/envoy.config.cluster.v3.Cluster",
    "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
    "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
    "type.googleapis.com/dataplane.containers.v1.Project",
    "type.googleapis.com/dataplane.containers.v1.Container",
};

const char *const dp_xlate_type_short[DP_XT_COUNT] = {"LDS", "CDS", "RDS", "EDS", "SDS", "Project", "Container"};

#define HCM_URL                                                                                              \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER_URL "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
#define TLS_CTX_URL "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
#define TLS_INSPECTOR_URL "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector"
#define ORIGINAL_SRC_URL "type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc"
#define ORIGINAL_SRC_FALLBACK_URL "type.googleapis.com/dataplane.transparent.v1.OriginalSrcFallback"
#define ROUTING_URL "type.googleapis.com/dataplane.containers.v1.ContainerRouting"
#define ROUTING_FILTER "dataplane.filters.http.containers"
#define ROUTE_CONFIG_NAME "containers"
#define CLUSTER_NAME "containers"

int dp_xlate_type_of(const char *type_url)
{
    for (int i = 0; i < DP_XT_COUNT; i++)
        if (type_url && strcmp(type_url, dp_xlate_type_url[i]) == 0)
            return i;
    return -1;
}

int dp_xlate_type_wildcard(int t)
{
    return t == DP_XT_LDS || t == DP_XT_CDS || t == DP_XT_PROJECT || t == DP_XT_CONTAINER;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

#define FNV_BASIS 0xcbf29ce484222325ULL

/* Decodes `j` (stolen) as a resource of type `t` named `name` into *r. */
static int make_res(dp_xres_t *r, dp_xtype_t t, const char *name, json_t *j, char *errbuf, size_t errlen)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL) {
        snprintf(errbuf, errlen, "%s: cannot encode JSON", name);
        return DP_ENOMEM;
    }
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(dp_xlate_type_url[t]);
    dp_pbjson_opts_t o = {dp_typereg_lookup, 0};
    ProtobufCMessage *m = NULL;
    int rc = d ? dp_pbjson_decode_text(text, strlen(text), d, &o, &m, name, errbuf, errlen) : DP_EINVAL;
    if (d == NULL)
        snprintf(errbuf, errlen, "%s: type %s is not registered", name, dp_xlate_type_url[t]);
    free(text);
    if (rc)
        return rc;
    r->name = dp_stub_xstrdup(name);
    r->msg = m;
    r->len = protobuf_c_message_get_packed_size(m);
    r->bytes = dp_stub_xmalloc(r->len);
    protobuf_c_message_pack(m, r->bytes);
    r->hash = fnv(FNV_BASIS, r->bytes, r->len);
    return 0;
}

/* Same, appended to set (sorted afterwards). */
static int add_res(dp_xset_t *set, dp_xtype_t t, const char *name, json_t *j, char *errbuf, size_t errlen)
{
    dp_xres_t r = {0};
    int rc = make_res(&r, t, name, j, errbuf, errlen);
    if (rc)
        return rc;
    if ((set->n & (set->n - 1)) == 0) /* capacity doubles at each power of two */
        set->items = dp_stub_xrealloc(set->items, (set->n ? 2 * set->n : 1) * sizeof *set->items);
    set->items[set->n++] = r;
    return 0;
}

static json_t *ads_source(void)
{
    return json_pack("{s:{},s:s}", "ads", "resource_api_version", "V3");
}

static json_t *strs_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *routing_json(const dp_fleet_t *f, const dp_fleet_node_t *n)
{
    return json_pack("{s:s,s:[s],s:s,s:{s:{}},s:{s:i,s:i,s:i},s:b,s:b}", "@type", ROUTING_URL, "base_domains",
                     n->base_domain, "node", n->name, "catalogue", "ads", "default_ports", "terminal",
                     (json_int_t)f->default_ports[0], "display", (json_int_t)f->default_ports[1], "sqlite",
                     (json_int_t)f->default_ports[2], "port_pod_form", n->port_pod_form, "port_machine_form",
                     n->port_machine_form);
}

static void secret_name(const dp_fleet_node_t *n, size_t i, char *out, size_t len)
{
    snprintf(out, len, "%s-cert-%zu", n->name, i);
}

static json_t *hcm_json(const dp_fleet_t *f, const dp_fleet_node_t *n)
{
    return json_pack("{s:s,s:s,s:b,s:b,s:{s:s,s:o},s:[{s:s,s:o},{s:s,s:{s:s}}],s:[{s:s}],s:{s:b}}", "@type",
                     HCM_URL, "stat_prefix", "ingress_http", "strip_any_host_port", 1, "use_remote_address", 1,
                     "rds", "route_config_name", ROUTE_CONFIG_NAME, "config_source", ads_source(), "http_filters",
                     "name", ROUTING_FILTER, "typed_config", routing_json(f, n), "name", "envoy.filters.http.router",
                     "typed_config", "@type", ROUTER_URL, "upgrade_configs", "upgrade_type", "websocket",
                     "http2_protocol_options", "allow_connect", 1);
}

static json_t *hcm_filters(const dp_fleet_t *f, const dp_fleet_node_t *n)
{
    return json_pack("[{s:s,s:o}]", "name", "envoy.filters.network.http_connection_manager", "typed_config",
                     hcm_json(f, n));
}

/* HTTPS: one chain per certificate, selected by SNI. */
static json_t *tls_chains(const dp_fleet_t *f, const dp_fleet_node_t *n)
{
    json_t *chains = json_array();
    for (size_t i = 0; i < n->ncerts; i++) {
        char sn[96];
        secret_name(n, i, sn, sizeof sn);
        json_t *tls = json_pack("{s:s,s:{s:[{s:s,s:o}],s:[s,s]}}", "@type", TLS_CTX_URL, "common_tls_context",
                                "tls_certificate_sds_secret_configs", "name", sn, "sds_config", ads_source(),
                                "alpn_protocols", "h2", "http/1.1");
        json_array_append_new(
            chains, json_pack("{s:{s:o},s:{s:s,s:o},s:o}", "filter_chain_match", "server_names",
                              strs_json(n->certs[i].server_names, n->certs[i].nserver_names), "transport_socket",
                              "name", "envoy.transport_sockets.tls", "typed_config", tls, "filters",
                              hcm_filters(f, n)));
    }
    return chains;
}

static json_t *listener_json(const dp_fleet_t *f, const dp_fleet_node_t *n, const dp_fleet_listener_t *l,
                             const char *name)
{
    json_t *j = json_pack("{s:s,s:{s:{s:s,s:i}}}", "name", name, "address", "socket_address", "address",
                          l->address, "port_value", (json_int_t)l->port);
    json_t *lf = json_array();
    if (l->tls)
        json_array_append_new(lf, json_pack("{s:s,s:{s:s}}", "name", "envoy.filters.listener.tls_inspector",
                                            "typed_config", "@type", TLS_INSPECTOR_URL));
    /* transparent upstreams: the container sees the client (docs/transparent.md) */
    if (n->transparent)
        json_array_append_new(lf, json_pack("{s:s,s:{s:s}}", "name", "envoy.filters.listener.original_src",
                                            "typed_config", "@type", ORIGINAL_SRC_URL));
    if (n->transparent && n->transparent_forward)
        json_array_append_new(lf, json_pack("{s:s,s:{s:s,s:s}}", "name",
                                            "dataplane.filters.listener.original_src_fallback", "typed_config",
                                            "@type", ORIGINAL_SRC_FALLBACK_URL, "action",
                                            "FORWARD_CLIENT_ADDRESS"));
    if (json_array_size(lf) > 0)
        json_object_set_new(j, "listener_filters", lf);
    else
        json_decref(lf);
    if (l->tls) {
        json_object_set_new(j, "filter_chains", tls_chains(f, n));
    } else {
        json_object_set_new(j, "filter_chains", json_pack("[{s:o}]", "filters", hcm_filters(f, n)));
    }
    return j;
}

static json_t *secret_json(const dp_fleet_node_t *n, size_t i)
{
    char sn[96];
    secret_name(n, i, sn, sizeof sn);
    return json_pack("{s:s,s:{s:{s:s},s:{s:s}}}", "name", sn, "tls_certificate", "certificate_chain",
                     "inline_string", n->certs[i].cert_pem, "private_key", "inline_string", n->certs[i].key_pem);
}

/* One virtual host: every container host of the node's base domain (the
 * filter tells them apart) and the custom domains of its containers. */
static json_t *route_config_json(const dp_fleet_t *f, size_t node)
{
    char dom[300];
    json_t *domains = json_array();
    snprintf(dom, sizeof dom, "*.%s", f->nodes[node].base_domain);
    json_array_append_new(domains, json_string(dom));
    for (size_t ai = 0; ai < f->naliases; ai++) {
        const dp_fleet_alias_t *a = &f->aliases[ai];
        if (a->domain != NULL && f->containers[a->container].node == node)
            json_array_append_new(domains, json_string(a->domain));
    }
    return json_pack("{s:s,s:[{s:s,s:o,s:[{s:{s:s},s:{s:s}}]}]}", "name", ROUTE_CONFIG_NAME, "virtual_hosts",
                     "name", "containers", "domains", domains, "routes", "match", "prefix", "/", "route",
                     "cluster", CLUSTER_NAME);
}

static json_t *cluster_json(void)
{
    return json_pack("{s:s,s:s,s:s,s:s}", "name", CLUSTER_NAME, "type", "ORIGINAL_DST", "lb_policy",
                     "CLUSTER_PROVIDED", "connect_timeout", "5s");
}

static json_t *group_json(const dp_fleet_group_t *g)
{
    json_t *kind = NULL;
    const char *key = "";
    switch (g->type) {
    case DP_FLEET_G_JWT: {
        json_t *claims = json_array();
        for (size_t i = 0; i < g->nclaims; i++)
            json_array_append_new(claims, json_pack("{s:s,s:o}", "name", g->claims[i].name, "values",
                                                    strs_json(g->claims[i].values, g->claims[i].nvalues)));
        kind = json_pack("{s:s?,s:o,s:s,s:o}", "issuer", g->issuer, "audiences",
                         strs_json(g->audiences, g->naudiences), "jwks", g->jwks, "claims", claims);
        key = "jwt";
        break;
    }
    case DP_FLEET_G_PASSWORD:
        kind = json_pack("{s:s}", "htpasswd", g->htpasswd);
        key = "password";
        break;
    case DP_FLEET_G_IP:
        kind = json_pack("{s:o}", "cidrs", strs_json(g->list, g->nlist));
        key = "ip";
        break;
    case DP_FLEET_G_TOKEN:
        kind = json_pack("{s:o}", "sha256", strs_json(g->list, g->nlist));
        key = "token";
        break;
    }
    json_t *services = json_array();
    for (size_t i = 0; i < g->ngrants; i++)
        json_array_append_new(services, json_pack("{s:s,s:s}", "service", g->grants[i].service, "access",
                                                  g->grants[i].read_only ? "READ_ONLY" : "FULL"));
    return json_pack("{s:s,s:o,s:o}", "name", g->name, key, kind, "services", services);
}

static json_t *policy_json(const dp_fleet_perms_t *p)
{
    json_t *groups = json_array();
    for (size_t i = 0; i < p->ngroups; i++)
        json_array_append_new(groups, group_json(&p->groups[i]));
    return json_pack("{s:s,s:b,s:o}", "default_action", p->default_allow ? "ALLOW" : "DENY",
                     "forward_credentials", p->forward_credentials, "groups", groups);
}

static json_t *project_json(const dp_fleet_project_t *p)
{
    json_t *j = json_pack("{s:s,s:s?}", "id", p->id, "alias", p->alias);
    if (p->perms.set)
        json_object_set_new(j, "policy", policy_json(&p->perms));
    return j;
}

/* first[ci] / next[ai]: the aliases of each container as chains, built
 * once per translation (a scan of every alias per container is O(N^2)). */
typedef struct alias_chains {
    size_t *first, *next;
} alias_chains_t;

#define NO_ALIAS ((size_t)-1)

static void chains_build(const dp_fleet_t *f, alias_chains_t *ch)
{
    ch->first = dp_stub_xmalloc((f->ncontainers + 1) * sizeof *ch->first);
    ch->next = dp_stub_xmalloc((f->naliases + 1) * sizeof *ch->next);
    for (size_t ci = 0; ci < f->ncontainers; ci++)
        ch->first[ci] = NO_ALIAS;
    /* backwards, so that each chain lists its aliases in file order */
    for (size_t ai = f->naliases; ai-- > 0;) {
        ch->next[ai] = ch->first[f->aliases[ai].container];
        ch->first[f->aliases[ai].container] = ai;
    }
}

/* The alias of container ci after alias `after` (NO_ALIAS: its first),
 * from the chains, or without them (ch NULL) by a scan of the aliases. */
static size_t alias_next(const dp_fleet_t *f, const alias_chains_t *ch, size_t ci, size_t after)
{
    if (ch != NULL)
        return after == NO_ALIAS ? ch->first[ci] : ch->next[after];
    for (size_t ai = after == NO_ALIAS ? 0 : after + 1; ai < f->naliases; ai++)
        if (f->aliases[ai].container == ci)
            return ai;
    return NO_ALIAS;
}

static json_t *container_json(const dp_fleet_t *f, const alias_chains_t *ch, size_t ci)
{
    const dp_fleet_container_t *c = &f->containers[ci];
    json_t *j =
        json_pack("{s:s,s:s,s:s,s:s?,s:s?}", "id", c->id, "project", f->projects[c->project].id, "state",
                  c->running ? "RUNNING" : "STOPPED", "machine", c->machine, "pod_slug", c->pod_slug);
    if (c->running) {
        json_t *services = json_array();
        for (size_t i = 0; i < c->nservices; i++)
            json_array_append_new(services, json_pack("{s:s,s:i}", "name", c->services[i].name, "port",
                                                      (json_int_t)c->services[i].port));
        json_object_set_new(j, "addresses", strs_json(c->addresses, c->naddresses));
        json_object_set_new(j, "services", services);
    }
    json_t *aliases = json_array();
    for (size_t ai = alias_next(f, ch, ci, NO_ALIAS); ai != NO_ALIAS; ai = alias_next(f, ch, ci, ai)) {
        const dp_fleet_alias_t *a = &f->aliases[ai];
        const char *svc = c->services[a->service].name;
        if (a->name)
            json_array_append_new(aliases, json_pack("{s:s,s:s,s:i}", "name", a->name, "service", svc,
                                                     "instance", (json_int_t)a->index));
        if (a->domain)
            json_array_append_new(aliases, json_pack("{s:s,s:s,s:i}", "domain", a->domain, "service", svc,
                                                     "instance", (json_int_t)a->index));
    }
    json_object_set_new(j, "aliases", aliases);
    if (c->perms.set)
        json_object_set_new(j, "policy", policy_json(&c->perms));
    return j;
}

int dp_fleet_translate_container(const dp_fleet_t *f, size_t ci, dp_xres_t *out, char *errbuf, size_t errlen)
{
    memset(out, 0, sizeof *out);
    /* no chains: one scan of the aliases, nothing proportional to the
     * fleet allocated */
    return make_res(out, DP_XT_CONTAINER, f->containers[ci].id, container_json(f, NULL, ci), errbuf, errlen);
}

static int cmp_res(const void *a, const void *b)
{
    return strcmp(((const dp_xres_t *)a)->name, ((const dp_xres_t *)b)->name);
}

int dp_fleet_translate(const dp_fleet_t *f, size_t node, dp_xnode_t *out, char *errbuf, size_t errlen)
{
    const dp_fleet_node_t *n = &f->nodes[node];
    int rc = 0;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n->nlisteners && rc == 0; i++) {
        char name[32];
        if (n->nlisteners == 1)
            snprintf(name, sizeof name, "ingress");
        else
            snprintf(name, sizeof name, "ingress-%zu", i + 1);
        rc = add_res(&out->t[DP_XT_LDS], DP_XT_LDS, name, listener_json(f, n, &n->listeners[i], name), errbuf,
                     errlen);
    }
    if (rc == 0)
        rc = add_res(&out->t[DP_XT_RDS], DP_XT_RDS, ROUTE_CONFIG_NAME, route_config_json(f, node), errbuf,
                     errlen);
    if (rc == 0)
        rc = add_res(&out->t[DP_XT_CDS], DP_XT_CDS, CLUSTER_NAME, cluster_json(), errbuf, errlen);
    for (size_t i = 0; i < n->ncerts && rc == 0; i++) {
        char sn[96];
        secret_name(n, i, sn, sizeof sn);
        rc = add_res(&out->t[DP_XT_SDS], DP_XT_SDS, sn, secret_json(n, i), errbuf, errlen);
    }
    for (size_t pi = 0; pi < f->nprojects && rc == 0; pi++) {
        int used = 0;
        for (size_t ci = 0; ci < f->ncontainers && !used; ci++)
            used = f->containers[ci].node == node && f->containers[ci].project == pi;
        if (used)
            rc = add_res(&out->t[DP_XT_PROJECT], DP_XT_PROJECT, f->projects[pi].id,
                         project_json(&f->projects[pi]), errbuf, errlen);
    }
    alias_chains_t ch;
    chains_build(f, &ch);
    for (size_t ci = 0; ci < f->ncontainers && rc == 0; ci++)
        if (f->containers[ci].node == node)
            rc = add_res(&out->t[DP_XT_CONTAINER], DP_XT_CONTAINER, f->containers[ci].id,
                         container_json(f, &ch, ci), errbuf, errlen);
    free(ch.first);
    free(ch.next);
    if (rc) {
        dp_xnode_clear(out);
        return rc;
    }
    for (int t = 0; t < DP_XT_COUNT; t++) {
        if (out->t[t].n > 1)
            qsort(out->t[t].items, out->t[t].n, sizeof(dp_xres_t), cmp_res);
        out->t[t].digest = dp_xset_digest(&out->t[t], NULL, 0);
    }
    return 0;
}

void dp_xres_clear(dp_xres_t *r)
{
    free(r->name);
    free(r->bytes);
    if (r->msg)
        protobuf_c_message_free_unpacked(r->msg, NULL);
    memset(r, 0, sizeof *r);
}

void dp_xnode_clear(dp_xnode_t *x)
{
    for (int t = 0; t < DP_XT_COUNT; t++) {
        for (size_t i = 0; i < x->t[t].n; i++)
            dp_xres_clear(&x->t[t].items[i]);
        free(x->t[t].items);
    }
    memset(x, 0, sizeof *x);
}

uint64_t dp_xres_digest(const dp_xres_t *r)
{
    uint64_t h = fnv(FNV_BASIS, r->name, strlen(r->name) + 1);
    h = fnv(h, &r->len, sizeof r->len);
    h = fnv(h, &r->hash, sizeof r->hash);
    /* a final mix (splitmix64), so that sums of digests do not cancel
     * out in the low bits */
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    return h ^ (h >> 31);
}

uint64_t dp_xset_digest(const dp_xset_t *s, char *const *names, size_t n)
{
    uint64_t h = 0;
    for (size_t i = 0; i < s->n; i++) {
        const dp_xres_t *r = &s->items[i];
        if (names != NULL) {
            int want = 0;
            for (size_t k = 0; k < n && !want; k++)
                want = strcmp(names[k], r->name) == 0;
            if (!want)
                continue;
        }
        h += dp_xres_digest(r);
    }
    return h;
}

int dp_xset_put(dp_xset_t *s, dp_xres_t *r)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(s->items[mid].name, r->name);
        if (c == 0) {
            dp_xres_t *old = &s->items[mid];
            int changed = old->len != r->len || memcmp(old->bytes, r->bytes, r->len) != 0;
            s->digest += dp_xres_digest(r) - dp_xres_digest(old);
            dp_xres_clear(old);
            *old = *r;
            memset(r, 0, sizeof *r);
            return changed;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((s->n & (s->n - 1)) == 0)
        s->items = dp_stub_xrealloc(s->items, (s->n ? 2 * s->n : 1) * sizeof *s->items);
    memmove(&s->items[lo + 1], &s->items[lo], (s->n - lo) * sizeof *s->items);
    s->items[lo] = *r;
    s->n++;
    s->digest += dp_xres_digest(&s->items[lo]);
    memset(r, 0, sizeof *r);
    return 1;
}

/* One resource as an Any, so the printer adds "@type". */
static int print_any(const char *url, const dp_xres_t *r, FILE *fp)
{
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = (char *)url;
    any.value.data = r->bytes;
    any.value.len = r->len;
    char *s = NULL;
    size_t len = 0;
    int rc = dp_pbjson_print_buf(&any.base, dp_typereg_lookup, DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES, 3,
                                 &s, &len);
    if (rc)
        return rc;
    fwrite(s, 1, len, fp);
    free(s);
    return 0;
}

int dp_fleet_dump(const dp_fleet_t *f, const char *node, void *out, char *errbuf, size_t errlen)
{
    FILE *fp = out;
    int first_node = 1, rc = 0;
    if (node != NULL && dp_fleet_find_node(f, node) < 0) {
        snprintf(errbuf, errlen, "no node '%s' in the fleet", node);
        return DP_EINVAL;
    }
    fputs("{\n  \"nodes\": {", fp);
    for (size_t i = 0; i < f->nnodes; i++) {
        if (node != NULL && strcmp(node, f->nodes[i].name) != 0)
            continue;
        dp_xnode_t x;
        if ((rc = dp_fleet_translate(f, i, &x, errbuf, errlen)))
            return rc;
        fprintf(fp, "%s\n    \"%s\": [", first_node ? "" : ",", f->nodes[i].name);
        first_node = 0;
        int first = 1;
        for (int t = 0; t < DP_XT_COUNT && rc == 0; t++) {
            for (size_t k = 0; k < x.t[t].n && rc == 0; k++) {
                fputs(first ? "\n      " : ",\n      ", fp);
                first = 0;
                rc = print_any(dp_xlate_type_url[t], &x.t[t].items[k], fp);
            }
        }
        fputs(first ? "]" : "\n    ]", fp);
        dp_xnode_clear(&x);
        if (rc) {
            snprintf(errbuf, errlen, "cannot print the resources of node %s", f->nodes[i].name);
            return rc;
        }
    }
    fputs(first_node ? "}\n}\n" : "\n  }\n}\n", fp);
    return 0;
}
