/*
 * tests/unit/test_frame.c — the incremental frame reader: whole frames, byte by byte,
 * random splits, several frames in one chunk, and every way a stream can be bad.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/frame.h"
#include "tests/common/samples.h"

/* Build a stream of every sample frame back to back. */
static struct fo_buf all_samples(size_t *nframes)
{
    struct fo_buf stream = {NULL, 0};
    for (size_t i = 0; i < fo_nsamples; i++) {
        struct fo_buf f;
        assert_int_equal(fo_samples[i].encode(&f), FO_PROTO_OK);
        stream.data = realloc(stream.data, stream.len + f.len);
        assert_non_null(stream.data);
        memcpy(stream.data + stream.len, f.data, f.len);
        stream.len += f.len;
        fo_buf_free(&f);
    }
    *nframes = fo_nsamples;
    return stream;
}

/* Feed the stream in chunks whose sizes come from next_chunk; check that the frames
 * come out whole, in order, identical to the samples. */
static void feed_in_chunks(size_t (*next_chunk)(void *), void *arg)
{
    size_t nframes, got = 0, pos = 0;
    struct fo_buf stream = all_samples(&nframes);
    struct fo_frame_reader r;
    struct fo_proto_error err;

    fo_frame_reader_init(&r, 0);
    while (pos < stream.len) {
        size_t chunk = next_chunk(arg);
        if (chunk > stream.len - pos)
            chunk = stream.len - pos;
        const uint8_t *p = stream.data + pos;
        size_t left = chunk;
        while (left > 0) {
            size_t used;
            struct fo_buf payload;
            assert_int_equal(fo_frame_reader_feed(&r, p, left, &used, &payload, &err), FO_PROTO_OK);
            assert_true(used > 0 && used <= left);
            p += used;
            left -= used;
            if (payload.data != NULL) {
                struct fo_buf want;
                assert_true(got < nframes);
                assert_int_equal(fo_samples[got].encode(&want), FO_PROTO_OK);
                assert_int_equal(payload.len, want.len - FO_FRAME_HEADER);
                assert_memory_equal(payload.data, want.data + FO_FRAME_HEADER, payload.len);
                fo_buf_free(&want);
                fo_buf_free(&payload);
                got++;
            }
        }
        pos += chunk;
    }
    assert_int_equal(got, nframes);
    assert_true(fo_frame_reader_idle(&r));
    fo_frame_reader_close(&r);
    fo_buf_free(&stream);
}

static size_t one_byte(void *arg)
{
    (void)arg;
    return 1;
}

static size_t everything(void *arg)
{
    (void)arg;
    return SIZE_MAX;
}

/* xorshift64*: a seeded, reproducible PRNG (the seed is printed on failure). */
static size_t random_chunk(void *arg)
{
    uint64_t *s = arg;
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return 1 + (size_t)((*s * UINT64_C(2685821657736338717)) % 97);
}

static void test_byte_by_byte(void **state)
{
    (void)state;
    feed_in_chunks(one_byte, NULL);
}

static void test_one_chunk(void **state)
{
    (void)state;
    feed_in_chunks(everything, NULL);
}

static void test_random_splits(void **state)
{
    (void)state;
    /* Fixed seeds: a failure reproduces on every run. */
    for (uint64_t seed = 1; seed <= 200; seed++) {
        uint64_t s = seed * UINT64_C(0x9E3779B97F4A7C15);
        feed_in_chunks(random_chunk, &s);
    }
}

static void test_oversize_rejected_before_alloc(void **state)
{
    struct fo_frame_reader r;
    struct fo_proto_error err;
    struct fo_buf out;
    size_t used;
    /* Announces 4 GiB - 1 with a 64-byte limit: refused at the header. */
    const uint8_t hdr[] = {0xff, 0xff, 0xff, 0xff, 0x80};
    (void)state;

    fo_frame_reader_init(&r, 64);
    assert_int_equal(fo_frame_reader_feed(&r, hdr, sizeof(hdr), &used, &out, &err),
                     FO_PROTO_ETOOBIG);
    assert_null(r.payload);
    assert_non_null(strstr(err.msg, "limit is 64"));
    /* Sticky: the stream cannot be resynchronised. */
    assert_int_equal(fo_frame_reader_feed(&r, hdr + 4, 1, &used, &out, &err), FO_PROTO_ETOOBIG);
    fo_frame_reader_close(&r);
}

