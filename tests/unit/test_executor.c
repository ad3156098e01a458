/*
 * tests/unit/test_executor.c — the plan executor on a real one-node Raft cluster
 * (raft_uv in a temporary directory: a single voter elects itself at once), with a
 * scripted action runner in place of the real actions.
 *
 * What is checked: steps run in order and each transition is committed, with its typed
 * outcome; retries with backoff; REFUSED is not retried and aborts, decided by the outcome
 * and never by the error text; on_failure: continue; a step left running
 * by an earlier leader is re-run (idempotent kinds) or skipped (at-most-once kinds);
 * drills run in check mode; a parallel group runs together; a site without the
 * component skips the step; a leader deposed mid-action (two real voters, the follower
 * goes away, the leader steps down) cancels the action, commits nothing more and starts
 * no later step; closing cancels likewise; the parameters merged from the target site;
 * the timeline text.
 */
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/run/executor.h"
#include "raft_nodes.h"

/* ---- the scripted runner (called on thread-pool threads) ------------------------- */

#define MAX_CALLS 64

struct call {
    char kind[32];
    char params[512];
    bool check_only;
    bool cancelled;
};

/* Test-only shared state between the loop thread and the thread pool. */
static struct {
    pthread_mutex_t mu;
    struct call calls[MAX_CALLS];
    int ncalls;
    int flaky_failures; /* test.flaky fails this many times, then succeeds */
    int running, max_running;
    int hold_ms; /* test.slow holds this long (or until cancelled) */
} R = {.mu = PTHREAD_MUTEX_INITIALIZER};

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void fake_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct call *c = NULL;

    pthread_mutex_lock(&R.mu);
    if (R.ncalls < MAX_CALLS)
        c = &R.calls[R.ncalls++];
    R.running++;
    if (R.running > R.max_running)
        R.max_running = R.running;
    pthread_mutex_unlock(&R.mu);
    if (c != NULL) {
        size_t n = 0;
        snprintf(c->kind, sizeof(c->kind), "%s", req->kind);
        c->check_only = req->check_only;
        for (size_t i = 0; i < req->nparams; i++) {
            int k = snprintf(c->params + n, sizeof(c->params) - n, "%s=%s;", req->params[i].key,
                             req->params[i].value);
            if (k > 0 && (size_t)k < sizeof(c->params) - n)
                n += (size_t)k;
        }
    }
    memset(res, 0, sizeof(*res));
    if (strcmp(req->kind, "test.flaky") == 0) {
        pthread_mutex_lock(&R.mu);
        bool fail = R.flaky_failures-- > 0;
        pthread_mutex_unlock(&R.mu);
        fo_action_set(res, fail ? FO_ACTION_FAILED : FO_ACTION_DONE, fail ? "try again" : "ok");
    } else if (strcmp(req->kind, "test.refuse") == 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "a newer epoch (9) already promoted the target");
    } else if (strcmp(req->kind, "test.textrefused") == 0) {
        fo_action_set(res, FO_ACTION_FAILED, "refused: by the text only, a plain failure");
    } else if (strcmp(req->kind, "test.fail") == 0) {
        fo_action_set(res, FO_ACTION_FAILED, "connection refused");
    } else if (strcmp(req->kind, "test.par") == 0) {
        /* Wait (bounded) until the other member of the group runs too. */
        for (int i = 0; i < 200; i++) {
            pthread_mutex_lock(&R.mu);
            int both = R.max_running >= 2;
            pthread_mutex_unlock(&R.mu);
            if (both)
                break;
            sleep_ms(5);
        }
        fo_action_set(res, FO_ACTION_DONE, "ok");
    } else if (strcmp(req->kind, "test.slow") == 0) {
        for (int i = 0; i < R.hold_ms / 5 && !fo_action_cancelled(req); i++)
            sleep_ms(5);
        if (c != NULL)
            c->cancelled = fo_action_cancelled(req);
        fo_action_set(res, FO_ACTION_DONE, "late");
    } else {
        fo_action_set(res, FO_ACTION_DONE, "ok");
    }
    pthread_mutex_lock(&R.mu);
    R.running--;
    pthread_mutex_unlock(&R.mu);
}

static const char *const no_params[] = {NULL};
static const char *const any_params[] = {"event", "host",          "port",    "dbname",
                                         "user",  "password_file", "content", NULL};
