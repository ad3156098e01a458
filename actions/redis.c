/*
 * actions/redis.c — redis.promote and redis.fence (DESIGN §6, §7, §13) on hiredis' sync
 * API (Debian 12 ships hiredis 0.14 and Redis 7.0). Blocking: thread-pool only
 * (action.h). hiredis writes with write(2): the process must ignore SIGPIPE (failoverd
 * does, DESIGN §10), or a server that hangs up mid-command kills it.
 *
 * redis.promote makes a replica the master and records the epoch in the key
 * failoverd:epoch as "EPOCH OPERATION_ID". Check, then act:
 *   - already a master: same epoch recorded -> DONE; higher -> REFUSED; lower or none ->
 *     record ours -> DONE;
 *   - a replica: an epoch >= ours replicated from its master -> REFUSED (that master was
 *     promoted for this operation or a newer one); else REPLICAOF NO ONE (keeps the data),
 *     verify ROLE says master, record.
 * The record is a small Lua script (EVAL runs atomically) that compares the decimal epochs
 * exactly, as strings, and writes only a higher one, so the key never goes down whatever
 * order two promotes run in. A promoted server is made writable: CLIENT UNPAUSE lifts a
 * fence (CLIENT PAUSE WRITE also blocks EVAL). With repoint_host/repoint_port, the old
 * master is then made a replica of the new one (REPLICAOF host port, with this step's
 * host and port as the address it connects to), best effort: its failure is in the
 * detail, not the status. That discards the old master's data after the sync: writes
 * that reached it after the promotion are lost by design (the epoch says who is primary).
 *
 * redis.fence on the old master, when it can be reached. mode=refuse (default) sets
 * CONFIG SET min-replicas-to-write to over a billion: no master has that many replicas, so every
 * write (EVAL and MULTI included) fails at once with NOREPLICAS, reads go on, and the fence
 * never ends by itself — a fence that runs out on a timer would make the old master a
 * second primary (DESIGN §5). It is runtime configuration: a restarted Redis forgets it,
 * which is why the node guarding the site re-asserts it (coordinator/run/lease.h).
 * The value is 1000000000 + the fencing operation's epoch: a promote or unfence of an
 * older epoch (a deposed leader's late action) finds it and leaves the fence on.
 * mode=pause sends CLIENT PAUSE <pause_ms> WRITE (writes wait; the pause ENDS by itself).
 * mode=replicaof makes it a replica of repoint_host:repoint_port at once (a replica
 * refuses client writes while replica-read-only is on, the default).
 * A server that cannot be reached is SKIPPED: it takes no writes either. A server that
 * recorded a newer epoch than the request's was promoted since: REFUSED, left alone.
 * redis.unfence lifts either fence (min-replicas-to-write back to min_replicas_to_write,
 * default 0; CLIENT UNPAUSE), refusing a server that recorded a newer epoch, and records
 * its epoch in failoverd:epoch when the key holds an older one.
 * redis.promote with hold_fence=1 (the executor adds it when a failoverd node runs in the
 * server's region) sets the refuse fence for its epoch BEFORE REPLICAOF NO ONE and leaves
 * it on: the new master takes no write until its guardian holds the write lease and
 * runs redis.unfence for the same epoch (coordinator/run/lease.h). A re-run for the same
 * epoch does nothing, held or lifted.
 *
 * Time: the connect and every command get the time left until req->deadline_ms as their
 * socket timeout (redisConnectWithTimeout, redisSetTimeout); the cancel flag is looked at
 * between commands.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "actions/kinds.h"
#include "actions/secret.h"

#define REDIS_DEFAULT_PORT  6379
#define REDIS_DEFAULT_PAUSE 3600000 /* ms: an hour, long enough to re-point the old master */
#define REDIS_EPOCH_KEY     "failoverd:epoch"
/* A refuse fence sets min-replicas-to-write to FENCE_BASE + the fence's epoch: no master
 * has that many replicas, and the value says which operation fenced it (a promote or
 * unfence of an older epoch must not lift it). No key can be written once writes are
 * refused, so the epoch lives in the setting itself. */
#define REDIS_FENCE_BASE      1000000000ULL
#define REDIS_FENCE_EPOCH_MAX (2147483647ULL - REDIS_FENCE_BASE)

static const char *const promote_required[] = {"host", NULL};
static const char *const promote_optional[] = {"port",
                                               "password_file",
                                               "repoint_host",
                                               "repoint_port",
                                               "catch_up_host",
                                               "catch_up_port",
                                               "catch_up_password_file",
                                               "hold_fence",
                                               NULL};
