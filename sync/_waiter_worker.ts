/**
 * The Bun worker that sleeps for a JS thread (see `_offthread.ts`). Each turn
 * of its event loop makes one futex wait and posts which slots finished; it
 * yields between turns because Bun delivers a worker's messages only then.
 * It touches only its table page, never the memory the waits are on, so a
 * region closed meanwhile cannot fault it.
 *
 * @module
 */
import { backend, errno, libc, platform } from "../ffi/_libc.ts";
import { monotonicMs } from "./_time.ts";
import {
  ARMED,
  CANCELLED,
  CONTROL,
  DONE,
  MAX_SLOTS,
  SLOT_ADDRESS_HIGH,
  SLOT_ADDRESS_LOW,
  SLOT_DEADLINE_NANOS,
  SLOT_DEADLINE_SECONDS,
  SLOT_EXPECTED,
  SLOT_GENERATION,
  SLOT_HAS_DEADLINE,
  SLOT_STATE,
  slotIndex,
  TABLE_BYTES,
  WAITV_OFFSET,
  type WorkerStart,
} from "./_waiter_table.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerStart>) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as WorkerScope;

const {
  SYS_futex,
  SYS_futex_waitv,
  FUTEX_WAIT_BITSET,
  FUTEX2_SIZE_U32,
  FUTEX_WAITV_SIZE,
  CLOCK_MONOTONIC,
  EAGAIN,
  EINTR,
  ETIMEDOUT,
} = platform;

scope.onmessage = (event) => {
  scope.onmessage = null;
  const { table, solo } = event.data;
  const address = BigInt(table);
  const words = new Int32Array(backend.arrayBuffer(address, TABLE_BYTES));
  if (solo < 0) multiplex(address, words);
  else serveOne(address, words, solo);
};
// Bun drops messages that arrive before this module has run (its imports
// await), so the JS thread sends the start message only after this one.
scope.postMessage("ready");

function deadlineOf(words: Int32Array, base: number): number {
  if (Atomics.load(words, base + SLOT_HAS_DEADLINE) === 0) return Infinity;
  return Atomics.load(words, base + SLOT_DEADLINE_SECONDS) * 1000 +
    Atomics.load(words, base + SLOT_DEADLINE_NANOS) / 1e6;
}

/** Marks a slot DONE (from `from`) and queues its report. */
function finish(words: Int32Array, slot: number, from: number, out: number[]): void {
  const base = slotIndex(slot);
  if (Atomics.compareExchange(words, base + SLOT_STATE, from, DONE) === from) {
    out.push(slot, Atomics.load(words, base + SLOT_GENERATION));
  }
}

function report(out: number[]): void {
  if (out.length > 0) scope.postMessage(out.splice(0));
}

