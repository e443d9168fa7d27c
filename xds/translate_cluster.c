/* envoy.config.cluster.v3.Cluster (+ its ClusterLoadAssignment) ->
 * dp_cluster_cfg_t (cluster-t.h), with Envoy's defaults: endpoints, load
 * balancing, circuit breakers, the upstream HTTP protocol
 * (typed_extension_protocol_options) and TLS (transport_socket). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outlier.h"
#include "envoy/config/cluster/v3/circuit_breaker.pb-c.h"
#include "envoy/config/cluster/v3/cluster.pb-c.h"
#include "envoy/config/cluster/v3/outlier_detection.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint.pb-c.h"
#include "envoy/config/endpoint/v3/endpoint_components.pb-c.h"
#include "envoy/extensions/upstreams/http/v3/http_protocol_options.pb-c.h"
#include "xds/hds_hc.h"
#include "xds/translate.h"
#include "xds/translate_tls.h"
#include "xds/translate_util.h"

typedef Envoy__Config__Cluster__V3__Cluster pb_cluster_t;
typedef Envoy__Config__Cluster__V3__CircuitBreakers pb_breakers_t;
typedef Envoy__Config__Endpoint__V3__ClusterLoadAssignment pb_cla_t;
typedef Envoy__Config__Endpoint__V3__LocalityLbEndpoints pb_locality_t;
typedef Envoy__Config__Endpoint__V3__LbEndpoint pb_lb_endpoint_t;
typedef Envoy__Extensions__Upstreams__Http__V3__HttpProtocolOptions pb_http_opts_t;

#define HTTP_OPTIONS "envoy.extensions.upstreams.http.v3.HttpProtocolOptions"
#define HTTP_OPTS_ENUM(x) ENVOY__EXTENSIONS__UPSTREAMS__HTTP__V3__HTTP_PROTOCOL_OPTIONS__##x

/* Envoy's defaults (cluster.proto, circuit_breaker.proto). */
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_BUFFER_LIMIT (1024 * 1024)
#define DEFAULT_MAX_CONNECTIONS 1024
#define DEFAULT_MAX_PENDING_REQUESTS 1024
#define DEFAULT_MAX_REQUESTS 1024
#define DEFAULT_MAX_RETRIES 3
#define DEFAULT_CHOICE_COUNT 2
#define DEFAULT_IDLE_TIMEOUT_MS (3600 * 1000)

static const char *enum_name(const ProtobufCEnumDescriptor *d, int v)
{
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
    return ev ? ev->name : NULL;
}

/* ---- endpoints ------------------------------------------------------------- */

static int xl_lb_endpoint(dp_xlate_t *x, const pb_lb_endpoint_t *e, dp_endpoint_t *o)
{
    size_t saved;
    int rc;

    if (e->host_identifier_case != ENVOY__CONFIG__ENDPOINT__V3__LB_ENDPOINT__HOST_IDENTIFIER_ENDPOINT ||
        e->endpoint == NULL)
        return dp_xlate__fail_at(x, "endpoint", "required");
    saved = dp_xlate__push(x, "endpoint.address");
    rc = dp_xlate__address(x, e->endpoint->address, &o->addr, &o->addrlen, o->addr_str, sizeof(o->addr_str),
                           NULL);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;
    switch ((int)e->health_status) {
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNKNOWN:
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__HEALTHY:
        o->healthy = true;
        break;
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__UNHEALTHY:
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DRAINING:
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__TIMEOUT:
    case ENVOY__CONFIG__CORE__V3__HEALTH_STATUS__DEGRADED:
        o->healthy = false;
        break;
    default:
        return dp_xlate__fail_at(x, "health_status", "unknown value %d", (int)e->health_status);
    }
    o->weight = dp_xlate__u32(e->load_balancing_weight, 1);
    if (o->weight < 1)
        return dp_xlate__fail_at(x, "load_balancing_weight", "must be at least 1");
    /* metadata only matters to subset load balancing (not modelled) and
     * endpoint.hostname to health checks and auto_host_rewrite (neither
     * implemented): Envoy ignores both without those features. */
    return 0;
}

