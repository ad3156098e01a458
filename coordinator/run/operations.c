/*
 * coordinator/run/operations.c — see operations.h. Here: the decision's inputs, beginning
 * an operation, the cooldown and the operator's requests; the write lease's hands are in
 * operations_lease.c (operations_internal.h).
 */
#include "coordinator/run/operations.h"
#include "coordinator/run/operations_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/clock.h"
#include "coordinator/config/components.h"
#include "coordinator/log.h"

/* ---- the decision's inputs --------------------------------------------------------- */

/* The replication lag of a site's Postgres, as this node's probe last measured it. */
static void site_lag(const struct fo_ops *d, const struct fo_site *site, struct fo_site_lag *l)
{
    char name[FO_NAME_MAX + 16];
    size_t i;
    const struct fo_probe_result *r;

    l->site = site->name;
    l->known = false;
    l->not_replica = false;
    if (d->prober == NULL || site->postgres == NULL)
        return;
    fo_component_probe_name(FO_COMPONENT_POSTGRES, site->name, name, sizeof(name));
    i = fo_prober_find(d->prober, name);
    if (i == (size_t)-1 || fo_prober_check_status(d->prober, i) != FO_STATUS_UP)
        return;
    r = fo_prober_result(d->prober, i);
    if (r == NULL)
        return;
    if (!r->pg.in_recovery) {
        /* Not a standby: a server that takes writes of its own (an old primary not yet
         * re-seeded) has no lag to P at all, and promoting it would lose everything P
         * took since. Only --force may. */
        l->not_replica = true;
        return;
    }
    /* Issue 13 (6): the lag also grows with the time the standby has not heard from the
     * primary, bounded by this node's own last probe of the primary (probe.h). */
    {
        const struct fo_state *st = fo_node_state(d->h.node);
        const struct fo_site *ps =
            st->primary != NULL ? fo_config_site(d->h.cfg, st->primary) : NULL;
        const struct fo_probe_result *pr = NULL;
        uint64_t now = uv_now(d->h.loop);
        if (ps != NULL && ps != site && ps->postgres != NULL) {
            size_t k;
            fo_component_probe_name(FO_COMPONENT_POSTGRES, ps->name, name, sizeof(name));
            k = fo_prober_find(d->prober, name);
            if (k != (size_t)-1 && fo_prober_check_status(d->prober, k) == FO_STATUS_UP &&
                fo_prober_result(d->prober, k) != NULL && fo_prober_result(d->prober, k)->ok)
                pr = fo_prober_result(d->prober, k);
        }
        l->known = fo_probe_standby_lag(&r->pg, now - r->at_ms, pr != NULL ? &pr->pg : NULL,
                                        pr != NULL ? now - pr->at_ms : 0, &l->bytes, &l->ms);
    }
}

void fo_ops_input(struct fo_ops *d, struct fo_decision_input *in)
{
    size_t n = 0;

    memset(in, 0, sizeof(*in));
    /* How long verdicts held, on this node's clock (decide/verdict_clock.h). */
    fo_verdict_clock_update(&d->seen, fo_node_state(d->h.node), uv_now(d->h.loop));
    in->local_since = fo_verdict_clock_since;
    in->local_ctx = &d->seen;
    in->mono_now_ms = uv_now(d->h.loop);
    in->state = fo_node_state(d->h.node);
    in->cfg = d->h.cfg;
    in->now_ms = fo_clock_wall_ms();
    for (size_t i = 0; i < d->h.cfg->nsites && i < FO_CONFIG_MAX_SITES; i++)
        site_lag(d, &d->h.cfg->sites[i], &d->lags[i]);
    in->lags = d->lags;
    in->nlags = d->h.cfg->nsites < FO_CONFIG_MAX_SITES ? d->h.cfg->nsites : FO_CONFIG_MAX_SITES;
    /* Peers the leader does not hear from: their verdicts are frozen, so a DOWN they
     * left behind could never be withdrawn. Peers outside the Raft configuration
     * (removed, or not added yet) are frozen too, and their digests do not count. */
    for (size_t i = 0; i < d->h.cfg->npeers && n < FO_CONFIG_MAX_PEERS; i++) {
        uint64_t match;
        bool voter;
        bool outside =
            fo_node_peer_progress(d->h.node, d->h.cfg->peers[i].id, &match, &voter) == -2;
        if (outside)
            d->outside[in->noutside++] = d->h.cfg->peers[i].name;
        if (outside || fo_node_peer_reachable(d->h.node, d->h.cfg->peers[i].id) == 0)
            d->stale[n++] = d->h.cfg->peers[i].name;
    }
    in->stale = d->stale;
    in->nstale = n;
    in->outside = d->outside;
}

