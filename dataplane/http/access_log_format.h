/* Envoy's substitution format strings (access log formats), parsed once at
 * configuration time into a list of literal / command-operator nodes and
 * evaluated per request against a finished dp_stream_t. Internal to
 * dataplane/http/access_log.c (and its tests).
 *
 * Text formats follow SubstitutionFormatParser: "%%" is a literal '%',
 * every other '%' must start a command %NAME%, %NAME(ARG)% or
 * %NAME(ARG):LEN%; an unset value prints "-" ("" with omit_empty_values).
 * JSON formats (json_format, a google.protobuf.Struct) are typed as
 * Envoy's SubstitutionFormatString.json_format: a value that is exactly one
 * command keeps its type (numbers for RESPONSE_CODE, BYTES_*, durations;
 * null when unset), anything else is a string; number literals stay
 * numbers; nested structs and lists are allowed; the output is one line of
 * compact JSON with keys sorted, followed by "\n". */
#ifndef DP_HTTP_ACCESS_LOG_FORMAT_H
#define DP_HTTP_ACCESS_LOG_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "google/protobuf/struct.pb-c.h"

struct dp_stream;
typedef struct dp_logfmt dp_logfmt_t;

/* Envoy's default access log format. */
#define DP_LOGFMT_DEFAULT                                                                                    \
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" "                       \
    "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "                             \
    "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" "                \
    "\"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n"

/* An output line under construction: starts in a caller-provided (stack)
 * buffer and moves to the heap when it outgrows it (aborts on OOM: this is
 * server glue, STYLE.md 6). */
typedef struct dp_logbuf {
    char *p;
    size_t len, cap;
    bool heap;
} dp_logbuf_t;

static inline void dp_logbuf_init(dp_logbuf_t *b, char *stack, size_t cap)
{
    b->p = stack;
    b->len = 0;
    b->cap = cap;
    b->heap = false;
}
void dp_logbuf_append(dp_logbuf_t *b, const char *p, size_t n);
void dp_logbuf_free(dp_logbuf_t *b);

/* Parses a text format (len bytes, need not be NUL-terminated). Returns 0
 * and a new format in *out, or DP_EINVAL with errbuf naming the problem
 * (position of an invalid command, the unsupported operator, ...).
 * Aborts on OOM (configuration glue). */
int dp_logfmt_parse_text(const char *fmt, size_t len, bool omit_empty, dp_logfmt_t **out, char *errbuf,
                         size_t errlen);
/* Parses a json_format Struct. Same returns; errbuf names the key path. */
int dp_logfmt_parse_json(const Google__Protobuf__Struct *st, bool omit_empty, dp_logfmt_t **out, char *errbuf,
                         size_t errlen);
void dp_logfmt_free(dp_logfmt_t *f);

/* Appends the formatted line for stream s to out. now_wall_ns (realtime)
 * and now_mono_ns (the clock of s->start_ns, dp_now_ns()) are the time of
 * emission: the request's wall start time and durations derive from them. */
void dp_logfmt_write(const dp_logfmt_t *f, const struct dp_stream *s, uint64_t now_wall_ns,
                     uint64_t now_mono_ns, dp_logbuf_t *out);

#endif
