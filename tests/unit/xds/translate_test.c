/* Translators: Envoy resources written as YAML (decoded with the type
 * registry, packed, then decoded again with dp_resource_decode as xDS
 * would) -> internal configs, with Envoy's defaults and errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <unistd.h>

#include "dataplane/http/route.h"
#include "dataplane/upstream/cluster.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "test.h"
#include "xds/pbjson.h"
#include "xds/translate.h"
#include "xds/typereg.h"

static char err[2048];

static const ProtobufCMessageDescriptor *desc_of(dp_res_type_t t)
{
    switch (t) {
    case DP_RES_LISTENER:
        return &envoy__config__listener__v3__listener__descriptor;
    case DP_RES_ROUTE:
        return &envoy__config__route__v3__route_configuration__descriptor;
    case DP_RES_CLUSTER:
        return &envoy__config__cluster__v3__cluster__descriptor;
    default:
        return &envoy__config__endpoint__v3__cluster_load_assignment__descriptor;
    }
}

static ProtobufCMessage *from_yaml(const ProtobufCMessageDescriptor *d, const char *yaml)
{
    dp_pbjson_opts_t o = {.resolver = dp_typereg_lookup, .flags = 0};
    ProtobufCMessage *m = NULL;
    char e[1024];
    if (dp_pbjson_decode_text(yaml, strlen(yaml), d, &o, &m, "test", e, sizeof(e)) != 0) {
        fprintf(stderr, "test YAML does not decode: %s\n", e);
        return NULL;
    }
    return m;
}

static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(m);
    uint8_t *buf = malloc(*len + 1);
    protobuf_c_message_pack(m, buf);
    return buf;
}

/* YAML -> message -> bytes -> dp_resource_decode: the xDS path. */
static ProtobufCMessage *res(dp_res_type_t t, const char *yaml)
{
    ProtobufCMessage *m = from_yaml(desc_of(t), yaml), *m2 = NULL;
    size_t len;
    if (m == NULL)
        return NULL;
    uint8_t *buf = pack(m, &len);
    protobuf_c_message_free_unpacked(m, NULL);
    if (dp_resource_decode(t, buf, len, &m2, err, sizeof(err)) != 0)
        fprintf(stderr, "dp_resource_decode: %s\n", err);
    free(buf);
    return m2;
}

static dp_route_config_t *route(const char *yaml)
{
    ProtobufCMessage *m = res(DP_RES_ROUTE, yaml);
    dp_route_config_t *rc = NULL;
    err[0] = '\0';
    if (m == NULL)
        return NULL;
    if (dp_translate_route_config(m, &rc, err, sizeof(err)) != 0)
        rc = NULL;
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

/* Translates a route config expected to fail; returns the error. */
static const char *route_err(const char *yaml)
{
    dp_route_config_t *rc = route(yaml);
    CHECK(rc == NULL);
    dp_route_config_unref(rc);
    return err;
}

/* A listener whose HCM typed_config holds `hcm` (flow-style fields). */
#define HCM_URL                                                                                              \
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER                                                                                               \
    "{name: envoy.filters.http.router, typed_config: {'@type': "                                             \
    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}"
#define ROUTES                                                                                               \
    "route_config: {virtual_hosts: [{name: all, domains: ['*'], routes: [{match: {prefix: /}, route: "       \
    "{cluster: c}}]}]}"

static int listener_full(const char *addr_and_more, const char *hcm, dp_listener_cfg_t **out)
{
    char yaml[8192];
    snprintf(yaml, sizeof(yaml),
             "name: l1\n"
             "%s\n"
             "filter_chains:\n"
             "- filters:\n"
             "  - name: hcm\n"
             "    typed_config: {'@type': " HCM_URL ", %s}\n",
             addr_and_more, hcm);
    ProtobufCMessage *m = res(DP_RES_LISTENER, yaml);
    *out = NULL;
    err[0] = '\0';
    if (m == NULL)
        return -100;
    int rc = dp_translate_listener(m, out, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    return rc;
}

#define ADDR "address: {socket_address: {address: 127.0.0.1, port_value: 10000}}"

static int listener(const char *hcm, dp_listener_cfg_t **out)
{
    return listener_full(ADDR, hcm, out);
}

static const char *listener_err(const char *hcm)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener(hcm, &l);
    CHECK(rc < 0 && rc != -100);
    CHECK(l == NULL);
    return err;
}

static int cluster(const char *yaml, const char *cla_yaml, dp_cluster_cfg_t **out)
{
    ProtobufCMessage *m = res(DP_RES_CLUSTER, yaml);
    ProtobufCMessage *cla = cla_yaml ? res(DP_RES_ENDPOINT, cla_yaml) : NULL;
    *out = NULL;
    err[0] = '\0';
    if (m == NULL || (cla_yaml && cla == NULL))
        return -100;
    int rc = dp_translate_cluster(m, cla, out, err, sizeof(err));
    protobuf_c_message_free_unpacked(m, NULL);
    if (cla)
        protobuf_c_message_free_unpacked(cla, NULL);
    return rc;
}

static const char *cluster_err(const char *yaml)
{
    dp_cluster_cfg_t *c = NULL;
    int rc = cluster(yaml, NULL, &c);
    CHECK(rc < 0 && rc != -100);
    CHECK(c == NULL);
    return err;
}

/* ---- transparent upstreams (original_src, PROXY protocol) --------------------------- */

#define OSRC_LF                                                                                              \
    "{name: envoy.filters.listener.original_src, typed_config: {'@type': "                                   \
    "type.googleapis.com/envoy.extensions.filters.listener.original_src.v3.OriginalSrc, bind_port: true, "   \
    "mark: 7}}"
#define FALLBACK_LF                                                                                          \
    "{name: x, typed_config: {'@type': type.googleapis.com/dataplane.transparent.v1.OriginalSrcFallback, "   \
    "action: FORWARD_CLIENT_ADDRESS}}"

static void test_transparent(void)
{
    dp_listener_cfg_t *l = NULL;
    dp_cluster_cfg_t *c = NULL;
    const char *h = "stat_prefix: s, http_filters: [" ROUTER "], " ROUTES;
    int rc;

    /* not initialised here (unit test): transparent sockets unavailable,
     * so original_src without a fallback is refused, naming the filter */
    rc = listener_full(ADDR "\nlistener_filters: [" OSRC_LF "]", h, &l);
    CHECK(rc < 0 && l == NULL);
    CHECK(strstr(err, "listener_filters[0]: envoy.filters.listener.original_src: transparent upstreams unavailable "
                      "here: not initialised") != NULL);
    /* the HTTP filter too */
    rc = listener_full(ADDR,
                       "stat_prefix: s, http_filters: [{name: o, typed_config: {'@type': "
                       "type.googleapis.com/envoy.extensions.filters.http.original_src.v3.OriginalSrc}}, " ROUTER
                       "], " ROUTES,
                       &l);
    CHECK(rc < 0 && l == NULL);
    CHECK(strstr(err, "envoy.filters.http.original_src: transparent upstreams unavailable here") != NULL);

    /* with the fallback: served, forwarding the client address */
    rc = listener_full(ADDR "\nlistener_filters: [" OSRC_LF ", " FALLBACK_LF "]", h, &l);
    CHECK_INT(rc, 0);
    CHECK(l && l->original_src && l->original_src_bind_port && l->original_src_mark == 7 &&
          l->forward_client_address);
    dp_listener_cfg_unref(l);
    /* no original_src: nothing to check, nothing forwarded */
    rc = listener_full(ADDR "\nlistener_filters: [" FALLBACK_LF "]", h, &l);
    CHECK_INT(rc, 0);
    CHECK(l && !l->original_src && !l->forward_client_address);
    dp_listener_cfg_unref(l);

    /* an unknown listener filter is refused by its type */
    rc = listener_full(ADDR "\nlistener_filters: [{name: p, typed_config: {'@type': "
                            "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]",
                       h, &l);
    CHECK(rc < 0);
    CHECK(strstr(err, "listener_filters[0].typed_config: listener filter type "
                      "'envoy.extensions.filters.http.router.v3.Router' is not supported") != NULL);

    /* the PROXY protocol upstream transport socket */
#define PP_TS(body)                                                                                          \
    "name: pp\nconnect_timeout: 1s\nload_assignment: {cluster_name: pp}\ntransport_socket: {name: x, "       \
    "typed_config: {'@type': "                                                                               \
    "type.googleapis.com/envoy.extensions.transport_sockets.proxy_protocol.v3.ProxyProtocolUpstreamTransport" \
    body "}}\n"
    rc = cluster(PP_TS(", config: {version: V2}, transport_socket: {name: envoy.transport_sockets.raw_buffer}"),
                 NULL, &c);
    CHECK_INT(rc, 0);
    CHECK(c && c->proxy_protocol == 2 && c->tls == NULL);
    dp_cluster_cfg_unref(c);
    rc = cluster(PP_TS(", transport_socket: {name: envoy.transport_sockets.raw_buffer}"), NULL, &c);
    CHECK_INT(rc, 0);
    CHECK(c && c->proxy_protocol == 1); /* V1 is the default, as Envoy */
    dp_cluster_cfg_unref(c);
    CHECK(strstr(cluster_err(PP_TS(", config: {version: V2}")),
                 "transport_socket.typed_config.transport_socket: required") != NULL);
#undef PP_TS
}

