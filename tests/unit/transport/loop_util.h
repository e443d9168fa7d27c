/* The event loop of a transport unit test (L, set up by the test's main)
 * and the two ways the tests run it. Header-only, one test file each. */
#ifndef DP_TESTS_UNIT_TRANSPORT_LOOP_UTIL_H
#define DP_TESTS_UNIT_TRANSPORT_LOOP_UTIL_H

#include <ev.h>
#include <stdint.h>

#include "dataplane/core/common.h"
#include "dataplane/core/loop.h"

static dp_loop_t L;

static void loop_tick(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev, (void)t, (void)revents;
}

/* Runs the loop for ms milliseconds, or until *flag (when given) becomes
 * nonzero; returns *flag (0 without one). A timer ticks meanwhile, so a
 * turn never blocks past the deadline. */
static int run_loop(const int *flag, int ms)
{
    ev_timer tick;
    ev_timer_init(&tick, loop_tick, 0.005, 0.005);
    ev_timer_start(L.ev, &tick);
    uint64_t deadline = dp_now_ms() + (uint64_t)ms;
    while (!(flag && *flag) && dp_now_ms() < deadline)
        ev_run(L.ev, EVRUN_ONCE);
    ev_timer_stop(L.ev, &tick);
    return flag ? *flag : 0;
}

/* Until *flag becomes nonzero or 5 s pass; returns *flag. */
static inline int run_until(const int *flag)
{
    return run_loop(flag, 5000);
}

static inline void run_for(int ms)
{
    run_loop(NULL, ms);
}

#endif
