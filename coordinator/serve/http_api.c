/*
 * coordinator/serve/http_api.c — see http_api.h.
 */
#include "coordinator/serve/http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <microhttpd.h>

#include "actions/secret.h"
#include "coordinator/serve/commands.h"
#include "coordinator/daemon.h"
#include "coordinator/log.h"

/* Upper bound on one wait for MHD_get_timeout: MHD asks to be run again by then. */
#define TIMER_MAX_MS 60000u

/* ---- a growable text buffer (the metrics page) --------------------------------------- */

struct text {
    char *s;
    size_t len, cap;
    bool failed; /* out of memory: the page is dropped */
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        int n;
        va_start(ap, fmt);
        n = vsnprintf(t->s != NULL ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap == 0 ? 8192 : t->cap;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* A label value, escaped as the exposition format says: \\, \" and \n. */
static void put_label(struct text *t, const char *name, const char *value, bool last)
{
    put(t, "%s=\"", name);
    for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
        if (*p == '\\')
            put(t, "\\\\");
        else if (*p == '"')
            put(t, "\\\"");
        else if (*p == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *p);
    }
    put(t, "\"%s", last ? "}" : ",");
}

static void put_family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u64(struct text *t, const char *name, unsigned long long v)
{
    put(t, "%s %llu\n", name, v);
}

static void gauge(struct text *t, const char *name, const char *help, unsigned long long v)
{
    put_family(t, name, "gauge", help);
    put_u64(t, name, v);
}

static void counter(struct text *t, const char *name, const char *help, unsigned long long v)
{
    put_family(t, name, "counter", help);
    put_u64(t, name, v);
}

/* ---- the metrics ------------------------------------------------------------------- */

static const double step_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define NBUCKETS (sizeof(step_buckets) / sizeof(step_buckets[0]))

static int cmp_step_action(const void *a, const void *b)
{
    const struct fo_step *x = *(const struct fo_step *const *)a;
    const struct fo_step *y = *(const struct fo_step *const *)b;
    return strcmp(x->action, y->action);
}

/* Finished steps of the finished operations the FSM keeps, per action kind. */
static void step_histogram(struct text *t, const struct fo_state *st)
{
    const struct fo_step **steps;
    size_t n = 0, total = 0;

    put_family(t, "failoverd_step_duration_seconds", "histogram",
               "Duration of the plan steps of the finished operations in the replicated history, "
               "by action (latest attempt).");
    for (size_t i = 0; i < st->nhistory; i++)
        total += st->history[i].nsteps;
    if (total == 0)
        return;
    steps = calloc(total, sizeof(*steps));
    if (steps == NULL) {
        t->failed = true;
        return;
    }
    for (size_t i = 0; i < st->nhistory; i++)
        for (size_t j = 0; j < st->history[i].nsteps; j++) {
            const struct fo_step *s = &st->history[i].steps[j];
            if (s->action != NULL && s->started_ms != 0 && s->ended_ms >= s->started_ms)
                steps[n++] = s;
        }
    qsort(steps, n, sizeof(*steps), cmp_step_action);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        unsigned long long counts[NBUCKETS] = {0};
        double sum = 0;
        while (end < n && strcmp(steps[end]->action, steps[i]->action) == 0) {
            double s = (double)(steps[end]->ended_ms - steps[end]->started_ms) / 1000.0;
            sum += s;
            for (size_t b = 0; b < NBUCKETS; b++)
                counts[b] += s <= step_buckets[b];
            end++;
        }
        for (size_t b = 0; b < NBUCKETS; b++) {
            put(t, "failoverd_step_duration_seconds_bucket{");
            put_label(t, "action", steps[i]->action, false);
            put(t, "le=\"%g\"} %llu\n", step_buckets[b], counts[b]);
        }
        put(t, "failoverd_step_duration_seconds_bucket{");
        put_label(t, "action", steps[i]->action, false);
        put(t, "le=\"+Inf\"} %zu\n", end - i);
        put(t, "failoverd_step_duration_seconds_sum{");
        put_label(t, "action", steps[i]->action, true);
        put(t, " %.3f\n", sum);
        put(t, "failoverd_step_duration_seconds_count{");
        put_label(t, "action", steps[i]->action, true);
        put(t, " %zu\n", end - i);
        i = end;
    }
    free(steps);
}

