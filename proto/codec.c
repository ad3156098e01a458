/*
 * proto/codec.c — see codec.h for the contract. Here: error values, encoding, freeing
 * and copying; decoding is in codec_decode.c, the pre-scan in scan.c.
 */
#include "proto/codec.h"
#include "proto/codec_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *fo_proto_code_name(enum fo_proto_code code)
{
    switch (code) {
    case FO_PROTO_OK:
        return "ok";
    case FO_PROTO_ETRUNC:
        return "truncated";
    case FO_PROTO_ETOOBIG:
        return "too_big";
    case FO_PROTO_EMALFORMED:
        return "malformed";
    case FO_PROTO_EDEPTH:
        return "too_deep";
    case FO_PROTO_ETRAILING:
        return "trailing_bytes";
    case FO_PROTO_EVERSION:
        return "bad_version";
    case FO_PROTO_EMSGTYPE:
        return "unknown_type";
    case FO_PROTO_EFIELDTYPE:
        return "wrong_field_type";
    case FO_PROTO_EMISSING:
        return "missing_field";
    case FO_PROTO_EUNKNOWN:
        return "unknown_field";
    case FO_PROTO_EDUP:
        return "duplicate_field";
    case FO_PROTO_ELIMIT:
        return "over_limit";
    case FO_PROTO_EVALUE:
        return "bad_value";
    case FO_PROTO_ENOMEM:
        return "no_memory";
    }
    return "unknown";
}

enum fo_proto_code fo_proto_fail(struct fo_proto_error *err, enum fo_proto_code code,
                                 const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
    }
    return code;
}

void fo_buf_free(struct fo_buf *buf)
{
    free(buf->data);
    buf->data = NULL;
    buf->len = 0;
}

/* ---- strings ------------------------------------------------------------------ */

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Needed
 * because every string may end up in JSON (status, HTTP API), which requires it. */
bool fo_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        unsigned extra;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            extra = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            extra = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            extra = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i <= extra)
            return false;
        for (unsigned k = 1; k <= extra; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += extra + 1;
    }
    return true;
}

const char *fo_enum_name(const char *const *names, int value)
{
    if (value < 0)
        return NULL;
    for (int i = 0; names[i] != NULL; i++)
        if (i == value)
            return names[i];
    return NULL;
}

/* ---- encode ------------------------------------------------------------------- */

static bool field_present(const struct fo_field *f, const void *obj)
{
    if (!(f->flags & FO_F_OPTIONAL))
        return true;
    switch (f->kind) {
    case FO_FIELD_STR:
    case FO_FIELD_PTR:
        return *CMEMBER(obj, f->off, void *) != NULL;
    case FO_FIELD_U64:
        return *CMEMBER(obj, f->off, uint64_t) != 0;
    case FO_FIELD_U32:
        return *CMEMBER(obj, f->off, uint32_t) != 0;
    case FO_FIELD_BOOL:
        return *CMEMBER(obj, f->off, bool);
    case FO_FIELD_ENUM:
        return *CMEMBER(obj, f->off, int) != 0;
    case FO_FIELD_ARR:
    case FO_FIELD_STRS:
    case FO_FIELD_KV:
        return *CMEMBER(obj, f->count_off, size_t) != 0;
    }
    return true;
}

void fo_utf8_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    s[max] = '\0';
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (msgpack_pack_str(pk, n) != 0)
        return -1;
    return n > 0 ? msgpack_pack_str_body(pk, s, n) : 0;
}

/* Returns 0, -1 on a packer (memory) failure, -2 on an out-of-range enum, -3 on a string
 * the decoder would refuse (over its limit, or not UTF-8): encoding it would put an entry
 * into the Raft log that every node then rejects. */
