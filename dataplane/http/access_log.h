/* Envoy's access loggers: envoy.access_loggers.file,
 * envoy.access_loggers.stdout and envoy.access_loggers.stderr, with Envoy's
 * default text format, text_format / text_format_source command operators
 * and json_format. One immutable dp_access_log_t per configured logger;
 * the output fd is shared by all loggers with the same path. */
#ifndef DP_HTTP_ACCESS_LOG_H
#define DP_HTTP_ACCESS_LOG_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

struct dp_stream;
typedef struct dp_access_log dp_access_log_t;

/* Builds a logger from an envoy.config.accesslog.v3.AccessLog message
 * (its typed_config Any is unpacked and validated here). Returns 0, or a
 * negative DP_E* with errbuf naming the field / unsupported operator. */
int dp_access_log_create(const ProtobufCMessage *access_log_msg, dp_access_log_t **out, char *errbuf,
                         size_t errlen);
void dp_access_log_free(dp_access_log_t *al);
/* Formats and writes one line for a finished stream (one write(2)).
 * Safe to call from any thread. %RESP(...)% logs as unset ("-"): the
 * response head is not kept after it was sent. */
void dp_access_log_emit(const dp_access_log_t *al, const struct dp_stream *s);

/* Internal, for tests: the line emit would write, formatted at the given
 * wall-clock (CLOCK_REALTIME) and dp_now_ns() times. Returns a malloc'd
 * NUL-terminated string (its length in *len if len is not NULL). */
char *dp_access_log__format(const dp_access_log_t *al, const struct dp_stream *s, uint64_t now_wall_ns,
                            uint64_t now_mono_ns, size_t *len);

#endif
