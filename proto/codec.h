/*
 * proto/codec.h — strict, table-driven msgpack <-> C struct codec.
 *
 * Every failoverd message is one msgpack map: {"v": 1, "t": "<type>", <fields>...}
 * (DESIGN §8). A message's C struct is described once by a schema (an array of
 * fo_field); the same table drives encoding, decoding, validation and freeing, so every
 * message gets the same strictness:
 *
 *   - the outer object must be a map with string keys, a "v" this node speaks (see
 *     "Versions" below) and a "t" known to the caller's family of messages;
 *   - every required field present, every field of the declared wire type, strings
 *     within their byte limit, free of NUL bytes and valid UTF-8, arrays within their
 *     count limit, enum strings from their table;
 *   - unknown fields and duplicate fields are REJECTED: the wire format only changes
 *     with a new "v", so an unexpected key is a bug or an attack, never a feature (a
 *     field newer than the frame's "v" is unknown too);
 *   - no trailing bytes after the message, nesting at most FO_PROTO_MAX_DEPTH deep.
 *
 * Errors are values: a code and a message that names the field by its path, e.g.
 * "op_begin.steps[3]: string longer than 64 bytes".
 *
 * Ownership: decoding allocates every string and array with malloc; the decoded
 * struct owns them and fo_schema_free() releases them (never the struct itself, which
 * the caller owns). Encoding never takes ownership of its input.
 *
 * Thread-safety: no shared state; any thread may call any function.
 */
#ifndef FO_PROTO_CODEC_H
#define FO_PROTO_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

/*
 * Versions and the rolling-upgrade rule. "v" is the format version of a frame. A binary
 * READS every format from FO_PROTO_VERSION_MIN to FO_PROTO_VERSION; what it WRITES into
 * the replicated log and snapshots is capped by the cluster's committed format.
 *
 *   - A new format only ADDS: a field (FO_F_OPTIONAL, its zero value meaning "not
 *     recorded", so a struct decoded from an older frame is a valid struct of the new
 *     format), a message type (fo_msg_type.since) or an enum value (the field's
 *     names_since[]). Removing something or changing a field's type or meaning is not a
 *     new format: it is a new message type.
 *   - THE TABLE: every such addition records the format that introduced it, in the
 *     schema row that declares it (fo_field.since, fo_field.names_since[value],
 *     fo_msg_type.since; 0 = v1). That row is the whole gate: "feature -> minimum
 *     cluster format". Adding a command, field or enum value is one row with its since,
 *     plus a FO_PROTO_VERSION bump and a History line below when no unreleased format
 *     is open.
 *   - A decoder accepts a frame of version v only if FO_PROTO_VERSION_MIN <= v <=
 *     FO_PROTO_VERSION, and only fields, types and enum values whose since <= v (a newer
 *     one is "unknown"). Every message is strict: unknown fields are refused, never
 *     skipped, because a field this node does not know could change what the message
 *     means.
 *   - An encoder stamps the LOWEST version that can carry the message: the largest
 *     since among the type, the fields it writes and their enum values, nested ones
 *     included. A message using nothing newer is byte for byte what an older binary
 *     wrote.
 *   - The cluster format (fo_state_format(): the FSM's committed `format`, or
 *     FO_FORMAT_BASE when none was ever committed) caps every WRITE to the replicated
 *     log and snapshot: fo_msg_encode_max() refuses (FO_PROTO_EVERSION) a message that
 *     needs a newer format, so a node never proposes or snapshots what a member of the
 *     cluster may not read. It is raised only by the "format" command, which a leader
 *     proposes only after every voter has told it, over the admin port with the node
 *     credential, that it reads the new format (`failoverctl upgrade finish`). It never
 *     goes down: a downgrade is "restore the previous release's snapshot" (README).
 *   - A committed entry or snapshot that a node cannot decode (a newer format, or any
 *     other reason) is NEVER skipped: skipping an entry its peers applied would leave
 *     that node's state diverged. Its FSM halts before that entry (consensus/fsm.h,
 *     FO_FSM_HALTED): nothing more is applied, the node logs why, shows it in status
 *     and metrics, and a halted leader hands leadership on. Running the newer binary on
 *     that node is the fix; it then replays from its last snapshot.
 *   - Older formats stay readable: a snapshot or entry of format 1..FO_PROTO_VERSION is
 *     read by this binary as is, the absent newer fields reading as their zero value.
 *
 * FO_FORMAT_BASE is the format failoverd 0.1.0 speaks (its FO_PROTO_VERSION, 3) and the
 * cluster format of every cluster that never committed a "format" command — 0.1.0 did
 * not have one, and a new cluster starts there too, so that a 0.1.0 node can join it.
 *
 * History: v1 — the first format. v2 — step.outcome (struct fo_cmd_step) and the
 * journal's steps[].outcome (struct fo_step): a typed step outcome (proto/state.h).
 * v3 — the snapshot's archive[] and history_dropped (older finished operations, without
 * their steps) and an event's until_ms (proto/state.h). failoverd 0.1.0 speaks v1..v3.
 * v4 — the "format" command and the snapshot's format (the cluster format itself), and
 * the operation kind "rejoin" (op_begin.kind, the journal's operation.kind: failoverctl
 * rejoin SITE), a new enum value (fo_field.names_since).
 */
