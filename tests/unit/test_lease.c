/*
 * tests/unit/test_lease.c — the write lease's rules (coordinator/run/lease.h) on states the
 * real FSM (consensus/fsm.h) reaches: which lease marks it keeps, and when the gate lets
 * a promote of the next epoch go.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/fsm.h"
#include "coordinator/config/config.h"
#include "coordinator/run/lease.h"
#include "proto/command.h"

static const char cfg_text[] =
    "cluster: t\n"
    "node: {name: us-east-1, data_dir: /tmp/x}\n"
    "tls: {mode: off}\n"
    "admin: {token_file: /t}\n"
    "peers:\n"
    "  - {name: us-east-1, id: 1, region: us-east-1, raft: 10.0.0.1:1, admin: 10.0.0.1:2}\n"
    "  - {name: us-west-2, id: 2, region: us-west-2, raft: 10.0.0.2:1, admin: 10.0.0.2:2}\n"
    "  - {name: eu-west-1, id: 3, region: eu-west-1, raft: 10.0.0.3:1, admin: 10.0.0.3:2}\n"
    "regions: [us-east-1, us-west-2, eu-west-1]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main: {priority: 1, postgres: {region: us-east-1, host: h}, redis: {region: us-east-1, "
    "host: h}}\n"
    "  dr: {priority: 2, postgres: {region: eu-west-1, host: h}, redis: {region: us-west-2, "
    "host: h}}\n";

static struct fo_config cfg;

static int setup(void **state)
{
    struct fo_error err = {0};
    (void)state;
    if (fo_config_load_buffer("t.yaml", cfg_text, strlen(cfg_text), &cfg, &err) != 0) {
        fprintf(stderr, "config: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fo_config_free(&cfg);
    return 0;
}

static void init(struct fo_fsm *f)
{
    struct fo_cmd c = {.type = FO_CMD_INIT};
    fo_fsm_init(f);
    c.u.init.cluster = "t";
    c.u.init.primary = "main";
    c.u.init.at_ms = 1;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

static int mark(struct fo_fsm *f, const char *site, uint64_t epoch, const char *guardian,
                const char *node, int what)
{
    struct fo_cmd c = {.type = FO_CMD_LEASE};
    c.u.lease.site = (char *)site;
    c.u.lease.epoch = epoch;
    c.u.lease.guardian = (char *)guardian;
    c.u.lease.node = (char *)node;
    c.u.lease.what = what;
    c.u.lease.at_ms = 2;
    fo_fsm_apply(f, &c);
    return f->last.outcome;
}

static void begin(struct fo_fsm *f, const char *from, const char *to, uint64_t epoch)
{
    struct fo_cmd c = {.type = FO_CMD_OP_BEGIN};
    char id[32];
    snprintf(id, sizeof(id), "op-%llu", (unsigned long long)epoch);
    c.u.op_begin.id = id;
    c.u.op_begin.kind = FO_OP_MANUAL;
    c.u.op_begin.from = (char *)from;
    c.u.op_begin.to = (char *)to;
    c.u.op_begin.reason = "test";
    c.u.op_begin.requested_by = "t";
    c.u.op_begin.epoch = epoch;
    c.u.op_begin.at_ms = 3;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

static void end(struct fo_fsm *f, uint64_t epoch)
{
    struct fo_cmd c = {.type = FO_CMD_OP_END};
    char id[32];
    snprintf(id, sizeof(id), "op-%llu", (unsigned long long)epoch);
    c.u.op_end.op_id = id;
    c.u.op_end.epoch = epoch;
    c.u.op_end.result = FO_RESULT_SUCCEEDED;
    c.u.op_end.at_ms = 4;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

static void verdict(struct fo_fsm *f, const char *observer, const char *region, int status)
{
    struct fo_cmd c = {.type = FO_CMD_VERDICT};
    c.u.verdict.observer = (char *)observer;
    c.u.verdict.region = (char *)region;
    c.u.verdict.status = status;
    c.u.verdict.at_ms = 5;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

/* W = (L + F)(1 + rho)/(1 - rho), rounded up: the attest window of the model. */
static void test_timing(void **state)
{
    struct fo_lease_params p = fo_lease_defaults;
    char msg[128];
    (void)state;
    assert_int_equal(fo_lease_attest_ms(&p), 781); /* 750 * 1.02 / 0.98 = 780.6 */
    assert_int_equal(fo_lease_params_check(&p, msg, sizeof(msg)), 0);
    p.rate_margin_permille = 0;
    assert_int_equal(fo_lease_attest_ms(&p), 750);
    p.renew_ms = 400;
    assert_int_equal(fo_lease_params_check(&p, msg, sizeof(msg)), -1);
    assert_non_null(strstr(msg, "renew_ms (400) must be at most half of lease_ms (600)"));
    p = fo_lease_defaults;
    p.rate_margin_permille = 500;
    assert_int_equal(fo_lease_params_check(&p, msg, sizeof(msg)), -1);
}

