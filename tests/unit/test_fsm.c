/*
 * tests/unit/test_fsm.c — the replicated state machine (consensus/fsm.h) driven with
 * encoded command frames, as libraft hands them over: every command type, every
 * rejection branch, garbage entries, and snapshot / restore.
 *
 * "Unchanged" below means: the whole state, encoded as a snapshot, is byte-identical
 * before and after — except for the incident log, to which a rejection appends one
 * "rejected" event (fsm.h). So most checks compare snapshots taken without the events
 * and then look at the events separately.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/fsm.h"
#include "proto/command.h"
#include "proto/frame.h"
#include "tests/common/mpbuild.h"
#include "tests/common/samples.h"

#define T0 UINT64_C(1763856000000)

/* ---- helpers -------------------------------------------------------------------- */

/* Encode cmd as a frame and apply it, as raft_fsm.c does with a log entry. */
static void apply(struct fo_fsm *f, const struct fo_cmd *cmd)
{
    struct fo_buf frame;
    assert_int_equal(fo_cmd_encode(cmd, &frame, NULL), FO_PROTO_OK);
    fo_fsm_apply_frame(f, frame.data, frame.len);
    fo_buf_free(&frame);
}

static struct fo_buf snap(const struct fo_fsm *f)
{
    struct fo_buf out;
    assert_int_equal(fo_fsm_snapshot(f, &out), 0);
    return out;
}

/* The state encoded without its incident log. */
static struct fo_buf snap_no_events(const struct fo_fsm *f)
{
    struct fo_state st = f->state; /* shallow: only encoded, never freed */
    struct fo_buf out;
    st.events = NULL;
    st.nevents = 0;
    assert_int_equal(fo_state_encode(&st, &out, NULL), FO_PROTO_OK);
    return out;
}

static void assert_buf_equal(const struct fo_buf *a, const struct fo_buf *b)
{
    assert_int_equal(a->len, b->len);
    assert_memory_equal(a->data, b->data, a->len);
}

static const struct fo_event *last_event(const struct fo_fsm *f)
{
    assert_true(f->state.nevents > 0);
    return &f->state.events[f->state.nevents - 1];
}

static void init_cmd(struct fo_cmd *c, const char *cluster, const char *primary, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_INIT;
    c->u.init = (struct fo_cmd_init){(char *)cluster, (char *)primary, at};
}

static void verdict_cmd(struct fo_cmd *c, const char *obs, const char *region, int status,
                        uint64_t at, const char *reason)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_VERDICT;
    c->u.verdict = (struct fo_cmd_verdict){(char *)obs, (char *)region, status, at, (char *)reason};
}

static struct fo_step_spec plan3[] = {
    {"promote-postgres", "postgres.promote"},
    {"promote-redis", "redis.promote"},
    {"dns", "cloudflare.dns"},
};

static void begin_cmd(struct fo_cmd *c, const char *id, int kind, const char *from, const char *to,
                      uint64_t epoch, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_OP_BEGIN;
    c->u.op_begin = (struct fo_cmd_op_begin){.id = (char *)id,
                                             .kind = kind,
                                             .from = (char *)from,
                                             .to = (char *)to,
                                             .reason = "test",
                                             .requested_by = "us-west-2",
                                             .epoch = epoch,
                                             .at_ms = at,
                                             .steps = plan3,
                                             .nsteps = 3};
}

static void step_cmd(struct fo_cmd *c, const char *id, uint64_t epoch, uint32_t index, int state,
                     uint32_t attempt, uint64_t at, const char *error, const char *leader)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_STEP;
    c->u.step = (struct fo_cmd_step){(char *)id, epoch, index,         state,
                                     attempt,    at,    (char *)error, (char *)leader};
}

static void end_cmd(struct fo_cmd *c, const char *id, uint64_t epoch, int result, uint64_t at,
                    const char *error)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_OP_END;
    c->u.op_end = (struct fo_cmd_op_end){(char *)id, epoch, result, at, (char *)error};
}

static void mode_cmd(struct fo_cmd *c, int mode, const char *by, const char *reason, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_MODE;
    c->u.mode = (struct fo_cmd_mode){mode, (char *)by, (char *)reason, at};
}

static void cooldown_cmd(struct fo_cmd *c, uint64_t until, const char *by, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_COOLDOWN;
    c->u.cooldown = (struct fo_cmd_cooldown){until, (char *)by, at};
}

static void digest_cmd(struct fo_cmd *c, const char *node, const char *digest, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_DIGEST;
    c->u.digest = (struct fo_cmd_digest){(char *)node, (char *)digest, at};
}

/* A cluster "test" whose primary is "main". */
static void fsm_ready(struct fo_fsm *f)
{
    struct fo_cmd c;
    fo_fsm_init(f);
    init_cmd(&c, "test", "main", T0);
    apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

/* Apply cmd and check that it is applied without touching anything: same bytes, events
 * included (an idempotent repeat). */
static void expect_noop(struct fo_fsm *f, const struct fo_cmd *cmd)
{
    struct fo_buf before = snap(f), after;
    apply(f, cmd);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
    after = snap(f);
    assert_buf_equal(&before, &after);
    fo_buf_free(&before);
    fo_buf_free(&after);
}

/* Apply cmd and check that it is rejected with a message containing why, the state is
 * unchanged and one "rejected" event naming the command was recorded. */
static void expect_rejected(struct fo_fsm *f, const struct fo_cmd *cmd, const char *why)
{
    struct fo_buf before = snap_no_events(f), after;
    uint64_t rejected = f->rejected;
    size_t nevents = f->state.nevents;

    apply(f, cmd);
    assert_int_equal(f->last.outcome, FO_FSM_REJECTED);
    assert_int_equal(f->last.type, cmd->type);
    if (strstr(f->last.msg, why) == NULL)
        fail_msg("rejection '%s' does not say '%s'", f->last.msg, why);
    assert_int_equal(f->rejected, rejected + 1);
    after = snap_no_events(f);
    assert_buf_equal(&before, &after);
    assert_int_equal(f->state.nevents,
                     nevents < FO_FSM_EVENTS_KEEP ? nevents + 1 : FO_FSM_EVENTS_KEEP);
    assert_string_equal(last_event(f)->what, "rejected");
    assert_non_null(strstr(last_event(f)->text, fo_cmd_type_name(cmd->type)));
    assert_non_null(strstr(last_event(f)->text, why));
    fo_buf_free(&before);
    fo_buf_free(&after);
}

/* ---- init ----------------------------------------------------------------------- */

static void test_init(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    fo_fsm_init(&f);
    assert_null(f.state.cluster);
    init_cmd(&c, "test", "main", T0);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.last.type, FO_CMD_INIT);
    assert_string_equal(f.state.cluster, "test");
    assert_string_equal(f.state.primary, "main");
    assert_int_equal(f.state.epoch, 0);
    assert_int_equal(f.state.mode, FO_MODE_AUTO);
    assert_int_equal(f.state.mode_since_ms, T0);
    assert_string_equal(last_event(&f)->what, "initialized");
    assert_int_equal(f.applied, 1);

    /* The same init again (a retry, or two first leaders racing): nothing changes. */
    init_cmd(&c, "test", "dr", T0 + 5);
    expect_noop(&f, &c);
    assert_string_equal(f.state.primary, "main");

    /* Another cluster's init is refused. */
    init_cmd(&c, "other", "dr", T0 + 6);
    expect_rejected(&f, &c, "already initialised");
    assert_string_equal(f.state.cluster, "test");
    fo_fsm_close(&f);
}

