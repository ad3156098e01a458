/*
 * tests/fuzz/fuzz_admin.c — libFuzzer target for the admin protocol: every input is
 * decoded both as a request (what a node reads) and as a reply (what failoverctl reads).
 */
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fo_fuzz_family(FO_FAM_REQ, data, size);
    return fo_fuzz_family(FO_FAM_REPLY, data, size);
}
