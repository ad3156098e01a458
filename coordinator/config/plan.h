/*
 * coordinator/config/plan.h — a failover plan: the ordered steps the leader runs after an
 * operation is committed (DESIGN §6). The configuration holds one plan; its steps are
 * fixed into the operation's journal at the commit point (names and action kinds), and
 * the executor (executor.h) runs them.
 *
 * Ownership: a plan owns its steps and every string in them; fo_plan_free releases all.
 */
#ifndef FO_COORDINATOR_PLAN_H
#define FO_COORDINATOR_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h" /* struct fo_kv */

/* Whose resources a step acts on; their connection parameters are merged into the
 * step's own (see fo_plan_params in run/plan_params.h). */
enum fo_plan_target {
    FO_TARGET_NONE = 0, /* only the step's own parameters */
    FO_TARGET_FROM,     /* the site that was primary (fence it) */
    FO_TARGET_TO,       /* the site becoming primary (promote it, point at it) */
};

struct fo_plan_step {
    char *name;               /* unique in the plan, e.g. "promote-postgres" */
    char *action;             /* an action kind (actions/action.h), e.g. "postgres.promote" */
    int target;               /* enum fo_plan_target */
    uint32_t timeout_ms;      /* per attempt */
    uint32_t attempts;        /* at least 1 */
    uint32_t backoff_ms;      /* before attempt 2; doubles each time (Retry-After wins) */
    bool continue_on_failure; /* on_failure: continue (else abort the operation) */
    uint32_t group;           /* consecutive steps with the same non-zero group run together */
    struct fo_kv *params;     /* the step's own parameters */
    size_t nparams;
    uint32_t line; /* where the config file defines it (0: built in), for errors */
};

struct fo_plan {
    struct fo_plan_step *steps;
    size_t nsteps;
    uint64_t rto_target_ms; /* the runbook's target, reported against (default 2 h) */
};

void fo_plan_free(struct fo_plan *plan);

/* The step called name, or NULL. */
const struct fo_plan_step *fo_plan_step_find(const struct fo_plan *plan, const char *name);

/*
 * The plan of a rejoin (failoverctl rejoin SITE; DESIGN §6): built in, not configured,
 * since what it does is fixed — re-seed SITE's Redis and Postgres as replicas of the
 * primary's, side by side (one group):
 *   rejoin-redis     redis.rejoin     target to   120 s per attempt, 3 attempts
 *   rejoin-postgres  postgres.rejoin  target to   15 min per attempt (a base backup of a
 *                                                 large database takes long), 2 attempts
 * Both abort the operation when they fail. The executor runs it for operations of kind
 * rejoin instead of the configured plan. Constant data; any thread.
 */
const struct fo_plan *fo_plan_rejoin(void);

#endif
