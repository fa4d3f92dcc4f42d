/**
 * The main demo (`npm run demo`, scripts/demo.mjs): its summary, its exit
 * code, and what it leaves behind, also after Ctrl-C in a terminal (SIGINT
 * to the whole process group: the demo and every example it started).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import process from "node:process";
import { type ProcessResult, ROOT } from "./_helpers.ts";
import * as ex from "./examples_helpers.ts";

/** Runs the demo as the leader of a new process group, as a shell would. */
function demo(args: string[]) {
  const child = spawn("node", [path.join(ROOT, "scripts", "demo.mjs"), ...args], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 60_000);
  const done = new Promise<ProcessResult>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  // Its objects are named after its pid.
  return { done, pid: child.pid!, objects: () => ex.shmEntries(`shmkit-demo-`) };
}

test("the demo prints exact totals and a balanced account, exits 0 and leaves nothing", async () => {
  const run = demo(["2000", "100"]);
  const result = await run.done;
  ex.assertExit(result, 0, "demo");
  const out = result.stdout;
  assert.match(out, /processes : 5 = 1 server \(deno\) \+ 4 clients \(2 deno, 2 bun\)/);
  assert.match(out, /operations: 8,000 increments = 4 clients x 2,000/);
  assert.match(out, /total {5}: 8,000 \(read by the server from the shared int\) {2}= expected/);
  const account = /received (\d+) .* \+ dropped (\d+) .*\n.*= sent 200 \(shared count\) {2}balanced/
    .exec(out);
  assert.ok(account, out);
  assert.equal(Number(account[1]) + Number(account[2]), 200);
  assert.match(
    out,
    /account {3}: received 200 \(counted by the consumer\) of sent 200 {2}each producer's in order, none missing\n/,
  );
  assert.match(out, /11 processes, 2 runtimes, [\d.]+ s in all; left in \/dev\/shm: nothing\n$/);
  assert.equal(result.stderr, "");
  assert.deepEqual(run.objects().filter((name) => name.endsWith(`-${run.pid}`)), []);
});

test("Ctrl-C during the demo stops every process it started and leaves nothing", async () => {
  const run = demo(["100000000"]);
  const mine = () => run.objects().filter((name) => name.endsWith(`-${run.pid}`));
  // The server's object appears once the counting has started.
  const deadline = performance.now() + 30_000;
  while (mine().length === 0 && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(mine().length, 1, "the demo started counting");
  process.kill(-run.pid, "SIGINT");
  const result = await run.done;
  ex.assertExit(result, 130, "interrupted demo");
  assert.match(result.stderr, /^demo: interrupted by SIGINT; stopped \d+ processes, removed /);
  assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  assert.deepEqual(mine(), []);
  // Nothing of the group is left running. A child the demo stopped may
  // still be a zombie for a moment (reparented, not yet reaped), and a
  // zombie still answers kill(-group, 0): allow it a few seconds to go.
  const gone = performance.now() + 5_000;
  const groupAlive = () => {
    try {
      process.kill(-run.pid, 0);
      return true;
    } catch (error) {
      assert.equal((error as { code?: string }).code, "ESRCH");
      return false;
    }
  };
  while (groupAlive() && performance.now() < gone) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.equal(groupAlive(), false, "a process of the demo's group is still running");
});
