/*
 * coordinator/detect/probe.h — health checks of the data plane from this node's vantage point,
 * turned into this observer's verdict per region (DESIGN §5).
 *
 * A prober (struct fo_prober, a libuv-style handle) runs every configured check on the
 * loop, periodically, and never blocks the loop:
 *
 *   postgres  libpq non-blocking: PQconnectStartParams + PQconnectPoll, PQsendQuery /
 *             PQconsumeInput / PQgetResult, driven by a uv_poll_t on PQsocket(). The
 *             connection is kept between probes and re-made when it breaks. One query
 *             reads the role (pg_is_in_recovery()) and, on a standby, the lag; on a
 *             primary, a summary of pg_stat_replication. application_name is
 *             "failoverd-probe".
 *   redis     hiredis async API on the loop (a uv_poll_t adapter, see probe_redis.c):
 *             AUTH once per connection when a password is configured, then PING and
 *             INFO replication per probe. The connection is kept between probes.
 *   http      libcurl's multi interface driven by uv_poll_t per socket and a uv timer;
 *             one easy handle per probe, GET, the status compared with expect_status,
 *             the body discarded (at most 64 KiB read). Requires curl_global_init() to
 *             have been called once by main before any thread starts.
 *
 * Host names are resolved on libuv's thread pool (uv_getaddrinfo) for postgres and redis
 * (libpq and hiredis would resolve synchronously), and by libcurl's threaded resolver for
 * http. Every probe is cut by a uv timer at timeout_ms: a hanging server is a failure, the
 * connection is dropped, and the other checks go on on time meanwhile. A postgres or redis
 * probe that has no kept connection and must open one gets twice timeout_ms: a new
 * connection costs several round trips (TCP, TLS, SCRAM: about five for Postgres, 350 ms
 * at a 70 ms RTT), and the shipped 450 ms timeout made a reachable server across a WAN
 * fail its first probes, and a new cluster fail over at start (tests/bench/failover
 * --wan). A probe on a kept connection, which is one query, keeps timeout_ms, and so does
 * a reconnect after a failed probe of a check that is UP: a server that stopped
 * answering (a cut) is confirmed DOWN as fast as before, and one that died refuses the
 * connect at once. A check not yet UP (start-up, or DOWN and coming back) connects with
 * twice the timeout whatever its last probe did: at start a refused first connect (the
 * server not listening yet) otherwise left every later connect on the plain timeout,
 * and on a busy machine across a WAN those failed until the cluster failed over.
 *
 * Scheduling: each check runs every interval_ms, its first run at a phase in
 * [0, interval_ms) derived from a hash of its name (stable, spread, no PRNG). A check
 * whose previous probe has not ended yet skips that tick. Two events run a check early
 * (issue 13, a failover counted from the first failed probe): a failure that starts or
 * continues a streak runs the next probe exactly when the streak would have lasted
 * down_after_ms, and a kept Postgres or Redis connection that the server closes between
 * probes (it died or restarted) runs the check at once. Either way the rhythm resumes
 * from that run.
 *
 * Check status (the pure state machine fo_check_state_feed below): UNKNOWN at start;
 * DOWN once it has failed continuously for down_after_ms (measured from its first
 * failure of the streak to a later failure); UP once it has succeeded continuously for
 * up_after_ms. One success resets the failure streak and one failure the success streak,
 * so flapping inside the windows changes nothing. A failure is: cannot resolve/connect,
 * timeout, an error reply, a wrong answer (PING not PONG, HTTP status != expect_status).
 * The role (primary/standby, master/replica) is information, never a failure.
 *
 * Region verdict of this observer (fo_region_verdict): DOWN when any critical check of
 * the region is DOWN; UP when every critical check is UP (a region with no critical check:
 * UP when all its checks are UP, never DOWN); else UNKNOWN. A change calls on_region once,
 * with a reason naming the check and its last error ("postgres:main: connection refused").
 *
 * Results: fo_prober_result() gives each check's last result: ok, latency, a short detail
 * (the error, or a summary), and what the server said of replication:
 *
 *   postgres  in_recovery; on a standby lag_bytes and lag_ms (below), wal_lsn (the
 *             last WAL position received), receiver_streaming; on a primary wal_lsn
 *             (pg_current_wal_lsn), the number of standbys and of streaming ones, and
 *             the largest replay lag in bytes among them.
 *   redis     role (master/replica), link_up (replica: master_link_status:up), offset
 *             (master: master_repl_offset; replica: slave_repl_offset), replicas.
 *   http      the status code.
 *
 * What lag_bytes and lag_ms mean (a standby):
 *   lag_bytes = pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()):
 *     WAL the standby has received but not replayed yet. It is not lost on promotion
 *     (promotion replays it first) but delays it. WAL the primary wrote and never sent is
 *     invisible from the standby: for the RPO, compare the standby's wal_lsn (received)
 *     with the primary's last wal_lsn the decision module recorded, and look at
 *     receiver_streaming.
 *   lag_ms = the replay delay: 0 when everything received has been replayed (receive ==
 *     replay); otherwise now() - pg_last_xact_replay_timestamp(), the age of the commit
 *     time (on the primary) of the last replayed transaction. The raw difference is
 *     meaningless on an idle primary (it grows while nothing is written, the reference's
 *     gotcha), hence the 0 when caught up; while replay is behind it is an upper bound
 *     (the primary may have been idle before the pending WAL) and includes the clock
 *     offset between the two hosts. Unknown (lag_ms_known false) when nothing has been
 *     replayed yet or streaming never started (NULL LSNs / timestamp).
 *   received_ago_ms = how long ago the standby last heard from its primary: while its WAL
 *     receiver streams, now() - pg_stat_wal_receiver.last_msg_receipt_time (one host's
 *     clock); when it stops streaming (the link or the primary is gone), the prober adds
 *     the time since it last saw it streaming, on its own monotonic clock. Writes the
 *     primary acknowledged in that time never reached the standby: a cut database link
 *     shows as a growing lag, not as "replayed everything". Unknown when the prober
 *     never saw the receiver stream. On an idle primary it is an upper bound (the
 *     primary sends keepalives only every wal_sender_timeout / 2).
 *
 * Callbacks run on the loop thread. on_region and on_result may call fo_prober_stop and
 * fo_prober_close (nothing more happens for this prober after that).
 *
 * Ownership: struct fo_prober is caller-allocated and must stay alive until close_cb.
 * fo_prober_init copies the specs (every string); passwords are read from their files at
 * fo_prober_start, kept in memory wiped at close, never logged nor put in a detail.
 * Strings from servers are truncated and made printable before they reach a detail.
 */