static void raft_metrics(struct text *t, struct fo_daemon *d, const struct fo_state *st)
{
    gauge(t, "failoverd_up", "1 while this node answers.", 1);
    put_family(t, "failoverd_info", "gauge", "This node: name, region, cluster and version.");
    put(t, "failoverd_info{");
    put_label(t, "node", d->cfg.self->name, false);
    put_label(t, "region", d->cfg.self->region, false);
    put_label(t, "cluster", d->cfg.cluster, false);
    put_label(t, "version", FO_VERSION, true);
    put(t, " 1\n");
    gauge(t, "failoverd_raft_term", "This node's current Raft term.", fo_node_term(&d->node));
    gauge(t, "failoverd_raft_leader", "1 when this node is the Raft leader.",
          fo_node_role(&d->node) == RAFT_LEADER);
    gauge(t, "failoverd_raft_ready",
          "1 when this node is a ready leader (its election barrier committed).",
          fo_node_ready(&d->node));
    gauge(t, "failoverd_raft_commit_index", "This node's Raft commit index.",
          fo_node_commit_index(&d->node));
    gauge(t, "failoverd_raft_last_applied", "The last Raft entry this node applied.",
          fo_node_last_applied(&d->node));
    gauge(t, "failoverd_epoch", "The fencing epoch: raised by every failover and switchover.",
          st->epoch);
    put_family(t, "failoverd_primary", "gauge",
               "1 for the decided primary site, 0 for the other sites.");
    for (size_t i = 0; i < d->cfg.nsites; i++) {
        put(t, "failoverd_primary{");
        put_label(t, "site", d->cfg.sites[i].name, true);
        put(t, " %d\n", st->primary != NULL && strcmp(st->primary, d->cfg.sites[i].name) == 0);
    }
    gauge(t, "failoverd_mode_paused", "1 while automatic failover is paused (maintenance).",
          st->mode == FO_MODE_PAUSED);
    gauge(t, "failoverd_operation_in_flight", "1 while a failover, switchover or drill runs.",
          st->operation != NULL);
    put_family(t, "failoverd_verdict", "gauge",
               "Committed verdicts: 1 for each observer's current status of each region.");
    for (size_t i = 0; i < st->nverdicts; i++) {
        const struct fo_verdict *v = &st->verdicts[i];
        put(t, "failoverd_verdict{");
        put_label(t, "observer", v->observer, false);
        put_label(t, "region", v->region, false);
        put_label(t, "status", fo_enum_name(fo_status_names, v->status), true);
        put(t, " 1\n");
    }
}

static void operation_metrics(struct text *t, const struct fo_state *st)
{
    put_family(t, "failoverd_operations_total", "counter",
               "Finished operations in the replicated history (the latest 64), by kind and "
               "result.");
    for (int k = FO_OP_AUTO; k <= FO_OP_DRILL; k++)
        for (int r = FO_RESULT_SUCCEEDED; r <= FO_RESULT_ABORTED; r++) {
            unsigned long long n = 0;
            for (size_t i = 0; i < st->nhistory; i++)
                n += st->history[i].kind == k && st->history[i].result == r;
            put(t, "failoverd_operations_total{");
            put_label(t, "kind", fo_enum_name(fo_op_kind_names, k), false);
            put_label(t, "result", fo_enum_name(fo_op_result_names, r), true);
            put(t, " %llu\n", n);
        }
    step_histogram(t, st);
    put_family(t, "failoverd_failover_duration_seconds", "gauge",
               "The latest finished operation of each kind: from detection (or its start when "
               "nothing was detected) to its end.");
    for (int k = FO_OP_AUTO; k <= FO_OP_DRILL; k++) {
        const struct fo_operation *last = NULL;
        for (size_t i = st->nhistory; i > 0 && last == NULL; i--)
            if (st->history[i - 1].kind == k && st->history[i - 1].ended_ms != 0)
                last = &st->history[i - 1];
        if (last == NULL)
            continue;
        uint64_t from = last->detected_ms != 0 && last->detected_ms <= last->started_ms
                            ? last->detected_ms
                            : last->started_ms;
        put(t, "failoverd_failover_duration_seconds{");
        put_label(t, "kind", fo_enum_name(fo_op_kind_names, k), true);
        put(t, " %.3f\n", last->ended_ms >= from ? (double)(last->ended_ms - from) / 1000.0 : 0.0);
    }
}

