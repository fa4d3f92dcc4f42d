/**
 * Sleepers: the one place that decides which pending async wait sleeps
 * where, for both runtimes. A sleeper owns a thread (`_sleep_threads.ts`)
 * that makes one futex call at a time on its behalf:
 *
 * - with futex_waitv (Linux 5.16+), one call sleeps on up to 127 words plus
 *   the sleeper's control word, so 1,000 pending waits on distinct words
 *   take 8 threads, all armed at once;
 * - without it, one plain `FUTEX_WAIT_BITSET` per sleeper and wait.
 *
 * Sleepers are made on demand up to a limit and kept, idle, for later waits
 * (an idle one has no call in flight: it costs no CPU and does not keep the
 * process alive). Waits beyond the limit queue until a sleeper has room.
 *
 * Everything here runs on the JS thread; the threads only sleep. The JS
 * thread rewrites a sleeper's page only while no call of it is in flight.
 * To add or cancel a wait while one is, it bumps the control word and wakes
 * it; the call returns and is made again with the new set of words.
 *
 * A call's result says which word woke it, or that it timed out, or -1 for
 * any error: the errno is on the other thread (Deno) and not needed. A word
 * that no longer held its value (EAGAIN), a region unmapped meanwhile
 * (EFAULT) or a signal all end every wait of the call, and each caller
 * re-checks its word, which is always safe.
 *
 * @module
 */
import { backend, libc, mapAnonymous, platform, type UnsafePointer } from "../ffi/internal.ts";
import { futexWake, WAKE_ALL } from "./_futex.ts";
import { monotonicMs, timerDelay } from "./_time.ts";
import type { SleepThread, StartThread } from "./_sleep_threads.ts";
import {
  CONTROL_OFFSET,
  MAX_WORDS,
  PAGE_BYTES,
  type SleepCall,
  WAITV_OFFSET,
} from "./_sleep_page.ts";

/** A futex wait in flight on another thread. */
export interface PendingWait {
  /**
   * Resolves when the sleep ends, for whatever reason. Rejects only when
   * nothing can sleep for this wait any more (Bun: its worker failed).
   */
  readonly done: Promise<void>;
  /**
   * Gives up this wait. Returns true when that woke the sleeper (so `done`
   * settles promptly), false when other waits still share it.
   */
  cancel(): boolean;
}

/** How sleepers sleep, chosen once per process. */
export interface SleepersOptions {
  /** futex_waitv: many words per sleeper; else one word each. */
  readonly multiplexed: boolean;
  /** The most sleepers at once; waits beyond them queue. */
  readonly maxSleepers: number;
  readonly startThread: StartThread;
}

interface Wait {
  readonly word: UnsafePointer;
  readonly address: bigint;
  readonly expected: number;
  readonly deadlineMs: number;
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** Where it sleeps; undefined while queued. */
  sleeper: Sleeper | undefined;
  /** Part of the call in flight. */
  armed: boolean;
  cancelled: boolean;
  settled: boolean;
}

const {
  SYS_futex,
  SYS_futex_waitv,
  FUTEX_WAIT_BITSET,
  FUTEX2_SIZE_U32,
  FUTEX_WAITV_SIZE,
  CLOCK_MONOTONIC,
} = platform;

/** All sleepers of this thread, and the waits queued for want of one. */
export class Sleepers {
  readonly #options: SleepersOptions;
  readonly #sleepers: Sleeper[] = [];
  readonly #queue: Wait[] = [];
  #queueTimer: ReturnType<typeof setTimeout> | undefined;
  #made = 0;

  constructor(options: SleepersOptions) {
    this.#options = options;
  }

