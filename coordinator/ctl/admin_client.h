/*
 * coordinator/ctl/admin_client.h — one admin request to one node, asynchronously on a libuv
 * loop: connect, send the request frame, read exactly one reply frame, close.
 *
 * Used by failoverd to forward proposals from a follower to the leader, and by
 * failoverctl (which runs a loop for its few calls). Everything is bounded: the whole
 * call (connect + request + reply) must finish within timeout_ms, and the reply frame
 * within FO_FRAME_MAX_DEFAULT bytes.
 *
 * The callback runs exactly once. status is 0 with a decoded reply (owned by the
 * client: valid during the callback only), or non-zero with `error` saying what went
 * wrong ("connect 127.0.0.1:7402: connection refused", "timed out after 5000 ms", ...).
 *
 * TLS. After fo_admin_client_use_tls(tls) every call of the process runs over mutual TLS
 * (consensus/tls_pump.h): the server's certificate must chain to the cluster CA and be
 * a node's (OU node), else the call fails before the request is sent, with the reason
 * ("TLS refused: unknown-ca ..."); this process's own certificate (a node's, or an
 * operator's) goes to the server, which lets node-to-node verbs through on a node's
 * certificate alone (fo_admin_client_node_token). A process has one identity: the
 * setting is process-wide, set once at start-up on the loop thread.
 *
 * Ownership: the struct is caller-allocated (usually on the heap) and must stay alive
 * until free_cb, which runs after cb once the client's handles are closed. The request
 * is encoded at call time and not kept.
 */
#ifndef FO_COORDINATOR_ADMIN_CLIENT_H
#define FO_COORDINATOR_ADMIN_CLIENT_H

#include <stdbool.h>
#include <uv.h>

#include "consensus/tls.h"
#include "proto/admin.h"
#include "proto/frame.h"

struct fo_admin_client;
typedef void (*fo_admin_client_cb)(struct fo_admin_client *c, int status,
                                   const struct fo_reply *reply, const char *error);
typedef void (*fo_admin_client_free_cb)(struct fo_admin_client *c);

struct fo_admin_client {
    void *data; /* for the owner */
    /* read-only: true once connected and the request handed to the socket, so the node
     * may have received it; a failure after that leaves the outcome unknown (a caller
     * must not simply send a change to another node). */
    bool sent;
    /* private */
    union {
        uv_tcp_t tcp;   /* plain */
        uv_pipe_t pipe; /* TLS: the plain end of the pump */
    } s;
    struct fo_tls_pump *pump; /* TLS: until the pump has ended */
    bool tls, stream_open;
    uv_timer_t timer;
    uv_connect_t connect;
    uv_write_t write;
    struct fo_buf out;
    struct fo_frame_reader reader;
    fo_admin_client_cb cb;
    fo_admin_client_free_cb free_cb;
    char address[64];
    unsigned timeout_ms;
    int handles;
    bool finished;
};

/*
 * Start one call to address ("a.b.c.d:port"). Returns 0 and calls cb once (possibly
 * before returning, when the connect cannot even start), then free_cb once; or returns
 * non-zero having called neither (bad address, encode failure).
 */
int fo_admin_client_call(struct fo_admin_client *c, uv_loop_t *loop, const char *address,
                         const struct fo_admin_req *req, unsigned timeout_ms, fo_admin_client_cb cb,
                         fo_admin_client_free_cb free_cb);

/* Run every later call over TLS with this context (NULL: plain TCP again). */
void fo_admin_client_use_tls(struct fo_tls *tls);

/* The token a node puts on its node-to-node requests (forwarded proposals, lease
 * rounds): none under TLS, where its certificate speaks for it and the operators'
 * admin token never leaves their machines; admin_token in plain text. */
const char *fo_admin_client_node_token(const char *admin_token);

#endif
