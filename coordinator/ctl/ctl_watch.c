/*
 * coordinator/ctl/ctl_watch.c — see ctl_watch.h.
 */
#include "coordinator/ctl/ctl_watch.h"

#include <stdint.h>
#include <string.h>

#include "coordinator/ctl/verbs.h"

static const char *str_of(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s != NULL ? s : "-";
}

static uint64_t ms_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

/* enum fo_step_state / fo_op_result of a name in the document, or -1. */
static int state_of(const json_t *o, const char *const *names)
{
    const char *s = json_string_value(json_object_get(o, "state"));
    for (int i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

void fo_ctl_watch_init(struct fo_ctl_watch *w)
{
    memset(w, 0, sizeof(*w));
    for (size_t i = 0; i < FO_MAX_STEPS; i++)
        w->step_state[i] = -1;
}

/* "+1.2s" from the operation's start to t (0: unknown). */
static void rel(char *buf, size_t cap, uint64_t t0, uint64_t t)
{
    if (t0 == 0 || t < t0)
        snprintf(buf, cap, "%s", t == 0 ? "" : "+?");
    else
        snprintf(buf, cap, "+%.1fs", (double)(t - t0) / 1000.0);
}

static void print_step(FILE *out, const json_t *op, const json_t *st, int state)
{
    uint64_t t0 = ms_of(op, "started_ms");
    uint64_t at = ms_of(st, state == FO_STEP_RUNNING ? "started_ms" : "ended_ms");
    char when[32];

    rel(when, sizeof(when), t0, at);
    fprintf(out, "  %-7s %-24s %s", when, str_of(st, "name"), fo_step_state_names[state]);
    if (state == FO_STEP_DONE && json_is_integer(json_object_get(st, "duration_ms")))
        fprintf(out, " (%.1f s)",
                (double)json_integer_value(json_object_get(st, "duration_ms")) / 1000.0);
    if (state == FO_STEP_FAILED || state == FO_STEP_SKIPPED) {
        const char *e = json_string_value(json_object_get(st, "error"));
        json_int_t n = json_integer_value(json_object_get(st, "attempts"));
        if (e != NULL)
            fprintf(out, ": %s", e);
        if (state == FO_STEP_FAILED && n > 0)
            fprintf(out, " (%lld attempt%s)", (long long)n, n == 1 ? "" : "s");
    }
    fputc('\n', out);
}

bool fo_ctl_watch_update(struct fo_ctl_watch *w, FILE *out, const json_t *op)
{
    const json_t *steps = json_object_get(op, "steps");
    int result = state_of(op, fo_op_result_names);

    if (w->ended || !json_is_object(op))
        return w->ended;
    if (w->id[0] == '\0') {
        snprintf(w->id, sizeof(w->id), "%s", str_of(op, "id"));
        fprintf(out, "%s %s %s -> %s: running (requested by %s)\n", w->id, str_of(op, "kind"),
                str_of(op, "from"), str_of(op, "to"), str_of(op, "requested_by"));
    }
    /* Each step's changes in order; a step that went from pending to done between two
     * polls shows as started and ended, so the order of events stays readable. */
    for (size_t i = 0; i < json_array_size(steps) && i < FO_MAX_STEPS; i++) {
        const json_t *st = json_array_get(steps, i);
        int s = state_of(st, fo_step_state_names);
        if (s <= FO_STEP_PENDING || s == w->step_state[i])
            continue;
        if (s != FO_STEP_RUNNING && s != FO_STEP_SKIPPED && w->step_state[i] != FO_STEP_RUNNING &&
            ms_of(st, "started_ms") != 0)
            print_step(out, op, st, FO_STEP_RUNNING);
        print_step(out, op, st, s);
        w->step_state[i] = s;
    }
    if (result < 0 || result == FO_RESULT_RUNNING)
        return false;
    w->ended = true;
    {
        uint64_t t0 = ms_of(op, "started_ms"), t1 = ms_of(op, "ended_ms");
        const char *e = json_string_value(json_object_get(op, "error"));
        fprintf(out, "%s %s", w->id, fo_op_result_names[result]);
        if (t0 != 0 && t1 >= t0)
            fprintf(out, " in %.1f s", (double)(t1 - t0) / 1000.0);
        if (e != NULL)
            fprintf(out, ": %s", e);
        fputc('\n', out);
    }
    return true;
}

int fo_ctl_watch_exit(const json_t *op)
{
    return state_of(op, fo_op_result_names) == FO_RESULT_SUCCEEDED ? FO_CTL_EXIT_OK
                                                                   : FO_CTL_EXIT_FAILED;
}
