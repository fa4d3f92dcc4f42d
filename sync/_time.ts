/**
 * Clocks for timeouts. Deadlines are CLOCK_MONOTONIC milliseconds, the clock
 * futex waits take, so a deadline computed here can be handed to the kernel
 * as is.
 *
 * @module
 */
import { libc, platform } from "../ffi/internal.ts";

const cell = new Uint32Array(4);

function read(clock: number): number {
  libc.clock_gettime(clock, cell);
  return (cell[0] + cell[1] * 0x1_0000_0000) * 1000 + cell[2] / 1e6;
}

/** CLOCK_MONOTONIC in milliseconds (fractional). */
export function monotonicMs(): number {
  return read(platform.CLOCK_MONOTONIC);
}

/**
 * The latest deadline written as is (about 285,000 years): later ones, up to
 * `Infinity`, are written as this one. Beyond it `tv_sec` would no longer fit
 * in 64 bits; wrapped, it read as a time already past, and a timed wait
 * returned at once, over and over.
 */
const LATEST_MS = Number.MAX_SAFE_INTEGER;

/**
 * Writes `ms` as a `struct timespec` (LP64: two 64-bit fields) into `out`,
 * rounding up to the next nanosecond so that a wait never ends early.
 */
export function writeTimespec(out: Uint32Array, ms: number): void {
  if (!(ms <= LATEST_MS)) ms = LATEST_MS;
  let seconds = Math.floor(ms / 1000);
  let nanos = Math.ceil((ms - seconds * 1000) * 1e6);
  if (nanos >= 1e9) {
    seconds += 1;
    nanos -= 1e9;
  }
  out[0] = seconds % 0x1_0000_0000;
  out[1] = Math.floor(seconds / 0x1_0000_0000);
  out[2] = nanos;
  out[3] = 0;
}

/**
 * The longest delay setTimeout keeps (2^31 - 1 ms, about 24.8 days): both
 * runtimes turn a longer one into 1 ms, and a timer re-armed for a far
 * deadline would then fire every millisecond. Callers look at the clock
 * when it fires and arm again, so a far deadline costs one timer in 24 days.
 */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** `ms` (rounded up, at least 0) as a delay setTimeout honours. */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(0, Math.ceil(ms)), LONGEST_TIMER_MS);
}