static void node_metrics(struct text *t, struct fo_daemon *d)
{
    const struct fo_http_api *h = &d->http;

    put_family(t, "failoverd_feed_reports_total", "counter",
               "Health reports from monitoring feeds, by listener (health: the msgpack port, "
               "http: POST /v1/health and /v1/alertmanager alerts).");
    put(t, "failoverd_feed_reports_total{listener=\"health\"} %llu\n",
        d->health_started ? d->health.reports : 0ULL);
    put(t, "failoverd_feed_reports_total{listener=\"http\"} %llu\n", h->reports);
    put_family(t, "failoverd_feed_reports_rejected_total", "counter",
               "Health reports refused (bad token, malformed, unknown region), by listener.");
    put(t, "failoverd_feed_reports_rejected_total{listener=\"health\"} %llu\n",
        d->health_started ? d->health.rejected : 0ULL);
    put(t, "failoverd_feed_reports_rejected_total{listener=\"http\"} %llu\n", h->reports_rejected);
    counter(t, "failoverd_admin_requests_total", "Admin protocol requests received.",
            d->admin_started ? d->admin.requests : 0ULL);
    counter(t, "failoverd_admin_requests_rejected_total",
            "Admin requests refused: malformed or not authenticated.",
            d->admin_started ? d->admin.rejected : 0ULL);
    counter(t, "failoverd_http_requests_total", "HTTP API requests received.", h->requests);
    counter(t, "failoverd_http_requests_rejected_total", "HTTP API requests answered 4xx.",
            h->rejected);
    counter(t, "failoverd_http_unauthorized_total", "HTTP API requests answered 401.",
            h->unauthorized);
    counter(t, "failoverd_executor_attempts_total", "Plan step attempts this node started.",
            d->executor_started ? d->executor.attempts_started : 0ULL);
    put_family(t, "failoverd_executor_actions_total", "counter",
               "Plan step attempts this node finished, by result.");
    put(t, "failoverd_executor_actions_total{result=\"done\"} %llu\n",
        d->executor_started ? d->executor.actions_done : 0ULL);
    put(t, "failoverd_executor_actions_total{result=\"failed\"} %llu\n",
        d->executor_started ? d->executor.actions_failed : 0ULL);

    put_family(t, "failoverd_probe_up", "gauge",
               "1 when this node's last probe of the check succeeded, 0 when it failed.");
    for (size_t i = 0; d->prober_started && i < fo_prober_count(&d->prober); i++) {
        const struct fo_probe_result *r = fo_prober_result(&d->prober, i);
        if (r == NULL || r->at_ms == 0)
            continue;
        put(t, "failoverd_probe_up{");
        put_label(t, "check", fo_prober_spec(&d->prober, i)->name, true);
        put(t, " %d\n", r->ok ? 1 : 0);
    }
    put_family(t, "failoverd_probe_latency_seconds", "gauge",
               "How long this node's last probe of the check took (connect included).");
    for (size_t i = 0; d->prober_started && i < fo_prober_count(&d->prober); i++) {
        const struct fo_probe_result *r = fo_prober_result(&d->prober, i);
        if (r == NULL || r->at_ms == 0)
            continue;
        put(t, "failoverd_probe_latency_seconds{");
        put_label(t, "check", fo_prober_spec(&d->prober, i)->name, true);
        put(t, " %.6f\n", (double)r->latency_us / 1e6);
    }
}

/* ---- answering --------------------------------------------------------------------- */

struct request {
    const struct route *route;
    char *body;
    size_t len;
    bool too_large;
};

static enum MHD_Result respond(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                               const char *type, char *body, size_t len, const char *allow)
{
    /* body is malloc'd and handed over: MHD frees it with the response. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rv;

    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"failoverd\"");
        h->unauthorized++;
    }
    if (status >= 400 && status < 500)
        h->rejected++;
    rv = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rv;
}

/* A JSON document (consumed) with a trailing newline, as curl users expect. */
static enum MHD_Result respond_json(struct fo_http_api *h, struct MHD_Connection *c,
                                    unsigned status, json_t *doc, const char *allow)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    size_t n;
    char *body;

    json_decref(doc);
    if (s == NULL)
        return MHD_NO;
    n = strlen(s);
    body = realloc(s, n + 2);
    if (body == NULL) {
        free(s);
        return MHD_NO;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    return respond(h, c, status, "application/json", body, n + 1, allow);
}

static enum MHD_Result fail(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                            const char *code, const char *allow, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static enum MHD_Result fail(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                            const char *code, const char *allow, const char *fmt, ...)
{
    char msg[FO_TEXT_MAX];
    va_list ap;

    json_t *doc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A message quoting the client's bytes, cut mid-character, is not UTF-8: say less. */
    doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (doc == NULL)
        doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", "(not UTF-8)");
    return respond_json(h, c, status, doc, allow);
}

/* ---- authentication ---------------------------------------------------------------- */

/* The token of `Authorization: Bearer <token>`, or NULL. */
static const char *bearer(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);

    if (v == NULL || strncasecmp(v, "Bearer", 6) != 0 || (v[6] != ' ' && v[6] != '\t'))
        return NULL;
    v += 6;
    while (*v == ' ' || *v == '\t')
        v++;
    return *v != '\0' ? v : NULL;
}

static const char *client_ip(struct MHD_Connection *c, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    snprintf(buf, cap, "?");
    if (ci != NULL && ci->client_addr != NULL && ci->client_addr->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)ci->client_addr)->sin_addr,
                  buf, (socklen_t)cap);
    return buf;
}

