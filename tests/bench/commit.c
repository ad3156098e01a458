/*
 * tests/bench/commit.c — propose → applied on the leader, over real libraft storage
 * (raft_uv, fsync'd segments) and TCP on loopback: three fo_node servers in one process
 * and one loop, as three failoverd processes would run them.
 *
 *   commit [--count N] [--inflight K] [--dir D] [--base-port P] [-t CERTS]
 *
 * -t CERTS: mutual TLS on the Raft port (consensus/tls_transport.h), with CERTS/ca.crt
 * and CERTS/nI.crt, nI.key for the nodes n1..n3 (deploy/make-certs --dir CERTS n1 n2 n3).
 *
 * Proposes N verdict commands (alternating up/down so each really changes the FSM),
 * keeping K in flight, and prints the latency distribution (from fo_node_propose to its
 * callback, which fires once the entry is committed by a majority and applied on the
 * leader) and the commit rate. Exit 1 if any proposal did not apply: the numbers of a
 * broken run mean nothing. Numbers, not assertions (DESIGN §12).
 */
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/node.h"
#include "consensus/tls.h"

#define NNODES 3

struct bench {
    uv_loop_t loop;
    struct fo_node nodes[NNODES];
    struct fo_node *leader;
    uv_timer_t guard;
    unsigned count, inflight_max, sent, done, failed, inflight, closed;
    uint64_t *lat_ns;
    uint64_t t_start, t_end;
    struct fo_tls tls[NNODES];
};

struct prop {
    struct fo_node_propose req;
    uint64_t t0;
    struct bench *b;
};

static void send_more(struct bench *b);

static void proposed(struct fo_node_propose *req, int status, const struct fo_fsm_result *res)
{
    struct prop *p = req->data;
    struct bench *b = p->b;
    uint64_t dt = uv_hrtime() - p->t0;

    if (status != 0 || res->outcome != FO_FSM_APPLIED)
        b->failed++;
    else
        b->lat_ns[b->done] = dt;
    b->done++;
    b->inflight--;
    free(p);
    if (b->done == b->count) {
        b->t_end = uv_hrtime();
        uv_stop(&b->loop);
        return;
    }
    send_more(b);
}

static void send_more(struct bench *b)
{
    while (b->sent < b->count && b->inflight < b->inflight_max) {
        struct fo_cmd cmd = {.type = FO_CMD_VERDICT};
        struct prop *p = calloc(1, sizeof(*p));
        char obs[32];
        if (p == NULL)
            abort();
        snprintf(obs, sizeof(obs), "bench-%u", b->sent % 16);
        cmd.u.verdict.observer = obs;
        cmd.u.verdict.region = "us-east-1";
        cmd.u.verdict.status = (b->sent / 16) % 2 ? FO_STATUS_DOWN : FO_STATUS_UP;
        cmd.u.verdict.at_ms = b->sent + 1;
        p->b = b;
        p->req.data = p;
        p->t0 = uv_hrtime();
        if (fo_node_propose(b->leader, &p->req, &cmd, proposed) != 0) {
            fprintf(stderr, "commit: proposal %u refused (leadership changed?)\n", b->sent);
            free(p);
            b->failed += b->count - b->sent;
            b->done += b->count - b->sent;
            b->sent = b->count;
            if (b->inflight == 0)
                uv_stop(&b->loop);
            return;
        }
        b->sent++;
        b->inflight++;
    }
}

static void on_ready(struct fo_node *n)
{
    struct bench *b = n->data;
    if (b->leader != NULL)
        return;
    b->leader = n;
    b->t_start = uv_hrtime();
    send_more(b);
}

static void on_guard(uv_timer_t *t)
{
    struct bench *b = t->data;
    fprintf(stderr, "commit: gave up after 120 s (%u of %u done)\n", b->done, b->count);
    b->failed += b->count - b->done;
    uv_stop(&b->loop);
}

static void node_closed(struct fo_node *n)
{
    struct bench *b = n->data;
    b->closed++;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, unsigned n, double p)
{
    unsigned i = (unsigned)(p * (n - 1));
    return (double)v[i] / 1e6;
}

