/*
 * coordinator/ctl/output.h — failoverctl's table renderers, one per verb that has a table
 * (bgpctl's output.c): each writes the reply body of its verb to out for people. The
 * verb table (verbs.h) names which renderer a verb has; ctl_render.h is the entry point
 * callers use. Internal to fo_ctl_render.
 *
 * All share one signature: verb is the command the body answers (the dry-run renderer
 * prints it when the body has no "kind"); now_ms is the caller's wall clock in Unix ms,
 * for "ago"/"in" annotations (renderers of records ignore it). body is a JSON object,
 * any of whose keys may be missing or of another type ("-" or "?" is shown then).
 * Returns 0, or -1 when out of memory (out may then hold part of the table). Pure: no
 * clock, no state; any thread.
 */
#ifndef FO_COORDINATOR_CTL_OUTPUT_H
#define FO_COORDINATOR_CTL_OUTPUT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

typedef int (*fo_output_fn)(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);

/* status: the cluster, nodes, decision, operation in flight, checks, verdicts. */
int fo_output_status(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);
/* history: finished operations, then events. */
int fo_output_history(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);
/* report: one operation's steps, timeline, RTO and data-loss estimate. */
int fo_output_report(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);
/* members: the Raft members as the leader sees them. */
int fo_output_members(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);
/* failover/switchover --dry-run: the decision and the plan. */
int fo_output_dry_run(FILE *out, const char *verb, const json_t *body, uint64_t now_ms);

#endif
