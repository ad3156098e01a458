/*
 * coordinator/ctl/output_table.c — failoverctl's tables for people, one renderer per verb
 * that has one (see output.h); the --json output is output_json.c. Every line ends with
 * '\n' and has no trailing blanks.
 */
#include "coordinator/ctl/output.h"

#include <string.h>

#include "coordinator/ctl/table.h"

/* ---- an operation (status, report) ------------------------------------------------ */

/* The operation's header, its steps and its error. now_ms != 0 adds "ago" to the start
 * (status: it is running now); 0 prints absolute times only (report: a record). */
static int render_operation(FILE *out, const json_t *op, uint64_t now_ms)
{
    const json_t *started = json_object_get(op, "started_ms");
    struct fo_table t;
    size_t i;
    json_t *st;
    char buf[48]; /* one time at a time: each is printed before the next */

    fprintf(out, "operation %s: %s %s -> %s, epoch %lld, %s\n", jstr(op, "id"), jstr(op, "kind"),
            jstr(op, "from"), jstr(op, "to"), jint(op, "epoch"), jstr(op, "state"));
    fprintf(out, "  by %s%s, started %s", jstr(op, "requested_by"),
            json_is_true(json_object_get(op, "force")) ? " (--force)" : "",
            fo_fmt_utc(started, buf, sizeof(buf)));
    if (now_ms != 0)
        fprintf(out, " (%s)", fo_fmt_rel(started, now_ms, buf, sizeof(buf)));
    if (jhas_int(op, "ended_ms"))
        fprintf(out, ", ended %s", fo_fmt_utc(json_object_get(op, "ended_ms"), buf, sizeof(buf)));
    fprintf(out, "\n  why: %s\n", jstr(op, "reason"));
    if (json_is_string(json_object_get(op, "error")))
        fprintf(out, "  error: %s\n", jstr(op, "error"));
    fo_table_begin(&t, "  ", 8, ">#", "STEP", "ACTION", "STATE", ">AT", ">ATTEMPTS", ">DURATION_MS",
                   "ERROR");
    json_array_foreach(json_object_get(op, "steps"), i, st)
    {
        char n[24], at[32] = "-", dur[24] = "-", att[24];
        const json_t *s0 = json_object_get(st, "started_ms");
        snprintf(n, sizeof(n), "%zu", i + 1);
        if (json_is_integer(s0) && json_is_integer(started) &&
            json_integer_value(s0) >= json_integer_value(started))
            snprintf(at, sizeof(at), "+%.1fs",
                     (double)(json_integer_value(s0) - json_integer_value(started)) / 1000.0);
        if (jhas_int(st, "duration_ms"))
            snprintf(dur, sizeof(dur), "%lld", jint(st, "duration_ms"));
        snprintf(att, sizeof(att), "%lld", jint(st, "attempts"));
        fo_table_row(&t, n, jstr(st, "name"), jstr(st, "action"), jstr(st, "state"), at, att, dur,
                     jtext(st, "error"));
    }
    return fo_table_end(out, &t);
}

/* ---- status ----------------------------------------------------------------------- */

static void render_mode(FILE *out, const json_t *doc, uint64_t now_ms)
{
    const json_t *md = json_object_get(doc, "mode_detail");
    const json_t *since = json_object_get(md, "since_ms");

    fprintf(out, "mode      %s", jstr(doc, "mode"));
    if (json_is_string(json_object_get(md, "by"))) {
        char when[32], rel[48];
        fprintf(out, " (by %s, since %s, %s)", jstr(md, "by"),
                fo_fmt_utc(since, when, sizeof(when)), fo_fmt_rel(since, now_ms, rel, sizeof(rel)));
        if (json_is_string(json_object_get(md, "reason")))
            fprintf(out, ": %s", jstr(md, "reason"));
    }
    fputc('\n', out);
}

static void render_lags(FILE *out, const json_t *lags)
{
    size_t i;
    json_t *l;

    if (json_array_size(lags) == 0)
        return;
    fprintf(out, "lag      ");
    json_array_foreach(lags, i, l)
    {
        char b[32], ms[32] = "unknown";
        if (jhas_int(l, "lag_ms"))
            snprintf(ms, sizeof(ms), "%lld ms", jint(l, "lag_ms"));
        fprintf(out, "%s %s %s / %s", i ? "," : "", jstr(l, "site"),
                fo_fmt_bytes(json_object_get(l, "lag_bytes"), b, sizeof(b)), ms);
    }
    fputc('\n', out);
}

