/*
 * coordinator/run/plan_params.h — what a step's action receives: the step's parameters
 * from the plan merged with the target site's from the configuration (DESIGN §6).
 *
 * Pure functions of the configuration: no I/O, no clock, any thread. The executor calls
 * them for every attempt; the daemon's self-fence for its own site.
 *
 * Ownership: cfg and the plan step are borrowed; every fo_kv written to out is a malloc'd
 * copy the caller frees (key and value).
 */
#ifndef FO_COORDINATOR_PLAN_PARAMS_H
#define FO_COORDINATOR_PLAN_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/config/config.h"
#include "coordinator/config/plan.h"

/* Why fo_plan_params gave no parameters. The executor turns each into a typed step
 * outcome (proto/state.h): there is no reading of msg to tell them apart. */
enum fo_plan_params_error {
    /* The plan or this node's configuration cannot give them (the site is unknown here,
     * too many parameters): retrying cannot help -> the step is REFUSED. */
    FO_PLAN_PARAMS_INVALID = -1,
    /* The target site has no such component (no Redis there, no dns_origin): nothing to
     * do -> the step is SKIPPED_NO_COMPONENT. */
    FO_PLAN_PARAMS_NO_COMPONENT = -2,
};

/*
 * The parameters a step's action receives: the step's own, then — for keys it does not
 * set — the target site's: postgres.* get host, port, dbname, user, password_file of
 * the site's Postgres; redis.* host, port, password_file of its Redis; vercel.env its
 * env values (env.NAME / env_file.NAME); cloudflare.dns content = its dns_origin.
 * A promote of a component whose region has a node also gets hold_fence=1: the server
 * stays fenced until that node, its guardian, holds the write lease (run/lease.h).
 * Returns the number of parameters written to out (at most cap; out owns copies), or a
 * negative enum fo_plan_params_error with msg saying why for people; out then holds
 * nothing.
 */
int fo_plan_params(const struct fo_config *cfg, const struct fo_plan_step *step,
                   const char *site_name, struct fo_kv *out, size_t cap, char *msg, size_t msgcap);

/*
 * A switchover's extra parameters for a promote step (DESIGN §6; actions/postgres.c and
 * redis.c, "catch_up"): postgres.promote gets catch_up_host, _port, _dbname, _user,
 * _password_file of from_site's Postgres, redis.promote catch_up_host, _port,
 * _password_file of its Redis, so that the action drains the old primary before it
 * promotes. Other kinds, or a from_site without the component: nothing. Appends to out
 * (which holds n entries, room for cap). Returns the new count, or -1 when out is full.
 */
int fo_plan_catch_up_params(const struct fo_config *cfg, const char *action, const char *from_site,
                            struct fo_kv *out, size_t n, size_t cap);

/*
 * A rejoin's extra parameters (actions/redis_rejoin.c, postgres_rejoin.c): redis.rejoin
 * and postgres.rejoin get primary_host, primary_port (Postgres also primary_dbname,
 * primary_user), primary_password_file and Postgres' TLS settings as primary_ssl* of
 * primary_site's same component — the server to replicate from; postgres.rejoin also
 * gets rejoin_site's postgres.rejoin_command as argv.0, argv.1, ... Other kinds: nothing.
 * Appends to out (n entries, room for cap). Returns the new count, or -1 when out is
 * full (out keeps its first n entries).
 */
int fo_plan_rejoin_params(const struct fo_config *cfg, const char *action, const char *primary_site,
                          const char *rejoin_site, struct fo_kv *out, size_t n, size_t cap);

/* True when a switchover may not go on without this step: its fences (a drain needs the
 * old primary fenced; skipped or failed, the switchover stops, whatever on_failure says). */
bool fo_plan_step_required_in_switchover(const char *action);

#endif
