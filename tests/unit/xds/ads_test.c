/* The ADS state machine (xds/ads.h) against a fake transport: requests
 * are decoded and queued, commits keep the snapshot (or fail a chosen
 * listener), the clock is a variable. Responses are built from YAML
 * resources packed into Any, as a management server would send them. */
#include <stdarg.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataplane/core/common.h"
#include "dataplane/transport/tls.h"
#include "dataplane/version.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "test.h"
#include "xds/ads.h"
#include "xds/bootstrap.h"
#include "xds/pbjson.h"
#include "filters/containers/catalogue.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "tls_testdata.h"
#include "yaml_util.h"
#include "xds/translate.h"
#include "xds/translate_tls.h"
#include "xds/typereg.h"

typedef Envoy__Service__Discovery__V3__DiscoveryRequest sreq_t;
typedef Envoy__Service__Discovery__V3__DeltaDiscoveryRequest dreq_t;

/* ---- fake environment ----------------------------------------------------------- */

#define MAXREQ 512

static struct {
    bool delta;
    sreq_t *sreq[MAXREQ];
    dreq_t *dreq[MAXREQ];
    size_t n, next;
    dp_snapshot_t *snap;
    int commits;
    const char *fail_listener; /* commit fails while the snapshot holds it */
    uint64_t now;
} F;

static void fake_send(void *ctx, const uint8_t *msg, size_t len)
{
    (void)ctx;
    if (F.n >= MAXREQ) {
        fprintf(stderr, "too many requests\n");
        abort();
    }
    if (F.delta)
        F.dreq[F.n++] = envoy__service__discovery__v3__delta_discovery_request__unpack(NULL, len, msg);
    else
        F.sreq[F.n++] = envoy__service__discovery__v3__discovery_request__unpack(NULL, len, msg);
}

static int fake_commit(void *ctx, dp_snapshot_t *snap, const char **failed, char *errbuf, size_t errlen)
{
    (void)ctx;
    if (F.fail_listener) {
        for (size_t i = 0; i < snap->n_listeners; i++) {
            if (strcmp(snap->listeners[i]->name, F.fail_listener) == 0) {
                *failed = snap->listeners[i]->name;
                snprintf(errbuf, errlen, "Address already in use");
                return DP_ERR;
            }
        }
    }
    dp_snapshot_unref(F.snap);
    F.snap = dp_snapshot_ref(snap);
    F.commits++;
    return 0;
}

static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return F.now;
}

static const dp_ads_env_t ENV = {NULL, fake_send, fake_commit, fake_now};

static void fake_reset(bool delta)
{
    for (size_t i = 0; i < F.n; i++) {
        if (F.sreq[i])
            envoy__service__discovery__v3__discovery_request__free_unpacked(F.sreq[i], NULL);
        if (F.dreq[i])
            envoy__service__discovery__v3__delta_discovery_request__free_unpacked(F.dreq[i], NULL);
    }
    dp_snapshot_unref(F.snap);
    memset(&F, 0, sizeof(F));
    F.delta = delta;
    F.now = 1000000;
}

static size_t pending(void)
{
    return F.n - F.next;
}

static const sreq_t *next_sreq(void)
{
    if (F.next >= F.n || F.delta) {
        fprintf(stderr, "  no pending SotW request\n");
        return NULL;
    }
    return F.sreq[F.next++];
}

static const dreq_t *next_dreq(void)
{
    if (F.next >= F.n || !F.delta) {
        fprintf(stderr, "  no pending Delta request\n");
        return NULL;
    }
    return F.dreq[F.next++];
}

static void skip_requests(void)
{
    F.next = F.n;
}

/* "a,b,c" == the request's names, in order */
static bool names_are(char **v, size_t n, const char *csv)
{
    char buf[1024];
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", i ? "," : "", v[i]);
    if (strcmp(buf, csv) != 0) {
        fprintf(stderr, "  names: \"%s\", expected \"%s\"\n", buf, csv);
        return false;
    }
    return true;
}

/* ---- bootstrap ------------------------------------------------------------------ */

#define BOOT_HEAD                                                                                            \
    "node: {id: n1, cluster: c1, metadata: {team: edge}, locality: {region: eu, zone: z1}}\n"                \
    "dynamic_resources:\n"                                                                                   \
    "  ads_config: {api_type: GRPC, transport_api_version: V3,\n"                                            \
    "               grpc_services: [{envoy_grpc: {cluster_name: xds}}]}\n"
#define BOOT_LDS "  lds_config: {ads: {}, resource_api_version: V3}\n"
#define BOOT_CDS "  cds_config: {ads: {}, resource_api_version: V3}\n"
#define XDS_CLUSTER                                                                                          \
    "  - name: xds\n"                                                                                        \
    "    type: STATIC\n"                                                                                     \
    "    load_assignment: {cluster_name: xds, endpoints: [{lb_endpoints: [{endpoint: {address:\n"            \
    "      {socket_address: {address: 127.0.0.1, port_value: 18000}}}}]}]}\n"

static dp_bootstrap_t *boot_default(void)
{
    return boot_from_yaml(BOOT_HEAD BOOT_LDS BOOT_CDS "static_resources:\n  clusters:\n" XDS_CLUSTER);
}

/* ---- resources and responses -------------------------------------------------------- */

#define HCM_URL                                                                                              \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER                                                                                               \
    "{name: envoy.filters.http.router, typed_config: {'@type': "                                             \
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}"

static const char *cluster_static(const char *name)
{
    return Y("name: %s\ntype: STATIC\nload_assignment: {cluster_name: %s, endpoints: [{lb_endpoints: "
             "[{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 8080}}}}]}]}",
             name, name);
}

static const char *cluster_eds(const char *name, const char *service)
{
    if (service)
        return Y("name: %s\ntype: EDS\neds_cluster_config: {service_name: %s, eds_config: {ads: {}, "
                 "resource_api_version: V3}}",
                 name, service);
    return Y("name: %s\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}",
             name);
}

static const char *cla(const char *name, int n)
{
    char eps[2048] = "";
    size_t k = 0;
    for (int i = 0; i < n; i++)
        k += (size_t)snprintf(
            eps + k, sizeof(eps) - k,
            "%s{endpoint: {address: {socket_address: {address: 10.0.0.%d, port_value: 80}}}}", i ? ", " : "",
            i + 1);
    return Y("cluster_name: %s\nendpoints: [{lb_endpoints: [%s]}]", name, eps);
}

static const char *listener_inline(const char *name, int port)
{
    return Y("name: %s\naddress: {socket_address: {address: 127.0.0.1, port_value: %d}}\n"
             "filter_chains: [{filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: s, "
             "http_filters: [" ROUTER "], route_config: {virtual_hosts: [{name: all, domains: ['*'], routes: "
             "[{match: {prefix: /}, route: {cluster: c}}]}]}}}]}]",
             name, port);
}

static const char *listener_rds(const char *name, int port, const char *rds)
{
    return Y("name: %s\naddress: {socket_address: {address: 127.0.0.1, port_value: %d}}\n"
             "filter_chains: [{filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: s, "
             "http_filters: [" ROUTER "], rds: {route_config_name: %s, config_source: {ads: {}, "
             "resource_api_version: V3}}}}]}]",
             name, port, rds);
}

static const char *route(const char *name, const char *cluster)
{
    return Y("name: %s\nvirtual_hosts: [{name: vh, domains: ['*'], routes: [{match: {prefix: /}, route: "
             "{cluster: %s}}]}]",
             name, cluster);
}

static uint8_t *yaml_bytes(const char *type_url, const char *yaml, size_t *len)
{
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    char e[1024];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), dp_typereg_lookup(type_url), &o, &m, "test", e,
                              sizeof(e)) != 0) {
        fprintf(stderr, "test YAML does not decode: %s\n%s\n", e, yaml);
        abort();
    }
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    protobuf_c_message_pack(m, buf);
    protobuf_c_message_free_unpacked(m, NULL);
    return buf;
}

static Google__Protobuf__Any *any_new(const char *url, uint8_t *data, size_t len)
{
    Google__Protobuf__Any *a = malloc(sizeof(*a));
    google__protobuf__any__init(a);
    a->type_url = (char *)url;
    a->value.data = data;
    a->value.len = len;
    return a;
}

static Google__Protobuf__Any *any_yaml(const char *url, const char *yaml)
{
    size_t len;
    uint8_t *b = yaml_bytes(url, yaml, &len);
    return any_new(url, b, len);
}

static void anys_free(Google__Protobuf__Any **v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i]->value.data);
        free(v[i]);
    }
}

static int sotw_anys(dp_ads_t *a, const char *url, const char *version, const char *nonce,
                     Google__Protobuf__Any **anys, size_t n)
{
    Envoy__Service__Discovery__V3__DiscoveryResponse r =
        ENVOY__SERVICE__DISCOVERY__V3__DISCOVERY_RESPONSE__INIT;
    r.version_info = (char *)version;
    r.type_url = (char *)url;
    r.nonce = (char *)nonce;
    r.resources = anys;
    r.n_resources = n;
    size_t len = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(&r.base, buf);
    int rc = dp_ads_on_response(a, buf, len);
    free(buf);
    anys_free(anys, n);
    return rc;
}

/* A SotW response of YAML resources (NULL-terminated list). */
static int sotw(dp_ads_t *a, const char *url, const char *version, const char *nonce,
                const char *const *yamls)
{
    Google__Protobuf__Any *anys[128];
    size_t n = 0;
    for (; yamls[n]; n++)
        anys[n] = any_yaml(url, yamls[n]);
    return sotw_anys(a, url, version, nonce, anys, n);
}

#define SOTW(a, url, ver, nonce, ...)                                                                        \
    sotw((a), (url), (ver), (nonce), (const char *const[]){__VA_ARGS__, NULL})
