/*
 * actions/notify.h — the incident messages of the notify.* kinds (DESIGN §6, §7), built
 * in one place so Slack, PagerDuty and Statuspage tell the same story.
 *
 * The messages follow the runbooks' communication templates: what happened, the
 * impact, the status and when the next update comes (incident opened); the resolution
 * and the measured timeline (resolved). Two audiences:
 *   - the team (Slack, PagerDuty): sites, operation id, kind, epoch, reason, timeline;
 *   - the public (Statuspage): the runbook's customer wording, no internal names. Its
 *     title carries "(ref <op id>)" so a later run finds the incident again.
 *
 * Inputs come from the request: event ("opened" / "resolved"), op_id, op_kind, from,
 * to, reason, epoch, timeline (may be NULL). Missing strings read "unknown".
 */
#ifndef FO_ACTIONS_NOTIFY_H
#define FO_ACTIONS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "actions/action.h"

enum fo_notify_audience { FO_NOTIFY_TEAM, FO_NOTIFY_PUBLIC };

/* Title (one line) and body of req's message for audience into the caller's buffers
 * (always NUL-terminated; a long timeline is cut with "..."). Returns 0, or -1 when
 * req->event is not "opened" or "resolved" (title names the problem then). */
int fo_notify_message(const struct fo_action_req *req, enum fo_notify_audience audience,
                      char *title, size_t tcap, char *body, size_t bcap);

/* The text that identifies the operation in a public title: "(ref <op id>)". */
void fo_notify_ref(const struct fo_action_req *req, char *out, size_t cap);

#endif
