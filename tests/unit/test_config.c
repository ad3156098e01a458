/*
 * tests/unit/test_config.c — the YAML config loader (coordinator/config/config.h): the sample
 * files load with every field right and defaults applied; the digest covers exactly the
 * replicated part; every way a file can be wrong is refused with file, line and key.
 *
 * Bad files are made from BASE (a valid file, one key per line so that lines are easy
 * to count) by replacing one unique piece of text, written to a temporary file and
 * loaded from there: each row of the error table is that edit and the message expected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/config/config.h"

#define DATA_DIR FO_GOLDEN_DIR "/../data/config"

/* BASE, in pieces so that rows can replace a whole section. Line numbers on the right. */
#define HEAD                                                                                       \
    "cluster: bmf001-prod\n"           /* 1 */                                                     \
    "node:\n"                          /* 2 */                                                     \
    "  name: us-east-1\n"              /* 3 */                                                     \
    "  data_dir: /var/lib/failoverd\n" /* 4 */
#define PEERS                                                                                      \
    "peers:\n"                    /* 5 */                                                          \
    "  - name: us-east-1\n"       /* 6 */                                                          \
    "    id: 1\n"                 /* 7 */                                                          \
    "    region: us-east-1\n"     /* 8 */                                                          \
    "    raft: 10.0.1.10:7301\n"  /* 9 */                                                          \
    "    admin: 10.0.1.10:7401\n" /* 10 */                                                         \
    "  - name: us-west-2\n"       /* 11 */                                                         \
    "    id: 2\n"                 /* 12 */                                                         \
    "    region: us-west-2\n"     /* 13 */                                                         \
    "    raft: 10.0.2.10:7301\n"  /* 14 */                                                         \
    "    admin: 10.0.2.10:7401\n" /* 15 */                                                         \
        PEER3
#define PEER3                                                                                      \
    "  - name: eu-west-1\n"       /* 16 */                                                         \
    "    id: 3\n"                 /* 17 */                                                         \
    "    region: eu-west-1\n"     /* 18 */                                                         \
    "    raft: 10.0.3.10:7301\n"  /* 19 */                                                         \
    "    admin: 10.0.3.10:7401\n" /* 20 */
#define REGIONS                                                                                    \
    "regions: [us-east-1, us-west-2, eu-west-1]\n" /* 21 */                                        \
    "initial_primary: main\n"                      /* 22 */
#define SITES                                                                                      \
    "sites:\n"                                               /* 23 */                              \
    "  main:\n"                                              /* 24 */                              \
    "    priority: 1\n"                                      /* 25 */                              \
    "    postgres:\n"                                        /* 26 */                              \
    "      region: us-east-1\n"                              /* 27 */                              \
    "      host: 10.0.1.20\n"                                /* 28 */                              \
    "      port: 5432\n"                                     /* 29 */                              \
    "      dbname: app\n"                                    /* 30 */                              \
    "      user: failoverd\n"                                /* 31 */                              \
    "      password_file: /etc/failoverd/pg-main.password\n" /* 32 */                              \
    "    redis:\n"                                           /* 33 */                              \
    "      region: us-east-1\n"                              /* 34 */                              \
    "      host: 10.0.1.30\n"                                /* 35 */                              \
    "      port: 6379\n"                                     /* 36 */                              \
        ENV DR
#define ENV                                                                                        \
    "    vercel_env:\n"                                        /* 37 */                            \
    "      DATABASE_URL: {file: /etc/failoverd/db-url-main}\n" /* 38 */                            \
    "      REDIS_HOST: 10.0.1.30\n"                            /* 39 */                            \
    "    dns_origin: 203.0.113.10\n"                           /* 40 */
#define DR                                                                                         \
    "  dr:\n"           /* 41 */                                                                   \
    "    priority: 2\n" /* 42 */                                                                   \
    "    postgres: {region: eu-west-1, host: 10.0.3.20, port: 5432, dbname: app, user: "           \
    "failoverd}\n"                                                  /* 43 */                       \
    "    redis: {region: us-west-2, host: 10.0.2.30, port: 6379}\n" /* 44 */
#define TAIL                                                                                       \
    "raft:\n"                                        /* 45 */                                      \
    "  election_timeout_ms: 1000\n"                  /* 46 */                                      \
    "  heartbeat_ms: 100\n"                          /* 47 */                                      \
    "admin:\n"                                       /* 48 */                                      \
    "  token_file: /etc/failoverd/admin.token\n"     /* 49 */                                      \
    "  read_token_file: /etc/failoverd/read.token\n" /* 50 */
/* Plain text must be said (issue 14): every base file says it on its last line, and the
 * TLS tests replace that line. */
#define TLSOFF "tls: {mode: off}\n" /* 51 */
#define NOTLS  HEAD PEERS REGIONS SITES TAIL
#define BASE   NOTLS TLSOFF
#define LAST   "  read_token_file: /etc/failoverd/read.token\n"

