/**
 * Channel throughput between two processes, beside a pipe and a Unix domain
 * socket between the same two runtimes, and beside C:
 *
 *   deno run -A bench/channel_bench.ts [--c EXE] [--warm MS] [--timed MS] [--repeats N]
 *   bun bench/channel_bench.ts
 *
 * Every measurement is one sender process and one receiver process
 * (bench/_channel_peer.ts) for each of Deno→Deno, Bun→Bun, Deno→Bun and
 * Bun→Deno, with fixed-size messages of 64 B, 4 KiB and 64 KiB:
 *
 * - channel: a 1 MiB Channel, `send` one message at a time, `recvInto` a
 *   reused buffer; one row with the receiver on `for await` (a copy each).
 * - pipe: a FIFO, node:fs `writeSync` one message at a time, `readSync` 64 KiB
 *   at a time (so the receiver takes many small messages per call).
 * - socket: a Unix domain stream socket through the runtime's own API (faster
 *   than node:net in both): Deno.connect + `await conn.write` one message at
 *   a time, Deno.listen + `conn.read` 64 KiB at a time; Bun.connect +
 *   `socket.write` one message at a time (waiting for `drain` when it writes
 *   short), Bun.listen `data` callbacks.
 *
 * The receiver counts whole messages over a window of --timed ms (default
 * 400) that starts --warm ms (default 200) after its first message, then
 * stops the sender; a row is the median of --repeats runs (default 3).
 * `npm run bench` (scripts/bench.mjs) compiles bench/channel_bench.c with
 * cc -O2 and passes it as --c: its rows (memcpy of 64 KiB blocks in one
 * process, and a bare C ring between two processes at each size) go beside
 * the others. Prints one JSON object per line per measurement, then a
 * markdown table.
 *
 * @module
 */
import process from "node:process";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Channel } from "../mod.ts";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const peer = path.join(root, "bench", "_channel_peer.ts");

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : process.argv[at + 1];
}
const cExe = option("--c", "");
const WARM_MS = Number(option("--warm", "200"));
const TIMED_MS = Number(option("--timed", "400"));
const REPEATS = Number(option("--repeats", "3"));

type Runtime = "deno" | "bun";
const commands: Record<Runtime, (args: string[]) => [string, string[]]> = {
  deno: (args) => [path.join(root, "node_modules", ".bin", "deno"), ["run", "-A", peer, ...args]],
  bun: (args) => [path.join(root, "node_modules", ".bin", "bun"), [peer, ...args]],
};
const pairs: [Runtime, Runtime][] = [["deno", "deno"], ["bun", "bun"], ["deno", "bun"], [
  "bun",
  "deno",
]];
const SIZES = [64, 4096, 65536];
const label = (runtime: Runtime) => (runtime === "deno" ? "Deno" : "Bun");
const sizeLabel = (size: number) => (size >= 1024 ? `${size / 1024} KiB` : `${size} B`);

interface Case {
  transport: "channel" | "channel-borrow" | "channel-async" | "pipe" | "socket";
  size: number;
}
const cases: Case[] = [];
for (const size of SIZES) {
  for (const transport of ["channel", "socket", "pipe"] as const) cases.push({ transport, size });
}
cases.push({ transport: "channel-borrow", size: 65536 });
cases.push({ transport: "channel-async", size: 64 });

function exited(child: ReturnType<typeof spawn>, who: string): Promise<string> {
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (text: string) => (out += text));
  child.stderr!.setEncoding("utf8").on("data", (text: string) => (err += text));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve, reject) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${who} failed (${code ?? signal}):\n${err}`));
    })
  );
}

/** One measurement: messages per second at the receiver. */
async function measure(
  scratch: string,
  sender: Runtime,
  receiver: Runtime,
  { transport, size }: Case,
  index: number,
): Promise<number> {
  const address = transport.startsWith("channel")
    ? `/shmkit-bench-channel-${process.pid}-${index}`
    : path.join(scratch, `${transport}-${index}`);
  let channel: Channel | undefined;
  if (transport.startsWith("channel")) channel = Channel.create(address);
  else if (transport === "pipe") spawnSync("mkfifo", [address]);
  try {
    const args = (role: string) => [
      transport,
      role,
      String(size),
      address,
      String(WARM_MS),
      String(TIMED_MS),
    ];
    const start = (runtime: Runtime, role: string) => {
      const [command, commandArgs] = commands[runtime](args(role));
      return exited(
        spawn(command, commandArgs, { cwd: root, stdio: ["ignore", "pipe", "pipe"] }),
        `${runtime} ${transport} ${role}`,
      );
    };
    const [received] = await Promise.all([start(receiver, "recv"), start(sender, "send")]);
    const { messages, ms } = JSON.parse(received.trim().split("\n").at(-1)!);
    return messages / (ms / 1000);
  } finally {
    channel?.close();
    if (channel !== undefined) Channel.unlink(address);
    rmSync(address, { force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * bench/channel_bench.c's rows, messages per second by case ("memcpy 64 KiB",
 * "ring 64", ...), echoed as they are.
 */
function cReference(): Record<string, number> {
  if (cExe === "") return {};
  const result = spawnSync(cExe, [], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${cExe} failed:\n${result.stderr}`);
  const found: Record<string, number> = {};
  for (const line of result.stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    const row = JSON.parse(line);
    found[row.case] = row.perSecond ?? row.bytesPerSecond / 65536;
    console.log(line);
  }
  return found;
}

