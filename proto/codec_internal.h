/*
 * proto/codec_internal.h — what codec.c (encode, free, copy) and codec_decode.c (decode)
 * share. Private to the codec: nothing outside those two files includes it; the
 * contract is proto/codec.h.
 */
#ifndef FO_PROTO_CODEC_INTERNAL_H
#define FO_PROTO_CODEC_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A struct member at byte offset off of obj, as described by a fo_field. */
#define MEMBER(obj, off, T)  ((T *)((char *)(obj) + (off)))
#define CMEMBER(obj, off, T) ((const T *)((const char *)(obj) + (off)))

/* Whether s[0..n) is valid UTF-8 (RFC 3629). The decoder refuses a string that is not,
 * and the encoder will not write one. */
bool fo_utf8_valid(const uint8_t *s, size_t n);

#endif
