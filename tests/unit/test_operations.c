/*
 * tests/unit/test_operations.c — what a node starts by itself and the operator's
 * operations (coordinator/run/operations.h), driven through fo_ops' narrow handles on a
 * real one-node Raft cluster (tests/common/raft_nodes.h), with real verdicts, a real
 * executor running a scripted action, and a prober that stands in for the probe of the
 * standby's Postgres (its last result is set by the test, nothing connects).
 *
 * What is checked: the automatic decision commits exactly one op_begin when it says
 * FAILOVER (epoch + 1, primary := the target, kind auto) and nothing when the primary is
 * up or the standby's lag is unknown; a pending op_begin stops a second proposal (and
 * answers an operator busy); a cooldown is committed once a failover has finished, never
 * after a drill; the operator's failover, switchover and drill answers: refused with the
 * decision's reason and the hint, --to required, not a site, no quorum, a dry run's
 * JSON body (decision, plan), a drill committed in check mode.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "actions/action.h"
#include "coordinator/clock.h"
#include "coordinator/detect/probe_internal.h" /* to stand in for a probe's result */
#include "coordinator/run/operations.h"
#include "raft_nodes.h"

#define TOKEN "operations-test-token"

/* ---- the scripted action (run in the thread pool) ---------------------------------- */

/* Set by a test: a rejoin's check-mode postgres.rejoin refuses, as for a server that
 * still takes writes. */
static bool refuse_rejoin_check;
/* The rejoin actions that ran for real (not in check mode). */
static int rejoin_runs;

static void fake_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    memset(res, 0, sizeof(*res));
    if (strcmp(req->kind, "postgres.rejoin") == 0 && req->check_only && refuse_rejoin_check) {
        fo_action_set(res, FO_ACTION_REFUSED, "10.0.1.1 is out of recovery and not fenced");
        return;
    }
    if (strstr(req->kind, ".rejoin") != NULL && !req->check_only)
        rejoin_runs++;
    fo_action_set(res, FO_ACTION_DONE, "ok");
}

static const char *const no_params[] = {NULL};
static const struct fo_action_kind k_ok = {
    .name = "test.ok", .run = fake_run, .required = no_params, .optional = no_params};

static const struct fo_action_kind *fake_find(const char *name)
{
    return strcmp(name, k_ok.name) == 0 ? &k_ok : NULL;
}

static const struct fo_executor_runner runner = {fake_run, fake_find};

/* ---- the environment --------------------------------------------------------------- */

/* What an operator request was answered. */
struct answer {
    int n; /* replies: must end up exactly 1 */
    int code;
    char message[FO_TEXT_MAX];
    char body[8192];
};

struct env {
    uv_loop_t loop;
    uv_timer_t poll;
    struct fo_test_nodes nodes;
    struct fo_config cfg;
    struct fo_verdicts verdicts;
    struct fo_executor executor;
    struct fo_lease lease;
    struct fo_prober prober;
    struct fo_ops ops;
    bool (*until)(struct env *e);
    int closed;
    int committed;
};

static void on_poll(uv_timer_t *t)
{
    struct env *e = t->data;
    fo_verdicts_reconcile(&e->verdicts); /* the daemon's housekeeping */
    fo_executor_kick(&e->executor);
    if (e->until != NULL && e->until(e))
        uv_stop(&e->loop);
}

/* Run the loop until cond holds; fail the test after 10 s. */
static bool until_holds(void *ctx)
{
    struct env *e = ctx;
    return e->until(e);
}

static void run_until(struct env *e, bool (*cond)(struct env *))
{
    e->until = cond;
    assert_true(fo_test_run_until(&e->loop, &e->poll, on_poll, until_holds, e, 10000));
    e->until = NULL;
}

static const struct fo_state *state(struct env *e)
{
    return fo_node_state(&e->nodes.node[0]);
}

static bool has_leader(struct env *e)
{
    return fo_test_nodes_leader(&e->nodes) == 0;
}

static bool initialised(struct env *e)
{
    return state(e)->cluster != NULL;
}

static bool settled(struct env *e)
{
    return fo_verdicts_settled(&e->verdicts, "n1");
}

