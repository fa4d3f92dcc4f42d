/**
 * A robust, error-checking, process-shared mutex on a futex word.
 *
 * @module
 */
import { platform } from "../ffi/_libc.ts";
import { ErrnoError } from "../ffi/errors.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { futexWait, futexWake } from "./_futex.ts";
import { checkTimeoutMs, checkWaitOptions, type WaitOptions } from "./_options.ts";
import { Place } from "./_place.ts";
import { holderAlive, ID_MASK, threadIdentity, WAITERS } from "./_thread.ts";
import { monotonicMs } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";

/**
 * How long a contended locker sleeps before it looks again on its own, and
 * so how late it notices that the holder died (unlock wakes it at once).
 */
const LIVENESS_MS = 100;

/** How long a "holder is alive" answer is trusted by `tryLock()`. */
const ALIVE_CACHE_MS = 10;

// Module-private bridges between the two classes' private state.
let makeGuard: (mutex: Mutex, ownerDied: boolean) => MutexGuard;
let isCurrent: (mutex: Mutex, guard: MutexGuard) => boolean;

/**
 * Proof of holding a {@linkcode Mutex}; `using` releases it at the end of
 * the block.
 *
 * @example
 * ```ts
 * import { Mutex, SharedMemory } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-guard-${Date.now()}`, 4096);
 * const mutex = Mutex.init(shm, 0);
 * {
 *   using guard = mutex.lock();
 *   if (guard.ownerDied) {
 *     // the last holder was killed while holding it: repair the data
 *   }
 * } // unlocked here
 * shm.unlink();
 * ```
 */
export class MutexGuard implements Disposable {
  readonly #mutex: Mutex;
  readonly #ownerDied: boolean;

  private constructor(mutex: Mutex, ownerDied: boolean) {
    this.#mutex = mutex;
    this.#ownerDied = ownerDied;
  }

  static {
    makeGuard = (mutex, ownerDied) => new MutexGuard(mutex, ownerDied);
  }

  /**
   * True when the previous holder died while holding the lock (its process
   * was killed, or its Worker ended). What it protected may be half-updated:
   * check or repair it before relying on it. The lock itself is fine.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-guard-died-${Date.now()}`, 4096);
   * using guard = Mutex.init(shm, 0).lock();
   * console.assert(guard.ownerDied === false);
   * shm.unlink();
   * ```
   */
  get ownerDied(): boolean {
    return this.#ownerDied;
  }