/* One guardian per component region that has a node. */
static void test_guardians(void **state)
{
    const struct fo_peer *g[4];
    (void)state;
    assert_int_equal(fo_lease_guardians(&cfg, "main", g, 4), 1);
    assert_string_equal(g[0]->name, "us-east-1");
    assert_int_equal(fo_lease_guardians(&cfg, "dr", g, 4), 2);
    assert_true(fo_lease_is_guardian(&cfg, "dr", fo_config_peer_by_name(&cfg, "eu-west-1")));
    assert_true(fo_lease_is_guardian(&cfg, "dr", fo_config_peer_by_name(&cfg, "us-west-2")));
    assert_false(fo_lease_is_guardian(&cfg, "dr", fo_config_peer_by_name(&cfg, "us-east-1")));
    assert_int_equal(fo_lease_guardians(&cfg, "nowhere", g, 4), 0);
    assert_true(fo_lease_kind_gated("postgres.promote"));
    assert_true(fo_lease_kind_gated("redis.promote"));
    assert_false(fo_lease_kind_gated("postgres.fence"));
}

/* The FSM keeps marks only for a (site, epoch) that held the lease. */
static void test_marks_kept_and_refused(void **state)
{
    struct fo_fsm f;
    (void)state;
    init(&f);
    assert_int_equal(mark(&f, "dr", 0, "eu-west-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_REJECTED); /* dr never held the lease */
    assert_int_equal(mark(&f, "main", 1, "us-east-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_REJECTED); /* no epoch 1 yet */
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_FENCED),
                     FO_FSM_REJECTED); /* only the guardian can say it fenced */
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_APPLIED);
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_APPLIED); /* a repeat: no second row */
    assert_int_equal(f.state.nleases, 1);
    begin(&f, "main", "dr", 1);
    assert_string_equal(f.state.prev_primary, "main");
    /* the previous primary and epoch still take marks: the operation waits for them */
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "eu-west-1", FO_LEASE_EXPIRED),
                     FO_FSM_APPLIED);
    assert_int_equal(mark(&f, "dr", 1, "eu-west-1", "eu-west-1", FO_LEASE_FENCED), FO_FSM_APPLIED);
    assert_int_equal(f.state.nleases, 3);
    end(&f, 1);
    begin(&f, "dr", "main", 2);
    /* epoch 0's marks are gone; epoch 1's stay (the previous epoch) */
    assert_int_equal(f.state.nleases, 1);
    assert_int_equal(f.state.leases[0].epoch, 1);
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_REJECTED);
    fo_fsm_close(&f);
}

