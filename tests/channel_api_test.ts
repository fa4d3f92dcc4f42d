/**
 * Channel's public API across processes of both runtimes: the end of the
 * stream (every sender closed, exited or was killed; end()), the Web
 * Streams faces (pipeTo between channels, pipeThrough a TextDecoderStream,
 * a writer), timeouts and aborts that neither lose nor duplicate a message,
 * bad input refused before anything is written or created, hostile headers
 * refused without a crash, and close()/unlink()/mode.
 */
import { test as nodeTest } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync } from "node:fs";
import process from "node:process";
import {
  Channel,
  ChannelEndedError,
  ChannelFormatError,
  ClosedError,
  ErrnoError,
  SharedMemory,
} from "../mod.ts";
import {
  assertSucceeded,
  ipcObjects,
  newObjects,
  type ProcessResult,
  runScript,
  type Runtime,
  RUNTIMES,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, unlinkIfThere, withRegion } from "./_sync_helpers.ts";

// Groups are name prefixes, not node:test suites: Deno counts a suite's
// tests as steps of one test, and the runner checks that both runtimes ran
// the same number of tests.
let group = "";
function describe(name: string, body: () => void): void {
  group = `${name}: `;
  try {
    body();
  } finally {
    group = "";
  }
}
const test: typeof nodeTest =
  ((name: string, ...rest: unknown[]) =>
    (nodeTest as (...args: unknown[]) => unknown)(group + name, ...rest)) as typeof nodeTest;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const bytes = (text: string) => encoder.encode(text);
const text = (message: Uint8Array) => decoder.decode(message);
const shmPath = (name: string) => `/dev/shm${name}`;
const seq = (prefix: string, count: number) =>
  Array.from({ length: count }, (_, i) => `${prefix}:${i}`);

/** Creates a channel, runs `body`, then closes and unlinks it whatever happened. */
async function withChannel<T>(
  label: string,
  options: { capacity?: number; maxMessage?: number } | undefined,
  body: (ch: Channel, name: string) => T | Promise<T>,
): Promise<T> {
  const name = uniqueName(`ch-${label}`);
  const ch = Channel.create(name, options);
  try {
    return await body(ch, name);
  } finally {
    ch.close();
    unlinkIfThere({ shm: [name] });
  }
}

/** Receives with recvAsync until the end; each wait is bounded so that a bug fails, not hangs. */
async function drain(ch: Channel, timeout = 20_000): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const message = await ch.recvAsync({ timeout });
    if (message === null) return got;
    got.push(text(message));
  }
}

/** Resolves to the error a call threw or its promise rejected with (or fails when it succeeded). */
async function failure(call: () => unknown): Promise<Error> {
  try {
    await call();
  } catch (error) {
    return error as Error;
  }
  assert.fail("the call succeeded");
}

