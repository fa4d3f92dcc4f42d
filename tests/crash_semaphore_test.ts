/**
 * A semaphore whose bytes are not a valid glibc sem_t (never initialized as
 * one, or scribbled over by another process) gives CorruptedError, never a
 * process that glibc aborts ("The futex facility returned an unexpected
 * error code", SIGABRT). Each runtime runs the cases in a child process, so
 * that an abort shows as a failed assertion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { unlinkIfThere } from "./_sync_helpers.ts";
import { runScript, RUNTIMES, uniqueName } from "./_helpers.ts";

// Prints one "name: outcome" line per case; the outcome is the error's name,
// or "ok" when the operation went through. The module is imported whole so
// that the script runs (and shows the abort) on code without CorruptedError.
const CHILD = `
import * as shmkit from "$MOD";
import { closeSync, openSync, writeSync } from "node:fs";
const { NamedSemaphore, Semaphore, SharedMemory, Flag } = shmkit;

const SHM = "__SHM__";
const NAMED = "__NAMED__";
const results = {};
async function outcome(label, run) {
  let result;
  try {
    await run();
    result = "ok";
  } catch (error) {
    result = error?.name ?? String(error);
    if (result === "CorruptedError" && !/corrupted/.test(error.message)) result = "bad message";
  }
  results[label] = result;
  console.log(label + ": " + result);
}

const shm = SharedMemory.create(SHM, 4096);
try {
  const bytes = shm.view(Uint8Array, 0, 32);
  const words = shm.view(Int32Array, 0, 8);
  const data = shm.view(BigUint64Array, 0, 1);
  const garbage = {
    random() {
      crypto.getRandomValues(bytes);
      if (words[2] === 0 || words[2] === 128) words[2] = 0x1234_5679;
    },
    "private 0x12345678"() {
      bytes.fill(0);
      data[0] = 1n;
      words[2] = 0x1234_5678;
    },
    "value 0, garbage private"() {
      bytes.fill(0);
      words[2] = 0xdead_beef | 0;
    },
    "nwaiters huge"() {
      bytes.fill(0);
      data[0] = (0xffff_ffffn << 32n) | 1n;
      words[2] = 128;
    },
    "value past SEM_VALUE_MAX"() {
      bytes.fill(0);
      data[0] = 0x8000_0000n;
      words[2] = 128;
    },
  };
  for (const [label, fill] of Object.entries(garbage)) {
    fill();
    await outcome("attach " + label, () => Semaphore.attach(shm, 0));
  }

  // A valid semaphore, then another "process" scribbles over its private word.
  const sem = Semaphore.init(shm, 64, 0);
  const view = shm.view(Int32Array, 64, 8);
  const good = view[2];
  view[2] = 0x1234_5678;
  await outcome("scribbled post", () => sem.post());
  await outcome("scribbled tryWait", () => sem.tryWait());
  await outcome("scribbled tryWait(20)", () => sem.tryWait(20));
  await outcome("scribbled wait", () => sem.wait());
  await outcome("scribbled waitAsync", () => sem.waitAsync({ timeout: 2000 }));
  await outcome("scribbled value", () => sem.value);
  view[2] = good;
  await outcome("repaired post", () => sem.post());
  await outcome("repaired tryWait", () => { if (!sem.tryWait()) throw new Error("no unit"); });

  // Scribbled while a wait is pending: the value word becomes > SEM_VALUE_MAX,
  // and a plain futex wake-up (a Flag's set) makes the waiter look.
  const pending = outcome("scribbled under waitAsync", () => sem.waitAsync({ timeout: 5000 }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  Flag.attach(shm, 64).set(0x8000_0000 | 0);
  await pending;
  view.fill(0);
  view[2] = good;

  // A named semaphore whose file another process overwrote.
  NamedSemaphore.create(NAMED, 1).close();
  try {
    const opened = NamedSemaphore.open(NAMED);
    const fd = openSync("/dev/shm/sem." + NAMED.slice(1), "r+");
    writeSync(fd, new Uint8Array(32).fill(0xa5), 0, 32, 0);
    closeSync(fd);
    await outcome("named scribbled post", () => opened.post());
    await outcome("named scribbled tryWait(20)", () => opened.tryWait(20));
    await outcome("named scribbled waitAsync", () => opened.waitAsync({ timeout: 2000 }));
    opened.close();
    await outcome("named open over garbage", () => NamedSemaphore.open(NAMED).close());
  } finally {
    NamedSemaphore.unlink(NAMED);
  }
} finally {
  shm.close();
  SharedMemory.unlink(SHM);
}
console.log("RESULTS " + JSON.stringify(results));
`;

const EXPECTED = {
  "attach random": "CorruptedError",
  "attach private 0x12345678": "CorruptedError",
  "attach value 0, garbage private": "CorruptedError",
  "attach nwaiters huge": "CorruptedError",
  "attach value past SEM_VALUE_MAX": "CorruptedError",
  "scribbled post": "CorruptedError",
  "scribbled tryWait": "CorruptedError",
  "scribbled tryWait(20)": "CorruptedError",
  "scribbled wait": "CorruptedError",
  "scribbled waitAsync": "CorruptedError",
  "scribbled value": "CorruptedError",
  "repaired post": "ok",
  "repaired tryWait": "ok",
  "scribbled under waitAsync": "CorruptedError",
  "named scribbled post": "CorruptedError",
  "named scribbled tryWait(20)": "CorruptedError",
  "named scribbled waitAsync": "CorruptedError",
  "named open over garbage": "CorruptedError",
};

for (const runtime of RUNTIMES) {
  test(`Semaphore (${runtime}): bytes that are no valid sem_t throw CorruptedError from attach and every operation, never abort`, async () => {
    const shm = uniqueName("crash-sem");
    const named = uniqueName("crash-nsem");
    const source = CHILD.replace("__SHM__", shm).replace("__NAMED__", named);
    const result = await runScript(runtime, source, {
      timeoutMs: 60_000,
      denoFlags: ["--allow-all"], // Deno asks for it to write a file in /dev/shm
    }).finally(() => {
      // A child that died could not remove them.
      unlinkIfThere({ shm: [shm], sem: [named] });
    });
    const where = `\nstdout: ${result.stdout}\nstderr: ${result.stderr}`;
    assert.equal(result.signal, null, `the child died of ${result.signal}${where}`);
    assert.equal(result.code, 0, `the child exited with ${result.code}${where}`);
    const line = result.stdout.split("\n").find((l) => l.startsWith("RESULTS "));
    assert.ok(line !== undefined, `no results${where}`);
    assert.deepEqual(JSON.parse(line.slice("RESULTS ".length)), EXPECTED);
  });
}
