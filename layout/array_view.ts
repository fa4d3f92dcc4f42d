/**
 * The indexable views that `array(type, n)` fields and `layout.array()` give:
 * `RecordArray` (elements are records or other views) and `ValueArray`
 * (elements are numbers or strings read in place).
 *
 * Index access (`people[3]`) works without wrapping each view in a Proxy:
 * the views' prototype chain ends in one shared Proxy that only sees
 * property names the view does not have. It refuses out-of-range indexes with
 * RangeError. In range, a RecordArray keeps the record of each of its first
 * INDEX_CACHE_LIMIT indexes as a hidden (non-enumerable) read-only own
 * property, so the next `people[3]` is an ordinary property read; beyond
 * that, each access goes through the Proxy and makes a new record, so a view
 * over a large array never holds more than that many records. `get(i)` and
 * `set(i, v)` skip the Proxy and are the fastest way in a loop.
 *
 * @module
 */
import { type Binding, live, readOnlyError, recover } from "./_binding.ts";
import { codegen, compile } from "./_codegen.ts";
import { describe, type FieldImpl } from "./_field.ts";
import { cachedView, type Inspect, jsonSafe, KIDS, type Kids, show } from "./_record.ts";
import { badNumber, numberAccessSource, type NumberKind, numberKindOf } from "./numbers.ts";

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

// The internals of an array view, keyed by symbols so that the per-layout
// subclasses generated in `arrayClassFor` can reach them too.
const V_BINDING: unique symbol = Symbol("shmkit.layout.binding");
const V_OFFSET: unique symbol = Symbol("shmkit.layout.offset");
const V_COUNT: unique symbol = Symbol("shmkit.layout.count");
const V_ELEMENT: unique symbol = Symbol("shmkit.layout.element");
const V_WHAT: unique symbol = Symbol("shmkit.layout.what");
const V_BAD_INDEX: unique symbol = Symbol("shmkit.layout.badIndex");
const V_KIND: unique symbol = Symbol("shmkit.layout.kind");
const V_CACHE: unique symbol = Symbol("shmkit.layout.cache");

/**
 * How many indexes of a RecordArray `view[i]` keeps records for: enough for
 * the small arrays of a C struct, bounded for views over large ones.
 */
const INDEX_CACHE_LIMIT = 1024;