/* ---- routes ------------------------------------------------------------------ */

static void test_route_defaults(void)
{
    dp_route_config_t *rc =
        route("name: r1\n"
              "virtual_hosts:\n"
              "- name: vh\n"
              "  domains: [example.com]\n"
              "  routes:\n"
              "  - match: {prefix: /a}\n"
              "    route: {cluster: c1}\n"
              "  - match: {path: /exact, case_sensitive: false}\n"
              "    route: {cluster: c2, timeout: 0s, idle_timeout: 2.5s,\n"
              "            cluster_not_found_response_code: NOT_FOUND}\n"
              "  - match: {path_separated_prefix: /api}\n"
              "    route: {cluster_header: X-Cluster, timeout: 1.5s, prefix_rewrite: /v2,\n"
              "            host_rewrite_literal: up.internal,\n"
              "            cluster_not_found_response_code: INTERNAL_SERVER_ERROR}\n");
    CHECK(rc != NULL);
    if (rc == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(rc->name, "r1");
    CHECK(rc->index != NULL);
    CHECK_INT(rc->n_vhosts, 1);
    const dp_vhost_t *v = &rc->vhosts[0];
    CHECK_STR(v->name, "vh");
    CHECK_INT(v->require_tls, DP_REQUIRE_TLS_NONE);
    CHECK_INT(v->n_routes, 3);
    const dp_route_t *r = &v->routes[0];
    CHECK_INT(r->path_kind, DP_PATHMATCH_PREFIX);
    CHECK_MEM(r->path, r->path_len, "/a");
    CHECK(r->case_sensitive);
    CHECK_INT(r->action, DP_ROUTE_ACTION_CLUSTER);
    CHECK_STR(r->cluster, "c1");
    CHECK_INT(r->timeout_ms, 15000); /* Envoy's default */
    CHECK(!r->has_idle_timeout);
    CHECK_INT(r->cluster_not_found_code, 503);
    CHECK(r->prefix_rewrite == NULL && r->host_rewrite_literal == NULL);
    r = &v->routes[1];
    CHECK_INT(r->path_kind, DP_PATHMATCH_PATH);
    CHECK(!r->case_sensitive);
    CHECK_INT(r->timeout_ms, 0); /* 0 disables */
    CHECK(r->has_idle_timeout);
    CHECK_INT(r->idle_timeout_ms, 2500);
    CHECK_INT(r->cluster_not_found_code, 404);
    r = &v->routes[2];
    CHECK_INT(r->path_kind, DP_PATHMATCH_SEPARATED_PREFIX);
    CHECK(r->cluster == NULL);
    CHECK_STR(r->cluster_header, "x-cluster");
    CHECK_INT(r->timeout_ms, 1500);
    CHECK_STR(r->prefix_rewrite, "/v2");
    CHECK_STR(r->host_rewrite_literal, "up.internal");
    CHECK_INT(r->cluster_not_found_code, 500);
    /* the domain index works on the result */
    CHECK(dp_route_select_vhost(rc, "EXAMPLE.com", 11) == v);
    CHECK(dp_route_select_vhost(rc, "other.com", 9) == NULL);
    dp_route_config_unref(rc);
}

static void test_header_matchers(void)
{
    dp_route_config_t *rc =
        route("virtual_hosts:\n"
              "- name: vh\n"
              "  domains: ['*']\n"
              "  require_tls: ALL\n"
              "  routes:\n"
              "  - match:\n"
              "      prefix: /\n"
              "      headers:\n"
              "      - {name: X-Exact, exact_match: v}\n"
              "      - {name: x-pre, prefix_match: ab, invert_match: true}\n"
              "      - {name: x-suf, suffix_match: yz}\n"
              "      - {name: x-con, contains_match: mid, treat_missing_header_as_empty: true}\n"
              "      - {name: x-present, present_match: false}\n"
              "      - {name: x-any}\n"
              "      - {name: ':method', string_match: {exact: GET, ignore_case: true}}\n"
              "      - {name: x-sm, string_match: {suffix: .com}}\n"
              "    direct_response: {status: 204}\n");
    CHECK(rc != NULL);
    if (rc == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(rc->vhosts[0].require_tls, DP_REQUIRE_TLS_ALL);
    const dp_route_t *r = &rc->vhosts[0].routes[0];
    CHECK_INT(r->n_headers, 8);
    const dp_hdrmatch_t *h = r->headers;
    CHECK_STR(h[0].name, "x-exact"); /* lowercased */
    CHECK_INT(h[0].kind, DP_HDRMATCH_STRING);
    CHECK_INT(h[0].str.kind, DP_STRMATCH_EXACT);
    CHECK_MEM(h[0].str.value, h[0].str.value_len, "v");
    CHECK(!h[0].str.ignore_case);
    CHECK_INT(h[1].str.kind, DP_STRMATCH_PREFIX);
    CHECK(h[1].invert);
    CHECK_INT(h[2].str.kind, DP_STRMATCH_SUFFIX);
    CHECK_INT(h[3].str.kind, DP_STRMATCH_CONTAINS);
    CHECK(h[3].treat_missing_as_empty);
    CHECK_INT(h[4].kind, DP_HDRMATCH_PRESENT);
    CHECK(!h[4].present);
    CHECK_INT(h[5].kind, DP_HDRMATCH_PRESENT); /* no specifier: must be present */
    CHECK(h[5].present);
    CHECK_STR(h[6].name, ":method");
    CHECK_INT(h[6].str.kind, DP_STRMATCH_EXACT);
    CHECK(h[6].str.ignore_case);
    CHECK_INT(h[7].str.kind, DP_STRMATCH_SUFFIX);
    CHECK_MEM(h[7].str.value, h[7].str.value_len, ".com");
    CHECK_INT(r->action, DP_ROUTE_ACTION_DIRECT);
    CHECK_INT(r->direct_status, 204);
    CHECK(r->direct_body == NULL);
    dp_route_config_unref(rc);

    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /, headers: "
                        "[{name: x, prefix_match: ''}]}, route: {cluster: c}}]}]"),
              "virtual_hosts[0].routes[0].match.headers[0].prefix_match: must not be empty");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /, headers: "
                        "[{name: 'bad name', present_match: true}]}, route: {cluster: c}}]}]"),
              "virtual_hosts[0].routes[0].match.headers[0].name: 'bad name' is not a valid header name");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /, headers: "
                        "[{name: x, string_match: {ignore_case: true}}]}, route: {cluster: c}}]}]"),
              "virtual_hosts[0].routes[0].match.headers[0].string_match: one of exact, prefix, suffix or "
              "contains is required");
}

static void test_weighted(void)
{
    dp_route_config_t *rc = route("virtual_hosts:\n"
                                  "- name: vh\n"
                                  "  domains: ['*']\n"
                                  "  routes:\n"
                                  "  - match: {prefix: /}\n"
                                  "    route:\n"
                                  "      weighted_clusters:\n"
                                  "        clusters:\n"
                                  "        - name: a\n"
                                  "          weight: 30\n"
                                  "          request_headers_to_add: [{header: {key: x-w, value: a}}]\n"
                                  "          response_headers_to_remove: [x-internal]\n"
                                  "        - {name: b, weight: 0}\n"
                                  "        - {name: c, weight: 70}\n");
    CHECK(rc != NULL);
    if (rc) {
        const dp_route_t *r = &rc->vhosts[0].routes[0];
        CHECK_INT(r->n_weighted, 3);
        CHECK_INT(r->total_weight, 100);
        CHECK_STR(r->weighted[0].name, "a");
        CHECK_INT(r->weighted[0].weight, 30);
        CHECK_INT(r->weighted[0].req.n_add, 1);
        CHECK_STR(r->weighted[0].req.add[0].name, "x-w");
        CHECK_INT(r->weighted[0].resp.n_remove, 1);
        CHECK_INT(r->weighted[1].weight, 0);
        CHECK(r->cluster == NULL);
        /* picks follow the cumulative ranges [0,30) [30,30) [30,100) */
        CHECK(dp_route_pick_weighted(r, 29) == &r->weighted[0]);
        CHECK(dp_route_pick_weighted(r, 30) == &r->weighted[2]);
        dp_route_config_unref(rc);
    } else {
        fprintf(stderr, "%s\n", err);
    }

    CHECK_HAS(
        route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: "
                  "{weighted_clusters: {clusters: [{name: a, weight: 1}, {name: b, weight: 2}], "
                  "total_weight: 4}}}]}]"),
        "virtual_hosts[0].routes[0].route.weighted_clusters.total_weight: 4 does not equal the sum of the "
        "cluster weights (3)");
    /* total_weight that matches is fine */
    rc = route(
        "virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: "
        "{weighted_clusters: {clusters: [{name: a, weight: 1}, {name: b, weight: 2}], total_weight: 3}}}]}]");
    CHECK(rc != NULL && rc->vhosts[0].routes[0].total_weight == 3);
    dp_route_config_unref(rc);
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: "
                        "{weighted_clusters: {clusters: [{name: a, weight: 0}]}}}]}]"),
              "route.weighted_clusters.clusters: the sum of the weights must be greater than 0");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: "
                        "{weighted_clusters: {clusters: []}}}]}]"),
              "route.weighted_clusters.clusters: at least one cluster is required");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, route: "
                        "{weighted_clusters: {clusters: [{weight: 1}]}}}]}]"),
              "route.weighted_clusters.clusters[0].name: required");
}

