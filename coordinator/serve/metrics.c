/*
 * coordinator/serve/metrics.c — see metrics.h.
 */
#include "consensus/tls.h"
#include "coordinator/serve/metrics.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/serve/context.h"
#include "coordinator/serve/http_api.h"
#include "coordinator/serve/majority.h"

/* ---- a growable text buffer (the metrics page) --------------------------------------- */

struct text {
    char *s;
    size_t len, cap;
    bool failed; /* out of memory: the page is dropped */
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;

    if (t->failed)
        return;
    for (;;) {
        size_t room = t->cap - t->len;
        int n;
        va_start(ap, fmt);
        n = vsnprintf(t->s != NULL ? t->s + t->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = true;
            return;
        }
        if ((size_t)n < room) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap == 0 ? 8192 : t->cap;
        while (cap - t->len <= (size_t)n)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (s == NULL) {
            t->failed = true;
            return;
        }
        t->s = s;
        t->cap = cap;
    }
}

/* A label value, escaped as the exposition format says: \\, \" and \n. */
static void put_label(struct text *t, const char *name, const char *value, bool last)
{
    put(t, "%s=\"", name);
    for (const char *p = value != NULL ? value : ""; *p != '\0'; p++) {
        if (*p == '\\')
            put(t, "\\\\");
        else if (*p == '"')
            put(t, "\\\"");
        else if (*p == '\n')
            put(t, "\\n");
        else
            put(t, "%c", *p);
    }
    put(t, "\"%s", last ? "}" : ",");
}

static void put_family(struct text *t, const char *name, const char *type, const char *help)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void put_u64(struct text *t, const char *name, unsigned long long v)
{
    put(t, "%s %llu\n", name, v);
}

static void gauge(struct text *t, const char *name, const char *help, unsigned long long v)
{
    put_family(t, name, "gauge", help);
    put_u64(t, name, v);
}

static void counter(struct text *t, const char *name, const char *help, unsigned long long v)
{
    put_family(t, name, "counter", help);
    put_u64(t, name, v);
}

/* ---- the metrics ------------------------------------------------------------------- */

static const double step_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};
#define NBUCKETS (sizeof(step_buckets) / sizeof(step_buckets[0]))

static int cmp_step_action(const void *a, const void *b)
{
    const struct fo_step *x = *(const struct fo_step *const *)a;
    const struct fo_step *y = *(const struct fo_step *const *)b;
    return strcmp(x->action, y->action);
}

/* Finished steps of the finished operations the FSM keeps, per action kind. */
static void step_histogram(struct text *t, const struct fo_state *st)
{
    const struct fo_step **steps;
    size_t n = 0, total = 0;

    put_family(t, "failoverd_step_duration_seconds", "histogram",
               "Duration of the plan steps of the finished operations in the replicated history, "
               "by action (latest attempt).");
    for (size_t i = 0; i < st->nhistory; i++)
        total += st->history[i].nsteps;
    if (total == 0)
        return;
    steps = calloc(total, sizeof(*steps));
    if (steps == NULL) {
        t->failed = true;
        return;
    }
    for (size_t i = 0; i < st->nhistory; i++)
        for (size_t j = 0; j < st->history[i].nsteps; j++) {
            const struct fo_step *s = &st->history[i].steps[j];
            if (s->action != NULL && s->started_ms != 0 && s->ended_ms >= s->started_ms)
                steps[n++] = s;
        }
    qsort(steps, n, sizeof(*steps), cmp_step_action);
    for (size_t i = 0; i < n;) {
        size_t end = i;
        unsigned long long counts[NBUCKETS] = {0};
        double sum = 0;
        while (end < n && strcmp(steps[end]->action, steps[i]->action) == 0) {
            double s = (double)(steps[end]->ended_ms - steps[end]->started_ms) / 1000.0;
            sum += s;
            for (size_t b = 0; b < NBUCKETS; b++)
                counts[b] += s <= step_buckets[b];
            end++;
        }
        for (size_t b = 0; b < NBUCKETS; b++) {
            put(t, "failoverd_step_duration_seconds_bucket{");
            put_label(t, "action", steps[i]->action, false);
            put(t, "le=\"%g\"} %llu\n", step_buckets[b], counts[b]);
        }
        put(t, "failoverd_step_duration_seconds_bucket{");
        put_label(t, "action", steps[i]->action, false);
        put(t, "le=\"+Inf\"} %zu\n", end - i);
        put(t, "failoverd_step_duration_seconds_sum{");
        put_label(t, "action", steps[i]->action, true);
        put(t, " %.3f\n", sum);
        put(t, "failoverd_step_duration_seconds_count{");
        put_label(t, "action", steps[i]->action, true);
        put(t, " %zu\n", end - i);
        i = end;
    }
    free(steps);
}

