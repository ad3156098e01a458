/*
 * actions/postgres.c — postgres.promote and postgres.fence (DESIGN §6, §7, §10, §13) on
 * libpq. Blocking: thread-pool only (action.h).
 *
 * postgres.promote makes a streaming standby the primary, and records the epoch that
 * promoted it in the one-row table failoverd.epoch (epoch, operation_id, promoted_at).
 * That row is the fencing token: a promote for an older epoch than the one recorded is
 * REFUSED, one for the same epoch is DONE without doing anything again, and the upsert
 * that writes it can only raise it. It checks, then acts:
 *   - not in recovery (already a primary): same epoch recorded -> DONE; higher -> REFUSED;
 *     lower or none -> record ours -> DONE (a re-run after a promotion whose result was
 *     lost, or a planned switchover back to a server that is already primary);
 *   - in recovery: refuse if the standby already carries an epoch >= ours (it was cloned
 *     from, or streams from, a server promoted for it), gate on the RPO (max_lag_bytes:
 *     WAL received but not yet replayed; promotion replays it all first, so it is what
 *     the promotion must still apply; what the standby never received is unknowable once
 *     the primary is gone), then pg_promote(false) and poll pg_is_in_recovery() every
 *     5 ms (up to T s), verify it left recovery, record.
 * A server that was once fenced (default_transaction_read_only on, see below) gets the
 * fence removed when it is promoted, so a promoted server takes writes at once — unless
 * hold_fence=1 (the executor adds it when a failoverd node runs in the server's region):
 * then the server is set read-only by default BEFORE pg_promote, the fence's epoch is
 * recorded in failoverd.fence after it, and it stays so until its guardian holds the
 * write lease and runs postgres.unfence for the same epoch (coordinator/run/lease.h). A
 * re-run for the same epoch does nothing, whether the guardian lifted it yet or not.
 *
 * postgres.fence is a SOFT fence on the old primary, when it can be reached:
 *   ALTER SYSTEM SET default_transaction_read_only = on; SELECT pg_reload_conf();
 *   then pg_terminate_backend() on every other non-superuser client session (but
 *   failoverd's own). A server that recorded a newer epoch than the request's is left
 *   alone: REFUSED.
 * From then on a new transaction is read-only BY DEFAULT. That stops applications that
 * never ask otherwise, but a session may still write with SET transaction_read_only = off
 * or BEGIN READ WRITE, and superuser sessions are neither terminated nor prevented from
 * doing so. It stops nothing when the server cannot be reached (SKIPPED: the old region is
 * gone, which is the usual reason for failing over) and it lasts until someone resets the
 * setting. Correctness rests on the commit point and the epoch (DESIGN §5, §6); the fence
 * narrows the window in which clients that still see the old primary write to it.
 * Stronger fences (stop the server, pg_hba.conf, REVOKE CONNECT) are the operator's.
 *
 * Privileges: the role is not a superuser; deploy/postgres-grants.sql grants exactly
 * what is used here, and check mode reports what is missing.
 *
 * Time: every wait (connect, each query) polls the socket against req->deadline_ms and
 * the cancel flag, so a server that accepts TCP and never answers costs at most the
 * deadline. The server also gets statement_timeout = the time left at connect, so a
 * statement abandoned at the deadline does not run on (PQcancel is not used: in libpq 15
 * it blocks without a timeout on the very servers that hang).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "actions/kinds.h"
#include "actions/pg_ssl.h"
#include "actions/secret.h"

#define PG_DEFAULT_PORT      5432
#define PG_DEFAULT_CONNECT_S 10
#define PG_DEFAULT_WAIT_S    60
#define PG_POLL_SLICE_MS     100 /* how often a wait looks at the cancel flag */
#define PG_GRANTS_HINT       "see deploy/postgres-grants.sql"

static const char *const promote_required[] = {"host", "dbname", "user", NULL};
static const char *const promote_optional[] = {"port",
                                               "password_file",
                                               "sslmode",
                                               "sslrootcert",
                                               "sslcert",
                                               "sslkey",
                                               "catch_up_sslmode",
                                               "catch_up_sslrootcert",
                                               "catch_up_sslcert",
                                               "catch_up_sslkey",
                                               "connect_timeout_s",
                                               "max_lag_bytes",
                                               "force",
                                               "promote_wait_s",
                                               "catch_up_host",
                                               "catch_up_port",
                                               "catch_up_dbname",
                                               "catch_up_user",
                                               "catch_up_password_file",
                                               "hold_fence",
                                               NULL};
static const char *const fence_required[] = {"host", "dbname", "user", NULL};
/* The TLS keys are actions/pg_ssl.h's (libpq's keywords); the plan passes a site's. */
static const char *const unfence_optional[] = {
    "port", "password_file", "connect_timeout_s", "sslmode", "sslrootcert", "sslcert", "sslkey",
    NULL};
static const char *const fence_optional[] = {
    "port",    "password_file", "connect_timeout_s", "terminate_backends",
    "sslmode", "sslrootcert",   "sslcert",           "sslkey",
    NULL};

/* The connection parameters both kinds share. */
struct pg_target {
    const char *host;
    const char *dbname;
    const char *user;
    uint64_t port;
    uint64_t connect_timeout_s;
    const char *ssl[FO_PG_NSSL]; /* TLS (actions/pg_ssl.h); NULL: libpq's default */
    char password[1024];         /* empty: none; wiped after use */
};

/* One open connection and the request it serves: every query is bounded by the request's
 * deadline and cancel flag, and failures are written to res. */
struct pg_session {
    PGconn *conn;
    const struct fo_action_req *req;
    struct fo_action_result *res;
};

