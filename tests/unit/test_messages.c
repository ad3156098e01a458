/*
 * tests/unit/test_messages.c — every message type: golden vectors (byte-exact),
 * decode/encode round trips, deep copies, and a table of malformed inputs, each of
 * which must fail with the right code and a message naming what was wrong.
 *
 * FO_GOLDEN_UPDATE=1 rewrites tests/golden/ from the samples (then review the diff).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/command.h"
#include "proto/frame.h"
#include "proto/health.h"
#include "tests/common/mpbuild.h"
#include "tests/common/samples.h"

#define U(x) ((uint64_t)(x))

static struct fo_buf read_file(const char *path)
{
    struct fo_buf b = {NULL, 0};
    FILE *f = fopen(path, "rb");
    long n;
    if (f == NULL)
        return b;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    b.data = malloc(n > 0 ? (size_t)n : 1);
    if (b.data != NULL && fread(b.data, 1, (size_t)n, f) == (size_t)n)
        b.len = (size_t)n;
    fclose(f);
    return b;
}

static void test_golden_vectors(void **state)
{
    const char *update = getenv("FO_GOLDEN_UPDATE");
    (void)state;
    for (size_t i = 0; i < fo_nsamples; i++) {
        char path[512];
        struct fo_buf want, file, again;
        struct fo_proto_error err;
        const uint8_t *p;
        size_t n;

        snprintf(path, sizeof(path), "%s/%s.frame", FO_GOLDEN_DIR, fo_samples[i].name);
        assert_int_equal(fo_samples[i].encode(&want), FO_PROTO_OK);
        if (update != NULL && strcmp(update, "1") == 0) {
            FILE *f = fopen(path, "wb");
            assert_non_null(f);
            assert_int_equal(fwrite(want.data, 1, want.len, f), want.len);
            fclose(f);
        }
        file = read_file(path);
        if (file.data == NULL || file.len != want.len ||
            memcmp(file.data, want.data, want.len) != 0)
            fail_msg("%s: encoding differs from the golden vector (wire format changed? "
                     "review, then FO_GOLDEN_UPDATE=1)",
                     path);
        /* Decoding the checked-in bytes and encoding again gives the same bytes. */
        assert_int_equal(
            fo_frame_payload(file.data, file.len, fo_rt_max(fo_samples[i].family), &p, &n, &err),
            FO_PROTO_OK);
        if (fo_rt_reencode(fo_samples[i].family, p, n, &again, &err) != FO_PROTO_OK)
            fail_msg("%s: %s", path, err.msg);
        assert_int_equal(again.len, file.len);
        assert_memory_equal(again.data, file.data, file.len);
        fo_buf_free(&again);
        fo_buf_free(&file);
        fo_buf_free(&want);
    }
}

static void test_sample_values_survive(void **state)
{
    struct fo_buf f;
    struct fo_proto_error err;
    struct fo_state st = {0};
    const uint8_t *p;
    size_t n;
    (void)state;

    assert_int_equal(fo_samples[8].encode(&f), FO_PROTO_OK);
    assert_string_equal(fo_samples[8].name, "snapshot");
    assert_int_equal(fo_frame_payload(f.data, f.len, FO_SNAPSHOT_MAX, &p, &n, &err), 0);
    assert_int_equal(fo_state_decode(p, n, &st, &err), FO_PROTO_OK);
    assert_string_equal(st.primary, "dr");
    assert_int_equal(st.epoch, 2);
    assert_int_equal(st.nverdicts, 4);
    assert_int_equal(st.verdicts[0].status, FO_STATUS_UNKNOWN);
    assert_null(st.verdicts[0].reason);
    assert_string_equal(st.verdicts[3].observer, "alertmanager");
    assert_non_null(st.operation);
    assert_int_equal(st.operation->kind, FO_OP_DRILL);
    assert_true(st.operation->force);
    assert_int_equal(st.operation->steps[0].state, FO_STEP_RUNNING);
    assert_int_equal(st.nhistory, 1);
    assert_int_equal(st.history[0].nsteps, 9);
    assert_int_equal(st.history[0].steps[2].attempts, 2);
    assert_string_equal(st.history[0].steps[8].action, "notify.slack");
    assert_int_equal(st.nevents, 2);
    assert_null(st.events[1].text);
    fo_state_free(&st);
    fo_buf_free(&f);
}

