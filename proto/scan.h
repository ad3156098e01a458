/*
 * proto/scan.h — the allocation-free msgpack pre-scan that every decoder runs before
 * msgpack-c sees untrusted bytes (fo_msg_decode, proto/codec.h, calls it first).
 *
 * Thread-safety: no shared state; any thread may call it.
 */
#ifndef FO_PROTO_SCAN_H
#define FO_PROTO_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h"

/*
 * Walk the msgpack object at p[0..len) without allocating and check that it is
 * well-formed, nested at most max_depth containers deep, and that no container claims
 * more elements than there are bytes left. On success *used is the object's length.
 *
 * Why this exists: msgpack-c's C unpacker allocates count * sizeof(object) for a
 * container straight from the untrusted count before reading a single element (a
 * 6-byte input asks for 51 GB), and its C API has no limits. Scanning first bounds every
 * later allocation by the input size. It only reads headers; msgpack-c still decodes.
 */
enum fo_proto_code fo_msgpack_scan(const uint8_t *p, size_t len, unsigned max_depth, size_t *used,
                                   struct fo_proto_error *err);

#endif
