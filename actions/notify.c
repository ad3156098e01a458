/*
 * actions/notify.c — incident messages (notify.h) and the notify.* kinds (reference §6,
 * DESIGN §6, §7). Every kind needs req->event ("opened" or "resolved").
 *
 * notify.slack — webhook_url_file: the webhook URL, a secret (it is the credential), so
 *   neither it nor its path appears in a detail. POST {"text": title + body}; success is
 *   HTTP 200 whatever the body (reference §6.2). The text is escaped as Slack's
 *   formatting rules require (& < > as &amp; &lt; &gt;): a reason holding "<!channel>"
 *   or "a<b" must not become a mention or a broken link. Not idempotent, so
 *   at_most_once: the executor never sends it twice after an unknown outcome, and only
 *   what surely was not processed is retried here (429, no connection): a 5xx or a
 *   timeout may come after the message was posted, and a retry would post it twice.
 *   Check mode: the URL file is readable and the URL acceptable; nothing is sent (a
 *   webhook has no read call).
 *
 * notify.pagerduty — routing_key_file (the 32-character integration key, a secret),
 *   api_url (default https://events.pagerduty.com), severity (default critical), source
 *   (default failoverd). POST /v2/enqueue: trigger on opened, resolve on resolved, with
 *   dedup_key = the operation id, so repeats are absorbed by PagerDuty (reference §6.1)
 *   and every failure is retried. Success is HTTP 202. Check mode: the key file only.
 *
 * notify.statuspage — token_file (API key, sent as "Authorization: OAuth <key>"), page_id,
 *   api_url (default https://api.statuspage.io/v1), component_id and component_status
 *   (default major_outage) optional. The public text (notify.h) names the incident
 *   "… (ref <op id>)". opened: if an unresolved incident with that ref exists, DONE;
 *   else POST /pages/{page}/incidents (investigating). resolved: find the incident with
 *   that ref (unresolved first, then all with q=<op id>); resolved already → DONE; else
 *   PATCH it to resolved (component operational again); none at all → create it
 *   resolved, so the page still records what happened. Creation is not idempotent:
 *   at_most_once, and the create call is retried only when surely not processed.
 *   Statuspage's rules: an incident name has at most 255 characters (a longer title,
 *   from a long operation id, is REFUSED before any call, since a cut title would lose
 *   the ref); the incident lists are paged (page, per_page at most 100): pages are read
 *   until the incident, an empty page or a repeated page, up to SP_MAX_PAGES, so the
 *   incident is found among many open ones. Check
 *   mode: GET the unresolved incidents (key and page), and the name's length.
 */
#include "actions/notify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/http.h"
#include "actions/kinds.h"
#include "actions/secret.h"

#define PAGERDUTY_API  "https://events.pagerduty.com"
#define STATUSPAGE_API "https://api.statuspage.io/v1"
#define TITLE_MAX      400
#define SP_NAME_MAX    255 /* Statuspage: an incident name's characters */
#define SP_PER_PAGE    100 /* Statuspage: the largest page of a list */
#define SP_MAX_PAGES   50  /* 5000 incidents: past that, something is wrong */
#define BODY_MAX       3000

/* ---- messages ------------------------------------------------------------------------- */

static const char *or_unknown(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "unknown";
}

/* Append printf text to buf[*len..cap), marking a cut with "...". */
static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void put(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (*len + 1 >= cap)
        return;
    va_start(ap, fmt);
    n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= cap - *len) {
        *len = cap - 1;
        if (cap > 4)
            memcpy(buf + cap - 4, "...", 4);
        return;
    }
    *len += (size_t)n;
}

void fo_notify_ref(const struct fo_action_req *req, char *out, size_t cap)
{
    snprintf(out, cap, "(ref %s)", or_unknown(req->op_id));
}