/* ---- verdicts ------------------------------------------------------------------- */

static void test_verdict(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    const struct fo_verdict *v;
    (void)state;

    fsm_ready(&f);
    verdict_cmd(&c, "us-west-2", "us-east-1", FO_STATUS_DOWN, T0 + 10, "refused");
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    v = fo_fsm_verdict(&f, "us-west-2", "us-east-1");
    assert_non_null(v);
    assert_int_equal(v->status, FO_STATUS_DOWN);
    assert_int_equal(v->since_ms, T0 + 10);
    assert_string_equal(v->reason, "refused");
    assert_null(fo_fsm_verdict(&f, "us-east-1", "us-west-2"));

    /* A repeated report is a no-op: since_ms stays the time of the change. */
    verdict_cmd(&c, "us-west-2", "us-east-1", FO_STATUS_DOWN, T0 + 20, "still refused");
    expect_noop(&f, &c);

    /* A change updates the row in place. */
    verdict_cmd(&c, "us-west-2", "us-east-1", FO_STATUS_UP, T0 + 30, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.nverdicts, 1);
    v = fo_fsm_verdict(&f, "us-west-2", "us-east-1");
    assert_int_equal(v->status, FO_STATUS_UP);
    assert_int_equal(v->since_ms, T0 + 30);
    assert_null(v->reason);

    /* Another pair is another row. */
    verdict_cmd(&c, "eu-west-1", "us-east-1", FO_STATUS_UNKNOWN, T0 + 40, NULL);
    apply(&f, &c);
    assert_int_equal(f.state.nverdicts, 2);
    fo_fsm_close(&f);
}

static void test_verdict_table_full(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    char obs[32];
    (void)state;

    fsm_ready(&f);
    for (int i = 0; i < FO_MAX_VERDICTS; i++) {
        snprintf(obs, sizeof(obs), "observer-%d", i);
        verdict_cmd(&c, obs, "us-east-1", FO_STATUS_DOWN, T0 + (uint64_t)i, NULL);
        apply(&f, &c);
        assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    }
    assert_int_equal(f.state.nverdicts, FO_MAX_VERDICTS);
    verdict_cmd(&c, "one-too-many", "us-east-1", FO_STATUS_DOWN, T0 + 5000, NULL);
    expect_rejected(&f, &c, "verdict table full");
    assert_null(fo_fsm_verdict(&f, "one-too-many", "us-east-1"));

    /* Rows that exist still change, and a full table still snapshots. */
    verdict_cmd(&c, "observer-7", "us-east-1", FO_STATUS_UP, T0 + 6000, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(fo_fsm_verdict(&f, "observer-7", "us-east-1")->status, FO_STATUS_UP);
    fo_fsm_close(&f);
}

/* ---- op_begin ------------------------------------------------------------------- */

static void test_op_begin_accepted(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    const struct fo_operation *op;
    (void)state;

    fsm_ready(&f);
    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 100);
    c.u.op_begin.force = true;
    c.u.op_begin.detected_ms = T0 + 50;
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.last.type, FO_CMD_OP_BEGIN);
    assert_int_equal(f.state.epoch, 1);
    assert_string_equal(f.state.primary, "dr");
    op = f.state.operation;
    assert_non_null(op);
    assert_string_equal(op->id, "op-1");
    assert_int_equal(op->kind, FO_OP_AUTO);
    assert_string_equal(op->from, "main");
    assert_string_equal(op->to, "dr");
    assert_int_equal(op->epoch, 1);
    assert_true(op->force);
    assert_int_equal(op->detected_ms, T0 + 50);
    assert_int_equal(op->started_ms, T0 + 100);
    assert_int_equal(op->result, FO_RESULT_RUNNING);
    assert_int_equal(op->nsteps, 3);
    for (size_t i = 0; i < op->nsteps; i++) {
        assert_string_equal(op->steps[i].name, plan3[i].name);
        assert_string_equal(op->steps[i].action, plan3[i].action);
        assert_int_equal(op->steps[i].state, FO_STEP_PENDING);
        assert_int_equal(op->steps[i].attempts, 0);
        assert_null(op->steps[i].error);
    }
    fo_fsm_close(&f);
}

/* Finish the operation in flight successfully. */
static void finish(struct fo_fsm *f, uint64_t at)
{
    struct fo_cmd c;
    const struct fo_operation *op = f->state.operation;
    assert_non_null(op);
    end_cmd(&c, op->id, op->epoch, FO_RESULT_SUCCEEDED, at, NULL);
    apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
    assert_null(f->state.operation);
}

static void test_op_begin_rejected(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    /* Not initialised. */
    fo_fsm_init(&f);
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 1, T0);
    expect_rejected(&f, &c, "not initialised");
    assert_int_equal(f.state.epoch, 0);
    fo_fsm_close(&f);

    fsm_ready(&f);
    /* Stale (same) and skipped epochs; a drill must name the current epoch. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 0, T0);
    expect_rejected(&f, &c, "stale epoch 0");
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 2, T0);
    expect_rejected(&f, &c, "stale epoch 2");
    begin_cmd(&c, "op-1", FO_OP_DRILL, "main", "dr", 1, T0);
    expect_rejected(&f, &c, "stale epoch 1");
    /* From a site that is not the primary. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "dr", "main", 1, T0);
    expect_rejected(&f, &c, "is not the primary");
    /* To the site that already is the primary. */
    begin_cmd(&c, "op-1", FO_OP_SWITCHOVER, "main", "main", 1, T0);
    expect_rejected(&f, &c, "already the primary");

    /* In flight. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 1, T0 + 10);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    begin_cmd(&c, "op-2", FO_OP_MANUAL, "dr", "main", 2, T0 + 20);
    expect_rejected(&f, &c, "op-1 is in flight");
    finish(&f, T0 + 30);

    /* The same proposal committed twice (a retry after an unknown outcome). */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "dr", "main", 2, T0 + 40);
    expect_rejected(&f, &c, "op-1 already ran");
    /* ...and the stale copy of the first proposal, under its old epoch. */
    begin_cmd(&c, "op-1b", FO_OP_MANUAL, "main", "dr", 1, T0 + 40);
    expect_rejected(&f, &c, "stale epoch 1");

    /* Automatic failover while paused; a manual one is still allowed. */
    mode_cmd(&c, FO_MODE_PAUSED, "alice", "upgrade", T0 + 50);
    apply(&f, &c);
    begin_cmd(&c, "op-3", FO_OP_AUTO, "dr", "main", 2, T0 + 60);
    expect_rejected(&f, &c, "paused");
    mode_cmd(&c, FO_MODE_AUTO, "alice", NULL, T0 + 70);
    apply(&f, &c);

    /* Automatic failover in cooldown, by the proposer's clock; manual is allowed. */
    cooldown_cmd(&c, T0 + 1000, "us-west-2", T0 + 80);
    apply(&f, &c);
    begin_cmd(&c, "op-3", FO_OP_AUTO, "dr", "main", 2, T0 + 999);
    expect_rejected(&f, &c, "in cooldown for 1 ms");
    begin_cmd(&c, "op-3", FO_OP_AUTO, "dr", "main", 2, T0 + 1000); /* cooldown over */
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.epoch, 2);
    assert_string_equal(f.state.primary, "main");
    fo_fsm_close(&f);
}