#define KIND(var, nm, once)                                                                        \
    static const struct fo_action_kind var = {.name = nm,                                          \
                                              .run = fake_run,                                     \
                                              .required = no_params,                               \
                                              .optional = any_params,                              \
                                              .at_most_once = once}
KIND(k_ok, "test.ok", false);
KIND(k_flaky, "test.flaky", false);
KIND(k_refuse, "test.refuse", false);
KIND(k_fail, "test.fail", false);
KIND(k_textrefused, "test.textrefused", false);
KIND(k_once, "test.once", true);
KIND(k_par, "test.par", false);
KIND(k_slow, "test.slow", false);
KIND(k_pg, "postgres.promote", false);
KIND(k_redis, "redis.promote", false);

static const struct fo_action_kind *fake_find(const char *name)
{
    static const struct fo_action_kind *const all[] = {&k_ok,          &k_flaky, &k_refuse, &k_fail,
                                                       &k_textrefused, &k_once,  &k_par,    &k_slow,
                                                       &k_pg,          &k_redis};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
}

static const struct fo_executor_runner runner = {fake_run, fake_find};

/* ---- a one-node cluster ------------------------------------------------------------ */

struct env {
    char dir[64];
    uv_loop_t loop;
    struct fo_config cfg;
    struct fo_plan plan;
    struct fo_node node;
    struct fo_test_nodes nodes; /* the two-voter tests: instead of node */
    struct fo_node *lead;       /* the executor's node: &node or one of nodes */
    struct fo_executor ex;
    uv_timer_t poll;
    bool (*until)(struct env *e);
    bool housekeeping;   /* kick the executor on every poll, as the daemon's timer does */
    unsigned long kicks; /* housekeeping kicks so far */
    int finished;        /* on_finished calls */
    int closed;
    int committed; /* the test's own proposals that committed and applied */
};

static const char config_yaml[] =
    "cluster: test\n"
    "node: {name: solo, data_dir: /tmp}\n"
    "peers:\n"
    "  - {name: solo, id: 1, region: r1, raft: 127.0.0.1:%u, admin: 127.0.0.1:1}\n"
    "regions: [r1, r2]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main:\n"
    "    postgres: {region: r1, host: 10.0.0.1, port: 5432, dbname: app, user: fo}\n"
    "    redis: {region: r1, host: 10.0.0.2}\n"
    "  dr:\n"
    "    postgres: {region: r2, host: 10.0.1.1, port: 5433, dbname: app, user: fo,\n"
    "               password_file: /etc/fo/pg-dr}\n"
    "    vercel_env:\n"
    "      DATABASE_URL: {file: /etc/fo/db-url-dr}\n"
    "      REDIS_HOST: 10.0.1.2\n"
    "    dns_origin: 203.0.113.20\n"
    "tls: {mode: off}\n"
    "admin:\n"
    "  token_file: /nonexistent\n";

static void add_step(struct env *e, const char *name, const char *action, int target,
                     uint32_t attempts, bool cont, uint32_t group)
{
    struct fo_plan_step *st;
    e->plan.steps = realloc(e->plan.steps, (e->plan.nsteps + 1) * sizeof(*st));
    st = &e->plan.steps[e->plan.nsteps++];
    memset(st, 0, sizeof(*st));
    st->name = strdup(name);
    st->action = strdup(action);
    st->target = target;
    st->timeout_ms = 5000;
    st->attempts = attempts;
    st->backoff_ms = 10;
    st->continue_on_failure = cont;
    st->group = group;
}

