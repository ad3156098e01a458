/*
 * coordinator/config/config.c — see config.h for the contract.
 *
 * libyaml's document API builds the node tree, each node with its line; this file walks
 * that tree against a fixed schema. Sections are read in dependency order — regions
 * before the peers and sites that name them, peers before node.name, node before
 * admin.listen's default, and the policy sections (config_policy.c) last — whatever their
 * order in the file, so every cross-reference is checked where its node (and so its line)
 * is at hand. Helpers shared with config_policy.c are declared in config_internal.h.
 *
 * Everything read is stored in the caller's fo_config as soon as it is allocated, so a
 * single fo_config_free() on the way out releases a half-built config: no error path
 * frees anything itself.
 *
 * Aliases: libyaml resolves them to the anchored node (even a node that contains its
 * alias). The walk never recurses on the data, only down the fixed schema, and every
 * list is counted against its limit before it is read, so aliases can neither loop nor
 * multiply the work.
 */
#include "coordinator/config/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "coordinator/config/addr.h"
#include "coordinator/config/config_internal.h"
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

int cfg_fail(struct loader *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

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
const char *cfg_scalar_text(struct loader *ld, const yaml_node_t *n, const char *path)
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
    const char *s = cfg_scalar_text(ld, n, path);

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
int cfg_check_name(struct loader *ld, const yaml_node_t *n, const char *path, const char *s)
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
    return rv != 0 ? rv : cfg_check_name(ld, n, path, *out);
}

/* The name in field f, or a copy of dflt when f is absent. */
static int get_name_or(struct loader *ld, const struct field *f, const char *path, const char *dflt,
                       char **out)
{
    if (f->value != NULL)
        return cfg_get_name(ld, f->value, path, out);
    *out = strdup(dflt);
    return *out != NULL ? 0 : cfg_no_memory(ld);
}

/* A host name or address for Postgres, Redis or DNS: no spaces (nor control characters,
 * which scalar_text refuses). */
int cfg_get_host(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, 255, out);

    if (rv == 0 && strchr(*out, ' ') != NULL)
        return cfg_fail_value(ld, n, path, *out, "is not a host: it contains a space");
    return rv;
}

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
    *why = "is out of range";
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || end != s + len || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* A plain (unquoted) decimal scalar in [min, max]. */
int cfg_get_u64(struct loader *ld, const yaml_node_t *n, const char *path, uint64_t min,
                uint64_t max, uint64_t *out)
{
    const char *why;
    const char *s = cfg_scalar_text(ld, n, path);

    if (s == NULL)
        return ld->code;
    if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cfg_fail(ld, n, path, "expected a number, found a quoted string");
    if (!parse_u64(s, n->data.scalar.length, min, max, out, &why)) {
        char q[48];
        if (strcmp(why, "is out of range") == 0)
            return cfg_fail(ld, n, path, "'%s' is out of range (%llu to %llu)", quote_scalar(n, q),
                            (unsigned long long)min, (unsigned long long)max);
        return cfg_fail(ld, n, path, "'%s' %s", quote_scalar(n, q), why);
    }
    return 0;
}

int cfg_get_u32(struct loader *ld, const yaml_node_t *n, const char *path, uint32_t min,
                uint32_t max, uint32_t *out)
{
    uint64_t v;
    int rv = cfg_get_u64(ld, n, path, min, max, &v);
    if (rv == 0)
        *out = (uint32_t)v;
    return rv;
}

static int get_port(struct loader *ld, const yaml_node_t *n, const char *path, uint16_t *out)
{
    uint64_t v;
    int rv = cfg_get_u64(ld, n, path, 1, 65535, &v);
    if (rv == 0)
        *out = (uint16_t)v;
    return rv;
}

/* "a.b.c.d:port" with a dotted-quad IPv4 literal: what libraft 0.15's TCP transport takes.
 * The listeners and clients (addr.h) also take "[v6]:port", but one config file names
 * every address the same way, so the loader keeps to IPv4 until libraft does not. */
static bool is_ipv4_port(const char *s)
{
    struct sockaddr_storage ss;

    return fo_addr_parse(s, &ss, NULL) == FO_ADDR_OK && ss.ss_family == AF_INET;
}

int cfg_get_ipv4_port(struct loader *ld, const yaml_node_t *n, const char *path, const char *needs,
                      char **out)
{
    char what[128];
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, out);

    if (rv != 0 || is_ipv4_port(*out))
        return rv;
    snprintf(what, sizeof(what), "is not an IPv4 address with a port (%s)", needs);
    return cfg_fail_value(ld, n, path, *out, what);
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
                       const struct field *f, size_t nf)
{
    char keys[256] = "", sub[PATH_LEN], q[48];
    size_t used = 0;

    for (size_t i = 0; i < nf && used < sizeof(keys); i++)
        used += (size_t)snprintf(keys + used, sizeof(keys) - used, "%s%s", i > 0 ? ", " : "",
                                 f[i].name);
    return cfg_fail(ld, k, cfg_join(sub, path, quote_scalar(k, q)),
                    "unknown key (expected one of: %s)", keys);
}