static bool op_begun(struct env *e)
{
    return !e->ops.begin_pending && (state(e)->operation != NULL || state(e)->nhistory > 0);
}

static bool op_over_cooled(struct env *e)
{
    return state(e)->operation == NULL && state(e)->nhistory > 0 &&
           state(e)->cooldown_until_ms != 0;
}

static bool op_over(struct env *e)
{
    return state(e)->operation == NULL && state(e)->nhistory > 0 && !e->ops.cooldown_pending;
}

static void on_region(struct fo_prober *p, const char *region, int status, const char *reason)
{
    (void)p, (void)region, (void)status, (void)reason;
}

static void committed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct env *e = req->data;
    assert_int_equal(status, 0);
    assert_int_equal(res->outcome, FO_FSM_APPLIED);
    e->committed++;
}

static bool one_committed(struct env *e)
{
    return e->committed > 0;
}

/* One node n1 in region r2 (the standby's) observing; main (r1) is the primary, dr (r2)
 * the standby; a one-step plan of the scripted action. start: run the node and commit
 * init. */
static struct env *env_new(bool start)
{
    struct env *e = calloc(1, sizeof(*e));
    char yaml[2048];
    struct fo_error err;
    struct fo_node_propose req = {0};
    struct fo_cmd cmd = {.type = FO_CMD_INIT};
    const struct fo_probe_spec spec = {
        .name = "postgres:dr",
        .kind = FO_PROBE_POSTGRES,
        .region = "r2",
        .interval_ms = 1000,
        .timeout_ms = 500,
        .host = "127.0.0.1",
        .port = 1,
    };

