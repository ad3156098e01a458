/*
 * coordinator/daemon.c — see daemon.h.
 */
#include "coordinator/daemon.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "coordinator/admin_client.h"
#include "coordinator/commands.h"
#include "coordinator/log.h"
#include "actions/secret.h"

/* How often the daemon checks what it should propose (init, its digest). */
#define HOUSEKEEPING_MS 500
/* A forwarded proposal that takes longer than this is abandoned and retried later. */
#define FORWARD_TIMEOUT_MS 2000

/* Wall-clock milliseconds, stamped into commands for people and reports. Correctness
 * never depends on it: the FSM orders by the log, not by these stamps. */
uint64_t fo_daemon_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const struct fo_peer *fo_daemon_leader(const struct fo_daemon *d)
{
    uint64_t id;
    const char *addr;
    fo_node_leader(&d->node, &id, &addr);
    return id != 0 ? fo_config_peer_by_id(&d->cfg, id) : NULL;
}

/* ---- proposals the daemon makes itself --------------------------------------------- */

static void init_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct fo_daemon *d = req->data;
    d->init_pending = false;
    if (status == 0 && res->outcome == FO_FSM_APPLIED)
        fo_log_info("cluster.init", "cluster=%s primary=%s", d->cfg.cluster,
                    d->cfg.initial_primary);
    else if (status == 0)
        fo_log_error("cluster.init", "result=rejected reason=\"%s\"", res->msg);
    else
        fo_log_warn("cluster.init", "result=unknown status=%d (retried if still needed)", status);
}

static void maybe_init(struct fo_daemon *d)
{
    struct fo_cmd cmd = {.type = FO_CMD_INIT};

    if (d->init_pending || !fo_node_ready(&d->node) || fo_node_state(&d->node)->cluster != NULL)
        return;
    cmd.u.init.cluster = d->cfg.cluster;
    cmd.u.init.primary = d->cfg.initial_primary;
    cmd.u.init.at_ms = fo_daemon_now_ms();
    d->init_req.data = d;
    if (fo_node_propose(&d->node, &d->init_req, &cmd, init_done) == 0)
        d->init_pending = true;
}

static bool digest_current(const struct fo_daemon *d)
{
    const struct fo_state *st = fo_node_state(&d->node);
    for (size_t i = 0; i < st->ndigests; i++)
        if (strcmp(st->digests[i].node, d->cfg.self->name) == 0)
            return strcmp(st->digests[i].digest, d->cfg.digest) == 0;
    return false;
}

static void digest_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct fo_daemon *d = req->data;
    d->digest_pending = false;
    if (status != 0 || res->outcome != FO_FSM_APPLIED)
        fo_log_warn("config.digest", "result=%s reason=\"%s\"",
                    status != 0 ? "unknown" : "rejected", status != 0 ? "" : res->msg);
}

static void forward_done(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                         const char *error)
{
    struct fo_daemon *d = c->data;
    d->digest_pending = false;
    if (status != 0)
        fo_log_info("config.digest", "forward=failed error=\"%s\"", error);
    else if (rep->code != FO_REPLY_OK)
        fo_log_info("config.digest", "forward=%s message=\"%s\"",
                    fo_enum_name(fo_reply_code_names, rep->code),
                    rep->message != NULL ? rep->message : "");
}

static void forward_free(struct fo_admin_client *c)
{
    free(c);
}

/* Make sure the FSM holds this node's digest: propose it as the leader, forward it to
 * the leader otherwise. Retried by the housekeeping timer until it is there. */
static void maybe_report_digest(struct fo_daemon *d)
{
    char at[24];
    struct fo_admin_req req = {.cmd = "propose", .nargs = 4};
    const struct fo_peer *leader;
    struct fo_admin_client *c;

    if (d->digest_pending || d->stopping || digest_current(d))
        return;
    snprintf(at, sizeof(at), "%llu", (unsigned long long)fo_daemon_now_ms());
    if (fo_node_ready(&d->node)) {
        struct fo_cmd cmd = {.type = FO_CMD_DIGEST};
        cmd.u.digest.node = d->cfg.self->name;
        cmd.u.digest.digest = d->cfg.digest;
        cmd.u.digest.at_ms = fo_daemon_now_ms();
        d->digest_req.data = d;
        if (fo_node_propose(&d->node, &d->digest_req, &cmd, digest_done) == 0)
            d->digest_pending = true;
        return;
    }
    leader = fo_daemon_leader(d);
    if (leader == NULL || leader == d->cfg.self)
        return;
    struct fo_kv args[] = {
        {"t", "digest"},
        {"node", d->cfg.self->name},
        {"digest", d->cfg.digest},
        {"at_ms", at},
    };
    req.args = args; /* encoded by fo_admin_client_call, not kept */
    req.token = d->admin_token;
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->data = d;
    if (fo_admin_client_call(c, d->loop, leader->admin, &req, FORWARD_TIMEOUT_MS, forward_done,
                             forward_free) != 0) {
        free(c);
        return;
    }
    d->digest_pending = true;
}

