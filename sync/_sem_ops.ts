/**
 * The operations both semaphore kinds share, done in JS on the `sem_t`
 * itself with glibc's protocol (LP64, 64-bit atomics), so that C's
 * `sem_post`/`sem_wait` and ours interoperate exactly:
 *
 *     struct new_sem { uint64_t data; int private; int pad; };
 *
 * - `data`: the value in the low 32 bits (the futex word posts wake; first
 *   on little-endian), the number of registered waiters in the high 32;
 * - `private`: what glibc hands the futex calls; `sem_init(…, pshared = 1)`
 *   and `sem_open` store FUTEX_PRIVATE_FLAG there (glibc's FUTEX_SHARED),
 *   `pshared = 0` stores 0 (its FUTEX_PRIVATE), which turns the flag on.
 *
 * post: add 1 to the value (EOVERFLOW at SEM_VALUE_MAX), then wake one
 * sleeper if nwaiters > 0. trywait: take 1 when the value is positive.
 * wait: register in nwaiters, then take 1 and unregister in one CAS when the
 * value is positive, else sleep on the value word while it is 0. Where only
 * the value changes (post, trywait) a 32-bit compare-and-swap on its word
 * does it: the same effect as glibc's on all of `data`, without BigInt (which
 * made post + trywait 3 to 7 times slower).
 *
 * glibc is not called on these bytes: another process can scribble over
 * shared memory, and glibc aborts the process when the kernel refuses a futex
 * call made with a garbage `private`. Every operation checks what it reads
 * and throws CorruptedError instead; the futex calls are our own, whose
 * errors are only errno.
 *
 * @module
 */
import {
  backend,
  type CheckedWait,
  platform,
  timeoutError,
  type UnsafePointer,
} from "../ffi/internal.ts";
import { CorruptedError, ErrnoError } from "../ffi/errors.ts";
import { futexWait, futexWake } from "./_futex.ts";
import { monotonicMs } from "./_time.ts";
import { waitLoop } from "./_wait_loop.ts";

const { EOPNOTSUPP, EOVERFLOW, FUTEX_PRIVATE_FLAG, SEM_VALUE_MAX } = platform;

/**
 * musl lays out `sem_t` differently and fills `private` the other way round:
 * rather than misread its semaphores, every operation refuses them.
 */
const MUSL = backend.libraryPath.includes("musl");

/**
 * Refuses semaphores on a C library whose `sem_t` this does not follow
 * (musl), before any call is made for them.
 *
 * @throws {ErrnoError} EOPNOTSUPP on musl.
 */
export function requireGlibcSemaphores(what: string, path?: string): void {
  if (!MUSL) return;
  throw new ErrnoError(
    EOPNOTSUPP,
    "sem_t",
    `use ${what} with musl (shmkit follows glibc's sem_t protocol)`,
    path,
  );
}

/**
 * How long an async semaphore wait sleeps before it re-checks on its own.
 * Posts wake it at once, and closing a shmkit region ends it at once; this
 * only bounds how late it notices that a region of another make was closed,
 * and repairs a wake-up lost to a waiter that gave up.
 */
const SEMAPHORE_SLICE_MS = 500;

const NWAITERS_SHIFT = 32n;
const ONE_WAITER = 1n << NWAITERS_SHIFT;
// The 32-bit words of the sem_t (little-endian, as both supported machines).
/** The low half of `data`: the value, and the futex word. */
const VALUE = 0;
/** The high half of `data`: nwaiters. */
const NWAITERS = 1;
/** `int private`. */
const PRIVATE = 2;
/** `private` of a process-shared sem_t: futex calls without the private flag. */
const SHARED_SEM = FUTEX_PRIVATE_FLAG;
/** `private` of a `pshared = 0` sem_t: futex calls with the private flag. */
const PRIVATE_SEM = 0;

/** The `sem_t` at one address, as the operations see it. */
export interface SemCells {
  /** The `sem_t`, which is also the address of its value word. */
  readonly pointer: UnsafePointer;
  /** `data` alone. */
  readonly data: BigUint64Array;
  /** The whole `sem_t` as eight 32-bit words. */
  readonly words: Int32Array;
}

/** How a semaphore object gives its operations a live `sem_t`. */
export interface SemaphoreAccess {
  /** Names the semaphore in messages and errors. */
  readonly what: string;
  /** The object's name, for `ErrnoError.path`. */
  readonly path?: string;
  /** The current `sem_t`; throws ClosedError when it is gone. */
  cells(): SemCells;
  /**
   * Pending async waits registered as waiters, by the function that
   * withdraws each; the owner runs them before the `sem_t` goes away.
   */
  readonly registered: Set<() => void>;
  /**
   * For a `sem_t` in a region: runs `callback` just before the region is
   * released, while the `sem_t` is still mapped, with the error that ends
   * the wait. Returns the function that cancels it.
   */
  onRelease?(callback: (error: Error) => void): () => void;
}

