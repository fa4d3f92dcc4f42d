#!/usr/bin/env node
// The main demo: a Deno process and a Bun process share one POSIX shared
// memory object. Replaced by the full count03 + producer/consumer tour when
// the examples land.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const mod = pathToFileURL(path.join(root, "mod.ts")).href;
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const dir = mkdtempSync(path.join(tmpdir(), "shmkit-demo-"));
const name = `/shmkit-demo-${process.pid}`;

const writer = path.join(dir, "writer.ts");
writeFileSync(
  writer,
  `
import { SharedMemory } from "${mod}";
const shm = SharedMemory.create("${name}", 1 << 20);
const words = shm.view(Uint32Array);
for (let i = 0; i < words.length; i++) words[i] = i;
console.log("deno: created ${name}, 1 MiB, wrote", words.length, "words");
shm.close();
`,
);
const reader = path.join(dir, "reader.ts");
writeFileSync(
  reader,
  `
import { SharedMemory } from "${mod}";
using shm = SharedMemory.open("${name}");
const words = shm.view(Uint32Array);
let sum = 0n;
for (const w of words) sum += BigInt(w);
console.log("bun:  opened ${name},", shm.size, "bytes, sum of words =", sum);
shm.unlink();
`,
);

const started = performance.now();
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { stdio: "inherit" });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    process.exit(r.status ?? 1);
  }
};
run(bin("deno"), ["run", "--quiet", "--allow-ffi", writer]);
run(bin("bun"), ["run", reader]);
rmSync(dir, { recursive: true, force: true });
console.log(`two runtimes, one region, ${(performance.now() - started).toFixed(0)} ms`);
