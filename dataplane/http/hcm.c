/* The HTTP connection manager: what happens to every request between the
 * codec and the router, with Envoy's semantics (ConnectionManagerImpl and
 * ConnectionManagerUtility::mutateRequestHeaders): Host port stripping,
 * X-Forwarded-For / -Proto, x-request-id, hop-by-hop header removal,
 * virtual host and route selection, the filter chain, local replies,
 * stats and access logs. */
#include "dataplane/http/hcm.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "dataplane/core/common.h"
#include "dataplane/http/access_log.h"
#include "dataplane/http/route.h"
#include "dataplane/server/drain.h"
#include "dataplane/server/worker.h"
#include "filters/router.h"

/* --- stats ------------------------------------------------------------- */

typedef struct named_stats {
    char *name;
    void *stats;
} named_stats_t;

static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static named_stats_t *hcm_stats, *lst_stats;
static size_t n_hcm_stats, n_lst_stats;

dp_hcm_stats_t *dp_hcm_stats_get(const char *p)
{
    pthread_mutex_lock(&stats_lock);
    for (size_t i = 0; i < n_hcm_stats; i++)
        if (strcmp(hcm_stats[i].name, p) == 0) {
            pthread_mutex_unlock(&stats_lock);
            return hcm_stats[i].stats;
        }
    dp_hcm_stats_t *s = dp_xcalloc(1, sizeof(*s));
    s->cx_total = dp_stats_counterf("http.%s.downstream_cx_total", p);
    s->cx_active = dp_stats_gaugef("http.%s.downstream_cx_active", p);
    s->cx_http1_total = dp_stats_counterf("http.%s.downstream_cx_http1_total", p);
    s->cx_http2_total = dp_stats_counterf("http.%s.downstream_cx_http2_total", p);
    s->cx_upgrades_total = dp_stats_counterf("http.%s.downstream_cx_upgrades_total", p);
    s->cx_upgrades_active = dp_stats_gaugef("http.%s.downstream_cx_upgrades_active", p);
    s->rq_http2_total = dp_stats_counterf("http.%s.downstream_rq_http2_total", p);
    s->rq_ws_on_non_ws_route = dp_stats_counterf("http.%s.downstream_rq_ws_on_non_ws_route", p);
    s->rq_rx_reset = dp_stats_counterf("http.%s.downstream_rq_rx_reset", p);
    s->rq_tx_reset = dp_stats_counterf("http.%s.downstream_rq_tx_reset", p);
    s->cx_destroy = dp_stats_counterf("http.%s.downstream_cx_destroy", p);
    s->cx_protocol_error = dp_stats_counterf("http.%s.downstream_cx_protocol_error", p);
    s->rq_total = dp_stats_counterf("http.%s.downstream_rq_total", p);
    s->rq_http1_total = dp_stats_counterf("http.%s.downstream_rq_http1_total", p);
    s->rq_active = dp_stats_gaugef("http.%s.downstream_rq_active", p);
    s->rq_completed = dp_stats_counterf("http.%s.downstream_rq_completed", p);
    s->rq_timeout = dp_stats_counterf("http.%s.downstream_rq_timeout", p);
    s->rq_idle_timeout = dp_stats_counterf("http.%s.downstream_rq_idle_timeout", p);
    s->rq_header_timeout = dp_stats_counterf("http.%s.downstream_rq_header_timeout", p);
    s->rs_too_large = dp_stats_counterf("http.%s.rs_too_large", p);
    for (int i = 1; i <= 5; i++)
        s->rq_xx[i] = dp_stats_counterf("http.%s.downstream_rq_%dxx", p, i);
    hcm_stats = dp_xrealloc(hcm_stats, (n_hcm_stats + 1) * sizeof(*hcm_stats));
    hcm_stats[n_hcm_stats++] = (named_stats_t){dp_xstrdup(p), s};
    pthread_mutex_unlock(&stats_lock);
    return s;
}

