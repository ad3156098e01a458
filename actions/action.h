/*
 * actions/action.h — the one interface every failover action implements (DESIGN §6, §7).
 *
 * An action makes one part of reality match the decided primary: promote a Postgres
 * standby, promote a Redis replica, set Vercel env vars, redeploy, switch DNS, notify.
 * It knows nothing about Raft: it receives a request (which operation, which epoch,
 * the step's parameters, a deadline) and fills a result.
 *
 * Threading. fo_action_run() BLOCKS: it uses blocking clients (libpq, hiredis sync,
 * curl easy) and must only be called from a libuv thread-pool thread (uv_queue_work),
 * never from the loop. It returns by req->deadline_ms (the clients' own timeouts are
 * derived from it) and returns early, FAILED, when *req->cancel becomes non-zero (the
 * leader lost leadership or is stopping).
 *
 * Rules every action keeps:
 *   - Idempotent: check, then act. A target already in the wanted state is DONE ("already
 *     promoted with epoch 7"), so a new leader can re-run a step whose outcome it does
 *     not know. Where the target cannot check (a Slack message), the kind says
 *     at_most_once and the executor never re-runs it (see fo_action_kind).
 *   - Epoch-fenced where the target allows it: a promoted Postgres records the epoch in
 *     failoverd.epoch, a promoted Redis in the key failoverd:epoch; finding a HIGHER
 *     epoch there means a newer operation already ran: REFUSED, never overwritten.
 *   - Check mode (req->check_only): validate credentials, reachability and
 *     preconditions; change nothing; DONE when the real run would be expected to work.
 *   - Secrets: parameters name files (`password_file`, `token_file`, ...); the action
 *     reads them itself, and never writes a secret into result->detail or a log.
 *
 * Ownership: the request and everything it points to are owned by the caller and stay
 * valid during the call; the result is caller-allocated and filled by the action.
 */
#ifndef FO_ACTIONS_ACTION_H
#define FO_ACTIONS_ACTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/codec.h" /* struct fo_kv */
#include "proto/state.h" /* FO_TEXT_MAX */

enum fo_action_status {
    FO_ACTION_DONE = 0, /* the target now is as asked (changed now, or already was) */
    FO_ACTION_SKIPPED,  /* nothing to do, and that is acceptable (fence: old primary gone) */
    FO_ACTION_FAILED,   /* it did not happen; a retry may succeed (timeout, 5xx, refused
                           connection, cancelled) */
    FO_ACTION_REFUSED,  /* it must not happen or cannot: wrong target, a newer epoch found,
                           bad credentials, bad parameters; retrying will not help */
};

struct fo_action_req {
    const char *kind;           /* e.g. "postgres.promote" */
    const char *op_id;          /* the operation id: dedup key, deployment tag */
    uint64_t epoch;             /* the operation's epoch: the fencing token */
    const char *op_kind;        /* "auto", "manual", "switchover", "drill" */
    const char *from;           /* the site that was primary */
    const char *to;             /* the site becoming primary */
    const char *reason;         /* why the operation runs (for notifications) */
    const char *event;          /* notify.*: "opened" or "resolved"; NULL otherwise */
    const char *timeline;       /* notify.* resolved: the measured timeline as text; or NULL */
    bool check_only;            /* validate only, change nothing */
    uint64_t deadline_ms;       /* CLOCK_MONOTONIC milliseconds (fo_action_now_ms) */
    const atomic_int *cancel;   /* non-zero: stop as soon as possible; may be NULL */
    const struct fo_kv *params; /* the step's parameters (see each kind's list) */
    size_t nparams;
};

struct fo_action_result {
    int status;               /* enum fo_action_status */
    char detail[FO_TEXT_MAX]; /* what happened, for the journal and for people */
    uint64_t retry_after_ms;  /* a server's Retry-After, when it gave one; else 0 */
};

/* What the executor and the config loader need to know about a kind. */
struct fo_action_kind {
    const char *name;
    void (*run)(const struct fo_action_req *req, struct fo_action_result *res);
    const char *const *required; /* parameter names, NULL-terminated */
    const char *const *optional; /* parameter names, NULL-terminated; a name ending in
                                    '.' is a prefix (e.g. "env." for env.DATABASE_URL) */
    bool at_most_once;           /* cannot be checked at the target: never re-run after an unknown
                                    outcome (a new leader marks such a step skipped instead) */
};

/* The kind called name, or NULL. */
const struct fo_action_kind *fo_action_kind_find(const char *name);

/* Every kind, NULL-terminated (for --help and config validation). */
const struct fo_action_kind *const *fo_action_kinds(void);

/* Check params against kind: every required one present, nothing unknown. Returns 0, or
 * -1 with msg naming the parameter. */
int fo_action_params_check(const struct fo_action_kind *kind, const struct fo_kv *params,
                           size_t nparams, char *msg, size_t cap);

/* True when key is one of kind's parameters (required or optional). The plan check at
 * start-up uses it: required ones may come from the target site at run time. */
bool fo_action_param_known(const struct fo_action_kind *kind, const char *key);

/* Run req: look the kind up and call it; an unknown kind or missing parameters give
 * REFUSED. Blocking; thread-pool only (see above). */
void fo_action_run(const struct fo_action_req *req, struct fo_action_result *res);

/* ---- helpers for implementations ------------------------------------------------ */

/* The value of parameter key, or NULL. */
const char *fo_action_param(const struct fo_action_req *req, const char *key);

/* Parameter key as an unsigned number; def when absent; -1 (and res REFUSED naming it)
 * when present but not a number in [min, max]. */
int fo_action_param_u64(const struct fo_action_req *req, const char *key, uint64_t def,
                        uint64_t min, uint64_t max, uint64_t *out, struct fo_action_result *res);

/* Now, in CLOCK_MONOTONIC milliseconds; and what is left until the deadline (0 if past). */
uint64_t fo_action_now_ms(void);
uint64_t fo_action_remaining_ms(const struct fo_action_req *req);

/* True when the caller asked the action to stop. */
bool fo_action_cancelled(const struct fo_action_req *req);

/* The fence rule every fencing action shares (DESIGN §5): a target fenced by an operation
 * of a newer epoch than req's stays fenced. Returns 0 when req may go on, else -1 with
 * res REFUSED saying so. fenced: the target holds a fence record of fence_epoch. */
int fo_action_fence_allows(const struct fo_action_req *req, bool fenced, uint64_t fence_epoch,
                           struct fo_action_result *res);

/* Set status and a printf-style detail. Returns status. */
int fo_action_set(struct fo_action_result *res, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Read a secret file (one line; trailing newline dropped) into buf. Returns 0, or -1 with
 * res REFUSED naming the parameter and the file (never its content). */
int fo_action_read_secret(const struct fo_action_req *req, const char *param, char *buf, size_t cap,
                          struct fo_action_result *res);

#endif
