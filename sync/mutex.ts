/**
 * A robust, error-checking, process-shared mutex on a futex word.
 *
 * @module
 */
import type { WaitOptions } from "../ffi/wait_options.ts";
import {
  abandonedIdentity,
  abortError,
  backend,
  type CheckedWait,
  checkWaitOptions,
  holderAlive,
  ID_MASK,
  platform,
  threadIdentity,
  timeoutError,
  validateTimeout,
  WAITERS,
} from "../ffi/internal.ts";
import { ErrnoError } from "../ffi/errors.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { futexWait, futexWake } from "./_futex.ts";
import { futexWaitAsync } from "./_offthread.ts";
import { anyLine, type Line, lineAt, openLine, Turn } from "./_mutex_queue.ts";
import { Place } from "./_place.ts";
import { monotonicMs } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";

/**
 * How long a contended locker sleeps before it looks again on its own, and
 * so how late it notices that the holder died (unlock wakes it at once).
 */
const LIVENESS_MS = 100;

/** How long a "holder is alive" answer is trusted. */
const ALIVE_CACHE_MS = 10;

/**
 * The most hand-overs in a row between `lockAsync()` calls of one thread
 * while a thread elsewhere waits; then the lock goes through the word, so
 * that other processes are not starved.
 */
const LOCAL_HAND_OVERS = 4;

/**
 * How long a thread keeps out of the race after such a release when it
 * woke nobody: time for a waiter on its way to sleep to come.
 */
const MAKE_WAY_MS = 5;

/** What one look at the word found (`Mutex.#step`). */
type Step = "acquired" | "ownerDied" | "mine" | "held";

/** What one acquisition remembers between looks at the word. */
interface Attempt {
  /** The value it last slept on; 0 before its first sleep. */
  slept: number;
  /** The last sleep lasted its whole slice: look at the holder. */
  sliceEnded: boolean;
  /** It slept: others may sleep too, so it takes the lock with WAITERS. */
  waited: boolean;
  /** After "held": the value to sleep on. */
  seen: number;
}

function newAttempt(sliceEnded: boolean): Attempt {
  return { slept: 0, sliceEnded, waited: false, seen: 0 };
}

function sleptOn(attempt: Attempt): void {
  attempt.slept = attempt.seen;
  attempt.waited = true;
}

