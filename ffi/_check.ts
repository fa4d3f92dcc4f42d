/**
 * The one way a libc call fails in shmkit: compare its result with the
 * function's failure value, and on failure throw an `ErrnoError` built from
 * errno read straight after the call, before anything can change it.
 *
 * @module
 */
import { errno } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";

/** mmap's and shmat's failure value, `(void *) -1`. */
export const MAP_FAILED = 0xffff_ffff_ffff_ffffn;

/** sem_open's failure value, `SEM_FAILED`: a null pointer on glibc and musl. */
export const SEM_FAILED = 0n;

/**
 * Throws the `ErrnoError` of the call that just failed.
 *
 * @param syscall The C function that failed, e.g. `"shm_open"`.
 * @param action What shmkit was doing, worded to follow "Cannot".
 * @param path The object's name, key or path, if any.
 */
export function fail(syscall: string, action: string, path?: string): never {
  throw new ErrnoError(errno(), syscall, action, path);
}

/**
 * Returns `result` unless it is negative (libc's -1 failure), in which case
 * it throws. Fits every call that returns a descriptor, an id, a count or 0.
 */
export function check(result: number, syscall: string, action: string, path?: string): number {
  if (result < 0) fail(syscall, action, path);
  return result;
}

/**
 * Returns `address` unless it equals the call's failure value (`MAP_FAILED`
 * for mmap and shmat, `SEM_FAILED` for sem_open), in which case it throws.
 */
export function checkAddress(
  address: bigint,
  failed: bigint,
  syscall: string,
  action: string,
  path?: string,
): bigint {
  if (address === failed) fail(syscall, action, path);
  return address;
}
