/*
 * actions/vercel.c — the Vercel kinds (reference §1, DESIGN §7).
 *
 * Common parameters: token_file (Bearer token), project (id or name), api_url (default
 * https://api.vercel.com), team_id (sent as teamId on every call), target (default
 * production).
 *
 * vercel.env — env.NAME=value (a plain value) and env_file.NAME=path (a secret read
 *   from a file). Reads the project's variables (decrypt=true) and upserts, in one
 *   POST /v10/projects/{p}/env?upsert=true, those whose value differs for the target
 *   (same key, no gitBranch, target included). A variable whose value cannot be read
 *   back (sensitive, or encrypted and not decrypted) is upserted every time: upsert is
 *   idempotent. Types: an existing variable keeps its type (a secret from a file turns
 *   a plain one into encrypted); a new one is plain for env.NAME, encrypted for
 *   env_file.NAME. Values never appear in the detail, only names. A 201 with failed[]
 *   items is a failure (reference §1.3). Check mode: the list call only (token, team,
 *   project) and what would change. The list (GET /v10/projects/{p}/env) is read as v10
 *   documents it: no `limit` (v10 has none; it answers all variables); should an answer
 *   carry `pagination.next`, that cursor is followed with `until` (Vercel's paging), and
 *   a cursor that does not move older stops the read (FAILED) instead of looping.
 *
 * vercel.redeploy — a new deployment of the current production deployment, so that env
 *   changes apply (promote does not rebuild, reference §1.8, §7.2):
 *   POST /v13/deployments?forceNew=1 {name, project, deploymentId, target,
 *   meta {action: "redeploy", failoverd_op: <op id>, failoverd_epoch: <epoch>}}.
 *   Idempotent through the tag: before creating, GET /v6/deployments?projectId=…&
 *   meta-failoverd_op=<op id> finds a deployment an earlier run (a crashed leader)
 *   created, and that one is followed instead; only when none exists, or the newest one
 *   ended ERROR/CANCELED, is a new one created. The create call is retried only when it
 *   surely did nothing (429, no connection); after a 5xx or a timeout the lookup runs
 *   again first. Then GET /v13/deployments/{id} every poll_ms (default 2000) until
 *   READY with aliasAssigned and no aliasError (DONE), ERROR/CANCELED/aliasError
 *   (FAILED, with Vercel's errorCode/errorMessage), checksConclusion "failed" or
 *   "canceled" (FAILED at once: Vercel never promotes it, and waiting would only reach
 *   the deadline; a next run builds again, as after ERROR), or the deadline (FAILED).
 *   Check mode: token, project and its production deployment found, verify settings.
 *
 *   Verification. A redeploy of an existing deployment inherits that deployment's
 *   settings and environment variables (Vercel's SDK), so it may still run with the old
 *   DATABASE_URL / REDIS_HOST. With verify_url, once READY the action GETs the app's
 *   health endpoint there ("{url}" in it becomes the new deployment's own host, so the
 *   check reaches that deployment and not whatever an alias serves; verify_bypass_file
 *   holds a Protection Bypass for Automation secret, sent as x-vercel-protection-bypass)
 *   and expects a JSON object whose database_host is the host of DATABASE_URL and whose
 *   redis_host is REDIS_HOST, the values given as env.NAME / env_file.NAME (the plan
 *   passes the target site's vercel_env, as to vercel.env). Serving other values is
 *   REFUSED: a retry would follow the same deployment, so people must act (README). An
 *   endpoint that cannot be read is FAILED (5xx, timeout) or REFUSED (4xx).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/http.h"
#include "actions/kinds.h"
#include "actions/secret.h"
#include "actions/vercel_verify.h"

#define VERCEL_API      "https://api.vercel.com"
#define VERCEL_MAX_VARS 64
#define VERCEL_VALUE    8192 /* longest secret value read from a file */
#define OP_TAG          "failoverd_op"

struct vercel {
    const struct fo_action_req *req;
    struct fo_action_result *res;
    const char *api, *project, *team, *target;
    char token[1024];
    char auth[1100];
};

