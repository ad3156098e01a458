/*
 * coordinator/serve/status.h — the status document (DESIGN §13): one JSON object that
 * `failoverctl --json status` prints, the admin command `status` returns and
 * `GET /v1/status` will serve, built in one place so every interface agrees.
 *
 *   cluster, node, version (the release), format {cluster (the committed cluster format),
 *   reads_min, reads_max (what this binary reads), halted (null | why this node's FSM
 *   stopped applying, proto/codec.h "Versions")},
 *   leader, leader_admin, term, commit_index, last_applied, primary,
 *   epoch, mode {mode, by, reason, since_ms}, cooldown_until_ms,
 *   nodes [{name, id, region, raft, admin, role, reachable}],
 *   operation (null | {id, kind, from, to, state, epoch, reason, requested_by, force,
 *              detected_ms, started_ms, ended_ms, error,
 *              steps [{name, action, state, outcome, attempts, duration_ms, error,
 *                      leader}]}),
 *   verdicts [{observer, region, status, since_ms, reason}],
 *   config {digest, mismatched [{node, digest}],
 *           policy {auto, quorum, failover_after_ms, max_lag_bytes, max_lag_ms, cooldown_ms}},
 *   warnings [text...]
 *
 * It is the answering node's view: roles and reachability of other nodes are known
 * only to the leader (a follower reports them as "unknown" / null).
 *
 * Ownership: the returned json_t is a new reference owned by the caller (json_decref).
 */
#ifndef FO_COORDINATOR_STATUS_H
#define FO_COORDINATOR_STATUS_H

#include <jansson.h>

#include "coordinator/run/lease.h"

#include "consensus/node.h"
#include "coordinator/config/config.h"

json_t *fo_status_build(const struct fo_config *cfg, const struct fo_node *node);

/* One operation as JSON (shared with history and report). New reference. */
json_t *fo_status_operation(const struct fo_operation *op);

/* This node's write lease (run/lease.h) for `status`: guarding, site, epoch,
 * valid_ms_left (now: the lease's monotonic clock), fenced, cause, counters. */
json_t *fo_status_lease(const struct fo_lease *l, uint64_t now);

#endif
