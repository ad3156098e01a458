/*
 * coordinator/decide/decision.h — the failover decision policy (DESIGN §5): given the replicated
 * state, the configuration, the time and the standbys' replication lag, should the leader
 * fail over now, to which site, and if not, why not.
 *
 * Pure: no I/O, no clock reads, no allocation, no libuv. Every fact comes in as an
 * argument, so the same inputs give the same decision on any node, in the simulation and
 * in the unit tables. The module decides; it never acts. The leader turns a FAILOVER into
 * one op_begin command (kind, from, to, epoch, detected_ms, op_id) and commits it through
 * Raft; the FSM (consensus/fsm.h) re-checks the safety rules at the commit point (epoch =
 * current + 1, nothing in flight, not paused, cooldown over), so a decision made on a
 * stale view is rejected there rather than acted upon.
 *
 * Words, as in DESIGN §2 and §4:
 *   site      what becomes primary: a placement of Postgres and Redis in regions
 *             (config.h struct fo_site). P is the decided primary (state.primary).
 *   critical  the regions of a site's critical components: its Postgres region when
 *   regions   checks.postgres.critical (default true), its Redis region when
 *             checks.redis.critical (default false). The DR site of the runbook, Postgres
 *             in eu-west-1 and Redis in us-west-2, has critical regions {eu-west-1} by
 *             default and {eu-west-1, us-west-2} with critical Redis.
 *   observer  a name in verdicts[observer][region]: a coordinator node (peers[].name) or a
 *             monitoring feed (feeds[].name). The observers that COUNT are every peer and
 *             the feeds with count_in_quorum; the others are shown, never evidence.
 *   view      how one observer sees a site, from its verdicts on the critical regions:
 *               DOWN     its verdict on at least one critical region is DOWN; the view has
 *                        been DOWN since the earliest since_ms among those DOWN verdicts
 *                        (each has held DOWN continuously since its own since_ms);
 *               UP       its verdicts on every critical region are UP;
 *               UNKNOWN  anything else: a missing verdict, an UNKNOWN one, a site without
 *                        critical regions. UNKNOWN is never DOWN and never UP.
 *
 * Ownership: inputs are borrowed for the call only; struct fo_decision is caller-owned
 * and self-contained (names are copied into it), so it may outlive the state it was
 * computed from. Thread-safe: no shared state.
 */
#ifndef FO_COORDINATOR_DECISION_H
#define FO_COORDINATOR_DECISION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/config/config.h"
#include "proto/state.h"

enum fo_decision_kind {
    FO_DECISION_NONE = 0, /* do nothing now: reason says why */
    FO_DECISION_FAILOVER, /* commit op_begin(from -> to, epoch) */
};

/* Why: the machine-readable code that `failoverctl status` and scripts read. Wire names
 * in fo_decision_reason_names ("failover", "uninitialized", ...). */
