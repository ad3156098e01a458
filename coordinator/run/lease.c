/*
 * coordinator/run/lease.c — see lease.h for the model and the proof.
 */
#include "coordinator/run/lease.h"

#include <stdio.h>
#include <string.h>

#include "coordinator/clock.h"
#include "coordinator/config/components.h"
#include "coordinator/decide/decision.h"
#include "coordinator/log.h"
#include "proto/command.h"

const struct fo_lease_params fo_lease_defaults = {
    .renew_ms = 100,
    .lease_ms = 600,
    .fence_budget_ms = 150,
    .rate_margin_permille = 20,
};

const char *const fo_lease_answer_names[] = {"granted",  "not_primary",  "held_down",
                                             "starting", "not_guardian", NULL};
const char *const fo_lease_cause_names[] = {"none",        "lapsed",   "held_down",
                                            "not_primary", "promoted", NULL};

/* A fence that holds is re-asserted this often (someone may have lifted it by hand, or a
 * restarted Redis forgot its runtime configuration). */
#define REFENCE_MS 2000

uint64_t fo_lease_attest_ms(const struct fo_lease_params *p)
{
    uint64_t num = ((uint64_t)p->lease_ms + p->fence_budget_ms) * (1000 + p->rate_margin_permille);
    uint64_t den = 1000 - p->rate_margin_permille;
    return (num + den - 1) / den;
}

int fo_lease_params_check(const struct fo_lease_params *p, char *msg, size_t cap)
{
    if (p->renew_ms == 0 || p->lease_ms == 0) {
        snprintf(msg, cap, "renew_ms and lease_ms must be > 0");
        return -1;
    }
    /* Two rounds per lease: one lost answer must not fence a healthy primary. */
    if ((uint64_t)p->renew_ms * 2 > p->lease_ms) {
        snprintf(msg, cap, "renew_ms (%u) must be at most half of lease_ms (%u)", p->renew_ms,
                 p->lease_ms);
        return -1;
    }
    if (p->rate_margin_permille >= 500) {
        snprintf(msg, cap, "the clock-rate margin must be below 50 %% (500 permille)");
        return -1;
    }
    return 0;
}

/* The wall-clock stamp of a mark (at_ms: for people, never compared). */
static uint64_t wall_ms(struct fo_lease *l)
{
    return l->wall != NULL ? l->wall(l) : fo_clock_wall_ms();
}

/* ---- who guards what --------------------------------------------------------------- */

size_t fo_lease_guardians(const struct fo_config *cfg, const char *site_name,
                          const struct fo_peer **out, size_t cap)
{
    const struct fo_site *site = site_name != NULL ? fo_config_site(cfg, site_name) : NULL;
    size_t n = 0;

    for (size_t i = 0; site != NULL && i < cfg->npeers && n < cap; i++)
        if (fo_component_site_in_region(site, cfg->peers[i].region))
            out[n++] = &cfg->peers[i];
    return n;
}

bool fo_lease_is_guardian(const struct fo_config *cfg, const char *site, const struct fo_peer *peer)
{
    const struct fo_peer *g[FO_CONFIG_MAX_PEERS];
    size_t n = fo_lease_guardians(cfg, site, g, FO_CONFIG_MAX_PEERS);
    for (size_t i = 0; i < n; i++)
        if (g[i] == peer)
            return true;
    return false;
}

bool fo_lease_gate(const struct fo_state *st, const struct fo_config *cfg, const char *site,
                   uint64_t epoch, char *why, size_t cap)
{
    const struct fo_peer *g[FO_CONFIG_MAX_PEERS];
    size_t n = fo_lease_guardians(cfg, site, g, FO_CONFIG_MAX_PEERS);

    for (size_t i = 0; i < n; i++) {
        size_t expired = 0;
        bool fenced = false;
        for (size_t k = 0; k < st->nleases; k++) {
            const struct fo_lease_mark *m = &st->leases[k];
            if (m->epoch != epoch || strcmp(m->site, site) != 0 ||
                strcmp(m->guardian, g[i]->name) != 0)
                continue;
            if (m->what == FO_LEASE_FENCED)
                fenced = true;
            else if (fo_config_peer_by_name(cfg, m->node) != NULL)
                expired++; /* marks are unique per (node, what): the FSM dedups */
        }
        if (!fenced && expired * 2 <= cfg->npeers) {
            snprintf(why, cap,
                     "waiting for %s's write lease on %s (epoch %llu) to end: fenced not "
                     "confirmed, expiry attested by %zu of %zu voters",
                     g[i]->name, site, (unsigned long long)epoch, expired, cfg->npeers);
            return false;
        }
    }
    return true;
}

