/*
 * coordinator/config/config.c — see config.h for the contract.
 *
 * libyaml's document API builds the node tree, each node with its line; each fixed-key
 * map is read against its table (config_schema.h). Sections are read in dependency order
 * — regions before the peers and sites that name them, peers before node.name, node
 * before admin.listen's default, and the policy sections (config_policy.c) and the plan
 * (config_plan.c) last — whatever their order in the file, so every cross-reference is
 * checked where its node (and so its line) is at hand. This file holds the topology
 * (regions, peers, node, raft, admin; the sites are in config_sites.c), the digest and the
 * loading itself.
 *
 * Everything read is stored in the caller's fo_config as soon as it is allocated, so a
 * single fo_config_free() on the way out releases a half-built config: no error path
 * frees anything itself.
 */
#include "coordinator/config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "coordinator/config/config_internal.h"
#include "coordinator/config/config_schema.h"

#define MS_10MIN 600000u

/* ---- regions and peers ------------------------------------------------------------- */

static int parse_regions(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    char sub[PATH_LEN];
    size_t count;

    if ((cfg->regions = cfg_list_alloc(ld, n, "regions", YAML_SEQUENCE_NODE, "regions", 1,
                                       FO_CONFIG_MAX_REGIONS, sizeof(*cfg->regions), &count)) ==
        NULL)
        return ld->code;
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

enum { PEER_NAME, PEER_ID, PEER_REGION, PEER_RAFT, PEER_ADMIN, PEER_NKEYS };

static const struct cfg_key peer_keys[PEER_NKEYS] = {
    [PEER_NAME] = {"name", CFG_NAME, true, CFG_AT(struct fo_peer, name)},
    /* libraft reserves id 0 for "no server" */
    [PEER_ID] = {"id", CFG_UINT, true, CFG_AT(struct fo_peer, id), .min = 1},
    [PEER_REGION] = {"region", CFG_REGION, true, CFG_AT(struct fo_peer, region)},
    [PEER_RAFT] = {"raft", CFG_ADDR, true, CFG_AT(struct fo_peer, raft),
                   .why = "libraft 0.15 needs a.b.c.d:port"},
    [PEER_ADMIN] = {"admin", CFG_ADDR, true, CFG_AT(struct fo_peer, admin),
                    .why = "clients dial a.b.c.d:port"},
};

/* Report peers[i] duplicating an earlier peer's name, id, raft or admin address; at[] are
 * its value nodes. */
static int check_peer_unique(struct loader *ld, size_t i, const yaml_node_t *const *at)
{
    const struct fo_peer *p = &ld->cfg->peers[i];
    char sub[PATH_LEN], path[PATH_LEN], q[48];

    cfg_join_index(path, "peers", i);
    for (size_t j = 0; j < i; j++) {
        const struct fo_peer *o = &ld->cfg->peers[j];
        if (strcmp(p->name, o->name) == 0)
            return cfg_fail(ld, at[PEER_NAME], cfg_join(sub, path, "name"),
                            "'%s' is also peers[%zu]'s name",
                            cfg_quote(p->name, strlen(p->name), q), j);
        if (p->id == o->id)
            return cfg_fail(ld, at[PEER_ID], cfg_join(sub, path, "id"),
                            "%llu is also peers[%zu]'s id", (unsigned long long)p->id, j);
        if (strcmp(p->raft, o->raft) == 0)
            return cfg_fail(ld, at[PEER_RAFT], cfg_join(sub, path, "raft"),
                            "'%s' is also peers[%zu]'s raft", p->raft, j);
        if (strcmp(p->admin, o->admin) == 0)
            return cfg_fail(ld, at[PEER_ADMIN], cfg_join(sub, path, "admin"),
                            "'%s' is also peers[%zu]'s admin", p->admin, j);
    }
    return 0;
}

static int parse_peers(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    const yaml_node_t *at[PEER_NKEYS];
    char path[PATH_LEN];
    size_t count;

    if (cfg_expect(ld, n, "peers", YAML_SEQUENCE_NODE) != 0)
        return ld->code;
    count = cfg_seq_size(n);
    if (count == 0)
        return cfg_fail(ld, n, "peers", "no peers: at least one voter is needed");
    if (count > FO_CONFIG_MAX_PEERS)
        return cfg_fail(ld, n, "peers", "%zu peers: at most %d", count, FO_CONFIG_MAX_PEERS);
    /* Any count: peers are the address book, the Raft configuration says who votes
     * (consensus/members.h); a change lists one more or one fewer for a while. The odd
     * count is required where it makes the voters: failoverd --init. */
    if ((cfg->peers = cfg_calloc(ld, count, sizeof(*cfg->peers))) == NULL)
        return ld->code;
    for (size_t i = 0; i < count; i++) {
        cfg->npeers = i + 1;
        if (cfg_read_map(ld, cfg_node_at(ld, n->data.sequence.items.start[i]),
                         cfg_join_index(path, "peers", i), peer_keys, PEER_NKEYS, &cfg->peers[i],
                         at) != 0 ||
            check_peer_unique(ld, i, at) != 0)
            return ld->code;
    }
    return 0;
}

/* ---- node, raft, admin ------------------------------------------------------------- */

enum { NODE_NAME, NODE_DATA_DIR, NODE_NKEYS };

static const struct cfg_key node_keys[NODE_NKEYS] = {
    [NODE_NAME] = {"name", CFG_NAME, true, CFG_AT(struct fo_config, node_name)},
    [NODE_DATA_DIR] = {"data_dir", CFG_STRING, true, CFG_AT(struct fo_config, data_dir)},
};

static int parse_node(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config *cfg = ld->cfg;
    const yaml_node_t *at[NODE_NKEYS];

    if (cfg_read_map(ld, n, "node", node_keys, NODE_NKEYS, cfg, at) != 0)
        return ld->code;
    cfg->self = fo_config_peer_by_name(cfg, cfg->node_name);
    if (cfg->self == NULL)
        return cfg_fail_value(ld, at[NODE_NAME], "node.name", cfg->node_name,
                              "is not the name of any peer");
    return 0;
}

enum {
    RAFT_ELECTION,
    RAFT_HEARTBEAT,
    RAFT_THRESHOLD,
    RAFT_TRAILING,
    RAFT_RETRY,
    RAFT_PLACEMENT,
    RAFT_NKEYS
};

#define RAFT_AT(f) CFG_AT(struct fo_config_raft, f)
static const struct cfg_key raft_keys[RAFT_NKEYS] = {
    [RAFT_ELECTION] = {"election_timeout_ms", CFG_UINT, false, RAFT_AT(election_timeout_ms),
                       .min = 100, .max = MS_10MIN, .dflt = 1000},
    [RAFT_HEARTBEAT] = {"heartbeat_ms", CFG_UINT, false, RAFT_AT(heartbeat_ms), .min = 1,
                        .max = MS_10MIN, .dflt = 100},
    [RAFT_THRESHOLD] = {"snapshot_threshold", CFG_UINT, false, RAFT_AT(snapshot_threshold),
                        .min = 1, .dflt = 512},
    [RAFT_TRAILING] = {"snapshot_trailing", CFG_UINT, false, RAFT_AT(snapshot_trailing),
                       .dflt = 512},
    [RAFT_RETRY] = {"connect_retry_ms", CFG_UINT, false, RAFT_AT(connect_retry_ms), .min = 1,
                    .max = MS_10MIN, .dflt = 250},
    [RAFT_PLACEMENT] = {"leader_off_primary", CFG_BOOL, false, RAFT_AT(leader_off_primary),
                        .dflt = true},
};

/* n NULL: no raft section, the defaults. */
static int parse_raft(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_raft *r = &ld->cfg->raft;
    const yaml_node_t *at[RAFT_NKEYS];

    if (cfg_read_map(ld, n, "raft", raft_keys, RAFT_NKEYS, r, at) != 0)
        return ld->code;
    /* A leader must be heard from several times per election timeout, or followers
     * start elections against a healthy leader. */
    if (r->heartbeat_ms >= r->election_timeout_ms)
        return cfg_fail(ld, at[RAFT_HEARTBEAT] != NULL ? at[RAFT_HEARTBEAT] : at[RAFT_ELECTION],
                        at[RAFT_HEARTBEAT] != NULL ? "raft.heartbeat_ms"
                                                   : "raft.election_timeout_ms",
                        "heartbeat_ms (%u) must be below election_timeout_ms (%u)", r->heartbeat_ms,
                        r->election_timeout_ms);
    return 0;
}

#define ADMIN_AT(f) CFG_AT(struct fo_config_admin, f)
static const struct cfg_key admin_keys[] = {
    {"listen", CFG_ADDR, false, ADMIN_AT(listen),
     .why = "the admin server listens on a.b.c.d:port"},
    {"token_file", CFG_STRING, true, ADMIN_AT(token_file)},
    {"read_token_file", CFG_STRING, false, ADMIN_AT(read_token_file)},
    {"tokens_file", CFG_STRING, false, ADMIN_AT(tokens_file)},
    {"max_connections", CFG_UINT, false, ADMIN_AT(max_connections), .min = 1, .max = 65536,
     .dflt = 64},
    {"request_timeout_ms", CFG_UINT, false, ADMIN_AT(request_timeout_ms), .min = 1, .max = 3600000,
     .dflt = 5000},
};

static int parse_admin(struct loader *ld, const yaml_node_t *n)
{
    struct fo_config_admin *a = &ld->cfg->admin;

    if (cfg_read_map(ld, n, "admin", admin_keys, NFIELDS(admin_keys), a, NULL) != 0)
        return ld->code;
    if (a->listen == NULL && (a->listen = strdup(ld->cfg->self->admin)) == NULL)
        return cfg_no_memory(ld);
    return 0;
}

enum { TLS_MODE, TLS_CA, TLS_CERT, TLS_KEY, TLS_CRL, TLS_NKEYS };
static const struct cfg_enum tls_modes[] = {
    {"on", FO_TLS_MODE_ON}, {"off", FO_TLS_MODE_OFF}, {NULL, 0}};
#define TLS_AT(f) CFG_AT(struct fo_config_tls, f)
static const struct cfg_key tls_keys[TLS_NKEYS] = {
    [TLS_MODE] = {"mode", CFG_ENUM, false, TLS_AT(mode), .dflt = FO_TLS_MODE_ON, .names = tls_modes,
                  .why = "is not on or off"},
    [TLS_CA] = {"ca", CFG_STRING, false, TLS_AT(ca)},
    [TLS_CERT] = {"cert", CFG_STRING, false, TLS_AT(cert)},
    [TLS_KEY] = {"key", CFG_STRING, false, TLS_AT(key)},
    [TLS_CRL] = {"crl", CFG_STRING, false, TLS_AT(crl)},
};

/* The files themselves (readable, key matching, signed by the CA, valid) are checked
 * by --check-config and at start (consensus/tls.h), not here: the loader reads no
 * files but the config. */
/* Plain text is a choice the file states (issue 14): without a tls section the node
 * would expose its Raft port to any host that reaches it, so a missing section is an
 * error that names both ways out rather than a default. */
static int parse_tls(struct loader *ld, const yaml_node_t *root, const yaml_node_t *n)
{
    struct fo_config_tls *t = &ld->cfg->tls;
    static const char *const names[] = {
        [TLS_CA] = "tls.ca", [TLS_CERT] = "tls.cert", [TLS_KEY] = "tls.key"};
    const yaml_node_t *at[TLS_NKEYS];
    char *const *files[] = {[TLS_CA] = &t->ca, [TLS_CERT] = &t->cert, [TLS_KEY] = &t->key};

    if (n == NULL)
        return cfg_fail(ld, root, "tls",
                        "missing (required): 'tls: {ca: F, cert: F, key: F}' for mutual TLS "
                        "(deploy/make-certs creates the files), or 'tls: {mode: off}' to run "
                        "Raft and admin traffic in plain text");
    if (cfg_read_map(ld, n, "tls", tls_keys, TLS_NKEYS, t, at) != 0)
        return ld->code;
    if (t->mode != FO_TLS_MODE_ON)
        return 0;
    for (int i = TLS_CA; i <= TLS_KEY; i++)
        if (*files[i] == NULL)
            return cfg_fail(ld, n, names[i],
                            "required with tls mode on (deploy/make-certs creates the files; "
                            "'mode: off' runs in plain text)");
    return 0;
}

/* ---- digest ------------------------------------------------------------------------ */

static int cmp_peer(const void *a, const void *b)
{
    const struct fo_peer *x = *(const struct fo_peer *const *)a;
    const struct fo_peer *y = *(const struct fo_peer *const *)b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Feed the replicated part, sets sorted, into h. */
static void put_replicated(struct hasher *h, const struct fo_config *cfg)
{
    char *const *regions[FO_CONFIG_MAX_REGIONS] = {NULL};
    const struct fo_peer *peers[FO_CONFIG_MAX_PEERS] = {NULL};
    const struct fo_site *sites[FO_CONFIG_MAX_SITES] = {NULL};

    cfg_put_str(h, "failoverd.config.v2"); /* v2: the policy sections */
    cfg_put_str(h, cfg->cluster);
    for (size_t i = 0; i < cfg->nregions; i++)
        regions[i] = &cfg->regions[i];
    cfg_sort_by_name((const void **)regions, cfg->nregions);
    cfg_put_u64(h, cfg->nregions);
    for (size_t i = 0; i < cfg->nregions; i++)
        cfg_put_str(h, *regions[i]);
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
    cfg_sort_by_name((const void **)sites, cfg->nsites);
    cfg_put_u64(h, cfg->nsites);
    for (size_t i = 0; i < cfg->nsites; i++)
        cfg_put_site(h, sites[i]);
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

enum {
    ROOT_CLUSTER,
    ROOT_NODE,
    ROOT_PEERS,
    ROOT_REGIONS,
    ROOT_SITES,
    ROOT_RAFT,
    ROOT_ADMIN,
    ROOT_INITIAL_PRIMARY,
    ROOT_DECISION,
    ROOT_CHECKS,
    ROOT_FEEDS,
    ROOT_HEALTH,
    ROOT_ALERTMANAGER,
    ROOT_PLAN,
    ROOT_HTTP,
    ROOT_TLS,
    ROOT_NKEYS
};

/* The sections (CFG_NODE) are read by load_root in dependency order; the table's order is
 * the one "unknown key" messages list. initial_primary is read there too, after sites,
 * so that a file's first error is reported in the order the sections depend on. */
static const struct cfg_key root_keys[ROOT_NKEYS] = {
    [ROOT_CLUSTER] = {"cluster", CFG_NAME, true, CFG_AT(struct fo_config, cluster)},
    [ROOT_NODE] = {"node", CFG_NODE, true},
    [ROOT_PEERS] = {"peers", CFG_NODE, true},
    [ROOT_REGIONS] = {"regions", CFG_NODE, true},
    [ROOT_SITES] = {"sites", CFG_NODE, true},
    [ROOT_RAFT] = {"raft", CFG_NODE, false},
    [ROOT_ADMIN] = {"admin", CFG_NODE, true},
    [ROOT_INITIAL_PRIMARY] = {"initial_primary", CFG_NODE, true},
    [ROOT_DECISION] = {"decision", CFG_NODE, false},
    [ROOT_CHECKS] = {"checks", CFG_NODE, false},
    [ROOT_FEEDS] = {"feeds", CFG_NODE, false},
    [ROOT_HEALTH] = {"health", CFG_NODE, false},
    [ROOT_ALERTMANAGER] = {"alertmanager", CFG_NODE, false},
    [ROOT_PLAN] = {"plan", CFG_NODE, false},
    [ROOT_HTTP] = {"http", CFG_NODE, false},
    [ROOT_TLS] = {"tls", CFG_NODE, false},
};
_Static_assert(ROOT_NKEYS <= CFG_MAX_KEYS, "the largest table must fit cfg_read_map");

static int load_root(struct loader *ld, const yaml_node_t *root)
{
    struct fo_config *cfg = ld->cfg;
    const yaml_node_t *at[ROOT_NKEYS];

    if (cfg_read_map(ld, root, "", root_keys, ROOT_NKEYS, cfg, at) != 0 ||
        parse_regions(ld, at[ROOT_REGIONS]) != 0 || parse_peers(ld, at[ROOT_PEERS]) != 0 ||
        cfg_parse_sites(ld, at[ROOT_SITES]) != 0 ||
        cfg_get_name(ld, at[ROOT_INITIAL_PRIMARY], "initial_primary", &cfg->initial_primary) != 0)
        return ld->code;
    if (fo_config_site(cfg, cfg->initial_primary) == NULL)
        return cfg_fail_value(ld, at[ROOT_INITIAL_PRIMARY], "initial_primary", cfg->initial_primary,
                              "is not one of sites");
    if (parse_node(ld, at[ROOT_NODE]) != 0 || parse_raft(ld, at[ROOT_RAFT]) != 0 ||
        parse_admin(ld, at[ROOT_ADMIN]) != 0)
        return ld->code;
    if (cfg_parse_policy(ld, at[ROOT_DECISION], at[ROOT_CHECKS], at[ROOT_FEEDS], at[ROOT_HEALTH],
                         at[ROOT_ALERTMANAGER]) != 0 ||
        /* without a decision section, a long raft election timeout can still break the
         * fence timing with the default decision timings */
        (at[ROOT_DECISION] == NULL && cfg_check_lease(ld, root) != 0) ||
        cfg_parse_plan(ld, at[ROOT_PLAN]) != 0 ||
        (at[ROOT_HTTP] != NULL && cfg_parse_http(ld, at[ROOT_HTTP]) != 0) ||
        parse_tls(ld, root, at[ROOT_TLS]) != 0)
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
        cfg_site_free(&cfg->sites[i]);
    free(cfg->sites);
    free(cfg->initial_primary);
    free(cfg->admin.listen);
    free(cfg->admin.token_file);
    free(cfg->admin.read_token_file);
    free(cfg->tls.ca);
    free(cfg->tls.cert);
    free(cfg->tls.key);
    free(cfg->tls.crl);
    free(cfg->admin.tokens_file);
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
