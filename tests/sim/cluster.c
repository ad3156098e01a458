/*
 * tests/sim/cluster.c — the fixture, the recording FSM wrapper, the network model and
 * the invariants (see sim.h).
 */
#include "tests/sim/sim.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sim_invariant_names[SIM_NINV] = {
    "(a) applied entries are not a common prefix",
    "(b) epoch decreased",
    "(c) two operations or primaries in one epoch",
    "(d) commit index decreased",
    "(e) leaders acted on two operations in one epoch",
    "(f) servers did not converge",
    "(g) automatic failover without a quorum holding the primary DOWN",
    "(h) automatic failover while paused or in cooldown",
    "(i) automatic failover over the RPO bound",
    "(j) two decisions in one epoch",
    "(l) automatic fail back",
    "(m) two components of one kind take writes at the same time",
    "(n) a fence lifted on a round sent after a majority moved away",
    "(o) a late promote of an older epoch took effect",
};

/* splitmix64: small, fast and good enough; the only source of randomness. */
uint64_t sim_rand(struct sim *s)
{
    uint64_t z = (s->rng += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

unsigned sim_below(struct sim *s, unsigned n)
{
    return n == 0 ? 0 : (unsigned)(sim_rand(s) % n);
}

struct raft *sim_raft(struct sim *s, unsigned i)
{
    return raft_fixture_get(&s->f, i);
}

void sim_violation(struct sim *s, enum sim_invariant inv, const char *fmt, ...)
{
    va_list ap;
    s->violations[inv]++;
    if (s->failed)
        return; /* keep the first one */
    s->failed = true;
    s->failed_step = s->step;
    int k = snprintf(s->why, sizeof(s->why), "%s: ", sim_invariant_names[inv]);
    va_start(ap, fmt);
    vsnprintf(s->why + k, sizeof(s->why) - (size_t)k, fmt, ap);
    va_end(ap);
    if (s->opt.verbose)
        printf("  !! %s\n", s->why);
}

static uint64_t fnv1a(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* The term of the entry at index in r's in-memory log, 0 when not there. Mirrors
 * libraft 0.15's own lookup in its ring buffer (struct raft_log is public in 0.15). */
static raft_term entry_term(const struct raft_log *l, raft_index index)
{
    size_t n = l->back >= l->front ? l->back - l->front : l->size - l->front + l->back;
    if (index <= l->offset || index > l->offset + n)
        return 0;
    return l->entries[(l->front + (size_t)(index - l->offset - 1)) % l->size].term;
}

static struct sim_entry *log_slot(struct sim *s, raft_index index)
{
    if (index >= s->nlog) {
        size_t n = s->nlog ? s->nlog : 256;
        while (n <= index)
            n *= 2;
        s->log = realloc(s->log, n * sizeof(*s->log));
        if (s->log == NULL)
            abort();
        memset(s->log + s->nlog, 0, (n - s->nlog) * sizeof(*s->log));
        s->nlog = n;
    }
    return &s->log[index];
}

static struct sim_epoch *epoch_slot(struct sim *s, uint64_t epoch)
{
    if (epoch >= s->nepochs) {
        size_t n = s->nepochs ? s->nepochs : 64;
        while (n <= epoch)
            n *= 2;
        s->epochs = realloc(s->epochs, n * sizeof(*s->epochs));
        if (s->epochs == NULL)
            abort();
        memset(s->epochs + s->nepochs, 0, (n - s->nepochs) * sizeof(*s->epochs));
        s->nepochs = n;
    }
    return &s->epochs[epoch];
}

/* (a): index is the next command this server applies. */
static void check_log(struct sim *s, struct sim_server *sv, raft_index index, raft_term term,
                      uint64_t hash)
{
    struct sim_entry *e;

    if (sv->restored) { /* the snapshot covered everything before this entry */
        sv->floor = sv->last_index = index - 1;
        sv->restored = false;
    }
    if (index <= sv->last_index)
        sim_violation(s, SIM_INV_LOG, "%s applied index %llu after %llu", sv->name,
                      (unsigned long long)index, (unsigned long long)sv->last_index);
    for (raft_index k = sv->last_index + 1; k < index && k < s->nlog; k++)
        if (s->log[k].set)
            sim_violation(s, SIM_INV_LOG, "%s skipped index %llu (applied %llu next)", sv->name,
                          (unsigned long long)k, (unsigned long long)index);
    e = log_slot(s, index);
    if (!e->set) {
        /* The first to apply this index: nobody may have gone past it without it. */
        for (unsigned j = 0; j < s->n; j++)
            if (s->s[j].last_index > index && s->s[j].floor < index)
                sim_violation(s, SIM_INV_LOG, "%s went past index %llu without applying it",
                              s->s[j].name, (unsigned long long)index);
        e->set = true;
        e->term = term;
        e->hash = hash;
        s->applied++;
    } else if (e->term != term || e->hash != hash) {
        sim_violation(s, SIM_INV_LOG,
                      "%s applied index %llu term %llu hash %016llx; another server applied "
                      "term %llu hash %016llx there",
                      sv->name, (unsigned long long)index, (unsigned long long)term,
                      (unsigned long long)hash, (unsigned long long)e->term,
                      (unsigned long long)e->hash);
    }
    sv->last_index = index;
}

/* (c): an op_begin was applied on this server. */
static void check_op_begin(struct sim *s, struct sim_server *sv, bool first)
{
    const struct fo_operation *op = sv->rf.fsm.state.operation;
    struct sim_epoch *ep;

    if (op == NULL)
        return;
    if (first)
        s->operations++;
    if (op->kind == FO_OP_DRILL)
        return;
    ep = epoch_slot(s, op->epoch);
    if (!ep->applied) {
        ep->applied = true;
        snprintf(ep->id, sizeof(ep->id), "%s", op->id);
        snprintf(ep->to, sizeof(ep->to), "%s", op->to);
    } else if (strcmp(ep->id, op->id) != 0 || strcmp(ep->to, op->to) != 0) {
        sim_violation(s, SIM_INV_PRIMARY, "epoch %llu: %s applied %s -> %s, elsewhere %s -> %s",
                      (unsigned long long)op->epoch, sv->name, op->id, op->to, ep->id, ep->to);
    }
}

static int rec_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct fo_raft_fsm *rf = fsm->data;
    struct sim_server *sv = rf->data;
    struct sim *s = sv->sim;
    struct raft *r = sim_raft(s, sv->i);
    raft_index index = raft_last_applied(r) + 1; /* libraft 0.15 detail (reference §7) */
    bool first = index >= s->nlog || !s->log[index].set;
    uint64_t pre_epoch = rf->fsm.state.epoch;
    int rv;

    check_log(s, sv, index, entry_term(&r->log, index), fnv1a(buf->base, buf->len));
    rv = sv->fsm_apply(fsm, buf, result);
    if (rf->fsm.last.outcome != FO_FSM_APPLIED)
        s->rejected += first;
    if (rf->fsm.state.epoch < sv->max_epoch)
        sim_violation(s, SIM_INV_EPOCH, "%s: epoch %llu after %llu (apply of index %llu)", sv->name,
                      (unsigned long long)rf->fsm.state.epoch, (unsigned long long)sv->max_epoch,
                      (unsigned long long)index);
    sv->max_epoch = rf->fsm.state.epoch;
    if (rf->fsm.last.type == FO_CMD_OP_BEGIN && rf->fsm.last.outcome == FO_FSM_APPLIED)
        check_op_begin(s, sv, first);
    if (s->opt.decide)
        sim_decide_applied(s, sv, index, first, pre_epoch);
    return rv;
}

/* consensus/node.c contact_recv, the leader's half: an AppendEntries result of the
 * current term from a peer, recorded after raft handled it. The decision's stale peers
 * (decide.c decision_input) are read from this, as fo_node_peer_reachable does. */
static void contact_recv(struct raft_io *io, struct raft_message *m)
{
    struct raft *r = io->data; /* raft_init sets io->data to the raft */
    struct sim_server *sv = ((struct fo_raft_fsm *)r->fsm->data)->data;
    raft_id from = m->server_id;
    raft_term term = m->type == RAFT_IO_APPEND_ENTRIES_RESULT ? m->append_entries_result.term : 0;
    unsigned short type = m->type;

    sv->raft_recv(io, m);
    if (type == RAFT_IO_APPEND_ENTRIES_RESULT && term == r->current_term &&
        r->state == RAFT_LEADER && from >= 1 && from <= SIM_MAX_SERVERS) {
        sv->contact[from - 1].at = io->time(io);
        sv->contact[from - 1].term = term;
    }
}

static int contact_start(struct raft_io *io, unsigned msecs, raft_io_tick_cb tick,
                         raft_io_recv_cb recv)
{
    struct raft *r = io->data;
    struct sim_server *sv = ((struct fo_raft_fsm *)r->fsm->data)->data;

    sv->raft_recv = recv;
    return sv->io_start(io, msecs, tick, contact_recv);
}

static int rec_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct fo_raft_fsm *rf = fsm->data;
    struct sim_server *sv = rf->data;
    int rv = sv->fsm_restore(fsm, buf);
    if (rv == 0)
        sv->restored = true;
    if (rv == 0 && sv->sim->opt.decide)
        sim_decide_restored(sv->sim, sv);
    if (sv->sim->opt.verbose)
        printf("  %s: restore -> %d (epoch %llu)\n", sv->name, rv,
               (unsigned long long)rf->fsm.state.epoch);
    return rv;
}

/* After every fixture step: (b) after restores, (d), elections, and the trace. */
static void hook(struct raft_fixture *f, struct raft_fixture_event *ev)
{
    struct sim *s = (struct sim *)f;
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_server *sv = &s->s[i];
        struct raft *r = sim_raft(s, i);
        bool leader = raft_state(r) == RAFT_LEADER;
        if (sv->restored) {
            sv->floor = sv->last_index = raft_last_applied(r);
            sv->restored = false;
        }
        if (sv->rf.fsm.state.epoch < sv->max_epoch)
            sim_violation(s, SIM_INV_EPOCH, "%s: epoch %llu after %llu (snapshot install)",
                          sv->name, (unsigned long long)sv->rf.fsm.state.epoch,
                          (unsigned long long)sv->max_epoch);
        if (sv->rf.fsm.state.epoch > sv->max_epoch)
            sv->max_epoch = sv->rf.fsm.state.epoch;
        if (r->commit_index < sv->max_commit)
            sim_violation(s, SIM_INV_COMMIT, "%s: commit index %llu after %llu", sv->name,
                          (unsigned long long)r->commit_index, (unsigned long long)sv->max_commit);
        sv->max_commit = r->commit_index;
        if (leader && !sv->was_leader) {
            s->elections++;
            if (s->opt.verbose)
                printf("  %s: leader in term %llu\n", sv->name,
                       (unsigned long long)r->current_term);
        }
        sv->was_leader = leader;
    }
    if (s->opt.verbose >= 2) {
        printf("step %lu t=%llu ev=%u/%d", s->step, (unsigned long long)f->time, ev->server_index,
               ev->type);
        for (unsigned i = 0; i < s->n; i++) {
            struct raft *r = sim_raft(s, i);
            printf(" | %c%s t%llu c%llu a%llu e%llu", "UFCL"[raft_state(r) & 3],
                   raft_fixture_alive(f, i) ? "" : "(dead)", (unsigned long long)r->current_term,
                   (unsigned long long)r->commit_index, (unsigned long long)raft_last_applied(r),
                   (unsigned long long)s->s[i].rf.fsm.state.epoch);
        }
        printf("\n");
    }
}

