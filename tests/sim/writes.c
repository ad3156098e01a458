/*
 * tests/sim/writes.c — decision mode's write model: the REAL write-lease core
 * (coordinator/run/lease.h, fo_lease_core_*) on every simulated server, each with its own
 * clock, and the components (Postgres, Redis of each site) as writable or not in virtual
 * time. Invariants (m), (n), (o) (tests/sim/README.md).
 *
 * Clocks. Server i's monotonic clock reads off_i + t * rate_i / 10^6 at virtual time t;
 * rate_i is drawn per seed within (1 +- rho) of 1 (rho: fo_lease_defaults' margin), a
 * third of the servers at each extreme. The core is called at exact virtual times: every
 * lease event (a renew tick every renew_ms of the node's clock, a message, a fence action
 * returning) is queued with its virtual time and run in time order before the fixture
 * step that passes it, with the FSMs as they are at that step.
 *
 * Messages. A renewal and its grant travel like the daemon's admin calls: lost when the
 * fixture's link is saturated (partition, loss burst, isolation, a dead end) at the send or
 * at the arrival, 3 % lost at random, 2-61 ms each way; an answer later than lease_ms on
 * the guardian's clock is dropped (lease_send's call timeout). A lease mark is proposed by
 * a ready leader, or forwarded to the ready leader it knows when both links are up.
 *
 * Components. A component takes writes while it is a primary, not fenced and its data
 * plane is up. Its recorded epoch is the fencing token of actions/postgres.c and redis.c:
 * a promote for an older epoch is refused, one for the same epoch on a primary does
 * nothing, a newer one makes it primary, fenced for that epoch until its guardian lifts
 * it (hold_fence); a standby's token is its primary's (replication), when both regions
 * are up and not cut off at the promote.
 * The guardian's fence (lease on_fence) runs in its region and returns after a seeded time
 * within fence_budget_ms of ITS clock; a dead or restarted guardian never hears back; a
 * component whose data plane is down is skipped (not confirmed). The executor's gated
 * promotes (fo_lease_gate on the leader's FSM, as coordinator/run/operations.c lease_gate)
 * and the plan's postgres.fence of the old primary run when the leader sees the step
 * running (committed) and land after 20-300 ms, one in ten after 1-8 s (a deposed
 * leader's action still in flight).
 */
#include "tests/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/log.h"
#include "coordinator/run/lease.h"

#define PPM        UINT64_C(1000000)
#define LOSS_PCT   3
#define KIND_PG    0
#define KIND_REDIS 1

static const char *const kind_names[SIM_KINDS] = {"postgres", "redis"};
static const char *const site_names[SIM_SITES] = {"main", "dr"};

/* The write model's own splitmix64 stream (seeded from the seed): its draws do not shift
 * the rest of the run, so a change of the lease or of this model keeps the faults, the
 * decisions and the operations of a seed where they were. */
