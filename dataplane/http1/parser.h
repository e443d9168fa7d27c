/* HTTP/1.x message-head parser and chunked body decoder, sans-I/O.
 *
 * Bytes in, results out: nothing is allocated or copied. Every string the
 * parser reports (method, target, header names and values, reason) is a
 * pointer into the caller's input buffer, valid as long as that buffer is.
 *
 * The parser is deliberately strict (RFC 9110/9112 plus the practice of
 * Envoy and nginx): anything that two implementations could frame
 * differently is rejected instead of guessed, because a proxy that guesses
 * differently from its upstream is a request-smuggling vector. In
 * particular: CRLF line endings only, no obs-fold, no whitespace before the
 * colon, a single well-formed Content-Length (identical duplicates
 * tolerated), Transfer-Encoding only as exactly one final "chunked", never
 * both, and no Transfer-Encoding in HTTP/1.0.
 *
 * Return convention (picohttpparser style): > 0 bytes consumed,
 * DP_EAGAIN (-2) need more input, DP_ERR (-1) invalid.
 */
#ifndef DP_HTTP1_PARSER_H
#define DP_HTTP1_PARSER_H

#include <stddef.h>
#include <stdint.h>

#include "dataplane/core/common.h"

#define DP_H1_DEFAULT_MAX_HEADER_BYTES (60 * 1024)
#define DP_H1_DEFAULT_MAX_HEADERS 100
/* Bound on the ";name=value" extensions of one chunk-size line. */
#define DP_H1_MAX_CHUNK_EXT_BYTES 4096
/* Default bound on the (discarded) trailer section of a chunked body. */
#define DP_H1_DEFAULT_MAX_TRAILER_BYTES (60 * 1024)

typedef struct dp_h1_header {
    const char *name; /* token, as sent (not lower-cased) */
    size_t name_len;
    const char *value; /* leading and trailing SP/HTAB stripped; may be empty */
    size_t value_len;
} dp_h1_header_t;

/* A zero field means "use the default"; a NULL limits pointer means all
 * defaults. max_header_bytes bounds everything the head parser consumes:
 * an optional leading CRLF, the request/status line, all header lines and
 * the final CRLF. */
typedef struct dp_h1_limits {
    size_t max_header_bytes; /* default 60 KiB (clamped to INT_MAX) */
    size_t max_headers;      /* default 100; also the size of the caller's headers[] */
} dp_h1_limits_t;

/* Fills *lim with the defaults. */
void dp_h1_limits_init(dp_h1_limits_t *lim);

typedef enum {
    DP_H1_BODY_NONE,        /* no body bytes follow the head */
    DP_H1_BODY_LENGTH,      /* exactly content_length (> 0) bytes follow */
    DP_H1_BODY_CHUNKED,     /* chunked: feed what follows to dp_h1_chunked_decode() */
    DP_H1_BODY_UNTIL_CLOSE, /* responses only: body ends when the peer closes */
} dp_h1_body_kind_t;

/* Which of the four request-target forms (RFC 9112 3.2) was sent. */
typedef enum {
    DP_H1_TARGET_ORIGIN,    /* "/path?query" */
    DP_H1_TARGET_ABSOLUTE,  /* "http://host/path" (scheme ":" ...) */
    DP_H1_TARGET_AUTHORITY, /* "host:port", CONNECT only */
    DP_H1_TARGET_ASTERISK,  /* "*", OPTIONS only */
} dp_h1_target_form_t;

typedef struct dp_h1_request {
    const char *method;
    size_t method_len;
    const char *target; /* as sent: origin-form, absolute-form, authority-form (CONNECT), asterisk */
    size_t target_len;
    int minor_version;       /* 0 or 1 */
    dp_h1_header_t *headers; /* == the caller's array; pointers into the input buffer */
    size_t num_headers;
    dp_h1_body_kind_t body;       /* NONE, LENGTH or CHUNKED (never UNTIL_CLOSE) */
    uint64_t content_length;      /* body == LENGTH: 1..INT64_MAX ("Content-Length: 0" is NONE) */
    unsigned keep_alive : 1;      /* per version + Connection: close / keep-alive tokens */
    unsigned expect_continue : 1; /* Expect: 100-continue in an HTTP/1.1 request */
    unsigned upgrade : 1;         /* HTTP/1.1, Connection: upgrade token + Upgrade header present */
    const char *host;             /* Host header value (NULL if absent) */
    size_t host_len;
    /* on error (DP_ERR): */
    int error_status;  /* 400, 414, 417, 431, 501 or 505 (413 is the codec's, for bodies) */
    const char *error; /* static reason, e.g. "content-length and transfer-encoding both present" */
    /* additions: */
    dp_h1_target_form_t target_form;
    const char *upgrade_value; /* Upgrade header value when upgrade is set, else NULL */
    size_t upgrade_value_len;
} dp_h1_request_t;