static int pack_field(const struct fo_field *f, const void *obj, msgpack_packer *pk)
{
    switch (f->kind) {
    case FO_FIELD_STR: {
        const char *s = *CMEMBER(obj, f->off, char *);
        size_t n = s != NULL ? strlen(s) : 0;
        if (n > f->max || !fo_utf8_valid((const uint8_t *)(s != NULL ? s : ""), n))
            return -3;
        return pack_cstr(pk, s);
    }
    case FO_FIELD_U64:
        return msgpack_pack_uint64(pk, *CMEMBER(obj, f->off, uint64_t));
    case FO_FIELD_U32:
        return msgpack_pack_uint32(pk, *CMEMBER(obj, f->off, uint32_t));
    case FO_FIELD_BOOL:
        return *CMEMBER(obj, f->off, bool) ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case FO_FIELD_ENUM: {
        const char *name = fo_enum_name(f->names, *CMEMBER(obj, f->off, int));
        return name == NULL ? -2 : pack_cstr(pk, name);
    }
    case FO_FIELD_PTR: {
        const void *child = *CMEMBER(obj, f->off, void *);
        return child == NULL ? msgpack_pack_nil(pk) : fo_schema_pack(f->sub, child, pk);
    }
    case FO_FIELD_KV: {
        size_t n = *CMEMBER(obj, f->count_off, size_t);
        const struct fo_kv *kv = *CMEMBER(obj, f->off, struct fo_kv *);
        int rc = msgpack_pack_map(pk, n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            rc = pack_cstr(pk, kv[i].key);
            if (rc == 0)
                rc = pack_cstr(pk, kv[i].value);
        }
        return rc;
    }
    case FO_FIELD_ARR:
    case FO_FIELD_STRS: {
        size_t n = *CMEMBER(obj, f->count_off, size_t);
        const char *items = *CMEMBER(obj, f->off, char *);
        int rc = msgpack_pack_array(pk, n);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (f->kind == FO_FIELD_STRS)
                rc = pack_cstr(pk, ((char *const *)(const void *)items)[i]);
            else
                rc = fo_schema_pack(f->sub, items + i * f->sub->size, pk);
        }
        return rc;
    }
    }
    return -2;
}

static int pack_fields(const struct fo_schema *s, const void *obj, msgpack_packer *pk)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < s->nfields; i++) {
        const struct fo_field *f = &s->fields[i];
        if (!field_present(f, obj))
            continue;
        rc = pack_cstr(pk, f->name);
        if (rc == 0)
            rc = pack_field(f, obj, pk);
    }
    return rc;
}

static size_t count_present(const struct fo_schema *s, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nfields; i++)
        n += field_present(&s->fields[i], obj);
    return n;
}

/* The lowest format version that carries obj: the newest field it writes, nested ones
 * included (codec.h, "Versions"). */
static unsigned msg_version(const struct fo_schema *s, const void *obj)
{
    unsigned v = FO_PROTO_VERSION_MIN;
    for (size_t i = 0; i < s->nfields; i++) {
        const struct fo_field *f = &s->fields[i];
        unsigned sub = FO_PROTO_VERSION_MIN;
        if (!field_present(f, obj))
            continue;
        if (f->kind == FO_FIELD_PTR && *CMEMBER(obj, f->off, void *) != NULL) {
            sub = msg_version(f->sub, *CMEMBER(obj, f->off, void *));
        } else if (f->kind == FO_FIELD_ARR) {
            size_t n = *CMEMBER(obj, f->count_off, size_t);
            const char *items = *CMEMBER(obj, f->off, char *);
            for (size_t k = 0; k < n; k++) {
                unsigned e = msg_version(f->sub, items + k * f->sub->size);
                sub = e > sub ? e : sub;
            }
        }
        if (f->kind == FO_FIELD_ENUM && f->names_since != NULL) {
            int e = *CMEMBER(obj, f->off, int);
            /* An out-of-range value is refused by pack_field; count only real ones. */
            if (fo_enum_name(f->names, e) != NULL)
                sub = f->names_since[e] > sub ? f->names_since[e] : sub;
        }
        v = f->since > v ? f->since : v;
        v = sub > v ? sub : v;
    }
    return v;
}

