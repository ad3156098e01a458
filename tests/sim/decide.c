/*
 * tests/sim/decide.c — decision mode (`sim --decide`): the simulated daemons run the REAL
 * decision policy (coordinator/decide/decision.h) on their replicated FSM, fed by a scripted
 * world of probe outcomes, and the decision invariants (g)-(l) are checked.
 *
 * The cluster is the three-region deployment of DESIGN §2: peers us-east-1, us-west-2,
 * eu-west-1 (server i is peer id i + 1, and region i is that peer's region), sites main
 * (Postgres and Redis in us-east-1) and dr (Postgres in eu-west-1, Redis in us-west-2),
 * loaded with fo_config_load_buffer from the YAML below, with short decision times.
 *
 * The world (struct sim_world) says what each node's probes see: a region's data plane
 * is up or down (an outage), a region is cut off (its node is partitioned from the
 * others, its data plane unreachable from them and theirs from it), one observer's path
 * to one region fails (DOWN or UNKNOWN), and each site's standby lag is small, over
 * max_lag_bytes, over max_lag_ms or unknown. Faults flip these over virtual time; an
 * operator pauses and resumes, runs a manual failover or a drill now and then.
 *
 * Each alive node runs the daemon's housekeeping every TICK_MS (coordinator/daemon.c):
 * probes -> wanted verdicts -> reconcile (the ready leader proposes, a follower forwards
 * to the leader it knows when the link both ways is up: proposed on the leader's raft),
 * the write lease (writes.c: the real fo_lease_core_* on this node's clock), and on the ready
 * leader decide(): fo_decision_auto on its FSM with now = virtual time, the lags as its probes
 * would measure them, and stale = peers whose progress shows no recent message. A
 * FAILOVER becomes one op_begin; the operation's steps and op_end follow
 * (sim_op_progress) and the leader whose op_end applied commits the cooldown
 * (operations.c fo_ops_finished).
 *
 * Invariants (README): (g) quorum, (h) gates, (i) RPO, (j) one decision per epoch, (l) no
 * automatic fail back; (k), the cut-off primary fenced first, is retired with the
 * self-fence (the write lease of writes.c and (m)-(o) replace it). The checks below do not
 * call decision.c: they recompute the rules from the FSM state and the world.
 */
#include "tests/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/decide/decision.h"

#define TICK_MS       500             /* coordinator/daemon.c HOUSEKEEPING_MS */
#define MAX_LAG_BYTES (1024u * 1024u) /* decision.max_lag_bytes below */
#define MAX_LAG_MS    60000u          /* decision.max_lag_ms below */
/* The simulation's outage threshold, longer than the daemon's fast profile (250 ms) so
 * that a decision has to survive several rounds of random faults. Safety does not depend
 * on it: the write lease (writes.c) does. */
#define SIM_FAILOVER_AFTER_MS 4000u

/* %s: checks.redis.critical, drawn from the seed (dr's critical regions are {eu-west-1}
 * or {eu-west-1, us-west-2}). The lease timings are the defaults (fo_lease_defaults,
 * which writes.c runs). */
static const char config_fmt[] =
    "cluster: sim\n"
    "node: {name: us-east-1, data_dir: /nonexistent}\n"
    "peers:\n"
    "  - {name: us-east-1, id: 1, region: us-east-1, raft: 127.0.0.1:1, admin: 127.0.0.1:11}\n"
    "  - {name: us-west-2, id: 2, region: us-west-2, raft: 127.0.0.1:2, admin: 127.0.0.1:12}\n"
    "  - {name: eu-west-1, id: 3, region: eu-west-1, raft: 127.0.0.1:3, admin: 127.0.0.1:13}\n"
    "regions: [us-east-1, us-west-2, eu-west-1]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main:\n"
    "    priority: 1\n"
    "    postgres: {region: us-east-1, host: 10.0.1.20}\n"
    "    redis: {region: us-east-1, host: 10.0.1.30}\n"
    "  dr:\n"
    "    priority: 2\n"
    "    postgres: {region: eu-west-1, host: 10.0.3.20}\n"
    "    redis: {region: us-west-2, host: 10.0.2.30}\n"
    "tls: {mode: off}\n"
    "admin: {token_file: /nonexistent/admin.token}\n"
    "decision:\n"
    "  quorum: 2\n"
    "  failover_after_ms: %u\n"
    "  max_lag_bytes: 1048576\n"
    "  max_lag_ms: 60000\n"
    "  cooldown_ms: 10000\n"
    "checks:\n"
    "  postgres: {critical: true}\n"
    "  redis: {critical: %s}\n";

static const char *const site_names[SIM_SITES] = {"main", "dr"};

static raft_time vnow(struct sim *s)
{
    return raft_fixture_time(&s->f);
}

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

static int region_of(const struct sim *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (same(s->peer[i]->region, name))
            return (int)i;
    return -1;
}