    assert_non_null(e);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, 1, 1000, 100), 0);
    snprintf(yaml, sizeof(yaml),
             "cluster: test\n"
             "node: {name: n1, data_dir: /tmp}\n"
             "peers:\n"
             "  - {name: n1, id: 1, region: r2, raft: %s, admin: 127.0.0.1:1}\n"
             "regions: [r1, r2]\n"
             "initial_primary: main\n"
             "sites:\n"
             "  main:\n"
             "    postgres: {region: r1, host: 10.0.0.1}\n"
             "  dr:\n"
             "    postgres: {region: r2, host: 10.0.1.1}\n"
             "decision: {failover_after_ms: 0}\n"
             "plan:\n"
             "  steps:\n"
             "    - {name: step-one, action: test.ok}\n"
             "tls: {mode: off}\n"
             "admin:\n"
             "  token_file: /nonexistent\n",
             e->nodes.address[0]);
    if (fo_config_load_buffer("ops.yaml", yaml, strlen(yaml), &e->cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    assert_int_equal(fo_verdicts_init(&e->verdicts, &e->loop, &e->nodes.node[0], &e->cfg, TOKEN),
                     0);
    fo_executor_init(&e->executor, &e->loop, &e->nodes.node[0], &e->cfg, &e->cfg.plan, &runner);
    {
        const struct fo_ops_handles h = {&e->loop,  &e->nodes.node[0], &e->cfg, &e->executor,
                                         &e->lease, &e->verdicts,      TOKEN};
        fo_ops_init(&e->ops, &h);
    }
    assert_int_equal(fo_prober_init(&e->prober, &e->loop, &spec, 1, on_region, NULL, &err), 0);
    if (!start)
        return e;
    assert_int_equal(fo_test_nodes_start(&e->nodes, 0), 0);
    run_until(e, has_leader);
    cmd.u.init.cluster = "test";
    cmd.u.init.primary = "main";
    cmd.u.init.at_ms = 1;
    cmd.u.init.format = FO_PROTO_VERSION; /* as the daemon creates a cluster */
    req.data = e;
    assert_int_equal(fo_node_propose(&e->nodes.node[0], &req, &cmd, committed), 0);
    run_until(e, one_committed);
    assert_true(initialised(e));
    return e;
}

/* The standby's probe: a streaming replica lag_bytes behind (as probe_pg.c fills it). */
static void standby_lag(struct env *e, uint64_t lag_bytes)
{
    struct fo_probe_check *c = &e->prober.checks[0];
    c->state.status = FO_STATUS_UP;
    memset(&c->last, 0, sizeof(c->last));
    c->last.ok = true;
    c->last.at_ms = uv_now(&e->loop); /* a fresh result: its age counts into the lag */
    c->last.pg.in_recovery = true;
    c->last.pg.lag_bytes_known = c->last.pg.lag_ms_known = true;
    c->last.pg.lag_bytes = lag_bytes;
    c->last.pg.lag_ms = 10;
    c->last.pg.receiver_streaming = true; /* and it heard from its primary 10 ms ago */
    c->last.pg.received_ago_known = true;
    c->last.pg.received_ago_ms = 10;
    c->has_last = true;
    fo_ops_start(&e->ops, &e->prober);
}

/* This node's verdicts of the two regions, committed. */
static void verdicts(struct env *e, int r1, int r2)
{
    uint64_t now = fo_clock_wall_ms();
    assert_int_equal(fo_verdicts_set(&e->verdicts, "n1", "r1", r1, "test", now), 0);
    assert_int_equal(fo_verdicts_set(&e->verdicts, "n1", "r2", r2, "test", now), 0);
    run_until(e, settled);
}

static void closed_verdicts(struct fo_verdicts *v)
{
    struct env *e = (struct env *)((char *)v - offsetof(struct env, verdicts));
    e->closed++;
}

static void closed_executor(struct fo_executor *ex)
{
    struct env *e = (struct env *)((char *)ex - offsetof(struct env, executor));
    e->closed++;
}

static void closed_lease(uv_handle_t *h)
{
    struct env *e = (struct env *)((char *)h->data - offsetof(struct env, lease));
    e->closed++;
}

static void closed_prober(struct fo_prober *p)
{
    struct env *e = (struct env *)((char *)p - offsetof(struct env, prober));
    e->closed++;
}

static bool all_closed(struct env *e)
{
    return e->closed == 4 && fo_test_nodes_closed(&e->nodes);
}

static void env_free(struct env *e)
{
    fo_ops_close(&e->ops);
    fo_prober_close(&e->prober, closed_prober);
    fo_executor_close(&e->executor, closed_executor);
    fo_lease_close(&e->lease, closed_lease);
    fo_verdicts_close(&e->verdicts, closed_verdicts);
    fo_test_nodes_close_all(&e->nodes);
    run_until(e, all_closed);
    uv_close((uv_handle_t *)&e->poll, NULL);
    while (uv_run(&e->loop, UV_RUN_NOWAIT) != 0)
        ;
    fo_test_nodes_release(&e->nodes);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    fo_config_free(&e->cfg);
    free(e);
}

/* ---- operator answers ---------------------------------------------------------------- */

static void on_answer(void *data, const struct fo_reply *rep)
{
    struct answer *a = data;
    a->n++;
    a->code = rep->code;
    snprintf(a->message, sizeof(a->message), "%s", rep->message != NULL ? rep->message : "");
    snprintf(a->body, sizeof(a->body), "%s", rep->body != NULL ? rep->body : "");
}

static struct answer *answered_slot;
static bool answered(struct env *e)
{
    (void)e;
    return answered_slot->n > 0;
}

/* Wait for the (asynchronous) answer a is to receive. */
static void wait_answer(struct env *e, struct answer *a)
{
    answered_slot = a;
    run_until(e, answered);
    assert_int_equal(a->n, 1);
}

/* ---- the tests ----------------------------------------------------------------------- */

/* The primary's region is DOWN, the standby UP and caught up: one op_begin, at once. */
static void test_auto_failover_commits_one_begin(void **state_)
{
    struct env *e = env_new(true);
    const struct fo_operation *op;
    (void)state_;

    standby_lag(e, 100);
    verdicts(e, FO_STATUS_DOWN, FO_STATUS_UP);
    fo_ops_tick(&e->ops);
    assert_true(e->ops.begin_pending);
    run_until(e, op_begun);
    assert_int_equal(state(e)->epoch, 1);
    assert_string_equal(state(e)->primary, "dr");
    op = state(e)->operation != NULL ? state(e)->operation : &state(e)->history[0];
    assert_int_equal(op->kind, FO_OP_AUTO);
    assert_string_equal(op->from, "main");
    assert_string_equal(op->to, "dr");
    assert_true(op->lag_known);
    assert_int_equal(op->lag_bytes, 100);
    assert_string_equal(op->requested_by, "n1");
    env_free(e);
}

/* Nothing is proposed while the primary is up, nor when the standby's lag is unknown. */
static void test_no_failover_otherwise(void **state_)
{
    struct env *e = env_new(true);
    json_t *why;
    (void)state_;

    /* primary UP */
    standby_lag(e, 100);
    verdicts(e, FO_STATUS_UP, FO_STATUS_UP);
    fo_ops_tick(&e->ops);
    assert_false(e->ops.begin_pending);
    why = fo_ops_explain(&e->ops);
    assert_false(json_is_true(json_object_get(why, "would_fail_over")));
    assert_string_equal(json_string_value(json_object_get(why, "reason")), "primary_not_down");
    json_decref(why);

    /* primary DOWN, but nobody measured the standby's lag: the RPO gate refuses */
    e->prober.checks[0].state.status = FO_STATUS_DOWN;
    verdicts(e, FO_STATUS_DOWN, FO_STATUS_UP);
    fo_ops_tick(&e->ops);
    assert_false(e->ops.begin_pending);
    why = fo_ops_explain(&e->ops);
    assert_string_equal(json_string_value(json_object_get(why, "reason")), "lag_unknown");
    json_decref(why);
    assert_int_equal(state(e)->epoch, 0);
    assert_null(state(e)->operation);
    assert_int_equal(state(e)->nhistory, 0);
    env_free(e);
}

/* A second tick, or an operator, while the op_begin is being committed proposes nothing. */
static void test_begin_pending_blocks_second(void **state_)
{
    struct env *e = env_new(true);
    struct answer busy = {0};
    const struct fo_ops_answer ans = {on_answer, &busy};
    (void)state_;

    standby_lag(e, 100);
    verdicts(e, FO_STATUS_DOWN, FO_STATUS_UP);
    fo_ops_tick(&e->ops);
    assert_true(e->ops.begin_pending);
    fo_ops_tick(&e->ops); /* the FSM still shows no operation: only begin_pending stops it */
    fo_ops_failover(&e->ops, &ans, "dr", true, false, "again", "alice");
    assert_int_equal(busy.n, 1);
    assert_int_equal(busy.code, FO_REPLY_BUSY);
    assert_non_null(strstr(busy.message, "another operation is being committed"));
    run_until(e, op_over);
    /* one operation, one epoch: the second tick proposed nothing */
    assert_int_equal(state(e)->epoch, 1);
    assert_int_equal(state(e)->nhistory, 1);
    env_free(e);
}

/* After a finished failover the leader commits the cooldown; a drill commits none. */
static void test_cooldown_after_failover_not_drill(void **state_)
{
    struct env *e = env_new(true);
    struct answer drill = {0};
    const struct fo_ops_answer ans = {on_answer, &drill};
    uint64_t before = fo_clock_wall_ms();
    (void)state_;

    fo_ops_drill(&e->ops, &ans, NULL, "alice");
    wait_answer(e, &drill);
    assert_int_equal(drill.code, FO_REPLY_OK);
    assert_non_null(strstr(drill.message, "check mode"));
    run_until(e, op_over);
    assert_int_equal(state(e)->history[0].kind, FO_OP_DRILL);
    assert_int_equal(state(e)->epoch, 0); /* a drill moves nothing */
    assert_string_equal(state(e)->primary, "main");
    assert_false(e->ops.cooldown_pending);
    assert_int_equal(state(e)->cooldown_until_ms, 0);

    standby_lag(e, 100);
    verdicts(e, FO_STATUS_DOWN, FO_STATUS_UP);
    fo_ops_tick(&e->ops);
    run_until(e, op_over_cooled);
    assert_int_equal(state(e)->nhistory, 2);
    assert_int_equal(state(e)->history[1].result, FO_RESULT_SUCCEEDED);
    /* cooldown_ms (default 600000) from when it finished */
    assert_true(state(e)->cooldown_until_ms >= before + e->cfg.decision.cooldown_ms);
    env_free(e);
}

/* The operator's refusals: each says why, and the hint that fits the verb. */
static void test_operator_refusals(void **state_)
{
    struct env *e = env_new(true);
    struct answer a = {0};
    const struct fo_ops_answer ans = {on_answer, &a};
    (void)state_;

    fo_ops_failover(&e->ops, &ans, NULL, false, false, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_BAD_REQUEST);
    assert_string_equal(a.message, "failover: --to SITE is required");

    /* nobody has seen the standby healthy yet: the health gate */
    memset(&a, 0, sizeof(a));
    fo_ops_failover(&e->ops, &ans, "dr", false, false, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "dr is seen healthy by 0 of 1 observers"));
    assert_non_null(strstr(a.message, "(--force overrides the health and RPO gates)"));

    /* healthy, but its lag is unknown (no probe): the RPO gate */
    verdicts(e, FO_STATUS_UP, FO_STATUS_UP);
    memset(&a, 0, sizeof(a));
    fo_ops_failover(&e->ops, &ans, "dr", false, false, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "replication lag is unknown"));
    assert_non_null(strstr(a.message, "(--force overrides the health and RPO gates)"));

    memset(&a, 0, sizeof(a));
    fo_ops_switchover(&e->ops, &ans, "dr", false, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "a switchover never loses data"));

    memset(&a, 0, sizeof(a));
    fo_ops_drill(&e->ops, &ans, "nowhere", "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_BAD_REQUEST);
    assert_non_null(strstr(a.message, "'nowhere' is not a site"));

    assert_false(e->ops.begin_pending);
    assert_int_equal(state(e)->epoch, 0);
    env_free(e);
}

