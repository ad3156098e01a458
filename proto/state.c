/*
 * proto/state.c — schemas of the replicated state; see state.h.
 */
#include "proto/state.h"

#include <string.h>

const char *const fo_status_names[] = {"unknown", "up", "down", NULL};
const char *const fo_lease_what_names[] = {"expired", "fenced", NULL};
const char *const fo_op_kind_names[] = {"auto", "manual", "switchover", "drill", "rejoin", NULL};
const uint32_t fo_op_kind_since[FO_OP_KIND_COUNT] = {[FO_OP_REJOIN] = 4};

const char *const fo_step_state_names[] = {"pending", "running", "done", "failed", "skipped", NULL};
const char *const fo_step_outcome_names[] = {"none",
                                             "done",
                                             "skipped",
                                             "skipped_no_component",
                                             "skipped_not_repeated",
                                             "failed_retryable",
                                             "refused",
                                             NULL};
const char *const fo_op_result_names[] = {"running", "succeeded", "failed", "aborted", NULL};
const char *const fo_mode_names[] = {"auto", "paused", NULL};

bool fo_op_kind_moves_primary(int kind)
{
    return kind == FO_OP_AUTO || kind == FO_OP_MANUAL || kind == FO_OP_SWITCHOVER;
}

bool fo_step_outcome_fits(int state, int outcome)
{
    switch (outcome) {
    case FO_STEP_OUTCOME_NONE:
        return true;
    case FO_STEP_OUTCOME_DONE:
        return state == FO_STEP_DONE;
    case FO_STEP_OUTCOME_SKIPPED:
    case FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT:
    case FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED:
        return state == FO_STEP_SKIPPED;
    case FO_STEP_OUTCOME_FAILED_RETRYABLE:
    case FO_STEP_OUTCOME_REFUSED:
        return state == FO_STEP_FAILED;
    default:
        return false;
    }
}

#define NAME (FO_F_REQUIRED | FO_F_NONEMPTY)
#define OPT  FO_F_OPTIONAL

static const struct fo_field verdict_fields[] = {
    FO_STR(struct fo_verdict, observer, NAME, FO_NAME_MAX),
    FO_STR(struct fo_verdict, region, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_verdict, status, 0, fo_status_names),
    FO_U64(struct fo_verdict, since_ms, 0),
    FO_STR(struct fo_verdict, reason, OPT, FO_TEXT_MAX),
};
const struct fo_schema fo_verdict_schema = FO_SCHEMA(struct fo_verdict, verdict_fields);

static const struct fo_field step_fields[] = {
    FO_STR(struct fo_step, name, NAME, FO_NAME_MAX),
    FO_STR(struct fo_step, action, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_step, state, 0, fo_step_state_names),
    FO_U32(struct fo_step, attempts, 0),
    FO_U64(struct fo_step, started_ms, OPT),
    FO_U64(struct fo_step, ended_ms, OPT),
    FO_STR(struct fo_step, error, OPT, FO_TEXT_MAX),
    FO_STR(struct fo_step, leader, OPT, FO_NAME_MAX),
    FO_ENUM_SINCE(struct fo_step, outcome, OPT, fo_step_outcome_names, 2),
};
const struct fo_schema fo_step_schema = FO_SCHEMA(struct fo_step, step_fields);

static const struct fo_field operation_fields[] = {
    FO_STR(struct fo_operation, id, NAME, FO_NAME_MAX),
    FO_ENUM_V(struct fo_operation, kind, 0, fo_op_kind_names, fo_op_kind_since),
    FO_STR(struct fo_operation, from, NAME, FO_NAME_MAX),
    FO_STR(struct fo_operation, to, NAME, FO_NAME_MAX),
    FO_STR(struct fo_operation, reason, 0, FO_TEXT_MAX),
    FO_STR(struct fo_operation, requested_by, NAME, FO_NAME_MAX),
    FO_U64(struct fo_operation, epoch, 0),
    FO_BOOL(struct fo_operation, force, OPT),
    FO_U64(struct fo_operation, detected_ms, OPT),
    FO_BOOL(struct fo_operation, lag_known, OPT),
    FO_U64(struct fo_operation, lag_bytes, OPT),
    FO_U64(struct fo_operation, lag_ms, OPT),
    FO_U64(struct fo_operation, started_ms, 0),
    FO_U64(struct fo_operation, ended_ms, OPT),
    FO_ENUM(struct fo_operation, result, 0, fo_op_result_names),
    FO_STR(struct fo_operation, error, OPT, FO_TEXT_MAX),
    FO_ARR(struct fo_operation, steps, nsteps, 0, FO_MAX_STEPS, &fo_step_schema),
};
const struct fo_schema fo_operation_schema = FO_SCHEMA(struct fo_operation, operation_fields);