static int node_of(const struct sim *s, const char *name)
{
    for (unsigned i = 0; i < s->n; i++)
        if (same(s->peer[i]->name, name))
            return (int)i;
    return -1;
}

/* A ready leader: its barrier completed in its current term (the daemon's
 * fo_node_ready), or -1. */
static bool is_ready(struct sim *s, unsigned i)
{
    struct raft *r = sim_raft(s, i);
    return raft_fixture_alive(&s->f, i) && raft_state(r) == RAFT_LEADER &&
           s->s[i].barrier_term == r->current_term;
}

static int ready_leader(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++)
        if (is_ready(s, i))
            return (int)i;
    return -1;
}

/* ---- the world ------------------------------------------------------------------- */

static void lag_normal(struct sim *s, unsigned k)
{
    struct sim_world *w = &s->world;
    w->lag_known[k] = true;
    w->lag_bytes[k] = sim_below(s, MAX_LAG_BYTES / 2);
    w->lag_ms[k] = sim_below(s, 2000);
    w->lag_until[k] = 0;
}

/* What observer o's probes see of region r now (enum fo_status). */
static int probe(struct sim *s, unsigned o, unsigned r)
{
    const struct sim_world *w = &s->world;
    raft_time now = vnow(s);

    if (w->down_until[r] > now)
        return FO_STATUS_DOWN;
    if (w->blind_until[o][r] > now)
        return w->blind_status[o][r];
    if (o != r && (w->iso_until[r] > now || w->iso_until[o] > now))
        return FO_STATUS_DOWN;
    return FO_STATUS_UP;
}

/* Site k's standby lag as node l's probes would measure it (operations.c site_lag: known
 * only while l's probe of that Postgres is UP). */
static void measured_lag(struct sim *s, unsigned l, unsigned k, struct fo_site_lag *out)
{
    const struct sim_world *w = &s->world;
    out->site = site_names[k];
    out->not_replica = false; /* the modelled standbys always replicate */
    out->known = w->lag_known[k] && probe(s, l, w->pg_region[k]) == FO_STATUS_UP;
    out->bytes = out->known ? w->lag_bytes[k] : 0;
    out->ms = out->known ? w->lag_ms[k] : 0;
}

bool sim_world_isolated(struct sim *s, unsigned i)
{
    return s->world.iso_until[i] > vnow(s);
}

/* The region of the decided primary's Postgres, as the most advanced FSM says. */
static int primary_region(struct sim *s)
{
    const struct fo_state *best = NULL;
    for (unsigned i = 0; i < s->n; i++) {
        const struct fo_state *st = &s->s[i].rf.fsm.state;
        if (st->primary != NULL && (best == NULL || st->epoch > best->epoch))
            best = st;
    }
    for (unsigned k = 0; best != NULL && k < SIM_SITES; k++)
        if (same(best->primary, site_names[k]))
            return (int)s->world.pg_region[k];
    return -1;
}

int sim_decide_open(struct sim *s)
{
    char yaml[sizeof(config_fmt) + 64];
    struct fo_error err;
    bool redis_critical = sim_below(s, 2) == 0;
    int n;

    if (s->n != 3)
        return -1;
    n = snprintf(yaml, sizeof(yaml), config_fmt,
                 s->opt.failover_after_ms != 0 ? s->opt.failover_after_ms : SIM_FAILOVER_AFTER_MS,
                 redis_critical ? "true" : "false");
    if (n < 0 || (size_t)n >= sizeof(yaml))
        return -1;
    memset(&err, 0, sizeof(err));
    if (fo_config_load_buffer("sim.yaml", yaml, (size_t)n, &s->cfg, &err) != 0) {
        fprintf(stderr, "sim: decision config: %s\n", err.msg);
        return -1;
    }
    s->cfg_loaded = true;
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_server *sv = &s->s[i];
        s->peer[i] = fo_config_peer_by_id(&s->cfg, i + 1);
        if (s->peer[i] == NULL)
            return -1;
        snprintf(sv->name, sizeof(sv->name), "%s", s->peer[i]->name);
        sv->next_tick = sim_below(s, TICK_MS); /* each daemon has its own phase */
        sv->last_reason = -1;
        for (unsigned j = 0; j < SIM_MAX_SERVERS; j++) {
            sv->want[j] = -1;
            for (unsigned k = 0; k < SIM_MAX_SERVERS; k++)
                sv->vrow[j][k].status = -1;
        }
    }
    for (unsigned k = 0; k < SIM_SITES; k++) {
        int r;
        s->site[k] = fo_config_site(&s->cfg, site_names[k]);
        if (s->site[k] == NULL || s->site[k]->postgres == NULL)
            return -1;
        r = region_of(s, s->site[k]->postgres->region);
        if (r < 0)
            return -1;
        s->world.pg_region[k] = (unsigned)r;
        lag_normal(s, k);
    }
    sim_writes_open(s);
    if (s->opt.verbose)
        printf("decision mode: failover_after_ms %llu, lease_ms %llu, cooldown_ms "
               "%llu, redis critical %s\n",
               (unsigned long long)s->cfg.decision.failover_after_ms,
               (unsigned long long)s->cfg.decision.lease_ms,
               (unsigned long long)s->cfg.decision.cooldown_ms, redis_critical ? "yes" : "no");
    return 0;
}

