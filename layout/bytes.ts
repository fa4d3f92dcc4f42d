/**
 * `bytes(n)`: a fixed byte array field, `uint8_t data[n]`, read as a live
 * `Uint8Array` over the mapping.
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { byteField, describe, type FieldType, validateCount } from "./_field.ts";

/**
 * Turns a byte source into a Uint8Array of its own, refusing anything else.
 *
 * A view or buffer is copied: it may be a live view of the very bytes being
 * replaced (`rec.inner = { id: rec.inner.id }`), directly or through a second
 * mapping of the same object, and assigning a struct zeroes it before storing.
 */
function byteSource(value: unknown, where: string, limit: number, name: string): Uint8Array {
  let bytes: Uint8Array;
  let copy = true;
  if (ArrayBuffer.isView(value)) {
    bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  } else if (value instanceof ArrayBuffer) {
    bytes = new Uint8Array(value);
  } else if (Array.isArray(value)) {
    copy = false;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v !== "number" || (v & 0xff) !== v) {
        throw new RangeError(
          `${where}[${i}] must be an integer from 0 to 255, got ${describe(v)}`,
        );
      }
    }
    bytes = Uint8Array.from(value as number[]);
  } else {
    throw new TypeError(
      `${where} (${name}) must be a Uint8Array, another ArrayBufferView, an ArrayBuffer or an array of bytes, got ${
        describe(value)
      }`,
    );
  }
  if (bytes.length > limit) {
    throw new RangeError(`${where} (${name}) holds at most ${limit} bytes, got ${bytes.length}`);
  }
  return copy ? bytes.slice() : bytes;
}

/**
 * A fixed byte array field, `uint8_t data[length]`. Reading gives a
 * `Uint8Array` over exactly those bytes of the mapping (no copy; it cannot
 * reach past the field). Assigning a Uint8Array, any ArrayBufferView, an
 * ArrayBuffer or an array of byte values copies it in and zeroes the rest of
 * the field; a longer source is refused with RangeError and nothing is
 * written. On a read-only region (System V SHM_RDONLY) reading gives a copy
 * made at that moment instead, since a write through a live view would kill
 * the process.
 *
 * @param length Size in bytes, an integer from 1 to 2^31 - 1.
 * @returns The field type, named `bytes[length]`.
 * @throws {TypeError|RangeError} If `length` is not such an integer.
 *
 * @example A 16-byte id inside a record
 * ```ts
 * import { bytes, SharedMemory, struct, u32 } from "../mod.ts";
 *
 * const Session = struct({ id: bytes(16), hits: u32 });
 * using shm = SharedMemory.create(`/doc-bytes-${Date.now()}`, 4096);
 * const s = Session.at(shm, 0);
 * s.id = crypto.getRandomValues(new Uint8Array(16));
 * s.id[0] = 0xff;                       // writes the mapping directly
 * console.assert(s.id.length === 16 && s.id[0] === 0xff);
 * shm.unlink();
 * ```
 */
export function bytes(length: number): FieldType<Uint8Array> {
  validateCount(length, "length", 1);
  const n = length;
  const name = `bytes[${n}]`;
  return byteField<Uint8Array>(name, n, "view", false, {
    read(b: Binding, o: number): Uint8Array {
      live(b, o, n);
      // No typed array refuses writes, and one over read-only memory would
      // let `rec.id[0] = 1` kill the process: a read-only region gets a copy.
      return b.readOnly ? b.u8.slice(o, o + n) : new Uint8Array(b.buffer, o, n);
    },
    prepare(value: unknown, where: string, init: boolean): Uint8Array | undefined {
      if (init && value === undefined) return undefined;
      return byteSource(value, where, n, name);
    },
    store(b: Binding, o: number, prepared: unknown): void {
      const source = prepared as Uint8Array;
      live(b, o, n);
      b.u8.set(source, o);
      b.u8.fill(0, o + source.length, o + n);
    },
    snapshot(b: Binding, o: number): Uint8Array {
      live(b, o, n);
      return b.u8.slice(o, o + n);
    },
  });
}