bool fo_lease_kind_gated(const char *action)
{
    static const char *const gated[] = {"postgres.promote", "redis.promote"};
    for (size_t i = 0; i < sizeof(gated) / sizeof(gated[0]); i++)
        if (strcmp(action, gated[i]) == 0)
            return true;
    return false;
}

bool fo_lease_site_held_down(const struct fo_state *st, const struct fo_config *cfg,
                             const char *site_name)
{
    const struct fo_site *site = fo_config_site(cfg, site_name);
    uint32_t down = 0;

    if (site == NULL)
        return false;
    for (size_t i = 0; i < cfg->npeers; i++)
        down += fo_decision_site_view(st, cfg, site, cfg->peers[i].name, NULL) == FO_STATUS_DOWN;
    for (size_t i = 0; i < cfg->nfeeds; i++)
        if (cfg->feeds[i].count_in_quorum)
            down +=
                fo_decision_site_view(st, cfg, site, cfg->feeds[i].name, NULL) == FO_STATUS_DOWN;
    return down >= cfg->decision.quorum;
}

/* ---- granter ----------------------------------------------------------------------- */

static size_t peer_index(const struct fo_config *cfg, const struct fo_peer *p)
{
    return (size_t)(p - cfg->peers);
}

enum fo_lease_answer fo_lease_core_grant(struct fo_lease *l, const struct fo_state *st,
                                         uint64_t now, const char *site, uint64_t epoch,
                                         const char *guardian)
{
    const struct fo_peer *g = fo_config_peer_by_name(l->cfg, guardian);

    if (g == NULL || !fo_lease_is_guardian(l->cfg, site, g))
        return FO_LEASE_NOT_GUARDIAN;
    if (st->primary == NULL || strcmp(st->primary, site) != 0 || st->epoch != epoch)
        return FO_LEASE_NOT_PRIMARY;
    /* After a restart this node may have granted just before it went down, and forgot:
     * it neither grants nor attests until W has passed. */
    if (now - l->started_ms < fo_lease_attest_ms(&l->params))
        return FO_LEASE_STARTING;
    if (fo_lease_site_held_down(st, l->cfg, site))
        return FO_LEASE_HELD_DOWN;
    l->grants[peer_index(l->cfg, g)].last_ms = now;
    return FO_LEASE_GRANTED;
}

/* Attest the expiry of every lease of the previous primary that this node has not granted
 * for W: the gate of the operation in flight counts these. */
static void attest(struct fo_lease *l, const struct fo_state *st, uint64_t now)
{
    const struct fo_peer *g[FO_CONFIG_MAX_PEERS];
    uint64_t w = fo_lease_attest_ms(&l->params), old_epoch;
    size_t n;

    if (st->prev_primary == NULL || st->epoch == 0 || now - l->started_ms < w)
        return;
    old_epoch = st->epoch - 1;
    n = fo_lease_guardians(l->cfg, st->prev_primary, g, FO_CONFIG_MAX_PEERS);
    for (size_t i = 0; i < n; i++) {
        struct fo_lease_grant *gr = &l->grants[peer_index(l->cfg, g[i])];
        struct fo_cmd cmd = {.type = FO_CMD_LEASE};
        bool marked = false;

        if (gr->last_ms != 0 && now - gr->last_ms < w)
            continue;
        for (size_t k = 0; k < st->nleases; k++) {
            const struct fo_lease_mark *m = &st->leases[k];
            if (m->epoch == old_epoch && strcmp(m->site, st->prev_primary) == 0 &&
                strcmp(m->guardian, g[i]->name) == 0 &&
                (m->what == FO_LEASE_FENCED || strcmp(m->node, l->self->name) == 0))
                marked = true;
        }
        if (marked)
            continue;
        /* Proposed again every tick until committed: the FSM keeps one row. */
        gr->attested = true;
        snprintf(gr->attested_site, sizeof(gr->attested_site), "%s", st->prev_primary);
        gr->attested_epoch = old_epoch;
        cmd.u.lease.site = st->prev_primary;
        cmd.u.lease.epoch = old_epoch;
        cmd.u.lease.guardian = g[i]->name;
        cmd.u.lease.node = l->self->name;
        cmd.u.lease.what = FO_LEASE_EXPIRED;
        cmd.u.lease.at_ms = wall_ms(l);
        l->attests++;
        l->propose(l, &cmd);
    }
}

