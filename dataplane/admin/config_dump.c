/* GET /config_dump: Envoy's envoy.admin.v3.ConfigDump, built from the
 * snapshot the admin holds: the bootstrap (encoded in the snapshot) and one
 * dp_res_meta_t per resource (its encoded proto, version, time, origin).
 *
 * We have no envoy.admin.v3 messages, so the outer document is written
 * with the JSON writer and each resource is printed by dp_pbjson_print_buf
 * (original field names, as Envoy prints) as a google.protobuf.Any, which
 * gives the "@type" Envoy shows on listener / cluster / route_config.
 *
 *   {"configs": [BootstrapConfigDump, ClustersConfigDump,
 *                (EndpointsConfigDump with ?include_eds), ListenersConfigDump,
 *                RoutesConfigDump, SecretsConfigDump]}
 *
 * ?resource=FIELD lists only the items of one repeated field, each with
 * its own "@type" (e.g. ...ListenersConfigDump.DynamicListener), as Envoy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/admin_int.h"
#include "dataplane/core/common.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "xds/pbjson.h"
#include "xds/translate_tls.h"
#include "xds/typereg.h"

#define ADMIN_TYPE "type.googleapis.com/envoy.admin.v3."
#define PRINT_FLAGS (DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES)

typedef struct section {
    const char *dump; /* "ClustersConfigDump" */
    dp_res_type_t res;
    const char *res_type;  /* type of the resource in its Any */
    const char *res_field; /* "cluster" */
    const char *static_field, *static_type;
    const char *dynamic_field, *dynamic_type;
    bool has_version; /* the dump has a top-level version_info */
} section_t;

static const section_t clusters = {"ClustersConfigDump",
                                   DP_RES_CLUSTER,
                                   "envoy.config.cluster.v3.Cluster",
                                   "cluster",
                                   "static_clusters",
                                   "StaticCluster",
                                   "dynamic_active_clusters",
                                   "DynamicCluster",
                                   true};
static const section_t endpoints = {
    "EndpointsConfigDump",      DP_RES_ENDPOINT,           "envoy.config.endpoint.v3.ClusterLoadAssignment",
    "endpoint_config",          "static_endpoint_configs", "StaticEndpointConfig",
    "dynamic_endpoint_configs", "DynamicEndpointConfig",   false};
static const section_t listeners = {"ListenersConfigDump",
                                    DP_RES_LISTENER,
                                    "envoy.config.listener.v3.Listener",
                                    "listener",
                                    "static_listeners",
                                    "StaticListener",
                                    "dynamic_listeners",
                                    "DynamicListener",
                                    true};
static const section_t secrets = {
    "SecretsConfigDump",      DP_RES_SECRET,    "envoy.extensions.transport_sockets.tls.v3.Secret",
    "secret",                 "static_secrets", "StaticSecret",
    "dynamic_active_secrets", "DynamicSecret",  false};
static const section_t routes = {
    "RoutesConfigDump",      DP_RES_ROUTE,           "envoy.config.route.v3.RouteConfiguration",
    "route_config",          "static_route_configs", "StaticRouteConfig",
    "dynamic_route_configs", "DynamicRouteConfig",   false};

static void kv_str(dp_jw_t *w, const char *k, const char *v)
{
    dp_jw_key(w, k);
    dp_jw_str(w, v);
}

static void kv_time(dp_jw_t *w, const char *k, uint64_t ms)
{
    char ts[40];
    dp_admin__rfc3339(ms, ts, sizeof(ts));
    kv_str(w, k, ts);
}

static void write_printed(dp_jw_t *w, const ProtobufCMessage *m)
{
    char *text = NULL;
    size_t len = 0;
    if (dp_pbjson_print_buf(m, dp_typereg_lookup, PRINT_FLAGS, dp_jw_depth(w), &text, &len) == 0)
        dp_jw_raw(w, text, len);
    else
        dp_jw_raw(w, "{}", 2);
    free(text);
}

/* The resource as an Any: {"@type": ..., fields...}, with key material
 * (private keys, their passwords, session ticket keys, inline htpasswd)
 * redacted as Envoy's config dump does. */
static void write_resource(dp_jw_t *w, const section_t *sec, const dp_res_meta_t *m)
{
    char url[160];
    snprintf(url, sizeof(url), "type.googleapis.com/%s", sec->res_type);
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    any.type_url = url;
    any.value = m->raw;
    uint8_t *red = NULL;
    size_t redlen = 0;
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(url);
    if (d && m->raw.len > 0) {
        dp_xds_redact_raw(d, m->raw.data, m->raw.len, &red, &redlen);
        if (red) {
            any.value.data = red;
            any.value.len = redlen;
        }
    }
    write_printed(w, &any.base);
    free(red);
}

/* client_status and, for a rejected update, Envoy's UpdateFailureState */
static void write_status(dp_jw_t *w, const dp_res_meta_t *m)
{
    if (m->status == DP_RES_NACKED) {
        dp_jw_key(w, "error_state");
        dp_jw_obj(w);
        kv_time(w, "last_update_attempt", m->error_ms);
        kv_str(w, "details", m->error_details ? m->error_details : "");
        if (m->error_version)
            kv_str(w, "version_info", m->error_version);
        dp_jw_obj_end(w);
        kv_str(w, "client_status", "NACKED");
    } else {
        kv_str(w, "client_status", "ACKED");
    }
}


