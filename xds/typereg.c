/* Type registry: one const table of every message descriptor generated from
 * proto/ and the well-known types, sorted by full name, searched by
 * bisection.
 *
 * The core table is written out by hand (it is the list of types we accept;
 * filter areas add theirs in typereg_<area>.c), and
 * kept honest by tests: unit/xds/unknown_test.c checks the order and that
 * each entry resolves to itself, and conformance/envoy-protos compares the
 * table with every message protoc finds in proto/. Map entry types
 * (FooEntry) are listed too: protoc-c generates them as messages. */
#include "xds/typereg.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "xds/typereg_parts.h"

#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "envoy/config/bootstrap/v3/bootstrap.pb-c.h"
#include "envoy/config/cluster/v3/circuit_breaker.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/core/v3/address.pb-c.h"
#include "envoy/config/core/v3/base.pb-c.h"
#include "envoy/config/core/v3/config_source.pb-c.h"
#include "envoy/config/core/v3/extension.pb-c.h"
#include "envoy/config/core/v3/grpc_service.pb-c.h"
#include "envoy/config/core/v3/health_check.pb-c.h"
#include "envoy/config/core/v3/protocol.pb-c.h"
#include "envoy/config/core/v3/substitution_format_string.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/config/route/v3/route.pb-c.h"
#include "envoy/config/route/v3/route_components.pb-c.h"
#include "envoy/extensions/access_loggers/file/v3/file.pb-c.h"
#include "envoy/extensions/access_loggers/stream/v3/stream.pb-c.h"
#include "envoy/extensions/filters/http/router/v3/router.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "envoy/service/discovery/v3/ads.pb-c.h"
#include "envoy/service/discovery/v3/discovery.pb-c.h"
#include "envoy/type/matcher/v3/string.pb-c.h"
#include "google/protobuf/any.pb-c.h"
#include "google/protobuf/duration.pb-c.h"
#include "google/protobuf/empty.pb-c.h"
#include "google/protobuf/struct.pb-c.h"
#include "google/protobuf/timestamp.pb-c.h"
#include "google/protobuf/wrappers.pb-c.h"
#include "google/rpc/status.pb-c.h"

