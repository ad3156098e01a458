/*
 * tests/actions/test_db_actions.c — postgres.promote/fence and redis.promote/fence
 * (actions/postgres.c, actions/redis.c) against a real data plane: a PostgreSQL 15
 * primary ("main") with a streaming standby ("dr"), a Redis master with a replica, as
 * tests/integration/dataplane.py starts them. Run through test_db_actions.py, which
 * starts the data plane and passes where it is in the environment:
 *
 *   PG_HOST PG_PORT_MAIN PG_PORT_DR PG_DBNAME PG_USER PG_PASSWORD_FILE PG_SUPERUSER
 *   REDIS_HOST REDIS_PORT_MAIN REDIS_PORT_DR REDIS_PASSWORD_FILE
 *   DEAD_PORT (nothing listens)  HANG_PORT (accepts TCP, never answers)
 *
 * The actions connect as the non-superuser role of deploy/postgres-grants.sql with its
 * password file, so every success here also proves those grants are enough. The test
 * inspects the servers itself (libpq as the superuser, hiredis) to show what an action
 * changed — and, in check mode and when refusing, that it changed nothing.
 *
 * The cases run in order and build on each other (check mode and refusals first, then
 * the promotions, then the fences), as a failover would.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>

#include "actions/kinds.h"

#define TIMEOUT_MS 15000 /* an ordinary step's deadline */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (v == NULL || v[0] == '\0')
        fail_msg("environment variable %s is not set (run test_db_actions.py)", name);
    return v;
}

static const char *status_name(int st)
{
    static const char *const names[] = {"DONE", "SKIPPED", "FAILED", "REFUSED"};
    return st >= 0 && st <= FO_ACTION_REFUSED ? names[st] : "?";
}

/* ---- building requests -------------------------------------------------------------- */

/* Parameters by value (so that a case can copy and edit a set); run() makes the fo_kv
 * array that points into them. */
struct params {
    char keys[24][32];
    char vals[24][512];
    size_t n;
};

static void add(struct params *p, const char *key, const char *value)
{
    assert_true(p->n < 24);
    snprintf(p->keys[p->n], sizeof(p->keys[0]), "%s", key);
    snprintf(p->vals[p->n], sizeof(p->vals[0]), "%s", value);
    p->n++;
}

/* Replace key's value, or add it; value NULL removes it. */
static void set(struct params *p, const char *key, const char *value)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->keys[i], key) != 0)
            continue;
        if (value == NULL) {
            for (size_t j = i; j + 1 < p->n; j++) {
                memcpy(p->keys[j], p->keys[j + 1], sizeof(p->keys[0]));
                memcpy(p->vals[j], p->vals[j + 1], sizeof(p->vals[0]));
            }
            p->n--;
        } else {
            snprintf(p->vals[i], sizeof(p->vals[0]), "%s", value);
        }
        return;
    }
    if (value != NULL)
        add(p, key, value);
}

static struct params pg_params(const char *port_var)
{
    struct params p = {0};
    add(&p, "host", env("PG_HOST"));
    add(&p, "port", env(port_var));
    add(&p, "dbname", env("PG_DBNAME"));
    add(&p, "user", env("PG_USER"));
    add(&p, "password_file", env("PG_PASSWORD_FILE"));
    add(&p, "connect_timeout_s", "5");
    return p;
}

static struct params redis_params(const char *port_var)
{
    struct params p = {0};
    add(&p, "host", env("REDIS_HOST"));
    add(&p, "port", env(port_var));
    add(&p, "password_file", env("REDIS_PASSWORD_FILE"));
    return p;
}

struct call {
    uint64_t epoch;
    const char *op_id;
    bool check_only;
    uint64_t timeout_ms; /* 0: TIMEOUT_MS */
    const atomic_int *cancel;
};

/* Run kind directly (as the executor's thread would, minus fo_action_run's checks), print
 * what it said, return the status; *elapsed_ms (if given) is how long it took. */
static int run(const struct fo_action_kind *kind, struct params *p, struct call c,
               struct fo_action_result *res, uint64_t *elapsed_ms)
{
    struct fo_kv *kv = calloc(p->n + 1, sizeof(*kv));
    struct fo_action_req req = {
        .kind = kind->name,
        .op_id = c.op_id != NULL ? c.op_id : "op-test",
        .epoch = c.epoch != 0 ? c.epoch : 7,
        .op_kind = "manual",
        .from = "main",
        .to = "dr",
        .reason = "test",
        .check_only = c.check_only,
        .cancel = c.cancel,
        .nparams = p->n,
    };
    uint64_t t0 = fo_action_now_ms();

    assert_non_null(kv);
    for (size_t i = 0; i < p->n; i++) {
        kv[i].key = p->keys[i];
        kv[i].value = p->vals[i];
    }
    req.params = kv;
    req.deadline_ms = t0 + (c.timeout_ms != 0 ? c.timeout_ms : TIMEOUT_MS);
    memset(res, 0, sizeof(*res));
    res->status = -1;
    kind->run(&req, res);
    if (elapsed_ms != NULL)
        *elapsed_ms = fo_action_now_ms() - t0;
    print_message("    %s epoch %" PRIu64 "%s -> %s: %s (%" PRIu64 " ms)\n", kind->name, req.epoch,
                  c.check_only ? " (check)" : "", status_name(res->status), res->detail,
                  fo_action_now_ms() - t0);
    free(kv);
    return res->status;
}