static char tmpdir[64];
static char tmpfile_path[128];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fo-test-config-XXXXXX");
    if (mkdtemp(tmpdir) == NULL)
        return -1;
    snprintf(tmpfile_path, sizeof(tmpfile_path), "%s/node.yaml", tmpdir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(tmpfile_path);
    return rmdir(tmpdir);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Write text to tmpdir/node.yaml and load it from there. */
static int load_text(const char *text, struct fo_config *cfg, struct fo_error *err)
{
    write_file(tmpfile_path, text, strlen(text));
    return fo_config_load(tmpfile_path, cfg, err);
}

/* base with its one occurrence of from replaced by to (caller frees). */
static char *patch(const char *base, const char *from, const char *to)
{
    const char *at = strstr(base, from);
    size_t n = strlen(base), nf = strlen(from), nt = strlen(to);
    char *out;

    if (at == NULL || strstr(at + 1, from) != NULL) {
        print_error("patch: '%s' is not in the base exactly once\n", from);
        fail();
    }
    out = malloc(n - nf + nt + 1);
    assert_non_null(out);
    memcpy(out, base, (size_t)(at - base));
    memcpy(out + (at - base), to, nt);
    memcpy(out + (at - base) + nt, at + nf, n - (size_t)(at - base) - nf + 1);
    return out;
}

static bool is_zero(const struct fo_config *cfg)
{
    static const struct fo_config zero;
    return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

/* Load text; expect failure with code and a message containing want, and a zeroed cfg.
 * Returns false (after printing why) otherwise. */
static bool refused(const char *label, const char *text, int code, const char *want)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    int rv = load_text(text, &cfg, &err);

    if (rv == 0) {
        print_error("%s: loaded, expected '%s'\n", label, want);
        fo_config_free(&cfg);
        return false;
    }
    if (rv != code || err.code != code || strstr(err.msg, want) == NULL || !is_zero(&cfg)) {
        print_error("%s: got code %d '%s'\n%*s  expected code %d '%s'\n", label, rv, err.msg,
                    (int)strlen(label), "", code, want);
        return false;
    }
    return true;
}

/* ---- valid files ----------------------------------------------------------------- */

static void load_sample(const char *name, struct fo_config *cfg)
{
    char path[512];
    struct fo_error err = {0};

    snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
    if (fo_config_load(path, cfg, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
}

static void check_peer(const struct fo_peer *p, const char *name, uint64_t id, const char *raft,
                       const char *admin)
{
    assert_string_equal(p->name, name);
    assert_string_equal(p->region, name); /* one node per region, named after it */
    assert_int_equal(p->id, id);
    assert_string_equal(p->raft, raft);
    assert_string_equal(p->admin, admin);
}

static void test_three_regions(void **state)
{
    struct fo_config cfg;
    const struct fo_site *main_site, *dr;
    (void)state;

    load_sample("three-regions.yaml", &cfg);
    assert_non_null(strstr(cfg.path, "three-regions.yaml"));
    assert_string_equal(cfg.cluster, "bmf001-prod");
    assert_string_equal(cfg.node_name, "us-east-1");
    assert_string_equal(cfg.data_dir, "/var/lib/failoverd");
    assert_int_equal(cfg.npeers, 3);
    check_peer(&cfg.peers[0], "us-east-1", 1, "10.0.1.10:7301", "10.0.1.10:7401");
    check_peer(&cfg.peers[1], "us-west-2", 2, "10.0.2.10:7301", "10.0.2.10:7401");
    check_peer(&cfg.peers[2], "eu-west-1", 3, "10.0.3.10:7301", "10.0.3.10:7401");
    assert_ptr_equal(cfg.self, &cfg.peers[0]);
    assert_int_equal(cfg.nregions, 3);
    assert_string_equal(cfg.regions[0], "us-east-1");
    assert_string_equal(cfg.regions[1], "us-west-2");
    assert_string_equal(cfg.regions[2], "eu-west-1");
    assert_string_equal(cfg.initial_primary, "main");
    assert_int_equal(cfg.nsites, 2);

    main_site = &cfg.sites[0];
    assert_string_equal(main_site->name, "main");
    assert_int_equal(main_site->priority, 1);
    assert_non_null(main_site->postgres);
    assert_string_equal(main_site->postgres->region, "us-east-1");
    assert_string_equal(main_site->postgres->host, "10.0.1.20");
    assert_int_equal(main_site->postgres->port, 5432);
    assert_string_equal(main_site->postgres->dbname, "app");
    assert_string_equal(main_site->postgres->user, "failoverd");
    assert_string_equal(main_site->postgres->password_file, "/etc/failoverd/pg-main.password");
    assert_non_null(main_site->redis);
    assert_string_equal(main_site->redis->region, "us-east-1");
    assert_string_equal(main_site->redis->host, "10.0.1.30");
    assert_int_equal(main_site->redis->port, 6379);
    assert_null(main_site->redis->password_file);
    assert_int_equal(main_site->nvercel_env, 2);
    assert_string_equal(main_site->vercel_env[0].name, "DATABASE_URL");
    assert_null(main_site->vercel_env[0].value);
    assert_string_equal(main_site->vercel_env[0].value_file, "/etc/failoverd/db-url-main");
    assert_string_equal(main_site->vercel_env[1].name, "REDIS_HOST");
    assert_string_equal(main_site->vercel_env[1].value, "10.0.1.30");
    assert_null(main_site->vercel_env[1].value_file);
    assert_string_equal(main_site->dns_origin, "203.0.113.10");

    dr = &cfg.sites[1];
    assert_string_equal(dr->name, "dr");
    assert_int_equal(dr->priority, 2);
    assert_string_equal(dr->postgres->region, "eu-west-1");
    assert_string_equal(dr->postgres->host, "10.0.3.20");
    assert_null(dr->postgres->password_file);
    assert_string_equal(dr->redis->region, "us-west-2");
    assert_string_equal(dr->redis->host, "10.0.2.30");
    assert_int_equal(dr->nvercel_env, 0);
    assert_null(dr->dns_origin);

    assert_int_equal(cfg.raft.election_timeout_ms, 1000);
    assert_int_equal(cfg.raft.heartbeat_ms, 100);
    assert_int_equal(cfg.raft.snapshot_threshold, 512);
    assert_int_equal(cfg.raft.snapshot_trailing, 512);
    assert_int_equal(cfg.raft.connect_retry_ms, 250);
    assert_string_equal(cfg.admin.listen, "127.0.0.1:7401");
    assert_string_equal(cfg.admin.token_file, "/etc/failoverd/admin.token");
    assert_string_equal(cfg.admin.read_token_file, "/etc/failoverd/read.token");
    assert_int_equal(cfg.admin.max_connections, 64);
    assert_int_equal(cfg.admin.request_timeout_ms, 5000);
    assert_int_equal(strlen(cfg.digest), 64);

    /* the policy sections */
    assert_true(cfg.decision.automatic);
    assert_int_equal(cfg.decision.quorum, 2);
    assert_int_equal(cfg.decision.failover_after_ms, 30000);
    assert_int_equal(cfg.decision.max_lag_bytes, 16777216);
    assert_int_equal(cfg.decision.max_lag_ms, 3600000);
    assert_int_equal(cfg.decision.cooldown_ms, 600000);
    assert_int_equal(cfg.decision.lease_renew_ms, 100);
    assert_int_equal(cfg.decision.lease_ms, 600);
    assert_int_equal(cfg.decision.fence_budget_ms, 150);
    assert_int_equal(cfg.decision.clock_rate_margin_permille, 20);
    assert_int_equal(cfg.checks.interval_ms, 5000);
    assert_int_equal(cfg.checks.timeout_ms, 2000);
    assert_int_equal(cfg.checks.down_after_ms, 15000);
    assert_int_equal(cfg.checks.up_after_ms, 10000);
    assert_true(cfg.checks.postgres_critical);
    assert_false(cfg.checks.redis_critical);
    assert_int_equal(cfg.checks.nhttp, 2);
    assert_string_equal(cfg.checks.http[0].name, "web-us-east-1");
    assert_string_equal(cfg.checks.http[0].region, "us-east-1");
    assert_string_equal(cfg.checks.http[0].url, "https://us-east-1.example.com/api/health");
    assert_int_equal(cfg.checks.http[0].expect_status, 200);
    assert_true(cfg.checks.http[0].critical);
    assert_int_equal(cfg.checks.http[0].timeout_ms, 2000);
    assert_string_equal(cfg.checks.http[1].name, "web-eu-west-1");
    assert_false(cfg.checks.http[1].critical); /* the default */
    assert_int_equal(cfg.checks.http[1].expect_status, 200);
    assert_int_equal(cfg.checks.http[1].timeout_ms, 2000); /* checks.timeout_ms */
    assert_int_equal(cfg.nfeeds, 2);
    assert_string_equal(cfg.feeds[0].name, "datadog");
    assert_string_equal(cfg.feeds[0].token_file, "/etc/failoverd/feed-datadog.token");
    assert_false(cfg.feeds[0].count_in_quorum);
    assert_string_equal(cfg.feeds[1].name, "alertmanager");
    assert_false(cfg.feeds[1].count_in_quorum);
    assert_string_equal(cfg.health.listen, "127.0.0.1:7501");
    assert_int_equal(cfg.health.max_connections, 64);
    assert_string_equal(cfg.alertmanager.region_label, "region");
    assert_string_equal(cfg.alertmanager.component_label, "component");
    assert_string_equal(cfg.alertmanager.observer, "alertmanager");

    fo_config_free(&cfg);
    assert_true(is_zero(&cfg));
    fo_config_free(&cfg); /* freeing a freed (zeroed) config is harmless */
}

/* Without a plan section, the runbook's data-plane steps; with one, exactly its steps. */
static void test_plan(void **state)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    const struct fo_plan_step *st;
    char *text;
    (void)state;

    load_sample("single-node.yaml", &cfg);
    assert_int_equal(cfg.plan.nsteps, 4);
    assert_int_equal(cfg.plan.rto_target_ms, 7200000);
    assert_string_equal(cfg.plan.steps[0].action, "postgres.fence");
    assert_int_equal(cfg.plan.steps[0].target, FO_TARGET_FROM);
    assert_true(cfg.plan.steps[0].continue_on_failure);
    /* issue 13 (1): Redis is fenced in every plan, the built-in one too */
    assert_string_equal(cfg.plan.steps[1].action, "redis.fence");
    assert_int_equal(cfg.plan.steps[1].target, FO_TARGET_FROM);
    assert_true(cfg.plan.steps[1].continue_on_failure);
    assert_string_equal(cfg.plan.steps[2].name, "promote-postgres");
    assert_int_equal(cfg.plan.steps[2].target, FO_TARGET_TO);
    assert_false(cfg.plan.steps[2].continue_on_failure);
    assert_string_equal(cfg.plan.steps[3].action, "redis.promote");
    /* the built-in steps take a written step's defaults where they set nothing else */
    for (size_t i = 0; i < cfg.plan.nsteps; i++) {
        assert_int_equal(cfg.plan.steps[i].attempts, 3);
        assert_int_equal(cfg.plan.steps[i].backoff_ms, 2000);
        assert_int_equal(cfg.plan.steps[i].group, 0);
        assert_int_equal(cfg.plan.steps[i].nparams, 0);
        assert_int_equal(cfg.plan.steps[i].line, 0);
    }
    assert_int_equal(cfg.plan.steps[0].timeout_ms, 15000);
    assert_int_equal(cfg.plan.steps[1].timeout_ms, 15000);
    assert_int_equal(cfg.plan.steps[2].timeout_ms, 90000);
    assert_int_equal(cfg.plan.steps[3].timeout_ms, 30000);
    fo_config_free(&cfg);

    /* a written step's defaults; an enum may be quoted */
    text = patch(BASE, LAST,
                 LAST "plan:\n  steps:\n    - {name: a, action: x.y}\n"
                      "    - {name: b, action: x.z, target: 'from', on_failure: \"abort\"}\n");
    assert_int_equal(load_text(text, &cfg, &err), 0);
    free(text);
    assert_int_equal(cfg.plan.rto_target_ms, 7200000);
    st = fo_plan_step_find(&cfg.plan, "a");
    assert_non_null(st);
    assert_int_equal(st->target, FO_TARGET_NONE);
    assert_int_equal(st->timeout_ms, 60000);
    assert_int_equal(st->attempts, 3);
    assert_int_equal(st->backoff_ms, 2000);
    assert_false(st->continue_on_failure);
    assert_int_equal(st->group, 0);
    assert_int_equal(st->nparams, 0);
    st = fo_plan_step_find(&cfg.plan, "b");
    assert_int_equal(st->target, FO_TARGET_FROM);
    assert_false(st->continue_on_failure);
    fo_config_free(&cfg);

    text = patch(BASE, LAST,
                 LAST "plan:\n  rto_target_ms: 600000\n  steps:\n"
                      "    - {name: notify, action: notify.slack, on_failure: continue,\n"
                      "       params: {event: opened, webhook_url_file: /etc/fo/slack}}\n"
                      "    - {name: dns, action: cloudflare.dns, target: to, group: 1,\n"
                      "       timeout_ms: 5000, attempts: 5, backoff_ms: 100}\n");
    assert_int_equal(load_text(text, &cfg, &err), 0);
    free(text);
    assert_int_equal(cfg.plan.rto_target_ms, 600000);
    assert_int_equal(cfg.plan.nsteps, 2);
    st = fo_plan_step_find(&cfg.plan, "notify");
    assert_non_null(st);
    assert_int_equal(st->nparams, 2);
    assert_string_equal(st->params[0].key, "event");
    assert_string_equal(st->params[0].value, "opened");
    assert_string_equal(st->params[1].value, "/etc/fo/slack");
    assert_int_equal(st->line, 54);
    st = fo_plan_step_find(&cfg.plan, "dns");
    assert_int_equal(st->group, 1);
    assert_int_equal(st->timeout_ms, 5000);
    assert_int_equal(st->attempts, 5);
    assert_int_equal(st->backoff_ms, 100);
    assert_null(fo_plan_step_find(&cfg.plan, "nope"));
    fo_config_free(&cfg);
}

static void test_defaults(void **state)
{
    struct fo_config cfg;
    const struct fo_site *s;
    struct fo_error err = {0};
    char *text;
    (void)state;

    load_sample("single-node.yaml", &cfg);
    assert_int_equal(cfg.npeers, 1);
    assert_ptr_equal(cfg.self, &cfg.peers[0]);
    assert_int_equal(cfg.self->id, 7);
    s = fo_config_site(&cfg, "only");
    assert_non_null(s);
    assert_int_equal(s->priority, 100);
    assert_string_equal(s->postgres->host, "/run/postgresql");
    assert_int_equal(s->postgres->port, 5432);
    assert_string_equal(s->postgres->dbname, "postgres");
    assert_string_equal(s->postgres->user, "failoverd");
    assert_null(s->postgres->password_file);
    assert_int_equal(s->redis->port, 6379);
    assert_int_equal(s->nvercel_env, 0);
    assert_null(s->dns_origin);
    assert_int_equal(cfg.raft.election_timeout_ms, 1000);
    assert_int_equal(cfg.raft.heartbeat_ms, 100);
    assert_int_equal(cfg.raft.snapshot_threshold, 512);
    assert_int_equal(cfg.raft.snapshot_trailing, 512);
    assert_int_equal(cfg.raft.connect_retry_ms, 250);
    assert_string_equal(cfg.admin.listen, "127.0.0.1:7401"); /* this peer's admin address */
    assert_null(cfg.admin.read_token_file);
    assert_int_equal(cfg.admin.max_connections, 64);
    assert_int_equal(cfg.admin.request_timeout_ms, 5000);
    /* policy defaults: one voter, so a quorum of 1 */
    assert_true(cfg.decision.automatic);
    assert_int_equal(cfg.decision.quorum, 1);
    /* the shipped fast profile (README "Timing profiles") */
    assert_int_equal(cfg.decision.failover_after_ms, 250);
    assert_int_equal(cfg.decision.max_lag_bytes, 16u * 1024 * 1024);
    assert_int_equal(cfg.decision.max_lag_ms, 3600000);
    assert_int_equal(cfg.decision.cooldown_ms, 600000);
    assert_int_equal(cfg.decision.lease_renew_ms, 100);
    assert_int_equal(cfg.decision.lease_ms, 600);
    assert_int_equal(cfg.decision.fence_budget_ms, 150);
    assert_int_equal(cfg.decision.clock_rate_margin_permille, 20);
    assert_int_equal(cfg.checks.interval_ms, 500);
    assert_int_equal(cfg.checks.timeout_ms, 450);
    assert_int_equal(cfg.checks.down_after_ms, 500);
    assert_int_equal(cfg.checks.up_after_ms, 3000);
    assert_true(cfg.checks.postgres_critical);
    assert_false(cfg.checks.redis_critical);
    assert_int_equal(cfg.checks.nhttp, 0);
    assert_int_equal(cfg.nfeeds, 0);
    assert_null(cfg.health.listen);
    assert_int_equal(cfg.health.max_connections, 64);
    assert_null(cfg.http.listen); /* no http section: no HTTP listener */
    assert_string_equal(cfg.alertmanager.region_label, "region");
    assert_string_equal(cfg.alertmanager.component_label, "component");
    assert_string_equal(cfg.alertmanager.observer, "alertmanager");
    fo_config_free(&cfg);

    /* a component written without critical keeps its default; one with it, the value */
    text = patch(BASE, LAST, LAST "checks: {postgres: {}, redis: {critical: true}}\n");
    assert_int_equal(load_text(text, &cfg, &err), 0);
    free(text);
    assert_true(cfg.checks.postgres_critical);
    assert_true(cfg.checks.redis_critical);
    assert_int_equal(cfg.checks.interval_ms, 500);
    fo_config_free(&cfg);
}

/* http: local, optional; an empty section listens on loopback with the defaults. */
static void test_http(void **state)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    char *text = patch(BASE, LAST, LAST "http: {plain_text: true}\n");
    (void)state;

    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_string_equal(cfg.http.listen, "127.0.0.1:7601");
    assert_int_equal(cfg.http.max_connections, 64);
    assert_int_equal(cfg.http.timeout_ms, 5000);
    fo_config_free(&cfg);
    free(text);
    text = patch(BASE, LAST,
                 LAST "http: {listen: 0.0.0.0:8080, max_connections: 3, timeout_ms: 1500, "
                      "tls_cert: /etc/c.pem, tls_key: /etc/k.pem}\n");
    assert_int_equal(load_text(text, &cfg, &err), 0);
    assert_string_equal(cfg.http.listen, "0.0.0.0:8080");
    assert_int_equal(cfg.http.max_connections, 3);
    assert_int_equal(cfg.http.timeout_ms, 1500);
    fo_config_free(&cfg);
    free(text);
}

static void test_lookups(void **state)
{
    struct fo_config cfg;
    (void)state;

    load_sample("three-regions.yaml", &cfg);
    assert_ptr_equal(fo_config_site(&cfg, "dr"), &cfg.sites[1]);
    assert_null(fo_config_site(&cfg, "nope"));
    assert_null(fo_config_site(&cfg, NULL));
    assert_ptr_equal(fo_config_peer_by_id(&cfg, 3), &cfg.peers[2]);
    assert_null(fo_config_peer_by_id(&cfg, 4));
    assert_null(fo_config_peer_by_id(&cfg, 0));
    assert_ptr_equal(fo_config_peer_by_name(&cfg, "us-west-2"), &cfg.peers[1]);
    assert_null(fo_config_peer_by_name(&cfg, "us-west-3"));
    assert_null(fo_config_peer_by_name(&cfg, NULL));
    fo_config_free(&cfg);
}

/* ---- digest ---------------------------------------------------------------------- */

/* three-regions.yaml's digest. It changes only when the canonical serialization or the
 * sample changes; a new serialization must go with every node upgrading together, since
 * until then the nodes report each other as diverging. (v2 added the policy sections; v3
 * replaced the self-fence timings by the write lease's.) */
#define THREE_REGIONS_DIGEST "063705b9f30ea2b048ff096ff5730b8912f2deb1d1ff92f403d37965d1d2a40c"

static void digest_of(const char *text, char out[65])
{
    struct fo_config cfg;
    struct fo_error err = {0};

    if (load_text(text, &cfg, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    memcpy(out, cfg.digest, 65);
    fo_config_free(&cfg);
}

static void test_digest_same_settings(void **state)
{
    struct fo_config a, b;
    (void)state;

    /* Another node's file: node-local settings, formatting, key and list order differ. */
    load_sample("three-regions.yaml", &a);
    load_sample("us-west-2.yaml", &b);
    assert_string_equal(b.self->name, "us-west-2");
    assert_string_not_equal(a.data_dir, b.data_dir);
    assert_string_not_equal(a.admin.token_file, b.admin.token_file);
    assert_int_not_equal(a.raft.heartbeat_ms, b.raft.heartbeat_ms);
    assert_string_equal(a.digest, b.digest);
    assert_string_equal(a.digest, THREE_REGIONS_DIGEST);
    fo_config_free(&a);
    fo_config_free(&b);
}

/* Edits of BASE that keep the digest (local settings, defaults written out, other
 * spellings of the same value) and edits that change it. Peer and site order are
 * covered by us-west-2.yaml above. */
struct digest_edit {
    const char *from, *to;
};

static const struct digest_edit same_digest[] = {
    {"  name: us-east-1\n", "  name: eu-west-1\n"},
    {"  data_dir: /var/lib/failoverd\n", "  data_dir: /srv/fo\n"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 10\n  snapshot_threshold: 64\n"},
    {LAST, LAST "  listen: 127.0.0.1:9000\n  max_connections: 3\n"},
    {"  token_file: /etc/failoverd/admin.token\n", "  token_file: /root/t\n"},
    {"pg-main.password", "other-path"},
    {"{file: /etc/failoverd/db-url-main}", "{file: /run/db-url}"},
    {"      port: 5432\n", ""}, /* the default, written or not */
    {"{region: us-west-2, host: 10.0.2.30, port: 6379}", "{region: us-west-2, host: 10.0.2.30}"},
    {"REDIS_HOST: 10.0.1.30", "REDIS_HOST: {value: '10.0.1.30'}"},
    {"regions: [us-east-1, us-west-2, eu-west-1]", "regions: [eu-west-1, us-east-1, us-west-2]"},
};

static const struct digest_edit other_digest[] = {
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.11:7301"},
    {"admin: 10.0.2.10:7401", "admin: 10.0.2.10:7402"},
    {"    id: 2\n", "    id: 4\n"},
    {"cluster: bmf001-prod", "cluster: bmf001-staging"},
    {"initial_primary: main", "initial_primary: dr"},
    {"    priority: 2\n", "    priority: 3\n"},
    {"REDIS_HOST: 10.0.1.30", "REDIS_HOST: 10.0.1.31"},
    {"REDIS_HOST: 10.0.1.30", "REDIS_HOST: {file: /etc/redis-host}"},
    {"      password_file: /etc/failoverd/pg-main.password\n", ""},
    {"    dns_origin: 203.0.113.10\n", ""},
    {"dbname: app, user", "dbname: app2, user"},
    {"port: 6379}", "port: 6380}"},
    {"      region: us-east-1\n      host: 10.0.1.30\n",
     "      region: us-west-2\n      host: 10.0.1.30\n"},
};

static void test_digest_local_settings(void **state)
{
    char want[65], got[65];
    (void)state;

    digest_of(BASE, want);
    for (size_t i = 0; i < sizeof(same_digest) / sizeof(same_digest[0]); i++) {
        char *text = patch(BASE, same_digest[i].from, same_digest[i].to);
        digest_of(text, got);
        if (strcmp(got, want) != 0) {
            print_error("same_digest[%zu]: the digest changed\n", i);
            fail();
        }
        free(text);
    }
}

static void test_digest_replicated_settings(void **state)
{
    char base[65], got[65];
    (void)state;

    digest_of(BASE, base);
    for (size_t i = 0; i < sizeof(other_digest) / sizeof(other_digest[0]); i++) {
        char *text = patch(BASE, other_digest[i].from, other_digest[i].to);
        digest_of(text, got);
        if (strcmp(got, base) == 0) {
            print_error("other_digest[%zu]: the digest did not change\n", i);
            fail();
        }
        free(text);
    }
}

/* The policy sections: pairs of additions to BASE whose digests must be equal (local
 * settings, defaults written out, set order) or differ (replicated policy). */
static const struct digest_pair {
    const char *a, *b;
    bool same;
} policy_pairs[] = {
    /* plan: names, actions, targets, attempts, on_failure, groups are replicated;
     * timeouts, backoff and params are local */
    {"plan: {steps: [{name: a, action: postgres.promote, target: to}]}\n",
     "plan: {steps: [{name: a, action: postgres.promote, target: to, timeout_ms: 5000, "
     "backoff_ms: 10, params: {x: y}}]}\n",
     true},
    {"plan: {steps: [{name: a, action: postgres.promote}]}\n",
     "plan: {steps: [{name: b, action: postgres.promote}]}\n", false},
    {"plan: {steps: [{name: a, action: x.y, attempts: 2}]}\n",
     "plan: {steps: [{name: a, action: x.y, attempts: 3}]}\n", false},
    {"plan: {steps: [{name: a, action: x.y}]}\n",
     "plan: {steps: [{name: a, action: x.y, on_failure: continue}]}\n", false},
    {"", "plan: {steps: [{name: a, action: x.y}]}\n", false},
    {"",
     "decision: {auto: true, quorum: 2, failover_after_ms: 250, max_lag_bytes: 16777216, "
     "max_lag_ms: 3600000, cooldown_ms: 600000, lease_renew_ms: 100, lease_ms: 600, "
     "fence_budget_ms: 150, clock_rate_margin_permille: 20}\n",
     true},
    {"",
     "checks: {interval_ms: 500, timeout_ms: 450, down_after_ms: 500, up_after_ms: 3000, "
     "postgres: {critical: true}, redis: {critical: false}}\n",
     true},
    {"", "health: {listen: 127.0.0.1:7501, max_connections: 3}\n", true},
    {"", "http: {listen: 127.0.0.1:7601, max_connections: 3, timeout_ms: 2000, plain_text: true}\n",
     true},
    {"", "http: {tls_cert: /c, tls_key: /k}\n", true},
    {"", "tls: {ca: /c, cert: /n.crt, key: /n.key}\n", true}, /* "": TLSOFF (below) */
    {"", "tls: {mode: off, crl: /crl.pem}\n", true},
    {"", "checks: {http: [{name: w, region: us-east-1, url: 'http://a'}]}\n", true},
    {"checks: {http: [{name: w, region: us-east-1, url: 'http://a', critical: true}]}\n",
     "checks: {http: [{name: w, region: us-east-1, url: 'https://b/x', critical: true, "
     "timeout_ms: 5, expect_status: 204}]}\n",
     true},
    {"feeds: [{name: dd, token_file: /a}]\n",
     "feeds: [{name: dd, token_file: /b, count_in_quorum: false}]\n", true},
    {"feeds: [{name: a, token_file: /a}, {name: b, token_file: /b}]\n",
     "feeds: [{name: b, token_file: /b}, {name: a, token_file: /a}]\n", true},
    {"feeds: [{name: alertmanager, token_file: /a}]\n",
     "feeds: [{name: alertmanager, token_file: /a}]\n"
     "alertmanager: {region_label: region, component_label: component}\n",
     true},
    {"", "decision: {auto: false}\n", false},
    {"", "decision: {quorum: 3}\n", false},
    {"", "decision: {failover_after_ms: 40000}\n", false},
    {"", "decision: {max_lag_bytes: 1}\n", false},
    {"", "decision: {max_lag_ms: 1}\n", false},
    {"", "decision: {cooldown_ms: 1}\n", false},
    {"", "decision: {lease_ms: 800}\n", false},
    {"", "decision: {lease_renew_ms: 50}\n", false},
    {"", "decision: {fence_budget_ms: 100}\n", false},
    {"", "decision: {clock_rate_margin_permille: 10}\n", false},
    {"", "checks: {postgres: {critical: false}}\n", false},
    {"", "checks: {redis: {critical: true}}\n", false},
    {"", "checks: {http: [{name: w, region: us-east-1, url: 'http://a', critical: true}]}\n",
     false},
    {"checks: {http: [{name: w, region: us-east-1, url: 'http://a', critical: true}]}\n",
     "checks: {http: [{name: w, region: us-west-2, url: 'http://a', critical: true}]}\n", false},
    {"", "feeds: [{name: dd, token_file: /a}]\n", false},
    {"feeds: [{name: dd, token_file: /a}]\n",
     "feeds: [{name: dd, token_file: /a, count_in_quorum: true}]\n", false},
    {"feeds: [{name: dd, token_file: /a}]\n", "feeds: [{name: dx, token_file: /a}]\n", false},
    {"feeds: [{name: am, token_file: /a}]\nalertmanager: {observer: am}\n",
     "feeds: [{name: am, token_file: /a}]\nalertmanager: {observer: am, region_label: zone}\n",
     false},
};

static void test_digest_policy(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(policy_pairs) / sizeof(policy_pairs[0]); i++) {
        const struct digest_pair *p = &policy_pairs[i];
        /* A side without its own tls section gets the base's (TLSOFF). */
        const char *tla = strstr(p->a, "tls:") != NULL ? "" : TLSOFF;
        const char *tlb = strstr(p->b, "tls:") != NULL ? "" : TLSOFF;
        char *ta = malloc(strlen(NOTLS) + strlen(p->a) + strlen(tla) + 1);
        char *tb = malloc(strlen(NOTLS) + strlen(p->b) + strlen(tlb) + 1);
        char da[65], db[65];

        assert_non_null(ta);
        assert_non_null(tb);
        strcat(strcat(strcpy(ta, NOTLS), p->a), tla);
        strcat(strcat(strcpy(tb, NOTLS), p->b), tlb);
        digest_of(ta, da);
        digest_of(tb, db);
        if ((strcmp(da, db) == 0) != p->same) {
            print_error("policy_pairs[%zu]: the digest %s\n", i,
                        p->same ? "changed" : "did not change");
            fail();
        }
        free(ta);
        free(tb);
    }
}

/* ---- errors ---------------------------------------------------------------------- */

/* A name of 64 bytes (the most allowed), one of 65, and how messages quote the latter. */
#define NAME64   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define NAME65   NAME64 "x"
#define QUOTED65 "'0123456789abcdef0123456789abcdef01234567...'"

/* from == NULL: to is the whole file. */
static const struct error_row {
    const char *from, *to;
    int code;
    const char *want;
} error_rows[] = {
    /* the document */
    {NULL, "", FO_CONFIG_EINVALID, "node.yaml:1: the file holds no settings"},
    {NULL, "# only a comment\n", FO_CONFIG_EINVALID, "node.yaml:1: the file holds no settings"},
    {NULL, "cluster: [a, b\nnode: x\n", FO_CONFIG_ESYNTAX,
     "node.yaml:2: YAML syntax error: did not find expected ',' or ']'"},
    {NULL, "cluster: a\n\xff\n", FO_CONFIG_ESYNTAX, "node.yaml:2: YAML syntax error: invalid"},
    {NULL, "cluster: *nope\n", FO_CONFIG_ESYNTAX,
     "node.yaml:1: YAML syntax error: found undefined alias"},
    {LAST, LAST "---\ncluster: x\n", FO_CONFIG_EINVALID,
     "node.yaml:52: a second YAML document is not allowed"},
    {LAST, LAST "---\n[a\n", FO_CONFIG_ESYNTAX, "node.yaml:53: YAML syntax error: "},
    {NULL, "- a\n", FO_CONFIG_EINVALID, "node.yaml:1: expected a map, found a list"},
    {NULL, "!!map {}\n", FO_CONFIG_EINVALID, "node.yaml:1: cluster: missing (required)"},
    {NULL, "!foo {}\n", FO_CONFIG_EINVALID, "node.yaml:1: explicit tag '!foo' is not supported"},
    {"cluster: bmf001-prod\n", "? [a]\n: b\n", FO_CONFIG_EINVALID,
     "node.yaml:1: expected a scalar, found a list"},
    /* top level */
    {LAST, LAST "clustre: x\n", FO_CONFIG_EINVALID,
     "node.yaml:51: clustre: unknown key (expected one of: cluster, node, peers, regions, sites, "
     "raft, admin, initial_primary, decision, checks, feeds, health, alertmanager, plan, http, "
     "tls)"},
    /* tls */
    {TLSOFF, "tls: {mode: maybe}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: tls.mode: 'maybe' is not on or off"},
    {TLSOFF, "tls: {ca: /c, key: /k}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: tls.cert: required with tls mode on (deploy/make-certs"},
    {TLSOFF, "tls: {mode: on, cert: /c, key: /k}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: tls.ca: required with tls mode on"},
    {TLSOFF, "tls: {}\n", FO_CONFIG_EINVALID, "node.yaml:51: tls.ca: required with tls mode on"},
    {TLSOFF, "tls: {mode: off, kee: /k}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: tls.kee: unknown key (expected one of: mode, ca, cert, key, crl)"},
    {TLSOFF, "", FO_CONFIG_EINVALID,
     "node.yaml:1: tls: missing (required): 'tls: {ca: F, cert: F, key: F}' for mutual TLS "
     "(deploy/make-certs creates the files), or 'tls: {mode: off}' to run Raft and admin "
     "traffic in plain text"},
    /* plan */
    {LAST, LAST "plan: {steps: []}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps: 1 to 64 steps"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, target: there}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].target: 'there' is not none, from or to"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, on_failure: maybe}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].on_failure: 'maybe' is not abort or continue"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, target: [to]}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].target: expected a scalar, found a list"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, target: ~}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].target: has no value"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, params: {k: 1, k: 2}}]}\n",
     FO_CONFIG_EINVALID, "node.yaml:51: plan.steps[0].params.k: duplicate parameter"},
    {LAST, LAST "plan: {steps: [{name: a, action: " NAME65 "}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].action: is longer than 64 bytes"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y}], steps: []}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps: duplicate key (first on line 51)"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y}, {name: a, action: x.z}]}\n",
     FO_CONFIG_EINVALID, "node.yaml:51: plan.steps[1]: step name 'a' is used twice"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, attempts: 0}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].attempts: '0' is out of range (1 to 100)"},
    {LAST, LAST "plan: {steps: [{name: a}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].action: missing (required)"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, params: [1]}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].params: expected a map, found a list"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, params: {'a b': 1}}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].params.a b: a parameter name is [A-Za-z0-9._-]{1,96}"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y, retries: 1}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.steps[0].retries: unknown key (expected one of: name, action, target, "
     "timeout_ms, attempts, backoff_ms, on_failure, group, params)"},
    {LAST, LAST "plan: {steps: [{name: a, action: x.y}], rto_target_ms: 1}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: plan.rto_target_ms: '1' is out of range (1000 to 2592000000)"},
    {LAST, LAST "cluster: other\n", FO_CONFIG_EINVALID,
     "node.yaml:51: cluster: duplicate key (first on line 1)"},
    {"cluster: bmf001-prod\n", "", FO_CONFIG_EINVALID, "node.yaml:1: cluster: missing (required)"},
    {TAIL, "", FO_CONFIG_EINVALID, "node.yaml:1: admin: missing (required)"},
    {"cluster: bmf001-prod", "cluster: {a: b}", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: expected a scalar, found a map"},
    {"cluster: bmf001-prod", "cluster:", FO_CONFIG_EINVALID, "node.yaml:1: cluster: has no value"},
    {"cluster: bmf001-prod", "cluster: ~", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: has no value"},
    {"cluster: bmf001-prod", "cluster: ''", FO_CONFIG_EINVALID, "node.yaml:1: cluster: is empty"},
    {"cluster: bmf001-prod", "cluster: " NAME65, FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: " QUOTED65 " is longer than 64 bytes"},
    {"cluster: bmf001-prod", "cluster: bmf 001", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: 'bmf 001': a name may only hold letters, digits, '.', '_', '-'"},
    {"cluster: bmf001-prod", "cluster: \"bmf\\x01\"", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: contains a control character"},
    {"cluster: bmf001-prod", "cluster: \"bmf\\0\"", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: contains a control character"},
    {"cluster: bmf001-prod", "cluster: !!binary Ym1m", FO_CONFIG_EINVALID,
     "node.yaml:1: cluster: explicit tag 'tag:yaml.org,2002:binary' is not supported"},
    /* regions */
    {"regions: [us-east-1, us-west-2, eu-west-1]", "regions: us-east-1", FO_CONFIG_EINVALID,
     "node.yaml:21: regions: expected a list, found a scalar"},
    {"regions: [us-east-1, us-west-2, eu-west-1]", "regions: []", FO_CONFIG_EINVALID,
     "node.yaml:21: regions: 0 regions: expected 1 to 32"},
    {"eu-west-1]", "eu-west-1, us-west-2]", FO_CONFIG_EINVALID,
     "node.yaml:21: regions[3]: 'us-west-2' is listed twice (as regions[1] too)"},
    {"eu-west-1]", "eu-west-1, 'a b']", FO_CONFIG_EINVALID,
     "node.yaml:21: regions[3]: 'a b': a name may only hold"},
    {"eu-west-1]", "eu-west-1, [x]]", FO_CONFIG_EINVALID,
     "node.yaml:21: regions[3]: expected a scalar, found a list"},
    /* peers: the list */
    {PEERS, "peers: {}\n", FO_CONFIG_EINVALID, "node.yaml:5: peers: expected a list, found a map"},
    {PEERS, "peers: []\n", FO_CONFIG_EINVALID,
     "node.yaml:5: peers: no peers: at least one voter is needed"},
    {PEER3, "  - eu-west-1\n", FO_CONFIG_EINVALID,
     "node.yaml:16: peers[2]: expected a map, found a scalar"},
    {PEERS, "peers: &p [*p]\n", FO_CONFIG_EINVALID,
     "node.yaml:5: peers[0]: expected a map, found a list"},
    /* peers: each peer */
    {"    id: 2\n", "    id: 2\n    weight: 5\n", FO_CONFIG_EINVALID,
     "node.yaml:13: peers[1].weight: unknown key (expected one of: name, id, region, raft, admin)"},
    {"    id: 2\n", "    id: 2\n    id: 4\n", FO_CONFIG_EINVALID,
     "node.yaml:13: peers[1].id: duplicate key (first on line 12)"},
    {"    raft: 10.0.2.10:7301\n", "", FO_CONFIG_EINVALID,
     "node.yaml:11: peers[1].raft: missing (required)"},
    {"  - name: us-west-2\n", "  - name: " NAME65 "\n", FO_CONFIG_EINVALID,
     "node.yaml:11: peers[1].name: " QUOTED65 " is longer than 64 bytes"},
    {"  - name: us-west-2\n", "  - name: ''\n", FO_CONFIG_EINVALID,
     "node.yaml:11: peers[1].name: is empty"},
    {"    id: 2\n", "    id: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '0' is out of range (1 to 18446744073709551615)"},
    {"    id: 2\n", "    id: -1\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '-1' is not a decimal number"},
    {"    id: 2\n", "    id: +2\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '+2' is not a decimal number"},
    {"    id: 2\n", "    id: 2.0\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '2.0' is not a decimal number"},
    {"    id: 2\n", "    id: 0x2\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '0x2' is not a decimal number"},
    {"    id: 2\n", "    id: 02\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '02' has a leading zero (octal is not supported)"},
    {"    id: 2\n", "    id: 18446744073709551616\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: '18446744073709551616' is out of range (1 to "
     "18446744073709551615)"},
    {"    id: 2\n", "    id: '2'\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: expected a number, found a quoted string"},
    {"    id: 2\n", "    id: !!int 2\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: explicit tag 'tag:yaml.org,2002:int' is not supported"},
    {"    id: 2\n", "    id: [2]\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: expected a scalar, found a list"},
    {"    id: 2\n", "    id:\n", FO_CONFIG_EINVALID, "peers[1].id: has no value"},
    {"    region: us-west-2\n", "    region: ap-south-1\n", FO_CONFIG_EINVALID,
     "node.yaml:13: peers[1].region: 'ap-south-1' is not listed in regions"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.10", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.10' is not an IPv4 address with a port (libraft 0.15 "
     "needs a.b.c.d:port)"},
    {"raft: 10.0.2.10:7301", "raft: node2:7301", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: 'node2:7301' is not an IPv4 address with a port"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2:7301", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2:7301' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.256:7301", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.256:7301' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: '10.0.2.10:'", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.10:' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.10:0", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.10:0' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.10:65536", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.10:65536' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.2.10:07301", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.2.10:07301' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: '[::1]:7301'", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '[::1]:7301' is not an IPv4"},
    {"raft: 10.0.2.10:7301", "raft: 100.100.100.100:7301", FO_CONFIG_OK, ""}, /* 21 bytes: ok */
    {"raft: 10.0.2.10:7301", "raft: 100.100.100.100:73011", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '100.100.100.100:73011' is not an IPv4"},
    {"admin: 10.0.2.10:7401", "admin: localhost:7401", FO_CONFIG_EINVALID,
     "node.yaml:15: peers[1].admin: 'localhost:7401' is not an IPv4 address with a port (clients "
     "dial a.b.c.d:port)"},
    {"  - name: us-west-2\n", "  - name: us-east-1\n", FO_CONFIG_EINVALID,
     "node.yaml:11: peers[1].name: 'us-east-1' is also peers[0]'s name"},
    {"    id: 2\n", "    id: 1\n", FO_CONFIG_EINVALID,
     "node.yaml:12: peers[1].id: 1 is also peers[0]'s id"},
    {"raft: 10.0.2.10:7301", "raft: 10.0.1.10:7301", FO_CONFIG_EINVALID,
     "node.yaml:14: peers[1].raft: '10.0.1.10:7301' is also peers[0]'s raft"},
    {"admin: 10.0.2.10:7401", "admin: 10.0.1.10:7401", FO_CONFIG_EINVALID,
     "node.yaml:15: peers[1].admin: '10.0.1.10:7401' is also peers[0]'s admin"},
    /* node */
    {"node:\n  name: us-east-1\n  data_dir: /var/lib/failoverd\n", "node: us-east-1\n",
     FO_CONFIG_EINVALID, "node.yaml:2: node: expected a map, found a scalar"},
    {"  name: us-east-1\n", "  name: ap-south-1\n", FO_CONFIG_EINVALID,
     "node.yaml:3: node.name: 'ap-south-1' is not the name of any peer"},
    {"  data_dir: /var/lib/failoverd\n", "", FO_CONFIG_EINVALID,
     "node.yaml:3: node.data_dir: missing (required)"},
    {"  data_dir: /var/lib/failoverd\n", "  data_dir: /var/lib/failoverd\n  dir: x\n",
     FO_CONFIG_EINVALID, "node.yaml:5: node.dir: unknown key (expected one of: name, data_dir)"},
    {"  data_dir: /var/lib/failoverd\n", "  data_dir: \"/var/\\tlib\"\n", FO_CONFIG_EINVALID,
     "node.yaml:4: node.data_dir: contains a control character"},
    /* sites */
    {SITES, "sites: {}\n", FO_CONFIG_EINVALID, "node.yaml:23: sites: 0 sites: expected 1 to 64"},
    {SITES, "sites: [main]\n", FO_CONFIG_EINVALID,
     "node.yaml:23: sites: expected a map, found a list"},
    {"  dr:\n", "  main:\n", FO_CONFIG_EINVALID, "node.yaml:41: sites.main: duplicate key"},
    {"  dr:\n", "  'd r':\n", FO_CONFIG_EINVALID,
     "node.yaml:41: sites: 'd r': a name may only hold"},
    {"  dr:\n", "  ? [dr]\n  :\n", FO_CONFIG_EINVALID,
     "node.yaml:41: sites: expected a scalar, found a list"},
    {DR, "  dr: [a]\n", FO_CONFIG_EINVALID, "node.yaml:41: sites.dr: expected a map, found a list"},
    {"    priority: 2\n", "    priority: 2\n    weight: 1\n", FO_CONFIG_EINVALID,
     "node.yaml:43: sites.dr.weight: unknown key (expected one of: priority, postgres, redis, "
     "vercel_env, dns_origin)"},
    {"    priority: 2\n", "    priority: -1\n", FO_CONFIG_EINVALID,
     "node.yaml:42: sites.dr.priority: '-1' is not a decimal number"},
    {"    priority: 2\n", "    priority: 4294967296\n", FO_CONFIG_EINVALID,
     "node.yaml:42: sites.dr.priority: '4294967296' is out of range (0 to 4294967295)"},
    {"    dns_origin: 203.0.113.10\n", "    dns_origin: 'a b'\n", FO_CONFIG_EINVALID,
     "node.yaml:40: sites.main.dns_origin: 'a b' is not a host: it contains a space"},
    /* sites: postgres and redis */
    {"postgres: {region: eu-west-1, host: 10.0.3.20, port: 5432, dbname: app, user: failoverd}",
     "postgres: [eu-west-1]", FO_CONFIG_EINVALID,
     "node.yaml:43: sites.dr.postgres: expected a map, found a list"},
    {"{region: eu-west-1,", "{region: ap-south-1,", FO_CONFIG_EINVALID,
     "node.yaml:43: sites.dr.postgres.region: 'ap-south-1' is not listed in regions"},
    {"{region: us-west-2,", "{region: mars-1,", FO_CONFIG_EINVALID,
     "node.yaml:44: sites.dr.redis.region: 'mars-1' is not listed in regions"},
    {"host: 10.0.3.20, ", "", FO_CONFIG_EINVALID,
     "node.yaml:43: sites.dr.postgres.host: missing (required)"},
    {"host: 10.0.2.30, ", "", FO_CONFIG_EINVALID,
     "node.yaml:44: sites.dr.redis.host: missing (required)"},
    {"      port: 5432\n", "      port: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:29: sites.main.postgres.port: '0' is out of range (1 to 65535)"},
    {"      port: 6379\n", "      port: 70000\n", FO_CONFIG_EINVALID,
     "node.yaml:36: sites.main.redis.port: '70000' is out of range (1 to 65535)"},
    {"      host: 10.0.1.20\n", "      host: 'db host'\n", FO_CONFIG_EINVALID,
     "node.yaml:28: sites.main.postgres.host: 'db host' is not a host: it contains a space"},
    /* Postgres TLS (issue 14): libpq's keywords, sslmode one of libpq's modes */
    {"      user: failoverd\n",
     "      user: failoverd\n      sslmode: verify-full\n      sslrootcert: /etc/ca.pem\n"
     "      sslcert: /etc/c.pem\n      sslkey: /etc/k.pem\n",
     FO_CONFIG_OK, ""},
    {"      user: failoverd\n", "      user: failoverd\n      sslmode: sometimes\n",
     FO_CONFIG_EINVALID,
     "node.yaml:32: sites.main.postgres.sslmode: 'sometimes' is not one of disable, allow, prefer, "
     "require, verify-ca, verify-full"},
    {"      user: failoverd\n", "      user: failoverd\n      sslrootcert: ''\n",
     FO_CONFIG_EINVALID, "node.yaml:32: sites.main.postgres.sslrootcert: is empty"},
    {"      user: failoverd\n", "      user: failoverd\n      sslcrl: /x\n", FO_CONFIG_EINVALID,
     "node.yaml:32: sites.main.postgres.sslcrl: unknown key (expected one of: region, host, port, "
     "dbname, user, password_file, sslmode, sslrootcert, sslcert, sslkey, rejoin_command)"},
    {"      port: 6379\n", "      port: 6379\n      db: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:37: sites.main.redis.db: unknown key (expected one of: region, host, port, "
     "password_file)"},
    {"      port: 6379\n", "      port: 6379\n      password_file: ''\n", FO_CONFIG_EINVALID,
     "node.yaml:37: sites.main.redis.password_file: is empty"},
    {"      port: 6379\n", "      port: 6379\n      password: hunter2\n", FO_CONFIG_EINVALID,
     "node.yaml:37: sites.main.redis.password: unknown key"},
    {"password_file: /etc/failoverd/pg-main.password", "password_file: ''", FO_CONFIG_EINVALID,
     "node.yaml:32: sites.main.postgres.password_file: is empty"},
    {"      dbname: app\n", "      dbname: 'a;b'\n", FO_CONFIG_EINVALID,
     "node.yaml:30: sites.main.postgres.dbname: 'a;b': a name may only hold"},
    {"      user: failoverd\n", "      user: ~\n", FO_CONFIG_EINVALID,
     "node.yaml:31: sites.main.postgres.user: has no value"},
    /* sites: vercel_env */
    {ENV, "    vercel_env: [a]\n", FO_CONFIG_EINVALID,
     "node.yaml:37: sites.main.vercel_env: expected a map, found a list"},
    {"{file: /etc/failoverd/db-url-main}", "{file: /etc/failoverd/db-url-main, value: x}",
     FO_CONFIG_EINVALID,
     "node.yaml:38: sites.main.vercel_env.DATABASE_URL: needs exactly one of value or file "
     "(found both)"},
    {"{file: /etc/failoverd/db-url-main}", "{}", FO_CONFIG_EINVALID,
     "node.yaml:38: sites.main.vercel_env.DATABASE_URL: needs exactly one of value or file "
     "(found neither)"},
    {"{file: /etc/failoverd/db-url-main}", "{path: /x}", FO_CONFIG_EINVALID,
     "node.yaml:38: sites.main.vercel_env.DATABASE_URL.path: unknown key (expected one of: value, "
     "file)"},
    {"{file: /etc/failoverd/db-url-main}", "{file: ~}", FO_CONFIG_EINVALID,
     "node.yaml:38: sites.main.vercel_env.DATABASE_URL.file: has no value"},
    {"{file: /etc/failoverd/db-url-main}", "{value: ''}", FO_CONFIG_EINVALID,
     "node.yaml:38: sites.main.vercel_env.DATABASE_URL.value: is empty"},
    {"REDIS_HOST: 10.0.1.30", "REDIS_HOST: [a]", FO_CONFIG_EINVALID,
     "node.yaml:39: sites.main.vercel_env.REDIS_HOST: expected a value or a map {file: PATH}, "
     "found a list"},
    {"REDIS_HOST: 10.0.1.30", "REDIS_HOST:", FO_CONFIG_EINVALID,
     "node.yaml:39: sites.main.vercel_env.REDIS_HOST: has no value"},
    {"REDIS_HOST: 10.0.1.30", "REDIS-HOST: 10.0.1.30", FO_CONFIG_EINVALID,
     "node.yaml:39: sites.main.vercel_env.REDIS-HOST: not a variable name"},
    {"REDIS_HOST: 10.0.1.30", "1REDIS: 10.0.1.30", FO_CONFIG_EINVALID,
     "node.yaml:39: sites.main.vercel_env.1REDIS: not a variable name"},
    {"REDIS_HOST: 10.0.1.30", "? [A]\n      : 10.0.1.30", FO_CONFIG_EINVALID,
     "node.yaml:39: sites.main.vercel_env: expected a scalar, found a list"},
    {"REDIS_HOST: 10.0.1.30\n", "REDIS_HOST: 10.0.1.30\n      REDIS_HOST: x\n", FO_CONFIG_EINVALID,
     "node.yaml:40: sites.main.vercel_env.REDIS_HOST: duplicate key"},
    /* initial_primary */
    {"initial_primary: main", "initial_primary: backup", FO_CONFIG_EINVALID,
     "node.yaml:22: initial_primary: 'backup' is not one of sites"},
    {"initial_primary: main", "initial_primary: ''", FO_CONFIG_EINVALID,
     "node.yaml:22: initial_primary: is empty"},
    /* raft */
    {"raft:\n  election_timeout_ms: 1000\n  heartbeat_ms: 100\n", "raft: fast\n",
     FO_CONFIG_EINVALID, "node.yaml:45: raft: expected a map, found a scalar"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 100\n  heartbeat: 5\n", FO_CONFIG_EINVALID,
     "node.yaml:48: raft.heartbeat: unknown key (expected one of: election_timeout_ms, "
     "heartbeat_ms, snapshot_threshold, snapshot_trailing, connect_retry_ms, leader_off_primary)"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 1000\n", FO_CONFIG_EINVALID,
     "node.yaml:47: raft.heartbeat_ms: heartbeat_ms (1000) must be below election_timeout_ms "
     "(1000)"},
    {"  election_timeout_ms: 1000\n  heartbeat_ms: 100\n", "  election_timeout_ms: 100\n",
     FO_CONFIG_EINVALID,
     "node.yaml:46: raft.election_timeout_ms: heartbeat_ms (100) must be below "
     "election_timeout_ms (100)"},
    {"  election_timeout_ms: 1000\n", "  election_timeout_ms: 99\n", FO_CONFIG_EINVALID,
     "node.yaml:46: raft.election_timeout_ms: '99' is out of range (100 to 600000)"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:47: raft.heartbeat_ms: '0' is out of range (1 to 600000)"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 100\n  snapshot_threshold: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:48: raft.snapshot_threshold: '0' is out of range (1 to "},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 100\n  snapshot_trailing: 4294967296\n",
     FO_CONFIG_EINVALID, "node.yaml:48: raft.snapshot_trailing: '4294967296' is out of range"},
    {"  heartbeat_ms: 100\n", "  heartbeat_ms: 100\n  connect_retry_ms: 600001\n",
     FO_CONFIG_EINVALID, "node.yaml:48: raft.connect_retry_ms: '600001' is out of range"},
    /* admin */
    {"  token_file: /etc/failoverd/admin.token\n", "", FO_CONFIG_EINVALID,
     "node.yaml:49: admin.token_file: missing (required)"},
    {"  token_file: /etc/failoverd/admin.token\n", "  token_file: ''\n", FO_CONFIG_EINVALID,
     "node.yaml:49: admin.token_file: is empty"},
    {LAST, LAST "  token: s3cret\n", FO_CONFIG_EINVALID, "node.yaml:51: admin.token: unknown key"},
    {LAST, LAST "  listen: localhost:7401\n", FO_CONFIG_EINVALID,
     "node.yaml:51: admin.listen: 'localhost:7401' is not an IPv4 address with a port (the admin "
     "server listens on a.b.c.d:port)"},
    {LAST, "  read_token_file: ''\n", FO_CONFIG_EINVALID,
     "node.yaml:50: admin.read_token_file: is empty"},
    {LAST, LAST "  max_connections: 0\n", FO_CONFIG_EINVALID,
     "node.yaml:51: admin.max_connections: '0' is out of range (1 to 65536)"},
    {LAST, LAST "  request_timeout_ms: 5s\n", FO_CONFIG_EINVALID,
     "node.yaml:51: admin.request_timeout_ms: '5s' is not a decimal number"},
    {"admin:\n  token_file: /etc/failoverd/admin.token\n" LAST, "admin: []\n", FO_CONFIG_EINVALID,
     "node.yaml:48: admin: expected a map, found a list"},
    /* decision */
    /* the self-fence's keys are gone: refused, naming what replaced them */
    {LAST, LAST "decision: {failover_after_ms: 8000, self_fence_after_ms: 3000}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:51: decision.self_fence_after_ms: no longer exists: write leases replaced the "
     "self-fence (see decision.lease_ms, lease_renew_ms, fence_budget_ms and "
     "clock_rate_margin_permille); remove it"},
    {LAST, LAST "decision:\n  auto: true\n  clock_margin_ms: 20000\n", FO_CONFIG_EINVALID,
     "node.yaml:53: decision.clock_margin_ms: no longer exists"},
    /* the lease: two renewals per lease, a rate margin below 50 % */
    {LAST, LAST "decision: {lease_renew_ms: 301, lease_ms: 600}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.lease_renew_ms: 301 must be at most half of lease_ms 600: one lost "
     "renewal must not fence a healthy primary"},
    {LAST, LAST "decision: {lease_renew_ms: 300, lease_ms: 600}\n", FO_CONFIG_OK, ""},
    {LAST, LAST "decision: {lease_ms: 150}\n", FO_CONFIG_EINVALID,
     "decision.lease_renew_ms: 100 must be at most half of lease_ms 150"},
    {LAST, LAST "decision: {clock_rate_margin_permille: 500}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.clock_rate_margin_permille: '500' is out of range (0 to 499)"},
    {LAST, LAST "decision: {fence_budget_ms: 0}\n", FO_CONFIG_EINVALID,
     "decision.fence_budget_ms: '0' is out of range (10 to 3600000)"},
    /* failover_after_ms is no safety margin any more: 0 is allowed */
    {LAST, LAST "decision: {failover_after_ms: 0}\n", FO_CONFIG_OK, ""},
    {LAST, LAST "decision: {quorum: 0}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.quorum: '0' is out of range (1 to "},
    {LAST, LAST "decision: {quorum: 4}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.quorum: 4 is more than the 3 observers that count (3 peers + 0 feeds "
     "with count_in_quorum): no failover could ever start"},
    {LAST, LAST "decision: {quorum: 3}\n", FO_CONFIG_OK, ""},
    {LAST, LAST "decision: {quorum: 4}\nfeeds: [{name: dd, token_file: /a}]\n", FO_CONFIG_EINVALID,
     "decision.quorum: 4 is more than the 3 observers that count"},
    {LAST,
     LAST "decision: {quorum: 4}\nfeeds: [{name: dd, token_file: /a, count_in_quorum: true}]\n",
     FO_CONFIG_OK, ""},
    {LAST, LAST "decision: {auto: yes}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.auto: 'yes' is not true or false"},
    {LAST, LAST "decision: {auto: 'true'}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.auto: 'true' is not true or false"},
    {LAST, LAST "decision: {quorom: 2}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.quorom: unknown key (expected one of: auto, quorum, "
     "failover_after_ms, max_lag_bytes, max_lag_ms, cooldown_ms, lease_renew_ms, lease_ms, "
     "fence_budget_ms, clock_rate_margin_permille, self_fence_after_ms, clock_margin_ms)"},
    {LAST, LAST "decision: {failover_after_ms: 86400001}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.failover_after_ms: '86400001' is out of range (0 to 86400000)"},
    {LAST, LAST "decision: {max_lag_bytes: -1}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision.max_lag_bytes: '-1' is not a decimal number"},
    {LAST, LAST "decision: []\n", FO_CONFIG_EINVALID,
     "node.yaml:51: decision: expected a map, found a list"},
    /* checks */
    {LAST, LAST "checks: {timeout_ms: 500}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.timeout_ms: timeout_ms 500 must be below interval_ms 500: a probe "
     "must end before the next one starts"},
    {LAST, LAST "checks:\n  interval_ms: 400\n", FO_CONFIG_EINVALID,
     "node.yaml:52: checks.interval_ms: timeout_ms 450 must be below interval_ms 400"},
    {LAST, LAST "checks: {interval_ms: 99}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.interval_ms: '99' is out of range (100 to 3600000)"},
    {LAST,
     LAST "checks: {http: [{name: w, region: us-east-1, url: 'http://a', timeout_ms: 5000}]}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http[0].timeout_ms: timeout_ms 5000 must be below interval_ms 500"},
    {LAST,
     LAST "checks:\n  http:\n    - {name: w, region: us-east-1, url: 'http://a'}\n"
          "    - {name: w, region: us-west-2, url: 'http://b'}\n",
     FO_CONFIG_EINVALID, "node.yaml:54: checks.http[1].name: 'w' is also checks.http[0]'s name"},
    {LAST, LAST "checks: {http: [{name: w, region: mars-1, url: 'http://a'}]}\n",
     FO_CONFIG_EINVALID, "node.yaml:51: checks.http[0].region: 'mars-1' is not listed in regions"},
    {LAST, LAST "checks: {http: [{name: w, region: us-east-1, url: 'ftp://a'}]}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http[0].url: 'ftp://a' is not an http:// or https:// URL"},
    {LAST, LAST "checks: {http: [{name: w, region: us-east-1, url: 'https://'}]}\n",
     FO_CONFIG_EINVALID, "node.yaml:51: checks.http[0].url: 'https://' has no host"},
    {LAST, LAST "checks: {http: [{name: w, region: us-east-1, url: 'http://a b'}]}\n",
     FO_CONFIG_EINVALID, "node.yaml:51: checks.http[0].url: 'http://a b' contains a space"},
    {LAST, LAST "checks: {http: [{name: 'w w', region: us-east-1, url: 'http://a'}]}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http[0].name: 'w w': a name may only hold letters, digits"},
    {LAST, LAST "checks: {http: [{name: w, region: us-east-1}]}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http[0].url: missing (required)"},
    {LAST,
     LAST "checks: {http: [{name: w, region: us-east-1, url: 'http://a', expect_status: 600}]}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http[0].expect_status: '600' is out of range (100 to 599)"},
    {LAST, LAST "checks: {postgres: {critical: maybe}}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.postgres.critical: 'maybe' is not true or false"},
    {LAST, LAST "checks: {redis: {critical: true, db: 0}}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.redis.db: unknown key (expected one of: critical)"},
    {LAST, LAST "checks: {http: {}}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: checks.http: expected a list, found a map"},
    /* feeds */
    {LAST, LAST "feeds:\n  - {name: dd, token_file: /a}\n  - {name: dd, token_file: /b}\n",
     FO_CONFIG_EINVALID, "node.yaml:53: feeds[1].name: 'dd' is also feeds[0]'s name"},
    {LAST, LAST "feeds: [{name: us-west-2, token_file: /a}]\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds[0].name: 'us-west-2' is a peer's name: a feed cannot speak for a "
     "coordinator node"},
    {LAST, LAST "feeds: [{name: dd, count_in_quorum: true}]\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds[0].token_file: missing (required)"},
    {LAST, LAST "feeds: [{name: dd, token: abc, token_file: /a}]\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds[0].token: unknown key (expected one of: name, token_file, "
     "count_in_quorum)"},
    {LAST, LAST "feeds: [{name: 'd/d', token_file: /a}]\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds[0].name: 'd/d': a name may only hold"},
    {LAST, LAST "feeds: [{name: dd, token_file: /a, count_in_quorum: 1}]\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds[0].count_in_quorum: '1' is not true or false"},
    {LAST, LAST "feeds: {dd: /a}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: feeds: expected a list, found a map"},
    /* health */
    {LAST, LAST "health: {listen: 'localhost:7501'}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: health.listen: 'localhost:7501' is not an IPv4 address with a port (the health "
     "listener listens on a.b.c.d:port)"},
    {LAST, LAST "health: {max_connections: 0}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: health.max_connections: '0' is out of range (1 to 65536)"},
    /* http */
    {LAST, LAST "http: {plain_text: true}\n", FO_CONFIG_OK, ""},
    {LAST,
     LAST "http: {listen: 127.0.0.1:7601, max_connections: 65536, timeout_ms: 3600000, "
          "plain_text: true}\n",
     FO_CONFIG_OK, ""},
    {LAST, LAST "http: {tls_cert: /c.pem, tls_key: /k.pem}\n", FO_CONFIG_OK, ""},
    /* HTTPS or plain text, said explicitly (issue 14) */
    {LAST, LAST "http: {}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http: give tls_cert and tls_key for HTTPS, or plain_text: true to serve "
     "tokens and status unencrypted (loopback, or behind a TLS proxy)"},
    {LAST, LAST "http: {plain_text: false}\n", FO_CONFIG_EINVALID, "node.yaml:51: http: give"},
    {LAST, LAST "http: {tls_cert: /c.pem}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.tls_key: tls_cert and tls_key go together"},
    {LAST, LAST "http: {tls_key: /k.pem}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.tls_cert: tls_cert and tls_key go together"},
    {LAST, LAST "http: {tls_cert: /c.pem, tls_key: /k.pem, plain_text: true}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.plain_text: true with tls_cert: choose HTTPS or plain text"},
    /* admin.tokens_file (serve/tokens.h) */
    {LAST, LAST "  tokens_file: /etc/failoverd/tokens\n", FO_CONFIG_OK, ""},
    {LAST, LAST "  tokens_file: ''\n", FO_CONFIG_EINVALID,
     "node.yaml:51: admin.tokens_file: is empty"},
    {LAST, LAST "http: {listen: 'localhost:7601'}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.listen: 'localhost:7601' is not an IPv4 address with a port (the HTTP "
     "API listens on a.b.c.d:port)"},
    {LAST, LAST "http: {listen: 127.0.0.1}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.listen: '127.0.0.1' is not an IPv4 address with a port (the HTTP API "
     "listens on a.b.c.d:port)"},
    {LAST, LAST "http: {max_connections: 0}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.max_connections: '0' is out of range (1 to 65536)"},
    {LAST, LAST "http: {max_connections: 65537}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.max_connections: '65537' is out of range (1 to 65536)"},
    {LAST, LAST "http: {timeout_ms: 999}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.timeout_ms: '999' is out of range (1000 to 3600000)"},
    {LAST, LAST "http: {timeout_ms: '5000'}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.timeout_ms: "},
    {LAST, LAST "http: {listen: 127.0.0.1:7601, tls: true}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http.tls: unknown key (expected one of: listen, max_connections, timeout_ms, "
     "tls_cert, tls_key, plain_text)"},
    {LAST, LAST "http: 127.0.0.1:7601\n", FO_CONFIG_EINVALID,
     "node.yaml:51: http: expected a map, found a scalar"},
    {LAST, LAST "http: {}\nhttp: {}\n", FO_CONFIG_EINVALID, "node.yaml:52: http: "},
    /* alertmanager */
    {LAST, LAST "alertmanager: {region_label: region}\n", FO_CONFIG_EINVALID,
     "node.yaml:51: alertmanager.observer: 'alertmanager' is not one of feeds (its token "
     "authenticates the webhook, its count_in_quorum says whether alerts are evidence)"},
    {LAST, LAST "feeds: [{name: am, token_file: /a}]\nalertmanager: {observer: am}\n", FO_CONFIG_OK,
     ""},
    {LAST,
     LAST
     "feeds: [{name: am, token_file: /a}]\nalertmanager: {observer: am, region_label: 'a-b'}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:52: alertmanager.region_label: 'a-b' is not a label name (letters, digits and "
     "'_', not starting with a digit)"},
    {LAST, LAST "feeds: [{name: am, token_file: /a}]\nalertmanager: {observer: am, job: x}\n",
     FO_CONFIG_EINVALID,
     "node.yaml:52: alertmanager.job: unknown key (expected one of: region_label, "
     "component_label, observer)"},
};

static void test_error_rows(void **state)
{
    size_t bad = 0, n = sizeof(error_rows) / sizeof(error_rows[0]);
    (void)state;

    for (size_t i = 0; i < n; i++) {
        const struct error_row *r = &error_rows[i];
        char label[32];
        char *text = r->from != NULL ? patch(BASE, r->from, r->to) : strdup(r->to);

        snprintf(label, sizeof(label), "error_rows[%zu]", i);
        if (r->code == FO_CONFIG_OK) {
            struct fo_config cfg;
            struct fo_error err = {0};
            if (load_text(text, &cfg, &err) != 0) {
                print_error("%s: refused: %s\n", label, err.msg);
                bad++;
            } else {
                fo_config_free(&cfg);
            }
        } else if (!refused(label, text, r->code, r->want)) {
            bad++;
        }
        free(text);
    }
    print_message("%zu error rows, %zu wrong\n", n, bad);
    assert_int_equal(bad, 0);
}

/* ---- limits ---------------------------------------------------------------------- */

/* A growable string for the generated files. */
struct text {
    char *s;
    size_t len;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    t->s = realloc(t->s, t->len + (size_t)n + 1);
    assert_non_null(t->s);
    va_start(ap, fmt);
    vsnprintf(t->s + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* BASE with n more peers (p0, p1, ...). */
static char *with_peers(size_t n)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "peers:\n");
    for (size_t i = 0; i < n; i++)
        add(&t,
            "  - {name: p%zu, id: %zu, region: us-east-1, raft: 10.1.0.%zu:7301, "
            "admin: 10.1.0.%zu:7401}\n",
            i, i + 10, i, i);
    out = patch(BASE, "peers:\n", t.s);
    free(t.s);
    return out;
}

static char *with_regions(size_t n)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "regions: [us-east-1, us-west-2, eu-west-1");
    for (size_t i = 3; i < n; i++)
        add(&t, ", r%zu", i);
    add(&t, "]");
    out = patch(BASE, "regions: [us-east-1, us-west-2, eu-west-1]", t.s);
    free(t.s);
    return out;
}

static char *with_sites(size_t n)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "sites:\n");
    for (size_t i = 2; i < n; i++)
        add(&t, "  s%zu: {}\n", i);
    out = patch(BASE, "sites:\n", t.s);
    free(t.s);
    return out;
}

static char *with_env(size_t n)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "    vercel_env:\n");
    for (size_t i = 2; i < n; i++)
        add(&t, "      V%zu: x\n", i);
    out = patch(BASE, "    vercel_env:\n", t.s);
    free(t.s);
    return out;
}

