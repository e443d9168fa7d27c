#include "dataplane/admin/stats.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* Open-addressing table of stat pointers; stats are never freed, so a
 * pointer handed out stays valid for the life of the process. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dp_stat_t **table;
static size_t cap, count;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void grow(void)
{
    size_t ncap = cap ? cap * 2 : 256;
    dp_stat_t **nt = dp_xcalloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < cap; i++) {
        if (table[i] == NULL)
            continue;
        size_t j = hash(table[i]->name) & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap = ncap;
}

static dp_stat_t *get(const char *name, dp_stat_kind_t kind)
{
    pthread_mutex_lock(&lock);
    if ((count + 1) * 2 > cap)
        grow();
    size_t j = hash(name) & (cap - 1);
    while (table[j] && strcmp(table[j]->name, name) != 0)
        j = (j + 1) & (cap - 1);
    if (table[j] == NULL) {
        dp_stat_t *s = dp_xcalloc(1, sizeof(*s));
        s->kind = kind;
        s->name = dp_xstrdup(name);
        table[j] = s;
        count++;
    }
    dp_stat_t *r = table[j];
    pthread_mutex_unlock(&lock);
    return r;
}

dp_stat_t *dp_stats_counter(const char *name)
{
    return get(name, DP_STAT_COUNTER);
}

dp_stat_t *dp_stats_gauge(const char *name)
{
    return get(name, DP_STAT_GAUGE);
}

dp_stat_t *dp_stats_counterf(const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    return get(name, DP_STAT_COUNTER);
}

dp_stat_t *dp_stats_gaugef(const char *fmt, ...)
{
    char name[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    return get(name, DP_STAT_GAUGE);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(dp_stat_t *const *)a)->name, (*(dp_stat_t *const *)b)->name);
}

void dp_stats_foreach(void (*fn)(const dp_stat_t *s, void *arg), void *arg)
{
    pthread_mutex_lock(&lock);
    dp_stat_t **all = dp_xmalloc((count ? count : 1) * sizeof(*all));
    size_t n = 0;
    for (size_t i = 0; i < cap; i++)
        if (table[i])
            all[n++] = table[i];
    pthread_mutex_unlock(&lock);
    qsort(all, n, sizeof(*all), by_name);
    for (size_t i = 0; i < n; i++)
        fn(all[i], arg);
    free(all);
}