/* Logged without the token, ever. */
static enum MHD_Result unauthorized(struct fo_http_api *h, struct MHD_Connection *c,
                                    const char *path, const char *why, const char *message)
{
    char ip[INET_ADDRSTRLEN + 1];
    fo_log_warn("http.auth", "path=%s client=%s reason=%s", path, client_ip(c, ip, sizeof(ip)),
                why);
    return fail(h, c, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL, "%s", message);
}

/* The read or the admin token. Both compares always run. */
static bool read_access(const struct fo_daemon *d, const char *token)
{
    bool admin = fo_secret_equal(token, d->admin_token);
    bool read = fo_secret_equal(token, d->read_token[0] != '\0' ? d->read_token : NULL);
    return admin || read;
}

static const struct fo_health_feed *feed_named(const struct fo_daemon *d, const char *name)
{
    for (size_t i = 0; name != NULL && i < d->cfg.nfeeds; i++)
        if (d->feeds[i].name != NULL && strcmp(d->feeds[i].name, name) == 0)
            return &d->feeds[i];
    return NULL;
}

/* ---- GET handlers ------------------------------------------------------------------ */

static enum MHD_Result get_metrics(struct fo_http_api *h, struct MHD_Connection *c)
{
    struct fo_daemon *d = h->d;
    const struct fo_state *st = fo_node_state(&d->node);
    struct text t = {0};

    raft_metrics(&t, d, st);
    operation_metrics(&t, st);
    node_metrics(&t, d);
    if (t.failed) {
        free(t.s);
        return fail(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "out of memory");
    }
    return respond(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", t.s, t.len, NULL);
}

static enum MHD_Result get_status(struct fo_http_api *h, struct MHD_Connection *c)
{
    return respond_json(h, c, MHD_HTTP_OK, fo_commands_status(h->d), NULL);
}

static enum MHD_Result get_primary(struct fo_http_api *h, struct MHD_Connection *c)
{
    struct fo_daemon *d = h->d;
    const struct fo_state *st = fo_node_state(&d->node);
    const struct fo_peer *leader = fo_daemon_leader(d);
    const struct fo_site *site;
    json_t *doc, *comp;

