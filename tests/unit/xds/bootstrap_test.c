/* Bootstrap loader: every file of examples/bootstrap loads; every file of
 * tests/unit/xds/testdata/bad-bootstraps fails with the error its first
 * line announces ("# expect: LINE: path: reason", or FILE.expect for JSON,
 * which has no comments); plus the loaded structures of the demo. Runs
 * from the source directory (CTest's WORKING_DIRECTORY). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dataplane/upstream/cluster.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "test.h"
#include "tls_testdata.h"
#include "xds/bootstrap.h"
#include "xds/translate.h"

/* err contains frag (printed when not). */
#define EXAMPLES "examples/bootstrap"
#define BAD "tests/unit/xds/testdata/bad-bootstraps"

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the .yaml/.json files of dir. */
static size_t list_configs(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    char **v = NULL;
    size_t n = 0;
    struct dirent *e;

    *out = NULL;
    if (d == NULL)
        return 0;
    while ((e = readdir(d)) != NULL) {
        if (!ends_with(e->d_name, ".yaml") && !ends_with(e->d_name, ".json"))
            continue;
        v = realloc(v, (n + 1) * sizeof(*v));
        v[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(v, n, sizeof(*v), cmp_str);
    *out = v;
    return n;
}

static void free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* The expected error fragment: "# expect: X" on the first line, else the
 * first line of FILE.expect. */
static int read_expect(const char *path, char *out, size_t outlen)
{
    char line[1024];
    char side[600];
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) && strncmp(line, "# expect: ", 10) == 0) {
        fclose(f);
        line[strcspn(line, "\n")] = '\0';
        snprintf(out, outlen, "%.*s", (int)(outlen - 1), line + 10);
        return 0;
    }
    fclose(f);
    snprintf(side, sizeof(side), "%.512s.expect", path);
    f = fopen(side, "r");
    if (f == NULL)
        return -1;
    if (fgets(line, sizeof(line), f) == NULL) {
        fclose(f);
        return -1;
    }
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    snprintf(out, outlen, "%.*s", (int)(outlen - 1), line);
    return 0;
}

static void test_examples(void)
{
    char **names;
    size_t n = list_configs(EXAMPLES, &names);

    CHECK(n >= 2);
    for (size_t i = 0; i < n; i++) {
        char path[512], err[1024] = "";
        dp_bootstrap_t *b = NULL;
        snprintf(path, sizeof(path), "%s/%s", EXAMPLES, names[i]);
        int rc = dp_bootstrap_load(path, NULL, &b, err, sizeof(err));
        if (rc != 0)
            fprintf(stderr, "example %s: %s\n", path, err);
        CHECK_INT(rc, 0);
        CHECK(b != NULL && b->snap != NULL);
        dp_bootstrap_free(b);
    }
    free_list(names, n);
}

static void test_bad(void)
{
    char **names;
    size_t n = list_configs(BAD, &names);

    CHECK(n >= 12);
    for (size_t i = 0; i < n; i++) {
        char path[512], err[1024] = "", expect[512], want[1024];
        dp_bootstrap_t *b = NULL;
        snprintf(path, sizeof(path), "%s/%s", BAD, names[i]);
        if (read_expect(path, expect, sizeof(expect)) != 0) {
            fprintf(stderr, "%s: no '# expect: ' line and no .expect file\n", path);
            CHECK(0);
            continue;
        }
        int rc = dp_bootstrap_load(path, NULL, &b, err, sizeof(err));
        CHECK(rc < 0);
        CHECK(b == NULL);
        /* "FILE:LINE:COL: path: reason" with the expected "LINE: path:
         * reason" fragment: LINE follows "FILE:", then ":COL". */
        snprintf(want, sizeof(want), "%s:", path);
        int ok = strncmp(err, want, strlen(want)) == 0;
        const char *line = err + strlen(want);
        size_t lnum = strspn(line, "0123456789");
        const char *exp_rest = expect + strspn(expect, "0123456789");
        ok = ok && lnum > 0 && lnum == strspn(expect, "0123456789") && strncmp(line, expect, lnum) == 0;
        const char *after_col = strchr(line + lnum + 1, ':');
        ok = ok && line[lnum] == ':' && after_col != NULL && strstr(after_col, exp_rest) == after_col;
        if (!ok)
            fprintf(stderr, "%s:\n  got:    %s\n  expect: %s\n", path, err, expect);
        CHECK(ok);
        dp_bootstrap_free(b);
    }
    free_list(names, n);
}

