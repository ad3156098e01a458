/*
 * tests/fuzz/fuzz_tokens.c — libFuzzer target for the tokens file (coordinator/serve/
 * tokens.h, issue 14): whatever an operator's editor leaves in admin.tokens_file.
 *
 * What must hold (else abort): a refusal has a message naming the file, and leaves no
 * list; an acceptance keeps every rule the header promises (names 1..FO_NAME_MAX bytes
 * of the allowed characters, not the shared names; an operator's role only, never node;
 * no two entries with the same name or token); and the same bytes parse the same way.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/serve/tokens.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_entry(const struct fo_token *t)
{
    size_t n = strnlen(t->who.name, FO_NAME_MAX + 1);

    if (n == 0 || n > FO_NAME_MAX ||
        strspn(t->who.name, "abcdefghijklmnopqrstuvwxyz"
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                            "0123456789._-@") != n)
        abort();
    if (strcmp(t->who.name, "admin-token") == 0 || strcmp(t->who.name, "read-token") == 0)
        abort();
    if (t->who.grants != fo_admin_role_grants(FO_ROLE_READ) &&
        t->who.grants != fo_admin_role_grants(FO_ROLE_OPERATE) &&
        t->who.grants != fo_admin_role_grants(FO_ROLE_ADMIN))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fo_token *list = NULL, *again = NULL;
    size_t n = 0, m = 0;
    struct fo_error err, err2;
    int rv = fo_tokens_parse((const char *)data, size, "tokens", &list, &n, &err);
    int rv2 = fo_tokens_parse((const char *)data, size, "tokens", &again, &m, &err2);

    if ((rv == 0) != (rv2 == 0))
        abort();
    if (rv != 0) {
        if (list != NULL || n != 0 || strncmp(err.msg, "tokens", 6) != 0 ||
            strcmp(err.msg, err2.msg) != 0)
            abort();
        return 0;
    }
    if (n != m || (n > 0 && memcmp(list, again, n * sizeof(*list)) != 0))
        abort();
    for (size_t i = 0; i < n; i++) {
        check_entry(&list[i]);
        for (size_t j = 0; j < i; j++)
            if (strcmp(list[i].who.name, list[j].who.name) == 0 ||
                memcmp(list[i].hash, list[j].hash, sizeof(list[i].hash)) == 0)
                abort();
    }
    free(list);
    free(again);
    return 0;
}
