/*
 * tests/unit/test_ctl_render.c — failoverctl's output (coordinator/ctl/ctl_render.h) against
 * the goldens in tests/golden/cli/: each NAME.json is a reply body frozen from a real
 * local cluster (deploy/local-cluster up --dataplane), NAME.txt the table failoverctl
 * prints for it, byte for byte; NAME--json.txt the --json output where failoverctl
 * reformats. A change of the tables is a visible diff of the .txt files.
 *
 * Also the verb table the renderers and the CLI share (coordinator/ctl/verbs.h); the admin
 * addresses the CLI dials are tested in tests/unit/test_addr.c.
 *
 * FO_GOLDEN_UPDATE=1 build/bin/test_ctl_render rewrites the .txt files from the current
 * renderer instead of comparing (then review the diff with git).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/ctl/ctl_render.h"
#include "coordinator/ctl/verbs.h"

/* One golden: the body NAME.json rendered for verb at now_ms gives NAME.txt. now_ms is
 * when the body was taken (the clock failoverctl would have read printing it). */
struct golden {
    const char *name;
    const char *verb; /* NULL: the --json output, into NAME--json.txt */
    uint64_t now_ms;
};

static const struct golden goldens[] = {
    {"status-healthy", "status", 1795461001856},
    {"status-paused", "status", 1795461002886},
    {"status-during-failover", "status", 1795461003056},
    {"status-cooldown", "status", 1795461005029},
    {"status-no-quorum", "status", 1795461024267},
    {"history", "history", 1795461022463},
    {"report-failover", "report", 1795461004023},
    {"report-aborted", "report", 1795461022456},
    {"report-drill", "report", 1795461003014},
    {"members", "members", 1795461001861},
    {"members-no-leader", "members", 1795461024274},
    {"failover-dry-run", "failover", 1795461001867},
    {"switchover-dry-run", "switchover", 1795461001871},
    {"status-healthy", NULL, 0},
};

static bool updating(void)
{
    const char *u = getenv("FO_GOLDEN_UPDATE");
    return u != NULL && strcmp(u, "1") == 0;
}

/* The whole file, NUL-terminated (the caller frees it), or NULL. */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        buf = malloc((size_t)n + 1);
        if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            buf = NULL;
        } else if (buf != NULL) {
            buf[n] = '\0';
        }
    }
    fclose(f);
    return buf;
}

/* Fail naming the first line where got and want differ. */
static void compare(const char *path, const char *got, const char *want)
{
    size_t line = 1;
    const char *g = got, *w = want;

    if (strcmp(got, want) == 0)
        return;
    while (*g != '\0' && *g == *w) {
        line += *g == '\n';
        g++;
        w++;
    }
    while (g > got && g[-1] != '\n') {
        g--;
        w--;
    }
    fail_msg("%s differs at line %zu:\n  got:  %.*s\n  want: %.*s\n(an intended change? "
             "FO_GOLDEN_UPDATE=1 build/bin/test_ctl_render, then review the diff)",
             path, line, (int)strcspn(g, "\n"), g, (int)strcspn(w, "\n"), w);
}

/* Render one golden into a memory buffer (the caller frees it). */
static char *render(const struct golden *gd, const json_t *body)
{
    char *buf = NULL; /* open_memstream's: ours once the stream is closed */
    size_t len = 0;
    struct fo_error err = {0};
    FILE *out = open_memstream(&buf, &len);
    int rc;

    assert_non_null(out);
    if (gd->verb != NULL)
        rc = fo_ctl_render_table(out, gd->verb, body, gd->now_ms, &err);
    else
        rc = fo_ctl_render_json(out, body, &err);
    assert_int_equal(fclose(out), 0);
    if (rc != 0)
        fail_msg("%s: %s", gd->name, err.msg);
    return buf;
}

