/*
 * consensus/recover.h — after a majority is lost for good: rewrite the Raft configuration
 * of one survivor's log so that it (and the survivors named with it) can elect a leader
 * again (libraft 0.15's raft_recover, reference §5).
 *
 * Both functions work on a stopped node's Raft directory, offline: each runs its own
 * libuv loop, never listens, and returns once libraft has closed. The node must not be
 * running (the caller checks: two processes on one directory corrupt it).
 *
 *   fo_recover_inspect  what the directory holds: its term, the last entry of its log
 *                       and the configuration it ends with; nothing is written
 *   fo_recover_apply    appends a configuration whose voters are exactly `survivors` (the
 *                       node itself among them) after the last entry; raft_recover
 *
 * What can be lost: every entry the old majority committed after this log's last one
 * (this node never received it), and anything only the lost nodes stored. The recovered
 * cluster's state is what this log holds. The lost nodes must never come back with their
 * data: two of them are a majority of the old configuration and would elect a leader of
 * their own; wipe them and add them again as new servers (members.h).
 *
 * Not thread-safe; uses no loop of the caller's.
 */
#ifndef FO_CONSENSUS_RECOVER_H
#define FO_CONSENSUS_RECOVER_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/node.h"
#include "proto/error.h"

#define FO_RECOVER_SERVERS_MAX 16

struct fo_recover_report {
    uint64_t term;           /* the term this node last stored */
    uint64_t last_index;     /* its log's last entry (0: none at all) */
    uint64_t last_term;      /* that entry's term */
    uint64_t snapshot_index; /* its latest snapshot's last index (0: none) */
    uint64_t config_index;   /* where the configuration below was found (0: none) */
    size_t nservers;
    struct {
        uint64_t id;
        int role; /* RAFT_VOTER, RAFT_STANDBY, RAFT_SPARE */
    } servers[FO_RECOVER_SERVERS_MAX];
};

/* Read dir (a node's Raft directory) as node id at address. 0, or an error with err. */
int fo_recover_inspect(const char *dir, uint64_t id, const char *address,
                       struct fo_recover_report *rep, struct fo_error *err);

/* Make survivors (n of them, node id among them) the only voters of dir's log. */
int fo_recover_apply(const char *dir, uint64_t id, const char *address,
                     const struct fo_node_peer *survivors, size_t n, struct fo_error *err);

#endif
