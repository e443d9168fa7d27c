#include "dataplane/core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

_Atomic dp_log_level_t dp_log_level = DP_LOG_INFO;

static const char *const names[] = {"trace", "debug", "info", "warning", "error", "critical", "off"};

int dp_log_set_level(const char *name)
{
    for (int i = 0; i <= DP_LOG_OFF; i++) {
        if (strcmp(name, names[i]) == 0) {
            dp_log_level = (dp_log_level_t)i;
            return 0;
        }
    }
    if (strcmp(name, "warn") == 0) {
        dp_log_level = DP_LOG_WARN;
        return 0;
    }
    return -1;
}

const char *dp_log_level_name(dp_log_level_t lvl)
{
    return (unsigned)lvl <= DP_LOG_OFF ? names[lvl] : "info";
}

void dp_log(dp_log_level_t lvl, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof(line), "[%04d-%02d-%02d %02d:%02d:%02d.%03ld][%s] ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
                     names[lvl]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;
    line[len++] = '\n';
    fwrite(line, 1, len, stderr); /* one write per line: lines from threads don't interleave */
}
