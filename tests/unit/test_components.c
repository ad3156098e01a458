/*
 * tests/unit/test_components.c — the one table of what a site is made of
 * (coordinator/config/components.h): which component an action works on, a site's
 * component with its region and connection, the probe names, the fence actions.
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
#include "coordinator/run/plan_params.h"

static const char yaml[] =
    "cluster: t\n"
    "node: {name: n1, data_dir: /tmp}\n"
    "peers:\n"
    "  - {name: n1, id: 1, region: r1, raft: 127.0.0.1:1, admin: 127.0.0.1:2}\n"
    "regions: [r1, r2]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main:\n"
    "    postgres: {region: r1, host: 10.0.0.1, port: 5433, dbname: app, user: fo,\n"
    "               password_file: /pg, sslmode: verify-full, sslrootcert: /ca,\n"
    "               rejoin_command: [ssh, db1, /usr/lib/failoverd/pg-rejoin, --pgdata, /d]}\n"
    "    redis: {region: r2, host: 10.0.0.2}\n"
    "    dns_origin: 203.0.113.10\n"
    "    vercel_env: {REDIS_HOST: 10.0.0.2, DATABASE_URL: {file: /db}}\n"
    "  dr:\n"
    "    postgres: {region: r2, host: 10.0.1.1}\n"
    "tls: {mode: off}\n"
    "admin: {token_file: /t}\n";

static void test_action_kinds(void **state)
{
    (void)state;
    assert_int_equal(fo_component_of_action("postgres.promote"), FO_COMPONENT_POSTGRES);
    assert_int_equal(fo_component_of_action("postgres.fence"), FO_COMPONENT_POSTGRES);
    assert_int_equal(fo_component_of_action("redis.unfence"), FO_COMPONENT_REDIS);
    assert_int_equal(fo_component_of_action("cloudflare.dns"), FO_COMPONENT_DNS);
    /* one action, not a prefix: the other Cloudflare actions need no site component */
    assert_int_equal(fo_component_of_action("cloudflare.dnsx"), -1);
    assert_int_equal(fo_component_of_action("cloudflare.pool"), -1);
    assert_int_equal(fo_component_of_action("vercel.env"), -1);
    assert_int_equal(fo_component_of_action("postgres"), -1); /* the prefix needs its dot */
    assert_int_equal(fo_component_of_action(NULL), -1);
    assert_string_equal(fo_components[FO_COMPONENT_POSTGRES].fence, "postgres.fence");
    assert_string_equal(fo_components[FO_COMPONENT_REDIS].unfence, "redis.unfence");
    assert_string_equal(fo_components[FO_COMPONENT_POSTGRES].promote, "postgres.promote");
    assert_null(fo_components[FO_COMPONENT_DNS].fence);
    assert_null(fo_components[FO_COMPONENT_DNS].promote);
    assert_false(fo_components[FO_COMPONENT_DNS].probed);
}

