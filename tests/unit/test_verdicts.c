/*
 * tests/unit/test_verdicts.c — the verdicts this node reports and getting them committed
 * (coordinator/detect/verdicts.h), on real Raft nodes (tests/common/raft_nodes.h).
 *
 * What is checked: a ready leader proposes a wanted verdict, and only when it differs
 * from the committed one (a repeated status, even with another reason, proposes nothing;
 * a real change proposes at once); settled() is false until the FSM shows every verdict
 * an observer wants and true after; an UNKNOWN verdict gets its row too; an unknown
 * region is refused; reconciling re-proposes when the FSM holds something else (a lost
 * update); a feed's components aggregate (any DOWN: DOWN, all UP: UP, else UNKNOWN) and
 * their limits; a follower forwards to the leader's admin address (cmd propose,
 * t=verdict, the token, every field) and retries a refused forward; a node that knows
 * no leader sends nothing.
 *
 * The leader's admin endpoint in the forwarding test is a real fo_admin_server whose
 * handler commits the forwarded verdict on the leader, as the daemon's "propose" does.
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

#include "coordinator/detect/verdicts.h"
#include "coordinator/serve/admin_server.h"
#include "raft_nodes.h"

#define TOKEN "verdicts-test-token"

struct env {
    uv_loop_t loop;
    uv_timer_t poll;
    struct fo_test_nodes nodes;
    char admin[FO_TEST_NODES_MAX][32]; /* each peer's admin address (config) */
    struct fo_config cfg;
    struct fo_verdicts v;
    struct fo_node *self; /* the node v reports through */
    struct fo_admin_server server;
    bool server_started;
    bool (*until)(struct env *e);
    bool housekeeping;   /* reconcile on every poll, as the daemon's timer does */
    unsigned long polls; /* polls so far */
    int closed;          /* close callbacks: verdicts, admin server */
    int committed;       /* the test's own proposals that committed and applied */
};

/* ---- the loop ---------------------------------------------------------------------- */

static void on_poll(uv_timer_t *t)
{
    struct env *e = t->data;
    e->polls++;
    if (e->housekeeping)
        fo_verdicts_reconcile(&e->v);
    if (e->until != NULL && e->until(e))
        uv_stop(&e->loop);
}

/* Run the loop until cond holds; fail the test after 10 s. */
static bool until_holds(void *ctx)
{
    struct env *e = ctx;
    return e->until(e);
}

static void run_until(struct env *e, bool (*cond)(struct env *))
{
    e->until = cond;
    assert_true(fo_test_run_until(&e->loop, &e->poll, on_poll, until_holds, e, 10000));
    e->until = NULL;
}

static bool has_leader(struct env *e)
{
    return fo_test_nodes_leader(&e->nodes) >= 0;
}

/* n real nodes (started: `start` of them), a leader among them when every one runs. */
static struct env *env_new(size_t n, size_t start)
{
    struct env *e = calloc(1, sizeof(*e));
    assert_non_null(e);
    uv_loop_init(&e->loop);
    uv_timer_init(&e->loop, &e->poll);
    e->poll.data = e;
    assert_int_equal(fo_test_nodes_init(&e->nodes, &e->loop, n, 1000, 100), 0);
    for (size_t i = 0; i < n; i++) {
        unsigned port = fo_test_free_port();
        assert_int_not_equal(port, 0);
        snprintf(e->admin[i], sizeof(e->admin[i]), "127.0.0.1:%u", port);
    }
    for (size_t i = 0; i < start; i++)
        assert_int_equal(fo_test_nodes_start(&e->nodes, i), 0);
    if (start == n)
        run_until(e, has_leader);
    return e;
}

