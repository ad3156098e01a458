/*
 * coordinator/daemon.c — see daemon.h.
 */
#include "coordinator/daemon.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include "coordinator/ctl/admin_client.h"
#include "coordinator/serve/commands.h"
#include "coordinator/run/operations.h"
#include "coordinator/config/components.h"
#include "coordinator/config/plan_check.h"
#include "actions/action.h"
#include "coordinator/clock.h"
#include "coordinator/log.h"
#include "actions/secret.h"

/* How often the daemon checks what it should propose (init, its digest) and whether it
 * must fence itself (the config's fence-timing rule counts this period). */
#define HOUSEKEEPING_MS FO_CONFIG_TICK_MS
/* A forwarded proposal that takes longer than this is abandoned and retried later. */
#define FORWARD_TIMEOUT_MS 2000

/* Wall-clock milliseconds, stamped into commands for people and reports. Correctness
 * never depends on it: the FSM orders by the log, not by these stamps. */
uint64_t fo_daemon_now_ms(void)
{
    return fo_clock_wall_ms();
}

const struct fo_peer *fo_daemon_leader(const struct fo_daemon *d)
{
    return fo_ops_leader(&d->node, &d->cfg);
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
    /* A new cluster starts at this binary's newest format: no `upgrade finish` needed
     * for a cluster created by one release (README "Upgrading"). */
    cmd.u.init.format = FO_PROTO_VERSION;
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
    req.token = (char *)fo_admin_client_node_token(d->admin_token); /* TLS: none */
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
    if (fo_daemon_removed_check(d))
        return;
    if (d->reload_deferred && fo_node_state(&d->node)->operation == NULL)
        fo_daemon_reload(d, NULL);
    maybe_init(d);
    maybe_report_digest(d);
    fo_verdicts_reconcile(&d->verdicts);
    fo_executor_kick(&d->executor);
    fo_ops_tick(&d->ops);
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
    fo_verdicts_leader_changed(&d->verdicts);
    /* A new leader resumes the operation in flight from its journal. */
    fo_executor_kick(&d->executor);
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
        return;
    }
    /* A deposed leader cancels its in-flight actions now, on the state change itself,
     * not on the next housekeeping tick (issue 13, 7). */
    if (!d->stopping)
        fo_executor_kick(&d->executor);
    /* A follower that learnt of a new leader re-sends what the old one never took. */
    if (!d->stopping && role == RAFT_FOLLOWER && leader != NULL)
        fo_verdicts_leader_changed(&d->verdicts);
}

static void on_reject(struct fo_raft_fsm *rf, const struct fo_fsm_result *res)
{
    (void)rf;
    if (res->outcome == FO_FSM_HALTED) {
        /* Once per halt (raft_fsm.h): this node applies nothing more until it runs a
         * release that reads the entry (proto/codec.h "Versions"). */
        fo_log_error("fsm.halted",
                     "reason=\"%s\" fix=\"run a newer failoverd release on this "
                     "node; it replays from its last snapshot\"",
                     res->msg);
        return;
    }
    /* Every node logs the same rejection for the same entry: that is the point. */
    fo_log_warn("fsm.reject", "type=%s outcome=%s reason=\"%s\"",
                fo_cmd_type_name(res->type) != NULL ? fo_cmd_type_name(res->type) : "?",
                res->outcome == FO_FSM_INVALID ? "invalid" : "rejected", res->msg);
}

/* ---- admin calls ------------------------------------------------------------------ */

static void admin_handler(struct fo_admin_server *s, struct fo_admin_call *call,
                          const struct fo_admin_req *req, const struct fo_identity *who)
{
    struct fo_daemon *d = s->data;

    if (d->stopping) {
        fo_admin_call_replyf(call, FO_REPLY_BUSY, "%s is shutting down", d->cfg.self->name);
        return;
    }
    fo_commands_dispatch(&d->serve, call, req, who);
}

/* ---- start and stop --------------------------------------------------------------- */

