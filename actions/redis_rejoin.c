/*
 * actions/redis_rejoin.c — redis.rejoin (failoverctl rejoin SITE; DESIGN §6) on hiredis'
 * sync API: make a former master (host, port, password_file) a replica of the primary's
 * Redis (primary_host, primary_port, primary_password_file) and wait, within the
 * deadline, until it has synced. Blocking: thread-pool only (action.h).
 *
 * Check, then act:
 *   - the primary must answer ROLE master, and must not carry an epoch newer than the
 *     request's (failoverd:epoch): else a newer operation moved the primary (REFUSED);
 *   - the server already a replica of primary_host:primary_port, link up and no sync in
 *     progress: DONE, nothing sent;
 *   - a master that takes writes — no refuse fence on it (redis.c: min-replicas-to-write
 *     over a billion), not paused — is REFUSED: a server that still takes writes is never
 *     re-seeded (its writes would be dropped silently); its guardian fences it
 *     (coordinator/run/lease.h), then rejoin works;
 *   - a fence or an epoch recorded by a newer operation than the request's: REFUSED
 *     (redis_fence_allows, redis_epoch_allows);
 *   - otherwise: CONFIG SET masterauth when the primary has a password, REPLICAOF the
 *     primary (redis_make_replica, which lifts a pause too), then INFO replication every
 *     100 ms until master_link_status:up and master_sync_in_progress:0. Its data is
 *     replaced by the primary's (a full sync): what it took after it lost the primary is
 *     dropped, by design — the epoch said who was primary.
 * An unreachable server is FAILED (retryable): a replica cannot be made of it, and
 * whether it takes writes cannot be seen. Check mode runs every check and changes
 * nothing: DONE "would make it a replica", or the refusal the real run would give — the
 * leader runs it before it commits a rejoin, so that failoverctl rejoin is refused at once
 * (exit 4) while the server still takes writes.
 *
 * The refuse fence stays on the new replica: min-replicas-to-write only acts on a master,
 * and a later promote of this server (switchover --to SITE) sets its own epoch's fence.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "actions/kinds.h"
#include "actions/redis_internal.h"
#include "actions/secret.h"

static const char *const rejoin_required[] = {"host", "primary_host", NULL};
static const char *const rejoin_optional[] = {"port", "password_file", "primary_port",
                                              "primary_password_file", NULL};

#define POLL_MS 100

/* The primary's Redis: a master, of this epoch or an older record. 0, or -1 with res set. */
static int check_primary(const struct fo_action_req *req, struct redis_target *p,
                         struct fo_action_result *res)
{
    struct fo_action_result sub = {0};
    struct redis_session s = {.req = req, .res = &sub};
    struct redis_state st;
    int rv = -1;

    if (redis_open(&s, p) != REDIS_OPEN_OK || redis_read_state(&s, &st) != 0) {
        fo_action_set(res, sub.status == FO_ACTION_REFUSED ? FO_ACTION_REFUSED : FO_ACTION_FAILED,
                      "the primary's Redis %s:%" PRIu64 ": %.300s", p->host, p->port, sub.detail);
    } else if (strcmp(st.role, "master") != 0) {
        fo_action_set(res, FO_ACTION_FAILED,
                      "the primary's Redis %s:%" PRIu64
                      " is a %s, not a master (not promoted yet?)",
                      p->host, p->port, st.role);
    } else if (st.has_epoch && st.epoch > req->epoch) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "the primary's Redis %s:%" PRIu64 " carries epoch %" PRIu64
                      " (operation %s), newer than this rejoin's %" PRIu64,
                      p->host, p->port, st.epoch, st.op_id, req->epoch);
    } else {
        rv = 0;
    }
    redis_close(&s);
    return rv;
}

/* INFO replication's link and sync fields. 0, or -1 with res set. */
static int read_link(struct redis_session *s, char *link, size_t lcap, char *sync, size_t scap)
{
    redisReply *r = redis_cmd(s, "INFO replication", "INFO replication");

    if (r == NULL)
        return -1;
    snprintf(link, lcap, "?");
    snprintf(sync, scap, "?");
    if (r->type == REDIS_REPLY_STRING) {
        redis_info_field(r->str, "master_link_status", link, lcap);
        redis_info_field(r->str, "master_sync_in_progress", sync, scap);
    }
    freeReplyObject(r);
    return 0;
}

/* Whether st is a replica of the primary p. */
static bool replica_of(const struct redis_state *st, const struct redis_target *p)
{
    return strcmp(st->role, "slave") == 0 && strcmp(st->master_host, p->host) == 0 &&
           st->master_port == (long long)p->port;
}

