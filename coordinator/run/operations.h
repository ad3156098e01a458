/*
 * coordinator/run/operations.h — what a node starts by itself, and the operator's
 * operations (DESIGN §5, §6): deciding, beginning an operation, cooldown, self-fence.
 *
 * Leader (ready, barrier done), every tick:
 *   - no operation in flight: evaluate fo_decision_auto() on the replicated state, the
 *     replication lags the probes measured, and the peers it no longer hears from
 *     (their verdicts are frozen: shown, never counted); a FAILOVER becomes one
 *     op_begin entry (epoch + 1, primary := target): the commit point. The FSM
 *     rejects a stale epoch, so at most one operation begins per epoch;
 *   - an operation just ended (executor on_finished): commit a cooldown, so no
 *     automatic failover follows for decision.cooldown_ms.
 *
 * Every node: the write lease's hands (run/lease.h decides): the fence and unfence
 * actions of this node's components, renewals sent to peers over the admin port, and
 * lease marks proposed through the leader.
 *
 * Operators: fo_ops_failover (manual, or --dry-run), fo_ops_switchover, fo_ops_drill.
 * Loop thread only; the fence actions run in the thread pool.
 */
#ifndef FO_COORDINATOR_OPERATIONS_H
#define FO_COORDINATOR_OPERATIONS_H

#include <jansson.h>

#include "coordinator/daemon.h"
#include "coordinator/decide/decision.h"

/* Wire the write lease (d->lease, run/lease.h) to this node's fence actions, its
 * renewals (the admin verb "lease") and proposals through the leader. */
void fo_ops_lease_init(struct fo_daemon *d);

/* The lease timing the config asks for (decision.lease_*). */
struct fo_lease_params fo_ops_lease_params(const struct fo_config *cfg);

/* This node's write lease for `status`: guarding, valid_ms_left, fenced, cause, counters. */
json_t *fo_ops_lease_json(struct fo_daemon *d);

/* Once per housekeeping tick. */
void fo_ops_tick(struct fo_daemon *d);

/* The executor's on_finished: commit the cooldown after a failover or switchover. */
void fo_ops_finished(struct fo_executor *ex, const struct fo_operation *op);

/* Fill in for the decision module (lags and stale observers point into d). */
void fo_ops_input(struct fo_daemon *d, struct fo_decision_input *in);

/* The decision explained for `status` (a new JSON object). */
json_t *fo_ops_explain(struct fo_daemon *d);

/* failoverctl failover --to SITE [--force] [--dry-run] [--reason TEXT]: answers call. */
void fo_ops_failover(struct fo_daemon *d, struct fo_admin_call *call, const char *to, bool force,
                     bool dry_run, const char *reason, const char *by);

/* failoverctl switchover --to SITE [--dry-run] [--reason TEXT]: the planned move
 * (fo_decision_switchover), run by the same plan; the executor makes its fence steps
 * mandatory and its promote steps wait for the target to catch up (executor.h). */
void fo_ops_switchover(struct fo_daemon *d, struct fo_admin_call *call, const char *to,
                       bool dry_run, const char *reason, const char *by);

/* failoverctl drill [--to SITE]: the whole plan in check mode; answers call. */
void fo_ops_drill(struct fo_daemon *d, struct fo_admin_call *call, const char *to, const char *by);

#endif
