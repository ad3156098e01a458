/*
 * tests/sim/figure8.c — the Raft "Figure 8" scenario against libraft 0.15, scripted.
 *
 * libraft 0.15 commits entries of older terms by counting replicas (reference §8), and
 * a new leader appends no entry of its own term on election. Three servers A, B, C:
 *
 *   1. A leads term 2; the cluster is initialised (committed everywhere).
 *   2. A is cut off and appends X = op_begin(epoch 1 -> "dr") that nobody else gets.
 *   3. B is elected by C (term 3), is cut off and appends Y = op_begin(epoch 1 -> "dr2").
 *   4. A and C reconnect (B still cut off); A is elected (term >= 4) and sends X to C.
 *      variant "late barrier":  A's barrier is not yet appended (the daemon had not
 *        noticed its leadership yet). With X on A and C, 0.15 counts a majority and
 *        commits X — an entry of term 2 with no entry of A's term — and A applies it.
 *        A crashes right then, before its barrier is appended.
 *      variant "barrier at election" (what failoverd's daemon does): A's barrier
 *        (term 4) is appended before X reaches C, so X travels with it and is committed
 *        legitimately with it; A crashes after its barrier completed.
 *   5. B and C reconnect. late barrier: B's log (last term 3) beats C's (last term 2):
 *      B is elected and overwrites X with Y on C — X was committed and applied on A.
 *      barrier at election: C's log ends in term 4, B cannot win, Y is discarded.
 *   6. Everything heals and A comes back (in the fixture a killed server keeps its memory,
 *      like a long partition). late barrier: A's FSM applied X, the others applied Y at
 *      the same index; does A ever lead (and act on X) again?
 *
 * What libraft 0.15 did (Debian 0.15.0-1, this fixture) is printed by the program and
 * recorded in tests/sim/README.md, together with what it means for failoverd. Checks:
 *   - the script itself went as planned (each expected leader was elected), else FAIL;
 *   - barrier at election: every invariant holds (a)..(f), else FAIL;
 *   - late barrier: (e) — no two leaders act on different operations of one epoch —
 *     is what failoverd's safety rests on; the program reports whether it held. The
 *     violations of (a)/(c)/(f) there are libraft's bug and are only reported.
 */
#include "tests/sim/sim.h"

#include <stdio.h>
#include <string.h>

/* The servers' roles: A is whoever wins the first election. */
static unsigned A, B, C;

static void cut(struct sim *s, unsigned i, unsigned j, bool on)
{
    s->part[i][j] = s->part[j][i] = on;
}

static void isolate(struct sim *s, unsigned i, bool on)
{
    for (unsigned j = 0; j < s->n; j++)
        if (j != i)
            cut(s, i, j, on);
}

static bool run_until(struct sim *s, bool (*done)(struct sim *, unsigned), unsigned i,
                      unsigned max_ms)
{
    raft_time end = raft_fixture_time(&s->f) + max_ms;
    while (!done(s, i)) {
        if (raft_fixture_time(&s->f) >= end)
            return false;
        sim_step(s);
    }
    return true;
}

static bool is_leader(struct sim *s, unsigned i)
{
    return raft_state(sim_raft(s, i)) == RAFT_LEADER;
}

static bool barrier_done(struct sim *s, unsigned i)
{
    struct raft *r = sim_raft(s, i);
    return raft_state(r) == RAFT_LEADER && s->s[i].barrier_term == r->current_term;
}

static bool has_index3(struct sim *s, unsigned i)
{
    return raft_last_index(sim_raft(s, i)) >= 3;
}

static bool applied3(struct sim *s, unsigned i)
{
    return raft_last_applied(sim_raft(s, i)) >= 3;
}

static bool quiet(struct sim *s, unsigned i)
{
    (void)i;
    return sim_converged(s);
}

static void op_begin(struct fo_cmd *c, const char *id, const char *to)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_OP_BEGIN;
    c->u.op_begin = (struct fo_cmd_op_begin){.id = (char *)id,
                                             .kind = FO_OP_MANUAL,
                                             .from = "main",
                                             .to = (char *)to,
                                             .reason = "figure 8",
                                             .requested_by = "sim",
                                             .epoch = 1,
                                             .at_ms = SIM_T0};
}

/* Make server i's election timer expire ms after its last leader contact: the fixture's
 * value only applies to the next draw, so set the one in force too (libraft 0.15's
 * struct raft is public; raft_fixture_elect does the same). */
static void steer(struct sim *s, unsigned i, unsigned ms)
{
    struct raft *r = sim_raft(s, i);
    raft_fixture_set_randomized_election_timeout(&s->f, i, ms);
    if (raft_state(r) == RAFT_FOLLOWER)
        r->follower_state.randomized_election_timeout = ms;
    else if (raft_state(r) == RAFT_CANDIDATE)
        r->candidate_state.randomized_election_timeout = ms;
}

static bool any_leader(struct sim *s, unsigned i)
{
    (void)i;
    for (unsigned k = 0; k < s->n; k++)
        if (raft_state(sim_raft(s, k)) == RAFT_LEADER)
            return true;
    return false;
}

static bool any_leader_but_a(struct sim *s, unsigned i)
{
    (void)i;
    return is_leader(s, B) || is_leader(s, C);
}

#define PLAN(cond, what)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("figure8 %s: FAIL: the script did not go as planned: %s\n", name, what);        \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

