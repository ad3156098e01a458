/*
 * consensus/raft_fsm.h — adapts the FSM (consensus/fsm.h) to libraft 0.15's struct
 * raft_fsm, version 2 without snapshot_finalize (libraft-0.15 reference §2):
 *
 *   apply     decodes and applies one RAFT_COMMAND entry; never returns an error (a 0.15
 *             follower whose apply fails becomes unavailable and leaves the cluster).
 *             When the FSM halts (fsm.h: an entry this node cannot apply) libraft still
 *             counts the entry applied, but the FSM applies nothing more and snapshot
 *             refuses (RAFT_BUSY) while halted, so no snapshot ever claims an index its
 *             state does not hold: a restart replays from the last good snapshot and
 *             halts at the same entry, or, on a newer binary, applies it. *result points at
 *             fsm.last, which the proposer's callback reads right after this apply —
 *             results are never heap-allocated because libraft drops them on followers;
 *   snapshot  encodes the whole state into one raft_malloc'd buffer (raft frees it),
 *             RAFT_BUSY while the FSM is halted;
 *   restore   replaces the state; on success takes ownership of the buffer.
 *
 * Ownership: struct fo_raft_fsm is caller-allocated and must outlive the struct raft
 * that uses it. Loop thread only.
 */
#ifndef FO_CONSENSUS_RAFT_FSM_H
#define FO_CONSENSUS_RAFT_FSM_H

#include <raft.h>

#include "consensus/fsm.h"

struct fo_raft_fsm {
    struct raft_fsm raft; /* pass &rf->raft to raft_init / raft_fixture_grow */
    struct fo_fsm fsm;
    /* Called after every apply that was not FO_FSM_APPLIED (for logging), and once when
     * the FSM halts (not at libraft's retries); may be NULL. */
    void (*on_reject)(struct fo_raft_fsm *rf, const struct fo_fsm_result *result);
    /* Called after every apply that was not a halt, inside libraft's apply: it must
     * not call back into libraft (defer the work, e.g. to a 0 ms timer). May be NULL. */
    void (*on_apply)(struct fo_raft_fsm *rf, const struct fo_fsm_result *result);
    void *data; /* for the owner */
};

void fo_raft_fsm_init(struct fo_raft_fsm *rf);

/*
 * Every buffer failoverd gives libraft (entries and snapshots) is padded with zeros to a
 * multiple of 8 bytes. libraft 0.15's raft_uv pads entries on disk when it writes them
 * but not when it loads a closed segment, so an entry whose length is not a multiple
 * of 8 makes the segment unreadable at the next start ("entries count ... in preamble
 * is too high"). dqlite, its main user, always hands it 8-byte multiples.
 * fo_raft_pad gives the padded length; fo_raft_unpad the frame's own length when the
 * tail is at most 7 zero bytes after one complete frame (else len, unchanged, so that
 * the strict decoder rejects it).
 */
size_t fo_raft_pad(size_t len);
size_t fo_raft_unpad(const uint8_t *buf, size_t len);
void fo_raft_fsm_close(struct fo_raft_fsm *rf);

#endif
