/*
 * coordinator/daemon.h — failoverd's single context: the configuration, the Raft node,
 * the admin server and the timers that tie them together. main() (failoverd.c) owns
 * one struct fo_daemon and the loop; nothing else in the process is global (but the
 * logger's node name, see log.h).
 *
 * What the daemon does on its own, as the leader:
 *   - the first ready leader of a new cluster commits `init` (cluster name, initial
 *     primary site) — once: a second init with the same name is a no-op in the FSM;
 *   - every node makes sure the FSM holds its replicated-config digest, proposing it
 *     when it is the ready leader and forwarding it to the leader otherwise; `status`
 *     then reports any node whose digest differs.
 *
 * Reload (SIGHUP, `systemctl reload`): fo_daemon_reload re-reads the config file — the
 * policy, plan, checks, sites, feeds and every token file — and applies it live, or
 * refuses it as a whole, logging the key, when it changes what cannot change while the
 * daemon runs (config/config_reload.h: node, data dir, peers, raft, listeners, lease
 * timings); the old config then stays. While an operation is in flight the reload waits
 * for its end (its plan runs from the config). The new digest then reaches the FSM as
 * above, and until every peer reports the same, `status` lists the mismatch and the
 * automatic path holds (decide/decision.h, config_mismatch).
 *
 * Under systemd (Type=notify) it reports READY=1 once Raft and the admin port are up,
 * STOPPING=1 on shutdown, and pings the watchdog from the loop, so a loop that stops
 * turning gets the node restarted. Outside systemd these are no-ops.
 *
 * This is the wiring: it owns every part and hands each one the narrow handles it needs
 * (run/operations.h's fo_ops_handles, serve/context.h's fo_serve); no part includes
 * this header (tests/check-includes).
 *
 * Ownership: caller-allocated; fo_daemon_start fills it, fo_daemon_stop starts the
 * shutdown, and the loop returns once everything is closed; fo_daemon_free then
 * releases what is left. Loop thread only.
 */
#ifndef FO_COORDINATOR_DAEMON_H
#define FO_COORDINATOR_DAEMON_H

#include <stdbool.h>

#include <uv.h>

#include "consensus/node.h"
#include "consensus/tls.h"
#include "coordinator/serve/admin_server.h"
#include "coordinator/decide/decision.h"
#include "coordinator/run/executor.h"
#include "coordinator/run/lease.h"
#include "coordinator/run/operations.h"
#include "coordinator/serve/context.h"
#include "coordinator/serve/health_server.h"
#include "coordinator/serve/http_api.h"
#include "coordinator/detect/probe.h"
#include "coordinator/detect/verdicts.h"
#include "coordinator/config/config.h"
#include "proto/admin.h"

struct fo_daemon_options {
    const char *config_path;
    bool init;     /* create the cluster (failoverd --init) */
    int log_level; /* enum fo_log_level: once the config names the node, lines carry it */
};

struct fo_daemon {
    uv_loop_t *loop;
    struct fo_config cfg;
    struct fo_node node;
    struct fo_admin_server admin;
    struct fo_tls tls; /* tls.mode on: the node's certificate for Raft and admin traffic */
    bool tls_on;
    uv_signal_t sigterm, sigint, sighup;
    uv_timer_t housekeeping;
    uv_timer_t watchdog;                /* systemd's watchdog, when the unit sets WatchdogSec */
    char admin_token[FO_TOKEN_MAX + 1]; /* secret: wiped by fo_daemon_free */
    char read_token[FO_TOKEN_MAX + 1];  /* secret; empty when not configured */
    struct fo_tokens tokens;            /* who may call the admin port and the HTTP API */
    struct fo_node_propose init_req;
    bool init_pending;
    struct fo_node_propose digest_req;
    bool digest_pending;            /* proposed locally or forwarded, not answered yet */
    struct fo_executor executor;    /* runs the operation in flight (leader) */
    struct fo_verdicts verdicts;    /* what this node reports, committed by reconciling */
    struct fo_prober prober;        /* this node's probes of every region */
    struct fo_health_server health; /* monitoring feeds push reports here (optional) */
    struct fo_health_feed feeds[16];
    char feed_tokens[16][FO_TOKEN_MAX + 1]; /* secrets: wiped by fo_daemon_free */
    struct fo_http_api http;                /* GET /metrics, /v1/...; POST webhooks (optional) */
    bool executor_started, verdicts_started, prober_started, health_started, http_started;
    struct fo_ops ops;     /* deciding, operations, the lease's hands (run/operations.h) */
    struct fo_lease lease; /* write leases: guardian and granter (run/lease.h) */
    bool lease_started;
    struct fo_serve serve; /* what the admin commands and the HTTP API read (serve/context.h) */
    uv_timer_t apply_kick; /* runs the kicks an apply calls for, outside libraft's callback */
    bool config_loaded, node_started, admin_started, tokens_loaded;
    bool prober_restarting; /* a reload closed the prober to start it with new checks */
    bool reload_deferred;   /* a reload waits for the operation in flight to end */
    unsigned long reloads;  /* reloads applied since start */
    bool stopping;
    int pending_closes;
    int exit_code; /* what main returns */
};

