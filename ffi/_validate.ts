/**
 * Argument checks shared by every public call. They run before any system
 * call, and throw TypeError for the wrong kind of value and RangeError for a
 * value of the right kind outside what the call accepts.
 *
 * @module
 */
import { platform } from "./_platform.ts";

const encoder = new TextEncoder();

/** A NUL-terminated copy of `text` for a `const char *` parameter. */
export function cString(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

/**
 * Checks a POSIX IPC name: one leading `/`, no other `/`, no NUL, and short
 * enough for libc once it adds its own prefix (`reserved` bytes).
 */
export function validateIpcName(
  name: unknown,
  argument: string,
  reserved = 0,
): asserts name is string {
  if (typeof name !== "string") {
    throw new TypeError(
      `${argument} must be a string like "/jobs", got ${describe(name)}`,
    );
  }
  const rest = name.slice(1);
  if (
    !name.startsWith("/") || rest.length === 0 || rest.includes("/") ||
    rest === "." || rest === ".."
  ) {
    throw new RangeError(
      `${argument} must be "/" followed by at least one character and no other "/", got ${
        JSON.stringify(name)
      }`,
    );
  }
  if (name.includes("\0")) {
    throw new RangeError(`${argument} must not contain NUL, got ${JSON.stringify(name)}`);
  }
  // glibc refuses a name whose length plus its terminator reaches NAME_MAX.
  const limit = platform.NAME_MAX - 2 - reserved;
  const bytes = encoder.encode(rest).length;
  if (bytes > limit) {
    throw new RangeError(
      `${argument} must be at most ${limit} bytes after the "/", got ${bytes}`,
    );
  }
}

/** Checks a path for open(2): a non-empty string without NUL. */
export function validatePath(path: unknown, argument: string): asserts path is string {
  if (typeof path !== "string") {
    throw new TypeError(`${argument} must be a string, got ${describe(path)}`);
  }
  if (path.length === 0 || path.includes("\0")) {
    throw new RangeError(
      `${argument} must be a non-empty path without NUL, got ${JSON.stringify(path)}`,
    );
  }
  if (encoder.encode(path).length >= platform.PATH_MAX) {
    throw new RangeError(`${argument} must be shorter than ${platform.PATH_MAX} bytes`);
  }
}

/** Checks a size in bytes: a positive safe integer. */
export function validateSize(size: unknown, argument: string): asserts size is number {
  validateInteger(size, argument, 1, Number.MAX_SAFE_INTEGER);
}

/** Checks an integer within [min, max]. */
export function validateInteger(
  value: unknown,
  argument: string,
  min: number,
  max: number,
): asserts value is number {
  if (typeof value !== "number") {
    throw new TypeError(`${argument} must be a number, got ${describe(value)}`);
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `${argument} must be an integer from ${min} to ${max}, got ${value}`,
    );
  }
}

/** Checks a permission mode: an integer from 0 to 0o777. */
export function validateMode(mode: unknown, argument = "mode"): asserts mode is number {
  if (typeof mode !== "number") {
    throw new TypeError(`${argument} must be a number like 0o600, got ${describe(mode)}`);
  }
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o777) {
    throw new RangeError(
      `${argument} must be a permission mode from 0o0 to 0o777, got 0o${mode.toString(8)}`,
    );
  }
}

/** Checks an options argument: undefined or a plain object. */
export function validateOptions(options: unknown, argument = "options"): void {
  if (options !== undefined && (options === null || typeof options !== "object")) {
    throw new TypeError(`${argument} must be an object, got ${describe(options)}`);
  }
}

/** Checks an optional boolean option. */
export function validateBoolean(
  value: unknown,
  argument: string,
): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== "boolean") {
    throw new TypeError(`${argument} must be a boolean, got ${describe(value)}`);
  }
}

/** A short description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (typeof value === "bigint") return `bigint ${value}n`;
  if (typeof value === "number" || typeof value === "boolean") {
    return `${typeof value} ${value}`;
  }
  if (typeof value === "function") return "a function";
  if (typeof value === "object") return value.constructor?.name ?? "an object";
  return typeof value;
}
