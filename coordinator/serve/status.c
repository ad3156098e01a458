/*
 * coordinator/serve/status.c — see status.h.
 */
#include "coordinator/serve/status.h"

#include <stdio.h>
#include <string.h>

/* json_string(NULL) is NULL, which json_object_set_new would refuse: map NULL to null. */
static json_t *str_or_null(const char *s)
{
    return s != NULL ? json_string(s) : json_null();
}

static json_t *ms_or_null(uint64_t ms)
{
    return ms != 0 ? json_integer((json_int_t)ms) : json_null();
}

static json_t *step_json(const struct fo_step *st)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", str_or_null(st->name));
    json_object_set_new(o, "action", str_or_null(st->action));
    json_object_set_new(o, "state", json_string(fo_enum_name(fo_step_state_names, st->state)));
    /* The typed outcome beside the text: null while the step is unfinished (or was
     * journalled before format v2), else e.g. "skipped_no_component", "refused". */
    json_object_set_new(o, "outcome",
                        st->outcome != FO_STEP_OUTCOME_NONE
                            ? str_or_null(fo_enum_name(fo_step_outcome_names, st->outcome))
                            : json_null());
    json_object_set_new(o, "attempts", json_integer(st->attempts));
    json_object_set_new(o, "started_ms", ms_or_null(st->started_ms));
    json_object_set_new(o, "ended_ms", ms_or_null(st->ended_ms));
    json_object_set_new(o, "duration_ms",
                        st->ended_ms >= st->started_ms && st->started_ms != 0 && st->ended_ms != 0
                            ? json_integer((json_int_t)(st->ended_ms - st->started_ms))
                            : json_null());
    json_object_set_new(o, "error", str_or_null(st->error));
    json_object_set_new(o, "leader", str_or_null(st->leader));
    return o;
}

json_t *fo_status_operation(const struct fo_operation *op)
{
    json_t *o = json_object(), *steps = json_array();

    json_object_set_new(o, "id", str_or_null(op->id));
    json_object_set_new(o, "kind", json_string(fo_enum_name(fo_op_kind_names, op->kind)));
    json_object_set_new(o, "from", str_or_null(op->from));
    json_object_set_new(o, "to", str_or_null(op->to));
    json_object_set_new(o, "state", json_string(fo_enum_name(fo_op_result_names, op->result)));
    json_object_set_new(o, "epoch", json_integer((json_int_t)op->epoch));
    json_object_set_new(o, "reason", str_or_null(op->reason));
    json_object_set_new(o, "requested_by", str_or_null(op->requested_by));
    json_object_set_new(o, "force", json_boolean(op->force));
    json_object_set_new(o, "detected_ms", ms_or_null(op->detected_ms));
    json_object_set_new(o, "lag_bytes",
                        op->lag_known ? json_integer((json_int_t)op->lag_bytes) : json_null());
    json_object_set_new(o, "lag_ms",
                        op->lag_known ? json_integer((json_int_t)op->lag_ms) : json_null());
    json_object_set_new(o, "started_ms", ms_or_null(op->started_ms));
    json_object_set_new(o, "ended_ms", ms_or_null(op->ended_ms));
    json_object_set_new(o, "error", str_or_null(op->error));
    for (size_t i = 0; i < op->nsteps; i++)
        json_array_append_new(steps, step_json(&op->steps[i]));
    json_object_set_new(o, "steps", steps);
    return o;
}