/* ---- guardian ---------------------------------------------------------------------- */

void fo_lease_core_granted(struct fo_lease *l, const struct fo_state *st, uint64_t now,
                           const struct fo_peer *peer, uint64_t round)
{
    size_t granted = 0;

    for (size_t i = 0; i < FO_LEASE_ROUNDS; i++) {
        struct fo_lease_round *r = &l->rounds[i];
        if (r->id != round || round == 0)
            continue;
        r->granted |= UINT64_C(1) << peer_index(l->cfg, peer);
        for (size_t k = 0; k < l->cfg->npeers; k++)
            granted += (r->granted >> k) & 1;
        if (granted * 2 > l->cfg->npeers && r->sent_ms + l->params.lease_ms > l->valid_ms) {
            if (l->valid_ms == 0 || l->valid_ms <= now)
                l->rounds_granted++;
            l->valid_ms = r->sent_ms + l->params.lease_ms;
            l->held = true;
        }
        break;
    }
    fo_lease_core_kick(l, st, now);
}

static void send_round(struct fo_lease *l, const struct fo_state *st, uint64_t now)
{
    struct fo_lease_round *r = &l->rounds[l->next_round % FO_LEASE_ROUNDS];

    r->id = ++l->next_round;
    r->sent_ms = now;
    r->granted = 0;
    l->rounds_sent++;
    for (size_t i = 0; i < l->cfg->npeers; i++) {
        const struct fo_peer *p = &l->cfg->peers[i];
        if (p == l->self) {
            if (fo_lease_core_grant(l, st, now, l->site, l->epoch, p->name) == FO_LEASE_GRANTED)
                r->granted |= UINT64_C(1) << i;
            continue;
        }
        l->send(l, p, l->site, l->epoch, r->id);
    }
}

/* token: the epoch the fence carries to the components (lease.h on_fence), which record
 * it and refuse a promote or an unfence of an older one. */
static void fence(struct fo_lease *l, int cause, uint64_t token, uint64_t now)
{
    if (!l->fenced) {
        l->fenced = true;
        l->fenced_ms = now;
        l->fence_confirmed = false;
        l->fences++;
        fo_log_warn("lease.fence", "site=%s epoch=%llu cause=%s", l->site,
                    (unsigned long long)l->epoch, fo_lease_cause_names[cause]);
    } else if (cause == l->fence_cause && token == l->fence_token &&
               now - l->refence_ms < REFENCE_MS && l->fence_confirmed) {
        /* A confirmed fence is re-asserted every REFENCE_MS; one that was not (a component
         * unreachable: SKIPPED) is retried every tick, so that a component coming back
         * from an outage is fenced within renew_ms + fence_budget_ms, not 2 s. */
        return;
    }
    l->fence_cause = cause;
    if (token != l->fence_token)
        l->fence_confirmed = false; /* a newer token: run again, whatever ran before */
    l->fence_token = token;
    if (l->fence_inflight)
        return;
    l->refence_ms = now;
    l->fence_inflight = true;
    l->inflight_fence = true;
    l->on_fence(l, l->site, l->fence_token, true);
}