static void test_limit_is_inclusive(void **state)
{
    struct fo_frame_reader r;
    struct fo_proto_error err;
    struct fo_buf out;
    size_t used;
    uint8_t frame[4 + 64] = {0, 0, 0, 64};
    (void)state;

    memset(frame + 4, 0x90, 64);
    fo_frame_reader_init(&r, 64);
    assert_int_equal(fo_frame_reader_feed(&r, frame, sizeof(frame), &used, &out, &err),
                     FO_PROTO_OK);
    assert_int_equal(used, sizeof(frame));
    assert_int_equal(out.len, 64);
    fo_buf_free(&out);
    fo_frame_reader_close(&r);
}

static void test_zero_length_rejected(void **state)
{
    struct fo_frame_reader r;
    struct fo_proto_error err;
    struct fo_buf out;
    size_t used;
    const uint8_t hdr[] = {0, 0, 0, 0};
    (void)state;

    fo_frame_reader_init(&r, 0);
    assert_int_equal(fo_frame_reader_feed(&r, hdr, 4, &used, &out, &err), FO_PROTO_EMALFORMED);
    assert_non_null(strstr(err.msg, "length 0"));
    fo_frame_reader_close(&r);
}

static void test_partial_frame_is_not_idle(void **state)
{
    struct fo_frame_reader r;
    struct fo_proto_error err;
    struct fo_buf out;
    size_t used;
    const uint8_t part[] = {0, 0, 0, 10, 0x81};
    (void)state;

    fo_frame_reader_init(&r, 0);
    assert_true(fo_frame_reader_idle(&r));
    assert_int_equal(fo_frame_reader_feed(&r, part, 2, &used, &out, &err), FO_PROTO_OK);
    assert_false(fo_frame_reader_idle(&r));
    assert_int_equal(fo_frame_reader_feed(&r, part + 2, 3, &used, &out, &err), FO_PROTO_OK);
    assert_null(out.data);
    assert_false(fo_frame_reader_idle(&r));
    fo_frame_reader_close(&r); /* frees the partial payload (ASan checks) */
}

static void test_frame_payload_one_shot(void **state)
{
    struct fo_proto_error err;
    const uint8_t *p;
    size_t n;
    const uint8_t ok[] = {0, 0, 0, 1, 0x80};
    const uint8_t shorter[] = {0, 0, 0, 2, 0x80};
    const uint8_t longer[] = {0, 0, 0, 1, 0x80, 0x80};
    const uint8_t tiny[] = {0, 0};
    (void)state;

    assert_int_equal(fo_frame_payload(ok, sizeof(ok), 0, &p, &n, &err), FO_PROTO_OK);
    assert_ptr_equal(p, ok + 4);
    assert_int_equal(n, 1);
    assert_int_equal(fo_frame_payload(shorter, sizeof(shorter), 0, &p, &n, &err), FO_PROTO_ETRUNC);
    assert_int_equal(fo_frame_payload(longer, sizeof(longer), 0, &p, &n, &err), FO_PROTO_ETRAILING);
    assert_int_equal(fo_frame_payload(tiny, sizeof(tiny), 0, &p, &n, &err), FO_PROTO_ETRUNC);
    assert_int_equal(fo_frame_payload(ok, sizeof(ok), 0, &p, &n, &err), FO_PROTO_OK);
    assert_int_equal(fo_frame_payload(longer, 5, 0, &p, &n, &err), FO_PROTO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_by_byte),
        cmocka_unit_test(test_one_chunk),
        cmocka_unit_test(test_random_splits),
        cmocka_unit_test(test_oversize_rejected_before_alloc),
        cmocka_unit_test(test_limit_is_inclusive),
        cmocka_unit_test(test_zero_length_rejected),
        cmocka_unit_test(test_partial_frame_is_not_idle),
        cmocka_unit_test(test_frame_payload_one_shot),
    };
    return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
