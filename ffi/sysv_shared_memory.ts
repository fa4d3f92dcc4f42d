/**
 * System V shared memory: `shmget`, `shmat`, `shmdt`, `shmctl`, and `ftok`.
 *
 * @module
 */
import { backend, errno, libc, platform } from "./_libc.ts";
import { ErrnoError } from "./errors.ts";
import { check, fail, MAP_FAILED } from "./_check.ts";
import { nullOnErrno, openOrCreate } from "./_open_or_create.ts";
import { Mapping } from "./_mapping.ts";
import { MappedRegion, retireMapping } from "./mapped_region.ts";
import {
  cString,
  validateBoolean,
  validateInteger,
  validateMode,
  validateOptions,
  validatePath,
  validateSize,
} from "./_validate.ts";
import { describeKey, readIpcPerm, readTime, validateKey } from "./_sysv.ts";

/**
 * The key that always makes a new segment, reachable only through its id
 * (pass `id` to a child and use {@linkcode SysVSharedMemory.attach}).
 *
 * @example
 * ```ts
 * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
 * using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
 * console.assert(seg.key === IPC_PRIVATE);
 * seg.remove();
 * ```
 */
export const IPC_PRIVATE = 0;

/** Options for {@linkcode SysVSharedMemory.create}. */
export interface SysVCreateOptions {
  /** Permission bits. Default 0o600. */
  mode?: number;
  /**
   * Fail with EEXIST if the key is taken (IPC_EXCL). Default true.
   * `exclusive: false` is the same as {@linkcode SysVSharedMemory.openOrCreate},
   * kept for compatibility.
   */
  exclusive?: boolean;
}

/** Options for {@linkcode SysVSharedMemory.openOrCreate}. */
export interface SysVOpenOrCreateOptions {
  /** Permission bits when this call creates the segment. Default 0o600. */
  mode?: number;
}

/** Options for {@linkcode SysVSharedMemory.open} and `attach`. */
export interface SysVOpenOptions {
  /**
   * Attach with SHM_RDONLY. The kernel then refuses writes: a write through
   * a view faults the process, because JavaScript has no read-only
   * ArrayBuffer. Use it only for code that never writes. Layouts and sync
   * primitives check `access` and throw TypeError instead of writing, so
   * only raw views can fault. Default false.
   */
  readOnly?: boolean;
}

/** What `shmctl(IPC_STAT)` reports about a segment. */
export interface SysVStat {
  /** The key it was made with (0 for IPC_PRIVATE). */
  key: number;
  /** Size in bytes (shm_segsz). */
  size: number;
  /** Processes attached now (shm_nattch). */
  attachCount: number;
  /** Pid of the creator (shm_cpid). */
  creatorPid: number;
  /** Pid of the last shmat/shmdt (shm_lpid). */
  lastPid: number;
  /** Last attach, or null if never. */
  attachTime: Date | null;
  /** Last detach, or null if never. */
  detachTime: Date | null;
  /** Last change (creation or IPC_SET). */
  changeTime: Date;
  /** Permission bits. */
  mode: number;
  /** Owner's uid. */
  uid: number;
  /** Owner's gid. */
  gid: number;
  /** Creator's uid. */
  cuid: number;
  /** Creator's gid. */
  cgid: number;
}

/** IPC_STAT once: the public status, and whether IPC_RMID marked it (SHM_DEST). */
function readSegment(id: number, what: string): { stat: SysVStat; removing: boolean } {
  const out = new Uint8Array(platform.SHMID_DS_SIZE);
  check(libc.shmctl(id, platform.IPC_STAT, out), "shmctl", `read the status of ${what}`, what);
  const v = new DataView(out.buffer);
  return {
    stat: {
      ...readIpcPerm(v),
      size: Number(v.getBigUint64(platform.SHM_SEGSZ, true)),
      attachCount: Number(v.getBigUint64(platform.SHM_NATTCH, true)),
      creatorPid: v.getInt32(platform.SHM_CPID, true),
      lastPid: v.getInt32(platform.SHM_LPID, true),
      attachTime: readTime(v, platform.SHM_ATIME),
      detachTime: readTime(v, platform.SHM_DTIME),
      changeTime: readTime(v, platform.SHM_CTIME) ?? new Date(0),
    },
    removing: (v.getUint16(platform.IPC_PERM_MODE, true) & platform.SHM_DEST) !== 0,
  };
}

/** A segment attached by `attachSegment`, with its status read after the attach. */
interface Attached {
  readonly mapping: Mapping;
  readonly stat: SysVStat;
}