int sim_open(struct sim *s, const struct sim_options *opt)
{
    struct raft_configuration conf;
    int rv;

    memset(s, 0, sizeof(*s)); /* the fixture must start zeroed (reference §7) */
    s->opt = *opt;
    s->n = opt->servers;
    s->rng = opt->seed;
    rv = raft_fixture_initialize(&s->f);
    if (rv != 0)
        return rv;
    for (unsigned i = 0; i < s->n; i++) {
        struct sim_server *sv = &s->s[i];
        fo_raft_fsm_init(&sv->rf);
        sv->rf.data = sv;
        sv->sim = s;
        sv->i = i;
        sv->daemon = true;
        snprintf(sv->name, sizeof(sv->name), "node-%u", i + 1);
        sv->fsm_apply = sv->rf.raft.apply;
        sv->fsm_restore = sv->rf.raft.restore;
        sv->rf.raft.apply = rec_apply;
        sv->rf.raft.restore = rec_restore;
        rv = raft_fixture_grow(&s->f, &sv->rf.raft);
        if (rv != 0)
            return rv;
        sv->io_start = sim_raft(s, i)->io->start;
        sim_raft(s, i)->io->start = contact_start;
    }
    raft_configuration_init(&conf);
    rv = raft_fixture_configuration(&s->f, s->n, &conf);
    if (rv == 0)
        rv = raft_fixture_bootstrap(&s->f, &conf);
    raft_configuration_close(&conf);
    if (rv != 0)
        return rv;
    for (unsigned i = 0; i < s->n; i++) {
        struct raft *r = sim_raft(s, i);
        raft_set_pre_vote(r, true);
        /* Snapshots are taken often (fsm snapshot runs), but the trailing log is longer
         * than any run, so no follower ever needs InstallSnapshot: 0.15's fixture keeps
         * a follower's persisted entries as if they started at index 1, and truncating
         * after an installed snapshot reads past its array (ioMethodTruncate; ASan
         * catches it). The FSM's restore is covered by tests/unit/test_fsm.c. */
        raft_set_snapshot_threshold(r, 32 + sim_below(s, 64));
        raft_set_snapshot_trailing(r, 1u << 20);
        raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + sim_below(s, 1000));
    }
    if (opt->decide && (rv = sim_decide_open(s)) != 0)
        return rv;
    raft_fixture_hook(&s->f, hook);
    return raft_fixture_start(&s->f);
}

