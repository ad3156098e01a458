/*
 * tests/unit/test_members.c — Raft membership changes on real nodes (consensus/members.h):
 * three bootstrapped voters and one new server on one loop. The new server joins as a
 * voter (spare, standby, caught up, voter); a second change while one runs is refused
 * (in flight); the leader cannot remove itself; a removed voter was demoted first, so it
 * knows (fo_node_member_removed) and never campaigns; a server that never answers stays a
 * standby (lagging); a remove that would leave no majority among the reachable voters is
 * refused. And libraft 0.15's own behaviour that the demotion works around: a voter
 * removed by raft_remove alone still holds itself a voter and campaigns.
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

#include "consensus/members.h"
#include "raft_nodes.h"

#define SEEDS 3
#define ET    1000
#define HB    100

struct env {
    uv_loop_t loop;
    uv_timer_t poll;
    struct fo_test_nodes nodes;
    int joiner;     /* index of the new server */
    int outcome;    /* the last change's outcome, -1 while none came */
    int callbacks;  /* how many outcomes came */
    size_t watch;   /* the node a condition looks at */
    uint64_t about; /* the server id a condition looks at */
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

static bool outcome_came(struct env *e)
{
    return e->outcome >= 0;
}

static bool closed(struct env *e)
{
    return fo_test_nodes_closed(&e->nodes);
}

static bool watched_removed(struct env *e)
{
    return fo_node_member_removed(&e->nodes.node[e->watch]);
}

static bool watched_saw_its_vote(struct env *e)
{
    return e->nodes.node[e->watch].was_voter;
}

static bool watched_sees_about_vote(struct env *e)
{
    return fo_node_member_role(&e->nodes.node[e->watch], e->about) == RAFT_VOTER;
}

static bool about_unreachable(struct env *e)
{
    return fo_node_peer_reachable(&e->nodes.node[e->watch], e->about) == 0;
}

static void on_outcome(void *data, int outcome)
{
    struct env *e = data;
    e->outcome = outcome;
    e->callbacks++;
}

static int setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    e->outcome = -1;
    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, SEEDS, ET, HB), 0);
    e->joiner = fo_test_nodes_add_joining(&e->nodes, ET, HB);
    assert_true(e->joiner == SEEDS);
    for (size_t i = 0; i < e->nodes.n; i++)
        assert_int_equal(fo_test_nodes_start(&e->nodes, i), 0);
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

static struct fo_node *leader(struct env *e)
{
    run_until(e, has_leader, 10000);
    return &e->nodes.node[fo_test_nodes_leader(&e->nodes)];
}

/* Wait for the outcome of the change just started; returns it. */
static int wait_outcome(struct env *e, uint64_t limit_ms)
{
    run_until(e, outcome_came, limit_ms);
    return e->outcome;
}

static size_t voters(const struct fo_node *n)
{
    struct fo_member m[8];
    size_t k = fo_node_members(n, m, 8), count = 0;
    for (size_t i = 0; i < k && i < 8; i++)
        count += m[i].role == RAFT_VOTER;
    return count;
}

static void test_add_then_remove(void **state)
{
    struct env *e = *state;
    struct fo_node *l = leader(e), *j = &e->nodes.node[e->joiner];
    uint64_t jid = (uint64_t)e->joiner + 1, lid = l->raft.id;
    uint64_t follower = lid == 1 ? 2 : 1;

    /* the new server knows no configuration until a leader contacts it */
    assert_int_equal(fo_node_member_standing(j), FO_STANDING_WAITING);
    assert_int_equal(fo_node_member_role(l, jid), -1);
    assert_int_equal(voters(l), 3);

    assert_int_equal(fo_node_member_add(l, jid, e->nodes.address[e->joiner], 10000, on_outcome, e),
                     0);
    assert_true(fo_node_member_changing(l));
    /* one change at a time: refused at once, no callback */
    assert_int_equal(fo_node_member_remove(l, follower, on_outcome, e), FO_MEMBER_IN_FLIGHT);
    assert_int_equal(fo_node_member_add(l, 9, "127.0.0.1:1", 1000, on_outcome, e),
                     FO_MEMBER_IN_FLIGHT);
    assert_int_equal(wait_outcome(e, 15000), FO_MEMBER_DONE);
    assert_int_equal(e->callbacks, 1);
    assert_false(fo_node_member_changing(l));
    assert_int_equal(fo_node_member_role(l, jid), RAFT_VOTER);
    assert_int_equal(voters(l), 4);
    /* it stores the configuration that makes it a voter (committed by the others first) */
    e->watch = (size_t)e->joiner;
    e->about = jid;
    run_until(e, watched_sees_about_vote, 5000);
    assert_int_equal(fo_node_member_standing(j), FO_STANDING_MEMBER);
    /* again: nothing to do */
    assert_int_equal(fo_node_member_add(l, jid, e->nodes.address[e->joiner], 1000, on_outcome, e),
                     FO_MEMBER_ALREADY);
    /* an address another server has */
    assert_int_equal(fo_node_member_add(l, 9, e->nodes.address[0], 1000, on_outcome, e),
                     FO_MEMBER_ADDRESS_TAKEN);

    /* the leader cannot remove itself; an unknown id is not a member */
    assert_int_equal(fo_node_member_remove(l, lid, on_outcome, e), FO_MEMBER_IS_LEADER);
    assert_int_equal(fo_node_member_remove(l, 42, on_outcome, e), FO_MEMBER_NOT_MEMBER);

    /* remove the new voter again (once its watch has seen it vote: the node notices a
     * lost vote by comparing): it is demoted first, so it learns it lost its vote */
    e->watch = (size_t)e->joiner;
    run_until(e, watched_saw_its_vote, 5000);
    assert_false(fo_node_member_removed(j));
    e->outcome = -1;
    assert_int_equal(fo_node_member_remove(l, jid, on_outcome, e), 0);
    assert_int_equal(wait_outcome(e, 15000), FO_MEMBER_DONE);
    assert_int_equal(fo_node_member_role(l, jid), -1);
    assert_int_equal(voters(l), 3);
    run_until(e, watched_removed, 5000);
    assert_int_equal(fo_node_member_role(j, jid), RAFT_STANDBY);
    /* a standby never campaigns: several election timeouts later it is still a follower
     * (never a candidate, with or without pre-vote) */
    {
        uint64_t until = uv_now(&e->loop) + 3 * ET;
        while (uv_now(&e->loop) < until) {
            uv_run(&e->loop, UV_RUN_ONCE);
            assert_int_equal(fo_node_role(j), RAFT_FOLLOWER);
        }
    }
}

