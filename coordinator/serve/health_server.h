/*
 * coordinator/serve/health_server.h — the health-feed endpoint (DESIGN §5, §8): monitoring
 * systems push framed msgpack health reports (proto/health.h) to any node, each
 * answered with a reply of the same id.
 *
 * Authentication is per feed: a report names its observer (the feed), and its token
 * must be that feed's token (constant-time compare). So one feed can never speak for
 * another, nor for a coordinator node. Unknown feed, missing or wrong token:
 * "unauthorized", logged without the token. A malformed report: "bad_request" naming
 * the field. Everything else is handed to the handler, which answers (it checks that
 * the region exists, maps the component, and reports the verdict).
 *
 * Over frame_server.h: the same connection limits and time limits as the admin port.
 *
 * Ownership: caller-allocated, alive until close_cb; the feeds array and its tokens are
 * borrowed and must outlive the server. Loop thread only.
 */
#ifndef FO_COORDINATOR_HEALTH_SERVER_H
#define FO_COORDINATOR_HEALTH_SERVER_H

#include "coordinator/serve/frame_server.h"
#include "proto/health.h"

#define FO_HEALTH_FRAME_MAX (16u * 1024u)

struct fo_health_server;
struct fo_health_call;

/* A feed this node accepts reports from. */
struct fo_health_feed {
    const char *name;
    const char *token; /* secret */
};

typedef void (*fo_health_handler)(struct fo_health_server *s, struct fo_health_call *call,
                                  const struct fo_health *report);
typedef void (*fo_health_server_close_cb)(struct fo_health_server *s);

struct fo_health_server_config {
    const char *listen;
    unsigned max_connections;
    unsigned request_timeout_ms;
    const struct fo_health_feed *feeds;
    size_t nfeeds;
    /* TLS (the cluster's, consensus/tls.h), or NULL: plain TCP. Feeds need no client
     * certificate (they prove themselves with their token); a feed that speaks plain
     * text to a TLS port gets one reply saying TLS is required. Borrowed. */
    struct fo_tls *tls;
};

struct fo_health_server {
    void *data;                           /* for the owner */
    unsigned long long reports, rejected; /* read-only: counters for metrics */
    struct fo_frame_server frame;
    /* private */
    struct fo_health_server_config cfg;
    fo_health_handler handler;
    fo_health_server_close_cb close_cb;
};

int fo_health_server_start(struct fo_health_server *s, uv_loop_t *loop,
                           const struct fo_health_server_config *cfg, fo_health_handler handler,
                           struct fo_error *err);
void fo_health_server_close(struct fo_health_server *s, fo_health_server_close_cb close_cb);

/* Replace the feeds reports are checked against (a config reload); borrowed like the
 * config's. Takes effect for the next report. */
void fo_health_server_set_feeds(struct fo_health_server *s, const struct fo_health_feed *feeds,
                                size_t nfeeds);

/* Answer the report (ok, or an error code with a message) and release the call. */
void fo_health_call_reply(struct fo_health_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
