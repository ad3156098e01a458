/*
 * actions/redis_session.c — what the redis.* kinds share (redis_internal.h): the
 * target's parameters, one connection with its commands, and the server's state and
 * epoch record. The kinds themselves are in redis.c.
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

#include "actions/redis_internal.h"
#include "actions/secret.h"

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

/* ---- parameters --------------------------------------------------------------------- */

int redis_target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
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

redisReply *redis_cmd(struct redis_session *s, const char *step, const char *fmt, ...)
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

int redis_cmd_ok(struct redis_session *s, const char *step, redisReply *r)
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

enum redis_open_result redis_open(struct redis_session *s, struct redis_target *t)
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
    r = t->password[0] != '\0' ? redis_cmd(s, "AUTH", "AUTH %s", t->password)
                               : redis_cmd(s, "PING", "PING");
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

void redis_close(struct redis_session *s)
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

int redis_read_state(struct redis_session *s, struct redis_state *st)
{
    redisReply *r = redis_cmd(s, "ROLE", "ROLE");
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
    r = redis_cmd(s, "GET " REDIS_EPOCH_KEY, "GET %s", REDIS_EPOCH_KEY);
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
    r = redis_cmd(s, "CONFIG GET min-replicas-to-write", "CONFIG GET min-replicas-to-write");
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

int redis_fence_allows(struct redis_session *s, const struct redis_state *st)
{
    return fo_action_fence_allows(s->req, st->fenced, st->fence_epoch, s->res);
}

int redis_lift_refuse(struct redis_session *s)
{
    const char *v = fo_action_param(s->req, "min_replicas_to_write");
    uint64_t n;

    if (fo_action_param_u64(s->req, "min_replicas_to_write", 0, 0, 1000, &n, s->res) != 0)
        return -1;
    return redis_cmd_ok(s, "CONFIG SET min-replicas-to-write",
                        redis_cmd(s, "CONFIG SET min-replicas-to-write",
                                  "CONFIG SET min-replicas-to-write %s", v != NULL ? v : "0"));
}

int redis_epoch_allows(struct redis_session *s, const struct redis_state *st)
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

int redis_record_epoch(struct redis_session *s, struct redis_state *st)
{
    char epoch[24];
    redisReply *r;

    if (redis_cmd_ok(s, "CLIENT UNPAUSE", redis_cmd(s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) != 0 ||
        redis_lift_refuse(s) != 0)
        return -1;
    snprintf(epoch, sizeof(epoch), "%" PRIu64, s->req->epoch);
    r = redis_cmd(s, "recording the epoch (EVAL)", "EVAL %s 1 %s %s %s", cas_script,
                  REDIS_EPOCH_KEY, epoch, s->req->op_id != NULL ? s->req->op_id : "");
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

void redis_info_field(const char *info, const char *key, char *out, size_t cap)
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

int redis_make_replica(struct redis_session *s, const char *host, const char *port)
{
    if (redis_cmd_ok(s, "REPLICAOF", redis_cmd(s, "REPLICAOF", "REPLICAOF %s %s", host, port)) != 0)
        return -1;
    return redis_cmd_ok(s, "CLIENT UNPAUSE", redis_cmd(s, "CLIENT UNPAUSE", "CLIENT UNPAUSE"));
}
