/*
 * coordinator/run/executor.c — see executor.h for the protocol and its safety argument.
 *
 * Generations. Everything the executor starts (a proposal, an action in the thread
 * pool) remembers the generation it was started in. The generation changes when the
 * operation, its epoch or the leader's term changes; a callback from an older
 * generation only releases its memory. That is how a deposed leader's late results
 * never reach the log.
 */
#include "coordinator/run/executor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coordinator/clock.h"
#include "coordinator/log.h"
#include "coordinator/run/action_job.h"

/* A rejected or unknown proposal is retried after this, not in a tight loop. */
#define RETRY_PROPOSAL_MS 500
/* Parameters a step may pass to its action: its own plus a site's. */
#define MAX_PARAMS 64

struct fo_executor_work {
    struct fo_action_job job; /* owns copies of what its request points to: the FSM may
                               * change meanwhile (run/action_job.h) */
    struct fo_executor *ex;
    uint64_t generation;
    uint32_t index;
    bool switchover; /* its fences are required (fo_plan_step_required_in_switchover) */
};

enum prop_what { PROP_RUNNING, PROP_RESULT, PROP_END };

/* A proposal the executor made. Owned by itself: freed in its callback. */
struct ex_prop {
    struct fo_node_propose req;
    struct fo_executor *ex;
    uint64_t generation;
    int what;
    uint32_t index;
    int step_state;          /* PROP_RESULT: the state committed */
    uint64_t retry_after_ms; /* PROP_RESULT failed: the action's hint */
};

static uint64_t wall_ms(void)
{
    return fo_clock_wall_ms(); /* coordinator/clock.h */
}

static void maybe_closed(struct fo_executor *ex);

/* ---- the timeline ------------------------------------------------------------------ */

void fo_executor_timeline(const struct fo_operation *op, uint64_t rto_target_ms, char *buf,
                          size_t cap)
{
    uint64_t t0 = op->detected_ms != 0 ? op->detected_ms : op->started_ms;
    size_t n = 0;
    int k;
    char when[32] = "?";
    time_t secs = (time_t)(t0 / 1000);
    struct tm tm;

#define APPEND(...)                                                                                \
    do {                                                                                           \
        k = snprintf(buf + n, cap - n, __VA_ARGS__);                                               \
        if (k > 0)                                                                                 \
            n += (size_t)k < cap - n ? (size_t)k : cap - n - 1;                                    \
    } while (0)

    if (cap == 0)
        return;
    buf[0] = '\0';
    if (gmtime_r(&secs, &tm) != NULL)
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    APPEND("%s %s -> %s (epoch %llu): %s %s", fo_enum_name(fo_op_kind_names, op->kind), op->from,
           op->to, (unsigned long long)op->epoch, op->detected_ms != 0 ? "detected" : "requested",
           when);
    if (op->detected_ms != 0 && op->started_ms >= t0)
        APPEND("; decided +%.1fs", (double)(op->started_ms - t0) / 1000.0);
    for (size_t i = 0; i < op->nsteps; i++) {
        const struct fo_step *st = &op->steps[i];
        APPEND("; %s %s", st->name, fo_enum_name(fo_step_state_names, st->state));
        if (st->started_ms >= t0 && st->started_ms != 0)
            APPEND(" +%.1fs", (double)(st->started_ms - t0) / 1000.0);
        if (st->ended_ms >= st->started_ms && st->started_ms != 0 && st->ended_ms != 0)
            APPEND(" (%.1fs)", (double)(st->ended_ms - st->started_ms) / 1000.0);
    }
    if (op->ended_ms >= t0 && op->ended_ms != 0)
        APPEND("; RTO %.1fs (target %.0fs)", (double)(op->ended_ms - t0) / 1000.0,
               (double)rto_target_ms / 1000.0);
#undef APPEND
}

/* ---- fault injection (executor.h) ------------------------------------------------ */