/* What the server said about itself (one query right after connect). */
struct pg_state {
    bool in_recovery;
    bool lag_known; /* false when the standby never received WAL by streaming */
    int64_t lag_bytes;
    bool read_only; /* default_transaction_read_only: fenced */
    bool can_promote;
    bool can_record;      /* may create or write failoverd.epoch */
    bool has_schema;      /* the schema failoverd exists */
    bool has_table;       /* failoverd.epoch exists */
    bool has_epoch;       /* ... and holds a row */
    uint64_t epoch;       /* that row's epoch */
    char op_id[128];      /* and operation */
    bool fenced_by;       /* failoverd.fence holds a row: a fence recorded its epoch */
    uint64_t fence_epoch; /* ...this one: older promotes and unfences leave it on */
};

enum pg_open_result { PG_OPEN_OK, PG_OPEN_UNREACHABLE, PG_OPEN_REJECTED, PG_OPEN_CANCELLED };

/* ---- parameters --------------------------------------------------------------------- */

/* The connection parameters under prefix ("" for the step's server, "catch_up_" for the
 * old primary a switchover drains). */
static int target_read(const struct fo_action_req *req, const char *prefix, struct pg_target *t,
                       struct fo_action_result *res)
{
    char key[4][48];
    static const char *const names[] = {"host", "dbname", "user", "port"};
    char pw_key[48];

    memset(t, 0, sizeof(*t));
    for (int i = 0; i < 4; i++)
        snprintf(key[i], sizeof(key[i]), "%s%s", prefix, names[i]);
    snprintf(pw_key, sizeof(pw_key), "%spassword_file", prefix);
    t->host = fo_action_param(req, key[0]);
    t->dbname = fo_action_param(req, key[1]);
    t->user = fo_action_param(req, key[2]);
    if (t->host == NULL || t->dbname == NULL || t->user == NULL || t->host[0] == '\0' ||
        t->dbname[0] == '\0' || t->user[0] == '\0') {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter %s is missing or empty",
                      t->host == NULL || t->host[0] == '\0'       ? key[0]
                      : t->dbname == NULL || t->dbname[0] == '\0' ? key[1]
                                                                  : key[2]);
        return -1;
    }
    if (fo_action_param_u64(req, key[3], PG_DEFAULT_PORT, 1, 65535, &t->port, res) != 0 ||
        fo_action_param_u64(req, "connect_timeout_s", PG_DEFAULT_CONNECT_S, 1, 600,
                            &t->connect_timeout_s, res) != 0)
        return -1;
    if (fo_action_param(req, pw_key) != NULL &&
        fo_action_read_secret(req, pw_key, t->password, sizeof(t->password), res) != 0)
        return -1;
    for (size_t k = 0; k < FO_PG_NSSL; k++) {
        static const char *const ssl_keys[FO_PG_NSSL] = FO_PG_SSL_KEYWORDS;
        char ssl_key[48];
        snprintf(ssl_key, sizeof(ssl_key), "%s%s", prefix, ssl_keys[k]);
        t->ssl[k] = fo_action_param(req, ssl_key);
    }
    return 0;
}

static int target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
                        struct pg_target *t, struct fo_action_result *res)
{
    char msg[256];

    /* fo_action_run checks this too; a caller that calls run() directly must not get
     * past it either. */
    if (fo_action_params_check(kind, req->params, req->nparams, msg, sizeof(msg)) != 0) {
        memset(t, 0, sizeof(*t));
        fo_action_set(res, FO_ACTION_REFUSED, "%s", msg);
        return -1;
    }
    return target_read(req, "", t, res);
}

/* ---- waiting on the socket ---------------------------------------------------------- */

/* Wait until sock is ready for events or until limit_ms (CLOCK_MONOTONIC ms). Returns 0
 * ready, 1 timed out, 2 cancelled, -1 poll failed. */