/** Walks a view with `get(i)`; a class rather than a generator, for speed. */
class ViewIterator<T> implements IterableIterator<T> {
  #view: { get(i: number): T };
  #next = 0;
  #count: number;
  constructor(view: { get(i: number): T }, count: number) {
    this.#view = view;
    this.#count = count;
  }
  next(): IteratorResult<T> {
    const i = this.#next;
    if (i >= this.#count) return { value: undefined, done: true };
    this.#next = i + 1;
    return { value: this.#view.get(i), done: false };
  }
  [Symbol.iterator](): IterableIterator<T> {
    return this;
  }
}

/**
 * What both kinds of array view share: `length`, `byteOffset`, `get`,
 * iteration and `toJSON`. Views are made by layouts, never directly.
 *
 * @example
 * ```ts
 * import { type ArrayViewBase, i32, SharedMemory, array } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-viewbase-${Date.now()}`, 4096);
 * const view: ArrayViewBase<number> = array(i32, 4).at(shm, 0);
 * console.assert(view.length === 4 && [...view].length === 4);
 * shm.unlink();
 * ```
 */
export abstract class ArrayViewBase<T> {
  /** @ignore */
  [V_BINDING]: Binding;
  /** @ignore */
  [V_OFFSET]: number;
  /** @ignore */
  [V_COUNT]: number;
  /** @ignore */
  [V_ELEMENT]: FieldImpl;
  /** @ignore */
  [V_WHAT]: string;
  /** @ignore */
  [V_KIND]: NumberKind | undefined;
  /** @ignore */
  [V_CACHE]: boolean;
  /** @ignore */
  [KIDS]: Kids | undefined;

  /** Views are made by layouts (`array()`, `struct().array()`), not directly. */
  constructor(
    binding: Binding,
    byteOffset: number,
    element: FieldImpl,
    count: number,
    what: string,
    cache: boolean,
  ) {
    this[V_BINDING] = binding;
    this[V_OFFSET] = byteOffset;
    this[V_COUNT] = count;
    this[V_ELEMENT] = element;
    this[V_WHAT] = what;
    this[V_KIND] = numberKindOf(element);
    this[V_CACHE] = cache && element.stable;
    this[KIDS] = undefined;
  }

  /**
   * The number of elements.
   *
   * @example
   * ```ts
   * import { array, char, i32, SharedMemory, struct } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-viewlength-${Date.now()}`, 4096);
   * const people = struct({ name: char(4), age: i32 }).array(shm, 0, 10);
   * const scores = array(i32, 4).at(shm, 1024);
   * console.assert(people.length === 10 && scores.length === 4);
   * shm.unlink();
   * ```
   */
  get length(): number {
    return this[V_COUNT];
  }

  /**
   * The byte offset of the first element in the region.
   *
   * @example
   * ```ts
   * import { array, i32, SharedMemory, struct } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-viewoffset-${Date.now()}`, 4096);
   * const Team = struct({ id: i32, scores: array(i32, 4) });
   * const team = Team.at(shm, 64);
   * console.assert(team.scores.byteOffset === 64 + Team.offsetOf("scores"));
   * console.assert(Team.array(shm, 128, 2).byteOffset === 128);
   * shm.unlink();
   * ```
   */
  get byteOffset(): number {
    return this[V_OFFSET];
  }

  /** Element `index`; RangeError outside `0 <= index < length`. */
  abstract get(index: number): T;

  /** Iterates over the elements in order. */
  [Symbol.iterator](): IterableIterator<T> {
    return new ViewIterator(this, this[V_COUNT]);
  }

  /** A plain array copy of the elements. */
  [SNAPSHOT](): unknown[] {
    const n = this[V_COUNT];
    const e = this[V_ELEMENT];
    const stride = e.byteLength;
    const out = new Array(n);
    for (let i = 0; i < n; i++) out[i] = e.snapshot(this[V_BINDING], this[V_OFFSET] + i * stride);
    return out;
  }

  /** A plain copy for JSON: bigints become strings, bytes number arrays. */
  toJSON(): unknown {
    return jsonSafe(this[SNAPSHOT]());
  }

  /** How `console.log` shows the view under Deno: its elements, or "closed". */
  [Symbol.for("Deno.customInspect")](inspect: Inspect, options: unknown): unknown {
    return this.#show(inspect, options);
  }

  /** How `console.log` shows the view under Bun and Node. */
  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: unknown,
    options: unknown,
    inspect?: Inspect,
  ): unknown {
    return this.#show(inspect, options);
  }

  #show(inspect: Inspect | undefined, options: unknown): unknown {
    const label = `${this.constructor.name}(${this[V_COUNT]})`;
    return show(label, this[V_BINDING], () => this[SNAPSHOT](), inspect, options);
  }

  /** Refuses `index` unless it is an integer in `[0, length)`. */
  protected checkIndex(index: number): void {
    if (!(index >= 0 && index < this[V_COUNT] && Number.isInteger(index))) {
      this[V_BAD_INDEX](index);
    }
  }

  /** @ignore */
  protected element(index: number): T {
    this.checkIndex(index);
    const e = this[V_ELEMENT];
    const b = this[V_BINDING];
    const o = this[V_OFFSET] + index * e.byteLength;
    // A sync primitive is attached once per element, as once per record field.
    return (e.kind === "slot" ? cachedView(this, index, b, o, e) : e.read(b, o)) as T;
  }

  /** @ignore */
  protected write(index: number, value: unknown): void {
    this.checkIndex(index);
    const e = this[V_ELEMENT];
    const b = this[V_BINDING];
    const o = this[V_OFFSET] + index * e.byteLength;
    const kind = this[V_KIND];
    if (kind !== undefined) {
      if (!kind.isValid(value)) badNumber(kind, `${this[V_WHAT]}[${index}]`, value);
      e.store(b, o, kind.bigint && typeof value === "number" ? BigInt(value) : value);
      return;
    }
    const prepared = e.prepare(value, `${this[V_WHAT]}[${index}]`, false);
    live(b, o, e.byteLength);
    e.store(b, o, prepared);
  }

  /** @ignore */
  protected typed(): unknown {
    const kind = this[V_KIND];
    if (kind === undefined) {
      throw new TypeError(
        `asTypedArray() needs number elements; ${this[V_WHAT]} holds ${this[V_ELEMENT].name}`,
      );
    }
    const b = this[V_BINDING];
    const n = this[V_COUNT];
    live(b, this[V_OFFSET], n * kind.size);
    return new TYPED_ARRAYS[kind.name](b.buffer, this[V_OFFSET], n);
  }

  /** @ignore */
  [INDEX_GET](key: string): T {
    const index = this.#parseIndex(key);
    const element = this.get(index);
    if (this[V_CACHE] && index < INDEX_CACHE_LIMIT) {
      Object.defineProperty(this, key, { value: element });
    }
    return element;
  }

