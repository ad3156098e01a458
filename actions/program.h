/*
 * actions/program.h — run an operator-configured program for an action, bounded in time
 * and in output. Private to actions/ (postgres.rejoin is its one user: re-seeding a
 * Postgres needs pg_rewind or pg_basebackup on the machine that holds the data
 * directory, and neither has a library; see postgres_rejoin.c).
 *
 * The program is started with posix_spawn (no shell: argv as given, argv[0] searched in
 * the PATH of envp), in a process group of its own, stdin /dev/null, stdout and stderr
 * into one pipe, every other descriptor closed. It gets only the environment the caller
 * builds (envp): the daemon's own may hold secrets (${ENV} in the config), so nothing of
 * it is passed on. Its output is read as it comes; the last tail_cap - 1 bytes are kept
 * (earlier ones are dropped and counted), made printable (control bytes become '?') for
 * a journal and a log line.
 *
 * Time: at req's deadline, or when req's cancel flag is set, the whole process group gets
 * SIGTERM, then SIGKILL FO_PROGRAM_KILL_GRACE_MS later, and the call returns once the
 * program has been reaped: it never outlives the call.
 *
 * Blocking: thread-pool only (action.h). Thread-safe: posix_spawn, no fork handlers run.
 */
#ifndef FO_ACTIONS_PROGRAM_H
#define FO_ACTIONS_PROGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "actions/action.h"

#define FO_PROGRAM_KILL_GRACE_MS 3000

enum fo_program_end {
    FO_PROGRAM_EXITED = 0, /* it exited by itself: *code is its exit status */
    FO_PROGRAM_SIGNALED,   /* a signal ended it (not ours): *code is the signal */
    FO_PROGRAM_TIMED_OUT,  /* the deadline came first: killed */
    FO_PROGRAM_CANCELLED,  /* the cancel flag: killed */
    FO_PROGRAM_NOT_STARTED /* posix_spawn failed (not found, not executable): *code errno */
};

/* Run argv (NULL-terminated, argv[0] the program) with envp (NULL-terminated) until it
 * ends or req's deadline; tail gets the end of its output (NUL-terminated). */
enum fo_program_end fo_program_run(const struct fo_action_req *req, char *const argv[],
                                   char *const envp[], int *code, char *tail, size_t tail_cap);

#endif
