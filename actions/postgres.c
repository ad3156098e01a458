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
 *
 * The session, the server's state and the epoch records are actions/pg_session.h's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "actions/kinds.h"
#include "actions/pg_session.h"
#include "actions/secret.h"

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

/* ---- postgres.promote --------------------------------------------------------------- */
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
static int hold_fence(struct fo_pg_session *s)
{
    if (fo_pg_do(s, "holding the fence (ALTER SYSTEM SET default_transaction_read_only = on)",
                 "ALTER SYSTEM SET default_transaction_read_only = on") != 0)
        return -1;
    return fo_pg_do(s, "reloading the configuration", "SELECT pg_reload_conf()");
}

/* After the promotion: record the epoch, and with hold_fence the hold's epoch in
 * failoverd.fence too (one transaction, so that an older unfence leaves it on); without
 * it, first lift a fence a past fence step left. */
static int finish_promotion(struct fo_pg_session *s, const struct promote_opts *o,
                            struct fo_pg_state *st)
{
    if (!o->hold && st->read_only && fo_pg_unfence(s) != 0)
        return -1;
    return fo_pg_record(
        s, st, o->hold ? FO_PG_RECORD_FENCE | FO_PG_RECORD_EPOCH : FO_PG_RECORD_EPOCH, NULL);
}

/* Already a primary: the epoch table decides (see the header). */
static void promote_primary(struct fo_pg_session *s, const struct promote_opts *o,
                            struct fo_pg_state *st)
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
    if (fo_pg_fence_allows(s, st) != 0)
        return;
    if (req->check_only) {
        if (!st->can_record)
            fo_action_set(s->res, FO_ACTION_REFUSED,
                          "primary, but the role cannot write failoverd.epoch; %s",
                          FO_PG_GRANTS_HINT);
        else
            fo_action_set(s->res, FO_ACTION_DONE,
                          "primary already (not in recovery)%s; would record epoch %" PRIu64,
                          st->read_only ? ", fenced read-only: would lift the fence" : "",
                          req->epoch);
        return;
    }
    if ((o->hold && !st->read_only && hold_fence(s) != 0) || finish_promotion(s, o, st) != 0)
        return;
    if (st->epoch > req->epoch) { /* a newer promote won a race with us */
        fo_pg_refuse_newer(s->res, st);
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
static int catch_up(struct fo_pg_session *s)
{
    const struct fo_action_req *req = s->req;
    struct fo_pg_session old = {.req = req, .res = s->res};
    struct fo_pg_target t;
    char lsn[64];
    const char *params[1] = {lsn};
    PGresult *r;
    bool in_recovery, read_only;

    if (fo_pg_target_read(req, "catch_up_", &t, s->res) != 0)
        return -1;
    if (fo_pg_open(req, &t, &old.conn, s->res) != FO_PG_OPEN_OK) {
        char why[FO_TEXT_MAX];
        snprintf(why, sizeof(why), "%s", s->res->detail);
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "switchover: cannot reach the old primary %s to drain it: %s", t.host, why);
        return -1;
    }
    r = fo_pg_exec(&old, "reading the old primary's WAL position",
                   "SELECT pg_is_in_recovery(),"
                   " current_setting('default_transaction_read_only')::boolean,"
                   " CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END",
                   0, NULL);
    if (r == NULL) {
        PQfinish(old.conn);
        return -1;
    }
    in_recovery = fo_pg_field_true(r, 0);
    read_only = fo_pg_field_true(r, 1);
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
        r = fo_pg_exec(s, "waiting for the standby to replay the old primary's WAL",
                       "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn,"
                       " pg_last_wal_replay_lsn()::text",
                       1, params);
        if (r == NULL)
            return -1;
        caught_up = fo_pg_field_true(r, 0);
        PQclear(r);
        if (caught_up)
            return 0;
        /* wait_socket on no socket: a cancellable, deadline-bounded pause between polls. */
        if (fo_pg_wait_socket(req, -1, 0, fo_action_now_ms() + FO_PG_POLL_SLICE_MS) == 2 ||
            fo_action_remaining_ms(req) == 0) {
            fo_action_set(s->res, FO_ACTION_FAILED,
                          "switchover: the standby had not replayed up to the old primary's %s "
                          "by the deadline",
                          lsn);
            return -1;
        }
    }
}