    if (st->cluster == NULL || st->primary == NULL)
        return fail(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_initialized", NULL,
                    "%s has not seen the cluster's initial primary committed yet",
                    d->cfg.self->name);
    site = fo_config_site(&d->cfg, st->primary);
    if (site == NULL)
        return fail(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "unknown_site", NULL,
                    "the decided primary '%s' is not a site of %s's configuration", st->primary,
                    d->cfg.self->name);
    comp = json_object();
    if (site->postgres != NULL)
        json_object_set_new(
            comp, "postgres",
            json_pack("{s:s,s:s,s:i,s:s}", "region", site->postgres->region, "host",
                      site->postgres->host, "port", (int)site->postgres->port, "dbname",
                      site->postgres->dbname != NULL ? site->postgres->dbname : "postgres"));
    if (site->redis != NULL)
        json_object_set_new(comp, "redis",
                            json_pack("{s:s,s:s,s:i}", "region", site->redis->region, "host",
                                      site->redis->host, "port", (int)site->redis->port));
    if (site->dns_origin != NULL)
        json_object_set_new(comp, "dns_origin", json_string(site->dns_origin));
    doc = json_pack("{s:s,s:I,s:o,s:s,s:b,s:o}", "site", site->name, "epoch", (json_int_t)st->epoch,
                    "leader", leader != NULL ? json_string(leader->name) : json_null(), "node",
                    d->cfg.self->name, "operation_in_flight", st->operation != NULL, "components",
                    comp);
    return respond_json(h, c, MHD_HTTP_OK, doc, NULL);
}

/* ---- POST handlers ----------------------------------------------------------------- */

/* Parse a body as one JSON object; on error, answer 400 and return NULL. */
static json_t *parse_object(struct fo_http_api *h, struct MHD_Connection *c,
                            const struct request *r, enum MHD_Result *rv)
{
    json_error_t e;
    json_t *doc = json_loadb(r->body != NULL ? r->body : "", r->len, JSON_REJECT_DUPLICATES, &e);

    if (doc == NULL) {
        *rv = fail(h, c, MHD_HTTP_BAD_REQUEST, "bad_json", NULL, "malformed JSON at byte %d: %s",
                   e.position, e.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        *rv = fail(h, c, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "expected a JSON object");
        return NULL;
    }
    return doc;
}

/* A required name-like string: 1 to FO_NAME_MAX bytes. */
static const char *name_field(json_t *o, const char *key, char *msg, size_t cap)
{
    json_t *v = json_object_get(o, key);
    const char *s = json_string_value(v);

    if (v == NULL)
        snprintf(msg, cap, "%s: required", key);
    else if (s == NULL)
        snprintf(msg, cap, "%s: expected a string", key);
    else if (json_string_length(v) == 0 || json_string_length(v) > FO_NAME_MAX)
        snprintf(msg, cap, "%s: 1 to %d bytes", key, FO_NAME_MAX);
    else
        return s;
    return NULL;
}

static int parse_status(const char *s)
{
    for (int i = FO_STATUS_UNKNOWN; i <= FO_STATUS_DOWN; i++)
        if (s != NULL && strcmp(s, fo_enum_name(fo_status_names, i)) == 0)
            return i;
    return -1;
}

/* POST /v1/health: {"observer","region","component","status","detail"}, as the msgpack
 * health feed (health_server.h) with the token in the Authorization header. */
static enum MHD_Result post_health(struct fo_http_api *h, struct MHD_Connection *c,
                                   const struct request *r)
{
    static const char *const keys[] = {"observer", "region", "component", "status", "detail"};
    struct fo_daemon *d = h->d;
    const char *token = bearer(c), *observer, *region, *component, *detail = NULL, *key;
    const struct fo_health_feed *feed;
    char msg[FO_TEXT_MAX];
    bool any = false;
    enum MHD_Result rv;
    json_t *doc, *v;
    int status;

    /* Some feed's token before the body is even parsed; that feed's token below. */
    for (size_t i = 0; i < d->cfg.nfeeds; i++)
        any |= fo_secret_equal(token, d->feeds[i].token);
    if (!any) {
        h->reports_rejected++;
        return unauthorized(h, c, "/v1/health", token == NULL ? "no-token" : "wrong-token",
                            "Authorization: Bearer <a feed's token> required");
    }
    if ((doc = parse_object(h, c, r, &rv)) == NULL) {
        h->reports_rejected++;
        return rv;
    }
    json_object_foreach(doc, key, v)
    {
        size_t k = 0;
        while (k < sizeof(keys) / sizeof(keys[0]) && strcmp(keys[k], key) != 0)
            k++;
        if (k == sizeof(keys) / sizeof(keys[0])) {
            snprintf(msg, sizeof(msg),
                     "%.64s: unknown field (expected observer, region, "
                     "component, status, detail)",
                     key);
            goto bad;
        }
    }
    if ((observer = name_field(doc, "observer", msg, sizeof(msg))) == NULL ||
        (region = name_field(doc, "region", msg, sizeof(msg))) == NULL ||
        (component = name_field(doc, "component", msg, sizeof(msg))) == NULL)
        goto bad;
    status = parse_status(json_string_value(json_object_get(doc, "status")));
    if (status < 0) {
        snprintf(msg, sizeof(msg), "status: expected \"up\", \"down\" or \"unknown\"");
        goto bad;
    }
    v = json_object_get(doc, "detail");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) >= FO_TEXT_MAX) {
            snprintf(msg, sizeof(msg), "detail: expected a string of at most %d bytes",
                     FO_TEXT_MAX - 1);
            goto bad;
        }
        detail = json_string_value(v);
    }
    /* The same answer for an unknown feed and a wrong token: no feed-name oracle. */
    feed = feed_named(d, observer);
    if (!fo_secret_equal(token, feed != NULL ? feed->token : NULL)) {
        json_decref(doc);
        h->reports_rejected++;
        return unauthorized(h, c, "/v1/health", feed == NULL ? "unknown-feed" : "wrong-token",
                            "not a configured feed, or not its token");
    }
    if (d->stopping) {
        json_decref(doc);
        return fail(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                    "%s is shutting down", d->cfg.self->name);
    }
    if (fo_verdicts_component(&d->verdicts, observer, region, component, status, detail,
                              fo_daemon_now_ms(), msg, sizeof(msg)) != 0)
        goto bad;
    json_decref(doc);
    h->reports++;
    return respond_json(h, c, MHD_HTTP_OK, json_pack("{s:s}", "result", "recorded"), NULL);