/* The gate opens on the guardian's committed fence, or on a majority's attests. */
static void test_gate(void **state)
{
    struct fo_fsm f;
    char why[FO_TEXT_MAX];
    (void)state;
    init(&f);
    begin(&f, "main", "dr", 1);
    assert_false(fo_lease_gate(&f.state, &cfg, "main", 0, why, sizeof(why)));
    assert_non_null(strstr(why, "us-east-1's write lease on main (epoch 0)"));
    assert_non_null(strstr(why, "attested by 0 of 3"));
    mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_EXPIRED);
    assert_false(fo_lease_gate(&f.state, &cfg, "main", 0, why, sizeof(why)));
    assert_non_null(strstr(why, "attested by 1 of 3"));
    mark(&f, "main", 0, "us-east-1", "eu-west-1", FO_LEASE_EXPIRED);
    assert_true(fo_lease_gate(&f.state, &cfg, "main", 0, why, sizeof(why)));
    /* a mark of another epoch says nothing about this one */
    assert_false(fo_lease_gate(&f.state, &cfg, "dr", 1, why, sizeof(why)));
    fo_fsm_close(&f);

    init(&f);
    begin(&f, "main", "dr", 1);
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-east-1", FO_LEASE_FENCED),
                     FO_FSM_APPLIED);
    assert_true(fo_lease_gate(&f.state, &cfg, "main", 0, why, sizeof(why)));
    end(&f, 1);
    /* dr has two guardians: both must be accounted for */
    begin(&f, "dr", "main", 2);
    mark(&f, "dr", 1, "eu-west-1", "eu-west-1", FO_LEASE_FENCED);
    assert_false(fo_lease_gate(&f.state, &cfg, "dr", 1, why, sizeof(why)));
    assert_non_null(strstr(why, "us-west-2's write lease on dr"));
    mark(&f, "dr", 1, "us-west-2", "us-east-1", FO_LEASE_EXPIRED);
    mark(&f, "dr", 1, "us-west-2", "us-west-2", FO_LEASE_EXPIRED);
    assert_true(fo_lease_gate(&f.state, &cfg, "dr", 1, why, sizeof(why)));
    fo_fsm_close(&f);
}

/* A quorum of observers holding the site DOWN, whatever the guardian sees itself. */
static void test_held_down(void **state)
{
    struct fo_fsm f;
    (void)state;
    init(&f);
    assert_false(fo_lease_site_held_down(&f.state, &cfg, "main"));
    verdict(&f, "us-west-2", "us-east-1", FO_STATUS_DOWN);
    verdict(&f, "us-east-1", "us-east-1", FO_STATUS_UP);
    assert_false(fo_lease_site_held_down(&f.state, &cfg, "main"));
    verdict(&f, "eu-west-1", "us-east-1", FO_STATUS_DOWN);
    assert_true(fo_lease_site_held_down(&f.state, &cfg, "main"));
    verdict(&f, "eu-west-1", "us-east-1", FO_STATUS_UP);
    assert_false(fo_lease_site_held_down(&f.state, &cfg, "main"));
    fo_fsm_close(&f);
}

/* ---- the clock-injected core (lease.h): what the callbacks saw -------------------- */

struct seen {
    unsigned fences, lifts, sends, proposals;
    uint64_t epoch;           /* the epoch the last fence or lift carried */
    struct fo_cmd_lease last; /* the last proposed mark (strings borrowed: copied below) */
    char site[32], guardian[32], node[32];
};

static void seen_fence(struct fo_lease *l, const char *site, uint64_t epoch, bool fence)
{
    struct seen *x = l->data;
    (void)site;
    x->epoch = epoch;
    if (fence)
        x->fences++;
    else
        x->lifts++;
}

static void seen_propose(struct fo_lease *l, const struct fo_cmd *cmd)
{
    struct seen *x = l->data;
    x->proposals++;
    x->last = cmd->u.lease;
    snprintf(x->site, sizeof(x->site), "%s", cmd->u.lease.site);
    snprintf(x->guardian, sizeof(x->guardian), "%s", cmd->u.lease.guardian);
    snprintf(x->node, sizeof(x->node), "%s", cmd->u.lease.node);
}

static void seen_send(struct fo_lease *l, const struct fo_peer *peer, const char *site,
                      uint64_t epoch, uint64_t round)
{
    struct seen *x = l->data;
    (void)peer;
    (void)site;
    (void)epoch;
    (void)round;
    x->sends++;
}

static uint64_t seen_wall(struct fo_lease *l)
{
    (void)l;
    return 42;
}

static void core(struct fo_lease *l, struct seen *x, const char *self)
{
    memset(l, 0, sizeof(*l));
    memset(x, 0, sizeof(*x));
    l->data = x;
    l->on_fence = seen_fence;
    l->propose = seen_propose;
    l->send = seen_send;
    l->wall = seen_wall;
    fo_lease_core_init(l, &cfg, fo_config_peer_by_name(&cfg, self), &fo_lease_defaults);
}

/* The guardian: a majority-granted round keeps the lease for L from its SEND time on its
 * own clock; at the end it fences (lapsed); the move away is final and marked fenced. */
