/*
 * actions/redis_internal.h — private to the redis.* kinds: what redis.c (promote, fence,
 * unfence) shares with redis_session.c (the target's parameters, one connection and its
 * commands, the server's state and its epoch record). Not for any other file: the kinds'
 * contract is action.h and redis.c's header comment.
 *
 * Blocking, like the kinds: thread-pool only. Every function that can fail writes why
 * into the session's result (res) and returns non-zero; the caller only stops.
 */
#ifndef FO_ACTIONS_REDIS_INTERNAL_H
#define FO_ACTIONS_REDIS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <hiredis/hiredis.h>

#include "actions/action.h"

#define REDIS_DEFAULT_PORT  6379
#define REDIS_DEFAULT_PAUSE 3600000 /* ms: an hour, long enough to re-point the old master */
#define REDIS_EPOCH_KEY     "failoverd:epoch"
/* A refuse fence sets min-replicas-to-write to FENCE_BASE + the fence's epoch: no master
 * has that many replicas, and the value says which operation fenced it (a promote or
 * unfence of an older epoch must not lift it). No key can be written once writes are
 * refused, so the epoch lives in the setting itself. */
#define REDIS_FENCE_BASE      1000000000ULL
#define REDIS_FENCE_EPOCH_MAX (2147483647ULL - REDIS_FENCE_BASE)

/* The server a step names (host, port, password_file) and where to re-point an old
 * master (repoint_host/repoint_port). */
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

/* ---- parameters ---- */

/* Check the step's parameters against kind and read the target from them (the password
 * from its file). Returns 0, or -1 with res REFUSED. */
int redis_target_parse(const struct fo_action_req *req, const struct fo_action_kind *kind,
                       struct redis_target *t, struct fo_action_result *res);

/* ---- connection and commands ---- */

/* Run one command (printf-style, hiredis' format: each %s is one argument) with the
 * time left as its timeout. Returns the reply (the caller frees it) or NULL with res
 * FAILED (I/O error, timeout, cancelled) or REFUSED (an auth error reply). Error replies
 * other than auth ones are returned as replies: the caller decides. */
redisReply *redis_cmd(struct redis_session *s, const char *step, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A command that must answer +OK (or another status). Returns 0 or -1 with res set. */
int redis_cmd_ok(struct redis_session *s, const char *step, redisReply *r);

/* Connect and authenticate. UNREACHABLE covers everything up to the first answer (refused,
 * no route, a server that accepts and never replies); res->detail says which. */
enum redis_open_result redis_open(struct redis_session *s, struct redis_target *t);

/* Close the connection, if any; s may be closed again. */
void redis_close(struct redis_session *s);

/* ---- state and the epoch ---- */

/* ROLE, then GET failoverd:epoch. Returns 0 or -1 with res set. */
int redis_read_state(struct redis_session *s, struct redis_state *st);

/* A fence set by a newer operation than the request's stays: REFUSED (0: may go on). */
int redis_fence_allows(struct redis_session *s, const struct redis_state *st);

/* Lift a mode=refuse fence: min-replicas-to-write back to the step's
 * min_replicas_to_write (default 0, Redis' own default). */
int redis_lift_refuse(struct redis_session *s);

/* A server that recorded a newer epoch than the request's was promoted by a newer
 * operation: fences and unfences of an older one must leave it alone. 0 when it may be
 * touched, -1 with res REFUSED. */
int redis_epoch_allows(struct redis_session *s, const struct redis_state *st);

/* Lift a write pause, then write our epoch unless a higher one is there; st gets what
 * the key holds afterwards. Returns 0 or -1 with res set. */
int redis_record_epoch(struct redis_session *s, struct redis_state *st);

/* INFO replication's value for key, or "?" (the reply is CRLF-separated key:value). */
void redis_info_field(const char *info, const char *key, char *out, size_t cap);

/* REPLICAOF host port, then CLIENT UNPAUSE. The unpause matters: Redis 7.0 holds back the
 * writes its master's replication stream carries, too, while CLIENT PAUSE WRITE is on, so
 * a fenced old master would not follow its new master until the pause ran out. A replica
 * refuses client writes by itself (replica-read-only), so lifting the pause opens nothing.
 * Returns 0 or -1 with res set. */
int redis_make_replica(struct redis_session *s, const char *host, const char *port);

#endif