static void test_mutations(void)
{
    dp_route_config_t *rc = route("request_headers_to_add:\n"
                                  "- header: {key: X-Default, value: '1'}\n"
                                  "- header: {key: x-append-true, value: '2'}\n"
                                  "  append: true\n"
                                  "- header: {key: x-append-false, value: '3'}\n"
                                  "  append: false\n"
                                  "- header: {key: x-action, value: '4'}\n"
                                  "  append_action: ADD_IF_ABSENT\n"
                                  "- header: {key: x-ow, value: ''}\n"
                                  "  append_action: OVERWRITE_IF_EXISTS\n"
                                  "  keep_empty_value: true\n"
                                  "- header: {key: x-pct, value: '100%% sure, 5%%'}\n"
                                  "request_headers_to_remove: [X-Remove-Me]\n"
                                  "response_headers_to_add: [{header: {key: x-resp, value: r}, "
                                  "append_action: OVERWRITE_IF_EXISTS_OR_ADD}]\n"
                                  "virtual_hosts:\n"
                                  "- name: vh\n"
                                  "  domains: ['*']\n"
                                  "  request_headers_to_add: [{header: {key: x-vh, value: v}}]\n"
                                  "  response_headers_to_remove: [x-vh-gone]\n"
                                  "  routes:\n"
                                  "  - match: {prefix: /}\n"
                                  "    route: {cluster: c}\n"
                                  "    response_headers_to_add: [{header: {key: x-route, value: r}}]\n");
    CHECK(rc != NULL);
    if (rc == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const dp_hdr_mutations_t *m = &rc->req;
    CHECK_INT(m->n_add, 6);
    CHECK_STR(m->add[0].name, "x-default");
    CHECK_INT(m->add[0].action, DP_APPEND_IF_EXISTS_OR_ADD);
    CHECK_INT(m->add[1].action, DP_APPEND_IF_EXISTS_OR_ADD);
    CHECK_INT(m->add[2].action, DP_OVERWRITE_IF_EXISTS_OR_ADD);
    CHECK_INT(m->add[3].action, DP_ADD_IF_ABSENT);
    CHECK_INT(m->add[4].action, DP_OVERWRITE_IF_EXISTS);
    CHECK(m->add[4].keep_empty_value);
    CHECK(!m->add[0].keep_empty_value);
    CHECK_STR(m->add[5].value, "100% sure, 5%"); /* "%%" is a literal '%' */
    CHECK_INT(m->n_remove, 1);
    CHECK_STR(m->remove[0], "x-remove-me");
    CHECK_INT(rc->resp.n_add, 1);
    CHECK_INT(rc->resp.add[0].action, DP_OVERWRITE_IF_EXISTS_OR_ADD);
    CHECK_INT(rc->vhosts[0].req.n_add, 1);
    CHECK_STR(rc->vhosts[0].resp.remove[0], "x-vh-gone");
    CHECK_STR(rc->vhosts[0].routes[0].resp.add[0].name, "x-route");
    dp_route_config_unref(rc);

    CHECK_HAS(route_err("request_headers_to_add: [{header: {key: x, value: y}, append: true, append_action: "
                        "ADD_IF_ABSENT}]"),
              "request_headers_to_add[0]: append and append_action are both set");
    CHECK_HAS(route_err("response_headers_to_add: [{header: {key: x, value: '%REQ(x-foo)%'}}]"),
              "response_headers_to_add[0].header.value: unsupported header formatter %REQ(x-foo)%");
    CHECK_HAS(route_err("response_headers_to_add: [{header: {key: x, value: 'a%b'}}]"),
              "response_headers_to_add[0].header.value: unterminated '%'");
    CHECK_HAS(route_err("request_headers_to_remove: [x-ok, ':path']"),
              "request_headers_to_remove[1]: ':path': :-prefixed or host headers may not be removed");
    CHECK_HAS(route_err("request_headers_to_remove: [Host]"),
              "request_headers_to_remove[0]: 'Host': :-prefixed or host headers may not be removed");
    CHECK_HAS(
        route_err("request_headers_to_add: [{header: {key: ':authority', value: y}}]"),
        "request_headers_to_add[0].header.key: ':authority': :-prefixed or host headers may not be modified");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], request_headers_to_add: "
                        "[{header: {key: 'x y', value: z}}]}]"),
              "virtual_hosts[0].request_headers_to_add[0].header.key: 'x y' is not a valid header name");
    CHECK_HAS(route_err("request_headers_to_add: [{append_action: ADD_IF_ABSENT}]"),
              "request_headers_to_add[0].header: required");
}

static void test_direct_response(void)
{
    char path[] = "/tmp/dp_xlate_body_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "from a file\n", 12) == 12);
    close(fd);
    setenv("DP_XLATE_TEST_BODY", "from the environment", 1);

    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "virtual_hosts:\n"
             "- name: vh\n"
             "  domains: ['*']\n"
             "  routes:\n"
             "  - match: {path: /inline}\n"
             "    direct_response: {status: 200, body: {inline_string: \"hello\\n\"}}\n"
             "  - match: {path: /file}\n"
             "    direct_response: {status: 503, body: {filename: %s}}\n"
             "  - match: {path: /bytes}\n"
             "    direct_response: {status: 599, body: {inline_bytes: aGk=}}\n"
             "  - match: {path: /env}\n"
             "    direct_response: {status: 404, body: {environment_variable: DP_XLATE_TEST_BODY}}\n",
             path);
    dp_route_config_t *rc = route(yaml);
    CHECK(rc != NULL);
    if (rc) {
        const dp_route_t *r = rc->vhosts[0].routes;
        CHECK_INT(r[0].direct_status, 200);
        CHECK_MEM(r[0].direct_body, r[0].direct_body_len, "hello\n");
        CHECK_INT(r[1].direct_status, 503);
        CHECK_MEM(r[1].direct_body, r[1].direct_body_len, "from a file\n");
        CHECK_INT(r[2].direct_status, 599);
        CHECK_MEM(r[2].direct_body, r[2].direct_body_len, "hi");
        CHECK_MEM(r[3].direct_body, r[3].direct_body_len, "from the environment");
        dp_route_config_unref(rc);
    } else {
        fprintf(stderr, "%s\n", err);
    }
    unlink(path);

    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
                        "direct_response: {status: 600}}]}]"),
              "virtual_hosts[0].routes[0].direct_response.status: 600 is out of range [200, 600)");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
                        "direct_response: {status: 199}}]}]"),
              "direct_response.status: 199 is out of range");
    CHECK_HAS(route_err("virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
                        "direct_response: {status: 200, body: {filename: /nonexistent/body.txt}}}]}]"),
              "direct_response.body.filename: cannot read '/nonexistent/body.txt'");
    CHECK_HAS(
        route_err(
            "virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
            "direct_response: {status: 200, body: {environment_variable: DP_XLATE_NOT_SET_ANYWHERE}}}]}]"),
        "direct_response.body.environment_variable: environment variable 'DP_XLATE_NOT_SET_ANYWHERE' is not "
        "set");
    /* Envoy's max_direct_response_body_size_bytes default: 4096 */
    char big[6000];
    snprintf(big, sizeof(big),
             "virtual_hosts: [{name: v, domains: ['*'], routes: [{match: {prefix: /}, "
             "direct_response: {status: 200, body: {inline_string: '");
    size_t n = strlen(big);
    memset(big + n, 'x', 4097);
    snprintf(big + n + 4097, sizeof(big) - n - 4097, "'}}}]}]");
    CHECK_HAS(route_err(big), "direct_response.body: size is 4097 bytes; maximum is 4096");
}

