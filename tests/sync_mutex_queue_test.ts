/**
 * Mutex.lockAsync() from many tasks of one thread: they take turns in call
 * order instead of failing with EDEADLK, without starving other processes;
 * timeouts, aborts, a dead holder and a closed region leave the line sound.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { setImmediate } from "node:timers";
import { ClosedError, ErrnoError, Flag, Mutex, MutexGuard, SharedMemory } from "../mod.ts";
import {
  assertSucceeded,
  CURRENT,
  type ProcessResult,
  runScript,
  RUNTIMES,
  uniqueName,
} from "./_helpers.ts";
import { delay, otherRuntime, withRegion } from "./_sync_helpers.ts";

// Layout of the test region: mutex at 0, start flag at 8, release flag at
// 12, counter at 16, count of ready children at 24, and from LOG one byte per
// add: who made it.
const START = 8;
const RELEASE = 12;
const COUNTER = 16;
const READY = 24;
const LOG = 1024;

/** One turn of the event loop: a macrotask, so other tasks run meanwhile. */
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

// A child that adds to the counter from `tasks` async tasks, `rounds` times
// each (read, a tick, write), under the lock unless `locked` is "false";
// prints the counter value it saw first and how many adds it made.
const ADDER = `
import process from "node:process";
import { setImmediate } from "node:timers";
import { Flag, Mutex, SharedMemory } from "$MOD";
const [name, tasks, rounds, locked, tag] = process.argv.slice(2);
const shm = SharedMemory.open(name);
const mutex = Mutex.attach(shm, 0);
const counter = shm.view(Int32Array, ${COUNTER}, 1);
const log = shm.view(Uint8Array, ${LOG}, shm.size - ${LOG});
Atomics.add(shm.view(Int32Array, ${READY}, 1), 0, 1);
await Flag.attach(shm, ${START}).waitForAsync(1, { timeout: 20_000 });
let first = -1;
let adds = 0;
await Promise.all(Array.from({ length: Number(tasks) }, async () => {
  for (let i = 0; i < Number(rounds); i++) {
    const guard = locked === "true" ? await mutex.lockAsync({ timeout: 20_000 }) : null;
    const seen = counter[0];
    if (first < 0) first = seen;
    await new Promise((resolve) => setImmediate(resolve));
    counter[0] = seen + 1;
    log[seen] = Number(tag);
    adds += 1;
    guard?.unlock();
  }
}));
console.log(JSON.stringify({ first, adds }));
shm.close();
`;

const LOCAL_TASKS = 50;
const LOCAL_ROUNDS = 20;
const CHILD_TASKS = 5;
const CHILD_ROUNDS = 40;

interface Race {
  total: number;
  expected: number;
  localAdds: number;
  children: { runtime: string; first: number; adds: number; longestWait: number }[];
}

/**
 * 50 tasks here and a Deno and a Bun process add to one counter at once,
 * under the mutex or (`locked` false) not.
 */
async function race(locked: boolean): Promise<Race> {
  return await withRegion("mutex-queue-race", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const start = Flag.init(shm, START, 0);
    const counter = shm.view(Int32Array, COUNTER, 1);
    const ready = shm.view(Int32Array, READY, 1);
    const log = shm.view(Uint8Array, LOG, shm.size - LOG);
    const args = [name, String(CHILD_TASKS), String(CHILD_ROUNDS), String(locked)];
    const children: Promise<ProcessResult>[] = RUNTIMES.map((runtime, i) =>
      runScript(runtime, ADDER, { args: [...args, String(i + 1)], timeoutMs: 40_000 })
    );
    try {
      const deadline = performance.now() + 20_000;
      while (Atomics.load(ready, 0) < children.length) {
        if (performance.now() > deadline) throw new Error("the children never got ready");
        await delay(5);
      }
      start.set(1);
      let localAdds = 0;
      await Promise.all(Array.from({ length: LOCAL_TASKS }, async () => {
        for (let i = 0; i < LOCAL_ROUNDS; i++) {
          const guard = locked ? await mutex.lockAsync({ timeout: 20_000 }) : null;
          const seen = counter[0];
          await tick();
          counter[0] = seen + 1;
          localAdds += 1;
          guard?.unlock();
        }
      }));
      const expected = LOCAL_TASKS * LOCAL_ROUNDS + children.length * CHILD_TASKS * CHILD_ROUNDS;
      const reports = [];
      for (const [i, child] of children.entries()) {
        const result = await child;
        assertSucceeded(result, `${RUNTIMES[i]} adder`);
        // The most adds by others in a row between two adds of this child.
        let longestWait = 0;
        let last = -1;
        for (let at = 0; at < expected; at++) {
          if (log[at] !== i + 1) continue;
          if (last >= 0) longestWait = Math.max(longestWait, at - last - 1);
          last = at;
        }
        reports.push({ runtime: RUNTIMES[i], longestWait, ...JSON.parse(result.stdout.trim()) });
      }
      return { total: counter[0], expected, localAdds, children: reports };
    } finally {
      start.set(1);
      await Promise.allSettled(children);
    }
  }, 8192);
}

