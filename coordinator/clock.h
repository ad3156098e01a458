/*
 * coordinator/clock.h — the wall clock, in one place.
 *
 * Wall-clock milliseconds since the epoch (CLOCK_REALTIME) are for people: stamps in
 * committed commands, reports, "ago" columns. They jump when the clock is set, so nothing
 * that must be correct (the FSM's order, timeouts, deadlines) may depend on them; those use
 * the log order or CLOCK_MONOTONIC (fo_action_now_ms, libuv timers).
 *
 * Pure read of the clock: any thread.
 */
#ifndef FO_COORDINATOR_CLOCK_H
#define FO_COORDINATOR_CLOCK_H

#include <stdint.h>

/* Milliseconds since 1970-01-01 UTC, from CLOCK_REALTIME. */
uint64_t fo_clock_wall_ms(void);

#endif
