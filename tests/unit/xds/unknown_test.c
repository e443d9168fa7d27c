/* dp_pb_check_unknown(), Envoy's field names and the type registry.
 *
 * Unknown fields are produced the way a control plane produces them: bytes
 * of a message that sets field N are appended to the bytes of a message
 * type that lacks field N, and the result is decoded. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

#include "dataplane/core/common.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/cluster/v3/circuit_breaker.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/core/v3/address.pb-c.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "xds/typereg.h"
#include "xds/unknown.h"

/* Bytes of `a` followed by bytes of `b` (may be NULL), decoded as `d`. */
static ProtobufCMessage *decode_concat(const ProtobufCMessageDescriptor *d,
                                       const ProtobufCMessage *a, const ProtobufCMessage *b)
{
    size_t la = protobuf_c_message_get_packed_size(a);
    size_t lb = b ? protobuf_c_message_get_packed_size(b) : 0;
    uint8_t *buf = malloc(la + lb + 1);
    ProtobufCMessage *m;

    if (buf == NULL)
        abort();
    protobuf_c_message_pack(a, buf);
    if (b)
        protobuf_c_message_pack(b, buf + la);
    m = protobuf_c_message_unpack(d, NULL, la + lb, buf);
    free(buf);
    return m;
}

/* Packs a hand-built tree and decodes it again, as the xDS client would
 * receive it. */
static ProtobufCMessage *roundtrip(const ProtobufCMessage *m)
{
    return decode_concat(m->descriptor, m, NULL);
}

static void test_typereg(void)
{
    size_t n = dp_typereg_count();

    CHECK(n > 90);
    CHECK(dp_typereg_lookup_name("envoy.config.cluster.v3.Cluster") ==
          &envoy__config__cluster__v3__cluster__descriptor);
    CHECK(dp_typereg_lookup_name("envoy.config.cluster.v3.CircuitBreakers.Thresholds") ==
          &envoy__config__cluster__v3__circuit_breakers__thresholds__descriptor);
    CHECK(dp_typereg_lookup_name("google.protobuf.Duration") == &google__protobuf__duration__descriptor);
    CHECK(dp_typereg_lookup_name("google.rpc.Status") != NULL);
    CHECK(dp_typereg_lookup_name("envoy.extensions.filters.http.router.v3.Router") != NULL);
    /* Envoy types we did not model, near misses and junk. */
    CHECK(dp_typereg_lookup_name("envoy.config.core.v3.Pipe") == NULL);
    CHECK(dp_typereg_lookup_name("envoy.config.cluster.v3.cluster") == NULL);
    CHECK(dp_typereg_lookup_name("envoy.config.cluster.v3.Cluster ") == NULL);
    CHECK(dp_typereg_lookup_name("") == NULL);
    CHECK(dp_typereg_lookup_name(NULL) == NULL);
    CHECK(dp_typereg_lookup_name("aaa") == NULL);
    CHECK(dp_typereg_lookup_name("zzz") == NULL);

    CHECK(dp_typereg_lookup("type.googleapis.com/envoy.config.listener.v3.Listener") ==
          &envoy__config__listener__v3__listener__descriptor);
    CHECK(dp_typereg_lookup("example.com/a/b/envoy.config.route.v3.RouteConfiguration") ==
          dp_typereg_lookup_name("envoy.config.route.v3.RouteConfiguration"));
    CHECK(dp_typereg_lookup("/google.protobuf.Struct") == &google__protobuf__struct__descriptor);
    CHECK(dp_typereg_lookup("envoy.config.cluster.v3.Cluster") == NULL);
    CHECK(dp_typereg_lookup("type.googleapis.com/") == NULL);
    CHECK(dp_typereg_lookup("type.googleapis.com/envoy.config.cluster.v3.Nope") == NULL);
    CHECK(dp_typereg_lookup(NULL) == NULL);

    /* Bisection needs strict strcmp order; every entry must find itself. */
    int sorted = 1, self = 1;
    for (size_t i = 0; i < n; i++) {
        const ProtobufCMessageDescriptor *d = dp_typereg_at(i);

        if (i > 0 && strcmp(dp_typereg_at(i - 1)->name, d->name) >= 0)
            sorted = 0;
        if (dp_typereg_lookup_name(d->name) != d)
            self = 0;
    }
    CHECK(sorted);
    CHECK(self);
    CHECK(dp_typereg_at(n) == NULL);
}

