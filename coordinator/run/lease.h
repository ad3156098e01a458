/*
 * coordinator/run/lease.h — write leases: never two writable primaries (DESIGN §5,
 * shared/reference/write-leases.md).
 *
 * Epoch fencing guards failoverd's own actions; it does not stop an application from
 * writing to an old primary. A write lease does:
 *
 *   guardian  the node in the region of a component (Postgres, Redis) of the decided
 *             primary site P. It keeps its components writable only while a majority of
 *             voters grants it P's write lease for the current epoch E.
 *   granter   every voter (the guardian too, for its own lease). A granter answers a
 *             renewal at once while its applied state says P is the primary of E, a
 *             quorum of observers does not hold P DOWN (committed verdicts), it has not
 *             attested the lease's expiry, and it has run for the attest window W since
 *             it started (it may have granted just before it crashed).
 *
 * Clocks. Only monotonic clocks (uv_now), and no rule compares two nodes' readings:
 *   - the guardian sends a renewal round every renew_ms and remembers its send time s;
 *     once grants from a majority (itself included) answer that round, its lease runs
 *     until s + lease_ms on its own clock. Counting from the send time makes network
 *     delay harmless: every grant of the round happened after s.
 *   - when now >= the lease's end, the guardian fences its components at once and has
 *     fence_budget_ms to finish.
 *   - a granter whose state says P is no longer the primary (an op_begin moved it away)
 *     attests, once it has not granted the guardian for W, that the lease expired: it
 *     proposes lease(expired, P, E, guardian, itself) and never grants (P, E) again
 *     (its state says P is not the primary any more, and that only moves forward).
 *       W = (lease_ms + fence_budget_ms) * (1 + rho) / (1 - rho)
 *     with rho the clock-rate margin, so that when a granter attests, every lease it
 *     granted has run out in real time and its fence budget has passed.
 *   - the guardian that applies the op_begin fences at once and, once its fence actions
 *     report done, proposes lease(fenced, P, E, guardian).
 *
 * The gate (fo_lease_gate): an operation of epoch E+1 away from P promotes nothing until,
 * for every guardian g of P's components, g's lease(fenced) is committed, or lease(expired)
 * marks for g from a majority of voters are. Any majority that granted a round and any
 * majority that attested share a node, which attested at least W after its last grant:
 * that is the whole proof. It holds with stale FSMs, partitions and restarts.
 *
 * Fencing on the majority's word. A guardian also fences at once when its applied state
 * says a quorum of observers holds P DOWN (asymmetric cuts: the others lose the database
 * but not the guardian), or P is no longer the primary. It lifts a fence only when every
 * cause is gone AND a renewal round sent after the fence began was granted by a majority:
 * a majority that applied "P is the primary of E" — a quorum read, never its own
 * possibly stale state alone. After a committed lease(fenced) it never lifts for E.
 *
 * Promoted components stay fenced until their guardian holds the lease. A promote
 * (postgres.promote / redis.promote with hold_fence, run/plan_params.c: whenever a node
 * runs in the component's region) makes the server the primary but leaves it refusing
 * writes, fenced with the move's epoch. Its guardian starts guarding the new (site,
 * epoch) fenced (cause "promoted") and lifts by the rule above: a majority granted a round
 * sent after it began, the move's gate is open, and, for speed, the move's promotes of
 * its region have finished (a lift before them would find standbys). So no component
 * ever takes writes without a lease behind it, even when its guardian was dead or cut off
 * while it was promoted (sim --decide --seed 3516 before this). The cost: a component
 * whose guardian is gone stays fenced until the guardian is back (the README's
 * deployment rule: run each region's failoverd where its servers run).
 *
 * A lift is re-asserted while the lease holds, every REFENCE_MS once it was confirmed and
 * every renew period until it is: a late promote of the current epoch (a deposed
 * leader's, re-run) may fence again what was lifted, and a restarted guardian does not
 * know what its predecessor left fenced.
 *
 * Start-up: a guardian has no lease; it may assume its last round before a restart was
 * sent no later than its start, so it fences if no round is granted within lease_ms.
 *
 * Two layers. The CORE (fo_lease_core_*) is pure and clock-injected: every call takes
 * `now`, this node's monotonic clock in ms, and `st`, the state this node applied; it
 * reads no clock and no node, so tests/sim drives it with one simulated clock per server
 * (running at its own rate) and the simulated FSMs. The SHELL (fo_lease_init, _start,
 * _kick, _grant, _granted, _fence_done, _close) is the daemon's: it feeds the core
 * uv_now() and fo_node_state() from a uv timer every renew_ms.
 *
 * Ownership: caller-allocated; borrows loop, node, cfg and self. One thread (the loop's
 * for the daemon); the fence actions are the owner's (on_fence), run in the thread pool.
 */
#ifndef FO_COORDINATOR_LEASE_H
#define FO_COORDINATOR_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"

