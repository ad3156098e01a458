/*
 * coordinator/decide/verdict_clock.c — see verdict_clock.h.
 */
#include "coordinator/decide/verdict_clock.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fo_verdict_seen {
    char obs[FO_NAME_MAX + 1], reg[FO_NAME_MAX + 1];
    int status;
    uint64_t since_ms; /* the row's wall-clock stamp, to notice a change */
    uint64_t seen_ms;  /* the caller's monotonic now when first seen so */
};

static bool same_row(const struct fo_verdict_seen *s, const struct fo_verdict *v)
{
    return s->status == v->status && s->since_ms == v->since_ms &&
           strcmp(s->obs, v->observer) == 0 && strcmp(s->reg, v->region) == 0;
}

void fo_verdict_clock_update(struct fo_verdict_clock *c, const struct fo_state *st, uint64_t now_ms)
{
    struct fo_verdict_seen *fresh;

    c->now_ms = now_ms;
    if (st->nverdicts == 0) {
        c->n = 0;
        return;
    }
    fresh = calloc(st->nverdicts, sizeof(*fresh));
    if (fresh == NULL)
        return;
    for (size_t i = 0; i < st->nverdicts; i++) {
        const struct fo_verdict *v = &st->verdicts[i];
        struct fo_verdict_seen *f = &fresh[i];
        snprintf(f->obs, sizeof(f->obs), "%s", v->observer);
        snprintf(f->reg, sizeof(f->reg), "%s", v->region);
        f->status = v->status;
        f->since_ms = v->since_ms;
        f->seen_ms = now_ms;
        for (size_t k = 0; k < c->n; k++) {
            if (same_row(&c->rows[k], v)) {
                f->seen_ms = c->rows[k].seen_ms;
                break;
            }
        }
    }
    free(c->rows);
    c->rows = fresh;
    c->n = st->nverdicts;
}

uint64_t fo_verdict_clock_since(const void *ctx, const struct fo_verdict *v)
{
    const struct fo_verdict_clock *c = ctx;
    for (size_t i = 0; i < c->n; i++)
        if (same_row(&c->rows[i], v))
            return c->rows[i].seen_ms;
    return c->now_ms;
}

void fo_verdict_clock_free(struct fo_verdict_clock *c)
{
    free(c->rows);
    c->rows = NULL;
    c->n = 0;
}
