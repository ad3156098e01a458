/*
 * consensus/tls_transport.h — libraft 0.15's raft_uv_transport over mutual TLS
 * (tls.h, tls_pump.h), in place of the plain raft_uv_tcp.
 *
 * libraft's io (raft_uv) only needs a connected uv_stream_t per peer; raft_uv_tcp also
 * does a small handshake (protocol 1, the connecting server's id and address) that the
 * accepting side needs for its accept callback. This transport does the same, but every
 * connection is a TLS pump and libraft gets the plain end of it (a uv_pipe_t):
 *
 *   connect(id, address): TLS to address, expecting the certificate of the node that
 *     the configuration names for `id` (subjectAltName DNS, OU node); then our
 *     handshake inside TLS; then the stream goes to libraft.
 *   accept: a TLS handshake that requires a certificate of the cluster CA; then the
 *     peer's handshake inside TLS; the claimed id must be a configured peer whose name
 *     is the certificate's name, or the connection is closed — before libraft sees a
 *     byte, so an outsider can neither vote nor append.
 *
 * Every refusal goes to fo_tls_refused() (rate-limited, with the typed reason). The
 * handshake inside TLS is bounded (protocol 1, an address of at most 256 bytes) and
 * must arrive within the TLS handshake timeout too.
 *
 * Ownership: fo_tls_transport_init fills a caller-allocated struct raft_uv_transport
 * (give it to raft_uv_init as raft_uv_tcp's would be) and copies the peer table;
 * fo_tls_transport_release frees it after raft has closed (like raft_uv_tcp_close).
 * The tls context must outlive the transport and the connections. Loop thread only.
 */
#ifndef FO_CONSENSUS_TLS_TRANSPORT_H
#define FO_CONSENSUS_TLS_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "consensus/tls.h"

struct fo_tls_transport_peer {
    uint64_t id;
    const char *name; /* what its certificate must say */
};

int fo_tls_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, struct fo_tls *tls,
                          const struct fo_tls_transport_peer *peers, size_t npeers);
void fo_tls_transport_release(struct raft_uv_transport *t);

#endif