static void test_site_components(void **state)
{
    struct fo_config cfg;
    struct fo_error err;
    struct fo_component_ref r;
    const struct fo_site *main_site, *dr;
    char name[64];
    (void)state;

    if (fo_config_load_buffer("c.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    main_site = fo_config_site(&cfg, "main");
    dr = fo_config_site(&cfg, "dr");
    assert_true(fo_component_get(main_site, FO_COMPONENT_POSTGRES, &r));
    assert_string_equal(r.region, "r1");
    assert_string_equal(r.host, "10.0.0.1");
    assert_int_equal(r.port, 5433);
    assert_string_equal(r.dbname, "app");
    assert_string_equal(r.user, "fo");
    assert_string_equal(r.password_file, "/pg");
    assert_true(fo_component_get(main_site, FO_COMPONENT_REDIS, &r));
    assert_string_equal(r.region, "r2");
    assert_int_equal(r.port, 6379); /* the config's default */
    assert_null(r.dbname);
    assert_true(fo_component_get(main_site, FO_COMPONENT_DNS, &r));
    assert_null(r.region);
    assert_string_equal(r.origin, "203.0.113.10");
    /* what a site lacks */
    assert_false(fo_component_get(dr, FO_COMPONENT_REDIS, &r));
    assert_false(fo_component_get(dr, FO_COMPONENT_DNS, NULL));
    assert_false(fo_component_get(dr, FO_COMPONENT_COUNT, &r));
    assert_int_equal(fo_component_probe_name(FO_COMPONENT_POSTGRES, "dr", name, sizeof(name)), 11);
    assert_string_equal(name, "postgres:dr");
    fo_component_probe_name(FO_COMPONENT_REDIS, "main", name, sizeof(name));
    assert_string_equal(name, "redis:main");
    fo_config_free(&cfg);
}

/* "key=value;" for each of n parameters, which are freed. */
static void join(struct fo_kv *kv, int n, char *buf, size_t cap)
{
    size_t len = 0;

    assert_true(n >= 0);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(buf + len, cap - len, "%s=%s;", kv[i].key, kv[i].value);
        assert_true(len < cap);
        free(kv[i].key);
        free(kv[i].value);
    }
}

/* The parameters an action gets from the table: its component's connection (those the
 * kind has), the DNS origin, nothing for a site that lacks it, and a switchover's
 * promote the old primary's same component as catch_up_*. */
static void test_plan_params_from_table(void **state)
{
    struct fo_config cfg;
    struct fo_error err;
    struct fo_kv kv[16];
    struct fo_plan_step pg = {.name = "p", .action = "postgres.promote"};
    struct fo_plan_step rd = {.name = "r", .action = "redis.fence"};
    struct fo_plan_step dns = {.name = "d", .action = "cloudflare.dns"};
    char msg[128], all[512];
    int n;
    (void)state;

    if (fo_config_load_buffer("c.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    /* a node (n1) runs in r1, main's Postgres' region: its guardian lifts the promote's
     * hold (run/lease.h) */
    n = fo_plan_params(&cfg, &pg, "main", kv, 16, msg, sizeof(msg));
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.0.1;port=5433;dbname=app;user=fo;password_file=/pg;"
                             "sslmode=verify-full;sslrootcert=/ca;hold_fence=1;");
    /* no node in r2 (dr's Postgres): nobody could lift a hold, so none is asked for */
    n = fo_plan_params(&cfg, &pg, "dr", kv, 16, msg, sizeof(msg));
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.1.1;port=5432;dbname=postgres;user=failoverd;");
    n = fo_plan_params(&cfg, &rd, "main", kv, 16, msg, sizeof(msg));
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.0.2;port=6379;");
    n = fo_plan_params(&cfg, &dns, "main", kv, 16, msg, sizeof(msg));
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "content=203.0.113.10;");
    assert_int_equal(fo_plan_params(&cfg, &rd, "dr", kv, 16, msg, sizeof(msg)),
                     FO_PLAN_PARAMS_NO_COMPONENT);
    assert_string_equal(msg, "site dr has no redis");
    assert_int_equal(fo_plan_params(&cfg, &dns, "dr", kv, 16, msg, sizeof(msg)),
                     FO_PLAN_PARAMS_NO_COMPONENT);
    assert_string_equal(msg, "site dr has no dns_origin");
    /* a switchover to dr: postgres.promote catches up from main's Postgres */
    n = fo_plan_params(&cfg, &pg, "dr", kv, 16, msg, sizeof(msg));
    n = fo_plan_catch_up_params(&cfg, "postgres.promote", "main", kv, (size_t)n, 16);
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.1.1;port=5432;dbname=postgres;user=failoverd;"
                             "catch_up_host=10.0.0.1;catch_up_port=5433;catch_up_dbname=app;"
                             "catch_up_user=fo;catch_up_password_file=/pg;"
                             "catch_up_sslmode=verify-full;catch_up_sslrootcert=/ca;");
    /* vercel.redeploy gets the site's vercel_env as vercel.env does (its verify_url
     * check expects those values) */
    {
        struct fo_plan_step env = {.name = "e", .action = "vercel.env"};
        struct fo_plan_step redeploy = {.name = "v", .action = "vercel.redeploy"};
        char env_all[512];
        n = fo_plan_params(&cfg, &env, "main", kv, 16, msg, sizeof(msg));
        join(kv, n, env_all, sizeof(env_all));
        assert_non_null(strstr(env_all, "env.REDIS_HOST=10.0.0.2;"));
        assert_non_null(strstr(env_all, "env_file.DATABASE_URL=/db;"));
        n = fo_plan_params(&cfg, &redeploy, "main", kv, 16, msg, sizeof(msg));
        join(kv, n, all, sizeof(all));
        assert_string_equal(all, env_all);
    }
    /* not a promote: nothing to catch up */
    assert_int_equal(fo_plan_catch_up_params(&cfg, "postgres.fence", "main", kv, 0, 16), 0);
    assert_true(fo_plan_step_required_in_switchover("redis.fence"));
    assert_false(fo_plan_step_required_in_switchover("redis.promote"));
    fo_config_free(&cfg);
}

