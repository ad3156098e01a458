/*
 * proto/error.h — the error value used above the wire layer (config, consensus,
 * actions, coordinator). Errors are values with messages: a function that can fail
 * takes a struct fo_error * (may be NULL), fills it and returns non-zero; the caller
 * that handles the error logs it, once.
 *
 * It lives in proto/ only because proto/ is the one module every other depends on.
 */
#ifndef FO_PROTO_ERROR_H
#define FO_PROTO_ERROR_H

#include <stddef.h>

struct fo_error {
    int code; /* module-specific, non-zero on error */
    char msg[512];
};

/* Fill err (if not NULL) with code and a printf-style message; returns code. */
int fo_error_set(struct fo_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy untrusted text p[0..n) into out for an error message: printable ASCII only
 * (anything else, and quotes, become '?'), at most cap - 8 bytes of it, then "..." if it
 * was longer. Returns out. cap must be at least 9. */
const char *fo_error_quote(const char *p, size_t n, char *out, size_t cap);

#endif
