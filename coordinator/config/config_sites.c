/*
 * coordinator/config/config_sites.c — the `sites:` section: each site's postgres, redis,
 * vercel_env and dns_origin, read against their tables (config_schema.h), fed into the
 * digest and released. config.c calls it through config_internal.h; see config.c's
 * comment for the order sections are read in (sites after regions, which they name).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "coordinator/config/config_internal.h"
#include "coordinator/config/config_schema.h"
#include "proto/state.h" /* FO_NAME_MAX */

static const struct cfg_key postgres_keys[] = {
    {"region", CFG_REGION, true, CFG_AT(struct fo_site_postgres, region)},
    {"host", CFG_HOST, true, CFG_AT(struct fo_site_postgres, host)},
    {"port", CFG_UINT, false, CFG_AT(struct fo_site_postgres, port), .min = 1, .dflt = 5432},
    {"dbname", CFG_NAME, false, CFG_AT(struct fo_site_postgres, dbname), .dflt_str = "postgres"},
    {"user", CFG_NAME, false, CFG_AT(struct fo_site_postgres, user), .dflt_str = "failoverd"},
    {"password_file", CFG_STRING, false, CFG_AT(struct fo_site_postgres, password_file)},
    {"sslmode", CFG_NAME, false, CFG_AT(struct fo_site_postgres, ssl[FO_PG_SSLMODE])},
    {"sslrootcert", CFG_STRING, false, CFG_AT(struct fo_site_postgres, ssl[FO_PG_SSLROOTCERT])},
    {"sslcert", CFG_STRING, false, CFG_AT(struct fo_site_postgres, ssl[FO_PG_SSLCERT])},
    {"sslkey", CFG_STRING, false, CFG_AT(struct fo_site_postgres, ssl[FO_PG_SSLKEY])},
    {"rejoin_command", CFG_NODE, false}, /* a list: parse_rejoin_command */
};

/* postgres.rejoin_command: a list of 1 to FO_CONFIG_MAX_ARGV strings, the program first. */
static int parse_rejoin_command(struct loader *ld, const yaml_node_t *n, const char *path,
                                struct fo_site_postgres *pg)
{
    char sub[PATH_LEN];

    if ((pg->rejoin_command =
             cfg_list_alloc(ld, n, path, YAML_SEQUENCE_NODE, "words", 1, FO_CONFIG_MAX_ARGV,
                            sizeof(char *), &pg->nrejoin_command)) == NULL)
        return ld->code;
    for (size_t i = 0; i < pg->nrejoin_command; i++) {
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (cfg_get_string(ld, cfg_node_at(ld, n->data.sequence.items.start[i]), sub,
                           FO_CONFIG_STRING_MAX, &pg->rejoin_command[i]) != 0)
            return ld->code;
    }
    return 0;
}

static const struct cfg_key redis_keys[] = {
    {"region", CFG_REGION, true, CFG_AT(struct fo_site_redis, region)},
    {"host", CFG_HOST, true, CFG_AT(struct fo_site_redis, host)},
    {"port", CFG_UINT, false, CFG_AT(struct fo_site_redis, port), .min = 1, .dflt = 6379},
    {"password_file", CFG_STRING, false, CFG_AT(struct fo_site_redis, password_file)},
};

static int parse_postgres(struct loader *ld, const yaml_node_t *n, const char *path,
                          struct fo_site *site)
{
    static const char *const modes[] = FO_PG_SSLMODES;
    const yaml_node_t *at[NFIELDS(postgres_keys)], *mode_at = n;
    const char *mode;
    char sub[PATH_LEN];

    if ((site->postgres = cfg_calloc(ld, 1, sizeof(*site->postgres))) == NULL)
        return ld->code;
    if (cfg_read_map(ld, n, path, postgres_keys, NFIELDS(postgres_keys), site->postgres, at) != 0)
        return ld->code;
    for (size_t i = 0; i < NFIELDS(postgres_keys); i++)
        if (strcmp(postgres_keys[i].name, "rejoin_command") == 0 && at[i] != NULL &&
            parse_rejoin_command(ld, at[i], cfg_join(sub, path, "rejoin_command"),
                                 site->postgres) != 0)
            return ld->code;
    if ((mode = site->postgres->ssl[FO_PG_SSLMODE]) == NULL)
        return 0;
    for (size_t i = 0; modes[i] != NULL; i++)
        if (strcmp(mode, modes[i]) == 0)
            return 0;
    for (size_t i = 0; i < NFIELDS(postgres_keys); i++) /* the value's line, for the message */
        if (strcmp(postgres_keys[i].name, "sslmode") == 0 && at[i] != NULL)
            mode_at = at[i];
    return cfg_fail_value(ld, mode_at, cfg_join(sub, path, "sslmode"), mode,
                          "is not one of disable, allow, prefer, require, verify-ca, verify-full");
}

