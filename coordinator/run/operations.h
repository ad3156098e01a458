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
 * actions of this node's components (config/components.h), renewals sent to peers over
 * the admin port, and lease marks proposed through the leader.
 *
 * Operators: fo_ops_failover (manual, or --dry-run), fo_ops_switchover, fo_ops_drill;
 * each answers through a struct fo_ops_answer, so this module knows no server.
 *
 * Ownership: struct fo_ops is the caller's (the daemon's); it owns the decision's
 * scratch, the lags, the pending proposals' bookkeeping and the fence memory. It borrows
 * the handles (node, config, executor, lease, verdicts, prober, token), which must
 * outlive it. Loop thread only; the fence actions run in the thread pool.
 */
#ifndef FO_COORDINATOR_OPERATIONS_H
#define FO_COORDINATOR_OPERATIONS_H

#include <stdbool.h>

#include <jansson.h>
#include <uv.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"
#include "coordinator/decide/decision.h"
#include "coordinator/decide/verdict_clock.h"
#include "coordinator/detect/probe.h"
#include "coordinator/detect/verdicts.h"
#include "coordinator/run/executor.h"
#include "coordinator/run/lease.h"
#include "coordinator/run/placement.h"
#include "proto/admin.h"

/* What fo_ops uses, borrowed. */
struct fo_ops_handles {
    uv_loop_t *loop;
    struct fo_node *node;
    const struct fo_config *cfg;
    struct fo_executor *executor; /* fo_ops_init makes ops its on_finished and gate */
    struct fo_lease *lease;       /* fo_ops_init wires its hands and initialises it */
    struct fo_verdicts *verdicts; /* the decision waits until this node's view is committed */
    const char *admin_token;      /* for renewals and forwarded lease marks */
    /* Run the decision again after_ms from now (a decision deadline); may be NULL. */
    void (*kick)(void *ctx, uint64_t after_ms);
    void *kick_ctx;
};

/* Where an operator request's answer goes: reply runs exactly once, now or when the
 * op_begin commits; rep (and its strings) live for that call only. */
struct fo_ops_answer {
    void (*reply)(void *data, const struct fo_reply *rep);
    void *data;
};

struct fo_ops {
    struct fo_ops_handles h;
    struct fo_prober *prober; /* fo_ops_start: NULL when this node probes nothing */
    /* private */
    struct fo_decision decision_scratch; /* large: kept here, not on the stack */
    struct fo_site_lag lags[FO_CONFIG_MAX_SITES];
    const char *stale[FO_CONFIG_MAX_PEERS];
    const char *outside[FO_CONFIG_MAX_PEERS];
    bool begin_pending;
    int last_reason; /* the decision reason last logged, so each change is logged once */
    struct fo_node_propose cooldown_req;
    bool cooldown_pending;
    struct fo_verdict_clock seen; /* how long verdicts held, on this node's clock */
    bool fence_held;              /* the last fence of this node's components was confirmed... */
    char fence_held_site[FO_NAME_MAX + 1]; /* ...for this site and epoch */
    uint64_t fence_held_epoch;
    struct fo_placement placement; /* the leader's place (run/placement.h) */
    bool rejoin_checking;          /* a rejoin's checks run (operations_rejoin.c) */
    bool closing;
};

/* Take the handles; make ops the executor's on_finished and gate (executor.data = ops)
 * and the lease's hands (lease.data = ops), then fo_lease_init the lease. */
void fo_ops_init(struct fo_ops *o, const struct fo_ops_handles *h);

/* Start the lease's timer; prober (or NULL) measures the replication lags. */
void fo_ops_start(struct fo_ops *o, struct fo_prober *prober);

/* Shutting down: no more renewals, forwards or grants heard. The lease and the executor
 * are closed by their owner. */
void fo_ops_close(struct fo_ops *o);

/* Once per housekeeping tick, and after an apply. */
void fo_ops_tick(struct fo_ops *o);

/* Fill in for the decision module (lags and stale observers point into o). */
void fo_ops_input(struct fo_ops *o, struct fo_decision_input *in);

/* The decision explained for `status` (a new JSON object). */
json_t *fo_ops_explain(struct fo_ops *o);

/* The peer node believes leads, or NULL. */
const struct fo_peer *fo_ops_leader(const struct fo_node *node, const struct fo_config *cfg);

/* The answer to a leader-only request on a node that is not a ready leader: not_leader
 * with the leader's admin address, or no_quorum. msg (cap bytes) holds the text. */
void fo_ops_not_leader(const struct fo_node *node, const struct fo_config *cfg,
                       struct fo_reply *rep, char *msg, size_t cap);

/* failoverctl failover --to SITE [--force] [--dry-run] [--reason TEXT]. */
void fo_ops_failover(struct fo_ops *o, const struct fo_ops_answer *ans, const char *to, bool force,
                     bool dry_run, const char *reason, const char *by);

/* failoverctl switchover --to SITE [--dry-run] [--reason TEXT]: the planned move
 * (fo_decision_switchover), run by the same plan; the executor makes its fence steps
 * mandatory and its promote steps wait for the target to catch up (executor.h). */
void fo_ops_switchover(struct fo_ops *o, const struct fo_ops_answer *ans, const char *to,
                       bool dry_run, const char *reason, const char *by);

/* failoverctl drill [--to SITE]: the whole plan in check mode. */
void fo_ops_drill(struct fo_ops *o, const struct fo_ops_answer *ans, const char *to,
                  const char *by);

/* failoverctl rejoin SITE [--reason TEXT]: re-seed SITE, a former primary, as a standby of
 * the primary (operations_rejoin.c): refused when SITE is the primary or unknown, while an
 * operation is in flight, and when the rejoin plan's actions in check mode refuse (a
 * server that still takes writes); then an operation of kind rejoin runs the built-in
 * rejoin plan (config/plan.h) within the current epoch. Answers once the checks are back
 * and the op_begin committed (or not). */
void fo_ops_rejoin(struct fo_ops *o, const struct fo_ops_answer *ans, const char *site,
                   const char *reason, const char *by);

#endif
