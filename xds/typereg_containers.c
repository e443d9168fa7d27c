/* Type registry part: the config messages of the container routing filter and catalogue resources. */
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    NULL,
};

const dp_typereg_part_t dp_typereg_part_containers = {v, 0};
