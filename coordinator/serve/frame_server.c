/*
 * coordinator/serve/frame_server.c — see frame_server.h.
 *
 * Shape (after OpenBSD bgpd's control.c): a listener, a list of connections, each with
 * a frame reader and a timer; every complete frame becomes a call handed to the
 * handler; replies are written as they come. A connection is freed only when it is
 * closed AND no call still points at it, so a handler that replies after the client
 * left writes nothing and frees nothing twice.
 */
#include "coordinator/serve/frame_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/tls_pump.h"
#include "coordinator/config/addr.h"
#include "coordinator/log.h"
#include "proto/frame.h"

struct frame_conn {
    union {
        uv_tcp_t tcp;   /* plain */
        uv_pipe_t pipe; /* TLS: the verified pump's plain end */
    } h;
    uv_stream_t *stream; /* &h.tcp or &h.pipe */
    struct fo_tls_peer tls_peer;
    bool has_tls_peer;
    uv_timer_t timer; /* closes a connection that sends no complete request in time */
    struct fo_frame_server *s;
    struct fo_frame_reader reader;
    struct frame_conn *prev, *next;
    char peer[64];
    unsigned inflight; /* calls not yet replied to */
    unsigned handles;  /* uv handles not yet closed (tcp, timer) */
    bool closing;
    bool reading;
};

struct fo_frame_call {
    struct frame_conn *conn; /* its memory outlives the connection until the reply */
    struct fo_frame_server *s;
    char peer[64];
    struct fo_tls_peer tls_peer;
    bool has_tls_peer;
};

/* A TLS connection in its handshake: counted against max_connections, aborted on close. */
struct frame_handshake {
    struct fo_frame_server *s;
    struct fo_tls_pump *pump;
    struct frame_handshake *prev, *next;
};

struct frame_write {
    uv_write_t w;
    struct fo_buf buf;
    struct frame_conn *conn;
    bool close_after;
};

static void conn_close(struct frame_conn *c);
static void conn_read_start(struct frame_conn *c);
static void conn_check_queue(struct frame_conn *c);

/* ---- connection life cycle -------------------------------------------------------- */

static void conn_maybe_free(struct frame_conn *c)
{
    if (c->handles > 0 || c->inflight > 0)
        return;
    fo_frame_reader_close(&c->reader);
    free(c);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct frame_conn *c = h->data;
    struct fo_frame_server *s = c->s;

    c->handles--;
    if (c->handles == 0) {
        s->nconns--;
        conn_maybe_free(c);
        if (s->closing && s->nconns == 0 && s->npumps == 0 && s->listener.data == NULL &&
            s->close_cb != NULL) {
            fo_frame_server_close_cb cb = s->close_cb;
            s->close_cb = NULL;
            cb(s);
        }
    }
}

static void conn_close(struct frame_conn *c)
{
    struct fo_frame_server *s = c->s;

    if (c->closing)
        return;
    c->closing = true;
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)c->stream, conn_handle_closed);
}

static void conn_timeout(uv_timer_t *t)
{
    struct frame_conn *c = t->data;
    if (c->inflight > 0)
        return; /* the node is working on it; the reply re-arms the timer */
    fo_log_info("server.timeout", "server=%s peer=%s after_ms=%u", c->s->cfg.name, c->peer,
                c->s->cfg.request_timeout_ms);
    conn_close(c);
}

static void conn_arm_timer(struct frame_conn *c)
{
    uv_timer_start(&c->timer, conn_timeout, c->s->cfg.request_timeout_ms, 0);
}

/* ---- writing replies -------------------------------------------------------------- */

static void write_done(uv_write_t *w, int status)
{
    struct frame_write *aw = (struct frame_write *)w;
    struct frame_conn *c = aw->conn;

    (void)status; /* a client that hung up simply does not get its reply */
    fo_buf_free(&aw->buf);
    if (aw->close_after)
        conn_close(c);
    free(aw);
}

/* Queue one reply. close_after: the stream is unusable (broken framing), so close once
 * the client has been told why. */
