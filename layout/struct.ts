/**
 * `struct(fields)`: a C struct layout with the platform's offsets, padding
 * and size, whose records read and write the mapping in place.
 *
 * @module
 */
import type { SharedRegion } from "../ffi/region.ts";
import { validateOptions } from "../ffi/internal.ts";
import { type Binding, live } from "./_binding.ts";
import {
  alignUp,
  describe,
  type Entry,
  type FieldImpl,
  type FieldType,
  implOf,
  validateCount,
  type ValueOf,
} from "./_field.ts";
import { type FieldSlot, isRecord, type RecordClass, recordClass, snapshotOf } from "./_record.ts";
import type { RecordArray, ValueArray } from "./array_view.ts";
import { arrayImpl } from "./_array_impl.ts";
import { defineLayout, type Layout, placement } from "./layout.ts";
import type { SlotType } from "./slots.ts";

/**
 * The fields of a struct, in C declaration order.
 *
 * @example
 * ```ts
 * import { char, type Fields, i32, struct } from "../mod.ts";
 * const fields = { name: char(4), age: i32 } satisfies Fields;
 * console.assert(struct(fields).byteLength === 8);
 * ```
 */
export type Fields = { readonly [name: string]: FieldType };

/**
 * A record of a struct with fields `F`: one property per field. Sync slots
 * are read-only; every other field can be assigned.
 *
 * @example
 * ```ts
 * import { char, i32, type RecordOf, SharedMemory, struct } from "../mod.ts";
 * const fields = { name: char(4), age: i32 };
 * function birthday(p: RecordOf<typeof fields>) {
 *   p.age += 1;
 * }
 * using shm = SharedMemory.create(`/doc-recordof-${Date.now()}`, 4096);
 * const ann = struct(fields).at(shm, 0);
 * birthday(ann);
 * console.assert(ann.age === 1);
 * shm.unlink();
 * ```
 */
export type RecordOf<F extends Fields> =
  & {
    -readonly [K in keyof F as F[K] extends SlotType<unknown> ? never : K]: ValueOf<F[K]>;
  }
  & { readonly [K in keyof F as F[K] extends SlotType<unknown> ? K : never]: ValueOf<F[K]> };

/**
 * What an array view of elements of type `E` is: a ValueArray for numbers
 * and strings, a RecordArray for everything else.
 *
 * @example
 * ```ts
 * import { type ArrayViewOf, i32, SharedMemory, array } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-viewof-${Date.now()}`, 4096);
 * const scores: ArrayViewOf<typeof i32> = array(i32, 4).at(shm, 0);
 * scores[0] = 3;
 * console.assert(scores.get(0) === 3);
 * shm.unlink();
 * ```
 */
export type ArrayViewOf<E> = ValueOf<E> extends number | bigint | string ? ValueArray<ValueOf<E>>
  : RecordArray<ValueOf<E>>;

/**
 * What may be written into a field of type `T` (through `init` values or
 * `set`): numbers, bigints or safe integers for 64-bit fields, strings, byte
 * sources, arrays and plain objects for nested structs.
 *
 * @example
 * ```ts
 * import { array, type InputOf, u8 } from "../mod.ts";
 * const Bytes = array(u8, 4);
 * const input: InputOf<typeof Bytes> = [1, 2, 3];
 * console.assert([...input].length === 3);
 * ```
 */
export type InputOf<T> = T extends { readonly fields: infer G extends Fields } ? ValuesOf<G>
  : T extends { readonly element: infer E } ? readonly InputOf<E>[] | Iterable<InputOf<E>>
  : T extends SlotType<unknown> ? number
  : T extends FieldType<infer V> ? V extends bigint ? bigint | number
    : V extends Uint8Array ? ArrayLike<number> | ArrayBufferView | ArrayBuffer
    : V
  : never;

/**
 * Values for some or all fields of a struct with fields `F`.
 *
 * @example
 * ```ts
 * import { char, i32, SharedMemory, struct, type ValuesOf } from "../mod.ts";
 * const fields = { name: char(4), age: i32 };
 * const ann: ValuesOf<typeof fields> = { name: "Ann" };
 * using shm = SharedMemory.create(`/doc-valuesof-${Date.now()}`, 4096);
 * console.assert(struct(fields).init(shm, 0, { values: ann }).name === "Ann");
 * shm.unlink();
 * ```
 */
export type ValuesOf<F extends Fields> = { [K in keyof F]?: InputOf<F[K]> };

/**
 * Options for {@linkcode struct}.
 *
 * @example
 * ```ts
 * import { i32, struct, type StructOptions } from "../mod.ts";
 * const options: StructOptions = { name: "Point" };
 * console.assert(struct({ x: i32, y: i32 }, options).name === "Point");
 * ```
 */
export interface StructOptions {
  /**
   * Names the struct in error messages and `console.log`; not part of the
   * layout. Default `"struct"`.
   *
   * @example
   * ```ts
   * import { i32, SharedMemory, struct } from "../mod.ts";
   * const Point = struct({ x: i32, y: i32 }, { name: "Point" });
   * using shm = SharedMemory.create(`/doc-structname-${Date.now()}`, 4096);
   * console.assert(Point.at(shm, 0).constructor.name === "Point");
   * shm.unlink();
   * ```
   */
  name?: string;
}

