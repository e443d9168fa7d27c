/* Type registry part: our own API, the container routing filter's config
 * and the catalogue resources (proto/dataplane/containers/v1). */
#include "dataplane/containers/v1/catalogue.pb-c.h"
#include "dataplane/containers/v1/routing.pb-c.h"
#include "dataplane/core/common.h"
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &dataplane__containers__v1__alias__descriptor,
    &dataplane__containers__v1__claim_requirement__descriptor,
    &dataplane__containers__v1__container__descriptor,
    &dataplane__containers__v1__container_routing__descriptor,
    &dataplane__containers__v1__container_routing__default_ports_entry__descriptor,
    &dataplane__containers__v1__group__descriptor,
    &dataplane__containers__v1__ip_group__descriptor,
    &dataplane__containers__v1__jwt_group__descriptor,
    &dataplane__containers__v1__password_group__descriptor,
    &dataplane__containers__v1__policy__descriptor,
    &dataplane__containers__v1__project__descriptor,
    &dataplane__containers__v1__service__descriptor,
    &dataplane__containers__v1__service_permission__descriptor,
    &dataplane__containers__v1__token_group__descriptor,
};

const dp_typereg_part_t dp_typereg_part_containers = {v, DP_ARRAY_SIZE(v)};
