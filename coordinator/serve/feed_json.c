/*
 * coordinator/serve/feed_json.c — see feed_json.h.
 *
 * jansson reads the body (duplicate keys refused: which of two "status" fields would
 * count is not something a feed should have to guess); everything it hands back is
 * checked against the bounds and copied into fixed-size fields, so no jansson value
 * outlives a call.
 */
#include "coordinator/serve/feed_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/codec.h" /* fo_enum_name, fo_utf8_cut */

static enum fo_feed_err set_err(struct fo_feed_error *err, enum fo_feed_err code, const char *field,
                                const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum fo_feed_err set_err(struct fo_feed_error *err, enum fo_feed_err code, const char *field,
                                const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    snprintf(err->field, sizeof(err->field), "%s", field);
    fo_utf8_cut(err->field, FO_NAME_MAX);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return code;
}

/* The body (at most max bytes) as one JSON object, or NULL with err set. */
static json_t *load_object(const void *body, size_t len, size_t max, struct fo_feed_error *err)
{
    json_error_t e;
    json_t *doc;

    if (len > max) {
        set_err(err, FO_FEED_TOO_LARGE, "", "body over %zu bytes", max);
        return NULL;
    }
    doc = json_loadb(body != NULL ? body : "", len, JSON_REJECT_DUPLICATES, &e);
    if (doc == NULL) {
        set_err(err, FO_FEED_BAD_JSON, "", "malformed JSON at byte %d: %s", e.position, e.text);
        return NULL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        set_err(err, FO_FEED_NOT_OBJECT, "", "expected a JSON object");
        return NULL;
    }
    return doc;
}

/* ---- POST /v1/health ---------------------------------------------------------------- */

static const char *const health_keys[] = {"observer", "region", "component", "status", "detail"};

/* A required name-like string, 1 to FO_NAME_MAX bytes, copied into out. */
static enum fo_feed_err name_field(json_t *o, const char *key, char out[FO_NAME_MAX + 1],
                                   struct fo_feed_error *err)
{
    json_t *v = json_object_get(o, key);

    if (v == NULL)
        return set_err(err, FO_FEED_MISSING_FIELD, key, "%s: required", key);
    if (!json_is_string(v))
        return set_err(err, FO_FEED_NOT_STRING, key, "%s: expected a string", key);
    if (json_string_length(v) == 0 || json_string_length(v) > FO_NAME_MAX)
        return set_err(err, FO_FEED_BAD_LENGTH, key, "%s: 1 to %d bytes", key, FO_NAME_MAX);
    /* jansson refuses \u0000 without JSON_ALLOW_NUL, so the length is the C length. */
    memcpy(out, json_string_value(v), json_string_length(v) + 1);
    return FO_FEED_OK;
}

static int status_of(const char *s)
{
    for (int i = FO_STATUS_UNKNOWN; i <= FO_STATUS_DOWN; i++)
        if (s != NULL && strcmp(s, fo_enum_name(fo_status_names, i)) == 0)
            return i;
    return -1;
}

static enum fo_feed_err health_fields(json_t *doc, struct fo_feed_health *out,
                                      struct fo_feed_error *err)
{
    enum fo_feed_err rv;
    const char *key;
    json_t *v;
    int status;

    json_object_foreach(doc, key, v)
    {
        size_t k = 0;
        while (k < sizeof(health_keys) / sizeof(health_keys[0]) && strcmp(health_keys[k], key) != 0)
            k++;
        if (k == sizeof(health_keys) / sizeof(health_keys[0]))
            return set_err(err, FO_FEED_UNKNOWN_FIELD, key,
                           "%.64s: unknown field (expected observer, region, component, "
                           "status, detail)",
                           key);
    }
    if ((rv = name_field(doc, "observer", out->observer, err)) != FO_FEED_OK ||
        (rv = name_field(doc, "region", out->region, err)) != FO_FEED_OK ||
        (rv = name_field(doc, "component", out->component, err)) != FO_FEED_OK)
        return rv;
    status = status_of(json_string_value(json_object_get(doc, "status")));
    if (status < 0)
        return set_err(err, FO_FEED_BAD_STATUS, "status",
                       "status: expected \"up\", \"down\" or \"unknown\"");
    out->status = (enum fo_status)status;
    v = json_object_get(doc, "detail");
    if (v != NULL && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) >= FO_TEXT_MAX)
            return set_err(err, FO_FEED_BAD_DETAIL, "detail",
                           "detail: expected a string of at most %d bytes", FO_TEXT_MAX - 1);
        memcpy(out->detail, json_string_value(v), json_string_length(v) + 1);
        out->has_detail = true;
    }
    return FO_FEED_OK;
}

enum fo_feed_err fo_feed_health_parse(const void *body, size_t len, struct fo_feed_health *out,
                                      struct fo_feed_error *err)
{
    struct fo_feed_error local;
    enum fo_feed_err rv;
    json_t *doc;

