/*
 * tests/sim/sim.h — deterministic simulation of failoverd's replicated state machine on
 * libraft 0.15's in-memory fixture (DESIGN §11, libraft-0.15 reference §7).
 *
 * One struct sim is one cluster run from one seed: a raft_fixture of n servers, each
 * with the real FSM (consensus/raft_fsm.h) whose apply is wrapped to record what it
 * applied; a model of the daemon on each server (barrier after every election win,
 * proposals only from a leader whose barrier completed in its current term); a fault
 * model (partitions, loss, kill/revive, latencies); and the invariants, checked after
 * every fixture step:
 *
 *   (a) log       every server applies, index by index, the same entries (same term and
 *                 bytes) and never skips one: the applied sequences are prefixes of one
 *                 another (a snapshot install covers the indices it replaces);
 *   (b) epoch     on every server the FSM epoch never decreases;
 *   (c) primary   across all servers at most one non-drill operation per epoch, and one
 *                 epoch always maps to the same target site;
 *   (d) commit    the commit index of every server never decreases;
 *   (e) acted     no two leaders acted (read the FSM after their barrier) on different
 *                 operations of the same epoch — what failoverd's safety rests on;
 *   (f) converge  at the end, healed, every server's FSM snapshot is byte-identical and
 *                 no operation is left in flight.
 *
 * Decision mode (--decide, decide.c) replaces the random workload: the leader runs the
 * real decision policy (coordinator/decide/decision.h) on its FSM, verdicts come from a scripted
 * "world" of probe outcomes, every node runs the real write-lease core on its own clock
 * (writes.c), and the invariants (g)-(j), (l) of decide.c and (m)-(o) of writes.c
 * (tests/sim/README.md) are checked.
 *
 * Everything random comes from the seed through splitmix64: a seed replays exactly.
 * Reads libraft 0.15 struct fields that have no accessor (current_term,
 * commit_index, and the log ring to find an entry's term): this file is tied to 0.15,
 * like the rest of consensus/.
 */
#ifndef FO_TEST_SIM_H
#define FO_TEST_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include <raft.h>
#include <raft/fixture.h>

#include "consensus/raft_fsm.h"
#include "coordinator/config/config.h"
#include "coordinator/run/lease.h"

#define SIM_MAX_SERVERS 5
#define SIM_T0          UINT64_C(1763856000000) /* proposer clock = T0 + virtual time */

enum sim_invariant {
    SIM_INV_LOG = 0,
    SIM_INV_EPOCH,
    SIM_INV_PRIMARY,
    SIM_INV_COMMIT,
    SIM_INV_ACTED,
    SIM_INV_CONVERGE,
    SIM_INV_QUORUM,   /* (g) decision mode (decide.c) */
    SIM_INV_GATES,    /* (h) */
    SIM_INV_RPO,      /* (i) */
    SIM_INV_ONE,      /* (j) */
    SIM_INV_FAILBACK, /* (l) */
    SIM_INV_WRITES,   /* (m) writes.c */
    SIM_INV_LIFT,     /* (n) */
    SIM_INV_LATE,     /* (o) */
    SIM_NINV
};
extern const char *const sim_invariant_names[SIM_NINV];

/* What one raft index holds, as first applied by any server. */
struct sim_entry {
    bool set;
    raft_term term;
    uint64_t hash;
};

/* The operation a given epoch decided (non-drill op_begin applied). */
struct sim_epoch {
    bool applied, acted;
    char id[FO_NAME_MAX + 1], to[FO_NAME_MAX + 1]; /* as applied (c) */
    char acted_to[FO_NAME_MAX + 1];                /* as acted on by a leader (e) */
};

struct sim;

/* Decision mode (writes.c): one renewal round a guardian sent, as the world was then. */
struct sim_round {
    uint64_t id;
    raft_time at; /* virtual time of the send */
    bool moved;   /* a majority of the FSMs had applied a move away by then */
    char why[64];
};