/* Parses one request head from buf[0..len).
 *
 * headers: caller array of lim->max_headers entries (DP_H1_DEFAULT_MAX_HEADERS
 * when lim is NULL or its max_headers is 0). req is fully (re)initialised.
 *
 * Returns:
 *   > 0        bytes consumed: the whole head including the final CRLF (and
 *              one skipped leading CRLF, if any). The body, if any, starts
 *              at buf + return value; pipelined data after it is untouched.
 *   DP_EAGAIN  the input is a valid prefix of a head and still within
 *              max_header_bytes: call again with more bytes (the parse
 *              restarts from buf; see dp_h1_head_complete()).
 *   DP_ERR     invalid; req->error_status and req->error are set. Syntax
 *              errors are reported as soon as the offending byte has been
 *              received, and 414/431 as soon as the buffered partial head
 *              exceeds max_header_bytes (414 while still in the request
 *              line, 431 afterwards) or a header beyond max_headers starts.
 * Never reads beyond buf[len - 1]. On DP_EAGAIN the fields of req are
 * unspecified.
 *
 * Request rules beyond the common ones: HTTP/1.1 needs exactly one Host
 * (reg-name / IP-literal [":" port] characters; empty only with an
 * absolute-form target); the target form must fit the method ("*" only for
 * OPTIONS, CONNECT only "host:port"); Expect other than 100-continue is
 * 417; an unknown transfer-coding is 501, a misplaced or repeated chunked
 * 400. Header values are returned as sent (Content-Length lists like
 * "5, 5" included): a codec that forwards the head should re-emit the
 * framing headers from body/content_length, not copy them. */
int dp_h1_parse_request(const char *buf, size_t len, const dp_h1_limits_t *lim, dp_h1_request_t *req,
                        dp_h1_header_t *headers);

typedef struct dp_h1_response {
    int status; /* 100..599 */
    int minor_version;
    const char *reason; /* may be empty (reason_len 0) */
    size_t reason_len;
    dp_h1_header_t *headers;
    size_t num_headers;
    dp_h1_body_kind_t body;
    uint64_t
        content_length; /* body == LENGTH: 1..INT64_MAX; HEAD/1xx/204/304: the advertised value, if any */
    unsigned keep_alive : 1; /* per version + Connection tokens; 0 for UNTIL_CLOSE */
    const char *error;       /* static reason on DP_ERR */
} dp_h1_response_t;

/* Parses one response head. Same return convention, limits and
 * zero-copy guarantees as dp_h1_parse_request(); on DP_ERR only
 * resp->error is set (the caller answers its client with 502).
 *
 * request_was_head: the request was HEAD, so the response has no body
 * whatever its framing headers say. Status 1xx, 204 and 304 have no body
 * either; 101 is reported with body NONE (the connection then belongs to
 * the upgraded protocol). A 1xx other than 101 is an interim response:
 * parse again after it for the final one. The parser does not know about
 * CONNECT: a 2xx to CONNECT is a tunnel, whatever body it reports.
 *
 * Framing: Transfer-Encoding chunked, else Content-Length, else
 * UNTIL_CLOSE. Content-Length together with Transfer-Encoding, any
 * transfer-coding other than one final "chunked", and Transfer-Encoding in
 * an HTTP/1.0 response are errors (never forwarded). */
int dp_h1_parse_response(const char *buf, size_t len, const dp_h1_limits_t *lim, int request_was_head,
                         dp_h1_response_t *resp, dp_h1_header_t *headers);

