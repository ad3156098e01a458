/*
 * coordinator/ctl/admin_client.c — see admin_client.h.
 */
#include "coordinator/ctl/admin_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consensus/tls_pump.h"
#include "coordinator/config/addr.h"

static struct fo_tls *client_tls; /* fo_admin_client_use_tls: process-wide */

void fo_admin_client_use_tls(struct fo_tls *tls)
{
    client_tls = tls;
}

const char *fo_admin_client_node_token(const char *admin_token)
{
    return client_tls != NULL ? NULL : admin_token;
}

static uv_stream_t *stream_of(struct fo_admin_client *c)
{
    return c->tls ? (uv_stream_t *)&c->s.pipe : (uv_stream_t *)&c->s.tcp;
}

static void handle_closed(uv_handle_t *h)
{
    struct fo_admin_client *c = h->data;
    if (--c->handles == 0) {
        fo_frame_reader_close(&c->reader);
        fo_buf_free(&c->out);
        if (c->free_cb != NULL)
            c->free_cb(c);
    }
}

/* Report once, then close everything. */
static void finish(struct fo_admin_client *c, int status, const struct fo_reply *reply,
                   const char *error)
{
    if (c->finished)
        return;
    c->finished = true;
    uv_timer_stop(&c->timer);
    c->cb(c, status, reply, error);
    uv_close((uv_handle_t *)&c->timer, handle_closed);
    if (c->stream_open)
        uv_close((uv_handle_t *)stream_of(c), handle_closed);
    if (c->pump != NULL && !fo_tls_pump_open(c->pump))
        fo_tls_pump_abort(c->pump); /* still in its handshake; on_end follows */
}

static void failf(struct fo_admin_client *c, const char *fmt, const char *detail)
{
    char msg[384];
    snprintf(msg, sizeof(msg), fmt, c->address, detail);
    finish(c, -1, NULL, msg);
}

static void on_timeout(uv_timer_t *t)
{
    struct fo_admin_client *c = t->data;
    char ms[32];
    snprintf(ms, sizeof(ms), "%u", c->timeout_ms);
    failf(c, "%s: no reply within %s ms", ms);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h;
    (void)suggested;
    buf->base = malloc(16384);
    buf->len = buf->base != NULL ? 16384 : 0;
}

static void read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    struct fo_admin_client *c = s->data;
    const uint8_t *p = (const uint8_t *)buf->base;
    size_t left = nread > 0 ? (size_t)nread : 0;

    if (nread < 0) {
        free(buf->base);
        failf(c, "%s: %s",
              nread == UV_EOF ? "connection closed before the reply" : uv_strerror((int)nread));
        return;
    }
    while (left > 0 && !c->finished) {
        struct fo_buf payload;
        struct fo_proto_error perr;
        size_t used = 0;
        if (fo_frame_reader_feed(&c->reader, p, left, &used, &payload, &perr) != FO_PROTO_OK) {
            failf(c, "%s: bad reply: %s", perr.msg);
            break;
        }
        p += used;
        left -= used;
        if (payload.data != NULL) {
            struct fo_reply rep;
            if (fo_reply_decode(payload.data, payload.len, &rep, &perr) != FO_PROTO_OK) {
                fo_buf_free(&payload);
                failf(c, "%s: bad reply: %s", perr.msg);
                break;
            }
            fo_buf_free(&payload);
            finish(c, 0, &rep, NULL);
            fo_reply_free(&rep);
            break;
        }
    }
    free(buf->base);
}

static void write_cb(uv_write_t *w, int status)
{
    struct fo_admin_client *c = w->data;
    if (status != 0 && !c->finished)
        failf(c, "%s: send: %s", uv_strerror(status));
}

