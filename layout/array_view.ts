/**
 * The indexable views that `array(type, n)` fields and `layout.array()` give:
 * `RecordArray` (elements are records or other views) and `ValueArray`
 * (elements are numbers or strings read in place).
 *
 * Index access (`people[3]`) works without wrapping each view in a Proxy:
 * the views' prototype chain ends in one shared Proxy that only sees
 * property names the view does not have. It refuses out-of-range indexes with
 * RangeError; in range, a RecordArray defines the element as a read-only own
 * property, so the next `people[3]` is an ordinary property read. `get(i)`
 * and `set(i, v)` skip even that and are the fastest way in a loop.
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { describe, type FieldImpl } from "./_field.ts";
import { jsonSafe } from "./_record.ts";
import { badNumber, type NumberKind, numberKindOf } from "./numbers.ts";

const INDEX_GET: unique symbol = Symbol("shmkit.layout.indexGet");
const INDEX_SET: unique symbol = Symbol("shmkit.layout.indexSet");

interface Indexed {
  [INDEX_GET](key: string): unknown;
  [INDEX_SET](key: string, value: unknown): void;
}

/** True for property names that look like an index: digits, `-`, NaN, Infinity. */
function indexLike(key: string | symbol): key is string {
  if (typeof key !== "string" || key.length === 0) return false;
  const c = key.charCodeAt(0);
  return (c >= 48 && c <= 57) || c === 45 || key === "NaN" || key === "Infinity";
}

// Sits at the end of every array view's prototype chain, so it only sees
// names found nowhere before it.
const indexTrap: object = new Proxy(Object.prototype, {
  get(target, key, receiver) {
    if (indexLike(key) && receiver instanceof ArrayViewBase) {
      return (receiver as unknown as Indexed)[INDEX_GET](key);
    }
    return Reflect.get(target, key, receiver);
  },
  set(target, key, value, receiver) {
    if (indexLike(key) && receiver instanceof ArrayViewBase) {
      (receiver as unknown as Indexed)[INDEX_SET](key, value);
      return true;
    }
    return Reflect.set(target, key, value, receiver);
  },
});

/** A plain copy of a view's elements. */
export const SNAPSHOT: unique symbol = Symbol("shmkit.layout.snapshot");

/** Shared by both kinds of array view. */
abstract class ArrayViewBase<T> {
  readonly #b: Binding;
  readonly #o: number;
  readonly #e: FieldImpl;
  readonly #n: number;
  readonly #stride: number;
  readonly #what: string;
  readonly #kind: NumberKind | undefined;
  readonly #cache: boolean;

  constructor(
    binding: Binding,
    byteOffset: number,
    element: FieldImpl,
    count: number,
    what: string,
    cache: boolean,
  ) {
    this.#b = binding;
    this.#o = byteOffset;
    this.#e = element;
    this.#n = count;
    this.#stride = element.byteLength;
    this.#what = what;
    this.#kind = numberKindOf(element);
    this.#cache = cache && element.stable;
  }

  /** The number of elements. */
  get length(): number {
    return this.#n;
  }

  /** The byte offset of the first element in the region. */
  get byteOffset(): number {
    return this.#o;
  }

