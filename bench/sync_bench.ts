/**
 * sync/ speed, as `npm run bench` runs it next to the C counterpart
 * (bench/sync_bench.c) under Deno and Bun:
 *
 *   deno run -A bench/sync_bench.ts pair           # uncontended pairs
 *   bun bench/sync_bench.ts count mutex 200000     # 2 processes counting
 *
 * Prints one JSON object per line: `{"case", "ns"}` for a pair (median ns
 * per pair of 5 runs), `{"case", "perSecond"}` for the count workload (total
 * increments per second of both processes, each adding 1 to a shared int
 * under the lock N times).
 *
 * @module
 */
import process from "node:process";
import { spawn } from "node:child_process";
import { Flag, Mutex, NamedSemaphore, Semaphore, SharedMemory } from "../mod.ts";

const isDeno = "Deno" in globalThis;
const [mode = "pair", ...rest] = process.argv.slice(2);

// Region layout shared by the count parent and its children.
const MUTEX_AT = 0;
const READY_AT = 8;
const GO_AT = 12;
const COUNTER_AT = 16;
const ELAPSED_AT = 32; // two float64: each child's milliseconds
const SEMAPHORE_AT = 64;

function report(row: Record<string, unknown>): void {
  console.log(JSON.stringify(row));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median ns per call of `body(iterations)` over 5 runs, after a warm-up. */
function timePairs(iterations: number, body: (n: number) => void): number {
  body(Math.min(iterations, 200_000));
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    body(iterations);
    runs.push(((performance.now() - started) * 1e6) / iterations);
  }
  return median(runs);
}

async function timeAsync(iterations: number, body: (n: number) => Promise<void>) {
  await body(Math.min(iterations, 20_000));
  const runs: number[] = [];
  for (let run = 0; run < 5; run++) {
    const started = performance.now();
    await body(iterations);
    runs.push(((performance.now() - started) * 1e6) / iterations);
  }
  return median(runs);
}

/**
 * Runs `body` with a fresh region and named semaphore (value 1), both closed
 * and unlinked afterwards whatever happens.
 */
async function withObjects(
  label: string,
  body: (shm: SharedMemory, named: NamedSemaphore, name: string, semaphoreName: string) => unknown,
): Promise<void> {
  const name = `/shmkit-bench-${label}-${process.pid}`;
  const semaphoreName = `${name}-sem`;
  using shm = SharedMemory.create(name, 4096);
  try {
    using named = NamedSemaphore.create(semaphoreName, 1);
    try {
      await body(shm, named, name, semaphoreName);
    } finally {
      NamedSemaphore.unlink(semaphoreName);
    }
  } finally {
    SharedMemory.unlink(name);
  }
}

function pairs(): Promise<void> {
  return withObjects("pairs", async (shm, named) => {
    const N = 2_000_000;
    const mutex = Mutex.init(shm, MUTEX_AT);
    const semaphore = Semaphore.init(shm, SEMAPHORE_AT, 1);
    const flag = Flag.init(shm, GO_AT, 0);

    report({
      case: "Mutex lock+unlock",
      ns: timePairs(N, (n) => {
        for (let i = 0; i < n; i++) mutex.lock().unlock();
      }),
    });
    report({
      case: "Mutex tryLock+unlock",
      ns: timePairs(N, (n) => {
        for (let i = 0; i < n; i++) mutex.tryLock()!.unlock();
      }),
    });
    report({
      case: "Semaphore wait+post",
      ns: timePairs(N, (n) => {
        for (let i = 0; i < n; i++) {
          semaphore.wait();
          semaphore.post();
        }
      }),
    });
    report({
      case: "Semaphore tryWait+post",
      ns: timePairs(N, (n) => {
        for (let i = 0; i < n; i++) {
          semaphore.tryWait();
          semaphore.post();
        }
      }),
    });
    report({
      case: "NamedSemaphore wait+post",
      ns: timePairs(N, (n) => {
        for (let i = 0; i < n; i++) {
          named.wait();
          named.post();
        }
      }),
    });
    report({
      case: "Flag set+waitFor",
      ns: timePairs(N / 4, (n) => {
        for (let i = 0; i < n; i++) {
          flag.set(i & 1);
          flag.waitFor(i & 1, 0);
        }
      }),
    });
    const A = 200_000;
    report({
      case: "Mutex lockAsync+unlock",
      ns: await timeAsync(A, async (n) => {
        for (let i = 0; i < n; i++) (await mutex.lockAsync()).unlock();
      }),
    });
    report({
      case: "Semaphore waitAsync+post",
      ns: await timeAsync(A, async (n) => {
        for (let i = 0; i < n; i++) {
          await semaphore.waitAsync();
          semaphore.post();
        }
      }),
    });
  });
}