struct sim_server {
    struct fo_raft_fsm rf; /* rf.data points back here */
    struct sim *sim;
    unsigned i;
    char name[16];
    int (*fsm_apply)(struct raft_fsm *, const struct raft_buffer *, void **);
    int (*fsm_restore)(struct raft_fsm *, struct raft_buffer *);
    /* the daemon's contact record (consensus/node.c contact_recv), modelled: raft_io's
     * start() is wrapped so every message passes the sim first */
    int (*io_start)(struct raft_io *, unsigned, raft_io_tick_cb, raft_io_recv_cb);
    raft_io_recv_cb raft_recv;
    struct {
        raft_time at;
        raft_term term;
    } contact[SIM_MAX_SERVERS]; /* by peer index */
    /* invariant bookkeeping */
    uint64_t timeout_term; /* the term for which its election timeout was last drawn */
    raft_index last_index; /* last index applied through the FSM or a restore */
    raft_index floor;      /* indices up to here came from a snapshot install */
    bool restored;         /* a restore happened since the last check */
    uint64_t max_epoch;
    raft_index max_commit;
    bool was_leader;
    /* daemon model */
    bool daemon;              /* issue barriers and act (figure 8 turns it off) */
    raft_term barrier_term;   /* term whose barrier completed */
    raft_term barrier_issued; /* term whose barrier was submitted */
    unsigned inflight;        /* apply requests awaiting their callback */
    bool op_inflight;         /* an operation command among them */
    raft_time next_propose;
    /* decision mode (decide.c): the rest of the daemon, for peer i = region i */
    raft_time next_tick;               /* housekeeping: probes, verdicts, fence, decide */
    int want[SIM_MAX_SERVERS];         /* enum fo_status this node's probes see per region */
    uint64_t want_at[SIM_MAX_SERVERS]; /* proposer clock of the change */
    bool want_pending[SIM_MAX_SERVERS];
    bool want_cooldown;        /* an op_end of ours applied: commit the cooldown */
    uint64_t last_begin_epoch; /* (j) */
    /* decision mode: the write lease (writes.c), the REAL core on this node's clock */
    struct fo_lease lease;
    uint64_t rate_ppm;  /* this node's clock runs at rate_ppm / 10^6 of virtual time */
    uint64_t clock_off; /* its reading at virtual time 0 */
    unsigned inc;       /* incarnation: bumped at every (re)start of the lease */
    bool lease_on;
    raft_index lease_seen; /* last applied index the lease was kicked for */
    uint64_t next_renew;   /* its clock: the next renew tick */
    struct sim_round sent[FO_LEASE_ROUNDS];
    uint64_t launched; /* the executor's last launched action (epoch, step, attempt) */
    uint64_t landing;  /* ... while it has not landed yet (0: none in flight) */
    int last_reason;   /* verbose: the decision's reason, logged on change */
    struct {
        int status; /* -1: no row */
        uint64_t since;
        raft_index changed;                   /* raft index that last changed it */
    } vrow[SIM_MAX_SERVERS][SIM_MAX_SERVERS]; /* [observer][region] as applied here */
};

struct sim_options {
    uint64_t seed;
    unsigned servers;    /* 3 or 5 */
    unsigned run_ms;     /* virtual time with faults and workload */
    unsigned long steps; /* fixture steps at most (0 = no limit) */
    int verbose;
    bool decide;                /* decision mode (decide.c) instead of the random workload */
    unsigned failover_after_ms; /* decision mode: decision.failover_after_ms (0: 5000) */
};

/* Decision mode: what the leader decided when it proposed an automatic op_begin. */
struct sim_decision {
    char id[FO_NAME_MAX + 1], by[FO_NAME_MAX + 1], from[FO_NAME_MAX + 1], to[FO_NAME_MAX + 1];
    uint64_t at_ms;        /* proposer clock: the op_begin's at_ms */
    raft_index read_index; /* the leader's last applied index when it decided */
    unsigned stale;        /* bit per peer: observers left out as stale */
    bool own_pending;      /* the leader's own verdict proposals were not applied yet */
};

/* Decision mode: the scripted probe outcomes. Region r is peer r's region. */
#define SIM_SITES 2 /* main, dr */
struct sim_world {
    raft_time down_until[SIM_MAX_SERVERS];                   /* region data plane down */
    raft_time iso_until[SIM_MAX_SERVERS];                    /* region cut off */
    raft_time blind_until[SIM_MAX_SERVERS][SIM_MAX_SERVERS]; /* [observer][region] */
    int blind_status[SIM_MAX_SERVERS][SIM_MAX_SERVERS];      /* DOWN or UNKNOWN */
    bool lag_known[SIM_SITES];
    uint64_t lag_bytes[SIM_SITES], lag_ms[SIM_SITES];
    raft_time lag_until[SIM_SITES]; /* a lag fault ends (back to a small lag) */
    unsigned pg_region[SIM_SITES];  /* region index of each site's Postgres */
};

/* Decision mode (writes.c): a component of a site (Postgres or Redis). */
#define SIM_KINDS 2
struct sim_comp {
    unsigned region;    /* region index = its guardian's server index */
    bool primary;       /* its role: a primary takes writes unless fenced */
    bool fenced;        /* postgres.fence / redis.fence applied */
    bool held;          /* fenced by its promote, not yet lifted by its guardian */
    uint64_t epoch;     /* the recorded fencing token */
    uint64_t fenced_at; /* the newest epoch a fence recorded (failoverd:fence) */
    bool writable;      /* as last checked */
    bool was_down;      /* its data plane was down at the last check */
    raft_time back_at;  /* its data plane came back (0: never down) */
    raft_time since;    /* writable since */
};

enum sim_ev_type {
    SIM_EV_TICK,
    SIM_EV_RENEW,
    SIM_EV_GRANT,
    SIM_EV_FENCE,
    SIM_EV_PROMOTE,
    SIM_EV_PLANFENCE /* the plan's postgres.fence / redis.fence of the old primary */
};

