/**
 * A named POSIX semaphore: `sem_open`, visible to every process as
 * `/dev/shm/sem.NAME` on Linux.
 *
 * @module
 */
import {
  backend,
  check,
  checkAddress,
  cString,
  describeFileType,
  detachBuffer,
  errno,
  fstat,
  KIND_SEMAPHORE,
  libc,
  nullOnErrno,
  openOrCreate,
  platform,
  reserveHoles,
  SEM_FAILED,
  track,
  type UnsafePointer,
  untrack,
  validateBoolean,
  validateInteger,
  validateIpcName,
  validateMode,
  validateOptions,
} from "../ffi/internal.ts";
import { ClosedError, CorruptedError, ErrnoError } from "../ffi/errors.ts";
import { futexWake, WAKE_ALL } from "./_futex.ts";
import {
  requireGlibcSemaphores,
  type SemaphoreAccess,
  type SemCells,
  semCells,
  semCheck,
} from "./_sem_ops.ts";
import { CountingSemaphore } from "./counting_semaphore.ts";

/**
 * Options for {@linkcode NamedSemaphore.create}.
 *
 * @example A semaphore the owner's group may use too, joined if it exists
 * ```ts
 * import { NamedSemaphore } from "../mod.ts";
 * const name = `/doc-named-options-${Date.now()}`;
 * using sem = NamedSemaphore.create(name, 1, { mode: 0o660, exclusive: false });
 * NamedSemaphore.unlink(name);
 * ```
 */
export interface NamedSemaphoreCreateOptions {
  /**
   * Permission bits the semaphore gets, exactly: the umask does not filter
   * them (its file is chmod-ed after creation). Default 0o600 (owner only).
   * Another user needs read and write permission to open it.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.create(`/doc-named-mode-${Date.now()}`, 0, { mode: 0o640 });
   * sem.unlink();
   * ```
   */
  mode?: number;
  /**
   * Fail with EEXIST if the name is taken (O_EXCL). Default true.
   * `exclusive: false` is the same as {@linkcode NamedSemaphore.openOrCreate}
   * (an existing semaphore is opened and `value` ignored), kept for
   * compatibility.
   *
   * @example Join the semaphore if another process made it first
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-exclusive-${Date.now()}`;
   * using first = NamedSemaphore.create(name, 1);
   * using second = NamedSemaphore.create(name, 5, { exclusive: false });
   * console.assert(first.created && !second.created && second.value === 1);
   * NamedSemaphore.unlink(name);
   * ```
   */
  exclusive?: boolean;
}

/**
 * Options for {@linkcode NamedSemaphore.openOrCreate}.
 *
 * @example
 * ```ts
 * import { NamedSemaphore } from "../mod.ts";
 * const name = `/doc-named-ooc-options-${Date.now()}`;
 * using sem = NamedSemaphore.openOrCreate(name, 0, { mode: 0o600 });
 * NamedSemaphore.unlink(name);
 * ```
 */
export interface NamedSemaphoreOpenOrCreateOptions {
  /**
   * Permission bits when this call creates it, exactly (not filtered by the
   * umask). Default 0o600.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-ooc-mode-${Date.now()}`;
   * using sem = NamedSemaphore.openOrCreate(name, 1, { mode: 0o660 });
   * sem.unlink();
   * ```
   */
  mode?: number;
}

const DEFAULT_MODE = 0o600;
/** glibc and musl store `/NAME` as `/dev/shm/sem.NAME`: four more bytes. */
const PREFIX_BYTES = 4;

// Closes handles whose object was dropped without close(). It only releases
// this process's mapping; the name is never unlinked behind anyone's back.
const finalizer = new FinalizationRegistry<{ address: bigint; entry: number }>((held) => {
  untrack(held.entry);
  libc.sem_close(backend.pointer(held.address));
});

// This process's handle on a named sem_t, until close().
class OpenSemaphore implements SemaphoreAccess {
  readonly what: string;
  readonly path: string;
  readonly registered: Set<() => void> = new Set();
  /** Its entry in the process-wide registry, for when a Worker ends unclosed. */
  entry = 0;
  #pointer: UnsafePointer | null;
  #cells: SemCells;

