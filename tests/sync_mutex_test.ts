/**
 * Mutex: exclusion across processes and Workers, robustness when the holder
 * is killed, error checking, and safety after the region is closed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import process from "node:process";
import { ClosedError, ErrnoError, Flag, Mutex, MutexGuard, SharedMemory } from "../mod.ts";
import { assertSucceeded, CURRENT, MOD_URL, runScript, RUNTIMES, scratchPath } from "./_helpers.ts";
import { delay, otherRuntime, withRegion } from "./_sync_helpers.ts";

// A child that takes the mutex at byte 0, raises the flag at byte 8, prints
// its pid and then holds the lock until it is killed.
const HOLDER = `
import process from "node:process";
import { Flag, Mutex, SharedMemory } from "$MOD";
const shm = SharedMemory.open(process.argv[2]);
const guard = Mutex.attach(shm, 0).lock();
shm.view(Int32Array, 16, 1)[0] = 1234; // half-done work
Flag.attach(shm, 8).set(process.pid);
setInterval(() => {}, 1000);
`;

/** Waits until the HOLDER child has raised the flag to its pid. */
async function holderPid(flag: Flag): Promise<number> {
  const deadline = Date.now() + 20_000;
  while (flag.value === 0) {
    if (Date.now() > deadline) throw new Error("the holder never took the lock");
    await delay(5);
  }
  return flag.value;
}

/**
 * How late a waiter may notice a dead holder: the README promises the 100 ms
 * liveness slice; 150 ms more allow for scheduling on a loaded 2-core
 * machine. A slice of 3 s (or no liveness check) fails the tests that use it.
 */
const NOTICE_BOUND_MS = 100 + 150;

/**
 * Kills the holder, waits until it is reaped, then locks with `lock`; returns
 * how long that took. `waiting` starts the lock before the kill instead, and
 * the time then runs from the reaping.
 */
async function killHolderThenLock(
  holder: "deno" | "bun",
  lock: (mutex: Mutex) => Promise<MutexGuard | null>,
  waiting = false,
): Promise<number> {
  return await withRegion("mutex-robust", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const flag = Flag.init(shm, 8, 0);
    const child = runScript(holder, HOLDER, { args: [name], timeoutMs: 30_000 });
    const pid = await holderPid(flag);
    assert.equal(mutex.tryLock(), null, "the child holds the lock");
    const early = waiting ? lock(mutex) : undefined;
    if (waiting) await delay(150); // asleep in its slice when the holder dies
    process.kill(pid, "SIGKILL");
    const result = await child;
    assert.equal(result.signal, "SIGKILL");
    const dead = performance.now();
    const guard = await (early ?? lock(mutex));
    const took = performance.now() - dead;
    assert.ok(guard !== null);
    assert.equal(guard.ownerDied, true);
    assert.equal(shm.view(Int32Array, 16, 1)[0], 1234, "the dead holder's writes are visible");
    guard.unlock();
    // Once handed over, the lock is normal again.
    const again = mutex.lock();
    assert.equal(again.ownerDied, false);
    again.unlock();
    return took;
  });
}

for (const holder of RUNTIMES) {
  test(`Mutex.lock() after kill -9 of a ${holder} holder gets the lock with ownerDied within a slice`, async () => {
    const took = await killHolderThenLock(holder, (mutex) => Promise.resolve(mutex.lock()));
    assert.ok(took < NOTICE_BOUND_MS, `lock() noticed the dead holder after ${took} ms`);
  });
  test(`Mutex.lockAsync() after kill -9 of a ${holder} holder resolves with ownerDied within a slice`, async () => {
    const took = await killHolderThenLock(holder, (m) => m.lockAsync({ timeout: 10_000 }));
    assert.ok(took < NOTICE_BOUND_MS, `lockAsync() noticed the dead holder after ${took} ms`);
  });
  test(`Mutex.lockAsync() already waiting when a ${holder} holder is killed notices within a slice`, async () => {
    const took = await killHolderThenLock(holder, (m) => m.lockAsync({ timeout: 10_000 }), true);
    assert.ok(took < NOTICE_BOUND_MS, `the waiter noticed the dead holder after ${took} ms`);
  });
}

test("Mutex.tryLock(0) takes a lock whose holder was killed at once, with ownerDied", async () => {
  const took = await killHolderThenLock(otherRuntime(CURRENT), async (mutex) => {
    // The holder is reaped. tryLock() trusts an "alive" answer for 10 ms
    // (the one it gave before the kill); after that its first try must see
    // that the holder is dead.
    await delay(20);
    return mutex.tryLock();
  });
  assert.ok(took < 20 + 30, `tryLock() took ${took - 20} ms`);
});

