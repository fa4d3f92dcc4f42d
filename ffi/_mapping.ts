/**
 * One mapped range of memory and the single ArrayBuffer over it. Shared by
 * SharedMemory, SysVSharedMemory and MappedFile so that the safety rules live
 * in one place:
 * - views never reach past the mapping;
 * - on release the buffer is detached first (every view over it drops to
 *   length 0), and only then is the memory unmapped;
 * - if the owner is dropped without close(), a FinalizationRegistry unmaps
 *   once the buffer itself is unreachable, so no live view can see it go.
 *
 * @module
 */
import type { UnsafePointer } from "./_backend.ts";
import { backend } from "./_libc.ts";
import { ClosedError } from "./errors.ts";
import { describe, validateInteger } from "./_validate.ts";

/** A typed array constructor that `view()` accepts. */
export type TypedArrayConstructor =
  | Int8ArrayConstructor
  | Uint8ArrayConstructor
  | Uint8ClampedArrayConstructor
  | Int16ArrayConstructor
  | Uint16ArrayConstructor
  | Int32ArrayConstructor
  | Uint32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | BigInt64ArrayConstructor
  | BigUint64ArrayConstructor;

const VIEW_TYPES: ReadonlySet<unknown> = new Set<unknown>([
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
]);

type Release = () => void;

// Runs only for mappings whose owner forgot close(): the key is the buffer,
// so this fires after the last view over the memory is gone.
const finalizer = new FinalizationRegistry<Release>((release) => {
  try {
    release();
  } catch {
    // Nothing sensible to report from a finalizer.
  }
});

/** Detaches an ArrayBuffer so that every view over it has length 0. */
function detach(buffer: ArrayBuffer): void {
  (buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
}

export class Mapping {
  readonly #address: bigint;
  readonly #byteLength: number;
  #buffer: ArrayBuffer | null;
  readonly #what: string;
  readonly #unregisterToken = {};

  /**
   * @param address Start of the mapping.
   * @param byteLength Length usable through views.
   * @param what Names the owner in error messages.
   * @param unmap Removes the mapping (munmap or shmdt), ignoring errors.
   * @param alsoOnCollect Anything else the owner holds (a descriptor) that
   *   the finalizer must release with the mapping.
   * @throws {RangeError} If the runtime cannot make an ArrayBuffer this
   *   large; the memory is unmapped first.
   */
  constructor(
    address: bigint,
    byteLength: number,
    what: string,
    unmap: () => void,
    alsoOnCollect?: () => void,
  ) {
    this.#address = address;
    this.#byteLength = byteLength;
    this.#what = what;
    try {
      this.#buffer = backend.arrayBuffer(address, byteLength);
    } catch (error) {
      unmap();
      throw new RangeError(
        `Cannot view ${byteLength} bytes of ${what} as one ArrayBuffer in this runtime: ${
          (error as Error).message
        }`,
      );
    }
    const release = alsoOnCollect === undefined ? unmap : () => {
      unmap();
      alsoOnCollect();
    };
    finalizer.register(this.#buffer, release, this.#unregisterToken);
  }

  get closed(): boolean {
    return this.#buffer === null;
  }

  get byteLength(): number {
    return this.#byteLength;
  }

  get buffer(): ArrayBuffer {
    if (this.#buffer === null) throw new ClosedError(this.#what);
    return this.#buffer;
  }

  view<C extends TypedArrayConstructor>(
    type: C,
    byteOffset: number = 0,
    length?: number,
  ): InstanceType<C> {
    if (!VIEW_TYPES.has(type)) {
      throw new TypeError(
        `type must be a typed array constructor such as Int32Array, got ${describe(type)}`,
      );
    }
    const buffer = this.buffer;
    const size = this.#byteLength;
    const unit = type.BYTES_PER_ELEMENT;
    validateInteger(byteOffset, "byteOffset", 0, size);
    if (byteOffset % unit !== 0) {
      throw new RangeError(
        `byteOffset must be a multiple of ${unit} for ${type.name}, got ${byteOffset}`,
      );
    }
    const room = Math.floor((size - byteOffset) / unit);
    const count = length ?? room;
    validateInteger(count, "length", 0, room);
    return new type(buffer, byteOffset, count) as InstanceType<C>;
  }

  /** The address of `byteOffset` bytes into the mapping. */
  pointer(byteOffset: number): UnsafePointer {
    if (this.#buffer === null) throw new ClosedError(this.#what);
    validateInteger(byteOffset, "byteOffset", 0, this.#byteLength - 1);
    return backend.pointer(this.#address + BigInt(byteOffset)) as UnsafePointer;
  }

  /** The start address, for the owner's own system calls. */
  get address(): bigint {
    return this.#address;
  }

  /**
   * Detaches the buffer, then returns so that the owner can unmap. Returns
   * false when already released.
   */
  retire(): boolean {
    if (this.#buffer === null) return false;
    finalizer.unregister(this.#unregisterToken);
    detach(this.#buffer);
    this.#buffer = null;
    return true;
  }
}
