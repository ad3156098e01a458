/*
 * coordinator/run/plan_params.c — a step's parameters from the plan and the sites; see
 * plan_params.h.
 */
#include "coordinator/run/plan_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/config/components.h"
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

/* A component's connection parameters (host, port, dbname, user, password_file: those
 * its kind has), each key prefixed with prefix ("" or "catch_up_"). */
static int add_endpoint(struct fo_kv *out, size_t *n, size_t cap, const char *prefix,
                        const struct fo_component_ref *c)
{
    const struct {
        const char *key, *value;
    } fields[] = {{"host", c->host},
                  {"port", NULL},
                  {"dbname", c->dbname},
                  {"user", c->user},
                  {"password_file", c->password_file}};
    char port[8], key[32];

    static const char *const ssl_keys[FO_PG_NSSL] = FO_PG_SSL_KEYWORDS;

    snprintf(port, sizeof(port), "%u", (unsigned)c->port);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        snprintf(key, sizeof(key), "%s%s", prefix, fields[i].key);
        if (add(out, n, cap, key, i == 1 ? port : fields[i].value) != 0)
            return FULL;
    }
    /* Postgres' TLS settings, under libpq's own names (actions/pg_ssl.h). */
    for (size_t i = 0; c->ssl != NULL && i < FO_PG_NSSL; i++) {
        snprintf(key, sizeof(key), "%s%s", prefix, ssl_keys[i]);
        if (add(out, n, cap, key, c->ssl[i]) != 0)
            return FULL;
    }
    return 0;
}

static bool region_has_node(const struct fo_config *cfg, const char *region)
{
    for (size_t i = 0; region != NULL && i < cfg->npeers; i++)
        if (strcmp(cfg->peers[i].region, region) == 0)
            return true;
    return false;
}

int fo_plan_params(const struct fo_config *cfg, const struct fo_plan_step *step,
                   const char *site_name, struct fo_kv *out, size_t cap, char *msg, size_t msgcap)
{
    const struct fo_site *site = site_name != NULL ? fo_config_site(cfg, site_name) : NULL;
    size_t n = 0;
    int rc = 0; /* 0, FULL, or an enum fo_plan_params_error */
    int kind;

    for (size_t i = 0; i < step->nparams && rc == 0; i++)
        rc = add(out, &n, cap, step->params[i].key, step->params[i].value);
    if (rc == 0 && site_name != NULL && site == NULL) {
        snprintf(msg, msgcap, "site '%s' is not in this node's configuration", site_name);
        rc = FO_PLAN_PARAMS_INVALID;
    }
    /* vercel.redeploy gets them too: its verify_url check expects the site's values. */
    if (rc == 0 && site != NULL &&
        (strcmp(step->action, "vercel.env") == 0 || strcmp(step->action, "vercel.redeploy") == 0)) {
        for (size_t i = 0; i < site->nvercel_env && rc == 0; i++) {
            const struct fo_env_var *v = &site->vercel_env[i];
            char key[FO_NAME_MAX + 16];
            snprintf(key, sizeof(key), "%s%s", v->value_file != NULL ? "env_file." : "env.",
                     v->name);
            rc = add(out, &n, cap, key, v->value_file != NULL ? v->value_file : v->value);
        }
    } else if (rc == 0 && site != NULL && (kind = fo_component_of_action(step->action)) >= 0) {
        /* The component the action works on (config/components.h): its connection, or
         * the DNS origin — which the step may give itself ("content"). */
        struct fo_component_ref c;
        if (!fo_component_get(site, kind, &c) &&
            !(kind == FO_COMPONENT_DNS && has_key(out, n, "content"))) {
            snprintf(msg, msgcap, "site %s has no %s", site->name, fo_components[kind].name);
            rc = FO_PLAN_PARAMS_NO_COMPONENT;
        } else if (kind == FO_COMPONENT_DNS) {
            rc = add(out, &n, cap, "content", site->dns_origin);
        } else if (add_endpoint(out, &n, cap, "", &c) != 0) {
            rc = FULL;
        } else if (fo_components[kind].promote != NULL &&
                   strcmp(step->action, fo_components[kind].promote) == 0 &&
                   region_has_node(cfg, c.region)) {
            /* The promoted server stays fenced until its guardian, the node of its region,
             * holds the write lease and lifts it (run/lease.h). A region without a node
             * has no guardian: its promote leaves the server writable, as before. */
            rc = add(out, &n, cap, "hold_fence", "1");
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
    const int kind = fo_component_of_action(action);
    struct fo_component_ref c;

    if (site == NULL)
        return (int)n;
    /* A promote reads what its target lacks from the old primary's same component. */
    if (kind >= 0 && fo_components[kind].promote != NULL &&
        strcmp(action, fo_components[kind].promote) == 0 && fo_component_get(site, kind, &c) &&
        add_endpoint(out, &n, cap, "catch_up_", &c) != 0)
        goto full;
    return (int)n;
full: /* out keeps what it held; what we added is released */
    for (size_t i = n0; i < n; i++) {
        free(out[i].key);
        free(out[i].value);
    }
    return -1;
}

int fo_plan_rejoin_params(const struct fo_config *cfg, const char *action, const char *primary_site,
                          const char *rejoin_site, struct fo_kv *out, size_t n, size_t cap)
{
    const struct fo_site *p = fo_config_site(cfg, primary_site);
    const struct fo_site *r = fo_config_site(cfg, rejoin_site);
    const size_t n0 = n;
    const int kind = fo_component_of_action(action);
    struct fo_component_ref c;

    if (action == NULL ||
        (strcmp(action, "redis.rejoin") != 0 && strcmp(action, "postgres.rejoin") != 0))
        return (int)n;
    if (p != NULL && kind >= 0 && fo_component_get(p, kind, &c) &&
        add_endpoint(out, &n, cap, "primary_", &c) != 0)
        goto full;
    if (kind == FO_COMPONENT_POSTGRES && r != NULL && r->postgres != NULL) {
        for (size_t i = 0; i < r->postgres->nrejoin_command; i++) {
            char key[32];
            snprintf(key, sizeof(key), "argv.%zu", i);
            if (add(out, &n, cap, key, r->postgres->rejoin_command[i]) != 0)
                goto full;
        }
    }
    return (int)n;
full:
    for (size_t i = n0; i < n; i++) {
        free(out[i].key);
        free(out[i].value);
    }
    return -1;
}

bool fo_plan_step_required_in_switchover(const char *action)
{
    for (int k = 0; action != NULL && k < FO_COMPONENT_COUNT; k++)
        if (fo_components[k].fence != NULL && strcmp(action, fo_components[k].fence) == 0)
            return true;
    return false;
}
