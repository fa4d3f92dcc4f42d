#!/usr/bin/env node
// The main demo (`npm run demo`): real shared memory between Deno and Bun
// processes, through the ported examples.
//
// 1. count03: one count03_server and four count03_client processes, two
//    under Deno and two under Bun, add to one counter in a POSIX shared
//    memory object under a process-shared semaphore; the total is exact.
// 2. producer/consumer, two ways, under the same load: a consumer under Bun
//    and two producers (Deno, Bun). First through shared slots guarded by
//    three semaphores, where every message is accounted for: received +
//    dropped = sent; then through a Channel, where a full ring makes the
//    sender wait, so every message arrives, each producer's in order. Both
//    get a time and a throughput, side by side.
//
// Prints a short summary saying where each number came from, and leaves
// nothing behind in /dev/shm. Usage: node scripts/demo.mjs [LOOPS] [MESSAGES]
import { spawn } from "node:child_process";
import { existsSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const bin = (name) => path.join(root, "node_modules", ".bin", name);
const example = (name) => path.join(root, "examples", `${name}.ts`);
const LOOPS = Number(process.argv[2] ?? 100_000);
const MESSAGES = Number(process.argv[3] ?? 500);
const SLOTS = 16;
const CAPACITY = 4096; // the channel's ring: as many bytes as the 16 slots of 256
if (!Number.isSafeInteger(LOOPS) || LOOPS < 1 || !Number.isSafeInteger(MESSAGES) || MESSAGES < 1) {
  console.error("usage: node scripts/demo.mjs [LOOPS] [MESSAGES] (positive integers)");
  process.exit(2);
}

const RUNTIMES = {
  deno: (
    file,
    args,
  ) => [bin("deno"), ["run", "--quiet", "--no-prompt", "--allow-ffi", file, ...args]],
  bun: (file, args) => [bin("bun"), [file, ...args]],
};

const running = new Set();
const names = [];

/** Starts an example; resolves `done` with its exit code and output. */
function start(runtime, name, args) {
  const [command, full] = RUNTIMES[runtime](example(name), args);
  const child = spawn(command, full, { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  const proc = { runtime, name, child, stdout: "", stderr: "", waiters: [] };
  child.stdout.setEncoding("utf8").on("data", (d) => {
    proc.stdout += d;
    proc.waiters = proc.waiters.filter(([re, resolve]) => {
      const m = proc.stdout.match(re);
      if (m) resolve(m);
      return !m;
    });
  });
  child.stderr.setEncoding("utf8").on("data", (d) => (proc.stderr += d));
  proc.done = new Promise((resolve) => {
    child.on("error", (error) => {
      proc.stderr += String(error);
      resolve(127);
    });
    child.on("close", (code, signal) => {
      running.delete(child);
      for (const [, , reject] of proc.waiters) reject();
      resolve(code ?? signal);
    });
  });
  proc.waitFor = (re) =>
    new Promise((resolve, reject) => {
      const m = proc.stdout.match(re);
      if (m) resolve(m);
      else proc.waiters.push([re, resolve, () => reject(failure(proc, `never printed ${re}`))]);
    });
  return proc;
}

function failure(proc, what) {
  return new Error(
    `${proc.runtime} ${proc.name}: ${what}\n${proc.stdout.slice(-2000)}${proc.stderr.slice(-2000)}`,
  );
}

async function finished(proc) {
  const code = await proc.done;
  if (code !== 0) throw failure(proc, `exited with ${code}`);
  return proc.stdout;
}

/**
 * Stops what still runs (SIGTERM: the examples remove their objects on it),
 * waits for it to end (SIGKILL after 5 s), then removes any object left.
 * Returns how many processes it stopped and the names it removed.
 */
async function cleanUp() {
  const children = [...running];
  const ended = children.map((child) => new Promise((resolve) => child.once("close", resolve)));
  for (const child of children) child.kill("SIGTERM");
  let timer;
  const late = new Promise((resolve) => (timer = setTimeout(resolve, 5000)));
  await Promise.race([Promise.all(ended), late]);
  clearTimeout(timer);
  for (const child of running) child.kill("SIGKILL");
  const removed = [];
  for (const name of names) {
    const file = `/dev/shm${name}`;
    if (!existsSync(file)) continue;
    // What shm_unlink does on Linux; force: an example may remove it first.
    rmSync(file, { force: true });
    removed.push(name);
  }
  return { stopped: children.length, removed };
}

const fmt = (n) => n.toLocaleString("en-US");
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;

async function counter() {
  const name = `/shmkit-demo-count03-${process.pid}`;
  names.push(name);
  const started = performance.now();
  const server = start("deno", "count03_server", ["--name", name, "--clients", "4"]);
  await server.waitFor(/ready on /);
  const clients = ["deno", "deno", "bun", "bun"].map((rt) =>
    start(rt, "count03_client", [String(LOOPS), "--name", name, "--quiet"])
  );
  const outputs = await Promise.all(clients.map(finished));
  const serverOut = await finished(server);
  const elapsed = performance.now() - started;
  const total = Number(/total (\d+) from (\d+) clients/.exec(serverOut)?.[1]);
  const added = outputs.map((o) => /(\w+) pid (\d+) added (\d+)/.exec(o));
  return { name, elapsed, total, added };
}

async function messages() {
  const name = `/shmkit-demo-prodcons-${process.pid}`;
  names.push(name);
  const started = performance.now();
  const consumer = start("bun", "consumer", [
    "--name",
    name,
    "--slots",
    String(SLOTS),
    "--producers",
    "2",
    "--quiet",
  ]);
  await consumer.waitFor(/ready on /);
  // One steady producer (a message per millisecond) and one burst with no
  // pause, which fills the slots faster than they drain and must drop.
  const producers = [
    start("deno", "producer", [String(MESSAGES), "--name", name, "--delay", "1"]),
    start("bun", "producer", [String(MESSAGES), "--name", name]),
  ];
  const outputs = await Promise.all(producers.map(finished));
  const consumerOut = await finished(consumer);
  const elapsed = performance.now() - started;
  const [, received, dropped, sent] = /received (\d+) \+ dropped (\d+) = sent (\d+)/
    .exec(consumerOut).map(Number);
  const per = outputs.map((o, i) => {
    const [, s, stored, d] = /sent (\d+), stored (\d+), dropped (\d+)/.exec(o).map(Number);
    return {
      runtime: producers[i].runtime,
      pid: producers[i].child.pid,
      style: i === 0 ? "steady, 1 per ms" : "burst, no pause",
      sent: s,
      stored,
      dropped: d,
    };
  });
  return { name, elapsed, received, dropped, sent, per };
}

/** The same load as `messages`, through a Channel (channel_producer/consumer). */
async function channelMessages() {
  const name = `/shmkit-demo-channel-${process.pid}`;
  names.push(name);
  const started = performance.now();
  const consumer = start("bun", "channel_consumer", [
    "--name",
    name,
    "--capacity",
    String(CAPACITY),
    "--producers",
    "2",
    "--quiet",
  ]);
  await consumer.waitFor(/ready on /);
  const producers = [
    start("deno", "channel_producer", [String(MESSAGES), "--name", name, "--delay", "1"]),
    start("bun", "channel_producer", [String(MESSAGES), "--name", name]),
  ];
  const outputs = await Promise.all(producers.map(finished));
  const consumerOut = await finished(consumer);
  const elapsed = performance.now() - started;
  const [, received, from] = /received (\d+) from (\d+) producers/.exec(consumerOut).map(Number);
  const inOrder = /, each in order, none missing\n$/.test(consumerOut);
  const per = outputs.map((o, i) => ({
    runtime: producers[i].runtime,
    pid: producers[i].child.pid,
    style: i === 0 ? "steady, 1 per ms" : "burst, no pause",
    sent: Number(/sent (\d+) to /.exec(o)[1]),
  }));
  return { name, elapsed, received, from, inOrder, per };
}

/** Runs both parts, printing each summary; true when every number is exact. */
async function runDemo() {
  const t0 = performance.now();
  let ok = true;
  console.log("shmkit demo: Deno and Bun processes sharing memory through libc\n");

  const c = await counter();
  const expected = 4 * LOOPS;
  const countOk = c.total === expected;
  ok &&= countOk;
  console.log(`1. Shared counter (examples/count03_server.ts + count03_client.ts)`);
  console.log(`   processes : 5 = 1 server (deno) + 4 clients (2 deno, 2 bun)`);
  console.log(
    `   operations: ${fmt(expected)} increments = 4 clients x ${fmt(LOOPS)}, each under one sem_t`,
  );
  console.log(`               living in the POSIX object ${c.name}`);
  for (const [, rt, pid, n] of c.added) {
    console.log(`               ${rt.padEnd(4)} pid ${pid} added ${fmt(+n)}`);
  }
  console.log(
    `   total     : ${fmt(c.total)} (read by the server from the shared int)  ${
      countOk ? "= expected, exact" : `!= ${fmt(expected)}`
    }`,
  );
  console.log(`   elapsed   : ${seconds(c.elapsed)}\n`);

  const m = await messages();
  const balanced = m.received + m.dropped === m.sent && m.sent === 2 * MESSAGES;
  ok &&= balanced;
  const ch = await channelMessages();
  const delivered = ch.received === 2 * MESSAGES && ch.from === 2 && ch.inOrder &&
    ch.per.every((p) => p.sent === MESSAGES);
  ok &&= delivered;
  console.log(
    `2. Producer/consumer, the same load two ways: 1 consumer (bun) + 2 producers (deno, bun), ${
      fmt(MESSAGES)
    } messages each`,
  );
  console.log(
    `   a) semaphore ring: examples/producer.ts + consumer.ts, ${SLOTS} slots in ${m.name}`,
  );
  console.log(`   guarded by: 3 sem_t in the region (mutex, empty slots, stored slots)`);
  for (const p of m.per) {
    console.log(
      `               ${p.runtime.padEnd(4)} pid ${p.pid} (${p.style}): sent ${
        fmt(p.sent)
      }, stored ${fmt(p.stored)}, dropped ${fmt(p.dropped)}`,
    );
  }
  console.log(
    `   account   : received ${fmt(m.received)} (counted by the consumer) + dropped ${
      fmt(m.dropped)
    } (no free slot; shared count)`,
  );
  console.log(
    `               = sent ${fmt(m.sent)} (shared count)  ${
      balanced ? "balanced" : "DOES NOT BALANCE"
    }`,
  );
  console.log(
    `   b) Channel: examples/channel_producer.ts + channel_consumer.ts, a ${
      fmt(CAPACITY)
    }-byte ring in ${ch.name}`,
  );
  console.log(`   guarded by: the Channel; a full ring makes send wait, so nothing is dropped`);
  for (const p of ch.per) {
    console.log(
      `               ${p.runtime.padEnd(4)} pid ${p.pid} (${p.style}): sent ${fmt(p.sent)}`,
    );
  }
  console.log(
    `   account   : received ${fmt(ch.received)} (counted by the consumer) of sent ${
      fmt(ch.per.reduce((sum, p) => sum + p.sent, 0))
    }  ${delivered ? "each producer's in order, none missing" : "NOT ALL, OR OUT OF ORDER"}`,
  );
  const column = (a, b) => `${a.padEnd(20)}${b}`;
  const rate = (n, ms) => `${fmt(Math.round(n / (ms / 1000)))} msg/s`;
  console.log(`               ${column("semaphore ring", "Channel")}`);
  console.log(
    `   received  : ${
      column(`${fmt(m.received)} of ${fmt(m.sent)}`, `${fmt(ch.received)} of ${fmt(2 * MESSAGES)}`)
    }`,
  );
  console.log(`   elapsed   : ${column(seconds(m.elapsed), seconds(ch.elapsed))}`);
  console.log(
    `   throughput: ${
      column(rate(m.received, m.elapsed), rate(ch.received, ch.elapsed))
    }  (received / elapsed; both paced by the steady producer, process starts included)\n`,
  );

  const left = names.filter((n) => existsSync(`/dev/shm${n}`));
  ok &&= left.length === 0;
  console.log(
    `11 processes, 2 runtimes, ${seconds(performance.now() - t0)} in all; left in /dev/shm: ${
      left.length === 0 ? "nothing" : left.join(", ")
    }`,
  );
  return ok;
}

// The run ends with its result, or earlier on Ctrl-C, SIGTERM or the time
// limit; either way everything is stopped and removed before the exit.
const LIMIT_S = 120; // a minute is plenty even on a loaded machine
const interrupted = new Promise((resolve) => {
  for (const [signal, status] of [["SIGINT", 130], ["SIGTERM", 143]]) {
    process.on(signal, () => resolve({ why: `interrupted by ${signal}`, status }));
  }
  setTimeout(() => resolve({ why: `no result after ${LIMIT_S} s`, status: 1 }), LIMIT_S * 1000)
    .unref();
});
const work = runDemo().then((ok) => ({ ok }), (error) => ({ error }));
const outcome = await Promise.race([work, interrupted]);
const { stopped, removed } = await cleanUp();
if ("status" in outcome) {
  const what = removed.length > 0 ? removed.join(", ") : "nothing (none left)";
  console.error(`demo: ${outcome.why}; stopped ${stopped} processes, removed ${what}`);
  process.exit(outcome.status);
}
if ("error" in outcome) console.error(`demo failed: ${outcome.error.message}`);
process.exit(outcome.ok ? 0 : 1);
