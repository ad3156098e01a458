/*
 * actions/postgres_rejoin.c — postgres.rejoin (failoverctl rejoin SITE; DESIGN §6):
 * re-seed a former primary (host, port, dbname, user, password_file, ssl*) as a streaming
 * standby of the primary (primary_host, primary_port, primary_dbname, primary_user,
 * primary_password_file, primary_ssl*), and verify it over libpq. Blocking: thread-pool
 * only (action.h).
 *
 * The one action that runs a program. Re-seeding needs pg_rewind (or, when the histories
 * cannot be rewound, a fresh pg_basebackup) on the machine that holds the old server's
 * data directory: both are programs without a library, and only that machine reaches the
 * directory. So the action runs the operator's site postgres.rejoin_command (argv.0,
 * argv.1, ...: no shell) — deploy/pg-rejoin on the database host, over ssh in a real
 * deployment, or a provider's API call for a managed Postgres — through program.h: its own
 * process group, bounded by the step's deadline, its output's tail in the result. Its
 * environment holds only PATH, LANG=C and what it needs to know, never a password (a
 * file's path at most):
 *   FO_PRIMARY_HOST, FO_PRIMARY_PORT, FO_PRIMARY_DBNAME, FO_PRIMARY_USER,
 *   FO_PRIMARY_PASSWORD_FILE (when configured), FO_SITE (re-seeded), FO_PRIMARY_SITE,
 *   FO_EPOCH, FO_OPERATION, FO_TIMEOUT_S (the seconds it has).
 *
 * Check, then act:
 *   - the primary must be out of recovery, without an epoch newer than the request's
 *     (failoverd.epoch), else REFUSED (a newer operation) or FAILED (not promoted yet);
 *   - the server, when reachable: out of recovery and not fenced
 *     (default_transaction_read_only off) is REFUSED — it still takes writes, and
 *     re-seeding would drop them; its guardian fences it, then rejoin works. One that
 *     recorded a newer epoch than the request's is REFUSED. In recovery, streaming, and
 *     caught up with the primary's current WAL position: DONE without running anything;
 *   - unreachable: the command runs all the same — it works on the machine, which may
 *     well have the server stopped (a region that was lost and came back);
 *   - then the command; a non-zero exit, a signal or the deadline is FAILED with its
 *     output's tail;
 *   - then, until the deadline, connect and verify: in recovery, pg_stat_wal_receiver
 *     streaming, and WAL received up to the primary's pg_current_wal_lsn() read just
 *     before — the server replays the primary's own history, so it is a standby of it.
 * Without a command (the site has no rejoin_command) the action is REFUSED, unless the
 * server is already a caught-up standby (DONE). Check mode runs the checks, no command.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "actions/kinds.h"
#include "actions/pg_session.h"
#include "actions/program.h"
#include "actions/secret.h"

static const char *const rejoin_required[] = {"host", "dbname", "user", "primary_host", NULL};
static const char *const rejoin_optional[] = {"port",
                                              "password_file",
                                              "sslmode",
                                              "sslrootcert",
                                              "sslcert",
                                              "sslkey",
                                              "connect_timeout_s",
                                              "primary_port",
                                              "primary_dbname",
                                              "primary_user",
                                              "primary_password_file",
                                              "primary_sslmode",
                                              "primary_sslrootcert",
                                              "primary_sslcert",
                                              "primary_sslkey",
                                              "argv.",
                                              NULL};

#define MAX_ARGV 33 /* FO_CONFIG_MAX_ARGV words and the NULL */
#define MAX_ENV  16
#define TAIL_MAX 320 /* of the command's output, into the result's detail */

/* What the verification found. */
struct standby_view {
    bool reached; /* the last look connected and read it */
    bool in_recovery;
    char status[32];  /* pg_stat_wal_receiver.status, "" without a receiver */
    char sender[300]; /* its sender_host:sender_port */
    bool caught_up;   /* received at least up to the primary's position */
};

/* The primary's position, after checking it is the primary of this epoch. lsn gets
 * pg_current_wal_lsn(). 0, or -1 with res set. */