/* SIGHUP: `systemctl reload` (ExecReload) and `kill -HUP`; fo_daemon_reload logs. */
static void on_hup(uv_signal_t *h, int signum)
{
    (void)signum;
    fo_log_info("daemon.signal", "signal=HUP action=reload");
    fo_daemon_reload(h->data, NULL);
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct fo_daemon *d = h->data;
    fo_log_info("daemon.signal", "signal=%s action=stop", signum == SIGTERM ? "TERM" : "INT");
    fo_daemon_stop(d);
}

/* The parts' data pointers are their users' (verdicts: none; executor, lease: fo_ops;
 * http: fo_serve), so their close callbacks find the daemon from the part's address. */
#define DAEMON_OF(ptr, member)                                                                     \
    ((struct fo_daemon *)((char *)(ptr)-offsetof(struct fo_daemon, member)))

static void closed_one(struct fo_daemon *d)
{
    if (--d->pending_closes == 0)
        fo_log_info("daemon.stopped", "exit_code=%d", d->exit_code);
}

static void handle_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

static void lease_closed(uv_handle_t *h)
{
    closed_one(DAEMON_OF(h->data, lease));
}

/* Work an applied entry calls for, run right after libraft's apply returns: the executor
 * (a lease mark may open its gate), the lease (a move away from this region's site), the
 * decision (a verdict). Events, not the housekeeping tick, drive a failover. */
static void apply_kicked(uv_timer_t *t)
{
    struct fo_daemon *d = t->data;
    if (d->stopping)
        return;
    fo_executor_kick(&d->executor);
    if (d->lease_started)
        fo_lease_kick(&d->lease);
    if (fo_node_ready(&d->node) && fo_node_state(&d->node)->cluster != NULL)
        fo_ops_tick(&d->ops);
}

void fo_daemon_kick(struct fo_daemon *d, uint64_t after_ms)
{
    if (!d->stopping && d->admin_started)
        uv_timer_start(&d->apply_kick, apply_kicked, after_ms, 0);
}

/* fo_ops_handles.kick: a decision deadline. */
static void daemon_kick_cb(void *ctx, uint64_t after_ms)
{
    fo_daemon_kick(ctx, after_ms);
}

static void on_apply(struct fo_raft_fsm *rf, const struct fo_fsm_result *res)
{
    (void)res;
    fo_daemon_kick(rf->data, 0);
}

static void node_closed(struct fo_node *n)
{
    closed_one(n->data);
}

static void admin_closed(struct fo_admin_server *s)
{
    closed_one(s->data);
}

static void health_closed(struct fo_health_server *s)
{
    closed_one(s->data);
}

static void http_closed(struct fo_http_api *h)
{
    closed_one(DAEMON_OF(h, http));
}

static void executor_closed(struct fo_executor *ex)
{
    closed_one(DAEMON_OF(ex, executor));
}

static void verdicts_closed(struct fo_verdicts *v)
{
    closed_one(DAEMON_OF(v, verdicts));
}

static void prober_closed(struct fo_prober *p)
{
    closed_one(p->data);
}

/* The prober's users see none while it restarts, then the new one. */
static void prober_handles(struct fo_daemon *d)
{
    d->ops.prober = d->prober_started ? &d->prober : NULL;
    d->serve.prober = d->ops.prober;
}

static void prober_start_again(struct fo_daemon *d)
{
    struct fo_error err = {0};
    if (fo_daemon_prober_start(d, &err) != 0)
        fo_log_error("config.reload", "probes=failed reason=\"%s\"", err.msg);
    prober_handles(d);
}

static void prober_restarted(struct fo_prober *p)
{
    struct fo_daemon *d = p->data;

    d->prober_restarting = false;
    if (d->stopping) { /* fo_daemon_stop counted this close */
        closed_one(d);
        return;
    }
    prober_start_again(d);
}

void fo_daemon_prober_restart(struct fo_daemon *d)
{
    bool running = d->prober_started;

    d->prober_started = false;
    prober_handles(d);
    if (running) {
        d->prober_restarting = true;
        fo_prober_close(&d->prober, prober_restarted);
        return;
    }
    if (!d->prober_restarting) /* else the restart under way reads the new checks */
        prober_start_again(d);
}

/* ---- feeds (this node's probes: daemon_config.c) ---------------------------------- */

