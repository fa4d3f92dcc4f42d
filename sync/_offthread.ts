/**
 * Futex waits that leave the JS thread free: the basis of every `*Async`
 * wait. The JS thread decides everything (it tries, takes and gives back);
 * another thread only sleeps in the kernel until the word changes, is woken,
 * or a deadline passes. That thread never reads or writes the shared memory
 * itself, so closing a region while a wait sleeps on it cannot fault.
 *
 * - Deno: the `futex` call runs on one of Deno's helper threads through the
 *   non-blocking twin of `syscall`. Its errno is not visible here and not
 *   needed: the caller re-checks the word whatever happened.
 * - Bun has no off-thread foreign calls. One Worker per thread that needs it
 *   sleeps in `futex_waitv(2)` (Linux 5.16+) on up to 127 words at once plus
 *   a control word the JS thread bumps to hand it new waits. On older kernels
 *   a small pool of Workers, one per pending wait, uses plain futex waits.
 *
 * A wait is cancelled by waking it: on Deno with a per-wait bit of
 * FUTEX_WAKE_BITSET, so that other sleepers are rarely disturbed; on Bun
 * through the control word.
 *
 * @module
 */
import type { UnsafePointer } from "../ffi/_backend.ts";
import { backend, errno, libc, libcAsync, platform } from "../ffi/_libc.ts";
import { futexWake, WAKE_ALL } from "./_futex.ts";
import { writeTimespec } from "./_time.ts";
import {
  CONTROL,
  MAX_SLOTS,
  Slot,
  slotIndex,
  State,
  TABLE_BYTES,
  type WorkerStart,
  writeDeadline,
} from "./_waiter_table.ts";

/** A futex wait in flight on another thread. */
export interface PendingWait {
  /**
   * Resolves when the sleeper returns, for whatever reason. Rejects only
   * when nothing can sleep for this wait any more (Bun: its worker failed).
   */
  readonly done: Promise<void>;
  /**
   * Gives up this wait. Returns true when that woke the sleeper (so `done`
   * settles promptly), false when other waits still share it.
   */
  cancel(): boolean;
}

const { SYS_futex, FUTEX_WAIT_BITSET } = platform;

/** The address behind an opaque pointer, to hand to another thread. */
export function addressOf(pointer: UnsafePointer): bigint {
  return backend.address(pointer);
}

let bitCounter = 0;

function denoWait(word: UnsafePointer, expected: number, deadlineMs: number): PendingWait {
  const timeout = new Uint32Array(4);
  writeTimespec(timeout, deadlineMs);
  const bit = 2 ** (bitCounter++ & 31);
  const call = libcAsync!.syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, timeout, null, bit);
  // `timeout` stays referenced until the helper thread has returned.
  const done = call.then(() => void timeout, () => void timeout);
  return {
    done,
    cancel: () => {
      futexWake(word, WAKE_ALL, bit);
      return true;
    },
  };
}

/**
 * Sleeps off the JS thread while the 32-bit word at `word` holds `expected`,
 * until woken or until the monotonic `deadlineMs` (finite).
 */
export function futexWaitAsync(
  word: UnsafePointer,
  expected: number,
  deadlineMs: number,
): PendingWait {
  // Waits for the same word and value share one sleeper, so that ten
  // waiters on one semaphore cost one sleeping thread and one wake-up per
  // slice, not ten. A waiter joins a sleep that ends no later than its own
  // deadline (an early return only makes it poll again).
  const address = addressOf(word);
  let byValue = shared.get(address);
  const existing = byValue?.get(expected);
  if (existing !== undefined && existing.deadlineMs <= deadlineMs) {
    existing.joined += 1;
    return existing.join();
  }
  const sleeper = libcAsync !== null
    ? denoWait(word, expected, deadlineMs)
    : waiters().wait(word, expected, deadlineMs, address);
  const entry: Shared = {
    deadlineMs,
    joined: 1,
    join: () => {
      let left = false;
      return {
        done: sleeper.done,
        cancel: () => {
          if (left) return false;
          left = true;
          entry.joined -= 1;
          return entry.joined === 0 && sleeper.cancel();
        },
      };
    },
  };
  if (byValue === undefined) {
    byValue = new Map();
    shared.set(address, byValue);
  }
  byValue.set(expected, entry);
  const forget = () => {
    const current = shared.get(address);
    if (current?.get(expected) !== entry) return;
    current.delete(expected);
    if (current.size === 0) shared.delete(address);
  };
  sleeper.done.then(forget, forget);
  return entry.join();
}

interface Shared {
  readonly deadlineMs: number;
  joined: number;
  join(): PendingWait;
}

/** Sleeps in flight, by address and expected value. */
const shared = new Map<bigint, Map<number, Shared>>();

