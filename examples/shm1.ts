/**
 * shm1: the docs' System V shared memory reader (`shm1.c`). It attaches (or
 * creates) the segment with key 1234 holding `struct shared_use_st`, waits
 * for the writer to set `written_by_you`, prints `some_text`, hands the turn
 * back by clearing the flag, and stops after a text that starts with `end`;
 * then it detaches and removes the segment.
 *
 *   deno run --allow-ffi examples/shm1.ts
 *   bun examples/shm1.ts
 *
 * The writer may be `shm2` in either runtime or the docs' `shm2.c`: the
 * flag is a plain int at offset 0, and a `Flag` notices a C program's plain
 * store too. Waiting sleeps in the kernel instead of the docs' busy loop.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { ARGS, integer, main, number, octal } from "./_cli.ts";
import { SysVSharedMemory } from "../mod.ts";
import { removeQuietly, SharedUse, SHM_KEY } from "./_shm_com.ts";

const HELP =
  `shm1: print what the writer puts in struct shared_use_st until "end" (the docs' shm1.c)

usage: shm1 [options]

options:
  --key N                    System V key (decimal or 0x hex) (default ${SHM_KEY})
  --mode MODE                permissions of the segment if created; the docs use 0666 (default 0600)
  --delay MS                 milliseconds to wait before clearing the flag (default 0)
  --keep                     leave the segment in place at the end
  -h, --help                 show this help and exit

Attaches the segment (creating it with --mode if the writer has not), prints
"Memory attached at key K, id I", then "You wrote: TEXT" for each text. After "end" it
detaches and removes the segment, unless --keep; interrupted, it removes it only if it
created it. --delay imitates the docs' sleep before handing the turn back.

run with:
  deno run --allow-ffi examples/shm1.ts ...
  bun examples/shm1.ts ...`;

await main("shm1", HELP, async ({ cleanup, signal }) => {
  const { values } = parseArgs({
    args: ARGS,
    options: {
      key: { type: "string", default: String(SHM_KEY) },
      mode: { type: "string", default: "0600" },
      delay: { type: "string", default: "0" },
      keep: { type: "boolean", default: false },
    },
  });
  const key = integer("--key", values.key);
  const mode = octal("--mode", values.mode);
  const delay = number("--delay", values.delay, { min: 0 });

  const seg = SysVSharedMemory.openOrCreate(key, SharedUse.byteLength, { mode });
  let finished = false;
  if (seg.created && !values.keep) cleanup.defer(() => finished || removeQuietly(seg));
  cleanup.defer(() => seg.detach());
  // A new segment starts with the writer's turn; an existing one may already
  // hold a text the writer left for us, so its flag is kept.
  const shared = seg.created ? SharedUse.init(seg) : SharedUse.at(seg);
  const flag = shared.writtenByYou;
  console.log(`Memory attached at key ${key}, id ${seg.id}`);

  let count = 0;
  for (;;) {
    await flag.waitForAsync(1, { signal });
    const text = shared.someText;
    count += 1;
    console.log(`You wrote: ${text.replace(/\r?\n$/, "")}`);
    if (delay > 0) await sleep(delay, undefined, { signal });
    flag.set(0);
    if (text.startsWith("end")) break;
  }
  seg.detach();
  if (!values.keep) removeQuietly(seg);
  finished = true;
  console.log(
    `shm1: ${count} texts read, ${values.keep ? "the segment stays" : "segment removed"}`,
  );
});