test("Mutex.lockAsync(): 50 tasks of one process and a Deno and a Bun process add to one counter exactly", async () => {
  const result = await race(true);
  assert.equal(result.localAdds, LOCAL_TASKS * LOCAL_ROUNDS);
  for (const child of result.children) {
    assert.equal(child.adds, CHILD_TASKS * CHILD_ROUNDS, `${child.runtime} finished`);
    // Handing the lock from task to task here must not shut the others out
    // until this process is done (that gives first and longestWait near
    // 1000): each child got in early and never waited long. With the
    // policy, the log reads mostly 5 adds here, 5 in a child, 5 in the other.
    assert.ok(
      child.first < result.expected / 2,
      `the ${child.runtime} child first got the lock at count ${child.first} of ${result.expected}`,
    );
    assert.ok(
      child.longestWait < result.expected / 2,
      `the ${child.runtime} child once waited for ${child.longestWait} adds of others`,
    );
  }
  assert.equal(result.total, result.expected);
});

test("Mutex.lockAsync() race: without the lock the same adds lose updates (the test can see them)", async () => {
  const result = await race(false);
  assert.equal(result.localAdds, LOCAL_TASKS * LOCAL_ROUNDS);
  for (const child of result.children) assert.equal(child.adds, CHILD_TASKS * CHILD_ROUNDS);
  assert.ok(result.total < result.expected, `no update was lost: ${result.total}`);
});

// A child that takes the mutex, raises the flag at START to its pid, and
// holds the lock until the flag at RELEASE is 1 (or until it is killed).
const HOLDER = `
import process from "node:process";
import { Flag, Mutex, SharedMemory } from "$MOD";
const shm = SharedMemory.open(process.argv[2]);
const guard = Mutex.attach(shm, 0).lock();
Flag.attach(shm, ${START}).set(process.pid);
await Flag.attach(shm, ${RELEASE}).waitForAsync(1, { timeout: 30_000 });
guard.unlock();
shm.close();
`;

/** Starts HOLDER in the other runtime and waits until it holds the lock. */
async function foreignHolder(shm: SharedMemory, name: string) {
  const started = Flag.init(shm, START, 0);
  const release = Flag.init(shm, RELEASE, 0);
  const child = runScript(otherRuntime(CURRENT), HOLDER, { args: [name], timeoutMs: 40_000 });
  const deadline = performance.now() + 20_000;
  while (started.value === 0) {
    if (performance.now() > deadline) throw new Error("the holder never took the lock");
    await delay(5);
  }
  return { pid: started.value, child, release: () => release.set(1) };
}

/** Runs `body` while a HOLDER child holds the mutex at byte 0; then lets it go. */
async function whileHeldElsewhere(
  label: string,
  body: (mutex: Mutex, release: () => void) => Promise<void>,
): Promise<void> {
  await withRegion(label, async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const holder = await foreignHolder(shm, name);
    try {
      await body(mutex, holder.release);
    } finally {
      holder.release();
      assertSucceeded(await holder.child, "holder");
    }
  });
}

/**
 * What `promise` settles to, with a handler attached at once: a call that
 * rejects early (EDEADLK before this change) must fail the test, not end the
 * process as an unhandled rejection before the region is unlinked.
 */
function outcome<T>(promise: Promise<T>): Promise<T | Error> {
  return promise.catch((error: Error) => error);
}

/** Starts `count` lockAsync calls in order; each records its index when it gets the lock. */
function takeTurns(mutexes: Mutex[], count: number, order: number[]): Promise<void | Error> {
  return outcome(
    Promise.all(Array.from({ length: count }, async (_, i) => {
      const guard = await mutexes[i % mutexes.length].lockAsync({ timeout: 10_000 });
      order.push(i);
      assert.ok(guard.held);
      await delay(i % 3); // hold it across turns of the event loop
      guard.unlock();
    })).then(() => {}),
  );
}

