/* Admin internals shared by admin_http.c (the small HTTP/1.1 server),
 * admin_handlers.c (the endpoints), config_dump.c and admin_json.c, and
 * exposed to tests/unit/admin/admin_test.c so handlers can be driven
 * without sockets. */
#ifndef DP_ADMIN_ADMIN_INT_H
#define DP_ADMIN_ADMIN_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/admin/admin.h"
#include "dataplane/core/buf.h"

/* Process-wide admin state, on the main thread only (the health check
 * verdict and the drain sequence are dataplane/server/drain.h's). */
typedef struct dp_admin_state {
    dp_snapshot_t *snap; /* ref held; NULL before the first swap */
    char state[24];      /* "LIVE", "DRAINING", "PRE_INITIALIZING", "INITIALIZING" */
    /* dp_admin_info_t, copied (the bootstrap may be reloaded and freed) */
    char *version, *node_id, *node_cluster, *command_line, *config_path;
    char *service_node, *service_cluster;
    int concurrency;
    double drain_time_s;
    dp_drain_strategy_t drain_strategy;
    void (*quit)(void);
    dp_loop_t *loop; /* the main loop (dp_admin_start), NULL in unit tests */
    uint64_t start_wall_ms;
    /* when the bootstrap in snap changed last (BootstrapConfigDump) */
    uint64_t bootstrap_updated_ms;
} dp_admin_state_t;

dp_admin_state_t *dp_admin__state(void);

/* Copies info (and the bootstrap path) into the state without binding
 * anything: dp_admin_start() calls it, tests call it directly. */
void dp_admin__configure(const dp_admin_info_t *info, const char *config_path);

/* The bound admin port (tests bind port 0), or -1. */
int dp_admin__port(void);

/* Refreshes Envoy's process-level server.* gauges (live, state, uptime,
 * concurrency, memory_allocated, memory_heap_size, total_connections, ...). */
void dp_admin__refresh_stats(void);

/* One response. body is owned by the response (dp_buf_free). */
typedef struct dp_admin_resp {
    int status;
    const char *ctype; /* static string */
    dp_buf_t body;
} dp_admin_resp_t;

#define DP_ADMIN_CT_TEXT "text/plain; charset=UTF-8"
#define DP_ADMIN_CT_JSON "application/json"
#define DP_ADMIN_CT_PROM "text/plain; version=0.0.4; charset=UTF-8"

/* Routes one request (method and request target, e.g. "/stats?filter=x")
 * to its handler and fills r (status, content type, body). Unknown paths
 * get 404 with the list of endpoints, a GET to a mutating endpoint 405. */
void dp_admin__handle(const char *method, size_t method_len, const char *target, size_t target_len,
                      dp_admin_resp_t *r);

/* Handlers (admin_handlers.c, config_dump.c, admin_ops.c). query is the
 * raw query string after '?' (may be empty, not NUL-terminated). */
void dp_admin__config_dump(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__hc_fail(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__hc_ok(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__drain_listeners(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__quit(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__logging(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__memory(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__reset_counters(const char *query, size_t qlen, dp_admin_resp_t *r);
void dp_admin__certs(const char *query, size_t qlen, dp_admin_resp_t *r); /* admin_certs.c */

/* The allocator's bytes in use, its heap, its free bytes (admin_ops.c):
 * glibc's mallinfo2, or ASan's allocator under ASan. */
void dp_admin__malloc_stats(size_t *allocated, size_t *heap_size, size_t *free_bytes);

/* A text/plain answer. */
void dp_admin__set_text(dp_admin_resp_t *r, int status, const char *text);

/* Query string: percent-decoded value of `key` into out (NUL-terminated),
 * true if present. */
bool dp_admin__query_get(const char *query, size_t qlen, const char *key, char *out, size_t outlen);

/* RFC 3339 UTC with milliseconds when not whole ("2024-01-02T03:04:05.678Z"),
 * as protobuf prints a Timestamp. out needs 32 bytes. */
void dp_admin__rfc3339(uint64_t wall_ms, char *out, size_t outlen);

/* Prometheus: Envoy's tag extraction for one stat name. Writes the metric
 * family ("envoy_cluster_upstream_rq_xx") and the label list
 * ("envoy_response_code_class=\"2\",envoy_cluster_name=\"app\"", empty
 * when none). */
void dp_admin__prom_name(const char *stat, char *family, size_t flen, char *labels, size_t llen);

/* --- a small JSON writer: 2-space indentation (as dp_pbjson_print with
 * DP_PBJSON_PRETTY, so printed messages splice in), or compact. --- */
typedef struct dp_jw {
    dp_buf_t *b;
    bool pretty;
    int depth;
    bool after_key;
    bool nonempty[64]; /* per depth: a member was written */
} dp_jw_t;

void dp_jw_init(dp_jw_t *w, dp_buf_t *b, bool pretty);
void dp_jw_obj(dp_jw_t *w);
void dp_jw_obj_end(dp_jw_t *w);
void dp_jw_arr(dp_jw_t *w);
void dp_jw_arr_end(dp_jw_t *w);
void dp_jw_key(dp_jw_t *w, const char *k);
void dp_jw_str(dp_jw_t *w, const char *s);
void dp_jw_strn(dp_jw_t *w, const char *s, size_t n);
void dp_jw_int(dp_jw_t *w, int64_t v);
void dp_jw_uint(dp_jw_t *w, uint64_t v);
void dp_jw_bool(dp_jw_t *w, bool v);
/* A value that is already JSON text (e.g. from dp_pbjson_print_buf with
 * indent = dp_jw_depth()). */
void dp_jw_raw(dp_jw_t *w, const char *text, size_t n);
static inline int dp_jw_depth(const dp_jw_t *w)
{
    return w->depth;
}

void dp_admin__buf_printf(dp_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dp_admin__buf_puts(dp_buf_t *b, const char *s);

#endif
