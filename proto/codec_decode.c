/*
 * proto/codec_decode.c — fo_msg_decode: untrusted msgpack -> C struct, strictly
 * (see codec.h for the contract; encoding, freeing and copying are in codec.c).
 */
#include "proto/codec.h"
#include "proto/codec_internal.h"
#include "proto/error.h"
#include "proto/scan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Longest field path in error messages, e.g. "snapshot.history[31].steps[63].error". */
#define PATH_MAX_LEN 96

/* Error messages quote at most 32 bytes of untrusted text (fo_error_quote). */
static const char *quote(const char *p, size_t n, char out[40])
{
    return fo_error_quote(p, n, out, 40);
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
    if (!fo_utf8_valid((const uint8_t *)p, n))
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
                /* A value newer than the frame: no encoder of that version wrote it. */
                if (f->names_since != NULL && f->names_since[i] > version)
                    return fo_proto_fail(err, FO_PROTO_EVALUE, "%s: '%s' is not a v=%u value", path,
                                         f->names[i], version);
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
        rc = fo_proto_fail(
            err, FO_PROTO_EVERSION,
            "unsupported format version %llu (this node speaks v=%d to v=%d)",
            v->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (unsigned long long)v->via.u64 : 0ull,
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
    if (type->since > v->via.u64) { /* a type newer than the frame */
        rc = fo_proto_fail(err, FO_PROTO_EMSGTYPE, "message type '%s' in a v=%llu frame", type->t,
                           (unsigned long long)v->via.u64);
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
