/*
 * consensus/members.c — see members.h.
 *
 * Like node.c, this file reads fields of struct raft that libraft 0.15 has no accessor
 * for (the configuration, the uncommitted-change index, the promotee); they became
 * private in 0.17 (reference §0), and node.c and this file are the only places.
 */
#include "consensus/members.h"

#include <stdio.h>
#include <string.h>

const char *const fo_member_outcome_names[] = {
    "done",          "not_leader",    "in_flight", "no_quorum", "is_leader", "not_member",
    "already_voter", "address_taken", "lagging",   "unknown",   "failed",    NULL};

enum change_kind { KIND_NONE = 0, KIND_ADD, KIND_REMOVE };

enum change_step {
    STEP_ADDING = 1,   /* add: raft_add (as spare) sent */
    STEP_TO_STANDBY,   /* add: raft_assign STANDBY sent */
    STEP_CATCHING_UP,  /* add: waiting for its log to reach the commit index */
    STEP_TO_VOTER,     /* add: raft_assign VOTER sent */
    STEP_DEMOTING,     /* remove: raft_assign STANDBY sent */
    STEP_DEMOTED_WAIT, /* remove: waiting for it to store that configuration */
    STEP_REMOVING,     /* remove: raft_remove sent */
};

static const struct raft_server *server_of(const struct fo_node *n, uint64_t id)
{
    const struct raft_configuration *c = &n->raft.configuration;
    for (unsigned i = 0; i < c->n; i++)
        if (c->servers[i].id == id)
            return &c->servers[i];
    return NULL;
}

size_t fo_node_members(const struct fo_node *n, struct fo_member *out, size_t cap)
{
    const struct raft_configuration *c = &n->raft.configuration;
    for (unsigned i = 0; i < c->n && i < cap; i++)
        out[i] = (struct fo_member){c->servers[i].id, c->servers[i].address, c->servers[i].role};
    return c->n;
}

int fo_node_member_role(const struct fo_node *n, uint64_t id)
{
    const struct raft_server *s = server_of(n, id);
    return s != NULL ? s->role : -1;
}

const char *fo_member_role_name(int role)
{
    switch (role) {
    case RAFT_VOTER:
        return "voter";
    case RAFT_STANDBY:
        return "standby";
    case RAFT_SPARE:
        return "spare";
    default:
        return "none";
    }
}

int fo_node_member_standing(const struct fo_node *n)
{
    if (n->raft.configuration.n == 0)
        return FO_STANDING_WAITING;
    if (server_of(n, n->raft.id) != NULL)
        return FO_STANDING_MEMBER;
    /* A configuration without us that is not committed yet may still be rolled back. */
    return n->raft.configuration_uncommitted_index == 0 ? FO_STANDING_REMOVED : FO_STANDING_MEMBER;
}

/* This node's log holds every entry its leader said was committed (a leader's does). */
static bool caught_up(const struct fo_node *n)
{
    return raft_state((struct raft *)&n->raft) == RAFT_LEADER ||
           raft_last_index((struct raft *)&n->raft) >= fo_node_heard_commit(n);
}

bool fo_node_member_removed(const struct fo_node *n)
{
    int standing = fo_node_member_standing(n);

    if (!n->was_voter || !caught_up(n))
        return false;
    /* Demoted, even if not committed yet: if that entry is lost with its leader, the
     * operator's members-remove reports an unknown outcome and is run again. */
    return standing == FO_STANDING_REMOVED ||
           (standing == FO_STANDING_MEMBER && fo_node_member_role(n, n->raft.id) != RAFT_VOTER &&
            fo_node_member_role(n, n->raft.id) >= 0);
}

bool fo_node_member_changing(const struct fo_node *n)
{
    return n->change.kind != KIND_NONE;
}

/*
 * Would the voters be a majority among themselves after the change? The set is the
 * current voters without `without` (0: none) plus `with` (0: none); a voter counts as
 * reachable when the leader has heard from it within an election timeout
 * (fo_node_peer_reachable), the leader itself always. `with_reachable` says whether the
 * added server counts (it is not a voter yet, so it is asked separately).
 */
static bool majority_after(const struct fo_node *n, uint64_t without, uint64_t with,
                           bool with_reachable)
{
    const struct raft_configuration *c = &n->raft.configuration;
    unsigned voters = 0, reachable = 0;

    for (unsigned i = 0; i < c->n; i++) {
        const struct raft_server *s = &c->servers[i];
        if (s->role != RAFT_VOTER || s->id == without || s->id == with)
            continue;
        voters++;
        reachable += fo_node_peer_reachable(n, s->id) == 1;
    }
    if (with != 0) {
        voters++;
        reachable += with_reachable;
    }
    return voters > 0 && reachable > voters / 2;
}

