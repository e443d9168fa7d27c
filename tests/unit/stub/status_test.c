/* control-stub's status side, without a data plane: the fleet's health
 * check settings (merged defaults < container < service, errors with
 * their positions) and CSDS addresses; the HDS specifier built from a
 * fleet (cluster names, endpoints, durations, no_traffic_interval, the
 * report interval; stopped containers and `none` left out) and encoded
 * against the data plane's own schema; LRS totals accumulated from
 * reports that went through the wire encoding; HDS reports and how long an
 * endpoint has been unhealthy; CSDS answers with a NACK in /status.
 *
 * The stub is an executable, not part of libdpl: its sources are compiled
 * into this test. */
#include "control-stub/csds_client.c"
#include "control-stub/fleet.c"
#include "control-stub/fleet_health.c"
#include "control-stub/fleet_perms.c"
#include "control-stub/fleet_tls.c"
#include "control-stub/hds_server.c"
#include "control-stub/lrs_server.c"
#include "control-stub/stub_call.c"
#include "control-stub/stub_pb.c"
#include "control-stub/stub_util.c"

#include <unistd.h>

#include "test.h"

#define P1 "64a1f0c2e4b5d6a7b8c9d0e1"
#define C1 "64a1f0c2e4b5d6a7b8c9d0f1"
#define C2 "64a1f0c2e4b5d6a7b8c9d0f2"
#define C3 "64a1f0c2e4b5d6a7b8c9d0f3"

static char err[1024];

static dp_fleet_t *parse(const char *text)
{
    dp_fleet_t *f = NULL;
    err[0] = '\0';
    if (dp_fleet_parse(text, strlen(text), "fleet.yaml", &f, err, sizeof err) != 0)
        return NULL;
    return f;
}

static const char *FLEET =
    "defaults:\n"
    "  health_check: { interval: 1.5s, unhealthy_threshold: 3, report_interval: 250ms }\n"
    "nodes:\n"
    "- { name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 8080}, csds: '127.0.0.1:9902' }\n"
    "- { name: eu, base_domain: c.test, listener: {address: 127.0.0.1, port: 8081}, csds: '[::1]:9903' }\n"
    "projects: [{ id: " P1 " }]\n"
    "containers:\n"
    "- id: " C1 "\n"
    "  project: " P1 "\n"
    "  node: us\n"
    "  state: running\n"
    "  addresses: [10.0.0.1, 10.0.0.2]\n"
    "  health_check: { type: http, path: /healthz, timeout: 500ms }\n"
    "  services:\n"
    "    terminal: ~\n"
    "    http-8080: { health_check: { host: app.internal, healthy_threshold: 2 } }\n"
    "    sqlite: { port: 5005, health_check: { type: tcp } }\n"
    "    display: { health_check: { type: none } }\n"
    "- { id: " C2 ", project: " P1 ", node: us, state: stopped, services: [terminal] }\n"
    "- { id: " C3 ", project: " P1 ", node: eu, state: running, address: 10.0.0.3, services: [http-9000] }\n";