/* Returns 0 when the variant's checks pass. */
static int variant(const struct sim_options *opt, bool late)
{
    static struct sim s;
    const char *name = late ? "late-barrier" : "barrier-at-election";
    struct sim_options o = *opt;
    struct fo_cmd c;
    int rc = 1;
    bool x_applied_on_a = false;
    raft_term kill_term;

    o.servers = 3;
    o.seed = 8;
    if (sim_open(&s, &o) != 0) {
        printf("figure8 %s: FAIL: fixture setup\n", name);
        sim_close(&s);
        return 1;
    }
    for (unsigned i = 0; i < 3; i++)
        s.s[i].daemon = false;

    /* 1. A leads; init committed everywhere. */
    PLAN(run_until(&s, any_leader, 0, 5000), "a first leader");
    for (A = 0; !is_leader(&s, A); A++)
        ;
    B = (A + 1) % 3;
    C = (A + 2) % 3;
    memset(&c, 0, sizeof(c));
    c.type = FO_CMD_INIT;
    c.u.init = (struct fo_cmd_init){"fig8", "main", SIM_T0};
    PLAN(sim_propose(&s, A, &c) == 0, "init proposed on A");
    PLAN(raft_fixture_step_until_applied(&s.f, 3, 2, 2000), "init applied everywhere");

    /* 2. A alone appends X. */
    isolate(&s, A, true);
    sim_net_apply(&s);
    op_begin(&c, "op-x", "dr");
    PLAN(sim_propose(&s, A, &c) == 0, "X proposed on A");
    PLAN(run_until(&s, has_index3, A, 1000), "X appended on A");

    /* 3. B elected by C (whichever of the two wins is B), then cut off, appends Y. */
    steer(&s, B, 1200);
    steer(&s, C, 2000);
    PLAN(run_until(&s, any_leader_but_a, 0, 10000), "B elected with C's vote");
    if (!is_leader(&s, B)) {
        C = B;
        B = (A + 2) % 3;
    }
    isolate(&s, B, true);
    sim_net_apply(&s);
    op_begin(&c, "op-y", "dr2");
    PLAN(sim_propose(&s, B, &c) == 0, "Y proposed on B");
    PLAN(run_until(&s, has_index3, B, 1000), "Y appended on B");

    /* 4. A and C together; A elected. */
    s.s[A].daemon = !late;
    isolate(&s, A, false);
    isolate(&s, B, true);
    sim_net_apply(&s);
    PLAN(run_until(&s, is_leader, A, 15000), "A elected again with C's vote");
    if (late) {
        /* Does 0.15 commit X (term 2) with no entry of A's term? */
        x_applied_on_a = run_until(&s, applied3, A, 3000);
        printf("figure8 %s: A (term %llu) %s X, an entry of term 2, with no entry of its own "
               "term on a majority\n",
               name, (unsigned long long)sim_raft(&s, A)->current_term,
               x_applied_on_a ? "committed and applied" : "did not commit");
    } else {
        PLAN(run_until(&s, barrier_done, A, 3000), "A's barrier completed");
    }
    kill_term = sim_raft(&s, A)->current_term;
    raft_fixture_kill(&s.f, A);
    s.revive_at[A] = (raft_time)-1;
    sim_net_apply(&s);

    /* 5. B and C together. */
    for (unsigned i = 0; i < 3; i++)
        s.s[i].daemon = true;
    isolate(&s, B, false);
    sim_net_apply(&s);
    PLAN(run_until(&s, barrier_done, late ? B : C, 15000),
         late ? "B elected (its log ends in term 3)" : "C elected (its log ends in term 4)");

    /* 6. Heal; A comes back. */
    sim_heal(&s);
    if (late) {
        /* A finds its committed entry contradicted: 0.15 stops it (RAFT_UNAVAILABLE). */
        raft_time end = raft_fixture_time(&s.f) + 20000;
        bool a_led = false;
        while (raft_fixture_time(&s.f) < end) {
            sim_step(&s);
            a_led |= is_leader(&s, A) && sim_raft(&s, A)->current_term > kill_term;
        }
        printf("figure8 %s: A (FSM epoch %llu, primary %s) is now %s and %s led again; B and C "
               "(epoch %llu, primary %s / %s)\n",
               name, (unsigned long long)s.s[A].rf.fsm.state.epoch, s.s[A].rf.fsm.state.primary,
               raft_state(sim_raft(&s, A)) == RAFT_UNAVAILABLE ? "UNAVAILABLE" : "available",
               a_led ? "has" : "never", (unsigned long long)s.s[B].rf.fsm.state.epoch,
               s.s[B].rf.fsm.state.primary, s.s[C].rf.fsm.state.primary);
    } else {
        PLAN(run_until(&s, quiet, 0, 15000), "converged after healing");
    }

    sim_check_final(&s);

    for (int k = 0; k < SIM_NINV; k++)
        if (s.violations[k] != 0)
            printf("figure8 %s: %s — %u time(s)\n", name, sim_invariant_names[k], s.violations[k]);
    if (s.failed)
        printf("figure8 %s: first violation: %s\n", name, s.why);
    if (!late) {
        rc = s.failed ? 1 : 0;
    } else {
        if (s.violations[SIM_INV_LOG] != 0)
            printf("figure8 %s: libraft 0.15 overwrote a committed, applied entry (Raft "
                   "Figure 8 reproduced)\n",
                   name);
        rc = s.violations[SIM_INV_ACTED] != 0 ? 1 : 0;
    }
    printf("figure8 %s: %s\n", name, rc == 0 ? "ok" : "FAIL");
out:
    sim_close(&s);
    return rc;
}

int sim_figure8(const struct sim_options *opt)
{
    int a = variant(opt, false);
    int b = variant(opt, true);
    return a == 0 && b == 0 ? 0 : 1;
}
