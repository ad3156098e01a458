/*
 * tests/actions/test_saas_actions.c — the SaaS action kinds (actions/http.h, vercel.c,
 * cloudflare.c, notify.c) against the fake servers (tests/fakes/fakesaas.py).
 *
 * Run by test_saas_actions.py, which starts the fake and passes FAKES_URL (its base
 * URL) and FO_SAAS_SECRETS (a directory of token files, see SECRET_FILES). Without
 * FAKES_URL only the unit tests run (the others are skipped).
 *
 * Every kind goes through the same table of cases (success, a second run changes
 * nothing, 429 with Retry-After, 5xx, a timeout, bad credentials, check mode), then
 * each kind's own behaviour is checked against the fake's state and calls log. Every
 * detail string of every run is checked for every secret the test knows.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "actions/http.h"
#include "actions/kinds.h"
#include "actions/notify.h"
#include "actions/secret.h"

/* From tests/fakes/seed-example.json. */
#define TEAM    "team_fakesaas"
#define ZONE    "023e105f4ecef8ad9ca31a8372d0c353"
#define ACCOUNT "01a7362d577a6c3019a474fd6f485823"
#define RECORD  "372e67954025e0ba6aaa6d586b9e0b59"
#define SP_PAGE "pg1fakesaas1"
#define SP_COMP "gcvfrw2r8w36"
#define NEW_IP  "203.0.113.30"

static const char *fakes;   /* FAKES_URL, or NULL */
static const char *secrets; /* FO_SAAS_SECRETS */

/* The secret files test_saas_actions.py writes; their contents must never show. */
static const char *const SECRET_FILES[] = {
    "vercel.token", "bad.token",  "cf.token", "slack.url", "slack-bad.url",
    "pd.key",       "pd-bad.key", "sp.key",   "db.secret", NULL,
};
static char secret_values[16][512];

/* ---- helpers ------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
    return fo_action_now_ms();
}

static void nap(unsigned ms)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* A call to the fake's control API or a raw API call; returns the JSON (new reference). */
static json_t *fake_call(const char *method, const char *path, const char *body)
{
    char url[2048];
    json_t *j = body != NULL ? json_loads(body, 0, NULL) : NULL;
    struct fo_http_req hr = {.method = method, .url = url, .json = j};
    struct fo_http_resp resp;
    json_t *out;
    int rc;

    if (body != NULL)
        assert_non_null(j);
    snprintf(url, sizeof(url), "%s%s", fakes, path);
    hr.deadline_ms = now_ms() + 10000;
    rc = fo_http_request(&hr, &resp);
    if (rc != FO_HTTP_OK || resp.status != 200)
        fail_msg("fake %s %s: rc %d status %ld %s %s", method, path, rc, resp.status, resp.error,
                 resp.body != NULL ? resp.body : "");
    out = json_incref(resp.json);
    fo_http_resp_free(&resp);
    json_decref(j);
    return out;
}

