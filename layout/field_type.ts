/**
 * The public face of a struct field's type: what `i32`, `char(8)`,
 * `array(...)` and `struct(...)` are to a user, and what reading one gives.
 * Their behaviour lives in `_field.ts`, out of the public objects.
 *
 * @module
 */

/**
 * The key of `FieldType`'s phantom member that carries the value type for
 * the type checker; no object has it at run time. `ValueOf` reads it.
 *
 * @example
 * ```ts
 * import { i32, type valueType } from "../mod.ts";
 * type Carried = NonNullable<(typeof i32)[typeof valueType]>;
 * const n: Carried = 7; // i32 fields read as numbers
 * console.assert(n === 7);
 * ```
 */
export declare const valueType: unique symbol;

/**
 * A C type a struct field can have: a number type such as `i32`, `char(n)`,
 * `bytes(n)`, `array(type, n)`, a nested `struct(...)` or a sync slot. `T` is
 * what reading such a field gives.
 *
 * @example
 * ```ts
 * import { char, i32, type FieldType } from "../mod.ts";
 * const types: FieldType[] = [i32, char(8)];
 * console.assert(types[1].byteLength === 8 && types[0].alignment === 4);
 * ```
 */
export interface FieldType<T = unknown> {
  /**
   * The C-like spelling, e.g. `"i32"`, `"char[4]"`, `"i32[3]"`.
   *
   * @example
   * ```ts
   * import { array, char, i32 } from "../mod.ts";
   * console.assert(array(i32, 3).name === "i32[3]" && char(8).name === "char[8]");
   * ```
   */
  readonly name: string;
  /**
   * `sizeof` in C.
   *
   * @example
   * ```ts
   * import { i8, i64, struct } from "../mod.ts";
   * console.assert(struct({ a: i64, b: i8 }).byteLength === 16); // padded, as in C
   * ```
   */
  readonly byteLength: number;
  /**
   * `_Alignof` in C.
   *
   * @example
   * ```ts
   * import { f64, i8, struct } from "../mod.ts";
   * console.assert(struct({ a: i8, b: f64 }).alignment === 8);
   * ```
   */
  readonly alignment: number;
  /** Only carries `T` for the type checker. */
  readonly [valueType]?: T;
}

/**
 * What reading a field of type `F` gives.
 *
 * @example
 * ```ts
 * import { char, i64, type ValueOf } from "../mod.ts";
 * const big: ValueOf<typeof i64> = 5n;
 * const text: ValueOf<ReturnType<typeof char>> = "hi";
 * console.assert(big === 5n && text === "hi");
 * ```
 */
export type ValueOf<F> = F extends FieldType<infer T> ? T : never;
