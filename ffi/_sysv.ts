/**
 * What System V segments and message queues share: how a key is checked
 * and how an object is named in errors.
 *
 * @module
 */
import { validateInteger } from "./_validate.ts";

/** key_t is a C int; ftok keys above 2^31 arrive as negative ints. */
export function validateKey(key: unknown): asserts key is number {
  validateInteger(key, "key", -0x8000_0000, 0xffff_ffff);
}

/** Names an object in errors, e.g. `message queue with key 0x000004d2`. */
export function describeKey(kind: string, key: number): string {
  return `${kind} with key 0x${(key >>> 0).toString(16).padStart(8, "0")}`;
}
