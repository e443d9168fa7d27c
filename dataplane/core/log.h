/* Leveled logging to stderr, Envoy's level names (-l trace|debug|info|
 * warning|error|critical|off). */
#ifndef DP_CORE_LOG_H
#define DP_CORE_LOG_H

typedef enum {
    DP_LOG_TRACE,
    DP_LOG_DEBUG,
    DP_LOG_INFO,
    DP_LOG_WARN,
    DP_LOG_ERROR,
    DP_LOG_CRITICAL,
    DP_LOG_OFF,
} dp_log_level_t;

/* Set from the command line and POST /logging (any thread), read by
 * every log call. */
extern _Atomic dp_log_level_t dp_log_level;

/* Returns 0, or -1 if the name is not a level. */
int dp_log_set_level(const char *name);
/* The level's name (Envoy's: "warning", not "warn"). */
const char *dp_log_level_name(dp_log_level_t lvl);
void dp_log(dp_log_level_t lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Whether lvl is logged: for work done only to build a log line. */
#define DP_LOG_ON(lvl) ((lvl) >= dp_log_level)
#define DP_LOG(lvl, ...)                                                                 \
    do {                                                                                 \
        if (DP_LOG_ON(lvl))                                                              \
            dp_log((lvl), __VA_ARGS__);                                                  \
    } while (0)
#define DP_DEBUG(...) DP_LOG(DP_LOG_DEBUG, __VA_ARGS__)
#define DP_INFO(...) DP_LOG(DP_LOG_INFO, __VA_ARGS__)
#define DP_WARN(...) DP_LOG(DP_LOG_WARN, __VA_ARGS__)
#define DP_ERROR(...) DP_LOG(DP_LOG_ERROR, __VA_ARGS__)

#endif
