/* The protocol-neutral request: one dp_stream_t per HTTP request, whatever
 * the downstream codec (HTTP/1.1, HTTP/2; HTTP/3 fills the same fields). Codecs translate framing into the calls below; the HTTP
 * connection manager (hcm.c), the filters and the router only see this.
 *
 *   codec --dp_stream_on_headers/on_body/on_writable/on_abort--> hcm
 *   hcm/filters/router --ops->send_head/send_body/...--> codec
 *
 * Lifetime: the codec owns the memory (h1 takes one from a per-thread
 * free list per request, h2 embeds one in each stream object). It calls
 * dp_stream_init() before filling the request and dp_stream_dispose()
 * after the response is complete or the stream reset; dispose detaches the upstream, writes the access log and releases
 * the snapshot reference. */
#ifndef DP_HTTP_STREAM_H
#define DP_HTTP_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dataplane/core/arena.h"
#include "dataplane/core/buf.h"
#include "dataplane/core/common.h"
#include "dataplane/http/headers.h"
#include "dataplane/http/hcm-t.h"
#include "xds/snapshot.h"

struct dp_worker;
typedef struct dp_stream dp_stream_t;

typedef struct dp_stream_ops {
    /* Response head. Headers are regular headers (no framing headers: the
     * codec adds content-length or chunked from content_length, -1 unknown).
     * end_stream: no body follows. */
    void (*send_head)(dp_stream_t *s, int status, dp_headers_t *h, int64_t content_length, bool end_stream);
    /* Response body bytes (copied or written before returning). */
    void (*send_body)(dp_stream_t *s, const char *data, size_t len, bool end_stream);
    /* Bytes accepted but not yet written towards the client. */
    size_t (*pending)(dp_stream_t *s);
    /* Pause (false) or resume (true) delivery of request body. */
    void (*read_body)(dp_stream_t *s, bool enable);
    /* Abort the stream (HTTP/1: close the connection). The codec then
     * disposes of the stream. */
    void (*reset)(dp_stream_t *s);
    /* Response trailers; ends the response (HTTP/1.1 chunked trailer
     * section, HTTP/2 HEADERS with END_STREAM). May be NULL in a codec
     * that cannot carry them: the stream then ends with an empty body. */
    void (*send_trailers)(dp_stream_t *s, dp_headers_t *h);
    /* The server drains (dataplane/server/drain.h): the connection closes
     * after this response (HTTP/1.1 "connection: close"; HTTP/2 a GOAWAY
     * shutdown notice, the final one after the HCM's drain_timeout). Called
     * by dp_stream_send_head before send_head. May be NULL. */
    void (*drain)(dp_stream_t *s);
} dp_stream_ops_t;

/* Envoy's response flags, as bits (access log %RESPONSE_FLAGS%). */
enum {
    DP_RF_UH = 1u << 0,  /* no healthy upstream */
    DP_RF_UF = 1u << 1,  /* upstream connection failure */
    DP_RF_UO = 1u << 2,  /* upstream overflow (circuit breaker) */
    DP_RF_NR = 1u << 3,  /* no route */
    DP_RF_URX = 1u << 4, /* retry limit exceeded */
    DP_RF_UC = 1u << 5,  /* upstream connection termination */
    DP_RF_DC = 1u << 6,  /* downstream connection termination */
    DP_RF_UT = 1u << 7,  /* upstream request timeout */
    DP_RF_LR = 1u << 8,  /* local reset */
    DP_RF_UR = 1u << 9,  /* upstream remote reset */
    DP_RF_NC = 1u << 10, /* no cluster */
    DP_RF_DPE = 1u << 11, /* downstream protocol error */
    DP_RF_UPE = 1u << 12, /* upstream protocol error */
    DP_RF_SI = 1u << 13, /* stream idle timeout */
};

/* Writes Envoy's comma-separated short names ("UH,UF") or "-" into out. */
void dp_response_flags_str(uint32_t flags, char *out, size_t outlen);

struct dp_upstream_req; /* the router's, dataplane/upstream */
struct json_t;          /* jansson */

struct dp_stream {
    const dp_stream_ops_t *ops;
    void *codec; /* the codec's connection or stream object */
    struct dp_worker *worker;
    dp_arena_t arena; /* freed at dispose */

    /* configuration in force for this request */
    dp_snapshot_t *snap;                 /* ref held */
    const dp_listener_cfg_t *listener;   /* borrowed from the connection, which holds a ref */
    const dp_hcm_cfg_t *hcm;
    dp_route_config_t *route_config;     /* ref held */
    const dp_vhost_t *vhost;
    const dp_route_t *route;

    /* request, filled by the codec before dp_stream_on_headers */
    dp_slice_t method, scheme, authority, path; /* path includes the query */
    int http_version;   /* 10, 11, 20, 30 */
    bool is_grpc;       /* content-type application/grpc*: local replies carry grpc-status */
    dp_headers_t req_headers; /* lowercase names, no pseudo headers, no Host */
    int64_t req_content_length; /* -1 unknown (chunked), 0 none */
    bool req_has_body;
    bool expect_continue;
    /* An upgrade request: the protocol token, lowercase ("websocket"), from
     * an HTTP/1.1 Upgrade header or an HTTP/2 extended CONNECT's :protocol
     * (the h2 codec turns that into GET + upgrade, and a 101 response back
     * into 200, as Envoy does). Empty: none. After a 101 (or h2 200) both
     * bodies are the tunnel's bytes; the end of each is a half-close. */
    dp_slice_t upgrade;
    bool upgraded; /* the response accepted the upgrade: tunnel mode */
    dp_headers_t req_trailers; /* request trailers (gRPC clients rarely send any) */
    const struct sockaddr *peer; /* downstream peer */
    const struct sockaddr *local;
    bool tls;

