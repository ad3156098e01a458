/*
 * actions/cloudflare.c — the Cloudflare kinds (reference §2, DESIGN §7).
 *
 * Common parameters: token_file (API token, sent as Bearer), api_url (default
 * https://api.cloudflare.com/client/v4). Every answer is the v4 envelope: success needs
 * HTTP 2xx AND "success": true; otherwise the errors[] codes and messages go into the
 * detail ("10000 Authentication error"). Read before write: a 429 blocks a token for
 * five minutes (reference §7.4), so nothing is written that is already right.
 *
 * cloudflare.dns — zone_id, content (the new origin), and record_id or record_name
 *   (with type, default A; both may be given, then the record found must match them).
 *   proxied (true/false) and ttl (1 = automatic, or 30..86400) are optional. GET the
 *   zone, then the record; content (and proxied/ttl when given) already right → DONE
 *   without a write; else PATCH (a partial update: other fields stay, reference §2.3)
 *   and check the answer. Check mode: the GETs only.
 *   Cloudflare's rules, checked here before any write (and in check mode):
 *   - A record's name is complete in the API ("api.example.com"): a filter on "api"
 *     finds nothing. record_name is completed the way the dashboard and Terraform read
 *     it: "@" is the zone apex, a name that does not end in the zone's name gets it
 *     appended ("api" → "api.example.com"), and a trailing dot marks a name as complete
 *     ("api.example.com." is taken as written). The zone's name comes from GET
 *     /zones/{zone_id}, which a DNS-edit token may read.
 *   - A TTL of 30..59 is only for Enterprise zones ("between 60 and 86400, with the
 *     minimum reduced to 30 for Enterprise zones"): the zone's plan (plan.legacy_id) is
 *     read rather than configured, so a plan change needs no config change; on any
 *     other plan such a ttl is REFUSED, naming the plan.
 *
 * cloudflare.pool — account_id, enable_pool (pool id), disable_pool (optional pool id).
 *   GET each pool; PATCH {"enabled": true} on enable_pool, then {"enabled": false} on
 *   disable_pool, each only if needed (enable first, so traffic always has a pool).
 *   Check mode: the GETs only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actions/http.h"
#include "actions/kinds.h"
#include "actions/secret.h"

#define CLOUDFLARE_API "https://api.cloudflare.com/client/v4"

struct cf {
    const struct fo_action_req *req;
    struct fo_action_result *res;
    const char *api;
    char token[1024];
    char auth[1100];
};

static int cf_open(struct cf *c, const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *api = fo_action_param(req, "api_url");

    memset(c, 0, sizeof(*c));
    c->req = req;
    c->res = res;
    c->api = api != NULL ? api : CLOUDFLARE_API;
    if (fo_action_read_secret(req, "token_file", c->token, sizeof(c->token), res) != 0)
        return -1;
    snprintf(c->auth, sizeof(c->auth), "Bearer %s", c->token);
    return 0;
}

static void cf_close(struct cf *c)
{
    fo_http_redact(c->res->detail, c->token);
    fo_secret_wipe(c->token, sizeof(c->token));
    fo_secret_wipe(c->auth, sizeof(c->auth));
}

/* One call; on success *result is the envelope's result (borrowed from resp). 0, or -1
 * with res set. resp must be freed by the caller either way. */
static int cf_call(struct cf *c, const char *method, const struct fo_http_url *u, json_t *body,
                   struct fo_http_resp *resp, const char *what, const json_t **result)
{
    struct fo_http_req hr = {0};
    char msg[160];
    int rc;

    memset(resp, 0, sizeof(*resp));
    snprintf(msg, sizeof(msg), "cloudflare: %s", what);
    if (u->overflow) {
        fo_action_set(c->res, FO_ACTION_REFUSED, "%s: URL too long", msg);
        return -1;
    }
    hr.method = method;
    hr.url = u->buf;
    hr.auth = c->auth;
    hr.json = body;
    hr.deadline_ms = c->req->deadline_ms;
    hr.cancel = c->req->cancel;
    hr.retry_on = FO_HTTP_RETRY_ALL; /* GET and PATCH of the same values are idempotent */
    rc = fo_http_request(&hr, resp);
    if (rc != FO_HTTP_OK || resp->status < 200 || resp->status > 299) {
        fo_http_fail(c->res, msg, rc, resp);
        return -1;
    }
    if (!json_is_true(json_object_get(resp->json, "success"))) {
        char api[200];
        fo_http_api_error(resp, api, sizeof(api));
        fo_action_set(c->res, FO_ACTION_REFUSED, "%s: HTTP %ld but success is not true%s%s", msg,
                      resp->status, api[0] != '\0' ? ": " : "", api);
        return -1;
    }
    *result = json_object_get(resp->json, "result");
    return 0;
}

