/*
 * coordinator/run/operations_internal.h — private to the operations module: the write
 * lease's hands (operations_lease.c) that fo_ops_init (operations.c) wires into the
 * lease (on_fence, propose, send: run/lease.h) and the executor (gate: run/executor.h).
 * Not for any other file: operations.h is the contract.
 *
 * Each takes the struct fo_ops through the handle's data (lease.data, executor.data =
 * the ops). Loop thread only, like the rest of the module.
 */
#ifndef FO_COORDINATOR_OPERATIONS_INTERNAL_H
#define FO_COORDINATOR_OPERATIONS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/run/operations.h"

/* Commit dec as one op_begin of kind (the commit point); the answer (ans, or NULL for an
 * automatic failover) follows when it commits. 0 when proposed; -1 when another begin is
 * pending or the proposal could not be made (nothing was answered then). */
/* Answer an operator's request with a message (a printf format): operations.c and
 * operations_rejoin.c. */
void ops_answerf(const struct fo_ops_answer *ans, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int ops_begin(struct fo_ops *d, const struct fo_decision *dec, int kind, const char *id,
              const char *reason, const char *by, const struct fo_ops_answer *ans);

/* lease.h on_fence: fence (or lift the fence of) the site's components in this node's
 * region, as thread-pool actions; the lease hears once all have returned. */
void ops_lease_fence(struct fo_lease *l, const char *site_name, uint64_t epoch, bool fence);

/* lease.h send: a renewal to one peer over its admin port. */
void ops_lease_send(struct fo_lease *l, const struct fo_peer *peer, const char *site,
                    uint64_t epoch, uint64_t round);

/* lease.h propose: commit a lease mark, through the leader when this node is not it. */
void ops_lease_propose(struct fo_lease *l, const struct fo_cmd *cmd);

/* executor.h gate: whether a step may run now (a promote waits for the old primary's
 * leases of the epoch before to end); else why (cap bytes). */
bool ops_lease_gate(struct fo_executor *ex, const struct fo_operation *op, const struct fo_step *st,
                    char *why, size_t cap);

#endif