static void test_manual_while_paused_and_in_cooldown(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    fsm_ready(&f);
    mode_cmd(&c, FO_MODE_PAUSED, "alice", NULL, T0);
    apply(&f, &c);
    cooldown_cmd(&c, T0 + 100000, NULL, T0);
    apply(&f, &c);
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 1, T0 + 1);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    finish(&f, T0 + 2);
    begin_cmd(&c, "op-2", FO_OP_SWITCHOVER, "dr", "main", 2, T0 + 3);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_string_equal(f.state.primary, "main");
    fo_fsm_close(&f);
}

static void test_drill(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    fsm_ready(&f);
    begin_cmd(&c, "drill-1", FO_OP_DRILL, "main", "dr", 0, T0 + 10);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.epoch, 0);
    assert_string_equal(f.state.primary, "main");
    assert_non_null(f.state.operation);
    assert_int_equal(f.state.operation->kind, FO_OP_DRILL);
    assert_int_equal(f.state.operation->epoch, 0);
    finish(&f, T0 + 20);
    assert_string_equal(f.state.primary, "main");
    assert_int_equal(f.state.epoch, 0);

    /* After a drill the next real failover takes the next epoch. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "main", "dr", 1, T0 + 30);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.epoch, 1);
    fo_fsm_close(&f);
}

/* A rejoin re-seeds a former primary within the current epoch and moves nothing; it is
 * refused for the primary itself and for any other epoch. */
static void test_rejoin(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    fsm_ready(&f);
    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 10);
    apply(&f, &c);
    finish(&f, T0 + 20);
    assert_string_equal(f.state.primary, "dr");
    assert_string_equal(f.state.prev_primary, "main");

    begin_cmd(&c, "rejoin-1", FO_OP_REJOIN, "dr", "dr", 1, T0 + 30);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_REJECTED);
    assert_non_null(strstr(f.last.msg, "is the primary"));
    begin_cmd(&c, "rejoin-1", FO_OP_REJOIN, "dr", "main", 2, T0 + 30);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_REJECTED);
    assert_non_null(strstr(f.last.msg, "stale epoch"));
    begin_cmd(&c, "rejoin-1", FO_OP_REJOIN, "main", "dr", 1, T0 + 30);
    apply(&f, &c); /* from must be the primary */
    assert_int_equal(f.last.outcome, FO_FSM_REJECTED);

    begin_cmd(&c, "rejoin-1", FO_OP_REJOIN, "dr", "main", 1, T0 + 40);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.operation->kind, FO_OP_REJOIN);
    assert_int_equal(f.state.epoch, 1);
    assert_string_equal(f.state.primary, "dr");
    assert_string_equal(f.state.prev_primary, "main"); /* the lease's view is untouched */
    finish(&f, T0 + 50);
    assert_string_equal(f.state.primary, "dr");
    assert_int_equal(f.state.epoch, 1);
    assert_int_equal(f.state.history[f.state.nhistory - 1].kind, FO_OP_REJOIN);

    /* The switch back takes the next epoch. */
    begin_cmd(&c, "op-2", FO_OP_SWITCHOVER, "dr", "main", 2, T0 + 60);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_string_equal(f.state.primary, "main");
    fo_fsm_close(&f);
}

/* The kind "rejoin" came with format v4: a rejoin's op_begin is stamped v4, and a frame
 * of an older version that names it is refused (codec.h, "Versions"). */
static void test_rejoin_kind_is_v4(void **state)
{
    struct fo_cmd c, out;
    struct fo_buf frame;
    struct fo_proto_error err;
    static const uint8_t v4[] = {0xa1, 'v', 0x04};
    (void)state;

    begin_cmd(&c, "rejoin-1", FO_OP_REJOIN, "dr", "main", 1, T0);
    assert_int_equal(fo_cmd_encode(&c, &frame, NULL), FO_PROTO_OK);
    assert_memory_equal(frame.data + 5, v4, sizeof(v4)); /* header, fixmap, then "v": 4 */
    memset(&out, 0, sizeof(out));
    assert_int_equal(fo_cmd_decode(frame.data + 4, frame.len - 4, &out, &err), FO_PROTO_OK);
    assert_int_equal(out.u.op_begin.kind, FO_OP_REJOIN);
    fo_cmd_free(&out);
    frame.data[7] = 0x03;
    memset(&out, 0, sizeof(out));
    assert_int_equal(fo_cmd_decode(frame.data + 4, frame.len - 4, &out, &err), FO_PROTO_EVALUE);
    assert_non_null(strstr(err.msg, "'rejoin' is not a v=3 value"));
    fo_buf_free(&frame);

    /* Every other kind still encodes as before (v1): older nodes read it. */
    begin_cmd(&c, "op-1", FO_OP_SWITCHOVER, "main", "dr", 1, T0);
    assert_int_equal(fo_cmd_encode(&c, &frame, NULL), FO_PROTO_OK);
    assert_int_equal(frame.data[7], 0x01);
    fo_buf_free(&frame);
}

/* ---- steps ---------------------------------------------------------------------- */

static void test_steps(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    const struct fo_step *st;
    (void)state;

    fsm_ready(&f);
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0, NULL, NULL);
    expect_rejected(&f, &c, "no operation in flight");

    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 10);
    apply(&f, &c);
    st = &f.state.operation->steps[0];

    /* Wrong operation or epoch; index out of range. */
    step_cmd(&c, "op-0", 1, 0, FO_STEP_RUNNING, 1, T0, NULL, NULL);
    expect_rejected(&f, &c, "is not the one in flight");
    step_cmd(&c, "op-1", 0, 0, FO_STEP_RUNNING, 1, T0, NULL, NULL);
    expect_rejected(&f, &c, "is not the one in flight");
    step_cmd(&c, "op-1", 1, 3, FO_STEP_RUNNING, 1, T0, NULL, NULL);
    expect_rejected(&f, &c, "out of range");

    /* pending -> done / failed / pending are refused: a step must run first. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_DONE, 1, T0 + 20, NULL, NULL);
    expect_rejected(&f, &c, "pending -> done not allowed");
    step_cmd(&c, "op-1", 1, 0, FO_STEP_FAILED, 1, T0 + 20, "x", NULL);
    expect_rejected(&f, &c, "pending -> failed not allowed");
    step_cmd(&c, "op-1", 1, 0, FO_STEP_PENDING, 1, T0 + 20, NULL, NULL);
    expect_rejected(&f, &c, "pending -> pending not allowed");

    /* pending -> running: attempt, start time and leader recorded. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 30, NULL, "us-west-2");
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->state, FO_STEP_RUNNING);
    assert_int_equal(st->attempts, 1);
    assert_int_equal(st->started_ms, T0 + 30);
    assert_int_equal(st->ended_ms, 0);
    assert_string_equal(st->leader, "us-west-2");

    /* running -> failed records the error and the end. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_FAILED, 1, T0 + 40, "timed out", NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->state, FO_STEP_FAILED);
    assert_int_equal(st->ended_ms, T0 + 40);
    assert_string_equal(st->error, "timed out");

    /* failed -> running (attempt 2, another leader): the error stays visible. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 2, T0 + 50, NULL, "eu-west-1");
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->attempts, 2);
    assert_int_equal(st->ended_ms, 0);
    assert_string_equal(st->leader, "eu-west-1");
    assert_string_equal(st->error, "timed out");

    /* running -> running (a new leader re-runs it) with an older attempt number and no
     * leader: attempts never go down, the leader stays. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 55, NULL, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->attempts, 2);
    assert_int_equal(st->started_ms, T0 + 55);
    assert_string_equal(st->leader, "eu-west-1");

    /* running -> done clears the error. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_DONE, 2, T0 + 60, NULL, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->state, FO_STEP_DONE);
    assert_int_equal(st->ended_ms, T0 + 60);
    assert_null(st->error);

    /* Done is final. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 3, T0 + 70, NULL, "us-east-1");
    expect_rejected(&f, &c, "done -> running not allowed");
    step_cmd(&c, "op-1", 1, 0, FO_STEP_FAILED, 3, T0 + 70, "late", NULL);
    expect_rejected(&f, &c, "done -> failed not allowed");
    step_cmd(&c, "op-1", 1, 0, FO_STEP_SKIPPED, 3, T0 + 70, NULL, NULL);
    expect_rejected(&f, &c, "done -> skipped not allowed");
    step_cmd(&c, "op-1", 1, 0, FO_STEP_DONE, 3, T0 + 70, NULL, NULL);
    expect_rejected(&f, &c, "done -> done not allowed");

    /* pending -> skipped; nothing leaves skipped. */
    step_cmd(&c, "op-1", 1, 1, FO_STEP_SKIPPED, 0, T0 + 80, NULL, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.operation->steps[1].state, FO_STEP_SKIPPED);
    assert_int_equal(f.state.operation->steps[1].ended_ms, T0 + 80);
    step_cmd(&c, "op-1", 1, 1, FO_STEP_RUNNING, 1, T0 + 90, NULL, NULL);
    expect_rejected(&f, &c, "skipped -> running not allowed");
    step_cmd(&c, "op-1", 1, 1, FO_STEP_DONE, 1, T0 + 90, NULL, NULL);
    expect_rejected(&f, &c, "skipped -> done not allowed");

    /* failed -> skipped (on_failure = continue). */
    step_cmd(&c, "op-1", 1, 2, FO_STEP_RUNNING, 1, T0 + 100, NULL, NULL);
    apply(&f, &c);
    step_cmd(&c, "op-1", 1, 2, FO_STEP_FAILED, 1, T0 + 110, "nope", NULL);
    apply(&f, &c);
    step_cmd(&c, "op-1", 1, 2, FO_STEP_SKIPPED, 1, T0 + 120, NULL, NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.operation->steps[2].state, FO_STEP_SKIPPED);
    assert_string_equal(f.state.operation->steps[2].error, "nope");
    fo_fsm_close(&f);
}