test("Mutex.lockAsync() calls of one thread get the lock in call order, also over two Mutex objects", async () => {
  await withRegion("mutex-queue-fifo", async (shm) => {
    const one = Mutex.init(shm, 0);
    const other = Mutex.attach(shm, 0); // the same bytes: the same line
    const holder = one.lock();
    const order: number[] = [];
    const turns = takeTurns([one, other], 12, order);
    await delay(20);
    assert.deepEqual(order, [], "nobody got the lock while this thread held it");
    holder.unlock();
    assert.equal(await turns, undefined);
    assert.deepEqual(order, Array.from({ length: 12 }, (_, i) => i));
    assert.equal(shm.view(Int32Array, 0, 1)[0], 0, "the last unlock freed the word");
  });
});

test("Mutex.lockAsync() calls waiting for another process's lock also get it in call order", async () => {
  await whileHeldElsewhere("mutex-queue-fifo-foreign", async (mutex, release) => {
    const order: number[] = [];
    const turns = takeTurns([mutex], 10, order);
    await delay(150); // the first call sleeps in the kernel, the others in line
    release();
    assert.equal(await turns, undefined);
    assert.deepEqual(order, Array.from({ length: 10 }, (_, i) => i));
  });
});

test("Mutex.lockAsync(): a call that times out or is aborted in line does not hold up the next", async () => {
  await withRegion("mutex-queue-abort", async (shm) => {
    const mutex = Mutex.init(shm, 0);
    const holder = mutex.lock();
    const controller = new AbortController();
    const started = performance.now();
    const timedOut = outcome(mutex.lockAsync({ timeout: 60 }));
    const aborted = outcome(mutex.lockAsync({ signal: controller.signal }));
    const third = outcome(mutex.lockAsync({ timeout: 10_000 }));
    const fourth = outcome(mutex.lockAsync({ timeout: 10_000 }));
    setTimeout(() => controller.abort(), 20);
    await assert.rejects(Promise.reject(await aborted), { name: "AbortError" });
    await assert.rejects(Promise.reject(await timedOut), {
      name: "TimeoutError",
      message: /after 60 ms/,
    });
    const took = performance.now() - started;
    assert.ok(took >= 60, `the timeout ended after ${took} ms`);
    holder.unlock();
    const guard = await third;
    assert.ok(guard instanceof MutexGuard, String(guard));
    assert.equal(guard.ownerDied, false);
    let fourthGot = false;
    fourth.then(() => (fourthGot = true));
    await delay(10);
    assert.equal(fourthGot, false, "the fourth waits for the third");
    guard.unlock();
    const last = await fourth;
    assert.ok(last instanceof MutexGuard, String(last));
    last.unlock();
    assert.equal(shm.view(Int32Array, 0, 1)[0], 0);
  });
});

test("Mutex.lockAsync(): when the call waiting for another process is aborted, the next one takes over", async () => {
  await whileHeldElsewhere("mutex-queue-abort-foreign", async (mutex, release) => {
    const controller = new AbortController();
    const first = mutex.lockAsync({ signal: controller.signal }); // sleeps on the word
    const second = mutex.lockAsync({ timeout: 10_000 }); // waits in line
    await delay(50);
    controller.abort();
    await assert.rejects(first, { name: "AbortError" });
    await delay(50); // the second now sleeps on the word
    const released = performance.now();
    release();
    const guard = await second;
    const took = performance.now() - released;
    assert.equal(guard.ownerDied, false);
    assert.ok(took < 1000, `the second call got the lock ${took} ms after the release`);
    guard.unlock();
  });
});

test("Mutex: lock() and tryLock() from a thread whose task holds the lock via lockAsync() still throw EDEADLK", async () => {
  await withRegion("mutex-queue-deadlock", async (shm) => {
    const mutex = Mutex.init(shm, 0);
    const isDeadlock = (error: unknown) => error instanceof ErrnoError && error.code === "EDEADLK";
    const guard = await mutex.lockAsync();
    const queued = mutex.lockAsync({ timeout: 10_000 });
    assert.throws(() => mutex.lock(), isDeadlock);
    assert.throws(() => mutex.tryLock(), isDeadlock);
    assert.throws(() => mutex.tryLock(20), isDeadlock);
    assert.throws(() => Mutex.attach(shm, 0).lock(), isDeadlock);
    assert.ok(guard.held, "the failed relocks left the holder's lock alone");
    guard.unlock();
    const next = await queued;
    assert.ok(next.held && !guard.held);
    next.unlock();
  });
});

