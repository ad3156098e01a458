/*
 * consensus/node.h — one failoverd Raft server: libraft 0.15 with raft_uv (durable log
 * and snapshots in a directory), its TCP transport, and the replicated FSM.
 *
 * Life cycle (all on the loop thread; libraft is single-threaded):
 *
 *   fo_node_init()       raft_uv + raft_init + tuning (pre-vote on, snapshot threshold
 *                        and trailing set explicitly, 1 MiB segments)
 *   fo_node_bootstrap()  only when creating a cluster (failoverd --init): writes term 1
 *                        and the configuration "every peer is a voter", refusing a
 *                        directory that already holds Raft metadata
 *   fo_node_start()      loads the snapshot and log, joins the cluster
 *   fo_node_close()      fails pending proposals with FO_NODE_UNKNOWN, closes raft;
 *                        close_cb fires when raft has closed
 *   fo_node_release()    after uv_run() has returned: frees the io and the FSM
 *
 * Leadership. libraft 0.15 has no state callback and a new leader appends no no-op
 * (reference §3, §4), so a new leader cannot trust its FSM to be up to date. A uv timer
 * watches raft_state(); on winning an election the node issues raft_barrier and only
 * when it completes in the same term is the node "ready" (fo_node_ready()) and on_ready
 * called. Proposals are accepted only by a ready leader: whatever the caller decided
 * from the FSM, it decided from a state that includes every committed entry.
 *
 * Proposals. One command per raft_apply (libraft 0.15 calls back n>1 batches early).
 * The callback's status is 0 when the entry was committed and applied locally (then
 * `result` is the FSM's verdict on it: applied, rejected or invalid), FO_NODE_UNKNOWN
 * when leadership was lost before that (the entry may still commit under the next
 * leader: the caller must find out from the FSM, never guess), or FO_NODE_EIO.
 *
 * Ownership: struct fo_node is caller-allocated and must stay alive until
 * fo_node_release(), which may only be called once the loop has run dry (uv_run
 * returned): libraft 0.15 can still run io callbacks after raft's close callback.
 * A struct fo_node_propose is caller-allocated and must stay alive until its callback.
 * fo_node_config's strings are copied by fo_node_init.
 */
#ifndef FO_CONSENSUS_NODE_H
#define FO_CONSENSUS_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include <raft.h>
#include <raft/uv.h>
#include <uv.h>

#include "consensus/raft_fsm.h"
#include "proto/error.h"

/* Error codes (fo_error.code, and statuses of proposal callbacks). */
enum {
    FO_NODE_OK = 0,
    FO_NODE_EINVAL = 1, /* bad configuration or arguments */
    FO_NODE_EIO,        /* libraft or its disk failed; err->msg has libraft's words */
    FO_NODE_EEXIST,     /* bootstrap: the directory already holds a cluster */
    FO_NODE_ENOTLEADER, /* proposal: this node is not the leader */
    FO_NODE_ENOTREADY,  /* proposal: leader, but its election barrier is not done yet */
    FO_NODE_EENCODE,    /* proposal: the command did not encode */
    FO_NODE_UNKNOWN,    /* callback: leadership lost, the outcome is unknown */
    FO_NODE_ECLOSING,   /* the node is shutting down */
    FO_NODE_EFORMAT,    /* proposal: needs a newer format than the cluster's (codec.h) */
};

#define FO_NODE_CONTACT_MAX 16 /* peers whose last contact is remembered */

struct fo_node_peer {
    uint64_t id;
    const char *address; /* "a.b.c.d:port" */
    const char *name;    /* its certificate's name (with tls); may be NULL without */
};

struct fo_node_config {
    uint64_t id;
    const char *address;              /* own Raft address, one of peers[] */
    const char *dir;                  /* the Raft directory; created (0700) if missing */
    const struct fo_node_peer *peers; /* every voter, self included */
    size_t npeers;
    unsigned election_timeout_ms;
    unsigned heartbeat_ms;
    unsigned snapshot_threshold;
    unsigned snapshot_trailing;
    unsigned connect_retry_ms;
    /* Mutual TLS on the Raft port (tls_transport.h), or NULL: libraft's plain TCP.
     * Borrowed; must outlive the node until fo_node_release. */
    struct fo_tls *tls;
};

