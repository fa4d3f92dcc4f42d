/**
 * Channel under kill -9: senders and receivers (Deno and Bun children,
 * alternating) are killed with SIGKILL at random moments, mid-message or
 * holding a reservation or a borrowed message, while other processes go on
 * using the channel. Every message carries its sender's id, a sequence number
 * and a checksum of its payload, so a torn, duplicated, reordered or lost
 * message shows in the bookkeeping that the children keep in a second shared
 * memory object (it survives their death).
 *
 * A crash may lose at most the one message in flight (api contract, "Crash
 * semantics"); nothing may block forever; the last sender's death ends the
 * stream.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { Channel, ChannelEndedError, Flag, SharedMemory } from "../mod.ts";
import {
  commandFor,
  CURRENT,
  MOD_URL,
  type Runtime,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, unlinkIfThere } from "./_sync_helpers.ts";

// ---------------------------------------------------------------------------
// Messages: [id u32, seq u32, payload length u32, FNV-1a of payload u32] then
// a payload that depends on (id, seq). The same code runs in the children
// (PRELUDE) and in this process (check()).

const HEADER = 16;

function fnv(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}

/** [id, seq] of a whole, intact message, or what is wrong with it. */
function check(bytes: Uint8Array): [number, number] | string {
  if (bytes.length < HEADER) return `short message of ${bytes.length} bytes`;
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const id = header.getUint32(0, true);
  const seq = header.getUint32(4, true);
  const length = header.getUint32(8, true);
  if (bytes.length !== HEADER + length) {
    return `message ${id}/${seq}: ${bytes.length} bytes, its header says ${HEADER + length}`;
  }
  if (fnv(bytes.subarray(HEADER)) !== header.getUint32(12, true)) {
    return `message ${id}/${seq} of ${length} bytes: bad checksum (torn)`;
  }
  return [id, seq];
}

const PRELUDE = `
import process from "node:process";
import { Channel, Flag, SharedMemory } from "$MOD";
const HEADER = ${HEADER};
function fnv(bytes) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}
function makeMessage(id, seq, length) {
  const message = new Uint8Array(HEADER + length);
  let x = (Math.imul(id + 1, 0x9e3779b1) ^ Math.imul(seq + 1, 0x85ebca6b)) | 1;
  for (let i = HEADER; i < message.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    message[i] = x;
  }
  const header = new DataView(message.buffer);
  header.setUint32(0, id, true);
  header.setUint32(4, seq, true);
  header.setUint32(8, length, true);
  header.setUint32(12, fnv(message.subarray(HEADER)), true);
  return message;
}
function check(bytes) {
  if (bytes.length < HEADER) return "short message of " + bytes.length + " bytes";
  const header = new DataView(bytes.buffer, bytes.byteOffset, HEADER);
  const id = header.getUint32(0, true);
  const seq = header.getUint32(4, true);
  const length = header.getUint32(8, true);
  if (bytes.length !== HEADER + length) {
    return "message " + id + "/" + seq + ": " + bytes.length + " bytes, its header says " + (HEADER + length);
  }
  if (fnv(bytes.subarray(HEADER)) !== header.getUint32(12, true)) {
    return "message " + id + "/" + seq + " of " + length + " bytes: bad checksum (torn)";
  }
  return [id, seq];
}
// Payload lengths: many small, some of a few KiB, a quarter of tens of KiB
// (so that a kill lands in the middle of a copy now and then).
function pickLength(maxPayload) {
  const r = Math.random();
  if (r < 0.4) return Math.floor(Math.random() * 200);
  if (r < 0.75) return 1000 + Math.floor(Math.random() * Math.min(8000, maxPayload - 1000));
  const big = Math.min(16384, maxPayload >> 1);
  return big + Math.floor(Math.random() * (maxPayload - big));
}
const sleepSync = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
const hang = () => {
  for (;;) sleepSync(1000);
};
`;

// ---------------------------------------------------------------------------
// Child processes that the test can kill (runScript only returns the end).

interface Exit {
  code: number | null;
  signal: string | null;
}

const files = new Map<string, string>();
function scriptFile(source: string): string {
  let file = files.get(source);
  if (file === undefined) {
    file = scratchPath("channel-crash", ".ts");
    writeFileSync(file, source.replaceAll("$MOD", MOD_URL));
    files.set(source, file);
  }
  return file;
}

class Child {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  exit: Exit | undefined;
  readonly exited: Promise<Exit>;

