/*
 * coordinator/config/config_schema.c — see config_schema.h: the YAML node walk, the value
 * kinds, the one loop that reads a fixed-key map from its table, messages, and the
 * digest's serialization primitives.
 *
 * Aliases: libyaml resolves them to the anchored node (even a node that contains its
 * alias). Nothing here recurses on the data, only down the fixed schema, and every list
 * is counted against its limit before it is read (by the sections), so aliases can
 * neither loop nor multiply the work.
 */
#include "coordinator/config/config_schema.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "coordinator/config/addr.h"
#include "proto/state.h" /* FO_NAME_MAX */

/* ---- messages ---------------------------------------------------------------------- */

size_t cfg_line_of(const yaml_node_t *n)
{
    return n != NULL ? n->start_mark.line + 1 : 1;
}

/* Messages quote at most 40 bytes of file text (fo_error_quote): safe to log. */
const char *cfg_quote(const char *p, size_t n, char out[48])
{
    return fo_error_quote(p, n, out, 48);
}

static const char *quote_scalar(const yaml_node_t *n, char out[48])
{
    return cfg_quote((const char *)n->data.scalar.value, n->data.scalar.length, out);
}

/* "file:line: path: what". Returns FO_CONFIG_EINVALID. */
int cfg_fail(struct loader *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
{
    char what[sizeof(((struct fo_error *)NULL)->msg)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    ld->code = FO_CONFIG_EINVALID;
    return fo_error_set(ld->err, FO_CONFIG_EINVALID, "%s:%zu: %s%s%s", ld->file, cfg_line_of(at),
                        path, path[0] != '\0' ? ": " : "", what);
}

/* "file:line: path: 'value' what", the value quoted safely. */
int cfg_fail_value(struct loader *ld, const yaml_node_t *at, const char *path, const char *value,
                   const char *what)
{
    char q[48];
    return cfg_fail(ld, at, path, "'%s' %s", cfg_quote(value, strlen(value), q), what);
}

int cfg_no_memory(struct loader *ld)
{
    ld->code = FO_CONFIG_ESYSTEM;
    return fo_error_set(ld->err, FO_CONFIG_ESYSTEM, "%s: out of memory", ld->file);
}

/* Names are bounded (FO_NAME_MAX, cfg_quote()) so that no path reaches PATH_LEN; were one
 * to, it would end in "..." rather than be cut silently. */
static const char *mark_cut(char out[PATH_LEN], int n)
{
    if (n < 0 || n >= PATH_LEN)
        memcpy(out + PATH_LEN - 4, "...", 4);
    return out;
}

/* path + "." + key, or key alone at the top level. */
const char *cfg_join(char out[PATH_LEN], const char *path, const char *key)
{
    return mark_cut(out, snprintf(out, PATH_LEN, "%s%s%s", path, path[0] != '\0' ? "." : "", key));
}

const char *cfg_join_index(char out[PATH_LEN], const char *path, size_t i)
{
    return mark_cut(out, snprintf(out, PATH_LEN, "%s[%zu]", path, i));
}

/* ---- nodes and scalars ------------------------------------------------------------- */

yaml_node_t *cfg_node_at(struct loader *ld, int index)
{
    return yaml_document_get_node(ld->doc, index);
}

const char *cfg_kind_name(yaml_node_type_t t)
{
    switch (t) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a map";
    case YAML_NO_NODE:
        break;
    }
    return "nothing";
}

/* n is of kind t and carries that kind's default tag: an explicit tag (!!int, !!binary,
 * a local !tag) asks for a conversion this loader does not do. */
int cfg_expect(struct loader *ld, const yaml_node_t *n, const char *path, yaml_node_type_t t)
{
    static const char *const tags[] = {
        [YAML_SCALAR_NODE] = YAML_STR_TAG,
        [YAML_SEQUENCE_NODE] = YAML_SEQ_TAG,
        [YAML_MAPPING_NODE] = YAML_MAP_TAG,
    };

    if (n->type != t)
        return cfg_fail(ld, n, path, "expected %s, found %s", cfg_kind_name(t),
                        cfg_kind_name(n->type));
    if (n->tag == NULL || strcmp((const char *)n->tag, tags[t]) != 0) {
        const char *tag = n->tag != NULL ? (const char *)n->tag : "";
        char q[48];
        return cfg_fail(ld, n, path, "explicit tag '%s' is not supported",
                        cfg_quote(tag, strlen(tag), q));
    }
    return 0;
}

/* An empty or null plain scalar ("key:" with nothing after it, ~, null). */
static bool is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
            return true;
    return false;
}