static int parse_bool(const struct fo_action_req *req, const char *key, int *out,
                      struct fo_action_result *res)
{
    const char *s = fo_action_param(req, key);

    *out = -1;
    if (s == NULL)
        return 0;
    if (strcmp(s, "true") == 0)
        *out = 1;
    else if (strcmp(s, "false") == 0)
        *out = 0;
    else
        return fo_action_set(res, FO_ACTION_REFUSED, "parameter %s: true or false", key), -1;
    return 0;
}

/* ---- cloudflare.dns -------------------------------------------------------------------- */

#define CF_TTL_MIN            60 /* every plan */
#define CF_TTL_MIN_ENTERPRISE 30

struct cf_zone {
    char name[256]; /* lower case, no trailing dot */
    char plan[64];  /* the plan's name, for messages */
    bool enterprise;
};

/* GET /zones/{zone}: its name and plan. 0 or -1 with res set. */
static int zone_get(struct cf *c, const char *zone, struct cf_zone *z)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    const json_t *result = NULL;
    int rc = -1;

    memset(z, 0, sizeof(*z));
    fo_http_url_init(&u, c->api);
    fo_http_url_path(&u, "/zones");
    fo_http_url_segment(&u, zone);
    if (cf_call(c, "GET", &u, NULL, &resp, "GET zone", &result) == 0) {
        const char *name = fo_json_str(result, "name");
        const json_t *plan = json_object_get(result, "plan");
        const char *legacy = fo_json_str(plan, "legacy_id"), *pname = fo_json_str(plan, "name");
        if (name == NULL || name[0] == '\0' || strlen(name) >= sizeof(z->name)) {
            fo_action_set(c->res, FO_ACTION_FAILED, "cloudflare: GET zone %.64s: no zone name",
                          zone);
        } else {
            snprintf(z->name, sizeof(z->name), "%s", name);
            for (char *p = z->name; *p != '\0'; p++)
                *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
            if (z->name[strlen(z->name) - 1] == '.')
                z->name[strlen(z->name) - 1] = '\0';
            snprintf(z->plan, sizeof(z->plan), "%s",
                     pname != NULL    ? pname
                     : legacy != NULL ? legacy
                                      : "unknown");
            z->enterprise = legacy != NULL && strcmp(legacy, "enterprise") == 0;
            rc = 0;
        }
    }
    fo_http_resp_free(&resp);
    return rc;
}

/* name as the API spells it (see the header): into out. 0, or -1 when it does not fit. */
static int dns_fqdn(const char *name, const struct cf_zone *z, char *out, size_t cap)
{
    size_t n = strlen(name), zn = strlen(z->name);
    int w;

    if (strcmp(name, "@") == 0)
        w = snprintf(out, cap, "%s", z->name);
    else if (n > 1 && name[n - 1] == '.') /* complete as written */
        w = snprintf(out, cap, "%.*s", (int)(n - 1), name);
    else if (strcasecmp(name, z->name) == 0 ||
             (n > zn && name[n - zn - 1] == '.' && strcasecmp(name + n - zn, z->name) == 0))
        w = snprintf(out, cap, "%s", name);
    else
        w = snprintf(out, cap, "%s.%s", name, z->name);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* The record to change, copied into *rec (new reference). 0 or -1 with res set. */
static int dns_find(struct cf *c, const char *zone, const char *id, const char *name,
                    const char *type, json_t **rec)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    const json_t *result = NULL;
    int rc = -1;

    fo_http_url_init(&u, c->api);
    fo_http_url_path(&u, "/zones");
    fo_http_url_segment(&u, zone);
    fo_http_url_path(&u, "/dns_records");
    if (id != NULL) {
        fo_http_url_segment(&u, id);
    } else {
        fo_http_url_query(&u, "type", type);
        fo_http_url_query(&u, "name.exact", name);
        fo_http_url_query(&u, "per_page", "100");
    }
    if (cf_call(c, "GET", &u, NULL, &resp, "GET dns record", &result) == 0) {
        if (id == NULL && json_array_size(result) != 1) {
            fo_action_set(c->res, FO_ACTION_REFUSED,
                          "cloudflare: %zu %s records named %.128s in zone %.64s (need exactly "
                          "one; give record_id)",
                          json_array_size(result), type, name, zone);
        } else {
            const json_t *r = id == NULL ? json_array_get(result, 0) : result;
            const char *rname = fo_json_str(r, "name"), *rtype = fo_json_str(r, "type");
            if (!json_is_object(r) || rname == NULL || rtype == NULL ||
                fo_json_str(r, "content") == NULL) {
                fo_action_set(c->res, FO_ACTION_FAILED, "cloudflare: GET dns record: no record");
            } else if (id != NULL && ((name != NULL && strcasecmp(rname, name) != 0) ||
                                      strcasecmp(rtype, type) != 0)) {
                fo_action_set(c->res, FO_ACTION_REFUSED,
                              "cloudflare: record %.64s is %.128s %.16s, not %.128s %.16s", id,
                              rname, rtype, name != NULL ? name : rname, type);
            } else {
                *rec = json_deep_copy(r);
                rc = *rec != NULL ? 0 : -1;
            }
        }
    }
    fo_http_resp_free(&resp);
    return rc;
}