static const char *const fence_required[] = {"host", NULL};
static const char *const unfence_optional[] = {"port", "password_file", "min_replicas_to_write",
                                               NULL};
static const char *const fence_optional[] = {
    "port",         "password_file",         "pause_ms", "mode", "repoint_host",
    "repoint_port", "min_replicas_to_write", NULL};

/* KEYS[1] the epoch key, ARGV[1] our epoch (decimal, no leading zeros), ARGV[2] the
 * operation. Returns what the key holds afterwards. A value that does not start with an
 * epoch is left alone (the caller refuses to touch it). */
static const char cas_script[] =
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local e = string.match(cur, '^(%d+)')\n"
    "  if e == nil then return cur end\n"
    "  if #e > #ARGV[1] or (#e == #ARGV[1] and e >= ARGV[1]) then return cur end\n"
    "end\n"
    "local v = ARGV[1] .. ' ' .. ARGV[2]\n"
    "redis.call('SET', KEYS[1], v)\n"
    "return v\n";

struct redis_target {
    const char *host;
    uint64_t port;
    const char *repoint_host; /* NULL: none */
    uint64_t repoint_port;
    char password[512]; /* empty: no AUTH; wiped after use */
};

/* One connection and the request it serves (errors are written to res). */
struct redis_session {
    redisContext *c;
    const struct fo_action_req *req;
    struct fo_action_result *res;
    const char *host;
    uint64_t port;
};

/* What ROLE and failoverd:epoch said. */
struct redis_state {
    char role[16];         /* "master", "slave", "sentinel" */
    char master_host[256]; /* a replica's master */
    long long master_port;
    long long offset; /* master: its offset; replica: received offset */
    bool has_epoch;
    uint64_t epoch;
    char op_id[128];
    bool fenced;          /* a refuse fence is on */
    uint64_t fence_epoch; /* ...set by an operation of this epoch */
};

enum redis_open_result { REDIS_OPEN_OK, REDIS_OPEN_UNREACHABLE, REDIS_OPEN_REJECTED };

/* ---- parameters --------------------------------------------------------------------- */

static int target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
                        struct redis_target *t, struct fo_action_result *res)
{
    char msg[256];
    bool rh, rp;

    memset(t, 0, sizeof(*t));
    /* fo_action_run checks this too; a direct call to run() must not get past it. */
    if (fo_action_params_check(kind, req->params, req->nparams, msg, sizeof(msg)) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "%s", msg);
        return -1;
    }
    t->host = fo_action_param(req, "host");
    t->repoint_host = fo_action_param(req, "repoint_host");
    if (t->host[0] == '\0' || (t->repoint_host != NULL && t->repoint_host[0] == '\0')) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter %s is empty",
                      t->host[0] == '\0' ? "host" : "repoint_host");
        return -1;
    }
    if (fo_action_param_u64(req, "port", REDIS_DEFAULT_PORT, 1, 65535, &t->port, res) != 0 ||
        fo_action_param_u64(req, "repoint_port", REDIS_DEFAULT_PORT, 1, 65535, &t->repoint_port,
                            res) != 0)
        return -1;
    rh = t->repoint_host != NULL;
    rp = fo_action_param(req, "repoint_port") != NULL;
    if (rh != rp) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter %s is required with %s",
                      rh ? "repoint_port" : "repoint_host", rh ? "repoint_host" : "repoint_port");
        return -1;
    }
    if (rh && strcmp(t->repoint_host, t->host) == 0 && t->repoint_port == t->port) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameters repoint_host/repoint_port name the server itself");
        return -1;
    }
    if (fo_action_param(req, "password_file") != NULL &&
        fo_action_read_secret(req, "password_file", t->password, sizeof(t->password), res) != 0)
        return -1;
    return 0;
}

/* ---- connection and commands -------------------------------------------------------- */

static struct timeval time_left(const struct fo_action_req *req)
{
    uint64_t ms = fo_action_remaining_ms(req);
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};
    return tv;
}

/* An error reply about who we are (AUTH, ACL): retrying will not help. */
static bool auth_error(const char *msg)
{
    return strncmp(msg, "NOAUTH", 6) == 0 || strncmp(msg, "WRONGPASS", 9) == 0 ||
           strncmp(msg, "NOPERM", 6) == 0 || strstr(msg, "invalid password") != NULL;
}

/* Run one command (printf-style, hiredis' format: each %s is one argument) with the
 * time left as its timeout. Returns the reply (the caller frees it) or NULL with res
 * FAILED (I/O error, timeout, cancelled) or REFUSED (an auth error reply). Error replies
 * other than auth ones are returned as replies: the caller decides. */