static void promote_standby(struct fo_pg_session *s, const struct promote_opts *o,
                            struct fo_pg_state *st)
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
        if (catch_up(s) != 0 || fo_pg_read_state(s, st) != 0)
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
                      FO_PG_GRANTS_HINT);
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
     * wait and polling pg_is_in_recovery() every 5 ms ourselves saves most of a step.
     * With hold_fence the reload that applies the hold rides with the promote request
     * (ALTER SYSTEM must be a statement of its own): one round trip fewer. */
    if (o->hold &&
        fo_pg_do(s, "holding the fence (ALTER SYSTEM SET default_transaction_read_only = on)",
                 "ALTER SYSTEM SET default_transaction_read_only = on") != 0)
        return;
    r = fo_pg_exec_raw(s, "pg_promote",
                       o->hold ? "SELECT pg_reload_conf(), pg_promote(false)"
                               : "SELECT pg_promote(false)",
                       0, NULL);
    if (r == NULL)
        return;
    /* 55000 "recovery is not in progress": promoted by someone else meanwhile; the state
     * below tells. */
    if (PQresultStatus(r) != PGRES_TUPLES_OK && strcmp(fo_pg_sqlstate(r), "55000") != 0) {
        fo_pg_error(s, "pg_promote", r);
        return;
    }
    PQclear(r);
    {
        uint64_t start = fo_action_now_ms();
        uint64_t until = start + strtoull(wait_s, NULL, 10) * 1000, nudge = start + 100;
        const struct timespec slice = {0, 5 * 1000 * 1000};
        for (;;) {
            /* PostgreSQL 15 can log "received promote request" and still sleep
             * wal_retrieve_retry_interval (5 s) in "waiting for WAL to become
             * available" before it ends recovery: seen in about one failover of three
             * when a reload (the hold's) came just before. A reload sets the startup
             * process's latch, and a startup process that has taken the request
             * promotes as soon as it wakes; so, while it has not, the poll wakes it
             * every 250 ms. The poll reads only what changes with the promotion (one
             * round trip; the epoch tables were read before and fo_pg_record() reads back). */
            bool wake = fo_action_now_ms() >= nudge;
            r = fo_pg_exec(s, "polling pg_is_in_recovery()",
                           wake ? "SELECT pg_is_in_recovery(),"
                                  " current_setting('default_transaction_read_only')::boolean,"
                                  " pg_reload_conf()"
                                : "SELECT pg_is_in_recovery(),"
                                  " current_setting('default_transaction_read_only')::boolean",
                           0, NULL);
            if (r == NULL)
                return;
            st->in_recovery = fo_pg_field_true(r, 0);
            st->read_only = fo_pg_field_true(r, 1);
            PQclear(r);
            if (wake)
                nudge = fo_action_now_ms() + 250;
            if (!st->in_recovery || fo_action_now_ms() >= until || fo_action_cancelled(req))
                break;
            nanosleep(&slice, NULL);
        }
    }
    if (st->in_recovery) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "pg_promote: still in recovery after %s s (it may yet complete)", wait_s);
        return;
    }
    if (st->has_epoch && st->epoch > req->epoch) {
        fo_pg_refuse_newer(s->res, st);
        return;
    }
    if (finish_promotion(s, o, st) != 0)
        return;
    if (st->epoch > req->epoch) {
        fo_pg_refuse_newer(s->res, st);
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
    struct fo_pg_session s = {.req = req, .res = res};
    struct promote_opts o;
    struct fo_pg_target t;
    struct fo_pg_state st;

    if (fo_pg_target_parse(req, &fo_action_postgres_promote, &t, res) != 0)
        return;
    o.gate = fo_action_param(req, "max_lag_bytes") != NULL;
    if (fo_action_param_u64(req, "max_lag_bytes", 0, 0, INT64_MAX, &o.max_lag_bytes, res) != 0 ||
        fo_action_param_u64(req, "force", 0, 0, 1, &o.force, res) != 0 ||
        fo_action_param_u64(req, "promote_wait_s", FO_PG_DEFAULT_WAIT_S, 1, 3600, &o.wait_s, res) !=
            0 ||
        fo_action_param_u64(req, "hold_fence", 0, 0, 1, &o.hold, res) != 0) {
        fo_secret_wipe(t.password, sizeof(t.password)); /* fo_pg_open wipes it otherwise */
        return;
    }
    if (req->epoch == 0 || req->epoch > INT64_MAX) {
        fo_secret_wipe(t.password, sizeof(t.password));
        fo_action_set(res, FO_ACTION_REFUSED, "epoch %" PRIu64 " cannot be recorded", req->epoch);
        return;
    }
    if (fo_pg_open(req, &t, &s.conn, res) != FO_PG_OPEN_OK)
        return; /* FAILED (unreachable, cancelled) or REFUSED (credentials), as set */
    if (fo_pg_read_state(&s, &st) == 0) {
        if (st.in_recovery)
            promote_standby(&s, &o, &st);
        else if (st.has_epoch && st.epoch > req->epoch)
            fo_pg_refuse_newer(res, &st);
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
static int terminate_sessions(struct fo_pg_session *s, long *ended, long *left)
{
    static const char sql[] =
        "SELECT count(*) FILTER (WHERE CASE WHEN r.rolsuper THEN false"
        "  ELSE pg_terminate_backend(a.pid) END),"
        " count(*) FILTER (WHERE r.rolsuper)"
        " FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid"
        " WHERE a.backend_type = 'client backend' AND a.pid <> pg_backend_pid()"
        " AND NOT (a.usename = current_user AND a.application_name = 'failoverd')";
    PGresult *r = fo_pg_exec(s, "terminating client sessions", sql, 0, NULL);
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
    struct fo_pg_session s = {.req = req, .res = res};
    struct fo_pg_target t;
    uint64_t terminate;
    bool fenced, alter, reload, signal, recorded = false;
    long ended = 0, left = 0;
    char missing[160] = "";
    PGresult *r;

    if (fo_pg_target_parse(req, &fo_action_postgres_fence, &t, res) != 0)
        return;
    if (fo_action_param_u64(req, "terminate_backends", 1, 0, 1, &terminate, res) != 0) {
        fo_secret_wipe(t.password, sizeof(t.password)); /* fo_pg_open wipes it otherwise */
        return;
    }
    switch (fo_pg_open(req, &t, &s.conn, res)) {
    case FO_PG_OPEN_OK:
        break;
    case FO_PG_OPEN_UNREACHABLE: { /* the old primary is gone: nothing to fence */
        char why[sizeof(res->detail)];
        memcpy(why, res->detail, sizeof(why));
        fo_action_set(res, FO_ACTION_SKIPPED, "unreachable, not fenced: %.400s", why);
        return;
    }
    default: /* REFUSED (credentials) or FAILED (cancelled), as fo_pg_open set */
        return;
    }
    r = fo_pg_exec(&s, "reading the server's state", privs_sql, 0, NULL);
    if (r == NULL)
        goto out;
    fenced = fo_pg_field_true(r, 1);
    alter = fo_pg_field_true(r, 2);
    reload = fo_pg_field_true(r, 3);
    signal = fo_pg_field_true(r, 4);
    if (fo_pg_field_true(r, 0)) {
        PQclear(r);
        fo_action_set(res, FO_ACTION_SKIPPED, "a standby (in recovery): it takes no writes");
        goto out;
    }
    PQclear(r);
    {
        /* A server that recorded a newer epoch was promoted since: a late fence of an
         * older operation must leave the current primary alone. */
        struct fo_pg_state st;
        if (fo_pg_read_state(&s, &st) != 0)
            goto out;
        if (st.has_epoch && st.epoch > req->epoch) {
            fo_pg_refuse_newer(res, &st);
            goto out;
        }
        /* First the record, then the fence: a fence is never on without its epoch. */
        if (!req->check_only && fo_pg_record(&s, &st, FO_PG_RECORD_FENCE, &recorded) != 0)
            goto out;
    }
    snprintf(missing, sizeof(missing), "%s%s%s",
             alter ? "" : " ALTER SYSTEM on default_transaction_read_only;",
             reload ? "" : " EXECUTE on pg_reload_conf();",
             signal || !terminate ? "" : " membership of pg_signal_backend;");
    if (missing[0] != '\0' && (req->check_only || !fenced)) {
        fo_action_set(res, FO_ACTION_REFUSED, "the role lacks%s %s", missing, FO_PG_GRANTS_HINT);
        goto out;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "reachable primary%s; privileges present",
                      fenced ? ", already read-only by default" : ", would set it read-only");
        goto out;
    }
    /* ALTER SYSTEM refuses to run inside a transaction block: its own statement. */
    if (!fenced && (fo_pg_do(&s, "ALTER SYSTEM SET default_transaction_read_only = on",
                             "ALTER SYSTEM SET default_transaction_read_only = on") != 0 ||
                    fo_pg_do(&s, "reloading the configuration", "SELECT pg_reload_conf()") != 0))
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
    struct fo_pg_session s = {.req = req, .res = res};
    struct fo_pg_target t;
    struct fo_pg_state st;

    if (fo_pg_target_parse(req, &fo_action_postgres_unfence, &t, res) != 0)
        return;
    if (fo_pg_open(req, &t, &s.conn, res) != FO_PG_OPEN_OK)
        return; /* FAILED (unreachable, cancelled) or REFUSED (credentials), as set */
    if (fo_pg_read_state(&s, &st) != 0)
        goto out;
    if (st.in_recovery) {
        fo_action_set(res, FO_ACTION_SKIPPED, "a standby (in recovery): nothing to lift");
    } else if (st.has_epoch && st.epoch > req->epoch) {
        fo_pg_refuse_newer(res, &st);
    } else if (fo_pg_fence_allows(&s, &st) != 0) {
        /* res says why */
    } else if (!st.read_only) {
        fo_action_set(res, FO_ACTION_DONE, "not fenced: takes writes");
    } else if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "fenced; would lift the fence");
    } else if (fo_pg_unfence(&s) == 0) {
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
