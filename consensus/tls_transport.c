/*
 * consensus/tls_transport.c — see tls_transport.h.
 *
 * Each connection being set up is a `link` on the transport's list: its pump, and once
 * the pump is open the plain uv_pipe_t that will go to libraft (allocated with
 * raft_malloc: libraft frees streams with raft_free). A link leaves the list when its
 * stream is handed to libraft or it failed; it is freed when, in addition, its pump has
 * ended (the pump's on_end), since the pump lives as long as the connection.
 *
 * The handshake inside TLS is raft_uv_tcp's (libraft 0.15 src/uv_tcp_connect.c):
 * little-endian uint64 protocol (1), server id, address buffer size (a multiple of
 * 8), then the NUL-terminated address padded with zeros.
 */
#include "consensus/tls_transport.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/tls_pump.h"

#define HS_PROTOCOL    1u
#define HS_ADDRESS_MAX 256u

struct tt {
    struct raft_uv_transport *transport;
    uv_loop_t *loop;
    struct fo_tls *tls;
    raft_id id;
    char address[HS_ADDRESS_MAX];
    struct fo_tls_transport_peer *peers; /* names copied into names */
    char (*names)[FO_TLS_NAME_MAX];
    size_t npeers;
    uv_tcp_t listener;
    bool listening;
    raft_uv_accept_cb accept_cb;
    struct link *links;
    bool closing;
    raft_uv_transport_close_cb close_cb;
};

struct link {
    struct tt *tt; /* NULL once off the list */
    struct link *prev, *next;
    bool outgoing;
    bool pump_alive; /* until the pump's on_end */
    bool in_flow;    /* until handed over or failed (and its pipe closed) */
    struct fo_tls_pump *pump;
    uv_pipe_t *pipe; /* raft_malloc'd; NULL until the pump is open */
    struct fo_tls_peer peer;
    char remote[64];
    /* outgoing */
    struct raft_uv_connect *req;
    raft_uv_connect_cb cb;
    uv_write_t write;
    uint8_t *hs;
    int status;
    /* incoming */
    uv_timer_t *timer; /* limits the handshake inside TLS; frees itself when closed */
    uint8_t pre[24];
    size_t nread;
    char *addr;
    size_t addr_len;
};

static void maybe_closed(struct tt *tt)
{
    if (tt->closing && tt->links == NULL && !tt->listening && tt->close_cb != NULL) {
        raft_uv_transport_close_cb cb = tt->close_cb;
        tt->close_cb = NULL;
        cb(tt->transport);
    }
}

static void link_maybe_free(struct link *l)
{
    if (l->pump_alive || l->in_flow)
        return;
    free(l->hs);
    free(l->addr);
    free(l);
}

/* Off the transport's list: it no longer holds the transport open. */
static void link_detach(struct link *l)
{
    struct tt *tt = l->tt;

    if (tt == NULL)
        return;
    if (l->prev != NULL)
        l->prev->next = l->next;
    else
        tt->links = l->next;
    if (l->next != NULL)
        l->next->prev = l->prev;
    l->tt = NULL;
    maybe_closed(tt);
}

static void link_done(struct link *l)
{
    l->in_flow = false;
    link_detach(l);
    link_maybe_free(l);
}

static const char *peer_name(const struct tt *tt, raft_id id)
{
    for (size_t i = 0; i < tt->npeers; i++)
        if (tt->peers[i].id == id)
            return tt->names[i];
    return NULL;
}

static void le64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t le64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int parse_address(const char *s, struct sockaddr_storage *out)
{
    char host[HS_ADDRESS_MAX];
    const char *colon = strrchr(s, ':');
    size_t n;

    if (colon == NULL || (n = (size_t)(colon - s)) >= sizeof(host))
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = '\0';
        return uv_ip6_addr(host + 1, atoi(colon + 1), (struct sockaddr_in6 *)out);
    }
    return uv_ip4_addr(host, atoi(colon + 1), (struct sockaddr_in *)out);
}

/* Log certificate problems; a node that is down (connect refused) is not one. */
static void refused(struct link *l, struct tt *tt, enum fo_tls_reason why, const char *detail)
{
    if (why != FO_TLS_IO && why != FO_TLS_TIMEOUT && tt != NULL)
        fo_tls_refused(tt->tls, "raft", l->remote, why, detail);
}

static void timer_freed(uv_handle_t *h)
{
    free(h);
}

static void stop_timer(struct link *l)
{
    if (l->timer != NULL) {
        uv_close((uv_handle_t *)l->timer, timer_freed);
        l->timer = NULL;
    }
}