/* "Failover", "Planned switchover", "Failover drill" */
static const char *noun(const char *kind)
{
    if (kind != NULL && strcmp(kind, "switchover") == 0)
        return "Planned switchover";
    if (kind != NULL && strcmp(kind, "drill") == 0)
        return "Failover drill";
    return "Failover";
}

static const char *started_by(const char *kind)
{
    if (kind != NULL && strcmp(kind, "auto") == 0)
        return "automatic, decided by a quorum of observers";
    if (kind != NULL && strcmp(kind, "manual") == 0)
        return "forced by an operator";
    if (kind != NULL && strcmp(kind, "switchover") == 0)
        return "planned by an operator";
    if (kind != NULL && strcmp(kind, "drill") == 0)
        return "a drill: nothing is changed";
    return or_unknown(kind);
}

static void team_message(const struct fo_action_req *req, bool opened, char *title, size_t tcap,
                         char *body, size_t bcap)
{
    const char *from = or_unknown(req->from), *to = or_unknown(req->to);
    size_t n = 0;

    snprintf(title, tcap, "[%s] %s from %s to %s %s (operation %s, epoch %llu)",
             opened ? "INCIDENT" : "RESOLVED", noun(req->op_kind), from, to,
             opened ? "started" : "complete", or_unknown(req->op_id),
             (unsigned long long)req->epoch);
    put(body, bcap, &n, "What happened: %s\n", or_unknown(req->reason));
    if (opened) {
        put(body, bcap, &n,
            "Impact: primary site %s is being replaced by %s; writes may fail until the "
            "failover completes.\n",
            from, to);
        put(body, bcap, &n,
            "Status: Under investigation - failoverd is running the failover plan (%s).\n",
            started_by(req->op_kind));
        put(body, bcap, &n,
            "Next update: when the failover completes (with its timeline), or "
            "within 30 minutes.");
    } else {
        put(body, bcap, &n,
            "Resolution: %s is now the primary site (epoch %llu); all services are operating "
            "normally.\n",
            to, (unsigned long long)req->epoch);
        put(body, bcap, &n, "Timeline:\n%s",
            req->timeline != NULL && req->timeline[0] != '\0' ? req->timeline : "(not recorded)");
    }
}

static void public_message(const struct fo_action_req *req, bool opened, char *title, size_t tcap,
                           char *body, size_t bcap)
{
    char ref[TITLE_MAX];

    fo_notify_ref(req, ref, sizeof(ref));
    snprintf(title, tcap, "Service disruption: moving to our standby region %s", ref);
    if (opened)
        snprintf(body, bcap,
                 "We are currently experiencing issues with our service and are moving it to our "
                 "standby region. Some requests may fail until this is complete. Our team is "
                 "working on it; updates will be provided every 30 minutes.");
    else
        snprintf(body, bcap,
                 "The issue has been resolved: the service now runs from our standby region and "
                 "all services are operating normally. We apologize for any inconvenience.");
}

int fo_notify_message(const struct fo_action_req *req, enum fo_notify_audience audience,
                      char *title, size_t tcap, char *body, size_t bcap)
{
    bool opened;

    title[0] = '\0';
    body[0] = '\0';
    if (req->event != NULL && strcmp(req->event, "opened") == 0) {
        opened = true;
    } else if (req->event != NULL && strcmp(req->event, "resolved") == 0) {
        opened = false;
    } else {
        snprintf(title, tcap, "event must be \"opened\" or \"resolved\", not \"%.32s\"",
                 req->event != NULL ? req->event : "(none)");
        return -1;
    }
    if (audience == FO_NOTIFY_PUBLIC)
        public_message(req, opened, title, tcap, body, bcap);
    else
        team_message(req, opened, title, tcap, body, bcap);
    return 0;
}

static bool is_opened(const struct fo_action_req *req)
{
    return strcmp(req->event, "opened") == 0;
}

/* ---- notify.slack ------------------------------------------------------------------------ */

