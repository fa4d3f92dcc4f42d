/**
 * `toObject(view)`: a plain, detached copy of a record or an array view.
 *
 * @module
 */
import { isRecord, snapshotOf } from "./_record.ts";
import { RecordArray, SNAPSHOT, ValueArray } from "./array_view.ts";
import { describe } from "./_field.ts";

/**
 * The plain copy `toObject` makes of a view of type `V`: records become
 * objects, array views arrays.
 *
 * @example
 * ```ts
 * import { i32, type Plain, SharedMemory, struct, toObject } from "../mod.ts";
 * const Point = struct({ x: i32, y: i32 });
 * using shm = SharedMemory.create(`/doc-plain-${Date.now()}`, 4096);
 * const copy: Plain<ReturnType<typeof Point.at>> = toObject(Point.at(shm, 0));
 * console.assert(copy.x === 0);
 * shm.unlink();
 * ```
 */
export type Plain<V> = V extends RecordArray<infer E> | ValueArray<infer E> ? Plain<E>[]
  : V extends Uint8Array ? Uint8Array
  : V extends object ? { [K in keyof V]: Plain<V[K]> }
  : V;

/**
 * A plain copy of what a record or array view holds right now: records
 * become objects, array views arrays, byte fields Uint8Array copies. Sync
 * slots are left out. The copy no longer follows the mapping, so it can be
 * kept after the region closes, spread, compared or sent elsewhere.
 *
 * Records keep their fields on the prototype (they are accessors over the
 * mapping), so `{ ...record }` and `Object.keys(record)` see nothing; use
 * this instead. `JSON.stringify(record)` works too (bigints become strings).
 *
 * @param view A record, a RecordArray or a ValueArray.
 * @returns The plain copy.
 * @throws {TypeError} If `view` is none of those.
 *
 * @example
 * ```ts
 * import { char, i32, SharedMemory, struct, toObject } from "../mod.ts";
 *
 * const People = struct({ name: char(4), age: i32 });
 * using shm = SharedMemory.create(`/doc-toobject-${Date.now()}`, 4096);
 * const people = People.array(shm, 0, 2);
 * people.set(0, { name: "Ann", age: 30 });
 * const copy = toObject(people);
 * console.assert(copy[0].name === "Ann" && copy[1].age === 0);
 * shm.unlink();
 * ```
 */
export function toObject<V extends object>(view: V): Plain<V>;
export function toObject(view: object): unknown {
  if (isRecord(view)) return snapshotOf(view);
  if (view instanceof RecordArray || view instanceof ValueArray) return view[SNAPSHOT]();
  throw new TypeError(
    `view must be a record or an array view from a layout, got ${describe(view)}`,
  );
}
