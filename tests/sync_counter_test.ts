/**
 * The classic count workload: four processes, two Deno and two Bun, each add
 * 1 to a shared int 20,000 times with a slow read-modify-write. Under each
 * lock the total is exact; without one it is not (so these tests can fail).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Flag, Mutex, NamedSemaphore, Semaphore, SharedMemory } from "../mod.ts";
import { assertSucceeded, runScript, type Runtime, uniqueName } from "./_helpers.ts";

const ITERATIONS = 20_000;
const RUNTIMES: Runtime[] = ["deno", "deno", "bun", "bun"];

// Layout of the test's region.
const MUTEX_AT = 0;
const READY_AT = 8; // children that reached the start line
const GO_AT = 12; // Flag: 1 = start counting
const COUNTER_AT = 16;
const SEMAPHORE_AT = 64;

const CHILD = `
import process from "node:process";
import { Flag, Mutex, NamedSemaphore, Semaphore, SharedMemory } from "$MOD";
const [name, semaphoreName, mode, count] = process.argv.slice(2);
const iterations = Number(count);
const shm = SharedMemory.open(name);
const counter = shm.view(Int32Array, ${COUNTER_AT}, 1);
let lock = () => {};
let unlock = () => {};
if (mode === "mutex") {
  const mutex = Mutex.attach(shm, ${MUTEX_AT});
  let guard;
  lock = () => { guard = mutex.lock(); };
  unlock = () => guard.unlock();
} else if (mode === "semaphore") {
  const semaphore = Semaphore.attach(shm, ${SEMAPHORE_AT});
  lock = () => semaphore.wait();
  unlock = () => semaphore.post();
} else if (mode === "named") {
  const semaphore = NamedSemaphore.open(semaphoreName);
  lock = () => semaphore.wait();
  unlock = () => semaphore.post();
}
// Widen the window between the read and the write of the increment.
let sink = 0;
function work() {
  let x = 0;
  for (let k = 0; k < 200; k++) x = (x * 31 + k) | 0;
  sink ^= x;
}
Atomics.add(shm.view(Int32Array, ${READY_AT}, 1), 0, 1);
Flag.attach(shm, ${GO_AT}).waitFor(1, 30_000);
for (let i = 0; i < iterations; i++) {
  lock();
  const seen = counter[0];
  work();
  counter[0] = seen + 1;
  unlock();
}
console.log("done", sink === 0.5);
shm.close();
`;

async function count(mode: "mutex" | "semaphore" | "named" | "none"): Promise<number> {
  const name = uniqueName(`count-${mode}`);
  const semaphoreName = uniqueName(`count-sem`);
  const shm = SharedMemory.create(name, 4096);
  let named: NamedSemaphore | undefined;
  try {
    Mutex.init(shm, MUTEX_AT);
    Semaphore.init(shm, SEMAPHORE_AT, 1);
    const go = Flag.init(shm, GO_AT, 0);
    if (mode === "named") named = NamedSemaphore.create(semaphoreName, 1);
    const children = RUNTIMES.map((runtime) =>
      runScript(runtime, CHILD, {
        args: [name, semaphoreName, mode, String(ITERATIONS)],
        timeoutMs: 90_000,
      })
    );
    // The children bump READY without a wake-up; a Flag notices plain stores.
    const ready = Flag.attach(shm, READY_AT);
    const early = Promise.race(children).then((result) => {
      throw new Error(`a child ended before the start: ${result.stderr}`);
    });
    early.catch(() => {});
    const stop = new AbortController();
    await Promise.race([
      ready.waitForAsync(RUNTIMES.length, { timeout: 60_000, signal: stop.signal }),
      early,
    ]).finally(() => stop.abort());
    go.set(1);
    for (const [i, result] of (await Promise.all(children)).entries()) {
      assertSucceeded(result, `${RUNTIMES[i]} child (${mode})`);
    }
    return shm.view(Int32Array, COUNTER_AT, 1)[0];
  } finally {
    shm.close();
    SharedMemory.unlink(name);
    if (named !== undefined) {
      named.close();
      NamedSemaphore.unlink(semaphoreName);
    }
  }
}

const EXPECTED = RUNTIMES.length * ITERATIONS;

test("Mutex: 4 processes (2 Deno, 2 Bun) x 20,000 locked increments = exactly 80,000", async () => {
  assert.equal(await count("mutex"), EXPECTED);
});

test("Semaphore (sem_init) as a lock: 4 processes x 20,000 increments = exactly 80,000", async () => {
  assert.equal(await count("semaphore"), EXPECTED);
});

test("NamedSemaphore (sem_open) as a lock: 4 processes x 20,000 increments = exactly 80,000", async () => {
  assert.equal(await count("named"), EXPECTED);
});

test("the same counter without a lock loses updates", async () => {
  const total = await count("none");
  assert.ok(total < EXPECTED, `expected lost updates, got ${total}`);
  assert.ok(total > 0);
});
