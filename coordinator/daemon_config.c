/*
 * coordinator/daemon_config.c — what the daemon derives from its configuration, at start
 * and again on a reload (daemon.h): the tokens, the feeds, this node's probes, and
 * fo_daemon_reload itself.
 *
 * A reload is all or nothing. Everything that can fail runs first, against the new file
 * and while the running config is untouched: the load, the plan check, the frozen keys
 * (config/config_reload.h), then every part's prepare (reading token and password files).
 * Only then is the new config adopted and every part's commit run, none of which can
 * fail. So a refused reload leaves the node exactly as it was.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "actions/secret.h"
#include "coordinator/config/components.h"
#include "coordinator/config/config_reload.h"
#include "coordinator/config/plan_check.h"
#include "coordinator/daemon.h"
#include "coordinator/log.h"

#define NFEEDS (sizeof(((struct fo_daemon *)0)->feeds) / sizeof(((struct fo_daemon *)0)->feeds[0]))

/* ---- tokens ------------------------------------------------------------------------- */

/* Every secret the daemon reads from a token file, read together so that a reload takes
 * all of them or none. Secret: wiped after use. */
struct tokens {
    char admin[FO_TOKEN_MAX + 1];
    char read[FO_TOKEN_MAX + 1]; /* empty: none configured */
    char feeds[NFEEDS][FO_TOKEN_MAX + 1];
};

static void tokens_wipe(struct tokens *t)
{
    fo_secret_wipe((char *)t, sizeof(*t));
}

/* The feeds' tokens are read only when a listener takes reports (health, HTTP): a node
 * without one never opens them. */
static bool feeds_listen(const struct fo_config *cfg)
{
    return cfg->health.listen != NULL || cfg->http.listen != NULL;
}

static int tokens_read(const struct fo_config *cfg, struct tokens *t, struct fo_error *err)
{
    memset(t, 0, sizeof(*t));
    if (cfg->nfeeds > NFEEDS)
        return fo_error_set(err, 1, "too many feeds");
    if (fo_secret_read_file(cfg->admin.token_file, t->admin, sizeof(t->admin), err) != 0)
        return 1;
    if (cfg->admin.read_token_file != NULL &&
        fo_secret_read_file(cfg->admin.read_token_file, t->read, sizeof(t->read), err) != 0)
        return 1;
    for (size_t i = 0; feeds_listen(cfg) && i < cfg->nfeeds; i++)
        if (fo_secret_read_file(cfg->feeds[i].token_file, t->feeds[i], sizeof(t->feeds[i]), err) !=
            0)
            return 1;
    return 0;
}

/* Into the buffers every listener points at (their addresses never change), and the
 * feed table (names from the running config) with its count. */
static void tokens_commit(struct fo_daemon *d, const struct tokens *t)
{
    memcpy(d->admin_token, t->admin, sizeof(d->admin_token));
    memcpy(d->read_token, t->read, sizeof(d->read_token));
    for (size_t i = 0; i < NFEEDS; i++) {
        memcpy(d->feed_tokens[i], t->feeds[i], sizeof(d->feed_tokens[i]));
        d->feeds[i].name = i < d->cfg.nfeeds ? d->cfg.feeds[i].name : NULL;
        d->feeds[i].token = i < d->cfg.nfeeds ? d->feed_tokens[i] : NULL;
    }
    d->serve.nfeeds = d->cfg.nfeeds;
    if (d->health_started)
        fo_health_server_set_feeds(&d->health, d->feeds, d->cfg.nfeeds);
}

/* The operators for cfg (serve/tokens.h): admin.tokens_file's named ones, and the token
 * files of old as shared entries. admin.token_file is what nodes send each other (role
 * node); without a tokens file it is also the operators' admin token, as it always was. */
static int operators_build(struct fo_tokens *t, const struct fo_config *cfg, const char *admin,
                           const char *read, struct fo_error *err)
{
    unsigned node = fo_admin_role_grants(FO_ROLE_NODE);
    unsigned shared =
        cfg->admin.tokens_file != NULL ? node : node | fo_admin_role_grants(FO_ROLE_ADMIN);

    if (fo_tokens_init(t, cfg->admin.tokens_file, err) != 0)
        return 1;
    if (fo_tokens_add_shared(t, "admin-token", shared, admin, err) != 0 ||
        (read[0] != '\0' &&
         fo_tokens_add_shared(t, "read-token", fo_admin_role_grants(FO_ROLE_READ), read, err) !=
             0)) {
        fo_tokens_free(t);
        return 1;
    }
    return 0;
}

