/**
 * shmkit's internal surface: everything `sync/`, `layout/` and the tests use
 * of `ffi/`'s private files, and nothing else. It is not exported from
 * `mod.ts` and is not part of the public API; it may change in any release.
 * Keeping it in one file makes what the other folders depend on visible, so
 * `ffi/`'s private files can change behind it.
 *
 * @module
 */

// The C library, bound for this thread, and the machine's constants.
export { backend, errno, libc, libcAsync, platform } from "./_libc.ts";
export type { LibcAsyncFunctions, UnsafePointer } from "./_backend.ts";
export { ERRNO_NAMES } from "./_linux.ts";
export { selectPlatform } from "./_platform.ts";
export { PLATFORM as LINUX_X64 } from "./_platform_linux_x64.ts";
export { PLATFORM as LINUX_ARM64 } from "./_platform_linux_arm64.ts";

// Failing calls, argument checks and wait options, written once.
export { check, checkAddress, SEM_FAILED } from "./_check.ts";
export {
  cString,
  describe,
  validateBoolean,
  validateInteger,
  validateIpcName,
  validateMode,
  validateOptions,
} from "./_validate.ts";
export {
  abortError,
  type CheckedWait,
  checkWaitOptions,
  timeoutError,
  validateTimeout,
} from "./_wait_options.ts";

// Objects: opening, descriptors, mappings, regions and their release.
export { nullOnErrno, openOrCreate } from "./_open_or_create.ts";
export { describeFileType, fstat, mapAnonymous, reserveHoles } from "./_fd.ts";
export { detachBuffer } from "./_mapping.ts";
export { checkRegion, onRelease } from "./_region.ts";
export { KIND_SEMAPHORE, track, untrack } from "./_registry.ts";

// Threads: who this one is, in a Mutex word, and whether a holder lives.
export { abandonedIdentity, holderAlive, ID_MASK, threadIdentity, WAITERS } from "./_thread.ts";