unsigned fo_msg_version(const struct fo_msg_type *type, const void *obj)
{
    unsigned v = msg_version(type->schema, obj);
    return type->since > v ? type->since : v;
}

int fo_schema_pack(const struct fo_schema *s, const void *obj, msgpack_packer *pk)
{
    if (msgpack_pack_map(pk, count_present(s, obj)) != 0)
        return -1;
    return pack_fields(s, obj, pk);
}

enum fo_proto_code fo_msg_encode(const struct fo_msg_type *type, const void *obj,
                                 struct fo_buf *out, struct fo_proto_error *err)
{
    return fo_msg_encode_max(type, obj, FO_PROTO_VERSION, out, err);
}

enum fo_proto_code fo_msg_encode_max(const struct fo_msg_type *type, const void *obj, unsigned max,
                                     struct fo_buf *out, struct fo_proto_error *err)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const struct fo_schema *s = type->schema;
    int rc;
    static const char hdr[4] = {0, 0, 0, 0};

    unsigned version = fo_msg_version(type, obj);

    out->data = NULL;
    out->len = 0;
    /* The rolling-upgrade gate (codec.h "Versions"): never write what a reader of the
     * cluster's format could not read. */
    if (version > max)
        return fo_proto_fail(err, FO_PROTO_EVERSION,
                             "%s needs format v%u and the cluster is at v%u "
                             "(failoverctl upgrade finish raises it once every node runs a "
                             "release that reads v%u)",
                             type->t, version, max, version);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* The frame header is a placeholder, filled in once the length is known. */
    rc = msgpack_sbuffer_write(&sb, hdr, sizeof(hdr));
    if (rc == 0)
        rc = msgpack_pack_map(&pk, 2 + count_present(s, obj));
    if (rc == 0)
        rc = pack_cstr(&pk, "v");
    if (rc == 0)
        rc = msgpack_pack_int(&pk, (int)version);
    if (rc == 0)
        rc = pack_cstr(&pk, "t");
    if (rc == 0)
        rc = pack_cstr(&pk, type->t);
    if (rc == 0)
        rc = pack_fields(s, obj, &pk);
    if (rc != 0 || sb.size - 4 > UINT32_MAX) {
        msgpack_sbuffer_destroy(&sb);
        if (rc == -2)
            return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: an enum field is out of range",
                                 type->t);
        if (rc == -3)
            return fo_proto_fail(err, FO_PROTO_EVALUE,
                                 "%s: a string field is longer than its limit or not UTF-8",
                                 type->t);
        return fo_proto_fail(err, rc == -1 ? FO_PROTO_ENOMEM : FO_PROTO_ETOOBIG,
                             "%s: cannot encode", type->t);
    }
    uint32_t plen = (uint32_t)(sb.size - 4);
    sb.data[0] = (char)(plen >> 24);
    sb.data[1] = (char)(plen >> 16);
    sb.data[2] = (char)(plen >> 8);
    sb.data[3] = (char)plen;
    out->len = sb.size;
    out->data = (uint8_t *)msgpack_sbuffer_release(&sb);
    msgpack_sbuffer_destroy(&sb);
    return FO_PROTO_OK;
}

/* ---- free / copy -------------------------------------------------------------- */