int fo_daemon_operators_load(struct fo_daemon *d, struct fo_error *err)
{
    if (operators_build(&d->tokens, &d->cfg, d->admin_token, d->read_token, err) != 0)
        return 1;
    d->tokens_loaded = true;
    return 0;
}

int fo_daemon_tokens_load(struct fo_daemon *d, struct fo_error *err)
{
    struct tokens t;
    int rv = tokens_read(&d->cfg, &t, err);
    if (rv == 0)
        tokens_commit(d, &t);
    tokens_wipe(&t);
    return rv;
}

/* ---- this node's probes -------------------------------------------------------------- */

static void on_region(struct fo_prober *p, const char *region, int status, const char *reason)
{
    struct fo_daemon *d = p->data;
    fo_verdicts_set(&d->verdicts, d->cfg.self->name, region, status, reason, fo_daemon_now_ms());
}

/* How each probed component kind is checked: the probe kind, and the checks setting
 * that makes its DOWN critical. Indexed by enum fo_component_kind. */
static const struct {
    int kind;        /* enum fo_probe_kind */
    size_t critical; /* offset of a bool in struct fo_config_checks */
} probe_of[FO_COMPONENT_COUNT] = {
    [FO_COMPONENT_POSTGRES] = {FO_PROBE_POSTGRES,
                               offsetof(struct fo_config_checks, postgres_critical)},
    [FO_COMPONENT_REDIS] = {FO_PROBE_REDIS, offsetof(struct fo_config_checks, redis_critical)},
};

/* A config's checks: one per probed site component (postgres:SITE, redis:SITE), then
 * checks.http. The strings point into cfg and names. */
struct specs {
    struct fo_probe_spec *v;
    char (*names)[FO_NAME_MAX + 16];
    size_t n;
};

static void specs_free(struct specs *s)
{
    free(s->v);
    free(s->names);
    memset(s, 0, sizeof(*s));
}

static int specs_build(const struct fo_config *cfg, struct specs *s, struct fo_error *err)
{
    const struct fo_config_checks *ck = &cfg->checks;
    size_t cap = FO_COMPONENT_COUNT * cfg->nsites + ck->nhttp;

    memset(s, 0, sizeof(*s));
    if (cap == 0)
        return 0;
    s->v = calloc(cap, sizeof(*s->v));
    s->names = calloc(cap, sizeof(*s->names));
    if (s->v == NULL || s->names == NULL) {
        specs_free(s);
        return fo_error_set(err, 1, "out of memory");
    }
    for (size_t i = 0; i < cfg->nsites; i++) {
        for (int k = 0; k < FO_COMPONENT_COUNT; k++) {
            struct fo_component_ref c;
            struct fo_probe_spec *sp = &s->v[s->n];
            if (!fo_components[k].probed || !fo_component_get(&cfg->sites[i], k, &c))
                continue;
            fo_component_probe_name(k, cfg->sites[i].name, s->names[s->n], sizeof(s->names[0]));
            sp->name = s->names[s->n++];
            sp->kind = probe_of[k].kind;
            sp->critical = *(const bool *)((const char *)ck + probe_of[k].critical);
            sp->region = c.region;
            sp->host = c.host;
            sp->port = c.port;
            sp->dbname = c.dbname;
            sp->user = c.user;
            sp->password_file = c.password_file;
            for (size_t j = 0; c.ssl != NULL && j < FO_PG_NSSL; j++)
                sp->ssl[j] = c.ssl[j];
            sp->timeout_ms = ck->timeout_ms;
        }
    }
    for (size_t i = 0; i < ck->nhttp; i++) {
        struct fo_probe_spec *sp = &s->v[s->n++];
        sp->name = ck->http[i].name;
        sp->kind = FO_PROBE_HTTP;
        sp->region = ck->http[i].region;
        sp->critical = ck->http[i].critical;
        sp->url = ck->http[i].url;
        sp->expect_status = ck->http[i].expect_status;
        sp->timeout_ms = ck->http[i].timeout_ms != 0 ? ck->http[i].timeout_ms : ck->timeout_ms;
    }
    for (size_t i = 0; i < s->n; i++) {
        s->v[i].interval_ms = ck->interval_ms;
        s->v[i].down_after_ms = ck->down_after_ms;
        s->v[i].up_after_ms = ck->up_after_ms;
    }
    return 0;
}