bad:
    json_decref(doc);
    h->reports_rejected++;
    return fail(h, c, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "%s", msg);
}

static void ignore(json_t *ignored, size_t i, json_t *alert, const char *reason)
{
    json_t *fp = json_is_object(alert) ? json_object_get(alert, "fingerprint") : NULL;
    json_t *o = json_pack("{s:I,s:O?,s:s}", "index", (json_int_t)i, "fingerprint",
                          json_is_string(fp) ? fp : NULL, "reason", reason);

    if (o == NULL) /* the reason quoted the client's bytes, cut mid-character */
        o = json_pack("{s:I,s:O?,s:s}", "index", (json_int_t)i, "fingerprint",
                      json_is_string(fp) ? fp : NULL, "reason", "(not UTF-8)");
    json_array_append_new(ignored, o);
}

static int refuse(char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    return -1;
}

/* One alert: its labels name the region and the component; firing is down, resolved up.
 * Returns 0 when reported, else -1 with why filled. */
static int one_alert(struct fo_daemon *d, json_t *alert, char *why, size_t cap)
{
    const struct fo_config_alertmanager *am = &d->cfg.alertmanager;
    json_t *labels = json_object_get(alert, "labels"), *ann;
    const char *status, *region, *component, *name, *summary;
    char detail[256], msg[FO_TEXT_MAX];
    int st;

    status = json_string_value(json_object_get(alert, "status"));
    if (status != NULL && strcmp(status, "firing") == 0)
        st = FO_STATUS_DOWN;
    else if (status != NULL && strcmp(status, "resolved") == 0)
        st = FO_STATUS_UP;
    else
        return refuse(why, cap, "status: expected \"firing\" or \"resolved\"");
    if (!json_is_object(labels))
        return refuse(why, cap, "labels: expected an object");
    region = json_string_value(json_object_get(labels, am->region_label));
    component = json_string_value(json_object_get(labels, am->component_label));
    if (region == NULL)
        return refuse(why, cap, "no label '%s' (alertmanager.region_label)", am->region_label);
    if (strlen(region) > FO_NAME_MAX)
        return refuse(why, cap, "label '%s': at most %d bytes", am->region_label, FO_NAME_MAX);
    if (component == NULL)
        return refuse(why, cap, "no label '%s' (alertmanager.component_label)",
                      am->component_label);
    if (component[0] == '\0' || strlen(component) > FO_NAME_MAX)
        return refuse(why, cap, "label '%s': 1 to %d bytes", am->component_label, FO_NAME_MAX);
    name = json_string_value(json_object_get(labels, "alertname"));
    ann = json_object_get(alert, "annotations");
    summary = json_is_object(ann) ? json_string_value(json_object_get(ann, "summary")) : NULL;
    snprintf(detail, sizeof(detail), "alertmanager %s%s%s", name != NULL ? name : "alert",
             summary != NULL ? ": " : "", summary != NULL ? summary : "");
    fo_utf8_cut(detail, 200);
    if (fo_verdicts_component(&d->verdicts, am->observer, region, component, st, detail,
                              fo_daemon_now_ms(), msg, sizeof(msg)) != 0)
        return refuse(why, cap, "%s", msg);
    return 0;
}

/* POST /v1/alertmanager: the webhook (reference §6.4), one verdict report per alert.
 * Repeats (repeat_interval) are harmless: only a change of a verdict is ever proposed. */