static void inject(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void inject(const char *fmt, ...)
{
    char spec[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(spec, sizeof(spec), fmt, ap);
    va_end(ap);
    json_decref(fake_call("POST", "/_fake/inject", spec));
}

static void clear_calls(void)
{
    json_decref(fake_call("DELETE", "/_fake/calls", NULL));
}

/* Calls the fake received for service (and method, and path regex, when not NULL). */
static json_t *calls(const char *service, const char *method, const char *path_rx)
{
    struct fo_http_url u;
    json_t *j, *list;

    fo_http_url_init(&u, "/_fake/calls");
    fo_http_url_query(&u, "service", service);
    fo_http_url_query(&u, "method", method);
    fo_http_url_query(&u, "path", path_rx);
    j = fake_call("GET", u.buf, NULL);
    list = json_incref(json_object_get(j, "calls"));
    json_decref(j);
    return list;
}

static size_t ncalls(const char *service, const char *method, const char *path_rx)
{
    json_t *l = calls(service, method, path_rx);
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

/* Calls to service that could change something (anything but GET). */
static size_t nwrites(const char *service)
{
    json_t *l = calls(service, NULL, NULL), *c;
    size_t i, n = 0;
    json_array_foreach(l, i, c)
    {
        n += strcmp(fo_json_str(c, "method"), "GET") != 0;
    }
    json_decref(l);
    return n;
}

/* Wait (poll with a deadline) until the fake has answered every request it received:
 * a delayed request must not land in the next test. */
static void settle(void)
{
    uint64_t end = now_ms() + 10000;
    for (;;) {
        json_t *l = calls(NULL, NULL, NULL), *c;
        size_t i;
        bool busy = false;
        json_array_foreach(l, i, c)
        {
            busy = busy || json_is_null(json_object_get(c, "status"));
        }
        json_decref(l);
        if (!busy)
            return;
        if (now_ms() > end)
            fail_msg("the fake still has requests in flight");
        nap(20);
    }
}

static json_t *fake_state(const char *service)
{
    char path[128];
    json_t *j, *s;
    snprintf(path, sizeof(path), "/_fake/state?service=%s", service);
    j = fake_call("GET", path, NULL);
    s = json_incref(json_object_get(j, service));
    json_decref(j);
    return s;
}

/* Replace service's state with st (this test only: the next reset restores the seed). */
static void reseed(const char *service, json_t *st)
{
    json_t *doc = json_pack("{s:O}", service, st);
    char *text = json_dumps(doc, JSON_COMPACT);

    assert_non_null(text);
    json_decref(fake_call("POST", "/_fake/seed?baseline=0", text));
    free(text);
    json_decref(doc);
}

/* One action call: the request, its parameters and their storage. */
struct call {
    struct fo_action_req req;
    struct fo_kv kv[24];
    char val[24][512];
    size_t n;
    atomic_int cancel;
    char op[64];
};

static unsigned op_seq;

static void call_init(struct call *c, const char *kind, const char *event)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->op, sizeof(c->op), "op-%d-%u", (int)getpid() % 100000, ++op_seq);
    c->req.kind = kind;
    c->req.op_id = c->op;
    c->req.epoch = 7;
    c->req.op_kind = "auto";
    c->req.from = "main";
    c->req.to = "dr";
    c->req.reason = "primary site main DOWN for 3 of 3 observers";
    c->req.event = event;
    c->req.deadline_ms = now_ms() + 15000;
    c->req.cancel = &c->cancel;
}

static void param(struct call *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void param(struct call *c, const char *key, const char *fmt, ...)
{
    va_list ap;
    assert_true(c->n < 24);
    va_start(ap, fmt);
    vsnprintf(c->val[c->n], sizeof(c->val[c->n]), fmt, ap);
    va_end(ap);
    c->kv[c->n].key = (char *)key;
    c->kv[c->n].value = c->val[c->n];
    c->n++;
}

static void param_secret(struct call *c, const char *key, const char *file)
{
    param(c, key, "%s/%s", secrets, file);
}

static void no_secret_in(const char *detail)
{
    for (size_t i = 0; SECRET_FILES[i] != NULL; i++) {
        const char *s = secret_values[i];
        const char *path = strstr(s, "/services/"); /* a Slack URL: its path is the secret */
        if (s[0] != '\0' && strstr(detail, s) != NULL)
            fail_msg("detail shows the secret of %s: %s", SECRET_FILES[i], detail);
        if (path != NULL && strstr(detail, path) != NULL)
            fail_msg("detail shows the webhook path of %s: %s", SECRET_FILES[i], detail);
    }
}

static const char *status_name(int s)
{
    static const char *const names[] = {"DONE", "SKIPPED", "FAILED", "REFUSED"};
    return s >= 0 && s <= 3 ? names[s] : "?";
}

static void run(const struct fo_action_kind *k, struct call *c, struct fo_action_result *res)
{
    char msg[256];
    uint64_t t0 = now_ms();

    c->req.kind = k->name;
    c->req.params = c->kv;
    c->req.nparams = c->n;
    if (fo_action_params_check(k, c->kv, c->n, msg, sizeof(msg)) != 0)
        fail_msg("%s", msg);
    memset(res, 0, sizeof(*res));
    k->run(&c->req, res);
    printf("    %-17s %-7s %5llu ms  %s\n", k->name, status_name(res->status),
           (unsigned long long)(now_ms() - t0), res->detail);
    no_secret_in(res->detail);
}

static void expect(const struct fo_action_result *res, int status, const char *text)
{
    if (res->status != status)
        fail_msg("expected %s, got %s: %s", status_name(status), status_name(res->status),
                 res->detail);
    if (text != NULL && strstr(res->detail, text) == NULL)
        fail_msg("expected '%s' in the detail: %s", text, res->detail);
}

/* ---- each kind's parameters ----------------------------------------------------------- */

static void params_http(struct call *c, bool bad)
{
    param(c, "url", "%s/vercel/v9/projects/app?teamId=" TEAM, fakes);
    param_secret(c, "token_file", bad ? "bad.token" : "vercel.token");
    param(c, "header.X-Request-Source", "failoverd-test");
}

static void params_vercel(struct call *c, bool bad)
{
    param(c, "api_url", "%s/vercel", fakes);
    param_secret(c, "token_file", bad ? "bad.token" : "vercel.token");
    param(c, "project", "app");
    param(c, "team_id", TEAM);
}

static void params_vercel_env(struct call *c, bool bad)
{
    params_vercel(c, bad);
    param(c, "env.REDIS_HOST", "redis-dr");
    param(c, "env.NEXT_PUBLIC_SUPABASE_URL", "https://dr.supabase.co");
    param_secret(c, "env_file.DATABASE_URL", "db.secret");
    param(c, "env.FAILOVERD_SITE", "dr");
}

static void params_vercel_redeploy(struct call *c, bool bad)
{
    params_vercel(c, bad);
    param(c, "poll_ms", "40");
}

static void params_cf_dns(struct call *c, bool bad)
{
    param(c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(c, "token_file", bad ? "bad.token" : "cf.token");
    param(c, "zone_id", ZONE);
    param(c, "record_name", "api.example.com");
    param(c, "content", NEW_IP);
}

static void params_cf_pool(struct call *c, bool bad)
{
    param(c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(c, "token_file", bad ? "bad.token" : "cf.token");
    param(c, "account_id", ACCOUNT);
    param(c, "enable_pool", "pool-dr");
    param(c, "disable_pool", "pool-main");
}

static void params_slack(struct call *c, bool bad)
{
    param_secret(c, "webhook_url_file", bad ? "slack-bad.url" : "slack.url");
}

static void params_pagerduty(struct call *c, bool bad)
{
    param(c, "api_url", "%s/pagerduty", fakes);
    param_secret(c, "routing_key_file", bad ? "pd-bad.key" : "pd.key");
}

static void params_statuspage(struct call *c, bool bad)
{
    param(c, "api_url", "%s/statuspage/v1", fakes);
    param_secret(c, "token_file", bad ? "bad.token" : "sp.key");
    param(c, "page_id", SP_PAGE);
    param(c, "component_id", SP_COMP);
}

struct kind_case {
    const struct fo_action_kind *kind;
    void (*params)(struct call *c, bool bad);
    const char *event;
    const char *service;  /* the fake service it talks to */
    const char *method;   /* its first request, where faults are injected */
    const char *path;     /*   (a regex of its path) */
    const char *bad_text; /* in the detail with bad credentials */
    bool repeat_no_write; /* a second run writes nothing */
};

static const struct kind_case cases[] = {
    {&fo_action_http, params_http, NULL, "vercel", "GET", "/projects/app$", "HTTP 403", true},
    {&fo_action_vercel_env, params_vercel_env, NULL, "vercel", "GET", "/env$", "forbidden", true},
    {&fo_action_vercel_redeploy, params_vercel_redeploy, NULL, "vercel", "GET", "/v9/projects/",
     "forbidden", true},
    {&fo_action_cloudflare_dns, params_cf_dns, NULL, "cloudflare", "GET", "/dns_records", "10000",
     true},
    {&fo_action_cloudflare_pool, params_cf_pool, NULL, "cloudflare", "GET", "/pools/", "10000",
     true},
    {&fo_action_notify_slack, params_slack, "opened", "slack", "POST", "/services/", "no_service",
     false},
    {&fo_action_notify_pagerduty, params_pagerduty, "opened", "pagerduty", "POST", "/v2/enqueue",
     "Invalid routing key", false},
    {&fo_action_notify_statuspage, params_statuspage, "opened", "statuspage", "GET",
     "/incidents/unresolved", "Could not authenticate", true},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static void case_call(const struct kind_case *k, struct call *c, bool bad)
{
    call_init(c, k->kind->name, k->event);
    k->params(c, bad);
}

/* ---- the cases every kind goes through ------------------------------------------------- */

static int setup_fake(void **state)
{
    (void)state;
    if (fakes != NULL)
        json_decref(fake_call("POST", "/_fake/reset", NULL));
    return 0;
}

#define NEED_FAKE()                                                                                \
    do {                                                                                           \
        if (fakes == NULL)                                                                         \
            skip();                                                                                \
    } while (0)

static void t_success(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;

    NEED_FAKE();
    case_call(k, &c, false);
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    if (k->kind != &fo_action_http)
        assert_true(nwrites(k->service) >= 1);
}

static void t_again(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;

    NEED_FAKE();
    case_call(k, &c, false);
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    clear_calls();
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    assert_int_equal(nwrites(k->service), 0);
}

static void t_rate_limited(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;
    uint64_t t0;

    NEED_FAKE();
    inject("{\"service\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":429,"
           "\"retry_after\":1}",
           k->service, k->method, k->path);
    case_call(k, &c, false);
    t0 = now_ms();
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    /* Retry-After: 1 was honoured (the own back-off would have been 250 ms). */
    assert_true(now_ms() - t0 >= 1000);
    assert_true(ncalls(k->service, k->method, k->path) >= 2);
}

static void t_server_error(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;

    NEED_FAKE();
    inject("{\"service\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"status\":503,\"count\":2}",
           k->service, k->method, k->path);
    case_call(k, &c, false);
    run(k->kind, &c, &res);
    if (k->kind == &fo_action_notify_slack) {
        /* A 5xx may come after the message was posted: never sent twice (see below). */
        expect(&res, FO_ACTION_FAILED, "HTTP 503");
        assert_int_equal(ncalls(k->service, k->method, k->path), 1);
        return;
    }
    expect(&res, FO_ACTION_DONE, NULL);
    assert_true(ncalls(k->service, k->method, k->path) >= 3);
}

static void t_timeout(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;
    uint64_t t0;

    NEED_FAKE();
    inject("{\"service\":\"%s\",\"method\":\"%s\",\"path\":\"%s\",\"delay\":1.2}", k->service,
           k->method, k->path);
    case_call(k, &c, false);
    t0 = now_ms();
    c.req.deadline_ms = t0 + 600;
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_FAILED, NULL);
    assert_true(now_ms() - t0 < 600 + 300);
    settle();
}

static void t_bad_credentials(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;

    NEED_FAKE();
    case_call(k, &c, true);
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_REFUSED, k->bad_text);
}

static void t_check_mode(void **state)
{
    const struct kind_case *k = *state;
    struct call c;
    struct fo_action_result res;

    NEED_FAKE();
    case_call(k, &c, false);
    c.req.check_only = true;
    run(k->kind, &c, &res);
    expect(&res, FO_ACTION_DONE, "check");
    assert_int_equal(nwrites(k->service), 0);
}

/* ---- vercel ------------------------------------------------------------------------------ */

static const json_t *find_env(const json_t *vercel, const char *key)
{
    const json_t *envs =
        json_object_get(json_array_get(json_object_get(vercel, "projects"), 0), "envs");
    const json_t *e;
    size_t i;
    json_array_foreach(envs, i, e)
    {
        if (strcmp(fo_json_str(e, "key"), key) == 0)
            return e;
    }
    return NULL;
}

static void t_vercel_env_values(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st;

    (void)state;
    NEED_FAKE();
    case_call(&cases[1], &c, false);
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_DONE, "DATABASE_URL");
    st = fake_state("vercel");
    assert_string_equal(fo_json_str(find_env(st, "DATABASE_URL"), "value"), secret_values[8]);
    assert_string_equal(fo_json_str(find_env(st, "DATABASE_URL"), "type"), "encrypted");
    assert_string_equal(fo_json_str(find_env(st, "REDIS_HOST"), "value"), "redis-dr");
    assert_string_equal(fo_json_str(find_env(st, "NEXT_PUBLIC_SUPABASE_URL"), "value"),
                        "https://dr.supabase.co");
    assert_string_equal(fo_json_str(find_env(st, "FAILOVERD_SITE"), "type"), "plain");
    /* One upsert call carried every change. */
    assert_int_equal(ncalls("vercel", "POST", "/env$"), 1);
    json_decref(st);
}

static void t_vercel_env_partly_set(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *l;

    (void)state;
    NEED_FAKE();
    call_init(&c, "vercel.env", NULL);
    params_vercel(&c, false);
    param(&c, "env.REDIS_HOST", "redis-main"); /* the seeded value */
    param(&c, "env.NEW_ONE", "x");
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_DONE, "set NEW_ONE; unchanged: REDIS_HOST");
    l = calls("vercel", "POST", "/env$");
    assert_int_equal(json_array_size(l), 1);
    /* Only the variable that differs was sent. */
    assert_int_equal(json_array_size(json_object_get(json_array_get(l, 0), "body")), 1);
    json_decref(l);
}

static json_t *tagged(const char *op)
{
    json_t *st = fake_state("vercel"), *out = json_array(), *d;
    size_t i;
    json_array_foreach(json_object_get(st, "deployments"), i, d)
    {
        const char *tag = fo_json_str(json_object_get(d, "meta"), "failoverd_op");
        if (tag != NULL && strcmp(tag, op) == 0)
            json_array_append(out, d);
    }
    json_decref(st);
    return out;
}

static void t_redeploy_once_per_op(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *t;

    (void)state;
    NEED_FAKE();
    case_call(&cases[2], &c, false);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "reused");
    assert_int_equal(ncalls("vercel", "POST", "/deployments$"), 1);
    t = tagged(c.op);
    assert_int_equal(json_array_size(t), 1);
    assert_string_equal(fo_json_str(json_array_get(t, 0), "target"), "production");
    assert_string_equal(
        fo_json_str(json_object_get(json_array_get(t, 0), "meta"), "failoverd_epoch"), "7");
    json_decref(t);
}

