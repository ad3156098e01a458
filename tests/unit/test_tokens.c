/*
 * tests/unit/test_tokens.c — operators by name (coordinator/serve/tokens.h): the tokens
 * file's grammar and every refusal, who a token is, the roles and the verb table's role
 * column (proto/admin.h), reloading (by call and by the file changing), and the limiter
 * of refusal log lines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/serve/tokens.h"
#include "proto/admin.h"

/* sha256("alice-secret") */
#define ALICE_HASH "sha256:0c848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376"

static char tmpdir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/fo-tokens-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
    return 0;
}

static int parse(const char *text, struct fo_token **list, size_t *n, struct fo_error *err)
{
    return fo_tokens_parse(text, strlen(text), "tokens", list, n, err);
}

/* Write a whole file (truncating it: same inode). */
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void test_parse_good(void **state)
{
    struct fo_token *list;
    size_t n;
    struct fo_error err;
    (void)state;

    assert_int_equal(parse("# name role token\n"
                           "\n"
                           "alice  admin    " ALICE_HASH "\r\n"
                           "\tbob\toperate\tbob-secret   \n"
                           "   # an indented comment\n"
                           "grafana read g-secret",
                           &list, &n, &err),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].who.name, "alice");
    assert_int_equal(list[0].who.grants, fo_admin_role_grants(FO_ROLE_ADMIN));
    assert_string_equal(list[1].who.name, "bob");
    assert_int_equal(list[1].who.grants, fo_admin_role_grants(FO_ROLE_OPERATE));
    assert_string_equal(list[2].who.name, "grafana");
    assert_int_equal(list[2].who.grants, fo_admin_role_grants(FO_ROLE_READ));
    free(list);

    assert_int_equal(parse("", &list, &n, &err), 0); /* an empty file: nobody */
    assert_int_equal(n, 0);
    free(list);
}

static void test_parse_refusals(void **state)
{
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"alice admin\n", "tokens:1: expected three fields: name role token"},
        {"# c\nalice admin x y\n", "tokens:2: expected three fields: name role token"},
        {"al/ice admin x\n", "tokens:1: name: 1 to 64 letters, digits, '.', '_', '-' or '@'"},
        {"admin-token admin x\n", "tokens:1: name: 'admin-token' is reserved for the shared token"},
        {"read-token read x\n", "tokens:1: name: 'read-token' is reserved for the shared token"},
        {"alice root x\n", "tokens:1: role: expected read, operate or admin"},
        {"alice node x\n", "tokens:1: role: expected read, operate or admin"},
        {"alice readwriteeverything x\n", "tokens:1: role: expected read, operate or admin"},
        {"alice read sha256:abc\n", "tokens:1: token: sha256: needs 64 hex digits"},
        {"alice read sha256:zz848abb03307b06cf70cd4e29c157dc81af5e94ab3eb1d0c59a120269572376\n",
         "tokens:1: token: sha256: needs 64 hex digits"},
        {"alice read x\nalice admin y\n", "tokens:2: the same name as line of 'alice'"},
        /* the plain token and its hash: one token, two names */
        {"alice read alice-secret\nbob admin " ALICE_HASH "\n",
         "tokens:2: the same token as line of 'alice'"},
    };
    struct fo_token *list = (struct fo_token *)1;
    size_t n = 7;
    struct fo_error err;
    char longname[80], longtok[FO_TOKEN_MAX + 20];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_not_equal(parse(bad[i].text, &list, &n, &err), 0);
        assert_string_equal(err.msg, bad[i].msg);
        assert_null(list);
        assert_int_equal(n, 0);
        /* never the token in a message */
        assert_null(strstr(err.msg, "alice-secret"));
    }
    memset(longname, 'a', 65);
    snprintf(longname + 65, sizeof(longname) - 65, " read x\n");
    assert_int_not_equal(parse(longname, &list, &n, &err), 0);
    assert_string_equal(err.msg, "tokens:1: name: 1 to 64 letters, digits, '.', '_', '-' or '@'");
    memcpy(longtok, "a read ", 7);
    memset(longtok + 7, 'x', FO_TOKEN_MAX + 1);
    longtok[7 + FO_TOKEN_MAX + 1] = '\0';
    assert_int_not_equal(parse(longtok, &list, &n, &err), 0);
    assert_string_equal(err.msg, "tokens:1: token: longer than 256 bytes");
    assert_int_not_equal(fo_tokens_parse("a read x\0y", 10, "tokens", &list, &n, &err), 0);
    assert_string_equal(err.msg, "tokens: holds a NUL byte");
}