static void test_demo(void)
{
    char err[1024] = "";
    dp_bootstrap_t *b = NULL;
    int rc = dp_bootstrap_load(EXAMPLES "/demo.yaml", NULL, &b, err, sizeof(err));

    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "demo: %s\n", err);
        return;
    }
    CHECK_STR(b->path, EXAMPLES "/demo.yaml");
    CHECK_STR(b->node_id, "demo-node");
    CHECK_STR(b->node_cluster, "demo");
    CHECK(b->has_admin);
    CHECK_STR(b->admin_addr_str, "127.0.0.1:9901");
    CHECK_INT(b->admin_addr.ss_family, AF_INET);
    CHECK(!b->has_ads);

    dp_snapshot_t *s = b->snap;
    CHECK_INT(s->generation, 0);
    CHECK_INT(s->n_listeners, 1);
    CHECK_INT(s->n_clusters, 1);
    CHECK_INT(s->n_meta, 2);
    CHECK(s->bootstrap.len > 0);
    const dp_listener_cfg_t *l = s->listeners[0];
    CHECK_STR(l->name, "ingress");
    CHECK_STR(l->addr_str, "127.0.0.1:10000");
    CHECK_INT(l->per_connection_buffer_limit_bytes, 1024 * 1024);
    const dp_hcm_cfg_t *h = l->chains[0].hcm;
    CHECK_STR(h->stat_prefix, "ingress_http");
    CHECK(h->accept_http_10);
    CHECK_INT(h->request_headers_timeout_ms, 10000);
    CHECK_INT(h->n_access_logs, 1);
    CHECK_INT(h->n_filters, 1);
    CHECK_STR(h->filters[0].name, "envoy.filters.http.router");
    const dp_route_config_t *rc0 = h->route_config;
    CHECK(rc0 != NULL && rc0->index != NULL);
    CHECK_INT(rc0->n_vhosts, 3);
    const dp_vhost_t *direct = &rc0->vhosts[1];
    CHECK_STR(direct->domains[0], "direct.localhost");
    CHECK_INT(direct->routes[0].action, DP_ROUTE_ACTION_DIRECT);
    CHECK_INT(direct->routes[0].direct_status, 200);
    CHECK_MEM(direct->routes[0].direct_body, direct->routes[0].direct_body_len,
              "hello from the data plane\n");
    CHECK_INT(rc0->vhosts[2].routes[0].redirect_code, 302);
    CHECK_STR(rc0->vhosts[0].routes[0].cluster, "app");
    CHECK_INT(rc0->vhosts[0].routes[0].timeout_ms, 30000);

    const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(s, "app", 3);
    CHECK(c != NULL);
    if (c) {
        CHECK_INT(c->connect_timeout_ms, 1000);
        CHECK_INT(c->n_endpoints, 1);
        CHECK_STR(c->endpoints[0].addr_str, "127.0.0.1:18080");
        CHECK(c->rt != NULL && c->rt == dp_cluster_rt_get("app"));
        CHECK_INT(dp_stat_get(c->rt->membership_total), 1);
    }
    /* meta: static, raw bytes that decode back to the same resource */
    for (size_t i = 0; i < s->n_meta; i++) {
        const dp_res_meta_t *mt = &s->meta[i];
        ProtobufCMessage *m = NULL;
        CHECK(mt->is_static);
        CHECK(mt->version == NULL);
        CHECK(mt->last_updated_ms > 1600000000000ULL);
        CHECK_INT(dp_resource_decode(mt->type, mt->raw.data, mt->raw.len, &m, err, sizeof(err)), 0);
        if (m) {
            CHECK_STR(dp_resource_name(mt->type, m), mt->name);
            protobuf_c_message_free_unpacked(m, NULL);
        }
    }
    dp_bootstrap_free(b);

    /* --service-node / --service-cluster override the file */
    dp_bootstrap_opts_t opts = {.service_node = "cli-node", .service_cluster = "cli-cluster"};
    rc = dp_bootstrap_load(EXAMPLES "/demo.yaml", &opts, &b, err, sizeof(err));
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_STR(b->node_id, "cli-node");
        CHECK_STR(b->node_cluster, "cli-cluster");
        dp_bootstrap_free(b);
    }
}