#ifndef FO_COORDINATOR_PROBE_H
#define FO_COORDINATOR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "actions/pg_ssl.h"

#include "proto/error.h"
#include "proto/state.h" /* enum fo_status, FO_NAME_MAX */

#define FO_PROBE_MAX_CHECKS  128
#define FO_PROBE_DETAIL_MAX  256  /* a result's detail, NUL included */
#define FO_PROBE_REASON_MAX  384  /* a verdict's reason, NUL included (< FO_TEXT_MAX) */
#define FO_PROBE_STRING_MAX  1024 /* host, dbname, user, url, file names */
#define FO_PROBE_TIMEOUT_MAX 600000u

/* Error codes (fo_error.code). */
enum { FO_PROBE_OK = 0, FO_PROBE_EINVAL = 1, FO_PROBE_ESECRET, FO_PROBE_ENOMEM };

enum fo_probe_kind { FO_PROBE_POSTGRES = 0, FO_PROBE_REDIS, FO_PROBE_HTTP };
extern const char *const fo_probe_kind_names[]; /* "postgres", "redis", "http", NULL */

/* One check, as the config loader fills it. Strings are borrowed by fo_prober_init and
 * copied. Which target fields a kind uses:
 *   postgres  host (name, IP, or a socket directory starting with '/'), port, dbname,
 *             user, password_file (optional)
 *   redis     host, port, password_file (optional)
 *   http      url (http:// or https://), expect_status (0 means 200)            */
