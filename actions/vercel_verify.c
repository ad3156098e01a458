/*
 * actions/vercel_verify.c — see vercel_verify.h.
 */
#include "actions/vercel_verify.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "actions/http.h"
#include "actions/secret.h"

/* One fact in one place: which variable each reported field reflects. */
static const struct {
    const char *env;   /* the variable the step sets */
    const char *field; /* what the app reports */
    bool url;          /* the variable is a URL: its host is compared */
} fields[FO_VERIFY_NFIELDS] = {
    [FO_VERIFY_DATABASE_HOST] = {"DATABASE_URL", "database_host", true},
    [FO_VERIFY_REDIS_HOST] = {"REDIS_HOST", "redis_host", false},
};

/* The host of "scheme://[user[:password]@]host[:port][/...]" ("[v6]" without brackets).
 * 0, or -1 when url is not of that form. */
static int url_host(const char *url, char *out, size_t cap)
{
    const char *p = strstr(url, "://"), *end, *at, *h;
    size_t n;

    if (p == NULL)
        return -1;
    p += 3;
    end = p + strcspn(p, "/?#");
    at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    h = at != NULL ? at + 1 : p;
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(end - h));
        if (close == NULL)
            return -1;
        h++;
        n = (size_t)(close - h);
    } else {
        const char *colon = memchr(h, ':', (size_t)(end - h));
        n = (size_t)((colon != NULL ? colon : end) - h);
    }
    if (n == 0 || n >= cap)
        return -1;
    memcpy(out, h, n);
    out[n] = '\0';
    return 0;
}

/* env.NAME, or the content of the file env_file.NAME names, into buf: 1, 0 none, -1
 * error (res set). */
static int env_value(const struct fo_action_req *req, const char *name, char *buf, size_t cap,
                     struct fo_action_result *res)
{
    char key[64];
    const char *p;
    struct fo_error err;

    snprintf(key, sizeof(key), "env.%s", name);
    if ((p = fo_action_param(req, key)) != NULL) {
        snprintf(buf, cap, "%s", p);
        return 1;
    }
    snprintf(key, sizeof(key), "env_file.%s", name);
    if ((p = fo_action_param(req, key)) == NULL)
        return 0;
    if (fo_secret_read_file(p, buf, cap, &err) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "%s: %s", key, err.msg);
        return -1;
    }
    return 1;
}

int fo_vercel_verify_prepare(const struct fo_action_req *req, struct fo_vercel_verify *vv,
                             struct fo_action_result *res)
{
    const char *bypass = fo_action_param(req, "verify_bypass_file");
    char value[8192], err[160];
    int want = 0;

    memset(vv, 0, sizeof(*vv));
    vv->url = fo_action_param(req, "verify_url");
    if (vv->url == NULL)
        return 0;
    /* "{url}" stands for a host: check the URL with a loopback stand-in for it. */
    if (strstr(vv->url, "://") == NULL ||
        (strstr(vv->url, "{url}") == NULL && fo_http_url_check(vv->url, err, sizeof(err)) != 0)) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter verify_url: not an http(s) URL%s%s",
                      strstr(vv->url, "://") != NULL ? ": " : "",
                      strstr(vv->url, "://") != NULL ? err : "");
        return -1;
    }
    for (int i = 0; i < FO_VERIFY_NFIELDS; i++) {
        int rc = env_value(req, fields[i].env, value, sizeof(value), res);
        if (rc < 0)
            return -1;
        if (rc > 0 && fields[i].url && url_host(value, vv->want[i], sizeof(vv->want[i])) != 0) {
            fo_secret_wipe(value, sizeof(value));
            fo_action_set(res, FO_ACTION_REFUSED,
                          "verify_url: %s is not a URL with a host (scheme://user@host/db)",
                          fields[i].env);
            return -1;
        }
        if (rc > 0 && !fields[i].url) {
            size_t len = strlen(value);
            if (len >= sizeof(vv->want[i])) {
                fo_action_set(res, FO_ACTION_REFUSED, "verify_url: %s is too long", fields[i].env);
                return -1;
            }
            memcpy(vv->want[i], value, len + 1);
        }
        want += rc > 0;
        fo_secret_wipe(value, sizeof(value));
    }
    if (want == 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "verify_url needs the values to expect: env.DATABASE_URL or "
                      "env_file.DATABASE_URL, env.REDIS_HOST (the target site's vercel_env)");
        return -1;
    }
    if (bypass != NULL) {
        struct fo_error e;
        if (fo_secret_read_file(bypass, vv->bypass, sizeof(vv->bypass), &e) != 0) {
            fo_action_set(res, FO_ACTION_REFUSED, "verify_bypass_file: %s", e.msg);
            return -1;
        }
    }
    return 0;
}

