/*
 * coordinator/serve/majority.c — see majority.h.
 */
#include "coordinator/serve/majority.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const fo_majority_reason_names[] = {
    [FO_MAJORITY_OK] = "ok",
    [FO_MAJORITY_NO_LEADER] = "no_leader",
    [FO_MAJORITY_NOT_READY] = "leader_not_ready",
    [FO_MAJORITY_NO_QUORUM_CONTACT] = "no_quorum_contact",
    [FO_MAJORITY_LEADER_SILENT] = "leader_silent",
    [FO_MAJORITY_BEHIND] = "behind",
    [FO_MAJORITY_COUNT] = NULL,
};

uint64_t fo_majority_window_ms(const struct fo_config *cfg)
{
    uint64_t beats = 3ULL * cfg->raft.heartbeat_ms;
    return cfg->decision.lease_ms > beats ? cfg->decision.lease_ms : beats;
}

static int newest_first(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static uint64_t age(uint64_t now, uint64_t at)
{
    if (at == 0)
        return UINT64_MAX;
    return now > at ? now - at : 0;
}

static enum fo_majority_reason judge_leader(const struct fo_majority_input *in,
                                            struct fo_majority *out)
{
    uint64_t t[FO_NODE_CONTACT_MAX];
    size_t n = 0;

    if (!in->ready) {
        snprintf(out->msg, sizeof(out->msg),
                 "leader elected, its election barrier is not committed yet");
        return FO_MAJORITY_NOT_READY;
    }
    for (size_t i = 0; i < in->nvoters && i < FO_NODE_CONTACT_MAX; i++) {
        t[n++] = in->voter_contact_ms[i];
        out->contacts += age(in->now_ms, in->voter_contact_ms[i]) <= in->window_ms;
    }
    out->voters = (unsigned)n;
    if (n > 0) {
        /* The quorum-th newest contact: a majority was heard at least that recently. */
        qsort(t, n, sizeof(t[0]), newest_first);
        out->contact_age_ms = age(in->now_ms, t[n / 2]);
    }
    if (out->contact_age_ms > in->window_ms) {
        snprintf(out->msg, sizeof(out->msg),
                 "leader heard from %u of %u voters within %llu ms; a majority is %zu",
                 out->contacts, out->voters, (unsigned long long)in->window_ms, n / 2 + 1);
        return FO_MAJORITY_NO_QUORUM_CONTACT;
    }
    return FO_MAJORITY_OK;
}

static enum fo_majority_reason judge_follower(const struct fo_majority_input *in,
                                              struct fo_majority *out)
{
    if (in->leader_id == 0) {
        snprintf(out->msg, sizeof(out->msg), "follower with no leader known");
        return FO_MAJORITY_NO_LEADER;
    }
    out->contact_age_ms = age(in->now_ms, in->leader_contact_ms);
    if (out->contact_age_ms > in->window_ms) {
        if (out->contact_age_ms == UINT64_MAX)
            snprintf(out->msg, sizeof(out->msg), "no word from the leader since this node started");
        else
            snprintf(out->msg, sizeof(out->msg), "last word from the leader %llu ms ago (> %llu)",
                     (unsigned long long)out->contact_age_ms, (unsigned long long)in->window_ms);
        return FO_MAJORITY_LEADER_SILENT;
    }
    if (in->last_applied < in->heard_commit) {
        snprintf(out->msg, sizeof(out->msg),
                 "applied up to %llu, the leader's commit index is %llu",
                 (unsigned long long)in->last_applied, (unsigned long long)in->heard_commit);
        return FO_MAJORITY_BEHIND;
    }
    return FO_MAJORITY_OK;
}

enum fo_majority_reason fo_majority_check(const struct fo_majority_input *in,
                                          struct fo_majority *out)
{
    memset(out, 0, sizeof(*out));
    out->contact_age_ms = UINT64_MAX;
    if (in->role == RAFT_LEADER)
        out->reason = judge_leader(in, out);
    else if (in->role == RAFT_FOLLOWER)
        out->reason = judge_follower(in, out);
    else {
        snprintf(out->msg, sizeof(out->msg), "not in contact with a leader (%s)",
                 fo_node_role_name(in->role));
        out->reason = FO_MAJORITY_NO_LEADER;
    }
    if (out->reason == FO_MAJORITY_OK)
        snprintf(out->msg, sizeof(out->msg), "majority contact %llu ms ago",
                 (unsigned long long)out->contact_age_ms);
    return out->reason;
}

void fo_majority_of(const struct fo_node *node, const struct fo_config *cfg,
                    struct fo_majority_input *in)
{
    const char *addr;

    memset(in, 0, sizeof(*in));
    in->role = fo_node_role(node);
    in->ready = fo_node_ready(node);
    in->now_ms = fo_node_now_ms(node);
    in->window_ms = fo_majority_window_ms(cfg);
    for (size_t i = 0; i < cfg->npeers && in->nvoters < FO_NODE_CONTACT_MAX; i++) {
        uint64_t match;
        bool voter = false;
        if (fo_node_peer_progress(node, cfg->peers[i].id, &match, &voter) == -2 || !voter)
            continue;
        in->voter_contact_ms[in->nvoters++] = fo_node_contact_ms(node, cfg->peers[i].id);
    }
    fo_node_leader(node, &in->leader_id, &addr);
    in->leader_contact_ms = in->leader_id != 0 ? fo_node_contact_ms(node, in->leader_id) : 0;
    in->heard_commit = fo_node_heard_commit(node);
    in->last_applied = fo_node_last_applied(node);
}
