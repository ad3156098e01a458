/*
 * proto/codec.c — see codec.h for the contract.
 */
#include "proto/codec.h"
#include "proto/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest field path in error messages, e.g. "snapshot.history[31].steps[63].error". */
#define PATH_MAX_LEN 96

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

/* Error messages quote at most 32 bytes of untrusted text (fo_error_quote). */
static const char *quote(const char *p, size_t n, char out[40])
{
    return fo_error_quote(p, n, out, 40);
}

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

/* ---- strings ------------------------------------------------------------------ */

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. Needed
 * because every string may end up in JSON (status, HTTP API), which requires it. */
static bool utf8_valid(const uint8_t *s, size_t n)
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

static enum fo_proto_code take_str(const msgpack_object *v, const char *path, uint32_t max,
                                   unsigned flags, char **out, struct fo_proto_error *err)
{
    const char *p;
    uint32_t n;
    char *s;

    if (v->type != MSGPACK_OBJECT_STR)
        return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected a string", path);
    p = v->via.str.ptr;
    n = v->via.str.size;
    if (n > max)
        return fo_proto_fail(err, FO_PROTO_ELIMIT, "%s: string of %u bytes, limit is %u", path, n,
                             max);
    if ((flags & FO_F_NONEMPTY) && n == 0)
        return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: must not be empty", path);
    if (n > 0 && memchr(p, '\0', n) != NULL)
        return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: contains a NUL byte", path);
    if (!utf8_valid((const uint8_t *)p, n))
        return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: not valid UTF-8", path);
    s = malloc((size_t)n + 1);
    if (s == NULL)
        return fo_proto_fail(err, FO_PROTO_ENOMEM, "%s: out of memory", path);
    if (n > 0)
        memcpy(s, p, n);
    s[n] = '\0';
    *out = s;
    return FO_PROTO_OK;
}

static bool str_is(const msgpack_object *o, const char *lit)
{
    size_t n = strlen(lit);
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, lit, n) == 0;
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

/* ---- decode ------------------------------------------------------------------- */

/* Build a field path for error messages; deep paths are cut at PATH_MAX_LEN, which is
 * fine for a message meant for people. */
static void mkpath(char *dst, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void mkpath(char *dst, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, n, fmt, ap);
    va_end(ap);
}

static enum fo_proto_code decode_obj(const struct fo_schema *s, const msgpack_object *map,
                                     void *obj, const char *path, bool envelope, unsigned version,
                                     struct fo_proto_error *err);

#define MEMBER(obj, off, T)  ((T *)((char *)(obj) + (off)))
#define CMEMBER(obj, off, T) ((const T *)((const char *)(obj) + (off)))

/* version: the frame's "v"; nested objects obey the same field set. */
static enum fo_proto_code decode_field(const struct fo_field *f, const msgpack_object *v, void *obj,
                                       const char *path, unsigned version,
                                       struct fo_proto_error *err)
{
    char sub[PATH_MAX_LEN];
    enum fo_proto_code rc;

    if (v->type == MSGPACK_OBJECT_NIL && (f->flags & FO_F_OPTIONAL))
        return FO_PROTO_OK; /* nil = absent for optional fields */

    switch (f->kind) {
    case FO_FIELD_STR:
        return take_str(v, path, f->max, f->flags, MEMBER(obj, f->off, char *), err);

    case FO_FIELD_U64:
    case FO_FIELD_U32:
        if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: must not be negative", path);
        if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected an integer", path);
        if (f->kind == FO_FIELD_U64) {
            *MEMBER(obj, f->off, uint64_t) = v->via.u64;
        } else {
            if (v->via.u64 > UINT32_MAX)
                return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: larger than %u", path, UINT32_MAX);
            *MEMBER(obj, f->off, uint32_t) = (uint32_t)v->via.u64;
        }
        return FO_PROTO_OK;

    case FO_FIELD_BOOL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected true or false", path);
        *MEMBER(obj, f->off, bool) = v->via.boolean;
        return FO_PROTO_OK;

    case FO_FIELD_ENUM: {
        char q[40];
        if (v->type != MSGPACK_OBJECT_STR)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected a string", path);
        for (int i = 0; f->names[i] != NULL; i++) {
            if (str_is(v, f->names[i])) {
                *MEMBER(obj, f->off, int) = i;
                return FO_PROTO_OK;
            }
        }
        return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: '%s' is not a known value", path,
                             quote(v->via.str.ptr, v->via.str.size, q));
    }

    case FO_FIELD_PTR: {
        void *child;
        if (v->type == MSGPACK_OBJECT_NIL)
            return FO_PROTO_OK;
        if (v->type != MSGPACK_OBJECT_MAP)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected a map or nil", path);
        child = calloc(1, f->sub->size);
        if (child == NULL)
            return fo_proto_fail(err, FO_PROTO_ENOMEM, "%s: out of memory", path);
        /* Store first so that a failure below is released by the caller's free. */
        *MEMBER(obj, f->off, void *) = child;
        return decode_obj(f->sub, v, child, path, false, version, err);
    }

