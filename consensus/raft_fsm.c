/*
 * consensus/raft_fsm.c — see raft_fsm.h.
 */
#include "consensus/raft_fsm.h"

#include <string.h>

size_t fo_raft_pad(size_t len)
{
    return (len + 7u) & ~(size_t)7u;
}

size_t fo_raft_unpad(const uint8_t *buf, size_t len)
{
    size_t n;

    if (len < 4)
        return len;
    n = 4u + (((size_t)buf[0] << 24) | ((size_t)buf[1] << 16) | ((size_t)buf[2] << 8) | buf[3]);
    if (n > len || len - n >= 8)
        return len; /* not our padding: let the strict decoder say what is wrong */
    for (size_t i = n; i < len; i++)
        if (buf[i] != 0)
            return len;
    return n;
}

static int fsm_apply(struct raft_fsm *fsm, const struct raft_buffer *buf, void **result)
{
    struct fo_raft_fsm *rf = fsm->data;
    bool was_halted = rf->fsm.halted;

    fo_fsm_apply_frame(&rf->fsm, buf->base, fo_raft_unpad(buf->base, buf->len));
    if (rf->fsm.last.outcome == FO_FSM_HALTED) {
        /* Told once per halt: every later entry is refused the same way. */
        if (!was_halted && rf->on_reject != NULL)
            rf->on_reject(rf, &rf->fsm.last);
        /* Not an error for libraft: an apply error makes a 0.15 follower's raft
         * unavailable (it stops participating: seen in it_upgrade), so the node would
         * leave the cluster. libraft counts the entry applied; the FSM knows it is not,
         * and fsm_snapshot refuses to snapshot it (see there). */
        *result = &rf->fsm.last;
        return 0;
    }
    if (rf->fsm.last.outcome != FO_FSM_APPLIED && rf->on_reject != NULL)
        rf->on_reject(rf, &rf->fsm.last);
    if (rf->on_apply != NULL)
        rf->on_apply(rf, &rf->fsm.last);
    *result = &rf->fsm.last;
    return 0;
}

static int fsm_snapshot(struct raft_fsm *fsm, struct raft_buffer *bufs[], unsigned *n)
{
    struct fo_raft_fsm *rf = fsm->data;
    struct fo_buf out;
    struct raft_buffer *b;

    /* A halted FSM's state is that of an entry before libraft's last_applied: a snapshot
     * would label it with the wrong index and a restart would resume from there,
     * diverged. None is taken (RAFT_BUSY: libraft skips the round), so the log keeps
     * every entry since the last good snapshot and a restart replays them all. */
    if (rf->fsm.halted)
        return RAFT_BUSY;
    if (fo_fsm_snapshot(&rf->fsm, &out) != 0)
        return RAFT_NOMEM;
    /* libraft frees what it is given with raft_free: copy into its heap. */
    b = raft_malloc(sizeof(*b));
    if (b == NULL) {
        fo_buf_free(&out);
        return RAFT_NOMEM;
    }
    b->len = fo_raft_pad(out.len);
    b->base = raft_malloc(b->len);
    if (b->base == NULL) {
        raft_free(b);
        fo_buf_free(&out);
        return RAFT_NOMEM;
    }
    memcpy(b->base, out.data, out.len);
    memset((uint8_t *)b->base + out.len, 0, b->len - out.len);
    fo_buf_free(&out);
    *bufs = b;
    *n = 1;
    return 0;
}

static int fsm_restore(struct raft_fsm *fsm, struct raft_buffer *buf)
{
    struct fo_raft_fsm *rf = fsm->data;
    struct fo_proto_error err;

    if (fo_fsm_restore(&rf->fsm, buf->base, fo_raft_unpad(buf->base, buf->len), &err) != 0) {
        rf->fsm.last.outcome = FO_FSM_INVALID;
        rf->fsm.last.type = FO_CMD_NTYPES;
        strncpy(rf->fsm.last.msg, err.msg, sizeof(rf->fsm.last.msg) - 1);
        rf->fsm.last.msg[sizeof(rf->fsm.last.msg) - 1] = '\0';
        if (rf->on_reject != NULL)
            rf->on_reject(rf, &rf->fsm.last);
        return RAFT_MALFORMED; /* raft frees buf */
    }
    raft_free(buf->base); /* restored: the buffer is ours, and no longer needed */
    return 0;
}

void fo_raft_fsm_init(struct fo_raft_fsm *rf)
{
    memset(rf, 0, sizeof(*rf));
    fo_fsm_init(&rf->fsm);
    rf->raft.version = 2;
    rf->raft.data = rf;
    rf->raft.apply = fsm_apply;
    rf->raft.snapshot = fsm_snapshot;
    rf->raft.restore = fsm_restore;
    rf->raft.snapshot_finalize = NULL; /* raft frees the snapshot buffers itself */
}

void fo_raft_fsm_close(struct fo_raft_fsm *rf)
{
    fo_fsm_close(&rf->fsm);
}
