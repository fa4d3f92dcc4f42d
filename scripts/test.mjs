#!/usr/bin/env node
// Runs the whole suite under Deno, then under Bun, and prints one closing
// line that counts both: "tests: N passed, N failed". Extra arguments are
// test files or folders (default: tests/).
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

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
      const m = /\|\s*(\d+) passed[^|]*\|\s*(\d+) failed/.exec(out);
      return m ? { passed: +m[1], failed: +m[2] } : null;
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
      return p ? { passed: +p[1], failed: f ? +f[1] : 0 } : null;
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
// named semaphores) and System V segments, semaphore sets and queues.
function ipcObjects() {
  const found = new Set(readdirSync("/dev/shm").map((n) => `/dev/shm/${n}`));
  for (const kind of ["shm", "sem", "msg"]) {
    const table = `/proc/sysvipc/${kind}`;
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const [key, id] = line.trim().split(/\s+/);
      found.add(`System V ${kind} key ${key} id ${id}`);
    }
  }
  return found;
}

let passed = 0;
let failed = 0;
let broken = false;
for (const r of runs) {
  console.log(`\n=== ${r.runtime}: ${[path.basename(r.command), ...r.args].join(" ")}`);
  const before = ipcObjects();
  const { code, signal, out } = await run(r);
  const left = [...ipcObjects()].filter((o) => !before.has(o));
  if (left.length > 0) {
    console.log(`=== ${r.runtime}: the suite left behind: ${left.join(", ")}`);
    // Other test runs on a developer's machine may own these; CI runs alone.
    if (process.env.CI) failed += 1;
  }
  const counts = r.parse(out);
  if (!counts) {
    console.log(`=== ${r.runtime}: no test summary found (exit ${code ?? signal})`);
    broken = true;
    continue;
  }
  console.log(
    `=== ${r.runtime}: ${counts.passed} passed, ${counts.failed} failed (exit ${code ?? signal})`,
  );
  passed += counts.passed;
  failed += counts.failed;
  if (code !== 0 && counts.failed === 0) broken = true;
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
process.exit(failed > 0 || broken ? 1 : 0);
