/*
 * coordinator/serve/http_api.h — the node's HTTP API (DESIGN §9): libmicrohttpd on the
 * daemon's libuv loop.
 *
 *   GET  /metrics          Prometheus text format 0.0.4      an operator's token (tokens.h)
 *   GET  /v1/status        the status document (commands.h)  an operator's token
 *   GET  /v1/primary       the decided primary site and its   open: nothing secret in it,
 *                          endpoints, from this node's config  load balancers probe it
 *                          -- only from a node that can show majority contact
 *                          (majority.h), else 503 with the reason as the error code
 *   GET  /v1/lb/<component>/primary|replica?site=S|host=H[&port=P]
 *                          a load balancer's per-server health   open
 *                          check (lb.h): 200 or 503
 *   POST /v1/alertmanager  Alertmanager webhook (v4)          the alertmanager feed's token
 *   POST /v1/health        one JSON health report             the reporting feed's token
 *
 * Tokens come as `Authorization: Bearer <token>` and are compared in constant time
 * (fo_secret_equal); a missing or wrong one is a 401 with `WWW-Authenticate: Bearer` and
 * is logged (event=http.auth) without the token. Every error is JSON:
 * {"error": {"code": "...", "message": "..."}}: 404 unknown path, 405 wrong method (with
 * Allow), 400 malformed body, 413 body over its route's cap (FO_HTTP_BODY_MAX;
 * /v1/alertmanager FO_FEED_ALERTMANAGER_MAX), 503 shutting down or not initialised.
 *
 * Threads: none of its own. libmicrohttpd runs in external-polling epoll mode
 * (MHD_USE_EPOLL without MHD_USE_INTERNAL_POLLING_THREAD); a uv_poll_t watches its epoll
 * fd and a uv_timer_t follows MHD_get_timeout, and both call MHD_run() from the loop. So
 * every handler runs on the loop thread and reads the FSM, the prober and the counters
 * directly, like the admin commands do. Handlers never block: each answers at once.
 *
 * Limits: connections (http.max_connections), an idle timeout (http.timeout_ms, rounded up
 * to whole seconds: libmicrohttpd's unit), 32 KiB per connection for the request line
 * and headers (over it libmicrohttpd itself answers 431, not in JSON), and request bodies
 * up to FO_HTTP_BODY_MAX, or FO_FEED_ALERTMANAGER_MAX (4 MiB) for /v1/alertmanager with
 * the alertmanager feed's token (checked before the body is read, so a client without it
 * cannot make the node buffer 4 MiB per connection): an alert group comes whole and
 * Alertmanager never retries a 413. Such a body is parsed on the loop (tens of ms at
 * 4 MiB); bound it at the source with max_alerts (README).
 *
 * Listens on IPv4 ("a.b.c.d:port") or IPv6 ("[v6]:port"), as coordinator/config/addr.h
 * parses http.listen. HTTPS with http.tls_cert and http.tls_key (libmicrohttpd's TLS,
 * GnuTLS inside); plain HTTP only with http.plain_text: true. A plain-text client on the
 * HTTPS port fails its handshake and is closed; libmicrohttpd's lines about it are
 * rate-limited (one per 10 s, with a count).
 *
 * Ownership: caller-allocated (in struct fo_daemon), alive until close_cb. Borrows the
 * handles of s (serve/context.h: config, node, prober, tokens), which outlive it. Loop thread only.
 */
#ifndef FO_COORDINATOR_HTTP_API_H
#define FO_COORDINATOR_HTTP_API_H

#include <stdbool.h>

#include <uv.h>

#include "coordinator/config/config.h"
#include "coordinator/serve/feed_json.h" /* FO_FEED_JSON_MAX */
#include "coordinator/serve/metrics.h"   /* struct fo_op_counter */
#include "coordinator/serve/tokens.h"    /* struct fo_auth_limiter */
#include "proto/error.h"

#define FO_HTTP_BODY_MAX     FO_FEED_JSON_MAX /* a POST body (a feed's); larger: 413 */
#define FO_HTTP_CONN_MEM_MAX (32u * 1024u)    /* per connection: request line + headers */
#define FO_HTTP_PEM_MAX      (64u * 1024u)    /* http.tls_cert / tls_key files */

struct fo_serve;
struct MHD_Daemon;
struct fo_http_api;

typedef void (*fo_http_api_close_cb)(struct fo_http_api *h);

struct fo_http_api {
    /* read-only for users: counters for metrics */
    unsigned long long requests;     /* every request that reached a handler */
    unsigned long long rejected;     /* answered 4xx (auth failures included) */
    unsigned long long unauthorized; /* answered 401 */
    unsigned long long reports;      /* feed reports recorded (health + alerts) */
    unsigned long long reports_rejected;
    unsigned long long no_majority; /* /v1/primary and /v1/lb checks without majority contact */
    struct fo_op_counter ops;       /* failoverd_operations_total (metrics.h) */
    /* private */
    struct fo_serve *s;
    struct MHD_Daemon *mhd;
    uv_poll_t poll;   /* on libmicrohttpd's epoll fd */
    uv_timer_t timer; /* MHD_get_timeout */
    int pending;      /* handles being closed */
    bool closing;
    fo_http_api_close_cb close_cb;
    char mhd_error[160];                  /* libmicrohttpd's last log line, for a failed start */
    char *tls_cert, *tls_key;             /* PEM texts with HTTPS (the key wiped at close) */
    struct fo_auth_limiter mhd_log_limit; /* libmicrohttpd's lines once serving */
};

/* Listen on cfg->listen and serve d. Returns 0, or non-zero with err set (then nothing is
 * left to close). */
int fo_http_api_start(struct fo_http_api *h, uv_loop_t *loop, struct fo_serve *s,
                      const struct fo_config_http *cfg, struct fo_error *err);

/* Stop listening, drop every connection (in-flight requests get no answer) and close the
 * handles; close_cb runs when h may be freed. Call once, after a successful start. */
void fo_http_api_close(struct fo_http_api *h, fo_http_api_close_cb close_cb);

#endif