static void test_redirects(void)
{
    dp_route_config_t *rc =
        route("virtual_hosts:\n"
              "- name: vh\n"
              "  domains: ['*']\n"
              "  routes:\n"
              "  - {match: {path: /1}, redirect: {host_redirect: a.example}}\n"
              "  - {match: {path: /2}, redirect: {response_code: FOUND, https_redirect: true}}\n"
              "  - {match: {path: /3}, redirect: {response_code: SEE_OTHER, path_redirect: /p,\n"
              "                                   strip_query: true}}\n"
              "  - {match: {path: /4}, redirect: {response_code: TEMPORARY_REDIRECT,\n"
              "                                   scheme_redirect: HTTP, port_redirect: 8080}}\n"
              "  - {match: {prefix: /5}, redirect: {response_code: PERMANENT_REDIRECT,\n"
              "                                    prefix_rewrite: /five}}\n"
              "  - {match: {prefix: /6}, redirect: {https_redirect: false, prefix_rewrite: ''}}\n");
    CHECK(rc != NULL);
    if (rc == NULL) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const dp_route_t *r = rc->vhosts[0].routes;
    CHECK_INT(r[0].action, DP_ROUTE_ACTION_REDIRECT);
    CHECK_INT(r[0].redirect_code, 301);
    CHECK_STR(r[0].redirect_host, "a.example");
    CHECK(r[0].redirect_scheme == NULL && r[0].redirect_path == NULL && r[0].redirect_prefix == NULL);
    CHECK_INT(r[0].redirect_port, 0);
    CHECK_INT(r[1].redirect_code, 302);
    CHECK_STR(r[1].redirect_scheme, "https");
    CHECK_INT(r[2].redirect_code, 303);
    CHECK_STR(r[2].redirect_path, "/p");
    CHECK(r[2].strip_query);
    CHECK_INT(r[3].redirect_code, 307);
    CHECK_STR(r[3].redirect_scheme, "http");
    CHECK_INT(r[3].redirect_port, 8080);
    CHECK_INT(r[4].redirect_code, 308);
    CHECK_STR(r[4].redirect_prefix, "/five");
    CHECK(r[5].redirect_scheme == NULL);
    CHECK_STR(r[5].redirect_prefix, "");
    dp_route_config_unref(rc);
}

static void test_route_errors(void)
{
    /* dp_route_config_index errors land on the offending domain */
    CHECK_HAS(route_err("name: r\n"
                        "virtual_hosts:\n"
                        "- {name: a, domains: [x.com, '*']}\n"
                        "- {name: b, domains: [y.com, X.COM]}\n"),
              "virtual_hosts[1].domains[1]: Only unique values for domains are permitted. Duplicate entry of "
              "domain X.COM in route r (virtual hosts a and b)");
    CHECK_HAS(route_err("virtual_hosts:\n"
                        "- {name: a, domains: ['*']}\n"
                        "- {name: b, domains: [y.com, '*']}\n"),
              "virtual_hosts[1].domains[1]: Only a single wildcard domain is permitted");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['a.*.com']}]"),
              "virtual_hosts[0].domains[0]: invalid domain 'a.*.com'");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: []}]"),
              "virtual_hosts[0].domains: at least one domain is required");
    CHECK_HAS(route_err("virtual_hosts: [{domains: [a]}]"), "virtual_hosts[0].name: required");

    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{route: {cluster: c}}]}]"),
              "virtual_hosts[0].routes[0].match: required");
    CHECK_HAS(
        route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {}, route: {cluster: c}}]}]"),
        "virtual_hosts[0].routes[0].match: a path specifier (prefix, path or path_separated_prefix) is "
        "required");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}}]}]"),
              "virtual_hosts[0].routes[0]: an action (route, redirect or direct_response) is required");
    CHECK_HAS(
        route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: {}}]}]"),
        "virtual_hosts[0].routes[0].route: one of cluster, cluster_header or weighted_clusters is required");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: "
                        "{path_separated_prefix: /api/}, route: {cluster: c}}]}]"),
              "match.path_separated_prefix: '/api/' must be non-empty");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: "
                        "{cluster: c, upgrade_configs: [{upgrade_type: h2c}]}}]}]"),
              "virtual_hosts[0].routes[0].route.upgrade_configs[0].upgrade_type: 'h2c' is not supported yet");
    {
        dp_route_config_t *rc = route("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: "
                                      "{cluster: c, upgrade_configs: [{upgrade_type: WebSocket, enabled: false}]}}]}]");
        CHECK(rc != NULL);
        if (rc) {
            const dp_route_t *r = &rc->vhosts[0].routes[0];
            CHECK_INT(r->n_upgrades, 1);
            CHECK_STR(r->upgrades[0].upgrade_type, "websocket");
            CHECK(!r->upgrades[0].enabled);
        }
        dp_route_config_unref(rc);
    }
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: "
                        "{cluster: c, timeout: -1s}}]}]"),
              "route.timeout: must not be negative");
    /* per-filter configs of a filter without one, or of an unknown type, are refused naming the entry */
    CHECK_HAS(
        route_err("virtual_hosts: [{name: a, domains: ['*'], routes: [{match: {prefix: /}, route: "
                  "{cluster: c}, typed_per_filter_config: {envoy.filters.http.router: "
                  "{'@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}}]}]"),
        "virtual_hosts[0].routes[0].typed_per_filter_config[\"envoy.filters.http.router\"]: filter type "
        "'envoy.extensions.filters.http.router.v3.Router' takes no per-route config");
    CHECK_HAS(
        route_err("virtual_hosts: [{name: a, domains: ['*'], typed_per_filter_config: {my.filter: "
                  "{'@type': type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}}]"),
        "virtual_hosts[0].typed_per_filter_config[\"my.filter\"]: filter type "
        "'envoy.extensions.filters.http.router.v3.Router' takes no per-route config");
    CHECK_HAS(route_err("virtual_hosts: [{name: a, domains: ['*'], typed_per_filter_config: {my.filter: "
                        "{'@type': type.googleapis.com/google.protobuf.Empty}}}]"),
              "virtual_hosts[0].typed_per_filter_config[\"my.filter\"]: unsupported per-route filter config type "
              "'google.protobuf.Empty' (filter 'my.filter')");
    /* validate_clusters is accepted (ignored) */
    dp_route_config_t *rc = route("validate_clusters: true\nvirtual_hosts: [{name: a, domains: ['*']}]");
    CHECK(rc != NULL);
    dp_route_config_unref(rc);
    /* not a RouteConfiguration */
    dp_route_config_t *out = (dp_route_config_t *)1;
    ProtobufCMessage *m = res(DP_RES_CLUSTER, "name: c");
    CHECK(dp_translate_route_config(m, &out, err, sizeof(err)) < 0);
    CHECK(out == NULL);
    CHECK_HAS(err, "not an envoy.config.route.v3.RouteConfiguration");
    protobuf_c_message_free_unpacked(m, NULL);
}

/* ---- listeners ----------------------------------------------------------------- */

static void test_listener_defaults(void)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener("stat_prefix: ingress, " ROUTES ", http_filters: [" ROUTER "]", &l);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(l->refcnt, 1);
    CHECK_STR(l->name, "l1");
    CHECK_STR(l->addr_str, "127.0.0.1:10000");
    CHECK_INT(l->addr.ss_family, AF_INET);
    CHECK_INT(l->addrlen, sizeof(struct sockaddr_in));
    CHECK_INT(l->per_connection_buffer_limit_bytes, 1024 * 1024);
    CHECK_INT(l->n_access_logs, 0);
    const dp_hcm_cfg_t *h = l->chains[0].hcm;
    CHECK(h != NULL);
    CHECK_STR(h->stat_prefix, "ingress");
    CHECK_INT(h->codec_type, DP_CODEC_AUTO);
    CHECK(h->route_config != NULL && h->route_config->index != NULL);
    CHECK(h->rds_name == NULL);
    CHECK_INT(h->n_filters, 1);
    CHECK_STR(h->filters[0].name, "envoy.filters.http.router");
    CHECK(h->filters[0].factory == dp_http_filter_lookup("envoy.filters.http.router"));
    CHECK(!h->use_remote_address);
    CHECK_INT(h->xff_num_trusted_hops, 0);
    CHECK(!h->skip_xff_append);
    CHECK(h->generate_request_id);
    CHECK(!h->preserve_external_request_id);
    CHECK_STR(h->server_name, "envoy");
    CHECK_INT(h->server_header_transformation, DP_SERVER_HDR_OVERWRITE);
    CHECK_INT(h->strip_port, DP_STRIP_PORT_NONE);
    CHECK_INT(h->max_request_headers_kb, 60);
    CHECK_INT(h->max_headers_count, 100);
    CHECK_INT(h->idle_timeout_ms, 3600 * 1000);
    CHECK_INT(h->stream_idle_timeout_ms, 300 * 1000);
    CHECK_INT(h->request_timeout_ms, 0);
    CHECK_INT(h->request_headers_timeout_ms, 0);
    CHECK_INT(h->drain_timeout_ms, 5000);
    CHECK(!h->accept_http_10);
    CHECK(h->default_host_for_http_10 == NULL);
    CHECK_INT(h->h2.max_concurrent_streams, 2147483647);
    CHECK_INT(h->h2.initial_stream_window_size, 268435456);
    CHECK_INT(h->h2.initial_connection_window_size, 268435456);
    CHECK_INT(h->h2.hpack_table_size, 4096);
    CHECK(!h->h2.allow_connect);
    CHECK_INT(h->h2.max_outbound_frames, 10000);
    CHECK_INT(h->h2.max_outbound_control_frames, 1000);
    CHECK_INT(h->h2.max_consecutive_inbound_frames_with_empty_payload, 1);
    CHECK_INT(h->h2.max_inbound_priority_frames_per_stream, 100);
    CHECK_INT(h->h2.max_inbound_window_update_frames_per_data_frame_sent, 10);
    CHECK_INT(h->n_upgrades, 0);
    CHECK_INT(l->n_chains, 1);
    CHECK(l->default_chain == NULL);
    CHECK(!l->any_tls);
    CHECK_INT(l->listener_filters_timeout_ms, 15000);
    dp_listener_cfg_unref(l);
}