static int vercel_open(struct vercel *v, const struct fo_action_req *req,
                       struct fo_action_result *res)
{
    const char *api = fo_action_param(req, "api_url");
    const char *target = fo_action_param(req, "target");

    memset(v, 0, sizeof(*v));
    v->req = req;
    v->res = res;
    v->api = api != NULL ? api : VERCEL_API;
    v->project = fo_action_param(req, "project");
    v->team = fo_action_param(req, "team_id");
    v->target = target != NULL ? target : "production";
    if (v->project == NULL || v->project[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter project is required");
        return -1;
    }
    if (v->target[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter target must not be empty");
        return -1;
    }
    if (fo_action_read_secret(req, "token_file", v->token, sizeof(v->token), res) != 0)
        return -1;
    snprintf(v->auth, sizeof(v->auth), "Bearer %s", v->token);
    return 0;
}

static void vercel_close(struct vercel *v)
{
    fo_http_redact(v->res->detail, v->token);
    fo_secret_wipe(v->token, sizeof(v->token));
    fo_secret_wipe(v->auth, sizeof(v->auth));
}

static void vercel_url(const struct vercel *v, struct fo_http_url *u, const char *path)
{
    fo_http_url_init(u, v->api);
    fo_http_url_path(u, path);
}

/* One call. 0 when the answer is 2xx with a JSON body (or no body); else -1 with
 * v->res set. resp must be freed by the caller either way. */
static int vercel_call(struct vercel *v, const char *method, struct fo_http_url *u, json_t *body,
                       unsigned retry_on, struct fo_http_resp *resp, const char *what)
{
    struct fo_http_req hr = {0};
    char msg[128];
    int rc;

    fo_http_url_query(u, "teamId", v->team);
    memset(resp, 0, sizeof(*resp));
    if (u->overflow) {
        fo_action_set(v->res, FO_ACTION_REFUSED, "vercel: %s: URL too long", what);
        return -1;
    }
    hr.method = method;
    hr.url = u->buf;
    hr.auth = v->auth;
    hr.json = body;
    hr.deadline_ms = v->req->deadline_ms;
    hr.cancel = v->req->cancel;
    hr.retry_on = retry_on;
    rc = fo_http_request(&hr, resp);
    snprintf(msg, sizeof(msg), "vercel: %s", what);
    if (rc != FO_HTTP_OK || resp->status < 200 || resp->status > 299) {
        fo_http_fail(v->res, msg, rc, resp);
        return -1;
    }
    if (resp->len > 0 && resp->json == NULL) {
        fo_action_set(v->res, FO_ACTION_FAILED, "%s: HTTP %ld with a body that is not JSON", msg,
                      resp->status);
        return -1;
    }
    return 0;
}

/* ---- vercel.env ------------------------------------------------------------------- */

struct env_want {
    const char *key;
    const char *value;
    char *owned; /* the value read from a file (wiped and freed) */
    bool secret;
    const json_t *found; /* the existing variable for (key, target), borrowed */
    bool same;           /* found, readable and equal: nothing to do */
};

static bool valid_env_key(const char *k)
{
    if (k[0] == '\0' || (k[0] >= '0' && k[0] <= '9'))
        return false;
    for (; *k != '\0'; k++)
        if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') ||
              *k == '_'))
            return false;
    return true;
}

/* The env.NAME / env_file.NAME parameters into w[0..*count). Returns 0, or -1 with res
 * set (*count still says how many entries to clean up). */
