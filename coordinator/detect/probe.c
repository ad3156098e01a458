/*
 * coordinator/detect/probe.c — see probe.h. The handle: specs, scheduling, deadlines, the
 * state machine wiring and the region verdicts. The clients are in probe_pg.c,
 * probe_redis.c and probe_http.c.
 */
#include "coordinator/detect/probe_internal.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actions/secret.h"
#include "coordinator/log.h"

const char *const fo_probe_kind_names[] = {"postgres", "redis", "http", NULL};

/* ---- helpers ---- */

void probe_sanitize(char *out, size_t cap, const char *in, size_t n)
{
    size_t o = 0;

    if (cap == 0)
        return;
    for (size_t i = 0; i < n && in[i] != '\0' && o + 1 < cap; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch == '\n' || ch == '\r' || ch == '\t')
            ch = ' ';
        if (ch == '"')
            ch = '\'';
        out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    /* libpq and curl end their messages with a newline: no trailing blanks */
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
}

/* Release the strings a check's copy of its spec owns (fo_prober_init strdup'ed them). */
static void spec_free(struct fo_probe_spec *s)
{
    free((char *)s->name);
    free((char *)s->region);
    free((char *)s->host);
    free((char *)s->dbname);
    free((char *)s->user);
    free((char *)s->password_file);
    for (size_t k = 0; k < FO_PG_NSSL; k++)
        free((char *)s->ssl[k]);
    free((char *)s->url);
}

static void handle_closed(uv_handle_t *h);

static void maybe_closed(struct fo_prober *p)
{
    if (!p->closing || p->pending > 0)
        return;
    for (size_t i = 0; i < p->nchecks; i++) {
        struct fo_probe_check *c = &p->checks[i];
        fo_secret_wipe(c->password, sizeof(c->password));
        spec_free(&c->spec);
    }
    free(p->checks);
    free(p->regions);
    p->checks = NULL;
    p->regions = NULL;
    if (p->close_cb != NULL)
        p->close_cb(p);
}

/* Handles that are part of struct fo_prober or a check (h->data = prober). */
static void handle_closed(uv_handle_t *h)
{
    struct fo_prober *p = h->data;
    p->pending--;
    maybe_closed(p);
}

/* Handles a kind allocated: the uv_poll_t is the first member of a heap block whose
 * owner pointer we cannot know, so we keep (prober, free) in a side block. */
struct closing {
    struct fo_prober *p;
    void *mem;
};

static void counted_closed(uv_handle_t *h)
{
    struct closing *cl = h->data;
    struct fo_prober *p = cl->p;
    free(cl->mem);
    free(cl);
    p->pending--;
    maybe_closed(p);
}

void probe_handle_close(struct fo_prober *p, uv_handle_t *h, bool free_it)
{
    struct closing *cl = malloc(sizeof(*cl));

    if (cl == NULL) {
        /* cannot track it: close without freeing (a leak beats a use after free) */
        h->data = NULL;
        uv_close(h, NULL);
        return;
    }
    cl->p = p;
    cl->mem = free_it ? (void *)h : NULL;
    h->data = cl;
    p->pending++;
    uv_close(h, counted_closed);
}

/* ---- resolving host names off the loop ---- */

struct probe_resolve {
    uv_getaddrinfo_t req;
    struct fo_prober *p;
    struct fo_probe_check *c; /* NULL once cancelled */
    probe_resolve_cb cb;
};

static void resolved_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct probe_resolve *r = req->data;
    struct fo_prober *p = r->p;
    struct fo_probe_check *c = r->c;
    probe_resolve_cb cb = r->cb;

    if (c != NULL) {
        c->resolving = NULL;
        if (status == 0 && res == NULL)
            status = UV_EAI_NONAME;
        else if (status == 0 && res->ai_family == AF_INET6)
            status =
                uv_ip6_name((const struct sockaddr_in6 *)res->ai_addr, c->addr, sizeof(c->addr));
        else if (status == 0)
            status =
                uv_ip4_name((const struct sockaddr_in *)res->ai_addr, c->addr, sizeof(c->addr));
    }
    uv_freeaddrinfo(res);
    free(r);
    p->pending--;
    if (c != NULL && !p->closing)
        cb(c, status);
    else
        maybe_closed(p);
}

