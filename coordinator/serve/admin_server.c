/*
 * coordinator/serve/admin_server.c — see admin_server.h: the admin protocol over frame_server.
 */
#include "coordinator/serve/admin_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/secret.h"
#include "coordinator/log.h"

struct fo_admin_call {
    struct fo_frame_call *frame;
    struct fo_admin_server *s;
    struct fo_admin_req req;
};

static void reply_error(struct fo_frame_call *fc, uint64_t id, int code, const char *msg)
{
    struct fo_reply rep = {.id = id, .code = code};
    rep.message = (char *)msg;
    fo_frame_call_reply(fc, &rep);
}

/* What a node sends another on its own behalf (daemon.c, detect/verdicts.c,
 * run/operations.c): under TLS its node certificate is its credential for these, and
 * for nothing else. */
static const char *const node_verbs[] = {"propose", "lease"};

static bool node_verb_by_certificate(const struct fo_frame_call *fc, const char *cmd)
{
    const struct fo_tls_peer *peer = fo_frame_call_tls_peer(fc);

    if (peer == NULL || peer->role != FO_TLS_ROLE_NODE || cmd == NULL)
        return false;
    for (size_t i = 0; i < sizeof(node_verbs) / sizeof(node_verbs[0]); i++)
        if (strcmp(cmd, node_verbs[i]) == 0)
            return true;
    return false;
}

static void on_frame(struct fo_frame_server *fs, struct fo_frame_call *fc, const uint8_t *payload,
                     size_t len)
{
    struct fo_admin_server *s = fs->data;
    struct fo_proto_error perr;
    struct fo_admin_call *call = calloc(1, sizeof(*call));
    enum fo_admin_access access;

    if (call == NULL) {
        reply_error(fc, 0, FO_REPLY_INTERNAL, "out of memory");
        return;
    }
    if (fo_admin_req_decode(payload, len, &call->req, &perr) != FO_PROTO_OK) {
        s->rejected++;
        free(call);
        reply_error(fc, 0, FO_REPLY_BAD_REQUEST, perr.msg);
        return;
    }
    s->requests++;
    if (fo_secret_equal(call->req.token, s->admin_token)) {
        access = FO_ACCESS_ADMIN;
    } else if (s->read_token != NULL && fo_secret_equal(call->req.token, s->read_token)) {
        access = FO_ACCESS_READ;
    } else if (call->req.token == NULL && node_verb_by_certificate(fc, call->req.cmd)) {
        access = FO_ACCESS_ADMIN;
    } else {
        s->rejected++;
        fo_log_warn("admin.auth", "peer=%s cmd=%s result=%s", fo_frame_call_peer(fc), call->req.cmd,
                    call->req.token == NULL ? "no-token" : "wrong-token");
        reply_error(fc, call->req.id, FO_REPLY_UNAUTHORIZED,
                    call->req.token == NULL ? "a token is required (--token-file)"
                                            : "the token is not valid for this cluster");
        fo_admin_req_free(&call->req);
        free(call);
        return;
    }
    call->frame = fc;
    call->s = s;
    s->handler(s, call, &call->req, access);
}

int fo_admin_server_start(struct fo_admin_server *s, uv_loop_t *loop,
                          const struct fo_admin_server_config *cfg, fo_admin_handler handler,
                          struct fo_error *err)
{
    struct fo_frame_server_config fc = {
        .name = "admin",
        .listen = cfg->listen,
        .max_connections = cfg->max_connections,
        .request_timeout_ms = cfg->request_timeout_ms,
        .tls = cfg->tls,
        .max_frame = FO_ADMIN_FRAME_MAX,
    };
    void *data = s->data;

    memset(s, 0, sizeof(*s));
    s->data = data;
    if (cfg->admin_token == NULL || cfg->admin_token[0] == '\0')
        return fo_error_set(err, 1, "admin server: no admin token");
    s->admin_token = cfg->admin_token;
    s->read_token = cfg->read_token;
    s->handler = handler;
    s->frame.data = s;
    return fo_frame_server_start(&s->frame, loop, &fc, on_frame, err);
}

static void frame_closed(struct fo_frame_server *fs)
{
    struct fo_admin_server *s = fs->data;
    if (s->close_cb != NULL)
        s->close_cb(s);
}

void fo_admin_server_close(struct fo_admin_server *s, fo_admin_server_close_cb close_cb)
{
    s->close_cb = close_cb;
    fo_frame_server_close(&s->frame, frame_closed);
}

void fo_admin_call_reply(struct fo_admin_call *call, const struct fo_reply *rep)
{
    struct fo_reply r = *rep;

    r.id = call->req.id;
    fo_frame_call_reply(call->frame, &r);
    fo_admin_req_free(&call->req);
    free(call);
}

void fo_admin_call_replyf(struct fo_admin_call *call, int code, const char *fmt, ...)
{
    char msg[FO_TEXT_MAX];
    struct fo_reply rep = {.code = code};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rep.message = msg;
    fo_admin_call_reply(call, &rep);
}

struct fo_admin_server *fo_admin_call_server(const struct fo_admin_call *call)
{
    return call->s;
}