static enum MHD_Result post_alertmanager(struct fo_http_api *h, struct MHD_Connection *c,
                                         const struct request *r)
{
    struct fo_daemon *d = h->d;
    const char *token = bearer(c), *version;
    const struct fo_health_feed *feed = feed_named(d, d->cfg.alertmanager.observer);
    json_t *doc, *alerts, *ignored;
    enum MHD_Result rv;
    size_t accepted = 0, i;
    json_t *alert;
    char why[FO_TEXT_MAX];

    if (!fo_secret_equal(token, feed != NULL ? feed->token : NULL)) {
        h->reports_rejected++;
        return unauthorized(h, c, "/v1/alertmanager",
                            token == NULL  ? "no-token"
                            : feed == NULL ? "no-alertmanager-feed"
                                           : "wrong-token",
                            "Authorization: Bearer <the alertmanager feed's token> required");
    }
    if ((doc = parse_object(h, c, r, &rv)) == NULL) {
        h->reports_rejected++;
        return rv;
    }
    version = json_string_value(json_object_get(doc, "version"));
    alerts = json_object_get(doc, "alerts");
    if (json_object_get(doc, "version") != NULL && (version == NULL || strcmp(version, "4") != 0)) {
        json_decref(doc);
        h->reports_rejected++;
        return fail(h, c, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
                    "version: only Alertmanager's webhook version \"4\" is understood");
    }
    if (!json_is_array(alerts)) {
        json_decref(doc);
        h->reports_rejected++;
        return fail(h, c, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "alerts: required, a list");
    }
    if (d->stopping) {
        json_decref(doc);
        return fail(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                    "%s is shutting down", d->cfg.self->name);
    }
    ignored = json_array();
    json_array_foreach(alerts, i, alert)
    {
        if (!json_is_object(alert)) {
            ignore(ignored, i, alert, "expected an object");
        } else if (one_alert(d, alert, why, sizeof(why)) != 0) {
            ignore(ignored, i, alert, why);
        } else {
            accepted++;
        }
    }
    h->reports += accepted;
    h->reports_rejected += json_array_size(ignored);
    if (json_array_size(ignored) > 0)
        fo_log_info("http.alertmanager", "accepted=%zu ignored=%zu", accepted,
                    json_array_size(ignored));
    json_decref(doc);
    return respond_json(h, c, MHD_HTTP_OK,
                        json_pack("{s:s,s:I,s:o}", "observer", d->cfg.alertmanager.observer,
                                  "accepted", (json_int_t)accepted, "ignored", ignored),
                        NULL);
}

/* ---- routing ----------------------------------------------------------------------- */

enum access { OPEN, READ, FEED };

struct route {
    const char *path;
    bool post; /* else GET (and HEAD) */
    enum access access;
    enum MHD_Result (*get)(struct fo_http_api *h, struct MHD_Connection *c);
    enum MHD_Result (*post_body)(struct fo_http_api *h, struct MHD_Connection *c,
                                 const struct request *r);
};

static const struct route routes[] = {
    {"/metrics", false, READ, get_metrics, NULL},
    {"/v1/status", false, READ, get_status, NULL},
    {"/v1/primary", false, OPEN, get_primary, NULL},
    {"/v1/alertmanager", true, FEED, NULL, post_alertmanager},
    {"/v1/health", true, FEED, NULL, post_health},
};

static const struct route *route_of(const char *url)
{
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, url) == 0)
            return &routes[i];
    return NULL;
}

static bool too_large(struct MHD_Connection *c)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n;

    if (cl == NULL)
        return false;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno != 0 || n > FO_HTTP_BODY_MAX;
}

/* The request, once its body is read: route, method, access, then the handler. */
static enum MHD_Result finish(struct fo_http_api *h, struct MHD_Connection *c,
                              const struct request *r, const char *method)
{
    const struct route *rt = r->route;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    if (rt == NULL)
        return fail(h, c, MHD_HTTP_NOT_FOUND, "not_found", NULL,
                    "no such endpoint (endpoints: /metrics, /v1/status, /v1/primary, "
                    "/v1/alertmanager, /v1/health)");
    if (rt->post ? strcmp(method, MHD_HTTP_METHOD_POST) != 0 : !get)
        return fail(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                    rt->post ? "POST" : "GET, HEAD", "%s takes %s", rt->path,
                    rt->post ? "POST" : "GET or HEAD");
    if (r->too_large)
        return fail(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                    "request body over %u bytes", FO_HTTP_BODY_MAX);
    if (rt->access == READ && !read_access(h->d, bearer(c)))
        return unauthorized(h, c, rt->path, bearer(c) == NULL ? "no-token" : "wrong-token",
                            "Authorization: Bearer <the read or admin token> required");
    return rt->post ? rt->post_body(h, c, r) : rt->get(h, c);
}

/* libmicrohttpd calls once with the headers, then with each piece of the body, then once
 * more with none: the answer goes there. (Answering in the first call would work too,
 * but libmicrohttpd 0.9.75 then closes the connection: no keep-alive for scrapers and
 * load balancers.) A body announced over the limit is refused at once. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **state)
{
    struct fo_http_api *h = cls;
    struct request *r = *state;

    (void)version;
    if (r == NULL) {
        h->requests++;
        if (too_large(c))
            return fail(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                        "request body over %u bytes", FO_HTTP_BODY_MAX);
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->route = route_of(url);
        *state = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->route == NULL || !r->route->post || r->too_large)
            return MHD_YES; /* not wanted: read and dropped */
        if (r->len + n > FO_HTTP_BODY_MAX) {
            r->too_large = true; /* read and dropped: answered once the body ends */
            free(r->body);
            r->body = NULL;
            r->len = 0;
            return MHD_YES;
        }
        char *b = realloc(r->body, r->len + n);
        if (b == NULL)
            return MHD_NO;
        memcpy(b + r->len, upload_data, n);
        r->body = b;
        r->len += n;
        return MHD_YES;
    }
    return finish(h, c, r, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode why)
{
    struct request *r = *state;

    (void)cls;
    (void)c;
    (void)why;
    if (r != NULL) {
        free(r->body);
        free(r);
        *state = NULL;
    }
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct fo_http_api *h = cls;
    size_t n;

    vsnprintf(h->mhd_error, sizeof(h->mhd_error), fmt, ap);
    n = strlen(h->mhd_error);
    while (n > 0 && (h->mhd_error[n - 1] == '\n' || h->mhd_error[n - 1] == '.'))
        h->mhd_error[--n] = '\0';
    fo_log_warn("http.server", "message=\"%s\"", h->mhd_error);
}

