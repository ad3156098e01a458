/*
 * proto/state.h — the replicated state of failoverd (DESIGN §4) as C types, and its
 * snapshot encoding.
 *
 * These types are shared by the FSM (consensus/), which owns and mutates one fo_state,
 * and by everything that reports it. The snapshot is one frame of type "snapshot" that
 * holds the whole state; restoring it replaces the state.
 *
 * Ownership: every char * and array inside these structs is owned by the struct that
 * holds it (malloc'd). fo_state_free() releases a whole state; the exported schemas
 * let owners free or deep-copy parts with fo_schema_free()/fo_schema_copy().
 *
 * Times are Unix milliseconds stamped by the node that proposed a change; they are for
 * people and reports, never for correctness decisions inside apply.
 */
#ifndef FO_PROTO_STATE_H
#define FO_PROTO_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h"

/* Field limits, shared by commands and the snapshot. */
#define FO_NAME_MAX     64  /* node, region, site, observer, operation id, step name */
#define FO_TEXT_MAX     512 /* reasons, errors, details */
#define FO_DIGEST_MAX   128 /* a hex digest */
#define FO_MAX_STEPS    64  /* steps in one plan */
#define FO_MAX_VERDICTS 1024
#define FO_MAX_HISTORY  64   /* finished operations kept in a snapshot */
#define FO_MAX_ARCHIVE  4096 /* older finished operations, without steps (format v3) */
#define FO_MAX_EVENTS   256
#define FO_MAX_DIGESTS  16                    /* one per node */
#define FO_MAX_LEASES   64                    /* lease marks kept (two epochs' worth) */
#define FO_SNAPSHOT_MAX (16u * 1024u * 1024u) /* largest snapshot frame payload */

/* How an observer sees a region. Wire names: "unknown", "up", "down". */
enum fo_status { FO_STATUS_UNKNOWN = 0, FO_STATUS_UP, FO_STATUS_DOWN };
extern const char *const fo_status_names[];

/* Why an operation runs. Wire: "auto", "manual", "switchover", "drill", "rejoin".
 * A rejoin (failoverctl rejoin SITE) re-seeds a former primary site as a standby of the
 * primary: its `from` is the primary, its `to` the site re-seeded; like a drill it runs
 * within the current epoch and moves nothing. */
enum fo_op_kind { FO_OP_AUTO = 0, FO_OP_MANUAL, FO_OP_SWITCHOVER, FO_OP_DRILL, FO_OP_REJOIN };
#define FO_OP_KIND_COUNT (FO_OP_REJOIN + 1)
extern const char *const fo_op_kind_names[];
/* The format that added each kind (codec.h "Versions"): a new kind is one row here
 * (rejoin is v4). */
extern const uint32_t fo_op_kind_since[FO_OP_KIND_COUNT];

/* True when an operation of kind makes its `to` the primary with a new epoch (auto,
 * manual, switchover); false for a drill and a rejoin, which change neither. The one
 * place that says so: the FSM, the decision, the lease and the reports all ask it. */
bool fo_op_kind_moves_primary(int kind);

/* Step journal states. Wire: "pending", "running", "done", "failed", "skipped". */
enum fo_step_state {
    FO_STEP_PENDING = 0,
    FO_STEP_RUNNING,
    FO_STEP_DONE,
    FO_STEP_FAILED,
    FO_STEP_SKIPPED
};
extern const char *const fo_step_state_names[];

/*
 * How a step's latest attempt ended, as a type: the executor decides retry, skip and
 * abort by this code alone; the step's error text is for people. Format v2 (codec.h,
 * "Versions"); a v1 journal entry has NONE. Each finished state has its own codes:
 *   done    <- DONE
 *   skipped <- SKIPPED, SKIPPED_NO_COMPONENT, SKIPPED_NOT_REPEATED
 *   failed  <- FAILED_RETRYABLE, REFUSED
 * pending and running have NONE. Wire: "none", "done", "skipped",
 * "skipped_no_component", "skipped_not_repeated", "failed_retryable", "refused".
 */
