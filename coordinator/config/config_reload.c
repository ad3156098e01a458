/*
 * coordinator/config/config_reload.c — see config_reload.h.
 */
#include "coordinator/config/config_reload.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* How a frozen key is compared (and, for strings, kept on adopt). */
enum frozen_kind {
    FROZEN_STR,   /* a char * (NULL allowed): equal content; adopt keeps cur's string */
    FROZEN_U32,   /* a uint32_t */
    FROZEN_U64,   /* a uint64_t */
    FROZEN_PEERS, /* the peers array, every field of every peer, in order */
};

struct frozen_key {
    const char *key; /* as written in the file */
    enum frozen_kind kind;
    size_t at; /* offsetof in struct fo_config (not FROZEN_PEERS) */
    const char *why;
};

#define AT(field) offsetof(struct fo_config, field)

static const char WHO[] = "who this node is and where its state lives";
static const char RAFT[] = "libraft is set up at start (membership changes go through Raft)";
static const char BOUND[] = "the listener is set up at start";
static const char TRANSPORT[] = "the transport (mutual TLS or plain text) is chosen at start; "
                                "certificates, keys and the CRL do reload";
static const char LEASE[] = "write-lease rounds in progress were granted under it, and the "
                            "fence-timing rule needs every node on the same value";

/* Every key that cannot change live, in file order. Rows are appended, never reordered:
 * the first differing row is the one reported. */
static const struct frozen_key frozen[] = {
    {"cluster", FROZEN_STR, AT(cluster), WHO},
    {"node.name", FROZEN_STR, AT(node_name), WHO},
    {"node.data_dir", FROZEN_STR, AT(data_dir), WHO},
    {"peers", FROZEN_PEERS, 0, RAFT},
    {"raft.election_timeout_ms", FROZEN_U32, AT(raft.election_timeout_ms), RAFT},
    {"raft.heartbeat_ms", FROZEN_U32, AT(raft.heartbeat_ms), RAFT},
    {"raft.snapshot_threshold", FROZEN_U32, AT(raft.snapshot_threshold), RAFT},
    {"raft.snapshot_trailing", FROZEN_U32, AT(raft.snapshot_trailing), RAFT},
    {"raft.connect_retry_ms", FROZEN_U32, AT(raft.connect_retry_ms), RAFT},
    {"admin.listen", FROZEN_STR, AT(admin.listen), BOUND},
    {"admin.max_connections", FROZEN_U32, AT(admin.max_connections), BOUND},
    {"admin.request_timeout_ms", FROZEN_U32, AT(admin.request_timeout_ms), BOUND},
    {"health.listen", FROZEN_STR, AT(health.listen), BOUND},
    {"health.max_connections", FROZEN_U32, AT(health.max_connections), BOUND},
    {"http.listen", FROZEN_STR, AT(http.listen), BOUND},
    {"http.max_connections", FROZEN_U32, AT(http.max_connections), BOUND},
    {"http.timeout_ms", FROZEN_U32, AT(http.timeout_ms), BOUND},
    {"decision.lease_renew_ms", FROZEN_U64, AT(decision.lease_renew_ms), LEASE},
    {"decision.lease_ms", FROZEN_U64, AT(decision.lease_ms), LEASE},
    {"decision.fence_budget_ms", FROZEN_U64, AT(decision.fence_budget_ms), LEASE},
    {"decision.clock_rate_margin_permille", FROZEN_U64, AT(decision.clock_rate_margin_permille),
     LEASE},
    {"tls.mode", FROZEN_U32, AT(tls.mode), TRANSPORT},
};

#define NFROZEN (sizeof(frozen) / sizeof(frozen[0]))

static const void *field(const struct fo_config *cfg, const struct frozen_key *k)
{
    return (const char *)cfg + k->at;
}

static bool str_same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* A peer's string fields, compared and named one by one. */
static const struct {
    const char *name;
    size_t at;
} peer_strs[] = {
    {"name", offsetof(struct fo_peer, name)},
    {"region", offsetof(struct fo_peer, region)},
    {"raft", offsetof(struct fo_peer, raft)},
    {"admin", offsetof(struct fo_peer, admin)},
};

#define NPEER_STRS (sizeof(peer_strs) / sizeof(peer_strs[0]))

static const char *peer_str(const struct fo_peer *p, size_t k)
{
    return *(char *const *)((const char *)p + peer_strs[k].at);
}

/* The first peer that differs and how ("[2].raft: '10.0.0.3:7301' -> '10.0.0.3:7351'"),
 * written to out; false when the peers are the same. out may be NULL. */
