/*
 * coordinator/run/placement.c — see placement.h.
 */
#include "coordinator/run/placement.h"

#include <string.h>

#include "coordinator/config/components.h"
#include "coordinator/log.h"

/* The site a failover would promote next: the preferred (lowest priority, then first
 * configured) site other than the primary; NULL with a single site. */
static const struct fo_site *next_site(const struct fo_config *cfg, const struct fo_site *primary)
{
    const struct fo_site *next = NULL;

    for (size_t i = 0; i < cfg->nsites; i++) {
        const struct fo_site *s = &cfg->sites[i];
        if (s != primary && (next == NULL || s->priority < next->priority))
            next = s;
    }
    return next;
}

int fo_placement_score(const struct fo_config *cfg, const char *primary, const char *region)
{
    const struct fo_site *site = primary != NULL ? fo_config_site(cfg, primary) : NULL;
    const struct fo_site *next;

    if (site == NULL)
        return 0;
    if (fo_component_site_in_region(site, region))
        return -1;
    next = next_site(cfg, site);
    if (next == NULL)
        return 0;
    if (next->postgres != NULL && strcmp(next->postgres->region, region) == 0)
        return 2;
    return fo_component_site_in_region(next, region) ? 1 : 0;
}

enum fo_placement_reason fo_placement_pick(const struct fo_placement_input *in, uint64_t *to)
{
    const struct fo_config *cfg = in->cfg;
    const struct fo_peer *best = NULL;
    int self_score, best_score = -1;
    uint64_t best_match = 0;

    *to = 0;
    if (!cfg->raft.leader_off_primary)
        return FO_PLACEMENT_OFF;
    if (in->primary == NULL || fo_config_site(cfg, in->primary) == NULL)
        return FO_PLACEMENT_NO_PRIMARY;
    self_score = fo_placement_score(cfg, in->primary, cfg->self->region);
    for (size_t i = 0; i < cfg->npeers; i++) {
        const struct fo_peer *p = &cfg->peers[i];
        const struct fo_placement_peer *v = &in->peers[i];
        int score;
        /* Only a voter that has every committed entry: handing over to one that must
         * catch up first (a node just back from a partition) leaves the cluster without
         * a leader that takes proposals until it has. */
        if (p == cfg->self || !v->reachable || !v->voter || v->match_index < in->commit_index)
            continue;
        /* Away from the primary, and strictly better than here: a leader that is
         * already away moves only to a better region, so two leaders never hand
         * leadership back and forth. */
        score = fo_placement_score(cfg, in->primary, p->region);
        if (score < 0 || score <= self_score)
            continue;
        if (best == NULL || score > best_score ||
            (score == best_score &&
             (v->match_index > best_match || (v->match_index == best_match && p->id < best->id)))) {
            best = p;
            best_score = score;
            best_match = v->match_index;
        }
    }
    if (best == NULL)
        return self_score < 0 ? FO_PLACEMENT_NO_TARGET : FO_PLACEMENT_AWAY;
    if (in->op_in_flight)
        return FO_PLACEMENT_BUSY;
    *to = best->id;
    return self_score < 0 ? FO_PLACEMENT_MOVE : FO_PLACEMENT_NEARER;
}

/* What the leader knows of each peer, parallel to cfg->peers. */
static void read_peers(struct fo_node *node, const struct fo_config *cfg,
                       struct fo_placement_peer *out)
{
    for (size_t i = 0; i < cfg->npeers && i < FO_CONFIG_MAX_PEERS; i++) {
        uint64_t match = 0;
        bool voter = false;
        (void)fo_node_peer_progress(node, cfg->peers[i].id, &match, &voter);
        out[i].reachable = fo_node_peer_reachable(node, cfg->peers[i].id) == 1;
        out[i].voter = voter;
        out[i].match_index = match;
    }
}

void fo_placement_tick(struct fo_placement *p, struct fo_node *node, const struct fo_config *cfg)
{
    struct fo_placement_peer peers[FO_CONFIG_MAX_PEERS];
    const struct fo_state *st;
    struct fo_placement_input in;
    enum fo_placement_reason why;
    uint64_t now = uv_now(node->loop);
    uint64_t to;

    if (!fo_node_ready(node) || fo_node_transfer_pending(node) || now < p->next_try_ms)
        return;
    st = fo_node_state(node);
    read_peers(node, cfg, peers);
    in.cfg = cfg;
    in.primary = st->primary;
    in.op_in_flight = st->operation != NULL;
    in.commit_index = fo_node_commit_index(node);
    in.peers = peers;
    why = fo_placement_pick(&in, &to);
    if (why == FO_PLACEMENT_NO_TARGET && p->last_reason != (int)why)
        fo_log_info("raft.placement", "result=stay reason=no_target primary=%s region=%s",
                    st->primary, cfg->self->region);
    p->last_reason = (int)why;
    if (why != FO_PLACEMENT_MOVE && why != FO_PLACEMENT_NEARER)
        return;
    p->next_try_ms = now + FO_PLACEMENT_RETRY_MS;
    if (fo_node_transfer(node, to) != 0) {
        fo_log_info("raft.placement", "result=refused to=%s reason=\"transfer not started\"",
                    fo_config_peer_by_id(cfg, to)->name);
        return;
    }
    if (why == FO_PLACEMENT_MOVE)
        fo_log_info("raft.placement",
                    "result=transfer to=%s reason=\"%s hosts primary %s's components\"",
                    fo_config_peer_by_id(cfg, to)->name, cfg->self->region, st->primary);
    else
        fo_log_info("raft.placement",
                    "result=transfer to=%s reason=\"nearer the next failover's target\"",
                    fo_config_peer_by_id(cfg, to)->name);
}
