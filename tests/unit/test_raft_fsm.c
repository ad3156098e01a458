/*
 * tests/unit/test_raft_fsm.c — the libraft adapter: 8-byte padding of every buffer
 * handed to libraft 0.15 (raft_fsm.h says why) and its removal before the strict decode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "consensus/raft_fsm.h"
#include "proto/command.h"

static void test_pad_lengths(void **state)
{
    (void)state;
    assert_int_equal(fo_raft_pad(0), 0);
    assert_int_equal(fo_raft_pad(1), 8);
    assert_int_equal(fo_raft_pad(8), 8);
    assert_int_equal(fo_raft_pad(57), 64);
    assert_int_equal(fo_raft_pad(521), 528);
}

/* A real command frame, padded as node.c pads it, applies; its padding is invisible. */
static void test_padded_entry_applies(void **state)
{
    struct fo_raft_fsm rf;
    struct fo_cmd cmd = {.type = FO_CMD_INIT};
    struct fo_buf frame;
    struct raft_buffer buf;
    void *result = NULL;
    size_t n;

    (void)state;
    cmd.u.init.cluster = "c";
    cmd.u.init.primary = "main";
    cmd.u.init.at_ms = 1;
    assert_int_equal(fo_cmd_encode(&cmd, &frame, NULL), FO_PROTO_OK);
    n = fo_raft_pad(frame.len);
    assert_true(n > frame.len); /* the sample really needs padding */
    buf.base = calloc(1, n);
    memcpy(buf.base, frame.data, frame.len);
    buf.len = n;
    assert_int_equal(fo_raft_unpad(buf.base, buf.len), frame.len);
    fo_raft_fsm_init(&rf);
    assert_int_equal(rf.raft.apply(&rf.raft, &buf, &result), 0);
    assert_ptr_equal(result, &rf.fsm.last);
    assert_int_equal(rf.fsm.last.outcome, FO_FSM_APPLIED);
    assert_string_equal(rf.fsm.state.primary, "main");
    fo_raft_fsm_close(&rf);
    free(buf.base);
    fo_buf_free(&frame);
}

static int rejects;
static void count_reject(struct fo_raft_fsm *rf, const struct fo_fsm_result *res)
{
    (void)rf;
    (void)res;
    rejects++;
}

/* Anything but up to 7 zero bytes after one frame is left for the decoder to refuse. */
static void test_bad_padding_is_not_stripped(void **state)
{
    struct fo_raft_fsm rf;
    uint8_t b[16] = {0, 0, 0, 2, 0x80, 0x80};
    struct raft_buffer buf = {.base = b};
    void *result = NULL;
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;

    (void)state;
    assert_int_equal(fo_raft_unpad(b, 6), 6);   /* exact frame */
    assert_int_equal(fo_raft_unpad(b, 13), 6);  /* 7 zeros */
    assert_int_equal(fo_raft_unpad(b, 14), 14); /* 8 zeros: not padding */
    b[8] = 1;
    assert_int_equal(fo_raft_unpad(b, 12), 12); /* non-zero tail */
    assert_int_equal(fo_raft_unpad(b, 3), 3);   /* shorter than a header */
    assert_int_equal(fo_raft_unpad(b, 5), 5);   /* header promises more */
    fo_raft_fsm_init(&rf);
    rf.on_reject = count_reject;
    rejects = 0;
    buf.len = 12;
    /* Undecodable: the FSM halts. apply does not fail (a 0.15 follower would leave the
     * cluster), but nothing is applied, and no snapshot is taken of the halted state,
     * which is not the one of libraft's last_applied (fsm.h, HALTED). */
    assert_int_equal(rf.raft.apply(&rf.raft, &buf, &result), 0);
    assert_ptr_equal(result, &rf.fsm.last);
    assert_int_equal(rf.fsm.last.outcome, FO_FSM_HALTED);
    assert_true(rf.fsm.halted);
    assert_int_equal(rejects, 1);
    assert_int_equal(rf.raft.snapshot(&rf.raft, &bufs, &n), RAFT_BUSY);
    /* The next entries: refused, told once. */
    assert_int_equal(rf.raft.apply(&rf.raft, &buf, &result), 0);
    assert_int_equal(rejects, 1);
    assert_int_equal(rf.fsm.applied, 0);
    fo_raft_fsm_close(&rf);
}

/* Snapshots come out padded and restore through the same unpadding. */
static void test_snapshot_padded_roundtrip(void **state)
{
    struct fo_raft_fsm a, b;
    struct fo_cmd cmd = {.type = FO_CMD_INIT};
    struct raft_buffer *bufs = NULL;
    unsigned n = 0;

    (void)state;
    fo_raft_fsm_init(&a);
    cmd.u.init.cluster = "c";
    cmd.u.init.primary = "main";
    cmd.u.init.at_ms = 1;
    fo_fsm_apply(&a.fsm, &cmd);
    assert_int_equal(a.raft.snapshot(&a.raft, &bufs, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(bufs[0].len % 8, 0);
    fo_raft_fsm_init(&b);
    assert_int_equal(b.raft.restore(&b.raft, &bufs[0]), 0); /* takes bufs[0].base */
    assert_string_equal(b.fsm.state.cluster, "c");
    raft_free(bufs);
    fo_raft_fsm_close(&a);
    fo_raft_fsm_close(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pad_lengths),
        cmocka_unit_test(test_padded_entry_applies),
        cmocka_unit_test(test_bad_padding_is_not_stripped),
        cmocka_unit_test(test_snapshot_padded_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