static int wait_socket(const struct fo_action_req *req, int sock, short events, uint64_t limit_ms)
{
    for (;;) {
        struct pollfd pfd = {.fd = sock, .events = events};
        uint64_t now = fo_action_now_ms();
        int slice, rc;

        if (fo_action_cancelled(req))
            return 2;
        if (now >= limit_ms)
            return 1;
        slice = limit_ms - now < PG_POLL_SLICE_MS ? (int)(limit_ms - now) : PG_POLL_SLICE_MS;
        rc = poll(&pfd, 1, slice);
        if (rc > 0)
            return 0;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* libpq's messages span lines ("...failed: Connection refused\n\tIs the server..."):
 * one line for the journal. */
static const char *one_line(const char *msg, char *buf, size_t cap)
{
    size_t n = 0;
    bool space = false;

    for (const char *p = msg; *p != '\0' && n + 1 < cap; p++) {
        if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
            space = n > 0;
            continue;
        }
        if (space && n + 2 < cap)
            buf[n++] = ' ';
        space = false;
        buf[n++] = *p;
    }
    buf[n] = '\0';
    return buf;
}

/* ---- connecting --------------------------------------------------------------------- */

/* A connection failure the server reported about us (credentials, pg_hba.conf, a role or
 * database that does not exist): retrying will not help. libpq has no SQLSTATE for
 * connection failures, so this reads the (English, server-default) message text; anything
 * else counts as unreachable. */
static bool rejected(const char *msg)
{
    static const char *const words[] = {"authentication failed",
                                        "no pg_hba.conf entry",
                                        "does not exist",
                                        "no password supplied",
                                        "permission denied",
                                        "not permitted to log in",
                                        NULL};
    for (size_t i = 0; words[i] != NULL; i++)
        if (strstr(msg, words[i]) != NULL)
            return true;
    return false;
}

/* Open a connection to t, bounded by connect_timeout_s and the request's deadline. On
 * PG_OPEN_OK *out is the connection (non-blocking mode); otherwise res->detail says why
 * (the caller picks the status: an unreachable old primary is SKIPPED for a fence but a
 * FAILED promote). The password is passed as its own keyword and never formatted into
 * anything. */
static enum pg_open_result pg_open(const struct fo_action_req *req, struct pg_target *t,
                                   PGconn **out, struct fo_action_result *res)
{
    static const char *const ssl_keys[FO_PG_NSSL] = FO_PG_SSL_KEYWORDS;
    char port[8], ctimeout[16], options[64];
    const char *keys[8 + FO_PG_NSSL + 1] = {
        "host", "port", "dbname", "user", "connect_timeout", "options", "application_name"};
    const char *vals[8 + FO_PG_NSSL + 1] = {t->host,  port,    t->dbname,  t->user,
                                            ctimeout, options, "failoverd"};
    size_t n = 7;
    uint64_t remaining = fo_action_remaining_ms(req);
    uint64_t limit = fo_action_now_ms() + t->connect_timeout_s * 1000;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    PGconn *conn;

    if (limit > req->deadline_ms)
        limit = req->deadline_ms;
    /* TLS as configured (actions/pg_ssl.h), keyword by keyword; the password last, and
     * only when there is one. The lists end with NULL (zero-initialised). */
    for (size_t k = 0; k < FO_PG_NSSL; k++)
        if (t->ssl[k] != NULL)
            keys[n] = ssl_keys[k], vals[n++] = t->ssl[k];
    if (t->password[0] != '\0')
        keys[n] = "password", vals[n++] = t->password;
    snprintf(port, sizeof(port), "%" PRIu64, t->port);
    snprintf(ctimeout, sizeof(ctimeout), "%" PRIu64, t->connect_timeout_s);
    /* The server stops whatever we leave running once the deadline has passed. */
    snprintf(options, sizeof(options), "-c statement_timeout=%" PRIu64,
             remaining > 0 ? remaining : 1);

    *out = NULL;
    conn = PQconnectStartParams(keys, vals, 0);
    fo_secret_wipe(t->password, sizeof(t->password));
    if (conn == NULL) {
        fo_action_set(res, FO_ACTION_FAILED, "libpq: out of memory");
        return PG_OPEN_UNREACHABLE;
    }
    /* As libpq documents: poll as if PQconnectPoll had returned WRITING first. */
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        int rc =
            wait_socket(req, PQsocket(conn), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, limit);
        if (rc == 2) {
            fo_action_set(res, FO_ACTION_FAILED, "cancelled while connecting to %s:%s", t->host,
                          port);
            PQfinish(conn);
            return PG_OPEN_CANCELLED;
        }
        if (rc != 0) {
            uint64_t budget = t->connect_timeout_s * 1000;
            if (remaining < budget)
                budget = remaining;
            fo_action_set(res, FO_ACTION_FAILED, "%s:%s: no answer within %" PRIu64 " ms", t->host,
                          port, budget);
            PQfinish(conn);
            return PG_OPEN_UNREACHABLE;
        }
        st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char line[FO_TEXT_MAX];
        const char *msg = one_line(PQerrorMessage(conn), line, sizeof(line));
        enum pg_open_result why = rejected(msg) ? PG_OPEN_REJECTED : PG_OPEN_UNREACHABLE;
        fo_action_set(res, why == PG_OPEN_REJECTED ? FO_ACTION_REFUSED : FO_ACTION_FAILED, "%s",
                      msg);
        PQfinish(conn);
        return why;
    }
    /* Non-blocking, so that sending a query can never stall past the deadline either. */
    if (PQsetnonblocking(conn, 1) != 0) {
        fo_action_set(res, FO_ACTION_FAILED, "libpq: cannot make the connection non-blocking");
        PQfinish(conn);
        return PG_OPEN_UNREACHABLE;
    }
    *out = conn;
    return PG_OPEN_OK;
}

/* ---- queries ------------------------------------------------------------------------ */

/* Send sql (with nparams text parameters, or none: then it may hold several statements)
 * and wait for its results within the deadline. Returns the last result, whatever its
 * status (the caller PQclear()s it), or NULL with res FAILED (connection lost, timed
 * out, cancelled). */
static PGresult *pg_exec_raw(struct pg_session *s, const char *step, const char *sql, int nparams,
                             const char *const *params)
{
    PGresult *last = NULL, *r;
    char line[256];
    int sent;

    if (fo_action_cancelled(s->req)) {
        fo_action_set(s->res, FO_ACTION_FAILED, "cancelled before %s", step);
        return NULL;
    }
    sent = nparams > 0 ? PQsendQueryParams(s->conn, sql, nparams, NULL, params, NULL, NULL, 0)
                       : PQsendQuery(s->conn, sql);
    if (sent != 1)
        goto lost;
    for (;;) {
        int flush = PQflush(s->conn), rc;
        if (flush < 0)
            goto lost;
        if (flush == 0) {
            if (PQconsumeInput(s->conn) != 1)
                goto lost;
            if (!PQisBusy(s->conn)) {
                r = PQgetResult(s->conn);
                if (r == NULL)
                    return last; /* every result read: the query is complete */
                PQclear(last);
                last = r;
                continue;
            }
        }
        rc = wait_socket(s->req, PQsocket(s->conn), flush == 1 ? POLLIN | POLLOUT : POLLIN,
                         s->req->deadline_ms);
        if (rc != 0) {
            PQclear(last);
            fo_action_set(s->res, FO_ACTION_FAILED, "%s: %s", step,
                          rc == 2   ? "cancelled while waiting for the server"
                          : rc == 1 ? "deadline passed while waiting for the server"
                                    : "poll failed");
            return NULL;
        }
    }
lost:
    PQclear(last);
    fo_action_set(s->res, FO_ACTION_FAILED, "%s: %s", step,
                  one_line(PQerrorMessage(s->conn), line, sizeof(line)));
    return NULL;
}

static const char *sqlstate(const PGresult *r)
{
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return code != NULL ? code : "";
}

/* Turn an error result into res: a privilege the role lacks is REFUSED (a retry cannot
 * help; the operator must grant it), anything else FAILED. Clears r. */