static int env_collect(struct vercel *v, struct env_want *w, int *count)
{
    bool bad = false;
    int n = 0;

    for (size_t i = 0; i < v->req->nparams; i++) {
        const char *k = v->req->params[i].key;
        bool secret = strncmp(k, "env_file.", 9) == 0;
        const char *name = secret ? k + 9 : k + 4;
        struct fo_error err;

        if (!secret && strncmp(k, "env.", 4) != 0)
            continue;
        if (!valid_env_key(name)) {
            fo_action_set(v->res, FO_ACTION_REFUSED, "parameter %.80s: not a valid variable name",
                          k);
            bad = true;
            break;
        }
        for (int j = 0; j < n; j++) {
            if (strcmp(w[j].key, name) == 0) {
                fo_action_set(v->res, FO_ACTION_REFUSED,
                              "variable %.64s is given twice (env. and env_file.)", name);
                *count = n;
                return -1;
            }
        }
        if (n == VERCEL_MAX_VARS) {
            fo_action_set(v->res, FO_ACTION_REFUSED, "more than %d variables", VERCEL_MAX_VARS);
            bad = true;
            break;
        }
        w[n].key = name;
        w[n].secret = secret;
        if (secret) {
            w[n].owned = calloc(1, VERCEL_VALUE);
            if (w[n].owned == NULL ||
                fo_secret_read_file(v->req->params[i].value, w[n].owned, VERCEL_VALUE, &err) != 0) {
                fo_action_set(v->res, FO_ACTION_REFUSED, "%.80s: %s", k,
                              w[n].owned == NULL ? "out of memory" : err.msg);
                *count = n + 1;
                return -1;
            }
            w[n].value = w[n].owned;
        } else {
            w[n].value = v->req->params[i].value;
        }
        n++;
    }
    *count = n;
    if (bad)
        return -1;
    if (n == 0) {
        fo_action_set(v->res, FO_ACTION_REFUSED,
                      "vercel.env needs at least one env.NAME or env_file.NAME parameter");
        return -1;
    }
    return 0;
}

static bool target_has(const json_t *env, const char *target)
{
    const json_t *t = json_object_get(env, "target");
    size_t i;
    const json_t *x;

    if (json_is_string(t))
        return strcmp(json_string_value(t), target) == 0;
    json_array_foreach(t, i, x)
    {
        if (json_is_string(x) && strcmp(json_string_value(x), target) == 0)
            return true;
    }
    return false;
}

/* Every env var of the project (all pages) into all. 0 or -1 with res set. */
static int env_list(struct vercel *v, json_t *all)
{
    char until[32] = "";
    long long last = -1;

    for (int page = 0; page < 50; page++) {
        struct fo_http_url u;
        struct fo_http_resp resp;
        const json_t *envs, *next;

        vercel_url(v, &u, "/v10/projects");
        fo_http_url_segment(&u, v->project);
        fo_http_url_path(&u, "/env");
        fo_http_url_query(&u, "decrypt", "true");
        fo_http_url_query(&u, "until", until[0] != '\0' ? until : NULL);
        if (vercel_call(v, "GET", &u, NULL, FO_HTTP_RETRY_ALL, &resp, "GET env") != 0) {
            fo_http_resp_free(&resp);
            return -1;
        }
        /* The answer is {envs, pagination}, {envs} or one env object (reference §1.2). */
        envs = json_object_get(resp.json, "envs");
        if (json_is_array(envs))
            json_array_extend(all, (json_t *)envs);
        else if (json_is_object(resp.json) && json_object_get(resp.json, "key") != NULL)
            json_array_append(all, resp.json);
        next = json_object_get(json_object_get(resp.json, "pagination"), "next");
        if (!json_is_integer(next)) {
            fo_http_resp_free(&resp);
            return 0;
        }
        /* Newest first: each cursor is older than the one before. One that does not move
         * would read the same page until the page bound. */
        if (last >= 0 && (long long)json_integer_value(next) >= last) {
            fo_action_set(v->res, FO_ACTION_FAILED,
                          "vercel: GET env: the page cursor did not advance (pagination.next "
                          "%lld after %lld)",
                          (long long)json_integer_value(next), last);
            fo_http_resp_free(&resp);
            return -1;
        }
        last = (long long)json_integer_value(next);
        snprintf(until, sizeof(until), "%lld", last);
        fo_http_resp_free(&resp);
    }
    fo_action_set(v->res, FO_ACTION_FAILED, "vercel: GET env: more than 50 pages");
    return -1;
}

