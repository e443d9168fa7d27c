/* Admin endpoints against a hand-built snapshot: routing and methods,
 * /ready and health checks, /stats (text, json, filters), Prometheus tag
 * extraction, /clusters, /listeners, /server_info, /config_dump (checked
 * by parsing the JSON), then the HTTP server itself over a real socket:
 * keep-alive, pipelining, bodies discarded, HEAD, Connection: close,
 * oversized heads and the admin access log. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dataplane/admin/admin.h"
#include "dataplane/admin/admin_int.h"
#include "dataplane/admin/stats.h"
#include "dataplane/core/log.h"
#include "dataplane/http1/parser.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "test.h"
#include "xds/pbjson.h"
#include "xds/typereg.h"

#define T_UPDATED_MS 1704164645678ull /* 2024-01-02T03:04:05.678Z */

static dp_admin_resp_t resp;

/* Runs one request through the dispatcher; the body is NUL-terminated. */
static const char *req(const char *method, const char *target)
{
    dp_buf_free(&resp.body);
    memset(&resp, 0, sizeof(resp));
    dp_admin__handle(method, strlen(method), target, strlen(target), &resp);
    dp_buf_append(&resp.body, "", 1);
    return dp_buf_data(&resp.body);
}

static ProtobufCMessage *decode(const ProtobufCMessageDescriptor *d, const char *yaml)
{
    dp_pbjson_opts_t opts = {.resolver = dp_typereg_lookup};
    ProtobufCMessage *m = NULL;
    char err[512];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), d, &opts, &m, "t.yaml", err, sizeof(err)) != 0) {
        fprintf(stderr, "decode: %s\n", err);
        abort();
    }
    return m;
}

static ProtobufCBinaryData encode(const ProtobufCMessageDescriptor *d, const char *yaml)
{
    ProtobufCMessage *m = decode(d, yaml);
    ProtobufCBinaryData b;
    b.len = protobuf_c_message_get_packed_size(m);
    b.data = malloc(b.len ? b.len : 1);
    protobuf_c_message_pack(m, b.data);
    protobuf_c_message_free_unpacked(m, NULL);
    return b;
}

static void add_meta(dp_snapshot_t *s, dp_res_type_t t, const char *name, const char *version, bool is_static,
                     ProtobufCBinaryData raw)
{
    s->meta = realloc(s->meta, (s->n_meta + 1) * sizeof(*s->meta));
    s->meta[s->n_meta++] = (dp_res_meta_t){.type = t,
                                           .name = strdup(name),
                                           .version = version ? strdup(version) : NULL,
                                           .last_updated_ms = T_UPDATED_MS,
                                           .is_static = is_static,
                                           .raw = raw};
}

static dp_listener_cfg_t *make_listener(const char *name, int family, const char *ip, int port,
                                        const char *str)
{
    dp_listener_cfg_t *l = calloc(1, sizeof(*l));
    l->refcnt = 1;
    l->name = strdup(name);
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&l->addr;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &a->sin_addr);
        l->addrlen = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&l->addr;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &a->sin6_addr);
        l->addrlen = sizeof(*a);
    }
    snprintf(l->addr_str, sizeof(l->addr_str), "%s", str);
    return l;
}

static void set_ep(dp_endpoint_t *e, const char *ip, int port, uint32_t w, bool healthy, uint32_t prio)
{
    struct sockaddr_in *a = (struct sockaddr_in *)&e->addr;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &a->sin_addr);
    e->addrlen = sizeof(*a);
    e->weight = w;
    e->healthy = healthy;
    e->priority = prio;
    snprintf(e->addr_str, sizeof(e->addr_str), "%s:%d", ip, port);
}

static dp_cluster_cfg_t *make_cluster(const char *name)
{
    dp_cluster_cfg_t *c = calloc(1, sizeof(*c));
    c->refcnt = 1;
    c->name = strdup(name);
    c->max_connections = 100;
    c->max_pending_requests = 200;
    c->max_requests = 300;
    c->max_retries = 4;
    return c;
}

