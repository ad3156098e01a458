/*
 * coordinator/serve/http_api.c — see http_api.h. The libmicrohttpd loop and the router;
 * the metrics page is metrics.c, the tokens http_auth.c, the feed bodies feed_json.c.
 */
#include "coordinator/serve/http_api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "actions/secret.h"
#include "coordinator/clock.h"
#include "coordinator/config/addr.h"
#include "coordinator/log.h"
#include "coordinator/serve/commands.h"
#include "coordinator/serve/context.h"
#include "coordinator/serve/feed_json.h"
#include "coordinator/serve/http_auth.h"
#include "coordinator/serve/http_reply.h"
#include "coordinator/serve/lb.h"
#include "coordinator/serve/majority.h"
#include "coordinator/serve/metrics.h"

/* Upper bound on one wait for MHD_get_timeout: MHD asks to be run again by then. */
#define TIMER_MAX_MS 60000u

/* ---- requests ---------------------------------------------------------------------- */

struct request {
    const struct route *route;
    int lb_kind; /* /v1/lb/<component>/<role>: enum fo_component_kind */
    bool lb_replica;
    char *body;
    size_t len;
    size_t max_body; /* the cap for this request (body_cap) */
    bool too_large;
};

static enum MHD_Result shutting_down(struct fo_http_api *h, struct MHD_Connection *c)
{
    return fo_http_reply_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down", NULL,
                               "%s is shutting down", h->s->cfg->self->name);
}

/* ---- GET handlers ------------------------------------------------------------------ */

static enum MHD_Result get_metrics(struct fo_http_api *h, struct MHD_Connection *c,
                                   const struct request *r)
{
    size_t len = 0;
    char *page;

    (void)r;
    page = fo_metrics_render(h->s, &len);

    if (page == NULL)
        return fo_http_reply_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
                                   "out of memory");
    return fo_http_reply(h, c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", page, len,
                         NULL);
}

static enum MHD_Result get_status(struct fo_http_api *h, struct MHD_Connection *c,
                                  const struct request *r)
{
    (void)r;
    return fo_http_reply_json(h, c, MHD_HTTP_OK, fo_commands_status(h->s), NULL);
}

/* This node's majority judgement (majority.h), counted for the metrics. */
static enum fo_majority_reason majority(struct fo_http_api *h, struct fo_majority *m)
{
    struct fo_majority_input in;

    fo_majority_of(h->s->node, h->s->cfg, &in);
    if (fo_majority_check(&in, m) != FO_MAJORITY_OK)
        h->no_majority++;
    return m->reason;
}

static json_t *majority_json(const struct fo_majority *m, const struct fo_config *cfg)
{
    return json_pack("{s:I,s:I}", "contact_age_ms", (json_int_t)m->contact_age_ms, "window_ms",
                     (json_int_t)fo_majority_window_ms(cfg));
}

/* GET /v1/primary: only from a node that can show majority contact (majority.h). */
static enum MHD_Result get_primary(struct fo_http_api *h, struct MHD_Connection *c,
                                   const struct request *r)
{
    struct fo_serve *d = h->s;
    const struct fo_state *st = fo_node_state(d->node);
    const struct fo_peer *leader = fo_ops_leader(d->node, d->cfg);
    const struct fo_site *site;
    struct fo_majority m;
    json_t *doc, *comp;

    (void)r;
    if (majority(h, &m) != FO_MAJORITY_OK)
        return fo_http_reply_error(
            h, c, MHD_HTTP_SERVICE_UNAVAILABLE, fo_majority_reason_names[m.reason], NULL,
            "%s cannot show majority contact: %s", d->cfg->self->name, m.msg);
    if (st->cluster == NULL || st->primary == NULL)
        return fo_http_reply_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "not_initialized", NULL,
                                   "%s has not seen the cluster's initial primary committed yet",
                                   d->cfg->self->name);
    site = fo_config_site(d->cfg, st->primary);
    if (site == NULL)
        return fo_http_reply_error(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "unknown_site", NULL,
                                   "the decided primary '%s' is not a site of %s's configuration",
                                   st->primary, d->cfg->self->name);
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
    doc = json_pack("{s:s,s:I,s:o,s:s,s:b,s:o,s:o}", "site", site->name, "epoch",
                    (json_int_t)st->epoch, "leader",
                    leader != NULL ? json_string(leader->name) : json_null(), "node",
                    d->cfg->self->name, "operation_in_flight", st->operation != NULL, "components",
                    comp, "majority", majority_json(&m, d->cfg));
    return fo_http_reply_json(h, c, MHD_HTTP_OK, doc, NULL);
}