// Module-private bridges between the two classes' private state.
// Cancels a collected Mutex's release hook, so that attaching many Mutex
// objects over one long-lived region leaves nothing behind.
const releaseWatches = new FinalizationRegistry<() => void>((cancel) => cancel());

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
   * A guard stops holding when its region closes: the close gives the lock
   * up, as a dying holder would (the next locker is told `ownerDied`).
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
 * - **Error-checking**: `lock()` or `tryLock()` of a mutex this thread
 *   already holds throws (`EDEADLK`) instead of deadlocking; unlocking one it
 *   does not hold throws (`EPERM`).
 * - **Async**: `lockAsync()` waits without blocking the event loop; the
 *   calls of one thread (concurrent tasks) get the lock one after the
 *   other, in call order, without starving other processes.
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
  /** Cancels what a release of the region does to a lock held here. */
  #releaseWatch: (() => void) | undefined;
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
    this.#releaseWatch ??= this.#watchRelease();
    return guard;
  }

  /**
   * Arms, once per Mutex object, the release hook that gives up a lock this
   * object still holds when its region closes (or a resize cuts the word
   * off): nothing in this thread could unlock it after that, and it would
   * stay held as long as the thread lives. The hook holds the Mutex weakly,
   * and is cancelled when the Mutex is collected.
   */
  #watchRelease(): () => void {
    const ref = new WeakRef<Mutex>(this);
    const cancel = this.#place.onRelease(() => {
      const mutex = ref.deref();
      if (mutex !== undefined) mutex.#abandon();
    });
    releaseWatches.register(this, cancel);
    return cancel;
  }

  /**
   * Gives the lock up as if this thread had died (see abandonedIdentity):
   * the next locker takes it over with `ownerDied`, since the guarded data
   * may be half-updated. Runs while the word is still mapped.
   */
  #abandon(): void {
    this.#releaseWatch = undefined;
    if (this.#guard === null) return;
    this.#guard = null;
    const word = this.#place.words();
    const seen = Atomics.load(word, 0);
    if ((seen & ID_MASK) !== this.#me) return;
    Atomics.store(word, 0, (seen & WAITERS) | abandonedIdentity(this.#me));
    futexWake(this.#place.pointer, 1);
  }

  /** The guard of a step that took the lock; "mine" is EDEADLK. */
  #take(step: "acquired" | "ownerDied" | "mine"): MutexGuard {
    if (step === "mine") {
      throw new ErrnoError(
        platform.EDEADLK,
        "lock",
        `lock ${this.#place.what}, which this thread already holds`,
      );
    }
    return this.#grant(step === "ownerDied");
  }

  /**
   * One look at the word: the locking protocol that C peers follow too (see
   * the README), written once for `tryLock`, `lock` and `lockAsync`.
   *
   * - Free: take it with a compare-and-swap ("acquired"), keeping WAITERS
   *   when this locker slept (others may sleep as well).
   * - Held by this thread: "mine".
   * - Held by a thread found dead: take it over ("ownerDied"). The holder is
   *   looked at (system calls) only after a whole slice passed without the
   *   word changing, or on a try that will not sleep.
   * - Else "held", with `attempt.seen` the value to sleep on; `announce`
   *   first sets WAITERS, so that the unlock wakes a sleeper.
   */
  #step(attempt: Attempt, announce: boolean): Step {
    const word = this.#place.words();
    const me = this.#me;
    const keep = attempt.waited ? WAITERS : 0;
    for (;;) {
      const seen = Atomics.load(word, 0);
      if (seen === 0) {
        if (Atomics.compareExchange(word, 0, 0, me | keep) === 0) return "acquired";
        continue;
      }
      if ((seen & ID_MASK) === me) return "mine";
      const quiet = attempt.sliceEnded && (attempt.slept === 0 || seen === attempt.slept);
      if (quiet && !this.#alive(seen)) {
        const mine = me | keep | (seen & WAITERS);
        if (Atomics.compareExchange(word, 0, seen, mine) === seen) return "ownerDied";
        continue;
      }
      if (announce && (seen & WAITERS) === 0) {
        if (Atomics.compareExchange(word, 0, seen, seen | WAITERS) !== seen) continue;
        attempt.seen = seen | WAITERS;
      } else {
        attempt.seen = seen;
      }
      return "held";
    }
  }

  // Whether the holder in `seen` lives. An "alive" answer is trusted for
  // ALIVE_CACHE_MS, so that a loop of tryLock() does not read /proc each time.
  #alive(seen: number): boolean {
    const now = monotonicMs();
    if (seen === this.#aliveWord && now < this.#aliveUntil) return true;
    const alive = holderAlive(seen);
    if (alive) {
      this.#aliveWord = seen;
      this.#aliveUntil = now + ALIVE_CACHE_MS;
    }
    return alive;
  }

  /** The word's address now (a resized region moves it): the key of its line. */
  #address(): bigint {
    this.#place.words();
    return backend.address(this.#place.pointer);
  }

  /**
   * Takes the lock, blocking this thread until it is free.
   *
   * @returns A guard; `guard.ownerDied` tells whether the last holder died.
   * @throws {ErrnoError} `EDEADLK` if this thread already holds it (also
   *   when another async task of this thread took it: waiting here would
   *   block the thread that must unlock).
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
   * (with `ownerDied`) even with `timeoutMs` 0. It does not wait in line
   * behind this thread's pending `lockAsync()` calls.
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
    validateTimeout(timeoutMs, "timeoutMs");
    const word = this.#place.words();
    if (Atomics.compareExchange(word, 0, 0, this.#me) === 0) return this.#grant(false);
    if (timeoutMs === 0) {
      const step = this.#step(newAttempt(true), false);
      return step === "held" ? null : this.#take(step);
    }
    return this.#lockBlocking(monotonicMs() + timeoutMs);
  }

  #lockBlocking(deadline: number): MutexGuard | null {
    const attempt = newAttempt(false);
    for (;;) {
      const step = this.#step(attempt, true);
      if (step !== "held") return this.#take(step);
      const now = monotonicMs();
      if (now >= deadline) return null;
      const until = Math.min(deadline, now + LIVENESS_MS);
      // A whole slice without a change: the next step looks at the holder,
      // also when the slice ended at the deadline (a dead holder's lock is
      // taken rather than reported busy).
      attempt.sliceEnded = futexWait(this.#place.pointer, attempt.seen, until) === "timedOut";
      sleptOn(attempt);
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
   * **Calls of one thread wait in line.** The lock belongs to the thread,
   * not to a task, so while this thread holds it (through any `Mutex`
   * object over the same bytes of one mapping), or an earlier `lockAsync()`
   * of this thread still waits for it, a call waits in this thread's line
   * for the word, and each `unlock()` hands the lock to the next call, in
   * call order. The hand-over happens in JS, without a system call, while
   * no other thread or process waits. While one does (the word's waiters
   * bit is set), at most 4 hand-overs follow in a row: then `unlock()`
   * releases the word and wakes one waiter elsewhere, and the next call of
   * the line competes again only once that waiter took the lock (or a
   * 100 ms slice passed). So a busy thread cannot starve other processes.
   * A call that times out or is aborted leaves the line and the next one
   * moves up. Only the call that took over a dead holder's lock reports
   * `ownerDied`. The line cannot tell a task that already holds the lock
   * from another: a second `lockAsync()` from the holding task waits until
   * its timeout (give one) instead of failing with `EDEADLK`.
   *
   * @param options `timeout` in ms (default `Infinity`) and `signal`.
   * @returns A guard.
   * @throws {TypeError|RangeError} On bad options (as a rejection).
   * @throws {ClosedError} As a rejection once the region is closed, also
   *   while the wait is pending (at once for the call waiting in the
   *   kernel, within 100 ms for the calls behind it in this thread's line).
   *
   * @example Tasks of one thread take turns
   * ```ts
   * import { Mutex, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-mutex-async-${Date.now()}`, 4096);
   * const mutex = Mutex.init(shm, 0);
   * const order: number[] = [];
   * await Promise.all([1, 2, 3].map(async (task) => {
   *   using _guard = await mutex.lockAsync({ timeout: 1000 });
   *   await new Promise((resolve) => setTimeout(resolve, 1));
   *   order.push(task);
   * }));
   * console.assert(order.join() === "1,2,3");
   * shm.unlink();
   * ```
   */
  lockAsync(options?: WaitOptions): Promise<MutexGuard> {
    try {
      const checked = checkWaitOptions(options);
      const { timeout, signal } = checked;
      if (signal?.aborted) throw abortError(signal, this.#place.what);
      const line = anyLine() ? lineAt(this.#address()) : undefined;
      if (line !== undefined) {
        return this.#enter(checked, (turn) => {
          line.add(turn);
          Mutex.#serve(line); // in case nothing else moves the line now
        });
      }
      // No call of this thread waits: one step decides.
      const step = this.#step(newAttempt(timeout === 0), false);
      if (step === "acquired" || step === "ownerDied") {
        return Promise.resolve(this.#grant(step === "ownerDied"));
      }
      if (timeout === 0) throw timeoutError(this.#place.what, timeout);
      const opened = openLine(this.#address(), Mutex.#checkLine, LIVENESS_MS);
      if (step === "mine") return this.#enter(checked, (turn) => opened.add(turn));
      return this.#enter(checked, (turn) => this.#contend(opened, turn, false));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A pending call, placed by `place`. */
  #enter(checked: CheckedWait, place: (turn: Turn) => void): Promise<MutexGuard> {
    return new Promise<MutexGuard>((resolve, reject) => {
      place(new Turn(this, this.#place.what, checked, { resolve, reject }));
    });
  }

  /**
   * Makes `turn` the call of `line` that competes with other threads.
   * `waited`: it moved up in line, so others may sleep on the word too and
   * the lock is taken with WAITERS.
   */
  #contend(line: Line, turn: Turn, waited: boolean): void {
    line.contender = turn;
    const attempt = newAttempt(false);
    attempt.waited = waited;
    waitLoop<MutexGuard | null>({
      what: this.#place.what,
      owner: this,
      sliceMs: LIVENESS_MS,
      // A close ends the kernel wait at once (abandon runs then, while the
      // word is still mapped); the calls behind it in line find the region
      // closed when they move up.
      watch: (end) => this.#place.onRelease(end),
      poll: (sliceEnded) => {
        attempt.sliceEnded = sliceEnded;
        const step = this.#step(attempt, true);
        if (step === "held") {
          sleptOn(attempt);
          return { word: this.#place.pointer, expected: attempt.seen };
        }
        if (step === "mine") {
          // A lock() or tryLock() of this thread took it meanwhile: wait at
          // the front of the line for its unlock.
          line.add(turn, true);
          line.contender = null;
          return { value: null };
        }
        line.handOvers = 0;
        line.contender = null;
        return { value: this.#grant(step === "ownerDied") };
      },
      abandon: () => {
        // An unlock may have woken this waiter just before it gave up: if
        // the lock is free, pass the wake-up on to another sleeper.
        if (!attempt.waited || this.#place.region.closed) return; // gone: nothing to pass on
        if (Atomics.load(this.#place.words(), 0) === 0) futexWake(this.#place.pointer, 1);
      },
    }, { timeout: turn.timeout, signal: turn.signal, deadline: turn.deadline }).then(
      (guard) => {
        if (guard !== null) turn.resolve(guard);
      },
      (error) => {
        if (line.contender === turn) line.contender = null;
        turn.reject(error);
        Mutex.#serve(line);
      },
    );
  }

  /**
   * Moves `line` on when nothing else would: its first call starts to
   * compete once no call of the line competes and this thread does not hold
   * the lock (whose unlock hands over). Calls whose region was closed leave
   * with the ClosedError.
   */
  static #serve(line: Line, waited = true): void {
    if (line.makingWay) return;
    while (line.contender === null) {
      const turn = Mutex.#front(line);
      if (turn === undefined) return;
      const mutex = turn.mutex;
      if ((Atomics.load(mutex.#place.words(), 0) & ID_MASK) === mutex.#me) return;
      line.next();
      mutex.#contend(line, turn, waited);
    }
  }

  /**
   * Keeps `line` out of the race for up to `ms` after its thread released
   * the word for a waiter elsewhere, until that waiter took the lock; then
   * the first call of the line competes as usual (announcing itself, so
   * that the new holder's unlock wakes it). Taking the lock back at once
   * would win every time: a woken waiter needs far longer to run. A look
   * every millisecond sees the word taken; a sleep on the free word sees it
   * taken and released in between (that unlock wakes it). When nobody came
   * twice in a row, the waiters bit was stale: the line takes the lock
   * without it (once, a waiter may just have been slow to run).
   */
  static #makeWay(line: Line, mutex: Mutex, ms: number): void {
    line.makingWay = true;
    const word = mutex.#place.words();
    const until = monotonicMs() + ms;
    const sleep = futexWaitAsync(mutex.#place.pointer, 0, until);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const end = () => {
      if (!line.makingWay) return;
      line.makingWay = false;
      clearTimeout(timer);
      sleep.cancel();
      const free = word.length !== 0 && Atomics.load(word, 0) === 0;
      const used = !free || monotonicMs() < until;
      line.unusedMakeWays = used ? 0 : line.unusedMakeWays + 1;
      Mutex.#serve(line, line.unusedMakeWays < 2);
    };
    const look = () => {
      const free = word.length !== 0 && Atomics.load(word, 0) === 0;
      if (free && monotonicMs() < until) timer = setTimeout(look, 1);
      else end();
    };
    sleep.done.then(end, end);
    timer = setTimeout(look, 1);
  }

  /**
   * The first call of `line` that is still for its word: calls whose region
   * was closed leave with the ClosedError, and calls whose region was
   * resized since (the word moved) go to the line of the new address. The
   * old address may already hold another mapping's word, whose unlock must
   * not hand such a call a lock it does not have.
   */
  static #front(line: Line): Turn | undefined {
    for (let turn = line.first; turn !== undefined; turn = line.first) {
      let address: bigint;
      try {
        address = turn.mutex.#address();
      } catch (error) {
        line.drop(turn, error);
        continue;
      }
      if (address === line.address) return turn;
      line.next();
      const moved = openLine(address, Mutex.#checkLine, LIVENESS_MS);
      moved.add(turn);
      Mutex.#serve(moved);
    }
    return undefined;
  }

  static readonly #checkLine = (line: Line): void => Mutex.#check(line);

  /**
   * Runs every slice while calls wait in `line`: a region closed under them
   * rejects them, and a lock released without passing through this line
   * (by a Mutex on another mapping of the same bytes, or after the region
   * was resized and the word moved) is competed for again.
   */
  static #check(line: Line): void {
    for (const turn of line.waiting()) {
      try {
        turn.mutex.#place.words();
      } catch (error) {
        line.drop(turn, error);
      }
    }
    Mutex.#serve(line);
  }

  /**
   * Releases the lock, waking one waiter if any sleeps, or hands it to the
   * next `lockAsync()` call of this thread waiting in line (see
   * `lockAsync`). Guards made by this mutex stop holding.
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
    const line = anyLine() ? lineAt(backend.address(this.#place.pointer)) : undefined;
    if (line !== undefined && line.contender === null && line.first !== undefined) {
      const seen = Atomics.load(word, 0);
      if ((seen & ID_MASK) !== me) this.#notHeld();
      this.#guard = null;
      this.#handOver(line, seen);
      return;
    }
    if (Atomics.compareExchange(word, 0, me, 0) !== me) {
      if ((Atomics.load(word, 0) & ID_MASK) !== me) this.#notHeld();
      Atomics.store(word, 0, 0);
      futexWake(this.#place.pointer, 1);
    }
    this.#guard = null;
  }

  #notHeld(): never {
    throw new ErrnoError(
      platform.EPERM,
      "unlock",
      `unlock ${this.#place.what}, which this thread does not hold`,
    );
  }

  /**
   * Passes the lock, held by this thread with the word at `seen`, to the
   * first call of `line`: in JS while no other thread waits, and at most
   * LOCAL_HAND_OVERS times in a row while one does. Then the word is
   * released and one sleeper woken, and the call competes again, after
   * that sleeper (see `lockAsync`).
   */
  #handOver(line: Line, seen: number): void {
    const word = this.#place.words();
    const others = (seen & WAITERS) !== 0;
    if (others && line.handOvers >= LOCAL_HAND_OVERS) {
      line.handOvers = 0;
      Atomics.store(word, 0, 0);
      const woken = futexWake(this.#place.pointer, 1);
      // A woken waiter takes the lock within a few ms. Nobody asleep means
      // a waiter on its way to sleep (an async one needs about a
      // millisecond to arm), which finds the word free, or a stale bit.
      return Mutex.#makeWay(line, this, woken !== 0 ? LIVENESS_MS : MAKE_WAY_MS);
    }
    const turn = Mutex.#front(line);
    if (turn !== undefined) {
      line.next();
      line.handOvers = others ? line.handOvers + 1 : 0;
      turn.resolve(turn.mutex.#grant(false));
      return;
    }
    // Every call in line had left: release as usual.
    Atomics.store(word, 0, 0);
    futexWake(this.#place.pointer, 1);
  }
}