/* failoverctl rejoin: refused for a missing, unknown or primary site; refused with the
 * check's own words when a server still takes writes (nothing committed); else an
 * operation of kind rejoin in the current epoch that runs the built-in plan, moves
 * nothing and commits no cooldown; refused while it is in flight. */
static void test_rejoin(void **state_)
{
    struct env *e = env_new(true);
    struct answer a = {0};
    const struct fo_ops_answer ans = {on_answer, &a};
    const struct fo_operation *op;
    (void)state_;

    fo_ops_rejoin(&e->ops, &ans, NULL, NULL, "alice");
    assert_int_equal(a.code, FO_REPLY_BAD_REQUEST);
    memset(&a, 0, sizeof(a));
    fo_ops_rejoin(&e->ops, &ans, "nowhere", NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "'nowhere' is not a site"));
    memset(&a, 0, sizeof(a));
    fo_ops_rejoin(&e->ops, &ans, "main", NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "main is the primary"));

    /* The servers' own answer, asked before anything is committed. */
    refuse_rejoin_check = true;
    memset(&a, 0, sizeof(a));
    fo_ops_rejoin(&e->ops, &ans, "dr", "back", "alice");
    wait_answer(e, &a);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_string_equal(a.message,
                        "rejoin dr refused: rejoin-postgres: 10.0.1.1 is out of recovery and not "
                        "fenced");
    assert_null(state(e)->operation);
    assert_int_equal(state(e)->nhistory, 0);
    assert_false(e->ops.rejoin_checking);

    refuse_rejoin_check = false;
    rejoin_runs = 0;
    memset(&a, 0, sizeof(a));
    fo_ops_rejoin(&e->ops, &ans, "dr", "back", "alice");
    wait_answer(e, &a);
    assert_int_equal(a.code, FO_REPLY_OK);
    assert_non_null(strstr(a.message, "dr is re-seeded as a standby of main"));
    op = state(e)->operation;
    assert_non_null(op);
    assert_int_equal(op->kind, FO_OP_REJOIN);
    assert_string_equal(op->from, "main");
    assert_string_equal(op->to, "dr");
    assert_int_equal(op->epoch, 0);
    assert_int_equal(op->nsteps, 2);
    assert_string_equal(op->steps[0].action, "redis.rejoin");
    assert_string_equal(op->steps[1].action, "postgres.rejoin");
    assert_string_equal(op->reason, "rejoin: back");

    memset(&a, 0, sizeof(a));
    fo_ops_rejoin(&e->ops, &ans, "dr", NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_REFUSED);
    assert_non_null(strstr(a.message, "is in flight"));

    run_until(e, op_over);
    op = &state(e)->history[state(e)->nhistory - 1];
    assert_int_equal(op->kind, FO_OP_REJOIN);
    assert_int_equal(op->result, FO_RESULT_SUCCEEDED);
    /* dr has no Redis: that step had nothing to do; Postgres' ran for real, once. */
    assert_int_equal(op->steps[0].state, FO_STEP_SKIPPED);
    assert_int_equal(op->steps[0].outcome, FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT);
    assert_int_equal(op->steps[1].state, FO_STEP_DONE);
    assert_int_equal(rejoin_runs, 1);
    assert_string_equal(state(e)->primary, "main");
    assert_int_equal(state(e)->epoch, 0);
    assert_int_equal(state(e)->cooldown_until_ms, 0);
    env_free(e);
}