static unsigned wbelow(struct sim *s, unsigned n)
{
    uint64_t z = (s->wrng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    z ^= z >> 31;
    return n == 0 ? 0 : (unsigned)(z % n);
}

static raft_time vnow(struct sim *s)
{
    return raft_fixture_time(&s->f);
}

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int site_index(const char *name)
{
    for (unsigned k = 0; k < SIM_SITES; k++)
        if (same(name, site_names[k]))
            return (int)k;
    return -1;
}

/* ---- clocks ------------------------------------------------------------------------ */

static uint64_t local_ms(const struct sim_server *sv, raft_time t)
{
    return sv->clock_off + (uint64_t)t * sv->rate_ppm / PPM;
}

/* The first virtual time at which sv's clock reads at least ms. */
static raft_time virtual_at(const struct sim_server *sv, uint64_t ms)
{
    uint64_t d = ms > sv->clock_off ? ms - sv->clock_off : 0;
    return (raft_time)((d * PPM + sv->rate_ppm - 1) / sv->rate_ppm);
}

/* ---- the event queue ------------------------------------------------------------------ */

static struct sim_ev *push(struct sim *s, enum sim_ev_type type, raft_time at)
{
    struct sim_ev *e;
    if (s->nev == s->capev) {
        size_t n = s->capev ? 2 * s->capev : 64;
        struct sim_ev *p = realloc(s->evs, n * sizeof(*p));
        if (p == NULL)
            abort();
        s->evs = p;
        s->capev = n;
    }
    e = &s->evs[s->nev++];
    memset(e, 0, sizeof(*e));
    e->type = type;
    e->at = at;
    e->seq = ++s->ev_seq;
    return e;
}

/* The earliest event due by `until` (FIFO among equals), removed into *out. */
static bool pop_due(struct sim *s, raft_time until, struct sim_ev *out)
{
    size_t best = s->nev;
    for (size_t k = 0; k < s->nev; k++)
        if (s->evs[k].at <= until &&
            (best == s->nev || s->evs[k].at < s->evs[best].at ||
             (s->evs[k].at == s->evs[best].at && s->evs[k].seq < s->evs[best].seq)))
            best = k;
    if (best == s->nev)
        return false;
    *out = s->evs[best];
    s->evs[best] = s->evs[--s->nev];
    return true;
}

static bool link_up(struct sim *s, unsigned a, unsigned b)
{
    return raft_fixture_alive(&s->f, a) && raft_fixture_alive(&s->f, b) &&
           !raft_fixture_saturated(&s->f, a, b);
}

static raft_time hop(struct sim *s)
{
    return 2 + wbelow(s, 60);
}

/* ---- the components ------------------------------------------------------------------ */

static bool region_down(struct sim *s, unsigned r)
{
    return s->world.down_until[r] > s->ev_now;
}

static bool comp_writable(struct sim *s, const struct sim_comp *c)
{
    return c->primary && !c->fenced && !region_down(s, c->region);
}

/* How long a component back from an outage may take writes before its guardian fences it:
 * unreachable, it could not be fenced, and its guardian (restarted with it, or retrying
 * its fence every tick) fences it within renew_ms + lease_ms + fence_budget_ms of its
 * clock, the start-up bound of lease.h. The product cannot do better (actions/postgres.c: a fence
 * stops nothing when the server cannot be reached); README, (m). */
static raft_time return_grace(void)
{
    const struct fo_lease_params *p = &fo_lease_defaults;
    /* the first tick comes renew_ms after the start, the start-up lease runs lease_ms */
    return ((raft_time)p->renew_ms + p->lease_ms + p->fence_budget_ms) * 1000 /
               (1000 - p->rate_margin_permille) +
           1;
}

/* The newest epoch applied by any server, and its primary (what the cluster committed:
 * an applied entry was committed, libraft 0.15's Figure 8 aside, README). */
static uint64_t committed_epoch(struct sim *s, const char **primary)
{
    uint64_t best = 0;
    *primary = "main";
    for (uint64_t e = 1; e < s->nepochs; e++)
        if (s->epochs[e].applied) {
            best = e;
            *primary = s->epochs[e].to;
        }
    return best;
}

/* (m): at most one writable component of each kind, now. Called after every change. */
static void check_writes(struct sim *s, const char *what)
{
    raft_time t = s->ev_now;
    for (unsigned j = 0; j < SIM_KINDS; j++) {
        unsigned n = 0;
        unsigned back = 0;
        for (unsigned k = 0; k < SIM_SITES; k++) {
            struct sim_comp *c = &s->comp[k][j];
            bool w = comp_writable(s, c), down = region_down(s, c->region);
            if (c->was_down && !down)
                c->back_at = t;
            c->was_down = down;
            if (w && !c->writable)
                c->since = t;
            c->writable = w;
            n += w;
            back += w && c->back_at != 0 && t < c->back_at + return_grace();
        }
        if (n <= 1)
            continue;
        if (back > 0 && n - back <= 1) {
            s->returns++; /* back from an outage, its guardian not done yet: counted */
            continue;
        }
        sim_violation(s, SIM_INV_WRITES,
                      "t=%llu: %s of main (writable since t=%llu, epoch %llu) and of dr "
                      "(since t=%llu, epoch %llu) both take writes (after %s)",
                      (unsigned long long)t, kind_names[j], (unsigned long long)s->comp[0][j].since,
                      (unsigned long long)s->comp[0][j].epoch,
                      (unsigned long long)s->comp[1][j].since,
                      (unsigned long long)s->comp[1][j].epoch, what);
    }
}

/* A fence (or its lift) for epoch reaching c, its token check passed. A fence records
 * its epoch on the target before it fences (Redis: the key failoverd:fence; Postgres: the
 * fenced epoch), and a promote or an unfence of an older epoch than the recorded one is
 * refused (promote(), run_fence()): a late action of an old epoch cannot undo the fence
 * of a newer one (sim --decide --seed 3037: op-1's redis.promote of dr landed after op-2
 * dr -> main was committed). */
static void fence_comp(struct sim_comp *c, bool fence, uint64_t epoch)
{
    if (fence && epoch > c->fenced_at)
        c->fenced_at = epoch;
    c->fenced = fence;
}

/* postgres.promote / redis.promote of site k for epoch, landing now. */
static void promote(struct sim *s, unsigned k, unsigned j, uint64_t epoch, const char *by)
{
    struct sim_comp *c = &s->comp[k][j];
    const char *prim;
    uint64_t ce = committed_epoch(s, &prim);
    unsigned other = 1 - k;
    struct sim_comp *o = &s->comp[other][j];

    if (region_down(s, c->region) || c->epoch > epoch || c->fenced_at > epoch ||
        (c->primary && c->epoch == epoch)) {
        if (s->opt.verbose)
            printf("t=%llu %s: %s.promote of %s for epoch %llu: %s (recorded %llu)\n",
                   (unsigned long long)s->ev_now, by, kind_names[j], site_names[k],
                   (unsigned long long)epoch,
                   region_down(s, c->region) ? "unreachable"
                   : c->fenced_at > epoch    ? "refused (fenced for a newer epoch)"
                                             : "no change",
                   (unsigned long long)c->epoch);
        return;
    }
    /* (o): the target's token check is all that stands between a late action and a write. */
    if (ce > epoch)
        sim_violation(s, SIM_INV_LATE,
                      "t=%llu: %s's %s.promote of %s for epoch %llu took effect after epoch %llu "
                      "(primary %s) was committed",
                      (unsigned long long)s->ev_now, by, kind_names[j], site_names[k],
                      (unsigned long long)epoch, (unsigned long long)ce, prim);
    c->primary = true;
    /* hold_fence (every component's region has a node here): the promote leaves it
     * fenced for its epoch, and only its guardian's lift of that epoch, with the lease
     * held, makes it take writes (run/lease.h). Before that rule a component promoted
     * while its guardian was dead or cut off took writes with no lease behind it, and
     * nobody fenced it after a move away (sim --decide --seed 3516). */
    c->fenced = true;
    c->held = true;
    if (epoch > c->fenced_at)
        c->fenced_at = epoch;
    c->epoch = epoch;
    s->promotes++;
    /* The standby of the same kind streams from the new primary when they can talk. */
    if (!o->primary && !region_down(s, o->region) && !sim_world_isolated(s, o->region) &&
        !sim_world_isolated(s, c->region) && o->epoch < epoch)
        o->epoch = epoch;
    if (s->opt.verbose)
        printf("t=%llu %s: %s of %s promoted for epoch %llu\n", (unsigned long long)s->ev_now, by,
               kind_names[j], site_names[k], (unsigned long long)epoch);
    check_writes(s, "a promote");
}

/* ---- the lease's hands (what coordinator/run/operations.c does for the daemon) -------- */

static struct sim_server *server_of(struct fo_lease *l)
{
    return l->data;
}

static void lease_fence(struct fo_lease *l, const char *site, uint64_t epoch, bool fence)
{
    struct sim_server *sv = server_of(l);
    struct sim *s = sv->sim;
    uint64_t budget = l->params.fence_budget_ms;
    uint64_t took = 1 + wbelow(s, (unsigned)budget); /* on the guardian's clock */
    uint64_t end = local_ms(sv, s->ev_now) + took;
    struct sim_ev *e = push(s, SIM_EV_FENCE, virtual_at(sv, end));

    e->to = sv->i;
    e->inc = sv->inc;
    e->epoch = epoch;
    e->fence = fence;
    snprintf(e->site, sizeof(e->site), "%s", site);
    if (fence) {
        s->fences++;
    } else {
        /* (n): the round that lifts was sent after a majority had applied a move away? */
        for (size_t r = 0; r < FO_LEASE_ROUNDS; r++) {
            const struct fo_lease_round *lr = &l->rounds[r];
            const struct sim_round *mine = &sv->sent[lr->id % FO_LEASE_ROUNDS];
            unsigned granted = 0;
            for (unsigned p = 0; p < s->n; p++)
                granted += (lr->granted >> p) & 1;
            if (lr->id == 0 || lr->sent_ms <= l->fenced_ms || granted * 2 <= s->n ||
                mine->id != lr->id)
                continue;
            if (mine->moved)
                sim_violation(s, SIM_INV_LIFT,
                              "t=%llu: %s lifts its fence of %s (epoch %llu) on round %llu, "
                              "sent at t=%llu when a majority had applied %s",
                              (unsigned long long)s->ev_now, sv->name, site,
                              (unsigned long long)epoch, (unsigned long long)lr->id,
                              (unsigned long long)mine->at, mine->why);
        }
        s->lifts++;
    }
    if (s->opt.verbose)
        printf("t=%llu %s: lease %s %s (epoch %llu, cause %s), done by t=%llu\n",
               (unsigned long long)s->ev_now, sv->name, fence ? "fence" : "lift", site,
               (unsigned long long)epoch, fo_lease_cause_names[l->fence_cause],
               (unsigned long long)e->at);
}

/* Would a majority of the servers' applied FSMs say (site, epoch) is not the primary? */
static bool majority_moved(struct sim *s, const char *site, uint64_t epoch, char *why, size_t cap)
{
    unsigned moved = 0;
    for (unsigned i = 0; i < s->n; i++) {
        const struct fo_state *st = &s->s[i].rf.fsm.state;
        /* A server still at an older epoch has not moved away from (site, epoch): it is
         * behind, refuses to grant until it applies the epoch, and then grants rightly
         * (--seed 3350: us-east-1's round for (main, 2) sent as it applied op-2 dr ->
         * main, the others still at epoch 1, was flagged as sent after a move away). */
        if (st->epoch > epoch ||
            (st->epoch == epoch && st->primary != NULL && !same(st->primary, site))) {
            moved++;
            snprintf(why, cap, "epoch %llu, primary %s", (unsigned long long)st->epoch,
                     st->primary != NULL ? st->primary : "-");
        }
    }
    return moved * 2 > s->n;
}

static void lease_send(struct fo_lease *l, const struct fo_peer *peer, const char *site,
                       uint64_t epoch, uint64_t round)
{
    struct sim_server *sv = server_of(l);
    struct sim *s = sv->sim;
    unsigned to = (unsigned)(peer->id - 1);
    struct sim_round *mine = &sv->sent[round % FO_LEASE_ROUNDS];
    struct sim_ev *e;

    if (mine->id != round) { /* once per round (every peer's send shares it) */
        mine->id = round;
        mine->at = s->ev_now;
        mine->moved = majority_moved(s, site, epoch, mine->why, sizeof(mine->why));
    }
    s->renewals++;
    if (!link_up(s, sv->i, to) || wbelow(s, 100) < LOSS_PCT)
        return;
    e = push(s, SIM_EV_RENEW, s->ev_now + hop(s));
    e->from = sv->i;
    e->to = to;
    e->inc = sv->inc;
    e->epoch = epoch;
    e->round = round;
    e->sent_local = local_ms(sv, s->ev_now);
    snprintf(e->site, sizeof(e->site), "%s", site);
}

static void lease_propose(struct fo_lease *l, const struct fo_cmd *cmd)
{
    struct sim_server *sv = server_of(l);
    struct sim *s = sv->sim;
    struct raft *r = sim_raft(s, sv->i);
    raft_id lid = 0;
    const char *laddr = NULL;
    unsigned target;

    s->marks++;
    if (raft_state(r) == RAFT_LEADER && sv->barrier_term == r->current_term) {
        (void)sim_propose(s, sv->i, cmd);
        return;
    }
    raft_leader(r, &lid, &laddr);
    if (lid == 0 || lid > s->n || lid == (raft_id)sv->i + 1)
        return;
    target = (unsigned)lid - 1;
    if (raft_state(sim_raft(s, target)) != RAFT_LEADER ||
        s->s[target].barrier_term != sim_raft(s, target)->current_term ||
        !link_up(s, sv->i, target) || !link_up(s, target, sv->i))
        return; /* the forward would not arrive: proposed again on a later tick */
    (void)sim_propose_for(s, target, cmd, sv->i, -1);
}

static uint64_t lease_wall(struct fo_lease *l)
{
    return SIM_T0 + server_of(l)->sim->ev_now; /* deterministic: for people only */
}

static void lease_restart(struct sim *s, unsigned i)
{
    struct sim_server *sv = &s->s[i];
    struct fo_lease *l = &sv->lease;
    struct sim_ev *e;

    memset(l, 0, sizeof(*l));
    l->data = sv;
    l->on_fence = lease_fence;
    l->propose = lease_propose;
    l->send = lease_send;
    l->wall = lease_wall;
    fo_lease_core_init(l, &s->cfg, s->peer[i], &fo_lease_defaults);
    fo_lease_core_start(l, local_ms(sv, s->ev_now));
    memset(sv->sent, 0, sizeof(sv->sent));
    sv->lease_on = true;
    sv->inc++;
    sv->lease_seen = raft_last_applied(sim_raft(s, i));
    sv->next_renew = local_ms(sv, s->ev_now) + l->params.renew_ms;
    e = push(s, SIM_EV_TICK, virtual_at(sv, sv->next_renew));
    e->to = i;
    e->inc = sv->inc;
}

/* ---- events ----------------------------------------------------------------------------- */

static bool current(struct sim *s, unsigned i, unsigned inc)
{
    return s->s[i].lease_on && s->s[i].inc == inc && raft_fixture_alive(&s->f, i);
}

static void run_fence(struct sim *s, const struct sim_ev *e)
{
    struct sim_server *sv = &s->s[e->to];
    int k = site_index(e->site);
    bool confirmed = true;

    if (k < 0)
        return;
    for (unsigned j = 0; j < SIM_KINDS; j++) {
        struct sim_comp *c = &s->comp[k][j];
        if (c->region != e->to)
            continue; /* the guardian fences its own region's components */
        if (region_down(s, c->region)) {
            confirmed = false; /* SKIPPED: unreachable, it takes no writes either */
            continue;
        }
        if (c->epoch > e->epoch || (!e->fence && c->fenced_at > e->epoch)) {
            confirmed = false; /* REFUSED: promoted, or fenced, for a newer epoch since */
            continue;
        }
        /* A promoted component its guardian lets take writes (the model is not vacuous:
         * the summary counts these against the promotes). */
        if (!e->fence && c->held && c->primary) {
            c->held = false;
            s->held_lifts++;
        }
        fence_comp(c, e->fence, e->epoch);
    }
    check_writes(s, e->fence ? "a fence" : "a lift");
    fo_lease_core_fence_done(&sv->lease, e->site, e->epoch, confirmed);
}

static void run(struct sim *s, const struct sim_ev *e)
{
    struct sim_server *to = &s->s[e->to];
    const struct fo_state *st = &to->rf.fsm.state;

    switch (e->type) {
    case SIM_EV_TICK:
        if (!current(s, e->to, e->inc))
            return;
        fo_lease_core_tick(&to->lease, st, local_ms(to, s->ev_now));
        to->next_renew += to->lease.params.renew_ms;
        {
            struct sim_ev *n = push(s, SIM_EV_TICK, virtual_at(to, to->next_renew));
            n->to = e->to;
            n->inc = e->inc;
        }
        return;
    case SIM_EV_RENEW: {
        enum fo_lease_answer a;
        struct sim_ev *g;
        if (!to->lease_on || !raft_fixture_alive(&s->f, e->to) || !link_up(s, e->from, e->to))
            return;
        a = fo_lease_core_grant(&to->lease, st, local_ms(to, s->ev_now), e->site, e->epoch,
                                s->peer[e->from]->name);
        if (a != FO_LEASE_GRANTED || !link_up(s, e->to, e->from) || wbelow(s, 100) < LOSS_PCT)
            return;
        g = push(s, SIM_EV_GRANT, s->ev_now + hop(s));
        *g = *e;
        g->type = SIM_EV_GRANT;
        g->at = s->ev_now + hop(s);
        g->seq = ++s->ev_seq;
        return;
    }
    case SIM_EV_GRANT: {
        struct sim_server *g = &s->s[e->from];
        if (!current(s, e->from, e->inc) || !link_up(s, e->to, e->from))
            return;
        if (local_ms(g, s->ev_now) - e->sent_local > g->lease.params.lease_ms)
            return; /* the admin call timed out */
        fo_lease_core_granted(&g->lease, &g->rf.fsm.state, local_ms(g, s->ev_now), s->peer[e->to],
                              e->round);
        return;
    }
    case SIM_EV_FENCE:
        if (current(s, e->to, e->inc))
            run_fence(s, e);
        return;
    case SIM_EV_PROMOTE:
        if (s->s[e->from].landing == e->key)
            s->s[e->from].landing = 0;
        promote(s, e->comp_site, e->comp_kind, e->epoch, s->s[e->from].name);
        return;
    case SIM_EV_PLANFENCE: {
        struct sim_comp *c = &s->comp[e->comp_site][e->comp_kind];
        if (s->s[e->from].landing == e->key)
            s->s[e->from].landing = 0;
        /* postgres.fence / redis.fence from the leader: best effort, when it can reach
         * the server. */
        if (region_down(s, c->region) || sim_world_isolated(s, c->region) ||
            sim_world_isolated(s, e->from) || c->epoch > e->epoch)
            return;
        fence_comp(c, true, e->epoch);
        check_writes(s, e->comp_kind == KIND_PG ? "the plan's postgres.fence"
                                                : "the plan's redis.fence");
        return;
    }
    }
}

/* ---- the entry points ---------------------------------------------------------------- */

void sim_writes_open(struct sim *s)
{
    uint32_t rho = fo_lease_defaults.rate_margin_permille * 1000; /* ppm */

    s->wrng = s->opt.seed ^ UINT64_C(0x6c65617365); /* "lease" */
    fo_log_setup("sim", FO_LOG_ERROR); /* the lease's warnings are traced with -v instead */
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_server *sv = &s->s[i];
        unsigned x = wbelow(s, 3);
        sv->rate_ppm = x == 0 ? PPM - rho : x == 1 ? PPM + rho : PPM - rho + wbelow(s, 2 * rho + 1);
        sv->clock_off = 1000 + wbelow(s, 1000000);
    }
    for (unsigned k = 0; k < SIM_SITES; k++) {
        const struct fo_site *site = s->site[k];
        for (unsigned j = 0; j < SIM_KINDS; j++) {
            struct sim_comp *c = &s->comp[k][j];
            const char *region = j == KIND_PG ? site->postgres->region : site->redis->region;
            for (unsigned i = 0; i < s->n; i++)
                if (same(s->peer[i]->region, region))
                    c->region = i;
            c->primary = same(site_names[k], s->cfg.initial_primary);
        }
    }
    if (s->opt.verbose)
        for (unsigned i = 0; i < s->n; i++)
            printf("clock of %s: rate %+.3f %%\n", s->s[i].name,
                   ((double)s->s[i].rate_ppm - (double)PPM) / 1e4);
}

