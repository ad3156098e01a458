/*
 * coordinator/config/config_reload.h — what a running daemon may take from a config file
 * it re-reads (SIGHUP, `systemctl reload`), and how it takes it.
 *
 * Most of a node's config applies live: the policy (decision.*, but the write lease's
 * timings), the plan, checks, sites, feeds, the alertmanager mapping and the token files
 * (their paths and their contents). Some keys cannot change while the daemon runs, and a
 * file that changes one is refused as a whole, naming the key, so the node keeps running
 * on its old config (one table in config_reload.c, each row with its reason):
 *   - who the node is and where it keeps its state: cluster, node.name, node.data_dir;
 *   - the Raft voters: peers (membership goes through Raft, not through a file), raft.*;
 *   - the listeners, bound at start: admin.listen, health.listen, http.listen and their
 *     limits;
 *   - the write lease's timings (decision.lease_renew_ms, lease_ms, fence_budget_ms,
 *     clock_rate_margin_permille): rounds in progress were granted under them, and the
 *     fence-timing rule only holds when every node uses the same values.
 *
 * fo_config_adopt then moves the new config into the running one in place, keeping the
 * running one's copies of every frozen value (the peers array, its strings): other parts
 * hold pointers into them (the lease's self, the HTTP API's listener), which stay valid.
 *
 * Ownership: neither function keeps a pointer to its arguments. Loop thread (like the
 * daemon's config itself, read-only between reloads).
 */
#ifndef FO_COORDINATOR_CONFIG_RELOAD_H
#define FO_COORDINATOR_CONFIG_RELOAD_H

#include "coordinator/config/config.h"

/* 0 when next may replace cur live; else FO_CONFIG_EFROZEN with err->msg naming the
 * first frozen key that differs and why it cannot change ("node.name: 'a' -> 'b': who
 * this node is (restart it under its new config)"). */
int fo_config_reload_check(const struct fo_config *cur, const struct fo_config *next,
                           struct fo_error *err);

/* The frozen key that differs first (its name, as in the file), or NULL. */
const char *fo_config_reload_frozen(const struct fo_config *cur, const struct fo_config *next);

/* Replace cur by next, which fo_config_reload_check accepted: cur keeps its frozen
 * values (same content, same addresses), the rest is next's; the old rest is freed and
 * next is left empty (nothing to free). */
void fo_config_adopt(struct fo_config *cur, struct fo_config *next);

#endif
