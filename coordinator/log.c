/*
 * coordinator/log.c — see log.h.
 *
 * The caller's format is walked here, conversion by conversion, instead of handed to
 * vsnprintf whole: only so can a %s argument be escaped according to where it stands
 * (log.h). Every other conversion is printed by snprintf with its own specification.
 */
#include "coordinator/log.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

/* Process-wide logger settings (see log.h for why these are not in a context). */
static char log_node[65];
static enum fo_log_level log_min = FO_LOG_INFO;
static enum fo_log_format log_format = FO_LOG_TEXT;
static bool log_journal;

/* One table per level: its name and its syslog priority (sd-daemon.h SD_DEBUG ... SD_ERR). */
static const struct {
    const char *name, *prefix;
} levels[] = {
    [FO_LOG_DEBUG] = {"debug", "<7>"},
    [FO_LOG_INFO] = {"info", "<6>"},
    [FO_LOG_WARN] = {"warn", "<4>"},
    [FO_LOG_ERROR] = {"error", "<3>"},
};
static const char *const format_names[] = {[FO_LOG_TEXT] = "text", [FO_LOG_JSON] = "json"};

/* Room kept at the end of a line for a closing quote and " truncated=true". */
#define TAIL_RESERVE 24

void fo_log_setup(const char *node, enum fo_log_level min)
{
    snprintf(log_node, sizeof(log_node), "%s", node != NULL ? node : "");
    log_min = min;
    log_journal = fo_log_journal_detect();
}

int fo_log_level_parse(const char *s)
{
    for (int i = 0; i <= FO_LOG_ERROR; i++)
        if (strcmp(s, levels[i].name) == 0)
            return i;
    return -1;
}

int fo_log_format_parse(const char *s)
{
    for (int i = 0; i <= FO_LOG_JSON; i++)
        if (strcmp(s, format_names[i]) == 0)
            return i;
    return -1;
}

void fo_log_set_format(enum fo_log_format format)
{
    log_format = format;
}

void fo_log_set_journal(bool on)
{
    log_journal = on;
}