/**
 * A C struct layout: field offsets, padding and size as the C compiler lays
 * them out on x86-64 and aarch64 Linux.
 *
 * @example
 * ```ts
 * import { char, i32, struct } from "../mod.ts";
 * const People = struct({ name: char(4), age: i32 }, { name: "People" });
 * console.assert(People.byteLength === 8 && People.fields.age.byteLength === 4);
 * ```
 */
export interface StructLayout<F extends Fields> extends Layout<RecordOf<F>, ValuesOf<F>> {
  /**
   * The field types by name, in declaration order.
   *
   * @example
   * ```ts
   * import { char, i32, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * console.assert(Object.keys(People.fields).join() === "name,age");
   * console.assert(People.fields.name.byteLength === 4);
   * ```
   */
  readonly fields: Readonly<F>;
  /**
   * `count` records back to back from `byteOffset`, as the C array
   * `struct people people[count]`: `people[3].age = 23`, `people.length`,
   * `for (const p of people)`. Out-of-range indexes throw RangeError.
   *
   * @param region Any shared-memory region.
   * @param byteOffset A multiple of `alignment`.
   * @param count Number of records, an integer from 0.
   * @throws {TypeError|RangeError} On a bad argument or if they do not fit.
   *
   * @example
   * ```ts
   * import { char, i32, SharedMemory, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * using shm = SharedMemory.create(`/doc-array-${Date.now()}`, 4096);
   * const people = People.array(shm, 0, 10);
   * people[3].age = 23;
   * console.assert(people[3].age === 23 && people.length === 10);
   * shm.unlink();
   * ```
   */
  array(region: SharedRegion, byteOffset: number, count: number): RecordArray<RecordOf<F>>;
}

// Field names become accessor names in generated source: keep them plain.
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
/** Names a field cannot take, and why. */
const RESERVED = new Map([
  ["constructor", "every JavaScript object has it"],
  ["__proto__", "every JavaScript object has it"],
  ["prototype", "every JavaScript object has it"],
  ["toJSON", "records use it for JSON.stringify()"],
]);

/**
 * Defines a C struct layout. Fields are laid out in the order given, each at
 * the next multiple of its alignment; the struct's alignment is its largest
 * field alignment and its size is rounded up to it, as C does. Place it with
 * `at` (plain C memory), `init` (zero, initialize sync slots, optional
 * header) or `attach` (check the header), or `array` for several.
 *
 * Records are objects whose properties read and write the mapping directly:
 * no copy, no serialization. A value that does not fit its field is refused
 * with RangeError (a wrong type with TypeError) before anything is written.
 * Assigning a whole nested struct or array replaces it: fields not given
 * become zero, as in a C compound literal; sync slots are never touched. On
 * a read-only region (System V SHM_RDONLY) records and array views read as
 * usual and every assignment throws TypeError, writing nothing.
 *
 * @param fields Field name to type, in C declaration order. Names are JS
 *   identifiers other than `constructor`, `__proto__`, `prototype` and
 *   `toJSON` (which records use for `JSON.stringify`).
 * @param options `name` for messages.
 * @returns The layout.
 * @throws {TypeError|RangeError} On an empty struct, a bad or reserved
 *   name, a symbol key or a non-type.
 *
 * @example The docs' people array and shared_use_st
 * ```ts
 * import { char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });                 // same bytes as the C struct
 * const Shared = struct({ writtenByYou: i32, someText: char(2048) });
 * using shm = SharedMemory.create(`/doc-struct-${Date.now()}`, 8192);
 * const people = People.array(shm, 0, 10);                          // people[3].age = 23
 * people[3].age = 23;
 * const hdr = Shared.at(shm, 4096);
 * hdr.someText = "hello";                                           // NUL-terminated, bounded
 * console.assert(people[3].age === 23 && hdr.someText === "hello");
 * shm.unlink();
 * ```
 */