static void pg_error(struct pg_session *s, const char *step, PGresult *r)
{
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    bool denied = strcmp(sqlstate(r), "42501") == 0;

    fo_action_set(s->res, denied ? FO_ACTION_REFUSED : FO_ACTION_FAILED, "%s: %s [%s]%s%s", step,
                  msg != NULL ? msg : "error", sqlstate(r), denied ? "; " : "",
                  denied ? PG_GRANTS_HINT : "");
    PQclear(r);
}

/* pg_exec_raw, and an error result is a failure too. Returns a successful result or
 * NULL with res set. */
static PGresult *pg_exec(struct pg_session *s, const char *step, const char *sql, int nparams,
                         const char *const *params)
{
    PGresult *r = pg_exec_raw(s, step, sql, nparams, params);
    if (r == NULL)
        return NULL;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_error(s, step, r);
        return NULL;
    }
    return r;
}

/* A statement whose result is not needed. Returns 0 or -1 with res set. */
static int pg_do(struct pg_session *s, const char *step, const char *sql)
{
    PGresult *r = pg_exec(s, step, sql, 0, NULL);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

static bool field_true(const PGresult *r, int col)
{
    return !PQgetisnull(r, 0, col) && strcmp(PQgetvalue(r, 0, col), "t") == 0;
}

/* ---- the server's state and the epoch ----------------------------------------------- */

static int read_state(struct pg_session *s, struct pg_state *st)
{
    /* One round trip. The CASEs keep has_*_privilege() away from objects that do not
     * exist (they raise errors rather than answer false). */
    static const char sql[] =
        "SELECT pg_is_in_recovery(),"
        " pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint,"
        " current_setting('default_transaction_read_only')::boolean,"
        " has_function_privilege('pg_catalog.pg_promote(boolean,integer)', 'EXECUTE'),"
        " to_regnamespace('failoverd') IS NOT NULL,"
        " to_regclass('failoverd.epoch') IS NOT NULL,"
        " CASE WHEN to_regclass('failoverd.epoch') IS NOT NULL"
        "  THEN has_table_privilege('failoverd.epoch', 'SELECT, INSERT, UPDATE')"
        "  WHEN to_regnamespace('failoverd') IS NOT NULL"
        "  THEN has_schema_privilege('failoverd', 'CREATE') ELSE false END,"
        " to_regclass('failoverd.fence') IS NOT NULL";
    PGresult *r = pg_exec(s, "reading the server's state", sql, 0, NULL);
    const char *lag;

    memset(st, 0, sizeof(*st));
    if (r == NULL)
        return -1;
    st->in_recovery = field_true(r, 0);
    lag = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
    st->lag_known = lag != NULL;
    st->lag_bytes = lag != NULL ? strtoll(lag, NULL, 10) : 0;
    if (st->lag_bytes < 0) /* replay ahead of streaming (WAL from an archive) */
        st->lag_bytes = 0;
    st->read_only = field_true(r, 2);
    st->can_promote = field_true(r, 3);
    st->has_schema = field_true(r, 4);
    st->has_table = field_true(r, 5);
    st->can_record = field_true(r, 6);
    bool fence_table = field_true(r, 7);
    PQclear(r);
    if (fence_table) {
        r = pg_exec(s, "reading failoverd.fence", "SELECT epoch FROM failoverd.fence", 0, NULL);
        if (r == NULL)
            return -1;
        if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
            st->fenced_by = true;
            st->fence_epoch = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        }
        PQclear(r);
    }
    if (!st->has_table)
        return 0;
    r = pg_exec(s, "reading failoverd.epoch", "SELECT epoch, operation_id FROM failoverd.epoch", 0,
                NULL);
    if (r == NULL)
        return -1;
    if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
        st->has_epoch = true;
        st->epoch = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
        snprintf(st->op_id, sizeof(st->op_id), "%s", PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    return 0;
}

/* Write our epoch unless a higher one is there, then read back what is there. The table
 * is created on first use by the role that owns the schema; a unique index on a constant
 * keeps it to one row, and the upsert's WHERE makes the epoch only ever grow, whatever
 * order concurrent promotes run in. BEGIN READ WRITE: on a server that was fenced our own
 * session may not have seen the reload that lifted it yet. Returns 0 with st->epoch and
 * st->op_id as read back, or -1 with res set. */
static int record_epoch(struct pg_session *s, struct pg_state *st)
{
    static const char create[] =
        "CREATE TABLE IF NOT EXISTS failoverd.epoch ("
        " epoch bigint NOT NULL CHECK (epoch > 0),"
        " operation_id text NOT NULL,"
        " promoted_at timestamptz NOT NULL DEFAULT now());"
        "CREATE UNIQUE INDEX IF NOT EXISTS epoch_one_row ON failoverd.epoch ((true))";
    static const char upsert[] =
        "INSERT INTO failoverd.epoch AS e (epoch, operation_id, promoted_at)"
        " VALUES ($1::bigint, $2, now())"
        " ON CONFLICT ((true)) DO UPDATE SET epoch = EXCLUDED.epoch,"
        " operation_id = EXCLUDED.operation_id, promoted_at = EXCLUDED.promoted_at"
        " WHERE e.epoch < EXCLUDED.epoch";
    char epoch[24];

    if (!st->has_schema) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "schema failoverd does not exist (the role may not create it); %s",
                      PG_GRANTS_HINT);
        return -1;
    }
    snprintf(epoch, sizeof(epoch), "%" PRIu64, s->req->epoch);
    if (pg_do(s, "recording the epoch (begin)", "BEGIN READ WRITE") != 0)
        return -1;
    if (!st->has_table && pg_do(s, "creating failoverd.epoch", create) != 0)
        return -1;
    {
        const char *params[2] = {epoch, s->req->op_id != NULL ? s->req->op_id : ""};
        PGresult *r = pg_exec(s, "recording the epoch", upsert, 2, params);
        if (r == NULL)
            return -1;
        PQclear(r);
    }
    if (pg_do(s, "recording the epoch (commit)", "COMMIT") != 0)
        return -1;
    st->has_table = true;
    {
        PGresult *r = pg_exec(s, "reading failoverd.epoch back",
                              "SELECT epoch, operation_id FROM failoverd.epoch", 0, NULL);
        if (r == NULL)
            return -1;
        st->has_epoch = PQntuples(r) > 0;
        st->epoch = st->has_epoch ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
        snprintf(st->op_id, sizeof(st->op_id), "%s", st->has_epoch ? PQgetvalue(r, 0, 1) : "");
        PQclear(r);
    }
    if (!st->has_epoch || st->epoch < s->req->epoch) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "failoverd.epoch does not hold epoch %" PRIu64 " after writing it",
                      s->req->epoch);
        return -1;
    }
    return 0;
}

