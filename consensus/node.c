/*
 * consensus/node.c — see node.h.
 *
 * Where this file reads fields of struct raft directly (current_term, commit_index,
 * configuration, leader progress, follower contact time) it is because libraft 0.15 has
 * no accessor for them; those fields became private in 0.17 (reference §0). Debian 12
 * ships 0.15, and every such read is in this file, so a port touches one place.
 */
#include "consensus/node.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/members.h"
#include "consensus/tls_transport.h"
#include "proto/frame.h"

/* Raft segments are preallocated; the default 8 MiB (times three kept ready) is a lot
 * for an FSM whose entries are a few hundred bytes. */
#define NODE_SEGMENT_SIZE (1024u * 1024u)

static int raft_fail(struct fo_error *err, int code, const char *what, int rv, struct raft *r)
{
    /* raft_strerror has no text for some codes and raft_errmsg may be stale
     * (reference §0): say both, and the number. */
    return fo_error_set(err, code, "%s: %s (raft error %d%s%s)", what, raft_strerror(rv), rv,
                        r != NULL ? ": " : "", r != NULL ? raft_errmsg(r) : "");
}

static int mkdir_if_missing(const char *dir, struct fo_error *err)
{
    struct stat st;
    if (mkdir(dir, 0700) == 0)
        return 0;
    if (errno != EEXIST)
        return fo_error_set(err, FO_NODE_EINVAL, "cannot create raft directory %s: %s", dir,
                            strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fo_error_set(err, FO_NODE_EINVAL, "raft directory %s is not a directory", dir);
    return 0;
}

/* ---- leadership watch ------------------------------------------------------------ */

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct fo_node *n = req->data;

    n->barrier_pending = false;
    if (n->closing || status != 0)
        return; /* lost leadership (or closing): the watch decides what next */
    if (raft_state(&n->raft) != RAFT_LEADER || n->raft.current_term != n->barrier_term)
        return;
    /* Everything committed before this term's barrier is applied: the FSM is current. */
    n->ready_term = n->barrier_term;
    n->elections_won++;
    if (n->on_ready != NULL)
        n->on_ready(n);
}

static void watch_tick(uv_timer_t *t)
{
    struct fo_node *n = t->data;
    int state = raft_state(&n->raft);
    uint64_t term = n->raft.current_term;
    raft_id leader = 0;
    const char *addr = NULL;

    bool changed = state != n->last_state || term != n->last_term;

    raft_leader(&n->raft, &leader, &addr);
    if (leader != n->last_leader) {
        if (leader != 0)
            n->leader_changes++;
        n->last_leader = leader;
        /* A follower often learns the new leader after its term changed (a vote first,
         * the leader's AppendEntries later): that is a change its owner must hear of. */
        changed = true;
    }
    if (changed) {
        n->last_state = state;
        n->last_term = term;
        if (n->on_change != NULL)
            n->on_change(n);
    }
    if (state == RAFT_LEADER && n->ready_term != term && !n->barrier_pending) {
        /* libraft 0.15 appends no no-op when a leader is elected (fixed in 0.17.1), so
         * entries of earlier terms may be committed but not yet applied here. The
         * barrier commits an entry of this term and completes once all before it are
         * applied. Until then the node refuses proposals. */
        n->barrier.data = n;
        n->barrier_term = term;
        if (raft_barrier(&n->raft, &n->barrier, barrier_cb) == 0)
            n->barrier_pending = true;
        /* else: a transfer is pending or the disk refused; try again next tick. */
    }
    /* A leader whose FSM halted (fsm.h) cannot apply what it commits: it hands the
     * leadership to an up-to-date voter (libraft picks one) so that the cluster keeps a
     * leader that can act. fo_node_transfer refuses while one is pending or too soon. */
    if (state == RAFT_LEADER && n->fsm.fsm.halted)
        (void)fo_node_transfer(n, 0);
    fo_node_change_tick(n); /* a membership change waiting for a server (members.h) */
}

/* ---- life cycle ------------------------------------------------------------------- */

