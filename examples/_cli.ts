/**
 * What `parseArgs` (node:util) leaves to the examples: `--help`, one-line
 * errors, the Deno permission check, numbers checked against a range, and
 * clean-up on Ctrl-C (SIGINT) or SIGTERM.
 *
 * Exit codes: 0 success, 1 the operation failed (the message says why),
 * 2 bad command line, 130 interrupted by SIGINT, 143 by SIGTERM.
 *
 * @module
 */
import process from "node:process";

/** The runtime running this script. */
export const RUNTIME: "deno" | "bun" = "Deno" in globalThis ? "deno" : "bun";

/** A command line the example cannot run with: it exits 2. */
class UsageError extends Error {}

function usage(message: string): never {
  throw new UsageError(message);
}

/**
 * The command line for `parseArgs`, which takes `-3` for an option: a negative
 * number after a long option is joined to it (`--type=-2`); one standing alone
 * starts the positionals (`-- -3`), where its argument's range check refuses it.
 */
export const ARGS: string[] = [];
for (const word of process.argv.slice(2)) {
  const last = ARGS.at(-1) ?? "";
  if (!/^-\d/.test(word) || ARGS.includes("--")) ARGS.push(word);
  else if (/^--[^=]+$/.test(last)) ARGS[ARGS.length - 1] = `${last}=${word}`;
  else ARGS.push("--", word);
}

type Range = { min?: number; max?: number };

/** `text` as an integer (decimal or 0x hex) from `min` to `max`. */
export function integer(label: string, text: string, range?: Range): number {
  const value = /^[+-]?(0x[0-9a-f]+|\d+)$/i.test(text.trim()) ? Number(text) : NaN;
  return within(label, text, Number.isSafeInteger(value) ? value : NaN, "an integer", range);
}

/** `text` as a finite number from `min` to `max`. */
export function number(label: string, text: string, range?: Range): number {
  return within(label, text, text.trim() === "" ? NaN : Number(text), "a number", range);
}

function within(label: string, text: string, value: number, what: string, range: Range = {}) {
  const { min = -Infinity, max = Infinity } = range;
  const bounds = max === Infinity ? `at least ${min}` : `from ${min} to ${max}`;
  if (!Number.isFinite(value)) usage(`${label} must be ${what}, got ${JSON.stringify(text)}`);
  if (value < min || value > max) usage(`${label} must be ${what} ${bounds}, got ${text}`);
  return value;
}

/** Permission bits as chmod takes them: 600, 0600 or 0o600. */
export function octal(label: string, text: string): number {
  if (/^(0o?)?[0-7]{1,3}$/i.test(text)) return parseInt(text.replace(/^0o/i, ""), 8);
  return usage(`${label} must be octal permission bits, got ${JSON.stringify(text)}`);
}

/** Refuses the positionals left after those an example takes. */
export function noMore(extra: readonly string[]): void {
  if (extra.length > 0) usage(`unexpected argument ${JSON.stringify(extra[0])}`);
}

/** What an example's body receives. */
export interface Context {
  /** Undoes what this process created, last first, on every exit. */
  cleanup: DisposableStack;
  /** Aborted on SIGINT or SIGTERM, for async waits to stop at once. */
  signal: AbortSignal;
}

type Deno = { permissions: { querySync(d: { name: string }): { state: string } } };

const oneLine = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).replace(/\s*\n\s*/g, " ");

/**
 * Runs an example. `--help` or `-h` prints `help` and exits 0. Under Deno,
 * the permissions that the `deno run` line of `help` names are checked
 * first: without them the example would create a file it cannot remove, or
 * fail halfway. Then `body` runs, parsing its arguments with parseArgs; it
 * returns the exit status (nothing for 0). A parseArgs error or UsageError
 * exits 2, any other error 1, with one line on stderr; SIGINT and SIGTERM
 * exit 130 and 143. `cleanup` is disposed on each of these exits.
 */
export async function main(
  name: string,
  help: string,
  body: (context: Context) => Promise<number | void> | number | void,
): Promise<never> {
  const options = ARGS.includes("--") ? ARGS.slice(0, ARGS.indexOf("--")) : ARGS;
  if (options.includes("--help") || options.includes("-h")) {
    console.log(help);
    return process.exit(0);
  }
  const deno = (globalThis as { Deno?: Deno }).Deno;
  const missing = (/deno run ((?:--allow-\w+ )+)/.exec(help)?.[1].trim().split(" ") ?? [])
    .filter((flag) =>
      deno && deno.permissions.querySync({ name: flag.slice(8) }).state !== "granted"
    );
  if (missing.length > 0) {
    console.error(`${name}: Deno needs ${missing.join(" ")} for this example (see --help)`);
    return process.exit(2);
  }
  const cleanup = new DisposableStack();
  const controller = new AbortController();
  const exit = (status: number, signal?: string): never => {
    if (signal) controller.abort(new Error(`interrupted by ${signal}`));
    try {
      cleanup.dispose();
    } catch (error) {
      console.error(`${name}: could not clean up: ${oneLine(error)}`);
    }
    if (signal) console.error(`${name}: interrupted by ${signal}, cleaned up`);
    return process.exit(status);
  };
  process.on("SIGINT", () => exit(130, "SIGINT"));
  process.on("SIGTERM", () => exit(143, "SIGTERM"));
  try {
    return exit((await body({ cleanup, signal: controller.signal })) ?? 0);
  } catch (error) {
    const code = String((error as { code?: unknown }).code);
    const badUsage = error instanceof UsageError || code.startsWith("ERR_PARSE_ARGS");
    const text = oneLine(error).replace(/^Unknown option '([^']*)'.*/, "unknown option $1");
    console.error(`${name}: ${text}${badUsage ? " (see --help)" : ""}`);
    return exit(badUsage ? 2 : 1);
  }
}
