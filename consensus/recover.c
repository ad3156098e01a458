/*
 * consensus/recover.c — see recover.h.
 */
#include "consensus/recover.h"

#include <stddef.h>
#include <string.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

/* libraft with raft_uv on a private loop, initialised but never started. */
struct offline {
    uv_loop_t loop;
    struct raft_uv_transport transport;
    struct raft_io io;
    struct raft_fsm fsm; /* never called: the node is not started */
    struct raft raft;
    bool raft_ok;
    void (*io_close)(struct raft_io *io, raft_io_close_cb cb);
    raft_io_close_cb io_close_cb;
};

/* raft_uv 0.15 may fire its close callback twice (node.c io_closed_once says why): let
 * raft's through once. */
static void io_closed_once(struct raft_io *io)
{
    struct offline *o = (struct offline *)((char *)io - offsetof(struct offline, io));
    raft_io_close_cb cb = o->io_close_cb;

    o->io_close_cb = NULL;
    if (cb != NULL)
        cb(io);
}

static void io_close_guarded(struct raft_io *io, raft_io_close_cb cb)
{
    struct offline *o = (struct offline *)((char *)io - offsetof(struct offline, io));
    o->io_close_cb = cb;
    o->io_close(io, io_closed_once);
}

static int offline_open(struct offline *o, const char *dir, uint64_t id, const char *address,
                        struct fo_error *err)
{
    int rv;

    memset(o, 0, sizeof(*o));
    uv_loop_init(&o->loop);
    rv = raft_uv_tcp_init(&o->transport, &o->loop);
    if (rv != 0) {
        uv_loop_close(&o->loop);
        return fo_error_set(err, FO_NODE_EIO, "raft transport: %s", raft_strerror(rv));
    }
    rv = raft_uv_init(&o->io, &o->loop, dir, &o->transport);
    if (rv != 0) {
        raft_uv_tcp_close(&o->transport);
        uv_run(&o->loop, UV_RUN_DEFAULT);
        uv_loop_close(&o->loop);
        return fo_error_set(err, FO_NODE_EIO, "raft storage %s: %s", dir, raft_strerror(rv));
    }
    o->fsm.version = 1;
    rv = raft_init(&o->raft, &o->io, &o->fsm, id, address);
    if (rv != 0) {
        fo_error_set(err, FO_NODE_EIO, "raft init in %s: %s (%s)", dir, raft_strerror(rv),
                     o->io.errmsg);
        raft_uv_close(&o->io);
        raft_uv_tcp_close(&o->transport);
        uv_run(&o->loop, UV_RUN_DEFAULT);
        uv_loop_close(&o->loop);
        return FO_NODE_EIO;
    }
    o->raft_ok = true;
    o->io_close = o->io.close;
    o->io.close = io_close_guarded;
    return 0;
}

static void offline_closed(struct raft *r)
{
    (void)r;
}

static void offline_close(struct offline *o)
{
    raft_close(&o->raft, offline_closed);
    uv_run(&o->loop, UV_RUN_DEFAULT);
    /* As fo_node_release: raft_uv's memory only once the loop has run dry. */
    raft_uv_close(&o->io);
    raft_uv_tcp_close(&o->transport);
    uv_run(&o->loop, UV_RUN_DEFAULT);
    uv_loop_close(&o->loop);
}

static void report_configuration(struct fo_recover_report *rep, const struct raft_configuration *c,
                                 uint64_t index)
{
    rep->config_index = index;
    rep->nservers = 0;
    for (unsigned i = 0; i < c->n && rep->nservers < FO_RECOVER_SERVERS_MAX; i++) {
        rep->servers[rep->nservers].id = c->servers[i].id;
        rep->servers[rep->nservers].role = c->servers[i].role;
        rep->nservers++;
    }
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int k = 7; k >= 0; k--)
        v = (v << 8) | p[k];
    return v;
}

/* A RAFT_CHANGE entry's configuration. libraft 0.15 exports an encoder but no decoder; its
 * format (src/configuration.c): u8 version 1, u64 count (little-endian), then per server
 * u64 id, the address NUL-terminated, u8 role. Bounds are checked; a malformed entry
 * leaves the report's configuration empty. */
