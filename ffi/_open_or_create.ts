/**
 * The one open-or-create loop behind `SharedMemory`, `SysVSharedMemory`,
 * `MessageQueue` and `NamedSemaphore`: create exclusively, else open, and go
 * round again when the object vanished between the two calls (another
 * process unlinked or removed it). The exclusive create comes first so that
 * `created` is exact: of any number of racing callers, only the one whose
 * create succeeded is told it created the object.
 *
 * @module
 */
import { errno, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";

/**
 * How many create-then-open rounds a call makes before giving up. Each lost
 * round needs another process to remove the object between our two calls,
 * so 100 in a row only happens when something removes it in a tight loop.
 */
const OPEN_OR_CREATE_ROUNDS = 100;

/** The two steps of one round, for one kind of object. */
interface OpenOrCreateSteps<T> {
  /**
   * Creates the object exclusively (O_EXCL, IPC_EXCL). Returns null when
   * this call did not create it: the name is taken (EEXIST), or what it
   * created was removed before it could be used. Throws any other failure.
   */
  tryCreate(): T | null;
  /**
   * Opens the existing object. Returns null when it is gone (ENOENT, EIDRM):
   * removed since `tryCreate` found it. Throws any other failure.
   */
  tryOpen(): T | null;
}

/** What {@linkcode openOrCreate} found: the handle, and whether this call made the object. */
interface OpenedOrCreated<T> {
  handle: T;
  created: boolean;
}

/**
 * Runs create-then-open rounds until one yields a handle.
 *
 * @param steps The object's two steps.
 * @param syscall The call named in the error when every round lost.
 * @param what Names the object, e.g. `shared memory "/jobs"`.
 * @param path The object's name or key, for the error.
 * @throws {ErrnoError} `EAGAIN` when the object vanished in every round;
 *   whatever the steps throw.
 */
export function openOrCreate<T>(
  steps: OpenOrCreateSteps<T>,
  syscall: string,
  what: string,
  path?: string,
): OpenedOrCreated<T> {
  for (let round = 0; round < OPEN_OR_CREATE_ROUNDS; round++) {
    const made = steps.tryCreate();
    if (made !== null) return { handle: made, created: true };
    const found = steps.tryOpen();
    if (found !== null) return { handle: found, created: false };
  }
  throw new ErrnoError(
    platform.EAGAIN,
    syscall,
    `open or create ${what}: it vanished between create and open ${OPEN_OR_CREATE_ROUNDS} times in a row`,
    path,
  );
}

/**
 * For a call that just failed: returns null when errno is one of `expected`
 * (the outcome a step answers with null), else throws the call's
 * `ErrnoError`. The one place a step reads errno.
 */
export function nullOnErrno(
  expected: readonly number[],
  syscall: string,
  action: string,
  path?: string,
): null {
  const code = errno();
  if (expected.includes(code)) return null;
  throw new ErrnoError(code, syscall, action, path);
}
