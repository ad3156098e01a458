/*
 * coordinator/serve/members_cmd.c — see members_cmd.h.
 */
#include "coordinator/serve/members_cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "consensus/members.h"
#include "coordinator/log.h"
#include "coordinator/serve/commands.h"

#define MEMBERS_MAX 32 /* servers of a Raft configuration listed (FO_CONFIG_MAX_PEERS is 9) */

/* ---- members ---------------------------------------------------------------------- */

static json_t *member_json(struct fo_serve *s, const struct fo_peer *leader, uint64_t id,
                           const struct fo_peer *p)
{
    json_t *o = json_object();
    uint64_t match = 0;
    bool voter = false;
    int known = fo_node_peer_progress(s->node, id, &match, &voter);
    int reach = fo_node_peer_reachable(s->node, id);
    int role = fo_node_member_role(s->node, id);
    struct fo_member m[MEMBERS_MAX];
    size_t n = fo_node_members(s->node, m, MEMBERS_MAX);
    const char *raft = p != NULL ? p->raft : NULL;

    for (size_t i = 0; raft == NULL && i < n && i < MEMBERS_MAX; i++)
        if (m[i].id == id)
            raft = m[i].address;
    json_object_set_new(o, "id", json_integer((json_int_t)id));
    json_object_set_new(o, "name", p != NULL ? json_string(p->name) : json_null());
    json_object_set_new(o, "region", p != NULL ? json_string(p->region) : json_null());
    json_object_set_new(o, "raft", raft != NULL ? json_string(raft) : json_null());
    json_object_set_new(o, "admin",
                        p != NULL && p->admin != NULL ? json_string(p->admin) : json_null());
    /* In the node's config but not (yet) in the replicated Raft configuration: the configs
     * and the cluster disagree, which the operator must see. */
    json_object_set_new(o, "in_raft_configuration", json_boolean(known != -2));
    json_object_set_new(o, "in_config", json_boolean(p != NULL));
    json_object_set_new(o, "voter", json_boolean(voter));
    json_object_set_new(o, "raft_role",
                        role >= 0 ? json_string(fo_member_role_name(role)) : json_null());
    json_object_set_new(o, "leader", json_boolean(leader != NULL && leader == p));
    json_object_set_new(o, "reachable", reach < 0 ? json_null() : json_boolean(reach == 1));
    json_object_set_new(o, "applied", known == 0 ? json_integer((json_int_t)match) : json_null());
    return o;
}

/* The cluster's nodes as the leader sees them: who is reachable and how far each one has
 * replicated. A follower sends the client to the leader; with no leader known it answers
 * what it can (reachable/applied null for the others). */
void fo_members_cmd_list(struct fo_serve *s, struct fo_admin_call *call,
                         const struct fo_admin_req *req)
{
    const struct fo_peer *leader = fo_ops_leader(s->node, s->cfg);
    struct fo_member m[MEMBERS_MAX];
    size_t n;
    json_t *doc, *arr;

    (void)req;
    if (fo_commands_redirect_to_leader(s, call))
        return;
    doc = json_object();
    arr = json_array();
    json_object_set_new(doc, "answered_by", json_string(s->cfg->self->name));
    json_object_set_new(doc, "leader", leader != NULL ? json_string(leader->name) : json_null());
    json_object_set_new(doc, "term", json_integer((json_int_t)fo_node_term(s->node)));
    json_object_set_new(doc, "commit_index",
                        json_integer((json_int_t)fo_node_commit_index(s->node)));
    json_object_set_new(doc, "change_in_flight", json_boolean(fo_node_member_changing(s->node)));
    for (size_t i = 0; i < s->cfg->npeers; i++)
        json_array_append_new(arr, member_json(s, leader, s->cfg->peers[i].id, &s->cfg->peers[i]));
    /* Servers that vote (or replicate) although no config line names them. */
    n = fo_node_members(s->node, m, MEMBERS_MAX);
    for (size_t i = 0; i < n && i < MEMBERS_MAX; i++)
        if (fo_config_peer_by_id(s->cfg, m[i].id) == NULL)
            json_array_append_new(arr, member_json(s, leader, m[i].id, NULL));
    json_object_set_new(doc, "members", arr);
    fo_commands_reply_json(call, doc);
}