void sim_decide_close(struct sim *s)
{
    if (s->cfg_loaded)
        fo_config_free(&s->cfg);
    s->cfg_loaded = false;
    sim_writes_close(s);
    free(s->decisions);
    s->decisions = NULL;
    s->ndecisions = s->capdecisions = 0;
}

/* ---- proposals -------------------------------------------------------------------- */

/* Propose op_begin for dec on server l (operations.c begin()): the configured plan's
 * steps, at_ms = now. */
static int begin(struct sim *s, unsigned l, const struct fo_decision *dec, int kind, const char *id,
                 uint64_t epoch, const char *reason)
{
    const struct fo_plan *plan = &s->cfg.plan;
    struct fo_step_spec specs[FO_MAX_STEPS];
    struct fo_cmd c;
    size_t n = 0;

    for (; n < plan->nsteps && n < FO_MAX_STEPS; n++) {
        specs[n].name = plan->steps[n].name;
        specs[n].action = plan->steps[n].action;
    }
    memset(&c, 0, sizeof(c));
    c.type = FO_CMD_OP_BEGIN;
    c.u.op_begin = (struct fo_cmd_op_begin){
        .id = (char *)id,
        .kind = kind,
        .from = (char *)dec->from,
        .to = (char *)dec->to,
        .reason = (char *)reason,
        .requested_by = s->s[l].name,
        .epoch = epoch,
        .force = dec->force,
        .detected_ms = dec->detected_ms,
        .at_ms = SIM_T0 + vnow(s),
        .steps = specs,
        .nsteps = n,
    };
    return sim_propose(s, l, &c);
}

/* The decision's inputs on server l, as operations.c fo_ops_input builds them. */
static void decision_input(struct sim *s, unsigned l, struct fo_decision_input *in,
                           struct fo_site_lag lags[SIM_SITES], const char *stale[SIM_MAX_SERVERS],
                           unsigned *stale_mask)
{
    struct raft *r = sim_raft(s, l);
    size_t ns = 0;

    memset(in, 0, sizeof(*in));
    in->state = &s->s[l].rf.fsm.state;
    in->cfg = &s->cfg;
    in->now_ms = SIM_T0 + vnow(s);
    for (unsigned k = 0; k < SIM_SITES; k++)
        measured_lag(s, l, k, &lags[k]);
    in->lags = lags;
    in->nlags = SIM_SITES;
    *stale_mask = 0;
    /* consensus/node.c fo_node_peer_reachable: a leader's contact record of this term,
     * within an election timeout (cluster.c contact_recv). */
    for (unsigned k = 0; k < r->configuration.n; k++) {
        raft_id id = r->configuration.servers[k].id;
        if (id == r->id || id == 0 || id > s->n || r->state != RAFT_LEADER)
            continue;
        const struct sim_server *sv = &s->s[l];
        raft_time now = raft_fixture_time(&s->f);
        if (sv->contact[id - 1].term != r->current_term ||
            now - sv->contact[id - 1].at >= r->election_timeout) {
            stale[ns++] = s->peer[id - 1]->name;
            *stale_mask |= 1u << (id - 1);
        }
    }
    in->stale = stale;
    in->nstale = ns;
}

/* ---- the independent checks -------------------------------------------------------- */

/* Observers (not in stale) whose committed verdicts on a critical region of site hold it
 * DOWN since at least failover_after_ms before at; *down counts those holding it DOWN at
 * all. Written from DESIGN §5, not from decision.c. */
static unsigned count_held(const struct sim *s, const struct fo_state *st, const char *site,
                           uint64_t at, unsigned stale, unsigned *down)
{
    const struct fo_site *p = fo_config_site(&s->cfg, site);
    const char *crit[2];
    size_t nc = 0;
    unsigned held = 0;
    uint64_t after = s->cfg.decision.failover_after_ms;

    *down = 0;
    if (p == NULL)
        return 0;
    if (p->postgres != NULL && s->cfg.checks.postgres_critical)
        crit[nc++] = p->postgres->region;
    if (p->redis != NULL && s->cfg.checks.redis_critical)
        crit[nc++] = p->redis->region;
    for (unsigned o = 0; o < s->n; o++) {
        bool is_down = false, is_held = false;
        if (stale & (1u << o))
            continue;
        for (size_t i = 0; i < st->nverdicts; i++) {
            const struct fo_verdict *v = &st->verdicts[i];
            bool critical = false;
            for (size_t k = 0; k < nc; k++)
                critical |= same(v->region, crit[k]);
            if (!critical || !same(v->observer, s->peer[o]->name) || v->status != FO_STATUS_DOWN)
                continue;
            is_down = true;
            if (v->since_ms <= at && at - v->since_ms >= after)
                is_held = true;
        }
        *down += is_down;
        held += is_held;
    }
    return held;
}