int fo_daemon_prober_start(struct fo_daemon *d, struct fo_error *err)
{
    struct specs s;
    int rv;

    if (specs_build(&d->cfg, &s, err) != 0)
        return 1;
    if (s.n == 0)
        return 0;
    d->prober.data = d;
    rv = fo_prober_init(&d->prober, d->loop, s.v, s.n, on_region, NULL, err);
    specs_free(&s); /* copied by fo_prober_init */
    if (rv != 0)
        return rv;
    d->prober_started = true;
    return fo_prober_start(&d->prober, err);
}

/* The prober copies strings, an absent one as "" (probe.h): compare them so. */
static bool text_same(const char *a, const char *b)
{
    return strcmp(a != NULL ? a : "", b != NULL ? b : "") == 0;
}

static bool spec_same(const struct fo_probe_spec *a, const struct fo_probe_spec *b)
{
    return text_same(a->name, b->name) && a->kind == b->kind && text_same(a->region, b->region) &&
           a->critical == b->critical && a->interval_ms == b->interval_ms &&
           a->timeout_ms == b->timeout_ms && a->down_after_ms == b->down_after_ms &&
           a->up_after_ms == b->up_after_ms && text_same(a->host, b->host) && a->port == b->port &&
           text_same(a->dbname, b->dbname) && text_same(a->user, b->user) &&
           text_same(a->password_file, b->password_file) && text_same(a->url, b->url) &&
           a->expect_status == b->expect_status;
}

/* ---- reload ----------------------------------------------------------------------------- */

/* What a reload carries from the parts' prepare to their commit. */
struct reload {
    struct fo_config next;
    struct tokens tokens;
    struct fo_tokens operators; /* built from the new config and tokens */
    bool operators_built;
    bool probes_changed; /* the checks differ: the prober restarts with the new ones */
    void *tls_next;      /* the TLS context built from the files as they are now, or NULL */
};

/* Certificates are re-read on every reload (a renewed certificate or a new CRL keeps
 * its path): the new context serves new connections, and open ones whose peer no longer
 * verifies (revoked) are cut (consensus/tls.h). tls.mode itself is frozen. */
static int tls_prepare(struct fo_daemon *d, struct reload *r, struct fo_error *err)
{
    const struct fo_config_tls *t = &r->next.tls;
    const struct fo_tls_files files = {.ca = t->ca, .cert = t->cert, .key = t->key, .crl = t->crl};

    if (!d->tls_on)
        return 0;
    return fo_tls_prepare(&d->tls, &files, &r->tls_next, err);
}

static void tls_reload(struct fo_daemon *d, struct reload *r)
{
    unsigned cut;

    if (r->tls_next == NULL)
        return;
    cut = fo_tls_adopt(&d->tls, r->tls_next);
    r->tls_next = NULL;
    fo_log_info("tls.reload", "result=ok crl=%s cut=%u", d->cfg.tls.crl != NULL ? "on" : "off",
                cut);
}

static int tokens_prepare(struct fo_daemon *d, struct reload *r, struct fo_error *err)
{
    (void)d;
    if (tokens_read(&r->next, &r->tokens, err) != 0 ||
        operators_build(&r->operators, &r->next, r->tokens.admin, r->tokens.read, err) != 0)
        return -1;
    r->operators_built = true;
    return 0;
}

static void tokens_reload(struct fo_daemon *d, struct reload *r)
{
    tokens_commit(d, &r->tokens);
    /* The servers hold &d->tokens: the new list moves into the same place. */
    if (d->tokens_loaded)
        fo_tokens_free(&d->tokens);
    d->tokens = r->operators;
    d->tokens_loaded = true;
    r->operators_built = false;
}

/* Restarting the prober loses its checks' history (each one settles again, which takes
 * up_after_ms / down_after_ms), so it restarts only when a check changed. A password file
 * is read at the prober's start: it must be readable now, or the reload is refused. */