  constructor(readonly label: string, readonly runtime: Runtime, source: string, args: string[]) {
    const { command, args: full } = commandFor(runtime, scriptFile(source), args);
    this.child = spawn(command, full, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => (this.stdout += d));
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    const timer = setTimeout(() => this.kill(), 100_000);
    this.exited = new Promise((resolve) => {
      const done = (exit: Exit) => {
        clearTimeout(timer);
        this.exit ??= exit;
        resolve(this.exit);
      };
      this.child.on("error", (error) => done({ code: -1, signal: String(error) }));
      this.child.on("close", (code, signal) => done({ code, signal }));
    });
  }

  get running(): boolean {
    return this.exit === undefined;
  }

  kill(): void {
    if (this.running) this.child.kill("SIGKILL");
  }

  /** The JSON that the child printed last, on a line of its own. */
  result(): Record<string, unknown> {
    const line = this.stdout.trim().split("\n").at(-1) ?? "";
    try {
      return JSON.parse(line);
    } catch {
      throw new Error(`${this.label} printed no result: ${this.describe()}`);
    }
  }

  describe(): string {
    const exit = this.exit ? `exited ${this.exit.code ?? this.exit.signal}` : "running";
    return `${this.label} (${this.runtime}, ${exit})\n  stdout: ${
      this.stdout.slice(-2000)
    }\n  stderr: ${this.stderr.slice(-2000)}`;
  }
}

/**
 * Polls `condition` until it holds; fails after `ms` or as soon as one of
 * `alive` has exited, with the children's output.
 */
async function until(
  what: string,
  condition: () => boolean,
  ms: number,
  alive: Child[] = [],
  everyone: Child[] = alive,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    const dead = alive.find((c) => !c.running);
    if (dead !== undefined || Date.now() > deadline) {
      const why = dead ? `${dead.label} exited first` : `not within ${ms} ms`;
      throw new Error(`${what}: ${why}\n${everyone.map((c) => c.describe()).join("\n")}`);
    }
    await delay(5);
  }
}

async function killNow(victim: Child): Promise<void> {
  victim.kill();
  const exit = await victim.exited;
  assert.equal(exit.signal, "SIGKILL", `${victim.label} was not killed: ${victim.describe()}`);
}

/** CHANNEL_CRASH_STATS=1 prints where the kills landed (phase 1: mid-message). */
function stats(what: string, kills: { phase: number }[], more: object = {}): void {
  if (!process.env.CHANNEL_CRASH_STATS) return;
  const midMessage = kills.filter((k) => k.phase === 1).length;
  console.log(JSON.stringify({ what, kills: kills.length, midMessage, detail: kills, ...more }));
}

const runtimeOf = (index: number): Runtime => RUNTIMES[index % 2];
const random = (from: number, to: number) => from + Math.random() * (to - from);

// ---------------------------------------------------------------------------
// 1. Senders killed mid-message.

const S = {
  ROUNDS: 10,
  SENDERS: 12, // ROUNDS + 2
  MAX_SEQ: 1 << 17, // a sender stops (idles) at this many messages
  READY: 1, // int: children that wait at the start flag
  SLOT: 16, // int: slot s is SLOT + 8 * s
  LAST: 0, // the last seq whose send()/commit() returned
  CMD: 1, // 1: hold a half-filled reservation; 2: stop and close
  HELD: 2, // the seq of the held reservation
  PHASE: 3, // 1 while in send() or reserve()..commit()
  RECEIVED: 1024, // int: messages of sender s received, at RECEIVED + s
  COUNTS: 8192, // byte: receipts of message (s, seq) at COUNTS + s * MAX_SEQ + seq
  CAPACITY: 1 << 18,
  MAX_MESSAGE: 1 << 16,
};
const S_BYTES = S.COUNTS + S.SENDERS * S.MAX_SEQ;

