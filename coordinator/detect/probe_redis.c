/*
 * coordinator/detect/probe_redis.c — the redis check (probe.h): hiredis' async API on the loop.
 *
 * Per connection: redisAsyncConnect (to the resolved address: hiredis would resolve a
 * name synchronously), then AUTH when a password is configured. Per probe, pipelined:
 * PING (must answer PONG) and INFO replication (role, master_link_status, offsets).
 * The connection is kept while probes succeed and dropped on any failure, so that no
 * late reply of a failed probe can be taken for the next one's.
 *
 * The event adapter is our own, not hiredis/adapters/libuv.h of hiredis 0.14: that one
 * ignores uv_poll errors (libuv reports a refused connect as UV_EBADF with the handle
 * stopped), so a refused connect would hang until our deadline instead of failing at
 * once, and its poll handle is freed in a close callback we cannot wait for. Ours hands
 * an error to hiredis as the events it was waiting for (it then reads or writes, and
 * finds the error itself), and closes its handle through probe_handle_close.
 *
 * hiredis re-entrancy, the rules this file follows:
 *   - a context may be freed by hiredis itself (connect failure, EOF, read error): it
 *     first runs every pending reply callback with reply == NULL, then the disconnect
 *     callback; we learn it from a NULL reply, on_connect(status != OK) or on_disconnect,
 *     forget the pointer, and never free it ourselves;
 *   - we free a context (redisAsyncFree) only after forgetting it (r->ac = NULL): the
 *     callbacks it runs synchronously then see ac != r->ac and do nothing. Inside a
 *     hiredis callback redisAsyncFree is deferred by hiredis until the callback returns,
 *     which the same rule makes harmless;
 *   - every callback first checks that its context is still the check's current one.
 */
#include "coordinator/detect/probe_internal.h"
#include "coordinator/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

/* ---- the libuv adapter ---- */

struct redis_ev {
    uv_poll_t poll; /* first: probe_handle_close frees the whole block */
    redisAsyncContext *ac;
    struct fo_prober *p;
    int events;
    bool closed;
};

static void ev_poll_cb(uv_poll_t *h, int status, int events)
{
    struct redis_ev *ev = h->data;

    if (status < 0)
        events = ev->events; /* let hiredis meet the error in read(2) / getsockopt */
    if (ev->ac != NULL && (events & UV_READABLE))
        redisAsyncHandleRead(ev->ac);
    if (ev->ac != NULL && (events & UV_WRITABLE))
        redisAsyncHandleWrite(ev->ac);
}

static void ev_update(struct redis_ev *ev)
{
    if (ev->closed)
        return;
    if (ev->events != 0)
        uv_poll_start(&ev->poll, ev->events, ev_poll_cb);
    else
        uv_poll_stop(&ev->poll);
}

static void ev_add_read(void *data)
{
    struct redis_ev *ev = data;
    ev->events |= UV_READABLE;
    ev_update(ev);
}

static void ev_del_read(void *data)
{
    struct redis_ev *ev = data;
    ev->events &= ~UV_READABLE;
    ev_update(ev);
}

static void ev_add_write(void *data)
{
    struct redis_ev *ev = data;
    ev->events |= UV_WRITABLE;
    ev_update(ev);
}

static void ev_del_write(void *data)
{
    struct redis_ev *ev = data;
    ev->events &= ~UV_WRITABLE;
    ev_update(ev);
}

/* hiredis is freeing the context (it closes the socket right after this). */
static void ev_cleanup(void *data)
{
    struct redis_ev *ev = data;
    if (ev->closed)
        return; /* some hiredis versions clean up on disconnect and again on free */
    ev->closed = true;
    ev->ac = NULL;
    uv_poll_stop(&ev->poll);
    probe_handle_close(ev->p, (uv_handle_t *)&ev->poll, true);
}

static int ev_attach(struct fo_prober *p, redisAsyncContext *ac)
{
    struct redis_ev *ev;

    if (ac->ev.data != NULL)
        return -1;
    ev = calloc(1, sizeof(*ev));
    if (ev == NULL)
        return -1;
    if (uv_poll_init(p->loop, &ev->poll, ac->c.fd) != 0) {
        free(ev);
        return -1;
    }
    ev->poll.data = ev;
    ev->ac = ac;
    ev->p = p;
    ac->ev.data = ev;
    ac->ev.addRead = ev_add_read;
    ac->ev.delRead = ev_del_read;
    ac->ev.addWrite = ev_add_write;
    ac->ev.delWrite = ev_del_write;
    ac->ev.cleanup = ev_cleanup;
    return 0;
}