/**
 * Attaches segment `id` (shmat), then reads its status once: its size, its
 * key, and whether it is marked for removal. In an open-or-create race
 * (`race`), a segment removed since shmget named it gives null, so that the
 * loop goes round again: gone before the attach (EINVAL, EIDRM), or, for
 * one this call did not create, marked for removal. Linux still attaches a
 * marked one by the id shmget gave just before, but its key names nothing
 * any more and the next openOrCreate makes a new one. One this call created
 * and another removed since is like one removed just after this returns:
 * the caller's to keep.
 */
function attachSegment(id: number, readOnly: boolean, what: string): Attached;
function attachSegment(
  id: number,
  readOnly: boolean,
  what: string,
  race: "created" | "joined",
): Attached | null;
function attachSegment(
  id: number,
  readOnly: boolean,
  what: string,
  race?: "created" | "joined",
): Attached | null {
  const { SHM_RDONLY, EINVAL, EIDRM } = platform;
  const address = libc.shmat(id, null, readOnly ? SHM_RDONLY : 0);
  if (address === MAP_FAILED) {
    if (race !== undefined) return nullOnErrno([EINVAL, EIDRM], "shmat", `attach ${what}`, what);
    fail("shmat", `attach ${what}`, what);
  }
  const pointer = backend.pointer(address);
  let stat: SysVStat;
  try {
    const status = readSegment(id, what);
    stat = status.stat;
    if (race === "joined" && status.removing) {
      libc.shmdt(pointer);
      return null;
    }
  } catch (error) {
    libc.shmdt(pointer);
    throw error;
  }
  const size = stat.size;
  // A segment's pages are allocated at the first touch, and one that cannot
  // be backed (SHM_HUGETLB | SHM_NORESERVE with no huge pages free) raises
  // SIGBUS there. Faulting them in now turns that into an error at attach.
  // Kernels before 5.14 answer EINVAL: they keep the old behaviour.
  const { MADV_POPULATE_READ, MADV_POPULATE_WRITE } = platform;
  const advice = readOnly ? MADV_POPULATE_READ : MADV_POPULATE_WRITE;
  if (libc.madvise(pointer, BigInt(size), advice) !== 0) {
    const code = errno();
    if (code !== EINVAL) {
      libc.shmdt(pointer);
      throw new ErrnoError(code, "madvise", `allocate the pages of ${what}`, what);
    }
  }
  const mapping = new Mapping(address, size, what, () => {
    check(libc.shmdt(pointer), "shmdt", `detach ${what}`, what);
  });
  return { mapping, stat };
}

/**
 * Turns a path and a project id into a System V key, as `ftok(3)` does. The
 * path must exist; processes that agree on both get the same key.
 *
 * @param path An existing file.
 * @param projId 1 to 255.
 * @throws {ErrnoError} `ENOENT` if the path does not exist.
 *
 * @example
 * ```ts
 * import { ftok } from "./mod.ts";
 * const key = ftok("/tmp", 65);
 * console.assert(key === ftok("/tmp", 65));
 * ```
 */
export function ftok(path: string, projId: number): number {
  validatePath(path, "path");
  validateInteger(projId, "projId", 1, 255);
  const key = libc.ftok(cString(path), projId);
  // Not check(): a valid key can be negative; only -1 is failure.
  if (key === -1) fail("ftok", `make a key from "${path}"`, path);
  return key;
}

/**
 * A System V shared memory segment (`ipcs -m`) attached to this process.
 * Any process attaching the same key (Deno, Bun, C, Python's sysv_ipc) sees
 * the same bytes. The segment outlives every process until `remove()`.
 *
 * @example The docs' key 1234
 * ```ts
 * import { SysVSharedMemory } from "./mod.ts";
 * using seg = SysVSharedMemory.create(0x5eed0000 + (Date.now() % 0xffff), 2052);
 * seg.view(Int32Array, 0, 1)[0] = 1; // written_by_you
 * seg.remove();
 * ```
 */
export class SysVSharedMemory extends MappedRegion {
  readonly #id: number;
  readonly #key: number;
  readonly #size: number;
  readonly #readOnly: boolean;
  readonly #created: boolean;
  readonly #what: string;

  private constructor(
    attached: Attached,
    id: number,
    key: number,
    readOnly: boolean,
    created: boolean,
    what: string,
  ) {
    const size = attached.stat.size;
    super(attached.mapping, what);
    this.#id = id;
    this.#key = key;
    this.#readOnly = readOnly;
    this.#created = created;
    this.#what = what;
    this.#size = size;
  }

