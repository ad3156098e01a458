/*
 * coordinator/config/components.c — see components.h.
 */
#include "coordinator/config/components.h"

#include <stdio.h>
#include <string.h>

const struct fo_component fo_components[FO_COMPONENT_COUNT] = {
    [FO_COMPONENT_POSTGRES] = {"postgres", "postgres.", "postgres.fence", "postgres.unfence",
                               "postgres.promote", true},
    [FO_COMPONENT_REDIS] = {"redis", "redis.", "redis.fence", "redis.unfence", "redis.promote",
                            true},
    [FO_COMPONENT_DNS] = {"dns_origin", "cloudflare.dns", NULL, NULL, NULL, false},
};

bool fo_component_get(const struct fo_site *site, enum fo_component_kind kind,
                      struct fo_component_ref *out)
{
    struct fo_component_ref r = {0};

    switch (kind) {
    case FO_COMPONENT_POSTGRES:
        if (site->postgres == NULL)
            return false;
        r.region = site->postgres->region;
        r.host = site->postgres->host;
        r.port = site->postgres->port;
        r.dbname = site->postgres->dbname;
        r.user = site->postgres->user;
        r.password_file = site->postgres->password_file;
        r.ssl = (const char *const *)site->postgres->ssl;
        break;
    case FO_COMPONENT_REDIS:
        if (site->redis == NULL)
            return false;
        r.region = site->redis->region;
        r.host = site->redis->host;
        r.port = site->redis->port;
        r.password_file = site->redis->password_file;
        break;
    case FO_COMPONENT_DNS:
        if (site->dns_origin == NULL)
            return false;
        r.origin = site->dns_origin;
        break;
    default:
        return false;
    }
    if (out != NULL)
        *out = r;
    return true;
}

int fo_component_of_action(const char *action)
{
    for (int k = 0; action != NULL && k < FO_COMPONENT_COUNT; k++) {
        const char *a = fo_components[k].actions;
        size_t n = strlen(a);
        if (a[n - 1] == '.' ? strncmp(action, a, n) == 0 : strcmp(action, a) == 0)
            return k;
    }
    return -1;
}

int fo_component_probe_name(enum fo_component_kind kind, const char *site, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%s:%s", fo_components[kind].name, site);
}

bool fo_component_site_in_region(const struct fo_site *site, const char *region)
{
    struct fo_component_ref ref;

    for (int k = 0; k < FO_COMPONENT_COUNT; k++)
        if (fo_component_get(site, (enum fo_component_kind)k, &ref) && ref.region != NULL &&
            strcmp(ref.region, region) == 0)
            return true;
    return false;
}