static void fault_init(struct fo_executor *ex)
{
    const char *f = getenv("FO_FAULT_CRASH");
    const char *colon = f != NULL ? strchr(f, ':') : NULL;

    if (colon == NULL)
        return;
    ex->crash_after = strncmp(f, "after", (size_t)(colon - f)) == 0;
    snprintf(ex->crash_step, sizeof(ex->crash_step), "%s", colon + 1);
    fo_log_warn("fault.armed", "crash=%s step=%s reason=\"FO_FAULT_CRASH is set: test only\"",
                ex->crash_after ? "after" : "before", ex->crash_step);
}

/* Die like kill -9 when the armed step reaches the armed point on attempt 1. */
static void fault_point(const struct fo_executor *ex, const struct fo_step *st, bool after)
{
    if (ex->crash_step[0] == '\0' || after != ex->crash_after || st->attempts != 1 ||
        strcmp(st->name, ex->crash_step) != 0)
        return;
    fo_log_warn("fault.crash", "step=%s point=%s", st->name, after ? "after" : "before");
    raise(SIGKILL);
}

/* ---- life cycle ------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t)
{
    fo_executor_kick(t->data);
}

void fo_executor_init(struct fo_executor *ex, uv_loop_t *loop, struct fo_node *node,
                      const struct fo_config *cfg, const struct fo_plan *plan,
                      const struct fo_executor_runner *runner)
{
    void *data = ex->data;
    fo_executor_finished_cb finished = ex->on_finished;
    fo_executor_gate_cb gate = ex->gate;

    memset(ex, 0, sizeof(*ex));
    ex->data = data;
    ex->on_finished = finished;
    ex->gate = gate;
    ex->loop = loop;
    ex->node = node;
    ex->cfg = cfg;
    ex->plan = plan;
    ex->runner = *runner;
    uv_timer_init(loop, &ex->timer);
    ex->timer.data = ex;
    fault_init(ex);
}

/* Forget the current term's bookkeeping; cancel actions in flight. */
static void reset(struct fo_executor *ex)
{
    ex->generation++;
    for (size_t i = 0; i < FO_EXECUTOR_SLOTS; i++) {
        if (ex->slots[i].work != NULL)
            atomic_store(&ex->slots[i].work->job.cancel, 1);
    }
    memset(ex->slots, 0, sizeof(ex->slots));
    ex->end_pending = false;
    ex->op_id[0] = '\0';
    ex->op_epoch = 0;
    ex->term = 0;
    uv_timer_stop(&ex->timer);
}

static void timer_closed(uv_handle_t *h)
{
    struct fo_executor *ex = h->data;
    ex->timer.data = NULL;
    maybe_closed(ex);
}

static void maybe_closed(struct fo_executor *ex)
{
    if (ex->closing && ex->inflight == 0 && ex->timer.data == NULL && ex->close_cb != NULL) {
        fo_executor_close_cb cb = ex->close_cb;
        ex->close_cb = NULL;
        cb(ex);
    }
}

void fo_executor_close(struct fo_executor *ex, fo_executor_close_cb close_cb)
{
    ex->closing = true;
    ex->close_cb = close_cb;
    reset(ex);
    uv_close((uv_handle_t *)&ex->timer, timer_closed);
}

/* ---- proposals -------------------------------------------------------------------- */

/* The plan op runs: the configured one, or the built-in one of a rejoin (plan.h). */
static const struct fo_plan *plan_of(const struct fo_executor *ex, const struct fo_operation *op)
{
    return op != NULL && op->kind == FO_OP_REJOIN ? fo_plan_rejoin() : ex->plan;
}

static bool current(const struct fo_executor *ex, uint64_t generation)
{
    return !ex->closing && generation == ex->generation && fo_node_ready(ex->node);
}

static void queue_action(struct fo_executor *ex, uint32_t index);

/* How long to wait before the next attempt of step index, which just failed: the plan's
 * backoff, doubled per attempt made, or the server's Retry-After when that is longer. */
