/**
 * A region's ArrayBuffer can be transferred away (`buffer.transfer()`,
 * `structuredClone` with a transfer list, `postMessage` to a Worker), zero
 * copy, out of reach of close(). close() must still work and release the
 * descriptor and the shared object, and neither close() nor the finalizer of
 * a dropped region may leave the transferred buffer over unmapped memory.
 * Each runtime and kind of region runs in a child process, so a fault shows
 * as a failed assertion.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertSucceeded, runScript, RUNTIMES, scratchDir, uniqueName } from "./_helpers.ts";

const KINDS = ["SharedMemory", "MappedFile", "SysVSharedMemory"] as const;

function child(kind: string, prefix: string, dir: string): string {
  return `
import { IPC_PRIVATE, MappedFile, SharedMemory, SysVSharedMemory } from "$MOD";
import { readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";

const KIND = ${JSON.stringify(kind)};
// Only descriptors of region files: the runtimes open and close their own
// (Deno's Workers, eventfds) at moments of their choosing.
const fds = () =>
  readdirSync("/proc/self/fd").filter((n) => {
    try {
      const target = readlinkSync("/proc/self/fd/" + n);
      return target.startsWith("/dev/shm/") || target.startsWith(${JSON.stringify(dir)});
    } catch {
      return false; // closed while listing
    }
  }).length;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const gc = "Bun" in globalThis ? () => Bun.gc(true) : globalThis.gc;

let count = 0;
// Opens a region whose name is gone at once, so nothing outlives the child.
// "mark" finds its line in /proc/self/maps: the name, or the shmid that a
// System V line shows in the inode column.
function open() {
  count += 1;
  if (KIND === "SharedMemory") {
    const name = ${JSON.stringify(prefix)} + "-" + count;
    const region = SharedMemory.create(name, 8192);
    region.unlink();
    return { region, mapped: (line) => line.endsWith(name + " (deleted)") };
  }
  if (KIND === "MappedFile") {
    const path = ${JSON.stringify(dir)} + "/transfer-" + count;
    const region = MappedFile.open(path, { create: true, size: 8192 });
    rmSync(path);
    return { region, mapped: (line) => line.endsWith(path + " (deleted)") };
  }
  const region = SysVSharedMemory.create(IPC_PRIVATE, 8192);
  region.remove();
  const id = String(region.id);
  return {
    region,
    mapped: (line) => line.includes("/SYSV") && line.trim().split(/\\s+/)[4] === id,
  };
}
const mappedLines = (mapped) =>
  readFileSync("/proc/self/maps", "utf8").split("\\n").filter(mapped).length;

// A removed System V segment is destroyed at its last detach; stat() then fails.
const detached = (region) => {
  if (KIND !== "SysVSharedMemory") return true;
  try {
    region.stat();
    return false;
  } catch {
    return true;
  }
};

const worker = new Worker(
  URL.createObjectURL(
    new Blob([\`
      let kept;
      onmessage = (event) => {
        if (event.data.buffer) {
          kept = new Uint8Array(event.data.buffer);
          kept[1] = 7;
          postMessage(kept.length);
        } else {
          kept[2] = 9;
          postMessage([kept[1], kept[2], kept.length]);
        }
      };
      postMessage("up");
    \`], { type: "application/javascript" }),
  ),
  { type: "module" },
);
const reply = () => new Promise((resolve) => (worker.onmessage = (e) => resolve(e.data)));
// A started Worker has opened what its runtime needs; count descriptors after.
await reply();
const results = {};

// Moves the region's buffer away by one of the three ways, closes the
// region, then touches the moved buffer.
async function transferThenClose(how) {
  const before = fds();
  const { region, mapped } = open();
  region.view(Uint8Array)[0] = 5;
  let touch;
  if (how === "worker") {
    const buffer = region.buffer;
    worker.postMessage({ buffer }, [buffer]);
    await reply();
    touch = async () => {
      worker.postMessage({});
      return await reply();
    };
  } else {
    const moved = how === "transfer()"
      ? region.buffer.transfer()
      : structuredClone(region.buffer, { transfer: [region.buffer] });
    touch = async () => {
      const bytes = new Uint8Array(moved);
      const was = bytes[0];
      bytes[2] = 9;
      return [was, bytes[2], bytes.length];
    };
  }
  let closeError = null;
  try {
    region.close();
  } catch (error) {
    closeError = String(error);
  }
  results[how] = {
    closeError,
    closed: region.closed,
    fdDelta: fds() - before,
    mappedLines: mappedLines(mapped),
    detached: detached(region),
    // What was written before close() is gone: the range now holds zero pages.
    touched: await touch(),
  };
}

await transferThenClose("transfer()");
await transferThenClose("structuredClone");
await transferThenClose("worker");

if (KIND === "SharedMemory") {
  // resize() retires the old mapping the same way.
  const { region } = open();
  const moved = region.buffer.transfer();
  region.resize(16384);
  new Uint8Array(moved)[8191] = 1;
  results.resize = { size: region.view(Uint8Array).length, moved: moved.byteLength };
  region.close();
}

// A region dropped without close() while its buffer lives on elsewhere:
// the finalizer must not unmap what the moved buffer still reaches.
{
  const before = fds();
  let moved;
  let mapped;
  (() => {
    const opened = open();
    mapped = opened.mapped;
    moved = opened.region.buffer.transfer();
  })();
  for (let i = 0; i < 100 && mappedLines(mapped) > 0; i++) {
    gc();
    await sleep(20);
  }
  const bytes = new Uint8Array(moved);
  bytes[0] = 3;
  bytes[8191] = 4;
  results.dropped = {
    mappedLines: mappedLines(mapped),
    fdDelta: fds() - before,
    touched: [bytes[0], bytes[8191]],
  };
}
worker.terminate();
console.log(JSON.stringify(results));
`;
}

for (const runtime of RUNTIMES) {
  for (const kind of KINDS) {
    test(`in ${runtime}, a ${kind} whose buffer was transferred away closes cleanly and the moved buffer never faults`, async () => {
      const prefix = uniqueName(`transfer-${runtime}`);
      const result = await runScript(runtime, child(kind, prefix, scratchDir()), {
        env: { DENO_V8_FLAGS: "--expose-gc" },
        denoFlags: ["--allow-all"],
      });
      assert.equal(result.signal, null, `child died by ${result.signal}: ${result.stderr}`);
      assertSucceeded(result);
      const out = JSON.parse(result.stdout);
      const closedCleanly = {
        closeError: null,
        closed: true,
        fdDelta: 0,
        mappedLines: 0,
        detached: true,
      };
      assert.deepEqual(out["transfer()"], { ...closedCleanly, touched: [0, 9, 8192] });
      assert.deepEqual(out.structuredClone, { ...closedCleanly, touched: [0, 9, 8192] });
      assert.deepEqual(out.worker, { ...closedCleanly, touched: [0, 9, 8192] });
      if (kind === "SharedMemory") assert.deepEqual(out.resize, { size: 16384, moved: 8192 });
      assert.deepEqual(out.dropped, { mappedLines: 0, fdDelta: 0, touched: [3, 4] });
    });
  }
}
