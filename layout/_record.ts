/**
 * Record objects: one class per struct layout whose prototype has a getter
 * and a setter per field, reading and writing the mapping in place.
 *
 * The accessors are generated as source text once per layout (`new
 * Function`), so each layout gets its own functions and its own inline
 * caches. Closures from one shared function literal would share feedback
 * across every layout and go megamorphic: measured about 10x slower in V8
 * once a program has a handful of layouts. Where code generation is not
 * allowed, the same accessors are built from closures instead.
 *
 * @module
 */
import { type Binding, live, readOnlyError, recover } from "./_binding.ts";
import type { FieldImpl } from "./_field.ts";
import { badNumber, numberAccessSource, numberKindOf } from "./numbers.ts";
import { codegen, compile } from "./_codegen.ts";

/** Own properties of every record, keyed by symbols so no field name clashes. */
const BINDING: unique symbol = Symbol("shmkit.layout.binding");
const OFFSET: unique symbol = Symbol("shmkit.layout.offset");
export const KIDS: unique symbol = Symbol("shmkit.layout.kids");
/** On each record prototype: the struct's FieldImpl. */
export const STRUCT: unique symbol = Symbol("shmkit.layout.struct");

export interface Kids {
  buffer: ArrayBuffer;
  items: unknown[];
}

/** The internal shape of a record. */
interface RecordInternals {
  [BINDING]: Binding;
  [OFFSET]: number;
  [KIDS]: Kids | undefined;
}

/** A field as the record builder sees it. */
export interface FieldSlot {
  readonly name: string;
  readonly impl: FieldImpl;
  readonly offset: number;
  /** e.g. `People.age`, for error messages. */
  readonly where: string;
}

/** Makes records of one layout: `new (b, o)`. */
export type RecordClass = new (binding: Binding, byteOffset: number) => object;

/**
 * The prototype every record class inherits: JSON and console output show
 * the field values rather than the internal symbols.
 */
class RecordBase {
  /** A plain copy for JSON: bigints become decimal strings, bytes arrays. */
  toJSON(): unknown {
    return jsonSafe(snapshotOf(this));
  }

  [Symbol.for("Deno.customInspect")](inspect: Inspect, options: unknown): unknown {
    return showRecord(this, inspect, options);
  }

  [Symbol.for("nodejs.util.inspect.custom")](
    _depth: unknown,
    options: unknown,
    inspect?: Inspect,
  ): unknown {
    return showRecord(this, inspect, options);
  }
}

// Records are made by generated classes that only inherit RecordBase's
// prototype (its constructor never runs), so it has no private members.
function showRecord(record: object, inspect: Inspect | undefined, options: unknown): unknown {
  const binding = (record as RecordInternals)[BINDING];
  return show(record.constructor.name, binding, () => snapshotOf(record), inspect, options);
}

/** The inspect function runtimes pass to custom inspection. */
export type Inspect = (value: unknown, options: unknown) => string;

/**
 * What `console.log` and the runtimes' inspect functions show for a record
 * or an array view: `People { name: "Ann", age: 30 }`, or `People <closed>`
 * once the region is closed. Never throws: a view that no longer fits its
 * resized region shows why.
 */
export function show(
  label: string,
  binding: Binding,
  snapshot: () => unknown,
  inspect: Inspect | undefined,
  options: unknown,
): unknown {
  if (binding.region.closed) return `${label} <closed>`;
  let value: unknown;
  try {
    value = snapshot();
  } catch (error) {
    return `${label} <${error instanceof Error ? error.message : String(error)}>`;
  }
  return inspect === undefined ? value : `${label} ${inspect(value, options)}`;
}

/** The snapshot of a record made by any layout. */
export function snapshotOf(record: object): unknown {
  const r = record as RecordInternals & { [STRUCT]: FieldImpl };
  return r[STRUCT].snapshot(r[BINDING], r[OFFSET]);
}

/** True for records made by a layout. */
export function isRecord(value: unknown): value is RecordInternals {
  return value instanceof RecordBase && (value as { [STRUCT]?: unknown })[STRUCT] !== undefined;
}

/** Replaces bigints by strings and byte arrays by number arrays, deeply. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return Array.from(value);
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
    return out;
  }
  return value;
}

/** Whatever keeps views of its parts: a record, or an array of sync slots. */
interface KidHolder {
  [KIDS]: Kids | undefined;
}

/**
 * The view of part `index` of `holder` (nested record, array, bytes, sync
 * object): made once and kept until the region's buffer changes, so a sync
 * primitive is attached once and a view never outlives its buffer.
 */
export function cachedView(
  holder: KidHolder,
  index: number,
  b: Binding,
  o: number,
  impl: FieldImpl,
): unknown {
  live(b, o, impl.byteLength);
  let kids = holder[KIDS];
  if (kids === undefined || kids.buffer !== b.buffer) {
    kids = holder[KIDS] = { buffer: b.buffer, items: [] };
  }
  let value = kids.items[index];
  if (value === undefined) value = kids.items[index] = impl.read(b, o);
  return value;
}