dp_listener_stats_t *dp_listener_stats_get(const char *a)
{
    pthread_mutex_lock(&stats_lock);
    for (size_t i = 0; i < n_lst_stats; i++)
        if (strcmp(lst_stats[i].name, a) == 0) {
            pthread_mutex_unlock(&stats_lock);
            return lst_stats[i].stats;
        }
    dp_listener_stats_t *s = dp_xcalloc(1, sizeof(*s));
    s->cx_total = dp_stats_counterf("listener.%s.downstream_cx_total", a);
    s->cx_active = dp_stats_gaugef("listener.%s.downstream_cx_active", a);
    s->cx_destroy = dp_stats_counterf("listener.%s.downstream_cx_destroy", a);
    s->no_filter_chain_match = dp_stats_counterf("listener.%s.no_filter_chain_match", a);
    s->ssl_handshake = dp_stats_counterf("listener.%s.ssl.handshake", a);
    s->ssl_connection_error = dp_stats_counterf("listener.%s.ssl.connection_error", a);
    s->ssl_session_reused = dp_stats_counterf("listener.%s.ssl.session_reused", a);
    s->ssl_no_certificate = dp_stats_counterf("listener.%s.ssl.no_certificate", a);
    char *name = dp_xstrdup(a);
    s->name = name;
    lst_stats = dp_xrealloc(lst_stats, (n_lst_stats + 1) * sizeof(*lst_stats));
    lst_stats[n_lst_stats++] = (named_stats_t){name, s};
    pthread_mutex_unlock(&stats_lock);
    return s;
}

dp_hcm_stats_t *dp_hcm_stats_of(const dp_hcm_cfg_t *h)
{
    dp_hcm_stats_t *s = atomic_load_explicit(&((dp_hcm_cfg_t *)h)->stats, memory_order_acquire);
    if (s == NULL) {
        s = dp_hcm_stats_get(h->stat_prefix);
        atomic_store_explicit(&((dp_hcm_cfg_t *)h)->stats, s, memory_order_release);
    }
    return s;
}

dp_listener_stats_t *dp_listener_stats_of(const dp_listener_cfg_t *l)
{
    dp_listener_stats_t *s = atomic_load_explicit(&((dp_listener_cfg_t *)l)->stats, memory_order_acquire);
    if (s == NULL) {
        /* Envoy's listener stat name: the address with ':' as '_' ("127.0.0.1_10000") */
        char name[sizeof(l->addr_str)];
        size_t k = 0;
        for (; l->addr_str[k] && k + 1 < sizeof(name); k++)
            name[k] = l->addr_str[k] == ':' ? '_' : l->addr_str[k];
        name[k] = '\0';
        s = dp_listener_stats_get(name);
        atomic_store_explicit(&((dp_listener_cfg_t *)l)->stats, s, memory_order_release);
    }
    return s;
}

void dp_stream_xff_append(dp_stream_t *s, const char *addr)
{
    size_t al = strlen(addr);
    long i = dp_headers_find(&s->req_headers, "x-forwarded-for", 15, 0);
    if (i >= 0) {
        /* append to the existing (first) line, as Envoy does */
        dp_slice_t old = s->req_headers.v[i].value;
        size_t nl = old.len + 1 + al;
        char *v = dp_arena_alloc(&s->arena, nl);
        memcpy(v, old.base, old.len);
        v[old.len] = ',';
        memcpy(v + old.len + 1, addr, al);
        s->req_headers.v[i].value = dp_slice(v, nl);
    } else {
        char *v = dp_arena_strndup(&s->arena, addr, al);
        dp_headers_add(&s->req_headers, DP_SLICE_LIT("x-forwarded-for"), dp_slice(v, al));
    }
}

const char *dp_http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 417: return "Expectation Failed";
    case 426: return "Upgrade Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return status < 200 ? "Informational" : status < 300 ? "OK" : status < 400 ? "Redirect"
                    : status < 500 ? "Client Error" : "Server Error";
    }
}

