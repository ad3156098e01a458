/*
 * actions/action.c — see action.h: the helpers every implementation shares (the list
 * of kinds is in registry.c, so that each group of kinds can be tested alone).
 */
#include "actions/action.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "actions/secret.h"

static bool name_in(const char *const *list, const char *key)
{
    for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
        size_t n = strlen(list[i]);
        /* "env." admits every "env.NAME" (with a non-empty NAME). */
        if (n > 0 && list[i][n - 1] == '.' ? strncmp(list[i], key, n) == 0 && key[n] != '\0'
                                           : strcmp(list[i], key) == 0)
            return true;
    }
    return false;
}

bool fo_action_param_known(const struct fo_action_kind *kind, const char *key)
{
    return name_in(kind->required, key) || name_in(kind->optional, key);
}

int fo_action_params_check(const struct fo_action_kind *kind, const struct fo_kv *params,
                           size_t nparams, char *msg, size_t cap)
{
    for (size_t i = 0; kind->required != NULL && kind->required[i] != NULL; i++) {
        bool found = false;
        for (size_t j = 0; j < nparams && !found; j++)
            found = strcmp(params[j].key, kind->required[i]) == 0;
        if (!found) {
            snprintf(msg, cap, "%s: parameter '%s' is required", kind->name, kind->required[i]);
            return -1;
        }
    }
    for (size_t j = 0; j < nparams; j++) {
        if (!name_in(kind->required, params[j].key) && !name_in(kind->optional, params[j].key)) {
            snprintf(msg, cap, "%s: unknown parameter '%s'", kind->name, params[j].key);
            return -1;
        }
    }
    return 0;
}

const char *fo_action_param(const struct fo_action_req *req, const char *key)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].key, key) == 0)
            return req->params[i].value;
    return NULL;
}

int fo_action_param_u64(const struct fo_action_req *req, const char *key, uint64_t def,
                        uint64_t min, uint64_t max, uint64_t *out, struct fo_action_result *res)
{
    const char *s = fo_action_param(req, key);
    char *end;
    unsigned long long v;

    if (s == NULL) {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max) {
        fo_action_set(res, FO_ACTION_REFUSED,
                      "parameter %s: '%.32s' is not a number from %llu to %llu", key, s,
                      (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

uint64_t fo_action_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t fo_action_remaining_ms(const struct fo_action_req *req)
{
    uint64_t now = fo_action_now_ms();
    return req->deadline_ms > now ? req->deadline_ms - now : 0;
}

bool fo_action_cancelled(const struct fo_action_req *req)
{
    return req->cancel != NULL && atomic_load(req->cancel) != 0;
}

int fo_action_set(struct fo_action_result *res, int status, const char *fmt, ...)
{
    va_list ap;
    res->status = status;
    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    return status;
}

int fo_action_read_secret(const struct fo_action_req *req, const char *param, char *buf, size_t cap,
                          struct fo_action_result *res)
{
    const char *path = fo_action_param(req, param);
    struct fo_error err;

    if (path == NULL) {
        fo_action_set(res, FO_ACTION_REFUSED, "parameter %s is required", param);
        return -1;
    }
    if (fo_secret_read_file(path, buf, cap, &err) != 0) {
        fo_action_set(res, FO_ACTION_REFUSED, "%s: %s", param, err.msg);
        return -1;
    }
    return 0;
}

int fo_action_fence_allows(const struct fo_action_req *req, bool fenced, uint64_t fence_epoch,
                           struct fo_action_result *res)
{
    if (!fenced || fence_epoch <= req->epoch)
        return 0;
    fo_action_set(res, FO_ACTION_REFUSED,
                  "fenced by a newer operation (epoch %" PRIu64 ") than this request's %" PRIu64
                  ": left fenced",
                  fence_epoch, req->epoch);
    return -1;
}
