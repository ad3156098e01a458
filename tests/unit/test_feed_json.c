/*
 * tests/unit/test_feed_json.c — coordinator/serve/feed_json.h, the JSON feed bodies.
 *
 * What is checked: good health reports (with and without detail, each status) come back
 * field for field; each malformed health body gives its own typed error naming the field
 * (size, JSON, duplicate keys, not an object, unknown field, missing, not a string,
 * empty, one byte too long, status, detail) and a zeroed report, with the bounds exact
 * (64-byte names and 511-byte details pass, one more byte fails). Alertmanager: the
 * reference's example payload, firing and resolved, an empty list; whole-body refusals
 * (version, alerts, too many alerts, JSON); each per-alert reason with its text naming
 * the configured label; fingerprints kept, long ones cut. Alertmanager's own rules: a
 * group of 2000 real alerts (over 1 MB) is read, a firing alert wins over a resolved one
 * naming the same (region, component) in either order, and a truncated webhook's
 * resolved alerts clear nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/serve/feed_json.h"

static const struct fo_feed_labels LABELS = {"region", "component"};

/* The reference's example (external-apis.md §6.4), as tests/integration/test_http_api.py
 * sends it, with a component label added so that it reports. */
static const char EXAMPLE[] =
    "{\"version\":\"4\",\"groupKey\":\"{}/"
    "{severity=\\\"critical\\\"}:{alertname=\\\"RegionDown\\\"}\","
    "\"truncatedAlerts\":0,\"status\":\"firing\",\"receiver\":\"failoverd\","
    "\"groupLabels\":{\"alertname\":\"RegionDown\"},"
    "\"commonLabels\":{\"alertname\":\"RegionDown\",\"region\":\"eu\"},"
    "\"commonAnnotations\":{\"summary\":\"eu unreachable\"},"
    "\"externalURL\":\"http://alertmanager:9093\","
    "\"alerts\":[{\"status\":\"firing\",\"labels\":{\"alertname\":\"RegionDown\",\"region\":\"eu\","
    "\"component\":\"postgres\"},\"annotations\":{\"summary\":\"eu unreachable\"},"
    "\"startsAt\":\"2026-01-01T00:00:00Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
    "\"generatorURL\":\"http://prometheus:9090/graph?g0.expr=up\","
    "\"fingerprint\":\"1a30ba71cca2921f\"}]}";

static enum fo_feed_err am(const char *s, struct fo_feed_alerts *out, struct fo_feed_error *e);

static enum fo_feed_err health(const char *s, struct fo_feed_health *out, struct fo_feed_error *e)
{
    return fo_feed_health_parse(s, strlen(s), out, e);
}

/* A string of n copies of c, NUL-terminated (the caller frees). */
static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ---- health ------------------------------------------------------------------------ */

static void test_health_good(void **state)
{
    struct fo_feed_health h;
    struct fo_feed_error e;

    (void)state;
    assert_int_equal(health("{\"observer\":\"blackbox\",\"region\":\"eu\",\"component\":"
                            "\"postgres\",\"status\":\"down\",\"detail\":\"timeout\"}",
                            &h, &e),
                     FO_FEED_OK);
    assert_int_equal(e.code, FO_FEED_OK);
    assert_string_equal(h.observer, "blackbox");
    assert_string_equal(h.region, "eu");
    assert_string_equal(h.component, "postgres");
    assert_int_equal(h.status, FO_STATUS_DOWN);
    assert_true(h.has_detail);
    assert_string_equal(h.detail, "timeout");

    assert_int_equal(health("{\"status\":\"up\",\"component\":\"redis\",\"region\":\"us\","
                            "\"observer\":\"o\"}",
                            &h, NULL),
                     FO_FEED_OK);
    assert_int_equal(h.status, FO_STATUS_UP);
    assert_false(h.has_detail);
    assert_string_equal(h.detail, "");

    assert_int_equal(health("{\"observer\":\"o\",\"region\":\"us\",\"component\":\"c\","
                            "\"status\":\"unknown\",\"detail\":null}",
                            &h, &e),
                     FO_FEED_OK);
    assert_int_equal(h.status, FO_STATUS_UNKNOWN);
    assert_false(h.has_detail);
}