/* The most recent finished operation that moved the primary (not a drill). */
static const struct fo_operation *previous_move(const struct fo_state *st)
{
    for (size_t i = st->nhistory; i > 0; i--)
        if (st->history[i - 1].kind != FO_OP_DRILL)
            return &st->history[i - 1];
    return NULL;
}

static void check_decision(struct sim *s, unsigned l, const struct fo_decision *dec, unsigned stale,
                           uint64_t now_ms)
{
    const struct sim_server *sv = &s->s[l];
    const struct fo_state *st = &sv->rf.fsm.state;
    const struct fo_operation *prev = previous_move(st);
    const struct sim_world *w = &s->world;
    unsigned down, held = count_held(s, st, dec->from, now_ms, stale, &down);
    int k = same(dec->to, site_names[0]) ? 0 : same(dec->to, site_names[1]) ? 1 : -1;

    if (held < s->cfg.decision.quorum)
        sim_violation(s, SIM_INV_QUORUM,
                      "%s decided %s -> %s with %u observers holding %s DOWN for %llu ms (%u "
                      "DOWN at all; quorum %u)",
                      sv->name, dec->from, dec->to, held, dec->from,
                      (unsigned long long)s->cfg.decision.failover_after_ms, down,
                      s->cfg.decision.quorum);
    if (st->mode != FO_MODE_AUTO || now_ms < st->cooldown_until_ms)
        sim_violation(s, SIM_INV_GATES,
                      "%s decided %s -> %s while %s (cooldown until %llu, now %llu)", sv->name,
                      dec->from, dec->to, st->mode == FO_MODE_AUTO ? "auto" : "paused",
                      (unsigned long long)st->cooldown_until_ms, (unsigned long long)now_ms);
    /* (i) from the world, as the leader's probe would see it. */
    if (k < 0 || !w->lag_known[k] || probe(s, l, w->pg_region[k]) != FO_STATUS_UP ||
        w->lag_bytes[k] > s->cfg.decision.max_lag_bytes ||
        w->lag_ms[k] > s->cfg.decision.max_lag_ms)
        sim_violation(s, SIM_INV_RPO,
                      "%s decided %s -> %s with the target's lag %s (%llu B, %llu ms)", sv->name,
                      dec->from, dec->to,
                      k < 0                                          ? "of an unknown site"
                      : !w->lag_known[k]                             ? "unknown"
                      : probe(s, l, w->pg_region[k]) != FO_STATUS_UP ? "unmeasurable"
                                                                     : "over the bound",
                      k < 0 ? 0ULL : (unsigned long long)w->lag_bytes[k],
                      k < 0 ? 0ULL : (unsigned long long)w->lag_ms[k]);
    if (dec->epoch != st->epoch + 1 || !same(dec->from, st->primary))
        sim_violation(s, SIM_INV_ONE, "%s decided epoch %llu from %s on epoch %llu, primary %s",
                      sv->name, (unsigned long long)dec->epoch, dec->from,
                      (unsigned long long)st->epoch, st->primary != NULL ? st->primary : "-");
    if (prev != NULL && same(prev->from, dec->to))
        sim_violation(s, SIM_INV_FAILBACK, "%s decided %s -> %s: %s was the primary before %s",
                      sv->name, dec->from, dec->to, dec->to, prev->id);
}

/* ---- the leader's decision ---------------------------------------------------------- */

static void record_decision(struct sim *s, unsigned l, const struct fo_decision *dec,
                            uint64_t now_ms, unsigned stale)
{
    struct sim_decision *d;

    if (s->ndecisions == s->capdecisions) {
        size_t n = s->capdecisions ? 2 * s->capdecisions : 16;
        struct sim_decision *p = realloc(s->decisions, n * sizeof(*p));
        if (p == NULL)
            abort();
        s->decisions = p;
        s->capdecisions = n;
    }
    d = &s->decisions[s->ndecisions++];
    memset(d, 0, sizeof(*d));
    snprintf(d->id, sizeof(d->id), "%s", dec->op_id);
    snprintf(d->by, sizeof(d->by), "%s", s->s[l].name);
    snprintf(d->from, sizeof(d->from), "%s", dec->from);
    snprintf(d->to, sizeof(d->to), "%s", dec->to);
    d->at_ms = now_ms;
    d->read_index = raft_last_applied(sim_raft(s, l));
    d->stale = stale;
    for (unsigned r = 0; r < s->n; r++)
        d->own_pending |= s->s[l].want_pending[r];
}

