/*
 * consensus/fsm.h — failoverd's replicated state machine (DESIGN §4).
 *
 * The FSM holds one struct fo_state and changes it only by applying committed commands
 * (proto/command.h). This module knows nothing about Raft: consensus/raft_fsm.h adapts it
 * to libraft's struct raft_fsm, and the simulation and unit tests drive it directly.
 *
 * Apply is deterministic: it reads no clock, does no I/O and depends only on the state
 * and the entry's bytes, so every node that applies the same log reaches the same state.
 * A command that is well-formed but not acceptable in the current state (a stale epoch,
 * a second operation while one is in flight, a step of an unknown operation...) is
 * REJECTED: the state is unchanged except for a "rejected" event in the incident log,
 * and the proposer learns why through fo_fsm.last. A rejection is the same on every node
 * that runs the same release, and every node that can decode an entry runs a release
 * that decides it the same way (codec.h "Versions": the cluster format caps what is
 * written). Running out of memory while applying aborts the process (see fsm.c): a node
 * must never silently differ from the others.
 *
 * HALTED: an entry this node cannot apply — it does not decode (a newer format, or
 * corrupt), or raises the cluster format beyond what this binary reads — is never
 * skipped, since the other nodes may have applied it and skipping would leave this
 * node's state diverged from theirs for good. The FSM stops BEFORE it: the state stays
 * exactly the one of the last applied entry, `halted` is set with the reason in
 * `halt_msg` and f->last, and every later apply is refused the same way (nothing is
 * recorded, not even an event) until a snapshot is restored or the process restarts
 * with a binary that reads the entry. consensus/raft_fsm.c keeps libraft from
 * snapshotting a halted state, so a restart replays the entry again.
 *
 * The safety rules enforced here, at the commit point, hold whatever any leader decided:
 *   - the epoch only grows, by exactly one per failover/switchover (op_begin);
 *   - at most one operation is in flight, and at most one begins per epoch;
 *   - an automatic operation never begins while paused or before the cooldown ends
 *     (checked against the command's proposer time; a wrong clock can delay or allow
 *     an automatic failover, never create two primaries);
 *   - a step that is done stays done, so a re-run after a leader change cannot undo it.
 *
 * Ownership: struct fo_fsm is caller-allocated; it owns its state (fo_fsm_close frees it).
 * Not thread-safe: use from the loop thread only.
 */
#ifndef FO_CONSENSUS_FSM_H
#define FO_CONSENSUS_FSM_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/command.h"
#include "proto/state.h"

/* Kept in the state: the newest finished operations (whole) and events. An operation
 * that leaves history moves to the archive without its steps; the archive keeps what
 * fits FO_FSM_ARCHIVE_BYTES (fo_fsm_archive_cost of each entry: its strings and a fixed
 * part, so every node trims at the same entry), dropping the oldest first and counting
 * them in history_dropped. */
#define FO_FSM_HISTORY_KEEP  32
#define FO_FSM_EVENTS_KEEP   128
#define FO_FSM_ARCHIVE_BYTES (256u * 1024u)

/* Outcome of the latest apply, for the proposer's callback. */
enum fo_fsm_outcome {
    FO_FSM_APPLIED = 0, /* the state changed as asked (or already was so: idempotent) */
    FO_FSM_REJECTED,    /* well-formed, but not acceptable now; state unchanged */
    FO_FSM_INVALID,     /* a decoded command of no known type (fo_fsm_apply only) */
    FO_FSM_HALTED,      /* this node cannot apply the entry: nothing applied (see above) */
};

struct fo_fsm_result {
    enum fo_fsm_outcome outcome;
    enum fo_cmd_type type; /* FO_CMD_NTYPES when INVALID or undecodable */
    char msg[256];         /* why, when not APPLIED */
};

struct fo_fsm {
    struct fo_state state;     /* owned */
    uint64_t applied;          /* entries applied since start/restore (diagnostic) */
    uint64_t rejected;         /* of which rejected or invalid */
    struct fo_fsm_result last; /* outcome of the most recent apply */
    bool halted;               /* see HALTED above; cleared by a restore */
    char halt_msg[256];        /* why, for logs, status and metrics */
};

/* Initialise an empty FSM (no cluster, epoch 0). */
void fo_fsm_init(struct fo_fsm *f);

/* Release the state. */
void fo_fsm_close(struct fo_fsm *f);

/* Apply one Raft entry: a whole command frame. See f->last (FO_FSM_HALTED: not applied). */
void fo_fsm_apply_frame(struct fo_fsm *f, const uint8_t *frame, size_t len);

/* Apply one decoded command (the part of apply_frame after decoding). */
void fo_fsm_apply(struct fo_fsm *f, const struct fo_cmd *cmd);

/* Encode the whole state as a snapshot frame of the cluster format at most (codec.h
 * "Versions"); out is owned by the caller. Returns 0 or a proto error code (ENOMEM; or
 * EVERSION, which the gate on proposals makes unreachable). */
int fo_fsm_snapshot(const struct fo_fsm *f, struct fo_buf *out);

/* Replace the state with the one in a snapshot frame (of any format this binary reads)
 * and clear a halt. On error the state is unchanged and err says why. */
int fo_fsm_restore(struct fo_fsm *f, const uint8_t *frame, size_t len, struct fo_proto_error *err);

/* Lookups into the state; NULL when absent. */
const struct fo_verdict *fo_fsm_verdict(const struct fo_fsm *f, const char *observer,
                                        const char *region);
const struct fo_operation *fo_fsm_history_find(const struct fo_fsm *f, const char *op_id);

/* What an archived operation counts against FO_FSM_ARCHIVE_BYTES. */
size_t fo_fsm_archive_cost(const struct fo_operation *op);

#endif
