/* HTTP filter factories, keyed by Envoy filter name (STYLE.md 4).
 *
 * A factory validates a typed_config message and builds an immutable
 * config (create_config). Per request, the HCM calls on_request_headers
 * for each filter in order; a filter returns
 *   DP_FILTER_CONTINUE  go on with the next filter,
 *   DP_FILTER_STOP      the filter will call dp_stream_continue() later,
 *   DP_FILTER_REPLIED   the filter sent a local reply (dp_stream_local_reply).
 * The last filter of every chain is envoy.filters.http.router. */
#ifndef DP_FILTERS_FILTER_H
#define DP_FILTERS_FILTER_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

struct dp_stream;

typedef enum {
    DP_FILTER_CONTINUE = 0,
    DP_FILTER_STOP = 1,
    DP_FILTER_REPLIED = 2,
} dp_filter_status_t;

typedef struct dp_http_filter_factory {
    const char *name;     /* "envoy.filters.http.router" */
    const char *type_url; /* "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" */
    const ProtobufCMessageDescriptor *descriptor; /* of the typed_config */
    /* Validates `msg` (NULL when the typed_config is absent) and builds the
     * immutable config in *config. Returns 0, or a negative DP_E* with *err
     * naming the field (a static string, or one written into errbuf). */
    int (*create_config)(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen);
    void (*destroy_config)(void *config);
    /* Per-request state size, allocated zeroed with the stream; may be 0. */
    size_t state_size;
    dp_filter_status_t (*on_request_headers)(struct dp_stream *s, const void *config, void *state);
    /* Called once when the stream ends, to release per-request resources. */
    void (*on_destroy)(struct dp_stream *s, const void *config, void *state);

    /* Per-route configuration (typed_per_filter_config on a route, virtual
     * host or route configuration), optional: route_type_url is NULL for a
     * filter that has none. Envoy resolves a per-route config by its type,
     * so the type URL selects the factory; the map key names the filter
     * instance it applies to. The filter reads it per request with
     * dp_stream_route_config(). */
    const char *route_type_url;
    const ProtobufCMessageDescriptor *route_descriptor;
    int (*create_route_config)(const ProtobufCMessage *msg, void **config, char *errbuf, size_t errlen);
    void (*destroy_route_config)(void *config);
} dp_http_filter_factory_t;

/* The one explicit table of HTTP filters (filters/registry.c). NULL if
 * the name is unknown. */
const dp_http_filter_factory_t *dp_http_filter_lookup(const char *name);
const dp_http_filter_factory_t *dp_http_filter_lookup_type(const char *type_url);
/* The factory whose per-route config has this type, or NULL. */
const dp_http_filter_factory_t *dp_http_filter_lookup_route_type(const char *type_url);

/* One configured filter in an HCM chain. */
typedef struct dp_http_filter_cfg {
    char *name;
    const dp_http_filter_factory_t *factory;
    void *config;
    /* HttpFilter.disabled: skipped unless the route enables it with a
     * per-route config (see dp_filter_override_t). */
    bool disabled;
} dp_http_filter_cfg_t;

#endif