/* A monitoring feed's report: region and component checked, then one more observer's
 * verdict (verdicts.h aggregates components). Times are this node's: the decision
 * compares them with the leader's clock, which a feed's clock has no part in. */
static void on_health(struct fo_health_server *s, struct fo_health_call *call,
                      const struct fo_health *h)
{
    struct fo_daemon *d = s->data;
    char msg[FO_TEXT_MAX];

    if (h->component == NULL || h->component[0] == '\0') {
        fo_health_call_reply(call, FO_REPLY_BAD_REQUEST, "health.component: required");
        return;
    }
    if (fo_verdicts_component(&d->verdicts, h->observer, h->region, h->component, h->status,
                              h->detail, fo_daemon_now_ms(), msg, sizeof(msg)) != 0) {
        fo_health_call_reply(call, FO_REPLY_BAD_REQUEST, "health.%s", msg);
        return;
    }
    fo_health_call_reply(call, FO_REPLY_OK, "recorded");
}

static int start_health(struct fo_daemon *d, struct fo_error *err)
{
    struct fo_health_server_config hc = {0};

    if (d->cfg.health.listen == NULL)
        return 0;
    hc.listen = d->cfg.health.listen;
    hc.max_connections = d->cfg.health.max_connections;
    hc.request_timeout_ms = d->cfg.admin.request_timeout_ms;
    hc.feeds = d->feeds;
    hc.nfeeds = d->cfg.nfeeds;
    /* The same TLS as the admin port when the cluster runs it (issue 14): a feed's token
     * must not cross regions in clear. */
    hc.tls = d->tls_on ? &d->tls : NULL;
    d->health.data = d;
    if (fo_health_server_start(&d->health, d->loop, &hc, on_health, err) != 0)
        return 1;
    d->health_started = true;
    return 0;
}

static int start_http(struct fo_daemon *d, struct fo_error *err)
{
    if (d->cfg.http.listen == NULL)
        return 0;
    if (fo_http_api_start(&d->http, d->loop, &d->serve, &d->cfg.http, err) != 0)
        return 1;
    d->http_started = true;
    return 0;
}

/* What the admin commands, the HTTP API and the metrics read (serve/context.h). */
static void serve_handles(struct fo_daemon *d)
{
    struct fo_serve *s = &d->serve;

    s->node = &d->node;
    s->cfg = &d->cfg;
    s->ops = &d->ops;
    s->lease = &d->lease;
    s->verdicts = &d->verdicts;
    s->prober = d->prober_started ? &d->prober : NULL;
    s->executor = d->executor_started ? &d->executor : NULL;
    s->health = d->health_started ? &d->health : NULL;
    s->admin = &d->admin; /* its counters: zero until it starts, right after this */
    s->http = &d->http;
    s->tokens = &d->tokens;
    s->feeds = d->feeds;
    s->nfeeds = d->cfg.nfeeds;
    s->stopping = &d->stopping;
    s->tls = d->tls_on ? &d->tls : NULL;
}

/* A refused peer, once per reason and host per minute (consensus/tls.h). */
static void tls_refused(void *data, const char *where, const char *remote,
                        enum fo_tls_reason reason, const char *detail, unsigned suppressed)
{
    (void)data;
    fo_log_warn("tls.refused", "port=%s peer=%s reason=%s suppressed=%u detail=\"%s\"", where,
                remote, fo_tls_reason_name(reason), suppressed, detail);
}

static int start_tls(struct fo_daemon *d, struct fo_error *err)
{
    const struct fo_config_tls *t = &d->cfg.tls;
    struct fo_tls_files files = {.ca = t->ca, .cert = t->cert, .key = t->key, .crl = t->crl};

    if (t->mode != FO_TLS_MODE_ON) {
        fo_log_warn("tls.off", "raft and admin traffic in plain text (tls.mode off)");
        return 0;
    }
    d->tls.on_refused = tls_refused;
    if (fo_tls_init(&d->tls, &files, 0, err) != 0)
        return 1;
    d->tls_on = true;
    fo_admin_client_use_tls(&d->tls);
    return 0;
}

int fo_daemon_tokens_reload(struct fo_daemon *d, struct fo_error *err)
{
    return d->tokens_loaded ? fo_tokens_reload(&d->tokens, err) : 0;
}

