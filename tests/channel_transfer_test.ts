/**
 * Channel: messages across real processes of both runtimes arrive complete,
 * in order and exactly once; many senders and receivers contend; and, in
 * this process, zero-copy reserve/commit, borrow, recvInto and the ring's
 * wrap-around deliver exactly the bytes that were sent.
 *
 * The children are tests/_channel_children.ts, released together by a start
 * flag in a control region. Every message says what it is (a sequence number,
 * a sender id) and its content is derived from that, so a receiver can tell a
 * lost, repeated, reordered, cut or corrupted message from the right one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, Flag, SharedMemory } from "../mod.ts";
import {
  assertSucceeded,
  commandFor,
  type ProcessResult,
  runCommand,
  type Runtime,
  uniqueName,
} from "./_helpers.ts";
import { makePattern, mix } from "./_channel_children.ts";

const CHILDREN = new URL("./_channel_children.ts", import.meta.url).pathname;

function child(runtime: Runtime, args: string[], timeoutMs: number): Promise<ProcessResult> {
  const { command, args: full } = commandFor(runtime, CHILDREN, args);
  return runCommand(command, full, { timeoutMs });
}

/** The one JSON line a child printed, after checking that it exited 0. */
function report(result: ProcessResult, what: string): Record<string, unknown> {
  assertSucceeded(result, what);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]);
}

/**
 * Runs `body` with a new channel and a control region (start flag and
 * counters, see tests/_channel_children.ts), closing and unlinking both.
 */
async function withChannel(
  label: string,
  capacity: number,
  body: (ch: Channel, name: string, control: string) => Promise<void>,
): Promise<void> {
  const name = uniqueName(`${label}`);
  const controlName = uniqueName(`${label}-control`);
  const control = SharedMemory.create(controlName, 4096);
  try {
    Flag.init(control, 0, 0);
    const ch = Channel.create(name, { capacity });
    try {
      await body(ch, name, controlName);
    } finally {
      ch.close();
      Channel.unlink(name);
    }
  } finally {
    control.close();
    SharedMemory.unlink(controlName);
  }
}

const STREAM_COUNT = 1_000_000;

for (const [sender, receiver] of [["deno", "bun"], ["bun", "deno"]] as const) {
  test(`Channel: ${STREAM_COUNT} messages of 1..4096 bytes from a ${sender} sender reach a ${receiver} receiver complete, in order, once`, async () => {
    await withChannel("channel-stream", 1 << 20, async (ch, name, control) => {
      const args = [name, control, "2", String(STREAM_COUNT)];
      const [tx, rx] = await Promise.all([
        child(sender, ["stream-send", ...args], 100_000),
        child(receiver, ["stream-recv", ...args], 100_000),
      ]);
      assert.deepEqual(report(tx, `${sender} sender`), { sent: STREAM_COUNT });
      const got = report(rx, `${receiver} receiver`);
      assert.equal(got.firstBad, null, "the first wrong message");
      assert.equal(got.bad, 0);
      // recvInto() returned null: the stream ended after the last message.
      assert.equal(got.received, STREAM_COUNT);
      assert.equal(got.ended, true);
      assert.equal(ch.ended, true);
    });
  });
}

const SENDERS: readonly { runtime: Runtime; mode: "send" | "async" | "reserve" }[] = [
  { runtime: "deno", mode: "send" },
  { runtime: "deno", mode: "async" },
  { runtime: "bun", mode: "reserve" },
  { runtime: "bun", mode: "async" },
];
const RECEIVERS: readonly { runtime: Runtime; mode: "sync" | "async" }[] = [
  { runtime: "deno", mode: "async" },
  { runtime: "bun", mode: "sync" },
];
const PER_SENDER = 20_000;

