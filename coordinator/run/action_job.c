/*
 * coordinator/run/action_job.c — see action_job.h.
 */
#include "coordinator/run/action_job.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

int fo_action_job_init(struct fo_action_job *job, const struct fo_action_req *req,
                       struct fo_kv *params, size_t nparams)
{
    bool failed = false;
    const char *src[8] = {req->kind, req->op_id,  req->op_kind,  req->from,
                          req->to,   req->reason, req->timeline, req->event};

    memset(job, 0, sizeof(*job));
    job->params = params;
    job->nparams = nparams;
    for (size_t i = 0; i < 8; i++) {
        job->strs[i] = src[i] != NULL ? strdup(src[i]) : NULL;
        failed |= src[i] != NULL && job->strs[i] == NULL;
    }
    atomic_init(&job->cancel, 0);
    job->req = *req;
    job->req.kind = job->strs[0];
    job->req.op_id = job->strs[1];
    job->req.op_kind = job->strs[2];
    job->req.from = job->strs[3];
    job->req.to = job->strs[4];
    job->req.reason = job->strs[5];
    job->req.timeline = job->strs[6];
    job->req.event = job->strs[7];
    job->req.cancel = &job->cancel;
    job->req.params = job->params;
    job->req.nparams = job->nparams;
    return failed ? -1 : 0;
}

static void job_run(uv_work_t *w)
{
    struct fo_action_job *job = w->data;
    job->run(&job->req, &job->res);
}

static void job_done(uv_work_t *w, int status)
{
    struct fo_action_job *job = w->data;
    job->done(job, status);
}

int fo_action_job_queue(struct fo_action_job *job, uv_loop_t *loop,
                        void (*run)(const struct fo_action_req *req, struct fo_action_result *res),
                        fo_action_job_done_cb done)
{
    job->run = run;
    job->done = done;
    job->work.data = job;
    return uv_queue_work(loop, &job->work, job_run, job_done);
}

void fo_action_job_release(struct fo_action_job *job)
{
    for (size_t i = 0; i < 8; i++)
        free(job->strs[i]);
    for (size_t i = 0; i < job->nparams; i++) {
        free(job->params[i].key);
        free(job->params[i].value);
    }
    free(job->params);
    memset(job, 0, sizeof(*job));
}
