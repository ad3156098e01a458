/*
 * actions/pg_session.h — what the Postgres actions (postgres.c: promote, fence, unfence)
 * share: the connection parameters, one session bounded by the request's deadline and
 * cancel flag, the server's state, and the epoch records failoverd.epoch and
 * failoverd.fence. Private to actions/ (not part of the action interface, action.h).
 *
 * Blocking: thread-pool only (action.h). Every wait polls the socket against
 * req->deadline_ms and the cancel flag. Every function that can fail returns -1 or NULL
 * with the session's res set (status and a detail naming the step), and the session is
 * then left for the caller to close (PQfinish).
 */
#ifndef FO_ACTIONS_PG_SESSION_H
#define FO_ACTIONS_PG_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "actions/action.h"
#include "actions/pg_ssl.h"

#define FO_PG_DEFAULT_PORT      5432
#define FO_PG_DEFAULT_CONNECT_S 10
#define FO_PG_DEFAULT_WAIT_S    60
#define FO_PG_POLL_SLICE_MS     100 /* how often a wait looks at the cancel flag */
#define FO_PG_GRANTS_HINT       "see deploy/postgres-grants.sql"

/* The connection parameters both kinds share. */
struct fo_pg_target {
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
struct fo_pg_session {
    PGconn *conn;
    const struct fo_action_req *req;
    struct fo_action_result *res;
};

/* What the server said about itself (one query right after connect). */
struct fo_pg_state {
    bool in_recovery;
    bool lag_known; /* false when the standby never received WAL by streaming */
    int64_t lag_bytes;
    bool read_only; /* default_transaction_read_only: fenced */
    bool can_promote;
    bool can_record;      /* may create or write failoverd.epoch */
    bool has_schema;      /* the schema failoverd exists */
    bool has_table;       /* failoverd.epoch exists */
    bool has_fence_table; /* failoverd.fence exists */
    bool has_epoch;       /* ... and holds a row */
    uint64_t epoch;       /* that row's epoch */
    char op_id[128];      /* and operation */
    bool fenced_by;       /* failoverd.fence holds a row: a fence recorded its epoch */
    uint64_t fence_epoch; /* ...this one: older promotes and unfences leave it on */
};

enum fo_pg_open_result {
    FO_PG_OPEN_OK,
    FO_PG_OPEN_UNREACHABLE,
    FO_PG_OPEN_REJECTED,
    FO_PG_OPEN_CANCELLED
};

/* The connection parameters under prefix ("" for the step's server, "catch_up_" for the
 * old primary a switchover drains) into t (password read from its file). 0, or -1 with
 * res REFUSED naming the parameter. */
int fo_pg_target_read(const struct fo_action_req *req, const char *prefix, struct fo_pg_target *t,
                      struct fo_action_result *res);
/* The kind's parameter check, then fo_pg_target_read(req, ""). */
int fo_pg_target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
                       struct fo_pg_target *t, struct fo_action_result *res);
/* Wait until sock is ready for events or until limit_ms (CLOCK_MONOTONIC ms); sock -1: a
 * cancellable pause. 0 ready, 1 timed out, 2 cancelled, -1 poll failed. */
int fo_pg_wait_socket(const struct fo_action_req *req, int sock, short events, uint64_t limit_ms);
/* Connect to t within connect_timeout_s and the deadline; the password is wiped after. On
 * FO_PG_OPEN_OK *out is the connection (non-blocking); otherwise res->detail says why and
 * the caller picks the status (an unreachable old primary is SKIPPED for a fence, a FAILED
 * promote). */
enum fo_pg_open_result fo_pg_open(const struct fo_action_req *req, struct fo_pg_target *t,
                                  PGconn **out, struct fo_action_result *res);

/* Send sql (nparams text parameters, or none: then it may hold several statements) and
 * return the last result whatever its status (caller PQclear()s), or NULL with res FAILED
 * (connection lost, deadline, cancelled). */
PGresult *fo_pg_exec_raw(struct fo_pg_session *s, const char *step, const char *sql, int nparams,
                         const char *const *params);
/* fo_pg_exec_raw, and an error result is a failure too (fo_pg_error). */
PGresult *fo_pg_exec(struct fo_pg_session *s, const char *step, const char *sql, int nparams,
                     const char *const *params);
/* A statement whose result is not needed: 0, or -1 with res set. */
int fo_pg_do(struct fo_pg_session *s, const char *step, const char *sql);
/* An error result into res: 42501 (privilege) REFUSED with the grants hint, anything else
 * FAILED. Clears r. */
void fo_pg_error(struct fo_pg_session *s, const char *step, PGresult *r);
const char *fo_pg_sqlstate(const PGresult *r);     /* "" when the result has none */
bool fo_pg_field_true(const PGresult *r, int col); /* row 0's boolean column col */

/* The server's state (struct fo_pg_state) in at most two round trips. 0 or -1. */
int fo_pg_read_state(struct fo_pg_session *s, struct fo_pg_state *st);

/* What fo_pg_record writes, in ONE round trip and one READ WRITE transaction:
 * FO_PG_RECORD_FENCE the request's epoch in failoverd.fence (a fence's, or a promote's
 * hold: older unfences leave it on); FO_PG_RECORD_EPOCH the epoch and operation id in
 * failoverd.epoch, then read back into st->epoch/op_id. Both tables hold one row that only
 * ever grows. Without the schema: the epoch is REFUSED, a fence alone is not recorded
 * (*recorded false, 0). recorded may be NULL. 0, or -1 with res set (FAILED when the
 * epoch read back is older than the request's). */
enum { FO_PG_RECORD_FENCE = 1, FO_PG_RECORD_EPOCH = 2 };
int fo_pg_record(struct fo_pg_session *s, struct fo_pg_state *st, unsigned what, bool *recorded);

/* Lift a fence: ALTER SYSTEM RESET default_transaction_read_only, reload. 0 or -1. */
int fo_pg_unfence(struct fo_pg_session *s);
/* 0 when no newer epoch's fence is recorded (st); else -1 with res REFUSED: a deposed
 * leader's late promote or unfence must not lift what a newer epoch fenced. */
int fo_pg_fence_allows(struct fo_pg_session *s, const struct fo_pg_state *st);
/* res REFUSED: a newer operation (st's epoch) already promoted this server. */
void fo_pg_refuse_newer(struct fo_action_result *res, const struct fo_pg_state *st);

#endif
