/*
 * actions/vercel_verify.h — vercel.redeploy's check that its new deployment serves the
 * new environment (vercel.c's header says when and why). Internal to actions/.
 *
 * The app's health endpoint answers a JSON object with "database_host" (the host of the
 * DATABASE_URL it runs with) and "redis_host" (its REDIS_HOST); each is compared, case
 * insensitive, with the value the step was given (env.NAME or env_file.NAME), when given.
 *
 * Threading: blocking (fo_http_request), thread-pool only, like every action.
 * Ownership: caller-allocated; fo_vercel_verify_wipe() clears the secret it holds.
 */
#ifndef FO_ACTIONS_VERCEL_VERIFY_H
#define FO_ACTIONS_VERCEL_VERIFY_H

#include "actions/action.h"

enum { FO_VERIFY_DATABASE_HOST, FO_VERIFY_REDIS_HOST, FO_VERIFY_NFIELDS };

struct fo_vercel_verify {
    const char *url;                   /* verify_url (borrowed from the request), or NULL */
    char bypass[512];                  /* verify_bypass_file's secret, or "" */
    char want[FO_VERIFY_NFIELDS][256]; /* the expected values; "" = not checked */
};

/* Read req's verify_url, verify_bypass_file and the expected values. 0 (vv->url NULL:
 * nothing to check), or -1 with res REFUSED (a URL without an expected value, a bad
 * URL, a DATABASE_URL that is not a URL, an unreadable file). */
int fo_vercel_verify_prepare(const struct fo_action_req *req, struct fo_vercel_verify *vv,
                             struct fo_action_result *res);

/* GET the endpoint for deployment dep_id at host and compare. res is DONE on entry; it
 * stays DONE (its detail gets "; verified ...") or becomes FAILED / REFUSED. */
void fo_vercel_verify_run(const struct fo_action_req *req, const struct fo_vercel_verify *vv,
                          const char *dep_id, const char *host, struct fo_action_result *res);

void fo_vercel_verify_wipe(struct fo_vercel_verify *vv);

#endif
