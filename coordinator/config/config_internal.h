/*
 * coordinator/config/config_internal.h — private to the config loader: the sections that
 * config.c (the YAML walk's top level, the topology, the digest) hands to config_sites.c
 * (sites), config_policy.c (decision, checks, feeds, health, alertmanager, http) and
 * config_plan.c (plan). Not for any other file: config.h is the contract.
 *
 * Dependencies point one way: config.c -> config_sites.c, config_policy.c,
 * config_plan.c (through this header) -> config_schema.c (the table reader, config_schema.h). The
 * sections never call back into config.c, nor into each other.
 *
 * Each parse function reads its section (NULL when absent: defaults apply) into ld->cfg
 * and returns 0 or the error it stored in ld (see config_schema.h).
 */
#ifndef FO_COORDINATOR_CONFIG_INTERNAL_H
#define FO_COORDINATOR_CONFIG_INTERNAL_H

#include <yaml.h>

#include "coordinator/config/config.h"
#include "coordinator/config/config_schema.h"

/* ---- the sites (config_sites.c) ---- */

/* Read the `sites:` section (present: the root table requires it) into ld->cfg, after
 * regions (each postgres and redis names one). */
int cfg_parse_sites(struct loader *ld, const yaml_node_t *n);

/* Feed one site's replicated fields into the digest (vercel_env sorted by name; a value
 * read from a file is left out, its path being local). */
void cfg_put_site(struct hasher *h, const struct fo_site *s);

/* Release what a site owns (fo_config_free calls it for each site). */
void cfg_site_free(struct fo_site *s);

/* ---- the policy sections (config_policy.c) ---- */

/* Read the optional sections decision, checks, feeds, health and alertmanager into
 * ld->cfg, after regions, peers, sites and raft. */
int cfg_parse_policy(struct loader *ld, const yaml_node_t *decision, const yaml_node_t *checks,
                     const yaml_node_t *feeds, const yaml_node_t *health,
                     const yaml_node_t *alertmanager);

/* The self-fence timing rule, reported at `at`. cfg_parse_policy runs it with a decision
 * section; the loader runs it too when there is none but a raft section (a long election
 * timeout can break the rule with the default decision timings). */
int cfg_check_lease(struct loader *ld, const yaml_node_t *at);

/* Read the local `http:` section (present: the caller checks) into ld->cfg->http. */
int cfg_parse_http(struct loader *ld, const yaml_node_t *http);

/* Feed the replicated part of the policy into the digest (see config.h). */
void cfg_put_policy(struct hasher *h, const struct fo_config *cfg);

/* Release what the policy sections own (fo_config_free calls it). */
void cfg_policy_free(struct fo_config *cfg);

/* ---- the plan (config_plan.c) ---- */

/* Read the optional `plan:` section (NULL: the default plan) into ld->cfg->plan. */
int cfg_parse_plan(struct loader *ld, const yaml_node_t *plan);

/* Feed the replicated part of the plan into the digest. */
void cfg_put_plan(struct hasher *h, const struct fo_config *cfg);

#endif