static void housekeeping(uv_timer_t *t)
{
    struct fo_daemon *d = t->data;
    maybe_init(d);
    maybe_report_digest(d);
}

static void watchdog_ping(uv_timer_t *t)
{
    (void)t;
    /* Sent from the loop: if the loop stops turning, the pings stop and systemd acts. */
    sd_notify(0, "WATCHDOG=1");
}

static void on_ready(struct fo_node *n)
{
    struct fo_daemon *d = n->data;
    fo_log_info("raft.ready", "term=%llu commit_index=%llu epoch=%llu primary=%s",
                (unsigned long long)fo_node_term(n), (unsigned long long)fo_node_commit_index(n),
                (unsigned long long)fo_node_state(n)->epoch,
                fo_node_state(n)->primary != NULL ? fo_node_state(n)->primary : "-");
    maybe_init(d);
    maybe_report_digest(d);
}

static void on_change(struct fo_node *n)
{
    struct fo_daemon *d = n->data;
    const struct fo_peer *leader = fo_daemon_leader(d);
    int role = fo_node_role(n);

    fo_log_info("raft.role", "role=%s term=%llu leader=%s", fo_node_role_name(role),
                (unsigned long long)fo_node_term(n), leader != NULL ? leader->name : "-");
    if (role == RAFT_UNAVAILABLE && !d->stopping) {
        /* libraft 0.15 drops to UNAVAILABLE when it finds its log inconsistent, e.g.
         * after its older-term commit bug (tests/sim/README.md): an entry this node
         * applied may have been overwritten. Its FSM cannot be trusted; a restart
         * rebuilds it from the log it now has. */
        fo_log_error("raft.unavailable", "action=stop reason=\"raft stopped participating; "
                                         "restart to rebuild the state from the log\"");
        fo_daemon_stop(d);
        d->exit_code = 1;
    }
}

static void on_reject(struct fo_raft_fsm *rf, const struct fo_fsm_result *res)
{
    /* Every node logs the same rejection for the same entry: that is the point. */
    (void)rf;
    fo_log_warn("fsm.reject", "type=%s outcome=%s reason=\"%s\"",
                fo_cmd_type_name(res->type) != NULL ? fo_cmd_type_name(res->type) : "?",
                res->outcome == FO_FSM_INVALID ? "invalid" : "rejected", res->msg);
}

/* ---- admin calls ------------------------------------------------------------------ */

void fo_daemon_reply_not_leader(struct fo_daemon *d, struct fo_admin_call *call)
{
    const struct fo_peer *leader = fo_daemon_leader(d);
    struct fo_reply rep = {0};
    char msg[160];

    if (leader == d->cfg.self) {
        fo_admin_call_replyf(call, FO_REPLY_NO_QUORUM,
                             "%s was just elected and is catching up; retry", leader->name);
        return;
    }
    if (leader == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_NO_QUORUM, "no leader known to %s: no quorum reachable",
                             d->cfg.self->name);
        return;
    }
    snprintf(msg, sizeof(msg), "%s is not the leader; the leader is %s", d->cfg.self->name,
             leader->name);
    rep.code = FO_REPLY_NOT_LEADER;
    rep.message = msg;
    rep.leader = leader->admin;
    fo_admin_call_reply(call, &rep);
}

/* A proposal made for an admin call. Owned by itself: freed in its callback. */
struct propose_call {
    struct fo_node_propose req;
    struct fo_admin_call *call;
    char ok_message[FO_TEXT_MAX];
};