static void test_clean_tree(void)
{
    Envoy__Config__Cluster__V3__Cluster c = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers cb = ENVOY__CONFIG__CLUSTER__V3__CIRCUIT_BREAKERS__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds th =
        ENVOY__CONFIG__CLUSTER__V3__CIRCUIT_BREAKERS__THRESHOLDS__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds *ths[1] = {&th};
    Google__Protobuf__UInt32Value five = GOOGLE__PROTOBUF__UINT32_VALUE__INIT;
    char err[256] = "untouched";
    ProtobufCMessage *m;

    c.name = "c1";
    c.cluster_discovery_type_case = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE;
    c.type = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS;
    five.value = 5;
    th.max_connections = &five;
    cb.n_thresholds = 1;
    cb.thresholds = ths;
    c.circuit_breakers = &cb;
    m = roundtrip(&c.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), 0);
    CHECK_STR(err, "untouched");
    protobuf_c_message_free_unpacked(m, NULL);

    /* Oneof members share a union: with exact_match (a string) active, the
     * string_match message pointer must not be followed. */
    Envoy__Config__Route__V3__RouteMatch rm = ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__INIT;
    Envoy__Config__Route__V3__HeaderMatcher hm = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__INIT;
    Envoy__Config__Route__V3__HeaderMatcher *hms[1] = {&hm};

    rm.path_specifier_case = ENVOY__CONFIG__ROUTE__V3__ROUTE_MATCH__PATH_SPECIFIER_PREFIX;
    rm.prefix = "/";
    hm.name = ":method";
    hm.header_match_specifier_case = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_EXACT_MATCH;
    hm.exact_match = "GET";
    rm.n_headers = 1;
    rm.headers = hms;
    m = roundtrip(&rm.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), 0);
    CHECK_STR(err, "untouched");
    protobuf_c_message_free_unpacked(m, NULL);
}

