/**
 * `char(n)`: a fixed C string field, `char name[n]`, holding UTF-8 text
 * terminated by NUL.
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { byteField, describe, type FieldType, validateCount } from "./_field.ts";
import { validateBoolean, validateOptions } from "../ffi/internal.ts";

/**
 * Options for {@linkcode char}.
 *
 * @example
 * ```ts
 * import { char, type CharOptions } from "../mod.ts";
 * const options: CharOptions = { truncate: true };
 * console.assert(char(16, options).byteLength === 16);
 * ```
 */
export interface CharOptions {
  /**
   * Cut a string that does not fit to the longest prefix that does (never
   * inside a UTF-8 sequence) instead of throwing RangeError. Default false.
   *
   * @example
   * ```ts
   * import { char, SharedMemory, struct } from "../mod.ts";
   * const Note = struct({ text: char(4, { truncate: true }) });
   * using shm = SharedMemory.create(`/doc-truncate-${Date.now()}`, 4096);
   * const note = Note.at(shm, 0);
   * note.text = "héllo"; // "h", "é" (2 bytes), then "l" would leave no room for the NUL
   * console.assert(note.text === "hé");
   * shm.unlink();
   * ```
   */
  truncate?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The UTF-8 bytes of `text` (with lone surrogates as U+FFFD, like TextEncoder). */
function encodeUtf8(text: string): Uint8Array {
  const out = new Uint8Array(text.length * 3);
  const { written } = encoder.encodeInto(text, out);
  return out.subarray(0, written);
}

/** Reads the string at `o`: bytes up to the first NUL or the end of the field. */
function readString(u8: Uint8Array, o: number, n: number): string {
  const stop = o + n;
  let end = o;
  let ascii = true;
  for (; end < stop; end++) {
    const c = u8[end];
    if (c === 0) break;
    if (c > 0x7f) ascii = false;
  }
  if (ascii && end - o <= 32) {
    let text = "";
    for (let i = o; i < end; i++) text += String.fromCharCode(u8[i]);
    return text;
  }
  // A copy: the runtimes' decoders fault when another process changes the
  // bytes while they decode them (SIGSEGV, seen in both).
  return decoder.decode(u8.slice(o, end));
}

/**
 * A fixed-size C string field, `char name[length]`: UTF-8 text followed by a
 * NUL. Reading gives the text up to the first NUL (or all `length` bytes if a
 * C writer filled them). Writing stores the text, a NUL and zeroes up to the
 * end, so at most `length - 1` bytes of text fit; a longer string, or one
 * containing NUL, is refused with RangeError and nothing is written, unless
 * `truncate` is set.
 *
 * @param length The array size in bytes, including room for the NUL.
 * @param options `truncate` (default false).
 * @returns The field type, named `char[length]`.
 * @throws {TypeError|RangeError} If `length` is not an integer from 1 to 2^31 - 1.
 *
 * @example A name that fits, one that does not, and one cut to fit
 * ```ts
 * import { char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });
 * using shm = SharedMemory.create(`/doc-char-${Date.now()}`, 4096);
 * const who = People.at(shm, 0);
 * who.name = "Ann";
 * console.assert(who.name === "Ann");
 * try {
 *   who.name = "Annabel";
 * } catch (error) {
 *   console.assert(error instanceof RangeError && who.name === "Ann");
 * }
 * const Short = struct({ name: char(4, { truncate: true }) });
 * const cut = Short.at(shm, 64);
 * cut.name = "Annabel";
 * console.assert(cut.name === "Ann");
 * shm.unlink();
 * ```
 */
export function char(length: number, options?: CharOptions): FieldType<string> {
  validateCount(length, "length", 1);
  validateOptions(options);
  validateBoolean(options?.truncate, "options.truncate");
  const truncate = options?.truncate ?? false;
  const n = length;
  const name = `char[${n}]`;
  return byteField<string>(name, n, "char", true, {
    read(b: Binding, o: number): string {
      live(b, o, n);
      return readString(b.u8, o, n);
    },
    prepare(value: unknown, where: string, init: boolean): string | Uint8Array | undefined {
      if (init && value === undefined) return undefined;
      if (typeof value !== "string") {
        throw new TypeError(`${where} (${name}) must be a string, got ${describe(value)}`);
      }
      // ASCII (the common case) is stored straight from the string: no
      // encoder call, which costs about a microsecond in some runtimes.
      let ascii = true;
      for (let i = 0; i < value.length; i++) {
        const c = value.charCodeAt(i);
        if (c === 0) {
          throw new RangeError(
            `${where} (${name}) must not contain NUL, got ${JSON.stringify(value)}`,
          );
        }
        if (c > 0x7f) ascii = false;
      }
      if (ascii && value.length < n) return value;
      const bytes = ascii ? null : encodeUtf8(value);
      const size = bytes?.length ?? value.length;
      if (size < n) return bytes!;
      if (!truncate) {
        throw new RangeError(
          `${where} (${name}) holds at most ${n - 1} bytes of UTF-8 and a NUL, got ${
            JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)
          } (${size} bytes); use char(${n}, { truncate: true }) to cut it`,
        );
      }
      if (bytes === null) return value.slice(0, n - 1);
      let cut = n - 1;
      // Back off to the start of a UTF-8 sequence (continuation bytes are 10xxxxxx).
      while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
      return bytes.subarray(0, cut);
    },
    store(b: Binding, o: number, prepared: unknown): void {
      live(b, o, n);
      const u8 = b.u8;
      let length: number;
      if (typeof prepared === "string") {
        length = prepared.length;
        for (let i = 0; i < length; i++) u8[o + i] = prepared.charCodeAt(i);
      } else {
        const bytes = prepared as Uint8Array;
        length = bytes.length;
        u8.set(bytes, o);
      }
      u8.fill(0, o + length, o + n);
    },
    snapshot(b: Binding, o: number): string {
      live(b, o, n);
      return readString(b.u8, o, n);
    },
  });
}
