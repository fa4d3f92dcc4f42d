/**
 * A memory-based POSIX semaphore: a real `sem_t` made by `sem_init` with
 * `pshared = 1` inside any shared region.
 *
 * @module
 */
import type { UnsafePointer } from "../ffi/_backend.ts";
import { errno, libc, platform } from "../ffi/_libc.ts";
import { ClosedError, ErrnoError } from "../ffi/errors.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { validateInteger } from "../ffi/_validate.ts";
import { futexWake, WAKE_ALL } from "./_futex.ts";
import { checkPlace, checkTimeoutMs, checkWaitOptions, type WaitOptions } from "./_options.ts";
import {
  type SemaphoreAccess,
  semPost,
  semTryWait,
  semValue,
  semWait,
  semWaitAsync,
} from "./_sem_ops.ts";

/**
 * A counting semaphore that lives in shared memory: a real `sem_t` (32
 * bytes, 8-aligned on x86-64 and aarch64) that `sem_init` made
 * process-shared. Every process that maps the same bytes, C programs
 * included, uses the same semaphore through `sem_wait`/`sem_post`.
 *
 * One process creates it with {@linkcode Semaphore.init}; the others call
 * {@linkcode Semaphore.attach} on the same offset.
 *
 * Blocking calls (`wait`, `tryWait` with a timeout) run libc's own
 * `sem_wait`/`sem_timedwait` on the calling thread. `waitAsync` never blocks
 * the event loop: it takes units with `sem_trywait` on the JS thread and
 * sleeps on another thread as a registered waiter, so a `sem_post` from any
 * process wakes it at once.
 *
 * @example A semaphore used as a lock between processes
 * ```ts
 * import { Semaphore, SharedMemory } from "../mod.ts";
 *
 * using shm = SharedMemory.create(`/doc-sem-${Date.now()}`, 4096);
 * const sem = Semaphore.init(shm, 0, 1); // another process: Semaphore.attach(shm, 0)
 * const counter = shm.view(Int32Array, Semaphore.byteLength, 1);
 * sem.wait();
 * try {
 *   counter[0] += 1;
 * } finally {
 *   sem.post();
 * }
 * shm.unlink();
 * ```
 */
export class Semaphore {
  /** Bytes a semaphore occupies: `sizeof(sem_t)`. */
  static readonly byteLength: number = platform.SEM_T_SIZE;
  /** The alignment `byteOffset` needs: `alignof(sem_t)`. */
  static readonly alignment: number = platform.SEM_T_ALIGN;

  readonly #region: SharedRegion;
  readonly #byteOffset: number;
  #pointer: UnsafePointer;
  #words: Int32Array;
  #destroyed = false;
  readonly #access: SemaphoreAccess;

