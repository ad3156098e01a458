/*
 * consensus/fsm.c — see fsm.h for the contract and the safety rules.
 *
 * Each apply_* function checks first and changes second: when it rejects, nothing has
 * been touched, so a rejection never leaves a half-applied command.
 *
 * Out of memory: the FSM aborts the process (fo_fsm_oom), like Redis' zmalloc. The
 * alternative — rejecting the command on the node that could not allocate — would make
 * that node's state differ from every other node's forever. A crashed node restarts and
 * replays the log to exactly the state the others have.
 */
#include "consensus/fsm.h"

#include "proto/frame.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fo_fsm_oom(void)
{
    fputs("failoverd: fsm: out of memory applying a committed entry; aborting so that the "
          "node restarts and replays instead of diverging\n",
          stderr);
    abort();
}

static char *xstrdup(const char *s)
{
    char *d;
    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        fo_fsm_oom();
    return d;
}

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL)
        fo_fsm_oom();
    return q;
}

static void *xcalloc(size_t n, size_t size)
{
    void *q = calloc(n, size);
    if (q == NULL)
        fo_fsm_oom();
    return q;
}

static void replace_str(char **dst, const char *src)
{
    char *d = xstrdup(src);
    free(*dst);
    *dst = d;
}

void fo_fsm_init(struct fo_fsm *f)
{
    memset(f, 0, sizeof(*f));
}

void fo_fsm_close(struct fo_fsm *f)
{
    fo_state_free(&f->state);
    memset(f, 0, sizeof(*f));
}

