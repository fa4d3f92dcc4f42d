/**
 * The page a Bun JS thread shares with the worker that sleeps for it (see
 * `_offthread.ts`). Everything is 32-bit words read and written with
 * `Atomics`; the JS thread writes a slot's fields, then stores ARMED; the
 * worker answers by storing DONE and posting `[slot, generation, ...]`.
 *
 * @module
 */

/** Word 0: bumped by the JS thread whenever a slot is armed or cancelled. */
export const CONTROL = 0;

/** Slot states. */
export const FREE = 0;
export const ARMED = 1;
export const CANCELLED = 2;
export const DONE = 3;

/** Word offsets inside a slot. */
export const SLOT_STATE = 0;
export const SLOT_GENERATION = 1;
export const SLOT_EXPECTED = 2;
export const SLOT_ADDRESS_LOW = 3;
export const SLOT_ADDRESS_HIGH = 4;
export const SLOT_HAS_DEADLINE = 5;
export const SLOT_DEADLINE_SECONDS = 6;
export const SLOT_DEADLINE_NANOS = 7;

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

/** The message that starts a worker. */
export interface WorkerStart {
  /** Address of the table, as a decimal string. */
  table: string;
  /** -1: serve every slot with futex_waitv; else the one slot to serve. */
  solo: number;
}
