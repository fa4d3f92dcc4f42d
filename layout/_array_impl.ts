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
  const viewClass = (): ArrayViewClass => {
    if (values) return valueArrayClass(numberKindOf(element));
    const records = element.recordClass;
    return records === undefined
      ? RecordArray as ArrayViewClass
      : recordArrayClass(records, element.byteLength);
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
      View ??= viewClass();
      return new View(b, o, element, count, name, !values);
    },
    prepare(value: unknown, where: string, init: boolean): unknown[] | undefined {
      if (init && value === undefined) return undefined;
      let items: unknown[];
      if (Array.isArray(value)) {
        items = value;
      } else if (
        value !== null && typeof value === "object" &&
        (Symbol.iterator in value || typeof (value as ArrayLike<unknown>).length === "number")
      ) {
        items = Array.from(value as ArrayLike<unknown>);
      } else {
        throw new TypeError(
          `${where} (${name}) must be an array or an iterable of ${element.name}, got ${
            describe(value)
          }`,
        );
      }
      if (items.length > count) {
        throw new RangeError(
          `${where} (${name}) holds at most ${count} elements, got ${items.length}`,
        );
      }
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