static int parse_redis(struct loader *ld, const yaml_node_t *n, const char *path,
                       struct fo_site *site)
{
    if ((site->redis = cfg_calloc(ld, 1, sizeof(*site->redis))) == NULL)
        return ld->code;
    return cfg_read_map(ld, n, path, redis_keys, NFIELDS(redis_keys), site->redis, NULL);
}

enum { ENV_VALUE, ENV_FILE, ENV_NKEYS };

static const struct cfg_key env_keys[ENV_NKEYS] = {
    [ENV_VALUE] = {"value", CFG_STRING, false, CFG_AT(struct fo_env_var, value)},
    [ENV_FILE] = {"file", CFG_STRING, false, CFG_AT(struct fo_env_var, value_file)},
};

/* One vercel_env value: a plain scalar (inline), or {value: V} / {file: PATH}. */
static int parse_env_value(struct loader *ld, const yaml_node_t *n, const char *path,
                           struct fo_env_var *e)
{
    const yaml_node_t *at[ENV_NKEYS];

    if (n->type == YAML_SCALAR_NODE)
        return cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, &e->value);
    if (n->type != YAML_MAPPING_NODE)
        return cfg_fail(ld, n, path, "expected a value or a map {file: PATH}, found %s",
                        cfg_kind_name(n->type));
    if (cfg_read_map(ld, n, path, env_keys, ENV_NKEYS, e, at) != 0)
        return ld->code;
    if ((at[ENV_VALUE] != NULL) == (at[ENV_FILE] != NULL))
        return cfg_fail(ld, n, path, "needs exactly one of value or file (found %s)",
                        at[ENV_VALUE] != NULL ? "both" : "neither");
    return 0;
}

static int parse_env(struct loader *ld, const yaml_node_t *n, const char *path,
                     struct fo_site *site)
{
    char sub[PATH_LEN], q[48];
    size_t count;

    if ((site->vercel_env = cfg_list_alloc(ld, n, path, YAML_MAPPING_NODE, "variables", 0,
                                           FO_CONFIG_MAX_ENV, sizeof(*site->vercel_env), &count)) ==
        NULL)
        return ld->code;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const yaml_node_t *k = cfg_node_at(ld, p->key);
        struct fo_env_var *e = &site->vercel_env[i];

        if (cfg_check_key(ld, k, path) != 0)
            return ld->code;
        if (!cfg_is_env_name(k->data.scalar.value, k->data.scalar.length))
            return cfg_fail(
                ld, k,
                cfg_join(sub, path,
                         cfg_quote((const char *)k->data.scalar.value, k->data.scalar.length, q)),
                "not a variable name (letters, digits and '_', at most %d bytes, "
                "not starting with a digit)",
                FO_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (cfg_key_is(k, site->vercel_env[j].name))
                return cfg_fail(ld, k, cfg_join(sub, path, site->vercel_env[j].name),
                                "duplicate key");
        e->name = strdup((const char *)k->data.scalar.value);
        if (e->name == NULL)
            return cfg_no_memory(ld);
        site->nvercel_env = i + 1;
        if (parse_env_value(ld, cfg_node_at(ld, p->value), cfg_join(sub, path, e->name), e) != 0)
            return ld->code;
    }
    return 0;
}

enum { SITE_PRIORITY, SITE_POSTGRES, SITE_REDIS, SITE_ENV, SITE_DNS_ORIGIN, SITE_NKEYS };

static const struct cfg_key site_keys[SITE_NKEYS] = {
    [SITE_PRIORITY] = {"priority", CFG_UINT, false, CFG_AT(struct fo_site, priority), .dflt = 100},
    [SITE_POSTGRES] = {"postgres", CFG_NODE, false},
    [SITE_REDIS] = {"redis", CFG_NODE, false},
    [SITE_ENV] = {"vercel_env", CFG_NODE, false},
    [SITE_DNS_ORIGIN] = {"dns_origin", CFG_HOST, false, CFG_AT(struct fo_site, dns_origin)},
};

