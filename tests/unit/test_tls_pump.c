/*
 * tests/unit/test_tls_pump.c — consensus/tls.h and tls_pump.h on a real loop and real
 * loopback sockets, with certificates made by deploy/make-certs: the handshake and a
 * round trip, every refusal reason on the side that must report it, partial reads and
 * the bounded queues when the user does not read, the file checks, the log rate limit.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "consensus/tls_pump.h"

static char dir[64];

static void path(char *out, size_t n, const char *sub, const char *file)
{
    snprintf(out, n, "%s/%s/%s", dir, sub, file);
}

static int make_all(void **state)
{
    char cmd[1024];
    (void)state;
    signal(SIGPIPE, SIG_IGN); /* a closed stream is an error to assert on, not a death */
    snprintf(dir, sizeof(dir), "/tmp/fo-test-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        return -1;
    /* our CA with nodes n1, n2 and an operator; a copy of the CA issuing an expired n2;
     * another CA with its own n1 */
    snprintf(cmd, sizeof(cmd),
             "set -e; mk=%s/deploy/make-certs; d=%s;"
             "$mk --dir $d/ok n1 n2 --operator op >/dev/null;"
             "mkdir -p $d/exp; cp $d/ok/ca.crt $d/ok/ca.key $d/exp/;"
             "$mk --dir $d/exp --expired n2 >/dev/null;"
             "$mk --dir $d/other n1 --crl >/dev/null;"
             /* n3 of our CA, revoked in ok/crl.pem (n1 and n2 are not) */
             "$mk --dir $d/ok n3 >/dev/null; $mk --dir $d/ok --revoke n3 >/dev/null;"
             /* a CRL of our CA already past its next update: issued two days ago for one */
             "mkdir -p $d/stale; cp $d/ok/ca.crt $d/ok/ca.key $d/stale/;"
             "faketime -f -2d $mk --dir $d/stale --crl --crl-days 1 >/dev/null",
             FO_SOURCE_DIR, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int remove_all(void **state)
{
    char cmd[300];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* A context from sub/ca.crt and sub/name.{crt,key} (name NULL: no certificate). */
static void ctx_init(struct fo_tls *t, const char *ca_sub, const char *sub, const char *name,
                     unsigned timeout_ms)
{
    char ca[400], crt[400], key[400];
    struct fo_error err;
    struct fo_tls_files files = {ca, NULL, NULL, .unchecked = true};

    path(ca, sizeof(ca), ca_sub, "ca.crt");
    if (name != NULL) {
        char f[64];
        snprintf(f, sizeof(f), "%s.crt", name);
        path(crt, sizeof(crt), sub, f);
        snprintf(f, sizeof(f), "%s.key", name);
        path(key, sizeof(key), sub, f);
        files.cert = crt;
        files.key = key;
    }
    memset(t, 0, sizeof(*t));
    assert_int_equal(fo_tls_init(t, &files, timeout_ms, &err), 0);
}

/* ---- one client and one server on a loop ------------------------------------------- */

struct side {
    bool done;
    enum fo_tls_reason status;
    int fd;
    struct fo_tls_peer peer;
    struct fo_tls_pump *pump;
    bool ended;
};

struct rig {
    uv_loop_t loop;
    uv_tcp_t listener;
    struct sockaddr_in addr;
    struct fo_tls *server_tls;
    struct fo_tls_pump_opts server_opts;
    struct side server, client;
};

static void on_result(struct fo_tls_pump *p, const struct fo_tls_pump_result *res)
{
    struct side *s = fo_tls_pump_data(p);
    s->done = true;
    s->status = res->status;
    s->fd = res->fd;
    s->peer = res->peer;
}

static void on_end(struct fo_tls_pump *p)
{
    struct side *s = fo_tls_pump_data(p);
    s->ended = true;
    s->pump = NULL;
}

static void on_conn(uv_stream_t *l, int status)
{
    struct rig *r = l->data;
    assert_int_equal(status, 0);
    assert_int_equal(
        fo_tls_pump_accept(r->server_tls, &r->loop, l, &r->server_opts, &r->server.pump), 0);
}

static void rig_start(struct rig *r, struct fo_tls *server_tls)
{
    int len = sizeof(r->addr);

    memset(r, 0, sizeof(*r));
    r->server.fd = r->client.fd = -1;
    uv_loop_init(&r->loop);
    r->server_tls = server_tls;
    r->server_opts =
        (struct fo_tls_pump_opts){.cb = on_result, .on_end = on_end, .data = &r->server};
    uv_tcp_init(&r->loop, &r->listener);
    r->listener.data = r;
    uv_ip4_addr("127.0.0.1", 0, &r->addr);
    assert_int_equal(uv_tcp_bind(&r->listener, (const struct sockaddr *)&r->addr, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&r->listener, 8, on_conn), 0);
    assert_int_equal(uv_tcp_getsockname(&r->listener, (struct sockaddr *)&r->addr, &len), 0);
}

static void rig_connect(struct rig *r, struct fo_tls *client_tls, const char *expect)
{
    struct fo_tls_pump_opts o = {
        .cb = on_result, .on_end = on_end, .data = &r->client, .expect = expect};
    assert_int_equal(fo_tls_pump_connect(client_tls, &r->loop, (const struct sockaddr *)&r->addr,
                                         &o, &r->client.pump),
                     0);
}

/* Run the loop until cond holds; fail after 10 s. */
static void run_until(struct rig *r, bool (*cond)(struct rig *))
{
    uint64_t deadline = uv_hrtime() + 10000000000ull;
    while (!cond(r)) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&r->loop, UV_RUN_NOWAIT);
        usleep(200); /* a 2-core CI box: do not spin flat out */
    }
}

static bool both_done(struct rig *r)
{
    return r->server.done && r->client.done;
}

static bool server_done(struct rig *r)
{
    return r->server.done;
}

static bool client_done(struct rig *r)
{
    return r->client.done;
}

static bool both_ended(struct rig *r)
{
    return (r->server.pump == NULL || r->server.ended) &&
           (r->client.pump == NULL || r->client.ended);
}

static void rig_stop(struct rig *r)
{
    if (r->server.fd >= 0)
        close(r->server.fd);
    if (r->client.fd >= 0)
        close(r->client.fd);
    r->server.fd = r->client.fd = -1;
    run_until(r, both_ended); /* the user's side closed: each pump ends by itself */
    uv_close((uv_handle_t *)&r->listener, NULL);
    uv_run(&r->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r->loop), 0);
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_handshake_and_round_trip(void **state)
{
    struct fo_tls srv, cli;
    struct rig r;
    char buf[16];
    ssize_t n = -1;
    (void)state;

    ctx_init(&srv, "ok", "ok", "n1", 0);
    ctx_init(&cli, "ok", "ok", "n2", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, "n1");
    run_until(&r, both_done);
    assert_int_equal(r.client.status, FO_TLS_OK);
    assert_int_equal(r.server.status, FO_TLS_OK);
    assert_string_equal(r.client.peer.name, "n1");
    assert_int_equal(r.client.peer.role, FO_TLS_ROLE_NODE);
    assert_string_equal(r.server.peer.name, "n2");
    assert_int_equal(write(r.client.fd, "ping", 4), 4);
    for (uint64_t deadline = uv_hrtime() + 10000000000ull; n <= 0;) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&r.loop, UV_RUN_NOWAIT);
        n = read(r.server.fd, buf, sizeof(buf));
    }
    assert_int_equal(n, 4);
    assert_memory_equal(buf, "ping", 4);
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

