/**
 * The C number types: `i8` to `u64` (`int8_t` to `uint64_t`), `f32` and
 * `f64` (`float` and `double`). Each has natural alignment (its own size), as
 * on x86-64 and aarch64 Linux. Values are stored little-endian, which both
 * platforms are.
 *
 * @module
 */
import { type Binding, recover } from "./_binding.ts";
import { defineType, describe, type Entry, type FieldImpl, type FieldType } from "./_field.ts";

/** The facts the record code generator and the generic paths need. */
export interface NumberKind {
  readonly name: string;
  readonly size: number;
  /** DataView method names, e.g. `getInt32`. */
  readonly getter: string;
  readonly setter: string;
  /** True for i64/u64: read as bigint. */
  readonly bigint: boolean;
  /** A JS expression over `v` that is true when `v` cannot be stored. */
  readonly invalid: string;
  readonly read: (dv: DataView, o: number) => number | bigint;
  readonly write: (dv: DataView, o: number, v: never) => void;
  /** The same test as `invalid` (negated), for code that is not generated. */
  readonly isValid: (v: unknown) => boolean;
  readonly range: string;
}

/**
 * A test of `v`, both as source text (for generated accessors) and as a
 * function (for everything else). Both are built here, side by side from
 * the same bounds, so that they cannot drift apart; each checks `typeof`
 * first, so a bigint or an object is never coerced (no valueOf call, no
 * "Cannot mix BigInt" from the engine).
 */
interface Check {
  readonly source: string;
  readonly test: (v: unknown) => boolean;
  /** What passes, for messages. */
  readonly range: string;
}

const isNumber: Check = {
  source: `typeof v === "number"`,
  test: (v) => typeof v === "number",
  range: "a number",
};

function integerIn(min: number, max: number): Check {
  return {
    source: `(${isNumber.source} && v >= ${min} && v <= ${max} && Number.isInteger(v))`,
    test: (v) =>
      isNumber.test(v) && (v as number) >= min && (v as number) <= max && Number.isInteger(v),
    range: `an integer from ${min} to ${max}`,
  };
}

function int64(signed: boolean): Check {
  const wrap = signed ? "asIntN" : "asUintN";
  const safe = integerIn(signed ? Number.MIN_SAFE_INTEGER : 0, Number.MAX_SAFE_INTEGER);
  return {
    source: `(typeof v === "bigint" ? BigInt.${wrap}(64, v) === v : ${safe.source})`,
    test: (v) => typeof v === "bigint" ? BigInt[wrap](64, v) === v : safe.test(v),
    range: signed
      ? "a bigint from -(2n ** 63n) to 2n ** 63n - 1n, or a safe integer"
      : "a bigint from 0n to 2n ** 64n - 1n, or a non-negative safe integer",
  };
}

function kind(
  name: string,
  method: string,
  check: Check,
  read: NumberKind["read"],
  write: NumberKind["write"],
): NumberKind {
  const size = Number(name.slice(1)) / 8;
  return {
    name,
    size,
    getter: `get${method}`,
    setter: `set${method}`,
    bigint: method.startsWith("Big"),
    invalid: `!(${check.source})`,
    isValid: check.test,
    range: check.range,
    read,
    write,
  };
}

// deno-fmt-ignore
const NUMBER_KINDS: Readonly<Record<string, NumberKind>> = {
  i8: kind("i8", "Int8", integerIn(-128, 127),
    (dv, o) => dv.getInt8(o), (dv, o, v: number) => dv.setInt8(o, v)),
  u8: kind("u8", "Uint8", integerIn(0, 255),
    (dv, o) => dv.getUint8(o), (dv, o, v: number) => dv.setUint8(o, v)),
  i16: kind("i16", "Int16", integerIn(-32768, 32767),
    (dv, o) => dv.getInt16(o, true), (dv, o, v: number) => dv.setInt16(o, v, true)),
  u16: kind("u16", "Uint16", integerIn(0, 65535),
    (dv, o) => dv.getUint16(o, true), (dv, o, v: number) => dv.setUint16(o, v, true)),
  i32: kind("i32", "Int32", integerIn(-2147483648, 2147483647),
    (dv, o) => dv.getInt32(o, true), (dv, o, v: number) => dv.setInt32(o, v, true)),
  u32: kind("u32", "Uint32", integerIn(0, 4294967295),
    (dv, o) => dv.getUint32(o, true), (dv, o, v: number) => dv.setUint32(o, v, true)),
  i64: kind("i64", "BigInt64", int64(true),
    (dv, o) => dv.getBigInt64(o, true), (dv, o, v: bigint) => dv.setBigInt64(o, v, true)),
  u64: kind("u64", "BigUint64", int64(false),
    (dv, o) => dv.getBigUint64(o, true), (dv, o, v: bigint) => dv.setBigUint64(o, v, true)),
  f32: kind("f32", "Float32", isNumber,
    (dv, o) => dv.getFloat32(o, true), (dv, o, v: number) => dv.setFloat32(o, v, true)),
  f64: kind("f64", "Float64", isNumber,
    (dv, o) => dv.getFloat64(o, true), (dv, o, v: number) => dv.setFloat64(o, v, true)),
};

