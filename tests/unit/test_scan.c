/*
 * tests/unit/test_scan.c — the allocation-free msgpack pre-scan that protects
 * msgpack-c from lying container counts (see proto/scan.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/codec.h"
#include "proto/scan.h"
#include "tests/common/mpbuild.h"

#define U(x) ((uint64_t)(x))

static enum fo_proto_code scan(struct fo_buf b, size_t *used)
{
    struct fo_proto_error err;
    enum fo_proto_code rc = fo_msgpack_scan(b.data, b.len, FO_PROTO_MAX_DEPTH, used, &err);
    fo_buf_free(&b);
    return rc;
}

/* Every msgpack type, scanned to exactly its length. */
static void test_every_type(void **state)
{
    size_t used;
    static const char *const one[] = {
        "x00",
        "x7f",
        "xe0",
        "xc0",
        "xc2",
        "xc3",
        "xcc01",
        "xcd0102",
        "xce01020304",
        "xcf0102030405060708",
        "xd0ff",
        "xd1ffff",
        "xd2ffffffff",
        "xd3ffffffffffffffff",
        "xca00000000",
        "xcb0000000000000000",
        "xa0",
        "xa26162",
        "xd90161",
        "xda000161",
        "xdb0000000161",
        "xc40161",
        "xc5000161",
        "xc60000000161",
        "xc7010561",
        "xc800010561",
        "xc9000000010561",
        "xd40561",
        "xd5056162",
        "xd60561626364",
        "xd7050102030405060708",
        "xd805000102030405060708090a0b0c0d0e0f",
        "x90",
        "x80",
        "xdc0000",
        "xdd00000000",
        "xde0000",
        "xdf00000000",
        "x9201c0",
        "x8101c0",
        "xdc000101",
        "xde000101c0",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        struct fo_buf b = mp_build(one[i]);
        size_t len = b.len;
        if (scan(b, &used) != FO_PROTO_OK || used != len)
            fail_msg("%s: not scanned as one %zu-byte object", one[i], len);
    }
}

static void test_used_stops_at_first_object(void **state)
{
    size_t used = 0;
    (void)state;
    assert_int_equal(scan(mp_build("x9201c0c0c0"), &used), FO_PROTO_OK);
    assert_int_equal(used, 3);
}

static void test_reserved_byte(void **state)
{
    size_t used;
    (void)state;
    assert_int_equal(scan(mp_build("x91c1"), &used), FO_PROTO_EMALFORMED);
}

static void test_every_truncation_of_a_message(void **state)
{
    struct fo_buf b = mp_build("M3 s u s A2 s M1 s i s xc70305616263", "v", U(1), "list", "a", "k",
                               (int64_t)-5, "ext");
    size_t used;
    struct fo_proto_error err;
    (void)state;
    assert_int_equal(fo_msgpack_scan(b.data, b.len, 8, &used, &err), FO_PROTO_OK);
    assert_int_equal(used, b.len);
    for (size_t k = 0; k < b.len; k++) {
        /* Copy, so ASan catches a read past the end of the prefix. */
        uint8_t *p = malloc(k + 1);
        memcpy(p, b.data, k);
        if (fo_msgpack_scan(p, k, 8, &used, &err) != FO_PROTO_ETRUNC)
            fail_msg("prefix of %zu bytes not reported truncated", k);
        free(p);
    }
    fo_buf_free(&b);
}

static void test_depth_limit(void **state)
{
    size_t used;
    struct fo_proto_error err;
    struct fo_buf b = mp_build("A1 A1 A1 n");
    (void)state;
    assert_int_equal(fo_msgpack_scan(b.data, b.len, 3, &used, &err), FO_PROTO_OK);
    assert_int_equal(fo_msgpack_scan(b.data, b.len, 2, &used, &err), FO_PROTO_EDEPTH);
    assert_non_null(strstr(err.msg, "deeper than 2"));
    /* Empty containers do not nest anything. */
    fo_buf_free(&b);
    b = mp_build("A1 A1 A0");
    assert_int_equal(fo_msgpack_scan(b.data, b.len, 2, &used, &err), FO_PROTO_OK);
    fo_buf_free(&b);
    /* A 10 000-deep array is refused without recursion. */
    b.len = 10001;
    b.data = malloc(b.len);
    memset(b.data, 0x91, b.len - 1);
    b.data[b.len - 1] = 0xc0;
    assert_int_equal(scan(b, &used), FO_PROTO_EDEPTH);
}

static void test_lying_counts(void **state)
{
    size_t used;
    (void)state;
    /* Each would make msgpack-c allocate gigabytes; the scan refuses in O(1). */
    assert_int_equal(scan(mp_build("xdfffffffff"), &used), FO_PROTO_ETRUNC);
    assert_int_equal(scan(mp_build("xddffffffff"), &used), FO_PROTO_ETRUNC);
    assert_int_equal(scan(mp_build("xde0002c0c0c0"), &used), FO_PROTO_ETRUNC);
    assert_int_equal(scan(mp_build("xdbffffffff61"), &used), FO_PROTO_ETRUNC);
    assert_int_equal(scan(mp_build("xc9ffffffff01"), &used), FO_PROTO_ETRUNC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),    cmocka_unit_test(test_used_stops_at_first_object),
        cmocka_unit_test(test_reserved_byte), cmocka_unit_test(test_every_truncation_of_a_message),
        cmocka_unit_test(test_depth_limit),   cmocka_unit_test(test_lying_counts),
    };
    return cmocka_run_group_tests_name("scan", tests, NULL, NULL);
}
