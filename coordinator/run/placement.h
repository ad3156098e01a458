/*
 * coordinator/run/placement.h — keep the Raft leader out of the primary site's regions
 * (issue 13: "move Raft leadership out of the primary site's regions when possible so
 * that losing that region needs no election").
 *
 * When the region that holds the primary's Postgres or Redis is lost and the leader was
 * there too, the survivors first need an election (1-2 election timeouts) before they
 * can even commit the verdicts that start the failover: measured, that election was the
 * longest step of a failover. With the leader elsewhere, losing the primary's region
 * costs no election. So a ready leader whose region hosts a component of the decided
 * primary hands leadership (libraft's raft_transfer) to a reachable, caught-up voter in a
 * region that hosts none, when there is one, no operation is in flight, and not more
 * often than FO_PLACEMENT_RETRY_MS. Safety does not depend on it: it only moves who leads.
 * raft.leader_off_primary: false turns it off.
 *
 * Where away: the leader runs the next failover's actions, and over a WAN each action
 * costs round trips from the leader to its target: promoting Postgres is the longest
 * chain (about 12 round trips), Redis a few. So among the regions that host none of the
 * primary's components, the one holding the Postgres of the site a failover would
 * promote (the preferred other site) is best, then one holding another of its
 * components, then any (fo_placement_score). A leader that is away moves only to a
 * strictly better region, so leadership never goes back and forth. Measured over the
 * emulated 70 ms WAN: dr's Postgres took writes about 0.9 s sooner with the leader in
 * its region than with the leader in us-west-2.
 *
 * fo_placement_pick is pure (tests/unit/test_placement.c); fo_placement_tick reads the
 * node and starts the transfer. Loop thread only.
 */
#ifndef FO_COORDINATOR_PLACEMENT_H
#define FO_COORDINATOR_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"

#define FO_PLACEMENT_RETRY_MS 30000 /* between two transfers this node starts */

enum fo_placement_reason {
    FO_PLACEMENT_MOVE = 0,   /* *to is the voter to hand leadership to */
    FO_PLACEMENT_OFF,        /* raft.leader_off_primary is false */
    FO_PLACEMENT_NO_PRIMARY, /* no primary decided yet (or it is not a configured site) */
    FO_PLACEMENT_AWAY,       /* this node's region hosts none of the primary's components */
    FO_PLACEMENT_BUSY,       /* an operation is in flight: do not disturb its leader */
    FO_PLACEMENT_NO_TARGET,  /* no reachable voter outside the primary's regions */
    FO_PLACEMENT_NEARER,     /* away already, but *to is in a better region (see above) */
};

/* How well region suits the leader under primary: -1 it hosts one of the primary's
 * components (the leader must leave), 2 it hosts the Postgres of the site a failover
 * would promote, 1 another of that site's components, 0 none. 0 also without a primary. */
int fo_placement_score(const struct fo_config *cfg, const char *primary, const char *region);

/* What the leader knows of one peer (parallel to cfg->peers). */
struct fo_placement_peer {
    bool reachable; /* heard from recently (fo_node_peer_reachable) */
    bool voter;
    uint64_t match_index;
};

struct fo_placement_input {
    const struct fo_config *cfg;
    const char *primary; /* the FSM's primary site, or NULL */
    bool op_in_flight;
    uint64_t commit_index;                 /* the leader's: a target must have all of it */
    const struct fo_placement_peer *peers; /* cfg->npeers of them */
};

/* Whether (and to whom) this node, the leader, should hand leadership. Among the
 * eligible voters it picks the best region (fo_placement_score), then the most
 * caught-up one, then the lowest id. */
enum fo_placement_reason fo_placement_pick(const struct fo_placement_input *in, uint64_t *to);

struct fo_placement {
    uint64_t next_try_ms; /* loop time */
    int last_reason;      /* logged once per change */
};

/* As the ready leader: pick, and start a transfer when it says so. */
void fo_placement_tick(struct fo_placement *p, struct fo_node *node, const struct fo_config *cfg);

#endif