static void test_core_guardian(void **state)
{
    struct fo_fsm f;
    struct fo_lease g;
    struct seen x;
    (void)state;
    init(&f);
    core(&g, &x, "us-east-1");
    fo_lease_core_tick(&g, &f.state, 1100); /* not started: nothing */
    assert_int_equal(x.sends, 0);
    fo_lease_core_start(&g, 1000);
    fo_lease_core_tick(&g, &f.state, 1100); /* round 1 at 1100; self answers "starting" */
    assert_true(g.guarding);
    assert_int_equal(x.sends, 2);
    fo_lease_core_granted(&g, &f.state, 1400, fo_config_peer_by_name(&cfg, "us-west-2"), 1);
    assert_int_equal(g.valid_ms, 1700); /* the start-up lease: no majority yet */
    fo_lease_core_granted(&g, &f.state, 1450, fo_config_peer_by_name(&cfg, "eu-west-1"), 1);
    assert_int_equal(g.valid_ms, 1100 + 600); /* from the send, not the answer */
    fo_lease_core_granted(&g, &f.state, 1460, fo_config_peer_by_name(&cfg, "eu-west-1"), 99);
    assert_int_equal(g.valid_ms, 1700); /* an unknown round changes nothing */
    fo_lease_core_tick(&g, &f.state, 1699);
    assert_false(g.fenced);
    fo_lease_core_tick(&g, &f.state, 1700);
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_LAPSED);
    assert_int_equal(x.fences, 1);
    /* a lapse is not final: no mark; a round sent after the fence, granted by a majority,
     * lifts it once the fence actions answered */
    fo_lease_core_fence_done(&g, "main", 0, true);
    assert_int_equal(x.proposals, 0);
    fo_lease_core_granted(&g, &f.state, 1750, fo_config_peer_by_name(&cfg, "us-west-2"), 3);
    fo_lease_core_granted(&g, &f.state, 1760, fo_config_peer_by_name(&cfg, "eu-west-1"), 3);
    fo_lease_core_tick(&g, &f.state, 1790); /* round 3 was sent AT the fence: no lift */
    assert_true(g.fenced);
    fo_lease_core_tick(&g, &f.state, 1800); /* round 5, after the fence */
    fo_lease_core_granted(&g, &f.state, 1810, fo_config_peer_by_name(&cfg, "us-west-2"), 5);
    fo_lease_core_granted(&g, &f.state, 1820, fo_config_peer_by_name(&cfg, "eu-west-1"), 5);
    assert_true(g.fenced); /* renewals keep their rhythm: lifted at the next tick */
    fo_lease_core_tick(&g, &f.state, 1900);
    assert_false(g.fenced);
    assert_int_equal(x.lifts, 1);
    fo_lease_core_fence_done(&g, "main", 0, true);
    /* the move away: fenced at once, and the confirmed fence is marked */
    begin(&f, "main", "dr", 1);
    fo_lease_core_kick(&g, &f.state, 1930);
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_NOT_PRIMARY);
    assert_int_equal(x.epoch, 1); /* the move's epoch: a late promote of 0 is refused */
    fo_lease_core_fence_done(&g, "main", 0, true); /* not this fence's answer: run again */
    assert_int_equal(x.proposals, 0);
    assert_int_equal(x.fences, 3);
    fo_lease_core_fence_done(&g, "main", 1, true);
    assert_int_equal(x.proposals, 1);
    assert_int_equal(x.last.what, FO_LEASE_FENCED);
    assert_int_equal(x.last.epoch, 0); /* the mark names the lease: (main, 0) */
    assert_string_equal(x.guardian, "us-east-1");
    assert_int_equal(x.last.at_ms, 42); /* the injected wall clock */
    fo_fsm_close(&f);
}