static void test_health_bounds(void **state)
{
    struct fo_feed_health h;
    struct fo_feed_error e;
    char *name = repeat('n', FO_NAME_MAX), *detail = repeat('d', FO_TEXT_MAX - 1);
    char *body = malloc(2 * FO_TEXT_MAX + 256);

    (void)state;
    assert_non_null(body);
    /* The longest name and the longest detail fit, NUL included. */
    snprintf(body, 2 * FO_TEXT_MAX + 256,
             "{\"observer\":\"%s\",\"region\":\"%s\",\"component\":\"%s\",\"status\":\"up\","
             "\"detail\":\"%s\"}",
             name, name, name, detail);
    assert_int_equal(health(body, &h, &e), FO_FEED_OK);
    assert_string_equal(h.observer, name);
    assert_string_equal(h.component, name);
    assert_string_equal(h.detail, detail);
    free(name);
    free(detail);
    free(body);
}

struct bad {
    const char *body;
    enum fo_feed_err want;
    const char *field; /* err.field */
    const char *msg;   /* a piece of err.msg */
};

static void check_health_bad(const struct bad *b)
{
    struct fo_feed_health h, zero;
    struct fo_feed_error e;
    enum fo_feed_err got;

    memset(&zero, 0, sizeof(zero));
    memset(&h, 0x5a, sizeof(h));
    got = health(b->body, &h, &e);
    if (got != b->want || e.code != b->want)
        fail_msg("%s: got %d/%d (%s), want %d", b->body, got, e.code, e.msg, b->want);
    assert_string_equal(e.field, b->field);
    if (strstr(e.msg, b->msg) == NULL)
        fail_msg("%s: message '%s' lacks '%s'", b->body, e.msg, b->msg);
    assert_memory_equal(&h, &zero, sizeof(h));
}

#define OK3 "\"observer\":\"o\",\"region\":\"eu\",\"component\":\"pg\""