static void on_poll(uv_timer_t *t)
{
    struct env *e = t->data;
    if (e->housekeeping) {
        /* The daemon kicks its executor from a housekeeping timer: that is how it notices
         * that its node is no longer a ready leader. */
        e->kicks++;
        fo_executor_kick(&e->ex);
    }
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

static bool is_ready(struct env *e)
{
    return fo_node_ready(&e->node);
}

static bool op_over(struct env *e)
{
    return fo_node_state(e->lead)->operation == NULL && fo_node_state(e->lead)->nhistory > 0 &&
           e->finished > 0;
}

static void finished(struct fo_executor *ex, const struct fo_operation *op)
{
    struct env *e = ex->data;
    (void)op;
    e->finished++;
}

static struct env *env_new(void)
{
    struct env *e = calloc(1, sizeof(*e));
    struct fo_error err;
    char yaml[2048];
    unsigned port = fo_test_free_port(); /* build trees run their unit tests at once */

    snprintf(e->dir, sizeof(e->dir), "/tmp/fo-exec-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    assert_int_not_equal(port, 0);
    snprintf(yaml, sizeof(yaml), config_yaml, port);
    assert_int_equal(fo_config_load_buffer("exec.yaml", yaml, strlen(yaml), &e->cfg, &err), 0);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    memset(&R.calls, 0, sizeof(R.calls));
    R.ncalls = 0;
    R.flaky_failures = 0;
    R.running = R.max_running = 0;
    R.hold_ms = 0;
    return e;
}

/* Start the node and the executor, commit init, then an operation over the plan. */
static void env_start(struct env *e, int kind, void (*before)(struct env *))
{
    struct fo_node_peer peer = {1, e->cfg.self->raft};
    char raftdir[128];
    struct fo_node_config nc = {.id = 1,
                                .address = e->cfg.self->raft,
                                .peers = &peer,
                                .npeers = 1,
                                .election_timeout_ms = 1000,
                                .heartbeat_ms = 100,
                                .snapshot_threshold = 512,
                                .snapshot_trailing = 512,
                                .connect_retry_ms = 250};
    struct fo_error err;
    struct fo_cmd cmd;
    struct fo_step_spec specs[16];

    snprintf(raftdir, sizeof(raftdir), "%s/raft", e->dir);
    nc.dir = raftdir;
    assert_int_equal(fo_node_init(&e->node, &e->loop, &nc, &err), 0);
    assert_int_equal(fo_node_bootstrap(&e->node, &nc, &err), 0);
    assert_int_equal(fo_node_start(&e->node, &err), 0);
    e->lead = &e->node;
    run_until(e, is_ready);

    memset(&cmd, 0, sizeof(cmd));
    cmd.type = FO_CMD_INIT;
    cmd.u.init.cluster = "test";
    cmd.u.init.primary = "main";
    cmd.u.init.at_ms = 1;
    fo_fsm_apply(&e->node.fsm.fsm, &cmd); /* a one-node log: applying locally is enough */

    memset(&cmd, 0, sizeof(cmd));
    cmd.type = FO_CMD_OP_BEGIN;
    cmd.u.op_begin.id = "op-1";
    cmd.u.op_begin.kind = kind;
    cmd.u.op_begin.from = "main";
    cmd.u.op_begin.to = kind == FO_OP_DRILL ? "main" : "dr";
    cmd.u.op_begin.reason = "test";
    cmd.u.op_begin.requested_by = "test";
    cmd.u.op_begin.epoch = kind == FO_OP_DRILL ? 0 : 1;
    cmd.u.op_begin.at_ms = 1000;
    cmd.u.op_begin.detected_ms = 900;
    for (size_t i = 0; i < e->plan.nsteps; i++) {
        specs[i].name = e->plan.steps[i].name;
        specs[i].action = e->plan.steps[i].action;
    }
    cmd.u.op_begin.steps = specs;
    cmd.u.op_begin.nsteps = e->plan.nsteps;
    fo_fsm_apply(&e->node.fsm.fsm, &cmd);
    assert_int_equal(e->node.fsm.fsm.last.outcome, FO_FSM_APPLIED);
    if (before != NULL)
        before(e);
    e->ex.data = e;
    e->ex.on_finished = finished;
    fo_executor_init(&e->ex, &e->loop, &e->node, &e->cfg, &e->plan, &runner);
    fo_executor_kick(&e->ex);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void closed_node(struct fo_node *n)
{
    struct env *e = (struct env *)((char *)n - offsetof(struct env, node));
    e->closed++;
}

static void closed_ex(struct fo_executor *ex)
{
    struct env *e = ex->data;
    e->closed++;
}

static bool all_closed(struct env *e)
{
    return e->closed == 2;
}

static void env_free(struct env *e)
{
    fo_executor_close(&e->ex, closed_ex);
    fo_node_close(&e->node, closed_node);
    run_until(e, all_closed);
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    fo_node_release(&e->node);
    fo_plan_free(&e->plan);
    fo_config_free(&e->cfg);
    nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
}

static const struct fo_operation *last_op(struct env *e)
{
    const struct fo_state *st = fo_node_state(e->lead);
    return &st->history[st->nhistory - 1];
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_runs_plan_in_order(void **state)
{
    struct env *e = env_new();
    const struct fo_operation *op;
    (void)state;
    add_step(e, "notify", "test.ok", FO_TARGET_NONE, 1, false, 0);
    add_step(e, "promote-postgres", "postgres.promote", FO_TARGET_TO, 3, false, 0);
    add_step(e, "last", "test.ok", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    op = last_op(e);
    assert_int_equal(op->result, FO_RESULT_SUCCEEDED);
    assert_null(op->error);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(op->steps[i].state, FO_STEP_DONE);
        assert_int_equal(op->steps[i].outcome, FO_STEP_OUTCOME_DONE);
        assert_int_equal(op->steps[i].attempts, 1);
        assert_string_equal(op->steps[i].leader, "solo");
        assert_true(op->steps[i].ended_ms >= op->steps[i].started_ms);
    }
    assert_int_equal(R.ncalls, 3);
    assert_string_equal(R.calls[0].kind, "test.ok");
    assert_string_equal(R.calls[1].kind, "postgres.promote");
    /* the target site's Postgres, from the config */
    assert_non_null(strstr(R.calls[1].params, "host=10.0.1.1;"));
    assert_non_null(strstr(R.calls[1].params, "port=5433;"));
    assert_non_null(strstr(R.calls[1].params, "password_file=/etc/fo/pg-dr;"));
    assert_false(R.calls[1].check_only);
    assert_int_equal(e->finished, 1);
    env_free(e);
}

static void test_retries_with_backoff(void **state)
{
    struct env *e = env_new();
    (void)state;
    R.flaky_failures = 2;
    add_step(e, "flaky", "test.flaky", FO_TARGET_NONE, 3, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_SUCCEEDED);
    assert_int_equal(last_op(e)->steps[0].state, FO_STEP_DONE);
    assert_int_equal(last_op(e)->steps[0].attempts, 3);
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_DONE);
    assert_null(last_op(e)->steps[0].error); /* success clears the last error */
    assert_int_equal(R.ncalls, 3);
    env_free(e);
}

static void test_refused_is_not_retried_and_aborts(void **state)
{
    struct env *e = env_new();
    const struct fo_operation *op;
    (void)state;
    add_step(e, "promote", "test.refuse", FO_TARGET_NONE, 5, false, 0);
    add_step(e, "after", "test.ok", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    op = last_op(e);
    assert_int_equal(op->result, FO_RESULT_FAILED);
    assert_int_equal(op->steps[0].state, FO_STEP_FAILED);
    assert_int_equal(op->steps[0].attempts, 1);
    assert_int_equal(op->steps[0].outcome, FO_STEP_OUTCOME_REFUSED);
    assert_non_null(strstr(op->steps[0].error, "refused: a newer epoch"));
    assert_non_null(strstr(op->error, "step promote failed"));
    assert_int_equal(op->steps[1].state, FO_STEP_PENDING); /* never started */
    assert_int_equal(R.ncalls, 1);
    env_free(e);
}

static void test_failure_exhausts_attempts_then_aborts(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "dns", "test.fail", FO_TARGET_NONE, 2, false, 0);
    env_start(e, FO_OP_MANUAL, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_FAILED);
    assert_int_equal(last_op(e)->steps[0].attempts, 2);
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_FAILED_RETRYABLE);
    assert_string_equal(last_op(e)->steps[0].error, "connection refused");
    assert_int_equal(R.ncalls, 2);
    env_free(e);
}

static void test_continue_on_failure(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "fence-old", "test.fail", FO_TARGET_NONE, 1, true, 0);
    add_step(e, "promote", "test.ok", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_SUCCEEDED);
    assert_string_equal(last_op(e)->error, "continued past: fence-old");
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_FAILED_RETRYABLE);
    assert_int_equal(last_op(e)->steps[1].state, FO_STEP_DONE);
    env_free(e);
}

