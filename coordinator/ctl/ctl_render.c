/*
 * coordinator/ctl/ctl_render.c — see ctl_render.h.
 *
 * Tables are sized to their content (struct table): a long operation id or region name
 * widens its column instead of shifting every column after it.
 */
#include "coordinator/ctl/ctl_render.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- reading the body ------------------------------------------------------------- */

/* A string member, or "-" when missing or not a string. */
static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "-";
}

/* A string member, or "" (for free-text columns that are usually empty). */
static const char *jtext(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static long long jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static bool jhas_int(const json_t *o, const char *key)
{
    return json_is_integer(json_object_get(o, key));
}

/* "yes", "no", or "?" when the answering node cannot know (null or missing). */
static const char *jyesno(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "?";
}

/* ---- times and sizes -------------------------------------------------------------- */

/* Unix ms as "2026-11-23 19:03:58Z", or "-". */
static const char *fmt_utc(const json_t *v, char *out, size_t cap)
{
    time_t secs;
    struct tm tm;

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        snprintf(out, cap, "-");
        return out;
    }
    secs = (time_t)(json_integer_value(v) / 1000);
    if (gmtime_r(&secs, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "-");
    return out;
}

/* A span of ms for people: "0.4s", "35s", "3m05s", "2h03m", "3d04h". */
static const char *fmt_span(uint64_t ms, char *out, size_t cap)
{
    uint64_t s = ms / 1000;

    if (ms < 10000)
        snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
    else if (s < 60)
        snprintf(out, cap, "%llus", (unsigned long long)s);
    else if (s < 3600)
        snprintf(out, cap, "%llum%02llus", (unsigned long long)(s / 60),
                 (unsigned long long)(s % 60));
    else if (s < 86400)
        snprintf(out, cap, "%lluh%02llum", (unsigned long long)(s / 3600),
                 (unsigned long long)(s / 60 % 60));
    else
        snprintf(out, cap, "%llud%02lluh", (unsigned long long)(s / 86400),
                 (unsigned long long)(s / 3600 % 24));
    return out;
}

/* The instant v (Unix ms) relative to now_ms: "35s ago", "in 55s", or "-". */
static const char *fmt_rel(const json_t *v, uint64_t now_ms, char *out, size_t cap)
{
    char span[32];
    uint64_t at;

    if (!json_is_integer(v) || json_integer_value(v) <= 0 || now_ms == 0) {
        snprintf(out, cap, "-");
        return out;
    }
    at = (uint64_t)json_integer_value(v);
    if (at <= now_ms)
        snprintf(out, cap, "%s ago", fmt_span(now_ms - at, span, sizeof(span)));
    else
        snprintf(out, cap, "in %s", fmt_span(at - now_ms, span, sizeof(span)));
    return out;
}

/* A replication lag: "0 B", "12.3 KiB", "16.0 MiB", or "unknown". */
static const char *fmt_bytes(const json_t *v, char *out, size_t cap)
{
    double b;

    if (!json_is_integer(v)) {
        snprintf(out, cap, "unknown");
        return out;
    }
    b = (double)json_integer_value(v);
    if (b < 1024)
        snprintf(out, cap, "%lld B", (long long)json_integer_value(v));
    else if (b < 1024 * 1024)
        snprintf(out, cap, "%.1f KiB", b / 1024);
    else if (b < 1024.0 * 1024 * 1024)
        snprintf(out, cap, "%.1f MiB", b / (1024 * 1024));
    else
        snprintf(out, cap, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    return out;
}

/* ---- tables ----------------------------------------------------------------------- */

#define TABLE_COLS 10

struct table {
    const char *indent;
    size_t ncols;
    bool right[TABLE_COLS]; /* right-aligned (counts) */
    char **cells;           /* owned by the table: nrows * ncols copies; freed by table_end */
    size_t nrows, cap;      /* rows, the heading included */
    bool nomem;
};

/* Display width of UTF-8 text: one column per code point (no wide characters here). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Add one row of t->ncols cells (copied). */
static void table_row(struct table *t, ...)
{
    va_list ap;

    if (t->nomem)
        return;
    if (t->nrows == t->cap) {
        size_t cap = t->cap != 0 ? t->cap * 2 : 16;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
        if (cells == NULL) {
            t->nomem = true;
            return;
        }
        t->cells = cells;
        t->cap = cap;
    }
    va_start(ap, t);
    for (size_t c = 0; c < t->ncols; c++) {
        const char *s = va_arg(ap, const char *);
        char *copy = strdup(s != NULL ? s : "");
        if (copy == NULL)
            t->nomem = true;
        t->cells[t->nrows * t->ncols + c] = copy;
    }
    va_end(ap);
    t->nrows++;
}

/* Start a table; the varargs are its ncols headings, a leading '>' right-aligns one. */
static void table_begin(struct table *t, const char *indent, size_t ncols, ...)
{
    const char *h[TABLE_COLS];
    va_list ap;

    memset(t, 0, sizeof(*t));
    t->indent = indent;
    t->ncols = ncols < TABLE_COLS ? ncols : TABLE_COLS;
    va_start(ap, ncols);
    for (size_t c = 0; c < t->ncols; c++) {
        h[c] = va_arg(ap, const char *);
        t->right[c] = h[c][0] == '>';
        h[c] += t->right[c];
    }
    va_end(ap);
    for (size_t c = t->ncols; c < TABLE_COLS; c++)
        h[c] = "";
    table_row(t, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]);
}

/* Free the table's cells without printing it. */
static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols && t->cells != NULL; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

/* Print the table, two blanks between columns and none at the end of a line, and free
 * it. Returns 0, or -1 if a row could not be stored (nothing is printed then). */
static int table_end(FILE *out, struct table *t)
{
    size_t width[TABLE_COLS] = {0};

    if (t->nomem) {
        table_free(t);
        return -1;
    }
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t c = 0; c < t->ncols; c++) {
            size_t w = text_width(t->cells[r * t->ncols + c]);
            width[c] = w > width[c] ? w : width[c];
        }
    for (size_t r = 0; r < t->nrows; r++) {
        const char *const *row = (const char *const *)&t->cells[r * t->ncols];
        size_t last = t->ncols;
        while (last > 1 && row[last - 1][0] == '\0' && !t->right[last - 1])
            last--;
        fputs(t->indent, out);
        for (size_t c = 0; c < last; c++) {
            int pad = (int)(width[c] - text_width(row[c]));
            if (t->right[c])
                fprintf(out, "%*s%s", pad, "", row[c]);
            else if (c + 1 < last)
                fprintf(out, "%s%*s", row[c], pad, "");
            else
                fputs(row[c], out);
            fputs(c + 1 < last ? "  " : "\n", out);
        }
    }
    table_free(t);
    return 0;
}

