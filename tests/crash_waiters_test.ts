/**
 * Many pending async waits at once: they stay armed (each is woken within a
 * few ms of its post, however many are pending), they cost a few threads,
 * and they leave the process's other I/O (file reads) alone. The waits run
 * in child processes of both runtimes, so a runaway wait cannot take the
 * runner down.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import {
  assertSucceeded,
  DENO,
  MOD_URL,
  runCommand,
  runScript,
  RUNTIMES,
  scratchPath,
} from "./_helpers.ts";

/** The Threads: line of /proc/self/status, a median, and a sleep. */
const CHILD_HELPERS = `
import process from "node:process";
import { readFileSync } from "node:fs";
const threads = () =>
  Number(/Threads:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1]);
const median = (values) => [...values].sort((a, b) => a - b)[values.length >> 1];
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
`;

const THOUSAND_WAITS = `
${CHILD_HELPERS}
import { readFile } from "node:fs/promises";
import { Semaphore, SharedMemory } from "$MOD";
const count = 1000;
const file = process.argv[2];
const timeRead = async () => {
  const started = performance.now();
  await readFile(file);
  return performance.now() - started;
};
// Warm up the runtime's I/O threads before counting them.
for (let i = 0; i < 3; i++) await timeRead();
const baseline = threads();
const shm = SharedMemory.create("/shmkit-test-thousand-" + process.pid, count * 32);
shm.unlink();
const semaphores = Array.from({ length: count }, (_, i) => Semaphore.init(shm, i * 32, 0));
const resolvedAt = new Array(count).fill(0);
const waits = semaphores.map((semaphore, i) =>
  semaphore.waitAsync({ timeout: 60_000 }).then(() => (resolvedAt[i] = performance.now()))
);
await sleep(300);
const reads = [];
for (let i = 0; i < 7; i++) reads.push(await timeRead());
const pendingThreads = threads();
// Twenty distinct waits, spread over all 1,000 (a fixed stride: reproducible).
const picked = Array.from({ length: 20 }, (_, i) => (i * 337 + 11) % count);
const wakeMs = [];
for (const i of picked) {
  const started = performance.now();
  semaphores[i].post();
  await waits[i];
  wakeMs.push(resolvedAt[i] - started);
}
const early = resolvedAt.filter((at, i) => at !== 0 && !picked.includes(i)).length;
semaphores.forEach((semaphore, i) => picked.includes(i) || semaphore.post());
const started = performance.now();
await Promise.all(waits);
const allMs = performance.now() - started;
const left = semaphores.reduce((sum, semaphore) => sum + semaphore.value, 0);
shm.close();
console.log(JSON.stringify({
  baseline, pendingThreads, readMs: median(reads), reads, wakeMs, early, allMs, left,
}));
`;

