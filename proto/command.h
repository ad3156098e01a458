/*
 * proto/command.h — the FSM commands: what a Raft log entry says (DESIGN §4).
 *
 * Each command is one frame whose "t" names it. Commands carry every time they need,
 * stamped by the proposer, so that applying them is deterministic. The FSM decides
 * whether a command is acceptable in the current state (for example, op_begin must
 * name epoch = current + 1); this module only checks that it is well-formed.
 *
 * Ownership: fo_cmd_decode() fills a caller-owned struct fo_cmd whose members it
 * allocates; fo_cmd_free() releases them. Encoding never takes ownership.
 */
#ifndef FO_PROTO_COMMAND_H
#define FO_PROTO_COMMAND_H

#include "proto/state.h"

enum fo_cmd_type {
    FO_CMD_INIT = 0, /* "init": name the cluster and its first primary, once */
    FO_CMD_VERDICT,  /* "verdict": an observer's view of a region changed */
    FO_CMD_OP_BEGIN, /* "op_begin": the commit point of a failover / switchover / drill */
    FO_CMD_STEP,     /* "step": a step of the operation in flight changed state */
    FO_CMD_OP_END,   /* "op_end": the operation in flight finished */
    FO_CMD_MODE,     /* "mode": pause or resume automatic failover */
    FO_CMD_COOLDOWN, /* "cooldown": no automatic failover before a time */
    FO_CMD_DIGEST,   /* "digest": a node reports its replicated-config digest */
    FO_CMD_LEASE,    /* "lease": a write lease expired (attested) or its guardian fenced */
    FO_CMD_FORMAT,   /* "format" (v4): raise the cluster format (codec.h "Versions") */
    FO_CMD_NTYPES
};

struct fo_cmd_init {
    char *cluster;
    char *primary; /* the site that is primary when the cluster is created */
    uint64_t at_ms;
    /* v4: the cluster format the cluster starts at (the initialising leader's newest):
     * a cluster created by one release needs no `upgrade finish`. 0: not recorded (a
     * 0.1.0 leader): the base format. */
    uint32_t format;
};

struct fo_cmd_verdict {
    char *observer;
    char *region;
    int status; /* enum fo_status */
    uint64_t at_ms;
    char *reason; /* optional */
};

/* A step of the plan as fixed at the commit point: name and action kind. */
struct fo_step_spec {
    char *name;
    char *action;
};

struct fo_cmd_op_begin {
    char *id;
    int kind; /* enum fo_op_kind */
    char *from;
    char *to;
    char *reason;
    char *requested_by;
    uint64_t epoch;       /* must be the current epoch + 1 (drill: the current epoch) */
    bool force;           /* optional */
    uint64_t detected_ms; /* optional */
    bool lag_known;       /* optional: the target's replication lag was measured... */
    uint64_t lag_bytes;   /* optional: ...this far behind when the decision was made */
    uint64_t lag_ms;      /* optional */
    uint64_t at_ms;
    struct fo_step_spec *steps;
    size_t nsteps;
};

struct fo_cmd_step {
    char *op_id;
    uint64_t epoch;
    uint32_t index; /* into the operation's steps */
    int state;      /* enum fo_step_state */
    uint32_t attempt;
    uint64_t at_ms;
    char *error;  /* optional */
    char *leader; /* optional: the node running it */
    int outcome;  /* optional, v2: enum fo_step_outcome; must fit state */
};

struct fo_cmd_op_end {
    char *op_id;
    uint64_t epoch;
    int result; /* enum fo_op_result, never FO_RESULT_RUNNING */
    uint64_t at_ms;
    char *error; /* optional */
};

struct fo_cmd_mode {
    int mode; /* enum fo_mode */
    char *by;
    char *reason; /* optional */
    uint64_t at_ms;
};

struct fo_cmd_cooldown {
    uint64_t until_ms;
    char *by; /* optional */
    uint64_t at_ms;
};

struct fo_cmd_digest {
    char *node;
    char *digest;
    uint64_t at_ms;
};

/* A lease mark (proto/state.h struct fo_lease_mark); the FSM keeps it when it names the
 * current primary and epoch, or the previous primary and epoch. */
struct fo_cmd_lease {
    char *site;
    uint64_t epoch;
    char *guardian;
    char *node;
    int what; /* enum fo_lease_what */
    uint64_t at_ms;
};

/* Raise the cluster format to `format`. Proposed by a leader only once every voter said
 * it reads that format; applied only by nodes that do (others halt, fsm.h). */
struct fo_cmd_format {
    uint32_t format;
    char *by; /* who asked: "user@host" */
    uint64_t at_ms;
};

struct fo_cmd {
    enum fo_cmd_type type;
    union {
        struct fo_cmd_init init;
        struct fo_cmd_verdict verdict;
        struct fo_cmd_op_begin op_begin;
        struct fo_cmd_step step;
        struct fo_cmd_op_end op_end;
        struct fo_cmd_mode mode;
        struct fo_cmd_cooldown cooldown;
        struct fo_cmd_digest digest;
        struct fo_cmd_lease lease;
        struct fo_cmd_format format;
    } u;
};

/* The wire tag of a command type ("init", "verdict", ...), or NULL if out of range. */
const char *fo_cmd_type_name(enum fo_cmd_type type);

/* Encode cmd as one frame (header included); out is owned by the caller. */
enum fo_proto_code fo_cmd_encode(const struct fo_cmd *cmd, struct fo_buf *out,
                                 struct fo_proto_error *err);

/* The same for a log whose readers speak format max at most (the cluster format; for a
 * "format" command, its target): FO_PROTO_EVERSION when cmd needs a newer one. */
enum fo_proto_code fo_cmd_encode_max(const struct fo_cmd *cmd, unsigned max, struct fo_buf *out,
                                     struct fo_proto_error *err);

/* Decode a command payload into cmd (zeroed by this call). On error cmd is empty. */
enum fo_proto_code fo_cmd_decode(const uint8_t *payload, size_t len, struct fo_cmd *cmd,
                                 struct fo_proto_error *err);

/* Release what cmd owns and zero it. */
void fo_cmd_free(struct fo_cmd *cmd);

#endif