/* An earlier leader left both steps running: the idempotent one is run again, the
 * at-most-once one is skipped without being sent. */
static void leave_running(struct env *e)
{
    for (uint32_t i = 0; i < 2; i++) {
        struct fo_cmd cmd = {.type = FO_CMD_STEP};
        cmd.u.step.op_id = "op-1";
        cmd.u.step.epoch = 1;
        cmd.u.step.index = i;
        cmd.u.step.state = FO_STEP_RUNNING;
        cmd.u.step.attempt = 1;
        cmd.u.step.at_ms = 1100;
        cmd.u.step.leader = "old-leader";
        fo_fsm_apply(&e->node.fsm.fsm, &cmd);
        assert_int_equal(e->node.fsm.fsm.last.outcome, FO_FSM_APPLIED);
    }
}

static void test_resumes_after_leader_change(void **state)
{
    struct env *e = env_new();
    const struct fo_operation *op;
    (void)state;
    add_step(e, "promote", "test.ok", FO_TARGET_NONE, 3, false, 0);
    add_step(e, "slack", "test.once", FO_TARGET_NONE, 3, false, 0);
    env_start(e, FO_OP_AUTO, leave_running);
    run_until(e, op_over);
    op = last_op(e);
    assert_int_equal(op->result, FO_RESULT_SUCCEEDED);
    assert_int_equal(op->steps[0].state, FO_STEP_DONE);
    assert_int_equal(op->steps[0].attempts, 2);
    assert_string_equal(op->steps[0].leader, "solo");
    assert_int_equal(op->steps[1].state, FO_STEP_SKIPPED);
    assert_int_equal(op->steps[1].outcome, FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED);
    assert_non_null(strstr(op->steps[1].error, "not repeated"));
    assert_int_equal(R.ncalls, 1); /* the Slack message was not sent again */
    env_free(e);
}

