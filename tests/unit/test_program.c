/*
 * tests/unit/test_program.c — actions/program.h, the runner of postgres.rejoin's
 * operator-configured command: its exit status, its output's tail (bounded, printable),
 * the environment it gets (only the caller's), the deadline (the whole process group
 * killed, the call back soon after), the cancel flag, and a program that cannot start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "actions/program.h"

static char *env_none[] = {"PATH=/usr/bin:/bin", NULL};

static struct fo_action_req req_for(uint64_t ms, const atomic_int *cancel)
{
    struct fo_action_req r = {.kind = "test", .deadline_ms = fo_action_now_ms() + ms};
    r.cancel = cancel;
    return r;
}

static void test_exit_and_tail(void **state)
{
    struct fo_action_req r = req_for(10000, NULL);
    char *argv[] = {"sh", "-c", "echo starting; printf 'bell\\a'; echo done >&2; exit 3", NULL};
    char tail[64];
    int code = -1;
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_EXITED);
    assert_int_equal(code, 3);
    assert_string_equal(tail, "starting\nbell?done\n"); /* stderr too; control bytes '?' */
}

static void test_tail_keeps_the_end(void **state)
{
    struct fo_action_req r = req_for(10000, NULL);
    char *argv[] = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done",
                    NULL};
    char tail[16];
    int code = -1;
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_EXITED);
    assert_int_equal(code, 0);
    assert_int_equal(strlen(tail), sizeof(tail) - 1);
    assert_string_equal(tail + strlen(tail) - 9, "line1999\n");
}

/* Only the caller's environment: the daemon's may hold secrets. */
static void test_environment_is_the_callers(void **state)
{
    struct fo_action_req r = req_for(10000, NULL);
    char *argv[] = {"sh", "-c", "echo \"[$FO_EPOCH][${HOME:-none}]\"", NULL};
    char *envp[] = {"PATH=/usr/bin:/bin", "FO_EPOCH=7", NULL};
    char tail[64];
    int code = -1;
    (void)state;

    setenv("HOME", "/root", 1);
    assert_int_equal(fo_program_run(&r, argv, envp, &code, tail, sizeof(tail)), FO_PROGRAM_EXITED);
    assert_string_equal(tail, "[7][none]\n");
}

/* The deadline kills the program and what it started (its process group), even one that
 * ignores SIGTERM, and the call returns within the grace. */
static void test_deadline_kills_the_group(void **state)
{
    struct fo_action_req r = req_for(300, NULL);
    char *argv[] = {"sh", "-c", "trap '' TERM; sleep 30 & echo started; wait", NULL};
    char tail[64];
    int code = -1;
    uint64_t t0 = fo_action_now_ms();
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_TIMED_OUT);
    assert_true(fo_action_now_ms() - t0 < 300 + FO_PROGRAM_KILL_GRACE_MS + 2000);
    assert_string_equal(tail, "started\n");
}

static void test_cancel(void **state)
{
    atomic_int cancel = 1;
    struct fo_action_req r = req_for(10000, &cancel);
    char *argv[] = {"sleep", "30", NULL};
    char tail[8];
    int code = -1;
    uint64_t t0 = fo_action_now_ms();
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_CANCELLED);
    assert_true(fo_action_now_ms() - t0 < FO_PROGRAM_KILL_GRACE_MS + 2000);
}

/* Its exit ends the wait, not the end of its output: a server it started may keep it. */
static void test_exit_with_pipe_held_open(void **state)
{
    struct fo_action_req r = req_for(20000, NULL);
    char *argv[] = {"sh", "-c", "(sleep 3; echo late) & echo ok", NULL};
    char tail[64];
    int code = -1;
    uint64_t t0 = fo_action_now_ms();
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_EXITED);
    assert_int_equal(code, 0);
    assert_true(fo_action_now_ms() - t0 < 2500);
    assert_string_equal(tail, "ok\n");
}

static void test_signaled_and_not_started(void **state)
{
    struct fo_action_req r = req_for(10000, NULL);
    char *argv[] = {"sh", "-c", "kill -KILL $$", NULL};
    char *missing[] = {"/nonexistent/pg-rejoin", NULL};
    char tail[8];
    int code = -1;
    (void)state;

    assert_int_equal(fo_program_run(&r, argv, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_SIGNALED);
    assert_int_equal(code, 9);
    assert_int_equal(fo_program_run(&r, missing, env_none, &code, tail, sizeof(tail)),
                     FO_PROGRAM_NOT_STARTED);
    assert_true(code != 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_and_tail),
        cmocka_unit_test(test_tail_keeps_the_end),
        cmocka_unit_test(test_environment_is_the_callers),
        cmocka_unit_test(test_deadline_kills_the_group),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_exit_with_pipe_held_open),
        cmocka_unit_test(test_signaled_and_not_started),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