for (const runtime of RUNTIMES) {
  test(`${runtime}: 1,000 pending waitAsync calls keep file reads prompt, add few threads, and each wakes promptly on its post`, async () => {
    const file = scratchPath("small", ".txt");
    writeFileSync(file, "a small file\n");
    const result = await runScript(runtime, THOUSAND_WAITS, {
      args: [file],
      timeoutMs: 120_000,
      denoFlags: ["--allow-all"], // /proc/self/status
    });
    assertSucceeded(result, `${runtime} child`);
    const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
    console.log(
      `${runtime}: readFile median ${report.readMs.toFixed(2)} ms with 1,000 waits pending; ` +
        `threads ${report.baseline} -> ${report.pendingThreads}; wake-ups ` +
        `${Math.min(...report.wakeMs).toFixed(2)}..${Math.max(...report.wakeMs).toFixed(2)} ms; ` +
        `the other 980 resolved in ${report.allMs.toFixed(0)} ms`,
    );
    assert.ok(
      report.readMs < 100,
      `readFile took ${report.readMs.toFixed(1)} ms (median; all: ${
        report.reads.map((ms: number) => ms.toFixed(1)).join(", ")
      }) with 1,000 waits pending`,
    );
    assert.ok(
      report.pendingThreads < report.baseline + 20,
      `1,000 pending waits took the process from ${report.baseline} to ${report.pendingThreads} threads`,
    );
    const slow = report.wakeMs.filter((ms: number) => ms >= 100);
    assert.deepEqual(
      slow,
      [],
      `of 20 posts, these took 100 ms or more to wake their waiter: ${slow.join(", ")}`,
    );
    assert.equal(report.early, 0, "waits resolved without a post");
    assert.equal(report.left, 0, "units were left on the semaphores");
  });

  test(`${runtime}: with 300 waits pending, a post to the last one wakes it promptly`, async () => {
    const result = await runScript(
      runtime,
      `
      ${CHILD_HELPERS}
      import { Semaphore, SharedMemory } from "$MOD";
      const count = 300;
      const shm = SharedMemory.create("/shmkit-test-last-" + process.pid, count * 32);
      shm.unlink();
      const semaphores = Array.from({ length: count }, (_, i) => Semaphore.init(shm, i * 32, 0));
      const waits = semaphores.map((semaphore) => semaphore.waitAsync({ timeout: 30_000 }));
      await sleep(100);
      const wakeMs = [];
      for (let round = 0; round < 3; round++) {
        const last = count - 1 - round;
        const started = performance.now();
        semaphores[last].post();
        await waits[last];
        wakeMs.push(performance.now() - started);
      }
      semaphores.forEach((semaphore, i) => i < count - 3 && semaphore.post());
      await Promise.all(waits);
      shm.close();
      console.log(JSON.stringify(wakeMs));
      `,
    );
    assertSucceeded(result, `${runtime} child`);
    const wakeMs: number[] = JSON.parse(result.stdout.trim().split("\n").pop()!);
    assert.ok(
      wakeMs.every((ms) => ms < 100),
      `posts to the last waits took ${
        wakeMs.map((ms) => ms.toFixed(1)).join(", ")
      } ms to wake them`,
    );
  });

  test(`${runtime} without futex_waitv: 200 waits pending at once all complete, posts wake them`, async () => {
    const offthread = new URL("../sync/_offthread.ts", import.meta.url).href;
    const result = await runScript(
      runtime,
      `
      ${CHILD_HELPERS}
      import { _forceMultiplexing } from "${offthread}";
      _forceMultiplexing(false);
      const { Semaphore, SharedMemory } = await import("$MOD");
      const count = 200;
      const shm = SharedMemory.create("/shmkit-test-solo-many-" + process.pid, count * 32);
      shm.unlink();
      const semaphores = Array.from({ length: count }, (_, i) => Semaphore.init(shm, i * 32, 0));
      const waits = semaphores.map((semaphore) => semaphore.waitAsync({ timeout: 30_000 }));
      await sleep(100);
      const started = performance.now();
      semaphores[count - 1].post();
      await waits[count - 1];
      const lastMs = performance.now() - started;
      semaphores.forEach((semaphore, i) => i < count - 1 && semaphore.post());
      await Promise.all(waits);
      const left = semaphores.reduce((sum, semaphore) => sum + semaphore.value, 0);
      shm.close();
      console.log(JSON.stringify({ lastMs, left }));
      `,
    );
    assertSucceeded(result, `${runtime} child`);
    const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
    console.log(
      `${runtime} without futex_waitv: the last of 200 waits woke after ${report.lastMs} ms`,
    );
    assert.equal(report.left, 0);
    // Beyond its sleepers the fallback queues waits: one queued when its
    // word was posted notices at the end of its slice (500 ms). Bun also
    // starts 64 Workers here, which takes long on a loaded machine.
    assert.ok(report.lastMs < 2000, `the last of 200 waits woke after ${report.lastMs} ms`);
  });
}

test("Deno.test's sanitizers pass after 300 waits that were posted, aborted or timed out", async () => {
  const file = scratchPath("many-sanitizer-test", ".ts");
  writeFileSync(
    file,
    `
    import { Semaphore, SharedMemory } from "${MOD_URL}";
    Deno.test("300 waits end three ways, then the test ends at once", async () => {
      const count = 300;
      const shm = SharedMemory.create("/shmkit-test-many-sanitizer-" + Deno.pid, count * 32);
      shm.unlink();
      const semaphores = Array.from({ length: count }, (_, i) => Semaphore.init(shm, i * 32, 0));
      const controller = new AbortController();
      const waits = semaphores.map((semaphore, i) =>
        semaphore.waitAsync(
          i % 3 === 0 ? { signal: controller.signal } : { timeout: i % 3 === 1 ? 10_000 : 200 },
        ).then(() => "posted", (error) => error.name)
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      semaphores.forEach((semaphore, i) => i % 3 === 1 && semaphore.post());
      controller.abort();
      const outcomes = await Promise.all(waits);
      const expected = ["AbortError", "posted", "TimeoutError"];
      outcomes.forEach((outcome, i) => {
        if (outcome !== expected[i % 3]) throw new Error("wait " + i + ": " + outcome);
      });
      shm.close();
    });
    `,
  );
  const result = await runCommand(DENO, ["test", "--allow-all", "--no-check", file]);
  assertSucceeded(result, "deno test");
});