static void test_minimal_json(void)
{
    char err[1024] = "";
    dp_bootstrap_t *b = NULL;
    int rc = dp_bootstrap_load(EXAMPLES "/minimal.json", NULL, &b, err, sizeof(err));

    CHECK_INT(rc, 0);
    if (rc != 0)
        return;
    CHECK(!b->has_admin);
    CHECK_STR(b->node_id, "");
    CHECK_INT(b->snap->n_listeners, 1);
    CHECK_STR(b->snap->listeners[0]->addr_str, "0.0.0.0:10000");
    CHECK_INT(b->snap->n_clusters, 1);
    /* lowerCamelCase keys decode like the proto names */
    CHECK_INT(b->snap->clusters[0]->connect_timeout_ms, 250);
    CHECK_INT(b->snap->clusters[0]->n_endpoints, 1);
    dp_bootstrap_free(b);
}

/* Writes text to a temporary file; returns its path (static buffer). */
static const char *tmp_config(const char *text, const char *suffix)
{
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/dp_boot_XXXXXX%s", suffix);
    int fd = mkstemps(path, (int)strlen(suffix));
    if (fd < 0)
        return NULL;
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        close(fd);
        return NULL;
    }
    close(fd);
    return path;
}

static int load_text(const char *text, char *err, size_t errlen, dp_bootstrap_t **b)
{
    const char *p = tmp_config(text, ".yaml");
    if (p == NULL)
        return -100;
    int rc = dp_bootstrap_load(p, NULL, b, err, errlen);
    unlink(p);
    return rc;
}

