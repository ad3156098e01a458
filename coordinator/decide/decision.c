/*
 * coordinator/decide/decision.c — the failover decision policy; decision.h has the contract and
 * the words (site, critical regions, observer, view).
 *
 * The rules are evaluated in a fixed order and each one that blocks adds a "blocker": the
 * first blocker is the decision's reason, and fo_decision_explain() shows them all. The
 * evidence (every observer's view of the primary, every candidate's readiness) is always
 * computed, whatever blocks, because that is what an operator reads during an incident.
 *
 * Where this differs from Redis Sentinel: Sentinel's ODOWN is agreed by sentinels voting
 * in a leader election of their own, and its failover epoch is a promise kept by each
 * sentinel. Here the votes are verdicts already committed in the Raft log, the decision is
 * one committed FSM entry, and the epoch it creates fences every action (DESIGN §6).
 */
#include "coordinator/decide/decision.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *const fo_decision_reason_names[] = {
    [FO_REASON_FAILOVER] = "failover",
    [FO_REASON_UNINITIALIZED] = "uninitialized",
    [FO_REASON_UNKNOWN_PRIMARY] = "unknown_primary",
    [FO_REASON_IN_FLIGHT] = "in_flight",
    [FO_REASON_AUTO_OFF] = "auto_off",
    [FO_REASON_PAUSED] = "paused",
    [FO_REASON_COOLDOWN] = "cooldown",
    [FO_REASON_PRIMARY_NOT_DOWN] = "primary_not_down",
    [FO_REASON_DOWN_TOO_SHORT] = "down_too_short",
    [FO_REASON_NO_STANDBY] = "no_standby",
    [FO_REASON_FAIL_BACK] = "fail_back",
    [FO_REASON_STANDBY_UNHEALTHY] = "standby_unhealthy",
    [FO_REASON_LAG_UNKNOWN] = "lag_unknown",
    [FO_REASON_LAG_BYTES] = "lag_bytes",
    [FO_REASON_LAG_MS] = "lag_ms",
    [FO_REASON_UNKNOWN_SITE] = "unknown_site",
    [FO_REASON_SAME_SITE] = "same_site",
    [FO_REASON_PRIMARY_NOT_UP] = "primary_not_up",
    [FO_REASON_NOT_REPLICA] = "not_replica",
    [FO_REASON_CONFIG_MISMATCH] = "config_mismatch",
    [FO_REASON_COUNT] = NULL,
};

/* One evaluation: the inputs, the output being filled, and how blockers are reported. */
struct eval {
    const struct fo_decision_input *in;
    const struct fo_config *cfg;
    const struct fo_state *st;
    struct fo_decision *out;
    bool all;        /* explain: list every blocker in out->text */
    bool blocked;    /* at least one blocker */
    size_t text_len; /* used part of out->text */
};

/* ---- small helpers ------------------------------------------------------------------ */

static void copy_name(char dst[FO_NAME_MAX + 1], const char *src)
{
    snprintf(dst, FO_NAME_MAX + 1, "%s", src != NULL ? src : "");
}

static bool same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* "420 s", "250 ms", "1 h", "62 min": a duration for people, rounded up (a wait shown as
 * "0 s" that is not over yet would mislead). */
static const char *fmt_ms(char buf[32], uint64_t ms)
{
    uint64_t s = (ms + 999) / 1000;

    if (ms < 1000)
        snprintf(buf, 32, "%llu ms", (unsigned long long)ms);
    else if (s < 3600)
        snprintf(buf, 32, "%llu s", (unsigned long long)s);
    else if (ms % 3600000 == 0)
        snprintf(buf, 32, "%llu h", (unsigned long long)(ms / 3600000));
    else
        snprintf(buf, 32, "%llu min", (unsigned long long)((ms + 59999) / 60000));
    return buf;
}

/* "48 MiB", "1.5 GiB", "512 B". */
static const char *fmt_bytes(char buf[32], uint64_t b)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    uint64_t unit = 1;
    size_t u = 0;

    while (u + 1 < sizeof(units) / sizeof(units[0]) && b >= unit * 1024) {
        unit *= 1024;
        u++;
    }
    if (b % unit == 0)
        snprintf(buf, 32, "%llu %s", (unsigned long long)(b / unit), units[u]);
    else
        snprintf(buf, 32, "%.1f %s", (double)b / (double)unit, units[u]);
    return buf;
}