/* The type to send for w: keep the existing one; never store a secret as plain. */
static const char *env_type(const struct env_want *w)
{
    const char *t = w->found != NULL ? fo_json_str(w->found, "type") : NULL;

    if (t != NULL && strcmp(t, "sensitive") == 0)
        return "sensitive";
    if (t != NULL && strcmp(t, "plain") == 0 && !w->secret)
        return "plain";
    if (t == NULL && !w->secret)
        return "plain";
    return "encrypted";
}

static void env_match(struct vercel *v, json_t *all, struct env_want *w, int n)
{
    size_t i;
    json_t *e;

    json_array_foreach(all, i, e)
    {
        const char *key = fo_json_str(e, "key");
        if (key == NULL || json_string_value(json_object_get(e, "gitBranch")) != NULL ||
            !target_has(e, v->target))
            continue;
        for (int j = 0; j < n; j++) {
            const char *type, *value;
            bool readable;
            if (strcmp(w[j].key, key) != 0 || w[j].found != NULL)
                continue;
            w[j].found = e;
            type = fo_json_str(e, "type");
            value = fo_json_str(e, "value");
            readable =
                type != NULL && value != NULL &&
                (strcmp(type, "plain") == 0 ||
                 (strcmp(type, "encrypted") == 0 && json_is_true(json_object_get(e, "decrypted"))));
            w[j].same =
                readable && strcmp(value, w[j].value) == 0 && strcmp(env_type(&w[j]), type) == 0;
        }
    }
}

/* "A, B, C" of the wanted variables with same == which. */
static void env_names(const struct env_want *w, int n, bool which, char *out, size_t cap)
{
    size_t len = 0;

    out[0] = '\0';
    for (int i = 0; i < n && len + 1 < cap; i++) {
        if (w[i].same != which)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 0 ? ", " : "", w[i].key);
    }
    if (len >= cap && cap > 4)
        memcpy(out + cap - 4, "...", 4);
}

static int env_upsert(struct vercel *v, const struct env_want *w, int n)
{
    json_t *body = json_array();
    struct fo_http_url u;
    struct fo_http_resp resp;
    int rc = -1;

    for (int i = 0; i < n; i++) {
        if (w[i].same)
            continue;
        json_array_append_new(body,
                              json_pack("{s:s, s:s, s:s, s:[s]}", "key", w[i].key, "value",
                                        w[i].value, "type", env_type(&w[i]), "target", v->target));
    }
    vercel_url(v, &u, "/v10/projects");
    fo_http_url_segment(&u, v->project);
    fo_http_url_path(&u, "/env");
    fo_http_url_query(&u, "upsert", "true");
    if (vercel_call(v, "POST", &u, body, FO_HTTP_RETRY_ALL, &resp, "POST env (upsert)") == 0) {
        /* A 201 is not proof that every item was written (reference §1.3). */
        const json_t *failed = json_object_get(resp.json, "failed");
        if (json_is_array(failed) && json_array_size(failed) > 0) {
            struct fo_http_resp one = {.json = json_array_get(failed, 0)};
            char api[200];
            fo_http_api_error(&one, api, sizeof(api));
            fo_action_set(v->res, FO_ACTION_REFUSED,
                          "vercel: POST env (upsert): %zu variable(s) not written: %s",
                          json_array_size(failed), api);
        } else {
            rc = 0;
        }
    }
    fo_http_resp_free(&resp);
    fo_json_wipe(body); /* it holds secret values */
    json_decref(body);
    return rc;
}