/* The server refuses the client with `want` (and the client is never given a stream
 * that carries the server's data: its connection ends). */
static void refused_by_server(const char *ca_sub, const char *sub, const char *name,
                              enum fo_tls_reason want)
{
    struct fo_tls srv, cli;
    struct rig r;

    ctx_init(&srv, "ok", "ok", "n1", 0);
    ctx_init(&cli, ca_sub, sub, name, 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, NULL);
    run_until(&r, server_done);
    assert_int_equal(r.server.status, want);
    assert_int_equal(r.server.fd, -1);
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

static void test_other_ca_refused(void **state)
{
    (void)state;
    /* the client trusts our CA, but its certificate comes from another */
    refused_by_server("ok", "other", "n1", FO_TLS_UNKNOWN_CA);
}

static void test_expired_refused(void **state)
{
    (void)state;
    refused_by_server("ok", "exp", "n2", FO_TLS_EXPIRED);
}

static void test_no_cert_refused(void **state)
{
    (void)state;
    refused_by_server("ok", "ok", NULL, FO_TLS_NO_CERT);
}

static void test_client_refuses_unexpected_server(void **state)
{
    struct fo_tls srv, cli;
    struct rig r;
    (void)state;

    ctx_init(&srv, "ok", "ok", "n1", 0);
    ctx_init(&cli, "ok", "ok", "n2", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, "n2"); /* expects n2, the server is n1 */
    run_until(&r, client_done);
    assert_int_equal(r.client.status, FO_TLS_WRONG_PEER);
    assert_int_equal(r.client.fd, -1);
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

static void test_client_refuses_server_of_other_ca(void **state)
{
    struct fo_tls srv, cli;
    struct rig r;
    (void)state;

    ctx_init(&srv, "other", "other", "n1", 0);
    ctx_init(&cli, "ok", "ok", "n2", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, "n1");
    run_until(&r, client_done);
    assert_int_equal(r.client.status, FO_TLS_UNKNOWN_CA);
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

/* A plain-text client gets the configured reply, then the connection closes. */
static void test_plain_text_client(void **state)
{
    static const char reply[] = "TLS required";
    struct fo_tls srv;
    struct rig r;
    int fd;
    char buf[64];
    ssize_t n = -1;
    (void)state;

    ctx_init(&srv, "ok", "ok", "n1", 0);
    rig_start(&r, &srv);
    r.server_opts.plain_reply = reply;
    r.server_opts.plain_reply_len = sizeof(reply) - 1;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&r.addr, sizeof(r.addr)), 0);
    assert_int_equal(write(fd, "\x00\x00\x00\x05hello", 9), 9);
    run_until(&r, server_done);
    assert_int_equal(r.server.status, FO_TLS_NOT_TLS);
    for (uint64_t deadline = uv_hrtime() + 10000000000ull; n < 0;) {
        assert_true(uv_hrtime() < deadline);
        uv_run(&r.loop, UV_RUN_NOWAIT);
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    }
    assert_int_equal(n, (ssize_t)sizeof(reply) - 1);
    assert_memory_equal(buf, reply, sizeof(reply) - 1);
    close(fd);
    rig_stop(&r);
    fo_tls_close(&srv);
}

/* A TLS client that reaches a plain-text server (tls.mode off there) says so. */
static void test_plain_text_server(void **state)
{
    struct fo_tls cli;
    struct rig r;
    int lfd, cfd;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    struct fo_tls_pump_opts o = {.cb = on_result, .on_end = on_end};
    (void)state;

    ctx_init(&cli, "ok", "ok", "n2", 0);
    memset(&r, 0, sizeof(r));
    r.server.fd = r.client.fd = -1;
    uv_loop_init(&r.loop);
    o.data = &r.client;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(lfd, 4), 0);
    assert_int_equal(getsockname(lfd, (struct sockaddr *)&a, &alen), 0);
    assert_int_equal(fo_tls_pump_connect(&cli, &r.loop, (struct sockaddr *)&a, &o, &r.client.pump),
                     0);
    uv_run(&r.loop, UV_RUN_NOWAIT); /* connect completes against the backlog */
    cfd = accept(lfd, NULL, NULL);
    assert_true(cfd >= 0);
    /* what a plain frame server answers a ClientHello with: a length-prefixed reply */
    assert_int_equal(write(cfd, "\x00\x00\x00\x05hello", 9), 9);
    run_until(&r, client_done);
    assert_int_equal(r.client.status, FO_TLS_NOT_TLS);
    close(cfd);
    close(lfd);
    run_until(&r, both_ended);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&r.loop), 0);
    fo_tls_close(&cli);
}