static void test_auth_and_roles(void **state)
{
    struct fo_tokens t;
    struct fo_identity who;
    struct fo_error err;
    char path[128];
    (void)state;

    snprintf(path, sizeof(path), "%s/tokens", tmpdir);
    write_file(path, "alice admin " ALICE_HASH "\nbob operate bob-secret\nro read ro-secret\n");
    assert_int_equal(fo_tokens_init(&t, path, &err), 0);
    assert_int_equal(
        fo_tokens_add_shared(&t, "admin-token", fo_admin_role_grants(FO_ROLE_NODE), "nodes", &err),
        0);

    assert_true(fo_tokens_auth(&t, "alice-secret", &who));
    assert_string_equal(who.name, "alice");
    assert_true(fo_identity_may(&who, FO_ROLE_ADMIN));
    assert_true(fo_identity_may(&who, FO_ROLE_OPERATE));
    assert_true(fo_identity_may(&who, FO_ROLE_READ));
    assert_false(fo_identity_may(&who, FO_ROLE_NODE)); /* an operator is not a node */

    assert_true(fo_tokens_auth(&t, "bob-secret", &who));
    assert_string_equal(who.name, "bob");
    assert_true(fo_identity_may(&who, FO_ROLE_OPERATE));
    assert_false(fo_identity_may(&who, FO_ROLE_ADMIN));

    assert_true(fo_tokens_auth(&t, "ro-secret", &who));
    assert_true(fo_identity_may(&who, FO_ROLE_READ));
    assert_false(fo_identity_may(&who, FO_ROLE_OPERATE));

    assert_true(fo_tokens_auth(&t, "nodes", &who));
    assert_string_equal(who.name, "admin-token");
    assert_true(fo_identity_may(&who, FO_ROLE_NODE));
    assert_false(fo_identity_may(&who, FO_ROLE_READ));

    /* wrong, a prefix, longer, empty, NULL: nobody (and *out is cleared) */
    assert_false(fo_tokens_auth(&t, "alice-secreT", &who));
    assert_string_equal(who.name, "");
    assert_int_equal(who.grants, 0);
    assert_false(fo_tokens_auth(&t, "alice-secre", &who));
    assert_false(fo_tokens_auth(&t, "alice-secret2", &who));
    assert_false(fo_tokens_auth(&t, "", &who));
    assert_false(fo_tokens_auth(&t, NULL, &who));
    assert_false(fo_tokens_auth(&t, ALICE_HASH, &who)); /* the hash is not the token */
    assert_false(fo_identity_may(NULL, FO_ROLE_READ));
    assert_false(fo_identity_may(&who, FO_ROLE_COUNT));

    /* a shared token may not repeat another's token or name */
    assert_int_not_equal(fo_tokens_add_shared(&t, "read-token", 1, "bob-secret", &err), 0);
    assert_non_null(strstr(err.msg, "'bob' has the token of read-token"));
    assert_int_not_equal(fo_tokens_add_shared(&t, "x", 1, "nodes", &err), 0);
    assert_int_not_equal(fo_tokens_add_shared(&t, "x", 1, "", &err), 0);
    fo_tokens_free(&t);

    /* no file at all: only shared tokens; a missing file is an error naming it */
    assert_int_equal(fo_tokens_init(&t, NULL, &err), 0);
    assert_false(fo_tokens_auth(&t, "alice-secret", &who));
    assert_int_equal(fo_tokens_reload(&t, &err), 0);
    fo_tokens_free(&t);
    snprintf(path, sizeof(path), "%s/missing", tmpdir);
    assert_int_not_equal(fo_tokens_init(&t, path, &err), 0);
    assert_non_null(strstr(err.msg, "missing: No such file"));
}

