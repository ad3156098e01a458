/*
 * tests/unit/test_ctl_watch.c — `failoverctl ... --wait`'s progress (ctl/ctl_watch.h): a
 * series of report documents in, exactly the lines an operator reads out, each change
 * once; the exit code is the operation's outcome.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/ctl/ctl_watch.h"
#include "coordinator/ctl/verbs.h"

static json_t *doc(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (j == NULL)
        fail_msg("bad JSON in the test: %s", e.text);
    return j;
}

/* Feed the documents in order; return everything printed (caller frees) and whether the
 * last call said "ended". */
static char *feed(struct fo_ctl_watch *w, const char *const *docs, size_t n, bool *ended)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        json_t *j = doc(docs[i]);
        *ended = fo_ctl_watch_update(w, out, j);
        json_decref(j);
    }
    fclose(out);
    return buf;
}

#define OP(state, steps, extra)                                                                    \
    "{\"id\": \"op-7\", \"kind\": \"manual\", \"from\": \"main\", \"to\": \"dr\", \"state\": "     \
    "\"" state "\", \"requested_by\": \"alice@ops-1\", \"started_ms\": 1000" extra                 \
    ", \"steps\": [" steps "]}"
#define STEP(name, state, extra) "{\"name\": \"" name "\", \"state\": \"" state "\"" extra "}"

static void test_steps_as_they_happen(void **state)
{
    static const char *const docs[] = {
        OP("running", STEP("fence", "pending", "") "," STEP("promote", "pending", ""), ""),
        OP("running",
           STEP("fence", "running", ", \"started_ms\": 1100") "," STEP("promote", "pending", ""),
           ""),
        /* the same again: nothing new to print */
        OP("running",
           STEP("fence", "running", ", \"started_ms\": 1100") "," STEP("promote", "pending", ""),
           ""),
        /* fence ends and promote runs and fails between two polls */
        OP("failed",
           STEP(
               "fence", "done",
               ", \"started_ms\": 1100, \"ended_ms\": 1300, \"duration_ms\": 200") "," STEP("promot"
                                                                                            "e",
                                                                                            "faile"
                                                                                            "d",
                                                                                            ", "
                                                                                            "\"star"
                                                                                            "ted_"
                                                                                            "ms\": "
                                                                                            "1300, "
                                                                                            "\"ende"
                                                                                            "d_"
                                                                                            "ms\": "
                                                                                            "2500, "
                                                                                            "\"atte"
                                                                                            "mpts\""
                                                                                            ": 2, "
                                                                                            "\"erro"
                                                                                            "r\": "
                                                                                            "\"conn"
                                                                                            "ection"
                                                                                            " refus"
                                                                                            "ed\""),
           ", \"ended_ms\": 2600, \"error\": \"step promote failed\""),
        /* after the end: nothing more */
        OP("failed", "", ""),
    };
    struct fo_ctl_watch w;
    bool ended = false;
    char *got;
    json_t *last;
    (void)state;

    fo_ctl_watch_init(&w);
    got = feed(&w, docs, sizeof(docs) / sizeof(docs[0]), &ended);
    assert_true(ended);
    assert_string_equal(got, "op-7 manual main -> dr: running (requested by alice@ops-1)\n"
                             "  +0.1s   fence                    running\n"
                             "  +0.3s   fence                    done (0.2 s)\n"
                             "  +0.3s   promote                  running\n"
                             "  +1.5s   promote                  failed: connection refused (2 "
                             "attempts)\n"
                             "op-7 failed in 1.6 s: step promote failed\n");
    free(got);
    last = doc(docs[3]);
    assert_int_equal(fo_ctl_watch_exit(last), FO_CTL_EXIT_FAILED);
    json_decref(last);
}

static void test_exit_codes(void **state)
{
    static const struct {
        const char *state;
        int exit;
    } rows[] = {{"succeeded", FO_CTL_EXIT_OK},
                {"failed", FO_CTL_EXIT_FAILED},
                {"aborted", FO_CTL_EXIT_FAILED},
                {"running", FO_CTL_EXIT_FAILED},
                {"what", FO_CTL_EXIT_FAILED}};
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char text[128];
        json_t *j;
        snprintf(text, sizeof(text), "{\"id\": \"op-1\", \"state\": \"%s\"}", rows[i].state);
        j = doc(text);
        assert_int_equal(fo_ctl_watch_exit(j), rows[i].exit);
        json_decref(j);
    }
}

/* A skipped step and a success; missing keys print as "-", never crash. */
static void test_skipped_and_sparse(void **state)
{
    static const char *const docs[] = {
        "{\"id\": \"drill-e3-1\", \"state\": \"succeeded\", \"steps\": [{\"name\": \"redis\", "
        "\"state\": \"skipped\", \"error\": \"no redis in dr\"}, {\"state\": 7}]}",
    };
    struct fo_ctl_watch w;
    bool ended = false;
    char *got;
    (void)state;

    fo_ctl_watch_init(&w);
    got = feed(&w, docs, 1, &ended);
    assert_true(ended);
    assert_string_equal(got, "drill-e3-1 - - -> -: running (requested by -)\n"
                             "          redis                    skipped: no redis in dr\n"
                             "drill-e3-1 succeeded\n");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steps_as_they_happen),
        cmocka_unit_test(test_exit_codes),
        cmocka_unit_test(test_skipped_and_sparse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