static void test_goldens(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(goldens) / sizeof(goldens[0]); i++) {
        const struct golden *gd = &goldens[i];
        char in[512], path[512];
        json_error_t jerr;
        json_t *body; /* ours: freed below */
        char *got, *want;

        snprintf(in, sizeof(in), "%s/cli/%s.json", FO_GOLDEN_DIR, gd->name);
        snprintf(path, sizeof(path), "%s/cli/%s%s.txt", FO_GOLDEN_DIR, gd->name,
                 gd->verb != NULL ? "" : "--json");
        body = json_load_file(in, 0, &jerr);
        if (body == NULL)
            fail_msg("%s: %s (line %d)", in, jerr.text, jerr.line);
        got = render(gd, body);
        if (updating()) {
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fputs(got, f) >= 0, 1);
            assert_int_equal(fclose(f), 0);
        }
        want = slurp(path);
        if (want == NULL)
            fail_msg("%s: missing (FO_GOLDEN_UPDATE=1 writes it)", path);
        compare(path, got, want);
        /* A table never ends a line with blanks (they would hide in a terminal and
         * break copy-paste into incident notes). */
        assert_null(strstr(got, " \n"));
        free(want);
        free(got);
        json_decref(body);
    }
}

/* --json of an already-pretty body is the body itself: the golden .json files were
 * written the same way (two-space indent, the node's key order). */
static void test_json_is_the_body(void **state)
{
    char in[512];
    const struct golden gd = {"members", NULL, 0};
    json_t *body;
    char *got, *want;

    (void)state;
    snprintf(in, sizeof(in), "%s/cli/members.json", FO_GOLDEN_DIR);
    body = json_load_file(in, 0, NULL);
    assert_non_null(body);
    got = render(&gd, body);
    want = slurp(in);
    assert_non_null(want);
    compare(in, got, want);
    free(got);
    free(want);
    json_decref(body);
}

static void test_message(void **state)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(out);
    assert_int_equal(fo_ctl_render_message(out, "operation op-1 committed: dr", false, NULL), 0);
    assert_int_equal(fo_ctl_render_message(out, NULL, false, NULL), 0);
    assert_int_equal(fo_ctl_render_message(out, "paused \"now\"", true, NULL), 0);
    assert_int_equal(fo_ctl_render_message(out, NULL, true, NULL), 0);
    assert_int_equal(fclose(out), 0);
    assert_string_equal(buf, "operation op-1 committed: dr\n"
                             "ok\n"
                             "{\n  \"result\": \"ok\",\n  \"message\": \"paused \\\"now\\\"\"\n}\n"
                             "{\n  \"result\": \"ok\",\n  \"message\": null\n}\n");
    free(buf);
}

/* drill-reply.json is what `failoverctl --json drill` printed for the drill's reply (a
 * message, no body): rendering that message again gives the same bytes. */
static void test_message_golden(void **state)
{
    char in[512];
    char *buf = NULL, *want;
    size_t len = 0;
    json_t *doc;
    FILE *out = open_memstream(&buf, &len);

    (void)state;
    assert_non_null(out);
    snprintf(in, sizeof(in), "%s/cli/drill-reply.json", FO_GOLDEN_DIR);
    doc = json_load_file(in, 0, NULL);
    assert_non_null(doc);
    assert_int_equal(
        fo_ctl_render_message(out, json_string_value(json_object_get(doc, "message")), true, NULL),
        0);
    assert_int_equal(fclose(out), 0);
    want = slurp(in);
    assert_non_null(want);
    compare(in, buf, want);
    free(want);
    free(buf);
    json_decref(doc);
}

