/*
 * coordinator/serve/commands.c — see commands.h.
 */
#include "coordinator/serve/commands.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coordinator/clock.h"
#include "coordinator/log.h"
#include "coordinator/run/executor.h"
#include "coordinator/run/operations.h"
#include "coordinator/serve/members_cmd.h"
#include "coordinator/serve/status.h"
#include "coordinator/serve/upgrade_cmd.h"

void fo_commands_reply_json(struct fo_admin_call *call, json_t *doc)
{
    char *body = json_dumps(doc, JSON_COMPACT);
    struct fo_reply rep = {.code = FO_REPLY_OK};

    json_decref(doc);
    if (body == NULL || strlen(body) > FO_BODY_MAX) {
        free(body);
        fo_admin_call_replyf(call, FO_REPLY_INTERNAL, "reply document too large");
        return;
    }
    rep.body = body;
    fo_admin_call_reply(call, &rep);
    free(body);
}

int fo_commands_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

/* fo_ops answers an operator's request through this (run/operations.h). */
static void answer_call(void *data, const struct fo_reply *rep)
{
    fo_admin_call_reply(data, rep);
}

void fo_commands_not_leader(struct fo_serve *s, struct fo_admin_call *call)
{
    struct fo_reply rep;
    char msg[FO_TEXT_MAX];

    fo_ops_not_leader(s->node, s->cfg, &rep, msg, sizeof(msg));
    fo_admin_call_reply(call, &rep);
}

/* A proposal made for an admin call. Owned by itself: freed in its callback. */
struct propose_call {
    struct fo_node_propose req;
    struct fo_admin_call *call;
    char ok_message[FO_TEXT_MAX];
};

static void propose_done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct propose_call *pc = req->data;

    if (status == FO_NODE_UNKNOWN)
        fo_admin_call_replyf(pc->call, FO_REPLY_FAILED,
                             "leadership lost before the commit: outcome unknown, check status");
    else if (status != 0)
        fo_admin_call_replyf(pc->call, FO_REPLY_INTERNAL, "raft storage error");
    else if (res->outcome == FO_FSM_APPLIED)
        fo_admin_call_replyf(pc->call, FO_REPLY_OK, "%s", pc->ok_message);
    else
        fo_admin_call_replyf(pc->call, FO_REPLY_REFUSED, "%s", res->msg);
    free(pc);
}

void fo_commands_propose(struct fo_serve *s, struct fo_admin_call *call, const struct fo_cmd *cmd,
                         const char *ok_message)
{
    struct propose_call *pc;
    int rv;

    if (!fo_node_ready(s->node)) {
        fo_commands_not_leader(s, call);
        return;
    }
    pc = calloc(1, sizeof(*pc));
    if (pc == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_INTERNAL, "out of memory");
        return;
    }
    pc->call = call;
    pc->req.data = pc;
    snprintf(pc->ok_message, sizeof(pc->ok_message), "%s", ok_message);
    rv = fo_node_propose(s->node, &pc->req, cmd, propose_done);
    if (rv == FO_NODE_EENCODE) {
        free(pc);
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                             "the command does not encode (a field is too long or empty)");
    } else if (rv == FO_NODE_EFORMAT) {
        free(pc);
        fo_admin_call_replyf(call, FO_REPLY_REFUSED,
                             "this needs a newer cluster format than v%u: finish the upgrade "
                             "first (failoverctl upgrade finish)",
                             fo_state_format(fo_node_state(s->node)));
    } else if (rv != 0) {
        free(pc);
        fo_commands_not_leader(s, call);
    }
}

/* ---- read-only -------------------------------------------------------------------- */

bool fo_commands_redirect_to_leader(struct fo_serve *s, struct fo_admin_call *call)
{
    const struct fo_peer *leader = fo_ops_leader(s->node, s->cfg);
    if (fo_node_ready(s->node) || leader == NULL || leader == s->cfg->self)
        return false;
    fo_commands_not_leader(s, call);
    return true;
}