/**
 * The cells over `words` (32 bytes at `pointer`).
 *
 * @throws {RangeError} If the address is not 8-aligned (64-bit atomics need it).
 */
export function semCells(pointer: UnsafePointer, words: Int32Array): SemCells {
  if (backend.address(pointer) % 8n !== 0n) {
    throw new RangeError(
      `A semaphore needs an 8-byte aligned address, got 0x${backend.address(pointer).toString(16)}`,
    );
  }
  const data = new BigUint64Array(words.buffer, words.byteOffset, 1);
  return { pointer, data, words };
}

function hex(value: number): string {
  return `0x${(value >>> 0).toString(16)}`;
}

/**
 * Checks the words every operation relies on and returns the futex flags
 * the `private` word asks for. The halves of `data` are checked as signed
 * 32-bit words: a value past SEM_VALUE_MAX reads as negative, and so does a
 * waiter count of 2^31 or more, which only a count gone below zero (i.e.
 * overwritten) reaches.
 *
 * @throws {CorruptedError} If the sem_t is not one glibc could have made.
 */
function check(access: SemaphoreAccess, words: Int32Array): number {
  // Plain reads: nothing is ordered by them, and an atomic load costs about
  // as much as the whole rest of a post.
  const word = words[PRIVATE];
  const flags = word === SHARED_SEM ? 0 : word === PRIVATE_SEM ? FUTEX_PRIVATE_FLAG : -1;
  if (flags < 0) throw new CorruptedError(access.what, `its private word is ${hex(word)}`);
  checkValue(access, words[VALUE]);
  const waiters = words[NWAITERS];
  if (waiters < 0) throw new CorruptedError(access.what, `its waiter count is ${hex(waiters)}`);
  return flags;
}

/** Returns `value` (the low half of `data`) after checking it. */
function checkValue(access: SemaphoreAccess, value: number): number {
  if (value < 0) throw new CorruptedError(access.what, `its value is ${value >>> 0}`);
  return value;
}

/** The low half of a `data` read whole, checked. */
function valueIn(access: SemaphoreAccess, data: bigint): number {
  return checkValue(access, Number(BigInt.asIntN(32, data)));
}

/**
 * Checks the whole `sem_t`, as `attach` and `open` do before handing it out.
 *
 * @throws {CorruptedError} If it is not a valid glibc `sem_t`.
 */
export function semCheck(access: SemaphoreAccess): void {
  check(access, access.cells().words);
}

/**
 * Wakes one sleeper of a semaphore with nwaiters > 0. A `pshared = 0`
 * semaphore's own sleepers (C threads of this process) sleep on the private
 * futex; ours off the JS thread always sleep on the shared one, so both hear.
 */
function wakeOne(cells: SemCells, flags: number): void {
  futexWake(cells.pointer, 1, undefined, flags);
  if (flags !== 0) futexWake(cells.pointer, 1);
}

/**
 * Takes one unit if the value is positive (glibc's sem_trywait). glibc's
 * 64-bit compare-and-swap changes only the low half here (no borrow from a
 * positive value), so one on the value word alone is the same operation.
 */
function take(access: SemaphoreAccess, words: Int32Array): boolean {
  // A plain read only guesses what the compare-and-swap checks.
  let value = words[VALUE];
  for (;;) {
    if (checkValue(access, value) === 0) return false;
    const was = Atomics.compareExchange(words, VALUE, value, value - 1);
    if (was === value) return true;
    value = was;
  }
}

/** Stops being a registered waiter. */
function unregister(cells: SemCells): void {
  Atomics.sub(cells.data, 0, ONE_WAITER);
}

/**
 * A registered waiter's try: take one unit and unregister in one 64-bit
 * compare-and-swap, as glibc's waiters do. Returns true when it took one;
 * false (still registered) when the value was 0.
 */
function takeRegistered(access: SemaphoreAccess, cells: SemCells): boolean {
  const { data } = cells;
  let seen = Atomics.load(data, 0);
  for (;;) {
    if (valueIn(access, seen) === 0) return false;
    const was = Atomics.compareExchange(data, 0, seen, seen - 1n - ONE_WAITER);
    if (was === seen) return true;
    seen = was;
  }
}

/**
 * Takes one unit, blocking this thread until `deadlineMs` (monotonic;
 * `Infinity` waits for good). Returns false when the deadline passed first.
 */
