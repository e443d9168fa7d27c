/* The one explicit table of HTTP filter factories, keyed by Envoy name
 * (STYLE.md 4). A filter is available iff it is listed here. */
#include <string.h>

#include "filters/filter.h"
#include "filters/router.h"

static const dp_http_filter_factory_t *const http_filters[] = {
    &dp_filter_router,
};

const dp_http_filter_factory_t *dp_http_filter_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof(http_filters) / sizeof(http_filters[0]); i++)
        if (strcmp(http_filters[i]->name, name) == 0)
            return http_filters[i];
    return NULL;
}

const dp_http_filter_factory_t *dp_http_filter_lookup_type(const char *type_url)
{
    const char *slash = strrchr(type_url, '/');
    const char *full = slash ? slash + 1 : type_url;
    for (size_t i = 0; i < sizeof(http_filters) / sizeof(http_filters[0]); i++) {
        const char *t = strrchr(http_filters[i]->type_url, '/');
        if (strcmp(t ? t + 1 : http_filters[i]->type_url, full) == 0)
            return http_filters[i];
    }
    return NULL;
}
