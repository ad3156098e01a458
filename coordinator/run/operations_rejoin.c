/*
 * coordinator/run/operations_rejoin.c — failoverctl rejoin SITE (operations.h,
 * fo_ops_rejoin): re-seed a former primary site as a standby of the primary, as an
 * operation of kind rejoin that runs the built-in rejoin plan (config/plan.h).
 *
 * Before it commits anything the leader asks the servers themselves, since only they
 * know whether they still take writes: it runs the plan's actions in check mode
 * (redis.rejoin, postgres.rejoin) in the thread pool, each bounded by PRECHECK_MS, and
 * refuses (exit 4) with the action's own words when one of them refuses — a server that
 * is out of recovery / a master and not fenced, a primary of a newer epoch, a site
 * without a rejoin_command. A check that fails (the primary's Redis unreachable) answers
 * "failed" and commits nothing. The op_begin itself goes through the FSM, which checks
 * again what it can (no operation in flight, SITE is not the primary). Only then does the
 * executor run the actions, on the leader; the journal makes the rejoin resumable.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/clock.h"
#include "coordinator/log.h"
#include "coordinator/run/action_job.h"
#include "coordinator/run/operations_internal.h"
#include "coordinator/run/plan_params.h"

#define PRECHECK_MS 10000 /* each check: a connect and a few queries per server */
#define MAX_PARAMS  64

struct rejoin_check;

/* One check-mode action of the rejoin plan. */
struct rejoin_probe {
    struct fo_action_job job;
    struct rejoin_check *parent;
    char step[FO_NAME_MAX + 1];
};

/* The request while its checks run; freed when the last one is back. */
struct rejoin_check {
    struct fo_ops *d;
    struct fo_ops_answer ans;
    char site[FO_NAME_MAX + 1];
    char reason[FO_TEXT_MAX];
    char by[FO_NAME_MAX + 1];
    size_t pending;
    int worst;             /* enum fo_action_status: DONE < FAILED < REFUSED, by weight */
    char why[FO_TEXT_MAX]; /* the worst check's step and detail */
};

/* How much a check's result weighs: a refusal wins over a failure, either over success. */
static int weight(int status)
{
    return status == FO_ACTION_REFUSED ? 2 : status == FO_ACTION_FAILED ? 1 : 0;
}

/* Every check is back: refuse, fail, or commit the op_begin. */
static void checked(struct rejoin_check *c)
{
    struct fo_ops *d = c->d;
    const struct fo_state *st = fo_node_state(d->h.node);
    struct fo_decision dec;
    char id[FO_NAME_MAX + 1], why[FO_TEXT_MAX];

    d->rejoin_checking = false;
    if (d->closing) {
        ops_answerf(&c->ans, FO_REPLY_INTERNAL, "the node is stopping");
    } else if (c->worst == FO_ACTION_REFUSED) {
        fo_log_warn("operation.rejoin", "site=%s result=refused why=\"%s\"", c->site, c->why);
        ops_answerf(&c->ans, FO_REPLY_REFUSED, "rejoin %s refused: %s", c->site, c->why);
    } else if (c->worst == FO_ACTION_FAILED) {
        ops_answerf(&c->ans, FO_REPLY_FAILED, "rejoin %s not started: %s", c->site, c->why);
    } else if (!fo_node_ready(d->h.node)) {
        struct fo_reply rep;
        char msg[FO_TEXT_MAX];
        fo_ops_not_leader(d->h.node, d->h.cfg, &rep, msg, sizeof(msg));
        c->ans.reply(c->ans.data, &rep);
    } else {
        memset(&dec, 0, sizeof(dec));
        snprintf(dec.from, sizeof(dec.from), "%s", st->primary != NULL ? st->primary : "");
        snprintf(dec.to, sizeof(dec.to), "%s", c->site);
        dec.epoch = st->epoch;
        snprintf(id, sizeof(id), "rejoin-e%llu-%llu", (unsigned long long)st->epoch,
                 (unsigned long long)fo_clock_wall_ms());
        snprintf(why, sizeof(why), "rejoin: %.480s", c->reason);
        if (ops_begin(d, &dec, FO_OP_REJOIN, id, why, c->by, &c->ans) != 0)
            ops_answerf(&c->ans, FO_REPLY_BUSY, "another operation is being committed; retry");
    }
    free(c);
}

static void probe_done(struct fo_action_job *job, int status)
{
    struct rejoin_probe *p =
        (struct rejoin_probe *)((char *)job - offsetof(struct rejoin_probe, job));
    struct rejoin_check *c = p->parent;
    int res = status != 0 ? FO_ACTION_FAILED : job->res.status;

    fo_log_info("operation.rejoin.check", "site=%s step=%s result=%s detail=\"%s\"", c->site,
                p->step,
                res == FO_ACTION_DONE      ? "ok"
                : res == FO_ACTION_REFUSED ? "refused"
                                           : "failed",
                status != 0 ? "not run" : job->res.detail);
    if (weight(res) > weight(c->worst)) {
        c->worst = res;
        snprintf(c->why, sizeof(c->why), "%s: %.440s", p->step,
                 status != 0 ? "the check did not run" : job->res.detail);
        fo_utf8_cut(c->why, FO_TEXT_MAX - 64);
    }
    fo_action_job_release(job);
    free(p);
    if (--c->pending == 0)
        checked(c);
}

