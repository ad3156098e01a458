/*
 * tests/common/samples.c — see samples.h. Values follow the runbook's deployment:
 * sites "main" (us-east-1) and "dr" (Postgres in eu-west-1, Redis in us-west-2).
 */
#include "tests/common/samples.h"

#include <stdlib.h>
#include <string.h>

#include "proto/command.h"
#include "proto/health.h"

#define T0 UINT64_C(1763856000000) /* a fixed time, so the vectors never change */

static char *S(const char *s)
{
    return strdup(s);
}

static enum fo_proto_code enc_cmd(struct fo_cmd *c, struct fo_buf *out)
{
    enum fo_proto_code rc = fo_cmd_encode(c, out, NULL);
    fo_cmd_free(c);
    return rc;
}

static enum fo_proto_code s_init(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_INIT};
    c.u.init = (struct fo_cmd_init){S("bmf001-prod"), S("main"), T0};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_verdict(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_VERDICT};
    c.u.verdict = (struct fo_cmd_verdict){S("us-west-2"), S("us-east-1"), FO_STATUS_DOWN, T0 + 1000,
                                          S("postgres: connection refused")};
    return enc_cmd(&c, out);
}

static const char *const plan[][2] = {
    {"notify-opened", "notify.slack"},
    {"fence-postgres", "postgres.fence"},
    {"promote-postgres", "postgres.promote"},
    {"promote-redis", "redis.promote"},
    {"vercel-env", "vercel.env"},
    {"vercel-redeploy", "vercel.redeploy"},
    {"dns", "cloudflare.dns"},
    {"warm-cache", "http"},
    {"notify-resolved", "notify.slack"},
};
#define NPLAN (sizeof(plan) / sizeof(plan[0]))

static enum fo_proto_code s_op_begin(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_OP_BEGIN};
    struct fo_cmd_op_begin *b = &c.u.op_begin;
    b->id = S("op-2-us-east-1-lost");
    b->kind = FO_OP_AUTO;
    b->from = S("main");
    b->to = S("dr");
    b->reason = S("us-east-1 DOWN for 2 of 3 observers for 30000 ms");
    b->requested_by = S("us-west-2");
    b->epoch = 2;
    b->detected_ms = T0 + 1000;
    b->lag_known = true;
    b->lag_bytes = 16384;
    b->lag_ms = 120;
    b->at_ms = T0 + 31000;
    b->steps = calloc(NPLAN, sizeof(*b->steps));
    b->nsteps = b->steps != NULL ? NPLAN : 0;
    for (size_t i = 0; i < b->nsteps; i++)
        b->steps[i] = (struct fo_step_spec){S(plan[i][0]), S(plan[i][1])};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_step(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_STEP};
    c.u.step = (struct fo_cmd_step){S("op-2-us-east-1-lost"),
                                    2,
                                    2,
                                    FO_STEP_FAILED,
                                    1,
                                    T0 + 33000,
                                    S("pg_promote: timed out after 60 s"),
                                    S("us-west-2"),
                                    FO_STEP_OUTCOME_FAILED_RETRYABLE};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_op_end(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_OP_END};
    c.u.op_end =
        (struct fo_cmd_op_end){S("op-2-us-east-1-lost"), 2, FO_RESULT_SUCCEEDED, T0 + 95000, NULL};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_mode(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_MODE};
    c.u.mode = (struct fo_cmd_mode){FO_MODE_PAUSED, S("alice"),
                                    S("maintenance: Postgres minor upgrade"), T0 + 5000};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_cooldown(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_COOLDOWN};
    c.u.cooldown = (struct fo_cmd_cooldown){T0 + 95000 + 1800000, S("us-west-2"), T0 + 95000};
    return enc_cmd(&c, out);
}

static enum fo_proto_code s_digest(struct fo_buf *out)
{
    struct fo_cmd c = {.type = FO_CMD_DIGEST};
    c.u.digest = (struct fo_cmd_digest){
        S("eu-west-1"), S("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"), T0};
    return enc_cmd(&c, out);
}