static const struct fo_field event_fields[] = {
    FO_U64(struct fo_event, at_ms, 0),
    FO_STR(struct fo_event, what, NAME, FO_NAME_MAX),
    FO_STR(struct fo_event, by, OPT, FO_NAME_MAX),
    FO_STR(struct fo_event, text, OPT, FO_TEXT_MAX),
    FO_U64_SINCE(struct fo_event, until_ms, OPT, 3),
};
const struct fo_schema fo_event_schema = FO_SCHEMA(struct fo_event, event_fields);

static const struct fo_field digest_fields[] = {
    FO_STR(struct fo_digest, node, NAME, FO_NAME_MAX),
    FO_STR(struct fo_digest, digest, NAME, FO_DIGEST_MAX),
    FO_U64(struct fo_digest, at_ms, 0),
};
const struct fo_schema fo_digest_schema = FO_SCHEMA(struct fo_digest, digest_fields);

static const struct fo_field lease_mark_fields[] = {
    FO_STR(struct fo_lease_mark, site, NAME, FO_NAME_MAX),
    FO_U64(struct fo_lease_mark, epoch, 0),
    FO_STR(struct fo_lease_mark, guardian, NAME, FO_NAME_MAX),
    FO_STR(struct fo_lease_mark, node, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_lease_mark, what, 0, fo_lease_what_names),
    FO_U64(struct fo_lease_mark, at_ms, 0),
};
const struct fo_schema fo_lease_mark_schema = FO_SCHEMA(struct fo_lease_mark, lease_mark_fields);

static const struct fo_field state_fields[] = {
    FO_STR(struct fo_state, cluster, OPT, FO_NAME_MAX),
    FO_STR(struct fo_state, primary, OPT, FO_NAME_MAX),
    FO_STR(struct fo_state, prev_primary, OPT, FO_NAME_MAX),
    FO_U64(struct fo_state, epoch, 0),
    FO_ENUM(struct fo_state, mode, 0, fo_mode_names),
    FO_STR(struct fo_state, mode_by, OPT, FO_NAME_MAX),
    FO_STR(struct fo_state, mode_reason, OPT, FO_TEXT_MAX),
    FO_U64(struct fo_state, mode_since_ms, 0),
    FO_U64(struct fo_state, cooldown_until_ms, 0),
    FO_ARR(struct fo_state, verdicts, nverdicts, 0, FO_MAX_VERDICTS, &fo_verdict_schema),
    FO_PTR(struct fo_state, operation, 0, &fo_operation_schema),
    FO_ARR(struct fo_state, history, nhistory, 0, FO_MAX_HISTORY, &fo_operation_schema),
    FO_ARR(struct fo_state, events, nevents, 0, FO_MAX_EVENTS, &fo_event_schema),
    FO_ARR(struct fo_state, digests, ndigests, 0, FO_MAX_DIGESTS, &fo_digest_schema),
    /* Optional: snapshots written before write leases existed have none. */
    FO_ARR(struct fo_state, leases, nleases, OPT, FO_MAX_LEASES, &fo_lease_mark_schema),
    /* v3: absent (so the frame stays v2) until an operation leaves history. */
    FO_ARR_SINCE(struct fo_state, archive, narchive, OPT, FO_MAX_ARCHIVE, &fo_operation_schema, 3),
    FO_U64_SINCE(struct fo_state, history_dropped, OPT, 3),
    /* v4: absent (0) until a "format" command raises the cluster format. */
    FO_U32_SINCE(struct fo_state, format, OPT, 4),
};
const struct fo_schema fo_state_schema = FO_SCHEMA(struct fo_state, state_fields);

static const struct fo_msg_type snapshot_type[] = {{"snapshot", 0, &fo_state_schema}};

enum fo_proto_code fo_state_encode(const struct fo_state *st, struct fo_buf *out,
                                   struct fo_proto_error *err)
{
    return fo_msg_encode(&snapshot_type[0], st, out, err);
}

enum fo_proto_code fo_state_encode_max(const struct fo_state *st, unsigned max, struct fo_buf *out,
                                       struct fo_proto_error *err)
{
    return fo_msg_encode_max(&snapshot_type[0], st, max, out, err);
}

unsigned fo_state_format(const struct fo_state *st)
{
    return st->format != 0 ? st->format : FO_FORMAT_BASE;
}

enum fo_proto_code fo_state_decode(const uint8_t *payload, size_t len, struct fo_state *st,
                                   struct fo_proto_error *err)
{
    int id;
    memset(st, 0, sizeof(*st));
    return fo_msg_decode(snapshot_type, 1, payload, len, &id, st, err);
}

void fo_state_free(struct fo_state *st)
{
    fo_schema_free(&fo_state_schema, st);
}