/* Read map m against the schema f[0..nf): each key known and present once, every
 * required key present. Fills f[i].key and f[i].value. */
int cfg_read_map(struct loader *ld, const yaml_node_t *m, const char *path, struct field *f,
                 size_t nf)
{
    char sub[PATH_LEN];

    if (cfg_expect(ld, m, path, YAML_MAPPING_NODE) != 0)
        return ld->code;
    for (const yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = cfg_node_at(ld, p->key);
        struct field *hit = NULL;

        if (cfg_check_key(ld, k, path) != 0)
            return ld->code;
        for (size_t i = 0; i < nf && hit == NULL; i++)
            if (cfg_key_is(k, f[i].name))
                hit = &f[i];
        if (hit == NULL)
            return unknown_key(ld, k, path, f, nf);
        if (hit->key != NULL)
            return cfg_fail(ld, k, cfg_join(sub, path, hit->name),
                            "duplicate key (first on line %zu)", cfg_line_of(hit->key));
        hit->key = k;
        hit->value = cfg_node_at(ld, p->value);
    }
    for (size_t i = 0; i < nf; i++)
        if (f[i].required && f[i].value == NULL)
            return cfg_fail(ld, m, cfg_join(sub, path, f[i].name), "missing (required)");
    return 0;
}

size_t cfg_map_size(const yaml_node_t *m)
{
    return (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
}

size_t cfg_seq_size(const yaml_node_t *s)
{
    return (size_t)(s->data.sequence.items.top - s->data.sequence.items.start);
}

/* ---- regions and peers ------------------------------------------------------------- */

bool cfg_has_region(const struct fo_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->nregions; i++)
        if (strcmp(cfg->regions[i], name) == 0)
            return true;
    return false;
}

/* A region reference: a name listed in regions. */
int cfg_get_region(struct loader *ld, const yaml_node_t *n, const char *path, char **out)
{
    int rv = cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, out);

    if (rv == 0 && !cfg_has_region(ld->cfg, *out))
        return cfg_fail_value(ld, n, path, *out, "is not listed in regions");
    return rv;
}

static int parse_regions(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    char sub[PATH_LEN];
    size_t count;

    if (cfg_expect(ld, n, "regions", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(n);
    if (count == 0 || count > FO_CONFIG_MAX_REGIONS)
        return cfg_fail(ld, n, "regions", "%zu regions: expected 1 to %d", count,
                        FO_CONFIG_MAX_REGIONS);
    cfg->regions = calloc(count, sizeof(*cfg->regions));
    if (cfg->regions == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_t *item = cfg_node_at(ld, n->data.sequence.items.start[i]);

        cfg->nregions = i + 1;
        if (cfg_get_name(ld, item, cfg_join_index(sub, "regions", i), &cfg->regions[i]) != 0)
            return ld->code;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->regions[j], cfg->regions[i]) == 0)
                return cfg_fail(ld, item, sub, "'%s' is listed twice (as regions[%zu] too)",
                                cfg->regions[i], j); /* a valid name: safe to print */
    }
    return 0;
}

/* Report peers[i] duplicating an earlier peer's name, id, raft or admin address. */
static int check_peer_unique(struct loader *ld, size_t i, const struct field *f)
{
    const struct fo_peer *p = &ld->cfg->peers[i];
    char sub[PATH_LEN], path[PATH_LEN], q[48];

    cfg_join_index(path, "peers", i);
    for (size_t j = 0; j < i; j++) {
        const struct fo_peer *o = &ld->cfg->peers[j];
        if (strcmp(p->name, o->name) == 0)
            return cfg_fail(ld, f[0].value, cfg_join(sub, path, "name"),
                            "'%s' is also peers[%zu]'s name",
                            cfg_quote(p->name, strlen(p->name), q), j);
        if (p->id == o->id)
            return cfg_fail(ld, f[1].value, cfg_join(sub, path, "id"),
                            "%llu is also peers[%zu]'s id", (unsigned long long)p->id, j);
        if (strcmp(p->raft, o->raft) == 0)
            return cfg_fail(ld, f[3].value, cfg_join(sub, path, "raft"),
                            "'%s' is also peers[%zu]'s raft", p->raft, j);
        if (strcmp(p->admin, o->admin) == 0)
            return cfg_fail(ld, f[4].value, cfg_join(sub, path, "admin"),
                            "'%s' is also peers[%zu]'s admin", p->admin, j);
    }
    return 0;
}

