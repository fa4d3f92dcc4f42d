/**
 * Helpers for the example tests: run an example under Deno with only the
 * flags its header declares (so the claim is tested) or under Bun, follow a
 * long-running one line by line, and check that nothing was left behind.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import process from "node:process";
import assert from "node:assert/strict";
import { BUN, DENO, type ProcessResult, ROOT, runCommand, type Runtime } from "./_helpers.ts";

/**
 * The `deno run` flags that the header of examples/NAME.ts declares, as in
 * `deno run --allow-ffi --allow-write examples/NAME.ts`: the examples run
 * with exactly these, so that the claim is tested.
 */
export function declaredDenoFlags(name: string): string[] {
  const source = readFileSync(path.join(ROOT, "examples", `${name}.ts`), "utf8");
  const line = new RegExp(`deno run ((?:--allow-[a-z]+ )+)examples/${name}\\.ts`).exec(source);
  if (line === null) throw new Error(`examples/${name}.ts shows no "deno run" line`);
  return line[1].trim().split(" ");
}

/**
 * The command line that runs examples/NAME.ts under `runtime`; under Deno
 * with the flags its header declares unless `denoFlags` replaces them.
 */
export function exampleCommand(
  runtime: Runtime,
  name: string,
  args: readonly string[] = [],
  denoFlags: readonly string[] = declaredDenoFlags(name),
) {
  const file = path.join(ROOT, "examples", `${name}.ts`);
  return runtime === "deno"
    ? { command: DENO, args: ["run", "--quiet", "--no-prompt", ...denoFlags, file, ...args] }
    : { command: BUN, args: [file, ...args] };
}

/** Runs an example to completion. */
export function run(
  runtime: Runtime,
  name: string,
  args: readonly string[] = [],
  options: { stdin?: string; timeoutMs?: number; denoFlags?: readonly string[] } = {},
): Promise<ProcessResult> {
  const { command, args: full } = exampleCommand(runtime, name, args, options.denoFlags);
  return runCommand(command, full, { timeoutMs: 60_000, ...options });
}

/**
 * A running example whose output can be awaited line by line. Declare it
 * with `using`: leaving the scope stops it if it still runs, so that a
 * failed test leaves no process behind to disturb the next one.
 */
export class Running {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<ProcessResult>;
  #closed = false;
  #waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray | null) => void }[] = [];

