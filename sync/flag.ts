/**
 * A 32-bit flag in shared memory that processes wait on: the
 * `written_by_you` handshake, without polling.
 *
 * @module
 */
import type { WaitOptions } from "../ffi/wait_options.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { checkWaitOptions, validateInteger, validateTimeout } from "../ffi/internal.ts";
import { futexWait, futexWake, WAKE_ALL } from "./_futex.ts";
import { checkWritable } from "./_options.ts";
import { Place } from "./_place.ts";
import { monotonicMs } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";

/**
 * How long a waiter sleeps before it looks at the word again on its own.
 * `set()` wakes waiters at once; this bounds how late a writer that only
 * stores the int (a C program doing `shared->written_by_you = 1;`) is seen.
 */
const NOTICE_MS = 50;

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;

/**
 * A plain C `int` at a fixed offset of a shared region, like `int
 * written_by_you` in the classic `struct shared_use_st`, that processes
 * wait on without spinning.
 *
 * `set(v)` stores `v` and wakes every waiter (`futex(FUTEX_WAKE)`).
 * `waitFor(v)` sleeps in the kernel (`futex(FUTEX_WAIT)`) until the word
 * holds `v`. Because the word is only an `int`, a C program that just
 * assigns it (no wake-up) is fine too: waiters also look again every
 * {@linkcode Flag.noticeMs} ms, so such a store is noticed within that
 * delay (plus scheduling). C code that wants instant wake-ups calls
 * `syscall(SYS_futex, &flag, FUTEX_WAKE, INT_MAX, 0, 0, 0)` after storing.
 *
 * @example The shared_use_st handshake
 * ```ts
 * import { Flag, SharedMemory } from "../mod.ts";
 *
 * using shm = SharedMemory.create(`/doc-flag-${Date.now()}`, 4096);
 * const writtenByYou = Flag.init(shm, 0); // offset 0, like the C struct
 * const text = shm.view(Uint8Array, 4, 2048);
 *
 * // Writer (usually another process): wait until the reader is done, write, raise.
 * await writtenByYou.waitForAsync(0, { timeout: 1000 });
 * text.set(new TextEncoder().encode("hello\0"));
 * writtenByYou.set(1);
 *
 * // Reader: wait for the flag, read, hand the buffer back.
 * await writtenByYou.waitForAsync(1);
 * writtenByYou.set(0);
 * shm.unlink();
 * ```
 */
export class Flag {
  /**
   * Bytes a flag occupies: one `int`.
   *
   * @example Two flags side by side
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-bytes-${Date.now()}`, 4096);
   * const ready = Flag.init(shm, 0);
   * const done = Flag.init(shm, Flag.byteLength);
   * console.assert(done.byteOffset === 4 && ready.value === 0);
   * shm.unlink();
   * ```
   */
  static readonly byteLength: number = 4;
  /**
   * The alignment `byteOffset` needs.
   *
   * @example
   * ```ts
   * import { Flag } from "../mod.ts";
   * const offset = 13;
   * const aligned = Math.ceil(offset / Flag.alignment) * Flag.alignment;
   * console.assert(aligned === 16);
   * ```
   */
  static readonly alignment: number = 4;
  /**
   * The longest a plain store (without a wake-up) goes unnoticed, in ms.
   *
   * @example Waiting for a C program that only stores the int
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-notice-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0);
   * setTimeout(() => (shm.view(Int32Array)[0] = 1), 5); // a store, no wake-up
   * await flag.waitForAsync(1, { timeout: 1000 + Flag.noticeMs });
   * shm.unlink();
   * ```
   */
  static readonly noticeMs: number = NOTICE_MS;

  readonly #place: Place;

  private constructor(region: SharedRegion, byteOffset: number) {
    this.#place = new Place(region, byteOffset, Flag.byteLength, Flag.alignment, "flag", true);
  }

  /**
   * Stores `value` (default 0) at `byteOffset` of `region`, waking anyone
   * already waiting there, and returns the flag.
   *
   * @param region Any shared region.
   * @param byteOffset A multiple of 4.
   * @param value A 32-bit signed integer. Default 0.
   * @throws {TypeError|RangeError} On a bad region, offset or value.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-init-${Date.now()}`, 4096);
   * const ready = Flag.init(shm, 8, 0);
   * console.assert(ready.value === 0);
   * shm.unlink();
   * ```
   */
  static init(region: SharedRegion, byteOffset: number, value: number = 0): Flag {
    const flag = new Flag(region, byteOffset);
    flag.set(value);
    return flag;
  }