  /**
   * Creates a segment of `size` bytes (zero-filled) and attaches it.
   *
   * @param key A key (e.g. from {@linkcode ftok}) or `IPC_PRIVATE`.
   * @param size Bytes, a positive safe integer.
   * @param options `mode` (default 0o600), `exclusive` (default true;
   *   `false` is the same as {@linkcode SysVSharedMemory.openOrCreate}, kept
   *   for compatibility).
   * @throws {ErrnoError} `EEXIST` if the key is taken and `exclusive`;
   *   `EINVAL` if it exists smaller than `size`.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * using seg = SysVSharedMemory.create(IPC_PRIVATE, 2048);
   * console.assert(seg.size === 2048);
   * seg.remove();
   * ```
   */
  static create(key: number, size: number, options?: SysVCreateOptions): SysVSharedMemory {
    validateKey(key);
    validateSize(size, "size");
    validateOptions(options);
    const mode = options?.mode ?? 0o600;
    validateMode(mode);
    validateBoolean(options?.exclusive, "options.exclusive");
    const cKey = key | 0;
    if (options?.exclusive === false) return SysVSharedMemory.#openOrCreate(cKey, size, mode);
    const what = describeKey("System V segment", cKey);
    const { IPC_CREAT, IPC_EXCL } = platform;
    const id = check(
      libc.shmget(cKey, BigInt(size), IPC_CREAT | IPC_EXCL | mode),
      "shmget",
      `create ${what}`,
      what,
    );
    try {
      return new SysVSharedMemory(attachSegment(id, false, what), id, cKey, false, true, what);
    } catch (error) {
      libc.shmctl(id, platform.IPC_RMID, null);
      throw error;
    }
  }

  /**
   * Attaches the segment with `key` if it exists, else creates it with
   * `size` bytes (zero-filled). Exactly one of several racing processes sees
   * `created === true`; a segment removed (IPC_RMID) between this call's
   * create and open attempts, or before it could attach, is created again.
   *
   * Unlike `SharedMemory.openOrCreate`, an existing segment is not grown:
   * System V segments have a fixed size, and one smaller than `size` fails
   * with `EINVAL` (from shmget) as it always did. One at least as large is
   * attached whole.
   *
   * @param key A key (e.g. from {@linkcode ftok}); `IPC_PRIVATE` always creates.
   * @param size Bytes, a positive safe integer.
   * @param options `mode` when this call creates the segment (default 0o600).
   * @returns The attached segment; `created` tells whether this call made it.
   * @throws {TypeError|RangeError} On a bad key, size or option.
   * @throws {ErrnoError} `EINVAL` if it exists smaller than `size`; `EACCES`
   *   if it is not ours to use.
   *
   * @example Only the first of two calls creates
   * ```ts
   * import { SysVSharedMemory } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * using a = SysVSharedMemory.openOrCreate(key, 4096);
   * using b = SysVSharedMemory.openOrCreate(key, 4096);
   * console.assert(a.created && !b.created && a.id === b.id);
   * a.remove();
   * ```
   */
  static openOrCreate(
    key: number,
    size: number,
    options?: SysVOpenOrCreateOptions,
  ): SysVSharedMemory {
    validateKey(key);
    validateSize(size, "size");
    validateOptions(options);
    const mode = options?.mode ?? 0o600;
    validateMode(mode);
    return SysVSharedMemory.#openOrCreate(key | 0, size, mode);
  }