static void test_empty_state_roundtrip(void **state)
{
    struct fo_state empty = {0}, back = {0};
    struct fo_buf f;
    struct fo_proto_error err;
    const uint8_t *p;
    size_t n;
    (void)state;

    assert_int_equal(fo_state_encode(&empty, &f, &err), FO_PROTO_OK);
    assert_int_equal(fo_frame_payload(f.data, f.len, FO_SNAPSHOT_MAX, &p, &n, &err), 0);
    assert_int_equal(fo_state_decode(p, n, &back, &err), FO_PROTO_OK);
    assert_null(back.primary);
    assert_null(back.operation);
    assert_int_equal(back.nverdicts, 0);
    fo_state_free(&back);
    fo_buf_free(&f);
}

static void test_deep_copy(void **state)
{
    struct fo_state a, b;
    struct fo_buf fa, fb;
    (void)state;

    fo_sample_state(&a);
    assert_int_equal(fo_schema_copy(&fo_state_schema, &b, &a), FO_PROTO_OK);
    /* Nothing shared: freeing the original leaves the copy intact (ASan checks). */
    assert_ptr_not_equal(a.history[0].steps[0].name, b.history[0].steps[0].name);
    assert_int_equal(fo_state_encode(&a, &fa, NULL), FO_PROTO_OK);
    fo_state_free(&a);
    assert_int_equal(fo_state_encode(&b, &fb, NULL), FO_PROTO_OK);
    assert_int_equal(fa.len, fb.len);
    assert_memory_equal(fa.data, fb.data, fa.len);
    fo_state_free(&b);
    fo_buf_free(&fa);
    fo_buf_free(&fb);
}

static void test_encode_rejects_bad_enum(void **state)
{
    struct fo_cmd c = {.type = FO_CMD_MODE};
    struct fo_buf f;
    struct fo_proto_error err;
    (void)state;

    c.u.mode.mode = 7;
    c.u.mode.by = "x";
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_EVALUE);
    assert_null(f.data);
    c.type = FO_CMD_NTYPES;
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_EMSGTYPE);
}

/* The encoder refuses what the decoder would refuse: a committed entry that every node
 * then skips as undecodable must never be produced. */
static void test_encode_rejects_what_decode_would(void **state)
{
    char longname[FO_NAME_MAX + 2], cut[] = "caf\xc3\xa9!";
    struct fo_cmd c = {.type = FO_CMD_MODE};
    struct fo_buf f;
    struct fo_proto_error err;
    (void)state;

    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    c.u.mode.mode = FO_MODE_PAUSED;
    c.u.mode.by = longname; /* FO_NAME_MAX + 1 bytes */
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_EVALUE);
    assert_non_null(strstr(err.msg, "longer than its limit or not UTF-8"));
    assert_null(f.data);
    longname[FO_NAME_MAX] = '\0'; /* exactly the limit: fine */
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_OK);
    fo_buf_free(&f);
    c.u.mode.by = "x";
    c.u.mode.reason = "\xff\xfe not UTF-8";
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_EVALUE);

    /* fo_utf8_cut never leaves half a character behind */
    fo_utf8_cut(cut, 4); /* "caf" + the first byte of "\xc3\xa9" */
    assert_string_equal(cut, "caf");
    c.u.mode.reason = cut;
    assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_OK);
    fo_buf_free(&f);
}

/* ---- format versions (codec.h, "Versions") ------------------------------------- */

/* The format version a frame says: the encoder writes "v" first, as a fixint. */
static unsigned frame_v(const struct fo_buf *frame)
{
    assert_true(frame->len > 7);
    assert_memory_equal(frame->data + 5, "\xa1v", 2);
    return frame->data[7];
}

static void clear_step_outcomes(struct fo_operation *op)
{
    for (size_t i = 0; op != NULL && i < op->nsteps; i++)
        op->steps[i].outcome = FO_STEP_OUTCOME_NONE;
}

/* tests/golden/v1/ holds frames format v1 wrote (no step outcomes), frozen. A v2 node
 * reads them (outcome NONE), and writes a message that carries no v2 field byte for
 * byte as v1 did: the current sample without its outcomes IS the v1 frame. */
