/* Internals of the HTTP/2 server codec, shared by server.c (connection,
 * nghttp2 session, timers, drain), server_stream.c (one object per HTTP/2
 * stream: the request it fills, the dp_stream_ops it implements) and
 * flood.c (the Http2ProtocolOptions defences, pure accounting).
 *
 *   sock->in --mem_recv--> nghttp2 --callbacks--> dp_h2_stream_t --dp_stream_on_*--> hcm
 *   hcm/router --ops--> submit to nghttp2 + kick --pump: mem_send--> sock->out
 *
 * Re-entrancy rule: the ops (called by the HCM, filters and router, from
 * anywhere) only submit to nghttp2 and schedule the connection's pump
 * ("kick"); nghttp2_session_mem_send, request body delivery and stream
 * disposal happen only in the pump, which runs from the codec's own event
 * callbacks (socket read/drain, timers, the kick watchers), so a caller
 * never finds its stream disposed under it. */
#ifndef DP_HTTP2_SERVER_INT_H
#define DP_HTTP2_SERVER_INT_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stdint.h>

#include "dataplane/http/hcm.h"
#include "dataplane/http/stream.h"
#include "dataplane/server/worker.h"
#include "dataplane/transport/sock.h"

/* --- defences (flood.c) ---------------------------------------------------- */

/* Per connection counters for Envoy's Http2ProtocolOptions flood limits,
 * the rapid reset rule and the header block size. No I/O: the codec feeds
 * it frame headers and byte counts and closes the connection when a
 * function returns an HTTP/2 error code. */
typedef struct dp_h2_flood {
    dp_h2_options_t o;
    size_t max_header_block; /* bytes a HEADERS + CONTINUATION block may carry */
    /* inbound */
    uint32_t consecutive_empty;
    uint64_t inbound_priority, inbound_window_update;
    uint64_t opened_streams, premature_resets;
    uint64_t outbound_data_frames;
    size_t header_block; /* bytes of the header block being received */
    bool in_header_block;
    /* outbound: frames serialized into the socket's queue and not yet written */
    uint64_t out_total; /* bytes ever queued */
    uint64_t *ring;     /* per queued frame: end offset << 1 | control */
    size_t ring_cap, ring_head, ring_n;
    size_t n_control;
} dp_h2_flood_t;

/* Streams opened on a connection before the rapid reset rule applies, and
 * the share of them the client may reset before their response (1/2). */
#define DP_H2_RAPID_RESET_MIN_STREAMS 100

/* max_header_block: the limit on one header block's wire size (bytes). */
void dp_h2_flood__init(dp_h2_flood_t *f, const dp_h2_options_t *o, size_t max_header_block);
void dp_h2_flood__free(dp_h2_flood_t *f);
/* A frame header arrived (nghttp2's on_begin_frame). Returns 0, or the
 * HTTP/2 error code (NGHTTP2_ENHANCE_YOUR_CALM) the connection must be
 * closed with; *why names the limit. */
uint32_t dp_h2_flood__begin_frame(dp_h2_flood_t *f, const nghttp2_frame_hd *hd, const char **why);
/* The client opened a stream (counted for the PRIORITY and WINDOW_UPDATE
 * allowances and the rapid reset rule). */
void dp_h2_flood__stream_opened(dp_h2_flood_t *f);
/* The client reset a stream; premature: before its response was complete.
 * Returns 0 or the error code to close with. */
uint32_t dp_h2_flood__client_reset(dp_h2_flood_t *f, bool premature, const char **why);
/* n bytes were appended to the socket's output queue. */
static inline void dp_h2_flood__queued(dp_h2_flood_t *f, size_t n)
{
    f->out_total += n;
}
/* nghttp2 finished serializing a frame of this type (its bytes were the
 * last ones queued). queued_now: bytes still in the socket's queue, so
 * frames already written are forgotten first. Returns 0 or the error code
 * to close with (too many frames queued: the peer does not read). */
uint32_t dp_h2_flood__frame_sent(dp_h2_flood_t *f, uint8_t type, size_t queued_now, const char **why);
/* Frames written since: forgets them. */
void dp_h2_flood__written(dp_h2_flood_t *f, size_t queued_now);
/* A GOAWAY frame (17 bytes) for when nghttp2 can no longer be used. */
void dp_h2__goaway_frame(uint8_t out[17], int32_t last_stream_id, uint32_t error_code);

/* --- connection and streams --------------------------------------------------- */

typedef struct dp_h2_conn dp_h2_conn_t;
typedef struct dp_h2_stream dp_h2_stream_t;

struct dp_h2_stream {
    dp_stream_t s; /* s.codec == this */
    dp_h2_conn_t *c;
    int32_t id;
    dp_h2_stream_t *prev, *next; /* c->streams: from its HEADERS until disposed */
    dp_h2_stream_t *work_next;   /* c->work (or the free list) */
    ev_timer timer;              /* stream_idle_timeout */
    uint64_t last_activity_ms;

    /* request */
    size_t hdr_bytes;    /* name + value bytes of the header block */
    uint32_t hdr_count;  /* fields (cookie crumbs count once) */
    dp_slice_t protocol; /* :protocol of an extended CONNECT */
    dp_buf_t in;         /* DATA received, not yet taken by the stream */

    /* response */
    dp_buf_t out; /* body bytes accepted, not yet framed */
    nghttp2_nv *trailers;
    size_t n_trailers;

