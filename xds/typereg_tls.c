/* Type registry part: the messages of TLS listeners and SDS
 * (envoy.extensions.transport_sockets.tls.v3, the tls_inspector listener
 * filter, envoy.config.listener.v3.ListenerFilter, the raw_buffer transport
 * socket). */
#include "xds/typereg_parts.h"

#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/extensions/filters/listener/tls_inspector/v3/tls_inspector.pb-c.h"
#include "envoy/extensions/transport_sockets/raw_buffer/v3/raw_buffer.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/common.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/secret.pb-c.h"
#include "envoy/extensions/transport_sockets/tls/v3/tls.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__config__listener__v3__listener_filter__descriptor,
    &envoy__extensions__filters__listener__tls_inspector__v3__tls_inspector__descriptor,
    &envoy__extensions__transport_sockets__raw_buffer__v3__raw_buffer__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__certificate_validation_context__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__common_tls_context__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__downstream_tls_context__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__sds_secret_config__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__secret__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__subject_alt_name_matcher__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__tls_certificate__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__tls_parameters__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__tls_session_ticket_keys__descriptor,
    &envoy__extensions__transport_sockets__tls__v3__upstream_tls_context__descriptor,
};

const dp_typereg_part_t dp_typereg_part_tls = {v, sizeof(v) / sizeof(v[0])};
