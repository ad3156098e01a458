/*
 * tests/unit/test_metrics.c — failoverd_operations_total is a real counter
 * (coordinator/serve/metrics.h): the FSM keeps only the latest FO_MAX_HISTORY finished
 * operations, and the counter must neither go down when old ones drop out of that ring
 * nor count an operation twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/serve/metrics.h"

#define MAXOPS 300

static char ids[MAXOPS][16];
static struct fo_operation ops[MAXOPS];

/* The ring as the FSM keeps it after n operations finished: the latest FO_MAX_HISTORY. */
static void ring(struct fo_state *st, size_t n)
{
    size_t first = n > FO_MAX_HISTORY ? n - FO_MAX_HISTORY : 0;
    st->history = &ops[first];
    st->nhistory = n - first;
}

static unsigned long long sum(const struct fo_op_counter *c)
{
    unsigned long long s = 0;
    for (int k = 0; k < FO_OP_KINDS; k++)
        for (int r = 0; r < FO_OP_RESULTS; r++)
            s += c->total[k][r];
    return s;
}

static int setup(void **state)
{
    (void)state;
    for (size_t i = 0; i < MAXOPS; i++) {
        snprintf(ids[i], sizeof(ids[i]), "op-%zu", i);
        ops[i] = (struct fo_operation){
            .id = ids[i], .kind = (int)(i % 4), .result = FO_RESULT_SUCCEEDED + (int)(i % 3)};
    }
    return 0;
}

/* Operations finish one by one, far past the ring's size; the counter is folded after
 * each: it never goes down and counts each exactly once. */
static void test_never_goes_down(void **state)
{
    static struct fo_op_counter c;
    struct fo_state st = {0};
    unsigned long long before[FO_OP_KINDS][FO_OP_RESULTS];
    (void)state;

    for (size_t n = 0; n <= MAXOPS; n++) {
        memcpy(before, c.total, sizeof(before));
        ring(&st, n);
        fo_op_counter_fold(&c, &st);
        for (int k = 0; k < FO_OP_KINDS; k++)
            for (int r = 0; r < FO_OP_RESULTS; r++)
                assert_true(c.total[k][r] >= before[k][r]);
        assert_int_equal(sum(&c), n);
        /* folding the same state again counts nothing */
        fo_op_counter_fold(&c, &st);
        assert_int_equal(sum(&c), n);
    }
    /* by kind and result: op i is kind i % 4, result 1 + i % 3 */
    assert_int_equal(c.total[FO_OP_AUTO][FO_RESULT_SUCCEEDED], (MAXOPS + 11) / 12);
}

/* Scrapes far apart: several operations finish between folds (fewer than the ring). */
static void test_batches(void **state)
{
    static struct fo_op_counter c;
    struct fo_state st = {0};
    (void)state;

    for (size_t n = 0; n <= MAXOPS; n += 37) {
        unsigned long long before = sum(&c);
        ring(&st, n);
        fo_op_counter_fold(&c, &st);
        assert_true(sum(&c) >= before);
        assert_int_equal(sum(&c), n);
    }
}

/* A snapshot restore or a lagging follower: the history shrinks, or an operation is
 * still running. Nothing goes down, a running operation is not counted. */
static void test_shrink_and_running(void **state)
{
    static struct fo_op_counter c;
    struct fo_state st = {0};
    struct fo_operation running = {
        .id = "op-run", .kind = FO_OP_MANUAL, .result = FO_RESULT_RUNNING};
    (void)state;

    ring(&st, 50);
    fo_op_counter_fold(&c, &st);
    assert_int_equal(sum(&c), 50);
    st.nhistory = 10; /* fewer entries */
    fo_op_counter_fold(&c, &st);
    assert_int_equal(sum(&c), 50);
    st.history = &running;
    st.nhistory = 1;
    fo_op_counter_fold(&c, &st);
    assert_int_equal(sum(&c), 50);
    st.nhistory = 0;
    fo_op_counter_fold(&c, &st);
    assert_int_equal(sum(&c), 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_goes_down),
        cmocka_unit_test(test_batches),
        cmocka_unit_test(test_shrink_and_running),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