static int render_nodes(FILE *out, const json_t *doc)
{
    struct fo_table t;
    size_t i;
    json_t *n;

    fo_table_begin(&t, "", 6, "NODE", "REGION", "ROLE", "REACHABLE", "RAFT", "ADMIN");
    json_array_foreach(json_object_get(doc, "nodes"), i, n)
    {
        fo_table_row(&t, jstr(n, "name"), jstr(n, "region"), jstr(n, "role"),
                     jyesno(n, "reachable"), jstr(n, "raft"), jstr(n, "admin"));
    }
    return fo_table_end(out, &t);
}

static int render_checks(FILE *out, const json_t *doc)
{
    struct fo_table t;
    size_t i;
    json_t *c;

    if (json_array_size(json_object_get(doc, "checks")) == 0)
        return 0;
    fprintf(out, "\nchecks, as %s sees them:\n", jstr(doc, "node"));
    fo_table_begin(&t, "", 6, "CHECK", "REGION", "STATUS", "CRITICAL", ">LATENCY", "DETAIL");
    json_array_foreach(json_object_get(doc, "checks"), i, c)
    {
        const json_t *lat = json_object_get(c, "latency_ms");
        char ms[32] = "-";
        if (json_is_number(lat))
            snprintf(ms, sizeof(ms), "%.1f ms", json_number_value(lat));
        fo_table_row(&t, jstr(c, "name"), jstr(c, "region"), jstr(c, "status"),
                     jyesno(c, "critical"), ms, jstr(c, "detail"));
    }
    return fo_table_end(out, &t);
}

static int render_verdicts(FILE *out, const json_t *doc, uint64_t now_ms)
{
    struct fo_table t;
    size_t i;
    json_t *v;

    if (json_array_size(json_object_get(doc, "verdicts")) == 0)
        return 0;
    fprintf(out, "\nverdicts, committed:\n");
    fo_table_begin(&t, "", 5, "OBSERVER", "REGION", "STATUS", "SINCE", "REASON");
    json_array_foreach(json_object_get(doc, "verdicts"), i, v)
    {
        char rel[48];
        fo_table_row(&t, jstr(v, "observer"), jstr(v, "region"), jstr(v, "status"),
                     fo_fmt_rel(json_object_get(v, "since_ms"), now_ms, rel, sizeof(rel)),
                     jtext(v, "reason"));
    }
    return fo_table_end(out, &t);
}

int fo_output_status(FILE *out, const char *verb, const json_t *doc, uint64_t now_ms)
{
    const json_t *dec = json_object_get(doc, "decision");
    const json_t *op = json_object_get(doc, "operation");
    const json_t *cool = json_object_get(doc, "cooldown_until_ms");
    size_t i;
    json_t *w;
    int rc = 0;

    (void)verb;
    fprintf(out, "cluster   %s (answered by %s, term %lld)\n", jstr(doc, "cluster"),
            jstr(doc, "node"), jint(doc, "term"));
    fprintf(out, "leader    %s\n",
            json_is_string(json_object_get(doc, "leader")) ? jstr(doc, "leader")
                                                           : "NONE (no quorum reachable)");
    fprintf(out, "primary   %s (epoch %lld)\n", jstr(doc, "primary"), jint(doc, "epoch"));
    render_mode(out, doc, now_ms);
    if (json_is_integer(cool) && (uint64_t)json_integer_value(cool) > now_ms) {
        char when[32], rel[48];
        fprintf(out, "cooldown  no automatic failover until %s (%s)\n",
                fo_fmt_utc(cool, when, sizeof(when)), fo_fmt_rel(cool, now_ms, rel, sizeof(rel)));
    }
    if (json_is_true(json_object_get(doc, "self_fenced")))
        fprintf(out, "fence     this node fenced the primary's servers in its region (no "
                     "majority)\n");
    fputc('\n', out);
    rc |= render_nodes(out, doc);
    if (json_is_object(dec)) {
        fprintf(out, "\ndecision  %s: %s\n",
                json_is_true(json_object_get(dec, "would_fail_over")) ? "WOULD FAIL OVER"
                                                                      : "no failover",
                jstr(dec, "text"));
        render_lags(out, json_object_get(dec, "lags"));
    }
    fputc('\n', out);
    if (json_is_object(op))
        rc |= render_operation(out, op, now_ms);
    else
        fprintf(out, "operation none in flight\n");
    rc |= render_checks(out, doc);
    rc |= render_verdicts(out, doc, now_ms);
    json_array_foreach(json_object_get(doc, "warnings"), i, w)
    {
        fprintf(out, "%swarning: %s\n", i == 0 ? "\n" : "",
                json_is_string(w) ? json_string_value(w) : "-");
    }
    return rc;
}