const SENDER_1 = `${PRELUDE}
const [channelName, controlName, idText] = process.argv.slice(2);
const id = Number(idText);
const S = ${JSON.stringify(S)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 2048);
const slot = S.SLOT + 8 * id;
const tx = Channel.open(channelName);
Atomics.add(ints, S.READY, 1);
if (!Flag.attach(control, 0).waitFor(1, 30_000)) throw new Error("no start");
const maxPayload = tx.maxMessage - HEADER;
let seq = 0;
for (;;) {
  const command = Atomics.load(ints, slot + S.CMD);
  if (command === 2) break;
  if (command === 1) {
    // Publish nothing: fill half of a reservation, say so, and wait for the kill.
    const message = makeMessage(id, seq, maxPayload >> 1);
    const view = tx.reserve(message.length);
    view.set(message.subarray(0, message.length >> 1));
    Atomics.store(ints, slot + S.HELD, seq);
    hang();
  }
  if (seq >= S.MAX_SEQ) {
    sleepSync(5);
    continue;
  }
  const message = makeMessage(id, seq, pickLength(maxPayload));
  Atomics.store(ints, slot + S.PHASE, 1); // in send() or between reserve() and commit()
  if (seq % 3 === 2) {
    // Zero-copy, in 4 KiB pieces: a kill may land between two of them.
    const view = tx.reserve(message.length);
    for (let at = 0; at < message.length; at += 4096) {
      view.set(message.subarray(at, at + 4096), at);
    }
    tx.commit();
  } else {
    tx.send(message);
  }
  Atomics.store(ints, slot + S.LAST, seq);
  Atomics.store(ints, slot + S.PHASE, 0);
  seq += 1;
}
tx.close();
control.close();
console.log(JSON.stringify({ sent: seq }));
`;

// Takes messages with recv(), recvInto() and borrow() in turn until the end.
const RECEIVER_1 = `${PRELUDE}
const [channelName, controlName] = process.argv.slice(2);
const S = ${JSON.stringify(S)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 2048);
const counts = control.view(Uint8Array, S.COUNTS, S.SENDERS * S.MAX_SEQ);
const rx = Channel.open(channelName);
const buffer = new Uint8Array(rx.maxMessage);
const last = new Array(S.SENDERS).fill(-1);
const errors = [];
let total = 0;
const note = (bytes) => {
  const got = check(bytes);
  if (typeof got === "string") return errors.push(got);
  const [id, seq] = got;
  if (id >= S.SENDERS || seq >= S.MAX_SEQ) return errors.push("unknown message " + id + "/" + seq);
  if (seq <= last[id]) errors.push("sender " + id + ": " + seq + " after " + last[id]);
  last[id] = seq;
  Atomics.add(counts, id * S.MAX_SEQ + seq, 1);
  Atomics.add(ints, S.RECEIVED + id, 1);
  total += 1;
};
Atomics.add(ints, S.READY, 1);
if (!Flag.attach(control, 0).waitFor(1, 30_000)) throw new Error("no start");
for (let i = 0;; i++) {
  if (i % 3 === 0) {
    const bytes = rx.recv();
    if (bytes === null) break;
    note(bytes);
  } else if (i % 3 === 1) {
    const length = rx.recvInto(buffer);
    if (length === null) break;
    note(buffer.subarray(0, length));
  } else {
    const message = rx.borrow();
    if (message === null) break;
    note(message.bytes.subarray(0, message.length));
    message.release();
  }
}
console.log(JSON.stringify({ total, errors: errors.slice(0, 20), ended: rx.ended }));
rx.close();
`;