static dp_snapshot_t *make_snapshot(void)
{
    dp_snapshot_t *s = dp_snapshot_new();
    s->listeners = calloc(2, sizeof(*s->listeners));
    s->listeners[s->n_listeners++] =
        make_listener("listener_0", AF_INET, "127.0.0.1", 10000, "127.0.0.1:10000");
    s->listeners[s->n_listeners++] = make_listener("lds_1", AF_INET6, "::1", 10001, "[::1]:10001");
    s->clusters = calloc(2, sizeof(*s->clusters));
    dp_cluster_cfg_t *app = make_cluster("app");
    app->endpoints = calloc(2, sizeof(*app->endpoints));
    app->n_endpoints = 2;
    set_ep(&app->endpoints[0], "127.0.0.1", 18080, 1, true, 0);
    set_ep(&app->endpoints[1], "127.0.0.2", 18081, 3, false, 1);
    s->clusters[s->n_clusters++] = app;
    dp_cluster_cfg_t *eds = make_cluster("eds_c");
    eds->eds_service_name = strdup("eds_c_la");
    s->clusters[s->n_clusters++] = eds;
    dp_snapshot_seal(s);

    add_meta(
        s, DP_RES_LISTENER, "listener_0", NULL, true,
        encode(&envoy__config__listener__v3__listener__descriptor,
               "name: listener_0\naddress: {socket_address: {address: 127.0.0.1, port_value: 10000}}\n"));
    add_meta(s, DP_RES_LISTENER, "lds_1", "v7", false,
             encode(&envoy__config__listener__v3__listener__descriptor,
                    "name: lds_1\naddress: {socket_address: {address: '::1', port_value: 10001}}\n"));
    add_meta(s, DP_RES_CLUSTER, "eds_c", "c1", false,
             encode(&envoy__config__cluster__v3__cluster__descriptor, "name: eds_c\ntype: EDS\n"));
    /* xDS states: lds_1 has a newer version warming; "bad" was rejected with
     * no good version; "warm" waits for its endpoints (older timestamps, so
     * they are not the latest update of their type) */
    add_meta(s, DP_RES_LISTENER, "lds_1", "v8", false,
             encode(&envoy__config__listener__v3__listener__descriptor,
                    "name: lds_1\naddress: {socket_address: {address: '::1', port_value: 10002}}\n"));
    s->meta[s->n_meta - 1].status = DP_RES_WARMING;
    s->meta[s->n_meta - 1].last_updated_ms = T_UPDATED_MS - 1000;
    add_meta(s, DP_RES_CLUSTER, "bad", NULL, false, (ProtobufCBinaryData){0, NULL});
    s->meta[s->n_meta - 1].status = DP_RES_NACKED;
    s->meta[s->n_meta - 1].error_details = strdup("lb_policy: unsupported lb_policy MAGLEV");
    s->meta[s->n_meta - 1].error_version = strdup("c2");
    s->meta[s->n_meta - 1].error_ms = T_UPDATED_MS;
    s->meta[s->n_meta - 1].last_updated_ms = T_UPDATED_MS - 1000;
    add_meta(s, DP_RES_CLUSTER, "warm", "c0", false,
             encode(&envoy__config__cluster__v3__cluster__descriptor, "name: warm\ntype: EDS\n"));
    s->meta[s->n_meta - 1].status = DP_RES_WARMING;
    s->meta[s->n_meta - 1].last_updated_ms = T_UPDATED_MS - 1000;
    add_meta(s, DP_RES_CLUSTER, "app", NULL, true,
             encode(&envoy__config__cluster__v3__cluster__descriptor, "name: app\nconnect_timeout: 0.25s\n"));
    add_meta(s, DP_RES_ROUTE, "rc1", "r3", false,
             encode(&envoy__config__route__v3__route_configuration__descriptor, "name: rc1\n"));
    add_meta(s, DP_RES_ENDPOINT, "eds_c_la", "e1", false,
             encode(&envoy__config__endpoint__v3__cluster_load_assignment__descriptor,
                    "cluster_name: eds_c_la\n"));
    s->bootstrap = encode(&envoy__config__bootstrap__v3__bootstrap__descriptor,
                          "node: {id: n1, cluster: c1, locality: {zone: z1}}\n"
                          "admin: {address: {socket_address: {address: 127.0.0.1, port_value: 9901}}}\n");
    return s;
}

static const dp_admin_info_t info = {
    .version = "0.1.0",
    .node_id = "node-x",
    .node_cluster = "cluster-x",
    .command_line = "dataplane -c b.yaml",
    .concurrency = 4,
    .service_node = "node-x",
    .drain_time_s = 30,
};

/* --- JSON helpers ------------------------------------------------------------------ */

/* "a.b[2].c" lookups; keys may not contain '.' or '['. */
static json_t *jget(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        char *br = strchr(tok, '[');
        if (br != tok) {
            if (br)
                *br = '\0';
            cur = json_object_get(cur, tok);
            if (br)
                *br = '[';
        }
        while (cur && br) {
            cur = json_array_get(cur, (size_t)atoi(br + 1));
            br = strchr(br + 1, '[');
        }
    }
    return cur;
}

static const char *jstr(json_t *root, const char *path)
{
    const char *s = json_string_value(jget(root, path));
    return s ? s : "(missing)";
}

static json_t *parse_body(void)
{
    json_error_t e;
    json_t *j = json_loads(dp_buf_data(&resp.body), 0, &e);
    if (j == NULL)
        fprintf(stderr, "JSON error: %s at line %d\n%s\n", e.text, e.line, dp_buf_data(&resp.body));
    CHECK(j != NULL);
    return j;
}

/* --- handler-level tests --------------------------------------------------------------- */

static void test_routing_and_health(void)
{
    const char *b = req("GET", "/ready");
    CHECK_INT(resp.status, 503);
    CHECK_STR(b, "PRE_INITIALIZING\n");
    dp_admin_set_state("LIVE");
    b = req("GET", "/ready");
    CHECK_INT(resp.status, 200);
    CHECK_STR(b, "LIVE\n");
    CHECK_STR(resp.ctype, DP_ADMIN_CT_TEXT);

    b = req("GET", "/nope");
    CHECK_INT(resp.status, 404);
    CHECK(strncmp(b, "invalid path. admin commands are:\n", 34) == 0);
    CHECK(strstr(b, "  /config_dump: ") != NULL);
    b = req("GET", "/stats/");
    CHECK_INT(resp.status, 404);

    b = req("GET", "/healthcheck/fail");
    CHECK_INT(resp.status, 405);
    CHECK_STR(b, "Method GET not allowed, POST required.\n");
    CHECK(!dp_drain_hc_failed());
    b = req("DELETE", "/stats");
    CHECK_INT(resp.status, 405);

    b = req("POST", "/healthcheck/fail");
    CHECK_INT(resp.status, 200);
    CHECK_STR(b, "OK\n");
    CHECK(dp_drain_hc_failed());
    b = req("GET", "/ready");
    CHECK_INT(resp.status, 503);
    CHECK_STR(b, "DRAINING\n");
    req("GET", "/server_info");
    json_t *j = parse_body();
    CHECK_STR(jstr(j, "state"), "DRAINING");
    json_decref(j);
    b = req("POST", "/healthcheck/ok");
    CHECK_STR(b, "OK\n");
    CHECK(!dp_drain_hc_failed());
    b = req("GET", "/ready");
    CHECK_INT(resp.status, 200);

    dp_admin_set_state("DRAINING");
    b = req("HEAD", "/ready");
    CHECK_INT(resp.status, 503);
    CHECK_STR(b, "DRAINING\n");
    dp_admin_set_state("LIVE");
}