/* Incremental end-of-head finder, so that a head arriving in many small
 * pieces costs O(total bytes) instead of re-parsing it on every read.
 *
 * last_len is the len of the previous call on the same buffer (0 the first
 * time): only the new bytes (plus 3 bytes of overlap) are scanned.
 * Returns the length of the head (up to and including the first empty
 * line) when it is complete, else DP_EAGAIN. The end is the first LF
 * followed by CRLF or by LF, so heads with bare-LF line endings are found
 * too and dp_h1_parse_*() then rejects them precisely.
 *
 * Typical use by a codec holding a receive buffer:
 *   parse on the first read (catches garbage and most requests at once);
 *   while it returns DP_EAGAIN, on each read:
 *     if (dp_h1_head_complete(buf, len, last_len) > 0 || len > max_header_bytes)
 *         parse again (it returns the head, an error, or 431/414);
 *     last_len = len;
 * dp_h1_parse_*() never needs this function: it is only a cheap gate. */
int dp_h1_head_complete(const char *buf, size_t len, size_t last_len);

/* Chunked transfer-coding decoder, zero-copy and resumable at any byte.
 * The all-zero state is NOT the initial state: call dp_h1_chunked_init(). */
typedef struct dp_h1_chunked {
    int state;
    uint64_t remaining;   /* data bytes left in the current chunk */
    size_t trailer_bytes; /* bytes of trailer section consumed so far */
    /* additions: */
    size_t max_trailer_bytes; /* DP_H1_DEFAULT_MAX_TRAILER_BYTES after init; may be lowered */
    size_t ext_bytes;         /* bytes of chunk extensions on the current size line */
    unsigned size_digits;     /* hex digits of the current chunk size */
    const char *error;        /* sticky reason once decoding failed */
} dp_h1_chunked_t;

void dp_h1_chunked_init(dp_h1_chunked_t *c);

/* Consumes framing from buf[0..len). Returns bytes consumed (>= 0), or
 * DP_ERR (-1) on malformed input with *err set (the decoder then stays in
 * error and keeps returning DP_ERR).
 *
 * If it reaches chunk data it stops right after the data it can return:
 * *data and *data_len point into buf (data_len is 0 when only framing was
 * consumed; *data is NULL then). All framing bytes are consumed as they
 * arrive, so the caller never needs to keep unconsumed bytes around except
 * what this call did not reach. Call repeatedly until it returns 0 with
 * data_len 0 (need more input) or dp_h1_chunked_done() is true; once done
 * it consumes nothing more (following bytes belong to the next message).
 *
 * Strictness: chunk-size is 1*16HEXDIG (no sign, "0x", whitespace);
 * extensions only as ";name[=token|quoted-string]" without whitespace, at
 * most DP_H1_MAX_CHUNK_EXT_BYTES per line; CRLF everywhere (bare CR or LF
 * is an error, as is anything but CRLF after chunk data); NUL in framing is
 * an error; trailer fields follow the header-field rules, are discarded and
 * bounded by max_trailer_bytes. */
int dp_h1_chunked_decode(dp_h1_chunked_t *c, const char *buf, size_t len, const char **data, size_t *data_len,
                         const char **err);

/* True once the last-chunk and the trailer section have been consumed. */
int dp_h1_chunked_done(const dp_h1_chunked_t *c);

/* Internal, shared by parser.c and chunked.c: character classes of the
 * HTTP grammar, one bit per class, indexed by (unsigned char). */
enum {
    DP_H1__TCHAR = 0x01,  /* token character (RFC 9110 5.6.2) */
    DP_H1__VALUE = 0x02,  /* field-vchar / obs-text / SP / HTAB */
    DP_H1__TARGET = 0x04, /* VCHAR / obs-text: request-target, no SP or CTL */
    DP_H1__HOST = 0x08,   /* unreserved / sub-delims / ":" "[" "]" "%" */
    DP_H1__HEX = 0x10,
    DP_H1__DIGIT = 0x20,
    DP_H1__SCHEME = 0x40, /* ALPHA / DIGIT / "+" / "-" / "." */
};
extern const uint8_t dp_h1__char_class[256];

#endif