static uint64_t retry_delay(const struct fo_executor *ex, uint32_t index, uint64_t retry_after_ms)
{
    const struct fo_operation *op = fo_node_state(ex->node)->operation;
    const struct fo_plan_step *ps;
    uint64_t delay;

    if (op == NULL || index >= op->nsteps)
        return RETRY_PROPOSAL_MS;
    ps = fo_plan_step_find(plan_of(ex, op), op->steps[index].name);
    delay = ps != NULL ? ps->backoff_ms : 1000;
    for (uint32_t a = 1; a < op->steps[index].attempts && delay < 3600000; a++)
        delay *= 2;
    return retry_after_ms > delay ? retry_after_ms : delay;
}

static void prop_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct ex_prop *p = req->data;
    struct fo_executor *ex = p->ex;
    bool applied = status == 0 && res->outcome == FO_FSM_APPLIED;
    bool cur = current(ex, p->generation);

    ex->inflight--;
    if (!applied && status == 0)
        fo_log_warn("executor.rejected", "op=%s step=%u reason=\"%s\"", ex->op_id, p->index,
                    res->msg);
    if (cur) {
        struct fo_executor_slot *slot = &ex->slots[p->index];
        if (p->what == PROP_END) {
            ex->end_pending = false;
        } else if (p->what == PROP_RUNNING && applied) {
            /* The journal says running, for this operation and epoch, by us: act. */
            queue_action(ex, p->index);
        } else {
            slot->busy = false;
            if (p->what == PROP_RESULT && applied && p->step_state == FO_STEP_FAILED) {
                slot->not_before_ms =
                    uv_now(ex->loop) + retry_delay(ex, p->index, p->retry_after_ms);
            } else if (!applied) {
                slot->not_before_ms = uv_now(ex->loop) + RETRY_PROPOSAL_MS;
            }
        }
        if (p->what == PROP_END && applied && ex->on_finished != NULL) {
            const struct fo_state *st = fo_node_state(ex->node);
            if (st->nhistory > 0)
                ex->on_finished(ex, &st->history[st->nhistory - 1]);
        }
        fo_executor_kick(ex);
    }
    free(p);
    maybe_closed(ex);
}

static int propose(struct fo_executor *ex, int what, uint32_t index, const struct fo_cmd *cmd,
                   int step_state, uint64_t retry_after_ms)
{
    struct ex_prop *p = calloc(1, sizeof(*p));
    int rv;

    if (p == NULL)
        return -1;
    p->ex = ex;
    p->generation = ex->generation;
    p->what = what;
    p->index = index;
    p->step_state = step_state;
    p->retry_after_ms = retry_after_ms;
    p->req.data = p;
    rv = fo_node_propose(ex->node, &p->req, cmd, prop_done);
    if (rv != 0) {
        free(p);
        return -1;
    }
    ex->inflight++;
    return 0;
}

/* outcome: enum fo_step_outcome, which the FSM checks against state (NONE for running). */
static int propose_step(struct fo_executor *ex, uint32_t index, int state, int outcome,
                        uint32_t attempt, const char *error, uint64_t retry_after_ms)
{
    struct fo_cmd cmd = {.type = FO_CMD_STEP};
    char err[FO_TEXT_MAX];

    cmd.u.step.op_id = ex->op_id;
    cmd.u.step.epoch = ex->op_epoch;
    cmd.u.step.index = index;
    cmd.u.step.state = state;
    cmd.u.step.outcome = outcome;
    cmd.u.step.attempt = attempt;
    cmd.u.step.at_ms = wall_ms();
    cmd.u.step.leader = (char *)ex->cfg->self->name;
    if (error != NULL) {
        /* Bounded by the wire limit; a longer detail is cut, not refused. */
        snprintf(err, sizeof(err), "%s", error);
        cmd.u.step.error = err;
    }
    return propose(ex, state == FO_STEP_RUNNING ? PROP_RUNNING : PROP_RESULT, index, &cmd, state,
                   retry_after_ms);
}

/* ---- actions ---------------------------------------------------------------------- */

static void work_free(struct fo_executor_work *w)
{
    fo_action_job_release(&w->job);
    free(w);
}

