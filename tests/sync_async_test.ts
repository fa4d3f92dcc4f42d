/**
 * The async design: waits leave the event loop free, idle waiters cost
 * almost no CPU, many waits can be pending at once, a pending wait keeps its
 * process alive, signals do not cut blocking waits short, and Bun's
 * fallback for kernels without futex_waitv works.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Flag, Mutex, NamedSemaphore, Semaphore } from "../mod.ts";
import { writeFileSync } from "node:fs";
import {
  assertSucceeded,
  CURRENT,
  DENO,
  MOD_URL,
  runCommand,
  runScript,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, withRegion } from "./_sync_helpers.ts";

const HOLDER = `
import process from "node:process";
import { Flag, Mutex, SharedMemory } from "$MOD";
const shm = SharedMemory.open(process.argv[2]);
Mutex.attach(shm, 0).lock();
Flag.attach(shm, 8).set(1);
await Flag.attach(shm, 12).waitForAsync(1);
`;

test("setInterval keeps firing while waitAsync, lockAsync and waitForAsync are pending", async () => {
  await withRegion("async-interval", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const held = Flag.init(shm, 8, 0);
    const release = Flag.init(shm, 12, 0);
    const semaphore = Semaphore.init(shm, 64, 0);
    const flag = Flag.init(shm, 16, 0);
    const semaphoreName = uniqueName("async-interval");
    const named = NamedSemaphore.create(semaphoreName, 0);
    const holder = runScript(otherRuntime(CURRENT), HOLDER, { args: [name] });
    try {
      await held.waitForAsync(1, { timeout: 20_000 });
      const pending = [
        semaphore.waitAsync({ timeout: 10_000 }),
        named.waitAsync({ timeout: 10_000 }),
        mutex.lockAsync({ timeout: 10_000 }),
        flag.waitForAsync(1, { timeout: 10_000 }),
      ];
      let ticks = 0;
      const interval = setInterval(() => ticks++, 10);
      await delay(400);
      clearInterval(interval);
      assert.ok(ticks >= 20, `setInterval(10 ms) fired only ${ticks} times in 400 ms`);
      semaphore.post();
      named.post();
      flag.set(1);
      release.set(1);
      const [, , guard] = await Promise.all(pending);
      (guard as { unlock(): void }).unlock();
      assertSucceeded(await holder, "holder");
    } finally {
      release.set(1);
      named.close();
      NamedSemaphore.unlink(semaphoreName);
    }
  });
});

test("10 idle async waiters cost under 5% of one core over 2 s", async () => {
  await withRegion("async-cpu", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    Semaphore.init(shm, 64, 0);
    Flag.init(shm, 16, 0);
    const semaphoreName = uniqueName("async-cpu");
    const named = NamedSemaphore.create(semaphoreName, 0);
    // This process holds the mutex, so the child's lockAsync waits too.
    const guard = mutex.lock();
    try {
      const result = await runScript(
        CURRENT,
        `
        import process from "node:process";
        import { Flag, Mutex, NamedSemaphore, Semaphore, SharedMemory } from "$MOD";
        const shm = SharedMemory.open(process.argv[2]);
        const named = NamedSemaphore.open(process.argv[3]);
        const semaphore = Semaphore.attach(shm, 64);
        const flag = Flag.attach(shm, 16);
        const mutex = Mutex.attach(shm, 0);
        const stop = new AbortController();
        const signal = stop.signal;
        const waits = [
          ...[1, 2, 3, 4].map(() => semaphore.waitAsync({ signal })),
          ...[1, 2].map(() => named.waitAsync({ signal })),
          ...[1, 2].map(() => flag.waitForAsync(1, { signal })),
          ...[1, 2].map(() => mutex.lockAsync({ signal })),
        ].map((wait) => wait.catch((error) => error.name));
        await new Promise((resolve) => setTimeout(resolve, 300));
        const before = process.cpuUsage();
        const started = performance.now();
        await new Promise((resolve) => setTimeout(resolve, 2000));
        const used = process.cpuUsage(before);
        const elapsed = performance.now() - started;
        stop.abort();
        const outcomes = await Promise.all(waits);
        console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000, elapsed, outcomes }));
        named.close();
        shm.close();
        `,
        { args: [name, semaphoreName] },
      );
      assertSucceeded(result, "waiters");
      const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
      assert.deepEqual(report.outcomes, Array(10).fill("AbortError"));
      const share = report.cpuMs / report.elapsed;
      assert.ok(
        share < 0.05,
        `10 idle waiters used ${report.cpuMs.toFixed(1)} ms of CPU in ${
          report.elapsed.toFixed(0)
        } ms (${(share * 100).toFixed(2)}% of a core)`,
      );
    } finally {
      guard.unlock();
      named.close();
      NamedSemaphore.unlink(semaphoreName);
    }
  });
});

test("300 async waits on different words can be pending at once, and all complete", async () => {
  const count = 300;
  await withRegion("async-many", async (shm) => {
    const semaphores = Array.from({ length: count }, (_, i) => Semaphore.init(shm, i * 32, 0));
    const waits = semaphores.map((semaphore) => semaphore.waitAsync({ timeout: 20_000 }));
    await delay(50);
    for (const semaphore of semaphores) semaphore.post();
    await Promise.all(waits);
    for (const semaphore of semaphores) assert.equal(semaphore.value, 0);
  }, count * 32);
});

test("a pending async wait keeps its process alive until it ends", async () => {
  for (const runtime of ["deno", "bun"] as const) {
    const result = await runScript(
      runtime,
      `
      import { Semaphore, SharedMemory } from "$MOD";
      const shm = SharedMemory.create("/shmkit-test-alive-" + process.pid, 4096);
      shm.unlink();
      const semaphore = Semaphore.init(shm, 0, 0);
      semaphore.waitAsync({ timeout: 300 }).catch((error) => console.log(error.name));
      `.replace("import {", 'import process from "node:process";\nimport {'),
    );
    assertSucceeded(result, runtime);
    assert.equal(result.stdout.trim(), "TimeoutError", `${runtime}: the process ended early`);
  }
});

test("signals do not cut blocking waits short (EINTR is retried, the timeout kept)", async () => {
  await withRegion("async-eintr", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    Semaphore.init(shm, 64, 0);
    Flag.init(shm, 16, 0);
    const go = Flag.init(shm, 20, 0);
    const guard = mutex.lock();
    try {
      const child = runScript(
        CURRENT,
        `
        import process from "node:process";
        import { Flag, Mutex, Semaphore, SharedMemory } from "$MOD";
        const shm = SharedMemory.open(process.argv[2]);
        let signals = 0;
        process.on("SIGUSR1", () => signals++);
        Flag.attach(shm, 20).set(process.pid);
        const took = [];
        let started = performance.now();
        took.push([Semaphore.attach(shm, 64).tryWait(400), performance.now() - started]);
        started = performance.now();
        took.push([Mutex.attach(shm, 0).tryLock(400), performance.now() - started]);
        started = performance.now();
        took.push([Flag.attach(shm, 16).waitFor(1, 400), performance.now() - started]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        console.log(JSON.stringify({ took, signals }));
        process.exit(0);
        `,
        { args: [name] },
      );
      while (go.value === 0) await delay(5);
      const pid = go.value;
      const sender = setInterval(() => {
        try {
          process.kill(pid, "SIGUSR1");
        } catch {
          // the child has ended
        }
      }, 25);
      const result = await child;
      clearInterval(sender);
      assertSucceeded(result, "waiter");
      const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
      assert.ok(report.signals > 0, "the child received no SIGUSR1");
      for (const [outcome, took] of report.took) {
        assert.ok(outcome === false || outcome === null, `a wait succeeded: ${outcome}`);
        assert.ok(took >= 400, `a 400 ms wait ended after ${took} ms`);
      }
    } finally {
      guard.unlock();
    }
  });
});

test("an aborted wait leaves no call in flight: Deno.test's op sanitizer passes", async () => {
  const file = scratchPath("sanitizer-test", ".ts");
  writeFileSync(
    file,
    `
    import { Flag, Mutex, Semaphore, SharedMemory } from "${MOD_URL}";
    Deno.test("abort, then end the test at once", async () => {
      const shm = SharedMemory.create("/shmkit-test-sanitizer-" + Deno.pid, 4096);
      shm.unlink();
      const semaphore = Semaphore.init(shm, 0, 0);
      const flag = Flag.init(shm, 8, 0);
      const mutex = Mutex.init(shm, 16);
      shm.view(Int32Array, 16, 1)[0] = Deno.ppid; // held by a live process
      const waits = [
        (signal) => semaphore.waitAsync({ signal }),
        (signal) => flag.waitForAsync(1, { signal }),
        (signal) => mutex.lockAsync({ signal }),
      ];
      for (let i = 0; i < 15; i++) {
        const controller = new AbortController();
        const pending = waits[i % 3](controller.signal);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const started = performance.now();
        controller.abort();
        await pending.then(() => { throw new Error("resolved"); }, (error) => {
          if (error.name !== "AbortError") throw error;
        });
        if (performance.now() - started > 100) throw new Error("abort was slow");
      }
      shm.close();
    });
    `,
  );
  const result = await runCommand(DENO, ["test", "--allow-all", "--no-check", file]);
  assertSucceeded(result, "deno test");
});

test("Bun without futex_waitv: a worker per pending wait serves every primitive", async () => {
  const offthread = new URL("../sync/_offthread.ts", import.meta.url).href;
  const result = await runScript(
    "bun",
    `
    import { _forceMultiplexing } from "${offthread}";
    _forceMultiplexing(false);
    const { Flag, Mutex, Semaphore, SharedMemory } = await import("${MOD_URL}");
    const shm = SharedMemory.create("/shmkit-test-solo-" + process.pid, 4096);
    shm.unlink();
    const semaphores = [0, 1, 2, 3, 4].map((i) => Semaphore.init(shm, 64 + i * 32, 0));
    const waits = semaphores.map((s) => s.waitAsync({ timeout: 10000 }));
    setTimeout(() => semaphores.forEach((s) => s.post()), 30);
    await Promise.all(waits);
    const controller = new AbortController();
    const aborted = semaphores[0].waitAsync({ signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const outcome = await aborted.then(() => "got", (e) => e.name);
    semaphores[0].post();
    const timeout = await semaphores[1].waitAsync({ timeout: 30 }).then(() => "got", (e) => e.name);
    const flag = Flag.init(shm, 0, 0);
    setTimeout(() => flag.set(1), 20);
    await flag.waitForAsync(1, { timeout: 10000 });
    const mutex = Mutex.init(shm, 8);
    (await mutex.lockAsync()).unlock();
    console.log(outcome, semaphores[0].value, timeout);
    shm.close();
    `.replace("import {", 'import process from "node:process";\nimport {'),
  );
  assertSucceeded(result, "bun child");
  assert.equal(result.stdout.trim(), "AbortError 1 TimeoutError");
});

test("Bun: a waiter worker that fails rejects the pending waits instead of crashing the process", async () => {
  // The child swaps in workers that fail: the first cannot start, the second
  // dies while a wait is pending, the third is the real one.
  const result = await runScript(
    "bun",
    `
    import process from "node:process";
    const Real = globalThis.Worker;
    const broken = [
      "data:text/javascript,throw new Error('cannot start')",
      "data:text/javascript,postMessage('ready');" +
        "onmessage=()=>setTimeout(()=>{throw new Error('died later')},50)",
    ];
    globalThis.Worker = class extends Real {
      constructor(url, options) {
        super(broken.shift() ?? url, options);
      }
    };
    const { Flag, Mutex, Semaphore, SharedMemory } = await import("$MOD");
    process.on("uncaughtException", (error) => {
      console.log("uncaught: " + error.message);
      process.exit(3);
    });
    const shm = SharedMemory.create("/shmkit-test-broken-worker-" + process.pid, 4096);
    shm.unlink();
    const semaphore = Semaphore.init(shm, 0, 0);
    const outcome = (promise, started = performance.now()) =>
      promise.then(
        () => "resolved",
        (error) => error.name + (performance.now() - started < 2000 ? " promptly" : " late") +
          (/worker/.test(error.message) ? " (worker)" : ""),
      );
    const lines = [];
    lines.push(await outcome(semaphore.waitAsync({ timeout: 5000 })));
    lines.push(await outcome(Flag.init(shm, 32, 0).waitForAsync(1, { timeout: 5000 })));
    setTimeout(() => semaphore.post(), 50);
    lines.push(await outcome(semaphore.waitAsync({ timeout: 5000 })));
    const mutex = Mutex.init(shm, 40);
    (await mutex.lockAsync()).unlock();
    console.log(lines.join(", "));
    shm.close();
    `,
  );
  assertSucceeded(result, "bun child");
  assert.equal(
    result.stdout.trim(),
    "Error promptly (worker), Error promptly (worker), resolved",
  );
});