/* Lift the fence (reassert: again, the fence being already lifted; see lease.h). */
static void lift(struct fo_lease *l, uint64_t now, bool reassert)
{
    if (l->fence_inflight)
        return;
    if (!reassert) {
        fo_log_warn("lease.lift", "site=%s epoch=%llu cause=%s reason=\"%s\"", l->site,
                    (unsigned long long)l->epoch, fo_lease_cause_names[l->fence_cause],
                    l->fence_cause == FO_LEASE_CAUSE_PROMOTED
                        ? "this guardian holds the promoted site's lease"
                        : "a majority granted the lease again");
        l->lifts++;
    }
    l->fenced = false;
    l->fence_cause = FO_LEASE_CAUSE_NONE;
    l->lift_confirmed = false;
    l->lift_reassert = reassert;
    l->lift_ms = now;
    l->fence_inflight = true;
    l->inflight_fence = false;
    l->on_fence(l, l->site, l->epoch, false);
}

void fo_lease_core_fence_done(struct fo_lease *l, const char *site, uint64_t epoch, bool confirmed)
{
    struct fo_cmd cmd = {.type = FO_CMD_LEASE};
    bool was_fence = l->inflight_fence;

    l->fence_inflight = false;
    if (!l->fenced) {
        /* A lift (or its re-assertion) returned: until one is confirmed, the guardian
         * tries again every renew period (guard). */
        if (!was_fence && strcmp(site, l->site) == 0 && epoch == l->epoch)
            l->lift_confirmed = confirmed;
        return;
    }
    if (!was_fence || strcmp(site, l->site) != 0 || epoch != l->fence_token) {
        /* What returned is not the fence that holds now: a LIFT that was in flight when
         * the node fenced again (the fence waited for it), or another site's or epoch's.
         * Taking its answer for the fence marked "fenced" while the components took
         * writes, and the gate opened on it (sim --decide --seed 164 before this: main's
         * Redis lifted at t=6726 after op-1 main -> dr was applied, marked fenced, dr's
         * Redis promoted at t=8409). Run the fence now; its own answer confirms it. */
        l->fence_confirmed = false;
        l->fence_inflight = true;
        l->inflight_fence = true;
        l->on_fence(l, l->site, l->fence_token, true);
        return;
    }
    l->fence_confirmed = confirmed;
    /* Only a move away from the site is final: a lapse or a DOWN quorum may clear, and a
     * committed "fenced" would keep the primary fenced for the rest of the epoch. */
    if (!confirmed || l->fence_cause != FO_LEASE_CAUSE_NOT_PRIMARY)
        return;
    l->fenced_marked = true;
    cmd.u.lease.site = l->site;
    cmd.u.lease.epoch = l->epoch;
    cmd.u.lease.guardian = l->self->name;
    cmd.u.lease.node = l->self->name;
    cmd.u.lease.what = FO_LEASE_FENCED;
    cmd.u.lease.at_ms = wall_ms(l);
    l->propose(l, &cmd);
}

/* Is the guardian's fence of the previous primary committed yet? */
static bool fenced_mark_committed(const struct fo_lease *l, const struct fo_state *st)
{
    for (size_t k = 0; k < st->nleases; k++) {
        const struct fo_lease_mark *m = &st->leases[k];
        if (m->what == FO_LEASE_FENCED && m->epoch == l->epoch && strcmp(m->site, l->site) == 0 &&
            strcmp(m->guardian, l->self->name) == 0)
            return true;
    }
    return false;
}

/* The primary this node must guard for: its applied state's, or, before it applied the
 * cluster's init, the configured initial primary at epoch 0. Its components take writes
 * from the start, whatever this node applied: a node that guarded nothing until it
 * applied the init left them writable with no lease while the granters, which never
 * granted it, attested its expiry and opened the gate (sim --decide, seed 885 before
 * this rule: us-east-1 partitioned from the start, main -> dr promoted dr's Redis while
 * main's still took writes). */
static const char *guarded_primary(const struct fo_lease *l, const struct fo_state *st,
                                   uint64_t *epoch)
{
    if (st->cluster == NULL) {
        *epoch = 0;
        return l->cfg->initial_primary;
    }
    *epoch = st->epoch;
    return st->primary;
}

