/**
 * What structs and arrays have in common: they can be placed in a region
 * (`at`, `init`, `attach`), optionally behind a header that the attaching
 * process verifies.
 *
 * @module
 */
import type { SharedRegion } from "../ffi/region.ts";
import { checkRegion, validateBoolean, validateOptions } from "../ffi/internal.ts";
import { bind, live, readOnlyError } from "./_binding.ts";
import { defineType, describe, type FieldImpl, type FieldType } from "./_field.ts";
import {
  type Described,
  describeImpl,
  HEADER_ALIGN,
  HEADER_FIXED,
  publishHeader,
  verifyHeader,
  writeHeader,
} from "./_header.ts";

/**
 * Options for `attach()` (and the header part of `init()`).
 *
 * @example
 * ```ts
 * import { type AttachOptions, i32, SharedMemory, struct } from "../mod.ts";
 * const Counter = struct({ n: i32 });
 * const options: AttachOptions = { header: true, version: 2 };
 * using shm = SharedMemory.create(`/doc-attachopts-${Date.now()}`, 4096);
 * Counter.init(shm, 0, options);
 * console.assert(Counter.attach(shm, 0, options).n === 0);
 * shm.unlink();
 * ```
 */
export interface AttachOptions {
  /**
   * The data is preceded by a layout header (magic, version, a hash and a
   * description of the layout). `init` writes it; `attach` verifies it and
   * throws LayoutMismatchError naming the first difference. Default false:
   * plain C structs, no header.
   *
   * @example
   * ```ts
   * import { i32, SharedMemory, struct } from "../mod.ts";
   * const Counter = struct({ n: i32 });
   * using shm = SharedMemory.create(`/doc-header-${Date.now()}`, 4096);
   * Counter.init(shm, 0, { header: true });
   * console.assert(shm.view(Uint8Array, 0, 4).join() === "83,72,75,76"); // "SHKL"
   * shm.unlink();
   * ```
   */
  header?: boolean;
  /**
   * The application's version of this layout, checked with `header`. Default 1.
   *
   * @example Refusing a region written by an older program
   * ```ts
   * import { i32, LayoutMismatchError, SharedMemory, struct } from "../mod.ts";
   * const Counter = struct({ n: i32 });
   * using shm = SharedMemory.create(`/doc-version-${Date.now()}`, 4096);
   * Counter.init(shm, 0, { header: true, version: 1 });
   * try {
   *   Counter.attach(shm, 0, { header: true, version: 2 });
   * } catch (error) {
   *   console.assert(error instanceof LayoutMismatchError);
   * }
   * shm.unlink();
   * ```
   */
  version?: number;
}

/**
 * Options for `init()`.
 *
 * @example
 * ```ts
 * import { i32, type InitOptions, SharedMemory, struct } from "../mod.ts";
 * const Counter = struct({ n: i32 });
 * const options: InitOptions<{ n?: number }> = { values: { n: 5 } };
 * using shm = SharedMemory.create(`/doc-initopts-${Date.now()}`, 4096);
 * console.assert(Counter.init(shm, 0, options).n === 5);
 * shm.unlink();
 * ```
 */
export interface InitOptions<W> extends AttachOptions {
  /**
   * Initial field values, written after the bytes are zeroed. For a
   * `semaphore` or `flag` slot this is its initial value.
   *
   * @example
   * ```ts
   * import { array, i32, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-values-${Date.now()}`, 4096);
   * const scores = array(i32, 4).init(shm, 0, { values: [7, 8] });
   * console.assert([...scores].join() === "7,8,0,0");
   * shm.unlink();
   * ```
   */
  values?: W;
}

/**
 * A struct or array layout: a C type that can also be placed in a region.
 * `V` is what placing it gives (a record or an array view), `W` what `init`
 * accepts as `values`.
 *
 * @example Creator and attacher, with a header
 * ```ts
 * import { char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });
 * const name = `/doc-layout-${Date.now()}`;
 * using shm = SharedMemory.create(name, 4096);
 * People.init(shm, 0, { header: true, values: { name: "Ann", age: 30 } });
 *
 * // another process:
 * using same = SharedMemory.open(name);
 * const ann = People.attach(same, 0, { header: true });
 * console.assert(ann.age === 30);
 * shm.unlink();
 * ```
 */