static const ProtobufCMessageDescriptor *const typereg_table[] = {
    &envoy__config__accesslog__v3__access_log__descriptor,
    &envoy__config__bootstrap__v3__admin__descriptor,
    &envoy__config__bootstrap__v3__bootstrap__descriptor,
    &envoy__config__bootstrap__v3__bootstrap__dynamic_resources__descriptor,
    &envoy__config__bootstrap__v3__bootstrap__static_resources__descriptor,
    &envoy__config__bootstrap__v3__cluster_manager__descriptor,
    &envoy__config__cluster__v3__circuit_breakers__descriptor,
    &envoy__config__cluster__v3__circuit_breakers__thresholds__descriptor,
    &envoy__config__cluster__v3__cluster__descriptor,
    &envoy__config__cluster__v3__cluster__eds_cluster_config__descriptor,
    &envoy__config__cluster__v3__cluster__least_request_lb_config__descriptor,
    &envoy__config__cluster__v3__cluster__typed_extension_protocol_options_entry__descriptor,
    &envoy__config__core__v3__address__descriptor,
    &envoy__config__core__v3__aggregated_config_source__descriptor,
    &envoy__config__core__v3__api_config_source__descriptor,
    &envoy__config__core__v3__config_source__descriptor,
    &envoy__config__core__v3__control_plane__descriptor,
    &envoy__config__core__v3__data_source__descriptor,
    &envoy__config__core__v3__grpc_service__descriptor,
    &envoy__config__core__v3__grpc_service__envoy_grpc__descriptor,
    &envoy__config__core__v3__grpc_service__google_grpc__descriptor,
    &envoy__config__core__v3__grpc_service__google_grpc__channel_credentials__descriptor,
    &envoy__config__core__v3__grpc_service__google_grpc__google_local_credentials__descriptor,
    &envoy__config__core__v3__grpc_service__google_grpc__ssl_credentials__descriptor,
    &envoy__config__core__v3__header_value__descriptor,
    &envoy__config__core__v3__header_value_option__descriptor,
    &envoy__config__core__v3__http1_protocol_options__descriptor,
    &envoy__config__core__v3__http2_protocol_options__descriptor,
    &envoy__config__core__v3__http_protocol_options__descriptor,
    &envoy__config__core__v3__locality__descriptor,
    &envoy__config__core__v3__metadata__descriptor,
    &envoy__config__core__v3__metadata__filter_metadata_entry__descriptor,
    &envoy__config__core__v3__node__descriptor,
    &envoy__config__core__v3__socket_address__descriptor,
    &envoy__config__core__v3__substitution_format_string__descriptor,
    &envoy__config__core__v3__transport_socket__descriptor,
    &envoy__config__core__v3__typed_extension_config__descriptor,
    &envoy__config__endpoint__v3__cluster_load_assignment__descriptor,
    &envoy__config__endpoint__v3__endpoint__descriptor,
    &envoy__config__endpoint__v3__lb_endpoint__descriptor,
    &envoy__config__endpoint__v3__locality_lb_endpoints__descriptor,
    &envoy__config__listener__v3__filter__descriptor,
    &envoy__config__listener__v3__filter_chain__descriptor,
    &envoy__config__listener__v3__filter_chain_match__descriptor,
    &envoy__config__listener__v3__listener__descriptor,
    &envoy__config__route__v3__direct_response_action__descriptor,
    &envoy__config__route__v3__filter_config__descriptor,
    &envoy__config__route__v3__header_matcher__descriptor,
    &envoy__config__route__v3__redirect_action__descriptor,
    &envoy__config__route__v3__route__descriptor,
    &envoy__config__route__v3__route__typed_per_filter_config_entry__descriptor,
    &envoy__config__route__v3__route_action__descriptor,
    &envoy__config__route__v3__route_action__upgrade_config__descriptor,
    &envoy__config__route__v3__route_configuration__descriptor,
    &envoy__config__route__v3__route_configuration__typed_per_filter_config_entry__descriptor,
    &envoy__config__route__v3__route_match__descriptor,
    &envoy__config__route__v3__virtual_host__descriptor,
    &envoy__config__route__v3__virtual_host__typed_per_filter_config_entry__descriptor,
    &envoy__config__route__v3__weighted_cluster__descriptor,
    &envoy__config__route__v3__weighted_cluster__cluster_weight__descriptor,
    &envoy__extensions__access_loggers__file__v3__file_access_log__descriptor,
    &envoy__extensions__access_loggers__stream__v3__stderr_access_log__descriptor,
    &envoy__extensions__access_loggers__stream__v3__stdout_access_log__descriptor,
    &envoy__extensions__filters__http__router__v3__router__descriptor,
    &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
    &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__upgrade_config__descriptor,
    &envoy__extensions__filters__network__http_connection_manager__v3__http_filter__descriptor,
    &envoy__extensions__filters__network__http_connection_manager__v3__rds__descriptor,
    &envoy__service__discovery__v3__ads_dummy__descriptor,
    &envoy__service__discovery__v3__delta_discovery_request__descriptor,
    &envoy__service__discovery__v3__delta_discovery_request__initial_resource_versions_entry__descriptor,
    &envoy__service__discovery__v3__delta_discovery_response__descriptor,
    &envoy__service__discovery__v3__discovery_request__descriptor,
    &envoy__service__discovery__v3__discovery_response__descriptor,
    &envoy__service__discovery__v3__dynamic_parameter_constraints__descriptor,
    &envoy__service__discovery__v3__dynamic_parameter_constraints__constraint_list__descriptor,
    &envoy__service__discovery__v3__dynamic_parameter_constraints__single_constraint__descriptor,
    &envoy__service__discovery__v3__dynamic_parameter_constraints__single_constraint__exists__descriptor,
    &envoy__service__discovery__v3__resource__descriptor,
    &envoy__service__discovery__v3__resource__cache_control__descriptor,
    &envoy__service__discovery__v3__resource_locator__descriptor,
    &envoy__service__discovery__v3__resource_locator__dynamic_parameters_entry__descriptor,
    &envoy__service__discovery__v3__resource_name__descriptor,
    &envoy__type__matcher__v3__string_matcher__descriptor,
    &google__protobuf__any__descriptor,
    &google__protobuf__bool_value__descriptor,
    &google__protobuf__bytes_value__descriptor,
    &google__protobuf__double_value__descriptor,
    &google__protobuf__duration__descriptor,
    &google__protobuf__empty__descriptor,
    &google__protobuf__float_value__descriptor,
    &google__protobuf__int32_value__descriptor,
    &google__protobuf__int64_value__descriptor,
    &google__protobuf__list_value__descriptor,
    &google__protobuf__string_value__descriptor,
    &google__protobuf__struct__descriptor,
    &google__protobuf__struct__fields_entry__descriptor,
    &google__protobuf__timestamp__descriptor,
    &google__protobuf__uint32_value__descriptor,
    &google__protobuf__uint64_value__descriptor,
    &google__protobuf__value__descriptor,
    &google__rpc__status__descriptor,
};