static void test_lagging_and_no_quorum(void **state)
{
    struct env *e = *state;
    struct fo_node *l = leader(e);
    uint64_t lid = l->raft.id, a = 0, b = 0;

    /* a server nobody runs: it becomes a standby and never catches up */
    assert_int_equal(fo_node_member_add(l, 9, "127.0.0.1:9", 1500, on_outcome, e), 0);
    assert_int_equal(wait_outcome(e, 10000), FO_MEMBER_LAGGING);
    assert_int_equal(fo_node_member_role(l, 9), RAFT_STANDBY);
    assert_int_equal(voters(l), 3);
    /* a standby is removed directly */
    e->outcome = -1;
    assert_int_equal(fo_node_member_remove(l, 9, on_outcome, e), 0);
    assert_int_equal(wait_outcome(e, 10000), FO_MEMBER_DONE);
    assert_int_equal(fo_node_member_role(l, 9), -1);

    /* one voter down: removing the other follower would leave {leader, down}, one of
     * two reachable: refused */
    for (uint64_t id = 1; id <= SEEDS; id++)
        if (id != lid && a == 0)
            a = id;
        else if (id != lid)
            b = id;
    fo_test_nodes_close(&e->nodes, b - 1);
    e->watch = lid - 1;
    e->about = b;
    run_until(e, about_unreachable, 5000);
    assert_int_equal(fo_node_member_remove(l, a, on_outcome, e), FO_MEMBER_NO_QUORUM);
    /* and adding a fourth voter while one of three is down would need 3 of 4 reachable:
     * with the newcomer counted that is 3, allowed; removing the unreachable one is too */
    e->outcome = -1;
    assert_int_equal(fo_node_member_remove(l, b, on_outcome, e), 0);
    assert_int_equal(wait_outcome(e, 15000), FO_MEMBER_DONE);
    assert_int_equal(voters(l), 2);
}

static void raw_change_cb(struct raft_change *req, int status)
{
    struct env *e = req->data;
    on_outcome(e, status == 0 ? FO_MEMBER_DONE : FO_MEMBER_FAILED);
}

static bool watched_campaigns(struct env *e)
{
    return fo_node_role(&e->nodes.node[e->watch]) == RAFT_CANDIDATE;
}

/* Why members-remove demotes first: libraft 0.15's raft_remove alone never tells the
 * removed voter (the leader stops sending to it once the change is appended), which
 * keeps itself a voter and starts campaigning. */
static void test_libraft_never_tells_a_removed_voter(void **state)
{
    struct env *e = *state;
    struct fo_node *l = leader(e);
    uint64_t victim = l->raft.id == 1 ? 2 : 1;
    struct fo_node *f = &e->nodes.node[victim - 1];
    struct raft_change req = {.data = e};

    e->watch = victim - 1;
    run_until(e, watched_saw_its_vote, 5000);
    assert_int_equal(raft_remove(&l->raft, &req, victim, raw_change_cb), 0);
    assert_int_equal(wait_outcome(e, 10000), FO_MEMBER_DONE);
    assert_int_equal(fo_node_member_role(l, victim), -1);
    run_until(e, watched_campaigns, 10000);
    assert_int_equal(fo_node_member_role(f, victim), RAFT_VOTER);
    assert_false(fo_node_member_removed(f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_add_then_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lagging_and_no_quorum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_libraft_never_tells_a_removed_voter, setup, teardown),
    };
    signal(SIGPIPE, SIG_IGN); /* libuv writes to peers that hung up (reference §1) */
    return cmocka_run_group_tests(tests, NULL, NULL);
}
