/*
 * proto/error.c — see error.h.
 */
#include "proto/error.h"

#include <stdarg.h>
#include <stdio.h>

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