/*
 * libraft 0.15's raft_uv reports that it has closed from uvMaybeFireCloseCb(), which
 * never clears its callback: any later call whose checks pass fires it again, and
 * raft's close callback then frees its address and log a second time (valgrind: a
 * double free in about one shutdown of ten). raft_io is a table of methods, so the
 * node wraps close() and lets raft's callback through exactly once.
 */
static void io_closed_once(struct raft_io *io)
{
    struct fo_node *n = (struct fo_node *)((char *)io - offsetof(struct fo_node, io));
    raft_io_close_cb cb = n->io_close_cb;

    n->io_close_cb = NULL;
    if (cb != NULL)
        cb(io);
}

static void io_close_guarded(struct raft_io *io, raft_io_close_cb cb)
{
    struct fo_node *n = (struct fo_node *)((char *)io - offsetof(struct fo_node, io));
    n->io_close_cb = cb;
    n->io_close(io, io_closed_once);
}

/* ---- contact (node.h: fo_node_contact_ms) ------------------------------------------ */

static void contact_record(struct fo_node *n, uint64_t id, uint64_t now, uint64_t term)
{
    size_t free_slot = FO_NODE_CONTACT_MAX;

    for (size_t i = 0; i < FO_NODE_CONTACT_MAX; i++) {
        if (n->contact[i].id == id) {
            n->contact[i].at_ms = now;
            n->contact[i].term = term;
            return;
        }
        if (n->contact[i].id == 0 && free_slot == FO_NODE_CONTACT_MAX)
            free_slot = i;
    }
    if (free_slot < FO_NODE_CONTACT_MAX) { /* more peers than slots: the rest stay unknown */
        n->contact[free_slot].id = id;
        n->contact[free_slot].at_ms = now;
        n->contact[free_slot].term = term;
    }
}

/* raft's recv callback, wrapped: the message's scalars are copied first (raft takes the
 * entries), and contact is recorded only after raft accepted the message's term. */
static void contact_recv(struct raft_io *io, struct raft_message *m)
{
    struct fo_node *n = (struct fo_node *)((char *)io - offsetof(struct fo_node, io));
    const struct raft *r = &n->raft;
    unsigned short type = m->type;
    raft_id from = m->server_id;
    raft_term term = 0;
    raft_index leader_commit = 0;

    if (type == RAFT_IO_APPEND_ENTRIES) {
        term = m->append_entries.term;
        leader_commit = m->append_entries.leader_commit;
    } else if (type == RAFT_IO_APPEND_ENTRIES_RESULT) {
        term = m->append_entries_result.term;
    }
    n->raft_recv(io, m);
    if (term == 0 || term != r->current_term)
        return;
    if (type == RAFT_IO_APPEND_ENTRIES_RESULT && r->state == RAFT_LEADER) {
        contact_record(n, from, io->time(io), term);
    } else if (type == RAFT_IO_APPEND_ENTRIES && r->state == RAFT_FOLLOWER &&
               r->follower_state.current_leader.id == from) {
        contact_record(n, from, io->time(io), term);
        n->heard_commit = leader_commit;
    }
}

static int contact_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                         raft_io_recv_cb recv)
{
    struct fo_node *n = (struct fo_node *)((char *)io - offsetof(struct fo_node, io));
    n->raft_recv = recv;
    return n->io_start(io, msecs, tick, contact_recv);
}

uint64_t fo_node_now_ms(const struct fo_node *n)
{
    return n->io.time((struct raft_io *)&n->io);
}

uint64_t fo_node_contact_ms(const struct fo_node *n, uint64_t id)
{
    if (id == n->raft.id)
        return fo_node_now_ms(n);
    for (size_t i = 0; i < FO_NODE_CONTACT_MAX; i++)
        if (n->contact[i].id == id)
            return n->contact[i].term == n->raft.current_term ? n->contact[i].at_ms : 0;
    return 0;
}

uint64_t fo_node_heard_commit(const struct fo_node *n)
{
    return n->heard_commit;
}

