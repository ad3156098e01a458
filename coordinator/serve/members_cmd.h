/*
 * coordinator/serve/members_cmd.h — the admin verbs on Raft membership (DESIGN §9):
 *
 *   members         every node, from the config's peers and the Raft configuration: its
 *                   Raft role (voter, standby, spare, or none), whether the leader hears
 *                   from it, how far it has applied; a server of the Raft configuration
 *                   that no config line names is listed too (by id)
 *   members-add     node=NAME [raft=ADDR]: NAME's line of this node's config gives its id
 *                   and Raft address (raft, when given, must match it); it joins as a
 *                   voter through consensus/members.h's steps; the answer comes when the
 *                   change has committed, or why it did not
 *   members-remove  node=NAME (or its Raft id, for a server no config line names)
 *
 * The config's peers are the address book; the Raft configuration says who votes
 * (members.h). A change is refused, with the reason, while another is in flight, when it
 * would leave no majority among the voters the leader hears from, and for the leader
 * itself (remove), whose leadership is then handed to another voter to run it again.
 *
 * Loop thread only. Each handler answers its call exactly once.
 */
#ifndef FO_COORDINATOR_MEMBERS_CMD_H
#define FO_COORDINATOR_MEMBERS_CMD_H

#include "coordinator/serve/admin_server.h"
#include "coordinator/serve/context.h"

/* How long a new server may take to catch up before members-add gives up (it stays a
 * standby): at least this, or 10 election timeouts when that is longer. */
#define FO_MEMBERS_CATCHUP_MS 30000u

void fo_members_cmd_list(struct fo_serve *s, struct fo_admin_call *call,
                         const struct fo_admin_req *req);
void fo_members_cmd_add(struct fo_serve *s, struct fo_admin_call *call,
                        const struct fo_admin_req *req);
void fo_members_cmd_remove(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req);

#endif