static void decide(struct sim *s, unsigned l)
{
    struct sim_server *sv = &s->s[l];
    const struct fo_state *st = &sv->rf.fsm.state;
    struct fo_decision_input in;
    struct fo_site_lag lags[SIM_SITES];
    const char *stale[SIM_MAX_SERVERS];
    static struct fo_decision dec; /* large */
    unsigned mask;
    char reason[FO_TEXT_MAX];

    if (sv->op_inflight || st->operation != NULL || st->cluster == NULL)
        return;
    /* coordinator/run/operations.c: no decision while this node's own verdicts are not yet
     * committed (fo_verdicts_settled): it could decide on evidence it withdrew. */
    for (unsigned r = 0; r < s->n; r++)
        if (sv->want_pending[r])
            return;
    decision_input(s, l, &in, lags, stale, &mask);
    fo_decision_auto(&in, &dec);
    if (s->opt.verbose && (int)dec.reason != sv->last_reason)
        printf("t=%llu %s: decision %s: %s\n", (unsigned long long)vnow(s), sv->name,
               fo_decision_reason_names[dec.reason], dec.text);
    sv->last_reason = (int)dec.reason;
    if (dec.kind != FO_DECISION_FAILOVER)
        return;
    check_decision(s, l, &dec, mask, in.now_ms);
    snprintf(reason, sizeof(reason), "automatic: %.480s", dec.text);
    if (begin(s, l, &dec, FO_OP_AUTO, dec.op_id, dec.epoch, reason) == 0)
        record_decision(s, l, &dec, in.now_ms, mask);
}

/* An operator at the leader's admin endpoint: pause/resume, a manual failover (the
 * operator path of decision.c, never forced) or a drill. */
static void operator_event(struct sim *s, char *what, size_t cap)
{
    int l = ready_leader(s);
    struct sim_server *sv;
    const struct fo_state *st;
    unsigned k = sim_below(s, 10);
    struct fo_cmd c;
    uint64_t now_ms = SIM_T0 + vnow(s);

    if (l < 0 || s->drain) {
        snprintf(what, cap, "operator: no ready leader");
        return;
    }
    sv = &s->s[l];
    st = &sv->rf.fsm.state;
    if (st->cluster == NULL || st->primary == NULL) {
        snprintf(what, cap, "operator: not initialised");
        return;
    }
    if (k < 6) {
        memset(&c, 0, sizeof(c));
        c.type = FO_CMD_MODE;
        c.u.mode = (struct fo_cmd_mode){st->mode == FO_MODE_AUTO ? FO_MODE_PAUSED : FO_MODE_AUTO,
                                        "operator", "sim", now_ms};
        snprintf(what, cap, "operator: %s on %s", st->mode == FO_MODE_AUTO ? "pause" : "resume",
                 sv->name);
        (void)sim_propose(s, (unsigned)l, &c);
        return;
    }
    if (sv->op_inflight || st->operation != NULL) {
        snprintf(what, cap, "operator: an operation is in flight");
        return;
    }
    {
        static struct fo_decision dec;
        struct fo_decision_input in;
        struct fo_site_lag lags[SIM_SITES];
        const char *stale[SIM_MAX_SERVERS];
        unsigned mask;
        const char *to = same(st->primary, site_names[0]) ? site_names[1] : site_names[0];
        char id[FO_NAME_MAX + 1];

        decision_input(s, (unsigned)l, &in, lags, stale, &mask);
        if (k < 9) {
            fo_decision_manual(&in, to, false, &dec);
            snprintf(what, cap, "operator: failover --to %s on %s: %s", to, sv->name,
                     dec.kind == FO_DECISION_FAILOVER ? "proposed" : dec.text);
            if (dec.kind == FO_DECISION_FAILOVER)
                (void)begin(s, (unsigned)l, &dec, FO_OP_MANUAL, dec.op_id, dec.epoch,
                            "operator: sim");
            return;
        }
        memset(&dec, 0, sizeof(dec));
        snprintf(dec.from, sizeof(dec.from), "%s", st->primary);
        snprintf(dec.to, sizeof(dec.to), "%s", to);
        snprintf(id, sizeof(id), "drill-%llu", (unsigned long long)++s->op_counter);
        snprintf(what, cap, "operator: drill %s on %s", id, sv->name);
        (void)begin(s, (unsigned)l, &dec, FO_OP_DRILL, id, st->epoch, "operator: drill");
    }
}