static void pipe_closed(uv_handle_t *h)
{
    struct link *l = h->data;

    raft_free(l->pipe);
    l->pipe = NULL;
    if (l->outgoing && l->cb != NULL) {
        raft_uv_connect_cb cb = l->cb;
        l->cb = NULL;
        cb(l->req, NULL, l->status);
    }
    link_done(l);
}

/* Give up on a link whose pipe is open (not yet handed over). */
static void link_fail_pipe(struct link *l, int status)
{
    l->status = status;
    stop_timer(l);
    if (l->pump != NULL && l->pump_alive)
        fo_tls_pump_abort(l->pump);
    if (!uv_is_closing((uv_handle_t *)l->pipe))
        uv_close((uv_handle_t *)l->pipe, pipe_closed);
}

/* ---- outgoing ------------------------------------------------------------------------ */

static void hs_written(uv_write_t *w, int status)
{
    struct link *l = w->data;
    struct tt *tt = l->tt;
    raft_uv_connect_cb cb = l->cb;

    if (uv_is_closing((uv_handle_t *)l->pipe))
        return; /* being cancelled: pipe_closed reports */
    if (status != 0 || tt == NULL || tt->closing) {
        link_fail_pipe(l, tt == NULL || tt->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
        return;
    }
    l->cb = NULL;
    l->in_flow = false;
    link_detach(l);
    cb(l->req, (struct uv_stream_s *)l->pipe, 0);
    link_maybe_free(l);
}

static int open_pipe(struct link *l, uv_loop_t *loop, int fd)
{
    l->pipe = raft_malloc(sizeof(*l->pipe));
    if (l->pipe == NULL) {
        close(fd);
        return -1;
    }
    uv_pipe_init(loop, l->pipe, 0);
    l->pipe->data = l;
    if (uv_pipe_open(l->pipe, fd) != 0) {
        close(fd);
        return 1; /* the handle exists: close it */
    }
    return 0;
}

static void outgoing_open(struct link *l, int fd)
{
    struct tt *tt = l->tt;
    size_t alen = (strlen(tt->address) + 1 + 7) / 8 * 8;
    size_t len = 24 + alen;
    uv_buf_t b;
    int rv = open_pipe(l, tt->loop, fd);

    if (rv < 0) {
        raft_uv_connect_cb cb = l->cb;
        l->cb = NULL;
        fo_tls_pump_abort(l->pump);
        cb(l->req, NULL, RAFT_NOMEM);
        link_done(l);
        return;
    }
    if (rv > 0 || (l->hs = calloc(1, len)) == NULL) {
        link_fail_pipe(l, RAFT_NOCONNECTION);
        return;
    }
    le64_put(l->hs, HS_PROTOCOL);
    le64_put(l->hs + 8, tt->id);
    le64_put(l->hs + 16, alen);
    memcpy(l->hs + 24, tt->address, strlen(tt->address));
    b = uv_buf_init((char *)l->hs, (unsigned)len);
    l->write.data = l;
    if (uv_write(&l->write, (uv_stream_t *)l->pipe, &b, 1, hs_written) != 0)
        link_fail_pipe(l, RAFT_NOCONNECTION);
}

/* ---- incoming ------------------------------------------------------------------------ */

static void in_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct link *l = h->data;
    (void)suggested;
    /* Exactly what the handshake still needs: what follows belongs to libraft. */
    if (l->nread < sizeof(l->pre)) {
        buf->base = (char *)l->pre + l->nread;
        buf->len = sizeof(l->pre) - l->nread;
    } else {
        buf->base = l->addr + (l->nread - sizeof(l->pre));
        buf->len = l->addr_len - (l->nread - sizeof(l->pre));
    }
}

static void in_refuse(struct link *l, const char *why)
{
    refused(l, l->tt, FO_TLS_WRONG_PEER, why);
    link_fail_pipe(l, 0);
}

static void in_complete(struct link *l)
{
    struct tt *tt = l->tt;
    raft_id id = le64_get(l->pre + 8);
    const char *name = peer_name(tt, id);

    l->addr[l->addr_len - 1] = '\0';
    if (name == NULL || l->peer.role != FO_TLS_ROLE_NODE || strcmp(name, l->peer.name) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "certificate '%s' claims raft id %llu (%s)", l->peer.name,
                 (unsigned long long)id, name == NULL ? "not a configured peer" : name);
        in_refuse(l, why);
        return;
    }
    uv_read_stop((uv_stream_t *)l->pipe);
    stop_timer(l);
    l->in_flow = false;
    link_detach(l);
    tt->accept_cb(tt->transport, id, l->addr, (struct uv_stream_s *)l->pipe);
    link_maybe_free(l);
}