/* A lift still in flight when the node moves away: its answer is not the fence's. */
static void test_core_lift_then_move(void **state)
{
    struct fo_fsm f;
    struct fo_lease g;
    struct seen x;
    (void)state;
    init(&f);
    core(&g, &x, "us-east-1");
    fo_lease_core_start(&g, 0);
    fo_lease_core_tick(&g, &f.state, 1000); /* round 1; the start-up lease ends at 1600 */
    fo_lease_core_tick(&g, &f.state, 1600);
    assert_true(g.fenced); /* lapsed */
    fo_lease_core_fence_done(&g, "main", 0, true);
    fo_lease_core_tick(&g, &f.state, 1700); /* round 3, after the fence */
    fo_lease_core_granted(&g, &f.state, 1710, fo_config_peer_by_name(&cfg, "us-west-2"), 3);
    fo_lease_core_tick(&g, &f.state, 1800); /* self granted round 3 (W passed): lifted */
    assert_false(g.fenced);
    assert_int_equal(x.lifts, 1);
    assert_int_equal(x.fences, 1);
    begin(&f, "main", "dr", 1);
    fo_lease_core_kick(&g, &f.state, 1810); /* fenced, but the lift is still running */
    assert_true(g.fenced);
    assert_int_equal(x.fences, 1);
    fo_lease_core_fence_done(&g, "main", 0, true); /* the LIFT's answer */
    assert_int_equal(x.proposals, 0);              /* no "fenced" mark on it */
    assert_int_equal(x.fences, 2);                 /* the fence runs now */
    assert_int_equal(x.epoch, 1);
    fo_lease_core_fence_done(&g, "main", 1, true);
    assert_int_equal(x.proposals, 1);
    assert_int_equal(x.last.what, FO_LEASE_FENCED);
    fo_fsm_close(&f);
}

/* A move back to this site: its components are fenced primaries of an old epoch, and a
 * lift makes them take writes as a promote does, so it waits for the move's gate (the
 * previous primary's guardians fenced or their expiry attested), not only for a granted
 * round (sim --decide --seed 3362). */
static void test_core_lift_waits_for_gate(void **state)
{
    struct fo_fsm f;
    struct fo_lease g;
    struct seen x;
    (void)state;
    init(&f);
    begin(&f, "main", "dr", 1);
    end(&f, 1);
    core(&g, &x, "us-east-1");
    fo_lease_core_start(&g, 0);
    fo_lease_core_tick(&g, &f.state, 1000); /* restarted after the move: fences main */
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_NOT_PRIMARY);
    fo_lease_core_fence_done(&g, "main", 1, true);
    begin(&f, "dr", "main", 2); /* the move back: main is the decided primary of epoch 2 */
    fo_lease_core_tick(&g, &f.state, 1100); /* round for (main, 2); self grants (W passed) */
    assert_true(g.guarding);
    fo_lease_core_granted(&g, &f.state, 1110, fo_config_peer_by_name(&cfg, "us-west-2"), 1);
    fo_lease_core_tick(&g, &f.state, 1200);
    assert_true(g.fenced); /* a majority granted, but dr's guardians are not done */
    assert_int_equal(x.lifts, 0);
    /* us-west-2 (dr's Redis) marked fenced; eu-west-1 (dr's Postgres) not yet: held */
    assert_int_equal(mark(&f, "dr", 1, "us-west-2", "us-west-2", FO_LEASE_FENCED), FO_FSM_APPLIED);
    fo_lease_core_tick(&g, &f.state, 1300);
    assert_int_equal(x.lifts, 0);
    /* eu-west-1's expiry attested by a majority: the gate is open, and so is the lift */
    assert_int_equal(mark(&f, "dr", 1, "eu-west-1", "us-east-1", FO_LEASE_EXPIRED), FO_FSM_APPLIED);
    assert_int_equal(mark(&f, "dr", 1, "eu-west-1", "us-west-2", FO_LEASE_EXPIRED), FO_FSM_APPLIED);
    fo_lease_core_tick(&g, &f.state, 1400); /* round 1 still counts */
    assert_false(g.fenced);
    assert_int_equal(x.lifts, 1);
    fo_fsm_close(&f);
}

