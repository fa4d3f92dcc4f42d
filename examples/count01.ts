/**
 * count01: a parent and a child process each add 1 to a counter in a mapped
 * file LOOPS times, taking a **named** semaphore (`sem_open`) around each
 * increment and printing the value they saw; the final value is exactly
 * 2 × LOOPS. The docs' `count01.c` forks; a JavaScript runtime cannot, so the
 * child is this same script started again under the same runtime.
 *
 *   deno run --allow-ffi --allow-write --allow-run examples/count01.ts 1000
 *   bun examples/count01.ts 1000
 *
 * `--allow-run` starts the child; `--allow-write` removes the file at exit.
 *
 * @module
 */
import process from "node:process";
import { unlinkSync } from "node:fs";
import { i32, MappedFile, NamedSemaphore, struct } from "../mod.ts";
import { acquire, breathe, type Child, main, spawnSelf } from "./_cli.ts";

const spec = {
  name: "count01",
  summary: "parent and child add 1 to a counter in a mapped file under a named semaphore",
  details: `Prints "parent: N" and "child: N" for every increment (unless --quiet), then
"count01: final value V, expected 2 x LOOPS" and exits 0 when they are equal.
--file defaults to /tmp/count01.<pid> and --sem to /count01.<pid>; both are created
(they must not exist) and removed at exit, also on Ctrl-C, unless --keep.`,
  denoFlags: "--allow-write --allow-run",
  positionals: {
    loops: { kind: "integer", help: "increments by each process", default: 1000, min: 0 },
  },
  options: {
    file: { kind: "string", help: "the file that holds the counter", placeholder: "PATH" },
    sem: { kind: "string", help: "the named semaphore", placeholder: "NAME" },
    quiet: { kind: "boolean", short: "q", help: "print only the final line" },
    keep: { kind: "boolean", help: "leave the file and the semaphore in place" },
    child: { kind: "boolean", help: "run as the child", hidden: true },
  },
} as const;

/** The docs' counter: one C int at the start of the file. */
const Counter = struct({ count: i32 }, { name: "counter" });

await main(spec, async ({ args, cleanup, signal }) => {
  const path = args.file ?? `/tmp/count01.${process.pid}`;
  const name = args.sem ?? `/count01.${process.pid}`;
  const who = args.child ? "child" : "parent";

  let file: MappedFile;
  let sem: NamedSemaphore;
  if (args.child) {
    file = MappedFile.open(path, { size: Counter.byteLength });
    sem = NamedSemaphore.open(name);
  } else {
    file = MappedFile.open(path, { create: true, size: Counter.byteLength });
    if (!args.keep) cleanup.defer(`remove ${path}`, () => unlinkSync(path));
    sem = NamedSemaphore.create(name, 1);
    if (!args.keep) cleanup.defer(`unlink semaphore ${name}`, () => NamedSemaphore.unlink(name));
  }
  cleanup.defer("close the semaphore", () => sem.close());
  cleanup.defer("unmap the file", () => file.close());
  const counter = args.child ? Counter.at(file) : Counter.init(file);

  let child: Child | undefined;
  if (!args.child) {
    const childArgs = [String(args.loops), "--file", path, "--sem", name, "--child"];
    child = spawnSelf(args.quiet ? [...childArgs, "--quiet"] : childArgs);
    const started = child;
    cleanup.defer("stop the child", () => {
      if (started.running) process.kill(started.pid, "SIGTERM");
    });
  }

  for (let i = 0; i < args.loops; i++) {
    await breathe();
    await acquire(sem, signal);
    const value = ++counter.count;
    if (!args.quiet) console.log(`${who}: ${value}`);
    sem.post();
  }
  if (child === undefined) return;

  const childStatus = await child.exited;
  const final = counter.count;
  const expected = 2 * args.loops;
  console.log(`count01: final value ${final}, expected 2 x ${args.loops} = ${expected}`);
  if (childStatus !== 0) {
    console.error(`count01: the child exited with status ${childStatus}`);
    return 1;
  }
  return final === expected ? 0 : 1;
});
