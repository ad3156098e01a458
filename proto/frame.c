/*
 * proto/frame.c — see frame.h for the contract.
 */
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void fo_frame_reader_init(struct fo_frame_reader *r, size_t max)
{
    memset(r, 0, sizeof(*r));
    r->max = max != 0 ? max : FO_FRAME_MAX_DEFAULT;
}

static enum fo_proto_code check_length(uint32_t n, size_t max, struct fo_proto_error *err)
{
    if (n == 0)
        return fo_proto_fail(err, FO_PROTO_EMALFORMED, "frame of length 0");
    if (n > max)
        return fo_proto_fail(err, FO_PROTO_ETOOBIG, "frame of %u bytes, limit is %zu", n, max);
    return FO_PROTO_OK;
}

enum fo_proto_code fo_frame_reader_feed(struct fo_frame_reader *r, const uint8_t *data, size_t len,
                                        size_t *consumed, struct fo_buf *out,
                                        struct fo_proto_error *err)
{
    size_t pos = 0;

    out->data = NULL;
    out->len = 0;
    *consumed = 0;
    if (r->failed != FO_PROTO_OK)
        return fo_proto_fail(err, r->failed, "stream already failed");

    if (r->hdr_have < FO_FRAME_HEADER) {
        size_t take = FO_FRAME_HEADER - r->hdr_have;
        if (take > len)
            take = len;
        memcpy(r->hdr + r->hdr_have, data, take);
        r->hdr_have += take;
        pos += take;
        if (r->hdr_have < FO_FRAME_HEADER) {
            *consumed = pos;
            return FO_PROTO_OK;
        }
        uint32_t n = get_be32(r->hdr);
        enum fo_proto_code rc = check_length(n, r->max, err);
        if (rc != FO_PROTO_OK) {
            r->failed = rc;
            *consumed = pos;
            return rc;
        }
        /* Only now, with the length checked, is memory committed for the payload. */
        r->payload = malloc(n);
        if (r->payload == NULL) {
            r->failed = FO_PROTO_ENOMEM;
            *consumed = pos;
            return fo_proto_fail(err, FO_PROTO_ENOMEM, "no memory for a %u-byte frame", n);
        }
        r->need = n;
        r->have = 0;
    }

    size_t take = r->need - r->have;
    if (take > len - pos)
        take = len - pos;
    if (take > 0)
        memcpy(r->payload + r->have, data + pos, take);
    r->have += take;
    pos += take;
    *consumed = pos;
    if (r->have == r->need) {
        out->data = r->payload;
        out->len = r->need;
        r->payload = NULL;
        r->hdr_have = 0;
        r->need = r->have = 0;
    }
    return FO_PROTO_OK;
}

bool fo_frame_reader_idle(const struct fo_frame_reader *r)
{
    return r->hdr_have == 0 && r->payload == NULL;
}

void fo_frame_reader_close(struct fo_frame_reader *r)
{
    free(r->payload);
    r->payload = NULL;
    r->hdr_have = 0;
    r->need = r->have = 0;
}

enum fo_proto_code fo_frame_payload(const uint8_t *frame, size_t len, size_t max,
                                    const uint8_t **payload, size_t *plen,
                                    struct fo_proto_error *err)
{
    uint32_t n;
    enum fo_proto_code rc;

    if (len < FO_FRAME_HEADER)
        return fo_proto_fail(err, FO_PROTO_ETRUNC, "frame of %zu bytes has no full header", len);
    n = get_be32(frame);
    rc = check_length(n, max != 0 ? max : FO_FRAME_MAX_DEFAULT, err);
    if (rc != FO_PROTO_OK)
        return rc;
    if (len - FO_FRAME_HEADER < n)
        return fo_proto_fail(err, FO_PROTO_ETRUNC, "frame announces %u bytes, has %zu", n,
                             len - FO_FRAME_HEADER);
    if (len - FO_FRAME_HEADER > n)
        return fo_proto_fail(err, FO_PROTO_ETRAILING, "%zu trailing bytes after the frame",
                             len - FO_FRAME_HEADER - n);
    *payload = frame + FO_FRAME_HEADER;
    *plen = n;
    return FO_PROTO_OK;
}