static void test_stats(void)
{
    dp_stat_set(dp_stats_counter("cluster.app.upstream_rq_total"), 12);
    dp_stat_set(dp_stats_gauge("cluster.app.upstream_cx_active"), 3);
    dp_stat_set(dp_stats_counter("cluster.app.upstream_rq_200"), 4);
    dp_stat_set(dp_stats_counter("cluster.app.upstream_rq_2xx"), 4);
    dp_stat_set(dp_stats_counter("http.ingress_http.downstream_rq_2xx"), 5);
    dp_stat_set(dp_stats_counter("listener.127.0.0.1:10000.downstream_cx_total"), 7);
    dp_stat_set(dp_stats_gauge("http.ingress_http.downstream_rq_active"), -2);
    dp_stats_counter("cluster.app.upstream_rq_timeout"); /* stays 0 */

    const char *b = req("GET", "/stats");
    CHECK_INT(resp.status, 200);
    CHECK(strstr(b, "cluster.app.upstream_rq_total: 12\n") != NULL);
    CHECK(strstr(b, "cluster.app.upstream_cx_active: 3\n") != NULL);
    CHECK(strstr(b, "http.ingress_http.downstream_rq_active: -2\n") != NULL);
    /* ':' in names is sanitized to '_' as in Envoy */
    CHECK(strstr(b, "listener.127.0.0.1_10000.downstream_cx_total: 7\n") != NULL);
    CHECK(strstr(b, "server.live: 1\n") != NULL);
    CHECK(strstr(b, "server.concurrency: 4\n") != NULL);
    CHECK(strstr(b, "server.memory_allocated: ") != NULL);
    CHECK(strstr(b, "server.uptime: ") != NULL);
    CHECK(strstr(b, "server.total_connections: 0\n") != NULL);
    /* sorted */
    CHECK(strstr(b, "cluster.app.upstream_cx_active") < strstr(b, "cluster.app.upstream_rq_200"));
    CHECK(strstr(b, "http.ingress_http") < strstr(b, "listener.127"));
    CHECK(strstr(b, "listener.127") < strstr(b, "server.live"));

    b = req("GET", "/stats?filter=%5Ecluster%5C.app%5C.upstream_rq_[0-9]");
    CHECK_STR(b, "cluster.app.upstream_rq_200: 4\ncluster.app.upstream_rq_2xx: 4\n");
    b = req("GET", "/stats?filter=upstream_rq_t&usedonly");
    CHECK_STR(b, "cluster.app.upstream_rq_total: 12\n");
    b = req("GET", "/stats?filter=^cluster.app&type=Gauges");
    CHECK_STR(b, "cluster.app.upstream_cx_active: 3\n");
    b = req("GET", "/stats?filter=(");
    CHECK_INT(resp.status, 400);
    CHECK(strncmp(b, "Invalid regex: (", 16) == 0);
    b = req("GET", "/stats?format=xml");
    CHECK_INT(resp.status, 400);

    req("GET", "/stats?format=json&filter=^cluster%5C.app%5C.upstream_(rq_total|cx_active)$");
    CHECK_STR(resp.ctype, DP_ADMIN_CT_JSON);
    CHECK_STR(dp_buf_data(&resp.body),
              "{\"stats\":[{\"name\":\"cluster.app.upstream_cx_active\",\"value\":3},"
              "{\"name\":\"cluster.app.upstream_rq_total\",\"value\":12}]}\n");
    req("GET", "/stats?format=json");
    json_t *j = parse_body();
    CHECK(json_array_size(jget(j, "stats")) > 10);
    json_decref(j);
}