static int parse_peer(struct loader *ld, const yaml_node_t *n, size_t i)
{
    struct fo_peer *p = &ld->cfg->peers[i];
    struct field f[] = {
        {"name", true}, {"id", true}, {"region", true}, {"raft", true}, {"admin", true},
    };
    char path[PATH_LEN], sub[PATH_LEN];

    cfg_join_index(path, "peers", i);
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        cfg_get_name(ld, f[0].value, cfg_join(sub, path, "name"), &p->name) != 0 ||
        /* libraft reserves id 0 for "no server" */
        cfg_get_u64(ld, f[1].value, cfg_join(sub, path, "id"), 1, UINT64_MAX, &p->id) != 0 ||
        cfg_get_region(ld, f[2].value, cfg_join(sub, path, "region"), &p->region) != 0 ||
        cfg_get_ipv4_port(ld, f[3].value, cfg_join(sub, path, "raft"),
                          "libraft 0.15 needs a.b.c.d:port", &p->raft) != 0 ||
        cfg_get_ipv4_port(ld, f[4].value, cfg_join(sub, path, "admin"), "clients dial a.b.c.d:port",
                          &p->admin) != 0)
        return ld->code;
    return check_peer_unique(ld, i, f);
}

static int parse_peers(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    size_t count;

    if (cfg_expect(ld, n, "peers", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(n);
    if (count == 0)
        return cfg_fail(ld, n, "peers", "no peers: at least one voter is needed");
    if (count > FO_CONFIG_MAX_PEERS)
        return cfg_fail(ld, n, "peers", "%zu peers: at most %d", count, FO_CONFIG_MAX_PEERS);
    /* n voters survive (n - 1) / 2 failures; n + 1 survive no more and need one more
     * vote for every decision, so an even count is a mistake. */
    if (count % 2 == 0)
        return cfg_fail(ld, n, "peers", "%zu peers: Raft needs an odd number of voters", count);
    cfg->peers = calloc(count, sizeof(*cfg->peers));
    if (cfg->peers == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < count; i++) {
        cfg->npeers = i + 1;
        if (parse_peer(ld, cfg_node_at(ld, n->data.sequence.items.start[i]), i) != 0)
            return ld->code;
    }
    return 0;
}

/* ---- sites ------------------------------------------------------------------------- */

static int parse_postgres(struct loader *ld, const yaml_node_t *n, const char *path,
                          struct fo_site *site)
{
    struct fo_site_postgres *pg = calloc(1, sizeof(*pg));
    struct field f[] = {
        {"region", true},  {"host", true},  {"port", false},
        {"dbname", false}, {"user", false}, {"password_file", false},
    };
    char sub[PATH_LEN];

    if (pg == NULL)
        return cfg_no_memory(ld);
    site->postgres = pg;
    pg->port = 5432;
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        cfg_get_region(ld, f[0].value, cfg_join(sub, path, "region"), &pg->region) != 0 ||
        cfg_get_host(ld, f[1].value, cfg_join(sub, path, "host"), &pg->host) != 0 ||
        (f[2].value != NULL &&
         get_port(ld, f[2].value, cfg_join(sub, path, "port"), &pg->port) != 0))
        return ld->code;
    if (get_name_or(ld, &f[3], cfg_join(sub, path, "dbname"), "postgres", &pg->dbname) != 0 ||
        get_name_or(ld, &f[4], cfg_join(sub, path, "user"), "failoverd", &pg->user) != 0)
        return ld->code;
    if (f[5].value != NULL && cfg_get_string(ld, f[5].value, cfg_join(sub, path, "password_file"),
                                             FO_CONFIG_STRING_MAX, &pg->password_file) != 0)
        return ld->code;
    return 0;
}

static int parse_redis(struct loader *ld, const yaml_node_t *n, const char *path,
                       struct fo_site *site)
{
    struct fo_site_redis *r = calloc(1, sizeof(*r));
    struct field f[] = {
        {"region", true}, {"host", true}, {"port", false}, {"password_file", false}};
    char sub[PATH_LEN];

    if (r == NULL)
        return cfg_no_memory(ld);
    site->redis = r;
    r->port = 6379;
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        cfg_get_region(ld, f[0].value, cfg_join(sub, path, "region"), &r->region) != 0 ||
        cfg_get_host(ld, f[1].value, cfg_join(sub, path, "host"), &r->host) != 0 ||
        (f[2].value != NULL &&
         get_port(ld, f[2].value, cfg_join(sub, path, "port"), &r->port) != 0) ||
        (f[3].value != NULL && cfg_get_string(ld, f[3].value, cfg_join(sub, path, "password_file"),
                                              FO_CONFIG_STRING_MAX, &r->password_file) != 0))
        return ld->code;
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

/* One vercel_env value: a plain scalar (inline), or {value: V} / {file: PATH}. */
static int parse_env_value(struct loader *ld, const yaml_node_t *n, const char *path,
                           struct fo_env_var *e)
{
    struct field f[] = {{"value", false}, {"file", false}};
    char sub[PATH_LEN];

    if (n->type == YAML_SCALAR_NODE)
        return cfg_get_string(ld, n, path, FO_CONFIG_STRING_MAX, &e->value);
    if (n->type != YAML_MAPPING_NODE)
        return cfg_fail(ld, n, path, "expected a value or a map {file: PATH}, found %s",
                        cfg_kind_name(n->type));
    if (cfg_read_map(ld, n, path, f, 2) != 0)
        return ld->code;
    if ((f[0].value != NULL) == (f[1].value != NULL))
        return cfg_fail(ld, n, path, "needs exactly one of value or file (found %s)",
                        f[0].value != NULL ? "both" : "neither");
    if (f[0].value != NULL)
        return cfg_get_string(ld, f[0].value, cfg_join(sub, path, "value"), FO_CONFIG_STRING_MAX,
                              &e->value);
    return cfg_get_string(ld, f[1].value, cfg_join(sub, path, "file"), FO_CONFIG_STRING_MAX,
                          &e->value_file);
}

static int parse_env(struct loader *ld, const yaml_node_t *n, const char *path,
                     struct fo_site *site)
{
    char sub[PATH_LEN], q[48];
    size_t count;

    if (cfg_expect(ld, n, path, YAML_MAPPING_NODE) != 0)
        return ld->code;
    count = cfg_map_size(n);
    if (count > FO_CONFIG_MAX_ENV)
        return cfg_fail(ld, n, path, "%zu variables: at most %d", count, FO_CONFIG_MAX_ENV);
    site->vercel_env = calloc(count > 0 ? count : 1, sizeof(*site->vercel_env));
    if (site->vercel_env == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const yaml_node_t *k = cfg_node_at(ld, p->key);
        struct fo_env_var *e = &site->vercel_env[i];

        if (cfg_check_key(ld, k, path) != 0)
            return ld->code;
        if (!cfg_is_env_name(k->data.scalar.value, k->data.scalar.length))
            return cfg_fail(ld, k, cfg_join(sub, path, quote_scalar(k, q)),
                            "not a variable name (letters, digits and '_', at most %d bytes, "
                            "not starting with a digit)",
                            FO_NAME_MAX);
        for (size_t j = 0; j < i; j++)
            if (cfg_key_is(k, site->vercel_env[j].name))
                return cfg_fail(ld, k, cfg_join(sub, path, site->vercel_env[j].name),
                                "duplicate key");
        e->name = strdup((const char *)k->data.scalar.value);
        if (e->name == NULL)
            return cfg_no_memory(ld);
        site->nvercel_env = i + 1;
        if (parse_env_value(ld, cfg_node_at(ld, p->value), cfg_join(sub, path, e->name), e) != 0)
            return ld->code;
    }
    return 0;
}

static int parse_site(struct loader *ld, const yaml_node_t *n, const char *path,
                      struct fo_site *site)
{
    struct field f[] = {
        {"priority", false},   {"postgres", false},   {"redis", false},
        {"vercel_env", false}, {"dns_origin", false},
    };
    char sub[PATH_LEN];

    site->priority = 100;
    if (cfg_read_map(ld, n, path, f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL && cfg_get_u32(ld, f[0].value, cfg_join(sub, path, "priority"), 0,
                                           UINT32_MAX, &site->priority) != 0) ||
        (f[1].value != NULL &&
         parse_postgres(ld, f[1].value, cfg_join(sub, path, "postgres"), site)) ||
        (f[2].value != NULL && parse_redis(ld, f[2].value, cfg_join(sub, path, "redis"), site)) ||
        (f[3].value != NULL &&
         parse_env(ld, f[3].value, cfg_join(sub, path, "vercel_env"), site)) ||
        (f[4].value != NULL &&
         cfg_get_host(ld, f[4].value, cfg_join(sub, path, "dns_origin"), &site->dns_origin) != 0))
        return ld->code;
    return 0;
}

static int parse_sites(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    char sub[PATH_LEN];
    size_t count;

    if (cfg_expect(ld, n, "sites", YAML_MAPPING_NODE) != 0)
        return ld->code;
    count = cfg_map_size(n);
    if (count == 0 || count > FO_CONFIG_MAX_SITES)
        return cfg_fail(ld, n, "sites", "%zu sites: expected 1 to %d", count, FO_CONFIG_MAX_SITES);
    cfg->sites = calloc(count, sizeof(*cfg->sites));
    if (cfg->sites == NULL)
        return cfg_no_memory(ld);
    for (size_t i = 0; i < count; i++) {
        const yaml_node_pair_t *p = &n->data.mapping.pairs.start[i];
        const yaml_node_t *k = cfg_node_at(ld, p->key);
        struct fo_site *site = &cfg->sites[i];

        cfg->nsites = i + 1;
        if (cfg_check_key(ld, k, "sites") != 0 || cfg_get_name(ld, k, "sites", &site->name) != 0)
            return ld->code;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->sites[j].name, site->name) == 0)
                return cfg_fail(ld, k, cfg_join(sub, "sites", site->name), "duplicate key");
        if (parse_site(ld, cfg_node_at(ld, p->value), cfg_join(sub, "sites", site->name), site) !=
            0)
            return ld->code;
    }
    return 0;
}

