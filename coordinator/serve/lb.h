/*
 * coordinator/serve/lb.h — the load balancers' health checks (issue 16, "client
 * routing"), served by the HTTP API as
 *
 *   GET /v1/lb/<component>/primary?site=S      component: postgres | redis
 *   GET /v1/lb/<component>/primary?host=H[&port=P]
 *   GET /v1/lb/<component>/replica?site=S | host=H[&port=P]
 *
 * One check names one server, as a load balancer checks each server of a backend: by
 * its site, or by the host (and port) the configuration gives that site's component.
 *
 *   /primary  200 when the node can show majority contact (majority.h), the cluster is
 *             initialised, the server's site is the decided primary and no operation
 *             that moves the primary is in flight (during a failover or switchover no
 *             server is the writable primary: the old one is fenced, the new one not yet
 *             promoted); 503 otherwise.
 *   /replica  200 when the node can show majority contact, the server's site is not the
 *             decided primary and this node's last probe of the server found a standby
 *             (Postgres in recovery, Redis role slave); 503 otherwise (an old primary
 *             that was never re-seeded is not a replica).
 *
 * A query that names no server, or one the configuration does not know, is 400 / 404:
 * a check misconfigured is a check that fails, with a body that says why.
 *
 * Pure: the caller gives the facts (config, state, the majority judgement, a probe
 * lookup). Thread: the caller's.
 */
#ifndef FO_COORDINATOR_LB_H
#define FO_COORDINATOR_LB_H

#include <stdbool.h>

#include "coordinator/config/components.h"
#include "coordinator/config/config.h"
#include "coordinator/serve/majority.h"
#include "proto/state.h"

struct fo_lb_query {
    enum fo_component_kind kind;
    bool replica;     /* /replica, else /primary */
    const char *site; /* the query's arguments, NULL when absent */
    const char *host;
    const char *port;
};

/* This node's last probe of site's component: 1 a standby, 0 not, -1 unknown. */
typedef int (*fo_lb_standby_fn)(void *ctx, const struct fo_site *site, enum fo_component_kind kind);

struct fo_lb_facts {
    const struct fo_config *cfg;
    const struct fo_state *st;
    const struct fo_majority *majority;
    fo_lb_standby_fn standby;
    void *ctx;
};

struct fo_lb_answer {
    unsigned status;            /* 200, 400, 404 or 503 */
    const char *code;           /* "ok", a majority reason, or one of lb.c's codes */
    const struct fo_site *site; /* the server's site, when found */
    char msg[FO_TEXT_MAX];
};

/* Judge q on f. Returns out->status. */
unsigned fo_lb_judge(const struct fo_lb_query *q, const struct fo_lb_facts *f,
                     struct fo_lb_answer *out);

/* The component kind of a path segment ("postgres"), or -1 (DNS has no server). */
int fo_lb_kind_of(const char *name);

#endif
