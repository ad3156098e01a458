/*
 * tests/unit/test_config_reload.c — what a reload may change (config/config_reload.h):
 * every frozen key is refused, naming the key; live keys pass; adopting keeps the
 * running config's frozen values at their addresses and takes the rest from the file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coordinator/config/config_reload.h"

/* A valid file with every frozen key written, one per line, so an edit is a replacement. */
static const char BASE[] =
    "cluster: dev\n"
    "node: {name: a, data_dir: /tmp/failoverd}\n"
    "peers:\n"
    "  - {name: a, id: 1, region: r1, raft: 127.0.0.1:7301, admin: 127.0.0.1:7401}\n"
    "  - {name: b, id: 2, region: r2, raft: 127.0.0.1:7302, admin: 127.0.0.1:7402}\n"
    "  - {name: c, id: 3, region: r2, raft: 127.0.0.1:7303, admin: 127.0.0.1:7403}\n"
    "regions: [r1, r2]\n"
    "initial_primary: main\n"
    "sites:\n"
    "  main: {priority: 1, postgres: {region: r1, host: 127.0.0.1, port: 5432}}\n"
    "  dr: {priority: 2, postgres: {region: r2, host: 127.0.0.1, port: 5433}}\n"
    "raft: {election_timeout_ms: 1000, heartbeat_ms: 100, snapshot_threshold: 512, "
    "snapshot_trailing: 512, connect_retry_ms: 250}\n"
    "decision:\n"
    "  cooldown_ms: 600000\n"
    "  quorum: 2\n"
    "  lease_renew_ms: 100\n"
    "  lease_ms: 600\n"
    "health: {listen: 127.0.0.1:7501, max_connections: 64}\n"
    "http: {listen: 127.0.0.1:7601, max_connections: 64, timeout_ms: 5000, plain_text: true}\n"
    "tls: {mode: off}\n"
    "admin:\n"
    "  listen: 127.0.0.1:7401\n"
    "  token_file: /etc/failoverd/admin.token\n"
    "  read_token_file: /etc/failoverd/read.token\n"
    "  max_connections: 64\n";

/* BASE with its one occurrence of from replaced by to, loaded into cfg. */
static void load_edit(struct fo_config *cfg, const char *from, const char *to)
{
    char buf[4096];
    struct fo_error err = {0};
    const char *at = from != NULL ? strstr(BASE, from) : NULL;

    if (from == NULL) {
        snprintf(buf, sizeof(buf), "%s", BASE);
    } else {
        assert_non_null(at);
        assert_null(strstr(at + 1, from)); /* the edit is unambiguous */
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - BASE), BASE, to, at + strlen(from));
    }
    if (fo_config_load_buffer("node.yaml", buf, strlen(buf), cfg, &err) != 0)
        fail_msg("edit '%s' -> '%s' does not load: %s", from, to, err.msg);
}

static void test_unchanged_passes(void **state)
{
    struct fo_config cur, next;
    struct fo_error err = {0};
    (void)state;
    load_edit(&cur, NULL, NULL);
    load_edit(&next, NULL, NULL);
    assert_int_equal(fo_config_reload_check(&cur, &next, &err), 0);
    assert_null(fo_config_reload_frozen(&cur, &next));
    fo_config_free(&cur);
    fo_config_free(&next);
}