/* active_state, or warming_state while the listener waits for its routes */
static void write_listener_state(dp_jw_t *w, const section_t *sec, const dp_res_meta_t *m)
{
    dp_jw_key(w, m->status == DP_RES_WARMING ? "warming_state" : "active_state");
    dp_jw_obj(w);
    if (m->version && m->version[0])
        kv_str(w, "version_info", m->version);
    dp_jw_key(w, "listener");
    write_resource(w, sec, m);
    kv_time(w, "last_updated", m->last_updated_ms);
    dp_jw_obj_end(w);
}

/* Envoy's DynamicListener with an active version and a newer one warming. */
static void write_listener_pair(dp_jw_t *w, const section_t *sec, const dp_res_meta_t *active,
                                const dp_res_meta_t *warming, bool typed)
{
    dp_jw_obj(w);
    if (typed) {
        char type[200];
        snprintf(type, sizeof(type), ADMIN_TYPE "%s.%s", sec->dump, sec->dynamic_type);
        kv_str(w, "@type", type);
    }
    kv_str(w, "name", active->name ? active->name : "");
    if (active->raw.len > 0)
        write_listener_state(w, sec, active);
    write_listener_state(w, sec, warming);
    write_status(w, active);
    dp_jw_obj_end(w);
}

static void write_item(dp_jw_t *w, const section_t *sec, const dp_res_meta_t *m, bool typed)
{
    char type[200];
    dp_jw_obj(w);
    if (typed) {
        snprintf(type, sizeof(type), ADMIN_TYPE "%s.%s", sec->dump,
                 m->is_static ? sec->static_type : sec->dynamic_type);
        kv_str(w, "@type", type);
    }
    if (m->is_static) {
        if (sec->res == DP_RES_SECRET)
            kv_str(w, "name", m->name ? m->name : "");
        dp_jw_key(w, sec->res_field);
        write_resource(w, sec, m);
        kv_time(w, "last_updated", m->last_updated_ms);
    } else if (sec->res == DP_RES_LISTENER) {
        /* (a listener with both an active and a warming version is written
         * by write_listener as one DynamicListener) */
        kv_str(w, "name", m->name ? m->name : "");
        if (m->raw.len > 0)
            write_listener_state(w, sec, m);
        write_status(w, m);
    } else {
        if (sec->res == DP_RES_SECRET)
            kv_str(w, "name", m->name ? m->name : "");
        if (m->raw.len > 0) {
            if (m->version && m->version[0])
                kv_str(w, "version_info", m->version);
            dp_jw_key(w, sec->res_field);
            write_resource(w, sec, m);
            kv_time(w, "last_updated", m->last_updated_ms);
        }
        write_status(w, m);
    }
    dp_jw_obj_end(w);
}