/* A dry run answers what would happen, with the plan, and commits nothing. */
static void test_dry_run_body(void **state_)
{
    struct env *e = env_new(true);
    struct answer a = {0};
    const struct fo_ops_answer ans = {on_answer, &a};
    json_t *doc, *plan;
    json_error_t jerr;
    (void)state_;

    fo_ops_failover(&e->ops, &ans, "dr", true, true, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_OK);
    doc = json_loads(a.body, 0, &jerr);
    assert_non_null(doc);
    assert_true(json_is_true(json_object_get(doc, "dry_run")));
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "failover");
    assert_true(json_is_true(json_object_get(doc, "would_fail_over"))); /* forced */
    assert_string_equal(json_string_value(json_object_get(doc, "from")), "main");
    assert_string_equal(json_string_value(json_object_get(doc, "to")), "dr");
    assert_int_equal(json_integer_value(json_object_get(doc, "epoch")), 1);
    plan = json_object_get(doc, "plan");
    assert_int_equal(json_array_size(plan), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(plan, 0), "name")),
                        "step-one");
    assert_non_null(json_object_get(doc, "decision"));
    json_decref(doc);
    assert_false(e->ops.begin_pending);
    assert_int_equal(state(e)->epoch, 0);
    env_free(e);
}

/* A manual forced failover commits and answers once the op_begin is in the log. */
static void test_manual_failover_committed(void **state_)
{
    struct env *e = env_new(true);
    struct answer a = {0};
    const struct fo_ops_answer ans = {on_answer, &a};
    (void)state_;

    fo_ops_failover(&e->ops, &ans, "dr", true, false, "maintenance", "alice");
    assert_int_equal(a.n, 0); /* answered at the commit, not before */
    wait_answer(e, &a);
    assert_int_equal(a.code, FO_REPLY_OK);
    assert_non_null(strstr(a.message, "dr is now the decided primary"));
    assert_int_equal(state(e)->epoch, 1);
    run_until(e, op_over);
    assert_int_equal(state(e)->history[0].kind, FO_OP_MANUAL);
    assert_string_equal(state(e)->history[0].requested_by, "alice");
    assert_non_null(strstr(state(e)->history[0].reason, "manual (forced): maintenance"));
    env_free(e);
}