static void test_listener_h2_upgrades(void)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener("stat_prefix: s, codec_type: HTTP2, http2_protocol_options: {max_concurrent_streams: 7, "
                      "initial_stream_window_size: 65536, initial_connection_window_size: 1048576, "
                      "allow_connect: true, hpack_table_size: 0, max_outbound_frames: 50, "
                      "max_outbound_control_frames: 5, max_consecutive_inbound_frames_with_empty_payload: 3, "
                      "max_inbound_priority_frames_per_stream: 9, "
                      "max_inbound_window_update_frames_per_data_frame_sent: 4}, "
                      "upgrade_configs: [{upgrade_type: WebSocket}, ] , " ROUTES ", http_filters: [" ROUTER "]",
                      &l);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    const dp_hcm_cfg_t *h = l->chains[0].hcm;
    CHECK_INT(h->codec_type, DP_CODEC_HTTP2);
    CHECK_INT(h->h2.max_concurrent_streams, 7);
    CHECK_INT(h->h2.initial_stream_window_size, 65536);
    CHECK_INT(h->h2.initial_connection_window_size, 1048576);
    CHECK(h->h2.allow_connect);
    CHECK_INT(h->h2.hpack_table_size, 0);
    CHECK_INT(h->h2.max_outbound_frames, 50);
    CHECK_INT(h->h2.max_outbound_control_frames, 5);
    CHECK_INT(h->h2.max_consecutive_inbound_frames_with_empty_payload, 3);
    CHECK_INT(h->h2.max_inbound_priority_frames_per_stream, 9);
    CHECK_INT(h->h2.max_inbound_window_update_frames_per_data_frame_sent, 4);
    CHECK_INT(h->n_upgrades, 1);
    CHECK_STR(h->upgrades[0].upgrade_type, "websocket");
    CHECK(h->upgrades[0].enabled);
    dp_listener_cfg_unref(l);
}

static void test_listener_values(void)
{
    dp_listener_cfg_t *l = NULL;
    int rc = listener_full(
        "address: {socket_address: {address: '::1', port_value: 8443}}\n"
        "per_connection_buffer_limit_bytes: 32768\n"
        "access_log: [{name: out, typed_config: {'@type': "
        "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog}}]",
        "stat_prefix: s, codec_type: HTTP1, use_remote_address: true, xff_num_trusted_hops: 2, "
        "skip_xff_append: true, generate_request_id: false, preserve_external_request_id: true, "
        "server_name: edge, server_header_transformation: PASS_THROUGH, "
        "max_request_headers_kb: 96, stream_idle_timeout: 0s, request_timeout: 30s, "
        "request_headers_timeout: 10s, drain_timeout: 1.5s, strip_any_host_port: true, "
        "common_http_protocol_options: {idle_timeout: 0s, max_headers_count: 50}, "
        "http_protocol_options: {accept_http_10: true, default_host_for_http_10: d.local, "
        "allow_absolute_url: true}, "
        "access_log: [{name: a, typed_config: {'@type': "
        "type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}], "
        "rds: {route_config_name: routes-1, config_source: {ads: {}, resource_api_version: V3}}, "
        "http_filters: [" ROUTER "]",
        &l);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_STR(l->addr_str, "[::1]:8443");
    CHECK_INT(l->addr.ss_family, AF_INET6);
    CHECK_INT(l->per_connection_buffer_limit_bytes, 32768);
    CHECK_INT(l->n_access_logs, 1);
    const dp_hcm_cfg_t *h = l->chains[0].hcm;
    CHECK_INT(h->codec_type, DP_CODEC_HTTP1);
    CHECK(h->use_remote_address);
    CHECK_INT(h->xff_num_trusted_hops, 2);
    CHECK(h->skip_xff_append);
    CHECK(!h->generate_request_id);
    CHECK(h->preserve_external_request_id);
    CHECK_STR(h->server_name, "edge");
    CHECK_INT(h->server_header_transformation, DP_SERVER_HDR_PASS_THROUGH);
    CHECK_INT(h->max_request_headers_kb, 96);
    CHECK_INT(h->stream_idle_timeout_ms, 0);
    CHECK_INT(h->request_timeout_ms, 30000);
    CHECK_INT(h->request_headers_timeout_ms, 10000);
    CHECK_INT(h->drain_timeout_ms, 1500);
    CHECK_INT(h->strip_port, DP_STRIP_ANY_PORT);
    CHECK_INT(h->idle_timeout_ms, 0);
    CHECK_INT(h->max_headers_count, 50);
    CHECK(h->accept_http_10);
    CHECK_STR(h->default_host_for_http_10, "d.local");
    CHECK_INT(h->n_access_logs, 1);
    CHECK(h->route_config == NULL);
    CHECK_STR(h->rds_name, "routes-1");
    dp_listener_cfg_unref(l);

    rc = listener("stat_prefix: s, strip_matching_host_port: true, " ROUTES ", http_filters: [" ROUTER "]",
                  &l);
    CHECK_INT(rc, 0);
    if (l)
        CHECK_INT(l->chains[0].hcm->strip_port, DP_STRIP_MATCHING_PORT);
    dp_listener_cfg_unref(l);
}

static void test_http_filters(void)
{
    dp_listener_cfg_t *l = NULL;
    int rc;

    /* unknown, not optional */
    CHECK_HAS(listener_err("stat_prefix: s, " ROUTES
                           ", http_filters: [{name: envoy.filters.http.nope}, " ROUTER "]"),
              "filter_chains[0].filters[0].typed_config.http_filters[0].name: unknown HTTP filter "
              "'envoy.filters.http.nope'");
    /* unknown but is_optional: skipped (Envoy's rule) */
    rc = listener("stat_prefix: s, " ROUTES
                  ", http_filters: [{name: envoy.filters.http.nope, is_optional: true}, " ROUTER "]",
                  &l);
    CHECK_INT(rc, 0);
    if (l) {
        CHECK_INT(l->chains[0].hcm->n_filters, 1);
        CHECK_STR(l->chains[0].hcm->filters[0].name, "envoy.filters.http.router");
    }
    dp_listener_cfg_unref(l);
    /* the router resolved by name alone (no typed_config) */
    rc = listener("stat_prefix: s, " ROUTES ", http_filters: [{name: envoy.filters.http.router}]", &l);
    CHECK_INT(rc, 0);
    if (l)
        CHECK_INT(l->chains[0].hcm->n_filters, 1);
    dp_listener_cfg_unref(l);
    /* resolved by the typed_config type, whatever the name */
    rc = listener("stat_prefix: s, " ROUTES ", http_filters: [{name: my-router, typed_config: {'@type': "
                  "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]",
                  &l);
    CHECK_INT(rc, 0);
    if (l) {
        CHECK_STR(l->chains[0].hcm->filters[0].name, "my-router");
        CHECK(l->chains[0].hcm->filters[0].factory == dp_http_filter_lookup("envoy.filters.http.router"));
    }
    dp_listener_cfg_unref(l);
    /* a typed_config of a type that is no HTTP filter */
    CHECK_HAS(listener_err("stat_prefix: s, " ROUTES ", http_filters: [{name: x, typed_config: {'@type': "
                           "type.googleapis.com/envoy.config.cluster.v3.Cluster}}, " ROUTER "]"),
              "http_filters[0].typed_config: unknown HTTP filter type 'envoy.config.cluster.v3.Cluster' "
              "(filter 'x')");
    /* router not last */
    CHECK_HAS(
        listener_err("stat_prefix: s, " ROUTES ", http_filters: [" ROUTER ", {name: x, is_optional: true}]"),
        "typed_config.http_filters[0]: envoy.filters.http.router is a terminal filter and must be the last "
        "HTTP filter");
    /* the router disabled */
    CHECK_HAS(listener_err("stat_prefix: s, " ROUTES ", http_filters: [{name: envoy.filters.http.router, "
                           "disabled: true}]"),
              "http_filters[0].disabled: the terminal filter envoy.filters.http.router cannot be disabled");
    /* nothing usable left */
    CHECK_HAS(
        listener_err("stat_prefix: s, " ROUTES ", http_filters: [{name: x, is_optional: true}]"),
        "typed_config.http_filters: no usable filter; the chain must end with envoy.filters.http.router");
    CHECK_HAS(listener_err("stat_prefix: s, " ROUTES), "typed_config.http_filters: empty");
    CHECK_HAS(listener_err("stat_prefix: s, " ROUTES ", http_filters: [{typed_config: {'@type': "
                           "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}]"),
              "http_filters[0].name: required");
}

