/*
 * coordinator/run/operations_lease.c — the write lease's hands (lease.h decides; see
 * operations.h): the fence and unfence actions of this node's components, renewals sent
 * to peers over the admin port, lease marks proposed through the leader, and the
 * executor's gate on promotes. fo_ops_init wires them in (operations_internal.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/action.h"
#include "coordinator/config/components.h"
#include "coordinator/ctl/admin_client.h"
#include "coordinator/log.h"
#include "coordinator/run/action_job.h"
#include "coordinator/run/operations_internal.h"
#include "coordinator/run/plan_params.h"

/* host, port, dbname, user, password_file and Postgres' TLS settings (actions/pg_ssl.h). */
#define LEASE_FENCE_PARAMS (5 + FO_PG_NSSL)

/* The fence (or unfence) actions of one lease decision, run together; the lease hears
 * once all of them have returned. */
struct fence_batch {
    struct fo_ops *d;
    char site[FO_NAME_MAX + 1];
    uint64_t epoch;
    unsigned pending;
    bool fence;     /* a fence (else an unfence) */
    bool reassert;  /* the same fence again (run/lease.h re-asserts a held fence) */
    bool confirmed; /* every action done */
};

/* One fence action of a batch (run/action_job.h runs it in the thread pool). */
struct fence_work {
    struct fo_action_job job;
    struct fence_batch *batch;
};

static void batch_finish(struct fence_batch *b)
{
    struct fo_ops *d = b->d;

    if (--b->pending > 0)
        return;
    /* Remember a fence that holds, so that its re-assertions stay gentle. */
    d->fence_held = b->fence && b->confirmed;
    snprintf(d->fence_held_site, sizeof(d->fence_held_site), "%s", b->site);
    d->fence_held_epoch = b->epoch;
    fo_lease_fence_done(d->h.lease, b->site, b->epoch, b->confirmed);
    free(b);
}

static void fence_done(struct fo_action_job *job, int status)
{
    struct fence_work *f = (struct fence_work *)((char *)job - offsetof(struct fence_work, job));
    (void)status;
    /* A re-assertion that found the fence in place is routine: no warning each time. */
    fo_log(f->batch->reassert && job->res.status == FO_ACTION_DONE ? FO_LOG_DEBUG : FO_LOG_WARN,
           "lease.action", "action=%s epoch=%llu result=%s detail=\"%s\"", job->req.kind,
           (unsigned long long)job->req.epoch,
           fo_enum_name((const char *const[]){"done", "skipped", "failed", "refused", NULL},
                        job->res.status),
           job->res.detail);
    /* A lift that finds nothing to lift (a standby) is as good as done. */
    if (job->res.status != FO_ACTION_DONE &&
        !(!f->batch->fence && job->res.status == FO_ACTION_SKIPPED))
        f->batch->confirmed = false;
    batch_finish(f->batch);
    fo_action_job_release(job);
    free(f);
}