/**
 * Source for the body of a generated accessor of a `kind` number at byte
 * `this[O] + offset` of binding `this[B]` (`offset` is a JS expression):
 * `read` returns the value, `write` checks `v` (calling `refuse` with it if it
 * cannot be stored) and stores it. An access that fails on a stale buffer
 * calls `recover` and is tried once more. Records and number arrays both
 * compile these, with `B`, `O` and `recover` in scope.
 */
export function numberAccessSource(
  kind: NumberKind,
  offset: string,
  refuse: string,
): { read: string; write: string } {
  const le = kind.size > 1 ? ", true" : "";
  const value = kind.bigint ? `(typeof v === "bigint" ? v : BigInt(v))` : "v";
  const at = `const b = this[B], o = this[O] + ${offset};`;
  const retry = `catch (e) { recover(b, o, ${kind.size}, e);`;
  const get = `b.dv.${kind.getter}(o${le})`;
  const set = `b.dv.${kind.setter}(o, ${value}${le})`;
  return {
    read: `${at}\n    try { return ${get}; }\n    ${retry} return ${get}; }`,
    write:
      `if (${kind.invalid}) ${refuse};\n    ${at}\n    try { ${set}; }\n    ${retry} ${set}; }`,
  };
}

/** Throws the right error for a value `kind` cannot store. */
export function badNumber(kind: NumberKind, where: string, value: unknown): never {
  const wanted = kind.bigint ? ["bigint", "number"] : ["number"];
  if (!wanted.includes(typeof value)) {
    throw new TypeError(`${where} (${kind.name}) must be ${kind.range}, got ${describe(value)}`);
  }
  throw new RangeError(`${where} (${kind.name}) must be ${kind.range}, got ${describe(value)}`);
}

const numberImpls = new WeakMap<NumberKind, FieldImpl>();
const kinds = new WeakMap<FieldImpl, NumberKind>();

/** The number kind behind `impl`, if it is a number type. */
export function numberKindOf(impl: FieldImpl): NumberKind | undefined {
  return kinds.get(impl);
}

/** The FieldImpl of a number kind. */
function numberImpl(kind: NumberKind): FieldImpl {
  const found = numberImpls.get(kind);
  if (found !== undefined) return found;
  const { size, read, write, isValid } = kind;
  const toStored = kind.bigint
    ? (v: unknown) => (typeof v === "bigint" ? v : BigInt(v as number))
    : (v: unknown) => v;
  const impl: FieldImpl = {
    name: kind.name,
    descriptor: kind.name,
    byteLength: size,
    alignment: size,
    kind: "number",
    stable: true,
    hasSlots: false,
    read(b: Binding, o: number) {
      try {
        return read(b.dv, o);
      } catch (error) {
        recover(b, o, size, error);
        return read(b.dv, o);
      }
    },
    prepare(value: unknown, where: string, init: boolean) {
      if (init && value === undefined) return undefined;
      if (!isValid(value)) badNumber(kind, where, value);
      return toStored(value);
    },
    store(b: Binding, o: number, prepared: unknown) {
      try {
        write(b.dv, o, prepared as never);
      } catch (error) {
        recover(b, o, size, error);
        write(b.dv, o, prepared as never);
      }
    },
    initialize(b: Binding, o: number, prepared: unknown) {
      if (prepared !== undefined) impl.store(b, o, prepared);
    },
    clear(b: Binding, o: number) {
      b.u8.fill(0, o, o + size);
    },
    snapshot(b: Binding, o: number) {
      return impl.read(b, o);
    },
    entries(path: string, offset: number, out: Entry[]) {
      out.push({ path, type: kind.name, offset });
    },
  };
  numberImpls.set(kind, impl);
  kinds.set(impl, kind);
  return impl;
}

