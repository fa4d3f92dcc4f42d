/**
 * Where a primitive lives: a few 32-bit words at a fixed offset of a region,
 * followed when the region is remapped and refused once it is closed.
 *
 * @module
 */
import { onRelease, type UnsafePointer } from "../ffi/internal.ts";
import { ClosedError } from "../ffi/errors.ts";
import type { SharedRegion } from "../ffi/region.ts";
import { checkPlace } from "./_options.ts";

/**
 * A primitive's words in a region. Holding the region and a view over its
 * buffer (the key of the region's finalizer) keeps the mapping alive as long
 * as the primitive, and so while any of its waits is pending.
 */
export class Place {
  readonly region: SharedRegion;
  readonly byteOffset: number;
  /** Names the primitive in messages, e.g. `the mutex at byte 64`. */
  readonly what: string;
  readonly #length: number;
  #pointer: UnsafePointer;
  #words: Int32Array;
  #retired = false;

  /**
   * Checks the place (before any system call) and takes its words. A
   * `readable` primitive may sit in a read-only region (its writing calls
   * refuse it with checkWritable); others may not.
   *
   * @throws {TypeError|RangeError} On a bad region or offset.
   * @throws {ClosedError} If the region is closed.
   */
  constructor(
    region: SharedRegion,
    byteOffset: number,
    byteLength: number,
    alignment: number,
    kind: string,
    readable = false,
  ) {
    checkPlace(region, byteOffset, byteLength, alignment, kind, readable);
    this.region = region;
    this.byteOffset = byteOffset;
    this.what = `the ${kind} at byte ${byteOffset}`;
    this.#length = byteLength / 4;
    this.#pointer = region.unsafePointer(byteOffset);
    this.#words = region.view(Int32Array, byteOffset, this.#length);
  }

  /**
   * The live words. A remapped region (resize) is looked up again: the
   * primitives hold no addresses and may move.
   *
   * @throws {ClosedError} Once the region is closed or `retire()` ran.
   */
  words(): Int32Array {
    if (this.#words.length === 0 || this.region.closed) this.#refresh();
    return this.#words;
  }

  /** The address of the words the last `words()` returned. */
  get pointer(): UnsafePointer {
    return this.#pointer;
  }

  /** True after `retire()`. */
  get retired(): boolean {
    return this.#retired;
  }

  /**
   * Runs `callback` just before the region is released (close, detach) or
   * resized so that it no longer reaches the words, while they are still
   * mapped, with the error that ends a wait on them: ClosedError, or
   * RangeError after such a resize. Returns the function that cancels it.
   */
  onRelease(callback: (error: ClosedError | RangeError) => void): () => void {
    const end = this.byteOffset + this.#length * 4;
    return onRelease(this.region, (kept) => {
      callback(
        kept === null ? this.#closedError() : new RangeError(
          `Cannot use ${this.what}: ${this.region.description} was resized to ${kept} bytes, which no longer reach it`,
        ),
      );
    }, end);
  }

  /** Makes every later `words()` throw ClosedError (a destroyed primitive). */
  retire(): void {
    this.#retired = true;
    this.#words = new Int32Array(0);
  }

  #closedError(): ClosedError {
    return new ClosedError(`${this.what} of ${this.region.description}`);
  }

  #refresh(): void {
    if (this.#retired) throw new ClosedError(this.what);
    if (this.region.closed) throw this.#closedError();
    this.#pointer = this.region.unsafePointer(this.byteOffset);
    this.#words = this.region.view(Int32Array, this.byteOffset, this.#length);
  }
}