/* A leader crashed while the deployment built: the next run follows the same one. */
static void t_redeploy_resumes(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *t;

    (void)state;
    NEED_FAKE();
    case_call(&cases[2], &c, false);
    c.req.deadline_ms = now_ms() + 150; /* ends while QUEUED/BUILDING */
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_FAILED, "still");
    c.req.deadline_ms = now_ms() + 10000;
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "reused");
    assert_int_equal(ncalls("vercel", "POST", "/deployments$"), 1);
    t = tagged(c.op);
    assert_int_equal(json_array_size(t), 1);
    json_decref(t);
}

static void t_redeploy_build_error(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *t;

    (void)state;
    NEED_FAKE();
    inject("{\"deployment\":\"ERROR\",\"error_code\":\"BUILD_FAILED\","
           "\"error_message\":\"npm run build exited with 1\"}");
    case_call(&cases[2], &c, false);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_FAILED, "BUILD_FAILED: npm run build exited with 1");
    /* A failed build is built again by the next attempt, once. */
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    t = tagged(c.op);
    assert_int_equal(json_array_size(t), 2);
    json_decref(t);
}

static void t_redeploy_alias_error(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    inject("{\"alias_error\":{\"code\":\"cert_missing\",\"message\":\"no certificate\"}}");
    case_call(&cases[2], &c, false);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_FAILED, "cert_missing");
}

static void t_redeploy_create_5xx(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *t;

    (void)state;
    NEED_FAKE();
    inject("{\"service\":\"vercel\",\"method\":\"POST\",\"path\":\"/deployments$\","
           "\"status\":500}");
    case_call(&cases[2], &c, false);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    /* Looked up again before the second create: still one deployment. */
    assert_int_equal(ncalls("vercel", "POST", "/deployments$"), 2);
    assert_int_equal(ncalls("vercel", "GET", "/v6/deployments$"), 2);
    t = tagged(c.op);
    assert_int_equal(json_array_size(t), 1);
    json_decref(t);
}

/* Set the seeded project's (or, project NULL, the service's) key to value (a new
 * reference), for this test only. */
static void vercel_set(bool project, const char *key, json_t *value)
{
    json_t *st = fake_state("vercel");
    json_t *obj = project ? json_array_get(json_object_get(st, "projects"), 0) : st;

    json_object_set_new(obj, key, value);
    reseed("vercel", st);
    json_decref(st);
}