static void raft_metrics(struct text *t, struct fo_serve *d, const struct fo_state *st)
{
    gauge(t, "failoverd_up", "1 while this node answers.", 1);
    put_family(t, "failoverd_info", "gauge", "This node: name, region, cluster and version.");
    put(t, "failoverd_info{");
    put_label(t, "node", d->cfg->self->name, false);
    put_label(t, "region", d->cfg->self->region, false);
    put_label(t, "cluster", d->cfg->cluster, false);
    put_label(t, "version", FO_VERSION, true);
    put(t, " 1\n");
    if (d->tls != NULL && d->tls->cert_not_after > 0)
        gauge(t, "failoverd_tls_certificate_expiry_timestamp_seconds",
              "When this node's certificate (tls.cert) expires, Unix seconds.",
              (unsigned long long)d->tls->cert_not_after);
    if (d->tls != NULL && d->tls->crl_next_update > 0)
        gauge(t, "failoverd_tls_crl_next_update_timestamp_seconds",
              "When the CRL in use (tls.crl) is past its next update, Unix seconds: from then "
              "on every peer is refused.",
              (unsigned long long)d->tls->crl_next_update);
    gauge(t, "failoverd_raft_term", "This node's current Raft term.", fo_node_term(d->node));
    gauge(t, "failoverd_raft_leader", "1 when this node is the Raft leader.",
          fo_node_role(d->node) == RAFT_LEADER);
    gauge(t, "failoverd_raft_ready",
          "1 when this node is a ready leader (its election barrier committed).",
          fo_node_ready(d->node));
    gauge(t, "failoverd_raft_commit_index", "This node's Raft commit index.",
          fo_node_commit_index(d->node));
    gauge(t, "failoverd_raft_last_applied", "The last Raft entry this node applied.",
          fo_node_last_applied(d->node));
    gauge(t, "failoverd_epoch", "The fencing epoch: raised by every failover and switchover.",
          st->epoch);
    gauge(t, "failoverd_fsm_halted",
          "1 when this node met a committed entry it cannot apply and stopped applying "
          "(run a newer release on it).",
          d->node->fsm.fsm.halted);
    gauge(t, "failoverd_cluster_format",
          "The committed cluster format: what every node writes (failoverctl upgrade finish).",
          fo_state_format(st));
    gauge(t, "failoverd_format_max", "The newest format this node's binary reads.",
          FO_PROTO_VERSION);
    put_family(t, "failoverd_primary", "gauge",
               "1 for the decided primary site, 0 for the other sites.");
    for (size_t i = 0; i < d->cfg->nsites; i++) {
        put(t, "failoverd_primary{");
        put_label(t, "site", d->cfg->sites[i].name, true);
        put(t, " %d\n", st->primary != NULL && strcmp(st->primary, d->cfg->sites[i].name) == 0);
    }
    gauge(t, "failoverd_mode_paused", "1 while automatic failover is paused (maintenance).",
          st->mode == FO_MODE_PAUSED);
    gauge(t, "failoverd_operation_in_flight", "1 while a failover, switchover or drill runs.",
          st->operation != NULL);
    put_family(t, "failoverd_verdict", "gauge",
               "Committed verdicts: 1 for each observer's current status of each region.");
    for (size_t i = 0; i < st->nverdicts; i++) {
        const struct fo_verdict *v = &st->verdicts[i];
        put(t, "failoverd_verdict{");
        put_label(t, "observer", v->observer, false);
        put_label(t, "region", v->region, false);
        put_label(t, "status", fo_enum_name(fo_status_names, v->status), true);
        put(t, " 1\n");
    }
}

