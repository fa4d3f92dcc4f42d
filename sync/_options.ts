/**
 * Argument checks and the errors that end a wait, shared by every primitive.
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
import type { SharedRegion } from "../ffi/region.ts";
import { ClosedError } from "../ffi/errors.ts";
import { checkRegion, describe, validateInteger } from "../ffi/internal.ts";

/**
 * Checks that `byteLength` bytes at `byteOffset`, aligned to `alignment`, fit
 * in `region`, before any system call touches it. Refuses a copy-on-write
 * region, and a read-only one unless the primitive is `readable` there (it
 * has operations that only read, and refuses the others with
 * {@linkcode checkWritable}).
 */
export function checkPlace(
  region: unknown,
  byteOffset: unknown,
  byteLength: number,
  alignment: number,
  what: string,
  readable = false,
): asserts region is SharedRegion {
  checkRegion(region);
  const shared = region;
  if (shared.closed) throw new ClosedError(shared.description);
  // A copy-on-write mapping would keep the primitive's writes to itself; even
  // a futex wait there copies the page (the kernel asks for write access
  // first), so later reads no longer see other processes.
  const access = shared.access;
  if (access === "copy-on-write") {
    throw new TypeError(
      `region is copy-on-write (opened readOnly or private): a ${what} there would not be shared with other processes`,
    );
  }
  if (access === "read-only" && !readable) {
    throw new TypeError(
      `region is read-only (SHM_RDONLY): every use of a ${what} writes to it, which would kill the process`,
    );
  }
  if (typeof byteOffset !== "number") {
    throw new TypeError(`byteOffset must be a number, got ${describe(byteOffset)}`);
  }
  if (shared.size < byteLength) {
    throw new RangeError(
      `region of ${shared.size} bytes is too small for a ${what} (${byteLength} bytes)`,
    );
  }
  validateInteger(byteOffset, "byteOffset", 0, shared.size - byteLength);
  if (byteOffset % alignment !== 0) {
    throw new RangeError(
      `byteOffset must be a multiple of ${alignment} for a ${what}, got ${byteOffset}`,
    );
  }
}

/**
 * Refuses `action` (e.g. `"set"`) on a primitive whose region is read-only:
 * the write would fault the process (SIGSEGV) instead of throwing.
 */
export function checkWritable(
  place: { readonly region: SharedRegion; readonly what: string },
  action: string,
): void {
  if (place.region.access === "read-only") {
    throw new TypeError(
      `Cannot ${action} ${place.what}: the region is read-only (SHM_RDONLY)`,
    );
  }
}