test("Mutex.lockAsync(): after a holder is killed only the first call in line reports ownerDied", async () => {
  await withRegion("mutex-queue-died", async (shm, name) => {
    const mutex = Mutex.init(shm, 0);
    const holder = await foreignHolder(shm, name);
    const guards: MutexGuard[] = [];
    const turns = outcome(Promise.all([0, 1, 2].map(async () => {
      const guard = await mutex.lockAsync({ timeout: 10_000 });
      guards.push(guard);
      await delay(1);
      guard.unlock();
    })));
    await delay(50);
    process.kill(holder.pid, "SIGKILL");
    assert.equal((await holder.child).signal, "SIGKILL");
    const ended = await turns;
    assert.ok(!(ended instanceof Error), String(ended));
    assert.deepEqual(guards.map((g) => g.ownerDied), [true, false, false]);
    assert.equal(shm.view(Int32Array, 0, 1)[0], 0);
  });
});

test("Mutex.lockAsync(): calls waiting in line reject with ClosedError when the region is closed", async () => {
  const name = uniqueName("mutex-queue-closed");
  const shm = SharedMemory.create(name, 4096);
  try {
    const mutex = Mutex.init(shm, 0);
    mutex.lock();
    const waiting = [1, 2, 3].map(() => outcome(mutex.lockAsync({ timeout: 10_000 })));
    await delay(10);
    const closed = performance.now();
    shm.close();
    for (const ended of await Promise.all(waiting)) {
      assert.ok(ended instanceof ClosedError, String(ended));
    }
    const took = performance.now() - closed;
    assert.ok(took < 1000, `the calls heard of the close after ${took} ms`);
  } finally {
    shm.close();
    SharedMemory.unlink(name);
  }
});

// A region resized under a waiting call moves its word; the old address may
// then hold another region's word. That region's unlock must not hand the
// call a lock it does not have (it did: two holders of one mutex, and the
// other region's word left held by this thread for good).
const MOVED_WORD = `
import { Mutex, SharedMemory } from "$MOD";
const [name] = process.argv.slice(2);
const r = SharedMemory.create(name + "-r", 1 << 20);
const s = SharedMemory.create(name + "-s", 1 << 20);
s.close();
SharedMemory.unlink(name + "-s");
try {
  const m = Mutex.init(r, 0);
  const before = r.unsafePointer(0);
  m.lock();
  let got = null;
  const waiting = m.lockAsync({ timeout: 5000 }).then((guard) => (got = guard));
  r.resize(4 << 20);
  m.unlock();
  // Often mapped at the address r's word had: the case that went wrong.
  const other = SharedMemory.create(name + "-s", 1 << 20);
  try {
    const n = Mutex.init(other, 0);
    n.lock();
    n.unlock();
    await waiting;
    const word = other.view(Int32Array, 0, 1)[0];
    const held = r.view(Int32Array, 0, 1)[0];
    n.lock();
    n.unlock();
    got.unlock();
    console.log(JSON.stringify({ otherWord: word, heldWord: held !== 0, moved: before !== r.unsafePointer(0) }));
  } finally {
    other.close();
    SharedMemory.unlink(name + "-s");
  }
} finally {
  r.close();
  SharedMemory.unlink(name + "-r");
}
`;

test("Mutex.lockAsync(): a call waiting while its region is resized is handed only its own lock", async () => {
  const result = await runScript(CURRENT, `import process from "node:process";\n${MOVED_WORD}`, {
    args: [uniqueName("mutex-queue-moved")],
  });
  assertSucceeded(result);
  const seen = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  assert.equal(seen.otherWord, 0, "the other region's mutex must be free after its unlock");
  assert.equal(seen.heldWord, true, "the call must hold its own mutex");
});

test("Mutex.lockAsync(): a call waiting in line with a timeout beyond 2^31 ms does not spin", async () => {
  const result = await runScript(
    CURRENT,
    `import process from "node:process";
import { Mutex, SharedMemory } from "$MOD";
const [name] = process.argv.slice(2);
const shm = SharedMemory.create(name, 4096);
try {
  const mutex = Mutex.init(shm, 0);
  const guard = await mutex.lockAsync();
  const waiting = mutex.lockAsync({ timeout: 2 ** 31 + 1000 });
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const used = process.cpuUsage(before);
  guard.unlock();
  (await waiting).unlock();
  console.log(JSON.stringify({ cpuMs: (used.user + used.system) / 1000 }));
} finally {
  shm.close();
  SharedMemory.unlink(name);
}
`,
    { args: [uniqueName("mutex-queue-far")] },
  );
  assertSucceeded(result);
  assert.doesNotMatch(result.stderr, /TimeoutOverflowWarning/);
  const { cpuMs } = JSON.parse(result.stdout.trim().split("\n").at(-1)!);
  // Idle waiting: a timer armed every millisecond used 100+ ms of CPU here.
  assert.ok(cpuMs < 60, `waiting in line used ${cpuMs} ms of CPU in 1 s`);
});