static void params_verify(struct call *c)
{
    param(c, "verify_url", "%s/vercel/_app/{url}/api/failoverd", fakes);
    param_secret(c, "env_file.DATABASE_URL", "db.secret");
    param(c, "env.REDIS_HOST", "redis-dr");
}

/* The runbook's order: env, then redeploy. A redeploy of an existing deployment inherits
 * its environment (Vercel's SDK; the fake's default): the check against the app's health
 * endpoint catches the old DATABASE_URL. Where the project builds with the current
 * environment, the same check passes. */
static void t_redeploy_verifies_env(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    case_call(&cases[1], &c, false);
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    case_call(&cases[2], &c, false);
    params_verify(&c);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "serves database_host=pg-main, expected pg-dr.internal");
    assert_int_equal(ncalls("vercel", "GET", "/_app/"), 1);

    vercel_set(true, "redeploy_env", json_string("current"));
    case_call(&cases[2], &c, false);
    params_verify(&c);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "verified database_host=pg-dr.internal, redis_host=redis-dr");

    /* Nothing to expect is a configuration error, found before anything is created. */
    clear_calls();
    case_call(&cases[2], &c, false);
    param(&c, "verify_url", "%s/vercel/_app/{url}/api/failoverd", fakes);
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "verify_url needs the values to expect");
    assert_int_equal(ncalls("vercel", NULL, NULL), 0);
}

/* checksConclusion "failed": Vercel never promotes it, so the wait ends at once; the
 * next run builds again. */
static void t_redeploy_checks_failed(void **state)
{
    struct call c;
    struct fo_action_result res;
    uint64_t t0;
    json_t *t;

    (void)state;
    NEED_FAKE();
    inject("{\"checks\":\"failed\"}");
    case_call(&cases[2], &c, false);
    t0 = now_ms();
    c.req.deadline_ms = t0 + 120000;
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_FAILED, "checks failed (checksConclusion)");
    assert_true(now_ms() - t0 < 60000); /* ended on the answer, not at the deadline */
    c.req.deadline_ms = now_ms() + 15000;
    run(&fo_action_vercel_redeploy, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    t = tagged(c.op);
    assert_int_equal(json_array_size(t), 2);
    json_decref(t);
}

/* GET /v10/projects/{p}/env documents no limit: none is sent; a server's pages are
 * followed with until = pagination.next, and a cursor that does not move stops the read. */
static void t_vercel_env_pages(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *l, *q;
    size_t i;

    (void)state;
    NEED_FAKE();
    vercel_set(false, "env_page_size", json_integer(1));
    case_call(&cases[1], &c, false);
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    l = calls("vercel", "GET", "/env$");
    assert_int_equal(json_array_size(l), 3); /* the seed's three variables, one a page */
    json_array_foreach(l, i, q)
    {
        assert_null(json_object_get(json_object_get(q, "query"), "limit"));
    }
    json_decref(l);

    setup_fake(NULL);
    vercel_set(false, "env_page_size", json_integer(1));
    vercel_set(false, "env_cursor_stuck", json_true());
    case_call(&cases[1], &c, false);
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_FAILED, "the page cursor did not advance");
    assert_int_equal(ncalls("vercel", "GET", "/env$"), 2);
    assert_int_equal(ncalls("vercel", "POST", NULL), 0);
}

static void t_deadline_before_retry_after(void **state)
{
    struct call c;
    struct fo_action_result res;
    uint64_t t0;

    (void)state;
    NEED_FAKE();
    inject("{\"service\":\"vercel\",\"status\":429,\"retry_after\":5}");
    case_call(&cases[1], &c, false);
    t0 = now_ms();
    c.req.deadline_ms = t0 + 2000;
    run(&fo_action_vercel_env, &c, &res);
    expect(&res, FO_ACTION_FAILED, "HTTP 429");
    /* It did not sleep into the deadline; the step's retry policy gets the hint. */
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(res.retry_after_ms, 5000);
}

/* ---- cloudflare ------------------------------------------------------------------------- */

static const json_t *cf_record(const json_t *cf, const char *id)
{
    const json_t *z = json_array_get(json_object_get(cf, "zones"), 0), *r;
    size_t i;

    json_array_foreach(json_object_get(z, "dns_records"), i, r)
    {
        if (strcmp(fo_json_str(r, "id"), id) == 0)
            return r;
    }
    return NULL;
}

static void t_cloudflare_dns_effect(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st;

    (void)state;
    NEED_FAKE();
    call_init(&c, "cloudflare.dns", NULL);
    param(&c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(&c, "token_file", "cf.token");
    param(&c, "zone_id", ZONE);
    param(&c, "record_id", RECORD);
    param(&c, "record_name", "api.example.com");
    param(&c, "content", NEW_IP);
    param(&c, "proxied", "true");
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_DONE, "203.0.113.10 -> " NEW_IP);
    st = fake_state("cloudflare");
    assert_string_equal(fo_json_str(cf_record(st, RECORD), "content"), NEW_IP);
    assert_true(json_is_true(json_object_get(cf_record(st, RECORD), "proxied")));
    json_decref(st);
    /* A PATCH with only the changed fields. */
    assert_int_equal(ncalls("cloudflare", "PATCH", RECORD), 1);
}

static void t_cloudflare_dns_errors(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    call_init(&c, "cloudflare.dns", NULL);
    param(&c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(&c, "token_file", "cf.token");
    param(&c, "zone_id", ZONE);
    param(&c, "record_id", "00000000000000000000000000000000");
    param(&c, "content", NEW_IP);
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "81044 Record does not exist.");

    call_init(&c, "cloudflare.dns", NULL);
    param(&c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(&c, "token_file", "cf.token");
    param(&c, "zone_id", ZONE);
    param(&c, "record_name", "nothing.example.com");
    param(&c, "content", NEW_IP);
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "0 A records named nothing.example.com");
    assert_int_equal(nwrites("cloudflare"), 0);
}

/* The API's names are complete: "api" and "@" are completed with the zone's name (the
 * fake, like the real API, finds nothing for "api"). */
static void t_cloudflare_relative_name(void **state)
{
    static const char *const names[] = {"api", "api.example.com.", "API.Example.com"};
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        call_init(&c, "cloudflare.dns", NULL);
        param(&c, "api_url", "%s/cloudflare/client/v4", fakes);
        param_secret(&c, "token_file", "cf.token");
        param(&c, "zone_id", ZONE);
        param(&c, "record_name", "%s", names[i]);
        param(&c, "content", NEW_IP);
        run(&fo_action_cloudflare_dns, &c, &res);
        expect(&res, FO_ACTION_DONE, "api.example.com");
    }
    assert_int_equal(ncalls("cloudflare", "PATCH", RECORD), 1);
    /* The apex: "@" is the zone's own name (no such A record in the seed). */
    call_init(&c, "cloudflare.dns", NULL);
    param(&c, "api_url", "%s/cloudflare/client/v4", fakes);
    param_secret(&c, "token_file", "cf.token");
    param(&c, "zone_id", ZONE);
    param(&c, "record_name", "@");
    param(&c, "content", NEW_IP);
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "0 A records named example.com in zone");
}

