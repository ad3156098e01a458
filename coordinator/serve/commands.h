/*
 * coordinator/serve/commands.h — the admin commands a node answers (DESIGN §9, §13). The verbs,
 * the role each needs (read, operate, admin, node) and their arguments are proto/admin.h's
 * fo_admin_verbs, which failoverctl reads too; commands.c maps each verb to its handler.
 * Leader-only commands are redirected by followers.
 *
 *   status       the status document (status.h): the answering node's own view
 *   members      the nodes as the leader sees them (reachable, applied index)
 *   history      finished operations and events, newest first (limit, default 20)
 *   report       one operation's incident report (id, default: in flight, else latest)
 *   pause        maintenance: no automatic failover
 *   resume       automatic failover again
 *   failover     operator failover (or its --dry-run decision and plan)
 *   switchover   planned, no-data-loss move (or its --dry-run)
 *   drill        the plan in check mode
 *   members-add / members-remove   Raft membership changes (serve/members_cmd.h)
 *   propose      node-to-leader forwarding (t=digest | t=verdict | t=lease; role node)
 * history, report and members come from the leader (a follower redirects) unless no
 * leader is known.
 *
 * Loop thread only. A command replies exactly once, now or after a commit.
 */
#ifndef FO_COORDINATOR_COMMANDS_H
#define FO_COORDINATOR_COMMANDS_H

#include <jansson.h>

#include "coordinator/serve/admin_server.h"
#include "coordinator/serve/context.h"

/* The status document (status.h) plus this node's decision, checks and self-fence: what
 * `status` answers and GET /v1/status serves, built in this one place. New reference. */
json_t *fo_commands_status(struct fo_serve *s);

/* Reply ok with a JSON document as the body (it is consumed). */
void fo_commands_reply_json(struct fo_admin_call *call, json_t *doc);

/* A follower's FSM may lag the leader's by a heartbeat: for history, report and members,
 * send the client to the leader when there is one, and answer from our own state only
 * when no leader is known (a partition: then stale data beats none). Returns true when
 * handled (answered not_leader). */
bool fo_commands_redirect_to_leader(struct fo_serve *s, struct fo_admin_call *call);

void fo_commands_dispatch(struct fo_serve *s, struct fo_admin_call *call,
                          const struct fo_admin_req *req, const struct fo_identity *who);

/* Answer a leader-only call on a node that is not a ready leader: not_leader with the
 * leader's admin address, or no_quorum. */
void fo_commands_not_leader(struct fo_serve *s, struct fo_admin_call *call);

/* Propose cmd and answer call when it commits: ok (with ok_message), refused (the FSM's
 * reason), failed (leadership lost: outcome unknown), or not_leader. cmd's strings need
 * only live during this call (it is encoded at once). */
void fo_commands_propose(struct fo_serve *s, struct fo_admin_call *call, const struct fo_cmd *cmd,
                         const char *ok_message);

/* A decimal argument (digits only, no sign or spaces) into *out: 0, or -1 when it is
 * missing, not a number or out of range. */
int fo_commands_parse_u64(const char *s, uint64_t *out);

#endif