/* lb.h's probe lookup: this node's last result of site's component probe. */
static int lb_standby(void *ctx, const struct fo_site *site, enum fo_component_kind kind)
{
    const struct fo_serve *d = ctx;
    const struct fo_probe_result *res;
    char name[FO_NAME_MAX * 2 + 16];
    size_t k;

    if (d->prober == NULL || !fo_components[kind].probed)
        return -1;
    fo_component_probe_name(kind, site->name, name, sizeof(name));
    k = fo_prober_find(d->prober, name);
    res = k != (size_t)-1 ? fo_prober_result(d->prober, k) : NULL;
    if (res == NULL || res->at_ms == 0 || !res->ok)
        return -1;
    if (kind == FO_COMPONENT_POSTGRES)
        return res->pg.in_recovery ? 1 : 0;
    return res->redis.role == FO_REDIS_ROLE_REPLICA ? 1 : 0;
}

/* GET /v1/lb/<component>/primary|replica?site=S | host=H[&port=P] (lb.h). */
static enum MHD_Result get_lb(struct fo_http_api *h, struct MHD_Connection *c,
                              const struct request *r)
{
    struct fo_serve *d = h->s;
    struct fo_majority m;
    struct fo_lb_answer a;
    const struct fo_lb_query q = {
        .kind = (enum fo_component_kind)r->lb_kind,
        .replica = r->lb_replica,
        .site = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "site"),
        .host = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "host"),
        .port = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "port"),
    };
    const struct fo_lb_facts f = {d->cfg, fo_node_state(d->node), &m, lb_standby, d};

    majority(h, &m);
    if (fo_lb_judge(&q, &f, &a) != MHD_HTTP_OK)
        return fo_http_reply_error(h, c, a.status, a.code, NULL, "%s", a.msg);
    return fo_http_reply_json(h, c, MHD_HTTP_OK,
                              json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o}", "site", a.site->name,
                                        "component", fo_components[q.kind].name, "role",
                                        q.replica ? "replica" : "primary", "message", a.msg,
                                        "epoch", (json_int_t)f.st->epoch, "node",
                                        d->cfg->self->name, "majority", majority_json(&m, d->cfg)),
                              NULL);
}

/* ---- POST handlers: the feeds (bodies parsed by feed_json.h) ------------------------ */

/* A body the parser refused: 400 ("bad_json" when it is not JSON at all). */
static enum MHD_Result refuse_body(struct fo_http_api *h, struct MHD_Connection *c,
                                   const struct fo_feed_error *e)
{
    h->reports_rejected++;
    if (e->code == FO_FEED_TOO_LARGE) /* the router stops these first; kept for safety */
        return fo_http_reply_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL, "%s",
                                   e->msg);
    if (e->code == FO_FEED_NO_MEMORY)
        return fo_http_reply_error(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "%s",
                                   e->msg);
    return fo_http_reply_error(h, c, MHD_HTTP_BAD_REQUEST,
                               e->code == FO_FEED_BAD_JSON ? "bad_json" : "bad_request", NULL, "%s",
                               e->msg);
}

/* POST /v1/health: {"observer","region","component","status","detail"}, as the msgpack
 * health feed (health_server.h) with the token in the Authorization header. */
