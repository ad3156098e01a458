/*
 * consensus/tls_pump.h — one TLS connection over a real TCP socket, handed to its user
 * as a plain local stream (one end of a socketpair) once, and only once, the peer is
 * verified (tls.h). Code written for a uv_stream_t (libraft's raft_uv, the frame
 * server, the admin client) then runs unchanged over TLS: it reads and writes plain
 * bytes on its end; the pump encrypts them onto the TCP socket and back.
 *
 *   TCP socket <-> OpenSSL (memory BIOs, non-blocking) <-> socketpair <-> user's stream
 *
 * Guarantees:
 *   - nothing the peer sends reaches the user before the handshake completed and the
 *     certificate chained to the CA, is valid, and (when `expect` is given) names the
 *     expected node; a refused connection reports a typed reason;
 *   - the handshake must complete within the context's handshake timeout;
 *   - at most FO_TLS_PUMP_HIGH bytes are queued towards either side: beyond that the
 *     pump stops reading from the other side until the queue drains (backpressure), so
 *     a peer or a user that does not read costs bounded memory;
 *   - closing either side closes the other once what was queued towards it has been
 *     written (at most FO_TLS_PUMP_LINGER_MS), with a TLS close_notify towards the peer.
 *
 * The result callback runs exactly once. On FO_TLS_OK, res->fd is the user's end of the
 * socketpair (non-blocking, close-on-exec): the user owns it (uv_pipe_open it, close
 * it). On any other status the pump has already released everything, fd is -1.
 * After a successful result the pump lives on until the connection ends. on_end (if
 * set) runs once for every pump whose accept/connect returned 0, after the result, as
 * the very last thing before the pump frees itself: owners keep their lists with it.
 *
 * Ownership: pumps allocate themselves. The context must outlive them. Loop thread only.
 */
#ifndef FO_CONSENSUS_TLS_PUMP_H
#define FO_CONSENSUS_TLS_PUMP_H

#include <sys/socket.h>
#include <uv.h>

#include "consensus/tls.h"

#define FO_TLS_PUMP_HIGH      (256u * 1024u)
#define FO_TLS_PUMP_LINGER_MS 5000u

struct fo_tls_pump;

struct fo_tls_pump_result {
    enum fo_tls_reason status;
    int fd;                  /* FO_TLS_OK: the user's end; else -1 */
    struct fo_tls_peer peer; /* FO_TLS_OK: who the peer proved to be */
    const char *remote;      /* "a.b.c.d:port" of the peer */
    const char *detail;      /* what OpenSSL or the socket said (for logs; never parsed) */
};

typedef void (*fo_tls_pump_cb)(struct fo_tls_pump *p, const struct fo_tls_pump_result *res);
typedef void (*fo_tls_pump_end_cb)(struct fo_tls_pump *p);

struct fo_tls_pump_opts {
    fo_tls_pump_cb cb;
    fo_tls_pump_end_cb on_end; /* may be NULL */
    void *data;                /* fo_tls_pump_data() */
    const char *expect;        /* the peer's node name, or NULL: any certificate of the CA
                                  (a server learns the name later, from the protocol) */
    /* A server may answer a peer that speaks plain text with these bytes (a reply in
     * the port's own protocol saying that TLS is required) before closing. */
    const void *plain_reply;
    size_t plain_reply_len;
    /* Server only: a client may come without a certificate (operators, who prove
     * themselves with a token); one it does present must still verify. */
    bool optional_client_cert;
};

/* out (may be NULL) receives the pump on success, for fo_tls_pump_abort. */

/* Accept one connection from listener (a uv_tcp_t in the listening state) and run the
 * server side of the handshake. Returns 0 (cb will run) or a libuv error (it will not). */
int fo_tls_pump_accept(struct fo_tls *t, uv_loop_t *loop, uv_stream_t *listener,
                       const struct fo_tls_pump_opts *o, struct fo_tls_pump **out);

/* Connect to addr and run the client side. Returns 0 (cb will run, possibly with
 * FO_TLS_IO for a refused connect) or a libuv error (it will not). */
int fo_tls_pump_connect(struct fo_tls *t, uv_loop_t *loop, const struct sockaddr *addr,
                        const struct fo_tls_pump_opts *o, struct fo_tls_pump **out);

/* Abort: before the result, cb runs with FO_TLS_IO ("aborted"); after it, the pump
 * closes both sides now (on_end follows). Idempotent until on_end. */
void fo_tls_pump_abort(struct fo_tls_pump *p);

void *fo_tls_pump_data(const struct fo_tls_pump *p);

/* Bytes handed to the socket towards the peer and towards the user, not yet written
 * (each at most FO_TLS_PUMP_HIGH plus one read's worth): for tests and metrics. */
void fo_tls_pump_queued(const struct fo_tls_pump *p, size_t *to_peer, size_t *to_user);

/*
 * Re-verify the peer of every open pump made with t against t's current context (after
 * fo_tls_adopt swapped it) and abort those that no longer verify (revoked, expired, no
 * longer chaining to the CA), each reported through fo_tls_refused with where "reload".
 * Returns how many were cut. Pumps still in their handshake are left alone: they
 * verify with the context they were made with (the old one), and the reconnect that
 * follows a refusal uses the new one.
 */
unsigned fo_tls_pump_recheck(struct fo_tls *t);

/* True once fo_tls_pump_accept/connect's cb has run with FO_TLS_OK. */
bool fo_tls_pump_open(const struct fo_tls_pump *p);

#endif