void sim_world_fault(struct sim *s)
{
    struct sim_world *w = &s->world;
    raft_time now = vnow(s);
    unsigned k = sim_below(s, 100), r = sim_below(s, s->n), o = sim_below(s, s->n);
    unsigned dur = 500 + sim_below(s, 9000);
    int prim = primary_region(s);
    char what[FO_TEXT_MAX + 64];

    what[0] = '\0';
    if (k < 25) { /* a region's data plane fails (sometimes its node with it) */
        unsigned dead = 0;
        if (prim >= 0 && sim_below(s, 2) == 0)
            r = (unsigned)prim;
        for (unsigned x = 0; x < s->n; x++)
            dead += s->revive_at[x] != 0;
        /* A new fault never shortens an outage in progress: overwriting brought a region's
         * data plane back while the node killed with it was still down (an outage "with its
         * node killed" is one event), --seed 3326 before this. */
        if (w->down_until[r] < now + dur)
            w->down_until[r] = now + dur;
        if (sim_below(s, 3) == 0 && s->revive_at[r] == 0 && dead + 1 < s->n) {
            raft_fixture_kill(&s->f, r);
            s->revive_at[r] = now + dur;
            snprintf(what, sizeof(what), "outage of %s for %u ms, its node killed",
                     s->peer[r]->region, dur);
        } else {
            snprintf(what, sizeof(what), "outage of %s's data plane for %u ms", s->peer[r]->region,
                     dur);
        }
    } else if (k < 50) { /* a region is cut off: its node and its data plane */
        if (prim >= 0 && sim_below(s, 3) != 0)
            r = (unsigned)prim;
        w->iso_until[r] = now + dur;
        snprintf(what, sizeof(what), "%s cut off for %u ms", s->peer[r]->region, dur);
    } else if (k < 62) { /* one observer's path to one region */
        dur = 200 + sim_below(s, 6000);
        w->blind_until[o][r] = now + dur;
        w->blind_status[o][r] = sim_below(s, 3) == 0 ? FO_STATUS_UNKNOWN : FO_STATUS_DOWN;
        snprintf(what, sizeof(what), "%s sees %s %s for %u ms", s->peer[o]->name,
                 s->peer[r]->region, fo_status_names[w->blind_status[o][r]], dur);
    } else if (k < 82) { /* a standby's lag */
        unsigned site = sim_below(s, SIM_SITES), kind = sim_below(s, 10);
        w->lag_until[site] = now + dur;
        if (kind < 4) {
            w->lag_known[site] = true;
            w->lag_bytes[site] = MAX_LAG_BYTES + 1 + sim_below(s, 3 * MAX_LAG_BYTES);
        } else if (kind < 6) {
            w->lag_known[site] = true;
            w->lag_ms[site] = MAX_LAG_MS + 1 + sim_below(s, MAX_LAG_MS);
        } else {
            w->lag_known[site] = false;
        }
        snprintf(what, sizeof(what), "%s's lag %s for %u ms", site_names[site],
                 !w->lag_known[site] ? "unknown"
                 : kind < 4          ? "over max_lag_bytes"
                                     : "over max_lag_ms",
                 dur);
    } else {
        operator_event(s, what, sizeof(what));
    }
    sim_net_apply(s);
    if (s->opt.verbose)
        printf("t=%llu step %lu: world %s\n", (unsigned long long)now, s->step, what);
}

bool sim_world_expire(struct sim *s)
{
    struct sim_world *w = &s->world;
    raft_time now = vnow(s);
    bool net = false;

    for (unsigned r = 0; r < s->n; r++) {
        if (w->iso_until[r] != 0 && w->iso_until[r] <= now) {
            w->iso_until[r] = 0;
            net = true;
            if (s->opt.verbose)
                printf("t=%llu step %lu: world %s reconnected\n", (unsigned long long)now, s->step,
                       s->peer[r]->region);
        }
        if (w->down_until[r] != 0 && w->down_until[r] <= now) {
            w->down_until[r] = 0;
            if (s->opt.verbose)
                printf("t=%llu step %lu: world %s's data plane is back\n", (unsigned long long)now,
                       s->step, s->peer[r]->region);
        }
    }
    for (unsigned k = 0; k < SIM_SITES; k++)
        if (w->lag_until[k] != 0 && w->lag_until[k] <= now)
            lag_normal(s, k);
    return net;
}

void sim_world_heal(struct sim *s)
{
    struct sim_world *w = &s->world;
    memset(w->down_until, 0, sizeof(w->down_until));
    memset(w->iso_until, 0, sizeof(w->iso_until));
    memset(w->blind_until, 0, sizeof(w->blind_until));
    for (unsigned k = 0; k < SIM_SITES; k++)
        lag_normal(s, k);
}

/* A guardian runs where its components do (README, "Never two writable primaries": the
 * deployment the write lease assumes): a node killed by a Raft fault is its host going
 * down, and its region's data plane goes with it until it is revived. A node killed
 * while its databases kept serving clients would leave nobody to fence them: the
 * product's documented limit, not modelled. */
void sim_decide_killed(struct sim *s, unsigned i, raft_time until)
{
    struct sim_world *w = &s->world;
    if (w->down_until[i] < until)
        w->down_until[i] = until;
}

void sim_decide_revived(struct sim *s, unsigned i)
{
    struct sim_server *sv = &s->s[i];
    /* A restarted daemon: nothing wanted; its lease restarts (writes.c). */
    sv->want_cooldown = false;
    sv->last_reason = -1;
}

/* ---- the daemon's housekeeping ------------------------------------------------------ */

/* Probes -> wanted verdicts; propose (leader) or forward (follower) what differs from this
 * node's FSM (coordinator/detect/verdicts.c fo_verdicts_reconcile). */