static enum MHD_Result post_health(struct fo_http_api *h, struct MHD_Connection *c,
                                   const struct request *r)
{
    struct fo_serve *d = h->s;
    const char *token = fo_http_auth_bearer(c);
    const struct fo_health_feed *feed;
    struct fo_feed_health rep;
    struct fo_feed_error e;
    char msg[FO_TEXT_MAX];

    /* Some feed's token before the body is even parsed; that feed's token below. */
    if (!fo_http_auth_any_feed(d, token)) {
        h->reports_rejected++;
        return fo_http_reply_unauthorized(h, c, "/v1/health",
                                          token == NULL ? "no-token" : "wrong-token",
                                          "Authorization: Bearer <a feed's token> required");
    }
    if (fo_feed_health_parse(r->body, r->len, &rep, &e) != FO_FEED_OK)
        return refuse_body(h, c, &e);
    /* The same answer for an unknown feed and a wrong token: no feed-name oracle. */
    feed = fo_http_auth_feed(d, rep.observer);
    if (!fo_secret_equal(token, feed != NULL ? feed->token : NULL)) {
        h->reports_rejected++;
        return fo_http_reply_unauthorized(h, c, "/v1/health",
                                          feed == NULL ? "unknown-feed" : "wrong-token",
                                          "not a configured feed, or not its token");
    }
    if (*d->stopping)
        return shutting_down(h, c);
    if (fo_verdicts_component(d->verdicts, rep.observer, rep.region, rep.component, (int)rep.status,
                              rep.has_detail ? rep.detail : NULL, fo_clock_wall_ms(), msg,
                              sizeof(msg)) != 0) {
        h->reports_rejected++;
        return fo_http_reply_error(h, c, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "%s", msg);
    }
    h->reports++;
    return fo_http_reply_json(h, c, MHD_HTTP_OK, json_pack("{s:s}", "result", "recorded"), NULL);
}

static void ignore(json_t *ignored, size_t i, const struct fo_feed_alert *a, const char *reason)
{
    const char *fp = a->has_fingerprint ? a->fingerprint : NULL;
    json_t *o =
        json_pack("{s:I,s:s?,s:s}", "index", (json_int_t)i, "fingerprint", fp, "reason", reason);

    if (o == NULL) /* the reason quoted the client's bytes, cut mid-character */
        o = json_pack("{s:I,s:s?,s:s}", "index", (json_int_t)i, "fingerprint", fp, "reason",
                      "(not UTF-8)");
    json_array_append_new(ignored, o);
}

/* POST /v1/alertmanager: the webhook (reference §6.4), one verdict report per alert.
 * Repeats (repeat_interval) are harmless: only a change of a verdict is ever proposed. */
static enum MHD_Result post_alertmanager(struct fo_http_api *h, struct MHD_Connection *c,
                                         const struct request *r)
{
    struct fo_serve *d = h->s;
    const struct fo_config_alertmanager *am = &d->cfg->alertmanager;
    const struct fo_feed_labels labels = {am->region_label, am->component_label};
    const char *token = fo_http_auth_bearer(c);
    const struct fo_health_feed *feed = fo_http_auth_feed(d, am->observer);
    struct fo_feed_alerts alerts;
    struct fo_feed_error e;
    size_t accepted = 0;
    json_t *ignored;
    char why[FO_TEXT_MAX];

    if (!fo_secret_equal(token, feed != NULL ? feed->token : NULL)) {
        h->reports_rejected++;
        return fo_http_reply_unauthorized(
            h, c, "/v1/alertmanager",
            token == NULL  ? "no-token"
            : feed == NULL ? "no-alertmanager-feed"
                           : "wrong-token",
            "Authorization: Bearer <the alertmanager feed's token> required");
    }
    if (fo_feed_alertmanager_parse(r->body, r->len, &labels, &alerts, &e) != FO_FEED_OK)
        return refuse_body(h, c, &e);
    if (*d->stopping) {
        fo_feed_alerts_free(&alerts);
        return shutting_down(h, c);
    }
    ignored = json_array();
    for (size_t i = 0; i < alerts.n; i++) {
        const struct fo_feed_alert *a = &alerts.alerts[i];
        if (a->err != FO_FEED_ALERT_OK)
            ignore(ignored, i, a, fo_feed_alert_reason(a, &labels, why, sizeof(why)));
        else if (fo_verdicts_component(d->verdicts, am->observer, a->region, a->component,
                                       (int)a->status, a->detail, fo_clock_wall_ms(), why,
                                       sizeof(why)) != 0)
            ignore(ignored, i, a, why);
        else
            accepted++;
    }
    fo_feed_alerts_free(&alerts);
    h->reports += accepted;
    h->reports_rejected += json_array_size(ignored);
    if (json_array_size(ignored) > 0)
        fo_log_info("http.alertmanager", "accepted=%zu ignored=%zu", accepted,
                    json_array_size(ignored));
    return fo_http_reply_json(h, c, MHD_HTTP_OK,
                              json_pack("{s:s,s:I,s:o}", "observer", am->observer, "accepted",
                                        (json_int_t)accepted, "ignored", ignored),
                              NULL);
}

