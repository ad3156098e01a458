/*
 * coordinator/serve/majority.h — "can this node show majority contact?" (issue 14): the
 * rule behind GET /v1/primary and the load balancers' /v1/lb/... checks (http_api.h). A
 * node answers from its replicated state only when that state is provably recent:
 *
 *   leader    ready (its election barrier committed: its FSM holds every committed entry),
 *             and a majority of the voters (itself included) answered one of its
 *             AppendEntries of the current term within the window;
 *   follower  it follows a leader, heard an AppendEntries of the current term from it
 *             within the window, and has applied everything up to the commit index that
 *             message carried.
 *   else      no answer: the reason says why (candidate, no leader, silent leader, ...).
 *
 * The window is decision.lease_ms (coordinator/run/lease.h: how long a majority's grant
 * keeps a write lease) but never below three Raft heartbeats, so a healthy node does not
 * flap with a short lease. Times are this node's monotonic clock (the Raft io clock);
 * no two nodes' clocks are compared.
 *
 * What it does not prove: a follower of a leader that lost its majority a moment ago
 * (and has not noticed yet) still passes until the leader steps down (at most one Raft
 * election timeout after losing contact). A write to the old primary in that window is
 * refused anyway once its guardian's lease lapses (lease.h).
 *
 * Two layers: fo_majority_check is pure (tests drive it with made-up inputs);
 * fo_majority_of fills the input from a live node. Loop thread only.
 */
#ifndef FO_COORDINATOR_MAJORITY_H
#define FO_COORDINATOR_MAJORITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"

/* Why a node cannot show majority contact. Wire (the JSON error code):
 * fo_majority_reason_names. */
enum fo_majority_reason {
    FO_MAJORITY_OK = 0,
    FO_MAJORITY_NO_LEADER,         /* "no_leader": candidate, or no leader known */
    FO_MAJORITY_NOT_READY,         /* "leader_not_ready": elected, barrier not committed */
    FO_MAJORITY_NO_QUORUM_CONTACT, /* "no_quorum_contact": leader, a majority silent */
    FO_MAJORITY_LEADER_SILENT,     /* "leader_silent": follower, no word from the leader */
    FO_MAJORITY_BEHIND,            /* "behind": follower, not applied to the leader's commit */
    FO_MAJORITY_COUNT
};
extern const char *const fo_majority_reason_names[]; /* FO_MAJORITY_COUNT + NULL */

struct fo_majority_input {
    int role; /* RAFT_LEADER, RAFT_FOLLOWER, ... */
    bool ready;
    uint64_t now_ms;
    uint64_t window_ms;
    /* Leader: the last contact of each voter (itself: now), 0 for never. */
    uint64_t voter_contact_ms[FO_NODE_CONTACT_MAX];
    size_t nvoters;
    /* Follower: the leader it follows (0: none), its last contact, the commit index that
     * contact carried and what this node applied. */
    uint64_t leader_id;
    uint64_t leader_contact_ms;
    uint64_t heard_commit;
    uint64_t last_applied;
};

struct fo_majority {
    enum fo_majority_reason reason;
    uint64_t contact_age_ms; /* leader: age of the majority's contact; follower: the leader's;
                              * UINT64_MAX when never */
    unsigned contacts;       /* leader: voters heard within the window (itself included) */
    unsigned voters;
    char msg[160]; /* for people: the reason with its numbers */
};

/* The window for cfg: max(decision.lease_ms, 3 x raft.heartbeat_ms). */
uint64_t fo_majority_window_ms(const struct fo_config *cfg);

/* Judge in. Returns out->reason (FO_MAJORITY_OK when the node may answer). */
enum fo_majority_reason fo_majority_check(const struct fo_majority_input *in,
                                          struct fo_majority *out);

/* Fill in from node (the voters of cfg->peers that node's Raft configuration holds). */
void fo_majority_of(const struct fo_node *node, const struct fo_config *cfg,
                    struct fo_majority_input *in);

#endif