/* The operation that made epoch the current one when it moved the primary from another
 * site to `site`: the one in flight or the newest finished one of that epoch. NULL for
 * epoch 0, a drill, or an operation the history no longer holds. */
static const struct fo_operation *move_into(const struct fo_state *st, const char *site,
                                            uint64_t epoch)
{
    const struct fo_operation *op = NULL;

    if (st->operation != NULL && st->operation->epoch == epoch)
        op = st->operation;
    for (size_t i = st->nhistory; op == NULL && i > 0; i--)
        if (st->history[i - 1].epoch == epoch)
            op = &st->history[i - 1];
    if (op == NULL || !fo_op_kind_moves_primary(op->kind) || op->from == NULL || op->to == NULL ||
        strcmp(op->to, site) != 0 || strcmp(op->from, site) == 0)
        return NULL;
    return op;
}

/* A lift makes this site's components take writes, as a promote does, so a move back to
 * this site holds it behind the same gate as its promotes. The components a failover away
 * left behind are fenced primaries of an OLD epoch: the move back's promote (gated) makes
 * them the primary of the new one, but a lift ran before it, on the new epoch's first
 * granted round, and an unfence of epoch E lets a server that recorded an older one take
 * writes (sim --decide --seed 3362 before this: op-2 dr -> main committed at t=13670,
 * us-east-1 lifted main's fence at t=13787 while dr's Postgres, promoted for epoch 1,
 * still took writes: the gate waited for dr's guardian, the lift did not). */
static bool lift_gated(const struct fo_lease *l, const struct fo_state *st)
{
    const struct fo_operation *op = move_into(st, l->site, l->epoch);
    char why[FO_TEXT_MAX];

    return op != NULL && !fo_lease_gate(st, l->cfg, op->from, l->epoch - 1, why, sizeof(why));
}

/* Whether the move that made (site, epoch) the primary still has a promote to run in this
 * node's region: until it has, a lift would find a standby (and the promote fence it
 * again). An operation no longer in flight has none. */
static bool promotes_pending(const struct fo_lease *l, const struct fo_state *st)
{
    const struct fo_operation *op = st->operation;
    const struct fo_site *site = fo_config_site(l->cfg, l->site);

    if (op == NULL || op->epoch != l->epoch || op->to == NULL || strcmp(op->to, l->site) != 0 ||
        site == NULL)
        return false;
    for (size_t i = 0; i < op->nsteps; i++) {
        const struct fo_step *step = &op->steps[i];
        struct fo_component_ref ref;
        int kind = fo_component_of_action(step->action);
        if (!fo_lease_kind_gated(step->action) ||
            (step->state != FO_STEP_PENDING && step->state != FO_STEP_RUNNING) || kind < 0 ||
            !fo_component_get(site, (enum fo_component_kind)kind, &ref) || ref.region == NULL)
            continue;
        if (strcmp(ref.region, l->self->region) == 0)
            return true;
    }
    return false;
}

/* renew: send a round (the timer's tick only). A kick must not: every grant kicks, and
 * while the state holds the site DOWN a kick re-evaluates, so a round per kick made each
 * answer start a new round to every peer, a storm that grew without bound in no time
 * (sim --decide --seed 500: 18 000 rounds within a millisecond). */
