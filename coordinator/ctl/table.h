/*
 * coordinator/ctl/table.h — what failoverctl's table renderers (output_table.c) share:
 * reading a reply body that may lack keys, times and sizes for people, and tables sized
 * to their content (a long operation id or region name widens its column instead of
 * shifting every column after it). Internal to fo_ctl_render.
 *
 * Pure: no clock is read (now_ms comes from the caller); any thread, one table per
 * caller.
 */
#ifndef FO_COORDINATOR_CTL_TABLE_H
#define FO_COORDINATOR_CTL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

/* ---- reading the body: a key that is missing or of another type is "-" (or "") ---- */
/* A string member, or "-" when missing or not a string. */
static inline const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "-";
}

/* A string member, or "" (for free-text columns that are usually empty). */
static inline const char *jtext(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "";
}

static inline long long jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static inline bool jhas_int(const json_t *o, const char *key)
{
    return json_is_integer(json_object_get(o, key));
}

/* "yes", "no", or "?" when the answering node cannot know (null or missing). */
static inline const char *jyesno(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "?";
}

/* ---- times and sizes: each writes into out (cap bytes) and returns it ------------- */

/* Unix ms as "2026-11-23T19:03:58Z" (ISO 8601), or "-". */
const char *fo_fmt_utc(const json_t *v, char *out, size_t cap);

/* A span of ms for people: "0.4s", "35s", "3m05s", "2h03m", "3d04h". */
const char *fo_fmt_span(uint64_t ms, char *out, size_t cap);

/* The instant v (Unix ms) relative to now_ms: "35s ago", "in 55s", or "-". */
const char *fo_fmt_rel(const json_t *v, uint64_t now_ms, char *out, size_t cap);

/* A replication lag: "0 B", "12.3 KiB", "16.0 MiB", or "unknown". */
const char *fo_fmt_bytes(const json_t *v, char *out, size_t cap);

/* ---- tables ------------------------------------------------------------------------ */

#define FO_TABLE_COLS 10

struct fo_table {
    const char *indent;
    size_t ncols;
    bool right[FO_TABLE_COLS]; /* right-aligned (counts) */
    char **cells;              /* owned by the table: nrows * ncols copies; freed by _end/_free */
    size_t nrows, cap;         /* rows, the heading included */
    bool nomem;
};

/* Start a table; the varargs are its ncols headings, a leading '>' right-aligns one. */
void fo_table_begin(struct fo_table *t, const char *indent, size_t ncols, ...);

/* Add one row of t->ncols cells (const char *, copied; NULL is ""). */
void fo_table_row(struct fo_table *t, ...);

/* Print the table, two blanks between columns and none at the end of a line, and free
 * it. Returns 0, or -1 if a row could not be stored (nothing is printed then). */
int fo_table_end(FILE *out, struct fo_table *t);

/* Free the table's cells without printing it. */
void fo_table_free(struct fo_table *t);

#endif