test("Mutex.tryLock(30) and lockAsync({ timeout: 0 }) also take a dead holder's lock", async () => {
  const retry = async (attempt: () => MutexGuard | null | Promise<MutexGuard | null>) => {
    for (let i = 0; i < 100; i++) {
      const guard = await attempt();
      if (guard !== null) return guard;
      await delay(10);
    }
    return null;
  };
  await killHolderThenLock(CURRENT, (mutex) => retry(() => mutex.tryLock(30)));
  await killHolderThenLock(
    CURRENT,
    (mutex) => retry(() => mutex.lockAsync({ timeout: 0 }).catch(() => null)),
  );
});

test("Mutex.lock() blocks a second process until unlock()", async () => {
  await withRegion("mutex-block", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const flag = Flag.init(shm, 8, 0);
    const guard = mutex.lock();
    const child = runScript(
      otherRuntime(CURRENT),
      `
      import process from "node:process";
      import { Flag, Mutex, SharedMemory } from "$MOD";
      const shm = SharedMemory.open(process.argv[2]);
      const flag = Flag.attach(shm, 8);
      flag.set(1);
      const started = performance.now();
      const guard = Mutex.attach(shm, 0).lock();
      console.log(JSON.stringify({ waited: performance.now() - started, value: flag.value }));
      guard.unlock();
      `,
      { args: [name] },
    );
    await flag.waitForAsync(1, { timeout: 20_000 });
    await delay(300);
    flag.set(2); // what the child must see once it gets the lock
    guard.unlock();
    const result = await child;
    assertSucceeded(result);
    const report = JSON.parse(result.stdout);
    assert.equal(report.value, 2);
    assert.ok(report.waited >= 250, `child waited only ${report.waited} ms`);
  });
});

test("Mutex: relocking from the holder throws EDEADLK instead of deadlocking", async () => {
  await withRegion("mutex-relock", async (shm) => {
    const mutex = Mutex.init(shm, 0);
    const guard = mutex.lock();
    const isDeadlock = (error: unknown) => error instanceof ErrnoError && error.code === "EDEADLK";
    assert.throws(() => mutex.lock(), isDeadlock);
    assert.throws(() => mutex.tryLock(), isDeadlock);
    assert.throws(() => mutex.tryLock(50), isDeadlock);
    // lockAsync() waits in this thread's line for the unlock instead.
    await assert.rejects(mutex.lockAsync({ timeout: 50 }), { name: "TimeoutError" });
    // Another Mutex object over the same bytes in this thread is the same lock.
    assert.throws(() => Mutex.attach(shm, 0).lock(), isDeadlock);
    assert.ok(guard.held);
    guard.unlock();
    assert.equal(guard.held, false);
  });
});

test("Mutex: unlocking a mutex this thread does not hold throws EPERM", async () => {
  await withRegion("mutex-eperm", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const isEperm = (error: unknown) => error instanceof ErrnoError && error.code === "EPERM";
    assert.throws(() => mutex.unlock(), isEperm);
    // Held by another process: still not ours to unlock.
    const flag = Flag.init(shm, 8, 0);
    const child = runScript(otherRuntime(CURRENT), HOLDER, { args: [name] });
    try {
      await holderPid(flag);
      assert.throws(() => mutex.unlock(), isEperm);
      assert.equal(mutex.tryLock(), null, "the failed unlock left the holder's lock alone");
    } finally {
      if (flag.value !== 0) process.kill(flag.value, "SIGKILL");
      await child;
    }
  });
});

test("MutexGuard: using releases at the end of the block; unlock() twice is harmless", async () => {
  await withRegion("mutex-guard", (shm) => {
    const mutex = Mutex.init(shm, 0);
    let kept: MutexGuard;
    {
      using guard = mutex.lock();
      kept = guard;
      assert.ok(guard.held);
      assert.equal(guard.ownerDied, false);
    }
    assert.equal(kept.held, false);
    kept.unlock();
    const second = mutex.lock();
    kept.unlock(); // an old guard must not release the new holder's lock
    assert.ok(second.held);
    mutex.unlock();
    assert.equal(second.held, false);
    assert.equal(shm.view(Int32Array, 0, 1)[0], 0);
  });
});