/* Lift a fence left on a server that is (now) the primary: ALTER SYSTEM RESET, reload. */
static int unfence(struct pg_session *s)
{
    if (pg_do(s, "lifting the fence (ALTER SYSTEM RESET default_transaction_read_only)",
              "ALTER SYSTEM RESET default_transaction_read_only") != 0)
        return -1;
    return pg_do(s, "reloading the configuration", "SELECT pg_reload_conf()");
}

/* ---- postgres.promote --------------------------------------------------------------- */

/* The epoch recorded on the server is newer than ours: a newer operation got there. */
/* A fence recorded by a newer operation than the request's stays on: a deposed leader's
 * late promote or unfence must not lift what a newer epoch fenced. 0: may go on. */
static int fence_allows(struct pg_session *s, const struct pg_state *st)
{
    return fo_action_fence_allows(s->req, st->fenced_by, st->fence_epoch, s->res);
}

/* Record the fence's epoch in failoverd.fence (one row, only ever growing), in its own
 * READ WRITE transaction so that it works on a server already read-only by default.
 * Without the schema there is nowhere to write: 0, and *recorded false. */
static int record_fence(struct pg_session *s, const struct pg_state *st, bool *recorded)
{
    static const char create[] =
        "CREATE TABLE IF NOT EXISTS failoverd.fence (epoch bigint NOT NULL,"
        " fenced_at timestamptz NOT NULL DEFAULT now());"
        " CREATE UNIQUE INDEX IF NOT EXISTS fence_one_row ON failoverd.fence ((true))";
    static const char upsert[] =
        "INSERT INTO failoverd.fence AS f (epoch) VALUES ($1::bigint)"
        " ON CONFLICT ((true)) DO UPDATE SET epoch = EXCLUDED.epoch, fenced_at = now()"
        " WHERE f.epoch < EXCLUDED.epoch";
    char epoch[24];
    const char *params[1] = {epoch};
    PGresult *r;

    *recorded = false;
    if (!st->has_schema)
        return 0;
    snprintf(epoch, sizeof(epoch), "%" PRIu64, s->req->epoch);
    if (pg_do(s, "recording the fence (begin)", "BEGIN READ WRITE") != 0 ||
        pg_do(s, "creating failoverd.fence", create) != 0)
        return -1;
    r = pg_exec(s, "recording the fence", upsert, 1, params);
    if (r == NULL)
        return -1;
    PQclear(r);
    if (pg_do(s, "recording the fence (commit)", "COMMIT") != 0)
        return -1;
    *recorded = true;
    return 0;
}

static void refuse_newer(struct fo_action_result *res, const struct pg_state *st)
{
    fo_action_set(res, FO_ACTION_REFUSED,
                  "a newer operation (epoch %" PRIu64
                  ", operation %s) already promoted this server",
                  st->epoch, st->op_id);
}

struct promote_opts {
    uint64_t hold;          /* hold_fence=1: leave it fenced for the guardian to lift */
    bool gate;              /* max_lag_bytes given */
    uint64_t max_lag_bytes; /* the RPO gate */
    uint64_t force;         /* 1: promote whatever the lag */
    uint64_t wait_s;        /* pg_promote's wait_seconds, before the deadline bounds it */
};

/* hold_fence: read-only by default from before the promotion on, so that the server never
 * takes a write before its guardian holds the write lease and lifts this (the guardian's
 * postgres.unfence of the same epoch; run/lease.h). ALTER SYSTEM works during recovery. */
static int hold_fence(struct pg_session *s)
{
    if (pg_do(s, "holding the fence (ALTER SYSTEM SET default_transaction_read_only = on)",
              "ALTER SYSTEM SET default_transaction_read_only = on") != 0)
        return -1;
    return pg_do(s, "reloading the configuration", "SELECT pg_reload_conf()");
}

/* After the promotion: hold the fence (its epoch recorded in failoverd.fence, so that an
 * older unfence leaves it on), or lift one a past fence left. */
static int after_promotion(struct pg_session *s, const struct promote_opts *o,
                           const struct pg_state *st)
{
    bool recorded;
    if (o->hold)
        return record_fence(s, st, &recorded);
    return st->read_only ? unfence(s) : 0;
}

/* Already a primary: the epoch table decides (see the header). */
static void promote_primary(struct pg_session *s, const struct promote_opts *o, struct pg_state *st)
{
    const struct fo_action_req *req = s->req;
    bool was_fenced = st->read_only;

    if (st->has_epoch && st->epoch == req->epoch &&
        (!st->read_only || (o->hold && st->fenced_by && st->fence_epoch == req->epoch))) {
        /* Done before; with hold_fence it may be lifted already (by the guardian): a
         * re-run must not fence it again. */
        fo_action_set(s->res, FO_ACTION_DONE,
                      "already promoted for epoch %" PRIu64 " (operation %s)%s", st->epoch,
                      st->op_id,
                      st->read_only ? "; held read-only until its guardian holds the lease" : "");
        return;
    }
    if (fence_allows(s, st) != 0)
        return;
    if (req->check_only) {
        if (!st->can_record)
            fo_action_set(s->res, FO_ACTION_REFUSED,
                          "primary, but the role cannot write failoverd.epoch; %s", PG_GRANTS_HINT);
        else
            fo_action_set(s->res, FO_ACTION_DONE,
                          "primary already (not in recovery)%s; would record epoch %" PRIu64,
                          st->read_only ? ", fenced read-only: would lift the fence" : "",
                          req->epoch);
        return;
    }
    if ((o->hold && !st->read_only && hold_fence(s) != 0) || after_promotion(s, o, st) != 0)
        return;
    if (record_epoch(s, st) != 0)
        return;
    if (st->epoch > req->epoch) { /* a newer promote won a race with us */
        refuse_newer(s->res, st);
        return;
    }
    fo_action_set(s->res, FO_ACTION_DONE, "already a primary%s; epoch %" PRIu64 " recorded",
                  o->hold      ? ", held read-only until its guardian holds the lease"
                  : was_fenced ? ", fence lifted"
                               : "",
                  req->epoch);
}

