/* The event loop of a transport unit test (L, set up by the test's main)
 * and the two ways the tests run it. Header-only, one test file each. */
#ifndef DP_TESTS_UNIT_TRANSPORT_LOOP_UTIL_H
#define DP_TESTS_UNIT_TRANSPORT_LOOP_UTIL_H

#include "dataplane/core/loop.h"
#include "ev_run.h"

static dp_loop_t L;

/* Until *flag becomes nonzero or 5 s pass; returns *flag. */
static inline int run_until(const int *flag)
{
    EV_RUN_UNTIL(L.ev, *flag, 5000);
    return *flag;
}

static inline void run_for(int ms)
{
    ev_run_ms(L.ev, ms);
}

#endif
