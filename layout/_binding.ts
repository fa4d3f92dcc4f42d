/**
 * The one place layouts touch a region's memory. Every record and array view
 * over a region shares one `Binding`, which holds a DataView and a Uint8Array
 * over the region's whole buffer. When the region is resized its buffer is
 * replaced: the first access that fails on the old (detached) buffer calls
 * `recover`, which rebinds every view at once. When the region is closed,
 * `recover` throws a ClosedError instead, so no accessor ever reads a
 * detached buffer's `undefined` or writes into nothing.
 *
 * A region whose writes fault (a System V segment attached SHM_RDONLY) is
 * bound `readOnly`: views over it are made from read-only classes whose
 * setters throw TypeError, so a write never reaches the memory and views of
 * writable regions pay nothing for the check.
 *
 * @module
 */
import { ClosedError } from "../ffi/errors.ts";
import type { SharedRegion } from "../ffi/region.ts";

/** The views over one region's current buffer. */
export interface Binding {
  readonly region: SharedRegion;
  /** True if writes to the region would fault: views refuse them instead. */
  readonly readOnly: boolean;
  buffer: ArrayBuffer;
  dv: DataView;
  u8: Uint8Array;
}

const bindings = new WeakMap<SharedRegion, Binding>();

/** The binding of an open region, made on first use and refreshed if stale. */
export function bind(region: SharedRegion): Binding {
  if (region.closed) throw new ClosedError(region.description);
  let binding = bindings.get(region);
  if (binding === undefined) {
    const buffer = region.buffer;
    binding = {
      region,
      readOnly: region.access === "read-only",
      buffer,
      dv: new DataView(buffer),
      u8: new Uint8Array(buffer),
    };
    bindings.set(region, binding);
  } else if (binding.buffer.byteLength === 0) {
    refresh(binding);
  }
  return binding;
}

function refresh(binding: Binding): void {
  const buffer = binding.region.buffer;
  binding.buffer = buffer;
  binding.dv = new DataView(buffer);
  binding.u8 = new Uint8Array(buffer);
}

/**
 * Called when an access on `binding` threw `error`, or before a slow-path
 * access whose views may be stale. Throws ClosedError if the region is closed,
 * RangeError if `[byteOffset, byteOffset + byteLength)` no longer fits after
 * a resize; rebinds to the region's new buffer otherwise. Rethrows `error`
 * when nothing changed, so a genuine bug is never hidden.
 */
export function recover(
  binding: Binding,
  byteOffset: number,
  byteLength: number,
  error?: unknown,
): void {
  const region = binding.region;
  if (region.closed) throw new ClosedError(`${region.description} at byte ${byteOffset}`);
  const stale = binding.buffer.byteLength === 0;
  if (stale) refresh(binding);
  if (byteOffset + byteLength > binding.buffer.byteLength) {
    throw new RangeError(
      `Cannot reach bytes ${byteOffset} to ${
        byteOffset + byteLength
      }: the region is now ${binding.buffer.byteLength} bytes`,
    );
  }
  if (!stale && error !== undefined) throw error;
}

/**
 * Makes sure `binding` is current and reaches `[byteOffset, byteOffset +
 * byteLength)` before a slow-path access (one that reads through `u8`, which
 * would read `undefined` instead of throwing).
 */
export function live(binding: Binding, byteOffset: number, byteLength: number): void {
  if (binding.buffer.byteLength < byteOffset + byteLength) {
    recover(binding, byteOffset, byteLength);
  }
}

/** The error for `action` (e.g. `write field "age" of People`) on a read-only region. */
export function readOnlyError(action: string): TypeError {
  return new TypeError(`Cannot ${action}: the region is read-only (SHM_RDONLY)`);
}
