/*
 * coordinator/serve/admin_server.h — the admin endpoint of a node (DESIGN §8, §9, §10):
 * framed msgpack requests (proto/admin.h) over TCP, one reply per request.
 *
 * It is a layer over frame_server.h (connections, limits, time limits, frames bounded
 * before allocation, replies that outlive their client). This layer decodes requests
 * strictly (a malformed one gets "bad_request" naming the field) and finds who the token
 * is (tokens.h, constant time): no token or a wrong one gets "unauthorized", logged
 * without the token and at most once per FO_ADMIN_AUTH_LOG_MS with the count left out;
 * the handler is told who asked (their name and roles) and refuses what the roles do
 * not allow.
 *
 * Under TLS (cfg->tls) a client whose verified certificate is a node's (OU node, signed
 * by the cluster CA) may send the node-to-node verbs (propose, lease) without a token:
 * nodes forward with their own identity, never with an operator's token.
 *
 * Handlers may reply later (after a Raft commit): a struct fo_admin_call stays valid
 * until fo_admin_call_reply() is called, exactly once, even if the client went away
 * meanwhile (the reply is then dropped).
 *
 * Ownership: the server is caller-allocated and must stay alive until close_cb. The
 * token list is borrowed and must outlive the server. Loop thread only.
 */
#ifndef FO_COORDINATOR_ADMIN_SERVER_H
#define FO_COORDINATOR_ADMIN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/serve/frame_server.h"
#include "coordinator/serve/tokens.h"
#include "proto/admin.h"
#include "proto/error.h"

#define FO_ADMIN_FRAME_MAX (64u * 1024u) /* requests are small: 32 args of 512 bytes */

#define FO_ADMIN_AUTH_LOG_MS 10000 /* refused tokens: one log line per this, with a count */

struct fo_admin_server;
struct fo_admin_call; /* one request being handled (opaque) */

/* Handle req (owned by the call; valid until the reply) from who (valid as long as the
 * call: fo_admin_call_who). Reply with fo_admin_call_reply, now or later. */
typedef void (*fo_admin_handler)(struct fo_admin_server *s, struct fo_admin_call *call,
                                 const struct fo_admin_req *req, const struct fo_identity *who);
typedef void (*fo_admin_server_close_cb)(struct fo_admin_server *s);

struct fo_admin_server_config {
    const char *listen;       /* "a.b.c.d:port" */
    struct fo_tokens *tokens; /* who may call; required */
    unsigned max_connections;
    unsigned request_timeout_ms;
    struct fo_tls *tls; /* NULL: plain TCP (frame_server.h) */
};

struct fo_admin_server {
    void *data; /* for the owner */
    /* read-only for users: counters for metrics */
    unsigned long long requests;
    unsigned long long rejected; /* malformed requests and auth failures (+ frame.rejected) */
    struct fo_frame_server frame;
    /* private */
    struct fo_tokens *tokens;
    struct fo_auth_limiter auth_log;
    fo_admin_handler handler;
    fo_admin_server_close_cb close_cb;
};

/* Bind and listen. Returns 0, or non-zero with err naming the address and the reason. */
int fo_admin_server_start(struct fo_admin_server *s, uv_loop_t *loop,
                          const struct fo_admin_server_config *cfg, fo_admin_handler handler,
                          struct fo_error *err);

/* Close the listener and every connection; close_cb runs when s may be freed. */
void fo_admin_server_close(struct fo_admin_server *s, fo_admin_server_close_cb close_cb);

/* Send the reply to call (its id is filled in) and release the call. */
void fo_admin_call_reply(struct fo_admin_call *call, const struct fo_reply *rep);

/* Shorthand: reply with a code and a message (printf-style). */
void fo_admin_call_replyf(struct fo_admin_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Who made the call (authenticated): their name and roles. */
const struct fo_identity *fo_admin_call_who(const struct fo_admin_call *call);

/* The server a call came to (for handlers that finish later). */
struct fo_admin_server *fo_admin_call_server(const struct fo_admin_call *call);

#endif