test(
  "Channel: senders (Deno and Bun, alternating) SIGKILLed mid-message or holding a half-filled " +
    "reservation never deliver a torn, duplicated or reordered message, and the stream goes on and ends",
  async () => {
    // The checker itself sees a torn message.
    const sample = new Uint8Array(HEADER + 64);
    new DataView(sample.buffer).setUint32(8, 64, true);
    new DataView(sample.buffer).setUint32(12, fnv(sample.subarray(HEADER)), true);
    assert.deepEqual(check(sample), [0, 0]);
    sample[HEADER + 40] = 1;
    assert.match(check(sample) as string, /torn/);

    const channelName = uniqueName("chcrash-tx");
    const controlName = uniqueName("chcrash-tx-ctl");
    const children: Child[] = [];
    const ch = Channel.create(channelName, { capacity: S.CAPACITY, maxMessage: S.MAX_MESSAGE });
    const control = SharedMemory.create(controlName, S_BYTES);
    try {
      const ints = control.view(Int32Array, 0, 2048);
      const counts = control.view(Uint8Array, S.COUNTS, S.SENDERS * S.MAX_SEQ);
      for (let s = 0; s < S.SENDERS; s++) {
        ints[S.SLOT + 8 * s + S.LAST] = -1;
        ints[S.SLOT + 8 * s + S.HELD] = -1;
      }
      const start = Flag.init(control, 0, 0);
      const senders: Child[] = [];
      const spawnSender = (id: number) => {
        const child = new Child(`sender ${id}`, runtimeOf(id), SENDER_1, [
          channelName,
          controlName,
          String(id),
        ]);
        senders[id] = child;
        children.push(child);
        return child;
      };
      spawnSender(0);
      spawnSender(1);
      const receiver = new Child("receiver", otherRuntime(CURRENT), RECEIVER_1, [
        channelName,
        controlName,
      ]);
      children.push(receiver);

      // This process receives too (recvAsync), contending with the child.
      const own = { total: 0, errors: [] as string[], last: new Array(S.SENDERS).fill(-1) };
      const ownLoop = (async () => {
        await start.waitForAsync(1, { timeout: 30_000 });
        for (;;) {
          const bytes = await ch.recvAsync({ timeout: 30_000 });
          if (bytes === null) return;
          const got = check(bytes);
          if (typeof got === "string") {
            own.errors.push(got);
            continue;
          }
          const [id, seq] = got;
          if (id >= S.SENDERS || seq >= S.MAX_SEQ) {
            own.errors.push(`unknown message ${id}/${seq}`);
            continue;
          }
          if (seq <= own.last[id]) own.errors.push(`sender ${id}: ${seq} after ${own.last[id]}`);
          own.last[id] = seq;
          Atomics.add(counts, id * S.MAX_SEQ + seq, 1);
          Atomics.add(ints, S.RECEIVED + id, 1);
          own.total += 1;
        }
      })().then(() => null, (error) => error as Error);

      await until(
        "the first senders and the receiver are ready",
        () => ints[S.READY] === 3,
        30_000,
        [
          ...children,
        ],
      );
      start.set(1);

      const slot = (id: number, field: number) => S.SLOT + 8 * id + field;
      const kills: { id: number; mode: string; last: number; held: number; phase: number }[] = [];
      for (let round = 0; round < S.ROUNDS; round++) {
        const victim = senders[round];
        const survivor = senders[round + 1];
        const mode = round % 3 === 2 ? "hold" : "random";
        await until(
          `round ${round}: senders ${round} and ${round + 1} sending`,
          () => ints[slot(round, S.LAST)] >= 0 && ints[slot(round + 1, S.LAST)] >= 0,
          30_000,
          [victim, survivor, receiver],
          children,
        );
        if (mode === "hold") {
          Atomics.store(ints, slot(round, S.CMD), 1);
          await until(
            `round ${round}: sender ${round} holds a reservation`,
            () => Atomics.load(ints, slot(round, S.HELD)) >= 0,
            20_000,
            [victim, survivor, receiver],
            children,
          );
          await delay(random(20, 100)); // the survivor now waits for the sending side
        } else {
          await delay(random(0, 150));
        }
        await killNow(victim);
        kills.push({
          id: round,
          mode,
          last: ints[slot(round, S.LAST)],
          held: ints[slot(round, S.HELD)],
          phase: ints[slot(round, S.PHASE)],
        });
        const before = Atomics.load(ints, S.RECEIVED + round + 1);
        const fresh = spawnSender(round + 2);
        await until(
          `after sender ${round} (${victim.runtime}, ${mode}) was killed, messages of sender ${
            round + 1
          } and of the new sender ${round + 2} arrive`,
          () =>
            Atomics.load(ints, S.RECEIVED + round + 1) > before &&
            Atomics.load(ints, S.RECEIVED + round + 2) > 0,
          30_000,
          [survivor, fresh, receiver],
          children,
        );
      }

      // The last two senders stop and close: the stream ends.
      const last = [S.ROUNDS, S.ROUNDS + 1];
      for (const id of last) Atomics.store(ints, slot(id, S.CMD), 2);
      for (const id of last) {
        const exit = await senders[id].exited;
        assert.equal(exit.code, 0, senders[id].describe());
      }
      await until("the receiver child sees the end", () => !receiver.running, 20_000, [], children);
      assert.equal(receiver.exit!.code, 0, receiver.describe());
      const ownError = await ownLoop;
      assert.equal(ownError, null, String(ownError));
      assert.equal(ch.ended, true);

      // What arrived, sender by sender.
      const theirs = receiver.result() as { total: number; errors: string[]; ended: boolean };
      assert.deepEqual(theirs.errors, [], "the receiver child got bad messages");
      assert.deepEqual(own.errors, [], "this process got bad messages");
      assert.equal(theirs.ended, true);
      const problems: string[] = [];
      for (let id = 0; id < S.ROUNDS + 2; id++) {
        const receipts = counts.subarray(id * S.MAX_SEQ, (id + 1) * S.MAX_SEQ);
        let received = 0;
        let top = -1;
        for (let seq = 0; seq < S.MAX_SEQ; seq++) {
          if (receipts[seq] > 1) {
            problems.push(`sender ${id}: message ${seq} arrived ${receipts[seq]} times`);
          }
          if (receipts[seq] > 0) {
            received += 1;
            top = seq;
          }
        }
        if (received !== top + 1) {
          problems.push(`sender ${id}: ${received} messages arrived, the last was ${top}: a gap`);
        }
        const kill = kills.find((k) => k.id === id);
        const lastReturned = ints[slot(id, S.LAST)];
        if (kill === undefined) {
          const sent = (senders[id].result() as { sent: number }).sent;
          if (top !== sent - 1 || lastReturned !== sent - 1) {
            problems.push(`sender ${id} sent ${sent} and closed; the last arrived was ${top}`);
          }
        } else if (kill.mode === "hold") {
          if (kill.held !== kill.last + 1 || top !== kill.last) {
            problems.push(
              `sender ${id}, killed holding reservation ${kill.held} after ${kill.last} was sent: the last arrived was ${top}`,
            );
          }
        } else if (top !== kill.last && top !== kill.last + 1) {
          // top === last + 1: killed after the publish, before it noted the seq
          problems.push(
            `sender ${id}, killed after send() of ${kill.last} returned: the last arrived was ${top}`,
          );
        }
        if (received === 0) problems.push(`sender ${id}: nothing arrived`);
      }
      assert.deepEqual(problems, []);
      stats("senders", kills);
      assert.equal(theirs.total + own.total, counts.reduce((sum, n) => sum + n, 0));
    } finally {
      for (const child of children) child.kill();
      await Promise.all(children.map((c) => c.exited));
      ch.close();
      control.close();
      unlinkIfThere({ shm: [controlName] });
      try {
        Channel.unlink(channelName);
      } catch {
        // already gone
      }
    }
  },
);

