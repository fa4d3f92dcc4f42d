/**
 * Waiting for a semaphore without blocking Ctrl-C: the examples that loop
 * under a lock take it with {@linkcode acquire} and let the event loop run
 * with {@linkcode breathe}, so that SIGINT is handled at once and their
 * clean-up runs.
 *
 * @module
 */
import { setImmediate } from "node:timers";

/** What `acquire` needs of a semaphore (memory-based or named). */
export interface Waitable {
  tryWait(timeoutMs?: number): boolean;
  waitAsync(options?: { timeout?: number; signal?: AbortSignal }): Promise<void>;
}

let lastBreath = performance.now();

/**
 * Lets the event loop run, at most every 10 ms: a loop whose awaits all
 * resolve at once never reaches it, and then Ctrl-C would wait for the end.
 */
export function breathe(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastBreath < 10) return undefined;
  lastBreath = now;
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Takes one unit of `semaphore`: at once when it is free, else by waiting
 * asynchronously, so that Ctrl-C is handled even while another process
 * holds it. Await the result. It never yields to the event loop after
 * taking the unit, so that no signal handler runs while it is held; loops
 * whose waits all succeed at once should `await breathe()` between turns.
 */
export function acquire(semaphore: Waitable, signal: AbortSignal): Promise<void> | undefined {
  if (semaphore.tryWait()) return undefined;
  return semaphore.waitAsync({ signal });
}