/* This node's own probes: what it sees of every region. */
static json_t *checks_json(struct fo_serve *s)
{
    json_t *arr = json_array();

    for (size_t i = 0; s->prober != NULL && i < fo_prober_count(s->prober); i++) {
        const struct fo_probe_spec *sp = fo_prober_spec(s->prober, i);
        const struct fo_probe_result *r = fo_prober_result(s->prober, i);
        json_t *o = json_object();
        json_object_set_new(o, "name", json_string(sp->name));
        json_object_set_new(o, "region", json_string(sp->region));
        json_object_set_new(o, "critical", json_boolean(sp->critical));
        json_object_set_new(
            o, "status",
            json_string(fo_enum_name(fo_status_names, fo_prober_check_status(s->prober, i))));
        json_object_set_new(o, "detail", r != NULL ? json_string(r->detail) : json_null());
        json_object_set_new(o, "latency_ms",
                            r != NULL && r->at_ms != 0 ? json_real((double)r->latency_us / 1000.0)
                                                       : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *fo_commands_status(struct fo_serve *s)
{
    json_t *doc = fo_status_build(s->cfg, s->node);
    /* Why the cluster would or would not fail over now, as the leader reasons. */
    json_object_set_new(doc, "decision", fo_ops_explain(s->ops));
    json_object_set_new(doc, "checks", checks_json(s));
    /* "self_fenced" (kept for scripts): this node holds its components fenced. */
    json_object_set_new(doc, "self_fenced", json_boolean(s->lease->fenced));
    json_object_set_new(doc, "lease", fo_status_lease(s->ops->h.lease, uv_now(s->ops->h.loop)));
    return doc;
}

static void cmd_status(struct fo_serve *s, struct fo_admin_call *call,
                       const struct fo_admin_req *req)
{
    (void)req;
    fo_commands_reply_json(call, fo_commands_status(s));
}

static void cmd_history(struct fo_serve *s, struct fo_admin_call *call,
                        const struct fo_admin_req *req)
{
    const struct fo_state *st = fo_node_state(s->node);
    const char *limit_s = fo_admin_req_arg(req, "limit");
    uint64_t limit = 20;
    json_t *ops, *doc, *events;

    if (fo_commands_redirect_to_leader(s, call))
        return;
    ops = json_array();
    doc = json_object();
    events = json_array();
    if (limit_s != NULL && (fo_commands_parse_u64(limit_s, &limit) != 0 || limit == 0)) {
        json_decref(ops);
        json_decref(doc);
        json_decref(events);
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                             "history: limit: expected a positive number, got '%.32s'", limit_s);
        return;
    }
    /* Newest first: history, then the archive (older, kept without their steps). */
    for (size_t i = st->nhistory; i > 0 && json_array_size(ops) < limit; i--)
        json_array_append_new(ops, fo_status_operation(&st->history[i - 1]));
    for (size_t i = st->narchive; i > 0 && json_array_size(ops) < limit; i--)
        json_array_append_new(ops, fo_status_operation(&st->archive[i - 1]));
    for (size_t i = st->nevents; i > 0 && json_array_size(events) < limit; i--) {
        const struct fo_event *ev = &st->events[i - 1];
        json_t *o = json_object();
        json_object_set_new(o, "at_ms", json_integer((json_int_t)ev->at_ms));
        json_object_set_new(o, "what", json_string(ev->what));
        json_object_set_new(o, "by", ev->by != NULL ? json_string(ev->by) : json_null());
        json_object_set_new(o, "text", ev->text != NULL ? json_string(ev->text) : json_null());
        if (ev->until_ms != 0)
            json_object_set_new(o, "until_ms", json_integer((json_int_t)ev->until_ms));
        json_array_append_new(events, o);
    }
    json_object_set_new(doc, "operations", ops);
    json_object_set_new(doc, "operations_kept",
                        json_integer((json_int_t)(st->nhistory + st->narchive)));
    json_object_set_new(doc, "operations_dropped", json_integer((json_int_t)st->history_dropped));
    json_object_set_new(doc, "events", events);
    fo_commands_reply_json(call, doc);
}

/* The report's data-loss estimate (the runbook's RPO line). What a standby never received
 * from a primary that vanished cannot be known afterwards; the best estimate is how far
 * behind the target was when the decision was made, as the RPO gate measured it. */
static json_t *data_loss(const struct fo_operation *op, const struct fo_config *cfg)
{
    json_t *o;
    const char *basis;
    bool drained = op->kind == FO_OP_SWITCHOVER && op->result == FO_RESULT_SUCCEEDED;

    if (!fo_op_kind_moves_primary(op->kind))
        return json_null(); /* a drill (check mode) or a rejoin: nothing moved */
    /* A switchover lost nothing only if it finished and every promote (each of which
     * drains first) is done: a plan may have continued past one. */
    for (size_t i = 0; drained && i < op->nsteps; i++) {
        const char *a = op->steps[i].action;
        size_t n = a != NULL ? strlen(a) : 0;
        if (n >= 8 && strcmp(a + n - 8, ".promote") == 0 && op->steps[i].state != FO_STEP_DONE)
            drained = false;
    }
    o = json_object();
    if (drained) {
        basis = "switchover: promoted only after replaying all the fenced old primary wrote";
        json_object_set_new(o, "bytes", json_integer(0));
        json_object_set_new(o, "ms", json_integer(0));
    } else if (op->lag_known) {
        basis = "the target's replication lag at the decision (the RPO gate's measurement); "
                "writes taken after it may be lost too";
        json_object_set_new(o, "bytes", json_integer((json_int_t)op->lag_bytes));
        json_object_set_new(o, "ms", json_integer((json_int_t)op->lag_ms));
    } else {
        basis = "the target's lag was not measured at the decision (--force?)";
        json_object_set_new(o, "bytes", json_null());
        json_object_set_new(o, "ms", json_null());
    }
    json_object_set_new(o, "basis", json_string(basis));
    json_object_set_new(o, "rpo_target_ms", json_integer((json_int_t)cfg->decision.max_lag_ms));
    return o;
}

/* The incident report of one operation: what the runbook asks to be written down. */
static void cmd_report(struct fo_serve *s, struct fo_admin_call *call,
                       const struct fo_admin_req *req)
{
    const struct fo_state *st = fo_node_state(s->node);
    const char *id = fo_admin_req_arg(req, "id");
    const struct fo_operation *op = NULL;
    json_t *doc;
    char timeline[FO_TEXT_MAX * 2];
    uint64_t t0;

    if (fo_commands_redirect_to_leader(s, call))
        return;
    if (id != NULL) {
        op = st->operation != NULL && strcmp(st->operation->id, id) == 0
                 ? st->operation
                 : fo_fsm_history_find(&s->node->fsm.fsm, id);
    } else if (st->operation != NULL) {
        op = st->operation;
    } else if (st->nhistory > 0) {
        op = &st->history[st->nhistory - 1];
    }
    if (op == NULL) {
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST, "report: %s%s%s",
                             id != NULL ? "no operation '" : "no operation has run yet",
                             id != NULL ? id : "", id != NULL ? "'" : "");
        return;
    }
    doc = json_object();
    json_object_set_new(doc, "operation", fo_status_operation(op));
    fo_executor_timeline(op, s->cfg->plan.rto_target_ms, timeline, sizeof(timeline));
    json_object_set_new(doc, "timeline", json_string(timeline));
    t0 = op->detected_ms != 0 ? op->detected_ms : op->started_ms;
    json_object_set_new(doc, "rto_ms",
                        op->ended_ms >= t0 && op->ended_ms != 0
                            ? json_integer((json_int_t)(op->ended_ms - t0))
                            : json_null());
    json_object_set_new(doc, "rto_target_ms", json_integer((json_int_t)s->cfg->plan.rto_target_ms));
    json_object_set_new(doc, "data_loss", data_loss(op, s->cfg));
    fo_commands_reply_json(call, doc);
}

/* ---- changes ---------------------------------------------------------------------- */

/* Operator text copied into buf (cap bytes) and cut to max bytes at a UTF-8 boundary, so
 * a long `by` or `reason` is shortened here rather than refused by the encoder; def when
 * absent or empty. One place for every command. */
static const char *arg_text(const struct fo_admin_req *req, const char *key, const char *def,
                            char *buf, size_t cap, size_t max)
{
    const char *v = fo_admin_req_arg(req, key);

    if (v == NULL || v[0] == '\0')
        return def;
    snprintf(buf, cap, "%s", v);
    fo_utf8_cut(buf, max < cap ? max : cap - 1);
    return buf;
}

/* Who a change is recorded as (the audit trail, history, the log): the name the token
 * authenticated (tokens.h), never the client's own claim. The claim ("by", failoverctl's
 * USER@HOST) is only logged beside it, as claimed_by, cut like any operator text. Copied
 * into buf: the call (and its identity) is gone once answered, which fo_ops may do before
 * it is done with the name. */
static const char *requester(const struct fo_admin_call *call, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s", fo_admin_call_who(call)->name);
    return buf;
}

#define REQUESTER(call, buf) requester((call), (buf), sizeof(buf))
#define CLAIMED(req, buf)    arg_text((req), "by", "-", (buf), sizeof(buf), FO_NAME_MAX)

static void cmd_mode(struct fo_serve *s, struct fo_admin_call *call, const struct fo_admin_req *req,
                     int mode)
{
    struct fo_cmd cmd = {.type = FO_CMD_MODE};
    char claim[FO_NAME_MAX + 1], by[FO_NAME_MAX + 1], reason[FO_TEXT_MAX + 1];

    cmd.u.mode.mode = mode;
    cmd.u.mode.by = (char *)REQUESTER(call, by);
    cmd.u.mode.reason = (char *)arg_text(req, "reason", NULL, reason, sizeof(reason), FO_TEXT_MAX);
    cmd.u.mode.at_ms = fo_clock_wall_ms();
    fo_log_info("admin.mode", "mode=%s by=\"%s\" claimed_by=\"%s\"",
                mode == FO_MODE_PAUSED ? "paused" : "auto", cmd.u.mode.by, CLAIMED(req, claim));
    fo_commands_propose(s, call, &cmd,
                        mode == FO_MODE_PAUSED ? "paused: no automatic failover until resume"
                                               : "resumed: automatic failover is on");
}

static void cmd_pause(struct fo_serve *s, struct fo_admin_call *call,
                      const struct fo_admin_req *req)
{
    cmd_mode(s, call, req, FO_MODE_PAUSED);
}

static void cmd_resume(struct fo_serve *s, struct fo_admin_call *call,
                       const struct fo_admin_req *req)
{
    cmd_mode(s, call, req, FO_MODE_AUTO);
}

static bool flag(const struct fo_admin_req *req, const char *key)
{
    const char *v = fo_admin_req_arg(req, key);
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void cmd_failover(struct fo_serve *s, struct fo_admin_call *call,
                         const struct fo_admin_req *req)
{
    const struct fo_ops_answer ans = {answer_call, call};
    char claim[FO_NAME_MAX + 1], buf[FO_NAME_MAX + 1];
    const char *by = REQUESTER(call, buf);
    fo_log_info("admin.failover", "to=%s force=%d dry_run=%d by=\"%s\" claimed_by=\"%s\"",
                fo_admin_req_arg(req, "to") != NULL ? fo_admin_req_arg(req, "to") : "-",
                flag(req, "force"), flag(req, "dry_run"), by, CLAIMED(req, claim));
    fo_ops_failover(s->ops, &ans, fo_admin_req_arg(req, "to"), flag(req, "force"),
                    flag(req, "dry_run"), fo_admin_req_arg(req, "reason"), by);
}

static void cmd_switchover(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req)
{
    const struct fo_ops_answer ans = {answer_call, call};
    char claim[FO_NAME_MAX + 1], buf[FO_NAME_MAX + 1];
    const char *by = REQUESTER(call, buf);
    fo_log_info("admin.switchover", "to=%s dry_run=%d by=\"%s\" claimed_by=\"%s\"",
                fo_admin_req_arg(req, "to") != NULL ? fo_admin_req_arg(req, "to") : "-",
                flag(req, "dry_run"), by, CLAIMED(req, claim));
    fo_ops_switchover(s->ops, &ans, fo_admin_req_arg(req, "to"), flag(req, "dry_run"),
                      fo_admin_req_arg(req, "reason"), by);
}

static void cmd_drill(struct fo_serve *s, struct fo_admin_call *call,
                      const struct fo_admin_req *req)
{
    const struct fo_ops_answer ans = {answer_call, call};
    char claim[FO_NAME_MAX + 1], buf[FO_NAME_MAX + 1];
    const char *by = REQUESTER(call, buf);
    fo_log_info("admin.drill", "by=\"%s\" claimed_by=\"%s\"", by, CLAIMED(req, claim));
    fo_ops_drill(s->ops, &ans, fo_admin_req_arg(req, "to"), by);
}

static void cmd_rejoin(struct fo_serve *s, struct fo_admin_call *call,
                       const struct fo_admin_req *req)
{
    const struct fo_ops_answer ans = {answer_call, call};
    char claim[FO_NAME_MAX + 1], buf[FO_NAME_MAX + 1];
    const char *by = REQUESTER(call, buf);
    fo_log_info("admin.rejoin", "site=%s by=\"%s\" claimed_by=\"%s\"",
                fo_admin_req_arg(req, "site") != NULL ? fo_admin_req_arg(req, "site") : "-", by,
                CLAIMED(req, claim));
    fo_ops_rejoin(s->ops, &ans, fo_admin_req_arg(req, "site"), fo_admin_req_arg(req, "reason"), by);
}

/* Verdict rows exist only for configured observers (a peer, or a feed: each reports as
 * itself) and configured regions (issue 14): a forwarded verdict naming anything else is
 * refused rather than kept in the replicated table for good. Returns 0 or -1 with msg. */
static int verdict_row_allowed(const struct fo_config *cfg, const char *observer,
                               const char *region, char *msg, size_t cap)
{
    bool known_observer = fo_config_peer_by_name(cfg, observer) != NULL, known_region = false;

    for (size_t i = 0; !known_observer && i < cfg->nfeeds; i++)
        known_observer = strcmp(cfg->feeds[i].name, observer) == 0;
    for (size_t i = 0; i < cfg->nregions; i++)
        known_region |= strcmp(cfg->regions[i], region) == 0;
    if (!known_observer) {
        snprintf(msg, cap,
                 "propose: observer: '%.64s' is neither a peer nor a feed of this cluster",
                 observer);
        return -1;
    }
    if (!known_region) {
        snprintf(msg, cap, "propose: region: '%.64s' is not a region of this cluster", region);
        return -1;
    }
    return 0;
}

/* Build the command a follower forwarded. Returns 0, or -1 with msg saying which
 * argument is wrong. The strings point into req (valid while the call is). */
static int forwarded_cmd(const struct fo_serve *s, const struct fo_admin_req *req,
                         struct fo_cmd *cmd, char *msg, size_t cap)
{
    const char *t = fo_admin_req_arg(req, "t");
    const char *at = fo_admin_req_arg(req, "at_ms");
    uint64_t at_ms;

    if (fo_commands_parse_u64(at, &at_ms) != 0) {
        snprintf(msg, cap, "propose: at_ms: expected milliseconds, got '%.32s'", at ? at : "");
        return -1;
    }
    if (t != NULL && strcmp(t, "digest") == 0) {
        const char *node = fo_admin_req_arg(req, "node");
        const char *digest = fo_admin_req_arg(req, "digest");
        if (node == NULL || fo_config_peer_by_name(s->cfg, node) == NULL) {
            snprintf(msg, cap, "propose: node: '%.64s' is not a peer of this cluster",
                     node ? node : "");
            return -1;
        }
        if (digest == NULL || digest[0] == '\0' || strlen(digest) > FO_DIGEST_MAX) {
            snprintf(msg, cap, "propose: digest: missing or longer than %d", FO_DIGEST_MAX);
            return -1;
        }
        cmd->type = FO_CMD_DIGEST;
        cmd->u.digest.node = (char *)node;
        cmd->u.digest.digest = (char *)digest;
        cmd->u.digest.at_ms = at_ms;
        return 0;
    }
    if (t != NULL && strcmp(t, "verdict") == 0) {
        const char *status = fo_admin_req_arg(req, "status");
        int st = -1;
        for (int i = 0; i <= FO_STATUS_DOWN; i++)
            if (status != NULL && strcmp(status, fo_status_names[i]) == 0)
                st = i;
        if (st < 0) {
            snprintf(msg, cap, "propose: status: expected up, down or unknown");
            return -1;
        }
        cmd->type = FO_CMD_VERDICT;
        cmd->u.verdict.observer = (char *)fo_admin_req_arg(req, "observer");
        cmd->u.verdict.region = (char *)fo_admin_req_arg(req, "region");
        cmd->u.verdict.reason = (char *)fo_admin_req_arg(req, "reason");
        cmd->u.verdict.status = st;
        cmd->u.verdict.at_ms = at_ms;
        if (cmd->u.verdict.observer == NULL || cmd->u.verdict.region == NULL) {
            snprintf(msg, cap, "propose: observer and region are required");
            return -1;
        }
        return verdict_row_allowed(s->cfg, cmd->u.verdict.observer, cmd->u.verdict.region, msg,
                                   cap);
    }
    if (t != NULL && strcmp(t, "lease") == 0) {
        const char *epoch = fo_admin_req_arg(req, "epoch"), *what = fo_admin_req_arg(req, "what");
        struct fo_cmd_lease *c = &cmd->u.lease;
        int w = -1;
        for (int i = 0; fo_lease_what_names[i] != NULL; i++)
            if (what != NULL && strcmp(what, fo_lease_what_names[i]) == 0)
                w = i;
        c->site = (char *)fo_admin_req_arg(req, "site");
        c->guardian = (char *)fo_admin_req_arg(req, "guardian");
        c->node = (char *)fo_admin_req_arg(req, "node");
        if (w < 0 || fo_commands_parse_u64(epoch, &c->epoch) != 0 || c->site == NULL ||
            c->guardian == NULL || c->node == NULL ||
            fo_config_peer_by_name(s->cfg, c->node) == NULL) {
            snprintf(msg, cap,
                     "propose: lease: site, epoch, guardian, node (a peer) and what "
                     "(expired or fenced) are required");
            return -1;
        }
        cmd->type = FO_CMD_LEASE;
        c->what = w;
        c->at_ms = at_ms;
        return 0;
    }
    snprintf(msg, cap, "propose: t: expected digest, verdict or lease, got '%.32s'", t ? t : "");
    return -1;
}

static void cmd_propose(struct fo_serve *s, struct fo_admin_call *call,
                        const struct fo_admin_req *req)
{
    struct fo_cmd cmd;
    char msg[FO_TEXT_MAX];

    memset(&cmd, 0, sizeof(cmd));
    if (forwarded_cmd(s, req, &cmd, msg, sizeof(msg)) != 0) {
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST, "%s", msg);
        return;
    }
    fo_commands_propose(s, call, &cmd, "committed");
}

/* A guardian's renewal of its write lease (run/lease.h): granted, or refused saying why. */
static void cmd_lease(struct fo_serve *s, struct fo_admin_call *call,
                      const struct fo_admin_req *req)
{
    const char *site = fo_admin_req_arg(req, "site"), *guardian = fo_admin_req_arg(req, "guardian");
    uint64_t epoch;
    enum fo_lease_answer a;

    if (site == NULL || guardian == NULL ||
        fo_commands_parse_u64(fo_admin_req_arg(req, "epoch"), &epoch) != 0) {
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST,
                             "lease: site, epoch and guardian are required");
        return;
    }
    a = fo_lease_grant(s->lease, site, epoch, guardian);
    if (a == FO_LEASE_GRANTED)
        fo_admin_call_replyf(call, FO_REPLY_OK, "granted");
    else
        fo_admin_call_replyf(call, FO_REPLY_REFUSED, "%s", fo_lease_answer_names[a]);
}

