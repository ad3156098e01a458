/*
 * tests/sim/workload.c — a model of failoverd's daemon on each server, and the commands
 * it proposes.
 *
 * The daemon follows the rules of DESIGN §6 and the libraft-0.15 reference §3:
 *   - a server that finds itself leader issues raft_barrier and reads its FSM only after
 *     that barrier completed in its current term (0.15 appends no entry on election);
 *   - op_begin names epoch = that FSM's epoch + 1 (a drill: the current epoch);
 *   - requests stay allocated until their callback, which frees them; a callback with
 *     RAFT_LEADERSHIPLOST is an unknown outcome: nothing is assumed, the next leader
 *     reads the FSM.
 * When a leader has read its FSM after its barrier, it "acts" on the operation in
 * flight (in failoverd it would run the next step): invariant (e) records what it acted
 * on, per epoch.
 */
#include "tests/sim/sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/command.h"

struct sim_barrier {
    struct raft_barrier req;
    struct sim_server *sv;
    raft_term term;
};

struct sim_apply {
    struct raft_apply req;
    struct sim_server *sv;
    bool op;
    int type;       /* enum fo_cmd_type */
    int op_kind;    /* op_end: the kind of the operation it ends */
    unsigned owner; /* a forwarded verdict: whose want it is */
    int region;     /* its region, or -1 */
};

static const char *const sites[] = {"main", "dr", "dr2"};
#define NSITES 3

static const struct fo_step_spec plan[] = {
    {"fence-postgres", "postgres.fence"},
    {"promote-postgres", "postgres.promote"},
    {"promote-redis", "redis.promote"},
    {"dns", "cloudflare.dns"},
};

static void barrier_cb(struct raft_barrier *req, int status)
{
    struct sim_barrier *b = req->data;
    struct sim_server *sv = b->sv;
    struct raft *r = sim_raft(sv->sim, sv->i);

    if (status == 0 && raft_state(r) == RAFT_LEADER && r->current_term == b->term)
        sv->barrier_term = b->term;
    if (sv->sim->opt.verbose)
        printf("  %s: barrier of term %llu -> %d\n", sv->name, (unsigned long long)b->term, status);
    free(b);
}

static void apply_cb(struct raft_apply *req, int status, void *result)
{
    struct sim_apply *a = req->data;
    struct sim_server *sv = a->sv;
    const struct fo_fsm_result *res = result; /* &fsm.last: valid only now */
    sv->inflight--;
    if (a->op)
        sv->op_inflight = false;
    if (status != 0)
        sv->sim->lost++; /* RAFT_LEADERSHIPLOST: outcome unknown, the FSM will tell */
    if (a->region >= 0)
        sv->sim->s[a->owner].want_pending[a->region] = false;
    /* The daemon commits a cooldown when its executor sees an operation end
     * (coordinator/run/operations.c fo_ops_finished). */
    if (sv->sim->opt.decide && status == 0 && a->type == FO_CMD_OP_END && res != NULL &&
        res->outcome == FO_FSM_APPLIED && a->op_kind != FO_OP_DRILL)
        sv->want_cooldown = true;
    free(a);
}

int sim_propose(struct sim *s, unsigned i, const struct fo_cmd *cmd)
{
    return sim_propose_for(s, i, cmd, i, -1);
}

int sim_propose_for(struct sim *s, unsigned i, const struct fo_cmd *cmd, unsigned owner, int region)
{
    struct sim_server *sv = &s->s[i];
    struct fo_buf frame;
    struct raft_buffer buf;
    struct sim_apply *a;
    int rv;

    if (fo_cmd_encode(cmd, &frame, NULL) != FO_PROTO_OK)
        abort();
    buf.len = frame.len;
    buf.base = raft_malloc(frame.len); /* raft frees log entries with raft_free */
    a = calloc(1, sizeof(*a));
    if (buf.base == NULL || a == NULL)
        abort();
    memcpy(buf.base, frame.data, frame.len);
    fo_buf_free(&frame);
    a->req.data = a;
    a->sv = sv;
    a->op = cmd->type == FO_CMD_OP_BEGIN || cmd->type == FO_CMD_STEP || cmd->type == FO_CMD_OP_END;
    a->type = (int)cmd->type;
    a->op_kind = sv->rf.fsm.state.operation != NULL ? sv->rf.fsm.state.operation->kind : -1;
    a->owner = owner;
    a->region = region;
    rv = raft_apply(sim_raft(s, i), &a->req, &buf, 1, apply_cb);
    if (rv != 0) { /* nothing was taken */
        raft_free(buf.base);
        free(a);
        return rv;
    }
    sv->inflight++;
    sv->op_inflight |= a->op;
    s->proposals++;
    if (s->opt.verbose && owner != i)
        printf("  %s: propose %s for %s\n", sv->name, fo_cmd_type_name(cmd->type),
               s->s[owner].name);
    else if (s->opt.verbose)
        printf("  %s: propose %s\n", sv->name, fo_cmd_type_name(cmd->type));
    return 0;
}