#define SOTW_EMPTY(a, url, ver, nonce) sotw((a), (url), (ver), (nonce), (const char *const[]){NULL})

/* A Resource wrapper (SotW) or Delta element. yaml NULL: heartbeat. */
static Envoy__Service__Discovery__V3__Resource *
resource_new(const char *url, const char *name, const char *version, const char *yaml, int64_t ttl_s)
{
    Envoy__Service__Discovery__V3__Resource *r = calloc(1, sizeof(*r));
    envoy__service__discovery__v3__resource__init(r);
    r->name = (char *)name;
    r->version = (char *)version;
    if (yaml)
        r->resource = any_yaml(url, yaml);
    if (ttl_s) {
        r->ttl = calloc(1, sizeof(*r->ttl));
        google__protobuf__duration__init(r->ttl);
        r->ttl->seconds = ttl_s;
    }
    return r;
}

static void resource_free(Envoy__Service__Discovery__V3__Resource *r)
{
    if (r->resource) {
        free(r->resource->value.data);
        free(r->resource);
    }
    free(r->ttl);
    free(r);
}

static Google__Protobuf__Any *wrap(Envoy__Service__Discovery__V3__Resource *r)
{
    size_t len = protobuf_c_message_get_packed_size(&r->base);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(&r->base, buf);
    resource_free(r);
    return any_new("type.googleapis.com/envoy.service.discovery.v3.Resource", buf, len);
}

static int delta_resp(dp_ads_t *a, const char *url, const char *nonce,
                      Envoy__Service__Discovery__V3__Resource **res, size_t n, const char *const *removed)
{
    Envoy__Service__Discovery__V3__DeltaDiscoveryResponse r =
        ENVOY__SERVICE__DISCOVERY__V3__DELTA_DISCOVERY_RESPONSE__INIT;
    size_t nrem = 0;
    while (removed && removed[nrem])
        nrem++;
    r.type_url = (char *)url;
    r.nonce = (char *)nonce;
    r.system_version_info = (char *)"sys";
    r.resources = res;
    r.n_resources = n;
    r.removed_resources = (char **)removed;
    r.n_removed_resources = nrem;
    size_t len = protobuf_c_message_get_packed_size(&r.base);
    uint8_t *buf = malloc(len + 1);
    protobuf_c_message_pack(&r.base, buf);
    int rc = dp_ads_on_response(a, buf, len);
    free(buf);
    for (size_t i = 0; i < n; i++)
        resource_free(res[i]);
    return rc;
}

/* ---- snapshot inspection ---------------------------------------------------------- */

static const dp_cluster_cfg_t *snap_cluster(const char *name)
{
    return F.snap ? dp_snapshot_find_cluster(F.snap, name, strlen(name)) : NULL;
}

static const dp_listener_cfg_t *snap_listener(const char *name)
{
    for (size_t i = 0; F.snap && i < F.snap->n_listeners; i++)
        if (strcmp(F.snap->listeners[i]->name, name) == 0)
            return F.snap->listeners[i];
    return NULL;
}

static const dp_res_meta_t *snap_meta(dp_res_type_t type, const char *name, dp_res_status_t status)
{
    for (size_t i = 0; F.snap && i < F.snap->n_meta; i++) {
        const dp_res_meta_t *m = &F.snap->meta[i];
        if (m->type == type && strcmp(m->name, name) == 0 && m->status == status && !m->is_static)
            return m;
    }
    return NULL;
}

static size_t snap_meta_count(dp_res_type_t type, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; F.snap && i < F.snap->n_meta; i++)
        if (F.snap->meta[i].type == type && strcmp(F.snap->meta[i].name, name) == 0 &&
            !F.snap->meta[i].is_static)
            n++;
    return n;
}

static dp_ads_t *start(dp_bootstrap_t *b, bool delta)
{
    fake_reset(delta);
    dp_ads_t *a = dp_ads_new(b, delta, &ENV);
    dp_ads_stream_start(a);
    return a;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_node_and_order(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;

    CHECK_INT(pending(), 2);
    r = next_sreq();
    CHECK(r != NULL);
    if (r == NULL)
        goto out;
    CHECK_STR(r->type_url, DP_TYPE_CLUSTER);
    CHECK_STR(r->version_info, "");
    CHECK_STR(r->response_nonce, "");
    CHECK_INT(r->n_resource_names, 0);
    CHECK(r->error_detail == NULL);
    CHECK(r->node != NULL);
    if (r->node) {
        CHECK_STR(r->node->id, "n1");
        CHECK_STR(r->node->cluster, "c1");
        CHECK_STR(r->node->user_agent_name, "dataplane");
        CHECK_INT(r->node->user_agent_version_type_case,
                  ENVOY__CONFIG__CORE__V3__NODE__USER_AGENT_VERSION_TYPE_USER_AGENT_VERSION);
        CHECK_STR(r->node->user_agent_version, DP_VERSION);
        CHECK(r->node->locality && strcmp(r->node->locality->region, "eu") == 0);
        CHECK(r->node->locality && strcmp(r->node->locality->zone, "z1") == 0);
        CHECK(r->node->metadata && r->node->metadata->n_fields == 1 &&
              strcmp(r->node->metadata->fields[0]->key, "team") == 0);
        CHECK(names_are(r->node->client_features, r->node->n_client_features,
                        "envoy.lb.does_not_support_overprovisioning,xds.config.resource-ttl"));
    }
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    CHECK(r && r->node == NULL);
    CHECK(!dp_ads_initialized(a));
    /* A response's ACK carries no Node either. */
    SOTW(a, DP_TYPE_CLUSTER, "v1", "n1", cluster_static("c1"));
    r = next_sreq();
    CHECK(r && r->node == NULL);
out:
    dp_ads_free(a);
}

static void test_ack_partial_nack(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_CLUSTER, "1", "A", cluster_static("c1"), cluster_static("c2"), cluster_static("c3"));
    r = next_sreq();
    CHECK(r && strcmp(r->version_info, "1") == 0 && strcmp(r->response_nonce, "A") == 0);
    CHECK(r && r->error_detail == NULL && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0);
    CHECK_STR(dp_ads_version(a, DP_RES_CLUSTER), "1");
    CHECK(snap_cluster("c1") && snap_cluster("c2") && snap_cluster("c3") && snap_cluster("xds"));
    const dp_cluster_cfg_t *c1 = snap_cluster("c1");
    const dp_res_meta_t *m = snap_meta(DP_RES_CLUSTER, "c1", DP_RES_ACKED);
    CHECK(m && strcmp(m->version, "1") == 0 && m->raw.len > 0);
    /* the static one keeps its static meta */
    CHECK(F.snap && F.snap->n_meta == 4);

    /* c2 invalid: c1 and c3 applied, NACK with version 1 and nonce B. */
    int commits = F.commits;
    SOTW(a, DP_TYPE_CLUSTER, "2", "B", cluster_static("c1"), "name: c2\ntype: STATIC\nlb_policy: MAGLEV",
         cluster_static("c4"));
    r = next_sreq();
    CHECK(r && strcmp(r->version_info, "1") == 0 && strcmp(r->response_nonce, "B") == 0);
    CHECK(r && r->error_detail != NULL);
    if (r && r->error_detail) {
        CHECK_INT(r->error_detail->code, 3);
        CHECK_HAS(r->error_detail->message, "c2: lb_policy: ");
        CHECK_HAS(r->error_detail->message, "MAGLEV");
    }
    CHECK_STR(dp_ads_version(a, DP_RES_CLUSTER), "1");
    CHECK_INT(F.commits, commits + 1);
    CHECK(snap_cluster("c1") == c1);   /* unchanged: not re-translated */
    CHECK(snap_cluster("c2") != NULL); /* last good version kept */
    CHECK(snap_cluster("c3") == NULL); /* deleted: absent from the response */
    CHECK(snap_cluster("c4") != NULL); /* valid resources applied */
    m = snap_meta(DP_RES_CLUSTER, "c2", DP_RES_NACKED);
    CHECK(m != NULL);
    if (m) {
        CHECK_STR(m->version, "1");
        CHECK_STR(m->error_version, "2");
        CHECK_HAS(m->error_details, "lb_policy");
        CHECK(m->raw.len > 0);
    }
    CHECK_INT(snap_meta_count(DP_RES_CLUSTER, "c2"), 1);

    /* The same bad response again: NACK again, nothing to commit. */
    commits = F.commits;
    SOTW(a, DP_TYPE_CLUSTER, "2", "C", cluster_static("c1"), "name: c2\ntype: STATIC\nlb_policy: MAGLEV",
         cluster_static("c4"));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->response_nonce, "C") == 0);
    CHECK_INT(F.commits, commits);

    /* Fixed: ACK, c2 takes the new version, NACK state gone. */
    SOTW(a, DP_TYPE_CLUSTER, "3", "D", cluster_static("c1"), "name: c2\ntype: STATIC\nlb_policy: RANDOM",
         cluster_static("c4"));
    r = next_sreq();
    CHECK(r && strcmp(r->version_info, "3") == 0 && strcmp(r->response_nonce, "D") == 0 &&
          r->error_detail == NULL);
    CHECK(snap_cluster("c2") && snap_cluster("c2")->lb_policy == DP_LB_RANDOM);
    CHECK(snap_meta(DP_RES_CLUSTER, "c2", DP_RES_NACKED) == NULL);
    m = snap_meta(DP_RES_CLUSTER, "c2", DP_RES_ACKED);
    CHECK(m && strcmp(m->version, "3") == 0);
    m = snap_meta(DP_RES_CLUSTER, "c1", DP_RES_ACKED);
    CHECK(m && strcmp(m->version, "1") == 0); /* unchanged since version 1 */
    CHECK(snap_cluster("c1") == c1);

    /* A never-good resource: NACKED meta without raw. */
    SOTW(a, DP_TYPE_CLUSTER, "4", "E", cluster_static("c1"), "name: c9\ntype: LOGICAL_DNS");
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "3") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "c9: type: ");
    m = snap_meta(DP_RES_CLUSTER, "c9", DP_RES_NACKED);
    CHECK(m && m->raw.len == 0 && snap_cluster("c9") == NULL);
    CHECK(snap_cluster("c2") == NULL);
    dp_ads_free(a);
}