/* The change ends: free the slot first, so that cb may start another. */
static void finish(struct fo_node *n, int outcome)
{
    struct fo_node_change *c = &n->change;
    void (*cb)(void *, int) = c->cb;
    void *data = c->data;

    c->kind = KIND_NONE;
    c->step = 0;
    c->raft_pending = false;
    if (cb != NULL)
        cb(data, outcome);
}

static int outcome_of_raft(int rv)
{
    switch (rv) {
    case RAFT_CANTCHANGE:
        return FO_MEMBER_IN_FLIGHT;
    case RAFT_NOTLEADER:
        return FO_MEMBER_NOT_LEADER;
    case RAFT_BADID:
    case RAFT_NOTFOUND:
        return FO_MEMBER_NOT_MEMBER;
    case RAFT_DUPLICATEADDRESS:
        return FO_MEMBER_ADDRESS_TAKEN;
    default:
        return FO_MEMBER_FAILED;
    }
}

static void change_cb(struct raft_change *req, int status);

/* Hand the next step to libraft. Returns 0, or the outcome of its synchronous refusal
 * (the caller ends the change). */
static int submit(struct fo_node *n, int step)
{
    struct fo_node_change *c = &n->change;
    int rv;

    memset(&c->req, 0, sizeof(c->req));
    c->req.data = n;
    c->step = step;
    switch (step) {
    case STEP_ADDING:
        rv = raft_add(&n->raft, &c->req, c->id, c->address, change_cb);
        break;
    case STEP_TO_STANDBY:
    case STEP_DEMOTING:
        rv = raft_assign(&n->raft, &c->req, c->id, RAFT_STANDBY, change_cb);
        break;
    case STEP_TO_VOTER:
        rv = raft_assign(&n->raft, &c->req, c->id, RAFT_VOTER, change_cb);
        break;
    default: /* STEP_REMOVING */
        rv = raft_remove(&n->raft, &c->req, c->id, change_cb);
        break;
    }
    if (rv != 0)
        return outcome_of_raft(rv);
    c->raft_pending = true;
    return 0;
}

/* The next step from a callback or the timer: a refusal ends the change there. */
static void advance(struct fo_node *n, int step)
{
    int rv = submit(n, step);
    if (rv != 0)
        finish(n, rv);
}

static uint64_t election_timeout(const struct fo_node *n)
{
    return n->raft.election_timeout;
}

static void change_cb(struct raft_change *req, int status)
{
    struct fo_node *n = req->data;
    struct fo_node_change *c = &n->change;

    c->raft_pending = false;
    if (status == RAFT_LEADERSHIPLOST || n->closing) {
        finish(n, FO_MEMBER_UNKNOWN);
        return;
    }
    if (status == RAFT_NOCONNECTION) {
        /* libraft aborted a promotion: the server did not keep up its catch-up rounds. */
        finish(n, FO_MEMBER_LAGGING);
        return;
    }
    if (status != 0) {
        finish(n, FO_MEMBER_FAILED);
        return;
    }
    switch (c->step) {
    case STEP_ADDING:
        advance(n, STEP_TO_STANDBY);
        break;
    case STEP_TO_STANDBY:
        c->step = STEP_CATCHING_UP;
        c->deadline_ms = fo_node_now_ms(n) + c->catchup_ms;
        break;
    case STEP_DEMOTING:
        c->step = STEP_DEMOTED_WAIT;
        c->wait_index = n->raft.commit_index;
        c->deadline_ms = fo_node_now_ms(n) + 2 * election_timeout(n);
        break;
    default: /* STEP_TO_VOTER, STEP_REMOVING: the last step committed */
        finish(n, FO_MEMBER_DONE);
        break;
    }
}

/* The leader's view of how far server id's log has come (0 when unknown). */
static uint64_t match_of(const struct fo_node *n, uint64_t id)
{
    uint64_t match = 0;
    bool voter;
    return fo_node_peer_progress(n, id, &match, &voter) == 0 ? match : 0;
}

