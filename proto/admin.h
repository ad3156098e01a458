/*
 * proto/admin.h — the admin protocol between failoverctl (or any tool) and a node,
 * and the reply every node protocol uses (DESIGN §8, §9).
 *
 *   client -> node   {"v":1, "t":"req", "id":7, "cmd":"status", "token":"...",
 *                     "args":{"to":"dr"}}
 *   node -> client   {"v":1, "t":"reply", "id":7, "code":"ok", "body":"{...json...}"}
 *                    {"v":1, "t":"reply", "id":7, "code":"not_leader",
 *                     "message":"...", "leader":"127.0.0.1:7401"}
 *
 * One reply per request, matched by id. "body" is JSON text (the same documents the
 * HTTP API serves), so that every interface renders one representation. Health-feed
 * acknowledgements (proto/health.h) are replies too.
 *
 * Ownership: decoded structs own their members; free them with the matching _free().
 */
#ifndef FO_PROTO_ADMIN_H
#define FO_PROTO_ADMIN_H

#include <stdarg.h>
#include <stdbool.h>

#include "proto/state.h"

#define FO_CMD_NAME_MAX 32
#define FO_TOKEN_MAX    256
#define FO_ARGS_MAX     32
#define FO_ARG_MAX      512
#define FO_BODY_MAX     (960u * 1024u) /* fits in a default 1 MiB frame */

/* Reply codes. failoverctl maps them to its exit codes (DESIGN §13). */
enum fo_reply_code {
    FO_REPLY_OK = 0,       /* "ok" */
    FO_REPLY_BAD_REQUEST,  /* "bad_request": malformed or unknown command/arguments */
    FO_REPLY_UNAUTHORIZED, /* "unauthorized": missing or wrong token */
    FO_REPLY_FORBIDDEN,    /* "forbidden": the token may not run this command */
    FO_REPLY_NOT_LEADER,   /* "not_leader": ask "leader" instead */
    FO_REPLY_NO_QUORUM,    /* "no_quorum": no leader known / cannot commit */
    FO_REPLY_REFUSED,      /* "refused": policy said no (RPO gate, paused, cooldown...) */
    FO_REPLY_FAILED,       /* "failed": the operation was attempted and failed */
    FO_REPLY_BUSY,         /* "busy": too many requests or connections, retry later */
    FO_REPLY_INTERNAL,     /* "internal": a bug or resource failure on the node */
    FO_REPLY_NCODES
};
extern const char *const fo_reply_code_names[];

struct fo_admin_req {
    uint64_t id;
    char *cmd;          /* e.g. "status" */
    char *token;        /* optional: bearer token; never logged or echoed */
    struct fo_kv *args; /* optional */
    size_t nargs;
};

struct fo_reply {
    uint64_t id;
    int code;      /* enum fo_reply_code */
    char *message; /* optional: for people */
    char *leader;  /* optional: with not_leader, the leader's admin address */
    char *body;    /* optional: JSON text */
};

/*
 * The admin verbs: the one list of the commands a node answers, shared by the server
 * (coordinator/serve/commands.c dispatches on it and checks the token's role), the CLI
 * (coordinator/ctl/verbs.c adds usage, help and a renderer per verb, indexed by the same
 * enum) and every other client. A verb's name, role, whether it changes the cluster and
 * its arguments are written here and nowhere else.
 */
enum fo_admin_verb_id {
    FO_VERB_STATUS = 0,
    FO_VERB_MEMBERS,
    FO_VERB_HISTORY,
    FO_VERB_REPORT,
    FO_VERB_PAUSE,
    FO_VERB_RESUME,
    FO_VERB_FAILOVER,
    FO_VERB_SWITCHOVER,
    FO_VERB_DRILL,
    FO_VERB_REJOIN,         /* re-seed a former primary site as a standby (run/operations.h) */
    FO_VERB_MEMBERS_ADD,    /* a server joins the Raft configuration (consensus/members.h) */
    FO_VERB_MEMBERS_REMOVE, /* one leaves it */
    FO_VERB_PROPOSE,
    FO_VERB_LEASE,          /* node to node: a guardian renews its write lease (run/lease.h) */
    FO_VERB_UPGRADE_FINISH, /* raise the cluster format (serve/upgrade_cmd.h) */
    FO_VERB_VERSION,        /* node to node: the formats this binary reads */
    FO_VERB_COUNT
};