/** The count workload: 2 processes of this runtime, N locked increments each. */
function count(primitive: string, iterations: number): Promise<void> {
  return withObjects("count", async (shm, _named, name, semaphoreName) => {
    Mutex.init(shm, MUTEX_AT);
    Semaphore.init(shm, SEMAPHORE_AT, 1);
    const go = Flag.init(shm, GO_AT, 0);
    const self = process.argv[1];
    const children = [0, 1].map((index) => {
      const args = [
        self,
        "child",
        primitive,
        name,
        semaphoreName,
        String(iterations),
        String(index),
      ];
      const child = spawn(process.execPath, isDeno ? ["run", "-A", ...args] : args, {
        stdio: ["ignore", "inherit", "inherit"],
      });
      return new Promise<number | null>((resolve) => child.on("close", resolve));
    });
    await Flag.attach(shm, READY_AT).waitForAsync(2, { timeout: 60_000 });
    go.set(1);
    const codes = await Promise.all(children);
    if (codes.some((code) => code !== 0)) throw new Error(`a counting child failed: ${codes}`);
    const total = shm.view(Int32Array, COUNTER_AT, 1)[0];
    if (total !== 2 * iterations) throw new Error(`lost updates: ${total} != ${2 * iterations}`);
    const elapsed = Math.max(...shm.view(Float64Array, ELAPSED_AT, 2));
    report({ case: `count ${primitive}`, perSecond: (2 * iterations) / (elapsed / 1000) });
  });
}

function child(
  primitive: string,
  name: string,
  semaphoreName: string,
  iterations: number,
  index: number,
): void {
  const shm = SharedMemory.open(name);
  const counter = shm.view(Int32Array, COUNTER_AT, 1);
  let loop: (target: Int32Array, n: number) => void;
  if (primitive === "mutex") {
    const mutex = Mutex.attach(shm, MUTEX_AT);
    loop = (target, n) => {
      for (let i = 0; i < n; i++) {
        const guard = mutex.lock();
        target[0] += 1;
        guard.unlock();
      }
    };
  } else {
    const semaphore = primitive === "semaphore"
      ? Semaphore.attach(shm, SEMAPHORE_AT)
      : NamedSemaphore.open(semaphoreName);
    loop = (target, n) => {
      for (let i = 0; i < n; i++) {
        semaphore.wait();
        target[0] += 1;
        semaphore.post();
      }
    };
  }
  // Warm the JIT up on a private counter, as a long-running program would be.
  loop(new Int32Array(1), 500_000);
  Atomics.add(shm.view(Int32Array, READY_AT, 1), 0, 1);
  Flag.attach(shm, GO_AT).waitFor(1, 60_000);
  const started = performance.now();
  loop(counter, iterations);
  shm.view(Float64Array, ELAPSED_AT, 2)[index] = performance.now() - started;
  shm.close();
}

if (mode === "pair") {
  await pairs();
} else if (mode === "count") {
  await count(rest[0] ?? "mutex", Number(rest[1] ?? 200_000));
} else if (mode === "child") {
  const [primitive, name, semaphoreName, iterations, index] = rest;
  child(primitive, name, semaphoreName, Number(iterations), Number(index));
} else {
  throw new Error(`unknown mode ${mode}: use pair or count`);
}