/** The JSON a child printed on its last line, after checking it exited 0. */
function reported<T>(result: ProcessResult, what: string): T {
  assertSucceeded(result, what);
  const lines = result.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Every sender's messages arrived once, each sender's in its order. */
function assertAllOnce(got: string[], prefixes: string[], count: number): void {
  assert.equal(got.length, prefixes.length * count, `got ${got.length} messages`);
  for (const prefix of prefixes) {
    assert.deepEqual(got.filter((m) => m.startsWith(prefix + ":")), seq(prefix, count), prefix);
  }
}

// A sender: opens the channel, sends COUNT messages "PREFIX:i", then (with a
// board) counts itself on word 0 and waits until all TOTAL senders have and
// word 1 says go, so that no sender's close ends the stream before another
// registered. Then HOW: "close", "exit" (process.exit without close) or
// "hang" (send its pid, then wait to be killed).
const SENDER = `
import process from "node:process";
import { Channel, SharedMemory } from "$MOD";
const [name, board, prefix, count, total, how] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ch = Channel.open(name);
const enc = new TextEncoder();
for (let i = 0; i < Number(count); i++) ch.send(enc.encode(prefix + ":" + i));
if (board !== "-") {
  const shm = SharedMemory.open(board);
  const words = shm.view(Int32Array, 0, 2);
  Atomics.add(words, 0, 1);
  while (Atomics.load(words, 0) < Number(total) || Atomics.load(words, 1) === 0) await sleep(5);
  shm.close();
}
if (how === "close") ch.close();
else if (how === "exit") process.exit(0);
else if (how === "hang") {
  ch.send(enc.encode("pid:" + process.pid));
  setInterval(() => {}, 1000);
}
`;

function sender(
  runtime: Runtime,
  name: string,
  prefix: string,
  count: number,
  how: "close" | "exit" | "hang" = "close",
  board = "-",
  total = 1,
): Promise<ProcessResult> {
  return runScript(runtime, SENDER, {
    args: [name, board, prefix, String(count), String(total), how],
    timeoutMs: 60_000,
  });
}

// A receiver: takes every message with HOW until the end, then reports them
// (as text and as comma-separated bytes) with what ended / recv / tryRecv
// say after the end. "slow" waits a millisecond after each message.
const RECEIVER = `
import process from "node:process";
import { Channel } from "$MOD";
const [name, how] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ch = Channel.open(name);
const dec = new TextDecoder();
const got: Uint8Array[] = [];
if (how === "for-await") for await (const m of ch) got.push(m);
else if (how === "for-of") for (const m of ch) got.push(m);
else if (how === "readable") for await (const m of ch.readable) got.push(m);
else if (how === "recv") for (let m = ch.recv(); m !== null; m = ch.recv()) got.push(m);
else if (how === "slow") {
  for (;;) {
    const m = await ch.recvAsync({ timeout: 30000 });
    if (m === null) break;
    got.push(m);
    await sleep(1);
  }
} else throw new Error("no such mode " + how);
const after = { ended: ch.ended, recv: ch.recv(), tryRecv: ch.tryRecv() };
ch.close();
console.log(JSON.stringify({
  texts: got.map((m) => dec.decode(m)),
  bytes: got.map((m) => Array.from(m).join(",")),
  ...after,
}));
`;

interface Received {
  texts: string[];
  bytes: string[];
  ended: boolean;
  recv: null;
  tryRecv: null;
}

function receiver(
  runtime: Runtime,
  name: string,
  how: "for-await" | "for-of" | "readable" | "recv" | "slow",
): Promise<ProcessResult> {
  return runScript(runtime, RECEIVER, { args: [name, how], timeoutMs: 60_000 });
}

/** Checks what a receiver child reported: everything expected, then a clean end. */
function assertReceived(result: ProcessResult, what: string): Received {
  const got = reported<Received>(result, what);
  assert.equal(got.ended, true, `${what}: ended after the end`);
  assert.equal(got.recv, null, `${what}: recv() after the end`);
  assert.equal(got.tryRecv, null, `${what}: tryRecv() after the end`);
  return got;
}

// ---------------------------------------------------------------------------
describe("Channel: end of stream", () => {
  test("two Deno and two Bun senders each send then close: this receiver gets all 200, then null; for await and readable end too", async () => {
    await withRegion("ch-board", async (board, boardName) => {
      await withChannel("end-main", { capacity: 1024 }, async (ch, name) => {
        const words = board.view(Int32Array, 0, 2);
        const senders: Runtime[] = ["deno", "bun", "deno", "bun"];
        const prefixes = senders.map((r, i) => `${r}${i}`);
        const children = senders.map((r, i) =>
          sender(r, name, prefixes[i], 50, "close", boardName, senders.length)
        );
        const got: string[] = [];
        while (got.length < 200) {
          const message = await ch.recvAsync({ timeout: 20_000 });
          assert.notEqual(message, null, `the stream ended after ${got.length} messages`);
          got.push(text(message!));
        }
        assertAllOnce(got, prefixes, 50);
        // Every sender is still open (waiting for go): the stream goes on.
        while (Atomics.load(words, 0) < senders.length) await delay(5);
        await assert.rejects(ch.recvAsync({ timeout: 150 }), { name: "TimeoutError" });
        assert.equal(ch.ended, false);
        assert.equal(ch.tryRecv(), null);
        Atomics.store(words, 1, 1);
        assert.equal(await ch.recvAsync({ timeout: 20_000 }), null);
        assert.equal(ch.ended, true);
        for (const result of await Promise.all(children)) assertSucceeded(result, "sender");
        assert.equal(ch.recv(), null);
        assert.equal(ch.tryRecv(), null);
        const after: Uint8Array[] = [];
        for await (const m of ch) after.push(m);
        for (const m of ch) after.push(m);
        assert.deepEqual(after, []);
        const read = await ch.readable.getReader().read();
        assert.deepEqual(read, { done: true, value: undefined });
        using late = Channel.open(name);
        assert.equal(late.ended, true);
        assert.equal(late.recv(), null);
      });
    });
  });

  const receivers: [Runtime, "for-await" | "for-of" | "readable" | "recv"][] = [
    ["deno", "for-await"],
    ["bun", "for-await"],
    ["deno", "readable"],
    ["bun", "readable"],
    ["deno", "for-of"],
    ["bun", "recv"],
  ];
  for (const [runtime, how] of receivers) {
    test(`a ${runtime} receiver using ${how} gets a Deno and a Bun sender's messages, then its loop ends`, async () => {
      await withRegion("ch-board", async (board, boardName) => {
        await withChannel(`end-${how}`, { capacity: 256 }, async (ch, name) => {
          Atomics.store(board.view(Int32Array, 0, 2), 1, 1); // go at once
          const rx = receiver(runtime, name, how);
          const txs = [
            sender("deno", name, "d", 40, "close", boardName, 2),
            sender("bun", name, "b", 40, "close", boardName, 2),
          ];
          for (const result of await Promise.all(txs)) assertSucceeded(result, "sender");
          const got = assertReceived(await rx, `${runtime} ${how} receiver`);
          assertAllOnce(got.texts, ["d", "b"], 40);
          assert.equal(ch.ended, true, "this handle, which never received, sees the end too");
        });
      });
    });
  }

  test("two receiving processes and this one share the messages: each taken exactly once, and all three see the end", async () => {
    await withChannel("end-shared", { capacity: 512 }, async (ch, name) => {
      const rxs = [receiver("deno", name, "slow"), receiver("bun", name, "slow")];
      await delay(200); // the receivers are (likely) open and waiting
      const txs = [sender("bun", name, "b", 150), sender("deno", name, "d", 0)];
      // The zero-message Deno sender never sends, so it does not hold the stream.
      const mine = await drain(ch);
      for (const result of await Promise.all(txs)) assertSucceeded(result, "sender");
      const theirs = (await Promise.all(rxs)).map((r, i) =>
        assertReceived(r, `receiver ${i}`).texts
      );
      const all = [...mine, ...theirs[0], ...theirs[1]];
      assert.deepEqual(all.toSorted(), seq("b", 150).toSorted());
      for (const part of [mine, ...theirs]) {
        assert.deepEqual(part, seq("b", 150).filter((m) => part.includes(m)), "in order");
      }
    });
  });

  for (const runtime of RUNTIMES) {
    test(`end() ends the stream while a ${runtime} sender is open: queued messages drain, then null; sending then throws ChannelEndedError`, async () => {
      const SENDS_AFTER_END = `
import process from "node:process";
import { Channel, ChannelEndedError, SharedMemory } from "$MOD";
const [name, board] = process.argv.slice(2);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ch = Channel.open(name);
for (let i = 0; i < 3; i++) ch.send(new TextEncoder().encode("q:" + i));
const shm = SharedMemory.open(board);
const words = shm.view(Int32Array, 0, 2);
Atomics.store(words, 0, 1);
while (Atomics.load(words, 1) === 0) await sleep(5);
const seen: Record<string, string> = { ended: String(ch.ended) };
const calls: Record<string, () => unknown> = {
  send: () => ch.send(new Uint8Array(1)),
  trySend: () => ch.trySend(new Uint8Array(1)),
  sendAsync: () => ch.sendAsync(new Uint8Array(1), { timeout: 5000 }),
  reserve: () => ch.reserve(8),
};
for (const [call, run] of Object.entries(calls)) {
  try {
    await run();
    seen[call] = "no error";
  } catch (error) {
    seen[call] = (error as Error).name + (error instanceof ChannelEndedError ? " instanceof" : "");
  }
}
ch.close();
shm.close();
console.log(JSON.stringify(seen));
`;
      await withRegion("ch-board", async (board, boardName) => {
        await withChannel("end-call", { capacity: 256 }, async (ch, name) => {
          const words = board.view(Int32Array, 0, 2);
          const child = runScript(runtime, SENDS_AFTER_END, {
            args: [name, boardName],
            timeoutMs: 60_000,
          });
          while (Atomics.load(words, 0) === 0) await delay(5);
          assert.equal(ch.ended, false);
          ch.end();
          assert.equal(ch.ended, true);
          Atomics.store(words, 1, 1);
          const seen = reported<Record<string, string>>(await child, "sender");
          const ended = "ChannelEndedError instanceof";
          assert.deepEqual(seen, {
            ended: "true",
            send: ended,
            trySend: ended,
            sendAsync: ended,
            reserve: ended,
          });
          assert.deepEqual(await drain(ch), seq("q", 3));
          const error = await failure(() => ch.send(bytes("late")));
          assert.ok(error instanceof ChannelEndedError, String(error));
          assert.equal(error.name, "ChannelEndedError");
          await assert.rejects(ch.sendAsync(bytes("late")), ChannelEndedError);
          assert.equal(ch.recv(), null, "the late sends wrote nothing");
        });
      });
    });

    test(`end() from a ${runtime} process that never sent wakes a receiver waiting here with null`, async () => {
      await withChannel("end-remote", { capacity: 256 }, async (ch, name) => {
        const waiting = ch.recvAsync({ timeout: 20_000 });
        const result = await runScript(
          runtime,
          `import { Channel } from "$MOD";
           const ch = Channel.open(${JSON.stringify(name)});
           ch.end();
           ch.end(); // twice is fine
           ch.close();`,
        );
        assertSucceeded(result, "ender");
        assert.equal(await waiting, null);
        assert.equal(ch.ended, true);
      });
    });

    for (const how of ["exit", "hang"] as const) {
      const what = how === "exit" ? "exits without close()" : "is killed with SIGKILL";
      test(`a ${runtime} sender that ${what} ends the stream: the receiver gets its messages, then null within seconds`, async () => {
        await withChannel(`end-${how}`, { capacity: 1024 }, async (ch, name) => {
          const child = sender(runtime, name, "x", 5, how);
          const got: string[] = [];
          while (got.length < 5) got.push(text((await ch.recvAsync({ timeout: 20_000 }))!));
          assert.deepEqual(got, seq("x", 5));
          if (how === "hang") {
            const pid = Number(text((await ch.recvAsync({ timeout: 20_000 }))!).slice(4));
            process.kill(pid, "SIGKILL");
            assert.equal((await child).signal, "SIGKILL");
          } else {
            assertSucceeded(await child, "sender");
          }
          const gone = performance.now();
          assert.equal(await ch.recvAsync({ timeout: 20_000 }), null);
          const took = performance.now() - gone;
          assert.ok(took < 3000, `the end came ${took.toFixed(0)} ms after the sender died`);
          assert.equal(ch.ended, true);
        });
      });
    }
  }

  test("the stream does not end before anyone sent: handles that open and close without sending leave it open", async () => {
    await withChannel("end-none", { capacity: 256 }, async (ch, name) => {
      const idle = `import { Channel } from "$MOD";
        const ch = Channel.open(${JSON.stringify(name)});
        if (ch.tryRecv() !== null || ch.ended) throw new Error("not empty");
        ch.close();`;
      const waiting = assert.rejects(ch.recvAsync({ timeout: 1500 }), { name: "TimeoutError" });
      for (const runtime of RUNTIMES) assertSucceeded(await runScript(runtime, idle), runtime);
      await waiting;
      assert.equal(ch.ended, false);
      // Our own receive-only calls register nothing either.
      assert.equal(ch.tryRecv(), null);
      assert.equal(ch.ended, false);
      assertSucceeded(await sender("bun", name, "late", 1), "sender");
      assert.deepEqual(await drain(ch), ["late:0"]);
    });
  });
});

// ---------------------------------------------------------------------------
describe("Channel: Web Streams", () => {
  for (const runtime of RUNTIMES) {
    test(
      `a.readable.pipeTo(b.writable): a ${runtime} sender's messages reach a ${
        otherRuntime(runtime)
      } reader of b in order; the end of a ends b; b stays usable`,
      async () => {
        await withChannel("pipe-a", { capacity: 128 }, async (a, aName) => {
          await withChannel("pipe-b", { capacity: 128 }, async (b, bName) => {
            const rx = receiver(otherRuntime(runtime), bName, "for-await");
            const tx = sender(runtime, aName, "p", 120);
            // Aborted if the children fail, so that the pipe cannot wait forever.
            const stop = new AbortController();
            const piped = a.readable.pipeTo(b.writable, { signal: stop.signal });
            try {
              const [txResult, rxResult] = await Promise.all([tx, rx]);
              assertSucceeded(txResult, "sender");
              const got = assertReceived(rxResult, "reader of b");
              assert.deepEqual(got.texts, seq("p", 120));
              await piped; // the reader saw the end: the pipe is done
            } finally {
              stop.abort();
              await piped.catch(() => {});
            }
            assert.equal(a.ended, true);
            assert.equal(b.ended, true);
            assert.equal(b.closed, false, "closing b.writable leaves the handle open");
            assert.equal(await b.recvAsync({ timeout: 2000 }), null);
            assert.equal(b.tryRecv(), null);
            assert.throws(() => b.send(bytes("x")), ChannelEndedError);
          });
        });
      },
    );

    test(`readable.pipeThrough(new TextDecoderStream()) rebuilds text a ${runtime} sender split mid-character`, async () => {
      const sample = "héllo, wörld — 😀 ünïcödé ✓ ".repeat(12);
      await withChannel("text", { capacity: 256 }, async (ch, name) => {
        const child = runScript(
          runtime,
          `import { Channel } from "$MOD";
           const ch = Channel.open(${JSON.stringify(name)});
           const all = new TextEncoder().encode(${JSON.stringify(sample)});
           for (let i = 0; i < all.length; i += 5) ch.send(all.subarray(i, i + 5));
           ch.close();`,
        );
        // (bun-types' TextDecoderStream takes a wider input than Uint8Array)
        const decoding = new TextDecoderStream() as unknown as TransformStream<Uint8Array, string>;
        const reader = ch.readable.pipeThrough(decoding).getReader();
        let got = "";
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          got += value;
        }
        assertSucceeded(await child, "sender");
        assert.equal(got, sample);
      });
    });

    test(`writable.getWriter(): writes reach a ${runtime} receiver in order; writer.close() ends the stream, the handle stays open`, async () => {
      await withChannel("writer", { capacity: 128 }, async (ch, name) => {
        const rx = receiver(runtime, name, "for-await");
        const writer = ch.writable.getWriter();
        for (const m of seq("w", 80)) await writer.write(bytes(m));
        assert.equal(ch.ended, false);
        await writer.close();
        const got = assertReceived(await rx, "receiver");
        assert.deepEqual(got.texts, seq("w", 80));
        assert.equal(ch.ended, true);
        assert.equal(ch.closed, false);
        assert.equal(await ch.recvAsync({ timeout: 2000 }), null);
      });
    });
  }

  test("readable takes only what is read (highWaterMark 0): a Bun receiver gets the rest", async () => {
    await withChannel("hwm", { capacity: 256 }, async (ch, name) => {
      assertSucceeded(await sender("deno", name, "h", 5), "sender");
      const reader = ch.readable.getReader();
      const first = await reader.read();
      assert.equal(text(first.value!), "h:0");
      await delay(100); // a stream that pulled ahead would take more now
      const got = assertReceived(await receiver("bun", name, "for-await"), "receiver");
      assert.deepEqual(got.texts, ["h:1", "h:2", "h:3", "h:4"]);
      assert.deepEqual(await reader.read(), { done: true, value: undefined });
    });
  });

  test("writable refuses what is not bytes with TypeError", async () => {
    await withChannel("writer-bad", { capacity: 256 }, async (ch) => {
      const writer = ch.writable.getWriter();
      await assert.rejects(writer.write("text" as unknown as Uint8Array), TypeError);
    });
  });
});