static void test_parse(void)
{
    dp_fleet_t *f = parse(FLEET);
    CHECK(f != NULL);
    if (f == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(f->nodes[0].csds, "127.0.0.1:9902");
    CHECK_STR(f->nodes[1].csds, "[::1]:9903");
    CHECK_INT(f->hds_report_ms, 250);
    CHECK_INT(f->default_hc.type, DP_FLEET_HC_TCP);
    CHECK_INT(f->default_hc.interval_ms, 1500);
    CHECK_INT(f->default_hc.timeout_ms, DP_FLEET_HC_TIMEOUT_MS);
    CHECK_INT(f->default_hc.unhealthy_threshold, 3);
    CHECK_INT(f->default_hc.healthy_threshold, DP_FLEET_HC_HEALTHY);

    const dp_fleet_container_t *c1 = &f->containers[0];
    CHECK_INT(c1->nservices, 4);
    /* terminal: the container's http check over the defaults */
    const dp_fleet_hc_t *t = &c1->services[0].hc;
    CHECK_STR(c1->services[0].name, "terminal");
    CHECK_INT(t->type, DP_FLEET_HC_HTTP);
    CHECK_STR(t->path, "/healthz");
    CHECK(t->host == NULL);
    CHECK_INT(t->interval_ms, 1500);
    CHECK_INT(t->timeout_ms, 500);
    CHECK_INT(t->unhealthy_threshold, 3);
    CHECK_INT(t->healthy_threshold, 1);
    /* http-8080: its own host and threshold, the rest inherited */
    t = &c1->services[1].hc;
    CHECK_INT(c1->services[1].port, 8080);
    CHECK_INT(t->type, DP_FLEET_HC_HTTP);
    CHECK_STR(t->path, "/healthz");
    CHECK_STR(t->host, "app.internal");
    CHECK_INT(t->healthy_threshold, 2);
    CHECK_INT(t->timeout_ms, 500);
    /* sqlite: explicit port in the map form, tcp drops the path */
    t = &c1->services[2].hc;
    CHECK_INT(c1->services[2].port, 5005);
    CHECK_INT(t->type, DP_FLEET_HC_TCP);
    CHECK(t->path == NULL);
    CHECK_INT(c1->services[3].hc.type, DP_FLEET_HC_NONE);
    CHECK_INT(c1->services[3].port, DP_FLEET_PORT_DISPLAY);
    /* a container without health_check: the defaults */
    t = &f->containers[2].services[0].hc;
    CHECK_INT(t->type, DP_FLEET_HC_TCP);
    CHECK_INT(t->interval_ms, 1500);
    dp_fleet_free(f);

    /* nothing said: the built-in defaults */
    f = parse("nodes: [{ name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 1} }]\n"
              "projects: [{ id: " P1 " }]\n"
              "containers: [{ id: " C1 ", project: " P1 ", node: us, state: running, address: 10.0.0.1,"
              " services: [terminal] }]\n");
    CHECK(f != NULL);
    if (f != NULL) {
        t = &f->containers[0].services[0].hc;
        CHECK_INT(t->type, DP_FLEET_HC_TCP);
        CHECK_INT(t->interval_ms, 1000);
        CHECK_INT(t->timeout_ms, 1000);
        CHECK_INT(t->unhealthy_threshold, 2);
        CHECK_INT(t->healthy_threshold, 1);
        CHECK_INT(f->hds_report_ms, 1000);
        CHECK(f->nodes[0].csds == NULL);
        dp_fleet_free(f);
    }
}

typedef struct bad {
    const char *text, *want;
} bad_t;

#define NODE "nodes: [{ name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 1} }]\n"
#define PROJ "projects: [{ id: " P1 " }]\n"
#define CT(svc) "containers:\n- { id: " C1 ", project: " P1 ", node: us, state: running, address: 10.0.0.1,\n" \
                "    services: " svc " }\n"

static void test_errors(void)
{
    static const bad_t bad[] = {
        {"defaults:\n  health_check: { interval: 1 }\n",
         "fleet.yaml:2:29: defaults.health_check.interval: bad duration '1': expected e.g. 1s, 1.5s or 250ms"},
        {"defaults:\n  health_check: { timeout: 0s }\n",
         "fleet.yaml:2:28: defaults.health_check.timeout: bad duration '0s': expected 1ms..1h"},
        {"defaults:\n  health_check: { timeout: 2h }\n",
         "fleet.yaml:2:28: defaults.health_check.timeout: bad duration '2h': expected e.g. 1s, 1.5s or 250ms"},
        {"defaults:\n  health_check: { unhealthy_threshold: 0 }\n",
         "fleet.yaml:2:40: defaults.health_check.unhealthy_threshold: bad threshold '0': expected 1..1000"},
        {"defaults:\n  health_check: { type: udp }\n",
         "fleet.yaml:2:25: defaults.health_check.type: bad type 'udp': expected tcp, http or none"},
        {"defaults:\n  health_check: { typo: tcp }\n",
         "fleet.yaml:2:19: defaults.health_check: unknown key 'typo'"},
        {"defaults:\n  health_check: { path: /x }\n",
         "fleet.yaml:2:25: defaults.health_check: path and host need type: http"},
        {"defaults:\n  health_check: { type: http, path: x }\n",
         "fleet.yaml:2:37: defaults.health_check.path: bad path 'x': expected an absolute path without spaces"},
        {NODE PROJ CT("{ terminal: { health_check: { report_interval: 1s } } }"),
         "fleet.yaml:5:62: containers[0].services.terminal.health_check.report_interval: report_interval is a "
         "setting of the data planes: only in defaults.health_check"},
        {NODE PROJ CT("{ terminal: { prot: 5 } }"), "fleet.yaml:5:29: containers[0].services.terminal: unknown key 'prot'"},
        {NODE PROJ "containers:\n- { id: " C1 ", project: " P1 ", node: us, state: running, address: 10.0.0.1,\n"
                   "    health_check: { interval: fast }, services: [terminal] }\n",
         "fleet.yaml:5:31: containers[0].health_check.interval: bad duration 'fast': expected e.g. 1s, 1.5s or "
         "250ms"},
        {"nodes: [{ name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 1},\n"
         "  csds: localhost:9902 }]\n",
         "fleet.yaml:2:9: nodes[0].csds: bad address 'localhost:9902': expected IP:PORT ([IPv6]:PORT)"},
        {"nodes: [{ name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 1},\n"
         "  csds: '127.0.0.1:0' }]\n",
         "fleet.yaml:2:9: nodes[0].csds: bad port in '127.0.0.1:0': expected 1..65535"},
        {"nodes: [{ name: us, base_domain: c.test, listener: {address: 127.0.0.1, port: 1},\n"
         "  csds: '::1:9902' }]\n",
         "fleet.yaml:2:9: nodes[0].csds: bad address '::1:9902': expected IP:PORT ([IPv6]:PORT)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dp_fleet_t *f = parse(bad[i].text);
        CHECK(f == NULL);
        dp_fleet_free(f);
        CHECK_STR(err, bad[i].want);
    }
}

static const json_t *jpath(const json_t *j, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *t = strtok_r(buf, ".", &save); t != NULL && j != NULL; t = strtok_r(NULL, ".", &save))
        j = (*t >= '0' && *t <= '9') ? json_array_get(j, (size_t)atoi(t)) : json_object_get(j, t);
    return j;
}

static const char *jps(const json_t *j, const char *path)
{
    const char *s = json_string_value(jpath(j, path));
    return s ? s : "(none)";
}

static long long jpi(const json_t *j, const char *path)
{
    const json_t *v = jpath(j, path);
    return json_is_integer(v) ? json_integer_value(v) : -1;
}

static void test_specifier(void)
{
    dp_fleet_t *f = parse(FLEET);
    if (f == NULL)
        return;
    json_t *s = dp_stubhds_spec_json(f, 0);
    const json_t *chc = json_object_get(s, "cluster_health_checks");
    /* us: C1's terminal, http-8080, sqlite (display: none; C2 stopped) */
    CHECK_INT(json_array_size(chc), 3);
    CHECK_STR(jps(s, "interval"), "0.250s");
    CHECK_STR(jps(chc, "0.cluster_name"), "terminal." C1);
    CHECK_STR(jps(chc, "1.cluster_name"), "http-8080." C1);
    CHECK_STR(jps(chc, "2.cluster_name"), "sqlite." C1);
    CHECK_STR(jps(chc, "0.health_checks.0.http_health_check.path"), "/healthz");
    CHECK(jpath(chc, "0.health_checks.0.http_health_check.host") == NULL);
    CHECK_STR(jps(chc, "1.health_checks.0.http_health_check.host"), "app.internal");
    CHECK_STR(jps(chc, "0.health_checks.0.interval"), "1.500s");
    CHECK_STR(jps(chc, "0.health_checks.0.no_traffic_interval"), "1.500s");
    CHECK_STR(jps(chc, "0.health_checks.0.timeout"), "0.500s");
    CHECK_INT(jpi(chc, "0.health_checks.0.unhealthy_threshold"), 3);
    CHECK_INT(jpi(chc, "1.health_checks.0.healthy_threshold"), 2);
    CHECK(json_is_object(jpath(chc, "2.health_checks.0.tcp_health_check")));
    CHECK(jpath(chc, "2.health_checks.0.http_health_check") == NULL);
    /* one endpoint per instance, at the service's internal port */
    const json_t *eps = jpath(chc, "2.locality_endpoints.0.endpoints");
    CHECK_INT(json_array_size(eps), 2);
    CHECK_STR(jps(eps, "0.address.socket_address.address"), "10.0.0.1");
    CHECK_STR(jps(eps, "1.address.socket_address.address"), "10.0.0.2");
    CHECK_INT(jpi(eps, "1.address.socket_address.port_value"), 5005);
    CHECK_INT(jpi(chc, "0.locality_endpoints.0.endpoints.0.address.socket_address.port_value"), 76);

    /* the data plane's schema takes it (once HDS is in its type registry) */
    if (dp_typereg_lookup_name(HDS_SPEC_TYPE) != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        CHECK_INT(dp_stub_pb_encode(HDS_SPEC_TYPE, s, &buf, &len, err, sizeof err), 0);
        json_t *back = buf ? dp_stub_pb_decode(HDS_SPEC_TYPE, buf, len, err, sizeof err) : NULL;
        CHECK(back != NULL && json_equal(back, s));
        json_decref(back);
        free(buf);
    } else {
        printf("# %s is not in the type registry yet: encoding not checked\n", HDS_SPEC_TYPE);
    }
    json_decref(s);

    /* eu: one cluster, the defaults */
    s = dp_stubhds_spec_json(f, 1);
    chc = json_object_get(s, "cluster_health_checks");
    CHECK_INT(json_array_size(chc), 1);
    CHECK_STR(jps(chc, "0.cluster_name"), "http-9000." C3);
    CHECK_STR(jps(chc, "0.health_checks.0.timeout"), "1.000s");
    json_decref(s);
    dp_fleet_free(f);
}

/* One LoadStatsRequest, through the wire encoding when the registry has
 * it (as a stream receives it), else as JSON. */
static void report(dp_stublrs_t *l, const char *node, const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, 0, &je);
    CHECK(j != NULL);
    if (j == NULL) {
        fprintf(stderr, "%s: %s\n", text, je.text);
        return;
    }
    if (dp_typereg_lookup_name(LRS_REQ_TYPE) != NULL) {
        uint8_t *buf = NULL;
        size_t len = 0;
        CHECK_INT(dp_stub_pb_encode(LRS_REQ_TYPE, j, &buf, &len, err, sizeof err), 0);
        json_decref(j);
        j = buf ? dp_stub_pb_decode(LRS_REQ_TYPE, buf, len, err, sizeof err) : NULL;
        free(buf);
        CHECK(j != NULL);
        if (j == NULL)
            return;
    }
    dp_stublrs_note_report(l, node, j);
    json_decref(j);
}