void fo_op_counter_fold(struct fo_op_counter *c, const struct fo_state *st)
{
    char now[FO_MAX_HISTORY][FO_NAME_MAX + 1];
    size_t n = 0;

    for (size_t i = 0; i < st->nhistory; i++) {
        const struct fo_operation *op = &st->history[i];
        bool seen = false;
        if (op->id == NULL || op->result == FO_RESULT_RUNNING)
            continue;
        for (size_t j = 0; j < c->nseen && !seen; j++)
            seen = strcmp(c->seen[j], op->id) == 0;
        if (!seen && op->kind >= 0 && op->kind < FO_OP_KINDS && op->result >= 0 &&
            op->result < FO_OP_RESULTS)
            c->total[op->kind][op->result]++;
        if (n < FO_MAX_HISTORY)
            snprintf(now[n++], sizeof(now[0]), "%s", op->id);
    }
    /* Remember what the history holds now: an id that left it can never come back. */
    memcpy(c->seen, now, n * sizeof(now[0]));
    c->nseen = n;
}

static void operation_metrics(struct text *t, struct fo_http_api *h, const struct fo_state *st)
{
    fo_op_counter_fold(&h->ops, st);
    put_family(t, "failoverd_operations_total", "counter",
               "Operations this node saw finish (in the replicated history) since it started, "
               "by kind and result.");
    for (int k = FO_OP_AUTO; k < FO_OP_KIND_COUNT; k++)
        for (int r = FO_RESULT_SUCCEEDED; r <= FO_RESULT_ABORTED; r++) {
            put(t, "failoverd_operations_total{");
            put_label(t, "kind", fo_enum_name(fo_op_kind_names, k), false);
            put_label(t, "result", fo_enum_name(fo_op_result_names, r), true);
            put(t, " %llu\n", h->ops.total[k][r]);
        }
    step_histogram(t, st);
    put_family(t, "failoverd_failover_duration_seconds", "gauge",
               "The latest finished operation of each kind: from detection (or its start when "
               "nothing was detected) to its end.");
    for (int k = FO_OP_AUTO; k < FO_OP_KIND_COUNT; k++) {
        const struct fo_operation *last = NULL;
        for (size_t i = st->nhistory; i > 0 && last == NULL; i--)
            if (st->history[i - 1].kind == k && st->history[i - 1].ended_ms != 0)
                last = &st->history[i - 1];
        if (last == NULL)
            continue;
        uint64_t from = last->detected_ms != 0 && last->detected_ms <= last->started_ms
                            ? last->detected_ms
                            : last->started_ms;
        put(t, "failoverd_failover_duration_seconds{");
        put_label(t, "kind", fo_enum_name(fo_op_kind_names, k), true);
        put(t, " %.3f\n", last->ended_ms >= from ? (double)(last->ended_ms - from) / 1000.0 : 0.0);
    }
}

