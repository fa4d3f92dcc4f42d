/**
 * count02: the same as count01, with a **memory-based** semaphore
 * (`sem_init`, process-shared) living inside the mapped file next to the
 * counter, `struct shared { sem_t mutex; int count; }`, instead of a named
 * one. The child is this same script started again under the same runtime.
 *
 *   deno run --allow-ffi --allow-write --allow-run examples/count02.ts 1000
 *   bun examples/count02.ts 1000
 *
 * `--allow-run` starts the child; `--allow-write` removes the file at exit.
 *
 * @module
 */
import process from "node:process";
import { unlinkSync } from "node:fs";
import { parseArgs } from "node:util";
import { i32, MappedFile, semaphore, struct } from "../mod.ts";
import { ARGS, integer, main, noMore } from "./_cli.ts";
import { countTogether } from "./_count.ts";

const HELP = `count02: parent and child add 1 to a counter in a mapped file under a memory semaphore

usage: count02 [LOOPS] [options]

arguments:
  LOOPS                      increments by each process (default 1000)

options:
  --file PATH                the file that holds the struct
  --keep                     leave the file in place
  -q, --quiet                print only the final line
  -h, --help                 show this help and exit

The file holds struct shared { sem_t mutex; int count; }. Prints "parent: N" and
"child: N" for every increment (unless --quiet), then "count02: final value V, expected
2 x LOOPS" and exits 0 when they are equal. --file defaults to /tmp/count02.<pid>; it is
created (it must not exist) and removed at exit, also on Ctrl-C, unless --keep.

run with:
  deno run --allow-ffi --allow-write --allow-run examples/count02.ts ...
  bun examples/count02.ts ...`;

/** struct shared { sem_t mutex; int count; }, as the docs' count02.c. */
const Shared = struct({ mutex: semaphore, count: i32 }, { name: "shared" });

await main("count02", HELP, (context) => {
  const { values, positionals: [loops = "1000", ...extra] } = parseArgs({
    args: ARGS,
    allowPositionals: true,
    options: {
      file: { type: "string", default: `/tmp/count02.${process.pid}` },
      keep: { type: "boolean", default: false },
      quiet: { type: "boolean", short: "q", default: false },
      child: { type: "boolean", default: false }, // run as the child (not in --help)
      unlocked: { type: "boolean", default: false }, // count without the lock (not in --help)
    },
  });
  const args = { ...values, loops: integer("LOOPS", loops, { min: 0 }) };
  noMore(extra);
  const { cleanup } = context;
  const path = args.file;

  let file: MappedFile;
  if (args.child) {
    file = MappedFile.open(path, { size: Shared.byteLength });
  } else {
    file = MappedFile.open(path, { create: true, size: Shared.byteLength });
    if (!args.keep) cleanup.defer(() => unlinkSync(path));
  }
  cleanup.defer(() => file.close());
  // The parent makes the sem_t (sem_init, process-shared) at 0: the child's
  // first post opens it, so both start counting together (see _count.ts).
  const shared = args.child ? Shared.at(file) : Shared.init(file, 0, { values: { mutex: 0 } });

  return countTogether("count02", { ...context, args }, {
    counter: shared,
    lock: shared.mutex,
    childArgs: ["--file", path],
  });
});
