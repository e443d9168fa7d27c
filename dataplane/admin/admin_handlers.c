/* The admin endpoints, with Envoy's output formats
 * (https://www.envoyproxy.io/docs/envoy/latest/operations/admin):
 * /ready, /server_info, /stats (text, json, prometheus), /stats/prometheus,
 * /clusters, /listeners, /help. /config_dump is in config_dump.c, the
 * endpoints that act on the server (/healthcheck/fail|ok, /drain_listeners,
 * /quitquitquit, /logging, /memory, /reset_counters) in admin_ops.c.
 * Everything runs on the main thread; reads of stats are
 * relaxed atomics, the configuration comes from the snapshot the admin
 * holds a reference to. */
#include <arpa/inet.h>
#include <ctype.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/admin/admin_int.h"
#include "dataplane/admin/stats.h"
#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/worker.h"
#include "dataplane/upstream/health.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

typedef void (*handler_fn)(const char *query, size_t qlen, dp_admin_resp_t *r);


/* Envoy's Utility::serverState: a failed health check or the drain
 * sequence reads as DRAINING. */
static const char *effective_state(const dp_admin_state_t *st)
{
    if (dp_drain_hc_failed() || dp_drain_draining())
        return "DRAINING";
    return st->state[0] ? st->state : "PRE_INITIALIZING";
}

/* --- /ready, /healthcheck ---------------------------------------------------- */

static void h_ready(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    const char *state = effective_state(dp_admin__state());
    r->status = strcmp(state, "LIVE") == 0 ? 200 : 503;
    dp_admin__buf_printf(&r->body, "%s\n", state);
}

/* --- /server_info ------------------------------------------------------------ */

static const char *log_level_name(void)
{
    return dp_log_level_name(dp_log_level);
}

/* The bootstrap's Node as the xDS client presents it: id and cluster after
 * --service-node / --service-cluster, our user agent. */
static void write_node(dp_jw_t *w, const dp_admin_state_t *st)
{
    Envoy__Config__Bootstrap__V3__Bootstrap *bm = NULL;
    if (st->snap && st->snap->bootstrap.len > 0)
        bm = (Envoy__Config__Bootstrap__V3__Bootstrap *)protobuf_c_message_unpack(
            &envoy__config__bootstrap__v3__bootstrap__descriptor, NULL, st->snap->bootstrap.len,
            st->snap->bootstrap.data);
    Envoy__Config__Core__V3__Node empty = ENVOY__CONFIG__CORE__V3__NODE__INIT;
    Envoy__Config__Core__V3__Node *n = bm && bm->node ? bm->node : &empty;
    /* borrowed overrides, restored before the message is freed */
    Envoy__Config__Core__V3__Node saved = *n;
    if (st->node_id)
        n->id = st->node_id;
    if (st->node_cluster)
        n->cluster = st->node_cluster;
    n->user_agent_name = "dataplane";
    n->user_agent_version_type_case =
        ENVOY__CONFIG__CORE__V3__NODE__USER_AGENT_VERSION_TYPE_USER_AGENT_VERSION;
    n->user_agent_version = st->version ? st->version : "";
    char *text = NULL;
    size_t len = 0;
    if (dp_pbjson_print_buf(&n->base, dp_typereg_lookup, DP_PBJSON_PRETTY | DP_PBJSON_PROTO_NAMES,
                            dp_jw_depth(w), &text, &len) == 0)
        dp_jw_raw(w, text, len);
    else
        dp_jw_raw(w, "{}", 2);
    free(text);
    *n = saved;
    if (bm)
        protobuf_c_message_free_unpacked(&bm->base, NULL);
}

static void jw_kv_str(dp_jw_t *w, const char *k, const char *v)
{
    dp_jw_key(w, k);
    dp_jw_str(w, v ? v : "");
}

static void jw_kv_bool(dp_jw_t *w, const char *k, bool v)
{
    dp_jw_key(w, k);
    dp_jw_bool(w, v);
}

