/*
 * coordinator/ctl/ctl_watch.h — following an operation to its end (`failoverctl failover
 * | switchover | drill --wait`): failoverctl polls the `report` verb and hands each
 * report's "operation" object here; this module prints what changed since the previous
 * one — the operation's start, each step that started, ended, failed or was skipped —
 * and says when the operation ended and with which exit code.
 *
 *   op-7 manual main -> dr: running (requested by alice@ops-1)
 *     +0.0s  notify-opened          running
 *     +0.2s  notify-opened          done (0.2 s)
 *     +0.2s  fence-old-postgres     failed: connection refused (1 attempt)
 *   op-7 failed in 4.1 s: step promote-postgres failed
 *
 * Times are relative to the operation's start (started_ms; step times are the leader's
 * wall clock, as in the report). Pure: no I/O but the FILE, no clock. A key missing or
 * of another type is taken as "not known yet" (a node of another version).
 *
 * Ownership: caller-allocated; holds no pointer into the documents. One thread.
 */
#ifndef FO_COORDINATOR_CTL_WATCH_H
#define FO_COORDINATOR_CTL_WATCH_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "proto/state.h"

struct fo_ctl_watch {
    char id[FO_NAME_MAX + 1]; /* the operation followed; "" until the first report */
    size_t nsteps;
    int step_state[FO_MAX_STEPS]; /* enum fo_step_state as last printed; -1: none yet */
    bool ended;
};

void fo_ctl_watch_init(struct fo_ctl_watch *w);

/* Print what op (a report's "operation": id, kind, from, to, state, started_ms,
 * ended_ms, error, steps [{name, state, started_ms, ended_ms, duration_ms, attempts,
 * error}]) shows that the previous call did not. Returns true once op has ended (its
 * state is not "running"); the closing line is printed then, once. */
bool fo_ctl_watch_update(struct fo_ctl_watch *w, FILE *out, const json_t *op);

/* failoverctl's exit code (verbs.h) for an ended operation: 0 when it succeeded, 1
 * (the operation failed) when it failed or was aborted. */
int fo_ctl_watch_exit(const json_t *op);

#endif
