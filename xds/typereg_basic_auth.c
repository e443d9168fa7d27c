/* Type registry part: the config messages of envoy.filters.http.basic_auth
 * (envoy.extensions.filters.http.basic_auth.v3). */
#include "xds/typereg_parts.h"

#include "envoy/extensions/filters/http/basic_auth/v3/basic_auth.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__extensions__filters__http__basic_auth__v3__basic_auth__descriptor,
    &envoy__extensions__filters__http__basic_auth__v3__basic_auth_per_route__descriptor,
};

const dp_typereg_part_t dp_typereg_part_basic_auth = {v, sizeof(v) / sizeof(v[0])};
