/*
 * tests/unit/test_placement.c — where the Raft leader should be (run/placement.h): out of
 * the regions that hold the primary's Postgres and Redis, preferably where the next
 * failover's Postgres is, to a reachable voter, never during an operation, never when
 * turned off.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/config/components.h"
#include "coordinator/run/placement.h"

/* The runbook's topology: main in us-east-1; dr's Postgres in eu-west-1, its Redis in
 * us-west-2. %s is the node's name. */
static const char yaml_fmt[] =
    "cluster: t\n"
    "node: {name: %s, data_dir: /tmp}\n"
    "peers:\n"
    "  - {name: use1, id: 1, region: us-east-1, raft: 127.0.0.1:1, admin: 127.0.0.1:2}\n"
    "  - {name: usw2, id: 2, region: us-west-2, raft: 127.0.0.1:3, admin: 127.0.0.1:4}\n"
    "  - {name: euw1, id: 3, region: eu-west-1, raft: 127.0.0.1:5, admin: 127.0.0.1:6}\n"
    "regions: [us-east-1, us-west-2, eu-west-1]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main:\n"
    "    postgres: {region: us-east-1, host: 10.0.0.1}\n"
    "    redis: {region: us-east-1, host: 10.0.0.2}\n"
    "  dr:\n"
    "    postgres: {region: eu-west-1, host: 10.0.1.1}\n"
    "    redis: {region: us-west-2, host: 10.0.1.2}\n"
    "tls: {mode: off}\n"
    "admin: {token_file: /t}\n"
    "%s";

static void load(struct fo_config *cfg, const char *self, const char *extra)
{
    char buf[2048];
    struct fo_error err;
    int n = snprintf(buf, sizeof(buf), yaml_fmt, self, extra);
    if (fo_config_load_buffer("c.yaml", buf, (size_t)n, cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
}

static const struct fo_placement_peer all_up[3] = {
    {.reachable = true, .voter = true, .match_index = 10},
    {.reachable = true, .voter = true, .match_index = 10},
    {.reachable = true, .voter = true, .match_index = 10},
};

static enum fo_placement_reason pick(const struct fo_config *cfg, const char *primary, bool op,
                                     const struct fo_placement_peer *peers, uint64_t *to)
{
    struct fo_placement_input in = {
        .cfg = cfg, .primary = primary, .op_in_flight = op, .commit_index = 10, .peers = peers};
    return fo_placement_pick(&in, to);
}

static void test_leader_in_primary_region_moves(void **state)
{
    struct fo_config cfg;
    uint64_t to = 99;
    (void)state;
    load(&cfg, "use1", "");
    /* to dr's Postgres region first: the next failover's longest chain of round trips */
    assert_int_equal(pick(&cfg, "main", false, all_up, &to), FO_PLACEMENT_MOVE);
    assert_int_equal(to, 3);
    struct fo_placement_peer p[3] = {all_up[0], all_up[1], all_up[2]};
    /* that one unreachable: dr's Redis region will do */
    p[2].reachable = false;
    assert_int_equal(pick(&cfg, "main", false, p, &to), FO_PLACEMENT_MOVE);
    assert_int_equal(to, 2);
    /* a voter still catching up is not a target */
    p[2].reachable = true;
    p[1].match_index = 9;
    p[2].match_index = 9;
    assert_int_equal(pick(&cfg, "main", false, p, &to), FO_PLACEMENT_NO_TARGET);
    p[1].match_index = 10;
    p[2].match_index = 11;
    /* an unreachable or non-voting peer is never the target */
    p[2].reachable = false;
    p[1].voter = false;
    assert_int_equal(pick(&cfg, "main", false, p, &to), FO_PLACEMENT_NO_TARGET);
    assert_int_equal(to, 0);
    fo_config_free(&cfg);
}

/* Away from the primary, a leader moves only to a strictly better region. */
static void test_nearer_the_target(void **state)
{
    struct fo_config cfg;
    uint64_t to = 99;
    (void)state;
    load(&cfg, "usw2", "");
    assert_int_equal(fo_placement_score(&cfg, NULL, "us-east-1"), 0);
    assert_int_equal(fo_placement_score(&cfg, "main", "us-east-1"), -1);
    assert_int_equal(fo_placement_score(&cfg, "main", "eu-west-1"), 2);
    assert_int_equal(fo_placement_score(&cfg, "main", "us-west-2"), 1);
    assert_int_equal(fo_placement_score(&cfg, "dr", "us-east-1"), 2);
    assert_int_equal(pick(&cfg, "main", false, all_up, &to), FO_PLACEMENT_NEARER);
    assert_int_equal(to, 3);
    assert_int_equal(pick(&cfg, "main", true, all_up, &to), FO_PLACEMENT_BUSY);
    struct fo_placement_peer p[3] = {all_up[0], all_up[1], all_up[2]};
    p[2].reachable = false; /* and never into the primary's region instead */
    assert_int_equal(pick(&cfg, "main", false, p, &to), FO_PLACEMENT_AWAY);
    assert_int_equal(to, 0);
    fo_config_free(&cfg);
    /* the best region stays: nothing better anywhere */
    load(&cfg, "euw1", "");
    assert_int_equal(pick(&cfg, "main", false, all_up, &to), FO_PLACEMENT_AWAY);
    fo_config_free(&cfg);
}

static void test_stays(void **state)
{
    struct fo_config cfg;
    uint64_t to = 99;
    (void)state;
    load(&cfg, "euw1", "");
    assert_int_equal(pick(&cfg, "main", false, all_up, &to), FO_PLACEMENT_AWAY);
    assert_int_equal(to, 0);
    /* after a failover to dr, eu-west-1 holds dr's Postgres: only us-east-1 is away */
    assert_int_equal(pick(&cfg, "dr", false, all_up, &to), FO_PLACEMENT_MOVE);
    assert_int_equal(to, 1);
    assert_int_equal(pick(&cfg, "dr", true, all_up, &to), FO_PLACEMENT_BUSY);
    assert_int_equal(pick(&cfg, NULL, false, all_up, &to), FO_PLACEMENT_NO_PRIMARY);
    assert_int_equal(pick(&cfg, "nosuch", false, all_up, &to), FO_PLACEMENT_NO_PRIMARY);
    fo_config_free(&cfg);
    load(&cfg, "use1", "raft: {leader_off_primary: false}\n");
    assert_int_equal(pick(&cfg, "main", false, all_up, &to), FO_PLACEMENT_OFF);
    assert_int_equal(to, 0);
    fo_config_free(&cfg);
}

static void test_site_in_region(void **state)
{
    struct fo_config cfg;
    (void)state;
    load(&cfg, "use1", "");
    const struct fo_site *dr = fo_config_site(&cfg, "dr");
    assert_true(fo_component_site_in_region(dr, "eu-west-1"));
    assert_true(fo_component_site_in_region(dr, "us-west-2"));
    assert_false(fo_component_site_in_region(dr, "us-east-1"));
    fo_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leader_in_primary_region_moves),
        cmocka_unit_test(test_nearer_the_target),
        cmocka_unit_test(test_stays),
        cmocka_unit_test(test_site_in_region),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
