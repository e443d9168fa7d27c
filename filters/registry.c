/* The one explicit table of HTTP filter factories, keyed by Envoy name
 * (STYLE.md 4). A filter is available iff it is listed here. */
#include <string.h>

#include "filters/filter.h"
#include "filters/basic_auth/basic_auth.h"
#include "filters/containers/containers.h"
#include "filters/jwt_authn/jwt_authn.h"
#include "filters/original_src/original_src.h"
#include "filters/rbac/rbac.h"
#include "filters/router.h"

static const dp_http_filter_factory_t *const http_filters[] = {
    &dp_filter_jwt_authn,
    &dp_filter_basic_auth,
    &dp_filter_rbac,
    &dp_filter_containers,
    &dp_filter_original_src,
    &dp_filter_router,
};

const dp_http_filter_factory_t *dp_http_filter_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(http_filters) / sizeof(http_filters[0]); i++)
        if (strcmp(http_filters[i]->name, name) == 0)
            return http_filters[i];
    return NULL;
}

/* Any type URLs compare by the name after the last '/'. */
static bool same_type(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    return strcmp(sa ? sa + 1 : a, sb ? sb + 1 : b) == 0;
}

const dp_http_filter_factory_t *dp_http_filter_lookup_type(const char *type_url)
{
    for (size_t i = 0; i < sizeof(http_filters) / sizeof(http_filters[0]); i++)
        if (same_type(http_filters[i]->type_url, type_url))
            return http_filters[i];
    return NULL;
}

const dp_http_filter_factory_t *dp_http_filter_lookup_route_type(const char *type_url)
{
    for (size_t i = 0; i < sizeof(http_filters) / sizeof(http_filters[0]); i++)
        if (http_filters[i]->route_type_url && same_type(http_filters[i]->route_type_url, type_url))
            return http_filters[i];
    return NULL;
}
