/* envoy.config.core.v3.HealthCheck -> dp_hc_cfg_t (hds_hc.h). */
#include "xds/hds_hc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/core/common.h"
#include "dataplane/http/query.h"

typedef Envoy__Config__Core__V3__HealthCheck pb_hc_t;
typedef Envoy__Config__Core__V3__HealthCheck__Payload pb_payload_t;

#define HC_ENUM(x) ENVOY__CONFIG__CORE__V3__HEALTH_CHECK__##x
#define DEFAULT_NO_TRAFFIC_INTERVAL_MS 60000
#define MAX_PAYLOAD (64 * 1024)


/* A Payload at the current path: text (hex) or binary. */
static int xl_payload(dp_xlate_t *x, const pb_payload_t *p, dp_hc_bytes_t *out)
{
    if (p->payload_case == ENVOY__CONFIG__CORE__V3__HEALTH_CHECK__PAYLOAD__PAYLOAD_BINARY) {
        if (p->binary.len > MAX_PAYLOAD)
            return dp_xlate__fail_at(x, "binary", "longer than %d bytes", MAX_PAYLOAD);
        out->len = p->binary.len;
        out->data = dp_xmalloc(out->len ? out->len : 1);
        if (out->len)
            memcpy(out->data, p->binary.data, out->len);
        return 0;
    }
    if (p->payload_case != ENVOY__CONFIG__CORE__V3__HEALTH_CHECK__PAYLOAD__PAYLOAD_TEXT)
        return dp_xlate__fail(x, "one of text or binary is required");
    size_t n = strlen(p->text);
    if (n == 0)
        return dp_xlate__fail_at(x, "text", "must not be empty");
    if (n % 2 != 0 || n / 2 > MAX_PAYLOAD)
        return dp_xlate__fail_at(x, "text", "not an even number of hex digits (at most %d bytes)", MAX_PAYLOAD);
    out->data = dp_xmalloc(n / 2);
    out->len = n / 2;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = dp_hexval(p->text[2 * i]), lo = dp_hexval(p->text[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return dp_xlate__fail_at(x, "text", "'%s' is not hex", p->text);
        out->data[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static bool header_value_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 && *v != '\t')
            return false;
    return true;
}

static int xl_http(dp_xlate_t *x, const Envoy__Config__Core__V3__HealthCheck__HttpHealthCheck *h, dp_hc_cfg_t *c)
{
    c->kind = DP_HC_HTTP;
    if (h->codec_client_type != ENVOY__TYPE__V3__CODEC_CLIENT_TYPE__HTTP1)
        return dp_xlate__fail_at(x, "codec_client_type", "only HTTP1 health checks are supported");
    if (h->path == NULL || h->path[0] == '\0')
        return dp_xlate__fail_at(x, "path", "required");
    if (h->path[0] != '/' || strpbrk(h->path, " \r\n\t") != NULL)
        return dp_xlate__fail_at(x, "path", "'%s' is not an origin-form path", h->path);
    c->path = dp_xstrdup(h->path);
    if (h->host && h->host[0]) {
        if (!header_value_ok(h->host) || strchr(h->host, ' '))
            return dp_xlate__fail_at(x, "host", "not a valid host header value");
        c->host = dp_xstrdup(h->host);
    }
    size_t len = 0;
    for (size_t i = 0; i < h->n_request_headers_to_add; i++) {
        const Envoy__Config__Core__V3__HeaderValueOption *o = h->request_headers_to_add[i];
        size_t saved = dp_xlate__push_idx(x, "request_headers_to_add", i);
        int rc = 0;
        const char *k = o->header ? o->header->key : NULL;
        const char *v = o->header && o->header->value ? o->header->value : "";
        if (k == NULL || !dp_xlate__is_token(k))
            rc = dp_xlate__fail_at(x, "header.key", "must be a header name");
        else if (strcasecmp(k, "host") == 0 || strcasecmp(k, "user-agent") == 0 ||
                 strcasecmp(k, "content-length") == 0 || strcasecmp(k, "transfer-encoding") == 0 ||
                 strcasecmp(k, "connection") == 0)
            rc = dp_xlate__fail_at(x, "header.key", "'%s' cannot be added to a health check", k);
        else if (!header_value_ok(v))
            rc = dp_xlate__fail_at(x, "header.value", "control characters are not allowed");
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
        size_t add = strlen(k) + strlen(v) + 4;
        c->extra_headers = dp_xrealloc(c->extra_headers, len + add + 1);
        char *lk = dp_xlate__lower_dup(k);
        len += (size_t)snprintf(c->extra_headers + len, add + 1, "%s: %s\r\n", lk, v);
        free(lk);
    }
    if (h->n_expected_statuses) {
        c->expected = dp_xcalloc(h->n_expected_statuses, sizeof(*c->expected));
        c->n_expected = h->n_expected_statuses;
    }
    for (size_t i = 0; i < h->n_expected_statuses; i++) {
        const Envoy__Type__V3__Int64Range *r = h->expected_statuses[i];
        if (r->start < 100 || r->start >= 600 || r->end <= r->start || r->end > 600) {
            size_t saved = dp_xlate__push_idx(x, "expected_statuses", i);
            int rc = dp_xlate__fail(x, "[%lld, %lld) is not a range of statuses within [100, 600)",
                                    (long long)r->start, (long long)r->end);
            dp_xlate__pop(x, saved);
            return rc;
        }
        c->expected[i].start = r->start;
        c->expected[i].end = r->end;
    }
    return 0;
}

static int xl_tcp(dp_xlate_t *x, const Envoy__Config__Core__V3__HealthCheck__TcpHealthCheck *t, dp_hc_cfg_t *c)
{
    int rc;
    c->kind = DP_HC_TCP;
    if (t->send) {
        size_t saved = dp_xlate__push(x, "send");
        rc = xl_payload(x, t->send, &c->send);
        dp_xlate__pop(x, saved);
        if (rc != 0)
            return rc;
    }
    if (t->n_receive)
        c->receive = dp_xcalloc(t->n_receive, sizeof(*c->receive));
    for (size_t i = 0; i < t->n_receive; i++) {
        size_t saved = dp_xlate__push_idx(x, "receive", i);
        rc = xl_payload(x, t->receive[i], &c->receive[i]);
        dp_xlate__pop(x, saved);
        c->n_receive = i + 1;
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* A Duration that PGV requires > 0 when set. */
static int positive(dp_xlate_t *x, const char *field, const Google__Protobuf__Duration *d, uint64_t dflt,
                    uint64_t *out)
{
    int rc = dp_xlate__duration_ms(x, field, d, dflt, out);
    if (rc != 0)
        return rc;
    if (d != NULL && *out == 0) {
        if (d->seconds == 0 && d->nanos == 0)
            return dp_xlate__fail_at(x, field, "must be greater than 0");
        *out = 1; /* sub-millisecond: still > 0 */
    }
    return 0;
}

int dp_xlate__health_check(dp_xlate_t *x, const pb_hc_t *m, dp_hc_cfg_t **out)
{
    dp_hc_cfg_t *c = dp_xcalloc(1, sizeof(*c));
    int rc;
    *out = NULL;

    if (m->timeout == NULL) {
        rc = dp_xlate__fail_at(x, "timeout", "required");
        goto fail;
    }
    if (m->interval == NULL) {
        rc = dp_xlate__fail_at(x, "interval", "required");
        goto fail;
    }
    if (m->unhealthy_threshold == NULL) {
        rc = dp_xlate__fail_at(x, "unhealthy_threshold", "required");
        goto fail;
    }
    if (m->healthy_threshold == NULL) {
        rc = dp_xlate__fail_at(x, "healthy_threshold", "required");
        goto fail;
    }
    if ((rc = positive(x, "timeout", m->timeout, 0, &c->timeout_ms)) != 0 ||
        (rc = positive(x, "interval", m->interval, 0, &c->interval_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "initial_jitter", m->initial_jitter, 0, &c->initial_jitter_ms)) != 0 ||
        (rc = dp_xlate__duration_ms(x, "interval_jitter", m->interval_jitter, 0, &c->interval_jitter_ms)) != 0 ||
        (rc = positive(x, "no_traffic_interval", m->no_traffic_interval, DEFAULT_NO_TRAFFIC_INTERVAL_MS,
                       &c->no_traffic_interval_ms)) != 0 ||
        (rc = positive(x, "no_traffic_healthy_interval", m->no_traffic_healthy_interval, c->no_traffic_interval_ms,
                       &c->no_traffic_healthy_interval_ms)) != 0 ||
        (rc = positive(x, "unhealthy_interval", m->unhealthy_interval, c->interval_ms, &c->unhealthy_interval_ms)) != 0 ||
        (rc = positive(x, "unhealthy_edge_interval", m->unhealthy_edge_interval, c->unhealthy_interval_ms,
                       &c->unhealthy_edge_interval_ms)) != 0 ||
        (rc = positive(x, "healthy_edge_interval", m->healthy_edge_interval, c->interval_ms,
                       &c->healthy_edge_interval_ms)) != 0)
        goto fail;
    c->interval_jitter_percent = m->interval_jitter_percent;
    /* Envoy takes 0 as given; a threshold of 0 behaves as 1 here */
    c->unhealthy_threshold = DP_MAX(m->unhealthy_threshold->value, 1u);
    c->healthy_threshold = DP_MAX(m->healthy_threshold->value, 1u);
    c->reuse_connection = dp_xlate__bool(m->reuse_connection, true);

    size_t saved;
    switch (m->health_checker_case) {
    case HC_ENUM(HEALTH_CHECKER_HTTP_HEALTH_CHECK):
        saved = dp_xlate__push(x, "http_health_check");
        rc = xl_http(x, m->http_health_check, c);
        dp_xlate__pop(x, saved);
        break;
    case HC_ENUM(HEALTH_CHECKER_TCP_HEALTH_CHECK):
        saved = dp_xlate__push(x, "tcp_health_check");
        rc = xl_tcp(x, m->tcp_health_check, c);
        dp_xlate__pop(x, saved);
        break;
    default:
        rc = dp_xlate__fail(x, "one of http_health_check or tcp_health_check is required");
        break;
    }
    if (rc != 0)
        goto fail;
    *out = c;
    return 0;
fail:
    dp_hc_cfg_free(c);
    return rc;
}