static void in_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct link *l = s->data;

    (void)buf;
    if (nread == 0)
        return;
    if (nread < 0 || l->tt == NULL || l->tt->closing) {
        link_fail_pipe(l, 0);
        return;
    }
    l->nread += (size_t)nread;
    if (l->nread == sizeof(l->pre) && l->addr == NULL) {
        uint64_t alen = le64_get(l->pre + 16);
        if (le64_get(l->pre) != HS_PROTOCOL || alen == 0 || alen > HS_ADDRESS_MAX ||
            (l->addr = calloc(1, (size_t)alen)) == NULL) {
            in_refuse(l, "bad raft handshake");
            return;
        }
        l->addr_len = (size_t)alen;
    }
    if (l->addr != NULL && l->nread == sizeof(l->pre) + l->addr_len)
        in_complete(l);
}

/* A verified peer that never sends libraft's handshake would hold the link forever. */
static void in_expired(uv_timer_t *t)
{
    struct link *l = t->data;
    if (l->tt != NULL)
        fo_tls_refused(l->tt->tls, "raft", l->remote, FO_TLS_TIMEOUT, "no raft handshake in time");
    link_fail_pipe(l, 0);
}

static void in_start(struct link *l, struct tt *tt)
{
    if (uv_read_start((uv_stream_t *)l->pipe, in_alloc, in_read) != 0 ||
        (l->timer = malloc(sizeof(*l->timer))) == NULL) {
        link_fail_pipe(l, 0);
        return;
    }
    uv_timer_init(tt->loop, l->timer);
    l->timer->data = l;
    uv_timer_start(l->timer, in_expired, tt->tls->handshake_timeout_ms, 0);
}

/* ---- pumps ----------------------------------------------------------------------------- */

static void pump_result(struct fo_tls_pump *p, const struct fo_tls_pump_result *res)
{
    struct link *l = fo_tls_pump_data(p);
    struct tt *tt = l->tt;

    snprintf(l->remote, sizeof(l->remote), "%s", res->remote);
    if (res->status != FO_TLS_OK || tt == NULL || tt->closing) {
        if (res->status == FO_TLS_OK)
            close(res->fd);
        else
            refused(l, tt, res->status, res->detail);
        if (l->outgoing && l->cb != NULL) {
            raft_uv_connect_cb cb = l->cb;
            l->cb = NULL;
            cb(l->req, NULL, tt == NULL || tt->closing ? RAFT_CANCELED : RAFT_NOCONNECTION);
        }
        link_done(l);
        return;
    }
    l->peer = res->peer;
    if (l->outgoing) {
        outgoing_open(l, res->fd);
        return;
    }
    switch (open_pipe(l, tt->loop, res->fd)) {
    case 0:
        in_start(l, tt);
        break;
    case 1:
        link_fail_pipe(l, 0);
        break;
    default:
        fo_tls_pump_abort(p);
        link_done(l);
    }
}

static void pump_ended(struct fo_tls_pump *p)
{
    struct link *l = fo_tls_pump_data(p);
    l->pump_alive = false;
    l->pump = NULL;
    link_maybe_free(l);
}

static struct link *link_new(struct tt *tt, bool outgoing)
{
    struct link *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->tt = tt;
    l->outgoing = outgoing;
    l->in_flow = true;
    snprintf(l->remote, sizeof(l->remote), "?");
    return l;
}

static void link_add(struct link *l)
{
    struct tt *tt = l->tt;
    l->pump_alive = true;
    l->next = tt->links;
    if (tt->links != NULL)
        tt->links->prev = l;
    tt->links = l;
}

/* ---- the raft_uv_transport methods ------------------------------------------------------ */

static int tt_init(struct raft_uv_transport *t, raft_id id, const char *address)
{
    struct tt *tt = t->impl;
    tt->id = id;
    if (strlen(address) >= sizeof(tt->address))
        return RAFT_INVALID;
    snprintf(tt->address, sizeof(tt->address), "%s", address);
    return 0;
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct tt *tt = listener->data;
    struct fo_tls_pump_opts o = {0};
    struct link *l;

    if (status != 0 || tt->closing || (l = link_new(tt, false)) == NULL)
        return;
    o.cb = pump_result;
    o.on_end = pump_ended;
    o.data = l;
    /* Pumps call back only from later loop iterations, so l goes on the list first. */
    link_add(l);
    if (fo_tls_pump_accept(tt->tls, tt->loop, listener, &o, &l->pump) != 0) {
        l->pump_alive = false;
        link_done(l);
    }
}