/* The status is st and the detail mentions what. */
#define assert_result(res, st, what)                                                               \
    do {                                                                                           \
        if ((res)->status != (st) || strstr((res)->detail, (what)) == NULL)                        \
            fail_msg("got %s '%s', wanted %s mentioning '%s'", status_name((res)->status),         \
                     (res)->detail, status_name(st), (what));                                      \
    } while (0)

/* ---- looking at Postgres ourselves -------------------------------------------------- */

static char *read_file_line(const char *path)
{
    static char buf[256];
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(buf, sizeof(buf), f));
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return buf;
}

/* A connection to port, as the superuser (trusted) or as the failoverd role (password). */
static PGconn *pg_connect(const char *port_var, bool superuser)
{
    const char *keys[] = {"host", "port", "dbname", "user", "password", "connect_timeout", NULL};
    const char *vals[] = {env("PG_HOST"),
                          env(port_var),
                          env("PG_DBNAME"),
                          superuser ? env("PG_SUPERUSER") : env("PG_USER"),
                          superuser ? NULL : read_file_line(env("PG_PASSWORD_FILE")),
                          "5",
                          NULL};
    PGconn *c;

    if (superuser) { /* trusted: no password keyword */
        keys[4] = keys[5];
        vals[4] = vals[5];
        keys[5] = NULL;
    }
    c = PQconnectdbParams(keys, vals, 0);
    if (PQstatus(c) != CONNECTION_OK)
        fail_msg("connect to %s: %s", env(port_var), PQerrorMessage(c));
    return c;
}

/* Run sql on port; returns 0 and the first value of the first row in out (if any), or -1
 * and the error message in out. */
static int pg_try(const char *port_var, bool superuser, const char *sql, char *out, size_t cap)
{
    PGconn *c = pg_connect(port_var, superuser);
    PGresult *r = PQexec(c, sql);
    int rc = 0;

    out[0] = '\0';
    if (PQresultStatus(r) == PGRES_TUPLES_OK) {
        if (PQntuples(r) > 0)
            snprintf(out, cap, "%s", PQgetisnull(r, 0, 0) ? "(null)" : PQgetvalue(r, 0, 0));
    } else if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        snprintf(out, cap, "%s", PQresultErrorMessage(r));
        rc = -1;
    }
    PQclear(r);
    PQfinish(c);
    return rc;
}

/* The first value of sql on port (as the superuser); fails the test on an error. */
static const char *pg_value(const char *port_var, const char *sql)
{
    static char out[512];
    if (pg_try(port_var, true, sql, out, sizeof(out)) != 0)
        fail_msg("%s: %s", sql, out);
    return out;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Poll until sql (as the superuser) returns want, for at most 10 s; an error (a table
 * that has not replicated yet) counts as not yet. */
static void pg_wait_value(const char *port_var, const char *sql, const char *want)
{
    uint64_t end = fo_action_now_ms() + 10000;
    char got[512];
    while (pg_try(port_var, true, sql, got, sizeof(got)) != 0 || strcmp(got, want) != 0) {
        if (fo_action_now_ms() > end)
            fail_msg("%s on %s: '%s', waited for '%s'", sql, port_var, got, want);
        sleep_ms(50);
    }
}

/* ---- looking at Redis ourselves ----------------------------------------------------- */

static redisContext *redis_connect(const char *port_var, long timeout_ms)
{
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(env("REDIS_HOST"), atoi(env(port_var)), tv);
    redisReply *r;

    assert_non_null(c);
    if (c->err != 0)
        fail_msg("redis %s: %s", env(port_var), c->errstr);
    redisSetTimeout(c, tv);
    r = redisCommand(c, "AUTH %s", read_file_line(env("REDIS_PASSWORD_FILE")));
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

/* One command's reply as text (fmt as hiredis takes it: each %s is one argument): a
 * string/status/error's text, an integer, an array's first element; "(nil)"; or
 * "(io error)" when there was no reply. */
static const char *redis_text(const char *port_var, const char *fmt, ...)
{
    static char out[512];
    redisContext *c = redis_connect(port_var, 5000);
    redisReply *r;
    va_list ap;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL)
        snprintf(out, sizeof(out), "(io error)");
    else if (r->type == REDIS_REPLY_NIL)
        snprintf(out, sizeof(out), "(nil)");
    else if (r->type == REDIS_REPLY_INTEGER)
        snprintf(out, sizeof(out), "%lld", r->integer);
    else if (r->type == REDIS_REPLY_ARRAY)
        snprintf(out, sizeof(out), "%s",
                 r->elements > 0 && r->element[0]->str != NULL ? r->element[0]->str : "");
    else
        snprintf(out, sizeof(out), "%s", r->str);
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return out;
}

static void redis_wait_text(const char *port_var, const char *cmd, const char *want)
{
    uint64_t end = fo_action_now_ms() + 10000;
    const char *got;
    while (strcmp(got = redis_text(port_var, cmd), want) != 0) {
        if (fo_action_now_ms() > end)
            fail_msg("%s on %s: '%s', waited for '%s'", cmd, port_var, got, want);
        sleep_ms(50);
    }
}

/* ---- Postgres ----------------------------------------------------------------------- */

static void test_pg_bad_params(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");
    char wrong[] = "/tmp/fo-test-wrong-password-XXXXXX";
    int fd;

    (void)state;
    set(&p, "host", NULL);
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "'host'");

    p = pg_params("PG_PORT_DR");
    set(&p, "port", "54x");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "port");

    p = pg_params("PG_PORT_DR");
    set(&p, "force", "2");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "force");

    p = pg_params("PG_PORT_DR");
    set(&p, "max_lag_bytes", "-1");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "max_lag_bytes");

    p = pg_params("PG_PORT_DR");
    set(&p, "hots", "127.0.0.1");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "'hots'");

    p = pg_params("PG_PORT_MAIN");
    set(&p, "terminate_backends", "yes");
    run(&fo_action_postgres_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "terminate_backends");

    p = pg_params("PG_PORT_MAIN");
    set(&p, "max_lag_bytes", "0"); /* a promote parameter: unknown to the fence */
    run(&fo_action_postgres_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "'max_lag_bytes'");

    p = pg_params("PG_PORT_DR");
    set(&p, "password_file", "/nonexistent/failoverd.password");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "password_file");

    /* Bad credentials: REFUSED (a retry cannot help), and the password is not shown. */
    fd = mkstemp(wrong);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not-the-password\n", 17), 17);
    close(fd);
    p = pg_params("PG_PORT_DR");
    set(&p, "password_file", wrong);
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    unlink(wrong);
    assert_result(&res, FO_ACTION_REFUSED, "password authentication failed");
    assert_null(strstr(res.detail, "not-the-password"));

    p = pg_params("PG_PORT_DR");
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = (uint64_t)INT64_MAX + 1}, &res,
        NULL);
    assert_result(&res, FO_ACTION_REFUSED, "epoch");

    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");
}

