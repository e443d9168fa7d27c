#include "dataplane/server/drain.h"

#include <stdatomic.h>
#include <stdint.h>

#include "dataplane/core/common.h"
#include "dataplane/core/log.h"
#include "dataplane/server/config.h"

enum { HC_FAILED = 1, DRAINING = 2, INBOUND_ONLY = 4 };

static _Atomic unsigned flags;
static _Atomic uint64_t start_ms;
static uint64_t drain_ms = 600000;
static dp_drain_strategy_t strategy = DP_DRAIN_GRADUAL;

/* main loop only */
static struct ev_loop *timer_ev;
static ev_timer end_timer;
static bool stop_at_end;

void dp_drain_configure(double drain_time_s, dp_drain_strategy_t s)
{
    drain_ms = drain_time_s > 0 ? (uint64_t)(drain_time_s * 1000) : 0;
    strategy = s;
}

void dp_drain_set_hc_failed(bool failed)
{
    if (failed)
        atomic_fetch_or_explicit(&flags, HC_FAILED, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&flags, ~(unsigned)HC_FAILED, memory_order_relaxed);
}

bool dp_drain_hc_failed(void)
{
    return atomic_load_explicit(&flags, memory_order_relaxed) & HC_FAILED;
}

bool dp_drain_draining(void)
{
    return atomic_load_explicit(&flags, memory_order_relaxed) & DRAINING;
}

static void on_end(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev, (void)t, (void)revents;
    bool inbound_only = atomic_load_explicit(&flags, memory_order_relaxed) & INBOUND_ONLY;
    DP_INFO("drain: %.3f s over%s", (double)drain_ms / 1000.0,
            stop_at_end ? (inbound_only ? ", inbound listeners stop" : ", listeners stop") : "");
    if (stop_at_end)
        dp_config_stop_listeners(inbound_only);
}

bool dp_drain_start(struct ev_loop *ev, bool inbound_only, bool skip_exit)
{
    if (dp_drain_draining())
        return false;
    atomic_store_explicit(&start_ms, dp_now_ms(), memory_order_relaxed);
    atomic_fetch_or_explicit(&flags, DRAINING | (inbound_only ? INBOUND_ONLY : 0), memory_order_release);
    DP_INFO("drain: %s listeners draining for %.3f s (%s)", inbound_only ? "inbound" : "all",
            (double)drain_ms / 1000.0, strategy == DP_DRAIN_IMMEDIATE ? "immediate" : "gradual");
    timer_ev = ev;
    stop_at_end = !skip_exit;
    ev_timer_init(&end_timer, on_end, (double)drain_ms / 1000.0, 0);
    ev_timer_start(ev, &end_timer);
    return true;
}

void dp_drain_reset(void)
{
    if (timer_ev)
        ev_timer_stop(timer_ev, &end_timer);
    timer_ev = NULL;
    atomic_store_explicit(&flags, 0, memory_order_relaxed);
}

bool dp_drain_close(const dp_listener_cfg_t *l, dp_worker_t *w)
{
    unsigned f = atomic_load_explicit(&flags, memory_order_relaxed);
    if (f == 0)
        return false;
    if ((f & HC_FAILED) && !(l && l->drain_modify_only))
        return true;
    if (!(f & DRAINING) || ((f & INBOUND_ONLY) && !(l && l->inbound)))
        return false;
    if (strategy == DP_DRAIN_IMMEDIATE)
        return true;
    /* gradual: closes with probability elapsed / drain time (Envoy's
     * remaining < random % drain time) */
    uint64_t elapsed = dp_now_ms() - atomic_load_explicit(&start_ms, memory_order_relaxed);
    if (elapsed >= drain_ms)
        return true;
    return w == NULL || dp_worker_random(w) % drain_ms < elapsed;
}