    /* The helpers report through err: keep one even when the caller passes none. */
    if (err == NULL)
        err = &local;
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if ((doc = load_object(body, len, FO_FEED_JSON_MAX, err)) == NULL)
        return err->code;
    rv = health_fields(doc, out, err);
    json_decref(doc);
    if (rv != FO_FEED_OK)
        memset(out, 0, sizeof(*out));
    return rv;
}

/* ---- POST /v1/alertmanager ---------------------------------------------------------- */

/* One alert: its labels name the region and the component; firing is down, resolved up. */
static enum fo_feed_alert_err one_alert(json_t *alert, const struct fo_feed_labels *labels,
                                        struct fo_feed_alert *a)
{
    json_t *lab, *ann, *fp;
    const char *status, *region, *component, *name, *summary;
    char detail[256];

    if (!json_is_object(alert))
        return FO_FEED_ALERT_NOT_OBJECT;
    fp = json_object_get(alert, "fingerprint");
    if (json_is_string(fp)) {
        a->has_fingerprint = true;
        snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", json_string_value(fp));
        fo_utf8_cut(a->fingerprint, FO_FEED_FINGERPRINT_MAX);
    }
    status = json_string_value(json_object_get(alert, "status"));
    if (status != NULL && strcmp(status, "firing") == 0)
        a->status = FO_STATUS_DOWN;
    else if (status != NULL && strcmp(status, "resolved") == 0)
        a->status = FO_STATUS_UP;
    else
        return FO_FEED_ALERT_BAD_STATUS;
    lab = json_object_get(alert, "labels");
    if (!json_is_object(lab))
        return FO_FEED_ALERT_NO_LABELS;
    region = json_string_value(json_object_get(lab, labels->region));
    component = json_string_value(json_object_get(lab, labels->component));
    /* An empty region passes here: the verdict table refuses it as an unknown region. */
    if (region == NULL)
        return FO_FEED_ALERT_NO_REGION;
    if (strlen(region) > FO_NAME_MAX)
        return FO_FEED_ALERT_REGION_LENGTH;
    if (component == NULL)
        return FO_FEED_ALERT_NO_COMPONENT;
    if (component[0] == '\0' || strlen(component) > FO_NAME_MAX)
        return FO_FEED_ALERT_COMPONENT_LENGTH;
    memcpy(a->region, region, strlen(region) + 1);
    memcpy(a->component, component, strlen(component) + 1);
    name = json_string_value(json_object_get(lab, "alertname"));
    ann = json_object_get(alert, "annotations");
    summary = json_is_object(ann) ? json_string_value(json_object_get(ann, "summary")) : NULL;
    snprintf(detail, sizeof(detail), "alertmanager %s%s%s", name != NULL ? name : "alert",
             summary != NULL ? ": " : "", summary != NULL ? summary : "");
    fo_utf8_cut(detail, FO_FEED_DETAIL_MAX);
    memcpy(a->detail, detail, strlen(detail) + 1);
    return FO_FEED_ALERT_OK;
}

static int by_pair(const void *x, const void *y)
{
    const struct fo_feed_alert *a = *(const struct fo_feed_alert *const *)x;
    const struct fo_feed_alert *b = *(const struct fo_feed_alert *const *)y;
    int c = strcmp(a->region, b->region);
    return c != 0 ? c : strcmp(a->component, b->component);
}

static void drop(struct fo_feed_alert *a, enum fo_feed_alert_err why)
{
    a->err = why;
    a->status = FO_STATUS_UNKNOWN;
    a->region[0] = a->component[0] = a->detail[0] = '\0';
}

/* The rules of the header: a truncated webhook's resolved alerts are dropped; of the
 * alerts naming one (region, component), a firing one wins. Sorting pointers keeps it
 * O(n log n) for a large group. 0, or -1 when out of memory. */
static int resolve_conflicts(struct fo_feed_alerts *out)
{
    struct fo_feed_alert **ok;
    size_t n = 0;

    if (out->n == 0)
        return 0;
    if ((ok = calloc(out->n, sizeof(*ok))) == NULL)
        return -1;
    for (size_t i = 0; i < out->n; i++) {
        struct fo_feed_alert *a = &out->alerts[i];
        if (a->err != FO_FEED_ALERT_OK)
            continue;
        if (out->truncated > 0 && a->status == FO_STATUS_UP)
            drop(a, FO_FEED_ALERT_TRUNCATED);
        else
            ok[n++] = a;
    }
    qsort(ok, n, sizeof(*ok), by_pair);
    for (size_t i = 0, j; i < n; i = j) {
        bool firing = false;
        for (j = i; j < n && by_pair(&ok[i], &ok[j]) == 0; j++)
            firing = firing || ok[j]->status == FO_STATUS_DOWN;
        for (size_t k = i; firing && k < j; k++)
            if (ok[k]->status == FO_STATUS_UP)
                drop(ok[k], FO_FEED_ALERT_SUPERSEDED);
    }
    free(ok);
    return 0;
}