static void test_pg_check_mode(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");

    (void)state;
    set(&p, "max_lag_bytes", "1048576");
    run(&fo_action_postgres_promote, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "standby");
    assert_non_null(strstr(res.detail, "would promote"));

    p = pg_params("PG_PORT_MAIN");
    run(&fo_action_postgres_fence, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "privileges present");

    /* A fence pointed at a standby: it takes no writes, nothing to do (a real run). */
    p = pg_params("PG_PORT_DR");
    run(&fo_action_postgres_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_SKIPPED, "a standby");
    assert_string_equal(pg_value("PG_PORT_DR", "SHOW default_transaction_read_only"), "off");

    /* Nothing changed: the standby is still one, the primary still writable, no epoch. */
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");
    assert_string_equal(pg_value("PG_PORT_MAIN", "SHOW default_transaction_read_only"), "off");
    assert_string_equal(pg_value("PG_PORT_MAIN", "SELECT to_regclass('failoverd.epoch')"),
                        "(null)");
}

static void test_pg_unreachable(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("DEAD_PORT");
    uint64_t ms;

    (void)state;
    /* Nothing listens: a promote FAILED (a retry may work), a fence SKIPPED (gone). */
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, &ms);
    assert_result(&res, FO_ACTION_FAILED, "refused");
    run(&fo_action_postgres_fence, &p, (struct call){0}, &res, &ms);
    assert_result(&res, FO_ACTION_SKIPPED, "unreachable");
    assert_true(ms < 2000);
}

static void test_pg_timeout(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("HANG_PORT");
    atomic_int cancel = 1;
    uint64_t ms;

    (void)state;
    /* A server that accepts TCP and never answers: bounded by the deadline, not by the
     * 5 s connect_timeout_s or the OS. */
    run(&fo_action_postgres_promote, &p, (struct call){.timeout_ms = 1000}, &res, &ms);
    assert_result(&res, FO_ACTION_FAILED, "no answer within");
    assert_true(ms >= 950 && ms < 2000);
    run(&fo_action_postgres_fence, &p, (struct call){.timeout_ms = 1000}, &res, &ms);
    assert_result(&res, FO_ACTION_SKIPPED, "no answer within");
    assert_true(ms >= 950 && ms < 2000);

    /* A deadline that is (all but) past, and a cancelled step, on the real standby. */
    p = pg_params("PG_PORT_DR");
    run(&fo_action_postgres_promote, &p, (struct call){.timeout_ms = 1}, &res, &ms);
    assert_int_equal(res.status, FO_ACTION_FAILED);
    assert_true(ms < 500);
    run(&fo_action_postgres_promote, &p, (struct call){.cancel = &cancel}, &res, &ms);
    assert_result(&res, FO_ACTION_FAILED, "cancelled");
    assert_true(ms < 500);
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");
}

static void test_pg_rpo_gate(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");
    static const char gap[] =
        "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) > 0";

    (void)state;
    /* Hold replay on the standby and write on the primary: WAL arrives, is not applied. */
    pg_value("PG_PORT_DR", "SELECT pg_wal_replay_pause()");
    pg_value("PG_PORT_MAIN", "INSERT INTO items (note) SELECT 'rpo ' || i "
                             "FROM generate_series(1, 200) i");
    pg_wait_value("PG_PORT_DR", gap, "t");

    set(&p, "max_lag_bytes", "0");
    run(&fo_action_postgres_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "RPO gate");
    run(&fo_action_postgres_promote, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "max_lag_bytes is 0");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");

    pg_value("PG_PORT_DR", "SELECT pg_wal_replay_resume()");
    pg_wait_value("PG_PORT_DR", gap, "f");
}

/* The epoch fences a promotion: on a primary (newer epoch there: REFUSED; same: DONE,
 * nothing redone), and on a standby that replicates a newer epoch from its primary. */
