/* envoy.config.listener.v3.Listener -> dp_listener_cfg_t (hcm-t.h), with
 * Envoy's defaults: filter chains (each with its match, its transport
 * socket and one HttpConnectionManager), the default chain, the TLS
 * inspector listener filter and Envoy's checks of chain matches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/core/common.h"
#include "dataplane/http/access_log.h"
#include "envoy/config/accesslog/v3/accesslog.pb-c.h"
#include "envoy/config/listener/v3/listener.pb-c.h"
#include "envoy/config/listener/v3/listener_components.pb-c.h"
#include "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.pb-c.h"
#include "filters/filter.h"
#include "xds/translate.h"
#include "xds/translate_listener_filters.h"
#include "xds/translate_tls.h"
#include "xds/translate_util.h"

typedef Envoy__Config__Listener__V3__Listener pb_listener_t;
typedef Envoy__Config__Listener__V3__FilterChain pb_chain_t;
typedef Envoy__Config__Listener__V3__FilterChainMatch pb_match_t;
typedef Envoy__Config__Listener__V3__Filter pb_filter_t;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager pb_hcm_t;
typedef Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpFilter pb_http_filter_t;
typedef Envoy__Config__Accesslog__V3__AccessLog pb_access_log_t;

#define HCM_TYPE "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"
#define ROUTER_NAME "envoy.filters.http.router"

/* protoc-c's enum and oneof-case names, shortened. */
#define HCM_ENUM(x)                                                                                          \
    ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_CONNECTION_MANAGER__##x
#define HTTP_FILTER_ENUM(x) ENVOY__EXTENSIONS__FILTERS__NETWORK__HTTP_CONNECTION_MANAGER__V3__HTTP_FILTER__##x

/* Envoy's defaults (http_connection_manager.proto, protocol.proto,
 * listener.proto). */
#define DEFAULT_BUFFER_LIMIT (1024 * 1024)
#define DEFAULT_MAX_REQUEST_HEADERS_KB 60
#define MAX_MAX_REQUEST_HEADERS_KB 8192
#define DEFAULT_MAX_HEADERS_COUNT 100
#define DEFAULT_IDLE_TIMEOUT_MS (3600 * 1000)
#define DEFAULT_STREAM_IDLE_TIMEOUT_MS (300 * 1000)
#define DEFAULT_DRAIN_TIMEOUT_MS 5000
#define DEFAULT_LISTENER_FILTERS_TIMEOUT_MS 15000

/* ---- access logs ---------------------------------------------------------- */

static int xl_access_logs(dp_xlate_t *x, pb_access_log_t *const *v, size_t n, const char *field,
                          dp_access_log_t ***out, size_t *n_out)
{
    if (n == 0)
        return 0;
    *out = dp_xcalloc(n, sizeof(**out));
    for (size_t i = 0; i < n; i++) {
        char err[512] = "";
        dp_access_log_t *al = NULL;
        int rc = dp_access_log_create(&v[i]->base, &al, err, sizeof(err));
        if (rc != 0) {
            size_t saved = dp_xlate__push_idx(x, field, i);
            rc = dp_xlate__fail_access_log(x, rc, err);
            dp_xlate__pop(x, saved);
            return rc;
        }
        (*out)[(*n_out)++] = al;
    }
    return 0;
}

/* ---- HTTP filters ----------------------------------------------------------- */

static bool is_router(const dp_http_filter_factory_t *f)
{
    return strcmp(f->name, ROUTER_NAME) == 0;
}

/* One HttpFilter (the current path is http_filters[i]). *keep is false
 * for a filter that is skipped (unknown but optional, or disabled). */
