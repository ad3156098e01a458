/*
 * coordinator/run/executor.h — runs the operation in flight on the leader (DESIGN §6).
 *
 * After `op_begin` commits, the FSM's operation journal says what has happened; the
 * executor makes the rest happen, one commit per transition:
 *
 *   for the first step(s) not finished (a group of parallel steps, or one step):
 *     pending / failed with attempts left  ->  commit running(attempt k)   [1]
 *                                          ->  run the action in the thread pool
 *                                          ->  commit done / failed / skipped
 *   all finished                           ->  commit op_end (succeeded / failed)
 *
 * [1] Committing `running` is the executor's barrier: it commits only if this node is
 *     still the leader of a majority and the FSM accepts it only for the operation and
 *     epoch in flight, so no action starts for a stale operation or on a deposed leader.
 *
 * A new leader resumes from the journal: done and skipped steps stay so; a step left
 * `running` by the previous leader has an unknown outcome and is run again — every action
 * is idempotent — except kinds that are at_most_once (a Slack message), which are marked
 * skipped ("outcome unknown, not repeated"). Every finished step carries a typed outcome
 * (enum fo_step_outcome, proto/state.h) and the executor decides by it alone, never by
 * the error text: REFUSED (retrying cannot help: a newer epoch at the target, bad
 * credentials, a plan this node cannot fill) is not retried, FAILED_RETRYABLE is while
 * attempts are left; a target site without the step's component (no Redis there) gives
 * SKIPPED_NO_COMPONENT. Retries wait backoff_ms, doubling, or the server's Retry-After.
 * A failed step aborts the operation unless the plan says on_failure: continue.
 * A drill runs the same steps in check mode: nothing changes anywhere.
 *
 * Everything here runs on the loop thread except the actions themselves. Leadership
 * loss (fo_executor_kick sees the node is no longer a ready leader) cancels the actions
 * in flight (their cancel flag) and drops their results: the next leader decides.
 *
 * Fault injection (tests only; inert unless set): FO_FAULT_CRASH=before:STEP or
 * after:STEP makes the node kill itself with SIGKILL — like kill -9 — on attempt 1 of
 * that step, right after `running` is committed (before) or after the action returned but
 * before its result is committed (after: the case that proves re-runs are idempotent).
 * tests/integration/test_crash_steps.py crashes the leader at every step this way.
 *
 * Ownership: caller-allocated; borrows node, cfg and plan, which must outlive it.
 */
#ifndef FO_COORDINATOR_EXECUTOR_H
#define FO_COORDINATOR_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "actions/action.h"
#include "consensus/node.h"
#include "coordinator/config/config.h"
#include "coordinator/config/plan.h"
#include "coordinator/run/plan_params.h"

struct fo_executor;

/* How actions are found and run: the daemon passes the real registry (fo_action_run,
 * fo_action_kind_find); tests their own. run is called on a thread-pool thread. */
struct fo_executor_runner {
    void (*run)(const struct fo_action_req *req, struct fo_action_result *res);
    const struct fo_action_kind *(*find)(const char *kind);
};

/* May the step start now? The daemon's answer is the write-lease gate (run/lease.h): a
 * promote waits until the old primary's leases have provably ended. false with why: the
 * step waits (the owner kicks the executor when the picture changes). May be NULL. */
typedef bool (*fo_executor_gate_cb)(struct fo_executor *ex, const struct fo_operation *op,
                                    const struct fo_step *st, char *why, size_t cap);

/* Called on the loop thread when an op_end this executor proposed has committed. */
typedef void (*fo_executor_finished_cb)(struct fo_executor *ex, const struct fo_operation *op);
typedef void (*fo_executor_close_cb)(struct fo_executor *ex);

#define FO_EXECUTOR_SLOTS FO_MAX_STEPS

/* Per-step bookkeeping of the current leader term (never replicated). */
struct fo_executor_slot {
    bool busy;                     /* a proposal or an action is in flight for this step */
    uint64_t not_before_ms;        /* monotonic: no new attempt before (backoff) */
    struct fo_executor_work *work; /* the action in flight, if any */
};

struct fo_executor {
    void *data;                          /* for the owner */
    fo_executor_finished_cb on_finished; /* may be NULL */
    fo_executor_gate_cb gate;            /* may be NULL */
    /* read-only for users: counters for metrics */
    unsigned long long attempts_started, actions_done, actions_failed;
    /* private */
    uv_loop_t *loop;
    struct fo_node *node;
    const struct fo_config *cfg;
    const struct fo_plan *plan;
    struct fo_executor_runner runner;
    uv_timer_t timer;    /* retries after backoff */
    uint64_t generation; /* bumped when the operation, its epoch or the term changes */
    char op_id[FO_NAME_MAX + 1];
    uint64_t op_epoch;
    uint64_t term;
    bool end_pending;
    struct fo_executor_slot slots[FO_EXECUTOR_SLOTS];
    unsigned inflight; /* proposals and works that still point at this executor */
    bool closing;
    fo_executor_close_cb close_cb;
    char gate_why[FO_TEXT_MAX];       /* what the gate last said (logged once) */
    char crash_step[FO_NAME_MAX + 1]; /* FO_FAULT_CRASH: the step, or empty */
    bool crash_after;                 /* after the action (else before it) */
};

/* Set up (no work starts until fo_executor_kick). runner is copied. */
void fo_executor_init(struct fo_executor *ex, uv_loop_t *loop, struct fo_node *node,
                      const struct fo_config *cfg, const struct fo_plan *plan,
                      const struct fo_executor_runner *runner);

/* Look at the FSM and do what is due. Cheap and idempotent: call it after anything that
 * may have changed the picture (an election, a commit, a timer). */
void fo_executor_kick(struct fo_executor *ex);

/* Cancel actions in flight; close_cb runs once none of them or of the executor's
 * proposals can call back any more (proposals end when the node closes). */
void fo_executor_close(struct fo_executor *ex, fo_executor_close_cb close_cb);

/* The operation's timeline as text for notifications and reports: detected, decided,
 * each step's start and duration, the RTO achieved against rto_target_ms. */
void fo_executor_timeline(const struct fo_operation *op, uint64_t rto_target_ms, char *buf,
                          size_t cap);

#endif
