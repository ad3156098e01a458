/*
 * coordinator/run/plan_params.c — a step's parameters from the plan and the sites; see
 * plan_params.h.
 */
#include "coordinator/run/plan_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/state.h" /* FO_NAME_MAX */

static bool has_key(const struct fo_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return true;
    return false;
}

/* add()'s failure: out is full, or memory is. Distinct from the public codes. */
#define FULL (-3)

/* Append key=value unless the step set key itself. Returns FULL when out is full. */
static int add(struct fo_kv *out, size_t *n, size_t cap, const char *key, const char *value)
{
    if (value == NULL || has_key(out, *n, key))
        return 0;
    if (*n == cap)
        return FULL;
    out[*n].key = strdup(key);
    out[*n].value = strdup(value);
    if (out[*n].key == NULL || out[*n].value == NULL) {
        free(out[*n].key);
        free(out[*n].value);
        return FULL;
    }
    (*n)++;
    return 0;
}

static int add_port(struct fo_kv *out, size_t *n, size_t cap, unsigned port)
{
    char p[8];
    snprintf(p, sizeof(p), "%u", port);
    return add(out, n, cap, "port", p);
}

int fo_plan_params(const struct fo_config *cfg, const struct fo_plan_step *step,
                   const char *site_name, struct fo_kv *out, size_t cap, char *msg, size_t msgcap)
{
    const struct fo_site *site = site_name != NULL ? fo_config_site(cfg, site_name) : NULL;
    size_t n = 0;
    int rc = 0; /* 0, FULL, or an enum fo_plan_params_error */

    for (size_t i = 0; i < step->nparams && rc == 0; i++)
        rc = add(out, &n, cap, step->params[i].key, step->params[i].value);
    if (rc == 0 && site_name != NULL && site == NULL) {
        snprintf(msg, msgcap, "site '%s' is not in this node's configuration", site_name);
        rc = FO_PLAN_PARAMS_INVALID;
    }
    if (rc == 0 && site != NULL && strncmp(step->action, "postgres.", 9) == 0) {
        const struct fo_site_postgres *pg = site->postgres;
        if (pg == NULL) {
            snprintf(msg, msgcap, "site %s has no postgres", site->name);
            rc = FO_PLAN_PARAMS_NO_COMPONENT;
        } else if (add(out, &n, cap, "host", pg->host) != 0 || add_port(out, &n, cap, pg->port) ||
                   add(out, &n, cap, "dbname", pg->dbname) != 0 ||
                   add(out, &n, cap, "user", pg->user) != 0 ||
                   add(out, &n, cap, "password_file", pg->password_file) != 0) {
            rc = FULL;
        }
    } else if (rc == 0 && site != NULL && strncmp(step->action, "redis.", 6) == 0) {
        const struct fo_site_redis *rd = site->redis;
        if (rd == NULL) {
            snprintf(msg, msgcap, "site %s has no redis", site->name);
            rc = FO_PLAN_PARAMS_NO_COMPONENT;
        } else if (add(out, &n, cap, "host", rd->host) != 0 || add_port(out, &n, cap, rd->port) ||
                   add(out, &n, cap, "password_file", rd->password_file) != 0) {
            rc = FULL;
        }
    } else if (rc == 0 && site != NULL && strcmp(step->action, "vercel.env") == 0) {
        for (size_t i = 0; i < site->nvercel_env && rc == 0; i++) {
            const struct fo_env_var *v = &site->vercel_env[i];
            char key[FO_NAME_MAX + 16];
            snprintf(key, sizeof(key), "%s%s", v->value_file != NULL ? "env_file." : "env.",
                     v->name);
            rc = add(out, &n, cap, key, v->value_file != NULL ? v->value_file : v->value);
        }
    } else if (rc == 0 && site != NULL && strcmp(step->action, "cloudflare.dns") == 0) {
        if (site->dns_origin == NULL && !has_key(out, n, "content")) {
            snprintf(msg, msgcap, "site %s has no dns_origin", site->name);
            rc = FO_PLAN_PARAMS_NO_COMPONENT;
        } else {
            rc = add(out, &n, cap, "content", site->dns_origin);
        }
    }
    if (rc == FULL) {
        snprintf(msg, msgcap, "step %s: too many parameters or out of memory", step->name);
        rc = FO_PLAN_PARAMS_INVALID;
    }
    if (rc != 0) {
        for (size_t i = 0; i < n; i++) {
            free(out[i].key);
            free(out[i].value);
        }
        return rc;
    }
    return (int)n;
}

int fo_plan_catch_up_params(const struct fo_config *cfg, const char *action, const char *from_site,
                            struct fo_kv *out, size_t n, size_t cap)
{
    const struct fo_site *site = fo_config_site(cfg, from_site);
    const size_t n0 = n;
    char port[8];

    if (site == NULL)
        return (int)n;
    if (strcmp(action, "postgres.promote") == 0 && site->postgres != NULL) {
        const struct fo_site_postgres *pg = site->postgres;
        snprintf(port, sizeof(port), "%u", (unsigned)pg->port);
        if (add(out, &n, cap, "catch_up_host", pg->host) != 0 ||
            add(out, &n, cap, "catch_up_port", port) != 0 ||
            add(out, &n, cap, "catch_up_dbname", pg->dbname) != 0 ||
            add(out, &n, cap, "catch_up_user", pg->user) != 0 ||
            add(out, &n, cap, "catch_up_password_file", pg->password_file) != 0)
            goto full;
    } else if (strcmp(action, "redis.promote") == 0 && site->redis != NULL) {
        const struct fo_site_redis *rd = site->redis;
        snprintf(port, sizeof(port), "%u", (unsigned)rd->port);
        if (add(out, &n, cap, "catch_up_host", rd->host) != 0 ||
            add(out, &n, cap, "catch_up_port", port) != 0 ||
            add(out, &n, cap, "catch_up_password_file", rd->password_file) != 0)
            goto full;
    }
    return (int)n;
full: /* out keeps what it held; what we added is released */
    for (size_t i = n0; i < n; i++) {
        free(out[i].key);
        free(out[i].value);
    }
    return -1;
}

bool fo_plan_step_required_in_switchover(const char *action)
{
    return action != NULL &&
           (strcmp(action, "postgres.fence") == 0 || strcmp(action, "redis.fence") == 0);
}
