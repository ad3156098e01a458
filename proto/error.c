/*
 * proto/error.c — see error.h.
 */
#include "proto/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int fo_error_set(struct fo_error *err, int code, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *fo_error_quote(const char *p, size_t n, char *out, size_t cap)
{
    size_t i, k = 0;
    for (i = 0; i < n && k < cap - 8; i++)
        out[k++] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'') ? p[i] : '?';
    if (i < n) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
    return out;
}
