/**
 * The options every asynchronous wait takes, in `ffi/` (message queues) and
 * `sync/` (semaphores, mutexes, flags) alike.
 *
 * @module
 */

/**
 * Options of every `*Async` wait: `waitAsync`, `lockAsync`, `waitForAsync`, and
 * `MessageQueue`'s `receiveAsync` and `sendAsync`.
 *
 * @example Give up after a second, or when the program shuts down
 * ```ts
 * import { Semaphore, SharedMemory } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-wait-options-${Date.now()}`, 4096);
 * const jobs = Semaphore.init(shm, 0, 0);
 * const shutdown = new AbortController();
 * try {
 *   await jobs.waitAsync({ timeout: 20, signal: shutdown.signal });
 * } catch (error) {
 *   const name = (error as DOMException).name; // "TimeoutError" or "AbortError"
 *   console.assert(name === "TimeoutError");
 * }
 * shm.unlink();
 * ```
 */
export interface WaitOptions {
  /**
   * Milliseconds to wait at most; `Infinity` (the default) waits until
   * success or abort. The promise rejects with a `DOMException` named
   * `"TimeoutError"` no earlier than this.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-wait-timeout-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0);
   * const started = performance.now();
   * await flag.waitForAsync(1, { timeout: 20 }).catch((error) => {
   *   console.assert(error.name === "TimeoutError" && performance.now() - started >= 20);
   * });
   * shm.unlink();
   * ```
   */
  timeout?: number;
  /**
   * Aborting rejects the wait with a `DOMException` named `"AbortError"`
   * (`"TimeoutError"` for a signal made by `AbortSignal.timeout()`).
   *
   * @example Stop waiting when the program shuts down
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-wait-signal-${Date.now()}`, 4096);
   * const jobs = Semaphore.init(shm, 0, 0);
   * const shutdown = new AbortController();
   * const waiting = jobs.waitAsync({ signal: shutdown.signal });
   * shutdown.abort();
   * await waiting.catch((error) => console.assert(error.name === "AbortError"));
   * console.assert(jobs.value === 0); // an aborted wait takes nothing
   * shm.unlink();
   * ```
   */
  signal?: AbortSignal;
}