static int start_node(struct fo_daemon *d, bool init, struct fo_error *err)
{
    struct fo_node_peer peers[16];
    struct fo_node_config nc = {0};
    char dir[4096];

    if (d->cfg.npeers > sizeof(peers) / sizeof(peers[0]))
        return fo_error_set(err, 1, "too many peers");
    if (fo_daemon_removed_refuse(d, err) != 0)
        return 1;
    for (size_t i = 0; i < d->cfg.npeers; i++) {
        peers[i].id = d->cfg.peers[i].id;
        peers[i].address = d->cfg.peers[i].raft;
        peers[i].name = d->cfg.peers[i].name;
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
    nc.tls = d->tls_on ? &d->tls : NULL;
    if (fo_node_init(&d->node, d->loop, &nc, err) != 0)
        return 1;
    d->node.data = d;
    d->node.on_ready = on_ready;
    d->node.on_change = on_change;
    d->node.fsm.on_reject = on_reject;
    d->node.fsm.on_apply = on_apply;
    d->node.fsm.data = d;
    d->node_started = true; /* from here on, closing goes through fo_node_close */
    if (init) {
        int rv = fo_node_bootstrap(&d->node, &nc, err);
        if (rv != 0)
            return rv;
        fo_log_info("cluster.bootstrap", "dir=%s voters=%zu", dir, d->cfg.npeers);
    }
    if (fo_node_start(&d->node, err) != 0)
        return 1;
    return fo_daemon_membership_check(d, dir, err);
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
    /* --init makes every peer a voter: n voters survive (n - 1) / 2 failures, n + 1 no
     * more, so an even count is a mistake there. Otherwise the peers are only the address
     * book and may be even while a member is added or removed (consensus/members.h). */
    if (opts->init && d->cfg.npeers % 2 == 0) {
        d->exit_code = 2;
        return fo_error_set(err, 2,
                            "--init: %zu peers: the first Raft configuration needs an odd "
                            "number of voters (list the seed nodes only; add more later with "
                            "failoverctl members-add)",
                            d->cfg.npeers);
    }
    if (fo_plan_check(&d->cfg, err) != 0) {
        d->exit_code = 2;
        return 1;
    }
    fo_log_setup(d->cfg.self->name, (enum fo_log_level)opts->log_level);
    if (fo_daemon_tokens_load(d, err) != 0)
        return 1;
    if (start_tls(d, err) != 0)
        return 1;
    if (fo_daemon_operators_load(d, err) != 0)
        return 1;
    fo_log_info("daemon.start", "version=%s cluster=%s node_id=%llu raft=%s admin=%s digest=%.12s",
                FO_VERSION, d->cfg.cluster, (unsigned long long)d->cfg.self->id, d->cfg.self->raft,
                d->cfg.admin.listen, d->cfg.digest);
    if (start_node(d, opts->init, err) != 0) {
        fo_daemon_stop(d);
        return 1;
    }
    /* Under TLS nodes forward with their certificate: no operator token leaves them. */
    if (fo_verdicts_init(&d->verdicts, loop, &d->node, &d->cfg,
                         fo_admin_client_node_token(d->admin_token)) != 0) {
        fo_error_set(err, 1, "out of memory");
        fo_daemon_stop(d);
        return 1;
    }
    d->verdicts_started = true;
    {
        const struct fo_executor_runner runner = {fo_action_run, fo_action_kind_find};
        const struct fo_ops_handles oh = {loop,
                                          &d->node,
                                          &d->cfg,
                                          &d->executor,
                                          &d->lease,
                                          &d->verdicts,
                                          fo_admin_client_node_token(d->admin_token),
                                          daemon_kick_cb,
                                          d};
        fo_executor_init(&d->executor, loop, &d->node, &d->cfg, &d->cfg.plan, &runner);
        d->executor_started = true;
        fo_ops_init(&d->ops, &oh); /* the executor's on_finished and gate; the lease's hands */
        d->lease_started = true;
    }
    if (fo_daemon_prober_start(d, err) != 0) {
        fo_daemon_stop(d);
        return 1;
    }
    fo_ops_start(&d->ops, d->prober_started ? &d->prober : NULL);
    if (start_health(d, err) != 0) {
        fo_daemon_stop(d);
        return 1;
    }
    serve_handles(d);
    ac.listen = d->cfg.admin.listen != NULL ? d->cfg.admin.listen : d->cfg.self->admin;
    ac.tokens = &d->tokens;
    ac.tls = d->tls_on ? &d->tls : NULL;
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
    uv_signal_init(loop, &d->sighup);
    d->sigterm.data = d->sigint.data = d->sighup.data = d;
    uv_signal_start(&d->sigterm, on_signal, SIGTERM);
    uv_signal_start(&d->sigint, on_signal, SIGINT);
    uv_signal_start(&d->sighup, on_hup, SIGHUP);
    uv_timer_init(loop, &d->housekeeping);
    d->housekeeping.data = d;
    uv_timer_init(loop, &d->apply_kick);
    d->apply_kick.data = d;
    uv_timer_start(&d->housekeeping, housekeeping, HOUSEKEEPING_MS, HOUSEKEEPING_MS);
    uv_timer_init(loop, &d->watchdog);
    d->watchdog.data = d;
    {
        uint64_t usec = 0;
        if (sd_watchdog_enabled(0, &usec) > 0 && usec >= 2000) /* ping at half the period */
            uv_timer_start(&d->watchdog, watchdog_ping, 0, usec / 2000);
    }
    /* After the admin server and the handles fo_daemon_stop closes with it. */
    if (start_http(d, err) != 0) {
        fo_daemon_stop(d);
        return 1;
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
    fo_ops_close(&d->ops);
    d->pending_closes = 1; /* released at the end of this function */
    sd_notify(0, "STOPPING=1");
    if (signals) {
        d->pending_closes += 6;
        uv_close((uv_handle_t *)&d->sighup, handle_closed);
        uv_close((uv_handle_t *)&d->apply_kick, handle_closed);
        uv_close((uv_handle_t *)&d->watchdog, handle_closed);
        uv_close((uv_handle_t *)&d->sigterm, handle_closed);
        uv_close((uv_handle_t *)&d->sigint, handle_closed);
        uv_close((uv_handle_t *)&d->housekeeping, handle_closed);
    }
    /* Producers first: nothing may start new work on a closing node. */
    if (d->prober_started) {
        d->pending_closes++;
        fo_prober_close(&d->prober, prober_closed);
    } else if (d->prober_restarting) { /* its close is under way: prober_restarted counts it */
        d->pending_closes++;
    }
    if (d->health_started) {
        d->pending_closes++;
        fo_health_server_close(&d->health, health_closed);
    }
    if (d->http_started) { /* answers at once: no proposal of its own to wait for */
        d->pending_closes++;
        fo_http_api_close(&d->http, http_closed);
    }
    if (d->executor_started) {
        d->pending_closes++;
        fo_executor_close(&d->executor, executor_closed);
    }
    if (d->lease_started) {
        d->pending_closes++;
        fo_lease_close(&d->lease, lease_closed);
    }
    if (d->verdicts_started) {
        d->pending_closes++;
        fo_verdicts_close(&d->verdicts, verdicts_closed);
    }
    /* Raft next: its pending proposals answer their admin calls with "unknown". */
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
    if (d->tokens_loaded)
        fo_tokens_free(&d->tokens);
    d->tokens_loaded = false;
    fo_secret_wipe(d->admin_token, sizeof(d->admin_token));
    fo_secret_wipe(d->read_token, sizeof(d->read_token));
    for (size_t i = 0; i < sizeof(d->feed_tokens) / sizeof(d->feed_tokens[0]); i++)
        fo_secret_wipe(d->feed_tokens[i], sizeof(d->feed_tokens[i]));
    if (d->node_started)
        fo_node_release(&d->node); /* the loop has run dry: libraft is done with it */
    if (d->tls_on) {
        fo_admin_client_use_tls(NULL);
        fo_tls_close(&d->tls);
        d->tls_on = false;
    }
    if (d->config_loaded)
        fo_config_free(&d->cfg);
    d->config_loaded = false;
}
