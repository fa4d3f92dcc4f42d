/**
 * shm2: the docs' System V shared memory writer (`shm2.c`). It attaches (or
 * creates) the segment with key 1234, and for each line of standard input
 * waits for its turn (`written_by_you` back to 0), stores the line in
 * `some_text` and sets the flag; a line starting with `end` stops both
 * sides. Standard input can be a pipe:
 *
 *   printf 'hello\nend\n' | deno run --allow-ffi examples/shm2.ts
 *   printf 'hello\nend\n' | bun examples/shm2.ts
 *
 * The reader may be `shm1` in either runtime or the docs' `shm1.c`. At the
 * end of input without `end`, shm2 sends `end` itself.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ARGS, integer, main, octal } from "./_cli.ts";
import { sendLines } from "./_lines.ts";
import { SysVSharedMemory } from "../mod.ts";
import { removeQuietly, SharedUse, SHM_KEY } from "./_shm_com.ts";

const HELP =
  `shm2: write lines of standard input into struct shared_use_st for the reader, until "end"

usage: shm2 [options]

options:
  --key N                    System V key (decimal or 0x hex) (default ${SHM_KEY})
  --mode MODE                permissions of the segment if created; the docs use 0666 (default 0600)
  -h, --help                 show this help and exit

Attaches the segment (creating it with --mode if the reader has not) and prints
"Memory attached at key K, id I". Each line is stored with its newline, as fgets keeps
it. The reader removes the segment after "end"; if shm2 created it, shm2 waits for the
reader to take "end" and then removes it too. Interrupted, it removes it only if it
created it.

run with:
  deno run --allow-ffi examples/shm2.ts ...
  bun examples/shm2.ts ...`;

await main("shm2", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      key: { type: "string", default: String(SHM_KEY) },
      mode: { type: "string", default: "0600" },
    },
  });
  const key = integer("--key", values.key);
  const mode = octal("--mode", values.mode);

  const seg = SysVSharedMemory.openOrCreate(key, SharedUse.byteLength, { mode });
  if (seg.created) cleanup.defer(() => removeQuietly(seg));
  cleanup.defer(() => seg.detach());
  const shared = seg.created ? SharedUse.init(seg) : SharedUse.at(seg);
  const flag = shared.writtenByYou;
  console.log(`Memory attached at key ${key}, id ${seg.id}`);

  const { sent, ended } = await sendLines(async (line) => {
    await flag.waitForAsync(0, { signal });
    shared.someText = `${line}\n`;
    flag.set(1);
  });
  if (seg.created) {
    // Leave only once the reader took "end", so that removing is safe.
    await flag.waitForAsync(0, { signal });
  }
  console.log(`shm2: ${sent} texts written${ended ? "" : ' (the last an "end" for end of input)'}`);
});