static void conn_send(struct frame_conn *c, const struct fo_reply *rep, bool close_after)
{
    struct frame_write *aw;
    uv_buf_t b;
    struct fo_proto_error perr;

    if (c->closing)
        return;
    aw = calloc(1, sizeof(*aw));
    if (aw == NULL) {
        conn_close(c);
        return;
    }
    if (fo_reply_encode(rep, &aw->buf, &perr) != FO_PROTO_OK) {
        /* Only a bug can get here (an oversized body): tell the client that much. */
        struct fo_reply fallback = {.id = rep->id, .code = FO_REPLY_INTERNAL};
        fallback.message = perr.msg;
        if (fo_reply_encode(&fallback, &aw->buf, NULL) != FO_PROTO_OK) {
            free(aw);
            conn_close(c);
            return;
        }
    }
    aw->conn = c;
    aw->close_after = close_after;
    b = uv_buf_init((char *)aw->buf.data, (unsigned)aw->buf.len);
    if (uv_write(&aw->w, c->stream, &b, 1, write_done) != 0) {
        fo_buf_free(&aw->buf);
        free(aw);
        conn_close(c);
        return;
    }
    conn_check_queue(c);
}

/* A client that pipelines requests and never reads its replies would have them queued
 * here without bound once the kernel's buffers are full (issue 14): past max_queued bytes
 * waiting to be written, it is cut off (its queued replies are dropped with it). libuv
 * counts the bytes not yet handed to the kernel. */
static void conn_check_queue(struct frame_conn *c)
{
    /* Under TLS the stream is the pump's plain end: the pump holds back what the client
     * does not read (consensus/tls_pump.h), so it queues up here all the same. */
    size_t queued = uv_stream_get_write_queue_size(c->stream);

    if (queued <= c->s->cfg.max_queued || c->closing)
        return;
    c->s->rejected++;
    c->s->slow_clients++;
    fo_log_warn("server.slow_client", "server=%s peer=%s queued_bytes=%zu max=%zu", c->s->cfg.name,
                c->peer, queued, c->s->cfg.max_queued);
    conn_close(c);
}

static void send_error(struct frame_conn *c, uint64_t id, int code, const char *msg,
                       bool close_after)
{
    struct fo_reply rep = {.id = id, .code = code};
    rep.message = (char *)msg;
    conn_send(c, &rep, close_after);
}

void fo_frame_call_reply(struct fo_frame_call *call, const struct fo_reply *rep)
{
    struct frame_conn *c = call->conn;

    conn_send(c, rep, false);
    c->inflight--;
    if (!c->closing) {
        conn_arm_timer(c);
        if (!c->reading)
            conn_read_start(c);
    }
    conn_maybe_free(c);
    free(call);
}

const char *fo_frame_call_peer(const struct fo_frame_call *call)
{
    return call->peer;
}

const struct fo_tls_peer *fo_frame_call_tls_peer(const struct fo_frame_call *call)
{
    return call->has_tls_peer ? &call->tls_peer : NULL;
}

/* ---- reading requests ------------------------------------------------------------- */

static void dispatch(struct frame_conn *c, const struct fo_buf *payload)
{
    struct fo_frame_server *s = c->s;
    struct fo_frame_call *call = calloc(1, sizeof(*call));

    if (call == NULL) {
        send_error(c, 0, FO_REPLY_INTERNAL, "out of memory", true);
        return;
    }
    call->conn = c;
    call->s = s;
    snprintf(call->peer, sizeof(call->peer), "%s", c->peer);
    call->tls_peer = c->tls_peer;
    call->has_tls_peer = c->has_tls_peer;
    s->messages++;
    c->inflight++;
    uv_timer_stop(&c->timer);
    s->handler(s, call, payload->data, payload->len);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    /* Small and fixed: the frame reader assembles frames across reads. */
    buf->base = malloc(16384);
    buf->len = buf->base != NULL ? 16384 : 0;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct frame_conn *c = stream->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left = nread > 0 ? (size_t)nread : 0;

    if (nread < 0) {
        free(buf->base);
        conn_close(c);
        return;
    }
    while (left > 0 && !c->closing) {
        struct fo_buf payload;
        struct fo_proto_error perr;
        size_t used = 0;
        if (fo_frame_reader_feed(&c->reader, p, left, &used, &payload, &perr) != FO_PROTO_OK) {
            c->s->rejected++;
            fo_log_info("server.bad_frame", "server=%s peer=%s error=\"%s\"", c->s->cfg.name,
                        c->peer, perr.msg);
            send_error(c, 0, FO_REPLY_BAD_REQUEST, perr.msg, true);
            break;
        }
        p += used;
        left -= used;
        if (payload.data != NULL) {
            dispatch(c, &payload);
            fo_buf_free(&payload);
            if (c->inflight >= FO_FRAME_INFLIGHT && left > 0) {
                /* Too many requests pipelined: what is left of this read is dropped
                 * with the connection rather than buffered without bound. */
                send_error(c, 0, FO_REPLY_BUSY, "too many requests in flight", true);
                break;
            }
        }
    }
    free(buf->base);
    if (!c->closing && c->inflight >= FO_FRAME_INFLIGHT && c->reading) {
        uv_read_stop(stream);
        c->reading = false;
    }
}

