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
import { main } from "./_cli.ts";
import { COUNT_OPTIONS, countTogether, LOOPS } from "./_count.ts";

const spec = {
  name: "count01",
  summary: "parent and child add 1 to a counter in a mapped file under a named semaphore",
  details: `Prints "parent: N" and "child: N" for every increment (unless --quiet), then
"count01: final value V, expected 2 x LOOPS" and exits 0 when they are equal.
--file defaults to /tmp/count01.<pid> and --sem to /count01.<pid>; both are created
(they must not exist) and removed at exit, also on Ctrl-C, unless --keep.`,
  denoFlags: "--allow-write --allow-run",
  positionals: {
    loops: LOOPS,
  },
  options: {
    file: { kind: "string", help: "the file that holds the counter", placeholder: "PATH" },
    sem: { kind: "string", help: "the named semaphore", placeholder: "NAME" },
    keep: { kind: "boolean", help: "leave the file and the semaphore in place" },
    ...COUNT_OPTIONS,
  },
} as const;

/** The docs' counter: one C int at the start of the file. */
const Counter = struct({ count: i32 }, { name: "counter" });

await main(spec, (context) => {
  const { args, cleanup } = context;
  const path = args.file ?? `/tmp/count01.${process.pid}`;
  const name = args.sem ?? `/count01.${process.pid}`;

  let file: MappedFile;
  let sem: NamedSemaphore;
  if (args.child) {
    file = MappedFile.open(path, { size: Counter.byteLength });
    sem = NamedSemaphore.open(name);
  } else {
    file = MappedFile.open(path, { create: true, size: Counter.byteLength });
    if (!args.keep) cleanup.defer(`remove ${path}`, () => unlinkSync(path));
    // At 0: the child's first post opens it (see _count.ts).
    sem = NamedSemaphore.create(name, 0);
    if (!args.keep) cleanup.defer(`unlink semaphore ${name}`, () => NamedSemaphore.unlink(name));
  }
  cleanup.defer("close the semaphore", () => sem.close());
  cleanup.defer("unmap the file", () => file.close());
  const counter = args.child ? Counter.at(file) : Counter.init(file);

  return countTogether(spec.name, context, {
    counter,
    lock: sem,
    childArgs: ["--file", path, "--sem", name],
  });
});