static void env_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct vercel v;
    struct env_want w[VERCEL_MAX_VARS] = {0};
    json_t *all = NULL;
    char changed[256], same[256];
    int n = 0, nchanged = 0;

    if (vercel_open(&v, req, res) != 0)
        return;
    if (strcmp(v.target, "production") != 0 && strcmp(v.target, "preview") != 0 &&
        strcmp(v.target, "development") != 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter target: production, preview or development for vercel.env");
        goto out;
    }
    if (env_collect(&v, w, &n) != 0)
        goto out;
    all = json_array();
    if (env_list(&v, all) != 0)
        goto out;
    env_match(&v, all, w, n);
    for (int i = 0; i < n; i++)
        nchanged += !w[i].same;
    env_names(w, n, false, changed, sizeof(changed));
    env_names(w, n, true, same, sizeof(same));
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "check: project %.64s readable; %s would change: %s%s%s",
                      v.project, v.target, nchanged > 0 ? changed : "nothing",
                      nchanged < n ? "; unchanged: " : "", nchanged < n ? same : "");
    } else if (nchanged == 0) {
        fo_action_set(res, FO_ACTION_DONE, "project %.64s %s: already set: %s (no change)",
                      v.project, v.target, same);
    } else if (env_upsert(&v, w, n) == 0) {
        fo_action_set(res, FO_ACTION_DONE, "project %.64s %s: set %s%s%s", v.project, v.target,
                      changed, nchanged < n ? "; unchanged: " : "", nchanged < n ? same : "");
    }
out:
    for (int i = 0; i < n; i++) {
        if (w[i].owned != NULL) {
            fo_http_redact(res->detail, w[i].owned);
            fo_secret_wipe(w[i].owned, VERCEL_VALUE);
            free(w[i].owned);
        }
    }
    json_decref(all);
    vercel_close(&v);
}

/* ---- vercel.redeploy ------------------------------------------------------------------ */

struct deployment {
    char id[128];
    char url[256];
};

static void dep_copy(struct deployment *d, const json_t *obj)
{
    const char *id = fo_json_str(obj, "id");
    const char *url = fo_json_str(obj, "url");
    if (id == NULL)
        id = fo_json_str(obj, "uid"); /* list items (GET /v6/deployments) */
    snprintf(d->id, sizeof(d->id), "%s", id != NULL ? id : "");
    snprintf(d->url, sizeof(d->url), "%s", url != NULL ? url : "");
}

/* The project's id and name, and its current production deployment. */
static int redeploy_project(struct vercel *v, char *id, char *name, size_t cap,
                            struct deployment *prod)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    int rc = -1;

    vercel_url(v, &u, "/v9/projects");
    fo_http_url_segment(&u, v->project);
    if (vercel_call(v, "GET", &u, NULL, FO_HTTP_RETRY_ALL, &resp, "GET project") == 0) {
        const json_t *p = json_object_get(json_object_get(resp.json, "targets"), "production");
        snprintf(id, cap, "%s", fo_json_str(resp.json, "id") ? fo_json_str(resp.json, "id") : "");
        snprintf(name, cap, "%s",
                 fo_json_str(resp.json, "name") ? fo_json_str(resp.json, "name") : v->project);
        dep_copy(prod, p);
        if (id[0] == '\0')
            fo_action_set(v->res, FO_ACTION_FAILED, "vercel: GET project: no project id");
        else if (prod->id[0] == '\0')
            fo_action_set(v->res, FO_ACTION_REFUSED,
                          "vercel: project %.64s has no production deployment to redeploy",
                          v->project);
        else
            rc = 0;
    }
    fo_http_resp_free(&resp);
    return rc;
}

/* Its checks failed or were canceled: Vercel will not promote it. */
static bool checks_failed(const json_t *dep)
{
    const char *c = fo_json_str(dep, "checksConclusion");
    return c != NULL && (strcmp(c, "failed") == 0 || strcmp(c, "canceled") == 0);
}

/* The newest deployment tagged with this operation that did not fail: 1 found, 0 none,
 * -1 error (res set). */
