/**
 * What a cold review of Channel found, each pinned by a test that failed
 * before the fix: call order across a call that timed out in line, a
 * cancelled `readable` or an aborted `writable` with a read or write in
 * flight, polling for the end after the last sender died, the non-blocking
 * calls while this thread holds a side through another handle, and
 * `openOrCreate` on an existing channel; then what an adversary found:
 * `openOrCreate` racing an unsized object, a cancel a few microtasks late,
 * `close()` in the same tick as an async call, and dropped handles.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { statSync, truncateSync, writeFileSync } from "node:fs";
import { Channel, SharedMemory } from "../mod.ts";
import { runScript, uniqueName } from "./_helpers.ts";
import { delay, unlinkIfThere } from "./_sync_helpers.ts";

async function withChannel(
  label: string,
  capacity: number,
  body: (ch: Channel, name: string) => Promise<void> | void,
): Promise<void> {
  const name = uniqueName(label);
  const ch = Channel.create(name, { capacity });
  try {
    await body(ch, name);
  } finally {
    ch.close();
    unlinkIfThere({ shm: [name] });
  }
}

test("Channel: sendAsync calls keep call order when one between them times out while in line", async () => {
  await withChannel("channel-order", 256, async (ch, name) => {
    using rx = Channel.open(name);
    let n = 0;
    while (ch.trySend(new Uint8Array([100 + n]))) n++; // full: 16 records of 16 bytes
    const a = ch.sendAsync(new Uint8Array(120).fill(65)); // waits for 128 bytes of room
    const b = ch.sendAsync(new Uint8Array([66]), { timeout: 50 });
    const c = ch.sendAsync(new Uint8Array([67]));
    await assert.rejects(b, { name: "TimeoutError" });
    rx.tryRecv(); // room for c, not yet for a
    await delay(150);
    const got: number[] = [];
    while (got.length < n + 1) {
      const message = rx.tryRecv();
      if (message === null) await delay(5);
      else got.push(message.length === 1 ? message[0] : -message.length);
    }
    await Promise.all([a, c]);
    assert.equal(rx.tryRecv(), null);
    assert.deepEqual(got.slice(-2), [-120, 67], `a before c: ${got.join(",")}`);
    assert.ok(!got.includes(66), "the timed-out message was not sent");
  });
});

test("Channel: cancelling readable with a read in flight takes no message", async () => {
  await withChannel("channel-cancel", 4096, async (ch, name) => {
    using tx = Channel.open(name);
    const reader = ch.readable.getReader();
    const pending = reader.read();
    await delay(20);
    await reader.cancel("done");
    assert.deepEqual(await pending, { done: true, value: undefined });
    tx.send(new Uint8Array([1]));
    tx.send(new Uint8Array([2]));
    await delay(300);
    assert.deepEqual([ch.tryRecv()?.[0], ch.tryRecv()?.[0]], [1, 2]);
  });
});

test("Channel: aborting writable with a write waiting for room ends that write, which sent nothing", async () => {
  await withChannel("channel-abort-w", 64, async (ch) => {
    let n = 0;
    while (ch.trySend(new Uint8Array(8))) n++;
    const writer = ch.writable.getWriter();
    const write = writer.write(new Uint8Array([1]));
    write.catch(() => {});
    await delay(20);
    const aborted = writer.abort(new Error("stop"));
    const settled = await Promise.race([
      aborted.then(() => "aborted"),
      delay(2000).then(() => "hung"),
    ]);
    assert.equal(settled, "aborted");
    await assert.rejects(write);
    let left = 0;
    while (ch.tryRecv() !== null) left++;
    assert.equal(left, n, "only the messages from before");
  });
});

test("Channel: a handle that polls (tryRecv, ended) sees the end when the last sender was killed", async () => {
  await withChannel("channel-poll-end", 4096, async (ch, name) => {
    const child = runScript(
      "deno",
      `import { Channel } from "$MOD";
       const tx = Channel.open(${JSON.stringify(name)});
       tx.send(new Uint8Array([9]));
       console.log("sent");
       Deno.kill(Deno.pid, "SIGKILL");`,
    );
    const result = await child;
    assert.equal(result.signal, "SIGKILL", result.stderr);
    const started = performance.now();
    let ended = false;
    const got: number[] = [];
    while (!ended && performance.now() - started < 3000) {
      const message = ch.tryRecv();
      if (message !== null) got.push(message[0]);
      ended = ch.ended;
      await delay(10);
    }
    assert.ok(ended, "ended within 3 s of polling");
    assert.deepEqual(got, [9]);
  });
});

test("Channel: trySend and tryReserve answer false/null while another handle of this thread holds the sending side", async () => {
  await withChannel("channel-try-deadlk", 4096, (a, name) => {
    using b = Channel.open(name);
    a.reserve(8);
    assert.equal(b.trySend(new Uint8Array([1])), false);
    assert.equal(b.tryReserve(4), null);
    a.commit(0);
    assert.equal(b.trySend(new Uint8Array([1])), true);
  });
});

test("Channel.openOrCreate on an existing channel keeps its size", async () => {
  await withChannel("channel-ooc-size", 4096, (made, name) => {
    using opened = Channel.openOrCreate(name); // default capacity is 1 MiB
    assert.equal(opened.created, false);
    assert.equal(opened.capacity, 4096);
    assert.equal(statSync(`/dev/shm${name}`).size, 4096 + 4096); // header + ring
    assert.equal(made.created, true);
  });
});

test("Channel.openOrCreate racing a creator that has not sized its object yet waits for it", async () => {
  const name = uniqueName("channel-ooc-unsized");
  const path = `/dev/shm${name}`;
  writeFileSync(path, "", { flag: "wx", mode: 0o600 }); // shm_open(O_EXCL) done, not sized
  try {
    const child = runScript(
      "deno",
      `import { Channel } from "$MOD";
       using ch = Channel.openOrCreate(${JSON.stringify(name)});
       console.log(JSON.stringify({ capacity: ch.capacity, created: ch.created }));`,
    );
    await delay(100);
    // The creator sizes it and writes the header (the documented format).
    truncateSync(path, 4096 + 4096);
    using shm = SharedMemory.open(name);
    const words = shm.view(Int32Array, 0, 8);
    words.set([0, 0x4e414843, 1, 4096, 4096, 2040, 768]);
    Atomics.store(words, 0, 0x4b4d4853);
    const result = await child;
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), { capacity: 4096, created: false });
  } finally {
    unlinkIfThere({ shm: [name] });
  }
});

test("Channel: a readable cancelled a few microtasks after read() puts the message back", async () => {
  for (let depth = 0; depth < 6; depth++) {
    await withChannel("channel-cancel-late", 4096, async (ch, name) => {
      using tx = Channel.open(name);
      tx.send(new Uint8Array([1]));
      const reader = ch.readable.getReader();
      const read = reader.read();
      for (let i = 0; i < depth; i++) await Promise.resolve();
      await reader.cancel();
      const got = await read;
      const left = ch.tryRecv();
      const delivered = got.done ? 0 : 1;
      assert.equal(delivered + (left === null ? 0 : 1), 1, `depth ${depth}: taken exactly once`);
    });
  }
});

test("Channel: close() in the same tick as a pending async call rejects it with ClosedError", async () => {
  await withChannel("channel-close-tick", 64, async (keeper, name) => {
    keeper.trySend(new Uint8Array(0));
    keeper.tryRecv(); // a sender: the stream stays open
    const calls: [string, (ch: Channel) => Promise<unknown>][] = [
      ["recvAsync", (ch) => ch.recvAsync({ timeout: 1000 })],
      ["borrowAsync", (ch) => ch.borrowAsync({ timeout: 1000 })],
      ["sendAsync", (ch) => {
        while (ch.trySend(new Uint8Array(1)));
        return ch.sendAsync(new Uint8Array(1), { timeout: 1000 });
      }],
    ];
    for (const [call, start] of calls) {
      const ch = Channel.open(name);
      const pending = start(ch);
      ch.close();
      await assert.rejects(pending, { name: "ClosedError" }, call);
    }
    while (keeper.tryRecv() !== null);
    assert.equal(keeper.trySend(new Uint8Array([5])), true, "the locks were given back");
    assert.equal(keeper.tryRecv()?.[0], 5);
  });
});

test("Channel: a sending handle dropped without close() gives its slot back when collected, and the stream ends", async () => {
  const name = uniqueName("channel-dropped");
  try {
    for (const runtime of ["deno", "bun"] as const) {
      const result = await runScript(
        runtime,
        `import { Channel } from "$MOD";
         const gc = () => "Bun" in globalThis ? (globalThis as any).Bun.gc(true) : (globalThis as any).gc();
         using ch = Channel.create(${JSON.stringify(name)}, { capacity: 4096 });
         (() => { Channel.open(${JSON.stringify(name)}).send(new Uint8Array([7])); })();
         const started = performance.now();
         while (!ch.ended && performance.now() - started < 5000) {
           gc();
           await new Promise((resolve) => setTimeout(resolve, 20));
         }
         console.log(JSON.stringify({ ended: ch.ended, first: ch.recv()?.[0], then: ch.recv() }));
         ch.unlink();`,
        { denoFlags: ["--allow-all", "--v8-flags=--expose-gc"] },
      );
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(JSON.parse(result.stdout), { ended: true, first: 7, then: null }, runtime);
    }
  } finally {
    unlinkIfThere({ shm: [name] });
  }
});
