/*
 * actions/registry.c — every action kind, and fo_action_run (see action.h).
 */
#include <stdio.h>
#include <string.h>

#include "actions/action.h"
#include "actions/kinds.h"

static const struct fo_action_kind *const kinds[] = {
    &fo_action_postgres_promote,
    &fo_action_postgres_fence,
    &fo_action_postgres_unfence,
    &fo_action_postgres_rejoin,
    &fo_action_redis_promote,
    &fo_action_redis_fence,
    &fo_action_redis_unfence,
    &fo_action_redis_rejoin,
    &fo_action_vercel_env,
    &fo_action_vercel_redeploy,
    &fo_action_cloudflare_dns,
    &fo_action_cloudflare_pool,
    &fo_action_http,
    &fo_action_notify_slack,
    &fo_action_notify_pagerduty,
    &fo_action_notify_statuspage,
    NULL,
};

const struct fo_action_kind *const *fo_action_kinds(void)
{
    return kinds;
}

const struct fo_action_kind *fo_action_kind_find(const char *name)
{
    for (size_t i = 0; name != NULL && kinds[i] != NULL; i++)
        if (strcmp(kinds[i]->name, name) == 0)
            return kinds[i];
    return NULL;
}

void fo_action_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const struct fo_action_kind *kind = fo_action_kind_find(req->kind);
    char msg[256];

    memset(res, 0, sizeof(*res));
    if (kind == NULL) {
        fo_action_set(res, FO_ACTION_REFUSED, "unknown action kind '%s'",
                      req->kind != NULL ? req->kind : "");
        return;
    }
    if (fo_action_params_check(kind, req->params, req->nparams, msg, sizeof(msg)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "%s", msg);
        return;
    }
    if (fo_action_cancelled(req)) {
        fo_action_set(res, FO_ACTION_FAILED, "cancelled before it started");
        return;
    }
    if (fo_action_remaining_ms(req) == 0) {
        fo_action_set(res, FO_ACTION_FAILED, "deadline passed before it started");
        return;
    }
    kind->run(req, res);
}