void dp_response_flags_str(uint32_t flags, char *out, size_t outlen)
{
    static const char *const names[] = {"UH", "UF", "UO", "NR", "URX", "UC", "DC",
                                        "UT", "LR", "UR", "NC", "DPE", "UPE", "SI"};
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < DP_ARRAY_SIZE(names); i++) {
        if (!(flags & (1u << i)))
            continue;
        int w = snprintf(out + n, outlen - n, "%s%s", n ? "," : "", names[i]);
        if (w < 0 || (size_t)w >= outlen - n)
            break;
        n += (size_t)w;
    }
    if (n == 0)
        snprintf(out, outlen, "-");
}

static dp_hcm_stats_t *stats_of(const dp_stream_t *s)
{
    return dp_hcm_stats_of(s->hcm);
}

/* --- life cycle ------------------------------------------------------------ */

void dp_stream_count(dp_stream_t *s)
{
    if (s->counted)
        return;
    s->counted = true;
    dp_hcm_stats_t *st = stats_of(s);
    dp_stat_inc(st->rq_total);
    if (s->http_version < 20)
        dp_stat_inc(st->rq_http1_total);
    else if (s->http_version == 20)
        dp_stat_inc(st->rq_http2_total);
    dp_stat_inc(st->rq_active);
}

void dp_h2_options_default(dp_h2_options_t *o)
{
    *o = (dp_h2_options_t){
        .hpack_table_size = 4096,
        .max_concurrent_streams = 2147483647u,
        .initial_stream_window_size = 268435456u,
        .initial_connection_window_size = 268435456u,
        .max_outbound_frames = 10000,
        .max_outbound_control_frames = 1000,
        .max_consecutive_inbound_frames_with_empty_payload = 1,
        .max_inbound_priority_frames_per_stream = 100,
        .max_inbound_window_update_frames_per_data_frame_sent = 10,
    };
}

int dp_grpc_status_of_http(int status)
{
    switch (status) {
    case 400: return 13; /* INTERNAL */
    case 401: return 16; /* UNAUTHENTICATED */
    case 403: return 7;  /* PERMISSION_DENIED */
    case 404: return 12; /* UNIMPLEMENTED */
    case 429:
    case 502:
    case 503:
    case 504: return 14; /* UNAVAILABLE */
    default: return 2;   /* UNKNOWN */
    }
}

void dp_stream_init(dp_stream_t *s, const dp_stream_ops_t *ops, void *codec, dp_worker_t *w,
                    const dp_listener_cfg_t *l, const dp_hcm_cfg_t *hcm)
{
    memset(s, 0, sizeof(*s));
    s->ops = ops;
    s->codec = codec;
    s->worker = w;
    s->listener = l;
    s->hcm = hcm;
    s->snap = w->snap ? dp_snapshot_ref(w->snap) : NULL;
    s->start_ns = dp_now_ns();
    s->req_content_length = 0;
}


void dp_stream_dispose(dp_stream_t *s)
{
    if (s->up)
        dp_router_detach(s);
    if (s->filter_state) {
        const dp_hcm_cfg_t *h = s->hcm;
        for (size_t i = 0; i < h->n_filters && i <= s->filter_idx; i++) {
            const dp_http_filter_factory_t *f = h->filters[i].factory;
            if (f->on_destroy)
                f->on_destroy(s, h->filters[i].config, s->filter_state[i]);
        }
    }
    if (s->counted) {
        dp_hcm_stats_t *st = stats_of(s);
        dp_stat_dec(st->rq_active);
        if (s->status >= 100 && s->status < 600)
            dp_stat_inc(st->rq_xx[s->status / 100]);
        if (s->resp_done)
            dp_stat_inc(st->rq_completed);
    }
    for (size_t i = 0; i < s->hcm->n_access_logs; i++)
        dp_access_log_emit(s->hcm->access_logs[i], s);
    for (size_t i = 0; i < s->listener->n_access_logs; i++)
        dp_access_log_emit(s->listener->access_logs[i], s);
    dp_headers_free(&s->req_headers);
    dp_headers_free(&s->req_trailers);
    dp_headers_free(&s->resp_headers);
    dp_buf_free(&s->body_buf);
    dp_arena_free(&s->arena);
    json_decref(s->metadata);
    s->metadata = NULL;
    dp_route_config_unref(s->route_config);
    s->route_config = NULL;
    dp_snapshot_unref(s->snap);
    s->snap = NULL;
}

