/*
 * tests/fuzz/fuzz_config.c — libFuzzer target for the YAML config loader. Any input is
 * either refused, with a message naming the file and a zeroed config, or it loads into a
 * config that keeps the loader's promises (a self among the peers, at most
 * FO_CONFIG_MAX_PEERS of them, a 64-digit digest) and loads again to the same digest.
 * Anything else aborts. (Any number of peers loads: they are the address book, and only
 * --init asks for an odd number, consensus/members.h.)
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_loaded(const struct fo_config *cfg, const char *data, size_t size)
{
    struct fo_config again = {0};
    struct fo_error err = {0};

    if (cfg->self == NULL || cfg->npeers == 0 || cfg->npeers > FO_CONFIG_MAX_PEERS ||
        strlen(cfg->digest) != 64 || fo_config_site(cfg, cfg->initial_primary) == NULL ||
        cfg->admin.listen == NULL || cfg->admin.token_file == NULL)
        abort();
    if (fo_config_load_buffer("fuzz.yaml", data, size, &again, &err) != 0 ||
        strcmp(again.digest, cfg->digest) != 0)
        abort();
    fo_config_free(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fo_config cfg = {0};
    struct fo_error err = {0};

    if (fo_config_load_buffer("fuzz.yaml", (const char *)data, size, &cfg, &err) == 0) {
        check_loaded(&cfg, (const char *)data, size);
        fo_config_free(&cfg);
    } else {
        static const struct fo_config zero;
        /* Refused: a message naming the file, and nothing left to free. */
        if (strncmp(err.msg, "fuzz.yaml", 9) != 0 || memcmp(&cfg, &zero, sizeof(zero)) != 0)
            abort();
    }
    return 0;
}
