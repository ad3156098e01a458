/*
 * tests/sim/sim.c — the `sim` program: runs seeds of the randomized simulation (or the
 * scripted Figure 8 scenario) and reports. See sim.h and tests/sim/README.md.
 *
 *   sim --seeds A..B | --seed N [--count N] [--servers 3|5] [--ms M] [--steps S] [-v|-vv]
 *   sim --decide --seeds A..B | --seed N [--count N] [--ms M] [--steps S]
 *       [--failover-after MS] [-v|-vv]
 *   sim --figure8 [-v]
 *
 * Exit status: 0 when every seed held every invariant, 1 on a violation, 2 on usage.
 */
#include "tests/sim/sim.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct totals {
    unsigned seeds, failures, elections, operations;
    unsigned long applied, proposals, lost, rejected;
    unsigned auto_ops, manual_ops, drills, fences, windows, windows_own;
    unsigned long renewals, marks;
    unsigned lifts, promotes, held_lifts, gate_waits, returns, unavailable;
};

/* Inject the next fault, chosen by the seed. */
static void fault(struct sim *s)
{
    raft_time now = raft_fixture_time(&s->f);
    unsigned k = sim_below(s, 100), i = sim_below(s, s->n), j = sim_below(s, s->n);
    unsigned dead = 0;
    const char *what = NULL;

    if (s->opt.decide && sim_below(s, 100) < 55) {
        sim_world_fault(s); /* decide.c: the data plane, lags, operators */
        return;
    }
    for (unsigned x = 0; x < s->n; x++)
        dead += s->revive_at[x] != 0;
    if (k < 18) { /* partition: a random proper subset against the rest */
        unsigned mask = 1 + sim_below(s, (1u << s->n) - 2);
        for (unsigned a = 0; a < s->n; a++)
            for (unsigned b = 0; b < s->n; b++)
                s->part[a][b] = ((mask >> a) & 1) != ((mask >> b) & 1);
        what = "partition";
    } else if (k < 36) {
        memset(s->part, 0, sizeof(s->part));
        memset(s->loss_until, 0, sizeof(s->loss_until));
        what = "heal";
    } else if (k < 52) {
        if (i != j) {
            s->loss_until[i][j] = now + 50 + sim_below(s, 1000);
            what = "loss";
        }
    } else if (k < 64) {
        if (s->revive_at[i] == 0 && dead + 1 < s->n) {
            raft_fixture_kill(&s->f, i);
            s->revive_at[i] = now + 300 + sim_below(s, 5000);
            if (s->opt.decide)
                sim_decide_killed(s, i, s->revive_at[i]);
            what = "kill";
        }
    } else if (k < 76) {
        raft_fixture_set_network_latency(&s->f, i, 2 + sim_below(s, 150));
        what = "net-latency";
    } else if (k < 88) {
        raft_fixture_set_disk_latency(&s->f, i, 1 + sim_below(s, 80));
        what = "disk-latency";
    } else {
        for (unsigned x = 0; x < s->n; x++)
            raft_fixture_set_randomized_election_timeout(&s->f, x, 1000 + sim_below(s, 1000));
        what = "timeouts";
    }
    sim_net_apply(s);
    if (what != NULL && s->opt.verbose)
        printf("t=%llu step %lu: fault %s (%u, %u)\n", (unsigned long long)now, s->step, what, i,
               j);
}

static void revive_due(struct sim *s)
{
    raft_time now = raft_fixture_time(&s->f);
    bool changed = false;
    for (unsigned i = 0; i < s->n; i++) {
        if (s->revive_at[i] != 0 && s->revive_at[i] <= now) {
            raft_fixture_revive(&s->f, i);
            s->revive_at[i] = 0;
            changed = true;
            if (s->opt.decide)
                sim_decide_revived(s, i);
            if (s->opt.verbose)
                printf("t=%llu step %lu: revive %u\n", (unsigned long long)now, s->step, i);
        }
        for (unsigned j = 0; j < s->n; j++)
            if (s->loss_until[i][j] != 0 && s->loss_until[i][j] <= now) {
                s->loss_until[i][j] = 0;
                changed = true;
            }
    }
    if (s->opt.decide && sim_world_expire(s))
        changed = true;
    if (changed)
        sim_net_apply(s);
}

static void replay_line(const struct sim_options *o)
{
    printf("  replay: build/bin/sim%s --seed %" PRIu64, o->decide ? " --decide" : "", o->seed);
    if (o->servers != 3)
        printf(" --servers %u", o->servers);
    if (o->failover_after_ms != 0)
        printf(" --failover-after %u", o->failover_after_ms);
    if (o->run_ms != 60000)
        printf(" --ms %u", o->run_ms);
    if (o->steps != 0)
        printf(" --steps %lu", o->steps);
    printf(" -v\n");
}

