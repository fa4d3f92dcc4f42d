#!/usr/bin/env node
// Runs the whole suite under Deno, then under Bun, and prints one closing
// line that counts both: "tests: N passed, N failed, N skipped". Extra
// arguments are test files or folders (default: tests/).
//
// It fails when a runtime ran no test, when the runtimes ran different
// numbers of tests (every test file runs unchanged under both), when a run
// left IPC objects or scratch folders behind, and when a runner exits non-zero.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { ipcObjects } from "./ipc_objects.mjs";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const targets = process.argv.slice(2);
const files = targets.length > 0 ? targets : ["tests/"];

const runs = [
  {
    runtime: "deno",
    command: bin("deno"),
    args: [
      "test",
      // FFI is full access anyway; /dev/shm and /proc also need it in Deno.
      "--allow-all",
      ...files,
    ],
    parse(out) {
      const m = /\|\s*(\d+) passed[^|]*\|\s*(\d+) failed(?:[^|\n]*\|\s*(\d+) ignored)?/.exec(out);
      return m ? { passed: +m[1], failed: +m[2], skipped: +(m[3] ?? 0) } : null;
    },
  },
  {
    runtime: "bun",
    command: bin("bun"),
    args: [
      "test",
      "--timeout",
      "120000",
      ...files.map((f) => (f.startsWith(".") || f.startsWith("/") ? f : "./" + f)),
    ],
    parse(out) {
      const p = /^\s*(\d+) pass\s*$/m.exec(out);
      const f = /^\s*(\d+) fail\s*$/m.exec(out);
      const k = /^\s*(\d+) skip\s*$/m.exec(out);
      return p ? { passed: +p[1], failed: f ? +f[1] : 0, skipped: k ? +k[1] : 0 } : null;
    },
  },
];

function run({ command, args }) {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on("close", (code, signal) => resolve({ code, signal, out }));
  });
}

// What the suite must not leave behind: /dev/shm entries (POSIX objects and
// named semaphores), System V segments, semaphore sets and queues, and the
// tests' scratch folders.
function leftovers() {
  const found = ipcObjects();
  for (const n of readdirSync(tmpdir())) {
    if (n.startsWith("shmkit-test-")) found.add(path.join(tmpdir(), n));
  }
  return found;
}

let passed = 0;
let failed = 0;
let skipped = 0;
const problems = [];
const ran = [];
for (const r of runs) {
  console.log(`\n=== ${r.runtime}: ${[path.basename(r.command), ...r.args].join(" ")}`);
  const before = leftovers();
  const { code, signal, out } = await run(r);
  const left = [...leftovers()].filter((o) => !before.has(o));
  if (left.length > 0) problems.push(`${r.runtime}: the suite left behind: ${left.join(", ")}`);
  const counts = r.parse(out);
  if (!counts) {
    problems.push(`${r.runtime}: no test summary found (exit ${code ?? signal})`);
    continue;
  }
  console.log(
    `=== ${r.runtime}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped (exit ${
      code ?? signal
    })`,
  );
  passed += counts.passed;
  failed += counts.failed;
  skipped += counts.skipped;
  const total = counts.passed + counts.failed + counts.skipped;
  if (total === 0) problems.push(`${r.runtime}: ran no test`);
  if (code !== 0 && counts.failed === 0) {
    problems.push(`${r.runtime}: the runner exited ${code ?? signal} with no failed test`);
  }
  ran.push({ runtime: r.runtime, total });
}
if (ran.length === runs.length && new Set(ran.map((r) => r.total)).size > 1) {
  problems.push(
    `the runtimes ran different numbers of tests: ${
      ran.map((r) => `${r.runtime} ${r.total}`).join(", ")
    }`,
  );
}
for (const problem of problems) console.log(`=== FAIL: ${problem}`);
console.log(`\ntests: ${passed} passed, ${failed + problems.length} failed, ${skipped} skipped`);
process.exit(failed > 0 || problems.length > 0 ? 1 : 0);
