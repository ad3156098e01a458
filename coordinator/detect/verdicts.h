/*
 * coordinator/detect/verdicts.h — the verdicts this node reports, and getting them committed
 * (DESIGN §4, §5).
 *
 * This node reports for itself (its probes' per-region verdicts) and for the feeds
 * whose reports it received. For each (observer, region) it keeps the WANTED status and
 * compares it with the replicated one: where they differ, the ready leader proposes a
 * verdict command; a follower forwards it to the leader (admin `propose t=verdict`).
 * Only differences are ever proposed, so probe frequency never becomes Raft traffic,
 * and reconciling (rather than sending once) heals lost forwards and leader changes.
 *
 * Feeds report per component ("postgres", "redis", ...); a feed's verdict for a region
 * is DOWN when any component it reported there is DOWN, UP when all are UP, else
 * UNKNOWN.
 *
 * Ownership: caller-allocated; borrows node, cfg and the admin token (used to forward),
 * which must outlive it. Loop thread only.
 */
#ifndef FO_COORDINATOR_VERDICTS_H
#define FO_COORDINATOR_VERDICTS_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"

#define FO_VERDICTS_MAX        1024 /* (observers) x (regions) this node reports */
#define FO_VERDICTS_COMPONENTS 8    /* components per feed and region */

struct fo_verdict_want {
    char observer[FO_NAME_MAX + 1];
    char region[FO_NAME_MAX + 1];
    int status; /* enum fo_status */
    char reason[FO_TEXT_MAX];
    uint64_t at_ms;
    bool pending;           /* a proposal or forward is in flight */
    uint64_t not_before_ms; /* loop time: retry after a failure */
    bool failed;            /* the last attempt failed: a new leader retries it at once */
    /* feeds only: the components they reported in this region */
    struct {
        char name[FO_NAME_MAX + 1];
        int status;
    } components[FO_VERDICTS_COMPONENTS];
    unsigned ncomponents;
};

struct fo_verdicts {
    /* read-only for users: counters */
    unsigned long long proposed, forwarded, failed;
    /* private */
    uv_loop_t *loop;
    struct fo_node *node;
    const struct fo_config *cfg;
    const char *token;
    struct fo_verdict_want *wants; /* owned */
    size_t nwants;
    unsigned inflight;
    bool closing;
    void (*close_cb)(struct fo_verdicts *v);
};

int fo_verdicts_init(struct fo_verdicts *v, uv_loop_t *loop, struct fo_node *node,
                     const struct fo_config *cfg, const char *admin_token);

/* This node (or a feed) now sees region as status. Reconciles at once. Returns -1 when
 * the table is full or the region is not configured. */
int fo_verdicts_set(struct fo_verdicts *v, const char *observer, const char *region, int status,
                    const char *reason, uint64_t at_ms);

/* A feed's report about one component; aggregated into its region verdict. Returns -1
 * (msg says why) when the region is unknown or the tables are full. */
int fo_verdicts_component(struct fo_verdicts *v, const char *feed, const char *region,
                          const char *component, int status, const char *detail, uint64_t at_ms,
                          char *msg, size_t cap);

/* True when every verdict this node wants for observer is committed as it wants it.
 * The leader decides only then: otherwise it could decide on evidence it has already
 * withdrawn (its own "UP again" still in flight; found by the simulation). */
bool fo_verdicts_settled(const struct fo_verdicts *v, const char *observer);

/* Propose or forward every wanted verdict that differs from the FSM's. Call it on a
 * timer and after elections. */
void fo_verdicts_reconcile(struct fo_verdicts *v);

/* The Raft leader changed (or this node became the ready leader): attempts that failed
 * against the old one are retried now, not after their back-off. A verdict forwarded to
 * a leader that just died would otherwise wait a whole second after the election, and
 * that second is on a failover's critical path when the lost region held the leader. */
void fo_verdicts_leader_changed(struct fo_verdicts *v);

/* Stop; close_cb runs once no forward or proposal can call back (proposals end when the
 * node closes). Frees the table. */
void fo_verdicts_close(struct fo_verdicts *v, void (*close_cb)(struct fo_verdicts *v));

#endif