static void test_pg_epoch_fencing(void **state)
{
    struct fo_action_result res;
    struct params main_p = pg_params("PG_PORT_MAIN"), dr = pg_params("PG_PORT_DR");
    char out[512];

    (void)state;
    run(&fo_action_postgres_promote, &main_p, (struct call){.epoch = 100, .op_id = "op-100"}, &res,
        NULL);
    assert_result(&res, FO_ACTION_DONE, "already a primary; epoch 100 recorded");
    assert_string_equal(pg_value("PG_PORT_MAIN", "SELECT epoch || ' ' || operation_id "
                                                 "FROM failoverd.epoch"),
                        "100 op-100");
    run(&fo_action_postgres_promote, &main_p, (struct call){.epoch = 100, .op_id = "op-100"}, &res,
        NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 100");
    run(&fo_action_postgres_promote, &main_p, (struct call){.epoch = 50}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 100");

    /* The row streams to the standby: promoting it for an older epoch must not happen. */
    pg_wait_value("PG_PORT_DR", "SELECT count(*) FROM failoverd.epoch", "1");
    run(&fo_action_postgres_promote, &dr, (struct call){.epoch = 7}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "replicates epoch 100");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");

    /* Clean up as the role that owns the table (the grants allow nothing else). */
    assert_int_equal(pg_try("PG_PORT_MAIN", false, "DELETE FROM failoverd.epoch", out, sizeof(out)),
                     0);
    pg_wait_value("PG_PORT_DR", "SELECT count(*) FROM failoverd.epoch", "0");
}

/* A switchover's drain (catch_up_*): refused while the old primary is not fenced (it
 * would still take writes), FAILED at the deadline while the standby has not replayed
 * the old primary's WAL; the standby stays a standby either way. */
static void test_pg_switchover_drain(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR"), old = pg_params("PG_PORT_MAIN");

    (void)state;
    add(&p, "catch_up_host", env("PG_HOST"));
    add(&p, "catch_up_port", env("PG_PORT_MAIN"));
    add(&p, "catch_up_dbname", env("PG_DBNAME"));
    add(&p, "catch_up_user", env("PG_USER"));
    add(&p, "catch_up_password_file", env("PG_PASSWORD_FILE"));
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "is not fenced");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");

    /* Fenced, but the standby holds replay: the drain waits until the deadline. */
    pg_value("PG_PORT_DR", "SELECT pg_wal_replay_pause()");
    pg_value("PG_PORT_MAIN", "INSERT INTO items (note) VALUES ('drain me')");
    run(&fo_action_postgres_fence, &old, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "");
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 3, .timeout_ms = 1500}, &res, NULL);
    assert_result(&res, FO_ACTION_FAILED, "had not replayed up to the old primary");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");

    pg_value("PG_PORT_DR", "SELECT pg_wal_replay_resume()");
    run(&fo_action_postgres_unfence, &old, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "");
    pg_wait_value("PG_PORT_DR", "SELECT count(*) FROM items WHERE note = 'drain me'", "1");
}

static void test_pg_promote(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");
    char out[512];
    uint64_t end;

    (void)state;
    /* The operation id has quotes: the epoch is recorded in one simple-protocol string
     * (PQescapeLiteral), so this checks the escaping. */
    set(&p, "max_lag_bytes", "1048576");
    set(&p, "promote_wait_s", "10");
    /* hold_fence (the executor's, when a node runs in dr's region): promoted, but held
     * read-only until its guardian's unfence of the same epoch (run/lease.h). */
    set(&p, "hold_fence", "1");
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 7, .op_id = "op-'7'"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "promoted");
    assert_non_null(strstr(res.detail, "epoch 7 recorded"));
    assert_non_null(strstr(res.detail, "held read-only until its guardian holds the lease"));

    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "f");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT epoch || ' ' || operation_id || ' ' || "
                                               "(promoted_at <= now()) FROM failoverd.epoch"),
                        "7 op-'7' true");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT epoch FROM failoverd.fence"), "7");
    assert_string_equal(pg_value("PG_PORT_DR", "SHOW default_transaction_read_only"), "on");
    /* Held: the application role's writes are refused from the first one on. */
    assert_int_equal(
        pg_try("PG_PORT_DR", false, "INSERT INTO items (note) VALUES ('held')", out, sizeof(out)),
        -1);
    assert_non_null(strstr(out, "read-only transaction"));
    /* A re-run while held does nothing; so does an older epoch's unfence. */
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 7, .op_id = "op-'7'"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 7 (operation op-'7'); held");
    p = pg_params("PG_PORT_DR");
    run(&fo_action_postgres_unfence, &p, (struct call){.epoch = 6}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 7");
    /* The guardian's unfence of epoch 7 lets the application write. */
    run(&fo_action_postgres_unfence, &p, (struct call){.epoch = 7}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "fence lifted: takes writes again");
    end = fo_action_now_ms() + 5000;
    while (pg_try("PG_PORT_DR", false, "INSERT INTO items (note) VALUES ('written on dr')", out,
                  sizeof(out)) != 0) {
        if (fo_action_now_ms() > end)
            fail_msg("insert on the promoted, unfenced dr: %s", out);
        sleep_ms(50);
    }
}

