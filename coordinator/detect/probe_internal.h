/*
 * coordinator/detect/probe_internal.h — what probe.c shares with the three clients
 * (probe_pg.c, probe_redis.c, probe_http.c). Not part of the prober's contract.
 *
 * One probe of a check: probe.c starts it (c->running, deadline timer armed) and calls
 * the kind's start; the kind ends it exactly once with probe_finish(), possibly inside
 * start. When the deadline fires, probe.c calls the kind's abort (drop whatever is in
 * flight, no probe_finish) and then finishes the probe as a timeout. probe_finish runs
 * the owner's callbacks, which may stop or close the prober: a kind must not touch its
 * library state after calling probe_finish, only return.
 *
 * Handles a kind creates (uv_poll_t for sockets) are closed with probe_handle_close(),
 * which counts them in p->pending, so that the prober's close_cb waits for them.
 */
#ifndef FO_COORDINATOR_PROBE_INTERNAL_H
#define FO_COORDINATOR_PROBE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "coordinator/detect/probe.h"

#define PROBE_PASSWORD_MAX 1024
#define PROBE_ADDR_MAX     64 /* a numeric IPv4/IPv6 address */

struct probe_resolve; /* a uv_getaddrinfo in flight */

struct probe_pg {
    void *conn;      /* PGconn * */
    uv_poll_t *poll; /* on PQsocket(conn); re-made when the socket changes */
    int poll_fd;
    int phase;    /* enum in probe_pg.c */
    bool reused;  /* this probe runs on a connection kept from an earlier one */
    bool retried; /* ... and already reconnected once after it broke */
    void *res;    /* PGresult * of this probe's query, until the last result */
    /* A standby's last sign of life from its primary, kept across probes: the probe's
     * uv_now() when the WAL receiver was last seen streaming, and how old its last
     * message from the primary was then (0: never seen streaming). */
    uint64_t streamed_at;
    uint64_t streamed_age_ms;
};

struct probe_redis {
    void *ac; /* redisAsyncContext *; NULL when not connected */
    bool connected;
    int waiting; /* replies still expected in this probe */
};

struct probe_http {
    void *easy; /* CURL * of the probe in flight */
    size_t body;
    char errbuf[256];
};

struct fo_probe_check {
    struct fo_prober *p;
    size_t index;
    struct fo_probe_spec spec; /* strings owned (strdup), "" when not given */
    char password[PROBE_PASSWORD_MAX];
    bool has_password;
    char addr[PROBE_ADDR_MAX]; /* the host's numeric address, after resolving */
    struct fo_check_state state;
    struct fo_probe_result cur;  /* being filled by the probe in flight */
    struct fo_probe_result last; /* the last ended probe */
    bool has_last;
    uv_timer_t tick;
    uv_timer_t deadline;
    bool running;
    uint64_t started_hr;  /* uv_hrtime() at the probe's start */
    uint32_t deadline_ms; /* this probe's deadline (probe.h: twice timeout_ms to connect) */
    struct probe_resolve *resolving;
    struct probe_pg pg;
    struct probe_redis redis;
    struct probe_http http;
};

struct fo_probe_region {
    char name[FO_NAME_MAX + 1];
    int status;
    char reason[FO_PROBE_REASON_MAX];
};

/* End the probe in flight (no-op if none). detail is printf-style. */
void probe_finish(struct fo_probe_check *c, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Close a handle the prober counts (its close callback frees it when free_it). */
void probe_handle_close(struct fo_prober *p, uv_handle_t *h, bool free_it);

/* A kept connection dropped between probes (the server went away): run the check now,
 * from the loop, unless a probe is in flight. */
void probe_run_soon(struct fo_probe_check *c);

/* Resolve c->spec.host into c->addr. Returns 1 when it is numeric already (done, no
 * callback), 0 when cb will run later (status 0 or a uv error), or a uv error. cb does not
 * run after probe_resolve_cancel. */
typedef void (*probe_resolve_cb)(struct fo_probe_check *c, int status);
int probe_resolve(struct fo_probe_check *c, probe_resolve_cb cb);
void probe_resolve_cancel(struct fo_probe_check *c);

/* Copy untrusted server text into out, printable ASCII only, truncated. */
void probe_sanitize(char *out, size_t cap, const char *in, size_t n);

/* The kinds. start: begin one probe. abort: drop the probe in flight without finishing it
 * (the connection too). close: drop everything (the prober closes). */
void probe_pg_start(struct fo_probe_check *c);
/* A kept connection the next probe can use (no connect). */
bool probe_pg_kept(const struct fo_probe_check *c);
void probe_pg_abort(struct fo_probe_check *c);
void probe_pg_close(struct fo_probe_check *c);

void probe_redis_start(struct fo_probe_check *c);
bool probe_redis_kept(const struct fo_probe_check *c);
void probe_redis_abort(struct fo_probe_check *c);
void probe_redis_close(struct fo_probe_check *c);

int probe_http_init(struct fo_prober *p, struct fo_error *err);
void probe_http_start(struct fo_probe_check *c);
void probe_http_abort(struct fo_probe_check *c);
void probe_http_close(struct fo_prober *p); /* after every check's abort */

#endif