/* (e): the leader read its FSM after its barrier and would run the operation. */
static void act(struct sim *s, struct sim_server *sv)
{
    const struct fo_operation *op = sv->rf.fsm.state.operation;
    struct sim_epoch *ep;

    if (op == NULL || op->kind == FO_OP_DRILL)
        return;
    if (op->epoch >= s->nepochs) { /* applied means recorded: (c) did it */
        sim_violation(s, SIM_INV_ACTED, "%s acts on epoch %llu that no apply recorded", sv->name,
                      (unsigned long long)op->epoch);
        return;
    }
    ep = &s->epochs[op->epoch];
    if (!ep->acted) {
        ep->acted = true;
        snprintf(ep->acted_to, sizeof(ep->acted_to), "%s", op->to);
    } else if (strcmp(ep->acted_to, op->to) != 0) {
        sim_violation(s, SIM_INV_ACTED,
                      "epoch %llu: %s acts towards %s, another leader did "
                      "towards %s",
                      (unsigned long long)op->epoch, sv->name, op->to, ep->acted_to);
    }
}

static void next_op_command(struct sim *s, struct sim_server *sv, struct fo_cmd *c, char *id,
                            size_t idlen, uint64_t now)
{
    const struct fo_state *st = &sv->rf.fsm.state;
    const struct fo_operation *op = st->operation;

    if (op == NULL) {
        unsigned k = sim_below(s, 100);
        int kind = k < 40   ? FO_OP_AUTO
                   : k < 65 ? FO_OP_MANUAL
                   : k < 85 ? FO_OP_SWITCHOVER
                            : FO_OP_DRILL;
        const char *to = st->primary;
        while (to == NULL || strcmp(to, st->primary) == 0)
            to = sites[sim_below(s, NSITES)];
        snprintf(id, idlen, "op-%llu-%s", (unsigned long long)++s->op_counter, sv->name);
        c->type = FO_CMD_OP_BEGIN;
        c->u.op_begin = (struct fo_cmd_op_begin){
            .id = id,
            .kind = kind,
            .from = st->primary,
            .to = (char *)to,
            .reason = "sim",
            .requested_by = sv->name,
            .epoch = kind == FO_OP_DRILL ? st->epoch : st->epoch + 1,
            .at_ms = now,
            .steps = (struct fo_step_spec *)plan,
            .nsteps = 1 + sim_below(s, 4),
        };
        return;
    }
    sim_op_progress(s, sv, c, now);
}

void sim_op_progress(struct sim *s, struct sim_server *sv, struct fo_cmd *c, uint64_t now)
{
    const struct fo_operation *op = sv->rf.fsm.state.operation;

    for (uint32_t k = 0; k < op->nsteps; k++) {
        const struct fo_step *step = &op->steps[k];
        int state;
        if (step->state == FO_STEP_DONE || step->state == FO_STEP_SKIPPED)
            continue;
        if (step->state == FO_STEP_RUNNING)
            state = sim_below(s, 5) == 0 ? FO_STEP_FAILED : FO_STEP_DONE;
        else if (step->state == FO_STEP_FAILED && step->attempts >= 3)
            state = FO_STEP_SKIPPED;
        else
            state = FO_STEP_RUNNING;
        c->type = FO_CMD_STEP;
        c->u.step = (struct fo_cmd_step){op->id,
                                         op->epoch,
                                         k,
                                         state,
                                         step->attempts + (state == FO_STEP_RUNNING),
                                         now,
                                         state == FO_STEP_FAILED ? "sim: injected" : NULL,
                                         sv->name};
        return;
    }
    c->type = FO_CMD_OP_END;
    c->u.op_end = (struct fo_cmd_op_end){op->id, op->epoch, FO_RESULT_SUCCEEDED, now, NULL};
}