static char *with_long_data_dir(size_t n)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "  data_dir: /");
    for (size_t i = 1; i < n; i++)
        add(&t, "d");
    add(&t, "\n");
    out = patch(BASE, "  data_dir: /var/lib/failoverd\n", t.s);
    free(t.s);
    return out;
}

static void expect_loads(char *text)
{
    struct fo_config cfg;
    struct fo_error err = {0};

    if (load_text(text, &cfg, &err) != 0) {
        print_error("%s\n", err.msg);
        fail();
    }
    fo_config_free(&cfg);
    free(text);
}

static void expect_refused(char *text, const char *want)
{
    assert_true(refused(want, text, FO_CONFIG_EINVALID, want));
    free(text);
}

/* BASE with n feeds, or n http checks, on one line (line 51). */
static char *with_policy_list(size_t n, bool feeds)
{
    struct text t = {NULL, 0};
    char *out;

    add(&t, "%s", LAST);
    add(&t, feeds ? "feeds: [" : "checks: {http: [");
    for (size_t i = 0; i < n; i++)
        add(&t,
            feeds ? "%s{name: f%zu, token_file: /f}"
                  : "%s{name: c%zu, region: us-east-1, "
                    "url: 'http://a'}",
            i > 0 ? ", " : "", i);
    add(&t, feeds ? "]\n" : "]}\n");
    out = patch(BASE, LAST, t.s);
    free(t.s);
    return out;
}

