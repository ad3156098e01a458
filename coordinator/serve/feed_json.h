/*
 * coordinator/serve/feed_json.h — the JSON health feeds' bodies, bytes in, typed reports
 * out (DESIGN §9, reference §6.4). The HTTP API (http_api.h) authenticates, then hands a
 * body here, then records what comes back; nothing here knows HTTP, tokens or the daemon.
 *
 *   POST /v1/health        {"observer","region","component","status","detail"}: one
 *                          report, or one error naming the field that is wrong.
 *   POST /v1/alertmanager  Alertmanager's webhook (version "4"): the document is refused
 *                          as a whole (not JSON, wrong version, no alerts list) or read
 *                          alert by alert, each alert either a report or a reason it is
 *                          ignored (the other alerts still count).
 *
 * Bounds: a health body over FO_FEED_JSON_MAX bytes, a webhook over
 * FO_FEED_ALERTMANAGER_MAX, is refused before it is parsed; names are 1 to FO_NAME_MAX
 * bytes, details under FO_TEXT_MAX; a webhook holds at most FO_FEED_ALERTS_MAX alerts.
 *
 * Alertmanager's rules (its notify/webhook source): a group's webhook lists the group's
 * alerts sorted by labels, not by status, cut to the receiver's max_alerts with the number
 * left out in truncatedAlerts. So, within one webhook:
 *   - several alerts may name one (region, component): a firing one wins over a resolved
 *     one whatever their order (the resolved ones are ignored, FO_FEED_ALERT_SUPERSEDED),
 *     else a resolved alert listed last would report the component UP while it is down;
 *   - when truncatedAlerts > 0 a resolved alert proves nothing (an alert left out may
 *     still fire for its component): resolved alerts are ignored
 *     (FO_FEED_ALERT_TRUNCATED), firing ones count. A missing alert is never read as
 *     resolved: only listed alerts report. Every string handed back is NUL-terminated in a
 * fixed-size field, so a caller never meets a length it did not expect.
 *
 * Pure: no I/O, no globals; any thread. The only allocation kept is the alert array
 * (fo_feed_alerts_free releases it); a webhook's parse also sorts a temporary index.
 */
#ifndef FO_COORDINATOR_FEED_JSON_H
#define FO_COORDINATOR_FEED_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/state.h" /* FO_NAME_MAX, FO_TEXT_MAX, enum fo_status */

#define FO_FEED_JSON_MAX (64u * 1024u) /* one health body */
/* One Alertmanager webhook. A real alert (status, labels, annotations, times, URL,
 * fingerprint) takes 0.5 to 2 KiB, and Alertmanager sends a whole group in one webhook
 * and never retries a 4xx: a 64 KiB cap lost every group of more than ~50 alerts. 4 MiB
 * holds a few thousand real alerts; a larger group is bounded at the source with the
 * receiver's max_alerts (README), which this parser honours (truncatedAlerts). */
#define FO_FEED_ALERTMANAGER_MAX (4u * 1024u * 1024u)
/* A real alert takes well over 512 bytes, so a FO_FEED_ALERTMANAGER_MAX body never holds
 * this many: the bound only stops a body of empty objects from costing a reply entry
 * (and ~400 bytes of parse result) each. */
#define FO_FEED_ALERTS_MAX 8192
#define FO_FEED_DETAIL_MAX 200 /* an alert's detail: "alertmanager <alertname>: <summary>" */
/* Alertmanager's fingerprints are 16 hex digits; a longer one is cut (at a character). */
#define FO_FEED_FINGERPRINT_MAX 64

/* Why a whole body is refused. */
enum fo_feed_err {
    FO_FEED_OK = 0,
    FO_FEED_TOO_LARGE,       /* over FO_FEED_JSON_MAX (FO_FEED_ALERTMANAGER_MAX) bytes */
    FO_FEED_BAD_JSON,        /* not JSON (or duplicate keys) */
    FO_FEED_NOT_OBJECT,      /* JSON, but not an object */
    FO_FEED_UNKNOWN_FIELD,   /* health: a field that is not one of the five */
    FO_FEED_MISSING_FIELD,   /* health: observer, region or component absent */
    FO_FEED_NOT_STRING,      /* health: observer, region or component not a string */
    FO_FEED_BAD_LENGTH,      /* health: a name empty or over FO_NAME_MAX bytes */
    FO_FEED_BAD_STATUS,      /* health: status not "up", "down" or "unknown" */
    FO_FEED_BAD_DETAIL,      /* health: detail not a string under FO_TEXT_MAX bytes */
    FO_FEED_BAD_VERSION,     /* alertmanager: version present and not "4" */
    FO_FEED_NO_ALERTS,       /* alertmanager: alerts absent or not a list */
    FO_FEED_TOO_MANY_ALERTS, /* alertmanager: over FO_FEED_ALERTS_MAX */
    FO_FEED_NO_MEMORY,
};