struct fo_probe_spec {
    const char *name;       /* unique among the checks, <= FO_NAME_MAX, e.g. "postgres:main" */
    int kind;               /* enum fo_probe_kind */
    const char *region;     /* <= FO_NAME_MAX */
    bool critical;          /* its DOWN makes the region DOWN */
    uint32_t interval_ms;   /* > 0 */
    uint32_t timeout_ms;    /* > 0, <= FO_PROBE_TIMEOUT_MAX */
    uint32_t down_after_ms; /* 0: DOWN at the first failure */
    uint32_t up_after_ms;   /* 0: UP at the first success */
    const char *host;
    uint16_t port;
    const char *dbname;
    const char *user;
    const char *password_file;
    const char *ssl[FO_PG_NSSL]; /* postgres: TLS (actions/pg_ssl.h); NULL: libpq's default */
    const char *url;
    uint32_t expect_status;
};

/* ---- the pure part: one check's state machine and the region aggregation ---- */

struct fo_check_state {
    int status;         /* enum fo_status */
    uint64_t since_ms;  /* when status last changed (0: never) */
    bool seen;          /* at least one result fed */
    bool last_ok;       /* the last result */
    uint64_t streak_ms; /* when the current run of equal results began */
};

void fo_check_state_init(struct fo_check_state *s);

/* Feed one result observed at now_ms (a monotonic clock, non-decreasing). Returns true
 * when the status changed (s->status is the new one). */
bool fo_check_state_feed(struct fo_check_state *s, uint64_t now_ms, bool ok, uint32_t down_after_ms,
                         uint32_t up_after_ms);

struct fo_region_member {
    int status; /* enum fo_status of the check */
    bool critical;
};

/* The verdict of one region from its checks. *culprit (may be NULL) is set to the index
 * of the check that explains a DOWN (the first critical DOWN one) or an UNKNOWN (the
 * first counted check not UP), SIZE_MAX for UP or no checks. */
int fo_region_verdict(const struct fo_region_member *m, size_t n, size_t *culprit);

/* ---- results ---- */

enum fo_probe_redis_role { FO_REDIS_ROLE_UNKNOWN = 0, FO_REDIS_ROLE_MASTER, FO_REDIS_ROLE_REPLICA };

struct fo_probe_pg_info {
    bool in_recovery;     /* a standby */
    bool wal_lsn_known;   /* primary: pg_current_wal_lsn(); standby: receive LSN */
    uint64_t wal_lsn;     /* as a byte position */
    bool lag_bytes_known; /* standby: received minus replayed (see above) */
    uint64_t lag_bytes;
    bool lag_ms_known; /* standby: replay delay (see above) */
    uint64_t lag_ms;
    bool receiver_streaming;  /* standby: pg_stat_wal_receiver.status = 'streaming' */
    bool received_ago_known;  /* standby: how long ago it last heard from its primary */
    uint64_t received_ago_ms; /* (see above), as of this result's at_ms */
    uint32_t standbys;        /* primary: rows of pg_stat_replication */
    uint32_t standbys_streaming;
    bool standby_lag_known; /* primary: max(current LSN - replay_lsn) over standbys */
    uint64_t standby_lag_bytes;
};

/*
 * The RPO gate's lag of a standby (pure): bytes received but not replayed, and in ms the
 * longer of its replay delay and the time it has not heard from its primary
 * (received_ago_ms, aged by standby_age_ms, the time since the standby's result). When
 * this node's last probe of the primary, primary_age_ms ago, found a WAL position the
 * standby had already received, nothing the primary wrote before that probe is missing:
 * the silence is at most primary_age_ms. primary may be NULL (not probed UP). false (lag
 * unknown) unless the standby is in recovery with lag_bytes and received_ago known.
 */
bool fo_probe_standby_lag(const struct fo_probe_pg_info *standby, uint64_t standby_age_ms,
                          const struct fo_probe_pg_info *primary, uint64_t primary_age_ms,
                          uint64_t *bytes, uint64_t *ms);