static void node_metrics(struct text *t, struct fo_serve *d)
{
    const struct fo_http_api *h = d->http;

    put_family(t, "failoverd_feed_reports_total", "counter",
               "Health reports from monitoring feeds, by listener (health: the msgpack port, "
               "http: POST /v1/health and /v1/alertmanager alerts).");
    put(t, "failoverd_feed_reports_total{listener=\"health\"} %llu\n",
        d->health != NULL ? d->health->reports : 0ULL);
    put(t, "failoverd_feed_reports_total{listener=\"http\"} %llu\n", h->reports);
    put_family(t, "failoverd_feed_reports_rejected_total", "counter",
               "Health reports refused (bad token, malformed, unknown region), by listener.");
    put(t, "failoverd_feed_reports_rejected_total{listener=\"health\"} %llu\n",
        d->health != NULL ? d->health->rejected : 0ULL);
    put(t, "failoverd_feed_reports_rejected_total{listener=\"http\"} %llu\n", h->reports_rejected);
    counter(t, "failoverd_admin_requests_total", "Admin protocol requests received.",
            d->admin != NULL ? d->admin->requests : 0ULL);
    counter(t, "failoverd_admin_requests_rejected_total",
            "Admin requests refused: malformed or not authenticated.",
            d->admin != NULL ? d->admin->rejected : 0ULL);
    counter(t, "failoverd_http_requests_total", "HTTP API requests received.", h->requests);
    counter(t, "failoverd_http_requests_rejected_total", "HTTP API requests answered 4xx.",
            h->rejected);
    counter(t, "failoverd_http_unauthorized_total", "HTTP API requests answered 401.",
            h->unauthorized);
    counter(t, "failoverd_executor_attempts_total", "Plan step attempts this node started.",
            d->executor != NULL ? d->executor->attempts_started : 0ULL);
    put_family(t, "failoverd_executor_actions_total", "counter",
               "Plan step attempts this node finished, by result.");
    put(t, "failoverd_executor_actions_total{result=\"done\"} %llu\n",
        d->executor != NULL ? d->executor->actions_done : 0ULL);
    put(t, "failoverd_executor_actions_total{result=\"failed\"} %llu\n",
        d->executor != NULL ? d->executor->actions_failed : 0ULL);

    put_family(t, "failoverd_probe_up", "gauge",
               "1 when this node's last probe of the check succeeded, 0 when it failed.");
    for (size_t i = 0; d->prober != NULL && i < fo_prober_count(d->prober); i++) {
        const struct fo_probe_result *r = fo_prober_result(d->prober, i);
        if (r == NULL || r->at_ms == 0)
            continue;
        put(t, "failoverd_probe_up{");
        put_label(t, "check", fo_prober_spec(d->prober, i)->name, true);
        put(t, " %d\n", r->ok ? 1 : 0);
    }
    put_family(t, "failoverd_probe_latency_seconds", "gauge",
               "How long this node's last probe of the check took (connect included).");
    for (size_t i = 0; d->prober != NULL && i < fo_prober_count(d->prober); i++) {
        const struct fo_probe_result *r = fo_prober_result(d->prober, i);
        if (r == NULL || r->at_ms == 0)
            continue;
        put(t, "failoverd_probe_latency_seconds{");
        put_label(t, "check", fo_prober_spec(d->prober, i)->name, true);
        put(t, " %.6f\n", (double)r->latency_us / 1e6);
    }
}

static void majority_metrics(struct text *t, struct fo_serve *d)
{
    struct fo_majority_input in;
    struct fo_majority m;

    fo_majority_of(d->node, d->cfg, &in);
    fo_majority_check(&in, &m);
    counter(t, "failoverd_leader_changes_total", "Times this node saw the Raft leader change.",
            d->node->leader_changes);
    counter(t, "failoverd_elections_won_total", "Elections this node won.", d->node->elections_won);
    gauge(t, "failoverd_majority_contact",
          "1 when this node can show majority contact (/v1/primary answers 200).",
          m.reason == FO_MAJORITY_OK);
    if (m.contact_age_ms != UINT64_MAX) {
        put_family(t, "failoverd_majority_contact_age_seconds", "gauge",
                   "Age of this node's majority contact (leader: the majority's latest answer; "
                   "follower: the leader's latest message).");
        put(t, "failoverd_majority_contact_age_seconds %.3f\n", (double)m.contact_age_ms / 1000.0);
    }
    put_family(t, "failoverd_majority_window_seconds", "gauge",
               "How recent majority contact must be (max(lease_ms, 3 heartbeats)).");
    put(t, "failoverd_majority_window_seconds %.3f\n",
        (double)fo_majority_window_ms(d->cfg) / 1000.0);
    counter(t, "failoverd_no_majority_total",
            "/v1/primary and /v1/lb checks answered without majority contact (503).",
            d->http->no_majority);
}

/* The replication lag of each standby site, as the RPO gate measures it (run/operations.h),
 * and the gate's limits. A site whose lag is unknown (not a standby, not probed) has none. */
