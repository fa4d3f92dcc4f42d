/**
 * What every example shares, kept in one place: argument parsing with
 * `--help`, one-line errors with a non-zero exit, cleanup on normal exit and
 * on Ctrl-C (SIGINT) or SIGTERM, reading standard input line by line, and
 * starting a second process of the same script under the same runtime (a
 * JavaScript runtime cannot fork).
 *
 * Exit codes: 0 success, 1 the operation failed (the message says why),
 * 2 bad command line, 130 interrupted by SIGINT, 143 by SIGTERM.
 *
 * @module
 */
import { type ChildProcess, spawn } from "node:child_process";
import process from "node:process";
import { createInterface } from "node:readline";
import { setImmediate } from "node:timers";
import { setTimeout as delay } from "node:timers/promises";

/** The runtime running this script. */
export const RUNTIME: "deno" | "bun" = "Deno" in globalThis ? "deno" : "bun";

type Kind = "string" | "integer" | "number" | "boolean" | "octal";
type ValueOf<K extends Kind> = K extends "string" ? string : K extends "boolean" ? boolean
: number;

/** One positional argument or `--option`. */
export interface Param<K extends Kind = Kind> {
  kind: K;
  /** Shown in `--help`. */
  help: string;
  /** Used when the argument is absent; without one the value is undefined. */
  default?: ValueOf<K>;
  /** Smallest accepted number (integer and number kinds). */
  min?: number;
  /** Largest accepted number (integer and number kinds). */
  max?: number;
  /** A one-letter alias, e.g. `"e"` for `-e`. */
  short?: string;
  /** The value's name in `--help`, e.g. `NAME`. */
  placeholder?: string;
  /** Not listed in `--help` (used between the processes of one example). */
  hidden?: boolean;
}

/**
 * The `--mode` option of the examples that create System V objects: private
 * to this user (0600) unless asked. The docs' C passes 0666; a C program run
 * by the same user attaches to a 0600 object all the same.
 */
export function modeOption(what: string): Param<"octal"> & { default: number } {
  return {
    kind: "octal",
    help: `permissions of the ${what} if created; the docs use 0666`,
    default: 0o600,
    placeholder: "MODE",
  };
}

/** What an example declares about its command line. */
export interface Spec {
  /** The program's name, e.g. `count01`. */
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Paragraphs after the usage: how it maps to the docs, what it removes. */
  details?: string;
  /** The `deno run` flags it needs besides `--allow-ffi`, e.g. `--allow-run`. */
  denoFlags?: string;
  positionals: Record<string, Param>;
  options: Record<string, Param>;
}

type Values<R extends Record<string, Param>> = {
  [K in keyof R]: R[K] extends { default: unknown } ? ValueOf<R[K]["kind"]>
    : ValueOf<R[K]["kind"]> | undefined;
};

/** The parsed command line: positionals and options by name. */
export type Args<S extends Spec> = Values<S["positionals"]> & Values<S["options"]>;