export interface Layout<V, W = unknown> extends FieldType<V> {
  /**
   * Bytes that `init`/`attach` with `header: true` put before the data; the
   * data then starts at `byteOffset + headerByteLength`.
   *
   * @example Sizing a region for a layout behind its header
   * ```ts
   * import { i32, SharedMemory, struct } from "../mod.ts";
   * const Counter = struct({ n: i32 });
   * const size = Counter.headerByteLength + Counter.byteLength;
   * using shm = SharedMemory.create(`/doc-hdrlen-${Date.now()}`, size);
   * Counter.init(shm, 0, { header: true }).n = 1;
   * console.assert(shm.view(Int32Array, Counter.headerByteLength, 1)[0] === 1);
   * shm.unlink();
   * ```
   */
  readonly headerByteLength: number;
  /**
   * The byte offset of a field, as C's `offsetof`: `"age"`, `"pos.x"`,
   * `"people[3].age"`.
   *
   * @param path Field names joined by `.`, with `[i]` for array elements.
   * @returns The offset in bytes from the start of the layout.
   * @throws {TypeError} If `path` is not a string.
   * @throws {RangeError} If the path names no field.
   *
   * @example
   * ```ts
   * import { array, char, i32, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * const Town = struct({ count: i32, people: array(People, 10) });
   * console.assert(Town.offsetOf("people[3].age") === 4 + 3 * 8 + 4);
   * ```
   */
  offsetOf(path: string): number;
  /**
   * The description the header stores: one line per field, `path type @offset`.
   *
   * @returns The description text, first line the whole layout.
   *
   * @example
   * ```ts
   * import { char, i32, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * console.assert(People.describe().split("\n")[2] === "age i32 @4");
   * ```
   */
  describe(): string;
  /**
   * A view of the bytes at `byteOffset` as this layout: no copy, no header,
   * no initialization; for memory a C program (or `init`) laid out. On a
   * read-only region (System V SHM_RDONLY) the view reads as usual and every
   * write through it throws TypeError.
   *
   * @param region Any shared-memory region.
   * @param byteOffset A multiple of `alignment`. Default 0.
   * @returns A record (for a struct) or an array view (for an array).
   * @throws {TypeError|RangeError} On a bad argument or if it does not fit.
   * @throws {ClosedError} If the region is closed.
   *
   * @example Reading what a C writer left
   * ```ts
   * import { char, i32, SharedMemory, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * using shm = SharedMemory.create(`/doc-at-${Date.now()}`, 4096);
   * shm.view(Int32Array, 8, 2)[1] = 41; // as `people[1].age = 41` in C
   * console.assert(People.at(shm, 8).age === 41);
   * shm.unlink();
   * ```
   */
  at(region: SharedRegion, byteOffset?: number): V;
  /**
   * Zeroes the bytes, initializes sync slots (Mutex.init, Semaphore.init,
   * Flag.init), writes `values`, and with `header` writes the header last.
   * Only the process that creates the region should call it.
   *
   * @param region Any shared-memory region.
   * @param byteOffset A multiple of `alignment` (and of 8 with `header`). Default 0.
   * @param options `values`, `header` and `version`.
   * @returns The record or array view, as `at` or `attach` would give.
   * @throws {TypeError|RangeError} On a bad argument or value, or a read-only
   *   region (System V SHM_RDONLY), before any byte is written.
   *
   * @example
   * ```ts
   * import { char, i32, semaphore, SharedMemory, struct } from "../mod.ts";
   * const Jobs = struct({ ready: semaphore, owner: char(8), done: i32 });
   * using shm = SharedMemory.create(`/doc-init-${Date.now()}`, 4096);
   * const jobs = Jobs.init(shm, 0, { header: true, values: { ready: 2, owner: "ann" } });
   * console.assert(jobs.ready.value === 2 && jobs.owner === "ann" && jobs.done === 0);
   * shm.unlink();
   * ```
   */
  init(region: SharedRegion, byteOffset?: number, options?: InitOptions<W>): V;
  /**
   * Like `at`, for memory another process initialized; with `header`, checks
   * the header first.
   *
   * @param region Any shared-memory region.
   * @param byteOffset Where `init` placed the layout. Default 0.
   * @param options `header` and `version`, as given to `init`.
   * @returns The record or array view.
   * @throws {LayoutMismatchError} With `header`, if the header is missing or differs.
   * @throws {TypeError|RangeError} On a bad argument or if it does not fit.
   *
   * @example
   * ```ts
   * import { i32, LayoutMismatchError, SharedMemory, struct } from "../mod.ts";
   * const Counter = struct({ n: i32 });
   * using shm = SharedMemory.create(`/doc-attach-${Date.now()}`, 4096);
   * try {
   *   Counter.attach(shm, 0, { header: true });
   * } catch (error) {
   *   console.assert(error instanceof LayoutMismatchError); // not initialized yet
   * }
   * Counter.init(shm, 0, { header: true, values: { n: 3 } });
   * console.assert(Counter.attach(shm, 0, { header: true }).n === 3);
   * shm.unlink();
   * ```
   */
  attach(region: SharedRegion, byteOffset?: number, options?: AttachOptions): V;
}

