/**
 * A memory-based POSIX semaphore: a real `sem_t` made by `sem_init` with
 * `pshared = 1` inside any shared region.
 *
 * @module
 */
import { check, libc, platform, validateInteger } from "../ffi/internal.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { futexWake, WAKE_ALL } from "./_futex.ts";
import { Place } from "./_place.ts";
import {
  requireGlibcSemaphores,
  type SemaphoreAccess,
  type SemCells,
  semCells,
  semCheck,
} from "./_sem_ops.ts";
import { CountingSemaphore } from "./counting_semaphore.ts";

// The sem_t at a place in a region.
class MemorySemaphore extends Place implements SemaphoreAccess {
  readonly registered: Set<() => void> = new Set();
  #cells: SemCells | null = null;

  constructor(region: SharedRegion, byteOffset: number) {
    super(region, byteOffset, platform.SEM_T_SIZE, platform.SEM_T_ALIGN, "semaphore");
  }

  cells(): SemCells {
    const words = this.words();
    // Rebuilt only when the place was looked up again (a remapped region).
    if (this.#cells?.words !== words) this.#cells = semCells(this.pointer, words);
    return this.#cells;
  }

  destroy(): void {
    if (this.retired) return;
    const { pointer } = this.cells();
    for (const withdraw of this.registered) withdraw();
    this.retire();
    this.#cells = null;
    futexWake(pointer, WAKE_ALL);
    check(libc.sem_destroy(pointer), "sem_destroy", `destroy ${this.what}`);
  }
}

/**
 * A counting semaphore that lives in shared memory: a real `sem_t` (32
 * bytes, 8-aligned on x86-64 and aarch64) that `sem_init` made
 * process-shared. Every process that maps the same bytes, C programs
 * included, uses the same semaphore through `sem_wait`/`sem_post`.
 *
 * One process creates it with {@linkcode Semaphore.init}; the others call
 * {@linkcode Semaphore.attach} on the same offset. The operations (`wait`,
 * `tryWait`, `waitAsync`, `post`, `value`) are those of
 * {@linkcode CountingSemaphore}.
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
export class Semaphore extends CountingSemaphore {
  /**
   * Bytes a semaphore occupies: `sizeof(sem_t)`.
   *
   * @example Two semaphores of a bounded queue, back to back
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-bytes-${Date.now()}`, 4096);
   * const free = Semaphore.init(shm, 0, 8);
   * const used = Semaphore.init(shm, Semaphore.byteLength, 0);
   * console.assert(free.value === 8 && used.value === 0);
   * shm.unlink();
   * ```
   */
  static readonly byteLength: number = platform.SEM_T_SIZE;
  /**
   * The alignment `byteOffset` needs: `alignof(sem_t)`.
   *
   * @example
   * ```ts
   * import { Semaphore } from "../mod.ts";
   * const offset = 4; // after an int
   * const aligned = Math.ceil(offset / Semaphore.alignment) * Semaphore.alignment;
   * console.assert(aligned === 8);
   * ```
   */
  static readonly alignment: number = platform.SEM_T_ALIGN;

  readonly #sem: MemorySemaphore;

  private constructor(sem: MemorySemaphore) {
    super(sem);
    this.#sem = sem;
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
    const sem = new MemorySemaphore(region, byteOffset);
    validateInteger(value, "value", 0, platform.SEM_VALUE_MAX);
    requireGlibcSemaphores(sem.what);
    check(libc.sem_init(sem.cells().pointer, 1, value), "sem_init", `initialize ${sem.what}`);
    return new Semaphore(sem);
  }

  /**
   * Uses the semaphore that another process (or C program) initialized at
   * `byteOffset` of `region`. Nothing is written. The bytes are checked
   * first, and again by every operation: anything but a glibc `sem_t`
   * (`sem_init` with either `pshared`, or zeroed memory) is refused.
   *
   * @param region The region holding the semaphore.
   * @param byteOffset Where `init` (or C's `sem_init`) put it.
   * @returns The semaphore.
   * @throws {TypeError|RangeError} On a bad region or offset.
   * @throws {ClosedError} If the region is closed.
   * @throws {CorruptedError} If the bytes there are no valid `sem_t`.
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
    const sem = new MemorySemaphore(region, byteOffset);
    requireGlibcSemaphores(sem.what);
    semCheck(sem);
    return new Semaphore(sem);
  }

  /**
   * The region this semaphore lives in.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-region-${Date.now()}`, 4096);
   * console.assert(Semaphore.init(shm, 32).region === shm);
   * shm.unlink();
   * ```
   */
  get region(): SharedRegion {
    return this.#sem.region;
  }

  /**
   * Where in the region it lives.
   *
   * @example
   * ```ts
   * import { Semaphore, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-sem-offset-${Date.now()}`, 4096);
   * console.assert(Semaphore.init(shm, 32).byteOffset === 32);
   * shm.unlink();
   * ```
   */
  get byteOffset(): number {
    return this.#sem.byteOffset;
  }

  /**
   * Destroys the semaphore (`sem_destroy`); this object is unusable after,
   * and so are the others that share it: call it once, when no process uses
   * the semaphore any more. Calling it again does nothing. Pending async
   * waits of this object reject with `ClosedError`.
   *
   * @throws {ClosedError} If the region was closed first.
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
    this.#sem.destroy();
  }
}
