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

/**
 * Compiles `body` as a function of `names` and calls it with `values`.
 * Returns undefined if the engine refuses the source, so that callers fall
 * back to closures: V8, for one, compiles no class literal with more than
 * about 65,000 members ("Too many arguments in function call").
 */
export function compile(
  names: readonly string[],
  values: readonly unknown[],
  body: string,
): unknown {
  try {
    // Engines may compile the body lazily, at the call: both steps only
    // compile and define classes, never run user code.
    return new Function(...names, `"use strict";\n${body}`)(...values);
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof RangeError) return undefined;
    throw error;
  }
}
