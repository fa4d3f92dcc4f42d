/**
 * Flag: the written_by_you handshake between processes of both runtimes and
 * C, with wake-ups from set() and the bounded delay for plain C stores.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { ClosedError, Flag, SharedMemory } from "../mod.ts";
import { monotonicMs } from "../sync/_time.ts";
import {
  assertSucceeded,
  compileC,
  CURRENT,
  runCommand,
  runScript,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, withRegion } from "./_sync_helpers.ts";

const ROUNDS = 200;

// Plays one side of a ping-pong on the flag at byte 0: waits for `mine`,
// then sets `theirs`, ROUNDS times.
const PLAYER = `
import process from "node:process";
import { Flag, SharedMemory } from "$MOD";
const [name, mine, theirs, mode] = process.argv.slice(2);
const shm = SharedMemory.open(name);
const flag = Flag.attach(shm, 0);
for (let i = 0; i < ${ROUNDS}; i++) {
  if (mode === "async") await flag.waitForAsync(Number(mine), { timeout: 20000 });
  else if (!flag.waitFor(Number(mine), 20000)) throw new Error("timed out");
  shm.view(Int32Array, 4, 1)[0] += 1;
  flag.set(Number(theirs));
}
shm.close();
`;

test("Flag: a Deno and a Bun process play 200 rounds of ping-pong through set()/waitFor()", async () => {
  await withRegion("flag-pingpong", async (shm, name) => {
    Flag.init(shm, 0, 1);
    const started = performance.now();
    const [a, b] = await Promise.all([
      runScript("deno", PLAYER, { args: [name, "1", "2", "sync"] }),
      runScript("bun", PLAYER, { args: [name, "2", "1", "async"] }),
    ]);
    assertSucceeded(a, "deno player");
    assertSucceeded(b, "bun player");
    assert.equal(shm.view(Int32Array, 4, 1)[0], 2 * ROUNDS);
    // Woken by set(), not by the periodic look: far below 400 x noticeMs.
    assert.ok(performance.now() - started < 2 * ROUNDS * Flag.noticeMs);
  });
});

const C_WRITER = `
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* shm2.c's writer, polling like the docs: wait until written_by_you is 0,
 * write a text, record when, and set written_by_you = 1 with a plain store
 * (no futex wake). usage: prog NAME COUNT */
struct shared_use_st { int written_by_you; int pad; int64_t stored_ns; char some_text[64]; };