/* ---- routing ----------------------------------------------------------------------- */

enum access { OPEN, READ, FEED };

struct route {
    const char *path;
    bool post; /* else GET (and HEAD) */
    enum access access;
    enum MHD_Result (*get)(struct fo_http_api *h, struct MHD_Connection *c,
                           const struct request *r);
    enum MHD_Result (*post_body)(struct fo_http_api *h, struct MHD_Connection *c,
                                 const struct request *r);
    size_t max_body; /* POST: the largest body read (feed_json.h's bound); larger: 413 */
};

static const struct route routes[] = {
    {"/metrics", false, READ, get_metrics, NULL},
    {"/v1/status", false, READ, get_status, NULL},
    {"/v1/primary", false, OPEN, get_primary, NULL},
    {"/v1/lb/", false, OPEN, get_lb, NULL, 0}, /* + <component>/<role>: route_of */
    /* Alertmanager sends a whole alert group at once and never retries a 413. */
    {"/v1/alertmanager", true, FEED, NULL, post_alertmanager, FO_FEED_ALERTMANAGER_MAX},
    {"/v1/health", true, FEED, NULL, post_health, FO_HTTP_BODY_MAX},
};

#define LB_PREFIX "/v1/lb/"

/* The route of url; for /v1/lb/<component>/<primary|replica>, r's lb fields too (an
 * unknown component or role is no route: 404). */
static const struct route *route_of(const char *url, struct request *r)
{
    if (strncmp(url, LB_PREFIX, strlen(LB_PREFIX)) == 0) {
        const char *comp = url + strlen(LB_PREFIX), *slash = strchr(comp, '/');
        char name[32];
        if (slash == NULL || (size_t)(slash - comp) >= sizeof(name))
            return NULL;
        memcpy(name, comp, (size_t)(slash - comp));
        name[slash - comp] = '\0';
        r->lb_kind = fo_lb_kind_of(name);
        if (r->lb_kind < 0)
            return NULL;
        if (strcmp(slash + 1, "primary") == 0)
            r->lb_replica = false;
        else if (strcmp(slash + 1, "replica") == 0)
            r->lb_replica = true;
        else
            return NULL;
        url = LB_PREFIX;
    }
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
        if (strcmp(routes[i].path, url) == 0)
            return &routes[i];
    return NULL;
}

/* The body cap of rt: its own for a POST route, else FO_HTTP_BODY_MAX (read and dropped). */
static size_t body_max(const struct route *rt)
{
    return rt != NULL && rt->post ? rt->max_body : FO_HTTP_BODY_MAX;
}

/* The cap for this request: a route's larger cap (the webhook's 4 MiB) only with the
 * alertmanager feed's token, so that a client without it cannot make the node buffer
 * 4 MiB per connection; the handler checks the token again and answers 401. */
static size_t body_cap(struct fo_http_api *h, struct MHD_Connection *c, const struct route *rt)
{
    const struct fo_health_feed *feed;

    if (body_max(rt) <= FO_HTTP_BODY_MAX)
        return body_max(rt);
    feed = fo_http_auth_feed(h->s, h->s->cfg->alertmanager.observer);
    return fo_secret_equal(fo_http_auth_bearer(c), feed != NULL ? feed->token : NULL)
               ? body_max(rt)
               : FO_HTTP_BODY_MAX;
}