/* The typed outcome (format v2): stored with the state it fits, reset by a new attempt,
 * refused when it contradicts the state, NONE (a v1 entry) accepted with any state, and
 * kept by snapshot / restore. */
static void test_step_outcomes(void **state)
{
    struct fo_fsm f, g;
    struct fo_cmd c;
    struct fo_buf s1;
    struct fo_proto_error err;
    const struct fo_step *st;
    (void)state;

    fsm_ready(&f);
    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 10);
    apply(&f, &c);
    st = &f.state.operation->steps[0];

    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 20, NULL, "us-west-2");
    c.u.step.outcome = FO_STEP_OUTCOME_DONE;
    expect_rejected(&f, &c, "outcome done does not fit state running");
    c.u.step.outcome = FO_STEP_OUTCOME_NONE;
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);

    step_cmd(&c, "op-1", 1, 0, FO_STEP_FAILED, 1, T0 + 30, "refused: newer epoch", NULL);
    c.u.step.outcome = FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT;
    expect_rejected(&f, &c, "outcome skipped_no_component does not fit state failed");
    c.u.step.outcome = FO_STEP_OUTCOME_DONE;
    expect_rejected(&f, &c, "outcome done does not fit state failed");
    c.u.step.outcome = FO_STEP_OUTCOME_REFUSED;
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(st->state, FO_STEP_FAILED);
    assert_int_equal(st->outcome, FO_STEP_OUTCOME_REFUSED);

    /* A new attempt's outcome is not known yet. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 2, T0 + 40, NULL, "us-west-2");
    apply(&f, &c);
    assert_int_equal(st->outcome, FO_STEP_OUTCOME_NONE);
    step_cmd(&c, "op-1", 1, 0, FO_STEP_DONE, 2, T0 + 50, NULL, NULL);
    c.u.step.outcome = FO_STEP_OUTCOME_REFUSED;
    expect_rejected(&f, &c, "outcome refused does not fit state done");
    c.u.step.outcome = FO_STEP_OUTCOME_DONE;
    apply(&f, &c);
    assert_int_equal(st->outcome, FO_STEP_OUTCOME_DONE);

    step_cmd(&c, "op-1", 1, 1, FO_STEP_SKIPPED, 0, T0 + 60, "site dr has no redis", NULL);
    c.u.step.outcome = FO_STEP_OUTCOME_FAILED_RETRYABLE;
    expect_rejected(&f, &c, "outcome failed_retryable does not fit state skipped");
    c.u.step.outcome = FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT;
    apply(&f, &c);
    assert_int_equal(f.state.operation->steps[1].outcome, FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT);

    /* A v1 entry (no outcome) still applies: the journal then says NONE. */
    step_cmd(&c, "op-1", 1, 2, FO_STEP_RUNNING, 1, T0 + 70, NULL, NULL);
    apply(&f, &c);
    step_cmd(&c, "op-1", 1, 2, FO_STEP_FAILED, 1, T0 + 80, "timed out", NULL);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.operation->steps[2].state, FO_STEP_FAILED);
    assert_int_equal(f.state.operation->steps[2].outcome, FO_STEP_OUTCOME_NONE);

    /* Snapshot and restore keep the outcomes. */
    s1 = snap(&f);
    fo_fsm_init(&g);
    assert_int_equal(fo_fsm_restore(&g, s1.data, s1.len, &err), 0);
    assert_int_equal(g.state.operation->steps[0].outcome, FO_STEP_OUTCOME_DONE);
    assert_int_equal(g.state.operation->steps[1].outcome, FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT);
    assert_int_equal(g.state.operation->steps[2].outcome, FO_STEP_OUTCOME_NONE);
    fo_buf_free(&s1);
    fo_fsm_close(&g);
    fo_fsm_close(&f);
}