static int probes_prepare(struct fo_daemon *d, struct reload *r, struct fo_error *err)
{
    struct specs s;
    size_t running = d->prober_started ? fo_prober_count(&d->prober) : 0;

    if (specs_build(&r->next, &s, err) != 0)
        return 1;
    r->probes_changed = s.n != running;
    for (size_t i = 0; !r->probes_changed && i < s.n; i++)
        r->probes_changed = !spec_same(&s.v[i], fo_prober_spec(&d->prober, i));
    for (size_t i = 0; r->probes_changed && i < s.n; i++) {
        char pw[FO_TOKEN_MAX + 1];
        int rv = 0;
        if (s.v[i].password_file != NULL)
            rv = fo_secret_read_file(s.v[i].password_file, pw, sizeof(pw), err);
        fo_secret_wipe(pw, sizeof(pw));
        if (rv != 0) {
            specs_free(&s);
            return rv;
        }
    }
    specs_free(&s);
    return 0;
}

static void probes_reload(struct fo_daemon *d, struct reload *r)
{
    if (r->probes_changed)
        fo_daemon_prober_restart(d);
}

/* What a reload re-derives, in order. prepare may fail (nothing has changed yet) and
 * reads the new config as r->next; commit cannot fail and runs once the new config is
 * d->cfg. A part that re-reads more from the config adds a row (and its fields to struct
 * reload). */
static const struct reload_part {
    const char *name;
    int (*prepare)(struct fo_daemon *d, struct reload *r, struct fo_error *err);
    void (*commit)(struct fo_daemon *d, struct reload *r);
} reload_parts[] = {
    {"tls", tls_prepare, tls_reload},
    {"tokens", tokens_prepare, tokens_reload},
    {"checks", probes_prepare, probes_reload},
};

#define NPARTS (sizeof(reload_parts) / sizeof(reload_parts[0]))

static enum fo_reload_result refuse(const struct fo_daemon *d, const char *part,
                                    const struct fo_error *e)
{
    fo_log_error("config.reload",
                 "result=refused part=%s reason=\"%s\" kept=%.12s (the running config stays)", part,
                 e->msg, d->cfg.digest);
    return FO_RELOAD_REFUSED;
}

enum fo_reload_result fo_daemon_reload(struct fo_daemon *d, struct fo_error *err)
{
    const struct fo_operation *op;
    struct reload *r;
    enum fo_reload_result res = FO_RELOAD_OK;
    struct fo_error e = {0};

    if (err == NULL)
        err = &e;
    if (d->stopping || !d->node_started)
        return fo_error_set(err, 1, "not running"), FO_RELOAD_REFUSED;
    /* The executor runs the operation in flight from d->cfg.plan, by step index: a plan
     * changed under it would run other steps. The reload waits for the end (housekeeping
     * retries it). */
    op = fo_node_state(&d->node)->operation;
    if (op != NULL) {
        d->reload_deferred = true;
        fo_error_set(err, 0, "operation %s in flight", op->id);
        fo_log_info("config.reload",
                    "result=deferred reason=\"operation %s in flight: reloaded "
                    "once it ends\"",
                    op->id);
        return FO_RELOAD_DEFERRED;
    }
    d->reload_deferred = false;
    if ((r = calloc(1, sizeof(*r))) == NULL) {
        fo_error_set(err, 1, "out of memory");
        return refuse(d, "config", err);
    }
    sd_notify(0, "RELOADING=1");
    if (fo_config_load(d->cfg.path, &r->next, err) != 0 || fo_plan_check(&r->next, err) != 0 ||
        fo_config_reload_check(&d->cfg, &r->next, err) != 0)
        res = refuse(d, "config", err);
    for (size_t i = 0; res == FO_RELOAD_OK && i < NPARTS; i++)
        if (reload_parts[i].prepare(d, r, err) != 0)
            res = refuse(d, reload_parts[i].name, err);
    if (res == FO_RELOAD_OK) {
        char was[sizeof(d->cfg.digest)];
        memcpy(was, d->cfg.digest, sizeof(was));
        fo_config_adopt(&d->cfg, &r->next);
        for (size_t i = 0; i < NPARTS; i++)
            reload_parts[i].commit(d, r);
        d->reloads++;
        fo_log_info("config.reload", "result=ok digest=%.12s previous=%.12s probes=%s",
                    d->cfg.digest, was, r->probes_changed ? "restarted" : "unchanged");
        /* The new digest reaches the FSM through the housekeeping's digest report. */
    }
    sd_notify(0, "READY=1");
    tokens_wipe(&r->tokens);
    if (r->tls_next != NULL)
        fo_tls_discard(r->tls_next); /* a later part refused the reload */
    if (r->operators_built)
        fo_tokens_free(&r->operators);
    fo_config_free(&r->next); /* empty when adopted */
    free(r);
    return res;
}