/* Load the configuration as node `self` sees it and set up its verdicts. */
static void env_verdicts(struct env *e, size_t self)
{
    char yaml[2048];
    size_t len;
    struct fo_error err;

    len = (size_t)snprintf(yaml, sizeof(yaml),
                           "cluster: test\n"
                           "node: {name: n%zu, data_dir: /tmp}\n"
                           "peers:\n",
                           self + 1);
    for (size_t i = 0; i < e->nodes.n; i++)
        len += (size_t)snprintf(yaml + len, sizeof(yaml) - len,
                                "  - {name: n%zu, id: %zu, region: r%zu, raft: %s, admin: %s}\n",
                                i + 1, i + 1, i % 2 + 1, e->nodes.address[i], e->admin[i]);
    snprintf(yaml + len, sizeof(yaml) - len,
             "regions: [r1, r2]\n"
             "initial_primary: main\n"
             "sites:\n"
             "  main:\n"
             "    postgres: {region: r1, host: 10.0.0.1, port: 5432, dbname: app, user: fo}\n"
             "tls: {mode: off}\n"
             "admin:\n"
             "  token_file: /nonexistent\n");
    if (fo_config_load_buffer("verdicts.yaml", yaml, strlen(yaml), &e->cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    e->self = &e->nodes.node[self];
    assert_int_equal(fo_verdicts_init(&e->v, &e->loop, e->self, &e->cfg, TOKEN), 0);
}

static void verdicts_closed(struct fo_verdicts *v)
{
    struct env *e = (struct env *)((char *)v - offsetof(struct env, v));
    e->closed++;
}

static void server_closed(struct fo_admin_server *s)
{
    struct env *e = s->data;
    e->closed++;
}

static int closes_expected;

static bool all_closed(struct env *e)
{
    return e->closed == closes_expected && fo_test_nodes_closed(&e->nodes);
}

static void env_free(struct env *e)
{
    e->housekeeping = false;
    closes_expected = 1 + (e->server_started ? 1 : 0);
    fo_verdicts_close(&e->v, verdicts_closed);
    if (e->server_started)
        fo_admin_server_close(&e->server, server_closed);
    fo_test_nodes_close_all(&e->nodes);
    run_until(e, all_closed);
    uv_close((uv_handle_t *)&e->poll, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    fo_test_nodes_release(&e->nodes);
    fo_config_free(&e->cfg);
    free(e);
}

/* ---- reading the replicated state -------------------------------------------------- */

static const struct fo_verdict *committed_row(struct env *e, const char *observer,
                                              const char *region)
{
    return fo_fsm_verdict(&e->self->fsm.fsm, observer, region);
}

static const char *settled_observer;

/* Every wanted verdict of the observer committed, and no proposal or forward still
 * waiting for its answer (a follower may apply an entry before the leader's reply to
 * the forward arrives). */
static bool settled(struct env *e)
{
    return fo_verdicts_settled(&e->v, settled_observer) && e->v.inflight == 0;
}

static void wait_settled(struct env *e, const char *observer)
{
    settled_observer = observer;
    run_until(e, settled);
}

static void assert_row(struct env *e, const char *observer, const char *region, int status,
                       const char *reason)
{
    const struct fo_verdict *row = committed_row(e, observer, region);
    assert_non_null(row);
    assert_int_equal(row->status, status);
    if (reason == NULL)
        assert_null(row->reason);
    else
        assert_string_equal(row->reason, reason);
}

static void committed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct env *e = req->data;
    assert_int_equal(status, 0);
    assert_int_equal(res->outcome, FO_FSM_APPLIED);
    e->committed++;
}

static int committed_target;

static bool committed_enough(struct env *e)
{
    return e->committed >= committed_target;
}

static uint64_t loop_until_ms;

/* For asserting that nothing happens over a span: the loop's clock passed a point. */
static bool loop_time_reached(struct env *e)
{
    return uv_now(&e->loop) >= loop_until_ms;
}

/* ---- a ready leader ---------------------------------------------------------------- */

static void test_leader_proposes_only_changes(void **state)
{
    struct env *e = env_new(1, 1);
    (void)state;
    env_verdicts(e, 0);
    assert_true(fo_verdicts_settled(&e->v, "n1")); /* nothing wanted yet */

    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r1", FO_STATUS_DOWN, "postgres: refused", 1000),
                     0);
    assert_int_equal(e->v.proposed, 1);
    /* Not committed yet: the leader must not decide on it. */
    assert_false(fo_verdicts_settled(&e->v, "n1"));
    wait_settled(e, "n1");
    assert_row(e, "n1", "r1", FO_STATUS_DOWN, "postgres: refused");
    assert_int_equal(committed_row(e, "n1", "r1")->since_ms, 1000);

    /* The same status again (another reason, a later time): nothing to propose, now or
     * on any later reconcile (the daemon's timer), also past verdicts.c's 1 s retry wait
     * after a commit. */
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r1", FO_STATUS_DOWN, "postgres: timeout", 2000),
                     0);
    fo_verdicts_reconcile(&e->v);
    assert_int_equal(e->v.proposed, 1);
    e->housekeeping = true;
    loop_until_ms = uv_now(&e->loop) + 1500;
    run_until(e, loop_time_reached);
    e->housekeeping = false;
    assert_int_equal(e->v.proposed, 1);
    assert_true(fo_verdicts_settled(&e->v, "n1"));

    /* A real change is proposed at once, although the last commit was a moment ago. */
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r1", FO_STATUS_UP, "postgres: ok", 3000), 0);
    assert_int_equal(e->v.proposed, 2);
    assert_false(fo_verdicts_settled(&e->v, "n1"));
    wait_settled(e, "n1");
    assert_row(e, "n1", "r1", FO_STATUS_UP, "postgres: ok");

    /* UNKNOWN gets a row too (observers show), and an empty reason is none. */
    assert_null(committed_row(e, "n1", "r2"));
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r2", FO_STATUS_UNKNOWN, NULL, 4000), 0);
    assert_int_equal(e->v.proposed, 3);
    wait_settled(e, "n1");
    assert_row(e, "n1", "r2", FO_STATUS_UNKNOWN, NULL);

    /* A region that is not configured is refused and proposes nothing. */
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r9", FO_STATUS_DOWN, "x", 5000), -1);
    assert_null(committed_row(e, "n1", "r9"));
    assert_int_equal(e->v.proposed, 3);
    assert_int_equal(e->v.forwarded, 0);
    assert_int_equal(e->v.failed, 0);
    /* settled() is per observer: another one wants nothing. */
    assert_true(fo_verdicts_settled(&e->v, "someone-else"));
    env_free(e);
}