void sim_close(struct sim *s)
{
    /* Pending requests get their callbacks (LEADERSHIPLOST) here and free themselves. */
    raft_fixture_close(&s->f);
    for (unsigned i = 0; i < s->n; i++)
        fo_raft_fsm_close(&s->s[i].rf);
    free(s->log);
    free(s->epochs);
    s->log = NULL;
    s->epochs = NULL;
    sim_decide_close(s);
}

/* Make the fixture's links match the model: a link carries messages only when both
 * ends are alive, no partition separates them and it is not in a loss burst. */
void sim_net_apply(struct sim *s)
{
    raft_time now = raft_fixture_time(&s->f);
    for (unsigned i = 0; i < s->n; i++) {
        for (unsigned j = 0; j < s->n; j++) {
            bool cut;
            if (i == j)
                continue;
            cut = s->revive_at[i] != 0 || s->revive_at[j] != 0 || s->part[i][j] ||
                  s->loss_until[i][j] > now ||
                  (s->opt.decide && (sim_world_isolated(s, i) || sim_world_isolated(s, j)));
            if (cut && !raft_fixture_saturated(&s->f, i, j))
                raft_fixture_saturate(&s->f, i, j);
            else if (!cut && raft_fixture_saturated(&s->f, i, j))
                raft_fixture_desaturate(&s->f, i, j);
        }
    }
}