  /** Iterates over the elements in order. */
  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#n; i++) yield this.element(i);
  }

  /** A plain array copy of the elements. */
  [SNAPSHOT](): unknown[] {
    const { length } = this;
    const out = new Array(length);
    for (let i = 0; i < length; i++) {
      out[i] = this.#e.snapshot(this.#b, this.#o + i * this.#stride);
    }
    return out;
  }

  /** A plain copy for JSON: bigints become strings, bytes number arrays. */
  toJSON(): unknown {
    return jsonSafe(this[SNAPSHOT]());
  }

  [Symbol.for("Deno.customInspect")](
    inspect: (value: unknown, options: unknown) => string,
    options: unknown,
  ): string {
    return `${this.constructor.name}(${this.#n}) ${inspect(this[SNAPSHOT](), options)}`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): unknown {
    return this[SNAPSHOT]();
  }

  protected element(index: number): T {
    if (!(index >= 0 && index < this.#n && Number.isInteger(index))) this.#badIndex(index);
    return this.#e.read(this.#b, this.#o + index * this.#stride) as T;
  }

  protected write(index: number, value: unknown): void {
    if (!(index >= 0 && index < this.#n && Number.isInteger(index))) this.#badIndex(index);
    const o = this.#o + index * this.#stride;
    const kind = this.#kind;
    if (kind !== undefined) {
      if (!kind.isValid(value)) badNumber(kind, `${this.#what}[${index}]`, value);
      this.#e.store(this.#b, o, kind.bigint && typeof value === "number" ? BigInt(value) : value);
      return;
    }
    const prepared = this.#e.prepare(value, `${this.#what}[${index}]`, false);
    live(this.#b, o, this.#stride);
    this.#e.store(this.#b, o, prepared);
  }

  protected typed(): unknown {
    const kind = this.#kind;
    if (kind === undefined) {
      throw new TypeError(
        `asTypedArray() needs number elements; ${this.#what} holds ${this.#e.name}`,
      );
    }
    live(this.#b, this.#o, this.#n * this.#stride);
    return new TYPED_ARRAYS[kind.name](this.#b.buffer, this.#o, this.#n);
  }

  [INDEX_GET](key: string): T {
    const element = this.element(this.#parseIndex(key));
    if (this.#cache) Object.defineProperty(this, key, { value: element, enumerable: true });
    return element;
  }

  [INDEX_SET](key: string, value: unknown): void {
    const index = this.#parseIndex(key);
    if (this.#e.kind === "number" || this.#e.kind === "char") return this.write(index, value);
    throw new TypeError(
      `Cannot replace element ${index} of ${this.#what}; assign its fields, or call set(${index}, values)`,
    );
  }

  #badIndex(index: unknown): never {
    if (typeof index !== "number" && typeof index !== "string") {
      throw new TypeError(`index into ${this.#what} must be a number, got ${describe(index)}`);
    }
    const shown = typeof index === "string" ? JSON.stringify(index) : String(index);
    throw new RangeError(
      this.#n === 0
        ? `index into ${this.#what} is out of range: it has no elements, got ${shown}`
        : `index into ${this.#what} must be an integer from 0 to ${this.#n - 1}, got ${shown}`,
    );
  }

  #parseIndex(key: string): number {
    const i = Number(key);
    if (!(Number.isInteger(i) && i >= 0 && i < this.#n && String(i) === key)) {
      this.#badIndex(String(i) === key ? i : key);
    }
    return i;
  }
}
Object.setPrototypeOf(ArrayViewBase.prototype, indexTrap);

const TYPED_ARRAYS: Readonly<
  Record<string, new (b: ArrayBuffer, o: number, n: number) => unknown>
> = {
  i8: Int8Array,
  u8: Uint8Array,
  i16: Int16Array,
  u16: Uint16Array,
  i32: Int32Array,
  u32: Uint32Array,
  i64: BigInt64Array,
  u64: BigUint64Array,
  f32: Float32Array,
  f64: Float64Array,
};

/**
 * A fixed-length array of records (or of other views: arrays, byte arrays,
 * sync objects) laid out back to back in shared memory, as a C array of
 * structs. `people[3]` and `people.get(3)` give the record at index 3; both
 * throw RangeError outside `0 <= index < length`. Elements cannot be replaced
 * by assignment (`people[3] = x` throws TypeError): assign their fields, or
 * use `set(3, values)` to overwrite a whole element.
 *
 * @example
 * ```ts
 * import { char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });
 * using shm = SharedMemory.create(`/doc-recarr-${Date.now()}`, 4096);
 * const people = People.array(shm, 0, 10);
 * people[3].age = 23;
 * people.set(4, { name: "Bo", age: 41 });
 * let total = 0;
 * for (const p of people) total += p.age;
 * console.assert(people.length === 10 && total === 64);
 * shm.unlink();
 * ```
 */
export class RecordArray<T> extends ArrayViewBase<T> {
  readonly [index: number]: T;

  /**
   * The element at `index`: a new record object over those bytes each call
   * (cheap; nothing is copied).
   *
   * @throws {RangeError} If `index` is not an integer in `[0, length)`.
   *
   * @example
   * ```ts
   * import { i32, SharedMemory, struct } from "../mod.ts";
   * const Point = struct({ x: i32, y: i32 });
   * using shm = SharedMemory.create(`/doc-recget-${Date.now()}`, 4096);
   * const points = Point.array(shm, 0, 100);
   * for (let i = 0; i < points.length; i++) points.get(i).x = i;
   * console.assert(points.get(99).x === 99);
   * shm.unlink();
   * ```
   */
  get(index: number): T {
    return this.element(index);
  }

  /**
   * Overwrites element `index` with `values`, like assigning a C compound
   * literal: fields not given become zero (sync slots are left alone).
   * Everything is checked before any byte is written.
   *
   * @throws {RangeError} If `index` is out of range or a value does not fit.
   * @throws {TypeError} If `values` has a field the element does not.
   *
   * @example
   * ```ts
   * import { char, i32, SharedMemory, struct } from "../mod.ts";
   * const People = struct({ name: char(4), age: i32 });
   * using shm = SharedMemory.create(`/doc-recset-${Date.now()}`, 4096);
   * const people = People.array(shm, 0, 2);
   * people.set(1, { name: "Cy", age: 7 });
   * console.assert(people[1].name === "Cy");
   * shm.unlink();
   * ```
   */
  set(index: number, values: unknown): void {
    this.write(index, values);
  }
}

/** The typed array a number type maps to, e.g. Int32Array for i32. */
type TypedArrayOf<T> = T extends bigint ? BigInt64Array | BigUint64Array
  :
    | Int8Array
    | Uint8Array
    | Int16Array
    | Uint16Array
    | Int32Array
    | Uint32Array
    | Float32Array
    | Float64Array;

/**
 * A fixed-length array of numbers or strings in shared memory, as the C array
 * `int32_t scores[4]` or `char names[3][8]`. Every read and write goes to the
 * mapping. `scores[2] = 5` and `scores.set(2, 5)` check the index and the
 * value (RangeError, nothing written) exactly like a record field does.
 *
 * @example
 * ```ts
 * import { array, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const Team = struct({ scores: array(i32, 4) });
 * using shm = SharedMemory.create(`/doc-valarr-${Date.now()}`, 4096);
 * const team = Team.at(shm, 0);
 * team.scores[2] = 5;
 * team.scores.set(0, 1);
 * console.assert([...team.scores].join() === "1,0,5,0");
 * try {
 *   team.scores[4] = 9;
 * } catch (error) {
 *   console.assert(error instanceof RangeError);
 * }
 * shm.unlink();
 * ```
 */
export class ValueArray<T> extends ArrayViewBase<T> {
  [index: number]: T;

  /**
   * Reads element `index` from the mapping.
   *
   * @throws {RangeError} If `index` is not an integer in `[0, length)`.
   *
   * @example
   * ```ts
   * import { array, f64, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-valget-${Date.now()}`, 4096);
   * const samples = array(f64, 8).at(shm, 0);
   * samples.set(7, 0.5);
   * console.assert(samples.get(7) === 0.5);
   * shm.unlink();
   * ```
   */
  get(index: number): T {
    return this.element(index);
  }

  /**
   * Writes element `index`.
   *
   * @throws {RangeError} If `index` is out of range or `value` does not fit.
   * @throws {TypeError} If `value` has the wrong type.
   *
   * @example
   * ```ts
   * import { array, char, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-valset-${Date.now()}`, 4096);
   * const names = array(char(8), 3).at(shm, 0);
   * names.set(0, "ada");
   * console.assert(names[0] === "ada");
   * shm.unlink();
   * ```
   */
  set(index: number, value: T): void {
    this.write(index, value);
  }

  /**
   * A typed array over exactly these elements (no copy), for bulk work and
   * `Atomics`. Only for number elements. Like every view, it is emptied when
   * the region is closed or resized.
   *
   * @throws {TypeError} If the elements are not numbers.
   *
   * @example Atomic counters inside a struct
   * ```ts
   * import { array, i32, SharedMemory, struct } from "../mod.ts";
   * const Stats = struct({ counters: array(i32, 4) });
   * using shm = SharedMemory.create(`/doc-typed-${Date.now()}`, 4096);
   * const counters = Stats.at(shm, 0).counters.asTypedArray() as Int32Array;
   * Atomics.add(counters, 1, 5);
   * console.assert(Stats.at(shm, 0).counters[1] === 5);
   * shm.unlink();
   * ```
   */
  asTypedArray(): TypedArrayOf<T> {
    return this.typed() as TypedArrayOf<T>;
  }
}
