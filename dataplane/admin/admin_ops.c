/* The admin endpoints that act on the server, Envoy's names and answers:
 * POST /healthcheck/fail|ok, /drain_listeners, /quitquitquit (the drain
 * state is dataplane/server/drain.h's), POST /logging, GET /memory,
 * POST /reset_counters. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#if defined(__SANITIZE_ADDRESS__)
/* the sanitizer runtime's (sanitizer/allocator_interface.h, which gcc 12
 * does not ship) */
size_t __sanitizer_get_current_allocated_bytes(void);
size_t __sanitizer_get_heap_size(void);
size_t __sanitizer_get_free_bytes(void);
#endif

#include "dataplane/admin/admin_int.h"
#include "dataplane/admin/stats.h"
#include "dataplane/core/log.h"
#include "dataplane/server/config.h"
#include "dataplane/server/drain.h"

void dp_admin__hc_fail(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    dp_drain_set_hc_failed(true);
    dp_admin__set_text(r, 200, "OK\n");
}

void dp_admin__hc_ok(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    dp_drain_set_hc_failed(false);
    dp_admin__set_text(r, 200, "OK\n");
}

/* POST /drain_listeners[?inboundonly][&graceful][&skip_exit]: without
 * graceful the listeners stop accepting now; with it the drain sequence
 * runs first (a second call while it runs changes nothing), and skip_exit
 * leaves the listeners accepting at its end. Open connections go on. */
void dp_admin__drain_listeners(const char *q, size_t ql, dp_admin_resp_t *r)
{
    char v[8];
    bool inbound = dp_admin__query_get(q, ql, "inboundonly", v, sizeof(v));
    bool graceful = dp_admin__query_get(q, ql, "graceful", v, sizeof(v));
    bool skip_exit = dp_admin__query_get(q, ql, "skip_exit", v, sizeof(v));
    dp_admin_state_t *st = dp_admin__state();
    if (skip_exit && !graceful) {
        dp_admin__set_text(r, 400, "skip_exit requires graceful\n");
        return;
    }
    if (graceful) {
        if (st->loop == NULL) {
            dp_admin__set_text(r, 503, "no event loop to time the drain on\n");
            return;
        }
        dp_drain_start(st->loop->ev, inbound, skip_exit);
    } else {
        dp_config_stop_listeners(inbound);
    }
    dp_admin__set_text(r, 200, "OK\n");
}

void dp_admin__quit(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    dp_admin_state_t *st = dp_admin__state();
    if (st->quit == NULL) {
        dp_admin__set_text(r, 503, "this process cannot be stopped from here\n");
        return;
    }
    st->quit();
    dp_admin__set_text(r, 200, "OK\n");
}

/* POST /logging: no parameter lists the loggers and their levels;
 * ?level=L sets every logger, ?dataplane=L the one logger we have. The
 * answer is the list, as Envoy's. */
static void logging_usage(dp_admin_resp_t *r, const char *why)
{
    dp_admin__set_text(r, 400, why);
    dp_admin__buf_puts(&r->body, "usage: /logging?<name>=<level> (change single level)\n"
                                 "usage: /logging?level=<level> (change all levels)\n"
                                 "levels: trace debug info warning error critical off\n"
                                 "loggers: dataplane\n");
}

void dp_admin__logging(const char *q, size_t ql, dp_admin_resp_t *r)
{
    if (ql > 0) {
        const char *eq = memchr(q, '=', ql);
        if (eq == NULL || memchr(q, '&', ql) != NULL) {
            logging_usage(r, "error: one <name>=<level> parameter\n");
            return;
        }
        size_t nlen = (size_t)(eq - q);
        bool all = nlen == 5 && memcmp(q, "level", 5) == 0;
        bool ours = nlen == 9 && memcmp(q, "dataplane", 9) == 0;
        if (!all && !ours) {
            logging_usage(r, "error: unknown logger name\n");
            return;
        }
        char level[16];
        dp_admin__query_get(q, ql, all ? "level" : "dataplane", level, sizeof(level));
        if (dp_log_set_level(level) != 0) {
            logging_usage(r, "error: unknown logger level\n");
            return;
        }
    }
    dp_admin__set_text(r, 200, "active loggers:\n");
    dp_admin__buf_printf(&r->body, "  dataplane: %s\n", dp_log_level_name(dp_log_level));
}

void dp_admin__malloc_stats(size_t *allocated, size_t *heap_size, size_t *free_bytes)
{
#if defined(__SANITIZE_ADDRESS__)
    /* ASan's allocator replaces glibc's, whose mallinfo2 then reads 0 */
    *allocated = __sanitizer_get_current_allocated_bytes();
    *heap_size = __sanitizer_get_heap_size();
    *free_bytes = __sanitizer_get_free_bytes();
#else
    struct mallinfo2 mi = mallinfo2();
    *allocated = mi.uordblks;
    *heap_size = mi.arena + mi.hblkhd;
    *free_bytes = mi.fordblks;
#endif
}

/* GET /memory: Envoy's admin.v3.Memory, from the allocator and the
 * resident set (64-bit numbers as JSON strings, the proto3 mapping). */
void dp_admin__memory(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    size_t allocated, heap_size, free_bytes;
    dp_admin__malloc_stats(&allocated, &heap_size, &free_bytes);
    unsigned long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    r->ctype = DP_ADMIN_CT_JSON;
    dp_admin__buf_printf(&r->body,
                         "{\n"
                         "  \"allocated\": \"%zu\",\n"
                         "  \"heap_size\": \"%zu\",\n"
                         "  \"pageheap_unmapped\": \"0\",\n"
                         "  \"pageheap_free\": \"%zu\",\n"
                         "  \"total_thread_cache\": \"0\",\n"
                         "  \"total_physical_bytes\": \"%lu\"\n"
                         "}\n",
                         allocated, heap_size, free_bytes,
                         resident * (unsigned long)sysconf(_SC_PAGESIZE));
}

/* POST /reset_counters: counters back to 0, gauges as they are. */
void dp_admin__reset_counters(const char *q, size_t ql, dp_admin_resp_t *r)
{
    (void)q;
    (void)ql;
    dp_stats_reset_counters();
    dp_admin__set_text(r, 200, "OK\n");
}
