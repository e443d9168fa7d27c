#include "dataplane/upstream/cluster.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "dataplane/core/common.h"

/* name -> runtime, open addressing; entries are never removed (stats live
 * for the life of the process, as Envoy's do for a cluster name). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static dp_cluster_rt_t **table;
static size_t n_all, cap_all;

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void grow(void)
{
    size_t ncap = cap_all ? cap_all * 2 : 64;
    dp_cluster_rt_t **nt = dp_xcalloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < cap_all; i++) {
        if (table[i] == NULL)
            continue;
        size_t j = name_hash(table[i]->name) & (ncap - 1);
        while (nt[j])
            j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap_all = ncap;
}

static dp_cluster_rt_t *create(const char *name)
{
    dp_cluster_rt_t *c = dp_xcalloc(1, sizeof(*c));
    c->name = dp_xstrdup(name);
#define C(f, s) c->f = dp_stats_counterf("cluster.%s." s, name)
#define G(f, s) c->f = dp_stats_gaugef("cluster.%s." s, name)
    C(cx_total, "upstream_cx_total");
    G(cx_active_g, "upstream_cx_active");
    C(cx_connect_fail, "upstream_cx_connect_fail");
    C(cx_connect_timeout, "upstream_cx_connect_timeout");
    C(cx_destroy, "upstream_cx_destroy");
    C(cx_overflow, "upstream_cx_overflow");
    C(cx_protocol_error, "upstream_cx_protocol_error");
    C(rq_pending_overflow, "upstream_rq_pending_overflow");
    G(rq_pending_active_g, "upstream_rq_pending_active");
    C(rq_total, "upstream_rq_total");
    G(rq_active_g, "upstream_rq_active");
    C(rq_timeout, "upstream_rq_timeout");
    C(rq_completed, "upstream_rq_completed");
    C(rq_retry, "upstream_rq_retry");
    for (int i = 1; i <= 5; i++)
        c->rq_xx[i] = dp_stats_counterf("cluster.%s.upstream_rq_%dxx", name, i);
    G(membership_total, "membership_total");
    G(membership_healthy, "membership_healthy");
#undef C
#undef G
    return c;
}

dp_cluster_rt_t *dp_cluster_rt_get(const char *name)
{
    pthread_mutex_lock(&lock);
    if ((n_all + 1) * 2 > cap_all)
        grow();
    size_t j = name_hash(name) & (cap_all - 1);
    while (table[j] && strcmp(table[j]->name, name) != 0)
        j = (j + 1) & (cap_all - 1);
    if (table[j] == NULL) {
        table[j] = create(name);
        n_all++;
    }
    dp_cluster_rt_t *c = table[j];
    pthread_mutex_unlock(&lock);
    return c;
}