static json_t *nodes_json(const struct fo_config *cfg, const struct fo_node *node,
                          uint64_t leader_id)
{
    json_t *arr = json_array();
    int self_role = fo_node_role(node);

    for (size_t i = 0; i < cfg->npeers; i++) {
        const struct fo_peer *p = &cfg->peers[i];
        json_t *o = json_object();
        int reach = fo_node_peer_reachable(node, p->id);
        const char *role;

        if (p == cfg->self)
            role = fo_node_role_name(self_role);
        else if (p->id == leader_id)
            role = "leader";
        else if (self_role == RAFT_LEADER)
            role = reach == 1 ? "follower" : "unreachable";
        else
            role = "unknown";
        json_object_set_new(o, "name", json_string(p->name));
        json_object_set_new(o, "id", json_integer((json_int_t)p->id));
        json_object_set_new(o, "region", json_string(p->region));
        json_object_set_new(o, "raft", json_string(p->raft));
        json_object_set_new(o, "admin", json_string(p->admin));
        json_object_set_new(o, "role", json_string(role));
        json_object_set_new(o, "reachable", reach < 0 ? json_null() : json_boolean(reach));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *verdicts_json(const struct fo_state *st)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < st->nverdicts; i++) {
        const struct fo_verdict *v = &st->verdicts[i];
        json_t *o = json_object();
        json_object_set_new(o, "observer", str_or_null(v->observer));
        json_object_set_new(o, "region", str_or_null(v->region));
        json_object_set_new(o, "status", json_string(fo_enum_name(fo_status_names, v->status)));
        json_object_set_new(o, "since_ms", ms_or_null(v->since_ms));
        json_object_set_new(o, "reason", str_or_null(v->reason));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *policy_json(const struct fo_config_decision *dc)
{
    json_t *o = json_object();
    json_object_set_new(o, "auto", json_boolean(dc->automatic));
    json_object_set_new(o, "quorum", json_integer(dc->quorum));
    json_object_set_new(o, "failover_after_ms", json_integer((json_int_t)dc->failover_after_ms));
    json_object_set_new(o, "max_lag_bytes", json_integer((json_int_t)dc->max_lag_bytes));
    json_object_set_new(o, "max_lag_ms", json_integer((json_int_t)dc->max_lag_ms));
    json_object_set_new(o, "cooldown_ms", json_integer((json_int_t)dc->cooldown_ms));
    return o;
}

/* Nodes whose replicated configuration differs from this node's are reported, never
 * silently mixed: an operator must see that two nodes disagree on peers or sites. */
static json_t *config_json(const struct fo_config *cfg, const struct fo_state *st, json_t *warnings)
{
    json_t *o = json_object(), *mism = json_array();

    json_object_set_new(o, "digest", json_string(cfg->digest));
    for (size_t i = 0; i < st->ndigests; i++) {
        const struct fo_digest *d = &st->digests[i];
        char text[256];
        if (d->digest == NULL || strcmp(d->digest, cfg->digest) == 0)
            continue;
        json_t *m = json_object();
        json_object_set_new(m, "node", str_or_null(d->node));
        json_object_set_new(m, "digest", str_or_null(d->digest));
        json_array_append_new(mism, m);
        snprintf(text, sizeof(text),
                 "node %s runs a different replicated configuration (digest %.12s, ours "
                 "%.12s): topology, policy or plan differ; automatic failover waits until "
                 "they agree",
                 d->node, d->digest, cfg->digest);
        json_array_append_new(warnings, json_string(text));
    }
    json_object_set_new(o, "mismatched", mism);
    /* The policy this node decides with: what a reload changed shows here. */
    json_object_set_new(o, "policy", policy_json(&cfg->decision));
    return o;
}

/* The rolling upgrade (proto/codec.h "Versions"): the release, what it reads, the
 * cluster format it writes, and a halted FSM, loudly. */
static json_t *format_json(const struct fo_node *node, json_t *warnings)
{
    json_t *o = json_object();
    const struct fo_fsm *f = &node->fsm.fsm;

    json_object_set_new(o, "cluster", json_integer(fo_state_format(&f->state)));
    json_object_set_new(o, "reads_min", json_integer(FO_PROTO_VERSION_MIN));
    json_object_set_new(o, "reads_max", json_integer(FO_PROTO_VERSION));
    json_object_set_new(o, "halted", f->halted ? json_string(f->halt_msg) : json_null());
    if (f->halted) {
        char text[400];
        snprintf(text, sizeof(text),
                 "this node's state machine HALTED and applies nothing more: %s", f->halt_msg);
        json_array_append_new(warnings, json_string(text));
    }
    return o;
}

json_t *fo_status_build(const struct fo_config *cfg, const struct fo_node *node)
{
    const struct fo_state *st = fo_node_state(node);
    json_t *o = json_object(), *mode = json_object(), *warnings = json_array();
    uint64_t leader_id = 0;
    const char *leader_addr = NULL;
    const struct fo_peer *leader = NULL;

    fo_node_leader(node, &leader_id, &leader_addr);
    if (leader_id != 0)
        leader = fo_config_peer_by_id(cfg, leader_id);
    json_object_set_new(o, "cluster",
                        str_or_null(st->cluster != NULL ? st->cluster : cfg->cluster));
    json_object_set_new(o, "node", json_string(cfg->self->name));
    json_object_set_new(o, "version", json_string(FO_VERSION));
    json_object_set_new(o, "format", format_json(node, warnings));
    json_object_set_new(o, "role", json_string(fo_node_role_name(fo_node_role(node))));
    json_object_set_new(o, "leader", leader != NULL ? json_string(leader->name) : json_null());
    json_object_set_new(o, "leader_admin",
                        leader != NULL ? json_string(leader->admin) : json_null());
    json_object_set_new(o, "term", json_integer((json_int_t)fo_node_term(node)));
    json_object_set_new(o, "commit_index", json_integer((json_int_t)fo_node_commit_index(node)));
    json_object_set_new(o, "last_applied", json_integer((json_int_t)fo_node_last_applied(node)));
    json_object_set_new(o, "initialized", json_boolean(st->cluster != NULL));
    json_object_set_new(o, "primary", str_or_null(st->primary));
    json_object_set_new(o, "epoch", json_integer((json_int_t)st->epoch));
    json_object_set_new(o, "mode", json_string(fo_enum_name(fo_mode_names, st->mode)));
    json_object_set_new(mode, "by", str_or_null(st->mode_by));
    json_object_set_new(mode, "reason", str_or_null(st->mode_reason));
    json_object_set_new(mode, "since_ms", ms_or_null(st->mode_since_ms));
    json_object_set_new(o, "mode_detail", mode);
    json_object_set_new(o, "cooldown_until_ms", ms_or_null(st->cooldown_until_ms));
    json_object_set_new(o, "nodes", nodes_json(cfg, node, leader_id));
    json_object_set_new(o, "operation",
                        st->operation != NULL ? fo_status_operation(st->operation) : json_null());
    json_object_set_new(o, "verdicts", verdicts_json(st));
    json_object_set_new(o, "history_count", json_integer((json_int_t)st->nhistory));
    if (st->cluster != NULL && strcmp(st->cluster, cfg->cluster) != 0) {
        char text[256];
        snprintf(text, sizeof(text),
                 "this node's config names cluster '%s' but the replicated state belongs to '%s'",
                 cfg->cluster, st->cluster);
        json_array_append_new(warnings, json_string(text));
    }
    if (leader_id == 0)
        json_array_append_new(warnings,
                              json_string("no leader known: no quorum reachable from this node"));
    json_object_set_new(o, "config", config_json(cfg, st, warnings));
    json_object_set_new(o, "warnings", warnings);
    return o;
}

json_t *fo_status_lease(const struct fo_lease *l, uint64_t now)
{
    json_t *o = json_object();

    json_object_set_new(o, "guarding", json_boolean(l->guarding));
    json_object_set_new(o, "site", l->site[0] ? json_string(l->site) : json_null());
    json_object_set_new(o, "epoch", json_integer((json_int_t)l->epoch));
    json_object_set_new(o, "valid_ms_left",
                        json_integer(l->valid_ms > now ? (json_int_t)(l->valid_ms - now) : 0));
    json_object_set_new(o, "fenced", json_boolean(l->fenced));
    json_object_set_new(o, "cause", json_string(fo_lease_cause_names[l->fence_cause]));
    json_object_set_new(o, "attest_ms", json_integer((json_int_t)fo_lease_attest_ms(&l->params)));
    json_object_set_new(o, "fences", json_integer((json_int_t)l->fences));
    json_object_set_new(o, "lifts", json_integer((json_int_t)l->lifts));
    json_object_set_new(o, "attests", json_integer((json_int_t)l->attests));
    return o;
}
