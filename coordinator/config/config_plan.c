/*
 * coordinator/config/config_plan.c — the `plan:` section (DESIGN §6): the failover steps the
 * leader runs after an operation commits. Private to the config loader (see
 * config_internal.h); the plan is config.h's fo_config.plan (plan.h).
 *
 *   plan:
 *     rto_target_ms: 7200000            # the runbook's 2 h; reports compare against it
 *     steps:
 *       - name: promote-postgres        # unique, [A-Za-z0-9._-]{1,64}
 *         action: postgres.promote      # an action kind (checked at daemon start)
 *         target: to                    # none (default) | from | to: whose site params merge
 *         timeout_ms: 90000             # per attempt, default 60000
 *         attempts: 3                   # default 3
 *         backoff_ms: 2000              # before attempt 2, doubling; default 2000
 *         on_failure: abort             # abort (default) | continue
 *         group: 0                      # consecutive steps with one non-zero group run together
 *         params: {max_lag_bytes: "16777216"}   # strings; secrets by *_file
 *
 * Without `plan:`, the default plan is the runbook's data-plane part, which needs no
 * credentials: fence the old primary's Postgres and Redis (best effort), promote the target's
 * Postgres, promote its Redis. SaaS steps (Vercel, Cloudflare, notifications) need
 * tokens, so they are written out explicitly (deploy/examples/).
 *
 * Replicated (in the digest): rto_target_ms and each step's name, action, target,
 * attempts, on_failure and group — every node must run the same journal. Local:
 * timeouts, backoff and params (params name local files and endpoints).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/config/config_internal.h"
#include "coordinator/config/config_schema.h"
#include "proto/state.h" /* FO_MAX_STEPS */

#define PLAN_MAX_PARAMS 32

static int parse_params(struct loader *ld, const yaml_node_t *m, const char *path,
                        struct fo_plan_step *st)
{
    char p[PATH_LEN];
    size_t n;

    if (cfg_expect(ld, m, path, YAML_MAPPING_NODE) != 0)
        return ld->code;
    n = cfg_map_size(m);
    if (n > PLAN_MAX_PARAMS)
        return cfg_fail(ld, m, path, "at most %d parameters", PLAN_MAX_PARAMS);
    st->params = calloc(n + 1, sizeof(*st->params));
    if (st->params == NULL)
        return cfg_no_memory(ld);
    for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
        yaml_node_t *k = cfg_node_at(ld, pr->key), *v = cfg_node_at(ld, pr->value);
        const char *key;
        struct fo_kv *kv = &st->params[st->nparams];
        if (cfg_check_key(ld, k, path) != 0)
            return ld->code;
        key = (const char *)k->data.scalar.value;
        cfg_join(p, path, key);
        for (size_t j = 0; j < st->nparams; j++)
            if (strcmp(st->params[j].key, key) == 0)
                return cfg_fail(ld, k, p, "duplicate parameter");
        if (strlen(key) > 96 || strspn(key, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789._-") != strlen(key))
            return cfg_fail(ld, k, p, "a parameter name is [A-Za-z0-9._-]{1,96}");
        kv->key = strdup(key);
        st->nparams++;
        if (kv->key == NULL)
            return cfg_no_memory(ld);
        if (cfg_get_string(ld, v, p, FO_CONFIG_STRING_MAX, &kv->value) != 0)
            return ld->code;
    }
    return 0;
}

static const struct cfg_enum targets[] = {
    {"none", FO_TARGET_NONE}, {"from", FO_TARGET_FROM}, {"to", FO_TARGET_TO}, {NULL, 0}};
static const struct cfg_enum on_failure[] = {{"abort", false}, {"continue", true}, {NULL, 0}};

#define STEP_AT(f) CFG_AT(struct fo_plan_step, f)
static const struct cfg_key step_keys[] = {
    {"name", CFG_NAME, true, STEP_AT(name)},
    {"action", CFG_STRING, true, STEP_AT(action), .max = 64},
    {"target", CFG_ENUM, false, STEP_AT(target), .names = targets,
     .why = "is not none, from or to"},
    {"timeout_ms", CFG_UINT, false, STEP_AT(timeout_ms), .min = 100, .max = 86400000,
     .dflt = 60000},
    {"attempts", CFG_UINT, false, STEP_AT(attempts), .min = 1, .max = 100, .dflt = 3},
    {"backoff_ms", CFG_UINT, false, STEP_AT(backoff_ms), .max = 3600000, .dflt = 2000},
    {"on_failure", CFG_ENUM, false, STEP_AT(continue_on_failure), .names = on_failure,
     .why = "is not abort or continue"},
    {"group", CFG_UINT, false, STEP_AT(group), .max = 1000},
    {"params", CFG_NODE, false},
};
#define STEP_PARAMS (NFIELDS(step_keys) - 1)

static int parse_step(struct loader *ld, const yaml_node_t *n, const char *path,
                      struct fo_plan_step *st)
{
    const yaml_node_t *at[NFIELDS(step_keys)];
    char p[PATH_LEN];