/* ---- members-add, members-remove ---------------------------------------------------- */

/* How each outcome is answered: the reply code and what to tell the operator (%s: the
 * node's name). */
static const struct {
    int code;
    const char *text;
} answers[FO_MEMBER_NOUTCOMES] = {
    [FO_MEMBER_DONE] = {FO_REPLY_OK, "%s: done"},
    [FO_MEMBER_NOT_LEADER] = {FO_REPLY_NOT_LEADER, "%s: this node is not the ready leader"},
    [FO_MEMBER_IN_FLIGHT] = {FO_REPLY_REFUSED,
                             "%s: another Raft configuration change is not finished yet "
                             "(one at a time): run it again once `failoverctl members` shows "
                             "change_in_flight false"},
    [FO_MEMBER_NO_QUORUM] = {FO_REPLY_REFUSED,
                             "%s: refused: the voters the leader hears from would not be a "
                             "majority after this change; bring the unreachable voters back "
                             "first (failoverctl members)"},
    [FO_MEMBER_IS_LEADER] = {FO_REPLY_REFUSED,
                             "%s: refused: it is the leader; leadership is being handed to "
                             "another voter: run members-remove again once `failoverctl "
                             "members` shows another leader"},
    [FO_MEMBER_NOT_MEMBER] = {FO_REPLY_OK, "%s: not in the Raft configuration: nothing to remove"},
    [FO_MEMBER_ALREADY] = {FO_REPLY_OK, "%s: a voter already: nothing to add"},
    [FO_MEMBER_ADDRESS_TAKEN] = {FO_REPLY_REFUSED,
                                 "%s: refused: another server of the Raft configuration has "
                                 "that Raft address"},
    [FO_MEMBER_LAGGING] = {FO_REPLY_FAILED,
                           "%s: did not catch up in time and stays a standby (no vote): is it "
                           "running, started without --init on an empty data_dir, and can "
                           "the leader reach its raft address? Then run members-add again, "
                           "or members-remove"},
    [FO_MEMBER_UNKNOWN] = {FO_REPLY_FAILED,
                           "%s: leadership was lost during the change: outcome unknown; "
                           "check failoverctl members before running it again"},
    [FO_MEMBER_FAILED] = {FO_REPLY_INTERNAL, "%s: libraft refused the change (see the log)"},
};

/* A change in flight, answered from the node's callback. Owned by itself. */
struct change_call {
    struct fo_serve *s;
    struct fo_admin_call *call;
    bool add;
    uint64_t id;
    char name[FO_NAME_MAX + 1];
};

static size_t voters(const struct fo_node *n)
{
    struct fo_member m[MEMBERS_MAX];
    size_t k = fo_node_members(n, m, MEMBERS_MAX), count = 0;
    for (size_t i = 0; i < k && i < MEMBERS_MAX; i++)
        count += m[i].role == RAFT_VOTER;
    return count;
}

static void answer(struct fo_serve *s, struct fo_admin_call *call, bool add, const char *name,
                   int outcome)
{
    if (outcome == FO_MEMBER_NOT_LEADER) {
        fo_commands_not_leader(s, call);
        return;
    }
    if (outcome == FO_MEMBER_DONE) {
        fo_admin_call_replyf(call, FO_REPLY_OK, "%s %s: %zu voters now", name,
                             add ? "is a voter" : "was removed", voters(s->node));
        return;
    }
    /* The table's texts are all "%s: ..." with the node's name. */
    fo_admin_call_replyf(call, answers[outcome].code, answers[outcome].text, name);
}

static void change_done(void *data, int outcome)
{
    struct change_call *cc = data;

    fo_log_info("admin.members", "action=%s node=%s id=%llu outcome=%s", cc->add ? "add" : "remove",
                cc->name, (unsigned long long)cc->id, fo_member_outcome_names[outcome]);
    answer(cc->s, cc->call, cc->add, cc->name, outcome);
    free(cc);
}

