/**
 * Promises the README makes that no other test checked: dropped objects keep
 * their names, nothing shrinks an object it did not create, a pending
 * lockAsync hears of its region's close, and a read-only MappedFile sees
 * another process's writes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, statSync, writeFileSync } from "node:fs";
import { ClosedError, Flag, MappedFile, Mutex, NamedSemaphore, SharedMemory } from "../mod.ts";
import {
  assertSucceeded,
  CURRENT,
  MOD_URL,
  runScript,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, unlinkIfThere, withRegion } from "./_sync_helpers.ts";

for (const runtime of RUNTIMES) {
  test(`${runtime}: a dropped, unclosed object's name survives garbage collection`, async () => {
    const shm = uniqueName("dropped-shm");
    const sem = uniqueName("dropped-sem");
    try {
      const child = await runScript(
        runtime,
        `
        import { NamedSemaphore, SharedMemory } from "$MOD";
        const gc = globalThis.Bun ? () => Bun.gc(true) : globalThis.gc;
        (() => {
          SharedMemory.create(${JSON.stringify(shm)}, 4096).view(Uint8Array)[0] = 7;
          NamedSemaphore.create(${JSON.stringify(sem)}, 3);
        })();
        for (let i = 0; i < 5; i++) {
          gc();
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        `,
        { denoFlags: ["--allow-all", "--v8-flags=--expose-gc"] },
      );
      assertSucceeded(child);
      assert.ok(existsSync(`/dev/shm${shm}`), "the shared memory name is still there");
      assert.ok(existsSync(`/dev/shm/sem.${sem.slice(1)}`), "the semaphore name is still there");
      using region = SharedMemory.open(shm);
      assert.equal(region.view(Uint8Array)[0], 7);
      using semaphore = NamedSemaphore.open(sem);
      assert.equal(semaphore.value, 3);
    } finally {
      unlinkIfThere({ shm: [shm], sem: [sem] });
    }
  });
}

test("openOrCreate() with a smaller size opens the object whole and never shrinks it", () => {
  const name = uniqueName("no-shrink");
  try {
    using big = SharedMemory.create(name, 1 << 20);
    using small = SharedMemory.openOrCreate(name, 4096);
    assert.equal(small.created, false);
    assert.equal(small.size, 1 << 20);
    using again = SharedMemory.create(name, 8192, { exclusive: false });
    assert.equal(again.size, 1 << 20);
    big.view(Uint8Array)[(1 << 20) - 1] = 9; // the last page is still there
    using reopened = SharedMemory.open(name);
    assert.equal(reopened.size, 1 << 20);
  } finally {
    SharedMemory.unlink(name);
  }
});

test("MappedFile.open() with a smaller size maps less and never shrinks the file, grow or not", () => {
  const path = scratchPath("no-shrink", ".bin");
  writeFileSync(path, new Uint8Array(65536).fill(1));
  {
    using part = MappedFile.open(path, { size: 4096 });
    assert.equal(part.size, 4096);
    using grown = MappedFile.open(path, { size: 8192, grow: true });
    assert.equal(grown.size, 8192);
    using created = MappedFile.open(path, { size: 100, create: true, exclusive: false });
    assert.equal(created.size, 100);
  }
  assert.equal(statSync(path).size, 65536);
});

test("a pending lockAsync() rejects with ClosedError when its region is closed", async () => {
  const name = uniqueName("lock-closed");
  const shm = SharedMemory.create(name, 4096);
  try {
    const mutex = Mutex.init(shm, 0);
    const held = Flag.init(shm, 8, 0);
    Flag.init(shm, 12, 0); // the holder waits on it to let go
    const holder = runScript(
      otherRuntime(CURRENT),
      `
      import { Flag, Mutex, SharedMemory } from "$MOD";
      using shm = SharedMemory.open(${JSON.stringify(name)});
      using _guard = Mutex.attach(shm, 0).lock();
      Flag.attach(shm, 8).set(1);
      Flag.attach(shm, 12).waitFor(1, 30_000);
      `,
    );
    await held.waitForAsync(1, { timeout: 30_000 });
    const pending = mutex.lockAsync({ timeout: 10_000 });
    await delay(50); // asleep off the thread
    // A second handle keeps the object mapped for the holder's release.
    using other = SharedMemory.open(name);
    const started = performance.now();
    shm.close();
    await assert.rejects(pending, ClosedError);
    const took = performance.now() - started;
    assert.ok(took < 1000, `the wait heard of the close after ${took} ms`);
    Flag.attach(other, 12).set(1);
    assertSucceeded(await holder, "holder");
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
});

for (const writer of RUNTIMES) {
  test(`a read-only MappedFile sees what a ${writer} process writes to the file`, async () => {
    const path = scratchPath("ro-sees", ".bin");
    writeFileSync(path, new Uint8Array(4096));
    using ro = MappedFile.open(path, { readOnly: true });
    const bytes = ro.view(Uint8Array);
    assert.equal(bytes[100], 0);
    const child = await runScript(
      writer,
      `
      import { MappedFile } from "$MOD";
      using f = MappedFile.open(${JSON.stringify(path)});
      f.view(Uint8Array).set([1, 2, 3], 100);
      `,
    );
    assertSucceeded(child);
    assert.deepEqual([...bytes.subarray(100, 103)], [1, 2, 3]);
  });
}

for (const runtime of RUNTIMES) {
  test(`${runtime}: async waits on the same word and value share one sleeper`, async () => {
    // One word per sleeper (the design without futex_waitv), so that each
    // sleeper is a thread the process can count: 10 waits on one semaphore
    // must add about one thread, while 10 waits on 10 semaphores add ten
    // (the control that shows the count can see a sleeper per wait).
    const child = await runScript(
      runtime,
      `
      import { readFileSync } from "node:fs";
      import { Semaphore, SharedMemory } from "$MOD";
      import { _forceMultiplexing } from "${new URL("./sync/_offthread.ts", MOD_URL).href}";
      _forceMultiplexing(false);
      const threads = () => Number(/Threads:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
      const settle = async () => {
        let last = -1;
        for (let i = 0; i < 40 && threads() !== last; i++) {
          last = threads();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return threads();
      };
      const name = "/shmkit-test-share-" + process.pid;
      using shm = SharedMemory.create(name, 4096);
      shm.unlink();
      const sems = Array.from({ length: 11 }, (_, i) => Semaphore.init(shm, i * 32, 0));
      const before = await settle();
      const same = Array.from({ length: 10 }, () => sems[0].waitAsync({ timeout: 20_000 }));
      const shared = (await settle()) - before;
      const apart = sems.slice(1).map((s) => s.waitAsync({ timeout: 20_000 }));
      const separate = (await settle()) - before - shared;
      for (let i = 0; i < 10; i++) sems[0].post();
      for (const s of sems.slice(1)) s.post();
      await Promise.all([...same, ...apart]);
      console.log(JSON.stringify({ shared, separate }));
      `,
      { denoFlags: ["--allow-all"], timeoutMs: 60_000 },
    );
    assertSucceeded(child);
    const { shared, separate } = JSON.parse(child.stdout);
    assert.ok(separate >= 8, `10 waits on 10 words added only ${separate} threads (control)`);
    // One sleeper is one thread under Deno; under Bun a Worker, which may
    // bring a helper thread or two of its own.
    assert.ok(shared <= 4 && shared * 2 < separate, `10 waits on one word added ${shared} threads`);
  });
}

// The loop behind every async wait, driven directly: once an abort (or a
// region's release) ends a wait, it must not poll again or start another
// sleep. It did: the loop resumed on the woken sleep before the rejection
// and polled once more, which could take a unit for an aborted wait or leave
// a fresh sleep in flight for a whole slice after the caller had the error.
test("waitLoop: an abort or a release ends the wait without another poll or sleep", async () => {
  const { waitLoop } = await import("../sync/_wait_loop.ts");
  await withRegion("wait-loop-stop", async (shm) => {
    const word = shm.unsafePointer(0);
    for (const how of ["abort", "release"] as const) {
      let polls = 0;
      let abandons = 0;
      let abandonedInHook = false;
      let release: ((error: Error) => void) | undefined;
      const controller = new AbortController();
      const ended = waitLoop({
        what: "the test word",
        owner: shm,
        sliceMs: 10_000,
        poll: () => {
          polls += 1;
          return { word, expected: 0 };
        },
        abandon: () => {
          abandons += 1;
        },
        watch: (end) => {
          release = end;
          return () => {};
        },
      }, { timeout: Infinity, signal: controller.signal }).then(
        () => "fulfilled",
        (error: Error) => error.name,
      );
      await delay(50); // asleep off the thread
      if (how === "abort") controller.abort();
      else {
        release!(new ClosedError("the test word"));
        abandonedInHook = abandons === 1; // while the memory is still there
      }
      assert.equal(await ended, how === "abort" ? "AbortError" : "ClosedError");
      assert.equal(polls, 1, `${how}: polled again after the wait was ended`);
      assert.equal(abandons, 1, how);
      if (how === "release") assert.ok(abandonedInHook, "abandon runs inside the release hook");
    }
  });
});
