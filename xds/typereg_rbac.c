/* Type registry part: the config messages of envoy.filters.http.rbac (envoy.config.rbac.v3,
 * envoy.extensions.filters.http.rbac.v3, matchers). */
#include "xds/typereg_parts.h"

#include "envoy/config/core/v3/address.pb-c.h"
#include "envoy/config/rbac/v3/rbac.pb-c.h"
#include "envoy/extensions/filters/http/rbac/v3/rbac.pb-c.h"
#include "envoy/type/matcher/v3/metadata.pb-c.h"
#include "envoy/type/matcher/v3/number.pb-c.h"
#include "envoy/type/matcher/v3/path.pb-c.h"
#include "envoy/type/matcher/v3/value.pb-c.h"
#include "envoy/type/v3/range.pb-c.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__extensions__filters__http__rbac__v3__rbac__descriptor,
    &envoy__extensions__filters__http__rbac__v3__rbacper_route__descriptor,
    &envoy__config__rbac__v3__rbac__descriptor,
    &envoy__config__rbac__v3__rbac__policies_entry__descriptor,
    &envoy__config__rbac__v3__policy__descriptor,
    &envoy__config__rbac__v3__permission__descriptor,
    &envoy__config__rbac__v3__permission__set__descriptor,
    &envoy__config__rbac__v3__principal__descriptor,
    &envoy__config__rbac__v3__principal__set__descriptor,
    &envoy__config__core__v3__cidr_range__descriptor,
    &envoy__type__matcher__v3__metadata_matcher__descriptor,
    &envoy__type__matcher__v3__metadata_matcher__path_segment__descriptor,
    &envoy__type__matcher__v3__value_matcher__descriptor,
    &envoy__type__matcher__v3__value_matcher__null_match__descriptor,
    &envoy__type__matcher__v3__list_matcher__descriptor,
    &envoy__type__matcher__v3__or_matcher__descriptor,
    &envoy__type__matcher__v3__double_matcher__descriptor,
    &envoy__type__matcher__v3__path_matcher__descriptor,
    &envoy__type__v3__int32_range__descriptor,
    &envoy__type__v3__double_range__descriptor,
};

const dp_typereg_part_t dp_typereg_part_rbac = {v, sizeof(v) / sizeof(v[0])};