static void guard(struct fo_lease *l, const struct fo_state *st, uint64_t now, bool renew)
{
    uint64_t epoch;
    const char *primary = guarded_primary(l, st, &epoch);
    bool guards_primary = primary != NULL && fo_lease_is_guardian(l->cfg, primary, l->self);

    if (guards_primary && (strcmp(primary, l->site) != 0 || epoch != l->epoch)) {
        /* A new (site, epoch) to guard: a failover back to this region, or the first
         * state this node applied. It starts without a lease (see lease.h, start-up). */
        if (l->site[0] != '\0' && !l->fenced)
            fo_log_info("lease.guard", "site=%s epoch=%llu", primary, (unsigned long long)epoch);
        snprintf(l->site, sizeof(l->site), "%s", primary);
        l->epoch = epoch;
        l->valid_ms = now + l->params.lease_ms;
        l->fenced_marked = false;
        l->held = false;
        l->lift_confirmed = false;
        memset(l->rounds, 0, sizeof(l->rounds));
        if (move_into(st, primary, epoch) != NULL) {
            /* Moved here: the move's promotes leave the components fenced (lease.h), and
             * only this guardian lifts them, once it holds the lease. Nothing to run now. */
            l->fenced = true;
            l->fenced_ms = now;
            l->fence_cause = FO_LEASE_CAUSE_PROMOTED;
            l->fence_token = epoch;
            l->fence_confirmed = true;
        }
    }
    if (!guards_primary && l->site[0] == '\0' && st->cluster != NULL && st->epoch > 0 &&
        st->prev_primary != NULL && fo_lease_is_guardian(l->cfg, st->prev_primary, l->self)) {
        /* A (re)started node whose state already moved away from the site it guarded:
         * it forgot the lease, not the components, which may still take writes. Fence
         * the previous primary's (sim --decide --seed 707 before this: us-east-1 revived
         * after op-1 main -> dr, never fenced main's Redis, dr's was promoted). */
        snprintf(l->site, sizeof(l->site), "%s", st->prev_primary);
        l->epoch = st->epoch - 1;
    }
    l->guarding = guards_primary;
    if (l->site[0] == '\0')
        return;
    if (!guards_primary || strcmp(primary, l->site) != 0 || epoch != l->epoch) {
        /* The site this node guarded is no longer the decided primary: fenced for good,
         * with the token of the epoch that moved it away, so that a late promote of the
         * old epoch (an action of the previous operation still in flight) is refused by
         * the components (sim --decide --seed 3252: us-west-2 fenced dr with epoch 1 after
         * op-2 dr -> main, and op-1's redis.promote of dr for epoch 1 landed 2.6 s later). */
        uint64_t token = st->epoch > l->epoch ? st->epoch : l->epoch;
        if (!(l->fenced_marked && fenced_mark_committed(l, st) && l->fence_confirmed))
            fence(l, FO_LEASE_CAUSE_NOT_PRIMARY, token, now);
        else if (now - l->refence_ms >= REFENCE_MS)
            fence(l, FO_LEASE_CAUSE_NOT_PRIMARY, token, now);
        return;
    }
    if (renew)
        send_round(l, st, now);
    if (fo_lease_site_held_down(st, l->cfg, l->site) && st->mode == FO_MODE_AUTO) {
        fence(l, FO_LEASE_CAUSE_HELD_DOWN, l->epoch, now);
        return;
    }
    if (now >= l->valid_ms) {
        fence(l, FO_LEASE_CAUSE_LAPSED, l->epoch, now);
        return;
    }
    if (l->fenced) {
        /* Every cause is gone; lift only on a round sent after the fence began, granted
         * by a majority that applied "this site is the primary of this epoch", and, when
         * the epoch moved the primary here, once that move's gate is open (see lift_gated)
         * and its promotes here have run. */
        if (lift_gated(l, st) || promotes_pending(l, st))
            return;
        for (size_t i = 0; i < FO_LEASE_ROUNDS; i++) {
            const struct fo_lease_round *r = &l->rounds[i];
            size_t granted = 0;
            for (size_t k = 0; k < l->cfg->npeers; k++)
                granted += (r->granted >> k) & 1;
            /* A promote's hold began with this (site, epoch), whose rounds all came after
             * (the rounds were reset then): any of them counts, the one sent at once too. */
            bool after = r->sent_ms > l->fenced_ms || l->fence_cause == FO_LEASE_CAUSE_PROMOTED;
            if (r->id != 0 && after && granted * 2 > l->cfg->npeers) {
                lift(l, now, false);
                break;
            }
        }
        return;
    }
    /* Not fenced, and a majority-granted lease holds: re-assert the lift (lease.h). */
    if (renew && l->held && !l->fence_inflight && !promotes_pending(l, st) &&
        now - l->lift_ms >= (l->lift_confirmed ? REFENCE_MS : l->params.renew_ms * 5))
        lift(l, now, true);
}

