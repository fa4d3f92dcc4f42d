/**
 * The behaviour of `array(type, n)`: n elements back to back, each
 * `type.byteLength` apart (a C element size already includes its padding).
 *
 * @module
 */
import { type Binding, live } from "./_binding.ts";
import { describe, type Entry, type FieldImpl } from "./_field.ts";
import {
  type ArrayViewClass,
  ReadOnlyRecordArray,
  RecordArray,
  recordArrayClass,
  valueArrayClass,
} from "./array_view.ts";
import { numberKindOf } from "./numbers.ts";

interface Dimensions {
  /** The innermost element's name and descriptor, e.g. `i32`. */
  baseName: string;
  baseDescriptor: string;
  /** The dimensions in C order, e.g. `[3][4]` for `int a[3][4]`. */
  dims: string;
}

const dimensions = new WeakMap<FieldImpl, Dimensions>();

/** The FieldImpl of `count` elements of `element`. */
export function arrayImpl(element: FieldImpl, count: number): FieldImpl {
  const inner = dimensions.get(element);
  const dims = `[${count}]${inner?.dims ?? ""}`;
  const baseName = inner?.baseName ?? element.name;
  const baseDescriptor = inner?.baseDescriptor ?? element.descriptor;
  const name = baseName + dims;
  const descriptor = baseDescriptor + dims;
  const stride = element.byteLength;
  const byteLength = stride * count;
  if (!Number.isSafeInteger(byteLength)) {
    throw new RangeError(`${name} is too large: ${byteLength} bytes`);
  }
  const values = element.kind === "number" || element.kind === "char";
  let View: ArrayViewClass | undefined;
  let ReadOnlyView: ArrayViewClass | undefined;
  const viewClass = (readOnly: boolean): ArrayViewClass => {
    if (values) return valueArrayClass(numberKindOf(element), readOnly);
    if (element.recordClass === undefined) {
      return (readOnly ? ReadOnlyRecordArray : RecordArray) as ArrayViewClass;
    }
    return recordArrayClass(element.recordClass(readOnly), element.byteLength, readOnly);
  };

  const impl: FieldImpl = {
    name,
    descriptor,
    byteLength,
    alignment: element.alignment,
    kind: "view",
    stable: true,
    hasSlots: element.hasSlots,
    read(b: Binding, o: number): object {
      const Class = b.readOnly ? (ReadOnlyView ??= viewClass(true)) : (View ??= viewClass(false));
      return new Class(b, o, element, count, name, !values);
    },
    prepare(value: unknown, where: string, init: boolean): unknown[] | undefined {
      if (init && value === undefined) return undefined;
      const items = itemsOf(value, count, () => `${where} (${name})`, element.name);
      return items.map((v, i) =>
        init && v === undefined ? undefined : element.prepare(v, `${where}[${i}]`, init)
      );
    },
    store(b: Binding, o: number, prepared: unknown): void {
      const items = prepared as unknown[];
      live(b, o, byteLength);
      impl.clear(b, o);
      for (let i = 0; i < items.length; i++) element.store(b, o + i * stride, items[i]);
    },
    initialize(b: Binding, o: number, prepared: unknown): void {
      const items = prepared as unknown[] | undefined;
      if (items === undefined && !element.hasSlots) return;
      for (let i = 0; i < count; i++) {
        const v = items?.[i];
        if (v !== undefined || element.hasSlots) element.initialize(b, o + i * stride, v);
      }
    },
    clear(b: Binding, o: number): void {
      live(b, o, byteLength);
      if (!element.hasSlots) {
        b.u8.fill(0, o, o + byteLength);
        return;
      }
      for (let i = 0; i < count; i++) element.clear(b, o + i * stride);
    },
    snapshot(b: Binding, o: number): unknown[] {
      const out = new Array(count);
      for (let i = 0; i < count; i++) out[i] = element.snapshot(b, o + i * stride);
      return out;
    },
    entries(path: string, offset: number, out: Entry[]): void {
      if (path !== "") out.push({ path, type: descriptor, offset });
      if (element.child !== undefined && count > 0) element.entries(`${path}[0]`, offset, out);
    },
    child(key: string, where: string) {
      const i = Number(key);
      if (!(Number.isInteger(i) && i >= 0 && i < count && String(i) === key)) {
        throw new RangeError(
          `index into ${where} must be an integer from 0 to ${count - 1}, got ${key}`,
        );
      }
      return { offset: i * stride, impl: element };
    },
  };
  dimensions.set(impl, { baseName, baseDescriptor, dims });
  return impl;
}

/**
 * The items of an array, iterable or array-like, refused with RangeError
 * once there are more than `count`: an iterable is read for at most `count +
 * 1` items (then closed, as `for-of` would), an array-like's `length` is
 * checked before anything is copied, so an endless or huge source fails fast.
 */
function itemsOf(
  value: unknown,
  count: number,
  what: () => string,
  elementName: string,
): unknown[] {
  const tooMany = (got: string) =>
    new RangeError(`${what()} holds at most ${count} elements, got ${got}`);
  if (Array.isArray(value)) {
    if (value.length > count) throw tooMany(String(value.length));
    return value;
  }
  if (value !== null && typeof value === "object") {
    if (Symbol.iterator in value) {
      const items: unknown[] = [];
      for (const item of value as Iterable<unknown>) {
        if (items.length === count) throw tooMany(`more than ${count}`); // for-of closes the iterator
        items.push(item);
      }
      return items;
    }
    const length = (value as ArrayLike<unknown>).length;
    if (typeof length === "number") {
      if (!Number.isSafeInteger(length) || length < 0) {
        throw new RangeError(
          `${what()} is array-like with length ${length}; a length must be an integer from 0`,
        );
      }
      if (length > count) throw tooMany(String(length));
      return Array.from(value as ArrayLike<unknown>);
    }
  }
  throw new TypeError(
    `${what()} must be an array or an iterable of ${elementName}, got ${describe(value)}`,
  );
}