static bool peers_differ(const struct fo_config *a, const struct fo_config *b, char *out,
                         size_t cap)
{
    if (a->npeers != b->npeers) {
        if (out != NULL)
            snprintf(out, cap, ": %zu -> %zu peers", a->npeers, b->npeers);
        return true;
    }
    for (size_t i = 0; i < a->npeers; i++) {
        const struct fo_peer *p = &a->peers[i], *q = &b->peers[i];
        if (p->id != q->id) {
            if (out != NULL)
                snprintf(out, cap, "[%zu].id: %llu -> %llu", i, (unsigned long long)p->id,
                         (unsigned long long)q->id);
            return true;
        }
        for (size_t k = 0; k < NPEER_STRS; k++) {
            if (str_same(peer_str(p, k), peer_str(q, k)))
                continue;
            if (out != NULL)
                snprintf(out, cap, "[%zu].%s: '%s' -> '%s'", i, peer_strs[k].name, peer_str(p, k),
                         peer_str(q, k));
            return true;
        }
    }
    return false;
}

static bool peers_same(const struct fo_config *a, const struct fo_config *b)
{
    return !peers_differ(a, b, NULL, 0);
}

static void describe_peers(const struct fo_config *a, const struct fo_config *b, char *out,
                           size_t cap)
{
    if (!peers_differ(a, b, out, cap))
        out[0] = '\0';
}

static bool key_same(const struct fo_config *a, const struct fo_config *b,
                     const struct frozen_key *k)
{
    switch (k->kind) {
    case FROZEN_STR:
        return str_same(*(char *const *)field(a, k), *(char *const *)field(b, k));
    case FROZEN_U32:
        return *(const uint32_t *)field(a, k) == *(const uint32_t *)field(b, k);
    case FROZEN_U64:
        return *(const uint64_t *)field(a, k) == *(const uint64_t *)field(b, k);
    case FROZEN_PEERS:
        return peers_same(a, b);
    }
    return false;
}

static const struct frozen_key *first_frozen(const struct fo_config *cur,
                                             const struct fo_config *next)
{
    for (size_t i = 0; i < NFROZEN; i++)
        if (!key_same(cur, next, &frozen[i]))
            return &frozen[i];
    return NULL;
}

const char *fo_config_reload_frozen(const struct fo_config *cur, const struct fo_config *next)
{
    const struct frozen_key *k = first_frozen(cur, next);
    return k != NULL ? k->key : NULL;
}

/* How k changed, after its name: ": 'a' -> 'b'", or for peers "[2].raft: 'a' -> 'b'". Values
 * as printed in the file; safe: names, addresses and
 * paths are checked printable by the loader. */
static void describe(const struct fo_config *cur, const struct fo_config *next,
                     const struct frozen_key *k, char *out, size_t cap)
{
    switch (k->kind) {
    case FROZEN_STR: {
        const char *a = *(char *const *)field(cur, k), *b = *(char *const *)field(next, k);
        snprintf(out, cap, ": '%s' -> '%s'", a != NULL ? a : "(unset)", b != NULL ? b : "(unset)");
        return;
    }
    case FROZEN_U32:
        snprintf(out, cap, ": %u -> %u", *(const uint32_t *)field(cur, k),
                 *(const uint32_t *)field(next, k));
        return;
    case FROZEN_U64:
        snprintf(out, cap, ": %llu -> %llu", (unsigned long long)*(const uint64_t *)field(cur, k),
                 (unsigned long long)*(const uint64_t *)field(next, k));
        return;
    case FROZEN_PEERS:
        describe_peers(cur, next, out, cap);
        return;
    }
    out[0] = '\0';
}

int fo_config_reload_check(const struct fo_config *cur, const struct fo_config *next,
                           struct fo_error *err)
{
    const struct frozen_key *k = first_frozen(cur, next);
    char what[600];

    if (k == NULL)
        return 0;
    describe(cur, next, k, what, sizeof(what));
    return fo_error_set(err, FO_CONFIG_EFROZEN,
                        "%s%s: cannot change while failoverd runs (%s); restart the node to "
                        "apply it",
                        k->key, what, k->why);
}

static void swap_ptr(char **a, char **b)
{
    char *t = *a;
    *a = *b;
    *b = t;
}

void fo_config_adopt(struct fo_config *cur, struct fo_config *next)
{
    struct fo_config old = *cur;
    size_t self = (size_t)(cur->self - cur->peers);
    struct fo_peer *peers;

    /* Hand the running copies of the frozen values to next, and next's equal copies to
     * old, which is freed below: whatever points into cur's peers or strings stays valid. */
    for (size_t i = 0; i < NFROZEN; i++)
        if (frozen[i].kind == FROZEN_STR)
            swap_ptr((char **)((char *)&old + frozen[i].at),
                     (char **)((char *)next + frozen[i].at));
    peers = next->peers;
    next->peers = old.peers;
    old.peers = peers;
    next->self = &next->peers[self];
    old.self = NULL;
    *cur = *next;
    memset(next, 0, sizeof(*next));
    fo_config_free(&old);
}
