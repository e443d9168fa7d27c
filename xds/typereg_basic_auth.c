/* Type registry part: the config messages of envoy.filters.http.basic_auth (envoy.extensions.filters.http.basic_auth.v3). */
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    NULL,
};

const dp_typereg_part_t dp_typereg_part_basic_auth = {v, 0};
