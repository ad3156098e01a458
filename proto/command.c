/*
 * proto/command.c — schemas of the FSM commands; see command.h.
 */
#include "proto/command.h"

#include <string.h>

#define NAME (FO_F_REQUIRED | FO_F_NONEMPTY)
#define OPT  FO_F_OPTIONAL

static const struct fo_field init_fields[] = {
    FO_STR(struct fo_cmd_init, cluster, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_init, primary, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_init, at_ms, 0),
    FO_U32_SINCE(struct fo_cmd_init, format, OPT, 4),
};

static const struct fo_field verdict_fields[] = {
    FO_STR(struct fo_cmd_verdict, observer, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_verdict, region, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_cmd_verdict, status, 0, fo_status_names),
    FO_U64(struct fo_cmd_verdict, at_ms, 0),
    FO_STR(struct fo_cmd_verdict, reason, OPT, FO_TEXT_MAX),
};

static const struct fo_field step_spec_fields[] = {
    FO_STR(struct fo_step_spec, name, NAME, FO_NAME_MAX),
    FO_STR(struct fo_step_spec, action, NAME, FO_NAME_MAX),
};
static const struct fo_schema step_spec_schema = FO_SCHEMA(struct fo_step_spec, step_spec_fields);

static const struct fo_field op_begin_fields[] = {
    FO_STR(struct fo_cmd_op_begin, id, NAME, FO_NAME_MAX),
    FO_ENUM_V(struct fo_cmd_op_begin, kind, 0, fo_op_kind_names, fo_op_kind_since),
    FO_STR(struct fo_cmd_op_begin, from, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_op_begin, to, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_op_begin, reason, 0, FO_TEXT_MAX),
    FO_STR(struct fo_cmd_op_begin, requested_by, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_op_begin, epoch, 0),
    FO_BOOL(struct fo_cmd_op_begin, force, OPT),
    FO_U64(struct fo_cmd_op_begin, detected_ms, OPT),
    FO_BOOL(struct fo_cmd_op_begin, lag_known, OPT),
    FO_U64(struct fo_cmd_op_begin, lag_bytes, OPT),
    FO_U64(struct fo_cmd_op_begin, lag_ms, OPT),
    FO_U64(struct fo_cmd_op_begin, at_ms, 0),
    FO_ARR(struct fo_cmd_op_begin, steps, nsteps, 0, FO_MAX_STEPS, &step_spec_schema),
};

static const struct fo_field step_fields[] = {
    FO_STR(struct fo_cmd_step, op_id, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_step, epoch, 0),
    FO_U32(struct fo_cmd_step, index, 0),
    FO_ENUM(struct fo_cmd_step, state, 0, fo_step_state_names),
    FO_U32(struct fo_cmd_step, attempt, 0),
    FO_U64(struct fo_cmd_step, at_ms, 0),
    FO_STR(struct fo_cmd_step, error, OPT, FO_TEXT_MAX),
    FO_STR(struct fo_cmd_step, leader, OPT, FO_NAME_MAX),
    FO_ENUM_SINCE(struct fo_cmd_step, outcome, OPT, fo_step_outcome_names, 2),
};

static const struct fo_field op_end_fields[] = {
    FO_STR(struct fo_cmd_op_end, op_id, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_op_end, epoch, 0),
    FO_ENUM(struct fo_cmd_op_end, result, 0, fo_op_result_names),
    FO_U64(struct fo_cmd_op_end, at_ms, 0),
    FO_STR(struct fo_cmd_op_end, error, OPT, FO_TEXT_MAX),
};

static const struct fo_field mode_fields[] = {
    FO_ENUM(struct fo_cmd_mode, mode, 0, fo_mode_names),
    FO_STR(struct fo_cmd_mode, by, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_mode, reason, OPT, FO_TEXT_MAX),
    FO_U64(struct fo_cmd_mode, at_ms, 0),
};

static const struct fo_field cooldown_fields[] = {
    FO_U64(struct fo_cmd_cooldown, until_ms, 0),
    FO_STR(struct fo_cmd_cooldown, by, OPT, FO_NAME_MAX),
    FO_U64(struct fo_cmd_cooldown, at_ms, 0),
};

static const struct fo_field digest_fields[] = {
    FO_STR(struct fo_cmd_digest, node, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_digest, digest, NAME, FO_DIGEST_MAX),
    FO_U64(struct fo_cmd_digest, at_ms, 0),
};

static const struct fo_field lease_fields[] = {
    FO_STR(struct fo_cmd_lease, site, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_lease, epoch, 0),
    FO_STR(struct fo_cmd_lease, guardian, NAME, FO_NAME_MAX),
    FO_STR(struct fo_cmd_lease, node, NAME, FO_NAME_MAX),
    FO_ENUM(struct fo_cmd_lease, what, 0, fo_lease_what_names),
    FO_U64(struct fo_cmd_lease, at_ms, 0),
};