const key = (sender: Runtime, receiver: Runtime, { transport, size }: Case) =>
  `${transport} ${size} ${sender}->${receiver}`;

const scratch = mkdtempSync(path.join(tmpdir(), "shmkit-bench-channel-"));
const runs: Record<string, number[]> = {};
const reference = cReference();
try {
  let index = 0;
  // Repeats outermost, so that a slow spell of the VM spreads over all rows.
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    for (const [sender, receiver] of pairs) {
      for (const item of cases) {
        const name = key(sender, receiver, item);
        process.stderr.write(`channel bench ${repeat + 1}/${REPEATS}: ${name}\n`);
        const perSecond = await measure(scratch, sender, receiver, item, index++);
        (runs[name] ??= []).push(perSecond);
        console.log(
          JSON.stringify({ case: name, repeat, perSecond, bytesPerSecond: perSecond * item.size }),
        );
      }
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function rate(perSecond: number, size: number): string {
  const messages = perSecond >= 1e6
    ? `${(perSecond / 1e6).toFixed(2)} M/s`
    : `${(perSecond / 1e3).toFixed(0)} k/s`;
  const bytes = perSecond * size / 1e6;
  return `${messages}, ${bytes >= 100 ? bytes.toFixed(0) : bytes.toFixed(1)} MB/s`;
}

const titles: Record<Case["transport"], string> = {
  channel: "Channel send / recvInto",
  "channel-borrow": "Channel send / borrow (zero-copy receive)",
  "channel-async": "Channel send / `for await`",
  socket: "Unix socket (Deno/Bun native)",
  pipe: "pipe (FIFO, node:fs sync)",
};
const header = pairs.map(([s, r]) => `${label(s)}→${label(r)}`);
const lines = [
  `| messages of | transport | ${header.join(" | ")} |`,
  `| --- | --- | ${header.map(() => "---:").join(" | ")} |`,
];
const value = (sender: Runtime, receiver: Runtime, item: Case) =>
  median(runs[key(sender, receiver, item)]);
const row = (size: number, title: string, cells: string[]) =>
  lines.push(`| ${sizeLabel(size)} | ${title} | ${cells.join(" | ")} |`);
for (const item of cases) {
  const { size } = item;
  row(size, titles[item.transport], pairs.map(([s, r]) => rate(value(s, r, item), size)));
  if (item.transport === "channel-borrow") {
    const copy = reference["memcpy 64 KiB"];
    const ratio = (s: Runtime, r: Runtime) => `${(value(s, r, item) / copy).toFixed(2)}x`;
    if (copy !== undefined) {
      row(
        size,
        "Channel send / borrow vs `memcpy`",
        pairs.map(([s, r]) => ratio(s, r)),
      );
    }
  }
  if (item.transport !== "pipe") continue;
  // After the last transport of a size: the C references and the ratios.
  const channel: Case = { transport: "channel", size };
  const socket: Case = { transport: "socket", size };
  const ratios = (title: string, of: (s: Runtime, r: Runtime) => number, digits = 1) =>
    row(size, title, pairs.map(([s, r]) => `${of(s, r).toFixed(digits)}x`));
  const ring = reference[`ring ${size}`];
  if (ring !== undefined) {
    row(
      size,
      "C ring (2 processes, spinning)",
      pairs.map(() => rate(ring, size)),
    );
  }
  ratios("Channel vs socket", (s, r) => value(s, r, channel) / value(s, r, socket));
  if (ring !== undefined) ratios("Channel vs C ring", (s, r) => value(s, r, channel) / ring, 2);
  const copy = reference["memcpy 64 KiB"];
  if (size === 65536 && copy !== undefined) {
    row(size, "C `memcpy` (1 process)", pairs.map(() => rate(copy, size)));
    ratios("Channel vs `memcpy`", (s, r) => value(s, r, channel) / copy, 2);
  }
}
console.log(
  `\n### Channel: one sender process → one receiver process (messages/s and MB/s at the receiver, median of ${REPEATS})\n`,
);
console.log(lines.join("\n"));
console.log(`\n${process.platform}-${process.arch}, ${new Date().toISOString().slice(0, 10)}`);
