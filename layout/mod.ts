/**
 * C-compatible struct layouts over shared memory. Describe a C struct once;
 * read and write its fields as plain properties backed by the mapping, with
 * the same offsets a C compiler uses, bounded strings and arrays, sync
 * primitives inside records, and an optional header that makes a process
 * with a different idea of the layout fail at attach instead of reading
 * garbage.
 *
 * @example
 * ```ts
 * import { char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });
 * using shm = SharedMemory.create(`/doc-layout-mod-${Date.now()}`, 4096);
 * const people = People.array(shm, 0, 10);
 * people[3].age = 23;
 * console.assert(people[3].age === 23);
 * shm.unlink();
 * ```
 *
 * @module
 */
export type { FieldType, ValueOf, valueType } from "./field_type.ts";
export { f32, f64, i16, i32, i64, i8, u16, u32, u64, u8 } from "./numbers.ts";
export { char, type CharOptions } from "./char.ts";
export { bytes } from "./bytes.ts";
export { array, type ArrayLayout } from "./array.ts";
export {
  type ArrayViewOf,
  type Fields,
  type InputOf,
  type RecordOf,
  struct,
  type StructLayout,
  type StructOptions,
  type ValuesOf,
} from "./struct.ts";
export { flag, mutex, semaphore, type SlotType } from "./slots.ts";
export type { AttachOptions, InitOptions, Layout } from "./layout.ts";
export { ArrayViewBase, RecordArray, type TypedArrayOf, ValueArray } from "./array_view.ts";
export { LayoutMismatchError } from "./errors.ts";
export { type Plain, toObject } from "./to_object.ts";