/* ---- an operation (status, report) ------------------------------------------------ */

/* The operation's header, its steps and its error. now_ms != 0 adds "ago" to the start
 * (status: it is running now); 0 prints absolute times only (report: a record). */
static int render_operation(FILE *out, const json_t *op, uint64_t now_ms)
{
    const json_t *started = json_object_get(op, "started_ms");
    struct table t;
    size_t i;
    json_t *st;
    char buf[48]; /* one time at a time: each is printed before the next */

    fprintf(out, "operation %s: %s %s -> %s, epoch %lld, %s\n", jstr(op, "id"), jstr(op, "kind"),
            jstr(op, "from"), jstr(op, "to"), jint(op, "epoch"), jstr(op, "state"));
    fprintf(out, "  by %s%s, started %s", jstr(op, "requested_by"),
            json_is_true(json_object_get(op, "force")) ? " (--force)" : "",
            fmt_utc(started, buf, sizeof(buf)));
    if (now_ms != 0)
        fprintf(out, " (%s)", fmt_rel(started, now_ms, buf, sizeof(buf)));
    if (jhas_int(op, "ended_ms"))
        fprintf(out, ", ended %s", fmt_utc(json_object_get(op, "ended_ms"), buf, sizeof(buf)));
    fprintf(out, "\n  why: %s\n", jstr(op, "reason"));
    if (json_is_string(json_object_get(op, "error")))
        fprintf(out, "  error: %s\n", jstr(op, "error"));
    table_begin(&t, "  ", 8, ">#", "STEP", "ACTION", "STATE", ">AT", ">ATTEMPTS", ">DURATION_MS",
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
        table_row(&t, n, jstr(st, "name"), jstr(st, "action"), jstr(st, "state"), at, att, dur,
                  jtext(st, "error"));
    }
    return table_end(out, &t);
}