static void verdicts_tick(struct sim *s, unsigned i, bool ready)
{
    struct sim_server *sv = &s->s[i];
    uint64_t now_ms = SIM_T0 + vnow(s);

    for (unsigned r = 0; r < s->n; r++) {
        int st = probe(s, i, r);
        if (st != sv->want[r]) {
            sv->want[r] = st;
            sv->want_at[r] = now_ms;
        }
    }
    for (unsigned r = 0; r < s->n; r++) {
        const struct fo_verdict *v = fo_fsm_verdict(&sv->rf.fsm, sv->name, s->peer[r]->region);
        unsigned target = i;
        struct fo_cmd c;

        if (sv->want_pending[r] || (v != NULL && v->status == sv->want[r]))
            continue;
        if (!ready) {
            raft_id lid = 0;
            const char *laddr = NULL;
            raft_leader(sim_raft(s, i), &lid, &laddr);
            if (lid == 0 || lid > s->n || lid == (raft_id)i + 1)
                continue;
            target = (unsigned)lid - 1;
            if (!is_ready(s, target) || raft_fixture_saturated(&s->f, i, target) ||
                raft_fixture_saturated(&s->f, target, i))
                continue; /* the forward would not arrive: retried next tick */
        }
        memset(&c, 0, sizeof(c));
        c.type = FO_CMD_VERDICT;
        c.u.verdict = (struct fo_cmd_verdict){sv->name, s->peer[r]->region, sv->want[r],
                                              sv->want_at[r], NULL};
        if (sim_propose_for(s, target, &c, i, (int)r) == 0)
            sv->want_pending[r] = true;
    }
}

void sim_decide_daemon(struct sim *s, unsigned i, bool ready)
{
    struct sim_server *sv = &s->s[i];
    const struct fo_state *st = &sv->rf.fsm.state;
    raft_time now = vnow(s);
    uint64_t now_ms = SIM_T0 + now;
    struct fo_cmd c;

    memset(&c, 0, sizeof(c));
    if (sv->want_cooldown) { /* fo_ops_finished: proposed at once, or not at all */
        sv->want_cooldown = false;
        if (ready) {
            c.type = FO_CMD_COOLDOWN;
            c.u.cooldown =
                (struct fo_cmd_cooldown){now_ms + s->cfg.decision.cooldown_ms, sv->name, now_ms};
            (void)sim_propose(s, i, &c);
        }
    }
    if (ready && now >= sv->next_propose && !sv->op_inflight && sv->inflight < 3) {
        if (st->cluster == NULL) { /* daemon.c maybe_init */
            c.type = FO_CMD_INIT;
            c.u.init = (struct fo_cmd_init){"sim", s->cfg.initial_primary, now_ms};
            sv->next_propose = now + 200;
            (void)sim_propose(s, i, &c);
        } else if (st->operation != NULL) { /* the executor: the next step, or op_end */
            /* the executor proposes the next step as soon as one commits: fast, so that
             * a promote can race the old primary's lease (the gate matters, (m)) */
            sv->next_propose = now + 10 + sim_below(s, 60);
            sim_op_progress(s, sv, &c, now_ms);
            /* the executor: the lease gate holds promotes back; actions run (writes.c) */
            if (sim_writes_executor(s, i, &c))
                (void)sim_propose(s, i, &c);
        } else if (s->drain && sv->inflight == 0) {
            /* Some traffic while draining (README: a stale uncommitted tail). */
            char hex[32];
            sv->next_propose = now + 1000 + sim_below(s, 500);
            snprintf(hex, sizeof(hex), "%016llx", (unsigned long long)sim_rand(s));
            c.type = FO_CMD_DIGEST;
            c.u.digest = (struct fo_cmd_digest){sv->name, hex, now_ms};
            (void)sim_propose(s, i, &c);
        }
    }
    if (now < sv->next_tick)
        return;
    sv->next_tick = now + TICK_MS;
    verdicts_tick(s, i, ready);
    if (ready && !s->drain)
        decide(s, i);
}

/* ---- at apply ----------------------------------------------------------------------- */

/* Keep, per server, the raft index that last changed each verdict row (g). */
static void track_rows(struct sim *s, struct sim_server *sv, raft_index index)
{
    const struct fo_state *st = &sv->rf.fsm.state;
    for (size_t k = 0; k < st->nverdicts; k++) {
        const struct fo_verdict *v = &st->verdicts[k];
        int o = node_of(s, v->observer), r = region_of(s, v->region);
        if (o < 0 || r < 0)
            continue;
        if (sv->vrow[o][r].status != v->status || sv->vrow[o][r].since != v->since_ms) {
            sv->vrow[o][r].status = v->status;
            sv->vrow[o][r].since = v->since_ms;
            sv->vrow[o][r].changed = index;
        }
    }
}

void sim_decide_restored(struct sim *s, struct sim_server *sv)
{
    track_rows(s, sv, raft_last_applied(sim_raft(s, sv->i)));
}