static void test_lrs_totals(void)
{
    dp_stublrs_t *l = dp_stublrs_create(0);
    report(l, "us",
           "{\"cluster_stats\": [{\"cluster_name\": \"containers\", \"load_report_interval\": \"1.002s\","
           " \"total_dropped_requests\": \"1\",\"upstream_locality_stats\": ["
           "  {\"total_issued_requests\": \"5\", \"total_successful_requests\": \"4\", \"total_error_requests\": \"1\","
           "   \"total_requests_in_progress\": \"2\"},"
           "  {\"locality\": {\"region\": \"eu\", \"zone\": \"a\"}, \"total_issued_requests\": \"3\","
           "   \"total_successful_requests\": \"3\"}]}]}");
    report(l, "us",
           "{\"cluster_stats\": [{\"cluster_name\": \"containers\", \"load_report_interval\": \"0.998s\","
           " \"upstream_locality_stats\": ["
           "  {\"total_issued_requests\": \"7\", \"total_successful_requests\": \"6\", \"total_error_requests\": \"2\"}]},"
           " {\"cluster_name\": \"xds\", \"cluster_service_name\": \"svc\", \"upstream_locality_stats\": ["
           "  {\"total_issued_requests\": \"1\", \"total_successful_requests\": \"1\"}]}]}");
    report(l, "eu", "{\"cluster_stats\": [{\"cluster_name\": \"containers\", \"upstream_locality_stats\": ["
                    "{\"total_issued_requests\": \"9\"}]}]}");
    json_t *nodes = json_object();
    dp_stublrs_status(l, nodes);
    const json_t *us = jpath(nodes, "us.load");
    CHECK_INT(jpi(us, "reports"), 2);
    CHECK_INT(jpi(us, "interval_ms"), DP_STUBLRS_INTERVAL_MS);
    CHECK(json_is_string(json_object_get(us, "last_report")));
    const json_t *c = jpath(us, "clusters.containers");
    /* sums of the deltas; in_progress is the last value (absent = 0) */
    CHECK_INT(jpi(c, "issued"), 15);
    CHECK_INT(jpi(c, "successful"), 13);
    CHECK_INT(jpi(c, "error"), 3);
    CHECK_INT(jpi(c, "in_progress"), 0);
    CHECK_INT(jpi(c, "dropped"), 1);
    CHECK_INT(jpi(c, "last_interval_ms"), 998);
    CHECK_INT(json_array_size(json_object_get(c, "localities")), 2);
    CHECK_STR(jps(c, "localities.0.region"), "");
    CHECK_INT(jpi(c, "localities.0.issued"), 12);
    CHECK_INT(jpi(c, "localities.0.error"), 3);
    CHECK_STR(jps(c, "localities.1.region"), "eu");
    CHECK_STR(jps(c, "localities.1.zone"), "a");
    CHECK_INT(jpi(c, "localities.1.successful"), 3);
    CHECK_INT(jpi(us, "clusters.xds/svc.issued"), 1);
    CHECK_STR(jps(us, "clusters.xds/svc.service_name"), "svc");
    CHECK_INT(json_array_size(json_object_get(us, "last")), 2); /* the last report's clusters */
    CHECK_INT(jpi(nodes, "eu.load.clusters.containers.issued"), 9);
    CHECK(json_is_false(jpath(nodes, "eu.connected"))); /* a node ADS does not know */
    json_decref(nodes);
    dp_stublrs_destroy(l);
}

