/*
 * tests/unit/test_frame_server.c — the frame server's bound on queued replies
 * (coordinator/serve/frame_server.h, issue 14): a client that pipelines requests and
 * never reads is cut off once its replies waiting to be written pass max_queued; a client
 * that reads its replies while it keeps a few requests in flight is not.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "coordinator/serve/frame_server.h"

#define BODY      (32u * 1024u)
#define MAX_QUEUE (128u * 1024u)

struct env {
    uv_loop_t loop;
    struct fo_frame_server s;
    uv_timer_t tick, deadline;
    int fd;
    bool reader;          /* the client reads its replies */
    unsigned sent, total; /* requests sent; to send */
    size_t received;      /* reply bytes read */
    bool refused;         /* the server cut the client off (a send or recv failed) */
    bool timed_out, closed;
    char *body;
};

/* Every request gets a reply of BODY bytes at once. */
static void handler(struct fo_frame_server *s, struct fo_frame_call *call, const uint8_t *payload,
                    size_t len)
{
    struct env *e = s->data;
    struct fo_reply rep = {.code = FO_REPLY_OK};
    (void)payload;
    (void)len;
    rep.body = e->body;
    fo_frame_call_reply(call, &rep);
}

static bool done(const struct env *e)
{
    if (e->timed_out || (e->s.slow_clients > 0 && e->s.nconns == 0))
        return true;
    /* the reader: every reply read (each is a little over BODY bytes) */
    return e->reader && e->sent == e->total && e->received >= (size_t)e->total * BODY;
}

static void on_tick(uv_timer_t *t)
{
    struct env *e = t->data;
    static const uint8_t req[] = {0, 0, 0, 1, 'x'}; /* a frame of one byte */
    char buf[65536];
    ssize_t n;

    for (int i = 0; i < 64 && e->sent < e->total && !e->refused; i++) {
        /* The reader keeps a few requests ahead of the replies it has read. */
        if (e->reader && e->sent >= e->received / BODY + 3)
            break;
        n = send(e->fd, req, sizeof(req), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n == (ssize_t)sizeof(req))
            e->sent++;
        else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            e->refused = true;
        else
            break; /* full for now (a partial send cannot happen for 5 bytes on a stream
                    * with room; treat it as full and stop) */
    }
    while (e->reader && (n = recv(e->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
        e->received += (size_t)n;
    if (done(e))
        uv_stop(&e->loop);
}

static void on_deadline(uv_timer_t *t)
{
    struct env *e = t->data;
    e->timed_out = true;
    uv_stop(&e->loop);
}

static void on_closed(struct fo_frame_server *s)
{
    struct env *e = s->data;
    e->closed = true;
}

/* A loopback port free a moment ago (listen addresses take no port 0). */
static unsigned free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    close(fd);
    return ntohs(sa.sin_port);
}

static void run(struct env *e, bool reader, unsigned total)
{
    char listen[32];
    struct fo_frame_server_config cfg = {.name = "test", .listen = listen, .max_queued = MAX_QUEUE};
    struct fo_error err;
    struct sockaddr_in sa;
    int len = sizeof(sa), small = 4096;

    snprintf(listen, sizeof(listen), "127.0.0.1:%u", free_port());

    memset(e, 0, sizeof(*e));
    e->reader = reader;
    e->total = total;
    e->body = malloc(BODY + 1);
    assert_non_null(e->body);
    memset(e->body, 'b', BODY);
    e->body[BODY] = '\0';
    assert_int_equal(uv_loop_init(&e->loop), 0);
    e->s.data = e;
    assert_int_equal(fo_frame_server_start(&e->s, &e->loop, &cfg, handler, &err), 0);
    assert_int_equal(uv_tcp_getsockname(&e->s.listener, (struct sockaddr *)&sa, &len), 0);
    e->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(e->fd >= 0);
    /* Small buffers on the client's side, so the server's queue fills soon. */
    assert_int_equal(setsockopt(e->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
    assert_int_equal(connect(e->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    uv_timer_init(&e->loop, &e->tick);
    uv_timer_init(&e->loop, &e->deadline);
    e->tick.data = e->deadline.data = e;
    uv_timer_start(&e->tick, on_tick, 1, 1);
    uv_timer_start(&e->deadline, on_deadline, 20000, 0);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    uv_timer_stop(&e->tick);
    uv_timer_stop(&e->deadline);
}

static void finish(struct env *e)
{
    close(e->fd);
    fo_frame_server_close(&e->s, on_closed);
    uv_close((uv_handle_t *)&e->tick, NULL);
    uv_close((uv_handle_t *)&e->deadline, NULL);
    uv_run(&e->loop, UV_RUN_DEFAULT);
    assert_true(e->closed);
    assert_int_equal(uv_loop_close(&e->loop), 0);
    free(e->body);
}

static void test_never_reading_client_is_cut_off(void **state)
{
    struct env e;
    (void)state;

    /* 100000 requests would queue over 3 GB of replies: the bound stops that. */
    run(&e, false, 100000);
    assert_false(e.timed_out);
    assert_int_equal(e.s.slow_clients, 1);
    assert_true(e.s.rejected >= 1);
    assert_int_equal(e.s.nconns, 0); /* the connection is gone, not merely paused */
    assert_true(e.sent < e.total);
    finish(&e);
}

static void test_reading_client_is_served(void **state)
{
    struct env e;
    (void)state;

    /* Three requests in flight at a time, 8 MB of replies in all, read as they come. */
    run(&e, true, 256);
    assert_false(e.timed_out);
    assert_int_equal(e.s.slow_clients, 0);
    assert_int_equal(e.sent, 256);
    assert_true(e.received >= 256u * BODY);
    finish(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_never_reading_client_is_cut_off),
        cmocka_unit_test(test_reading_client_is_served),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