int main(int argc, char **argv)
{
    static struct bench b;
    struct fo_node_peer peers[NNODES];
    char addrs[NNODES][32], dirs[NNODES][4096], names[NNODES][8];
    const char *certs = NULL;
    const char *root = NULL;
    bool own_root = false;
    unsigned base = 18300;
    int ch;

    b.count = 10000;
    b.inflight_max = 1;
    while ((ch = getopt(argc, argv, "n:k:d:p:t:h")) != -1) {
        switch (ch) {
        case 'n':
            b.count = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'k':
            b.inflight_max = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'd':
            root = optarg;
            break;
        case 'p':
            base = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 't':
            certs = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: commit [-n COUNT] [-k INFLIGHT] [-d DIR] [-p BASE_PORT] [-t CERTS]\n");
            return ch == 'h' ? 0 : 2;
        }
    }
    if (b.count == 0 || b.inflight_max == 0 || base == 0 || base > 65000) {
        fprintf(stderr, "commit: count, inflight and base port must be positive\n");
        return 2;
    }
    if (root == NULL) {
        static char tmpl[] = "/tmp/fo-bench-commit-XXXXXX";
        if ((root = mkdtemp(tmpl)) == NULL) {
            perror("mkdtemp");
            return 1;
        }
        own_root = true;
    }
    signal(SIGPIPE, SIG_IGN);
    b.lat_ns = calloc(b.count, sizeof(*b.lat_ns));
    uv_loop_init(&b.loop);
    for (int i = 0; i < NNODES; i++) {
        snprintf(addrs[i], sizeof(addrs[i]), "127.0.0.1:%u", base + 1 + (unsigned)i);
        snprintf(dirs[i], sizeof(dirs[i]), "%s/n%d", root, i + 1);
        peers[i].id = (uint64_t)i + 1;
        peers[i].address = addrs[i];
        snprintf(names[i], sizeof(names[i]), "n%d", i + 1);
        peers[i].name = names[i];
        if (certs != NULL) {
            char ca[512], crt[512], key[512];
            struct fo_error err;
            snprintf(ca, sizeof(ca), "%s/ca.crt", certs);
            snprintf(crt, sizeof(crt), "%s/n%d.crt", certs, i + 1);
            snprintf(key, sizeof(key), "%s/n%d.key", certs, i + 1);
            if (fo_tls_init(&b.tls[i], &(struct fo_tls_files){ca, crt, key}, 0, &err) != 0) {
                fprintf(stderr, "commit: %s\n", err.msg);
                return 1;
            }
        }
    }
    for (int i = 0; i < NNODES; i++) {
        struct fo_node_config nc = {
            .id = peers[i].id,
            .address = addrs[i],
            .dir = dirs[i],
            .peers = peers,
            .npeers = NNODES,
            .election_timeout_ms = 1000,
            .heartbeat_ms = 100,
            .snapshot_threshold = 512,
            .snapshot_trailing = 512,
            .connect_retry_ms = 250,
            .tls = certs != NULL ? &b.tls[i] : NULL,
        };
        struct fo_error err;
        if (fo_node_init(&b.nodes[i], &b.loop, &nc, &err) != 0 ||
            fo_node_bootstrap(&b.nodes[i], &nc, &err) != 0 ||
            fo_node_start(&b.nodes[i], &err) != 0) {
            fprintf(stderr, "commit: node %d: %s\n", i + 1, err.msg);
            return 1;
        }
        b.nodes[i].data = &b;
        b.nodes[i].on_ready = on_ready;
    }
    uv_timer_init(&b.loop, &b.guard);
    b.guard.data = &b;
    uv_timer_start(&b.guard, on_guard, 120000, 0);
    uv_run(&b.loop, UV_RUN_DEFAULT);

    uv_close((uv_handle_t *)&b.guard, NULL);
    for (int i = 0; i < NNODES; i++)
        fo_node_close(&b.nodes[i], node_closed);
    uv_run(&b.loop, UV_RUN_DEFAULT);
    uv_loop_close(&b.loop);
    for (int i = 0; i < NNODES; i++) {
        fo_node_release(&b.nodes[i]);
        fo_tls_close(&b.tls[i]);
    }

    if (b.failed == 0 && b.done == b.count) {
        double secs = (double)(b.t_end - b.t_start) / 1e9;
        qsort(b.lat_ns, b.count, sizeof(*b.lat_ns), cmp_u64);
        printf("commit: %u commands, %u in flight, 3 nodes on loopback (raft_uv, fsync, %s)\n",
               b.count, b.inflight_max, certs != NULL ? "mutual TLS" : "plain TCP");
        printf("commit: latency ms p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
               pct(b.lat_ns, b.count, 0.50), pct(b.lat_ns, b.count, 0.90),
               pct(b.lat_ns, b.count, 0.99), pct(b.lat_ns, b.count, 1.0));
        printf("commit: %.0f commands/s\n", b.count / secs);
    } else {
        printf("commit: FAILED: %u of %u proposals did not apply\n", b.failed, b.count);
    }
    free(b.lat_ns);
    if (own_root)
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return b.failed == 0 && b.done == b.count ? 0 : 1;
}