    if (cfg_read_map(ld, n, path, step_keys, NFIELDS(step_keys), st, at) != 0 ||
        (at[STEP_PARAMS] != NULL &&
         parse_params(ld, at[STEP_PARAMS], cfg_join(p, path, "params"), st) != 0))
        return ld->code;
    st->line = (uint32_t)cfg_line_of(n);
    return 0;
}

/* The runbook's data-plane steps, which need no credentials (see the header). */
static int default_plan(struct loader *ld)
{
    static const struct {
        const char *name, *action;
        int target;
        uint32_t timeout_ms;
        bool cont;
    } steps[] = {
        {"fence-old-postgres", "postgres.fence", FO_TARGET_FROM, 15000, true},
        {"fence-old-redis", "redis.fence", FO_TARGET_FROM, 15000, true},
        {"promote-postgres", "postgres.promote", FO_TARGET_TO, 90000, false},
        {"promote-redis", "redis.promote", FO_TARGET_TO, 30000, false},
    };
    struct fo_plan *plan = &ld->cfg->plan;

    plan->steps = calloc(NFIELDS(steps), sizeof(*plan->steps));
    if (plan->steps == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < NFIELDS(steps); i++) {
        struct fo_plan_step *st = &plan->steps[plan->nsteps++];
        if (cfg_read_map(ld, NULL, "", step_keys, NFIELDS(step_keys), st, NULL) != 0)
            return ld->code; /* a written step's defaults (attempts, backoff) */
        st->name = strdup(steps[i].name);
        st->action = strdup(steps[i].action);
        if (st->name == NULL || st->action == NULL)
            return cfg_no_memory(ld);
        st->target = steps[i].target;
        st->timeout_ms = steps[i].timeout_ms;
        st->continue_on_failure = steps[i].cont;
    }
    return 0;
}

enum { PLAN_RTO, PLAN_STEPS, PLAN_NKEYS };

static const struct cfg_key plan_keys[PLAN_NKEYS] = {
    [PLAN_RTO] = {"rto_target_ms", CFG_UINT, false, CFG_AT(struct fo_plan, rto_target_ms),
                  .min = 1000, .max = 30ull * 24 * 3600 * 1000, .dflt = 2u * 60u * 60u * 1000u},
    [PLAN_STEPS] = {"steps", CFG_NODE, true},
};

int cfg_parse_plan(struct loader *ld, const yaml_node_t *n)
{
    struct fo_plan *plan = &ld->cfg->plan;
    const yaml_node_t *at[PLAN_NKEYS], *steps;
    char p[PATH_LEN];
    size_t count;

    if (cfg_read_map(ld, n, "plan", plan_keys, PLAN_NKEYS, plan, at) != 0)
        return ld->code;
    if (n == NULL)
        return default_plan(ld);
    steps = at[PLAN_STEPS];
    if (cfg_expect(ld, steps, "plan.steps", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(steps);
    if (count == 0 || count > FO_MAX_STEPS)
        return cfg_fail(ld, steps, "plan.steps", "1 to %d steps", FO_MAX_STEPS);
    if ((plan->steps = cfg_calloc(ld, count, sizeof(*plan->steps))) == NULL)
        return ld->code;
    for (yaml_node_item_t *it = steps->data.sequence.items.start;
         it < steps->data.sequence.items.top; it++) {
        struct fo_plan_step *st = &plan->steps[plan->nsteps++];
        cfg_join_index(p, "plan.steps", plan->nsteps - 1);
        if (parse_step(ld, cfg_node_at(ld, *it), p, st) != 0)
            return ld->code;
        for (size_t j = 0; j + 1 < plan->nsteps; j++)
            if (strcmp(plan->steps[j].name, st->name) == 0)
                return cfg_fail(ld, cfg_node_at(ld, *it), p, "step name '%s' is used twice",
                                st->name);
    }
    return 0;
}

void cfg_put_plan(struct hasher *h, const struct fo_config *cfg)
{
    const struct fo_plan *plan = &cfg->plan;

    cfg_put_str(h, "plan");
    cfg_put_u64(h, plan->rto_target_ms);
    cfg_put_u64(h, plan->nsteps);
    for (size_t i = 0; i < plan->nsteps; i++) {
        const struct fo_plan_step *st = &plan->steps[i];
        cfg_put_str(h, st->name);
        cfg_put_str(h, st->action);
        cfg_put_u64(h, (uint64_t)st->target);
        cfg_put_u64(h, st->attempts);
        cfg_put_u64(h, st->continue_on_failure);
        cfg_put_u64(h, st->group);
    }
}
