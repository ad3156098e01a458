/*
 * coordinator/run/action_job.h — one action run in libuv's thread pool, its answer back
 * on the loop: the runner shared by the plan executor (executor.c, a plan step) and the
 * write lease's hands (operations.c, a fence or unfence).
 *
 * The job owns copies of every string of its request and the parameters it is given, so
 * that nothing the FSM or the config may change meanwhile is read from the pool thread.
 * The owner embeds a struct fo_action_job (to find its own record from the callback),
 * fills it with fo_action_job_init, and calls fo_action_job_release once done ran.
 *
 * Threads: run is called on a pool thread with the job's req and res only; done is called
 * on the loop. cancel may be set from the loop at any time (req.cancel points to it).
 */
#ifndef FO_COORDINATOR_ACTION_JOB_H
#define FO_COORDINATOR_ACTION_JOB_H

#include <stdatomic.h>
#include <stddef.h>

#include <uv.h>

#include "actions/action.h"

struct fo_action_job;

/* The action ended (status 0), or never ran (a uv error: the loop is closing). res holds
 * what it said. Release the job here or later. */
typedef void (*fo_action_job_done_cb)(struct fo_action_job *job, int status);

struct fo_action_job {
    struct fo_action_req req; /* points to the copies below, to params and to cancel */
    struct fo_action_result res;
    atomic_int cancel;
    /* private */
    uv_work_t work;
    void (*run)(const struct fo_action_req *req, struct fo_action_result *res);
    fo_action_job_done_cb done;
    char *strs[8];        /* copies: kind, op_id, op_kind, from, to, reason, timeline, event */
    struct fo_kv *params; /* owned */
    size_t nparams;
};

/* Copy req's strings into job (req.params, req.cancel are ignored) and take params
 * (nparams of them, each key and value malloc'd: the job frees them, even on error).
 * Returns 0, or -1 when out of memory (then release the job all the same). */
int fo_action_job_init(struct fo_action_job *job, const struct fo_action_req *req,
                       struct fo_kv *params, size_t nparams);

/* Run job->req with run in the thread pool; done follows on the loop. Returns 0 or a uv
 * error (then done will not run). */
int fo_action_job_queue(struct fo_action_job *job, uv_loop_t *loop,
                        void (*run)(const struct fo_action_req *req, struct fo_action_result *res),
                        fo_action_job_done_cb done);

/* Free what the job owns (not the job itself: it is embedded in the owner's record). */
void fo_action_job_release(struct fo_action_job *job);

#endif