static void test_errors(void **state)
{
    struct fo_error err = {0};
    json_t *arr = json_array(), *obj = json_object();
    FILE *out = fopen("/dev/null", "w");
    FILE *ro;
    char path[512];

    (void)state;
    assert_non_null(out);
    assert_false(fo_ctl_render_has_table("pause"));
    assert_false(fo_ctl_render_has_table(NULL));
    assert_true(fo_ctl_render_has_table("switchover"));
    assert_int_equal(fo_ctl_render_table(out, "pause", obj, 1, &err), -1);
    assert_int_equal(err.code, FO_CTL_RENDER_EVERB);
    assert_int_equal(fo_ctl_render_table(out, NULL, obj, 1, &err), -1);
    assert_int_equal(fo_ctl_render_table(out, "status", arr, 1, &err), -1);
    assert_int_equal(err.code, FO_CTL_RENDER_EBODY);
    assert_int_equal(fo_ctl_render_table(out, "status", NULL, 1, NULL), -1);
    fclose(out);
    /* A stream that cannot be written: the error is reported, not lost. */
    snprintf(path, sizeof(path), "%s/cli/members.json", FO_GOLDEN_DIR);
    ro = fopen(path, "r");
    assert_non_null(ro);
    assert_int_equal(fo_ctl_render_table(ro, "members", obj, 1, &err), -1);
    assert_int_equal(err.code, FO_CTL_RENDER_EIO);
    assert_int_equal(fo_ctl_render_json(ro, obj, &err), -1);
    assert_int_equal(err.code, FO_CTL_RENDER_EIO);
    fclose(ro);
    json_decref(arr);
    json_decref(obj);
}

/* A node of another version may send less, or other types: every verb still renders
 * (with "-" and "?") instead of crashing or printing garbage. */
static void test_missing_and_mistyped_keys(void **state)
{
    static const char *const verbs[] = {"status",  "history",  "report",
                                        "members", "failover", "switchover"};
    static const char *const bodies[] = {
        "{}",
        "{\"nodes\": 3, \"operation\": {\"steps\": [1, null, {\"started_ms\": \"x\"}]},"
        " \"verdicts\": [{}], \"checks\": [{\"latency_ms\": \"slow\"}], \"warnings\": [7],"
        " \"mode_detail\": {\"by\": \"x\", \"since_ms\": -5}, \"cooldown_until_ms\": 1e99}",
        "{\"operations\": [{\"started_ms\": 10, \"ended_ms\": 5}], \"events\": [{\"at_ms\": "
        "-1}]}",
        "{\"operation\": 1, \"timeline\": \"a; ; b; \", \"rto_ms\": 5}",
        "{\"members\": [{\"leader\": \"yes\", \"in_raft_configuration\": false}], \"leader\": "
        "1}",
        "{\"plan\": [{\"target\": 5, \"timeout_ms\": 1500}], \"decision\": {\"lags\": [{}]}}",
    };

    (void)state;
    for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
        for (size_t b = 0; b < sizeof(bodies) / sizeof(bodies[0]); b++) {
            struct fo_error err = {0};
            json_t *body = json_loads(bodies[b], 0, NULL);
            char *buf = NULL; /* open_memstream's: freed below */
            size_t len = 0;
            FILE *out = open_memstream(&buf, &len);

            assert_non_null(body);
            assert_non_null(out);
            if (fo_ctl_render_table(out, verbs[v], body, 1795460612000, &err) != 0)
                fail_msg("%s with %s: %s", verbs[v], bodies[b], err.msg);
            assert_int_equal(fclose(out), 0);
            /* Something readable came out, and no C-level garbage leaked into it. */
            assert_true(len > 0);
            assert_int_equal(strlen(buf), len);
            if (strstr(buf, "(null)") != NULL || strstr(buf, " nan") != NULL ||
                strstr(buf, "-nan") != NULL || strstr(buf, "inf ") != NULL ||
                strstr(buf, "-9223372036854775808") != NULL)
                fail_msg("%s with %s rendered garbage:\n%s", verbs[v], bodies[b], buf);
            free(buf);
            json_decref(body);
        }
    }
}

/* One verb table (proto/admin.h, coordinator/ctl/verbs.h): every name is found, the CLI
 * offers every argument a verb takes (but the requester, which it fills in) and nothing
 * else, a flag has no value, and internal verbs are not offered at all. */