/* --- response path ---------------------------------------------------------- */

void dp_stream_send_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t content_length, bool end_stream)
{
    const dp_hcm_cfg_t *hcm = s->hcm;
    s->replied = true;
    s->status = status;
    s->head_sent = true;
    const char *sn = hcm->server_name ? hcm->server_name : "envoy";
    switch (hcm->server_header_transformation) {
    case DP_SERVER_HDR_OVERWRITE:
        dp_headers_set(h, DP_SLICE_LIT("server"), dp_slice_cstr(sn));
        break;
    case DP_SERVER_HDR_APPEND_IF_ABSENT:
        if (dp_headers_find(h, "server", 6, 0) < 0)
            dp_headers_add(h, DP_SLICE_LIT("server"), dp_slice_cstr(sn));
        break;
    case DP_SERVER_HDR_PASS_THROUGH:
        break;
    }
    if (end_stream)
        s->resp_done = true;
    if (status >= 200 && s->ops->drain && dp_drain_close(s->listener, s->worker))
        s->ops->drain(s); /* Envoy's HCM asks its drain decision here too */
    s->ops->send_head(s, status, h, content_length, end_stream);
}

void dp_stream_send_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    s->bytes_sent += len;
    if (end_stream)
        s->resp_done = true;
    s->ops->send_body(s, data, len, end_stream);
}

void dp_stream_send_trailers(dp_stream_t *s, dp_headers_t *h)
{
    s->resp_done = true;
    if (s->ops->send_trailers)
        s->ops->send_trailers(s, h);
    else
        s->ops->send_body(s, NULL, 0, true);
}

static size_t json_escape(char *out, const char *in, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '"' || ch == '\\') {
            out[o++] = '\\';
            out[o++] = (char)ch;
        } else if (ch < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", ch);
        } else {
            out[o++] = (char)ch;
        }
    }
    return o;
}

/* What every local reply starts with: a stream that already sent its head
 * can only be reset (returns false); else the upstream is let go and the
 * response headers start from `extra`. */
static bool reply_begin(dp_stream_t *s, const dp_headers_t *extra)
{
    if (s->head_sent) {
        s->response_flags |= DP_RF_LR;
        s->ops->reset(s);
        return false;
    }
    if (s->up)
        dp_router_detach(s);
    dp_headers_clear(&s->resp_headers);
    if (extra)
        for (size_t i = 0; i < extra->n; i++)
            dp_headers_add(&s->resp_headers, extra->v[i].name, extra->v[i].value);
    return true;
}

void dp_stream_send_reply(dp_stream_t *s, int status, const char *body, size_t len, const char *ctype,
                          const dp_headers_t *extra)
{
    if (!reply_begin(s, extra))
        return;
    if (len > 0 && ctype)
        dp_headers_set(&s->resp_headers, DP_SLICE_LIT("content-type"), dp_slice_cstr(ctype));
    /* route / vhost / route-config response_headers_to_add apply to local replies too */
    if (s->route)
        dp_headers_apply_mutations(&s->resp_headers, &s->route->resp);
    if (s->vhost)
        dp_headers_apply_mutations(&s->resp_headers, &s->vhost->resp);
    if (s->route_config)
        dp_headers_apply_mutations(&s->resp_headers, &s->route_config->resp);
    bool head = s->method.len == 4 && memcmp(s->method.base, "HEAD", 4) == 0;
    dp_stream_send_head(s, status, &s->resp_headers, (int64_t)len, len == 0 || head);
    if (len > 0 && !head)
        dp_stream_send_body(s, body, len, true);
}

/* Envoy answers a gRPC request locally with a trailers-only response:
 * HTTP 200, grpc-status from the HTTP status, grpc-message. */