static redisReply *rcmd(struct redis_session *s, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static redisReply *rcmd(struct redis_session *s, const char *step, const char *fmt, ...)
{
    redisReply *r;
    va_list ap;

    if (fo_action_cancelled(s->req)) {
        fo_action_set(s->res, FO_ACTION_FAILED, "cancelled before %s", step);
        return NULL;
    }
    if (fo_action_remaining_ms(s->req) == 0 || s->c->err != 0 ||
        redisSetTimeout(s->c, time_left(s->req)) != REDIS_OK) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s: deadline passed", step);
        return NULL;
    }
    va_start(ap, fmt);
    r = redisvCommand(s->c, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        /* A socket timeout shows as EAGAIN: say what it means. */
        bool timeout =
            s->c->err == REDIS_ERR_IO && (strstr(s->c->errstr, "temporarily unavailable") != NULL ||
                                          strstr(s->c->errstr, "timed out") != NULL);
        fo_action_set(s->res, FO_ACTION_FAILED, "%s:%" PRIu64 ": %s: %s", s->host, s->port, step,
                      timeout ? "no answer before the deadline" : s->c->errstr);
        return NULL;
    }
    if (r->type == REDIS_REPLY_ERROR && auth_error(r->str)) {
        fo_action_set(s->res, FO_ACTION_REFUSED, "%s:%" PRIu64 ": %s: %.200s", s->host, s->port,
                      step, r->str);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* A command that must answer +OK (or another status). Returns 0 or -1 with res set. */
static int rcmd_ok(struct redis_session *s, const char *step, redisReply *r)
{
    int rc = 0;
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STATUS) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s: %.300s", step,
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* Connect and authenticate. UNREACHABLE covers everything up to the first answer (refused,
 * no route, a server that accepts and never replies); res->detail says which. */
static enum redis_open_result redis_open(struct redis_session *s, struct redis_target *t)
{
    redisReply *r;

    s->host = t->host;
    s->port = t->port;
    s->c = redisConnectWithTimeout(t->host, (int)t->port, time_left(s->req));
    if (s->c == NULL || s->c->err != 0) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s:%" PRIu64 ": %s", t->host, t->port,
                      s->c != NULL ? s->c->errstr : "out of memory");
        fo_secret_wipe(t->password, sizeof(t->password));
        return REDIS_OPEN_UNREACHABLE;
    }
    /* The first exchange tells a live server from one that only accepts connections. */
    r = t->password[0] != '\0' ? rcmd(s, "AUTH", "AUTH %s", t->password) : rcmd(s, "PING", "PING");
    fo_secret_wipe(t->password, sizeof(t->password));
    if (r == NULL)
        return s->res->status == FO_ACTION_REFUSED ? REDIS_OPEN_REJECTED : REDIS_OPEN_UNREACHABLE;
    if (r->type == REDIS_REPLY_ERROR) {
        /* e.g. "ERR AUTH <password> called without any password configured" */
        fo_action_set(s->res, FO_ACTION_REFUSED, "%s:%" PRIu64 ": AUTH: %.200s", t->host, t->port,
                      r->str);
        freeReplyObject(r);
        return REDIS_OPEN_REJECTED;
    }
    freeReplyObject(r);
    return REDIS_OPEN_OK;
}

static void redis_close(struct redis_session *s)
{
    if (s->c != NULL)
        redisFree(s->c);
    s->c = NULL;
}

/* ---- state and the epoch ------------------------------------------------------------ */

/* Parse "EPOCH OPID" into st. Returns 0, or -1 (res REFUSED) for a value we did not
 * write: we never overwrite what we do not understand. */
static int parse_epoch(struct redis_session *s, const char *v, struct redis_state *st)
{
    char *end;
    unsigned long long e;

    errno = 0;
    e = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || errno != 0 || (*end != ' ' && *end != '\0')) {
        fo_action_set(s->res, FO_ACTION_REFUSED, "%s holds '%.64s', not an epoch", REDIS_EPOCH_KEY,
                      v);
        return -1;
    }
    st->has_epoch = true;
    st->epoch = e;
    snprintf(st->op_id, sizeof(st->op_id), "%s", *end == ' ' ? end + 1 : "");
    return 0;
}