function validateOffset(
  byteOffset: unknown,
  alignment: number,
  what: string,
): asserts byteOffset is number {
  if (typeof byteOffset !== "number") {
    throw new TypeError(`byteOffset must be a number, got ${describe(byteOffset)}`);
  }
  if (!Number.isSafeInteger(byteOffset) || byteOffset < 0) {
    throw new RangeError(`byteOffset must be a non-negative integer, got ${byteOffset}`);
  }
  if (byteOffset % alignment !== 0) {
    throw new RangeError(
      `byteOffset must be a multiple of ${alignment} (the alignment of ${what}), got ${byteOffset}`,
    );
  }
}

function validateFits(
  region: SharedRegion,
  byteOffset: number,
  length: number,
  what: string,
): void {
  if (byteOffset + length > region.size) {
    throw new RangeError(
      `Cannot place ${what} (${length} bytes) at byte ${byteOffset}: the region is ${region.size} bytes`,
    );
  }
}

function validateVersion(options: AttachOptions | undefined): number {
  const version = options?.version;
  if (version === undefined) return 1;
  if (typeof version !== "number") {
    throw new TypeError(`options.version must be a number, got ${describe(version)}`);
  }
  if (!Number.isInteger(version) || version < 0 || version > 0xffffffff) {
    throw new RangeError(`options.version must be an integer from 0 to 4294967295, got ${version}`);
  }
  if (options?.header !== true) {
    throw new TypeError("options.version is checked through the header; pass header: true with it");
  }
  return version;
}

/** Splits `a.b[3].c` into `["a", "b", "3", "c"]`; RangeError if malformed. */
function splitPath(path: string): string[] {
  const parts: string[] = [];
  const token = /(?:^|\.)([A-Za-z_$][\w$]*)|\[(\d+)\]/y;
  let at = 0;
  while (at < path.length) {
    token.lastIndex = at;
    const m = token.exec(path);
    if (m === null || (at === 0 && path[0] === ".")) {
      throw new RangeError(
        `path must look like "age", "pos.x" or "items[3].id", got ${JSON.stringify(path)}`,
      );
    }
    parts.push(m[1] ?? m[2]);
    at = token.lastIndex;
  }
  if (parts.length === 0) throw new RangeError(`path must name a field, got ""`);
  return parts;
}

/**
 * The public object of a layout whose behaviour is `impl`: `extra` (its own
 * members) plus the placement methods, registered as a field type, frozen.
 */