static void grpc_local_reply(dp_stream_t *s, int status, const char *msg, const dp_headers_t *extra)
{
    if (!reply_begin(s, extra))
        return;
    char *code = dp_arena_printf(&s->arena, NULL, "%d", dp_grpc_status_of_http(status));
    dp_headers_set(&s->resp_headers, DP_SLICE_LIT("content-type"), DP_SLICE_LIT("application/grpc"));
    dp_headers_set(&s->resp_headers, DP_SLICE_LIT("grpc-status"), dp_slice_cstr(code));
    dp_headers_set(&s->resp_headers, DP_SLICE_LIT("grpc-message"), dp_slice_cstr(msg));
    dp_stream_send_head(s, 200, &s->resp_headers, 0, true);
}

void dp_stream_local_reply(dp_stream_t *s, int status, const char *msg, const dp_headers_t *extra)
{
    s->local_reply_detail = msg;
    if (s->is_grpc) {
        grpc_local_reply(s, status, msg, extra);
        return;
    }
    size_t mlen = strlen(msg);
    char *body = dp_arena_alloc(&s->arena, mlen * 6 + 48);
    size_t n = (size_t)sprintf(body, "{\"error\": \"");
    n += json_escape(body + n, msg, mlen);
    n += (size_t)sprintf(body + n, "\", \"status\": %d}\n", status);
    dp_stream_send_reply(s, status, body, n, "application/json", extra);
}

/* --- request path ------------------------------------------------------------ */

static bool is_internal_addr(const struct sockaddr *sa)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        uint32_t a = ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr);
        return (a >> 24) == 10 || (a >> 24) == 127 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168);
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) || (a->s6_addr[0] & 0xfe) == 0xfc;
    }
    return false;
}

/* The address `skip` entries from the right end of the (combined)
 * X-Forwarded-For list, Envoy's getLastAddressFromXFF. */
static bool xff_nth_from_right(const dp_headers_t *h, uint32_t skip, char *out, size_t outlen)
{
    /* XFF may come as several lines: entries are in line order */
    const char *vals[64];
    size_t lens[64];
    size_t n = 0;
    for (long i = dp_headers_find(h, "x-forwarded-for", 15, 0); i >= 0 && n < 64;
         i = dp_headers_find(h, "x-forwarded-for", 15, (size_t)i + 1)) {
        const char *p = h->v[i].value.base, *e = p + h->v[i].value.len;
        while (p < e && n < 64) {
            const char *c = memchr(p, ',', (size_t)(e - p));
            const char *end = c ? c : e;
            const char *a = p, *b = end;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            vals[n] = a;
            lens[n] = (size_t)(b - a);
            n++;
            p = c ? c + 1 : e;
        }
    }
    if (skip >= n)
        return false;
    size_t k = n - 1 - skip;
    if (lens[k] == 0 || lens[k] >= outlen)
        return false;
    memcpy(out, vals[k], lens[k]);
    out[lens[k]] = '\0';
    /* must be an IP address */
    unsigned char tmp[16];
    return inet_pton(AF_INET, out, tmp) == 1 || inet_pton(AF_INET6, out, tmp) == 1;
}

static void gen_request_id(dp_stream_t *s)
{
    uint64_t a = dp_worker_random(s->worker), b = dp_worker_random(s->worker);
    unsigned char u[16];
    memcpy(u, &a, 8);
    memcpy(u + 8, &b, 8);
    u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    static const char hex[] = "0123456789abcdef";
    char *id = dp_arena_alloc(&s->arena, 37);
    size_t o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            id[o++] = '-';
        id[o++] = hex[u[i] >> 4];
        id[o++] = hex[u[i] & 15];
    }
    id[o] = '\0';
    s->request_id = dp_slice(id, 36);
    dp_headers_set(&s->req_headers, DP_SLICE_LIT("x-request-id"), s->request_id);
}

/* Expect is answered here (100-continue), never forwarded. */
static bool hop_or_expect(dp_slice_t n)
{
    return dp_headers_hop_by_hop(n) || (n.len == 6 && memcmp(n.base, "expect", 6) == 0);
}