  /**
   * Uses the flag at `byteOffset` of `region` as it is (any `int` there,
   * written by us or by C). On a read-only region (System V SHM_RDONLY) it
   * can be read and waited on; `set` throws TypeError there.
   *
   * @param region The region holding the flag.
   * @param byteOffset A multiple of 4.
   * @throws {TypeError|RangeError} On a bad region or offset.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-attach-${Date.now()}`, 4096);
   * shm.view(Int32Array)[0] = 7; // e.g. a C program's plain store
   * console.assert(Flag.attach(shm, 0).value === 7);
   * shm.unlink();
   * ```
   */
  static attach(region: SharedRegion, byteOffset: number): Flag {
    return new Flag(region, byteOffset);
  }

  /**
   * The region this flag lives in.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-region-${Date.now()}`, 4096);
   * console.assert(Flag.init(shm, 8).region === shm);
   * shm.unlink();
   * ```
   */
  get region(): SharedRegion {
    return this.#place.region;
  }

  /**
   * Where in the region it lives.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-offset-${Date.now()}`, 4096);
   * console.assert(Flag.init(shm, 8).byteOffset === 8);
   * shm.unlink();
   * ```
   */
  get byteOffset(): number {
    return this.#place.byteOffset;
  }

  /**
   * The word's current value (an atomic load).
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-value-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0, 3);
   * console.assert(flag.value === 3);
   * shm.unlink();
   * ```
   */
  get value(): number {
    return Atomics.load(this.#place.words(), 0);
  }

  /**
   * Stores `value` and wakes every process and thread waiting on the flag.
   *
   * @param value A 32-bit signed integer.
   * @throws {TypeError|RangeError} If `value` is not one, or (TypeError) the region is read-only.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-set-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0);
   * flag.set(1);
   * console.assert(flag.waitFor(1, 0));
   * shm.unlink();
   * ```
   */
  set(value: number): void {
    checkWritable(this.#place, "set");
    validateInteger(value, "value", INT32_MIN, INT32_MAX);
    Atomics.store(this.#place.words(), 0, value);
    futexWake(this.#place.pointer, WAKE_ALL);
  }

  /**
   * Blocks this thread until the flag holds `value`, or `timeoutMs` passes.
   *
   * A waiter sees the values the flag holds when it looks: a value set and
   * replaced again before the waiter ran can be missed. To count events,
   * use a {@linkcode Semaphore}.
   *
   * @param value The value to wait for.
   * @param timeoutMs Milliseconds at most; default `Infinity`. 0 only checks.
   * @returns True when the flag holds `value`; false on timeout, which never
   *   comes before `timeoutMs` has passed on the monotonic clock.
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-wait-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0, 0);
   * console.assert(flag.waitFor(0));
   * console.assert(!flag.waitFor(1, 15));
   * shm.unlink();
   * ```
   */
  waitFor(value: number, timeoutMs: number = Infinity): boolean {
    validateInteger(value, "value", INT32_MIN, INT32_MAX);
    validateTimeout(timeoutMs, "timeoutMs");
    let deadline: number | undefined; // read the clock only once a look failed
    for (;;) {
      const seen = Atomics.load(this.#place.words(), 0);
      if (seen === value) return true;
      const now = monotonicMs();
      deadline ??= now + timeoutMs;
      if (now >= deadline) return false;
      futexWait(this.#place.pointer, seen, Math.min(deadline, now + NOTICE_MS));
    }
  }

  /**
   * Waits until the flag holds `value` without blocking the event loop.
   * Rejects with a `DOMException` named `"TimeoutError"` after `timeout` ms or
   * `"AbortError"` when `signal` aborts.
   *
   * @param value The value to wait for.
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @throws {TypeError|RangeError} On a bad value or options (as a rejection).
   * @throws {ClosedError} As a rejection once the region is closed, also
   *   while the wait is pending (closing it ends the wait at once).
   *
   * @example
   * ```ts
   * import { Flag, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-flag-async-${Date.now()}`, 4096);
   * const flag = Flag.init(shm, 0);
   * setTimeout(() => flag.set(2), 5);
   * await flag.waitForAsync(2, { timeout: 5000 });
   * shm.unlink();
   * ```
   */
  waitForAsync(value: number, options?: WaitOptions): Promise<void> {
    try {
      validateInteger(value, "value", INT32_MIN, INT32_MAX);
      const checked = checkWaitOptions(options);
      return waitLoop({
        what: this.#place.what,
        owner: this,
        sliceMs: NOTICE_MS,
        poll: () => {
          const seen = Atomics.load(this.#place.words(), 0);
          return seen === value ? DONE : { word: this.#place.pointer, expected: seen };
        },
        abandon: () => {},
        watch: (end) => this.#place.onRelease(end),
      }, checked);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

const DONE = { value: undefined };
