/*
 * tests/fuzz/fuzz_snapshot.c — libFuzzer target for the snapshot decoder.
 */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fo_fuzz_family(FO_FAM_SNAPSHOT, data, size);
}