static void test_prometheus(void)
{
    char fam[512], lab[512];
    dp_admin__prom_name("cluster.app.upstream_rq_total", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_cluster_upstream_rq_total");
    CHECK_STR(lab, "envoy_cluster_name=\"app\"");
    dp_admin__prom_name("cluster.app.upstream_rq_503", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_cluster_upstream_rq");
    CHECK_STR(lab, "envoy_response_code=\"503\",envoy_cluster_name=\"app\"");
    dp_admin__prom_name("http.ingress_http.downstream_rq_4xx", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_http_downstream_rq_xx");
    CHECK_STR(lab, "envoy_response_code_class=\"4\",envoy_http_conn_manager_prefix=\"ingress_http\"");
    dp_admin__prom_name("listener.127.0.0.1:10000.downstream_cx_total", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_listener_downstream_cx_total");
    CHECK_STR(lab, "envoy_listener_address=\"127.0.0.1_10000\"");
    dp_admin__prom_name("listener.[__1]_10001.downstream_cx_active", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_listener_downstream_cx_active");
    CHECK_STR(lab, "envoy_listener_address=\"[__1]_10001\"");
    dp_admin__prom_name("listener.admin.downstream_cx_total", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_listener_admin_downstream_cx_total");
    CHECK_STR(lab, "");
    dp_admin__prom_name("server.live", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_server_live");
    CHECK_STR(lab, "");
    dp_admin__prom_name("cluster.my-svc.v1.upstream_cx_total", fam, sizeof(fam), lab, sizeof(lab));
    CHECK_STR(fam, "envoy_cluster_v1_upstream_cx_total");
    CHECK_STR(lab, "envoy_cluster_name=\"my-svc\"");

    const char *b = req("GET", "/stats/prometheus");
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.ctype, DP_ADMIN_CT_PROM);
    CHECK(strstr(b, "# TYPE envoy_cluster_upstream_rq_total counter\n"
                    "envoy_cluster_upstream_rq_total{envoy_cluster_name=\"app\"} 12\n") != NULL);
    CHECK(strstr(b,
                 "# TYPE envoy_cluster_upstream_rq counter\n"
                 "envoy_cluster_upstream_rq{envoy_response_code=\"200\",envoy_cluster_name=\"app\"} 4\n") !=
          NULL);
    CHECK(strstr(b, "envoy_http_downstream_rq_xx{envoy_response_code_class=\"2\","
                    "envoy_http_conn_manager_prefix=\"ingress_http\"} 5\n") != NULL);
    CHECK(strstr(b, "envoy_listener_downstream_cx_total{envoy_listener_address=\"127.0.0.1_10000\"} 7\n") !=
          NULL);
    CHECK(strstr(b, "# TYPE envoy_server_live gauge\nenvoy_server_live 1\n") != NULL);
    CHECK(
        strstr(b, "envoy_http_downstream_rq_active{envoy_http_conn_manager_prefix=\"ingress_http\"} -2\n") !=
        NULL);
    /* one TYPE line per family; counters before gauges */
    const char *first = strstr(b, "# TYPE envoy_cluster_upstream_rq_xx counter\n");
    CHECK(first != NULL && strstr(first + 1, "# TYPE envoy_cluster_upstream_rq_xx counter\n") == NULL);
    const char *last_counter = NULL;
    for (const char *p = b; (p = strstr(p, " counter\n")) != NULL; p++)
        last_counter = p;
    CHECK(last_counter != NULL && last_counter < strstr(b, " gauge\n"));
    b = req("GET", "/stats/prometheus?filter=server.live");
    CHECK_STR(b, "# TYPE envoy_server_live gauge\nenvoy_server_live 1\n");
    b = req("GET", "/stats?format=prometheus&filter=server.live");
    CHECK_STR(b, "# TYPE envoy_server_live gauge\nenvoy_server_live 1\n");
}

static void test_clusters_listeners(void)
{
    const char *b = req("GET", "/clusters");
    CHECK_INT(resp.status, 200);
    const char *want_app = "app::observability_name::app\n"
                           "app::default_priority::max_connections::100\n"
                           "app::default_priority::max_pending_requests::200\n"
                           "app::default_priority::max_requests::300\n"
                           "app::default_priority::max_retries::4\n"
                           "app::high_priority::max_connections::1024\n"
                           "app::high_priority::max_pending_requests::1024\n"
                           "app::high_priority::max_requests::1024\n"
                           "app::high_priority::max_retries::3\n"
                           "app::added_via_api::false\n"
                           "app::127.0.0.1:18080::cx_active::0\n"
                           "app::127.0.0.1:18080::cx_connect_fail::0\n"
                           "app::127.0.0.1:18080::cx_total::0\n"
                           "app::127.0.0.1:18080::rq_active::0\n"
                           "app::127.0.0.1:18080::rq_error::0\n"
                           "app::127.0.0.1:18080::rq_success::0\n"
                           "app::127.0.0.1:18080::rq_timeout::0\n"
                           "app::127.0.0.1:18080::rq_total::0\n"
                           "app::127.0.0.1:18080::hostname::\n"
                           "app::127.0.0.1:18080::health_flags::healthy\n"
                           "app::127.0.0.1:18080::weight::1\n"
                           "app::127.0.0.1:18080::region::\n"
                           "app::127.0.0.1:18080::zone::\n"
                           "app::127.0.0.1:18080::sub_zone::\n"
                           "app::127.0.0.1:18080::canary::false\n"
                           "app::127.0.0.1:18080::priority::0\n"
                           "app::127.0.0.1:18080::success_rate::-1\n"
                           "app::127.0.0.1:18080::local_origin_success_rate::-1\n";
    CHECK(strncmp(b, want_app, strlen(want_app)) == 0);
    CHECK(strstr(b, "app::127.0.0.2:18081::health_flags::/failed_eds_health\n") != NULL);
    CHECK(strstr(b, "app::127.0.0.2:18081::weight::3\n") != NULL);
    CHECK(strstr(b, "app::127.0.0.2:18081::priority::1\n") != NULL);
    CHECK(strstr(b, "eds_c::added_via_api::true\neds_c::eds_service_name::eds_c_la\n") != NULL);

    req("GET", "/clusters?format=json");
    CHECK_STR(resp.ctype, DP_ADMIN_CT_JSON);
    json_t *j = parse_body();
    CHECK_STR(jstr(j, "cluster_statuses[0].name"), "app");
    CHECK(jget(j, "cluster_statuses[0].added_via_api") == NULL);
    CHECK_STR(jstr(j, "cluster_statuses[0].host_statuses[0].address.socket_address.address"), "127.0.0.1");
    CHECK_INT(
        json_integer_value(jget(j, "cluster_statuses[0].host_statuses[0].address.socket_address.port_value")),
        18080);
    CHECK_STR(jstr(j, "cluster_statuses[0].host_statuses[0].health_status.eds_health_status"), "HEALTHY");
    CHECK_STR(jstr(j, "cluster_statuses[0].host_statuses[1].health_status.eds_health_status"), "UNHEALTHY");
    CHECK_INT(json_integer_value(jget(j, "cluster_statuses[0].host_statuses[1].weight")), 3);
    CHECK_STR(jstr(j, "cluster_statuses[0].host_statuses[0].stats[0].name"), "cx_connect_fail");
    CHECK_STR(jstr(j, "cluster_statuses[0].host_statuses[0].stats[6].type"), "GAUGE");
    CHECK_INT(
        json_integer_value(jget(j, "cluster_statuses[0].circuit_breakers.thresholds[0].max_connections")),
        100);
    CHECK_STR(jstr(j, "cluster_statuses[0].circuit_breakers.thresholds[1].priority"), "HIGH");
    CHECK_STR(jstr(j, "cluster_statuses[0].observability_name"), "app");
    CHECK(json_is_true(jget(j, "cluster_statuses[1].added_via_api")));
    CHECK_STR(jstr(j, "cluster_statuses[1].eds_service_name"), "eds_c_la");
    json_decref(j);

    b = req("GET", "/listeners");
    CHECK_STR(b, "listener_0::127.0.0.1:10000\nlds_1::[::1]:10001\n");
    req("GET", "/listeners?format=json");
    j = parse_body();
    CHECK_STR(jstr(j, "listener_statuses[0].name"), "listener_0");
    CHECK_STR(jstr(j, "listener_statuses[0].local_address.socket_address.address"), "127.0.0.1");
    CHECK_INT(json_integer_value(jget(j, "listener_statuses[0].local_address.socket_address.port_value")),
              10000);
    CHECK_STR(jstr(j, "listener_statuses[1].local_address.socket_address.address"), "::1");
    json_decref(j);
}

static void test_server_info(void)
{
    req("GET", "/server_info");
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.ctype, DP_ADMIN_CT_JSON);
    json_t *j = parse_body();
    CHECK_STR(jstr(j, "version"), "0.1.0");
    CHECK_STR(jstr(j, "state"), "LIVE");
    CHECK_STR(jstr(j, "hot_restart_version"), "disabled");
    const char *up = jstr(j, "uptime_current_epoch");
    CHECK(strlen(up) >= 2 && up[strlen(up) - 1] == 's');
    CHECK_INT(json_integer_value(jget(j, "command_line_options.concurrency")), 4);
    CHECK_STR(jstr(j, "command_line_options.config_path"), "/etc/b.yaml");
    CHECK_STR(jstr(j, "command_line_options.service_node"), "node-x");
    CHECK_STR(jstr(j, "command_line_options.service_cluster"), "");
    CHECK_STR(jstr(j, "command_line_options.drain_time"), "30s");
    CHECK_STR(jstr(j, "command_line_options.mode"), "Serve");
    CHECK(jget(j, "command_line_options.log_level") != NULL);
    /* the bootstrap's node with the effective id / cluster */
    CHECK_STR(jstr(j, "node.id"), "node-x");
    CHECK_STR(jstr(j, "node.cluster"), "cluster-x");
    CHECK_STR(jstr(j, "node.locality.zone"), "z1");
    CHECK_STR(jstr(j, "node.user_agent_name"), "dataplane");
    CHECK_STR(jstr(j, "node.user_agent_version"), "0.1.0");
    json_decref(j);
}

static void test_config_dump(void)
{
    req("GET", "/config_dump");
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.ctype, DP_ADMIN_CT_JSON);
    json_t *j = parse_body();
    CHECK_INT(json_array_size(jget(j, "configs")), 5);
    CHECK_STR(jstr(j, "configs[0].@type"), "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump");
    CHECK_STR(jstr(j, "configs[4].@type"), "type.googleapis.com/envoy.admin.v3.SecretsConfigDump");
    CHECK_STR(jstr(j, "configs[0].bootstrap.node.id"), "n1");
    CHECK_INT(json_integer_value(jget(j, "configs[0].bootstrap.admin.address.socket_address.port_value")),
              9901);
    CHECK(jget(j, "configs[0].last_updated") != NULL);

    CHECK_STR(jstr(j, "configs[1].@type"), "type.googleapis.com/envoy.admin.v3.ClustersConfigDump");
    CHECK_STR(jstr(j, "configs[1].version_info"), "c1");
    CHECK_STR(jstr(j, "configs[1].static_clusters[0].cluster.@type"),
              "type.googleapis.com/envoy.config.cluster.v3.Cluster");
    CHECK_STR(jstr(j, "configs[1].static_clusters[0].cluster.name"), "app");
    CHECK_STR(jstr(j, "configs[1].static_clusters[0].cluster.connect_timeout"), "0.250s");
    CHECK_STR(jstr(j, "configs[1].static_clusters[0].last_updated"), "2024-01-02T03:04:05.678Z");
    /* sorted by name: "bad" (rejected, never good) then "eds_c" */
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[0].client_status"), "NACKED");
    CHECK(jget(j, "configs[1].dynamic_active_clusters[0].cluster") == NULL);
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[0].error_state.details"),
              "lb_policy: unsupported lb_policy MAGLEV");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[0].error_state.version_info"), "c2");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[0].error_state.last_update_attempt"),
              "2024-01-02T03:04:05.678Z");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[1].version_info"), "c1");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[1].cluster.name"), "eds_c");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[1].cluster.type"), "EDS");
    CHECK_STR(jstr(j, "configs[1].dynamic_active_clusters[1].client_status"), "ACKED");
    CHECK_INT(json_array_size(jget(j, "configs[1].dynamic_warming_clusters")), 1);
    CHECK_STR(jstr(j, "configs[1].dynamic_warming_clusters[0].cluster.name"), "warm");

    CHECK_STR(jstr(j, "configs[2].@type"), "type.googleapis.com/envoy.admin.v3.ListenersConfigDump");
    CHECK_STR(jstr(j, "configs[2].version_info"), "v7");
    CHECK_STR(jstr(j, "configs[2].static_listeners[0].listener.@type"),
              "type.googleapis.com/envoy.config.listener.v3.Listener");
    /* original proto field names, as Envoy prints */
    CHECK_INT(json_integer_value(
                  jget(j, "configs[2].static_listeners[0].listener.address.socket_address.port_value")),
              10000);
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].name"), "lds_1");
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].active_state.version_info"), "v7");
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].active_state.listener.name"), "lds_1");
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].active_state.last_updated"),
              "2024-01-02T03:04:05.678Z");
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].client_status"), "ACKED");
    /* the warming version of the same listener is in the same DynamicListener */
    CHECK_INT(json_array_size(jget(j, "configs[2].dynamic_listeners")), 1);
    CHECK_STR(jstr(j, "configs[2].dynamic_listeners[0].warming_state.version_info"), "v8");
    CHECK_INT(json_integer_value(jget(
                  j, "configs[2].dynamic_listeners[0].warming_state.listener.address.socket_address.port_value")),
              10002);

    CHECK_STR(jstr(j, "configs[3].@type"), "type.googleapis.com/envoy.admin.v3.RoutesConfigDump");
    CHECK(jget(j, "configs[3].static_route_configs") == NULL);
    CHECK_STR(jstr(j, "configs[3].dynamic_route_configs[0].version_info"), "r3");
    CHECK_STR(jstr(j, "configs[3].dynamic_route_configs[0].route_config.@type"),
              "type.googleapis.com/envoy.config.route.v3.RouteConfiguration");
    CHECK_STR(jstr(j, "configs[3].dynamic_route_configs[0].route_config.name"), "rc1");
    json_decref(j);

    req("GET", "/config_dump?include_eds");
    j = parse_body();
    CHECK_INT(json_array_size(jget(j, "configs")), 6);
    CHECK_STR(jstr(j, "configs[2].@type"), "type.googleapis.com/envoy.admin.v3.EndpointsConfigDump");
    CHECK_STR(jstr(j, "configs[2].dynamic_endpoint_configs[0].endpoint_config.cluster_name"), "eds_c_la");
    json_decref(j);

    req("GET", "/config_dump?resource=dynamic_listeners");
    j = parse_body();
    CHECK_INT(json_array_size(jget(j, "configs")), 1);
    CHECK_STR(jstr(j, "configs[0].@type"),
              "type.googleapis.com/envoy.admin.v3.ListenersConfigDump.DynamicListener");
    CHECK_STR(jstr(j, "configs[0].name"), "lds_1");
    json_decref(j);
    req("GET", "/config_dump?resource=static_clusters");
    j = parse_body();
    CHECK_STR(jstr(j, "configs[0].@type"),
              "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.StaticCluster");
    CHECK_STR(jstr(j, "configs[0].cluster.name"), "app");
    json_decref(j);
    const char *b = req("GET", "/config_dump?resource=secrets");
    CHECK_INT(resp.status, 404);
    CHECK_STR(b, "secrets not found in config dump\n");

    /* pretty output nests with 2-space indentation */
    b = req("GET", "/config_dump");
    CHECK(strncmp(b, "{\n  \"configs\": [\n    {\n      \"@type\": ", 38) == 0);
}