static void conn_read_start(struct frame_conn *c)
{
    if (uv_read_start(c->stream, alloc_cb, read_cb) == 0)
        c->reading = true;
    else
        conn_close(c);
}

static struct frame_conn *conn_new(struct fo_frame_server *s)
{
    struct frame_conn *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->s = s;
    uv_timer_init(s->loop, &c->timer);
    c->timer.data = c;
    c->handles = 2;
    s->nconns++;
    fo_frame_reader_init(&c->reader, s->cfg.max_frame);
    c->next = s->conns;
    if (s->conns != NULL)
        s->conns->prev = c;
    s->conns = c;
    snprintf(c->peer, sizeof(c->peer), "?");
    return c;
}

/* Accepted (and, with TLS, verified): limits, then serve. */
static void conn_begin(struct frame_conn *c)
{
    struct fo_frame_server *s = c->s;

    if (s->nconns + s->nhandshakes > s->cfg.max_connections) {
        s->rejected++;
        fo_log_warn("server.busy", "server=%s peer=%s connections=%u", s->cfg.name, c->peer,
                    s->nconns - 1);
        send_error(c, 0, FO_REPLY_BUSY, "too many connections, retry later", true);
        return;
    }
    conn_arm_timer(c);
    conn_read_start(c);
}

static void handshake_unlink(struct frame_handshake *h)
{
    struct fo_frame_server *s = h->s;

    if (h->prev != NULL)
        h->prev->next = h->next;
    else
        s->handshakes = h->next;
    if (h->next != NULL)
        h->next->prev = h->prev;
    s->nhandshakes--;
}

static void tls_ready(struct fo_tls_pump *p, const struct fo_tls_pump_result *res)
{
    struct frame_handshake *h = fo_tls_pump_data(p);
    struct fo_frame_server *s = h->s;
    struct frame_conn *c;

    handshake_unlink(h);
    if (res->status != FO_TLS_OK) {
        s->rejected++;
        if (res->status != FO_TLS_IO)
            fo_tls_refused(s->cfg.tls, s->cfg.name, res->remote, res->status, res->detail);
        return;
    }
    if (s->closing || (c = conn_new(s)) == NULL) {
        close(res->fd);
        return;
    }
    c->stream = (uv_stream_t *)&c->h.pipe;
    uv_pipe_init(s->loop, &c->h.pipe, 0);
    c->h.pipe.data = c;
    snprintf(c->peer, sizeof(c->peer), "%s", res->remote);
    c->tls_peer = res->peer;
    c->has_tls_peer = res->peer.name[0] != '\0';
    if (uv_pipe_open(&c->h.pipe, res->fd) != 0) {
        close(res->fd);
        conn_close(c);
        return;
    }
    conn_begin(c);
}

static void tls_ended(struct fo_tls_pump *p)
{
    struct frame_handshake *h = fo_tls_pump_data(p);
    struct fo_frame_server *s = h->s;

    free(h);
    s->npumps--;
    if (s->closing && s->nconns == 0 && s->npumps == 0 && s->listener.data == NULL &&
        s->close_cb != NULL) {
        fo_frame_server_close_cb cb = s->close_cb;
        s->close_cb = NULL;
        cb(s);
    }
}

static void on_tls_connection(struct fo_frame_server *s, uv_stream_t *listener)
{
    struct frame_handshake *h = calloc(1, sizeof(*h));
    struct fo_tls_pump_opts o = {.cb = tls_ready, .on_end = tls_ended, .data = h};

    if (h == NULL)
        return;
    h->s = s;
    o.optional_client_cert = true;
    o.plain_reply = s->plain_reply.data;
    o.plain_reply_len = s->plain_reply.len;
    h->next = s->handshakes;
    if (s->handshakes != NULL)
        s->handshakes->prev = h;
    s->handshakes = h;
    s->nhandshakes++;
    s->npumps++;
    if (fo_tls_pump_accept(s->cfg.tls, s->loop, listener, &o, &h->pump) != 0) {
        handshake_unlink(h);
        s->npumps--;
        free(h);
    }
}