  /**
   * True until the lock this guard stands for is released (through the
   * guard or through `mutex.unlock()`).
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-guard-held-${Date.now()}`, 4096);
   * const guard = Mutex.init(shm, 0).lock();
   * guard.unlock();
   * console.assert(!guard.held);
   * shm.unlink();
   * ```
   */
  get held(): boolean {
    return isCurrent(this.#mutex, this);
  }

  /**
   * Releases the lock if this guard still holds it; otherwise does nothing.
   *
   * @throws {ClosedError} If the mutex's region was closed meanwhile.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-guard-unlock-${Date.now()}`, 4096);
   * const guard = Mutex.init(shm, 0).lock();
   * guard.unlock();
   * guard.unlock(); // no-op
   * shm.unlink();
   * ```
   */
  unlock(): void {
    if (isCurrent(this.#mutex, this)) this.#mutex.unlock();
  }

  /**
   * Same as `unlock()`, for `using`.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-guard-dispose-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * const guard = mutex.lock();
   * guard[Symbol.dispose](); // what the end of a `using` block calls
   * console.assert(!guard.held && mutex.tryLock() !== null);
   * shm.unlink();
   * ```
   */
  [Symbol.dispose](): void {
    this.unlock();
  }
}

/**
 * A mutual-exclusion lock in shared memory that excludes threads of any
 * process: other processes (Deno, Bun) and Workers of this one.
 *
 * - **Robust**: when the holder dies (kill -9, a crash, a terminated Worker)
 *   the next locker gets the lock with `guard.ownerDied === true`.
 * - **Error-checking**: locking a mutex this thread already holds throws
 *   (`EDEADLK`) instead of deadlocking; unlocking one it does not hold throws
 *   (`EPERM`).
 * - **Async**: `lockAsync()` waits without blocking the event loop.
 *
 * It is not a `pthread_mutex_t`. It is an 8-byte record whose first 32-bit
 * word is a futex: 0 when free, else the holder's thread id (bits 0-21), a
 * 9-bit tag of the holder's start time (bits 22-30, which tells a reused id
 * from the dead holder) and a "waiters" bit (31). Locking is one
 * compare-and-swap with JS `Atomics` on the mapping; only contention calls
 * into the kernel (futex wait/wake). See the README for why this beats a
 * robust pthread mutex here, and for the protocol a C program would follow.
 *
 * A dead holder is noticed when a waiter finds the holder's thread gone
 * (`kill(tid, 0)` and `/proc/<tid>/stat`), at the latest 100 ms after it
 * died while someone waits. All users must share a pid namespace.
 *
 * @example The robust-mutex pattern
 * ```ts
 * import { Mutex, SharedMemory } from "../mod.ts";
 *
 * using shm = SharedMemory.openOrCreate(`/doc-bank-${Date.now()}`, 4096);
 * const mutex = shm.created ? Mutex.init(shm, 0) : Mutex.attach(shm, 0);
 * const balance = shm.view(Float64Array, 8, 1);
 * {
 *   using guard = mutex.lock(); // unlocked at the end of the block
 *   if (guard.ownerDied) {
 *     // the last holder was killed while holding it: check `balance`
 *   }
 *   balance[0] += 1;
 * }
 * shm.unlink();
 * ```
 */
export class Mutex {
  /**
   * Bytes a mutex occupies: the futex word and a reserved word.
   *
   * @example A mutex and the data it guards
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-bytes-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * const data = shm.view(Int32Array, Mutex.byteLength, 4); // right after it
   * {
   *   using _guard = mutex.lock();
   *   data[0] += 1;
   * }
   * shm.unlink();
   * ```
   */
  static readonly byteLength: number = 8;
  /**
   * The alignment `byteOffset` needs.
   *
   * @example
   * ```ts
   * import { Mutex } from "../mod.ts";
   * const offset = 20;
   * const aligned = Math.ceil(offset / Mutex.alignment) * Mutex.alignment;
   * console.assert(aligned === 24);
   * ```
   */
  static readonly alignment: number = 8;

  readonly #place: Place;
  readonly #me: number;
  #guard: MutexGuard | null = null;
  #aliveWord = 0;
  #aliveUntil = 0;

  private constructor(region: SharedRegion, byteOffset: number) {
    this.#place = new Place(region, byteOffset, Mutex.byteLength, Mutex.alignment, "mutex");
    this.#me = threadIdentity();
  }

  /**
   * Makes a new, unlocked mutex at `byteOffset` of `region`. Do this once,
   * in one process, before others attach: re-initializing a mutex someone
   * holds breaks it.
   *
   * @param region Any shared region.
   * @param byteOffset A multiple of {@linkcode Mutex.alignment}.
   * @throws {TypeError|RangeError} On a bad region or offset.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-init-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * mutex.lock().unlock();
   * shm.unlink();
   * ```
   */
  static init(region: SharedRegion, byteOffset: number): Mutex {
    const mutex = new Mutex(region, byteOffset);
    Atomics.store(mutex.#place.words(), 1, 0);
    Atomics.store(mutex.#place.words(), 0, 0);
    return mutex;
  }

  /**
   * Uses the mutex another process initialized at `byteOffset`. Zeroed
   * memory is an unlocked mutex too.
   *
   * @param region The region holding the mutex.
   * @param byteOffset Where `init` put it.
   * @throws {TypeError|RangeError} On a bad region or offset.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * const name = `/doc-mutex-attach-${Date.now()}`;
   * using shm = SharedMemory.create(name, 4096);
   * Mutex.init(shm, 0);
   * using other = SharedMemory.open(name); // as another process would
   * Mutex.attach(other, 0).lock().unlock();
   * shm.unlink();
   * ```
   */
  static attach(region: SharedRegion, byteOffset: number): Mutex {
    return new Mutex(region, byteOffset);
  }

  /**
   * The region this mutex lives in.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-region-${Date.now()}`, 4096);
   * console.assert(Mutex.init(shm, 8).region === shm);
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
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-offset-${Date.now()}`, 4096);
   * console.assert(Mutex.init(shm, 8).byteOffset === 8);
   * shm.unlink();
   * ```
   */
  get byteOffset(): number {
    return this.#place.byteOffset;
  }

  static {
    isCurrent = (mutex, guard) => mutex.#guard === guard;
  }

  #grant(ownerDied: boolean): MutexGuard {
    const guard = makeGuard(this, ownerDied);
    this.#guard = guard;
    return guard;
  }

  #deadlock(): never {
    throw new ErrnoError(
      platform.EDEADLK,
      "lock",
      `lock ${this.#place.what}, which this thread already holds`,
    );
  }

  /**
   * Takes the lock, blocking this thread until it is free.
   *
   * @returns A guard; `guard.ownerDied` tells whether the last holder died.
   * @throws {ErrnoError} `EDEADLK` if this thread already holds it.
   * @throws {ClosedError} If the region is closed.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-lock-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * {
   *   using _guard = mutex.lock();
   *   // ... exclusive access ...
   * }
   * shm.unlink();
   * ```
   */
  lock(): MutexGuard {
    const word = this.#place.words();
    if (Atomics.compareExchange(word, 0, 0, this.#me) === 0) return this.#grant(false);
    return this.#lockBlocking(Infinity)!;
  }

  /**
   * Takes the lock if it is free now, or becomes free within `timeoutMs`
   * (blocking this thread meanwhile). A lock whose holder died is taken
   * (with `ownerDied`) even with `timeoutMs` 0.
   *
   * @param timeoutMs Milliseconds to wait at most; 0 (default) does not wait.
   * @returns A guard, or null when the lock stayed taken; null never comes
   *   before `timeoutMs` has passed on the monotonic clock.
   * @throws {ErrnoError} `EDEADLK` if this thread already holds it.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-try-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * const guard = mutex.tryLock();
   * console.assert(guard !== null);
   * guard?.unlock();
   * shm.unlink();
   * ```
   */
  tryLock(timeoutMs: number = 0): MutexGuard | null {
    checkTimeoutMs(timeoutMs);
    const word = this.#place.words();
    if (Atomics.compareExchange(word, 0, 0, this.#me) === 0) return this.#grant(false);
    if (timeoutMs === 0) {
      for (;;) {
        const seen = Atomics.load(word, 0);
        if (seen === 0) {
          if (Atomics.compareExchange(word, 0, 0, this.#me) === 0) return this.#grant(false);
          continue;
        }
        if ((seen & ID_MASK) === this.#me) this.#deadlock();
        if (this.#alive(seen, true)) return null;
        if (Atomics.compareExchange(word, 0, seen, this.#me | (seen & WAITERS)) === seen) {
          return this.#grant(true);
        }
      }
    }
    return this.#lockBlocking(monotonicMs() + timeoutMs);
  }

  // Whether the holder in `seen` lives; `cached` trusts a recent answer.
  #alive(seen: number, cached: boolean): boolean {
    const now = cached ? monotonicMs() : 0;
    if (cached && seen === this.#aliveWord && now < this.#aliveUntil) return true;
    const alive = holderAlive(seen);
    if (alive && cached) {
      this.#aliveWord = seen;
      this.#aliveUntil = now + ALIVE_CACHE_MS;
    }
    return alive;
  }

  #lockBlocking(deadline: number): MutexGuard | null {
    const me = this.#me;
    let slept = 0;
    let sliceEnded = false;
    for (;;) {
      const word = this.#place.words();
      let seen = Atomics.load(word, 0);
      if (seen === 0) {
        // Taken after a contention: keep WAITERS so our unlock wakes the rest.
        const mine = slept !== 0 ? me | WAITERS : me;
        if (Atomics.compareExchange(word, 0, 0, mine) === 0) return this.#grant(false);
        continue;
      }
      if ((seen & ID_MASK) === me) this.#deadlock();
      if (sliceEnded && seen === slept && !this.#alive(seen, false)) {
        if (Atomics.compareExchange(word, 0, seen, me | WAITERS) === seen) {
          return this.#grant(true);
        }
        continue;
      }
      if ((seen & WAITERS) === 0) {
        if (Atomics.compareExchange(word, 0, seen, seen | WAITERS) !== seen) continue;
        seen |= WAITERS;
      }
      const now = monotonicMs();
      if (now >= deadline) return null;
      const until = Math.min(deadline, now + LIVENESS_MS);
      // A whole slice without a change: check the holder on the next turn,
      // also when the slice ended at the deadline (a dead holder is taken).
      sliceEnded = futexWait(this.#place.pointer, seen, until) === "timedOut";
      slept = seen;
    }
  }

  /**
   * Takes the lock without blocking the event loop. Rejects with a
   * `DOMException` named `"TimeoutError"` after `timeout` ms, or
   * `"AbortError"` when `signal` aborts; then the lock was not taken.
   *
   * The lock is taken on this (the JS) thread, so `unlock()` works from
   * here as with `lock()`.
   *
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @returns A guard.
   * @throws {TypeError|RangeError} On bad options (as a rejection).
   * @throws {ErrnoError} `EDEADLK` (as a rejection) if this thread holds
   *   the lock, also when another async task of this thread took it (the
   *   lock belongs to the thread): serialize the tasks of one thread
   *   yourself.
   * @throws {ClosedError} As a rejection once the region is closed, also
   *   while the wait is pending (noticed within 100 ms).
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-async-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * {
   *   using guard = await mutex.lockAsync({ timeout: 1000 });
   *   console.assert(!guard.ownerDied);
   * }
   * shm.unlink();
   * ```
   */
  lockAsync(options?: WaitOptions): Promise<MutexGuard> {
    let checked;
    try {
      checked = checkWaitOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const me = this.#me;
    let slept = 0;
    return waitLoop<MutexGuard>({
      what: this.#place.what,
      owner: this,
      sliceMs: LIVENESS_MS,
      poll: (sliceEnded) => {
        for (;;) {
          const word = this.#place.words();
          let seen = Atomics.load(word, 0);
          if (seen === 0) {
            const mine = slept !== 0 ? me | WAITERS : me;
            if (Atomics.compareExchange(word, 0, 0, mine) === 0) {
              return { value: this.#grant(false) };
            }
            continue;
          }
          if ((seen & ID_MASK) === me) this.#deadlock();
          if (sliceEnded && (slept === 0 || seen === slept) && !this.#alive(seen, false)) {
            if (Atomics.compareExchange(word, 0, seen, me | WAITERS) === seen) {
              return { value: this.#grant(true) };
            }
            continue;
          }
          if ((seen & WAITERS) === 0) {
            if (Atomics.compareExchange(word, 0, seen, seen | WAITERS) !== seen) continue;
            seen |= WAITERS;
          }
          slept = seen;
          return { word: this.#place.pointer, expected: seen };
        }
      },
      abandon: () => {
        // An unlock may have woken this waiter just before it gave up: if
        // the lock is free, pass the wake-up on to another sleeper.
        if (slept === 0 || this.#place.region.closed) return;
        if (Atomics.load(this.#place.words(), 0) === 0) futexWake(this.#place.pointer, 1);
      },
    }, checked);
  }

  /**
   * Releases the lock, waking one waiter if any sleeps. Guards made by this
   * mutex stop holding.
   *
   * @throws {ErrnoError} `EPERM` if this thread does not hold the lock.
   * @throws {ClosedError} If the region is closed.
   *
   * @example
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-unlock-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * mutex.lock();
   * mutex.unlock();
   * shm.unlink();
   * ```
   */
  unlock(): void {
    const word = this.#place.words();
    const me = this.#me;
    if (Atomics.compareExchange(word, 0, me, 0) !== me) {
      const seen = Atomics.load(word, 0);
      if ((seen & ID_MASK) !== me) {
        throw new ErrnoError(
          platform.EPERM,
          "unlock",
          `unlock ${this.#place.what}, which this thread does not hold`,
        );
      }
      Atomics.store(word, 0, 0);
      futexWake(this.#place.pointer, 1);
    }
    this.#guard = null;
  }
}