struct fo_node;
struct fo_node_propose;

/* One Raft configuration change run by this node as leader (consensus/members.h); private
 * to members.c, here only because struct fo_node holds it. */
struct fo_node_change {
    struct raft_change req;
    int kind;             /* 0: none; else members.c's change kinds */
    int step;             /* members.c's steps */
    bool raft_pending;    /* req is with libraft: its callback will come */
    uint64_t id;          /* the server being changed */
    char address[64];     /* its Raft address (add) */
    uint64_t deadline_ms; /* loop time the current wait ends */
    uint64_t wait_index;  /* the index the server must reach */
    unsigned catchup_ms;  /* add: how long a standby may take to catch up */
    void (*cb)(void *data, int outcome);
    void *data;
};

typedef void (*fo_node_cb)(struct fo_node *n);
typedef void (*fo_node_propose_cb)(struct fo_node_propose *req, int status,
                                   const struct fo_fsm_result *result);

/* A proposal in flight. Set data as you like; the rest is private. */
struct fo_node_propose {
    void *data;
    /* private */
    struct raft_apply apply;
    struct fo_node *node;
    fo_node_propose_cb cb;
};

struct fo_node {
    void *data; /* for the owner */
    /* Called once per term in which this node became a ready leader. May be NULL. */
    fo_node_cb on_ready;
    /* Called when the role (raft_state), the term or the known leader changes. May be NULL. */
    fo_node_cb on_change;

    /* read-only for users */
    uv_loop_t *loop;
    struct fo_raft_fsm fsm;  /* the replicated state: fsm.fsm.state */
    uint64_t leader_changes; /* times this node saw the leader change (diagnostic) */
    uint64_t elections_won;

