/*
 * coordinator/decide/verdict_clock.h — how long each committed verdict has held, on this
 * node's monotonic clock (issue 13, 5).
 *
 * A verdict's since_ms is the observer's wall clock: comparing it with this node's would
 * let a stepped or skewed clock shorten the failover window. The clock records, for each
 * verdict row of the applied state, when THIS node first saw the row with its current
 * status and since_ms. A row seen for the first time (at start-up, on a new leader) starts
 * counting then: a new leader waits a whole failover_after_ms rather than take an
 * observer's word for how long. fo_verdict_clock_since is the decision input's
 * local_since (decide/decision.h).
 *
 * Pure: the caller passes its monotonic now. Ownership: caller-allocated, zeroed to
 * start; fo_verdict_clock_free releases the table. Not thread-safe.
 */
#ifndef FO_COORDINATOR_VERDICT_CLOCK_H
#define FO_COORDINATOR_VERDICT_CLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "proto/state.h"

struct fo_verdict_seen;

struct fo_verdict_clock {
    struct fo_verdict_seen *rows; /* private */
    size_t n;
    uint64_t now_ms; /* the last update's now: what an unseen row gets */
};

/* Take the applied state's rows as of now_ms (monotonic). On out of memory the old table
 * stays and the next update retries. */
void fo_verdict_clock_update(struct fo_verdict_clock *c, const struct fo_state *st,
                             uint64_t now_ms);

/* When this node first saw v as it is now (the last update's now if never). ctx is the
 * struct fo_verdict_clock (the decision input's local_ctx). */
uint64_t fo_verdict_clock_since(const void *ctx, const struct fo_verdict *v);

void fo_verdict_clock_free(struct fo_verdict_clock *c);

#endif