int probe_resolve(struct fo_probe_check *c, probe_resolve_cb cb)
{
    struct in6_addr a6;
    struct in_addr a4;
    struct addrinfo hints;
    struct probe_resolve *r;
    int rc;

    if (inet_pton(AF_INET, c->spec.host, &a4) == 1 || inet_pton(AF_INET6, c->spec.host, &a6) == 1) {
        snprintf(c->addr, sizeof(c->addr), "%s", c->spec.host);
        return 1;
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL)
        return UV_ENOMEM;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    r->p = c->p;
    r->c = c;
    r->cb = cb;
    r->req.data = r;
    c->addr[0] = '\0';
    rc = uv_getaddrinfo(c->p->loop, &r->req, resolved_cb, c->spec.host, NULL, &hints);
    if (rc != 0) {
        free(r);
        return rc;
    }
    c->p->pending++;
    c->resolving = r;
    return 0;
}

void probe_resolve_cancel(struct fo_probe_check *c)
{
    if (c->resolving == NULL)
        return;
    c->resolving->c = NULL; /* the callback still runs (the loop owns the request) */
    uv_cancel((uv_req_t *)&c->resolving->req);
    c->resolving = NULL;
}

/* ---- verdicts ---- */

static void update_region(struct fo_prober *p, struct fo_probe_region *rg)
{
    struct fo_region_member m[FO_PROBE_MAX_CHECKS];
    size_t idx[FO_PROBE_MAX_CHECKS];
    size_t n = 0, culprit = SIZE_MAX, ncrit = 0, nup = 0;
    int status;

    for (size_t i = 0; i < p->nchecks; i++) {
        const struct fo_probe_check *c = &p->checks[i];
        if (strcmp(c->spec.region, rg->name) != 0)
            continue;
        m[n].status = c->state.status;
        m[n].critical = c->spec.critical;
        ncrit += c->spec.critical;
        nup += c->state.status == FO_STATUS_UP;
        idx[n++] = i;
    }
    status = fo_region_verdict(m, n, &culprit);
    if (status == rg->status)
        return;
    if (culprit != SIZE_MAX) {
        const struct fo_probe_check *c = &p->checks[idx[culprit]];
        if (c->state.status == FO_STATUS_UNKNOWN && !c->has_last)
            snprintf(rg->reason, sizeof(rg->reason), "%s: no result yet", c->spec.name);
        else if (c->has_last && !c->last.ok)
            snprintf(rg->reason, sizeof(rg->reason), "%s: %s", c->spec.name, c->last.detail);
        else
            snprintf(rg->reason, sizeof(rg->reason), "%s: %s (not up for long enough yet)",
                     c->spec.name, fo_status_names[c->state.status]);
    } else if (ncrit > 0) {
        snprintf(rg->reason, sizeof(rg->reason), "%zu critical check%s up", ncrit,
                 ncrit == 1 ? "" : "s");
    } else {
        snprintf(rg->reason, sizeof(rg->reason), "%zu check%s up (none critical)", nup,
                 nup == 1 ? "" : "s");
    }
    rg->status = status;
    fo_log_info("probe.verdict", "region=%s status=%s reason=\"%s\"", rg->name,
                fo_status_names[status], rg->reason);
    p->on_region(p, rg->name, status, rg->reason);
}

static struct fo_probe_region *region_of(struct fo_prober *p, const char *name)
{
    for (size_t i = 0; i < p->nregions; i++)
        if (strcmp(p->regions[i].name, name) == 0)
            return &p->regions[i];
    return NULL;
}

/* ---- one probe ---- */

static void on_tick(uv_timer_t *t);

