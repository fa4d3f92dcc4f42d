/**
 * The protocol every field type implements, kept out of the public objects:
 * the public `FieldType` carries only `name`, `byteLength` and `alignment`;
 * its behaviour is found through `implOf`.
 *
 * Writing happens in two steps so that bad input is refused before any byte
 * changes: `prepare` validates (and converts, e.g. encodes a string), then
 * `store` or `initialize` writes what `prepare` returned.
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { describe } from "../ffi/internal.ts";

import type { FieldType } from "./field_type.ts";
export type { FieldType, ValueOf } from "./field_type.ts";

/** How a field's value behaves in a record. */
type FieldKind =
  /** A number or bigint read and written in place. */
  | "number"
  /** A string decoded on every read. */
  | "char"
  /** A view object (record, array view, Uint8Array), cached by its parent. */
  | "view"
  /** A sync primitive attached on first read; never assigned. */
  | "slot";

/** One line of a layout's description: a field's path, type and offset. */
export interface Entry {
  path: string;
  type: string;
  offset: number;
}

/** The behaviour behind one field type. */
export interface FieldImpl {
  /** The public name, used in messages: `i32`, `char[4]`, `People`, `People[10]`. */
  readonly name: string;
  /**
   * The name in layout descriptions (the header): like `name` but without
   * the JS-only struct names, e.g. `struct(8 bytes)[10]`.
   */
  readonly descriptor: string;
  readonly byteLength: number;
  readonly alignment: number;
  readonly kind: FieldKind;
  /**
   * For "view" kinds: true if a view stays valid across a resize (it holds no
   * buffer). A view that holds the buffer is raw memory: on a read-only
   * binding `read` gives a copy instead, and records do not cache it.
   */
  readonly stable: boolean;
  /** True if this type or a part of it is a sync slot. */
  readonly hasSlots: boolean;
  /** Reads the value (or makes a new view) at `o`. */
  read(b: Binding, o: number): unknown;
  /**
   * Validates `value` for a write and returns what `store` needs. With
   * `init`, `undefined` is allowed anywhere and slots accept their initial
   * value. Throws TypeError or RangeError naming `where`.
   */
  prepare(value: unknown, where: string, init: boolean): unknown;
  /** Writes a prepared value, replacing the whole field (slots untouched). */
  store(b: Binding, o: number, prepared: unknown): void;
  /** Zero bytes are already there: initialize slots, store what was given. */
  initialize(b: Binding, o: number, prepared: unknown): void;
  /** Zeroes the field, leaving sync slots alone. */
  clear(b: Binding, o: number): void;
  /** A plain copy of the value (records become objects, views arrays). */
  snapshot(b: Binding, o: number): unknown;
  /** Appends this field's description lines (for the header). */
  entries(path: string, offset: number, out: Entry[]): void;
  /**
   * For structs: the class of its records, `new (binding, byteOffset)`;
   * with `readOnly`, the class whose setters throw (for read-only bindings).
   */
  recordClass?(readOnly: boolean): new (b: Binding, o: number) => object;
  /** For composite types: the part named by `key` (field name or index). */
  child?(key: string, where: string): { offset: number; impl: FieldImpl };
}

const impls = new WeakMap<object, FieldImpl>();

/** Registers `impl` as the behaviour of a new public field type and returns it. */
export function defineType<T, P extends object = object>(
  impl: FieldImpl,
  publicPart?: P,
): FieldType<T> & P {
  const type = Object.assign(publicPart ?? {}, {
    name: impl.name,
    byteLength: impl.byteLength,
    alignment: impl.alignment,
  }) as unknown as FieldType<T> & P;
  impls.set(type, impl);
  return type;
}

/**
 * A field of `length` bytes aligned to 1 (`char(n)`, `bytes(n)`): `parts`
 * says how to read, check, store and copy its value; the rest is the same
 * for every such field.
 */
export function byteField<T>(
  name: string,
  length: number,
  kind: FieldKind,
  stable: boolean,
  parts: Pick<FieldImpl, "read" | "prepare" | "store" | "snapshot">,
): FieldType<T> {
  const impl: FieldImpl = {
    name,
    descriptor: name,
    byteLength: length,
    alignment: 1,
    kind,
    stable,
    hasSlots: false,
    ...parts,
    initialize(b: Binding, o: number, prepared: unknown): void {
      if (prepared !== undefined) impl.store(b, o, prepared);
    },
    clear(b: Binding, o: number): void {
      live(b, o, length);
      b.u8.fill(0, o, o + length);
    },
    entries(path: string, offset: number, out: Entry[]): void {
      out.push({ path, type: name, offset });
    },
  };
  return defineType<T>(impl);
}

/** How to call each field type maker, for the hint when one is passed uncalled. */
const MAKERS: Readonly<Record<string, string>> = {
  char: "char(8)",
  bytes: "bytes(8)",
  array: "array(i32, 8)",
  struct: "struct({ x: i32 })",
};

/** The behaviour of a field type; TypeError if `type` is not one. */
export function implOf(type: unknown, argument: string): FieldImpl {
  const impl = typeof type === "object" && type !== null ? impls.get(type) : undefined;
  if (impl !== undefined) return impl;
  if (typeof type === "function") {
    const example = MAKERS[type.name];
    throw new TypeError(
      example === undefined
        ? `${argument} must be a field type, got a function; call it to make one?`
        : `${argument} must be a field type; ${type.name} makes one when called, e.g. ${example}`,
    );
  }
  throw new TypeError(
    `${argument} must be a field type such as i32, char(8) or a struct, got ${describe(type)}`,
  );
}

/** Rounds `n` up to a multiple of `alignment` (a power of two). */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

/** Checks a count or length argument: an integer from `min` to 2^31 - 1. */
export function validateCount(
  value: unknown,
  argument: string,
  min: number,
): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${argument} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > 0x7fffffff) {
    throw new RangeError(`${argument} must be an integer from ${min} to 2147483647, got ${value}`);
  }
}

export { describe };
