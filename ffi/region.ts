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
 * What a write through a region's views does, so that code placing data or
 * locks in a region can refuse the writes that would not work:
 * - `"read-write"`: it reaches every process mapping the same object.
 * - `"copy-on-write"`: it stays in this process (MAP_PRIVATE), never reaching
 *   the object or other processes; `SharedMemory.open` with `readOnly`, and a
 *   `MappedFile` opened `readOnly` or `private`.
 * - `"read-only"`: the kernel refuses it and the process dies of SIGSEGV,
 *   since JavaScript has no read-only ArrayBuffer; a System V segment
 *   attached with `readOnly` (SHM_RDONLY). Layouts and sync primitives throw
 *   TypeError instead of writing there.
 *
 * It answers both questions such code asks: the region is writable unless
 * `"read-only"`, and shared with other processes unless `"copy-on-write"`
 * (a private mapping).
 *
 * @example Writing only where it is shared
 * ```ts
 * import { type RegionAccess, SharedMemory } from "./mod.ts";
 * const name = `/doc-region-access-${Date.now()}`;
 * using shm = SharedMemory.create(name, 4096);
 * using copy = SharedMemory.open(name, { readOnly: true });
 * const modes: RegionAccess[] = [shm.access, copy.access];
 * console.assert(modes.join() === "read-write,copy-on-write");
 * shm.unlink();
 * ```
 */
export type RegionAccess = "read-write" | "copy-on-write" | "read-only";

/**
 * A mapped region of shared memory: a POSIX object, a System V segment or a
 * mapped file. Layouts and sync primitives take any object with these
 * members and ask it nothing else; shmkit's `MappedRegion`s
 * (`SharedMemory`, `SysVSharedMemory`, `MappedFile`) are the ones it makes.
 * An object of your own must provide every member (a `description` too:
 * one without it is refused with TypeError), and `unsafePointer` must give
 * the real address of the bytes that `view` shows.
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
  /**
   * What a write through a view does, and so whether the region is writable
   * and shared with other processes; see {@linkcode RegionAccess}.
   */
  readonly access: RegionAccess;
  /**
   * Names the region in messages, e.g. `shared memory "/jobs"`,
   * `System V segment with key 0x00001234` or `mapped file "/tmp/data"`.
   */
  readonly description: string;
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
