/*
 * tests/common/raft_nodes.c — see raft_nodes.h.
 */
#include "raft_nodes.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

unsigned fo_test_free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    unsigned port = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    if (fd < 0)
        return 0;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

int fo_test_nodes_init(struct fo_test_nodes *t, uv_loop_t *loop, size_t n,
                       unsigned election_timeout_ms, unsigned heartbeat_ms)
{
    struct fo_node_peer peers[FO_TEST_NODES_MAX];
    struct fo_error err;

    memset(t, 0, sizeof(*t));
    t->loop = loop;
    if (n == 0 || n > FO_TEST_NODES_MAX)
        return -1;
    snprintf(t->dir, sizeof(t->dir), "/tmp/fo-nodes-XXXXXX");
    if (mkdtemp(t->dir) == NULL)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned port = fo_test_free_port();
        if (port == 0)
            return -1;
        snprintf(t->address[i], sizeof(t->address[i]), "127.0.0.1:%u", port);
        peers[i].id = i + 1;
        peers[i].address = t->address[i];
    }
    for (size_t i = 0; i < n; i++) {
        char dir[96];
        struct fo_node_config nc = {.id = i + 1,
                                    .address = t->address[i],
                                    .dir = dir,
                                    .peers = peers,
                                    .npeers = n,
                                    .election_timeout_ms = election_timeout_ms,
                                    .heartbeat_ms = heartbeat_ms,
                                    .snapshot_threshold = 512,
                                    .snapshot_trailing = 512,
                                    .connect_retry_ms = heartbeat_ms};
        snprintf(dir, sizeof(dir), "%s/node%zu", t->dir, i + 1);
        if (fo_node_init(&t->node[i], loop, &nc, &err) != 0) {
            fprintf(stderr, "raft_nodes: init node %zu: %s\n", i + 1, err.msg);
            return -1;
        }
        t->node[i].data = t;
        t->n = i + 1; /* closed and released from here on */
        if (fo_node_bootstrap(&t->node[i], &nc, &err) != 0) {
            fprintf(stderr, "raft_nodes: bootstrap node %zu: %s\n", i + 1, err.msg);
            return -1;
        }
    }
    return 0;
}

int fo_test_nodes_add_joining(struct fo_test_nodes *t, unsigned election_timeout_ms,
                              unsigned heartbeat_ms)
{
    size_t i = t->n;
    char dir[96];
    struct fo_error err;
    struct fo_node_peer self;
    unsigned port;

    if (i >= FO_TEST_NODES_MAX || (port = fo_test_free_port()) == 0)
        return -1;
    snprintf(t->address[i], sizeof(t->address[i]), "127.0.0.1:%u", port);
    snprintf(dir, sizeof(dir), "%s/node%zu", t->dir, i + 1);
    self = (struct fo_node_peer){.id = i + 1, .address = t->address[i]};
    struct fo_node_config nc = {.id = i + 1,
                                .address = t->address[i],
                                .dir = dir,
                                .peers = &self,
                                .npeers = 1,
                                .election_timeout_ms = election_timeout_ms,
                                .heartbeat_ms = heartbeat_ms,
                                .snapshot_threshold = 512,
                                .snapshot_trailing = 512,
                                .connect_retry_ms = heartbeat_ms};
    if (fo_node_init(&t->node[i], t->loop, &nc, &err) != 0) {
        fprintf(stderr, "raft_nodes: init node %zu: %s\n", i + 1, err.msg);
        return -1;
    }
    t->node[i].data = t;
    t->n = i + 1;
    return (int)i;
}

int fo_test_nodes_start(struct fo_test_nodes *t, size_t i)
{
    struct fo_error err;

    if (i >= t->n || t->started[i] || t->closing[i])
        return -1;
    if (fo_node_start(&t->node[i], &err) != 0) {
        fprintf(stderr, "raft_nodes: start node %zu: %s\n", i + 1, err.msg);
        return -1;
    }
    t->started[i] = true;
    return 0;
}

int fo_test_nodes_leader(const struct fo_test_nodes *t)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->started[i] && !t->closing[i] && fo_node_ready(&t->node[i]))
            return (int)i;
    return -1;
}

static void node_closed(struct fo_node *n)
{
    struct fo_test_nodes *t = n->data;
    t->closed++;
}

void fo_test_nodes_close(struct fo_test_nodes *t, size_t i)
{
    if (i >= t->n || t->closing[i])
        return;
    t->closing[i] = true;
    fo_node_close(&t->node[i], node_closed);
}

void fo_test_nodes_close_all(struct fo_test_nodes *t)
{
    for (size_t i = 0; i < t->n; i++)
        fo_test_nodes_close(t, i);
}

bool fo_test_nodes_closed(const struct fo_test_nodes *t)
{
    return t->closed == t->n;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void fo_test_nodes_release(struct fo_test_nodes *t)
{
    for (size_t i = 0; i < t->n; i++)
        fo_node_release(&t->node[i]);
    if (t->dir[0] != '\0')
        nftw(t->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

bool fo_test_run_until(uv_loop_t *loop, uv_timer_t *poll, uv_timer_cb on_poll,
                       bool (*holds)(void *ctx), void *ctx, uint64_t limit_ms)
{
    uint64_t start = uv_now(loop);
    bool ok = true;

    uv_timer_start(poll, on_poll, 2, 2);
    while (!holds(ctx)) {
        uv_run(loop, UV_RUN_ONCE);
        if (uv_now(loop) - start >= limit_ms) {
            ok = false;
            break;
        }
    }
    uv_timer_stop(poll);
    return ok;
}
