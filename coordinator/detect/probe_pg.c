/*
 * coordinator/detect/probe_pg.c — the postgres check (probe.h): libpq in non-blocking mode on
 * the loop.
 *
 * The connection is driven by a uv_poll_t on PQsocket():
 *   connect  PQconnectStartParams, then PQconnectPoll each time the socket is ready for
 *            what the last call asked (writable at first, as the libpq docs say);
 *   query    PQsendQuery, PQflush until the query is out, then PQconsumeInput /
 *            PQisBusy / PQgetResult as the socket becomes readable.
 * Two libpq facts shape this file:
 *   - PQconnectPoll may close the socket and open another (next host, SSL fallback): the
 *     poll handle is re-made whenever PQsocket() changes. To make a close inside libpq
 *     safe whatever fd number the next socket gets, the poll handle is stopped (epoll
 *     forgets the fd) BEFORE every libpq call that may touch the socket, and re-armed
 *     after it.
 *   - libpq ignores connect_timeout in PQconnectPoll mode: the prober's deadline timer
 *     is what cuts a connect (or a query) that hangs. connect_timeout is still passed, for
 *     the record in pg_stat_activity and for tools that reuse the parameters.
 * The connection is kept between probes. A probe on a kept connection that turns out
 * broken (the server restarted, an idle timeout) reconnects once at once, because a
 * stale socket says nothing about the server's health now.
 */
#include "coordinator/detect/probe_internal.h"
#include "coordinator/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

enum { PG_NONE = 0, PG_RESOLVING, PG_CONNECTING, PG_SENDING, PG_READING, PG_IDLE };

/*
 * One round trip: the role, and what the role lets us know of replication.
 * Every column is NULL-safe: pg_last_wal_receive_lsn() is NULL when streaming never
 * started, pg_last_xact_replay_timestamp() when nothing was replayed yet. lag_ms is 0
 * when the standby has replayed all it received, since now() - the last replayed commit
 * time only grows on an idle primary (reference §4.2); see probe.h. The CASEs keep
 * primary-only functions (pg_current_wal_lsn() raises during recovery) off standbys.
 */
static const char PG_QUERY[] =
    "SELECT r.rec,"
    " (CASE WHEN r.rec THEN pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')"
    "  ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END)::text,"
    " (CASE WHEN r.rec THEN greatest(0, pg_wal_lsn_diff(pg_last_wal_receive_lsn(),"
    "  pg_last_wal_replay_lsn())) END)::bigint,"
    " (CASE WHEN r.rec THEN CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()"
    "  THEN 0 ELSE greatest(0, extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
    "  * 1000) END END)::bigint,"
    " CASE WHEN r.rec THEN EXISTS (SELECT 1 FROM pg_stat_wal_receiver"
    "  WHERE status = 'streaming') END,"
    " CASE WHEN NOT r.rec THEN (SELECT count(*) FROM pg_stat_replication) END,"
    " CASE WHEN NOT r.rec THEN (SELECT count(*) FROM pg_stat_replication"
    "  WHERE state = 'streaming') END,"
    " CASE WHEN NOT r.rec THEN (SELECT max(greatest(0, pg_wal_lsn_diff(pg_current_wal_lsn(),"
    "  replay_lsn)))::bigint FROM pg_stat_replication) END,"
    " CASE WHEN r.rec THEN (SELECT greatest(0, extract(epoch FROM now() -"
    "  last_msg_receipt_time) * 1000)::bigint FROM pg_stat_wal_receiver"
    "  WHERE status = 'streaming') END"
    " FROM (SELECT pg_is_in_recovery() AS rec) r";

#define PG_NCOLS 9

static void pg_connect(struct fo_probe_check *c);
static void pg_send(struct fo_probe_check *c);
static void pg_poll_cb(uv_poll_t *h, int status, int events);

/* Stop watching the socket: before any libpq call that may close or replace it. */
static void pg_unwatch(struct fo_probe_check *c)
{
    if (c->pg.poll != NULL)
        uv_poll_stop(c->pg.poll);
}

static void pg_close_poll(struct fo_probe_check *c)
{
    if (c->pg.poll == NULL)
        return;
    uv_poll_stop(c->pg.poll);
    probe_handle_close(c->p, (uv_handle_t *)c->pg.poll, true);
    c->pg.poll = NULL;
    c->pg.poll_fd = -1;
}