static void test_pg_promote_again(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");

    (void)state;
    /* Re-run by a new leader after the guardian lifted the hold: DONE, nothing redone
     * (not fenced again), the row untouched. */
    set(&p, "hold_fence", "1");
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 7, .op_id = "op-'7'"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 7 (operation op-'7')");
    assert_null(strstr(res.detail, "held"));
    assert_string_equal(pg_value("PG_PORT_DR", "SHOW default_transaction_read_only"), "off");
    set(&p, "hold_fence", NULL);
    /* A stale leader with an older epoch: REFUSED. */
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 6, .op_id = "op-6"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 7");
    run(&fo_action_postgres_promote, &p,
        (struct call){.epoch = 6, .op_id = "op-6", .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 7");
    /* Check mode for a newer epoch: would record, records nothing. */
    run(&fo_action_postgres_promote, &p,
        (struct call){.epoch = 8, .op_id = "op-8", .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "would record epoch 8");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT epoch || ' ' || operation_id "
                                               "FROM failoverd.epoch"),
                        "7 op-'7'");
}

static void test_pg_fence(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_MAIN");
    PGconn *app = pg_connect("PG_PORT_MAIN", false); /* an application's session */
    PGresult *r;
    uint64_t end;
    char out[512];

    (void)state;
    r = PQexec(app, "SELECT 1");
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);

    run(&fo_action_postgres_fence, &p, (struct call){.epoch = 7}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "set read-only by default");
    {
        const char *n = strstr(res.detail, "; ");
        assert_non_null(n);
        assert_true(atoi(n + 2) >= 1); /* "; N client sessions terminated": at least ours */
    }

    /* The application's session was ended (pg_signal_backend). */
    r = PQexec(app, "SELECT 1");
    assert_int_not_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(app);

    /* New transactions are read-only, for the superuser too (the reload is asynchronous:
     * poll briefly). */
    end = fo_action_now_ms() + 5000;
    while (pg_try("PG_PORT_MAIN", true, "INSERT INTO items (note) VALUES ('after the fence')", out,
                  sizeof(out)) == 0) {
        if (fo_action_now_ms() > end)
            fail_msg("the fenced primary still takes writes");
        sleep_ms(50);
    }
    assert_non_null(strstr(out, "cannot execute INSERT in a read-only transaction"));
    assert_int_equal(
        pg_try("PG_PORT_MAIN", false, "INSERT INTO items (note) VALUES ('x')", out, sizeof(out)),
        -1);
    assert_non_null(strstr(out, "read-only transaction"));
    /* A soft fence, as documented: a session that asks for read-write still may. */
    assert_int_equal(pg_try("PG_PORT_MAIN", true,
                            "BEGIN READ WRITE; INSERT INTO items (note) VALUES ('soft'); COMMIT",
                            out, sizeof(out)),
                     0);
    assert_string_equal(pg_value("PG_PORT_MAIN", "SELECT pg_is_in_recovery()"), "f");

    /* Again: DONE, already fenced. */
    run(&fo_action_postgres_fence, &p, (struct call){.epoch = 7}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already read-only by default");
    run(&fo_action_postgres_fence, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already read-only");

    /* The fence recorded its epoch: a deposed leader's late promote or unfence of an
     * older epoch leaves it on (issue 13, 7). */
    assert_string_equal(pg_value("PG_PORT_MAIN", "SELECT epoch FROM failoverd.fence"), "7");
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 6, .op_id = "op-6"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "fenced by a newer operation (epoch 7)");
    run(&fo_action_postgres_unfence, &p, (struct call){.epoch = 6}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "fenced by a newer operation (epoch 7)");
    assert_string_equal(pg_value("PG_PORT_MAIN", "SHOW default_transaction_read_only"), "on");
}

/* A server that was fenced and is promoted again (failing back after a re-seed, or a
 * switchover) must take writes: the promote lifts the fence. */
static void test_pg_promote_lifts_fence(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_MAIN");
    uint64_t end = fo_action_now_ms() + 5000;
    char out[512];

    (void)state;
    run(&fo_action_postgres_promote, &p, (struct call){.epoch = 9, .op_id = "op-9"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "fence lifted; epoch 9 recorded");
    while (pg_try("PG_PORT_MAIN", false, "INSERT INTO items (note) VALUES ('unfenced')", out,
                  sizeof(out)) != 0) {
        if (fo_action_now_ms() > end)
            fail_msg("the re-promoted main refuses writes: %s", out);
        sleep_ms(50);
    }
    assert_string_equal(pg_value("PG_PORT_MAIN", "SELECT epoch FROM failoverd.epoch"), "9");
}

/* postgres.rejoin of dr while main is the primary (epoch 9, as the case before left it):
 * refused while dr takes writes, refused without a command, then re-seeded by
 * deploy/pg-rejoin (pg_rewind, else pg_basebackup) and verified streaming. */
static void test_pg_rejoin(void **state)
{
    struct fo_action_result res;
    struct params p = pg_params("PG_PORT_DR");
    char out[256];

    (void)state;
    set(&p, "primary_host", env("PG_HOST"));
    set(&p, "primary_port", env("PG_PORT_MAIN"));
    set(&p, "primary_dbname", env("PG_DBNAME"));
    set(&p, "primary_user", env("PG_USER"));
    set(&p, "primary_password_file", env("PG_PASSWORD_FILE"));
    /* dr was promoted (epoch 7) and its guardian's unfence let it take writes */
    assert_string_equal(pg_value("PG_PORT_DR", "SHOW default_transaction_read_only"), "off");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "still takes writes");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "still takes writes");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "f");
    /* the primary's epoch is newer than the request's: a newer operation moved it */
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 8}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "newer than this rejoin's 8");
    /* the primary itself */
    {
        struct params self = p;
        set(&self, "port", env("PG_PORT_MAIN"));
        run(&fo_action_postgres_rejoin, &self, (struct call){.epoch = 9}, &res, NULL);
        assert_result(&res, FO_ACTION_REFUSED, "the primary's Postgres itself");
    }

    /* Fenced (as its guardian would), but no command to re-seed it with. */
    pg_value("PG_PORT_DR", "ALTER SYSTEM SET default_transaction_read_only = on");
    pg_value("PG_PORT_DR", "SELECT pg_reload_conf()");
    pg_wait_value("PG_PORT_DR", "SHOW default_transaction_read_only", "on");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "has no rejoin_command");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "has no rejoin_command");

    /* A command that fails: its output's end is in the detail. */
    set(&p, "argv.0", "sh");
    set(&p, "argv.1", "-c");
    set(&p, "argv.2",
        "echo \"primary $FO_PRIMARY_HOST:$FO_PRIMARY_PORT epoch $FO_EPOCH\"; "
        "echo \"password ${PGPASSWORD:-none}\"; exit 4");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9}, &res, NULL);
    assert_result(&res, FO_ACTION_FAILED, "exited 4");
    snprintf(out, sizeof(out), "primary %s:%s epoch 9", env("PG_HOST"), env("PG_PORT_MAIN"));
    assert_non_null(strstr(res.detail, out));
    assert_non_null(strstr(res.detail, "password none"));
    set(&p, "argv.2", "exit 0"); /* exits 0 without re-seeding: the check says so */
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .timeout_ms = 3000}, &res, NULL);
    assert_result(&res, FO_ACTION_FAILED, "not a streaming standby of the primary");

    /* deploy/pg-rejoin: stop, pg_rewind from main, standby.signal, start. */
    set(&p, "argv.0", env("PG_REJOIN"));
    set(&p, "argv.1", "--pgdata");
    set(&p, "argv.2", env("PG_DATA_DR"));
    set(&p, "argv.3", "--log");
    set(&p, "argv.4", env("PG_LOG_DR"));
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "would run");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .timeout_ms = 120000}, &res,
        NULL);
    assert_result(&res, FO_ACTION_DONE, "pg-rejoin: re-seeded by pg_rewind");
    assert_non_null(strstr(res.detail, "in recovery, streaming from"));
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");
    /* it has main's rows: the one written after main's re-promotion */
    pg_wait_value("PG_PORT_DR", "SELECT count(*) > 0 FROM items WHERE note = 'unfenced'", "t");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT sender_port FROM pg_stat_wal_receiver"),
                        env("PG_PORT_MAIN"));
    /* again: a streaming standby already, nothing run */
    {
        struct params again = p;
        set(&again, "argv.0", "false");
        run(&fo_action_postgres_rejoin, &again, (struct call){.epoch = 9}, &res, NULL);
        assert_result(&res, FO_ACTION_DONE, "already a standby streaming from");
    }
    /* A server that is down (a region that came back without it) cannot be looked at: the
     * command runs all the same; --no-rewind: a fresh base backup. */
    {
        char cmd[1024];
        snprintf(cmd, sizeof(cmd),
                 "runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D %s -m immediate "
                 "-w stop >/dev/null",
                 env("PG_DATA_DR"));
        assert_int_equal(system(cmd), 0);
    }
    set(&p, "argv.5", "--no-rewind");
    run(&fo_action_postgres_rejoin, &p, (struct call){.epoch = 9, .timeout_ms = 120000}, &res,
        NULL);
    assert_result(&res, FO_ACTION_DONE, "pg-rejoin: re-seeded by pg_basebackup");
    assert_string_equal(pg_value("PG_PORT_DR", "SELECT pg_is_in_recovery()"), "t");
    pg_wait_value("PG_PORT_DR", "SELECT count(*) > 0 FROM items WHERE note = 'unfenced'", "t");
}