json_t *fo_ops_explain(struct fo_ops *d)
{
    struct fo_decision_input in;
    struct fo_decision *dec = &d->decision_scratch;
    json_t *o = json_object(), *lags = json_array();

    fo_ops_input(d, &in);
    fo_decision_explain(&in, dec);
    json_object_set_new(o, "would_fail_over", json_boolean(dec->kind == FO_DECISION_FAILOVER));
    json_object_set_new(o, "reason", json_string(fo_decision_reason_names[dec->reason]));
    json_object_set_new(o, "text", json_string(dec->text));
    for (size_t i = 0; i < in.nlags; i++) {
        json_t *l = json_object();
        json_object_set_new(l, "site", json_string(in.lags[i].site));
        json_object_set_new(l, "lag_bytes",
                            in.lags[i].known ? json_integer((json_int_t)in.lags[i].bytes)
                                             : json_null());
        json_object_set_new(
            l, "lag_ms", in.lags[i].known ? json_integer((json_int_t)in.lags[i].ms) : json_null());
        json_array_append_new(lags, l);
    }
    json_object_set_new(o, "lags", lags);
    return o;
}

/* ---- beginning an operation -------------------------------------------------------- */

void ops_answerf(const struct fo_ops_answer *ans, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fo_reply_vsend(ans->reply, ans->data, code, fmt, ap);
    va_end(ap);
}

const struct fo_peer *fo_ops_leader(const struct fo_node *node, const struct fo_config *cfg)
{
    uint64_t id;
    const char *addr;
    fo_node_leader(node, &id, &addr);
    return id != 0 ? fo_config_peer_by_id(cfg, id) : NULL;
}

void fo_ops_not_leader(const struct fo_node *node, const struct fo_config *cfg,
                       struct fo_reply *rep, char *msg, size_t cap)
{
    const struct fo_peer *leader = fo_ops_leader(node, cfg);

    memset(rep, 0, sizeof(*rep));
    rep->message = msg;
    if (leader == cfg->self) {
        rep->code = FO_REPLY_NO_QUORUM;
        snprintf(msg, cap, "%s was just elected and is catching up; retry", leader->name);
    } else if (leader == NULL) {
        rep->code = FO_REPLY_NO_QUORUM;
        snprintf(msg, cap, "no leader known to %s: no quorum reachable", cfg->self->name);
    } else {
        rep->code = FO_REPLY_NOT_LEADER;
        snprintf(msg, cap, "%s is not the leader; the leader is %s", cfg->self->name, leader->name);
        rep->leader = leader->admin;
    }
}

/* A proposed op_begin; answers the admin call (if any) when it commits. */
struct begin_req {
    struct fo_node_propose req;
    struct fo_ops *d;
    struct fo_ops_answer ans; /* ans.reply NULL: nobody asked (an automatic failover) */
    int kind;                 /* the reply says what a drill or a rejoin does */
    char id[FO_NAME_MAX + 1];
    char to[FO_NAME_MAX + 1];
};