/* Watch PQsocket() for events, on a new poll handle if the socket changed. */
static int pg_watch(struct fo_probe_check *c, int events)
{
    int fd = PQsocket(c->pg.conn);

    if (fd < 0)
        return UV_EBADF;
    if (c->pg.poll != NULL && c->pg.poll_fd != fd)
        pg_close_poll(c);
    if (c->pg.poll == NULL) {
        uv_poll_t *h = malloc(sizeof(*h));
        int rc;
        if (h == NULL)
            return UV_ENOMEM;
        rc = uv_poll_init(c->p->loop, h, fd);
        if (rc != 0) {
            free(h);
            return rc;
        }
        h->data = c;
        c->pg.poll = h;
        c->pg.poll_fd = fd;
    }
    return uv_poll_start(c->pg.poll, events, pg_poll_cb);
}

/* Drop the connection (the poll handle goes with its socket). */
static void pg_drop(struct fo_probe_check *c)
{
    pg_close_poll(c);
    if (c->pg.res != NULL) {
        PQclear(c->pg.res);
        c->pg.res = NULL;
    }
    if (c->pg.conn != NULL) {
        PQfinish(c->pg.conn);
        c->pg.conn = NULL;
    }
    c->pg.phase = PG_NONE;
}

/* libpq's message, first line only, without its "connection to server at ... failed: "
 * preamble (host and port are in the check's spec already). */
static const char *pg_error(PGconn *conn, char *buf, size_t cap)
{
    const char *m = conn != NULL ? PQerrorMessage(conn) : "out of memory";
    const char *f = strstr(m, " failed: ");
    size_t n;

    if (f != NULL && strncmp(m, "connection to server", 20) == 0)
        m = f + 9;
    n = strcspn(m, "\n");
    probe_sanitize(buf, cap, m, n);
    if (buf[0] == '\0')
        snprintf(buf, cap, "unknown libpq error");
    return buf;
}

/* The probe failed on the connection: reconnect once if it was a kept one, else end. */
static void pg_fail(struct fo_probe_check *c, const char *what)
{
    char msg[FO_PROBE_DETAIL_MAX];

    pg_error(c->pg.conn, msg, sizeof(msg));
    pg_drop(c);
    if (c->pg.reused && !c->pg.retried) {
        c->pg.retried = true;
        c->pg.reused = false;
        pg_connect(c);
        return;
    }
    probe_finish(c, false, "%s: %s", what, msg);
}

static bool col_null(const PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) != 0;
}

static uint64_t col_u64(const PGresult *r, int col)
{
    const char *v = PQgetvalue(r, 0, col);
    return (v != NULL && v[0] != '-') ? strtoull(v, NULL, 10) : 0;
}

static void pg_report(struct fo_probe_check *c, const PGresult *r)
{
    struct fo_probe_pg_info *pg = &c->cur.pg;

    if (PQntuples(r) != 1 || PQnfields(r) != PG_NCOLS || col_null(r, 0)) {
        probe_finish(c, false, "query: unexpected answer (%d rows, %d columns)", PQntuples(r),
                     PQnfields(r));
        return;
    }
    pg->in_recovery = PQgetvalue(r, 0, 0)[0] == 't';
    pg->wal_lsn_known = !col_null(r, 1);
    pg->wal_lsn = col_u64(r, 1);
    if (pg->in_recovery) {
        pg->lag_bytes_known = !col_null(r, 2);
        pg->lag_bytes = col_u64(r, 2);
        pg->lag_ms_known = !col_null(r, 3);
        pg->lag_ms = col_u64(r, 3);
        pg->receiver_streaming = !col_null(r, 4) && PQgetvalue(r, 0, 4)[0] == 't';
        if (pg->receiver_streaming && !col_null(r, 8)) {
            c->pg.streamed_at = uv_now(c->p->loop);
            c->pg.streamed_age_ms = col_u64(r, 8);
        }
        /* Not streaming: the silence has lasted at least since we last saw it stream. */
        pg->received_ago_known = c->pg.streamed_at != 0;
        if (pg->received_ago_known)
            pg->received_ago_ms = c->pg.streamed_age_ms + (uv_now(c->p->loop) - c->pg.streamed_at);
        char bytes[32] = "?", ms[32] = "?";
        if (pg->lag_bytes_known)
            snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)pg->lag_bytes);
        if (pg->lag_ms_known)
            snprintf(ms, sizeof(ms), "%llu", (unsigned long long)pg->lag_ms);
        probe_finish(c, true, "standby, %s, replay lag %s B / %s ms",
                     pg->receiver_streaming ? "streaming" : "not streaming", bytes, ms);
        return;
    }
    c->pg.streamed_at = 0; /* a primary: a later standby life starts from nothing */
    pg->standbys = (uint32_t)col_u64(r, 5);
    pg->standbys_streaming = (uint32_t)col_u64(r, 6);
    pg->standby_lag_known = !col_null(r, 7);
    pg->standby_lag_bytes = col_u64(r, 7);
    if (pg->standby_lag_known)
        probe_finish(c, true, "primary, %u/%u standbys streaming, max standby lag %llu B",
                     pg->standbys_streaming, pg->standbys,
                     (unsigned long long)pg->standby_lag_bytes);
    else
        probe_finish(c, true, "primary, no standby connected");
}