/** A command line the example cannot run with; exits with status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
}

function convert(param: Param, label: string, text: string): string | number | boolean {
  switch (param.kind) {
    case "string":
      return text;
    case "octal":
      // Permission bits as chmod takes them: 600, 0600 or 0o600.
      if (/^(0o?)?[0-7]{1,3}$/i.test(text)) return parseInt(text.replace(/^0o/i, ""), 8);
      throw new UsageError(`${label} must be octal permission bits, got ${JSON.stringify(text)}`);
    case "boolean":
      if (text === "true") return true;
      if (text === "false") return false;
      throw new UsageError(`${label} must be true or false, got ${JSON.stringify(text)}`);
    case "integer":
    case "number": {
      const value = param.kind === "integer"
        ? (/^[+-]?(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text) : NaN)
        : (text.trim() === "" ? NaN : Number(text));
      const what = param.kind === "integer" ? "an integer" : "a number";
      const min = param.min ?? -Number.MAX_SAFE_INTEGER;
      const max = param.max ?? Number.MAX_SAFE_INTEGER;
      if (!Number.isFinite(value) || (param.kind === "integer" && !Number.isSafeInteger(value))) {
        throw new UsageError(`${label} must be ${what}, got ${JSON.stringify(text)}`);
      }
      if (value < min || value > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
        throw new UsageError(`${label} must be ${what} ${range}, got ${text}`);
      }
      return value;
    }
  }
}

function show(param: Param): string {
  if (param.kind === "string") return JSON.stringify(param.default);
  if (param.kind === "octal") return "0" + (param.default as number).toString(8);
  return String(param.default);
}

/** The `--help` text of an example. */
export function helpText(spec: Spec): string {
  const positionals = Object.entries(spec.positionals);
  const options = Object.entries(spec.options).filter(([, p]) => !p.hidden);
  const usage = [
    spec.name,
    ...positionals.map(([n]) => `[${n.toUpperCase()}]`),
    options.length > 0 ? "[options]" : "",
  ].filter(Boolean).join(" ");
  const row = (left: string, param: Param) => {
    const fallback = param.default === undefined || param.default === false
      ? ""
      : ` (default ${show(param)})`;
    return `  ${left.padEnd(26)} ${param.help}${fallback}`;
  };
  const lines = [`${spec.name}: ${spec.summary}`, "", `usage: ${usage}`];
  if (positionals.length > 0) {
    lines.push("", "arguments:");
    for (const [name, p] of positionals) lines.push(row(name.toUpperCase(), p));
  }
  lines.push("", "options:");
  for (const [name, p] of options) {
    const flag = `--${kebab(name)}` + (p.kind === "boolean" ? "" : ` ${p.placeholder ?? "N"}`);
    lines.push(row(p.short ? `-${p.short}, ${flag}` : flag, p));
  }
  lines.push(row("-h, --help", { kind: "boolean", help: "show this help and exit" }));
  if (spec.details) lines.push("", spec.details.trim());
  const flags = ["--allow-ffi", spec.denoFlags ?? ""].filter(Boolean).join(" ");
  lines.push(
    "",
    "run with:",
    `  deno run ${flags} examples/${spec.name}.ts ...`,
    `  bun examples/${spec.name}.ts ...`,
  );
  return lines.join("\n");
}

/**
 * Parses `argv` against `spec`. Throws UsageError for anything it does not
 * understand; returns null when `--help` was asked for.
 */