/* With cfg->tls no Raft byte flows before the peer's certificate is verified and names
 * the node configured for the id it claims (tls_transport.h); without, libraft's TCP. */
static int transport_init(struct fo_node *n, uv_loop_t *loop, const struct fo_node_config *cfg)
{
    struct fo_tls_transport_peer *peers;
    int rv;

    n->tls = cfg->tls != NULL;
    if (!n->tls)
        return raft_uv_tcp_init(&n->transport, loop);
    peers = calloc(cfg->npeers + 1, sizeof(*peers));
    if (peers == NULL)
        return RAFT_NOMEM;
    for (size_t i = 0; i < cfg->npeers; i++) {
        peers[i].id = cfg->peers[i].id;
        peers[i].name = cfg->peers[i].name != NULL ? cfg->peers[i].name : "";
    }
    rv = fo_tls_transport_init(&n->transport, loop, cfg->tls, peers, cfg->npeers);
    free(peers);
    return rv;
}

static void transport_release(struct fo_node *n)
{
    if (n->tls)
        fo_tls_transport_release(&n->transport);
    else
        raft_uv_tcp_close(&n->transport);
}

int fo_node_init(struct fo_node *n, uv_loop_t *loop, const struct fo_node_config *cfg,
                 struct fo_error *err)
{
    int rv;

    memset(n, 0, sizeof(*n));
    n->loop = loop;
    if (cfg->id == 0 || cfg->address == NULL || cfg->dir == NULL)
        return fo_error_set(err, FO_NODE_EINVAL, "node id, address and dir are required");
    if (cfg->heartbeat_ms == 0 || cfg->heartbeat_ms >= cfg->election_timeout_ms)
        /* Debian's libraft is built with NDEBUG: its own assert on this is gone. */
        return fo_error_set(err, FO_NODE_EINVAL,
                            "heartbeat (%u ms) must be below the election timeout (%u ms)",
                            cfg->heartbeat_ms, cfg->election_timeout_ms);
    if (mkdir_if_missing(cfg->dir, err) != 0)
        return err != NULL ? err->code : FO_NODE_EINVAL;
    n->dir = strdup(cfg->dir);
    n->address = strdup(cfg->address);
    if (n->dir == NULL || n->address == NULL) {
        free(n->dir);
        free(n->address);
        return fo_error_set(err, FO_NODE_EINVAL, "out of memory");
    }

    rv = transport_init(n, loop, cfg);
    if (rv != 0) {
        free(n->dir);
        free(n->address);
        return raft_fail(err, FO_NODE_EIO, "raft transport", rv, NULL);
    }
    rv = raft_uv_init(&n->io, loop, n->dir, &n->transport);
    if (rv != 0) {
        transport_release(n);
        free(n->dir);
        free(n->address);
        return raft_fail(err, FO_NODE_EIO, "raft storage", rv, NULL);
    }
    fo_raft_fsm_init(&n->fsm);
    rv = raft_init(&n->raft, &n->io, &n->fsm.raft, cfg->id, n->address);
    if (rv != 0) {
        /* The io's error text is the useful one here (bad dir, no AIO, ...). */
        fo_error_set(err, FO_NODE_EIO, "raft init in %s: %s (raft error %d: %s)", n->dir,
                     raft_strerror(rv), rv, n->io.errmsg);
        raft_uv_close(&n->io);
        transport_release(n);
        fo_raft_fsm_close(&n->fsm);
        free(n->dir);
        free(n->address);
        return FO_NODE_EIO;
    }
    n->raft.data = n;
    n->io_close = n->io.close;
    n->io.close = io_close_guarded;
    n->io_start = n->io.start;
    n->io.start = contact_start;
    n->heartbeat_ms = cfg->heartbeat_ms;
    raft_set_election_timeout(&n->raft, cfg->election_timeout_ms);
    raft_set_heartbeat_timeout(&n->raft, cfg->heartbeat_ms);
    /* Without pre-vote a node cut off alone keeps raising its term and disrupts the
     * cluster when it comes back (reference §4). */
    raft_set_pre_vote(&n->raft, true);
    /* Set both: the header and the code of 0.15 disagree on the trailing default. */
    raft_set_snapshot_threshold(&n->raft, cfg->snapshot_threshold);
    raft_set_snapshot_trailing(&n->raft, cfg->snapshot_trailing);
    raft_uv_set_connect_retry_delay(&n->io, cfg->connect_retry_ms);
    raft_uv_set_segment_size(&n->io, NODE_SEGMENT_SIZE);
    uv_timer_init(loop, &n->watch);
    n->watch.data = n;
    n->last_state = RAFT_UNAVAILABLE;
    return 0;
}

