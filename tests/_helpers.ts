/**
 * Test helpers: run TypeScript in a second Deno or Bun process, compile small
 * C programs, and make unique names. Shared by every test file; runs
 * unchanged under `deno test` and `bun test`.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { ipcObjects } from "../scripts/ipc_objects.mjs";

export { ipcObjects };

export const ROOT = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
/** file:// URL of the package entry point, for child scripts to import. */
export const MOD_URL = new URL("../mod.ts", import.meta.url).href;

export type Runtime = "deno" | "bun";
export const RUNTIMES: readonly Runtime[] = ["deno", "bun"];

/** The runtime this test file runs under. */
export const CURRENT: Runtime = "Deno" in globalThis ? "deno" : "bun";

const BIN = path.join(ROOT, "node_modules", ".bin");
export const DENO = path.join(BIN, "deno");
export const BUN = path.join(BIN, "bun");

/** The command line that runs a TypeScript file under a runtime. */
export function commandFor(
  runtime: Runtime,
  file: string,
  args: readonly string[] = [],
  denoFlags: readonly string[] = DEFAULT_DENO_FLAGS,
) {
  return runtime === "deno"
    ? { command: DENO, args: ["run", "--quiet", "--no-prompt", ...denoFlags, file, ...args] }
    : { command: BUN, args: ["run", file, ...args] };
}

/** What a child script gets under Deno unless a test asks for other flags. */
export const DEFAULT_DENO_FLAGS: readonly string[] = [
  "--allow-ffi",
  "--allow-read",
  "--allow-write",
  "--allow-env",
  "--allow-run",
  "--allow-sys",
];

export interface ProcessResult {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  args?: readonly string[];
  stdin?: string;
  timeoutMs?: number;
  env?: Record<string, string>;
  /** Permission flags for a Deno child (e.g. ["--allow-all"] to read /proc). */
  denoFlags?: readonly string[];
}

let scratch: string | undefined;
/** A private temporary folder for this test process, removed at exit. */
export function scratchDir(): string {
  if (scratch === undefined) {
    scratch = mkdtempSync(path.join(tmpdir(), "shmkit-test-"));
    const dir = scratch;
    const remove = () => rmSync(dir, { recursive: true, force: true });
    // Bun and node fire "exit"; deno test fires only the web "unload" event.
    process.on("exit", remove);
    globalThis.addEventListener?.("unload", remove);
  }
  return scratch;
}

let counter = 0;
/** A fresh name no other test (or test process) uses. */
export function uniqueName(label: string): string {
  counter += 1;
  return `/shmkit-test-${label}-${process.pid}-${counter}`;
}

/** A fresh scratch file path. */
export function scratchPath(label: string, extension = ""): string {
  counter += 1;
  return path.join(scratchDir(), `${label}-${counter}${extension}`);
}

/** Runs a command to completion, collecting its output. */
export function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<ProcessResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, NO_COLOR: "1", ...options.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? "");
  });
}

/**
 * Runs `source` as a TypeScript program in a new process of `runtime`. The
 * text `$MOD` in the source is replaced by the URL of mod.ts.
 */
export function runScript(
  runtime: Runtime,
  source: string,
  options: RunOptions = {},
): Promise<ProcessResult> {
  const file = scratchPath(`child-${runtime}`, ".ts");
  writeFileSync(file, source.replaceAll("$MOD", MOD_URL));
  const { command, args } = commandFor(runtime, file, options.args ?? [], options.denoFlags);
  return runCommand(command, args, options);
}

/** Compiles a C program with cc and returns the executable's path. */
export async function compileC(source: string, label = "prog", flags: string[] = []) {
  const file = scratchPath(label, ".c");
  const exe = file.slice(0, -2);
  writeFileSync(file, source);
  const result = await runCommand("cc", ["-O2", "-o", exe, file, ...flags, "-lpthread", "-lrt"]);
  if (result.code !== 0) throw new Error(`cc failed for ${label}:\n${result.stderr}`);
  return exe;
}

/** Throws with the child's output when it did not exit 0. */
export function assertSucceeded(result: ProcessResult, what = "child"): void {
  if (result.code !== 0) {
    throw new Error(
      `${what} exited with ${
        result.code ?? result.signal
      }\nstdout: ${result.stdout}\nstderr: ${result.stderr}`,
    );
  }
}

/** The entries of `after` that `before` did not have. */
export function newObjects(before: Set<string>, after: Set<string> = ipcObjects()): string[] {
  return [...after].filter((o) => !before.has(o));
}