  constructor(name: string, address: bigint) {
    this.what = `semaphore "${name}"`;
    this.path = name;
    this.#pointer = backend.pointer(address);
    const words = new Int32Array(backend.arrayBuffer(address, platform.SEM_T_SIZE));
    this.#cells = semCells(this.#pointer!, words);
  }

  get closed(): boolean {
    return this.#pointer === null;
  }

  cells(): SemCells {
    if (this.#pointer === null) throw new ClosedError(this.what);
    return this.#cells;
  }

  // sem_close unmaps the sem_t, so nothing may touch it afterwards: pending
  // waits are withdrawn and the view detached first.
  close(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    for (const withdraw of this.registered) withdraw();
    finalizer.unregister(this);
    this.#pointer = null;
    detachBuffer(this.#cells.words.buffer as ArrayBuffer);
    // Wake this object's sleepers so that they notice the close at once.
    futexWake(pointer, WAKE_ALL);
    untrack(this.entry);
    check(libc.sem_close(pointer), "sem_close", `close ${this.what}`, this.path);
  }
}

// glibc's sem_open maps sizeof(sem_t) of whatever file has the name. One
// shorter than that (truncated, or not made by sem_open) faults with SIGBUS
// at the first touch, and so does a sparse one in a full /dev/shm: look at
// the file first, and allocate its holes. A file that is not there or not
// ours to open is left for sem_open to report.
function checkFile(name: string): void {
  const { O_RDWR, O_NONBLOCK, O_NOFOLLOW, O_CLOEXEC, S_IFREG, SEM_T_SIZE } = platform;
  const fd = libc.open(
    cString(`/dev/shm/sem.${name.slice(1)}`),
    O_RDWR | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC,
    0,
  );
  if (fd < 0) return;
  try {
    const status = fstat(fd, `read the size of semaphore "${name}"`, name);
    if (status.type !== S_IFREG || status.size < SEM_T_SIZE) {
      const kind = status.type === S_IFREG ? "a file" : describeFileType(status.type);
      throw new CorruptedError(
        `semaphore "${name}"`,
        `its file is ${kind} of ${status.size} bytes`,
      );
    }
    reserveHoles(fd, SEM_T_SIZE, `reserve semaphore "${name}"`, name);
  } finally {
    libc.close(fd);
  }
}

// sem_open filters the mode through the umask, and a semaphore another user
// cannot open read-write is useless to them, so a semaphore this call created
// gets exactly `mode` by chmod of its file. When the file is already gone
// (another process unlinked the name at once) nobody else can open it: the
// handle is kept, as if the unlink had come just after this call returned
// (going round again instead lost every round to a process unlinking in a
// loop). On any other failure the handle is closed and the name removed.
function setExactMode(name: string, address: bigint, mode: number): void {
  // glibc names the file /dev/shm/sem.NAME (musl is refused before this).
  const file = `/dev/shm/sem.${name.slice(1)}`;
  if (libc.chmod(cString(file), mode) === 0) return;
  const code = errno();
  if (code === platform.ENOENT) return;
  libc.sem_close(backend.pointer(address));
  libc.sem_unlink(cString(name));
  throw new ErrnoError(code, "chmod", `set the mode of semaphore "${name}"`, name);
}

/** Checks what `create` and `openOrCreate` share; returns the mode. */
function checkCreate(name: unknown, value: unknown, options: unknown): number {
  validateIpcName(name, "name", PREFIX_BYTES);
  validateInteger(value, "value", 0, platform.SEM_VALUE_MAX);
  validateOptions(options);
  const mode = (options as NamedSemaphoreCreateOptions | undefined)?.mode ?? DEFAULT_MODE;
  validateMode(mode, "options.mode");
  requireGlibcSemaphores(`semaphore "${name}"`, name as string);
  return mode;
}

/**
 * A named counting semaphore (`sem_open`). Any process that opens the same
 * name, in any language, shares it; the name stays until someone calls
 * `unlink()`, even after every process closed it.
 *
 * The operations (`wait`, `tryWait`, `waitAsync`, `post`, `value`) are those
 * of {@linkcode CountingSemaphore}.
 *
 * @example A lock shared by name
 * ```ts
 * import { NamedSemaphore } from "../mod.ts";
 *
 * const name = `/doc-named-${Date.now()}`;
 * using sem = NamedSemaphore.openOrCreate(name, 1);
 * sem.wait();
 * try {
 *   // ... the critical section ...
 * } finally {
 *   sem.post();
 * }
 * NamedSemaphore.unlink(name);
 * ```
 */
export class NamedSemaphore extends CountingSemaphore implements Disposable {
  readonly #name: string;
  readonly #created: boolean;
  readonly #sem: OpenSemaphore;

  private constructor(name: string, address: bigint, created: boolean) {
    const sem = new OpenSemaphore(name, address);
    try {
      // Another process may have scribbled over the file; refuse it whole.
      semCheck(sem);
    } catch (error) {
      libc.sem_close(backend.pointer(address));
      throw error;
    }
    super(sem);
    this.#name = name;
    this.#created = created;
    this.#sem = sem;
    sem.entry = track(KIND_SEMAPHORE, address, platform.SEM_T_SIZE);
    finalizer.register(this, { address, entry: sem.entry }, sem);
  }

  /**
   * Creates a semaphore with an initial `value` and opens it.
   *
   * @param name `/` followed by up to 249 bytes, no other `/`.
   * @param value The initial count, 0 to 2147483647.
   * @param options `mode` (default 0o600) and `exclusive` (default true;
   *   `false` is the same as {@linkcode NamedSemaphore.openOrCreate}, kept
   *   for compatibility).
   * @returns The open semaphore; `created` tells whether this call made it.
   * @throws {TypeError|RangeError} On a bad name, value or option.
   * @throws {ErrnoError} `EEXIST` if the name is taken and `exclusive`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.create(`/doc-named-create-${Date.now()}`, 2);
   * console.assert(sem.created && sem.value === 2);
   * sem.unlink();
   * ```
   */
  static create(
    name: string,
    value: number,
    options?: NamedSemaphoreCreateOptions,
  ): NamedSemaphore {
    const mode = checkCreate(name, value, options);
    validateBoolean(options?.exclusive, "options.exclusive");
    if (options?.exclusive === false) return NamedSemaphore.#openOrCreate(name, value, mode);
    const { O_CREAT, O_EXCL } = platform;
    const address = checkAddress(
      libc.sem_open(cString(name), O_CREAT | O_EXCL, mode, value),
      SEM_FAILED,
      "sem_open",
      `create semaphore "${name}"`,
      name,
    );
    setExactMode(name, address, mode);
    return new NamedSemaphore(name, address, true);
  }

  /**
   * Opens an existing semaphore.
   *
   * @param name The semaphore's name.
   * @throws {ErrnoError} `ENOENT` if there is none by that name.
   * @throws {CorruptedError} If its file holds no valid `sem_t`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-open-${Date.now()}`;
   * using made = NamedSemaphore.create(name, 0);
   * using seen = NamedSemaphore.open(name);
   * made.post();
   * console.assert(seen.tryWait() && !seen.created);
   * made.unlink();
   * ```
   */
  static open(name: string): NamedSemaphore {
    validateIpcName(name, "name", PREFIX_BYTES);
    requireGlibcSemaphores(`semaphore "${name}"`, name);
    checkFile(name);
    const address = checkAddress(
      libc.sem_open(cString(name), 0, 0, 0),
      SEM_FAILED,
      "sem_open",
      `open semaphore "${name}"`,
      name,
    );
    return new NamedSemaphore(name, address, false);
  }

  /**
   * Opens the semaphore, creating it with `value` if it does not exist.
   * Exactly one of several racing processes sees `created === true`; a
   * semaphore unlinked between this call's create and open attempts is
   * created again.
   *
   * @param name The semaphore's name.
   * @param value The initial count if this call creates it.
   * @param options `mode` when creating (default 0o600).
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-ooc-${Date.now()}`;
   * using a = NamedSemaphore.openOrCreate(name, 1);
   * using b = NamedSemaphore.openOrCreate(name, 1);
   * console.assert(a.created && !b.created);
   * NamedSemaphore.unlink(name);
   * ```
   */
  static openOrCreate(
    name: string,
    value: number,
    options?: NamedSemaphoreOpenOrCreateOptions,
  ): NamedSemaphore {
    const mode = checkCreate(name, value, options);
    return NamedSemaphore.#openOrCreate(name, value, mode);
  }

  static #openOrCreate(name: string, value: number, mode: number): NamedSemaphore {
    const { O_CREAT, O_EXCL, EEXIST, ENOENT } = platform;
    const path = cString(name);
    const { handle, created } = openOrCreate(
      {
        tryCreate() {
          const made = libc.sem_open(path, O_CREAT | O_EXCL, mode, value);
          if (made === SEM_FAILED) {
            return nullOnErrno([EEXIST], "sem_open", `create semaphore "${name}"`, name);
          }
          setExactMode(name, made, mode);
          return made;
        },
        tryOpen() {
          checkFile(name);
          const found = libc.sem_open(path, 0, 0, 0);
          if (found !== SEM_FAILED) return found;
          return nullOnErrno([ENOENT], "sem_open", `open semaphore "${name}"`, name);
        },
      },
      "sem_open",
      `semaphore "${name}"`,
      name,
    );
    return new NamedSemaphore(name, handle, created);
  }

  /**
   * Removes the name (`sem_unlink`). Processes that have it open keep using
   * it; the next `open` of the name fails, the next `create` makes a new one.
   *
   * @throws {ErrnoError} `ENOENT` if there is none by that name.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-unlink-${Date.now()}`;
   * NamedSemaphore.create(name, 0).close();
   * NamedSemaphore.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    validateIpcName(name, "name", PREFIX_BYTES);
    check(libc.sem_unlink(cString(name)), "sem_unlink", `unlink semaphore "${name}"`, name);
  }

  /**
   * The name it was opened by, e.g. `"/jobs"`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-name-${Date.now()}`;
   * using sem = NamedSemaphore.create(name, 0);
   * console.assert(sem.name === name);
   * sem.unlink();
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * True if this call created the semaphore.
   *
   * @example The creator sets up, the others only join
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.openOrCreate(`/doc-named-created-${Date.now()}`, 0);
   * if (sem.created) {
   *   // first one here: prepare what the semaphore guards, then post
   *   sem.post();
   * }
   * sem.unlink();
   * ```
   */
  get created(): boolean {
    return this.#created;
  }

  /**
   * True after `close()`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const sem = NamedSemaphore.create(`/doc-named-closed-${Date.now()}`, 0);
   * sem.unlink();
   * console.assert(!sem.closed);
   * sem.close();
   * console.assert(sem.closed);
   * ```
   */
  get closed(): boolean {
    return this.#sem.closed;
  }

  /**
   * Closes this process's handle (`sem_close`); the semaphore and its name
   * stay. Pending async waits of this object reject with `ClosedError`.
   * Calling it again does nothing.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const sem = NamedSemaphore.create(`/doc-named-close-${Date.now()}`, 0);
   * sem.close();
   * sem.close();
   * console.assert(sem.closed);
   * NamedSemaphore.unlink(sem.name);
   * ```
   */
  close(): void {
    this.#sem.close();
  }

  /**
   * Removes this semaphore's name; see the static {@linkcode NamedSemaphore.unlink}.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * using sem = NamedSemaphore.create(`/doc-named-unlink2-${Date.now()}`, 0);
   * sem.unlink();
   * ```
   */
  unlink(): void {
    NamedSemaphore.unlink(this.#name);
  }

  /**
   * Same as `close()`, for `using`.
   *
   * @example
   * ```ts
   * import { NamedSemaphore } from "../mod.ts";
   * const name = `/doc-named-dispose-${Date.now()}`;
   * {
   *   using sem = NamedSemaphore.create(name, 0);
   *   sem.post();
   * } // closed here; the name stays
   * using again = NamedSemaphore.open(name);
   * console.assert(again.value === 1);
   * NamedSemaphore.unlink(name);
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
