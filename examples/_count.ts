/**
 * What count01 and count02 share once each has its counter and its lock:
 * the parent starts the child (this script again, with `--child`), both add
 * 1 to the counter LOOPS times under the lock, printing each value, and the
 * parent reports the final value, which must be exactly 2 × LOOPS.
 *
 * The docs' programs fork, so both sides start at once. Starting a runtime
 * takes far longer than counting, so here the lock is made at 0 and the
 * child's first post opens it: the parent cannot count alone before the
 * child runs, and the two really contend for the lock.
 *
 * @module
 */
import { spawn } from "node:child_process";
import process from "node:process";
import { type Context, RUNTIME } from "./_cli.ts";
import { acquire, breathe, type Waitable } from "./_wait.ts";

/** The command line both programs take. */
export interface CountArgs {
  loops: number;
  quiet?: boolean;
  child?: boolean;
  unlocked?: boolean;
}

/** A semaphore used as a lock: named (count01) or in the mapping (count02). */
export interface Lock extends Waitable {
  post(): void;
}

/**
 * Runs one side. `childArgs` tells the child where the counter and the lock
 * are; the parent stops the child on any exit of its own. Returns the exit
 * status for `main()`: 0 when the final value is exact and the child
 * succeeded.
 */
export async function countTogether(
  name: string,
  { args, cleanup, signal }: Context & { args: CountArgs },
  shared: { counter: { count: number }; lock: Lock; childArgs: readonly string[] },
): Promise<number> {
  const { counter, lock } = shared;
  const child = args.child ? undefined : spawnSelf([
    String(args.loops),
    ...shared.childArgs,
    "--child",
    ...(args.quiet ? ["--quiet"] : []),
    ...(args.unlocked ? ["--unlocked"] : []),
  ]);
  if (child !== undefined) cleanup.defer(() => child.running && process.kill(child.pid, "SIGTERM"));

  const who = args.child ? "child" : "parent";
  if (args.child) {
    lock.post(); // the start: see the module comment
  } else {
    await acquire(lock, signal); // the child has started: give the unit back
    lock.post();
  }
  for (let i = 0; i < args.loops; i++) {
    await breathe();
    if (!args.unlocked) await acquire(lock, signal);
    // Read, print, write: the docs' printf("%d", (*ptr)++) under the lock.
    const value = counter.count + 1;
    if (!args.quiet) console.log(`${who}: ${value}`);
    counter.count = value;
    if (!args.unlocked) lock.post();
  }
  if (child === undefined) return 0;

  const childStatus = await child.exited;
  const final = counter.count;
  const expected = 2 * args.loops;
  console.log(`${name}: final value ${final}, expected 2 x ${args.loops} = ${expected}`);
  if (childStatus !== 0) {
    console.error(`${name}: the child exited with status ${childStatus}`);
    return 1;
  }
  return final === expected ? 0 : 1;
}

type DenoCommand = new (command: string, options: {
  args: string[];
  stdin: "null";
  stdout: "inherit";
  stderr: "inherit";
}) => { spawn(): { pid: number; status: Promise<{ code: number; signal: string | null }> } };

type Deno = {
  Command: DenoCommand;
  permissions: { querySync(d: { name: string }): { state: string } };
};

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

/**
 * Starts this script again under this runtime (a JavaScript runtime cannot
 * fork), sharing this process's stdout and stderr: `bun script.ts`, or
 * `deno run <the permissions this process has> script.ts`. Under Deno it
 * uses `Deno.Command`, which passes the environment on without needing
 * `--allow-env`. `exited` resolves with the exit status (128 + n when
 * killed by signal n).
 */
function spawnSelf(args: readonly string[]) {
  const script = process.argv[1];
  let running = true;
  const status = (code: number | null, signal: string | null) => {
    running = false;
    return code ?? 128 + (SIGNAL_NUMBERS[signal ?? ""] ?? 0);
  };
  let pid: number;
  let exited: Promise<number>;
  if (RUNTIME === "deno") {
    const deno = (globalThis as unknown as { Deno: Deno }).Deno;
    const granted = ["ffi", "read", "write", "run", "env", "sys", "net"]
      .filter((name) => deno.permissions.querySync({ name }).state === "granted")
      .map((name) => `--allow-${name}`);
    const child = new deno.Command(process.execPath, {
      args: ["run", "--quiet", "--no-prompt", ...granted, script, ...args],
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    pid = child.pid;
    exited = child.status.then(({ code, signal }) => status(signal ? null : code, signal));
  } else {
    const child = spawn(process.execPath, [script, ...args], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    pid = child.pid!;
    exited = new Promise<number>((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve(status(code, signal)));
    });
  }
  return {
    pid,
    exited,
    get running() {
      return running;
    },
  };
}