/* A lease or executor event due at a virtual time. */
struct sim_ev {
    raft_time at;
    uint64_t seq;
    enum sim_ev_type type;
    unsigned from, to; /* nodes: renew from guardian to granter (a grant goes back) */
    unsigned inc;      /* incarnation of the node that hears back */
    char site[FO_NAME_MAX + 1];
    uint64_t epoch, round, sent_local;
    bool fence;
    unsigned comp_site, comp_kind;
    uint64_t key; /* SIM_EV_PROMOTE / PLANFENCE: the launch it is (sim_server.launched) */
};

struct sim {
    struct raft_fixture f; /* first: the hook finds the sim from it */
    struct sim_options opt;
    unsigned n;
    struct sim_server s[SIM_MAX_SERVERS];
    uint64_t rng;
    unsigned long step;
    bool workload; /* propose commands */
    bool drain;    /* no new operations: finish the one in flight */
    /* At the drain, a server libraft 0.15 stopped (RAFT_UNAVAILABLE) is left out of
     * convergence: the daemon exits on it and its supervisor restarts it from disk
     * (daemon.c on_change), which the 0.15 fixture cannot do. Counted in unavailable. */
    bool skip_unavailable;
    unsigned unavailable;
    /* fault model */
    bool part[SIM_MAX_SERVERS][SIM_MAX_SERVERS];
    raft_time loss_until[SIM_MAX_SERVERS][SIM_MAX_SERVERS];
    raft_time revive_at[SIM_MAX_SERVERS]; /* 0 = alive */
    raft_time next_fault;
    /* invariant state */
    struct sim_entry *log;
    size_t nlog;
    struct sim_epoch *epochs;
    size_t nepochs;
    unsigned violations[SIM_NINV];
    bool failed;
    char why[512];
    unsigned long failed_step;
    /* statistics */
    unsigned elections;
    unsigned long applied; /* distinct command entries applied */
    unsigned operations;   /* distinct operations begun */
    unsigned long proposals, lost, rejected;
    uint64_t op_counter;
    /* decision mode */
    struct fo_config cfg;
    bool cfg_loaded;
    const struct fo_peer *peer[SIM_MAX_SERVERS]; /* server i is peer id i + 1 */
    const struct fo_site *site[SIM_SITES];       /* main, dr */
    struct sim_world world;
    struct sim_decision *decisions;
    size_t ndecisions, capdecisions;
    unsigned auto_ops, manual_ops, drills, fences, windows, windows_own;
    /* decision mode: the write model (writes.c) */
    struct sim_comp comp[SIM_SITES][SIM_KINDS];
    uint64_t wrng; /* the write model's own random stream */
    struct sim_ev *evs;
    size_t nev, capev;
    uint64_t ev_seq;
    raft_time ev_now; /* the virtual time of the event being run */
    unsigned long renewals, marks;
    unsigned lifts, promotes, held_lifts, gate_waits, returns;
};

/* cluster.c */
uint64_t sim_rand(struct sim *s);
unsigned sim_below(struct sim *s, unsigned n);
int sim_open(struct sim *s, const struct sim_options *opt);
void sim_close(struct sim *s);
void sim_violation(struct sim *s, enum sim_invariant inv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
struct raft *sim_raft(struct sim *s, unsigned i);
void sim_net_apply(struct sim *s);
void sim_heal(struct sim *s);
void sim_step(struct sim *s);
bool sim_converged(struct sim *s);
void sim_check_final(struct sim *s);

/* workload.c */
void sim_daemon(struct sim *s, unsigned i);
int sim_propose(struct sim *s, unsigned i, const struct fo_cmd *cmd);
/* Propose on server i's raft on behalf of server owner (a forwarded verdict for region:
 * owner's want_pending[region] is cleared by the callback; region < 0 otherwise). */
int sim_propose_for(struct sim *s, unsigned i, const struct fo_cmd *cmd, unsigned owner,
                    int region);
/* The next command of the operation in flight on sv's FSM (step or op_end). */
void sim_op_progress(struct sim *s, struct sim_server *sv, struct fo_cmd *c, uint64_t now);

/* decide.c (decision mode) */
int sim_decide_open(struct sim *s);
void sim_decide_close(struct sim *s);
void sim_world_fault(struct sim *s);
bool sim_world_expire(struct sim *s);
void sim_world_heal(struct sim *s);
bool sim_world_isolated(struct sim *s, unsigned i);
void sim_decide_killed(struct sim *s, unsigned i, raft_time until);
void sim_decide_revived(struct sim *s, unsigned i);
void sim_decide_daemon(struct sim *s, unsigned i, bool ready);
void sim_decide_applied(struct sim *s, struct sim_server *sv, raft_index index, bool first,
                        uint64_t pre_epoch);
void sim_decide_restored(struct sim *s, struct sim_server *sv);

/* writes.c (decision mode) */
void sim_writes_open(struct sim *s);
void sim_writes_close(struct sim *s);
void sim_writes_step(struct sim *s);
bool sim_writes_executor(struct sim *s, unsigned l, const struct fo_cmd *c);

/* figure8.c */
int sim_figure8(const struct sim_options *opt);

#endif