static void lag_metrics(struct text *t, struct fo_serve *d)
{
    struct fo_decision_input in;

    put_family(t, "failoverd_rpo_max_lag_bytes", "gauge",
               "The RPO gate: the most a standby may lag (decision.max_lag_bytes).");
    put(t, "failoverd_rpo_max_lag_bytes %llu\n",
        (unsigned long long)d->cfg->decision.max_lag_bytes);
    put_family(t, "failoverd_rpo_max_lag_seconds", "gauge",
               "The RPO gate: the most a standby may lag in time (decision.max_lag_ms).");
    put(t, "failoverd_rpo_max_lag_seconds %.3f\n", (double)d->cfg->decision.max_lag_ms / 1000.0);
    if (d->ops == NULL)
        return;
    fo_ops_input(d->ops, &in);
    put_family(t, "failoverd_replication_lag_bytes", "gauge",
               "A standby site's Postgres: WAL received but not replayed, as this node last "
               "measured it (the RPO gate's input).");
    for (size_t i = 0; i < in.nlags; i++)
        if (in.lags[i].known) {
            put(t, "failoverd_replication_lag_bytes{");
            put_label(t, "site", in.lags[i].site, true);
            put(t, " %llu\n", (unsigned long long)in.lags[i].bytes);
        }
    put_family(t, "failoverd_replication_lag_seconds", "gauge",
               "A standby site's Postgres: its replay delay, or how long it has not heard from "
               "the primary (the RPO gate's input).");
    for (size_t i = 0; i < in.nlags; i++)
        if (in.lags[i].known) {
            put(t, "failoverd_replication_lag_seconds{");
            put_label(t, "site", in.lags[i].site, true);
            put(t, " %.3f\n", (double)in.lags[i].ms / 1000.0);
        }
}

/* This node's write lease and fence (run/lease.h). */
static void lease_metrics(struct text *t, struct fo_serve *d)
{
    const struct fo_lease *l = d->lease;
    uint64_t now;

    if (l == NULL)
        return;
    now = uv_now(d->node->loop);
    gauge(t, "failoverd_lease_guarding",
          "1 when this node guards a component of the decided primary site.", l->guarding);
    gauge(t, "failoverd_lease_held", "1 while this node's write lease is valid.",
          l->guarding && l->valid_ms > now);
    put_family(t, "failoverd_lease_remaining_seconds", "gauge",
               "How long this node's write lease still runs (0: none or lapsed).");
    put(t, "failoverd_lease_remaining_seconds %.3f\n",
        l->valid_ms > now ? (double)(l->valid_ms - now) / 1000.0 : 0.0);
    gauge(t, "failoverd_fenced", "1 while this node's components are fenced (or being fenced).",
          l->fenced);
    put_family(t, "failoverd_fence_cause", "gauge",
               "1 for the cause of this node's current fence (none when not fenced).");
    for (int c = FO_LEASE_CAUSE_NONE; c <= FO_LEASE_CAUSE_NOT_PRIMARY; c++) {
        put(t, "failoverd_fence_cause{");
        put_label(t, "cause", fo_lease_cause_names[c], true);
        put(t, " %d\n", (l->fenced ? l->fence_cause : FO_LEASE_CAUSE_NONE) == c);
    }
    counter(t, "failoverd_fences_total", "Fences this node applied to its components.", l->fences);
    counter(t, "failoverd_fence_lifts_total", "Fences this node lifted.", l->lifts);
    counter(t, "failoverd_lease_rounds_sent_total", "Lease renewal rounds this node sent.",
            l->rounds_sent);
    counter(t, "failoverd_lease_rounds_granted_total", "Lease renewal rounds a majority granted.",
            l->rounds_granted);
    counter(t, "failoverd_lease_attests_total",
            "Lease expiries this node attested (lease(expired) proposed).", l->attests);
}

char *fo_metrics_render(struct fo_serve *d, size_t *len)
{
    const struct fo_state *st = fo_node_state(d->node);
    struct text t = {0};

    raft_metrics(&t, d, st);
    majority_metrics(&t, d);
    operation_metrics(&t, d->http, st);
    lag_metrics(&t, d);
    lease_metrics(&t, d);
    node_metrics(&t, d);
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    *len = t.len;
    return t.s;
}