void probe_run_soon(struct fo_probe_check *c)
{
    if (c->p->closing || !c->p->started || c->running)
        return;
    /* Through the timer (0 ms), never from inside the client library's callback that
     * noticed the drop; the regular rhythm resumes from this run. */
    uv_timer_start(&c->tick, on_tick, 0, c->spec.interval_ms);
}

void probe_finish(struct fo_probe_check *c, bool ok, const char *fmt, ...)
{
    struct fo_prober *p = c->p;
    struct fo_probe_result *r = &c->cur;
    char tmp[FO_PROBE_DETAIL_MAX];
    va_list ap;
    bool changed;

    if (!c->running)
        return;
    c->running = false;
    uv_timer_stop(&c->deadline);
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    probe_sanitize(r->detail, sizeof(r->detail), tmp, sizeof(tmp));
    r->ok = ok;
    r->at_ms = uv_now(p->loop);
    r->latency_us = (uv_hrtime() - c->started_hr) / 1000u;
    if (!ok) {
        long status = r->http_status;
        memset(&r->pg, 0, sizeof(r->pg));
        memset(&r->redis, 0, sizeof(r->redis));
        r->http_status = status;
    }
    c->last = *r;
    c->has_last = true;
    changed =
        fo_check_state_feed(&c->state, r->at_ms, ok, c->spec.down_after_ms, c->spec.up_after_ms);
    if (changed)
        fo_log_info("probe.check", "check=%s region=%s status=%s detail=\"%s\"", c->spec.name,
                    c->spec.region, fo_status_names[c->state.status], r->detail);
    else if (!ok)
        fo_log_debug("probe.fail", "check=%s detail=\"%s\"", c->spec.name, r->detail);
    if (p->on_result != NULL) {
        p->on_result(p, c->index, &c->last);
        if (p->closing)
            return;
    }
    if (changed)
        update_region(p, region_of(p, c->spec.region));
    else if (!ok && c->state.status != FO_STATUS_DOWN && !p->closing) {
        /* A failure streak becomes DOWN once it has lasted down_after_ms: probe again
         * exactly then, not up to an interval later (issue 13: count the window from the
         * first failed probe). The regular rhythm resumes from that run. */
        uint64_t due = c->state.streak_ms + c->spec.down_after_ms;
        if (due > r->at_ms && due - r->at_ms < c->spec.interval_ms)
            uv_timer_start(&c->tick, on_tick, due - r->at_ms, c->spec.interval_ms);
    }
}

/* Each kind's driver (probe_internal.h), indexed by enum fo_probe_kind; fo_prober_init
 * refuses any other kind. */
static const struct {
    void (*start)(struct fo_probe_check *c);
    void (*abort)(struct fo_probe_check *c);
    bool (*kept)(const struct fo_probe_check *c); /* a kept connection to probe on; NULL: none */
} drivers[] = {
    [FO_PROBE_POSTGRES] = {probe_pg_start, probe_pg_abort, probe_pg_kept},
    [FO_PROBE_REDIS] = {probe_redis_start, probe_redis_abort, probe_redis_kept},
    [FO_PROBE_HTTP] = {probe_http_start, probe_http_abort, NULL},
};

/* How long this probe may take (probe.h: a probe that must connect gets twice the
 * timeout, unless it follows a failure of a check that is UP). */
static uint32_t probe_deadline_ms(const struct fo_probe_check *c)
{
    bool kept = drivers[c->spec.kind].kept == NULL || drivers[c->spec.kind].kept(c);
    bool failing = c->has_last && !c->last.ok && c->state.status == FO_STATUS_UP;
    uint64_t ms = kept || failing ? c->spec.timeout_ms : 2 * (uint64_t)c->spec.timeout_ms;
    return ms > FO_PROBE_TIMEOUT_MAX ? FO_PROBE_TIMEOUT_MAX : (uint32_t)ms;
}

static void on_deadline(uv_timer_t *t)
{
    struct fo_probe_check *c = t->data;

    if (!c->running)
        return;
    drivers[c->spec.kind].abort(c);
    probe_resolve_cancel(c);
    probe_finish(c, false, "timeout after %u ms%s", c->deadline_ms,
                 c->deadline_ms != c->spec.timeout_ms ? " (connecting)" : "");
}

