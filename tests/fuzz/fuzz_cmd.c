/*
 * tests/fuzz/fuzz_cmd.c — libFuzzer target for the cmd decoder.
 */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fo_fuzz_family(FO_FAM_CMD, data, size);
}
