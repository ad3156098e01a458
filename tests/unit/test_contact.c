/*
 * tests/unit/test_contact.c — majority contact on real Raft nodes (consensus/node.h's
 * fo_node_contact_ms and fo_node_heard_commit, judged by coordinator/serve/majority.h):
 * three nodes on one loop; every node shows majority contact once a leader is ready; a
 * leader that loses both followers, and a follower that loses its leader, stop showing it.
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

#include "coordinator/serve/majority.h"
#include "raft_nodes.h"

#define N 3

struct env {
    uv_loop_t loop;
    uv_timer_t poll;
    struct fo_test_nodes nodes;
    struct fo_config cfg[N]; /* as node i sees it */
    bool (*until)(struct env *e);
    size_t watch; /* the node a condition looks at */
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

static enum fo_majority_reason judge(struct env *e, size_t i, struct fo_majority *m)
{
    struct fo_majority_input in;
    fo_majority_of(&e->nodes.node[i], &e->cfg[i], &in);
    return fo_majority_check(&in, m);
}

static bool everyone_ok(struct env *e)
{
    struct fo_majority m;
    for (size_t i = 0; i < N; i++)
        if (judge(e, i, &m) != FO_MAJORITY_OK)
            return false;
    return true;
}

static bool watched_not_ok(struct env *e)
{
    struct fo_majority m;
    return judge(e, e->watch, &m) != FO_MAJORITY_OK;
}

static bool closed(struct env *e)
{
    return fo_test_nodes_closed(&e->nodes);
}

static bool one_closed(struct env *e)
{
    return e->nodes.closed >= 1;
}

static void load_config(struct env *e, size_t self)
{
    char yaml[2048];
    size_t len;
    struct fo_error err;

    len = (size_t)snprintf(yaml, sizeof(yaml),
                           "cluster: test\nnode: {name: n%zu, data_dir: /tmp}\npeers:\n", self + 1);
    for (size_t i = 0; i < N; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
                                "  - {name: n%zu, id: %zu, region: r1, raft: %s, admin: "
                                "127.0.0.1:%zu}\n",
                                i + 1, i + 1, e->nodes.address[i], 9 + i);
    snprintf(yaml + len, sizeof(yaml) - len,
             "regions: [r1]\ninitial_primary: main\n"
             "raft: {election_timeout_ms: 1000, heartbeat_ms: 100}\n"
             "decision: {lease_ms: 600, lease_renew_ms: 100}\n"
             "sites:\n  main:\n    postgres: {region: r1, host: 10.0.0.1}\n"
             "tls: {mode: off}\n"
             "admin: {token_file: /nonexistent}\n");
    if (fo_config_load_buffer("contact.yaml", yaml, strlen(yaml), &e->cfg[self], &err) != 0)
        fail_msg("config: %s", err.msg);
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, N, 1000, 100), 0);
    for (size_t i = 0; i < N; i++) {
        load_config(e, i);
        assert_int_equal(fo_test_nodes_start(&e->nodes, i), 0);
    }
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
    for (size_t i = 0; i < N; i++)
        fo_config_free(&e->cfg[i]);
    free(e);
    return 0;
}

/* Once a leader is ready, every node shows majority contact; the followers heard the
 * leader's commit index and applied it. */
static size_t all_ok(struct env *e)
{
    struct fo_majority m;
    int leader;

    run_until(e, everyone_ok, 10000);
    leader = fo_test_nodes_leader(&e->nodes);
    assert_true(leader >= 0);
    for (size_t i = 0; i < N; i++) {
        assert_int_equal(judge(e, i, &m), FO_MAJORITY_OK);
        assert_true(m.contact_age_ms <= 600);
        if ((int)i == leader) {
            assert_int_equal(m.voters, N);
            assert_true(m.contacts >= 2);
        } else {
            const struct fo_node *f = &e->nodes.node[i];
            assert_true(fo_node_heard_commit(f) > 0);
            assert_true(fo_node_heard_commit(f) <= fo_node_commit_index(&e->nodes.node[leader]));
            assert_true(fo_node_contact_ms(f, (uint64_t)leader + 1) > 0);
        }
    }
    return (size_t)leader;
}

static void test_leader_loses_its_followers(void **state)
{
    struct env *e = *state;
    size_t leader = all_ok(e);
    struct fo_majority m;
    size_t gone = N, alive = N;
    uint64_t gone_at, alive_at;

    /* one follower gone: two of three still answer */
    for (size_t i = 0; i < N; i++)
        if (i != leader && gone == N)
            gone = i;
        else if (i != leader)
            alive = i;
    fo_test_nodes_close(&e->nodes, gone);
    /* closing is asynchronous: its last answers may still arrive until it has closed */
    run_until(e, one_closed, 5000);
    gone_at = fo_node_contact_ms(&e->nodes.node[leader], gone + 1);
    alive_at = fo_node_contact_ms(&e->nodes.node[leader], alive + 1);
    e->watch = leader;
    /* several heartbeats later the leader still shows majority contact; it keeps hearing
     * the live follower and no longer the closed one */
    {
        uint64_t until = uv_now(&e->loop) + 900;
        while (uv_now(&e->loop) < until) {
            uv_run(&e->loop, UV_RUN_ONCE);
            assert_int_equal(judge(e, leader, &m), FO_MAJORITY_OK);
        }
    }
    assert_true(fo_node_contact_ms(&e->nodes.node[leader], alive + 1) > alive_at);
    /* heartbeats go out every 100 ms: a contact that stopped 600 ms ago stopped for good */
    assert_true(fo_node_contact_ms(&e->nodes.node[leader], gone + 1) <= gone_at ||
                fo_node_now_ms(&e->nodes.node[leader]) -
                        fo_node_contact_ms(&e->nodes.node[leader], gone + 1) >=
                    600);
    /* the second one gone: within the window (plus a poll) it cannot show it any more */
    for (size_t i = 0; i < N; i++)
        if (i != leader && !e->nodes.closing[i])
            fo_test_nodes_close(&e->nodes, i);
    run_until(e, watched_not_ok, 3000);
    judge(e, leader, &m);
    /* still the leader (libraft steps down only after an election timeout), or already not */
    assert_true(m.reason == FO_MAJORITY_NO_QUORUM_CONTACT || m.reason == FO_MAJORITY_NO_LEADER);
    assert_true(m.contacts < 2);
}

static void test_follower_loses_its_leader(void **state)
{
    struct env *e = *state;
    size_t leader = all_ok(e);
    struct fo_majority m;

    e->watch = leader == 0 ? 1 : 0;
    fo_test_nodes_close(&e->nodes, leader);
    run_until(e, watched_not_ok, 3000);
    judge(e, e->watch, &m);
    assert_true(m.reason == FO_MAJORITY_LEADER_SILENT || m.reason == FO_MAJORITY_NO_LEADER);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_leader_loses_its_followers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_follower_loses_its_leader, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* a closed peer's socket, as the daemon ignores it */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