static void test_reload(void **state)
{
    struct fo_tokens t;
    struct fo_identity who;
    struct fo_error err;
    char path[128], tmp[140];
    (void)state;

    snprintf(path, sizeof(path), "%s/tokens", tmpdir);
    snprintf(tmp, sizeof(tmp), "%s.new", path);
    write_file(path, "alice admin old-secret\n");
    assert_int_equal(fo_tokens_init(&t, path, &err), 0);
    assert_true(fo_tokens_auth(&t, "old-secret", &who));

    /* Rotation by an editor's rename: a new inode, seen at the next auth. */
    write_file(tmp, "alice admin new-secret\ncarol read c\n");
    assert_int_equal(rename(tmp, path), 0);
    assert_false(fo_tokens_auth(&t, "old-secret", &who));
    assert_true(fo_tokens_auth(&t, "new-secret", &who));
    assert_string_equal(who.name, "alice");
    assert_true(fo_tokens_auth(&t, "c", &who));

    /* A broken file: refused, and the previous list stays in force. */
    write_file(tmp, "alice admin\n");
    assert_int_equal(rename(tmp, path), 0);
    assert_int_not_equal(fo_tokens_reload(&t, &err), 0);
    assert_string_equal(err.msg + strlen(err.msg) -
                            strlen(":1: expected three fields: name role token"),
                        ":1: expected three fields: name role token");
    assert_true(fo_tokens_auth(&t, "new-secret", &who));

    /* Fixed, then reloaded by call (what SIGHUP does). */
    write_file(path, "dave operate d\n");
    assert_int_equal(fo_tokens_reload(&t, &err), 0);
    assert_false(fo_tokens_auth(&t, "new-secret", &who));
    assert_true(fo_tokens_auth(&t, "d", &who));
    assert_string_equal(who.name, "dave");
    fo_tokens_free(&t);
}

static void test_verb_roles(void **state)
{
    const struct fo_admin_verb *failover = &fo_admin_verbs[FO_VERB_FAILOVER];
    struct fo_kv force[] = {{"to", "dr"}, {"force", "true"}};
    struct fo_kv noforce[] = {{"to", "dr"}, {"force", "false"}};
    struct fo_admin_req req = {.cmd = "failover", .args = force, .nargs = 2};
    (void)state;

    assert_int_equal(fo_admin_verbs[FO_VERB_STATUS].role, FO_ROLE_READ);
    assert_int_equal(fo_admin_verbs[FO_VERB_HISTORY].role, FO_ROLE_READ);
    assert_int_equal(fo_admin_verbs[FO_VERB_PAUSE].role, FO_ROLE_OPERATE);
    assert_int_equal(failover->role, FO_ROLE_OPERATE);
    assert_int_equal(fo_admin_verbs[FO_VERB_PROPOSE].role, FO_ROLE_NODE);
    assert_int_equal(fo_admin_verbs[FO_VERB_LEASE].role, FO_ROLE_NODE);
    /* failover --force needs admin; without it (or "false") operate is enough */
    assert_int_equal(fo_admin_req_role(failover, &req), FO_ROLE_ADMIN);
    req.args = noforce;
    assert_int_equal(fo_admin_req_role(failover, &req), FO_ROLE_OPERATE);
    req.nargs = 1;
    assert_int_equal(fo_admin_req_role(failover, &req), FO_ROLE_OPERATE);
    /* an argument another verb takes does not count here */
    req.args = force;
    req.nargs = 2;
    assert_int_equal(fo_admin_req_role(&fo_admin_verbs[FO_VERB_SWITCHOVER], &req), FO_ROLE_OPERATE);

    assert_int_equal(fo_admin_role_find("operate"), FO_ROLE_OPERATE);
    assert_int_equal(fo_admin_role_find("Admin"), -1);
    assert_int_equal(fo_admin_role_find(NULL), -1);
    assert_int_equal(fo_admin_role_grants(FO_ROLE_COUNT), 0);
}

static void test_limiter(void **state)
{
    struct fo_auth_limiter l = {.interval_ms = 1000};
    unsigned long long left = 99;
    (void)state;

    assert_true(fo_auth_limiter_admit(&l, 5000, &left)); /* the first one: logged */
    assert_int_equal(left, 0);
    for (int i = 0; i < 7; i++)
        assert_false(fo_auth_limiter_admit(&l, 5000 + (uint64_t)i * 100, &left));
    assert_false(fo_auth_limiter_admit(&l, 5999, &left));
    assert_true(fo_auth_limiter_admit(&l, 6000, &left)); /* the interval has passed */
    assert_int_equal(left, 8);                           /* and says how many were left out */
    assert_true(fo_auth_limiter_admit(&l, 9000, &left));
    assert_int_equal(left, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test_setup_teardown(test_auth_and_roles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
        cmocka_unit_test(test_verb_roles),
        cmocka_unit_test(test_limiter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