/* vv->url with "{url}" replaced by host, into out. 0 or -1 (too long). */
static int expand(const char *tmpl, const char *host, char *out, size_t cap)
{
    const char *at = strstr(tmpl, "{url}");
    int n = at == NULL ? snprintf(out, cap, "%s", tmpl)
                       : snprintf(out, cap, "%.*s%s%s", (int)(at - tmpl), tmpl, host, at + 5);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

void fo_vercel_verify_run(const struct fo_action_req *req, const struct fo_vercel_verify *vv,
                          const char *dep_id, const char *host, struct fo_action_result *res)
{
    struct fo_http_header h = {"x-vercel-protection-bypass", vv->bypass};
    struct fo_http_req hr = {0};
    struct fo_http_resp resp;
    char url[FO_HTTP_URL_MAX], where[256], what[320], got_text[300] = "";
    size_t n = 0;
    int rc;

    if (vv->url == NULL)
        return;
    if (expand(vv->url, host, url, sizeof(url)) != 0 ||
        fo_http_url_check(url, what, sizeof(what)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "vercel: verify_url for deployment %s: %s", dep_id,
                      "not a URL that may be fetched");
        return;
    }
    fo_http_url_for_log(url, false, where, sizeof(where));
    snprintf(what, sizeof(what), "vercel: verify GET %s", where);
    hr.url = url;
    hr.headers = &h;
    hr.nheaders = vv->bypass[0] != '\0' ? 1 : 0;
    hr.deadline_ms = req->deadline_ms;
    hr.cancel = req->cancel;
    hr.retry_on = FO_HTTP_RETRY_ALL; /* a GET */
    rc = fo_http_request(&hr, &resp);
    if (rc != FO_HTTP_OK || resp.status < 200 || resp.status > 299) {
        fo_http_fail(res, what, rc, &resp);
        fo_http_resp_free(&resp);
        return;
    }
    for (int i = 0; i < FO_VERIFY_NFIELDS && res->status == FO_ACTION_DONE; i++) {
        const char *got = fo_json_str(resp.json, fields[i].field);
        if (vv->want[i][0] == '\0')
            continue;
        if (got == NULL)
            fo_action_set(res, FO_ACTION_REFUSED,
                          "%s: no string \"%s\" in the answer (the app's health endpoint must "
                          "report it, see README)",
                          what, fields[i].field);
        else if (strcasecmp(got, vv->want[i]) != 0)
            fo_action_set(res, FO_ACTION_REFUSED,
                          "vercel: deployment %s serves %s=%.100s, expected %.100s: it kept the "
                          "environment of the deployment it copied",
                          dep_id, fields[i].field, got, vv->want[i]);
        else
            n += (size_t)snprintf(got_text + n, sizeof(got_text) - n, "%s%s=%.100s",
                                  n > 0 ? ", " : "", fields[i].field, got);
    }
    if (res->status == FO_ACTION_DONE) {
        size_t len = strlen(res->detail);
        snprintf(res->detail + len, sizeof(res->detail) - len, "; verified %s", got_text);
    }
    fo_http_resp_free(&resp);
}

void fo_vercel_verify_wipe(struct fo_vercel_verify *vv)
{
    fo_secret_wipe(vv->bypass, sizeof(vv->bypass));
}