static int primary_position(const struct fo_action_req *req, char *lsn, size_t cap,
                            struct fo_action_result *res)
{
    struct fo_pg_session p = {.req = req, .res = res};
    struct fo_pg_target t;
    struct fo_pg_state st;
    PGresult *r;
    int rv = -1;

    if (fo_pg_target_read(req, "primary_", &t, res) != 0)
        return -1;
    if (fo_pg_open(req, &t, &p.conn, res) != FO_PG_OPEN_OK) {
        char why[FO_TEXT_MAX];
        snprintf(why, sizeof(why), "%s", res->detail);
        fo_action_set(res, res->status == FO_ACTION_REFUSED ? FO_ACTION_REFUSED : FO_ACTION_FAILED,
                      "the primary's Postgres %s: %.400s", t.host, why);
        return -1;
    }
    if (fo_pg_read_state(&p, &st) != 0)
        goto out;
    if (st.in_recovery) {
        fo_action_set(res, FO_ACTION_FAILED,
                      "the primary's Postgres %s is in recovery (not promoted yet?)", t.host);
        goto out;
    }
    if (st.has_epoch && st.epoch > req->epoch) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "the primary's Postgres %s carries epoch %" PRIu64
                      " (operation %s), newer than this rejoin's %" PRIu64,
                      t.host, st.epoch, st.op_id, req->epoch);
        goto out;
    }
    r = fo_pg_exec(&p, "reading the primary's WAL position", "SELECT pg_current_wal_lsn()::text", 0,
                   NULL);
    if (r != NULL) {
        snprintf(lsn, cap, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        rv = 0;
    }
out:
    PQfinish(p.conn);
    return rv;
}

/* The server as a standby: one query (s is open). 0, or -1 with res set. */
static int read_standby(struct fo_pg_session *s, const char *lsn, struct standby_view *v)
{
    const char *params[1] = {lsn};
    PGresult *r = fo_pg_exec(s, "reading its WAL receiver",
                             "SELECT pg_is_in_recovery(),"
                             " (SELECT status FROM pg_stat_wal_receiver),"
                             " (SELECT coalesce(sender_host, '?') || ':' ||"
                             "         coalesce(sender_port::text, '?') FROM pg_stat_wal_receiver),"
                             " coalesce(pg_last_wal_receive_lsn() >= $1::pg_lsn, false)",
                             1, params);

    if (r == NULL)
        return -1;
    v->reached = true;
    v->in_recovery = fo_pg_field_true(r, 0);
    snprintf(v->status, sizeof(v->status), "%s", PQgetisnull(r, 0, 1) ? "" : PQgetvalue(r, 0, 1));
    snprintf(v->sender, sizeof(v->sender), "%s", PQgetisnull(r, 0, 2) ? "?" : PQgetvalue(r, 0, 2));
    v->caught_up = fo_pg_field_true(r, 3);
    PQclear(r);
    return 0;
}

static bool is_standby_of(const struct standby_view *v)
{
    return v->in_recovery && strcmp(v->status, "streaming") == 0 && v->caught_up;
}

/* Until the deadline (or until budget_ms from now, if not 0): connect, and look until it
 * streams and has received up to lsn. 0 when it does; else -1 with res FAILED, or REFUSED
 * for a server that takes writes (check_writable) or bad credentials. */
