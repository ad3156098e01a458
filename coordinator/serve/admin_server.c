/*
 * coordinator/serve/admin_server.c — see admin_server.h: the admin protocol over frame_server.
 */
#include "coordinator/serve/admin_server.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/log.h"

struct fo_admin_call {
    struct fo_frame_call *frame;
    struct fo_admin_server *s;
    struct fo_admin_req req;
    struct fo_identity who;
};

static void reply_error(struct fo_frame_call *fc, uint64_t id, int code, const char *msg)
{
    struct fo_reply rep = {.id = id, .code = code};
    rep.message = (char *)msg;
    fo_frame_call_reply(fc, &rep);
}

/* Under TLS a node's certificate is its credential (it sends no token): it names the node
 * and grants the node role alone (propose, lease: proto/admin's verb table), so an
 * operator's certificate or any other one grants nothing here. */
static bool identity_of_certificate(const struct fo_frame_call *fc, struct fo_identity *who)
{
    const struct fo_tls_peer *peer = fo_frame_call_tls_peer(fc);

    if (peer == NULL || peer->role != FO_TLS_ROLE_NODE)
        return false;
    snprintf(who->name, sizeof(who->name), "%s", peer->name);
    who->grants = fo_admin_role_grants(FO_ROLE_NODE);
    return true;
}

/* A refused token: logged (rate-limited: a client guessing in a loop gets one line per
 * FO_ADMIN_AUTH_LOG_MS, with how many were left out) and answered. */
static void refuse_token(struct fo_admin_server *s, struct fo_frame_call *fc,
                         const struct fo_admin_req *req)
{
    unsigned long long left_out = 0;

    s->rejected++;
    if (fo_auth_limiter_admit(&s->auth_log, uv_now(s->frame.loop), &left_out))
        fo_log_warn("admin.auth", "peer=%s cmd=%s result=%s suppressed=%llu",
                    fo_frame_call_peer(fc), req->cmd,
                    req->token == NULL ? "no-token" : "wrong-token", left_out);
    reply_error(fc, req->id, FO_REPLY_UNAUTHORIZED,
                req->token == NULL ? "a token is required (--token-file)"
                                   : "the token is not valid for this cluster");
}

static void on_frame(struct fo_frame_server *fs, struct fo_frame_call *fc, const uint8_t *payload,
                     size_t len)
{
    struct fo_admin_server *s = fs->data;
    struct fo_proto_error perr;
    struct fo_admin_call *call = calloc(1, sizeof(*call));

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
    if (!fo_tokens_auth(s->tokens, call->req.token, &call->who) &&
        !(call->req.token == NULL && identity_of_certificate(fc, &call->who))) {
        refuse_token(s, fc, &call->req);
        fo_admin_req_free(&call->req);
        free(call);
        return;
    }
    call->frame = fc;
    call->s = s;
    s->handler(s, call, &call->req, &call->who);
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
    if (cfg->tokens == NULL)
        return fo_error_set(err, 1, "admin server: no tokens");
    s->tokens = cfg->tokens;
    s->auth_log.interval_ms = FO_ADMIN_AUTH_LOG_MS;
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

static void reply_call(void *data, const struct fo_reply *rep)
{
    fo_admin_call_reply(data, rep);
}

void fo_admin_call_replyf(struct fo_admin_call *call, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fo_reply_vsend(reply_call, call, code, fmt, ap);
    va_end(ap);
}

const struct fo_identity *fo_admin_call_who(const struct fo_admin_call *call)
{
    return &call->who;
}

struct fo_admin_server *fo_admin_call_server(const struct fo_admin_call *call)
{
    return call->s;
}