static void test_health_bad(void **state)
{
    static const struct bad cases[] = {
        {"", FO_FEED_BAD_JSON, "", "malformed JSON at byte"},
        {"{", FO_FEED_BAD_JSON, "", "malformed JSON"},
        {"{\"observer\":\"\xff\"}", FO_FEED_BAD_JSON, "", "malformed JSON"},
        {"{" OK3 ",\"status\":\"up\",\"status\":\"down\"}", FO_FEED_BAD_JSON, "", "duplicate"},
        {"[]", FO_FEED_NOT_OBJECT, "", "expected a JSON object"},
        {"\"up\"", FO_FEED_BAD_JSON, "", "'[' or '{' expected"}, /* jansson: no bare values */
        {"{" OK3 ",\"status\":\"up\",\"severity\":1}", FO_FEED_UNKNOWN_FIELD, "severity",
         "severity: unknown field"},
        {"{\"region\":\"eu\",\"component\":\"pg\",\"status\":\"up\"}", FO_FEED_MISSING_FIELD,
         "observer", "observer: required"},
        {"{\"observer\":\"o\",\"component\":\"pg\",\"status\":\"up\"}", FO_FEED_MISSING_FIELD,
         "region", "region: required"},
        {"{\"observer\":\"o\",\"region\":\"eu\",\"status\":\"up\"}", FO_FEED_MISSING_FIELD,
         "component", "component: required"},
        {"{\"observer\":7,\"region\":\"eu\",\"component\":\"pg\",\"status\":\"up\"}",
         FO_FEED_NOT_STRING, "observer", "observer: expected a string"},
        {"{\"observer\":\"o\",\"region\":null,\"component\":\"pg\",\"status\":\"up\"}",
         FO_FEED_NOT_STRING, "region", "region: expected a string"},
        {"{\"observer\":\"o\",\"region\":\"eu\",\"component\":\"\",\"status\":\"up\"}",
         FO_FEED_BAD_LENGTH, "component", "component: 1 to 64 bytes"},
        {"{" OK3 ",\"status\":\"sideways\"}", FO_FEED_BAD_STATUS, "status",
         "status: expected \"up\", \"down\" or \"unknown\""},
        {"{" OK3 "}", FO_FEED_BAD_STATUS, "status", "status: expected"},
        {"{" OK3 ",\"status\":1}", FO_FEED_BAD_STATUS, "status", "status: expected"},
        {"{" OK3 ",\"status\":\"up\",\"detail\":5}", FO_FEED_BAD_DETAIL, "detail",
         "detail: expected a string of at most 511 bytes"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        check_health_bad(&cases[i]);
}

static void test_health_over_bounds(void **state)
{
    char *name = repeat('n', FO_NAME_MAX + 1), *detail = repeat('d', FO_TEXT_MAX);
    char *body = malloc(2 * FO_TEXT_MAX + 256);
    struct bad b = {body, FO_FEED_BAD_LENGTH, "region", "region: 1 to 64 bytes"};

    (void)state;
    assert_non_null(body);
    snprintf(body, 2 * FO_TEXT_MAX + 256,
             "{\"observer\":\"o\",\"region\":\"%s\",\"component\":\"pg\",\"status\":\"up\"}", name);
    check_health_bad(&b);
    snprintf(body, 2 * FO_TEXT_MAX + 256, "{" OK3 ",\"status\":\"up\",\"detail\":\"%s\"}", detail);
    b = (struct bad){body, FO_FEED_BAD_DETAIL, "detail", "detail: expected a string"};
    check_health_bad(&b);
    free(name);
    free(detail);
    free(body);
}

static void test_too_large(void **state)
{
    /* Valid JSON, one byte over the limit: refused before it is parsed. */
    char *body = repeat(' ', FO_FEED_JSON_MAX + 1);
    struct fo_feed_health h;
    struct fo_feed_alerts a;
    struct fo_feed_error e;

    (void)state;
    memcpy(body, "{}", 2);
    assert_int_equal(fo_feed_health_parse(body, FO_FEED_JSON_MAX + 1, &h, &e), FO_FEED_TOO_LARGE);
    assert_non_null(strstr(e.msg, "65536"));
    /* At the limit it is parsed (and refused for what it says, not for its size). */
    assert_int_equal(fo_feed_health_parse(body, FO_FEED_JSON_MAX, &h, &e), FO_FEED_MISSING_FIELD);
    /* A webhook has its own, larger bound: over 64 KiB is read. */
    assert_int_equal(fo_feed_alertmanager_parse(body, FO_FEED_JSON_MAX + 1, &LABELS, &a, &e),
                     FO_FEED_NO_ALERTS);
    free(body);
    body = repeat(' ', FO_FEED_ALERTMANAGER_MAX + 1);
    memcpy(body, "{}", 2);
    assert_int_equal(
        fo_feed_alertmanager_parse(body, FO_FEED_ALERTMANAGER_MAX + 1, &LABELS, &a, &e),
        FO_FEED_TOO_LARGE);
    assert_non_null(strstr(e.msg, "4194304"));
    assert_int_equal(a.n, 0);
    assert_null(a.alerts);
    free(body);
}

/* A real alert as Alertmanager's webhook sends it (~700 bytes), into buf at *len. */
static void real_alert(char *buf, size_t *len, size_t i, const char *status, const char *region)
{
    *len += (size_t)sprintf(
        buf + *len,
        "%s{\"status\":\"%s\",\"labels\":{\"alertname\":\"InstanceDown\",\"region\":\"%s\","
        "\"component\":\"postgres\",\"instance\":\"pg-%05zu.internal:9187\",\"job\":"
        "\"postgres-exporter\",\"severity\":\"critical\",\"team\":\"platform\"},"
        "\"annotations\":{\"summary\":\"instance pg-%05zu.internal down\",\"description\":"
        "\"pg-%05zu.internal:9187 of job postgres-exporter has been down for more than 1 "
        "minute; the exporter answers no scrape and its database may be unreachable.\","
        "\"runbook_url\":\"https://runbooks.example.com/postgres/instance-down\"},"
        "\"startsAt\":\"2026-01-01T00:00:00.000Z\",\"endsAt\":\"0001-01-01T00:00:00Z\","
        "\"generatorURL\":\"http://prometheus.example.com:9090/graph?g0.expr=up%%7Bjob%%3D%%22"
        "postgres-exporter%%22%%7D+%%3D%%3D+0&g0.tab=1\",\"fingerprint\":\"%016zx\"}",
        i > 0 ? "," : "", status, region, i, i, i, i);
}

/* Alertmanager's real payload sizes: a group of 2000 real alerts (~1.4 MB) is read whole. */
static void test_alertmanager_large_group(void **state)
{
    size_t n = 2000, len = 0;
    char *body = malloc(n * 1024 + 256);
    struct fo_feed_alerts a;
    struct fo_feed_error e;

    (void)state;
    assert_non_null(body);
    len += (size_t)sprintf(body, "{\"version\":\"4\",\"status\":\"firing\",\"truncatedAlerts\":0,"
                                 "\"alerts\":[");
    for (size_t i = 0; i < n; i++)
        real_alert(body, &len, i, "firing", "eu");
    len += (size_t)sprintf(body + len, "]}");
    assert_true(len > 1000 * 1000);
    assert_int_equal(fo_feed_alertmanager_parse(body, len, &LABELS, &a, &e), FO_FEED_OK);
    assert_int_equal(a.n, n);
    assert_int_equal(a.truncated, 0);
    assert_int_equal(a.alerts[n - 1].err, FO_FEED_ALERT_OK);
    assert_int_equal(a.alerts[n - 1].status, FO_STATUS_DOWN);
    fo_feed_alerts_free(&a);
    free(body);
}

/* Several alerts name one (region, component): a firing one wins in either order, and the
 * other pairs are untouched. */
static void test_alertmanager_firing_wins(void **state)
{
    static const char *const orders[] = {
        "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"region\":\"eu\",\"component\":"
        "\"pg\",\"instance\":\"a\"}},{\"status\":\"resolved\",\"labels\":{\"region\":\"eu\","
        "\"component\":\"pg\",\"instance\":\"b\"}},{\"status\":\"resolved\",\"labels\":"
        "{\"region\":\"us\",\"component\":\"pg\"}}]}",
        "{\"alerts\":[{\"status\":\"resolved\",\"labels\":{\"region\":\"us\",\"component\":"
        "\"pg\"}},{\"status\":\"resolved\",\"labels\":{\"region\":\"eu\",\"component\":\"pg\","
        "\"instance\":\"b\"}},{\"status\":\"firing\",\"labels\":{\"region\":\"eu\","
        "\"component\":\"pg\",\"instance\":\"a\"}}]}",
    };
    struct fo_feed_alerts a;

    (void)state;
    for (size_t o = 0; o < 2; o++) {
        size_t firing = 0, superseded = 0, us_up = 0;
        assert_int_equal(am(orders[o], &a, NULL), FO_FEED_OK);
        assert_int_equal(a.n, 3);
        for (size_t i = 0; i < a.n; i++) {
            const struct fo_feed_alert *x = &a.alerts[i];
            if (x->err == FO_FEED_ALERT_OK && x->status == FO_STATUS_DOWN)
                firing += strcmp(x->region, "eu") == 0;
            else if (x->err == FO_FEED_ALERT_OK && x->status == FO_STATUS_UP)
                us_up += strcmp(x->region, "us") == 0;
            else if (x->err == FO_FEED_ALERT_SUPERSEDED)
                superseded++;
        }
        /* No OK alert reports eu/pg UP: the only report left for it is DOWN. */
        for (size_t i = 0; i < a.n; i++)
            assert_false(a.alerts[i].err == FO_FEED_ALERT_OK &&
                         a.alerts[i].status == FO_STATUS_UP &&
                         strcmp(a.alerts[i].region, "eu") == 0);
        assert_int_equal(firing, 1);
        assert_int_equal(superseded, 1);
        assert_int_equal(us_up, 1);
        fo_feed_alerts_free(&a);
    }
    {
        struct fo_feed_alert x = {.err = FO_FEED_ALERT_SUPERSEDED};
        char why[256];
        assert_non_null(strstr(fo_feed_alert_reason(&x, &LABELS, why, sizeof(why)),
                               "firing alert of this webhook names the same region and component"));
    }
}

/* truncatedAlerts > 0: a resolved alert cannot clear its component (the alert left out may
 * fire); firing ones count; 0 or absent changes nothing. */
static void test_alertmanager_truncated(void **state)
{
    static const char body[] =
        "{\"version\":\"4\",\"truncatedAlerts\":3,\"alerts\":[{\"status\":\"resolved\","
        "\"labels\":{\"region\":\"us\",\"component\":\"redis\"}},{\"status\":\"firing\","
        "\"labels\":{\"region\":\"eu\",\"component\":\"pg\"}}]}";
    static const char whole[] =
        "{\"version\":\"4\",\"truncatedAlerts\":0,\"alerts\":[{\"status\":\"resolved\","
        "\"labels\":{\"region\":\"us\",\"component\":\"redis\"}}]}";
    struct fo_feed_alerts a;
    char why[256];

    (void)state;
    assert_int_equal(am(body, &a, NULL), FO_FEED_OK);
    assert_int_equal(a.truncated, 3);
    assert_int_equal(a.n, 2);
    assert_int_equal(a.alerts[0].err, FO_FEED_ALERT_TRUNCATED);
    assert_int_equal(a.alerts[0].status, FO_STATUS_UNKNOWN);
    assert_non_null(
        strstr(fo_feed_alert_reason(&a.alerts[0], &LABELS, why, sizeof(why)), "truncatedAlerts"));
    assert_int_equal(a.alerts[1].err, FO_FEED_ALERT_OK);
    assert_int_equal(a.alerts[1].status, FO_STATUS_DOWN);
    fo_feed_alerts_free(&a);

    assert_int_equal(am(whole, &a, NULL), FO_FEED_OK);
    assert_int_equal(a.truncated, 0);
    assert_int_equal(a.alerts[0].err, FO_FEED_ALERT_OK);
    assert_int_equal(a.alerts[0].status, FO_STATUS_UP);
    fo_feed_alerts_free(&a);
}

/* ---- alertmanager ------------------------------------------------------------------ */

static enum fo_feed_err am(const char *s, struct fo_feed_alerts *out, struct fo_feed_error *e)
{
    return fo_feed_alertmanager_parse(s, strlen(s), &LABELS, out, e);
}

static void test_alertmanager_example(void **state)
{
    struct fo_feed_alerts a;
    struct fo_feed_error e;
    const struct fo_feed_alert *x;

    (void)state;
    assert_int_equal(am(EXAMPLE, &a, &e), FO_FEED_OK);
    assert_int_equal(a.n, 1);
    x = &a.alerts[0];
    assert_int_equal(x->err, FO_FEED_ALERT_OK);
    assert_int_equal(x->status, FO_STATUS_DOWN);
    assert_string_equal(x->region, "eu");
    assert_string_equal(x->component, "postgres");
    assert_string_equal(x->detail, "alertmanager RegionDown: eu unreachable");
    assert_true(x->has_fingerprint);
    assert_string_equal(x->fingerprint, "1a30ba71cca2921f");
    fo_feed_alerts_free(&a);
    assert_null(a.alerts);
    assert_int_equal(a.n, 0);

    /* Resolved is UP; no version, annotations or alertname is fine. */
    assert_int_equal(am("{\"alerts\":[{\"status\":\"resolved\",\"labels\":{\"region\":\"us\","
                        "\"component\":\"redis\"}}]}",
                        &a, &e),
                     FO_FEED_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.alerts[0].status, FO_STATUS_UP);
    assert_string_equal(a.alerts[0].detail, "alertmanager alert");
    assert_false(a.alerts[0].has_fingerprint);
    fo_feed_alerts_free(&a);

    assert_int_equal(am("{\"version\":\"4\",\"alerts\":[]}", &a, &e), FO_FEED_OK);
    assert_int_equal(a.n, 0);
    fo_feed_alerts_free(&a);
}

static void test_alertmanager_labels_configurable(void **state)
{
    static const struct fo_feed_labels other = {"site", "service"};
    static const char body[] =
        "{\"alerts\":[{\"status\":\"firing\",\"labels\":{\"site\":\"eu\",\"service\":\"pg\"}}]}";
    struct fo_feed_alerts a;

    (void)state;
    assert_int_equal(fo_feed_alertmanager_parse(body, strlen(body), &other, &a, NULL), FO_FEED_OK);
    assert_int_equal(a.alerts[0].err, FO_FEED_ALERT_OK);
    assert_string_equal(a.alerts[0].region, "eu");
    assert_string_equal(a.alerts[0].component, "pg");
    fo_feed_alerts_free(&a);
}

static void test_alertmanager_refused(void **state)
{
    static const struct bad cases[] = {
        {"{\"version\":\"3\",\"alerts\":[]}", FO_FEED_BAD_VERSION, "version",
         "only Alertmanager's webhook version \"4\""},
        {"{\"version\":4,\"alerts\":[]}", FO_FEED_BAD_VERSION, "version", "version"},
        {"{\"version\":\"4\"}", FO_FEED_NO_ALERTS, "alerts", "alerts: required, a list"},
        {"{\"alerts\":{}}", FO_FEED_NO_ALERTS, "alerts", "alerts: required, a list"},
        {"{\"alerts\":[]", FO_FEED_BAD_JSON, "", "malformed JSON"},
        {"[{\"alerts\":[]}]", FO_FEED_NOT_OBJECT, "", "expected a JSON object"},
    };
    struct fo_feed_alerts a;
    struct fo_feed_error e;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum fo_feed_err got = am(cases[i].body, &a, &e);
        if (got != cases[i].want || e.code != cases[i].want)
            fail_msg("%s: got %d (%s), want %d", cases[i].body, got, e.msg, cases[i].want);
        assert_string_equal(e.field, cases[i].field);
        assert_non_null(strstr(e.msg, cases[i].msg));
        assert_int_equal(a.n, 0);
        assert_null(a.alerts);
    }
}

static void test_alertmanager_too_many(void **state)
{
    /* FO_FEED_ALERTS_MAX + 1 empty objects: "{\"alerts\":[" + "{}," * n + "]}". */
    size_t n = FO_FEED_ALERTS_MAX + 1, len = 0;
    char *body = malloc(16 + 3 * n);
    struct fo_feed_alerts a;
    struct fo_feed_error e;

    (void)state;
    assert_non_null(body);
    len += (size_t)sprintf(body, "{\"alerts\":[");
    for (size_t i = 0; i < n; i++)
        len += (size_t)sprintf(body + len, "%s{}", i > 0 ? "," : "");
    len += (size_t)sprintf(body + len, "]}");
    assert_int_equal(fo_feed_alertmanager_parse(body, len, &LABELS, &a, &e),
                     FO_FEED_TOO_MANY_ALERTS);
    assert_string_equal(e.field, "alerts");
    /* One fewer is read: each one ignored as it has no status. */
    sprintf(body + len - 5, "]}");
    assert_int_equal(fo_feed_alertmanager_parse(body, len - 3, &LABELS, &a, &e), FO_FEED_OK);
    assert_int_equal(a.n, FO_FEED_ALERTS_MAX);
    assert_int_equal(a.alerts[FO_FEED_ALERTS_MAX - 1].err, FO_FEED_ALERT_BAD_STATUS);
    fo_feed_alerts_free(&a);
    free(body);
}

struct bad_alert {
    const char *alert;
    enum fo_feed_alert_err want;
    const char *reason;
};

static void test_alert_reasons(void **state)
{
    char *long_name = repeat('x', FO_NAME_MAX + 1);
    char region_long[256], component_long[256];
    const struct bad_alert cases[] = {
        {"42", FO_FEED_ALERT_NOT_OBJECT, "expected an object"},
        {"{\"status\":\"pending\",\"labels\":{\"region\":\"eu\",\"component\":\"pg\"}}",
         FO_FEED_ALERT_BAD_STATUS, "status: expected \"firing\" or \"resolved\""},
        {"{\"labels\":{\"region\":\"eu\",\"component\":\"pg\"}}", FO_FEED_ALERT_BAD_STATUS,
         "status: expected"},
        {"{\"status\":\"firing\"}", FO_FEED_ALERT_NO_LABELS, "labels: expected an object"},
        {"{\"status\":\"firing\",\"labels\":[]}", FO_FEED_ALERT_NO_LABELS, "labels: expected"},
        {"{\"status\":\"firing\",\"labels\":{\"component\":\"pg\"}}", FO_FEED_ALERT_NO_REGION,
         "no label 'region' (alertmanager.region_label)"},
        {"{\"status\":\"firing\",\"labels\":{\"region\":1,\"component\":\"pg\"}}",
         FO_FEED_ALERT_NO_REGION, "no label 'region'"},
        {region_long, FO_FEED_ALERT_REGION_LENGTH, "label 'region': at most 64 bytes"},
        {"{\"status\":\"firing\",\"labels\":{\"region\":\"eu\"}}", FO_FEED_ALERT_NO_COMPONENT,
         "no label 'component' (alertmanager.component_label)"},
        {"{\"status\":\"firing\",\"labels\":{\"region\":\"eu\",\"component\":\"\"}}",
         FO_FEED_ALERT_COMPONENT_LENGTH, "label 'component': 1 to 64 bytes"},
        {component_long, FO_FEED_ALERT_COMPONENT_LENGTH, "label 'component': 1 to 64 bytes"},
    };
    char body[1024], reason[FO_TEXT_MAX];
    struct fo_feed_alerts a;

    (void)state;
    snprintf(region_long, sizeof(region_long),
             "{\"status\":\"firing\",\"labels\":{\"region\":\"%s\",\"component\":\"pg\"}}",
             long_name);
    snprintf(component_long, sizeof(component_long),
             "{\"status\":\"firing\",\"labels\":{\"region\":\"eu\",\"component\":\"%s\"}}",
             long_name);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        /* A good alert after the bad one: one bad alert does not spoil the others. */
        snprintf(body, sizeof(body),
                 "{\"alerts\":[%s,{\"status\":\"firing\",\"labels\":{\"region\":\"eu\","
                 "\"component\":\"pg\"}}]}",
                 cases[i].alert);
        assert_int_equal(am(body, &a, NULL), FO_FEED_OK);
        assert_int_equal(a.n, 2);
        if (a.alerts[0].err != cases[i].want)
            fail_msg("%s: got %d, want %d", cases[i].alert, a.alerts[0].err, cases[i].want);
        fo_feed_alert_reason(&a.alerts[0], &LABELS, reason, sizeof(reason));
        if (strstr(reason, cases[i].reason) == NULL)
            fail_msg("%s: reason '%s' lacks '%s'", cases[i].alert, reason, cases[i].reason);
        /* Refused alerts carry no report. */
        assert_string_equal(a.alerts[0].region, "");
        assert_string_equal(a.alerts[0].component, "");
        assert_int_equal(a.alerts[1].err, FO_FEED_ALERT_OK);
        fo_feed_alerts_free(&a);
    }
    free(long_name);
}