enum fo_step_outcome {
    FO_STEP_OUTCOME_NONE = 0,             /* not finished, or recorded before v2 */
    FO_STEP_OUTCOME_DONE,                 /* the target is as asked */
    FO_STEP_OUTCOME_SKIPPED,              /* the action found nothing to do (FO_ACTION_SKIPPED) */
    FO_STEP_OUTCOME_SKIPPED_NO_COMPONENT, /* the target site has no such component (no Redis) */
    FO_STEP_OUTCOME_SKIPPED_NOT_REPEATED, /* at-most-once step of unknown outcome after a
                                             leader change: not sent again */
    FO_STEP_OUTCOME_FAILED_RETRYABLE,     /* it did not happen; another attempt may work */
    FO_STEP_OUTCOME_REFUSED,              /* it must not or cannot happen: never retried */
};
extern const char *const fo_step_outcome_names[];

/* True when outcome may end a step in state (the table above); NONE fits every state, so
 * that v1 entries still apply. */
bool fo_step_outcome_fits(int state, int outcome);

/* How an operation ended. Wire: "running", "succeeded", "failed", "aborted". */
enum fo_op_result {
    FO_RESULT_RUNNING = 0,
    FO_RESULT_SUCCEEDED,
    FO_RESULT_FAILED,
    FO_RESULT_ABORTED
};
extern const char *const fo_op_result_names[];

/* Automatic failover allowed, or maintenance. Wire: "auto", "paused". */
enum fo_mode { FO_MODE_AUTO = 0, FO_MODE_PAUSED };
extern const char *const fo_mode_names[];

/* What a lease mark says (DESIGN §5, coordinator/run/lease.h). Wire: "expired", "fenced". */
enum fo_lease_what {
    FO_LEASE_EXPIRED = 0, /* `node` has not granted `guardian` this site's write lease for
                             the epoch for the attest window, and never will again */
    FO_LEASE_FENCED,      /* the guardian fenced its components of the site for the epoch and
                             lifts that fence only for a committed decision */
};
extern const char *const fo_lease_what_names[];

/* verdicts[observer][region]: one row per pair, changed only when the status changes. */
struct fo_verdict {
    char *observer;
    char *region;
    int status;        /* enum fo_status */
    uint64_t since_ms; /* when it last changed */
    char *reason;      /* optional: why, e.g. "postgres: connection refused" */
};

/* One step of an operation's journal. */
struct fo_step {
    char *name;          /* the plan's step name, e.g. "promote-postgres" */
    char *action;        /* the action kind, e.g. "postgres.promote" */
    int state;           /* enum fo_step_state */
    uint32_t attempts;   /* attempts started so far */
    uint64_t started_ms; /* optional: start of the latest attempt */
    uint64_t ended_ms;   /* optional */
    char *error;         /* optional: the last error */
    char *leader;        /* optional: the node that ran the latest attempt */
    int outcome;         /* optional, v2: enum fo_step_outcome of the latest attempt */
};

/* A failover / switchover / drill, in flight or finished. */
struct fo_operation {
    char *id;
    int kind; /* enum fo_op_kind */
    char *from;
    char *to;
    char *reason;
    char *requested_by;
    uint64_t epoch;       /* the epoch this operation created (its fencing token) */
    bool force;           /* optional: RPO gate overridden by the operator */
    uint64_t detected_ms; /* optional: when the outage was first seen */
    bool lag_known;       /* optional: the target's replication lag at the decision (the */
    uint64_t lag_bytes;   /* optional:  RPO gate's measurement): the data-loss estimate */
    uint64_t lag_ms;      /* optional */
    uint64_t started_ms;  /* when the decision was committed */
    uint64_t ended_ms;    /* optional */
    int result;           /* enum fo_op_result */
    char *error;          /* optional */
    struct fo_step *steps;
    size_t nsteps;
};