static void test_verb_table(void **state)
{
    (void)state;
    assert_int_equal(fo_admin_verb_find(NULL), -1);
    assert_int_equal(fo_admin_verb_find("frobnicate"), -1);
    assert_int_equal(fo_admin_verb_find(""), -1);
    for (int id = 0; id < FO_VERB_COUNT; id++) {
        const struct fo_admin_verb *v = &fo_admin_verbs[id];
        const struct fo_ctl_verb *c = &fo_ctl_verbs[id];
        size_t offered = 0, takes = 0;

        assert_non_null(v->name);
        assert_int_equal(fo_admin_verb_find(v->name), id); /* and so: names are unique */
        assert_null(fo_admin_verb_arg(v, "no_such_argument"));
        assert_null(fo_admin_verb_arg(v, NULL));
        /* A change needs more than the read role (an operator's, or a node's). */
        if (v->changes_state)
            assert_true(v->role != FO_ROLE_READ);
        if (v->internal) {
            assert_null(c->summary);
            assert_null(c->opts[0].key);
            assert_null(c->table);
            continue;
        }
        assert_non_null(c->summary);
        assert_non_null(c->about);
        assert_true(c->exits & (1u << FO_CTL_EXIT_OK));
        assert_true(c->exits & (1u << FO_CTL_EXIT_USAGE));
        assert_true(c->exits & (1u << FO_CTL_EXIT_AUTH));
        for (const struct fo_ctl_opt *o = c->opts; o->key != NULL; o++) {
            const struct fo_admin_arg *a = fo_admin_verb_arg(v, o->key);
            /* failoverctl's own options (--wait, --yes): flags the node never sees. */
            if (o->local) {
                if (a != NULL)
                    fail_msg("%s: local option '%s' is also an argument", v->name, o->key);
                assert_null(o->metavar);
                assert_false(o->operand);
                assert_true(v->changes_state);
                continue;
            }
            if (a == NULL)
                fail_msg("%s: failoverctl offers '%s', which the verb does not take", v->name,
                         o->key);
            assert_int_not_equal(a->kind, FO_ARG_REQUESTER);
            assert_true((o->metavar == NULL) == (a->kind == FO_ARG_FLAG));
            assert_non_null(o->help);
            offered++;
        }
        for (const struct fo_admin_arg *a = v->args; a->key != NULL; a++)
            takes += a->kind != FO_ARG_REQUESTER;
        if (offered != takes)
            fail_msg("%s: failoverctl offers %zu of its %zu arguments", v->name, offered, takes);
    }
}

/* Usage lines and option names come from the table. */
static void test_verb_synopsis(void **state)
{
    struct fo_ctl_opt dry = {"dry_run", NULL, "x", false};
    struct fo_ctl_opt op = {"id", "OPERATION", "x", true};
    char buf[160], tiny[8];

    (void)state;
    assert_string_equal(fo_ctl_opt_name(&dry, buf, sizeof(buf)), "--dry-run");
    assert_string_equal(fo_ctl_opt_name(&op, buf, sizeof(buf)), "OPERATION");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_FAILOVER, buf, sizeof(buf)),
                        "--to SITE [--force] [--dry-run] [--reason TEXT] [--wait] [--no-wait] "
                        "[--yes]");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_SWITCHOVER, buf, sizeof(buf)),
                        "--to SITE [--dry-run] [--reason TEXT] [--wait] [--no-wait]");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_DRILL, buf, sizeof(buf)),
                        "[--to SITE] [--wait] [--no-wait]");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_HISTORY, buf, sizeof(buf)), "[--limit N]");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_REPORT, buf, sizeof(buf)), "[OPERATION]");
    assert_string_equal(fo_ctl_verb_synopsis(FO_VERB_STATUS, buf, sizeof(buf)), "");
    /* Too small a buffer: cut, still a string. */
    assert_true(strlen(fo_ctl_verb_synopsis(FO_VERB_FAILOVER, tiny, sizeof(tiny))) < sizeof(tiny));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_goldens),    cmocka_unit_test(test_json_is_the_body),
        cmocka_unit_test(test_message),    cmocka_unit_test(test_message_golden),
        cmocka_unit_test(test_errors),     cmocka_unit_test(test_missing_and_mistyped_keys),
        cmocka_unit_test(test_verb_table), cmocka_unit_test(test_verb_synopsis),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
