/*
 * tests/unit/test_format_nodes.c — the rolling-upgrade rule on real Raft nodes
 * (proto/codec.h "Versions", consensus/fsm.h HALTED): three nodes on one loop.
 *
 *   - The gate on proposals: a command that needs a newer format than the cluster's is
 *     refused before it reaches the log (FO_NODE_EFORMAT); the "format" command raises the
 *     format on every node and never lowers it.
 *   - A halted follower keeps replicating but applies nothing and takes no snapshot (its
 *     state is not the one of libraft's last_applied), while the others go on.
 *   - A leader whose FSM halted is not ready and hands leadership to another voter.
 *   - status shows the release, the formats and the halt (coordinator/serve/status.h).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/serve/status.h"
#include "raft_nodes.h"

#define N  3
#define ET 1000
#define HB 100

struct env {
    uv_loop_t loop;
    uv_timer_t poll;
    struct fo_test_nodes nodes;
    struct fo_node_propose req;
    int status;   /* the last proposal's callback status, -1 while none came */
    int outcome;  /* its FSM outcome */
    size_t watch; /* the node a condition looks at */
    uint64_t index;
    bool (*until)(struct env *e);
};

static void on_poll(uv_timer_t *t)
{
    struct env *e = t->data;
    if (e->until != NULL && e->until(e))
        uv_stop(&e->loop);
}

static bool until_holds(void *ctx)
{
    struct env *e = ctx;
    return e->until(e);
}

static void run_until(struct env *e, bool (*cond)(struct env *), uint64_t limit_ms)
{
    e->until = cond;
    assert_true(fo_test_run_until(&e->loop, &e->poll, on_poll, until_holds, e, limit_ms));
    e->until = NULL;
}

static bool has_leader(struct env *e)
{
    return fo_test_nodes_leader(&e->nodes) >= 0;
}

static bool closed(struct env *e)
{
    return fo_test_nodes_closed(&e->nodes);
}

static bool answered(struct env *e)
{
    return e->status != -1;
}

/* Every node applied (as libraft counts) up to e->index. */
static bool all_applied(struct env *e)
{
    for (size_t i = 0; i < N; i++)
        if (fo_node_last_applied(&e->nodes.node[i]) < e->index)
            return false;
    return true;
}

static bool other_leader(struct env *e)
{
    int l = fo_test_nodes_leader(&e->nodes);
    return l >= 0 && (size_t)l != e->watch;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, N, ET, HB), 0);
    for (size_t i = 0; i < N; i++)
        assert_int_equal(fo_test_nodes_start(&e->nodes, i), 0);
    run_until(e, has_leader, 10000);
    *state = e;
    return 0;
}

static int teardown(void **state)
{
    struct env *e = *state;

    fo_test_nodes_close_all(&e->nodes);
    run_until(e, closed, 10000);
    uv_close((uv_handle_t *)&e->poll, NULL);
    while (uv_run(&e->loop, UV_RUN_DEFAULT) != 0)
        ;
    fo_test_nodes_release(&e->nodes);
    uv_loop_close(&e->loop);
    free(e);
    return 0;
}

static void done(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct env *e = req->data;
    e->status = status;
    e->outcome = res != NULL ? (int)res->outcome : -1;
}