  /** Starts a wait: see `futexWaitAsync`. */
  wait(word: UnsafePointer, address: bigint, expected: number, deadlineMs: number): PendingWait {
    let resolve!: () => void;
    let reject!: (error: Error) => void;
    const done = new Promise<void>((yes, no) => {
      resolve = yes;
      reject = no;
    });
    const wait: Wait = {
      word,
      address,
      expected,
      deadlineMs,
      resolve,
      reject,
      sleeper: undefined,
      armed: false,
      cancelled: false,
      settled: false,
    };
    const sleeper = this.#roomy();
    if (sleeper !== undefined) {
      sleeper.add(wait);
    } else {
      this.#queue.push(wait);
      this.#timeQueue();
    }
    return { done, cancel: () => this.#cancel(wait) };
  }

  // A sleeper with room, made if need be; undefined at the limit. One with
  // no call in flight first: adding to it interrupts nobody.
  #roomy(): Sleeper | undefined {
    let busy: Sleeper | undefined;
    for (const sleeper of this.#sleepers) {
      if (!sleeper.hasRoom()) continue;
      if (!sleeper.sleeping) return sleeper;
      busy ??= sleeper;
    }
    if (busy !== undefined) return busy;
    if (this.#sleepers.length >= this.#options.maxSleepers) return undefined;
    const { multiplexed, startThread } = this.#options;
    const sleeper = new Sleeper(this, multiplexed, startThread(), this.#made++);
    this.#sleepers.push(sleeper);
    return sleeper;
  }

  #cancel(wait: Wait): boolean {
    if (wait.cancelled) return false;
    wait.cancelled = true;
    if (wait.settled) return true;
    if (wait.sleeper !== undefined) {
      wait.sleeper.cancel(wait);
      return true;
    }
    const at = this.#queue.indexOf(wait);
    if (at >= 0) this.#queue.splice(at, 1);
    settle(wait);
    this.#timeQueue();
    return true;
  }

  /** A sleeper has room again: hand it queued waits. */
  roomFreed(): void {
    while (this.#queue.length > 0) {
      const sleeper = this.#roomy();
      if (sleeper === undefined) break;
      sleeper.add(this.#queue.shift()!);
    }
    this.#timeQueue();
  }

  /** A sleeper's thread failed: it takes no more waits. */
  dropped(sleeper: Sleeper): void {
    const at = this.#sleepers.indexOf(sleeper);
    if (at >= 0) this.#sleepers.splice(at, 1);
    this.roomFreed();
  }

  // A queued wait sleeps on nothing, so it ends by itself at its deadline.
  #timeQueue(): void {
    clearTimeout(this.#queueTimer);
    this.#queueTimer = undefined;
    // A loop, not Math.min(...): thousands of queued waits would pass the
    // engine's argument limit.
    let earliest = Infinity;
    for (const wait of this.#queue) earliest = Math.min(earliest, wait.deadlineMs);
    if (earliest === Infinity) return;
    this.#queueTimer = setTimeout(() => {
      this.#queueTimer = undefined;
      const now = monotonicMs();
      const due: Wait[] = [];
      let kept = 0;
      for (const wait of this.#queue) {
        if (wait.deadlineMs <= now) due.push(wait);
        else this.#queue[kept++] = wait;
      }
      this.#queue.length = kept;
      for (const wait of due) settle(wait);
      this.#timeQueue();
    }, timerDelay(earliest - monotonicMs()));
  }
}

function settle(wait: Wait, error?: Error): void {
  if (wait.settled) return;
  wait.settled = true;
  if (error === undefined) wait.resolve();
  else wait.reject(error);
}

/** One thread's worth of waits: up to 127 words with futex_waitv, else one. */
class Sleeper {
  readonly #pool: Sleepers;
  readonly #multiplexed: boolean;
  readonly #thread: SleepThread;
  /** Without futex_waitv: the FUTEX_WAKE_BITSET bit that cancels this one's call. */
  readonly #bit: number;
  readonly #waits = new Set<Wait>();
  /** The page: control word and futex_waitv array (futex_waitv only). */
  readonly #page: bigint = 0n;
  readonly #control?: Int32Array;
  readonly #waitv?: Uint32Array;
  #inFlight = false;
  #scheduled = false;
  #broken = false;
  /** Consecutive calls that failed while the control word had moved. */
  #retries = 0;