static void test_duplicates_and_static(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_CLUSTER, "1", "A", cluster_static("c1"));
    skip_requests();
    int commits = F.commits;
    SOTW(a, DP_TYPE_CLUSTER, "2", "B", cluster_static("c2"), cluster_static("c3"), cluster_eds("c2", NULL));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "1") == 0 && strcmp(r->response_nonce, "B") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "duplicate resource name 'c2'");
    CHECK_INT(F.commits, commits);
    CHECK(snap_cluster("c1") && !snap_cluster("c2") && !snap_cluster("c3"));
    CHECK_INT(pending(), 0);

    /* A dynamic cluster named like a static one is rejected. */
    SOTW(a, DP_TYPE_CLUSTER, "3", "C", cluster_static("c1"), cluster_static("xds"));
    r = next_sreq();
    CHECK(r && r->error_detail);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "xds: name: 'xds' is already a static cluster");
    CHECK(snap_cluster("xds") && snap_cluster("xds")->n_endpoints == 1);
    CHECK(snap_cluster("c1") != NULL);
    dp_ads_free(a);
}

static void test_lds_deletion_and_bind(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_LISTENER, "1", "A", listener_inline("l1", 10001), listener_inline("l2", 10002));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "1") == 0);
    CHECK(snap_listener("l1") && snap_listener("l2"));
    SOTW(a, DP_TYPE_LISTENER, "2", "B", listener_inline("l1", 10001));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "2") == 0);
    CHECK(snap_listener("l1") && !snap_listener("l2"));
    CHECK(snap_meta_count(DP_RES_LISTENER, "l2") == 0);

    /* Two listeners on one address: the second is rejected. */
    SOTW(a, DP_TYPE_LISTENER, "3", "C", listener_inline("l1", 10001), listener_inline("l3", 10001));
    r = next_sreq();
    CHECK(r && r->error_detail);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message,
                  "l3: address: listener 'l3' has the same address 127.0.0.1:10001");
    CHECK(snap_listener("l1") && !snap_listener("l3"));

    /* The commit cannot bind l4: l4 is rejected, l5 goes in. */
    F.fail_listener = "l4";
    SOTW(a, DP_TYPE_LISTENER, "4", "D", listener_inline("l1", 10001), listener_inline("l4", 10004),
         listener_inline("l5", 10005));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "2") == 0 && strcmp(r->response_nonce, "D") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "l4: address: cannot bind: Address already in use");
    CHECK(snap_listener("l1") && snap_listener("l5") && !snap_listener("l4"));
    const dp_res_meta_t *m = snap_meta(DP_RES_LISTENER, "l4", DP_RES_NACKED);
    CHECK(m && m->raw.len == 0 && strcmp(m->error_version, "4") == 0);
    /* An existing listener changed to an unbindable one: the old one stays. */
    const dp_listener_cfg_t *l5 = snap_listener("l5");
    F.fail_listener = NULL;
    SOTW(a, DP_TYPE_LISTENER, "5", "E", listener_inline("l1", 10001), listener_inline("l5", 10005));
    skip_requests();
    CHECK(snap_listener("l5") == l5);
    dp_ads_free(a);
}

static void test_eds_subscriptions_and_warming(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_CLUSTER, "1", "A", cluster_eds("e2", "svc2"), cluster_eds("e1", NULL),
         cluster_static("s1"));
    CHECK_INT(pending(), 2);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && r->error_detail == NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0);
    CHECK(r && names_are(r->resource_names, r->n_resource_names, "e1,svc2"));
    CHECK(r && strcmp(r->version_info, "") == 0 && strcmp(r->response_nonce, "") == 0);
    /* warming: not in the snapshot until the CLA arrives */
    CHECK(snap_cluster("s1") && !snap_cluster("e1") && !snap_cluster("e2"));
    CHECK(snap_meta(DP_RES_CLUSTER, "e1", DP_RES_WARMING) != NULL);
    CHECK(!dp_ads_initialized(a));
    CHECK_INT(dp_ads_next_deadline(a), 1000000 + 15000);

    SOTW(a, DP_TYPE_ENDPOINT, "e-1", "EA", cla("e1", 2));
    r = next_sreq();
    CHECK(r && strcmp(r->version_info, "e-1") == 0 && strcmp(r->response_nonce, "EA") == 0);
    CHECK(r && r->error_detail == NULL && names_are(r->resource_names, r->n_resource_names, "e1,svc2"));
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 2);
    CHECK(!snap_cluster("e2"));
    CHECK(snap_meta(DP_RES_CLUSTER, "e1", DP_RES_WARMING) == NULL);
    CHECK(snap_meta(DP_RES_ENDPOINT, "e1", DP_RES_ACKED) != NULL);
    CHECK_INT(pending(), 0);

    /* A CLA update re-translates the cluster; a bad CLA is NACKed. */
    SOTW(a, DP_TYPE_ENDPOINT, "e-2", "EB", cla("e1", 3),
         "cluster_name: svc2\nendpoints: [{priority: 1, lb_endpoints: []}]");
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "e-1") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "svc2: endpoints[0].priority: ");
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 3);
    CHECK(!snap_cluster("e2"));

    /* e2 leaves: the EDS subscription follows. */
    SOTW(a, DP_TYPE_CLUSTER, "2", "B", cluster_eds("e1", NULL), cluster_static("s1"));
    CHECK_INT(pending(), 2);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 && strcmp(r->version_info, "e-1") == 0 &&
          strcmp(r->response_nonce, "EB") == 0);
    CHECK(r && names_are(r->resource_names, r->n_resource_names, "e1"));
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 3); /* unchanged cluster kept endpoints */
    CHECK(snap_meta_count(DP_RES_ENDPOINT, "svc2") == 0);

    /* No EDS cluster left: unsubscribed (empty list) and the CLA dropped. */
    SOTW(a, DP_TYPE_CLUSTER, "3", "C", cluster_static("s1"));
    CHECK_INT(pending(), 2);
    r = next_sreq();
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 && r->n_resource_names == 0);
    CHECK(snap_meta_count(DP_RES_ENDPOINT, "e1") == 0 && !snap_cluster("e1"));
    dp_ads_free(a);
}

static void test_warming_timeout_and_previous(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    skip_requests();

    SOTW(a, DP_TYPE_LISTENER, "1", "L", listener_inline("l1", 10001));
    SOTW(a, DP_TYPE_CLUSTER, "1", "A", cluster_eds("w1", NULL));
    skip_requests();
    CHECK(!snap_cluster("w1"));
    CHECK_INT(dp_ads_next_deadline(a), 1000000 + 15000);
    F.now += 14999;
    dp_ads_on_tick(a);
    CHECK(!snap_cluster("w1"));
    CHECK(!dp_ads_initialized(a));
    F.now += 1;
    dp_ads_on_tick(a);
    CHECK(snap_cluster("w1") && snap_cluster("w1")->n_endpoints == 0);
    CHECK(snap_meta(DP_RES_CLUSTER, "w1", DP_RES_ACKED) != NULL);
    CHECK(dp_ads_initialized(a));
    CHECK_INT(dp_ads_next_deadline(a), UINT64_MAX);
    SOTW(a, DP_TYPE_ENDPOINT, "1", "E", cla("w1", 1));
    CHECK(snap_cluster("w1") && snap_cluster("w1")->n_endpoints == 1);

    /* A changed EDS cluster whose CLA is held does not warm. */
    SOTW(a, DP_TYPE_CLUSTER, "2", "B",
         "name: w1\ntype: EDS\nlb_policy: RANDOM\neds_cluster_config: {eds_config: {ads: {}}}");
    CHECK(snap_cluster("w1") && snap_cluster("w1")->lb_policy == DP_LB_RANDOM &&
          snap_cluster("w1")->n_endpoints == 1);
    /* Changed to another service: the old version serves while it warms,
     * with an initial_fetch_timeout of 2 s from its config source. */
    const dp_cluster_cfg_t *old = snap_cluster("w1");
    SOTW(a, DP_TYPE_CLUSTER, "3", "C",
         "name: w1\ntype: EDS\neds_cluster_config: {service_name: other, eds_config: {ads: {}, "
         "initial_fetch_timeout: 2s}}");
    CHECK(snap_cluster("w1") == old);
    CHECK(snap_meta(DP_RES_CLUSTER, "w1", DP_RES_WARMING) && snap_meta(DP_RES_CLUSTER, "w1", DP_RES_ACKED));
    CHECK_INT(dp_ads_next_deadline(a), F.now + 2000);
    F.now += 2000;
    dp_ads_on_tick(a);
    CHECK(snap_cluster("w1") != old && snap_cluster("w1")->n_endpoints == 0);
    CHECK_STR(snap_cluster("w1")->eds_service_name, "other");
    dp_ads_free(a);
}