/* Load the config and tokens, open Raft (bootstrapping with opts->init), start the admin
 * server and the timers. On error everything started is closed again: run the loop
 * until it returns, then fo_daemon_free; err says what failed. */
int fo_daemon_start(struct fo_daemon *d, uv_loop_t *loop, const struct fo_daemon_options *opts,
                    struct fo_error *err);

/* Begin an orderly shutdown (SIGTERM/SIGINT do this): pending proposals end with
 * "outcome unknown", Raft flushes and closes, the loop then runs out of work. */
void fo_daemon_stop(struct fo_daemon *d);

/* Re-read admin.tokens_file (SIGHUP): 0, or non-zero with err (the old list stays). */
int fo_daemon_tokens_reload(struct fo_daemon *d, struct fo_error *err);

/* Release the configuration and wipe the tokens. */
void fo_daemon_free(struct fo_daemon *d);

/* Wall-clock milliseconds, stamped into commands for people and reports (never used
 * for a correctness decision inside the FSM). */
uint64_t fo_daemon_now_ms(void);

/* Run the executor, lease and decision kicks after_ms from now (0: as soon as the loop
 * turns): what an applied entry or a decision deadline calls for. A later call replaces
 * an earlier one; every decision arms its own deadline again. */
void fo_daemon_kick(struct fo_daemon *d, uint64_t after_ms);

enum fo_reload_result {
    FO_RELOAD_OK,       /* the new config runs */
    FO_RELOAD_DEFERRED, /* an operation is in flight: reloaded once it ends */
    FO_RELOAD_REFUSED,  /* err says why (the key, the file, the token); the old config runs */
};

/* Re-read the config file and apply it (see above); logs the outcome (config.reload).
 * err may be NULL. What a reload re-derives is one table in daemon_config.c: a part
 * with more to re-read from the config (a token file) adds its row there. */
enum fo_reload_result fo_daemon_reload(struct fo_daemon *d, struct fo_error *err);

/* The peer this node believes leads, or NULL. */
const struct fo_peer *fo_daemon_leader(const struct fo_daemon *d);

/* ---- between daemon.c and daemon_config.c only ---- */

/* Read every token file of d->cfg into the daemon's buffers (start). */
int fo_daemon_tokens_load(struct fo_daemon *d, struct fo_error *err);
/* Who may call (serve/tokens.h) from the loaded config and tokens: the named operators of
 * admin.tokens_file, and the token files of old as shared entries. A reload rebuilds it. */
int fo_daemon_operators_load(struct fo_daemon *d, struct fo_error *err);
/* Init and start this node's prober from d->cfg (no checks: nothing to start). */
int fo_daemon_prober_start(struct fo_daemon *d, struct fo_error *err);
/* Close the prober and start it again from d->cfg (a reload changed the checks). */
void fo_daemon_prober_restart(struct fo_daemon *d);

/* ---- between daemon.c and daemon_members.c only (consensus/members.h) ---- */

/* Refuse (exit 2, err says why and how to come back) to start on the data of a node that
 * was removed: the marker daemon_members.c writes. 0: not removed. */
int fo_daemon_removed_refuse(struct fo_daemon *d, struct fo_error *err);
/* After the node started: refuse (exit 2) when its stored Raft configuration no longer
 * lists it; log its standing (waiting to be added, or a member without a vote). */
int fo_daemon_membership_check(struct fo_daemon *d, const char *dir, struct fo_error *err);
/* From the housekeeping timer: a node that lost its vote (members-remove) marks its
 * data, logs event=raft.removed and stops with exit 2. True when it did. */
bool fo_daemon_removed_check(struct fo_daemon *d);

#endif