void fo_schema_free(const struct fo_schema *s, void *obj)
{
    for (size_t i = 0; i < s->nfields; i++) {
        const struct fo_field *f = &s->fields[i];
        switch (f->kind) {
        case FO_FIELD_STR:
            free(*MEMBER(obj, f->off, char *));
            break;
        case FO_FIELD_PTR: {
            void *child = *MEMBER(obj, f->off, void *);
            if (child != NULL) {
                fo_schema_free(f->sub, child);
                free(child);
            }
            break;
        }
        case FO_FIELD_ARR:
        case FO_FIELD_STRS: {
            char *items = *MEMBER(obj, f->off, char *);
            size_t n = *MEMBER(obj, f->count_off, size_t);
            for (size_t k = 0; items != NULL && k < n; k++) {
                if (f->kind == FO_FIELD_STRS)
                    free(((char **)(void *)items)[k]);
                else
                    fo_schema_free(f->sub, items + k * f->sub->size);
            }
            free(items);
            break;
        }
        case FO_FIELD_KV: {
            struct fo_kv *kv = *MEMBER(obj, f->off, struct fo_kv *);
            size_t n = *MEMBER(obj, f->count_off, size_t);
            for (size_t k = 0; kv != NULL && k < n; k++) {
                free(kv[k].key);
                free(kv[k].value);
            }
            free(kv);
            break;
        }
        default:
            break;
        }
    }
    memset(obj, 0, s->size);
}

static char *dup_str(const char *s, bool *ok)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

static void copy_members(const struct fo_schema *s, void *dst, const void *src, bool *ok)
{
    /* Scalars and enums come with the memcpy; owned members are replaced by copies. */
    memcpy(dst, src, s->size);
    for (size_t i = 0; i < s->nfields; i++) {
        const struct fo_field *f = &s->fields[i];
        switch (f->kind) {
        case FO_FIELD_STR:
            *MEMBER(dst, f->off, char *) = dup_str(*CMEMBER(src, f->off, char *), ok);
            break;
        case FO_FIELD_PTR: {
            const void *child = *CMEMBER(src, f->off, void *);
            void *copy = NULL;
            if (child != NULL) {
                copy = malloc(f->sub->size);
                if (copy == NULL)
                    *ok = false;
                else
                    copy_members(f->sub, copy, child, ok);
            }
            *MEMBER(dst, f->off, void *) = copy;
            break;
        }
        case FO_FIELD_ARR:
        case FO_FIELD_STRS: {
            size_t n = *CMEMBER(src, f->count_off, size_t);
            size_t elem = f->kind == FO_FIELD_ARR ? f->sub->size : sizeof(char *);
            const char *from = *CMEMBER(src, f->off, char *);
            char *items = n > 0 ? calloc(n, elem) : NULL;
            if (n > 0 && items == NULL) {
                *ok = false;
                n = 0;
            }
            for (size_t k = 0; k < n; k++) {
                if (f->kind == FO_FIELD_STRS)
                    ((char **)(void *)items)[k] =
                        dup_str(((char *const *)(const void *)from)[k], ok);
                else
                    copy_members(f->sub, items + k * elem, from + k * elem, ok);
            }
            *MEMBER(dst, f->off, void *) = items;
            *MEMBER(dst, f->count_off, size_t) = n;
            break;
        }
        case FO_FIELD_KV: {
            size_t n = *CMEMBER(src, f->count_off, size_t);
            const struct fo_kv *from = *CMEMBER(src, f->off, struct fo_kv *);
            struct fo_kv *kv = n > 0 ? calloc(n, sizeof(*kv)) : NULL;
            if (n > 0 && kv == NULL) {
                *ok = false;
                n = 0;
            }
            for (size_t k = 0; k < n; k++) {
                kv[k].key = dup_str(from[k].key, ok);
                kv[k].value = dup_str(from[k].value, ok);
            }
            *MEMBER(dst, f->off, struct fo_kv *) = kv;
            *MEMBER(dst, f->count_off, size_t) = n;
            break;
        }
        default:
            break;
        }
    }
}

enum fo_proto_code fo_schema_copy(const struct fo_schema *s, void *dst, const void *src)
{
    bool ok = true;
    copy_members(s, dst, src, &ok);
    if (!ok) {
        fo_schema_free(s, dst);
        return FO_PROTO_ENOMEM;
    }
    return FO_PROTO_OK;
}