static void propose_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct propose_call *pc = req->data;

    if (status == FO_NODE_UNKNOWN)
        fo_admin_call_replyf(pc->call, FO_REPLY_FAILED,
                             "leadership lost before the commit: outcome unknown, check status");
    else if (status != 0)
        fo_admin_call_replyf(pc->call, FO_REPLY_INTERNAL, "raft storage error");
    else if (res->outcome == FO_FSM_APPLIED)
        fo_admin_call_replyf(pc->call, FO_REPLY_OK, "%s", pc->ok_message);
    else
        fo_admin_call_replyf(pc->call, FO_REPLY_REFUSED, "%s", res->msg);
    free(pc);
}

void fo_daemon_propose_call(struct fo_daemon *d, struct fo_admin_call *call,
                            const struct fo_cmd *cmd, const char *ok_message)
{
    struct propose_call *pc;
    int rv;

    if (!fo_node_ready(&d->node)) {
        fo_daemon_reply_not_leader(d, call);
        return;
    }
    pc = calloc(1, sizeof(*pc));
    if (pc == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_INTERNAL, "out of memory");
        return;
    }
    pc->call = call;
    pc->req.data = pc;
    snprintf(pc->ok_message, sizeof(pc->ok_message), "%s", ok_message);
    rv = fo_node_propose(&d->node, &pc->req, cmd, propose_done);
    if (rv == FO_NODE_EENCODE) {
        free(pc);
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                             "the command does not encode (a field is too long or empty)");
    } else if (rv != 0) {
        free(pc);
        fo_daemon_reply_not_leader(d, call);
    }
}

static void admin_handler(struct fo_admin_server *s, struct fo_admin_call *call,
                          const struct fo_admin_req *req, enum fo_admin_access access)
{
    struct fo_daemon *d = s->data;

    if (d->stopping) {
        fo_admin_call_replyf(call, FO_REPLY_BUSY, "%s is shutting down", d->cfg.self->name);
        return;
    }
    fo_commands_dispatch(d, call, req, access);
}

/* ---- start and stop --------------------------------------------------------------- */

static void on_signal(uv_signal_t *h, int signum)
{
    struct fo_daemon *d = h->data;
    fo_log_info("daemon.signal", "signal=%s action=stop", signum == SIGTERM ? "TERM" : "INT");
    fo_daemon_stop(d);
}

static void closed_one(struct fo_daemon *d)
{
    if (--d->pending_closes == 0)
        fo_log_info("daemon.stopped", "exit_code=%d", d->exit_code);
}

static void handle_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void node_closed(struct fo_node *n)
{
    closed_one(n->data);
}

static void admin_closed(struct fo_admin_server *s)
{
    closed_one(s->data);
}

static int start_node(struct fo_daemon *d, bool init, struct fo_error *err)
{
    struct fo_node_peer peers[16];
    struct fo_node_config nc = {0};
    char dir[4096];

    if (d->cfg.npeers > sizeof(peers) / sizeof(peers[0]))
        return fo_error_set(err, 1, "too many peers");
    for (size_t i = 0; i < d->cfg.npeers; i++) {
        peers[i].id = d->cfg.peers[i].id;
        peers[i].address = d->cfg.peers[i].raft;
    }
    snprintf(dir, sizeof(dir), "%s/raft", d->cfg.data_dir);
    nc.id = d->cfg.self->id;
    nc.address = d->cfg.self->raft;
    nc.dir = dir;
    nc.peers = peers;
    nc.npeers = d->cfg.npeers;
    nc.election_timeout_ms = d->cfg.raft.election_timeout_ms;
    nc.heartbeat_ms = d->cfg.raft.heartbeat_ms;
    nc.snapshot_threshold = d->cfg.raft.snapshot_threshold;
    nc.snapshot_trailing = d->cfg.raft.snapshot_trailing;
    nc.connect_retry_ms = d->cfg.raft.connect_retry_ms;
    if (fo_node_init(&d->node, d->loop, &nc, err) != 0)
        return 1;
    d->node.data = d;
    d->node.on_ready = on_ready;
    d->node.on_change = on_change;
    d->node.fsm.on_reject = on_reject;
    d->node_started = true; /* from here on, closing goes through fo_node_close */
    if (init) {
        int rv = fo_node_bootstrap(&d->node, &nc, err);
        if (rv != 0)
            return rv;
        fo_log_info("cluster.bootstrap", "dir=%s voters=%zu", dir, d->cfg.npeers);
    }
    return fo_node_start(&d->node, err);
}

