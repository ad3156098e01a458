/*
 * actions/kinds.h — the action kinds, one per implementation file (action.c lists them).
 * Each file defines its kinds' parameter lists and run functions; see action.h for the
 * contract and each file's header comment for what its kinds do.
 */
#ifndef FO_ACTIONS_KINDS_H
#define FO_ACTIONS_KINDS_H

#include "actions/action.h"

/* actions/postgres.c (libpq) */
extern const struct fo_action_kind fo_action_postgres_promote;
extern const struct fo_action_kind fo_action_postgres_fence;
extern const struct fo_action_kind fo_action_postgres_unfence;
/* actions/postgres_rejoin.c (libpq, and the operator's rejoin_command: program.h) */
extern const struct fo_action_kind fo_action_postgres_rejoin;
/* actions/redis.c (hiredis) */
extern const struct fo_action_kind fo_action_redis_promote;
extern const struct fo_action_kind fo_action_redis_fence;
extern const struct fo_action_kind fo_action_redis_unfence;
/* actions/redis_rejoin.c */
extern const struct fo_action_kind fo_action_redis_rejoin;
/* actions/vercel.c (libcurl + jansson) */
extern const struct fo_action_kind fo_action_vercel_env;
extern const struct fo_action_kind fo_action_vercel_redeploy;
/* actions/cloudflare.c */
extern const struct fo_action_kind fo_action_cloudflare_dns;
extern const struct fo_action_kind fo_action_cloudflare_pool;
/* actions/http.c: the generic request, and the HTTP client the others use */
extern const struct fo_action_kind fo_action_http;
/* actions/notify.c */
extern const struct fo_action_kind fo_action_notify_slack;
extern const struct fo_action_kind fo_action_notify_pagerduty;
extern const struct fo_action_kind fo_action_notify_statuspage;

#endif