/* ---- history ---------------------------------------------------------------------- */

int fo_output_history(FILE *out, const char *verb, const json_t *doc, uint64_t now_ms)
{
    struct fo_table t;
    size_t i;
    json_t *op, *ev;
    int rc;

    (void)verb;
    (void)now_ms;
    fo_table_begin(&t, "", 9, "OPERATION", "KIND", "FROM -> TO", ">EPOCH", "RESULT", "STARTED",
                   ">TOOK", "BY", "ERROR");
    json_array_foreach(json_object_get(doc, "operations"), i, op)
    {
        char route[160], epoch[24], when[32], took[32] = "-";
        snprintf(route, sizeof(route), "%s -> %s", jstr(op, "from"), jstr(op, "to"));
        snprintf(epoch, sizeof(epoch), "%lld", jint(op, "epoch"));
        if (jhas_int(op, "started_ms") && jhas_int(op, "ended_ms") &&
            jint(op, "ended_ms") >= jint(op, "started_ms"))
            fo_fmt_span((uint64_t)(jint(op, "ended_ms") - jint(op, "started_ms")), took,
                        sizeof(took));
        fo_table_row(&t, jstr(op, "id"), jstr(op, "kind"), route, epoch, jstr(op, "state"),
                     fo_fmt_utc(json_object_get(op, "started_ms"), when, sizeof(when)), took,
                     jstr(op, "requested_by"), jtext(op, "error"));
    }
    if (json_array_size(json_object_get(doc, "operations")) == 0) {
        fo_table_free(&t); /* a heading alone says nothing */
        fprintf(out, "(no finished operation)\n");
        rc = 0;
    } else {
        rc = fo_table_end(out, &t);
    }
    /* The older operations the cluster keeps (its archive) or dropped: say so (a node of
     * an older version sends neither count). */
    if (jhas_int(doc, "operations_kept") &&
        (jint(doc, "operations_kept") >
             (long long)json_array_size(json_object_get(doc, "operations")) ||
         jint(doc, "operations_dropped") > 0)) {
        fprintf(out, "(%zu of the %lld operations kept shown, newest first; --limit N for more",
                json_array_size(json_object_get(doc, "operations")), jint(doc, "operations_kept"));
        if (jint(doc, "operations_dropped") > 0)
            fprintf(out, "; %lld older ones dropped", jint(doc, "operations_dropped"));
        fprintf(out, ")\n");
    }
    fputc('\n', out);
    fo_table_begin(&t, "", 4, "EVENT AT", "WHAT", "BY", "TEXT");
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        char when[32], text[48];
        /* An event that sets a time (a cooldown's end) shows it as a time. */
        if (jhas_int(ev, "until_ms")) {
            char until[32];
            snprintf(text, sizeof(text), "until %s",
                     fo_fmt_utc(json_object_get(ev, "until_ms"), until, sizeof(until)));
        }
        fo_table_row(&t, fo_fmt_utc(json_object_get(ev, "at_ms"), when, sizeof(when)),
                     jstr(ev, "what"), jstr(ev, "by"),
                     jhas_int(ev, "until_ms") ? text : jtext(ev, "text"));
    }
    if (json_array_size(json_object_get(doc, "events")) == 0) {
        fo_table_free(&t);
        fprintf(out, "(no event)\n");
        return rc;
    }
    return rc | fo_table_end(out, &t);
}

/* ---- report ----------------------------------------------------------------------- */

/* The daemon's one-line timeline ("...: requested T; step done +0.0s (0.0s); ...; RTO
 * 1.1s (target 7200s)"), one part per line. */
static void render_timeline(FILE *out, const char *timeline)
{
    const char *p = timeline;

    fprintf(out, "\ntimeline\n");
    while (*p != '\0') {
        const char *end = strstr(p, "; ");
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        fprintf(out, "  %.*s\n", (int)n, p);
        p += n + (end != NULL ? 2 : 0);
    }
}

