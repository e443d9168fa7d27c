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
};

#define HCM_URL                                                                                              \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER_URL "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"
#define ROUTE_CONFIG_NAME "containers"
#define STOPPED_BODY "{\"error\": \"container stopped\", \"status\": 503}"

int dp_xlate_type_of(const char *type_url)
{
    for (int i = 0; i < DP_XT_COUNT; i++)
        if (type_url && strcmp(type_url, dp_xlate_type_url[i]) == 0)
            return i;
    return -1;
}

/* Decodes `j` (stolen) as a resource of type `t` named `name` into set. */
static int add_res(dp_xset_t *set, dp_xtype_t t, const char *name, json_t *j, char *errbuf, size_t errlen)
{
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (text == NULL) {
        snprintf(errbuf, errlen, "%s: cannot encode JSON", name);
        return DP_ENOMEM;
    }
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(dp_xlate_type_url[t]);
    dp_pbjson_opts_t o = {dp_typereg_lookup, 0};
    ProtobufCMessage *m = NULL;
    int rc = d ? dp_pbjson_decode_text(text, strlen(text), d, &o, &m, name, errbuf, errlen) : DP_EINVAL;
    free(text);
    if (rc)
        return rc;
    dp_xres_t *r;
    set->items = dp_stub_xrealloc(set->items, (set->n + 1) * sizeof *set->items);
    r = &set->items[set->n++];
    r->name = dp_stub_xstrdup(name);
    r->msg = m;
    r->len = protobuf_c_message_get_packed_size(m);
    r->bytes = dp_stub_xmalloc(r->len);
    protobuf_c_message_pack(m, r->bytes);
    return 0;
}

static json_t *ads_source(void)
{
    return json_pack("{s:{},s:s}", "ads", "resource_api_version", "V3");
}

static json_t *listener_json(const dp_fleet_node_t *n)
{
    json_t *hcm = json_pack("{s:s,s:s,s:b,s:{s:s,s:o},s:[{s:s,s:{s:s}}]}", "@type", HCM_URL, "stat_prefix",
                            "ingress_http", "strip_any_host_port", 1, "rds", "route_config_name",
                            ROUTE_CONFIG_NAME, "config_source", ads_source(), "http_filters", "name",
                            "envoy.filters.http.router", "typed_config", "@type", ROUTER_URL);
    return json_pack("{s:s,s:{s:{s:s,s:i}},s:[{s:[{s:s,s:o}]}]}", "name", "ingress", "address",
                     "socket_address", "address", n->listen_addr, "port_value", (json_int_t)n->listen_port,
                     "filter_chains", "filters", "name", "envoy.filters.network.http_connection_manager",
                     "typed_config", hcm);
}

static int cmp_res(const void *a, const void *b)
{
    return strcmp(((const dp_xres_t *)a)->name, ((const dp_xres_t *)b)->name);
}