static json_t *hds_report(const char *status2)
{
    json_t *r = json_pack("{s:[{s:s,s:[{s:[{s:{s:{s:{s:s,s:i}}},s:s},{s:{s:{s:{s:s,s:i}}}}]}]}]}",
                          "cluster_endpoints_health", "cluster_name", "terminal." C1, "locality_endpoints_health",
                          "endpoints_health", "endpoint", "address", "socket_address", "address", "10.0.0.1",
                          "port_value", 76, "health_status", "HEALTHY", "endpoint", "address", "socket_address",
                          "address", "10.0.0.2", "port_value", 76);
    if (status2 != NULL)
        json_object_set_new(json_array_get(jpath(r, "cluster_endpoints_health.0.locality_endpoints_health.0."
                                                    "endpoints_health"),
                                           1),
                            "health_status", json_string(status2));
    return r;
}

static void test_hds_reports(void)
{
    dp_stubhds_t *h = dp_stubhds_create();
    json_t *r = hds_report(NULL); /* no health_status: UNKNOWN (proto3 default) */
    dp_stubhds_note_response(h, "us", r);
    json_decref(r);
    json_t *nodes = json_object();
    dp_stubhds_status(h, nodes);
    const json_t *bad = jpath(nodes, "us.unhealthy");
    CHECK_INT(json_array_size(bad), 1);
    CHECK_STR(jps(bad, "0.cluster"), "terminal." C1);
    CHECK_STR(jps(bad, "0.address"), "10.0.0.2:76");
    CHECK_STR(jps(bad, "0.status"), "UNKNOWN");
    char since[64];
    snprintf(since, sizeof since, "%s", jps(bad, "0.since"));
    CHECK_INT(jpi(nodes, "us.health.endpoints"), 2);
    CHECK_INT(jpi(nodes, "us.health.healthy"), 1);
    json_decref(nodes);

    usleep(5000);
    r = hds_report("UNHEALTHY"); /* still not healthy: same since */
    dp_stubhds_note_response(h, "us", r);
    json_decref(r);
    nodes = json_object();
    dp_stubhds_status(h, nodes);
    CHECK_STR(jps(nodes, "us.unhealthy.0.status"), "UNHEALTHY");
    CHECK_STR(jps(nodes, "us.unhealthy.0.since"), since);
    CHECK_INT(jpi(nodes, "us.health.reports"), 2);
    json_decref(nodes);

    r = hds_report("HEALTHY");
    dp_stubhds_note_response(h, "us", r);
    json_decref(r);
    nodes = json_object();
    dp_stubhds_status(h, nodes);
    CHECK_INT(json_array_size(jpath(nodes, "us.unhealthy")), 0);
    CHECK_INT(jpi(nodes, "us.health.healthy"), 2);
    json_decref(nodes);

    usleep(5000);
    r = hds_report("TIMEOUT"); /* unhealthy again: a new since */
    dp_stubhds_note_response(h, "us", r);
    json_decref(r);
    nodes = json_object();
    dp_stubhds_status(h, nodes);
    CHECK_STR(jps(nodes, "us.unhealthy.0.status"), "TIMEOUT");
    CHECK(strcmp(jps(nodes, "us.unhealthy.0.since"), since) > 0);
    json_decref(nodes);
    dp_stubhds_destroy(h);
}

