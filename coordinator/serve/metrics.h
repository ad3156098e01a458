/*
 * coordinator/serve/metrics.h — the node's metrics page in Prometheus text format 0.0.4
 * (DESIGN §9), served by the HTTP API as GET /metrics.
 *
 * What is on it: Raft (term, role, commit and applied index), the replicated state (epoch,
 * primary, mode, verdicts, the finished operations and a histogram of their steps' durations)
 * and this node's counters (feed reports, admin and HTTP requests, executor attempts, probe
 * results). Metric names and label sets are a contract with dashboards and alert rules:
 * tests/integration/test_http_api.py reads the page with the Prometheus client's parser.
 *
 * Reads the daemon's state directly, so: loop thread only. Allocates the page; the caller
 * owns it.
 */
#ifndef FO_COORDINATOR_METRICS_H
#define FO_COORDINATOR_METRICS_H

#include <stddef.h>

struct fo_serve;

/* The page for d: malloc'd text of *len bytes (not NUL-terminated), or NULL when out of
 * memory. */
char *fo_metrics_render(struct fo_serve *s, size_t *len);

#endif