/* The lease's timing, in milliseconds of a monotonic clock. */
struct fo_lease_params {
    uint32_t renew_ms;             /* R: a renewal round every R */
    uint32_t lease_ms;             /* L: a granted round keeps the lease for L from its send */
    uint32_t fence_budget_ms;      /* F: a lapsed guardian's fence finishes within F */
    uint32_t rate_margin_permille; /* rho: clocks run within (1 +- rho) of real time */
};

/* Defaults: the fast profile (R 100, L 600, F 150, rho 2 %: W = 781 ms). */
extern const struct fo_lease_params fo_lease_defaults;

/* The lease timing a config asks for (decision.lease_renew_ms, lease_ms, fence_budget_ms,
 * clock_rate_margin_permille). */
struct fo_lease_params fo_lease_params_of(const struct fo_config *cfg);

/* W, the attest window: ceil((L + F) * (1 + rho) / (1 - rho)). */
uint64_t fo_lease_attest_ms(const struct fo_lease_params *p);

/* 0 when p is usable (R > 0, 2 R <= L, rho < 50 %), else -1 with msg naming the rule. */
int fo_lease_params_check(const struct fo_lease_params *p, char *msg, size_t cap);

/* The peers that guard site's components (one per component region that has a node),
 * written to out (at most cap, no duplicates). Returns how many. */
size_t fo_lease_guardians(const struct fo_config *cfg, const char *site, const struct fo_peer **out,
                          size_t cap);

/* True when peer guards a component of site. */
bool fo_lease_is_guardian(const struct fo_config *cfg, const char *site,
                          const struct fo_peer *peer);

/* The gate: true when no guardian of `site` can still let a component take writes for
 * `epoch` (see above). Otherwise false and why names the guardian it waits for. */
bool fo_lease_gate(const struct fo_state *st, const struct fo_config *cfg, const char *site,
                   uint64_t epoch, char *why, size_t cap);

/* True when an action kind makes a site's component take writes (a promote): the kinds
 * the gate holds back. */
bool fo_lease_kind_gated(const char *action);

/* True when a quorum of counted observers holds site DOWN in st (committed verdicts,
 * however long). */
bool fo_lease_site_held_down(const struct fo_state *st, const struct fo_config *cfg,
                             const char *site);

/* A granter's answer to a renewal. Wire (admin reply text): fo_lease_answer_names. */
enum fo_lease_answer {
    FO_LEASE_GRANTED = 0,
    FO_LEASE_NOT_PRIMARY, /* the state says another site or epoch */
    FO_LEASE_HELD_DOWN,   /* a quorum of observers holds the site DOWN */
    FO_LEASE_STARTING,    /* this node started less than W ago */
    FO_LEASE_NOT_GUARDIAN /* the asking node guards no component of the site */
};
extern const char *const fo_lease_answer_names[];

#define FO_LEASE_ROUNDS 8 /* renewal rounds remembered (answers may come late) */

struct fo_lease;
/* Run the fence (fence = true) or lift it (false) of this node's components of site, for
 * epoch. The owner calls fo_lease_fence_done once the actions have returned, with the same
 * site and epoch. A lift and a fence on a lapse or a DOWN quorum carry the lease's epoch;
 * the fence of a site the primary moved away from carries the epoch of the move (the
 * newest this node applied), so that the components, which record a fence's epoch and
 * refuse a promote or an unfence of an older one, refuse the old epoch's late actions. */
typedef void (*fo_lease_fence_cb)(struct fo_lease *l, const char *site, uint64_t epoch, bool fence);
/* Propose cmd through the leader (propose when leading, forward otherwise). */
typedef void (*fo_lease_propose_cb)(struct fo_lease *l, const struct fo_cmd *cmd);
/* Send one renewal to peer; the owner calls fo_lease_granted when a grant comes back. */
typedef void (*fo_lease_send_cb)(struct fo_lease *l, const struct fo_peer *peer, const char *site,
                                 uint64_t epoch, uint64_t round);

/* The wall-clock stamp put in a mark's at_ms (for people only). NULL: fo_clock_wall_ms. */
typedef uint64_t (*fo_lease_wall_cb)(struct fo_lease *l);

struct fo_lease_round {
    uint64_t id;
    uint64_t sent_ms;
    uint64_t granted; /* bit i: peers[i] granted */
};

/* What a granter remembers of one guardian. */
struct fo_lease_grant {
    uint64_t last_ms; /* monotonic time of the last grant; 0: none since start */
    char attested_site[FO_NAME_MAX + 1];
    uint64_t attested_epoch;
    bool attested; /* proposed lease(expired) for attested_site/epoch */
};

struct fo_lease {
    void *data; /* for the owner */
    fo_lease_fence_cb on_fence;
    fo_lease_propose_cb propose;
    fo_lease_send_cb send;
    fo_lease_wall_cb wall; /* optional */

    /* read-only for users (status, metrics) */
    struct fo_lease_params params;
    bool guarding;     /* this node guards a component of the decided primary */
    bool fenced;       /* the fence is (being) applied */
    int fence_cause;   /* enum fo_lease_cause of the last fence */
    uint64_t valid_ms; /* monotonic end of the lease; 0: none */
    uint64_t fences, lifts, rounds_sent, rounds_granted, attests;