export function struct<const F extends Fields>(
  fields: F,
  options?: StructOptions,
): StructLayout<F> {
  if (fields === null || typeof fields !== "object" || Array.isArray(fields)) {
    throw new TypeError(
      `fields must be an object of field types like { age: i32 }, got ${describe(fields)}`,
    );
  }
  validateOptions(options);
  const name = options?.name ?? "struct";
  if (typeof name !== "string") {
    throw new TypeError(`options.name must be a string, got ${describe(name)}`);
  }
  const symbol = Object.getOwnPropertySymbols(fields)[0];
  if (symbol !== undefined) {
    throw new TypeError(
      `fields must be keyed by names; a symbol key (${String(symbol)}) cannot name a C field`,
    );
  }
  // Each definition is read once (it may be a getter), and what is laid out
  // is what `fields` keeps.
  const definitions = Object.entries(fields);
  if (definitions.length === 0) {
    throw new RangeError("fields must have at least one field; C has no empty structs");
  }
  const slots: FieldSlot[] = [];
  let offset = 0;
  let alignment = 1;
  for (const [field, type] of definitions) {
    if (!IDENTIFIER.test(field)) {
      throw new RangeError(`field names must be JS identifiers, got ${JSON.stringify(field)}`);
    }
    const reserved = RESERVED.get(field);
    if (reserved !== undefined) {
      throw new RangeError(`field name "${field}" is reserved: ${reserved}; rename the field`);
    }
    const impl = implOf(type, `fields.${field}`);
    offset = alignUp(offset, impl.alignment);
    slots.push({ name: field, impl, offset, where: `${name}.${field}` });
    offset += impl.byteLength;
    alignment = Math.max(alignment, impl.alignment);
  }
  const byteLength = alignUp(offset, alignment);
  if (!Number.isSafeInteger(byteLength)) {
    throw new RangeError(`the struct is too large: ${byteLength} bytes`);
  }
  const impl = structImpl(name, slots, byteLength, alignment);
  const layout = defineLayout(impl, {
    fields: Object.freeze(Object.fromEntries(definitions)),
    array(region: SharedRegion, byteOffset: number, count: number) {
      validateCount(count, "count", 0);
      return placement(arrayImpl(impl, count)).at(region, byteOffset);
    },
  });
  return layout as unknown as StructLayout<F>;
}

function structImpl(
  name: string,
  slots: readonly FieldSlot[],
  byteLength: number,
  alignment: number,
): FieldImpl {
  const byName = new Map(slots.map((s, i) => [s.name, i]));
  const hasSlots = slots.some((s) => s.impl.hasSlots);
  const descriptor = `struct(${byteLength} bytes)`;
  const fieldList = () => slots.map((s) => s.name).join(", ");

  const impl: FieldImpl = {
    name,
    descriptor,
    byteLength,
    alignment,
    kind: "view",
    stable: true,
    hasSlots,
    read(b: Binding, o: number): object {
      return b.readOnly ? new (readOnlyClass())(b, o) : new Make(b, o);
    },
    recordClass(readOnly: boolean) {
      return readOnly ? readOnlyClass() : Make;
    },
    prepare(value: unknown, where: string, init: boolean): unknown[] | undefined {
      if (init && value === undefined) return undefined;
      // A record's fields live on its prototype; copy them out first.
      const source = isRecord(value) ? snapshotOf(value) : value;
      if (source === null || typeof source !== "object" || Array.isArray(source)) {
        throw new TypeError(
          `${where} must be an object with fields of ${name} (${fieldList()}), got ${
            describe(value)
          }`,
        );
      }
      for (const key of Object.keys(source)) {
        if (!byName.has(key)) {
          throw new TypeError(
            `${where} has a field "${key}" that ${name} does not (${fieldList()})`,
          );
        }
      }
      const values = source as Record<string, unknown>;
      const prepared = new Array(slots.length);
      slots.forEach((s, i) => {
        const v = values[s.name];
        if (v !== undefined) prepared[i] = s.impl.prepare(v, `${where}.${s.name}`, init);
      });
      return prepared;
    },
    store(b: Binding, o: number, prepared: unknown): void {
      const values = prepared as unknown[];
      live(b, o, byteLength);
      impl.clear(b, o);
      slots.forEach((s, i) => {
        if (values[i] !== undefined) s.impl.store(b, o + s.offset, values[i]);
      });
    },
    initialize(b: Binding, o: number, prepared: unknown): void {
      if (prepared === undefined && !hasSlots) return;
      const values = prepared as unknown[] | undefined;
      slots.forEach((s, i) => {
        const v = values?.[i];
        if (v !== undefined || s.impl.hasSlots) s.impl.initialize(b, o + s.offset, v);
      });
    },
    clear(b: Binding, o: number): void {
      live(b, o, byteLength);
      if (!hasSlots) {
        b.u8.fill(0, o, o + byteLength);
        return;
      }
      let cursor = o;
      for (const s of slots) {
        b.u8.fill(0, cursor, o + s.offset);
        s.impl.clear(b, o + s.offset);
        cursor = o + s.offset + s.impl.byteLength;
      }
      b.u8.fill(0, cursor, o + byteLength);
    },
    snapshot(b: Binding, o: number): Record<string, unknown> {
      const out: Record<string, unknown> = {};
      for (const s of slots) {
        const v = s.impl.snapshot(b, o + s.offset);
        if (v !== undefined) out[s.name] = v;
      }
      return out;
    },
    entries(path: string, offset: number, out: Entry[]): void {
      if (path !== "") out.push({ path, type: descriptor, offset });
      for (const s of slots) {
        s.impl.entries(path === "" ? s.name : `${path}.${s.name}`, offset + s.offset, out);
      }
    },
    child(key: string, where: string) {
      const i = byName.get(key);
      if (i === undefined) {
        throw new RangeError(`${where} has no field "${key}"; its fields are ${fieldList()}`);
      }
      return { offset: slots[i].offset, impl: slots[i].impl };
    },
  };
  const Make = recordClass(name, slots, impl);
  // Made on first use: most programs never bind a read-only region.
  let ReadOnly: RecordClass | undefined;
  const readOnlyClass = () => (ReadOnly ??= recordClass(name, slots, impl, true));
  return impl;
}