/* The text of a scalar that has a value free of control characters (a "\0" or "\e"
 * escape could otherwise smuggle them into paths and logs). */
static const char *scalar_text(struct loader *ld, const yaml_node_t *n, const char *path)
{
    const unsigned char *v;

    if (cfg_expect(ld, n, path, YAML_SCALAR_NODE) != 0)
        return NULL;
    if (is_null(n)) {
        cfg_fail(ld, n, path, "has no value");
        return NULL;
    }
    v = n->data.scalar.value;
    for (size_t i = 0; i < n->data.scalar.length; i++) {
        if (v[i] < 0x20 || v[i] == 0x7f) {
            cfg_fail(ld, n, path, "contains a control character");
            return NULL;
        }
    }
    return (const char *)v;
}

/* A string of 1 to max bytes, stored in *out (owned by the config). */
int cfg_get_string(struct loader *ld, const yaml_node_t *n, const char *path, size_t max,
                   char **out)
{
    const char *s = scalar_text(ld, n, path);

    if (s == NULL)
        return ld->code;
    if (n->data.scalar.length == 0)
        return cfg_fail(ld, n, path, "is empty");
    if (n->data.scalar.length > max)
        return cfg_fail(ld, n, path, "is longer than %zu bytes", max);
    *out = strdup(s);
    return *out != NULL ? 0 : cfg_no_memory(ld);
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Check s (not empty: get_string saw to that) as a name (cluster, node, peer, region,
 * site); n is where it came from. */
static int check_name(struct loader *ld, const yaml_node_t *n, const char *path, const char *s)
{
    size_t len = strlen(s);
    char q[48];

    if (len > FO_NAME_MAX)
        return cfg_fail(ld, n, path, "'%s' is longer than %d bytes", cfg_quote(s, len, q),
                        FO_NAME_MAX);
    for (size_t i = 0; i < len; i++)
        if (!is_name_char(s[i]))
            return cfg_fail(ld, n, path,
                            "'%s': a name may only hold letters, digits, '.', '_', '-'",
                            cfg_quote(s, len, q));
    return 0;
}

int cfg_get_name(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, out);
    return rv != 0 ? rv : check_name(ld, n, path, *out);
}

/* A host name or address for Postgres, Redis or DNS: no spaces (nor control characters,
 * which scalar_text refuses). */
static int get_host(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, 255, out);

    if (rv == 0 && strchr(*out, ' ') != NULL)
        return cfg_fail_value(ld, n, path, *out, "is not a host: it contains a space");
    return rv;
}

static const char out_of_range[] = "is out of range";

/* Parse s[0..len) as a decimal in [min, max]: digits only (no sign, no space), no
 * leading zero (YAML 1.1 would read 0123 as octal), no overflow. why is set to the
 * reason on failure. */
static bool parse_u64(const char *s, size_t len, uint64_t min, uint64_t max, uint64_t *out,
                      const char **why)
{
    char *end;
    unsigned long long v;

    *why = "is not a decimal number";
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    *why = "has a leading zero (octal is not supported)";
    if (len > 1 && s[0] == '0')
        return false;
    *why = out_of_range;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end != s + len || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A plain (unquoted) decimal scalar in [min, max]. */
static int get_uint(struct loader *ld, const yaml_node_t *n, const char *path, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    const char *why;
    const char *s = scalar_text(ld, n, path);
    char q[48];

    if (s == NULL)
        return ld->code;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cfg_fail(ld, n, path, "expected a number, found a quoted string");
    if (parse_u64(s, n->data.scalar.length, min, max, out, &why))
        return 0;
    if (why == out_of_range) /* the same string, not equal text: parse_u64's outcome */
        return cfg_fail(ld, n, path, "'%s' %s (%llu to %llu)", quote_scalar(n, q), why,
                        (unsigned long long)min, (unsigned long long)max);
    return cfg_fail(ld, n, path, "'%s' %s", quote_scalar(n, q), why);
}

/* "a.b.c.d:port" with a dotted-quad IPv4 literal: what libraft 0.15's TCP transport and
 * the admin client (uv_ip4_addr) accept. */
static bool is_ipv4_port(const char *s)
{
    struct sockaddr_storage ss;

    /* libraft 0.15's TCP transport takes IPv4 literals only; the listeners and clients
     * (addr.h) also take "[v6]:port", but one config names every address the same way. */
    return fo_addr_parse(s, &ss, NULL) == FO_ADDR_OK && ss.ss_family == AF_INET;
}

static int get_ipv4_port(struct loader *ld, const yaml_node_t *n, const char *path,
                         const char *needs, char **out)
{
    char what[128];
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, out);

    if (rv != 0 || is_ipv4_port(*out))
        return rv;
    snprintf(what, sizeof(what), "is not an IPv4 address with a port (%s)", needs);
    return cfg_fail_value(ld, n, path, *out, what);
}

