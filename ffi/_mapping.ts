/**
 * One mapped range of memory and the single ArrayBuffer over it. Shared by
 * SharedMemory, SysVSharedMemory and MappedFile so that the safety rules live
 * in one place:
 * - views never reach past the mapping;
 * - on release the buffer is detached first (every view over it drops to
 *   length 0), and only then is the memory unmapped;
 * - the buffer can be transferred away (`buffer.transfer()`, `postMessage`
 *   with a transfer list), zero-copy in both runtimes, and then nothing here
 *   can detach what the new owner holds. So a transferred buffer is never
 *   left over unmapped memory: close() swaps the range for private zero pages
 *   instead of unmapping it (the shared object is dropped all the same), and
 *   the new owner reads zeros from then on;
 * - if the owner is dropped without close(), a FinalizationRegistry releases
 *   the mapping once the buffer object is unreachable. It cannot know whether
 *   the memory was transferred first, so it always swaps in zero pages: a
 *   forgotten close() costs address space, never a fault;
 * - a mapping made by a Worker is listed in the process-wide registry
 *   (_registry.ts), so that another thread releases it when the Worker ends.
 *
 * @module
 */
import type { UnsafePointer } from "./_backend.ts";
import { backend, libc } from "./_libc.ts";
import { fail } from "./_check.ts";
import { ClosedError } from "./errors.ts";
import { describe, validateInteger } from "./_validate.ts";
import { KIND_MAPPING, replaceWithZeroPages, track, untrack } from "./_registry.ts";

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

/** What the finalizer needs: no reference to the Mapping or its buffer. */
interface Held {
  address: bigint;
  byteLength: number;
  descriptor: number;
  entry: number;
}

// Runs only for mappings whose owner forgot close(): the key is the buffer,
// so this fires after the last view over that buffer object is gone. A
// transferred copy may still reach the memory, hence zero pages, not munmap.
const finalizer = new FinalizationRegistry<Held>((held) => {
  untrack(held.entry);
  replaceWithZeroPages(held.address, held.byteLength);
  if (held.descriptor >= 0) libc.close(held.descriptor);
});

/**
 * Detaches `buffer` so that every view over it has length 0. Returns false
 * when that is impossible (already detached, e.g. transferred away).
 */
export function detachBuffer(buffer: ArrayBuffer): boolean {
  try {
    (buffer as ArrayBuffer & { transfer(length: number): ArrayBuffer }).transfer(0);
    return true;
  } catch {
    return false;
  }
}

/** True if the buffer was detached by someone else, e.g. transferred away. */
function isDetached(buffer: ArrayBuffer, byteLength: number): boolean {
  const flag = (buffer as ArrayBuffer & { detached?: boolean }).detached;
  return flag === undefined ? buffer.byteLength === 0 && byteLength !== 0 : flag;
}

export class Mapping {
  readonly #address: bigint;
  readonly #byteLength: number;
  #buffer: ArrayBuffer | null;
  readonly #what: string;
  readonly #unmap: () => void;
  readonly #unregisterToken = {};
  readonly #entry: number;
  /** Set by retire(): the memory may still be reachable, so never unmap it. */
  #escaped = false;

  /**
   * @param address Start of the mapping.
   * @param byteLength Length usable through views.
   * @param what Names the owner in error messages.
   * @param unmap Removes the mapping (munmap or shmdt); throws ErrnoError.
   * @param descriptor A descriptor the owner holds (-1 if none), which the
   *   finalizer and the registry close with the mapping.
   * @throws {RangeError} If the runtime cannot make an ArrayBuffer this
   *   large; the memory is unmapped first.
   */
  constructor(
    address: bigint,
    byteLength: number,
    what: string,
    unmap: () => void,
    descriptor = -1,
  ) {
    this.#address = address;
    this.#byteLength = byteLength;
    this.#what = what;
    this.#unmap = unmap;
    try {
      this.#buffer = backend.arrayBuffer(address, byteLength);
    } catch (error) {
      try {
        unmap();
      } catch {
        // The RangeError below is what the caller needs to see.
      }
      throw new RangeError(
        `Cannot view ${byteLength} bytes of ${what} as one ArrayBuffer in this runtime: ${
          (error as Error).message
        }`,
      );
    }
    this.#entry = track(KIND_MAPPING, address, byteLength, descriptor);
    const held: Held = { address, byteLength, descriptor, entry: this.#entry };
    finalizer.register(this.#buffer, held, this.#unregisterToken);
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
    if (isDetached(buffer, size)) {
      throw new TypeError(
        `Cannot view ${this.#what}: its ArrayBuffer was transferred away; view the transferred buffer, or close() and open it again`,
      );
    }
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
   * Detaches the buffer and forgets it; the owner then calls `release()`.
   * Returns false when already retired. Never throws: a buffer that was
   * transferred away (or cannot be detached) only marks the memory as still
   * reachable.
   */
  retire(): boolean {
    const buffer = this.#buffer;
    if (buffer === null) return false;
    finalizer.unregister(this.#unregisterToken);
    untrack(this.#entry);
    this.#buffer = null;
    // A buffer detached already (transferred away) cannot be detached again.
    this.#escaped = !detachBuffer(buffer);
    return true;
  }

  /**
   * Gives the memory back after `retire()`: unmaps it, or swaps in zero
   * pages when the buffer escaped. Call once.
   *
   * @throws {ErrnoError} From munmap/shmdt, or mmap for the swap.
   */
  release(): void {
    if (!this.#escaped) return this.#unmap();
    if (!replaceWithZeroPages(this.#address, this.#byteLength)) {
      fail("mmap", `release ${this.#what}`, this.#what);
    }
  }
}