/* A notable event for the incident log: mode changes, cooldowns, rejected commands. */
struct fo_event {
    uint64_t at_ms;
    char *what;        /* short tag, e.g. "paused", "resumed", "rejected" */
    char *by;          /* optional */
    char *text;        /* optional */
    uint64_t until_ms; /* optional (v3): the time the event sets, e.g. a cooldown's end */
};

/* The digest of one node's replicated configuration. */
struct fo_digest {
    char *node;
    char *digest;
    uint64_t at_ms;
};

/* One lease mark: committed evidence that a site's write lease, held by `guardian` for
 * `epoch`, can no longer let its components take writes. The decision to promote another
 * site waits for this evidence (coordinator/run/lease.h). */
struct fo_lease_mark {
    char *site;
    uint64_t epoch;
    char *guardian; /* the node that held the lease */
    char *node;     /* who says so: an attesting granter, or the guardian (fenced) */
    int what;       /* enum fo_lease_what */
    uint64_t at_ms; /* for people */
};

/* The whole replicated state. */
struct fo_state {
    char *cluster;      /* optional until initialised */
    char *primary;      /* optional until initialised: the decided primary site */
    char *prev_primary; /* optional: the primary before the last failover/switchover */
    uint64_t epoch;     /* raised by every failover/switchover */
    int mode;           /* enum fo_mode */
    char *mode_by;      /* optional */
    char *mode_reason;  /* optional */
    uint64_t mode_since_ms;
    uint64_t cooldown_until_ms;
    struct fo_verdict *verdicts;
    size_t nverdicts;
    struct fo_operation *operation; /* NULL when none is in flight */
    struct fo_operation *history;   /* finished operations, oldest first */
    size_t nhistory;
    /* Older finished operations, oldest first, without their steps (v3): history's
     * oldest moves here when history is full; the oldest here are dropped when the
     * archive is over its size budget (consensus/fsm.h), and counted. */
    struct fo_operation *archive;
    size_t narchive;
    uint64_t history_dropped; /* operations dropped from the archive since the cluster began */
    struct fo_event *events;  /* oldest first */
    size_t nevents;
    struct fo_digest *digests;
    size_t ndigests;
    struct fo_lease_mark *leases; /* marks for the current and the previous epoch */
    size_t nleases;
    /* v4: the committed cluster format (codec.h "Versions"); 0 = never raised, i.e.
     * FO_FORMAT_BASE. Read it through fo_state_format(). Only grows. */
    uint32_t format;
};

/* The cluster format: what every node may write to the log and snapshots. */
unsigned fo_state_format(const struct fo_state *st);

extern const struct fo_schema fo_verdict_schema;
extern const struct fo_schema fo_step_schema;
extern const struct fo_schema fo_operation_schema;
extern const struct fo_schema fo_event_schema;
extern const struct fo_schema fo_digest_schema;
extern const struct fo_schema fo_lease_mark_schema;
extern const struct fo_schema fo_state_schema;

/* Encode st as one "snapshot" frame (header included); out is owned by the caller. */
enum fo_proto_code fo_state_encode(const struct fo_state *st, struct fo_buf *out,
                                   struct fo_proto_error *err);

/* The same, capped at format max (the cluster format): FO_PROTO_EVERSION when st
 * holds something newer (codec.h fo_msg_encode_max). */
enum fo_proto_code fo_state_encode_max(const struct fo_state *st, unsigned max, struct fo_buf *out,
                                       struct fo_proto_error *err);

/* Decode a snapshot payload into st (zeroed by this call); on error st is empty. */
enum fo_proto_code fo_state_decode(const uint8_t *payload, size_t len, struct fo_state *st,
                                   struct fo_proto_error *err);

/* Release everything st owns and zero it. */
void fo_state_free(struct fo_state *st);

#endif