  private constructor(region: SharedRegion, byteOffset: number) {
    this.#region = region;
    this.#byteOffset = byteOffset;
    this.#pointer = region.unsafePointer(byteOffset);
    this.#words = region.view(Int32Array, byteOffset, platform.SEM_T_SIZE / 4);
    const what = `the semaphore at byte ${byteOffset}`;
    this.#access = {
      what,
      use: () => this.#use(),
      words: () => this.#words,
      registered: new Set(),
    };
  }

  /**
   * Makes a new process-shared semaphore (`sem_init(sem, 1, value)`) at
   * `byteOffset` of `region`. Do this once, in one process, before anyone
   * attaches; initializing a semaphore others use corrupts it.
   *
   * @param region Any shared region: `SharedMemory`, `SysVSharedMemory`, `MappedFile`.
   * @param byteOffset A multiple of {@linkcode Semaphore.alignment}.
   * @param value The initial count, 0 to 2147483647. Default 0.
   * @returns The semaphore.
   * @throws {TypeError|RangeError} On a bad region, offset or value.
   * @throws {ClosedError} If the region is closed.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-init-${Date.now()}`, 4096);
   * const slots = Semaphore.init(shm, 0, 3);
   * console.assert(slots.value === 3);
   * shm.unlink();
   * ```
   */
  static init(region: SharedRegion, byteOffset: number, value: number = 0): Semaphore {
    checkPlace(region, byteOffset, platform.SEM_T_SIZE, platform.SEM_T_ALIGN, "semaphore");
    validateInteger(value, "value", 0, platform.SEM_VALUE_MAX);
    const semaphore = new Semaphore(region, byteOffset);
    if (libc.sem_init(semaphore.#pointer, 1, value) !== 0) {
      throw new ErrnoError(errno(), "sem_init", `initialize ${semaphore.#access.what}`);
    }
    return semaphore;
  }

  /**
   * Uses the semaphore that another process (or C program) initialized at
   * `byteOffset` of `region`. Nothing is written.
   *
   * @param region The region holding the semaphore.
   * @param byteOffset Where `init` (or C's `sem_init`) put it.
   * @returns The semaphore.
   * @throws {TypeError|RangeError} On a bad region or offset.
   * @throws {ClosedError} If the region is closed.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * const name = `/doc-sem-attach-${Date.now()}`;
   * using shm = SharedMemory.create(name, 4096);
   * Semaphore.init(shm, 64, 1);
   * // In another process:
   * using same = SharedMemory.open(name);
   * const sem = Semaphore.attach(same, 64);
   * console.assert(sem.tryWait());
   * shm.unlink();
   * ```
   */
  static attach(region: SharedRegion, byteOffset: number): Semaphore {
    checkPlace(region, byteOffset, platform.SEM_T_SIZE, platform.SEM_T_ALIGN, "semaphore");
    return new Semaphore(region, byteOffset);
  }

  // The live sem_t *. A closed region throws; a remapped one (resize) is
  // looked up again, since sem_t holds no addresses and may move.
  #use(): UnsafePointer {
    if (this.#words.length === 0 || this.#region.closed) this.#reattach();
    return this.#pointer;
  }

  #reattach(): void {
    if (this.#destroyed) throw new ClosedError(this.#access.what);
    if (this.#region.closed) throw new ClosedError(`${this.#access.what} (its region)`);
    this.#pointer = this.#region.unsafePointer(this.#byteOffset);
    this.#words = this.#region.view(Int32Array, this.#byteOffset, platform.SEM_T_SIZE / 4);
  }

  /** The region this semaphore lives in. */
  get region(): SharedRegion {
    return this.#region;
  }

  /** Where in the region it lives. */
  get byteOffset(): number {
    return this.#byteOffset;
  }

  /**
   * The current count (`sem_getvalue`). Already stale when it returns if
   * other processes use the semaphore; for display and tests.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-value-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 2);
   * sem.post();
   * console.assert(sem.value === 3);
   * shm.unlink();
   * ```
   */
  get value(): number {
    return semValue(this.#use(), this.#access);
  }

  /**
   * Takes one unit, blocking this thread until one is available
   * (`sem_wait`, retried when a signal interrupts it). Prefer `waitAsync` on
   * a thread that serves other events.
   *
   * @throws {ClosedError} If the semaphore was destroyed or its region closed.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-wait-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 1);
   * sem.wait();
   * console.assert(sem.value === 0);
   * shm.unlink();
   * ```
   */
  wait(): void {
    semWait(this.#use(), this.#access);
  }

  /**
   * Takes one unit if one is free now, or within `timeoutMs` (blocking this
   * thread meanwhile, `sem_timedwait`). Returns false when none came; a
   * false never comes before `timeoutMs` has passed on the monotonic clock.
   *
   * @param timeoutMs Milliseconds to wait at most; 0 (default) does not wait,
   *   `Infinity` waits like `wait()`.
   * @returns Whether a unit was taken.
   * @throws {TypeError|RangeError} On a bad timeout.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-try-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 0);
   * console.assert(sem.tryWait() === false);
   * console.assert(sem.tryWait(20) === false); // after 20 ms at least
   * sem.post();
   * console.assert(sem.tryWait() === true);
   * shm.unlink();
   * ```
   */
  tryWait(timeoutMs: number = 0): boolean {
    checkTimeoutMs(timeoutMs);
    return semTryWait(this.#use(), timeoutMs, this.#access);
  }

  /**
   * Takes one unit without blocking the event loop. Rejects with a
   * `DOMException` named `"TimeoutError"` once `timeout` ms have passed, or
   * `"AbortError"` when `signal` aborts; neither ever takes a unit, so a
   * post that races with them stays for the next waiter.
   *
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @returns Resolves when this caller holds a unit.
   * @throws {TypeError|RangeError} On bad options (as a rejection).
   *
   * @example Waiting for work with a deadline
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-async-${Date.now()}`, 4096);
   * const items = Semaphore.init(shm, 0, 0);
   * setTimeout(() => items.post(), 10); // normally another process
   * await items.waitAsync({ timeout: 5000 });
   * try {
   *   await items.waitAsync({ timeout: 10 });
   * } catch (error) {
   *   console.assert((error as DOMException).name === "TimeoutError");
   * }
   * shm.unlink();
   * ```
   */
  waitAsync(options?: WaitOptions): Promise<void> {
    try {
      return semWaitAsync(this.#access, checkWaitOptions(options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Gives back one unit (`sem_post`), waking one waiter in any process.
   *
   * @throws {ErrnoError} `EOVERFLOW` past 2147483647.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-post-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0);
   * sem.post();
   * console.assert(sem.value === 1);
   * shm.unlink();
   * ```
   */
  post(): void {
    semPost(this.#use(), this.#access);
  }

  /**
   * Destroys the semaphore (`sem_destroy`); this object is unusable after,
   * and so are the others that share it: call it once, when no process uses
   * the semaphore any more. Calling it again does nothing. Pending async
   * waits of this object reject with `ClosedError`.
   *
   * @example
   * ```ts
   * import { ClosedError, Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-destroy-${Date.now()}`, 4096);
   * const sem = Semaphore.init(shm, 0, 1);
   * sem.destroy();
   * try {
   *   sem.post();
   * } catch (error) {
   *   console.assert(error instanceof ClosedError);
   * }
   * shm.unlink();
   * ```
   */
  destroy(): void {
    if (this.#destroyed) return;
    const pointer = this.#use();
    for (const withdraw of this.#access.registered) withdraw();
    this.#destroyed = true;
    this.#words = new Int32Array(0);
    futexWake(pointer, WAKE_ALL);
    if (libc.sem_destroy(pointer) !== 0) {
      throw new ErrnoError(errno(), "sem_destroy", `destroy ${this.#access.what}`);
    }
  }
}