static int xl_http_filter(dp_xlate_t *x, const pb_http_filter_t *f, bool last, dp_http_filter_cfg_t *o,
                          bool *keep)
{
    const char *name = f->name ? f->name : "";
    const Google__Protobuf__Any *tc = NULL;
    const dp_http_filter_factory_t *fac;
    ProtobufCMessage *msg = NULL;
    void *config = NULL;
    char err[512] = "";
    int rc;

    *keep = false;
    if (name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    if (f->config_type_case == HTTP_FILTER_ENUM(CONFIG_TYPE_TYPED_CONFIG))
        tc = f->typed_config;
    /* Envoy resolves a filter by its typed_config type; the name only
     * when there is no typed_config. An unknown filter may be skipped
     * only if the config says it is optional. */
    if (tc != NULL) {
        fac = dp_http_filter_lookup_type(tc->type_url ? tc->type_url : "");
        if (fac == NULL) {
            if (f->is_optional)
                return 0;
            return dp_xlate__fail_at(x, "typed_config", "unknown HTTP filter type '%s' (filter '%s')",
                                     dp_xlate__type_name(tc->type_url), name);
        }
    } else {
        fac = dp_http_filter_lookup(name);
        if (fac == NULL) {
            if (f->is_optional)
                return 0;
            return dp_xlate__fail_at(x, "name", "unknown HTTP filter '%s'", name);
        }
    }
    if (is_router(fac) && f->disabled)
        return dp_xlate__fail_at(x, "disabled", "the terminal filter %s cannot be disabled", ROUTER_NAME);
    if (is_router(fac) && !last)
        return dp_xlate__fail(x, "%s is a terminal filter and must be the last HTTP filter", ROUTER_NAME);
    if (tc != NULL) {
        size_t saved = dp_xlate__push(x, "typed_config");
        rc = dp_xlate__unpack_any(x, tc, fac->descriptor, &msg);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    rc = fac->create_config(msg, &config, err, sizeof(err));
    if (msg != NULL)
        protobuf_c_message_free_unpacked(msg, NULL);
    if (rc != 0) {
        size_t saved = tc ? dp_xlate__push(x, "typed_config") : 0;
        rc = dp_xlate__fail_sub(x, rc, err);
        if (tc)
            dp_xlate__pop(x, saved);
        return rc;
    }
    /* A disabled filter stays in the chain, skipped unless a route
     * enables it with a per-route config (hcm.c). */
    o->disabled = f->disabled;
    o->name = dp_xstrdup(name);
    o->factory = fac;
    o->config = config;
    *keep = true;
    return 0;
}

static int xl_http_filters(dp_xlate_t *x, const pb_hcm_t *h, dp_hcm_cfg_t *o)
{
    size_t last_kept = SIZE_MAX;

    if (h->n_http_filters == 0)
        return dp_xlate__fail_at(x, "http_filters", "empty; the chain must end with %s", ROUTER_NAME);
    o->filters = dp_xcalloc(h->n_http_filters, sizeof(*o->filters));
    for (size_t i = 0; i < h->n_http_filters; i++) {
        bool keep;
        size_t saved = dp_xlate__push_idx(x, "http_filters", i);
        int rc = xl_http_filter(x, h->http_filters[i], i + 1 == h->n_http_filters, &o->filters[o->n_filters],
                                &keep);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        if (keep) {
            o->n_filters++;
            last_kept = i;
        }
    }
    if (last_kept == SIZE_MAX)
        return dp_xlate__fail_at(x, "http_filters", "no usable filter; the chain must end with %s",
                                 ROUTER_NAME);
    if (!is_router(o->filters[o->n_filters - 1].factory)) {
        size_t saved = dp_xlate__push_idx(x, "http_filters", last_kept);
        int rc =
            dp_xlate__fail(x, "non-terminal filter '%s' is the last HTTP filter; the chain must end with %s",
                           o->filters[o->n_filters - 1].name, ROUTER_NAME);
        dp_xlate__pop(x, saved);
        return rc;
    }
    return 0;
}

/* ---- HttpConnectionManager ---------------------------------------------------- */

static int xl_protocol_options(dp_xlate_t *x, const pb_hcm_t *h, dp_hcm_cfg_t *o)
{
    const Envoy__Config__Core__V3__HttpProtocolOptions *c = h->common_http_protocol_options;
    const Envoy__Config__Core__V3__Http1ProtocolOptions *h1 = h->http_protocol_options;
    size_t saved;
    int rc = 0;

    o->max_headers_count = DEFAULT_MAX_HEADERS_COUNT;
    o->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    if (c != NULL) {
        saved = dp_xlate__push(x, "common_http_protocol_options");
        if ((rc = dp_xlate__duration_ms(x, "idle_timeout", c->idle_timeout, DEFAULT_IDLE_TIMEOUT_MS,
                                        &o->idle_timeout_ms)) != 0)
            goto out;
        o->max_headers_count = dp_xlate__u32(c->max_headers_count, DEFAULT_MAX_HEADERS_COUNT);
        if (o->max_headers_count < 1) {
            rc = dp_xlate__fail_at(x, "max_headers_count", "must be at least 1");
            goto out;
        }
        if (c->max_connection_duration != NULL) {
            rc = dp_xlate__fail_at(x, "max_connection_duration", "not supported yet");
            goto out;
        }
        if (c->max_stream_duration != NULL) {
            rc = dp_xlate__fail_at(x, "max_stream_duration", "not supported yet");
            goto out;
        }
        /* clusters use it (translate_cluster.c); downstream connections
         * are not closed after N requests yet */
        if (c->max_requests_per_connection != NULL) {
            rc = dp_xlate__fail_at(x, "max_requests_per_connection", "not supported yet on downstream connections");
            goto out;
        }
        if (c->headers_with_underscores_action !=
            ENVOY__CONFIG__CORE__V3__HTTP_PROTOCOL_OPTIONS__HEADERS_WITH_UNDERSCORES_ACTION__ALLOW) {
            const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
                &envoy__config__core__v3__http_protocol_options__headers_with_underscores_action__descriptor,
                (int)c->headers_with_underscores_action);
            rc = dp_xlate__fail_at(x, "headers_with_underscores_action",
                                   "%s is not supported yet (only ALLOW)", v ? v->name : "this value");
            goto out;
        }
    out:
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    if (h1 != NULL) {
        saved = dp_xlate__push(x, "http_protocol_options");
        /* Our HTTP/1 codec always accepts absolute-form targets, which is
         * Envoy's default; refusing them is not implemented. */
        if (h1->allow_absolute_url != NULL && !h1->allow_absolute_url->value)
            rc = dp_xlate__fail_at(x, "allow_absolute_url", "false is not supported yet");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        o->accept_http_10 = h1->accept_http_10 != 0;
        if (h1->default_host_for_http_10 && h1->default_host_for_http_10[0])
            o->default_host_for_http_10 = dp_xstrdup(h1->default_host_for_http_10);
    }
    return 0;
}

/* Http2ProtocolOptions, shared with clusters' upstream options. */
int dp_xlate__h2_options(dp_xlate_t *x, const Envoy__Config__Core__V3__Http2ProtocolOptions *p, dp_h2_options_t *o)
{
    dp_h2_options_default(o);
    if (p == NULL)
        return 0;
    o->hpack_table_size = dp_xlate__u32(p->hpack_table_size, o->hpack_table_size);
    o->max_concurrent_streams = dp_xlate__u32(p->max_concurrent_streams, o->max_concurrent_streams);
    o->initial_stream_window_size = dp_xlate__u32(p->initial_stream_window_size, o->initial_stream_window_size);
    o->initial_connection_window_size =
        dp_xlate__u32(p->initial_connection_window_size, o->initial_connection_window_size);
    o->allow_connect = p->allow_connect != 0;
    o->max_outbound_frames = dp_xlate__u32(p->max_outbound_frames, o->max_outbound_frames);
    o->max_outbound_control_frames = dp_xlate__u32(p->max_outbound_control_frames, o->max_outbound_control_frames);
    o->max_consecutive_inbound_frames_with_empty_payload = dp_xlate__u32(
        p->max_consecutive_inbound_frames_with_empty_payload, o->max_consecutive_inbound_frames_with_empty_payload);
    o->max_inbound_priority_frames_per_stream =
        dp_xlate__u32(p->max_inbound_priority_frames_per_stream, o->max_inbound_priority_frames_per_stream);
    o->max_inbound_window_update_frames_per_data_frame_sent =
        dp_xlate__u32(p->max_inbound_window_update_frames_per_data_frame_sent,
                      o->max_inbound_window_update_frames_per_data_frame_sent);
    /* protocol.proto's validation rules */
    if (o->max_concurrent_streams < 1 || o->max_concurrent_streams > 2147483647u)
        return dp_xlate__fail_at(x, "max_concurrent_streams", "%u is out of range (1..2147483647)",
                                 (unsigned)o->max_concurrent_streams);
    if (o->initial_stream_window_size < 65535 || o->initial_stream_window_size > 2147483647u)
        return dp_xlate__fail_at(x, "initial_stream_window_size", "%u is out of range (65535..2147483647)",
                                 (unsigned)o->initial_stream_window_size);
    if (o->initial_connection_window_size < 65535 || o->initial_connection_window_size > 2147483647u)
        return dp_xlate__fail_at(x, "initial_connection_window_size", "%u is out of range (65535..2147483647)",
                                 (unsigned)o->initial_connection_window_size);
    if (o->max_outbound_frames < 1)
        return dp_xlate__fail_at(x, "max_outbound_frames", "must be at least 1");
    if (o->max_outbound_control_frames < 1)
        return dp_xlate__fail_at(x, "max_outbound_control_frames", "must be at least 1");
    if (o->max_inbound_window_update_frames_per_data_frame_sent < 1)
        return dp_xlate__fail_at(x, "max_inbound_window_update_frames_per_data_frame_sent", "must be at least 1");
    return 0;
}

static int xl_upgrades(dp_xlate_t *x, const pb_hcm_t *h, dp_hcm_cfg_t *o)
{
    if (h->n_upgrade_configs == 0)
        return 0;
    o->upgrades = dp_xcalloc(h->n_upgrade_configs, sizeof(*o->upgrades));
    for (size_t i = 0; i < h->n_upgrade_configs; i++) {
        const Envoy__Extensions__Filters__Network__HttpConnectionManager__V3__HttpConnectionManager__UpgradeConfig
            *u = h->upgrade_configs[i];
        size_t saved = dp_xlate__push_idx(x, "upgrade_configs", i);
        int rc = 0;
        if (u->upgrade_type == NULL || !dp_xlate__is_token(u->upgrade_type))
            rc = dp_xlate__fail_at(x, "upgrade_type", "must be a token (e.g. \"websocket\")");
        else if (strcasecmp(u->upgrade_type, "websocket") != 0)
            /* CONNECT terminates a tunnel in Envoy (connect_config); others
             * would need protocol knowledge we do not have */
            rc = dp_xlate__fail_at(x, "upgrade_type", "'%s' is not supported yet (only websocket)", u->upgrade_type);
        for (size_t k = 0; rc == 0 && k < i; k++)
            if (strcasecmp(o->upgrades[k].upgrade_type, u->upgrade_type) == 0)
                rc = dp_xlate__fail_at(x, "upgrade_type", "duplicate upgrade type '%s'", u->upgrade_type);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        o->upgrades[o->n_upgrades].upgrade_type = dp_xlate__lower_dup(u->upgrade_type);
        o->upgrades[o->n_upgrades++].enabled = dp_xlate__bool(u->enabled, true);
    }
    return 0;
}

static int xl_route_specifier(dp_xlate_t *x, const pb_hcm_t *h, dp_hcm_cfg_t *o)
{
    size_t saved;
    int rc;

    switch (h->route_specifier_case) {
    case HCM_ENUM(ROUTE_SPECIFIER_ROUTE_CONFIG):
        saved = dp_xlate__push(x, "route_config");
        rc = dp_xlate__route_config(x, h->route_config, &o->route_config);
        dp_xlate__pop(x, saved);
        return rc;
    case HCM_ENUM(ROUTE_SPECIFIER_RDS):
        saved = dp_xlate__push(x, "rds");
        if (h->rds->route_config_name == NULL || h->rds->route_config_name[0] == '\0') {
            rc = dp_xlate__fail_at(x, "route_config_name", "required");
        } else {
            size_t s2 = dp_xlate__push(x, "config_source");
            rc = dp_xlate__config_source(x, h->rds->config_source);
            dp_xlate__pop(x, s2);
        }
        dp_xlate__pop(x, saved);
        if (rc == 0)
            o->rds_name = dp_xstrdup(h->rds->route_config_name);
        return rc;
    default:
        return dp_xlate__fail(x,
                              "one of route_config or rds is required (scoped_routes is not supported yet)");
    }
}

static int xl_hcm(dp_xlate_t *x, const pb_hcm_t *h, dp_hcm_cfg_t *o)
{
    int rc;

    if (h->stat_prefix == NULL || h->stat_prefix[0] == '\0')
        return dp_xlate__fail_at(x, "stat_prefix", "required");
    o->stat_prefix = dp_xstrdup(h->stat_prefix);

    switch ((int)h->codec_type) {
    case HCM_ENUM(CODEC_TYPE__AUTO):
        o->codec_type = DP_CODEC_AUTO;
        break;
    case HCM_ENUM(CODEC_TYPE__HTTP1):
        o->codec_type = DP_CODEC_HTTP1;
        break;
    case HCM_ENUM(CODEC_TYPE__HTTP2):
        o->codec_type = DP_CODEC_HTTP2;
        break;
    case HCM_ENUM(CODEC_TYPE__HTTP3):
        return dp_xlate__fail_at(x, "codec_type", "HTTP3 is not supported yet");
    default:
        return dp_xlate__fail_at(x, "codec_type", "unknown value %d", (int)h->codec_type);
    }

    if ((rc = xl_route_specifier(x, h, o)) != 0)
        return rc;
    if ((rc = xl_http_filters(x, h, o)) != 0)
        return rc;
    if ((rc = xl_protocol_options(x, h, o)) != 0)
        return rc;
    size_t saved = dp_xlate__push(x, "http2_protocol_options");
    rc = dp_xlate__h2_options(x, h->http2_protocol_options, &o->h2);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;

    if (h->server_name && h->server_name[0]) {
        if (strpbrk(h->server_name, "\r\n") != NULL)
            return dp_xlate__fail_at(x, "server_name", "must not contain CR or LF");
        o->server_name = dp_xstrdup(h->server_name);
    } else {
        o->server_name = dp_xstrdup("envoy");
    }
    switch ((int)h->server_header_transformation) {
    case HCM_ENUM(SERVER_HEADER_TRANSFORMATION__OVERWRITE):
        o->server_header_transformation = DP_SERVER_HDR_OVERWRITE;
        break;
    case HCM_ENUM(SERVER_HEADER_TRANSFORMATION__APPEND_IF_ABSENT):
        o->server_header_transformation = DP_SERVER_HDR_APPEND_IF_ABSENT;
        break;
    case HCM_ENUM(SERVER_HEADER_TRANSFORMATION__PASS_THROUGH):
        o->server_header_transformation = DP_SERVER_HDR_PASS_THROUGH;
        break;
    default:
        return dp_xlate__fail_at(x, "server_header_transformation", "unknown value %d",
                                 (int)h->server_header_transformation);
    }

    o->max_request_headers_kb = dp_xlate__u32(h->max_request_headers_kb, DEFAULT_MAX_REQUEST_HEADERS_KB);
    if (o->max_request_headers_kb < 1 || o->max_request_headers_kb > MAX_MAX_REQUEST_HEADERS_KB)
        return dp_xlate__fail_at(x, "max_request_headers_kb", "%u is out of range (1..%d)",
                                 (unsigned)o->max_request_headers_kb, MAX_MAX_REQUEST_HEADERS_KB);
    if ((rc = dp_xlate__duration_ms(x, "stream_idle_timeout", h->stream_idle_timeout,
                                    DEFAULT_STREAM_IDLE_TIMEOUT_MS, &o->stream_idle_timeout_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "request_timeout", h->request_timeout, 0, &o->request_timeout_ms)) !=
            0 ||
        (rc = dp_xlate__duration_ms(x, "request_headers_timeout", h->request_headers_timeout, 0,
                                    &o->request_headers_timeout_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "drain_timeout", h->drain_timeout, DEFAULT_DRAIN_TIMEOUT_MS,
                                    &o->drain_timeout_ms)) != 0)
        return rc;

    o->use_remote_address = dp_xlate__bool(h->use_remote_address, false);
    o->xff_num_trusted_hops = h->xff_num_trusted_hops;
    o->skip_xff_append = h->skip_xff_append != 0;
    o->generate_request_id = dp_xlate__bool(h->generate_request_id, true);
    o->preserve_external_request_id = h->preserve_external_request_id != 0;

    if ((rc = xl_upgrades(x, h, o)) != 0)
        return rc;

    bool strip_any =
        h->strip_port_mode_case == HCM_ENUM(STRIP_PORT_MODE_STRIP_ANY_HOST_PORT) && h->strip_any_host_port;
    if (strip_any && h->strip_matching_host_port)
        return dp_xlate__fail(x, "only one of strip_matching_host_port or strip_any_host_port can be set");
    o->strip_port = strip_any                     ? DP_STRIP_ANY_PORT
                    : h->strip_matching_host_port ? DP_STRIP_MATCHING_PORT
                                                  : DP_STRIP_PORT_NONE;

    return xl_access_logs(x, h->access_log, h->n_access_log, "access_log", &o->access_logs,
                          &o->n_access_logs);
}

/* ---- Listener ---------------------------------------------------------------- */

static int xl_network_filter(dp_xlate_t *x, const pb_filter_t *f, dp_filter_chain_t *fc)
{
    const Google__Protobuf__Any *tc = NULL;
    ProtobufCMessage *msg = NULL;
    size_t saved;
    int rc;

    if (f->config_type_case == ENVOY__CONFIG__LISTENER__V3__FILTER__CONFIG_TYPE_TYPED_CONFIG)
        tc = f->typed_config;
    if (tc == NULL)
        return dp_xlate__fail_at(x, "typed_config", "required (an %s)", HCM_TYPE);
    /* The name is informational in Envoy v3: the type decides. */
    if (strcmp(dp_xlate__type_name(tc->type_url), HCM_TYPE) != 0)
        return dp_xlate__fail_at(x, "typed_config",
                                 "network filter type '%s' is not supported yet (only "
                                 "envoy.filters.network.http_connection_manager)",
                                 dp_xlate__type_name(tc->type_url));
    saved = dp_xlate__push(x, "typed_config");
    rc = dp_xlate__unpack_any(
        x, tc,
        &envoy__extensions__filters__network__http_connection_manager__v3__http_connection_manager__descriptor,
        &msg);
    if (rc == 0) {
        fc->hcm = dp_xcalloc(1, sizeof(*fc->hcm));
        rc = xl_hcm(x, (const pb_hcm_t *)msg, fc->hcm);
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    dp_xlate__pop(x, saved);
    return rc;
}

/* A FilterChainMatch (the current path is the chain): the fields we
 * implement; Envoy's others are not in proto/ and were refused by name
 * when decoding, but for destination_port, which we model and do not
 * match on. */
static int xl_chain_match(dp_xlate_t *x, const pb_match_t *m, dp_filter_chain_t *o)
{
    size_t saved;
    int rc = 0;

    if (m == NULL)
        return 0;
    saved = dp_xlate__push(x, "filter_chain_match");
    if (m->destination_port != NULL) {
        rc = dp_xlate__fail_at(x, "destination_port", "not supported yet");
        goto out;
    }
    if (m->n_server_names)
        o->server_names = dp_xcalloc(m->n_server_names, sizeof(*o->server_names));
    for (size_t i = 0; i < m->n_server_names; i++) {
        const char *n = m->server_names[i] ? m->server_names[i] : "";
        const char *star = strchr(n, '*');
        size_t s2 = dp_xlate__push_idx(x, "server_names", i);
        if (n[0] == '\0')
            rc = dp_xlate__fail(x, "must not be empty");
        /* Envoy: "*.example.com" or a full name; no partial wildcards */
        else if (star != NULL && (star != n || n[1] != '.' || n[2] == '\0' || strchr(n + 1, '*') != NULL))
            rc = dp_xlate__fail(x, "'%s': partial wildcards are not supported (only a leading '*.')", n);
        dp_xlate__pop(x, s2);
        if (rc != 0)
            goto out;
        o->server_names[o->n_server_names++] = dp_xlate__lower_dup(n);
    }
    if (m->transport_protocol != NULL && m->transport_protocol[0] != '\0') {
        if (strcmp(m->transport_protocol, "tls") != 0 && strcmp(m->transport_protocol, "raw_buffer") != 0) {
            rc = dp_xlate__fail_at(x, "transport_protocol", "'%s' is not supported yet (tls or raw_buffer)",
                                   m->transport_protocol);
            goto out;
        }
        o->transport_protocol = dp_xstrdup(m->transport_protocol);
    }
    if (m->n_application_protocols)
        o->application_protocols = dp_xcalloc(m->n_application_protocols, sizeof(*o->application_protocols));
    for (size_t i = 0; i < m->n_application_protocols; i++) {
        const char *a = m->application_protocols[i] ? m->application_protocols[i] : "";
        if (a[0] == '\0' || strlen(a) > 255) {
            size_t s2 = dp_xlate__push_idx(x, "application_protocols", i);
            rc = dp_xlate__fail(x, "must be 1 to 255 bytes");
            dp_xlate__pop(x, s2);
            goto out;
        }
        o->application_protocols[o->n_application_protocols++] = dp_xstrdup(a);
    }
out:
    dp_xlate__pop(x, saved);
    return rc;
}

/* A FilterChain (the current path is the chain). *is_tls: it terminates
 * TLS. */
static int xl_filter_chain(dp_xlate_t *x, const pb_chain_t *fc, const dp_secret_source_t *src, bool is_default,
                           dp_filter_chain_t *o, bool *is_tls)
{
    size_t saved;
    int rc;

    *is_tls = false;
    if (fc->name && fc->name[0])
        o->name = dp_xstrdup(fc->name);
    /* Envoy does not look at the default chain's match */
    if (!is_default && (rc = xl_chain_match(x, fc->filter_chain_match, o)) != 0)
        return rc;
    if (fc->n_filters == 0)
        return dp_xlate__fail_at(x, "filters",
                                 "exactly one filter (envoy.filters.network.http_connection_manager) "
                                 "is required");
    if (fc->n_filters > 1) {
        saved = dp_xlate__push_idx(x, "filters", 1);
        rc = dp_xlate__fail(x, "more than one network filter is not supported yet");
        dp_xlate__pop(x, saved);
        return rc;
    }
    saved = dp_xlate__push_idx(x, "filters", 0);
    rc = xl_network_filter(x, fc->filters[0], o);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;
    if (fc->transport_socket != NULL) {
        saved = dp_xlate__push(x, "transport_socket");
        rc = dp_xlate__downstream_tls(x, fc->transport_socket, src, o, is_tls);
        dp_xlate__pop(x, saved);
    }
    return rc;
}

/* Two lists of a match field select the same connections somewhere: both
 * empty (Envoy's "" key) or a common entry. */
static bool lists_overlap(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na == 0 || nb == 0)
        return na == nb;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(a[i], b[j]) == 0)
                return true;
    return false;
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Envoy builds a tree of server name -> transport protocol -> application
 * protocol; two chains reaching the same leaf are an error. */
static int check_duplicate_matches(dp_xlate_t *x, const dp_listener_cfg_t *l)
{
    for (size_t j = 1; j < l->n_chains; j++) {
        const dp_filter_chain_t *b = &l->chains[j];
        for (size_t i = 0; i < j; i++) {
            const dp_filter_chain_t *a = &l->chains[i];
            if (!lists_overlap(a->server_names, a->n_server_names, b->server_names, b->n_server_names) ||
                !same_str(a->transport_protocol, b->transport_protocol) ||
                !lists_overlap(a->application_protocols, a->n_application_protocols, b->application_protocols,
                               b->n_application_protocols))
                continue;
            size_t saved = dp_xlate__push_idx(x, "filter_chains", j);
            int rc = dp_xlate__fail(x,
                                    "multiple filter chains with the same matching rules are defined "
                                    "(filter_chains[%zu]%s%s%s and filter_chains[%zu]%s%s%s)",
                                    i, a->name ? " '" : "", a->name ? a->name : "", a->name ? "'" : "", j,
                                    b->name ? " '" : "", b->name ? b->name : "", b->name ? "'" : "");
            dp_xlate__pop(x, saved);
            return rc;
        }
    }
    return 0;
}

static int xl_listener(dp_xlate_t *x, const pb_listener_t *m, const dp_secret_source_t *src, dp_listener_cfg_t *l)
{
    size_t saved;
    bool is_tls;
    int rc;

    if (m->name == NULL || m->name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    l->name = dp_xstrdup(m->name);

    saved = dp_xlate__push(x, "address");
    rc = dp_xlate__address(x, m->address, &l->addr, &l->addrlen, l->addr_str, sizeof(l->addr_str), NULL);
    /* Our listener sockets are IPV6_V6ONLY: "::" with ipv4_compat would
     * also accept IPv4, which we do not do yet. */
    if (rc == 0 && m->address->socket_address->ipv4_compat)
        rc = dp_xlate__fail_at(x, "socket_address.ipv4_compat", "not supported yet");
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;

    /* Listener stats are named after the address; a stat_prefix would
     * rename them, which nothing downstream models yet. */
    if (m->stat_prefix && m->stat_prefix[0])
        return dp_xlate__fail_at(x, "stat_prefix", "not supported yet");
    l->per_connection_buffer_limit_bytes =
        dp_xlate__u32(m->per_connection_buffer_limit_bytes, DEFAULT_BUFFER_LIMIT);
    /* drain_type and traffic_direction steer the server drain
     * (dataplane/server/drain.h): MODIFY_ONLY listeners do not drain on
     * /healthcheck/fail; /drain_listeners?inboundonly takes the INBOUND ones */
    if (m->drain_type != ENVOY__CONFIG__LISTENER__V3__LISTENER__DRAIN_TYPE__DEFAULT &&
        m->drain_type != ENVOY__CONFIG__LISTENER__V3__LISTENER__DRAIN_TYPE__MODIFY_ONLY)
        return dp_xlate__fail_at(x, "drain_type", "unknown value %d", (int)m->drain_type);
    l->drain_modify_only = m->drain_type == ENVOY__CONFIG__LISTENER__V3__LISTENER__DRAIN_TYPE__MODIFY_ONLY;
    if ((unsigned)m->traffic_direction > ENVOY__CONFIG__CORE__V3__TRAFFIC_DIRECTION__OUTBOUND)
        return dp_xlate__fail_at(x, "traffic_direction", "unknown value %d", (int)m->traffic_direction);
    l->inbound = m->traffic_direction == ENVOY__CONFIG__CORE__V3__TRAFFIC_DIRECTION__INBOUND;
    dp_lf_state_t lfs;
    if ((rc = dp_xlate__listener_filters(x, m, l, &lfs)) != 0)
        return rc;
    /* 0 disables the timeout, as in Envoy */
    if ((rc = dp_xlate__duration_ms(x, "listener_filters_timeout", m->listener_filters_timeout,
                                    DEFAULT_LISTENER_FILTERS_TIMEOUT_MS, &l->listener_filters_timeout_ms)) != 0)
        return rc;

    if (m->n_filter_chains == 0 && m->default_filter_chain == NULL)
        return dp_xlate__fail_at(x, "filter_chains", "at least one filter chain (or a default_filter_chain) is required");
    if (m->n_filter_chains)
        l->chains = dp_xcalloc(m->n_filter_chains, sizeof(*l->chains));
    for (size_t i = 0; i < m->n_filter_chains; i++) {
        saved = dp_xlate__push_idx(x, "filter_chains", i);
        rc = xl_filter_chain(x, m->filter_chains[i], src, false, &l->chains[i], &is_tls);
        l->n_chains++; /* freed with the listener, whatever state it is in */
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        l->any_tls |= is_tls;
    }
    if ((rc = check_duplicate_matches(x, l)) != 0)
        return rc;
    if (m->default_filter_chain != NULL) {
        l->default_chain = dp_xcalloc(1, sizeof(*l->default_chain));
        saved = dp_xlate__push(x, "default_filter_chain");
        rc = xl_filter_chain(x, m->default_filter_chain, src, true, l->default_chain, &is_tls);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        l->any_tls |= is_tls;
    }
    if ((rc = dp_xlate__transparent_check(x, l, &lfs)) != 0)
        return rc;
    return xl_access_logs(x, m->access_log, m->n_access_log, "access_log", &l->access_logs,
                          &l->n_access_logs);
}

int dp_translate_listener_ex(const ProtobufCMessage *m, const dp_secret_source_t *src, dp_listener_cfg_t **out,
                             char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_listener_cfg_t *l;
    int rc;

    dp_xlate__init(&x, errbuf, errlen);
    *out = NULL;
    if (m == NULL || m->descriptor != &envoy__config__listener__v3__listener__descriptor)
        return dp_xlate__fail(&x, "not an envoy.config.listener.v3.Listener");
    l = dp_xcalloc(1, sizeof(*l));
    atomic_init(&l->refcnt, 1);
    rc = xl_listener(&x, (const pb_listener_t *)m, src, l);
    if (rc != 0) {
        dp_listener_cfg_unref(l);
        return rc;
    }
    *out = l;
    return 0;
}

int dp_translate_listener(const ProtobufCMessage *m, dp_listener_cfg_t **out, char *errbuf, size_t errlen)
{
    return dp_translate_listener_ex(m, NULL, out, errbuf, errlen);
}
