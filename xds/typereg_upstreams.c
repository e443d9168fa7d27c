/* Type registry part: a cluster's upstream HTTP protocol options
 * (envoy.extensions.upstreams.http.v3). */
#include "xds/typereg_parts.h"

#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__extensions__upstreams__http__v3__http_protocol_options__descriptor,
    &envoy__extensions__upstreams__http__v3__http_protocol_options__explicit_http_config__descriptor,
    &envoy__extensions__upstreams__http__v3__http_protocol_options__use_downstream_http_config__descriptor,
};

const dp_typereg_part_t dp_typereg_part_upstreams = {v, sizeof(v) / sizeof(v[0])};