  /** @ignore */
  [INDEX_SET](key: string, value: unknown): void {
    const index = this.#parseIndex(key);
    const kind = this[V_ELEMENT].kind;
    if (kind === "number" || kind === "char") return this.write(index, value);
    throw new TypeError(
      `Cannot replace element ${index} of ${
        this[V_WHAT]
      }; assign its fields, or call set(${index}, values)`,
    );
  }

  /** @ignore */
  [V_BAD_INDEX](index: unknown, fromKey = false): never {
    const what = this[V_WHAT];
    const n = this[V_COUNT];
    if (typeof index !== "number" && !fromKey) {
      throw new TypeError(`index into ${what} must be a number, got ${describe(index)}`);
    }
    const shown = typeof index === "string" ? JSON.stringify(index) : String(index);
    throw new RangeError(
      n === 0
        ? `index into ${what} is out of range: it has no elements, got ${shown}`
        : `index into ${what} must be an integer from 0 to ${n - 1}, got ${shown}`,
    );
  }

  #parseIndex(key: string): number {
    const i = Number(key);
    if (!(Number.isInteger(i) && i >= 0 && i < this[V_COUNT] && String(i) === key)) {
      this[V_BAD_INDEX](String(i) === key ? i : key, true);
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
 * `people[i]` keeps the record it made for each of the first 1024 indexes
 * (as a hidden property: `Object.keys(people)` stays empty), so later reads
 * of those are plain property reads and give the same record; past index
 * 1023 every `people[i]` makes a new record, through a Proxy (150-250 ns),
 * so memory stays bounded however many indexes are read. `get(i)` always
 * makes a new record and is the fast way in a loop. Sync primitives in an
 * array of slots are attached once per element.
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
  /**
   * The element at `index`, as `get(index)`; RangeError outside `[0,
   * length)`. Elements cannot be assigned: use `set(index, values)`.
   *
   * @example
   * ```ts
   * import { i32, SharedMemory, struct } from "../mod.ts";
   * const Point = struct({ x: i32, y: i32 });
   * using shm = SharedMemory.create(`/doc-recindex-${Date.now()}`, 4096);
   * const points = Point.array(shm, 0, 4);
   * points[2].y = 5;
   * console.assert(points[2] === points[2] && points.get(2).y === 5);
   * shm.unlink();
   * ```
   */
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

/**
 * The typed array a number type maps to, e.g. Int32Array for i32: what
 * `ValueArray.asTypedArray()` returns.
 *
 * @example
 * ```ts
 * import { i32, SharedMemory, array, type TypedArrayOf } from "../mod.ts";
 * using shm = SharedMemory.create(`/doc-typedof-${Date.now()}`, 4096);
 * const ints: TypedArrayOf<number> = array(i32, 4).at(shm, 0).asTypedArray();
 * console.assert(ints.length === 4);
 * shm.unlink();
 * ```
 */
export type TypedArrayOf<T> = T extends bigint ? BigInt64Array | BigUint64Array
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
  /**
   * Element `index`, read and written with the same checks as `get` and
   * `set`. Every `values[i]` goes through a Proxy, which costs about 130 ns
   * in Deno and Bun against 2-6 ns for `get(i)`/`set(i, v)` (a JS engine
   * gives a Proxy's index keys to its trap as strings; no fast path inside
   * the trap avoids that). Use `get`/`set` or `asTypedArray()` in loops.
   *
   * @example
   * ```ts
   * import { array, u8, SharedMemory } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-valindex-${Date.now()}`, 4096);
   * const rgb = array(u8, 3).at(shm, 0);
   * rgb[0] = 255;
   * console.assert(rgb[0] === 255 && rgb[1] === 0);
   * shm.unlink();
   * ```
   */
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
   * @throws {TypeError} If the elements are not numbers, or the region is
   *   read-only (System V SHM_RDONLY: a write through the view would fault).
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

/**
 * The views of a read-only region (System V SHM_RDONLY), whose writes would
 * kill the process: every write (`set`, `view[i] = v`) and `asTypedArray()`
 * (a view that cannot refuse writes) throws TypeError; reads are unchanged.
 * Views of writable regions are the plain classes, with no check.
 */
function refuseWrite(view: ArrayViewBase<unknown>, index: number): never {
  throw readOnlyError(`write element ${index} of ${view[V_WHAT]}`);
}

function refuseTyped(view: ArrayViewBase<unknown>): never {
  throw new TypeError(
    `Cannot view ${
      view[V_WHAT]
    } as a typed array: the region is read-only (SHM_RDONLY) and a write through it would kill the process; read with get(i) or toObject()`,
  );
}

/** A RecordArray over a read-only region: `set` throws TypeError. */
export class ReadOnlyRecordArray<T> extends RecordArray<T> {
  protected override write(index: number): void {
    this.checkIndex(index);
    refuseWrite(this, index);
  }
}
Object.defineProperty(ReadOnlyRecordArray, "name", { value: "RecordArray" });

/** A ValueArray over a read-only region: writes and `asTypedArray()` throw TypeError. */
class ReadOnlyValueArray<T> extends ValueArray<T> {
  protected override write(index: number): void {
    this.checkIndex(index);
    refuseWrite(this, index);
  }

  protected override typed(): unknown {
    refuseTyped(this);
  }
}
Object.defineProperty(ReadOnlyValueArray, "name", { value: "ValueArray" });

/** The constructor shared by both view classes and their generated subclasses. */
export type ArrayViewClass = new (
  ...args: ConstructorParameters<typeof ArrayViewBase>
) => ArrayViewBase<unknown>;

/** Generated source that refuses index `i` unless it is an integer in `[0, this[N])`. */
const CHECK_INDEX = "if (!(i >= 0 && i < this[N] && Number.isInteger(i))) this[BAD](i);";

const recordArrays = new WeakMap<object, ArrayViewClass>();

/**
 * A RecordArray subclass for one struct whose `get(i)` and iterator build
 * its records inline, so that a loop over `get(i)` is monomorphic and the
 * JIT can inline (and often drop) the record allocation.
 */
export function recordArrayClass(
  make: new (b: Binding, o: number) => object,
  stride: number,
  readOnly: boolean,
): ArrayViewClass {
  const Base = readOnly ? ReadOnlyRecordArray : RecordArray;
  if (!codegen()) return Base as ArrayViewClass;
  const found = recordArrays.get(make);
  if (found !== undefined) return found;
  const made = compile(
    ["Base", "Make", "B", "O", "N", "BAD"],
    [Base, make, V_BINDING, V_OFFSET, V_COUNT, V_BAD_INDEX],
    `class Iter {
  constructor(b, o, n) { this.b = b; this.o = o; this.n = n; this.i = 0; }
  next() {
    const i = this.i;
    if (i >= this.n) return { value: undefined, done: true };
    this.i = i + 1;
    return { value: new Make(this.b, this.o + i * ${stride}), done: false };
  }
  [Symbol.iterator]() { return this; }
}
return class RecordArray extends Base {
  get(i) {
    ${CHECK_INDEX}
    return new Make(this[B], this[O] + i * ${stride});
  }
  [Symbol.iterator]() { return new Iter(this[B], this[O], this[N]); }
};`,
  ) as ArrayViewClass | undefined ?? Base as ArrayViewClass;
  recordArrays.set(make, made);
  return made;
}

const valueArrays = new Map<NumberKind, ArrayViewClass>();
const readOnlyValueArrays = new Map<NumberKind, ArrayViewClass>();

/**
 * A ValueArray subclass for one number type with `get`/`set` inlined; with
 * `readOnly`, `get` only (the inherited `set` refuses).
 */
export function valueArrayClass(kind: NumberKind | undefined, readOnly: boolean): ArrayViewClass {
  const Base = readOnly ? ReadOnlyValueArray : ValueArray;
  if (kind === undefined || !codegen()) return Base as ArrayViewClass;
  const cache = readOnly ? readOnlyValueArrays : valueArrays;
  const found = cache.get(kind);
  if (found !== undefined) return found;
  const { read, write } = numberAccessSource(kind, `i * ${kind.size}`, "badValue(this[W], i, v)");
  const setter = readOnly ? "" : `
  set(i, v) {
    ${CHECK_INDEX}
    ${write}
  }`;
  const made = compile(
    ["Base", "B", "O", "N", "W", "BAD", "recover", "badValue"],
    [
      Base,
      V_BINDING,
      V_OFFSET,
      V_COUNT,
      V_WHAT,
      V_BAD_INDEX,
      recover,
      (what: string, i: number, v: unknown) => badNumber(kind, `${what}[${i}]`, v),
    ],
    `return class ValueArray extends Base {
  get(i) {
    ${CHECK_INDEX}
    ${read}
  }${setter}
};`,
  ) as ArrayViewClass | undefined ?? Base as ArrayViewClass;
  cache.set(kind, made);
  return made;
}