    /* private */
    struct raft raft;
    struct raft_io io;
    struct raft_uv_transport transport;
    uv_timer_t watch;
    struct raft_barrier barrier;
    bool barrier_pending;
    uint64_t barrier_term;
    uint64_t ready_term;
    int last_state;
    uint64_t last_term;
    uint64_t last_leader;
    unsigned heartbeat_ms;
    int closes_pending; /* the watch timer and raft close asynchronously */
    bool closing;
    bool released;
    void (*io_close)(struct raft_io *io, raft_io_close_cb cb); /* raft_uv's own close */
    raft_io_close_cb io_close_cb;                              /* raft's, fired once */
    struct raft_transfer transfer; /* one at a time; see fo_node_transfer */
    bool transfer_pending;
    uint64_t transfer_done_ms; /* loop time its callback fired */
    fo_node_cb close_cb;
    char *dir;
    char *address;
    /* contact (fo_node_contact_ms): raft_uv's start() and raft's recv callback, wrapped */
    int (*io_start)(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
    raft_io_recv_cb raft_recv;
    struct {
        uint64_t id, at_ms, term;
    } contact[FO_NODE_CONTACT_MAX];
    uint64_t heard_commit;        /* leader_commit of the last accepted AppendEntries */
    bool tls;                     /* transport is fo_tls_transport, not raft_uv_tcp */
    struct fo_node_change change; /* members.h: one configuration change at a time */
    bool was_voter;               /* members.h: a voter in its own configuration since start */
};

/* Set up n (libraft, io, transport, FSM) without starting it. On error n holds nothing
 * to free and err says why. */
int fo_node_init(struct fo_node *n, uv_loop_t *loop, const struct fo_node_config *cfg,
                 struct fo_error *err);

/* Create a new cluster whose voters are cfg->peers. Refuses (FO_NODE_EEXIST) when the
 * directory already holds Raft metadata. Call between init and start. */
int fo_node_bootstrap(struct fo_node *n, const struct fo_node_config *cfg, struct fo_error *err);

/* Start participating. On error call fo_node_close all the same. */
int fo_node_start(struct fo_node *n, struct fo_error *err);

/* Stop: pending proposals complete with FO_NODE_UNKNOWN (synchronously, inside this
 * call), then raft closes and close_cb runs. Call once. */
void fo_node_close(struct fo_node *n, fo_node_cb close_cb);

/* Free what fo_node_init allocated. Only after fo_node_close's close_cb AND after the
 * loop has stopped (uv_run returned), never from a callback. Idempotent. */
void fo_node_release(struct fo_node *n);

/* Propose one command. Returns 0 and later calls cb exactly once (cb may be NULL), or
 * returns an error code (FO_NODE_ENOTLEADER, ENOTREADY, EENCODE, EFORMAT, EIO, ECLOSING)
 * and never calls cb. EFORMAT: cmd needs a newer format than the cluster format (the
 * rolling-upgrade gate, proto/codec.h "Versions"); a "format" command may name a newer
 * one — its caller has checked that every voter reads it. */
int fo_node_propose(struct fo_node *n, struct fo_node_propose *req, const struct fo_cmd *cmd,
                    fo_node_propose_cb cb);

/* The FSM's state (read-only; changes only on the loop thread when entries apply). */
const struct fo_state *fo_node_state(const struct fo_node *n);

/* RAFT_LEADER, RAFT_FOLLOWER, RAFT_CANDIDATE or RAFT_UNAVAILABLE. */
int fo_node_role(const struct fo_node *n);
const char *fo_node_role_name(int role);

/* True when this node is the leader, its barrier of the current term completed and its
 * FSM has not halted (fsm.h; a halted leader also hands its leadership on). */
bool fo_node_ready(const struct fo_node *n);

/* The leader this node knows of (0 / NULL when none). */
void fo_node_leader(const struct fo_node *n, uint64_t *id, const char **address);

uint64_t fo_node_term(const struct fo_node *n);
uint64_t fo_node_commit_index(const struct fo_node *n);
uint64_t fo_node_last_applied(const struct fo_node *n);

/*
 * Whether this node currently hears from peer `id`: 1 yes, 0 no, -1 unknown. The
 * leader knows it for every voter (a message within the last election timeout); a
 * follower knows it only for itself and the leader it follows.
 */
int fo_node_peer_reachable(const struct fo_node *n, uint64_t id);

/*
 * How far peer `id` is known to have replicated, and its role in the Raft
 * configuration: returns 0 and sets *match_index (the leader's view of that peer's log;
 * for this node itself, its last applied entry) and *voter, or -1 when this node cannot
 * know the index (a follower asked about another node) — *voter is set whenever the
 * peer is in this node's Raft configuration. -2: not in the configuration at all.
 */
/* Hand leadership to the voter id (libraft's raft_transfer: once id has caught up it
 * gets TimeoutNow and starts an election that the others' leader stickiness lets
 * through). Returns 0 when started; -1 when this node is not the leader, a transfer is
 * pending or ended less than FO_NODE_TRANSFER_REUSE_MS ago, a membership change runs
 * (members.h), or libraft refused id (self,
 * unknown, not a voter). While pending, proposals fail as if there were no leader.
 * libraft 0.15 sends TimeoutNow from inside the request (canonical/raft#396: freed in
 * its callback, that send is used after free), so the node owns one request for its
 * whole life and reuses it only long after the last one ended. */
#define FO_NODE_TRANSFER_REUSE_MS 10000
int fo_node_transfer(struct fo_node *n, uint64_t id);
bool fo_node_transfer_pending(const struct fo_node *n);

int fo_node_peer_progress(const struct fo_node *n, uint64_t id, uint64_t *match_index, bool *voter);

/*
 * Contact, for answers that must show majority contact (the HTTP API's /v1/primary). Every
 * message raft receives passes through the node first (it wraps raft_io's start() and so
 * raft's recv callback), and once raft has handled it the node records:
 *   - on a leader: an AppendEntries result of its current term from a peer — the
 *     follower answered this leader's heartbeat or replication;
 *   - on a follower: an AppendEntries of its current term from the leader it follows,
 *     and the leader's commit index it carried.
 * fo_node_contact_ms: the io clock (fo_node_now_ms, the loop's uv_now) of the last such
 * message from peer id in the current term, 0 when none (for this node itself: now). So
 * a new leader counts no contact from its days as a follower.
 * fo_node_heard_commit: the commit index of the leader's last accepted AppendEntries.
 */
uint64_t fo_node_now_ms(const struct fo_node *n);
uint64_t fo_node_contact_ms(const struct fo_node *n, uint64_t id);
uint64_t fo_node_heard_commit(const struct fo_node *n);

#endif
