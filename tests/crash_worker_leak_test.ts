/**
 * A Worker that ends without closing what it opened (terminated, or closing
 * itself) runs no finalizers, so another thread must release its mappings,
 * descriptors and semaphore handles. Each case runs in a child process of
 * each runtime, which counts its own /proc/self/fd entries and /dev/shm
 * lines of /proc/self/maps.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { SharedMemory } from "../mod.ts";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import {
  assertSucceeded,
  MOD_URL,
  runScript,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";

const WORKERS = 40;

// Opens a SharedMemory and a NamedSemaphore, keeps them, never closes them
// (unless asked to check them: a Worker that lives on must keep its own).
const WORKER = `
import { NamedSemaphore, SharedMemory } from "${MOD_URL}";
let kept;
onmessage = (event) => {
  if (event.data === "finish") return self.close();
  if (event.data === "check") {
    const [shm, sem] = kept;
    const seen = [shm.view(Uint8Array)[0], sem.value];
    shm.close();
    sem.close();
    return postMessage(seen);
  }
  const { name } = event.data;
  const shm = SharedMemory.create(name, 4096);
  shm.view(Uint8Array)[0] = 1;
  kept = [shm, NamedSemaphore.create(name, 0)];
  postMessage("ready");
};
// Said once the handler is in place: a message posted to a Worker before its
// module has run can be lost in Bun.
postMessage("up");
`;

function parent(workerUrl: string, prefix: string, finish: boolean): string {
  return `
import { NamedSemaphore, SharedMemory } from "$MOD";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

// Only descriptors of /dev/shm objects: the runtimes open and close their
// own (sockets, eventfds) as Workers come and go.
const fds = () =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync("/proc/self/fd/" + fd).startsWith("/dev/shm/");
    } catch {
      return false;
    }
  }).length;
const shmLines = () =>
  readFileSync("/proc/self/maps", "utf8").split("\\n").filter((l) => l.includes("/dev/shm/")).length;
const threads = () => readdirSync("/proc/self/task").length;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function start() {
  const worker = new Worker(${JSON.stringify(workerUrl)}, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve(worker);
    worker.onerror = (event) => reject(new Error("Worker failed: " + event.message));
  });
}
const ask = (worker, message) =>
  new Promise((resolve, reject) => {
    worker.onmessage = (event) => resolve(event.data);
    worker.onerror = (event) => reject(new Error("Worker failed: " + event.message));
    worker.postMessage(message);
  });

// The baseline is taken after a first Worker has come and gone, so that
// what the runtime keeps from it is not counted.
const threadsAlone = threads();
(await start()).terminate();
for (let i = 0; i < 100 && threads() > threadsAlone; i++) await sleep(20);
// One Worker lives through it all: what it holds must stay its own.
const survivor = await start();
await ask(survivor, { name: ${JSON.stringify(prefix)} + "-survivor" });
const baseline = { fds: fds(), shmLines: shmLines() };

const workers = [];
for (let i = 0; i < ${WORKERS}; i++) {
  const worker = await start();
  await ask(worker, { name: ${JSON.stringify(prefix)} + "-" + i });
  // A Worker told to finish ends itself (self.close()) without closing anything.
  if (${finish}) worker.postMessage("finish");
  workers.push(worker);
}
const held = { fds: fds() - baseline.fds, shmLines: shmLines() - baseline.shmLines };
const ended = Date.now();
if (!${finish}) for (const worker of workers) worker.terminate();

// Deno takes a while to end terminated Workers' threads on a busy machine;
// their resources go within about a second after that.
const leftover = () => ({
  fds: Math.max(0, fds() - baseline.fds),
  shmLines: Math.max(0, shmLines() - baseline.shmLines),
});
while (Date.now() - ended < 10_000) {
  const now = leftover();
  if (now.fds <= 0 && now.shmLines <= 0) break;
  await sleep(50);
}
const after = leftover();
const waitedMs = Date.now() - ended;
// Let a timed sweep (the one that also compares start times) pass as well.
while (Date.now() - ended < 2_500) await sleep(50);
const survivorSaw = await ask(survivor, "check");
survivor.terminate();
for (const suffix of [...Array(${WORKERS}).keys(), "survivor"]) {
  SharedMemory.unlink(${JSON.stringify(prefix)} + "-" + suffix);
  NamedSemaphore.unlink(${JSON.stringify(prefix)} + "-" + suffix);
}
console.log(JSON.stringify({ held, after, waitedMs, survivorSaw }));
`;
}

for (const runtime of RUNTIMES) {
  for (const finish of [false, true]) {
    const how = finish ? "close themselves" : "are terminated";
    test(`in ${runtime}, ${WORKERS} Workers that ${how} with a SharedMemory and a NamedSemaphore open leave no descriptor or mapping behind`, async () => {
      const prefix = uniqueName(`worker-leak-${runtime}`);
      const workerFile = scratchPath("leak-worker", ".js");
      writeFileSync(workerFile, WORKER);
      try {
        const result = await runScript(
          runtime,
          parent(new URL(`file://${workerFile}`).href, prefix, finish),
          { denoFlags: ["--allow-all"], timeoutMs: 60_000 },
        );
        assert.equal(result.signal, null, `child died by ${result.signal}: ${result.stderr}`);
        assertSucceeded(result);
        const out = JSON.parse(result.stdout);
        // Workers that end themselves may be swept (by the next open) before the count.
        if (!finish) assert.ok(out.held.shmLines >= 2 * WORKERS, `only ${out.held.shmLines} held`);
        assert.deepEqual(out.after, { fds: 0, shmLines: 0 }, `after ${out.waitedMs} ms`);
        assert.deepEqual(out.survivorSaw, [1, 0], "a living Worker lost its objects");
      } finally {
        for (const suffix of [...Array(WORKERS).keys(), "survivor"]) {
          const name = `${prefix}-${suffix}`.slice(1);
          for (const file of [`/dev/shm/${name}`, `/dev/shm/sem.${name}`]) {
            if (existsSync(file)) rmSync(file);
          }
        }
      }
    });
  }
}

for (const runtime of RUNTIMES) {
  test(`in ${runtime}, a stale registry variable naming unreadable memory is ignored, not read`, async () => {
    // The variable survives an exec that keeps the pid; the address it names
    // may then be a PROT_NONE reservation, where a plain load faults.
    const name = uniqueName("stale-registry");
    const result = await runScript(
      runtime,
      `
      import { SharedMemory } from "$MOD";
      import { backend, libc, platform } from "${new URL("./ffi/internal.ts", MOD_URL).href}";
      import { cString } from "${new URL("./ffi/internal.ts", MOD_URL).href}";
      const { MAP_PRIVATE, MAP_ANONYMOUS } = platform;
      const none = libc.mmap(null, 1n << 20n, 0, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0n);
      const variable = "SHMKIT_REGISTRY_" + libc.getpid();
      libc.setenv(cString(variable), cString(none.toString(16)), 1);
      using shm = SharedMemory.create(${JSON.stringify(name)}, 4096);
      shm.unlink();
      console.log("ok");
      `,
      { denoFlags: ["--allow-all"] },
    );
    try {
      SharedMemory.unlink(name);
    } catch {
      // the child removed it
    }
    assert.equal(result.signal, null, `the child died of ${result.signal}: ${result.stderr}`);
    assert.equal(result.stdout.trim(), "ok", result.stderr);
  });
}