/* ---- Redis -------------------------------------------------------------------------- */

static void test_redis_bad_params(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_DR");
    char wrong[] = "/tmp/fo-test-wrong-redis-XXXXXX";
    int fd;

    (void)state;
    set(&p, "port", "0");
    run(&fo_action_redis_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "port");

    p = redis_params("REDIS_PORT_DR");
    set(&p, "repoint_host", "127.0.0.1");
    run(&fo_action_redis_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "repoint_port");

    p = redis_params("REDIS_PORT_MAIN");
    set(&p, "mode", "shutdown");
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "mode");

    p = redis_params("REDIS_PORT_MAIN");
    set(&p, "mode", "replicaof");
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "repoint_host");

    p = redis_params("REDIS_PORT_MAIN");
    set(&p, "pause_ms", "soon");
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "pause_ms");

    p = redis_params("REDIS_PORT_MAIN");
    set(&p, "pause_ms", "1000");
    run(&fo_action_redis_promote, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "'pause_ms'");

    fd = mkstemp(wrong);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "not-the-password\n", 17), 17);
    close(fd);
    p = redis_params("REDIS_PORT_DR");
    set(&p, "password_file", wrong);
    run(&fo_action_redis_promote, &p, (struct call){0}, &res, NULL);
    unlink(wrong);
    assert_result(&res, FO_ACTION_REFUSED, "WRONGPASS");
    assert_null(strstr(res.detail, "not-the-password"));

    assert_string_equal(redis_text("REDIS_PORT_DR", "ROLE"), "slave");
}

