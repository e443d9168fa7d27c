/* Envoy's load-balancing policies over a cluster's healthy endpoints:
 * ROUND_ROBIN (weighted when weights differ), LEAST_REQUEST (power of
 * `choice_count` random choices, fewest active requests on this worker),
 * RANDOM. */
#include "dataplane/server/worker.h"
#include "dataplane/upstream/cluster.h"
#include "dataplane/upstream/pool.h"

static const dp_endpoint_t *nth_healthy(const dp_cluster_cfg_t *c, uint64_t n, size_t healthy)
{
    n %= healthy;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        if (!c->endpoints[i].healthy)
            continue;
        if (n-- == 0)
            return &c->endpoints[i];
    }
    return NULL;
}

const dp_endpoint_t *dp_lb_pick(const dp_cluster_cfg_t *c, dp_worker_t *w)
{
    size_t healthy = 0;
    uint64_t total_weight = 0;
    bool equal = true;
    for (size_t i = 0; i < c->n_endpoints; i++) {
        if (!c->endpoints[i].healthy)
            continue;
        healthy++;
        total_weight += c->endpoints[i].weight;
        if (c->endpoints[i].weight != c->endpoints[0].weight)
            equal = false;
    }
    if (healthy == 0)
        return NULL;
    if (healthy == 1)
        return nth_healthy(c, 0, 1);
    switch (c->lb_policy) {
    case DP_LB_RANDOM:
        return nth_healthy(c, dp_worker_random(w), healthy);
    case DP_LB_LEAST_REQUEST: {
        const dp_endpoint_t *best = NULL;
        uint32_t best_active = UINT32_MAX;
        uint32_t choices = c->choice_count ? c->choice_count : 2;
        for (uint32_t k = 0; k < choices; k++) {
            const dp_endpoint_t *e = nth_healthy(c, dp_worker_random(w), healthy);
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
            return nth_healthy(c, n, healthy);
        uint64_t x = n % total_weight;
        for (size_t i = 0; i < c->n_endpoints; i++) {
            if (!c->endpoints[i].healthy)
                continue;
            if (x < c->endpoints[i].weight)
                return &c->endpoints[i];
            x -= c->endpoints[i].weight;
        }
        return nth_healthy(c, n, healthy);
    }
    }
}
