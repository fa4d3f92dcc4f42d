#!/usr/bin/env node
// `npm run bench`: the sync/ benchmark under Deno and Bun against its C
// counterpart compiled in the same run (cc -O2), printed as one markdown
// table with ratios to C; then the channel benchmark (its own table: it runs
// Deno and Bun peers itself, beside bench/channel_bench.c's memcpy and C ring); then
// every other bench/*_bench.ts under both runtimes, as those scripts print
// themselves.
//
//   node scripts/bench.mjs            # everything
//   node scripts/bench.mjs sync       # only the sync table
//   node scripts/bench.mjs channel    # only the channel table
//   COUNT=200000 node scripts/bench.mjs sync   # a shorter count workload
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const only = process.argv[2];
const COUNT = Number(process.env.COUNT ?? 1_000_000);
const REPEATS = 3;

const runtimes = {
  deno: (file, args) => [bin("deno"), ["run", "--allow-all", file, ...args]],
  bun: (file, args) => [bin("bun"), [file, ...args]],
};

function run(command, args) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", maxBuffer: 1 << 24 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")} failed (${result.status ?? result.signal}):\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/** Parses the JSON lines a bench prints into { case: value }. */
function rows(output) {
  const found = {};
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const row = JSON.parse(line);
    found[row.case] = row.ns ?? row.perSecond;
  }
  return found;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function syncBench() {
  const scratch = mkdtempSync(path.join(tmpdir(), "shmkit-bench-"));
  try {
    const exe = path.join(scratch, "sync_bench");
    run("cc", ["-O2", "-o", exe, path.join(root, "bench", "sync_bench.c"), "-lpthread"]);
    const script = path.join(root, "bench", "sync_bench.ts");
    const commands = {
      c: (args) => [exe, args],
      deno: (args) => runtimes.deno(script, args),
      bun: (args) => runtimes.bun(script, args),
    };
    const results = {};
    for (const [who, command] of Object.entries(commands)) {
      process.stderr.write(`sync bench: ${who} pairs\n`);
      results[who] = rows(run(...command(["pair"])));
      for (const primitive of ["mutex", "semaphore", "named"]) {
        process.stderr.write(`sync bench: ${who} count ${primitive}\n`);
        const runs = [];
        for (let i = 0; i < REPEATS; i++) {
          runs.push(
            rows(run(...command(["count", primitive, String(COUNT)])))[`count ${primitive}`],
          );
        }
        results[who][`count ${primitive}`] = median(runs);
      }
    }
    return results;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function table(results) {
  const cases = Object.keys(results.deno);
  const lines = [
    "| case | C | Deno | Deno vs C | Bun | Bun vs C |",
    "| --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const name of cases) {
    const count = name.startsWith("count ");
    const c = results.c[name];
    const cell = (value) =>
      value === undefined
        ? "—"
        : count
        ? `${(value / 1e6).toFixed(1)} M/s`
        : `${value.toFixed(1)} ns`;
    // Pairs: time, lower is better, ratio = TS / C. Count: throughput, higher
    // is better, ratio = TS / C as well (so 0.5x means half of C's rate).
    const ratio = (
      value,
    ) => (c === undefined || value === undefined ? "—" : `${(value / c).toFixed(2)}x`);
    const label = count ? `${name} (2 processes, ${COUNT.toLocaleString("en")} each)` : name;
    lines.push(
      `| ${label} | ${cell(c)} | ${cell(results.deno[name])} | ${ratio(results.deno[name])} | ${
        cell(results.bun[name])
      } | ${ratio(results.bun[name])} |`,
    );
  }
  return lines.join("\n");
}

if (only === undefined || only === "sync") {
  const results = syncBench();
  console.log(
    "\n### sync: uncontended pairs (ns per pair, lower is better) and the count workload (increments/s, higher is better)\n",
  );
  console.log(table(results));
  console.log(`\n${process.platform}-${process.arch}, ${new Date().toISOString().slice(0, 10)}`);
}

function channelBench() {
  const scratch = mkdtempSync(path.join(tmpdir(), "shmkit-bench-"));
  try {
    const exe = path.join(scratch, "channel_bench");
    run("cc", ["-O2", "-o", exe, path.join(root, "bench", "channel_bench.c")]);
    // Deno drives; the peers it spawns are Deno and Bun. Progress goes to stderr as it runs.
    const [command, args] = runtimes.deno(path.join(root, "bench", "channel_bench.ts"), [
      "--c",
      exe,
    ]);
    const result = spawnSync(command, args, {
      cwd: root,
      encoding: "utf8",
      maxBuffer: 1 << 24,
      stdio: ["ignore", "pipe", "inherit"],
    });
    if (result.status !== 0) {
      throw new Error(`channel bench failed (${result.status ?? result.signal})`);
    }
    return result.stdout;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (only === undefined || only === "channel") {
  // The JSON lines are the raw runs; the table follows them.
  console.log(channelBench().trimEnd());
}

if (only === undefined || (only !== "sync" && only !== "channel")) {
  const others = readdirSync(path.join(root, "bench"))
    .filter((file) => file.endsWith("_bench.ts"))
    .filter((file) => file !== "sync_bench.ts" && file !== "channel_bench.ts")
    .filter((file) => only === undefined || file.startsWith(only));
  for (const file of others) {
    for (const [runtime, command] of Object.entries(runtimes)) {
      console.log(`\n### ${file} (${runtime})\n`);
      console.log(run(...command(path.join(root, "bench", file), [])).trimEnd());
    }
  }
}
