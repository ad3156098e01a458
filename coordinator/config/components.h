/*
 * coordinator/config/components.h — the one table of what a site is made of (issue 17):
 * for each component kind, its name, the actions that work on it, how to find it in a
 * struct fo_site, its region and the name of the probe that checks it. Everything that
 * asks "which part of a site does this action (probe, fence) need?" reads this table:
 * the plan's step parameters (run/plan_params.c), the probes the daemon starts
 * (daemon.c), the lease's fence actions and the replication lag (run/operations.c), and
 * the lease's guardians (run/lease.c: the regions of a site's components).
 *
 * Pure: no I/O, no allocation. Thread-safe (constant data).
 */
#ifndef FO_COORDINATOR_COMPONENTS_H
#define FO_COORDINATOR_COMPONENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "coordinator/config/config.h"

enum fo_component_kind {
    FO_COMPONENT_POSTGRES = 0,
    FO_COMPONENT_REDIS,
    FO_COMPONENT_DNS, /* the site's dns_origin: what cloudflare.dns points the record to */
    FO_COMPONENT_COUNT
};

struct fo_component {
    const char *name; /* "postgres": messages, and the probe "postgres:SITE" when probed */
    /* The actions that need this component: "postgres." is a prefix (every postgres.*
     * action); a name without the trailing dot is one action ("cloudflare.dns"). */
    const char *actions;
    const char *fence;   /* the action that fences it (lease, switchover), or NULL */
    const char *unfence; /* the action that lifts that fence, or NULL */
    const char *promote; /* the action that makes it the primary (the lease gates it, a
                          * switchover has it catch up from the old one), or NULL */
    bool probed;         /* this node's probes check every site's one (daemon.c) */
};

/* Indexed by enum fo_component_kind. */
extern const struct fo_component fo_components[FO_COMPONENT_COUNT];

/* A site's component as its users need it: where it is and how to reach it. Strings
 * are the config's (valid while it is); a field the kind has not is NULL / 0. */
struct fo_component_ref {
    const char *region; /* NULL for DNS: it is not in a region */
    const char *host;   /* postgres, redis */
    uint16_t port;
    const char *dbname, *user; /* postgres */
    const char *password_file; /* optional */
    const char *const *ssl;    /* postgres: [FO_PG_NSSL] (actions/pg_ssl.h), entries NULL
                                * when unset; NULL for the other kinds */
    const char *origin;        /* dns */
};

/* Whether site has a component of kind; when it does (and out is not NULL), *out. */
bool fo_component_get(const struct fo_site *site, enum fo_component_kind kind,
                      struct fo_component_ref *out);

/* Whether site has a component (Postgres, Redis) in region: the guardians of a site are
 * the nodes of these regions (run/lease.h), and the leader keeps out of them
 * (run/placement.h). */
bool fo_component_site_in_region(const struct fo_site *site, const char *region);

/* The kind an action works on ("postgres.promote" -> postgres), or -1 for an action that
 * needs no site component (vercel.*, http, noop, ...). */
int fo_component_of_action(const char *action);

/* The name of the probe of site's component of kind: "postgres:SITE". Returns what
 * snprintf returns. */
int fo_component_probe_name(enum fo_component_kind kind, const char *site, char *buf, size_t cap);

#endif
