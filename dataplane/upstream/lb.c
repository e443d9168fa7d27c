/* Envoy's load-balancing policies over a cluster's usable endpoints:
 * ROUND_ROBIN (weighted when weights differ), LEAST_REQUEST (power of
 * `choice_count` random choices, fewest active requests on this worker),
 * RANDOM.
 *
 * Usable: EDS healthy and, for a cluster with active health checks or
 * outlier detection, not failed by a check nor ejected (health.h). When no
 * endpoint of the cluster can be excluded that way (the usual case), only
 * the EDS health is looked at, as before runtime health existed. Panic
 * mode (healthy_panic_threshold) is not implemented: with no usable
 * endpoint there is no pick. */
#include "dataplane/server/worker.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/health.h"
#include "dataplane/upstream/pool.h"

static inline bool usable(const dp_cluster_cfg_t *c, const dp_endpoint_t *e, bool eds_only)
{
    return eds_only ? e->healthy : dp_health_usable(c, e);
}

static const dp_endpoint_t *nth_usable(const dp_cluster_cfg_t *c, uint64_t n, size_t count, bool eds_only)
{
    n %= count;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        if (!usable(c, &c->endpoints[i], eds_only))
            continue;
        if (n-- == 0)
            return &c->endpoints[i];
    }
    return NULL;
}

const dp_endpoint_t *dp_lb_pick(const dp_cluster_cfg_t *c, dp_worker_t *w)
{
    bool eds_only = dp_health_all_eds(c);
    size_t count = 0;
    uint64_t total_weight = 0;
    bool equal = true;
    uint32_t w0 = 0;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        if (!usable(c, &c->endpoints[i], eds_only))
            continue;
        if (count == 0)
            w0 = c->endpoints[i].weight;
        count++;
        total_weight += c->endpoints[i].weight;
        if (c->endpoints[i].weight != w0)
            equal = false;
    }
    if (count == 0)
        return NULL;
    if (count == 1)
        return nth_usable(c, 0, 1, eds_only);
    switch (c->lb_policy) {
    case DP_LB_RANDOM:
        return nth_usable(c, dp_worker_random(w), count, eds_only);
    case DP_LB_LEAST_REQUEST: {
        const dp_endpoint_t *best = NULL;
        uint32_t best_active = UINT32_MAX;
        uint32_t choices = c->choice_count ? c->choice_count : 2;
        for (uint32_t k = 0; k < choices; k++) {
            const dp_endpoint_t *e = nth_usable(c, dp_worker_random(w), count, eds_only);
            uint32_t a = dp_pool_active(w, c, e);
            if (a < best_active) {
                best = e;
                best_active = a;
            }
        }
        return best;
    }
    case DP_LB_ROUND_ROBIN:
    default: {
        uint64_t n = atomic_fetch_add_explicit(&c->rt->rr, 1, memory_order_relaxed);
        if (equal)
            return nth_usable(c, n, count, eds_only);
        uint64_t x = n % total_weight;
        for (size_t i = 0; i < c->n_endpoints; i++) {
            if (!usable(c, &c->endpoints[i], eds_only))
                continue;
            if (x < c->endpoints[i].weight)
                return &c->endpoints[i];
            x -= c->endpoints[i].weight;
        }
        return nth_usable(c, n, count, eds_only);
    }
    }
}