// ---------------------------------------------------------------------------
describe("Channel: timeouts and aborts", () => {
  const isWaitEnd = (error: unknown) =>
    error instanceof DOMException && (error.name === "TimeoutError" || error.name === "AbortError");

  test("recvAsync on an empty channel: TimeoutError no earlier than the timeout; AbortError on abort; a pre-aborted signal takes nothing", async () => {
    await withChannel("recv-timeout", { capacity: 256 }, async (ch) => {
      for (const timeout of [0, 40, 150]) {
        const started = performance.now();
        await assert.rejects(ch.recvAsync({ timeout }), (e: unknown) => {
          assert.ok(e instanceof DOMException, String(e));
          assert.equal(e.name, "TimeoutError");
          return true;
        });
        const took = performance.now() - started;
        assert.ok(took >= timeout, `recvAsync({ timeout: ${timeout} }) rejected after ${took} ms`);
      }
      await assert.rejects(ch.recvAsync({ signal: AbortSignal.timeout(30) }), {
        name: "TimeoutError",
      });
      const controller = new AbortController();
      const pending = ch.recvAsync({ signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await assert.rejects(pending, { name: "AbortError" });
      // A message is there, yet a pre-aborted call rejects and leaves it.
      ch.send(bytes("kept"));
      await assert.rejects(ch.recvAsync({ signal: AbortSignal.abort() }), { name: "AbortError" });
      await assert.rejects(ch.recvAsync({ signal: AbortSignal.abort(), timeout: 0 }), {
        name: "AbortError",
      });
      assert.equal(text(ch.tryRecv()!), "kept");
    });
  });

  test("sendAsync on a full channel: TimeoutError no earlier than the timeout, AbortError; a Bun receiver then gets only what was sent", async () => {
    await withChannel("send-timeout", { capacity: 64 }, async (ch, name) => {
      const sent: string[] = [];
      while (ch.trySend(bytes(`f:${sent.length}`))) sent.push(`f:${sent.length}`);
      assert.ok(sent.length > 0);
      for (const timeout of [0, 60]) {
        const started = performance.now();
        await assert.rejects(ch.sendAsync(bytes(`t:${timeout}`), { timeout }), {
          name: "TimeoutError",
        });
        const took = performance.now() - started;
        assert.ok(took >= timeout, `sendAsync({ timeout: ${timeout} }) rejected after ${took} ms`);
      }
      const controller = new AbortController();
      const pending = ch.sendAsync(bytes("aborted"), { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      await assert.rejects(pending, { name: "AbortError" });
      await assert.rejects(ch.reserveAsync(8, { timeout: 20 }), { name: "TimeoutError" });
      ch.tryRecv(); // room for one now, but a pre-aborted send still sends nothing
      sent.shift();
      await assert.rejects(ch.sendAsync(bytes("pre"), { signal: AbortSignal.abort() }), {
        name: "AbortError",
      });
      ch.close(); // the only sender: the stream ends
      const got = assertReceived(await receiver("bun", name, "recv"), "receiver");
      assert.deepEqual(got.texts, sent);
    });
  });

  for (const runtime of RUNTIMES) {
    test(`many recvAsync calls with short timeouts and aborts racing a slow ${runtime} sender take each message exactly once`, async () => {
      const count = 300;
      await withChannel("recv-race", { capacity: 128 }, async (ch, name) => {
        const child = runScript(
          runtime,
          `import { Channel } from "$MOD";
           const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
           const ch = Channel.open(${JSON.stringify(name)});
           for (let i = 0; i < ${count}; i++) {
             await ch.sendAsync(new TextEncoder().encode(String(i)));
             if (i % 4 === 0) await sleep(1);
           }
           ch.close();`,
          { timeoutMs: 60_000 },
        );
        const got: number[] = [];
        let refused = 0;
        let ended = false;
        const stop = performance.now() + 40_000;
        for (let round = 0; !ended; round++) {
          assert.ok(performance.now() < stop, `no end after ${got.length} messages`);
          const calls: Promise<Uint8Array | null>[] = [];
          for (let j = 0; j <= round % 3; j++) {
            if (Math.random() < 0.5) {
              calls.push(ch.recvAsync({ timeout: Math.floor(Math.random() * 3) }));
            } else {
              const controller = new AbortController();
              setTimeout(() => controller.abort(), Math.random() * 3);
              calls.push(ch.recvAsync({ signal: controller.signal, timeout: 30_000 }));
            }
          }
          for (const settled of await Promise.allSettled(calls)) {
            if (settled.status === "rejected") {
              assert.ok(isWaitEnd(settled.reason), String(settled.reason));
              refused += 1;
            } else if (settled.value === null) ended = true;
            else got.push(Number(text(settled.value)));
          }
        }
        assertSucceeded(await child, "sender");
        assert.ok(refused > 0, "no call timed out or was aborted: the test proved nothing");
        assert.equal(got.length, count, "nothing lost or duplicated");
        assert.deepEqual(got.toSorted((x, y) => x - y), Array.from({ length: count }, (_, i) => i));
      });
    });

    test(`sendAsync calls with short timeouts and aborts against a slow ${runtime} receiver: exactly the resolved sends arrive, in order`, async () => {
      await withChannel("send-race", { capacity: 128 }, async (ch, name) => {
        const rx = receiver(runtime, name, "slow");
        const sent: string[] = [];
        let refused = 0;
        const stop = performance.now() + 40_000;
        for (let i = 0; sent.length < 200; i++) {
          assert.ok(performance.now() < stop, `only ${sent.length} sends went through`);
          const message = `s:${i}`.padEnd(8 + (i % 24), ".");
          let options: { timeout?: number; signal?: AbortSignal };
          if (i % 2 === 0) options = { timeout: Math.floor(Math.random() * 3) };
          else {
            const controller = new AbortController();
            setTimeout(() => controller.abort(), Math.random() * 3);
            options = { signal: controller.signal };
          }
          try {
            await ch.sendAsync(bytes(message), options);
            sent.push(message);
          } catch (error) {
            assert.ok(isWaitEnd(error), String(error));
            refused += 1;
          }
        }
        ch.close();
        const got = assertReceived(await rx, "receiver");
        assert.ok(refused > 0, "no send timed out or was aborted: the test proved nothing");
        assert.deepEqual(got.texts, sent);
      });
    });
  }

  test("bad timeout and signal options are refused with RangeError / TypeError", async () => {
    await withChannel("bad-timeout", { capacity: 256 }, async (ch) => {
      const m = bytes("x");
      const cases: [unknown, ErrorConstructor][] = [
        [{ timeout: -1 }, RangeError],
        [{ timeout: Number.NaN }, RangeError],
        [{ timeout: "10" }, TypeError],
        [{ timeout: null }, TypeError],
        [{ signal: {} }, TypeError],
        [42, TypeError],
      ];
      for (const [options, kind] of cases) {
        const label = JSON.stringify(options) ?? String(options);
        const asOptions = options as { timeout?: number };
        const r = await failure(() => ch.recvAsync(asOptions));
        assert.ok(r instanceof kind, `recvAsync(${label}): ${r}`);
        const s = await failure(() => ch.sendAsync(m, asOptions));
        assert.ok(s instanceof kind, `sendAsync(${label}): ${s}`);
      }
      assert.equal(ch.tryRecv(), null, "the refused sends wrote nothing");
    });
  });
});

// ---------------------------------------------------------------------------
describe("Channel: bad input", () => {
  test("a message over maxMessage or capacity is refused with RangeError before anything is written", async () => {
    await withChannel("too-big", { capacity: 1024, maxMessage: 64 }, async (ch, name) => {
      assert.equal(ch.capacity, 1024);
      assert.equal(ch.maxMessage, 64);
      const tooBig = new Uint8Array(65).fill(9);
      assert.throws(() => ch.send(tooBig), RangeError);
      assert.throws(() => ch.trySend(tooBig), RangeError);
      assert.ok((await failure(() => ch.sendAsync(tooBig))) instanceof RangeError);
      assert.throws(() => ch.reserve(65), RangeError);
      assert.throws(() => ch.tryReserve(65), RangeError);
      assert.throws(() => ch.send(new Uint8Array(1025)), RangeError);
      assert.throws(() => ch.send(new Uint8Array(1 << 20)), RangeError);
      assert.equal(ch.tryRecv(), null, "nothing was written");
      // What is valid goes through, whatever kind of view it is.
      ch.send(new Uint8Array(64).fill(7));
      ch.send(new Uint8Array([0, 1, 2, 3, 4, 5, 6]).subarray(2, 5));
      ch.send(new Int32Array([1, -1]));
      ch.send(new DataView(new Uint8Array([8, 9, 10, 11]).buffer, 1, 2));
      ch.send(new Uint8Array(0));
      ch.close();
      const got = assertReceived(await receiver("bun", name, "for-await"), "receiver");
      assert.deepEqual(got.bytes, [
        Array(64).fill(7).join(","),
        "2,3,4",
        "1,0,0,0,255,255,255,255",
        "9,10",
        "",
      ]);
    });
  });

  test("send of what is not an ArrayBufferView throws TypeError and writes nothing", async () => {
    await withChannel("not-bytes", { capacity: 256 }, async (ch) => {
      const values: unknown[] = ["text", 42, null, undefined, [1, 2, 3], { length: 1 }];
      for (const value of values) {
        const v = value as Uint8Array;
        assert.throws(() => ch.send(v), TypeError, `send(${String(value)})`);
        assert.throws(() => ch.trySend(v), TypeError, `trySend(${String(value)})`);
        const error = await failure(() => ch.sendAsync(v));
        assert.ok(error instanceof TypeError, `sendAsync(${String(value)}): ${error}`);
      }
      assert.equal(ch.tryRecv(), null);
      assert.equal(ch.ended, false);
    });
  });

  test("create refuses bad capacity / maxMessage / mode / name before any object exists", () => {
    const before = ipcObjects();
    const typeErrors: [string, (name: string) => unknown][] = [
      ["name number", () => Channel.create(42 as unknown as string)],
      ["capacity string", (n) => Channel.create(n, { capacity: "1024" as unknown as number })],
      ["maxMessage string", (n) => Channel.create(n, { maxMessage: "64" as unknown as number })],
      ["mode string", (n) => Channel.create(n, { mode: "600" as unknown as number })],
      ["options string", (n) => Channel.create(n, "big" as unknown as undefined)],
    ];
    const rangeErrors: [string, (name: string) => unknown][] = [
      ["name without slash", () => Channel.create("shmkit-test-no-slash")],
      ["name with inner slash", () => Channel.create("/shmkit-test/a")],
      ["name /", () => Channel.create("/")],
      ["capacity 0", (n) => Channel.create(n, { capacity: 0 })],
      ["capacity 56", (n) => Channel.create(n, { capacity: 56 })],
      ["capacity negative", (n) => Channel.create(n, { capacity: -1024 })],
      ["capacity fraction", (n) => Channel.create(n, { capacity: 1024.5 })],
      ["capacity NaN", (n) => Channel.create(n, { capacity: Number.NaN })],
      ["capacity 2^30 + 1", (n) => Channel.create(n, { capacity: 2 ** 30 + 1 })],
      ["capacity 2^31", (n) => Channel.create(n, { capacity: 2 ** 31 })],
      ["maxMessage negative", (n) => Channel.create(n, { capacity: 1024, maxMessage: -1 })],
      ["maxMessage over half", (n) => Channel.create(n, { capacity: 1024, maxMessage: 512 })],
      ["maxMessage fraction", (n) => Channel.create(n, { capacity: 1024, maxMessage: 1.5 })],
      ["mode negative", (n) => Channel.create(n, { mode: -1 })],
      ["mode too wide", (n) => Channel.create(n, { mode: 0o1777 })],
    ];
    const names: string[] = [];
    try {
      for (const [kinds, kind] of [[typeErrors, TypeError], [rangeErrors, RangeError]] as const) {
        for (const [label, create] of kinds) {
          const name = uniqueName("ch-bad");
          names.push(name);
          assert.throws(() => create(name), kind, label);
          assert.equal(existsSync(shmPath(name)), false, `${label} left ${name}`);
        }
      }
      assert.deepEqual(newObjects(before).filter((o) => o.includes(`-${process.pid}-`)), []);
    } finally {
      unlinkIfThere({ shm: names });
    }
  });

  test("capacity rounds up to a multiple of 8 and maxMessage defaults to capacity / 2 - 8", async () => {
    for (
      const [capacity, expected, max] of [[64, 64, 24], [100, 104, 44], [1000, 1000, 492], [
        1024,
        1024,
        504,
      ]]
    ) {
      await withChannel("geometry", { capacity }, (ch, name) => {
        assert.equal(ch.capacity, expected);
        assert.equal(ch.maxMessage, max);
        using other = Channel.open(name);
        assert.equal(other.capacity, expected);
        assert.equal(other.maxMessage, max);
      });
    }
    await withChannel("geometry-default", undefined, (ch) => {
      assert.equal(ch.capacity, 1 << 20);
      assert.equal(ch.maxMessage, (1 << 19) - 8);
    });
  });

  // Opens of objects that are not (version 1) channels, in a child: an open
  // that read past a short object would fault, and must not.
  const NOT_A_CHANNEL = `
import process from "node:process";
import { Channel, SharedMemory } from "$MOD";
const [prefix] = process.argv.slice(2);
const out: Record<string, string> = {};
const cases: [string, number, (w: Int32Array) => void][] = [
  ["zeros", 4096, () => {}],
  ["text", 4096, (w) => new Uint8Array(w.buffer, w.byteOffset, 16).set(new TextEncoder().encode("hello, world!!!!"))],
  ["8 bytes", 8, () => {}],
  ["magic only, 16 bytes", 16, (w) => { w[0] = 0x4b4d4853; w[1] = 0x4e414843; w[2] = 1; }],
  ["magic, 100 bytes", 100, (w) => { w[0] = 0x4b4d4853; w[1] = 0x4e414843; w[2] = 1; w[3] = 4096; w[4] = 64; w[5] = 24; w[6] = 768; }],
];
let k = 0;
for (const [label, size, fill] of cases) {
  const name = prefix + "-" + k++;
  const shm = SharedMemory.create(name, size);
  fill(shm.view(Int32Array, 0, Math.floor(size / 4)));
  try {
    Channel.open(name).close();
    out[label] = "opened";
  } catch (error) {
    out[label] = (error as Error).name + ": " + (error as Error).message;
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
}
console.log(JSON.stringify(out));
`;

  for (const runtime of RUNTIMES) {
    test(`${runtime}: open of a shared memory object that is no channel throws ChannelFormatError naming what it found`, async () => {
      const prefix = uniqueName("ch-format");
      try {
        const out = reported<Record<string, string>>(
          await runScript(runtime, NOT_A_CHANNEL, { args: [prefix] }),
          "opener",
        );
        assert.match(out.zeros, /^ChannelFormatError: .*0x00000000 0x00000000/);
        // "hell" "o, w" little-endian
        assert.match(out.text, /^ChannelFormatError: .*0x6c6c6568 0x77202c6f/);
        assert.match(out["8 bytes"], /^ChannelFormatError: /);
        assert.match(out["magic only, 16 bytes"], /^(ChannelFormatError|CorruptedError): /);
        assert.match(out["magic, 100 bytes"], /^(ChannelFormatError|CorruptedError): /);
      } finally {
        unlinkIfThere({ shm: [0, 1, 2, 3, 4].map((k) => `${prefix}-${k}`) });
      }
    });
  }

  test("open of a channel whose version word changed throws ChannelFormatError naming the version", async () => {
    await withChannel("version", { capacity: 256 }, (ch, name) => {
      using raw = SharedMemory.open(name);
      const words = raw.view(Int32Array, 0, 4);
      assert.equal(words[2], 1, "the version word is at byte 8");
      words[2] = 7;
      assert.throws(() => Channel.open(name), (error: Error) => {
        assert.ok(error instanceof ChannelFormatError, String(error));
        assert.equal(error.name, "ChannelFormatError");
        assert.match(error.message, /version 7/);
        return true;
      });
      words[2] = 1;
      Channel.open(name).close();
      assert.equal(ch.closed, false);
    });
  });

  // Each case: a channel of capacity 256 holding three messages, a sender
  // and a receiver open; then one header word (or the first record's) is
  // rewritten through a plain mapping, and open plus every non-blocking
  // call runs on a fresh handle and on the two open ones. Outcomes are
  // error names; what is returned must fit the ring.
  const HOSTILE = `
import process from "node:process";
import { Channel, SharedMemory } from "$MOD";
const [prefix] = process.argv.slice(2);
const cases: [string, number, number][] = [
  ["capacity 0", 16, 0], ["capacity 8", 16, 8], ["capacity 63", 16, 63], ["capacity 128", 16, 128],
  ["capacity 2^30", 16, 1 << 30], ["capacity -8", 16, -8], ["capacity 4096", 16, 4096],
  ["maxMessage -1", 20, -1], ["maxMessage 200", 20, 200], ["maxMessage 2^31-1", 20, 0x7fffffff],
  ["headerBytes 2048", 12, 2048], ["slots 0", 24, 0], ["ended 5", 28, 5],
  ["tail -1", 72, -1], ["tail 3", 72, 3], ["tail 600", 72, 600], ["tail 2^31-1", 72, 0x7fffffff],
  ["tail 400", 72, 400],
  ["head -1", 136, -1], ["head 4", 136, 4], ["head 600", 136, 600], ["head 2^31-1", 136, 0x7fffffff],
  ["head 200", 136, 200], ["claim 77", 140, 77], ["claim -1", 140, -1], ["claim 601", 140, 601],
  ["last sender -1", 76, -1], ["last receiver -1", 144, -1], ["receiver asleep -1", 192, -1],
  ["sender asleep 7", 256, 7],
  ["send mutex -1", 64, -1], ["recv mutex -1", 128, -1], ["recv mutex 1", 128, 1],
  ["slot 0 = -1", 1024, -1], ["slot 0 = 1", 1024, 1],
  ["record length 2^31-1", 4096, 0x7fffffff], ["record length -1", 4096, -1],
  ["record length 300", 4096, 300], ["record length 121", 4096, 121], ["record length 248", 4096, 248],
  ["record kind 99", 4100, 99], ["record kind 2", 4100, 2],
];
const results: Record<string, Record<string, string>> = {};
const outcome = async (run: () => unknown): Promise<string> => {
  try {
    const value = await run();
    if (typeof value === "string") return value;
    if (value === null || value === undefined || typeof value === "boolean") return String(value);
    if (value instanceof Uint8Array) return "bytes " + value.length;
    if (typeof value === "number") return "number " + value;
    if (typeof value === "object" && "length" in value) {
      const length = (value as { length: number }).length;
      (value as { release?: () => void }).release?.();
      return "bytes " + length;
    }
    return "value";
  } catch (error) {
    return (error as Error).name + ": " + (error as Error).message;
  }
};
let k = 0;
for (const [label, offset, value] of cases) {
  const name = prefix + "-" + k++;
  const out: Record<string, string> = {};
  const ch = Channel.create(name, { capacity: 256 });
  const tx = Channel.open(name);
  for (const n of [10, 20, 30]) tx.send(new Uint8Array(n).fill(n));
  const rx = Channel.open(name);
  const raw = SharedMemory.open(name);
  raw.view(Int32Array, offset, 1)[0] = value;
  let fresh: Channel | undefined;
  out.open = await outcome(() => {
    fresh = Channel.open(name);
    return "opened";
  });
  const handles: [string, Channel | undefined][] = [["fresh", fresh], ["rx", rx], ["tx", tx]];
  for (const [who, h] of handles) {
    if (h === undefined) continue;
    out[who + ".tryRecv"] = await outcome(() => h.tryRecv());
    // recvInto blocks: not while a live process (pid 1) holds the receive mutex.
    out[who + ".recvInto"] = await outcome(() =>
      label === "recv mutex 1" ? "skipped" : h.recvInto(new Uint8Array(4096))
    );
    out[who + ".tryBorrow"] = await outcome(() => h.tryBorrow());
    out[who + ".recvAsync"] = await outcome(() => h.recvAsync({ timeout: 20 }));
    out[who + ".trySend"] = await outcome(() => h.trySend(new Uint8Array(16)));
    out[who + ".sendAsync"] = await outcome(() => h.sendAsync(new Uint8Array(40), { timeout: 20 }));
    out[who + ".tryReserve"] = await outcome(() => {
      const view = h.tryReserve(8);
      if (view !== null) h.commit();
      return view;
    });
    out[who + ".tryRecv2"] = await outcome(() => h.tryRecv());
    out[who + ".close"] = await outcome(() => h.close());
  }
  out["ch.close"] = await outcome(() => ch.close());
  raw.close();
  SharedMemory.unlink(name);
  results[label] = out;
}
console.log(JSON.stringify(results));
`;

  for (const runtime of RUNTIMES) {
    test(`${runtime}: a hostile header or record is refused with CorruptedError / ChannelFormatError, never a crash or a read outside the ring`, async () => {
      const prefix = uniqueName("ch-hostile");
      try {
        const result = await runScript(runtime, HOSTILE, { args: [prefix], timeoutMs: 30_000 });
        const results = reported<Record<string, Record<string, string>>>(result, "hostile child");
        const allowed =
          /^(opened|skipped|null|true|false|undefined|bytes \d+|number \d+|(CorruptedError|ChannelFormatError|ChannelEndedError|TimeoutError): .*)$/;
        const bad: string[] = [];
        for (const [label, out] of Object.entries(results)) {
          for (const [call, seen] of Object.entries(out)) {
            const length = /^(bytes|number) (\d+)$/.exec(seen);
            if (!allowed.test(seen) || (length !== null && Number(length[2]) > 256)) {
              bad.push(`${label}: ${call} -> ${seen}`);
            }
          }
        }
        assert.deepEqual(bad, []);
        // Values no valid header holds are refused by open itself.
        for (
          const label of [
            "capacity 0",
            "capacity 63",
            "capacity 2^30",
            "capacity -8",
            "capacity 4096",
            "maxMessage -1",
            "maxMessage 200",
            "headerBytes 2048",
            "slots 0",
          ]
        ) {
          assert.match(results[label].open, /^(CorruptedError|ChannelFormatError): /, label);
        }
        // Positions that cannot be, and records that cannot be, are an
        // error for the next take through a fresh handle and an open one.
        for (
          const label of [
            "tail -1",
            "tail 3",
            "tail 600",
            "tail 2^31-1",
            "tail 400",
            "head -1",
            "head 4",
            "head 600",
            "head 2^31-1",
            "head 200",
            "record length 2^31-1",
            "record length -1",
            "record length 300",
            "record length 121",
            "record length 248",
            "record kind 99",
            "record kind 2",
          ]
        ) {
          assert.equal(results[label].open, "opened", label);
          assert.match(results[label]["fresh.tryRecv"], /^CorruptedError: /, label);
          assert.match(results[label]["rx.tryRecv"], /^CorruptedError: /, label);
        }
      } finally {
        unlinkIfThere({ shm: Array.from({ length: 50 }, (_, k) => `${prefix}-${k}`) });
      }
    });
  }
});

// ---------------------------------------------------------------------------
describe("Channel: close, unlink, mode", () => {
  test("close() is idempotent and disposes with using; every call after it throws ClosedError", async () => {
    await withChannel("close", { capacity: 256 }, async (_ch, name) => {
      let kept: Channel;
      {
        using ch = Channel.open(name);
        kept = ch;
        assert.equal(ch.closed, false);
      }
      assert.equal(kept.closed, true);
      kept.close();
      kept.close();
      assert.equal(kept.closed, true);
      const m = bytes("x");
      const calls: [string, () => unknown][] = [
        ["send", () => kept.send(m)],
        ["trySend", () => kept.trySend(m)],
        ["sendAsync", () => kept.sendAsync(m)],
        ["reserve", () => kept.reserve(8)],
        ["tryReserve", () => kept.tryReserve(8)],
        ["recv", () => kept.recv()],
        ["tryRecv", () => kept.tryRecv()],
        ["recvAsync", () => kept.recvAsync()],
        ["recvInto", () => kept.recvInto(new Uint8Array(16))],
        ["borrow", () => kept.borrow()],
        ["tryBorrow", () => kept.tryBorrow()],
        ["end", () => kept.end()],
      ];
      for (const [label, call] of calls) {
        const error = await failure(call);
        assert.ok(error instanceof ClosedError, `${label}: ${error}`);
      }
    });
  });

  test("close() rejects a sendAsync pending on a full channel with ClosedError at once, and it sent nothing", async () => {
    await withChannel("close-send", { capacity: 64 }, async (ch, name) => {
      const tx = Channel.open(name);
      let count = 0;
      while (tx.trySend(bytes(`f:${count}`))) count += 1;
      const pending = failure(() => tx.sendAsync(bytes("late"), { timeout: 30_000 }));
      await delay(30);
      const closed = performance.now();
      tx.close();
      const error = await pending;
      const took = performance.now() - closed;
      assert.ok(error instanceof ClosedError, String(error));
      assert.ok(took < 1000, `the call heard of the close after ${took} ms`);
      assert.deepEqual(await drain(ch), seq("f", count));
    });
  });

  test("a recvAsync pending on an empty channel rejects with ClosedError when the handle closes", async () => {
    await withChannel("close-recv", { capacity: 256 }, async (_ch, name) => {
      const ch = Channel.open(name);
      const pending = [
        failure(() => ch.recvAsync()),
        failure(() => ch.recvAsync({ timeout: 30_000 })),
      ];
      await delay(30);
      const closed = performance.now();
      ch.close();
      for (const error of await Promise.all(pending)) {
        assert.ok(error instanceof ClosedError, String(error));
      }
      const took = performance.now() - closed;
      assert.ok(took < 1000, `the calls heard of the close after ${took} ms`);
    });
  });

  test("unlink() and Channel.unlink(name) remove the /dev/shm entry; an open handle keeps working", () => {
    const a = uniqueName("ch-unlink");
    const b = uniqueName("ch-unlink");
    try {
      using ch = Channel.create(a, { capacity: 256 });
      assert.ok(existsSync(shmPath(a)));
      ch.unlink();
      assert.equal(existsSync(shmPath(a)), false);
      ch.send(bytes("still"));
      assert.equal(text(ch.tryRecv()!), "still");
      assert.throws(
        () => Channel.open(a),
        (e: unknown) => e instanceof ErrnoError && e.code === "ENOENT",
      );
      using other = Channel.create(b, { capacity: 256 });
      assert.ok(existsSync(shmPath(b)));
      Channel.unlink(b);
      assert.equal(existsSync(shmPath(b)), false);
      assert.equal(other.closed, false);
    } finally {
      unlinkIfThere({ shm: [a, b] });
    }
  });

  test("create with a name that exists throws ErrnoError EEXIST and leaves the object alone", () => {
    const name = uniqueName("ch-exists");
    try {
      using ch = Channel.create(name, { capacity: 256 });
      ch.send(bytes("first"));
      const isExists = (e: unknown) => e instanceof ErrnoError && e.code === "EEXIST";
      assert.throws(() => Channel.create(name, { capacity: 256 }), isExists);
      assert.throws(() => Channel.create(name, { capacity: 4096 }), isExists);
      assert.equal(ch.capacity, 256);
      using again = Channel.open(name);
      assert.equal(again.capacity, 256);
      assert.equal(text(again.tryRecv()!), "first");
      SharedMemory.unlink(name);
      using plain = SharedMemory.create(name, 4096);
      assert.throws(() => Channel.create(name), isExists);
      assert.deepEqual(Array.from(plain.view(Uint8Array, 0, 8)), [0, 0, 0, 0, 0, 0, 0, 0]);
    } finally {
      unlinkIfThere({ shm: [name] });
    }
  });

  test("create makes the object mode 0o600 by default, and exactly the mode given (umask aside)", () => {
    for (const mode of [undefined, 0o640, 0o666, 0o400]) {
      const name = uniqueName("ch-mode");
      try {
        using _ch = Channel.create(
          name,
          mode === undefined ? { capacity: 256 } : { capacity: 256, mode },
        );
        assert.equal(
          statSync(shmPath(name)).mode & 0o7777,
          mode ?? 0o600,
          `mode ${mode?.toString(8)}`,
        );
      } finally {
        unlinkIfThere({ shm: [name] });
      }
    }
  });
});