int main(int argc, char **argv) {
  int fd = shm_open(argv[1], O_RDWR, 0);
  if (fd < 0) { perror("shm_open"); return 2; }
  struct shared_use_st *shared =
      mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shared == MAP_FAILED) { perror("mmap"); return 2; }
  volatile int *flag = &shared->written_by_you;
  int count = atoi(argv[2]);
  for (int i = 0; i < count; i++) {
    while (*flag != 0) usleep(1000);
    usleep(30 * 1000);
    snprintf(shared->some_text, sizeof shared->some_text, "message %d", i);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    shared->stored_ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
    __sync_synchronize();
    *flag = 1;
  }
  return 0;
}
`;

let writer: Promise<string> | undefined;
const cWriter = () => (writer ??= compileC(C_WRITER, "flag-writer"));

function readText(shm: SharedMemory): string {
  const bytes = shm.view(Uint8Array, 16, 64);
  return new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0)));
}

for (const mode of ["waitForAsync", "waitFor"] as const) {
  test(`Flag.${mode}() notices a C writer that only stores the int, within noticeMs`, async () => {
    const exe = await cWriter();
    await withRegion("flag-c", async (shm, name) => {
      const flag = Flag.init(shm, 0, 0);
      const count = 5;
      const c = runCommand(exe, [name, String(count)]);
      const delays: number[] = [];
      for (let i = 0; i < count; i++) {
        if (mode === "waitForAsync") await flag.waitForAsync(1, { timeout: 10_000 });
        else assert.ok(flag.waitFor(1, 10_000));
        const storedMs = Number(shm.view(BigInt64Array, 8, 1)[0]) / 1e6;
        delays.push(monotonicMs() - storedMs);
        assert.equal(readText(shm), `message ${i}`);
        flag.set(0);
      }
      assertSucceeded(await c, "C writer");
      const worst = Math.max(...delays);
      assert.ok(
        worst <= Flag.noticeMs + 100,
        `a plain store was noticed after ${worst.toFixed(1)} ms (noticeMs ${Flag.noticeMs})`,
      );
    });
  });
}

test("Flag.waitFor(v, ms) and waitForAsync(v, { timeout }) end no earlier than asked", async () => {
  await withRegion("flag-timeout", async (shm) => {
    const flag = Flag.init(shm, 0, 0);
    assert.equal(flag.waitFor(0, 0), true);
    for (const timeout of [0, 15, 90]) {
      let started = performance.now();
      assert.equal(flag.waitFor(1, timeout), false);
      let took = performance.now() - started;
      assert.ok(took >= timeout, `waitFor(1, ${timeout}) returned after ${took} ms`);
      assert.ok(took < timeout + 250, `waitFor(1, ${timeout}) took ${took} ms`);
      started = performance.now();
      await assert.rejects(flag.waitForAsync(1, { timeout }), { name: "TimeoutError" });
      took = performance.now() - started;
      assert.ok(took >= timeout, `waitForAsync(1, ${timeout}) rejected after ${took} ms`);
      assert.ok(took < timeout + 250, `waitForAsync(1, ${timeout}) took ${took} ms`);
    }
  });
});

test("Flag.waitForAsync() rejects with AbortError when aborted; set() still reaches other waiters", async () => {
  await withRegion("flag-abort", async (shm) => {
    const flag = Flag.init(shm, 0, 0);
    const controller = new AbortController();
    const aborted = flag.waitForAsync(3, { signal: controller.signal });
    const other = flag.waitForAsync(3, { timeout: 5_000 });
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(aborted, { name: "AbortError" });
    flag.set(3);
    await other;
    await assert.rejects(flag.waitForAsync(3, { signal: AbortSignal.abort() }), {
      name: "AbortError",
    });
  });
});

test("Flag.init stores its value; attach reads whatever is there; set() refuses non-int32", async () => {
  await withRegion("flag-values", (shm) => {
    const flag = Flag.init(shm, 8, -5);
    assert.equal(flag.value, -5);
    assert.equal(shm.view(Int32Array, 8, 1)[0], -5);
    shm.view(Int32Array, 12, 1)[0] = 0x7fffffff;
    assert.equal(Flag.attach(shm, 12).value, 0x7fffffff);
    flag.set(-0x80000000);
    assert.equal(flag.value, -0x80000000);
    assert.throws(() => flag.set(2 ** 31), RangeError);
    assert.throws(() => flag.set(1.5), RangeError);
    assert.throws(() => flag.set("1" as unknown as number), TypeError);
    assert.throws(() => flag.waitFor(2 ** 40, 0), RangeError);
    assert.throws(() => Flag.init(shm, 2), RangeError);
    assert.throws(() => Flag.attach(shm, 4096), RangeError);
    assert.equal(Flag.byteLength, 4);
    assert.equal(Flag.alignment, 4);
  });
});

test("Flag: after the region closes, use throws ClosedError and a pending wait rejects", async () => {
  const name = uniqueName("flag-closed");
  const shm = SharedMemory.create(name, 4096);
  try {
    const flag = Flag.init(shm, 0, 0);
    const pending = flag.waitForAsync(1);
    await delay(5);
    shm.close();
    await assert.rejects(pending, ClosedError);
    assert.throws(() => flag.value, ClosedError);
    assert.throws(() => flag.set(1), ClosedError);
    assert.throws(() => flag.waitFor(1, 10), ClosedError);
  } finally {
    SharedMemory.unlink(name);
  }
});

test("Flag keeps working when its region is resized", async () => {
  await withRegion("flag-resize", async (shm) => {
    const flag = Flag.init(shm, 0, 0);
    const pending = flag.waitForAsync(1, { timeout: 5_000 });
    shm.resize(1 << 16);
    flag.set(1);
    await pending;
    assert.equal(flag.value, 1);
  });
});

test("Flag: a process of the other runtime sets the flag this one waits for", async () => {
  await withRegion("flag-cross", async (shm, name) => {
    const flag = Flag.init(shm, 0, 0);
    const child = runScript(
      otherRuntime(CURRENT),
      `
      import process from "node:process";
      import { Flag, SharedMemory } from "$MOD";
      using shm = SharedMemory.open(process.argv[2]);
      Flag.attach(shm, 0).set(42);
      `,
      { args: [name] },
    );
    await flag.waitForAsync(42, { timeout: 20_000 });
    assertSucceeded(await child);
  });
});
