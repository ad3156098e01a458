/*
 * actions/pg_session.c — one libpq session of a Postgres action (pg_session.h): the
 * connection parameters, a connect and queries bounded by the request's deadline and
 * cancel flag, the server's state and the epoch records. Blocking: thread-pool only.
 */
#include "actions/pg_session.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/secret.h"

/* ---- parameters --------------------------------------------------------------------- */

/* The connection parameters under prefix ("" for the step's server, "catch_up_" for the
 * old primary a switchover drains). */
int fo_pg_target_read(const struct fo_action_req *req, const char *prefix, struct fo_pg_target *t,
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
    if (fo_action_param_u64(req, key[3], FO_PG_DEFAULT_PORT, 1, 65535, &t->port, res) != 0 ||
        fo_action_param_u64(req, "connect_timeout_s", FO_PG_DEFAULT_CONNECT_S, 1, 600,
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

int fo_pg_target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
                       struct fo_pg_target *t, struct fo_action_result *res)
{
    char msg[256];

    /* fo_action_run checks this too; a caller that calls run() directly must not get
     * past it either. */
    if (fo_action_params_check(kind, req->params, req->nparams, msg, sizeof(msg)) != 0) {
        memset(t, 0, sizeof(*t));
        fo_action_set(res, FO_ACTION_REFUSED, "%s", msg);
        return -1;
    }
    return fo_pg_target_read(req, "", t, res);
}

/* ---- waiting on the socket ---------------------------------------------------------- */

/* Wait until sock is ready for events or until limit_ms (CLOCK_MONOTONIC ms). Returns 0
 * ready, 1 timed out, 2 cancelled, -1 poll failed. */
int fo_pg_wait_socket(const struct fo_action_req *req, int sock, short events, uint64_t limit_ms)
{
    for (;;) {
        struct pollfd pfd = {.fd = sock, .events = events};
        uint64_t now = fo_action_now_ms();
        int slice, rc;

        if (fo_action_cancelled(req))
            return 2;
        if (now >= limit_ms)
            return 1;
        slice = limit_ms - now < FO_PG_POLL_SLICE_MS ? (int)(limit_ms - now) : FO_PG_POLL_SLICE_MS;
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
 * FO_PG_OPEN_OK *out is the connection (non-blocking mode); otherwise res->detail says why
 * (the caller picks the status: an unreachable old primary is SKIPPED for a fence but a
 * FAILED promote). The password is passed as its own keyword and never formatted into
 * anything. */
enum fo_pg_open_result fo_pg_open(const struct fo_action_req *req, struct fo_pg_target *t,
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
        return FO_PG_OPEN_UNREACHABLE;
    }
    /* As libpq documents: poll as if PQconnectPoll had returned WRITING first. */
    while (PQstatus(conn) != CONNECTION_BAD && st != PGRES_POLLING_OK &&
           st != PGRES_POLLING_FAILED) {
        int rc = fo_pg_wait_socket(req, PQsocket(conn),
                                   st == PGRES_POLLING_READING ? POLLIN : POLLOUT, limit);
        if (rc == 2) {
            fo_action_set(res, FO_ACTION_FAILED, "cancelled while connecting to %s:%s", t->host,
                          port);
            PQfinish(conn);
            return FO_PG_OPEN_CANCELLED;
        }
        if (rc != 0) {
            uint64_t budget = t->connect_timeout_s * 1000;
            if (remaining < budget)
                budget = remaining;
            fo_action_set(res, FO_ACTION_FAILED, "%s:%s: no answer within %" PRIu64 " ms", t->host,
                          port, budget);
            PQfinish(conn);
            return FO_PG_OPEN_UNREACHABLE;
        }
        st = PQconnectPoll(conn);
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        char line[FO_TEXT_MAX];
        const char *msg = one_line(PQerrorMessage(conn), line, sizeof(line));
        enum fo_pg_open_result why = rejected(msg) ? FO_PG_OPEN_REJECTED : FO_PG_OPEN_UNREACHABLE;
        fo_action_set(res, why == FO_PG_OPEN_REJECTED ? FO_ACTION_REFUSED : FO_ACTION_FAILED, "%s",
                      msg);
        PQfinish(conn);
        return why;
    }
    /* Non-blocking, so that sending a query can never stall past the deadline either. */
    if (PQsetnonblocking(conn, 1) != 0) {
        fo_action_set(res, FO_ACTION_FAILED, "libpq: cannot make the connection non-blocking");
        PQfinish(conn);
        return FO_PG_OPEN_UNREACHABLE;
    }
    *out = conn;
    return FO_PG_OPEN_OK;
}

/* ---- queries ------------------------------------------------------------------------ */

/* Send sql (with nparams text parameters, or none: then it may hold several statements)
 * and wait for its results within the deadline. Returns the last result, whatever its
 * status (the caller PQclear()s it), or NULL with res FAILED (connection lost, timed
 * out, cancelled). */
PGresult *fo_pg_exec_raw(struct fo_pg_session *s, const char *step, const char *sql, int nparams,
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
        rc = fo_pg_wait_socket(s->req, PQsocket(s->conn), flush == 1 ? POLLIN | POLLOUT : POLLIN,
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

const char *fo_pg_sqlstate(const PGresult *r)
{
    const char *code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return code != NULL ? code : "";
}

/* Turn an error result into res: a privilege the role lacks is REFUSED (a retry cannot
 * help; the operator must grant it), anything else FAILED. Clears r. */
void fo_pg_error(struct fo_pg_session *s, const char *step, PGresult *r)
{
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    bool denied = strcmp(fo_pg_sqlstate(r), "42501") == 0;

    fo_action_set(s->res, denied ? FO_ACTION_REFUSED : FO_ACTION_FAILED, "%s: %s [%s]%s%s", step,
                  msg != NULL ? msg : "error", fo_pg_sqlstate(r), denied ? "; " : "",
                  denied ? FO_PG_GRANTS_HINT : "");
    PQclear(r);
}

/* fo_pg_exec_raw, and an error result is a failure too. Returns a successful result or
 * NULL with res set. */
PGresult *fo_pg_exec(struct fo_pg_session *s, const char *step, const char *sql, int nparams,
                     const char *const *params)
{
    PGresult *r = fo_pg_exec_raw(s, step, sql, nparams, params);
    if (r == NULL)
        return NULL;
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fo_pg_error(s, step, r);
        return NULL;
    }
    return r;
}

/* A statement whose result is not needed. Returns 0 or -1 with res set. */
int fo_pg_do(struct fo_pg_session *s, const char *step, const char *sql)
{
    PGresult *r = fo_pg_exec(s, step, sql, 0, NULL);
    PQclear(r);
    return r != NULL ? 0 : -1;
}

bool fo_pg_field_true(const PGresult *r, int col)
{
    return !PQgetisnull(r, 0, col) && strcmp(PQgetvalue(r, 0, col), "t") == 0;
}

/* ---- the server's state and the epoch ----------------------------------------------- */

int fo_pg_read_state(struct fo_pg_session *s, struct fo_pg_state *st)
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
    PGresult *r = fo_pg_exec(s, "reading the server's state", sql, 0, NULL);
    const char *lag;

    memset(st, 0, sizeof(*st));
    if (r == NULL)
        return -1;
    st->in_recovery = fo_pg_field_true(r, 0);
    lag = PQgetisnull(r, 0, 1) ? NULL : PQgetvalue(r, 0, 1);
    st->lag_known = lag != NULL;
    st->lag_bytes = lag != NULL ? strtoll(lag, NULL, 10) : 0;
    if (st->lag_bytes < 0) /* replay ahead of streaming (WAL from an archive) */
        st->lag_bytes = 0;
    st->read_only = fo_pg_field_true(r, 2);
    st->can_promote = fo_pg_field_true(r, 3);
    st->has_schema = fo_pg_field_true(r, 4);
    st->has_table = fo_pg_field_true(r, 5);
    st->can_record = fo_pg_field_true(r, 6);
    st->has_fence_table = fo_pg_field_true(r, 7);
    PQclear(r);
    if (!st->has_fence_table && !st->has_table)
        return 0;
    /* Both rows in one more round trip (a WAN failover pays for each). */
    {
        char rows[256];
        snprintf(
            rows, sizeof(rows), "SELECT %s, %s, %s",
            st->has_fence_table ? "(SELECT epoch FROM failoverd.fence LIMIT 1)" : "NULL::bigint",
            st->has_table ? "(SELECT epoch FROM failoverd.epoch LIMIT 1)" : "NULL::bigint",
            st->has_table ? "(SELECT operation_id FROM failoverd.epoch LIMIT 1)" : "NULL::text");
        r = fo_pg_exec(s, "reading failoverd.fence and failoverd.epoch", rows, 0, NULL);
    }
    if (r == NULL)
        return -1;
    if (!PQgetisnull(r, 0, 0)) {
        st->fenced_by = true;
        st->fence_epoch = strtoull(PQgetvalue(r, 0, 0), NULL, 10);
    }
    if (!PQgetisnull(r, 0, 1)) {
        st->has_epoch = true;
        st->epoch = strtoull(PQgetvalue(r, 0, 1), NULL, 10);
        snprintf(st->op_id, sizeof(st->op_id), "%s",
                 PQgetisnull(r, 0, 2) ? "" : PQgetvalue(r, 0, 2));
    }
    PQclear(r);
    return 0;
}

struct sql_text {
    char b[2048];
    size_t n;
    bool over; /* did not fit: the caller fails rather than send part of it */
};

static void sql_add(struct sql_text *q, const char *text)
{
    size_t len = strlen(text);
    if (q->over || q->n + len >= sizeof(q->b)) {
        q->over = true;
        return;
    }
    memcpy(q->b + q->n, text, len + 1);
    q->n += len;
}

/*
 * Record the request's epoch in one round trip (a WAN failover pays for each: this used
 * to take ten). FO_PG_RECORD_FENCE: in failoverd.fence, the epoch of a fence or of a promote's
 * hold, so that an older unfence leaves it on. FO_PG_RECORD_EPOCH: in failoverd.epoch, the
 * epoch and operation that promoted this server, then read back what is there. Each table
 * holds one row (a unique index on a constant) and only ever grows (the upsert's WHERE),
 * whatever order concurrent actions run in, and is created on first use by the role that
 * owns the schema. BEGIN READ WRITE: a server fenced or held read-only by default still
 * takes this transaction. One simple-protocol string, so no parameters: the epoch is a
 * number and the operation id goes through PQescapeLiteral. If a statement fails the
 * server skips the rest and the session's transaction stays aborted; every caller ends
 * the session on an error.
 *
 * Without the schema there is nowhere to write: FO_PG_RECORD_EPOCH is refused (the grants
 * hint), a fence alone is not recorded (*recorded false, 0). Returns 0 (with st->epoch
 * and st->op_id as read back for FO_PG_RECORD_EPOCH), or -1 with res set.
 */
int fo_pg_record(struct fo_pg_session *s, struct fo_pg_state *st, unsigned what, bool *recorded)
{
    static const char fence_create[] =
        "CREATE TABLE IF NOT EXISTS failoverd.fence (epoch bigint NOT NULL,"
        " fenced_at timestamptz NOT NULL DEFAULT now());"
        "CREATE UNIQUE INDEX IF NOT EXISTS fence_one_row ON failoverd.fence ((true));";
    static const char epoch_create[] =
        "CREATE TABLE IF NOT EXISTS failoverd.epoch ("
        " epoch bigint NOT NULL CHECK (epoch > 0),"
        " operation_id text NOT NULL,"
        " promoted_at timestamptz NOT NULL DEFAULT now());"
        "CREATE UNIQUE INDEX IF NOT EXISTS epoch_one_row ON failoverd.epoch ((true));";
    const char *op_id = s->req->op_id != NULL ? s->req->op_id : "";
    const char *step = what & FO_PG_RECORD_EPOCH ? "recording the epoch" : "recording the fence";
    struct sql_text q = {.n = 0};
    char piece[512];
    char *op;
    PGresult *r;

    if (recorded != NULL)
        *recorded = false;
    if (!st->has_schema) {
        if (!(what & FO_PG_RECORD_EPOCH))
            return 0;
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "schema failoverd does not exist (the role may not create it); %s",
                      FO_PG_GRANTS_HINT);
        return -1;
    }
    op = PQescapeLiteral(s->conn, op_id, strlen(op_id));
    if (op == NULL) {
        char line[256];
        fo_action_set(s->res, FO_ACTION_FAILED, "%s: %s", step,
                      one_line(PQerrorMessage(s->conn), line, sizeof(line)));
        return -1;
    }
    sql_add(&q, "BEGIN READ WRITE;");
    if (what & FO_PG_RECORD_FENCE) {
        if (!st->has_fence_table)
            sql_add(&q, fence_create);
        snprintf(piece, sizeof(piece),
                 "INSERT INTO failoverd.fence AS f (epoch) VALUES (%" PRIu64 ")"
                 " ON CONFLICT ((true)) DO UPDATE SET epoch = EXCLUDED.epoch, fenced_at = now()"
                 " WHERE f.epoch < EXCLUDED.epoch;",
                 s->req->epoch);
        sql_add(&q, piece);
    }
    if (what & FO_PG_RECORD_EPOCH) {
        if (!st->has_table)
            sql_add(&q, epoch_create);
        sql_add(&q, "INSERT INTO failoverd.epoch AS e (epoch, operation_id, promoted_at) VALUES (");
        snprintf(piece, sizeof(piece), "%" PRIu64 ", ", s->req->epoch);
        sql_add(&q, piece);
        sql_add(&q, op);
        sql_add(&q, ", now()) ON CONFLICT ((true)) DO UPDATE SET epoch = EXCLUDED.epoch,"
                    " operation_id = EXCLUDED.operation_id, promoted_at = EXCLUDED.promoted_at"
                    " WHERE e.epoch < EXCLUDED.epoch;");
    }
    sql_add(&q, "COMMIT;");
    if (what & FO_PG_RECORD_EPOCH)
        sql_add(&q, "SELECT epoch, operation_id FROM failoverd.epoch");
    PQfreemem(op);
    if (q.over) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s: the statement does not fit %zu bytes", step,
                      sizeof(q.b));
        return -1;
    }
    r = fo_pg_exec(s, step, q.b, 0, NULL);
    if (r == NULL)
        return -1;
    if (recorded != NULL)
        *recorded = true;
    if (what & FO_PG_RECORD_FENCE)
        st->has_fence_table = true;
    if (!(what & FO_PG_RECORD_EPOCH)) {
        PQclear(r);
        return 0;
    }
    st->has_table = true;
    st->has_epoch = PQntuples(r) > 0 && !PQgetisnull(r, 0, 0);
    st->epoch = st->has_epoch ? strtoull(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    snprintf(st->op_id, sizeof(st->op_id), "%s", st->has_epoch ? PQgetvalue(r, 0, 1) : "");
    PQclear(r);
    if (!st->has_epoch || st->epoch < s->req->epoch) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "failoverd.epoch does not hold epoch %" PRIu64 " after writing it",
                      s->req->epoch);
        return -1;
    }
    return 0;
}

/* Lift a fence left on a server that is (now) the primary: ALTER SYSTEM RESET, reload. */
int fo_pg_unfence(struct fo_pg_session *s)
{
    if (fo_pg_do(s, "lifting the fence (ALTER SYSTEM RESET default_transaction_read_only)",
                 "ALTER SYSTEM RESET default_transaction_read_only") != 0)
        return -1;
    return fo_pg_do(s, "reloading the configuration", "SELECT pg_reload_conf()");
}

/* A fence recorded by a newer operation than the request's stays on: a deposed leader's
 * late promote or unfence must not lift what a newer epoch fenced. 0: may go on. */
int fo_pg_fence_allows(struct fo_pg_session *s, const struct fo_pg_state *st)
{
    return fo_action_fence_allows(s->req, st->fenced_by, st->fence_epoch, s->res);
}

/* The epoch recorded on the server is newer than ours: a newer operation got there. */
void fo_pg_refuse_newer(struct fo_action_result *res, const struct fo_pg_state *st)
{
    fo_action_set(res, FO_ACTION_REFUSED,
                  "a newer operation (epoch %" PRIu64
                  ", operation %s) already promoted this server",
                  st->epoch, st->op_id);
}