/* Which outcome fits which state: the table in proto/state.h, and nothing else. */
static void test_step_outcome_fits(void **state)
{
    static const struct {
        int state, outcome;
        bool fits;
    } cases[] = {
        {FO_STEP_PENDING, FO_STEP_OUTCOME_NONE, true},
        {FO_STEP_RUNNING, FO_STEP_OUTCOME_NONE, true},
        {FO_STEP_DONE, FO_STEP_OUTCOME_NONE, true},
        {FO_STEP_FAILED, FO_STEP_OUTCOME_NONE, true},
        {FO_STEP_SKIPPED, FO_STEP_OUTCOME_NONE, true},
        {FO_STEP_DONE, FO_STEP_OUTCOME_DONE, true},
        {FO_STEP_SKIPPED, FO_STEP_OUTCOME_SKIPPED, true},
        {FO_STEP_SKIPPED, FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT, true},
        {FO_STEP_SKIPPED, FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED, true},
        {FO_STEP_FAILED, FO_STEP_OUTCOME_FAILED_RETRYABLE, true},
        {FO_STEP_FAILED, FO_STEP_OUTCOME_REFUSED, true},
        {FO_STEP_RUNNING, FO_STEP_OUTCOME_DONE, false},
        {FO_STEP_PENDING, FO_STEP_OUTCOME_SKIPPED, false},
        {FO_STEP_DONE, FO_STEP_OUTCOME_SKIPPED, false},
        {FO_STEP_SKIPPED, FO_STEP_OUTCOME_REFUSED, false},
        {FO_STEP_FAILED, FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED, false},
        {FO_STEP_DONE, 99, false},
        {FO_STEP_DONE, -1, false},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (fo_step_outcome_fits(cases[i].state, cases[i].outcome) != cases[i].fits)
            fail_msg("case %zu: state %d outcome %d", i, cases[i].state, cases[i].outcome);
}

/* ---- op_end and history ---------------------------------------------------------- */

static void test_op_end(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    const struct fo_operation *h;
    (void)state;

    fsm_ready(&f);
    end_cmd(&c, "op-1", 1, FO_RESULT_SUCCEEDED, T0, NULL);
    expect_rejected(&f, &c, "no operation in flight");

    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 10);
    apply(&f, &c);
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 20, NULL, "us-west-2");
    apply(&f, &c);
    end_cmd(&c, "op-2", 1, FO_RESULT_SUCCEEDED, T0 + 30, NULL);
    expect_rejected(&f, &c, "is not the one in flight");
    end_cmd(&c, "op-1", 2, FO_RESULT_SUCCEEDED, T0 + 30, NULL);
    expect_rejected(&f, &c, "is not the one in flight");

    end_cmd(&c, "op-1", 1, FO_RESULT_FAILED, T0 + 40, "promote failed");
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_null(f.state.operation);
    assert_int_equal(f.state.nhistory, 1);
    h = fo_fsm_history_find(&f, "op-1");
    assert_non_null(h);
    assert_int_equal(h->result, FO_RESULT_FAILED);
    assert_int_equal(h->ended_ms, T0 + 40);
    assert_string_equal(h->error, "promote failed");
    assert_int_equal(h->epoch, 1);
    assert_int_equal(h->steps[0].state, FO_STEP_RUNNING); /* the journal is kept as it was */
    assert_string_equal(h->steps[0].leader, "us-west-2");
    /* The decision stands: the epoch and the primary do not roll back. */
    assert_int_equal(f.state.epoch, 1);
    assert_string_equal(f.state.primary, "dr");

    /* Ending it again is refused. */
    end_cmd(&c, "op-1", 1, FO_RESULT_SUCCEEDED, T0 + 50, NULL);
    expect_rejected(&f, &c, "no operation in flight");
    fo_fsm_close(&f);
}

static void test_history_ring(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    char id[32];
    const int total = FO_FSM_HISTORY_KEEP + 5;
    (void)state;

    fsm_ready(&f);
    for (int i = 1; i <= total; i++) {
        snprintf(id, sizeof(id), "op-%d", i);
        begin_cmd(&c, id, FO_OP_SWITCHOVER, i % 2 ? "main" : "dr", i % 2 ? "dr" : "main",
                  (uint64_t)i, T0 + 100 * (uint64_t)i);
        apply(&f, &c);
        assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
        finish(&f, T0 + 100 * (uint64_t)i + 50);
        assert_int_equal(f.state.nhistory, i < FO_FSM_HISTORY_KEEP ? i : FO_FSM_HISTORY_KEEP);
    }
    /* The ring holds the newest FO_FSM_HISTORY_KEEP, oldest first. */
    for (int k = 0; k < FO_FSM_HISTORY_KEEP; k++) {
        snprintf(id, sizeof(id), "op-%d", total - FO_FSM_HISTORY_KEEP + 1 + k);
        assert_string_equal(f.state.history[k].id, id);
        assert_int_equal(f.state.history[k].epoch, total - FO_FSM_HISTORY_KEEP + 1 + k);
    }
    /* The older ones moved to the archive, oldest first, without their steps. */
    assert_int_equal(f.state.narchive, 5);
    assert_int_equal(f.state.history_dropped, 0);
    for (int k = 0; k < 5; k++) {
        snprintf(id, sizeof(id), "op-%d", k + 1);
        assert_string_equal(f.state.archive[k].id, id);
        assert_int_equal(f.state.archive[k].nsteps, 0);
        assert_int_equal(f.state.archive[k].result, FO_RESULT_SUCCEEDED);
        assert_int_equal(f.state.archive[k].ended_ms, T0 + 100 * (uint64_t)(k + 1) + 50);
    }
    assert_ptr_equal(fo_fsm_history_find(&f, "op-1"), &f.state.archive[0]);
    assert_non_null(fo_fsm_history_find(&f, "op-6"));
    assert_null(fo_fsm_history_find(&f, "op-0"));
    /* An archived id cannot begin again. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "dr", "main", (uint64_t)total + 1, T0 + 100000);
    expect_rejected(&f, &c, "op-1");
    assert_int_equal(f.state.epoch, total);
    fo_fsm_close(&f);
}

/* Past its byte budget the archive drops its oldest entries and counts them; the total
 * stays exact, the budget holds, and a snapshot keeps it all (format v3). */
static void test_history_archive_budget(void **state)
{
    struct fo_fsm f, g;
    struct fo_cmd c;
    struct fo_buf a, b;
    struct fo_proto_error err;
    char id[32], reason[FO_TEXT_MAX];
    const int total = 600;
    size_t cost = 0;
    (void)state;

    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    fsm_ready(&f);
    for (int i = 1; i <= total; i++) {
        snprintf(id, sizeof(id), "op-%d", i);
        begin_cmd(&c, id, FO_OP_SWITCHOVER, i % 2 ? "main" : "dr", i % 2 ? "dr" : "main",
                  (uint64_t)i, T0 + 100 * (uint64_t)i);
        c.u.op_begin.reason = reason;
        apply(&f, &c);
        assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
        finish(&f, T0 + 100 * (uint64_t)i + 50);
    }
    assert_true(f.state.history_dropped > 0);
    assert_int_equal(f.state.nhistory + f.state.narchive + f.state.history_dropped, total);
    for (size_t k = 0; k < f.state.narchive; k++)
        cost += fo_fsm_archive_cost(&f.state.archive[k]);
    assert_true(cost <= FO_FSM_ARCHIVE_BYTES);
    /* one more would not have fitted: the budget is used, not just respected */
    assert_true(cost + fo_fsm_archive_cost(&f.state.archive[0]) > FO_FSM_ARCHIVE_BYTES);
    snprintf(id, sizeof(id), "op-%llu", (unsigned long long)f.state.history_dropped + 1);
    assert_string_equal(f.state.archive[0].id, id); /* the oldest went first */
    assert_true(f.state.narchive > FO_MAX_HISTORY); /* more than the old 64 */

    a = snap(&f);
    fo_fsm_init(&g);
    assert_int_equal(fo_fsm_restore(&g, a.data, a.len, &err), 0);
    assert_int_equal(g.state.narchive, f.state.narchive);
    assert_int_equal(g.state.history_dropped, f.state.history_dropped);
    b = snap(&g);
    assert_buf_equal(&a, &b);
    fo_buf_free(&a);
    fo_buf_free(&b);
    fo_fsm_close(&f);
    fo_fsm_close(&g);
}

/* ---- mode, cooldown, digest ------------------------------------------------------- */

static void test_mode_cooldown_digest(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    char node[16];
    (void)state;

    fsm_ready(&f);
    mode_cmd(&c, FO_MODE_PAUSED, "alice", "upgrade", T0 + 10);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.mode, FO_MODE_PAUSED);
    assert_string_equal(f.state.mode_by, "alice");
    assert_string_equal(f.state.mode_reason, "upgrade");
    assert_int_equal(f.state.mode_since_ms, T0 + 10);
    assert_string_equal(last_event(&f)->what, "paused");
    assert_string_equal(last_event(&f)->by, "alice");
    assert_string_equal(last_event(&f)->text, "upgrade");

    mode_cmd(&c, FO_MODE_AUTO, "bob", NULL, T0 + 20);
    apply(&f, &c);
    assert_int_equal(f.state.mode, FO_MODE_AUTO);
    assert_string_equal(f.state.mode_by, "bob");
    assert_null(f.state.mode_reason);
    assert_string_equal(last_event(&f)->what, "resumed");

    cooldown_cmd(&c, T0 + 5000, "us-west-2", T0 + 30);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.cooldown_until_ms, T0 + 5000);
    assert_string_equal(last_event(&f)->what, "cooldown");
    assert_int_equal(last_event(&f)->at_ms, T0 + 30);

    digest_cmd(&c, "us-east-1", "aaaa", T0 + 40);
    apply(&f, &c);
    digest_cmd(&c, "us-west-2", "bbbb", T0 + 41);
    apply(&f, &c);
    digest_cmd(&c, "us-east-1", "cccc", T0 + 42);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.ndigests, 2);
    assert_string_equal(f.state.digests[0].node, "us-east-1");
    assert_string_equal(f.state.digests[0].digest, "cccc");
    assert_int_equal(f.state.digests[0].at_ms, T0 + 42);
    for (int i = 2; i < FO_MAX_DIGESTS; i++) {
        snprintf(node, sizeof(node), "node-%d", i);
        digest_cmd(&c, node, "dddd", T0 + 50);
        apply(&f, &c);
        assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    }
    digest_cmd(&c, "node-extra", "eeee", T0 + 60);
    expect_rejected(&f, &c, "digest table full");
    digest_cmd(&c, "us-west-2", "ffff", T0 + 61); /* known nodes still update */
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    fo_fsm_close(&f);
}

