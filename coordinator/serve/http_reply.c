/*
 * coordinator/serve/http_reply.c — see http_reply.h.
 */
#include "coordinator/serve/http_reply.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/serve/http_auth.h"
#include "proto/state.h" /* FO_TEXT_MAX */

enum MHD_Result fo_http_reply(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                              const char *type, char *body, size_t len, const char *allow)
{
    /* body is malloc'd and handed over: MHD frees it with the response. */
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result rv;

    if (resp == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    if (status == MHD_HTTP_UNAUTHORIZED) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"failoverd\"");
        h->unauthorized++;
    }
    if (status >= 400 && status < 500)
        h->rejected++;
    rv = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return rv;
}

enum MHD_Result fo_http_reply_json(struct fo_http_api *h, struct MHD_Connection *c, unsigned status,
                                   json_t *doc, const char *allow)
{
    char *s = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
    size_t n;
    char *body;

    json_decref(doc);
    if (s == NULL)
        return MHD_NO;
    n = strlen(s);
    body = realloc(s, n + 2);
    if (body == NULL) {
        free(s);
        return MHD_NO;
    }
    body[n] = '\n';
    body[n + 1] = '\0';
    return fo_http_reply(h, c, status, "application/json", body, n + 1, allow);
}

enum MHD_Result fo_http_reply_error(struct fo_http_api *h, struct MHD_Connection *c,
                                    unsigned status, const char *code, const char *allow,
                                    const char *fmt, ...)
{
    char msg[FO_TEXT_MAX];
    va_list ap;

    json_t *doc;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* A message quoting the client's bytes, cut mid-character, is not UTF-8: say less. */
    doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg);
    if (doc == NULL)
        doc = json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", "(not UTF-8)");
    return fo_http_reply_json(h, c, status, doc, allow);
}

enum MHD_Result fo_http_reply_unauthorized(struct fo_http_api *h, struct MHD_Connection *c,
                                           const char *path, const char *why, const char *message)
{
    fo_http_auth_log(c, path, why);
    return fo_http_reply_error(h, c, MHD_HTTP_UNAUTHORIZED, "unauthorized", NULL, "%s", message);
}
