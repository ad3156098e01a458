/*
 * proto/scan.c — see scan.h for the contract.
 */
#include "proto/scan.h"

#include <stdbool.h>

/* ---- pre-scan ----------------------------------------------------------------- */

static uint64_t be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/*
 * Classify the msgpack header byte b: how many length bytes follow it (lenbytes), how
 * many fixed payload bytes follow those (fixed), and whether it opens a container
 * (kind 1 array, 2 map) or a byte run whose length is in the header (kind 3). Returns
 * false for 0xc1, which msgpack never uses.
 */
static bool classify(uint8_t b, unsigned *lenbytes, unsigned *fixed, int *kind, uint64_t *inline_n)
{
    *lenbytes = 0;
    *fixed = 0;
    *kind = 0;
    *inline_n = 0;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return true; /* fixint, nil, bool */
    if (b <= 0x8f) {
        *kind = 2;
        *inline_n = b & 0x0f;
        return true;
    }
    if (b <= 0x9f) {
        *kind = 1;
        *inline_n = b & 0x0f;
        return true;
    }
    if (b <= 0xbf) {
        *kind = 3;
        *inline_n = b & 0x1f;
        return true;
    }
    switch (b) {
    case 0xc4:
    case 0xd9:
        *kind = 3;
        *lenbytes = 1;
        return true; /* bin8, str8 */
    case 0xc5:
    case 0xda:
        *kind = 3;
        *lenbytes = 2;
        return true; /* bin16, str16 */
    case 0xc6:
    case 0xdb:
        *kind = 3;
        *lenbytes = 4;
        return true; /* bin32, str32 */
    case 0xc7:
        *kind = 3;
        *lenbytes = 1;
        *fixed = 1;
        return true; /* ext8: +type */
    case 0xc8:
        *kind = 3;
        *lenbytes = 2;
        *fixed = 1;
        return true; /* ext16 */
    case 0xc9:
        *kind = 3;
        *lenbytes = 4;
        *fixed = 1;
        return true; /* ext32 */
    case 0xca:
        *fixed = 4;
        return true; /* float32 */
    case 0xcb:
        *fixed = 8;
        return true; /* float64 */
    case 0xcc:
    case 0xd0:
        *fixed = 1;
        return true;
    case 0xcd:
    case 0xd1:
        *fixed = 2;
        return true;
    case 0xce:
    case 0xd2:
        *fixed = 4;
        return true;
    case 0xcf:
    case 0xd3:
        *fixed = 8;
        return true;
    case 0xd4:
        *fixed = 2;
        return true; /* fixext1: type + 1 */
    case 0xd5:
        *fixed = 3;
        return true; /* fixext2 */
    case 0xd6:
        *fixed = 5;
        return true; /* fixext4 */
    case 0xd7:
        *fixed = 9;
        return true; /* fixext8 */
    case 0xd8:
        *fixed = 17;
        return true; /* fixext16 */
    case 0xdc:
        *kind = 1;
        *lenbytes = 2;
        return true;
    case 0xdd:
        *kind = 1;
        *lenbytes = 4;
        return true;
    case 0xde:
        *kind = 2;
        *lenbytes = 2;
        return true;
    case 0xdf:
        *kind = 2;
        *lenbytes = 4;
        return true;
    default:
        return false; /* 0xc1 */
    }
}

enum fo_proto_code fo_msgpack_scan(const uint8_t *p, size_t len, unsigned max_depth, size_t *used,
                                   struct fo_proto_error *err)
{
    /* left[d] = elements still to read at depth d; depth 0 is the single top object. */
    uint64_t left[FO_PROTO_MAX_DEPTH + 1];
    unsigned depth = 0;
    size_t pos = 0;

    if (max_depth > FO_PROTO_MAX_DEPTH)
        max_depth = FO_PROTO_MAX_DEPTH;
    left[0] = 1;
    for (;;) {
        unsigned lenbytes, fixed;
        int kind;
        uint64_t n;

        while (left[depth] == 0) {
            if (depth == 0) {
                *used = pos;
                return FO_PROTO_OK;
            }
            depth--;
        }
        left[depth]--;
        if (pos >= len)
            return fo_proto_fail(err, FO_PROTO_ETRUNC, "msgpack ends inside an object");
        if (!classify(p[pos], &lenbytes, &fixed, &kind, &n))
            return fo_proto_fail(err, FO_PROTO_EMALFORMED,
                                 "invalid msgpack byte 0xc1 at offset %zu", pos);
        pos++;
        if (len - pos < lenbytes)
            return fo_proto_fail(err, FO_PROTO_ETRUNC, "msgpack ends inside a header");
        if (lenbytes > 0) {
            n = be(p + pos, lenbytes);
            pos += lenbytes;
        }
        if (len - pos < fixed)
            return fo_proto_fail(err, FO_PROTO_ETRUNC, "msgpack ends inside a value");
        pos += fixed;
        if (kind == 3) {
            if (len - pos < n)
                return fo_proto_fail(err, FO_PROTO_ETRUNC,
                                     "string of %llu bytes but only %zu bytes left",
                                     (unsigned long long)n, len - pos);
            pos += (size_t)n;
        } else if (kind == 1 || kind == 2) {
            uint64_t items = kind == 2 ? n * 2 : n;
            /* Every element takes at least one byte: a count beyond the bytes left
             * cannot be honest, and is exactly what would make msgpack-c over-allocate. */
            if (items > len - pos)
                return fo_proto_fail(err, FO_PROTO_ETRUNC,
                                     "container of %llu elements but only %zu bytes left",
                                     (unsigned long long)n, len - pos);
            if (items > 0) {
                if (depth + 1 > max_depth)
                    return fo_proto_fail(err, FO_PROTO_EDEPTH, "nested deeper than %u levels",
                                         max_depth);
                left[++depth] = items;
            }
        }
    }
}
