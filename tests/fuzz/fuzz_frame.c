/*
 * tests/fuzz/fuzz_frame.c — libFuzzer target for the incremental frame reader.
 *
 * The first byte picks a chunk size (1..32) so that every split of the stream gets
 * explored; the rest is the stream. Every frame that comes out is also decoded as a
 * command, which is what a node does with frames from a Raft peer.
 */
#include <string.h>

#include "proto/command.h"
#include "tests/fuzz/fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fo_frame_reader r;
    size_t chunk;

    if (size < 1)
        return 0;
    chunk = 1 + (data[0] & 31);
    data++;
    size--;
    fo_frame_reader_init(&r, 4096);
    while (size > 0) {
        size_t n = size < chunk ? size : chunk, used;
        struct fo_buf out;
        if (fo_frame_reader_feed(&r, data, n, &used, &out, NULL) != FO_PROTO_OK)
            break;
        if (used == 0 || used > n)
            abort(); /* progress is guaranteed on a healthy stream */
        if (out.data != NULL) {
            if (out.len == 0 || out.len > r.max)
                abort();
            if (!fo_rt_stable(FO_FAM_CMD, out.data, out.len))
                abort();
            fo_buf_free(&out);
        }
        data += used;
        size -= used;
    }
    fo_frame_reader_close(&r);
    return 0;
}