/* in with Slack's three control characters escaped, into out (cut before an entity that
 * does not fit, always terminated). Slack reads everything else literally. */
static void slack_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; *in != '\0'; in++) {
        const char *rep = *in == '&' ? "&amp;" : *in == '<' ? "&lt;" : *in == '>' ? "&gt;" : NULL;
        size_t len = rep != NULL ? strlen(rep) : 1;
        if (n + len + 1 > cap)
            break;
        memcpy(out + n, rep != NULL ? rep : in, len);
        n += len;
    }
    out[n] = '\0';
}

static void slack_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    char url[2048], where[256], title[TITLE_MAX], body[BODY_MAX], text[TITLE_MAX + BODY_MAX + 2];
    char escaped[5 * sizeof(text)]; /* "&amp;" is 5 bytes for 1 */
    struct fo_http_req hr = {0};
    struct fo_http_resp resp;
    json_t *msg;
    int rc;

    if (fo_notify_message(req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "notify.slack: %s", title);
        return;
    }
    if (fo_action_read_secret(req, "webhook_url_file", url, sizeof(url), res) != 0)
        return;
    fo_http_url_for_log(url, true, where, sizeof(where));
    if (fo_http_url_check(url, text, sizeof(text)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "webhook_url_file: %s", text);
        goto out;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "check: slack webhook %s configured; nothing sent",
                      where);
        goto out;
    }
    snprintf(text, sizeof(text), "%s\n%s", title, body);
    slack_escape(text, escaped, sizeof(escaped));
    msg = json_pack("{s:s}", "text", escaped);
    hr.method = "POST";
    hr.url = url;
    hr.url_secret = true;
    hr.json = msg;
    hr.deadline_ms = req->deadline_ms;
    hr.cancel = req->cancel;
    hr.retry_on = FO_HTTP_RETRY_SAFE; /* a 5xx may follow the post: no duplicate */
    rc = fo_http_request(&hr, &resp);
    if (rc == FO_HTTP_OK && resp.status == 200)
        fo_action_set(res, FO_ACTION_DONE, "slack: incident %s message sent to %s", req->event,
                      where);
    else
        fo_http_fail(res, "slack: POST webhook", rc, &resp);
    fo_http_resp_free(&resp);
    json_decref(msg);
out:
    fo_http_redact(res->detail, url);
    fo_secret_wipe(url, sizeof(url));
}

/* ---- notify.pagerduty -------------------------------------------------------------------- */