static void test_v1_frames(void **state)
{
    struct fo_buf v1, cur, again;
    struct fo_proto_error err;
    struct fo_cmd c;
    struct fo_state st;
    const uint8_t *p;
    size_t n;
    (void)state;

    /* a step command */
    v1 = read_file(FO_GOLDEN_DIR "/v1/cmd_step.frame");
    cur = read_file(FO_GOLDEN_DIR "/cmd_step.frame");
    assert_non_null(v1.data);
    assert_non_null(cur.data);
    assert_int_equal(frame_v(&v1), 1);
    assert_int_equal(frame_v(&cur), 2);
    assert_int_equal(fo_frame_payload(v1.data, v1.len, FO_FRAME_MAX_DEFAULT, &p, &n, &err),
                     FO_PROTO_OK);
    assert_int_equal(fo_cmd_decode(p, n, &c, &err), FO_PROTO_OK);
    assert_int_equal(c.u.step.state, FO_STEP_FAILED);
    assert_int_equal(c.u.step.outcome, FO_STEP_OUTCOME_NONE);
    assert_string_equal(c.u.step.error, "pg_promote: timed out after 60 s");
    fo_cmd_free(&c);
    assert_int_equal(fo_frame_payload(cur.data, cur.len, FO_FRAME_MAX_DEFAULT, &p, &n, &err),
                     FO_PROTO_OK);
    assert_int_equal(fo_cmd_decode(p, n, &c, &err), FO_PROTO_OK);
    assert_int_equal(c.u.step.outcome, FO_STEP_OUTCOME_FAILED_RETRYABLE);
    c.u.step.outcome = FO_STEP_OUTCOME_NONE;
    assert_int_equal(fo_cmd_encode(&c, &again, &err), FO_PROTO_OK);
    assert_int_equal(again.len, v1.len);
    assert_memory_equal(again.data, v1.data, v1.len);
    fo_cmd_free(&c);
    fo_buf_free(&again);
    fo_buf_free(&v1);
    fo_buf_free(&cur);

    /* a snapshot: the outcomes sit two levels down (history[].steps[]) */
    v1 = read_file(FO_GOLDEN_DIR "/v1/snapshot.frame");
    cur = read_file(FO_GOLDEN_DIR "/snapshot.frame");
    assert_non_null(v1.data);
    assert_non_null(cur.data);
    assert_int_equal(frame_v(&v1), 1);
    assert_int_equal(frame_v(&cur), 2);
    assert_int_equal(fo_frame_payload(v1.data, v1.len, FO_SNAPSHOT_MAX, &p, &n, &err), 0);
    assert_int_equal(fo_state_decode(p, n, &st, &err), FO_PROTO_OK);
    assert_int_equal(st.nhistory, 1);
    for (size_t i = 0; i < st.history[0].nsteps; i++) {
        assert_int_equal(st.history[0].steps[i].state, FO_STEP_DONE);
        assert_int_equal(st.history[0].steps[i].outcome, FO_STEP_OUTCOME_NONE);
    }
    fo_state_free(&st);
    assert_int_equal(fo_frame_payload(cur.data, cur.len, FO_SNAPSHOT_MAX, &p, &n, &err), 0);
    assert_int_equal(fo_state_decode(p, n, &st, &err), FO_PROTO_OK);
    assert_int_equal(st.history[0].steps[8].outcome, FO_STEP_OUTCOME_DONE);
    for (size_t i = 0; i < st.nhistory; i++)
        clear_step_outcomes(&st.history[i]);
    clear_step_outcomes(st.operation);
    assert_int_equal(fo_state_encode(&st, &again, &err), FO_PROTO_OK);
    assert_int_equal(again.len, v1.len);
    assert_memory_equal(again.data, v1.data, v1.len);
    fo_state_free(&st);
    fo_buf_free(&again);
    fo_buf_free(&v1);
    fo_buf_free(&cur);
}

/* Every outcome survives the wire; the frame is v2 exactly when one is written. */
static void test_outcome_roundtrip(void **state)
{
    (void)state;
    for (int o = FO_STEP_OUTCOME_NONE; fo_step_outcome_names[o] != NULL; o++) {
        struct fo_cmd c = {.type = FO_CMD_STEP}, back;
        struct fo_buf f;
        struct fo_proto_error err;
        const uint8_t *p;
        size_t n;

        c.u.step = (struct fo_cmd_step){
            .op_id = "op-1", .epoch = 1, .state = FO_STEP_FAILED, .at_ms = 5, .outcome = o};
        assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_OK);
        assert_int_equal(frame_v(&f), o == FO_STEP_OUTCOME_NONE ? 1 : 2);
        assert_int_equal(fo_frame_payload(f.data, f.len, FO_FRAME_MAX_DEFAULT, &p, &n, &err), 0);
        assert_int_equal(fo_cmd_decode(p, n, &back, &err), FO_PROTO_OK);
        assert_int_equal(back.u.step.outcome, o);
        fo_cmd_free(&back);
        fo_buf_free(&f);
    }
    {
        struct fo_cmd c = {.type = FO_CMD_STEP};
        struct fo_buf f;
        struct fo_proto_error err;
        c.u.step = (struct fo_cmd_step){.op_id = "op-1", .outcome = 42};
        assert_int_equal(fo_cmd_encode(&c, &f, &err), FO_PROTO_EVALUE);
        assert_null(f.data);
    }
}