static void test_drill_is_check_only(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "promote-postgres", "postgres.promote", FO_TARGET_TO, 1, false, 0);
    add_step(e, "notify", "test.ok", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_DRILL, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_SUCCEEDED);
    assert_int_equal(R.ncalls, 2);
    assert_true(R.calls[0].check_only);
    assert_true(R.calls[1].check_only);
    assert_string_equal(fo_node_state(&e->node)->primary, "main"); /* a drill moves nothing */
    assert_int_equal(fo_node_state(&e->node)->epoch, 0);
    env_free(e);
}

static void test_parallel_group(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "dns", "test.par", FO_TARGET_NONE, 1, false, 7);
    add_step(e, "vercel", "test.par", FO_TARGET_NONE, 1, false, 7);
    add_step(e, "after", "test.ok", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_SUCCEEDED);
    assert_int_equal(R.max_running, 2);
    assert_string_equal(R.calls[2].kind, "test.ok"); /* only after both */
    env_free(e);
}

static void test_site_without_component_skips(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "promote-redis", "redis.promote", FO_TARGET_TO, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_SUCCEEDED);
    assert_int_equal(last_op(e)->steps[0].state, FO_STEP_SKIPPED);
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT);
    assert_string_equal(last_op(e)->steps[0].error, "site dr has no redis");
    assert_int_equal(R.ncalls, 0);
    env_free(e);
}

/* Parameters the plan cannot give (here: more than an action may take) are the plan's
 * problem: refused, typed, never run, never retried. */
static void test_unfillable_params_are_refused(void **state)
{
    struct env *e = env_new();
    struct fo_plan_step *st;
    (void)state;
    add_step(e, "promote-postgres", "postgres.promote", FO_TARGET_TO, 3, false, 0);
    st = &e->plan.steps[0];
    st->params = calloc(64, sizeof(*st->params));
    assert_non_null(st->params);
    for (st->nparams = 0; st->nparams < 64; st->nparams++) {
        char key[16];
        snprintf(key, sizeof(key), "k%zu", st->nparams);
        st->params[st->nparams].key = strdup(key);
        st->params[st->nparams].value = strdup("v");
    }
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_FAILED);
    assert_int_equal(last_op(e)->steps[0].state, FO_STEP_FAILED);
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_REFUSED);
    assert_int_equal(last_op(e)->steps[0].attempts, 1);
    assert_int_equal(R.ncalls, 0);
    env_free(e);
}

/* The journal's outcome decides, never the text: a plain failure whose detail happens to
 * read "refused: ..." is retried... */
static void test_retry_decided_by_outcome_not_text(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "dns", "test.textrefused", FO_TARGET_NONE, 2, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_FAILED);
    assert_int_equal(last_op(e)->steps[0].outcome, FO_STEP_OUTCOME_FAILED_RETRYABLE);
    assert_int_equal(last_op(e)->steps[0].attempts, 2);
    assert_int_equal(R.ncalls, 2);
    env_free(e);
}

