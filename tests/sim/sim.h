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

#define SIM_MAX_SERVERS 5
#define SIM_T0          UINT64_C(1763856000000) /* proposer clock = T0 + virtual time */

enum sim_invariant {
    SIM_INV_LOG = 0,
    SIM_INV_EPOCH,
    SIM_INV_PRIMARY,
    SIM_INV_COMMIT,
    SIM_INV_ACTED,
    SIM_INV_CONVERGE,
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

struct sim_server {
    struct fo_raft_fsm rf; /* rf.data points back here */
    struct sim *sim;
    unsigned i;
    char name[16];
    int (*fsm_apply)(struct raft_fsm *, const struct raft_buffer *, void **);
    int (*fsm_restore)(struct raft_fsm *, struct raft_buffer *);
    /* invariant bookkeeping */
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
};

struct sim_options {
    uint64_t seed;
    unsigned servers;    /* 3 or 5 */
    unsigned run_ms;     /* virtual time with faults and workload */
    unsigned long steps; /* fixture steps at most (0 = no limit) */
    int verbose;
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

/* figure8.c */
int sim_figure8(const struct sim_options *opt);

#endif