static bool dns_same(const json_t *rec, const char *content, int proxied, uint64_t ttl)
{
    const json_t *t = json_object_get(rec, "ttl");
    if (strcasecmp(fo_json_str(rec, "content"), content) != 0)
        return false;
    if (proxied >= 0 && json_is_true(json_object_get(rec, "proxied")) != (proxied == 1))
        return false;
    return ttl == 0 || (json_is_integer(t) && (uint64_t)json_integer_value(t) == ttl);
}

static void dns_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *zone = fo_action_param(req, "zone_id");
    const char *content = fo_action_param(req, "content");
    const char *id = fo_action_param(req, "record_id");
    const char *name = fo_action_param(req, "record_name");
    const char *type = fo_action_param(req, "type");
    struct fo_http_url u;
    struct fo_http_resp resp;
    const json_t *result = NULL;
    json_t *rec = NULL, *body;
    char old[256], fqdn[300];
    struct cf_zone z;
    uint64_t ttl;
    int proxied;
    struct cf c;

    type = type != NULL ? type : "A";
    if (id == NULL && name == NULL) {
        fo_action_set(res, FO_ACTION_REFUSED, "cloudflare.dns needs record_id or record_name");
        return;
    }
    if (content == NULL || content[0] == '\0' || zone == NULL || zone[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "cloudflare.dns needs zone_id and content");
        return;
    }
    if (parse_bool(req, "proxied", &proxied, res) != 0 ||
        fo_action_param_u64(req, "ttl", 0, 1, 86400, &ttl, res) != 0)
        return;
    if (ttl > 1 && ttl < CF_TTL_MIN_ENTERPRISE) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter ttl: 1 (automatic) or 30..86400");
        return;
    }
    if (cf_open(&c, req, res) != 0)
        return;
    if (zone_get(&c, zone, &z) != 0)
        goto out;
    if (ttl > 1 && ttl < CF_TTL_MIN && !z.enterprise) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter ttl: %llu is below %d, which only Enterprise zones allow; zone "
                      "%.128s is on %.64s",
                      (unsigned long long)ttl, CF_TTL_MIN, z.name, z.plan);
        goto out;
    }
    if (name != NULL && dns_fqdn(name, &z, fqdn, sizeof(fqdn)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter record_name: too long");
        goto out;
    }
    if (dns_find(&c, zone, id, name != NULL ? fqdn : NULL, type, &rec) != 0)
        goto out;
    snprintf(old, sizeof(old), "%s", fo_json_str(rec, "content"));
    name = fo_json_str(rec, "name");
    if (dns_same(rec, content, proxied, ttl)) {
        fo_action_set(res, FO_ACTION_DONE, "%scloudflare: %.128s %.16s already %.128s (no change)",
                      req->check_only ? "check: " : "", name, type, content);
        goto out;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE,
                      "check: cloudflare: %.128s %.16s is %.128s; would set "
                      "%.128s",
                      name, type, old, content);
        goto out;
    }
    body = json_pack("{s:s}", "content", content);
    if (proxied >= 0)
        json_object_set_new(body, "proxied", json_boolean(proxied));
    if (ttl != 0)
        json_object_set_new(body, "ttl", json_integer((json_int_t)ttl));
    fo_http_url_init(&u, c.api);
    fo_http_url_path(&u, "/zones");
    fo_http_url_segment(&u, zone);
    fo_http_url_path(&u, "/dns_records");
    fo_http_url_segment(&u, fo_json_str(rec, "id"));
    if (cf_call(&c, "PATCH", &u, body, &resp, "PATCH dns record", &result) == 0) {
        if (fo_json_str(result, "content") != NULL &&
            strcasecmp(fo_json_str(result, "content"), content) != 0)
            fo_action_set(res, FO_ACTION_FAILED,
                          "cloudflare: PATCH dns record: the answer still has %.128s",
                          fo_json_str(result, "content"));
        else
            fo_action_set(res, FO_ACTION_DONE, "cloudflare: %.128s %.16s %.128s -> %.128s", name,
                          type, old, content);
    }
    fo_http_resp_free(&resp);
    json_decref(body);