static void on_tick(uv_timer_t *t)
{
    struct fo_probe_check *c = t->data;

    if (c->running || c->p->closing)
        return; /* the previous probe is still within its deadline */
    c->running = true;
    /* The deadline counts from now, not from the start of this loop iteration. */
    uv_update_time(c->p->loop);
    c->started_hr = uv_hrtime();
    memset(&c->cur, 0, sizeof(c->cur));
    c->deadline_ms = probe_deadline_ms(c);
    uv_timer_start(&c->deadline, on_deadline, c->deadline_ms, 0);
    drivers[c->spec.kind].start(c);
}

/* Cut the probe in flight without a result. */
static void cancel_probe(struct fo_probe_check *c)
{
    if (!c->running)
        return;
    c->running = false;
    uv_timer_stop(&c->deadline);
    probe_resolve_cancel(c);
    drivers[c->spec.kind].abort(c);
}

/* ---- the handle ---- */

/* FNV-1a: the phase of a check in its interval, stable across restarts and nodes. */
static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static bool too_long(const char *s, size_t max)
{
    return s != NULL && strnlen(s, max + 1) > max;
}

static int validate(const struct fo_probe_spec *specs, size_t n, struct fo_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const struct fo_probe_spec *s = &specs[i];
        const char *nm = s->name != NULL ? s->name : "?";
        if (s->name == NULL || s->name[0] == '\0' || too_long(s->name, FO_NAME_MAX))
            return fo_error_set(err, FO_PROBE_EINVAL, "check %zu: name missing or too long", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(specs[j].name, s->name) == 0)
                return fo_error_set(err, FO_PROBE_EINVAL, "check %s: duplicate name", nm);
        if (s->region == NULL || s->region[0] == '\0' || too_long(s->region, FO_NAME_MAX))
            return fo_error_set(err, FO_PROBE_EINVAL, "check %s: region missing or too long", nm);
        if (s->kind < FO_PROBE_POSTGRES || s->kind > FO_PROBE_HTTP)
            return fo_error_set(err, FO_PROBE_EINVAL, "check %s: unknown kind %d", nm, s->kind);
        if (s->interval_ms == 0 || s->timeout_ms == 0 || s->timeout_ms > FO_PROBE_TIMEOUT_MAX)
            return fo_error_set(err, FO_PROBE_EINVAL,
                                "check %s: interval_ms and timeout_ms must be in 1..%u", nm,
                                FO_PROBE_TIMEOUT_MAX);
        if (too_long(s->host, FO_PROBE_STRING_MAX) || too_long(s->dbname, FO_PROBE_STRING_MAX) ||
            too_long(s->user, FO_PROBE_STRING_MAX) ||
            too_long(s->password_file, FO_PROBE_STRING_MAX) ||
            too_long(s->url, FO_PROBE_STRING_MAX))
            return fo_error_set(err, FO_PROBE_EINVAL, "check %s: a string is too long", nm);
        for (size_t k = 0; k < FO_PG_NSSL; k++)
            if (too_long(s->ssl[k], FO_PROBE_STRING_MAX))
                return fo_error_set(err, FO_PROBE_EINVAL, "check %s: a string is too long", nm);
        if (s->kind == FO_PROBE_HTTP) {
            if (s->url == NULL ||
                (strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0))
                return fo_error_set(err, FO_PROBE_EINVAL,
                                    "check %s: url must start with http:// or https://", nm);
            if (s->expect_status > 999)
                return fo_error_set(err, FO_PROBE_EINVAL, "check %s: bad expect_status", nm);
        } else {
            if (s->host == NULL || s->host[0] == '\0' || s->port == 0)
                return fo_error_set(err, FO_PROBE_EINVAL, "check %s: host and port required", nm);
            if (s->kind == FO_PROBE_REDIS && s->host[0] == '/')
                return fo_error_set(err, FO_PROBE_EINVAL, "check %s: redis host must be TCP", nm);
        }
    }
    return 0;
}

