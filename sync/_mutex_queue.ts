/**
 * The `lockAsync` calls of one thread that wait for one mutex word, in call
 * order. This file keeps the line (who is next, timeouts, aborts); when the
 * lock moves is decided in mutex.ts.
 *
 * A lock belongs to a thread, not to a task, so two tasks of one thread
 * cannot wait for each other in the kernel (the thread would wait for
 * itself). While this thread holds a mutex, or one of its calls already
 * waits for it, later calls wait here, in JS, each as a {@linkcode Turn}:
 * "waiting" in the line (with its own timer and abort listener), or
 * "contending", the one call at the front that competes with other threads
 * in a wait loop (which then owns its timeout and signal).
 *
 * Lines are per thread (module state is per Worker) and keyed by the word's
 * address, so Mutex objects over the same bytes of one mapping share one.
 *
 * @module
 */
import type { Mutex, MutexGuard } from "./mutex.ts";
import { abortError, timeoutError } from "../ffi/internal.ts";
import { monotonicMs, timerDelay } from "./_time.ts";

/** One pending `lockAsync` call. */
export class Turn {
  /** The Mutex object the call was made on: it receives the guard. */
  readonly mutex: Mutex;
  readonly what: string;
  /** The timeout asked for, for messages; `deadline` is what counts. */
  readonly timeout: number;
  /** Monotonic ms; Infinity for none. */
  readonly deadline: number;
  readonly signal: AbortSignal | undefined;
  readonly #resolve: (guard: MutexGuard) => void;
  readonly #reject: (error: unknown) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onAbort: (() => void) | undefined;

  constructor(
    mutex: Mutex,
    what: string,
    options: { timeout: number; signal: AbortSignal | undefined },
    settle: { resolve: (guard: MutexGuard) => void; reject: (error: unknown) => void },
  ) {
    this.mutex = mutex;
    this.what = what;
    this.timeout = options.timeout;
    this.deadline = options.timeout === Infinity ? Infinity : monotonicMs() + options.timeout;
    this.signal = options.signal;
    this.#resolve = settle.resolve;
    this.#reject = settle.reject;
  }

  /** Milliseconds left until the deadline (0 once passed). */
  remaining(): number {
    return this.deadline === Infinity ? Infinity : Math.max(0, this.deadline - monotonicMs());
  }

  resolve(guard: MutexGuard): void {
    this.#resolve(guard);
  }

  reject(error: unknown): void {
    this.#reject(error);
  }

  /** Starts the timer and the abort listener of a call waiting in `line`. */
  arm(line: Line): void {
    const { signal } = this;
    if (signal?.aborted) return line.drop(this, abortError(signal, this.what));
    if (this.deadline !== Infinity) {
      // Timers may fire a little early on the monotonic clock: look again.
      const fire = () => {
        const left = this.deadline - monotonicMs();
        if (left > 0) this.#timer = setTimeout(fire, timerDelay(left));
        else line.drop(this, timeoutError(this.what, this.timeout));
      };
      this.#timer = setTimeout(fire, timerDelay(this.remaining()));
    }
    if (signal !== undefined) {
      this.#onAbort = () => line.drop(this, abortError(signal, this.what));
      signal.addEventListener("abort", this.#onAbort, { once: true });
    }
  }

  /** Stops what `arm` started. */
  disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#onAbort !== undefined) this.signal!.removeEventListener("abort", this.#onAbort);
    this.#onAbort = undefined;
  }
}

// This thread's lines, by word address; a line is deleted once empty.
const lines = new Map<bigint, Line>();

/** True when this thread has a line for some word: unlock must look. */
export function anyLine(): boolean {
  return lines.size !== 0;
}

/** The line for the word at `address`, if this thread has one. */
export function lineAt(address: bigint): Line | undefined {
  return lines.get(address);
}

/**
 * The line for the word at `address`, made if needed. `check` runs every
 * `checkMs` while calls wait in it: they wait for a hand-over that a closed
 * region or a lock released elsewhere would never bring.
 */
export function openLine(address: bigint, check: (line: Line) => void, checkMs: number): Line {
  let line = lines.get(address);
  if (line === undefined) lines.set(address, line = new Line(address, check, checkMs));
  return line;
}

/** The calls of this thread waiting for one word. */
export class Line {
  readonly address: bigint;
  /** The call at the front that competes with other threads, if any. */
  #contender: Turn | null = null;
  /**
   * Hand-overs in a row inside this thread while another thread waited;
   * mutex.ts bounds them so that other processes get their turn.
   */
  handOvers = 0;
  /**
   * Set while this thread keeps out of the race for the word, so that a
   * waiter it woke elsewhere gets the lock first (mutex.ts).
   */
  makingWay = false;
  /** Times in a row that nobody came while this thread made way. */
  unusedMakeWays = 0;
  readonly #waiting: Turn[] = [];
  readonly #check: (line: Line) => void;
  readonly #checkMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(address: bigint, check: (line: Line) => void, checkMs: number) {
    this.address = address;
    this.#check = check;
    this.#checkMs = checkMs;
  }

  get contender(): Turn | null {
    return this.#contender;
  }

  set contender(turn: Turn | null) {
    if (turn !== null && !lines.has(this.address)) lines.set(this.address, this);
    this.#contender = turn;
    this.#forgetIfEmpty();
  }

  /** The first waiting call. */
  get first(): Turn | undefined {
    return this.#waiting[0];
  }

  /** The waiting calls, front first (a copy: dropping one is safe). */
  waiting(): Turn[] {
    return this.#waiting.slice();
  }

  /** Adds a call at the back (`front`: back at the front, after contending). */
  add(turn: Turn, front = false): void {
    if (!lines.has(this.address)) lines.set(this.address, this);
    if (front) this.#waiting.unshift(turn);
    else this.#waiting.push(turn);
    turn.arm(this);
    if (this.#timer === undefined && this.#waiting.length !== 0) {
      const tick = () => {
        this.#timer = undefined;
        this.#check(this);
        if (this.#waiting.length !== 0 && this.#timer === undefined) {
          this.#timer = setTimeout(tick, this.#checkMs);
        }
      };
      this.#timer = setTimeout(tick, this.#checkMs);
    }
  }

  /** Takes the first waiting call out of the line (it is still pending). */
  next(): Turn | undefined {
    const turn = this.#waiting.shift();
    turn?.disarm();
    this.#forgetIfEmpty();
    return turn;
  }

  /** Takes a waiting call out of the line and rejects it with `error`. */
  drop(turn: Turn, error: unknown): void {
    const at = this.#waiting.indexOf(turn);
    if (at < 0) return;
    this.#waiting.splice(at, 1);
    turn.disarm();
    turn.reject(error);
    this.#forgetIfEmpty();
  }

  #forgetIfEmpty(): void {
    if (this.#contender !== null || this.#waiting.length !== 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (lines.get(this.address) === this) lines.delete(this.address);
  }
}
