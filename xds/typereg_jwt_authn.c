/* Type registry part: the config messages of envoy.filters.http.jwt_authn (envoy.extensions.filters.http.jwt_authn.v3). */
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    NULL,
};

const dp_typereg_part_t dp_typereg_part_jwt_authn = {v, 0};