/* A Raft id: commands' decimal parser, and never 0. */
static int parse_id(const char *v, uint64_t *out)
{
    return fo_commands_parse_u64(v, out) == 0 && *out != 0 ? 0 : -1;
}

/* Start the change; answers the call now when it is refused. */
static void start_change(struct fo_serve *s, struct fo_admin_call *call, bool add, uint64_t id,
                         const char *name, const char *raft)
{
    struct change_call *cc = calloc(1, sizeof(*cc));
    unsigned catchup = FO_MEMBERS_CATCHUP_MS;
    int rv;

    if (cc == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_INTERNAL, "out of memory");
        return;
    }
    *cc = (struct change_call){s, call, add, id, ""};
    snprintf(cc->name, sizeof(cc->name), "%s", name);
    if (10u * s->cfg->raft.election_timeout_ms > catchup)
        catchup = 10u * s->cfg->raft.election_timeout_ms;
    fo_log_info("admin.members", "action=%s node=%s id=%llu by=\"%s\"", add ? "add" : "remove",
                name, (unsigned long long)id, fo_admin_call_who(call)->name);
    rv = add ? fo_node_member_add(s->node, id, raft, catchup, change_done, cc)
             : fo_node_member_remove(s->node, id, change_done, cc);
    if (rv == 0)
        return;
    free(cc);
    if (rv == FO_MEMBER_IS_LEADER && fo_node_transfer(s->node, 0) != 0) {
        /* Removing itself would step the leader down mid-change: leadership goes to an
         * up-to-date voter (0: libraft picks) and the operator runs it again there. A
         * transfer is refused for a while after the last one (node.h): say so. */
        fo_log_warn("admin.members", "action=transfer result=refused");
        fo_admin_call_replyf(call, FO_REPLY_REFUSED,
                             "%s: refused: it is the leader, and leadership cannot be handed "
                             "over right now (a transfer ended less than %d s ago, or no other "
                             "voter is up to date): run it again in a few seconds",
                             name, FO_NODE_TRANSFER_REUSE_MS / 1000);
        return;
    }
    fo_log_info("admin.members", "action=%s node=%s outcome=%s", add ? "add" : "remove", name,
                fo_member_outcome_names[rv]);
    answer(s, call, add, name, rv);
}

void fo_members_cmd_add(struct fo_serve *s, struct fo_admin_call *call,
                        const struct fo_admin_req *req)
{
    const char *name = fo_admin_req_arg(req, "node"), *raft = fo_admin_req_arg(req, "raft");
    const struct fo_peer *p = fo_config_peer_by_name(s->cfg, name);

    if (!fo_node_ready(s->node)) {
        fo_commands_not_leader(s, call);
        return;
    }
    if (p == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                             "members-add: '%.64s' is not a peer in the leader's config: add its "
                             "line (name, id, region, raft, admin) to every node's config and "
                             "restart them one at a time first",
                             name != NULL ? name : "");
        return;
    }
    if (raft != NULL && strcmp(raft, p->raft) != 0) {
        fo_admin_call_replyf(call, FO_REPLY_REFUSED,
                             "members-add: %s: the leader's config says its raft address is %s, "
                             "not %.64s: the configs disagree; fix them first",
                             p->name, p->raft, raft);
        return;
    }
    start_change(s, call, true, p->id, p->name, p->raft);
}

void fo_members_cmd_remove(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req)
{
    const char *name = fo_admin_req_arg(req, "node");
    const struct fo_peer *p = fo_config_peer_by_name(s->cfg, name);
    uint64_t id;

    if (!fo_node_ready(s->node)) {
        fo_commands_not_leader(s, call);
        return;
    }
    if (p != NULL) {
        start_change(s, call, false, p->id, p->name, NULL);
        return;
    }
    /* A server no config line names (its line was deleted first): by its Raft id. */
    if (parse_id(name, &id) == 0 && fo_node_member_role(s->node, id) >= 0) {
        start_change(s, call, false, id, name, NULL);
        return;
    }
    fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                         "members-remove: '%.64s' is neither a peer in the leader's config nor "
                         "the Raft id of a server in its Raft configuration (failoverctl members)",
                         name != NULL ? name : "");
}