static void test_listener_waits_for_rds(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_LISTENER, "1", "A", listener_rds("l1", 10001, "r1"));
    CHECK_INT(pending(), 2);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && r->error_detail == NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ROUTE) == 0 &&
          names_are(r->resource_names, r->n_resource_names, "r1"));
    CHECK(!snap_listener("l1"));
    CHECK(snap_meta(DP_RES_LISTENER, "l1", DP_RES_WARMING) != NULL);

    /* An unrequested route config is ignored. */
    SOTW(a, DP_TYPE_ROUTE, "1", "R", route("r1", "c1"), route("zz", "c1"));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "1") == 0);
    CHECK(snap_listener("l1") != NULL);
    CHECK(F.snap && dp_snapshot_find_route(F.snap, "r1") != NULL &&
          dp_snapshot_find_route(F.snap, "zz") == NULL);
    CHECK(snap_meta(DP_RES_LISTENER, "l1", DP_RES_WARMING) == NULL);
    CHECK(snap_meta(DP_RES_ROUTE, "r1", DP_RES_ACKED) != NULL);

    /* l1 moves to r2: the version on r1 keeps serving while it warms. */
    const dp_listener_cfg_t *old = snap_listener("l1");
    SOTW(a, DP_TYPE_LISTENER, "2", "B", listener_rds("l1", 10001, "r2"));
    CHECK_INT(pending(), 2);
    r = next_sreq();
    r = next_sreq();
    CHECK(r && names_are(r->resource_names, r->n_resource_names, "r1,r2") &&
          strcmp(r->version_info, "1") == 0 && strcmp(r->response_nonce, "R") == 0);
    CHECK(snap_listener("l1") == old);
    CHECK(snap_meta(DP_RES_LISTENER, "l1", DP_RES_WARMING) && snap_meta(DP_RES_LISTENER, "l1", DP_RES_ACKED));
    SOTW(a, DP_TYPE_ROUTE, "2", "R2", route("r1", "c1"), route("r2", "c2"));
    /* The ACK carries the interest after the update: r1 is no longer
     * referred to once l1 left it. */
    CHECK_INT(pending(), 1);
    r = next_sreq();
    CHECK(r && names_are(r->resource_names, r->n_resource_names, "r2") && strcmp(r->version_info, "2") == 0 &&
          strcmp(r->response_nonce, "R2") == 0 && r->error_detail == NULL);
    CHECK(snap_listener("l1") && snap_listener("l1") != old);
    CHECK(F.snap && dp_snapshot_find_route(F.snap, "r1") == NULL &&
          dp_snapshot_find_route(F.snap, "r2") != NULL);

    /* A bad route config: NACKed, the listener waiting for it keeps
     * waiting. */
    SOTW(a, DP_TYPE_LISTENER, "3", "C", listener_rds("l1", 10001, "r2"), listener_rds("l3", 10003, "r3"));
    skip_requests();
    SOTW(a, DP_TYPE_ROUTE, "3", "R3", route("r2", "c2"), "name: r3\nvirtual_hosts: [{name: vh, domains: []}]");
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "2") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "r3: virtual_hosts[0].domains");
    CHECK(!snap_listener("l3") && snap_meta(DP_RES_LISTENER, "l3", DP_RES_WARMING));
    CHECK(snap_meta(DP_RES_ROUTE, "r3", DP_RES_NACKED) != NULL);

    /* Its route config arrives but the listener cannot be bound: rejected
     * (admin sees it), the RDS response itself is ACKed. */
    F.fail_listener = "l3";
    SOTW(a, DP_TYPE_ROUTE, "4", "R4", route("r2", "c2"), route("r3", "c3"));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "4") == 0);
    CHECK(!snap_listener("l3") && snap_listener("l1"));
    const dp_res_meta_t *m = snap_meta(DP_RES_LISTENER, "l3", DP_RES_NACKED);
    CHECK(m && strstr(m->error_details, "cannot bind") != NULL);
    CHECK(snap_meta(DP_RES_LISTENER, "l3", DP_RES_WARMING) == NULL);
    F.fail_listener = NULL;
    skip_requests();

    /* RDS timeout: a listener takes traffic without its routes. */
    SOTW(a, DP_TYPE_LISTENER, "5", "D", listener_rds("l1", 10001, "r2"), listener_rds("l2", 10002, "r9"));
    skip_requests();
    CHECK(!snap_listener("l2"));
    F.now += 15000;
    dp_ads_on_tick(a);
    CHECK(snap_listener("l2") != NULL);
    dp_ads_free(a);
}

static void test_stream_restart(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_CLUSTER, "c7", "A", cluster_eds("e1", NULL));
    SOTW(a, DP_TYPE_ENDPOINT, "e3", "B", cla("e1", 1));
    SOTW(a, DP_TYPE_LISTENER, "l5", "C", listener_inline("l1", 10001));
    skip_requests();
    int commits = F.commits;
    dp_ads_stream_closed(a);
    CHECK(snap_cluster("e1") && snap_listener("l1")); /* nothing goes away */
    dp_ads_stream_start(a);
    CHECK_INT(F.commits, commits);
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && strcmp(r->version_info, "c7") == 0 &&
          strcmp(r->response_nonce, "") == 0 && r->node != NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 && strcmp(r->version_info, "e3") == 0 &&
          strcmp(r->response_nonce, "") == 0 && r->node == NULL);
    CHECK(r && names_are(r->resource_names, r->n_resource_names, "e1"));
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && strcmp(r->version_info, "l5") == 0 &&
          strcmp(r->response_nonce, "") == 0 && r->node == NULL);
    /* The server resends the same state: no change, no commit. */
    SOTW(a, DP_TYPE_CLUSTER, "c7", "X", cluster_eds("e1", NULL));
    r = next_sreq();
    CHECK(r && strcmp(r->response_nonce, "X") == 0 && r->error_detail == NULL);
    CHECK_INT(F.commits, commits);
    dp_ads_free(a);
}

static void test_delta(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, true);
    const dreq_t *r;
    Envoy__Service__Discovery__V3__Resource *res[4];

    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && r->node && strcmp(r->node->id, "n1") == 0);
    CHECK(r && r->n_resource_names_subscribe == 0 && r->n_initial_resource_versions == 0);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && r->node == NULL);

    res[0] = resource_new(DP_TYPE_CLUSTER, "e1", "a1", cluster_eds("e1", NULL), 0);
    res[1] = resource_new(DP_TYPE_CLUSTER, "s1", "b1", cluster_static("s1"), 0);
    delta_resp(a, DP_TYPE_CLUSTER, "N1", res, 2, NULL);
    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && strcmp(r->response_nonce, "N1") == 0 &&
          r->error_detail == NULL && r->n_resource_names_subscribe == 0);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 &&
          names_are(r->resource_names_subscribe, r->n_resource_names_subscribe, "e1") &&
          r->n_resource_names_unsubscribe == 0 && strcmp(r->response_nonce, "") == 0);
    CHECK(snap_cluster("s1") && !snap_cluster("e1"));
    const dp_res_meta_t *m = snap_meta(DP_RES_CLUSTER, "s1", DP_RES_ACKED);
    CHECK(m && strcmp(m->version, "b1") == 0);

    res[0] = resource_new(DP_TYPE_ENDPOINT, "e1", "x1", cla("e1", 2), 0);
    delta_resp(a, DP_TYPE_ENDPOINT, "N2", res, 1, NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->response_nonce, "N2") == 0 && r->error_detail == NULL);
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 2);
    m = snap_meta(DP_RES_ENDPOINT, "e1", DP_RES_ACKED);
    CHECK(m && strcmp(m->version, "x1") == 0);

    /* A second EDS cluster subscribes only its own name; a bad update
     * and a name mismatch are NACKed per resource. */
    res[0] = resource_new(DP_TYPE_CLUSTER, "e2", "a2", cluster_eds("e2", NULL), 0);
    res[1] = resource_new(DP_TYPE_CLUSTER, "s1", "b2", "name: s1\ntype: STATIC\nlb_policy: MAGLEV", 0);
    res[2] = resource_new(DP_TYPE_CLUSTER, "zz", "z1", cluster_static("yy"), 0);
    delta_resp(a, DP_TYPE_CLUSTER, "N3", res, 3, NULL);
    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->response_nonce, "N3") == 0 && r->error_detail != NULL);
    if (r && r->error_detail) {
        CHECK_HAS(r->error_detail->message, "s1: lb_policy: ");
        CHECK_HAS(r->error_detail->message, "zz: name: 'yy' differs");
    }
    r = next_dreq();
    CHECK(r && names_are(r->resource_names_subscribe, r->n_resource_names_subscribe, "e2") &&
          r->n_resource_names_unsubscribe == 0);
    m = snap_meta(DP_RES_CLUSTER, "s1", DP_RES_NACKED);
    CHECK(m && strcmp(m->version, "b1") == 0 && strcmp(m->error_version, "b2") == 0);

    /* removed_resources: e1 goes, its CLA is unsubscribed. */
    delta_resp(a, DP_TYPE_CLUSTER, "N4", res, 0, (const char *const[]){"e1", NULL});
    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->response_nonce, "N4") == 0 && r->error_detail == NULL);
    r = next_dreq();
    CHECK(r && r->n_resource_names_subscribe == 0 &&
          names_are(r->resource_names_unsubscribe, r->n_resource_names_unsubscribe, "e1"));
    CHECK(!snap_cluster("e1") && snap_cluster("s1"));
    CHECK(snap_meta_count(DP_RES_ENDPOINT, "e1") == 0);

    /* Reconnect: initial_resource_versions of what we hold. */
    dp_ads_stream_closed(a);
    dp_ads_stream_start(a);
    CHECK_INT(pending(), 3);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && r->node != NULL &&
          r->n_resource_names_subscribe == 0);
    if (r) {
        char buf[256] = "";
        size_t k = 0;
        for (size_t i = 0; i < r->n_initial_resource_versions; i++)
            k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s=%s;", r->initial_resource_versions[i]->key,
                                  r->initial_resource_versions[i]->value);
        CHECK_STR(buf, "e2=a2;s1=b1;");
        CHECK(strcmp(r->response_nonce, "") == 0);
    }
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 &&
          names_are(r->resource_names_subscribe, r->n_resource_names_subscribe, "e2") &&
          r->n_initial_resource_versions == 0);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    dp_ads_free(a);
}