bool fo_log_journal_detect(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    /* systemd.exec(5): "device:inode" of the stream; compare it with stderr's, since a
     * child whose stderr was redirected inherits the variable. */
    if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* ---- the line buffer ---------------------------------------------------------------- */

struct sink {
    char buf[FO_LOG_LINE_MAX];
    size_t n;
    bool cut;    /* something did not fit */
    bool quoted; /* an opening quote was written and not yet closed */
};

/* Append s[0..len) whole or not at all (an escape is never split). */
static bool put(struct sink *k, const char *s, size_t len)
{
    if (k->cut || len > sizeof(k->buf) - TAIL_RESERVE - k->n) {
        k->cut = true;
        return false;
    }
    memcpy(k->buf + k->n, s, len);
    k->n += len;
    return true;
}

static void put_quote(struct sink *k)
{
    if (put(k, "\"", 1))
        k->quoted = !k->quoted;
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates and beyond U+10FFFF are not UTF-8 */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

enum esc { ESC_BYTES, ESC_QUOTED };

/* Append v[0..len): control and non-UTF-8 bytes as \xNN; with ESC_QUOTED also \" \\ and
 * \n \r \t by name. */
static void put_escaped(struct sink *k, const char *v, size_t len, enum esc how)
{
    const unsigned char *s = (const unsigned char *)v;
    size_t i = 0;

    while (i < len && !k->cut) {
        size_t u = utf8_len(s + i, len - i);
        char e[8];

        if (how == ESC_QUOTED && (s[i] == '"' || s[i] == '\\')) {
            e[0] = '\\', e[1] = (char)s[i];
            put(k, e, 2);
        } else if (how == ESC_QUOTED && (s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) {
            e[0] = '\\', e[1] = s[i] == '\n' ? 'n' : s[i] == '\r' ? 'r' : 't';
            put(k, e, 2);
        } else if (u == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            snprintf(e, sizeof(e), "\\x%02x", s[i]);
            put(k, e, 4);
            u = 1;
        } else {
            put(k, v + i, u);
        }
        i += u;
    }
}

/* A whole bare value: as is when it is safe, else quoted (log.h). */
static void put_bare_value(struct sink *k, const char *v, size_t len)
{
    bool safe = len > 0;

    for (size_t i = 0; i < len && safe; i++) {
        unsigned char c = (unsigned char)v[i];
        safe = c > 0x20 && c != 0x7f && c != '"' && c != '=' && c != '\\' && c < 0x80;
    }
    if (safe) {
        put(k, v, len);
        return;
    }
    put_quote(k);
    put_escaped(k, v, len, ESC_QUOTED);
    put_quote(k);
}

/* ---- the caller's format ------------------------------------------------------------ */

/* Print one non-string conversion: spec is its text ("%llu", "%5.2f"; '*' already
 * replaced by numbers), conv its letter, len its length modifier. */
#define SPEC_MAX 48
static void put_number(struct sink *k, const char *spec, char conv, const char *len, va_list *ap)
{
    char out[128];
    int w = -1;
    bool ll = strcmp(len, "ll") == 0, l = strcmp(len, "l") == 0, z = strcmp(len, "z") == 0,
         j = strcmp(len, "j") == 0, t = strcmp(len, "t") == 0, L = strcmp(len, "L") == 0;

    switch (conv) {
    case 'd':
    case 'i':
        w = ll  ? snprintf(out, sizeof(out), spec, va_arg(*ap, long long))
            : l ? snprintf(out, sizeof(out), spec, va_arg(*ap, long))
            : z ? snprintf(out, sizeof(out), spec, va_arg(*ap, ssize_t))
            : j ? snprintf(out, sizeof(out), spec, va_arg(*ap, intmax_t))
            : t ? snprintf(out, sizeof(out), spec, va_arg(*ap, ptrdiff_t))
                : snprintf(out, sizeof(out), spec, va_arg(*ap, int));
        break;
    case 'u':
    case 'x':
    case 'X':
    case 'o':
        w = ll  ? snprintf(out, sizeof(out), spec, va_arg(*ap, unsigned long long))
            : l ? snprintf(out, sizeof(out), spec, va_arg(*ap, unsigned long))
            : z ? snprintf(out, sizeof(out), spec, va_arg(*ap, size_t))
            : j ? snprintf(out, sizeof(out), spec, va_arg(*ap, uintmax_t))
            : t ? snprintf(out, sizeof(out), spec, va_arg(*ap, ptrdiff_t))
                : snprintf(out, sizeof(out), spec, va_arg(*ap, unsigned));
        break;
    case 'c':
        w = snprintf(out, sizeof(out), spec, va_arg(*ap, int));
        break;
    case 'p':
        w = snprintf(out, sizeof(out), spec, va_arg(*ap, void *));
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        w = L ? snprintf(out, sizeof(out), spec, va_arg(*ap, long double))
              : snprintf(out, sizeof(out), spec, va_arg(*ap, double));
        break;
    case 'n':
        (void)va_arg(*ap, void *); /* never written to: a log line counts nothing */
        return;
    default:
        return;
    }
    if (w > 0)
        /* a number holds no quote or control byte, but a %c may */
        put_escaped(k, out, (size_t)w < sizeof(out) ? (size_t)w : sizeof(out) - 1, ESC_BYTES);
}

static void walk_format(struct sink *k, const char *fmt, va_list *ap)
{
    const char *p = fmt;

    while (*p != '\0' && !k->cut) {
        char spec[SPEC_MAX], len[3] = "";
        size_t sn = 0;
        int prec = -1;
        bool after_eq;

        if (*p != '%') {
            /* The code's own text: its quotes open and close quoted values. */
            if (*p == '"')
                put_quote(k);
            else
                put_escaped(k, p, 1, ESC_BYTES);
            p++;
            continue;
        }
        after_eq = p > fmt && p[-1] == '=';
        spec[sn++] = *p++;
        if (*p == '%') {
            put(k, "%", 1);
            p++;
            continue;
        }
        /* flags, width, precision: '*' becomes the argument's number */
        while (*p != '\0' && strchr("-+ #0123456789.*", *p) != NULL && sn < SPEC_MAX - 16) {
            if (*p == '*') {
                int v = va_arg(*ap, int);
                if (p[-1] == '.')
                    prec = v;
                sn += (size_t)snprintf(spec + sn, SPEC_MAX - sn, "%d", v);
            } else {
                if (*p == '.')
                    prec = atoi(p + 1);
                spec[sn++] = *p;
            }
            p++;
        }
        for (size_t i = 0; i < 2 && *p != '\0' && strchr("hlLjzt", *p) != NULL; i++, p++) {
            len[i] = *p;
            spec[sn++] = *p;
        }
        if (*p == '\0')
            break;
        spec[sn++] = *p;
        spec[sn] = '\0';
        if (*p == 's') {
            const char *v = va_arg(*ap, const char *);
            size_t n;
            if (v == NULL)
                v = "(null)";
            n = prec >= 0 ? strnlen(v, (size_t)prec) : strlen(v);
            if (k->quoted)
                put_escaped(k, v, n, ESC_QUOTED);
            else if (after_eq && (p[1] == ' ' || p[1] == '\0'))
                put_bare_value(k, v, n);
            else
                put_escaped(k, v, n, ESC_BYTES);
        } else {
            put_number(k, spec, *p, len, ap);
        }
        p++;
    }
}

/* ---- JSON --------------------------------------------------------------------------- */

/* Read one logfmt value at *pp into out, unescaped: \" \\ \n \r \t, and \xNN of a
 * control byte (JSON escapes it again, as \u00NN). \xNN of a byte that is not UTF-8
 * stays as text: a JSON string cannot hold it. */
static void read_value(const char **pp, char *out, size_t cap)
{
    const char *p = *pp;
    size_t n = 0;

    if (*p == '"') {
        for (p++; *p != '\0' && *p != '"'; p++) {
            char c = *p;
            unsigned byte;
            if (c == '\\' && p[1] != '\0' && strchr("\"\\nrt", p[1]) != NULL) {
                p++;
                c = *p == 'n' ? '\n' : *p == 'r' ? '\r' : *p == 't' ? '\t' : *p;
            } else if (c == '\\' && p[1] == 'x' && strspn(p + 2, "0123456789abcdef") >= 2 &&
                       sscanf(p + 2, "%2x", &byte) == 1 && byte < 0x80 && byte > 0) {
                p += 3;
                c = (char)byte;
            }
            if (n + 1 < cap)
                out[n++] = c;
        }
        if (*p == '"')
            p++;
    } else {
        for (; *p != '\0' && *p != ' '; p++)
            if (n + 1 < cap)
                out[n++] = *p;
    }
    out[n] = '\0';
    *pp = p;
}

/* The pairs of body (escaped logfmt, from walk_format) into obj. */
static void pairs_to_json(json_t *obj, const char *body)
{
    char key[80], val[FO_LOG_LINE_MAX], msg[FO_LOG_LINE_MAX] = "";
    const char *p = body;

    while (*p != '\0') {
        size_t kn = 0;
        const char *start;

        while (*p == ' ')
            p++;
        start = p;
        while (*p != '\0' && *p != '=' && *p != ' ' && *p != '"' && kn + 2 < sizeof(key))
            key[kn++] = *p++;
        key[kn] = '\0';
        if (*p == '=' && kn > 0) {
            p++;
            read_value(&p, val, sizeof(val));
            if (json_object_get(obj, key) != NULL)
                strcat(key, "_"); /* ts, level, node, event are the line's own */
            json_object_set_new(obj, key, json_string(val));
        } else if (*p != '\0' || p > start) {
            /* not a pair: a word (or a quoted text) for "msg" */
            size_t m = strlen(msg), vl;
            p = start;
            read_value(&p, val, sizeof(val));
            /* msg holds at most the body's words, so nothing is cut (the bounds stay) */
            if (m > 0 && m + 1 < sizeof(msg))
                msg[m++] = ' ';
            vl = strlen(val) < sizeof(msg) - 1 - m ? strlen(val) : sizeof(msg) - 1 - m;
            memcpy(msg + m, val, vl);
            msg[m + vl] = '\0';
        }
    }
    if (msg[0] != '\0')
        json_object_set_new(obj, "msg", json_string(msg));
}

/* ---- a line ------------------------------------------------------------------------- */

static char *render(enum fo_log_level level, const char *event, const char *fmt, va_list *ap)
{
    struct sink *k = malloc(sizeof(*k));
    char ts[40], *line = NULL;
    const char *prefix = log_journal ? levels[level].prefix : "";
    struct timeval tv;
    struct tm tm;
    size_t n;

    if (k == NULL)
        return NULL;
    k->n = 0, k->cut = false, k->quoted = false;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, sizeof(ts) - n, ".%03ldZ", (long)(tv.tv_usec / 1000));

    walk_format(k, fmt, ap);
    if (k->cut) {
        /* into the TAIL_RESERVE that put() never fills */
        const char *tail = k->quoted ? "\" truncated=true" : " truncated=true";
        memcpy(k->buf + k->n, tail, strlen(tail));
        k->n += strlen(tail);
    }
    k->buf[k->n] = '\0';

    if (log_format == FO_LOG_JSON) {
        json_t *o = json_object();
        char *s;
        if (o == NULL) {
            free(k);
            return NULL;
        }
        json_object_set_new(o, "ts", json_string(ts));
        json_object_set_new(o, "level", json_string(levels[level].name));
        if (log_node[0] != '\0')
            json_object_set_new(o, "node", json_string(log_node));
        json_object_set_new(o, "event", json_string(event));
        pairs_to_json(o, k->buf);
        /* ASCII only: whatever reads the journal or the file gets no raw UTF-8 */
        s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        json_decref(o);
        if (s != NULL && asprintf(&line, "%s%s\n", prefix, s) < 0)
            line = NULL;
        free(s);
    } else {
        struct sink ev = {.n = 0};
        /* the event name is the code's, but escape it as a bare value all the same */
        put_bare_value(&ev, event, strlen(event));
        ev.buf[ev.n] = '\0';
        if (asprintf(&line, "%sts=%s level=%s%s%s event=%s%s%s\n", prefix, ts, levels[level].name,
                     log_node[0] ? " node=" : "", log_node, ev.buf, k->n > 0 ? " " : "",
                     k->buf) < 0)
            line = NULL;
    }
    free(k);
    return line;
}

char *fo_log_render(enum fo_log_level level, const char *event, const char *fmt, ...)
{
    va_list ap;
    char *line;

    va_start(ap, fmt);
    line = render(level, event, fmt, &ap);
    va_end(ap);
    return line;
}

void fo_log(enum fo_log_level level, const char *event, const char *fmt, ...)
{
    va_list ap;
    char *line;

    if (level < log_min)
        return;
    va_start(ap, fmt);
    line = render(level, event, fmt, &ap);
    va_end(ap);
    if (line == NULL) {
        static const char oom[] = "level=error event=log.oom\n";
        if (write(STDERR_FILENO, oom, sizeof(oom) - 1) < 0)
            return;
        return;
    }
    /* A single write keeps lines whole when threads log at once. */
    if (write(STDERR_FILENO, line, strlen(line)) < 0) {
        free(line);
        return;
    }
    free(line);
}