static int cmp_peer_id(const void *a, const void *b)
{
    const struct fo_node_peer *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

int fo_node_bootstrap(struct fo_node *n, const struct fo_node_config *cfg, struct fo_error *err)
{
    struct raft_configuration conf;
    struct fo_node_peer *peers;
    int rv = 0;

    /* metadata1/2 hold the term and vote: their presence means this directory already
     * belongs to a cluster. Bootstrapping over it would forget the vote (uv.h:35-37). */
    if (file_exists(n->dir, "metadata1") || file_exists(n->dir, "metadata2"))
        return fo_error_set(err, FO_NODE_EEXIST, "%s already holds a cluster: start without --init",
                            n->dir);
    /* Every seed node must write a byte-identical configuration: sort by id. */
    peers = calloc(cfg->npeers, sizeof(*peers));
    if (peers == NULL)
        return fo_error_set(err, FO_NODE_EINVAL, "out of memory");
    memcpy(peers, cfg->peers, cfg->npeers * sizeof(*peers));
    qsort(peers, cfg->npeers, sizeof(*peers), cmp_peer_id);
    raft_configuration_init(&conf);
    for (size_t i = 0; i < cfg->npeers && rv == 0; i++)
        rv = raft_configuration_add(&conf, peers[i].id, peers[i].address, RAFT_VOTER);
    free(peers);
    if (rv != 0) {
        raft_configuration_close(&conf);
        return raft_fail(err, FO_NODE_EINVAL, "raft configuration", rv, NULL);
    }
    rv = raft_bootstrap(&n->raft, &conf);
    raft_configuration_close(&conf);
    if (rv == RAFT_CANTBOOTSTRAP)
        return fo_error_set(err, FO_NODE_EEXIST, "%s already holds a cluster (%s)", n->dir,
                            n->io.errmsg);
    if (rv != 0)
        return raft_fail(err, FO_NODE_EIO, "raft bootstrap", rv, &n->raft);
    return 0;
}

int fo_node_start(struct fo_node *n, struct fo_error *err)
{
    unsigned every;
    int rv = raft_start(&n->raft);

    if (rv != 0 && n->transport.errmsg[0] != '\0')
        /* libraft 0.15 drops the transport's message (a listen failure): say it. */
        return fo_error_set(err, FO_NODE_EIO, "raft start: %s (raft error %d: %s)",
                            raft_strerror(rv), rv, n->transport.errmsg);
    if (rv != 0)
        return raft_fail(err, FO_NODE_EIO, "raft start", rv, &n->raft);
    /* Poll a few times per heartbeat: leadership is noticed within ~heartbeat/4. */
    every = n->heartbeat_ms / 4 > 0 ? n->heartbeat_ms / 4 : 1;
    uv_timer_start(&n->watch, watch_tick, 0, every);
    return 0;
}

static void close_step_done(struct fo_node *n)
{
    if (--n->closes_pending > 0)
        return;
    if (n->close_cb != NULL)
        n->close_cb(n);
}

static void raft_closed(struct raft *r)
{
    /* Not raft_uv_close() here, although libraft's example does so: in 0.15 a raft_uv
     * callback can still run after this one and read the io's memory (valgrind:
     * invalid reads inside uv_run, in about one shutdown of ten). fo_node_release()
     * frees it once the loop has run dry. */
    close_step_done(r->data);
}

void fo_node_release(struct fo_node *n)
{
    if (!n->released) {
        raft_uv_close(&n->io);
        transport_release(n);
        fo_raft_fsm_close(&n->fsm);
        free(n->dir);
        free(n->address);
        n->dir = n->address = NULL;
        n->released = true;
    }
}

static void watch_closed(uv_handle_t *h)
{
    close_step_done(h->data);
}

void fo_node_close(struct fo_node *n, fo_node_cb close_cb)
{
    n->closing = true;
    n->close_cb = close_cb;
    n->closes_pending = 2;
    uv_timer_stop(&n->watch);
    uv_close((uv_handle_t *)&n->watch, watch_closed);
    fo_node_change_abort(n);
    /* Fires pending apply/barrier callbacks with LEADERSHIPLOST right here. */
    raft_close(&n->raft, raft_closed);
}

/* ---- proposals -------------------------------------------------------------------- */

static void apply_cb(struct raft_apply *a, int status, void *result)
{
    struct fo_node_propose *req = a->data;
    if (req->cb == NULL)
        return; /* fire and forget: the FSM (and the next tick) will tell */
    if (status == 0)
        req->cb(req, 0, result);
    else if (status == RAFT_LEADERSHIPLOST)
        req->cb(req, FO_NODE_UNKNOWN, NULL);
    else
        req->cb(req, FO_NODE_EIO, NULL);
}

int fo_node_propose(struct fo_node *n, struct fo_node_propose *req, const struct fo_cmd *cmd,
                    fo_node_propose_cb cb)
{
    struct fo_buf frame;
    struct raft_buffer buf;
    unsigned max;
    enum fo_proto_code rc;
    int rv;

    if (n->closing)
        return FO_NODE_ECLOSING;
    if (raft_state(&n->raft) != RAFT_LEADER)
        return FO_NODE_ENOTLEADER;
    if (!fo_node_ready(n))
        return FO_NODE_ENOTREADY;
    /* The rolling-upgrade gate (proto/codec.h "Versions"): nothing newer than the
     * cluster format, except the "format" command that raises it, written in the format
     * it raises to (its proposer checked that every voter reads that). */
    max = fo_state_format(fo_node_state(n));
    if (cmd->type == FO_CMD_FORMAT && cmd->u.format.format > max)
        max = cmd->u.format.format;
    /* ... and the init of a new cluster, which starts it at the format it names (a
     * seed that reads less halts on it, loudly: create a cluster with one release). */
    if (cmd->type == FO_CMD_INIT && cmd->u.init.format > max)
        max = cmd->u.init.format;
    rc = fo_cmd_encode_max(cmd, max, &frame, NULL);
    if (rc == FO_PROTO_EVERSION)
        return FO_NODE_EFORMAT;
    if (rc != FO_PROTO_OK)
        return FO_NODE_EENCODE;
    /* libraft frees entry buffers with raft_free: copy into its heap, zero-padded to a
     * multiple of 8 bytes (raft_fsm.h says why). */
    buf.len = fo_raft_pad(frame.len);
    buf.base = raft_malloc(buf.len);
    if (buf.base == NULL) {
        fo_buf_free(&frame);
        return FO_NODE_EIO;
    }
    memcpy(buf.base, frame.data, frame.len);
    memset((uint8_t *)buf.base + frame.len, 0, buf.len - frame.len);
    fo_buf_free(&frame);
    req->apply.data = req;
    req->node = n;
    req->cb = cb;
    rv = raft_apply(&n->raft, &req->apply, &buf, 1, apply_cb);
    if (rv != 0) {
        raft_free(buf.base);
        return rv == RAFT_NOTLEADER ? FO_NODE_ENOTLEADER : FO_NODE_EIO;
    }
    return 0;
}

/* ---- inspection ------------------------------------------------------------------- */

const struct fo_state *fo_node_state(const struct fo_node *n)
{
    return &n->fsm.fsm.state;
}

int fo_node_role(const struct fo_node *n)
{
    return raft_state((struct raft *)&n->raft);
}

const char *fo_node_role_name(int role)
{
    switch (role) {
    case RAFT_LEADER:
        return "leader";
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    default:
        return "unavailable";
    }
}

bool fo_node_ready(const struct fo_node *n)
{
    /* A halted FSM (fsm.h) is not current: its leader must not decide anything. */
    return !n->closing && raft_state((struct raft *)&n->raft) == RAFT_LEADER &&
           n->ready_term == n->raft.current_term && !n->fsm.fsm.halted;
}

void fo_node_leader(const struct fo_node *n, uint64_t *id, const char **address)
{
    raft_id lid = 0;
    const char *laddr = NULL;
    raft_leader((struct raft *)&n->raft, &lid, &laddr);
    *id = lid;
    *address = laddr;
}

uint64_t fo_node_term(const struct fo_node *n)
{
    return n->raft.current_term;
}

uint64_t fo_node_commit_index(const struct fo_node *n)
{
    return n->raft.commit_index;
}

uint64_t fo_node_last_applied(const struct fo_node *n)
{
    return raft_last_applied((struct raft *)&n->raft);
}

int fo_node_peer_reachable(const struct fo_node *n, uint64_t id)
{
    const struct raft *r = &n->raft;

    if (id == r->id)
        return 1;
    if (r->state == RAFT_LEADER) {
        /* Not progress[].recent_recv: libraft's quorum check clears every flag once per
         * election timeout, so for a heartbeat after each check every peer would read as
         * unreachable (and its verdicts as stale). The node's own contact record of this
         * term says the same thing without the gaps. */
        bool member = false;
        for (unsigned i = 0; i < r->configuration.n; i++)
            if (r->configuration.servers[i].id == id)
                member = true;
        if (!member)
            return -1;
        uint64_t at = fo_node_contact_ms(n, id);
        return at != 0 && fo_node_now_ms(n) - at < r->election_timeout ? 1 : 0;
    }
    if (r->state == RAFT_FOLLOWER && r->follower_state.current_leader.id == id) {
        raft_time now = r->io->time(r->io);
        return now - r->election_timer_start < r->election_timeout ? 1 : 0;
    }
    return -1;
}

static void transfer_cb(struct raft_transfer *req)
{
    struct fo_node *n = req->data;
    n->transfer_pending = false;
    n->transfer_done_ms = uv_now(n->loop);
    /* Whether it worked shows as a role change (on_change), like any other. */
}

int fo_node_transfer(struct fo_node *n, uint64_t id)
{
    /* Not during a membership change (members.h): its steps need this leader. */
    if (n->closing || n->transfer_pending || raft_state(&n->raft) != RAFT_LEADER ||
        n->change.kind != 0)
        return -1;
    if (n->transfer_done_ms != 0 &&
        uv_now(n->loop) - n->transfer_done_ms < FO_NODE_TRANSFER_REUSE_MS)
        return -1;
    memset(&n->transfer, 0, sizeof(n->transfer));
    n->transfer.data = n;
    if (raft_transfer(&n->raft, &n->transfer, (raft_id)id, transfer_cb) != 0)
        return -1;
    n->transfer_pending = true;
    return 0;
}

bool fo_node_transfer_pending(const struct fo_node *n)
{
    return n->transfer_pending;
}

int fo_node_peer_progress(const struct fo_node *n, uint64_t id, uint64_t *match_index, bool *voter)
{
    const struct raft *r = &n->raft;

    for (unsigned i = 0; i < r->configuration.n; i++) {
        if (r->configuration.servers[i].id != id)
            continue;
        *voter = r->configuration.servers[i].role == RAFT_VOTER;
        if (id == r->id) {
            *match_index = raft_last_applied((struct raft *)r);
            return 0;
        }
        if (r->state == RAFT_LEADER) {
            /* progress[] runs parallel to configuration.servers[] (0.15 layout). */
            *match_index = r->leader_state.progress[i].match_index;
            return 0;
        }
        return -1;
    }
    return -2;
}
