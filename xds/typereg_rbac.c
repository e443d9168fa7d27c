/* Type registry part: the config messages of envoy.filters.http.rbac (envoy.config.rbac.v3, envoy.extensions.filters.http.rbac.v3, matchers). */
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    NULL,
};

const dp_typereg_part_t dp_typereg_part_rbac = {v, 0};
