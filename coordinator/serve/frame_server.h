/*
 * coordinator/serve/frame_server.h — a TCP server for failoverd's framed protocols (DESIGN §8):
 * every message is one frame (proto/frame.h) and gets exactly one reply frame
 * (struct fo_reply). The admin endpoint (admin_server.h) and the health-feed endpoint
 * (health_server.h) are thin layers over it: they decode and authenticate, this module
 * owns the connections.
 *
 * What it guarantees to the layer above:
 *   - frames are at most max_frame bytes, checked before anything is allocated; broken
 *     framing gets a "bad_request" reply naming the problem and closes the connection;
 *   - at most max_connections connections (one more is answered "busy" and closed), at
 *     most FO_FRAME_INFLIGHT messages in flight per connection (reading pauses beyond
 *     that), and a connection that sends no complete message for request_timeout_ms
 *     is closed, and so is one whose replies waiting to be written exceed max_queued
 *     bytes (a client that pipelines requests and never reads: logged as
 *     event=server.slow_client);
 *   - a call stays valid until fo_frame_call_reply() is called, exactly once, even if
 *     the client went away meanwhile (the reply is then dropped): handlers may answer
 *     after a Raft commit.
 *
 * Ownership: the server is caller-allocated and must stay alive until close_cb, and as
 * long as calls are unanswered. The payload handed to the handler is valid only during
 * the handler call. Loop thread only.
 */
#ifndef FO_COORDINATOR_FRAME_SERVER_H
#define FO_COORDINATOR_FRAME_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "consensus/tls.h"
#include "coordinator/config/addr.h" /* fo_addr_parse, for listen addresses */
#include "proto/admin.h"
#include "proto/error.h"

#define FO_FRAME_INFLIGHT 4
/* Reply bytes waiting for a client to read, beyond the kernel's buffers: more than any
 * one reply (a status document is under FO_BODY_MAX), far less than memory. */
#define FO_FRAME_QUEUE_DEFAULT (4u * 1024u * 1024u)

struct fo_frame_server;
struct fo_frame_call; /* one message being handled (opaque) */

typedef void (*fo_frame_handler)(struct fo_frame_server *s, struct fo_frame_call *call,
                                 const uint8_t *payload, size_t len);
typedef void (*fo_frame_server_close_cb)(struct fo_frame_server *s);

struct fo_frame_server_config {
    const char *name;            /* for logs: "admin", "health" */
    const char *listen;          /* "a.b.c.d:port" or "[v6]:port" (addr.h) */
    unsigned max_connections;    /* 0: 64 */
    unsigned request_timeout_ms; /* 0: 5000 */
    size_t max_frame;            /* 0: FO_FRAME_MAX_DEFAULT */
    /* Mutual TLS (consensus/tls_pump.h), or NULL: plain TCP. Clients may come without a
     * certificate (operators prove themselves with a token); one they show must chain
     * to the cluster CA, and the call then carries who it names (fo_frame_call_tls_peer).
     * A client that speaks plain text gets one reply saying TLS is required. Borrowed. */
    struct fo_tls *tls;
    size_t max_queued; /* 0: FO_FRAME_QUEUE_DEFAULT */
};

struct fo_frame_server {
    void *data; /* for the owner (the protocol layer) */
    /* read-only for users: counters for metrics */
    unsigned long long messages;
    unsigned long long rejected;     /* bad frames, busy, slow; the layer above adds its own */
    unsigned long long slow_clients; /* cut off for not reading their replies */
    /* private */
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct fo_frame_server_config cfg;
    fo_frame_handler handler;
    fo_frame_server_close_cb close_cb;
    struct frame_conn *conns;
    unsigned nconns;
    struct frame_handshake *handshakes; /* TLS connections not yet verified */
    unsigned nhandshakes;               /* ... counted against max_connections */
    unsigned npumps;                    /* TLS pumps alive: the server outlives them */
    struct fo_buf plain_reply;          /* TLS: the reply a plain-text client gets */
    bool closing;
};

/* Bind and listen. Returns 0, or non-zero with err naming the address and the reason. */
int fo_frame_server_start(struct fo_frame_server *s, uv_loop_t *loop,
                          const struct fo_frame_server_config *cfg, fo_frame_handler handler,
                          struct fo_error *err);

/* Close the listener and every connection; calls in flight stay valid until their
 * replies (which are dropped). close_cb runs when s may be freed. */
void fo_frame_server_close(struct fo_frame_server *s, fo_frame_server_close_cb close_cb);

/* Send the reply and release the call. */
void fo_frame_call_reply(struct fo_frame_call *call, const struct fo_reply *rep);

/* The client's address ("127.0.0.1:54012", "[::1]:54012"), for logs; valid until the reply. */
const char *fo_frame_call_peer(const struct fo_frame_call *call);

/* Who the client's verified certificate names, or NULL (plain TCP, or TLS without a
 * client certificate). Valid until the reply. */
const struct fo_tls_peer *fo_frame_call_tls_peer(const struct fo_frame_call *call);

#endif