  constructor(runtime: Runtime, name: string, args: readonly string[], stdin?: string) {
    const { command, args: full } = exampleCommand(runtime, name, args);
    this.child = spawn(command, full, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1" },
    });
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 60_000);
    this.child.stdout!.setEncoding("utf8").on("data", (d: string) => {
      this.stdout += d;
      this.#check();
    });
    this.child.stderr!.setEncoding("utf8").on("data", (d: string) => (this.stderr += d));
    this.child.stdin!.end(stdin ?? "");
    this.done = new Promise((resolve, reject) => {
      this.child.on("error", reject);
      // "close", not "exit": only then has all the output been read.
      this.child.on("close", (code, signal) => {
        clearTimeout(timer);
        this.#closed = true;
        this.#check();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  #check(): void {
    this.#waiters = this.#waiters.filter(({ pattern, resolve }) => {
      const match = this.stdout.match(pattern);
      if (match !== null || this.#closed) resolve(match);
      return match === null && !this.#closed;
    });
  }

  /**
   * Resolves when stdout matches `pattern`; throws if the process ends
   * first, or after `timeoutMs` (a generous bound: it only ends a test that
   * would otherwise hang).
   */
  async waitFor(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const found = await new Promise<RegExpMatchArray | null>((resolve) => {
      this.#waiters.push({ pattern, resolve });
      this.#check();
      timer = setTimeout(() => resolve(null), timeoutMs);
    });
    clearTimeout(timer);
    if (found === null) {
      throw new Error(
        `no ${pattern} in the output\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
      );
    }
    return found;
  }

  /** Sends a signal and waits for the process to end. */
  async interrupt(signal: "SIGINT" | "SIGTERM" | "SIGKILL" = "SIGINT"): Promise<ProcessResult> {
    // process.kill, not child.kill: Deno's child.kill reports the signal it
    // sent as the outcome even when the child handles it and exits 130.
    if (!this.#closed && this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.child.pid!, signal);
    }
    return await this.done;
  }

  /**
   * Stops the process if it still runs, with SIGTERM so that it removes
   * what it created (the 60 s limit above still ends one that hangs).
   */
  [Symbol.dispose](): void {
    if (!this.#closed && this.child.exitCode === null && this.child.signalCode === null) {
      process.kill(this.child.pid!, "SIGTERM");
    }
  }
}

/** The keys of the System V segments and queues that exist now. */
function keysInUse(): Set<number> {
  const keys = new Set<number>();
  for (const table of ["/proc/sysvipc/shm", "/proc/sysvipc/msg"]) {
    const lines = readFileSync(table, "utf8").trim().split("\n").slice(1);
    for (const line of lines) keys.add(Number(line.trim().split(/\s+/)[0]) >>> 0);
  }
  return keys;
}

/**
 * How many processes have the System V segment with `key` attached
 * (`nattch` of /proc/sysvipc/shm), or null when there is no such segment.
 */
export function attachCount(key: number): number | null {
  const lines = readFileSync("/proc/sysvipc/shm", "utf8").trim().split("\n").slice(1);
  for (const line of lines) {
    const [k, , , , , , nattch] = line.trim().split(/\s+/);
    if (Number(k) >>> 0 === key >>> 0) return Number(nattch);
  }
  return null;
}

let keySeq = 0;
/**
 * A System V key no other test process uses: pid-derived, and skipping any
 * key a segment or queue already has (left by a killed run, or by a process
 * whose pid shares our low 16 bits), since an example would attach to it
 * instead of creating its own.
 */
export function uniqueKey(): number {
  const taken = keysInUse();
  for (;;) {
    keySeq += 1;
    const key = 0x4b000000 + ((process.pid & 0xffff) << 8) + (keySeq & 0xff);
    if (!taken.has(key)) return key;
  }
}

/** Entries of /dev/shm whose name contains `label` (objects and `sem.` files). */
export function shmEntries(label: string): string[] {
  return readdirSync("/dev/shm").filter((entry) => entry.includes(label));
}

/** The System V objects (`ipcs -m` and `-q` lines) that use `key`. */
export async function ipcsWith(key: number): Promise<string[]> {
  const hex = "0x" + (key >>> 0).toString(16).padStart(8, "0");
  const result = await runCommand("ipcs", ["-m", "-q"]);
  return result.stdout.split("\n").filter((line) => line.startsWith(hex));
}

/** Asserts that nothing named `label` is in /dev/shm and no object uses `key`. */
export async function assertClean(options: { label?: string; key?: number; file?: string }) {
  if (options.label !== undefined) assert.deepEqual(shmEntries(options.label), []);
  if (options.key !== undefined) assert.deepEqual(await ipcsWith(options.key), []);
  if (options.file !== undefined) assert.equal(existsSync(options.file), false, options.file);
}

/** Asserts the exit code, with the output in the message when it differs. */
export function assertExit(result: ProcessResult, code: number, what = "example"): void {
  assert.equal(
    result.code,
    code,
    `${what} exited with ${
      result.code ?? result.signal
    }, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
  );
}

/** Asserts a failure: the given exit code and exactly one line on stderr. */
export function assertOneLineError(
  result: ProcessResult,
  code: number,
  pattern: RegExp,
  what = "example",
): void {
  assertExit(result, code, what);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${result.stderr}`);
  assert.match(lines[0], pattern);
}

/** Checks `--help` of an example: exit 0, the summary and usage on stdout. */
export async function assertHelp(runtime: Runtime, name: string): Promise<void> {
  const result = await run(runtime, name, ["--help"]);
  assertExit(result, 0, `${name} --help`);
  assert.match(result.stdout, new RegExp(`^${name}: `));
  assert.match(result.stdout, new RegExp(`usage: ${name}`));
  // --help shows the same flags as the header, the ones the tests run with.
  const flags = declaredDenoFlags(name).join(" ");
  assert.ok(result.stdout.includes(`deno run ${flags} examples/${name}.ts`), result.stdout);
}

/** Starts an example; see {@linkcode Running}. */
export function start(
  runtime: Runtime,
  name: string,
  args: readonly string[],
  stdin?: string,
): Running {
  return new Running(runtime, name, args, stdin);
}

/** The examples: every examples/NAME.ts but the `_` helpers. */
export const EXAMPLES: readonly string[] = readdirSync(path.join(ROOT, "examples"))
  .filter((file) => file.endsWith(".ts") && !file.startsWith("_"))
  .map((file) => file.slice(0, -".ts".length))
  .sort();

/** The other runtime. */
export function other(runtime: Runtime): Runtime {
  return runtime === "deno" ? "bun" : "deno";
}
