/*
 * tests/common/raft_nodes.h — a few real Raft servers (consensus/node.h: libraft, raft_uv
 * in a temporary directory, TCP on 127.0.0.1) on one libuv loop, for unit tests that
 * need what one node alone cannot show: a follower that knows its leader, or a leader
 * that loses its majority and steps down as the daemon would see it (fo_node_ready()
 * false, on_change fired, role follower or candidate).
 *
 * Nodes get Raft ids 1..n; every one is a voter of the bootstrapped cluster. Ports are
 * ephemeral ones the kernel had free a moment before (fo_test_free_port), not fixed:
 * unit tests of several build trees run at the same time. The helpers never wait: the
 * caller runs its loop until fo_test_nodes_leader() or fo_test_nodes_closed() says so.
 *
 * Ownership: caller-allocated; the loop is borrowed. Loop thread only. node[i].data is
 * the helper's (it points to t); on_ready and on_change are the caller's to set.
 */
#ifndef FO_TESTS_RAFT_NODES_H
#define FO_TESTS_RAFT_NODES_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "consensus/node.h"

#define FO_TEST_NODES_MAX 4

struct fo_test_nodes {
    uv_loop_t *loop;
    char dir[64]; /* the temporary directory holding every node's Raft directory */
    size_t n;
    struct fo_node node[FO_TEST_NODES_MAX];
    char address[FO_TEST_NODES_MAX][32]; /* "127.0.0.1:PORT" */
    bool started[FO_TEST_NODES_MAX];
    bool closing[FO_TEST_NODES_MAX];
    size_t closed; /* close callbacks seen */
};

/* A TCP port on 127.0.0.1 that was free when asked (bound, read, released). */
unsigned fo_test_free_port(void);

/* Create the directory, init and bootstrap n nodes (n <= FO_TEST_NODES_MAX) with the
 * given election timeout and heartbeat. Nothing is started. Returns 0 or -1. */
int fo_test_nodes_init(struct fo_test_nodes *t, uv_loop_t *loop, size_t n,
                       unsigned election_timeout_ms, unsigned heartbeat_ms);

/* One more node (id n + 1) with its own port and directory, NOT bootstrapped: a new
 * server for consensus/members.h's add, which waits until a leader contacts it. Returns
 * its index, or -1. Same timings as fo_test_nodes_init. */
int fo_test_nodes_add_joining(struct fo_test_nodes *t, unsigned election_timeout_ms,
                              unsigned heartbeat_ms);

/* Start node i (0-based; its Raft id is i + 1). Returns 0 or -1. */
int fo_test_nodes_start(struct fo_test_nodes *t, size_t i);

/* The index of a ready leader (fo_node_ready), or -1 when there is none. */
int fo_test_nodes_leader(const struct fo_test_nodes *t);

/* Close node i (once; a node that was never started is closed all the same). */
void fo_test_nodes_close(struct fo_test_nodes *t, size_t i);

/* Close every node not closed yet. */
void fo_test_nodes_close_all(struct fo_test_nodes *t);

/* True once every node's close callback has run. */
bool fo_test_nodes_closed(const struct fo_test_nodes *t);

/* After fo_test_nodes_closed() and once the loop has run dry: release the nodes and
 * remove the directory. */
void fo_test_nodes_release(struct fo_test_nodes *t);

/* Turn loop until holds(ctx) is true, with poll started every 2 ms (the test's own
 * housekeeping; it may uv_stop the loop). Returns false if limit_ms passed first. */
bool fo_test_run_until(uv_loop_t *loop, uv_timer_t *poll, uv_timer_cb on_poll,
                       bool (*holds)(void *ctx), void *ctx, uint64_t limit_ms);

#endif
