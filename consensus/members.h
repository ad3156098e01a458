/*
 * consensus/members.h — the Raft configuration of a node (who votes) and the changes an
 * operator makes to it (failoverctl members-add / members-remove), over libraft 0.15's
 * raft_add / raft_assign / raft_remove (reference §5).
 *
 * The Raft configuration is the truth for voting: the config file's peers are an address
 * book (name, id, region, Raft and admin addresses) that may list more nodes than vote —
 * one being added, or one removed whose line has not been deleted yet. A node never
 * votes or campaigns because a file lists it.
 *
 * Adding a server (the leader only; one change at a time):
 *   1. raft_add: it joins as a SPARE. libraft 0.15 sends nothing to spares (replication.c
 *      triggerAll skips them), so a spare cannot catch up;
 *   2. raft_assign STANDBY: it now gets the log (or a snapshot) but has no vote, so a
 *      slow or unreachable newcomer cannot cost the cluster its quorum;
 *   3. wait until its log has reached the commit index (bounded: catchup_ms), polled from
 *      the node's watch timer; if it does not, the change ends FO_MEMBER_LAGGING and the
 *      server stays a standby (add again once it runs, or remove it);
 *   4. raft_assign VOTER, once the voters the leader hears from, the newcomer included,
 *      are still a majority of the larger set.
 * An add that finds the server already a spare or standby (a retry) goes on from there;
 * one that finds it a voter answers FO_MEMBER_ALREADY.
 *
 * Removing a server:
 *   1. refused for the leader itself (FO_MEMBER_IS_LEADER: a leader that removes itself
 *      steps down once the change commits, in the middle of whatever it was doing; the
 *      caller moves leadership first) and when the voters left that the leader hears
 *      from would not be a majority of them (FO_MEMBER_NO_QUORUM);
 *   2. a voter is first demoted to STANDBY, and the leader waits (at most two election
 *      timeouts) for it to store that configuration: libraft 0.15 stops sending anything
 *      to a server the moment its removal is appended (progressRebuildArray), so a
 *      server removed while a voter never learns it and, restarted on its old data,
 *      campaigns forever (pre-vote keeps it from disrupting anyone, and its shorter log
 *      from winning). Demoted first, it knows it has no vote and never campaigns;
 *   3. raft_remove.
 *
 * Every start returns 0 and later calls cb exactly once with the outcome, or returns the
 * reason it was refused (never FO_MEMBER_DONE) and never calls cb. Leadership lost, or
 * the node closing, in the middle: FO_MEMBER_UNKNOWN (the last step may still commit).
 *
 * Loop thread only, like the node.
 */
#ifndef FO_CONSENSUS_MEMBERS_H
#define FO_CONSENSUS_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/node.h"

enum fo_member_outcome {
    FO_MEMBER_DONE = 0,      /* the change committed */
    FO_MEMBER_NOT_LEADER,    /* this node is not a ready leader */
    FO_MEMBER_IN_FLIGHT,     /* another configuration change is not finished (RAFT_CANTCHANGE) */
    FO_MEMBER_NO_QUORUM,     /* the change would leave no majority among reachable voters */
    FO_MEMBER_IS_LEADER,     /* remove: the server is this leader */
    FO_MEMBER_NOT_MEMBER,    /* remove: the server is not in the Raft configuration */
    FO_MEMBER_ALREADY,       /* add: the server is a voter already */
    FO_MEMBER_ADDRESS_TAKEN, /* add: another server of the configuration has that address */
    FO_MEMBER_LAGGING,       /* add: it did not catch up in time; it stays a standby */
    FO_MEMBER_UNKNOWN,       /* leadership lost or closing during the change */
    FO_MEMBER_FAILED,        /* libraft or its disk refused */
    FO_MEMBER_NOUTCOMES
};
/* "done", "not_leader", "in_flight", ... indexed by the enum. */
extern const char *const fo_member_outcome_names[];

typedef void (*fo_member_cb)(void *data, int outcome);

/* A server of the Raft configuration as this node knows it. */
struct fo_member {
    uint64_t id;
    const char *address; /* borrowed from libraft: valid until the configuration changes */
    int role;            /* RAFT_VOTER, RAFT_STANDBY or RAFT_SPARE */
};

/* The servers of this node's current Raft configuration (committed or not), at most cap
 * of them into out; returns how many there are. 0: none known yet (a new server that no
 * leader has contacted). */
size_t fo_node_members(const struct fo_node *n, struct fo_member *out, size_t cap);

/* id's role in this node's Raft configuration, or -1 when it is not in it. */
int fo_node_member_role(const struct fo_node *n, uint64_t id);

/* "voter", "standby", "spare" ("none" for anything else). */
const char *fo_member_role_name(int role);

/* Add server id at address (Raft's "a.b.c.d:port") as a voter, in the steps above. */
int fo_node_member_add(struct fo_node *n, uint64_t id, const char *address, unsigned catchup_ms,
                       fo_member_cb cb, void *data);

/* Remove server id from the Raft configuration, in the steps above. */
int fo_node_member_remove(struct fo_node *n, uint64_t id, fo_member_cb cb, void *data);

/*
 * This node's standing in its own Raft configuration:
 *   FO_STANDING_WAITING  no configuration at all: a new server (started without --init on
 *                        an empty directory) that no leader has contacted yet;
 *   FO_STANDING_MEMBER   in it (fo_node_member_role says as what);
 *   FO_STANDING_REMOVED  its latest configuration, committed, does not list it: it was
 *                        removed (or its data is a copy of another node's).
 *
 * fo_node_member_removed: this node was a voter earlier in this run and is no longer one:
 * demoted to standby (the first step of members-remove: nothing else demotes a voter) or
 * gone from a committed configuration. The daemon then stops for good (a marker in the
 * Raft directory keeps it from starting again on that data). It says nothing of a node
 * that never voted in this run: a new server may briefly hold a configuration without
 * itself while it catches up (a snapshot taken before it was added).
 */
enum fo_member_standing { FO_STANDING_WAITING = 0, FO_STANDING_MEMBER, FO_STANDING_REMOVED };
int fo_node_member_standing(const struct fo_node *n);
bool fo_node_member_removed(const struct fo_node *n);

/* A change is running on this node. */
bool fo_node_member_changing(const struct fo_node *n);

/* For node.c: advance a change that waits (watch timer), and end one when the node
 * closes (before raft_close, which fails a pending raft request by itself). */
void fo_node_change_tick(struct fo_node *n);
void fo_node_change_abort(struct fo_node *n);

#endif