static void work_done(struct fo_action_job *job, int status)
{
    struct fo_executor_work *w =
        (struct fo_executor_work *)((char *)job - offsetof(struct fo_executor_work, job));
    struct fo_executor *ex = w->ex;
    const char *kind = job->req.kind;
    int state, outcome;
    char error[FO_TEXT_MAX + 16];
    const char *err = NULL;

    ex->inflight--;
    if (w->generation == ex->generation && ex->slots[w->index].work == w)
        ex->slots[w->index].work = NULL;
    if (!current(ex, w->generation) || status != 0) {
        /* Deposed, stopping, or a newer operation: the next leader finds the step
         * running and decides. Our result is dropped on purpose. */
        fo_log_info("executor.dropped", "op=%s step=%u action=%s result=\"%s\"", job->req.op_id,
                    w->index, kind, job->res.detail);
        if (w->generation == ex->generation)
            ex->slots[w->index].busy = false;
        work_free(w);
        maybe_closed(ex);
        return;
    }
    if (fo_node_state(ex->node)->operation != NULL &&
        w->index < fo_node_state(ex->node)->operation->nsteps)
        fault_point(ex, &fo_node_state(ex->node)->operation->steps[w->index], true);
    switch (job->res.status) {
    case FO_ACTION_DONE:
        state = FO_STEP_DONE;
        outcome = FO_STEP_OUTCOME_DONE;
        ex->actions_done++;
        break;
    case FO_ACTION_SKIPPED:
        if (w->switchover && fo_plan_step_required_in_switchover(kind)) {
            /* An old primary we could not fence cannot be drained: no switchover yet; a
             * later attempt may reach it. */
            state = FO_STEP_FAILED;
            outcome = FO_STEP_OUTCOME_FAILED_RETRYABLE;
            char detail[sizeof(job->res.detail)]; /* cut at a character boundary: committed */
            snprintf(detail, sizeof(detail), "%s", job->res.detail);
            fo_utf8_cut(detail, 400);
            snprintf(error, sizeof(error), "switchover needs the fence: %.400s", detail);
            err = error;
            ex->actions_failed++;
            break;
        }
        state = FO_STEP_SKIPPED;
        outcome = FO_STEP_OUTCOME_SKIPPED;
        err = job->res.detail;
        break;
    case FO_ACTION_REFUSED:
        /* The "refused: " in the text is for people; the executor reads the outcome. */
        state = FO_STEP_FAILED;
        outcome = FO_STEP_OUTCOME_REFUSED;
        snprintf(error, sizeof(error), "refused: %s", job->res.detail);
        err = error;
        ex->actions_failed++;
        break;
    default: /* FO_ACTION_FAILED, or a status no action should give: a retry may help */
        state = FO_STEP_FAILED;
        outcome = FO_STEP_OUTCOME_FAILED_RETRYABLE;
        err = job->res.detail[0] != '\0' ? job->res.detail : "failed";
        ex->actions_failed++;
        break;
    }
    fo_log_info("executor.step",
                "op=%s epoch=%llu step=%u action=%s result=%s outcome=%s detail=\"%s\"",
                job->req.op_id, (unsigned long long)job->req.epoch, w->index, kind,
                fo_enum_name(fo_step_state_names, state),
                fo_enum_name(fo_step_outcome_names, outcome), job->res.detail);
    if (propose_step(ex, w->index, state, outcome, 0, err, job->res.retry_after_ms) != 0) {
        ex->slots[w->index].busy = false;
        ex->slots[w->index].not_before_ms = uv_now(ex->loop) + RETRY_PROPOSAL_MS;
    }
    work_free(w);
    fo_executor_kick(ex);
}

/* The step's action needs the parameters of a site (or none). */
static const char *target_site(const struct fo_plan_step *ps, const struct fo_operation *op)
{
    if (ps->target == FO_TARGET_FROM)
        return op->from;
    if (ps->target == FO_TARGET_TO)
        return op->to;
    return NULL;
}