static void test_redis_check_mode(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_DR");

    (void)state;
    run(&fo_action_redis_promote, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "link up");
    assert_non_null(strstr(res.detail, "would promote"));
    p = redis_params("REDIS_PORT_MAIN");
    run(&fo_action_redis_fence, &p, (struct call){.check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "would refuse its writes");

    assert_string_equal(redis_text("REDIS_PORT_DR", "ROLE"), "slave");
    assert_string_equal(redis_text("REDIS_PORT_DR", "GET failoverd:epoch"), "(nil)");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "SET check:writable 1"), "OK");
}

static void test_redis_unreachable_and_timeout(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("DEAD_PORT");
    uint64_t ms;

    (void)state;
    run(&fo_action_redis_promote, &p, (struct call){0}, &res, &ms);
    assert_result(&res, FO_ACTION_FAILED, "refused");
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, &ms);
    assert_result(&res, FO_ACTION_SKIPPED, "unreachable");
    assert_true(ms < 2000);

    p = redis_params("HANG_PORT");
    run(&fo_action_redis_promote, &p, (struct call){.timeout_ms = 1000}, &res, &ms);
    assert_result(&res, FO_ACTION_FAILED, "no answer before the deadline");
    assert_true(ms >= 950 && ms < 2000);
    run(&fo_action_redis_fence, &p, (struct call){.timeout_ms = 1000}, &res, &ms);
    assert_result(&res, FO_ACTION_SKIPPED, "no answer before the deadline");
    assert_true(ms >= 950 && ms < 2000);
}

/* The default fence refuses writes at once (NOREPLICAS) and never ends by itself; only
 * redis.unfence (or a promote) lifts it, and neither touches a newer epoch's master. */
static void test_redis_fence_refuse(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_MAIN");

    (void)state;
    run(&fo_action_redis_fence, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "writes refused (min-replicas-to-write");
    assert_non_null(strstr(redis_text("REDIS_PORT_MAIN", "SET fenced:write 1"), "NOREPLICAS"));
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "GET check:writable"), "1");
    /* idempotent: a second fence is done too, and still refuses */
    run(&fo_action_redis_fence, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "writes refused");
    /* the fence carries its epoch: an older unfence or promote leaves it on */
    run(&fo_action_redis_unfence, &p, (struct call){.epoch = 2}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "fenced by a newer operation (epoch 3)");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 2, .op_id = "op-2"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "fenced by a newer operation (epoch 3)");
    assert_non_null(strstr(redis_text("REDIS_PORT_MAIN", "SET fenced:write 1"), "NOREPLICAS"));
    /* a master that recorded a newer epoch is the current primary: left alone */
    assert_non_null(
        strstr(redis_text("REDIS_PORT_MAIN", "SET failoverd:epoch %s", "9 op-9"), "NOREPLICAS"));
    run(&fo_action_redis_unfence, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "write fence lifted");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "SET failoverd:epoch %s", "9 op-9"), "OK");
    run(&fo_action_redis_fence, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "holds epoch 9");
    run(&fo_action_redis_unfence, &p, (struct call){.epoch = 3}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "holds epoch 9");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "SET check:writable 1"), "OK");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "DEL failoverd:epoch"), "1");
}

static void test_redis_fence_pause(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_MAIN");
    redisContext *c;
    redisReply *r;
    uint64_t t0;

    (void)state;
    set(&p, "mode", "pause");
    set(&p, "pause_ms", "20000");
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "writes paused for 20000 ms");

    /* A write does not complete (we give up after 300 ms); a read still does. */
    c = redis_connect("REDIS_PORT_MAIN", 300);
    t0 = fo_action_now_ms();
    r = redisCommand(c, "SET fenced:write 1");
    assert_null(r);
    assert_true(fo_action_now_ms() - t0 >= 250);
    redisFree(c);
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "GET check:writable"), "1");
}

static void test_redis_promote(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_DR");

    (void)state;
    /* Promote dr and re-point the (paused) old master to it. */
    set(&p, "repoint_host", env("REDIS_HOST"));
    set(&p, "repoint_port", env("REDIS_PORT_MAIN"));
    /* hold_fence: the new master refuses writes until its guardian's unfence of epoch 7 */
    set(&p, "hold_fence", "1");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "promoted (REPLICAOF NO ONE");
    assert_non_null(strstr(res.detail, "epoch 7 in its fence; held"));
    assert_non_null(strstr(res.detail, "now replicates from it"));

    assert_string_equal(redis_text("REDIS_PORT_DR", "ROLE"), "master");
    assert_non_null(strstr(redis_text("REDIS_PORT_DR", "SET after:promote 1"), "NOREPLICAS"));
    /* a re-run while held does nothing; an older epoch's unfence is refused */
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 7; held");
    p = redis_params("REDIS_PORT_DR");
    run(&fo_action_redis_unfence, &p, (struct call){.epoch = 6}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "fenced by a newer operation (epoch 7)");
    /* the guardian's unfence lifts it and writes the epoch the fence carried */
    run(&fo_action_redis_unfence, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "write fence lifted; epoch 7 recorded");
    assert_string_equal(redis_text("REDIS_PORT_DR", "GET failoverd:epoch"), "7 op-7");
    assert_string_equal(redis_text("REDIS_PORT_DR", "SET after:promote 1"), "OK");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "ROLE"), "slave");
    /* and a re-run after the lift does not fence it again */
    set(&p, "hold_fence", "1");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 7");
    assert_string_equal(redis_text("REDIS_PORT_DR", "SET after:rerun 1"), "OK");
}

