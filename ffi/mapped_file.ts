/**
 * Regular files mapped into memory: `open` + `mmap`, `msync` to flush.
 *
 * @module
 */
import { backend, libc, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";
import { check } from "./_check.ts";
import { nullOnErrno, openOrCreate } from "./_open_or_create.ts";
import { Mapping } from "./_mapping.ts";
import { currentMapping, MappedRegion, retireMapping } from "./mapped_region.ts";
import {
  closeDescriptor,
  describeFileType,
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
  validateMode,
  validateOptions,
  validatePath,
  validateSize,
} from "./_validate.ts";

/** Options for {@linkcode MappedFile.open}. */
export interface MappedFileOptions {
  /**
   * Bytes to map. Default: the file's size. A file shorter than `size` is
   * refused (touching pages past its end would raise SIGBUS) unless
   * `create` made it now or `grow` is set, which extend it with zeros and
   * reserve the blocks (posix_fallocate), so a full file system is an
   * ENOSPC from `open()` rather than a SIGBUS at the first write.
   */
  size?: number;
  /** Create the file if it does not exist. Default false. */
  create?: boolean;
  /**
   * With `create`, fail with EEXIST if the file exists (O_EXCL). Default
   * true; pass false to open an existing file or create a missing one.
   */
  exclusive?: boolean;
  /**
   * Permission bits a created file gets, exactly: the umask does not filter
   * them (they are set with fchmod after open). Default 0o600.
   */
  mode?: number;
  /**
   * Extend a shorter file to `size` (posix_fallocate). Never shrinks, even
   * when another process grows the same file at the same time. Default false.
   */
  grow?: boolean;
  /**
   * Open O_RDONLY. The mapping is then copy-on-write, so a stray write
   * through a view stays in this process instead of faulting it. Default false.
   */
  readOnly?: boolean;
  /**
   * Copy-on-write (MAP_PRIVATE): writes are visible only to this process and
   * never reach the file. Default false.
   */
  private?: boolean;
}

/** Options for {@linkcode MappedFile.flush}. */
export interface FlushOptions {
  /** Schedule the write-back (MS_ASYNC) instead of waiting (MS_SYNC). */
  async?: boolean;
}

// Opens the file, telling whether this call created it: with create and not
// exclusive, through the one open-or-create loop (O_EXCL first, so that
// `created` is exact; again if the file vanished in between). O_NONBLOCK
// keeps open(2) of a FIFO from waiting forever for a writer; the caller
// refuses anything that is not a regular file before using the descriptor.
function openFile(
  path: string,
  writes: boolean,
  create: boolean,
  exclusive: boolean,
  mode: number,
): { fd: number; created: boolean } {
  const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_CLOEXEC, O_NONBLOCK, EEXIST, ENOENT } = platform;
  const base = (writes ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NONBLOCK;
  const file = cString(path);
  const createAction = `create "${path}" for mapping`;
  const openAction = `open "${path}" for mapping`;
  if (create && exclusive) {
    return {
      fd: check(libc.open(file, base | O_CREAT | O_EXCL, mode), "open", createAction, path),
      created: true,
    };
  }
  if (!create) {
    return { fd: check(libc.open(file, base, 0), "open", openAction, path), created: false };
  }
  const { handle, created } = openOrCreate<number>(
    {
      tryCreate() {
        const fd = libc.open(file, base | O_CREAT | O_EXCL, mode);
        return fd >= 0 ? fd : nullOnErrno([EEXIST], "open", createAction, path);
      },
      tryOpen() {
        const fd = libc.open(file, base, 0);
        return fd >= 0 ? fd : nullOnErrno([ENOENT], "open", openAction, path);
      },
    },
    "open",
    `"${path}"`,
    path,
  );
  return { fd: handle, created };
}

/**
 * A regular file mapped into memory. With the default MAP_SHARED, every
 * process mapping the same file shares the same pages, and the data reaches
 * the file (at the latest on `flush()` or when the kernel writes back).
 *
 * @example Ten records through a file, as the docs' map_normalfile1.c does
 * ```ts
 * import { MappedFile } from "./mod.ts";
 * import { rmSync } from "node:fs";
 * const path = `/tmp/doc-people-${Date.now()}`;
 * using file = MappedFile.open(path, { create: true, size: 80 });
 * const ages = new DataView(file.buffer);
 * for (let i = 0; i < 10; i++) ages.setInt32(i * 8 + 4, 20 + i, true);
 * file.flush();
 * file.close();
 * rmSync(path);
 * ```
 */
export class MappedFile extends MappedRegion {
  readonly #path: string;
  readonly #size: number;
  readonly #readOnly: boolean;
  readonly #private: boolean;
  readonly #created: boolean;

  private constructor(
    path: string,
    address: bigint,
    size: number,
    readOnly: boolean,
    isPrivate: boolean,
    created: boolean,
  ) {
    const what = `mapped file "${path}"`;
    super(
      new Mapping(address, size, what, () => unmap(address, size, `unmap "${path}"`, path)),
      what,
    );
    this.#path = path;
    this.#size = size;
    this.#readOnly = readOnly;
    this.#private = isPrivate;
    this.#created = created;
  }

  /**
   * Opens (or creates) a file and maps `size` bytes of it.
   *
   * @param path The file.
   * @param options `size`, `create`, `exclusive`, `mode`, `grow`, `readOnly`, `private`.
   * @throws {TypeError|RangeError} On bad options, or when the file is
   *   shorter than `size` and may not grow.
   * @throws {ErrnoError} From open, fstat, posix_fallocate (`ENOSPC` when the
   *   file system cannot hold `size`) or mmap; `ENODEV` (`EISDIR` for a
   *   directory) when `path` is not a regular file: a FIFO, a device or a
   *   socket is refused at once instead of blocking or faulting. A file this
   *   call created is removed again on failure.
   *
   * @example
   * ```ts
   * import { MappedFile } from "./mod.ts";
   * import { rmSync } from "node:fs";
   * const path = `/tmp/doc-open-${Date.now()}`;
   * using file = MappedFile.open(path, { create: true, size: 4096 });
   * file.view(Uint8Array)[0] = 1;
   * rmSync(path);
   * ```
   */
  static open(path: string, options?: MappedFileOptions): MappedFile {
    validatePath(path, "path");
    validateOptions(options);
    for (const flag of ["create", "exclusive", "grow", "readOnly", "private"] as const) {
      validateBoolean(options?.[flag], `options.${flag}`);
    }
    if (options?.size !== undefined) validateSize(options.size, "options.size");
    const mode = options?.mode ?? 0o600;
    validateMode(mode, "options.mode");
    const create = options?.create ?? false;
    const exclusive = options?.exclusive ?? true;
    const grow = options?.grow ?? false;
    const readOnly = options?.readOnly ?? false;
    const isPrivate = options?.private ?? false;
    if (readOnly && (create || grow)) {
      throw new TypeError("options.readOnly cannot be combined with create or grow");
    }
    if (create && options?.size === undefined) {
      throw new TypeError("options.size is required with create: a new file is empty");
    }

    // A private mapping never writes back, so it needs no write access.
    const writes = !readOnly && (!isPrivate || create || grow);
    const { fd, created } = openFile(path, writes, create, exclusive, mode);
    try {
      if (created) fchmod(fd, mode, `set the mode of "${path}"`, path);
      const status = fstat(fd, `read the size of "${path}"`, path);
      if (status.type !== platform.S_IFREG) {
        throw new ErrnoError(
          status.type === platform.S_IFDIR ? platform.EISDIR : platform.ENODEV,
          "mmap",
          `map "${path}": it is ${describeFileType(status.type)}, not a regular file`,
          path,
        );
      }
      const current = status.size;
      const size = options?.size ?? current;
      if (size === 0) {
        throw new RangeError(`Cannot map "${path}": the file is empty; pass size with grow: true`);
      }
      // A created file is sized even if it is no longer empty: a racer with
      // grow may have extended it already, and reserve() never shrinks.
      if (created || current < size) {
        if (!(created || grow)) {
          throw new RangeError(
            `Cannot map ${size} bytes of "${path}": the file has only ${current} bytes, and pages past its end would fault (SIGBUS); pass grow: true to extend it`,
          );
        }
        reserve(fd, size, `extend "${path}" to ${size} bytes`, path);
      } else if (!readOnly && !isPrivate) {
        // Shared writes to a hole allocate at the first touch: SIGBUS when
        // the file system is full. Private and read-only mappings never do;
        // reserve() above leaves no hole.
        reserveHoles(fd, size, `reserve "${path}"`, path);
      }
      const address = mapDescriptor(
        fd,
        size,
        readOnly || isPrivate,
        `map "${path}"`,
        path,
      );
      return new MappedFile(path, address, size, readOnly, isPrivate, created);
    } catch (error) {
      if (created) libc.unlink(cString(path));
      throw error;
    } finally {
      // The mapping keeps the file; the descriptor is not needed any more.
      closeDescriptor(fd, `close "${path}"`, path);
    }
  }

  /** The path given to `open()`. */
  get path(): string {
    return this.#path;
  }

  /** Bytes mapped. */
  get size(): number {
    return this.#size;
  }

  /** True if opened read-only. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** True if the mapping is copy-on-write. */
  get private(): boolean {
    return this.#private;
  }

  /** `"copy-on-write"` if `readOnly` or `private` (writes stay private), else `"read-write"`. */
  get access(): "read-write" | "copy-on-write" {
    return this.#readOnly || this.#private ? "copy-on-write" : "read-write";
  }

  /** True if `open()` created the file. */
  get created(): boolean {
    return this.#created;
  }

  /**
   * Writes dirty pages back to the file (msync). Waits unless `async`.
   *
   * @example
   * ```ts
   * import { MappedFile } from "./mod.ts";
   * import { rmSync } from "node:fs";
   * const path = `/tmp/doc-flush-${Date.now()}`;
   * using file = MappedFile.open(path, { create: true, size: 64 });
   * file.view(Uint8Array)[0] = 7;
   * file.flush();
   * file.flush({ async: true });
   * rmSync(path);
   * ```
   */
  flush(options?: FlushOptions): void {
    validateOptions(options);
    validateBoolean(options?.async, "options.async");
    const mapping = currentMapping(this);
    const flags = options?.async ? platform.MS_ASYNC : platform.MS_SYNC;
    const start = backend.pointer(mapping.address);
    check(
      libc.msync(start, BigInt(this.#size), flags),
      "msync",
      `flush "${this.#path}"`,
      this.#path,
    );
  }

  /**
   * Unmaps the file. Views become empty. Calling it again does nothing.
   * Call `flush()` first if the data must be on disk now.
   *
   * @example
   * ```ts
   * import { MappedFile } from "./mod.ts";
   * import { rmSync } from "node:fs";
   * const path = `/tmp/doc-close-${Date.now()}`;
   * const file = MappedFile.open(path, { create: true, size: 64 });
   * file.close();
   * file.close();
   * rmSync(path);
   * ```
   */
  close(): void {
    const mapping = retireMapping(this);
    if (mapping === null) return;
    mapping.release();
  }
}
