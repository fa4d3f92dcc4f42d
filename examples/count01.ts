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
import { parseArgs } from "node:util";
import { i32, MappedFile, NamedSemaphore, struct } from "../mod.ts";
import { ARGS, integer, main, noMore } from "./_cli.ts";
import { countTogether } from "./_count.ts";

const HELP = `count01: parent and child add 1 to a counter in a mapped file under a named semaphore

usage: count01 [LOOPS] [options]

arguments:
  LOOPS                      increments by each process (default 1000)

options:
  --file PATH                the file that holds the counter
  --sem NAME                 the named semaphore
  --keep                     leave the file and the semaphore in place
  -q, --quiet                print only the final line
  -h, --help                 show this help and exit

Prints "parent: N" and "child: N" for every increment (unless --quiet), then
"count01: final value V, expected 2 x LOOPS" and exits 0 when they are equal.
--file defaults to /tmp/count01.<pid> and --sem to /count01.<pid>; both are created
(they must not exist) and removed at exit, also on Ctrl-C, unless --keep.

run with:
  deno run --allow-ffi --allow-write --allow-run examples/count01.ts ...
  bun examples/count01.ts ...`;

/** The docs' counter: one C int at the start of the file. */
const Counter = struct({ count: i32 }, { name: "counter" });

await main("count01", HELP, (context) => {
  const { values, positionals: [loops = "1000", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      file: { type: "string", default: `/tmp/count01.${process.pid}` },
      sem: { type: "string", default: `/count01.${process.pid}` },
      keep: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      child: { type: "boolean", default: false }, // run as the child (not in --help)
      unlocked: { type: "boolean", default: false }, // count without the lock (not in --help)
    },
  });
  const args = { ...values, loops: integer("LOOPS", loops, { min: 0 }) };
  noMore(extra);
  const { cleanup } = context;
  const { file: path, sem: name } = args;

  let file: MappedFile;
  let sem: NamedSemaphore;
  if (args.child) {
    file = MappedFile.open(path, { size: Counter.byteLength });
    sem = NamedSemaphore.open(name);
  } else {
    file = MappedFile.open(path, { create: true, size: Counter.byteLength });
    if (!args.keep) cleanup.defer(() => unlinkSync(path));
    // At 0: the child's first post opens it (see _count.ts).
    sem = NamedSemaphore.create(name, 0);
    if (!args.keep) cleanup.defer(() => NamedSemaphore.unlink(name));
  }
  cleanup.defer(() => sem.close());
  cleanup.defer(() => file.close());
  const counter = args.child ? Counter.at(file) : Counter.init(file);

  return countTogether("count01", { ...context, args }, {
    counter,
    lock: sem,
    childArgs: ["--file", path, "--sem", name],
  });
});