static void queue_action(struct fo_executor *ex, uint32_t index)
{
    const struct fo_operation *op = fo_node_state(ex->node)->operation;
    const struct fo_step *st;
    const struct fo_plan_step *ps;
    struct fo_kv params[MAX_PARAMS];
    struct fo_executor_work *w;
    char msg[256], timeline[FO_TEXT_MAX];
    int n, rv;

    if (op == NULL || strcmp(op->id, ex->op_id) != 0 || index >= op->nsteps) {
        ex->slots[index].busy = false; /* cannot happen while we lead; be safe anyway */
        return;
    }
    st = &op->steps[index];
    ps = fo_plan_step_find(plan_of(ex, op), st->name);
    fault_point(ex, st, false);

    n = ps != NULL
            ? fo_plan_params(ex->cfg, ps, target_site(ps, op), params, MAX_PARAMS, msg, sizeof(msg))
            : FO_PLAN_PARAMS_INVALID;
    if (ps == NULL)
        snprintf(msg, sizeof(msg), "step %s is not in this node's plan", st->name);
    if (n >= 0 && (op->kind == FO_OP_SWITCHOVER || op->kind == FO_OP_REJOIN)) {
        /* What the kind adds to the step's own parameters: a switchover's catch-up
         * source (op->from), a rejoin's primary to replicate from. */
        int m = op->kind == FO_OP_SWITCHOVER
                    ? fo_plan_catch_up_params(ex->cfg, st->action, op->from, params, (size_t)n,
                                              MAX_PARAMS)
                    : fo_plan_rejoin_params(ex->cfg, st->action, op->from, op->to, params,
                                            (size_t)n, MAX_PARAMS);
        if (m < 0) {
            for (int i = 0; i < n; i++) {
                free(params[i].key);
                free(params[i].value);
            }
            snprintf(msg, sizeof(msg), "step %s: too many parameters or out of memory", st->name);
        }
        n = m < 0 ? FO_PLAN_PARAMS_INVALID : m;
    }
    if (n < 0) {
        /* A site without the component (no Redis in this site) has nothing to do; any
         * other parameter problem is the plan's, and retrying cannot fix it. */
        bool nothing = n == FO_PLAN_PARAMS_NO_COMPONENT;
        char err[300];
        snprintf(err, sizeof(err), "%s%s", nothing ? "" : "refused: ", msg);
        if (propose_step(ex, index, nothing ? FO_STEP_SKIPPED : FO_STEP_FAILED,
                         nothing ? FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT : FO_STEP_OUTCOME_REFUSED,
                         0, err, 0) != 0)
            ex->slots[index].busy = false;
        return;
    }
    {
        struct fo_kv *kv = calloc((size_t)n + 1, sizeof(*kv));
        struct fo_action_req req = {0};
        char *event = NULL;
        size_t nkv = 0;

        w = calloc(1, sizeof(*w));
        if (w == NULL || kv == NULL) { /* out of memory: the next kick retries */
            for (int i = 0; i < n; i++) {
                free(params[i].key);
                free(params[i].value);
            }
            free(kv);
            free(w);
            ex->slots[index].busy = false;
            return;
        }
        /* "event" (opened / resolved) is the request's, not a parameter of the action. */
        for (int i = 0; i < n; i++) {
            if (strcmp(params[i].key, "event") == 0 && event == NULL) {
                event = params[i].value;
                free(params[i].key);
            } else {
                kv[nkv++] = params[i];
            }
        }
        fo_executor_timeline(op, plan_of(ex, op)->rto_target_ms, timeline, sizeof(timeline));
        req.kind = st->action;
        req.op_id = op->id;
        /* A drill rehearses the failover that would come next: its check-mode actions see
         * the epoch that one would record. */
        req.epoch = op->kind == FO_OP_DRILL ? op->epoch + 1 : op->epoch;
        req.op_kind = fo_enum_name(fo_op_kind_names, op->kind);
        req.from = op->from;
        req.to = op->to;
        req.reason = op->reason;
        req.event = event;
        req.timeline = timeline;
        req.check_only = op->kind == FO_OP_DRILL;
        req.deadline_ms = fo_action_now_ms() + (ps->timeout_ms > 0 ? ps->timeout_ms : 60000);
        rv = fo_action_job_init(&w->job, &req, kv, nkv);
        free(event);
    }
    w->ex = ex;
    w->generation = ex->generation;
    w->index = index;
    w->switchover = op->kind == FO_OP_SWITCHOVER;
    if (rv != 0 || fo_action_job_queue(&w->job, ex->loop, ex->runner.run, work_done) != 0) {
        work_free(w);
        ex->slots[index].busy = false;
        return;
    }
    ex->inflight++;
    ex->attempts_started++;
    ex->slots[index].work = w;
    fo_log_info("executor.start", "op=%s epoch=%llu step=%u name=%s action=%s attempt=%u%s", op->id,
                (unsigned long long)op->epoch, index, st->name, st->action, st->attempts,
                w->job.req.check_only ? " check_only=1" : "");
}

