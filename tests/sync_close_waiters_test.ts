/**
 * Closing a region while `Semaphore.waitAsync` calls are pending withdraws
 * them from the `sem_t`'s waiter count (the high half of glibc's `data`)
 * before the memory goes: a count left raised would make every later
 * `sem_post`, in any process, pay for a futex call. Each runtime runs the
 * waits in a child process, over every kind of region and its release path;
 * a second mapping of the same object, and then this process, read the
 * waiter words back.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Semaphore, SharedMemory } from "../mod.ts";
import { runScript, RUNTIMES, scratchPath, uniqueName } from "./_helpers.ts";
import { unlinkIfThere } from "./_sync_helpers.ts";

// For each kind of region: three waits on the semaphore at byte 0 and one
// on the one at byte 32, asleep off the thread; then the region is released
// and a second, independent mapping of the same object reads the waiter
// counts (32-bit word 1 of each sem_t) and posts. The POSIX object is left
// for the parent to read from another process.
const CHILD = `
import { writeFileSync, unlinkSync } from "node:fs";
import { IPC_PRIVATE, MappedFile, Semaphore, SharedMemory, SysVSharedMemory } from "$MOD";

const NAME = "__NAME__";
const PATH = "__PATH__";
const kinds = {
  "SharedMemory.close()": () => {
    const region = SharedMemory.create(NAME, 4096);
    return { region, other: SharedMemory.open(NAME), release: () => region.close(), cleanup() {} };
  },
  "SysVSharedMemory.detach()": () => {
    const region = SysVSharedMemory.create(IPC_PRIVATE, 4096);
    const other = SysVSharedMemory.attach(region.id);
    return { region, other, release: () => region.detach(), cleanup: () => other.remove() };
  },
  "MappedFile.close()": () => {
    writeFileSync(PATH, new Uint8Array(4096));
    const region = MappedFile.open(PATH);
    return { region, other: MappedFile.open(PATH), release: () => region.close(), cleanup: () => unlinkSync(PATH) };
  },
};
const results = {};
for (const [kind, make] of Object.entries(kinds)) {
  const { region, other, release, cleanup } = make();
  try {
    const first = Semaphore.init(region, 0, 0);
    const second = Semaphore.init(region, 32, 0);
    const waits = [
      first.waitAsync(),
      first.waitAsync({ timeout: 60_000 }),
      first.waitAsync({ signal: new AbortController().signal }),
      second.waitAsync(),
    ];
    await new Promise((resolve) => setTimeout(resolve, 100)); // asleep off the thread
    const words = other.view(Int32Array, 0, 16);
    const before = [words[1], words[9]];
    const started = performance.now();
    release();
    const settled = await Promise.allSettled(waits);
    const ms = Math.round(performance.now() - started);
    const after = [words[1], words[9]];
    const again = Semaphore.attach(other, 0);
    again.post();
    const value = again.value;
    const taken = again.tryWait();
    results[kind] = {
      before,
      after,
      outcomes: settled.map((s) => s.status === "rejected" ? s.reason.name : "fulfilled"),
      ms,
      value,
      taken,
      waitersAfterPost: words[1],
    };
  } finally {
    if (kind !== "SharedMemory.close()") other.close();
    cleanup();
  }
}
console.log(JSON.stringify(results));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: releasing a region withdraws its pending Semaphore.waitAsync() calls from the sem_t's waiter count`, async () => {
    const name = uniqueName("close-waiters");
    const path = scratchPath("close-waiters", ".bin");
    try {
      const child = await runScript(
        runtime,
        CHILD.replaceAll("__NAME__", name).replaceAll("__PATH__", path),
        { timeoutMs: 30_000 },
      );
      assert.equal(child.code, 0, `child failed (signal ${child.signal}):\n${child.stderr}`);
      const results = JSON.parse(child.stdout.trim().split("\n").at(-1)!);
      for (
        const kind of ["SharedMemory.close()", "SysVSharedMemory.detach()", "MappedFile.close()"]
      ) {
        const result = results[kind];
        assert.deepEqual(result.before, [3, 1], `${kind}: waiters registered before the release`);
        assert.deepEqual(result.after, [0, 0], `${kind}: waiter counts after the release`);
        assert.deepEqual(result.outcomes, Array(4).fill("ClosedError"), kind);
        assert.equal(result.value, 1, `${kind}: a post after the release counts`);
        assert.equal(result.taken, true, `${kind}: and can be taken`);
        assert.equal(result.waitersAfterPost, 0, kind);
        // Ended by the release itself, not noticed at the end of a 500 ms slice.
        assert.ok(result.ms < 400, `${kind}: the waits rejected ${result.ms} ms after the release`);
      }
      // Another process maps the object the child left: no waiter remains.
      using shm = SharedMemory.open(name);
      const words = shm.view(Int32Array, 0, 16);
      assert.deepEqual([words[1], words[9]], [0, 0]);
      const sem = Semaphore.attach(shm, 0);
      sem.post();
      assert.equal(sem.tryWait(), true);
    } finally {
      unlinkIfThere({ shm: [name] });
    }
  });
}

// resize() to fewer bytes than reach a semaphore ends its pending waits too:
// the words are still in the object, but no longer mapped here, so the wait
// must withdraw before the old mapping goes. A wait on a semaphore the new
// size still reaches goes on, and a post wakes it.
const SHRINK = `
import { Semaphore, SharedMemory } from "$MOD";
const NAME = "__NAME__";
const region = SharedMemory.create(NAME, 16384);
const other = SharedMemory.open(NAME);
try {
  const near = Semaphore.init(region, 0, 0);
  const far = Semaphore.init(region, 8192, 0);
  const cut = far.waitAsync({ timeout: 60_000 });
  const kept = near.waitAsync({ timeout: 60_000 });
  await new Promise((resolve) => setTimeout(resolve, 100)); // asleep off the thread
  const words = other.view(Int32Array, 0, 16384 / 4);
  const before = [words[1], words[8192 / 4 + 1]];
  region.resize(4096);
  const cutEnded = await cut.then(() => "fulfilled", (error) => error.name);
  const after = words[8192 / 4 + 1];
  Semaphore.attach(other, 0).post();
  await kept;
  console.log(JSON.stringify({ before, cutEnded, after, nearWaiters: words[1] }));
} finally {
  region.close();
  other.close();
  SharedMemory.unlink(NAME);
}
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: resize() below a semaphore withdraws its pending waits; waits the new size reaches go on`, async () => {
    const name = uniqueName("shrink-waiters");
    try {
      const child = await runScript(runtime, SHRINK.replaceAll("__NAME__", name), {
        timeoutMs: 30_000,
      });
      assert.equal(child.code, 0, `child failed (signal ${child.signal}):\n${child.stderr}`);
      const seen = JSON.parse(child.stdout.trim().split("\n").at(-1)!);
      assert.deepEqual(seen.before, [1, 1]);
      assert.equal(seen.cutEnded, "RangeError");
      assert.equal(seen.after, 0, "the cut-off wait must leave no waiter counted");
      assert.equal(seen.nearWaiters, 0);
    } finally {
      unlinkIfThere({ shm: [name] });
    }
  });
}