/* Wait within the deadline until s's link to its master is up and its sync has ended. */
static int wait_synced(struct redis_session *s, const struct redis_target *p)
{
    char link[16], sync[8];

    for (;;) {
        struct timespec slice = {0, POLL_MS * 1000 * 1000};
        if (read_link(s, link, sizeof(link), sync, sizeof(sync)) != 0)
            return -1;
        if (strcmp(link, "up") == 0 && strcmp(sync, "0") == 0)
            return 0;
        if (fo_action_cancelled(s->req) || fo_action_remaining_ms(s->req) < POLL_MS) {
            fo_action_set(s->res, FO_ACTION_FAILED,
                          "replica of %s:%" PRIu64 ", but by the deadline its link was %s and "
                          "sync in progress %s",
                          p->host, p->port, link, sync);
            return -1;
        }
        nanosleep(&slice, NULL);
    }
}

static void rejoin_run(const struct fo_action_req *req, struct fo_action_result *res)
{
    struct redis_session s = {.req = req, .res = res};
    struct redis_target t, p = {.host = fo_action_param(req, "primary_host")};
    struct redis_state st;
    char port[8], link[16], sync[8];

    if (redis_target_parse(req, &fo_action_redis_rejoin, &t, res) != 0)
        return;
    if (fo_action_param_u64(req, "primary_port", REDIS_DEFAULT_PORT, 1, 65535, &p.port, res) != 0 ||
        (fo_action_param(req, "primary_password_file") != NULL &&
         fo_action_read_secret(req, "primary_password_file", p.password, sizeof(p.password), res) !=
             0))
        goto out;
    if (strcmp(p.host, t.host) == 0 && p.port == t.port) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "%s:%" PRIu64 " is the primary's Redis itself: only another server rejoins",
                      t.host, t.port);
        goto out;
    }
    if (check_primary(req, &p, res) != 0)
        goto out;
    if (redis_open(&s, &t) != REDIS_OPEN_OK) {
        if (res->status != FO_ACTION_REFUSED) {
            char why[sizeof(res->detail)];
            memcpy(why, res->detail, sizeof(why));
            fo_action_set(res, FO_ACTION_FAILED,
                          "cannot reach it to see whether it takes writes: %.400s", why);
        }
        goto out;
    }
    if (redis_read_state(&s, &st) != 0)
        goto out;
    if (replica_of(&st, &p)) {
        if (read_link(&s, link, sizeof(link), sync, sizeof(sync)) != 0)
            goto out;
        if (strcmp(link, "up") == 0 && strcmp(sync, "0") == 0) {
            fo_action_set(res, FO_ACTION_DONE,
                          "already a replica of %s:%" PRIu64 ", link up, synced", p.host, p.port);
            goto out;
        }
        if (req->check_only) {
            fo_action_set(res, FO_ACTION_DONE,
                          "a replica of %s:%" PRIu64 " already (link %s); would wait for its sync",
                          p.host, p.port, link);
            goto out;
        }
        if (wait_synced(&s, &p) == 0)
            fo_action_set(res, FO_ACTION_DONE, "replica of %s:%" PRIu64 ", link up, synced", p.host,
                          p.port);
        goto out;
    }
    if (strcmp(st.role, "master") == 0 && !st.fenced) {
        /* A pause (mode=pause) is no fence that holds: it ends by itself. */
        fo_action_set(res, FO_ACTION_REFUSED,
                      "%s:%" PRIu64 " is a master without a write fence: it still takes writes, "
                      "and a rejoin would drop them; its guardian fences it (or redis.fence)",
                      t.host, t.port);
        goto out;
    }
    if (redis_fence_allows(&s, &st) != 0 ||
        (strcmp(st.role, "master") == 0 && redis_epoch_allows(&s, &st) != 0))
        goto out;
    if (req->check_only) {
        fo_action_set(res, FO_ACTION_DONE, "%s%s; would make it a replica of %s:%" PRIu64, st.role,
                      st.fenced ? " (writes fenced)" : "", p.host, p.port);
        goto out;
    }
    if (p.password[0] != '\0' &&
        redis_cmd_ok(
            &s, "CONFIG SET masterauth",
            redis_cmd(&s, "CONFIG SET masterauth", "CONFIG SET masterauth %s", p.password)) != 0)
        goto out;
    snprintf(port, sizeof(port), "%" PRIu64, p.port);
    if (redis_make_replica(&s, p.host, port) != 0 || redis_read_state(&s, &st) != 0)
        goto out;
    if (!replica_of(&st, &p)) {
        fo_action_set(res, FO_ACTION_FAILED, "REPLICAOF %s %s: ROLE says %s of %s:%lld", p.host,
                      port, st.role, st.master_host, st.master_port);
        goto out;
    }
    if (wait_synced(&s, &p) == 0)
        fo_action_set(res, FO_ACTION_DONE, "now a replica of %s:%s, link up, synced", p.host, port);
out:
    fo_secret_wipe(t.password, sizeof(t.password));
    fo_secret_wipe(p.password, sizeof(p.password));
    redis_close(&s);
}

const struct fo_action_kind fo_action_redis_rejoin = {
    .name = "redis.rejoin",
    .run = rejoin_run,
    .required = rejoin_required,
    .optional = rejoin_optional,
};
