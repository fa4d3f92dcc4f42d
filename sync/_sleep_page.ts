/**
 * What a sleeper (see `_sleepers.ts`) hands to the thread that sleeps for
 * it: one page of its own, holding a control word and a `futex_waitv(2)`
 * array, and one system call to make with it. The JS thread writes the page
 * only while no call of that sleeper is in flight (the kernel copies the
 * array when the call starts), except for the control word, which it bumps
 * with `Atomics` to make a call in flight return.
 *
 * @module
 */

import { backend } from "../ffi/internal.ts";
import { writeTimespec } from "./_time.ts";

/** futex_waitv takes up to 128 words; the first is the control word. */
export const MAX_WORDS = 127;

/** Byte offset of the control word in a sleeper's page. */
export const CONTROL_OFFSET = 0;

/** Byte offset of the futex_waitv array (128 entries of 24 bytes). */
export const WAITV_OFFSET = 64;

/** A sleeper's page. */
export const PAGE_BYTES = 4096;

/**
 * One system call a sleeping thread makes: `syscall(number, first, second,
 * third, timeout, fifth, sixth)`, where `timeout` is the `struct timespec`
 * of the monotonic `deadlineMs`, or NULL when it is `Infinity`. Addresses
 * travel as bigints so that a call can be posted to a Worker as is.
 */
export interface SleepCall {
  readonly number: number;
  readonly first: bigint;
  readonly second: number;
  readonly third: number;
  readonly deadlineMs: number;
  readonly fifth: bigint;
  readonly sixth: number;
}

/**
 * The arguments of `syscall` that make `call`, its deadline written into
 * `timeout` (which must stay referenced until the call returns).
 */
export function syscallArguments(call: SleepCall, timeout: Uint32Array) {
  const forever = call.deadlineMs === Infinity;
  if (!forever) writeTimespec(timeout, call.deadlineMs);
  return [
    call.number,
    backend.pointer(call.first),
    call.second,
    call.third,
    forever ? null : timeout,
    backend.pointer(call.fifth),
    call.sixth,
  ] as const;
}

/** What a sleeping Worker posts back: the call's raw result (-1 on any error). */
export type SleepResult = number;
