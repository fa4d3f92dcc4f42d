/**
 * Whether accessors may be generated as source text (`new Function`), which
 * gives each layout its own functions and so its own inline caches. Where a
 * host forbids it, callers build the same behaviour from closures.
 *
 * @module
 */

let enabled = (() => {
  try {
    return new Function("return 1")() === 1;
  } catch {
    return false;
  }
})();

/** True if accessors are generated. */
export function codegen(): boolean {
  return enabled;
}

/** For tests and the bench: force closures (false) or restore codegen. Returns the old value. */
export function _setCodegen(value: boolean): boolean {
  const before = enabled;
  enabled = value;
  return before;
}

/** Compiles `body` as a function of `names` and calls it with `values`. */
export function compile(
  names: readonly string[],
  values: readonly unknown[],
  body: string,
): unknown {
  return new Function(...names, `"use strict";\n${body}`)(...values);
}

/** Safe as a class name or property name in generated source. */
export const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