static void test_alert_fingerprint_and_detail_cut(void **state)
{
    char *fp = repeat('f', 100), *summary = repeat('s', 400);
    char *body = malloc(1024);
    struct fo_feed_alerts a;
    char reason[FO_TEXT_MAX];

    (void)state;
    assert_non_null(body);
    snprintf(body, 1024,
             "{\"alerts\":[{\"fingerprint\":\"%s\",\"status\":\"firing\",\"labels\":"
             "{\"region\":\"eu\",\"component\":\"pg\"},\"annotations\":{\"summary\":\"%s\"}},"
             "{\"fingerprint\":\"ab\",\"status\":\"nope\"}]}",
             fp, summary);
    assert_int_equal(am(body, &a, NULL), FO_FEED_OK);
    assert_int_equal(strlen(a.alerts[0].fingerprint), FO_FEED_FINGERPRINT_MAX);
    assert_int_equal(strlen(a.alerts[0].detail), FO_FEED_DETAIL_MAX);
    assert_memory_equal(a.alerts[0].detail, "alertmanager alert: sss", 23);
    /* An ignored alert keeps its fingerprint, for the reply. */
    assert_int_equal(a.alerts[1].err, FO_FEED_ALERT_BAD_STATUS);
    assert_true(a.alerts[1].has_fingerprint);
    assert_string_equal(a.alerts[1].fingerprint, "ab");
    assert_string_equal(fo_feed_alert_reason(&a.alerts[0], &LABELS, reason, sizeof(reason)), "ok");
    fo_feed_alerts_free(&a);
    free(fp);
    free(summary);
    free(body);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health_good),
        cmocka_unit_test(test_health_bounds),
        cmocka_unit_test(test_health_bad),
        cmocka_unit_test(test_health_over_bounds),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_alertmanager_example),
        cmocka_unit_test(test_alertmanager_labels_configurable),
        cmocka_unit_test(test_alertmanager_refused),
        cmocka_unit_test(test_alertmanager_too_many),
        cmocka_unit_test(test_alert_reasons),
        cmocka_unit_test(test_alert_fingerprint_and_detail_cut),
        cmocka_unit_test(test_alertmanager_large_group),
        cmocka_unit_test(test_alertmanager_firing_wins),
        cmocka_unit_test(test_alertmanager_truncated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