function waitUntil(access: SemaphoreAccess, deadlineMs: number): boolean {
  const cells = access.cells();
  const { words } = cells;
  let flags = check(access, words);
  if (take(access, words)) return true;
  if (monotonicMs() >= deadlineMs) return false;
  Atomics.add(cells.data, 0, ONE_WAITER);
  let registered = true;
  try {
    for (;;) {
      if (takeRegistered(access, cells)) {
        registered = false;
        return true;
      }
      // The value word is 0 while no unit is free; a post changes it, so
      // the sleep ends at once if one came since the try. The sleep is on
      // the shared futex even for a pshared = 0 sem_t (zeroed memory looks
      // like one): a private one is keyed to this process, and a post from
      // another process could never end it. Only glibc's own posts to such
      // a semaphore wake the private futex alone: slices catch those.
      const until = flags === 0
        ? deadlineMs
        : Math.min(deadlineMs, monotonicMs() + SEMAPHORE_SLICE_MS);
      if (futexWait(cells.pointer, 0, until) === "timedOut" && until === deadlineMs) {
        if (checkValue(access, Atomics.load(words, VALUE)) === 0) return false;
      }
      flags = check(access, words);
    }
  } finally {
    if (registered) unregister(cells);
  }
}

/** Takes one unit, blocking this thread until one is free (sem_wait). */
export function semWait(access: SemaphoreAccess): void {
  waitUntil(access, Infinity);
}

/**
 * Takes one unit if one is free now, or comes within `timeoutMs` on the
 * monotonic clock (sem_trywait, then a timed wait).
 */
export function semTryWait(access: SemaphoreAccess, timeoutMs: number): boolean {
  const { words } = access.cells();
  check(access, words);
  if (take(access, words)) return true;
  if (timeoutMs === 0) return false;
  return waitUntil(access, timeoutMs === Infinity ? Infinity : monotonicMs() + timeoutMs);
}

/**
 * Adds one unit and wakes a sleeper if any is registered (sem_post).
 *
 * glibc adds to `data` whole and sees nwaiters in the same step; adding to
 * the value word and reading nwaiters just after is as safe: a waiter that
 * registered before the add is still counted (it leaves only by taking a
 * unit or giving up), and one that registers after it sees the unit and
 * takes it without sleeping. At worst a sleeper is woken for nothing.
 */
export function semPost(access: SemaphoreAccess): void {
  const cells = access.cells();
  const { words } = cells;
  const flags = check(access, words);
  let value = words[VALUE];
  for (;;) {
    if (checkValue(access, value) === SEM_VALUE_MAX) {
      throw new ErrnoError(EOVERFLOW, "sem_post", `post ${access.what}`, access.path);
    }
    const was = Atomics.compareExchange(words, VALUE, value, value + 1);
    if (was === value) break;
    value = was;
  }
  // Atomic, so that it is not done before the add (a waiter registers and
  // then looks at the value: one of the two must see the other).
  if (Atomics.load(words, NWAITERS) !== 0) wakeOne(cells, flags);
}

/** The current value (sem_getvalue). */
export function semValue(access: SemaphoreAccess): number {
  const { words } = access.cells();
  check(access, words);
  return Atomics.load(words, VALUE);
}

const DONE = { value: undefined };

/**
 * Waits for a unit without blocking the JS thread, as a registered waiter
 * like glibc's. `owner` is the object whose finalizer would release the
 * `sem_t` (or its region): the wait holds it until it settles.
 */
export function semWaitAsync(
  access: SemaphoreAccess,
  options: CheckedWait,
  owner: object,
): Promise<void> {
  // A unit free now is taken without building the wait; a zero timeout ends
  // here too, without registering as a waiter. An aborted signal takes
  // nothing: the loop rejects it first.
  if (!options.signal?.aborted) {
    const { words } = access.cells();
    check(access, words);
    if (take(access, words)) return Promise.resolve();
    if (options.timeout === 0) return Promise.reject(timeoutError(access.what, 0));
  }
  let registered = false;
  const withdraw = () => {
    if (!registered) return;
    registered = false;
    access.registered.delete(withdraw);
    unregister(access.cells());
  };
  // Leaves nwaiters as it was before this wait, while the sem_t is still
  // mapped: a count left raised makes every later post, in any process,
  // pay for a futex call.
  const giveUp = () => {
    if (!registered) return;
    let cells: SemCells;
    let flags: number;
    try {
      cells = access.cells();
      flags = check(access, cells.words);
    } catch {
      return; // gone or corrupted: nothing sensible left to tidy
    }
    withdraw();
    // A post may have woken this waiter just before it gave up; pass the
    // wake-up on so that the unit does not sit while others sleep.
    if (Atomics.load(cells.words, VALUE) > 0) wakeOne(cells, flags);
  };
  return waitLoop({
    what: access.what,
    owner,
    sliceMs: SEMAPHORE_SLICE_MS,
    poll() {
      const cells = access.cells();
      check(access, cells.words);
      if (!registered) {
        if (take(access, cells.words)) return DONE;
        // From now on every post wakes someone on the value word.
        Atomics.add(cells.data, 0, ONE_WAITER);
        registered = true;
        access.registered.add(withdraw);
      }
      if (takeRegistered(access, cells)) {
        registered = false;
        access.registered.delete(withdraw);
        return DONE;
      }
      return { word: cells.pointer, expected: 0 };
    },
    abandon: giveUp,
    watch: access.onRelease === undefined ? undefined : (end) => access.onRelease!(end),
  }, options);
}