/* Revive everyone, remove partitions and losses, default latencies. */
void sim_heal(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        if (s->revive_at[i] != 0) {
            raft_fixture_revive(&s->f, i);
            s->revive_at[i] = 0;
            if (s->opt.decide)
                sim_decide_revived(s, i);
        }
        raft_fixture_set_network_latency(&s->f, i, 15);
        raft_fixture_set_disk_latency(&s->f, i, 10);
        for (unsigned j = 0; j < s->n; j++) {
            s->part[i][j] = false;
            s->loss_until[i][j] = 0;
        }
    }
    if (s->opt.decide)
        sim_world_heal(s);
    sim_net_apply(s);
}

/* The daemons run, then the fixture takes one step (and the hook checks). */
/* libraft draws a new random election timeout in [ET, 2 ET) each time it resets the
 * timer (raft_uv: rand()); the fixture keeps one fixed value per server. Two servers
 * whose fixed values fall in the same 100 ms fixture step then time out together in every
 * term, split every vote forever, and the third, whose log is longer and who alone could
 * win, keeps resetting its timer on their higher-term RequestVotes: no leader after
 * healing (sim --decide --seed 3450, 1186, 3640, 6385, 7906, 8322, 9042 before this).
 * Re-drawn for every new term a server enters, as libraft does; from a hash of (seed,
 * server, term), so that the run's other draws stay where they were. */
