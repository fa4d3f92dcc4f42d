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
import { monotonicMs, writeTimespec } from "./_time.ts";
import {
  CONTROL,
  MAX_SLOTS,
  readAddress,
  readDeadline,
  Slot,
  slotIndex,
  State,
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

/** Marks a slot DONE (from `from`) and queues its report. */
function finish(words: Int32Array, slot: number, from: number, out: number[]): void {
  const base = slotIndex(slot);
  if (Atomics.compareExchange(words, base + Slot.STATE, from, State.DONE) === from) {
    out.push(slot, Atomics.load(words, base + Slot.GENERATION));
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

  const entry = (i: number, address: bigint, expected: number) => {
    const at = i * stride;
    waitv[at] = expected >>> 0;
    waitv[at + 1] = 0;
    waitv[at + 2] = Number(address & 0xffff_ffffn);
    waitv[at + 3] = Number(address >> 32n);
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
    entry(0, tableAddress, control);
    for (let slot = 0; slot < MAX_SLOTS; slot++) {
      const base = slotIndex(slot);
      const state = Atomics.load(words, base + Slot.STATE);
      if (state === State.CANCELLED) {
        finish(words, slot, State.CANCELLED, out);
      } else if (state === State.ARMED) {
        const deadline = readDeadline(words, base);
        if (deadline <= now) {
          finish(words, slot, State.ARMED, out);
          continue;
        }
        earliest = Math.min(earliest, deadline);
        served.push(slot);
        entry(served.length, readAddress(words, base), Atomics.load(words, base + Slot.EXPECTED));
      }
    }
    if (out.length > 0) return; // deliver these first
    if (earliest !== Infinity) writeTimespec(timeout, earliest);
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
      finish(words, served[result - 1], State.ARMED, out);
      return;
    }
    if (result === 0) return; // the control word: re-read the table
    const code = errno();
    if (code === ETIMEDOUT || code === EINTR) return;
    if (code === EAGAIN && Atomics.load(words, CONTROL) !== control) return;
    // A word no longer held its expected value (EAGAIN), or one is not
    // mapped any more (EFAULT): the JS thread re-checks each of them.
    for (const slot of served) finish(words, slot, State.ARMED, out);
  };
  turn();
}

/** Without futex_waitv: this worker serves one slot. */
function serveOne(tableAddress: bigint, words: Int32Array, slot: number): void {
  const base = slotIndex(slot);
  const stateWord = backend.pointer(tableAddress + BigInt((base + Slot.STATE) * 4));
  const timeout = new Uint32Array(4);
  const bit = 2 ** (slot % 32);
  const out: number[] = [];
  const turn = () => {
    round();
    report(out);
    setImmediate(turn);
  };
  const round = () => {
    const state = Atomics.load(words, base + Slot.STATE);
    if (state === State.CANCELLED) {
      finish(words, slot, State.CANCELLED, out);
      return;
    }
    if (state !== State.ARMED) {
      // Idle: sleep until the JS thread arms the slot.
      libc.syscall(SYS_futex, stateWord, FUTEX_WAIT_BITSET, state, null, null, 0xffffffff);
      return;
    }
    const deadline = readDeadline(words, base);
    if (deadline <= monotonicMs()) {
      finish(words, slot, State.ARMED, out);
      return;
    }
    writeTimespec(timeout, deadline);
    libc.syscall(
      SYS_futex,
      backend.pointer(readAddress(words, base)),
      FUTEX_WAIT_BITSET,
      Atomics.load(words, base + Slot.EXPECTED),
      timeout,
      null,
      bit,
    );
    // Woken, changed, timed out or cancelled: the JS thread re-checks.
    const cancelled = Atomics.load(words, base + Slot.STATE) === State.CANCELLED;
    finish(words, slot, cancelled ? State.CANCELLED : State.ARMED, out);
  };
  turn();
}