static void begun(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct begin_req *b = req->data;
    struct fo_ops *d = b->d;
    bool applied = status == 0 && res->outcome == FO_FSM_APPLIED;

    d->begin_pending = false;
    if (applied) {
        fo_log_info("operation.begin", "op=%s epoch=%llu primary=%s", b->id,
                    (unsigned long long)fo_node_state(d->h.node)->epoch,
                    fo_node_state(d->h.node)->primary);
        fo_executor_kick(d->h.executor);
    } else {
        fo_log_warn("operation.begin", "op=%s result=%s reason=\"%s\"", b->id,
                    status != 0 ? "unknown" : "rejected", status != 0 ? "" : res->msg);
    }
    if (b->ans.reply != NULL) {
        if (applied && b->kind == FO_OP_REJOIN)
            ops_answerf(&b->ans, FO_REPLY_OK,
                        "rejoin %s committed: %s is re-seeded as a standby of %s; follow it with "
                        "failoverctl status",
                        b->id, b->to, fo_node_state(d->h.node)->primary);
        else if (applied && b->kind == FO_OP_DRILL)
            ops_answerf(&b->ans, FO_REPLY_OK,
                        "drill %s committed: the plan runs in check mode and changes "
                        "nothing; follow it with failoverctl status, then "
                        "failoverctl report",
                        b->id);
        else if (applied)
            ops_answerf(&b->ans, FO_REPLY_OK,
                        "operation %s committed: %s is now the decided primary; "
                        "follow it with failoverctl status",
                        b->id, fo_node_state(d->h.node)->primary);
        else if (status == FO_NODE_UNKNOWN)
            ops_answerf(&b->ans, FO_REPLY_FAILED,
                        "leadership lost before the commit: outcome unknown, check "
                        "status");
        else if (status != 0)
            ops_answerf(&b->ans, FO_REPLY_INTERNAL, "raft storage error");
        else
            ops_answerf(&b->ans, FO_REPLY_REFUSED, "%s", res->msg);
    }
    free(b);
}

int ops_begin(struct fo_ops *d, const struct fo_decision *dec, int kind, const char *id,
              const char *reason, const char *by, const struct fo_ops_answer *ans)
{
    struct fo_cmd cmd = {.type = FO_CMD_OP_BEGIN};
    struct fo_step_spec specs[FO_MAX_STEPS];
    /* A rejoin runs its built-in plan (plan.h); every other kind the configured one. */
    const struct fo_plan *plan = kind == FO_OP_REJOIN ? fo_plan_rejoin() : &d->h.cfg->plan;
    bool moves = fo_op_kind_moves_primary(kind);
    struct begin_req *b;
    int rv;

    if (d->begin_pending || plan->nsteps > FO_MAX_STEPS)
        return -1;
    for (size_t i = 0; i < plan->nsteps; i++) {
        specs[i].name = plan->steps[i].name;
        specs[i].action = plan->steps[i].action;
    }
    cmd.u.op_begin.id = (char *)id;
    cmd.u.op_begin.kind = kind;
    cmd.u.op_begin.from = (char *)dec->from;
    cmd.u.op_begin.to = (char *)dec->to;
    cmd.u.op_begin.reason = (char *)reason;
    cmd.u.op_begin.requested_by = (char *)by;
    cmd.u.op_begin.epoch = moves ? dec->epoch : fo_node_state(d->h.node)->epoch;
    cmd.u.op_begin.force = dec->force;
    cmd.u.op_begin.detected_ms = dec->detected_ms;
    /* The data-loss estimate the report gives: the target's lag as the gate saw it. */
    if (dec->ncandidates > 0 && dec->candidates[0].lag_known && moves) {
        cmd.u.op_begin.lag_known = true;
        cmd.u.op_begin.lag_bytes = dec->candidates[0].lag_bytes;
        cmd.u.op_begin.lag_ms = dec->candidates[0].lag_ms;
    }
    cmd.u.op_begin.at_ms = fo_clock_wall_ms();
    cmd.u.op_begin.steps = specs;
    cmd.u.op_begin.nsteps = plan->nsteps;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return -1;
    b->d = d;
    if (ans != NULL)
        b->ans = *ans;
    b->kind = kind;
    snprintf(b->id, sizeof(b->id), "%s", id);
    snprintf(b->to, sizeof(b->to), "%s", dec->to);
    b->req.data = b;
    rv = fo_node_propose(d->h.node, &b->req, &cmd, begun);
    if (rv != 0) {
        free(b);
        return -1;
    }
    d->begin_pending = true;
    return 0;
}