/* The status document node i would answer, with a config naming the three nodes. */
static json_t *status_of(struct env *e, size_t i)
{
    char yaml[2048];
    size_t len;
    struct fo_error err;
    struct fo_config cfg;
    json_t *doc;

    len = (size_t)snprintf(yaml, sizeof(yaml),
                           "cluster: test\nnode: {name: n%zu, data_dir: /tmp}\npeers:\n", i + 1);
    for (size_t k = 0; k < N; k++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
                                "  - {name: n%zu, id: %zu, region: r1, raft: %s, admin: "
                                "127.0.0.1:%zu}\n",
                                k + 1, k + 1, e->nodes.address[k], 9 + k);
    snprintf(yaml + len, sizeof(yaml) - len,
             "regions: [r1]\ninitial_primary: main\n"
             "sites:\n  main:\n    postgres: {region: r1, host: 10.0.0.1}\n"
             "tls: {mode: off}\n"
             "admin: {token_file: /nonexistent}\n");
    if (fo_config_load_buffer("format.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    doc = fo_status_build(&cfg, &e->nodes.node[i]);
    fo_config_free(&cfg);
    return doc;
}

/* Propose cmd on the ready leader, wait for its answer and for every node to apply it. */
static void commit(struct env *e, const struct fo_cmd *cmd, int want_outcome)
{
    int l = fo_test_nodes_leader(&e->nodes);

    assert_true(l >= 0);
    e->status = -1;
    e->req.data = e;
    assert_int_equal(fo_node_propose(&e->nodes.node[l], &e->req, cmd, done), 0);
    run_until(e, answered, 10000);
    assert_int_equal(e->status, 0);
    assert_int_equal(e->outcome, want_outcome);
    e->index = fo_node_last_applied(&e->nodes.node[l]);
    run_until(e, all_applied, 10000);
}

static void mode_cmd(struct fo_cmd *c, int mode, const char *by)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_MODE;
    c->u.mode.mode = mode;
    c->u.mode.by = (char *)by;
    c->u.mode.at_ms = 1;
}

static void format_cmd(struct fo_cmd *c, uint32_t format)
{
    memset(c, 0, sizeof(*c));
    c->type = FO_CMD_FORMAT;
    c->u.format = (struct fo_cmd_format){format, "alice@host", 2};
}

static void test_gate_and_raise(void **state)
{
    struct env *e = *state;
    int l = fo_test_nodes_leader(&e->nodes);
    struct fo_node_propose req = {.data = e};
    struct fo_cmd c;

    /* The "format" type is v4: under the 0.1.0 format it is refused before the log,
     * unless it raises the format (then it is written in the format it raises to). */
    format_cmd(&c, FO_FORMAT_BASE);
    assert_int_equal(fo_node_propose(&e->nodes.node[l], &req, &c, done), FO_NODE_EFORMAT);
    format_cmd(&c, 4);
    commit(e, &c, FO_FSM_APPLIED);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(fo_state_format(fo_node_state(&e->nodes.node[i])), 4);
        assert_false(e->nodes.node[i].fsm.fsm.halted);
    }
    /* Now the same command is writable, and refused by the FSM: never down. */
    format_cmd(&c, FO_FORMAT_BASE);
    commit(e, &c, FO_FSM_REJECTED);
    assert_int_equal(fo_state_format(fo_node_state(&e->nodes.node[0])), 4);
}

static void test_halted_follower_and_leader(void **state)
{
    struct env *e = *state;
    int l = fo_test_nodes_leader(&e->nodes);
    size_t f = (size_t)(l + 1) % N;
    struct fo_fsm *ff = &e->nodes.node[f].fsm.fsm;
    struct raft_fsm *rf = &e->nodes.node[f].fsm.raft;
    struct raft_buffer *bufs = NULL;
    unsigned nb = 0;
    struct fo_cmd c;

    /* A follower met an entry it cannot apply (as a binary of an older release would). */
    ff->halted = true;
    snprintf(ff->halt_msg, sizeof(ff->halt_msg), "test: cannot apply");
    mode_cmd(&c, FO_MODE_PAUSED, "bob");
    commit(e, &c, FO_FSM_APPLIED); /* the others go on; libraft counts it applied there too */
    assert_int_equal(fo_node_state(&e->nodes.node[l])->mode, FO_MODE_PAUSED);
    assert_int_equal(fo_node_state(&e->nodes.node[f])->mode, FO_MODE_AUTO); /* frozen */
    assert_int_equal(ff->last.outcome, FO_FSM_HALTED);
    assert_string_equal(ff->last.msg, "test: cannot apply");
    assert_int_equal(rf->snapshot(rf, &bufs, &nb), RAFT_BUSY); /* its state is not last_applied's */
    {
        json_t *doc = status_of(e, f), *fmt = json_object_get(doc, "format");
        json_t *warnings = json_object_get(doc, "warnings");
        bool warned = false;

        assert_string_equal(json_string_value(json_object_get(doc, "version")), FO_VERSION);
        assert_int_equal(json_integer_value(json_object_get(fmt, "cluster")), FO_FORMAT_BASE);
        assert_int_equal(json_integer_value(json_object_get(fmt, "reads_max")), FO_PROTO_VERSION);
        assert_string_equal(json_string_value(json_object_get(fmt, "halted")),
                            "test: cannot apply");
        for (size_t k = 0; k < json_array_size(warnings); k++)
            warned |= strstr(json_string_value(json_array_get(warnings, k)), "HALTED") != NULL;
        assert_true(warned);
        json_decref(doc);
        doc = status_of(e, (size_t)l);
        assert_true(json_is_null(json_object_get(json_object_get(doc, "format"), "halted")));
        json_decref(doc);
    }

    /* The leader halts: it is no longer ready, and hands leadership to another voter. */
    ff->halted = false;
    e->nodes.node[l].fsm.fsm.halted = true;
    assert_false(fo_node_ready(&e->nodes.node[l]));
    e->watch = (size_t)l;
    run_until(e, other_leader, 15000);
    assert_false(e->nodes.node[fo_test_nodes_leader(&e->nodes)].fsm.fsm.halted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_gate_and_raise, setup, teardown),
        cmocka_unit_test_setup_teardown(test_halted_follower_and_leader, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests_name("format_nodes", tests, NULL, NULL);
}