/* ROLE, then GET failoverd:epoch. Returns 0 or -1 with res set. */
static int read_state(struct redis_session *s, struct redis_state *st)
{
    redisReply *r = rcmd(s, "ROLE", "ROLE");
    int rc = 0;

    memset(st, 0, sizeof(*st));
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_STRING) {
        fo_action_set(s->res, FO_ACTION_FAILED, "ROLE: %.200s",
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    snprintf(st->role, sizeof(st->role), "%s", r->element[0]->str);
    /* master: [master, offset, replicas]; replica: [slave, ip, port, state, offset] */
    if (strcmp(st->role, "master") == 0 && r->elements >= 2 &&
        r->element[1]->type == REDIS_REPLY_INTEGER)
        st->offset = r->element[1]->integer;
    if (strcmp(st->role, "slave") == 0 && r->elements >= 5 &&
        r->element[1]->type == REDIS_REPLY_STRING && r->element[2]->type == REDIS_REPLY_INTEGER &&
        r->element[4]->type == REDIS_REPLY_INTEGER) {
        snprintf(st->master_host, sizeof(st->master_host), "%s", r->element[1]->str);
        st->master_port = r->element[2]->integer;
        st->offset = r->element[4]->integer;
    }
    freeReplyObject(r);
    if (strcmp(st->role, "master") != 0 && strcmp(st->role, "slave") != 0) {
        fo_action_set(s->res, FO_ACTION_REFUSED, "%s:%" PRIu64 " is a %s, not a data server",
                      s->host, s->port, st->role);
        return -1;
    }
    r = rcmd(s, "GET " REDIS_EPOCH_KEY, "GET %s", REDIS_EPOCH_KEY);
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_STRING)
        rc = parse_epoch(s, r->str, st);
    else if (r->type != REDIS_REPLY_NIL) {
        fo_action_set(s->res, FO_ACTION_FAILED, "GET %s: %.200s", REDIS_EPOCH_KEY,
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        rc = -1;
    }
    freeReplyObject(r);
    if (rc != 0)
        return rc;
    r = rcmd(s, "CONFIG GET min-replicas-to-write", "CONFIG GET min-replicas-to-write");
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[1]->str != NULL) {
        unsigned long long v = strtoull(r->element[1]->str, NULL, 10);
        st->fenced = v >= REDIS_FENCE_BASE;
        st->fence_epoch = st->fenced ? v - REDIS_FENCE_BASE : 0;
    }
    freeReplyObject(r);
    return 0;
}

/* A fence set by a newer operation than the request's stays: REFUSED (0: may go on). */
static int fence_allows(struct redis_session *s, const struct redis_state *st)
{
    return fo_action_fence_allows(s->req, st->fenced, st->fence_epoch, s->res);
}

/* Lift a mode=refuse fence: min-replicas-to-write back to the step's
 * min_replicas_to_write (default 0, Redis' own default). */
static int lift_refuse(struct redis_session *s)
{
    const char *v = fo_action_param(s->req, "min_replicas_to_write");
    uint64_t n;

    if (fo_action_param_u64(s->req, "min_replicas_to_write", 0, 0, 1000, &n, s->res) != 0)
        return -1;
    return rcmd_ok(s, "CONFIG SET min-replicas-to-write",
                   rcmd(s, "CONFIG SET min-replicas-to-write",
                        "CONFIG SET min-replicas-to-write %s", v != NULL ? v : "0"));
}

/* A server that recorded a newer epoch than the request's was promoted by a newer
 * operation: fences and unfences of an older one must leave it alone. 0 when it may be
 * touched, -1 with res REFUSED. */
static int epoch_allows(struct redis_session *s, const struct redis_state *st)
{
    if (st->has_epoch && st->epoch > s->req->epoch) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "%s holds epoch %" PRIu64
                      " (operation %s), newer than this request's %" PRIu64 ": left alone",
                      REDIS_EPOCH_KEY, st->epoch, st->op_id, s->req->epoch);
        return -1;
    }
    return 0;
}

/* Lift a write pause, then write our epoch unless a higher one is there; st gets what
 * the key holds afterwards. Returns 0 or -1 with res set. */