/* ---- deciding what is due ---------------------------------------------------------- */

enum progress { PASSED, WAITING, ABORT };

static enum progress step_progress(struct fo_executor *ex, const struct fo_operation *op,
                                   uint32_t i, char *why, size_t whycap)
{
    const struct fo_step *st = &op->steps[i];
    const struct fo_plan_step *ps = fo_plan_step_find(plan_of(ex, op), st->name);
    struct fo_executor_slot *slot = &ex->slots[i];
    const struct fo_action_kind *kind;
    uint64_t now = uv_now(ex->loop);

    if (st->state == FO_STEP_DONE || st->state == FO_STEP_SKIPPED)
        return PASSED;
    if (slot->busy)
        return WAITING;
    if (ps == NULL) {
        snprintf(why, whycap, "step %s is not in this node's plan (configs differ?)", st->name);
        return ABORT;
    }
    if (st->state == FO_STEP_FAILED) {
        /* Decided by the typed outcome alone. A failure journalled before format v2 has
         * NONE and counts as retryable: at worst the action refuses again. */
        bool refused = st->outcome == FO_STEP_OUTCOME_REFUSED;
        if (refused || st->attempts >= ps->attempts) {
            if (ps->continue_on_failure &&
                !(op->kind == FO_OP_SWITCHOVER && fo_plan_step_required_in_switchover(st->action)))
                return PASSED;
            snprintf(why, whycap, "step %s failed after %u attempt(s): %s", st->name, st->attempts,
                     st->error != NULL ? st->error : "?");
            return ABORT;
        }
    }
    if (now < slot->not_before_ms)
        return WAITING; /* backoff; the timer kicks us */
    kind = ex->runner.find(st->action);
    if (st->state == FO_STEP_RUNNING && kind != NULL && kind->at_most_once) {
        /* Started by an earlier leader (ours would be busy): it may have been sent. */
        slot->busy = true;
        if (propose_step(ex, i, FO_STEP_SKIPPED, FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED, 0,
                         "outcome unknown after a leader change: not repeated (at most once)",
                         0) != 0)
            slot->busy = false;
        return WAITING;
    }
    if (ex->gate != NULL && !ex->gate(ex, op, st, why, whycap)) {
        /* Logged when the reason changes; the owner kicks us when a lease mark lands. */
        if (strcmp(ex->gate_why, why) != 0) {
            snprintf(ex->gate_why, sizeof(ex->gate_why), "%s", why);
            fo_log_info("executor.gate", "op=%s step=%s waiting=\"%s\"", op->id, st->name, why);
        }
        return WAITING;
    }
    /* pending, failed with attempts left, or running under an earlier leader (every
     * other kind is idempotent, so running it again is safe). */
    slot->busy = true;
    if (propose_step(ex, i, FO_STEP_RUNNING, FO_STEP_OUTCOME_NONE, st->attempts + 1, NULL, 0) !=
        0) {
        slot->busy = false;
        slot->not_before_ms = now + RETRY_PROPOSAL_MS;
    }
    return WAITING;
}

/* The end of the active set starting at i: the run of steps sharing a non-zero group. */
static uint32_t group_end(const struct fo_executor *ex, const struct fo_operation *op, uint32_t i)
{
    const struct fo_plan_step *ps = fo_plan_step_find(plan_of(ex, op), op->steps[i].name);
    uint32_t j = i + 1;

    if (ps == NULL || ps->group == 0)
        return j;
    while (j < op->nsteps) {
        const struct fo_plan_step *next = fo_plan_step_find(plan_of(ex, op), op->steps[j].name);
        if (next == NULL || next->group != ps->group)
            break;
        j++;
    }
    return j;
}