/* Record a rule that blocks a failover now. The first one is the decision's reason and,
 * unless explaining, its only text. */
static void block(struct eval *ev, enum fo_decision_reason reason, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void block(struct eval *ev, enum fo_decision_reason reason, const char *fmt, ...)
{
    struct fo_decision *out = ev->out;
    size_t cap = sizeof(out->text);
    va_list ap;
    int n;

    if (ev->blocked && !ev->all)
        return;
    if (!ev->blocked)
        out->reason = reason;
    ev->blocked = true;
    if (ev->text_len > 0 && ev->text_len + 2 < cap) {
        memcpy(out->text + ev->text_len, "; ", 3);
        ev->text_len += 2;
    }
    if (ev->text_len + 1 >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(out->text + ev->text_len, cap - ev->text_len, fmt, ap);
    va_end(ap);
    ev->text_len = n < 0 ? ev->text_len : ev->text_len + (size_t)n;
    if (ev->text_len >= cap)
        ev->text_len = cap - 1;
}

/* ---- observers ---------------------------------------------------------------------- */

static const struct fo_feed *feed_of(const struct fo_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nfeeds; i++)
        if (same(cfg->feeds[i].name, name))
            return &cfg->feeds[i];
    return NULL;
}

/* The observers whose verdicts are evidence: every coordinator node, and the feeds the
 * configuration trusts as much (count_in_quorum). A report from anyone else — a feed that
 * does not count, a name nobody configured — is shown in status and never decides. */
static bool counts(const struct fo_config *cfg, const char *observer)
{
    const struct fo_feed *f;

    if (fo_config_peer_by_name(cfg, observer) != NULL)
        return true;
    f = feed_of(cfg, observer);
    return f != NULL && f->count_in_quorum;
}

static uint32_t counted_observers(const struct fo_config *cfg)
{
    uint32_t n = (uint32_t)cfg->npeers;
    for (size_t i = 0; i < cfg->nfeeds; i++)
        n += cfg->feeds[i].count_in_quorum;
    return n;
}

static bool is_outside(const struct fo_decision_input *in, const char *node)
{
    for (size_t i = 0; i < in->noutside; i++)
        if (same(in->outside[i], node))
            return true;
    return false;
}

static bool is_stale(const struct fo_decision_input *in, const char *observer)
{
    for (size_t i = 0; i < in->nstale; i++)
        if (same(in->stale[i], observer))
            return true;
    return false;
}

static const struct fo_verdict *verdict_of(const struct fo_state *st, const char *observer,
                                           const char *region)
{
    for (size_t i = 0; i < st->nverdicts; i++)
        if (same(st->verdicts[i].observer, observer) && same(st->verdicts[i].region, region))
            return &st->verdicts[i];
    return NULL;
}

/* The critical regions of a site (decision.h): where a component lives whose check the
 * configuration calls critical. At most two, possibly the same region twice. */
static size_t critical_regions(const struct fo_config *cfg, const struct fo_site *site,
                               const char *out[2])
{
    size_t n = 0;

    if (site->postgres != NULL && cfg->checks.postgres_critical)
        out[n++] = site->postgres->region;
    if (site->redis != NULL && cfg->checks.redis_critical)
        out[n++] = site->redis->region;
    return n;
}

/* "Losing the connection to P's coordinator alone is not evidence" (DESIGN §5) holds by
 * construction here: a verdict is an observer's view of a REGION, and a node's verdict on
 * a region is DOWN only when one of that region's critical resource checks (Postgres,
 * Redis, an http check) is DOWN; the Raft connection to P's coordinator is not one of
 * them. So a node that only lost its peer in P's region holds no DOWN verdict on P. And
 * this function never reads a missing or UNKNOWN verdict as DOWN: silence is not
 * evidence, whoever is silent. */
static int site_view(const struct fo_state *st, const struct fo_config *cfg,
                     const struct fo_site *site, const char *observer, uint64_t *since_ms,
                     const char **region)
{
    const char *regions[2];
    size_t n = critical_regions(cfg, site, regions), up = 0;
    bool down = false;

    for (size_t i = 0; i < n; i++) {
        const struct fo_verdict *v = verdict_of(st, observer, regions[i]);

        if (v == NULL)
            continue;
        if (v->status == FO_STATUS_UP)
            up++;
        /* Several critical regions DOWN: the view has been DOWN since the earliest of
         * them, because that one has been DOWN without a break since its since_ms. */
        if (v->status == FO_STATUS_DOWN && (!down || v->since_ms < *since_ms)) {
            down = true;
            *since_ms = v->since_ms;
            *region = regions[i];
        }
    }
    if (down)
        return FO_STATUS_DOWN;
    return n > 0 && up == n ? FO_STATUS_UP : FO_STATUS_UNKNOWN;
}

int fo_decision_site_view(const struct fo_state *st, const struct fo_config *cfg,
                          const struct fo_site *site, const char *observer, uint64_t *since_ms)
{
    uint64_t since = 0;
    const char *region = NULL;
    int status = site_view(st, cfg, site, observer, &since, &region);

    if (since_ms != NULL)
        *since_ms = status == FO_STATUS_DOWN ? since : 0;
    return status;
}

/* How long observer's DOWN view of p has held: on the caller's monotonic clock when it
 * gave one (the longest-held of the DOWN critical-region verdicts, as site_view takes the
 * earliest), else now_ms - since (wall or virtual time, never negative). */
static uint64_t held_for(const struct eval *ev, const struct fo_site *p, const char *observer,
                         uint64_t since)
{
    const struct fo_decision_input *in = ev->in;
    const char *regions[2];
    size_t n;
    uint64_t held = 0;

    if (in->local_since == NULL)
        return since <= in->now_ms ? in->now_ms - since : 0;
    n = critical_regions(ev->cfg, p, regions);
    for (size_t i = 0; i < n; i++) {
        const struct fo_verdict *v = verdict_of(ev->st, observer, regions[i]);
        uint64_t t;
        if (v == NULL || v->status != FO_STATUS_DOWN)
            continue;
        t = in->local_since(in->local_ctx, v);
        if (t <= in->mono_now_ms && in->mono_now_ms - t > held)
            held = in->mono_now_ms - t;
    }
    return held;
}

/* Add observer to the evidence table once. */
static void add_observer(struct eval *ev, const char *name)
{
    struct fo_decision *out = ev->out;

    if (name == NULL || out->nobservers >= FO_DECISION_MAX_OBSERVERS)
        return;
    for (size_t i = 0; i < out->nobservers; i++)
        if (strcmp(out->observers[i].name, name) == 0)
            return;
    copy_name(out->observers[out->nobservers].name, name);
    out->nobservers++;
}

/* Rule 1 — the primary is DOWN for a quorum of observers, each for failover_after_ms.
 *
 * Why a quorum: one observer's view can be wrong for reasons of its own (its network
 * path, its DNS); a region that a quorum of independent vantage points sees DOWN is
 * down for the product's users too. Why each one for failover_after_ms: probes already
 * debounce a check (down_after_ms), but an outage of a few seconds is cheaper to ride out
 * than a failover, which costs the RPO and a redeploy; the runbook's health checks run
 * every 30 s, so 30 s of agreement is the default. A verdict that flaps DOWN -> UP -> DOWN
 * restarts its clock, because the FSM stamps since_ms at every change.
 *
 * Counted observers that the caller marked stale do not vote: their verdicts cannot
 * change any more, so a DOWN they left behind would never be withdrawn. */
static void observe_primary(struct eval *ev, const struct fo_site *p)
{
    const struct fo_config *cfg = ev->cfg;
    struct fo_decision *out = ev->out;
    uint64_t after = cfg->decision.failover_after_ms;

    for (size_t i = 0; i < cfg->npeers; i++)
        add_observer(ev, cfg->peers[i].name);
    for (size_t i = 0; i < cfg->nfeeds; i++)
        add_observer(ev, cfg->feeds[i].name);
    for (size_t i = 0; i < ev->st->nverdicts; i++)
        add_observer(ev, ev->st->verdicts[i].observer);

    for (size_t i = 0; i < out->nobservers; i++) {
        struct fo_decision_observer *o = &out->observers[i];
        const char *region = NULL;
        uint64_t since = 0;

        o->counted = counts(cfg, o->name);
        o->stale = is_stale(ev->in, o->name);
        o->status = site_view(ev->st, cfg, p, o->name, &since, &region);
        if (o->status != FO_STATUS_DOWN)
            continue;
        o->since_ms = since;
        o->held_ms = held_for(ev, p, o->name, since);
        copy_name(o->region, region);
        if (!o->counted || o->stale)
            continue;
        out->down++;
        o->held = o->held_ms >= after;
        if (o->held) {
            out->held++;
            if (out->held == 1 || since < out->detected_ms) /* 0 is a valid time */
                out->detected_ms = since;
        }
    }
}

/* How long until the quorum-th longest-held DOWN among the counted observers will have
 * lasted failover_after_ms: when a failover could start if nothing recovers. */
static uint64_t quorum_ready_in(const struct fo_decision *out, uint64_t after)
{
    uint64_t held[FO_DECISION_MAX_OBSERVERS];
    size_t n = 0;

    for (size_t i = 0; i < out->nobservers; i++) {
        const struct fo_decision_observer *o = &out->observers[i];
        if (o->status == FO_STATUS_DOWN && o->counted && !o->stale)
            held[n++] = o->held_ms;
    }
    for (size_t i = 1; i < n; i++) /* insertion sort, longest first: at most 32 */
        for (size_t j = i; j > 0 && held[j] > held[j - 1]; j--) {
            uint64_t t = held[j];
            held[j] = held[j - 1];
            held[j - 1] = t;
        }
    if (out->quorum == 0 || out->quorum > n)
        return 0;
    return held[out->quorum - 1] < after ? after - held[out->quorum - 1] : 0;
}

static void check_primary_down(struct eval *ev, const struct fo_site *p)
{
    struct fo_decision *out = ev->out;
    uint64_t after = ev->cfg->decision.failover_after_ms;

    if (out->held >= out->quorum)
        return;
    if (out->down < out->quorum) {
        block(ev, FO_REASON_PRIMARY_NOT_DOWN,
              "primary %s is seen DOWN by %u of %u observers (quorum %u)", p->name, out->down,
              out->counted, out->quorum);
        return;
    }
    {
        uint64_t ready_in = quorum_ready_in(out, after);
        char a[32], b[32];
        out->ready_in_ms = ready_in;
        block(ev, FO_REASON_DOWN_TOO_SHORT,
              "primary %s is seen DOWN by %u of %u observers (quorum %u), %u of them for "
              "failover_after_ms %s (failover in %s unless it recovers)",
              p->name, out->down, out->counted, out->quorum, out->held, fmt_ms(a, after),
              fmt_ms(b, ready_in));
    }
}

/* ---- candidates --------------------------------------------------------------------- */

static const struct fo_site_lag *lag_of(const struct fo_decision_input *in, const char *site)
{
    for (size_t i = 0; i < in->nlags; i++)
        if (same(in->lags[i].site, site))
            return &in->lags[i];
    return NULL;
}

/* The most recent finished operation that moved the primary (a drill or a rejoin moves
 * nothing). */
static const struct fo_operation *last_move(const struct fo_state *st)
{
    for (size_t i = st->nhistory; i > 0; i--)
        if (fo_op_kind_moves_primary(st->history[i - 1].kind))
            return &st->history[i - 1];
    return NULL;
}

/* Whether site was re-seeded as a standby (a rejoin that succeeded) after the latest move:
 * then it is a standby like any other, judged by rules 3 and 4 on its own merits. */
static bool rejoined_since_move(const struct fo_state *st, const char *site)
{
    for (size_t i = st->nhistory; i > 0; i--) {
        const struct fo_operation *op = &st->history[i - 1];
        if (fo_op_kind_moves_primary(op->kind))
            return false;
        if (op->kind == FO_OP_REJOIN && op->result == FO_RESULT_SUCCEEDED && same(op->to, site))
            return true;
    }
    return false;
}

/* Rule 2 — never fail back automatically (DESIGN §6).
 *
 * "Fail back" is an automatic failover to the site that was the primary before the most
 * recent finished failover or switchover (its `from`), whatever that operation's result:
 * the commit point already made its `to` the decided primary, and the old primary's
 * database was fenced or lost writes and needs re-seeding before it can take over again.
 * Until an operator says it is re-seeded (a "re-admit" command does not exist yet), the
 * operator path is the only way back: fo_decision_manual does not apply this rule. Only
 * the latest move is looked at; an older former primary that is not replicating has no
 * known lag, and the RPO gate refuses it. `failoverctl rejoin SITE` is the operator's word
 * that it is re-seeded: once a rejoin of it succeeded after the move, it is no fail back. */
static bool is_fail_back(const struct fo_state *st, const char *site)
{
    const struct fo_operation *op = last_move(st);
    return op != NULL && same(op->from, site) && !rejoined_since_move(st, site);
}

/* Rule 3 — the target is healthy as a majority of the counted observers see it.
 *
 * A majority, not the quorum: promoting a site that half the observers cannot see UP
 * moves the outage instead of ending it. Every one of its critical regions must be UP for
 * an observer to count it healthy; UNKNOWN is not UP. */
static uint32_t healthy_count(struct eval *ev, const struct fo_site *s)
{
    const struct fo_config *cfg = ev->cfg;
    const struct fo_decision *out = ev->out;
    uint32_t n = 0;

    for (size_t i = 0; i < out->nobservers; i++) {
        const struct fo_decision_observer *o = &out->observers[i];
        const char *region = NULL;
        uint64_t since = 0;

        if (o->counted && !o->stale &&
            site_view(ev->st, cfg, s, o->name, &since, &region) == FO_STATUS_UP)
            n++;
    }
    return n;
}

/* Rule 4 — the RPO gate: the target's replication lag is known and within both bounds.
 *
 * Promoting a standby loses whatever it has not replayed. The runbook accepts 1 h of
 * database loss (max_lag_ms) and the byte bound caps a standby that is near in time but
 * far behind in volume. A lag nobody measured is refused: "unknown" may be "days". Only
 * the operator can accept more loss (--force). */
static void assess(struct eval *ev, const struct fo_site *s, bool manual, bool force,
                   struct fo_decision_candidate *c)
{
    const struct fo_config_decision *d = &ev->cfg->decision;
    const struct fo_site_lag *lag = lag_of(ev->in, s->name);
    uint32_t majority = ev->out->counted / 2 + 1;

    copy_name(c->site, s->name);
    c->priority = s->priority;
    c->healthy = healthy_count(ev, s);
    c->lag_known = lag != NULL && lag->known;
    c->lag_bytes = c->lag_known ? lag->bytes : 0;
    c->lag_ms = c->lag_known ? lag->ms : 0;
    if (!manual && is_fail_back(ev->st, s->name))
        c->reason = FO_REASON_FAIL_BACK;
    else if (force)
        c->reason = FO_REASON_FAILOVER;
    else if (c->healthy < majority)
        c->reason = FO_REASON_STANDBY_UNHEALTHY;
    else if (lag != NULL && lag->not_replica)
        c->reason = FO_REASON_NOT_REPLICA; /* promoting it would drop what P took since */
    else if (!c->lag_known)
        c->reason = FO_REASON_LAG_UNKNOWN;
    else if (c->lag_bytes > d->max_lag_bytes)
        c->reason = FO_REASON_LAG_BYTES;
    else if (c->lag_ms > d->max_lag_ms)
        c->reason = FO_REASON_LAG_MS;
    else
        c->reason = FO_REASON_FAILOVER;
}

/* The blocker text of a candidate that does not qualify. */
static void block_candidate(struct eval *ev, const struct fo_decision_candidate *c)
{
    const struct fo_config_decision *d = &ev->cfg->decision;
    const struct fo_operation *op = last_move(ev->st);
    char a[32], b[32]; /* cppcheck-suppress variableScope ; shared by two cases */

    switch (c->reason) {
    case FO_REASON_FAIL_BACK:
        block(ev, FO_REASON_FAIL_BACK,
              "%s was the primary until %s: fail back is never automatic (re-seed it with "
              "failoverctl rejoin %s)",
              c->site, op != NULL ? op->id : "?", c->site);
        break;
    case FO_REASON_STANDBY_UNHEALTHY:
        block(ev, FO_REASON_STANDBY_UNHEALTHY,
              "%s is seen healthy by %u of %u observers (majority %u)", c->site, c->healthy,
              ev->out->counted, ev->out->counted / 2 + 1);
        break;
    case FO_REASON_NOT_REPLICA:
        block(ev, FO_REASON_NOT_REPLICA,
              "%s's Postgres is not a replica of the primary (it is not in recovery): re-seed it "
              "as a standby first (failoverctl rejoin %s), or --force",
              c->site, c->site);
        break;
    case FO_REASON_LAG_UNKNOWN:
        block(ev, FO_REASON_LAG_UNKNOWN, "%s's replication lag is unknown (RPO gate)", c->site);
        break;
    case FO_REASON_LAG_BYTES:
        block(ev, FO_REASON_LAG_BYTES, "%s's lag %s exceeds max_lag_bytes %s (RPO gate)", c->site,
              fmt_bytes(a, c->lag_bytes), fmt_bytes(b, d->max_lag_bytes));
        break;
    case FO_REASON_LAG_MS:
        block(ev, FO_REASON_LAG_MS, "%s's lag %s exceeds max_lag_ms %s (RPO gate)", c->site,
              fmt_ms(a, c->lag_ms), fmt_ms(b, d->max_lag_ms));
        break;
    default:
        break;
    }
}

/* Candidate order: qualifying first; then configured priority (lower first), then lowest
 * lag (unknown last), then name — a total order, so every node picks the same site. */
static int cmp_candidate(const struct fo_decision_candidate *x,
                         const struct fo_decision_candidate *y)
{
    bool qx = x->reason == FO_REASON_FAILOVER, qy = y->reason == FO_REASON_FAILOVER;
    uint64_t lx = x->lag_known ? x->lag_bytes : UINT64_MAX;
    uint64_t ly = y->lag_known ? y->lag_bytes : UINT64_MAX;

    if (qx != qy)
        return qx ? -1 : 1;
    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    if (lx != ly)
        return lx < ly ? -1 : 1;
    return strcmp(x->site, y->site);
}

static void sort_candidates(struct fo_decision *out)
{
    for (size_t i = 1; i < out->ncandidates; i++)
        for (size_t j = i; j > 0 && cmp_candidate(&out->candidates[j], &out->candidates[j - 1]) < 0;
             j--) {
            struct fo_decision_candidate t = out->candidates[j];
            out->candidates[j] = out->candidates[j - 1];
            out->candidates[j - 1] = t;
        }
}

/* Every configured site but P, assessed and ordered; blocks when the best one does not
 * qualify (all of them when explaining). */
static void choose_target(struct eval *ev, const struct fo_site *p)
{
    const struct fo_config *cfg = ev->cfg;
    struct fo_decision *out = ev->out;

    for (size_t i = 0; i < cfg->nsites; i++)
        if (&cfg->sites[i] != p)
            assess(ev, &cfg->sites[i], false, false, &out->candidates[out->ncandidates++]);
    sort_candidates(out);
    if (out->ncandidates == 0) {
        block(ev, FO_REASON_NO_STANDBY, "no standby site: %s is the only site", p->name);
        return;
    }
    for (size_t i = 0; i < out->ncandidates && out->candidates[i].reason != FO_REASON_FAILOVER; i++)
        block_candidate(ev, &out->candidates[i]);
}

/* ---- the evaluation ------------------------------------------------------------------ */

/* The gates that hold whatever the request; returns P, or NULL when blocked for good. */
static const struct fo_site *start(struct eval *ev)
{
    const struct fo_state *st = ev->st;
    struct fo_decision *out = ev->out;
    const struct fo_site *p;

    out->kind = FO_DECISION_NONE;
    /* The loader keeps quorum >= 1; a hand-built config (the simulation) must not turn
     * "no evidence at all" into a quorum. */
    out->quorum = ev->cfg->decision.quorum > 0 ? ev->cfg->decision.quorum : 1;
    out->counted = counted_observers(ev->cfg);
    /* Nothing to fail over from until the first leader committed init: there is no
     * decided primary, and an op_begin would be rejected anyway. */
    if (st->cluster == NULL || st->primary == NULL) {
        block(ev, FO_REASON_UNINITIALIZED, "the cluster is not initialised yet");
        return NULL;
    }
    /* The replicated primary is a site this node does not know: its configuration
     * differs from the one the cluster ran with (status reports digests). Deciding on a
     * config that cannot even name the primary would be guessing. */
    p = fo_config_site(ev->cfg, st->primary);
    if (p == NULL) {
        block(ev, FO_REASON_UNKNOWN_PRIMARY,
              "the primary site '%s' is not in this node's configuration", st->primary);
        return NULL;
    }
    copy_name(out->from, p->name);
    out->epoch = st->epoch + 1;
    snprintf(out->op_id, sizeof(out->op_id), "op-%llu", (unsigned long long)out->epoch);
    observe_primary(ev, p);
    /* One operation at a time (DESIGN §4): the one in flight is making reality match a
     * decision already committed; a second would race it over the same resources. */
    if (st->operation != NULL)
        block(ev, FO_REASON_IN_FLIGHT, "operation %s in flight (%s -> %s)", st->operation->id,
              st->operation->from, st->operation->to);
    return p;
}

static void finish(struct eval *ev, int op_kind)
{
    struct fo_decision *out = ev->out;
    const struct fo_decision_candidate *c = &out->candidates[0];

    if (ev->blocked)
        return;
    out->kind = FO_DECISION_FAILOVER;
    out->reason = FO_REASON_FAILOVER;
    out->op_kind = op_kind;
    copy_name(out->to, c->site);
    if (op_kind == FO_OP_AUTO) {
        char a[32], b[32], l[32];
        snprintf(out->text, sizeof(out->text),
                 "primary %s seen DOWN by %u of %u observers (quorum %u) for %s: failing over "
                 "to %s (priority %u, lag %s, %s)",
                 out->from, out->held, out->counted, out->quorum,
                 fmt_ms(a, ev->in->now_ms - out->detected_ms), out->to, c->priority,
                 fmt_bytes(b, c->lag_bytes), fmt_ms(l, c->lag_ms));
    } else if (op_kind == FO_OP_SWITCHOVER) {
        snprintf(out->text, sizeof(out->text),
                 "switchover %s -> %s: fence %s, wait until %s has replayed all of it, then "
                 "promote",
                 out->from, out->to, out->from, out->to);
    } else {
        snprintf(out->text, sizeof(out->text), "operator failover %s -> %s%s", out->from, out->to,
                 out->force ? " (forced: health and RPO gates skipped)" : "");
    }
}

/* Every peer decides with the replicated part of its config (quorum, thresholds, sites,
 * plan): while a reload has reached some nodes and not others, a new leader could decide
 * under other rules than the one before it. The automatic path waits until every peer
 * that reported a digest (FO_CMD_DIGEST, sent by each node at start and after a reload)
 * reports this node's; operators can still fail over. A peer that never reported does not
 * block (a node that is down since start); digests of names that are not peers (a node
 * removed from the config) or that are outside the Raft configuration (removed with
 * failoverctl members, its line still in the configs: input.outside) are ignored. */
static void config_agreed(struct eval *ev)
{
    for (size_t i = 0; i < ev->st->ndigests; i++) {
        const struct fo_digest *dg = &ev->st->digests[i];
        if (dg->node == NULL || dg->digest == NULL ||
            fo_config_peer_by_name(ev->cfg, dg->node) == NULL || is_outside(ev->in, dg->node) ||
            strcmp(dg->digest, ev->cfg->digest) == 0)
            continue;
        block(ev, FO_REASON_CONFIG_MISMATCH,
              "node %s runs another configuration (digest %.12s, this node %.12s): reload every "
              "node with the same file",
              dg->node, dg->digest, ev->cfg->digest);
        return;
    }
}

static void evaluate_auto(const struct fo_decision_input *in, struct fo_decision *out, bool all)
{
    struct eval ev;
    const struct fo_site *p;

    memset(out, 0, sizeof(*out));
    ev = (struct eval){in, in->cfg, in->state, out, all, false, 0};
    p = start(&ev);
    if (p == NULL)
        return;
    /* The configuration can switch the automatic path off for good (decision.auto:
     * false), e.g. while a deployment is being trusted; pausing is the operator's
     * switch in the replicated state, for maintenance windows. */
    if (!in->cfg->decision.automatic)
        block(&ev, FO_REASON_AUTO_OFF,
              "automatic failover is off (decision.auto: false); operators can still fail over");
    if (in->state->mode == FO_MODE_PAUSED)
        block(&ev, FO_REASON_PAUSED, "paused%s%s%s%s", in->state->mode_by != NULL ? " by " : "",
              in->state->mode_by != NULL ? in->state->mode_by : "",
              in->state->mode_reason != NULL ? ": " : "",
              in->state->mode_reason != NULL ? in->state->mode_reason : "");
    config_agreed(&ev);
    /* Anti-flapping: after a failover the new primary's own checks are still settling
     * (DNS, caches, a cold database), and failing over again on that noise would bounce
     * the product between regions. The FSM checks the same rule at the commit point. */
    if (in->now_ms < in->state->cooldown_until_ms) {
        char a[32];
        block(&ev, FO_REASON_COOLDOWN, "cooldown for %s more",
              fmt_ms(a, in->state->cooldown_until_ms - in->now_ms));
    }
    check_primary_down(&ev, p);
    choose_target(&ev, p); /* its blockers are dropped unless first or explaining */
    finish(&ev, FO_OP_AUTO);
}

void fo_decision_auto(const struct fo_decision_input *in, struct fo_decision *out)
{
    evaluate_auto(in, out, false);
}

void fo_decision_explain(const struct fo_decision_input *in, struct fo_decision *out)
{
    evaluate_auto(in, out, true);
}

/* The operator's request to move the primary to `to`: the rules both operator paths share
 * (initialised, nothing in flight, a known site that is not the primary). Returns the
 * target with *p the primary, or NULL when blocked. */
static const struct fo_site *operator_target(struct eval *ev, const char *to,
                                             const struct fo_site **p)
{
    const struct fo_site *s;

    *p = start(ev);
    if (*p == NULL || ev->blocked)
        return NULL;
    s = fo_config_site(ev->cfg, to);
    if (s == NULL) {
        block(ev, FO_REASON_UNKNOWN_SITE, "no site named '%s' in the configuration",
              to != NULL ? to : "");
        return NULL;
    }
    if (s == *p) {
        block(ev, FO_REASON_SAME_SITE, "%s is already the primary", s->name);
        return NULL;
    }
    return s;
}

void fo_decision_manual(const struct fo_decision_input *in, const char *to, bool force,
                        struct fo_decision *out)
{
    struct eval ev;
    const struct fo_site *p, *s;

    memset(out, 0, sizeof(*out));
    ev = (struct eval){in, in->cfg, in->state, out, false, false, 0};
    out->force = force;
    if ((s = operator_target(&ev, to, &p)) == NULL)
        return;
    /* The operator judged P down (or is switching over on purpose): the quorum, pause,
     * cooldown and fail-back rules are theirs to overrule. Promoting a site nobody sees
     * healthy, or one that would lose more than the RPO, still needs --force. */
    assess(&ev, s, true, force, &out->candidates[0]);
    out->ncandidates = 1;
    block_candidate(&ev, &out->candidates[0]);
    if (out->held < out->quorum)
        out->detected_ms = 0; /* no quorum saw an outage: nothing was detected */
    finish(&ev, FO_OP_MANUAL);
}

void fo_decision_switchover(const struct fo_decision_input *in, const char *to,
                            struct fo_decision *out)
{
    struct eval ev;
    const struct fo_site *p, *s;
    uint32_t up = 0, majority;

    memset(out, 0, sizeof(*out));
    ev = (struct eval){in, in->cfg, in->state, out, false, false, 0};
    if ((s = operator_target(&ev, to, &p)) == NULL)
        return;
    /* No data loss is the point: P must be there to be fenced and drained, and the target
     * must pass the health and RPO gates (a switchover has no --force). */
    up = healthy_count(&ev, p);
    majority = out->counted / 2 + 1;
    if (up < majority) {
        block(&ev, FO_REASON_PRIMARY_NOT_UP,
              "the primary %s is seen UP by %u of %u observers (majority %u): a switchover "
              "fences it and waits for %s to replay everything it wrote, so it needs %s up; "
              "use failover for a lost primary",
              p->name, up, out->counted, majority, s->name, p->name);
        return;
    }
    assess(&ev, s, true, false, &out->candidates[0]);
    out->ncandidates = 1;
    block_candidate(&ev, &out->candidates[0]);
    out->detected_ms = 0; /* planned: nothing was detected */
    finish(&ev, FO_OP_SWITCHOVER);
}
