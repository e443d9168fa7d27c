/* envoy.filters.http.rbac (placeholder until implemented: every config is refused). */
#include "filters/rbac/rbac.h"

#include "dataplane/core/common.h"
#include "google/protobuf/empty.pb-c.h"

static int create_config(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    (void)msg;
    (void)config;
    (void)errbuf;
    (void)errlen;
    return DP_EINVAL;
}

const dp_http_filter_factory_t dp_filter_rbac = {
    .name = "envoy.filters.http.rbac",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
    .descriptor = &google__protobuf__empty__descriptor,
    .create_config = create_config,
};
