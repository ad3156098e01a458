/*
 * coordinator/serve/http_reply.h — how the HTTP API (http_api.h) answers: every answer
 * has `Cache-Control: no-store`, every error is JSON
 * {"error": {"code": "...", "message": "..."}}, a 401 carries
 * `WWW-Authenticate: Bearer realm="failoverd"`, and the API's counters (requests answered
 * 4xx, 401) are kept here, where every answer passes.
 *
 * Each function queues the answer on c and returns what libmicrohttpd's request handler
 * must return (MHD_NO when the answer could not be built: MHD then drops the connection).
 * Loop thread only, inside a request handler.
 */
#ifndef FO_COORDINATOR_HTTP_REPLY_H
#define FO_COORDINATOR_HTTP_REPLY_H

#include <stddef.h>

#include <jansson.h>
#include <microhttpd.h>

#include "coordinator/serve/http_api.h"

/* Answer status with body (malloc'd, len bytes, handed over: freed with the response or
 * here on failure) of Content-Type type; allow, when not NULL, is the Allow header. */
enum MHD_Result fo_http_reply(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                              const char *type, char *body, size_t len, const char *allow);

/* Answer status with doc (consumed, may be NULL: then MHD_NO) and a trailing newline, as
 * curl users expect. */
enum MHD_Result fo_http_reply_json(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                                   json_t *doc, const char *allow);

/* Answer status with the JSON error code and a printf-formatted message (a message that
 * is not UTF-8, say a client's bytes cut mid-character, becomes "(not UTF-8)"). */
enum MHD_Result fo_http_reply_error(struct fo_http_api *h, struct MHD_Connection *c,
                                    unsigned status, const char *code, const char *allow,
                                    const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* A 401 "unauthorized" with message, logged (http_auth.h: path, client, why; never the
 * token). */
enum MHD_Result fo_http_reply_unauthorized(struct fo_http_api *h, struct MHD_Connection *c,
                                           const char *path, const char *why, const char *message);

#endif