export function parseArgs<S extends Spec>(spec: S, argv: readonly string[]): Args<S> | null {
  const values: Record<string, unknown> = {};
  const byFlag = new Map<string, [string, Param]>();
  for (const [name, p] of Object.entries(spec.options)) {
    byFlag.set(`--${kebab(name)}`, [name, p]);
    if (p.short) byFlag.set(`-${p.short}`, [name, p]);
  }
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") return null;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith("-") && arg.length > 1 && !/^-\d/.test(arg)) {
      const eq = arg.indexOf("=");
      const flag = eq > 0 ? arg.slice(0, eq) : arg;
      const entry = byFlag.get(flag);
      if (entry === undefined) throw new UsageError(`unknown option ${flag}`);
      const [name, p] = entry;
      if (p.kind === "boolean") {
        values[name] = eq > 0 ? convert(p, flag, arg.slice(eq + 1)) : true;
        continue;
      }
      const text = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (text === undefined) throw new UsageError(`${flag} needs a value`);
      values[name] = convert(p, flag, text);
      continue;
    }
    positionals.push(arg);
  }
  const names = Object.keys(spec.positionals);
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument ${JSON.stringify(positionals[names.length])}`);
  }
  names.forEach((name, i) => {
    if (i < positionals.length) {
      values[name] = convert(spec.positionals[name], name.toUpperCase(), positionals[i]);
    }
  });
  for (const [name, p] of [...Object.entries(spec.positionals), ...Object.entries(spec.options)]) {
    if (values[name] === undefined && p.default !== undefined) values[name] = p.default;
  }
  return values as Args<S>;
}

/** Undo actions, run last-in first-out, once, on any kind of exit. */
export class Cleanup {
  #actions: { label: string; run: () => void }[] = [];
  #ran = false;

  /** Registers an action; `label` names it in error messages. */
  defer(label: string, run: () => void): void {
    this.#actions.push({ label, run });
  }

  /** Runs every action; failures are reported on stderr, not thrown. */
  run(program: string): void {
    if (this.#ran) return;
    this.#ran = true;
    for (const { label, run } of this.#actions.reverse()) {
      try {
        run();
      } catch (error) {
        console.error(`${program}: could not ${label}: ${oneLine(error)}`);
      }
    }
  }
}

/** What an example's body receives. */
export interface Context<S extends Spec> {
  args: Args<S>;
  /** Register what this process created; it runs on every exit. */
  cleanup: Cleanup;
  /** Aborted on SIGINT or SIGTERM, for async waits to stop at once. */
  signal: AbortSignal;
}

/** The flags of `spec.denoFlags` that this Deno process was not given. */
function missingDenoFlags(spec: Spec): string[] {
  if (RUNTIME !== "deno" || !spec.denoFlags) return [];
  const deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;
  return spec.denoFlags.split(" ").filter((flag) => {
    const name = flag.replace(/^--allow-/, "");
    return deno.permissions.querySync({ name }).state !== "granted";
  });
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\s*\n\s*/g, " ");
}

/**
 * Runs an example: parses the command line (printing `--help`), calls
 * `body`, then runs the cleanup and exits with the body's status (0 when it
 * returns nothing). An error exits 1 (2 for a UsageError) with one line on
 * stderr; SIGINT and SIGTERM run the cleanup and exit 130 or 143.
 */
export async function main<S extends Spec>(
  spec: S,
  body: (context: Context<S>) => Promise<number | void> | number | void,
): Promise<never> {
  let args: Args<S> | null;
  try {
    args = parseArgs(spec, process.argv.slice(2));
  } catch (error) {
    console.error(`${spec.name}: ${oneLine(error)} (see --help)`);
    return process.exit(2);
  }
  if (args === null) {
    console.log(helpText(spec));
    return process.exit(0);
  }
  // Refused before anything is created: without them, the example would
  // create a file it could not remove, or fail halfway.
  const missing = missingDenoFlags(spec);
  if (missing.length > 0) {
    console.error(`${spec.name}: Deno needs ${missing.join(" ")} for this example (see --help)`);
    return process.exit(2);
  }
  const cleanup = new Cleanup();
  const controller = new AbortController();
  const onSignal = (signal: "SIGINT" | "SIGTERM") => {
    controller.abort(new Error(`interrupted by ${signal}`));
    cleanup.run(spec.name);
    console.error(`${spec.name}: interrupted by ${signal}, cleaned up`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  };
  process.on("SIGINT", () => onSignal("SIGINT"));
  process.on("SIGTERM", () => onSignal("SIGTERM"));
  let status: number;
  try {
    status = (await body({ args, cleanup, signal: controller.signal })) ?? 0;
  } catch (error) {
    console.error(`${spec.name}: ${oneLine(error)}`);
    status = error instanceof UsageError ? 2 : 1;
  }
  cleanup.run(spec.name);
  return process.exit(status);
}

/** Resolves after `ms` milliseconds, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal });
}

/**
 * The lines of standard input, without their line ends, ending at EOF.
 * Reading is asynchronous, so SIGINT is handled while waiting for input.
 */
export async function* stdinLines(): AsyncGenerator<string> {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
  try {
    for await (const line of lines) yield line;
  } finally {
    lines.close();
  }
}

/**
 * The writer's loop of the docs' shm2.c and msg2.c: prompts "Enter some
 * text: " when standard input is a terminal, passes each line (without its
 * line end) to `send` until one that starts with "end", and at the end of
 * input without one sends "end" itself, so that the reader stops. Returns
 * how many texts were sent and whether the input said "end".
 */
export async function sendLines(
  send: (line: string) => Promise<unknown>,
): Promise<{ sent: number; ended: boolean }> {
  const prompt = () => process.stdin.isTTY && process.stdout.write("Enter some text: ");
  let sent = 0;
  prompt();
  for await (const line of stdinLines()) {
    await send(line);
    sent += 1;
    if (line.startsWith("end")) return { sent, ended: true };
    prompt();
  }
  await send("end");
  return { sent: sent + 1, ended: false };
}

interface DenoRuntime {
  permissions: { querySync(d: { name: string }): { state: string } };
  Command: new (command: string, options: {
    args: string[];
    stdin: "null";
    stdout: "inherit";
    stderr: "inherit";
  }) => { spawn(): { pid: number; status: Promise<{ code: number; signal: string | null }> } };
}

/**
 * The command line that runs this same script again under this runtime:
 * `bun script.ts`, or `deno run <the permissions this process has> script.ts`.
 */
export function selfCommand(args: readonly string[]): { command: string; args: string[] } {
  const script = process.argv[1];
  if (RUNTIME === "bun") return { command: process.execPath, args: [script, ...args] };
  const deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;
  const granted = ["ffi", "read", "write", "run", "env", "sys", "net"]
    .filter((name) => deno.permissions.querySync({ name }).state === "granted")
    .map((name) => `--allow-${name}`);
  return {
    command: process.execPath,
    args: ["run", "--quiet", "--no-prompt", ...granted, script, ...args],
  };
}

/** A second process of this script. */
export interface Child {
  readonly pid: number;
  /** Resolves with its exit status (128 + n when killed by signal n). */
  readonly exited: Promise<number>;
  /** True until it exits. */
  readonly running: boolean;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts this script again under this runtime, sharing this process's
 * stdout and stderr. Under Deno it uses `Deno.Command`, which passes the
 * environment on without needing `--allow-env`.
 */
export function spawnSelf(args: readonly string[]): Child {
  const { command, args: full } = selfCommand(args);
  let running = true;
  const status = (code: number | null, signal: string | null) => {
    running = false;
    return code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0);
  };
  if (RUNTIME === "deno") {
    const deno = (globalThis as unknown as { Deno: DenoRuntime }).Deno;
    const child = new deno.Command(command, {
      args: full,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const exited = child.status.then(({ code, signal }) => status(signal ? null : code, signal));
    return {
      pid: child.pid,
      exited,
      get running() {
        return running;
      },
    };
  }
  const child: ChildProcess = spawn(command, full, { stdio: ["ignore", "inherit", "inherit"] });
  const exited = new Promise<number>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(status(code, signal)));
  });
  return {
    pid: child.pid!,
    exited,
    get running() {
      return running;
    },
  };
}

/** The text of a NUL-terminated C string stored in `bytes`. */
export function cText(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** What `acquire` needs of a semaphore (memory-based or named). */
export interface Waitable {
  tryWait(timeoutMs?: number): boolean;
  waitAsync(options?: { timeout?: number; signal?: AbortSignal }): Promise<void>;
}

let lastBreath = performance.now();

/**
 * Lets the event loop run, at most every 10 ms: a loop whose awaits all
 * resolve at once never reaches it, and then Ctrl-C would wait for the end.
 */
export function breathe(): Promise<void> | undefined {
  const now = performance.now();
  if (now - lastBreath < 10) return undefined;
  lastBreath = now;
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Takes one unit of `semaphore`: at once when it is free, else by waiting
 * asynchronously, so that Ctrl-C is handled even while another process
 * holds it. Await the result. It never yields to the event loop after
 * taking the unit, so that no signal handler runs while it is held; loops
 * whose waits all succeed at once should `await breathe()` between turns.
 */
export function acquire(semaphore: Waitable, signal: AbortSignal): Promise<void> | undefined {
  if (semaphore.tryWait()) return undefined;
  return semaphore.waitAsync({ signal });
}