/* A frame may only carry the fields of the version it claims, at any depth; the outcome
 * must be one of the names. */
static void test_version_field_sets(void **state)
{
    struct fo_cmd c;
    struct fo_state st;
    struct fo_proto_error err;
    struct fo_buf in, f;
    const uint8_t *p;
    size_t n;
    (void)state;

#define STEP9 "M9 s u s s s s s u s u s s s u s u s s"
#define STEPV(v, outcome)                                                                          \
    "v", U(v), "t", "step", "op_id", "op-1", "epoch", U(1), "index", U(0), "state", "failed",      \
        "attempt", U(1), "at_ms", U(5), "outcome", outcome
    in = mp_build(STEP9, STEPV(2, "refused"));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_OK);
    assert_int_equal(c.u.step.outcome, FO_STEP_OUTCOME_REFUSED);
    fo_cmd_free(&c);
    fo_buf_free(&in);
    /* "none" written out is the same as absent */
    in = mp_build(STEP9, STEPV(2, "none"));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_OK);
    assert_int_equal(c.u.step.outcome, FO_STEP_OUTCOME_NONE);
    fo_cmd_free(&c);
    fo_buf_free(&in);
    in = mp_build(STEP9, STEPV(1, "refused"));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EUNKNOWN);
    assert_string_equal(err.msg, "step: unknown field 'outcome' in a v=1 frame");
    assert_int_equal(c.type, FO_CMD_INIT); /* zeroed */
    fo_buf_free(&in);
    in = mp_build(STEP9, STEPV(2, "maybe"));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EVALUE);
    assert_string_equal(err.msg, "step.outcome: 'maybe' is not a known value");
    fo_buf_free(&in);
#undef STEP9
#undef STEPV

    /* Nested: a v2 snapshot relabelled v=1 is refused at the first outcome. */
    fo_sample_state(&st);
    assert_int_equal(fo_state_encode(&st, &f, &err), FO_PROTO_OK);
    fo_state_free(&st);
    assert_int_equal(frame_v(&f), 2);
    f.data[7] = 1;
    assert_int_equal(fo_frame_payload(f.data, f.len, FO_SNAPSHOT_MAX, &p, &n, &err), 0);
    assert_int_equal(fo_state_decode(p, n, &st, &err), FO_PROTO_EUNKNOWN);
    assert_string_equal(err.msg, "snapshot.history[0].steps[0]: unknown field 'outcome' in a v=1 "
                                 "frame");
    assert_null(st.history);
    fo_buf_free(&f);
}

/* ---- the rolling-upgrade gate (codec.h "Versions") ------------------------------- */

/* A node whose cluster format is lower never writes a newer field: a state carrying
 * v3-only fields (the archive's count) under cluster format 2 is refused, nothing is
 * written, and the error names both formats; without them it is written as v2, byte for
 * byte what an uncapped encoder writes. */
static void test_encode_capped_by_cluster_format(void **state)
{
    struct fo_state st;
    struct fo_buf f, g;
    struct fo_proto_error err;
    (void)state;

    fo_sample_state(&st); /* uses v2 fields (step outcomes), nothing newer */
    assert_int_equal(fo_state_encode_max(&st, 2, &f, &err), FO_PROTO_OK);
    assert_int_equal(frame_v(&f), 2);
    assert_int_equal(fo_state_encode(&st, &g, &err), FO_PROTO_OK);
    assert_int_equal(f.len, g.len);
    assert_memory_equal(f.data, g.data, f.len);
    fo_buf_free(&g);
    fo_buf_free(&f);
    assert_int_equal(fo_state_encode_max(&st, 1, &f, &err), FO_PROTO_EVERSION);
    assert_null(f.data);

    st.history_dropped = 7; /* v3 */
    assert_int_equal(fo_state_encode_max(&st, 2, &f, &err), FO_PROTO_EVERSION);
    assert_null(f.data);
    assert_int_equal(f.len, 0);
    assert_non_null(strstr(err.msg, "snapshot needs format v3 and the cluster is at v2"));
    assert_int_equal(fo_state_encode_max(&st, 3, &f, &err), FO_PROTO_OK);
    assert_int_equal(frame_v(&f), 3);
    fo_buf_free(&f);

    st.format = 4; /* v4: the cluster format itself */
    assert_int_equal(fo_state_encode_max(&st, FO_FORMAT_BASE, &f, &err), FO_PROTO_EVERSION);
    assert_int_equal(fo_state_encode_max(&st, 4, &f, &err), FO_PROTO_OK);
    assert_int_equal(frame_v(&f), 4);
    fo_buf_free(&f);
    assert_int_equal(fo_state_format(&st), 4);
    st.format = 0;
    assert_int_equal(fo_state_format(&st), FO_FORMAT_BASE); /* never raised: 0.1.0's */
    fo_state_free(&st);
}

