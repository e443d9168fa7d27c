/* Running a libev loop from a unit test, a turn at a time, until a
 * condition holds or a time is up. Header-only. */
#ifndef DP_TESTS_UNIT_EV_RUN_H
#define DP_TESTS_UNIT_EV_RUN_H

#include <ev.h>
#include <stdint.h>

#include "dataplane/core/common.h"

static inline void ev_run__tick(struct ev_loop *ev, ev_timer *t, int revents)
{
    (void)ev, (void)t, (void)revents;
}

/* One turn of ev; a 5 ms timer keeps it from blocking longer. */
static inline void ev_run_turn(struct ev_loop *ev)
{
    ev_timer t;
    ev_timer_init(&t, ev_run__tick, 0.005, 0);
    ev_timer_start(ev, &t);
    ev_run(ev, EVRUN_ONCE);
    ev_timer_stop(ev, &t);
}

/* Turns ev until cond holds or ms milliseconds have passed (a statement;
 * test cond again after it). */
#define EV_RUN_UNTIL(ev, cond, ms)                                                                           \
    for (uint64_t ev_run_end_ = dp_now_ms() + (uint64_t)(ms); !(cond) && dp_now_ms() < ev_run_end_;)         \
    ev_run_turn(ev)

/* Turns ev for ms milliseconds. */
static inline void ev_run_ms(struct ev_loop *ev, int ms)
{
    EV_RUN_UNTIL(ev, 0, ms);
}

#endif