static bool too_large(struct MHD_Connection *c, size_t max)
{
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n;

    if (cl == NULL)
        return false;
    errno = 0;
    n = strtoull(cl, &end, 10);
    return errno != 0 || n > max;
}

/* The request, once its body is read: route, method, access, then the handler. */
static enum MHD_Result finish(struct fo_http_api *h, struct MHD_Connection *c,
                              const struct request *r, const char *method)
{
    const struct route *rt = r->route;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;

    if (rt == NULL)
        return fo_http_reply_error(
            h, c, MHD_HTTP_NOT_FOUND, "not_found", NULL,
            "no such endpoint (endpoints: /metrics, /v1/status, /v1/primary, "
            "/v1/lb/{postgres,redis}/{primary,replica}, /v1/alertmanager, /v1/health)");
    if (rt->post ? strcmp(method, MHD_HTTP_METHOD_POST) != 0 : !get)
        return fo_http_reply_error(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                                   rt->post ? "POST" : "GET, HEAD", "%s takes %s", rt->path,
                                   rt->post ? "POST" : "GET or HEAD");
    if (r->too_large)
        return fo_http_reply_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                                   "request body over %zu bytes", r->max_body);
    if (rt->access == READ && !fo_http_auth_read(h->s, fo_http_auth_bearer(c)))
        return fo_http_reply_unauthorized(
            h, c, rt->path, fo_http_auth_bearer(c) == NULL ? "no-token" : "wrong-token",
            "Authorization: Bearer <the read or admin token> required");
    return rt->post ? rt->post_body(h, c, r) : rt->get(h, c, r);
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
        size_t cap;
        h->requests++;
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        r->route = route_of(url, r);
        cap = body_cap(h, c, r->route);
        if (too_large(c, cap)) {
            free(r);
            return fo_http_reply_error(h, c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
                                       "request body over %zu bytes", cap);
        }
        r->max_body = cap;
        *state = r;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->route == NULL || !r->route->post || r->too_large)
            return MHD_YES; /* not wanted: read and dropped */
        if (r->len + n > r->max_body) {
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

    unsigned long long left_out = 0;

    vsnprintf(h->mhd_error, sizeof(h->mhd_error), fmt, ap);
    n = strlen(h->mhd_error);
    while (n > 0 && (h->mhd_error[n - 1] == '\n' || h->mhd_error[n - 1] == '.'))
        h->mhd_error[--n] = '\0';
    /* Once serving, what MHD says comes from clients (a plain-text client on the HTTPS
     * port, a failed handshake): rate-limited like every unauthenticated refusal. */
    if (h->mhd == NULL || h->poll.loop == NULL ||
        fo_auth_limiter_admit(&h->mhd_log_limit, uv_now(h->poll.loop), &left_out))
        fo_log_warn("http.server", "message=\"%s\" suppressed=%llu", h->mhd_error, left_out);
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

/* A PEM file into a NUL-terminated buffer of its own (*out, malloc'd). */
static int read_pem(const char *path, char **out, struct fo_error *err)
{
    FILE *f = fopen(path, "re");
    size_t n;

    *out = NULL;
    if (f == NULL)
        return fo_error_set(err, 1, "http: %s: %s", path, strerror(errno));
    *out = malloc(FO_HTTP_PEM_MAX + 1);
    if (*out == NULL) {
        fclose(f);
        return fo_error_set(err, 1, "http: out of memory");
    }
    n = fread(*out, 1, FO_HTTP_PEM_MAX + 1, f);
    fclose(f);
    if (n == 0 || n > FO_HTTP_PEM_MAX) {
        free(*out);
        *out = NULL;
        return fo_error_set(err, 1, "http: %s: %s", path,
                            n == 0 ? "empty or unreadable" : "larger than 64 KiB");
    }
    (*out)[n] = '\0';
    return 0;
}

/* HTTPS (issue 14): libmicrohttpd's TLS (GnuTLS inside) with the configured certificate
 * and key, as options for MHD_OPTION_ARRAY; plain HTTP leaves tls[0] the end. The PEM
 * texts stay in h until close (the key wiped then). */
static int tls_options(struct fo_http_api *h, const struct fo_config_http *cfg,
                       struct MHD_OptionItem tls[3], unsigned *flags, struct fo_error *err)
{
    tls[0] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    if (cfg->tls_cert == NULL)
        return 0; /* the config allows that only with plain_text: true */
    if (read_pem(cfg->tls_cert, &h->tls_cert, err) != 0 ||
        read_pem(cfg->tls_key, &h->tls_key, err) != 0)
        return 1;
    *flags |= MHD_USE_TLS;
    tls[0] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, h->tls_key};
    tls[1] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, h->tls_cert};
    tls[2] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    return 0;
}

