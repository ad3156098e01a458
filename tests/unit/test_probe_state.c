/*
 * tests/unit/test_probe_state.c — the pure part of coordinator/detect/probe.h: a check's status
 * from (time, ok/fail) sequences, and a region's verdict from its checks.
 *
 * What is checked: UNKNOWN at start; DOWN after exactly down_after_ms of failures and
 * not a millisecond earlier; UP after up_after_ms of successes; results that alternate
 * within the windows never move the status; one contrary result restarts the clock;
 * zero windows act at once; region verdicts: any critical DOWN, all critical UP,
 * non-critical checks ignored when there are critical ones, a region without critical
 * checks, mixed critical states, and the culprit named for the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "coordinator/detect/probe.h"

#define DOWN_AFTER 600
#define UP_AFTER   400

/* One step of a sequence: at t, ok or not, and the status expected after it. */
struct step {
    uint64_t t;
    bool ok;
    int want;
    bool changed;
};

static void run(const struct step *steps, size_t n)
{
    struct fo_check_state s;

    fo_check_state_init(&s);
    assert_int_equal(s.status, FO_STATUS_UNKNOWN);
    for (size_t i = 0; i < n; i++) {
        bool changed = fo_check_state_feed(&s, steps[i].t, steps[i].ok, DOWN_AFTER, UP_AFTER);
        if (s.status != steps[i].want || changed != steps[i].changed)
            fail_msg("step %zu (t=%llu ok=%d): status %d changed %d, want %d changed %d", i,
                     (unsigned long long)steps[i].t, steps[i].ok, s.status, changed, steps[i].want,
                     steps[i].changed);
        if (changed)
            assert_int_equal(s.since_ms, steps[i].t);
    }
}

#define U  FO_STATUS_UNKNOWN
#define UP FO_STATUS_UP
#define DN FO_STATUS_DOWN

static void test_unknown_at_start(void **state)
{
    struct fo_check_state s;
    (void)state;
    fo_check_state_init(&s);
    assert_int_equal(s.status, FO_STATUS_UNKNOWN);
    assert_false(s.seen);
}

