/* Type registry part: transparent upstreams: original_src filters (listener
 * and HTTP), their fallback, and the PROXY protocol upstream transport
 * socket. */
#include "xds/typereg_parts.h"

#include "dataplane/transparent/v1/fallback.pb-c.h"
#include "envoy/config/core/v3/proxy_protocol.pb-c.h"
#include "envoy/extensions/filters/http/original_src/v3/original_src.pb-c.h"
#include "envoy/extensions/filters/listener/original_src/v3/original_src.pb-c.h"
#include "envoy/extensions/transport_sockets/proxy_protocol/v3/upstream_proxy_protocol.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &dataplane__transparent__v1__original_src_fallback__descriptor,
    &envoy__config__core__v3__proxy_protocol_config__descriptor,
    &envoy__extensions__filters__http__original_src__v3__original_src__descriptor,
    &envoy__extensions__filters__listener__original_src__v3__original_src__descriptor,
    &envoy__extensions__transport_sockets__proxy_protocol__v3__proxy_protocol_upstream_transport__descriptor,
};

const dp_typereg_part_t dp_typereg_part_transparent = {v, sizeof(v) / sizeof(v[0])};
