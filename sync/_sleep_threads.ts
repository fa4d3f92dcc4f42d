/**
 * The threads sleepers sleep on (see `_sleepers.ts`): each makes one futex
 * call at a time, off the JS thread, and reports its raw result. Two kinds
 * implement this:
 *
 * - `_helper_threads.ts`, where the FFI can run a call on another thread
 *   (Deno): each call runs on one of the runtime's helper threads;
 * - `_worker_pool.ts`, where it cannot (Bun): a Worker per sleeper makes
 *   the calls it is posted.
 *
 * @module
 */
import type { SleepCall, SleepResult } from "./_sleep_page.ts";

/** A thread that makes one futex call at a time for one sleeper. */
export interface SleepThread {
  /**
   * Makes `call` off the JS thread. Resolves with its raw result (-1 for
   * any error: the errno stays on the other thread); rejects when the
   * thread failed, and from then on every call does.
   */
  sleep(call: SleepCall): Promise<SleepResult>;
  /** Whether the thread may still read memory a call named (unmapping it then is unsafe). */
  readonly mayRead: boolean;
  /** Ends the thread after a failure. */
  end(): void;
}

/** Starts one thread for a sleeper. */
export type StartThread = () => SleepThread;
