/*
 * coordinator/config/config_schema.h — private to the config loader: reading YAML against a
 * schema. Every fixed-key map of the file (the top level, node, peers[], sites.*, raft,
 * admin, decision, checks, feeds[], health, alertmanager, http, plan, plan.steps[] ...) is
 * described by one static table of struct cfg_key — its keys, each with a kind, whether
 * it is required, its default and bounds, and where its value goes in the target struct
 * (offsetof) — and read by one loop, cfg_read_map(), which reports unknown, duplicate and
 * missing keys and every wrong or out-of-range value with the file, line and key path.
 *
 * This module knows the YAML and the value kinds, nothing of the sections: config.c (the
 * topology, the digest, loading), config_policy.c and config_plan.c use it; it uses none
 * of them (config_internal.h declares what config.c calls in the other two).
 *
 * Every helper that reports an error stores it in the loader (ld->code, ld->err) and
 * returns that code, so callers chain them with || and return ld->code. Messages read
 * "file:line: path: what" (see cfg_fail). Strings a helper stores are owned by the
 * config being loaded, which fo_config_free() releases, so no error path frees anything.
 * Single-threaded, like the loader.
 */
#ifndef FO_COORDINATOR_CONFIG_SCHEMA_H
#define FO_COORDINATOR_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "coordinator/config/config.h"

/* Longest key path in messages: "sites.<64>.vercel_env.<64>" and a little more. */
#define PATH_LEN 256

#define NFIELDS(f) (sizeof(f) / sizeof((f)[0]))

struct loader {
    yaml_document_t *doc;
    const char *file; /* names the file in messages */
    struct fo_config *cfg;
    struct fo_error *err; /* may be NULL */
    int code;             /* the fo_config_code of the first error */
};

/* ---- the schema tables ---- */

/* What a key's value is, and so how it is checked and stored. Strings are stored as a
 * char * (owned by the config); numbers, booleans and enums into an unsigned integer or
 * bool field of the size CFG_AT records. */
enum cfg_kind {
    CFG_NODE,   /* any node, not converted: the caller reads it (a subsection, a list) */
    CFG_STRING, /* 1 to max bytes (default FO_CONFIG_STRING_MAX), no control characters */
    CFG_NAME,   /* a name: letters, digits, '.', '_', '-', at most FO_NAME_MAX bytes */
    CFG_HOST,   /* a host name or address, at most 255 bytes, no spaces */
    CFG_REGION, /* a name listed in regions (read before anything that names one) */
    CFG_ADDR,   /* "a.b.c.d:port" (IPv4 literal); why says who needs that form */
    CFG_URL,    /* http:// or https:// with a host, no spaces */
    CFG_LABEL,  /* a Prometheus label name */
    CFG_UINT,   /* a plain decimal in [min, max]; max 0: the field's largest value */
    CFG_BOOL,   /* plain true or false */
    CFG_ENUM,   /* one of names[]; its value is stored */
};

/* One name of a CFG_ENUM; a table ends with {NULL}. */
struct cfg_enum {
    const char *name;
    unsigned value;
};

/* One key of a fixed-key map. Defaults apply to absent keys only, and only when set
 * (dflt != 0 or dflt_str != NULL): a zero default leaves the field as the caller set it,
 * which is zero in a fresh config or a default that depends on other settings. */
struct cfg_key {
    const char *name;
    enum cfg_kind kind;
    bool required;
    size_t offset;                /* of the field in the target (not for CFG_NODE) */
    size_t size;                  /* of that field */
    uint64_t min, max;            /* CFG_UINT range; CFG_STRING: max is its length limit */
    uint64_t dflt;                /* CFG_UINT, CFG_BOOL, CFG_ENUM */
    const char *dflt_str;         /* string kinds: copied */
    const char *why;              /* CFG_ADDR: "libraft 0.15 needs a.b.c.d:port"; CFG_ENUM: the
                                   * message for any other value, "is not none, from or to" */
    const struct cfg_enum *names; /* CFG_ENUM */
};