static void pagerduty_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *api = fo_action_param(req, "api_url");
    const char *severity = fo_action_param(req, "severity");
    const char *source = fo_action_param(req, "source");
    char key[256], title[TITLE_MAX], body[BODY_MAX];
    struct fo_http_req hr = {0};
    struct fo_http_resp resp;
    struct fo_http_url u;
    json_t *ev = NULL;
    int rc;

    severity = severity != NULL ? severity : "critical";
    source = source != NULL ? source : "failoverd";
    if (fo_notify_message(req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "notify.pagerduty: %s", title);
        return;
    }
    if (strcmp(severity, "critical") != 0 && strcmp(severity, "error") != 0 &&
        strcmp(severity, "warning") != 0 && strcmp(severity, "info") != 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter severity: critical, error, warning or info");
        return;
    }
    if (req->op_id == NULL || req->op_id[0] == '\0' || strlen(req->op_id) > 255) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "notify.pagerduty needs an operation id of 1..255 "
                      "characters (the dedup key)");
        return;
    }
    if (fo_action_read_secret(req, "routing_key_file", key, sizeof(key), res) != 0)
        return;
    if (strlen(key) != 32) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "routing_key_file: the routing key must be 32 "
                      "characters, it has %zu",
                      strlen(key));
        goto out;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "check: pagerduty routing key present; nothing sent");
        goto out;
    }
    if (is_opened(req))
        ev = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, "
                       "s:I, s:s}}, s:s}",
                       "routing_key", key, "event_action", "trigger", "dedup_key", req->op_id,
                       "payload", "summary", title, "source", source, "severity", severity,
                       "component", "failoverd", "group", or_unknown(req->to), "class", "failover",
                       "custom_details", "operation", req->op_id, "kind", or_unknown(req->op_kind),
                       "from", or_unknown(req->from), "to", or_unknown(req->to), "epoch",
                       (json_int_t)req->epoch, "reason", or_unknown(req->reason), "client",
                       "failoverd");
    else
        ev = json_pack("{s:s, s:s, s:s}", "routing_key", key, "event_action", "resolve",
                       "dedup_key", req->op_id);
    fo_http_url_init(&u, api != NULL ? api : PAGERDUTY_API);
    fo_http_url_path(&u, "/v2/enqueue");
    hr.method = "POST";
    hr.url = u.buf;
    hr.json = ev;
    hr.deadline_ms = req->deadline_ms;
    hr.cancel = req->cancel;
    hr.retry_on = FO_HTTP_RETRY_ALL; /* the dedup key makes repeats harmless */
    rc = ev != NULL && !u.overflow ? fo_http_request(&hr, &resp) : FO_HTTP_EINVAL;
    if (rc == FO_HTTP_EINVAL && (ev == NULL || u.overflow)) {
        memset(&resp, 0, sizeof(resp));
        snprintf(resp.error, sizeof(resp.error), "cannot build the event");
    }
    if (rc == FO_HTTP_OK && resp.status == 202)
        fo_action_set(res, FO_ACTION_DONE, "pagerduty: %s accepted (dedup_key %s)",
                      is_opened(req) ? "trigger" : "resolve", req->op_id);
    else
        fo_http_fail(res, "pagerduty: POST /v2/enqueue", rc, &resp);
    fo_http_resp_free(&resp);
out:
    if (ev != NULL)
        fo_json_wipe(ev);
    json_decref(ev);
    fo_http_redact(res->detail, key);
    fo_secret_wipe(key, sizeof(key));
}

/* ---- notify.statuspage ------------------------------------------------------------------- */

struct sp {
    const struct fo_action_req *req;
    struct fo_action_result *res;
    const char *api, *page;
    char key[1024];
    char auth[1100];
};

static int sp_call(struct sp *s, const char *method, const struct fo_http_url *u, json_t *body,
                   unsigned retry_on, struct fo_http_resp *resp, const char *what)
{
    struct fo_http_req hr = {0};
    char msg[128];
    int rc;

    memset(resp, 0, sizeof(*resp));
    snprintf(msg, sizeof(msg), "statuspage: %s", what);
    if (u->overflow) {
        fo_action_set(s->res, FO_ACTION_REFUSED, "%s: URL too long", msg);
        return -1;
    }
    hr.method = method;
    hr.url = u->buf;
    hr.auth = s->auth;
    hr.json = body;
    hr.deadline_ms = s->req->deadline_ms;
    hr.cancel = s->req->cancel;
    hr.retry_on = retry_on;
    rc = fo_http_request(&hr, resp);
    if (rc != FO_HTTP_OK || resp->status < 200 || resp->status > 299) {
        fo_http_fail(s->res, msg, rc, resp);
        return -1;
    }
    if (resp->json == NULL) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s: HTTP %ld without a JSON body", msg,
                      resp->status);
        return -1;
    }
    return 0;
}

static void sp_url(const struct sp *s, struct fo_http_url *u, const char *tail)
{
    fo_http_url_init(u, s->api);
    fo_http_url_path(u, "/pages");
    fo_http_url_segment(u, s->page);
    fo_http_url_path(u, tail);
}

/* The newest incident whose name holds ref, from GET tail, every page of it: copies id
 * and status. 1 found, 0 not, -1 error (res set). */
