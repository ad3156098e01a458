/*
 * tests/common/samples.h — one realistic sample of every message type. The golden
 * vectors in tests/golden/ are these samples encoded; a change of the wire format shows
 * up as a diff there. tests/golden/v1/ keeps the frames format v1 wrote (before step
 * outcomes), frozen: newer decoders must keep reading them.
 */
#ifndef FO_TEST_SAMPLES_H
#define FO_TEST_SAMPLES_H

#include "proto/state.h"
#include "tests/common/roundtrip.h"

struct fo_sample {
    const char *name; /* golden file: tests/golden/<name>.frame */
    enum fo_family family;
    /* Encode the sample into out (a whole frame, owned by the caller). */
    enum fo_proto_code (*encode)(struct fo_buf *out);
};

extern const struct fo_sample fo_samples[];
extern const size_t fo_nsamples;

/* A sample state with every field and nested array populated; free with
 * fo_state_free(). */
void fo_sample_state(struct fo_state *st);

#endif