    unsigned on_work : 1;          /* in c->work */
    unsigned headers_done : 1;     /* the request went to the HCM (or was answered) */
    unsigned in_trailer_block : 1; /* receiving the trailers' header block */
    unsigned too_large : 1;        /* header limits exceeded: not stored */
    unsigned too_many : 1;
    unsigned in_end : 1;      /* END_STREAM received */
    unsigned in_trailers : 1; /* ... with trailers in s.req_trailers */
    unsigned end_delivered : 1;
    unsigned want_deliver : 1;
    unsigned resp_submitted : 1; /* response HEADERS submitted */
    unsigned has_provider : 1;   /* ... with a data provider (a body follows) */
    unsigned out_end : 1;        /* the whole body (and trailers) is in `out` */
    unsigned deferred : 1;       /* the data provider returned DEFERRED */
    unsigned sock_blocked : 1;   /* ... because the socket's queue was full */
    unsigned out_high : 1;       /* pending went above the low watermark */
    unsigned want_writable : 1;
    unsigned no_body : 1;    /* HEAD / 204 / 304: body bytes are dropped */
    unsigned reset_sent : 1; /* we reset it: ignore everything until closed */
    unsigned client_reset : 1;
    unsigned closed : 1; /* nghttp2 closed it; dispose in the pump */
};

typedef enum {
    H2C_OPEN,
    H2C_CLOSING, /* GOAWAY written, session freed; half-close then close */
} dp_h2_conn_state_t;

struct dp_h2_conn {
    dp_conn_link_t link; /* first: the worker's list points here */
    dp_sock_t *sock;
    dp_worker_t *w;
    dp_listener_cfg_t *listener; /* ref held */
    const dp_hcm_cfg_t *hcm;     /* the filter chain's, owned by listener */
    dp_hcm_stats_t *stats;
    dp_listener_stats_t *lstats;
    nghttp2_session *session;
    dp_h2_conn_state_t state;

    dp_h2_stream_t *streams; /* active (not disposed) */
    size_t n_streams;
    dp_h2_stream_t *work, *work_tail; /* streams the pump must look at */
    dp_h2_stream_t *free_list;
    size_t n_free;

    size_t in_buffered;  /* request DATA held in streams' `in` */
    size_t buffer_limit; /* the listener's per_connection_buffer_limit_bytes */
    bool read_paused;    /* socket reads stopped: in_buffered over the limit */
    bool sock_blocked;   /* some stream waits for the socket's queue to drain */
    bool draining, goaway_final;
    bool pumping;
    uint32_t fatal_code; /* a defence fired in a callback: close with this */
    const char *fatal_why;
    size_t max_header_bytes;
    dp_h2_flood_t flood;

    ev_prepare kick_prepare; /* runs the pump before the loop's flush */
    ev_idle kick_idle;       /* ... or, if kicked after it, in the next iteration */
    ev_timer timer;          /* idle_timeout / drain_timeout / delayed close */
    ev_timer head_timer;     /* request_headers_timeout of the header block in progress */
    int32_t head_stream;     /* ... the stream it belongs to */
    ev_timer drain_timer;    /* soft drain: shutdown notice -> final GOAWAY */
    uint64_t last_activity_ms;
    uint64_t timeout_ms;
};

/* Output queued on the socket above which DATA waits (per connection). */
#define DP_H2_SOCK_OUT_CAP (64 * 1024)

/* server.c */
void dp_h2__kick(dp_h2_conn_t *c);
void dp_h2__work(dp_h2_conn_t *c, dp_h2_stream_t *h);
uint64_t dp_h2__now_ms(const dp_h2_conn_t *c);
/* hard: the final GOAWAY now; soft: a shutdown notice, the final GOAWAY
 * after the HCM's drain_timeout. The caller pumps. */
void dp_h2__drain(dp_h2_conn_t *c, bool hard);

/* server_stream.c */
extern const dp_stream_ops_t dp_h2__stream_ops;
/* A new stream for a request HEADERS (on_begin_headers). */
dp_h2_stream_t *dp_h2__stream_new(dp_h2_conn_t *c, int32_t id);
/* Records one header field of the request or trailer block. Returns 0,
 * or NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE to reset the stream. */
int dp_h2__stream_header(dp_h2_stream_t *h, const uint8_t *name, size_t nlen, const uint8_t *value,
                         size_t vlen);
/* The request header block is complete: fills the request, hands it to
 * the HCM (or answers it). end_stream: HEADERS carried END_STREAM. */
void dp_h2__stream_request(dp_h2_stream_t *h, bool end_stream);
/* Request DATA (a chunk of a frame's payload). */
void dp_h2__stream_data(dp_h2_stream_t *h, const uint8_t *data, size_t len);
/* END_STREAM (DATA or trailers) received. */
void dp_h2__stream_end(dp_h2_stream_t *h, bool trailers);
/* Delivers held request DATA the stream can take now. */
void dp_h2__stream_deliver(dp_h2_stream_t *h);
/* The response's last frame was sent. */
void dp_h2__stream_response_sent(dp_h2_stream_t *h);
/* Resets the stream (RST_STREAM code) unless done already. */
void dp_h2__stream_reset(dp_h2_stream_t *h, uint32_t code);
/* Ends the stream's life: on_abort if the client went away, dispose,
 * back to the free list. */
void dp_h2__stream_finish(dp_h2_stream_t *h);
/* Frees a connection's free list. */
void dp_h2__stream_free_all(dp_h2_conn_t *c);

#endif