/* ---- node, raft, admin ------------------------------------------------------------- */

static int parse_node(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    struct field f[] = {{"name", true}, {"data_dir", true}};

    if (cfg_read_map(ld, n, "node", f, 2) != 0 ||
        cfg_get_name(ld, f[0].value, "node.name", &cfg->node_name) != 0 ||
        cfg_get_string(ld, f[1].value, "node.data_dir", FO_CONFIG_STRING_MAX, &cfg->data_dir) != 0)
        return ld->code;
    cfg->self = fo_config_peer_by_name(cfg, cfg->node_name);
    if (cfg->self == NULL)
        return cfg_fail_value(ld, f[0].value, "node.name", cfg->node_name,
                              "is not the name of any peer");
    return 0;
}

static int parse_raft(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_raft *r = &ld->cfg->raft;
    struct field f[] = {
        {"election_timeout_ms", false}, {"heartbeat_ms", false},     {"snapshot_threshold", false},
        {"snapshot_trailing", false},   {"connect_retry_ms", false},
    };

    if (cfg_read_map(ld, n, "raft", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL && cfg_get_u32(ld, f[0].value, "raft.election_timeout_ms", 100, 600000,
                                           &r->election_timeout_ms) != 0) ||
        (f[1].value != NULL &&
         cfg_get_u32(ld, f[1].value, "raft.heartbeat_ms", 1, 600000, &r->heartbeat_ms) != 0) ||
        (f[2].value != NULL && cfg_get_u32(ld, f[2].value, "raft.snapshot_threshold", 1, UINT32_MAX,
                                           &r->snapshot_threshold) != 0) ||
        (f[3].value != NULL && cfg_get_u32(ld, f[3].value, "raft.snapshot_trailing", 0, UINT32_MAX,
                                           &r->snapshot_trailing) != 0) ||
        (f[4].value != NULL && cfg_get_u32(ld, f[4].value, "raft.connect_retry_ms", 1, 600000,
                                           &r->connect_retry_ms) != 0))
        return ld->code;
    /* A leader must be heard from several times per election timeout, or followers
     * start elections against a healthy leader. */
    if (r->heartbeat_ms >= r->election_timeout_ms)
        return cfg_fail(ld, f[1].value != NULL ? f[1].value : f[0].value,
                        f[1].value != NULL ? "raft.heartbeat_ms" : "raft.election_timeout_ms",
                        "heartbeat_ms (%u) must be below election_timeout_ms (%u)", r->heartbeat_ms,
                        r->election_timeout_ms);
    return 0;
}