  constructor(pool: Sleepers, multiplexed: boolean, thread: SleepThread, serial: number) {
    this.#pool = pool;
    this.#multiplexed = multiplexed;
    this.#thread = thread;
    this.#bit = 2 ** (serial % 32);
    if (!multiplexed) return;
    let address: bigint;
    try {
      address = mapAnonymous(PAGE_BYTES, "map the page that async waits sleep on");
    } catch (error) {
      thread.end(); // it would never be used
      throw error;
    }
    this.#page = address;
    const buffer = backend.arrayBuffer(address, PAGE_BYTES);
    this.#control = new Int32Array(buffer, CONTROL_OFFSET, 1);
    this.#waitv = new Uint32Array(buffer, WAITV_OFFSET, ((MAX_WORDS + 1) * FUTEX_WAITV_SIZE) / 4);
  }

  /** Whether a call is in flight. */
  get sleeping(): boolean {
    return this.#inFlight;
  }

  hasRoom(): boolean {
    return !this.#broken && this.#waits.size < (this.#multiplexed ? MAX_WORDS : 1);
  }

  add(wait: Wait): void {
    wait.sleeper = this;
    this.#waits.add(wait);
    this.#schedule();
  }

  cancel(wait: Wait): void {
    if (!wait.armed) {
      this.#remove(wait);
      settle(wait);
      this.#pool.roomFreed();
      return;
    }
    // Settled when the call returns, so that no call made for a wait is
    // still in flight once its caller has moved on.
    if (this.#multiplexed) this.#schedule();
    else futexWake(wait.word, WAKE_ALL, this.#bit);
  }

  #remove(wait: Wait): void {
    this.#waits.delete(wait);
    wait.sleeper = undefined;
    wait.armed = false;
  }

  // Many waits arrive in one turn of the event loop (a burst of waitAsync
  // calls, or the waits that come back after a call returned): the call is
  // made, or the one in flight interrupted, once for all of them.
  #schedule(): void {
    if (this.#scheduled || this.#broken) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#broken) return;
      if (this.#inFlight) this.#interrupt();
      else if (this.#waits.size > 0) this.#call();
    });
  }

  // Makes the call in flight return (futex_waitv only): whether or not it
  // has reached the kernel yet, the control word no longer holds its value.
  #interrupt(): void {
    if (!this.#multiplexed) return;
    Atomics.add(this.#control!, 0, 1);
    futexWake(backend.pointer(this.#page + BigInt(CONTROL_OFFSET))!, 1);
  }

  #call(): void {
    const armed = [...this.#waits].filter((wait) => !wait.cancelled);
    for (const wait of this.#waits) {
      if (wait.cancelled) {
        this.#remove(wait);
        settle(wait);
      }
    }
    if (armed.length === 0) {
      this.#pool.roomFreed();
      return;
    }
    let deadlineMs = Infinity;
    for (const wait of armed) {
      wait.armed = true;
      deadlineMs = Math.min(deadlineMs, wait.deadlineMs);
    }
    let call: SleepCall;
    let control = 0;
    if (this.#multiplexed) {
      control = Atomics.load(this.#control!, 0);
      this.#entry(0, this.#page + BigInt(CONTROL_OFFSET), control);
      armed.forEach((wait, i) => this.#entry(i + 1, wait.address, wait.expected));
      call = {
        number: SYS_futex_waitv,
        first: this.#page + BigInt(WAITV_OFFSET),
        second: armed.length + 1,
        third: 0,
        deadlineMs,
        // futex_waitv's clockid, passed where the pointer argument goes.
        fifth: BigInt(CLOCK_MONOTONIC),
        sixth: 0,
      };
    } else {
      const [wait] = armed;
      call = {
        number: SYS_futex,
        first: wait.address,
        second: FUTEX_WAIT_BITSET,
        third: wait.expected,
        deadlineMs,
        fifth: 0n,
        sixth: this.#bit,
      };
    }
    this.#inFlight = true;
    this.#thread.sleep(call).then(
      (result) => this.#returned(result, armed, control, deadlineMs),
      (error: Error) => this.#fail(error),
    );
  }

  #entry(index: number, address: bigint, expected: number): void {
    const at = (index * FUTEX_WAITV_SIZE) / 4;
    const waitv = this.#waitv!;
    waitv[at] = expected >>> 0;
    waitv[at + 1] = 0;
    waitv[at + 2] = Number(address & 0xffff_ffffn);
    waitv[at + 3] = Number(address >> 32n);
    waitv[at + 4] = FUTEX2_SIZE_U32;
    waitv[at + 5] = 0;
  }

  #returned(result: number, armed: Wait[], control: number, deadlineMs: number): void {
    this.#inFlight = false;
    if (this.#broken) return;
    const now = monotonicMs();
    let ended: (wait: Wait) => boolean = (wait) => wait.cancelled || wait.deadlineMs <= now;
    // A wake-up that ended the call was meant for whoever sleeps on that
    // word (a post wakes one sleeper): if its wait was given up meanwhile,
    // nobody here takes it, so it is passed on rather than lost. At worst
    // another sleeper wakes for nothing.
    const woken = this.#multiplexed ? armed[result - 1] : result === 0 ? armed[0] : undefined;
    if (woken?.cancelled) futexWake(woken.word, 1);
    if (!this.#multiplexed || (result === -1 && deadlineMs > now && this.#giveUp(control))) {
      ended = () => true;
    } else if (woken !== undefined) {
      ended = (wait) => wait === woken || wait.cancelled || wait.deadlineMs <= now;
    }
    if (result !== -1 || deadlineMs <= now) this.#retries = 0;
    let freed = false;
    for (const wait of armed) {
      wait.armed = false;
      if (!ended(wait)) continue;
      this.#remove(wait);
      settle(wait);
      freed = true;
    }
    if (freed) this.#pool.roomFreed();
    // The waits just ended mostly come straight back: their callers poll
    // and wait again a few microtask turns later. A call made after those
    // takes them all, where one made at once would be interrupted by them.
    if (this.#waits.size > 0 && !this.#scheduled) {
      this.#scheduled = true;
      afterTurns(REJOIN_TURNS, () => {
        this.#scheduled = false;
        if (!this.#broken && !this.#inFlight && this.#waits.size > 0) this.#call();
      });
    }
  }

  // A failed futex_waitv that did not time out: if the control word moved,
  // the failure may only be that (EAGAIN on it), so the call is made once
  // more; otherwise, or the second time, a word changed, so all waits end.
  #giveUp(control: number): boolean {
    if (Atomics.load(this.#control!, 0) !== control && this.#retries === 0) {
      this.#retries = 1;
      return false;
    }
    this.#retries = 0;
    return true;
  }

  #fail(error: Error): void {
    this.#inFlight = false;
    if (this.#broken) return;
    this.#broken = true;
    this.#thread.end();
    for (const wait of this.#waits) {
      this.#remove(wait);
      settle(wait, error);
    }
    // Unmapped only if the thread never saw it; otherwise it stays.
    if (this.#page !== 0n && !this.#thread.mayRead) {
      libc.munmap(backend.pointer(this.#page), BigInt(PAGE_BYTES));
    }
    this.#pool.dropped(this);
  }
}

/**
 * Microtask turns between a call's return and the next call: the wait loop
 * needs two or three to poll and wait again. (A timer would do too, but
 * costs more CPU than the whole round trip; too few turns only cost one
 * more interruption.)
 */
const REJOIN_TURNS = 8;

/** Runs `run` after `turns` turns of the microtask queue. */
function afterTurns(turns: number, run: () => void): void {
  let promise = Promise.resolve();
  for (let i = 0; i < turns; i++) promise = promise.then();
  promise.then(run);
}