/* Choose the next command from the leader's FSM; false when there is nothing to do. */
static bool next_command(struct sim *s, struct sim_server *sv, struct fo_cmd *c, char *id,
                         size_t idlen, char *hex, size_t hexlen)
{
    const struct fo_state *st = &sv->rf.fsm.state;
    uint64_t now = SIM_T0 + raft_fixture_time(&s->f);
    unsigned k = sim_below(s, 100);

    memset(c, 0, sizeof(*c));
    if (st->cluster == NULL) {
        c->type = FO_CMD_INIT;
        c->u.init = (struct fo_cmd_init){"sim", "main", now};
        return true;
    }
    if (s->drain && (sv->op_inflight || st->operation == NULL)) {
        /* Keep some traffic while draining: libraft 0.15 leaves a follower that holds a
         * stale uncommitted tail behind the commit index until a new entry arrives
         * (tests/sim/README.md), as a real cluster's verdicts and digests would. */
        k = 99;
    } else if (s->drain || k < 45) {
        if (sv->op_inflight)
            return false;
        next_op_command(s, sv, c, id, idlen, now);
        return true;
    }
    if (k < 80) {
        c->type = FO_CMD_VERDICT;
        c->u.verdict = (struct fo_cmd_verdict){s->s[sim_below(s, s->n)].name,
                                               (char *)sites[sim_below(s, NSITES)],
                                               (int)sim_below(s, 3), now, NULL};
    } else if (k < 88) {
        c->type = FO_CMD_MODE;
        c->u.mode = (struct fo_cmd_mode){st->mode == FO_MODE_AUTO ? FO_MODE_PAUSED : FO_MODE_AUTO,
                                         sv->name, NULL, now};
    } else if (k < 95) {
        c->type = FO_CMD_COOLDOWN;
        c->u.cooldown = (struct fo_cmd_cooldown){now + sim_below(s, 3000), sv->name, now};
    } else {
        snprintf(hex, hexlen, "%016llx", (unsigned long long)sim_rand(s));
        c->type = FO_CMD_DIGEST;
        c->u.digest = (struct fo_cmd_digest){sv->name, hex, now};
    }
    return true;
}

void sim_daemon(struct sim *s, unsigned i)
{
    struct sim_server *sv = &s->s[i];
    struct raft *r = sim_raft(s, i);
    raft_time now = raft_fixture_time(&s->f);
    struct fo_cmd c;
    char id[FO_NAME_MAX], hex[32];

    if (s->opt.decide && sv->daemon && raft_fixture_alive(&s->f, i)) {
        /* Every node runs the daemon's housekeeping; the leader's part needs its
         * barrier, issued below. */
        bool ready = raft_state(r) == RAFT_LEADER && sv->barrier_term == r->current_term;
        if (ready)
            act(s, sv);
        sim_decide_daemon(s, i, ready);
    }
    if (!sv->daemon || !raft_fixture_alive(&s->f, i) || raft_state(r) != RAFT_LEADER)
        return;
    if (sv->barrier_term != r->current_term) {
        struct sim_barrier *b;
        if (sv->barrier_issued == r->current_term)
            return; /* waiting for it */
        b = calloc(1, sizeof(*b));
        if (b == NULL)
            abort();
        b->req.data = b;
        b->sv = sv;
        b->term = r->current_term;
        if (raft_barrier(r, &b->req, barrier_cb) != 0) {
            free(b);
            return;
        }
        sv->barrier_issued = r->current_term;
        return;
    }
    if (s->opt.decide)
        return; /* decide.c did the rest */
    act(s, sv);
    if (!s->workload || now < sv->next_propose || sv->inflight >= 3)
        return;
    sv->next_propose = now + 50 + sim_below(s, 500) + (s->drain ? 1000 : 0);
    if (next_command(s, sv, &c, id, sizeof(id), hex, sizeof(hex)))
        (void)sim_propose(s, i, &c);
}