static void begin_steps(struct fo_fsm *f, const char *from, const char *to, uint64_t epoch)
{
    struct fo_step_spec steps[] = {{"promote-postgres", "postgres.promote"},
                                   {"promote-redis", "redis.promote"}};
    struct fo_cmd c = {.type = FO_CMD_OP_BEGIN};
    c.u.op_begin.id = "op-1";
    c.u.op_begin.kind = FO_OP_AUTO;
    c.u.op_begin.from = (char *)from;
    c.u.op_begin.to = (char *)to;
    c.u.op_begin.reason = "test";
    c.u.op_begin.requested_by = "t";
    c.u.op_begin.epoch = epoch;
    c.u.op_begin.at_ms = 3;
    c.u.op_begin.steps = steps;
    c.u.op_begin.nsteps = 2;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

static void step(struct fo_fsm *f, uint32_t index, int state)
{
    struct fo_cmd c = {.type = FO_CMD_STEP};
    c.u.step.op_id = "op-1";
    c.u.step.epoch = 1;
    c.u.step.index = index;
    c.u.step.state = state;
    c.u.step.attempt = 1;
    c.u.step.at_ms = 6;
    c.u.step.outcome = state == FO_STEP_DONE ? FO_STEP_OUTCOME_DONE : FO_STEP_OUTCOME_NONE;
    fo_fsm_apply(f, &c);
    assert_int_equal(f->last.outcome, FO_FSM_APPLIED);
}

/* A promote leaves its component fenced (hold_fence); the guardian of the new primary's
 * component lifts it only once it holds the new lease, the move's gate is open and the
 * promote of its region has run (sim --decide --seed 3516: a component promoted while its
 * guardian was away took writes with no lease). Then it re-asserts the lift. */
static void test_core_promoted_held_until_lease(void **state)
{
    struct fo_fsm f;
    struct fo_lease g;
    struct seen x;
    (void)state;
    init(&f);
    core(&g, &x, "us-west-2"); /* guards dr's Redis */
    fo_lease_core_start(&g, 0);
    begin_steps(&f, "main", "dr", 1);
    fo_lease_core_tick(&g, &f.state, 1000); /* guards (dr, 1), held by the promote */
    assert_true(g.guarding);
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_PROMOTED);
    assert_int_equal(x.fences, 0); /* nothing to run: the promote itself fences */
    fo_lease_core_granted(&g, &f.state, 1010, fo_config_peer_by_name(&cfg, "eu-west-1"), 1);
    fo_lease_core_tick(&g, &f.state, 1100);
    assert_true(g.fenced); /* the lease holds, but main's guardian is not done: the gate */
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-east-1", FO_LEASE_FENCED),
                     FO_FSM_APPLIED);
    fo_lease_core_tick(&g, &f.state, 1200);
    assert_true(g.fenced); /* the gate is open, but the Redis promote has not run */
    step(&f, 1, FO_STEP_RUNNING);
    fo_lease_core_tick(&g, &f.state, 1300);
    assert_true(g.fenced);
    step(&f, 0, FO_STEP_RUNNING); /* Postgres is eu-west-1's: it does not hold us-west-2 */
    step(&f, 1, FO_STEP_DONE);
    fo_lease_core_kick(&g, &f.state, 1310); /* a kick renews nothing and lifts nothing */
    assert_true(g.fenced);
    fo_lease_core_tick(&g, &f.state, 1400);
    assert_false(g.fenced);
    assert_int_equal(x.lifts, 1);
    assert_int_equal(x.epoch, 1); /* the unfence carries the move's epoch */
    assert_int_equal(g.lifts, 1);
    /* an unconfirmed lift is tried again after 5 renew periods; a confirmed one every
     * REFENCE_MS (2 s), while a majority-granted lease holds */
    fo_lease_core_fence_done(&g, "dr", 1, false);
    for (uint64_t t = 1500; t < 1900; t += 100) {
        fo_lease_core_granted(&g, &f.state, t - 50, fo_config_peer_by_name(&cfg, "eu-west-1"),
                              g.next_round);
        fo_lease_core_tick(&g, &f.state, t);
    }
    assert_int_equal(x.lifts, 1);
    fo_lease_core_granted(&g, &f.state, 1850, fo_config_peer_by_name(&cfg, "eu-west-1"),
                          g.next_round);
    fo_lease_core_tick(&g, &f.state, 1900);
    assert_int_equal(x.lifts, 2);
    assert_int_equal(g.lifts, 1); /* a re-assertion is not a lift */
    assert_true(g.lift_reassert);
    fo_lease_core_fence_done(&g, "dr", 1, true);
    for (uint64_t t = 2000; t < 3900; t += 100) {
        fo_lease_core_granted(&g, &f.state, t - 50, fo_config_peer_by_name(&cfg, "eu-west-1"),
                              g.next_round);
        fo_lease_core_tick(&g, &f.state, t);
    }
    assert_int_equal(x.lifts, 2);
    fo_lease_core_granted(&g, &f.state, 3850, fo_config_peer_by_name(&cfg, "eu-west-1"),
                          g.next_round);
    fo_lease_core_tick(&g, &f.state, 3900);
    assert_int_equal(x.lifts, 3);
    /* the lease lapses: fenced again, and no re-assertion while fenced */
    fo_lease_core_fence_done(&g, "dr", 1, true);
    fo_lease_core_tick(&g, &f.state, 4600);
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_LAPSED);
    assert_int_equal(x.lifts, 3);
    fo_fsm_close(&f);
}