static int parse_admin(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_admin *a = &ld->cfg->admin;
    struct field f[] = {
        {"listen", false},          {"token_file", true},          {"read_token_file", false},
        {"max_connections", false}, {"request_timeout_ms", false},
    };

    if (cfg_read_map(ld, n, "admin", f, NFIELDS(f)) != 0 ||
        (f[0].value != NULL &&
         cfg_get_ipv4_port(ld, f[0].value, "admin.listen",
                           "the admin server listens on a.b.c.d:port", &a->listen) != 0) ||
        cfg_get_string(ld, f[1].value, "admin.token_file", FO_CONFIG_STRING_MAX, &a->token_file) !=
            0 ||
        (f[2].value != NULL && cfg_get_string(ld, f[2].value, "admin.read_token_file",
                                              FO_CONFIG_STRING_MAX, &a->read_token_file) != 0) ||
        (f[3].value != NULL && cfg_get_u32(ld, f[3].value, "admin.max_connections", 1, 65536,
                                           &a->max_connections) != 0) ||
        (f[4].value != NULL && cfg_get_u32(ld, f[4].value, "admin.request_timeout_ms", 1, 3600000,
                                           &a->request_timeout_ms) != 0))
        return ld->code;
    if (a->listen == NULL && (a->listen = strdup(ld->cfg->self->admin)) == NULL)
        return cfg_no_memory(ld);
    return 0;
}

/* ---- digest ------------------------------------------------------------------------ */

/* The canonical serialization is fed straight into the hash: strings and counts are
 * length-prefixed (8 bytes, big-endian) so no two different configs serialize alike.
 * struct hasher is in config_internal.h. */

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