static int by_name(const void *a, const void *b)
{
    const dp_res_meta_t *x = *(const dp_res_meta_t *const *)a, *y = *(const dp_res_meta_t *const *)b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* The section's resources that are static (or dynamic), sorted by name.
 * Returns a malloc'd array (count in *n). */
static const dp_res_meta_t **select_meta(const dp_snapshot_t *snap, const section_t *sec, bool is_static,
                                         size_t *n)
{
    const dp_res_meta_t **v = dp_xmalloc((snap && snap->n_meta ? snap->n_meta : 1) * sizeof(*v));
    *n = 0;
    for (size_t i = 0; snap && i < snap->n_meta; i++)
        if (snap->meta[i].type == sec->res && snap->meta[i].is_static == is_static)
            v[(*n)++] = &snap->meta[i];
    qsort(v, *n, sizeof(*v), by_name);
    return v;
}

static void write_items(dp_jw_t *w, const section_t *sec, const dp_res_meta_t **v, size_t n, bool typed)
{
    for (size_t i = 0; i < n; i++) {
        /* sorted by name: a dynamic listener's active and warming versions
         * are neighbours and make one DynamicListener */
        if (sec->res == DP_RES_LISTENER && i + 1 < n && !v[i]->is_static && v[i]->name && v[i + 1]->name &&
            strcmp(v[i]->name, v[i + 1]->name) == 0) {
            bool first_warms = v[i]->status == DP_RES_WARMING;
            write_listener_pair(w, sec, first_warms ? v[i + 1] : v[i], first_warms ? v[i] : v[i + 1], typed);
            i++;
            continue;
        }
        write_item(w, sec, v[i], typed);
    }
}

static void write_section(dp_jw_t *w, const dp_snapshot_t *snap, const section_t *sec)
{
    size_t ns, nd;
    const dp_res_meta_t **st = select_meta(snap, sec, true, &ns);
    const dp_res_meta_t **dy = select_meta(snap, sec, false, &nd);
    char type[160];
    snprintf(type, sizeof(type), ADMIN_TYPE "%s", sec->dump);
    dp_jw_obj(w);
    kv_str(w, "@type", type);
    if (sec->has_version) {
        /* the version of the latest update of this type */
        const dp_res_meta_t *last = NULL;
        for (size_t i = 0; i < nd; i++)
            if (dy[i]->version && (last == NULL || dy[i]->last_updated_ms >= last->last_updated_ms))
                last = dy[i];
        if (last && last->version[0])
            kv_str(w, "version_info", last->version);
    }
    if (ns) {
        dp_jw_key(w, sec->static_field);
        dp_jw_arr(w);
        write_items(w, sec, st, ns, false);
        dp_jw_arr_end(w);
    }
    if (nd && sec->res == DP_RES_CLUSTER) {
        /* ClustersConfigDump splits active and warming clusters */
        for (int warming = 0; warming < 2; warming++) {
            size_t k = 0;
            for (size_t i = 0; i < nd; i++)
                k += (dy[i]->status == DP_RES_WARMING) == warming;
            if (k == 0)
                continue;
            dp_jw_key(w, warming ? "dynamic_warming_clusters" : sec->dynamic_field);
            dp_jw_arr(w);
            for (size_t i = 0; i < nd; i++)
                if ((dy[i]->status == DP_RES_WARMING) == warming)
                    write_item(w, sec, dy[i], false);
            dp_jw_arr_end(w);
        }
    } else if (nd) {
        dp_jw_key(w, sec->dynamic_field);
        dp_jw_arr(w);
        write_items(w, sec, dy, nd, false);
        dp_jw_arr_end(w);
    }
    dp_jw_obj_end(w);
    free(st);
    free(dy);
}

static void write_bootstrap(dp_jw_t *w, const dp_admin_state_t *adm)
{
    const dp_snapshot_t *snap = adm->snap;
    dp_jw_obj(w);
    kv_str(w, "@type", ADMIN_TYPE "BootstrapConfigDump");
    dp_jw_key(w, "bootstrap");
    ProtobufCMessage *b = NULL;
    if (snap && snap->bootstrap.len > 0)
        b = protobuf_c_message_unpack(&envoy__config__bootstrap__v3__bootstrap__descriptor, NULL,
                                      snap->bootstrap.len, snap->bootstrap.data);
    if (b) {
        dp_xds_redact(b);
        write_printed(w, b);
        protobuf_c_message_free_unpacked(b, NULL);
    } else {
        dp_jw_raw(w, "{}", 2);
    }
    kv_time(w, "last_updated", adm->bootstrap_updated_ms ? adm->bootstrap_updated_ms : adm->start_wall_ms);
    dp_jw_obj_end(w);
}

/* ?resource=FIELD: the items of that repeated field. Returns false when
 * no section has that field. */
static bool write_resource_filter(dp_jw_t *w, const dp_snapshot_t *snap, const char *field)
{
    const section_t *all[] = {&clusters, &endpoints, &listeners, &routes, &secrets};
    for (size_t i = 0; i < DP_ARRAY_SIZE(all); i++) {
        const section_t *sec = all[i];
        bool st = strcmp(field, sec->static_field) == 0, dy = strcmp(field, sec->dynamic_field) == 0;
        if (!st && !dy)
            continue;
        size_t n;
        const dp_res_meta_t **v = select_meta(snap, sec, st, &n);
        dp_jw_obj(w);
        if (n) {
            dp_jw_key(w, "configs");
            dp_jw_arr(w);
            write_items(w, sec, v, n, true);
            dp_jw_arr_end(w);
        }
        dp_jw_obj_end(w);
        free(v);
        return true;
    }
    return false;
}

void dp_admin__config_dump(const char *query, size_t qlen, dp_admin_resp_t *r)
{
    dp_admin_state_t *adm = dp_admin__state();
    char resource[128], flag[8];
    dp_jw_t w;
    dp_jw_init(&w, &r->body, true);
    r->ctype = DP_ADMIN_CT_JSON;
    if (dp_admin__query_get(query, qlen, "resource", resource, sizeof(resource)) && resource[0]) {
        if (!write_resource_filter(&w, adm->snap, resource)) {
            r->status = 404;
            r->ctype = DP_ADMIN_CT_TEXT;
            dp_admin__buf_printf(&r->body, "%s not found in config dump\n", resource);
            return;
        }
        dp_admin__buf_puts(&r->body, "\n");
        return;
    }
    bool include_eds = dp_admin__query_get(query, qlen, "include_eds", flag, sizeof(flag));
    dp_jw_obj(&w);
    dp_jw_key(&w, "configs");
    dp_jw_arr(&w);
    write_bootstrap(&w, adm);
    write_section(&w, adm->snap, &clusters);
    if (include_eds)
        write_section(&w, adm->snap, &endpoints);
    write_section(&w, adm->snap, &listeners);
    write_section(&w, adm->snap, &routes);
    write_section(&w, adm->snap, &secrets);
    dp_jw_arr_end(&w);
    dp_jw_obj_end(&w);
    dp_admin__buf_puts(&r->body, "\n");
}