/* --- the HTTP server over a socket -------------------------------------------------------- */

static dp_loop_t loop;

/* Sends `out` and reads until `n` complete responses (or EOF, or 2 s).
 * Returns the bytes read (NUL-terminated, static). *eof says the server
 * closed. */
static const char *exchange(int fd, const char *out, size_t out_len, int n, bool *eof)
{
    static char in[1 << 20];
    size_t len = 0;
    *eof = false;
    if (out_len && write(fd, out, out_len) != (ssize_t)out_len)
        return "";
    for (int iter = 0; iter < 2000; iter++) {
        ev_run(loop.ev, EVRUN_NOWAIT);
        ssize_t r = recv(fd, in + len, sizeof(in) - 1 - len, MSG_DONTWAIT);
        if (r == 0) {
            *eof = true;
            break;
        }
        if (r > 0)
            len += (size_t)r;
        /* count complete responses */
        int got = 0;
        size_t off = 0;
        while (off < len) {
            dp_h1_response_t resp_;
            dp_h1_header_t hs[32];
            int h = dp_h1_parse_response(in + off, len - off, NULL, 0, &resp_, hs);
            if (h <= 0)
                break;
            uint64_t body = resp_.body == DP_H1_BODY_LENGTH ? resp_.content_length : 0;
            if (off + (size_t)h + body > len)
                break;
            off += (size_t)h + body;
            got++;
        }
        if (got >= n && r <= 0)
            break;
        if (r < 0)
            usleep(1000);
    }
    in[len] = '\0';
    return in;
}