#define FO_PROTO_VERSION     4
#define FO_PROTO_VERSION_MIN 1
#define FO_FORMAT_BASE       3

/* Containers deeper than this are rejected before msgpack-c sees them. Our deepest
 * message (snapshot -> history[] -> steps[] -> step) needs 4 levels. */
#define FO_PROTO_MAX_DEPTH 8

enum fo_proto_code {
    FO_PROTO_OK = 0,
    FO_PROTO_ETRUNC,     /* input ends inside a frame or an object */
    FO_PROTO_ETOOBIG,    /* frame larger than the configured maximum */
    FO_PROTO_EMALFORMED, /* not msgpack, or not the expected shape */
    FO_PROTO_EDEPTH,     /* nested deeper than FO_PROTO_MAX_DEPTH */
    FO_PROTO_ETRAILING,  /* bytes after the message */
    FO_PROTO_EVERSION,   /* "v" is not a version we speak */
    FO_PROTO_EMSGTYPE,   /* "t" is not a message of this protocol */
    FO_PROTO_EFIELDTYPE, /* a field has the wrong msgpack type */
    FO_PROTO_EMISSING,   /* a required field is absent */
    FO_PROTO_EUNKNOWN,   /* a field the schema does not know */
    FO_PROTO_EDUP,       /* a field appears twice */
    FO_PROTO_ELIMIT,     /* a string or array over its limit */
    FO_PROTO_EVALUE,     /* a value outside its domain (enum, range, UTF-8, NUL) */
    FO_PROTO_ENOMEM,     /* allocation failed */
};

/* An error value. msg always names what was wrong; it never contains field values that
 * could be secrets (tokens are never echoed). */
struct fo_proto_error {
    enum fo_proto_code code;
    char msg[200];
};

/* Short stable name of a code ("truncated", "unknown_field", ...) for logs and replies. */
const char *fo_proto_code_name(enum fo_proto_code code);