// ---------------------------------------------------------------------------
// 2. Receivers killed: while holding a borrowed message, or at a random moment.

const R = {
  ROUNDS: 8,
  RECEIVERS: 10, // ROUNDS + 2
  MAX_SEQ: 1 << 20, // the sender idles after this many messages
  READY: 1, // int: children that wait at the start flag
  SENDER: 8, // int: the sender's slot
  LAST: 0, // (sender) the last seq whose send() returned
  CMD: 1, // (sender) 2: stop and close; (receiver) 1: borrow one message and hold it
  SLOT: 32, // int: receiver r's slot is SLOT + 8 * r
  GOT: 0, // (receiver) messages fully received and noted
  NOTED: 2, // (receiver) the last seq it noted
  HELD: 3, // (receiver) the seq of the borrowed message it holds
  PHASE: 4, // (receiver) 1 while taking a message (until it is noted)
  COUNTS: 8192, // byte: receipts of message seq at COUNTS + seq
  CAPACITY: 1 << 16,
  MAX_MESSAGE: 1 << 14,
};
const R_BYTES = R.COUNTS + R.MAX_SEQ;

const SENDER_2 = `${PRELUDE}
const [channelName, controlName] = process.argv.slice(2);
const R = ${JSON.stringify(R)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 2048);
const tx = Channel.open(channelName);
Atomics.add(ints, R.READY, 1);
if (!Flag.attach(control, 0).waitFor(1, 30_000)) throw new Error("no start");
const maxPayload = tx.maxMessage - HEADER;
let seq = 0;
while (Atomics.load(ints, R.SENDER + R.CMD) !== 2) {
  if (seq >= R.MAX_SEQ) {
    sleepSync(5);
    continue;
  }
  tx.send(makeMessage(0, seq, pickLength(maxPayload)));
  Atomics.store(ints, R.SENDER + R.LAST, seq);
  seq += 1;
}
tx.close();
control.close();
console.log(JSON.stringify({ sent: seq }));
`;