static void test_root_unknown(void)
{
    Envoy__Config__Core__V3__Locality loc = ENVOY__CONFIG__CORE__V3__LOCALITY__INIT;
    Envoy__Config__Core__V3__SocketAddress sa = ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__INIT;
    char err[256];
    ProtobufCMessage *m;

    loc.region = "eu";
    sa.ipv4_compat = 1; /* field 6, which Locality lacks */
    m = decode_concat(&envoy__config__core__v3__locality__descriptor, &loc.base, &sa.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    /* Envoy's Locality has no field 6 either: named by number only. */
    CHECK_STR(err, "envoy.config.core.v3.Locality (field 6): not supported");
    /* The known field still decoded. */
    CHECK_STR(((Envoy__Config__Core__V3__Locality *)m)->region, "eu");

    /* No buffer: still refused. A short buffer: cut, NUL-terminated. */
    CHECK_INT(dp_pb_check_unknown(m, NULL, 0), DP_EINVAL);
    memset(err, 'x', sizeof(err));
    CHECK_INT(dp_pb_check_unknown(m, err, 12), DP_EINVAL);
    CHECK_STR(err, "envoy.confi");
    protobuf_c_message_free_unpacked(m, NULL);

    CHECK_INT(dp_pb_check_unknown(NULL, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "null message");
}

/* An omitted oneof member (RouteMatch.safe_regex = 10) is an unknown field
 * like any other. HeaderMatcher.suffix_match is a string at number 10. */
static void test_omitted_oneof_member(void)
{
    Envoy__Config__Route__V3__HeaderMatcher hm = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__INIT;
    char err[256];
    ProtobufCMessage *m;

    hm.header_match_specifier_case = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_SUFFIX_MATCH;
    hm.suffix_match = "^/a.*$";
    m = decode_concat(&envoy__config__route__v3__route_match__descriptor, &hm.base, NULL);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "envoy.config.route.v3.RouteMatch.safe_regex (field 10): not supported");
    protobuf_c_message_free_unpacked(m, NULL);
}

/* Cluster.circuit_breakers.thresholds[1].max_connection_pools (7), an
 * UInt32Value: on the wire the same as Route.direct_response (7) holding
 * DirectResponseAction{status: 5}. */
static void test_nested_repeated(void)
{
    Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds th0 =
        ENVOY__CONFIG__CLUSTER__V3__CIRCUIT_BREAKERS__THRESHOLDS__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds th1 =
        ENVOY__CONFIG__CLUSTER__V3__CIRCUIT_BREAKERS__THRESHOLDS__INIT;
    Envoy__Config__Route__V3__Route route = ENVOY__CONFIG__ROUTE__V3__ROUTE__INIT;
    Envoy__Config__Route__V3__DirectResponseAction dr = ENVOY__CONFIG__ROUTE__V3__DIRECT_RESPONSE_ACTION__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers cb = ENVOY__CONFIG__CLUSTER__V3__CIRCUIT_BREAKERS__INIT;
    Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds *ths[2];
    Envoy__Config__Cluster__V3__Cluster c = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__INIT;
    ProtobufCMessage *bad, *m;
    char err[256];

    dr.status = 5;
    route.action_case = ENVOY__CONFIG__ROUTE__V3__ROUTE__ACTION_DIRECT_RESPONSE;
    route.direct_response = &dr;
    th1.priority = ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__HIGH;
    bad = decode_concat(&envoy__config__cluster__v3__circuit_breakers__thresholds__descriptor,
                        &th1.base, &route.base);
    CHECK(bad != NULL);
    if (bad == NULL)
        return;
    CHECK_INT(((Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds *)bad)->priority,
              ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__HIGH);

    ths[0] = &th0;
    ths[1] = (Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds *)bad;
    cb.n_thresholds = 2;
    cb.thresholds = ths;
    c.name = "c1";
    c.circuit_breakers = &cb;
    /* protobuf-c re-emits unknown fields when packing, so the unknown field
     * survives the trip through the whole Cluster. */
    m = roundtrip(&c.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "envoy.config.cluster.v3.Cluster.circuit_breakers.thresholds[1]: "
                   "envoy.config.cluster.v3.CircuitBreakers.Thresholds.max_connection_pools (field 7): "
                   "not supported");
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(bad, NULL);
}

/* Map values are named by key; Struct has no field 2 (Duration.nanos). */
static void test_map_value(void)
{
    Google__Protobuf__Struct st = GOOGLE__PROTOBUF__STRUCT__INIT;
    Google__Protobuf__Duration du = GOOGLE__PROTOBUF__DURATION__INIT;
    Envoy__Config__Core__V3__Metadata__FilterMetadataEntry e0 =
        ENVOY__CONFIG__CORE__V3__METADATA__FILTER_METADATA_ENTRY__INIT;
    Envoy__Config__Core__V3__Metadata__FilterMetadataEntry e1 =
        ENVOY__CONFIG__CORE__V3__METADATA__FILTER_METADATA_ENTRY__INIT;
    Envoy__Config__Core__V3__Metadata__FilterMetadataEntry *ents[2] = {&e0, &e1};
    Envoy__Config__Core__V3__Metadata md = ENVOY__CONFIG__CORE__V3__METADATA__INIT;
    Google__Protobuf__Struct ok = GOOGLE__PROTOBUF__STRUCT__INIT;
    ProtobufCMessage *bad, *m;
    char err[256];

    du.nanos = 3;
    bad = decode_concat(&google__protobuf__struct__descriptor, &st.base, &du.base);
    CHECK(bad != NULL);
    if (bad == NULL)
        return;
    e0.key = "a.ok";
    e0.value = &ok;
    e1.key = "envoy.lb";
    e1.value = (Google__Protobuf__Struct *)bad;
    md.n_filter_metadata = 2;
    md.filter_metadata = ents;
    m = roundtrip(&md.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    /* Well-known types are not in the name table: the number stands. */
    CHECK_STR(err, "envoy.config.core.v3.Metadata.filter_metadata[\"envoy.lb\"]: google.protobuf.Struct "
                   "(field 2): not supported");
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(bad, NULL);
}

/* A deep path through repeated fields and oneofs (LbEndpoint.endpoint,
 * Address.socket_address): SocketAddress.named_port (4) is omitted;
 * HeaderMatcher.exact_match is a string at number 4. */
static void test_deep_oneof_path(void)
{
    Envoy__Config__Core__V3__SocketAddress sa = ENVOY__CONFIG__CORE__V3__SOCKET_ADDRESS__INIT;
    Envoy__Config__Route__V3__HeaderMatcher hm = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__INIT;
    Envoy__Config__Core__V3__Address addr = ENVOY__CONFIG__CORE__V3__ADDRESS__INIT;
    Envoy__Config__Endpoint__V3__Endpoint ep = ENVOY__CONFIG__ENDPOINT__V3__ENDPOINT__INIT;
    Envoy__Config__Endpoint__V3__LbEndpoint lbe0 = ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__INIT;
    Envoy__Config__Endpoint__V3__LbEndpoint lbe1 = ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__INIT;
    Envoy__Config__Endpoint__V3__LbEndpoint *lbes[2] = {&lbe0, &lbe1};
    Envoy__Config__Endpoint__V3__LocalityLbEndpoints lle = ENVOY__CONFIG__ENDPOINT__V3__LOCALITY_LB_ENDPOINTS__INIT;
    Envoy__Config__Endpoint__V3__LocalityLbEndpoints *lles[1] = {&lle};
    Envoy__Config__Endpoint__V3__ClusterLoadAssignment cla =
        ENVOY__CONFIG__ENDPOINT__V3__CLUSTER_LOAD_ASSIGNMENT__INIT;
    Envoy__Config__Cluster__V3__Cluster c = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__INIT;
    Envoy__Config__Cluster__V3__Cluster *cs[1] = {&c};
    Envoy__Config__Bootstrap__V3__Bootstrap__StaticResources sr =
        ENVOY__CONFIG__BOOTSTRAP__V3__BOOTSTRAP__STATIC_RESOURCES__INIT;
    Envoy__Config__Bootstrap__V3__Bootstrap bs = ENVOY__CONFIG__BOOTSTRAP__V3__BOOTSTRAP__INIT;
    ProtobufCMessage *bad, *m;
    char err[512];

    sa.address = "10.0.0.1";
    hm.header_match_specifier_case = ENVOY__CONFIG__ROUTE__V3__HEADER_MATCHER__HEADER_MATCH_SPECIFIER_EXACT_MATCH;
    hm.exact_match = "http";
    bad = decode_concat(&envoy__config__core__v3__socket_address__descriptor, &sa.base, &hm.base);
    CHECK(bad != NULL);
    if (bad == NULL)
        return;
    addr.address_case = ENVOY__CONFIG__CORE__V3__ADDRESS__ADDRESS_SOCKET_ADDRESS;
    addr.socket_address = (Envoy__Config__Core__V3__SocketAddress *)bad;
    ep.address = &addr;
    lbe1.host_identifier_case = ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT;
    lbe1.endpoint = &ep;
    lle.n_lb_endpoints = 2;
    lle.lb_endpoints = lbes;
    cla.cluster_name = "c1";
    cla.n_endpoints = 1;
    cla.endpoints = lles;
    c.name = "c1";
    c.load_assignment = &cla;
    sr.n_clusters = 1;
    sr.clusters = cs;
    bs.static_resources = &sr;
    m = roundtrip(&bs.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "envoy.config.bootstrap.v3.Bootstrap.static_resources.clusters[0].load_assignment."
                   "endpoints[0].lb_endpoints[1].endpoint.address.socket_address: "
                   "envoy.config.core.v3.SocketAddress.named_port (field 4): not supported");
    protobuf_c_message_free_unpacked(m, NULL);
    protobuf_c_message_free_unpacked(bad, NULL);
}

/* Cluster.dns_lookup_family (17, an enum) is a real Envoy field proto/
 * omits: xDS bytes carry only its number, the table gives its name. */
static void test_named_root_field(void)
{
    Envoy__Config__Cluster__V3__Cluster c = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__INIT;
    static const uint8_t v4_only[] = {0x88, 0x01, 0x01}; /* field 17, varint 1 */
    size_t len;
    uint8_t *buf;
    ProtobufCMessage *m;
    char err[256];

    c.name = "dns";
    c.cluster_discovery_type_case = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE;
    c.type = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STRICT_DNS;
    len = protobuf_c_message_get_packed_size(&c.base);
    buf = malloc(len + sizeof(v4_only));
    if (buf == NULL)
        abort();
    protobuf_c_message_pack(&c.base, buf);
    memcpy(buf + len, v4_only, sizeof(v4_only));
    m = protobuf_c_message_unpack(&envoy__config__cluster__v3__cluster__descriptor, NULL,
                                  len + sizeof(v4_only), buf);
    free(buf);
    CHECK(m != NULL);
    if (m == NULL)
        return;
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "envoy.config.cluster.v3.Cluster.dns_lookup_family (field 17): not supported");
    protobuf_c_message_free_unpacked(m, NULL);
}

/* The table the lookup bisects, as committed. */
static const struct {
    const char *message;
    uint32_t number;
    const char *name;
} table[] = {
#include "xds/envoy_fields.inc"
};

static void test_field_names(void)
{
    size_t n = sizeof(table) / sizeof(table[0]);

    CHECK_STR(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluster", 17), "dns_lookup_family");
    /* Modelled fields are listed too, and nested types by full name. */
    CHECK_STR(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluster", 1), "name");
    CHECK_STR(dp_pb_envoy_field_name("envoy.config.cluster.v3.CircuitBreakers.Thresholds", 7),
              "max_connection_pools");
    CHECK_STR(dp_pb_envoy_field_name("envoy.config.route.v3.VirtualHost", 16), "retry_policy");
    CHECK_STR(dp_pb_envoy_field_name("envoy.extensions.filters.network.http_connection_manager.v3."
                                     "HttpConnectionManager", 7),
              "tracing");
    /* Map entries are messages of proto/ as well. */
    CHECK_STR(dp_pb_envoy_field_name("envoy.config.core.v3.Metadata.FilterMetadataEntry", 2), "value");
    /* Numbers Envoy does not define, WKTs, unknown and prefix names. */
    CHECK(dp_pb_envoy_field_name("envoy.config.core.v3.Locality", 6) == NULL);
    CHECK(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluster", 0) == NULL);
    CHECK(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluster", 100000) == NULL);
    CHECK(dp_pb_envoy_field_name("google.protobuf.Struct", 1) == NULL);
    CHECK(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluste", 17) == NULL);
    CHECK(dp_pb_envoy_field_name("envoy.config.cluster.v3.Cluster.", 17) == NULL);
    CHECK(dp_pb_envoy_field_name("", 1) == NULL);
    CHECK(dp_pb_envoy_field_name(NULL, 1) == NULL);

    /* Bisection needs strict (message by strcmp, number) order; every
     * entry must then find itself; and every Envoy message the registry
     * lists has its fields in the table (those with any: a few have none). */
    int sorted = 1, self = 1;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            int c = strcmp(table[i - 1].message, table[i].message);

            if (c > 0 || (c == 0 && table[i - 1].number >= table[i].number))
                sorted = 0;
        }
        const char *got = dp_pb_envoy_field_name(table[i].message, table[i].number);
        if (got == NULL || strcmp(got, table[i].name) != 0)
            self = 0;
    }
    CHECK(n > 500);
    CHECK(sorted);
    CHECK(self);

    /* Every field we model is in the table under the same name: the table
     * and proto/ describe the same messages. */
    size_t modelled = 0, mismatched = 0;
    for (size_t i = 0; i < dp_typereg_count(); i++) {
        const ProtobufCMessageDescriptor *d = dp_typereg_at(i);

        if (strncmp(d->name, "google.", 7) == 0 || strncmp(d->name, "dataplane.", 10) == 0)
            continue; /* not Envoy's API */
        for (unsigned f = 0; f < d->n_fields; f++) {
            const char *got = dp_pb_envoy_field_name(d->name, d->fields[f].id);

            modelled++;
            if (got == NULL || strcmp(got, d->fields[f].name) != 0) {
                mismatched++;
                fprintf(stderr, "  %s field %u (%s): table has %s\n", d->name, d->fields[f].id,
                        d->fields[f].name, got ? got : "nothing");
            }
        }
    }
    CHECK(modelled > 300);
    CHECK_INT(mismatched, 0);
}

/* Any payloads are opaque here: whoever unpacks them checks them. */
static void test_any_not_descended(void)
{
    Envoy__Config__Listener__V3__Filter f = ENVOY__CONFIG__LISTENER__V3__FILTER__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    uint8_t junk[] = {0xf8, 0x07, 0x01}; /* field 127, varint 1 */
    char err[256] = "untouched";
    ProtobufCMessage *m;

    any.type_url = "type.googleapis.com/envoy.config.core.v3.Locality";
    any.value.data = junk;
    any.value.len = sizeof(junk);
    f.name = "x";
    f.config_type_case = ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG;
    f.typed_config = &any;
    m = roundtrip(&f.base);
    CHECK(m != NULL);
    CHECK_INT(dp_pb_check_unknown(m, err, sizeof(err)), 0);
    CHECK_STR(err, "untouched");

    /* ... and the payload, once unpacked, is refused on its own. */
    const Google__Protobuf__Any *a = ((Envoy__Config__Listener__V3__Filter *)m)->typed_config;
    const ProtobufCMessageDescriptor *d = dp_typereg_lookup(a->type_url);
    CHECK(d == &envoy__config__core__v3__locality__descriptor);
    ProtobufCMessage *inner = protobuf_c_message_unpack(d, NULL, a->value.len, a->value.data);
    CHECK(inner != NULL);
    if (inner == NULL) {
        protobuf_c_message_free_unpacked(m, NULL);
        return;
    }
    CHECK_INT(dp_pb_check_unknown(inner, err, sizeof(err)), DP_EINVAL);
    CHECK_STR(err, "envoy.config.core.v3.Locality (field 127): not supported");
    protobuf_c_message_free_unpacked(inner, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
}

int main(void)
{
    test_typereg();
    test_clean_tree();
    test_root_unknown();
    test_omitted_oneof_member();
    test_nested_repeated();
    test_map_value();
    test_deep_oneof_path();
    test_any_not_descended();
    test_named_root_field();
    test_field_names();
    TEST_DONE();
}
