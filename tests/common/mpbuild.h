/*
 * tests/common/mpbuild.h — build msgpack test inputs from a compact format, so that
 * malformed-input tables stay readable:
 *
 *   M<n> map of n pairs   A<n> array of n   s string   u uint64   i int64 (negative ok)
 *   b bool (int)          n nil            f double   x<hex> raw bytes, e.g. xc1
 *
 * Tokens are separated by spaces; s/u/i/b/f take the next variadic argument.
 */
#ifndef FO_TEST_MPBUILD_H
#define FO_TEST_MPBUILD_H

#include "proto/codec.h"

/* The msgpack bytes (no frame header); out owned by the caller. Aborts on a bad format. */
struct fo_buf mp_build(const char *fmt, ...);

#endif