/* Each HTTP filter area lists its own config messages (typereg_<area>.c,
 * declared in typereg_parts.h); the lookup table is the core table plus
 * those, sorted once on first use. */
static const dp_typereg_part_t *const parts[] = {
    &dp_typereg_part_jwt_authn,
    &dp_typereg_part_basic_auth,
    &dp_typereg_part_rbac,
    &dp_typereg_part_containers,
    &dp_typereg_part_tls,
    &dp_typereg_part_upstreams,
    &dp_typereg_part_status,
    &dp_typereg_part_health,
    &dp_typereg_part_transparent,
};

#define TYPEREG_MAX 1024
static const ProtobufCMessageDescriptor *merged[TYPEREG_MAX];
static size_t n_merged;
static pthread_once_t merged_once = PTHREAD_ONCE_INIT;

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const ProtobufCMessageDescriptor *const *)a)->name,
                  (*(const ProtobufCMessageDescriptor *const *)b)->name);
}

static void merge(void)
{
    for (size_t i = 0; i < DP_ARRAY_SIZE(typereg_table); i++)
        merged[n_merged++] = typereg_table[i];
    for (size_t p = 0; p < DP_ARRAY_SIZE(parts); p++)
        for (size_t i = 0; i < parts[p]->n && n_merged < TYPEREG_MAX; i++)
            merged[n_merged++] = parts[p]->v[i];
    qsort(merged, n_merged, sizeof(merged[0]), by_name);
}

size_t dp_typereg_count(void)
{
    pthread_once(&merged_once, merge);
    return n_merged;
}

const ProtobufCMessageDescriptor *dp_typereg_at(size_t i)
{
    return i < dp_typereg_count() ? merged[i] : NULL;
}

const ProtobufCMessageDescriptor *dp_typereg_lookup_name(const char *full_name)
{
    size_t lo = 0, hi = dp_typereg_count();

    if (full_name == NULL || full_name[0] == '\0')
        return NULL;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(full_name, merged[mid]->name);

        if (c == 0)
            return merged[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const ProtobufCMessageDescriptor *dp_typereg_lookup(const char *type_url)
{
    const char *slash;

    if (type_url == NULL)
        return NULL;
    /* Any's rule: the type name is the last path segment; a URL without a
     * '/' is not a type URL at all. */
    slash = strrchr(type_url, '/');
    if (slash == NULL)
        return NULL;
    return dp_typereg_lookup_name(slash + 1);
}