void fo_lease_core_init(struct fo_lease *l, const struct fo_config *cfg, const struct fo_peer *self,
                        const struct fo_lease_params *params)
{
    void *data = l->data;
    fo_lease_fence_cb on_fence = l->on_fence;
    fo_lease_propose_cb propose = l->propose;
    fo_lease_send_cb send = l->send;
    fo_lease_wall_cb wall = l->wall;

    memset(l, 0, sizeof(*l));
    l->data = data;
    l->on_fence = on_fence;
    l->propose = propose;
    l->send = send;
    l->wall = wall;
    l->cfg = cfg;
    l->self = self;
    l->params = *params;
}

void fo_lease_core_start(struct fo_lease *l, uint64_t now)
{
    l->started = true;
    l->started_ms = now;
}

void fo_lease_core_tick(struct fo_lease *l, const struct fo_state *st, uint64_t now)
{
    if (l->closing || !l->started)
        return;
    guard(l, st, now, true);
    attest(l, st, now);
}

void fo_lease_core_kick(struct fo_lease *l, const struct fo_state *st, uint64_t now)
{
    uint64_t epoch;
    const char *primary;

    if (l->closing || !l->started)
        return;
    /* Only what the committed state changes is urgent; renewals keep their rhythm. */
    primary = guarded_primary(l, st, &epoch);
    if (l->site[0] != '\0' && (primary == NULL || strcmp(primary, l->site) != 0 ||
                               epoch != l->epoch || fo_lease_site_held_down(st, l->cfg, l->site)))
        guard(l, st, now, false);
    attest(l, st, now);
}

/* ---- the daemon's shell: libuv's clock and timer, the node's applied state ---------- */

static void on_timer(uv_timer_t *t)
{
    struct fo_lease *l = t->data;
    fo_lease_core_tick(l, fo_node_state(l->node), uv_now(l->loop));
}

void fo_lease_init(struct fo_lease *l, uv_loop_t *loop, struct fo_node *node,
                   const struct fo_config *cfg, const struct fo_lease_params *params)
{
    fo_lease_core_init(l, cfg, cfg->self, params);
    l->loop = loop;
    l->node = node;
    uv_timer_init(loop, &l->timer);
    l->timer.data = l;
}

void fo_lease_start(struct fo_lease *l)
{
    fo_lease_core_start(l, uv_now(l->loop));
    uv_timer_start(&l->timer, on_timer, l->params.renew_ms, l->params.renew_ms);
}

void fo_lease_kick(struct fo_lease *l)
{
    if (l->closing || !l->started)
        return;
    fo_lease_core_kick(l, fo_node_state(l->node), uv_now(l->loop));
}

enum fo_lease_answer fo_lease_grant(struct fo_lease *l, const char *site, uint64_t epoch,
                                    const char *guardian)
{
    return fo_lease_core_grant(l, fo_node_state(l->node), uv_now(l->loop), site, epoch, guardian);
}

void fo_lease_granted(struct fo_lease *l, const struct fo_peer *peer, uint64_t round)
{
    fo_lease_core_granted(l, fo_node_state(l->node), uv_now(l->loop), peer, round);
}

void fo_lease_fence_done(struct fo_lease *l, const char *site, uint64_t epoch, bool confirmed)
{
    fo_lease_core_fence_done(l, site, epoch, confirmed);
}

void fo_lease_close(struct fo_lease *l, uv_close_cb cb)
{
    l->closing = true;
    uv_close((uv_handle_t *)&l->timer, cb);
}

struct fo_lease_params fo_lease_params_of(const struct fo_config *cfg)
{
    const struct fo_config_decision *dc = &cfg->decision;
    struct fo_lease_params p = {
        .renew_ms = (uint32_t)dc->lease_renew_ms,
        .lease_ms = (uint32_t)dc->lease_ms,
        .fence_budget_ms = (uint32_t)dc->fence_budget_ms,
        .rate_margin_permille = (uint32_t)dc->clock_rate_margin_permille,
    };
    return p;
}