int fo_prober_init(struct fo_prober *p, uv_loop_t *loop, const struct fo_probe_spec *specs,
                   size_t n, fo_prober_region_cb on_region, fo_prober_result_cb on_result,
                   struct fo_error *err)
{
    void *data = p->data;
    bool any_http = false;

    memset(p, 0, sizeof(*p));
    p->data = data;
    if (loop == NULL || specs == NULL || n == 0 || n > FO_PROBE_MAX_CHECKS || on_region == NULL)
        return fo_error_set(err, FO_PROBE_EINVAL, "prober: 1..%d checks and on_region required",
                            FO_PROBE_MAX_CHECKS);
    if (validate(specs, n, err) != 0)
        return FO_PROBE_EINVAL;
    p->loop = loop;
    p->on_region = on_region;
    p->on_result = on_result;
    p->checks = calloc(n, sizeof(*p->checks));
    p->regions = calloc(n, sizeof(*p->regions));
    if (p->checks == NULL || p->regions == NULL)
        goto nomem;
    p->nchecks = n;
    for (size_t i = 0; i < n; i++) {
        struct fo_probe_check *c = &p->checks[i];
        c->p = p;
        c->index = i;
        c->spec = specs[i];
        c->spec.name = dup_or_empty(specs[i].name);
        c->spec.region = dup_or_empty(specs[i].region);
        c->spec.host = dup_or_empty(specs[i].host);
        c->spec.dbname = dup_or_empty(specs[i].dbname);
        c->spec.user = dup_or_empty(specs[i].user);
        c->spec.password_file = dup_or_empty(specs[i].password_file);
        c->spec.url = dup_or_empty(specs[i].url);
        for (size_t k = 0; k < FO_PG_NSSL; k++) /* ours, or NULL (libpq's default) */
            c->spec.ssl[k] = NULL;
        for (size_t k = 0; k < FO_PG_NSSL; k++)
            if (specs[i].ssl[k] != NULL && (c->spec.ssl[k] = strdup(specs[i].ssl[k])) == NULL)
                goto nomem;
        if (c->spec.name == NULL || c->spec.region == NULL || c->spec.host == NULL ||
            c->spec.dbname == NULL || c->spec.user == NULL || c->spec.password_file == NULL ||
            c->spec.url == NULL)
            goto nomem;
        if (c->spec.kind == FO_PROBE_HTTP && c->spec.expect_status == 0)
            c->spec.expect_status = 200;
        c->pg.poll_fd = -1;
        fo_check_state_init(&c->state);
        any_http = any_http || c->spec.kind == FO_PROBE_HTTP;
        if (region_of(p, c->spec.region) == NULL) {
            struct fo_probe_region *rg = &p->regions[p->nregions++];
            snprintf(rg->name, sizeof(rg->name), "%s", c->spec.region);
            rg->status = FO_STATUS_UNKNOWN;
        }
    }
    if (any_http && probe_http_init(p, err) != 0)
        goto fail;
    /* From here nothing fails: the handles exist, close() must be used. */
    uv_timer_init(loop, &p->curl_timer);
    p->curl_timer.data = p;
    for (size_t i = 0; i < n; i++) {
        struct fo_probe_check *c = &p->checks[i];
        uv_timer_init(loop, &c->tick);
        uv_timer_init(loop, &c->deadline);
        c->tick.data = c;
        c->deadline.data = c;
    }
    return 0;
nomem:
    fo_error_set(err, FO_PROBE_ENOMEM, "prober: out of memory");
fail:
    if (p->checks != NULL) {
        for (size_t i = 0; i < n; i++) {
            struct fo_probe_check *c = &p->checks[i];
            spec_free(&c->spec);
        }
    }
    free(p->checks);
    free(p->regions);
    memset(p, 0, sizeof(*p));
    p->data = data;
    return err != NULL && err->code != 0 ? err->code : FO_PROBE_ENOMEM;
}

