/*
 * coordinator/config/plan_check.h — is the configured plan runnable? Every step names a known
 * action kind (actions/kinds.h) and only that kind's parameters; "event" (opened or
 * resolved) is allowed on notify.* steps, where it tells which message to send. Required
 * parameters are not checked here: site parameters (host, port, ...) join at run time.
 * Errors name the file and line: a typo must stop the node at start (and
 * `failoverd --check-config`), not the failover at 3 a.m.
 */
#ifndef FO_COORDINATOR_PLAN_CHECK_H
#define FO_COORDINATOR_PLAN_CHECK_H

#include "coordinator/config/config.h"
#include "proto/error.h"

/* 0, or non-zero with err ("node.yaml:57: plan.steps[3].action: unknown action 'x'"). */
int fo_plan_check(const struct fo_config *cfg, struct fo_error *err);

#endif
