/**
 * The loop behind every `*Async` wait. The JS thread polls (tries to take the
 * unit, the lock, the value); when that fails it names a futex word and the
 * value it saw, and another thread sleeps until the word changes, someone
 * wakes it, or a slice of time passes; then the JS thread polls again.
 *
 * Everything that changes shared state happens in `poll`, on the JS thread,
 * and never after the wait was given up: an abort or a timeout cannot take a
 * unit that nobody receives.
 *
 * @module
 */
import { abortError, type CheckedWait, timeoutError, type UnsafePointer } from "../ffi/internal.ts";
import { futexWaitAsync, type PendingWait } from "./_offthread.ts";
import { monotonicMs } from "./_time.ts";

/** What `poll` answers when it could not finish: sleep on this word. */
interface Sleep {
  readonly word: UnsafePointer;
  readonly expected: number;
}

/** One waiting operation, driven by `waitLoop`. */
export interface Waiting<T> {
  /** Names the object in messages, e.g. `semaphore "/jobs"`. */
  readonly what: string;
  /**
   * The object whose memory `poll` touches (the primitive, which holds its
   * region or its `sem_open` handle). The loop keeps it reachable until the
   * wait settles: otherwise `f() { return NamedSemaphore.open(n).waitAsync() }`
   * lets a finalizer unmap the memory under the pending wait.
   */
  readonly owner: object;
  /** The longest one sleep lasts before `poll` runs again. */
  readonly sliceMs: number;
  /**
   * Tries once, on the JS thread. `sliceEnded` is true when the previous sleep
   * lasted its whole slice (nobody woke it), and on the only try of a zero
   * timeout. Returns `{ value }` when done.
   */
  poll(sliceEnded: boolean): { value: T } | Sleep;
  /**
   * Called once when the wait ends without a value (timeout, abort, error):
   * withdraws what `poll` registered in shared words. When `watch` ends the
   * wait, it runs at once, while the memory is still mapped.
   */
  abandon(): void;
  /**
   * Arms a way to end the wait from outside, as an abort does (its sleep is
   * cancelled and the wait rejects with `error`): a region about to be
   * unmapped ends the waits on it. Called once, before the first sleep;
   * returns the function that disarms it, called when the wait settles.
   */
  watch?(end: (error: Error) => void): () => void;
}

/** The longest an abort waits for its woken sleeper to return. */
const ABORT_GRACE_MS = 50;

/**
 * Runs `waiting` until it yields a value, times out or is aborted. The
 * deadline is `timeout` after the first failed poll, unless the caller
 * counted it from earlier (`deadline`, monotonic ms: a lockAsync call that
 * waited in line first); `timeout` is what a TimeoutError reports.
 */
export async function waitLoop<T>(
  waiting: Waiting<T>,
  options: CheckedWait & { readonly deadline?: number },
): Promise<T> {
  const { timeout, signal } = options;
  if (signal?.aborted) throw abortError(signal, waiting.what);
  let deadline = options.deadline; // else the clock is read only once a poll failed

  let current: PendingWait | null = null;
  // Set once, by an abort or `watch`: the loop checks it after every sleep,
  // so nothing is polled or slept on once the wait was ended from outside.
  let failure: Error | undefined;
  // Ends the loop's await of the current sleep early.
  let wake: (() => void) | undefined;
  let grace: ReturnType<typeof setTimeout> | undefined;
  let abandoned = false;
  const abandon = () => {
    if (abandoned) return;
    abandoned = true;
    waiting.abandon();
  };
  const stop = (error: Error) => {
    if (failure !== undefined) return;
    failure = error;
    if (current !== null && current.cancel()) {
      // The sleeper was woken: let it return first, so that no call of this
      // wait is in flight once the caller sees the error (Deno.test's op
      // sanitizer checks exactly that). Capped, in case the wake-up came
      // before the sleeper reached the kernel.
      grace = setTimeout(() => wake?.(), ABORT_GRACE_MS);
    } else {
      wake?.(); // its sleeper serves other waits too: do not wait for it
    }
  };
  let disarm: (() => void) | undefined;
  // Armed only before the first sleep: a wait that succeeds at once costs
  // nothing more.
  const arm = () => {
    const onAbort = signal === undefined ? undefined : () => stop(abortError(signal, waiting.what));
    if (onAbort !== undefined) signal!.addEventListener("abort", onAbort, { once: true });
    const unwatch = waiting.watch?.((error) => {
      abandon();
      stop(error);
    });
    disarm = () => {
      if (onAbort !== undefined) signal!.removeEventListener("abort", onAbort);
      unwatch?.();
    };
  };
  try {
    // A zero timeout tries once, and that try looks as hard as one after a
    // quiet slice (the mutex checks whether its holder died).
    let sliceEnded = timeout === 0;
    for (;;) {
      const step = waiting.poll(sliceEnded);
      if ("value" in step) return step.value;
      const now = monotonicMs();
      deadline ??= now + timeout;
      if (now >= deadline) throw timeoutError(waiting.what, timeout);
      const until = Math.min(deadline, now + waiting.sliceMs);
      if (disarm === undefined) arm();
      const sleeping = current = futexWaitAsync(step.word, step.expected, until);
      await new Promise<void>((resolve, reject) => {
        wake = resolve;
        sleeping.done.then(() => resolve(), reject);
      });
      clearTimeout(grace);
      wake = undefined;
      current = null;
      if (failure !== undefined) throw failure;
      sliceEnded = monotonicMs() >= until;
    }
  } catch (error) {
    abandon();
    throw error;
  } finally {
    disarm?.();
    keepAlive(waiting.owner);
  }
}

/**
 * Does nothing, visibly to the engine: a use of `owner` after the last
 * await, so no liveness analysis may drop it while the wait is pending.
 */
function keepAlive(owner: object): void {
  if (owner === keepAlive) throw new Error("unreachable");
}