/* A TTL below 60 only on an Enterprise zone: refused before any write on another plan,
 * set on an Enterprise one. */
static void t_cloudflare_ttl_plan(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st;

    (void)state;
    NEED_FAKE();
    call_init(&c, "cloudflare.dns", NULL);
    params_cf_dns(&c, false);
    param(&c, "ttl", "30");
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "only Enterprise zones allow; zone example.com is on Free");
    assert_int_equal(nwrites("cloudflare"), 0);
    c.req.check_only = true;
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "Enterprise");
    c.req.check_only = false;

    st = fake_state("cloudflare");
    json_object_set_new(json_array_get(json_object_get(st, "zones"), 0), "plan",
                        json_string("enterprise"));
    reseed("cloudflare", st);
    json_decref(st);
    run(&fo_action_cloudflare_dns, &c, &res);
    expect(&res, FO_ACTION_DONE, NEW_IP);
    st = fake_state("cloudflare");
    assert_int_equal(json_integer_value(json_object_get(cf_record(st, RECORD), "ttl")), 30);
    json_decref(st);
}

static void t_cloudflare_pool_effect(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st, *acc, *p;
    size_t i;
    int checked = 0;

    (void)state;
    NEED_FAKE();
    case_call(&cases[4], &c, false);
    run(&fo_action_cloudflare_pool, &c, &res);
    expect(&res, FO_ACTION_DONE, "pool pool-dr enabled; pool pool-main disabled");
    st = fake_state("cloudflare");
    acc = json_array_get(json_object_get(st, "accounts"), 0);
    json_array_foreach(json_object_get(acc, "pools"), i, p)
    {
        const char *id = fo_json_str(p, "id");
        if (strcmp(id, "pool-dr") == 0 && ++checked)
            assert_true(json_is_true(json_object_get(p, "enabled")));
        if (strcmp(id, "pool-main") == 0 && ++checked)
            assert_true(json_is_false(json_object_get(p, "enabled")));
    }
    assert_int_equal(checked, 2);
    json_decref(st);
    run(&fo_action_cloudflare_pool, &c, &res);
    expect(&res, FO_ACTION_DONE, "no change");
}

/* ---- notifications ---------------------------------------------------------------------- */

static void t_slack_text(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st, *m;
    const char *text;

    (void)state;
    NEED_FAKE();
    case_call(&cases[5], &c, false);
    c.req.event = "resolved";
    c.req.timeline = "00:00.0 detected DOWN\n00:31.2 decided\n02:10.8 DNS switched";
    run(&fo_action_notify_slack, &c, &res);
    expect(&res, FO_ACTION_DONE, "resolved");
    st = fake_state("slack");
    m = json_array_get(json_object_get(st, "messages"), 0);
    text = fo_json_str(m, "text");
    assert_non_null(text);
    assert_non_null(strstr(text, c.op));
    assert_non_null(strstr(text, "from main to dr"));
    assert_non_null(strstr(text, "02:10.8 DNS switched"));
    assert_non_null(strstr(text, "What happened: primary site main DOWN"));
    json_decref(st);
}

/* Slack's formatting rules: & < > in the text are escaped, so a reason shows as written
 * and "<!channel>" in it pings nobody. */
static void t_slack_escaped(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st, *m;

    (void)state;
    NEED_FAKE();
    case_call(&cases[5], &c, false);
    c.req.reason = "p99 > 5 s & replicas < 2 <!channel>";
    run(&fo_action_notify_slack, &c, &res);
    expect(&res, FO_ACTION_DONE, NULL);
    st = fake_state("slack");
    m = json_array_get(json_object_get(st, "messages"), 0);
    assert_non_null(strstr(fo_json_str(m, "text"), "p99 &gt; 5 s &amp; replicas &lt; 2"));
    assert_non_null(strstr(fo_json_str(m, "rendered"), "p99 > 5 s & replicas < 2 <!channel>"));
    assert_int_equal(json_array_size(json_object_get(m, "controls")), 0);
    json_decref(st);
}

/* The webhook posted the message and the answer was a 502: not sent again. */
static void t_slack_no_duplicate(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st;

    (void)state;
    NEED_FAKE();
    inject("{\"service\":\"slack\",\"status\":502,\"processed\":true}");
    case_call(&cases[5], &c, false);
    run(&fo_action_notify_slack, &c, &res);
    expect(&res, FO_ACTION_FAILED, "HTTP 502");
    st = fake_state("slack");
    assert_int_equal(json_array_size(json_object_get(st, "messages")), 1);
    json_decref(st);
    assert_int_equal(ncalls("slack", "POST", NULL), 1);
}

static void t_slack_archived(void **state)
{
    struct call c;
    struct fo_action_result res;
    char path[600];

    (void)state;
    NEED_FAKE();
    call_init(&c, "notify.slack", "opened");
    snprintf(path, sizeof(path), "%s/slack-archived.url", secrets);
    param(&c, "webhook_url_file", "%s", path);
    run(&fo_action_notify_slack, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "HTTP 410: channel_is_archived");
    assert_null(strstr(res.detail, "archived0002"));
}

static void t_pagerduty_dedup(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st, *e;
    size_t i, alerts = 0;

    (void)state;
    NEED_FAKE();
    case_call(&cases[6], &c, false);
    run(&fo_action_notify_pagerduty, &c, &res);
    expect(&res, FO_ACTION_DONE, c.op);
    run(&fo_action_notify_pagerduty, &c, &res); /* a new leader sends it again */
    expect(&res, FO_ACTION_DONE, NULL);
    c.req.event = "resolved";
    run(&fo_action_notify_pagerduty, &c, &res);
    expect(&res, FO_ACTION_DONE, "resolve");
    st = fake_state("pagerduty");
    json_array_foreach(json_object_get(st, "events"), i, e)
    {
        assert_string_equal(fo_json_str(e, "dedup_key"), c.op);
    }
    assert_string_equal(fo_json_str(json_array_get(json_object_get(st, "events"), 1), "outcome"),
                        "deduplicated");
    json_array_foreach(json_object_get(st, "alerts"), i, e)
    {
        alerts++;
        assert_string_equal(fo_json_str(e, "status"), "resolved");
        assert_non_null(strstr(fo_json_str(e, "summary"), c.op));
    }
    assert_int_equal(alerts, 1);
    json_decref(st);
}

/* The last incident of the page, and how many it has. */
static const json_t *sp_incident(const json_t *st, size_t *n)
{
    const json_t *pg = json_array_get(json_object_get(st, "pages"), 0);
    const json_t *incs = json_object_get(pg, "incidents");

    *n = json_array_size(incs);
    return json_array_get(incs, *n - 1);
}