/* Log the decision when its reason changes, not every tick. */
static void log_decision(struct fo_ops *d, const struct fo_decision *dec)
{
    if ((int)dec->reason == d->last_reason)
        return;
    d->last_reason = (int)dec->reason;
    fo_log_info("decision", "result=%s reason=%s text=\"%s\"",
                dec->kind == FO_DECISION_FAILOVER ? "failover" : "none",
                fo_decision_reason_names[dec->reason], dec->text);
}

static void decide(struct fo_ops *d)
{
    struct fo_decision_input in;
    struct fo_decision *dec = &d->decision_scratch;
    char reason[FO_TEXT_MAX];

    if (d->begin_pending || fo_node_state(d->h.node)->operation != NULL)
        return;
    /* Our own latest view must be in the FSM before we act on the FSM. */
    if (!fo_verdicts_settled(d->h.verdicts, d->h.cfg->self->name))
        return;
    fo_ops_input(d, &in);
    fo_decision_auto(&in, dec);
    log_decision(d, dec);
    /* Decide on events, not on the 500 ms tick: the moment the quorum will have held
     * long enough is a deadline of its own. */
    if (dec->reason == FO_REASON_DOWN_TOO_SHORT && dec->ready_in_ms > 0 && d->h.kick != NULL)
        d->h.kick(d->h.kick_ctx, dec->ready_in_ms + 1);
    if (dec->kind != FO_DECISION_FAILOVER)
        return;
    snprintf(reason, sizeof(reason), "automatic: %.480s", dec->text); /* wire limit */
    if (ops_begin(d, dec, FO_OP_AUTO, dec->op_id, reason, d->h.cfg->self->name, NULL) == 0)
        fo_log_warn("decision.failover", "op=%s from=%s to=%s epoch=%llu detected_ms=%llu",
                    dec->op_id, dec->from, dec->to, (unsigned long long)dec->epoch,
                    (unsigned long long)dec->detected_ms);
}

static void cooldown_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct fo_ops *d = req->data;
    d->cooldown_pending = false;
    if (status != 0 || res->outcome != FO_FSM_APPLIED)
        fo_log_warn("operation.cooldown", "result=%s", status != 0 ? "unknown" : res->msg);
}

/* The executor's on_finished: commit the cooldown after a failover or switchover. */
static void ops_finished(struct fo_executor *ex, const struct fo_operation *op)
{
    struct fo_ops *d = ex->data;
    struct fo_cmd cmd = {.type = FO_CMD_COOLDOWN};

    fo_log_info("operation.end", "op=%s result=%s", op->id,
                fo_enum_name(fo_op_result_names, op->result));
    if (!fo_op_kind_moves_primary(op->kind) || d->h.cfg->decision.cooldown_ms == 0)
        return;
    /* Anti-flapping: no automatic failover right after one, whoever started it. */
    if (d->cooldown_pending)
        return;
    cmd.u.cooldown.until_ms = fo_clock_wall_ms() + d->h.cfg->decision.cooldown_ms;
    cmd.u.cooldown.by = d->h.cfg->self->name;
    cmd.u.cooldown.at_ms = fo_clock_wall_ms();
    d->cooldown_req.data = d;
    if (fo_node_propose(d->h.node, &d->cooldown_req, &cmd, cooldown_done) == 0)
        d->cooldown_pending = true;
    else
        fo_log_warn("operation.cooldown", "result=not-proposed");
}

void fo_ops_init(struct fo_ops *d, const struct fo_ops_handles *h)
{
    struct fo_lease_params p;

    memset(d, 0, sizeof(*d));
    d->h = *h;
    d->last_reason = -1;
    p = fo_lease_params_of(d->h.cfg);
    d->h.executor->data = d;
    d->h.executor->on_finished = ops_finished;
    d->h.executor->gate = ops_lease_gate;
    d->h.lease->data = d;
    d->h.lease->on_fence = ops_lease_fence;
    d->h.lease->propose = ops_lease_propose;
    d->h.lease->send = ops_lease_send;
    fo_lease_init(d->h.lease, d->h.loop, d->h.node, d->h.cfg, &p);
}

