/**
 * The base of SharedMemory, SysVSharedMemory and MappedFile.
 *
 * @module
 */
import type { UnsafePointer } from "./_backend.ts";
import { ClosedError } from "./errors.ts";
import type { Mapping, TypedArrayConstructor } from "./_mapping.ts";
import type { RegionAccess, SharedRegion } from "./region.ts";
import { runReleaseHooks } from "./_region.ts";

// The subclasses reach the mapping through these functions rather than
// protected members, so the internal Mapping type stays out of the public API.
let friend: {
  current(region: MappedRegion): Mapping;
  replace(region: MappedRegion, next: Mapping): void;
  retire(region: MappedRegion): Mapping | null;
};

/** The region's current mapping; throws ClosedError once it is released. */
export function currentMapping(region: MappedRegion): Mapping {
  return friend.current(region);
}

/** Installs a new mapping (after a resize), detaching the old one's views. */
export function replaceMapping(region: MappedRegion, next: Mapping): void {
  friend.replace(region, next);
}

/**
 * Detaches every view and forgets the mapping, returning it so that the
 * subclass can unmap it; null if that already happened. The release hooks
 * (pending waits withdrawing from shared words) run first, while the memory
 * is still mapped.
 */
export function retireMapping(region: MappedRegion): Mapping | null {
  return friend.retire(region);
}

/**
 * What SharedMemory, SysVSharedMemory and MappedFile have in common: one
 * current mapping, the {@linkcode SharedRegion} accessors over it, and
 * `using` support. Each subclass says how it maps, remaps and releases its
 * kind of memory; users do not extend it.
 *
 * @example Any region, whatever its kind
 * ```ts
 * import { MappedRegion, SharedMemory } from "./mod.ts";
 * using shm = SharedMemory.create(`/doc-mapped-region-${Date.now()}`, 4096);
 * console.assert(shm instanceof MappedRegion);
 * shm.unlink();
 * ```
 */
export abstract class MappedRegion implements SharedRegion, Disposable {
  #mapping: Mapping | null;
  readonly #what: string;

  /**
   * Made only by the subclasses in this folder, from memory they mapped.
   *
   * @param mapping The memory, already mapped (an internal Mapping).
   * @param what Names the object in errors, e.g. `shared memory "/jobs"`.
   */
  protected constructor(mapping: object, what: string) {
    this.#mapping = mapping as Mapping;
    this.#what = what;
  }

  static {
    friend = {
      current(region) {
        if (region.#mapping === null) throw new ClosedError(region.#what);
        return region.#mapping;
      },
      replace(region, next) {
        const old = friend.current(region);
        // Waits on words the new mapping no longer reaches withdraw first.
        runReleaseHooks(region, next.byteLength);
        old.retire();
        region.#mapping = next;
      },
      retire(region) {
        const mapping = region.#mapping;
        if (mapping === null) return null;
        runReleaseHooks(region);
        if (!mapping.retire()) return null;
        region.#mapping = null;
        return mapping;
      },
    };
  }

  /**
   * Bytes reachable through views; still readable after close.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-region-size-${Date.now()}`, 4096);
   * console.assert(shm.size === 4096);
   * shm.unlink();
   * ```
   */
  abstract get size(): number;

  /**
   * What a write through a view does: `"read-write"` (shared with every
   * process), `"copy-on-write"` (stays in this process) or `"read-only"`
   * (the kernel faults it; layouts and sync primitives refuse it first).
   *
   * @example
   * ```ts
   * import { IPC_PRIVATE, SysVSharedMemory } from "./mod.ts";
   * using seg = SysVSharedMemory.create(IPC_PRIVATE, 4096);
   * using reader = SysVSharedMemory.attach(seg.id, { readOnly: true });
   * console.assert(seg.access === "read-write" && reader.access === "read-only");
   * seg.remove();
   * ```
   */
  abstract get access(): RegionAccess;

  /**
   * Names the region in messages: `shared memory "/jobs"`,
   * `System V segment with key 0x00001234` (or `System V segment id 42`
   * when attached by id) or `mapped file "/tmp/data"`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const name = `/doc-region-description-${Date.now()}`;
   * using shm = SharedMemory.create(name, 4096);
   * console.assert(shm.description === `shared memory "${name}"`);
   * shm.unlink();
   * ```
   */
  get description(): string {
    return this.#what;
  }

  /**
   * True once the memory is unmapped (`close()`, or `detach()` for System V).
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const shm = SharedMemory.create(`/doc-closed-flag-${Date.now()}`, 4096);
   * shm.unlink();
   * shm.close();
   * console.assert(shm.closed);
   * ```
   */
  get closed(): boolean {
    return this.#mapping === null;
  }

  /**
   * The whole region as one ArrayBuffer, no copy. It is detached (length 0)
   * when the region is closed or remapped, so stale code cannot reach
   * unmapped memory.
   *
   * It can be transferred (`buffer.transfer()`, `postMessage(buffer,
   * [buffer])`), which moves the memory without copying; `view()` then
   * throws TypeError. `close()` still releases the object, and the
   * transferred buffer keeps its length but reads zeros from then on: the
   * range is swapped for private zero pages instead of being unmapped, so
   * it can never fault.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-buffer-${Date.now()}`, 4096);
   * new DataView(shm.buffer).setFloat64(8, Math.PI, true);
   * shm.unlink();
   * ```
   */
  get buffer(): ArrayBuffer {
    return friend.current(this).buffer;
  }

  /**
   * A typed-array view of the region, no copy. It never reaches past `size`,
   * and becomes empty (length 0) when the region is closed or remapped.
   *
   * @param type A typed array constructor such as `Int32Array`.
   * @param byteOffset Start, a multiple of the element size. Default 0.
   * @param length Elements; default all that fit.
   * @throws {TypeError} If `type` is not a typed array constructor.
   * @throws {RangeError} If the view would pass the end or is misaligned.
   * @throws {ClosedError} After close.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-view-${Date.now()}`, 4096);
   * const counts = shm.view(Int32Array, 0, 16);
   * Atomics.add(counts, 0, 1);
   * shm.unlink();
   * ```
   */
  view<C extends TypedArrayConstructor>(
    type: C,
    byteOffset?: number,
    length?: number,
  ): InstanceType<C> {
    return friend.current(this).view(type, byteOffset, length);
  }

  /**
   * The raw address of `byteOffset`, for passing to C. Valid only until the
   * region is closed or remapped; using it afterwards is undefined behaviour.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-ptr-${Date.now()}`, 4096);
   * console.assert(shm.unsafePointer(8) !== null);
   * shm.unlink();
   * ```
   */
  unsafePointer(byteOffset = 0): UnsafePointer {
    return friend.current(this).pointer(byteOffset);
  }

  /**
   * Releases the memory; calling it again does nothing.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * const shm = SharedMemory.create(`/doc-region-close-${Date.now()}`, 4096);
   * shm.close();
   * shm.close();
   * SharedMemory.unlink(shm.name);
   * ```
   */
  abstract close(): void;

  /**
   * Same as `close()`, for `using`.
   *
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * {
   *   using shm = SharedMemory.create(`/doc-region-using-${Date.now()}`, 4096);
   *   shm.unlink();
   * } // closed here
   * ```
   */
  [Symbol.dispose](): void {
    this.close();
  }
}