static void test_events_ring(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    (void)state;

    fsm_ready(&f); /* one "initialized" event */
    for (int i = 0; i < FO_FSM_EVENTS_KEEP + 10; i++) {
        cooldown_cmd(&c, (uint64_t)i, NULL, (uint64_t)i);
        apply(&f, &c);
    }
    assert_int_equal(f.state.nevents, FO_FSM_EVENTS_KEEP);
    assert_int_equal(f.state.events[0].at_ms, 10);
    assert_int_equal(last_event(&f)->at_ms, FO_FSM_EVENTS_KEEP + 9);
    /* A rejection on a full ring still records its event. */
    begin_cmd(&c, "op-1", FO_OP_MANUAL, "dr", "main", 1, T0);
    expect_rejected(&f, &c, "is not the primary");
    fo_fsm_close(&f);
}

/* ---- garbage entries ------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* Wrap a msgpack payload into a frame. */
static struct fo_buf framed(const struct fo_buf *payload)
{
    struct fo_buf out = {malloc(payload->len + FO_FRAME_HEADER), payload->len + FO_FRAME_HEADER};
    assert_non_null(out.data);
    out.data[0] = (uint8_t)(payload->len >> 24);
    out.data[1] = (uint8_t)(payload->len >> 16);
    out.data[2] = (uint8_t)(payload->len >> 8);
    out.data[3] = (uint8_t)payload->len;
    memcpy(out.data + FO_FRAME_HEADER, payload->data, payload->len);
    return out;
}

/* Two FSMs with the same history, so that garbage can be applied to both. */
static void twin_ready(struct fo_fsm *f)
{
    struct fo_cmd c;
    fsm_ready(f);
    verdict_cmd(&c, "us-west-2", "us-east-1", FO_STATUS_DOWN, T0 + 1, "x");
    apply(f, &c);
    begin_cmd(&c, "op-1", FO_OP_AUTO, "main", "dr", 1, T0 + 2);
    apply(f, &c);
}

/* Apply the same garbage to both FSMs: each HALTS before it (never skips it: a node of
 * another release may have applied it), with nothing of its state changed, not even the
 * incident log, and stays halted; a restore (what a restart with a newer binary does)
 * brings it back. */
static void expect_halt_twice(struct fo_fsm *a, struct fo_fsm *b, const uint8_t *p, size_t n)
{
    struct fo_buf before = snap(a), after, sa, sb, good;
    uint64_t applied = a->applied, rejected = a->rejected;
    struct fo_cmd c;
    struct fo_proto_error err;

    fo_fsm_apply_frame(a, p, n);
    fo_fsm_apply_frame(b, p, n);
    assert_int_equal(a->last.outcome, FO_FSM_HALTED);
    assert_int_equal(b->last.outcome, FO_FSM_HALTED);
    assert_true(a->halted);
    assert_int_equal(a->last.type, FO_CMD_NTYPES);
    assert_string_equal(a->last.msg, b->last.msg);
    assert_string_equal(a->halt_msg, a->last.msg);
    assert_non_null(strstr(a->halt_msg, "cannot apply a committed entry"));
    assert_int_equal(a->applied, applied);
    assert_int_equal(a->rejected, rejected);
    after = snap(a);
    assert_buf_equal(&before, &after);
    /* Halted: a good entry after it is refused too, and changes nothing. */
    mode_cmd(&c, FO_MODE_PAUSED, "alice", "after a halt", T0 + 50);
    assert_int_equal(fo_cmd_encode(&c, &good, NULL), FO_PROTO_OK);
    fo_fsm_apply_frame(a, good.data, good.len);
    assert_int_equal(a->last.outcome, FO_FSM_HALTED);
    assert_string_equal(a->last.msg, b->last.msg); /* the first reason stays */
    fo_buf_free(&after);
    after = snap(a);
    assert_buf_equal(&before, &after);
    fo_buf_free(&good);
    /* A restore of the applied state clears the halt on both. */
    assert_int_equal(fo_fsm_restore(a, before.data, before.len, &err), 0);
    assert_int_equal(fo_fsm_restore(b, before.data, before.len, &err), 0);
    assert_false(a->halted);
    assert_false(b->halted);
    sa = snap(a);
    sb = snap(b);
    assert_buf_equal(&sa, &sb);
    fo_buf_free(&before);
    fo_buf_free(&after);
    fo_buf_free(&sa);
    fo_buf_free(&sb);
}