/* A message type and an enum value carry their format like a field does. */
static void test_type_and_enum_value_since(void **state)
{
    struct fo_cmd c = {.type = FO_CMD_FORMAT};
    struct fo_buf f, in;
    struct fo_proto_error err;
    const uint8_t *p;
    size_t n;
    (void)state;

    /* "format" is a v4 type: refused under the 0.1.0 cluster format, stamped v4 else. */
    c.u.format = (struct fo_cmd_format){4, "alice@host", 9};
    assert_int_equal(fo_cmd_encode_max(&c, FO_FORMAT_BASE, &f, &err), FO_PROTO_EVERSION);
    assert_non_null(strstr(err.msg, "format needs format v4 and the cluster is at v3"));
    assert_null(f.data);
    assert_int_equal(fo_cmd_encode_max(&c, 4, &f, &err), FO_PROTO_OK);
    assert_int_equal(frame_v(&f), 4);
    assert_int_equal(fo_frame_payload(f.data, f.len, FO_FRAME_MAX_DEFAULT, &p, &n, &err), 0);
    assert_int_equal(fo_cmd_decode(p, n, &c, &err), FO_PROTO_OK);
    assert_int_equal(c.type, FO_CMD_FORMAT);
    assert_int_equal(c.u.format.format, 4);
    fo_cmd_free(&c);
    fo_buf_free(&f);
    /* The same type in an older frame was never written by anyone: refused. */
    in = mp_build("M5 s u s s s u s s s u", "v", U(3), "t", "format", "format", U(4), "by", "a",
                  "at_ms", U(1));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EMSGTYPE);
    assert_string_equal(err.msg, "message type 'format' in a v=3 frame");
    fo_buf_free(&in);

    /* An enum value added by v2 in a schema whose field is v1. */
    {
        struct obj {
            int e;
        } o = {1};
        static const char *const names[] = {"old", "new", NULL};
        static const uint32_t since[] = {0, 2};
        static const struct fo_field fields[] = {FO_ENUM_V(struct obj, e, 0, names, since)};
        static const struct fo_schema schema = FO_SCHEMA(struct obj, fields);
        static const struct fo_msg_type type = {"obj", 0, &schema, 0};
        int id;

        assert_int_equal(fo_msg_version(&type, &o), 2);
        assert_int_equal(fo_msg_encode_max(&type, &o, 1, &f, &err), FO_PROTO_EVERSION);
        o.e = 0;
        assert_int_equal(fo_msg_version(&type, &o), 1);
        in = mp_build("M3 s u s s s s", "v", U(1), "t", "obj", "e", "new");
        assert_int_equal(fo_msg_decode(&type, 1, in.data, in.len, &id, &o, &err), FO_PROTO_EVALUE);
        assert_string_equal(err.msg, "obj.e: 'new' is not a v=1 value");
        fo_buf_free(&in);
        in = mp_build("M3 s u s s s s", "v", U(2), "t", "obj", "e", "new");
        assert_int_equal(fo_msg_decode(&type, 1, in.data, in.len, &id, &o, &err), FO_PROTO_OK);
        assert_int_equal(o.e, 1);
        fo_buf_free(&in);
    }
}

/* ---- malformed inputs ----------------------------------------------------------- */