static int sp_find(struct sp *s, const char *tail, const char *q, const char *ref, char *id,
                   char *status, size_t cap)
{
    char per_page[8], page_no[8], first[128] = "";

    snprintf(per_page, sizeof(per_page), "%d", SP_PER_PAGE);
    for (int page = 1; page <= SP_MAX_PAGES; page++) {
        struct fo_http_url u;
        struct fo_http_resp resp;
        const json_t *it;
        size_t i, got;
        int rc = 0;

        snprintf(page_no, sizeof(page_no), "%d", page);
        sp_url(s, &u, tail);
        fo_http_url_query(&u, "q", q);
        fo_http_url_query(&u, "page", page_no);
        fo_http_url_query(&u, "per_page", per_page);
        if (sp_call(s, "GET", &u, NULL, FO_HTTP_RETRY_ALL, &resp, "GET incidents") != 0) {
            fo_http_resp_free(&resp);
            return -1;
        }
        json_array_foreach(resp.json, i, it)
        {
            const char *name = fo_json_str(it, "name"), *iid = fo_json_str(it, "id");
            if (name == NULL || iid == NULL || strstr(name, ref) == NULL)
                continue;
            snprintf(id, cap, "%s", iid);
            snprintf(status, cap, "%s", or_unknown(fo_json_str(it, "status")));
            rc = 1;
            break;
        }
        got = json_array_size(resp.json);
        /* The end is an empty page (a server may give fewer than per_page before it), or
         * the same page again (a server that ignores page). */
        it = json_array_get(resp.json, 0);
        if (rc == 0 && got > 0 && fo_json_str(it, "id") != NULL &&
            strcmp(first, fo_json_str(it, "id")) == 0)
            got = 0;
        else if (got > 0)
            snprintf(first, sizeof(first), "%s", or_unknown(fo_json_str(it, "id")));
        fo_http_resp_free(&resp);
        if (rc == 1 || got == 0)
            return rc;
    }
    fo_action_set(s->res, FO_ACTION_FAILED, "statuspage: GET incidents: more than %d pages",
                  SP_MAX_PAGES);
    return -1;
}