static int verify(const struct fo_action_req *req, const char *lsn, uint64_t budget_ms,
                  bool check_writable, struct standby_view *v, struct fo_action_result *res)
{
    uint64_t until = budget_ms != 0 ? fo_action_now_ms() + budget_ms : UINT64_MAX;
    char last[FO_TEXT_MAX] = "not reached";

    memset(v, 0, sizeof(*v));
    for (;;) {
        struct fo_action_result sub = {0};
        struct fo_pg_session s = {.req = req, .res = &sub};
        struct fo_pg_target t;
        struct fo_pg_state st;
        enum fo_pg_open_result o;

        if (fo_pg_target_read(req, "", &t, res) != 0)
            return -1;
        o = fo_pg_open(req, &t, &s.conn, &sub);
        if (o == FO_PG_OPEN_REJECTED) {
            fo_action_set(res, FO_ACTION_REFUSED, "%s", sub.detail);
            return -1;
        }
        if (o == FO_PG_OPEN_OK && fo_pg_read_state(&s, &st) == 0) {
            if (check_writable && !st.in_recovery && !st.read_only) {
                PQfinish(s.conn);
                fo_action_set(res, FO_ACTION_REFUSED,
                              "%s is out of recovery and not fenced (default_transaction_read_only "
                              "is off): it still takes writes, and a rejoin would drop them; its "
                              "guardian fences it (or postgres.fence)",
                              t.host);
                return -1;
            }
            if (!st.in_recovery && st.has_epoch && st.epoch > req->epoch) {
                PQfinish(s.conn);
                fo_pg_refuse_newer(res, &st);
                return -1;
            }
            if (read_standby(&s, lsn, v) == 0) {
                PQfinish(s.conn);
                if (is_standby_of(v))
                    return 0;
                snprintf(last, sizeof(last), "%s, WAL receiver %s, %s the primary's %s",
                         v->in_recovery ? "in recovery" : "not in recovery",
                         v->status[0] != '\0' ? v->status : "absent",
                         v->caught_up ? "received" : "not yet at", lsn);
                if (!v->in_recovery && budget_ms != 0)
                    break; /* a quick look: a primary will not become a standby by itself */
            } else {
                PQfinish(s.conn);
                snprintf(last, sizeof(last), "%s", sub.detail);
            }
        } else {
            if (s.conn != NULL)
                PQfinish(s.conn);
            snprintf(last, sizeof(last), "%s", sub.detail);
            v->reached = false;
            if (budget_ms != 0)
                break; /* unreachable: the command decides (see the header) */
        }
        if (fo_action_cancelled(req) || fo_action_now_ms() + 500 >= until ||
            fo_action_remaining_ms(req) < 500 ||
            fo_pg_wait_socket(req, -1, 0, fo_action_now_ms() + 500) == 2)
            break;
    }
    fo_action_set(res, FO_ACTION_FAILED, "not a streaming standby of the primary: %.400s", last);
    return -1;
}

/* argv.0, argv.1, ... in order into argv (NULL-terminated). Returns the count. */
static size_t command_argv(const struct fo_action_req *req, char **argv)
{
    size_t n = 0;

    for (; n < MAX_ARGV - 1; n++) {
        char key[32];
        const char *v;
        snprintf(key, sizeof(key), "argv.%zu", n);
        if ((v = fo_action_param(req, key)) == NULL)
            break;
        argv[n] = (char *)v;
    }
    argv[n] = NULL;
    return n;
}

/* The command's environment (see the header): strings in store, pointers in envp. */
static void command_env(const struct fo_action_req *req, char store[MAX_ENV][600], char **envp)
{
    const struct {
        const char *name, *value;
    } vars[] = {
        {"PATH", getenv("PATH") != NULL ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin"},
        {"LANG", "C"},
        {"FO_PRIMARY_HOST", fo_action_param(req, "primary_host")},
        {"FO_PRIMARY_PORT", fo_action_param(req, "primary_port")},
        {"FO_PRIMARY_DBNAME", fo_action_param(req, "primary_dbname")},
        {"FO_PRIMARY_USER", fo_action_param(req, "primary_user")},
        {"FO_PRIMARY_PASSWORD_FILE", fo_action_param(req, "primary_password_file")},
        {"FO_SITE", req->to},
        {"FO_PRIMARY_SITE", req->from},
        {"FO_OPERATION", req->op_id},
    };
    size_t n = 0;

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        if (vars[i].value == NULL)
            continue;
        snprintf(store[n], sizeof(store[n]), "%s=%s", vars[i].name, vars[i].value);
        envp[n] = store[n];
        n++;
    }
    snprintf(store[n], sizeof(store[n]), "FO_EPOCH=%" PRIu64, req->epoch);
    envp[n] = store[n];
    n++;
    snprintf(store[n], sizeof(store[n]), "FO_TIMEOUT_S=%" PRIu64,
             fo_action_remaining_ms(req) / 1000);
    envp[n] = store[n];
    n++;
    envp[n] = NULL;
}

/* Run the command; 0 when it exited 0 (last gets its output's last line), else -1 with
 * res FAILED and its output's tail. */
