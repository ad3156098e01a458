/*
 * tests/fuzz/fuzz_input.h — shared by the message fuzz targets: an input that starts
 * with a frame header announcing exactly the rest is unwrapped (so the golden vectors,
 * which are whole frames, are good seeds); any other input is taken as a payload.
 */
#ifndef FO_FUZZ_INPUT_H
#define FO_FUZZ_INPUT_H

#include <stdint.h>
#include <stdlib.h>

#include "proto/state.h"
#include "tests/common/roundtrip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static inline void fo_fuzz_payload(const uint8_t **data, size_t *size)
{
    const uint8_t *p;
    size_t n;
    if (fo_frame_payload(*data, *size, FO_SNAPSHOT_MAX, &p, &n, NULL) == FO_PROTO_OK) {
        *data = p;
        *size = n;
    }
}

/* Decode as fam; whatever decodes must re-encode canonically (else abort: a bug). */
static inline int fo_fuzz_family(enum fo_family fam, const uint8_t *data, size_t size)
{
    fo_fuzz_payload(&data, &size);
    if (!fo_rt_stable(fam, data, size))
        abort();
    return 0;
}

#endif