test("Mutex.tryLock(timeoutMs) and lockAsync({ timeout }) end no earlier than asked", async () => {
  await withRegion("mutex-timeout", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const flag = Flag.init(shm, 8, 0);
    const child = runScript(otherRuntime(CURRENT), HOLDER, { args: [name] });
    try {
      await holderPid(flag);
      for (const timeout of [0, 30, 150]) {
        let started = performance.now();
        assert.equal(mutex.tryLock(timeout), null);
        let took = performance.now() - started;
        assert.ok(took >= timeout, `tryLock(${timeout}) returned after ${took} ms`);
        assert.ok(took < timeout + 250, `tryLock(${timeout}) took ${took} ms`);
        started = performance.now();
        await assert.rejects(mutex.lockAsync({ timeout }), { name: "TimeoutError" });
        took = performance.now() - started;
        assert.ok(took >= timeout, `lockAsync(${timeout}) rejected after ${took} ms`);
        assert.ok(took < timeout + 250, `lockAsync(${timeout}) took ${took} ms`);
      }
    } finally {
      if (flag.value !== 0) process.kill(flag.value, "SIGKILL");
      await child;
    }
  });
});

test("Mutex.lockAsync() rejects with AbortError when aborted, and the lock stays usable", async () => {
  await withRegion("mutex-abort", async (shm) => {
    const mutex = Mutex.init(shm, 0);
    const holder = await startWorker();
    try {
      const name = (shm as SharedMemory).name;
      const locked = nextMessage(holder);
      holder.postMessage({ name, task: "hold" });
      assert.equal(await locked, "holding");
      const controller = new AbortController();
      const waiting = mutex.lockAsync({ signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      await assert.rejects(waiting, { name: "AbortError" });
      const released = nextMessage(holder);
      holder.postMessage({ task: "release" });
      assert.equal(await released, "released");
      using guard = await mutex.lockAsync({ timeout: 5_000 });
      assert.equal(guard.ownerDied, false);
    } finally {
      holder.terminate();
    }
  });
});

// A Worker script: "count" adds 1 to the int at byte 16 N times under the
// mutex at byte 0; "hold" takes the lock and keeps it until "release".
const WORKER_SOURCE = `// @ts-nocheck
import { Mutex, SharedMemory } from "${MOD_URL}";
let shm, mutex, guard;
self.onmessage = async (event) => {
  const { name, task, iterations } = event.data;
  if (name !== undefined) {
    shm = SharedMemory.open(name);
    mutex = Mutex.attach(shm, 0);
  }
  if (task === "count") {
    const counter = shm.view(Int32Array, 16, 1);
    let sink = 0;
    for (let i = 0; i < iterations; i++) {
      const g = i % 2 === 0 ? mutex.lock() : await mutex.lockAsync();
      const seen = counter[0];
      for (let k = 0; k < 100; k++) sink = (sink * 31 + k) | 0;
      counter[0] = seen + 1;
      g.unlock();
    }
    self.postMessage("counted " + (sink === 0.5));
  } else if (task === "hold") {
    guard = mutex.lock();
    self.postMessage("holding");
  } else if (task === "release") {
    guard.unlock();
    self.postMessage("released");
  }
};
// mod.ts awaits at load; messages sent before this point would be lost.
self.postMessage("ready");
`;

let workerPath: string | undefined;
function workerFile(): string {
  if (workerPath === undefined) {
    workerPath = scratchPath("mutex-worker", ".ts");
    writeFileSync(workerPath, WORKER_SOURCE);
  }
  return new URL(`file://${workerPath}`).href;
}

/** Starts a Worker on WORKER_SOURCE and waits until it listens. */
async function startWorker(): Promise<Worker> {
  const worker = new Worker(workerFile(), { type: "module" });
  const ready = await nextMessage(worker);
  assert.equal(ready, "ready");
  return worker;
}

function nextMessage(worker: Worker): Promise<unknown> {
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error(String((event as ErrorEvent).message)));
  });
}

test("Mutex: Workers of one process exclude each other", async () => {
  await withRegion("mutex-workers", async (shm, name) => {
    Mutex.init(shm, 0);
    const iterations = 3_000;
    const workers = await Promise.all([0, 1, 2].map(() => startWorker()));
    try {
      const done = workers.map((worker) => nextMessage(worker));
      for (const worker of workers) worker.postMessage({ name, task: "count", iterations });
      for (const message of await Promise.all(done)) assert.match(String(message), /^counted/);
      assert.equal(shm.view(Int32Array, 16, 1)[0], iterations * workers.length);
    } finally {
      for (const worker of workers) worker.terminate();
    }
  });
});

test("Mutex: a Worker and its parent thread exclude each other; unlock from the wrong thread throws", async () => {
  await withRegion("mutex-worker-main", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const worker = await startWorker();
    try {
      const holding = nextMessage(worker);
      worker.postMessage({ name, task: "hold" });
      assert.equal(await holding, "holding");
      assert.equal(mutex.tryLock(), null);
      assert.throws(() => mutex.unlock(), (error) => (error as ErrnoError).code === "EPERM");
      const released = nextMessage(worker);
      worker.postMessage({ task: "release" });
      assert.equal(await released, "released");
      const guard = mutex.tryLock();
      assert.ok(guard !== null);
      guard.unlock();
    } finally {
      worker.terminate();
    }
  });
});

