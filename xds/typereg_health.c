/* Type registry part: health: Cluster.health_checks (envoy.config.core.v3.HealthCheck), outlier detection and HDS (envoy.service.health.v3). */
#include "xds/typereg_parts.h"

#include "envoy/config/cluster/v3/outlier_detection.pb-c.h"
#include "envoy/config/core/v3/health_check.pb-c.h"
#include "envoy/service/health/v3/hds.pb-c.h"
#include "envoy/type/v3/range.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__config__core__v3__health_check__descriptor,
    &envoy__config__core__v3__health_check__payload__descriptor,
    &envoy__config__core__v3__health_check__http_health_check__descriptor,
    &envoy__config__core__v3__health_check__tcp_health_check__descriptor,
    &envoy__type__v3__int64_range__descriptor,
    &envoy__config__cluster__v3__outlier_detection__descriptor,
    &envoy__service__health__v3__capability__descriptor,
    &envoy__service__health__v3__health_check_request__descriptor,
    &envoy__service__health__v3__endpoint_health__descriptor,
    &envoy__service__health__v3__locality_endpoints_health__descriptor,
    &envoy__service__health__v3__cluster_endpoints_health__descriptor,
    &envoy__service__health__v3__endpoint_health_response__descriptor,
    &envoy__service__health__v3__health_check_request_or_endpoint_health_response__descriptor,
    &envoy__service__health__v3__locality_endpoints__descriptor,
    &envoy__service__health__v3__cluster_health_check__descriptor,
    &envoy__service__health__v3__health_check_specifier__descriptor,
};

const dp_typereg_part_t dp_typereg_part_health = {v, sizeof(v) / sizeof(v[0])};