void fo_sample_state(struct fo_state *st)
{
    static const char *const obs[] = {"us-east-1", "us-west-2", "eu-west-1", "alertmanager"};
    memset(st, 0, sizeof(*st));
    st->cluster = S("bmf001-prod");
    st->primary = S("dr");
    st->epoch = 2;
    st->mode = FO_MODE_AUTO;
    st->mode_since_ms = T0;
    st->cooldown_until_ms = T0 + 95000 + 1800000;
    st->verdicts = calloc(4, sizeof(*st->verdicts));
    st->nverdicts = st->verdicts != NULL ? 4 : 0;
    for (size_t i = 0; i < st->nverdicts; i++) {
        st->verdicts[i] = (struct fo_verdict){S(obs[i]), S("us-east-1"),
                                              i == 0 ? FO_STATUS_UNKNOWN : FO_STATUS_DOWN,
                                              T0 + 1000 * i, i == 0 ? NULL : S("timeout")};
    }
    st->history = calloc(1, sizeof(*st->history));
    if (st->history != NULL) {
        struct fo_operation *op = &st->history[0];
        st->nhistory = 1;
        op->id = S("op-2-us-east-1-lost");
        op->kind = FO_OP_AUTO;
        op->from = S("main");
        op->to = S("dr");
        op->reason = S("us-east-1 DOWN for 2 of 3 observers");
        op->requested_by = S("us-west-2");
        op->epoch = 2;
        op->detected_ms = T0 + 1000;
        op->lag_known = true;
        op->lag_bytes = 16384;
        op->lag_ms = 120;
        op->started_ms = T0 + 31000;
        op->ended_ms = T0 + 95000;
        op->result = FO_RESULT_SUCCEEDED;
        op->steps = calloc(NPLAN, sizeof(*op->steps));
        op->nsteps = op->steps != NULL ? NPLAN : 0;
        for (size_t i = 0; i < op->nsteps; i++) {
            op->steps[i] = (struct fo_step){S(plan[i][0]),
                                            S(plan[i][1]),
                                            FO_STEP_DONE,
                                            i == 2 ? 2 : 1,
                                            T0 + 31000 + 5000 * i,
                                            T0 + 34000 + 5000 * i,
                                            i == 2 ? S("attempt 1: timed out") : NULL,
                                            S(i < 4 ? "us-west-2" : "eu-west-1"),
                                            FO_STEP_OUTCOME_DONE};
        }
    }
    st->operation = calloc(1, sizeof(*st->operation));
    if (st->operation != NULL) {
        struct fo_operation *op = st->operation;
        op->id = S("op-2-drill");
        op->kind = FO_OP_DRILL;
        op->from = S("dr");
        op->to = S("main");
        op->reason = S("monthly failover drill");
        op->requested_by = S("alice");
        op->epoch = 2;
        op->force = true;
        op->started_ms = T0 + 200000;
        op->steps = calloc(1, sizeof(*op->steps));
        op->nsteps = op->steps != NULL ? 1 : 0;
        if (op->steps != NULL)
            op->steps[0] = (struct fo_step){S("promote-postgres"),
                                            S("postgres.promote"),
                                            FO_STEP_RUNNING,
                                            1,
                                            T0 + 200100,
                                            0,
                                            NULL,
                                            S("eu-west-1")};
    }
    st->events = calloc(2, sizeof(*st->events));
    if (st->events != NULL) {
        st->nevents = 2;
        st->events[0] = (struct fo_event){T0 + 5000, S("paused"), S("alice"), S("maintenance")};
        st->events[1] = (struct fo_event){T0 + 9000, S("resumed"), S("alice"), NULL};
    }
    st->digests = calloc(1, sizeof(*st->digests));
    if (st->digests != NULL) {
        st->ndigests = 1;
        st->digests[0] = (struct fo_digest){S("us-east-1"), S("9f86d081884c7d65"), T0};
    }
}

static enum fo_proto_code s_snapshot(struct fo_buf *out)
{
    struct fo_state st;
    enum fo_proto_code rc;
    fo_sample_state(&st);
    rc = fo_state_encode(&st, out, NULL);
    fo_state_free(&st);
    return rc;
}

static enum fo_proto_code s_req(struct fo_buf *out)
{
    struct fo_admin_req r = {7, S("failover"), S("not-a-real-token"), NULL, 0};
    enum fo_proto_code rc;
    r.args = calloc(3, sizeof(*r.args));
    if (r.args != NULL) {
        r.nargs = 3;
        r.args[0] = (struct fo_kv){S("to"), S("dr")};
        r.args[1] = (struct fo_kv){S("force"), S("false")};
        r.args[2] = (struct fo_kv){S("reason"), S("us-east-1 degraded")};
    }
    rc = fo_admin_req_encode(&r, out, NULL);
    fo_admin_req_free(&r);
    return rc;
}

static enum fo_proto_code s_reply(struct fo_buf *out)
{
    struct fo_reply r = {7, FO_REPLY_NOT_LEADER, S("not the leader"), S("127.0.0.1:7402"),
                         S("{\"leader\":\"us-west-2\"}")};
    enum fo_proto_code rc = fo_reply_encode(&r, out, NULL);
    fo_reply_free(&r);
    return rc;
}

static enum fo_proto_code s_health(struct fo_buf *out)
{
    struct fo_health h = {
        42,        S("alertmanager"),        S("us-east-1"), S("postgres"), FO_STATUS_DOWN,
        T0 + 2000, S("PostgresDown firing"), S("feed-token")};
    enum fo_proto_code rc = fo_health_encode(&h, out, NULL);
    fo_health_free(&h);
    return rc;
}

const struct fo_sample fo_samples[] = {
    {"cmd_init", FO_FAM_CMD, s_init},          {"cmd_verdict", FO_FAM_CMD, s_verdict},
    {"cmd_op_begin", FO_FAM_CMD, s_op_begin},  {"cmd_step", FO_FAM_CMD, s_step},
    {"cmd_op_end", FO_FAM_CMD, s_op_end},      {"cmd_mode", FO_FAM_CMD, s_mode},
    {"cmd_cooldown", FO_FAM_CMD, s_cooldown},  {"cmd_digest", FO_FAM_CMD, s_digest},
    {"snapshot", FO_FAM_SNAPSHOT, s_snapshot}, {"admin_req", FO_FAM_REQ, s_req},
    {"admin_reply", FO_FAM_REPLY, s_reply},    {"health", FO_FAM_HEALTH, s_health},
};
const size_t fo_nsamples = sizeof(fo_samples) / sizeof(fo_samples[0]);