static void propose_end(struct fo_executor *ex, const struct fo_operation *op, bool aborted,
                        const char *why)
{
    struct fo_cmd cmd = {.type = FO_CMD_OP_END};
    char err[FO_TEXT_MAX] = "";

    if (aborted) {
        snprintf(err, sizeof(err), "%s", why);
    } else {
        /* Succeeded, but say which steps failed and were let through. */
        size_t n = 0;
        for (size_t i = 0; i < op->nsteps; i++) {
            if (op->steps[i].state != FO_STEP_FAILED)
                continue;
            int k = snprintf(err + n, sizeof(err) - n, "%s%s", n == 0 ? "continued past: " : ", ",
                             op->steps[i].name);
            if (k > 0 && (size_t)k < sizeof(err) - n)
                n += (size_t)k;
        }
    }
    cmd.u.op_end.op_id = ex->op_id;
    cmd.u.op_end.epoch = ex->op_epoch;
    cmd.u.op_end.result = aborted ? FO_RESULT_FAILED : FO_RESULT_SUCCEEDED;
    cmd.u.op_end.at_ms = wall_ms();
    cmd.u.op_end.error = err[0] != '\0' ? err : NULL;
    if (propose(ex, PROP_END, 0, &cmd, 0, 0) == 0) {
        ex->end_pending = true;
        fo_log_info("executor.end", "op=%s epoch=%llu result=%s%s%s", ex->op_id,
                    (unsigned long long)ex->op_epoch, aborted ? "failed" : "succeeded",
                    err[0] ? " error=" : "", err);
    }
}

static void arm_timer(struct fo_executor *ex)
{
    uint64_t now = uv_now(ex->loop), next = 0;
    for (size_t i = 0; i < FO_EXECUTOR_SLOTS; i++) {
        uint64_t t = ex->slots[i].not_before_ms;
        if (!ex->slots[i].busy && t > now && (next == 0 || t < next))
            next = t;
    }
    if (next != 0)
        uv_timer_start(&ex->timer, on_timer, next - now, 0);
}

void fo_executor_kick(struct fo_executor *ex)
{
    const struct fo_operation *op;
    char why[FO_TEXT_MAX];
    uint32_t i = 0;

    if (ex->closing)
        return;
    op = fo_node_ready(ex->node) ? fo_node_state(ex->node)->operation : NULL;
    if (op == NULL) {
        if (ex->op_id[0] != '\0' || ex->term != 0)
            reset(ex);
        return;
    }
    if (strcmp(op->id, ex->op_id) != 0 || op->epoch != ex->op_epoch ||
        fo_node_term(ex->node) != ex->term) {
        reset(ex);
        snprintf(ex->op_id, sizeof(ex->op_id), "%s", op->id);
        ex->op_epoch = op->epoch;
        ex->term = fo_node_term(ex->node);
        fo_log_info("executor.resume", "op=%s epoch=%llu kind=%s from=%s to=%s steps=%zu", op->id,
                    (unsigned long long)op->epoch, fo_enum_name(fo_op_kind_names, op->kind),
                    op->from, op->to, op->nsteps);
    }
    if (ex->end_pending || op->nsteps > FO_EXECUTOR_SLOTS)
        return;
    while (i < op->nsteps) {
        uint32_t j = group_end(ex, op, i);
        bool passed = true, aborted = false, busy = false;
        for (uint32_t k = i; k < j; k++) {
            enum progress p = step_progress(ex, op, k, why, sizeof(why));
            passed = passed && p == PASSED;
            aborted = aborted || p == ABORT;
            busy = busy || ex->slots[k].busy;
        }
        if (aborted && !busy) {
            propose_end(ex, op, true, why);
            return;
        }
        if (!passed) {
            arm_timer(ex);
            return;
        }
        i = j;
    }
    propose_end(ex, op, false, NULL);
}