static void t_statuspage_lifecycle(void **state)
{
    struct call c;
    struct fo_action_result res;
    json_t *st;
    const json_t *inc;
    size_t n;

    (void)state;
    NEED_FAKE();
    case_call(&cases[7], &c, false);
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "already open");
    c.req.event = "resolved";
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "resolved");
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "already resolved");
    assert_int_equal(ncalls("statuspage", "POST", NULL), 1);
    assert_int_equal(ncalls("statuspage", "PATCH", NULL), 1);
    st = fake_state("statuspage");
    inc = sp_incident(st, &n);
    assert_int_equal(n, 1);
    assert_string_equal(fo_json_str(inc, "status"), "resolved");
    assert_non_null(strstr(fo_json_str(inc, "name"), c.op));
    /* The public text names no site. */
    assert_null(strstr(fo_json_str(inc, "name"), "main"));
    json_decref(st);
}

/* Statuspage pages its lists (at most 100 a page): with 100 newer incidents open, the
 * operation's own is on page 2 and is still found, not created twice. */
static void t_statuspage_many_open(void **state)
{
    struct call c;
    struct fo_action_result res;
    char path[256], key[600], body[256];
    json_t *st;
    size_t n;

    (void)state;
    NEED_FAKE();
    case_call(&cases[7], &c, false);
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "created");
    snprintf(path, sizeof(path), "%s/statuspage/v1/pages/" SP_PAGE "/incidents", fakes);
    snprintf(key, sizeof(key), "OAuth %s", secret_values[7]);
    for (int i = 0; i < 100; i++) {
        struct fo_http_req hr = {.method = "POST", .url = path, .auth = key};
        struct fo_http_resp resp;
        snprintf(body, sizeof(body), "{\"incident\":{\"name\":\"unrelated %d\"}}", i);
        hr.body = body;
        hr.body_len = strlen(body);
        hr.deadline_ms = now_ms() + 5000;
        assert_int_equal(fo_http_request(&hr, &resp), FO_HTTP_OK);
        assert_int_equal(resp.status, 201);
        fo_http_resp_free(&resp);
    }
    clear_calls();
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "already open");
    assert_int_equal(ncalls("statuspage", "GET", "/unresolved$"), 2);
    c.req.event = "resolved";
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "resolved");
    assert_int_equal(ncalls("statuspage", "POST", NULL), 0);
    st = fake_state("statuspage");
    sp_incident(st, &n);
    assert_int_equal(n, 101);
    json_decref(st);
}

/* An incident name has at most 255 characters: refused before any call (a cut name
 * would lose the ref that finds it again). */
static void t_statuspage_name_limit(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    case_call(&cases[7], &c, false);
    c.req.op_id = "op-0123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789"
                  "0123456789012345678901234567890123456789012345678901234567890123456789";
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_REFUSED, "Statuspage allows 255");
    assert_int_equal(ncalls("statuspage", NULL, NULL), 0);
}

static void t_statuspage_resolved_only(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    case_call(&cases[7], &c, false);
    c.req.event = "resolved";
    run(&fo_action_notify_statuspage, &c, &res);
    expect(&res, FO_ACTION_DONE, "created as resolved");
}

/* ---- the http kind and the client ------------------------------------------------------- */

static void t_http_expect_status(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    case_call(&cases[0], &c, false);
    param(&c, "expect_status", "201");
    run(&fo_action_http, &c, &res);
    expect(&res, FO_ACTION_FAILED, "HTTP 200, expected 201");
    /* A query string never shows (it may carry a key). */
    assert_null(strstr(res.detail, "teamId"));
}

static void t_http_post_check_not_sent(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    call_init(&c, "http", NULL);
    param(&c, "url", "%s/pagerduty/v2/enqueue", fakes);
    param(&c, "method", "POST");
    param(&c, "body",
          "{\"routing_key\":\"e93facc04764012d7bfb002500d5d1a6\","
          "\"event_action\":\"resolve\",\"dedup_key\":\"x\"}");
    param(&c, "expect_status", "202");
    c.req.check_only = true;
    run(&fo_action_http, &c, &res);
    expect(&res, FO_ACTION_DONE, "not sent");
    assert_int_equal(ncalls(NULL, NULL, NULL), 0);
    c.req.check_only = false;
    run(&fo_action_http, &c, &res);
    expect(&res, FO_ACTION_DONE, "HTTP 202");
    assert_int_equal(ncalls("pagerduty", "POST", NULL), 1);
}

/* A custom webhook whose URL is a secret: url_file, and its path never shows. */
static void t_http_secret_url(void **state)
{
    struct call c;
    struct fo_action_result res;

    (void)state;
    NEED_FAKE();
    call_init(&c, "http", NULL);
    param_secret(&c, "url_file", "slack.url");
    param(&c, "method", "POST");
    param(&c, "body", "{\"text\":\"cache warmed\"}");
    run(&fo_action_http, &c, &res);
    expect(&res, FO_ACTION_DONE, "/...: HTTP 200");
    call_init(&c, "http", NULL);
    param_secret(&c, "url_file", "slack-bad.url");
    param(&c, "method", "POST");
    param(&c, "body", "{\"text\":\"cache warmed\"}");
    run(&fo_action_http, &c, &res);
    expect(&res, FO_ACTION_FAILED, "HTTP 404, expected 200");
}

static void t_http_refuses_urls(void **state)
{
    struct call c;
    struct fo_action_result res;
    static const char *const bad[] = {"http://192.0.2.10/health", "ftp://127.0.0.1/x",
                                      "file:///etc/passwd", "not a url", NULL};

    (void)state;
    for (size_t i = 0; bad[i] != NULL; i++) {
        call_init(&c, "http", NULL);
        param(&c, "url", "%s", bad[i]);
        run(&fo_action_http, &c, &res);
        expect(&res, FO_ACTION_REFUSED, "parameter url");
    }
}

static void t_client_size_cap(void **state)
{
    char url[1024];
    struct fo_http_req hr = {.url = url, .max_bytes = 64};
    struct fo_http_resp resp;

    (void)state;
    NEED_FAKE();
    snprintf(url, sizeof(url), "%s/_fake/state", fakes);
    hr.deadline_ms = now_ms() + 5000;
    assert_int_equal(fo_http_request(&hr, &resp), FO_HTTP_ETOOBIG);
    assert_non_null(strstr(resp.error, "larger than 64 bytes"));
    fo_http_resp_free(&resp);
}

static void t_client_retry_after_date(void **state)
{
    char url[1024], date[64];
    struct fo_http_req hr = {.url = url};
    struct fo_http_resp resp;
    time_t when = time(NULL) + 2;
    struct tm tm;
    uint64_t t0;

    (void)state;
    NEED_FAKE();
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime_r(&when, &tm));
    inject("{\"service\":\"pagerduty\",\"status\":503,\"headers\":{\"Retry-After\":\"%s\"}}", date);
    snprintf(url, sizeof(url), "%s/pagerduty/v2/enqueue", fakes);
    hr.method = "POST";
    hr.body = "{}";
    hr.body_len = 2;
    t0 = now_ms();
    hr.deadline_ms = t0 + 8000;
    assert_int_equal(fo_http_request(&hr, &resp), FO_HTTP_OK);
    assert_int_equal(resp.status, 400); /* the second attempt reached the real handler */
    assert_int_equal(resp.attempts, 2);
    assert_true(now_ms() - t0 >= 900);
    fo_http_resp_free(&resp);
}