/* A switchover's drain (the executor adds catch_up_* = the old primary): the old primary
 * must already be fenced (its default is read-only and its client sessions were ended by
 * the plan's fence step), so the WAL position read from it now is past every write it
 * ever acknowledged; wait, within the deadline, until this standby has replayed up to
 * it. Then promoting loses nothing. Returns 0 when drained, else -1 with res FAILED
 * (REFUSED when the old primary still takes writes). */
static int catch_up(struct pg_session *s)
{
    const struct fo_action_req *req = s->req;
    struct pg_session old = {.req = req, .res = s->res};
    struct pg_target t;
    char lsn[64];
    const char *params[1] = {lsn};
    PGresult *r;
    bool in_recovery, read_only;

    if (target_read(req, "catch_up_", &t, s->res) != 0)
        return -1;
    if (pg_open(req, &t, &old.conn, s->res) != PG_OPEN_OK) {
        char why[FO_TEXT_MAX];
        snprintf(why, sizeof(why), "%s", s->res->detail);
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "switchover: cannot reach the old primary %s to drain it: %s", t.host, why);
        return -1;
    }
    r = pg_exec(&old, "reading the old primary's WAL position",
                "SELECT pg_is_in_recovery(),"
                " current_setting('default_transaction_read_only')::boolean,"
                " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END",
                0, NULL);
    if (r == NULL) {
        PQfinish(old.conn);
        return -1;
    }
    in_recovery = field_true(r, 0);
    read_only = field_true(r, 1);
    snprintf(lsn, sizeof(lsn), "%s", PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
    PQclear(r);
    PQfinish(old.conn);
    if (in_recovery) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "switchover: the old primary %s is in recovery: nothing to drain from",
                      t.host);
        return -1;
    }
    if (!read_only) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "switchover: the old primary %s is not fenced (default_transaction_read_only "
                      "is off): draining a server that still takes writes would lose them",
                      t.host);
        return -1;
    }
    for (;;) {
        bool caught_up;
        r = pg_exec(s, "waiting for the standby to replay the old primary's WAL",
                    "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn,"
                    " pg_last_wal_replay_lsn()::text",
                    1, params);
        if (r == NULL)
            return -1;
        caught_up = field_true(r, 0);
        PQclear(r);
        if (caught_up)
            return 0;
        /* wait_socket on no socket: a cancellable, deadline-bounded pause between polls. */
        if (wait_socket(req, -1, 0, fo_action_now_ms() + PG_POLL_SLICE_MS) == 2 ||
            fo_action_remaining_ms(req) == 0) {
            fo_action_set(s->res, FO_ACTION_FAILED,
                          "switchover: the standby had not replayed up to the old primary's %s "
                          "by the deadline",
                          lsn);
            return -1;
        }
    }
}