static void test_listener_errors(void)
{
    dp_listener_cfg_t *l = NULL;
    int rc;

#define OKHCM "stat_prefix: s, " ROUTES ", http_filters: [" ROUTER "]"
    CHECK_HAS(listener_err(ROUTES ", http_filters: [" ROUTER "]"),
              "filter_chains[0].filters[0].typed_config.stat_prefix: required");
    CHECK_HAS(listener_err("stat_prefix: s, http2_protocol_options: {initial_stream_window_size: 100}, " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "typed_config.http2_protocol_options.initial_stream_window_size: 100 is out of range (65535..2147483647)");
    CHECK_HAS(listener_err("stat_prefix: s, http2_protocol_options: {max_concurrent_streams: 0}, " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "typed_config.http2_protocol_options.max_concurrent_streams: 0 is out of range");
    CHECK_HAS(listener_err("stat_prefix: s, codec_type: HTTP3, " ROUTES ", http_filters: [" ROUTER "]"),
              "typed_config.codec_type: HTTP3 is not supported yet");
    CHECK_HAS(listener_err("stat_prefix: s, http_filters: [" ROUTER "]"),
              "typed_config: one of route_config or rds is required");
    CHECK_HAS(listener_err("stat_prefix: s, rds: {route_config_name: r}, http_filters: [" ROUTER "]"),
              "typed_config.rds.config_source: required");
    CHECK_HAS(listener_err("stat_prefix: s, rds: {config_source: {ads: {}}}, http_filters: [" ROUTER "]"),
              "typed_config.rds.route_config_name: required");
    CHECK_HAS(listener_err("stat_prefix: s, rds: {route_config_name: r, config_source: {api_config_source: "
                           "{api_type: REST}}}, http_filters: [" ROUTER "]"),
              "typed_config.rds.config_source.api_config_source.api_type: REST is not supported yet");
    CHECK_HAS(listener_err("stat_prefix: s, upgrade_configs: [{upgrade_type: CONNECT}], " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "typed_config.upgrade_configs[0].upgrade_type: 'CONNECT' is not supported yet (only websocket)");
    CHECK_HAS(listener_err("stat_prefix: s, upgrade_configs: [{upgrade_type: websocket}, {upgrade_type: WebSocket}], "
                           ROUTES ", http_filters: [" ROUTER "]"),
              "typed_config.upgrade_configs[1].upgrade_type: duplicate upgrade type 'WebSocket'");
    CHECK_HAS(
        listener_err("stat_prefix: s, common_http_protocol_options: {headers_with_underscores_action: "
                     "REJECT_REQUEST}, " ROUTES ", http_filters: [" ROUTER "]"),
        "common_http_protocol_options.headers_with_underscores_action: REJECT_REQUEST is not supported yet");
    CHECK_HAS(
        listener_err("stat_prefix: s, common_http_protocol_options: {max_connection_duration: 60s}, " ROUTES
                     ", http_filters: [" ROUTER "]"),
        "common_http_protocol_options.max_connection_duration: not supported yet");
    CHECK_HAS(listener_err("stat_prefix: s, common_http_protocol_options: {max_stream_duration: 60s}, " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "common_http_protocol_options.max_stream_duration: not supported yet");
    CHECK_HAS(listener_err("stat_prefix: s, common_http_protocol_options: {max_headers_count: 0}, " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "common_http_protocol_options.max_headers_count: must be at least 1");
    CHECK_HAS(listener_err("max_request_headers_kb: 0, " OKHCM),
              "typed_config.max_request_headers_kb: 0 is out of range (1..8192)");
    CHECK_HAS(listener_err("max_request_headers_kb: 8193, " OKHCM),
              "typed_config.max_request_headers_kb: 8193 is out of range (1..8192)");
    CHECK_HAS(
        listener_err("stat_prefix: s, strip_matching_host_port: true, strip_any_host_port: true, " ROUTES
                     ", http_filters: [" ROUTER "]"),
        "typed_config: only one of strip_matching_host_port or strip_any_host_port can be set");
    CHECK_HAS(listener_err("stat_prefix: s, http_protocol_options: {allow_absolute_url: false}, " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "http_protocol_options.allow_absolute_url: false is not supported yet");
    CHECK_HAS(listener_err("stat_prefix: s, access_log: [{name: x, typed_config: {'@type': "
                           "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}], " ROUTES
                           ", http_filters: [" ROUTER "]"),
              "filter_chains[0].filters[0].typed_config.access_log[0]: unsupported access logger type");
    /* route config errors carry the HCM path */
    CHECK_HAS(
        listener_err("stat_prefix: s, route_config: {virtual_hosts: [{name: v, domains: [a, a]}]}, "
                     "http_filters: [" ROUTER "]"),
        "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].domains[1]: Only unique "
        "values for domains are permitted");

    /* addresses */
    rc = listener_full("address: {socket_address: {address: 127.0.0.1, port_value: 0}}", OKHCM, &l);
    CHECK(rc < 0);
    CHECK_HAS(err, "address.socket_address.port_value: required (1..65535; port 0 is not supported yet)");
    rc = listener_full("address: {socket_address: {address: 127.0.0.1, port_value: 65536}}", OKHCM, &l);
    CHECK_HAS(err, "address.socket_address.port_value: 65536 is out of range (1..65535)");
    rc = listener_full("address: {socket_address: {address: localhost, port_value: 80}}", OKHCM, &l);
    CHECK_HAS(err,
              "address.socket_address.address: 'localhost' is not an IPv4 or IPv6 address (DNS names are not "
              "supported)");
    rc = listener_full("address: {socket_address: {protocol: UDP, address: 0.0.0.0, port_value: 80}}", OKHCM,
                       &l);
    CHECK_HAS(err, "address.socket_address.protocol: only TCP is supported yet");
    rc = listener_full("address: {socket_address: {address: '::', port_value: 80, ipv4_compat: true}}", OKHCM,
                       &l);
    CHECK_HAS(err, "address.socket_address.ipv4_compat: not supported yet");
    rc = listener_full("stat_prefix: x", OKHCM, &l);
    CHECK_HAS(err, "address: required");
    rc = listener_full(ADDR "\nstat_prefix: mine", OKHCM, &l);
    CHECK_HAS(err, "stat_prefix: not supported yet");
    CHECK(l == NULL);

    /* chains and network filters */
    ProtobufCMessage *m;
    m = res(DP_RES_LISTENER, "name: l\n" ADDR "\nfilter_chains: []");
    CHECK(dp_translate_listener(m, &l, err, sizeof(err)) < 0);
    CHECK_STR(err, "filter_chains: at least one filter chain (or a default_filter_chain) is required");
    protobuf_c_message_free_unpacked(m, NULL);
    /* (several chains, matches and transport sockets: translate_tls_test.c) */
    m = res(DP_RES_LISTENER, "name: l\n" ADDR "\nfilter_chains: [{filter_chain_match: {server_names: [a]}}]");
    CHECK(dp_translate_listener(m, &l, err, sizeof(err)) < 0);
    CHECK_STR(err, "filter_chains[0].filters: exactly one filter (envoy.filters.network.http_connection_manager) "
                   "is required");
    protobuf_c_message_free_unpacked(m, NULL);
    m = res(DP_RES_LISTENER,
            "name: l\n" ADDR "\nfilter_chains: [{filters: [{name: envoy.filters.network.tcp_proxy, "
            "typed_config: {'@type': type.googleapis.com/envoy.config.cluster.v3.Cluster}}]}]");
    CHECK(dp_translate_listener(m, &l, err, sizeof(err)) < 0);
    CHECK_HAS(
        err,
        "filter_chains[0].filters[0].typed_config: network filter type 'envoy.config.cluster.v3.Cluster' "
        "is not supported yet");
    protobuf_c_message_free_unpacked(m, NULL);
    m = res(DP_RES_LISTENER,
            "name: l\n" ADDR
            "\nfilter_chains: [{filters: [{name: envoy.filters.network.http_connection_manager}]}]");
    CHECK(dp_translate_listener(m, &l, err, sizeof(err)) < 0);
    CHECK_HAS(err, "filter_chains[0].filters[0].typed_config: required");
    protobuf_c_message_free_unpacked(m, NULL);
    m = res(DP_RES_LISTENER, ADDR);
    CHECK(dp_translate_listener(m, &l, err, sizeof(err)) < 0);
    CHECK_STR(err, "name: required");
    protobuf_c_message_free_unpacked(m, NULL);
#undef OKHCM
}

/* Unknown fields: at the top (dp_resource_decode) and inside Any payloads
 * (the translators check what they unpack). */
static void append_unknown_varint(ProtobufCMessage *m, uint32_t field)
{
    m->unknown_fields = realloc(m->unknown_fields, (m->n_unknown_fields + 1) * sizeof(*m->unknown_fields));
    ProtobufCMessageUnknownField *u = &m->unknown_fields[m->n_unknown_fields++];
    u->tag = field;
    u->wire_type = PROTOBUF_C_WIRE_TYPE_VARINT;
    u->len = 1;
    u->data = malloc(1);
    u->data[0] = 1;
}

static void test_unknown_fields(void)
{
    ProtobufCMessage *m = from_yaml(&envoy__config__cluster__v3__cluster__descriptor,
                                    "name: c\ncircuit_breakers: {thresholds: [{max_connections: 5}]}");
    CHECK(m != NULL);
    if (m == NULL)
        return;
    Envoy__Config__Cluster__V3__Cluster *c = (Envoy__Config__Cluster__V3__Cluster *)m;
    append_unknown_varint(&c->circuit_breakers->thresholds[0]->base, 7);
    size_t len;
    uint8_t *buf = pack(m, &len);
    ProtobufCMessage *out = (ProtobufCMessage *)1;
    CHECK(dp_resource_decode(DP_RES_CLUSTER, buf, len, &out, err, sizeof(err)) < 0);
    CHECK(out == NULL);
    CHECK_HAS(err,
              "envoy.config.cluster.v3.Cluster.circuit_breakers.thresholds[0]: "
              "envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_connection_pools (field 7): not supported");
    free(buf);
    protobuf_c_message_free_unpacked(m, NULL);

    /* garbage bytes */
    CHECK(dp_resource_decode(DP_RES_LISTENER, (const uint8_t *)"\xff\xff\xff", 3, &out, err, sizeof(err)) <
          0);
    CHECK_HAS(err, "cannot decode envoy.config.listener.v3.Listener");

    /* Inside the HCM Any: build the HCM, add an unknown field to its
     * route_config, pack it into the listener's typed_config. */
    ProtobufCMessage *hcm = from_yaml(
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        "stat_prefix: s\n" ROUTES "\nhttp_filters: [" ROUTER "]");
    ProtobufCMessage *lm =
        from_yaml(&envoy__config__listener__v3__listener__descriptor,
                  "name: l\n" ADDR "\nfilter_chains: [{filters: [{name: hcm, typed_config: "
                  "{'@type': " HCM_URL ", stat_prefix: x}}]}]");
    CHECK(hcm != NULL && lm != NULL);
    if (hcm == NULL || lm == NULL)
        return;
    Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager *h = (void *)hcm;
    append_unknown_varint(&h->route_config->virtual_hosts[0]->base, 21);
    Envoy__Config__Listener__V3__Listener *l = (void *)lm;
    Google__Protobuf__Any *any = l->filter_chains[0]->filters[0]->typed_config;
    free(any->value.data);
    any->value.data = pack(hcm, &any->value.len);
    dp_listener_cfg_t *cfg = NULL;
    CHECK(dp_translate_listener(lm, &cfg, err, sizeof(err)) < 0);
    CHECK_STR(err,
              "filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0]: "
              "envoy.config.route.v3.VirtualHost.matcher (field 21): not supported");
    /* ... and in the HCM itself */
    h->route_config->virtual_hosts[0]->base.n_unknown_fields = 0;
    free(h->route_config->virtual_hosts[0]->base.unknown_fields[0].data);
    free(h->route_config->virtual_hosts[0]->base.unknown_fields);
    h->route_config->virtual_hosts[0]->base.unknown_fields = NULL;
    append_unknown_varint(hcm, 7);
    free(any->value.data);
    any->value.data = pack(hcm, &any->value.len);
    CHECK(dp_translate_listener(lm, &cfg, err, sizeof(err)) < 0);
    CHECK_STR(err, "filter_chains[0].filters[0].typed_config.tracing (field 7): not supported");
    protobuf_c_message_free_unpacked(hcm, NULL);

    /* in an HTTP filter's typed_config */
    hcm = from_yaml(
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        "stat_prefix: s\n" ROUTES "\nhttp_filters: [" ROUTER "]");
    h = (void *)hcm;
    Google__Protobuf__Any *rany = h->http_filters[0]->typed_config;
    uint8_t extra[2] = {0x28, 0x01}; /* field 5, varint 1 */
    rany->value.data = realloc(rany->value.data, rany->value.len + 2);
    memcpy(rany->value.data + rany->value.len, extra, 2);
    rany->value.len += 2;
    free(any->value.data);
    any->value.data = pack(hcm, &any->value.len);
    CHECK(dp_translate_listener(lm, &cfg, err, sizeof(err)) < 0);
    CHECK_STR(
        err,
        "filter_chains[0].filters[0].typed_config.http_filters[0].typed_config.strict_check_headers (field 5): "
        "not supported");
    CHECK(cfg == NULL);
    protobuf_c_message_free_unpacked(hcm, NULL);
    protobuf_c_message_free_unpacked(lm, NULL);
}

/* ---- clusters ------------------------------------------------------------------- */

static void test_cluster_defaults(void)
{
    dp_cluster_cfg_t *c = NULL;
    int rc = cluster(
        "name: xlate-defaults\n"
        "load_assignment:\n"
        "  cluster_name: xlate-defaults\n"
        "  endpoints:\n"
        "  - locality: {zone: z1}\n"
        "    lb_endpoints:\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.1, port_value: 8080}}}\n"
        "    - endpoint: {address: {socket_address: {address: 'fd00::2', port_value: 80}}, hostname: h}\n"
        "      health_status: HEALTHY\n"
        "      load_balancing_weight: 5\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.3, port_value: 8080}}}\n"
        "      health_status: UNHEALTHY\n"
        "    - endpoint: {address: {socket_address: {address: 10.0.0.4, port_value: 8080}}}\n"
        "      health_status: DEGRADED\n",
        NULL, &c);
    CHECK_INT(rc, 0);
    if (rc != 0) {
        fprintf(stderr, "%s\n", err);
        return;
    }
    CHECK_INT(c->refcnt, 1);
    CHECK_STR(c->name, "xlate-defaults");
    CHECK_INT(c->type, DP_CLUSTER_STATIC);
    CHECK_INT(c->lb_policy, DP_LB_ROUND_ROBIN);
    CHECK_INT(c->connect_timeout_ms, 5000);
    CHECK_INT(c->per_connection_buffer_limit_bytes, 1024 * 1024);
    CHECK_INT(c->max_connections, 1024);
    CHECK_INT(c->max_pending_requests, 1024);
    CHECK_INT(c->max_requests, 1024);
    CHECK_INT(c->max_retries, 3);
    CHECK_INT(c->choice_count, 2);
    CHECK(c->eds_service_name == NULL);
    CHECK_INT(c->n_endpoints, 4);
    CHECK_STR(c->endpoints[0].addr_str, "10.0.0.1:8080");
    CHECK_INT(c->endpoints[0].weight, 1);
    CHECK(c->endpoints[0].healthy);
    CHECK_STR(c->endpoints[1].addr_str, "[fd00::2]:80");
    CHECK_INT(c->endpoints[1].addr.ss_family, AF_INET6);
    CHECK_INT(c->endpoints[1].weight, 5);
    CHECK(c->endpoints[1].healthy);
    CHECK(!c->endpoints[2].healthy);
    CHECK(!c->endpoints[3].healthy);
    CHECK(c->rt == dp_cluster_rt_get("xlate-defaults"));
    CHECK_INT(dp_stat_get(c->rt->membership_total), 4);
    CHECK_INT(dp_stat_get(c->rt->membership_healthy), 2);
    dp_cluster_cfg_unref(c);

    rc = cluster("name: xlate-values\n"
                 "type: STATIC\n"
                 "connect_timeout: 0.25s\n"
                 "per_connection_buffer_limit_bytes: 4096\n"
                 "lb_policy: LEAST_REQUEST\n"
                 "least_request_lb_config: {choice_count: 4}\n"
                 "circuit_breakers:\n"
                 "  thresholds:\n"
                 "  - {priority: DEFAULT, max_connections: 10, max_pending_requests: 20, max_requests: 30, "
                 "max_retries: 0}\n"
                 "  - {max_connections: 99}\n",
                 NULL, &c);
    CHECK_INT(rc, 0);
    if (c) {
        CHECK_INT(c->lb_policy, DP_LB_LEAST_REQUEST);
        CHECK_INT(c->choice_count, 4);
        CHECK_INT(c->connect_timeout_ms, 250);
        CHECK_INT(c->per_connection_buffer_limit_bytes, 4096);
        CHECK_INT(c->max_connections, 10); /* the first DEFAULT entry wins */
        CHECK_INT(c->max_pending_requests, 20);
        CHECK_INT(c->max_requests, 30);
        CHECK_INT(c->max_retries, 0);
        CHECK_INT(c->n_endpoints, 0);
        CHECK_INT(dp_stat_get(c->rt->membership_total), 0);
    }
    dp_cluster_cfg_unref(c);

    rc = cluster("name: r\nlb_policy: RANDOM\nconnect_timeout: 0.0001s", NULL, &c);
    CHECK_INT(rc, 0);
    if (c) {
        CHECK_INT(c->lb_policy, DP_LB_RANDOM);
        CHECK_INT(c->connect_timeout_ms, 1); /* > 0 stays > 0 */
    }
    dp_cluster_cfg_unref(c);
}

static void test_cluster_eds(void)
{
    dp_cluster_cfg_t *c = NULL;
    int rc = cluster("name: xlate-eds\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}", NULL, &c);
    CHECK_INT(rc, 0);
    if (c) {
        CHECK_INT(c->type, DP_CLUSTER_EDS);
        CHECK_STR(c->eds_service_name, "xlate-eds"); /* defaults to the cluster name */
        CHECK_INT(c->n_endpoints, 0);
    }
    dp_cluster_cfg_unref(c);

    rc = cluster("name: xlate-eds2\ntype: EDS\neds_cluster_config: {service_name: svc, eds_config: "
                 "{api_config_source: {api_type: GRPC, transport_api_version: V3, grpc_services: "
                 "[{envoy_grpc: {cluster_name: xds}}]}}}",
                 "cluster_name: svc\n"
                 "endpoints:\n"
                 "- lb_endpoints:\n"
                 "  - endpoint: {address: {socket_address: {address: 10.1.0.1, port_value: 80}}}\n"
                 "  - endpoint: {address: {socket_address: {address: 10.1.0.2, port_value: 80}}}\n"
                 "    health_status: DRAINING\n",
                 &c);
    CHECK_INT(rc, 0);
    if (c) {
        CHECK_STR(c->eds_service_name, "svc");
        CHECK_INT(c->n_endpoints, 2);
        CHECK_STR(c->endpoints[1].addr_str, "10.1.0.2:80");
        CHECK(!c->endpoints[1].healthy);
        CHECK_INT(dp_stat_get(c->rt->membership_total), 2);
        CHECK_INT(dp_stat_get(c->rt->membership_healthy), 1);
    } else {
        fprintf(stderr, "%s\n", err);
    }
    dp_cluster_cfg_unref(c);

    /* CLA errors are relative to the CLA */
    rc = cluster("name: e\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}",
                 "cluster_name: e\nendpoints: [{priority: 1, lb_endpoints: []}]", &c);
    CHECK(rc < 0);
    CHECK_STR(err, "endpoints[0].priority: 1: priorities other than 0 are not supported yet");
    CHECK_HAS(cluster_err("name: e\ntype: EDS"), "eds_cluster_config: required for an EDS cluster");
    CHECK_HAS(cluster_err("name: e\ntype: EDS\neds_cluster_config: {}"),
              "eds_cluster_config.eds_config: required");
    CHECK_HAS(cluster_err("name: e\ntype: EDS\neds_cluster_config: {eds_config: {}}"),
              "eds_cluster_config.eds_config: one of ads or api_config_source is required");
}

static void test_cluster_errors(void)
{
    CHECK_STR(cluster_err("name: c\nlb_policy: MAGLEV"), "lb_policy: unsupported lb_policy MAGLEV");
    CHECK_STR(cluster_err("name: c\nlb_policy: RING_HASH"), "lb_policy: unsupported lb_policy RING_HASH");
    CHECK_STR(cluster_err("name: c\ntype: STRICT_DNS"),
              "type: STRICT_DNS is not supported yet (STATIC, EDS or ORIGINAL_DST)");
    CHECK_STR(cluster_err("name: c\ntype: LOGICAL_DNS"),
              "type: LOGICAL_DNS is not supported yet (STATIC, EDS or ORIGINAL_DST)");
    /* ORIGINAL_DST goes with CLUSTER_PROVIDED only, and has no endpoints of its own */
    CHECK_STR(cluster_err("name: c\ntype: ORIGINAL_DST"),
              "lb_policy: only CLUSTER_PROVIDED is allowed with cluster type ORIGINAL_DST");
    CHECK_STR(cluster_err("name: c\nlb_policy: CLUSTER_PROVIDED"),
              "lb_policy: CLUSTER_PROVIDED is only valid with cluster type ORIGINAL_DST");
    CHECK_STR(cluster_err("name: c\ntype: ORIGINAL_DST\nlb_policy: CLUSTER_PROVIDED\nload_assignment: "
                          "{cluster_name: c}"),
              "load_assignment: not allowed with cluster type ORIGINAL_DST");
    CHECK_STR(cluster_err("connect_timeout: 1s"), "name: required");
    CHECK_STR(cluster_err("name: c\nconnect_timeout: 0s"), "connect_timeout: must be greater than 0");
    CHECK_STR(cluster_err("name: c\nlb_policy: LEAST_REQUEST\nleast_request_lb_config: {choice_count: 1}"),
              "least_request_lb_config.choice_count: must be at least 2");
    CHECK_STR(cluster_err("name: c\ncircuit_breakers: {thresholds: [{priority: HIGH, max_connections: 1}]}"),
              "circuit_breakers.thresholds[0].priority: HIGH is not supported yet");
    CHECK_STR(
        cluster_err("name: c\ntyped_extension_protocol_options: {envoy.extensions.upstreams.http.v3"
                    ".HttpProtocolOptions: {'@type': "
                    "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router}}"),
        "typed_extension_protocol_options[\"envoy.extensions.upstreams.http.v3.HttpProtocolOptions\"]: type "
        "'envoy.extensions.filters.http.router.v3.Router' is not an "
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
    CHECK_STR(cluster_err("name: c\ntransport_socket: {name: envoy.transport_sockets.alts}"),
              "transport_socket.name: transport socket 'envoy.transport_sockets.alts' is not supported yet (only "
              "envoy.transport_sockets.tls or envoy.transport_sockets.raw_buffer)");
    CHECK_STR(cluster_err("name: c\nload_assignment: {endpoints: []}"),
              "load_assignment.cluster_name: required");
    CHECK_STR(
        cluster_err("name: c\nload_assignment: {cluster_name: c, endpoints: [{load_balancing_weight: 2}]}"),
        "load_assignment.endpoints[0].load_balancing_weight: locality weights are not supported yet");
    CHECK_STR(
        cluster_err("name: c\nload_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: "
                    "{address: {socket_address: {address: 1.2.3.4, port_value: 1}}}, "
                    "load_balancing_weight: 0}]}]}"),
        "load_assignment.endpoints[0].lb_endpoints[0].load_balancing_weight: must be at least 1");
    CHECK_STR(cluster_err("name: c\nload_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{}]}]}"),
              "load_assignment.endpoints[0].lb_endpoints[0].endpoint: required");
    CHECK_STR(
        cluster_err("name: c\nload_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: "
                    "{address: {socket_address: {address: db.local, port_value: 5432}}}}]}]}"),
        "load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address: 'db.local' is "
        "not an IPv4 or IPv6 address (DNS names are not supported)");
    CHECK_STR(cluster_err("name: c\neds_cluster_config: {eds_config: {ads: {}}}"),
              "eds_cluster_config: only valid for type EDS");
}

static void test_resource_names(void)
{
    struct {
        dp_res_type_t t;
        const char *yaml;
        const char *name;
    } cases[] = {
        {DP_RES_LISTENER, "name: lis", "lis"},
        {DP_RES_ROUTE, "name: rou", "rou"},
        {DP_RES_CLUSTER, "name: clu", "clu"},
        {DP_RES_ENDPOINT, "cluster_name: cla", "cla"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ProtobufCMessage *m = res(cases[i].t, cases[i].yaml);
        CHECK(m != NULL);
        if (m == NULL)
            continue;
        CHECK_STR(dp_resource_name(cases[i].t, m), cases[i].name);
        /* asking with the wrong type */
        CHECK(dp_resource_name((dp_res_type_t)((cases[i].t + 1) % DP_RES__COUNT), m) == NULL);
        protobuf_c_message_free_unpacked(m, NULL);
    }
}

int main(void)
{
    test_route_defaults();
    test_header_matchers();
    test_weighted();
    test_mutations();
    test_direct_response();
    test_redirects();
    test_route_errors();
    test_listener_defaults();
    test_listener_values();
    test_listener_h2_upgrades();
    test_http_filters();
    test_listener_errors();
    test_transparent();
    test_unknown_fields();
    test_cluster_defaults();
    test_cluster_eds();
    test_cluster_errors();
    test_resource_names();
    TEST_DONE();
}