/* "data loss: at most 0 B / 0 ms (RPO target 3600 s): met", then why we think so. */
static void render_data_loss(FILE *out, const json_t *dl)
{
    const json_t *bytes = json_object_get(dl, "bytes"), *ms = json_object_get(dl, "ms");
    double rpo = (double)jint(dl, "rpo_target_ms") / 1000.0;

    if (!json_is_object(dl))
        return;
    if (json_is_integer(bytes) && json_is_integer(ms))
        fprintf(out, "data loss estimate: %lld bytes / %.1f s of writes (RPO target %.0f s): %s\n",
                (long long)json_integer_value(bytes), (double)json_integer_value(ms) / 1000.0, rpo,
                (double)json_integer_value(ms) / 1000.0 <= rpo ? "within" : "EXCEEDED");
    else
        fprintf(out, "data loss estimate: unknown (RPO target %.0f s)\n", rpo);
    if (json_is_string(json_object_get(dl, "basis")))
        fprintf(out, "  %s\n", jstr(dl, "basis"));
}

int fo_output_report(FILE *out, const char *verb, const json_t *doc, uint64_t now_ms)
{
    const json_t *op = json_object_get(doc, "operation");
    const json_t *rto = json_object_get(doc, "rto_ms");
    double target = (double)jint(doc, "rto_target_ms") / 1000.0;
    int rc = render_operation(out, op, 0);

    (void)verb;
    (void)now_ms; /* a record: absolute times only */
    if (json_is_string(json_object_get(doc, "timeline")))
        render_timeline(out, jstr(doc, "timeline"));
    if (!json_is_integer(rto)) {
        fprintf(out, "\nRTO: the operation has not finished\n");
    } else if (strcmp(jstr(op, "kind"), "drill") == 0) {
        fprintf(out, "\ndrill %s in %.1f s (RTO target %.0f s); check mode: nothing was changed\n",
                strcmp(jstr(op, "state"), "succeeded") == 0 ? "passed" : "FAILED",
                (double)json_integer_value(rto) / 1000.0, target);
    } else if (strcmp(jstr(op, "kind"), "rejoin") == 0) {
        /* A rejoin moves nothing: no RTO, just whether the site is a standby now. */
        fprintf(out, "\nrejoin %s in %.1f s: %s %s a standby of %s\n", jstr(op, "state"),
                (double)json_integer_value(rto) / 1000.0, jstr(op, "to"),
                strcmp(jstr(op, "state"), "succeeded") == 0 ? "is" : "is NOT", jstr(op, "from"));
    } else if (strcmp(jstr(op, "state"), "succeeded") != 0) {
        fprintf(out, "\nRTO not achieved: the operation %s after %.1f s (target %.0f s)\n",
                jstr(op, "state"), (double)json_integer_value(rto) / 1000.0, target);
    } else {
        fprintf(out, "\nRTO achieved %.1f s against a target of %.0f s: %s\n",
                (double)json_integer_value(rto) / 1000.0, target,
                json_integer_value(rto) <= jint(doc, "rto_target_ms") ? "met" : "MISSED");
    }
    render_data_loss(out, json_object_get(doc, "data_loss"));
    return rc;
}

/* ---- members ---------------------------------------------------------------------- */

static const char *member_role(const json_t *m)
{
    if (json_is_true(json_object_get(m, "leader")))
        return "leader";
    if (json_is_false(json_object_get(m, "in_raft_configuration")))
        return "not-in-raft";
    if (json_is_false(json_object_get(m, "voter"))) {
        /* standby (replicates, no vote) or spare (neither), when the node says which */
        const char *r = json_string_value(json_object_get(m, "raft_role"));
        return r != NULL ? r : "non-voter";
    }
    return "follower";
}

/* A member's name: a server no config line names shows as "id:N". */
static const char *member_name(const json_t *m, char *buf, size_t cap)
{
    if (json_is_string(json_object_get(m, "name")))
        return jstr(m, "name");
    snprintf(buf, cap, "id:%lld", jint(m, "id"));
    return buf;
}

