/*
 * coordinator/serve/http_auth.h — who may use the HTTP API (http_api.h): bearer tokens.
 *
 * A token comes as `Authorization: Bearer <token>` (the scheme in any case, then spaces
 * or tabs). Every comparison with a secret is constant-time (fo_secret_equal), and where
 * two secrets could match both are compared, so the time taken says nothing about which
 * one is close. Decisions only: the 401 answer is the HTTP API's; the log line is here,
 * and it never holds the token.
 *
 * Borrows the daemon (its tokens and feeds), which outlives every call. Loop thread only.
 */
#ifndef FO_COORDINATOR_HTTP_AUTH_H
#define FO_COORDINATOR_HTTP_AUTH_H

#include <stdbool.h>
#include <stddef.h>

struct MHD_Connection;
struct fo_serve;
struct fo_health_feed;

/* The token of the request's `Authorization: Bearer <token>`, or NULL (no header, another
 * scheme, no token). Points into the request: valid while it is. */
const char *fo_http_auth_bearer(struct MHD_Connection *c);

/* True for a token whose roles include read (tokens.h: every operator's; not a node's). */
bool fo_http_auth_read(const struct fo_serve *s, const char *token);

/* True when token is some configured feed's token (every feed compared, always). */
bool fo_http_auth_any_feed(const struct fo_serve *s, const char *token);

/* The configured feed called name, or NULL. */
const struct fo_health_feed *fo_http_auth_feed(const struct fo_serve *s, const char *name);

/* Log a refused request: event=http.auth with the path, the client's IP address and why
 * (a fixed word: "no-token", "wrong-token", ...); never the token. At most one line per
 * 10 s, carrying suppressed=N (the refusals left out since the last line). */
void fo_http_auth_log(struct MHD_Connection *c, const char *path, const char *why);

#endif
