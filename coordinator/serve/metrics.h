/*
 * coordinator/serve/metrics.h — the node's metrics page in Prometheus text format 0.0.4
 * (DESIGN §9), served by the HTTP API as GET /metrics.
 *
 * What is on it: Raft (term, role, commit and applied index, leader changes, majority
 * contact), the replicated state (epoch, primary, mode, verdicts, the finished operations
 * and a histogram of their steps' durations), the replication lag of each standby site
 * against the RPO gate, this node's write lease and fence, and this node's counters (feed
 * reports, admin and HTTP requests, executor attempts, probe results). Every _total is a
 * counter that never goes down while the process runs. Metric names and label sets are a contract
 * with dashboards and alert rules: tests/integration/test_http_api.py reads the page with the
 * Prometheus client's parser.
 *
 * Reads the daemon's state directly, so: loop thread only. Allocates the page; the caller
 * owns it.
 */
#ifndef FO_COORDINATOR_METRICS_H
#define FO_COORDINATOR_METRICS_H

#include <stddef.h>

#include "proto/state.h"

struct fo_serve;

/*
 * failoverd_operations_total, a real counter: the FSM keeps only the latest
 * FO_MAX_HISTORY finished operations, so counting the history would go down when old
 * ones drop out. The counter instead remembers the ids it counted (those still in the
 * history) and, at each fold, counts every finished operation it has not seen: it only
 * ever grows, for as long as the process runs (Prometheus handles the reset at a
 * restart; the first fold counts the history the node starts with). It misses operations
 * only when more than FO_MAX_HISTORY finish between two folds (two scrapes).
 */
#define FO_OP_KINDS   FO_OP_KIND_COUNT /* enum fo_op_kind */
#define FO_OP_RESULTS 4                /* enum fo_op_result */

struct fo_op_counter {
    unsigned long long total[FO_OP_KINDS][FO_OP_RESULTS];
    char seen[FO_MAX_HISTORY][FO_NAME_MAX + 1];
    size_t nseen;
};

/* Count the finished operations of st->history not counted yet. */
void fo_op_counter_fold(struct fo_op_counter *c, const struct fo_state *st);

/* The page for d: malloc'd text of *len bytes (not NUL-terminated), or NULL when out of
 * memory. */
char *fo_metrics_render(struct fo_serve *s, size_t *len);

#endif
