/*
 * coordinator/ctl/admin_client.c — see admin_client.h.
 */
#include "coordinator/ctl/admin_client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coordinator/ctl/addr.h"

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
    uv_close((uv_handle_t *)&c->tcp, handle_closed);
}

static void failf(struct fo_admin_client *c, const char *fmt, const char *detail)
{
    char msg[256];
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

static void connect_cb(uv_connect_t *req, int status)
{
    struct fo_admin_client *c = req->data;
    uv_buf_t b;

    if (c->finished)
        return;
    if (status != 0) {
        failf(c, "connect %s: %s", uv_strerror(status));
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    b = uv_buf_init((char *)c->out.data, (unsigned)c->out.len);
    c->write.data = c;
    if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &b, 1, write_cb) != 0) {
        failf(c, "%s: %s", "cannot send");
        return;
    }
    c->sent = true;
    if (uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb) != 0)
        failf(c, "%s: %s", "cannot read");
}

int fo_admin_client_call(struct fo_admin_client *c, uv_loop_t *loop, const char *address,
                         const struct fo_admin_req *req, unsigned timeout_ms, fo_admin_client_cb cb,
                         fo_admin_client_free_cb free_cb)
{
    struct sockaddr_in addr;
    void *data = c->data;

    memset(c, 0, sizeof(*c));
    c->data = data;
    c->cb = cb;
    c->free_cb = free_cb;
    c->timeout_ms = timeout_ms;
    snprintf(c->address, sizeof(c->address), "%s", address != NULL ? address : "");
    if (fo_addr_parse(address, &addr) != 0)
        return -1;
    if (fo_admin_req_encode(req, &c->out, NULL) != FO_PROTO_OK)
        return -1;
    fo_frame_reader_init(&c->reader, FO_FRAME_MAX_DEFAULT);
    uv_tcp_init(loop, &c->tcp);
    uv_timer_init(loop, &c->timer);
    c->tcp.data = c->timer.data = c->connect.data = c;
    c->handles = 2;
    uv_timer_start(&c->timer, on_timeout, timeout_ms, 0);
    if (uv_tcp_connect(&c->connect, &c->tcp, (const struct sockaddr *)&addr, connect_cb) != 0)
        failf(c, "connect %s: %s", "cannot start");
    return 0;
}
