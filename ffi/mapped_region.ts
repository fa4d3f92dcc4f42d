/**
 * What SharedMemory, SysVSharedMemory and MappedFile have in common: one
 * current Mapping, the SharedRegion accessors over it, and `using` support.
 * Each subclass says how to open, resize and release its kind of memory.
 *
 * @module
 */
import type { UnsafePointer } from "./_backend.ts";
import { ClosedError } from "./errors.ts";
import type { Mapping, TypedArrayConstructor } from "./_mapping.ts";
import type { SharedRegion } from "./region.ts";

export abstract class MappedRegion implements SharedRegion, Disposable {
  #mapping: Mapping | null;
  readonly #what: string;

  /**
   * @param mapping The memory, already mapped.
   * @param what Names the object in errors, e.g. `shared memory "/jobs"`.
   */
  protected constructor(mapping: Mapping, what: string) {
    this.#mapping = mapping;
    this.#what = what;
  }

  /** The current mapping; throws ClosedError once released. */
  protected get mapping(): Mapping {
    if (this.#mapping === null) throw new ClosedError(this.#what);
    return this.#mapping;
  }

  /** Installs a new mapping (after a resize) and detaches the old one's views. */
  protected replaceMapping(next: Mapping): Mapping {
    const old = this.mapping;
    old.retire();
    this.#mapping = next;
    return old;
  }

  /**
   * Detaches every view and forgets the mapping, returning it so that the
   * subclass can unmap it; null if that already happened.
   */
  protected retireMapping(): Mapping | null {
    const mapping = this.#mapping;
    if (mapping === null || !mapping.retire()) return null;
    this.#mapping = null;
    return mapping;
  }

  /** Bytes reachable through views; still readable after close. */
  abstract get size(): number;

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
   * @example
   * ```ts
   * import { SharedMemory } from "./mod.ts";
   * using shm = SharedMemory.create(`/doc-buffer-${Date.now()}`, 4096);
   * new DataView(shm.buffer).setFloat64(8, Math.PI, true);
   * shm.unlink();
   * ```
   */
  get buffer(): ArrayBuffer {
    return this.mapping.buffer;
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
    return this.mapping.view(type, byteOffset, length);
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
    return this.mapping.pointer(byteOffset);
  }

  /** Releases the memory; idempotent. */
  abstract close(): void;

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