static void test_handshake_timeout(void **state)
{
    struct fo_tls srv;
    struct rig r;
    int fd;
    (void)state;

    ctx_init(&srv, "ok", "ok", "n1", 100);
    rig_start(&r, &srv);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&r.addr, sizeof(r.addr)), 0);
    run_until(&r, server_done); /* the client says nothing */
    assert_int_equal(r.server.status, FO_TLS_TIMEOUT);
    close(fd);
    rig_stop(&r);
    fo_tls_close(&srv);
}

/* 32 MiB written while the receiving user does not read: the pumps' queues stay
 * bounded (backpressure reaches the writer as EAGAIN), then everything arrives intact
 * in many partial reads. */
#define BULK  (32u * 1024u * 1024u) /* beyond what loopback TCP and a socketpair buffer */
#define BOUND (FO_TLS_PUMP_HIGH + 2u * 64u * 1024u + 4096u)

static uint8_t bulk_byte(size_t i)
{
    return (uint8_t)(i * 7u + (i >> 12));
}

static void check_bounds(struct rig *r)
{
    size_t a, b;
    if (r->server.pump != NULL) {
        fo_tls_pump_queued(r->server.pump, &a, &b);
        assert_true(a <= BOUND && b <= BOUND);
    }
    if (r->client.pump != NULL) {
        fo_tls_pump_queued(r->client.pump, &a, &b);
        assert_true(a <= BOUND && b <= BOUND);
    }
}