export function defineLayout<P extends object>(impl: FieldImpl, extra: P): P & FieldType {
  const placed = Object.getOwnPropertyDescriptors(placement(impl));
  return Object.freeze(defineType(impl, Object.defineProperties(extra, placed)));
}

/** The placement methods of a layout whose behaviour is `impl`. */
export function placement(impl: FieldImpl): {
  headerByteLength: number;
  offsetOf(path: string): number;
  describe(): string;
  at(region: SharedRegion, byteOffset?: number): unknown;
  init(region: SharedRegion, byteOffset?: number, options?: InitOptions<unknown>): unknown;
  attach(region: SharedRegion, byteOffset?: number, options?: AttachOptions): unknown;
} {
  let described: Described | undefined;
  const meta = () => (described ??= describeImpl(impl));
  const what = (region: SharedRegion, byteOffset: number) =>
    `${impl.name} at byte ${byteOffset} of ${region.description}`;

  function at(region: SharedRegion, byteOffset = 0): unknown {
    checkRegion(region);
    validateOffset(byteOffset, impl.alignment, impl.name);
    const b = bind(region);
    validateFits(region, byteOffset, impl.byteLength, impl.name);
    return impl.read(b, byteOffset);
  }

  return {
    get headerByteLength() {
      return meta().headerByteLength;
    },
    offsetOf(path: string): number {
      if (typeof path !== "string") {
        throw new TypeError(`path must be a string such as "age", got ${describe(path)}`);
      }
      let offset = 0;
      let current = impl;
      let walked = impl.name;
      for (const part of splitPath(path)) {
        if (current.child === undefined) {
          throw new RangeError(`${walked} is ${current.name}, which has no field "${part}"`);
        }
        const next = current.child(part, walked);
        offset += next.offset;
        current = next.impl;
        walked += /^\d/.test(part) ? `[${part}]` : `.${part}`;
      }
      return offset;
    },
    describe(): string {
      return meta().text;
    },
    at,
    init(region: SharedRegion, byteOffset = 0, options?: InitOptions<unknown>): unknown {
      checkRegion(region);
      if (region.access === "read-only") throw readOnlyError(`initialize ${impl.name}`);
      validateOptions(options);
      validateBoolean(options?.header, "options.header");
      const header = options?.header ?? false;
      const version = validateVersion(options);
      validateOffset(
        byteOffset,
        header ? Math.max(HEADER_ALIGN, impl.alignment) : impl.alignment,
        impl.name,
      );
      const prepared = impl.prepare(options?.values, `options.values`, true);
      const b = bind(region);
      const dataOffset = header ? meta().headerByteLength : 0;
      const total = dataOffset + impl.byteLength;
      validateFits(region, byteOffset, total, header ? `${impl.name} and its header` : impl.name);
      live(b, byteOffset, total);
      b.u8.fill(0, byteOffset, byteOffset + total);
      if (header) writeHeader(b, byteOffset, meta(), version, impl.byteLength);
      impl.initialize(b, byteOffset + dataOffset, prepared);
      if (header) publishHeader(b, byteOffset);
      return impl.read(b, byteOffset + dataOffset);
    },
    attach(region: SharedRegion, byteOffset = 0, options?: AttachOptions): unknown {
      checkRegion(region);
      validateOptions(options);
      validateBoolean(options?.header, "options.header");
      const version = validateVersion(options);
      if (options?.header !== true) return at(region, byteOffset);
      validateOffset(byteOffset, Math.max(HEADER_ALIGN, impl.alignment), impl.name);
      const b = bind(region);
      const dataOffset = meta().headerByteLength;
      validateFits(region, byteOffset, HEADER_FIXED, `the header of ${impl.name}`);
      verifyHeader(b, byteOffset, meta(), version, impl.byteLength, what(region, byteOffset));
      validateFits(region, byteOffset, dataOffset + impl.byteLength, `${impl.name} and its header`);
      return impl.read(b, byteOffset + dataOffset);
    },
  };
}