/* ---- status ----------------------------------------------------------------------- */

static void render_mode(FILE *out, const json_t *doc, uint64_t now_ms)
{
    const json_t *md = json_object_get(doc, "mode_detail");
    const json_t *since = json_object_get(md, "since_ms");

    fprintf(out, "mode      %s", jstr(doc, "mode"));
    if (json_is_string(json_object_get(md, "by"))) {
        char when[32], rel[48];
        fprintf(out, " (by %s, since %s, %s)", jstr(md, "by"), fmt_utc(since, when, sizeof(when)),
                fmt_rel(since, now_ms, rel, sizeof(rel)));
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
                fmt_bytes(json_object_get(l, "lag_bytes"), b, sizeof(b)), ms);
    }
    fputc('\n', out);
}

static int render_nodes(FILE *out, const json_t *doc)
{
    struct table t;
    size_t i;
    json_t *n;

    table_begin(&t, "", 6, "NODE", "REGION", "ROLE", "REACHABLE", "RAFT", "ADMIN");
    json_array_foreach(json_object_get(doc, "nodes"), i, n)
    {
        table_row(&t, jstr(n, "name"), jstr(n, "region"), jstr(n, "role"), jyesno(n, "reachable"),
                  jstr(n, "raft"), jstr(n, "admin"));
    }
    return table_end(out, &t);
}

static int render_checks(FILE *out, const json_t *doc)
{
    struct table t;
    size_t i;
    json_t *c;

    if (json_array_size(json_object_get(doc, "checks")) == 0)
        return 0;
    fprintf(out, "\nchecks, as %s sees them:\n", jstr(doc, "node"));
    table_begin(&t, "", 6, "CHECK", "REGION", "STATUS", "CRITICAL", ">LATENCY", "DETAIL");
    json_array_foreach(json_object_get(doc, "checks"), i, c)
    {
        const json_t *lat = json_object_get(c, "latency_ms");
        char ms[32] = "-";
        if (json_is_number(lat))
            snprintf(ms, sizeof(ms), "%.1f ms", json_number_value(lat));
        table_row(&t, jstr(c, "name"), jstr(c, "region"), jstr(c, "status"), jyesno(c, "critical"),
                  ms, jstr(c, "detail"));
    }
    return table_end(out, &t);
}

static int render_verdicts(FILE *out, const json_t *doc, uint64_t now_ms)
{
    struct table t;
    size_t i;
    json_t *v;

    if (json_array_size(json_object_get(doc, "verdicts")) == 0)
        return 0;
    fprintf(out, "\nverdicts, committed:\n");
    table_begin(&t, "", 5, "OBSERVER", "REGION", "STATUS", "SINCE", "REASON");
    json_array_foreach(json_object_get(doc, "verdicts"), i, v)
    {
        char rel[48];
        table_row(&t, jstr(v, "observer"), jstr(v, "region"), jstr(v, "status"),
                  fmt_rel(json_object_get(v, "since_ms"), now_ms, rel, sizeof(rel)),
                  jtext(v, "reason"));
    }
    return table_end(out, &t);
}