static void test_bulk_partial_reads_bounded(void **state)
{
    struct fo_tls srv, cli;
    struct rig r;
    static uint8_t out[BULK];
    uint8_t in[8192];
    size_t sent = 0, got = 0, reads = 0;
    uint64_t deadline, stalled_since = 0;
    (void)state;

    for (size_t i = 0; i < BULK; i++)
        out[i] = bulk_byte(i);
    ctx_init(&srv, "ok", "ok", "n1", 0);
    ctx_init(&cli, "ok", "ok", "n2", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, "n1");
    run_until(&r, both_done);
    assert_int_equal(r.client.status, FO_TLS_OK);
    /* Phase 1: write without reading until the writer is blocked for 300 ms: the
     * pumps must have stopped taking more (a condition on progress, not a sleep). */
    deadline = uv_hrtime() + 20000000000ull;
    while (sent < BULK) {
        ssize_t n = write(r.client.fd, out + sent, BULK - sent);
        assert_true(uv_hrtime() < deadline);
        if (n > 0) {
            sent += (size_t)n;
            stalled_since = 0;
        } else if (stalled_since == 0) {
            stalled_since = uv_hrtime();
        } else if (uv_hrtime() - stalled_since > 300000000ull) {
            break;
        }
        uv_run(&r.loop, UV_RUN_NOWAIT);
        check_bounds(&r);
        usleep(200);
    }
    assert_true(sent < BULK); /* the writer was held back: nothing buffered without bound */
    /* Phase 2: read everything, in small partial reads, while writing the rest. */
    while (got < BULK) {
        ssize_t n;
        assert_true(uv_hrtime() < deadline);
        if (sent < BULK && (n = write(r.client.fd, out + sent, BULK - sent)) > 0)
            sent += (size_t)n;
        uv_run(&r.loop, UV_RUN_NOWAIT);
        check_bounds(&r);
        n = read(r.server.fd, in, 1 + (reads % sizeof(in)));
        if (n > 0) {
            for (ssize_t i = 0; i < n; i++)
                assert_int_equal(in[i], bulk_byte(got + (size_t)i));
            got += (size_t)n;
            reads++;
        } else {
            usleep(100);
        }
    }
    assert_true(reads > 100);
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

static void check_files(const char *ca_sub, const char *crt_sub, const char *crt,
                        const char *key_sub, const char *key, int want)
{
    char ca_p[400], crt_p[400], key_p[400];
    struct fo_tls_files f = {ca_p, crt_p, key_p};
    struct fo_error err = {0};

    path(ca_p, sizeof(ca_p), ca_sub, "ca.crt");
    path(crt_p, sizeof(crt_p), crt_sub, crt);
    path(key_p, sizeof(key_p), key_sub, key);
    assert_int_equal(fo_tls_check_files(&f, &err), want);
    if (want != 0)
        assert_true(strstr(err.msg, "tls: ") == err.msg);
}

/* ok's n1 (or n3) with the CRL crl_sub/crl.pem (crl_sub NULL: a file that is not there). */
static void check_crl(const char *name, const char *crl_sub, int want, const char *says)
{
    char ca_p[400], crt_p[400], key_p[400], crl_p[400], f[64];
    struct fo_tls_files files = {ca_p, crt_p, key_p, crl_p};
    struct fo_error err = {0};

    path(ca_p, sizeof(ca_p), "ok", "ca.crt");
    snprintf(f, sizeof(f), "%s.crt", name);
    path(crt_p, sizeof(crt_p), "ok", f);
    snprintf(f, sizeof(f), "%s.key", name);
    path(key_p, sizeof(key_p), "ok", f);
    path(crl_p, sizeof(crl_p), crl_sub != NULL ? crl_sub : "ok",
         crl_sub != NULL ? "crl.pem" : "no.pem");
    assert_int_equal(fo_tls_check_files(&files, &err), want);
    if (says != NULL && strstr(err.msg, says) == NULL)
        fail_msg("'%s' does not say '%s'", err.msg, says);
}

static void test_check_crl(void **state)
{
    (void)state;
    check_crl("n1", "ok", 0, NULL);
    check_crl("n3", "ok", FO_TLS_REVOKED, "revokes this node's certificate");
    check_crl("n1", "other", FO_TLS_CA_MISMATCH, "is not signed by the CA");
    check_crl("n1", "stale", FO_TLS_FILE, "past its next update");
    check_crl("n1", NULL, FO_TLS_FILE, "cannot read");
}

static void test_check_files(void **state)
{
    (void)state;
    check_files("ok", "ok", "n1.crt", "ok", "n1.key", 0);
    check_files("ok", "ok", "missing.crt", "ok", "n1.key", FO_TLS_FILE);
    check_files("ok", "ok", "n1.crt", "ok", "n1.crt", FO_TLS_FILE); /* no key in it */
    check_files("ok", "ok", "n1.crt", "ok", "n2.key", FO_TLS_KEY);
    check_files("ok", "other", "n1.crt", "other", "n1.key", FO_TLS_CA_MISMATCH);
    check_files("ok", "exp", "n2.crt", "exp", "n2.key", FO_TLS_CA_MISMATCH);
}

/* A context of ok/n1 that checks ok/crl.pem (which revokes n3). */
static void ctx_init_crl(struct fo_tls *t)
{
    char ca[400], crt[400], key[400], crl[400];
    struct fo_error err = {0};

    path(ca, sizeof(ca), "ok", "ca.crt");
    path(crt, sizeof(crt), "ok", "n1.crt");
    path(key, sizeof(key), "ok", "n1.key");
    path(crl, sizeof(crl), "ok", "crl.pem");
    memset(t, 0, sizeof(*t));
    assert_int_equal(fo_tls_init(t, &(struct fo_tls_files){ca, crt, key, crl}, 0, &err), 0);
}

static void test_revoked_refused(void **state)
{
    struct fo_tls srv, cli;
    struct rig r;
    (void)state;

    ctx_init_crl(&srv);
    ctx_init(&cli, "ok", "ok", "n3", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, NULL);
    run_until(&r, both_done);
    assert_int_equal(r.server.status, FO_TLS_REVOKED);
    assert_int_equal(r.server.fd, -1);
    /* TLS 1.3: the client may finish first, then learn of the refusal from the alert */
    rig_stop(&r);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

static unsigned refused_count;
static enum fo_tls_reason refused_last;

static void count_refused(void *data, const char *where, const char *remote,
                          enum fo_tls_reason reason, const char *detail, unsigned suppressed)
{
    (void)data;
    (void)remote;
    (void)detail;
    (void)suppressed;
    assert_string_equal(where, "reload");
    refused_count++;
    refused_last = reason;
}

static bool server_ended(struct rig *r)
{
    return r->server.ended;
}

/* Open connections of a peer the new files no longer accept are cut by fo_tls_adopt;
 * a prepare whose files do not check changes nothing. */
static void test_reload_cuts_revoked(void **state)
{
    struct fo_tls srv, cli, cli2;
    struct rig r;
    char ca[400], crt[400], key[400], crl[400], bad[400];
    struct fo_error err = {0};
    void *next = NULL;
    void *running;
    (void)state;

    ctx_init(&srv, "ok", "ok", "n1", 0); /* no CRL yet */
    srv.on_refused = count_refused;
    ctx_init(&cli, "ok", "ok", "n3", 0);
    rig_start(&r, &srv);
    rig_connect(&r, &cli, "n1");
    run_until(&r, both_done);
    assert_int_equal(r.server.status, FO_TLS_OK); /* n3 is not revoked for this context */

    path(ca, sizeof(ca), "ok", "ca.crt");
    path(crt, sizeof(crt), "ok", "n1.crt");
    path(key, sizeof(key), "ok", "n1.key");
    path(crl, sizeof(crl), "ok", "crl.pem");
    path(bad, sizeof(bad), "stale", "crl.pem");
    running = srv.ctx;
    assert_int_equal(fo_tls_prepare(&srv, &(struct fo_tls_files){ca, crt, key, bad}, &next, &err),
                     FO_TLS_FILE);
    assert_null(next);
    assert_ptr_equal(srv.ctx, running);
    assert_int_equal(fo_tls_prepare(&srv, &(struct fo_tls_files){ca, NULL, NULL, crl}, &next, &err),
                     FO_TLS_FILE); /* cannot drop the certificate */
    assert_int_equal(fo_tls_prepare(&srv, &(struct fo_tls_files){ca, crt, key, crl}, &next, &err),
                     0);
    assert_non_null(next);
    assert_int_equal(fo_tls_adopt(&srv, next), 1);
    assert_int_equal(refused_count, 1);
    assert_int_equal(refused_last, FO_TLS_REVOKED);
    run_until(&r, server_ended); /* the pump closes itself */

    /* n3's next connection is refused by the new context itself */
    close(r.client.fd);
    r.client.fd = -1;
    run_until(&r, both_ended);
    r.server = r.client = (struct side){.fd = -1};
    rig_connect(&r, &cli, "n1");
    run_until(&r, server_done);
    assert_int_equal(r.server.status, FO_TLS_REVOKED);
    run_until(&r, both_ended);
    /* while a peer the CRL does not list still gets through */
    r.server = r.client = (struct side){.fd = -1};
    ctx_init(&cli2, "ok", "ok", "n2", 0);
    rig_connect(&r, &cli2, "n1");
    run_until(&r, both_done);
    assert_int_equal(r.server.status, FO_TLS_OK);
    rig_stop(&r);
    fo_tls_close(&cli2);
    fo_tls_close(&srv);
    fo_tls_close(&cli);
}

static void test_rate_limit(void **state)
{
    struct fo_tls t = {0};
    unsigned suppressed = 99;
    (void)state;

    assert_true(fo_tls_should_log(&t, FO_TLS_NO_CERT, "raft/10.0.0.9", 1000, &suppressed));
    assert_int_equal(suppressed, 0);
    assert_false(fo_tls_should_log(&t, FO_TLS_NO_CERT, "raft/10.0.0.9", 2000, &suppressed));
    assert_false(fo_tls_should_log(&t, FO_TLS_NO_CERT, "raft/10.0.0.9", 3000, &suppressed));
    /* another reason or host is its own line */
    assert_true(fo_tls_should_log(&t, FO_TLS_EXPIRED, "raft/10.0.0.9", 3000, &suppressed));
    assert_true(fo_tls_should_log(&t, FO_TLS_NO_CERT, "raft/10.0.0.8", 3000, &suppressed));
    /* a minute later: logged again, with the count of what was not */
    assert_true(fo_tls_should_log(&t, FO_TLS_NO_CERT, "raft/10.0.0.9", 1000 + FO_TLS_LOG_EVERY_MS,
                                  &suppressed));
    assert_int_equal(suppressed, 2);
    assert_string_equal(fo_tls_reason_name(FO_TLS_UNKNOWN_CA), "unknown-ca");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_and_round_trip),
        cmocka_unit_test(test_other_ca_refused),
        cmocka_unit_test(test_expired_refused),
        cmocka_unit_test(test_no_cert_refused),
        cmocka_unit_test(test_client_refuses_unexpected_server),
        cmocka_unit_test(test_client_refuses_server_of_other_ca),
        cmocka_unit_test(test_plain_text_client),
        cmocka_unit_test(test_plain_text_server),
        cmocka_unit_test(test_handshake_timeout),
        cmocka_unit_test(test_bulk_partial_reads_bounded),
        cmocka_unit_test(test_check_files),
        cmocka_unit_test(test_check_crl),
        cmocka_unit_test(test_revoked_refused),
        cmocka_unit_test(test_reload_cuts_revoked),
        cmocka_unit_test(test_rate_limit),
    };
    return cmocka_run_group_tests(tests, make_all, remove_all);
}