static int run_command(const struct fo_action_req *req, char **argv, char *last, size_t cap,
                       struct fo_action_result *res)
{
    char store[MAX_ENV][600], *envp[MAX_ENV + 1], tail[TAIL_MAX];
    int code;
    enum fo_program_end end;

    command_env(req, store, envp);
    end = fo_program_run(req, argv, envp, &code, tail, sizeof(tail));
    switch (end) {
    case FO_PROGRAM_EXITED:
        if (code == 0) {
            size_t n = strlen(tail);
            char *nl;
            while (n > 0 && tail[n - 1] == '\n')
                tail[--n] = '\0';
            nl = strrchr(tail, '\n');
            snprintf(last, cap, "%s", nl != NULL ? nl + 1 : tail);
            return 0;
        }
        fo_action_set(res, FO_ACTION_FAILED, "rejoin_command %s exited %d: %s", argv[0], code,
                      tail);
        return -1;
    case FO_PROGRAM_SIGNALED:
        fo_action_set(res, FO_ACTION_FAILED, "rejoin_command %s killed by signal %d: %s", argv[0],
                      code, tail);
        return -1;
    case FO_PROGRAM_TIMED_OUT:
        fo_action_set(res, FO_ACTION_FAILED, "rejoin_command %s ran past the deadline (killed): %s",
                      argv[0], tail);
        return -1;
    case FO_PROGRAM_CANCELLED:
        fo_action_set(res, FO_ACTION_FAILED, "rejoin_command %s cancelled (killed)", argv[0]);
        return -1;
    default:
        fo_action_set(res, FO_ACTION_FAILED, "rejoin_command %s cannot be started: %s", argv[0],
                      strerror(code));
        return -1;
    }
}

static void rejoin_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct fo_pg_target t;
    struct standby_view v;
    char lsn[64], *argv[MAX_ARGV], said[TAIL_MAX];
    const char *seen;
    size_t argc;

    /* The parameters first (fo_pg_target_parse checks them all); the session later. */
    if (fo_pg_target_parse(req, &fo_action_postgres_rejoin, &t, res) != 0)
        return;
    fo_secret_wipe(t.password, sizeof(t.password)); /* verify() reads it again each time */
    if (strcmp(t.host, fo_action_param(req, "primary_host")) == 0 &&
        strcmp(fo_action_param(req, "port") != NULL ? fo_action_param(req, "port") : "",
               fo_action_param(req, "primary_port") != NULL ? fo_action_param(req, "primary_port")
                                                            : "") == 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "%s is the primary's Postgres itself: only another server rejoins", t.host);
        return;
    }
    argc = command_argv(req, argv);
    if (primary_position(req, lsn, sizeof(lsn), res) != 0)
        return;
    /* A quick look: refuse a server that takes writes; done if it is a standby already. */
    if (verify(req, lsn, 5000, true, &v, res) == 0) {
        fo_action_set(res, FO_ACTION_DONE,
                      "already a standby streaming from %s, received up to the primary's %s",
                      v.sender, lsn);
        return;
    }
    if (res->status == FO_ACTION_REFUSED)
        return;
    seen = !v.reached      ? "not reached"
           : v.in_recovery ? "in recovery, not streaming the primary"
                           : "out of recovery, fenced";
    if (argc == 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "site %s's postgres has no rejoin_command: nothing can re-seed it here "
                      "(failoverd.yaml(5)); it is %s",
                      req->to != NULL ? req->to : "?", seen);
        return;
    }
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "%s; would run %s", seen, argv[0]);
        return;
    }
    memset(res, 0, sizeof(*res));
    if (run_command(req, argv, said, sizeof(said), res) != 0)
        return;
    /* The primary moved on while the command ran: the standby must have that too. */
    if (primary_position(req, lsn, sizeof(lsn), res) != 0 ||
        verify(req, lsn, 0, false, &v, res) != 0)
        return;
    fo_action_set(res, FO_ACTION_DONE,
                  "rejoin_command said \"%.200s\"; in recovery, streaming from %s, received up "
                  "to the primary's %s",
                  said, v.sender, lsn);
}

const struct fo_action_kind fo_action_postgres_rejoin = {
    .name = "postgres.rejoin",
    .run = rejoin_run,
    .required = rejoin_required,
    .optional = rejoin_optional,
};