function multiplex(tableAddress: bigint, words: Int32Array): void {
  const waitvAddress = tableAddress + BigInt(WAITV_OFFSET);
  const waitv = new Uint32Array(
    backend.arrayBuffer(waitvAddress, (MAX_SLOTS + 1) * FUTEX_WAITV_SIZE),
  );
  const waitvPointer = backend.pointer(waitvAddress);
  const clock = backend.pointer(BigInt(CLOCK_MONOTONIC));
  const timeout = new Uint32Array(4);
  const stride = FUTEX_WAITV_SIZE / 4;
  const served: number[] = [];
  const out: number[] = [];

  const entry = (i: number, low: number, high: number, expected: number) => {
    const at = i * stride;
    waitv[at] = expected >>> 0;
    waitv[at + 1] = 0;
    waitv[at + 2] = low >>> 0;
    waitv[at + 3] = high >>> 0;
    waitv[at + 4] = FUTEX2_SIZE_U32;
    waitv[at + 5] = 0;
  };

  const turn = () => {
    round();
    report(out);
    setImmediate(turn);
  };
  const round = () => {
    const control = Atomics.load(words, CONTROL);
    const now = monotonicMs();
    let earliest = Infinity;
    served.length = 0;
    entry(0, Number(tableAddress & 0xffff_ffffn), Number(tableAddress >> 32n), control);
    for (let slot = 0; slot < MAX_SLOTS; slot++) {
      const base = slotIndex(slot);
      const state = Atomics.load(words, base + SLOT_STATE);
      if (state === CANCELLED) {
        finish(words, slot, CANCELLED, out);
      } else if (state === ARMED) {
        const deadline = deadlineOf(words, base);
        if (deadline <= now) {
          finish(words, slot, ARMED, out);
          continue;
        }
        earliest = Math.min(earliest, deadline);
        served.push(slot);
        entry(
          served.length,
          Atomics.load(words, base + SLOT_ADDRESS_LOW),
          Atomics.load(words, base + SLOT_ADDRESS_HIGH),
          Atomics.load(words, base + SLOT_EXPECTED),
        );
      }
    }
    if (out.length > 0) return; // deliver these first
    const seconds = Math.floor(earliest / 1000);
    if (earliest !== Infinity) {
      timeout[0] = seconds;
      timeout[1] = 0;
      timeout[2] = Math.min(999_999_999, Math.ceil((earliest - seconds * 1000) * 1e6));
      timeout[3] = 0;
    }
    const result = Number(libc.syscall(
      SYS_futex_waitv,
      waitvPointer,
      served.length + 1,
      0,
      earliest === Infinity ? null : timeout,
      clock,
      0,
    ));
    if (result > 0) {
      finish(words, served[result - 1], ARMED, out);
      return;
    }
    if (result === 0) return; // the control word: re-read the table
    const code = errno();
    if (code === ETIMEDOUT || code === EINTR) return;
    if (code === EAGAIN && Atomics.load(words, CONTROL) !== control) return;
    // A word no longer held its expected value (EAGAIN), or one is not
    // mapped any more (EFAULT): the JS thread re-checks each of them.
    for (const slot of served) finish(words, slot, ARMED, out);
  };
  turn();
}

/** Without futex_waitv: this worker serves one slot. */
function serveOne(tableAddress: bigint, words: Int32Array, slot: number): void {
  const base = slotIndex(slot);
  const stateWord = backend.pointer(tableAddress + BigInt((base + SLOT_STATE) * 4));
  const timeout = new Uint32Array(4);
  const bit = 2 ** (slot % 32);
  const out: number[] = [];
  const turn = () => {
    round();
    report(out);
    setImmediate(turn);
  };
  const round = () => {
    const state = Atomics.load(words, base + SLOT_STATE);
    if (state === CANCELLED) {
      finish(words, slot, CANCELLED, out);
      return;
    }
    if (state !== ARMED) {
      // Idle: sleep until the JS thread arms the slot.
      libc.syscall(SYS_futex, stateWord, FUTEX_WAIT_BITSET, state, null, null, 0xffffffff);
      return;
    }
    const deadline = deadlineOf(words, base);
    if (deadline <= monotonicMs()) {
      finish(words, slot, ARMED, out);
      return;
    }
    const seconds = Math.floor(deadline / 1000);
    timeout[0] = seconds;
    timeout[1] = 0;
    timeout[2] = Math.min(999_999_999, Math.ceil((deadline - seconds * 1000) * 1e6));
    timeout[3] = 0;
    const low = Atomics.load(words, base + SLOT_ADDRESS_LOW) >>> 0;
    const high = Atomics.load(words, base + SLOT_ADDRESS_HIGH) >>> 0;
    const word = backend.pointer((BigInt(high) << 32n) | BigInt(low));
    libc.syscall(
      SYS_futex,
      word,
      FUTEX_WAIT_BITSET,
      Atomics.load(words, base + SLOT_EXPECTED),
      timeout,
      null,
      bit,
    );
    // Woken, changed, timed out or cancelled: the JS thread re-checks.
    if (Atomics.load(words, base + SLOT_STATE) === CANCELLED) {
      finish(words, slot, CANCELLED, out);
    } else {
      finish(words, slot, ARMED, out);
    }
  };
  turn();
}
