/**
 * The errors shmkit throws when the operating system says no, and when an
 * object is used after it was closed.
 *
 * @module
 */
import { ERRNO_NAMES, ERRNO_TEXT } from "./_linux.ts";

/**
 * A system call failed. Carries the C `errno`, its symbolic name as `code`,
 * the call that failed as `syscall`, and the shared object's name or path.
 *
 * @example Telling "already exists" apart from other failures
 * ```ts
 * import { ErrnoError, SharedMemory } from "./mod.ts";
 *
 * using first = SharedMemory.create(`/doc-errno-${Date.now()}`, 4096);
 * try {
 *   SharedMemory.create(first.name, 4096);
 * } catch (error) {
 *   if (!(error instanceof ErrnoError) || error.code !== "EEXIST") throw error;
 * }
 * first.unlink();
 * ```
 */
export class ErrnoError extends Error {
  /** The numeric errno value, e.g. 17. */
  readonly errno: number;
  /** The errno name, e.g. `"EEXIST"`; `"E<number>"` when unknown. */
  readonly code: string;
  /** The C function that failed, e.g. `"shm_open"`. */
  readonly syscall: string;
  /** The object's name, key or path, when the call had one. */
  readonly path?: string;

  /**
   * Builds the error; call `errno()` as the first argument, right after the
   * failing call, so that nothing can change errno in between.
   *
   * @param errno The errno value.
   * @param syscall The C function that failed.
   * @param action What we were doing, worded to follow "Cannot".
   * @param path The object's name or path, if any.
   */
  constructor(errno: number, syscall: string, action: string, path?: string) {
    const code = errnoName(errno);
    const why = ERRNO_TEXT[code] ?? `error ${errno}`;
    super(`Cannot ${action}: ${why} (${code}, ${syscall})`);
    this.name = "ErrnoError";
    this.errno = errno;
    this.code = code;
    this.syscall = syscall;
    if (path !== undefined) this.path = path;
  }
}

/**
 * An object was used after `close()`, `detach()` or `destroy()`.
 *
 * @example
 * ```ts
 * import { ClosedError, SharedMemory } from "./mod.ts";
 *
 * const shm = SharedMemory.create(`/doc-closed-${Date.now()}`, 4096);
 * shm.unlink();
 * shm.close();
 * try {
 *   shm.view(Uint8Array);
 * } catch (error) {
 *   console.assert(error instanceof ClosedError);
 * }
 * ```
 */
export class ClosedError extends Error {
  /**
   * Builds the error.
   *
   * @param what Names the object, e.g. `shared memory "/jobs"`.
   */
  constructor(what: string) {
    super(`Cannot use ${what}: it is closed`);
    this.name = "ClosedError";
  }
}

/**
 * Shared memory does not hold what it should: a primitive's bytes were
 * overwritten (by another process, or a bug) or never initialized. Thrown
 * instead of acting on them, so that a scribbled semaphore is an error, not
 * a process that libc aborts or a wait that never ends.
 *
 * @example Attaching to bytes that are not a semaphore
 * ```ts
 * import { CorruptedError, Semaphore, SharedMemory } from "../mod.ts";
 *
 * using shm = SharedMemory.create(`/doc-corrupted-${Date.now()}`, 4096);
 * shm.view(Int32Array, 0, 8).fill(-1); // not what sem_init writes
 * try {
 *   Semaphore.attach(shm, 0);
 * } catch (error) {
 *   console.assert(error instanceof CorruptedError);
 * }
 * shm.unlink();
 * ```
 */
export class CorruptedError extends Error {
  /**
   * Builds the error.
   *
   * @param what Names the object, e.g. `the semaphore at byte 64`.
   * @param why What is wrong with it, e.g. `its value is 4294967295`.
   */
  constructor(what: string, why: string) {
    super(`Cannot use ${what}: it is corrupted (${why})`);
    this.name = "CorruptedError";
  }
}

/**
 * The symbolic name of an errno value.
 *
 * @example
 * ```ts
 * import { errnoName } from "./mod.ts";
 * console.assert(errnoName(17) === "EEXIST");
 * ```
 */
export function errnoName(value: number): string {
  return ERRNO_NAMES[value] ?? `E${value}`;
}