/* Hop-by-hop headers never cross the proxy (RFC 9110 7.6.1): the fixed set
 * plus every header named in Connection. */
static void strip_hop_by_hop(dp_headers_t *h)
{
    /* collect the names listed in Connection first: removing moves entries */
    char names[16][64];
    size_t lens[16], n = 0;
    for (long i = dp_headers_find(h, "connection", 10, 0); i >= 0;
         i = dp_headers_find(h, "connection", 10, (size_t)i + 1)) {
        const char *p = h->v[i].value.base, *e = p + h->v[i].value.len;
        while (p < e && n < 16) {
            const char *c = memchr(p, ',', (size_t)(e - p));
            const char *a = p, *b = c ? c : e;
            while (a < b && (*a == ' ' || *a == '\t'))
                a++;
            while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
                b--;
            size_t l = (size_t)(b - a);
            if (l > 0 && l < sizeof(names[0])) {
                for (size_t k = 0; k < l; k++)
                    names[n][k] = (char)((unsigned char)(a[k] - 'A') < 26u ? a[k] + 32 : a[k]);
                lens[n++] = l;
            }
            p = c ? c + 1 : e;
        }
    }
    for (size_t i = 0; i < n; i++)
        dp_headers_remove(h, names[i], lens[i]);
    /* TE: only "trailers" crosses (gRPC needs it), as Envoy does */
    const dp_slice_t *te = dp_headers_get(h, "te", 2);
    bool te_trailers = te && te->len == 8 && strncasecmp(te->base, "trailers", 8) == 0;
    dp_headers_remove_if(h, hop_or_expect);
    if (te_trailers)
        dp_headers_add(h, DP_SLICE_LIT("te"), DP_SLICE_LIT("trailers"));
}

static const dp_upgrade_cfg_t *find_upgrade(const dp_upgrade_cfg_t *v, size_t n, dp_slice_t type)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(v[i].upgrade_type) == type.len && strncasecmp(v[i].upgrade_type, type.base, type.len) == 0)
            return &v[i];
    return NULL;
}

/* Envoy: an upgrade needs an enabled upgrade_config of its type in the
 * HCM, which the route's upgrade_configs can turn on or off. */
static bool upgrade_allowed(const dp_stream_t *s)
{
    const dp_upgrade_cfg_t *u = find_upgrade(s->hcm->upgrades, s->hcm->n_upgrades, s->upgrade);
    if (s->route) {
        const dp_upgrade_cfg_t *r = find_upgrade(s->route->upgrades, s->route->n_upgrades, s->upgrade);
        if (r)
            return u != NULL && r->enabled;
    }
    return u != NULL && u->enabled;
}

static const dp_filter_override_t *find_override(const dp_filter_overrides_t *o, const char *name)
{
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].name, name) == 0)
            return &o->v[i];
    return NULL;
}

const dp_filter_override_t *dp_stream_filter_override(const dp_stream_t *s, const char *name)
{
    const dp_filter_override_t *o = NULL;
    if (s->route)
        o = find_override(&s->route->per_filter, name);
    if (o == NULL && s->vhost)
        o = find_override(&s->vhost->per_filter, name);
    if (o == NULL && s->route_config)
        o = find_override(&s->route_config->per_filter, name);
    return o;
}

const void *dp_stream_route_config(const dp_stream_t *s)
{
    const dp_hcm_cfg_t *h = s->hcm;
    if (s->filter_idx >= h->n_filters)
        return NULL;
    const dp_http_filter_cfg_t *f = &h->filters[s->filter_idx];
    /* the most specific entry that carries a config of this filter's type */
    const dp_filter_overrides_t *levels[3] = {s->route ? &s->route->per_filter : NULL,
                                              s->vhost ? &s->vhost->per_filter : NULL,
                                              s->route_config ? &s->route_config->per_filter : NULL};
    for (size_t i = 0; i < 3; i++) {
        const dp_filter_override_t *o = levels[i] ? find_override(levels[i], f->name) : NULL;
        if (o && o->config && o->factory == f->factory)
            return o->config;
    }
    return NULL;
}