static void test_ttl(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    Google__Protobuf__Any *anys[2];
    skip_requests();

    anys[0] = wrap(resource_new(DP_TYPE_CLUSTER, "t1", "", cluster_static("t1"), 10));
    anys[1] = any_yaml(DP_TYPE_CLUSTER, cluster_static("p1"));
    sotw_anys(a, DP_TYPE_CLUSTER, "1", "A", anys, 2);
    const sreq_t *r = next_sreq();
    CHECK(r && r->error_detail == NULL);
    CHECK(snap_cluster("t1") && snap_cluster("p1"));
    CHECK_INT(dp_ads_next_deadline(a), 1000000 + 10000);
    F.now += 9000;
    dp_ads_on_tick(a);
    CHECK(snap_cluster("t1") != NULL);
    /* Heartbeat: the name and a TTL, no resource. */
    anys[0] = wrap(resource_new(DP_TYPE_CLUSTER, "t1", "", NULL, 10));
    anys[1] = any_yaml(DP_TYPE_CLUSTER, cluster_static("p1"));
    int commits = F.commits;
    sotw_anys(a, DP_TYPE_CLUSTER, "1", "B", anys, 2);
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->response_nonce, "B") == 0);
    CHECK_INT(F.commits, commits); /* a heartbeat changes nothing */
    CHECK(snap_cluster("t1") != NULL);
    F.now += 6000;
    dp_ads_on_tick(a);
    CHECK(snap_cluster("t1") != NULL);
    F.now += 4000; /* 10 s after the heartbeat */
    dp_ads_on_tick(a);
    CHECK(snap_cluster("t1") == NULL && snap_cluster("p1") != NULL);
    CHECK(snap_meta_count(DP_RES_CLUSTER, "t1") == 0);
    CHECK_INT(dp_ads_next_deadline(a), UINT64_MAX);
    dp_ads_free(a);

    /* Delta: TTL on a CLA, then removal by expiry empties the cluster. */
    a = start(b, true);
    Envoy__Service__Discovery__V3__Resource *res[1];
    res[0] = resource_new(DP_TYPE_CLUSTER, "e1", "1", cluster_eds("e1", NULL), 0);
    delta_resp(a, DP_TYPE_CLUSTER, "N1", res, 1, NULL);
    res[0] = resource_new(DP_TYPE_ENDPOINT, "e1", "1", cla("e1", 2), 5);
    delta_resp(a, DP_TYPE_ENDPOINT, "N2", res, 1, NULL);
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 2);
    F.now += 5000;
    dp_ads_on_tick(a);
    CHECK(snap_cluster("e1") && snap_cluster("e1")->n_endpoints == 0);
    CHECK(snap_meta_count(DP_RES_ENDPOINT, "e1") == 0);
    dp_ads_free(a);
}

static void test_hostile(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    Google__Protobuf__Any *anys[4];
    skip_requests();

    /* Not a response at all. */
    static const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01};
    CHECK(dp_ads_on_response(a, garbage, sizeof(garbage)) < 0);
    CHECK_INT(pending(), 0);

    /* Unknown type URL: NACK naming it. */
    SOTW_EMPTY(a, "type.googleapis.com/envoy.config.core.v3.Secret", "1", "S");
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, "type.googleapis.com/envoy.config.core.v3.Secret") == 0 &&
          strcmp(r->response_nonce, "S") == 0 && r->error_detail != NULL);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message,
                  "unknown resource type 'type.googleapis.com/envoy.config.core.v3.Secret'");

    /* An empty response is fine (no clusters). */
    CHECK_INT(SOTW_EMPTY(a, DP_TYPE_CLUSTER, "", ""), 0);
    r = next_sreq();
    CHECK(r && r->error_detail == NULL);

    /* Wrong Any type, undecodable bytes, unknown field: each rejected; the
     * good one applied; nothing deleted since names are unknown. */
    SOTW(a, DP_TYPE_CLUSTER, "1", "A", cluster_static("k1"));
    skip_requests();
    uint8_t *bad = malloc(4);
    memcpy(bad, "\xff\xff\xff\xff", 4);
    anys[0] = any_yaml(DP_TYPE_LISTENER, listener_inline("l1", 1));
    anys[1] = any_new(DP_TYPE_CLUSTER, bad, 4);
    anys[2] = any_yaml(DP_TYPE_CLUSTER, cluster_static("k2"));
    uint8_t *unk = malloc(8);
    memcpy(unk, "\x0a\x02k3\xf8\x07\x01", 7); /* name: k3, field 127 */
    anys[3] = any_new(DP_TYPE_CLUSTER, unk, 7);
    sotw_anys(a, DP_TYPE_CLUSTER, "2", "B", anys, 4);
    r = next_sreq();
    CHECK(r && r->error_detail);
    if (r && r->error_detail) {
        CHECK_HAS(r->error_detail->message,
                  "resources[0]: type_url '" DP_TYPE_LISTENER "' is not the response's");
        CHECK_HAS(r->error_detail->message, "resources[1]: cannot decode");
        CHECK_HAS(r->error_detail->message, "k3: ");
        CHECK_HAS(r->error_detail->message, "127");
    }
    CHECK(snap_cluster("k1") && snap_cluster("k2"));
    CHECK(snap_meta(DP_RES_CLUSTER, "k3", DP_RES_NACKED) != NULL);

    /* Many bad resources: the message stays within 4 KiB. */
    const char *ys[129];
    for (int i = 0; i < 128; i++)
        ys[i] = Y("name: bad%03d\ntype: STATIC\nlb_policy: MAGLEV", i);
    ys[128] = NULL;
    sotw(a, DP_TYPE_CLUSTER, "3", "C", ys);
    r = next_sreq();
    CHECK(r && r->error_detail && strlen(r->error_detail->message) == 4095);
    if (r && r->error_detail) {
        const char *msg = r->error_detail->message;
        CHECK(strlen(msg) > 3 && strcmp(msg + strlen(msg) - 3, "...") == 0);
        CHECK_HAS(msg, "bad000: lb_policy");
    }

    CHECK(!snap_cluster("k1") && !snap_cluster("bad000")); /* SotW: k1 was not in it */
    SOTW(a, DP_TYPE_CLUSTER, "5", "E", cluster_static("k1"), cluster_static("k2"));
    skip_requests();

    /* A name that is not UTF-8 is echoed as valid UTF-8 (the server
     * must be able to decode our NACK). */
    uint8_t *nu = malloc(8);
    memcpy(nu, "\x0a\x04" "bad\xff" "\x10\x02", 8); /* name: "bad\xff", type: LOGICAL_DNS */
    anys[0] = any_new(DP_TYPE_CLUSTER, nu, 8);
    anys[1] = any_yaml(DP_TYPE_CLUSTER, cluster_static("k1"));
    anys[2] = any_yaml(DP_TYPE_CLUSTER, cluster_static("k2"));
    sotw_anys(a, DP_TYPE_CLUSTER, "6", "F", anys, 3);
    r = next_sreq();
    CHECK(r && r->error_detail);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "bad?: type: LOGICAL_DNS");

    /* Heartbeat without a name, Resource wrapper that does not decode. */
    anys[0] = wrap(resource_new(DP_TYPE_CLUSTER, "", "", NULL, 1));
    bad = malloc(3);
    memcpy(bad, "\x12\xff\x01", 3);
    anys[1] = any_new("type.googleapis.com/envoy.service.discovery.v3.Resource", bad, 3);
    sotw_anys(a, DP_TYPE_CLUSTER, "4", "D", anys, 2);
    r = next_sreq();
    CHECK(r && r->error_detail);
    CHECK(snap_cluster("k1") && snap_cluster("k2")); /* unnamed: nothing deleted */

    /* LDS is not configured in this bootstrap: NACKed. */
    dp_ads_free(a);
    dp_bootstrap_t *b2 = boot_from_yaml(BOOT_HEAD BOOT_CDS "static_resources:\n  clusters:\n" XDS_CLUSTER);
    CHECK(b2 != NULL);
    if (b2) {
        a = start(b2, false);
        CHECK_INT(pending(), 1);
        skip_requests();
        SOTW(a, DP_TYPE_LISTENER, "1", "L", listener_inline("l1", 10001));
        r = next_sreq();
        CHECK(r && r->error_detail && !snap_listener("l1"));
        dp_ads_free(a);
        dp_bootstrap_free(b2);
    }
}


/* The container catalogue: subscribed once a listener runs the container
 * routing filter; containers go straight to the catalogue (no snapshot
 * commit), invalid ones are NACKed naming the field, removals drop them. */
#define CONTAINERS_FILTER                                                                                      \
    "{name: dataplane.filters.http.containers, typed_config: {'@type': "                                      \
    "type.googleapis.com/dataplane.containers.v1.ContainerRouting, base_domains: [c.example.test], node: n1, " \
    "catalogue: {ads: {}}}}"
#define CT1 "64a1f0c2e4b5d6a7b8c9d0f1"
#define CT2 "64a1f0c2e4b5d6a7b8c9d0f2"
#define PR1 "64a1f0c2e4b5d6a7b8c9d0e1"

static const char *container_yaml(const char *id, const char *addr)
{
    return Y("id: %s\nproject: " PR1 "\nstate: RUNNING\naddresses: ['%s']\nservices: [{name: web, port: 8080}]\n"
             "aliases: [{name: shop-%s, service: web}]",
             id, addr, id + 20);
}