static void redraw_timeouts(struct sim *s)
{
    for (unsigned i = 0; i < s->n; i++) {
        struct raft *r = sim_raft(s, i);
        uint64_t z;
        if (r->current_term == s->s[i].timeout_term)
            continue;
        s->s[i].timeout_term = r->current_term;
        z = s->opt.seed * UINT64_C(0x9E3779B97F4A7C15) ^ ((uint64_t)i << 48) ^ r->current_term;
        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        z ^= z >> 31;
        raft_fixture_set_randomized_election_timeout(&s->f, i, 1000 + (unsigned)(z % 1000));
    }
}

void sim_step(struct sim *s)
{
    redraw_timeouts(s);
    if (s->opt.decide)
        sim_writes_step(s);
    for (unsigned i = 0; i < s->n; i++)
        sim_daemon(s, i);
    s->step++;
    raft_fixture_step(&s->f);
}

/* Left out of convergence: see sim.h skip_unavailable. */
static bool stopped(struct sim *s, unsigned i)
{
    return s->skip_unavailable && raft_state(sim_raft(s, i)) == RAFT_UNAVAILABLE;
}

/* Healed and quiet: a leader whose barrier completed, every request answered, every
 * server applied the leader's whole log, and no operation in flight. */
bool sim_converged(struct sim *s)
{
    unsigned l = s->n;
    struct raft *lr;
    for (unsigned i = 0; i < s->n; i++) {
        struct raft *r = sim_raft(s, i);
        if (stopped(s, i))
            continue;
        if (raft_state(r) == RAFT_LEADER && s->s[i].barrier_term == r->current_term)
            l = i;
        if (s->s[i].inflight > 0)
            return false;
    }
    if (l == s->n)
        return false;
    lr = sim_raft(s, l);
    if (s->workload && s->s[l].rf.fsm.state.operation != NULL)
        return false;
    for (unsigned i = 0; i < s->n; i++)
        if (!stopped(s, i) && raft_last_applied(sim_raft(s, i)) != raft_last_index(lr))
            return false;
    return true;
}

/* (f): every server's FSM snapshot is byte-identical, and nothing is left in flight. */
void sim_check_final(struct sim *s)
{
    struct fo_buf first = {NULL, 0};
    unsigned ref = s->n;
    for (unsigned i = 0; i < s->n; i++) {
        struct fo_buf b;
        if (stopped(s, i)) {
            s->unavailable++;
            continue;
        }
        if (fo_fsm_snapshot(&s->s[i].rf.fsm, &b) != 0)
            abort();
        if (ref == s->n) {
            first = b;
            ref = i;
            continue;
        }
        if (b.len != first.len || memcmp(b.data, first.data, b.len) != 0)
            sim_violation(s, SIM_INV_CONVERGE,
                          "the FSM snapshot of %s (%zu bytes) differs from %s's (%zu bytes)",
                          s->s[i].name, b.len, s->s[ref].name, first.len);
        fo_buf_free(&b);
    }
    fo_buf_free(&first);
    if (s->workload && ref < s->n && s->s[ref].rf.fsm.state.operation != NULL)
        sim_violation(s, SIM_INV_CONVERGE, "operation %s is still in flight after the drain",
                      s->s[ref].rf.fsm.state.operation->id);
}