/*
 * Who may run a verb (issue 14). Operators hold one of read < operate < admin, each
 * allowing what the lower ones do; FO_ROLE_NODE is the credential nodes use with each
 * other (forwarded verdicts and digests, lease renewals), which no operator's role
 * includes. What a credential allows is a set of roles (fo_admin_role_grants), so that one
 * credential may be both (the shared admin token of old configs, admin.token_file).
 */
enum fo_admin_role {
    FO_ROLE_READ = 0, /* "read": look only */
    FO_ROLE_OPERATE,  /* "operate": pause, resume, drill, switchover, failover, rejoin */
    FO_ROLE_ADMIN,    /* "admin": what operate may, and overrides (failover --force) */
    FO_ROLE_NODE,     /* "node": node to node only */
    FO_ROLE_COUNT
};
extern const char *const fo_admin_role_names[]; /* indexed by the enum, NULL-terminated */

/* The set of roles (bits 1u << role) a credential of role r is allowed to use. */
unsigned fo_admin_role_grants(enum fo_admin_role r);

/* The role named name ("read", "operate", "admin", "node"), or -1. */
int fo_admin_role_find(const char *name);

/* How a request argument's value reads. */
enum fo_admin_arg_kind {
    FO_ARG_TEXT = 0,  /* free text or a name */
    FO_ARG_FLAG,      /* "true" (or "1") when set; absent otherwise */
    FO_ARG_COUNT,     /* a positive decimal number */
    FO_ARG_REQUESTER, /* who asks ("user@host"): filled in by the client, not the user */
};

struct fo_admin_arg {
    const char *key; /* as on the wire: "to", "dry_run" */
    enum fo_admin_arg_kind kind;
    bool required; /* the verb cannot run without it */
    /* Setting it (a flag set, any other value present) needs this role on top of the
     * verb's: FO_ROLE_READ (0, the default) adds nothing. */
    enum fo_admin_role role;
};

#define FO_VERB_ARGS_MAX 12

struct fo_admin_verb {
    const char *name;        /* the request's "cmd" */
    enum fo_admin_role role; /* what a credential must allow to run it */
    /* It changes the cluster. A client must not resend an unanswered change to another
     * node: the first may have run, and some (a drill) are not idempotent. */
    bool changes_state;
    bool internal; /* node to node (propose, lease; role node): no operator client offers it */
    const struct fo_admin_arg args[FO_VERB_ARGS_MAX + 1]; /* ends with {NULL} */
};

/* Indexed by enum fo_admin_verb_id; the order is the one people see (failoverctl --help). */
extern const struct fo_admin_verb fo_admin_verbs[FO_VERB_COUNT];

/* The verb named name, or -1 (also for NULL). */
int fo_admin_verb_find(const char *name);

/* The role a request needs: the verb's, or an argument's it sets that needs more (e.g.
 * failover's force needs admin). Arguments of other verbs are ignored here. */
enum fo_admin_role fo_admin_req_role(const struct fo_admin_verb *verb,
                                     const struct fo_admin_req *req);

/* The argument key of verb, or NULL when the verb takes no such argument. */
const struct fo_admin_arg *fo_admin_verb_arg(const struct fo_admin_verb *verb, const char *key);

/* Encode as one frame (header included); out is owned by the caller. */
enum fo_proto_code fo_admin_req_encode(const struct fo_admin_req *req, struct fo_buf *out,
                                       struct fo_proto_error *err);
enum fo_proto_code fo_reply_encode(const struct fo_reply *rep, struct fo_buf *out,
                                   struct fo_proto_error *err);

/* Decode a payload into a zeroed struct; on error it is left empty. */
enum fo_proto_code fo_admin_req_decode(const uint8_t *payload, size_t len, struct fo_admin_req *req,
                                       struct fo_proto_error *err);
enum fo_proto_code fo_reply_decode(const uint8_t *payload, size_t len, struct fo_reply *rep,
                                   struct fo_proto_error *err);

/* The value of args[key], or NULL. */
const char *fo_admin_req_arg(const struct fo_admin_req *req, const char *key);

void fo_admin_req_free(struct fo_admin_req *req);
void fo_reply_free(struct fo_reply *rep);

/* Call send(data, rep) with a reply of code whose message is fmt formatted with ap (cut
 * at FO_TEXT_MAX - 1 bytes); rep and its message live for that call only. What every
 * printf-style reply shorthand (the admin server's, the operations') does. */
void fo_reply_vsend(void (*send)(void *data, const struct fo_reply *rep), void *data, int code,
                    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#endif