/* ---- on the loop ------------------------------------------------------------------- */

static void on_timer(uv_timer_t *t);

/* After every MHD_run: when MHD wants to run again (0: at once, e.g. data already read
 * into its buffers that no epoll event will announce again; else a connection timeout). */
static void rearm(struct fo_http_api *h)
{
    MHD_UNSIGNED_LONG_LONG ms;

    if (h->closing)
        return;
    if (MHD_get_timeout(h->mhd, &ms) == MHD_YES)
        uv_timer_start(&h->timer, on_timer, ms < TIMER_MAX_MS ? ms : TIMER_MAX_MS, 0);
    else
        uv_timer_stop(&h->timer);
}

static void run(struct fo_http_api *h)
{
    if (h->closing)
        return;
    MHD_run(h->mhd);
    rearm(h);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    (void)status; /* an error on the epoll fd: MHD_run finds out */
    (void)events;
    run(p->data);
}

static void on_timer(uv_timer_t *t)
{
    run(t->data);
}

static int parse_listen(const char *listen, struct sockaddr_in *sa)
{
    char host[64];
    const char *colon = strrchr(listen, ':');
    char *end;
    unsigned long port;

    if (colon == NULL || (size_t)(colon - listen) >= sizeof(host))
        return -1;
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    port = strtoul(colon + 1, &end, 10);
    if (*end != '\0' || port > 65535)
        return -1;
    return uv_ip4_addr(host, (int)port, sa) == 0 ? 0 : -1;
}

int fo_http_api_start(struct fo_http_api *h, uv_loop_t *loop, struct fo_daemon *d,
                      const struct fo_config_http *cfg, struct fo_error *err)
{
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    unsigned timeout_s = cfg->timeout_ms > 1000 ? (cfg->timeout_ms + 999) / 1000 : 1;

    memset(h, 0, sizeof(*h));
    h->d = d;
    if (parse_listen(cfg->listen, &sa) != 0)
        return fo_error_set(err, 1, "http.listen: '%s' is not a.b.c.d:port", cfg->listen);
    /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only when the loop calls MHD_run. The
     * port argument only names the port in MHD's messages: SOCK_ADDR holds the address. */
    h->mhd = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG, ntohs(sa.sin_port), NULL, NULL, on_request, h,
        /* first: MHD logs through it from the next option on */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FO_HTTP_CONN_MEM_MAX,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_END);
    if (h->mhd == NULL)
        return fo_error_set(err, 1, "http: cannot listen on %s: %s", cfg->listen,
                            h->mhd_error[0] != '\0' ? h->mhd_error : "libmicrohttpd failed");
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL || uv_poll_init(loop, &h->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        return fo_error_set(err, 1, "http: cannot watch libmicrohttpd's epoll fd");
    }
    uv_timer_init(loop, &h->timer);
    h->poll.data = h->timer.data = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    rearm(h);
    fo_log_info("http.listen", "listen=%s max_connections=%u timeout_s=%u", cfg->listen,
                cfg->max_connections, timeout_s);
    return 0;
}

static void handle_closed(uv_handle_t *hd)
{
    struct fo_http_api *h = hd->data;
    if (--h->pending == 0 && h->close_cb != NULL)
        h->close_cb(h);
}

void fo_http_api_close(struct fo_http_api *h, fo_http_api_close_cb close_cb)
{
    h->closing = true;
    h->close_cb = close_cb;
    /* Stop watching the epoll fd before MHD closes it. */
    uv_poll_stop(&h->poll);
    uv_timer_stop(&h->timer);
    MHD_stop_daemon(h->mhd); /* closes every connection; on_completed frees their state */
    h->mhd = NULL;
    h->pending = 2;
    uv_close((uv_handle_t *)&h->poll, handle_closed);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
}