test(
  `Channel: 4 senders and 2 receivers (Deno and Bun, sync and async) deliver ${
    4 * PER_SENDER
  } tagged messages exactly once, each sender's in order, then the end`,
  async () => {
    // 16 KiB: the ring is full or empty most of the time, so both sides wait.
    await withChannel("channel-many", 16384, async (ch, name, control) => {
      const parties = String(SENDERS.length + RECEIVERS.length);
      const results = await Promise.all([
        ...SENDERS.map(({ runtime, mode }, id) =>
          child(
            runtime,
            ["tag-send", name, control, parties, String(id), String(PER_SENDER), mode],
            60_000,
          )
        ),
        ...RECEIVERS.map(({ runtime, mode }) =>
          child(runtime, ["tag-recv", name, control, parties, mode], 60_000)
        ),
      ]);
      SENDERS.forEach(({ runtime, mode }, id) =>
        assert.deepEqual(report(results[id], `sender ${id} (${runtime} ${mode})`), {
          sent: PER_SENDER,
        })
      );
      const times = SENDERS.map(() => new Uint8Array(PER_SENDER));
      RECEIVERS.forEach(({ runtime, mode }, r) => {
        const got = report(results[SENDERS.length + r], `receiver ${r} (${runtime} ${mode})`);
        const what = `receiver ${r} (${runtime} ${mode})`;
        assert.equal(got.firstBad, null, `${what}: the first wrong message`);
        assert.equal(got.bad, 0);
        // The end came only after every sender had counted itself as closing.
        assert.equal(got.closingAtEnd, SENDERS.length, `${what} saw the end too early`);
        assert.equal(got.ended, true);
        const seqs = got.seqs as number[][];
        assert.equal(seqs.length, SENDERS.length);
        seqs.forEach((list, id) => {
          for (let i = 0; i < list.length; i++) {
            if (i > 0 && list[i] <= list[i - 1]) {
              assert.fail(`${what}: sender ${id}'s ${list[i]} came after ${list[i - 1]}`);
            }
            assert.ok(list[i] >= 0 && list[i] < PER_SENDER, `seq ${list[i]} out of range`);
            times[id][list[i]] += 1;
          }
        });
      });
      times.forEach((counts, id) => {
        const missing = counts.findIndex((n) => n === 0);
        const twice = counts.findIndex((n) => n > 1);
        assert.equal(missing, -1, `sender ${id}'s message ${missing} was never received`);
        assert.equal(twice, -1, `sender ${id}'s message ${twice} was received more than once`);
      });
      assert.equal(ch.ended, true);
      assert.equal(ch.tryRecv(), null);
    });
  },
);

/** `length` bytes that depend on `seed`. */
function bytesFor(seed: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = mix(seed * 8191 + i) & 255;
  return out;
}

/** A channel and a second handle on it in this process, for same-thread checks. */
function withPair(capacity: number, body: (tx: Channel, rx: Channel) => void): void {
  const name = uniqueName("channel-local");
  const rx = Channel.create(name, { capacity });
  try {
    const tx = Channel.open(name);
    try {
      body(tx, rx);
    } finally {
      tx.close();
    }
  } finally {
    rx.close();
    Channel.unlink(name);
  }
}

test("Channel: reserve() gives a writable view into the ring; commit(shorter) publishes exactly those bytes; discard() publishes nothing", () => {
  withPair(4096, (tx, rx) => {
    const expected = bytesFor(1, 300);
    const room = tx.reserve(500);
    assert.equal(room.length, 500);
    room.set(expected);
    room.fill(0xab, 300);
    assert.equal(rx.tryRecv(), null, "a reserved message is not published before commit()");
    tx.commit(300);
    const got = rx.recv();
    assert.deepEqual(got, expected);

    const dropped = tx.reserve(64);
    dropped.fill(0x77);
    tx.discard();
    assert.equal(rx.tryRecv(), null, "a discarded message was published");
    tx.send(bytesFor(2, 10));
    assert.deepEqual(rx.recv(), bytesFor(2, 10));

    // commit() without a length publishes all n bytes; commit(0) an empty message.
    tx.reserve(7).set(bytesFor(3, 7));
    tx.commit();
    tx.reserve(16);
    tx.commit(0);
    assert.deepEqual(rx.recv(), bytesFor(3, 7));
    assert.deepEqual(rx.recv(), new Uint8Array(0));
    assert.equal(rx.tryRecv(), null);
  });
});

