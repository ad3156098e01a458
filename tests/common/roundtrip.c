/*
 * tests/common/roundtrip.c — see roundtrip.h.
 */
#include "tests/common/roundtrip.h"

#include <string.h>

#include "proto/command.h"
#include "proto/health.h"

size_t fo_rt_max(enum fo_family fam)
{
    return fam == FO_FAM_SNAPSHOT ? FO_SNAPSHOT_MAX : FO_FRAME_MAX_DEFAULT;
}

enum fo_proto_code fo_rt_reencode(enum fo_family fam, const uint8_t *payload, size_t len,
                                  struct fo_buf *out, struct fo_proto_error *err)
{
    enum fo_proto_code rc = FO_PROTO_EMSGTYPE;
    out->data = NULL;
    out->len = 0;
    switch (fam) {
    case FO_FAM_CMD: {
        struct fo_cmd c;
        rc = fo_cmd_decode(payload, len, &c, err);
        if (rc == FO_PROTO_OK)
            rc = fo_cmd_encode(&c, out, err);
        fo_cmd_free(&c);
        break;
    }
    case FO_FAM_SNAPSHOT: {
        struct fo_state s = {0};
        rc = fo_state_decode(payload, len, &s, err);
        if (rc == FO_PROTO_OK)
            rc = fo_state_encode(&s, out, err);
        fo_state_free(&s);
        break;
    }
    case FO_FAM_REQ: {
        struct fo_admin_req r;
        rc = fo_admin_req_decode(payload, len, &r, err);
        if (rc == FO_PROTO_OK)
            rc = fo_admin_req_encode(&r, out, err);
        fo_admin_req_free(&r);
        break;
    }
    case FO_FAM_REPLY: {
        struct fo_reply r;
        rc = fo_reply_decode(payload, len, &r, err);
        if (rc == FO_PROTO_OK)
            rc = fo_reply_encode(&r, out, err);
        fo_reply_free(&r);
        break;
    }
    case FO_FAM_HEALTH: {
        struct fo_health h;
        rc = fo_health_decode(payload, len, &h, err);
        if (rc == FO_PROTO_OK)
            rc = fo_health_encode(&h, out, err);
        fo_health_free(&h);
        break;
    }
    }
    return rc;
}

bool fo_rt_stable(enum fo_family fam, const uint8_t *payload, size_t len)
{
    const uint8_t *p;
    size_t n;
    struct fo_buf a, b;
    struct fo_proto_error err;
    bool same;

    if (fo_rt_reencode(fam, payload, len, &a, &err) != FO_PROTO_OK)
        return true; /* rejected input: fine, as long as nothing crashed or leaked */
    /* What we encode must decode, and encoding is canonical from then on. */
    if (fo_frame_payload(a.data, a.len, fo_rt_max(fam), &p, &n, &err) != FO_PROTO_OK ||
        fo_rt_reencode(fam, p, n, &b, &err) != FO_PROTO_OK) {
        fo_buf_free(&a);
        return false;
    }
    same = a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
    fo_buf_free(&a);
    fo_buf_free(&b);
    return same;
}