/* Before it applied the init, a guardian guards the initial primary at epoch 0: its
 * components take writes from the start, so it fences when no majority renews. */
static void test_core_guardian_before_init(void **state)
{
    struct fo_fsm f;
    struct fo_lease g;
    struct seen x;
    (void)state;
    fo_fsm_init(&f); /* nothing applied */
    core(&g, &x, "us-east-1");
    fo_lease_core_start(&g, 0);
    fo_lease_core_tick(&g, &f.state, 100);
    assert_true(g.guarding);
    assert_int_equal(x.sends, 2);
    fo_lease_core_tick(&g, &f.state, 700);
    assert_true(g.fenced);
    assert_int_equal(g.fence_cause, FO_LEASE_CAUSE_LAPSED);
    fo_fsm_close(&f);
}

/* A granter: nothing for W after its start; a grant; after the move away it refuses, and
 * attests the expiry exactly W after its last grant on its own clock, not before. */
static void test_core_granter(void **state)
{
    struct fo_fsm f;
    struct fo_lease l;
    struct seen x;
    uint64_t w = fo_lease_attest_ms(&fo_lease_defaults);
    (void)state;
    init(&f);
    core(&l, &x, "us-west-2");
    fo_lease_core_start(&l, 0);
    assert_int_equal(fo_lease_core_grant(&l, &f.state, w - 1, "main", 0, "us-east-1"),
                     FO_LEASE_STARTING);
    assert_int_equal(fo_lease_core_grant(&l, &f.state, w, "main", 0, "eu-west-1"),
                     FO_LEASE_NOT_GUARDIAN);
    assert_int_equal(fo_lease_core_grant(&l, &f.state, w, "main", 1, "us-east-1"),
                     FO_LEASE_NOT_PRIMARY);
    assert_int_equal(fo_lease_core_grant(&l, &f.state, 1000, "main", 0, "us-east-1"),
                     FO_LEASE_GRANTED);
    begin(&f, "main", "dr", 1);
    assert_int_equal(fo_lease_core_grant(&l, &f.state, 1001, "main", 0, "us-east-1"),
                     FO_LEASE_NOT_PRIMARY);
    fo_lease_core_tick(&l, &f.state, 1000 + w - 1);
    assert_int_equal(x.proposals, 0);
    fo_lease_core_tick(&l, &f.state, 1000 + w);
    assert_int_equal(x.proposals, 1);
    assert_int_equal(x.last.what, FO_LEASE_EXPIRED);
    assert_string_equal(x.site, "main");
    assert_int_equal(x.last.epoch, 0);
    assert_string_equal(x.guardian, "us-east-1");
    assert_string_equal(x.node, "us-west-2");
    /* committed: not proposed again */
    assert_int_equal(mark(&f, "main", 0, "us-east-1", "us-west-2", FO_LEASE_EXPIRED),
                     FO_FSM_APPLIED);
    fo_lease_core_tick(&l, &f.state, 1000 + w + 100);
    assert_int_equal(x.proposals, 1);
    /* a restart forgets the grants: it waits W again before it attests anything */
    fo_fsm_close(&f);
    init(&f);
    begin(&f, "main", "dr", 1);
    core(&l, &x, "eu-west-1");
    fo_lease_core_start(&l, 5000);
    fo_lease_core_tick(&l, &f.state, 5000 + w - 1);
    assert_int_equal(x.proposals, 0);
    fo_lease_core_tick(&l, &f.state, 5000 + w);
    assert_int_equal(x.proposals, 1);
    fo_fsm_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timing),
        cmocka_unit_test(test_guardians),
        cmocka_unit_test(test_marks_kept_and_refused),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_held_down),
        cmocka_unit_test(test_core_guardian),
        cmocka_unit_test(test_core_granter),
        cmocka_unit_test(test_core_lift_then_move),
        cmocka_unit_test(test_core_guardian_before_init),
        cmocka_unit_test(test_core_lift_waits_for_gate),
        cmocka_unit_test(test_core_promoted_held_until_lease),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