static void promote_standby(struct pg_session *s, const struct promote_opts *o, struct pg_state *st)
{
    const struct fo_action_req *req = s->req;
    char wait_s[24], lag[64];
    uint64_t remaining_s;
    int64_t lag_before = st->lag_bytes;
    bool drained = false;
    PGresult *r;

    if (st->lag_known)
        snprintf(lag, sizeof(lag), "%" PRId64 " bytes received but not replayed", st->lag_bytes);
    else
        snprintf(lag, sizeof(lag), "no WAL received by streaming (lag unknown)");
    /* A standby carries the epoch table of the primary it was cloned from: an epoch >=
     * ours there means that primary was promoted for this operation or a newer one. */
    if (st->has_epoch && st->epoch >= req->epoch) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "standby replicates epoch %" PRIu64
                      " (operation %s) from its primary: a server was already promoted for "
                      "epoch %" PRIu64 " or a newer one",
                      st->epoch, st->op_id, req->epoch);
        return;
    }
    if (!req->check_only && fo_action_param(req, "catch_up_host") != NULL) {
        if (catch_up(s) != 0 || read_state(s, st) != 0)
            return;
        if (!st->in_recovery) { /* promoted meanwhile by someone else: the epoch decides */
            promote_primary(s, o, st);
            return;
        }
        snprintf(lag, sizeof(lag), "drained: caught up with the fenced old primary");
        lag_before = st->lag_bytes;
        drained = true;
    }
    if (o->gate && !o->force && (!st->lag_known || (uint64_t)st->lag_bytes > o->max_lag_bytes)) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "RPO gate: standby has %s, max_lag_bytes is %" PRIu64 " (force=1 overrides)",
                      lag, o->max_lag_bytes);
        return;
    }
    if (!st->can_promote || !st->can_record) {
        fo_action_set(s->res, FO_ACTION_REFUSED, "the role lacks %s; %s",
                      !st->can_promote ? "EXECUTE on pg_promote(boolean,integer)"
                      : st->has_schema ? "the right to write failoverd.epoch"
                                       : "the schema failoverd (it does not exist)",
                      PG_GRANTS_HINT);
        return;
    }
    if (req->check_only) {
        fo_action_set(s->res, FO_ACTION_DONE, "standby (in recovery), %s; would promote", lag);
        return;
    }

    /* pg_promote waits at most wait_s, and at most until a second before the deadline,
     * so that we still verify and record within it. */
    remaining_s = fo_action_remaining_ms(req) / 1000;
    remaining_s = remaining_s > 1 ? remaining_s - 1 : 1;
    snprintf(wait_s, sizeof(wait_s), "%" PRIu64, o->wait_s < remaining_s ? o->wait_s : remaining_s);
    /* pg_promote(true) polls for the end of recovery in 100 ms steps; asking without the
     * wait and polling pg_is_in_recovery() every 5 ms ourselves saves most of a step. */
    if (o->hold && hold_fence(s) != 0)
        return;
    r = pg_exec_raw(s, "pg_promote", "SELECT pg_promote(false)", 0, NULL);
    if (r == NULL)
        return;
    /* 55000 "recovery is not in progress": promoted by someone else meanwhile; the state
     * below tells. */
    if (PQresultStatus(r) != PGRES_TUPLES_OK && strcmp(sqlstate(r), "55000") != 0) {
        pg_error(s, "pg_promote", r);
        return;
    }
    PQclear(r);
    {
        uint64_t start = fo_action_now_ms();
        uint64_t until = start + strtoull(wait_s, NULL, 10) * 1000, nudge = start + 100;
        const struct timespec slice = {0, 5 * 1000 * 1000};
        for (;;) {
            if (read_state(s, st) != 0)
                return;
            if (!st->in_recovery || fo_action_now_ms() >= until || fo_action_cancelled(req))
                break;
            /* PostgreSQL 15 can log "received promote request" and still sleep
             * wal_retrieve_retry_interval (5 s) in "waiting for WAL to become
             * available" before it ends recovery: seen in about one failover of three
             * when a reload (the hold's) came just before. A reload sets the startup
             * process's latch, and a startup process that has taken the request
             * promotes as soon as it wakes; so, while it has not, wake it every 250 ms. */
            if (fo_action_now_ms() >= nudge) {
                nudge = fo_action_now_ms() + 250;
                if (pg_do(s, "waking the startup process (pg_reload_conf)",
                          "SELECT pg_reload_conf()") != 0)
                    return;
            }
            nanosleep(&slice, NULL);
        }
    }
    if (st->in_recovery) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "pg_promote: still in recovery after %s s (it may yet complete)", wait_s);
        return;
    }
    if (st->has_epoch && st->epoch > req->epoch) {
        refuse_newer(s->res, st);
        return;
    }
    if (after_promotion(s, o, st) != 0)
        return;
    if (record_epoch(s, st) != 0)
        return;
    if (st->epoch > req->epoch) {
        refuse_newer(s->res, st);
        return;
    }
    fo_action_set(s->res, FO_ACTION_DONE,
                  "%spromoted (%" PRId64 " bytes were still to replay); epoch %" PRIu64
                  " recorded%s",
                  drained ? "drained the fenced old primary, then " : "", lag_before, req->epoch,
                  o->hold ? "; held read-only until its guardian holds the lease" : "");
}

static void promote_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct pg_session s = {.req = req, .res = res};
    struct promote_opts o;
    struct pg_target t;
    struct pg_state st;

    if (target_parse(req, &fo_action_postgres_promote, &t, res) != 0)
        return;
    o.gate = fo_action_param(req, "max_lag_bytes") != NULL;
    if (fo_action_param_u64(req, "max_lag_bytes", 0, 0, INT64_MAX, &o.max_lag_bytes, res) != 0 ||
        fo_action_param_u64(req, "force", 0, 0, 1, &o.force, res) != 0 ||
        fo_action_param_u64(req, "promote_wait_s", PG_DEFAULT_WAIT_S, 1, 3600, &o.wait_s, res) !=
            0 ||
        fo_action_param_u64(req, "hold_fence", 0, 0, 1, &o.hold, res) != 0) {
        fo_secret_wipe(t.password, sizeof(t.password)); /* pg_open wipes it otherwise */
        return;
    }
    if (req->epoch == 0 || req->epoch > INT64_MAX) {
        fo_secret_wipe(t.password, sizeof(t.password));
        fo_action_set(res, FO_ACTION_REFUSED, "epoch %" PRIu64 " cannot be recorded", req->epoch);
        return;
    }
    if (pg_open(req, &t, &s.conn, res) != PG_OPEN_OK)
        return; /* FAILED (unreachable, cancelled) or REFUSED (credentials), as set */
    if (read_state(&s, &st) == 0) {
        if (st.in_recovery)
            promote_standby(&s, &o, &st);
        else if (st.has_epoch && st.epoch > req->epoch)
            refuse_newer(res, &st);
        else
            promote_primary(&s, &o, &st);
    }
    PQfinish(s.conn);
}

/* ---- postgres.fence ----------------------------------------------------------------- */

/* End every other client session that can be ended; superuser sessions cannot be (by
 * PostgreSQL's rule) and are counted instead. The CASE guarantees that
 * pg_terminate_backend() is never even called on them (it would raise an error).
 * failoverd's own sessions (its role, application_name failoverd) are left alone: the
 * guardian's fence and the plan's fence step may run at once, and each ending the other's
 * session would fail both. */
static int terminate_sessions(struct pg_session *s, long *ended, long *left)
{
    static const char sql[] =
        "SELECT count(*) FILTER (WHERE CASE WHEN r.rolsuper THEN false"
        "  ELSE pg_terminate_backend(a.pid) END),"
        " count(*) FILTER (WHERE r.rolsuper)"
        " FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid"
        " WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()"
        " AND NOT (a.usename = current_user AND a.application_name = 'failoverd')";
    PGresult *r = pg_exec(s, "terminating client sessions", sql, 0, NULL);
    if (r == NULL)
        return -1;
    *ended = strtol(PQgetvalue(r, 0, 0), NULL, 10);
    *left = strtol(PQgetvalue(r, 0, 1), NULL, 10);
    PQclear(r);
    return 0;
}

