/*
 * coordinator/serve/tokens.h — operators by name (issue 14): who a bearer token is, and
 * what it may do. The admin port (admin_server.h) and the HTTP API (http_auth.h) ask here.
 *
 * The tokens file (admin.tokens_file) has one operator a line, fields separated by spaces
 * or tabs; '#' starts a comment line, blank lines are skipped:
 *
 *   # name   role     token
 *   alice    admin    sha256:2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b
 *   grafana  read     sha256:...
 *   bob      operate  a-plain-token-also-works
 *
 * name: 1 to FO_NAME_MAX letters, digits, '.', '_', '-', '@', unique; it is what the audit
 * trail (history, the log) records for everything the token does. role: read, operate or
 * admin (proto/admin.h; "node" is not an operator's). token: "sha256:" and the 64 hex
 * digits of the SHA-256 of the token (`printf %s "$TOKEN" | sha256sum`), so that the file
 * holds no secret, or the token itself (hashed at load; the text is wiped). Two lines with
 * the same token are refused: the token would not say who it is.
 *
 * Only hashes are kept. A presented token is hashed once and compared with every entry
 * with CRYPTO_memcmp, all of them always, so the time taken depends neither on how close
 * a guess is nor on which entry matched.
 *
 * The shim for configs without a tokens file: admin.token_file and admin.read_token_file
 * are added as "shared" entries (fo_tokens_add_shared) named "admin-token" and
 * "read-token"; the audit trail then records that name, since a shared token cannot say
 * who used it. A name in the file may not take those names.
 *
 * Rotation: fo_tokens_reload() re-reads the file (SIGHUP calls it), and fo_tokens_auth()
 * re-reads it by itself when the file's modification time, size or inode changed. A file
 * that no longer parses is logged and the previous list stays in force (a typo must not
 * lock every operator out, nor let anyone in).
 *
 * Ownership: struct fo_tokens is caller-allocated; it owns its lists and path copy,
 * released by fo_tokens_free(). Loop thread only.
 */
#ifndef FO_COORDINATOR_TOKENS_H
#define FO_COORDINATOR_TOKENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "proto/admin.h"
#include "proto/error.h"
#include "proto/state.h" /* FO_NAME_MAX */

#define FO_TOKENS_FILE_MAX (256u * 1024u) /* bytes */
#define FO_TOKENS_MAX      1024           /* lines with a token */
#define FO_TOKENS_SHARED   4              /* shim entries (admin/read token files, ...) */

/* Who a credential is, as the servers pass it on to the handlers. */
struct fo_identity {
    char name[FO_NAME_MAX + 1];
    unsigned grants; /* bits 1u << enum fo_admin_role (fo_admin_role_grants) */
};

struct fo_token {
    struct fo_identity who;
    unsigned char hash[32]; /* SHA-256 of the token */
};

struct fo_tokens {
    /* private */
    char *path; /* NULL: no tokens file */
    struct fo_token *list;
    size_t n;
    struct fo_token shared[FO_TOKENS_SHARED];
    size_t nshared;
    struct timespec mtime; /* of the file when last read (or tried) */
    off_t size;
    ino_t ino;
};

/* Parse a tokens file's text (file names it in errors: "tokens:3: role: ..."); never the
 * token in a message. On success *out (malloc'd, *n entries, may be 0) is the caller's. */
int fo_tokens_parse(const char *text, size_t len, const char *file, struct fo_token **out,
                    size_t *n, struct fo_error *err);

/* Start with path's tokens (path NULL: none but the shared ones added later). Returns 0,
 * or non-zero with err naming the file and line; t then holds nothing to free. */
int fo_tokens_init(struct fo_tokens *t, const char *path, struct fo_error *err);

/* Add a shared token (the shim): name, the roles it grants (bits), the token text.
 * Returns 0, or non-zero (full, empty token, a name or token already present). */
int fo_tokens_add_shared(struct fo_tokens *t, const char *name, unsigned grants, const char *token,
                         struct fo_error *err);

/* Re-read the tokens file. 0: the new list is in force (and logged: event=tokens.reload
 * count=N); else err says why and the previous list stays. No file configured: 0. */
int fo_tokens_reload(struct fo_tokens *t, struct fo_error *err);

/* Who presented is (re-reading the file first if it changed on disk), or false for an
 * unknown, empty or NULL token. *out is a copy: valid across reloads. */
bool fo_tokens_auth(struct fo_tokens *t, const char *presented, struct fo_identity *out);

/* True when who may act as role. */
bool fo_identity_may(const struct fo_identity *who, enum fo_admin_role role);

void fo_tokens_free(struct fo_tokens *t);

/*
 * Refusals in the log, bounded (issue 14): a client that sends wrong tokens in a loop
 * gets one line per interval, carrying how many were left out since the last line.
 */
struct fo_auth_limiter {
    uint64_t interval_ms;
    uint64_t last_ms; /* when the last line was let through; 0: never */
    unsigned long long suppressed;
};

/* True when a line may be logged at now_ms; then *suppressed is the count left out since
 * the last line (and restarts at 0). False: counted, log nothing. */
bool fo_auth_limiter_admit(struct fo_auth_limiter *l, uint64_t now_ms,
                           unsigned long long *suppressed);

/* The same at the monotonic clock's now (for callers without a loop at hand). */
bool fo_auth_limiter_admit_now(struct fo_auth_limiter *l, unsigned long long *suppressed);

#endif