static void tls_free(struct fo_http_api *h)
{
    if (h->tls_key != NULL)
        fo_secret_wipe(h->tls_key, strlen(h->tls_key));
    free(h->tls_key);
    free(h->tls_cert);
    h->tls_key = h->tls_cert = NULL;
}

int fo_http_api_start(struct fo_http_api *h, uv_loop_t *loop, struct fo_serve *s,
                      const struct fo_config_http *cfg, struct fo_error *err)
{
    struct MHD_OptionItem tls[3];
    struct sockaddr_storage sa;
    const union MHD_DaemonInfo *info;
    enum fo_addr_err bad;
    unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    uint16_t port;
    unsigned timeout_s = cfg->timeout_ms > 1000 ? (cfg->timeout_ms + 999) / 1000 : 1;

    memset(h, 0, sizeof(*h));
    h->s = s;
    if ((bad = fo_addr_parse(cfg->listen, &sa, NULL)) != FO_ADDR_OK)
        return fo_error_set(err, 1, "http.listen: '%s': %s", cfg->listen != NULL ? cfg->listen : "",
                            fo_addr_strerror(bad));
    /* MHD makes its listening socket of the family MHD_USE_IPv6 says, then binds SOCK_ADDR. */
    if (sa.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
        port = ntohs(((const struct sockaddr_in6 *)&sa)->sin6_port);
    } else {
        port = ntohs(((const struct sockaddr_in *)&sa)->sin_port);
    }
    if (tls_options(h, cfg, tls, &flags, err) != 0) {
        tls_free(h);
        return 1;
    }
    /* No MHD_USE_INTERNAL_POLLING_THREAD: MHD runs only when the loop calls MHD_run. The
     * port argument only names the port in MHD's messages: SOCK_ADDR holds the address. */
    h->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, h,
        /* first: MHD logs through it from the next option on */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
        timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)FO_HTTP_CONN_MEM_MAX,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (h->mhd == NULL) {
        tls_free(h);
        return fo_error_set(err, 1, "http: cannot listen on %s: %s", cfg->listen,
                            h->mhd_error[0] != '\0' ? h->mhd_error : "libmicrohttpd failed");
    }
    info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL || uv_poll_init(loop, &h->poll, info->epoll_fd) != 0) {
        MHD_stop_daemon(h->mhd);
        h->mhd = NULL;
        tls_free(h);
        return fo_error_set(err, 1, "http: cannot watch libmicrohttpd's epoll fd");
    }
    uv_timer_init(loop, &h->timer);
    h->poll.data = h->timer.data = h;
    uv_poll_start(&h->poll, UV_READABLE, on_poll);
    rearm(h);
    fo_log_info("http.listen", "listen=%s tls=%s max_connections=%u timeout_s=%u", cfg->listen,
                h->tls_cert != NULL ? "on" : "off", cfg->max_connections, timeout_s);
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
    tls_free(h);
    h->pending = 2;
    uv_close((uv_handle_t *)&h->poll, handle_closed);
    uv_close((uv_handle_t *)&h->timer, handle_closed);
}