test("Mutex: a Worker that ends while holding the lock hands it over with ownerDied", async () => {
  await withRegion("mutex-worker-dies", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const worker = await startWorker();
    const holding = nextMessage(worker);
    worker.postMessage({ name, task: "hold" });
    assert.equal(await holding, "holding");
    worker.terminate();
    using guard = await mutex.lockAsync({ timeout: 10_000 });
    assert.equal(guard.ownerDied, true);
  });
});

test("Mutex: use after the region is closed throws ClosedError, never crashes", async () => {
  const name = `/shmkit-test-mutex-closed-${process.pid}`;
  const shm = SharedMemory.create(name, 4096);
  try {
    const mutex = Mutex.init(shm, 0);
    const guard = mutex.lock();
    shm.close();
    // The close gave the lock up (see below): the guard has nothing to do.
    assert.equal(guard.held, false);
    guard.unlock();
    assert.throws(() => mutex.unlock(), ClosedError);
    assert.throws(() => mutex.lock(), ClosedError);
    assert.throws(() => mutex.tryLock(10), ClosedError);
    await assert.rejects(mutex.lockAsync(), ClosedError);
    assert.throws(() => Mutex.attach(shm, 0), ClosedError);
    // Other mutexes keep working (no per-thread list points at the old mapping).
    await withRegion("mutex-after-close", (other) => {
      const next = Mutex.init(other, 0);
      next.lock().unlock();
    });
  } finally {
    SharedMemory.unlink(name);
  }
});

test("Mutex keeps working across SharedMemory.resize(), even while held", async () => {
  await withRegion("mutex-resize", (shm) => {
    const mutex = Mutex.init(shm, 0);
    const guard = mutex.lock();
    shm.resize(1 << 16);
    assert.ok(guard.held);
    guard.unlock();
    mutex.lock().unlock();
  });
});

test("Mutex.init/attach refuse bad offsets before any system call", async () => {
  await withRegion("mutex-args", (shm) => {
    assert.throws(() => Mutex.init(shm, 4), RangeError);
    assert.throws(() => Mutex.init(shm, -8), RangeError);
    assert.throws(() => Mutex.init(shm, 4096), RangeError);
    assert.throws(() => Mutex.init(shm, 1.5), RangeError);
    assert.throws(() => Mutex.attach(shm, "0" as unknown as number), TypeError);
    assert.throws(() => Mutex.attach({} as SharedMemory, 0), TypeError);
    // Nothing was written: the refused init left every byte as it was.
    assert.ok(shm.view(Uint8Array).every((b) => b === 0), "a refused init wrote the region");
    assert.equal(Mutex.byteLength, 8);
    assert.equal(Mutex.alignment, 8);
  });
});

// Closing a region under a held lock: nothing in this thread can unlock it
// afterwards, and it used to stay held for as long as the thread lived
// (another process waited forever). Now it is given up as if the holder had
// died: the next locker, in this thread or another process, is told
// ownerDied.
for (const how of ["lock()", "lockAsync()"] as const) {
  test(`Mutex: closing the region under a lock taken by ${how} gives it up with ownerDied`, async () => {
    await withRegion("mutex-close-held", async (shm, name) => {
      const mutex = Mutex.init(shm, 0);
      const guard = how === "lock()" ? mutex.lock() : await mutex.lockAsync();
      shm.close();
      assert.equal(guard.held, false);
      guard.unlock(); // nothing to do, and no ClosedError
      using again = SharedMemory.open(name);
      const here = Mutex.attach(again, 0).tryLock();
      assert.ok(here !== null, "this thread takes the given-up lock over");
      assert.equal(here.ownerDied, true);
      // Given up again the same way, for another process to take over.
      again.close();
      const other = otherRuntime(CURRENT);
      const child = await runScript(
        other,
        `import { Mutex, SharedMemory } from "$MOD";
using shm = SharedMemory.open(${JSON.stringify(name)});
const guard = Mutex.attach(shm, 0).tryLock(5000);
console.log(JSON.stringify({ got: guard !== null, ownerDied: guard?.ownerDied }));
guard?.unlock();
`,
      );
      assertSucceeded(child, `${other} locker`);
      assert.deepEqual(JSON.parse(child.stdout.trim().split("\n").at(-1)!), {
        got: true,
        ownerDied: true,
      });
    });
  });
}