static int connect_admin(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)dp_admin__port())};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        perror("connect");
    return fd;
}

static void test_http_server(void)
{
    char dir[] = "/tmp/dp_admin_test_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char logpath[256], yaml[1024];
    snprintf(logpath, sizeof(logpath), "%s/admin.log", dir);
    snprintf(yaml, sizeof(yaml),
             "admin:\n"
             "  address: {socket_address: {address: 127.0.0.1, port_value: 0}}\n"
             "  access_log:\n"
             "  - name: envoy.access_loggers.file\n"
             "    typed_config:\n"
             "      \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog\n"
             "      path: %s\n"
             "      log_format: {text_format: \"%%REQ(:METHOD)%% %%REQ(:PATH)%% %%RESPONSE_CODE%% "
             "%%BYTES_SENT%% %%REQ(USER-AGENT)%% %%PROTOCOL%%\\n\"}\n",
             logpath);
    dp_bootstrap_t b;
    memset(&b, 0, sizeof(b));
    b.path = "/etc/b.yaml";
    b.msg = decode(&envoy__config__bootstrap__v3__bootstrap__descriptor, yaml);
    b.has_admin = true;
    struct sockaddr_in *a = (struct sockaddr_in *)&b.admin_addr;
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    b.admin_addrlen = sizeof(*a);
    snprintf(b.admin_addr_str, sizeof(b.admin_addr_str), "127.0.0.1:0");

    dp_loop_init(&loop, ev_loop_new(EVFLAG_AUTO), NULL);
    char err[512] = "";
    int rc = dp_admin_start(&loop, &b, &info, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    protobuf_c_message_free_unpacked(b.msg, NULL); /* the admin keeps copies */
    CHECK(dp_admin__port() > 0);
    /* a second start is refused */
    CHECK(dp_admin_start(&loop, &b, &info, err, sizeof(err)) != 0);

    int fd = connect_admin();
    bool eof;
    /* two pipelined requests on one keep-alive connection */
    const char *p = "GET /ready HTTP/1.1\r\nHost: a\r\nUser-Agent: t/1\r\n\r\n"
                    "GET /nope HTTP/1.1\r\nHost: a\r\n\r\n";
    const char *in = exchange(fd, p, strlen(p), 2, &eof);
    CHECK(!eof);
    CHECK(strncmp(in, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(in, "content-type: text/plain; charset=UTF-8\r\n") != NULL);
    CHECK(strstr(in, "content-length: 5\r\n\r\nLIVE\nHTTP/1.1 404 Not Found\r\n") != NULL);
    CHECK(strstr(in, "\r\n\r\ninvalid path. admin commands are:\n") != NULL);

    /* a body is read and discarded; the connection stays usable */
    p = "POST /healthcheck/fail HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
        "POST /healthcheck/ok HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: "
        "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
        "HEAD /ready HTTP/1.1\r\nHost: a\r\n\r\n";
    /* (the HEAD response is not counted: its head announces a body) */
    in = exchange(fd, p, strlen(p), 2, &eof);
    CHECK(!eof);
    const char *second = strstr(in, "OK\nHTTP/1.1 200 OK\r\n");
    CHECK(second != NULL);
    CHECK(second && strstr(second + 3, "OK\nHTTP/1.1 200 OK\r\n") != NULL);
    CHECK(!dp_drain_hc_failed());
    /* HEAD: the length of the body that was not sent */
    size_t inlen = strlen(in);
    CHECK(inlen > 21 && strcmp(in + inlen - 21, "content-length: 5\r\n\r\n") == 0);

    /* Connection: close ends the connection after the response */
    p = "GET /listeners HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    in = exchange(fd, p, strlen(p), 1, &eof);
    CHECK(strstr(in, "connection: close\r\n") != NULL);
    CHECK(strstr(in, "\r\n\r\nlistener_0::127.0.0.1:10000\n") != NULL);
    in = exchange(fd, "", 0, 1, &eof);
    CHECK(eof);
    close(fd);

    /* HTTP/1.0 closes by default */
    fd = connect_admin();
    p = "GET /ready HTTP/1.0\r\n\r\n";
    in = exchange(fd, p, strlen(p), 1, &eof);
    CHECK(strncmp(in, "HTTP/1.1 200 OK\r\n", 17) == 0);
    if (!eof)
        exchange(fd, "", 0, 1, &eof);
    CHECK(eof);
    close(fd);

    /* heads are bounded to 8 KiB: 431 and close */
    fd = connect_admin();
    static char big[12000];
    int n = snprintf(big, sizeof(big), "GET /ready HTTP/1.1\r\nHost: a\r\nX-Big: ");
    memset(big + n, 'a', 9000);
    memcpy(big + n + 9000, "\r\n\r\n", 5);
    in = exchange(fd, big, strlen(big), 1, &eof);
    CHECK(strncmp(in, "HTTP/1.1 431 ", 13) == 0);
    if (!eof)
        exchange(fd, "", 0, 1, &eof);
    CHECK(eof);
    close(fd);

    /* garbage: 400 and close */
    fd = connect_admin();
    in = exchange(fd, "BLAH\r\n\r\n", 8, 1, &eof);
    CHECK(strncmp(in, "HTTP/1.1 400 ", 13) == 0);
    close(fd);

    /* a large response (config dump of many clusters' stats) arrives whole */
    fd = connect_admin();
    for (int i = 0; i < 3000; i++)
        dp_stats_counterf("cluster.c%d.upstream_rq_total", i);
    p = "GET /stats HTTP/1.1\r\nHost: a\r\n\r\nGET /ready HTTP/1.1\r\nHost: a\r\n\r\n";
    in = exchange(fd, p, strlen(p), 2, &eof);
    CHECK(strstr(in, "cluster.c2999.upstream_rq_total: 0\n") != NULL);
    CHECK(strstr(in, "\r\n\r\nLIVE\n") != NULL);
    close(fd);

    /* Expect: 100-continue answered with the final response: closed */
    fd = connect_admin();
    p = "POST /healthcheck/ok HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    in = exchange(fd, p, strlen(p), 1, &eof);
    CHECK(strncmp(in, "HTTP/1.1 200 OK\r\n", 17) == 0);
    CHECK(strstr(in, "connection: close\r\n") != NULL);
    close(fd);

    /* an HTTP/1.0 client asking for keep-alive gets it */
    fd = connect_admin();
    p = "GET /ready HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    in = exchange(fd, p, strlen(p), 1, &eof);
    CHECK(strstr(in, "connection: keep-alive\r\n") != NULL);
    in = exchange(fd, p, strlen(p), 1, &eof);
    CHECK(!eof);
    CHECK(strstr(in, "\r\n\r\nLIVE\n") != NULL);
    close(fd);

    ev_run(loop.ev, EVRUN_NOWAIT);
    dp_admin_stop();

    /* the admin access log saw every request that got a response */
    FILE *f = fopen(logpath, "r");
    char log[4096] = "";
    size_t ln = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
    log[ln] = '\0';
    if (f)
        fclose(f);
    CHECK(strncmp(log, "GET /ready 200 5 t/1 HTTP/1.1\nGET /nope 404 ", 44) == 0);
    CHECK(strstr(log, "POST /healthcheck/fail 200 3 - HTTP/1.1\n") != NULL);
    CHECK(strstr(log, "HEAD /ready 200 0 - HTTP/1.1\n") != NULL);
    CHECK(strstr(log, "GET /ready 200 5 - HTTP/1.0\n") != NULL);
    unlink(logpath);
    rmdir(dir);
    struct ev_loop *ev = loop.ev;
    dp_loop_dispose(&loop);
    ev_loop_destroy(ev);
}

/* POST /logging, GET /memory, POST /reset_counters, and the answers of
 * /drain_listeners and /quitquitquit that need no running server. */
static void test_ops(void)
{
    dp_log_level_t saved = dp_log_level;
    const char *b = req("GET", "/logging");
    CHECK_INT(resp.status, 405);
    b = req("POST", "/logging");
    CHECK_INT(resp.status, 200);
    CHECK_STR(b, "active loggers:\n  dataplane: info\n");
    b = req("POST", "/logging?level=debug");
    CHECK_INT(resp.status, 200);
    CHECK_STR(b, "active loggers:\n  dataplane: debug\n");
    CHECK_INT(dp_log_level, DP_LOG_DEBUG);
    b = req("POST", "/logging?dataplane=warning");
    CHECK_STR(b, "active loggers:\n  dataplane: warning\n");
    b = req("POST", "/logging?level=loud");
    CHECK_INT(resp.status, 400);
    CHECK(strncmp(b, "error: unknown logger level\nusage: ", 35) == 0);
    b = req("POST", "/logging?http=debug");
    CHECK_INT(resp.status, 400);
    CHECK(strncmp(b, "error: unknown logger name\n", 27) == 0);
    b = req("POST", "/logging?level=debug&dataplane=info");
    CHECK_INT(resp.status, 400);
    CHECK_INT(dp_log_level, DP_LOG_WARN); /* a refused call changes nothing */
    dp_log_level = saved;

    b = req("GET", "/memory");
    CHECK_INT(resp.status, 200);
    CHECK_STR(resp.ctype, DP_ADMIN_CT_JSON);
    json_t *j = parse_body();
    CHECK(j != NULL);
    CHECK(atoll(jstr(j, "allocated")) > 0);
    CHECK(atoll(jstr(j, "heap_size")) >= atoll(jstr(j, "allocated")));
    CHECK(atoll(jstr(j, "total_physical_bytes")) > 0);
    CHECK_STR(jstr(j, "total_thread_cache"), "0");
    json_decref(j);

    dp_stat_t *c = dp_stats_counter("test.ops.counter"), *g = dp_stats_gauge("test.ops.gauge");
    static const char *const sfx[] = {"rq", "active"};
    static const dp_stat_kind_t kinds[] = {DP_STAT_COUNTER, DP_STAT_GAUGE};
    dp_stat_group_t *grp = dp_stats_group_new("test.ops.group", sfx, kinds, 2);
    dp_stat_add(c, 5);
    dp_stat_set(g, 7);
    dp_stat_add(&grp->stats[0], 3);
    dp_stat_set(&grp->stats[1], 2);
    b = req("GET", "/reset_counters");
    CHECK_INT(resp.status, 405);
    CHECK_INT(dp_stat_get(c), 5);
    b = req("POST", "/reset_counters");
    CHECK_STR(b, "OK\n");
    CHECK_INT(dp_stat_get(c), 0);
    CHECK_INT(dp_stat_get(&grp->stats[0]), 0);
    CHECK_INT(dp_stat_get(g), 7); /* gauges keep their value */
    CHECK_INT(dp_stat_get(&grp->stats[1]), 2);

    /* no main loop here (unit test): graceful cannot be timed */
    b = req("POST", "/drain_listeners?graceful");
    CHECK_INT(resp.status, 503);
    b = req("POST", "/drain_listeners?skip_exit");
    CHECK_INT(resp.status, 400);
    CHECK_STR(b, "skip_exit requires graceful\n");
    /* no quit hook configured */
    b = req("POST", "/quitquitquit");
    CHECK_INT(resp.status, 503);
}

int main(void)
{
    dp_admin__configure(&info, "/etc/b.yaml");
    dp_snapshot_t *snap = make_snapshot();
    dp_admin_set_snapshot(snap);
    dp_snapshot_unref(snap); /* the admin holds its own reference */

    test_routing_and_health();
    test_stats();
    test_prometheus();
    test_clusters_listeners();
    test_server_info();
    test_config_dump();
    test_http_server();
    test_ops();
    dp_buf_free(&resp.body);
    dp_admin_stop();
    TEST_DONE();
}
