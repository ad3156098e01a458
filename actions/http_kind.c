/*
 * actions/http_kind.c — the generic `http` action kind (fo_action_http in kinds.h), on the
 * client of http.h. Split from http.c to keep each file one concern.
 */
#include <stdio.h>
#include <string.h>

#include "actions/http.h"
#include "actions/kinds.h"
#include "actions/secret.h"

/* ---- the `http` kind ------------------------------------------------------------------
 *
 * Parameters: url, or url_file (a URL that is a secret, read from a file: its path is
 * never shown), method (GET), body (raw text; Content-Type application/json unless a
 * header.Content-Type says otherwise), expect_status (200), header.NAME (extra headers;
 * values are never shown), token_file (sent as Bearer). DONE when the answer has
 * expect_status. GET, HEAD, PUT and DELETE are retried on every transient failure;
 * POST and PATCH only when the request was surely not processed (429, no connection)
 * or on 5xx. Check mode sends GET/HEAD (reachability: any answer is DONE) and sends
 * nothing else. Details show the URL without its query string.
 */

#define HTTP_MAX_HEADERS 16

static void http_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *url = fo_action_param(req, "url");
    const char *url_file = fo_action_param(req, "url_file");
    const char *method = fo_action_param(req, "method");
    const char *body = fo_action_param(req, "body");
    struct fo_http_header hdr[HTTP_MAX_HEADERS];
    struct fo_http_req hr = {0};
    struct fo_http_resp resp;
    char token[4096], auth[4200], where[256], what[300], secret_url[FO_HTTP_URL_MAX];
    uint64_t expect;
    size_t nh = 0;
    bool idempotent;
    int rc;

    token[0] = '\0';
    secret_url[0] = '\0';
    method = method != NULL ? method : "GET";
    if ((url == NULL) == (url_file == NULL)) {
        fo_action_set(res, FO_ACTION_REFUSED, "http needs one of the parameters url, url_file");
        return;
    }
    if (fo_action_param_u64(req, "expect_status", 200, 100, 599, &expect, res) != 0)
        return;
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0 && strcmp(method, "POST") != 0 &&
        strcmp(method, "PUT") != 0 && strcmp(method, "PATCH") != 0 &&
        strcmp(method, "DELETE") != 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter method: '%.16s' is not one of GET, HEAD, "
                      "POST, PUT, PATCH, DELETE",
                      method);
        return;
    }
    if (url_file != NULL) {
        if (fo_action_read_secret(req, "url_file", secret_url, sizeof(secret_url), res) != 0)
            goto out;
        url = secret_url;
    }
    if (fo_http_url_check(url, what, sizeof(what)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter %s: %s", url_file ? "url_file" : "url",
                      what);
        goto out;
    }
    for (size_t i = 0; i < req->nparams; i++) {
        if (strncmp(req->params[i].key, "header.", 7) != 0)
            continue;
        if (nh == HTTP_MAX_HEADERS) {
            fo_action_set(res, FO_ACTION_REFUSED, "more than %d header.NAME parameters",
                          HTTP_MAX_HEADERS);
            goto out;
        }
        hdr[nh].name = req->params[i].key + 7;
        hdr[nh++].value = req->params[i].value;
    }
    if (fo_action_param(req, "token_file") != NULL) {
        if (fo_action_read_secret(req, "token_file", token, sizeof(token), res) != 0)
            goto out;
        snprintf(auth, sizeof(auth), "Bearer %s", token);
    }
    fo_http_url_for_log(url, url_file != NULL, where, sizeof(where));
    snprintf(what, sizeof(what), "http: %s %s", method, where);
    idempotent = strcmp(method, "POST") != 0 && strcmp(method, "PATCH") != 0;
    if (req->check_only && strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
        fo_action_set(res, FO_ACTION_DONE, "check: would send %s (expecting HTTP %llu); not sent",
                      what + 6, (unsigned long long)expect);
        goto out;
    }
    hr.method = method;
    hr.url = url;
    hr.url_secret = url_file != NULL;
    hr.auth = token[0] != '\0' ? auth : NULL;
    hr.headers = hdr;
    hr.nheaders = nh;
    hr.body = body;
    hr.body_len = body != NULL ? strlen(body) : 0;
    hr.deadline_ms = req->deadline_ms;
    hr.cancel = req->cancel;
    hr.retry_on = idempotent ? FO_HTTP_RETRY_ALL : FO_HTTP_RETRY_SAFE | FO_HTTP_RETRY_5XX;
    rc = fo_http_request(&hr, &resp);
    if (rc == FO_HTTP_OK && req->check_only)
        fo_action_set(res, FO_ACTION_DONE, "check: %s answered HTTP %ld", what + 6, resp.status);
    else if (rc == FO_HTTP_OK && (uint64_t)resp.status == expect)
        fo_action_set(res, FO_ACTION_DONE, "%s: HTTP %ld as expected", what, resp.status);
    else if (rc == FO_HTTP_OK && resp.status != 401 && resp.status != 403 && resp.status < 500 &&
             resp.status != 429) {
        fo_action_set(res, FO_ACTION_FAILED, "%s: HTTP %ld, expected %llu", what, resp.status,
                      (unsigned long long)expect);
    } else {
        fo_http_fail(res, what, rc, &resp);
    }
    fo_http_resp_free(&resp);
out:
    fo_http_redact(res->detail, token);
    fo_http_redact(res->detail, secret_url);
    for (size_t i = 0; i < nh; i++)
        fo_http_redact(res->detail, hdr[i].value);
    fo_secret_wipe(token, sizeof(token));
    fo_secret_wipe(auth, sizeof(auth));
    fo_secret_wipe(secret_url, sizeof(secret_url));
}

static const char *const http_required[] = {NULL};
static const char *const http_optional[] = {"url",           "url_file", "method",     "body",
                                            "expect_status", "header.",  "token_file", NULL};

const struct fo_action_kind fo_action_http = {
    .name = "http",
    .run = http_run,
    .required = http_required,
    .optional = http_optional,
    .at_most_once = false,
};