/* A node that is not a ready leader and knows none: no_quorum, nothing proposed. */
static void test_no_leader(void **state_)
{
    struct env *e = env_new(false);
    struct answer a = {0};
    const struct fo_ops_answer ans = {on_answer, &a};
    (void)state_;

    fo_ops_failover(&e->ops, &ans, "dr", true, false, NULL, "alice");
    assert_int_equal(a.n, 1);
    assert_int_equal(a.code, FO_REPLY_NO_QUORUM);
    assert_string_equal(a.message, "no leader known to n1: no quorum reachable");
    memset(&a, 0, sizeof(a));
    fo_ops_drill(&e->ops, &ans, NULL, "alice");
    assert_int_equal(a.code, FO_REPLY_NO_QUORUM);
    fo_ops_tick(&e->ops);
    assert_false(e->ops.begin_pending);
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_auto_failover_commits_one_begin),
        cmocka_unit_test(test_no_failover_otherwise),
        cmocka_unit_test(test_begin_pending_blocks_second),
        cmocka_unit_test(test_cooldown_after_failover_not_drill),
        cmocka_unit_test(test_operator_refusals),
        cmocka_unit_test(test_dry_run_body),
        cmocka_unit_test(test_rejoin),
        cmocka_unit_test(test_manual_failover_committed),
        cmocka_unit_test(test_no_leader),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
