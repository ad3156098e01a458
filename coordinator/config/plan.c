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