static void decode_configuration(struct fo_recover_report *rep, const struct raft_buffer *buf,
                                 uint64_t index)
{
    const uint8_t *p = buf->base, *end = p + buf->len;
    uint64_t count;

    rep->nservers = 0;
    if (buf->len < 9 || p[0] != 1)
        return;
    count = get64(p + 1);
    p += 9;
    for (uint64_t i = 0; i < count && rep->nservers < FO_RECOVER_SERVERS_MAX; i++) {
        const uint8_t *nul;
        if (end - p < 8)
            return;
        rep->servers[rep->nservers].id = get64(p);
        p += 8;
        nul = memchr(p, 0, (size_t)(end - p));
        if (nul == NULL || nul + 1 >= end)
            return;
        p = nul + 1;
        rep->servers[rep->nservers].role = *p++;
        rep->nservers++;
    }
    rep->config_index = index;
}

/* libraft's own loader hands these out; 0.15 has no public function to free them. */
static void free_loaded(struct raft_snapshot *snap, struct raft_entry *entries, size_t n)
{
    void *batch = NULL;

    if (snap != NULL) {
        raft_configuration_close(&snap->configuration);
        for (unsigned i = 0; i < snap->n_bufs; i++)
            raft_free(snap->bufs[i].base);
        raft_free(snap->bufs);
        raft_free(snap);
    }
    for (size_t i = 0; i < n; i++) {
        if (entries[i].batch != batch) {
            batch = entries[i].batch;
            raft_free(batch);
        }
    }
    raft_free(entries);
}

int fo_recover_inspect(const char *dir, uint64_t id, const char *address,
                       struct fo_recover_report *rep, struct fo_error *err)
{
    struct offline o;
    struct raft_snapshot *snap = NULL;
    struct raft_entry *entries = NULL;
    size_t n = 0;
    raft_term term = 0;
    raft_id voted = 0;
    raft_index start = 0;
    int rv;

    memset(rep, 0, sizeof(*rep));
    if (offline_open(&o, dir, id, address, err) != 0)
        return FO_NODE_EIO;
    rv = o.io.load(&o.io, &term, &voted, &snap, &start, &entries, &n);
    if (rv != 0) {
        fo_error_set(err, FO_NODE_EIO, "load %s: %s (%s)", dir, raft_strerror(rv), o.io.errmsg);
        offline_close(&o);
        return FO_NODE_EIO;
    }
    rep->term = term;
    if (snap != NULL) {
        rep->snapshot_index = snap->index;
        rep->last_index = snap->index;
        rep->last_term = snap->term;
        report_configuration(rep, &snap->configuration, snap->configuration_index);
    }
    if (n > 0) {
        rep->last_index = start + n - 1;
        rep->last_term = entries[n - 1].term;
    }
    /* The configuration in force is the last one in the log (raft applies it on append). */
    for (size_t i = n; i-- > 0;) {
        if (entries[i].type != RAFT_CHANGE)
            continue;
        decode_configuration(rep, &entries[i].buf, start + i);
        break;
    }
    free_loaded(snap, entries, n);
    offline_close(&o);
    return 0;
}

int fo_recover_apply(const char *dir, uint64_t id, const char *address,
                     const struct fo_node_peer *survivors, size_t n, struct fo_error *err)
{
    struct raft_configuration conf;
    struct offline o;
    bool self = false;
    int rv = 0;

    raft_configuration_init(&conf);
    for (size_t i = 0; i < n && rv == 0; i++) {
        self |= survivors[i].id == id;
        rv = raft_configuration_add(&conf, survivors[i].id, survivors[i].address, RAFT_VOTER);
    }
    if (rv != 0 || !self) {
        raft_configuration_close(&conf);
        return fo_error_set(err, FO_NODE_EINVAL,
                            "the survivors must be distinct and include "
                            "this node");
    }
    if (offline_open(&o, dir, id, address, err) != 0) {
        raft_configuration_close(&conf);
        return FO_NODE_EIO;
    }
    rv = raft_recover(&o.raft, &conf);
    if (rv != 0)
        fo_error_set(err, FO_NODE_EIO, "raft_recover in %s: %s (%s)", dir, raft_strerror(rv),
                     o.io.errmsg);
    raft_configuration_close(&conf);
    offline_close(&o);
    return rv != 0 ? FO_NODE_EIO : 0;
}