/* The FSM comes to hold another status than the one wanted (an update lost to a leader
 * change, say): settled() says so and reconciling commits the wanted one again. */
static void test_reconcile_heals_a_different_commit(void **state)
{
    struct env *e = env_new(1, 1);
    struct fo_node_propose req = {.data = NULL};
    struct fo_cmd cmd = {.type = FO_CMD_VERDICT};
    (void)state;
    env_verdicts(e, 0);
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r1", FO_STATUS_DOWN, "down here", 1000), 0);
    wait_settled(e, "n1");

    req.data = e;
    cmd.u.verdict.observer = "n1";
    cmd.u.verdict.region = "r1";
    cmd.u.verdict.status = FO_STATUS_UP;
    cmd.u.verdict.at_ms = 1500;
    assert_int_equal(fo_node_propose(e->self, &req, &cmd, committed), 0);
    committed_target = 1;
    run_until(e, committed_enough);
    assert_row(e, "n1", "r1", FO_STATUS_UP, NULL);
    assert_false(fo_verdicts_settled(&e->v, "n1"));

    e->housekeeping = true;
    wait_settled(e, "n1");
    assert_row(e, "n1", "r1", FO_STATUS_DOWN, "down here");
    assert_int_equal(e->v.proposed, 2);
    env_free(e);
}

static void test_feed_components_aggregate(void **state)
{
    struct env *e = env_new(1, 1);
    char msg[128], name[16];
    (void)state;
    env_verdicts(e, 0);

    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "postgres", FO_STATUS_UP, NULL,
                                           1000, msg, sizeof(msg)),
                     0);
    wait_settled(e, "feed-a");
    assert_row(e, "feed-a", "r1", FO_STATUS_UP, "postgres: up");
    assert_int_equal(e->v.proposed, 1);

    /* Another component UP: still UP, nothing proposed. */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "redis", FO_STATUS_UP, NULL, 1100,
                                           msg, sizeof(msg)),
                     0);
    assert_int_equal(e->v.proposed, 1);

    /* One UNKNOWN among UPs: UNKNOWN. */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "redis", FO_STATUS_UNKNOWN, NULL,
                                           1200, msg, sizeof(msg)),
                     0);
    wait_settled(e, "feed-a");
    assert_row(e, "feed-a", "r1", FO_STATUS_UNKNOWN, "redis: unknown");

    /* Any DOWN: DOWN, with its detail. */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "redis", FO_STATUS_DOWN,
                                           "connection refused", 1300, msg, sizeof(msg)),
                     0);
    wait_settled(e, "feed-a");
    assert_row(e, "feed-a", "r1", FO_STATUS_DOWN, "redis: down: connection refused");

    /* DOWN wins over UNKNOWN too; UP again only when every component is UP. */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "postgres", FO_STATUS_UNKNOWN,
                                           NULL, 1400, msg, sizeof(msg)),
                     0);
    assert_int_equal(e->v.proposed, 3); /* still DOWN: nothing new */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "redis", FO_STATUS_UP, NULL, 1500,
                                           msg, sizeof(msg)),
                     0);
    wait_settled(e, "feed-a");
    assert_row(e, "feed-a", "r1", FO_STATUS_UNKNOWN, "redis: up");
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "postgres", FO_STATUS_UP, NULL,
                                           1600, msg, sizeof(msg)),
                     0);
    wait_settled(e, "feed-a");
    assert_row(e, "feed-a", "r1", FO_STATUS_UP, "postgres: up");

    /* Limits: an unknown region; more than FO_VERDICTS_COMPONENTS components. */
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "nowhere", "redis", FO_STATUS_UP, NULL,
                                           1700, msg, sizeof(msg)),
                     -1);
    assert_non_null(strstr(msg, "'nowhere' is not a configured region"));
    for (int i = 2; i < FO_VERDICTS_COMPONENTS; i++) {
        snprintf(name, sizeof(name), "c%d", i);
        assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", name, FO_STATUS_UP, NULL,
                                               1800, msg, sizeof(msg)),
                         0);
    }
    assert_int_equal(fo_verdicts_component(&e->v, "feed-a", "r1", "one-too-many", FO_STATUS_DOWN,
                                           NULL, 1900, msg, sizeof(msg)),
                     -1);
    assert_non_null(strstr(msg, "at most 8 components"));
    /* The refused component changed nothing. */
    assert_true(fo_verdicts_settled(&e->v, "feed-a"));
    assert_row(e, "feed-a", "r1", FO_STATUS_UP, "postgres: up");
    env_free(e);
}