static void test_catalogue(void)
{
    dp_bootstrap_t *b = boot_from_yaml(BOOT_HEAD BOOT_LDS BOOT_CDS "static_resources:\n  clusters:\n" XDS_CLUSTER);
    dp_ads_t *a = start(b, true);
    const dreq_t *r;
    Envoy__Service__Discovery__V3__Resource *res[4];

    skip_requests(); /* CDS, LDS */
    CHECK_INT(pending(), 0);
    /* a listener with the filter: the catalogue types are subscribed */
    res[0] = resource_new(DP_TYPE_LISTENER, "l1", "1",
                          Y("name: l1\naddress: {socket_address: {address: 127.0.0.1, port_value: 1}}\n"
                            "filter_chains: [{filters: [{name: hcm, typed_config: {'@type': " HCM_URL
                            ", stat_prefix: s, http_filters: [" CONTAINERS_FILTER ", " ROUTER
                            "], route_config: {virtual_hosts: [{name: all, domains: ['*'], routes: "
                            "[{match: {prefix: /}, route: {cluster: c}}]}]}}}]}]"),
                          0);
    delta_resp(a, DP_TYPE_LISTENER, "L1", res, 1, NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && r->error_detail == NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_PROJECT) == 0 && r->n_resource_names_subscribe == 0);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CONTAINER) == 0 && r->n_resource_names_subscribe == 0);
    CHECK_INT(pending(), 0);

    int commits = F.commits;
    res[0] = resource_new(DP_TYPE_CONTAINER, CT1, "c1", container_yaml(CT1, "10.0.0.1"), 0);
    res[1] = resource_new(DP_TYPE_CONTAINER, CT2, "c1", container_yaml(CT2, "10.0.0.999"), 0);
    delta_resp(a, DP_TYPE_CONTAINER, "C1", res, 2, NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->response_nonce, "C1") == 0 && r->error_detail != NULL);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, CT2 ": addresses[0]: '10.0.0.999' is not an IP address");
    const dp_container_t *c = dp_catalogue_container(CT1, 24);
    CHECK(c && c->running && c->n_addrs == 1 && dp_container_port(c, "web", 3) == 8080);
    CHECK(dp_catalogue_container(CT2, 24) == NULL);
    CHECK(dp_catalogue_alias("shop-d0f1", 9) != NULL);
    CHECK_INT(F.commits, commits + 1); /* the NACK marks the meta, the catalogue itself commits nothing */
    commits = F.commits;

    /* an unknown field of our own type is refused by name too */
    res[0] = resource_new(DP_TYPE_CONTAINER, CT1, "c2", container_yaml(CT1, "10.0.0.2"), 0);
    delta_resp(a, DP_TYPE_CONTAINER, "C2", res, 1, NULL);
    r = next_dreq();
    CHECK(r && r->error_detail == NULL);
    CHECK(dp_catalogue_container(CT1, 24)->addrs[0].in.sin_addr.s_addr == htonl(0x0a000002));
    CHECK_INT(F.commits, commits);

    /* removal */
    const char *gone[] = {CT1, NULL};
    delta_resp(a, DP_TYPE_CONTAINER, "C3", NULL, 0, gone);
    r = next_dreq();
    CHECK(r && r->error_detail == NULL);
    CHECK(dp_catalogue_container(CT1, 24) == NULL && dp_catalogue_alias("shop-d0f1", 9) == NULL);
    CHECK_INT(F.commits, commits);

    /* a new stream resubscribes with the versions held */
    res[0] = resource_new(DP_TYPE_CONTAINER, CT1, "c4", container_yaml(CT1, "10.0.0.4"), 0);
    delta_resp(a, DP_TYPE_CONTAINER, "C4", res, 1, NULL);
    skip_requests();
    dp_ads_stream_closed(a);
    dp_ads_stream_start(a);
    bool seen = false;
    while ((r = next_dreq()) != NULL) {
        if (strcmp(r->type_url, DP_TYPE_CONTAINER) != 0)
            continue;
        seen = r->n_initial_resource_versions == 1 &&
               strcmp(r->initial_resource_versions[0]->key, CT1) == 0 &&
               strcmp(r->initial_resource_versions[0]->value, "c4") == 0;
    }
    CHECK(seen);
    delta_resp(a, DP_TYPE_CONTAINER, "C5", NULL, 0, gone);
    dp_ads_free(a);
    dp_bootstrap_free(b);
}

static void test_static_eds(void)
{
    dp_bootstrap_t *b =
        boot_from_yaml(BOOT_HEAD BOOT_LDS BOOT_CDS
                  "static_resources:\n  clusters:\n" XDS_CLUSTER "  - name: se\n    type: EDS\n"
                  "    eds_cluster_config: {eds_config: {ads: {}, resource_api_version: V3}}\n");
    CHECK(b != NULL);
    if (b == NULL)
        return;
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 &&
          names_are(r->resource_names, r->n_resource_names, "se"));
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    SOTW(a, DP_TYPE_ENDPOINT, "1", "E", cla("se", 2));
    CHECK(snap_cluster("se") && snap_cluster("se")->n_endpoints == 2);
    const dp_res_meta_t *m = NULL;
    for (size_t i = 0; F.snap && i < F.snap->n_meta; i++)
        if (F.snap->meta[i].is_static && strcmp(F.snap->meta[i].name, "se") == 0)
            m = &F.snap->meta[i];
    CHECK(m != NULL);

    /* SIGHUP: a new static base without `se`. */
    dp_bootstrap_t *b2 = boot_default();
    char err[256];
    skip_requests();
    CHECK_INT(dp_ads_set_static(a, b2->snap, err, sizeof(err)), 0);
    CHECK(!snap_cluster("se") && snap_cluster("xds"));
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 && r->n_resource_names == 0);
    dp_ads_free(a);
    dp_bootstrap_free(b2);
    dp_bootstrap_free(b);
}


/* A listener of several chains waits for every chain's route config. */
static void test_chains_rds(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    SOTW_EMPTY(a, DP_TYPE_CLUSTER, "0", "C0");
    skip_requests();

#define CHAIN(sni, rds)                                                                                      \
    "{filter_chain_match: {server_names: [" sni "]}, filters: [{name: hcm, typed_config: {'@type': " HCM_URL \
    ", stat_prefix: s, http_filters: [" ROUTER "], rds: {route_config_name: " rds ", config_source: {ads: "   \
    "{}}}}}]}"
    SOTW(a, DP_TYPE_LISTENER, "1", "A",
         "name: lc\naddress: {socket_address: {address: 127.0.0.1, port_value: 10001}}\n"
         "filter_chains: [" CHAIN("a.test", "ra") ", " CHAIN("b.test", "rb") "]\n"
         "default_filter_chain: {filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: d, "
         "http_filters: [" ROUTER "], rds: {route_config_name: rd, config_source: {ads: {}}}}}]}");
#undef CHAIN
    CHECK_INT(pending(), 2);
    r = next_sreq();
    CHECK(r && r->error_detail == NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ROUTE) == 0 && names_are(r->resource_names, r->n_resource_names, "ra,rb,rd"));
    SOTW(a, DP_TYPE_ROUTE, "1", "R1", route("ra", "c"), route("rd", "c"));
    skip_requests();
    CHECK(!snap_listener("lc") && snap_meta(DP_RES_LISTENER, "lc", DP_RES_WARMING));
    SOTW(a, DP_TYPE_ROUTE, "2", "R2", route("ra", "c"), route("rb", "c"), route("rd", "c"));
    skip_requests();
    const dp_listener_cfg_t *l = snap_listener("lc");
    CHECK(l && l->n_chains == 2 && l->default_chain != NULL);
    dp_ads_free(a);
}

/* ---- SDS ------------------------------------------------------------------------------ */

static const char *secret_cert(const char *name, const char *pem, const char *key)
{
    return Y("name: %s\ntls_certificate: {certificate_chain: {inline_string: %s}, private_key: {inline_string: %s}}",
             name, y_pem(pem), y_pem(key));
}

static const char *secret_ca(const char *name, const char *pem)
{
    return Y("name: %s\nvalidation_context: {trusted_ca: {inline_string: %s}}", name, y_pem(pem));
}

#define DTLS_URL "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext"
#define UTLS_URL "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext"
#define INLINE_ROUTES                                                                                        \
    "route_config: {virtual_hosts: [{name: all, domains: ['*'], routes: [{match: {prefix: /}, route: "       \
    "{cluster: c}}]}]}"

/* A listener with one TLS chain whose certificate is SDS secret `secret`
 * (initial_fetch_timeout `timeout`), routes from RDS `rds` or inline. */
static const char *listener_tls(const char *name, int port, const char *secret, const char *timeout,
                                const char *rds)
{
    const char *routes =
        rds ? Y("rds: {route_config_name: %s, config_source: {ads: {}, resource_api_version: V3}}", rds)
            : INLINE_ROUTES;
    return Y("name: %s\naddress: {socket_address: {address: 127.0.0.1, port_value: %d}}\n"
             "filter_chains: [{filter_chain_match: {server_names: [a.test]}, transport_socket: {name: "
             "envoy.transport_sockets.tls, typed_config: {'@type': " DTLS_URL ", common_tls_context: "
             "{tls_certificate_sds_secret_configs: [{name: %s, sds_config: {ads: {}, initial_fetch_timeout: %s}}]}}}, "
             "filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: s, "
             "http_filters: [" ROUTER "], %s}}]}]",
             name, port, secret, timeout, routes);
}

static const dp_res_meta_t *snap_secret_meta(const char *name)
{
    for (size_t i = 0; F.snap && i < F.snap->n_meta; i++)
        if (F.snap->meta[i].type == DP_RES_SECRET && strcmp(F.snap->meta[i].name, name) == 0)
            return &F.snap->meta[i];
    return NULL;
}

/* The secret's meta holds it without its private key. */
static bool meta_redacted(const dp_res_meta_t *m)
{
    Envoy__Extensions__TransportSockets__Tls__V3__Secret *s =
        m ? envoy__extensions__transport_sockets__tls__v3__secret__unpack(NULL, m->raw.len, m->raw.data) : NULL;
    bool ok = s && s->tls_certificate && strcmp(s->tls_certificate->private_key->inline_string, "[redacted]") == 0 &&
              strstr(s->tls_certificate->certificate_chain->inline_string, "BEGIN CERTIFICATE") != NULL;
    if (s)
        envoy__extensions__transport_sockets__tls__v3__secret__free_unpacked(s, NULL);
    return ok;
}

