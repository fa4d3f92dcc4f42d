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
import { i32, MappedFile, semaphore, struct } from "../mod.ts";
import { main } from "./_cli.ts";
import { COUNT_OPTIONS, countTogether, LOOPS } from "./_count.ts";

const spec = {
  name: "count02",
  summary: "parent and child add 1 to a counter in a mapped file under a memory semaphore",
  details: `The file holds struct shared { sem_t mutex; int count; }. Prints "parent: N" and
"child: N" for every increment (unless --quiet), then "count02: final value V, expected
2 x LOOPS" and exits 0 when they are equal. --file defaults to /tmp/count02.<pid>; it is
created (it must not exist) and removed at exit, also on Ctrl-C, unless --keep.`,
  denoFlags: "--allow-write --allow-run",
  positionals: {
    loops: LOOPS,
  },
  options: {
    file: { kind: "string", help: "the file that holds the struct", placeholder: "PATH" },
    keep: { kind: "boolean", help: "leave the file in place" },
    ...COUNT_OPTIONS,
  },
} as const;

/** struct shared { sem_t mutex; int count; }, as the docs' count02.c. */
const Shared = struct({ mutex: semaphore, count: i32 }, { name: "shared" });

await main(spec, (context) => {
  const { args, cleanup } = context;
  const path = args.file ?? `/tmp/count02.${process.pid}`;

  let file: MappedFile;
  if (args.child) {
    file = MappedFile.open(path, { size: Shared.byteLength });
  } else {
    file = MappedFile.open(path, { create: true, size: Shared.byteLength });
    if (!args.keep) cleanup.defer(`remove ${path}`, () => unlinkSync(path));
  }
  cleanup.defer("unmap the file", () => file.close());
  // The parent makes the sem_t (sem_init, process-shared) at 0: the child's
  // first post opens it, so both start counting together (see _count.ts).
  const shared = args.child ? Shared.at(file) : Shared.init(file, 0, { values: { mutex: 0 } });

  return countTogether(spec.name, context, {
    counter: shared,
    lock: shared.mutex,
    childArgs: ["--file", path],
  });
});