/* A region reference: a name listed in regions. */
static int get_region(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, out);

    for (size_t i = 0; rv == 0 && i < ld->cfg->nregions; i++)
        if (strcmp(ld->cfg->regions[i], *out) == 0)
            return 0;
    return rv != 0 ? rv : cfg_fail_value(ld, n, path, *out, "is not listed in regions");
}

/* http:// or https://, a host, no spaces (control characters: scalar_text). */
static int get_url(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_URL_MAX, out);
    const char *rest;

    if (rv != 0)
        return rv;
    if (strncasecmp(*out, "http://", 7) == 0)
        rest = *out + 7;
    else if (strncasecmp(*out, "https://", 8) == 0)
        rest = *out + 8;
    else
        return cfg_fail_value(ld, n, path, *out, "is not an http:// or https:// URL");
    if (rest[0] == '\0' || rest[0] == '/' || rest[0] == ':')
        return cfg_fail_value(ld, n, path, *out, "has no host");
    if (strchr(*out, ' ') != NULL)
        return cfg_fail_value(ld, n, path, *out, "contains a space");
    return 0;
}

/* A Prometheus label name: letters, digits and '_', not starting with a digit. */
static int get_label(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_NAME_MAX, out);

    if (rv == 0 && !cfg_is_env_name((const unsigned char *)*out, strlen(*out)))
        return cfg_fail_value(ld, n, path, *out,
                              "is not a label name (letters, digits and '_', not starting with a "
                              "digit)");
    return rv;
}

/* A plain true or false. YAML 1.1's yes/no/on/off are refused: a file that means one of
 * them should say so plainly, and a quoted "false" is a string, not a boolean. */
static int get_bool(struct loader *ld, const yaml_node_t *n, const char *path, uint64_t *out)
{
    const char *s = scalar_text(ld, n, path);
    char q[48];

    if (s == NULL)
        return ld->code;
    if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "true") == 0)
        *out = 1;
    else if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "false") == 0)
        *out = 0;
    else
        return cfg_fail(ld, n, path, "'%s' is not true or false",
                        cfg_quote(s, n->data.scalar.length, q));
    return 0;
}

/* One of k->names, quoted or not. */
static int get_enum(struct loader *ld, const struct cfg_key *k, const yaml_node_t *n,
                    const char *path, uint64_t *out)
{
    const char *s = scalar_text(ld, n, path);

    if (s == NULL)
        return ld->code;
    for (const struct cfg_enum *e = k->names; e->name != NULL; e++) {
        if (strcmp(s, e->name) == 0) {
            *out = e->value;
            return 0;
        }
    }
    return cfg_fail_value(ld, n, path, s, k->why);
}

/* ---- maps and lists ---------------------------------------------------------------- */

bool cfg_key_is(const yaml_node_t *k, const char *name)
{
    return k->data.scalar.length == strlen(name) &&
           memcmp(k->data.scalar.value, name, k->data.scalar.length) == 0;
}

/* A map key: a plain string, not a list, a map or a tagged value. */
int cfg_check_key(struct loader *ld, const yaml_node_t *k, const char *path)
{
    return cfg_expect(ld, k, path, YAML_SCALAR_NODE);
}

static int unknown_key(struct loader *ld, const yaml_node_t *k, const char *path,
                       const struct cfg_key *keys, size_t nkeys)
{
    char names[256] = "", sub[PATH_LEN], q[48];
    size_t used = 0;

    for (size_t i = 0; i < nkeys && used < sizeof(names); i++)
        used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i > 0 ? ", " : "",
                                 keys[i].name);
    return cfg_fail(ld, k, cfg_join(sub, path, quote_scalar(k, q)),
                    "unknown key (expected one of: %s)", names);
}

