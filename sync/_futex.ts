/**
 * futex(2) on the calling thread. Words live in shared mappings, so every
 * operation is process-shared (no FUTEX_PRIVATE_FLAG). Waits take an absolute
 * CLOCK_MONOTONIC deadline (FUTEX_WAIT_BITSET), so time spent before the
 * kernel sees the call never lengthens or shortens them.
 *
 * @module
 */
import { errno, libc, platform, type UnsafePointer } from "../ffi/internal.ts";
import { ErrnoError } from "../ffi/errors.ts";
import { writeTimespec } from "./_time.ts";

const { SYS_futex, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_BITSET_MATCH_ANY } =
  platform;

/** Wakes every waiter of a word (INT_MAX). */
export const WAKE_ALL = 0x7fffffff;

/** How a synchronous futex wait ended. */
type WaitEnd = "woken" | "timedOut";

const deadline = new Uint32Array(4);

/**
 * Sleeps while the word at `word` holds `expected`, until woken or until the
 * monotonic `deadlineMs`. A changed value, a signal and a spurious wake-up
 * all count as "woken": callers re-check the word in every case. Always on
 * the shared futex: a private one is keyed to this process, and a wake from
 * another process could never end it.
 *
 * @throws {ErrnoError} If the kernel refuses the wait (e.g. EFAULT).
 */
export function futexWait(
  word: UnsafePointer,
  expected: number,
  deadlineMs: number,
): WaitEnd {
  const forever = deadlineMs === Infinity;
  if (!forever) writeTimespec(deadline, deadlineMs);
  const result = libc.syscall(
    SYS_futex,
    word,
    FUTEX_WAIT_BITSET,
    expected,
    forever ? null : deadline,
    null,
    FUTEX_BITSET_MATCH_ANY,
  );
  if (Number(result) === 0) return "woken";
  const code = errno();
  if (code === platform.ETIMEDOUT) return "timedOut";
  if (code === platform.EAGAIN || code === platform.EINTR) return "woken";
  throw new ErrnoError(code, "futex", "wait on a shared word");
}

/**
 * Wakes up to `count` waiters of the word at `word`, or only those that
 * waited with a bit of `bitset` when one is given. `flags` may add
 * FUTEX_PRIVATE_FLAG, to also reach glibc's sleepers on a `sem_t` made with
 * `pshared = 0`; it is not combined with `bitset` (only shmkit's own
 * sleepers wait with bits). Returns how many it woke (0 on failure).
 */
export function futexWake(
  word: UnsafePointer,
  count: number,
  bitset?: number,
  flags: number = 0,
): number {
  const woken = bitset === undefined
    ? libc.syscall(SYS_futex, word, FUTEX_WAKE | flags, count, null, null, 0)
    : libc.syscall(SYS_futex, word, FUTEX_WAKE_BITSET, count, null, null, bitset);
  return Math.max(0, Number(woken));
}
