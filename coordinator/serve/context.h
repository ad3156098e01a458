/*
 * coordinator/serve/context.h — what the servers answer from (issue 17): the handles the
 * admin commands (commands.h), the HTTP API (http_api.h), its authentication
 * (http_auth.h) and the metrics page (metrics.h) read, instead of the whole daemon.
 *
 * Ownership: the daemon fills one struct fo_serve (daemon.c) and owns everything it
 * points to; a handle that is NULL has not started (its counters read as 0, its checks
 * as none). Loop thread only.
 */
#ifndef FO_COORDINATOR_SERVE_CONTEXT_H
#define FO_COORDINATOR_SERVE_CONTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "consensus/node.h"
#include "coordinator/config/config.h"
#include "coordinator/detect/probe.h"
#include "coordinator/detect/verdicts.h"
#include "coordinator/run/executor.h"
#include "coordinator/run/lease.h"
#include "coordinator/run/operations.h"
#include "coordinator/serve/admin_server.h"
#include "coordinator/serve/health_server.h"
#include "coordinator/serve/tokens.h"

struct fo_http_api;

struct fo_serve {
    struct fo_node *node;
    const struct fo_config *cfg;
    struct fo_ops *ops;
    struct fo_lease *lease;
    struct fo_verdicts *verdicts;
    /* NULL until started */
    struct fo_prober *prober;
    struct fo_executor *executor;
    struct fo_admin_server *admin;
    struct fo_health_server *health;
    struct fo_http_api *http;
    /* secrets, the daemon's */
    struct fo_tokens *tokens; /* operators (and nodes) by name: serve/tokens.h */
    const struct fo_health_feed *feeds;
    size_t nfeeds;
    const bool *stopping;     /* the daemon is shutting down */
    const struct fo_tls *tls; /* the peers' TLS (its expiry times), or NULL: tls.mode off */
};

#endif