static void test_garbage(void **state)
{
    struct fo_fsm a, b;
    struct fo_cmd c;
    struct fo_buf good, bad, payload;
    uint64_t seed = 42;
    uint8_t rnd[300];
    (void)state;

    twin_ready(&a);
    twin_ready(&b);

    /* Random bytes of many lengths, with and without a plausible header. */
    for (int i = 0; i < 60; i++) {
        size_t n = (size_t)(rng_next(&seed) % sizeof(rnd));
        for (size_t k = 0; k < n; k++)
            rnd[k] = (uint8_t)rng_next(&seed);
        if (i % 2 == 0 && n >= FO_FRAME_HEADER) {
            rnd[0] = rnd[1] = 0;
            rnd[2] = (uint8_t)((n - FO_FRAME_HEADER) >> 8);
            rnd[3] = (uint8_t)(n - FO_FRAME_HEADER);
        }
        expect_halt_twice(&a, &b, rnd, n);
    }
    expect_halt_twice(&a, &b, NULL, 0);

    /* A valid command, truncated anywhere, or with trailing bytes. */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 3, NULL, "us-west-2");
    assert_int_equal(fo_cmd_encode(&c, &good, NULL), FO_PROTO_OK);
    for (size_t n = 0; n < good.len; n += 7)
        expect_halt_twice(&a, &b, good.data, n);
    expect_halt_twice(&a, &b, good.data, good.len - 1);
    bad.len = good.len + 1;
    bad.data = calloc(1, bad.len);
    assert_non_null(bad.data);
    memcpy(bad.data, good.data, good.len);
    expect_halt_twice(&a, &b, bad.data, bad.len); /* a byte after the frame */
    bad.data[3]++;                                /* inside the frame, after the map */
    expect_halt_twice(&a, &b, bad.data, bad.len);
    fo_buf_free(&bad);

    /* Well-formed frames that are not commands we know. */
    payload = mp_build("M3 s u s s s s", "v", (uint64_t)1, "t", "failover_now", "to", "dr");
    bad = framed(&payload);
    expect_halt_twice(&a, &b, bad.data, bad.len);
    fo_buf_free(&bad);
    fo_buf_free(&payload);
    payload = mp_build("M4 s u s s s s s u", "v", (uint64_t)2, "t", "cooldown", "by", "x",
                       "until_ms", (uint64_t)1);
    bad = framed(&payload);
    expect_halt_twice(&a, &b, bad.data, bad.len);
    fo_buf_free(&bad);
    fo_buf_free(&payload);
    /* A snapshot is not a command. */
    assert_int_equal(fo_fsm_snapshot(&a, &bad), 0);
    expect_halt_twice(&a, &b, bad.data, bad.len);
    fo_buf_free(&bad);
    /* op_end "running" decodes but is refused by the decoder. */
    end_cmd(&c, "op-1", 1, FO_RESULT_RUNNING, T0 + 4, NULL);
    assert_int_equal(fo_cmd_encode(&c, &bad, NULL), FO_PROTO_OK);
    expect_halt_twice(&a, &b, bad.data, bad.len);
    fo_buf_free(&bad);

    /* The FSMs still work, identically. */
    fo_fsm_apply_frame(&a, good.data, good.len);
    fo_fsm_apply_frame(&b, good.data, good.len);
    assert_int_equal(a.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(a.state.operation->steps[0].state, FO_STEP_RUNNING);
    {
        struct fo_buf sa = snap(&a), sb = snap(&b);
        assert_buf_equal(&sa, &sb);
        fo_buf_free(&sa);
        fo_buf_free(&sb);
    }
    fo_buf_free(&good);

    /* A decoded command of an unknown type (only reachable through fo_fsm_apply). */
    memset(&c, 0, sizeof(c));
    c.type = FO_CMD_NTYPES;
    fo_fsm_apply(&a, &c);
    assert_int_equal(a.last.outcome, FO_FSM_INVALID);
    fo_fsm_close(&a);
    fo_fsm_close(&b);
}

/* ---- the cluster format (proto/codec.h "Versions") ---------------------------------- */

static void format_cmd(struct fo_cmd *c, uint32_t format, uint64_t at)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_FORMAT;
    c->u.format = (struct fo_cmd_format){format, "alice@host", at};
}

/* The format command only raises, only to what this binary reads; snapshots follow the
 * committed format, never this binary's. */
static void test_format_command(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    struct fo_buf s0, s1, raw;
    (void)state;

    fsm_ready(&f);
    assert_int_equal(fo_state_format(&f.state), FO_FORMAT_BASE);
    s0 = snap(&f);
    assert_true(s0.data[7] <= FO_FORMAT_BASE); /* what 0.1.0 reads */

    format_cmd(&c, 4, T0 + 1);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(f.state.format, 4);
    assert_string_equal(last_event(&f)->what, "upgraded");
    assert_string_equal(last_event(&f)->by, "alice@host");
    assert_string_equal(last_event(&f)->text, "format v4");
    s1 = snap(&f);
    assert_int_equal(s1.data[7], 4);
    fo_buf_free(&s1);

    /* A second raise to the same format (a retry) changes nothing. */
    s0.len = 0;
    fo_buf_free(&s0);
    s0 = snap(&f);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    s1 = snap(&f);
    assert_int_equal(s0.len, s1.len);
    assert_memory_equal(s0.data, s1.data, s0.len);
    fo_buf_free(&s1);

    /* Never down. */
    format_cmd(&c, 3, T0 + 2);
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_REJECTED);
    assert_string_equal(f.last.msg, "the cluster format never goes down (v4, asked v3)");
    assert_int_equal(f.state.format, 4);

    /* Beyond what this binary reads: halt before it, nothing changed. */
    fo_buf_free(&s0);
    s0 = snap(&f);
    format_cmd(&c, FO_PROTO_VERSION + 1, T0 + 3);
    assert_int_equal(fo_cmd_encode_max(&c, FO_PROTO_VERSION + 1, &raw, NULL), FO_PROTO_OK);
    fo_fsm_apply_frame(&f, raw.data, raw.len);
    fo_buf_free(&raw);
    assert_int_equal(f.last.outcome, FO_FSM_HALTED);
    assert_true(f.halted);
    assert_non_null(strstr(f.halt_msg, "run a newer release on this node"));
    s1 = snap(&f);
    assert_int_equal(s0.len, s1.len);
    assert_memory_equal(s0.data, s1.data, s0.len);
    fo_buf_free(&s0);
    fo_buf_free(&s1);
    fo_fsm_close(&f);
}

/* A cluster created by a leader that names its format starts there (no event: it is
 * part of the creation); one that names none (a 0.1.0 leader) starts at the base; one
 * that names a format beyond this binary halts it before anything is set. */
static void test_init_format(void **state)
{
    struct fo_fsm f;
    struct fo_cmd c;
    struct fo_buf raw;
    (void)state;

    fo_fsm_init(&f);
    init_cmd(&c, "test", "main", T0);
    c.u.init.format = 4;
    apply(&f, &c);
    assert_int_equal(f.last.outcome, FO_FSM_APPLIED);
    assert_int_equal(fo_state_format(&f.state), 4);
    assert_string_equal(last_event(&f)->what, "initialized");
    fo_fsm_close(&f);

    fsm_ready(&f); /* format 0 in the init */
    assert_int_equal(fo_state_format(&f.state), FO_FORMAT_BASE);
    fo_fsm_close(&f);

    fo_fsm_init(&f);
    init_cmd(&c, "test", "main", T0);
    c.u.init.format = FO_PROTO_VERSION + 1;
    assert_int_equal(fo_cmd_encode_max(&c, FO_PROTO_VERSION + 1, &raw, NULL), FO_PROTO_OK);
    fo_fsm_apply_frame(&f, raw.data, raw.len);
    fo_buf_free(&raw);
    assert_int_equal(f.last.outcome, FO_FSM_HALTED);
    assert_null(f.state.cluster);
    assert_non_null(strstr(f.halt_msg, "run a newer release on this node"));
    fo_fsm_close(&f);
}

/* ---- snapshot / restore ------------------------------------------------------------ */