/* Decode payload as a health report; expect code and a message containing needle. */
static void expect_health(struct fo_buf in, enum fo_proto_code code, const char *needle)
{
    struct fo_health h;
    struct fo_proto_error err = {0};
    enum fo_proto_code rc = fo_health_decode(in.data, in.len, &h, &err);
    if (rc != code || strstr(err.msg, needle) == NULL)
        fail_msg("got %s \"%s\", want %s containing \"%s\"", fo_proto_code_name(rc), err.msg,
                 fo_proto_code_name(code), needle);
    /* On error nothing is left to free. */
    assert_null(h.observer);
    assert_null(h.detail);
    fo_buf_free(&in);
}

#define HDR "s u s s "
#define ENV "v", U(1), "t", "health"
/* The valid report's fields after the envelope (6 required fields). */
#define OK6 "s u s s s s s s s s s u"
#define OK6V                                                                                       \
    "id", U(1), "observer", "am", "region", "us-east-1", "component", "pg", "status", "down",      \
        "at_ms", U(5)

static void test_valid_health_baseline(void **state)
{
    struct fo_buf in = mp_build("M8 " HDR OK6, ENV, OK6V);
    struct fo_health h;
    struct fo_proto_error err;
    (void)state;
    assert_int_equal(fo_health_decode(in.data, in.len, &h, &err), FO_PROTO_OK);
    assert_string_equal(h.region, "us-east-1");
    assert_int_equal(h.status, FO_STATUS_DOWN);
    assert_null(h.token);
    fo_health_free(&h);
    fo_buf_free(&in);
}

