/* Outlier detection with a fake clock: consecutive 5xx and gateway
 * failure counting (local-origin errors as 503/504), detection once per
 * run, max_ejection_percent / always_eject_one_host, enforcement, the
 * ejection time growing with each ejection and capped, the sweep that
 * returns endpoints and lowers the multiplier. */
#include <string.h>

#include "dataplane/upstream/health.h"
#include "dataplane/upstream/outlier.h"
#include "test.h"

static dp_stat_t stats[DP_OD_S__COUNT];

static void test_counting(void)
{
    dp_outlier_cfg_t c;
    dp_outlier_cfg_defaults(&c);
    dp_ep_health_t e;
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < 4; i++)
        CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500), 0);
    /* a success resets the run */
    CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 200), 0);
    for (int i = 0; i < 4; i++)
        CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500), 0);
    CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500), DP_OD_DETECT_5XX);
    CHECK_INT(atomic_load(&e.detected), DP_OD_DETECT_5XX);
    /* only the crossing reports */
    CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500), 0);

    /* connect failures and resets are 503, timeouts 504: both counters */
    memset(&e, 0, sizeof(e));
    dp_upout_t outs[5] = {DP_UPOUT_CONNECT_FAIL, DP_UPOUT_RESET, DP_UPOUT_TIMEOUT, DP_UPOUT_RESET,
                          DP_UPOUT_CONNECT_FAIL};
    uint32_t bits = 0;
    for (int i = 0; i < 5; i++)
        bits |= dp_outlier_count(&c, &e, outs[i], 0);
    CHECK_INT(bits, DP_OD_DETECT_5XX | DP_OD_DETECT_GATEWAY);
    /* a cancelled request is nothing; a 500 resets the gateway run only */
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < 4; i++)
        dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 502);
    dp_outlier_count(&c, &e, DP_UPOUT_CANCELLED, 0);
    CHECK_INT(atomic_load(&e.cgw), 4);
    dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500);
    CHECK_INT(atomic_load(&e.cgw), 0);
    CHECK_INT(atomic_load(&e.c5xx), 5);
    /* 0: off */
    c.consecutive_5xx = 0;
    memset(&e, 0, sizeof(e));
    for (int i = 0; i < 10; i++)
        CHECK_INT(dp_outlier_count(&c, &e, DP_UPOUT_RESPONSE, 500) & DP_OD_DETECT_5XX, 0);
}

static void test_ejection(void)
{
    dp_outlier_cfg_t c;
    dp_outlier_cfg_defaults(&c);
    c.base_ejection_time_ms = 1000;
    c.max_ejection_time_ms = 2500;
    dp_ep_health_t e;
    memset(&e, 0, sizeof(e));
    memset(stats, 0, sizeof(stats));

    /* default 10 %: in a cluster of 2 nobody may go (recent Envoy) */
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 100, 0, stats));
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_OVERFLOW]), 1);
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_DETECTED_5XX]), 1);
    /* unless always_eject_one_host, and only the first */
    c.always_eject_one_host = true;
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 1, 100, 0, stats));
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 100, 0, stats));
    CHECK(atomic_load(&e.flags) & DP_HF_FAILED_OUTLIER_CHECK);
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_ENFORCED_5XX]), 1);
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_ENFORCED_TOTAL]), 1);
    CHECK_INT(e.num_ejections, 1);
    /* already out: nothing more */
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 1, 150, 0, stats));

    /* base_ejection_time * 1 */
    CHECK(!dp_outlier_sweep(&c, &e, 1099));
    CHECK(dp_outlier_sweep(&c, &e, 1100));
    CHECK(!(atomic_load(&e.flags) & DP_HF_FAILED_OUTLIER_CHECK));
    /* second ejection: twice as long */
    c.always_eject_one_host = false;
    c.max_ejection_percent = 50;
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 1200, 0, stats));
    CHECK_INT(dp_outlier_ejection_ms(&c, &e), 2000);
    CHECK(!dp_outlier_sweep(&c, &e, 3199));
    CHECK(dp_outlier_sweep(&c, &e, 3200));
    /* third: capped at max_ejection_time (2.5 s) */
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 4000, 0, stats));
    CHECK_INT(e.num_ejections, 3);
    CHECK_INT(dp_outlier_ejection_ms(&c, &e), 2500);
    CHECK(!dp_outlier_sweep(&c, &e, 6499));
    CHECK(dp_outlier_sweep(&c, &e, 6500));
    /* a fourth would not grow the multiplier further */
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 7000, 0, stats));
    CHECK_INT(e.num_ejections, 3);
    CHECK(dp_outlier_sweep(&c, &e, 9500));
    /* in service for a base_ejection_time: one step down per sweep */
    CHECK(!dp_outlier_sweep(&c, &e, 10000));
    CHECK_INT(e.num_ejections, 3);
    CHECK(!dp_outlier_sweep(&c, &e, 10500));
    CHECK_INT(e.num_ejections, 2);
    CHECK(!dp_outlier_sweep(&c, &e, 11500));
    CHECK_INT(e.num_ejections, 1);
    CHECK(!dp_outlier_sweep(&c, &e, 12500));
    CHECK_INT(e.num_ejections, 0);

    /* enforcement: gateway failures are detected but not enforced by default */
    memset(&e, 0, sizeof(e));
    memset(stats, 0, sizeof(stats));
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_GATEWAY, 2, 0, 0, 42, stats));
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_DETECTED_GW]), 1);
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_ENFORCED_GW]), 0);
    c.enforcing_consecutive_gateway_failure = 100;
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_GATEWAY, 2, 0, 0, 42, stats));
    CHECK_INT(dp_stat_get(&stats[DP_OD_S_ENFORCED_GW]), 1);
    /* enforcing_consecutive_5xx 0: never */
    memset(&e, 0, sizeof(e));
    c.enforcing_consecutive_5xx = 0;
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 2, 0, 0, 42, NULL));
    /* ten hosts at 10 %: one may go, a second not */
    c.enforcing_consecutive_5xx = 100;
    c.max_ejection_percent = 10;
    CHECK(dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 10, 0, 0, 42, NULL));
    memset(&e, 0, sizeof(e));
    CHECK(!dp_outlier_on_detect(&c, &e, DP_OD_DETECT_5XX, 10, 1, 0, 42, NULL));
    /* an unejection resets the counters */
    atomic_store(&e.c5xx, 3);
    atomic_fetch_or(&e.flags, DP_HF_FAILED_OUTLIER_CHECK);
    dp_outlier_uneject(&e, 10);
    CHECK_INT(atomic_load(&e.c5xx), 0);
    CHECK_INT(atomic_load(&e.flags), 0);
}

int main(void)
{
    test_counting();
    test_ejection();
    TEST_DONE();
}