/* A state with every part populated by commands. */
static void rich(struct fo_fsm *f)
{
    struct fo_cmd c;
    twin_ready(f); /* op-1 in flight, epoch 1, primary dr */
    step_cmd(&c, "op-1", 1, 0, FO_STEP_RUNNING, 1, T0 + 3, NULL, "us-west-2");
    apply(f, &c);
    step_cmd(&c, "op-1", 1, 0, FO_STEP_DONE, 1, T0 + 4, NULL, NULL);
    apply(f, &c);
    end_cmd(&c, "op-1", 1, FO_RESULT_SUCCEEDED, T0 + 5, NULL);
    apply(f, &c);
    begin_cmd(&c, "op-2", FO_OP_MANUAL, "dr", "main", 2, T0 + 6);
    apply(f, &c);
    step_cmd(&c, "op-2", 2, 1, FO_STEP_RUNNING, 1, T0 + 7, NULL, "eu-west-1");
    apply(f, &c);
    step_cmd(&c, "op-2", 2, 1, FO_STEP_FAILED, 1, T0 + 8, "boom", NULL);
    apply(f, &c);
    mode_cmd(&c, FO_MODE_PAUSED, "alice", "maintenance", T0 + 9);
    apply(f, &c);
    cooldown_cmd(&c, T0 + 100000, "us-west-2", T0 + 10);
    apply(f, &c);
    digest_cmd(&c, "us-east-1", "abcdef", T0 + 11);
    apply(f, &c);
    init_cmd(&c, "other", "main", T0 + 12); /* a rejection event */
    apply(f, &c);
}

static void test_snapshot_roundtrip(void **state)
{
    struct fo_fsm f, g, h;
    struct fo_buf s1, s2, s3;
    struct fo_proto_error err;
    struct fo_state st;
    (void)state;

    rich(&f);
    s1 = snap(&f);
    fo_fsm_init(&g);
    assert_int_equal(fo_fsm_restore(&g, s1.data, s1.len, &err), 0);
    s2 = snap(&g);
    assert_buf_equal(&s1, &s2);
    assert_int_equal(g.state.epoch, 2);
    assert_string_equal(g.state.primary, "main");
    assert_non_null(g.state.operation);

    /* Restore replaces everything: restoring an empty FSM's snapshot empties it. */
    fo_fsm_init(&h);
    s3 = snap(&h);
    assert_int_equal(fo_fsm_restore(&g, s3.data, s3.len, &err), 0);
    assert_null(g.state.cluster);
    assert_null(g.state.operation);
    assert_int_equal(g.state.nverdicts, 0);
    fo_buf_free(&s2);
    s2 = snap(&g);
    assert_buf_equal(&s2, &s3);

    /* The restored FSM goes on exactly like the original. */
    assert_int_equal(fo_fsm_restore(&g, s1.data, s1.len, &err), 0);
    {
        struct fo_cmd c;
        struct fo_buf a, b;
        step_cmd(&c, "op-2", 2, 1, FO_STEP_RUNNING, 2, T0 + 20, NULL, "us-east-1");
        apply(&f, &c);
        apply(&g, &c);
        a = snap(&f);
        b = snap(&g);
        assert_buf_equal(&a, &b);
        fo_buf_free(&a);
        fo_buf_free(&b);
    }
    fo_buf_free(&s1);
    fo_buf_free(&s2);
    fo_buf_free(&s3);

    /* The sample state with every field set survives a restore byte for byte. */
    fo_sample_state(&st);
    assert_int_equal(fo_state_encode(&st, &s1, NULL), FO_PROTO_OK);
    fo_state_free(&st);
    assert_int_equal(fo_fsm_restore(&h, s1.data, s1.len, &err), 0);
    s2 = snap(&h);
    assert_buf_equal(&s1, &s2);
    fo_buf_free(&s1);
    fo_buf_free(&s2);
    fo_fsm_close(&f);
    fo_fsm_close(&g);
    fo_fsm_close(&h);
}

static void expect_restore_fails(struct fo_fsm *f, const uint8_t *p, size_t n)
{
    struct fo_buf before = snap(f), after;
    struct fo_proto_error err;
    assert_int_not_equal(fo_fsm_restore(f, p, n, &err), 0);
    assert_true(err.msg[0] != '\0');
    after = snap(f);
    assert_buf_equal(&before, &after);
    fo_buf_free(&before);
    fo_buf_free(&after);
}

static void test_restore_corrupt(void **state)
{
    struct fo_fsm f;
    struct fo_buf s, bad, payload;
    struct fo_cmd c;
    uint64_t seed = 7;
    (void)state;

    rich(&f);
    s = snap(&f);
    expect_restore_fails(&f, NULL, 0);
    expect_restore_fails(&f, s.data, 3);
    expect_restore_fails(&f, s.data, s.len - 1);
    for (size_t n = FO_FRAME_HEADER; n < s.len; n += s.len / 17)
        expect_restore_fails(&f, s.data, n);

    bad.len = s.len + 1;
    bad.data = calloc(1, bad.len);
    assert_non_null(bad.data);
    memcpy(bad.data, s.data, s.len);
    expect_restore_fails(&f, bad.data, bad.len); /* trailing byte */
    /* Random bytes over the payload, keeping the header. */
    for (int i = 0; i < 20; i++) {
        memcpy(bad.data, s.data, s.len);
        for (size_t k = FO_FRAME_HEADER; k < s.len; k++)
            bad.data[k] = (uint8_t)rng_next(&seed);
        expect_restore_fails(&f, bad.data, s.len);
    }
    fo_buf_free(&bad);

    /* A command is not a snapshot; a snapshot of another version neither. */
    init_cmd(&c, "test", "main", T0);
    assert_int_equal(fo_cmd_encode(&c, &bad, NULL), FO_PROTO_OK);
    expect_restore_fails(&f, bad.data, bad.len);
    fo_buf_free(&bad);
    payload = mp_build("M2 s u s s", "v", (uint64_t)2, "t", "snapshot");
    bad = framed(&payload);
    expect_restore_fails(&f, bad.data, bad.len);
    fo_buf_free(&bad);
    fo_buf_free(&payload);
    /* An unknown field inside the state. */
    payload = mp_build("M4 s u s s s u s u", "v", (uint64_t)1, "t", "snapshot", "epoch",
                       (uint64_t)1, "surprise", (uint64_t)1);
    bad = framed(&payload);
    expect_restore_fails(&f, bad.data, bad.len);
    fo_buf_free(&bad);
    fo_buf_free(&payload);

    /* After all that the original snapshot still restores. */
    {
        struct fo_proto_error err;
        struct fo_buf again;
        assert_int_equal(fo_fsm_restore(&f, s.data, s.len, &err), 0);
        again = snap(&f);
        assert_buf_equal(&s, &again);
        fo_buf_free(&again);
    }
    fo_buf_free(&s);
    fo_fsm_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_verdict),
        cmocka_unit_test(test_verdict_table_full),
        cmocka_unit_test(test_op_begin_accepted),
        cmocka_unit_test(test_op_begin_rejected),
        cmocka_unit_test(test_manual_while_paused_and_in_cooldown),
        cmocka_unit_test(test_drill),
        cmocka_unit_test(test_rejoin),
        cmocka_unit_test(test_rejoin_kind_is_v4),
        cmocka_unit_test(test_steps),
        cmocka_unit_test(test_step_outcomes),
        cmocka_unit_test(test_step_outcome_fits),
        cmocka_unit_test(test_op_end),
        cmocka_unit_test(test_history_ring),
        cmocka_unit_test(test_history_archive_budget),
        cmocka_unit_test(test_mode_cooldown_digest),
        cmocka_unit_test(test_events_ring),
        cmocka_unit_test(test_garbage),
        cmocka_unit_test(test_format_command),
        cmocka_unit_test(test_init_format),
        cmocka_unit_test(test_snapshot_roundtrip),
        cmocka_unit_test(test_restore_corrupt),
    };
    return cmocka_run_group_tests_name("fsm", tests, NULL, NULL);
}