void dp_stream_metadata_set(dp_stream_t *s, const char *ns, const char *key, json_t *value)
{
    if (s->metadata == NULL)
        s->metadata = json_object();
    json_t *n = json_object_get(s->metadata, ns);
    if (n == NULL) {
        n = json_object();
        json_object_set_new(s->metadata, ns, n);
    }
    json_object_set_new(n, key, value);
}

const json_t *dp_stream_metadata_get(const dp_stream_t *s, const char *ns)
{
    return s->metadata ? json_object_get(s->metadata, ns) : NULL;
}

/* Envoy: a filter disabled in the HCM runs only where a route's
 * per-filter config enables it; FilterConfig.disabled turns one off. */
static bool filter_enabled(const dp_stream_t *s, const dp_http_filter_cfg_t *f)
{
    const dp_filter_override_t *o = dp_stream_filter_override(s, f->name);
    if (o != NULL)
        return !o->disabled;
    return !f->disabled;
}

static void run_filters(dp_stream_t *s)
{
    const dp_hcm_cfg_t *h = s->hcm;
    while (s->filter_idx < h->n_filters) {
        const dp_http_filter_cfg_t *f = &h->filters[s->filter_idx];
        if (!filter_enabled(s, f)) {
            s->filter_idx++;
            continue;
        }
        dp_filter_status_t st = f->factory->on_request_headers(s, f->config, s->filter_state[s->filter_idx]);
        if (st == DP_FILTER_STOP)
            return;
        if (st == DP_FILTER_REPLIED || s->replied) {
            s->filters_done = true;
            return;
        }
        s->filter_idx++;
    }
    s->filters_done = true;
}

void dp_stream_continue(dp_stream_t *s)
{
    if (s->replied)
        return;
    s->filter_idx++;
    run_filters(s);
}