static void test_malformed_table(void **state)
{
    char big[FO_NAME_MAX + 2];
    (void)state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    /* framing of the msgpack itself */
    expect_health(mp_build(""), FO_PROTO_ETRUNC, "empty");
    expect_health(mp_build("xc1"), FO_PROTO_EMALFORMED, "0xc1");
    expect_health(mp_build("M8 " HDR OK6 " n", ENV, OK6V), FO_PROTO_ETRAILING, "1 trailing");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s", ENV, "id", U(1), "observer", "am",
                           "region", "us-east-1", "component", "pg", "status"),
                  FO_PROTO_ETRUNC, "ends inside");
    expect_health(mp_build("xdf7fffffff"), FO_PROTO_ETRUNC, "2147483647 elements");
    expect_health(mp_build("xdd7fffffff80"), FO_PROTO_ETRUNC, "elements");
    expect_health(mp_build("xdbffffff0061"), FO_PROTO_ETRUNC, "string of");
    expect_health(mp_build("A1 A1 A1 A1 A1 A1 A1 A1 A1 A1 n"), FO_PROTO_EDEPTH, "nested");
    expect_health(mp_build("A1 s", "health"), FO_PROTO_EMALFORMED, "not a msgpack map");
    /* envelope */
    expect_health(mp_build("M1 s s", "t", "health"), FO_PROTO_EMISSING, "'v'");
    expect_health(mp_build("M1 s u", "v", U(1)), FO_PROTO_EMISSING, "'t'");
    expect_health(mp_build("M2 s u s s", "v", U(FO_PROTO_VERSION + 1), "t", "health"),
                  FO_PROTO_EVERSION, "v=1 to v=4");
    expect_health(mp_build("M2 s u s s", "v", U(0), "t", "health"), FO_PROTO_EVERSION, "version");
    expect_health(mp_build("M2 s s s s", "v", "1", "t", "health"), FO_PROTO_EVERSION, "version");
    expect_health(mp_build("M2 s u s u", "v", U(1), "t", U(3)), FO_PROTO_EFIELDTYPE, "t:");
    expect_health(mp_build("M2 s u s s", "v", U(1), "t", "req"), FO_PROTO_EMSGTYPE, "'req'");
    expect_health(mp_build("M3 s u s s s u", "v", U(1), "t", "health", "v", U(1)), FO_PROTO_EDUP,
                  "'v' appears twice");
    /* fields */
    expect_health(mp_build("M7 " HDR "s u s s s s s s s s", ENV, "id", U(1), "observer", "am",
                           "region", "us-east-1", "component", "pg", "status", "down"),
                  FO_PROTO_EMISSING, "health: missing required field 'at_ms'");
    expect_health(mp_build("M9 " HDR OK6 " s s", ENV, OK6V, "colour", "red"), FO_PROTO_EUNKNOWN,
                  "unknown field 'colour'");
    expect_health(mp_build("M9 " HDR OK6 " s u", ENV, OK6V, "at_ms", U(1)), FO_PROTO_EDUP,
                  "'at_ms' appears twice");
    expect_health(mp_build("M9 " HDR OK6 " u u", ENV, OK6V, U(1), U(1)), FO_PROTO_EFIELDTYPE,
                  "key is not a string");
    expect_health(mp_build("M8 " HDR "s s s s s s s s s s s u", ENV, "id", "1", "observer", "am",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EFIELDTYPE, "health.id: expected an integer");
    expect_health(mp_build("M8 " HDR "s i s s s s s s s s s u", ENV, "id", (int64_t)-1, "observer",
                           "am", "region", "us-east-1", "component", "pg", "status", "down",
                           "at_ms", U(5)),
                  FO_PROTO_EVALUE, "health.id: must not be negative");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s s s f", ENV, "id", U(1), "observer", "am",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           1.5),
                  FO_PROTO_EFIELDTYPE, "health.at_ms");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s s s u", ENV, "id", U(1), "observer", big,
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_ELIMIT, "health.observer: string of 65 bytes, limit is 64");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s s s u", ENV, "id", U(1), "observer", "",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EVALUE, "health.observer: must not be empty");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s s s u", ENV, "id", U(1), "observer", "am",
                           "region", "us-east-1", "component", "pg", "status", "sideways", "at_ms",
                           U(5)),
                  FO_PROTO_EVALUE, "health.status: 'sideways' is not a known value");
    expect_health(mp_build("M8 " HDR "s u s s s s s s s b s u", ENV, "id", U(1), "observer", "am",
                           "region", "us-east-1", "component", "pg", "status", 1, "at_ms", U(5)),
                  FO_PROTO_EFIELDTYPE, "health.status: expected a string");
    expect_health(mp_build("M8 " HDR "s u s xa3ff6161 s s s s s s s u", ENV, "id", U(1), "observer",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EVALUE, "health.observer: not valid UTF-8");
    expect_health(mp_build("M8 " HDR "s u s xa3610062 s s s s s s s u", ENV, "id", U(1), "observer",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EVALUE, "health.observer: contains a NUL byte");
    expect_health(mp_build("M8 " HDR "s u s xc40161 s s s s s s s u", ENV, "id", U(1), "observer",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EFIELDTYPE, "health.observer: expected a string");
    /* An optional field may be nil (= absent), a required one may not. */
    expect_health(mp_build("M9 " HDR OK6 " s A1 s", ENV, OK6V, "detail", "x"), FO_PROTO_EFIELDTYPE,
                  "health.detail: expected a string");
    expect_health(mp_build("M8 " HDR "s u s n s s s s s s s u", ENV, "id", U(1), "observer",
                           "region", "us-east-1", "component", "pg", "status", "down", "at_ms",
                           U(5)),
                  FO_PROTO_EFIELDTYPE, "health.observer: expected a string");
}

/* Errors inside nested messages name the full path. */
static void test_nested_paths(void **state)
{
    struct fo_cmd c;
    struct fo_state st;
    struct fo_admin_req r;
    struct fo_proto_error err;
    struct fo_buf in;
    (void)state;

    in = mp_build("M12 s u s s s s s u s s s s s s s s s u s s s u s A2 M2 s s s s M2 s s s u", "v",
                  U(1), "t", "op_begin", "id", "op-1", "kind", U(0), "from", "main", "to", "dr",
                  "reason", "", "requested_by", "ctl", "epoch", U(1), "kind", "auto", "at_ms", U(1),
                  "steps", "name", "a", "action", "b", "name", "c", "action", U(3));
    /* The first 'kind' is an integer: reported at that field, before the duplicate. */
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EFIELDTYPE);
    assert_non_null(strstr(err.msg, "op_begin.kind"));
    fo_buf_free(&in);

    in = mp_build("M11 s u s s s s s s s s s s s s s s s u s u s A2 M2 s s s s M2 s s s u", "v",
                  U(1), "t", "op_begin", "id", "op-1", "kind", "auto", "from", "main", "to", "dr",
                  "reason", "", "requested_by", "ctl", "epoch", U(1), "at_ms", U(1), "steps",
                  "name", "a", "action", "b", "name", "c", "action", U(3));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EFIELDTYPE);
    assert_string_equal(err.msg, "op_begin.steps[1].action: expected a string");
    assert_int_equal(c.type, FO_CMD_INIT); /* zeroed */
    fo_buf_free(&in);

    in = mp_build("M7 s u s s s u s s s u s A1 M1 s u s A0", "v", U(1), "t", "snapshot", "epoch",
                  U(1), "mode", "auto", "mode_since_ms", U(0), "verdicts", "observer", U(1),
                  "operation");
    assert_int_equal(fo_state_decode(in.data, in.len, &st, &err), FO_PROTO_EFIELDTYPE);
    assert_string_equal(err.msg, "snapshot.verdicts[0].observer: expected a string");
    fo_buf_free(&in);

    in = mp_build("M5 s u s s s u s s s M2 s s s s", "v", U(1), "t", "req", "id", U(1), "cmd",
                  "status", "args", "to", "dr", "to", "main");
    assert_int_equal(fo_admin_req_decode(in.data, in.len, &r, &err), FO_PROTO_EDUP);
    assert_non_null(strstr(err.msg, "req.args{1}: key appears twice"));
    fo_buf_free(&in);

    in = mp_build("M6 s u s s s s s s s u s u", "v", U(1), "t", "op_end", "op_id", "x", "result",
                  "running", "epoch", U(1), "at_ms", U(1));
    assert_int_equal(fo_cmd_decode(in.data, in.len, &c, &err), FO_PROTO_EVALUE);
    assert_non_null(strstr(err.msg, "'running' does not end"));
    fo_buf_free(&in);
}