static const dp_tls_ctx_t *chain_tls(const dp_listener_cfg_t *l)
{
    return l && l->n_chains ? l->chains[0].tls : NULL;
}

static void test_sds_sotw(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    SOTW_EMPTY(a, DP_TYPE_CLUSTER, "0", "C0");
    skip_requests();

    /* A listener waits for its route config and its certificate. */
    SOTW(a, DP_TYPE_LISTENER, "1", "A", listener_tls("lt", 10443, "cert1", "20s", "r1"));
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && r->error_detail == NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ROUTE) == 0 && names_are(r->resource_names, r->n_resource_names, "r1"));
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && strcmp(r->version_info, "") == 0 &&
          names_are(r->resource_names, r->n_resource_names, "cert1"));
    CHECK(!snap_listener("lt") && snap_meta(DP_RES_LISTENER, "lt", DP_RES_WARMING));
    /* it warms for the longest initial_fetch_timeout of the two */
    SOTW(a, DP_TYPE_ROUTE, "r-1", "R", route("r1", "c1"));
    skip_requests();
    F.now += 15000;
    dp_ads_on_tick(a);
    CHECK(!snap_listener("lt"));
    CHECK(!dp_ads_initialized(a));

    /* The secret: ACKed, the listener takes traffic with it. */
    SOTW(a, DP_TYPE_SECRET, "s-1", "S1", secret_cert("cert1", SRV_PEM, SRV_KEY));
    CHECK_INT(pending(), 1);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && strcmp(r->version_info, "s-1") == 0 &&
          strcmp(r->response_nonce, "S1") == 0 && r->error_detail == NULL &&
          names_are(r->resource_names, r->n_resource_names, "cert1"));
    const dp_listener_cfg_t *l1 = snap_listener("lt");
    CHECK(l1 && chain_tls(l1) != NULL && l1->any_tls);
    CHECK(l1 && l1->chains[0].n_sds_names == 1 && strcmp(l1->chains[0].sds_names[0], "cert1") == 0);
    CHECK(snap_meta(DP_RES_LISTENER, "lt", DP_RES_WARMING) == NULL);
    const dp_res_meta_t *m = snap_secret_meta("cert1");
    CHECK(m && m->status == DP_RES_ACKED && strcmp(m->version, "s-1") == 0 && !m->is_static);
    CHECK(meta_redacted(m));
    CHECK(dp_ads_initialized(a));
    CHECK_STR(dp_ads_version(a, DP_RES_SECRET), "s-1");

    /* Rotation: a new listener config with a new context; the snapshot a
     * connection holds keeps the old one, intact. */
    dp_snapshot_t *held = dp_snapshot_ref(F.snap);
    const dp_tls_ctx_t *old_tls = chain_tls(l1);
    SOTW(a, DP_TYPE_SECRET, "s-2", "S2", secret_cert("cert1", SRV2_PEM, SRV2_KEY));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "s-2") == 0);
    const dp_listener_cfg_t *l2 = snap_listener("lt");
    CHECK(l2 && l2 != l1 && chain_tls(l2) != NULL && chain_tls(l2) != old_tls);
    CHECK(chain_tls(l1) == old_tls && l1->refcnt >= 1); /* still held */
    CHECK(strcmp(l2->addr_str, l1->addr_str) == 0);
    dp_snapshot_unref(held);
    m = snap_secret_meta("cert1");
    CHECK(m && strcmp(m->version, "s-2") == 0);

    /* A bad secret is NACKed; the last good one and the listener stay. */
    int commits = F.commits;
    SOTW(a, DP_TYPE_SECRET, "s-3", "S3", secret_cert("cert1", SRV_PEM, OTHER_KEY));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "s-2") == 0 && strcmp(r->response_nonce, "S3") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "cert1: tls_certificate: private key does not match the certificate");
    CHECK(snap_listener("lt") == l2);
    m = snap_secret_meta("cert1");
    CHECK(m && m->status == DP_RES_NACKED && strcmp(m->version, "s-2") == 0 && strcmp(m->error_version, "s-3") == 0);
    CHECK(meta_redacted(m));
    CHECK_INT(F.commits, commits + 1); /* the meta changed, nothing else */
    CHECK(snap_listener("lt") == l2);
    /* Valid alone, but not what the listener needs: NACKed, naming it. */
    SOTW(a, DP_TYPE_SECRET, "s-4", "S4", secret_ca("cert1", CA_PEM));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "s-2") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message,
                  "cert1: listener 'lt': filter_chains[0].transport_socket.typed_config.common_tls_context"
                  ".tls_certificate_sds_secret_configs[0]: secret 'cert1' holds validation_context, not a "
                  "tls_certificate");
    CHECK(snap_listener("lt") == l2);
    /* The good one again (and one nobody asked for, ignored). */
    SOTW(a, DP_TYPE_SECRET, "s-5", "S5", secret_cert("cert1", SRV2_PEM, SRV2_KEY), secret_ca("zz", CA_PEM));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL && strcmp(r->version_info, "s-5") == 0);
    CHECK(snap_listener("lt") == l2);
    CHECK(snap_secret_meta("zz") == NULL);
    m = snap_secret_meta("cert1");
    CHECK(m && m->status == DP_RES_ACKED);

    /* The listener goes: its secret is unsubscribed and dropped. */
    SOTW_EMPTY(a, DP_TYPE_LISTENER, "2", "B");
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ROUTE) == 0 && r->n_resource_names == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && r->n_resource_names == 0 &&
          strcmp(r->version_info, "s-5") == 0 && strcmp(r->response_nonce, "S5") == 0);
    CHECK(snap_secret_meta("cert1") == NULL && !snap_listener("lt"));
    dp_ads_free(a);
}

static void test_sds_timeout(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    SOTW_EMPTY(a, DP_TYPE_CLUSTER, "0", "C0");
    skip_requests();

    SOTW(a, DP_TYPE_LISTENER, "1", "A", listener_tls("late", 10443, "later", "2s", NULL));
    skip_requests();
    CHECK(!snap_listener("late") && !dp_ads_initialized(a));
    CHECK_INT(dp_ads_next_deadline(a), F.now + 2000);
    F.now += 2000;
    dp_ads_on_tick(a);
    /* Envoy's rule: in force without it; the chain is not ready (no
     * context, its secret named) and must refuse connections */
    const dp_listener_cfg_t *l = snap_listener("late");
    CHECK(l && l->any_tls && chain_tls(l) == NULL && l->chains[0].n_sds_names == 1);
    CHECK(dp_ads_initialized(a));
    SOTW(a, DP_TYPE_SECRET, "1", "S", secret_cert("later", SRV_PEM, SRV_KEY));
    const sreq_t *r = next_sreq();
    CHECK(r && r->error_detail == NULL);
    const dp_listener_cfg_t *l2 = snap_listener("late");
    CHECK(l2 && l2 != l && chain_tls(l2) != NULL);
    dp_ads_free(a);
}

static void test_sds_delta(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, true);
    const dreq_t *r;
    Envoy__Service__Discovery__V3__Resource *res[2];
    skip_requests();

    res[0] = resource_new(DP_TYPE_LISTENER, "lt", "v1", listener_tls("lt", 10443, "cert1", "15s", NULL), 0);
    delta_resp(a, DP_TYPE_LISTENER, "N1", res, 1, NULL);
    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0 && r->error_detail == NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 &&
          names_are(r->resource_names_subscribe, r->n_resource_names_subscribe, "cert1") &&
          r->n_resource_names_unsubscribe == 0);
    CHECK(!snap_listener("lt"));

    res[0] = resource_new(DP_TYPE_SECRET, "cert1", "k1", secret_cert("cert1", SRV_PEM, SRV_KEY), 0);
    delta_resp(a, DP_TYPE_SECRET, "N2", res, 1, NULL);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && strcmp(r->response_nonce, "N2") == 0 &&
          r->error_detail == NULL);
    const dp_listener_cfg_t *l1 = snap_listener("lt");
    CHECK(l1 && chain_tls(l1) != NULL);
    const dp_res_meta_t *m = snap_secret_meta("cert1");
    CHECK(m && strcmp(m->version, "k1") == 0 && meta_redacted(m));

    /* rotation */
    res[0] = resource_new(DP_TYPE_SECRET, "cert1", "k2", secret_cert("cert1", SRV2_PEM, SRV2_KEY), 0);
    delta_resp(a, DP_TYPE_SECRET, "N3", res, 1, NULL);
    r = next_dreq();
    CHECK(r && r->error_detail == NULL);
    const dp_listener_cfg_t *l2 = snap_listener("lt");
    CHECK(l2 && l2 != l1 && chain_tls(l2) != NULL);

    /* a bad one: NACKed, the last good one stays */
    res[0] = resource_new(DP_TYPE_SECRET, "cert1", "k3", secret_cert("cert1", SRV2_PEM, OTHER_KEY), 0);
    delta_resp(a, DP_TYPE_SECRET, "N4", res, 1, NULL);
    r = next_dreq();
    CHECK(r && r->error_detail && strcmp(r->response_nonce, "N4") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "cert1: tls_certificate: private key does not match");
    CHECK(snap_listener("lt") == l2);
    m = snap_secret_meta("cert1");
    CHECK(m && m->status == DP_RES_NACKED && strcmp(m->version, "k2") == 0 && strcmp(m->error_version, "k3") == 0);

    /* reconnect: what we hold is announced */
    dp_ads_stream_closed(a);
    dp_ads_stream_start(a);
    const dreq_t *sds = NULL;
    while (pending()) {
        r = next_dreq();
        if (r && strcmp(r->type_url, DP_TYPE_SECRET) == 0)
            sds = r;
    }
    CHECK(sds && names_are(sds->resource_names_subscribe, sds->n_resource_names_subscribe, "cert1") &&
          sds->n_initial_resource_versions == 1 &&
          strcmp(sds->initial_resource_versions[0]->value, "k2") == 0);

    /* the secret removed: the listener keeps the context it has */
    delta_resp(a, DP_TYPE_SECRET, "N5", res, 0, (const char *const[]){"cert1", NULL});
    skip_requests();
    CHECK(snap_listener("lt") == l2 && chain_tls(l2) != NULL);
    /* the listener removed: the secret is unsubscribed */
    delta_resp(a, DP_TYPE_LISTENER, "N6", res, 0, (const char *const[]){"lt", NULL});
    CHECK_INT(pending(), 2);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    r = next_dreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && r->n_resource_names_subscribe == 0 &&
          names_are(r->resource_names_unsubscribe, r->n_resource_names_unsubscribe, "cert1"));
    CHECK(!snap_listener("lt"));
    dp_ads_free(a);
}