/* Queue kind on the site's component in this node's region (a thread-pool job). */
static void run_local(struct fence_batch *b, const struct fo_site *site, const char *kind)
{
    struct fo_ops *d = b->d;
    struct fo_plan_step step = {.name = "lease-fence", .action = (char *)kind};
    struct fence_work *f = calloc(1, sizeof(*f));
    /* A component's connection (LEASE_FENCE_PARAMS at most) and terminate_backends. */
    struct fo_kv *params = calloc(LEASE_FENCE_PARAMS + 1, sizeof(*params));
    char op_id[FO_NAME_MAX + 1];
    struct fo_action_req req = {
        .kind = kind, .op_kind = "auto", .from = site->name, .to = site->name, .epoch = b->epoch};
    int n = -1;

    if (f != NULL && params != NULL) {
        char msg[128]; /* why not: the lease hears the fence unconfirmed */
        n = fo_plan_params(d->h.cfg, &step, site->name, params, LEASE_FENCE_PARAMS, msg,
                           sizeof(msg));
    }
    if (n < 0) {
        free(params);
        free(f);
        b->confirmed = false;
        return;
    }
    /* A held fence's re-assertion ends no sessions: the first fence did, and the clients
     * reading from the old primary (and our probes) need not be cut every time. */
    if (b->reassert && strcmp(kind, fo_components[FO_COMPONENT_POSTGRES].fence) == 0) {
        params[n].key = strdup("terminate_backends");
        params[n].value = strdup("0");
        if (params[n].key != NULL && params[n].value != NULL) {
            n++;
        } else {
            free(params[n].key);
            free(params[n].value);
        }
    }
    snprintf(op_id, sizeof(op_id), "lease-e%llu", (unsigned long long)b->epoch);
    req.op_id = op_id;
    /* A fence carries the newest epoch this node has applied, so that a deposed leader's
     * late promote or unfence of an older one finds it and leaves the fence on; a lift
     * carries the lease's own epoch (it lifts only while that is the current one). */
    if (b->fence && fo_node_state(d->h.node)->epoch > b->epoch)
        req.epoch = fo_node_state(d->h.node)->epoch;
    /* The fence budget bounds the fence; the unfence has no hurry. */
    req.deadline_ms = fo_action_now_ms() + d->h.lease->params.fence_budget_ms * 10;
    f->batch = b;
    b->pending++;
    if (fo_action_job_init(&f->job, &req, params, (size_t)n) != 0 ||
        fo_action_job_queue(&f->job, d->h.loop, fo_action_run, fence_done) != 0) {
        b->pending--;
        b->confirmed = false;
        fo_action_job_release(&f->job);
        free(f);
    }
}

/* lease.h on_fence: fence (or lift the fence of) the site's components in this region. */
void ops_lease_fence(struct fo_lease *l, const char *site_name, uint64_t epoch, bool fence)
{
    struct fo_ops *d = l->data;
    const struct fo_site *site = fo_config_site(d->h.cfg, site_name);
    const char *region = d->h.cfg->self->region;
    struct fence_batch *b = calloc(1, sizeof(*b));

    if (b == NULL || site == NULL) {
        free(b);
        fo_lease_fence_done(l, site_name, epoch, false);
        return;
    }
    b->d = d;
    snprintf(b->site, sizeof(b->site), "%s", site_name);
    b->epoch = epoch;
    b->fence = fence;
    b->reassert = fence ? d->fence_held && d->fence_held_epoch == epoch &&
                              strcmp(d->fence_held_site, site_name) == 0
                        : l->lift_reassert;
    if (!fence)
        d->fence_held = false;
    b->confirmed = true;
    b->pending = 1; /* held until every action is queued */
    /* Every fenceable component of the site that lives in this node's region. */
    for (int k = 0; k < FO_COMPONENT_COUNT; k++) {
        const struct fo_component *c = &fo_components[k];
        struct fo_component_ref ref;
        if (c->fence != NULL && fo_component_get(site, k, &ref) && ref.region != NULL &&
            strcmp(ref.region, region) == 0)
            run_local(b, site, fence ? c->fence : c->unfence);
    }
    batch_finish(b);
}

/* A renewal to one peer. */
struct lease_call {
    struct fo_admin_client client;
    struct fo_ops *d;
    const struct fo_peer *peer;
    uint64_t round;
};

static void lease_answered(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                           const char *error)
{
    struct lease_call *lc = c->data;
    (void)error;
    if (status == 0 && rep->code == FO_REPLY_OK && !lc->d->closing)
        fo_lease_granted(lc->d->h.lease, lc->peer, lc->round);
}

static void lease_call_free(struct fo_admin_client *c)
{
    free(c->data);
}