static void test_csds(void)
{
    int live = 0;
    dp_stubcsds_t *c = dp_stubcsds_create(NULL, &live);
    CHECK_INT(dp_stubcsds_add_arg(c, "us"), DP_EINVAL);
    CHECK_INT(dp_stubcsds_add_arg(c, "=127.0.0.1:1"), DP_EINVAL);
    CHECK_INT(dp_stubcsds_add_arg(c, "us=127.0.0.1:9902"), 0);
    json_t *nodes = json_object();
    dp_stubcsds_status(c, nodes);
    CHECK(json_is_null(jpath(nodes, "us.csds"))); /* not polled yet */
    CHECK_STR(jps(nodes, "us.csds_address"), "127.0.0.1:9902");
    json_decref(nodes);

    const char *text =
        "{\"config\": [{\"node\": {\"id\": \"us\"}, \"generic_xds_configs\": ["
        " {\"type_url\": \"type.googleapis.com/envoy.config.listener.v3.Listener\", \"name\": \"ingress\","
        "  \"version_info\": \"1\", \"client_status\": \"ACKED\"},"
        " {\"type_url\": \"type.googleapis.com/envoy.config.route.v3.RouteConfiguration\", \"name\": \"containers\","
        "  \"version_info\": \"1\", \"client_status\": \"NACKED\","
        "  \"error_state\": {\"details\": \"bad route\", \"version_info\": \"2\"}}]}]}";
    json_t *resp = json_loads(text, 0, NULL);
    if (dp_typereg_lookup_name(CSDS_RESP_TYPE) != NULL) { /* as received */
        uint8_t *buf = NULL;
        size_t len = 0;
        CHECK_INT(dp_stub_pb_encode(CSDS_RESP_TYPE, resp, &buf, &len, err, sizeof err), 0);
        json_decref(resp);
        resp = buf ? dp_stub_pb_decode(CSDS_RESP_TYPE, buf, len, err, sizeof err) : NULL;
        free(buf);
    }
    CHECK(resp != NULL);
    dp_stubcsds_note_response(c, "us", resp);
    json_decref(resp);
    nodes = json_object();
    dp_stubcsds_status(c, nodes);
    const json_t *r = jpath(nodes, "us.csds");
    CHECK_INT(json_array_size(r), 2);
    CHECK_STR(jps(r, "0.name"), "ingress");
    CHECK_STR(jps(r, "0.client_status"), "ACKED");
    CHECK(json_is_null(jpath(r, "0.error")));
    CHECK_STR(jps(r, "1.type_url"), "type.googleapis.com/envoy.config.route.v3.RouteConfiguration");
    CHECK_STR(jps(r, "1.version"), "1");
    CHECK_STR(jps(r, "1.client_status"), "NACKED");
    CHECK_STR(jps(r, "1.error"), "bad route");
    CHECK_STR(jps(r, "1.error_version"), "2");
    CHECK(json_is_string(jpath(nodes, "us.csds_time")));
    json_decref(nodes);

    /* the fleet's target for another node; --csds wins for its own node */
    dp_fleet_t *f = parse(FLEET);
    if (f != NULL) {
        dp_stubcsds_set_fleet(c, f);
        nodes = json_object();
        dp_stubcsds_status(c, nodes);
        CHECK_STR(jps(nodes, "us.csds_address"), "127.0.0.1:9902");
        CHECK_STR(jps(nodes, "eu.csds_address"), "[::1]:9903");
        CHECK_INT(json_array_size(jpath(nodes, "us.csds")), 2); /* kept */
        json_decref(nodes);
        dp_fleet_free(f);
    }
    CHECK_INT(live, 0);
    dp_stubcsds_destroy(c);
}

int main(void)
{
    test_parse();
    test_errors();
    test_specifier();
    test_lrs_totals();
    test_hds_reports();
    test_csds();
    TEST_DONE();
}