static void h_server_info(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    dp_admin_state_t *st = dp_admin__state();
    uint64_t now = dp_wall_ms();
    uint64_t up = st->start_wall_ms && now > st->start_wall_ms ? (now - st->start_wall_ms) / 1000 : 0;
    char dur[32];
    dp_jw_t w;
    dp_jw_init(&w, &r->body, true);
    r->ctype = DP_ADMIN_CT_JSON;
    dp_jw_obj(&w);
    jw_kv_str(&w, "version", st->version);
    jw_kv_str(&w, "state", effective_state(st));
    snprintf(dur, sizeof(dur), "%" PRIu64 "s", up);
    jw_kv_str(&w, "uptime_current_epoch", dur);
    jw_kv_str(&w, "uptime_all_epochs", dur);
    jw_kv_str(&w, "hot_restart_version", "disabled");
    dp_jw_key(&w, "command_line_options");
    dp_jw_obj(&w);
    jw_kv_str(&w, "base_id", "0");
    dp_jw_key(&w, "concurrency");
    dp_jw_uint(&w, (uint64_t)(st->concurrency > 0 ? st->concurrency : 0));
    jw_kv_str(&w, "config_path", st->config_path);
    jw_kv_str(&w, "config_yaml", "");
    jw_kv_bool(&w, "allow_unknown_static_fields", false);
    jw_kv_bool(&w, "reject_unknown_dynamic_fields", false);
    jw_kv_str(&w, "admin_address_path", "");
    jw_kv_str(&w, "local_address_ip_version", "v4");
    jw_kv_str(&w, "log_level", log_level_name());
    jw_kv_str(&w, "component_log_level", "");
    jw_kv_str(&w, "log_path", "");
    jw_kv_str(&w, "service_cluster", st->service_cluster);
    jw_kv_str(&w, "service_node", st->service_node);
    jw_kv_str(&w, "service_zone", "");
    snprintf(dur, sizeof(dur), "%.9gs", st->drain_time_s > 0 ? st->drain_time_s : 600);
    jw_kv_str(&w, "drain_time", dur);
    jw_kv_str(&w, "drain_strategy", st->drain_strategy == DP_DRAIN_IMMEDIATE ? "Immediate" : "Gradual");
    jw_kv_str(&w, "parent_shutdown_time", "900s");
    jw_kv_str(&w, "mode", "Serve");
    jw_kv_bool(&w, "disable_hot_restart", true);
    dp_jw_key(&w, "restart_epoch");
    dp_jw_uint(&w, 0);
    dp_jw_obj_end(&w);
    dp_jw_key(&w, "node");
    write_node(&w, st);
    dp_jw_obj_end(&w);
    dp_admin__buf_puts(&r->body, "\n");
}

/* --- /stats -------------------------------------------------------------------- */

/* Process-level stats Envoy has, refreshed whenever stats are served. */
void dp_admin__refresh_stats(void)
{
    dp_admin_state_t *st = dp_admin__state();
    const char *state = effective_state(st);
    int code = strcmp(state, "LIVE") == 0               ? 0
               : strcmp(state, "DRAINING") == 0         ? 1
               : strcmp(state, "PRE_INITIALIZING") == 0 ? 2
                                                        : 3;
    uint64_t now = dp_wall_ms();
    size_t allocated, heap_size, free_bytes;
    dp_admin__malloc_stats(&allocated, &heap_size, &free_bytes);
    dp_stat_set(dp_stats_gauge("server.live"), code == 0);
    dp_stat_set(dp_stats_gauge("server.state"), code);
    dp_stat_set(
        dp_stats_gauge("server.uptime"),
        (int64_t)(st->start_wall_ms && now > st->start_wall_ms ? (now - st->start_wall_ms) / 1000 : 0));
    dp_stat_set(dp_stats_gauge("server.concurrency"), st->concurrency);
    dp_stat_set(dp_stats_gauge("server.memory_allocated"), (int64_t)allocated);
    dp_stat_set(dp_stats_gauge("server.memory_heap_size"), (int64_t)heap_size);
    dp_stat_set(dp_stats_gauge("server.total_connections"), (int64_t)dp_workers_conns());
    dp_stat_set(dp_stats_gauge("server.parent_connections"), 0);
    dp_stat_set(dp_stats_gauge("server.hot_restart_epoch"), 0);
}

typedef struct stat_item {
    char *name; /* sanitized: ':' -> '_' as Envoy's stat names */
    dp_stat_kind_t kind;
    int64_t value;
} stat_item_t;

typedef struct stat_list {
    stat_item_t *v;
    size_t n, cap;
    regex_t *re;
    bool used_only;
    int type_mask; /* 1 counters, 2 gauges */
} stat_list_t;