void sim_writes_close(struct sim *s)
{
    free(s->evs);
    s->evs = NULL;
    s->nev = s->capev = 0;
}

/* Before each fixture step: start or stop the leases with their nodes, run the events due,
 * kick the leases whose node applied something (daemon.c: after every apply), check (m). */
void sim_writes_step(struct sim *s)
{
    struct sim_ev e;
    raft_time now = vnow(s);

    while (pop_due(s, now, &e)) {
        s->ev_now = e.at;
        run(s, &e);
    }
    s->ev_now = now;
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_server *sv = &s->s[i];
        bool alive = raft_fixture_alive(&s->f, i);
        raft_index applied;
        if (!alive) {
            sv->lease_on = false; /* its pending events find an old incarnation */
            continue;
        }
        if (!sv->lease_on) {
            lease_restart(s, i);
            continue;
        }
        applied = raft_last_applied(sim_raft(s, i));
        if (applied != sv->lease_seen) {
            sv->lease_seen = applied;
            fo_lease_core_kick(&sv->lease, &sv->rf.fsm.state, local_ms(sv, now));
        }
    }
    check_writes(s, "a step");
}

/* The executor's hands for the leader l's next command c (a step of the operation in
 * flight): false when the gate holds a promote back (c is not proposed). A step seen
 * running in the leader's FSM has its action launched, once per (epoch, step, attempt). */
