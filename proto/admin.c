/*
 * proto/admin.c — schemas of the admin protocol; see admin.h.
 */
#include "proto/admin.h"

#include <stdio.h>
#include <string.h>

const char *const fo_reply_code_names[] = {
    "ok",      "bad_request", "unauthorized", "forbidden", "not_leader", "no_quorum",
    "refused", "failed",      "busy",         "internal",  NULL};

const char *const fo_admin_role_names[] = {"read", "operate", "admin", "node", NULL};

unsigned fo_admin_role_grants(enum fo_admin_role r)
{
    switch (r) {
    case FO_ROLE_READ:
        return 1u << FO_ROLE_READ;
    case FO_ROLE_OPERATE:
        return (1u << FO_ROLE_READ) | (1u << FO_ROLE_OPERATE);
    case FO_ROLE_ADMIN:
        return (1u << FO_ROLE_READ) | (1u << FO_ROLE_OPERATE) | (1u << FO_ROLE_ADMIN);
    case FO_ROLE_NODE:
        return 1u << FO_ROLE_NODE; /* not an operator: it reads nothing and runs no verb */
    default:
        return 0;
    }
}

int fo_admin_role_find(const char *name)
{
    for (int i = 0; name != NULL && fo_admin_role_names[i] != NULL; i++)
        if (strcmp(fo_admin_role_names[i], name) == 0)
            return i;
    return -1;
}

/* An argument is {key, kind, required, role}; the list ends at the first empty entry.
 * CHANGE: an operator's (operate role), and not resent when unanswered (admin.h). */
#define CHANGE .role = FO_ROLE_OPERATE, .changes_state = true

const struct fo_admin_verb fo_admin_verbs[FO_VERB_COUNT] = {
    [FO_VERB_STATUS] = {.name = "status"},
    [FO_VERB_MEMBERS] = {.name = "members"},
    [FO_VERB_HISTORY] = {.name = "history", .args = {{"limit", FO_ARG_COUNT}}},
    [FO_VERB_REPORT] = {.name = "report", .args = {{"id", FO_ARG_TEXT}}},
    [FO_VERB_PAUSE] = {.name = "pause",
                       CHANGE,
                       .args = {{"reason", FO_ARG_TEXT}, {"by", FO_ARG_REQUESTER}}},
    [FO_VERB_RESUME] = {.name = "resume", CHANGE, .args = {{"by", FO_ARG_REQUESTER}}},
    [FO_VERB_FAILOVER] = {.name = "failover",
                          CHANGE,
                          .args = {{"to", FO_ARG_TEXT, true},
                                   {"force", FO_ARG_FLAG, false, FO_ROLE_ADMIN},
                                   {"dry_run", FO_ARG_FLAG},
                                   {"reason", FO_ARG_TEXT},
                                   {"by", FO_ARG_REQUESTER}}},
    [FO_VERB_SWITCHOVER] = {.name = "switchover",
                            CHANGE,
                            .args = {{"to", FO_ARG_TEXT, true},
                                     {"dry_run", FO_ARG_FLAG},
                                     {"reason", FO_ARG_TEXT},
                                     {"by", FO_ARG_REQUESTER}}},
    [FO_VERB_DRILL] = {.name = "drill",
                       CHANGE,
                       .args = {{"to", FO_ARG_TEXT}, {"by", FO_ARG_REQUESTER}}},
    [FO_VERB_REJOIN] = {.name = "rejoin",
                        CHANGE,
                        .args = {{"site", FO_ARG_TEXT, true},
                                 {"reason", FO_ARG_TEXT},
                                 {"by", FO_ARG_REQUESTER}}},
    /* Membership (consensus/members.h): the admin role, since a wrong change can cost the
     * cluster its quorum. "raft", when given, must be the address the config lists. */
    [FO_VERB_MEMBERS_ADD] = {.name = "members-add",
                             .role = FO_ROLE_ADMIN,
                             .changes_state = true,
                             .args = {{"node", FO_ARG_TEXT, true},
                                      {"raft", FO_ARG_TEXT},
                                      {"by", FO_ARG_REQUESTER}}},
    [FO_VERB_MEMBERS_REMOVE] = {.name = "members-remove",
                                .role = FO_ROLE_ADMIN,
                                .changes_state = true,
                                .args = {{"node", FO_ARG_TEXT, true}, {"by", FO_ARG_REQUESTER}}},
    /* A follower forwards a digest (t=digest: node, digest) or a verdict (t=verdict:
     * observer, region, status, reason) to the leader, with at_ms. */
    [FO_VERB_PROPOSE] = {.name = "propose",
                         .role = FO_ROLE_NODE,
                         .changes_state = true,
                         .internal = true,
                         .args = {{"t", FO_ARG_TEXT, true},
                                  {"at_ms", FO_ARG_COUNT, true},
                                  {"node", FO_ARG_TEXT},
                                  {"digest", FO_ARG_TEXT},
                                  {"observer", FO_ARG_TEXT},
                                  {"region", FO_ARG_TEXT},
                                  {"status", FO_ARG_TEXT},
                                  {"reason", FO_ARG_TEXT},
                                  {"site", FO_ARG_TEXT},
                                  {"epoch", FO_ARG_TEXT},
                                  {"guardian", FO_ARG_TEXT},
                                  {"what", FO_ARG_TEXT}}},
    /* Not a change: a grant is answered at once and a lost one is simply not counted. */
    [FO_VERB_LEASE] = {.name = "lease",
                       .role = FO_ROLE_NODE,
                       .internal = true,
                       .args = {{"site", FO_ARG_TEXT, true},
                                {"epoch", FO_ARG_TEXT, true},
                                {"guardian", FO_ARG_TEXT, true},
                                {"round", FO_ARG_COUNT}}},
    /* The rolling upgrade's point of no return (proto/codec.h "Versions"): admin. */
    [FO_VERB_UPGRADE_FINISH] = {.name = "upgrade-finish",
                                .role = FO_ROLE_ADMIN,
                                .changes_state = true,
                                .args = {{"by", FO_ARG_REQUESTER}}},
    /* Asked by a leader's upgrade-finish of every server; changes nothing. */
    [FO_VERB_VERSION] = {.name = "version", .role = FO_ROLE_NODE, .internal = true},
};