/* ...and a REFUSED step whose text says nothing of the kind is not. */
static void leave_refused(struct env *e)
{
    static const int states[] = {FO_STEP_RUNNING, FO_STEP_FAILED};
    for (size_t i = 0; i < 2; i++) {
        struct fo_cmd cmd = {.type = FO_CMD_STEP};
        cmd.u.step.op_id = "op-1";
        cmd.u.step.epoch = 1;
        cmd.u.step.state = states[i];
        cmd.u.step.outcome = i == 1 ? FO_STEP_OUTCOME_REFUSED : FO_STEP_OUTCOME_NONE;
        cmd.u.step.attempt = 1;
        cmd.u.step.at_ms = 1100;
        cmd.u.step.error = i == 1 ? "a newer epoch owns the target" : NULL;
        fo_fsm_apply(&e->node.fsm.fsm, &cmd);
        assert_int_equal(e->node.fsm.fsm.last.outcome, FO_FSM_APPLIED);
    }
}

static void test_refused_outcome_without_text_is_not_retried(void **state)
{
    struct env *e = env_new();
    (void)state;
    add_step(e, "promote", "test.ok", FO_TARGET_NONE, 3, false, 0);
    env_start(e, FO_OP_AUTO, leave_refused);
    run_until(e, op_over);
    assert_int_equal(last_op(e)->result, FO_RESULT_FAILED);
    assert_int_equal(last_op(e)->steps[0].attempts, 1);
    assert_non_null(strstr(last_op(e)->error, "a newer epoch owns the target"));
    assert_int_equal(R.ncalls, 0);
    env_free(e);
}

static bool action_started(struct env *e)
{
    pthread_mutex_lock(&R.mu);
    bool started = R.running > 0;
    pthread_mutex_unlock(&R.mu);
    (void)e;
    return started;
}

/* ---- a leader deposed: two real voters, the follower goes away ---------------------- */

static bool has_leader(struct env *e)
{
    return fo_test_nodes_leader(&e->nodes) >= 0;
}

static void committed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct env *e = req->data;
    assert_int_equal(status, 0);
    assert_int_equal(res->outcome, FO_FSM_APPLIED);
    e->committed++;
}

static bool two_committed(struct env *e)
{
    return e->committed == 2;
}

/* Commit init and an operation over the plan through Raft (both voters apply them),
 * then start the executor on the leader. */
static void duo_start(struct env *e)
{
    struct fo_node_propose init_req = {.data = e}, begin_req = {.data = e};
    struct fo_cmd init = {.type = FO_CMD_INIT}, begin = {.type = FO_CMD_OP_BEGIN};
    struct fo_step_spec specs[16];

    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, 2, 1000, 100), 0);
    assert_int_equal(fo_test_nodes_start(&e->nodes, 0), 0);
    assert_int_equal(fo_test_nodes_start(&e->nodes, 1), 0);
    run_until(e, has_leader);
    e->lead = &e->nodes.node[fo_test_nodes_leader(&e->nodes)];

    init.u.init.cluster = "test";
    init.u.init.primary = "main";
    init.u.init.at_ms = 1;
    begin.u.op_begin.id = "op-1";
    begin.u.op_begin.kind = FO_OP_AUTO;
    begin.u.op_begin.from = "main";
    begin.u.op_begin.to = "dr";
    begin.u.op_begin.reason = "test";
    begin.u.op_begin.requested_by = "test";
    begin.u.op_begin.epoch = 1;
    begin.u.op_begin.at_ms = 1000;
    begin.u.op_begin.detected_ms = 900;
    for (size_t i = 0; i < e->plan.nsteps; i++) {
        specs[i].name = e->plan.steps[i].name;
        specs[i].action = e->plan.steps[i].action;
    }
    begin.u.op_begin.steps = specs;
    begin.u.op_begin.nsteps = e->plan.nsteps;
    assert_int_equal(fo_node_propose(e->lead, &init_req, &init, committed), 0);
    assert_int_equal(fo_node_propose(e->lead, &begin_req, &begin, committed), 0);
    run_until(e, two_committed);

    e->ex.data = e;
    e->ex.on_finished = finished;
    fo_executor_init(&e->ex, &e->loop, e->lead, &e->cfg, &e->plan, &runner);
    fo_executor_kick(&e->ex);
}

static bool deposed(struct env *e)
{
    return !fo_node_ready(e->lead) && fo_node_role(e->lead) != RAFT_LEADER;
}

/* The action returned (it saw its cancel flag) and the executor let go of it. */
static bool action_dropped(struct env *e)
{
    pthread_mutex_lock(&R.mu);
    bool returned = R.ncalls == 1 && R.running == 0;
    pthread_mutex_unlock(&R.mu);
    return returned && e->ex.inflight == 0;
}

static unsigned long kicks_until;