static int render_status(FILE *out, const json_t *doc, uint64_t now_ms)
{
    const json_t *dec = json_object_get(doc, "decision");
    const json_t *op = json_object_get(doc, "operation");
    const json_t *cool = json_object_get(doc, "cooldown_until_ms");
    size_t i;
    json_t *w;
    int rc = 0;

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
                fmt_utc(cool, when, sizeof(when)), fmt_rel(cool, now_ms, rel, sizeof(rel)));
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

static int render_history(FILE *out, const json_t *doc)
{
    struct table t;
    size_t i;
    json_t *op, *ev;
    int rc;

    table_begin(&t, "", 9, "OPERATION", "KIND", "FROM -> TO", ">EPOCH", "RESULT", "STARTED",
                ">TOOK", "BY", "ERROR");
    json_array_foreach(json_object_get(doc, "operations"), i, op)
    {
        char route[160], epoch[24], when[32], took[32] = "-";
        snprintf(route, sizeof(route), "%s -> %s", jstr(op, "from"), jstr(op, "to"));
        snprintf(epoch, sizeof(epoch), "%lld", jint(op, "epoch"));
        if (jhas_int(op, "started_ms") && jhas_int(op, "ended_ms") &&
            jint(op, "ended_ms") >= jint(op, "started_ms"))
            fmt_span((uint64_t)(jint(op, "ended_ms") - jint(op, "started_ms")), took, sizeof(took));
        table_row(&t, jstr(op, "id"), jstr(op, "kind"), route, epoch, jstr(op, "state"),
                  fmt_utc(json_object_get(op, "started_ms"), when, sizeof(when)), took,
                  jstr(op, "requested_by"), jtext(op, "error"));
    }
    if (json_array_size(json_object_get(doc, "operations")) == 0) {
        table_free(&t); /* a heading alone says nothing */
        fprintf(out, "(no finished operation)\n");
        rc = 0;
    } else {
        rc = table_end(out, &t);
    }
    fputc('\n', out);
    table_begin(&t, "", 4, "EVENT AT", "WHAT", "BY", "TEXT");
    json_array_foreach(json_object_get(doc, "events"), i, ev)
    {
        char when[32];
        table_row(&t, fmt_utc(json_object_get(ev, "at_ms"), when, sizeof(when)), jstr(ev, "what"),
                  jstr(ev, "by"), jtext(ev, "text"));
    }
    if (json_array_size(json_object_get(doc, "events")) == 0) {
        table_free(&t);
        fprintf(out, "(no event)\n");
        return rc;
    }
    return rc | table_end(out, &t);
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

static int render_report(FILE *out, const json_t *doc)
{
    const json_t *op = json_object_get(doc, "operation");
    const json_t *rto = json_object_get(doc, "rto_ms");
    double target = (double)jint(doc, "rto_target_ms") / 1000.0;
    int rc = render_operation(out, op, 0);

    if (json_is_string(json_object_get(doc, "timeline")))
        render_timeline(out, jstr(doc, "timeline"));
    if (!json_is_integer(rto)) {
        fprintf(out, "\nRTO: the operation has not finished\n");
    } else if (strcmp(jstr(op, "kind"), "drill") == 0) {
        fprintf(out, "\ndrill %s in %.1f s (RTO target %.0f s); check mode: nothing was changed\n",
                strcmp(jstr(op, "state"), "succeeded") == 0 ? "passed" : "FAILED",
                (double)json_integer_value(rto) / 1000.0, target);
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
    if (json_is_false(json_object_get(m, "voter")))
        return "non-voter";
    return "follower";
}

static int render_members(FILE *out, const json_t *doc)
{
    struct table t;
    size_t i;
    json_t *m;
    int rc;

    table_begin(&t, "", 6, "NAME", "REGION", "RAFT", "ROLE", "REACHABLE", ">APPLIED");
    json_array_foreach(json_object_get(doc, "members"), i, m)
    {
        char applied[24] = "?";
        if (jhas_int(m, "applied"))
            snprintf(applied, sizeof(applied), "%lld", jint(m, "applied"));
        table_row(&t, jstr(m, "name"), jstr(m, "region"), jstr(m, "raft"), member_role(m),
                  jyesno(m, "reachable"), applied);
    }
    rc = table_end(out, &t);
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
    }
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

static int render_dry_run(FILE *out, const char *verb, const json_t *doc)
{
    const json_t *dec = json_object_get(doc, "decision");
    const char *kind = json_is_string(json_object_get(doc, "kind")) ? jstr(doc, "kind") : verb;
    struct table t;
    size_t i;
    json_t *st;

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
    table_begin(&t, "  ", 7, ">#", "STEP", "ACTION", "TARGET", ">TIMEOUT", ">ATTEMPTS",
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
        table_row(&t, n, jstr(st, "name"), jstr(st, "action"), target,
                  timeout_text(jint(st, "timeout_ms"), to, sizeof(to)), att,
                  jstr(st, "on_failure"));
    }
    if (table_end(out, &t) != 0)
        return -1;
    fprintf(out, "\nnothing was changed (--dry-run)\n");
    return 0;
}

/* ---- entry points ----------------------------------------------------------------- */

static const char *const table_verbs[] = {"status",  "history",  "report",
                                          "members", "failover", "switchover"};

bool fo_ctl_render_has_table(const char *verb)
{
    for (size_t i = 0; verb != NULL && i < sizeof(table_verbs) / sizeof(table_verbs[0]); i++)
        if (strcmp(verb, table_verbs[i]) == 0)
            return true;
    return false;
}

int fo_ctl_render_table(FILE *out, const char *verb, const json_t *body, uint64_t now_ms,
                        struct fo_error *err)
{
    int rc;

    if (!fo_ctl_render_has_table(verb)) {
        fo_error_set(err, FO_CTL_RENDER_EVERB, "no table for '%s'", verb != NULL ? verb : "");
        return -1;
    }
    if (!json_is_object(body)) {
        fo_error_set(err, FO_CTL_RENDER_EBODY, "%s: the reply body is not a JSON object", verb);
        return -1;
    }
    if (strcmp(verb, "status") == 0)
        rc = render_status(out, body, now_ms);
    else if (strcmp(verb, "history") == 0)
        rc = render_history(out, body);
    else if (strcmp(verb, "report") == 0)
        rc = render_report(out, body);
    else if (strcmp(verb, "members") == 0)
        rc = render_members(out, body);
    else
        rc = render_dry_run(out, verb, body);
    if (rc != 0) {
        fo_error_set(err, FO_CTL_RENDER_ENOMEM, "%s: out of memory", verb);
        return -1;
    }
    if (fflush(out) != 0 || ferror(out)) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "%s: writing the output failed", verb);
        return -1;
    }
    return 0;
}

int fo_ctl_render_json(FILE *out, const json_t *body, struct fo_error *err)
{
    if (json_dumpf(body, out, JSON_INDENT(2) | JSON_REAL_PRECISION(10) | JSON_ENCODE_ANY) != 0) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "writing the JSON output failed");
        return -1;
    }
    if (fputc('\n', out) == EOF || fflush(out) != 0) {
        fo_error_set(err, FO_CTL_RENDER_EIO, "writing the JSON output failed");
        return -1;
    }
    return 0;
}

int fo_ctl_render_message(FILE *out, const char *message, bool json, struct fo_error *err)
{
    json_t *doc; /* ours: freed below */
    int rc;

    if (!json) {
        if (fprintf(out, "%s\n", message != NULL ? message : "ok") < 0 || fflush(out) != 0) {
            fo_error_set(err, FO_CTL_RENDER_EIO, "writing the output failed");
            return -1;
        }
        return 0;
    }
    doc = json_pack("{s:s, s:s?}", "result", "ok", "message", message);
    if (doc == NULL) {
        fo_error_set(err, FO_CTL_RENDER_ENOMEM, "out of memory");
        return -1;
    }
    rc = fo_ctl_render_json(out, doc, err);
    json_decref(doc);
    return rc;
}