static void collect_one(const dp_stat_t *s, void *arg)
{
    stat_list_t *l = arg;
    if (!(l->type_mask & (s->kind == DP_STAT_COUNTER ? 1 : 2)))
        return;
    int64_t v = dp_stat_get(s);
    if (l->used_only && v == 0)
        return;
    char *name = dp_xstrdup(s->name);
    for (char *p = name; *p; p++)
        if (*p == ':')
            *p = '_';
    if (l->re && regexec(l->re, name, 0, NULL, 0) != 0) {
        free(name);
        return;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = dp_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = (stat_item_t){name, s->kind, v};
}

static int by_item_name(const void *a, const void *b)
{
    return strcmp(((const stat_item_t *)a)->name, ((const stat_item_t *)b)->name);
}

static void free_list(stat_list_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Collects the stats selected by ?filter= / ?usedonly / ?type=. Returns
 * false (with r filled) on a bad parameter. */
static bool collect_stats(const char *q, size_t ql, stat_list_t *l, dp_admin_resp_t *r)
{
    char filter[1024], type[32];
    regex_t re;
    memset(l, 0, sizeof(*l));
    l->type_mask = 3;
    l->used_only = dp_admin__query_get(q, ql, "usedonly", type, sizeof(type));
    if (dp_admin__query_get(q, ql, "type", type, sizeof(type))) {
        if (strcmp(type, "Counters") == 0)
            l->type_mask = 1;
        else if (strcmp(type, "Gauges") == 0)
            l->type_mask = 2;
        else if (strcmp(type, "Histograms") == 0 || strcmp(type, "TextReadouts") == 0)
            l->type_mask = 0;
        else if (strcmp(type, "All") != 0) {
            r->status = 400;
            dp_admin__buf_printf(
                &r->body, "invalid type '%s': one of All, Counters, Gauges, Histograms, TextReadouts\n",
                type);
            return false;
        }
    }
    bool has_filter = dp_admin__query_get(q, ql, "filter", filter, sizeof(filter)) && filter[0];
    if (has_filter) {
        int rc = regcomp(&re, filter, REG_EXTENDED | REG_NOSUB);
        if (rc != 0) {
            char msg[256];
            regerror(rc, &re, msg, sizeof(msg));
            r->status = 400;
            dp_admin__buf_printf(&r->body, "Invalid regex: %s: %s\n", filter, msg);
            return false;
        }
        l->re = &re;
    }
    dp_admin__refresh_stats();
    dp_stats_foreach(collect_one, l);
    if (has_filter)
        regfree(&re);
    l->re = NULL;
    qsort(l->v, l->n, sizeof(*l->v), by_item_name);
    return true;
}

static void prom_escape(char *out, size_t outlen, const char *in, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 3 < outlen; i++) {
        char c = in[i];
        if (c == '\\' || c == '"') {
            out[o++] = '\\';
            out[o++] = c;
        } else if (c == '\n') {
            out[o++] = '\\';
            out[o++] = 'n';
        } else {
            out[o++] = c;
        }
    }
    out[o] = '\0';
}

/* The address segment Envoy's listener.ADDRESS regex accepts: digits, '.'
 * and '_' (IPv4 "127.0.0.1_10000"), or digits, hex letters, '_', '[', ']'
 * (IPv6); the longest such prefix followed by '.'. Returns its length. */
static size_t listener_addr_len(const char *s)
{
    static const char *const sets[] = {"0123456789._", "0123456789_[]abcdefABCDEF"};
    for (size_t k = 0; k < 2; k++) {
        size_t run = strspn(s, sets[k]);
        for (size_t m = run; m > 0; m--)
            if (s[m] == '.')
                return m;
    }
    return 0;
}

void dp_admin__prom_name(const char *stat, char *family, size_t flen, char *labels, size_t llen)
{
    char name[512];
    snprintf(name, sizeof(name), "%s", stat);
    for (char *p = name; *p; p++)
        if (*p == ':')
            *p = '_';
    size_t n = strlen(name);
    /* removed ranges and tags, in Envoy's extraction order: the prefix-less
     * extractors (response code, class) first, then the one keyed by the
     * first token */
    struct {
        size_t off, len;
    } rm[2];
    size_t nrm = 0;
    char tags[2][320];
    size_t ntags = 0;
    char val[256];
    size_t tail = n; /* start of a range removed at the end */

    if (n >= 7 && memcmp(name + n - 7, "_rq_", 4) == 0 && isdigit((unsigned char)name[n - 3]) &&
        isdigit((unsigned char)name[n - 2]) && isdigit((unsigned char)name[n - 1])) {
        prom_escape(val, sizeof(val), name + n - 3, 3);
        snprintf(tags[ntags++], sizeof(tags[0]), "envoy_response_code=\"%s\"", val);
        rm[nrm].off = n - 4; /* "_200" */
        rm[nrm++].len = 4;
        tail = n - 4;
    } else if (n >= 7 && memcmp(name + n - 7, "_rq_", 4) == 0 && isdigit((unsigned char)name[n - 3]) &&
               name[n - 2] == 'x' && name[n - 1] == 'x') {
        snprintf(tags[ntags++], sizeof(tags[0]), "envoy_response_code_class=\"%c\"", name[n - 3]);
        rm[nrm].off = n - 3; /* the digit of "_2xx" */
        rm[nrm++].len = 1;
        tail = n - 3;
    }

    const char *tag = NULL;
    size_t off = 0, len = 0;
    if (strncmp(name, "cluster.", 8) == 0) {
        const char *dot = strchr(name + 8, '.');
        if (dot && dot > name + 8) {
            tag = "envoy_cluster_name";
            off = 8;
            len = (size_t)(dot - (name + 8));
        }
    } else if (strncmp(name, "http.", 5) == 0) {
        const char *dot = strchr(name + 5, '.');
        if (dot) {
            tag = "envoy_http_conn_manager_prefix";
            off = 5;
            len = (size_t)(dot - (name + 5));
        }
    } else if (strncmp(name, "listener.", 9) == 0) {
        size_t m = listener_addr_len(name + 9);
        if (m > 0) {
            tag = "envoy_listener_address";
            off = 9;
            len = m;
        }
    }
    if (tag && off + len + 1 <= tail) {
        prom_escape(val, sizeof(val), name + off, len);
        snprintf(tags[ntags++], sizeof(tags[0]), "%s=\"%s\"", tag, val);
        rm[nrm].off = off; /* "app." */
        rm[nrm++].len = len + 1;
    }

    size_t o = (size_t)snprintf(family, flen, "envoy_");
    for (size_t i = 0; i < n && o + 1 < flen; i++) {
        bool skip = false;
        for (size_t k = 0; k < nrm; k++)
            if (i >= rm[k].off && i < rm[k].off + rm[k].len)
                skip = true;
        if (skip)
            continue;
        char c = name[i];
        family[o++] = isalnum((unsigned char)c) || c == '_' ? c : '_';
    }
    family[o] = '\0';
    o = 0;
    labels[0] = '\0';
    for (size_t k = 0; k < ntags && o < llen; k++)
        o += (size_t)snprintf(labels + o, llen - o, "%s%s", k ? "," : "", tags[k]);
}

typedef struct pm {
    char family[512];
    char labels[700];
    const stat_item_t *it;
    size_t idx;
} pm_t;

/* counters before gauges, by family, then in stat name order */
static int by_family(const void *a, const void *b)
{
    const pm_t *x = *(pm_t *const *)a, *y = *(pm_t *const *)b;
    if (x->it->kind != y->it->kind)
        return x->it->kind == DP_STAT_COUNTER ? -1 : 1;
    int c = strcmp(x->family, y->family);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void write_prometheus(const stat_list_t *l, dp_admin_resp_t *r)
{
    pm_t *v = dp_xcalloc(l->n ? l->n : 1, sizeof(*v));
    pm_t **order = dp_xmalloc((l->n ? l->n : 1) * sizeof(*order));
    for (size_t i = 0; i < l->n; i++) {
        v[i].it = &l->v[i];
        v[i].idx = i;
        dp_admin__prom_name(l->v[i].name, v[i].family, sizeof(v[i].family), v[i].labels, sizeof(v[i].labels));
        order[i] = &v[i];
    }
    qsort(order, l->n, sizeof(*order), by_family);
    const pm_t *prev = NULL;
    for (size_t i = 0; i < l->n; i++) {
        const pm_t *p = order[i];
        if (prev == NULL || prev->it->kind != p->it->kind || strcmp(prev->family, p->family) != 0)
            dp_admin__buf_printf(&r->body, "# TYPE %s %s\n", p->family,
                                 p->it->kind == DP_STAT_COUNTER ? "counter" : "gauge");
        prev = p;
        dp_admin__buf_puts(&r->body, p->family);
        if (p->labels[0])
            dp_admin__buf_printf(&r->body, "{%s}", p->labels);
        if (p->it->kind == DP_STAT_COUNTER)
            dp_admin__buf_printf(&r->body, " %" PRIu64 "\n", (uint64_t)p->it->value);
        else
            dp_admin__buf_printf(&r->body, " %" PRId64 "\n", p->it->value);
    }
    free(order);
    free(v);
}

static void h_stats(const char *q, size_t ql, dp_admin_resp_t *r)
{
    char format[32] = "";
    dp_admin__query_get(q, ql, "format", format, sizeof(format));
    bool json = strcmp(format, "json") == 0, prom = strcmp(format, "prometheus") == 0;
    if (format[0] && !json && !prom && strcmp(format, "text") != 0) {
        dp_admin__set_text(r, 400, "usage: /stats?format=(json|prometheus|text)\n");
        return;
    }
    stat_list_t l;
    if (!collect_stats(q, ql, &l, r)) {
        free_list(&l);
        return;
    }
    if (prom) {
        r->ctype = DP_ADMIN_CT_PROM;
        write_prometheus(&l, r);
    } else if (json) {
        dp_jw_t w;
        dp_jw_init(&w, &r->body, dp_admin__query_get(q, ql, "pretty", format, sizeof(format)));
        r->ctype = DP_ADMIN_CT_JSON;
        dp_jw_obj(&w);
        dp_jw_key(&w, "stats");
        dp_jw_arr(&w);
        for (size_t i = 0; i < l.n; i++) {
            dp_jw_obj(&w);
            dp_jw_key(&w, "name");
            dp_jw_str(&w, l.v[i].name);
            dp_jw_key(&w, "value");
            if (l.v[i].kind == DP_STAT_COUNTER)
                dp_jw_uint(&w, (uint64_t)l.v[i].value);
            else
                dp_jw_int(&w, l.v[i].value);
            dp_jw_obj_end(&w);
        }
        dp_jw_arr_end(&w);
        dp_jw_obj_end(&w);
        dp_admin__buf_puts(&r->body, "\n");
    } else {
        for (size_t i = 0; i < l.n; i++) {
            if (l.v[i].kind == DP_STAT_COUNTER)
                dp_admin__buf_printf(&r->body, "%s: %" PRIu64 "\n", l.v[i].name, (uint64_t)l.v[i].value);
            else
                dp_admin__buf_printf(&r->body, "%s: %" PRId64 "\n", l.v[i].name, l.v[i].value);
        }
    }
    free_list(&l);
}

static void h_prometheus(const char *q, size_t ql, dp_admin_resp_t *r)
{
    stat_list_t l;
    if (collect_stats(q, ql, &l, r)) {
        r->ctype = DP_ADMIN_CT_PROM;
        write_prometheus(&l, r);
    }
    free_list(&l);
}

/* --- /clusters, /listeners ------------------------------------------------------ */

static void jw_socket_address(dp_jw_t *w, const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN];
    uint16_t port;
    dp_sockaddr_split((const struct sockaddr *)ss, ip, sizeof(ip), &port);
    dp_jw_obj(w);
    dp_jw_key(w, "socket_address");
    dp_jw_obj(w);
    jw_kv_str(w, "address", ip);
    if (port) {
        dp_jw_key(w, "port_value");
        dp_jw_uint(w, port);
    }
    dp_jw_obj_end(w);
    dp_jw_obj_end(w);
}

/* Dynamic (CDS) clusters are "added via API". */
static bool added_via_api(const dp_snapshot_t *snap, const char *name)
{
    for (size_t i = 0; i < snap->n_meta; i++) {
        const dp_res_meta_t *m = &snap->meta[i];
        if (m->type == DP_RES_CLUSTER && m->name && strcmp(m->name, name) == 0)
            return !m->is_static;
    }
    return false;
}

/* Per-host stats are not kept (the cluster's are, under cluster.NAME.*):
 * the host lines report Envoy's names with zero values. */
static const char *const host_counters[] = {"cx_connect_fail", "cx_total",   "rq_error",
                                            "rq_success",      "rq_timeout", "rq_total"};
static const char *const host_gauges[] = {"cx_active", "rq_active"};

static void clusters_text(const dp_snapshot_t *snap, dp_admin_resp_t *r)
{
    static const char *const all_sorted[] = {"cx_active", "cx_connect_fail", "cx_total",   "rq_active",
                                             "rq_error",  "rq_success",      "rq_timeout", "rq_total"};
    for (size_t i = 0; snap && i < snap->n_clusters; i++) {
        const dp_cluster_cfg_t *c = snap->clusters[i];
        const char *n = c->name;
        dp_buf_t *b = &r->body;
        dp_admin__buf_printf(b, "%s::observability_name::%s\n", n, n);
        dp_admin__buf_printf(b, "%s::default_priority::max_connections::%u\n", n, c->max_connections);
        dp_admin__buf_printf(b, "%s::default_priority::max_pending_requests::%u\n", n,
                             c->max_pending_requests);
        dp_admin__buf_printf(b, "%s::default_priority::max_requests::%u\n", n, c->max_requests);
        dp_admin__buf_printf(b, "%s::default_priority::max_retries::%u\n", n, c->max_retries);
        dp_admin__buf_printf(b, "%s::high_priority::max_connections::1024\n", n);
        dp_admin__buf_printf(b, "%s::high_priority::max_pending_requests::1024\n", n);
        dp_admin__buf_printf(b, "%s::high_priority::max_requests::1024\n", n);
        dp_admin__buf_printf(b, "%s::high_priority::max_retries::3\n", n);
        dp_admin__buf_printf(b, "%s::added_via_api::%s\n", n, added_via_api(snap, n) ? "true" : "false");
        if (c->eds_service_name && c->eds_service_name[0])
            dp_admin__buf_printf(b, "%s::eds_service_name::%s\n", n, c->eds_service_name);
        for (size_t j = 0; j < c->n_endpoints; j++) {
            const dp_endpoint_t *e = &c->endpoints[j];
            const char *a = e->addr_str;
            for (size_t k = 0; k < DP_ARRAY_SIZE(all_sorted); k++)
                dp_admin__buf_printf(b, "%s::%s::%s::0\n", n, a, all_sorted[k]);
            dp_admin__buf_printf(b, "%s::%s::hostname::\n", n, a);
            char hf[128];
            dp_admin__buf_printf(b, "%s::%s::health_flags::%s\n", n, a,
                                 dp_health_flags_str(dp_health_flags(c, e), e->healthy, hf, sizeof(hf)));
            dp_admin__buf_printf(b, "%s::%s::weight::%u\n", n, a, e->weight);
            dp_admin__buf_printf(b, "%s::%s::region::\n", n, a);
            dp_admin__buf_printf(b, "%s::%s::zone::\n", n, a);
            dp_admin__buf_printf(b, "%s::%s::sub_zone::\n", n, a);
            dp_admin__buf_printf(b, "%s::%s::canary::false\n", n, a);
            dp_admin__buf_printf(b, "%s::%s::priority::%u\n", n, a, e->priority);
            dp_admin__buf_printf(b, "%s::%s::success_rate::-1\n", n, a);
            dp_admin__buf_printf(b, "%s::%s::local_origin_success_rate::-1\n", n, a);
        }
    }
}

static void thresholds_json(dp_jw_t *w, const char *priority, uint32_t cx, uint32_t pending, uint32_t rq,
                            uint32_t retries)
{
    dp_jw_obj(w);
    if (priority)
        jw_kv_str(w, "priority", priority);
    dp_jw_key(w, "max_connections");
    dp_jw_uint(w, cx);
    dp_jw_key(w, "max_pending_requests");
    dp_jw_uint(w, pending);
    dp_jw_key(w, "max_requests");
    dp_jw_uint(w, rq);
    dp_jw_key(w, "max_retries");
    dp_jw_uint(w, retries);
    dp_jw_obj_end(w);
}

static void clusters_json(const dp_snapshot_t *snap, dp_admin_resp_t *r)
{
    dp_jw_t w;
    dp_jw_init(&w, &r->body, true);
    r->ctype = DP_ADMIN_CT_JSON;
    dp_jw_obj(&w);
    if (snap && snap->n_clusters) {
        dp_jw_key(&w, "cluster_statuses");
        dp_jw_arr(&w);
    }
    for (size_t i = 0; snap && i < snap->n_clusters; i++) {
        const dp_cluster_cfg_t *c = snap->clusters[i];
        dp_jw_obj(&w);
        jw_kv_str(&w, "name", c->name);
        if (added_via_api(snap, c->name))
            jw_kv_bool(&w, "added_via_api", true);
        if (c->n_endpoints) {
            dp_jw_key(&w, "host_statuses");
            dp_jw_arr(&w);
        }
        for (size_t j = 0; j < c->n_endpoints; j++) {
            const dp_endpoint_t *e = &c->endpoints[j];
            dp_jw_obj(&w);
            dp_jw_key(&w, "address");
            jw_socket_address(&w, &e->addr);
            dp_jw_key(&w, "stats");
            dp_jw_arr(&w);
            /* SimpleMetric: zero values and the COUNTER type are defaults */
            for (size_t k = 0; k < DP_ARRAY_SIZE(host_counters); k++) {
                dp_jw_obj(&w);
                jw_kv_str(&w, "name", host_counters[k]);
                dp_jw_obj_end(&w);
            }
            for (size_t k = 0; k < DP_ARRAY_SIZE(host_gauges); k++) {
                dp_jw_obj(&w);
                jw_kv_str(&w, "type", "GAUGE");
                jw_kv_str(&w, "name", host_gauges[k]);
                dp_jw_obj_end(&w);
            }
            dp_jw_arr_end(&w);
            dp_jw_key(&w, "health_status");
            dp_jw_obj(&w);
            uint32_t hflags = dp_health_flags(c, e);
            if (hflags & DP_HF_FAILED_ACTIVE_HC)
                jw_kv_bool(&w, "failed_active_health_check", true);
            if (hflags & DP_HF_FAILED_OUTLIER_CHECK)
                jw_kv_bool(&w, "failed_outlier_check", true);
            jw_kv_str(&w, "eds_health_status", e->healthy ? "HEALTHY" : "UNHEALTHY");
            if (hflags & DP_HF_PENDING_ACTIVE_HC)
                jw_kv_bool(&w, "pending_active_hc", true);
            dp_jw_obj_end(&w);
            dp_jw_key(&w, "weight");
            dp_jw_uint(&w, e->weight);
            if (e->priority) {
                dp_jw_key(&w, "priority");
                dp_jw_uint(&w, e->priority);
            }
            dp_jw_key(&w, "locality");
            dp_jw_obj(&w);
            dp_jw_obj_end(&w);
            dp_jw_obj_end(&w);
        }
        if (c->n_endpoints)
            dp_jw_arr_end(&w);
        dp_jw_key(&w, "circuit_breakers");
        dp_jw_obj(&w);
        dp_jw_key(&w, "thresholds");
        dp_jw_arr(&w);
        thresholds_json(&w, NULL, c->max_connections, c->max_pending_requests, c->max_requests,
                        c->max_retries);
        thresholds_json(&w, "HIGH", 1024, 1024, 1024, 3);
        dp_jw_arr_end(&w);
        dp_jw_obj_end(&w);
        jw_kv_str(&w, "observability_name", c->name);
        if (c->eds_service_name && c->eds_service_name[0])
            jw_kv_str(&w, "eds_service_name", c->eds_service_name);
        dp_jw_obj_end(&w);
    }
    if (snap && snap->n_clusters)
        dp_jw_arr_end(&w);
    dp_jw_obj_end(&w);
    dp_admin__buf_puts(&r->body, "\n");
}

static void h_clusters(const char *q, size_t ql, dp_admin_resp_t *r)
{
    char format[16] = "";
    dp_admin__query_get(q, ql, "format", format, sizeof(format));
    const dp_snapshot_t *snap = dp_admin__state()->snap;
    if (strcmp(format, "json") == 0)
        clusters_json(snap, r);
    else
        clusters_text(snap, r);
}

static void h_listeners(const char *q, size_t ql, dp_admin_resp_t *r)
{
    char format[16] = "";
    dp_admin__query_get(q, ql, "format", format, sizeof(format));
    const dp_snapshot_t *snap = dp_admin__state()->snap;
    if (strcmp(format, "json") != 0) {
        for (size_t i = 0; snap && i < snap->n_listeners; i++)
            dp_admin__buf_printf(&r->body, "%s::%s\n", snap->listeners[i]->name,
                                 snap->listeners[i]->addr_str);
        return;
    }
    dp_jw_t w;
    dp_jw_init(&w, &r->body, true);
    r->ctype = DP_ADMIN_CT_JSON;
    dp_jw_obj(&w);
    if (snap && snap->n_listeners) {
        dp_jw_key(&w, "listener_statuses");
        dp_jw_arr(&w);
        for (size_t i = 0; i < snap->n_listeners; i++) {
            dp_jw_obj(&w);
            jw_kv_str(&w, "name", snap->listeners[i]->name);
            dp_jw_key(&w, "local_address");
            jw_socket_address(&w, &snap->listeners[i]->addr);
            dp_jw_obj_end(&w);
        }
        dp_jw_arr_end(&w);
    }
    dp_jw_obj_end(&w);
    dp_admin__buf_puts(&r->body, "\n");
}

/* --- routing ------------------------------------------------------------------------ */

static void h_help(const char *q, size_t ql, dp_admin_resp_t *r);

static const struct endpoint {
    const char *path;
    const char *help;
    bool mutates; /* POST only, as Envoy */
    handler_fn fn;
} endpoints[] = {
    {"/", "Admin home page", false, h_help},
    {"/certs", "print certs on machine", false, dp_admin__certs},
    {"/clusters", "upstream cluster status", false, h_clusters},
    {"/config_dump", "dump current Envoy configs (experimental)", false, dp_admin__config_dump},
    {"/drain_listeners", "drain listeners", true, dp_admin__drain_listeners},
    {"/healthcheck/fail", "cause the server to fail health checks", true, dp_admin__hc_fail},
    {"/healthcheck/ok", "cause the server to pass health checks", true, dp_admin__hc_ok},
    {"/help", "print out list of admin commands", false, h_help},
    {"/listeners", "print listener info", false, h_listeners},
    {"/logging", "query/change logging levels", true, dp_admin__logging},
    {"/memory", "print current allocation/heap usage", false, dp_admin__memory},
    {"/quitquitquit", "exit the server", true, dp_admin__quit},
    {"/ready", "print server state, return 200 if LIVE, otherwise return 503", false, h_ready},
    {"/reset_counters", "reset all counters to zero", true, dp_admin__reset_counters},
    {"/server_info", "print server version/status information", false, h_server_info},
    {"/stats", "print server stats", false, h_stats},
    {"/stats/prometheus", "print server stats in prometheus format", false, h_prometheus},
};

static void write_help(dp_buf_t *b)
{
    dp_admin__buf_puts(b, "admin commands are:\n");
    for (size_t i = 0; i < DP_ARRAY_SIZE(endpoints); i++)
        dp_admin__buf_printf(b, "  %s%s: %s\n", endpoints[i].path, endpoints[i].mutates ? " (POST)" : "",
                             endpoints[i].help);
}

static void h_help(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    write_help(&r->body);
}

void dp_admin__handle(const char *method, size_t mlen, const char *target, size_t tlen, dp_admin_resp_t *r)
{
    r->status = 200;
    r->ctype = DP_ADMIN_CT_TEXT;
    const char *qm = memchr(target, '?', tlen);
    size_t plen = qm ? (size_t)(qm - target) : tlen;
    const char *query = qm ? qm + 1 : "";
    size_t qlen = qm ? tlen - plen - 1 : 0;
    const struct endpoint *ep = NULL;
    for (size_t i = 0; i < DP_ARRAY_SIZE(endpoints); i++) {
        if (strlen(endpoints[i].path) == plen && memcmp(endpoints[i].path, target, plen) == 0) {
            ep = &endpoints[i];
            break;
        }
    }
    if (ep == NULL) {
        r->status = 404;
        dp_admin__buf_puts(&r->body, "invalid path. ");
        write_help(&r->body);
        return;
    }
    bool post = mlen == 4 && memcmp(method, "POST", 4) == 0;
    bool get = (mlen == 3 && memcmp(method, "GET", 3) == 0) || (mlen == 4 && memcmp(method, "HEAD", 4) == 0);
    if (ep->mutates && !post) {
        r->status = 405;
        dp_admin__buf_printf(&r->body, "Method %.*s not allowed, POST required.\n", (int)mlen, method);
        return;
    }
    if (!ep->mutates && !get && !post) {
        r->status = 405;
        dp_admin__buf_printf(&r->body, "Method %.*s not allowed.\n", (int)mlen, method);
        return;
    }
    ep->fn(query, qlen, r);
}