/* A refused body: the code for programs, the field (or "" for the whole body) and a
 * message for people (the HTTP API sends it as the error message). */
struct fo_feed_error {
    enum fo_feed_err code;
    char field[FO_NAME_MAX + 1];
    char msg[FO_TEXT_MAX];
};

/* POST /v1/health, parsed. */
struct fo_feed_health {
    char observer[FO_NAME_MAX + 1];
    char region[FO_NAME_MAX + 1];
    char component[FO_NAME_MAX + 1];
    enum fo_status status;
    bool has_detail; /* detail present and not null */
    char detail[FO_TEXT_MAX];
};

/* Parse a health report. Returns FO_FEED_OK with *out filled, or the code (also in err,
 * which may be NULL) with *out zeroed. */
enum fo_feed_err fo_feed_health_parse(const void *body, size_t len, struct fo_feed_health *out,
                                      struct fo_feed_error *err);

/* Why one alert is ignored. */
enum fo_feed_alert_err {
    FO_FEED_ALERT_OK = 0,
    FO_FEED_ALERT_NOT_OBJECT,       /* the list element is not an object */
    FO_FEED_ALERT_BAD_STATUS,       /* status not "firing" or "resolved" */
    FO_FEED_ALERT_NO_LABELS,        /* labels absent or not an object */
    FO_FEED_ALERT_NO_REGION,        /* no string label named labels->region */
    FO_FEED_ALERT_REGION_LENGTH,    /* that label over FO_NAME_MAX bytes */
    FO_FEED_ALERT_NO_COMPONENT,     /* no string label named labels->component */
    FO_FEED_ALERT_COMPONENT_LENGTH, /* that label empty or over FO_NAME_MAX bytes */
    FO_FEED_ALERT_SUPERSEDED,       /* resolved, and a firing alert of this webhook names
                                       the same (region, component): the firing one wins */
    FO_FEED_ALERT_TRUNCATED,        /* resolved, in a webhook with truncatedAlerts > 0 */
};

/* Which of an alert's labels name the region and the component (the config's
 * alertmanager.region_label and component_label); borrowed for the call. */
struct fo_feed_labels {
    const char *region;
    const char *component;
};

/* One alert, at its index in the webhook's list. */
struct fo_feed_alert {
    enum fo_feed_alert_err err; /* FO_FEED_ALERT_OK: region..detail hold a report */
    bool has_fingerprint;       /* the alert's "fingerprint", when a string */
    char fingerprint[FO_FEED_FINGERPRINT_MAX + 1];
    enum fo_status status; /* firing: DOWN, resolved: UP */
    char region[FO_NAME_MAX + 1];
    char component[FO_NAME_MAX + 1];
    char detail[FO_FEED_DETAIL_MAX + 1];
};

/* A webhook's alerts, in its order; owned by the caller, released by fo_feed_alerts_free. */
struct fo_feed_alerts {
    size_t truncated; /* the webhook's truncatedAlerts: alerts Alertmanager left out */
    size_t n;
    struct fo_feed_alert *alerts;
};

/* Parse an Alertmanager webhook. Returns FO_FEED_OK with *out filled (n may be 0), or the
 * code (also in err, which may be NULL) with *out empty. */
enum fo_feed_err fo_feed_alertmanager_parse(const void *body, size_t len,
                                            const struct fo_feed_labels *labels,
                                            struct fo_feed_alerts *out, struct fo_feed_error *err);

void fo_feed_alerts_free(struct fo_feed_alerts *a);

/* Why alert a was ignored, for people ("no label 'region' (alertmanager.region_label)"),
 * into buf; labels as given to the parse. Returns buf. */
char *fo_feed_alert_reason(const struct fo_feed_alert *a, const struct fo_feed_labels *labels,
                           char *buf, size_t cap);

#endif