/* ---- a follower ------------------------------------------------------------------- */

/* The leader's admin endpoint: refuses the first `refuse` requests, then commits the
 * forwarded verdict on the leader and answers once it is applied. */
static struct {
    struct env *e;
    struct fo_node *leader;
    int requests;
    int refuse;
    char cmd[32];
    char args[512]; /* "key=value;" of the last request, in order */
    char who[FO_NAME_MAX + 1];
    unsigned grants;
    struct fo_admin_call *waiting;
    struct fo_node_propose prop;
} H;

static void h_committed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct fo_admin_call *call = H.waiting;
    (void)req;
    H.waiting = NULL;
    if (status == 0 && res->outcome == FO_FSM_APPLIED)
        fo_admin_call_replyf(call, FO_REPLY_OK, "committed");
    else
        fo_admin_call_replyf(call, FO_REPLY_FAILED, "not committed");
}

static int status_of(const char *name)
{
    for (int i = 0; name != NULL && fo_status_names[i] != NULL; i++)
        if (strcmp(fo_status_names[i], name) == 0)
            return i;
    return -1;
}

static void h_handle(struct fo_admin_server *s, struct fo_admin_call *call,
                     const struct fo_admin_req *req, const struct fo_identity *who)
{
    struct fo_cmd cmd = {.type = FO_CMD_VERDICT};
    size_t n = 0;
    const char *at;
    (void)s;

    H.requests++;
    snprintf(H.who, sizeof(H.who), "%s", who->name);
    H.grants = who->grants;
    snprintf(H.cmd, sizeof(H.cmd), "%s", req->cmd);
    H.args[0] = '\0';
    for (size_t i = 0; i < req->nargs; i++) {
        int k = snprintf(H.args + n, sizeof(H.args) - n, "%s=%s;", req->args[i].key,
                         req->args[i].value);
        if (k > 0 && (size_t)k < sizeof(H.args) - n)
            n += (size_t)k;
    }
    if (H.refuse > 0) {
        H.refuse--;
        fo_admin_call_replyf(call, FO_REPLY_NO_QUORUM, "no quorum (test)");
        return;
    }
    at = fo_admin_req_arg(req, "at_ms");
    cmd.u.verdict.observer = (char *)fo_admin_req_arg(req, "observer");
    cmd.u.verdict.region = (char *)fo_admin_req_arg(req, "region");
    cmd.u.verdict.status = status_of(fo_admin_req_arg(req, "status"));
    cmd.u.verdict.at_ms = at != NULL ? strtoull(at, NULL, 10) : 0;
    cmd.u.verdict.reason = (char *)fo_admin_req_arg(req, "reason");
    if (H.waiting != NULL || cmd.u.verdict.observer == NULL || cmd.u.verdict.region == NULL ||
        cmd.u.verdict.status < 0 || fo_node_propose(H.leader, &H.prop, &cmd, h_committed) != 0) {
        fo_admin_call_replyf(call, FO_REPLY_BAD_REQUEST, "cannot propose (test)");
        return;
    }
    H.waiting = call;
}

static bool one_failed(struct env *e)
{
    return e->v.failed == 1;
}

