/**
 * Futex waits that leave the JS thread free: the basis of every `*Async`
 * wait. The JS thread decides everything (it tries, takes and gives back);
 * another thread only sleeps in the kernel until the word changes, is woken,
 * or a deadline passes. That thread never reads or writes the shared memory
 * itself, so closing a region while a wait sleeps on it cannot fault.
 *
 * Both runtimes share one design (`_sleepers.ts`): a sleeper sleeps in
 * `futex_waitv(2)` on up to 127 words at once, so that many pending waits
 * cost a few threads, all of them armed; without futex_waitv (Linux before
 * 5.16), a sleeper sleeps on one word. Only the thread underneath differs
 * (`_sleep_threads.ts`): a helper thread of Deno's blocking pool per call,
 * or a Bun Worker per sleeper.
 *
 * @module
 */
import type { UnsafePointer } from "../ffi/_backend.ts";
import { backend, errno, libc, libcAsync, platform } from "../ffi/_libc.ts";
import { type PendingWait, Sleepers } from "./_sleepers.ts";
import { helperThreads, workerThreads } from "./_sleep_threads.ts";

export type { PendingWait };

/**
 * Sleeps off the JS thread while the 32-bit word at `word` holds `expected`,
 * until woken or until the monotonic `deadlineMs` (finite).
 */
export function futexWaitAsync(
  word: UnsafePointer,
  expected: number,
  deadlineMs: number,
): PendingWait {
  // Waits for the same word and value share one sleep, so that ten waiters
  // on one semaphore take one word of a sleeper and cause one wake-up per
  // slice, not ten. A waiter joins a sleep that ends no later than its own
  // deadline (an early return only makes it poll again).
  const address = backend.address(word);
  let byValue = shared.get(address);
  const existing = byValue?.get(expected);
  if (existing !== undefined && existing.deadlineMs <= deadlineMs) {
    existing.joined += 1;
    return existing.join();
  }
  const sleep = sleepers().wait(word, address, expected, deadlineMs);
  const entry: Shared = {
    deadlineMs,
    joined: 1,
    join: () => {
      let left = false;
      return {
        done: sleep.done,
        cancel: () => {
          if (left) return false;
          left = true;
          entry.joined -= 1;
          return entry.joined === 0 && sleep.cancel();
        },
      };
    },
  };
  if (byValue === undefined) {
    byValue = new Map();
    shared.set(address, byValue);
  }
  byValue.set(expected, entry);
  const forget = () => {
    const current = shared.get(address);
    if (current?.get(expected) !== entry) return;
    current.delete(expected);
    if (current.size === 0) shared.delete(address);
  };
  sleep.done.then(forget, forget);
  return entry.join();
}

interface Shared {
  readonly deadlineMs: number;
  joined: number;
  join(): PendingWait;
}

/** Sleeps in flight, by address and expected value. */
const shared = new Map<bigint, Map<number, Shared>>();

/**
 * The most sleepers at once. Deno's helper threads also serve file I/O, and
 * a call holds one for as long as it sleeps: 16 leave most of them to I/O
 * and, with futex_waitv, still arm 2,032 words. Bun's Workers serve only
 * waits; without futex_waitv each holds one word, so there are more.
 */
const MAX_SLEEPERS = 16;
const MAX_SOLO_WORKERS = 64;

let instance: Sleepers | undefined;

function sleepers(): Sleepers {
  if (instance === undefined) {
    const multiplexed = futexWaitvAvailable();
    instance = new Sleepers(
      libcAsync !== null
        ? { multiplexed, maxSleepers: MAX_SLEEPERS, startThread: helperThreads(libcAsync) }
        : {
          multiplexed,
          maxSleepers: multiplexed ? MAX_SLEEPERS : MAX_SOLO_WORKERS,
          startThread: workerThreads,
        },
    );
  }
  return instance;
}

let probed: boolean | undefined;
let forced: boolean | undefined;

/** Whether this kernel has futex_waitv (probed once). */
function futexWaitvAvailable(): boolean {
  if (forced !== undefined) return forced;
  if (probed === undefined) {
    // No entries is EINVAL where the call exists, ENOSYS where it does not.
    const result = libc.syscall(platform.SYS_futex_waitv, null, 0, 0, null, null, 0);
    probed = !(Number(result) === -1 && errno() === platform.ENOSYS);
  }
  return probed;
}

/**
 * For tests: choose the design before the first async wait (`true`:
 * futex_waitv, `false`: one word per sleeper, as on kernels without it,
 * `undefined`: probe the kernel).
 */
export function _forceMultiplexing(value: boolean | undefined): void {
  forced = value;
}
