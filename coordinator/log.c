/*
 * coordinator/log.c — see log.h.
 */
#include "coordinator/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Process-wide logger settings (see log.h for why these two are not in a context). */
static char log_node[65];
static enum fo_log_level log_min = FO_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void fo_log_setup(const char *node, enum fo_log_level min)
{
    snprintf(log_node, sizeof(log_node), "%s", node != NULL ? node : "");
    log_min = min;
}

int fo_log_level_parse(const char *s)
{
    for (int i = 0; i <= FO_LOG_ERROR; i++)
        if (strcmp(s, level_names[i]) == 0)
            return i;
    return -1;
}

void fo_log(enum fo_log_level level, const char *event, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int k;
    va_list ap;

    if (level < log_min)
        return;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "ts=%Y-%m-%dT%H:%M:%S", &tm);
    k = snprintf(line + n, sizeof(line) - n, ".%03ldZ level=%s%s%s event=%s ",
                 (long)(tv.tv_usec / 1000), level_names[level], log_node[0] ? " node=" : "",
                 log_node, event);
    if (k > 0 && (size_t)k < sizeof(line) - n)
        n += (size_t)k;
    va_start(ap, fmt);
    k = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
    va_end(ap);
    if (k > 0)
        n += (size_t)k < sizeof(line) - n ? (size_t)k : sizeof(line) - n - 1;
    /* One entry, one line, whatever the values held. */
    for (size_t i = 0; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    /* A single write keeps lines whole when threads log at once. */
    if (write(STDERR_FILENO, line, n) < 0)
        return;
}
