#include <stdint.h>
#include <stdlib.h>

#include "dataplane/core/common.h"
#include "dataplane/http/stream.h"
#include "envoy/extensions/filters/http/original_src/v3/original_src.pb-c.h"
#include "filters/original_src/original_src.h"

typedef struct {
    uint32_t mark;
} osrc_cfg_t;

static int osrc_create(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen)
{
    const Envoy__Extensions__Filters__Http__OriginalSrc__V3__OriginalSrc *m =
        (const Envoy__Extensions__Filters__Http__OriginalSrc__V3__OriginalSrc *)msg;
    (void)errbuf;
    (void)errlen;
    osrc_cfg_t *c = dp_xcalloc(1, sizeof(*c));
    c->mark = m ? m->mark : 0;
    *config = c;
    return 0;
}

static void osrc_destroy(void *config)
{
    free(config);
}

static dp_filter_status_t osrc_on_request_headers(dp_stream_t *s, const void *config, void *state)
{
    const osrc_cfg_t *c = config;
    (void)state;
    s->original_src = DP_ORIGSRC_REMOTE_ADDR;
    s->original_src_mark = c->mark;
    return DP_FILTER_CONTINUE;
}

const dp_http_filter_factory_t dp_filter_original_src = {
    .name = "envoy.filters.http.original_src",
    .type_url = "type.googleapis.com/envoy.extensions.filters.http.original_src.v3.OriginalSrc",
    .descriptor = &envoy__extensions__filters__http__original_src__v3__original_src__descriptor,
    .create_config = osrc_create,
    .destroy_config = osrc_destroy,
    .on_request_headers = osrc_on_request_headers,
};