/* Fill err (if not NULL) with code and a printf-style message; returns code. */
enum fo_proto_code fo_proto_fail(struct fo_proto_error *err, enum fo_proto_code code,
                                 const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A heap buffer owned by whoever holds it; release with fo_buf_free(). */
struct fo_buf {
    uint8_t *data;
    size_t len;
};
void fo_buf_free(struct fo_buf *buf);

/* ---- schemas ------------------------------------------------------------------ */

enum fo_field_kind {
    FO_FIELD_STR,  /* char *: owned, NUL-terminated, UTF-8, no embedded NUL */
    FO_FIELD_U64,  /* uint64_t, a non-negative msgpack integer */
    FO_FIELD_U32,  /* uint32_t */
    FO_FIELD_BOOL, /* bool */
    FO_FIELD_ENUM, /* int: a string on the wire, index into names[] */
    FO_FIELD_PTR,  /* struct *: owned, described by sub; NULL <-> nil */
    FO_FIELD_ARR,  /* struct *items (owned, count at count_off), elements described by sub */
    FO_FIELD_STRS, /* char **items (owned, count at count_off): array of strings */
    FO_FIELD_KV,   /* struct fo_kv *items (owned, count at count_off): a map of
                    * string -> string, keys unique and non-empty */
};

/* One entry of a FO_FIELD_KV map. */
struct fo_kv {
    char *key;
    char *value;
};

/* Field flags. */
#define FO_F_REQUIRED 0x0 /* must be present (the default) */
#define FO_F_OPTIONAL                                                                              \
    0x1                   /* may be absent or nil; absent = zero value; encoded only if            \
                           * not the zero value (NULL, 0, false, empty) */
#define FO_F_NONEMPTY 0x2 /* STR/STRS items: must not be the empty string */

struct fo_schema;

struct fo_field {
    const char *name;
    enum fo_field_kind kind;
    unsigned flags;
    size_t off;                  /* offset of the member in the struct */
    size_t count_off;            /* ARR/STRS: offset of the size_t element count */
    uint32_t max;                /* STR: max bytes; ARR/STRS/KV: max elements */
    const struct fo_schema *sub; /* PTR/ARR */
    const char *const *names;    /* ENUM: NULL-terminated table of wire names */
    uint32_t str_max;            /* STRS/KV: max bytes of each string */
    uint32_t since;              /* the format version that added the field; 0 = v1 */
    /* ENUM, optional: names_since[i] is the format that added value i (parallel to names;
     * NULL = every value is as old as the field). */
    const uint32_t *names_since;
};

struct fo_schema {
    const char *name; /* used in error paths */
    size_t size;      /* sizeof the struct */
    const struct fo_field *fields;
    size_t nfields;
};

/* Table-building helpers: the wire name is the C member name. */
#define FO_STR(T, m, fl, mx)                                                                       \
    {                                                                                              \
#m, FO_FIELD_STR, (fl), offsetof(T, m), 0, (mx), NULL, NULL, 0                             \
    }
#define FO_U64(T, m, fl)                                                                           \
    {                                                                                              \
#m, FO_FIELD_U64, (fl), offsetof(T, m), 0, 0, NULL, NULL, 0                                \
    }
#define FO_U32(T, m, fl)                                                                           \
    {                                                                                              \
#m, FO_FIELD_U32, (fl), offsetof(T, m), 0, 0, NULL, NULL, 0                                \
    }
#define FO_BOOL(T, m, fl)                                                                          \
    {                                                                                              \
#m, FO_FIELD_BOOL, (fl), offsetof(T, m), 0, 0, NULL, NULL, 0                               \
    }
#define FO_ENUM(T, m, fl, nm)                                                                      \
    {                                                                                              \
#m, FO_FIELD_ENUM, (fl), offsetof(T, m), 0, 0, NULL, (nm), 0                               \
    }
#define FO_PTR(T, m, fl, sc)                                                                       \
    {                                                                                              \
#m, FO_FIELD_PTR, (fl), offsetof(T, m), 0, 0, (sc), NULL, 0                                \
    }
#define FO_ARR(T, m, n, fl, mx, sc)                                                                \
    {                                                                                              \
#m, FO_FIELD_ARR, (fl), offsetof(T, m), offsetof(T, n), (mx), (sc), NULL, 0                \
    }
#define FO_STRS(T, m, n, fl, mx, smx)                                                              \
    {                                                                                              \
#m, FO_FIELD_STRS, (fl), offsetof(T, m), offsetof(T, n), (mx), NULL, NULL, (smx)           \
    }
#define FO_KV(T, m, n, fl, mx, smx)                                                                \
    {                                                                                              \
#m, FO_FIELD_KV, (fl), offsetof(T, m), offsetof(T, n), (mx), NULL, NULL, (smx)             \
    }
/* An enum whose values were added over time: ns is its names_since[] table. */
#define FO_ENUM_V(T, m, fl, nm, ns)                                                                \
    {                                                                                              \
#m, FO_FIELD_ENUM, (fl), offsetof(T, m), 0, 0, NULL, (nm), 0, 0, (ns)                      \
    }
/* A field added by format version v (> 1): must be FO_F_OPTIONAL (see "Versions"). */
#define FO_ENUM_SINCE(T, m, fl, nm, v)                                                             \
    {                                                                                              \
#m, FO_FIELD_ENUM, (fl), offsetof(T, m), 0, 0, NULL, (nm), 0, (v)                          \
    }
#define FO_U32_SINCE(T, m, fl, v)                                                                  \
    {                                                                                              \
#m, FO_FIELD_U32, (fl), offsetof(T, m), 0, 0, NULL, NULL, 0, (v)                           \
    }
#define FO_U64_SINCE(T, m, fl, v)                                                                  \
    {                                                                                              \
#m, FO_FIELD_U64, (fl), offsetof(T, m), 0, 0, NULL, NULL, 0, (v)                           \
    }
#define FO_ARR_SINCE(T, m, n, fl, mx, sc, v)                                                       \
    {                                                                                              \
#m, FO_FIELD_ARR, (fl), offsetof(T, m), offsetof(T, n), (mx), (sc), NULL, 0, (v)           \
    }
#define FO_SCHEMA(T, tbl)                                                                          \
    {                                                                                              \
#T, sizeof(T), (tbl), sizeof(tbl) / sizeof((tbl)[0])                                       \
    }

/* Release everything obj owns according to schema s and zero it. obj itself stays. */
void fo_schema_free(const struct fo_schema *s, void *obj);

/* Deep-copy src into dst (dst is overwritten, not freed first). On ENOMEM dst is left
 * zeroed and nothing leaks. */
enum fo_proto_code fo_schema_copy(const struct fo_schema *s, void *dst, const void *src);

/* The wire name of an enum value; NULL when out of range. */
const char *fo_enum_name(const char *const *names, int value);

/* Cut the string s to at most max bytes without splitting a UTF-8 sequence, so that a
 * shortened operator text still encodes (the encoder refuses invalid UTF-8). */
void fo_utf8_cut(char *s, size_t max);

/* ---- messages ------------------------------------------------------------------ */

/* One message type of a protocol family: its "t" tag, schema and the caller's id, and
 * the format that added it (0 = v1). */
struct fo_msg_type {
    const char *t;
    int id;
    const struct fo_schema *schema;
    uint32_t since;
};

/*
 * Encode obj (described by type->schema) as one frame: 4-byte big-endian length, then
 * the map {"v", "t", fields in table order}; "v" is the lowest version that carries
 * every field written (see "Versions"). Deterministic: the same struct always
 * gives the same bytes (golden vectors rely on it). out is owned by the caller.
 * Fails only with FO_PROTO_ENOMEM, or FO_PROTO_EVALUE if an enum member is out of range.
 */
enum fo_proto_code fo_msg_encode(const struct fo_msg_type *type, const void *obj,
                                 struct fo_buf *out, struct fo_proto_error *err);

/* The same, for a reader of format max at most: FO_PROTO_EVERSION (and nothing in out)
 * when obj needs a newer format, the error naming both. */
enum fo_proto_code fo_msg_encode_max(const struct fo_msg_type *type, const void *obj, unsigned max,
                                     struct fo_buf *out, struct fo_proto_error *err);

/* The format fo_msg_encode stamps on obj: the lowest that carries it. */
unsigned fo_msg_version(const struct fo_msg_type *type, const void *obj);

/*
 * Decode one message payload (the bytes after the frame header) of any type in
 * types[0..ntypes). On success *id is the matched type's id and obj (a zeroed struct of
 * that type's schema size, owned by the caller) holds the message; free its members
 * with fo_schema_free(). On error obj holds nothing that needs freeing.
 */
enum fo_proto_code fo_msg_decode(const struct fo_msg_type *types, size_t ntypes,
                                 const uint8_t *payload, size_t len, int *id, void *obj,
                                 struct fo_proto_error *err);

/* Pack obj's fields as a msgpack map (used for nested objects, and by tests). */
int fo_schema_pack(const struct fo_schema *s, const void *obj, msgpack_packer *pk);

#endif