void fo_ops_start(struct fo_ops *d, struct fo_prober *prober)
{
    d->prober = prober;
    fo_lease_start(d->h.lease);
}

void fo_ops_close(struct fo_ops *d)
{
    d->closing = true;
    fo_verdict_clock_free(&d->seen); /* a later fo_ops_input starts a new table */
}

void fo_ops_tick(struct fo_ops *d)
{
    if (fo_node_ready(d->h.node) && fo_node_state(d->h.node)->cluster != NULL) {
        decide(d);
        fo_placement_tick(&d->placement, d->h.node, d->h.cfg);
    }
}

/* ---- operator requests -------------------------------------------------------------- */

/* The plan as an operation of kind would run it (a switchover's fences are required). */
static json_t *plan_json(const struct fo_plan *plan, int kind)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < plan->nsteps; i++) {
        const struct fo_plan_step *st = &plan->steps[i];
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(st->name));
        json_object_set_new(o, "action", json_string(st->action));
        json_object_set_new(o, "target",
                            json_string(st->target == FO_TARGET_TO     ? "to"
                                        : st->target == FO_TARGET_FROM ? "from"
                                                                       : "none"));
        json_object_set_new(o, "timeout_ms", json_integer(st->timeout_ms));
        json_object_set_new(o, "attempts", json_integer(st->attempts));
        json_object_set_new(o, "on_failure",
                            json_string(st->continue_on_failure &&
                                                !(kind == FO_OP_SWITCHOVER &&
                                                  fo_plan_step_required_in_switchover(st->action))
                                            ? "continue"
                                            : "abort"));
        json_array_append_new(arr, o);
    }
    return arr;
}

static void reply_body(const struct fo_ops_answer *ans, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    struct fo_reply rep = {.code = FO_REPLY_OK};
    json_decref(doc);
    rep.body = body;
    ans->reply(ans->data, &rep);
    free(body);
}

static void answer_not_leader(struct fo_ops *d, const struct fo_ops_answer *ans)
{
    struct fo_reply rep;
    char msg[FO_TEXT_MAX];
    fo_ops_not_leader(d->h.node, d->h.cfg, &rep, msg, sizeof(msg));
    ans->reply(ans->data, &rep);
}

/* failover and switchover: decide as the operator asked, then answer a dry run with what
 * would happen or commit the op_begin. */