static int parse_site(struct loader *ld, const yaml_node_t *n, const char *path,
                      struct fo_site *site)
{
    const yaml_node_t *at[SITE_NKEYS];
    char sub[PATH_LEN];

    if (cfg_read_map(ld, n, path, site_keys, SITE_NKEYS, site, at) != 0 ||
        (at[SITE_POSTGRES] != NULL &&
         parse_postgres(ld, at[SITE_POSTGRES], cfg_join(sub, path, "postgres"), site) != 0) ||
        (at[SITE_REDIS] != NULL &&
         parse_redis(ld, at[SITE_REDIS], cfg_join(sub, path, "redis"), site) != 0) ||
        (at[SITE_ENV] != NULL &&
         parse_env(ld, at[SITE_ENV], cfg_join(sub, path, "vercel_env"), site) != 0))
        return ld->code;
    return 0;
}

int cfg_parse_sites(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    char sub[PATH_LEN];
    size_t count;

    if ((cfg->sites = cfg_list_alloc(ld, n, "sites", YAML_MAPPING_NODE, "sites", 1,
                                     FO_CONFIG_MAX_SITES, sizeof(*cfg->sites), &count)) == NULL)
        return ld->code;
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const yaml_node_t *k = cfg_node_at(ld, p->key);
        struct fo_site *site = &cfg->sites[i];

        cfg->nsites = i + 1;
        if (cfg_check_key(ld, k, "sites") != 0 || cfg_get_name(ld, k, "sites", &site->name) != 0)
            return ld->code;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->sites[j].name, site->name) == 0)
                return cfg_fail(ld, k, cfg_join(sub, "sites", site->name), "duplicate key");
        if (parse_site(ld, cfg_node_at(ld, p->value), cfg_join(sub, "sites", site->name), site) !=
            0)
            return ld->code;
    }
    return 0;
}

/* ---- digest and release ---------------------------------------------------------- */

void cfg_put_site(struct hasher *h, const struct fo_site *s)
{
    const struct fo_env_var *env[FO_CONFIG_MAX_ENV] = {NULL};

    cfg_put_str(h, s->name);
    cfg_put_u64(h, s->priority);
    cfg_put_u64(h, s->postgres != NULL);
    if (s->postgres != NULL) {
        cfg_put_str(h, s->postgres->region);
        cfg_put_str(h, s->postgres->host);
        cfg_put_u64(h, s->postgres->port);
        cfg_put_str(h, s->postgres->dbname);
        cfg_put_str(h, s->postgres->user);
        cfg_put_u64(h, s->postgres->password_file != NULL);
    }
    cfg_put_u64(h, s->redis != NULL);
    if (s->redis != NULL) {
        cfg_put_str(h, s->redis->region);
        cfg_put_str(h, s->redis->host);
        cfg_put_u64(h, s->redis->port);
        cfg_put_u64(h, s->redis->password_file != NULL);
    }
    for (size_t i = 0; i < s->nvercel_env; i++)
        env[i] = &s->vercel_env[i];
    cfg_sort_by_name((const void **)env, s->nvercel_env);
    cfg_put_u64(h, s->nvercel_env);
    for (size_t i = 0; i < s->nvercel_env; i++) {
        cfg_put_str(h, env[i]->name);
        cfg_put_opt(h, env[i]->value); /* NULL: from a file, whose path is local */
    }
    cfg_put_opt(h, s->dns_origin);
}

void cfg_site_free(struct fo_site *s)
{
    free(s->name);
    if (s->postgres != NULL) {
        free(s->postgres->region);
        free(s->postgres->host);
        free(s->postgres->dbname);
        free(s->postgres->user);
        free(s->postgres->password_file);
        for (size_t k = 0; k < FO_PG_NSSL; k++)
            free(s->postgres->ssl[k]);
        for (size_t k = 0; k < s->postgres->nrejoin_command; k++)
            free(s->postgres->rejoin_command[k]);
        free(s->postgres->rejoin_command);
        free(s->postgres);
    }
    if (s->redis != NULL) {
        free(s->redis->region);
        free(s->redis->host);
        free(s->redis->password_file);
        free(s->redis);
    }
    for (size_t i = 0; i < s->nvercel_env; i++) {
        free(s->vercel_env[i].name);
        free(s->vercel_env[i].value);
        free(s->vercel_env[i].value_file);
    }
    free(s->vercel_env);
    free(s->dns_origin);
}
