/*
 * coordinator/serve/lb.c — see lb.h.
 */
#include "coordinator/serve/lb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned answer(struct fo_lb_answer *out, unsigned status, const char *code, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));

static unsigned answer(struct fo_lb_answer *out, unsigned status, const char *code, const char *fmt,
                       ...)
{
    va_list ap;

    out->status = status;
    out->code = code;
    va_start(ap, fmt);
    vsnprintf(out->msg, sizeof(out->msg), fmt, ap);
    va_end(ap);
    return status;
}

int fo_lb_kind_of(const char *name)
{
    for (int k = 0; k < FO_COMPONENT_COUNT; k++)
        if (k != FO_COMPONENT_DNS && strcmp(fo_components[k].name, name) == 0)
            return k;
    return -1;
}

/* The site whose component of kind is host[:port]; NULL when none. A port that is not a
 * number matches nothing. */
static const struct fo_site *site_by_host(const struct fo_config *cfg, enum fo_component_kind kind,
                                          const char *host, const char *port)
{
    long p = -1;

    if (port != NULL) {
        char *end;
        p = strtol(port, &end, 10);
        if (*port == '\0' || *end != '\0' || p <= 0 || p > 65535)
            return NULL;
    }
    for (size_t i = 0; i < cfg->nsites; i++) {
        struct fo_component_ref ref;
        if (fo_component_get(&cfg->sites[i], kind, &ref) && ref.host != NULL &&
            strcmp(ref.host, host) == 0 && (p < 0 || ref.port == (uint16_t)p))
            return &cfg->sites[i];
    }
    return NULL;
}

/* Which server the query names (site=, or host= and port=). */
static unsigned find_site(const struct fo_lb_query *q, const struct fo_lb_facts *f,
                          struct fo_lb_answer *out)
{
    const char *kind = fo_components[q->kind].name;

    if ((q->site == NULL) == (q->host == NULL))
        return answer(out, 400, "bad_request",
                      "name the server by site=SITE or by host=HOST[&port=PORT], one of them");
    if (q->site != NULL) {
        out->site = fo_config_site(f->cfg, q->site);
        if (out->site == NULL)
            return answer(out, 404, "unknown_site", "no site '%s' in the configuration", q->site);
        if (!fo_component_get(out->site, q->kind, NULL))
            return answer(out, 404, "no_component", "site %s has no %s", out->site->name, kind);
        return 0;
    }
    out->site = site_by_host(f->cfg, q->kind, q->host, q->port);
    if (out->site == NULL)
        return answer(out, 404, "unknown_server", "no site's %s is %s%s%s", kind, q->host,
                      q->port != NULL ? ":" : "", q->port != NULL ? q->port : "");
    return 0;
}

unsigned fo_lb_judge(const struct fo_lb_query *q, const struct fo_lb_facts *f,
                     struct fo_lb_answer *out)
{
    const struct fo_state *st = f->st;
    const char *kind = fo_components[q->kind].name;
    bool primary, moving;

    memset(out, 0, sizeof(*out));
    if (find_site(q, f, out) != 0)
        return out->status;
    if (f->majority->reason != FO_MAJORITY_OK)
        return answer(out, 503, fo_majority_reason_names[f->majority->reason],
                      "no majority view: %s", f->majority->msg);
    if (st->cluster == NULL || st->primary == NULL)
        return answer(out, 503, "not_initialized",
                      "the cluster's initial primary is not committed yet");
    primary = strcmp(st->primary, out->site->name) == 0;
    /* A drill or a rejoin runs its plan without moving the primary; the others move it. */
    moving = st->operation != NULL && fo_op_kind_moves_primary(st->operation->kind);
    if (!q->replica) {
        if (!primary)
            return answer(out, 503, "not_primary", "the decided primary is %s, not %s", st->primary,
                          out->site->name);
        if (moving)
            return answer(out, 503, "operation_in_flight",
                          "%s is the target of operation %s, not writable until it ends",
                          st->primary, st->operation->id);
        return answer(out, 200, "ok", "%s's %s is the writable primary (epoch %llu)",
                      out->site->name, kind, (unsigned long long)st->epoch);
    }
    if (primary)
        return answer(out, 503, "is_primary", "%s is the decided primary", out->site->name);
    switch (f->standby != NULL ? f->standby(f->ctx, out->site, q->kind) : -1) {
    case 1:
        return answer(out, 200, "ok", "%s's %s is a standby of %s", out->site->name, kind,
                      st->primary);
    case 0:
        return answer(out, 503, "not_standby",
                      "%s's %s is not a standby (an old primary not re-seeded?)", out->site->name,
                      kind);
    default:
        return answer(out, 503, "standby_unknown", "this node has no recent probe of %s's %s",
                      out->site->name, kind);
    }
}