static int tt_listen(struct raft_uv_transport *t, raft_uv_accept_cb cb)
{
    struct tt *tt = t->impl;
    struct sockaddr_storage addr;
    int rv;

    tt->accept_cb = cb;
    if (parse_address(tt->address, &addr) != 0) {
        snprintf(t->errmsg, sizeof(t->errmsg), "bad raft address %.120s", tt->address);
        return RAFT_INVALID;
    }
    uv_tcp_init(tt->loop, &tt->listener);
    tt->listener.data = tt;
    tt->listening = true;
    rv = uv_tcp_bind(&tt->listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&tt->listener, 128, on_connection);
    if (rv != 0) {
        snprintf(t->errmsg, sizeof(t->errmsg), "listen on %.120s: %s", tt->address,
                 uv_strerror(rv));
        tt->listening = false;
        uv_close((uv_handle_t *)&tt->listener, NULL);
        return RAFT_IOERR;
    }
    return 0;
}

static int tt_connect(struct raft_uv_transport *t, struct raft_uv_connect *req, raft_id id,
                      const char *address, raft_uv_connect_cb cb)
{
    struct tt *tt = t->impl;
    struct fo_tls_pump_opts o = {0};
    struct sockaddr_storage addr;
    const char *name = peer_name(tt, id);
    struct link *l;

    if (tt->closing)
        return RAFT_CANCELED;
    if (name == NULL || parse_address(address, &addr) != 0)
        return RAFT_NOCONNECTION; /* libraft retries after its delay */
    if ((l = link_new(tt, true)) == NULL)
        return RAFT_NOMEM;
    l->req = req;
    l->cb = cb;
    o.cb = pump_result;
    o.on_end = pump_ended;
    o.data = l;
    o.expect = name;
    link_add(l);
    if (fo_tls_pump_connect(tt->tls, tt->loop, (const struct sockaddr *)&addr, &o, &l->pump) != 0) {
        l->cb = NULL;
        l->pump_alive = false;
        link_done(l);
        return RAFT_NOCONNECTION;
    }
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct tt *tt = h->data;
    tt->listening = false;
    maybe_closed(tt);
}

static void tt_close(struct raft_uv_transport *t, raft_uv_transport_close_cb cb)
{
    struct tt *tt = t->impl;
    struct link *l, *next;

    tt->closing = true;
    tt->close_cb = cb;
    for (l = tt->links; l != NULL; l = next) {
        next = l->next;
        if (l->pipe != NULL)
            link_fail_pipe(l, RAFT_CANCELED);
        else if (l->pump_alive)
            fo_tls_pump_abort(l->pump); /* pump_result reports RAFT_CANCELED */
    }
    if (tt->listening)
        uv_close((uv_handle_t *)&tt->listener, listener_closed);
    else
        maybe_closed(tt);
}

int fo_tls_transport_init(struct raft_uv_transport *t, uv_loop_t *loop, struct fo_tls *tls,
                          const struct fo_tls_transport_peer *peers, size_t npeers)
{
    struct tt *tt = calloc(1, sizeof(*tt));

    memset(t, 0, sizeof(*t));
    if (tt != NULL) {
        tt->peers = calloc(npeers + 1, sizeof(*tt->peers));
        tt->names = calloc(npeers + 1, sizeof(*tt->names));
    }
    if (tt == NULL || tt->peers == NULL || tt->names == NULL) {
        if (tt != NULL) {
            free(tt->peers);
            free(tt->names);
        }
        free(tt);
        return RAFT_NOMEM;
    }
    for (size_t i = 0; i < npeers; i++) {
        tt->peers[i].id = peers[i].id;
        snprintf(tt->names[i], sizeof(tt->names[i]), "%s", peers[i].name);
    }
    tt->npeers = npeers;
    tt->transport = t;
    tt->loop = loop;
    tt->tls = tls;
    t->impl = tt;
    t->init = tt_init;
    t->listen = tt_listen;
    t->connect = tt_connect;
    t->close = tt_close;
    return 0;
}

void fo_tls_transport_release(struct raft_uv_transport *t)
{
    struct tt *tt = t->impl;
    if (tt == NULL)
        return;
    free(tt->peers);
    free(tt->names);
    free(tt);
    t->impl = NULL;
}