static void test_limits(void **state)
{
    (void)state;
    expect_loads(with_policy_list(FO_CONFIG_MAX_FEEDS, true));
    expect_refused(with_policy_list(FO_CONFIG_MAX_FEEDS + 1, true),
                   "node.yaml:51: feeds: 17 feeds: at most 16");
    expect_loads(with_policy_list(FO_CONFIG_MAX_CHECKS, false));
    expect_refused(with_policy_list(FO_CONFIG_MAX_CHECKS + 1, false),
                   "node.yaml:51: checks.http: 65 checks: at most 64");
    expect_loads(with_peers(6)); /* 9 voters */
    expect_refused(with_peers(8), "node.yaml:6: peers: 11 peers: at most 9");
    expect_loads(with_regions(32));
    expect_refused(with_regions(33), "node.yaml:21: regions: 33 regions: expected 1 to 32");
    expect_loads(with_sites(64));
    expect_refused(with_sites(65), "node.yaml:24: sites: 65 sites: expected 1 to 64");
    expect_loads(with_env(64));
    expect_refused(with_env(65), "node.yaml:38: sites.main.vercel_env: 65 variables: at most 64");
    expect_loads(with_long_data_dir(FO_CONFIG_STRING_MAX));
    expect_refused(with_long_data_dir(FO_CONFIG_STRING_MAX + 1),
                   "node.yaml:4: node.data_dir: is longer than 4096 bytes");
    expect_loads(patch(BASE, "cluster: bmf001-prod", "cluster: " NAME64));
}