/* Characters (UTF-8 code points) of s. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static json_t *sp_incident(const struct sp *s, const char *name, const char *status,
                           const char *body)
{
    const char *comp = fo_action_param(s->req, "component_id");
    const char *cstat = fo_action_param(s->req, "component_status");
    json_t *inc =
        json_pack("{s:s, s:s, s:b}", "status", status, "body", body, "deliver_notifications", 1);

    if (inc == NULL)
        return NULL;
    if (name != NULL) {
        json_object_set_new(inc, "name", json_string(name));
        json_object_set_new(inc, "impact_override", json_string("major"));
    }
    if (comp != NULL) {
        const char *cs = strcmp(status, "resolved") == 0 ? "operational"
                         : cstat != NULL                 ? cstat
                                                         : "major_outage";
        json_object_set_new(inc, "components", json_pack("{s:s}", comp, cs));
        json_object_set_new(inc, "component_ids", json_pack("[s]", comp));
    }
    return json_pack("{s:o}", "incident", inc);
}

static void statuspage_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    const char *api = fo_action_param(req, "api_url");
    char title[TITLE_MAX], body[BODY_MAX], ref[TITLE_MAX], id[128] = "", status[128] = "";
    struct fo_http_url u;
    struct fo_http_resp resp;
    json_t *doc = NULL;
    struct sp s = {.req = req, .res = res};
    int found;

    memset(&resp, 0, sizeof(resp));
    s.api = api != NULL ? api : STATUSPAGE_API;
    s.page = fo_action_param(req, "page_id");
    if (fo_notify_message(req, FO_NOTIFY_PUBLIC, title, sizeof(title), body, sizeof(body)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "notify.statuspage: %s", title);
        return;
    }
    if (s.page == NULL || s.page[0] == '\0' || req->op_id == NULL || req->op_id[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "notify.statuspage needs page_id and the "
                      "operation id");
        return;
    }
    /* A title that filled its buffer was cut: too long as well. */
    if (utf8_chars(title) > SP_NAME_MAX || strlen(title) + 1 >= sizeof(title)) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "notify.statuspage: the incident name would have %zu characters, "
                      "Statuspage allows %d (the operation id is too long)",
                      utf8_chars(title), SP_NAME_MAX);
        return;
    }
    if (fo_action_read_secret(req, "token_file", s.key, sizeof(s.key), res) != 0)
        return;
    snprintf(s.auth, sizeof(s.auth), "OAuth %s", s.key);
    fo_notify_ref(req, ref, sizeof(ref));

    found = sp_find(&s, "/incidents/unresolved", NULL, ref, id, status, sizeof(id));
    if (found < 0)
        goto out;
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE,
                      "check: statuspage page %.64s readable%s; nothing "
                      "changed",
                      s.page, found ? " (incident for this operation open)" : "");
        goto out;
    }
    if (!is_opened(req) && found == 0)
        found = sp_find(&s, "/incidents", req->op_id, ref, id, status, sizeof(id));
    if (found < 0)
        goto out;
    if (found && (is_opened(req) || strcmp(status, "resolved") == 0)) {
        fo_action_set(res, FO_ACTION_DONE, "statuspage: incident %s already %s (no change)", id,
                      is_opened(req) ? "open" : "resolved");
        goto out;
    }
    if (found) {
        doc = sp_incident(&s, NULL, "resolved", body);
        sp_url(&s, &u, "/incidents");
        fo_http_url_segment(&u, id);
        if (doc != NULL &&
            sp_call(&s, "PATCH", &u, doc, FO_HTTP_RETRY_ALL, &resp, "PATCH incident") == 0)
            fo_action_set(res, FO_ACTION_DONE, "statuspage: incident %s resolved", id);
    } else {
        /* Not idempotent: retried only when surely not processed. */
        doc = sp_incident(&s, title, is_opened(req) ? "investigating" : "resolved", body);
        sp_url(&s, &u, "/incidents");
        if (doc != NULL &&
            sp_call(&s, "POST", &u, doc, FO_HTTP_RETRY_SAFE, &resp, "POST incident") == 0)
            fo_action_set(res, FO_ACTION_DONE, "statuspage: incident %.64s created%s",
                          or_unknown(fo_json_str(resp.json, "id")),
                          is_opened(req) ? "" : " as resolved (none was open)");
    }
    if (doc == NULL)
        fo_action_set(res, FO_ACTION_FAILED, "statuspage: cannot build the incident");
    fo_http_resp_free(&resp);
out:
    json_decref(doc);
    fo_http_redact(res->detail, s.key);
    fo_secret_wipe(s.key, sizeof(s.key));
    fo_secret_wipe(s.auth, sizeof(s.auth));
}

static const char *const slack_required[] = {"webhook_url_file", NULL};
static const char *const slack_optional[] = {NULL};
static const char *const pd_required[] = {"routing_key_file", NULL};
static const char *const pd_optional[] = {"api_url", "severity", "source", NULL};
static const char *const sp_required[] = {"token_file", "page_id", NULL};
static const char *const sp_optional[] = {"api_url", "component_id", "component_status", NULL};

const struct fo_action_kind fo_action_notify_slack = {
    .name = "notify.slack",
    .run = slack_run,
    .required = slack_required,
    .optional = slack_optional,
    .at_most_once = true,
};

const struct fo_action_kind fo_action_notify_pagerduty = {
    .name = "notify.pagerduty",
    .run = pagerduty_run,
    .required = pd_required,
    .optional = pd_optional,
    .at_most_once = false,
};

const struct fo_action_kind fo_action_notify_statuspage = {
    .name = "notify.statuspage",
    .run = statuspage_run,
    .required = sp_required,
    .optional = sp_optional,
    .at_most_once = true,
};
