/*
 * actions/secret.h — secrets read from files (DESIGN §9, §10), and comparing them.
 *
 * A secret file holds one value; a trailing newline (as `echo` writes) is dropped.
 * Files larger than the caller's buffer are refused rather than truncated, and an
 * empty secret is an error: an empty token would authenticate an empty header.
 * Error messages name the file, never its content.
 */
#ifndef FO_ACTIONS_SECRET_H
#define FO_ACTIONS_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "proto/error.h"

/* Read path into buf (NUL-terminated, at most cap - 1 bytes). Returns 0 or non-zero
 * with err set. */
int fo_secret_read_file(const char *path, char *buf, size_t cap, struct fo_error *err);

/* Compare a presented token with the expected one in time independent of where they
 * differ and of their lengths (both are hashed first). NULL or empty never matches. */
bool fo_secret_equal(const char *presented, const char *expected);

/* Overwrite a secret before its memory is released. */
void fo_secret_wipe(char *buf, size_t cap);

#endif