    /* private */
    uv_loop_t *loop;
    struct fo_node *node;
    const struct fo_config *cfg;
    const struct fo_peer *self; /* this node (cfg->self for the daemon) */
    uv_timer_t timer;
    bool started;
    uint64_t started_ms;
    char site[FO_NAME_MAX + 1]; /* what this node guards or guarded */
    uint64_t epoch;
    uint64_t fenced_ms;   /* when the fence began */
    uint64_t refence_ms;  /* when the fence was last re-asserted */
    uint64_t fence_token; /* the epoch the fence carries (on_fence, fence_done) */
    bool fence_inflight;  /* on_fence not yet answered */
    bool inflight_fence;  /* ... and it was a fence (false: a lift) */
    bool fence_confirmed; /* the last fence's actions reported done */
    bool fenced_marked;   /* lease(fenced) proposed for site/epoch: never lift */
    bool held;            /* a majority granted a round of this (site, epoch) */
    bool lift_confirmed;  /* the last lift's actions reported done */
    uint64_t lift_ms;     /* when the last lift (or its re-assertion) was sent */
    bool lift_reassert;   /* the lift in flight is a re-assertion (the owner logs less) */
    uint64_t next_round;
    struct fo_lease_round rounds[FO_LEASE_ROUNDS];
    struct fo_lease_grant grants[FO_CONFIG_MAX_PEERS];
    bool closing;
};

/* Why a guardian fenced. */
enum fo_lease_cause {
    FO_LEASE_CAUSE_NONE = 0,
    FO_LEASE_CAUSE_LAPSED,      /* no majority renewed the lease in time */
    FO_LEASE_CAUSE_HELD_DOWN,   /* committed: a quorum holds the site DOWN */
    FO_LEASE_CAUSE_NOT_PRIMARY, /* committed: another site is the decided primary */
    FO_LEASE_CAUSE_PROMOTED,    /* a move made the site primary: its promotes left the
                                 * components fenced until this guardian holds the lease */
};
extern const char *const fo_lease_cause_names[];

/* ---- the core: pure, clock-injected. now: this node's monotonic clock (ms); st: the state
 * this node applied. The callbacks (on_fence, propose, send) run synchronously inside. */

/* Reset l for self (a peer of cfg), keeping data and the callbacks. Not started. */
void fo_lease_core_init(struct fo_lease *l, const struct fo_config *cfg, const struct fo_peer *self,
                        const struct fo_lease_params *params);

/* The node starts (or restarts) at now: it neither grants nor attests for W. */
void fo_lease_core_start(struct fo_lease *l, uint64_t now);

/* One renew period: guard (send a round, fence on lapse or on the committed state, lift)
 * and attest. The daemon calls it every renew_ms. No-op before core_start. */
void fo_lease_core_tick(struct fo_lease *l, const struct fo_state *st, uint64_t now);

/* Re-evaluate what the committed state makes urgent (a move away, a DOWN quorum) and
 * attest; renewals keep their rhythm. */
void fo_lease_core_kick(struct fo_lease *l, const struct fo_state *st, uint64_t now);

/* A renewal from guardian for (site, epoch) arriving at now: the answer, recorded. */
enum fo_lease_answer fo_lease_core_grant(struct fo_lease *l, const struct fo_state *st,
                                         uint64_t now, const char *site, uint64_t epoch,
                                         const char *guardian);

/* peer's grant of round arrived at now (then a kick). */
void fo_lease_core_granted(struct fo_lease *l, const struct fo_state *st, uint64_t now,
                           const struct fo_peer *peer, uint64_t round);

/* The fence actions for (site, epoch) returned (confirmed: every one was done). */
void fo_lease_core_fence_done(struct fo_lease *l, const char *site, uint64_t epoch, bool confirmed);

/* ---- the daemon's shell: uv_now() and fo_node_state(node) fed to the core ------------ */

void fo_lease_init(struct fo_lease *l, uv_loop_t *loop, struct fo_node *node,
                   const struct fo_config *cfg, const struct fo_lease_params *params);

/* Start renewing and checking every renew_ms. */
void fo_lease_start(struct fo_lease *l);

/* Re-evaluate now (after an apply, a role change): cheap and idempotent. */
void fo_lease_kick(struct fo_lease *l);

/* A renewal from guardian for (site, epoch): the granter's answer, recorded. */
enum fo_lease_answer fo_lease_grant(struct fo_lease *l, const char *site, uint64_t epoch,
                                    const char *guardian);

/* peer granted round (the owner's send callback's answer). */
void fo_lease_granted(struct fo_lease *l, const struct fo_peer *peer, uint64_t round);

/* The owner's fence actions for (site, epoch) returned: confirmed when every one was done
 * (a component that was already fenced counts as done). */
void fo_lease_fence_done(struct fo_lease *l, const char *site, uint64_t epoch, bool confirmed);

/* Stop; cb runs when the timer handle has closed (its data is the lease's owner's
 * choice: the handle is l->timer). */
void fo_lease_close(struct fo_lease *l, uv_close_cb cb);

#endif