static void test_array_limit(void **state)
{
    /* 65 steps: one over FO_MAX_STEPS. Built by hand: a header and 65 small maps. */
    msgpack_sbuffer sb;
    msgpack_packer pk;
    struct fo_cmd c;
    struct fo_proto_error err;
    const char *kv[] = {"v",     "t",     "id",   "kind", "from", "to", "reason", "requested_by",
                        "epoch", "at_ms", "steps"};
    (void)state;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 11);
    for (size_t i = 0; i < 11; i++) {
        msgpack_pack_str_with_body(&pk, kv[i], strlen(kv[i]));
        if (i == 0 || i == 8 || i == 9)
            msgpack_pack_uint64(&pk, 1);
        else if (i == 1)
            msgpack_pack_str_with_body(&pk, "op_begin", 8);
        else if (i == 3)
            msgpack_pack_str_with_body(&pk, "manual", 6);
        else if (i == 10) {
            msgpack_pack_array(&pk, FO_MAX_STEPS + 1);
            for (int k = 0; k < FO_MAX_STEPS + 1; k++) {
                msgpack_pack_map(&pk, 2);
                msgpack_pack_str_with_body(&pk, "name", 4);
                msgpack_pack_str_with_body(&pk, "s", 1);
                msgpack_pack_str_with_body(&pk, "action", 6);
                msgpack_pack_str_with_body(&pk, "http", 4);
            }
        } else
            msgpack_pack_str_with_body(&pk, "x", 1);
    }
    assert_int_equal(fo_cmd_decode((uint8_t *)sb.data, sb.size, &c, &err), FO_PROTO_ELIMIT);
    assert_string_equal(err.msg, "op_begin.steps: 65 elements, limit is 64");
    msgpack_sbuffer_destroy(&sb);
}

static void test_code_names(void **state)
{
    (void)state;
    for (int c = FO_PROTO_OK; c <= FO_PROTO_ENOMEM; c++)
        assert_string_not_equal(fo_proto_code_name((enum fo_proto_code)c), "unknown");
    assert_string_equal(fo_proto_code_name((enum fo_proto_code)99), "unknown");
    assert_string_equal(fo_cmd_type_name(FO_CMD_OP_BEGIN), "op_begin");
    assert_null(fo_cmd_type_name(FO_CMD_NTYPES));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_vectors),
        cmocka_unit_test(test_sample_values_survive),
        cmocka_unit_test(test_empty_state_roundtrip),
        cmocka_unit_test(test_deep_copy),
        cmocka_unit_test(test_encode_rejects_bad_enum),
        cmocka_unit_test(test_encode_rejects_what_decode_would),
        cmocka_unit_test(test_v1_frames),
        cmocka_unit_test(test_outcome_roundtrip),
        cmocka_unit_test(test_version_field_sets),
        cmocka_unit_test(test_encode_capped_by_cluster_format),
        cmocka_unit_test(test_type_and_enum_value_since),
        cmocka_unit_test(test_valid_health_baseline),
        cmocka_unit_test(test_malformed_table),
        cmocka_unit_test(test_nested_paths),
        cmocka_unit_test(test_array_limit),
        cmocka_unit_test(test_code_names),
    };
    return cmocka_run_group_tests_name("messages", tests, NULL, NULL);
}