static void reject(struct fo_fsm *f, enum fo_fsm_outcome outcome, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(struct fo_fsm *f, enum fo_fsm_outcome outcome, const char *fmt, ...)
{
    va_list ap;
    f->last.outcome = outcome;
    va_start(ap, fmt);
    vsnprintf(f->last.msg, sizeof(f->last.msg), fmt, ap);
    va_end(ap);
}

static int same(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* A slot at the end of a bounded ring kept as an array, oldest first. When the ring is
 * full the oldest element is released and the rest slide down by one. */
static void *ring_push(void **items, size_t *n, size_t keep, size_t elem,
                       const struct fo_schema *schema)
{
    char *base = *items;
    if (*n >= keep) {
        fo_schema_free(schema, base);
        memmove(base, base + elem, (*n - 1) * elem);
    } else {
        base = xrealloc(base, (*n + 1) * elem);
        *items = base;
        (*n)++;
    }
    memset(base + (*n - 1) * elem, 0, elem);
    return base + (*n - 1) * elem;
}

/* Record an event in the incident log (people read it; decisions never do). */
static void add_event(struct fo_fsm *f, uint64_t at_ms, const char *what, const char *by,
                      const char *text)
{
    struct fo_event *ev = ring_push((void **)&f->state.events, &f->state.nevents,
                                    FO_FSM_EVENTS_KEEP, sizeof(*ev), &fo_event_schema);
    ev->at_ms = at_ms;
    ev->what = xstrdup(what);
    ev->by = xstrdup(by);
    ev->text = xstrdup(text);
}

const struct fo_verdict *fo_fsm_verdict(const struct fo_fsm *f, const char *observer,
                                        const char *region)
{
    for (size_t i = 0; i < f->state.nverdicts; i++) {
        const struct fo_verdict *v = &f->state.verdicts[i];
        if (same(v->observer, observer) && same(v->region, region))
            return v;
    }
    return NULL;
}

const struct fo_operation *fo_fsm_history_find(const struct fo_fsm *f, const char *op_id)
{
    for (size_t i = 0; i < f->state.nhistory; i++)
        if (same(f->state.history[i].id, op_id))
            return &f->state.history[i];
    for (size_t i = 0; i < f->state.narchive; i++)
        if (same(f->state.archive[i].id, op_id))
            return &f->state.archive[i];
    return NULL;
}

static size_t len_of(const char *s)
{
    return s != NULL ? strlen(s) : 0;
}

/* Close to its encoded size (msgpack keys and numbers: the fixed part), and a function
 * of the replicated fields only, so every node drops the same entries. */
size_t fo_fsm_archive_cost(const struct fo_operation *op)
{
    return 160 + len_of(op->id) + len_of(op->from) + len_of(op->to) + len_of(op->reason) +
           len_of(op->requested_by) + len_of(op->error);
}

/* Move op (its struct, which owns its members) to the archive without its steps; drop
 * the oldest archived operations until the archive fits its budget. */
static void archive_push(struct fo_state *s, const struct fo_operation *op)
{
    size_t total = 0;
    struct fo_operation *slot;

    s->archive = xrealloc(s->archive, (s->narchive + 1) * sizeof(*s->archive));
    slot = &s->archive[s->narchive++];
    *slot = *op;
    for (size_t i = 0; i < slot->nsteps; i++)
        fo_schema_free(&fo_step_schema, &slot->steps[i]);
    free(slot->steps);
    slot->steps = NULL;
    slot->nsteps = 0;
    for (size_t i = 0; i < s->narchive; i++)
        total += fo_fsm_archive_cost(&s->archive[i]);
    while (s->narchive > 0 && (total > FO_FSM_ARCHIVE_BYTES || s->narchive > FO_MAX_ARCHIVE)) {
        total -= fo_fsm_archive_cost(&s->archive[0]);
        fo_schema_free(&fo_operation_schema, &s->archive[0]);
        memmove(s->archive, s->archive + 1, (s->narchive - 1) * sizeof(*s->archive));
        s->narchive--;
        s->history_dropped++;
    }
}

/* ---- commands ------------------------------------------------------------------- */

static void halt(struct fo_fsm *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void apply_init(struct fo_fsm *f, const struct fo_cmd_init *c)
{
    struct fo_state *s = &f->state;

    if (s->cluster != NULL) {
        /* A second init (two first leaders racing, or a retry) changes nothing. */
        if (!same(s->cluster, c->cluster))
            reject(f, FO_FSM_REJECTED, "cluster is already initialised as '%s'", s->cluster);
        return;
    }
    if (c->format > FO_PROTO_VERSION) {
        halt(f,
             "the cluster is created at format v%u and this binary reads v%d at most: run a "
             "newer release on this node",
             c->format, FO_PROTO_VERSION);
        return;
    }
    if (c->format > fo_state_format(s))
        s->format = c->format;
    s->cluster = xstrdup(c->cluster);
    replace_str(&s->primary, c->primary);
    s->mode_since_ms = c->at_ms;
    add_event(f, c->at_ms, "initialized", NULL, c->primary);
}

static void apply_verdict(struct fo_fsm *f, const struct fo_cmd_verdict *c)
{
    struct fo_state *s = &f->state;
    struct fo_verdict *v = (struct fo_verdict *)fo_fsm_verdict(f, c->observer, c->region);

    if (v != NULL && v->status == c->status)
        return; /* only changes matter; a repeated report is a no-op */
    if (v == NULL) {
        if (s->nverdicts >= FO_MAX_VERDICTS) {
            reject(f, FO_FSM_REJECTED, "verdict table full (%d rows)", FO_MAX_VERDICTS);
            return;
        }
        s->verdicts = xrealloc(s->verdicts, (s->nverdicts + 1) * sizeof(*v));
        v = &s->verdicts[s->nverdicts++];
        memset(v, 0, sizeof(*v));
        v->observer = xstrdup(c->observer);
        v->region = xstrdup(c->region);
    }
    v->status = c->status;
    v->since_ms = c->at_ms;
    replace_str(&v->reason, c->reason);
}

/* Lease marks matter for the current epoch (a failover about to be decided) and the
 * previous one (the failover in flight waits for them); older ones are dropped. */
static void prune_leases(struct fo_state *s)
{
    size_t keep = 0;
    for (size_t i = 0; i < s->nleases; i++) {
        if (s->leases[i].epoch + 1 >= s->epoch)
            s->leases[keep++] = s->leases[i];
        else
            fo_schema_free(&fo_lease_mark_schema, &s->leases[i]);
    }
    s->nleases = keep;
}

static void apply_op_begin(struct fo_fsm *f, const struct fo_cmd_op_begin *c)
{
    struct fo_state *s = &f->state;
    struct fo_operation *op;
    bool drill = !fo_op_kind_moves_primary(c->kind); /* a drill or a rejoin: moves nothing */

    if (s->cluster == NULL) {
        reject(f, FO_FSM_REJECTED, "cluster not initialised yet");
        return;
    }
    if (s->operation != NULL) {
        reject(f, FO_FSM_REJECTED, "operation %s is in flight", s->operation->id);
        return;
    }
    if (fo_fsm_history_find(f, c->id) != NULL) {
        /* The same proposal committed twice (a retry after an unknown outcome). */
        reject(f, FO_FSM_REJECTED, "operation %s already ran", c->id);
        return;
    }
    /* The fencing token: exactly one operation per epoch, epochs only grow. A drill
     * changes nothing, and a rejoin re-seeds a site that is not primary, so both run
     * within the current epoch. */
    if (c->epoch != (drill ? s->epoch : s->epoch + 1)) {
        reject(f, FO_FSM_REJECTED, "stale epoch %llu (current %llu)", (unsigned long long)c->epoch,
               (unsigned long long)s->epoch);
        return;
    }
    if (!same(c->from, s->primary)) {
        reject(f, FO_FSM_REJECTED, "'%s' is not the primary (the primary is '%s')", c->from,
               s->primary);
        return;
    }
    if (!drill && same(c->to, c->from)) {
        reject(f, FO_FSM_REJECTED, "'%s' is already the primary", c->to);
        return;
    }
    if (c->kind == FO_OP_REJOIN && same(c->to, s->primary)) {
        /* Re-seeding the primary would throw away what it took. */
        reject(f, FO_FSM_REJECTED, "'%s' is the primary: only another site can rejoin", c->to);
        return;
    }
    if (c->kind == FO_OP_AUTO && s->mode == FO_MODE_PAUSED) {
        reject(f, FO_FSM_REJECTED, "automatic failover is paused");
        return;
    }
    if (c->kind == FO_OP_AUTO && c->at_ms < s->cooldown_until_ms) {
        reject(f, FO_FSM_REJECTED, "in cooldown for %llu ms more",
               (unsigned long long)(s->cooldown_until_ms - c->at_ms));
        return;
    }

    op = xcalloc(1, sizeof(*op));
    op->id = xstrdup(c->id);
    op->kind = c->kind;
    op->from = xstrdup(c->from);
    op->to = xstrdup(c->to);
    op->reason = xstrdup(c->reason);
    op->requested_by = xstrdup(c->requested_by);
    op->epoch = c->epoch;
    op->force = c->force;
    op->detected_ms = c->detected_ms;
    op->lag_known = c->lag_known;
    op->lag_bytes = c->lag_known ? c->lag_bytes : 0;
    op->lag_ms = c->lag_known ? c->lag_ms : 0;
    op->started_ms = c->at_ms;
    op->result = FO_RESULT_RUNNING;
    if (c->nsteps > 0) {
        op->steps = xcalloc(c->nsteps, sizeof(*op->steps));
        op->nsteps = c->nsteps;
        for (size_t i = 0; i < c->nsteps; i++) {
            op->steps[i].name = xstrdup(c->steps[i].name);
            op->steps[i].action = xstrdup(c->steps[i].action);
        }
    }
    /* The commit point: from here the target is the decided primary. */
    s->operation = op;
    s->epoch = c->epoch;
    if (!drill) {
        replace_str(&s->prev_primary, s->primary);
        replace_str(&s->primary, c->to);
        prune_leases(s);
    }
}

/* Which journal transitions are allowed. A done step is final: that is what keeps a
 * new leader's re-run from redoing it. */
static bool step_transition_ok(int from, int to)
{
    switch (to) {
    case FO_STEP_RUNNING:
    case FO_STEP_SKIPPED:
        return from == FO_STEP_PENDING || from == FO_STEP_RUNNING || from == FO_STEP_FAILED;
    case FO_STEP_DONE:
    case FO_STEP_FAILED:
        return from == FO_STEP_RUNNING;
    default:
        return false;
    }
}

static struct fo_operation *current_op(struct fo_fsm *f, const char *id, uint64_t epoch)
{
    struct fo_operation *op = f->state.operation;
    if (op == NULL) {
        reject(f, FO_FSM_REJECTED, "no operation in flight (wanted %s)", id);
        return NULL;
    }
    if (!same(op->id, id) || op->epoch != epoch) {
        reject(f, FO_FSM_REJECTED, "operation %s/epoch %llu is not the one in flight (%s)", id,
               (unsigned long long)epoch, op->id);
        return NULL;
    }
    return op;
}

static void apply_step(struct fo_fsm *f, const struct fo_cmd_step *c)
{
    struct fo_operation *op = current_op(f, c->op_id, c->epoch);
    struct fo_step *st;

    if (op == NULL)
        return;
    if (c->index >= op->nsteps) {
        reject(f, FO_FSM_REJECTED, "step %u out of range (%zu steps)", c->index, op->nsteps);
        return;
    }
    st = &op->steps[c->index];
    if (!step_transition_ok(st->state, c->state)) {
        reject(f, FO_FSM_REJECTED, "step %s: %s -> %s not allowed", st->name,
               fo_enum_name(fo_step_state_names, st->state),
               fo_enum_name(fo_step_state_names, c->state));
        return;
    }
    /* The executor decides by the outcome: one that contradicts the state is a bug. */
    if (!fo_step_outcome_fits(c->state, c->outcome)) {
        reject(f, FO_FSM_REJECTED, "step %s: outcome %s does not fit state %s", st->name,
               fo_enum_name(fo_step_outcome_names, c->outcome),
               fo_enum_name(fo_step_state_names, c->state));
        return;
    }
    if (c->state == FO_STEP_RUNNING) {
        st->started_ms = c->at_ms;
        st->ended_ms = 0;
        if (c->attempt > st->attempts)
            st->attempts = c->attempt;
        if (c->leader != NULL)
            replace_str(&st->leader, c->leader);
    } else {
        st->ended_ms = c->at_ms;
    }
    st->state = c->state;
    st->outcome = c->outcome; /* running: NONE, the new attempt's outcome is not known */
    /* The last error stays visible while the step is retried; success clears it. */
    if (c->error != NULL || c->state == FO_STEP_DONE)
        replace_str(&st->error, c->error);
}

static void apply_op_end(struct fo_fsm *f, const struct fo_cmd_op_end *c)
{
    struct fo_state *s = &f->state;
    struct fo_operation *op = current_op(f, c->op_id, c->epoch);
    struct fo_operation *slot;

    if (op == NULL)
        return;
    /* A full history hands its oldest to the archive (the ring then has room). */
    if (s->nhistory >= FO_FSM_HISTORY_KEEP) {
        archive_push(s, &s->history[0]);
        memmove(s->history, s->history + 1, (s->nhistory - 1) * sizeof(*s->history));
        s->nhistory--;
    }
    slot = ring_push((void **)&s->history, &s->nhistory, FO_FSM_HISTORY_KEEP, sizeof(*slot),
                     &fo_operation_schema);
    /* Move the operation into history: the struct itself, which owns its members. */
    *slot = *op;
    free(op);
    s->operation = NULL;
    slot->result = c->result;
    slot->ended_ms = c->at_ms;
    replace_str(&slot->error, c->error);
}

static void apply_mode(struct fo_fsm *f, const struct fo_cmd_mode *c)
{
    struct fo_state *s = &f->state;
    s->mode = c->mode;
    replace_str(&s->mode_by, c->by);
    replace_str(&s->mode_reason, c->reason);
    s->mode_since_ms = c->at_ms;
    add_event(f, c->at_ms, c->mode == FO_MODE_PAUSED ? "paused" : "resumed", c->by, c->reason);
}

static void apply_cooldown(struct fo_fsm *f, const struct fo_cmd_cooldown *c)
{
    char text[64];
    f->state.cooldown_until_ms = c->until_ms;
    /* The text stays as older versions wrote it; until_ms carries the time as a time. */
    snprintf(text, sizeof(text), "until %llu", (unsigned long long)c->until_ms);
    add_event(f, c->at_ms, "cooldown", c->by, text);
    f->state.events[f->state.nevents - 1].until_ms = c->until_ms;
}

static void apply_digest(struct fo_fsm *f, const struct fo_cmd_digest *c)
{
    struct fo_state *s = &f->state;
    struct fo_digest *d = NULL;

    for (size_t i = 0; i < s->ndigests; i++)
        if (same(s->digests[i].node, c->node))
            d = &s->digests[i];
    if (d == NULL) {
        if (s->ndigests >= FO_MAX_DIGESTS) {
            reject(f, FO_FSM_REJECTED, "digest table full (%d nodes)", FO_MAX_DIGESTS);
            return;
        }
        s->digests = xrealloc(s->digests, (s->ndigests + 1) * sizeof(*d));
        d = &s->digests[s->ndigests++];
        memset(d, 0, sizeof(*d));
        d->node = xstrdup(c->node);
    }
    replace_str(&d->digest, c->digest);
    d->at_ms = c->at_ms;
}

/* A lease mark is kept only for a (site, epoch) that held the write lease: the primary of
 * this epoch, or the one before the last failover with the previous epoch. Anything else
 * is stale (a mark proposed before a newer failover) and rejected. Marks are facts that
 * never stop being true, so a repeated one is accepted without adding a row. */
static void apply_lease(struct fo_fsm *f, const struct fo_cmd_lease *c)
{
    struct fo_state *s = &f->state;
    struct fo_lease_mark *m;
    bool current = c->epoch == s->epoch && same(c->site, s->primary);
    bool previous = c->epoch + 1 == s->epoch && same(c->site, s->prev_primary);

    if (s->cluster == NULL) {
        reject(f, FO_FSM_REJECTED, "cluster not initialised yet");
        return;
    }
    if (!current && !previous) {
        reject(f, FO_FSM_REJECTED, "stale lease mark: %s did not hold the lease in epoch %llu",
               c->site, (unsigned long long)c->epoch);
        return;
    }
    if (c->what == FO_LEASE_FENCED && !same(c->node, c->guardian)) {
        reject(f, FO_FSM_REJECTED, "only the guardian %s can say it fenced, not %s", c->guardian,
               c->node);
        return;
    }
    for (size_t i = 0; i < s->nleases; i++) {
        m = &s->leases[i];
        if (m->epoch == c->epoch && m->what == c->what && same(m->site, c->site) &&
            same(m->guardian, c->guardian) && same(m->node, c->node))
            return;
    }
    if (s->nleases >= FO_MAX_LEASES) {
        reject(f, FO_FSM_REJECTED, "lease table full (%d marks)", FO_MAX_LEASES);
        return;
    }
    s->leases = xrealloc(s->leases, (s->nleases + 1) * sizeof(*m));
    m = &s->leases[s->nleases++];
    memset(m, 0, sizeof(*m));
    m->site = xstrdup(c->site);
    m->epoch = c->epoch;
    m->guardian = xstrdup(c->guardian);
    m->node = xstrdup(c->node);
    m->what = c->what;
    m->at_ms = c->at_ms;
}

/* Stop applying (fsm.h, HALTED): nothing of the state changes, not even the event log. */
static void halt(struct fo_fsm *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void halt(struct fo_fsm *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->halt_msg, sizeof(f->halt_msg), fmt, ap);
    va_end(ap);
    f->halted = true;
    f->last.outcome = FO_FSM_HALTED;
    memcpy(f->last.msg, f->halt_msg, sizeof(f->last.msg));
}

/* A halted FSM refuses every entry with the reason it halted for. */
static void still_halted(struct fo_fsm *f)
{
    f->last.outcome = FO_FSM_HALTED;
    memcpy(f->last.msg, f->halt_msg, sizeof(f->last.msg));
}

/* The cluster format only grows, and only to a format this binary reads: a node that
 * does not read it must not go on applying what will be written in it. */
static void apply_format(struct fo_fsm *f, const struct fo_cmd_format *c)
{
    struct fo_state *s = &f->state;
    char text[64];

    if (c->format > FO_PROTO_VERSION) {
        halt(f,
             "the cluster format is raised to v%u and this binary reads v%d at most: run a "
             "newer release on this node",
             c->format, FO_PROTO_VERSION);
        return;
    }
    if (c->format < fo_state_format(s)) {
        reject(f, FO_FSM_REJECTED, "the cluster format never goes down (v%u, asked v%u)",
               fo_state_format(s), c->format);
        return;
    }
    if (c->format == fo_state_format(s))
        return; /* a retry, or a second operator: already so */
    s->format = c->format;
    snprintf(text, sizeof(text), "format v%u", c->format);
    add_event(f, c->at_ms, "upgraded", c->by, text);
}

/* The proposer's time stamp of a command, for the incident log. */
static uint64_t cmd_at_ms(const struct fo_cmd *cmd)
{
    switch (cmd->type) {
    case FO_CMD_INIT:
        return cmd->u.init.at_ms;
    case FO_CMD_VERDICT:
        return cmd->u.verdict.at_ms;
    case FO_CMD_OP_BEGIN:
        return cmd->u.op_begin.at_ms;
    case FO_CMD_STEP:
        return cmd->u.step.at_ms;
    case FO_CMD_OP_END:
        return cmd->u.op_end.at_ms;
    case FO_CMD_MODE:
        return cmd->u.mode.at_ms;
    case FO_CMD_COOLDOWN:
        return cmd->u.cooldown.at_ms;
    case FO_CMD_DIGEST:
        return cmd->u.digest.at_ms;
    case FO_CMD_LEASE:
        return cmd->u.lease.at_ms;
    case FO_CMD_FORMAT:
        return cmd->u.format.at_ms;
    default:
        return 0;
    }
}

void fo_fsm_apply(struct fo_fsm *f, const struct fo_cmd *cmd)
{
    if (f->halted) {
        still_halted(f);
        f->last.type = cmd->type;
        return;
    }
    f->last.outcome = FO_FSM_APPLIED;
    f->last.type = cmd->type;
    f->last.msg[0] = '\0';
    f->applied++;
    switch (cmd->type) {
    case FO_CMD_INIT:
        apply_init(f, &cmd->u.init);
        break;
    case FO_CMD_VERDICT:
        apply_verdict(f, &cmd->u.verdict);
        break;
    case FO_CMD_OP_BEGIN:
        apply_op_begin(f, &cmd->u.op_begin);
        break;
    case FO_CMD_STEP:
        apply_step(f, &cmd->u.step);
        break;
    case FO_CMD_OP_END:
        apply_op_end(f, &cmd->u.op_end);
        break;
    case FO_CMD_MODE:
        apply_mode(f, &cmd->u.mode);
        break;
    case FO_CMD_COOLDOWN:
        apply_cooldown(f, &cmd->u.cooldown);
        break;
    case FO_CMD_DIGEST:
        apply_digest(f, &cmd->u.digest);
        break;
    case FO_CMD_LEASE:
        apply_lease(f, &cmd->u.lease);
        break;
    case FO_CMD_FORMAT:
        apply_format(f, &cmd->u.format);
        break;
    default:
        reject(f, FO_FSM_INVALID, "bad command type %d", (int)cmd->type);
        break;
    }
    if (f->last.outcome == FO_FSM_HALTED) {
        f->applied--; /* it was not */
        return;
    }
    if (f->last.outcome != FO_FSM_APPLIED) {
        char text[FO_TEXT_MAX];
        f->rejected++;
        snprintf(text, sizeof(text), "%s: %s",
                 fo_cmd_type_name(cmd->type) != NULL ? fo_cmd_type_name(cmd->type) : "?",
                 f->last.msg);
        add_event(f, cmd_at_ms(cmd), "rejected", NULL, text);
    }
}

void fo_fsm_apply_frame(struct fo_fsm *f, const uint8_t *frame, size_t len)
{
    struct fo_proto_error err;
    const uint8_t *payload;
    size_t n;
    struct fo_cmd cmd;

    if (f->halted) {
        still_halted(f);
        f->last.type = FO_CMD_NTYPES;
        return;
    }
    if (fo_frame_payload(frame, len, FO_FRAME_MAX_DEFAULT, &payload, &n, &err) != FO_PROTO_OK ||
        fo_cmd_decode(payload, n, &cmd, &err) != FO_PROTO_OK) {
        /* Never skipped: a node of another release may have decoded and applied it, and
         * skipping would leave this one diverged for good (fsm.h, HALTED). */
        f->last.type = FO_CMD_NTYPES;
        halt(f, "cannot apply a committed entry (this binary reads formats v%d..v%d): %s",
             FO_PROTO_VERSION_MIN, FO_PROTO_VERSION, err.msg);
        return;
    }
    fo_fsm_apply(f, &cmd);
    fo_cmd_free(&cmd);
}

int fo_fsm_snapshot(const struct fo_fsm *f, struct fo_buf *out)
{
    /* Never newer than the cluster format: an older member may be sent this snapshot. */
    return fo_state_encode_max(&f->state, fo_state_format(&f->state), out, NULL);
}

int fo_fsm_restore(struct fo_fsm *f, const uint8_t *frame, size_t len, struct fo_proto_error *err)
{
    const uint8_t *payload;
    size_t n;
    struct fo_state st;
    int rc = fo_frame_payload(frame, len, FO_SNAPSHOT_MAX, &payload, &n, err);
    if (rc != FO_PROTO_OK)
        return rc;
    rc = fo_state_decode(payload, n, &st, err);
    if (rc != FO_PROTO_OK)
        return rc;
    fo_state_free(&f->state);
    f->state = st;
    /* The snapshot holds the state past the entry that halted this node (if any). */
    f->halted = false;
    f->halt_msg[0] = '\0';
    return 0;
}