static int record_epoch(struct redis_session *s, struct redis_state *st)
{
    char epoch[24];
    redisReply *r;

    if (rcmd_ok(s, "CLIENT UNPAUSE", rcmd(s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) != 0 ||
        lift_refuse(s) != 0)
        return -1;
    snprintf(epoch, sizeof(epoch), "%" PRIu64, s->req->epoch);
    r = rcmd(s, "recording the epoch (EVAL)", "EVAL %s 1 %s %s %s", cas_script, REDIS_EPOCH_KEY,
             epoch, s->req->op_id != NULL ? s->req->op_id : "");
    if (r == NULL)
        return -1;
    if (r->type != REDIS_REPLY_STRING) {
        fo_action_set(s->res, FO_ACTION_FAILED, "recording the epoch: %.300s",
                      r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    memset(st->op_id, 0, sizeof(st->op_id));
    st->has_epoch = false;
    if (parse_epoch(s, r->str, st) != 0) {
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    if (st->epoch > s->req->epoch) {
        fo_action_set(s->res, FO_ACTION_REFUSED,
                      "a newer operation (epoch %" PRIu64 ", operation %s) already promoted "
                      "this server",
                      st->epoch, st->op_id);
        return -1;
    }
    if (st->epoch != s->req->epoch) {
        fo_action_set(s->res, FO_ACTION_FAILED, "%s does not hold epoch %" PRIu64 " after EVAL",
                      REDIS_EPOCH_KEY, s->req->epoch);
        return -1;
    }
    return 0;
}

/* INFO replication's value for key, or "?" (the reply is CRLF-separated key:value). */
static void info_field(const char *info, const char *key, char *out, size_t cap)
{
    size_t n = strlen(key);
    const char *p = info;

    snprintf(out, cap, "?");
    while (p != NULL && *p != '\0') {
        if (strncmp(p, key, n) == 0 && p[n] == ':') {
            size_t len = strcspn(p + n + 1, "\r\n");
            snprintf(out, cap, "%.*s", (int)len, p + n + 1);
            return;
        }
        p = strchr(p, '\n');
        p = p != NULL ? p + 1 : NULL;
    }
}

/* REPLICAOF host port, then CLIENT UNPAUSE. The unpause matters: Redis 7.0 holds back the
 * writes its master's replication stream carries, too, while CLIENT PAUSE WRITE is on, so
 * a fenced old master would not follow its new master until the pause ran out. A replica
 * refuses client writes by itself (replica-read-only), so lifting the pause opens nothing.
 * Returns 0 or -1 with res set. */
static int make_replica(struct redis_session *s, const char *host, const char *port)
{
    if (rcmd_ok(s, "REPLICAOF", rcmd(s, "REPLICAOF", "REPLICAOF %s %s", host, port)) != 0)
        return -1;
    return rcmd_ok(s, "CLIENT UNPAUSE", rcmd(s, "CLIENT UNPAUSE", "CLIENT UNPAUSE"));
}

/* ---- redis.promote ------------------------------------------------------------------ */

/* Best effort: make the old master a replica of the one just promoted. Appends what
 * happened to res->detail; never changes res->status. */
static void repoint_old_master(const struct fo_action_req *req, struct redis_target *t,
                               const char *password, struct fo_action_result *res)
{
    struct fo_action_result sub = {0};
    struct redis_session o = {.req = req, .res = &sub};
    struct redis_target ot = {.host = t->repoint_host, .port = t->repoint_port};
    char port[8], note[FO_TEXT_MAX];
    size_t len = strlen(res->detail);

    snprintf(ot.password, sizeof(ot.password), "%s", password);
    snprintf(port, sizeof(port), "%" PRIu64, t->port);
    if (redis_open(&o, &ot) == REDIS_OPEN_OK && make_replica(&o, t->host, port) == 0)
        snprintf(note, sizeof(note), "; old master %s:%" PRIu64 " now replicates from it",
                 t->repoint_host, t->repoint_port);
    else
        snprintf(note, sizeof(note), "; old master not re-pointed: %.200s", sub.detail);
    fo_secret_wipe(ot.password, sizeof(ot.password));
    redis_close(&o);
    snprintf(res->detail + len, sizeof(res->detail) - len, "%s", note);
}

/* A switchover's drain (the executor adds catch_up_* = the old master): pause the old
 * master's client writes (the fence: CLIENT PAUSE WRITE, an hour, as redis.fence does),
 * read its replication offset, which is then past every write it acknowledged, and wait
 * within the deadline until the replica s has processed up to it. Returns 0 when drained,
 * else -1 with res FAILED. */
static int catch_up(struct redis_session *s, struct redis_state *st)
{
    const struct fo_action_req *req = s->req;
    struct fo_action_result sub = {0};
    struct redis_session old = {.req = req, .res = &sub};
    struct redis_target ot = {.host = fo_action_param(req, "catch_up_host")};
    struct redis_state ost;
    long long target;

    if (fo_action_param_u64(req, "catch_up_port", REDIS_DEFAULT_PORT, 1, 65535, &ot.port, s->res) !=
            0 ||
        (fo_action_param(req, "catch_up_password_file") != NULL &&
         fo_action_read_secret(req, "catch_up_password_file", ot.password, sizeof(ot.password),
                               s->res) != 0))
        return -1;
    if (redis_open(&old, &ot) != REDIS_OPEN_OK ||
        rcmd_ok(&old, "CLIENT PAUSE",
                rcmd(&old, "CLIENT PAUSE", "CLIENT PAUSE %d WRITE", REDIS_DEFAULT_PAUSE)) != 0 ||
        read_state(&old, &ost) != 0) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "switchover: cannot fence and drain the old master %s: %.300s", ot.host,
                      sub.detail);
        redis_close(&old);
        return -1;
    }
    redis_close(&old);
    if (strcmp(ost.role, "master") != 0) {
        fo_action_set(s->res, FO_ACTION_FAILED,
                      "switchover: the old master %s is already a %s (a redis.fence with "
                      "mode=replicaof?): its last writes cannot be drained; fence with mode=pause "
                      "for switchovers",
                      ot.host, ost.role);
        return -1;
    }
    target = ost.offset;
    for (;;) {
        struct timespec slice = {0, 100 * 1000 * 1000};
        if (read_state(s, st) != 0)
            return -1;
        if (strcmp(st->role, "slave") != 0 || st->offset >= target)
            return 0; /* caught up (or promoted meanwhile: the caller looks again) */
        if (fo_action_cancelled(req) || fo_action_remaining_ms(req) < 100) {
            fo_action_set(s->res, FO_ACTION_FAILED,
                          "switchover: the replica was at offset %lld, not yet at the old "
                          "master's %lld, by the deadline",
                          st->offset, target);
            return -1;
        }
        nanosleep(&slice, NULL);
    }
}

/* hold_fence: the refuse fence (min-replicas-to-write = FENCE_BASE + epoch), set before
 * REPLICAOF NO ONE, so that the new master never takes a write before its guardian holds
 * the write lease and runs redis.unfence for this epoch (coordinator/run/lease.h). The
 * setting is the epoch's record until then: no key can be written under it. */
static int set_hold(struct redis_session *s)
{
    char v[24];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(REDIS_FENCE_BASE + s->req->epoch));
    return rcmd_ok(
        s, "CONFIG SET min-replicas-to-write (holding the fence)",
        rcmd(s, "CONFIG SET min-replicas-to-write", "CONFIG SET min-replicas-to-write %s", v));
}

#define HELD_NOTE "; held (writes refused) until its guardian holds the lease"

static void promote_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct redis_session s = {.req = req, .res = res};
    struct redis_target t;
    struct redis_state st;
    char password[sizeof(t.password)];
    long long offset;
    uint64_t hold;

    if (target_parse(req, &fo_action_redis_promote, &t, res) != 0)
        return;
    if (fo_action_param_u64(req, "hold_fence", 0, 0, 1, &hold, res) != 0) {
        fo_secret_wipe(t.password, sizeof(t.password));
        return;
    }
    if (req->epoch == 0 || (hold && req->epoch > REDIS_FENCE_EPOCH_MAX)) {
        fo_action_set(res, FO_ACTION_REFUSED, "epoch 0 cannot be recorded");
        return;
    }
    memcpy(password, t.password, sizeof(password)); /* for the re-point, later */
    /* Unreachable: FAILED; bad credentials: REFUSED (as redis_open set). */
    if (redis_open(&s, &t) != REDIS_OPEN_OK || read_state(&s, &st) != 0)
        goto out;
    if (st.has_epoch && strcmp(st.role, "slave") == 0 && st.epoch >= req->epoch) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "replica carries epoch %" PRIu64 " (operation %s) from its master: a "
                      "server was already promoted for epoch %" PRIu64 " or a newer one",
                      st.epoch, st.op_id, req->epoch);
        goto out;
    }
    if (fence_allows(&s, &st) != 0)
        goto out;
    if (st.has_epoch && st.epoch > req->epoch) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "a newer operation (epoch %" PRIu64 ", operation %s) already promoted "
                      "this server",
                      st.epoch, st.op_id);
        goto out;
    }
    if (strcmp(st.role, "master") == 0 && hold) {
        /* Promoted before for this epoch: held still, or lifted by the guardian (which
         * records the epoch): either way a re-run must not fence it again. */
        bool held = st.fenced && st.fence_epoch == req->epoch;
        if (held || (st.has_epoch && st.epoch == req->epoch && !st.fenced)) {
            fo_action_set(res, FO_ACTION_DONE, "already promoted for epoch %" PRIu64 "%s",
                          req->epoch, held ? HELD_NOTE : "");
            goto out;
        }
        if (req->check_only) {
            fo_action_set(res, FO_ACTION_DONE, "master already; would hold it for epoch %" PRIu64,
                          req->epoch);
            goto out;
        }
        if (set_hold(&s) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE, "already a master; fence held for epoch %" PRIu64 "%s",
                      req->epoch, HELD_NOTE);
    } else if (strcmp(st.role, "master") == 0) {
        bool same = st.has_epoch && st.epoch == req->epoch;
        if (req->check_only) {
            fo_action_set(res, FO_ACTION_DONE, "master already; %s epoch %" PRIu64,
                          same ? "recorded" : "would record", req->epoch);
            goto out;
        }
        if (record_epoch(&s, &st) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE, "%s for epoch %" PRIu64 " (operation %s)",
                      same ? "already promoted" : "already a master; recorded", st.epoch, st.op_id);
    } else {
        redisReply *r;
        char link[16] = "?";

        r = rcmd(&s, "INFO replication", "INFO replication");
        if (r == NULL)
            goto out;
        if (r->type == REDIS_REPLY_STRING)
            info_field(r->str, "master_link_status", link, sizeof(link));
        freeReplyObject(r);
        if (req->check_only) {
            fo_action_set(res, FO_ACTION_DONE,
                          "replica of %s:%lld, link %s, received offset %lld; would promote",
                          st.master_host, st.master_port, link, st.offset);
            goto out;
        }
        if (fo_action_param(req, "catch_up_host") != NULL) {
            if (catch_up(&s, &st) != 0)
                goto out;
            if (strcmp(st.role, "slave") != 0) {
                fo_action_set(res, FO_ACTION_FAILED,
                              "became a %s while draining the old master: run again", st.role);
                goto out;
            }
        }
        offset = st.offset;
        if (hold && set_hold(&s) != 0)
            goto out;
        r = rcmd(&s, "REPLICAOF NO ONE", "REPLICAOF NO ONE");
        if (rcmd_ok(&s, "REPLICAOF NO ONE", r) != 0 || read_state(&s, &st) != 0)
            goto out;
        if (strcmp(st.role, "master") != 0) {
            fo_action_set(res, FO_ACTION_FAILED, "REPLICAOF NO ONE: ROLE still says %s", st.role);
            goto out;
        }
        if (!hold && record_epoch(&s, &st) != 0)
            goto out;
        fo_action_set(
            res, FO_ACTION_DONE,
            "%spromoted (REPLICAOF NO ONE; link was %s, offset %lld); epoch %" PRIu64 " %s",
            fo_action_param(req, "catch_up_host") != NULL ? "drained the paused old master, then "
                                                          : "",
            link, offset, hold ? req->epoch : st.epoch,
            hold ? "in its fence" HELD_NOTE : "recorded");
    }
    if (t.repoint_host != NULL)
        repoint_old_master(req, &t, password, res);