// Takes messages with recv(), recvInto() and borrow() in turn and notes each
// whole, intact one in the shared receipts (a borrowed one before release());
// told to, borrows one, says which, and holds it until killed.
const RECEIVER_2 = `${PRELUDE}
const [channelName, controlName, idText] = process.argv.slice(2);
const R = ${JSON.stringify(R)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 2048);
const counts = control.view(Uint8Array, R.COUNTS, R.MAX_SEQ);
const slot = R.SLOT + 8 * Number(idText);
const rx = Channel.open(channelName);
const buffer = new Uint8Array(rx.maxMessage);
const errors = [];
let last = -1;
const note = (bytes) => {
  const got = check(bytes);
  if (typeof got === "string") return errors.push(got);
  const seq = got[1];
  if (got[0] !== 0 || seq >= R.MAX_SEQ) return errors.push("unknown message " + got.join("/"));
  if (seq <= last) errors.push(seq + " after " + last);
  last = seq;
  Atomics.add(counts, seq, 1);
  Atomics.store(ints, slot + R.NOTED, seq);
  Atomics.add(ints, slot + R.GOT, 1);
};
Atomics.add(ints, R.READY, 1);
if (!Flag.attach(control, 0).waitFor(1, 30_000)) throw new Error("no start");
for (let i = 0;; i++) {
  if (Atomics.load(ints, slot + R.CMD) === 1) {
    const message = rx.borrow();
    if (message === null) break;
    const got = check(message.bytes.subarray(0, message.length));
    if (typeof got === "string") throw new Error(got);
    Atomics.store(ints, slot + R.HELD, got[1]);
    hang();
  }
  Atomics.store(ints, slot + R.PHASE, 1); // in recv(), recvInto(), or holding a borrow
  if (i % 3 === 0) {
    const bytes = rx.recv();
    if (bytes === null) break;
    note(bytes);
  } else if (i % 3 === 1) {
    const length = rx.recvInto(buffer);
    if (length === null) break;
    note(buffer.subarray(0, length));
  } else {
    const message = rx.borrow();
    if (message === null) break;
    note(message.bytes.subarray(0, message.length));
    message.release();
  }
  Atomics.store(ints, slot + R.PHASE, 0);
}
console.log(JSON.stringify({ got: Atomics.load(ints, slot + R.GOT), errors: errors.slice(0, 20), ended: rx.ended }));
rx.close();
`;

