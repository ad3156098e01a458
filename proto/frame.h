/*
 * proto/frame.h — the one framing of every failoverd byte stream (DESIGN §8):
 *
 *     +----------------------+---------------------------------+
 *     | length: u32, big end | payload: one msgpack map, length |
 *     +----------------------+---------------------------------+
 *
 * fo_frame_reader turns a stream delivered in arbitrary chunks (libuv read callbacks
 * split anywhere) into whole payloads. It checks the announced length against its
 * maximum BEFORE allocating, so a peer can never make a node allocate more than `max`
 * bytes per connection. Errors are sticky: once a stream is bad it stays bad (framing
 * is lost), and the owner should close the connection.
 *
 * Ownership: the reader owns the partial payload; a finished payload is handed to the
 * caller as an fo_buf, which the caller then owns (fo_buf_free). Not thread-safe: one
 * reader per connection, used from one thread.
 */
#ifndef FO_PROTO_FRAME_H
#define FO_PROTO_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h"

#define FO_FRAME_HEADER      4
#define FO_FRAME_MAX_DEFAULT (1024u * 1024u)

struct fo_frame_reader {
    /* read-only for users */
    size_t max; /* largest payload accepted, in bytes */
    /* private */
    uint8_t hdr[FO_FRAME_HEADER];
    size_t hdr_have;
    uint8_t *payload; /* owned until handed out */
    size_t need;
    size_t have;
    enum fo_proto_code failed; /* sticky error, FO_PROTO_OK while healthy */
};

/* Initialise r for payloads of at most max bytes (0 = FO_FRAME_MAX_DEFAULT). */
void fo_frame_reader_init(struct fo_frame_reader *r, size_t max);

/*
 * Consume bytes from data[0..len). Stops after the first complete frame, so *consumed
 * may be less than len: call again with the rest. When a frame completes, *out holds its
 * payload (owned by the caller); otherwise out->data is NULL. Returns FO_PROTO_OK, or
 * ETOOBIG (length over max), EMALFORMED (zero length) — and keeps returning it.
 */
enum fo_proto_code fo_frame_reader_feed(struct fo_frame_reader *r, const uint8_t *data, size_t len,
                                        size_t *consumed, struct fo_buf *out,
                                        struct fo_proto_error *err);

/* True when no frame is partially read (a clean place for the peer to hang up). */
bool fo_frame_reader_idle(const struct fo_frame_reader *r);

/* Release the partial payload, if any. r may be initialised again afterwards. */
void fo_frame_reader_close(struct fo_frame_reader *r);

/*
 * Check that frame[0..len) is exactly one complete frame of at most max payload bytes
 * (0 = FO_FRAME_MAX_DEFAULT) and point *payload and *plen into it (no copy). Used for frames
 * stored whole, such as Raft log entries and snapshots.
 */
enum fo_proto_code fo_frame_payload(const uint8_t *frame, size_t len, size_t max,
                                    const uint8_t **payload, size_t *plen,
                                    struct fo_proto_error *err);

#endif
