/**
 * The page a Bun JS thread shares with the worker that sleeps for it (see
 * `_offthread.ts`). Everything is 32-bit words read and written with
 * `Atomics`; the JS thread writes a slot's fields, then stores `ARMED`; the
 * worker answers by storing `DONE` and posting `[slot, generation, ...]`.
 *
 * @module
 */

/** Word 0: bumped by the JS thread whenever a slot is armed or cancelled. */
export const CONTROL = 0;

/** The states of a slot (its `Slot.STATE` word). */
export const State = { FREE: 0, ARMED: 1, CANCELLED: 2, DONE: 3 } as const;

/** Word offsets inside a slot. */
export const Slot = {
  STATE: 0,
  GENERATION: 1,
  EXPECTED: 2,
  ADDRESS_LOW: 3,
  ADDRESS_HIGH: 4,
  DEADLINE_SECONDS: 5,
  DEADLINE_NANOS: 6,
} as const;

const HEADER_BYTES = 64;
const SLOT_BYTES = 32;

/** futex_waitv takes 128 entries; one is the control word. */
export const MAX_SLOTS = 127;

/** Byte offset of the futex_waitv array the worker builds. */
export const WAITV_OFFSET = 8192;

/** The whole page set: header and slots, then the worker's waitv array. */
export const TABLE_BYTES = 16384;

/** Index (in 32-bit words) of a slot's first word. */
export function slotIndex(slot: number): number {
  return (HEADER_BYTES + slot * SLOT_BYTES) / 4;
}

/**
 * Stores a slot's monotonic deadline (finite ms) as whole seconds and
 * nanoseconds, rounded up so that the worker never wakes before it.
 */
export function writeDeadline(table: Int32Array, base: number, ms: number): void {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.ceil((ms - seconds * 1000) * 1e6));
  Atomics.store(table, base + Slot.DEADLINE_SECONDS, seconds);
  Atomics.store(table, base + Slot.DEADLINE_NANOS, nanos);
}

/** A slot's deadline as `writeDeadline` stored it, in ms. */
export function readDeadline(table: Int32Array, base: number): number {
  return Atomics.load(table, base + Slot.DEADLINE_SECONDS) * 1000 +
    Atomics.load(table, base + Slot.DEADLINE_NANOS) / 1e6;
}

/** The address a slot waits on. */
export function readAddress(table: Int32Array, base: number): bigint {
  const low = Atomics.load(table, base + Slot.ADDRESS_LOW) >>> 0;
  const high = Atomics.load(table, base + Slot.ADDRESS_HIGH) >>> 0;
  return (BigInt(high) << 32n) | BigInt(low);
}

/** The message that starts a worker. */
export interface WorkerStart {
  /** Address of the table, as a decimal string. */
  table: string;
  /** -1: serve every slot with futex_waitv; else the one slot to serve. */
  solo: number;
}
