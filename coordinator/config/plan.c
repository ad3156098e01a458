/*
 * coordinator/config/plan.c — see plan.h.
 */
#include "coordinator/config/plan.h"

#include <stdlib.h>
#include <string.h>

void fo_plan_free(struct fo_plan *plan)
{
    for (size_t i = 0; i < plan->nsteps; i++) {
        struct fo_plan_step *st = &plan->steps[i];
        free(st->name);
        free(st->action);
        for (size_t j = 0; j < st->nparams; j++) {
            free(st->params[j].key);
            free(st->params[j].value);
        }
        free(st->params);
    }
    free(plan->steps);
    memset(plan, 0, sizeof(*plan));
}

const struct fo_plan_step *fo_plan_step_find(const struct fo_plan *plan, const char *name)
{
    for (size_t i = 0; name != NULL && i < plan->nsteps; i++)
        if (strcmp(plan->steps[i].name, name) == 0)
            return &plan->steps[i];
    return NULL;
}

/* The names and actions are string literals: the plan is never freed (fo_plan_rejoin). */
static struct fo_plan_step rejoin_steps[] = {
    {.name = (char *)"rejoin-redis",
     .action = (char *)"redis.rejoin",
     .target = FO_TARGET_TO,
     .timeout_ms = 120000,
     .attempts = 3,
     .backoff_ms = 2000,
     .group = 1},
    {.name = (char *)"rejoin-postgres",
     .action = (char *)"postgres.rejoin",
     .target = FO_TARGET_TO,
     .timeout_ms = 900000,
     .attempts = 2,
     .backoff_ms = 5000,
     .group = 1},
};

static const struct fo_plan rejoin_plan = {
    .steps = rejoin_steps,
    .nsteps = sizeof(rejoin_steps) / sizeof(rejoin_steps[0]),
    .rto_target_ms = 7200000,
};

const struct fo_plan *fo_plan_rejoin(void)
{
    return &rejoin_plan;
}
