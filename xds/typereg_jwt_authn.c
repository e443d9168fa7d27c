/* Type registry part: the config messages of envoy.filters.http.jwt_authn (envoy.extensions.filters.http.jwt_authn.v3),
 * and envoy.config.core.v3.HttpUri, which its RemoteJwks uses. */
#include "envoy/config/core/v3/http_uri.pb-c.h"
#include "envoy/extensions/filters/http/jwt_authn/v3/config.pb-c.h"
#include "xds/typereg_parts.h"

static const ProtobufCMessageDescriptor *const v[] = {
    &envoy__config__core__v3__http_uri__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_provider__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_provider__normalize_payload__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_cache_config__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__remote_jwks__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_header__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__provider_with_audiences__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_requirement__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_requirement_or_list__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_requirement_and_list__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__requirement_rule__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__providers_entry__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_authentication__requirement_map_entry__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__per_route_config__descriptor,
    &envoy__extensions__filters__http__jwt_authn__v3__jwt_claim_to_header__descriptor,
};

const dp_typereg_part_t dp_typereg_part_jwt_authn = {v, sizeof(v) / sizeof(v[0])};
