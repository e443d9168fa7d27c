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
/* Each slot keeps the name's hash, so probing and growing never touch the
 * stats themselves (a cache miss each): with 10,000 clusters there are
 * 250,000 stats, created while a CDS update is applied. */
typedef struct slot {
    uint64_t hash;
    dp_stat_t *stat;
} slot_t;
static slot_t *table;
static size_t cap, count;
static dp_stat_group_t **groups;
static size_t n_groups, cap_groups;
static size_t n_group_stats;

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h | 1; /* 0 marks an empty slot */
}

static void grow(void)
{
    size_t ncap = cap ? cap * 2 : 256;
    slot_t *nt = dp_xcalloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < cap; i++) {
        if (table[i].hash == 0)
            continue;
        size_t j = table[i].hash & (ncap - 1);
        while (nt[j].hash)
            j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap = ncap;
}

static dp_stat_t *get(const char *name, dp_stat_kind_t kind)
{
    uint64_t h = hash(name);
    pthread_mutex_lock(&lock);
    if ((count + 1) * 2 > cap)
        grow();
    size_t j = h & (cap - 1);
    while (table[j].hash && (table[j].hash != h || strcmp(table[j].stat->name, name) != 0))
        j = (j + 1) & (cap - 1);
    if (table[j].hash == 0) {
        dp_stat_t *s = dp_xcalloc(1, sizeof(*s));
        s->kind = kind;
        s->name = dp_xstrdup(name);
        table[j].hash = h;
        table[j].stat = s;
        count++;
    }
    dp_stat_t *r = table[j].stat;
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

dp_stat_group_t *dp_stats_group_new(const char *prefix, const char *const *suffixes, const dp_stat_kind_t *kinds,
                                    size_t n)
{
    dp_stat_group_t *g = dp_xcalloc(1, sizeof(*g) + n * sizeof(dp_stat_t));
    g->prefix = dp_xstrdup(prefix);
    g->suffixes = suffixes;
    g->kinds = kinds;
    g->n = n;
    for (size_t i = 0; i < n; i++)
        g->stats[i].kind = kinds[i];
    pthread_mutex_lock(&lock);
    if (n_groups == cap_groups) {
        cap_groups = cap_groups ? cap_groups * 2 : 64;
        groups = dp_xrealloc(groups, cap_groups * sizeof(*groups));
    }
    groups[n_groups++] = g;
    n_group_stats += n;
    pthread_mutex_unlock(&lock);
    return g;
}

void dp_stats_reset_counters(void)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < cap; i++)
        if (table[i].hash && table[i].stat->kind == DP_STAT_COUNTER)
            atomic_store_explicit(&table[i].stat->v, 0, memory_order_relaxed);
    for (size_t g = 0; g < n_groups; g++)
        for (size_t i = 0; i < groups[g]->n; i++)
            if (groups[g]->kinds[i] == DP_STAT_COUNTER)
                atomic_store_explicit(&groups[g]->stats[i].v, 0, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
}

static int by_name(const void *a, const void *b)
{
    return strcmp((*(dp_stat_t *const *)a)->name, (*(dp_stat_t *const *)b)->name);
}

void dp_stats_foreach(void (*fn)(const dp_stat_t *s, void *arg), void *arg)
{
    pthread_mutex_lock(&lock);
    size_t total = count + n_group_stats;
    dp_stat_t **all = dp_xmalloc((total ? total : 1) * sizeof(*all));
    /* group members are reported through named copies */
    dp_stat_t *copies = dp_xmalloc((n_group_stats ? n_group_stats : 1) * sizeof(*copies));
    size_t n = 0, k = 0;
    for (size_t i = 0; i < cap; i++)
        if (table[i].hash)
            all[n++] = table[i].stat;
    for (size_t g = 0; g < n_groups; g++) {
        const dp_stat_group_t *grp = groups[g];
        for (size_t i = 0; i < grp->n; i++) {
            dp_stat_t *c = &copies[k++];
            atomic_store_explicit(&c->v, atomic_load_explicit(&((dp_stat_t *)&grp->stats[i])->v, memory_order_relaxed),
                                  memory_order_relaxed);
            c->kind = grp->kinds[i];
            size_t len = strlen(grp->prefix) + strlen(grp->suffixes[i]) + 2;
            char *name = dp_xmalloc(len);
            snprintf(name, len, "%s.%s", grp->prefix, grp->suffixes[i]);
            c->name = name;
            all[n++] = c;
        }
    }
    pthread_mutex_unlock(&lock);
    qsort(all, n, sizeof(*all), by_name);
    for (size_t i = 0; i < n; i++)
        fn(all[i], arg);
    for (size_t i = 0; i < k; i++)
        free((char *)copies[i].name);
    free(copies);
    free(all);
}