static void test_follower_forwards_to_leader(void **state)
{
    struct env *e = env_new(3, 3); /* the configuration wants an odd number of voters */
    int lead = fo_test_nodes_leader(&e->nodes);
    size_t follower = lead == 0 ? 1 : 0;
    struct fo_tokens tokens;
    struct fo_admin_server_config sc = {.listen = e->admin[lead],
                                        .tokens = &tokens,
                                        .max_connections = 8,
                                        .request_timeout_ms = 5000};
    struct fo_error err;
    char self[8], expect[256];
    (void)state;

    memset(&H, 0, sizeof(H));
    H.e = e;
    H.leader = &e->nodes.node[lead];
    H.refuse = 1;
    assert_int_equal(fo_tokens_init(&tokens, NULL, &err), 0);
    assert_int_equal(fo_tokens_add_shared(&tokens, "admin-token",
                                          fo_admin_role_grants(FO_ROLE_NODE), TOKEN, &err),
                     0);
    e->server.data = e;
    assert_int_equal(fo_admin_server_start(&e->server, &e->loop, &sc, h_handle, &err), 0);
    e->server_started = true;
    env_verdicts(e, follower);
    snprintf(self, sizeof(self), "n%zu", follower + 1);

    /* The first forward is refused: counted as failed, retried later (not at once). */
    assert_int_equal(fo_verdicts_set(&e->v, self, "r2", FO_STATUS_DOWN, "redis: refused", 1234), 0);
    assert_int_equal(e->v.forwarded, 1);
    assert_int_equal(e->v.proposed, 0);
    run_until(e, one_failed);
    assert_int_equal(H.requests, 1);
    fo_verdicts_reconcile(&e->v);
    assert_int_equal(e->v.forwarded, 1); /* the retry waits */

    /* Reconciling on a timer, as the daemon does, forwards again; the leader commits it
     * and the follower's FSM shows it. */
    e->housekeeping = true;
    wait_settled(e, self);
    e->housekeeping = false;
    assert_int_equal(H.requests, 2);
    assert_int_equal(e->v.forwarded, 2);
    assert_int_equal(e->v.failed, 1);
    assert_int_equal(e->v.proposed, 0); /* a follower never proposes itself */
    assert_string_equal(H.cmd, "propose");
    /* The node's credential went along (the shared admin token: role node). */
    assert_string_equal(H.who, "admin-token");
    assert_true(H.grants & (1u << FO_ROLE_NODE));
    snprintf(expect, sizeof(expect),
             "t=verdict;observer=%s;region=r2;status=down;at_ms=1234;reason=redis: refused;", self);
    assert_string_equal(H.args, expect);
    assert_row(e, self, "r2", FO_STATUS_DOWN, "redis: refused");
    assert_non_null(fo_fsm_verdict(&H.leader->fsm.fsm, self, "r2"));

    /* No reason: the argument is left out. */
    assert_int_equal(fo_verdicts_set(&e->v, self, "r2", FO_STATUS_UP, NULL, 2000), 0);
    assert_int_equal(e->v.forwarded, 3);
    e->housekeeping = true;
    wait_settled(e, self);
    snprintf(expect, sizeof(expect), "t=verdict;observer=%s;region=r2;status=up;at_ms=2000;", self);
    assert_string_equal(H.args, expect);
    assert_row(e, self, "r2", FO_STATUS_UP, NULL);
    env_free(e);
    fo_tokens_free(&tokens);
}

static bool polled_enough(struct env *e)
{
    return e->polls >= 250;
}

/* One of three voters, alone: no leader, so nowhere to send; nothing is sent or counted. */
static void test_no_leader_sends_nothing(void **state)
{
    struct env *e = env_new(3, 1);
    (void)state;
    env_verdicts(e, 0);
    assert_int_equal(fo_verdicts_set(&e->v, "n1", "r1", FO_STATUS_DOWN, "down", 1000), 0);
    e->housekeeping = true;
    run_until(e, polled_enough); /* 250 reconciles over about half a second */
    assert_false(fo_node_ready(e->self));
    assert_int_equal(e->v.proposed, 0);
    assert_int_equal(e->v.forwarded, 0);
    assert_int_equal(e->v.failed, 0);
    assert_false(fo_verdicts_settled(&e->v, "n1"));
    env_free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_proposes_only_changes),
        cmocka_unit_test(test_reconcile_heals_a_different_commit),
        cmocka_unit_test(test_feed_components_aggregate),
        cmocka_unit_test(test_follower_forwards_to_leader),
        cmocka_unit_test(test_no_leader_sends_nothing),
    };
    /* As failoverd does: a write to a peer that went away fails with EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
