/*
 * coordinator/detect/probe_state.c — the pure part of probe.h: a check's status from its
 * results over time, and a region's verdict from its checks. No I/O, no clock.
 */
#include "coordinator/detect/probe.h"

void fo_check_state_init(struct fo_check_state *s)
{
    s->status = FO_STATUS_UNKNOWN;
    s->since_ms = 0;
    s->seen = false;
    s->last_ok = false;
    s->streak_ms = 0;
}

/*
 * A streak is a run of equal results; it begins at its first result. The status moves
 * only when a streak has lasted its window: a failure streak of down_after_ms makes the
 * check DOWN, a success streak of up_after_ms makes it UP. A single contrary result
 * starts a new streak, so results that alternate within the windows never move it —
 * like Sentinel's down-after-milliseconds, a check must be consistently bad (or good)
 * before anyone acts on it.
 */
bool fo_check_state_feed(struct fo_check_state *s, uint64_t now_ms, bool ok, uint32_t down_after_ms,
                         uint32_t up_after_ms)
{
    int want;
    uint32_t window;

    if (!s->seen || s->last_ok != ok) {
        s->seen = true;
        s->last_ok = ok;
        s->streak_ms = now_ms;
    }
    want = ok ? FO_STATUS_UP : FO_STATUS_DOWN;
    window = ok ? up_after_ms : down_after_ms;
    if (s->status == want)
        return false;
    if (now_ms < s->streak_ms || now_ms - s->streak_ms < window)
        return false;
    s->status = want;
    s->since_ms = now_ms;
    return true;
}

/*
 * Critical checks decide; the others only matter for a region that has no critical
 * check at all, and then only to say UP (a non-critical check never makes a region DOWN:
 * that is what non-critical means). Anything short of certainty is UNKNOWN, which the
 * decision module never counts as DOWN.
 */
int fo_region_verdict(const struct fo_region_member *m, size_t n, size_t *culprit)
{
    bool any_critical = false;
    size_t first_not_up = SIZE_MAX;

    if (culprit != NULL)
        *culprit = SIZE_MAX;
    for (size_t i = 0; i < n; i++)
        any_critical = any_critical || m[i].critical;
    for (size_t i = 0; i < n; i++) {
        if (any_critical && !m[i].critical)
            continue;
        if (m[i].critical && m[i].status == FO_STATUS_DOWN) {
            if (culprit != NULL)
                *culprit = i;
            return FO_STATUS_DOWN;
        }
        if (m[i].status != FO_STATUS_UP && first_not_up == SIZE_MAX)
            first_not_up = i;
    }
    if (n == 0)
        return FO_STATUS_UNKNOWN;
    if (first_not_up != SIZE_MAX) {
        if (culprit != NULL)
            *culprit = first_not_up;
        return FO_STATUS_UNKNOWN;
    }
    return FO_STATUS_UP;
}

bool fo_probe_standby_lag(const struct fo_probe_pg_info *standby, uint64_t standby_age_ms,
                          const struct fo_probe_pg_info *primary, uint64_t primary_age_ms,
                          uint64_t *bytes, uint64_t *ms)
{
    uint64_t silence, replay;

    if (!standby->in_recovery || !standby->lag_bytes_known || !standby->received_ago_known)
        return false;
    silence = standby->received_ago_ms + standby_age_ms;
    if (primary != NULL && !primary->in_recovery && primary->wal_lsn_known &&
        standby->wal_lsn_known && standby->wal_lsn >= primary->wal_lsn && primary_age_ms < silence)
        silence = primary_age_ms;
    replay = standby->lag_ms_known ? standby->lag_ms : 0;
    *bytes = standby->lag_bytes;
    *ms = replay > silence ? replay : silence;
    return true;
}