test(
  "Channel: receivers (Deno and Bun, alternating) SIGKILLed holding a borrowed message or while " +
    "receiving lose at most that one message; the others get every later one, none twice",
  async () => {
    const channelName = uniqueName("chcrash-rx");
    const controlName = uniqueName("chcrash-rx-ctl");
    const children: Child[] = [];
    const ch = Channel.create(channelName, { capacity: R.CAPACITY, maxMessage: R.MAX_MESSAGE });
    const control = SharedMemory.create(controlName, R_BYTES);
    try {
      const ints = control.view(Int32Array, 0, 2048);
      const counts = control.view(Uint8Array, R.COUNTS, R.MAX_SEQ);
      const slot = (id: number, field: number) => R.SLOT + 8 * id + field;
      for (let r = 0; r < R.RECEIVERS; r++) {
        ints[slot(r, R.NOTED)] = -1;
        ints[slot(r, R.HELD)] = -1;
      }
      ints[R.SENDER + R.LAST] = -1;
      const start = Flag.init(control, 0, 0);
      const sender = new Child("sender", otherRuntime(CURRENT), SENDER_2, [
        channelName,
        controlName,
      ]);
      children.push(sender);
      const receivers: Child[] = [];
      const spawnReceiver = (id: number) => {
        const child = new Child(`receiver ${id}`, runtimeOf(id), RECEIVER_2, [
          channelName,
          controlName,
          String(id),
        ]);
        receivers[id] = child;
        children.push(child);
        return child;
      };
      spawnReceiver(0);
      spawnReceiver(1);
      await until(
        "the sender and the first receivers are ready",
        () => ints[R.READY] === 3,
        30_000,
        [
          ...children,
        ],
      );
      start.set(1);

      const got = (id: number) => Atomics.load(ints, slot(id, R.GOT));
      // Each runtime is killed both ways: B (random moment), A (holding a borrow).
      const modes = [
        "random",
        "random",
        "borrow",
        "borrow",
        "random",
        "random",
        "borrow",
        "borrow",
      ];
      const kills: { id: number; mode: string; noted: number; held: number; phase: number }[] = [];
      for (let round = 0; round < R.ROUNDS; round++) {
        const victim = receivers[round];
        const survivor = receivers[round + 1];
        const mode = modes[round];
        await until(
          `round ${round}: receivers ${round} and ${round + 1} receiving`,
          () => got(round) > 0 && got(round + 1) > 0,
          30_000,
          [victim, survivor, sender],
          children,
        );
        if (mode === "borrow") {
          Atomics.store(ints, slot(round, R.CMD), 1);
          await until(
            `round ${round}: receiver ${round} holds a borrowed message`,
            () => Atomics.load(ints, slot(round, R.HELD)) >= 0,
            20_000,
            [victim, survivor, sender],
            children,
          );
          await delay(random(20, 100)); // the survivor now waits for the receiving side
        } else {
          await delay(random(0, 150));
        }
        await killNow(victim);
        kills.push({
          id: round,
          mode,
          noted: ints[slot(round, R.NOTED)],
          held: ints[slot(round, R.HELD)],
          phase: ints[slot(round, R.PHASE)],
        });
        const before = got(round + 1);
        const fresh = spawnReceiver(round + 2);
        await until(
          `after receiver ${round} (${victim.runtime}, ${mode}) was killed, receiver ${
            round + 1
          } and the new receiver ${round + 2} get messages`,
          () => got(round + 1) > before && got(round + 2) > 0,
          30_000,
          [survivor, fresh, sender],
          children,
        );
      }

      // The sender stops and closes; the last receivers drain, then see the end.
      Atomics.store(ints, R.SENDER + R.CMD, 2);
      const exit = await sender.exited;
      assert.equal(exit.code, 0, sender.describe());
      const sent = (sender.result() as { sent: number }).sent;
      const remaining = [receivers[R.ROUNDS], receivers[R.ROUNDS + 1]];
      await until(
        "the last receivers see the end",
        () => remaining.every((c) => !c.running),
        20_000,
        [],
        children,
      );
      for (const child of remaining) {
        assert.equal(child.exit!.code, 0, child.describe());
        const result = child.result() as { errors: string[]; ended: boolean };
        assert.deepEqual(result.errors, [], `${child.label} got bad messages`);
        assert.equal(result.ended, true);
      }
      assert.equal(ch.ended, true);

      const duplicated: number[] = [];
      const missing: number[] = [];
      for (let seq = 0; seq < R.MAX_SEQ; seq++) {
        if (counts[seq] > 1) duplicated.push(seq);
        if (seq < sent && counts[seq] === 0) missing.push(seq);
        if (seq >= sent && counts[seq] !== 0) duplicated.push(seq); // never sent
      }
      assert.deepEqual(duplicated, [], "messages received twice (or never sent)");
      stats("receivers", kills, { sent, missing });
      // A held borrowed message is lost (taken) and nobody else gets it.
      const held = kills.filter((k) => k.mode === "borrow").map((k) => k.held);
      for (const seq of held) {
        assert.ok(missing.includes(seq), `the held message ${seq} arrived again`);
      }
      // The others missing: at most one per random kill, each after the last
      // one that its receiver noted (the one it had in flight).
      const inFlight = missing.filter((seq) => !held.includes(seq));
      const noted = kills.filter((k) => k.mode === "random").map((k) => k.noted).sort((a, b) =>
        a - b
      );
      assert.ok(
        inFlight.length <= noted.length,
        `${inFlight.length} messages lost (${inFlight.join(", ")}) by ${noted.length} random kills`,
      );
      // Greedy match: the smallest lost message to the smallest victim noted before it.
      let v = 0;
      for (const seq of inFlight) {
        while (v < noted.length && noted[v] >= seq) v += 1;
        assert.ok(
          v < noted.length,
          `message ${seq} was lost, not the one in flight of a killed receiver (noted ${noted})`,
        );
        v += 1;
      }
    } finally {
      for (const child of children) child.kill();
      await Promise.all(children.map((c) => c.exited));
      ch.close();
      control.close();
      unlinkIfThere({ shm: [controlName] });
      try {
        Channel.unlink(channelName);
      } catch {
        // already gone
      }
    }
  },
);

// ---------------------------------------------------------------------------
// 3. The last sender killed: receivers waiting in recv()/recvAsync() see the end.

const E = {
  MESSAGES: 20,
  READY: 1, // int: receivers about to receive
  SENT: 2, // int: set by the sender once all its messages are sent
  HELD: 3, // int: set by the sender once it holds a half-filled reservation
  TAKEN: 4, // int: messages that receivers took
};

const SENDER_3 = `${PRELUDE}
const [channelName, controlName, mode] = process.argv.slice(2);
const E = ${JSON.stringify(E)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 64);
const tx = Channel.open(channelName);
for (let seq = 0; seq < E.MESSAGES; seq++) tx.send(makeMessage(0, seq, pickLength(4096)));
Atomics.store(ints, E.SENT, 1);
if (mode === "reservation") {
  const message = makeMessage(0, E.MESSAGES, 3000);
  tx.reserve(message.length).set(message.subarray(0, 1500));
  Atomics.store(ints, E.HELD, 1);
}
hang();
`;