static const struct fo_field format_fields[] = {
    FO_U32(struct fo_cmd_format, format, 0),
    FO_STR(struct fo_cmd_format, by, NAME, FO_NAME_MAX),
    FO_U64(struct fo_cmd_format, at_ms, 0),
};

static const struct fo_schema schemas[FO_CMD_NTYPES] = {
    [FO_CMD_INIT] = FO_SCHEMA(struct fo_cmd_init, init_fields),
    [FO_CMD_VERDICT] = FO_SCHEMA(struct fo_cmd_verdict, verdict_fields),
    [FO_CMD_OP_BEGIN] = FO_SCHEMA(struct fo_cmd_op_begin, op_begin_fields),
    [FO_CMD_STEP] = FO_SCHEMA(struct fo_cmd_step, step_fields),
    [FO_CMD_OP_END] = FO_SCHEMA(struct fo_cmd_op_end, op_end_fields),
    [FO_CMD_MODE] = FO_SCHEMA(struct fo_cmd_mode, mode_fields),
    [FO_CMD_COOLDOWN] = FO_SCHEMA(struct fo_cmd_cooldown, cooldown_fields),
    [FO_CMD_DIGEST] = FO_SCHEMA(struct fo_cmd_digest, digest_fields),
    [FO_CMD_LEASE] = FO_SCHEMA(struct fo_cmd_lease, lease_fields),
    [FO_CMD_FORMAT] = FO_SCHEMA(struct fo_cmd_format, format_fields),
};

static const struct fo_msg_type types[FO_CMD_NTYPES] = {
    {"init", FO_CMD_INIT, &schemas[FO_CMD_INIT]},
    {"verdict", FO_CMD_VERDICT, &schemas[FO_CMD_VERDICT]},
    {"op_begin", FO_CMD_OP_BEGIN, &schemas[FO_CMD_OP_BEGIN]},
    {"step", FO_CMD_STEP, &schemas[FO_CMD_STEP]},
    {"op_end", FO_CMD_OP_END, &schemas[FO_CMD_OP_END]},
    {"mode", FO_CMD_MODE, &schemas[FO_CMD_MODE]},
    {"cooldown", FO_CMD_COOLDOWN, &schemas[FO_CMD_COOLDOWN]},
    {"digest", FO_CMD_DIGEST, &schemas[FO_CMD_DIGEST]},
    {"lease", FO_CMD_LEASE, &schemas[FO_CMD_LEASE]},
    /* The last column is the format that added the type (codec.h "Versions"). */
    {"format", FO_CMD_FORMAT, &schemas[FO_CMD_FORMAT], 4},
};

const char *fo_cmd_type_name(enum fo_cmd_type type)
{
    return (unsigned)type < FO_CMD_NTYPES ? types[type].t : NULL;
}

enum fo_proto_code fo_cmd_encode(const struct fo_cmd *cmd, struct fo_buf *out,
                                 struct fo_proto_error *err)
{
    return fo_cmd_encode_max(cmd, FO_PROTO_VERSION, out, err);
}

enum fo_proto_code fo_cmd_encode_max(const struct fo_cmd *cmd, unsigned max, struct fo_buf *out,
                                     struct fo_proto_error *err)
{
    out->data = NULL;
    out->len = 0;
    if ((unsigned)cmd->type >= FO_CMD_NTYPES)
        return fo_proto_fail(err, FO_PROTO_EMSGTYPE, "command type %d out of range",
                             (int)cmd->type);
    return fo_msg_encode_max(&types[cmd->type], &cmd->u, max, out, err);
}

enum fo_proto_code fo_cmd_decode(const uint8_t *payload, size_t len, struct fo_cmd *cmd,
                                 struct fo_proto_error *err)
{
    int id = 0;
    enum fo_proto_code rc;

    memset(cmd, 0, sizeof(*cmd));
    rc = fo_msg_decode(types, FO_CMD_NTYPES, payload, len, &id, &cmd->u, err);
    if (rc == FO_PROTO_OK) {
        cmd->type = (enum fo_cmd_type)id;
        /* "running" is a state of the journal, not a way to end an operation. */
        if (cmd->type == FO_CMD_OP_END && cmd->u.op_end.result == FO_RESULT_RUNNING) {
            fo_cmd_free(cmd);
            return fo_proto_fail(err, FO_PROTO_EVALUE,
                                 "op_end.result: 'running' does not end an operation");
        }
    }
    return rc;
}

void fo_cmd_free(struct fo_cmd *cmd)
{
    if ((unsigned)cmd->type < FO_CMD_NTYPES)
        fo_schema_free(&schemas[cmd->type], &cmd->u);
    memset(cmd, 0, sizeof(*cmd));
}
