/**
 * Futex waits that leave the JS thread free: the basis of every `*Async`
 * wait. The JS thread decides everything (it tries, takes and gives back);
 * another thread only sleeps in the kernel until the word changes, is woken,
 * or a deadline passes. That thread never reads or writes the shared memory
 * itself, so closing a region while a wait sleeps on it cannot fault.
 *
 * Every runtime shares one design (`_sleepers.ts`): a sleeper sleeps in
 * `futex_waitv(2)` on up to 127 words at once, so that many pending waits
 * cost a few threads, all of them armed; without futex_waitv (Linux before
 * 5.16), a sleeper sleeps on one word. Only the thread underneath differs:
 * a helper thread of the runtime per call where its FFI has async calls
 * (`_helper_threads.ts`, Deno), else a Worker per sleeper
 * (`_worker_pool.ts`, Bun).
 *
 * @module
 */
import { backend, errno, libc, libcAsync, platform, type UnsafePointer } from "../ffi/internal.ts";
import { type PendingWait, Sleepers } from "./_sleepers.ts";
import { helperThreadSleepers } from "./_helper_threads.ts";
import { webWorkers, workerSleepers } from "./_worker_pool.ts";

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

let instance: Sleepers | undefined;

function sleepers(): Sleepers {
  if (instance === undefined) {
    const multiplexed = futexWaitvAvailable();
    instance = new Sleepers(
      libcAsync !== null
        ? helperThreadSleepers(libcAsync, multiplexed)
        : workerSleepers(webWorkers, multiplexed),
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