int fo_admin_verb_find(const char *name)
{
    for (int i = 0; name != NULL && i < FO_VERB_COUNT; i++)
        if (strcmp(fo_admin_verbs[i].name, name) == 0)
            return i;
    return -1;
}

enum fo_admin_role fo_admin_req_role(const struct fo_admin_verb *verb,
                                     const struct fo_admin_req *req)
{
    enum fo_admin_role need = verb->role;

    for (size_t i = 0; i < req->nargs; i++) {
        const struct fo_admin_arg *a = fo_admin_verb_arg(verb, req->args[i].key);
        const char *v = req->args[i].value;
        bool set = a != NULL && (a->kind != FO_ARG_FLAG ||
                                 (v != NULL && (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)));
        if (set && a->role > need)
            need = a->role;
    }
    return need;
}

const struct fo_admin_arg *fo_admin_verb_arg(const struct fo_admin_verb *verb, const char *key)
{
    for (const struct fo_admin_arg *a = verb->args; key != NULL && a->key != NULL; a++)
        if (strcmp(a->key, key) == 0)
            return a;
    return NULL;
}

static const struct fo_field req_fields[] = {
    FO_U64(struct fo_admin_req, id, 0),
    FO_STR(struct fo_admin_req, cmd, FO_F_NONEMPTY, FO_CMD_NAME_MAX),
    FO_STR(struct fo_admin_req, token, FO_F_OPTIONAL, FO_TOKEN_MAX),
    FO_KV(struct fo_admin_req, args, nargs, FO_F_OPTIONAL, FO_ARGS_MAX, FO_ARG_MAX),
};
static const struct fo_schema req_schema = FO_SCHEMA(struct fo_admin_req, req_fields);

static const struct fo_field reply_fields[] = {
    FO_U64(struct fo_reply, id, 0),
    FO_ENUM(struct fo_reply, code, 0, fo_reply_code_names),
    FO_STR(struct fo_reply, message, FO_F_OPTIONAL, FO_TEXT_MAX),
    FO_STR(struct fo_reply, leader, FO_F_OPTIONAL, FO_NAME_MAX),
    FO_STR(struct fo_reply, body, FO_F_OPTIONAL, FO_BODY_MAX),
};
static const struct fo_schema reply_schema = FO_SCHEMA(struct fo_reply, reply_fields);

static const struct fo_msg_type req_type[] = {{"req", 0, &req_schema}};
static const struct fo_msg_type reply_type[] = {{"reply", 0, &reply_schema}};

enum fo_proto_code fo_admin_req_encode(const struct fo_admin_req *req, struct fo_buf *out,
                                       struct fo_proto_error *err)
{
    return fo_msg_encode(req_type, req, out, err);
}

enum fo_proto_code fo_reply_encode(const struct fo_reply *rep, struct fo_buf *out,
                                   struct fo_proto_error *err)
{
    return fo_msg_encode(reply_type, rep, out, err);
}

enum fo_proto_code fo_admin_req_decode(const uint8_t *payload, size_t len, struct fo_admin_req *req,
                                       struct fo_proto_error *err)
{
    int id;
    memset(req, 0, sizeof(*req));
    return fo_msg_decode(req_type, 1, payload, len, &id, req, err);
}

enum fo_proto_code fo_reply_decode(const uint8_t *payload, size_t len, struct fo_reply *rep,
                                   struct fo_proto_error *err)
{
    int id;
    memset(rep, 0, sizeof(*rep));
    return fo_msg_decode(reply_type, 1, payload, len, &id, rep, err);
}

const char *fo_admin_req_arg(const struct fo_admin_req *req, const char *key)
{
    for (size_t i = 0; i < req->nargs; i++)
        if (strcmp(req->args[i].key, key) == 0)
            return req->args[i].value;
    return NULL;
}

void fo_admin_req_free(struct fo_admin_req *req)
{
    fo_schema_free(&req_schema, req);
}

void fo_reply_free(struct fo_reply *rep)
{
    fo_schema_free(&reply_schema, rep);
}

void fo_reply_vsend(void (*send)(void *data, const struct fo_reply *rep), void *data, int code,
                    const char *fmt, va_list ap)
{
    char msg[FO_TEXT_MAX];
    struct fo_reply rep = {.code = code, .message = msg};

    vsnprintf(msg, sizeof(msg), fmt, ap);
    send(data, &rep);
}
