/*
 * tests/unit/test_majority.c — the majority-contact rule (coordinator/serve/majority.h)
 * and the load balancers' checks built on it (coordinator/serve/lb.h), on made-up inputs:
 * every reason a node refuses to answer, and every answer of /primary and /replica.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/serve/lb.h"
#include "coordinator/serve/majority.h"

static const char yaml[] =
    "cluster: t\n"
    "node: {name: n1, data_dir: /tmp}\n"
    "peers:\n"
    "  - {name: n1, id: 1, region: r1, raft: 127.0.0.1:1, admin: 127.0.0.1:2}\n"
    "regions: [r1, r2]\n"
    "initial_primary: main\n"
    "raft: {heartbeat_ms: 100, election_timeout_ms: 1000}\n"
    "decision: {lease_ms: 600, lease_renew_ms: 100}\n"
    "sites:\n"
    "  main:\n"
    "    postgres: {region: r1, host: 10.0.0.1, port: 5433}\n"
    "    redis: {region: r2, host: 10.0.0.2}\n"
    "  dr:\n"
    "    postgres: {region: r2, host: 10.0.1.1}\n"
    "tls: {mode: off}\n"
    "admin: {token_file: /t}\n";

static struct fo_majority_input leader(size_t n, const uint64_t *contacts)
{
    struct fo_majority_input in = {
        .role = RAFT_LEADER, .ready = true, .now_ms = 10000, .window_ms = 600, .nvoters = n};
    memcpy(in.voter_contact_ms, contacts, n * sizeof(*contacts));
    return in;
}

static void test_leader(void **state)
{
    struct fo_majority m;
    /* self (now), one fresh follower, one silent: 2 of 3 */
    uint64_t ok3[] = {10000, 9500, 0};
    uint64_t stale3[] = {10000, 9300, 0}; /* the second voter 700 ms ago > 600 */
    uint64_t ok5[] = {10000, 9999, 9401, 1, 0};
    uint64_t no5[] = {10000, 9999, 9399, 1, 0};
    struct fo_majority_input in;
    (void)state;

    in = leader(3, ok3);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_OK);
    assert_int_equal(m.contact_age_ms, 500);
    assert_int_equal(m.contacts, 2);
    assert_int_equal(m.voters, 3);
    in = leader(3, stale3);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_QUORUM_CONTACT);
    assert_int_equal(m.contacts, 1);
    assert_non_null(strstr(m.msg, "1 of 3"));
    in = leader(5, ok5);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_OK);
    assert_int_equal(m.contact_age_ms, 599);
    in = leader(5, no5);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_QUORUM_CONTACT);
    /* a lone voter is its own majority */
    in = leader(1, ok3);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_OK);
    /* no voters known at all */
    in = leader(0, ok3);
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_QUORUM_CONTACT);
    /* elected but the barrier has not committed: its FSM may miss committed entries */
    in = leader(3, ok3);
    in.ready = false;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NOT_READY);
}

static void test_follower(void **state)
{
    struct fo_majority m;
    struct fo_majority_input in = {.role = RAFT_FOLLOWER,
                                   .now_ms = 10000,
                                   .window_ms = 600,
                                   .leader_id = 2,
                                   .leader_contact_ms = 9900,
                                   .heard_commit = 40,
                                   .last_applied = 40};
    (void)state;

    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_OK);
    assert_int_equal(m.contact_age_ms, 100);
    in.last_applied = 39;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_BEHIND);
    assert_non_null(strstr(m.msg, "39"));
    in.last_applied = 40;
    in.leader_contact_ms = 9399;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_LEADER_SILENT);
    in.leader_contact_ms = 0; /* never heard since start */
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_LEADER_SILENT);
    assert_int_equal(m.contact_age_ms, UINT64_MAX);
    in.leader_id = 0;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_LEADER);
    in.role = RAFT_CANDIDATE;
    in.leader_id = 2;
    in.leader_contact_ms = 9900;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_LEADER);
    in.role = RAFT_UNAVAILABLE;
    assert_int_equal(fo_majority_check(&in, &m), FO_MAJORITY_NO_LEADER);
}

