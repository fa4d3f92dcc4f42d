/**
 * Sleeping threads for runtimes whose FFI has no off-thread calls (Bun): a
 * Worker per sleeper, parked in its event loop between calls, makes each
 * futex call it is posted (`futex_waitv` on all of the sleeper's words, or
 * one plain wait) and posts back the raw result. The sleepers keep their
 * Workers, idle, for later waits, so together they are a pool.
 *
 * Nothing here depends on which kind of Worker it is: the pool takes a
 * `SpawnWorker`, which starts one and reports its events, and the Worker's
 * module hands `serveSleepCalls` its end of the channel. `webWorkers` (the
 * global `Worker`, with `_waiter_worker.ts`) is the one there is today; a
 * runtime with another kind adds a spawner and an entry module beside it.
 *
 * A Worker is referenced while a call is in flight and unreferenced between
 * calls, so that it never keeps the process alive once no wait is pending.
 * It reads and writes no memory itself (the kernel reads the sleeper's page
 * when the call starts), so a region closed meanwhile cannot fault it.
 *
 * @module
 */
import { libc } from "../ffi/internal.ts";
import { type SleepCall, type SleepResult, syscallArguments } from "./_sleep_page.ts";
import type { SleepersOptions } from "./_sleepers.ts";
import type { StartThread } from "./_sleep_threads.ts";

/** A started Worker, as the pool drives it. */
interface SleepWorker {
  postMessage(call: SleepCall): void;
  /** Lets the Worker keep the process alive (a no-op where it cannot be told). */
  ref(): void;
  /** Lets the process end although the Worker lives (likewise). */
  unref(): void;
  /** Ends the Worker; no event is reported after this. */
  terminate(): void;
}

/** What a Worker reports; each spawner maps its runtime's events onto these. */
interface SleepWorkerEvents {
  /** A message the Worker's module posted through `serveSleepCalls`. */
  message(data: unknown): void;
  /** An uncaught error in the Worker. */
  failed(message: string): void;
  /** The Worker ended by itself. */
  ended(): void;
}

/** Starts a Worker running `serveSleepCalls`; throws if it cannot. */
type SpawnWorker = (events: SleepWorkerEvents) => SleepWorker;

/** The Worker's end of its channel to the JS thread. */
interface SleepPort {
  listen(listener: (call: SleepCall) => void): void;
  post(message: SleepResult | typeof READY): void;
}

// Runtimes may drop messages that arrive before the Worker's module has run
// (Bun does, its imports awaiting), so the JS thread posts the first call
// only after this.
const READY = "ready";

/** Runs in the Worker: makes each call posted through `port` and posts back its raw result. */
export function serveSleepCalls(port: SleepPort): void {
  const timeout = new Uint32Array(4);
  port.listen((call) => port.post(Number(libc.syscall(...syscallArguments(call, timeout)))));
  port.post(READY);
}

/**
 * With futex_waitv, 16 Workers arm 2,032 words. Workers serve only waits,
 * so without it, where each holds one word, there can be more of them.
 */
const MAX_SLEEPERS = 16;
const MAX_SOLO_WORKERS = 64;

/** Sleepers that each sleep on a Worker started by `spawn`. */
export function workerSleepers(spawn: SpawnWorker, multiplexed: boolean): SleepersOptions {
  return {
    multiplexed,
    maxSleepers: multiplexed ? MAX_SLEEPERS : MAX_SOLO_WORKERS,
    startThread: workerThreads(spawn),
  };
}

function workerThreads(spawn: SpawnWorker): StartThread {
  return () => {
    let worker: SleepWorker | undefined;
    let ready = false;
    let posted = false;
    let queued: SleepCall | undefined;
    let pending: { resolve(result: SleepResult): void; reject(error: Error): void } | undefined;
    let failure: Error | undefined;

    const fail = (error: Error) => {
      if (failure !== undefined) return;
      failure = error;
      worker?.terminate();
      const waiting = pending;
      pending = undefined;
      waiting?.reject(error);
    };
    const post = (call: SleepCall) => {
      posted = true;
      worker!.postMessage(call);
    };

    try {
      worker = spawn({
        message(data) {
          if (failure !== undefined) return;
          if (data === READY) {
            ready = true;
            const call = queued;
            queued = undefined;
            if (call !== undefined) post(call);
            return;
          }
          const waiting = pending;
          pending = undefined;
          worker!.unref();
          waiting?.resolve(data as SleepResult);
        },
        failed(message) {
          fail(new Error(`The worker that serves async waits failed: ${message}`));
        },
        ended() {
          fail(new Error("The worker that serves async waits ended"));
        },
      });
      worker.unref();
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      failure = new Error(`Cannot start the worker that serves async waits: ${message}`);
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
          worker!.ref();
          if (ready) post(call);
          else queued = call;
        });
      },
      end() {
        fail(new Error("The worker that serves async waits was ended"));
      },
    };
  };
}

/** Only what the pool uses of a web `Worker` (Bun's has `ref`/`unref` besides). */
interface WebWorker {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener?(type: "close", listener: () => void): void;
  ref?(): void;
  unref?(): void;
}

/** Spawns the global `Worker` on `_waiter_worker.ts`, a module URL beside this file. */
export const webWorkers: SpawnWorker = (events) => {
  const url = new URL("./_waiter_worker.ts", import.meta.url).href;
  const worker = new Worker(url, { type: "module" }) as unknown as WebWorker;
  worker.onmessage = (event) => events.message(event.data);
  worker.onerror = (event) => {
    // Throwing here would end the process (an uncaught error) and leave the
    // waits hanging past their timeouts: report it instead.
    event.preventDefault?.();
    events.failed((event as ErrorEvent).message ?? "unknown error");
  };
  worker.addEventListener?.("close", () => events.ended());
  return {
    postMessage: (call) => worker.postMessage(call),
    ref: () => worker.ref?.(),
    unref: () => worker.unref?.(),
    terminate: () => {
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    },
  };
};