/* The offset and size of a field: a cfg_key's fourth and fifth members. */
#define CFG_AT(type, field) offsetof(type, field), sizeof(((type *)NULL)->field)

/* Read map m at path against keys[0..nkeys): every key known and present once, every
 * required key present; then, key by key in table order (so the first error reported is
 * the same whatever the file's key order), a present value checked and stored into
 * target, or an absent key's default applied. at[i] (when at is not NULL) is set
 * to the value node of keys[i], or NULL when absent, for the caller's subsections and for
 * messages about rules between keys. m NULL (an absent optional section): only the
 * defaults. nkeys is at most CFG_MAX_KEYS (a larger table is a bug: abort). */
#define CFG_MAX_KEYS 16
int cfg_read_map(struct loader *ld, const yaml_node_t *m, const char *path,
                 const struct cfg_key *keys, size_t nkeys, void *target, const yaml_node_t **at);

/* ---- messages ---- */
size_t cfg_line_of(const yaml_node_t *n);
const char *cfg_quote(const char *p, size_t n, char out[48]); /* at most 40 bytes, safe */
int cfg_fail(struct loader *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int cfg_fail_value(struct loader *ld, const yaml_node_t *at, const char *path, const char *value,
                   const char *what);
int cfg_no_memory(struct loader *ld);
const char *cfg_join(char out[PATH_LEN], const char *path, const char *key);
const char *cfg_join_index(char out[PATH_LEN], const char *path, size_t i);

/* ---- nodes, scalars, maps and lists ---- */
yaml_node_t *cfg_node_at(struct loader *ld, int index);
const char *cfg_kind_name(yaml_node_type_t t);
int cfg_expect(struct loader *ld, const yaml_node_t *n, const char *path, yaml_node_type_t t);
int cfg_get_string(struct loader *ld, const yaml_node_t *n, const char *path, size_t max,
                   char **out);
int cfg_get_name(struct loader *ld, const yaml_node_t *n, const char *path, char **out);
bool cfg_key_is(const yaml_node_t *k, const char *name);
int cfg_check_key(struct loader *ld, const yaml_node_t *k, const char *path);
size_t cfg_map_size(const yaml_node_t *m);
size_t cfg_seq_size(const yaml_node_t *s);
bool cfg_is_env_name(const unsigned char *s, size_t len);

/* calloc(count, size), at least one item (so an empty list is not NULL), or ENOMEM
 * reported and NULL. */
void *cfg_calloc(struct loader *ld, size_t count, size_t size);

/* A list section: n must be a node of type t (a sequence, or a map) of min to max entries,
 * else the error "N <what>: expected min to max" ("at most max" when min is 0) at path.
 * Returns a zeroed array of that many elements of size (cfg_calloc) with *count set, or
 * NULL with the error in ld. */
void *cfg_list_alloc(struct loader *ld, const yaml_node_t *n, const char *path, yaml_node_type_t t,
                     const char *what, size_t min, size_t max, size_t size, size_t *count);

/* items[i]'s name field (a char * at name_offset in items of stride bytes) against items
 * [0, i): its first repeat is reported at `at` as "'NAME' is also LIST[j]'s name". */
int cfg_check_unique(struct loader *ld, const yaml_node_t *at, const char *path, const char *list,
                     const void *items, size_t stride, size_t name_offset, size_t i);

/* ---- digest: the canonical serialization (config.h) ---- */

/* The digest's running hash; ok turns false on the first libcrypto failure. */
struct hasher {
    EVP_MD_CTX *ctx;
    bool ok;
};

void cfg_put_u64(struct hasher *h, uint64_t v);
void cfg_put_str(struct hasher *h, const char *s);
void cfg_put_opt(struct hasher *h, const char *s); /* presence first: absent != empty */

/* Sort n pointers to structs whose first member is a char * name, by that name: every
 * named set in the digest (sites, feeds, checks, env) is ordered this way. */
void cfg_sort_by_name(const void **items, size_t n);

#endif
