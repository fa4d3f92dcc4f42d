/**
 * Keeps one object's async calls in call order: each starts once the one
 * before it has settled. A call still waiting for its turn fails at once on
 * an abort and at its deadline, as if it had been waiting on the word.
 *
 * @module
 */
import { abortError, type CheckedWait, timeoutError } from "../ffi/internal.ts";
import { monotonicMs, timerDelay } from "./_time.ts";

const settled = () => {};

export class Serial {
  #last: Promise<void> = Promise.resolve();
  #pending = 0;

  /** True when no call is pending: a new one may try synchronously first. */
  get idle(): boolean {
    return this.#pending === 0;
  }

  /**
   * Runs `operation` after the calls before it. `operation` gets the
   * deadline (monotonic ms, `Infinity` for none), counted from now.
   */
  run<T>(
    checked: CheckedWait,
    what: string,
    operation: (deadline: number) => Promise<T>,
  ): Promise<T> {
    const deadline = checked.timeout === Infinity ? Infinity : monotonicMs() + checked.timeout;
    const before = this.#pending === 0 ? undefined : this.#last;
    this.#pending += 1;
    const result = (async () => {
      try {
        if (before !== undefined) await turn(before, checked, what, deadline);
        return await operation(deadline);
      } finally {
        this.#pending -= 1;
      }
    })();
    // The next call waits for this one and for every call before it: one
    // that timed out in line settles early, while those ahead still run.
    this.#last = Promise.allSettled([before, result]).then(settled);
    return result;
  }
}

/** Resolves when `before` settles; rejects on an abort or at `deadline`. */
function turn(
  before: Promise<void>,
  { timeout, signal }: CheckedWait,
  what: string,
  deadline: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => finish(abortError(signal!, what));
    const finish = (error?: Error) => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    if (deadline !== Infinity) {
      const expire = () => {
        const left = deadline - monotonicMs();
        if (left <= 0) finish(timeoutError(what, timeout));
        else timer = setTimeout(expire, timerDelay(left));
      };
      timer = setTimeout(expire, timerDelay(deadline - monotonicMs()));
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    before.then(() => finish());
  });
}
