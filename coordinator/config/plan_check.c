/*
 * coordinator/config/plan_check.c — see plan_check.h.
 */
#include "coordinator/config/plan_check.h"

#include <string.h>

#include "actions/action.h"

int fo_plan_check(const struct fo_config *cfg, struct fo_error *err)
{
    for (size_t i = 0; i < cfg->plan.nsteps; i++) {
        const struct fo_plan_step *st = &cfg->plan.steps[i];
        const struct fo_action_kind *kind = fo_action_kind_find(st->action);
        if (kind == NULL)
            return fo_error_set(err, 2, "%s:%u: plan.steps[%zu].action: unknown action '%s'",
                                cfg->path, st->line, i, st->action);
        for (size_t j = 0; j < st->nparams; j++) {
            const struct fo_kv *p = &st->params[j];
            if (strcmp(p->key, "event") == 0 && strncmp(st->action, "notify.", 7) == 0) {
                if (strcmp(p->value, "opened") != 0 && strcmp(p->value, "resolved") != 0)
                    return fo_error_set(err, 2,
                                        "%s:%u: plan.steps[%zu].params.event: '%.32s' is not "
                                        "opened or resolved",
                                        cfg->path, st->line, i, p->value);
                continue;
            }
            if (!fo_action_param_known(kind, p->key))
                return fo_error_set(err, 2,
                                    "%s:%u: plan.steps[%zu].params.%s: not a parameter of %s",
                                    cfg->path, st->line, i, p->key, st->action);
        }
    }
    return 0;
}