    case FO_FIELD_KV: {
        uint32_t n;
        struct fo_kv *kv;
        if (v->type != MSGPACK_OBJECT_MAP)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected a map", path);
        n = v->via.map.size;
        if (n > f->max)
            return fo_proto_fail(err, FO_PROTO_ELIMIT, "%s: %u entries, limit is %u", path, n,
                                 f->max);
        if (n == 0)
            return FO_PROTO_OK;
        kv = calloc(n, sizeof(*kv));
        if (kv == NULL)
            return fo_proto_fail(err, FO_PROTO_ENOMEM, "%s: out of memory", path);
        *MEMBER(obj, f->off, struct fo_kv *) = kv;
        *MEMBER(obj, f->count_off, size_t) = n;
        for (uint32_t i = 0; i < n; i++) {
            mkpath(sub, sizeof(sub), "%s{%u}", path, i);
            rc = take_str(&v->via.map.ptr[i].key, sub, f->str_max, FO_F_NONEMPTY, &kv[i].key, err);
            if (rc == FO_PROTO_OK)
                rc = take_str(&v->via.map.ptr[i].val, sub, f->str_max, 0, &kv[i].value, err);
            if (rc != FO_PROTO_OK)
                return rc;
            for (uint32_t k = 0; k < i; k++)
                if (strcmp(kv[k].key, kv[i].key) == 0)
                    return fo_proto_fail(err, FO_PROTO_EDUP, "%s: key appears twice", sub);
        }
        return FO_PROTO_OK;
    }

    case FO_FIELD_ARR:
    case FO_FIELD_STRS: {
        uint32_t n;
        size_t elem = f->kind == FO_FIELD_ARR ? f->sub->size : sizeof(char *);
        char *items;
        if (v->type != MSGPACK_OBJECT_ARRAY)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected an array", path);
        n = v->via.array.size;
        if (n > f->max)
            return fo_proto_fail(err, FO_PROTO_ELIMIT, "%s: %u elements, limit is %u", path, n,
                                 f->max);
        if (n == 0)
            return FO_PROTO_OK;
        items = calloc(n, elem);
        if (items == NULL)
            return fo_proto_fail(err, FO_PROTO_ENOMEM, "%s: out of memory", path);
        /* Publish array and count before filling it: on failure the zeroed tail frees
         * as nothing, so the caller's fo_schema_free() releases exactly what was made. */
        *MEMBER(obj, f->off, void *) = items;
        *MEMBER(obj, f->count_off, size_t) = n;
        for (uint32_t i = 0; i < n; i++) {
            const msgpack_object *e = &v->via.array.ptr[i];
            mkpath(sub, sizeof(sub), "%s[%u]", path, i);
            if (f->kind == FO_FIELD_STRS) {
                rc = take_str(e, sub, f->str_max, f->flags, (char **)items + i, err);
            } else if (e->type != MSGPACK_OBJECT_MAP) {
                rc = fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: expected a map", sub);
            } else {
                rc = decode_obj(f->sub, e, items + i * elem, sub, false, version, err);
            }
            if (rc != FO_PROTO_OK)
                return rc;
        }
        return FO_PROTO_OK;
    }
    }
    return fo_proto_fail(err, FO_PROTO_EMALFORMED, "%s: bad schema", path);
}

static enum fo_proto_code decode_obj(const struct fo_schema *s, const msgpack_object *map,
                                     void *obj, const char *path, bool envelope, unsigned version,
                                     struct fo_proto_error *err)
{
    uint64_t seen = 0;
    char sub[PATH_MAX_LEN];
    char q[40];
    enum fo_proto_code rc;

    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        const msgpack_object *v = &map->via.map.ptr[i].val;
        size_t fi;

        if (k->type != MSGPACK_OBJECT_STR)
            return fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "%s: a key is not a string", path);
        if (envelope && (str_is(k, "v") || str_is(k, "t")))
            continue; /* checked by fo_msg_decode */
        for (fi = 0; fi < s->nfields; fi++)
            if (str_is(k, s->fields[fi].name))
                break;
        if (fi == s->nfields)
            return fo_proto_fail(err, FO_PROTO_EUNKNOWN, "%s: unknown field '%s'", path,
                                 quote(k->via.str.ptr, k->via.str.size, q));
        /* A field newer than the frame: no encoder of that version wrote it. */
        if (s->fields[fi].since > version)
            return fo_proto_fail(err, FO_PROTO_EUNKNOWN, "%s: unknown field '%s' in a v=%u frame",
                                 path, s->fields[fi].name, version);
        if (seen & (UINT64_C(1) << fi))
            return fo_proto_fail(err, FO_PROTO_EDUP, "%s: field '%s' appears twice", path,
                                 s->fields[fi].name);
        seen |= UINT64_C(1) << fi;
        mkpath(sub, sizeof(sub), "%s.%s", path, s->fields[fi].name);
        rc = decode_field(&s->fields[fi], v, obj, sub, version, err);
        if (rc != FO_PROTO_OK)
            return rc;
    }
    for (size_t fi = 0; fi < s->nfields; fi++) {
        if (!(s->fields[fi].flags & FO_F_OPTIONAL) && !(seen & (UINT64_C(1) << fi)))
            return fo_proto_fail(err, FO_PROTO_EMISSING, "%s: missing required field '%s'", path,
                                 s->fields[fi].name);
    }
    return FO_PROTO_OK;
}