/* Readable during the query: take what arrived; end the probe on the last result. */
static void pg_read(struct fo_probe_check *c)
{
    PGconn *conn = c->pg.conn;

    if (PQconsumeInput(conn) == 0) {
        pg_fail(c, "query");
        return;
    }
    while (PQisBusy(conn) == 0) {
        PGresult *r = PQgetResult(conn);
        if (r == NULL) {
            PGresult *res = c->pg.res;
            c->pg.res = NULL;
            c->pg.phase = PG_IDLE;
            c->pg.reused = c->pg.retried = false;
            /* Kept, and watched while idle: a server that dies closes it, and the
             * check runs again at once (pg_idle_event) instead of at its next tick. */
            (void)pg_watch(c, UV_READABLE | UV_DISCONNECT);
            if (res == NULL) {
                probe_finish(c, false, "query: no result");
            } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                char msg[FO_PROBE_DETAIL_MAX];
                const char *e = PQresultErrorMessage(res);
                probe_sanitize(msg, sizeof(msg), e, strcspn(e, "\n"));
                PQclear(res);
                probe_finish(c, false, "query: %s", msg);
            } else {
                pg_report(c, res);
                PQclear(res);
            }
            return; /* the owner's callbacks ran: do not touch c->pg any more */
        }
        if (c->pg.res == NULL)
            c->pg.res = r; /* the first result is ours; later ones are drained */
        else
            PQclear(r);
    }
    if (PQstatus(conn) == CONNECTION_BAD) {
        pg_fail(c, "query");
        return;
    }
    if (pg_watch(c, UV_READABLE) != 0)
        pg_fail(c, "query");
}

/* Push the query out; then wait for the answer. */
static void pg_flush(struct fo_probe_check *c)
{
    int rc = PQflush(c->pg.conn);

    if (rc < 0) {
        pg_fail(c, "query");
        return;
    }
    c->pg.phase = rc == 0 ? PG_READING : PG_SENDING;
    /* While sending, read too: the server may answer (an error) before taking it all. */
    if (pg_watch(c, rc == 0 ? UV_READABLE : UV_READABLE | UV_WRITABLE) != 0)
        pg_fail(c, "query");
}

static void pg_send(struct fo_probe_check *c)
{
    if (PQsendQuery(c->pg.conn, PG_QUERY) == 0) {
        pg_fail(c, "query");
        return;
    }
    pg_flush(c);
}

static void pg_connect_step(struct fo_probe_check *c)
{
    switch (PQconnectPoll(c->pg.conn)) {
    case PGRES_POLLING_READING:
        if (pg_watch(c, UV_READABLE) != 0)
            pg_fail(c, "connect");
        return;
    case PGRES_POLLING_WRITING:
        if (pg_watch(c, UV_WRITABLE) != 0)
            pg_fail(c, "connect");
        return;
    case PGRES_POLLING_OK:
        if (PQsetnonblocking(c->pg.conn, 1) != 0) {
            pg_fail(c, "connect");
            return;
        }
        pg_send(c);
        return;
    default:
        pg_fail(c, "connect");
        return;
    }
}

/* The kept connection is readable between probes: a notice, or (the usual case) the
 * server closed it: "terminating connection" or EOF, as when its postmaster dies. */
static void pg_idle_event(struct fo_probe_check *c)
{
    if (PQconsumeInput(c->pg.conn) == 0 || PQstatus(c->pg.conn) == CONNECTION_BAD) {
        pg_drop(c);
        fo_log_info("probe.dropped", "check=%s action=probe_now", c->spec.name);
        probe_run_soon(c);
        return;
    }
    while (PQisBusy(c->pg.conn) == 0) {
        PGresult *r = PQgetResult(c->pg.conn);
        if (r == NULL)
            break;
        PQclear(r); /* nothing is asked between probes: drain what came unasked */
    }
    (void)pg_watch(c, UV_READABLE | UV_DISCONNECT);
}