void ops_lease_send(struct fo_lease *l, const struct fo_peer *peer, const char *site,
                    uint64_t epoch, uint64_t round)
{
    struct fo_ops *d = l->data;
    struct lease_call *lc;
    char e[24], r[24];
    struct fo_kv args[] = {
        {"site", (char *)site},
        {"epoch", e},
        {"guardian", d->h.cfg->self->name},
        {"round", r},
    };
    struct fo_admin_req req = {
        .cmd = "lease", .args = args, .nargs = 4, .token = (char *)d->h.admin_token};

    if (d->closing || (lc = calloc(1, sizeof(*lc))) == NULL)
        return;
    snprintf(e, sizeof(e), "%llu", (unsigned long long)epoch);
    snprintf(r, sizeof(r), "%llu", (unsigned long long)round);
    lc->d = d;
    lc->peer = peer;
    lc->round = round;
    lc->client.data = lc;
    /* An answer later than the lease is worth nothing. */
    if (fo_admin_client_call(&lc->client, d->h.loop, peer->admin, &req, l->params.lease_ms,
                             lease_answered, lease_call_free) != 0)
        free(lc);
}

struct lease_prop {
    struct fo_node_propose req;
    struct fo_admin_client client;
};

static void lease_prop_done(struct fo_node_propose *req, int status,
                            const struct fo_fsm_result *res)
{
    (void)status;
    (void)res;
    free(req->data);
}

static void lease_fwd_done(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                           const char *error)
{
    (void)c;
    if (status != 0 || rep->code != FO_REPLY_OK)
        fo_log_info("lease.forward", "result=failed error=\"%s\"",
                    status != 0 ? error : (rep->message != NULL ? rep->message : "?"));
}

static void lease_fwd_free(struct fo_admin_client *c)
{
    free(c->data);
}

/* lease.h propose: commit a lease mark through the leader. Lost proposals are harmless:
 * the lease proposes again on its next tick until the mark is in the state. */
void ops_lease_propose(struct fo_lease *l, const struct fo_cmd *cmd)
{
    struct fo_ops *d = l->data;
    const struct fo_cmd_lease *c = &cmd->u.lease;
    const struct fo_peer *leader;
    struct lease_prop *p;
    char e[24], at[24];

    if (d->closing || (p = calloc(1, sizeof(*p))) == NULL)
        return;
    p->req.data = p;
    p->client.data = p;
    if (fo_node_ready(d->h.node)) {
        if (fo_node_propose(d->h.node, &p->req, cmd, lease_prop_done) != 0)
            free(p);
        return;
    }
    leader = fo_ops_leader(d->h.node, d->h.cfg);
    if (leader == NULL || leader == d->h.cfg->self) {
        free(p);
        return;
    }
    snprintf(e, sizeof(e), "%llu", (unsigned long long)c->epoch);
    snprintf(at, sizeof(at), "%llu", (unsigned long long)c->at_ms);
    struct fo_kv args[] = {
        {"t", "lease"},    {"site", c->site},
        {"epoch", e},      {"guardian", c->guardian},
        {"node", c->node}, {"what", (char *)fo_lease_what_names[c->what]},
        {"at_ms", at},
    };
    struct fo_admin_req req = {
        .cmd = "propose", .args = args, .nargs = 7, .token = (char *)d->h.admin_token};
    if (fo_admin_client_call(&p->client, d->h.loop, leader->admin, &req, 2000, lease_fwd_done,
                             lease_fwd_free) != 0)
        free(p);
}

/* executor.h gate: a promote of epoch E waits for the end of the old primary's leases
 * of epoch E - 1. A drill changes nothing and waits for nothing. */
bool ops_lease_gate(struct fo_executor *ex, const struct fo_operation *op, const struct fo_step *st,
                    char *why, size_t cap)
{
    struct fo_ops *d = ex->data;
    if (!fo_op_kind_moves_primary(op->kind) || op->epoch == 0 || !fo_lease_kind_gated(st->action))
        return true;
    return fo_lease_gate(fo_node_state(d->h.node), d->h.cfg, op->from, op->epoch - 1, why, cap);
}
