/**
 * The child processes of tests/channel_transfer_test.ts, and the message
 * formats they share with it. Run as a script:
 *
 *   stream-send CHANNEL CONTROL PARTIES COUNT
 *   stream-recv CHANNEL CONTROL PARTIES COUNT
 *   tag-send    CHANNEL CONTROL PARTIES ID COUNT send|async|reserve
 *   tag-recv    CHANNEL CONTROL PARTIES sync|async
 *
 * CONTROL is a POSIX shared memory object: a Flag at byte 0 (the start flag),
 * an Int32 at byte 4 counting the processes that arrived, and an Int32 at byte
 * 8 counting the senders that are about to close their channel handle.
 * Every child prints one JSON line on stdout.
 *
 * @module
 */
import process from "node:process";
import { Channel, Flag, SharedMemory } from "../mod.ts";

/** 16 KiB of xorshift bytes, the same in every process. */
export function makePattern(): Uint8Array {
  const pattern = new Uint8Array(16384);
  let x = 0x9e3779b9;
  for (let i = 0; i < pattern.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    pattern[i] = x & 255;
  }
  return pattern;
}

/** murmur3's 32-bit finalizer: a cheap, well-spread hash of a number. */
export function mix(value: number): number {
  let x = value >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** FNV-1a over bytes[from, to). */
export function fnv1a(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

// The stream (test 1): message `seq` is streamLength(seq) bytes, 1..4096.
// Its first 8 bytes are seq (u32 LE) and the FNV-1a of the rest (u32 LE);
// the rest is the pattern from streamOffset(seq) + 8. A message shorter than
// 8 bytes is the first bytes of that header.
export const streamLength = (seq: number): number => 1 + (mix(seq) % 4096);
export const streamOffset = (seq: number): number => mix(seq ^ 0x5bd1e995) & 8191;

// The tagged messages (test 2): sender id (u32 LE), seq (u32 LE), then
// tagLength - 8 bytes of the pattern from tagOffset.
export const tagLength = (id: number, seq: number): number =>
  8 + (mix(id * 0x10000 + seq + 0x2545f491) % 1017);
export const tagOffset = (id: number, seq: number): number =>
  mix(id * 0x10000 + seq + 0x61c88647) & 8191;

/** Arrives at the start line; the last of `parties` to arrive raises the flag. */
function meet(control: SharedMemory, parties: number): void {
  const start = Flag.attach(control, 0);
  const counters = control.view(Int32Array, 4, 2);
  if (Atomics.add(counters, 0, 1) === parties - 1) start.set(1);
  else if (!start.waitFor(1, 30_000)) throw new Error("the start flag was never raised");
}

function streamSend(tx: Channel, count: number): unknown {
  const pattern = makePattern();
  const work = pattern.slice();
  const view = new DataView(work.buffer);
  const saved = new Uint8Array(8);
  for (let seq = 0; seq < count; seq++) {
    const length = streamLength(seq);
    const offset = streamOffset(seq);
    // The header goes over the pattern in `work` and is undone after the send.
    saved.set(work.subarray(offset, offset + 8));
    view.setUint32(offset, seq, true);
    view.setUint32(offset + 4, fnv1a(pattern, offset + 8, offset + length), true);
    tx.send(work.subarray(offset, offset + length));
    work.set(saved, offset);
  }
  return { sent: count };
}

function streamRecv(rx: Channel): unknown {
  const buffer = new Uint8Array(1 << 16);
  const view = new DataView(buffer.buffer);
  const short = new DataView(new ArrayBuffer(8));
  let received = 0;
  let bad = 0;
  let firstBad: unknown = null;
  const started = performance.now();
  for (;;) {
    const n = rx.recvInto(buffer);
    if (n === null) break;
    const seq = received++;
    const length = streamLength(seq);
    let ok = n === length;
    if (ok && n >= 8) {
      ok = view.getUint32(0, true) === seq && view.getUint32(4, true) === fnv1a(buffer, 8, n);
    } else if (ok) {
      short.setUint32(0, seq, true);
      short.setUint32(4, 0x811c9dc5, true);
      for (let i = 0; i < n; i++) if (buffer[i] !== short.getUint8(i)) ok = false;
    }
    if (!ok) {
      bad++;
      firstBad ??= {
        index: seq,
        length: n,
        expectedLength: length,
        seq: n >= 4 ? view.getUint32(0, true) : null,
      };
    }
  }
  return { received, bad, firstBad, ended: rx.ended, ms: Math.round(performance.now() - started) };
}

async function tagSend(tx: Channel, id: number, count: number, mode: string): Promise<unknown> {
  const pattern = makePattern();
  const scratch = new Uint8Array(1024 + 8);
  const scratchView = new DataView(scratch.buffer);
  for (let seq = 0; seq < count; seq++) {
    const length = tagLength(id, seq);
    const offset = tagOffset(id, seq);
    if (mode === "reserve") {
      // Reserve more than needed and publish only `length` bytes.
      const room = tx.reserve(length + 16);
      const header = new DataView(room.buffer, room.byteOffset, 8);
      header.setUint32(0, id, true);
      header.setUint32(4, seq, true);
      room.set(pattern.subarray(offset, offset + length - 8), 8);
      room.fill(0xee, length); // must not be published
      tx.commit(length);
      continue;
    }
    scratchView.setUint32(0, id, true);
    scratchView.setUint32(4, seq, true);
    scratch.set(pattern.subarray(offset, offset + length - 8), 8);
    const message = scratch.subarray(0, length);
    if (mode === "async") await tx.sendAsync(message, { timeout: 30_000 });
    else tx.send(message);
  }
  return { sent: count };
}

async function tagRecv(rx: Channel, senders: number, mode: string): Promise<unknown> {
  const pattern = makePattern();
  const seqs: number[][] = Array.from({ length: senders }, () => []);
  let bad = 0;
  let firstBad: unknown = null;
  const take = (message: Uint8Array) => {
    const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
    const id = message.length >= 8 ? view.getUint32(0, true) : -1;
    const seq = message.length >= 8 ? view.getUint32(4, true) : -1;
    let ok = id >= 0 && id < senders && message.length === tagLength(id, seq);
    if (ok) {
      const offset = tagOffset(id, seq);
      for (let i = 8; i < message.length; i++) {
        if (message[i] !== pattern[offset + i - 8]) {
          ok = false;
          break;
        }
      }
    }
    if (ok) seqs[id].push(seq);
    else {
      bad++;
      firstBad ??= { id, seq, length: message.length };
    }
  };
  if (mode === "async") {
    for await (const message of rx) take(message);
  } else {
    for (let message = rx.recv(); message !== null; message = rx.recv()) take(message);
  }
  return { seqs, bad, firstBad, ended: rx.ended };
}

async function main(argv: string[]): Promise<void> {
  const [role, name, controlName, partiesText] = argv;
  const parties = Number(partiesText);
  using control = SharedMemory.open(controlName);
  const closing = control.view(Int32Array, 8, 1);
  const ch = Channel.open(name);
  let report: unknown;
  switch (role) {
    case "stream-send":
      meet(control, parties);
      report = streamSend(ch, Number(argv[4]));
      break;
    case "stream-recv":
      meet(control, parties);
      report = streamRecv(ch);
      break;
    case "tag-send": {
      // Register as a sender before the start, so that no sender can finish
      // (and end the stream) before the others have registered.
      ch.reserve(1);
      ch.discard();
      meet(control, parties);
      report = await tagSend(ch, Number(argv[4]), Number(argv[5]), argv[6]);
      break;
    }
    case "tag-recv": {
      meet(control, parties);
      const result = (await tagRecv(ch, 4, argv[4])) as Record<string, unknown>;
      // Read after the end: every sender counts itself here before it closes.
      report = { ...result, closingAtEnd: Atomics.load(closing, 0) };
      break;
    }
    default:
      throw new Error(`unknown role ${role}`);
  }
  if (role.endsWith("send")) Atomics.add(closing, 0, 1);
  ch.close();
  console.log(JSON.stringify(report));
}

if (import.meta.main) await main(process.argv.slice(2));