const RECEIVER_3 = `${PRELUDE}
const [channelName, controlName, how] = process.argv.slice(2);
const E = ${JSON.stringify(E)};
const control = SharedMemory.open(controlName);
const ints = control.view(Int32Array, 0, 64);
const rx = Channel.open(channelName);
const errors = [];
let count = 0;
Atomics.add(ints, E.READY, 1);
for (;;) {
  const bytes = how === "recv" ? rx.recv() : await rx.recvAsync({ timeout: 30_000 });
  if (bytes === null) break;
  const got = check(bytes);
  if (typeof got === "string") errors.push(got);
  count += 1;
  Atomics.add(ints, E.TAKEN, 1);
}
console.log(JSON.stringify({ count, errors, ended: rx.ended }));
rx.close();
`;

/** Generous: the contract says ~100-200 ms; this only rules out "never". */
const END_BOUND_MS = 5_000;

test(
  "Channel: when the last sender (Deno or Bun, idle or holding a reservation) is SIGKILLed, " +
    "receivers waiting in recv() and recvAsync() in both runtimes get the end of the stream",
  async () => {
    const scenarios = [
      { sender: "deno", mode: "idle", deno: "recv", bun: "recvAsync" },
      { sender: "bun", mode: "idle", deno: "recvAsync", bun: "recv" },
      { sender: "deno", mode: "reservation", deno: "recvAsync", bun: "recv" },
      { sender: "bun", mode: "reservation", deno: "recv", bun: "recvAsync" },
    ] as const;
    for (const scenario of scenarios) {
      const what = `sender ${scenario.sender} killed ${scenario.mode}`;
      const channelName = uniqueName("chcrash-end");
      const controlName = uniqueName("chcrash-end-ctl");
      const children: Child[] = [];
      const ch = Channel.create(channelName, { capacity: 1 << 16 });
      const control = SharedMemory.create(controlName, 4096);
      try {
        const ints = control.view(Int32Array, 0, 64);
        const receivers = RUNTIMES.map((runtime) =>
          new Child(`${runtime} receiver (${scenario[runtime]})`, runtime, RECEIVER_3, [
            channelName,
            controlName,
            scenario[runtime],
          ])
        );
        children.push(...receivers);
        let ownCount = 0;
        let ownEnd: number | Error | undefined;
        const ownLoop = (async () => {
          for (;;) {
            const bytes = await ch.recvAsync({ timeout: 30_000 });
            if (bytes === null) return;
            assert.equal(typeof check(bytes), "object", "a bad message");
            ownCount += 1;
          }
        })().then(() => (ownEnd = Date.now()), (error) => (ownEnd = error as Error));
        const sender = new Child(`${scenario.sender} sender`, scenario.sender, SENDER_3, [
          channelName,
          controlName,
          scenario.mode,
        ]);
        children.push(sender);
        await until(
          `${what}: everything sent is taken`,
          () =>
            ints[E.READY] === 2 && ints[E.SENT] === 1 &&
            (scenario.mode === "idle" || ints[E.HELD] === 1) &&
            Atomics.load(ints, E.TAKEN) + ownCount === E.MESSAGES,
          30_000,
          children,
        );
        await delay(300); // all of them asleep in recv()/recvAsync()
        assert.ok(
          receivers.every((c) => c.running) && ownEnd === undefined,
          `${what}: ended early`,
        );
        await killNow(sender);
        const killed = Date.now();
        await until(
          `${what}: the receivers see the end`,
          () => receivers.every((c) => !c.running) && ownEnd !== undefined,
          END_BOUND_MS,
          [],
          children,
        );
        await ownLoop;
        assert.ok(typeof ownEnd === "number", `${what}: ${ownEnd}`);
        assert.ok(ownEnd - killed < END_BOUND_MS);
        let total = ownCount;
        for (const child of receivers) {
          assert.equal(child.exit!.code, 0, child.describe());
          const result = child.result() as { count: number; errors: string[]; ended: boolean };
          assert.deepEqual(result.errors, [], child.label);
          assert.equal(result.ended, true, child.label);
          total += result.count;
        }
        assert.equal(total, E.MESSAGES, `${what}: messages taken`);
        assert.equal(ch.ended, true);
        assert.throws(() => ch.send(new Uint8Array(8)), ChannelEndedError);
      } finally {
        for (const child of children) child.kill();
        await Promise.all(children.map((c) => c.exited));
        ch.close();
        control.close();
        unlinkIfThere({ shm: [controlName] });
        try {
          Channel.unlink(channelName);
        } catch {
          // already gone
        }
      }
    }
  },
);