  static #openOrCreate(cKey: number, size: number, mode: number): SysVSharedMemory {
    const what = describeKey("System V segment", cKey);
    const { IPC_CREAT, IPC_EXCL, EEXIST, ENOENT, EIDRM } = platform;
    return openOrCreate(
      {
        tryCreate() {
          const id = libc.shmget(cKey, BigInt(size), IPC_CREAT | IPC_EXCL | mode);
          if (id < 0) return nullOnErrno([EEXIST], "shmget", `create ${what}`, what);
          return SysVSharedMemory.#attachInRace(id, cKey, true, what);
        },
        tryOpen() {
          // The size asked, as before: a smaller segment is EINVAL, not joined.
          const id = libc.shmget(cKey, BigInt(size), mode);
          if (id < 0) return nullOnErrno([ENOENT, EIDRM], "shmget", `open ${what}`, what);
          return SysVSharedMemory.#attachInRace(id, cKey, false, what);
        },
      },
      "shmget",
      what,
      what,
    ).handle;
  }

  // Attaches a segment shmget just named, in an open-or-create race: null
  // when it was removed meanwhile (see attachSegment). A segment this call
  // created is removed again on any failure.
  static #attachInRace(
    id: number,
    key: number,
    created: boolean,
    what: string,
  ): SysVSharedMemory | null {
    let attached: Attached | null;
    try {
      attached = attachSegment(id, false, what, created ? "created" : "joined");
    } catch (error) {
      if (created) libc.shmctl(id, platform.IPC_RMID, null);
      throw error;
    }
    return attached === null ? null : new SysVSharedMemory(attached, id, key, false, created, what);
  }

  /**
   * Attaches the existing segment with `key`; its size comes from IPC_STAT.
   *
   * @throws {RangeError} For `IPC_PRIVATE`, which names no existing segment.
   * @throws {ErrnoError} `ENOENT` if no segment has the key.
   *
   * @example
   * ```ts
   * import { SysVSharedMemory } from "./mod.ts";
   * const key = 0x5eed0000 + (Date.now() % 0xffff);
   * using made = SysVSharedMemory.create(key, 4096);
   * using seen = SysVSharedMemory.open(key);
   * console.assert(seen.id === made.id);
   * made.remove();
   * ```
   */
  static open(key: number, options?: SysVOpenOptions): SysVSharedMemory {
    validateKey(key);
    if ((key | 0) === IPC_PRIVATE) {
      throw new RangeError("key must not be IPC_PRIVATE for open(); use attach(id)");
    }
    const readOnly = SysVSharedMemory.#readOnlyOption(options);
    const cKey = key | 0;
    const what = describeKey("System V segment", cKey);
    const id = check(libc.shmget(cKey, 0n, 0), "shmget", `open ${what}`, what);
    return new SysVSharedMemory(
      attachSegment(id, readOnly, what),
      id,
      cKey,
      readOnly,
      false,
      what,
    );
  }

  /**
   * Attaches a segment by its id, e.g. an `IPC_PRIVATE` segment whose id a
   * parent passed to this process.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
   * using again = SysVSharedMemory.attach(seg.id);
   * console.assert(again.size === 4096);
   * seg.remove();
   * ```
   */
  static attach(id: number, options?: SysVOpenOptions): SysVSharedMemory {
    validateInteger(id, "id", 0, 0x7fff_ffff);
    const readOnly = SysVSharedMemory.#readOnlyOption(options);
    const what = `System V segment id ${id}`;
    const attached = attachSegment(id, readOnly, what);
    return new SysVSharedMemory(attached, id, attached.stat.key, readOnly, false, what);
  }

  static #readOnlyOption(options: SysVOpenOptions | undefined): boolean {
    validateOptions(options);
    validateBoolean(options?.readOnly, "options.readOnly");
    return options?.readOnly ?? false;
  }

  /** The segment id (shmid), valid in every process. */
  get id(): number {
    return this.#id;
  }

  /** The key it was created or opened with. */
  get key(): number {
    return this.#key;
  }

  /** Bytes reachable through views (shm_segsz). */
  get size(): number {
    return this.#size;
  }

  /** True if this call created the segment. */
  get created(): boolean {
    return this.#created;
  }

  /** True if attached with SHM_RDONLY. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  /** `"read-only"` if attached with SHM_RDONLY (writes fault), else `"read-write"`. */
  get access(): "read-write" | "read-only" {
    return this.#readOnly ? "read-only" : "read-write";
  }

  /**
   * Reads the segment's status (IPC_STAT). Works after detach, until removed.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
   * console.assert(seg.stat().attachCount === 1);
   * seg.remove();
   * ```
   */
  stat(): SysVStat {
    return readSegment(this.#id, this.#what).stat;
  }

  /**
   * Detaches (shmdt). Views become empty. Calling it again does nothing. The
   * segment itself stays until `remove()`.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * const seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
   * const bytes = seg.view(Uint8Array);
   * seg.remove();
   * seg.detach();
   * console.assert(bytes.length === 0);
   * ```
   */
  detach(): void {
    const mapping = retireMapping(this);
    if (mapping === null) return;
    mapping.release();
  }

  /** Same as `detach()`, so that every region closes the same way. */
  close(): void {
    this.detach();
  }

  /**
   * Marks the segment for removal (IPC_RMID): it disappears once the last
   * process detaches, and its key is free at once.
   *
   * @throws {ErrnoError} `EINVAL` if it was already removed.
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
   * seg.remove();
   * ```
   */
  remove(): void {
    check(
      libc.shmctl(this.#id, platform.IPC_RMID, null),
      "shmctl",
      `remove ${this.#what}`,
      this.#what,
    );
  }
}
