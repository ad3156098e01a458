/*
 * coordinator/detect/verdicts.c — see verdicts.h.
 */
#include "coordinator/detect/verdicts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/ctl/admin_client.h"
#include "coordinator/log.h"

/* A forward that failed, or a proposal that did not apply, is retried after this. */
#define RETRY_MS           1000
#define FORWARD_TIMEOUT_MS 2000

/* A request in flight for wants[index]. Owned by itself: freed when it completes. */
struct want_req {
    struct fo_node_propose prop;
    struct fo_admin_client client;
    struct fo_verdicts *v;
    size_t index;
    int status; /* what was asked for */
};

int fo_verdicts_init(struct fo_verdicts *v, uv_loop_t *loop, struct fo_node *node,
                     const struct fo_config *cfg, const char *admin_token)
{
    memset(v, 0, sizeof(*v));
    v->loop = loop;
    v->node = node;
    v->cfg = cfg;
    v->token = admin_token;
    v->wants = calloc(FO_VERDICTS_MAX, sizeof(*v->wants));
    return v->wants != NULL ? 0 : -1;
}

static bool region_known(const struct fo_config *cfg, const char *region)
{
    for (size_t i = 0; i < cfg->nregions; i++)
        if (strcmp(cfg->regions[i], region) == 0)
            return true;
    return false;
}

static struct fo_verdict_want *want_of(struct fo_verdicts *v, const char *observer,
                                       const char *region, bool create)
{
    struct fo_verdict_want *w;

    for (size_t i = 0; i < v->nwants; i++)
        if (strcmp(v->wants[i].observer, observer) == 0 && strcmp(v->wants[i].region, region) == 0)
            return &v->wants[i];
    if (!create || v->nwants == FO_VERDICTS_MAX || strlen(observer) > FO_NAME_MAX ||
        strlen(region) > FO_NAME_MAX)
        return NULL;
    w = &v->wants[v->nwants++];
    memset(w, 0, sizeof(*w));
    snprintf(w->observer, sizeof(w->observer), "%s", observer);
    snprintf(w->region, sizeof(w->region), "%s", region);
    w->status = FO_STATUS_UNKNOWN;
    return w;
}

int fo_verdicts_set(struct fo_verdicts *v, const char *observer, const char *region, int status,
                    const char *reason, uint64_t at_ms)
{
    struct fo_verdict_want *w;

    if (v->closing || !region_known(v->cfg, region))
        return -1;
    w = want_of(v, observer, region, true);
    if (w == NULL)
        return -1;
    if (w->status != status) {
        fo_log_info("verdict.change", "observer=%s region=%s status=%s reason=\"%s\"", observer,
                    region, fo_enum_name(fo_status_names, status), reason != NULL ? reason : "");
        w->status = status;
        w->at_ms = at_ms;
        w->not_before_ms = 0;
    }
    snprintf(w->reason, sizeof(w->reason), "%s", reason != NULL ? reason : "");
    fo_verdicts_reconcile(v);
    return 0;
}

int fo_verdicts_component(struct fo_verdicts *v, const char *feed, const char *region,
                          const char *component, int status, const char *detail, uint64_t at_ms,
                          char *msg, size_t cap)
{
    struct fo_verdict_want *w;
    unsigned i;
    int agg = FO_STATUS_UP;
    char reason[FO_TEXT_MAX];

    if (!region_known(v->cfg, region)) {
        snprintf(msg, cap, "region: '%.64s' is not a configured region", region);
        return -1;
    }
    w = want_of(v, feed, region, true);
    if (w == NULL) {
        snprintf(msg, cap, "too many verdicts on this node");
        return -1;
    }
    for (i = 0; i < w->ncomponents && strcmp(w->components[i].name, component) != 0; i++)
        ;
    if (i == w->ncomponents) {
        if (w->ncomponents == FO_VERDICTS_COMPONENTS || strlen(component) > FO_NAME_MAX) {
            snprintf(msg, cap, "component: at most %d components per region",
                     FO_VERDICTS_COMPONENTS);
            return -1;
        }
        snprintf(w->components[i].name, sizeof(w->components[i].name), "%s", component);
        w->ncomponents++;
    }
    w->components[i].status = status;
    for (i = 0; i < w->ncomponents; i++) {
        if (w->components[i].status == FO_STATUS_DOWN)
            agg = FO_STATUS_DOWN;
        else if (w->components[i].status == FO_STATUS_UNKNOWN && agg == FO_STATUS_UP)
            agg = FO_STATUS_UNKNOWN;
    }
    snprintf(reason, sizeof(reason), "%s: %s%s%s", component, fo_enum_name(fo_status_names, status),
             detail != NULL ? ": " : "", detail != NULL ? detail : "");
    return fo_verdicts_set(v, feed, region, agg, reason, at_ms);
}

/* ---- committing ------------------------------------------------------------------- */

static void done(struct want_req *r, bool ok)
{
    struct fo_verdicts *v = r->v;
    v->inflight--;
    if (!v->closing) {
        struct fo_verdict_want *w = &v->wants[r->index];
        w->pending = false;
        w->failed = !ok;
        if (!ok) {
            v->failed++;
            w->not_before_ms = uv_now(v->loop) + RETRY_MS;
        } else if (w->status == r->status) {
            /* Committed, but a follower applies it a heartbeat later: until then its FSM
             * still shows the old status, and the next report would forward the same
             * verdict again (one more Raft entry each; found by tests/bench/ingest). A
             * real change of status clears this wait in fo_verdicts_set. */
            w->not_before_ms = uv_now(v->loop) + RETRY_MS;
        }
    }
}