/** The cached view of field `index`. */
function kidOf(record: RecordInternals, index: number, slot: FieldSlot): unknown {
  return cachedView(record, index, record[BINDING], record[OFFSET] + slot.offset, slot.impl);
}

function writer(slot: FieldSlot) {
  const { impl, where } = slot;
  return (b: Binding, o: number, value: unknown): void => {
    const prepared = impl.prepare(value, where, false);
    live(b, o, impl.byteLength);
    impl.store(b, o, prepared);
  };
}

/** The setter of a field on a read-only binding: refuses, writes nothing. */
function refuser(slot: FieldSlot, structName: string): () => never {
  return () => {
    throw readOnlyError(`write field "${slot.name}" of ${structName}`);
  };
}

/**
 * True for a field whose value is a view holding the buffer (`bytes(n)`):
 * on a read-only binding its `read` gives a copy, which is not cached, so
 * each read sees the memory as it is now.
 */
function copiedWhenReadOnly(impl: FieldImpl): boolean {
  return impl.kind === "view" && !impl.stable;
}

// The names the generated class body refers to.
const GENERATED_NAMES = ["B", "O", "K", "recover", "bad", "rd", "wr", "kid"];

/**
 * Builds the record class of a struct, named `name` whatever that is (the
 * name is set as a property, never written into generated source). With
 * `readOnly`, for regions whose writes fault: the getters are the same and
 * every setter throws TypeError, so records of writable regions carry no
 * check.
 */
export function recordClass(
  name: string,
  slots: readonly FieldSlot[],
  struct: FieldImpl,
  readOnly = false,
): RecordClass {
  const Class = (codegen() ? generated(name, slots, readOnly) : undefined) ??
    closures(name, slots, readOnly);
  Object.defineProperty(Class, "name", { value: name });
  Object.setPrototypeOf(Class.prototype, RecordBase.prototype);
  Object.defineProperty(Class.prototype, STRUCT, { value: struct });
  return Class;
}

/** The class generated as source, or undefined if the engine refuses it. */
function generated(
  name: string,
  slots: readonly FieldSlot[],
  readOnly: boolean,
): RecordClass | undefined {
  const bad: ((v: unknown) => never)[] = [];
  const rd: ((b: Binding, o: number) => unknown)[] = [];
  const wr: ((b: Binding, o: number, v: unknown) => void)[] = [];
  const kid: ((r: RecordInternals) => unknown)[] = [];
  const members: string[] = [];
  slots.forEach((slot, i) => {
    const { impl, offset: off, name: field } = slot;
    const kind = numberKindOf(impl);
    wr[i] = readOnly ? refuser(slot, name) : writer(slot);
    const set = `set ${field}(v) { wr[${i}](this[B], this[O] + ${off}, v); }`;
    if (kind !== undefined) {
      bad[i] = (v) => badNumber(kind, slot.where, v);
      const { read, write } = numberAccessSource(kind, String(off), `bad[${i}](v)`);
      members.push(
        `get ${field}() {\n    ${read}\n  }`,
        readOnly ? set : `set ${field}(v) {\n    ${write}\n  }`,
      );
      return;
    }
    if (impl.kind === "char" || (readOnly && copiedWhenReadOnly(impl))) {
      rd[i] = (b, o) => impl.read(b, o);
      members.push(`get ${field}() { return rd[${i}](this[B], this[O] + ${off}); }`);
    } else {
      kid[i] = (r) => kidOf(r, i, slot);
      members.push(`get ${field}() { return kid[${i}](this); }`);
    }
    members.push(set);
  });
  const source = `return class {
  constructor(b, o) { this[B] = b; this[O] = o; this[K] = undefined; }
  ${members.join("\n  ")}
};`;
  return compile(
    GENERATED_NAMES,
    [BINDING, OFFSET, KIDS, recover, bad, rd, wr, kid],
    source,
  ) as RecordClass | undefined;
}

function closures(name: string, slots: readonly FieldSlot[], readOnly: boolean): RecordClass {
  const Class = class {
    [BINDING]: Binding;
    [OFFSET]: number;
    [KIDS]: Kids | undefined;
    constructor(b: Binding, o: number) {
      this[BINDING] = b;
      this[OFFSET] = o;
      this[KIDS] = undefined;
    }
  };
  slots.forEach((slot, i) => {
    const { impl, offset: off } = slot;
    const write = readOnly ? refuser(slot, name) : writer(slot);
    const cached = (impl.kind === "view" || impl.kind === "slot") &&
      !(readOnly && copiedWhenReadOnly(impl));
    const get = cached
      ? function (this: RecordInternals) {
        return kidOf(this, i, slot);
      }
      : function (this: RecordInternals) {
        return impl.read(this[BINDING], this[OFFSET] + off);
      };
    Object.defineProperty(Class.prototype, slot.name, {
      get,
      set(this: RecordInternals, v: unknown) {
        write(this[BINDING], this[OFFSET] + off, v);
      },
      configurable: true,
    });
  });
  return Class;
}