int fo_prober_start(struct fo_prober *p, struct fo_error *err)
{
    if (p->started || p->closing)
        return 0;
    for (size_t i = 0; i < p->nchecks; i++) {
        struct fo_probe_check *c = &p->checks[i];
        c->has_password = false;
        if (c->spec.kind == FO_PROBE_HTTP || c->spec.password_file[0] == '\0')
            continue;
        if (fo_secret_read_file(c->spec.password_file, c->password, sizeof(c->password), err) !=
            0) {
            for (size_t j = 0; j <= i; j++) {
                fo_secret_wipe(p->checks[j].password, sizeof(p->checks[j].password));
                p->checks[j].has_password = false;
            }
            if (err != NULL)
                err->code = FO_PROBE_ESECRET;
            return FO_PROBE_ESECRET;
        }
        c->has_password = true;
    }
    for (size_t i = 0; i < p->nchecks; i++) {
        struct fo_probe_check *c = &p->checks[i];
        uint64_t phase = name_hash(c->spec.name) % c->spec.interval_ms;
        uv_timer_start(&c->tick, on_tick, phase, c->spec.interval_ms);
    }
    p->started = true;
    fo_log_info("probe.start", "checks=%zu regions=%zu", p->nchecks, p->nregions);
    return 0;
}

void fo_prober_stop(struct fo_prober *p)
{
    if (!p->started)
        return;
    p->started = false;
    for (size_t i = 0; i < p->nchecks; i++) {
        uv_timer_stop(&p->checks[i].tick);
        cancel_probe(&p->checks[i]);
    }
}

void fo_prober_close(struct fo_prober *p, fo_prober_close_cb close_cb)
{
    if (p->closing)
        return;
    fo_prober_stop(p);
    p->closing = true;
    p->close_cb = close_cb;
    for (size_t i = 0; i < p->nchecks; i++) {
        struct fo_probe_check *c = &p->checks[i];
        cancel_probe(c);
        if (c->spec.kind == FO_PROBE_POSTGRES)
            probe_pg_close(c);
        else if (c->spec.kind == FO_PROBE_REDIS)
            probe_redis_close(c);
    }
    probe_http_close(p);
    p->curl_timer.data = p;
    p->pending++;
    uv_close((uv_handle_t *)&p->curl_timer, handle_closed);
    for (size_t i = 0; i < p->nchecks; i++) {
        struct fo_probe_check *c = &p->checks[i];
        c->tick.data = p;
        c->deadline.data = p;
        p->pending += 2;
        uv_close((uv_handle_t *)&c->tick, handle_closed);
        uv_close((uv_handle_t *)&c->deadline, handle_closed);
    }
}

/* ---- accessors ---- */

size_t fo_prober_count(const struct fo_prober *p)
{
    return p->nchecks;
}

const struct fo_probe_spec *fo_prober_spec(const struct fo_prober *p, size_t i)
{
    return i < p->nchecks ? &p->checks[i].spec : NULL;
}

int fo_prober_check_status(const struct fo_prober *p, size_t i)
{
    return i < p->nchecks ? p->checks[i].state.status : FO_STATUS_UNKNOWN;
}

const struct fo_probe_result *fo_prober_result(const struct fo_prober *p, size_t i)
{
    return i < p->nchecks && p->checks[i].has_last ? &p->checks[i].last : NULL;
}

size_t fo_prober_find(const struct fo_prober *p, const char *name)
{
    for (size_t i = 0; name != NULL && i < p->nchecks; i++)
        if (strcmp(p->checks[i].spec.name, name) == 0)
            return i;
    return SIZE_MAX;
}

int fo_prober_region_status(const struct fo_prober *p, const char *region, const char **reason)
{
    for (size_t i = 0; region != NULL && i < p->nregions; i++) {
        if (strcmp(p->regions[i].name, region) == 0) {
            if (reason != NULL)
                *reason = p->regions[i].reason;
            return p->regions[i].status;
        }
    }
    if (reason != NULL)
        *reason = "";
    return FO_STATUS_UNKNOWN;
}
