/**
 * The operations both semaphore kinds share, on a `sem_t *`.
 *
 * Blocking calls are libc's own (`sem_wait`, `sem_timedwait`) on the calling
 * thread. Async waits use libc's `sem_trywait` on the JS thread and sleep off
 * the thread on the semaphore's futex word, registered as a waiter the way
 * glibc's and musl's own waiters are, so that `sem_post` from any process (C
 * included) wakes them:
 *
 * - word 0 of the `sem_t` is the word `sem_post` changes and wakes (glibc's
 *   64-bit `data` keeps the value in its low half, first on little-endian;
 *   musl's `__val[0]` is the value);
 * - word 1 counts waiters, and `sem_post` wakes only when it is non-zero
 *   (glibc: the high half of `data`, nwaiters; musl: `__val[1]`).
 *
 * @module
 */
import type { UnsafePointer } from "../ffi/_backend.ts";
import { errno, libc, platform } from "../ffi/_libc.ts";
import { ErrnoError } from "../ffi/errors.ts";
import { futexWake } from "./_futex.ts";
import type { CheckedWait } from "./_options.ts";
import { monotonicMs, realtimeMs, writeTimespec } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";

const { EAGAIN, EINTR, ETIMEDOUT } = platform;

/**
 * How long an async semaphore wait sleeps before it re-checks on its own.
 * Posts wake it at once; this only bounds how late it notices that its
 * region was closed, and repairs a wake-up lost to a waiter that gave up.
 */
export const SEMAPHORE_SLICE_MS = 500;

/** How a semaphore object gives its operations a live `sem_t *`. */
export interface SemaphoreAccess {
  /** Names the semaphore in messages and errors. */
  readonly what: string;
  /** The object's name, for `ErrnoError.path`. */
  readonly path?: string;
  /** The current `sem_t *`; throws ClosedError when it is gone. */
  use(): UnsafePointer;
  /** The `sem_t` as 32-bit words; call `use()` first. */
  words(): Int32Array;
  /**
   * Pending async waits registered as waiters, by the function that
   * withdraws each; the owner runs them before the `sem_t` goes away.
   */
  readonly registered: Set<() => void>;
}

const timespec = new Uint32Array(4);
const valueCell = new Int32Array(1);

function fail(syscall: string, access: SemaphoreAccess, action: string, code: number): never {
  throw new ErrnoError(code, syscall, `${action} ${access.what}`, access.path);
}

/** sem_wait, retried on EINTR. */
export function semWait(pointer: UnsafePointer, access: SemaphoreAccess): void {
  while (libc.sem_wait(pointer) !== 0) {
    const code = errno();
    if (code !== EINTR) fail("sem_wait", access, "wait on", code);
  }
}

/**
 * sem_trywait, then sem_timedwait until `timeoutMs` has passed on the
 * monotonic clock (a jump of the wall clock that ends sem_timedwait early is
 * waited out).
 */
export function semTryWait(
  pointer: UnsafePointer,
  timeoutMs: number,
  access: SemaphoreAccess,
): boolean {
  if (libc.sem_trywait(pointer) === 0) return true;
  const code = errno();
  if (code !== EAGAIN && code !== EINTR) fail("sem_trywait", access, "wait on", code);
  if (timeoutMs === 0) return false;
  if (timeoutMs === Infinity) {
    semWait(pointer, access);
    return true;
  }
  const deadline = monotonicMs() + timeoutMs;
  for (;;) {
    const remaining = deadline - monotonicMs();
    if (remaining <= 0) return false;
    writeTimespec(timespec, realtimeMs() + remaining);
    if (libc.sem_timedwait(pointer, timespec) === 0) return true;
    const code = errno();
    if (code !== ETIMEDOUT && code !== EINTR) fail("sem_timedwait", access, "wait on", code);
  }
}

/** sem_post. */
export function semPost(pointer: UnsafePointer, access: SemaphoreAccess): void {
  if (libc.sem_post(pointer) !== 0) fail("sem_post", access, "post", errno());
}

/** sem_getvalue (never negative: musl reports waiters as a negative value). */
export function semValue(pointer: UnsafePointer, access: SemaphoreAccess): number {
  if (libc.sem_getvalue(pointer, valueCell) !== 0) {
    fail("sem_getvalue", access, "read the value of", errno());
  }
  return Math.max(0, valueCell[0]);
}

const DONE = { value: undefined };

/** Waits for a unit without blocking the JS thread. */
export function semWaitAsync(access: SemaphoreAccess, options: CheckedWait): Promise<void> {
  let registered = false;
  const unregister = () => {
    if (!registered) return;
    registered = false;
    access.registered.delete(unregister);
    Atomics.sub(access.words(), 1, 1);
  };
  return waitLoop({
    what: access.what,
    sliceMs: SEMAPHORE_SLICE_MS,
    poll() {
      const pointer = access.use();
      for (;;) {
        if (libc.sem_trywait(pointer) === 0) {
          if (registered) unregister();
          return DONE;
        }
        const words = access.words();
        if (!registered) {
          // From now on every sem_post wakes someone on word 0.
          Atomics.add(words, 1, 1);
          registered = true;
          access.registered.add(unregister);
          continue;
        }
        // Sleep while word 0 keeps the value it had while no unit was free;
        // a post after this load changes it, and the sleep ends at once.
        const expected = Atomics.load(words, 0);
        if (semValue(pointer, access) > 0) continue;
        return { word: pointer, expected };
      }
    },
    abandon() {
      if (!registered) return;
      let pointer: UnsafePointer;
      try {
        pointer = access.use();
      } catch {
        return; // closed: nothing left to tidy
      }
      unregister();
      // A post may have woken this waiter just before it gave up; pass the
      // wake-up on so that the unit does not sit while others sleep.
      if (semValue(pointer, access) > 0) futexWake(pointer, 1);
    },
  }, options);
}
