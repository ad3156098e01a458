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
 *
 * This file holds the three kinds; the target's parameters, the connection and its
 * commands, and the server's state and epoch record they share are in redis_session.c
 * (redis_internal.h).
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
#include "actions/redis_internal.h"
#include "actions/secret.h"

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
    if (redis_open(&o, &ot) == REDIS_OPEN_OK && redis_make_replica(&o, t->host, port) == 0)
        snprintf(note, sizeof(note), "; old master %s:%" PRIu64 " now replicates from it",
                 t->repoint_host, t->repoint_port);
    else
        snprintf(note, sizeof(note), "; old master not re-pointed: %.200s", sub.detail);
    fo_secret_wipe(ot.password, sizeof(ot.password));
    redis_close(&o);
    snprintf(res->detail + len, sizeof(res->detail) - len, "%s", note);
}

/* The refuse fence of this epoch: min-replicas-to-write = FENCE_BASE + epoch. For
 * hold_fence it is set before REPLICAOF NO ONE, so that the new master never takes a write
 * before its guardian holds the write lease and runs redis.unfence for this epoch
 * (coordinator/run/lease.h); the setting is the epoch's record until then (no key can be
 * written under it). A switchover's drain sets it on the old master (catch_up). */
static int set_hold(struct redis_session *s)
{
    char v[24];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)(REDIS_FENCE_BASE + s->req->epoch));
    return redis_cmd_ok(
        s, "CONFIG SET min-replicas-to-write (holding the fence)",
        redis_cmd(s, "CONFIG SET min-replicas-to-write", "CONFIG SET min-replicas-to-write %s", v));
}