/* A rejoin of main while dr is primary: postgres.rejoin gets main's server, dr's as
 * primary_*, and main's rejoin_command as argv.N; other kinds get nothing more. */
static void test_rejoin_params(void **state)
{
    struct fo_config cfg;
    struct fo_error err;
    struct fo_kv kv[24];
    const struct fo_plan *plan = fo_plan_rejoin();
    char msg[128], all[768];
    int n;
    (void)state;

    if (fo_config_load_buffer("c.yaml", yaml, strlen(yaml), &cfg, &err) != 0)
        fail_msg("config: %s", err.msg);
    assert_int_equal(plan->nsteps, 2);
    assert_string_equal(plan->steps[1].action, "postgres.rejoin");
    assert_ptr_equal(fo_plan_step_find(plan, "rejoin-postgres"), &plan->steps[1]);
    n = fo_plan_params(&cfg, &plan->steps[1], "main", kv, 24, msg, sizeof(msg));
    assert_true(n > 0);
    n = fo_plan_rejoin_params(&cfg, "postgres.rejoin", "dr", "main", kv, (size_t)n, 24);
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.0.1;port=5433;dbname=app;user=fo;password_file=/pg;"
                             "sslmode=verify-full;sslrootcert=/ca;"
                             "primary_host=10.0.1.1;primary_port=5432;primary_dbname=postgres;"
                             "primary_user=failoverd;"
                             "argv.0=ssh;argv.1=db1;argv.2=/usr/lib/failoverd/pg-rejoin;"
                             "argv.3=--pgdata;argv.4=/d;");
    /* redis.rejoin of main: dr has no Redis, so no primary_* (the action refuses then) */
    n = fo_plan_params(&cfg, &plan->steps[0], "main", kv, 24, msg, sizeof(msg));
    n = fo_plan_rejoin_params(&cfg, "redis.rejoin", "dr", "main", kv, (size_t)n, 24);
    join(kv, n, all, sizeof(all));
    assert_string_equal(all, "host=10.0.0.2;port=6379;");
    /* dr rejoining main: Postgres without a command */
    n = fo_plan_rejoin_params(&cfg, "postgres.rejoin", "main", "dr", kv, 0, 24);
    join(kv, n, all, sizeof(all));
    assert_non_null(strstr(all, "primary_host=10.0.0.1;primary_port=5433;"));
    assert_null(strstr(all, "argv."));
    assert_int_equal(fo_plan_rejoin_params(&cfg, "postgres.promote", "dr", "main", kv, 0, 24), 0);
    /* full: nothing kept of what it added */
    assert_int_equal(fo_plan_rejoin_params(&cfg, "postgres.rejoin", "dr", "main", kv, 0, 3), -1);
    fo_config_free(&cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_action_kinds),
        cmocka_unit_test(test_site_components),
        cmocka_unit_test(test_plan_params_from_table),
        cmocka_unit_test(test_rejoin_params),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
