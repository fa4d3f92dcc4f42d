/**
 * `array(type, n)`: a fixed-length C array field, `type name[n]`, and a
 * layout of its own.
 *
 * @module
 */
import { type FieldType, implOf, validateCount } from "./_field.ts";
import { arrayImpl } from "./_array_impl.ts";
import { defineLayout, type Layout } from "./layout.ts";
import type { ArrayViewOf, InputOf } from "./struct.ts";

/**
 * A C array type, `E name[length]`, usable as a field and placeable on its
 * own.
 *
 * @example
 * ```ts
 * import { array, f64 } from "../mod.ts";
 * const Samples = array(f64, 128);
 * console.assert(Samples.byteLength === 1024 && Samples.length === 128);
 * ```
 */
export interface ArrayLayout<E extends FieldType>
  extends Layout<ArrayViewOf<E>, readonly InputOf<E>[] | Iterable<InputOf<E>>> {
  /**
   * The element type.
   *
   * @example
   * ```ts
   * import { array, i16 } from "../mod.ts";
   * console.assert(array(i16, 3).element === i16);
   * ```
   */
  readonly element: E;
  /**
   * The number of elements.
   *
   * @example
   * ```ts
   * import { array, i16 } from "../mod.ts";
   * const Row = array(i16, 3);
   * console.assert(Row.length === 3 && Row.byteLength === 6);
   * ```
   */
  readonly length: number;
}

/**
 * A fixed-length array of `length` elements of `type`, laid out back to back
 * as in C (`int32_t scores[4]`, `struct people people[10]`, `char names[3][8]`
 * as `array(char(8), 3)`). Reading the field gives a view: a `ValueArray` of
 * numbers or strings, or a `RecordArray` of records and other views. Indexes
 * outside `0 <= i < length` throw RangeError and nothing is written.
 *
 * Assigning an array (or iterable) to the field writes its elements from
 * index 0 and zeroes the rest; one longer than `length` is refused with
 * RangeError.
 *
 * @param type The element type.
 * @param length Number of elements, an integer from 1.
 * @returns The array type, which is also a layout (`at`, `init`, `attach`).
 * @throws {TypeError|RangeError} If `type` is not a field type or `length` is bad.
 *
 * @example An array field and an array placed on its own
 * ```ts
 * import { array, char, i32, SharedMemory, struct } from "../mod.ts";
 *
 * const Team = struct({ name: char(16), scores: array(i32, 4) });
 * console.assert(Team.byteLength === 32 && Team.offsetOf("scores[2]") === 24);
 * using shm = SharedMemory.create(`/doc-arr-${Date.now()}`, 4096);
 * const teams = array(Team, 3).init(shm, 0, { values: [{ name: "red" }] });
 * teams[0].scores[1] = 7;
 * console.assert(teams[0].name === "red" && teams.get(0).scores.get(1) === 7);
 * shm.unlink();
 * ```
 */
export function array<const E extends FieldType>(type: E, length: number): ArrayLayout<E> {
  const element = implOf(type, "type");
  validateCount(length, "length", 1);
  const layout = defineLayout(arrayImpl(element, length), { element: type, length });
  return layout as unknown as ArrayLayout<E>;
}