/* For the cancel thread: whether the fake has received a call to tokens/verify (it logs
 * each call on arrival). No cmocka assertions here: this is not the test's thread. */
static bool verify_arrived(void)
{
    char url[1024];
    struct fo_http_req hr = {.url = url};
    struct fo_http_resp resp;
    bool seen;

    snprintf(url, sizeof(url), "%s/_fake/calls?service=cloudflare&path=tokens/verify", fakes);
    hr.deadline_ms = now_ms() + 2000;
    seen = fo_http_request(&hr, &resp) == FO_HTTP_OK && resp.status == 200 &&
           json_array_size(json_object_get(resp.json, "calls")) > 0;
    fo_http_resp_free(&resp);
    return seen;
}

/* Cancel once the request is in flight at the fake (bounded: 5 s, then cancel anyway and
 * let the test's timing assertion fail). */
static void *cancel_on_arrival(void *arg)
{
    uint64_t end = now_ms() + 5000;
    while (!verify_arrived() && now_ms() < end)
        nap(10);
    atomic_store((atomic_int *)arg, 1);
    return NULL;
}

static void t_client_cancel(void **state)
{
    char url[1024];
    atomic_int cancel = 0;
    struct fo_http_req hr = {.url = url, .cancel = &cancel};
    struct fo_http_resp resp;
    pthread_t th;
    uint64_t t0;

    (void)state;
    NEED_FAKE();
    inject("{\"service\":\"cloudflare\",\"delay\":1.5}");
    snprintf(url, sizeof(url), "%s/cloudflare/client/v4/user/tokens/verify", fakes);
    t0 = now_ms();
    hr.deadline_ms = t0 + 10000;
    assert_int_equal(pthread_create(&th, NULL, cancel_on_arrival, &cancel), 0);
    assert_int_equal(fo_http_request(&hr, &resp), FO_HTTP_ECANCELLED);
    assert_true(now_ms() - t0 < 800);
    pthread_join(th, NULL);
    fo_http_resp_free(&resp);
    settle();
}

/* ---- unit tests (no fake) -------------------------------------------------------------- */

static void t_notify_text(void **state)
{
    struct fo_action_req req = {.op_id = "op-42",
                                .epoch = 9,
                                .op_kind = "auto",
                                .from = "main",
                                .to = "dr",
                                .reason = "main DOWN for 3 of 3 observers",
                                .event = "opened"};
    char title[400], body[3000], small[40];

    (void)state;
    assert_int_equal(
        fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body)), 0);
    assert_string_equal(title, "[INCIDENT] Failover from main to dr started (operation op-42, "
                               "epoch 9)");
    assert_non_null(strstr(body, "What happened: main DOWN for 3 of 3 observers\n"));
    assert_non_null(strstr(body, "Impact: primary site main is being replaced by dr"));
    assert_non_null(strstr(body, "Status: Under investigation"));
    assert_non_null(strstr(body, "Next update:"));

    req.event = "resolved";
    req.op_kind = "switchover";
    req.timeline = "00:00 decided\n00:42 done";
    fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body));
    assert_string_equal(title, "[RESOLVED] Planned switchover from main to dr complete "
                               "(operation op-42, epoch 9)");
    assert_non_null(strstr(body, "Resolution: dr is now the primary site (epoch 9)"));
    assert_non_null(strstr(body, "Timeline:\n00:00 decided\n00:42 done"));

    req.timeline = NULL;
    req.reason = NULL;
    fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body));
    assert_non_null(strstr(body, "What happened: unknown"));
    assert_non_null(strstr(body, "Timeline:\n(not recorded)"));

    /* A long timeline is cut, marked, and the buffer stays terminated. */
    req.timeline = "0123456789012345678901234567890123456789012345678901234567890123456789";
    fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_string_equal(small + sizeof(small) - 4, "...");

    fo_notify_message(&req, FO_NOTIFY_PUBLIC, title, sizeof(title), body, sizeof(body));
    assert_non_null(strstr(title, "(ref op-42)"));
    assert_null(strstr(title, "main"));
    assert_null(strstr(body, "main"));
    assert_non_null(strstr(body, "resolved"));

    req.event = "updated";
    assert_int_equal(
        fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body)), -1);
    req.event = NULL;
    assert_int_equal(
        fo_notify_message(&req, FO_NOTIFY_TEAM, title, sizeof(title), body, sizeof(body)), -1);
}

static void t_url_and_redact(void **state)
{
    struct fo_http_url u;
    char text[128], out[256], err[128];

    (void)state;
    fo_http_url_init(&u, "https://api.vercel.com/");
    fo_http_url_path(&u, "/v10/projects");
    fo_http_url_segment(&u, "my app/x");
    fo_http_url_query(&u, "teamId", "team_1");
    fo_http_url_query(&u, "skipped", NULL);
    fo_http_url_query(&u, "meta-failoverd_op", "op 1&2=3");
    assert_false(u.overflow);
    assert_string_equal(u.buf, "https://api.vercel.com/v10/projects/my%20app%2Fx?teamId=team_1"
                               "&meta-failoverd_op=op%201%262%3D3");

    snprintf(text, sizeof(text), "token abcd1234 and abcd1234 again");
    fo_http_redact(text, "abcd1234");
    assert_string_equal(text, "token **** and **** again");
    fo_http_redact(text, "abc"); /* too short to be a secret: left alone */
    assert_string_equal(text, "token **** and **** again");

    fo_http_url_for_log("https://hooks.slack.com/services/T/B/secret?x=1", true, out, sizeof(out));
    assert_string_equal(out, "https://hooks.slack.com/...");
    fo_http_url_for_log("http://127.0.0.1:8080/v1/pages?api_key=k", false, out, sizeof(out));
    assert_string_equal(out, "http://127.0.0.1:8080/v1/pages");

    assert_int_equal(fo_http_url_check("https://api.cloudflare.com/client/v4", err, sizeof(err)),
                     0);
    assert_int_equal(fo_http_url_check("http://127.0.0.1:1/x", err, sizeof(err)), 0);
    assert_int_equal(fo_http_url_check("http://localhost/x", err, sizeof(err)), 0);
    assert_int_equal(fo_http_url_check("http://[::1]:80/x", err, sizeof(err)), 0);
    assert_int_equal(fo_http_url_check("http://10.0.0.1/x", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "loopback"));
    assert_int_equal(fo_http_url_check("http://127.0.0.1.example.com/x", err, sizeof(err)), -1);
    assert_int_equal(fo_http_url_check("gopher://127.0.0.1/x", err, sizeof(err)), -1);
}