static void test_dynamic(void)
{
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int rc;

    /* envoy_grpc naming a static cluster: OK, has_ads */
    rc = load_text(
        "dynamic_resources:\n"
        "  ads_config:\n"
        "    api_type: DELTA_GRPC\n"
        "    transport_api_version: V3\n"
        "    grpc_services:\n"
        "    - envoy_grpc: { cluster_name: xds }\n"
        "  lds_config: { ads: {} }\n"
        "  cds_config: { ads: {}, resource_api_version: V3 }\n"
        "static_resources:\n"
        "  clusters:\n"
        "  - name: xds\n"
        "    load_assignment:\n"
        "      cluster_name: xds\n"
        "      endpoints:\n"
        "      - lb_endpoints:\n"
        "        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 18000 } } }\n",
        err, sizeof(err), &b);
    CHECK_INT(rc, 0);
    if (rc != 0)
        fprintf(stderr, "dynamic: %s\n", err);
    CHECK(b && b->has_ads);
    dp_bootstrap_free(b);
    b = NULL;

    /* envoy_grpc naming a cluster that is not static */
    rc = load_text("dynamic_resources:\n"
                   "  ads_config:\n"
                   "    api_type: GRPC\n"
                   "    transport_api_version: V3\n"
                   "    grpc_services:\n"
                   "    - envoy_grpc:\n"
                   "        cluster_name: nope\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":7:23: dynamic_resources.ads_config.grpc_services[0].envoy_grpc.cluster_name: 'nope' is "
                   "not a static cluster");

    /* transport_api_version must be V3 */
    rc = load_text("dynamic_resources:\n"
                   "  ads_config:\n"
                   "    api_type: GRPC\n"
                   "    grpc_services: [{ google_grpc: { target_uri: x:1, stat_prefix: a } }]\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":2:3: dynamic_resources.ads_config.transport_api_version: must be V3");

    /* lds_config via ads without ads_config */
    rc = load_text("dynamic_resources:\n"
                   "  lds_config:\n"
                   "    ads: {}\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":2:3: dynamic_resources.lds_config: ads: {} requires dynamic_resources.ads_config");

    /* REST is not supported */
    rc = load_text("dynamic_resources:\n"
                   "  ads_config:\n"
                   "    api_type: REST\n"
                   "    transport_api_version: V3\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":3:15: dynamic_resources.ads_config.api_type: REST is not supported yet");

    /* two gRPC services */
    rc = load_text("dynamic_resources:\n"
                   "  ads_config:\n"
                   "    api_type: GRPC\n"
                   "    transport_api_version: V3\n"
                   "    grpc_services:\n"
                   "    - google_grpc: { target_uri: a:1, stat_prefix: a }\n"
                   "    - google_grpc: { target_uri: b:1, stat_prefix: b }\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":5:5: dynamic_resources.ads_config.grpc_services: exactly one gRPC service is required "
                   "(got 2)");
}

/* cluster_manager.load_stats_config and hds_config: GRPC streams to a
 * static cluster, checked at start-up with their line. */
static void test_load_reporting(void)
{
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int rc;
    static const char cluster[] = "static_resources:\n"
                                  "  clusters:\n"
                                  "  - name: cp\n"
                                  "    load_assignment:\n"
                                  "      cluster_name: cp\n"
                                  "      endpoints:\n"
                                  "      - lb_endpoints:\n"
                                  "        - endpoint: { address: { socket_address: { address: 127.0.0.1, "
                                  "port_value: 18000 } } }\n";
    char text[2048];

    snprintf(text, sizeof(text),
             "%scluster_manager:\n"
             "  load_stats_config:\n"
             "    api_type: GRPC\n"
             "    transport_api_version: V3\n"
             "    grpc_services: [{ envoy_grpc: { cluster_name: cp } }]\n"
             "hds_config:\n"
             "  api_type: GRPC\n"
             "  transport_api_version: V3\n"
             "  grpc_services: [{ envoy_grpc: { cluster_name: cp } }]\n",
             cluster);
    rc = load_text(text, err, sizeof(err), &b);
    CHECK_INT(rc, 0);
    CHECK(b && b->has_lrs && b->has_hds && !b->has_ads);
    dp_bootstrap_free(b);
    b = NULL;

    /* no delta form of LRS */
    snprintf(text, sizeof(text),
             "%scluster_manager:\n"
             "  load_stats_config:\n"
             "    api_type: DELTA_GRPC\n"
             "    transport_api_version: V3\n"
             "    grpc_services: [{ envoy_grpc: { cluster_name: cp } }]\n",
             cluster);
    rc = load_text(text, err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":11:15: cluster_manager.load_stats_config.api_type: must be GRPC");

    /* HDS to a cluster that is not static */
    rc = load_text("hds_config:\n"
                   "  api_type: GRPC\n"
                   "  transport_api_version: V3\n"
                   "  grpc_services: [{ envoy_grpc: { cluster_name: nope } }]\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, "hds_config.grpc_services[0].envoy_grpc.cluster_name: 'nope' is not a static cluster");

    /* a cluster manager field we do not implement is refused by name */
    rc = load_text("cluster_manager: { local_cluster_name: x }\n", err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, "local_cluster_name");
}

static void test_ads_required(void)
{
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int rc;

    /* A static listener using RDS over ADS without an ADS stream */
    rc = load_text(
        "static_resources:\n"
        "  listeners:\n"
        "  - name: l\n"
        "    address: { socket_address: { address: 127.0.0.1, port_value: 10000 } }\n"
        "    filter_chains:\n"
        "    - filters:\n"
        "      - name: hcm\n"
        "        typed_config:\n"
        "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager"
        ".v3.HttpConnectionManager\n"
        "          stat_prefix: s\n"
        "          rds:\n"
        "            route_config_name: r\n"
        "            config_source: { ads: {} }\n"
        "          http_filters: [{ name: envoy.filters.http.router }]\n",
        err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(
        err,
        ":13:13: static_resources.listeners[0].filter_chains[0].filters[0].typed_config.rds.config_source: "
        "ADS must be configured to support an ADS config source");
    /* ... and a static EDS cluster */
    rc = load_text("static_resources:\n"
                   "  clusters:\n"
                   "  - name: e\n"
                   "    type: EDS\n"
                   "    eds_cluster_config:\n"
                   "      eds_config:\n"
                   "        ads: {}\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err,
              ":6:7: static_resources.clusters[0].eds_cluster_config.eds_config: ADS must be configured");
    /* with ADS both load; the EDS cluster has no endpoints yet */
    rc = load_text(
        "dynamic_resources:\n"
        "  ads_config:\n"
        "    api_type: GRPC\n"
        "    transport_api_version: V3\n"
        "    grpc_services: [{ google_grpc: { target_uri: '127.0.0.1:18000', stat_prefix: ads } }]\n"
        "static_resources:\n"
        "  clusters:\n"
        "  - name: e\n"
        "    type: EDS\n"
        "    eds_cluster_config: { eds_config: { ads: {} } }\n",
        err, sizeof(err), &b);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK(b->has_ads);
        CHECK_INT(b->snap->n_clusters, 1);
        CHECK_INT(b->snap->clusters[0]->type, DP_CLUSTER_EDS);
        CHECK_INT(b->snap->clusters[0]->n_endpoints, 0);
        dp_bootstrap_free(b);
    } else {
        fprintf(stderr, "%s\n", err);
    }
}

static void test_duplicates(void)
{
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int rc;
#define L(name, port)                                                                                        \
    "  - name: " name "\n"                                                                                   \
    "    address: { socket_address: { address: 127.0.0.1, port_value: " port " } }\n"                        \
    "    filter_chains:\n"                                                                                   \
    "    - filters:\n"                                                                                       \
    "      - name: hcm\n"                                                                                    \
    "        typed_config:\n"                                                                                \
    "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"   \
    ".HttpConnectionManager\n"                                                                               \
    "          stat_prefix: s\n"                                                                             \
    "          route_config: { virtual_hosts: [{ name: v, domains: ['*'] }] }\n"                             \
    "          http_filters: [{ name: envoy.filters.http.router }]\n"

    rc = load_text("static_resources:\n  listeners:\n" L("a", "10001") L("a", "10002"), err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":13:11: static_resources.listeners[1].name: duplicate listener name 'a' (also "
                   "static_resources.listeners[0])");
    rc = load_text("static_resources:\n  listeners:\n" L("a", "10001") L("b", "10001"), err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":14:5: static_resources.listeners[1].address: listener 'b' has the same address "
                   "127.0.0.1:10001 as listener 'a'");
    rc = load_text("static_resources:\n  listeners:\n" L("a", "10001") L("b", "10002"), err, sizeof(err), &b);
    CHECK_INT(rc, 0);
    if (rc == 0) {
        CHECK_INT(b->snap->n_listeners, 2);
        CHECK_STR(b->snap->listeners[1]->name, "b");
        CHECK_INT(b->snap->n_meta, 2);
        CHECK_INT(b->snap->meta[0].type, DP_RES_LISTENER);
        dp_bootstrap_free(b);
    }
#undef L
}

static void test_misc_errors(void)
{
    char err[1024];
    dp_bootstrap_t *b = NULL;
    int rc;

    /* a missing file */
    rc = dp_bootstrap_load("/nonexistent/dir/boot.yaml", NULL, &b, err, sizeof(err));
    CHECK(rc < 0);
    CHECK(b == NULL);
    CHECK_HAS(err, "/nonexistent/dir/boot.yaml");

    /* admin address must be an IP literal */
    rc = load_text("admin:\n"
                   "  address:\n"
                   "    socket_address:\n"
                   "      address: localhost\n"
                   "      port_value: 9901\n",
                   err, sizeof(err), &b);
    CHECK(rc < 0);
    CHECK_HAS(err, ":4:16: admin.address.socket_address.address: 'localhost' is not an IPv4 or IPv6 address");

    /* an empty file is an empty bootstrap */
    rc = load_text("", err, sizeof(err), &b);
    CHECK_INT(rc, 0);
    CHECK(b && b->snap && b->snap->n_listeners == 0 && !b->has_admin);
    dp_bootstrap_free(b);
}


/* TLS: static secrets, filter chains with their certificates (inline, from
 * a file, from a static secret, from SDS), a TLS cluster speaking HTTP/2. */
static void test_tls(void)
{
    char err[1024] = "", yaml[16384], key_path[64], pem_path[64];
    dp_bootstrap_t *b = NULL;

    snprintf(pem_path, sizeof(pem_path), "%s", tmp_config(SRV2_PEM, ".pem"));
    snprintf(key_path, sizeof(key_path), "%s", tmp_config(SRV2_KEY, ".pem"));
    /* PEM in YAML block scalars: each line indented */
    char cert_block[2048] = "", key_block[1024] = "";
    for (const char *p = SRV_PEM; *p;) {
        size_t n = strcspn(p, "\n");
        snprintf(cert_block + strlen(cert_block), sizeof(cert_block) - strlen(cert_block), "          %.*s\n",
                 (int)n, p);
        p += n + (p[n] == '\n');
    }
    for (const char *p = SRV_KEY; *p;) {
        size_t n = strcspn(p, "\n");
        snprintf(key_block + strlen(key_block), sizeof(key_block) - strlen(key_block), "          %.*s\n",
                 (int)n, p);
        p += n + (p[n] == '\n');
    }
#define HCM_TLS(sp)                                                                                          \
    "      filters:\n"                                                                                        \
    "      - name: hcm\n"                                                                                     \
    "        typed_config:\n"                                                                                 \
    "          '@type': "                                                                                    \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n" \
    "          stat_prefix: " sp "\n"                                                                         \
    "          rds: {route_config_name: r, config_source: {ads: {}}}\n"                                        \
    "          http_filters: [{name: envoy.filters.http.router, typed_config: {'@type': "                     \
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]\n"
#define DTLS_TYPE "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
    snprintf(yaml, sizeof(yaml),
             "dynamic_resources:\n"
             "  ads_config: {api_type: GRPC, transport_api_version: V3, grpc_services: [{envoy_grpc: {cluster_name: "
             "xds}}]}\n"
             "static_resources:\n"
             "  secrets:\n"
             "  - name: wildcard\n"
             "    tls_certificate:\n"
             "      certificate_chain:\n"
             "        inline_string: |\n%s"
             "      private_key:\n"
             "        inline_string: |\n%s"
             "  listeners:\n"
             "  - name: tls\n"
             "    address: {socket_address: {address: 127.0.0.1, port_value: 10443}}\n"
             "    listener_filters:\n"
             "    - name: envoy.filters.listener.tls_inspector\n"
             "      typed_config: {'@type': "
             "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector}\n"
             "    listener_filters_timeout: 2s\n"
             "    filter_chains:\n"
             "    - name: wildcard\n"
             "      filter_chain_match: {server_names: ['*.node-us.example.test']}\n"
             "      transport_socket:\n"
             "        name: envoy.transport_sockets.tls\n"
             "        typed_config:\n"
             "          '@type': " DTLS_TYPE "\n"
             "          common_tls_context:\n"
             "            alpn_protocols: [h2, http/1.1]\n"
             "            tls_certificate_sds_secret_configs: [{name: wildcard}]\n" HCM_TLS("wild")
             "    - name: custom\n"
             "      filter_chain_match: {server_names: [custom.example.com]}\n"
             "      transport_socket:\n"
             "        name: envoy.transport_sockets.tls\n"
             "        typed_config:\n"
             "          '@type': " DTLS_TYPE "\n"
             "          common_tls_context:\n"
             "            tls_certificates: [{certificate_chain: {filename: %s}, private_key: {filename: %s}}]\n"
             HCM_TLS("custom")
             "    - name: rotating\n"
             "      filter_chain_match: {server_names: [sds.example.com]}\n"
             "      transport_socket:\n"
             "        name: envoy.transport_sockets.tls\n"
             "        typed_config:\n"
             "          '@type': " DTLS_TYPE "\n"
             "          common_tls_context:\n"
             "            tls_certificate_sds_secret_configs: [{name: from_sds, sds_config: {ads: {}}}]\n"
             HCM_TLS("sds")
             "  clusters:\n"
             "  - name: xds\n"
             "    load_assignment: {cluster_name: xds, endpoints: [{lb_endpoints: [{endpoint: {address: "
             "{socket_address: {address: 127.0.0.1, port_value: 18000}}}}]}]}\n"
             "  - name: backend\n"
             "    typed_extension_protocol_options:\n"
             "      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:\n"
             "        '@type': type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions\n"
             "        explicit_http_config: {http2_protocol_options: {}}\n"
             "    transport_socket:\n"
             "      name: envoy.transport_sockets.tls\n"
             "      typed_config:\n"
             "        '@type': type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext\n"
             "        sni: backend.internal\n",
             cert_block, key_block, pem_path, key_path);
    int rc = load_text(yaml, err, sizeof(err), &b);
    unlink(pem_path);
    unlink(key_path);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "tls: %s\n", err);
        return;
    }
    const dp_listener_cfg_t *l = b->snap->listeners[0];
    CHECK_INT(l->n_chains, 3);
    CHECK(l->any_tls);
    CHECK_INT(l->listener_filters_timeout_ms, 2000);
    CHECK(l->chains[0].tls != NULL && l->chains[0].n_sds_names == 0);
    CHECK(l->chains[1].tls != NULL);
    /* the SDS secret comes over ADS: not ready until then */
    CHECK(l->chains[2].tls == NULL && l->chains[2].n_sds_names == 1);
    const dp_cluster_cfg_t *c = dp_snapshot_find_cluster(b->snap, "backend", 7);
    CHECK(c && c->tls != NULL && c->proto == DP_UPSTREAM_HTTP2);
    if (c)
        CHECK_STR(c->tls_sni, "backend.internal");
    /* the static secret's meta, without its key */
    const dp_res_meta_t *sm = NULL;
    for (size_t i = 0; i < b->snap->n_meta; i++)
        if (b->snap->meta[i].type == DP_RES_SECRET)
            sm = &b->snap->meta[i];
    CHECK(sm && sm->is_static && strcmp(sm->name, "wildcard") == 0);
    if (sm) {
        Envoy__Extensions__TransportSockets__Tls__V3__Secret *s =
            envoy__extensions__transport_sockets__tls__v3__secret__unpack(NULL, sm->raw.len, sm->raw.data);
        CHECK(s && s->tls_certificate && strcmp(s->tls_certificate->private_key->inline_string, "[redacted]") == 0);
        CHECK(s && strstr(s->tls_certificate->certificate_chain->inline_string, "BEGIN CERTIFICATE") != NULL);
        if (s)
            envoy__extensions__transport_sockets__tls__v3__secret__free_unpacked(s, NULL);
    }
    dp_bootstrap_free(b);
}

int main(void)
{
    test_examples();
    test_bad();
    test_demo();
    test_minimal_json();
    test_dynamic();
    test_load_reporting();
    test_ads_required();
    test_duplicates();
    test_misc_errors();
    test_tls();
    TEST_DONE();
}