enum fo_proto_code fo_msg_decode(const struct fo_msg_type *types, size_t ntypes,
                                 const uint8_t *payload, size_t len, int *id, void *obj,
                                 struct fo_proto_error *err)
{
    msgpack_unpacked up;
    const msgpack_object *root, *v = NULL, *t = NULL;
    const struct fo_msg_type *type = NULL;
    size_t used = 0, off = 0;
    enum fo_proto_code rc;
    char q[40];

    if (len == 0)
        return fo_proto_fail(err, FO_PROTO_ETRUNC, "empty message");
    rc = fo_msgpack_scan(payload, len, FO_PROTO_MAX_DEPTH, &used, err);
    if (rc != FO_PROTO_OK)
        return rc;
    if (used != len)
        return fo_proto_fail(err, FO_PROTO_ETRAILING, "%zu trailing bytes after the message",
                             len - used);

    msgpack_unpacked_init(&up);
    switch (msgpack_unpack_next(&up, (const char *)payload, len, &off)) {
    case MSGPACK_UNPACK_SUCCESS:
        break;
    case MSGPACK_UNPACK_NOMEM_ERROR:
        msgpack_unpacked_destroy(&up);
        return fo_proto_fail(err, FO_PROTO_ENOMEM, "out of memory decoding msgpack");
    default: /* the scan accepted it, so this is not expected; still never trust it */
        msgpack_unpacked_destroy(&up);
        return fo_proto_fail(err, FO_PROTO_EMALFORMED, "msgpack-c rejected the message");
    }
    root = &up.data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        rc = fo_proto_fail(err, FO_PROTO_EMALFORMED, "message is not a msgpack map");
        goto out;
    }
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key;
        const msgpack_object **slot = str_is(k, "v") ? &v : str_is(k, "t") ? &t : NULL;
        if (slot == NULL)
            continue;
        if (*slot != NULL) {
            rc = fo_proto_fail(err, FO_PROTO_EDUP, "field '%s' appears twice",
                               slot == &v ? "v" : "t");
            goto out;
        }
        *slot = &root->via.map.ptr[i].val;
    }
    if (v == NULL) {
        rc = fo_proto_fail(err, FO_PROTO_EMISSING, "missing version field 'v'");
        goto out;
    }
    if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 < FO_PROTO_VERSION_MIN ||
        v->via.u64 > FO_PROTO_VERSION) {
        rc = fo_proto_fail(err, FO_PROTO_EVERSION,
                           "unsupported format version (this node speaks v=%d to v=%d)",
                           FO_PROTO_VERSION_MIN, FO_PROTO_VERSION);
        goto out;
    }
    if (t == NULL) {
        rc = fo_proto_fail(err, FO_PROTO_EMISSING, "missing message type field 't'");
        goto out;
    }
    if (t->type != MSGPACK_OBJECT_STR) {
        rc = fo_proto_fail(err, FO_PROTO_EFIELDTYPE, "t: expected a string");
        goto out;
    }
    for (size_t i = 0; i < ntypes; i++)
        if (str_is(t, types[i].t))
            type = &types[i];
    if (type == NULL) {
        rc = fo_proto_fail(err, FO_PROTO_EMSGTYPE, "unknown message type '%s'",
                           quote(t->via.str.ptr, t->via.str.size, q));
        goto out;
    }
    rc = decode_obj(type->schema, root, obj, type->t, true, (unsigned)v->via.u64, err);
    if (rc != FO_PROTO_OK)
        fo_schema_free(type->schema, obj);
    else
        *id = type->id;
out:
    msgpack_unpacked_destroy(&up);
    return rc;
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
        if (n > f->max || !utf8_valid((const uint8_t *)(s != NULL ? s : ""), n))
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
        v = f->since > v ? f->since : v;
        v = sub > v ? sub : v;
    }
    return v;
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
    msgpack_sbuffer sb;
    msgpack_packer pk;
    const struct fo_schema *s = type->schema;
    int rc;
    static const char hdr[4] = {0, 0, 0, 0};

    out->data = NULL;
    out->len = 0;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* The frame header is a placeholder, filled in once the length is known. */
    rc = msgpack_sbuffer_write(&sb, hdr, sizeof(hdr));
    if (rc == 0)
        rc = msgpack_pack_map(&pk, 2 + count_present(s, obj));
    if (rc == 0)
        rc = pack_cstr(&pk, "v");
    if (rc == 0)
        rc = msgpack_pack_int(&pk, (int)msg_version(s, obj));
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