static int run_seed(const struct sim_options *opt, struct totals *t)
{
    static struct sim s; /* large; static keeps it off the stack (zeroed by sim_open) */
    raft_time end, drain_end;
    int rc;

    if (sim_open(&s, opt) != 0) {
        fprintf(stderr, "sim: seed %" PRIu64 ": fixture setup failed\n", opt->seed);
        sim_close(&s);
        t->seeds++;
        t->failures++; /* a seed that never ran must not pass */
        return 1;
    }
    s.workload = true;
    end = raft_fixture_time(&s.f) + opt->run_ms;
    s.next_fault = 500 + sim_below(&s, 2000);
    while (!s.failed && raft_fixture_time(&s.f) < end && (opt->steps == 0 || s.step < opt->steps)) {
        if (raft_fixture_time(&s.f) >= s.next_fault) {
            fault(&s);
            s.next_fault = raft_fixture_time(&s.f) + 200 + sim_below(&s, 2500);
        }
        revive_due(&s);
        sim_step(&s);
    }
    /* Heal, stop starting operations, let the cluster finish and converge. */
    if (opt->verbose)
        printf("t=%llu step %lu: heal and drain\n", (unsigned long long)raft_fixture_time(&s.f),
               s.step);
    sim_heal(&s);
    s.drain = true;
    s.skip_unavailable = true;
    drain_end = raft_fixture_time(&s.f) + 60000;
    while (!s.failed && !sim_converged(&s) && raft_fixture_time(&s.f) < drain_end)
        sim_step(&s);
    if (!s.failed && !sim_converged(&s)) {
        sim_violation(&s, SIM_INV_CONVERGE, "no convergence within 60 s of healing");
        for (unsigned i = 0; opt->verbose && i < s.n; i++) {
            struct raft *r = sim_raft(&s, i);
            printf("  node-%u: stored %llu state %d term %llu last %llu commit %llu applied %llu "
                   "alive %d",
                   i + 1, (unsigned long long)r->last_stored, raft_state(r),
                   (unsigned long long)r->current_term, (unsigned long long)raft_last_index(r),
                   (unsigned long long)r->commit_index, (unsigned long long)raft_last_applied(r),
                   raft_fixture_alive(&s.f, i));
            for (unsigned j = 0; j < s.n; j++)
                printf(" %d", j != i && raft_fixture_saturated(&s.f, i, j));
            if (raft_state(r) == RAFT_LEADER)
                for (unsigned j = 0; j < s.n; j++)
                    printf(" [p%u st%u next %llu match %llu]", j + 1,
                           r->leader_state.progress[j].state,
                           (unsigned long long)r->leader_state.progress[j].next_index,
                           (unsigned long long)r->leader_state.progress[j].match_index);
            printf("\n");
        }
    }
    if (!s.failed)
        sim_check_final(&s);

    t->seeds++;
    t->elections += s.elections;
    t->applied += s.applied;
    t->operations += s.operations;
    t->proposals += s.proposals;
    t->lost += s.lost;
    t->rejected += s.rejected;
    t->auto_ops += s.auto_ops;
    t->manual_ops += s.manual_ops;
    t->drills += s.drills;
    t->fences += s.fences;
    t->renewals += s.renewals;
    t->marks += s.marks;
    t->lifts += s.lifts;
    t->promotes += s.promotes;
    t->held_lifts += s.held_lifts;
    t->unavailable += s.unavailable;
    t->gate_waits += s.gate_waits;
    t->returns += s.returns;
    t->windows += s.windows;
    t->windows_own += s.windows_own;
    rc = s.failed ? 1 : 0;
    if (s.failed) {
        t->failures++;
        printf("sim: FAIL seed %" PRIu64 " step %lu (t=%llu ms): %s\n", opt->seed, s.failed_step,
               (unsigned long long)raft_fixture_time(&s.f), s.why);
        replay_line(opt);
    } else if (opt->verbose) {
        printf("sim: seed %" PRIu64 " ok: %lu steps, %u elections, %lu entries applied, %u "
               "operations\n",
               opt->seed, s.step, s.elections, s.applied, s.operations);
        if (opt->decide)
            printf("sim: seed %" PRIu64 " decisions: %u automatic, %u manual, %u drills; "
                   "leases: %lu renewals, %u fences, %u lifts, %lu marks proposed, %u gate "
                   "waits, %u promotes; %u verdict changes between a decision and its commit "
                   "(%u the leader's own)\n",
                   opt->seed, s.auto_ops, s.manual_ops, s.drills, s.renewals, s.fences, s.lifts,
                   s.marks, s.gate_waits, s.promotes, s.windows, s.windows_own);
    }
    sim_close(&s);
    return rc;
}