struct fo_probe_redis_info {
    int role;          /* enum fo_probe_redis_role */
    bool link_up;      /* replica: master_link_status:up */
    uint64_t offset;   /* master: master_repl_offset; replica: slave_repl_offset */
    uint32_t replicas; /* master: connected_slaves */
};

struct fo_probe_result {
    bool ok;
    uint64_t at_ms;                   /* uv_now() when the probe ended */
    uint64_t latency_us;              /* from start to end of this probe (connect included) */
    char detail[FO_PROBE_DETAIL_MAX]; /* the error, or a summary of the answer */
    /* What the server said; valid when ok (zeroed otherwise). */
    struct fo_probe_pg_info pg;
    struct fo_probe_redis_info redis;
    long http_status; /* http: the status code (also on a wrong status), 0 if none */
};

/* ---- the handle ---- */

struct fo_prober;
struct fo_probe_check;  /* private */
struct fo_probe_region; /* private */

/* This observer's verdict for region changed to status (enum fo_status). */
typedef void (*fo_prober_region_cb)(struct fo_prober *p, const char *region, int status,
                                    const char *reason);
/* A probe of check `check` (index into the specs) ended. For metrics; may be NULL. */
typedef void (*fo_prober_result_cb)(struct fo_prober *p, size_t check,
                                    const struct fo_probe_result *r);
typedef void (*fo_prober_close_cb)(struct fo_prober *p);

struct fo_prober {
    void *data; /* for the owner */
    /* private */
    uv_loop_t *loop;
    struct fo_probe_check *checks;
    size_t nchecks;
    struct fo_probe_region *regions;
    size_t nregions;
    fo_prober_region_cb on_region;
    fo_prober_result_cb on_result;
    fo_prober_close_cb close_cb;
    void *curl_multi; /* CURLM *, when there are http checks */
    uv_timer_t curl_timer;
    unsigned pending; /* handles being closed and requests in flight */
    bool started;
    bool closing;
};

/* Validate and copy n specs (n >= 1, <= FO_PROBE_MAX_CHECKS); set up the timers. Nothing
 * runs until fo_prober_start. On error p holds nothing to close and err says which check
 * and field. on_region is required, on_result may be NULL. */
int fo_prober_init(struct fo_prober *p, uv_loop_t *loop, const struct fo_probe_spec *specs,
                   size_t n, fo_prober_region_cb on_region, fo_prober_result_cb on_result,
                   struct fo_error *err);

/* Read the password files and schedule every check. Returns 0, or non-zero with err
 * naming the file (never its content); then nothing was scheduled. Starting a started
 * prober does nothing. */
int fo_prober_start(struct fo_prober *p, struct fo_error *err);

/* Stop scheduling; probes in flight are cut without a result. Statuses and results stay
 * as they were (a later start goes on from them). Connections stay open for reuse. */
void fo_prober_stop(struct fo_prober *p);

/* Stop, drop every connection and close every handle; close_cb (may be NULL) runs when p
 * may be freed. Call once, after init succeeded. */
void fo_prober_close(struct fo_prober *p, fo_prober_close_cb close_cb);

/* Accessors (loop thread). i < fo_prober_count(p). */
size_t fo_prober_count(const struct fo_prober *p);
const struct fo_probe_spec *fo_prober_spec(const struct fo_prober *p, size_t i); /* copy */
int fo_prober_check_status(const struct fo_prober *p, size_t i);                 /* fo_status */
/* The last result, or NULL before the first probe of check i ended. */
const struct fo_probe_result *fo_prober_result(const struct fo_prober *p, size_t i);
/* Index of the check named name, or SIZE_MAX. */
size_t fo_prober_find(const struct fo_prober *p, const char *name);
/* This observer's verdict for region (UNKNOWN for a region without checks) and its
 * reason (the last one reported; "" before any change). */
int fo_prober_region_status(const struct fo_prober *p, const char *region, const char **reason);

#endif
