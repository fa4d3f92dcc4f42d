/**
 * A pending async wait keeps alive what it touches. Ordinary code drops the
 * object a wait belongs to (`return NamedSemaphore.open(n).waitAsync()`);
 * a garbage collection then must not let a finalizer close the `sem_t` or
 * unmap the region under the wait. Each runtime runs the loop in a child
 * process with forced collections, so that a crash shows as a failed
 * assertion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { unlinkIfThere } from "./_sync_helpers.ts";
import { DEFAULT_DENO_FLAGS, runScript, RUNTIMES, uniqueName } from "./_helpers.ts";

const CHILD = `
import { Flag, Mutex, NamedSemaphore, Semaphore, SharedMemory } from "$MOD";
import process from "node:process";

const NAMED = "__NAMED__";
const SHM = "__SHM__";
const ROUNDS = 12;
const WAITS = 3;
const TIMEOUT = 10_000;
const gc = "Bun" in globalThis ? () => Bun.gc(true) : () => globalThis.gc();
const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Garbage, and mappings that take over address ranges freed meanwhile, so
// that memory unmapped under a wait is either gone or someone else's.
const squatters = [];
function pressure(round) {
  let junk = [];
  for (let i = 0; i < 2000; i++) junk.push({ i, text: "x".repeat(i % 50), buffer: new ArrayBuffer(256) });
  junk = null;
  for (const s of squatters.splice(0)) s.close();
  for (let i = 0; i < 4; i++) {
    const name = SHM + "-squat-" + round + "-" + i;
    const squat = SharedMemory.create(name, 4096);
    squat.unlink();
    squat.view(Int32Array).fill(7); // a value that is no semaphore or free lock
    squatters.push(squat);
  }
}

async function collect(round) {
  for (let i = 0; i < 3; i++) {
    gc();
    await delay(10); // finalizers run in a later task
  }
  pressure(round);
}

// Each round starts \`count\` waits whose objects are dropped, collects, then
// releases them from another handle; \`check\` tells whether the releases went
// to the waiters (a wait over someone else's memory may "succeed" there).
async function rounds(label, count, start, release, check) {
  for (let round = 0; round < ROUNDS; round++) {
    const waits = [];
    for (let i = 0; i < count; i++) waits.push(start(round));
    await collect(round);
    await release(round);
    const settled = await Promise.allSettled(waits);
    const failed = settled.filter((s) => s.status === "rejected");
    if (failed.length > 0) {
      throw new Error(label + " round " + round + ": " + failed.map((f) => String(f.reason)).join("; "));
    }
    const wrong = check();
    if (wrong) throw new Error(label + " round " + round + ": " + wrong);
  }
  console.log(label + ": ok");
}

NamedSemaphore.create(NAMED, 0).close();
const owner = SharedMemory.create(SHM, 4096);
try {
  // The handle is dropped at once; only the pending wait holds it.
  function named() {
    return NamedSemaphore.open(NAMED).waitAsync({ timeout: TIMEOUT });
  }
  await rounds("NamedSemaphore", WAITS, named, () => {
    using poster = NamedSemaphore.open(NAMED);
    for (let i = 0; i < WAITS; i++) poster.post();
  }, () => {
    using seen = NamedSemaphore.open(NAMED);
    return seen.value === 0 ? "" : "the waits did not take the posts, value " + seen.value;
  });

  const sem = Semaphore.init(owner, 0, 0);
  function memory() {
    return Semaphore.attach(SharedMemory.open(SHM), 0).waitAsync({ timeout: TIMEOUT });
  }
  await rounds("Semaphore", WAITS, memory, () => {
    for (let i = 0; i < WAITS; i++) sem.post();
  }, () => sem.value === 0 ? "" : "the waits did not take the posts, value " + sem.value);

  // The lock is held by a live thread of another process (our parent; tag 0
  // means "start time unknown"): the waiters sleep until it is "unlocked".
  const lockWord = owner.view(Int32Array, 64, 2);
  const unlocker = Flag.attach(owner, 64);
  function mutex() {
    return Mutex.attach(SharedMemory.open(SHM), 64).lockAsync({ timeout: TIMEOUT })
      .then((guard) => {
        guard.unlock();
      });
  }
  // One waiter per round: a second lockAsync of this thread would wait in
  // line behind the first, in JS, and add no kernel waiter to the rounds.
  await rounds("Mutex", 1, () => {
    Atomics.store(lockWord, 0, process.ppid);
    return mutex();
  }, () => unlocker.set(0), () => {
    const word = Atomics.load(lockWord, 0);
    return word === 0 ? "" : "the lock was left as " + word;
  });

  const flag = Flag.init(owner, 128, 0);
  function waitFlag(round) {
    return Flag.attach(SharedMemory.open(SHM), 128).waitForAsync(round + 1, { timeout: TIMEOUT });
  }
  await rounds("Flag", WAITS, waitFlag, (round) => flag.set(round + 1), () => "");
} finally {
  owner.close();
  SharedMemory.unlink(SHM);
  NamedSemaphore.unlink(NAMED);
  for (const s of squatters) s.close();
}
console.log("done");
`;

for (const runtime of RUNTIMES) {
  test(`Pending waits (${runtime}): a dropped NamedSemaphore, or a primitive in a dropped region, stays usable until its async wait settles`, async () => {
    const named = uniqueName("life-nsem");
    const shm = uniqueName("life-shm");
    const source = CHILD.replace("__NAMED__", named).replace("__SHM__", shm);
    const result = await runScript(runtime, source, {
      timeoutMs: 120_000,
      denoFlags: [...DEFAULT_DENO_FLAGS, "--v8-flags=--expose-gc"],
    }).finally(() => {
      // A child that crashed could not remove them.
      unlinkIfThere({ shm: [shm], sem: [named] });
    });
    const where = `\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
    assert.equal(result.signal, null, `the child died of ${result.signal}${where}`);
    assert.equal(result.code, 0, `the child exited with ${result.code}${where}`);
    assert.match(result.stdout, /NamedSemaphore: ok\nSemaphore: ok\nMutex: ok\nFlag: ok\ndone/);
  });
}
