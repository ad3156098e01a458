/*
 * tests/fuzz/fuzz_tls_frame.c — the admin/Raft framing behind TLS (consensus/tls_pump.h),
 * fed the way fuzz_frame feeds the plain reader.
 *
 * First byte: bit 7 picks the attacker. Set: an unauthenticated client writes the rest
 * straight onto the TLS server's TCP socket (records, alerts, garbage, plain text) — the
 * pump must refuse or time out, never hand anything to the user. Clear: a verified
 * client writes the rest through TLS in chunks of 1 + (bits 0-4) bytes, and the server's
 * user feeds what arrives to a frame reader, exactly like fuzz_frame: the bytes must
 * arrive intact and in order, whatever the chunking.
 *
 * Certificates come from deploy/make-certs (FO_SOURCE_DIR) into a temporary directory
 * on the first input. Each input runs one loop with real loopback sockets: slow for a
 * fuzzer (a handshake per input), thorough for a replay.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>

#include "consensus/tls_pump.h"
#include "proto/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static struct fo_tls srv_tls, cli_tls;

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_tls_frame: could not remove %s\n", dir);
}

static void init_once(void)
{
    char cmd[512], ca[128], crt[128], key[128];
    struct fo_error err;

    if (dir[0] != '\0')
        return;
    signal(SIGPIPE, SIG_IGN);
    snprintf(dir, sizeof(dir), "/tmp/fo-fuzz-tls-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(cmd, sizeof(cmd), "%s/deploy/make-certs --dir %s n1 n2 >/dev/null", FO_SOURCE_DIR,
             dir);
    if (system(cmd) != 0)
        abort();
    atexit(remove_dir);
    snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
    snprintf(crt, sizeof(crt), "%s/n1.crt", dir);
    snprintf(key, sizeof(key), "%s/n1.key", dir);
    if (fo_tls_init(&srv_tls, &(struct fo_tls_files){ca, crt, key}, 200, &err) != 0)
        abort();
    snprintf(crt, sizeof(crt), "%s/n2.crt", dir);
    snprintf(key, sizeof(key), "%s/n2.key", dir);
    if (fo_tls_init(&cli_tls, &(struct fo_tls_files){ca, crt, key}, 200, &err) != 0)
        abort();
}

struct side {
    bool done, ended;
    enum fo_tls_reason status;
    int fd;
};

struct run {
    uv_loop_t loop;
    uv_tcp_t listener;
    struct side server, client;
};

static void on_result(struct fo_tls_pump *p, const struct fo_tls_pump_result *res)
{
    struct side *s = fo_tls_pump_data(p);
    s->done = true;
    s->status = res->status;
    s->fd = res->fd;
}

static void on_end(struct fo_tls_pump *p)
{
    struct side *s = fo_tls_pump_data(p);
    s->ended = true;
}

static void on_conn(uv_stream_t *l, int status)
{
    struct run *r = l->data;
    struct fo_tls_pump_opts o = {.cb = on_result, .on_end = on_end, .data = &r->server};
    if (status != 0 || fo_tls_pump_accept(&srv_tls, &r->loop, l, &o, NULL) != 0)
        abort();
}

/* Spin the loop a bounded number of times until cond. */
static bool spin(struct run *r, bool (*cond)(struct run *))
{
    for (int i = 0; i < 20000 && !cond(r); i++) {
        uv_run(&r->loop, UV_RUN_NOWAIT);
        if (i > 100)
            usleep(100);
    }
    return cond(r);
}

static bool server_done(struct run *r)
{
    return r->server.done;
}

static bool both_done(struct run *r)
{
    return r->server.done && r->client.done;
}

static bool all_ended(struct run *r)
{
    return (!r->server.done || r->server.ended) && (!r->client.done || r->client.ended);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct run r;
    struct sockaddr_in a;
    int len = sizeof(a);
    bool raw;
    size_t chunk;

    if (size < 1)
        return 0;
    init_once();
    raw = (data[0] & 0x80) != 0;
    chunk = 1 + (data[0] & 31);
    data++;
    size--;
    memset(&r, 0, sizeof(r));
    r.server.fd = r.client.fd = -1;
    uv_loop_init(&r.loop);
    uv_tcp_init(&r.loop, &r.listener);
    r.listener.data = &r;
    uv_ip4_addr("127.0.0.1", 0, &a);
    if (uv_tcp_bind(&r.listener, (struct sockaddr *)&a, 0) != 0 ||
        uv_listen((uv_stream_t *)&r.listener, 4, on_conn) != 0 ||
        uv_tcp_getsockname(&r.listener, (struct sockaddr *)&a, &len) != 0)
        abort();
    if (raw) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
            abort();
        for (size_t off = 0; off < size;) {
            ssize_t n = write(fd, data + off, size - off < chunk ? size - off : chunk);
            if (n <= 0)
                break; /* refused already */
            off += (size_t)n;
            uv_run(&r.loop, UV_RUN_NOWAIT);
        }
        /* garbage never verifies: refused, or timed out (200 ms) if incomplete */
        if (!spin(&r, server_done) || r.server.status == FO_TLS_OK)
            abort();
        close(fd);
    } else {
        struct fo_tls_pump_opts o = {
            .cb = on_result, .on_end = on_end, .data = &r.client, .expect = "n1"};
        struct fo_frame_reader fr;
        size_t sent = 0, got = 0;
        uint8_t buf[4096];
        bool bad = false; /* the reader refused the stream: stop feeding it, as a server does */

        if (fo_tls_pump_connect(&cli_tls, &r.loop, (struct sockaddr *)&a, &o, NULL) != 0 ||
            !spin(&r, both_done) || r.server.status != FO_TLS_OK || r.client.status != FO_TLS_OK)
            abort();
        fo_frame_reader_init(&fr, 4096);
        for (int i = 0; got < size && i < 200000; i++) {
            ssize_t n;
            if (sent < size) {
                n = write(r.client.fd, data + sent, size - sent < chunk ? size - sent : chunk);
                if (n > 0)
                    sent += (size_t)n;
            }
            uv_run(&r.loop, UV_RUN_NOWAIT);
            n = read(r.server.fd, buf, sizeof(buf));
            if (n <= 0)
                continue;
            if (memcmp(buf, data + got, (size_t)n) != 0)
                abort(); /* TLS must deliver exactly what was written, in order */
            got += (size_t)n;
            for (size_t off = 0; off < (size_t)n && !bad;) {
                size_t used = 0;
                struct fo_buf out;
                if (fo_frame_reader_feed(&fr, buf + off, (size_t)n - off, &used, &out, NULL) !=
                    FO_PROTO_OK) {
                    bad = true;
                    break;
                }
                if (used == 0 || used > (size_t)n - off)
                    abort(); /* progress is guaranteed on a healthy stream */
                fo_buf_free(&out);
                off += used;
            }
        }
        if (got != size)
            abort();
        fo_frame_reader_close(&fr);
    }
    if (r.server.fd >= 0)
        close(r.server.fd);
    if (r.client.fd >= 0)
        close(r.client.fd);
    if (!spin(&r, all_ended))
        abort();
    uv_close((uv_handle_t *)&r.listener, NULL);
    uv_run(&r.loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&r.loop) != 0)
        abort();
    return 0;
}
