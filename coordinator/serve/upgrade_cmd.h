/*
 * coordinator/serve/upgrade_cmd.h — the admin verbs of a rolling upgrade (proto/codec.h
 * "Versions"; the README's "Upgrading"):
 *
 *   version         node to node (role node): what this binary is and reads, as JSON
 *                   {"version": "0.2.0", "reads_min": 1, "reads_max": 4, "cluster": 3}
 *                   ("cluster": the committed cluster format this node applied)
 *   upgrade-finish  admin, leader only: raise the cluster format to the newest this
 *                   leader's binary reads, once EVERY server of the Raft configuration
 *                   (voters, standbys and spares: all of them apply the log) has said
 *                   over its admin port, asked with this node's credential, that it reads
 *                   that format. A server that does not answer, answers an error (a
 *                   failoverd 0.1.0 does not know `version`: bad_request) or reads less
 *                   blocks it: the answer names each one and why. Then one "format"
 *                   command is proposed; the reply comes once it has committed. Already
 *                   at that format: ok, nothing proposed.
 *
 * The check is a promise about the nodes at the time it was made: a server added later
 * with an older binary halts on the first entry it cannot read (consensus/fsm.h), loudly,
 * and never diverges.
 *
 * Loop thread only. Each handler answers its call exactly once.
 */
#ifndef FO_COORDINATOR_UPGRADE_CMD_H
#define FO_COORDINATOR_UPGRADE_CMD_H

#include "coordinator/serve/admin_server.h"
#include "coordinator/serve/context.h"

/* How long one node may take to answer `version`. */
#define FO_UPGRADE_ASK_MS 5000u

void fo_upgrade_cmd_version(struct fo_serve *s, struct fo_admin_call *call,
                            const struct fo_admin_req *req);
void fo_upgrade_cmd_finish(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req);

#endif