out:
    fo_secret_wipe(password, sizeof(password));
    redis_close(&s);
}

/* ---- redis.fence -------------------------------------------------------------------- */

static void fence_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct redis_session s = {.req = req, .res = res};
    struct redis_target t;
    struct redis_state st;
    uint64_t pause_ms;
    const char *mode = fo_action_param(req, "mode");
    bool replicaof, pause;
    char port[8];

    if (target_parse(req, &fo_action_redis_fence, &t, res) != 0 ||
        fo_action_param_u64(req, "pause_ms", REDIS_DEFAULT_PAUSE, 1, 7 * 24 * 3600 * 1000ULL,
                            &pause_ms, res) != 0)
        return;
    if (mode != NULL && strcmp(mode, "refuse") != 0 && strcmp(mode, "pause") != 0 &&
        strcmp(mode, "replicaof") != 0) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter mode: '%.32s' is not refuse, pause or replicaof", mode);
        return;
    }
    replicaof = mode != NULL && strcmp(mode, "replicaof") == 0;
    pause = mode != NULL && strcmp(mode, "pause") == 0;
    if (replicaof && t.repoint_host == NULL) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter repoint_host (and repoint_port) is required with mode=replicaof");
        return;
    }
    snprintf(port, sizeof(port), "%" PRIu64, t.repoint_port);
    switch (redis_open(&s, &t)) {
    case REDIS_OPEN_OK:
        break;
    case REDIS_OPEN_UNREACHABLE: /* the old master is gone: nothing to fence */
        if (!fo_action_cancelled(req)) {
            char why[sizeof(res->detail)];
            memcpy(why, res->detail, sizeof(why));
            fo_action_set(res, FO_ACTION_SKIPPED, "unreachable, not fenced: %.400s", why);
        }
        goto out;
    default:
        goto out;
    }
    if (read_state(&s, &st) != 0)
        goto out;
    if (strcmp(st.role, "slave") == 0 &&
        (!replicaof || (strcmp(st.master_host, t.repoint_host) == 0 &&
                        (uint64_t)st.master_port == t.repoint_port))) {
        /* Lift a pause a fence in pause mode may have left (see make_replica). */
        if (!req->check_only &&
            rcmd_ok(&s, "CLIENT UNPAUSE", rcmd(&s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE, "already a replica of %s:%lld: takes no client writes",
                      st.master_host, st.master_port);
        goto out;
    }
    /* A master: a newer epoch recorded on it means it is the current primary. (A
     * replica carries its master's key: it was handled above, already fenced.) */
    if (epoch_allows(&s, &st) != 0)
        goto out;
    if (req->check_only) {
        if (replicaof)
            fo_action_set(res, FO_ACTION_DONE, "reachable %s; would make it a replica of %s:%s",
                          st.role, t.repoint_host, port);
        else if (pause)
            fo_action_set(res, FO_ACTION_DONE,
                          "reachable master; would pause its writes for %" PRIu64 " ms", pause_ms);
        else
            fo_action_set(res, FO_ACTION_DONE, "reachable master; would refuse its writes");
        goto out;
    }
    if (replicaof) {
        if (make_replica(&s, t.repoint_host, port) != 0 || read_state(&s, &st) != 0)
            goto out;
        if (strcmp(st.role, "slave") != 0) {
            fo_action_set(res, FO_ACTION_FAILED, "REPLICAOF: ROLE still says %s", st.role);
            goto out;
        }
        fo_action_set(res, FO_ACTION_DONE, "now a replica of %s:%s: takes no client writes",
                      t.repoint_host, port);
    } else if (!pause) {
        uint64_t e = st.fenced && st.fence_epoch > req->epoch ? st.fence_epoch : req->epoch;
        char v[24];
        if (e > REDIS_FENCE_EPOCH_MAX)
            e = REDIS_FENCE_EPOCH_MAX;
        snprintf(v, sizeof(v), "%llu", (unsigned long long)(REDIS_FENCE_BASE + e));
        if (rcmd_ok(&s, "CONFIG SET min-replicas-to-write",
                    rcmd(&s, "CONFIG SET min-replicas-to-write",
                         "CONFIG SET min-replicas-to-write %s", v)) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE,
                      "writes refused (min-replicas-to-write %s: NOREPLICAS) for epoch %" PRIu64
                      " until a committed decision lifts it",
                      v, e);
    } else {
        char ms[24];
        snprintf(ms, sizeof(ms), "%" PRIu64, pause_ms);
        if (rcmd_ok(&s, "CLIENT PAUSE WRITE",
                    rcmd(&s, "CLIENT PAUSE WRITE", "CLIENT PAUSE %s WRITE", ms)) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE,
                      "writes paused for %" PRIu64 " ms (CLIENT PAUSE WRITE; it ends by itself: "
                      "re-point the old master before then)",
                      pause_ms);
    }
out:
    redis_close(&s);
}

/* ---- redis.unfence ----------------------------------------------------------------- */

/* Undo a pause-mode redis.fence on a master that is still the decided primary's. */
static void unfence_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct redis_session s = {.req = req, .res = res};
    struct redis_target t;
    struct redis_state st;

    if (target_parse(req, &fo_action_redis_unfence, &t, res) != 0)
        return;
    if (redis_open(&s, &t) != REDIS_OPEN_OK || read_state(&s, &st) != 0 ||
        epoch_allows(&s, &st) != 0 || fence_allows(&s, &st) != 0)
        goto out;
    if (strcmp(st.role, "master") != 0) {
        fo_action_set(res, FO_ACTION_SKIPPED, "a %s: nothing to lift", st.role);
    } else if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "reachable master; would lift its write fence");
    } else if (req->epoch > 0 && (!st.has_epoch || st.epoch < req->epoch)) {
        /* A master held by its promote (hold_fence) has its epoch only in the fence:
         * write it to the key as the fence goes (record_epoch lifts both fences). */
        if (record_epoch(&s, &st) == 0)
            fo_action_set(res, FO_ACTION_DONE, "write fence lifted; epoch %" PRIu64 " recorded",
                          req->epoch);
    } else if (rcmd_ok(&s, "CLIENT UNPAUSE", rcmd(&s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) == 0 &&
               lift_refuse(&s) == 0) {
        fo_action_set(res, FO_ACTION_DONE, "write fence lifted");
    }
out:
    redis_close(&s);
}

const struct fo_action_kind fo_action_redis_unfence = {
    .name = "redis.unfence",
    .run = unfence_run,
    .required = fence_required,
    .optional = unfence_optional,
};

const struct fo_action_kind fo_action_redis_promote = {
    .name = "redis.promote",
    .run = promote_run,
    .required = promote_required,
    .optional = promote_optional,
};

const struct fo_action_kind fo_action_redis_fence = {
    .name = "redis.fence",
    .run = fence_run,
    .required = fence_required,
    .optional = fence_optional,
};