static void operator_move(struct fo_ops *d, const struct fo_ops_answer *ans, int kind,
                          const char *to, bool force, bool dry_run, const char *reason,
                          const char *by)
{
    struct fo_decision_input in;
    struct fo_decision *dec = &d->decision_scratch;
    const char *verb = kind == FO_OP_SWITCHOVER ? "switchover" : "failover";
    char why[FO_TEXT_MAX], text[FO_TEXT_MAX];

    if (!fo_node_ready(d->h.node)) {
        answer_not_leader(d, ans);
        return;
    }
    if (to == NULL || to[0] == '\0') {
        ops_answerf(ans, FO_REPLY_BAD_REQUEST, "%s: --to SITE is required", verb);
        return;
    }
    fo_ops_input(d, &in);
    if (kind == FO_OP_SWITCHOVER)
        fo_decision_switchover(&in, to, dec);
    else
        fo_decision_manual(&in, to, force, dec);
    if (dry_run) {
        json_t *doc = json_object();
        json_object_set_new(doc, "dry_run", json_true());
        json_object_set_new(doc, "kind", json_string(verb));
        json_object_set_new(doc, "would_fail_over",
                            json_boolean(dec->kind == FO_DECISION_FAILOVER));
        json_object_set_new(doc, "reason", json_string(fo_decision_reason_names[dec->reason]));
        json_object_set_new(doc, "text", json_string(dec->text));
        json_object_set_new(doc, "from", json_string(fo_node_state(d->h.node)->primary));
        json_object_set_new(doc, "to", json_string(to));
        json_object_set_new(doc, "epoch", json_integer((json_int_t)dec->epoch));
        json_object_set_new(doc, "force", json_boolean(force));
        json_object_set_new(doc, "plan", plan_json(&d->h.cfg->plan, kind));
        json_object_set_new(doc, "decision", fo_ops_explain(d));
        reply_body(ans, doc);
        return;
    }
    if (dec->kind != FO_DECISION_FAILOVER) {
        bool gate = dec->reason == FO_REASON_LAG_BYTES || dec->reason == FO_REASON_LAG_MS ||
                    dec->reason == FO_REASON_LAG_UNKNOWN || dec->reason == FO_REASON_NOT_REPLICA ||
                    dec->reason == FO_REASON_STANDBY_UNHEALTHY;
        ops_answerf(ans, FO_REPLY_REFUSED, "%s%s", dec->text,
                    !gate                      ? ""
                    : kind == FO_OP_SWITCHOVER ? " (a switchover never loses data: "
                                                 "wait, or use failover --force)"
                                               : " (--force overrides the health and "
                                                 "RPO gates)");
        return;
    }
    /* The operator's words, shortened at a character boundary to leave room for ours. */
    snprintf(text, sizeof(text), "%s", reason != NULL ? reason : "operator request");
    fo_utf8_cut(text, 480);
    if (kind == FO_OP_SWITCHOVER)
        snprintf(why, sizeof(why), "switchover: %.480s", text);
    else
        snprintf(why, sizeof(why), "manual%s: %.480s", force ? " (forced)" : "", text);
    if (ops_begin(d, dec, kind, dec->op_id, why, by, ans) != 0)
        ops_answerf(ans, FO_REPLY_BUSY, "another operation is being committed; retry");
}

void fo_ops_failover(struct fo_ops *d, const struct fo_ops_answer *ans, const char *to, bool force,
                     bool dry_run, const char *reason, const char *by)
{
    operator_move(d, ans, FO_OP_MANUAL, to, force, dry_run, reason, by);
}

void fo_ops_switchover(struct fo_ops *d, const struct fo_ops_answer *ans, const char *to,
                       bool dry_run, const char *reason, const char *by)
{
    operator_move(d, ans, FO_OP_SWITCHOVER, to, false, dry_run, reason, by);
}

void fo_ops_drill(struct fo_ops *d, const struct fo_ops_answer *ans, const char *to, const char *by)
{
    struct fo_decision dec;
    const struct fo_state *st = fo_node_state(d->h.node);
    char id[FO_NAME_MAX + 1];

    if (!fo_node_ready(d->h.node)) {
        answer_not_leader(d, ans);
        return;
    }
    if (st->cluster == NULL || st->primary == NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "the cluster is not initialised yet");
        return;
    }
    if (st->operation != NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "operation %s is in flight", st->operation->id);
        return;
    }
    memset(&dec, 0, sizeof(dec));
    snprintf(dec.from, sizeof(dec.from), "%s", st->primary);
    if (to != NULL && fo_config_site(d->h.cfg, to) == NULL) {
        ops_answerf(ans, FO_REPLY_BAD_REQUEST, "drill: --to: '%.64s' is not a site", to);
        return;
    }
    /* The drill rehearses a failover to `to` (default: the primary itself), in check
     * mode: every step validates credentials and preconditions and changes nothing. */
    snprintf(dec.to, sizeof(dec.to), "%s", to != NULL ? to : st->primary);
    snprintf(id, sizeof(id), "drill-e%llu-%llu", (unsigned long long)st->epoch,
             (unsigned long long)fo_clock_wall_ms());
    if (ops_begin(d, &dec, FO_OP_DRILL, id, "drill: the runbook's failover simulation", by, ans) !=
        0)
        ops_answerf(ans, FO_REPLY_BUSY, "another operation is being committed; retry");
}