enum fo_feed_err fo_feed_alertmanager_parse(const void *body, size_t len,
                                            const struct fo_feed_labels *labels,
                                            struct fo_feed_alerts *out, struct fo_feed_error *err)
{
    struct fo_feed_error local;
    json_t *doc, *alerts, *version, *alert, *truncated;
    enum fo_feed_err rv = FO_FEED_OK;
    size_t i;

    if (err == NULL)
        err = &local;
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    if ((doc = load_object(body, len, FO_FEED_ALERTMANAGER_MAX, err)) == NULL)
        return err->code;
    version = json_object_get(doc, "version");
    /* Alertmanager always sends it (a uint64); anything else reads as nothing left out. */
    truncated = json_object_get(doc, "truncatedAlerts");
    if (json_is_integer(truncated) && json_integer_value(truncated) > 0)
        out->truncated = (size_t)json_integer_value(truncated);
    alerts = json_object_get(doc, "alerts");
    if (version != NULL &&
        (!json_is_string(version) || strcmp(json_string_value(version), "4") != 0))
        rv = set_err(err, FO_FEED_BAD_VERSION, "version",
                     "version: only Alertmanager's webhook version \"4\" is understood");
    else if (!json_is_array(alerts))
        rv = set_err(err, FO_FEED_NO_ALERTS, "alerts", "alerts: required, a list");
    else if (json_array_size(alerts) > FO_FEED_ALERTS_MAX)
        rv = set_err(err, FO_FEED_TOO_MANY_ALERTS, "alerts", "alerts: at most %d in one webhook",
                     FO_FEED_ALERTS_MAX);
    else if (json_array_size(alerts) > 0 &&
             (out->alerts = calloc(json_array_size(alerts), sizeof(*out->alerts))) == NULL)
        rv = set_err(err, FO_FEED_NO_MEMORY, "", "out of memory");
    if (rv != FO_FEED_OK) {
        json_decref(doc);
        out->truncated = 0;
        return rv;
    }
    json_array_foreach(alerts, i, alert)
    {
        struct fo_feed_alert *a = &out->alerts[i];
        a->err = one_alert(alert, labels, a);
        if (a->err != FO_FEED_ALERT_OK) { /* only the fingerprint stays, for the reply */
            a->status = FO_STATUS_UNKNOWN;
            a->region[0] = a->component[0] = a->detail[0] = '\0';
        }
    }
    out->n = json_array_size(alerts);
    json_decref(doc);
    if (resolve_conflicts(out) != 0) {
        fo_feed_alerts_free(out);
        return set_err(err, FO_FEED_NO_MEMORY, "", "out of memory");
    }
    return FO_FEED_OK;
}

void fo_feed_alerts_free(struct fo_feed_alerts *a)
{
    free(a->alerts);
    a->alerts = NULL;
    a->n = 0;
}

char *fo_feed_alert_reason(const struct fo_feed_alert *a, const struct fo_feed_labels *labels,
                           char *buf, size_t cap)
{
    switch (a->err) {
    case FO_FEED_ALERT_OK:
        snprintf(buf, cap, "ok");
        break;
    case FO_FEED_ALERT_NOT_OBJECT:
        snprintf(buf, cap, "expected an object");
        break;
    case FO_FEED_ALERT_BAD_STATUS:
        snprintf(buf, cap, "status: expected \"firing\" or \"resolved\"");
        break;
    case FO_FEED_ALERT_NO_LABELS:
        snprintf(buf, cap, "labels: expected an object");
        break;
    case FO_FEED_ALERT_NO_REGION:
        snprintf(buf, cap, "no label '%s' (alertmanager.region_label)", labels->region);
        break;
    case FO_FEED_ALERT_REGION_LENGTH:
        snprintf(buf, cap, "label '%s': at most %d bytes", labels->region, FO_NAME_MAX);
        break;
    case FO_FEED_ALERT_NO_COMPONENT:
        snprintf(buf, cap, "no label '%s' (alertmanager.component_label)", labels->component);
        break;
    case FO_FEED_ALERT_COMPONENT_LENGTH:
        snprintf(buf, cap, "label '%s': 1 to %d bytes", labels->component, FO_NAME_MAX);
        break;
    case FO_FEED_ALERT_SUPERSEDED:
        snprintf(buf, cap,
                 "resolved, but a firing alert of this webhook names the same %s "
                 "and %s: the firing one counts",
                 labels->region, labels->component);
        break;
    case FO_FEED_ALERT_TRUNCATED:
        snprintf(buf, cap,
                 "resolved, but Alertmanager left alerts out of this webhook "
                 "(truncatedAlerts): one left out may still be firing");
        break;
    default:
        snprintf(buf, cap, "unknown reason");
        break;
    }
    return buf;
}