/**
 * `int8_t`: a signed byte, read and written as a number from -128 to 127.
 *
 * @example
 * ```ts
 * import { i8, struct } from "../mod.ts";
 * const Delta = struct({ dx: i8, dy: i8 });
 * console.assert(Delta.byteLength === 2);
 * ```
 */
export const i8: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.i8));

/**
 * `uint8_t`: an unsigned byte, a number from 0 to 255.
 *
 * @example
 * ```ts
 * import { struct, u8 } from "../mod.ts";
 * const Pixel = struct({ r: u8, g: u8, b: u8, a: u8 });
 * console.assert(Pixel.byteLength === 4 && Pixel.alignment === 1);
 * ```
 */
export const u8: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.u8));

/**
 * `int16_t`: a number from -32768 to 32767, 2-byte aligned.
 *
 * @example
 * ```ts
 * import { i16, i8, struct } from "../mod.ts";
 * const S = struct({ tag: i8, value: i16 });
 * console.assert(S.offsetOf("value") === 2 && S.byteLength === 4);
 * ```
 */
export const i16: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.i16));

/**
 * `uint16_t`: a number from 0 to 65535, 2-byte aligned.
 *
 * @example
 * ```ts
 * import { struct, u16 } from "../mod.ts";
 * const Port = struct({ port: u16 });
 * console.assert(Port.byteLength === 2);
 * ```
 */
export const u16: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.u16));

/**
 * `int32_t` (C `int` on Linux): a number from -2^31 to 2^31 - 1. Writing a
 * non-integer or a number out of range throws RangeError; nothing is written.
 *
 * @example
 * ```ts
 * import { char, i32, struct } from "../mod.ts";
 * const People = struct({ name: char(4), age: i32 });
 * console.assert(People.offsetOf("age") === 4 && People.byteLength === 8);
 * ```
 */
export const i32: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.i32));

/**
 * `uint32_t`: a number from 0 to 2^32 - 1.
 *
 * @example
 * ```ts
 * import { struct, u32 } from "../mod.ts";
 * const Header = struct({ magic: u32, length: u32 });
 * console.assert(Header.byteLength === 8);
 * ```
 */
export const u32: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.u32));

/**
 * `int64_t` (C `long` on Linux): read as a `bigint`; written from a bigint or
 * a safe integer. 8-byte aligned on x86-64 and aarch64.
 *
 * @example
 * ```ts
 * import { i32, i64, struct } from "../mod.ts";
 * const Stamp = struct({ id: i32, nanos: i64 });
 * console.assert(Stamp.offsetOf("nanos") === 8 && Stamp.byteLength === 16);
 * ```
 */
export const i64: FieldType<bigint> = defineType(numberImpl(NUMBER_KINDS.i64));

/**
 * `uint64_t`: read as a `bigint`; written from a bigint or a non-negative
 * safe integer.
 *
 * @example
 * ```ts
 * import { struct, u64 } from "../mod.ts";
 * const Counter = struct({ hits: u64 });
 * console.assert(Counter.alignment === 8);
 * ```
 */
export const u64: FieldType<bigint> = defineType(numberImpl(NUMBER_KINDS.u64));

/**
 * `float`: a 32-bit IEEE 754 number (written values are rounded to it).
 *
 * @example
 * ```ts
 * import { f32, struct } from "../mod.ts";
 * const Vec2 = struct({ x: f32, y: f32 });
 * console.assert(Vec2.byteLength === 8);
 * ```
 */
export const f32: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.f32));

/**
 * `double`: a 64-bit IEEE 754 number, 8-byte aligned.
 *
 * @example
 * ```ts
 * import { f64, i8, struct } from "../mod.ts";
 * const Sample = struct({ flag: i8, value: f64 });
 * console.assert(Sample.offsetOf("value") === 8 && Sample.byteLength === 16);
 * ```
 */
export const f64: FieldType<number> = defineType(numberImpl(NUMBER_KINDS.f64));