enum fo_decision_reason {
    FO_REASON_FAILOVER = 0,      /* "failover": the decision is FAILOVER */
    FO_REASON_UNINITIALIZED,     /* "uninitialized": no cluster/primary committed yet */
    FO_REASON_UNKNOWN_PRIMARY,   /* "unknown_primary": state.primary is not a configured site */
    FO_REASON_IN_FLIGHT,         /* "in_flight": an operation is in flight */
    FO_REASON_AUTO_OFF,          /* "auto_off": decision.auto is false in the config */
    FO_REASON_PAUSED,            /* "paused": mode is paused (maintenance) */
    FO_REASON_COOLDOWN,          /* "cooldown": now < cooldown_until_ms */
    FO_REASON_PRIMARY_NOT_DOWN,  /* "primary_not_down": fewer than quorum observers see P DOWN */
    FO_REASON_DOWN_TOO_SHORT,    /* "down_too_short": quorum sees P DOWN, not yet for long enough */
    FO_REASON_NO_STANDBY,        /* "no_standby": no site other than P is configured */
    FO_REASON_FAIL_BACK,         /* "fail_back": the site was the primary we failed away from */
    FO_REASON_STANDBY_UNHEALTHY, /* "standby_unhealthy": not seen UP by a majority */
    FO_REASON_LAG_UNKNOWN,       /* "lag_unknown": RPO gate: no lag measurement */
    FO_REASON_LAG_BYTES,         /* "lag_bytes": RPO gate: lag over max_lag_bytes */
    FO_REASON_LAG_MS,            /* "lag_ms": RPO gate: lag over max_lag_ms */
    FO_REASON_UNKNOWN_SITE,      /* "unknown_site": manual target is not a configured site */
    FO_REASON_SAME_SITE,         /* "same_site": manual target is already the primary */
    FO_REASON_PRIMARY_NOT_UP,    /* "primary_not_up": switchover needs P seen UP by a majority */
    FO_REASON_NOT_REPLICA,       /* "not_replica": the target is not a replica of P (it takes
                                    writes itself, e.g. the old primary before a re-seed) */
    FO_REASON_CONFIG_MISMATCH,   /* "config_mismatch": a peer reported another replicated-config
                                    digest than this node's (a reload not done everywhere) */
    FO_REASON_COUNT
};
extern const char *const fo_decision_reason_names[]; /* FO_REASON_COUNT + NULL */

/* The replication lag of one standby site, as last measured by the caller (its Postgres
 * standby: bytes behind the primary's WAL, and the replay delay). known = false, or a site
 * missing from the input, means unknown: the RPO gate refuses it. */
struct fo_site_lag {
    const char *site;
    bool known;
    bool not_replica; /* its Postgres is not in recovery: no replica of P at all */
    uint64_t bytes;
    uint64_t ms;
};

struct fo_decision_input {
    const struct fo_state *state; /* the FSM's state, as applied on this node */
    const struct fo_config *cfg;  /* sites, peers, feeds, decision and checks policy */
    uint64_t now_ms;              /* the caller's wall clock (verdict times are wall clock) */
    const struct fo_site_lag *lags;
    size_t nlags;
    /* Optional: observers whose verdicts the caller knows to be frozen — a peer the leader
     * has not heard from (its verdicts cannot change, so a DOWN it left behind could never
     * be withdrawn). Shown, not counted as evidence nor as health. */
    const char *const *stale;
    size_t nstale;
    /* Optional: peers the config names that are not in the Raft configuration (removed, or
     * not added yet: failoverctl members). They are not counted (the caller lists them in
     * stale too), and a configuration digest they reported does not block (a removed node
     * whose line is still in the configs keeps its last digest in the state). */
    const char *const *outside;
    size_t noutside;
    /* Optional (issue 13, 5): durations on the caller's own monotonic clock. When set, a
     * DOWN verdict has held for mono_now_ms - local_since(ctx, v): since this node first
     * saw the row with its current status, on its clock. No rule then compares the
     * observer's wall clock with this node's; since_ms stays for people (detected_ms).
     * NULL: now_ms - since_ms (the unit tables and the simulation's virtual time). */
    uint64_t (*local_since)(const void *ctx, const struct fo_verdict *v);
    const void *local_ctx;
    uint64_t mono_now_ms;
};

/* How one observer sees the primary site (and whether it is evidence). */
#define FO_DECISION_MAX_OBSERVERS 32
struct fo_decision_observer {
    char name[FO_NAME_MAX + 1];
    bool counted;                 /* a peer, or a feed with count_in_quorum */
    bool stale;                   /* listed in input.stale: not counted */
    int status;                   /* enum fo_status: its view of the primary site */
    uint64_t since_ms;            /* DOWN: since when */
    char region[FO_NAME_MAX + 1]; /* DOWN: the critical region DOWN the longest */
    uint64_t held_ms;             /* DOWN: for how long (on the caller's clock, see input) */
    bool held;                    /* counted, not stale, DOWN for >= failover_after_ms */
};