out:
    json_decref(rec);
    cf_close(&c);
}

/* ---- cloudflare.pool ------------------------------------------------------------------ */

static void pool_url(struct cf *c, struct fo_http_url *u, const char *account, const char *pool)
{
    fo_http_url_init(u, c->api);
    fo_http_url_path(u, "/accounts");
    fo_http_url_segment(u, account);
    fo_http_url_path(u, "/load_balancers/pools");
    fo_http_url_segment(u, pool);
}

/* *enabled of the pool: 0 or -1 with res set. */
static int pool_get(struct cf *c, const char *account, const char *pool, bool *enabled)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    const json_t *result = NULL;
    int rc = -1;

    pool_url(c, &u, account, pool);
    if (cf_call(c, "GET", &u, NULL, &resp, "GET pool", &result) == 0) {
        const json_t *e = json_object_get(result, "enabled");
        if (!json_is_boolean(e)) {
            fo_action_set(c->res, FO_ACTION_FAILED, "cloudflare: GET pool %.64s: no enabled flag",
                          pool);
        } else {
            *enabled = json_is_true(e);
            rc = 0;
        }
    }
    fo_http_resp_free(&resp);
    return rc;
}

static int pool_set(struct cf *c, const char *account, const char *pool, bool enabled)
{
    struct fo_http_url u;
    struct fo_http_resp resp;
    const json_t *result = NULL;
    json_t *body = json_pack("{s:b}", "enabled", enabled);
    int rc = -1;

    pool_url(c, &u, account, pool);
    if (cf_call(c, "PATCH", &u, body, &resp, "PATCH pool", &result) == 0) {
        if (json_is_true(json_object_get(result, "enabled")) != enabled)
            fo_action_set(c->res, FO_ACTION_FAILED,
                          "cloudflare: PATCH pool %.64s: the answer is not %s", pool,
                          enabled ? "enabled" : "disabled");
        else
            rc = 0;
    }
    fo_http_resp_free(&resp);
    json_decref(body);
    return rc;
}

static void pool_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *account = fo_action_param(req, "account_id");
    const char *on = fo_action_param(req, "enable_pool");
    const char *off = fo_action_param(req, "disable_pool");
    bool on_was = false, off_was = false;
    char a[160], b[160];
    struct cf c;

    if (account == NULL || account[0] == '\0' || on == NULL || on[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "cloudflare.pool needs account_id and enable_pool");
        return;
    }
    if (off != NULL && strcmp(on, off) == 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "enable_pool and disable_pool are the same pool");
        return;
    }
    if (cf_open(&c, req, res) != 0)
        return;
    if (pool_get(&c, account, on, &on_was) != 0 ||
        (off != NULL && pool_get(&c, account, off, &off_was) != 0))
        goto out;
    snprintf(a, sizeof(a), "pool %.64s %s", on, on_was ? "already enabled" : "enabled");
    b[0] = '\0';
    if (off != NULL)
        snprintf(b, sizeof(b), "; pool %.64s %s", off, off_was ? "disabled" : "already disabled");
    if (req->check_only) {
        snprintf(a, sizeof(a), "pool %.64s is %s", on, on_was ? "enabled" : "disabled");
        if (off != NULL)
            snprintf(b, sizeof(b), ", pool %.64s is %s", off, off_was ? "enabled" : "disabled");
        fo_action_set(res, FO_ACTION_DONE, "check: cloudflare: %s%s; nothing changed", a, b);
        goto out;
    }
    if ((!on_was && pool_set(&c, account, on, true) != 0) ||
        (off != NULL && off_was && pool_set(&c, account, off, false) != 0))
        goto out;
    fo_action_set(res, FO_ACTION_DONE, "cloudflare: %s%s%s", a, b,
                  on_was && !off_was ? " (no change)" : "");
out:
    cf_close(&c);
}

static const char *const dns_required[] = {"token_file", "zone_id", "content", NULL};
static const char *const dns_optional[] = {"api_url", "record_id", "record_name", "type",
                                           "proxied", "ttl",       NULL};
static const char *const pool_required[] = {"token_file", "account_id", "enable_pool", NULL};
static const char *const pool_optional[] = {"api_url", "disable_pool", NULL};

const struct fo_action_kind fo_action_cloudflare_dns = {
    .name = "cloudflare.dns",
    .run = dns_run,
    .required = dns_required,
    .optional = dns_optional,
    .at_most_once = false,
};

const struct fo_action_kind fo_action_cloudflare_pool = {
    .name = "cloudflare.pool",
    .run = pool_run,
    .required = pool_required,
    .optional = pool_optional,
    .at_most_once = false,
};