int dp_fleet_translate(const dp_fleet_t *f, size_t node, dp_xnode_t *out, char *errbuf, size_t errlen)
{
    const dp_fleet_node_t *n = &f->nodes[node];
    json_t *vhosts = json_array();
    char name[512];
    int rc;
    memset(out, 0, sizeof *out);
    if ((rc = add_res(&out->t[DP_XT_LDS], DP_XT_LDS, "ingress", listener_json(n), errbuf, errlen)))
        goto fail;

    for (size_t ci = 0; ci < f->ncontainers; ci++) {
        const dp_fleet_container_t *c = &f->containers[ci];
        if (c->node != node)
            continue;
        for (size_t si = 0; si < c->nservices; si++) {
            const dp_fleet_service_t *s = &c->services[si];
            char cluster[128];
            snprintf(cluster, sizeof cluster, "%s-%s", c->id, s->name);
            snprintf(name, sizeof name, "%s-%s-%s-1", f->projects[c->project].id, c->id, s->name);
            json_t *domains = json_array();
            char dom[600];
            snprintf(dom, sizeof dom, "%s.%s.%s", name, n->name, n->base_domain);
            json_array_append_new(domains, json_string(dom));
            for (size_t ai = 0; ai < f->naliases; ai++) {
                const dp_fleet_alias_t *a = &f->aliases[ai];
                if (a->container != ci || a->service != si)
                    continue;
                snprintf(dom, sizeof dom, "%s.%s.%s", a->name, n->name, n->base_domain);
                json_array_append_new(domains, json_string(dom));
            }
            json_t *route;
            if (c->running) {
                route = json_pack("{s:{s:s},s:{s:s}}", "match", "prefix", "/", "route", "cluster", cluster);
                json_t *cl =
                    json_pack("{s:s,s:s,s:s,s:{s:o}}", "name", cluster, "type", "EDS", "connect_timeout",
                              "5s", "eds_cluster_config", "eds_config", ads_source());
                json_t *cla = json_pack("{s:s,s:[{s:[{s:{s:{s:{s:s,s:i}}}}]}]}", "cluster_name", cluster,
                                        "endpoints", "lb_endpoints", "endpoint", "address", "socket_address",
                                        "address", c->address, "port_value", (json_int_t)s->port);
                rc = add_res(&out->t[DP_XT_CDS], DP_XT_CDS, cluster, cl, errbuf, errlen);
                if (rc == 0)
                    rc = add_res(&out->t[DP_XT_EDS], DP_XT_EDS, cluster, cla, errbuf, errlen);
                else
                    json_decref(cla);
                if (rc) {
                    json_decref(route);
                    json_decref(domains);
                    goto fail_v;
                }
            } else {
                route = json_pack("{s:{s:s},s:{s:i,s:{s:s}},s:[{s:{s:s,s:s}}]}", "match", "prefix", "/",
                                  "direct_response", "status", 503, "body", "inline_string", STOPPED_BODY,
                                  "response_headers_to_add", "header", "key", "content-type", "value",
                                  "application/json");
            }
            json_array_append_new(
                vhosts, json_pack("{s:s,s:o,s:[o]}", "name", name, "domains", domains, "routes", route));
        }
    }
    rc = add_res(&out->t[DP_XT_RDS], DP_XT_RDS, ROUTE_CONFIG_NAME,
                 json_pack("{s:s,s:o}", "name", ROUTE_CONFIG_NAME, "virtual_hosts", vhosts), errbuf, errlen);
    vhosts = NULL;
    if (rc)
        goto fail;
    for (int t = 0; t < DP_XT_COUNT; t++) {
        if (out->t[t].n > 1)
            qsort(out->t[t].items, out->t[t].n, sizeof(dp_xres_t), cmp_res);
        out->t[t].digest = dp_xset_digest(&out->t[t], NULL, 0);
    }
    return 0;

fail_v:
    json_decref(vhosts);
fail:
    dp_xnode_clear(out);
    return rc;
}

void dp_xnode_clear(dp_xnode_t *x)
{
    for (int t = 0; t < DP_XT_COUNT; t++) {
        for (size_t i = 0; i < x->t[t].n; i++) {
            free(x->t[t].items[i].name);
            free(x->t[t].items[i].bytes);
            protobuf_c_message_free_unpacked(x->t[t].items[i].msg, NULL);
        }
        free(x->t[t].items);
    }
    memset(x, 0, sizeof *x);
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

uint64_t dp_xset_digest(const dp_xset_t *s, char *const *names, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < s->n; i++) {
        const dp_xres_t *r = &s->items[i];
        if (names != NULL) {
            int want = 0;
            for (size_t k = 0; k < n && !want; k++)
                want = strcmp(names[k], r->name) == 0;
            if (!want)
                continue;
        }
        h = fnv(h, r->name, strlen(r->name) + 1);
        h = fnv(h, &r->len, sizeof r->len);
        h = fnv(h, r->bytes, r->len);
    }
    return h;
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