/* Each frozen key changed alone: refused with FO_CONFIG_EFROZEN, the message naming it. */
static void test_frozen_keys_refused(void **state)
{
    static const struct {
        const char *from, *to, *key;
    } rows[] = {
        {"cluster: dev", "cluster: prod", "cluster"},
        {"name: a, data_dir", "name: b, data_dir", "node.name"},
        {"data_dir: /tmp/failoverd", "data_dir: /tmp/other", "node.data_dir"},
        {"id: 3", "id: 4", "peers[2].id: 3 -> 4"},
        {"raft: 127.0.0.1:7303", "raft: 127.0.0.1:7313",
         "peers[2].raft: '127.0.0.1:7303' -> '127.0.0.1:7313'"},
        {"election_timeout_ms: 1000", "election_timeout_ms: 2000", "raft.election_timeout_ms"},
        {"heartbeat_ms: 100", "heartbeat_ms: 50", "raft.heartbeat_ms"},
        {"  listen: 127.0.0.1:7401", "  listen: 127.0.0.1:7409", "admin.listen"},
        {"  max_connections: 64\n", "  max_connections: 32\n", "admin.max_connections"},
        {"listen: 127.0.0.1:7501", "listen: 127.0.0.1:7509", "health.listen"},
        {"listen: 127.0.0.1:7601", "listen: 127.0.0.1:7609", "http.listen"},
        {"timeout_ms: 5000", "timeout_ms: 6000", "http.timeout_ms"},
        {"lease_renew_ms: 100", "lease_renew_ms: 200", "decision.lease_renew_ms"},
        {"lease_ms: 600", "lease_ms: 900", "decision.lease_ms"},
        {"tls: {mode: off}", "tls: {ca: /c, cert: /n, key: /k}", "tls.mode"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fo_config cur, next;
        struct fo_error err = {0};
        char want[128];

        load_edit(&cur, NULL, NULL);
        load_edit(&next, rows[i].from, rows[i].to);
        if (fo_config_reload_check(&cur, &next, &err) != FO_CONFIG_EFROZEN)
            fail_msg("row %zu (%s): not refused", i, rows[i].key);
        /* key is the key, or for peers the message's whole start */
        snprintf(want, sizeof(want), "%s%s", rows[i].key, strchr(rows[i].key, ':') ? "" : ": ");
        if (strncmp(err.msg, want, strlen(want)) != 0 || strstr(err.msg, "restart") == NULL)
            fail_msg("row %zu: message '%s' does not start with '%s'", i, err.msg, want);
        snprintf(want, sizeof(want), "%.*s", (int)strcspn(rows[i].key, "[:"), rows[i].key);
        assert_string_equal(fo_config_reload_frozen(&cur, &next), want);
        fo_config_free(&cur);
        fo_config_free(&next);
    }
}

/* Policy, plan-relevant and path changes apply live. */
static void test_live_keys_pass(void **state)
{
    static const struct {
        const char *from, *to;
    } rows[] = {
        {"cooldown_ms: 600000", "cooldown_ms: 1000"},
        {"quorum: 2", "quorum: 3"},
        {"port: 5433", "port: 5434"},
        {"token_file: /etc/failoverd/admin.token", "token_file: /etc/failoverd/admin2.token"},
        {"read_token_file: /etc/failoverd/read.token", "read_token_file: /etc/r2.token"},
        {"  read_token_file: /etc/failoverd/read.token\n", ""},
        {"tls: {mode: off}", "tls: {mode: off, crl: /crl.pem}"}, /* files reload */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct fo_config cur, next;
        struct fo_error err = {0};

        load_edit(&cur, NULL, NULL);
        load_edit(&next, rows[i].from, rows[i].to);
        if (fo_config_reload_check(&cur, &next, &err) != 0)
            fail_msg("row %zu: refused: %s", i, err.msg);
        fo_config_free(&cur);
        fo_config_free(&next);
    }
}

/* Adopting: the peers array, self and frozen strings keep their addresses; the policy
 * and digest are the new file's; next is left empty. */
static void test_adopt_keeps_frozen_addresses(void **state)
{
    struct fo_config cur, next;
    const struct fo_peer *self, *peers;
    const char *listen, *name;
    char digest[65];
    (void)state;

    load_edit(&cur, NULL, NULL);
    load_edit(&next, "cooldown_ms: 600000", "cooldown_ms: 1000");
    assert_string_not_equal(cur.digest, next.digest);
    memcpy(digest, next.digest, sizeof(digest));
    self = cur.self;
    peers = cur.peers;
    listen = cur.admin.listen;
    name = cur.node_name;
    fo_config_adopt(&cur, &next);
    assert_ptr_equal(cur.self, self);
    assert_ptr_equal(cur.peers, peers);
    assert_ptr_equal(cur.admin.listen, listen);
    assert_ptr_equal(cur.node_name, name);
    assert_string_equal(cur.self->name, "a");
    assert_int_equal(cur.decision.cooldown_ms, 1000);
    assert_string_equal(cur.digest, digest);
    assert_null(next.peers);
    assert_int_equal(next.nsites, 0);
    fo_config_free(&cur);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unchanged_passes),
        cmocka_unit_test(test_frozen_keys_refused),
        cmocka_unit_test(test_live_keys_pass),
        cmocka_unit_test(test_adopt_keeps_frozen_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
