/**
 * The error a layout's `attach()` throws when the region does not hold what
 * this process expects.
 *
 * @module
 */

/**
 * The region's layout header is missing or describes a different layout (or
 * version) than the one attaching. `differences` lists every difference
 * found, most specific first; the message quotes the first.
 *
 * @example Telling a stale region apart from other failures
 * ```ts
 * import { char, i32, LayoutMismatchError, SharedMemory, struct, u32 } from "../mod.ts";
 *
 * using shm = SharedMemory.create(`/doc-mismatch-${Date.now()}`, 4096);
 * struct({ name: char(4), age: i32 }).init(shm, 0, { header: true });
 * try {
 *   struct({ name: char(4), age: u32 }).attach(shm, 0, { header: true });
 * } catch (error) {
 *   console.assert(error instanceof LayoutMismatchError);
 *   console.assert((error as LayoutMismatchError).differences[0].includes('"age"'));
 * }
 * shm.unlink();
 * ```
 */
export class LayoutMismatchError extends Error {
  /**
   * Each difference, e.g. `field "age" is i32 at offset 4 here but u32 at
   * offset 4 in the region`, leaf fields first.
   *
   * @example Logging every difference, not just the first
   * ```ts
   * import { i16, i32, LayoutMismatchError, SharedMemory, struct } from "../mod.ts";
   * using shm = SharedMemory.create(`/doc-differences-${Date.now()}`, 4096);
   * struct({ x: i32, y: i32 }).init(shm, 0, { header: true });
   * try {
   *   struct({ x: i16, y: i16 }).attach(shm, 0, { header: true });
   * } catch (error) {
   *   const { differences } = error as LayoutMismatchError;
   *   console.assert(differences.length >= 2 && differences[1].includes('"y"'));
   * }
   * shm.unlink();
   * ```
   */
  readonly differences: readonly string[];

  /**
   * Makes the error; layouts' `attach()` throws it, so applications rarely
   * need to.
   *
   * @param what Names what was attached, e.g. `People at byte 0 of region "/jobs"`.
   * @param differences What differs; at least one entry.
   *
   * @example
   * ```ts
   * import { LayoutMismatchError } from "../mod.ts";
   * const error = new LayoutMismatchError("People at byte 0", ["version 2 is expected here"]);
   * console.assert(error.message === "Layout mismatch for People at byte 0: version 2 is expected here");
   * ```
   */
  constructor(what: string, differences: readonly string[]) {
    const more = differences.length > 1
      ? ` (and ${differences.length - 1} more, see error.differences)`
      : "";
    super(`Layout mismatch for ${what}: ${differences[0]}${more}`);
    this.name = "LayoutMismatchError";
    this.differences = differences;
  }
}
