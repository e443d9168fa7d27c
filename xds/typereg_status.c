/* Type registry part: load reports (envoy.service.load_stats.v3, envoy.config.endpoint.v3 load_report) and CSDS (envoy.service.status.v3, envoy.admin.v3). */
#include "xds/typereg_parts.h"

#include "envoy/admin/v3/config_dump_shared.pb-c.h"
#include "envoy/config/endpoint/v3/load_report.pb-c.h"
#include "envoy/service/load_stats/v3/lrs.pb-c.h"
#include "envoy/service/status/v3/csds.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__config__endpoint__v3__upstream_locality_stats__descriptor,
    &envoy__config__endpoint__v3__cluster_stats__descriptor,
    &envoy__config__endpoint__v3__cluster_stats__dropped_requests__descriptor,
    &envoy__service__load_stats__v3__load_stats_request__descriptor,
    &envoy__service__load_stats__v3__load_stats_response__descriptor,
    &envoy__admin__v3__update_failure_state__descriptor,
    &envoy__service__status__v3__client_status_request__descriptor,
    &envoy__service__status__v3__client_config__descriptor,
    &envoy__service__status__v3__client_config__generic_xds_config__descriptor,
    &envoy__service__status__v3__client_status_response__descriptor,
};

const dp_typereg_part_t dp_typereg_part_status = {v, sizeof(v) / sizeof(v[0])};