/* Connected (over TCP, or TLS verified): send the request, read the reply. */
static void send_request(struct fo_admin_client *c)
{
    uv_buf_t b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);

    c->write.data = c;
    if (uv_write(&c->write, stream_of(c), &b, 1, write_cb) != 0) {
        failf(c, "%s: %s", "cannot send");
        return;
    }
    c->sent = true;
    if (uv_read_start(stream_of(c), alloc_cb, read_cb) != 0)
        failf(c, "%s: %s", "cannot read");
}

static void connect_cb(uv_connect_t *req, int status)
{
    struct fo_admin_client *c = req->data;

    if (c->finished)
        return;
    if (status != 0) {
        failf(c, "connect %s: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->s.tcp, 1);
    send_request(c);
}

static void tls_ready(struct fo_tls_pump *p, const struct fo_tls_pump_result *res)
{
    struct fo_admin_client *c = fo_tls_pump_data(p);
    char msg[400];

    if (res->status != FO_TLS_OK || c->finished) {
        if (res->status == FO_TLS_OK)
            close(res->fd);
        if (res->status == FO_TLS_IO)
            snprintf(msg, sizeof(msg), "connect %s: %.200s", c->address, res->detail);
        else
            snprintf(msg, sizeof(msg), "%s: TLS refused: %s (%.200s)", c->address,
                     fo_tls_reason_name(res->status), res->detail);
        finish(c, -1, NULL, msg);
        return;
    }
    uv_pipe_init(c->timer.loop, &c->s.pipe, 0);
    c->s.pipe.data = c;
    c->handles++;
    c->stream_open = true;
    if (uv_pipe_open(&c->s.pipe, res->fd) != 0) {
        close(res->fd);
        failf(c, "%s: %s", "cannot open the TLS stream");
        return;
    }
    if (res->peer.role != FO_TLS_ROLE_NODE) {
        snprintf(msg, sizeof(msg),
                 "%s: TLS refused: the server's certificate ('%s') is not a "
                 "failoverd node's",
                 c->address, res->peer.name);
        finish(c, -1, NULL, msg);
        return;
    }
    send_request(c);
}

static void tls_ended(struct fo_tls_pump *p)
{
    struct fo_admin_client *c = fo_tls_pump_data(p);
    c->pump = NULL;
    handle_closed((uv_handle_t *)&c->timer); /* the pump counted as a handle */
}

int fo_admin_client_call(struct fo_admin_client *c, uv_loop_t *loop, const char *address,
                         const struct fo_admin_req *req, unsigned timeout_ms, fo_admin_client_cb cb,
                         fo_admin_client_free_cb free_cb)
{
    struct sockaddr_storage addr;
    void *data = c->data;

    memset(c, 0, sizeof(*c));
    c->data = data;
    c->cb = cb;
    c->free_cb = free_cb;
    c->timeout_ms = timeout_ms;
    snprintf(c->address, sizeof(c->address), "%s", address != NULL ? address : "");
    if (fo_addr_parse(address, &addr, NULL) != FO_ADDR_OK)
        return -1;
    if (fo_admin_req_encode(req, &c->out, NULL) != FO_PROTO_OK)
        return -1;
    fo_frame_reader_init(&c->reader, FO_FRAME_MAX_DEFAULT);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c->connect.data = c;
    c->handles = 1;
    uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
    if (client_tls != NULL) {
        struct fo_tls_pump_opts o = {.cb = tls_ready, .on_end = tls_ended, .data = c};
        c->tls = true;
        c->handles++; /* the pump, until its on_end */
        if (fo_tls_pump_connect(client_tls, loop, (const struct sockaddr *)&addr, &o, &c->pump) !=
            0) {
            c->handles--;
            failf(c, "connect %s: %s", "cannot start");
        }
        return 0;
    }
    uv_tcp_init(loop, &c->s.tcp);
    c->s.tcp.data = c;
    c->handles++;
    c->stream_open = true;
    if (uv_tcp_connect(&c->connect, &c->s.tcp, (const struct sockaddr *)&addr, connect_cb) != 0)
        failf(c, "connect %s: %s", "cannot start");
    return 0;
}
