/*
 * coordinator/serve/admin_server.h — the admin endpoint of a node (DESIGN §8, §9, §10):
 * framed msgpack requests (proto/admin.h) over TCP, one reply per request.
 *
 * It is a layer over frame_server.h (connections, limits, time limits, frames bounded
 * before allocation, replies that outlive their client). This layer decodes requests
 * strictly (a malformed one gets "bad_request" naming the field) and checks the token
 * in constant time: no token or a wrong one gets "unauthorized" (logged without the
 * token); the handler is told whether the token gave full (admin) or read-only access
 * and refuses what read-only may not do.
 *
 * Under TLS (cfg->tls) a client whose verified certificate is a node's (OU node, signed
 * by the cluster CA) may send the node-to-node verbs (propose, lease) without a token:
 * nodes forward with their own identity, never with an operator's token.
 *
 * Handlers may reply later (after a Raft commit): a struct fo_admin_call stays valid
 * until fo_admin_call_reply() is called, exactly once, even if the client went away
 * meanwhile (the reply is then dropped).
 *
 * Ownership: the server is caller-allocated and must stay alive until close_cb. Tokens
 * are borrowed and must outlive the server. Loop thread only.
 */
#ifndef FO_COORDINATOR_ADMIN_SERVER_H
#define FO_COORDINATOR_ADMIN_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "coordinator/serve/frame_server.h"
#include "proto/admin.h"
#include "proto/error.h"

#define FO_ADMIN_FRAME_MAX (64u * 1024u) /* requests are small: 32 args of 512 bytes */

enum fo_admin_access { FO_ACCESS_READ = 0, FO_ACCESS_ADMIN };

struct fo_admin_server;
struct fo_admin_call; /* one request being handled (opaque) */

/* Handle req (owned by the call; valid until the reply). Reply with fo_admin_call_reply,
 * now or later. */
typedef void (*fo_admin_handler)(struct fo_admin_server *s, struct fo_admin_call *call,
                                 const struct fo_admin_req *req, enum fo_admin_access access);
typedef void (*fo_admin_server_close_cb)(struct fo_admin_server *s);

struct fo_admin_server_config {
    const char *listen;      /* "a.b.c.d:port" */
    const char *admin_token; /* full access; required */
    const char *read_token;  /* read-only access; may be NULL */
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
    const char *admin_token, *read_token;
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

/* The server a call came to (for handlers that finish later). */
struct fo_admin_server *fo_admin_call_server(const struct fo_admin_call *call);

#endif
