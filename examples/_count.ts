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
import process from "node:process";
import { acquire, breathe, type Cleanup, spawnSelf, type Waitable } from "./_cli.ts";

/** LOOPS, the first positional argument of both programs. */
export const LOOPS = {
  kind: "integer",
  help: "increments by each process",
  default: 1000,
  min: 0,
} as const;

/** The options of both programs besides where the counter and the lock are. */
export const COUNT_OPTIONS = {
  quiet: { kind: "boolean", short: "q", help: "print only the final line" },
  child: { kind: "boolean", help: "run as the child", hidden: true },
  unlocked: {
    kind: "boolean",
    help: "count without taking the lock, to show the updates it loses",
    hidden: true,
  },
} as const;

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
  context: { args: CountArgs; cleanup: Cleanup; signal: AbortSignal },
  shared: { counter: { count: number }; lock: Lock; childArgs: readonly string[] },
): Promise<number> {
  const { args, cleanup, signal } = context;
  const { counter, lock } = shared;
  const child = args.child ? undefined : spawnSelf([
    String(args.loops),
    ...shared.childArgs,
    "--child",
    ...(args.quiet ? ["--quiet"] : []),
    ...(args.unlocked ? ["--unlocked"] : []),
  ]);
  if (child !== undefined) {
    cleanup.defer("stop the child", () => {
      if (child.running) process.kill(child.pid, "SIGTERM");
    });
  }

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