static const struct sim_decision *find_decision(const struct sim *s, const struct fo_operation *op)
{
    for (size_t k = s->ndecisions; k > 0; k--) {
        const struct sim_decision *d = &s->decisions[k - 1];
        if (d->at_ms == op->started_ms && same(d->by, op->requested_by) && same(d->id, op->id))
            return d;
    }
    return NULL;
}

/* An automatic op_begin was applied for the first time, i.e. committed now. */
static void check_auto_commit(struct sim *s, struct sim_server *sv, const struct fo_operation *op)
{
    const struct fo_state *st = &sv->rf.fsm.state; /* op_begin changed none of what is read */
    const struct fo_operation *prev = previous_move(st);
    const struct sim_decision *d = find_decision(s, op);
    unsigned down, held;

    if (s->opt.verbose)
        printf("t=%llu %s: committed %s %s -> %s (epoch %llu, by %s)\n",
               (unsigned long long)vnow(s), sv->name, op->id, op->from, op->to,
               (unsigned long long)op->epoch, op->requested_by);
    if (d == NULL) {
        sim_violation(s, SIM_INV_QUORUM, "automatic %s (%s -> %s) was not decided by the policy",
                      op->id, op->from, op->to);
        return;
    }
    /* (h): the FSM's gates at the commit point. */
    if (st->mode != FO_MODE_AUTO || op->started_ms < st->cooldown_until_ms)
        sim_violation(s, SIM_INV_GATES, "%s committed while %s (cooldown until %llu, at %llu)",
                      op->id, st->mode == FO_MODE_AUTO ? "auto" : "paused",
                      (unsigned long long)st->cooldown_until_ms,
                      (unsigned long long)op->started_ms);
    /* (l) */
    if (prev != NULL && same(prev->from, op->to))
        sim_violation(s, SIM_INV_FAILBACK, "%s committed %s -> %s: %s was the primary before %s",
                      op->id, op->from, op->to, op->to, prev->id);
    /* (g): the committed verdicts right before the op_begin. */
    held = count_held(s, st, op->from, op->started_ms, d->stale, &down);
    if (held < s->cfg.decision.quorum) {
        /* Fine only if a verdict the decision read changed after it read the FSM. */
        bool changed = false;
        for (unsigned o = 0; o < s->n; o++)
            for (unsigned r = 0; r < s->n; r++)
                if (!(d->stale & (1u << o)) && sv->vrow[o][r].changed > d->read_index)
                    changed = true;
        if (!changed)
            sim_violation(s, SIM_INV_QUORUM,
                          "%s (%s -> %s) committed with %u observers holding %s DOWN (%u DOWN "
                          "at all; quorum %u) and no verdict changed since the decision read "
                          "index %llu",
                          op->id, op->from, op->to, held, op->from, down, s->cfg.decision.quorum,
                          (unsigned long long)d->read_index);
        s->windows++;
        s->windows_own += d->own_pending;
        if (s->opt.verbose)
            printf("  (g) a verdict changed between the decision (index %llu) and the commit: "
                   "%u holding DOWN now%s\n",
                   (unsigned long long)d->read_index, held,
                   d->own_pending ? " (the leader's own verdict, proposed before it decided)" : "");
    }
    /* (i) was checked against the world when the decision was made. */
}

void sim_decide_applied(struct sim *s, struct sim_server *sv, raft_index index, bool first,
                        uint64_t pre_epoch)
{
    const struct fo_fsm_result *last = &sv->rf.fsm.last;
    const struct fo_operation *op = sv->rf.fsm.state.operation;

    if (last->outcome != FO_FSM_APPLIED)
        return;
    if (last->type == FO_CMD_VERDICT) {
        track_rows(s, sv, index);
        return;
    }
    if (last->type != FO_CMD_OP_BEGIN || op == NULL)
        return;
    if (op->kind == FO_OP_DRILL) {
        s->drills += first;
        return;
    }
    /* (j): one op_begin per epoch, each exactly one past the last, on every server. */
    if (op->epoch != pre_epoch + 1 || op->epoch <= sv->last_begin_epoch)
        sim_violation(s, SIM_INV_ONE,
                      "%s applied %s for epoch %llu after epoch %llu (last begun %llu)", sv->name,
                      op->id, (unsigned long long)op->epoch, (unsigned long long)pre_epoch,
                      (unsigned long long)sv->last_begin_epoch);
    sv->last_begin_epoch = op->epoch;
    if (!first)
        return;
    if (op->kind == FO_OP_AUTO) {
        s->auto_ops++;
        check_auto_commit(s, sv, op);
    } else {
        s->manual_ops++;
        if (s->opt.verbose)
            printf("t=%llu %s: committed %s %s %s -> %s (epoch %llu)\n",
                   (unsigned long long)vnow(s), sv->name, fo_op_kind_names[op->kind], op->id,
                   op->from, op->to, (unsigned long long)op->epoch);
    }
}
