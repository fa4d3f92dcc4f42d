/**
 * The operations both semaphore kinds share.
 *
 * @module
 */
import type { WaitOptions } from "../ffi/wait_options.ts";
import { checkWaitOptions, validateTimeout } from "../ffi/internal.ts";
import {
  type SemaphoreAccess,
  semPost,
  semTryWait,
  semValue,
  semWait,
  semWaitAsync,
} from "./_sem_ops.ts";

/**
 * What {@linkcode Semaphore} (a `sem_t` in a region) and
 * {@linkcode NamedSemaphore} (`sem_open`) have in common: a counting
 * semaphore's `wait`, `tryWait`, `waitAsync`, `post` and `value`. Code that
 * takes either kind takes a `CountingSemaphore`; users do not extend it.
 *
 * The operations follow glibc's own `sem_t` protocol on the shared bytes
 * (atomics on the count, futex waits on it), so they interoperate exactly
 * with C's `sem_post`/`sem_wait` in any process, but glibc is never handed
 * bytes another process may have scribbled over: a semaphore that is not a
 * valid `sem_t` any more throws {@linkcode CorruptedError} from every
 * operation instead of aborting the process. Blocking calls (`wait`,
 * `tryWait` with a timeout) sleep on the calling thread. `waitAsync` never
 * blocks the event loop: it takes units on the JS thread and sleeps on
 * another thread as a registered waiter, so a post from any process wakes it
 * at once. A pending `waitAsync` keeps its semaphore (and region) alive.
 *
 * @example A helper that works with either kind
 * ```ts
 * import { type CountingSemaphore, NamedSemaphore, Semaphore, SharedMemory } from "../mod.ts";
 *
 * function drain(sem: CountingSemaphore): number {
 *   let taken = 0;
 *   while (sem.tryWait()) taken++;
 *   return taken;
 * }
 * using shm = SharedMemory.create(`/doc-counting-${Date.now()}`, 4096);
 * console.assert(drain(Semaphore.init(shm, 0, 3)) === 3);
 * using named = NamedSemaphore.create(`/doc-counting-named-${Date.now()}`, 2);
 * console.assert(drain(named) === 2 && named instanceof Semaphore === false);
 * named.unlink();
 * shm.unlink();
 * ```
 */
export abstract class CountingSemaphore {
  readonly #access: SemaphoreAccess;

  /**
   * Made only by the subclasses in this folder.
   *
   * @param access How to reach the `sem_t` (an internal object).
   */
  protected constructor(access: object) {
    this.#access = access as SemaphoreAccess;
  }

  /**
   * The current count (what `sem_getvalue` reports). Already stale when it returns if
   * other processes use the semaphore; for display and tests.
   *
   * @throws {ClosedError} Once the semaphore is closed, destroyed, or its
   *   region closed.
   * @throws {CorruptedError} If the shared bytes are no valid `sem_t`.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-value-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 2);
   * sem.post();
   * console.assert(sem.value === 3);
   * shm.unlink();
   * ```
   */
  get value(): number {
    return semValue(this.#access);
  }

  /**
   * Takes one unit, blocking this thread until one is available
   * (as `sem_wait` does). Prefer `waitAsync` on
   * a thread that serves other events.
   *
   * @throws {ClosedError} Once the semaphore is closed, destroyed, or its
   *   region closed.
   * @throws {CorruptedError} If the shared bytes are no valid `sem_t`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.create(`/doc-sem-wait-${Date.now()}`, 1);
   * sem.wait();
   * console.assert(sem.value === 0);
   * sem.unlink();
   * ```
   */
  wait(): void {
    semWait(this.#access);
  }

  /**
   * Takes one unit if one is free now, or within `timeoutMs` (blocking this
   * thread meanwhile, like `sem_timedwait`). Returns false when none came; a
   * false never comes before `timeoutMs` has passed on the monotonic clock.
   *
   * @param timeoutMs Milliseconds to wait at most; 0 (default) does not wait,
   *   `Infinity` waits like `wait()`.
   * @returns Whether a unit was taken.
   * @throws {TypeError|RangeError} On a bad timeout.
   * @throws {ClosedError} Once the semaphore is closed, destroyed, or its
   *   region closed.
   * @throws {CorruptedError} If the shared bytes are no valid `sem_t`.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-try-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 0);
   * console.assert(sem.tryWait() === false);
   * console.assert(sem.tryWait(20) === false); // after 20 ms at least
   * sem.post();
   * console.assert(sem.tryWait() === true);
   * shm.unlink();
   * ```
   */
  tryWait(timeoutMs: number = 0): boolean {
    validateTimeout(timeoutMs, "timeoutMs");
    return semTryWait(this.#access, timeoutMs);
  }

  /**
   * Takes one unit without blocking the event loop. Rejects with a
   * `DOMException` named `"TimeoutError"` once `timeout` ms have passed, or
   * `"AbortError"` when `signal` aborts; neither ever takes a unit, so a
   * post that races with them stays for the next waiter.
   *
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @returns Resolves when this caller holds a unit.
   * @throws {TypeError|RangeError} On bad options (as a rejection).
   * @throws {ClosedError} As a rejection, once the semaphore is closed,
   *   destroyed, or its region closed, also while the wait is pending.
   *   Closing the region ends the wait at once, after withdrawing it from
   *   the `sem_t`'s waiter count, so later posts stay cheap.
   * @throws {CorruptedError} As a rejection, if the shared bytes are (or
   *   become while it waits) no valid `sem_t`.
   *
   * @example Waiting for work with a deadline, or until shutdown
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-async-${Date.now()}`, 4096);
   * const items = Semaphore.init(shm, 0, 0);
   * setTimeout(() => items.post(), 10); // normally another process
   * await items.waitAsync({ timeout: 5000 });
   * const shutdown = new AbortController();
   * const waiting = items.waitAsync({ signal: shutdown.signal });
   * shutdown.abort();
   * await waiting.catch((error) => console.assert(error.name === "AbortError"));
   * shm.unlink();
   * ```
   */
  waitAsync(options?: WaitOptions): Promise<void> {
    try {
      return semWaitAsync(this.#access, checkWaitOptions(options), this);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Gives back one unit (as `sem_post` does), waking one waiter in any process.
   *
   * @throws {ErrnoError} `EOVERFLOW` past 2147483647.
   * @throws {ClosedError} Once the semaphore is closed, destroyed, or its
   *   region closed.
   * @throws {CorruptedError} If the shared bytes are no valid `sem_t`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.create(`/doc-sem-post-${Date.now()}`, 0);
   * sem.post();
   * console.assert(sem.value === 1);
   * sem.unlink();
   * ```
   */
  post(): void {
    semPost(this.#access);
  }
}