test("Channel: borrow() views a message in the ring until release(); the next borrow() gets the next message", () => {
  withPair(4096, (tx, rx) => {
    assert.equal(rx.tryBorrow(), null);
    for (let i = 0; i < 3; i++) tx.send(bytesFor(10 + i, 100 + i));
    const first = rx.borrow();
    assert.ok(first !== null);
    assert.equal(first.length, 100);
    assert.deepEqual(first.bytes.slice(), bytesFor(10, 100));
    first.release();
    {
      using second = rx.borrow();
      assert.ok(second !== null);
      assert.equal(second.length, 101);
      assert.deepEqual(second.bytes.slice(), bytesFor(11, 101));
    }
    const third = rx.tryBorrow();
    assert.ok(third !== null);
    assert.deepEqual(third.bytes.slice(), bytesFor(12, 102));
    third.release();
    assert.equal(rx.tryBorrow(), null);
    tx.close();
    assert.equal(rx.borrow(), null, "borrow() at the end of the stream");
    assert.equal(rx.ended, true);
  });
});

test("Channel: recvInto() fills a big buffer and returns the length; a buffer too small is refused and the message kept", () => {
  withPair(8192, (tx, rx) => {
    const big = new Uint8Array(65536).fill(0x55);
    tx.send(bytesFor(20, 1000));
    tx.send(bytesFor(21, 1));
    assert.equal(rx.recvInto(big), 1000);
    assert.deepEqual(big.subarray(0, 1000), bytesFor(20, 1000));
    assert.equal(big[1000], 0x55, "recvInto() wrote past the message");
    tx.send(bytesFor(22, 3000));
    assert.equal(rx.recvInto(big), 1);
    assert.equal(big[0], bytesFor(21, 1)[0]);
    assert.throws(() => rx.recvInto(new Uint8Array(2999)), RangeError);
    // Into a view at an offset of a bigger buffer.
    assert.equal(rx.recvInto(big.subarray(100, 3100)), 3000);
    assert.deepEqual(big.subarray(100, 3100), bytesFor(22, 3000));
    tx.close();
    assert.equal(rx.recvInto(big), null);
  });
});

test("Channel: 20,000 messages through a 4096-byte ring wrap it many times with every size up to maxMessage, content intact", () => {
  withPair(4096, (tx, rx) => {
    const max = rx.maxMessage;
    assert.ok(max >= 1000 && max <= 2048, `maxMessage ${max}`);
    const pattern = makePattern();
    // Message i is pattern[offset(i) .. offset(i) + size(i)]; sizes cover
    // small, odd and near-maximum lengths, so the ring's end falls everywhere.
    const size = (i: number) => (i % 7 === 0 ? max - (i % 13) : mix(i) % (max + 1));
    const offset = (i: number) => mix(i + 77) & 8191;
    const expectedOf = (i: number) => pattern.subarray(offset(i), offset(i) + size(i));
    const total = 20_000;
    const buffer = new Uint8Array(max);
    let sent = 0;
    let received = 0;
    let bytes = 0;
    const check = (got: Uint8Array) => {
      const expected = expectedOf(received);
      if (got.length !== expected.length || got.some((b, k) => b !== expected[k])) {
        assert.fail(`message ${received}: ${got.length} bytes, expected ${expected.length}`);
      }
      received++;
    };
    while (received < total) {
      // Fill the ring as far as it goes, by three ways of sending.
      while (sent < total) {
        const message = expectedOf(sent);
        if (sent % 3 === 0) {
          const room = tx.tryReserve(Math.min(max, message.length + 5));
          if (room === null) break;
          room.set(message);
          tx.commit(message.length);
        } else if (!tx.trySend(message)) break;
        bytes += message.length;
        sent++;
      }
      if (sent === received) {
        // Every message sent was received, yet the ring is not empty?
        assert.equal(rx.tryRecv(), null, `after ${received} messages, one more is in the ring`);
        assert.fail(`message ${sent} did not fit in an empty ring`);
      }
      // Then take one or a few, by three ways of receiving.
      const take = 1 + (received % 3);
      for (let k = 0; k < take && received < sent; k++) {
        if (received % 3 === 0) check(rx.tryRecv()!);
        else if (received % 3 === 1) {
          const m = rx.tryBorrow()!;
          check(m.bytes.slice());
          m.release();
        } else {
          const n = rx.recvInto(buffer)!;
          check(buffer.subarray(0, n));
        }
      }
    }
    assert.equal(rx.tryRecv(), null);
    assert.ok(bytes > 200 * 4096, `only ${bytes} bytes went through`);
  });
});