int fo_output_members(FILE *out, const char *verb, const json_t *doc, uint64_t now_ms)
{
    struct fo_table t;
    size_t i;
    json_t *m;
    int rc;

    (void)verb;
    (void)now_ms;
    fo_table_begin(&t, "", 6, "NAME", "REGION", "RAFT", "ROLE", "REACHABLE", ">APPLIED");
    json_array_foreach(json_object_get(doc, "members"), i, m)
    {
        char applied[24] = "?", name[32];
        if (jhas_int(m, "applied"))
            snprintf(applied, sizeof(applied), "%lld", jint(m, "applied"));
        fo_table_row(&t, member_name(m, name, sizeof(name)), jstr(m, "region"), jstr(m, "raft"),
                     member_role(m), jyesno(m, "reachable"), applied);
    }
    rc = fo_table_end(out, &t);
    fprintf(out, "\nterm %lld, commit index %lld (answered by %s", jint(doc, "term"),
            jint(doc, "commit_index"), jstr(doc, "answered_by"));
    if (json_is_string(json_object_get(doc, "leader")))
        fprintf(out, ", leader %s)\n", jstr(doc, "leader"));
    else
        fprintf(out, ", no leader known: only a leader knows who is reachable)\n");
    json_array_foreach(json_object_get(doc, "members"), i, m)
    {
        if (json_is_false(json_object_get(m, "in_raft_configuration")))
            fprintf(out, "warning: %s is in the config but not in the Raft configuration\n",
                    jstr(m, "name"));
        if (json_is_false(json_object_get(m, "in_config"))) {
            char name[32];
            fprintf(out, "warning: %s (%s) is in the Raft configuration but in no config line\n",
                    member_name(m, name, sizeof(name)), jstr(m, "raft"));
        }
    }
    if (json_is_true(json_object_get(doc, "change_in_flight")))
        fprintf(out, "a Raft configuration change is in flight\n");
    return rc;
}

/* ---- failover / switchover --dry-run ---------------------------------------------- */

static const char *timeout_text(long long ms, char *out, size_t cap)
{
    if (ms % 1000 == 0)
        snprintf(out, cap, "%llds", ms / 1000);
    else
        snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
    return out;
}

int fo_output_dry_run(FILE *out, const char *verb, const json_t *doc, uint64_t now_ms)
{
    const json_t *dec = json_object_get(doc, "decision");
    const char *kind = json_is_string(json_object_get(doc, "kind")) ? jstr(doc, "kind") : verb;
    struct fo_table t;
    size_t i;
    json_t *st;

    (void)now_ms;
    fprintf(out, "%s %s -> %s (epoch %lld)%s: %s\n", kind, jstr(doc, "from"), jstr(doc, "to"),
            jint(doc, "epoch"), json_is_true(json_object_get(doc, "force")) ? " --force" : "",
            json_is_true(json_object_get(doc, "would_fail_over")) ? "WOULD RUN" : "REFUSED");
    fprintf(out, "  %s (%s)\n", jstr(doc, "text"), jstr(doc, "reason"));
    if (json_is_object(dec)) {
        fprintf(out, "\nautomatic decision now: %s: %s\n",
                json_is_true(json_object_get(dec, "would_fail_over")) ? "WOULD FAIL OVER"
                                                                      : "no failover",
                jstr(dec, "text"));
        render_lags(out, json_object_get(dec, "lags"));
    }
    if (strcmp(kind, "switchover") == 0)
        fprintf(out,
                "\nA switchover aborts when a fence step fails, and promotes only once %s "
                "has\nreplayed everything %s wrote.\n",
                jstr(doc, "to"), jstr(doc, "from"));
    fprintf(out, "\nplan:\n");
    fo_table_begin(&t, "  ", 7, ">#", "STEP", "ACTION", "TARGET", ">TIMEOUT", ">ATTEMPTS",
                   "ON FAILURE");
    json_array_foreach(json_object_get(doc, "plan"), i, st)
    {
        const char *target = jstr(st, "target");
        char n[24], to[32], att[24];
        snprintf(n, sizeof(n), "%zu", i + 1);
        snprintf(att, sizeof(att), "%lld", jint(st, "attempts"));
        if (strcmp(target, "to") == 0)
            target = jstr(doc, "to");
        else if (strcmp(target, "from") == 0)
            target = jstr(doc, "from");
        else
            target = "-";
        fo_table_row(&t, n, jstr(st, "name"), jstr(st, "action"), target,
                     timeout_text(jint(st, "timeout_ms"), to, sizeof(to)), att,
                     jstr(st, "on_failure"));
    }
    if (fo_table_end(out, &t) != 0)
        return -1;
    fprintf(out, "\nnothing was changed (--dry-run)\n");
    return 0;
}