static int redeploy_find(struct vercel *v, const char *project_id, struct deployment *d)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    int rc = -1;

    vercel_url(v, &u, "/v6/deployments");
    fo_http_url_query(&u, "projectId", project_id);
    fo_http_url_query(&u, "meta-" OP_TAG, v->req->op_id);
    fo_http_url_query(&u, "limit", "20");
    if (vercel_call(v, "GET", &u, NULL, FO_HTTP_RETRY_ALL, &resp, "GET deployments") == 0) {
        const json_t *list = json_object_get(resp.json, "deployments"), *it;
        size_t i;

        rc = 0;
        json_array_foreach(list, i, it)
        {
            const char *state = fo_json_str(it, "readyState");
            const json_t *meta = json_object_get(it, "meta");
            const char *tag = fo_json_str(meta, OP_TAG);
            if (state == NULL)
                state = fo_json_str(it, "state");
            /* The server filtered; check again in case it ignored the filter. */
            if (tag == NULL || strcmp(tag, v->req->op_id) != 0)
                continue;
            /* Newest first: the newest decides. A failed build is built again. */
            if (!checks_failed(it) && (state == NULL || (strcmp(state, "ERROR") != 0 &&
                                                         strcmp(state, "CANCELED") != 0))) {
                dep_copy(d, it);
                rc = d->id[0] != '\0';
            }
            break;
        }
    }
    fo_http_resp_free(&resp);
    return rc;
}

/* 0 created (d filled), -1 error (res set). */
static int redeploy_create(struct vercel *v, const char *project_id, const char *name,
                           const struct deployment *prod, struct deployment *d)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    char epoch[32];
    json_t *body;
    int rc = -1;

    snprintf(epoch, sizeof(epoch), "%llu", (unsigned long long)v->req->epoch);
    memset(&resp, 0, sizeof(resp));
    body = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "name", name, "project", project_id,
                     "deploymentId", prod->id, "target", v->target, "meta", "action", "redeploy",
                     OP_TAG, v->req->op_id, "failoverd_epoch", epoch);
    vercel_url(v, &u, "/v13/deployments");
    fo_http_url_query(&u, "forceNew", "1");
    /* Not idempotent: retried here only when surely not processed (see the header). */
    if (body != NULL &&
        vercel_call(v, "POST", &u, body, FO_HTTP_RETRY_SAFE, &resp, "POST deployments") == 0) {
        dep_copy(d, resp.json);
        if (d->id[0] == '\0')
            fo_action_set(v->res, FO_ACTION_FAILED, "vercel: POST deployments: no id in answer");
        else
            rc = 0;
    } else if (body == NULL) {
        fo_action_set(v->res, FO_ACTION_FAILED, "vercel: out of memory");
    }
    fo_http_resp_free(&resp);
    json_decref(body);
    return rc;
}

/* Poll d until it serves the target or fails. Sets res. */
static void redeploy_wait(struct vercel *v, const struct deployment *d, const char *how,
                          uint64_t poll_ms, uint64_t started)
{
    char state[32] = "unknown";

    for (;;) {
        struct fo_http_url u;
        struct fo_http_resp resp;
        const json_t *j, *alias_err;
        const char *s;

        vercel_url(v, &u, "/v13/deployments");
        fo_http_url_segment(&u, d->id);
        if (vercel_call(v, "GET", &u, NULL, FO_HTTP_RETRY_ALL, &resp, "GET deployment") != 0) {
            fo_http_resp_free(&resp);
            return;
        }
        j = resp.json;
        s = fo_json_str(j, "readyState");
        snprintf(state, sizeof(state), "%s", s != NULL ? s : "unknown");
        alias_err = json_object_get(j, "aliasError");
        if (strcmp(state, "ERROR") == 0) {
            const char *code = fo_json_str(j, "errorCode"), *msg = fo_json_str(j, "errorMessage");
            fo_action_set(v->res, FO_ACTION_FAILED,
                          "vercel: deployment %s (%s) failed: %.64s: %.200s", d->id, how,
                          code != NULL ? code : "ERROR", msg != NULL ? msg : "");
        } else if (strcmp(state, "CANCELED") == 0) {
            fo_action_set(v->res, FO_ACTION_FAILED, "vercel: deployment %s (%s) was canceled",
                          d->id, how);
        } else if (checks_failed(j)) {
            fo_action_set(v->res, FO_ACTION_FAILED,
                          "vercel: deployment %s (%s) checks %s (checksConclusion): Vercel does "
                          "not promote it",
                          d->id, how, fo_json_str(j, "checksConclusion"));
        } else if (json_is_object(alias_err)) {
            const char *code = fo_json_str(alias_err, "code");
            const char *msg = fo_json_str(alias_err, "message");
            fo_action_set(v->res, FO_ACTION_FAILED,
                          "vercel: deployment %s (%s) READY but its alias failed: %.64s: %.200s",
                          d->id, how, code != NULL ? code : "", msg != NULL ? msg : "");
        } else if (strcmp(state, "READY") == 0 &&
                   json_is_true(json_object_get(j, "aliasAssigned"))) {
            fo_action_set(v->res, FO_ACTION_DONE,
                          "vercel: deployment %s (%s, %s) READY and serving %s after %llu ms",
                          d->id, how, d->url, v->target,
                          (unsigned long long)(fo_action_now_ms() - started));
        } else {
            s = NULL; /* still going */
        }
        fo_http_resp_free(&resp);
        if (s != NULL)
            return;
        if (fo_http_sleep(poll_ms, v->req->deadline_ms, v->req->cancel) != 0) {
            fo_action_set(v->res, FO_ACTION_FAILED,
                          "vercel: deployment %s (%s) still %s when the step %s", d->id, how, state,
                          fo_action_cancelled(v->req) ? "was cancelled" : "deadline came");
            return;
        }
    }
}