static bool kicked_enough(struct env *e)
{
    return e->kicks >= kicks_until;
}

static bool duo_closed(struct env *e)
{
    return e->closed == 1 && fo_test_nodes_closed(&e->nodes);
}

/* The leader loses its majority while the first step's action runs: its node stops being
 * a ready leader (as the daemon sees it: role no longer leader), the next housekeeping
 * kick cancels the action, its result is dropped, nothing more is committed, and the
 * next step never starts: the step stays running for the next leader to decide. */
static void test_deposed_leader_stops(void **state)
{
    struct env *e = env_new();
    const struct fo_operation *op;
    uint64_t commit_index;
    int lead;
    (void)state;
    R.hold_ms = 10000; /* longer than run_until allows: only a cancel ends it in time */
    add_step(e, "promote", "test.slow", FO_TARGET_NONE, 3, false, 0);
    add_step(e, "after", "test.ok", FO_TARGET_NONE, 1, false, 0);
    duo_start(e);
    lead = fo_test_nodes_leader(&e->nodes);
    assert_true(lead >= 0);
    run_until(e, action_started);
    op = fo_node_state(e->lead)->operation;
    assert_non_null(op);
    assert_int_equal(op->steps[0].state, FO_STEP_RUNNING);

    /* Depose: the only other voter goes away; the leader steps down within an election
     * timeout or two (it no longer hears from a majority). */
    e->housekeeping = true;
    fo_test_nodes_close(&e->nodes, (size_t)(1 - lead));
    run_until(e, deposed);
    run_until(e, action_dropped);
    assert_true(R.calls[0].cancelled);
    commit_index = fo_node_commit_index(e->lead);

    /* Keep kicking, as the daemon's timer would: nothing starts, nothing is proposed. */
    kicks_until = e->kicks + 200;
    run_until(e, kicked_enough);
    assert_true(deposed(e));
    assert_int_equal(R.ncalls, 1); /* "after" never ran, "promote" was not retried */
    assert_int_equal(e->ex.inflight, 0);
    assert_int_equal(e->ex.attempts_started, 1);
    assert_int_equal(e->ex.actions_done, 0);
    assert_int_equal(e->ex.actions_failed, 0);
    assert_int_equal(e->finished, 0);
    assert_int_equal(fo_node_commit_index(e->lead), commit_index);
    op = fo_node_state(e->lead)->operation;
    assert_non_null(op); /* still in flight: the next leader decides */
    assert_string_equal(op->id, "op-1");
    assert_int_equal(op->steps[0].state, FO_STEP_RUNNING);
    assert_int_equal(op->steps[0].attempts, 1);
    assert_int_equal(op->steps[1].state, FO_STEP_PENDING);

    e->housekeeping = false;
    fo_executor_close(&e->ex, closed_ex);
    fo_test_nodes_close_all(&e->nodes);
    run_until(e, duo_closed);
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    fo_test_nodes_release(&e->nodes);
    fo_plan_free(&e->plan);
    fo_config_free(&e->cfg);
    nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
}

/* The executor closes (the daemon stops) while the action runs: it is cancelled and its
 * result is never proposed — the step stays running for the next leader. */
static void test_close_cancels_action(void **state)
{
    struct env *e = env_new();
    (void)state;
    R.hold_ms = 5000;
    add_step(e, "promote", "test.slow", FO_TARGET_NONE, 1, false, 0);
    env_start(e, FO_OP_AUTO, NULL);
    run_until(e, action_started);
    fo_executor_close(&e->ex, closed_ex);
    fo_node_close(&e->node, closed_node);
    run_until(e, all_closed);
    assert_int_equal(R.ncalls, 1);
    assert_true(R.calls[0].cancelled);
    assert_int_equal(e->ex.actions_done, 0);
    assert_int_equal(e->finished, 0);
    /* env_free closes again: start a fresh node to keep it simple */
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    fo_node_release(&e->node);
    fo_plan_free(&e->plan);
    fo_config_free(&e->cfg);
    nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
}