int fo_daemon_start(struct fo_daemon *d, uv_loop_t *loop, const struct fo_daemon_options *opts,
                    struct fo_error *err)
{
    struct fo_admin_server_config ac = {0};

    memset(d, 0, sizeof(*d));
    d->loop = loop;
    d->exit_code = 1;
    if (fo_config_load(opts->config_path, &d->cfg, err) != 0) {
        d->exit_code = 2;
        return 1;
    }
    d->config_loaded = true;
    /* The runbook's RTO for critical systems: 2 hours. */
    d->plan.rto_target_ms = 2u * 60u * 60u * 1000u;
    fo_log_setup(d->cfg.self->name, (enum fo_log_level)opts->log_level);
    if (fo_secret_read_file(d->cfg.admin.token_file, d->admin_token, sizeof(d->admin_token), err) !=
        0)
        return 1;
    if (d->cfg.admin.read_token_file != NULL &&
        fo_secret_read_file(d->cfg.admin.read_token_file, d->read_token, sizeof(d->read_token),
                            err) != 0)
        return 1;
    fo_log_info("daemon.start", "version=%s cluster=%s node_id=%llu raft=%s admin=%s digest=%.12s",
                FO_VERSION, d->cfg.cluster, (unsigned long long)d->cfg.self->id, d->cfg.self->raft,
                d->cfg.admin.listen, d->cfg.digest);
    if (start_node(d, opts->init, err) != 0) {
        fo_daemon_stop(d);
        return 1;
    }
    ac.listen = d->cfg.admin.listen != NULL ? d->cfg.admin.listen : d->cfg.self->admin;
    ac.admin_token = d->admin_token;
    ac.read_token = d->read_token[0] != '\0' ? d->read_token : NULL;
    ac.max_connections = d->cfg.admin.max_connections;
    ac.request_timeout_ms = d->cfg.admin.request_timeout_ms;
    d->admin.data = d;
    if (fo_admin_server_start(&d->admin, loop, &ac, admin_handler, err) != 0) {
        fo_daemon_stop(d);
        return 1;
    }
    d->admin_started = true;
    uv_signal_init(loop, &d->sigterm);
    uv_signal_init(loop, &d->sigint);
    d->sigterm.data = d->sigint.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_timer_init(loop, &d->housekeeping);
    d->housekeeping.data = d;
    uv_timer_start(&d->housekeeping, housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    uv_timer_init(loop, &d->watchdog);
    d->watchdog.data = d;
    {
        uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) /* ping at half the period */
            uv_timer_start(&d->watchdog, watchdog_ping, 0, usec / 2000);
    }
    sd_notifyf(0, "READY=1\nSTATUS=node %s: raft %s, admin %s", d->cfg.self->name,
               d->cfg.self->raft, ac.listen);
    d->exit_code = 0;
    return 0;
}

void fo_daemon_stop(struct fo_daemon *d)
{
    bool signals = d->admin_started; /* signals and the timer start with the admin server */

    if (d->stopping)
        return;
    d->stopping = true;
    d->pending_closes = 1; /* released at the end of this function */
    sd_notify(0, "STOPPING=1");
    if (signals) {
        d->pending_closes += 4;
        uv_close((uv_handle_t *)&d->watchdog, handle_closed);
        uv_close((uv_handle_t *)&d->sigterm, handle_closed);
        uv_close((uv_handle_t *)&d->sigint, handle_closed);
        uv_close((uv_handle_t *)&d->housekeeping, handle_closed);
    }
    /* Raft first: its pending proposals answer their admin calls with "unknown". */
    if (d->node_started) {
        d->pending_closes++;
        fo_node_close(&d->node, node_closed);
    }
    if (d->admin_started) {
        d->pending_closes++;
        fo_admin_server_close(&d->admin, admin_closed);
    }
    closed_one(d);
}

void fo_daemon_free(struct fo_daemon *d)
{
    fo_secret_wipe(d->admin_token, sizeof(d->admin_token));
    fo_secret_wipe(d->read_token, sizeof(d->read_token));
    if (d->node_started)
        fo_node_release(&d->node); /* the loop has run dry: libraft is done with it */
    fo_plan_free(&d->plan);
    if (d->config_loaded)
        fo_config_free(&d->cfg);
    d->config_loaded = false;
}