/* ---- the check ---- */

/* Forget the connection and free it (its callbacks will find they are stale). */
static void redis_drop(struct fo_probe_check *c)
{
    redisAsyncContext *ac = c->redis.ac;

    c->redis.ac = NULL;
    c->redis.connected = false;
    if (ac != NULL)
        redisAsyncFree(ac);
}

/* This probe failed: drop the connection, end the probe. */
static void redis_fail(struct fo_probe_check *c, const char *what, const char *msg, size_t n)
{
    char m[FO_PROBE_DETAIL_MAX];

    probe_sanitize(m, sizeof(m), msg != NULL ? msg : "", n);
    redis_drop(c);
    probe_finish(c, false, "%s: %s", what, m[0] != '\0' ? m : "error");
}

/* The check whose current context ac is, or NULL when the callback is stale. */
static struct fo_probe_check *redis_current(const redisAsyncContext *ac, void *privdata)
{
    struct fo_probe_check *c = privdata;
    return (c != NULL && c->redis.ac == ac) ? c : NULL;
}

/* hiredis is freeing ac on its own: forget it, fail the probe in flight. */
static void redis_lost(struct fo_probe_check *c, const redisAsyncContext *ac, const char *what)
{
    const char *e = ac->errstr[0] != '\0' ? ac->errstr : "connection closed";

    c->redis.ac = NULL;
    c->redis.connected = false;
    if (c->running) {
        char m[FO_PROBE_DETAIL_MAX];
        probe_sanitize(m, sizeof(m), e, strlen(e));
        probe_finish(c, false, "%s: %s", what, m);
    } else {
        /* The kept connection dropped between probes (hiredis reads while idle): the
         * server went away or closed it. Check now, not at the next tick. */
        fo_log_info("probe.dropped", "check=%s action=probe_now", c->spec.name);
        probe_run_soon(c);
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct fo_probe_check *c = redis_current(ac, ac->data);

    if (c == NULL)
        return;
    if (status != REDIS_OK)
        redis_lost(c, ac, "connect");
    else
        c->redis.connected = true;
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct fo_probe_check *c = redis_current(ac, ac->data);

    (void)status;
    if (c != NULL)
        redis_lost(c, ac, "connection lost");
}

/* Common checks of a reply; returns false when the probe ended. */
static bool reply_usable(struct fo_probe_check *c, redisAsyncContext *ac, const redisReply *r,
                         const char *what)
{
    if (r == NULL) {
        redis_lost(c, ac, what);
        return false;
    }
    if (!c->running)
        return false; /* cannot happen: failures drop the connection */
    if (r->type == REDIS_REPLY_ERROR) {
        redis_fail(c, what, r->str, r->len);
        return false;
    }
    return true;
}

static void on_auth(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct fo_probe_check *c = redis_current(ac, privdata);

    if (c != NULL)
        (void)reply_usable(c, ac, reply, "AUTH");
}

/* Parse INFO replication's "key:value\r\n" lines. */
static void parse_info(const char *s, size_t n, struct fo_probe_redis_info *out)
{
    uint64_t master_off = 0, slave_off = 0;

    while (n > 0) {
        const char *eol = memchr(s, '\n', n);
        size_t len = eol != NULL ? (size_t)(eol - s) : n;
        size_t adv = eol != NULL ? len + 1 : n;
        char line[128];

        if (len > 0 && s[len - 1] == '\r')
            len--;
        if (len < sizeof(line)) {
            memcpy(line, s, len);
            line[len] = '\0';
            if (strcmp(line, "role:master") == 0)
                out->role = FO_REDIS_ROLE_MASTER;
            else if (strcmp(line, "role:slave") == 0)
                out->role = FO_REDIS_ROLE_REPLICA;
            else if (strcmp(line, "master_link_status:up") == 0)
                out->link_up = true;
            else if (strncmp(line, "master_repl_offset:", 19) == 0)
                master_off = strtoull(line + 19, NULL, 10);
            else if (strncmp(line, "slave_repl_offset:", 18) == 0)
                slave_off = strtoull(line + 18, NULL, 10);
            else if (strncmp(line, "connected_slaves:", 17) == 0)
                out->replicas = (uint32_t)strtoul(line + 17, NULL, 10);
        }
        s += adv;
        n -= adv;
    }
    out->offset = out->role == FO_REDIS_ROLE_REPLICA ? slave_off : master_off;
}

static void probe_done_if_complete(struct fo_probe_check *c)
{
    const struct fo_probe_redis_info *in = &c->cur.redis;

    if (--c->redis.waiting > 0)
        return;
    if (in->role == FO_REDIS_ROLE_REPLICA)
        probe_finish(c, true, "replica, link %s, offset %llu", in->link_up ? "up" : "down",
                     (unsigned long long)in->offset);
    else
        probe_finish(c, true, "master, %u replica%s, offset %llu", in->replicas,
                     in->replicas == 1 ? "" : "s", (unsigned long long)in->offset);
}

static void on_ping(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct fo_probe_check *c = redis_current(ac, privdata);
    const redisReply *r = reply;

    if (c == NULL || !reply_usable(c, ac, r, "PING"))
        return;
    if (r->type != REDIS_REPLY_STATUS || r->len != 4 || memcmp(r->str, "PONG", 4) != 0) {
        redis_fail(c, "PING", "unexpected reply", SIZE_MAX);
        return;
    }
    probe_done_if_complete(c);
}

static void on_info(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct fo_probe_check *c = redis_current(ac, privdata);
    const redisReply *r = reply;

    if (c == NULL || !reply_usable(c, ac, r, "INFO"))
        return;
    if (r->type != REDIS_REPLY_STRING) {
        redis_fail(c, "INFO", "unexpected reply", SIZE_MAX);
        return;
    }
    parse_info(r->str, r->len, &c->cur.redis);
    if (c->cur.redis.role == FO_REDIS_ROLE_UNKNOWN) {
        redis_fail(c, "INFO", "no role in INFO replication", SIZE_MAX);
        return;
    }
    probe_done_if_complete(c);
}

static void redis_send(struct fo_probe_check *c)
{
    redisAsyncContext *ac = c->redis.ac;

    c->redis.waiting = 2;
    if (redisAsyncCommand(ac, on_ping, c, "PING") != REDIS_OK ||
        redisAsyncCommand(ac, on_info, c, "INFO replication") != REDIS_OK)
        redis_fail(c, "send", ac->errstr, strlen(ac->errstr));
}

static void redis_connect_now(struct fo_probe_check *c)
{
    redisAsyncContext *ac = redisAsyncConnect(c->addr, c->spec.port);

    if (ac == NULL) {
        probe_finish(c, false, "connect: out of memory");
        return;
    }
    if (ac->err != 0 || ev_attach(c->p, ac) != 0) {
        char m[FO_PROBE_DETAIL_MAX];
        probe_sanitize(m, sizeof(m), ac->err != 0 ? ac->errstr : "cannot watch the socket",
                       sizeof(ac->errstr));
        redisAsyncFree(ac);
        probe_finish(c, false, "connect: %s", m);
        return;
    }
    ac->data = c;
    c->redis.ac = ac;
    c->redis.connected = false;
    redisAsyncSetConnectCallback(ac, on_connect); /* after attach: it arms the write event */
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    if (c->has_password && redisAsyncCommand(ac, on_auth, c, "AUTH %s", c->password) != REDIS_OK) {
        redis_fail(c, "AUTH", "cannot send", SIZE_MAX);
        return;
    }
    redis_send(c);
}

static void redis_resolved(struct fo_probe_check *c, int status)
{
    if (status != 0) {
        probe_finish(c, false, "resolve %s: %s", c->spec.host, uv_strerror(status));
        return;
    }
    redis_connect_now(c);
}

bool probe_redis_kept(const struct fo_probe_check *c)
{
    return c->redis.ac != NULL;
}

void probe_redis_start(struct fo_probe_check *c)
{
    int rc;

    c->redis.waiting = 0;
    if (probe_redis_kept(c)) {
        redis_send(c);
        return;
    }
    rc = probe_resolve(c, redis_resolved);
    if (rc == 1)
        redis_connect_now(c);
    else if (rc < 0)
        probe_finish(c, false, "resolve %s: %s", c->spec.host, uv_strerror(rc));
}

void probe_redis_abort(struct fo_probe_check *c)
{
    redis_drop(c);
}

void probe_redis_close(struct fo_probe_check *c)
{
    redis_drop(c);
}