void fo_node_change_tick(struct fo_node *n)
{
    struct fo_node_change *c = &n->change;
    bool late;

    /* Only a configuration of the present counts: a server catching up replays old ones
     * (a re-added id finds itself a voter in the bootstrap entry), and its log is then
     * behind the commit index the leader told it. */
    if (fo_node_member_role(n, n->raft.id) == RAFT_VOTER && caught_up(n))
        n->was_voter = true;
    if (c->kind == KIND_NONE || c->raft_pending)
        return;
    if (!fo_node_ready(n)) {
        finish(n, FO_MEMBER_UNKNOWN);
        return;
    }
    late = fo_node_now_ms(n) >= c->deadline_ms;
    if (c->step == STEP_CATCHING_UP) {
        bool reached = match_of(n, c->id) >= n->raft.commit_index;
        if (reached && !majority_after(n, 0, c->id, fo_node_peer_reachable(n, c->id) == 1)) {
            finish(n, FO_MEMBER_NO_QUORUM);
        } else if (reached) {
            advance(n, STEP_TO_VOTER);
        } else if (late) {
            finish(n, FO_MEMBER_LAGGING);
        }
    } else if (c->step == STEP_DEMOTED_WAIT) {
        /* Whether or not it stored its demotion (it may be down): remove it now. */
        if (late || match_of(n, c->id) >= c->wait_index)
            advance(n, STEP_REMOVING);
    }
}

void fo_node_change_abort(struct fo_node *n)
{
    /* A change waiting on the watch timer has nothing with libraft: end it here. One
     * with libraft ends in change_cb, which raft_close fires (LEADERSHIPLOST). */
    if (n->change.kind != KIND_NONE && !n->change.raft_pending)
        finish(n, FO_MEMBER_UNKNOWN);
}

/* Common refusals: not a ready leader, a change in flight (ours or libraft's). */
static int can_change(const struct fo_node *n)
{
    if (n->closing || !fo_node_ready(n) || fo_node_transfer_pending(n))
        return FO_MEMBER_NOT_LEADER;
    if (n->change.kind != KIND_NONE || n->raft.configuration_uncommitted_index != 0 ||
        n->raft.leader_state.promotee_id != 0)
        return FO_MEMBER_IN_FLIGHT;
    return FO_MEMBER_DONE;
}

static void begin(struct fo_node *n, int kind, uint64_t id, fo_member_cb cb, void *data)
{
    struct fo_node_change *c = &n->change;
    c->kind = kind;
    c->id = id;
    c->cb = cb;
    c->data = data;
    c->raft_pending = false;
}

int fo_node_member_add(struct fo_node *n, uint64_t id, const char *address, unsigned catchup_ms,
                       fo_member_cb cb, void *data)
{
    const struct raft_server *s = server_of(n, id);
    const struct raft_configuration *conf = &n->raft.configuration;
    int rv = can_change(n);

    if (rv != FO_MEMBER_DONE)
        return rv;
    if (s != NULL && s->role == RAFT_VOTER)
        return FO_MEMBER_ALREADY;
    if (s == NULL) {
        if (address == NULL || strlen(address) >= sizeof(n->change.address))
            return FO_MEMBER_FAILED;
        for (unsigned i = 0; i < conf->n; i++)
            if (strcmp(conf->servers[i].address, address) == 0)
                return FO_MEMBER_ADDRESS_TAKEN;
    }
    /* Assume it will be heard from once caught up; checked for real before the vote. */
    if (!majority_after(n, 0, id, true))
        return FO_MEMBER_NO_QUORUM;
    begin(n, KIND_ADD, id, cb, data);
    n->change.catchup_ms = catchup_ms;
    snprintf(n->change.address, sizeof(n->change.address), "%s", s != NULL ? s->address : address);
    if (s == NULL) {
        rv = submit(n, STEP_ADDING);
    } else if (s->role == RAFT_SPARE) {
        rv = submit(n, STEP_TO_STANDBY);
    } else { /* a standby already: a retry of an add that did not catch up */
        n->change.step = STEP_CATCHING_UP;
        n->change.deadline_ms = fo_node_now_ms(n) + catchup_ms;
    }
    if (rv != 0)
        n->change.kind = KIND_NONE; /* refused at once: no callback */
    return rv;
}

int fo_node_member_remove(struct fo_node *n, uint64_t id, fo_member_cb cb, void *data)
{
    const struct raft_server *s = server_of(n, id);
    int rv = can_change(n);

    if (rv != FO_MEMBER_DONE)
        return rv;
    if (s == NULL)
        return FO_MEMBER_NOT_MEMBER;
    if (id == n->raft.id)
        return FO_MEMBER_IS_LEADER;
    if (s->role == RAFT_VOTER && !majority_after(n, id, 0, false))
        return FO_MEMBER_NO_QUORUM;
    begin(n, KIND_REMOVE, id, cb, data);
    rv = submit(n, s->role == RAFT_VOTER ? STEP_DEMOTING : STEP_REMOVING);
    if (rv != 0)
        n->change.kind = KIND_NONE; /* refused at once: no callback */
    return rv;
}