static void pg_poll_cb(uv_poll_t *h, int status, int events)
{
    struct fo_probe_check *c = h->data;

    (void)status; /* an error shows in libpq's next call, which reads or writes */
    (void)events;
    pg_unwatch(c);
    switch (c->pg.phase) {
    case PG_CONNECTING:
        pg_connect_step(c);
        break;
    case PG_SENDING:
        if (PQconsumeInput(c->pg.conn) == 0)
            pg_fail(c, "query");
        else
            pg_flush(c);
        break;
    case PG_READING:
        pg_read(c);
        break;
    case PG_IDLE:
        pg_idle_event(c);
        break;
    default:
        break;
    }
}

static void pg_connect_now(struct fo_probe_check *c)
{
    const struct fo_probe_spec *s = &c->spec;
    static const char *const ssl_keys[FO_PG_NSSL] = FO_PG_SSL_KEYWORDS;
    const char *keys[16 + FO_PG_NSSL], *vals[16 + FO_PG_NSSL];
    char port[8], ctimeout[16];
    int n = 0;

    snprintf(port, sizeof(port), "%u", (unsigned)s->port);
    snprintf(ctimeout, sizeof(ctimeout), "%u",
             s->timeout_ms < 2000 ? 2u : (unsigned)((s->timeout_ms + 999) / 1000));
    keys[n] = "host", vals[n++] = s->host;
    if (s->host[0] != '/')
        keys[n] = "hostaddr", vals[n++] = c->addr; /* resolved already: no DNS in libpq */
    keys[n] = "port", vals[n++] = port;
    keys[n] = "dbname", vals[n++] = s->dbname[0] != '\0' ? s->dbname : "postgres";
    if (s->user[0] != '\0')
        keys[n] = "user", vals[n++] = s->user;
    if (c->has_password)
        keys[n] = "password", vals[n++] = c->password;
    keys[n] = "application_name", vals[n++] = "failoverd-probe";
    keys[n] = "connect_timeout", vals[n++] = ctimeout;
    /* gssencmode=prefer (the default when libpq has GSSAPI) looks for Kerberos
     * credentials synchronously inside the connect: not on our loop. */
    keys[n] = "gssencmode", vals[n++] = "disable";
    keys[n] = "keepalives_idle", vals[n++] = "5";
    keys[n] = "keepalives_interval", vals[n++] = "2";
    keys[n] = "keepalives_count", vals[n++] = "3";
    /* TLS as configured (actions/pg_ssl.h): keyword by keyword, never in a string. */
    for (size_t k = 0; k < FO_PG_NSSL; k++)
        if (s->ssl[k] != NULL)
            keys[n] = ssl_keys[k], vals[n++] = s->ssl[k];
    keys[n] = NULL, vals[n] = NULL;

    c->pg.conn = PQconnectStartParams(keys, vals, 0);
    if (c->pg.conn == NULL || PQstatus(c->pg.conn) == CONNECTION_BAD) {
        pg_fail(c, "connect");
        return;
    }
    c->pg.phase = PG_CONNECTING;
    /* As the libpq docs say: behave as if PQconnectPoll had asked for writing. */
    if (pg_watch(c, UV_WRITABLE) != 0)
        pg_fail(c, "connect");
}

static void pg_resolved(struct fo_probe_check *c, int status)
{
    if (status != 0) {
        c->pg.phase = PG_NONE;
        probe_finish(c, false, "resolve %s: %s", c->spec.host, uv_strerror(status));
        return;
    }
    pg_connect_now(c);
}

static void pg_connect(struct fo_probe_check *c)
{
    int rc;

    if (c->spec.host[0] == '/') {
        pg_connect_now(c);
        return;
    }
    rc = probe_resolve(c, pg_resolved);
    if (rc == 1) {
        pg_connect_now(c);
    } else if (rc == 0) {
        c->pg.phase = PG_RESOLVING;
    } else {
        probe_finish(c, false, "resolve %s: %s", c->spec.host, uv_strerror(rc));
    }
}

bool probe_pg_kept(const struct fo_probe_check *c)
{
    return c->pg.conn != NULL && c->pg.phase == PG_IDLE && PQstatus(c->pg.conn) == CONNECTION_OK;
}

void probe_pg_start(struct fo_probe_check *c)
{
    c->pg.retried = false;
    if (probe_pg_kept(c)) {
        c->pg.reused = true;
        pg_send(c);
        return;
    }
    pg_drop(c);
    c->pg.reused = false;
    pg_connect(c);
}

void probe_pg_abort(struct fo_probe_check *c)
{
    /* A probe that hung leaves the connection in an unknown state: start afresh. */
    pg_drop(c);
    c->pg.reused = c->pg.retried = false;
}

void probe_pg_close(struct fo_probe_check *c)
{
    pg_drop(c);
}