static void usage(FILE *to)
{
    fprintf(to, "usage: sim (--seeds A..B | --seed N [--count N]) [--servers 3|5] [--ms M]\n"
                "           [--steps S] [-v|-vv]\n"
                "       sim --decide (--seeds A..B | --seed N [--count N]) [--ms M] [--steps S]\n"
                "           [--failover-after MS] [-v|-vv]   (3 servers, the real decision\n"
                "           policy; tests/sim/README.md)\n"
                "       sim --figure8 [-v]\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -1;
    *out = strtoull(s, &end, 10);
    return *end == '\0' ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct sim_options opt = {.seed = 1, .servers = 3, .run_ms = 60000};
    uint64_t first = 1, count = 1, v;
    bool figure8 = false;
    struct totals t = {0};

    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a], *val = a + 1 < argc ? argv[a + 1] : NULL;
        if (strcmp(arg, "-v") == 0) {
            opt.verbose = 1;
        } else if (strcmp(arg, "-vv") == 0) {
            opt.verbose = 2;
        } else if (strcmp(arg, "--decide") == 0) {
            opt.decide = true;
        } else if (strcmp(arg, "--failover-after") == 0 && parse_u64(val, &v) == 0 && v > 0 &&
                   v < 10000000) {
            opt.failover_after_ms = (unsigned)v;
            a++;
        } else if (strcmp(arg, "--figure8") == 0) {
            figure8 = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(arg, "--seeds") == 0 && val != NULL && strstr(val, "..") != NULL) {
            char lo[32];
            uint64_t hi;
            size_t n = (size_t)(strstr(val, "..") - val);
            if (n >= sizeof(lo))
                goto bad;
            memcpy(lo, val, n);
            lo[n] = '\0';
            if (parse_u64(lo, &first) != 0 || parse_u64(val + n + 2, &hi) != 0 || hi < first)
                goto bad;
            count = hi - first + 1;
            a++;
        } else if (strcmp(arg, "--seed") == 0 && parse_u64(val, &first) == 0) {
            a++;
        } else if (strcmp(arg, "--count") == 0 && parse_u64(val, &count) == 0 && count > 0) {
            a++;
        } else if (strcmp(arg, "--servers") == 0 && parse_u64(val, &v) == 0 && (v == 3 || v == 5)) {
            opt.servers = (unsigned)v;
            a++;
        } else if (strcmp(arg, "--ms") == 0 && parse_u64(val, &v) == 0 && v > 0 && v < 10000000) {
            opt.run_ms = (unsigned)v;
            a++;
        } else if (strcmp(arg, "--steps") == 0 && parse_u64(val, &v) == 0) {
            opt.steps = (unsigned long)v;
            a++;
        } else {
            goto bad;
        }
    }
    if (figure8)
        return sim_figure8(&opt);
    if (opt.decide && opt.servers != 3)
        goto bad; /* the configuration has three peers, one per region */
    for (uint64_t k = 0; k < count; k++) {
        opt.seed = first + k;
        (void)run_seed(&opt, &t);
    }
    printf("sim: %u seeds, %u failures, %u elections, %lu entries applied, %u operations "
           "(%u servers, %u ms each; %lu proposals, %lu unknown outcomes, %lu rejected)\n",
           t.seeds, t.failures, t.elections, t.applied, t.operations, opt.servers, opt.run_ms,
           t.proposals, t.lost, t.rejected);
    printf("sim: %u servers stopped by libraft 0.15 (RAFT_UNAVAILABLE) at the end, left out of "
           "convergence: the daemon exits on it and is restarted from disk, which the fixture "
           "cannot model\n",
           t.unavailable);
    if (opt.decide) {
        printf("sim: decision mode: %u automatic failovers, %u manual, %u drills; leases: %lu "
               "renewals, %u fences, %u lifts, %lu marks proposed, %u gate waits, %u promotes; "
               "%u verdict changes between a decision and its commit (%u the leader's own)\n",
               t.auto_ops, t.manual_ops, t.drills, t.renewals, t.fences, t.lifts, t.marks,
               t.gate_waits, t.promotes, t.windows, t.windows_own);
        printf("sim: (m) overlaps allowed: %u while a component was back from an outage within "
               "its guardian's start-up bound; %u promoted components made writable by their "
               "guardian's lift (of %u promotes)\n",
               t.returns, t.held_lifts, t.promotes);
    }
    return t.failures == 0 ? 0 : 1;
bad:
    usage(stderr);
    return 2;
}