static void test_redis_promote_again(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_DR");

    (void)state;
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already promoted for epoch 7 (operation op-7)");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 6, .op_id = "op-6"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 7, operation op-7)");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 10, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "would record epoch");
    assert_string_equal(redis_text("REDIS_PORT_DR", "GET failoverd:epoch"), "7 op-7");

    /* The old master now replicates the epoch: promoting it for this epoch is refused. */
    redis_wait_text("REDIS_PORT_MAIN", "GET failoverd:epoch", "7 op-7");
    p = redis_params("REDIS_PORT_MAIN");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "replica carries");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "ROLE"), "slave");

    /* A higher epoch recorded by hand (a newer operation) fences this one. */
    assert_string_equal(redis_text("REDIS_PORT_DR", "SET failoverd:epoch %s", "12 op-12"), "OK");
    p = redis_params("REDIS_PORT_DR");
    run(&fo_action_redis_promote, &p, (struct call){.epoch = 7, .op_id = "op-7"}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "a newer operation (epoch 12, operation op-12)");
    assert_string_equal(redis_text("REDIS_PORT_DR", "GET failoverd:epoch"), "12 op-12");
}

static void test_redis_fence_replicaof(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_MAIN");

    (void)state;
    set(&p, "mode", "replicaof");
    set(&p, "repoint_host", env("REDIS_HOST"));
    set(&p, "repoint_port", env("REDIS_PORT_DR"));
    run(&fo_action_redis_fence, &p, (struct call){0}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already a replica of");
}

/* redis.rejoin of main while dr is the primary (it recorded epoch 12 by then): refused
 * while main is a master that takes writes; made a replica of dr once fenced. */
static void test_redis_rejoin(void **state)
{
    struct fo_action_result res;
    struct params p = redis_params("REDIS_PORT_MAIN");
    char fence[32];

    (void)state;
    set(&p, "primary_host", env("REDIS_HOST"));
    set(&p, "primary_port", env("REDIS_PORT_DR"));
    set(&p, "primary_password_file", env("REDIS_PASSWORD_FILE"));
    /* main a master again, without a fence: it takes writes */
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "REPLICAOF NO ONE"), "OK");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "CONFIG SET min-replicas-to-write 0"), "OK");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "SET rejoin:split 1"), "OK");
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 12, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "still takes writes");
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 12}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "still takes writes");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "ROLE"), "master");

    /* the primary carries a newer epoch than the request's; the primary itself; gone */
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 11}, &res, NULL);
    assert_result(&res, FO_ACTION_REFUSED, "newer than this rejoin's 11");
    {
        struct params self = p, dead = p;
        set(&self, "port", env("REDIS_PORT_DR"));
        run(&fo_action_redis_rejoin, &self, (struct call){.epoch = 12}, &res, NULL);
        assert_result(&res, FO_ACTION_REFUSED, "the primary's Redis itself");
        set(&dead, "primary_port", env("DEAD_PORT"));
        run(&fo_action_redis_rejoin, &dead, (struct call){.epoch = 12}, &res, NULL);
        assert_result(&res, FO_ACTION_FAILED, "the primary's Redis");
    }

    /* fenced (the refuse fence of epoch 12, as its guardian sets it): rejoined */
    snprintf(fence, sizeof(fence), "%llu", 1000000000ULL + 12);
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "CONFIG SET min-replicas-to-write %s", fence),
                        "OK");
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 12, .check_only = true}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "would make it a replica of");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "ROLE"), "master");
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 12}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "link up, synced");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "ROLE"), "slave");
    /* its data is the primary's now: the split write is gone, the epoch replicated */
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "GET failoverd:epoch"), "12 op-12");
    assert_string_equal(redis_text("REDIS_PORT_MAIN", "EXISTS rejoin:split"), "0");
    run(&fo_action_redis_rejoin, &p, (struct call){.epoch = 12}, &res, NULL);
    assert_result(&res, FO_ACTION_DONE, "already a replica of");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_bad_params),
        cmocka_unit_test(test_pg_check_mode),
        cmocka_unit_test(test_pg_unreachable),
        cmocka_unit_test(test_pg_timeout),
        cmocka_unit_test(test_pg_rpo_gate),
        cmocka_unit_test(test_pg_epoch_fencing),
        cmocka_unit_test(test_pg_switchover_drain),
        cmocka_unit_test(test_pg_promote),
        cmocka_unit_test(test_pg_promote_again),
        cmocka_unit_test(test_pg_fence),
        cmocka_unit_test(test_pg_promote_lifts_fence),
        cmocka_unit_test(test_pg_rejoin),
        cmocka_unit_test(test_redis_bad_params),
        cmocka_unit_test(test_redis_check_mode),
        cmocka_unit_test(test_redis_unreachable_and_timeout),
        cmocka_unit_test(test_redis_fence_refuse),
        cmocka_unit_test(test_redis_fence_pause),
        cmocka_unit_test(test_redis_promote),
        cmocka_unit_test(test_redis_promote_again),
        cmocka_unit_test(test_redis_fence_replicaof),
        cmocka_unit_test(test_redis_rejoin),
    };

    /* hiredis writes with write(2): a server hanging up must not kill the test (failoverd
     * ignores SIGPIPE the same way). */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