/* Queue the check of step ps for c. 0 when queued or nothing to check (no such
 * component); -1 with c->why set when its parameters cannot be made. */
static int queue_probe(struct rejoin_check *c, const struct fo_plan_step *ps)
{
    struct fo_ops *d = c->d;
    const struct fo_state *st = fo_node_state(d->h.node);
    struct fo_kv params[MAX_PARAMS];
    struct fo_action_req req = {0};
    struct rejoin_probe *p = NULL;
    struct fo_kv *kv;
    char msg[256];
    int n = fo_plan_params(d->h.cfg, ps, c->site, params, MAX_PARAMS, msg, sizeof(msg));

    if (n == FO_PLAN_PARAMS_NO_COMPONENT)
        return 0;
    if (n >= 0) {
        int m = fo_plan_rejoin_params(d->h.cfg, ps->action, st->primary, c->site, params, (size_t)n,
                                      MAX_PARAMS);
        if (m < 0) {
            for (int i = 0; i < n; i++) {
                free(params[i].key);
                free(params[i].value);
            }
            snprintf(msg, sizeof(msg), "too many parameters or out of memory");
        }
        n = m;
    }
    if (n < 0) {
        snprintf(c->why, sizeof(c->why), "%s: %s", ps->name, msg);
        return -1;
    }
    /* The job takes a heap array of the parameters (action_job.h). */
    kv = calloc((size_t)n + 1, sizeof(*kv));
    if (kv == NULL || (p = calloc(1, sizeof(*p))) == NULL) {
        for (int i = 0; i < n; i++) {
            free(params[i].key);
            free(params[i].value);
        }
        free(kv);
        snprintf(c->why, sizeof(c->why), "out of memory");
        return -1;
    }
    memcpy(kv, params, (size_t)n * sizeof(*kv));
    p->parent = c;
    snprintf(p->step, sizeof(p->step), "%s", ps->name);
    req.kind = ps->action;
    req.op_id = "rejoin-check";
    req.epoch = st->epoch;
    req.op_kind = fo_enum_name(fo_op_kind_names, FO_OP_REJOIN);
    req.from = st->primary;
    req.to = c->site;
    req.reason = c->reason;
    req.check_only = true;
    req.deadline_ms = fo_action_now_ms() + PRECHECK_MS;
    if (fo_action_job_init(&p->job, &req, kv, (size_t)n) != 0 ||
        fo_action_job_queue(&p->job, d->h.loop, d->h.executor->runner.run, probe_done) != 0) {
        fo_action_job_release(&p->job);
        free(p);
        snprintf(c->why, sizeof(c->why), "%s: the check cannot be started", ps->name);
        return -1;
    }
    c->pending++;
    return 0;
}

void fo_ops_rejoin(struct fo_ops *d, const struct fo_ops_answer *ans, const char *site,
                   const char *reason, const char *by)
{
    const struct fo_state *st = fo_node_state(d->h.node);
    const struct fo_plan *plan = fo_plan_rejoin();
    const struct fo_site *s;
    struct rejoin_check *c;
    bool failed = false;

    if (!fo_node_ready(d->h.node)) {
        struct fo_reply rep;
        char msg[FO_TEXT_MAX];
        fo_ops_not_leader(d->h.node, d->h.cfg, &rep, msg, sizeof(msg));
        ans->reply(ans->data, &rep);
        return;
    }
    if (site == NULL || site[0] == '\0') {
        ops_answerf(ans, FO_REPLY_BAD_REQUEST, "rejoin: SITE is required");
        return;
    }
    if (st->cluster == NULL || st->primary == NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "the cluster is not initialised yet");
        return;
    }
    if ((s = fo_config_site(d->h.cfg, site)) == NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "rejoin: '%.64s' is not a site", site);
        return;
    }
    if (strcmp(site, st->primary) == 0) {
        ops_answerf(ans, FO_REPLY_REFUSED,
                    "%s is the primary: rejoin re-seeds another site as a standby of it", site);
        return;
    }
    if (st->operation != NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "operation %s is in flight", st->operation->id);
        return;
    }
    if (s->postgres == NULL && s->redis == NULL) {
        ops_answerf(ans, FO_REPLY_REFUSED, "%s has neither Postgres nor Redis: nothing to re-seed",
                    site);
        return;
    }
    if (d->begin_pending || d->rejoin_checking) {
        ops_answerf(ans, FO_REPLY_BUSY, "another operation is being committed; retry");
        return;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        ops_answerf(ans, FO_REPLY_INTERNAL, "out of memory");
        return;
    }
    c->d = d;
    c->ans = *ans;
    c->worst = FO_ACTION_DONE;
    snprintf(c->site, sizeof(c->site), "%s", site);
    snprintf(c->reason, sizeof(c->reason), "%s", reason != NULL ? reason : "operator request");
    fo_utf8_cut(c->reason, 400);
    snprintf(c->by, sizeof(c->by), "%s", by);
    /* One more than the probes, released below: no answer before every probe is queued. */
    c->pending = 1;
    for (size_t i = 0; i < plan->nsteps && !failed; i++)
        failed = queue_probe(c, &plan->steps[i]) != 0;
    if (failed) {
        c->worst = FO_ACTION_FAILED;
        fo_log_warn("operation.rejoin", "site=%s result=not-started why=\"%s\"", site, c->why);
    }
    d->rejoin_checking = c->pending > 1;
    if (--c->pending == 0)
        checked(c);
}