/* A ClusterLoadAssignment at the current path (the Cluster's
 * load_assignment, or the root of an EDS resource). */
static int xl_cla(dp_xlate_t *x, const pb_cla_t *cla, dp_cluster_cfg_t *c)
{
    size_t total = 0;

    if (cla->cluster_name == NULL || cla->cluster_name[0] == '\0')
        return dp_xlate__fail_at(x, "cluster_name", "required");
    for (size_t i = 0; i < cla->n_endpoints; i++)
        total += cla->endpoints[i]->n_lb_endpoints;
    if (total)
        c->endpoints = dp_xcalloc(total, sizeof(*c->endpoints));
    if (cla->n_endpoints)
        c->localities = dp_xcalloc(cla->n_endpoints, sizeof(*c->localities));
    for (size_t i = 0; i < cla->n_endpoints; i++) {
        const pb_locality_t *loc = cla->endpoints[i];
        const Envoy__Config__Core__V3__Locality *l = loc->locality;
        size_t saved = dp_xlate__push_idx(x, "endpoints", i);
        int rc = 0;

        c->localities[i].region = dp_xstrdup(l && l->region ? l->region : "");
        c->localities[i].zone = dp_xstrdup(l && l->zone ? l->zone : "");
        c->localities[i].sub_zone = dp_xstrdup(l && l->sub_zone ? l->sub_zone : "");
        c->n_localities = i + 1;

        if (loc->priority != 0)
            rc = dp_xlate__fail_at(x, "priority", "%u: priorities other than 0 are not supported yet",
                                   (unsigned)loc->priority);
        else if (loc->load_balancing_weight != NULL)
            rc = dp_xlate__fail_at(x, "load_balancing_weight", "locality weights are not supported yet");
        for (size_t j = 0; rc == 0 && j < loc->n_lb_endpoints; j++) {
            dp_endpoint_t *ep = &c->endpoints[c->n_endpoints];
            size_t s2 = dp_xlate__push_idx(x, "lb_endpoints", j);
            rc = xl_lb_endpoint(x, loc->lb_endpoints[j], ep);
            dp_xlate__pop(x, s2);
            if (rc == 0) {
                ep->priority = loc->priority;
                ep->locality = (uint32_t)i;
                c->n_endpoints++;
            }
        }
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- upstream HTTP protocol ------------------------------------------------- */

/* HttpProtocolOptions.common_http_protocol_options (current path). */
static int xl_common_http(dp_xlate_t *x, const Envoy__Config__Core__V3__HttpProtocolOptions *h, dp_cluster_cfg_t *c)
{
    int rc;

    if ((rc = dp_xlate__duration_ms(x, "idle_timeout", h->idle_timeout, DEFAULT_IDLE_TIMEOUT_MS,
                                    &c->idle_timeout_ms)) != 0)
        return rc;
    /* 0 (or unset): no limit, as in Envoy's pools */
    c->max_requests_per_connection = dp_xlate__u32(h->max_requests_per_connection, 0);
    if (h->max_headers_count != NULL)
        return dp_xlate__fail_at(x, "max_headers_count", "not supported yet on upstream connections");
    if (h->max_connection_duration != NULL)
        return dp_xlate__fail_at(x, "max_connection_duration", "not supported yet");
    if (h->max_stream_duration != NULL)
        return dp_xlate__fail_at(x, "max_stream_duration", "not supported yet");
    if (h->headers_with_underscores_action !=
        ENVOY__CONFIG__CORE__V3__HTTP_PROTOCOL_OPTIONS__HEADERS_WITH_UNDERSCORES_ACTION__ALLOW)
        return dp_xlate__fail_at(x, "headers_with_underscores_action", "not supported yet (only ALLOW)");
    return 0;
}

/* The HttpProtocolOptions message at the current path. Http1ProtocolOptions
 * carries only server-side settings here (absolute URLs, HTTP/1.0), which
 * Envoy's client codec does not use either. */
static int xl_http_options(dp_xlate_t *x, const pb_http_opts_t *h, dp_cluster_cfg_t *c)
{
    size_t saved;
    int rc = 0;

    if (h->common_http_protocol_options != NULL) {
        saved = dp_xlate__push(x, "common_http_protocol_options");
        rc = xl_common_http(x, h->common_http_protocol_options, c);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    switch (h->upstream_protocol_options_case) {
    case HTTP_OPTS_ENUM(UPSTREAM_PROTOCOL_OPTIONS_EXPLICIT_HTTP_CONFIG): {
        const Envoy__Extensions__Upstreams__Http__V3__HttpProtocolOptions__ExplicitHttpConfig *e =
            h->explicit_http_config;
        saved = dp_xlate__push(x, "explicit_http_config");
        if (e->protocol_config_case == HTTP_OPTS_ENUM(EXPLICIT_HTTP_CONFIG__PROTOCOL_CONFIG_HTTP_PROTOCOL_OPTIONS)) {
            c->proto = DP_UPSTREAM_HTTP1;
        } else if (e->protocol_config_case ==
                   HTTP_OPTS_ENUM(EXPLICIT_HTTP_CONFIG__PROTOCOL_CONFIG_HTTP2_PROTOCOL_OPTIONS)) {
            size_t s2 = dp_xlate__push(x, "http2_protocol_options");
            c->proto = DP_UPSTREAM_HTTP2;
            rc = dp_xlate__h2_options(x, e->http2_protocol_options, &c->h2);
            dp_xlate__pop(x, s2);
        } else {
            rc = dp_xlate__fail(x, "one of http_protocol_options or http2_protocol_options is required");
        }
        dp_xlate__pop(x, saved);
        return rc;
    }
    case HTTP_OPTS_ENUM(UPSTREAM_PROTOCOL_OPTIONS_USE_DOWNSTREAM_PROTOCOL_CONFIG):
        c->proto = DP_UPSTREAM_DOWNSTREAM;
        saved = dp_xlate__push(x, "use_downstream_protocol_config.http2_protocol_options");
        rc = dp_xlate__h2_options(x, h->use_downstream_protocol_config->http2_protocol_options, &c->h2);
        dp_xlate__pop(x, saved);
        return rc;
    default:
        /* auto_config is not in proto/: refused by name when decoding */
        return dp_xlate__fail(x, "one of explicit_http_config or use_downstream_protocol_config is required");
    }
}

/* typed_extension_protocol_options: the upstream HTTP protocol; defaults
 * (HTTP/1.1, Envoy's HTTP/2 options, 1 h idle timeout) without it. */
static int xl_protocol_options(dp_xlate_t *x, const pb_cluster_t *m, dp_cluster_cfg_t *c)
{
    c->proto = DP_UPSTREAM_HTTP1;
    dp_h2_options_default(&c->h2);
    c->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    c->max_requests_per_connection = 0;
    for (size_t i = 0; i < m->n_typed_extension_protocol_options; i++) {
        const Envoy__Config__Cluster__V3__Cluster__TypedExtensionProtocolOptionsEntry *e =
            m->typed_extension_protocol_options[i];
        const char *key = e->key ? e->key : "";
        ProtobufCMessage *msg = NULL;
        size_t saved = dp_xlate__push_key(x, "typed_extension_protocol_options", key);
        int rc;

        if (strcmp(key, HTTP_OPTIONS) != 0)
            rc = dp_xlate__fail(x, "not supported yet (only %s)", HTTP_OPTIONS);
        else if (e->value != NULL && strcmp(dp_xlate__type_name(e->value->type_url), HTTP_OPTIONS) != 0)
            rc = dp_xlate__fail(x, "type '%s' is not an %s", dp_xlate__type_name(e->value->type_url), HTTP_OPTIONS);
        else
            rc = dp_xlate__unpack_any(x, e->value, &envoy__extensions__upstreams__http__v3__http_protocol_options__descriptor,
                                      &msg);
        if (rc == 0)
            rc = xl_http_options(x, (const pb_http_opts_t *)msg, c);
        if (msg)
            protobuf_c_message_free_unpacked(msg, NULL);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- cluster -------------------------------------------------------------- */

static int xl_breakers(dp_xlate_t *x, const pb_breakers_t *cb, dp_cluster_cfg_t *c)
{
    c->max_connections = DEFAULT_MAX_CONNECTIONS;
    c->max_pending_requests = DEFAULT_MAX_PENDING_REQUESTS;
    c->max_requests = DEFAULT_MAX_REQUESTS;
    c->max_retries = DEFAULT_MAX_RETRIES;
    if (cb == NULL)
        return 0;
    bool seen_default = false;
    for (size_t i = 0; i < cb->n_thresholds; i++) {
        const Envoy__Config__Cluster__V3__CircuitBreakers__Thresholds *t = cb->thresholds[i];
        size_t saved = dp_xlate__push_idx(x, "thresholds", i);
        int rc = 0;

        if (t->priority == ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__HIGH)
            rc = dp_xlate__fail_at(x, "priority", "HIGH is not supported yet");
        else if (t->priority != ENVOY__CONFIG__CORE__V3__ROUTING_PRIORITY__DEFAULT)
            rc = dp_xlate__fail_at(x, "priority", "unknown value %d", (int)t->priority);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        /* Envoy uses the first entry of a priority. */
        if (seen_default)
            continue;
        seen_default = true;
        c->max_connections = dp_xlate__u32(t->max_connections, DEFAULT_MAX_CONNECTIONS);
        c->max_pending_requests = dp_xlate__u32(t->max_pending_requests, DEFAULT_MAX_PENDING_REQUESTS);
        c->max_requests = dp_xlate__u32(t->max_requests, DEFAULT_MAX_REQUESTS);
        c->max_retries = dp_xlate__u32(t->max_retries, DEFAULT_MAX_RETRIES);
    }
    return 0;
}

static int xl_lb_policy(dp_xlate_t *x, const pb_cluster_t *m, dp_cluster_cfg_t *c)
{
    switch ((int)m->lb_policy) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__ROUND_ROBIN:
        c->lb_policy = DP_LB_ROUND_ROBIN;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__LEAST_REQUEST:
        c->lb_policy = DP_LB_LEAST_REQUEST;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__RANDOM:
        c->lb_policy = DP_LB_RANDOM;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_POLICY__CLUSTER_PROVIDED:
        c->lb_policy = DP_LB_CLUSTER_PROVIDED;
        break;
    default: {
        const char *n =
            enum_name(&envoy__config__cluster__v3__cluster__lb_policy__descriptor, (int)m->lb_policy);
        if (n == NULL)
            return dp_xlate__fail_at(x, "lb_policy", "unknown value %d", (int)m->lb_policy);
        return dp_xlate__fail_at(x, "lb_policy", "unsupported lb_policy %s", n);
    }
    }
    c->choice_count = DEFAULT_CHOICE_COUNT;
    if (m->lb_config_case == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__LB_CONFIG_LEAST_REQUEST_LB_CONFIG &&
        m->least_request_lb_config != NULL) {
        c->choice_count = dp_xlate__u32(m->least_request_lb_config->choice_count, DEFAULT_CHOICE_COUNT);
        if (c->choice_count < 2)
            return dp_xlate__fail_at(x, "least_request_lb_config.choice_count", "must be at least 2");
    }
    return 0;
}

/* ---- upstream health ----------------------------------------------------------- */

/* health_checks: at most one (dataplane/upstream/health.h), plaintext. */
static int xl_health_checks(dp_xlate_t *x, const pb_cluster_t *m, dp_cluster_cfg_t *c)
{
    if (m->n_health_checks == 0)
        return 0;
    if (m->n_health_checks > 1)
        return dp_xlate__fail_at(x, "health_checks", "only one health check per cluster is supported");
    if (c->type == DP_CLUSTER_ORIGINAL_DST)
        return dp_xlate__fail_at(x, "health_checks", "not allowed with cluster type ORIGINAL_DST");
    if (c->tls != NULL || m->transport_socket != NULL)
        return dp_xlate__fail_at(x, "health_checks", "health checks over TLS are not supported yet");
    size_t saved = dp_xlate__push_idx(x, "health_checks", 0);
    int rc = dp_xlate__health_check(x, m->health_checks[0], &c->hc);
    dp_xlate__pop(x, saved);
    return rc;
}

static int xl_pct(dp_xlate_t *x, const char *field, const Google__Protobuf__UInt32Value *v, uint32_t dflt,
                  uint32_t *out)
{
    *out = dp_xlate__u32(v, dflt);
    if (*out > 100)
        return dp_xlate__fail_at(x, field, "%u: must be at most 100", *out);
    return 0;
}

static int xl_outlier(dp_xlate_t *x, const Envoy__Config__Cluster__V3__OutlierDetection *od, dp_cluster_cfg_t *c)
{
    dp_outlier_cfg_t *o = dp_xcalloc(1, sizeof(*o));
    int rc;
    dp_outlier_cfg_defaults(o);
    c->outlier = o; /* freed with c on error */
    if (c->type == DP_CLUSTER_ORIGINAL_DST)
        return dp_xlate__fail(x, "not allowed with cluster type ORIGINAL_DST");
    if (od->split_external_local_origin_errors)
        return dp_xlate__fail_at(x, "split_external_local_origin_errors", "only false is supported");
    o->consecutive_5xx = dp_xlate__u32(od->consecutive_5xx, o->consecutive_5xx);
    o->consecutive_gateway_failure = dp_xlate__u32(od->consecutive_gateway_failure, o->consecutive_gateway_failure);
    if ((rc = xl_pct(x, "enforcing_consecutive_5xx", od->enforcing_consecutive_5xx, 100,
                     &o->enforcing_consecutive_5xx)) != 0 ||
        (rc = xl_pct(x, "enforcing_consecutive_gateway_failure", od->enforcing_consecutive_gateway_failure, 0,
                     &o->enforcing_consecutive_gateway_failure)) != 0 ||
        (rc = xl_pct(x, "max_ejection_percent", od->max_ejection_percent, 10, &o->max_ejection_percent)) != 0)
        return rc;
    if ((rc = dp_xlate__duration_ms(x, "interval", od->interval, o->interval_ms, &o->interval_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "base_ejection_time", od->base_ejection_time, o->base_ejection_time_ms,
                                    &o->base_ejection_time_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "max_ejection_time", od->max_ejection_time, o->max_ejection_time_ms,
                                    &o->max_ejection_time_ms)) != 0)
        return rc;
    /* PGV: the three durations > 0 */
    if (o->interval_ms == 0)
        return dp_xlate__fail_at(x, "interval", "must be at least 1 ms");
    if (o->base_ejection_time_ms == 0)
        return dp_xlate__fail_at(x, "base_ejection_time", "must be at least 1 ms");
    if (o->max_ejection_time_ms == 0)
        return dp_xlate__fail_at(x, "max_ejection_time", "must be at least 1 ms");
    o->always_eject_one_host = dp_xlate__bool(od->always_eject_one_host, false);
    o->hc_uneject = dp_xlate__bool(od->successful_active_health_check_uneject_host, true);
    return 0;
}

static int xl_health(dp_xlate_t *x, const pb_cluster_t *m, dp_cluster_cfg_t *c)
{
    int rc = xl_health_checks(x, m, c);
    if (rc != 0 || m->outlier_detection == NULL)
        return rc;
    size_t saved = dp_xlate__push(x, "outlier_detection");
    rc = xl_outlier(x, m->outlier_detection, c);
    dp_xlate__pop(x, saved);
    return rc;
}

static int xl_cluster(dp_xlate_t *x, const pb_cluster_t *m, const pb_cla_t *cla, const dp_secret_source_t *src,
                      dp_cluster_cfg_t *c)
{
    size_t saved;
    int rc;
    int type = ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC;

    if (m->name == NULL || m->name[0] == '\0')
        return dp_xlate__fail_at(x, "name", "required");
    c->name = dp_xstrdup(m->name);

    if (m->cluster_discovery_type_case == ENVOY__CONFIG__CLUSTER__V3__CLUSTER__CLUSTER_DISCOVERY_TYPE_TYPE)
        type = (int)m->type;
    switch (type) {
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__STATIC:
        c->type = DP_CLUSTER_STATIC;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__EDS:
        c->type = DP_CLUSTER_EDS;
        break;
    case ENVOY__CONFIG__CLUSTER__V3__CLUSTER__DISCOVERY_TYPE__ORIGINAL_DST:
        c->type = DP_CLUSTER_ORIGINAL_DST;
        break;
    default: {
        const char *n = enum_name(&envoy__config__cluster__v3__cluster__discovery_type__descriptor, type);
        if (n == NULL)
            return dp_xlate__fail_at(x, "type", "unknown value %d", type);
        return dp_xlate__fail_at(x, "type", "%s is not supported yet (STATIC, EDS or ORIGINAL_DST)", n);
    }
    }

    if ((rc = dp_xlate__duration_ms(x, "connect_timeout", m->connect_timeout, DEFAULT_CONNECT_TIMEOUT_MS,
                                    &c->connect_timeout_ms)) != 0)
        return rc;
    /* PGV: connect_timeout > 0. A sub-millisecond value is > 0 for Envoy
     * too, so round it up instead of refusing it. */
    if (m->connect_timeout != NULL && c->connect_timeout_ms == 0) {
        if (m->connect_timeout->seconds == 0 && m->connect_timeout->nanos == 0)
            return dp_xlate__fail_at(x, "connect_timeout", "must be greater than 0");
        c->connect_timeout_ms = 1;
    }
    c->per_connection_buffer_limit_bytes =
        dp_xlate__u32(m->per_connection_buffer_limit_bytes, DEFAULT_BUFFER_LIMIT);
    if ((rc = xl_lb_policy(x, m, c)) != 0)
        return rc;
    /* Envoy: ORIGINAL_DST goes with CLUSTER_PROVIDED and nothing else. */
    if ((c->type == DP_CLUSTER_ORIGINAL_DST) != (c->lb_policy == DP_LB_CLUSTER_PROVIDED))
        return dp_xlate__fail_at(x, "lb_policy",
                                 c->type == DP_CLUSTER_ORIGINAL_DST
                                     ? "only CLUSTER_PROVIDED is allowed with cluster type ORIGINAL_DST"
                                     : "CLUSTER_PROVIDED is only valid with cluster type ORIGINAL_DST");

    saved = dp_xlate__push(x, "circuit_breakers");
    rc = xl_breakers(x, m->circuit_breakers, c);
    dp_xlate__pop(x, saved);
    if (rc != 0)
        return rc;

    if ((rc = xl_protocol_options(x, m, c)) != 0)
        return rc;
    /* after the protocol: the ALPN an upstream TLS context offers follows it */
    if (m->transport_socket != NULL) {
        saved = dp_xlate__push(x, "transport_socket");
        rc = dp_xlate__upstream_tls(x, m->transport_socket, src, c);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }

    if ((rc = xl_health(x, m, c)) != 0)
        return rc;

    if (c->type == DP_CLUSTER_ORIGINAL_DST) {
        /* The upstream address comes with each request. */
        if (m->eds_cluster_config != NULL)
            return dp_xlate__fail_at(x, "eds_cluster_config", "only valid for type EDS");
        if (m->load_assignment != NULL)
            return dp_xlate__fail_at(x, "load_assignment", "not allowed with cluster type ORIGINAL_DST");
    } else if (c->type == DP_CLUSTER_STATIC) {
        /* An EDS resource for a static cluster has nothing to update:
         * Envoy never subscribes, so `cla` is not looked at. */
        if (m->eds_cluster_config != NULL)
            return dp_xlate__fail_at(x, "eds_cluster_config", "only valid for type EDS");
        if (m->load_assignment != NULL) {
            saved = dp_xlate__push(x, "load_assignment");
            rc = xl_cla(x, m->load_assignment, c);
            dp_xlate__pop(x, saved);
            if (rc != 0)
                return rc;
        }
    } else {
        const Envoy__Config__Cluster__V3__Cluster__EdsClusterConfig *eds = m->eds_cluster_config;
        if (eds == NULL)
            return dp_xlate__fail_at(x, "eds_cluster_config", "required for an EDS cluster");
        saved = dp_xlate__push(x, "eds_cluster_config.eds_config");
        rc = dp_xlate__config_source(x, eds->eds_config);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        c->eds_service_name =
            dp_xstrdup(eds->service_name && eds->service_name[0] ? eds->service_name : m->name);
        /* load_assignment is ignored for EDS clusters, as in Envoy: the
         * endpoints come from the EDS resource. Its errors are reported
         * relative to that resource's root. */
        if (cla != NULL) {
            dp_xlate_t cx;
            dp_xlate__init(&cx, x->errbuf, x->errlen);
            if ((rc = xl_cla(&cx, cla, c)) != 0)
                return rc;
        }
    }
    return 0;
}

int dp_translate_cluster_ex(const ProtobufCMessage *m, const ProtobufCMessage *cla, const dp_secret_source_t *src,
                            dp_cluster_cfg_t **out, char *errbuf, size_t errlen)
{
    dp_xlate_t x;
    dp_cluster_cfg_t *c;
    int rc;

    dp_xlate__init(&x, errbuf, errlen);
    *out = NULL;
    if (m == NULL || m->descriptor != &envoy__config__cluster__v3__cluster__descriptor)
        return dp_xlate__fail(&x, "not an envoy.config.cluster.v3.Cluster");
    if (cla != NULL && cla->descriptor != &envoy__config__endpoint__v3__cluster_load_assignment__descriptor)
        return dp_xlate__fail(&x, "not an envoy.config.endpoint.v3.ClusterLoadAssignment");
    c = dp_xcalloc(1, sizeof(*c));
    atomic_init(&c->refcnt, 1);
    rc = xl_cluster(&x, (const pb_cluster_t *)m, (const pb_cla_t *)cla, src, c);
    if (rc != 0) {
        dp_cluster_cfg_unref(c);
        return rc;
    }
    c->rt = dp_cluster_rt_get(c->name);
    /* the health thread follows the snapshots from now on (health.h) */
    if ((c->hc || c->outlier) && dp_health_start() != 0) {
        dp_cluster_cfg_unref(c);
        return dp_xlate__fail(&x, "cannot start the health-check thread");
    }
    size_t healthy = 0;
    for (size_t i = 0; i < c->n_endpoints; i++)
        healthy += c->endpoints[i].healthy;
    dp_stat_set(c->rt->membership_total, (int64_t)c->n_endpoints);
    dp_stat_set(c->rt->membership_healthy, (int64_t)healthy);
    *out = c;
    return 0;
}

int dp_translate_cluster(const ProtobufCMessage *m, const ProtobufCMessage *cla, dp_cluster_cfg_t **out,
                         char *errbuf, size_t errlen)
{
    return dp_translate_cluster_ex(m, cla, NULL, out, errbuf, errlen);
}