static void test_sds_cluster(dp_bootstrap_t *b)
{
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    skip_requests();

    SOTW(a, DP_TYPE_CLUSTER, "1", "A",
         Y("name: ct\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}\ntransport_socket: {name: "
           "envoy.transport_sockets.tls, typed_config: {'@type': " UTLS_URL ", sni: api.node-us.example.test, "
           "common_tls_context: {validation_context_sds_secret_config: {name: ca1, sds_config: {ads: {}}}}}}"));
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0 && r->error_detail == NULL);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_ENDPOINT) == 0 && names_are(r->resource_names, r->n_resource_names, "ct"));
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && names_are(r->resource_names, r->n_resource_names, "ca1"));
    SOTW(a, DP_TYPE_ENDPOINT, "e-1", "E", cla("ct", 2));
    skip_requests();
    CHECK(!snap_cluster("ct")); /* the CA is missing still */
    SOTW(a, DP_TYPE_SECRET, "s-1", "S", secret_ca("ca1", CA_PEM));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL);
    const dp_cluster_cfg_t *c1 = snap_cluster("ct");
    CHECK(c1 && c1->tls != NULL && c1->n_endpoints == 2 && c1->n_sds_names == 1);
    if (c1)
        CHECK_STR(c1->tls_sni, "api.node-us.example.test");
    const dp_tls_ctx_t *tls1 = c1 ? c1->tls : NULL; /* c1 goes with the next snapshot */
    /* the CA rotates: endpoints stay */
    SOTW(a, DP_TYPE_SECRET, "s-2", "S2", secret_ca("ca1", SRV2_PEM));
    skip_requests();
    const dp_cluster_cfg_t *c2 = snap_cluster("ct");
    CHECK(c2 && c2 != c1 && c2->tls != NULL && c2->tls != tls1 && c2->n_endpoints == 2);
    /* new endpoints: the context stays built */
    SOTW(a, DP_TYPE_ENDPOINT, "e-2", "E2", cla("ct", 3));
    skip_requests();
    const dp_cluster_cfg_t *c3 = snap_cluster("ct");
    CHECK(c3 && c3->tls != NULL && c3->n_endpoints == 3);
    /* a certificate where a CA is expected: NACKed naming the cluster */
    SOTW(a, DP_TYPE_SECRET, "s-3", "S3", secret_cert("ca1", SRV_PEM, SRV_KEY));
    r = next_sreq();
    CHECK(r && r->error_detail && strcmp(r->version_info, "s-2") == 0);
    if (r && r->error_detail)
        CHECK_HAS(r->error_detail->message, "ca1: cluster 'ct': transport_socket.typed_config.common_tls_context"
                                            ".validation_context_sds_secret_config: secret 'ca1' holds "
                                            "tls_certificate, not a validation_context");
    CHECK(snap_cluster("ct") == c3);

    /* Its CLA comes, its secret never: at the timeout it is in force with
     * its endpoints and without a context (not ready). */
    SOTW(a, DP_TYPE_CLUSTER, "2", "B",
         Y("name: ct\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}\ntransport_socket: {name: "
           "envoy.transport_sockets.tls, typed_config: {'@type': " UTLS_URL ", sni: api.node-us.example.test, "
           "common_tls_context: {validation_context_sds_secret_config: {name: ca1, sds_config: {ads: {}}}}}}"),
         Y("name: cw\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}, initial_fetch_timeout: 1s}}\n"
           "transport_socket: {typed_config: {'@type': " UTLS_URL ", common_tls_context: "
           "{validation_context_sds_secret_config: {name: never, sds_config: {ads: {}, initial_fetch_timeout: "
           "1s}}}}}"));
    skip_requests();
    SOTW(a, DP_TYPE_ENDPOINT, "e-3", "E3", cla("ct", 3), cla("cw", 2));
    skip_requests();
    CHECK(!snap_cluster("cw"));
    F.now += 1000;
    dp_ads_on_tick(a);
    const dp_cluster_cfg_t *cw = snap_cluster("cw");
    CHECK(cw && cw->n_endpoints == 2 && cw->tls == NULL && cw->n_sds_names == 1);
    dp_ads_free(a);
}

/* A static listener whose certificate comes over SDS, next to a static
 * secret. */
static void test_static_sds(void)
{
    dp_bootstrap_t *b = boot_from_yaml(Y(
        BOOT_HEAD BOOT_LDS BOOT_CDS "static_resources:\n"
        "  secrets:\n"
        "  - name: fixed\n"
        "    tls_certificate: {certificate_chain: {inline_string: %s}, private_key: {inline_string: %s}}\n"
        "  clusters:\n" XDS_CLUSTER "  listeners:\n"
        "  - name: sl\n"
        "    address: {socket_address: {address: 127.0.0.1, port_value: 10443}}\n"
        "    filter_chains:\n"
        "    - filter_chain_match: {server_names: [fixed.test]}\n"
        "      transport_socket: {name: envoy.transport_sockets.tls, typed_config: {'@type': " DTLS_URL
        ", common_tls_context: {tls_certificate_sds_secret_configs: [{name: fixed}]}}}\n"
        "      filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: a, http_filters: [" ROUTER
        "], " INLINE_ROUTES "}}]\n"
        "    - filter_chain_match: {server_names: [sds.test]}\n"
        "      transport_socket: {name: envoy.transport_sockets.tls, typed_config: {'@type': " DTLS_URL
        ", common_tls_context: {tls_certificate_sds_secret_configs: [{name: scert, sds_config: {ads: {}}}]}}}\n"
        "      filters: [{name: hcm, typed_config: {'@type': " HCM_URL ", stat_prefix: b, http_filters: [" ROUTER
        "], " INLINE_ROUTES "}}]\n",
        y_pem(SRV_PEM), y_pem(SRV_KEY)));
    CHECK(b != NULL);
    if (b == NULL)
        return;
    CHECK(b->snap->n_listeners == 1 && b->snap->listeners[0]->chains[0].tls != NULL &&
          b->snap->listeners[0]->chains[1].tls == NULL);
    dp_ads_t *a = start(b, false);
    const sreq_t *r;
    CHECK_INT(pending(), 3);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_CLUSTER) == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_LISTENER) == 0);
    r = next_sreq();
    CHECK(r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && names_are(r->resource_names, r->n_resource_names, "scert"));
    SOTW(a, DP_TYPE_SECRET, "1", "S", secret_cert("scert", SRV2_PEM, SRV2_KEY));
    r = next_sreq();
    CHECK(r && r->error_detail == NULL);
    const dp_listener_cfg_t *l = snap_listener("sl");
    CHECK(l && l != b->snap->listeners[0] && l->chains[0].tls != NULL && l->chains[1].tls != NULL);
    /* the static secret is not an SDS one: an SDS secret of that name is
     * not asked for, and not taken */
    SOTW(a, DP_TYPE_SECRET, "2", "S2", secret_cert("scert", SRV_PEM, SRV_KEY), secret_cert("fixed", SRV2_PEM, SRV2_KEY));
    skip_requests();
    CHECK(snap_secret_meta("fixed") == NULL || snap_secret_meta("fixed")->is_static);
    const dp_listener_cfg_t *l2 = snap_listener("sl");
    CHECK(l2 && l2 != l && l2->chains[1].tls != NULL);

    /* SIGHUP without that listener: SDS unsubscribed */
    dp_bootstrap_t *b2 = boot_default();
    char err[256];
    CHECK_INT(dp_ads_set_static(a, b2->snap, err, sizeof(err)), 0);
    CHECK(!snap_listener("sl"));
    bool unsub = false;
    while (pending()) {
        r = next_sreq();
        if (r && strcmp(r->type_url, DP_TYPE_SECRET) == 0 && r->n_resource_names == 0)
            unsub = true;
    }
    CHECK(unsub);
    dp_ads_free(a);
    dp_bootstrap_free(b2);
    dp_bootstrap_free(b);
}

int main(void)
{
    dp_bootstrap_t *b = boot_default();
    CHECK(b != NULL);
    if (b == NULL)
        TEST_DONE();
    test_node_and_order(b);
    test_ack_partial_nack(b);
    test_duplicates_and_static(b);
    test_lds_deletion_and_bind(b);
    test_eds_subscriptions_and_warming(b);
    test_warming_timeout_and_previous(b);
    test_listener_waits_for_rds(b);
    test_stream_restart(b);
    test_delta(b);
    test_ttl(b);
    test_hostile(b);
    test_static_eds();
    test_chains_rds(b);
    test_sds_sotw(b);
    test_sds_timeout(b);
    test_sds_delta(b);
    test_sds_cluster(b);
    test_static_sds();
    test_catalogue();
    dp_bootstrap_free(b);
    fake_reset(false);
    y_free();
    TEST_DONE();
}