size_t cfg_map_size(const yaml_node_t *m)
{
    return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

size_t cfg_seq_size(const yaml_node_t *s)
{
    return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

/* ---- the schema tables ------------------------------------------------------------- */

/* The largest value a field of size bytes holds (sizeof(bool) is 1: a boolean). */
static uint64_t width_max(size_t size)
{
    return size >= sizeof(uint64_t) ? UINT64_MAX : size == 1 ? 1 : (1ull << (8 * size)) - 1;
}

/* Numbers, booleans and enums go into a field of k->size bytes: bool, uint16_t, uint32_t
 * (or an int enum: same size, values far below INT_MAX) or uint64_t. */
static void store_uint(void *field, size_t size, uint64_t v)
{
    uint16_t v16 = (uint16_t)v;
    uint32_t v32 = (uint32_t)v;
    bool b = v != 0;

    switch (size) {
    case sizeof(v16):
        memcpy(field, &v16, size);
        break;
    case sizeof(v32):
        memcpy(field, &v32, size);
        break;
    case sizeof(v):
        memcpy(field, &v, size);
        break;
    default:
        memcpy(field, &b, sizeof(b));
        break;
    }
}

/* Check and store one value n of key k into target. */
static int read_value(struct loader *ld, const struct cfg_key *k, const yaml_node_t *n,
                      const char *path, void *target)
{
    void *field = (char *)target + k->offset;
    char **str = field;
    uint64_t v = 0;
    int rv = 0;

    switch (k->kind) {
    case CFG_NODE:
        return 0;
    case CFG_STRING:
        return cfg_get_string(ld, n, path, k->max != 0 ? k->max : FO_CONFIG_STRING_MAX, str);
    case CFG_NAME:
        return cfg_get_name(ld, n, path, str);
    case CFG_HOST:
        return get_host(ld, n, path, str);
    case CFG_REGION:
        return get_region(ld, n, path, str);
    case CFG_ADDR:
        return get_ipv4_port(ld, n, path, k->why, str);
    case CFG_URL:
        return get_url(ld, n, path, str);
    case CFG_LABEL:
        return get_label(ld, n, path, str);
    case CFG_UINT:
        rv = get_uint(ld, n, path, k->min, k->max != 0 ? k->max : width_max(k->size), &v);
        break;
    case CFG_BOOL:
        rv = get_bool(ld, n, path, &v);
        break;
    case CFG_ENUM:
        rv = get_enum(ld, k, n, path, &v);
        break;
    }
    if (rv == 0)
        store_uint(field, k->size, v);
    return rv;
}

/* An absent key's default, if it has one (see struct cfg_key). A string already set (by
 * an earlier default) is kept. */
static int apply_default(struct loader *ld, const struct cfg_key *k, void *target)
{
    void *field = (char *)target + k->offset;
    char **str = field;

    if (k->kind == CFG_NODE)
        return 0;
    if (k->dflt_str != NULL && *str == NULL && (*str = strdup(k->dflt_str)) == NULL)
        return cfg_no_memory(ld);
    if (k->dflt != 0)
        store_uint(field, k->size, k->dflt);
    return 0;
}

/* Find each key of m in keys: known, once. val[i] is keys[i]'s value node. */
static int match_keys(struct loader *ld, const yaml_node_t *m, const char *path,
                      const struct cfg_key *keys, size_t nkeys, const yaml_node_t **val)
{
    const yaml_node_t *seen[CFG_MAX_KEYS] = {NULL};
    char sub[PATH_LEN];

    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = cfg_node_at(ld, p->key);
        size_t i = 0;

        if (cfg_check_key(ld, k, path) != 0)
            return ld->code;
        while (i < nkeys && !cfg_key_is(k, keys[i].name))
            i++;
        if (i == nkeys)
            return unknown_key(ld, k, path, keys, nkeys);
        if (seen[i] != NULL)
            return cfg_fail(ld, k, cfg_join(sub, path, keys[i].name),
                            "duplicate key (first on line %zu)", cfg_line_of(seen[i]));
        seen[i] = k;
        val[i] = cfg_node_at(ld, p->value);
    }
    return 0;
}

int cfg_read_map(struct loader *ld, const yaml_node_t *m, const char *path,
                 const struct cfg_key *keys, size_t nkeys, void *target, const yaml_node_t **at)
{
    const yaml_node_t *val[CFG_MAX_KEYS] = {NULL};
    char sub[PATH_LEN];

    if (nkeys > CFG_MAX_KEYS) /* a table grew past the scratch arrays: a bug, not input */
        abort();
    if (m != NULL && (cfg_expect(ld, m, path, YAML_MAPPING_NODE) != 0 ||
                      match_keys(ld, m, path, keys, nkeys, val) != 0))
        return ld->code;
    for (size_t i = 0; m != NULL && i < nkeys; i++)
        if (keys[i].required && val[i] == NULL)
            return cfg_fail(ld, m, cfg_join(sub, path, keys[i].name), "missing (required)");
    for (size_t i = 0; i < nkeys; i++) {
        if (val[i] != NULL
                ? read_value(ld, &keys[i], val[i], cfg_join(sub, path, keys[i].name), target) != 0
                : apply_default(ld, &keys[i], target) != 0)
            return ld->code;
    }
    if (at != NULL)
        memcpy(at, val, nkeys * sizeof(*at));
    return 0;
}

/* A Vercel variable name: letters, digits and '_', not starting with a digit. */
bool cfg_is_env_name(const unsigned char *s, size_t len)
{
    if (len == 0 || len > FO_NAME_MAX || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9')))
            return false;
    return true;
}

void *cfg_calloc(struct loader *ld, size_t count, size_t size)
{
    void *p = calloc(count > 0 ? count : 1, size);

    if (p == NULL)
        cfg_no_memory(ld);
    return p;
}

void *cfg_list_alloc(struct loader *ld, const yaml_node_t *n, const char *path, yaml_node_type_t t,
                     const char *what, size_t min, size_t max, size_t size, size_t *count)
{
    if (cfg_expect(ld, n, path, t) != 0)
        return NULL;
    *count = t == YAML_SEQUENCE_NODE ? cfg_seq_size(n) : cfg_map_size(n);
    if (*count < min || *count > max) {
        if (min == 0)
            cfg_fail(ld, n, path, "%zu %s: at most %zu", *count, what, max);
        else
            cfg_fail(ld, n, path, "%zu %s: expected %zu to %zu", *count, what, min, max);
        return NULL;
    }
    return cfg_calloc(ld, *count, size);
}

static const char *name_of(const void *items, size_t stride, size_t name_offset, size_t i)
{
    const char *name;

    memcpy(&name, (const char *)items + i * stride + name_offset, sizeof(name));
    return name;
}

int cfg_check_unique(struct loader *ld, const yaml_node_t *at, const char *path, const char *list,
                     const void *items, size_t stride, size_t name_offset, size_t i)
{
    const char *name = name_of(items, stride, name_offset, i);

    for (size_t j = 0; j < i; j++)
        if (strcmp(name_of(items, stride, name_offset, j), name) == 0)
            return cfg_fail(ld, at, path, "'%s' is also %s[%zu]'s name", name, list, j);
    return 0;
}

/* ---- digest ------------------------------------------------------------------------ */

/* The canonical serialization is fed straight into the hash: strings and counts are
 * length-prefixed (8 bytes, big-endian) so no two different configs serialize alike. */

static void put_raw(struct hasher *h, const void *p, size_t n)
{
    if (h->ok && EVP_DigestUpdate(h->ctx, p, n) != 1)
        h->ok = false;
}

void cfg_put_u64(struct hasher *h, uint64_t v)
{
    unsigned char b[8];
    for (int i = 7; i >= 0; i--, v >>= 8)
        b[i] = (unsigned char)(v & 0xff);
    put_raw(h, b, sizeof(b));
}

void cfg_put_str(struct hasher *h, const char *s)
{
    cfg_put_u64(h, strlen(s));
    put_raw(h, s, strlen(s));
}

void cfg_put_opt(struct hasher *h, const char *s)
{
    cfg_put_u64(h, s != NULL);
    if (s != NULL)
        cfg_put_str(h, s);
}

/* items are pointers to structs (or to char *) that begin with a char * name. */
static int cmp_name(const void *a, const void *b)
{
    const char *const *x = *(const char *const *const *)a;
    const char *const *y = *(const char *const *const *)b;
    return strcmp(*x, *y);
}

void cfg_sort_by_name(const void **items, size_t n)
{
    qsort(items, n, sizeof(items[0]), cmp_name);
}
