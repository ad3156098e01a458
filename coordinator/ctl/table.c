/*
 * coordinator/ctl/table.c — see table.h.
 */
#include "coordinator/ctl/table.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- times and sizes -------------------------------------------------------------- */

/* Unix ms as "2026-11-23T19:03:58Z" (ISO 8601), or "-". */
const char *fo_fmt_utc(const json_t *v, char *out, size_t cap)
{
    time_t secs;
    struct tm tm;

    if (!json_is_integer(v) || json_integer_value(v) <= 0) {
        snprintf(out, cap, "-");
        return out;
    }
    secs = (time_t)(json_integer_value(v) / 1000);
    if (gmtime_r(&secs, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "-");
    return out;
}

/* A span of ms for people: "0.4s", "35s", "3m05s", "2h03m", "3d04h". */
const char *fo_fmt_span(uint64_t ms, char *out, size_t cap)
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
const char *fo_fmt_rel(const json_t *v, uint64_t now_ms, char *out, size_t cap)
{
    char span[32];
    uint64_t at;

    if (!json_is_integer(v) || json_integer_value(v) <= 0 || now_ms == 0) {
        snprintf(out, cap, "-");
        return out;
    }
    at = (uint64_t)json_integer_value(v);
    if (at <= now_ms)
        snprintf(out, cap, "%s ago", fo_fmt_span(now_ms - at, span, sizeof(span)));
    else
        snprintf(out, cap, "in %s", fo_fmt_span(at - now_ms, span, sizeof(span)));
    return out;
}

/* A replication lag: "0 B", "12.3 KiB", "16.0 MiB", or "unknown". */
const char *fo_fmt_bytes(const json_t *v, char *out, size_t cap)
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

/* Display width of UTF-8 text: one column per code point (no wide characters here). */
static size_t text_width(const char *s)
{
    size_t w = 0;
    for (; *s != '\0'; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

/* Add one row of t->ncols cells (copied). */
void fo_table_row(struct fo_table *t, ...)
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
void fo_table_begin(struct fo_table *t, const char *indent, size_t ncols, ...)
{
    const char *h[FO_TABLE_COLS];
    va_list ap;

    memset(t, 0, sizeof(*t));
    t->indent = indent;
    t->ncols = ncols < FO_TABLE_COLS ? ncols : FO_TABLE_COLS;
    va_start(ap, ncols);
    for (size_t c = 0; c < t->ncols; c++) {
        h[c] = va_arg(ap, const char *);
        t->right[c] = h[c][0] == '>';
        h[c] += t->right[c];
    }
    va_end(ap);
    for (size_t c = t->ncols; c < FO_TABLE_COLS; c++)
        h[c] = "";
    fo_table_row(t, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], h[8], h[9]);
}

/* Free the table's cells without printing it. */
void fo_table_free(struct fo_table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols && t->cells != NULL; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
}

/* Print the table, two blanks between columns and none at the end of a line, and free
 * it. Returns 0, or -1 if a row could not be stored (nothing is printed then). */
int fo_table_end(FILE *out, struct fo_table *t)
{
    size_t width[FO_TABLE_COLS] = {0};

    if (t->nomem) {
        fo_table_free(t);
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
    fo_table_free(t);
    return 0;
}
