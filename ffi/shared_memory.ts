/**
 * POSIX shared memory: `shm_open` + `posix_fallocate` + `mmap`.
 *
 * @module
 */
import { libc, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";
import { check } from "./_check.ts";
import { nullOnErrno, openOrCreate } from "./_open_or_create.ts";
import { Mapping } from "./_mapping.ts";
import { currentMapping, MappedRegion, replaceMapping, retireMapping } from "./mapped_region.ts";
import {
  closeDescriptor,
  fchmod,
  fstat,
  mapDescriptor,
  reserve,
  reserveHoles,
  unmap,
} from "./_fd.ts";
import {
  cString,
  validateBoolean,
  validateIpcName,
  validateMode,
  validateOptions,
  validateSize,
} from "./_validate.ts";

/** Options for {@linkcode SharedMemory.create}. */
export interface SharedMemoryCreateOptions {
  /**
   * Permission bits the object gets, exactly: the umask does not filter them
   * (they are set with fchmod after shm_open). Default 0o600.
   */
  mode?: number;
  /**
   * Fail with EEXIST if the name is taken (O_EXCL). Default true.
   * `exclusive: false` is the same as {@linkcode SharedMemory.openOrCreate}
   * (an existing object is opened, grown to `size` if smaller, never shrunk,
   * and all of it mapped), kept for compatibility.
   */
  exclusive?: boolean;
}

/** Options for {@linkcode SharedMemory.open}. */
export interface SharedMemoryOpenOptions {
  /**
   * Open O_RDONLY. The mapping is copy-on-write: reads see other processes'
   * writes, and a write through a view stays private to this process instead
   * of faulting it. Default false.
   */
  readOnly?: boolean;
}

/** Options for {@linkcode SharedMemory.openOrCreate}. */
export interface SharedMemoryOpenOrCreateOptions {
  /**
   * Permission bits when this call creates the object, exactly (not filtered
   * by the umask). Default 0o600.
   */
  mode?: number;
}

const DEFAULT_MODE = 0o600;

/** Checks what `create` and `openOrCreate` share; returns the mode. */
function checkCreate(name: unknown, size: unknown, options: unknown): number {
  validateIpcName(name, "name");
  validateSize(size, "size");
  validateOptions(options);
  const mode = (options as SharedMemoryOpenOrCreateOptions | undefined)?.mode ?? DEFAULT_MODE;
  validateMode(mode);
  return mode;
}

function mapObject(name: string, fd: number, size: number, readOnly: boolean): Mapping {
  const address = mapDescriptor(
    fd,
    size,
    readOnly,
    `map shared memory "${name}"`,
    name,
  );
  return new Mapping(
    address,
    size,
    `shared memory "${name}"`,
    () => unmap(address, size, `unmap shared memory "${name}"`, name),
    // The finalizer (and the registry, for a Worker) also closes the
    // descriptor, which close() would have.
    fd,
  );
}

/**
 * A POSIX shared memory object (`/dev/shm/NAME` on Linux) mapped into this
 * process. Any process that opens the same name sees the same bytes: Deno,
 * Bun, C or Python.
 *
 * The name outlives this process until someone calls `unlink()`.
 *
 * @example Two processes, one region
 * ```ts
 * import { SharedMemory } from "./mod.ts";
 *
 * const name = `/doc-orders-${Date.now()}`;
 * using shm = SharedMemory.create(name, 1 << 16);
 * shm.view(Int32Array, 0, 16)[0] = 42;
 *
 * // In another process: SharedMemory.open(name).view(Int32Array)[0] === 42
 * using same = SharedMemory.open(name);
 * console.assert(same.view(Int32Array)[0] === 42);
 * shm.unlink();
 * ```
 */
export class SharedMemory extends MappedRegion {
  readonly #name: string;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  #fd: number;
  #size: number;

  private constructor(
    name: string,
    fd: number,
    size: number,
    readOnly: boolean,
    created: boolean,
  ) {
    // On failure the caller, which opened fd, closes it.
    super(mapObject(name, fd, size, readOnly), `shared memory "${name}"`);
    this.#name = name;
    this.#fd = fd;
    this.#readOnly = readOnly;
    this.#created = created;
    this.#size = size;
  }

  /**
   * Creates a new object of `size` bytes (zero-filled) and maps it. The
   * memory is reserved now (posix_fallocate), so a full `/dev/shm` fails
   * here with ENOSPC rather than faulting a later write with SIGBUS; on any
   * failure the object this call made is unlinked again.
   *
   * @param name `/` followed by up to 253 bytes, no other `/`.
   * @param size Bytes, a positive safe integer.
   * @param options `mode` (default 0o600) and `exclusive` (default true;
   *   `false` is the same as {@linkcode SharedMemory.openOrCreate}, kept for
   *   compatibility).
   * @returns The mapped object; `created` is true.
   * @throws {TypeError|RangeError} On a bad name, size or option.
   * @throws {ErrnoError} `EEXIST` if the name is taken and `exclusive`;
   *   `ENOSPC` if `/dev/shm` cannot hold `size` more bytes.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-create-${Date.now()}`, 4096);
   * console.assert(shm.size === 4096 && shm.created);
   * shm.unlink();
   * ```
   */
  static create(
    name: string,
    size: number,
    options?: SharedMemoryCreateOptions,
  ): SharedMemory {
    const mode = checkCreate(name, size, options);
    validateBoolean(options?.exclusive, "options.exclusive");
    const exclusive = options?.exclusive ?? true;

    if (!exclusive) return SharedMemory.#openOrCreate(name, size, mode);
    const { O_RDWR, O_CREAT, O_EXCL, O_CLOEXEC } = platform;
    const fd = check(
      libc.shm_open(cString(name), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode),
      "shm_open",
      `create shared memory "${name}"`,
      name,
    );
    return SharedMemory.#made(name, fd, size, mode);
  }

  /**
   * Opens an existing object and maps all of it; its size comes from fstat.
   *
   * @param name The object's name.
   * @param options `readOnly` (default false).
   * @throws {ErrnoError} `ENOENT` if there is no such object.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const name = `/doc-open-${Date.now()}`;
   * using made = SharedMemory.create(name, 8192);
   * using seen = SharedMemory.open(name, { readOnly: true });
   * console.assert(seen.size === 8192 && !seen.created);
   * made.unlink();
   * ```
   */
  static open(name: string, options?: SharedMemoryOpenOptions): SharedMemory {
    validateIpcName(name, "name");
    validateOptions(options);
    validateBoolean(options?.readOnly, "options.readOnly");
    const readOnly = options?.readOnly ?? false;
    const { O_RDONLY, O_RDWR, O_CLOEXEC } = platform;
    const fd = check(
      libc.shm_open(cString(name), (readOnly ? O_RDONLY : O_RDWR) | O_CLOEXEC, 0),
      "shm_open",
      `open shared memory "${name}"`,
      name,
    );
    try {
      const size = fstat(fd, `read the size of shared memory "${name}"`, name).size;
      if (size === 0) {
        throw new ErrnoError(
          platform.EINVAL,
          "mmap",
          `map shared memory "${name}" of size 0 (its creator has not sized it yet)`,
          name,
        );
      }
      // A read-only handle cannot allocate (EBADF); see the README's safety section.
      if (!readOnly) reserveHoles(fd, size, `reserve shared memory "${name}"`, name);
      return new SharedMemory(name, fd, size, readOnly, false);
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  }

  /**
   * Opens the object if it exists, else creates it with `size` bytes. Exactly
   * one of several racing processes sees `created === true`, so that one
   * process initializes the contents; an object unlinked between this call's
   * create and open attempts is created again.
   *
   * An existing object smaller than `size` is grown (posix_fallocate, which
   * only ever grows, so racing calls with different sizes cannot cut pages
   * from under each other), and all of it is mapped. The creator maps the
   * `size` it asked for.
   *
   * @throws {ErrnoError} `ENOSPC` if `/dev/shm` cannot hold the growth.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const name = `/doc-ooc-${Date.now()}`;
   * using a = SharedMemory.openOrCreate(name, 4096);
   * using b = SharedMemory.openOrCreate(name, 4096);
   * console.assert(a.created && !b.created);
   * a.unlink();
   * ```
   */
  static openOrCreate(
    name: string,
    size: number,
    options?: SharedMemoryOpenOrCreateOptions,
  ): SharedMemory {
    return SharedMemory.#openOrCreate(name, size, checkCreate(name, size, options));
  }

  static #openOrCreate(name: string, size: number, mode: number): SharedMemory {
    const { O_RDWR, O_CREAT, O_EXCL, O_CLOEXEC, EEXIST, ENOENT } = platform;
    const path = cString(name);
    const { handle: fd, created } = openOrCreate(
      {
        tryCreate() {
          const made = libc.shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
          return made >= 0
            ? made
            : nullOnErrno([EEXIST], "shm_open", `create shared memory "${name}"`, name);
        },
        tryOpen() {
          const found = libc.shm_open(path, O_RDWR | O_CLOEXEC, 0);
          return found >= 0
            ? found
            : nullOnErrno([ENOENT], "shm_open", `open shared memory "${name}"`, name);
        },
      },
      "shm_open",
      `shared memory "${name}"`,
      name,
    );
    return created
      ? SharedMemory.#made(name, fd, size, mode)
      : SharedMemory.#joined(name, fd, size);
  }

  /**
   * Removes the name; mappings that exist stay valid until closed.
   *
   * @throws {ErrnoError} `ENOENT` if there is no such object.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const name = `/doc-unlink-${Date.now()}`;
   * SharedMemory.create(name, 4096).close();
   * SharedMemory.unlink(name);
   * ```
   */
  static unlink(name: string): void {
    validateIpcName(name, "name");
    check(libc.shm_unlink(cString(name)), "shm_unlink", `unlink shared memory "${name}"`, name);
  }

  // Finishes an object this call created with O_EXCL. It may not assume the
  // object is still empty: a racing openOrCreate can open and grow it the
  // moment it exists, so it is sized with reserve(), which never shrinks, and
  // exactly the `size` asked for is mapped. Any failure removes the name.
  static #made(name: string, fd: number, size: number, mode: number): SharedMemory {
    try {
      fchmod(fd, mode, `set the mode of shared memory "${name}"`, name);
      reserve(fd, size, `size shared memory "${name}" to ${size} bytes`, name);
      return new SharedMemory(name, fd, size, false, true);
    } catch (error) {
      libc.close(fd);
      libc.shm_unlink(cString(name));
      throw error;
    }
  }

  // Grows an existing object to at least `size` (never shrinking it: others
  // may have mapped all of it) and maps all of it. One already big enough is
  // left alone, so joining a large object does not walk all of its pages.
  static #joined(name: string, fd: number, size: number): SharedMemory {
    try {
      const sizeOf = () => fstat(fd, `read the size of shared memory "${name}"`, name).size;
      let current = sizeOf();
      if (current < size) {
        reserve(fd, size, `grow shared memory "${name}" to ${size} bytes`, name);
        current = sizeOf();
      }
      reserveHoles(fd, current, `reserve shared memory "${name}"`, name);
      return new SharedMemory(name, fd, current, false, false);
    } catch (error) {
      libc.close(fd);
      throw error;
    }
  }

  /** The name this object was opened by, e.g. `"/orders"`. */
  get name(): string {
    return this.#name;
  }

  /** Bytes mapped and reachable through views. */
  get size(): number {
    return this.#size;
  }

  /** True if this call created the object (so this process initializes it). */
  get created(): boolean {
    return this.#created;
  }

  /** True if opened with `readOnly`. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** `"copy-on-write"` if opened with `readOnly` (writes stay private), else `"read-write"`. */
  get access(): "read-write" | "copy-on-write" {
    return this.#readOnly ? "copy-on-write" : "read-write";
  }

  /**
   * Maps `size` bytes of the object instead of the current `size`, growing
   * the object first if it is smaller (posix_fallocate, so ENOSPC comes now
   * and not as a SIGBUS later). It never shrinks the object, whoever calls
   * it: another process may have the rest mapped and would fault touching
   * it. A smaller `size` only maps less of it in this handle. Other handles
   * keep their mappings; one that wants a grown size calls `resize()` too,
   * or opens the object again. Views made before are detached; make new ones.
   *
   * @param size Bytes to map, a positive safe integer.
   * @throws {RangeError} On a bad size.
   * @throws {ClosedError} After `close()`.
   * @throws {ErrnoError} From posix_fallocate (`ENOSPC`; `EBADF` when growing
   *   through a `readOnly` handle) or mmap; the old mapping then stays.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-resize-${Date.now()}`, 4096);
   * shm.resize(65536);
   * console.assert(shm.view(Uint8Array).length === 65536);
   * shm.resize(4096); // maps less; the object keeps its 65536 bytes
   * using again = SharedMemory.open(shm.name);
   * console.assert(shm.size === 4096 && again.size === 65536);
   * shm.unlink();
   * ```
   */
  resize(size: number): void {
    validateSize(size, "size");
    const old = currentMapping(this); // ClosedError before any system call
    const name = this.#name;
    if (fstat(this.#fd, `read the size of shared memory "${name}"`, name).size < size) {
      const how = this.#readOnly ? " through a read-only handle" : "";
      reserve(this.#fd, size, `grow shared memory "${name}" to ${size} bytes${how}`, name);
    } else if (!this.#readOnly) {
      // Another program may have grown it sparse (ftruncate) meanwhile.
      reserveHoles(this.#fd, size, `reserve shared memory "${name}"`, name);
    }
    replaceMapping(this, mapObject(this.#name, this.#fd, size, this.#readOnly));
    this.#size = size;
    old.release();
  }

  /**
   * Unmaps and closes the descriptor. Views become empty. Calling it again
   * does nothing. The name stays until `unlink()`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const shm = SharedMemory.create(`/doc-close-${Date.now()}`, 4096);
   * const bytes = shm.view(Uint8Array);
   * shm.close();
   * shm.close();
   * console.assert(bytes.length === 0);
   * SharedMemory.unlink(shm.name);
   * ```
   */
  close(): void {
    const mapping = retireMapping(this);
    if (mapping === null) return;
    const what = `close shared memory "${this.#name}"`;
    try {
      mapping.release();
    } finally {
      closeDescriptor(this.#fd, what, this.#name);
      this.#fd = -1;
    }
  }

  /**
   * Removes this object's name (shm_unlink). Works before or after close().
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-unlink2-${Date.now()}`, 4096);
   * shm.unlink();
   * ```
   */
  unlink(): void {
    SharedMemory.unlink(this.#name);
  }
}
