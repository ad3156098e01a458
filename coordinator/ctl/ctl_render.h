/*
 * coordinator/ctl/ctl_render.h — failoverctl's output (DESIGN §9): the JSON body of an admin
 * reply in, text for people or scripts out. bgpctl's shape: the CLI sends a request,
 * gets one reply, and hands its body to one of these renderers: the tables for people
 * (output_table.c, one renderer per verb) or JSON for scripts (output_json.c).
 *
 * Pure: the only I/O is writing to the FILE the caller passes; no clock is read (times
 * are printed as absolute UTC, "2026-11-23T19:03:58Z" (ISO 8601), or relative to the caller's
 * now_ms, "35s ago"); nothing is kept between calls. Any thread, one call at a time per
 * FILE. That is what lets tests/unit/test_ctl_render.c compare every table byte for byte
 * with the goldens in tests/golden/cli/.
 *
 * The bodies are the daemon's (coordinator/serve/commands.c, operations.c, status.c); a key
 * that is missing or of another type is shown as "-" (or left out), never trusted to be
 * there: failoverctl may talk to a node of another version.
 */
#ifndef FO_COORDINATOR_CTL_RENDER_H
#define FO_COORDINATOR_CTL_RENDER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "proto/error.h"

/* Error codes in struct fo_error.code. */
enum {
    FO_CTL_RENDER_EVERB = 1, /* no table for this verb */
    FO_CTL_RENDER_EBODY = 2, /* the body is not a JSON object */
    FO_CTL_RENDER_ENOMEM = 3,
    FO_CTL_RENDER_EIO = 4, /* writing to out failed */
};

/*
 * Whether verb's reply body has a table (the verb table, verbs.h, names each verb's
 * renderer): status, history, report, members, and the dry-run bodies of failover and
 * switchover (verb "failover" or "switchover"; the body's own "kind" wins when present).
 * Other replies carry only a message, which failoverctl prints as is.
 */
bool fo_ctl_render_has_table(const char *verb);

/*
 * Write body, the reply to the admin command verb, as the table people read. now_ms is
 * the caller's wall clock in Unix milliseconds, used only for "ago"/"in" annotations.
 * Every line ends with '\n' and has no trailing blanks. Returns 0, or -1 with err (may
 * be NULL) filled: FO_CTL_RENDER_EVERB, _EBODY, _ENOMEM or _EIO; out may then hold part
 * of the table. body stays the caller's.
 */
int fo_ctl_render_table(FILE *out, const char *verb, const json_t *body, uint64_t now_ms,
                        struct fo_error *err);

/*
 * --json: body as a JSON document for scripts: the node's keys in the node's order,
 * indented by two spaces, reals with at most 10 significant digits, non-ASCII as UTF-8,
 * then '\n'. Any JSON value is accepted. Returns 0, or -1 with err (_ENOMEM, _EIO).
 */
int fo_ctl_render_json(FILE *out, const json_t *body, struct fo_error *err);

/*
 * A reply without a body (pause, resume, failover, switchover, drill): its message as is
 * (or "ok" when message is NULL) and '\n'; with json, the object {"result": "ok",
 * "message": message or null} as fo_ctl_render_json prints it. Returns 0, or -1 with err.
 */
int fo_ctl_render_message(FILE *out, const char *message, bool json, struct fo_error *err);

#endif