static void on_connection(uv_stream_t *listener, int status)
{
    struct fo_frame_server *s = listener->data;
    struct frame_conn *c;
    struct sockaddr_storage ss;
    int len = sizeof(ss);

    if (status != 0 || s->closing)
        return;
    if (s->cfg.tls != NULL) {
        on_tls_connection(s, listener);
        return;
    }
    if ((c = conn_new(s)) == NULL)
        return;
    c->stream = (uv_stream_t *)&c->h.tcp;
    uv_tcp_init(s->loop, &c->h.tcp);
    c->h.tcp.data = c;
    if (uv_accept(listener, c->stream) != 0) {
        conn_close(c);
        return;
    }
    if (uv_tcp_getpeername(&c->h.tcp, (struct sockaddr *)&ss, &len) == 0)
        fo_addr_format((const struct sockaddr *)&ss, c->peer, sizeof(c->peer));
    uv_tcp_nodelay(&c->h.tcp, 1);
    conn_begin(c);
}

int fo_frame_server_start(struct fo_frame_server *s, uv_loop_t *loop,
                          const struct fo_frame_server_config *cfg, fo_frame_handler handler,
                          struct fo_error *err)
{
    struct sockaddr_storage addr;
    enum fo_addr_err bad;
    int rv;
    void *data = s->data;

    memset(s, 0, sizeof(*s));
    s->data = data;
    s->loop = loop;
    s->cfg = *cfg;
    s->handler = handler;
    if (s->cfg.name == NULL)
        s->cfg.name = "frame";
    if (s->cfg.max_connections == 0)
        s->cfg.max_connections = 64;
    if (s->cfg.request_timeout_ms == 0)
        s->cfg.request_timeout_ms = 5000;
    if (s->cfg.max_frame == 0)
        s->cfg.max_frame = FO_FRAME_MAX_DEFAULT;
    if (s->cfg.tls != NULL) {
        /* What a plain-text client reads instead of a TLS handshake: one reply frame in
         * its own protocol, so failoverctl or a script says why rather than "closed". */
        struct fo_reply rep = {.code = FO_REPLY_BAD_REQUEST};
        rep.message = "this port requires TLS: give the client the cluster CA "
                      "(failoverctl --ca FILE or FAILOVERCTL_CA)";
        if (fo_reply_encode(&rep, &s->plain_reply, NULL) != FO_PROTO_OK)
            return fo_error_set(err, 1, "%s: cannot encode a reply", s->cfg.name);
    }
    if (s->cfg.max_queued == 0)
        s->cfg.max_queued = FO_FRAME_QUEUE_DEFAULT;
    if ((bad = fo_addr_parse(cfg->listen, &addr, NULL)) != FO_ADDR_OK)
        return fo_error_set(err, 1, "%s listen address '%s': %s", s->cfg.name,
                            cfg->listen != NULL ? cfg->listen : "", fo_addr_strerror(bad));
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    rv = uv_tcp_bind(&s->listener, (const struct sockaddr *)&addr, 0);
    if (rv == 0)
        rv = uv_listen((uv_stream_t *)&s->listener, 128, on_connection);
    if (rv != 0) {
        uv_close((uv_handle_t *)&s->listener, NULL);
        return fo_error_set(err, 1, "%s listen on %s: %s", s->cfg.name, cfg->listen,
                            uv_strerror(rv));
    }
    return 0;
}

static void listener_closed(uv_handle_t *h)
{
    struct fo_frame_server *s = h->data;
    h->data = NULL;
    fo_buf_free(&s->plain_reply);
    if (s->nconns == 0 && s->npumps == 0 && s->close_cb != NULL) {
        fo_frame_server_close_cb cb = s->close_cb;
        s->close_cb = NULL;
        cb(s);
    }
}

void fo_frame_server_close(struct fo_frame_server *s, fo_frame_server_close_cb close_cb)
{
    s->closing = true;
    s->close_cb = close_cb;
    /* A call in flight keeps its (closed) connection's memory until it replies; the
     * reply is then dropped. The daemon closes Raft first, which completes them. */
    while (s->conns != NULL) {
        struct frame_conn *c = s->conns;
        conn_close(c);
    }
    /* Each abort reports synchronously (tls_ready unlinks it); on_end comes later. */
    while (s->handshakes != NULL)
        fo_tls_pump_abort(s->handshakes->pump);
    uv_close((uv_handle_t *)&s->listener, listener_closed);
}