static void redeploy_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct vercel v;
    struct deployment prod = {0}, d = {0};
    struct fo_vercel_verify vv = {0};
    char project_id[128], name[128];
    uint64_t poll_ms, started = fo_action_now_ms();
    const char *how = "reused";
    int found = 0;

    if (vercel_open(&v, req, res) != 0)
        return;
    if (req->op_id == NULL || req->op_id[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "vercel.redeploy needs the operation id");
        goto out;
    }
    if (fo_action_param_u64(req, "poll_ms", 2000, 10, 600000, &poll_ms, res) != 0 ||
        fo_vercel_verify_prepare(req, &vv, res) != 0)
        goto out;
    if (redeploy_project(&v, project_id, name, sizeof(project_id), &prod) != 0)
        goto out;
    found = redeploy_find(&v, project_id, &d);
    if (found < 0)
        goto out;
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE,
                      "check: project %.64s production deployment %s (%s) found; %s%s", name,
                      prod.id, prod.url,
                      found ? "already redeployed for this operation" : "would redeploy it",
                      vv.url != NULL ? " and verify what it serves" : "");
        goto out;
    }
    /* Create only when no earlier run did; after an ambiguous failure look again. */
    for (int round = 0; found == 0; round++) {
        if (redeploy_create(&v, project_id, name, &prod, &d) == 0) {
            how = "created";
            break;
        }
        if (res->status != FO_ACTION_FAILED || round == 2 ||
            fo_http_sleep(500u << round, req->deadline_ms, req->cancel) != 0)
            goto out;
        found = redeploy_find(&v, project_id, &d);
        if (found < 0)
            goto out;
    }
    redeploy_wait(&v, &d, how, poll_ms, started);
    if (res->status == FO_ACTION_DONE)
        fo_vercel_verify_run(req, &vv, d.id, d.url, res);
out:
    fo_vercel_verify_wipe(&vv);
    vercel_close(&v);
}

static const char *const env_required[] = {"token_file", "project", NULL};
static const char *const env_optional[] = {"api_url", "team_id",   "target",
                                           "env.",    "env_file.", NULL};
static const char *const redeploy_required[] = {"token_file", "project", NULL};
static const char *const redeploy_optional[] = {"api_url", "team_id",    "target",
                                                "poll_ms", "verify_url", "verify_bypass_file",
                                                "env.",    "env_file.",  NULL};

const struct fo_action_kind fo_action_vercel_env = {
    .name = "vercel.env",
    .run = env_run,
    .required = env_required,
    .optional = env_optional,
    .at_most_once = false,
};

const struct fo_action_kind fo_action_vercel_redeploy = {
    .name = "vercel.redeploy",
    .run = redeploy_run,
    .required = redeploy_required,
    .optional = redeploy_optional,
    .at_most_once = false,
};
