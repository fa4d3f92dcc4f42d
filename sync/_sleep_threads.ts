/**
 * The threads sleepers sleep on (see `_sleepers.ts`): each makes one futex
 * call at a time, off the JS thread, and reports its raw result.
 *
 * - Deno: the call goes through the non-blocking twin of `syscall`, which
 *   runs it on one of Deno's helper threads. Such a call keeps the process
 *   alive exactly while it is in flight, and Deno.test's op sanitizer sees
 *   it only then. The helper's errno is not visible here; sleepers do
 *   without it.
 * - Bun has no off-thread foreign calls: a Worker makes the calls it is
 *   posted (`_waiter_worker.ts`). It is referenced while a call is in
 *   flight and unreferenced between calls, so that it never keeps the
 *   process alive once no wait is pending.
 *
 * @module
 */
import type { LibcAsyncFunctions } from "../ffi/_backend.ts";
import { type SleepCall, type SleepResult, syscallArguments } from "./_sleep_page.ts";

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

/** Deno: each call runs on a helper thread of Deno's blocking pool. */
export function helperThreads(libcAsync: LibcAsyncFunctions): StartThread {
  return () => {
    // Stays referenced by this closure until the call has returned.
    const timeout = new Uint32Array(4);
    let used = false;
    return {
      get mayRead() {
        return used;
      },
      sleep(call) {
        used = true;
        return libcAsync.syscall(...syscallArguments(call, timeout)).then(Number);
      },
      end() {},
    };
  };
}

interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener?(type: "close", listener: () => void): void;
  ref?(): void;
  unref?(): void;
}

/** Bun: one Worker per sleeper, parked in its event loop between calls. */
export const workerThreads: StartThread = () => {
  let worker: WorkerLike | undefined;
  let ready = false;
  let posted = false;
  let queued: SleepCall | undefined;
  let pending: { resolve(result: SleepResult): void; reject(error: Error): void } | undefined;
  let failure: Error | undefined;

  const fail = (error: Error) => {
    if (failure !== undefined) return;
    failure = error;
    if (worker !== undefined) {
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    }
    const waiting = pending;
    pending = undefined;
    waiting?.reject(error);
  };
  const post = (call: SleepCall) => {
    posted = true;
    worker!.postMessage(call);
  };

  try {
    const url = new URL("./_waiter_worker.ts", import.meta.url).href;
    worker = new Worker(url, { type: "module" }) as unknown as WorkerLike;
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    failure = new Error(`Cannot start the worker that serves async waits: ${message}`);
  }
  if (worker !== undefined) {
    const started = worker;
    started.unref?.();
    started.onmessage = (event: MessageEvent) => {
      if (event.data === "ready") {
        ready = true;
        const call = queued;
        queued = undefined;
        if (call !== undefined) post(call);
        return;
      }
      const waiting = pending;
      pending = undefined;
      started.unref?.();
      waiting?.resolve(event.data as SleepResult);
    };
    started.onerror = (event: Event) => {
      // Throwing here would end the process (an uncaught error) and leave
      // the waits hanging past their timeouts: reject them instead.
      event.preventDefault?.();
      const message = (event as ErrorEvent).message ?? "unknown error";
      fail(new Error(`The worker that serves async waits failed: ${message}`));
    };
    started.addEventListener?.("close", () => {
      fail(new Error("The worker that serves async waits ended"));
    });
  }

  return {
    get mayRead() {
      // A terminated worker may still be inside a call that named the page.
      return posted;
    },
    sleep(call) {
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<SleepResult>((resolve, reject) => {
        pending = { resolve, reject };
        worker!.ref?.();
        if (ready) post(call);
        else queued = call;
      });
    },
    end() {
      fail(new Error("The worker that serves async waits was ended"));
    },
  };
};