void dp_stream_on_headers(dp_stream_t *s)
{
    const dp_hcm_cfg_t *h = s->hcm;
    dp_stream_count(s);
    if (!s->req_has_body)
        s->req_done = true;

    uint16_t peer_port;
    dp_sockaddr_split(s->peer, s->remote_addr, sizeof(s->remote_addr), &peer_port);
    s->remote_port = peer_port;

    if (s->http_version == 10) {
        if (!h->accept_http_10) {
            dp_stream_local_reply(s, 426, "HTTP/1.0 is not accepted on this listener", NULL);
            return;
        }
        if (s->authority.base == NULL && h->default_host_for_http_10)
            s->authority = dp_slice_cstr(h->default_host_for_http_10);
    }
    if (s->authority.base == NULL || s->authority.len == 0) {
        s->response_flags |= DP_RF_DPE;
        dp_stream_local_reply(s, 400, "missing host header", NULL);
        return;
    }
    if (s->path.len == 0 || (s->path.base[0] != '/' && !(s->path.len == 1 && s->path.base[0] == '*'))) {
        s->response_flags |= DP_RF_DPE;
        dp_stream_local_reply(s, 400, "invalid path", NULL);
        return;
    }
    if (h->strip_port != DP_STRIP_PORT_NONE) {
        /* the listener's port, straight from its sockaddr (in_port_t sits at the same offset in v4 and v6) */
        uint16_t lport = ntohs(((const struct sockaddr_in *)&s->listener->addr)->sin_port);
        s->authority.len = dp_host_strip_port(s->authority.base, s->authority.len, (int)h->strip_port, lport);
    }

    strip_hop_by_hop(&s->req_headers);
    const dp_slice_t *ct = dp_headers_get(&s->req_headers, "content-type", 12);
    s->is_grpc = ct && ct->len >= 16 && strncasecmp(ct->base, "application/grpc", 16) == 0 &&
                 (ct->len == 16 || ct->base[16] == '+' || ct->base[16] == ';');

    /* X-Forwarded-For and the trusted client address */
    char xff_addr[48];
    if (h->use_remote_address) {
        if (h->xff_num_trusted_hops > 0 &&
            xff_nth_from_right(&s->req_headers, h->xff_num_trusted_hops - 1, xff_addr, sizeof(xff_addr)))
            snprintf(s->remote_addr, sizeof(s->remote_addr), "%s", xff_addr);
        if (!h->skip_xff_append) {
            char peer[48];
            uint16_t pp;
            dp_sockaddr_split(s->peer, peer, sizeof(peer), &pp);
            dp_stream_xff_append(s, peer);
        }
    } else if (xff_nth_from_right(&s->req_headers, h->xff_num_trusted_hops, xff_addr, sizeof(xff_addr))) {
        snprintf(s->remote_addr, sizeof(s->remote_addr), "%s", xff_addr);
    }
    bool edge = h->use_remote_address && !is_internal_addr(s->peer);
    if (h->use_remote_address || dp_headers_find(&s->req_headers, "x-forwarded-proto", 17, 0) < 0)
        /* from the connection, not from what an h2 client claims in :scheme */
        dp_headers_set(&s->req_headers, DP_SLICE_LIT("x-forwarded-proto"),
                       s->tls ? DP_SLICE_LIT("https") : DP_SLICE_LIT("http"));

    /* x-request-id */
    const dp_slice_t *rid = dp_headers_get(&s->req_headers, "x-request-id", 12);
    if (h->generate_request_id && (rid == NULL || (edge && !h->preserve_external_request_id)))
        gen_request_id(s);
    else if (rid)
        s->request_id = *rid;

    /* route selection */
    dp_route_config_t *rc = h->route_config;
    if (rc == NULL && h->rds_name && s->snap)
        rc = dp_snapshot_find_route(s->snap, h->rds_name);
    if (rc) {
        s->route_config = dp_route_config_ref(rc);
        s->vhost = dp_route_select_vhost(rc, s->authority.base, s->authority.len);
        if (s->vhost) {
            dp_route_input_t in = {s->method, s->path, s->authority, s->scheme, &s->req_headers};
            s->route = dp_route_match(s->vhost, &in);
        }
    }

    if (s->upgrade.len > 0 && !upgrade_allowed(s)) {
        dp_stat_inc(stats_of(s)->rq_ws_on_non_ws_route);
        dp_stream_local_reply(s, 403, "upgrade_failed", NULL);
        return;
    }

    s->filter_state = dp_arena_alloc(&s->arena, sizeof(void *) * (h->n_filters ? h->n_filters : 1));
    for (size_t i = 0; i < h->n_filters; i++) {
        size_t sz = h->filters[i].factory->state_size;
        s->filter_state[i] = sz ? memset(dp_arena_alloc(&s->arena, sz), 0, sz) : NULL;
    }
    run_filters(s);
}

void dp_stream_on_body(dp_stream_t *s, const char *data, size_t len, bool end_stream)
{
    s->bytes_received += len;
    if (end_stream)
        s->req_done = true;
    if (s->replied && s->up == NULL)
        return; /* answered locally: the rest of the body is dropped */
    if (s->up && dp_router_streaming(s)) {
        dp_router_on_body(s, data, len, end_stream);
        return;
    }
    /* the filters or the router's connection are not ready yet: hold it */
    dp_buf_append(&s->body_buf, data, len);
    if (end_stream)
        s->body_buf_end = true;
    if (s->body_buf.len >= DP_STREAM_HIGH_WATERMARK && !s->body_paused)
        s->ops->read_body(s, false);
}

void dp_stream_on_trailers(dp_stream_t *s)
{
    s->req_done = true;
    if (s->replied && s->up == NULL)
        return;
    if (s->up && dp_router_streaming(s)) {
        dp_router_on_trailers(s);
        return;
    }
    s->body_buf_end = true; /* the router sends s->req_trailers when it binds */
}

void dp_stream_on_writable(dp_stream_t *s)
{
    if (s->up)
        dp_router_on_writable(s);
}

void dp_stream_on_abort(dp_stream_t *s)
{
    if (!s->resp_done)
        s->response_flags |= DP_RF_DC;
    if (s->up)
        dp_router_detach(s);
}
