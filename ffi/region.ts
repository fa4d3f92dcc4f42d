/**
 * The common face of every shared-memory object, so that `sync/` primitives
 * and layouts can live inside any of them.
 *
 * @module
 */
import type { UnsafePointer } from "./_backend.ts";
import type { TypedArrayConstructor } from "./_mapping.ts";

export type { TypedArrayConstructor, UnsafePointer };

/**
 * A mapped region of shared memory: a POSIX object, a System V segment or a
 * mapped file.
 *
 * @example Writing through any kind of region
 * ```ts
 * import { SharedMemory, type SharedRegion } from "./mod.ts";
 *
 * function stamp(region: SharedRegion) {
 *   region.view(Uint32Array, 0, 1)[0] = 0xC0FFEE;
 * }
 * using shm = SharedMemory.create(`/doc-region-${Date.now()}`, 4096);
 * stamp(shm);
 * shm.unlink();
 * ```
 */
export interface SharedRegion {
  /** Bytes reachable through views. */
  readonly size: number;
  /** True once the memory has been unmapped or detached. */
  readonly closed: boolean;
  /** The whole region; detached (length 0) once the region is closed. */
  readonly buffer: ArrayBuffer;
  /** A bounded view; throws RangeError if it would pass the end. */
  view<C extends TypedArrayConstructor>(
    type: C,
    byteOffset?: number,
    length?: number,
  ): InstanceType<C>;
  /**
   * The raw address of a byte of the region, for passing to C. Valid only
   * while the region is open; using it afterwards is undefined behaviour.
   */
  unsafePointer(byteOffset?: number): UnsafePointer;
}