static void test_down_after_exactly(void **state)
{
    /* failures every 200 ms from t=1000: DOWN at 1600 (= first failure + 600), not 1599 */
    static const struct step steps[] = {
        {1000, false, U, false}, {1200, false, U, false}, {1400, false, U, false},
        {1599, false, U, false}, {1600, false, DN, true}, {1800, false, DN, false},
    };
    (void)state;
    run(steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_up_after_exactly(void **state)
{
    static const struct step steps[] = {
        {0, true, U, false},   {200, true, U, false},  {399, true, U, false},
        {400, true, UP, true}, {600, true, UP, false},
    };
    (void)state;
    run(steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_up_then_down_then_up(void **state)
{
    static const struct step steps[] = {
        {0, true, U, false},     {400, true, UP, true},   {500, false, UP, false},
        {900, false, UP, false}, {1100, false, DN, true}, {1200, true, DN, false},
        {1500, true, DN, false}, {1600, true, UP, true},
    };
    (void)state;
    run(steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_flapping_never_flips(void **state)
{
    /* From UP: a failure every other probe for a long time; each success restarts the
     * failure clock, so the check stays UP. */
    struct fo_check_state s;
    (void)state;
    fo_check_state_init(&s);
    fo_check_state_feed(&s, 0, true, DOWN_AFTER, UP_AFTER);
    assert_true(fo_check_state_feed(&s, UP_AFTER, true, DOWN_AFTER, UP_AFTER));
    for (uint64_t t = 1000; t < 60000; t += 200) {
        bool ok = (t / 200) % 2 == 0;
        assert_false(fo_check_state_feed(&s, t, ok, DOWN_AFTER, UP_AFTER));
        assert_int_equal(s.status, FO_STATUS_UP);
    }
    /* and from DOWN, successes shorter than up_after_ms between failures never make UP */
    for (uint64_t t = 60000; t < 62000; t += 200)
        fo_check_state_feed(&s, t, false, DOWN_AFTER, UP_AFTER);
    assert_int_equal(s.status, FO_STATUS_DOWN);
    for (uint64_t t = 62000; t < 90000; t += 300) {
        bool ok = (t / 300) % 2 == 0;
        assert_false(fo_check_state_feed(&s, t, ok, DOWN_AFTER, UP_AFTER));
        assert_int_equal(s.status, FO_STATUS_DOWN);
    }
}

static void test_one_success_resets_failure_clock(void **state)
{
    static const struct step steps[] = {
        {0, false, U, false},    {500, false, U, false},  {550, true, U, false},
        {600, false, U, false},  {1100, false, U, false}, {1199, false, U, false},
        {1200, false, DN, true},
    };
    (void)state;
    run(steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_unknown_to_down_without_up(void **state)
{
    /* never seen UP: a server down from the start is DOWN after down_after_ms */
    static const struct step steps[] = {
        {10, false, U, false},
        {610, false, DN, true},
    };
    (void)state;
    run(steps, sizeof(steps) / sizeof(steps[0]));
}

static void test_zero_windows(void **state)
{
    struct fo_check_state s;
    (void)state;
    fo_check_state_init(&s);
    assert_true(fo_check_state_feed(&s, 5, false, 0, 0));
    assert_int_equal(s.status, FO_STATUS_DOWN);
    assert_true(fo_check_state_feed(&s, 6, true, 0, 0));
    assert_int_equal(s.status, FO_STATUS_UP);
    assert_false(fo_check_state_feed(&s, 7, true, 0, 0));
}

static void test_clock_going_back_is_not_time_passing(void **state)
{
    struct fo_check_state s;
    (void)state;
    fo_check_state_init(&s);
    fo_check_state_feed(&s, 1000, false, DOWN_AFTER, UP_AFTER);
    assert_false(fo_check_state_feed(&s, 10, false, DOWN_AFTER, UP_AFTER));
    assert_int_equal(s.status, FO_STATUS_UNKNOWN);
}

/* ---- regions ---- */

static int verdict(const struct fo_region_member *m, size_t n, size_t *culprit)
{
    return fo_region_verdict(m, n, culprit);
}

static void test_region_empty_is_unknown(void **state)
{
    size_t culprit = 0;
    (void)state;
    assert_int_equal(verdict(NULL, 0, &culprit), FO_STATUS_UNKNOWN);
    assert_int_equal(culprit, SIZE_MAX);
}

static void test_region_all_critical_up(void **state)
{
    const struct fo_region_member m[] = {{UP, true}, {UP, true}, {DN, false}};
    size_t culprit = 0;
    (void)state;
    assert_int_equal(verdict(m, 3, &culprit), FO_STATUS_UP);
    assert_int_equal(culprit, SIZE_MAX);
}

static void test_region_any_critical_down(void **state)
{
    const struct fo_region_member m[] = {{U, true}, {UP, true}, {DN, true}, {UP, false}};
    size_t culprit = 0;
    (void)state;
    assert_int_equal(verdict(m, 4, &culprit), FO_STATUS_DOWN);
    assert_int_equal(culprit, 2);
}

static void test_region_noncritical_down_ignored(void **state)
{
    const struct fo_region_member m[] = {{UP, true}, {DN, false}, {DN, false}};
    (void)state;
    assert_int_equal(verdict(m, 3, NULL), FO_STATUS_UP);
}

static void test_region_noncritical_never_down(void **state)
{
    /* no critical check: UP when all are UP, UNKNOWN otherwise, never DOWN */
    const struct fo_region_member all_up[] = {{UP, false}, {UP, false}};
    const struct fo_region_member one_down[] = {{UP, false}, {DN, false}};
    size_t culprit = 0;
    (void)state;
    assert_int_equal(verdict(all_up, 2, NULL), FO_STATUS_UP);
    assert_int_equal(verdict(one_down, 2, &culprit), FO_STATUS_UNKNOWN);
    assert_int_equal(culprit, 1);
}

static void test_region_mixed_critical(void **state)
{
    const struct fo_region_member unknown_one[] = {{UP, true}, {U, true}, {UP, false}};
    const struct fo_region_member down_wins[] = {{U, true}, {DN, true}};
    size_t culprit = 0;
    (void)state;
    assert_int_equal(verdict(unknown_one, 3, &culprit), FO_STATUS_UNKNOWN);
    assert_int_equal(culprit, 1);
    assert_int_equal(verdict(down_wins, 2, &culprit), FO_STATUS_DOWN);
    assert_int_equal(culprit, 1);
}

/* The state machine and the aggregation together: a region of two critical checks and a
 * non-critical one, fed over time, with the verdict changes it must show. */
static void test_region_over_time(void **state)
{
    struct fo_check_state pg, redis, web;
    struct fo_region_member m[3];
    int last = FO_STATUS_UNKNOWN, changes = 0;
    uint64_t down_at = 0;
    (void)state;

    fo_check_state_init(&pg);
    fo_check_state_init(&redis);
    fo_check_state_init(&web);
    for (uint64_t t = 0; t <= 4000; t += 200) {
        bool pg_ok = t < 2000; /* the primary dies at t=2000 */
        fo_check_state_feed(&pg, t, pg_ok, DOWN_AFTER, UP_AFTER);
        fo_check_state_feed(&redis, t, true, DOWN_AFTER, UP_AFTER);
        fo_check_state_feed(&web, t, false, DOWN_AFTER, UP_AFTER); /* non-critical, down */
        m[0] = (struct fo_region_member){pg.status, true};
        m[1] = (struct fo_region_member){redis.status, true};
        m[2] = (struct fo_region_member){web.status, false};
        int v = verdict(m, 3, NULL);
        if (v != last) {
            changes++;
            if (v == FO_STATUS_UP)
                assert_int_equal(t, UP_AFTER);
            if (v == FO_STATUS_DOWN)
                down_at = t;
            last = v;
        }
    }
    assert_int_equal(changes, 2); /* UNKNOWN -> UP -> DOWN */
    assert_int_equal(last, FO_STATUS_DOWN);
    assert_int_equal(down_at, 2000 + DOWN_AFTER);
}

/* ---- the RPO gate's lag of a standby (fo_probe_standby_lag) ---- */

static struct fo_probe_pg_info standby(uint64_t lsn, uint64_t received_ago_ms)
{
    struct fo_probe_pg_info s = {.in_recovery = true,
                                 .wal_lsn_known = true,
                                 .wal_lsn = lsn,
                                 .lag_bytes_known = true,
                                 .lag_bytes = 0,
                                 .lag_ms_known = true,
                                 .lag_ms = 0,
                                 .receiver_streaming = true,
                                 .received_ago_known = true,
                                 .received_ago_ms = received_ago_ms};
    return s;
}

static void test_lag_grows_with_silence(void **state)
{
    struct fo_probe_pg_info sb = standby(1000, 40);
    uint64_t bytes = 1, ms = 1;
    (void)state;
    /* streaming and caught up: the last message's age plus the result's own age */
    assert_true(fo_probe_standby_lag(&sb, 10, NULL, 0, &bytes, &ms));
    assert_int_equal(bytes, 0);
    assert_int_equal(ms, 50);
    /* issue 13 (6): the database link cut for 8.8 s: nothing left to replay, yet 8.8 s of
     * the primary's writes are missing */
    sb.receiver_streaming = false;
    sb.received_ago_ms = 8800;
    assert_true(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    assert_int_equal(ms, 8800);
    /* a replay delay longer than the silence wins */
    sb.lag_ms = 9000;
    assert_true(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    assert_int_equal(ms, 9000);
}

static void test_lag_bounded_by_primary_probe(void **state)
{
    struct fo_probe_pg_info sb = standby(1000, 20000); /* idle primary: old keepalive */
    struct fo_probe_pg_info pri = {.in_recovery = false, .wal_lsn_known = true, .wal_lsn = 1000};
    uint64_t bytes, ms;
    (void)state;
    /* the standby had received all the primary had written 120 ms ago */
    assert_true(fo_probe_standby_lag(&sb, 0, &pri, 120, &bytes, &ms));
    assert_int_equal(ms, 120);
    /* the primary was ahead: no bound from it */
    pri.wal_lsn = 1001;
    assert_true(fo_probe_standby_lag(&sb, 0, &pri, 120, &bytes, &ms));
    assert_int_equal(ms, 20000);
    /* a "primary" in recovery says nothing */
    pri.wal_lsn = 1000;
    pri.in_recovery = true;
    assert_true(fo_probe_standby_lag(&sb, 0, &pri, 120, &bytes, &ms));
    assert_int_equal(ms, 20000);
}

static void test_lag_unknown(void **state)
{
    struct fo_probe_pg_info sb = standby(1000, 0);
    uint64_t bytes, ms;
    (void)state;
    sb.received_ago_known = false; /* never seen streaming */
    assert_false(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    sb = standby(1000, 0);
    sb.lag_bytes_known = false;
    assert_false(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    sb = standby(1000, 0);
    sb.in_recovery = false; /* not a standby */
    assert_false(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    /* nothing replayed yet (no replay timestamp): the silence alone */
    sb = standby(1000, 70);
    sb.lag_ms_known = false;
    assert_true(fo_probe_standby_lag(&sb, 0, NULL, 0, &bytes, &ms));
    assert_int_equal(ms, 70);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unknown_at_start),
        cmocka_unit_test(test_down_after_exactly),
        cmocka_unit_test(test_up_after_exactly),
        cmocka_unit_test(test_up_then_down_then_up),
        cmocka_unit_test(test_flapping_never_flips),
        cmocka_unit_test(test_one_success_resets_failure_clock),
        cmocka_unit_test(test_unknown_to_down_without_up),
        cmocka_unit_test(test_zero_windows),
        cmocka_unit_test(test_clock_going_back_is_not_time_passing),
        cmocka_unit_test(test_region_empty_is_unknown),
        cmocka_unit_test(test_region_all_critical_up),
        cmocka_unit_test(test_region_any_critical_down),
        cmocka_unit_test(test_region_noncritical_down_ignored),
        cmocka_unit_test(test_region_noncritical_never_down),
        cmocka_unit_test(test_region_mixed_critical),
        cmocka_unit_test(test_region_over_time),
        cmocka_unit_test(test_lag_grows_with_silence),
        cmocka_unit_test(test_lag_bounded_by_primary_probe),
        cmocka_unit_test(test_lag_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