static void fence_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    static const char privs_sql[] =
        "SELECT pg_is_in_recovery(),"
        " current_setting('default_transaction_read_only')::boolean,"
        " has_parameter_privilege('default_transaction_read_only', 'ALTER SYSTEM'),"
        " has_function_privilege('pg_catalog.pg_reload_conf()', 'EXECUTE'),"
        " pg_has_role('pg_signal_backend', 'MEMBER')";
    struct pg_session s = {.req = req, .res = res};
    struct pg_target t;
    uint64_t terminate;
    bool fenced, alter, reload, signal, recorded = false;
    long ended = 0, left = 0;
    char missing[160] = "";
    PGresult *r;

    if (target_parse(req, &fo_action_postgres_fence, &t, res) != 0)
        return;
    if (fo_action_param_u64(req, "terminate_backends", 1, 0, 1, &terminate, res) != 0) {
        fo_secret_wipe(t.password, sizeof(t.password)); /* pg_open wipes it otherwise */
        return;
    }
    switch (pg_open(req, &t, &s.conn, res)) {
    case PG_OPEN_OK:
        break;
    case PG_OPEN_UNREACHABLE: { /* the old primary is gone: nothing to fence */
        char why[sizeof(res->detail)];
        memcpy(why, res->detail, sizeof(why));
        fo_action_set(res, FO_ACTION_SKIPPED, "unreachable, not fenced: %.400s", why);
        return;
    }
    default: /* REFUSED (credentials) or FAILED (cancelled), as pg_open set */
        return;
    }
    r = pg_exec(&s, "reading the server's state", privs_sql, 0, NULL);
    if (r == NULL)
        goto out;
    fenced = field_true(r, 1);
    alter = field_true(r, 2);
    reload = field_true(r, 3);
    signal = field_true(r, 4);
    if (field_true(r, 0)) {
        PQclear(r);
        fo_action_set(res, FO_ACTION_SKIPPED, "a standby (in recovery): it takes no writes");
        goto out;
    }
    PQclear(r);
    {
        /* A server that recorded a newer epoch was promoted since: a late fence of an
         * older operation must leave the current primary alone. */
        struct pg_state st;
        if (read_state(&s, &st) != 0)
            goto out;
        if (st.has_epoch && st.epoch > req->epoch) {
            refuse_newer(res, &st);
            goto out;
        }
        /* First the record, then the fence: a fence is never on without its epoch. */
        if (!req->check_only && record_fence(&s, &st, &recorded) != 0)
            goto out;
    }
    snprintf(missing, sizeof(missing), "%s%s%s",
             alter ? "" : " ALTER SYSTEM on default_transaction_read_only;",
             reload ? "" : " EXECUTE on pg_reload_conf();",
             signal || !terminate ? "" : " membership of pg_signal_backend;");
    if (missing[0] != '\0' && (req->check_only || !fenced)) {
        fo_action_set(res, FO_ACTION_REFUSED, "the role lacks%s %s", missing, PG_GRANTS_HINT);
        goto out;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "reachable primary%s; privileges present",
                      fenced ? ", already read-only by default" : ", would set it read-only");
        goto out;
    }
    /* ALTER SYSTEM refuses to run inside a transaction block: its own statement. */
    if (!fenced && (pg_do(&s, "ALTER SYSTEM SET default_transaction_read_only = on",
                          "ALTER SYSTEM SET default_transaction_read_only = on") != 0 ||
                    pg_do(&s, "reloading the configuration", "SELECT pg_reload_conf()") != 0))
        goto out;
    /* Also when it was already fenced: a re-run may follow a fence that stopped between
     * the reload and the terminations. */
    if (terminate && terminate_sessions(&s, &ended, &left) != 0)
        goto out;
    fo_action_set(res, FO_ACTION_DONE,
                  "%s%s; %ld client sessions terminated, %ld superuser sessions left running "
                  "(soft fence: a session can still choose read-write)",
                  fenced ? "already read-only by default" : "set read-only by default",
                  recorded ? " (epoch recorded in failoverd.fence)" : "", ended, left);
out:
    PQfinish(s.conn);
}

/* ---- postgres.unfence --------------------------------------------------------------- */

/* Undo postgres.fence on a server that is still the decided primary: the self-fence's
 * way back when contact with the majority returns and no failover happened. Refuses a
 * server that records a newer epoch than ours (a newer operation owns it). */
static void unfence_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct pg_session s = {.req = req, .res = res};
    struct pg_target t;
    struct pg_state st;

    if (target_parse(req, &fo_action_postgres_unfence, &t, res) != 0)
        return;
    if (pg_open(req, &t, &s.conn, res) != PG_OPEN_OK)
        return; /* FAILED (unreachable, cancelled) or REFUSED (credentials), as set */
    if (read_state(&s, &st) != 0)
        goto out;
    if (st.in_recovery) {
        fo_action_set(res, FO_ACTION_SKIPPED, "a standby (in recovery): nothing to lift");
    } else if (st.has_epoch && st.epoch > req->epoch) {
        refuse_newer(res, &st);
    } else if (fence_allows(&s, &st) != 0) {
        /* res says why */
    } else if (!st.read_only) {
        fo_action_set(res, FO_ACTION_DONE, "not fenced: takes writes");
    } else if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "fenced; would lift the fence");
    } else if (unfence(&s) == 0) {
        fo_action_set(res, FO_ACTION_DONE, "fence lifted: takes writes again");
    }
out:
    PQfinish(s.conn);
}

const struct fo_action_kind fo_action_postgres_unfence = {
    .name = "postgres.unfence",
    .run = unfence_run,
    .required = fence_required,
    .optional = unfence_optional,
};

const struct fo_action_kind fo_action_postgres_promote = {
    .name = "postgres.promote",
    .run = promote_run,
    .required = promote_required,
    .optional = promote_optional,
};

const struct fo_action_kind fo_action_postgres_fence = {
    .name = "postgres.fence",
    .run = fence_run,
    .required = fence_required,
    .optional = fence_optional,
};