static void test_plan_params(void **state)
{
    struct env *e = env_new();
    struct fo_kv out[16];
    char msg[128];
    struct fo_plan_step st = {.name = "s", .action = "vercel.env"};
    struct fo_kv own[] = {{"content", "198.51.100.1"}};
    int n;
    (void)state;
    n = fo_plan_params(&e->cfg, &st, "dr", out, 16, msg, sizeof(msg));
    assert_int_equal(n, 2);
    assert_string_equal(out[0].key, "env_file.DATABASE_URL");
    assert_string_equal(out[0].value, "/etc/fo/db-url-dr");
    assert_string_equal(out[1].key, "env.REDIS_HOST");
    assert_string_equal(out[1].value, "10.0.1.2");
    for (int i = 0; i < n; i++) {
        free(out[i].key);
        free(out[i].value);
    }
    st.action = "cloudflare.dns";
    n = fo_plan_params(&e->cfg, &st, "dr", out, 16, msg, sizeof(msg));
    assert_int_equal(n, 1);
    assert_string_equal(out[0].value, "203.0.113.20");
    free(out[0].key);
    free(out[0].value);
    /* the step's own value wins over the site's */
    st.params = own;
    st.nparams = 1;
    n = fo_plan_params(&e->cfg, &st, "dr", out, 16, msg, sizeof(msg));
    assert_int_equal(n, 1);
    assert_string_equal(out[0].value, "198.51.100.1");
    free(out[0].key);
    free(out[0].value);
    st.params = NULL;
    st.nparams = 0;
    n = fo_plan_params(&e->cfg, &st, "main", out, 16, msg, sizeof(msg));
    assert_int_equal(n, FO_PLAN_PARAMS_NO_COMPONENT);
    assert_string_equal(msg, "site main has no dns_origin");
    n = fo_plan_params(&e->cfg, &st, "elsewhere", out, 16, msg, sizeof(msg));
    assert_int_equal(n, FO_PLAN_PARAMS_INVALID);
    assert_non_null(strstr(msg, "'elsewhere' is not in this node's configuration"));
    st.action = "postgres.fence";
    n = fo_plan_params(&e->cfg, &st, "main", out, 2, msg, sizeof(msg));
    assert_int_equal(n, FO_PLAN_PARAMS_INVALID); /* more than fit */
    assert_non_null(strstr(msg, "too many parameters"));
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_loop_close(&e->loop);
    fo_config_free(&e->cfg);
    nftw(e->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(e);
}

static void test_timeline(void **state)
{
    struct fo_step steps[2] = {
        {.name = "promote", .state = FO_STEP_DONE, .started_ms = 12000, .ended_ms = 14500},
        {.name = "dns", .state = FO_STEP_FAILED, .started_ms = 14500, .ended_ms = 15000},
    };
    struct fo_operation op = {.id = "op-9",
                              .kind = FO_OP_AUTO,
                              .from = "main",
                              .to = "dr",
                              .epoch = 4,
                              .detected_ms = 10000,
                              .started_ms = 11000,
                              .ended_ms = 16000,
                              .steps = steps,
                              .nsteps = 2};
    char buf[512];
    (void)state;
    fo_executor_timeline(&op, 7200000, buf, sizeof(buf));
    assert_non_null(strstr(buf, "auto main -> dr (epoch 4): detected 1970-01-01T00:00:10Z"));
    assert_non_null(strstr(buf, "decided +1.0s"));
    assert_non_null(strstr(buf, "promote done +2.0s (2.5s)"));
    assert_non_null(strstr(buf, "dns failed +4.5s (0.5s)"));
    assert_non_null(strstr(buf, "RTO 6.0s (target 7200s)"));
    fo_executor_timeline(&op, 7200000, buf, 20); /* cut, still terminated */
    assert_int_equal(strlen(buf), 19);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_plan_in_order),
        cmocka_unit_test(test_retries_with_backoff),
        cmocka_unit_test(test_refused_is_not_retried_and_aborts),
        cmocka_unit_test(test_failure_exhausts_attempts_then_aborts),
        cmocka_unit_test(test_continue_on_failure),
        cmocka_unit_test(test_resumes_after_leader_change),
        cmocka_unit_test(test_drill_is_check_only),
        cmocka_unit_test(test_parallel_group),
        cmocka_unit_test(test_site_without_component_skips),
        cmocka_unit_test(test_unfillable_params_are_refused),
        cmocka_unit_test(test_retry_decided_by_outcome_not_text),
        cmocka_unit_test(test_refused_outcome_without_text_is_not_retried),
        cmocka_unit_test(test_deposed_leader_stops),
        cmocka_unit_test(test_close_cancels_action),
        cmocka_unit_test(test_plan_params),
        cmocka_unit_test(test_timeline),
    };
    /* As failoverd does: a write to a peer that went away fails with EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