/* ---- the table -------------------------------------------------------------------- */

typedef void (*command_fn)(struct fo_serve *s, struct fo_admin_call *call,
                           const struct fo_admin_req *req);

/* The handler of each verb of proto/admin.h's table, which has the names, the role each
 * needs and the arguments; a verb left out here is answered as unknown. */
static const command_fn handlers[FO_VERB_COUNT] = {
    [FO_VERB_STATUS] = cmd_status,
    [FO_VERB_MEMBERS] = fo_members_cmd_list,
    [FO_VERB_HISTORY] = cmd_history,
    [FO_VERB_REPORT] = cmd_report,
    [FO_VERB_PAUSE] = cmd_pause,
    [FO_VERB_RESUME] = cmd_resume,
    [FO_VERB_FAILOVER] = cmd_failover,
    [FO_VERB_SWITCHOVER] = cmd_switchover,
    [FO_VERB_DRILL] = cmd_drill,
    [FO_VERB_REJOIN] = cmd_rejoin,
    [FO_VERB_PROPOSE] = cmd_propose,
    [FO_VERB_LEASE] = cmd_lease,
    [FO_VERB_MEMBERS_ADD] = fo_members_cmd_add,
    [FO_VERB_MEMBERS_REMOVE] = fo_members_cmd_remove,
    [FO_VERB_UPGRADE_FINISH] = fo_upgrade_cmd_finish,
    [FO_VERB_VERSION] = fo_upgrade_cmd_version,
};