static void t_api_errors(void **state)
{
    static const struct {
        const char *body;
        const char *want;
    } rows[] = {
        {"{\"error\":{\"code\":\"forbidden\",\"message\":\"Not authorized\"}}",
         "forbidden Not authorized"},
        {"{\"success\":false,\"errors\":[{\"code\":81044,\"message\":\"Record does not exist.\"}],"
         "\"messages\":[],\"result\":null}",
         "81044 Record does not exist."},
        {"{\"status\":\"invalid event\",\"message\":\"Event object is invalid\",\"errors\":"
         "[\"Invalid routing key\"]}",
         "invalid event: Event object is invalid: Invalid routing key"},
        {"{\"message\":\"Could not authenticate\"}", "Could not authenticate"},
        {"{\"error\":\"Not found\"}", "Not found"},
        {"channel_is_archived", "channel_is_archived"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fo_http_resp r = {0};
        char out[200];
        r.body = (char *)rows[i].body;
        r.len = strlen(r.body);
        r.json = json_loads(r.body, 0, NULL);
        fo_http_api_error(&r, out, sizeof(out));
        assert_string_equal(out, rows[i].want);
        json_decref(r.json);
    }
}

/* ---- main ------------------------------------------------------------------------------ */

static void load_secrets(void)
{
    for (size_t i = 0; SECRET_FILES[i] != NULL; i++) {
        char path[600];
        struct fo_error err;
        snprintf(path, sizeof(path), "%s/%s", secrets, SECRET_FILES[i]);
        if (fo_secret_read_file(path, secret_values[i], sizeof(secret_values[i]), &err) != 0) {
            fprintf(stderr, "test_saas_actions: %s\n", err.msg);
            exit(1);
        }
    }
}

int main(void)
{
    static const struct {
        const char *name;
        CMUnitTestFunction fn;
        bool only_repeatable;
    } per_kind[] = {
        {"success", t_success, false},
        {"again_no_change", t_again, true},
        {"rate_limited_429", t_rate_limited, false},
        {"server_error_retried", t_server_error, false},
        {"timeout_within_deadline", t_timeout, false},
        {"bad_credentials", t_bad_credentials, false},
        {"check_mode_changes_nothing", t_check_mode, false},
    };
    static const struct CMUnitTest specific[] = {
        cmocka_unit_test(t_notify_text),
        cmocka_unit_test(t_url_and_redact),
        cmocka_unit_test(t_api_errors),
        cmocka_unit_test(t_http_refuses_urls),
        cmocka_unit_test_setup(t_vercel_env_values, setup_fake),
        cmocka_unit_test_setup(t_vercel_env_partly_set, setup_fake),
        cmocka_unit_test_setup(t_redeploy_once_per_op, setup_fake),
        cmocka_unit_test_setup(t_redeploy_resumes, setup_fake),
        cmocka_unit_test_setup(t_redeploy_build_error, setup_fake),
        cmocka_unit_test_setup(t_redeploy_alias_error, setup_fake),
        cmocka_unit_test_setup(t_redeploy_create_5xx, setup_fake),
        cmocka_unit_test_setup(t_redeploy_verifies_env, setup_fake),
        cmocka_unit_test_setup(t_redeploy_checks_failed, setup_fake),
        cmocka_unit_test_setup(t_vercel_env_pages, setup_fake),
        cmocka_unit_test_setup(t_deadline_before_retry_after, setup_fake),
        cmocka_unit_test_setup(t_cloudflare_dns_effect, setup_fake),
        cmocka_unit_test_setup(t_cloudflare_dns_errors, setup_fake),
        cmocka_unit_test_setup(t_cloudflare_pool_effect, setup_fake),
        cmocka_unit_test_setup(t_cloudflare_relative_name, setup_fake),
        cmocka_unit_test_setup(t_cloudflare_ttl_plan, setup_fake),
        cmocka_unit_test_setup(t_slack_text, setup_fake),
        cmocka_unit_test_setup(t_slack_archived, setup_fake),
        cmocka_unit_test_setup(t_slack_escaped, setup_fake),
        cmocka_unit_test_setup(t_slack_no_duplicate, setup_fake),
        cmocka_unit_test_setup(t_pagerduty_dedup, setup_fake),
        cmocka_unit_test_setup(t_statuspage_lifecycle, setup_fake),
        cmocka_unit_test_setup(t_statuspage_resolved_only, setup_fake),
        cmocka_unit_test_setup(t_statuspage_many_open, setup_fake),
        cmocka_unit_test_setup(t_statuspage_name_limit, setup_fake),
        cmocka_unit_test_setup(t_http_expect_status, setup_fake),
        cmocka_unit_test_setup(t_http_post_check_not_sent, setup_fake),
        cmocka_unit_test_setup(t_http_secret_url, setup_fake),
        cmocka_unit_test_setup(t_client_size_cap, setup_fake),
        cmocka_unit_test_setup(t_client_retry_after_date, setup_fake),
        cmocka_unit_test_setup(t_client_cancel, setup_fake),
    };
    enum { NPER = sizeof(per_kind) / sizeof(per_kind[0]) };
    enum { NSPEC = sizeof(specific) / sizeof(specific[0]) };
    static struct CMUnitTest tests[NPER * NCASES + NSPEC];
    static char names[NPER * NCASES][80];
    size_t n = 0;
    int rc;

    fakes = getenv("FAKES_URL");
    secrets = getenv("FO_SAAS_SECRETS");
    if (fakes != NULL && fakes[0] == '\0')
        fakes = NULL;
    if (fakes != NULL && secrets == NULL) {
        fprintf(stderr, "test_saas_actions: FAKES_URL needs FO_SAAS_SECRETS\n");
        return 1;
    }
    if (fakes != NULL)
        load_secrets();
    if (fo_http_global_init() != 0)
        return 1;
    for (size_t i = 0; i < NSPEC; i++)
        tests[n++] = specific[i];
    for (size_t i = 0; i < NCASES; i++) {
        for (size_t j = 0; j < NPER; j++) {
            if (per_kind[j].only_repeatable && !cases[i].repeat_no_write)
                continue;
            snprintf(names[n - NSPEC], sizeof(names[0]), "%s/%s", cases[i].kind->name,
                     per_kind[j].name);
            tests[n] = (struct CMUnitTest){.name = names[n - NSPEC],
                                           .test_func = per_kind[j].fn,
                                           .setup_func = setup_fake,
                                           .initial_state = (void *)&cases[i]};
            n++;
        }
    }
    /* FO_TEST_FILTER="*slack*" runs only the tests whose name matches (while working). */
    if (getenv("FO_TEST_FILTER") != NULL)
        cmocka_set_test_filter(getenv("FO_TEST_FILTER"));
    rc = _cmocka_run_group_tests("saas_actions", tests, n, NULL, NULL);
    fo_http_global_cleanup();
    return rc;
}