/* ---- the file itself ------------------------------------------------------------- */

static void test_file_errors(void **state)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    size_t big = FO_CONFIG_FILE_MAX + 1;
    char *text = malloc(big);
    (void)state;

    assert_int_equal(fo_config_load("/nonexistent/node.yaml", &cfg, &err), FO_CONFIG_EIO);
    assert_string_equal(err.msg, "/nonexistent/node.yaml: cannot open: No such file or directory");
    assert_true(is_zero(&cfg));

    assert_int_equal(fo_config_load(tmpdir, &cfg, &err), FO_CONFIG_EIO);
    assert_non_null(strstr(err.msg, ": cannot read: Is a directory"));
    assert_true(is_zero(&cfg));

    /* A file over the limit is refused before parsing; one at the limit is parsed. */
    assert_non_null(text);
    memset(text, '#', big);
    write_file(tmpfile_path, text, big);
    assert_int_equal(fo_config_load(tmpfile_path, &cfg, &err), FO_CONFIG_EIO);
    assert_non_null(strstr(err.msg, "node.yaml: over the 1048576-byte limit"));
    assert_true(is_zero(&cfg));
    assert_int_equal(fo_config_load_buffer("mem.yaml", text, big, &cfg, &err), FO_CONFIG_EIO);
    assert_string_equal(err.msg, "mem.yaml: 1048577 bytes, over the 1048576-byte limit");
    write_file(tmpfile_path, text, big - 1);
    assert_int_equal(fo_config_load(tmpfile_path, &cfg, &err), FO_CONFIG_EINVALID);
    assert_non_null(strstr(err.msg, "node.yaml:1: the file holds no settings"));
    free(text);

    /* A NUL byte is not YAML. */
    write_file(tmpfile_path, "cluster: a\n\0", 12);
    assert_int_equal(fo_config_load(tmpfile_path, &cfg, &err), FO_CONFIG_ESYNTAX);
    assert_non_null(strstr(err.msg, "node.yaml:2: YAML syntax error: "));

    /* A NULL error pointer is allowed. */
    assert_int_equal(fo_config_load("/nonexistent/node.yaml", &cfg, NULL), FO_CONFIG_EIO);
    assert_int_equal(fo_config_load_buffer("m.yaml", "- a\n", 4, &cfg, NULL), FO_CONFIG_EINVALID);
    assert_int_equal(fo_config_load_buffer("m.yaml", "[", 1, &cfg, NULL), FO_CONFIG_ESYNTAX);
}

/* The buffer is read for its length only: no terminating NUL needed. */
static void test_buffer(void **state)
{
    struct fo_config cfg;
    struct fo_error err = {0};
    size_t n = strlen(BASE);
    char *copy = malloc(n);
    (void)state;

    assert_non_null(copy);
    memcpy(copy, BASE, n);
    assert_int_equal(fo_config_load_buffer("mem.yaml", copy, n, &cfg, &err), 0);
    assert_string_equal(cfg.path, "mem.yaml");
    assert_string_equal(cfg.cluster, "bmf001-prod");
    fo_config_free(&cfg);
    free(copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_regions),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_http),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_digest_same_settings),
        cmocka_unit_test(test_digest_local_settings),
        cmocka_unit_test(test_digest_replicated_settings),
        cmocka_unit_test(test_digest_policy),
        cmocka_unit_test(test_error_rows),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_buffer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