/* One possible target and what keeps it from being one. */
struct fo_decision_candidate {
    char site[FO_NAME_MAX + 1];
    uint32_t priority;
    int reason;       /* enum fo_decision_reason: FO_REASON_FAILOVER when it qualifies */
    uint32_t healthy; /* counted observers that see it UP */
    bool lag_known;
    uint64_t lag_bytes;
    uint64_t lag_ms;
};

struct fo_decision {
    enum fo_decision_kind kind;
    enum fo_decision_reason reason;
    char text[FO_TEXT_MAX]; /* for people: "cooldown for 420 s more", ... */

    /* FAILOVER: what to commit as one op_begin. */
    int op_kind;                 /* FO_OP_AUTO or FO_OP_MANUAL */
    char op_id[FO_NAME_MAX + 1]; /* "op-<epoch>": a retried proposal is the same command */
    char from[FO_NAME_MAX + 1];  /* P (set whenever the state names a known primary) */
    char to[FO_NAME_MAX + 1];
    uint64_t epoch;       /* state.epoch + 1 */
    uint64_t detected_ms; /* earliest since_ms among the observers that formed the quorum;
                           * 0 for a manual request without such a quorum */
    bool force;           /* manual with --force: the RPO and health gates were skipped */

    /* The evidence, filled for every decision (status shows it). */
    uint32_t quorum;      /* decision.quorum */
    uint32_t counted;     /* observers that count: peers + feeds with count_in_quorum */
    uint32_t down;        /* counted, non-stale observers that see P DOWN */
    uint32_t held;        /* of which for at least failover_after_ms */
    uint64_t ready_in_ms; /* down_too_short: when the quorum will have held, if nothing
                           * recovers (the caller's deadline timer); 0 otherwise */
    struct fo_decision_observer observers[FO_DECISION_MAX_OBSERVERS];
    size_t nobservers;
    struct fo_decision_candidate candidates[FO_CONFIG_MAX_SITES]; /* best first */
    size_t ncandidates;
};

/* The automatic path, run by the leader: FAILOVER when every rule of DESIGN §5 holds
 * (see decision.c, one block comment per rule), else NONE with the first rule that does
 * not, in this order: uninitialized, unknown_primary, in_flight, auto_off, paused,
 * config_mismatch, cooldown, primary_not_down / down_too_short, then the best candidate's reason
 * (no_standby, fail_back, standby_unhealthy, lag_unknown, lag_bytes, lag_ms). */
void fo_decision_auto(const struct fo_decision_input *in, struct fo_decision *out);

/* An operator's `failoverctl failover --to TO [--force]`: skips the "P DOWN", pause,
 * cooldown and fail-back rules (the operator is the judge; re-admitting a failed-away
 * site is this path); refuses an uninitialised state, an operation in flight, an unknown
 * site and TO == P; keeps the health and RPO gates unless force. */
void fo_decision_manual(const struct fo_decision_input *in, const char *to, bool force,
                        struct fo_decision *out);

/* An operator's `failoverctl switchover --to TO`: the planned, no-data-loss move. The
 * rules of fo_decision_manual without force (health and RPO gates kept), and P itself
 * must be seen UP by a majority of the counted observers: the plan fences P and waits
 * until TO has replayed everything P wrote, which needs P reachable (a lost P is a
 * failover's job). op_kind FO_OP_SWITCHOVER. */
void fo_decision_switchover(const struct fo_decision_input *in, const char *to,
                            struct fo_decision *out);

/* For `status`: the same evaluation as fo_decision_auto (same kind, reason and evidence),
 * but text lists every rule that blocks a failover now, including the candidates'
 * readiness while the primary is up ("primary main is seen DOWN by 0 of 3 observers
 * (quorum 2); dr's replication lag is unknown (RPO gate)"). */
void fo_decision_explain(const struct fo_decision_input *in, struct fo_decision *out);

/* How observer sees site (enum fo_status, see "view" above); *since_ms (may be NULL) is
 * set for DOWN. */
int fo_decision_site_view(const struct fo_state *st, const struct fo_config *cfg,
                          const struct fo_site *site, const char *observer, uint64_t *since_ms);

#endif