// ---------------------------------------------------------------------------
// Bun: Workers that sleep for the JS thread.

interface WorkerLike {
  postMessage(message: unknown): void;
  terminate(): void;
  onmessage: ((event: MessageEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
  addEventListener?(type: "close", listener: () => void): void;
  ref?(): void;
  unref?(): void;
}

interface Request {
  address: bigint;
  expected: number;
  deadlineMs: number;
  resolve: () => void;
  reject: (error: Error) => void;
  slot: number;
  generation: number;
  cancelled: boolean;
  settled: boolean;
}

/**
 * Owns the table page, the worker(s), and which slot serves which wait.
 *
 * When a worker fails (it cannot start, e.g. in a bundle without its file,
 * or it dies), the whole instance is given up: every wait it holds rejects
 * with the worker's error, its workers are ended, and the next wait makes a
 * new instance with a new page. The old page is unmapped only if no worker
 * ever learnt its address; otherwise a worker that is still ending may read
 * it, so it stays.
 */
class Waiters {
  readonly #tableAddress: bigint;
  readonly #table: Int32Array;
  readonly #control: UnsafePointer;
  readonly #multiplexed: boolean;
  readonly #workers: (WorkerLike | undefined)[] = [];
  readonly #free: number[] = [];
  readonly #bySlot: (Request | undefined)[] = [];
  readonly #queue: Request[] = [];
  #active = 0;
  #referenced = false;
  #started = false;
  #broken = false;

  constructor() {
    const { PROT_READ, PROT_WRITE, MAP_PRIVATE, MAP_ANONYMOUS } = platform;
    const address = libc.mmap(
      null,
      BigInt(TABLE_BYTES),
      PROT_READ | PROT_WRITE,
      MAP_PRIVATE | MAP_ANONYMOUS,
      -1,
      0n,
    );
    if (address === 0xffff_ffff_ffff_ffffn) {
      throw new Error("Cannot map the page that async waits share with their worker");
    }
    // Never unmapped: the worker may read it until the process ends.
    this.#tableAddress = address;
    this.#table = new Int32Array(backend.arrayBuffer(address, TABLE_BYTES));
    this.#control = backend.pointer(address)!;
    this.#multiplexed = futexWaitvAvailable();
    const slots = this.#multiplexed ? MAX_SLOTS : SOLO_WORKERS;
    for (let slot = slots - 1; slot >= 0; slot--) this.#free.push(slot);
  }

  wait(word: UnsafePointer, expected: number, deadlineMs: number, address: bigint): PendingWait {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const request: Request = {
      address,
      expected,
      deadlineMs,
      resolve,
      reject,
      slot: -1,
      generation: 0,
      cancelled: false,
      settled: false,
    };
    this.#active += 1;
    this.#reference();
    const slot = this.#free.pop();
    if (slot === undefined) this.#queue.push(request);
    else this.#arm(slot, request);
    return {
      done,
      cancel: () => this.#cancel(request, word),
    };
  }

  #arm(slot: number, request: Request): void {
    const t = this.#table;
    const base = slotIndex(slot);
    const generation = (Atomics.load(t, base + Slot.GENERATION) + 1) | 0;
    request.slot = slot;
    request.generation = generation;
    this.#bySlot[slot] = request;
    Atomics.store(t, base + Slot.GENERATION, generation);
    Atomics.store(t, base + Slot.EXPECTED, request.expected);
    Atomics.store(t, base + Slot.ADDRESS_LOW, Number(request.address & 0xffff_ffffn) | 0);
    Atomics.store(t, base + Slot.ADDRESS_HIGH, Number(request.address >> 32n) | 0);
    writeDeadline(t, base, request.deadlineMs);
    Atomics.store(t, base + Slot.STATE, State.ARMED);
    this.#kick(slot);
  }

  // Tells the worker serving `slot` that the table changed.
  #kick(slot: number): void {
    if (this.#multiplexed) {
      Atomics.add(this.#table, CONTROL, 1);
      futexWake(this.#control, 1);
      this.#worker(0);
    } else {
      futexWake(this.#slotWord(slot), 1);
      this.#worker(slot);
    }
  }

  #slotWord(slot: number): UnsafePointer {
    return backend.pointer(this.#tableAddress + BigInt(slotIndex(slot) * 4 + Slot.STATE * 4))!;
  }

  #cancel(request: Request, word: UnsafePointer): boolean {
    if (request.cancelled) return false;
    request.cancelled = true;
    if (request.settled) return true;
    if (request.slot < 0) {
      // Still queued: it never reached a worker.
      const at = this.#queue.indexOf(request);
      if (at >= 0) this.#queue.splice(at, 1);
      this.#settle(request);
      return true;
    }
    const state = slotIndex(request.slot) + Slot.STATE;
    // Already DONE: its report is on the way, `done` settles with it.
    if (Atomics.compareExchange(this.#table, state, State.ARMED, State.CANCELLED) !== State.ARMED) {
      return true;
    }
    if (this.#multiplexed) {
      this.#kick(request.slot);
    } else {
      // The solo worker sleeps on the user's word with its slot's bit.
      futexWake(word, WAKE_ALL, soloBit(request.slot));
    }
    return true;
  }

  #settle(request: Request, error?: Error): void {
    if (request.settled) return;
    request.settled = true;
    if (error === undefined) request.resolve();
    else request.reject(error);
    this.#active -= 1;
    if (this.#active === 0) this.#unreference();
  }

  #finished(slot: number, generation: number): void {
    if (this.#broken) return;
    const request = this.#bySlot[slot];
    if (request === undefined || request.generation !== generation) return;
    this.#bySlot[slot] = undefined;
    Atomics.store(this.#table, slotIndex(slot) + Slot.STATE, State.FREE);
    const next = this.#queue.shift();
    if (next !== undefined) this.#arm(slot, next);
    else this.#free.push(slot);
    this.#settle(request);
  }

  // Starts the worker serving `index` unless it runs.
  #worker(index: number): void {
    if (this.#workers[index] !== undefined || this.#broken) return;
    const url = new URL("./_waiter_worker.ts", import.meta.url).href;
    let worker: WorkerLike;
    try {
      worker = new Worker(url, { type: "module" }) as unknown as WorkerLike;
    } catch (error) {
      const message = (error as Error)?.message ?? String(error);
      this.#fail(new Error(`Cannot start the worker that serves async waits: ${message}`));
      return;
    }
    const start: WorkerStart = {
      table: this.#tableAddress.toString(),
      solo: this.#multiplexed ? -1 : index,
    };
    worker.onmessage = (event: MessageEvent) => {
      if (event.data === "ready") {
        this.#started = true;
        worker!.postMessage(start);
        return;
      }
      const finished = event.data as number[];
      for (let i = 0; i < finished.length; i += 2) this.#finished(finished[i], finished[i + 1]);
    };
    worker.onerror = (event: Event) => {
      // Throwing here would end the process (an uncaught error) and leave
      // the waits hanging past their timeouts: reject them instead.
      event.preventDefault?.();
      const message = (event as ErrorEvent).message ?? "unknown error";
      this.#fail(new Error(`The worker that serves async waits failed: ${message}`));
    };
    worker.addEventListener?.("close", () => {
      this.#fail(new Error("The worker that serves async waits ended"));
    });
    if (!this.#referenced) worker.unref?.();
    this.#workers[index] = worker;
  }

  // Gives this instance up: see the class comment.
  #fail(error: Error): void {
    if (this.#broken) return;
    this.#broken = true;
    if (instance === this) instance = undefined;
    for (const worker of this.#workers) {
      if (worker === undefined) continue;
      worker.onmessage = null;
      worker.onerror = null;
      worker.terminate();
    }
    const pending = [...this.#bySlot, ...this.#queue.splice(0)];
    this.#bySlot.length = 0;
    for (const request of pending) if (request !== undefined) this.#settle(request, error);
    if (!this.#started) {
      // Detached first: a stray use throws instead of touching freed memory.
      (this.#table.buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
      libc.munmap(this.#control, BigInt(TABLE_BYTES));
    }
  }

  #reference(): void {
    if (this.#referenced) return;
    this.#referenced = true;
    for (const worker of this.#workers) worker?.ref?.();
  }

  #unreference(): void {
    if (!this.#referenced) return;
    this.#referenced = false;
    for (const worker of this.#workers) worker?.unref?.();
  }
}

/** How many waits can be in flight at once without futex_waitv. */
const SOLO_WORKERS = 64;

/** The FUTEX_WAKE_BITSET bit a solo worker's wait uses. */
export function soloBit(slot: number): number {
  return 2 ** (slot % 32);
}

let probed: boolean | undefined;
let forced: boolean | undefined;

/** Whether this kernel has futex_waitv (probed once). */
function futexWaitvAvailable(): boolean {
  if (forced !== undefined) return forced;
  if (probed === undefined) {
    // No entries is EINVAL where the call exists, ENOSYS where it does not.
    const result = libc.syscall(platform.SYS_futex_waitv, null, 0, 0, null, null, 0);
    probed = !(Number(result) === -1 && errno() === platform.ENOSYS);
  }
  return probed;
}

let instance: Waiters | undefined;

function waiters(): Waiters {
  instance ??= new Waiters();
  return instance;
}

/**
 * For tests: choose the Bun design before the first async wait (`true`:
 * futex_waitv, `false`: one worker per wait, `undefined`: probe the kernel).
 */
export function _forceMultiplexing(value: boolean | undefined): void {
  forced = value;
}