    /* Where the upstream connection comes from (original_src): set from the
     * listener's config when the stream starts, or by the HTTP filter. */
    enum { DP_ORIGSRC_NONE, DP_ORIGSRC_PEER, DP_ORIGSRC_REMOTE_ADDR } original_src;
    uint32_t original_src_mark;

    /* derived by the HCM */
    char remote_addr[48];    /* trusted client address, Envoy's downstream remote address (no port) */
    uint16_t remote_port;
    dp_slice_t request_id;

    /* response progress */
    int status; /* 0 until the head was sent */
    bool head_sent, resp_done, req_done;
    uint64_t bytes_received, bytes_sent; /* body bytes */
    uint32_t response_flags;
    const char *local_reply_detail; /* %RESPONSE_CODE_DETAILS% */
    uint64_t start_ns, first_upstream_byte_ns, upstream_start_ns;
    const char *upstream_host; /* addr_str of the chosen endpoint, access log only */
    const char *cluster_name;

    /* Envoy's filter state envoy.network.transport_socket.original_dst_address:
     * where a cluster of type ORIGINAL_DST connects, set by a filter (the
     * container routing filter); original_dst_len 0: none. */
    struct sockaddr_storage original_dst;
    socklen_t original_dst_len;

    /* Envoy's dynamic metadata: a JSON object of filter namespaces
     * ({"envoy.filters.http.jwt_authn": {...}}), NULL until set. */
    struct json_t *metadata;

    /* filter chain progress */
    size_t filter_idx;
    void **filter_state;
    bool filters_done;

    struct dp_upstream_req *up; /* router's upstream request, or NULL */
    bool body_paused; /* the codec's request body delivery is paused */
    bool replied;     /* a local reply or upstream response started */
    bool counted;     /* counted in downstream_rq_total / _active */
    dp_buf_t body_buf; /* request body received before the router streams it */
    bool body_buf_end; /* ... and it includes the end of the request */
    dp_headers_t resp_headers; /* scratch for building the response head */
};

/* Sends the response head / body through the codec, tracking status,
 * byte counts and completion, and applying the HCM's server header.
 * Used by the router and by local replies. */
void dp_stream_send_head(dp_stream_t *s, int status, dp_headers_t *h, int64_t content_length, bool end_stream);
void dp_stream_send_body(dp_stream_t *s, const char *data, size_t len, bool end_stream);
/* Ends the response with trailers (falls back to an empty final body when
 * the codec has no send_trailers). */
void dp_stream_send_trailers(dp_stream_t *s, dp_headers_t *h);

/* Codec side */
/* hcm: the HTTP connection manager of the connection's filter chain. */
void dp_stream_init(dp_stream_t *s, const dp_stream_ops_t *ops, void *codec, struct dp_worker *w,
                    const dp_listener_cfg_t *l, const dp_hcm_cfg_t *hcm);
void dp_stream_on_headers(dp_stream_t *s);
void dp_stream_on_body(dp_stream_t *s, const char *data, size_t len, bool end_stream);
/* Request trailers (s->req_trailers filled by the codec): ends the request. */
void dp_stream_on_trailers(dp_stream_t *s);
void dp_stream_on_writable(dp_stream_t *s);
void dp_stream_on_abort(dp_stream_t *s); /* downstream went away */
void dp_stream_dispose(dp_stream_t *s);
/* Counts the request in the HCM stats once (on_headers does it; codecs
 * call it for requests answered before headers, e.g. a malformed head). */
void dp_stream_count(dp_stream_t *s);

/* Filter / router side */
/* Resumes the filter chain after a filter returned DP_FILTER_STOP. */
void dp_stream_continue(dp_stream_t *s);
/* Sends a complete local reply: JSON {"error": msg, "status": N} with
 * content-type application/json, unless the stream already sent a head, in
 * which case the stream is reset. `extra` headers may be NULL. */
void dp_stream_local_reply(dp_stream_t *s, int status, const char *msg, const dp_headers_t *extra);
/* Like local_reply with an explicit body and content type (direct_response). */
void dp_stream_send_reply(dp_stream_t *s, int status, const char *body, size_t len, const char *ctype,
                          const dp_headers_t *extra);

/* The per-route config (typed_per_filter_config) for the filter now
 * running, most specific first (route, virtual host, route configuration),
 * or NULL. For use in on_request_headers. */
const void *dp_stream_route_config(const dp_stream_t *s);
/* The typed_per_filter_config entry for the filter named `name`, most
 * specific first, or NULL. */
const dp_filter_override_t *dp_stream_filter_override(const dp_stream_t *s, const char *name);
/* Dynamic metadata: sets metadata[ns][key] = value (the reference to value
 * is stolen). */
void dp_stream_metadata_set(dp_stream_t *s, const char *ns, const char *key, struct json_t *value);
/* metadata[ns], or NULL. */
const struct json_t *dp_stream_metadata_get(const dp_stream_t *s, const char *ns);

/* Backpressure thresholds for bodies (per direction). */
#define DP_STREAM_HIGH_WATERMARK (256 * 1024)
#define DP_STREAM_LOW_WATERMARK (64 * 1024)

#endif
