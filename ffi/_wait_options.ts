/**
 * The `{ timeout, signal }` options of every async wait, and the errors that
 * end one: used by `sync/` (semaphores, mutexes, flags) and by
 * `MessageQueue`, so that all of them check and reject alike.
 *
 * Waits end in two ways besides success, and both reject with a
 * `DOMException`, the error type both runtimes and the web platform already
 * use for them:
 * - `name === "TimeoutError"` when the `timeout` passes;
 * - `name === "AbortError"` when the `signal` aborts: the signal's reason
 *   itself when it is a `DOMException` (what `abort()` gives), else a new
 *   AbortError whose `cause` is the reason. The one exception follows the web
 *   platform: a signal from `AbortSignal.timeout()` has a "TimeoutError"
 *   reason, and that is what the wait rejects with.
 *
 * @module
 */
import { describe, validateOptions } from "./_validate.ts";

/** Checked `{ timeout, signal }` options: `timeout` is `Infinity` when none was given. */
export interface CheckedWait {
  timeout: number;
  signal: AbortSignal | undefined;
}

/** Checks a timeout in milliseconds: a number >= 0, `Infinity` allowed. */
export function validateTimeout(value: unknown, argument: string): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${argument} must be a number of milliseconds, got ${describe(value)}`);
  }
  if (Number.isNaN(value) || value < 0) {
    throw new RangeError(`${argument} must be 0 or more milliseconds, got ${value}`);
  }
}

/** Checks and defaults the `timeout` and `signal` of an `*Async` wait's options. */
export function checkWaitOptions(options: unknown): CheckedWait {
  validateOptions(options);
  const given = options as { timeout?: unknown; signal?: unknown } | undefined;
  // Only a missing timeout means "no limit": null is refused like any other
  // value that is no number, as tryWait(null) refuses it.
  const timeout: unknown = given?.timeout === undefined ? Infinity : given.timeout;
  validateTimeout(timeout, "options.timeout");
  const signal: unknown = given?.signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`options.signal must be an AbortSignal, got ${describe(signal)}`);
  }
  return { timeout, signal };
}

/** The rejection of a wait whose timeout passed. */
export function timeoutError(what: string, timeout: number): DOMException {
  return new DOMException(`Timed out after ${timeout} ms waiting for ${what}`, "TimeoutError");
}

/** The rejection of a wait whose signal aborted. */
export function abortError(signal: AbortSignal, what: string): DOMException {
  const reason: unknown = signal.reason;
  if (
    reason instanceof DOMException &&
    (reason.name === "AbortError" || reason.name === "TimeoutError")
  ) return reason;
  const error = new DOMException(`The wait for ${what} was aborted`, "AbortError");
  Object.defineProperty(error, "cause", { value: reason, configurable: true, writable: true });
  return error;
}
