/*
 * coordinator/serve/commands.h — the admin commands a node answers (DESIGN §9, §13), one table
 * in commands.c. Each command is read-only (the read token may run it) or needs the
 * admin token; leader-only commands are redirected by followers.
 *
 *   status [read]            the status document (status.h)
 *   history [read]           finished operations, newest first; arg limit (default 20)
 *   report [read]            one operation's incident report; arg id (default: latest)
 * status is the answering node's own view; history, report and members come from the leader
 * (a follower redirects) unless no leader is known.
 *   pause [admin]            maintenance: no automatic failover; args by, reason
 *   resume [admin]           automatic failover again; arg by
 *   failover [admin]         operator failover: args to, force, dry_run, reason, by
 *   drill [admin]            the plan in check mode: args to, by
 *   members [read]           the nodes as the leader sees them (reachable, applied index)
 *   switchover [admin]       planned, no-data-loss move: args to, dry_run, reason, by
 *   propose [admin]          node-to-leader forwarding (t=digest | t=verdict)
 *
 * Loop thread only. A command replies exactly once, now or after a commit.
 */
#ifndef FO_COORDINATOR_COMMANDS_H
#define FO_COORDINATOR_COMMANDS_H

#include <jansson.h>

#include "coordinator/serve/admin_server.h"
#include "coordinator/daemon.h"

/* The status document (status.h) plus this node's decision, checks and self-fence: what
 * `status` answers and GET /v1/status serves, built in this one place. New reference. */
json_t *fo_commands_status(struct fo_daemon *d);

void fo_commands_dispatch(struct fo_daemon *d, struct fo_admin_call *call,
                          const struct fo_admin_req *req, enum fo_admin_access access);

#endif