/* The roles a credential has, for a message: "read", "read, operate", ... */
static const char *roles_text(const struct fo_identity *who, char *buf, size_t cap)
{
    size_t n = 0;

    buf[0] = '\0';
    for (int r = 0; r < FO_ROLE_COUNT; r++) {
        int k;
        if (!fo_identity_may(who, (enum fo_admin_role)r))
            continue;
        k = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", fo_admin_role_names[r]);
        if (k > 0 && (size_t)k < cap - n)
            n += (size_t)k;
    }
    return n > 0 ? buf : "none";
}

/* Refuse a call whose credential lacks the role the request needs (the verb's, or an
 * argument's: proto/admin.h's table). Returns true when refused (and answered). */
static bool refuse_role(struct fo_admin_call *call, const struct fo_admin_req *req,
                        const struct fo_admin_verb *verb, const struct fo_identity *who)
{
    enum fo_admin_role need = fo_admin_req_role(verb, req);
    char have[64];

    if (fo_identity_may(who, need))
        return false;
    fo_log_warn("admin.forbidden", "cmd=%s by=\"%s\" needs=%s", req->cmd, who->name,
                fo_admin_role_names[need]);
    if (need == FO_ROLE_NODE)
        fo_admin_call_replyf(call, FO_REPLY_FORBIDDEN,
                             "'%s' is node to node only (role node); '%s' has role %s", req->cmd,
                             who->name, roles_text(who, have, sizeof(have)));
    else
        fo_admin_call_replyf(call, FO_REPLY_FORBIDDEN, "'%s'%s needs the %s role; '%s' has role %s",
                             req->cmd, need != verb->role ? " with these options" : "",
                             fo_admin_role_names[need], who->name,
                             roles_text(who, have, sizeof(have)));
    return true;
}

void fo_commands_dispatch(struct fo_serve *s, struct fo_admin_call *call,
                          const struct fo_admin_req *req, const struct fo_identity *who)
{
    int id = fo_admin_verb_find(req->cmd);
    char known[256];
    size_t n = 0;

    if (id >= 0 && handlers[id] != NULL) {
        if (refuse_role(call, req, &fo_admin_verbs[id], who))
            return;
        handlers[id](s, call, req);
        return;
    }
    for (size_t i = 0; i < FO_VERB_COUNT; i++) {
        int k;
        if (handlers[i] == NULL)
            continue;
        k = snprintf(known + n, sizeof(known) - n, "%s%s", n ? ", " : "", fo_admin_verbs[i].name);
        if (k > 0 && (size_t)k < sizeof(known) - n)
            n += (size_t)k;
    }
    fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST, "unknown command '%.32s' (known: %s)",
                         req->cmd, known);
}
