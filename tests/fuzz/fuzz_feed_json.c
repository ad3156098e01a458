/*
 * tests/fuzz/fuzz_feed_json.c — libFuzzer target for the JSON feed bodies
 * (coordinator/serve/feed_json.h). Every input goes to both parsers, twice.
 *
 * What must hold (else abort): a refusal has a code, a message, and leaves nothing
 * behind (a zeroed report, an empty alert list); an acceptance keeps every bound the
 * header promises (names 1..FO_NAME_MAX bytes, a known status, details and fingerprints
 * within their fields, at most FO_FEED_ALERTS_MAX alerts, a report only in an alert
 * without a reason and a reason text for every other); and the same bytes parse to the
 * same result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/serve/feed_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fo_feed_labels labels = {"region", "component"};

static void check_name(const char *s, size_t min)
{
    size_t n = strnlen(s, FO_NAME_MAX + 1);
    if (n < min || n > FO_NAME_MAX)
        abort();
}

static void check_health(const uint8_t *data, size_t size)
{
    static const struct fo_feed_health zero;
    struct fo_feed_health h, again;
    struct fo_feed_error e;
    enum fo_feed_err rv = fo_feed_health_parse(data, size, &h, &e);

    if (rv != e.code)
        abort();
    if (rv != FO_FEED_OK) {
        if (e.msg[0] == '\0' || memcmp(&h, &zero, sizeof(h)) != 0)
            abort();
        return;
    }
    check_name(h.observer, 1);
    check_name(h.region, 1);
    check_name(h.component, 1);
    if (h.status > FO_STATUS_DOWN || strnlen(h.detail, FO_TEXT_MAX) >= FO_TEXT_MAX ||
        (!h.has_detail && h.detail[0] != '\0'))
        abort();
    /* Both structs were zeroed by the parser, padding included: memcmp is fair. */
    if (fo_feed_health_parse(data, size, &again, NULL) != FO_FEED_OK ||
        memcmp(&h, &again, sizeof(h)) != 0)
        abort();
}

static void check_alert(const struct fo_feed_alert *a)
{
    if (strnlen(a->fingerprint, FO_FEED_FINGERPRINT_MAX + 1) > FO_FEED_FINGERPRINT_MAX ||
        (!a->has_fingerprint && a->fingerprint[0] != '\0'))
        abort();
    if (a->err != FO_FEED_ALERT_OK) {
        char reason[FO_TEXT_MAX];
        if (a->region[0] != '\0' || a->component[0] != '\0' || a->detail[0] != '\0' ||
            fo_feed_alert_reason(a, &labels, reason, sizeof(reason))[0] == '\0')
            abort();
        return;
    }
    check_name(a->region, 0); /* an empty region is the verdict table's to refuse */
    check_name(a->component, 1);
    if ((a->status != FO_STATUS_UP && a->status != FO_STATUS_DOWN) ||
        strnlen(a->detail, FO_FEED_DETAIL_MAX + 1) > FO_FEED_DETAIL_MAX)
        abort();
}

static void check_alertmanager(const uint8_t *data, size_t size)
{
    struct fo_feed_alerts a, again;
    struct fo_feed_error e;
    enum fo_feed_err rv = fo_feed_alertmanager_parse(data, size, &labels, &a, &e);

    if (rv != e.code)
        abort();
    if (rv != FO_FEED_OK) {
        if (e.msg[0] == '\0' || a.n != 0 || a.alerts != NULL)
            abort();
        return;
    }
    if (a.n > FO_FEED_ALERTS_MAX || (a.n > 0) != (a.alerts != NULL))
        abort();
    for (size_t i = 0; i < a.n; i++)
        check_alert(&a.alerts[i]);
    if (fo_feed_alertmanager_parse(data, size, &labels, &again, NULL) != FO_FEED_OK ||
        again.n != a.n || (a.n > 0 && memcmp(a.alerts, again.alerts, a.n * sizeof(*a.alerts)) != 0))
        abort();
    fo_feed_alerts_free(&a);
    fo_feed_alerts_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_health(data, size);
    check_alertmanager(data, size);
    return 0;
}
