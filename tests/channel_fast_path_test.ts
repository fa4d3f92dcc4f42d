/**
 * One sender and one receiver make no system call while the ring is neither
 * empty nor full: a child of each runtime sends and receives 50,000 64-byte
 * messages over a backlog, under strace, and the JS thread's system calls
 * between two markers are counted. Counted are those shmkit itself would
 * make: futex calls on shared words (not the runtime's own `_PRIVATE`
 * ones), kill() and /proc reads of a liveness check. The control run raises
 * the "a receiver sleeps" flag in the header before 100 of the sends, and
 * the count must then see the 100 wake-ups: the trace does see shmkit's
 * calls.
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import {
  commandFor,
  DEFAULT_DENO_FLAGS,
  MOD_URL,
  runCommand,
  RUNTIMES,
  scratchPath,
  uniqueName,
} from "./_helpers.ts";
import { unlinkIfThere } from "./_sync_helpers.ts";

const STRACE = (() => {
  try {
    return execFileSync("sh", ["-c", "command -v strace"], { encoding: "utf8" }).trim();
  } catch {
    return "";
  }
})();

const CHILD = `
import { Channel, SharedMemory } from "${MOD_URL}";
import { writeSync } from "node:fs";
import process from "node:process";
const [name, mode] = process.argv.slice(2);
const ch = Channel.create(name, { capacity: 1 << 16 });
const peek = SharedMemory.open(name);
const header = peek.view(Int32Array, 0, 256);
const RECEIVER_ASLEEP = 192 / 4; // see sync/_channel_header.ts
const message = new Uint8Array(64), buffer = new Uint8Array(64);
for (let i = 0; i < 100; i++) ch.send(message); // a backlog: never empty
for (let i = 0; i < 100_000; i++) { ch.send(message); ch.recvInto(buffer); } // warm, JIT
writeSync(2, "BEGIN\\n");
for (let i = 0; i < 50_000; i++) {
  if (mode === "control" && i < 100) Atomics.store(header, RECEIVER_ASLEEP, 1);
  ch.send(message);
  if (ch.recvInto(buffer) !== 64) throw new Error("lost a message");
}
writeSync(2, "END\\n");
peek.close();
ch.close();
Channel.unlink(name);
`;

/** shmkit's own system calls by the JS thread between BEGIN and END. */
function countCalls(trace: string): { futex: number; kill: number; proc: number; marked: boolean } {
  let thread: string | undefined;
  const counts = { futex: 0, kill: 0, proc: 0, marked: false };
  for (const line of trace.split("\n")) {
    const m = /^(\d+)\s+(\w+)\((.*)$/.exec(line);
    if (m === null) continue;
    const [, tid, call, rest] = m;
    if (thread === undefined) {
      if (call === "write" && rest.includes('"BEGIN')) thread = tid;
      continue;
    }
    if (tid !== thread) continue;
    if (call === "write" && rest.includes('"END')) {
      counts.marked = true;
      break;
    }
    if (call === "futex" && !rest.includes("_PRIVATE")) counts.futex += 1;
    if (call === "kill" || call === "tgkill") counts.kill += 1;
    if (call === "openat" && /"\/proc\/(\d+|thread-self|self\/task)/.test(rest)) counts.proc += 1;
  }
  return counts;
}

for (const runtime of RUNTIMES) {
  for (const mode of ["plain", "control"] as const) {
    test(
      `Channel (${runtime}): one sender and one receiver over a backlog make ${
        mode === "plain" ? "no system call" : "the control's 100 wake-ups, and the trace sees them"
      }`,
      { skip: STRACE === "" ? "strace is not installed" : false },
      async () => {
        const name = uniqueName(`channel-fast-${mode}`);
        const file = scratchPath(`fast-${runtime}`, ".ts");
        const trace = scratchPath(`fast-${runtime}`, ".trace");
        writeFileSync(file, CHILD);
        const { command, args } = commandFor(runtime, file, [name, mode], DEFAULT_DENO_FLAGS);
        try {
          const result = await runCommand(
            STRACE,
            [
              "-f",
              "-qq",
              "-o",
              trace,
              "-e",
              "trace=futex,kill,tgkill,openat,write",
              command,
              ...args,
            ],
            { timeoutMs: 120_000 },
          );
          assert.equal(result.code, 0, `child failed: ${result.stderr}`);
          const counts = countCalls(readFileSync(trace, "utf8"));
          assert.ok(counts.marked, "both markers are in the trace");
          if (mode === "plain") {
            assert.deepEqual(counts, { futex: 0, kill: 0, proc: 0, marked: true });
          } else {
            assert.equal(counts.futex, 100, JSON.stringify(counts));
          }
        } finally {
          unlinkIfThere({ shm: [name] });
        }
      },
    );
  }
}