static void proposed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct want_req *r = req->data;
    struct fo_verdicts *v = r->v;
    done(r, status == 0 && res->outcome == FO_FSM_APPLIED);
    free(r);
    if (v->closing && v->inflight == 0 && v->close_cb != NULL)
        v->close_cb(v);
}

static void forwarded(struct fo_admin_client *c, int status, const struct fo_reply *rep,
                      const char *error)
{
    struct want_req *r = c->data;
    bool ok = status == 0 && rep->code == FO_REPLY_OK;
    if (!ok)
        fo_log_info("verdict.forward", "result=failed error=\"%s\"",
                    status != 0 ? error : (rep->message != NULL ? rep->message : "?"));
    done(r, ok);
}

static void forward_free(struct fo_admin_client *c)
{
    struct want_req *r = c->data;
    struct fo_verdicts *v = r->v;
    free(r);
    if (v->closing && v->inflight == 0 && v->close_cb != NULL)
        v->close_cb(v);
}

static int committed_status(const struct fo_verdicts *v, const struct fo_verdict_want *w)
{
    const struct fo_state *st = fo_node_state(v->node);
    for (size_t i = 0; i < st->nverdicts; i++)
        if (strcmp(st->verdicts[i].observer, w->observer) == 0 &&
            strcmp(st->verdicts[i].region, w->region) == 0)
            return st->verdicts[i].status;
    return -1; /* no row yet: UNKNOWN wants one too, so that observers show */
}

bool fo_verdicts_settled(const struct fo_verdicts *v, const char *observer)
{
    for (size_t i = 0; i < v->nwants; i++)
        if (strcmp(v->wants[i].observer, observer) == 0 &&
            committed_status(v, &v->wants[i]) != v->wants[i].status)
            return false;
    return true;
}

static void send_one(struct fo_verdicts *v, size_t index, const struct fo_peer *leader)
{
    struct fo_verdict_want *w = &v->wants[index];
    struct want_req *r = calloc(1, sizeof(*r));

    if (r == NULL)
        return;
    r->v = v;
    r->index = index;
    r->status = w->status;
    if (fo_node_ready(v->node)) {
        struct fo_cmd cmd = {.type = FO_CMD_VERDICT};
        cmd.u.verdict.observer = w->observer;
        cmd.u.verdict.region = w->region;
        cmd.u.verdict.status = w->status;
        cmd.u.verdict.at_ms = w->at_ms;
        cmd.u.verdict.reason = w->reason[0] != '\0' ? w->reason : NULL;
        r->prop.data = r;
        if (fo_node_propose(v->node, &r->prop, &cmd, proposed) != 0) {
            free(r);
            w->not_before_ms = uv_now(v->loop) + RETRY_MS;
            return;
        }
        v->proposed++;
    } else {
        char at[24];
        struct fo_admin_req req = {.cmd = "propose", .token = (char *)v->token};
        snprintf(at, sizeof(at), "%llu", (unsigned long long)w->at_ms);
        struct fo_kv args[] = {
            {"t", "verdict"},      {"observer", w->observer},
            {"region", w->region}, {"status", (char *)fo_enum_name(fo_status_names, w->status)},
            {"at_ms", at},         {"reason", w->reason}, /* last: left out when empty */
        };
        req.args = args;
        req.nargs = w->reason[0] != '\0' ? 6 : 5;
        r->client.data = r;
        if (fo_admin_client_call(&r->client, v->loop, leader->admin, &req, FORWARD_TIMEOUT_MS,
                                 forwarded, forward_free) != 0) {
            free(r);
            w->not_before_ms = uv_now(v->loop) + RETRY_MS;
            return;
        }
        v->forwarded++;
    }
    w->pending = true;
    v->inflight++;
}

void fo_verdicts_reconcile(struct fo_verdicts *v)
{
    const struct fo_peer *leader = NULL;
    uint64_t now = uv_now(v->loop);
    uint64_t lid;
    const char *laddr;

    if (v->closing)
        return;
    if (!fo_node_ready(v->node)) {
        fo_node_leader(v->node, &lid, &laddr);
        leader = lid != 0 ? fo_config_peer_by_id(v->cfg, lid) : NULL;
        if (leader == NULL || leader == v->cfg->self)
            return; /* no one to send to yet: the timer tries again */
    }
    for (size_t i = 0; i < v->nwants; i++) {
        struct fo_verdict_want *w = &v->wants[i];
        if (w->pending || now < w->not_before_ms || committed_status(v, w) == w->status)
            continue;
        send_one(v, i, leader);
    }
}

void fo_verdicts_leader_changed(struct fo_verdicts *v)
{
    if (v->closing)
        return;
    for (size_t i = 0; i < v->nwants; i++)
        if (v->wants[i].failed)
            v->wants[i].not_before_ms = 0;
    fo_verdicts_reconcile(v);
}

void fo_verdicts_close(struct fo_verdicts *v, void (*close_cb)(struct fo_verdicts *v))
{
    v->closing = true;
    v->close_cb = close_cb;
    free(v->wants); /* requests in flight never touch it once closing */
    v->wants = NULL;
    v->nwants = 0;
    if (v->inflight == 0 && close_cb != NULL)
        close_cb(v);
}