static void test_window(void **state)
{
    struct fo_config cfg;
    struct fo_error err;
    (void)state;

    if (fo_config_load_buffer("c.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    assert_int_equal(fo_majority_window_ms(&cfg), 600);
    cfg.decision.lease_ms = 200; /* shorter than three heartbeats: never flap */
    assert_int_equal(fo_majority_window_ms(&cfg), 300);
    fo_config_free(&cfg);
}

/* ---- lb.h ---- */

static int standby_answer;

static int standby(void *ctx, const struct fo_site *site, enum fo_component_kind kind)
{
    (void)ctx;
    (void)site;
    (void)kind;
    return standby_answer;
}

struct lb_fixture {
    struct fo_config cfg;
    struct fo_state st;
    struct fo_majority m;
    struct fo_lb_facts f;
};

static int lb_setup(void **state)
{
    static struct lb_fixture x;
    struct fo_error err;

    memset(&x, 0, sizeof(x));
    if (fo_config_load_buffer("c.yaml", yaml, strlen(yaml), &x.cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    x.st.cluster = "t";
    x.st.primary = "main";
    x.st.epoch = 3;
    x.m.reason = FO_MAJORITY_OK;
    x.f = (struct fo_lb_facts){&x.cfg, &x.st, &x.m, standby, NULL};
    standby_answer = 1;
    *state = &x;
    return 0;
}

static int lb_teardown(void **state)
{
    struct lb_fixture *x = *state;
    fo_config_free(&x->cfg);
    return 0;
}

static unsigned judge(struct lb_fixture *x, enum fo_component_kind kind, bool replica,
                      const char *site, const char *host, const char *port, struct fo_lb_answer *a)
{
    const struct fo_lb_query q = {kind, replica, site, host, port};
    return fo_lb_judge(&q, &x->f, a);
}

static void test_lb_primary(void **state)
{
    struct lb_fixture *x = *state;
    struct fo_lb_answer a;
    struct fo_operation op = {.id = "op-1", .kind = FO_OP_AUTO};

    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "main", NULL, NULL, &a), 200);
    assert_string_equal(a.site->name, "main");
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "not_primary");
    /* by host and port */
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, "10.0.0.1", "5433", &a), 200);
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, "10.0.0.1", NULL, &a), 200);
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, "10.0.1.1", NULL, &a), 503);
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, "10.0.0.1", "5432", &a), 404);
    assert_string_equal(a.code, "unknown_server");
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, "10.0.0.1", "x", &a), 404);
    assert_int_equal(judge(x, FO_COMPONENT_REDIS, false, NULL, "10.0.0.2", "6379", &a), 200);
    /* the failover that moved the primary to dr is still running: nobody is writable */
    x->st.primary = "dr";
    x->st.operation = &op;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "operation_in_flight");
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "main", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "not_primary");
    op.kind = FO_OP_DRILL; /* a drill moves nothing */
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "dr", NULL, NULL, &a), 200);
    x->st.operation = NULL;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "dr", NULL, NULL, &a), 200);
}

static void test_lb_refusals(void **state)
{
    struct lb_fixture *x = *state;
    struct fo_lb_answer a;

    /* the query must name one server */
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, NULL, NULL, NULL, &a), 400);
    assert_string_equal(a.code, "bad_request");
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "main", "10.0.0.1", NULL, &a), 400);
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "nowhere", NULL, NULL, &a), 404);
    assert_string_equal(a.code, "unknown_site");
    assert_int_equal(judge(x, FO_COMPONENT_REDIS, false, "dr", NULL, NULL, &a), 404);
    assert_string_equal(a.code, "no_component");
    /* no majority view: the majority's reason is the code */
    x->m.reason = FO_MAJORITY_LEADER_SILENT;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "main", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "leader_silent");
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "leader_silent");
    x->m.reason = FO_MAJORITY_OK;
    x->st.primary = NULL;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, false, "main", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "not_initialized");
    x->st.primary = "main";
    assert_int_equal(fo_lb_kind_of("postgres"), FO_COMPONENT_POSTGRES);
    assert_int_equal(fo_lb_kind_of("redis"), FO_COMPONENT_REDIS);
    assert_int_equal(fo_lb_kind_of("dns"), -1); /* no server to check */
    assert_int_equal(fo_lb_kind_of("mysql"), -1);
}

static void test_lb_replica(void **state)
{
    struct lb_fixture *x = *state;
    struct fo_lb_answer a;

    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "dr", NULL, NULL, &a), 200);
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "main", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "is_primary");
    standby_answer = 0;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "not_standby");
    standby_answer = -1;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "standby_unknown");
    x->f.standby = NULL;
    assert_int_equal(judge(x, FO_COMPONENT_POSTGRES, true, "dr", NULL, NULL, &a), 503);
    assert_string_equal(a.code, "standby_unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader),
        cmocka_unit_test(test_follower),
        cmocka_unit_test(test_window),
        cmocka_unit_test_setup_teardown(test_lb_primary, lb_setup, lb_teardown),
        cmocka_unit_test_setup_teardown(test_lb_refusals, lb_setup, lb_teardown),
        cmocka_unit_test_setup_teardown(test_lb_replica, lb_setup, lb_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