bool sim_writes_executor(struct sim *s, unsigned l, const struct fo_cmd *c)
{
    struct sim_server *sv = &s->s[l];
    const struct fo_state *st = &sv->rf.fsm.state;
    const struct fo_operation *op = st->operation;
    const struct fo_step *step;
    char why[FO_TEXT_MAX];
    uint64_t key;
    int k;
    bool gated;

    if (c->type != FO_CMD_STEP || op == NULL || op->kind == FO_OP_DRILL ||
        c->u.step.index >= op->nsteps)
        return true;
    step = &op->steps[c->u.step.index];
    gated = op->epoch > 0 && fo_lease_kind_gated(step->action);
    key = (op->epoch << 16) | ((uint64_t)c->u.step.index << 8) | (step->attempts & 0xff);
    /* The executor records a step's end only once its action returned (run/executor.c):
     * a promote still in flight holds the step, so an operation never ends, and the next
     * never begins, under the feet of its own action. A deposed leader's action may still
     * land late; the new leader re-runs the step, and the target's token decides. */
    if (step->state == FO_STEP_RUNNING && c->u.step.state != FO_STEP_RUNNING && sv->landing != 0 &&
        sv->landing == key)
        return false;
    if (s->opt.verbose >= 2)
        printf("  executor %s: %s step %u %s (%s) -> %s%s\n", sv->name, op->id, c->u.step.index,
               step->name, step->action, fo_step_state_names[c->u.step.state],
               gated ? " (gated)" : "");
    if (gated && (step->state != FO_STEP_RUNNING || c->u.step.state == FO_STEP_RUNNING) &&
        !fo_lease_gate(st, &s->cfg, op->from, op->epoch - 1, why, sizeof(why))) {
        s->gate_waits++;
        return false;
    }
    if (step->state != FO_STEP_RUNNING)
        return true;
    if (key == sv->launched)
        return true;
    if (gated && !fo_lease_gate(st, &s->cfg, op->from, op->epoch - 1, why, sizeof(why))) {
        s->gate_waits++;
        return false;
    }
    sv->launched = key;
    if (same(step->action, "postgres.promote") || same(step->action, "redis.promote")) {
        k = site_index(op->to);
    } else if (same(step->action, "postgres.fence") || same(step->action, "redis.fence")) {
        k = site_index(op->from);
    } else {
        return true;
    }
    if (k < 0)
        return true;
    {
        raft_time delay = wbelow(s, 10) == 0 ? 1000 + wbelow(s, 7000) : 20 + wbelow(s, 281);
        struct sim_ev *e =
            push(s,
                 same(step->action + strlen(step->action) - 6, ".fence") ? SIM_EV_PLANFENCE
                                                                         : SIM_EV_PROMOTE,
                 vnow(s) + delay);
        e->from = l;
        e->comp_site = (unsigned)k;
        e->comp_kind = strncmp(step->action, "redis.", 6) == 0 ? KIND_REDIS : KIND_PG;
        e->epoch = op->epoch;
        e->key = key;
        sv->landing = key;
    }
    /* Launched now: the step ends on a later call, once the action has landed. */
    return c->u.step.state == FO_STEP_RUNNING;
}