/* A switchover's drain (the executor adds catch_up_* = the old master): fence the old
 * master with the refuse fence of this epoch (min-replicas-to-write = FENCE_BASE + epoch,
 * unless a fence of this epoch or a newer one is on already, which must not be lowered),
 * read its replication offset, which is then past every write it acknowledged, and wait
 * within the deadline until the replica s has processed up to it. Not CLIENT PAUSE: a
 * pause ends by itself (it was an hour), and the writes it held would then land on the
 * old master. Returns 0 when drained, else -1 with res FAILED. */
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
    if (redis_open(&old, &ot) != REDIS_OPEN_OK || redis_read_state(&old, &ost) != 0 ||
        ((!ost.fenced || ost.fence_epoch < req->epoch) && set_hold(&old) != 0) ||
        redis_read_state(&old, &ost) != 0) {
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
        if (redis_read_state(s, st) != 0)
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

#define HELD_NOTE "; held (writes refused) until its guardian holds the lease"

static void promote_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct redis_session s = {.req = req, .res = res};
    struct redis_target t;
    struct redis_state st;
    char password[sizeof(t.password)];
    long long offset;
    uint64_t hold;

    if (redis_target_parse(req, &fo_action_redis_promote, &t, res) != 0)
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
    if (redis_open(&s, &t) != REDIS_OPEN_OK || redis_read_state(&s, &st) != 0)
        goto out;
    if (st.has_epoch && strcmp(st.role, "slave") == 0 && st.epoch >= req->epoch) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "replica carries epoch %" PRIu64 " (operation %s) from its master: a "
                      "server was already promoted for epoch %" PRIu64 " or a newer one",
                      st.epoch, st.op_id, req->epoch);
        goto out;
    }
    if (redis_fence_allows(&s, &st) != 0)
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
        if (redis_record_epoch(&s, &st) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE, "%s for epoch %" PRIu64 " (operation %s)",
                      same ? "already promoted" : "already a master; recorded", st.epoch, st.op_id);
    } else {
        redisReply *r;
        char link[16] = "?";

        r = redis_cmd(&s, "INFO replication", "INFO replication");
        if (r == NULL)
            goto out;
        if (r->type == REDIS_REPLY_STRING)
            redis_info_field(r->str, "master_link_status", link, sizeof(link));
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
        r = redis_cmd(&s, "REPLICAOF NO ONE", "REPLICAOF NO ONE");
        if (redis_cmd_ok(&s, "REPLICAOF NO ONE", r) != 0 || redis_read_state(&s, &st) != 0)
            goto out;
        if (strcmp(st.role, "master") != 0) {
            fo_action_set(res, FO_ACTION_FAILED, "REPLICAOF NO ONE: ROLE still says %s", st.role);
            goto out;
        }
        if (!hold && redis_record_epoch(&s, &st) != 0)
            goto out;
        fo_action_set(
            res, FO_ACTION_DONE,
            "%spromoted (REPLICAOF NO ONE; link was %s, offset %lld); epoch %" PRIu64 " %s",
            fo_action_param(req, "catch_up_host") != NULL ? "drained the fenced old master, then "
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

    if (redis_target_parse(req, &fo_action_redis_fence, &t, res) != 0 ||
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
    if (redis_read_state(&s, &st) != 0)
        goto out;
    if (strcmp(st.role, "slave") == 0 &&
        (!replicaof || (strcmp(st.master_host, t.repoint_host) == 0 &&
                        (uint64_t)st.master_port == t.repoint_port))) {
        /* Lift a pause a fence in pause mode may have left (see redis_make_replica). */
        if (!req->check_only &&
            redis_cmd_ok(&s, "CLIENT UNPAUSE", redis_cmd(&s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) !=
                0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE, "already a replica of %s:%lld: takes no client writes",
                      st.master_host, st.master_port);
        goto out;
    }
    /* A master: a newer epoch recorded on it means it is the current primary. (A
     * replica carries its master's key: it was handled above, already fenced.) */
    if (redis_epoch_allows(&s, &st) != 0)
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
        if (redis_make_replica(&s, t.repoint_host, port) != 0 || redis_read_state(&s, &st) != 0)
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
        if (redis_cmd_ok(&s, "CONFIG SET min-replicas-to-write",
                         redis_cmd(&s, "CONFIG SET min-replicas-to-write",
                                   "CONFIG SET min-replicas-to-write %s", v)) != 0)
            goto out;
        fo_action_set(res, FO_ACTION_DONE,
                      "writes refused (min-replicas-to-write %s: NOREPLICAS) for epoch %" PRIu64
                      " until a committed decision lifts it",
                      v, e);
    } else {
        char ms[24];
        snprintf(ms, sizeof(ms), "%" PRIu64, pause_ms);
        if (redis_cmd_ok(&s, "CLIENT PAUSE WRITE",
                         redis_cmd(&s, "CLIENT PAUSE WRITE", "CLIENT PAUSE %s WRITE", ms)) != 0)
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

    if (redis_target_parse(req, &fo_action_redis_unfence, &t, res) != 0)
        return;
    if (redis_open(&s, &t) != REDIS_OPEN_OK || redis_read_state(&s, &st) != 0 ||
        redis_epoch_allows(&s, &st) != 0 || redis_fence_allows(&s, &st) != 0)
        goto out;
    if (strcmp(st.role, "master") != 0) {
        fo_action_set(res, FO_ACTION_SKIPPED, "a %s: nothing to lift", st.role);
    } else if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "reachable master; would lift its write fence");
    } else if (req->epoch > 0 && (!st.has_epoch || st.epoch < req->epoch)) {
        /* A master held by its promote (hold_fence) has its epoch only in the fence:
         * write it to the key as the fence goes (redis_record_epoch lifts both fences). */
        if (redis_record_epoch(&s, &st) == 0)
            fo_action_set(res, FO_ACTION_DONE, "write fence lifted; epoch %" PRIu64 " recorded",
                          req->epoch);
    } else if (redis_cmd_ok(&s, "CLIENT UNPAUSE",
                            redis_cmd(&s, "CLIENT UNPAUSE", "CLIENT UNPAUSE")) == 0 &&
               redis_lift_refuse(&s) == 0) {
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