/* An optional string: presence first, so absent and empty differ. */
static void put_opt(struct hasher *h, const char *s)
{
    cfg_put_u64(h, s != NULL);
    if (s != NULL)
        cfg_put_str(h, s);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_peer(const void *a, const void *b)
{
    const struct fo_peer *x = *(const struct fo_peer *const *)a;
    const struct fo_peer *y = *(const struct fo_peer *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_site(const void *a, const void *b)
{
    const struct fo_site *x = *(const struct fo_site *const *)a;
    const struct fo_site *y = *(const struct fo_site *const *)b;
    return strcmp(x->name, y->name);
}

static int cmp_env(const void *a, const void *b)
{
    const struct fo_env_var *x = *(const struct fo_env_var *const *)a;
    const struct fo_env_var *y = *(const struct fo_env_var *const *)b;
    return strcmp(x->name, y->name);
}

static void put_site(struct hasher *h, const struct fo_site *s)
{
    const struct fo_env_var *env[FO_CONFIG_MAX_ENV] = {NULL};

    cfg_put_str(h, s->name);
    cfg_put_u64(h, s->priority);
    cfg_put_u64(h, s->postgres != NULL);
    if (s->postgres != NULL) {
        cfg_put_str(h, s->postgres->region);
        cfg_put_str(h, s->postgres->host);
        cfg_put_u64(h, s->postgres->port);
        cfg_put_str(h, s->postgres->dbname);
        cfg_put_str(h, s->postgres->user);
        cfg_put_u64(h, s->postgres->password_file != NULL);
    }
    cfg_put_u64(h, s->redis != NULL);
    if (s->redis != NULL) {
        cfg_put_str(h, s->redis->region);
        cfg_put_str(h, s->redis->host);
        cfg_put_u64(h, s->redis->port);
        cfg_put_u64(h, s->redis->password_file != NULL);
    }
    for (size_t i = 0; i < s->nvercel_env; i++)
        env[i] = &s->vercel_env[i];
    qsort(env, s->nvercel_env, sizeof(env[0]), cmp_env);
    cfg_put_u64(h, s->nvercel_env);
    for (size_t i = 0; i < s->nvercel_env; i++) {
        cfg_put_str(h, env[i]->name);
        put_opt(h, env[i]->value); /* NULL: from a file, whose path is local */
    }
    put_opt(h, s->dns_origin);
}

/* Feed the replicated part, sets sorted, into h. */
static void put_replicated(struct hasher *h, const struct fo_config *cfg)
{
    const char *regions[FO_CONFIG_MAX_REGIONS] = {NULL};
    const struct fo_peer *peers[FO_CONFIG_MAX_PEERS] = {NULL};
    const struct fo_site *sites[FO_CONFIG_MAX_SITES] = {NULL};

    cfg_put_str(h, "failoverd.config.v2"); /* v2: the policy sections */
    cfg_put_str(h, cfg->cluster);
    memcpy(regions, cfg->regions, cfg->nregions * sizeof(regions[0]));
    qsort(regions, cfg->nregions, sizeof(regions[0]), cmp_str);
    cfg_put_u64(h, cfg->nregions);
    for (size_t i = 0; i < cfg->nregions; i++)
        cfg_put_str(h, regions[i]);
    for (size_t i = 0; i < cfg->npeers; i++)
        peers[i] = &cfg->peers[i];
    qsort(peers, cfg->npeers, sizeof(peers[0]), cmp_peer);
    cfg_put_u64(h, cfg->npeers);
    for (size_t i = 0; i < cfg->npeers; i++) {
        cfg_put_u64(h, peers[i]->id);
        cfg_put_str(h, peers[i]->name);
        cfg_put_str(h, peers[i]->region);
        cfg_put_str(h, peers[i]->raft);
        cfg_put_str(h, peers[i]->admin);
    }
    for (size_t i = 0; i < cfg->nsites; i++)
        sites[i] = &cfg->sites[i];
    qsort(sites, cfg->nsites, sizeof(sites[0]), cmp_site);
    cfg_put_u64(h, cfg->nsites);
    for (size_t i = 0; i < cfg->nsites; i++)
        put_site(h, sites[i]);
    cfg_put_str(h, cfg->initial_primary);
    cfg_put_policy(h, cfg);
    cfg_put_plan(h, cfg);
}

static int compute_digest(struct loader *ld)
{
    struct hasher h = {EVP_MD_CTX_new(), true};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;

    h.ok = h.ctx != NULL && EVP_DigestInit_ex(h.ctx, EVP_sha256(), NULL) == 1;
    put_replicated(&h, ld->cfg);
    h.ok = h.ok && EVP_DigestFinal_ex(h.ctx, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(h.ctx);
    if (!h.ok)
        return fo_error_set(ld->err, FO_CONFIG_ESYSTEM, "%s: cannot compute SHA-256 (libcrypto)",
                            ld->file);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(ld->cfg->digest + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ---- loading ----------------------------------------------------------------------- */

static int load_root(struct loader *ld, const yaml_node_t *root)
{
    struct fo_config *cfg = ld->cfg;
    struct field f[] = {
        {"cluster", true},       {"node", true},    {"peers", true},  {"regions", true},
        {"sites", true},         {"raft", false},   {"admin", true},  {"initial_primary", true},
        {"decision", false},     {"checks", false}, {"feeds", false}, {"health", false},
        {"alertmanager", false}, {"plan", false},   {"http", false},
    };

    cfg->raft = (struct fo_config_raft){1000, 100, 512, 512, 250};
    cfg->admin.max_connections = 64;
    cfg->admin.request_timeout_ms = 5000;
    if (cfg_read_map(ld, root, "", f, NFIELDS(f)) != 0 ||
        cfg_get_name(ld, f[0].value, "cluster", &cfg->cluster) != 0 ||
        parse_regions(ld, f[3].value) != 0 || parse_peers(ld, f[2].value) != 0 ||
        parse_sites(ld, f[4].value) != 0 ||
        cfg_get_name(ld, f[7].value, "initial_primary", &cfg->initial_primary) != 0)
        return ld->code;
    if (fo_config_site(cfg, cfg->initial_primary) == NULL)
        return cfg_fail_value(ld, f[7].value, "initial_primary", cfg->initial_primary,
                              "is not one of sites");
    if (parse_node(ld, f[1].value) != 0 ||
        (f[5].value != NULL && parse_raft(ld, f[5].value) != 0) ||
        parse_admin(ld, f[6].value) != 0 ||
        cfg_parse_policy(ld, f[8].value, f[9].value, f[10].value, f[11].value, f[12].value) != 0 ||
        (f[8].value == NULL && f[5].value != NULL && cfg_check_fence_timing(ld, f[5].value) != 0) ||
        cfg_parse_plan(ld, f[13].value) != 0 ||
        (f[14].value != NULL && cfg_parse_http(ld, f[14].value) != 0))
        return ld->code;
    return compute_digest(ld);
}

static size_t line_at_offset(const char *data, size_t len, size_t offset)
{
    size_t line = 1;
    for (size_t i = 0; i < offset && i < len; i++)
        line += data[i] == '\n';
    return line;
}

/* libyaml's own message: reader errors (bad UTF-8, a NUL byte) carry an offset, the
 * scanner, parser and composer a mark. */
static int syntax_error(const char *name, const yaml_parser_t *p, const char *data, size_t len,
                        struct fo_error *err)
{
    size_t line = p->problem_mark.line + 1;

    if (p->error == YAML_MEMORY_ERROR)
        return fo_error_set(err, FO_CONFIG_ESYSTEM, "%s: out of memory", name);
    if (p->error == YAML_READER_ERROR)
        line = line_at_offset(data, len, p->problem_offset);
    return fo_error_set(err, FO_CONFIG_ESYNTAX, "%s:%zu: YAML syntax error: %s%s%s", name, line,
                        p->problem != NULL ? p->problem : "unknown", p->context != NULL ? ", " : "",
                        p->context != NULL ? p->context : "");
}

/* Load the document just read (ld->doc) into ld->cfg, once sure that it is the only one:
 * a second would be silently ignored by a reader that stops at the first. */
static int load_single(struct loader *ld, yaml_parser_t *parser, const char *data, size_t len)
{
    const yaml_node_t *root = yaml_document_get_root_node(ld->doc), *extra;
    yaml_document_t next;
    int rv;

    if (!yaml_parser_load(parser, &next))
        return syntax_error(ld->file, parser, data, len, ld->err);
    extra = yaml_document_get_root_node(&next);
    if (extra != NULL)
        rv = fo_error_set(ld->err, FO_CONFIG_EINVALID,
                          "%s:%zu: a second YAML document is not allowed", ld->file,
                          cfg_line_of(extra));
    else if (root == NULL)
        rv =
            fo_error_set(ld->err, FO_CONFIG_EINVALID, "%s:1: the file holds no settings", ld->file);
    else if ((ld->cfg->path = strdup(ld->file)) == NULL)
        rv = cfg_no_memory(ld);
    else
        rv = load_root(ld, root);
    yaml_document_delete(&next);
    return rv;
}

int fo_config_load_buffer(const char *name, const char *data, size_t len, struct fo_config *cfg,
                          struct fo_error *err)
{
    yaml_parser_t parser;
    yaml_document_t doc;
    struct loader ld;
    int rv;

    memset(cfg, 0, sizeof(*cfg)); /* an out-parameter: whatever it held is overwritten */
    ld = (struct loader){&doc, name, cfg, err, 0};
    if (len > FO_CONFIG_FILE_MAX)
        return fo_error_set(err, FO_CONFIG_EIO, "%s: %zu bytes, over the %u-byte limit", name, len,
                            FO_CONFIG_FILE_MAX);
    if (!yaml_parser_initialize(&parser))
        return fo_error_set(err, FO_CONFIG_ESYSTEM, "%s: out of memory", name);
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rv = syntax_error(name, &parser, data, len, err);
    } else {
        rv = load_single(&ld, &parser, data, len);
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    if (rv != 0)
        fo_config_free(cfg);
    return rv;
}

/* Read at most FO_CONFIG_FILE_MAX + 1 bytes of fd: enough to tell that it is too big,
 * without trusting a size that a growing file or a pipe does not report. */
static int read_all(int fd, const char *path, char **out, size_t *len, struct fo_error *err)
{
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap);

    while (buf != NULL) {
        ssize_t r;
        if (n == cap) {
            char *bigger = cap <= FO_CONFIG_FILE_MAX ? realloc(buf, cap * 2) : NULL;
            if (bigger == NULL)
                break;
            buf = bigger;
            cap *= 2;
        }
        r = read(fd, buf + n,
                 cap - n > FO_CONFIG_FILE_MAX + 1 - n ? FO_CONFIG_FILE_MAX + 1 - n : cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(buf);
            return fo_error_set(err, FO_CONFIG_EIO, "%s: cannot read: %s", path, strerror(e));
        }
        n += (size_t)r;
        if (r == 0 || n > FO_CONFIG_FILE_MAX) {
            *out = buf;
            *len = n;
            return 0;
        }
    }
    free(buf);
    return fo_error_set(err, FO_CONFIG_ESYSTEM, "%s: out of memory", path);
}

int fo_config_load(const char *path, struct fo_config *cfg, struct fo_error *err)
{
    char *data = NULL;
    size_t len = 0;
    int fd, rv;

    memset(cfg, 0, sizeof(*cfg));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fo_error_set(err, FO_CONFIG_EIO, "%s: cannot open: %s", path, strerror(errno));
    rv = read_all(fd, path, &data, &len, err);
    close(fd);
    if (rv != 0)
        return rv;
    if (len > FO_CONFIG_FILE_MAX)
        rv = fo_error_set(err, FO_CONFIG_EIO, "%s: over the %u-byte limit", path,
                          FO_CONFIG_FILE_MAX);
    else
        rv = fo_config_load_buffer(path, data, len, cfg, err);
    free(data);
    return rv;
}

/* ---- release and lookups ----------------------------------------------------------- */

static void site_free(struct fo_site *s)
{
    free(s->name);
    if (s->postgres != NULL) {
        free(s->postgres->region);
        free(s->postgres->host);
        free(s->postgres->dbname);
        free(s->postgres->user);
        free(s->postgres->password_file);
        free(s->postgres);
    }
    if (s->redis != NULL) {
        free(s->redis->region);
        free(s->redis->host);
        free(s->redis->password_file);
        free(s->redis);
    }
    for (size_t i = 0; i < s->nvercel_env; i++) {
        free(s->vercel_env[i].name);
        free(s->vercel_env[i].value);
        free(s->vercel_env[i].value_file);
    }
    free(s->vercel_env);
    free(s->dns_origin);
}

void fo_config_free(struct fo_config *cfg)
{
    free(cfg->path);
    free(cfg->cluster);
    free(cfg->node_name);
    free(cfg->data_dir);
    for (size_t i = 0; i < cfg->npeers; i++) {
        free(cfg->peers[i].name);
        free(cfg->peers[i].region);
        free(cfg->peers[i].raft);
        free(cfg->peers[i].admin);
    }
    free(cfg->peers);
    for (size_t i = 0; i < cfg->nregions; i++)
        free(cfg->regions[i]);
    free(cfg->regions);
    for (size_t i = 0; i < cfg->nsites; i++)
        site_free(&cfg->sites[i]);
    free(cfg->sites);
    free(cfg->initial_primary);
    free(cfg->admin.listen);
    free(cfg->admin.token_file);
    free(cfg->admin.read_token_file);
    cfg_policy_free(cfg);
    fo_plan_free(&cfg->plan);
    memset(cfg, 0, sizeof(*cfg));
}

const struct fo_site *fo_config_site(const struct fo_config *cfg, const char *name)
{
    for (size_t i = 0; name != NULL && i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].name, name) == 0)
            return &cfg->sites[i];
    return NULL;
}

const struct fo_peer *fo_config_peer_by_id(const struct fo_config *cfg, uint64_t id)
{
    for (size_t i = 0; i < cfg->npeers; i++)
        if (cfg->peers[i].id == id)
            return &cfg->peers[i];
    return NULL;
}

const struct fo_peer *fo_config_peer_by_name(const struct fo_config *cfg, const char *name)
{
    for (size_t i = 0; name != NULL && i < cfg->npeers; i++)
        if (strcmp(cfg->peers[i].name, name) == 0)
            return &cfg->peers[i];
    return NULL;
}
